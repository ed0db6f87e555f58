/*
 * The bus engine (bus.h): PutEvents checks in AWS's order and words, the event envelope,
 * and rules compiled by filters/. Invariant: an event bus_event_write made is valid JSON
 * within the matcher's limits, so bus_match can use flt's validated (early-stopping) scan.
 */
#include "bus.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"
#include "bus_json.h"
#include "flt.h"

#define INVALID_ARGUMENT "InvalidArgument"
_Static_assert(BB_BUS_RESOURCES_MAX == 64, "the Resources message names the limit");

/* ---- PutEvents ---- */

static uint32_t utf8_chars(const struct bus_text *t)
{
	uint32_t chars = 0;
	for (uint32_t i = 0; i < t->bytes; i++)
		chars += ((uint8_t)t->data[i] & 0xc0) != 0x80;
	return chars;
}

/* Text for the envelope: valid UTF-8 without control characters (they would need escapes). */
static bool plain_text(const struct bus_text *t)
{
	for (uint32_t i = 0; i < t->bytes; i++) {
		if ((uint8_t)t->data[i] < 0x20 || t->data[i] == 0x7f)
			return false;
	}
	return bus_utf8_valid_prefix((const uint8_t *)t->data, t->bytes) == t->bytes;
}

/* An ARN: "arn:" and at least five more colon-separated fields, the last not empty. */
static bool arn_shaped(const struct bus_text *t)
{
	if (t->bytes < 4 || t->bytes > BB_BUS_ARN_BYTES_MAX || memcmp(t->data, "arn:", 4) != 0)
		return false;
	uint32_t colons = 0;
	for (uint32_t i = 0; i < t->bytes; i++)
		colons += t->data[i] == ':';
	return colons >= 5 && t->data[t->bytes - 1] != ':' && plain_text(t);
}

static int fail(struct bus_entry_result *r, const char *code, const char *message)
{
	r->error_code = code;
	r->error_message = message;
	return -EINVAL;
}

static bool entry_complete(const struct bus_entry *e)
{
	return e->source.bytes > 0 && e->detail_type.bytes > 0 && e->detail.bytes > 0;
}

static uint32_t entry_bytes(const struct bus_entry *e)
{
	uint64_t bytes = e->time.bytes > 0 ? BB_BUS_ENTRY_TIME_BYTES : 0;
	bytes += (uint64_t)e->source.bytes + e->detail_type.bytes + e->detail.bytes;
	uint32_t resources = e->resource_count <= BB_BUS_RESOURCES_MAX ? e->resource_count : 0;
	for (uint32_t i = 0; i < resources; i++)
		bytes += e->resources[i].bytes;
	return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

static int check_resources(const struct bus_entry *e, struct bus_entry_result *r)
{
	if (e->resource_count > BB_BUS_RESOURCES_MAX)
		return fail(r, INVALID_ARGUMENT, "Parameter Resources is not valid. Reason: more "
		                                 "than 64 resources.");
	for (uint32_t i = 0; i < e->resource_count; i++) {
		if (!arn_shaped(&e->resources[i]))
			return fail(r, INVALID_ARGUMENT, "Parameter Resources is not valid. Reason: "
			                                 "a resource is not an ARN.");
	}
	return 0;
}

/* The checks of one entry, in the order AWS reports them; the first failure is the answer. */
static int check_entry(const struct bus_entry *e, uint64_t now_ms, struct bus_entry_result *r)
{
	*r = (struct bus_entry_result){.time_ms = now_ms, .entry_bytes = entry_bytes(e)};
	if (e->source.bytes == 0)
		return fail(r, INVALID_ARGUMENT, "Parameter Source is not valid. Reason: Source is a "
		                                 "required argument.");
	if (e->detail_type.bytes == 0)
		return fail(r, INVALID_ARGUMENT, "Parameter DetailType is not valid. Reason: "
		                                 "DetailType is a required argument.");
	if (e->detail.bytes == 0)
		return fail(r, INVALID_ARGUMENT, "Parameter Detail is not valid. Reason: Detail is a "
		                                 "required argument.");
	if (!plain_text(&e->source))
		return fail(r, INVALID_ARGUMENT, "Parameter Source is not valid. Reason: it is not "
		                                 "text without control characters.");
	if (!plain_text(&e->detail_type) || utf8_chars(&e->detail_type) >
	                                        BB_BUS_DETAIL_TYPE_CHARS_MAX)
		return fail(r, INVALID_ARGUMENT, "Parameter DetailType is not valid. Reason: it is "
		                                 "not text of 1 to 128 characters.");
	if (e->source.bytes >= 4 && memcmp(e->source.data, "aws.", 4) == 0)
		return fail(r, "NotAuthorizedForSourceException",
		            "Not authorized for the source: sources beginning with aws. are "
		            "reserved.");
	if (check_resources(e, r) != 0)
		return -EINVAL;
	if (e->time.bytes > 0 && bus_time_parse(e->time.data, e->time.bytes, &r->time_ms) != 0)
		return fail(r, INVALID_ARGUMENT, "Parameter Time is not valid. Reason: it is not an "
		                                 "RFC 3339 timestamp.");
	if (bus_json_check(e->detail.data, e->detail.bytes, BB_BUS_DETAIL_DEPTH_MAX,
	                   BUS_JSON_OBJECT | BUS_JSON_INT64) != 0)
		return fail(r, "MalformedDetail", "Detail is malformed.");
	return 0;
}

int bus_put_check(const struct bus_entry *entries, uint32_t count, uint64_t now_ms,
                  struct bus_entry_result *results, uint32_t *failed,
                  struct bus_request_error *error)
{
	assert(entries != NULL || count == 0);
	*failed = 0;
	*error = (struct bus_request_error){.code = "ValidationException"};
	if (count == 0) {
		error->message = "1 validation error detected: Value at 'entries' failed to "
		                 "satisfy constraint: Member must have length greater than or "
		                 "equal to 1";
		return -EINVAL;
	}
	if (count > BB_BUS_PUT_ENTRIES_MAX) {
		error->message = "1 validation error detected: Value at 'entries' failed to "
		                 "satisfy constraint: Member must have length less than or "
		                 "equal to 10";
		return -EINVAL;
	}
	uint64_t total = 0;
	bool any_complete = false;
	for (uint32_t i = 0; i < count; i++) {
		total += entry_bytes(&entries[i]);
		any_complete = any_complete || entry_complete(&entries[i]);
	}
	if (total >= BB_BUS_PUT_BYTES_MAX) {
		error->message = "Total size of the entries in the request is over the limit "
		                 "(256 KiB).";
		return -EINVAL;
	}
	if (!any_complete) {
		error->message = "No entry has Source, DetailType and Detail, which every "
		                 "event needs.";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		*failed += check_entry(&entries[i], now_ms, &results[i]) != 0;
	}
	*error = (struct bus_request_error){0};
	return 0;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
int64_t bus_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void bus_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned bus_month_days(int64_t y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* n decimal digits at text[*pos] as a number, -1 when they are not all digits. */
static int64_t number_at(const char *text, size_t length, size_t *pos, size_t n)
{
	if (length - *pos < n)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[*pos + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*pos += n;
	return v;
}

static bool take(const char *text, size_t length, size_t *pos, const char *any)
{
	if (*pos >= length || text[*pos] == 0 || strchr(any, text[*pos]) == NULL)
		return false;
	(*pos)++;
	return true;
}

/* The zone at text[*pos]: Z, or +hh:mm / -hh:mm as minutes east of UTC. */
static int parse_zone(const char *text, size_t length, size_t *pos, int64_t *offset_min)
{
	if (take(text, length, pos, "Zz")) {
		*offset_min = 0;
		return 0;
	}
	bool east = *pos < length && text[*pos] == '+';
	if (!take(text, length, pos, "+-"))
		return -EINVAL;
	int64_t hh = number_at(text, length, pos, 2);
	bool colon = take(text, length, pos, ":");
	int64_t mm = number_at(text, length, pos, 2);
	if (hh < 0 || hh > 23 || !colon || mm < 0 || mm > 59)
		return -EINVAL;
	*offset_min = (east ? 1 : -1) * (hh * 60 + mm);
	return 0;
}

int bus_time_parse(const char *text, size_t length, uint64_t *ms_out)
{
	assert(text != NULL || length == 0);
	size_t pos = 0;
	int64_t y = number_at(text, length, &pos, 4);
	bool dash1 = take(text, length, &pos, "-");
	int64_t mo = number_at(text, length, &pos, 2);
	bool dash2 = take(text, length, &pos, "-");
	int64_t d = number_at(text, length, &pos, 2);
	bool t = take(text, length, &pos, "Tt");
	int64_t h = number_at(text, length, &pos, 2);
	bool colon1 = take(text, length, &pos, ":");
	int64_t mi = number_at(text, length, &pos, 2);
	bool colon2 = take(text, length, &pos, ":");
	int64_t s = number_at(text, length, &pos, 2);
	if (!dash1 || !dash2 || !t || !colon1 || !colon2 || y < 1970 || mo < 1 || mo > 12 ||
	    d < 1 || d > (int64_t)bus_month_days(y, (unsigned)mo) || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || s < 0 || s > 60)
		return -EINVAL;
	int64_t ms = 0;
	if (take(text, length, &pos, ".")) {
		size_t start = pos;
		int64_t scale = 100;
		for (; pos < length && text[pos] >= '0' && text[pos] <= '9'; pos++, scale /= 10)
			ms += (text[pos] - '0') * scale;
		if (pos == start)
			return -EINVAL;
	}
	int64_t offset_min = 0;
	if (parse_zone(text, length, &pos, &offset_min) != 0 || pos != length)
		return -EINVAL;
	int64_t seconds = bus_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	                  mi * 60 + (s == 60 ? 59 : s) - offset_min * 60; /* a leap second: :59 */
	if (seconds < 0 || seconds >= bus_days_from_civil(10000, 1, 1) * 86400)
		return -EINVAL; /* before 1970, or (by its zone) after 9999 */
	*ms_out = (uint64_t)seconds * 1000u + (uint64_t)ms;
	return 0;
}

static void put_digits(char *out, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

void bus_time_format(uint64_t ms, char out[BUS_TIME_CHARS + 1])
{
	uint64_t seconds = ms / 1000u;
	int64_t y = 0;
	unsigned mo = 0, d = 0;
	bus_civil_from_days((int64_t)(seconds / 86400u), &y, &mo, &d);
	unsigned sod = (unsigned)(seconds % 86400u);
	assert(y >= 1970 && y <= 9999);
	memcpy(out, "0000-00-00T00:00:00Z", BUS_TIME_CHARS + 1);
	put_digits(out, (uint64_t)y, 4);
	put_digits(out + 5, mo, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, sod / 3600, 2);
	put_digits(out + 14, sod / 60 % 60, 2);
	put_digits(out + 17, sod % 60, 2);
}

/* ---- the envelope ---- */

void bus_event_id_format(const uint8_t random[16], char out[BUS_EVENT_ID_CHARS + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	memcpy(b, random, 16);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	assert(k == BUS_EVENT_ID_CHARS);
	out[k] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int bus_event_id_of(const char *event, size_t event_bytes, uint8_t id_out[16])
{
	static const char head[] = "{\"version\":\"0\",\"id\":\"";
	size_t head_bytes = sizeof(head) - 1;
	if (event_bytes < head_bytes + BUS_EVENT_ID_CHARS + 1 ||
	    memcmp(event, head, head_bytes) != 0 || event[head_bytes + BUS_EVENT_ID_CHARS] != '"')
		return -EINVAL;
	const char *id = event + head_bytes;
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (id[k++] != '-')
				return -EINVAL;
		}
		int high = hex_value(id[k]), low = hex_value(id[k + 1]);
		if (high < 0 || low < 0)
			return -EINVAL;
		id_out[i] = (uint8_t)(high << 4 | low);
		k += 2;
	}
	assert(k == BUS_EVENT_ID_CHARS);
	return 0;
}

static int out_str(char *out, size_t cap, size_t *used, const char *key, const char *value,
                   size_t value_bytes)
{
	int rc = bus_out_raw(out, cap, used, key, strlen(key));
	rc = rc != 0 ? rc : bus_out_escaped(out, cap, used, value, value_bytes);
	return rc != 0 ? rc : bus_out_raw(out, cap, used, "\"", 1);
}

static int out_resources(const struct bus_entry *e, char *out, size_t cap, size_t *used)
{
	int rc = bus_out_raw(out, cap, used, ",\"resources\":[", 14);
	for (uint32_t i = 0; i < e->resource_count && rc == 0; i++) {
		const struct bus_text *r = &e->resources[i];
		rc = out_str(out, cap, used, i == 0 ? "\"" : ",\"", r->data, r->bytes);
	}
	return rc != 0 ? rc : bus_out_raw(out, cap, used, "]", 1);
}

int bus_event_write(const struct bus_entry *e, const struct bus_entry_result *result,
                    const uint8_t random[16], const struct bus_envelope *env, char *out,
                    size_t cap, size_t *length_out)
{
	assert(result->error_code == NULL);
	assert(strlen(env->account) == BB_BUS_ACCOUNT_BYTES);
	char id[BUS_EVENT_ID_CHARS + 1];
	char time[BUS_TIME_CHARS + 1];
	bus_event_id_format(random, id);
	bus_time_format(result->time_ms, time);
	size_t used = 0;
	int rc = out_str(out, cap, &used, "{\"version\":\"0\",\"id\":\"", id, strlen(id));
	rc = rc ? rc : out_str(out, cap, &used, ",\"detail-type\":\"", e->detail_type.data,
	                       e->detail_type.bytes);
	rc = rc ? rc : out_str(out, cap, &used, ",\"source\":\"", e->source.data, e->source.bytes);
	rc = rc ? rc : out_str(out, cap, &used, ",\"account\":\"", env->account,
	                       strlen(env->account));
	rc = rc ? rc : out_str(out, cap, &used, ",\"time\":\"", time, strlen(time));
	rc = rc ? rc : out_str(out, cap, &used, ",\"region\":\"", env->region, strlen(env->region));
	rc = rc ? rc : out_resources(e, out, cap, &used);
	rc = rc ? rc : bus_out_raw(out, cap, &used, ",\"detail\":", 10);
	rc = rc ? rc : bus_out_raw(out, cap, &used, e->detail.data, e->detail.bytes);
	if (rc == 0 && env->replay_name != NULL)
		rc = out_str(out, cap, &used, ",\"replay-name\":\"", env->replay_name,
		             strlen(env->replay_name));
	rc = rc ? rc : bus_out_raw(out, cap, &used, "}", 1);
	if (rc != 0)
		return -ENOBUFS;
	*length_out = used;
	return 0;
}

/* ---- rules ---- */

struct bus_rules {
	struct flt_matcher *matcher;
	uint32_t compiled_count;   /* rules in the matcher */
	uint32_t *spec_index;      /* flt rule id -> index into the specs */
	uint64_t *rule_id;         /* per flt rule id */
	uint32_t *target_count;    /* per flt rule id */
};

struct bus_match_scratch {
	struct flt_scratch *flt;
	uint32_t *matched; /* flt rule ids, compiled_count of them */
	uint32_t capacity;
};

/* The matcher's limits: events as large and deep as bus_event_write makes them. */
static void bus_flt_limits(struct flt_limits *limits)
{
	flt_limits_default(limits);
	limits->pattern_bytes_max = BB_EVENT_PATTERN_BYTES_MAX;
	limits->rules_max = BB_RULES_PER_BUS_MAX;
	limits->depth_max = BUS_JSON_DEPTH_MAX;
	limits->event_bytes_max = BUS_EVENT_BYTES_MAX;
}

void bus_rules_free(struct bus_rules *rules)
{
	if (rules == NULL)
		return;
	flt_matcher_free(rules->matcher);
	free(rules->spec_index);
	free(rules->rule_id);
	free(rules->target_count);
	free(rules);
}

/* Adds the enabled rules with patterns to compiler, recording their places in rules. */
static int add_rules(struct bus_rules *rules, struct flt_compiler *compiler,
                     const struct bus_rule_spec *specs, uint32_t count, char *error,
                     size_t error_bytes)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct bus_rule_spec *s = &specs[i];
		assert(s->target_count <= BB_TARGETS_PER_RULE_MAX);
		if (!s->enabled || s->pattern.bytes == 0)
			continue;
		char reason[256] = "";
		uint32_t id = rules->compiled_count;
		if (flt_add_rule(compiler, id, s->pattern.data, s->pattern.bytes, reason,
		                 sizeof(reason)) != 0) {
			snprintf(error, error_bytes, "rule %u: %s", i, reason);
			return -EINVAL;
		}
		rules->spec_index[id] = i;
		rules->rule_id[id] = s->rule_id;
		rules->target_count[id] = s->target_count;
		rules->compiled_count++;
	}
	return 0;
}

struct bus_rules *bus_rules_new(const struct bus_rule_spec *specs, uint32_t count, char *error,
                                size_t error_bytes, int *error_out)
{
	assert(specs != NULL || count == 0);
	*error_out = -E2BIG;
	snprintf(error, error_bytes, "more than %u rules", BB_RULES_PER_BUS_MAX);
	if (count > BB_RULES_PER_BUS_MAX)
		return NULL;
	*error_out = -ENOMEM;
	snprintf(error, error_bytes, "out of memory");
	struct flt_limits limits;
	bus_flt_limits(&limits);
	struct bus_rules *rules = calloc(1, sizeof(*rules));
	struct flt_compiler *compiler = flt_compiler_new(&limits);
	size_t slots = count > 0 ? count : 1;
	if (rules != NULL) {
		rules->spec_index = calloc(slots, sizeof(uint32_t));
		rules->rule_id = calloc(slots, sizeof(uint64_t));
		rules->target_count = calloc(slots, sizeof(uint32_t));
	}
	int rc = -ENOMEM;
	if (rules != NULL && compiler != NULL && rules->spec_index != NULL &&
	    rules->rule_id != NULL && rules->target_count != NULL)
		rc = add_rules(rules, compiler, specs, count, error, error_bytes);
	if (rc == 0)
		rules->matcher = flt_compile(compiler);
	flt_compiler_free(compiler);
	if (rc == 0 && rules->matcher == NULL)
		rc = -ENOMEM;
	if (rc != 0) {
		bus_rules_free(rules);
		*error_out = rc;
		return NULL;
	}
	*error_out = 0;
	error[0] = '\0';
	return rules;
}

struct bus_match_scratch *bus_match_scratch_new(const struct bus_rules *rules)
{
	struct bus_match_scratch *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->capacity = rules->compiled_count > 0 ? rules->compiled_count : 1;
	s->matched = calloc(s->capacity, sizeof(uint32_t));
	s->flt = flt_scratch_new(rules->matcher);
	if (s->matched == NULL || s->flt == NULL) {
		bus_match_scratch_free(s);
		return NULL;
	}
	return s;
}

void bus_match_scratch_free(struct bus_match_scratch *s)
{
	if (s == NULL)
		return;
	flt_scratch_free(s->flt);
	free(s->matched);
	free(s);
}

int bus_match(const struct bus_rules *rules, struct bus_match_scratch *s, const char *event,
              size_t event_bytes, struct bus_delivery *out, uint32_t capacity)
{
	assert(s->capacity >= rules->compiled_count);
	int n = flt_match_validated(rules->matcher, s->flt, event, event_bytes, s->matched,
	                            s->capacity);
	if (n < 0)
		return -EINVAL;
	assert((uint32_t)n <= rules->compiled_count);
	/* flt reports rules in no set order: a bit per compiled rule puts them in rule order. */
	uint64_t hit[(BB_RULES_PER_BUS_MAX + 63) / 64] = {0};
	for (int i = 0; i < n; i++)
		hit[s->matched[i] / 64] |= 1ull << (s->matched[i] % 64);
	uint32_t count = 0;
	for (uint32_t id = 0; id < rules->compiled_count; id++) {
		if (((hit[id / 64] >> (id % 64)) & 1u) == 0)
			continue;
		for (uint32_t t = 0; t < rules->target_count[id]; t++) {
			if (count == capacity)
				return -ENOBUFS;
			out[count++] = (struct bus_delivery){.rule_id = rules->rule_id[id],
			                                     .rule_index = rules->spec_index[id],
			                                     .target_index = t};
		}
	}
	return (int)count;
}

/* ---- TestEventPattern ---- */

/* The members AWS requires of TestEventPattern's event. */
static int check_test_event(const char *event, size_t event_bytes, char *error,
                            size_t error_bytes)
{
	static const char *const required[] = {"id",     "account",   "source",     "time",
	                                       "region", "resources", "detail-type"};
	if (bus_json_check(event, event_bytes, BUS_JSON_DEPTH_MAX, BUS_JSON_OBJECT) != 0) {
		snprintf(error, error_bytes, "Parameter Event is not valid: not a JSON object.");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct bus_path path = {.count = 1};
		path.segments[0] = (struct bus_path_segment){
		    .name = required[i], .name_bytes = (uint32_t)strlen(required[i]), .index = -1};
		size_t start = 0, end = 0;
		if (bus_json_find(event, event_bytes, &path, &start, &end) != 0) {
			snprintf(error, error_bytes, "Parameter Event is not valid: %s is missing.",
			         required[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int bus_test_event_pattern(const char *pattern, size_t pattern_bytes, const char *event,
                           size_t event_bytes, bool *event_error, char *error,
                           size_t error_bytes)
{
	*event_error = false;
	struct bus_rule_spec spec = {
	    .enabled = true, .pattern = {pattern, (uint32_t)pattern_bytes}, .target_count = 1};
	if (pattern_bytes == 0 || pattern_bytes > BB_EVENT_PATTERN_BYTES_MAX) {
		snprintf(error, error_bytes, "Event pattern is not valid: empty or over %u bytes.",
		         BB_EVENT_PATTERN_BYTES_MAX);
		return -EINVAL;
	}
	int rc = 0;
	char reason[256];
	struct bus_rules *rules = bus_rules_new(&spec, 1, reason, sizeof(reason), &rc);
	if (rules == NULL) {
		snprintf(error, error_bytes, "Event pattern is not valid. Reason: %s", reason);
		return rc;
	}
	rc = check_test_event(event, event_bytes, error, error_bytes);
	*event_error = rc != 0;
	struct bus_match_scratch *scratch = rc == 0 ? bus_match_scratch_new(rules) : NULL;
	struct bus_delivery delivery;
	if (rc == 0)
		rc = scratch == NULL ? -ENOMEM
		                     : bus_match(rules, scratch, event, event_bytes, &delivery, 1);
	bus_match_scratch_free(scratch);
	bus_rules_free(rules);
	return rc;
}

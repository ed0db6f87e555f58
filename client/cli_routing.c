/*
 * The busbar command's arguments for publish, publish-batch, put-events and send's
 * --attribute (see cli_routing.h). Invariants: nothing is taken that AWS's names do not
 * name (an unknown member of an entry is refused, never ignored), every repeated thing has
 * its limit from wire.h, and what is refused says which option or which line and why.
 * What busbard checks itself (lengths, characters, a Detail's JSON) is left to it, so the
 * answer is the same as from any other client.
 */
#include "cli_routing.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* Fills why and returns -EINVAL, so a refusal is one statement. */
__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t why_bytes,
                                                        const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vsnprintf(why, why_bytes, format, ap);
	va_end(ap);
	return -EINVAL;
}

/* Padded base64 (RFC 4648) into out, which holds 3 * length / 4 bytes: OpenSSL decodes,
 * the padding it counts as zero bytes is taken off again. */
static int base64_decode(const char *text, size_t length, uint8_t *out, size_t *out_bytes)
{
	*out_bytes = 0;
	if (length == 0)
		return 0;
	if (length % 4 != 0 || length > INT32_MAX)
		return -EINVAL;
	int decoded = EVP_DecodeBlock(out, (const unsigned char *)text, (int)length);
	if (decoded < 0)
		return -EINVAL;
	size_t padding = (size_t)(text[length - 1] == '=') + (size_t)(text[length - 2] == '=');
	assert((size_t)decoded == length / 4 * 3);
	*out_bytes = (size_t)decoded - padding;
	return 0;
}

static bool known_data_type(const char *type, size_t length)
{
	static const char *const bases[] = {"String", "Number", "Binary"};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		size_t n = strlen(bases[i]);
		if (length >= n && memcmp(type, bases[i], n) == 0 && (length == n || type[n] == '.'))
			return true;
	}
	return false;
}

/*
 * One attribute from its three texts, copied into one allocation (*owned) that also holds
 * a Binary value decoded: the attribute then lives as long as that block.
 */
static int make_attribute(const char *name, size_t name_bytes, const char *type,
                          size_t type_bytes, const char *value, size_t value_bytes,
                          struct bb_attribute *out, void **owned, char *why, size_t why_bytes)
{
	if (name_bytes == 0)
		return refuse(why, why_bytes, "an attribute needs a name");
	if (!known_data_type(type, type_bytes))
		return refuse(why, why_bytes, "attribute %.*s: the type is String, Number or "
		              "Binary, with an optional .suffix", (int)name_bytes, name);
	bool binary = type[0] == 'B';
	char *block = malloc(name_bytes + type_bytes + value_bytes + 3);
	if (block == NULL)
		return -ENOMEM;
	memcpy(block, name, name_bytes);
	block[name_bytes] = '\0';
	char *type_copy = block + name_bytes + 1;
	memcpy(type_copy, type, type_bytes);
	type_copy[type_bytes] = '\0';
	char *value_copy = type_copy + type_bytes + 1;
	*out = (struct bb_attribute){.name = block, .data_type = type_copy};
	*owned = block;
	if (!binary) {
		memcpy(value_copy, value, value_bytes);
		value_copy[value_bytes] = '\0';
		out->string_value = value_copy;
		return 0;
	}
	/* The decoded value is shorter than its text, so it fits where the text would. */
	size_t decoded_bytes;
	if (base64_decode(value, value_bytes, (uint8_t *)value_copy, &decoded_bytes) != 0)
		return refuse(why, why_bytes, "attribute %s: a Binary value is padded base64",
		              block);
	out->binary_value = value_copy;
	out->binary_bytes = decoded_bytes;
	return 0;
}

int cli_parse_attribute(const char *text, struct bb_attribute *out, void **owned, char *why,
                        size_t why_bytes)
{
	assert(text != NULL && out != NULL);
	*owned = NULL;
	const char *equals = strchr(text, '=');
	const char *colon = equals != NULL ? strchr(equals + 1, ':') : NULL;
	if (colon == NULL)
		return refuse(why, why_bytes, "bad attribute %s (NAME=TYPE:VALUE, TYPE String, "
		              "Number or Binary; a Binary VALUE in base64)", text);
	int rc = make_attribute(text, (size_t)(equals - text), equals + 1,
	                        (size_t)(colon - equals - 1), colon + 1, strlen(colon + 1), out,
	                        owned, why, why_bytes);
	assert(rc != 0 || *owned != NULL);
	return rc;
}

/* count decimal digits at *p into *out, moving *p past them. */
static bool take_digits(const char **p, int count, int *out)
{
	int value = 0;
	for (int i = 0; i < count; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		value = value * 10 + (c - '0');
	}
	*p += count;
	*out = value;
	return true;
}

/* Z, or +hh:mm / -hh:mm: the seconds to subtract from the local time given. */
static bool take_offset(const char **p, long *offset_s)
{
	char sign = **p;
	if (sign == 'Z' || sign == 'z') {
		*offset_s = 0;
		*p += 1;
		return true;
	}
	int hours, minutes;
	*p += 1;
	if ((sign != '+' && sign != '-') || !take_digits(p, 2, &hours) || *(*p)++ != ':' ||
	    !take_digits(p, 2, &minutes) || hours > 23 || minutes > 59)
		return false;
	*offset_s = (sign == '-' ? -1L : 1L) * (hours * 3600L + minutes * 60L);
	return true;
}

/* YYYY-MM-DD, T (t or a space), hh:mm:ss: the fields into *tm, *p moved past them. */
static bool take_date_time(const char **p, struct tm *tm)
{
	int year, month, day, hour, minute, second;
	bool ok = take_digits(p, 4, &year) && *(*p)++ == '-' && take_digits(p, 2, &month) &&
	          *(*p)++ == '-' && take_digits(p, 2, &day) && strchr("Tt ", **p) != NULL &&
	          **p != '\0';
	*p += ok ? 1 : 0;
	ok = ok && take_digits(p, 2, &hour) && *(*p)++ == ':' && take_digits(p, 2, &minute) &&
	     *(*p)++ == ':' && take_digits(p, 2, &second);
	if (!ok || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
		return false;
	*tm = (struct tm){.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
	                  .tm_hour = hour, .tm_min = minute, .tm_sec = second};
	return true;
}

/* .fff...: milliseconds from the first three digits; later digits are finer than busbar
 * keeps time. Absent: 0. */
static bool take_fraction(const char **p, int *ms)
{
	*ms = 0;
	if (**p != '.')
		return true;
	*p += 1;
	int digits = 0, digit;
	/* Bounded by the text: each pass takes one digit. */
	for (; take_digits(p, 1, &digit); digits++)
		*ms = digits < 3 ? *ms * 10 + digit : *ms;
	for (int scale = digits; scale > 0 && scale < 3; scale++)
		*ms *= 10;
	return digits > 0;
}

int cli_parse_time(const char *text, uint64_t *ms_out)
{
	assert(text != NULL);
	*ms_out = 0;
	struct tm tm;
	const char *p = text;
	int ms;
	long offset_s;
	if (!take_date_time(&p, &tm) || !take_fraction(&p, &ms) || !take_offset(&p, &offset_s) ||
	    *p != '\0')
		return -EINVAL;
	int day = tm.tm_mday;
	bool leap_second = tm.tm_sec == 60;
	time_t seconds = timegm(&tm);
	if (tm.tm_mday != day && !leap_second) /* 2024-02-30 came back as March */
		return -EINVAL;
	long long total_ms = ((long long)seconds - offset_s) * 1000 + ms;
	if (total_ms <= 0) /* 0 asks for busbard's time: the epoch itself is refused too */
		return -EINVAL;
	*ms_out = (uint64_t)total_ms;
	return 0;
}

bool cli_routing_is_option(int opt)
{
	return opt >= CLI_OPT_SUBJECT && opt <= CLI_OPT_BUS;
}

static int add_attribute_option(struct cli_routing_args *a, const char *value, char *why,
                                size_t why_bytes)
{
	if (a->attribute_count == WIRE_ATTRIBUTES_MAX)
		return refuse(why, why_bytes, "at most %u --attribute", WIRE_ATTRIBUTES_MAX);
	void *owned;
	int rc = cli_parse_attribute(value, &a->attributes[a->attribute_count], &owned, why,
	                             why_bytes);
	if (rc != 0) {
		free(owned);
		return rc;
	}
	a->owned[a->owned_count++] = owned;
	a->attribute_count++;
	assert(a->owned_count == a->attribute_count);
	return 0;
}

int cli_routing_option(struct cli_routing_args *a, int opt, const char *value, char *why,
                       size_t why_bytes)
{
	assert(cli_routing_is_option(opt));
	switch (opt) {
	case CLI_OPT_SUBJECT: a->subject = value; return 0;
	case CLI_OPT_ENTRIES: a->entries_path = value; return 0;
	case CLI_OPT_BUS: a->bus = value; return 0;
	case CLI_OPT_SOURCE: a->source = value; return 0;
	case CLI_OPT_DETAIL_TYPE: a->detail_type = value; return 0;
	case CLI_OPT_DETAIL: a->detail = value; return 0;
	case CLI_OPT_ATTRIBUTE: return add_attribute_option(a, value, why, why_bytes);
	case CLI_OPT_STRUCTURE:
		if (strcmp(value, "json") != 0)
			return refuse(why, why_bytes, "bad value for --structure: %s (json)", value);
		a->structure = value;
		return 0;
	case CLI_OPT_RESOURCE:
		if (a->resource_count == WIRE_EVENT_RESOURCES_MAX)
			return refuse(why, why_bytes, "at most %u --resource", WIRE_EVENT_RESOURCES_MAX);
		a->resources[a->resource_count++] = value;
		return 0;
	case CLI_OPT_TIME:
		if (cli_parse_time(value, &a->time_ms) != 0)
			return refuse(why, why_bytes, "bad value for --time: %s (RFC 3339, as "
			              "2024-05-01T12:00:00Z, after 1970)", value);
		return 0;
	default: break;
	}
	assert(!"cli_routing_is_option knows only these");
	return -EINVAL;
}

void cli_routing_args_free(struct cli_routing_args *a)
{
	assert(a->owned_count <= WIRE_ATTRIBUTES_MAX);
	for (uint32_t i = 0; i < a->owned_count; i++)
		free(a->owned[i]);
	a->owned_count = 0;
	a->attribute_count = 0;
}

/* ---- entries files ---- */

/* The line being read, for every refusal to name it. */
struct entry_context {
	struct cli_entries *entries;
	uint32_t index; /* the entry's */
	uint32_t line;  /* 1-based, blank lines counted */
	char *why;
	size_t why_bytes;
};

static void own(struct entry_context *x, void *block)
{
	/* Each entry owns at most an attribute block per attribute and one Detail. */
	assert(x->entries->owned_count < CLI_ENTRIES_OWNED_MAX);
	x->entries->owned[x->entries->owned_count++] = block;
}

static int take_string(struct entry_context *x, const char *name, json_t *value,
                       const char **out)
{
	if (!json_is_string(value))
		return refuse(x->why, x->why_bytes, "line %u: %s is a string", x->line, name);
	*out = json_string_value(value);
	return 0;
}

/* One member of MessageAttributes: {"DataType": ..., "StringValue" or "BinaryValue": ...}. */
static int take_attribute(struct entry_context *x, const char *name, json_t *value,
                          struct bb_attribute *out)
{
	json_t *type = json_object_get(value, "DataType");
	json_t *string = json_object_get(value, "StringValue");
	json_t *binary = json_object_get(value, "BinaryValue");
	json_t *text = string != NULL ? string : binary;
	size_t members = json_object_size(value);
	if (!json_is_string(type) || !json_is_string(text) || (string && binary) || members != 2)
		return refuse(x->why, x->why_bytes, "line %u: attribute %s is {\"DataType\": ..., "
		              "\"StringValue\" or \"BinaryValue\": ...}", x->line, name);
	bool binary_type = strncmp(json_string_value(type), "Binary", 6) == 0;
	if (binary_type != (binary != NULL))
		return refuse(x->why, x->why_bytes, "line %u: attribute %s: a Binary type takes "
		              "BinaryValue (base64), any other StringValue", x->line, name);
	void *owned = NULL;
	int rc = make_attribute(name, strlen(name), json_string_value(type),
	                        json_string_length(type), json_string_value(text),
	                        json_string_length(text), out, &owned, x->why, x->why_bytes);
	if (owned != NULL)
		own(x, owned);
	if (rc == -EINVAL) { /* make_attribute's reason, with the line */
		char reason[256];
		snprintf(reason, sizeof(reason), "%s", x->why);
		return refuse(x->why, x->why_bytes, "line %u: %s", x->line, reason);
	}
	return rc;
}

static int take_attributes(struct entry_context *x, json_t *value,
                           struct bb_publish_options *options)
{
	if (!json_is_object(value) || json_object_size(value) > WIRE_ATTRIBUTES_MAX)
		return refuse(x->why, x->why_bytes, "line %u: MessageAttributes is an object of at "
		              "most %u attributes", x->line, WIRE_ATTRIBUTES_MAX);
	struct bb_attribute *list = x->entries->attributes[x->index];
	const char *name;
	json_t *attribute;
	uint32_t count = 0;
	json_object_foreach(value, name, attribute) {
		int rc = take_attribute(x, name, attribute, &list[count]);
		if (rc != 0)
			return rc;
		count++;
	}
	options->attributes = list;
	options->attribute_count = count;
	return 0;
}

static int publish_member(struct entry_context *x, const char *name, json_t *value)
{
	struct bb_publish_entry *e = &x->entries->publish[x->index];
	if (strcmp(name, "Id") == 0)
		return take_string(x, name, value, &e->id);
	if (strcmp(name, "Message") == 0) {
		int rc = take_string(x, name, value, (const char **)&e->message);
		e->message_bytes = rc == 0 ? json_string_length(value) : 0;
		return rc;
	}
	if (strcmp(name, "Subject") == 0)
		return take_string(x, name, value, &e->options.subject);
	if (strcmp(name, "MessageStructure") == 0)
		return take_string(x, name, value, &e->options.message_structure);
	if (strcmp(name, "MessageGroupId") == 0)
		return take_string(x, name, value, &e->options.message_group_id);
	if (strcmp(name, "MessageDeduplicationId") == 0)
		return take_string(x, name, value, &e->options.message_deduplication_id);
	if (strcmp(name, "MessageAttributes") == 0)
		return take_attributes(x, value, &e->options);
	return refuse(x->why, x->why_bytes, "line %u: unknown member %s (an entry has Id, "
	              "Message, Subject, MessageStructure, MessageGroupId, "
	              "MessageDeduplicationId, MessageAttributes)", x->line, name);
}

static int take_resources(struct entry_context *x, json_t *value, struct bb_event *e)
{
	if (!json_is_array(value) || json_array_size(value) > WIRE_EVENT_RESOURCES_MAX)
		return refuse(x->why, x->why_bytes, "line %u: Resources is a list of at most %u "
		              "strings", x->line, WIRE_EVENT_RESOURCES_MAX);
	const char **list = x->entries->resources[x->index];
	size_t i;
	json_t *resource;
	json_array_foreach(value, i, resource) {
		int rc = take_string(x, "a resource", resource, &list[i]);
		if (rc != 0)
			return rc;
	}
	e->resources = list;
	e->resource_count = (uint32_t)json_array_size(value);
	return 0;
}

/* Time: RFC 3339 text, or seconds since the epoch as the AWS CLI also takes. */
static int take_time(struct entry_context *x, json_t *value, struct bb_event *e)
{
	double seconds = json_number_value(value);
	if (json_is_string(value) && cli_parse_time(json_string_value(value), &e->time_ms) == 0)
		return 0;
	if (json_is_number(value) && seconds > 0 && seconds < 1e13) {
		e->time_ms = (uint64_t)(seconds * 1000);
		return 0;
	}
	return refuse(x->why, x->why_bytes, "line %u: Time is RFC 3339 text (after 1970) or "
	              "seconds since 1970", x->line);
}

/* Detail: AWS's is a string of JSON; an object is taken too and written out compact. */
static int take_detail(struct entry_context *x, json_t *value, struct bb_event *e)
{
	if (!json_is_object(value))
		return take_string(x, "Detail", value, &e->detail);
	char *text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return -ENOMEM;
	own(x, text);
	e->detail = text;
	return 0;
}

/* EventBusName (a name or an ARN): busbar's PutEvents takes one bus a request. */
static int take_bus(struct entry_context *x, json_t *value)
{
	const char *bus = NULL;
	int rc = take_string(x, "EventBusName", value, &bus);
	if (rc != 0)
		return rc;
	if (x->entries->bus != NULL && strcmp(x->entries->bus, bus) != 0)
		return refuse(x->why, x->why_bytes, "line %u: EventBusName %s differs from an "
		              "earlier entry's %s (busbar's PutEvents puts to one bus a call)",
		              x->line, bus, x->entries->bus);
	x->entries->bus = bus;
	return 0;
}

static int event_member(struct entry_context *x, const char *name, json_t *value)
{
	struct bb_event *e = &x->entries->events[x->index];
	if (strcmp(name, "Source") == 0)
		return take_string(x, name, value, &e->source);
	if (strcmp(name, "DetailType") == 0)
		return take_string(x, name, value, &e->detail_type);
	if (strcmp(name, "Detail") == 0)
		return take_detail(x, value, e);
	if (strcmp(name, "Resources") == 0)
		return take_resources(x, value, e);
	if (strcmp(name, "Time") == 0)
		return take_time(x, value, e);
	if (strcmp(name, "EventBusName") == 0)
		return take_bus(x, value);
	return refuse(x->why, x->why_bytes, "line %u: unknown member %s (an entry has Source, "
	              "DetailType, Detail, Resources, Time, EventBusName)", x->line, name);
}

static bool blank(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (strchr(" \t\r", text[i]) == NULL || text[i] == '\0')
			return false;
	}
	return true;
}

static int take_line(struct entry_context *x, const char *text, size_t length)
{
	if (blank(text, length))
		return 0;
	struct cli_entries *entries = x->entries;
	if (entries->count == WIRE_BATCH_ENTRIES_MAX)
		return refuse(x->why, x->why_bytes, "line %u: more than %u entries", x->line,
		              WIRE_BATCH_ENTRIES_MAX);
	json_error_t error;
	json_t *line = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
	if (line == NULL)
		return refuse(x->why, x->why_bytes, "line %u: not JSON: %s", x->line, error.text);
	x->index = entries->count;
	entries->lines[entries->count++] = line; /* released by cli_entries_free from now on */
	if (!json_is_object(line))
		return refuse(x->why, x->why_bytes, "line %u: an entry is a JSON object", x->line);
	const char *name;
	json_t *value;
	json_object_foreach(line, name, value) {
		int rc = entries->kind == CLI_ENTRIES_PUBLISH ? publish_member(x, name, value)
		                                              : event_member(x, name, value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int cli_entries_parse(const char *text, size_t length, enum cli_entries_kind kind,
                      struct cli_entries *out, char *why, size_t why_bytes)
{
	assert(text != NULL || length == 0);
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	struct entry_context x = {.entries = out, .why = why, .why_bytes = why_bytes};
	size_t at = 0;
	/* Bounded: every pass moves past one newline or the end. */
	while (at < length) {
		const char *newline = memchr(text + at, '\n', length - at);
		size_t end = newline != NULL ? (size_t)(newline - text) : length;
		x.line++;
		int rc = take_line(&x, text + at, end - at);
		if (rc != 0)
			return rc;
		at = end + 1;
	}
	if (out->count == 0)
		return refuse(why, why_bytes, "no entries (one JSON object a line, 1 to %u)",
		              WIRE_BATCH_ENTRIES_MAX);
	assert(out->count <= WIRE_BATCH_ENTRIES_MAX);
	return 0;
}

int cli_entries_read(const char *path, enum cli_entries_kind kind, struct cli_entries *out,
                     char *why, size_t why_bytes)
{
	memset(out, 0, sizeof(*out));
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *in = is_stdin ? stdin : fopen(path, "r");
	if (in == NULL) {
		int rc = -errno;
		snprintf(why, why_bytes, "%s: %s", path, strerror(-rc));
		return rc;
	}
	char *text = malloc(CLI_ENTRIES_FILE_BYTES_MAX + 1);
	size_t length = text != NULL ? fread(text, 1, CLI_ENTRIES_FILE_BYTES_MAX + 1, in) : 0;
	int rc = text == NULL ? -ENOMEM : ferror(in) ? -EIO : 0;
	if (rc == 0 && length > CLI_ENTRIES_FILE_BYTES_MAX)
		rc = -EFBIG;
	if (!is_stdin)
		fclose(in);
	if (rc == 0)
		rc = cli_entries_parse(text, length, kind, out, why, why_bytes);
	else
		snprintf(why, why_bytes, "%s: %s", path,
		         rc == -EFBIG ? "an entries file is at most 2 MiB" : strerror(-rc));
	free(text);
	return rc;
}

void cli_entries_free(struct cli_entries *entries)
{
	assert(entries->count <= WIRE_BATCH_ENTRIES_MAX);
	assert(entries->owned_count <= CLI_ENTRIES_OWNED_MAX);
	for (uint32_t i = 0; i < entries->count; i++)
		json_decref(entries->lines[i]);
	for (uint32_t i = 0; i < entries->owned_count; i++)
		free(entries->owned[i]);
	entries->count = 0;
	entries->owned_count = 0;
}

const char *cli_bus_name(const char *name_or_arn)
{
	assert(name_or_arn != NULL);
	const char *slash = strstr(name_or_arn, ":event-bus/");
	if (strncmp(name_or_arn, "arn:", 4) != 0 || slash == NULL)
		return name_or_arn;
	return slash + strlen(":event-bus/");
}

void cli_routing_usage(FILE *out)
{
	fprintf(out,
	        "SNS and EventBridge data (busbard, as send):\n"
	        "  publish TOPIC MESSAGE [--subject S] [--attribute NAME=TYPE:VALUE]... (up to %u;\n"
	        "          TYPE String, Number or Binary[.suffix], a Binary VALUE in base64; also\n"
	        "          on send) [--group G] [--dedup D] (FIFO topics) [--structure json]\n"
	        "  publish-batch TOPIC --entries FILE  (FILE or - : one JSON object a line, 1-%u,\n"
	        "          as PublishBatchRequestEntry: Id, Message, Subject, MessageAttributes...;\n"
	        "          exit 1 when one failed)\n"
	        "  put-events [--bus B] --source S --detail-type T --detail JSON [--resource ARN]...\n"
	        "          [--time RFC3339]   or   put-events [--bus B] --entries FILE (1-%u lines,\n"
	        "          as PutEventsRequestEntry; exit 1 when FailedEntryCount is not 0)\n",
	        WIRE_ATTRIBUTES_MAX, WIRE_BATCH_ENTRIES_MAX, WIRE_BATCH_ENTRIES_MAX);
}

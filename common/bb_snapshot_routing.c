/*
 * The routing kinds of the snapshot (topics, subscriptions, buses, rules, targets; see
 * bb_snapshot.h), read and written from one table of their fields: a field's tag, its
 * type, where it lives in the entry, its size limit and whether the entry needs it. The
 * completeness checks after the table say what each kind's values may be.
 */
#include "bb_snapshot_int.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

enum field_type { FIELD_U32, FIELD_U64, FIELD_TEXT };

struct field_spec {
	enum bb_snapshot_kind kind;
	uint16_t tag;
	enum field_type type;
	size_t offset; /* in struct bb_snapshot_entry */
	uint32_t bytes_max; /* text only */
	bool required;
};

#define AT(member) offsetof(struct bb_snapshot_entry, member)

static const struct field_spec FIELDS[] = {
    {BB_SNAPSHOT_KIND_TOPIC, BB_SNAPSHOT_TAG_TOPIC_NAME, FIELD_TEXT, AT(topic.name),
     BB_TOPIC_NAME_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_TOPIC, BB_SNAPSHOT_TAG_TOPIC_ID, FIELD_U64, AT(topic.topic_id), 0, true},
    {BB_SNAPSHOT_KIND_TOPIC, BB_SNAPSHOT_TAG_TOPIC_FLAGS, FIELD_U32, AT(topic.flags), 0, false},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_ID, FIELD_U64,
     AT(subscription.subscription_id), 0, true},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_TOPIC_ID, FIELD_U64,
     AT(subscription.topic_id), 0, true},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_PROTOCOL, FIELD_U32,
     AT(subscription.protocol), 0, true},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_FLAGS, FIELD_U32,
     AT(subscription.flags), 0, false},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_ENDPOINT, FIELD_TEXT,
     AT(subscription.endpoint), BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_FILTER_POLICY, FIELD_TEXT,
     AT(subscription.filter_policy), BB_FILTER_POLICY_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_DEAD_LETTER_QUEUE, FIELD_TEXT,
     AT(subscription.dead_letter_queue), BB_QUEUE_NAME_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_ARN, FIELD_TEXT,
     AT(subscription.arn), BB_TOPIC_ARN_BYTES_MAX + 64, false},
    {BB_SNAPSHOT_KIND_BUS, BB_SNAPSHOT_TAG_BUS_NAME, FIELD_TEXT, AT(bus.name),
     BB_BUS_NAME_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_BUS, BB_SNAPSHOT_TAG_BUS_ID, FIELD_U64, AT(bus.bus_id), 0, true},
    {BB_SNAPSHOT_KIND_BUS, BB_SNAPSHOT_TAG_BUS_FLAGS, FIELD_U32, AT(bus.flags), 0, false},
    {BB_SNAPSHOT_KIND_BUS, BB_SNAPSHOT_TAG_BUS_ARCHIVE_DAYS, FIELD_U32, AT(bus.archive_days), 0,
     false},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_ID, FIELD_U64, AT(rule.rule_id), 0, true},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_BUS_ID, FIELD_U64, AT(rule.bus_id), 0, true},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_NAME, FIELD_TEXT, AT(rule.name),
     BB_RULE_NAME_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_FLAGS, FIELD_U32, AT(rule.flags), 0, false},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_PATTERN, FIELD_TEXT, AT(rule.pattern),
     BB_EVENT_PATTERN_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_SCHEDULE, FIELD_TEXT, AT(rule.schedule),
     BB_SCHEDULE_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_RULE_ID, FIELD_U64, AT(target.rule_id), 0,
     true},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_ID, FIELD_TEXT, AT(target.id),
     BB_TARGET_ID_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_KIND, FIELD_U32, AT(target.kind), 0, true},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_RESOURCE, FIELD_TEXT, AT(target.resource),
     BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX, true},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_INPUT_KIND, FIELD_U32,
     AT(target.input_kind), 0, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_INPUT, FIELD_TEXT, AT(target.input),
     BB_TARGET_INPUT_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_INPUT_PATHS_MAP, FIELD_TEXT,
     AT(target.input_paths_map), BB_TARGET_PATHS_MAP_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_MESSAGE_GROUP_ID, FIELD_TEXT,
     AT(target.message_group_id), BB_FIFO_ID_BYTES_MAX, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_RETRY_ATTEMPTS_MAX, FIELD_U32,
     AT(target.retry_attempts_max), 0, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_EVENT_AGE_S_MAX, FIELD_U32,
     AT(target.event_age_s_max), 0, false},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_DEAD_LETTER_QUEUE, FIELD_TEXT,
     AT(target.dead_letter_queue), BB_QUEUE_NAME_BYTES_MAX, false},
};
#define FIELD_COUNT (sizeof(FIELDS) / sizeof(FIELDS[0]))
_Static_assert(FIELD_COUNT <= 64, "a 64-bit mask tells which fields an entry has");

static const struct {
	enum bb_snapshot_kind kind;
	uint16_t begin_tag;
} BEGINS[] = {
    {BB_SNAPSHOT_KIND_TOPIC, BB_SNAPSHOT_TAG_TOPIC_BEGIN},
    {BB_SNAPSHOT_KIND_SUBSCRIPTION, BB_SNAPSHOT_TAG_SUBSCRIPTION_BEGIN},
    {BB_SNAPSHOT_KIND_BUS, BB_SNAPSHOT_TAG_BUS_BEGIN},
    {BB_SNAPSHOT_KIND_RULE, BB_SNAPSHOT_TAG_RULE_BEGIN},
    {BB_SNAPSHOT_KIND_TARGET, BB_SNAPSHOT_TAG_TARGET_BEGIN},
};
#define BEGIN_COUNT (sizeof(BEGINS) / sizeof(BEGINS[0]))

bool bb_snapshot_routing_begins(uint16_t tag, enum bb_snapshot_kind *kind)
{
	for (uint32_t i = 0; i < BEGIN_COUNT; i++) {
		if (BEGINS[i].begin_tag == tag) {
			*kind = BEGINS[i].kind;
			return true;
		}
	}
	return false;
}

static uint16_t begin_tag(enum bb_snapshot_kind kind)
{
	for (uint32_t i = 0; i < BEGIN_COUNT; i++) {
		if (BEGINS[i].kind == kind)
			return BEGINS[i].begin_tag;
	}
	assert(!"a routing kind has a begin tag");
	return 0;
}

bool bb_snapshot_kind_is_routing(enum bb_snapshot_kind kind)
{
	return kind >= BB_SNAPSHOT_KIND_TOPIC && kind <= BB_SNAPSHOT_KIND_TARGET;
}

uint32_t bb_snapshot_kind_count_max(enum bb_snapshot_kind kind)
{
	switch (kind) {
	case BB_SNAPSHOT_KIND_QUEUE: return BB_QUEUE_COUNT_MAX;
	case BB_SNAPSHOT_KIND_KEY: return BB_KEY_COUNT_MAX;
	case BB_SNAPSHOT_KIND_TOPIC: return BB_TOPIC_COUNT_MAX;
	case BB_SNAPSHOT_KIND_SUBSCRIPTION: return BB_SUBSCRIPTION_COUNT_MAX;
	case BB_SNAPSHOT_KIND_BUS: return BB_BUS_COUNT_MAX;
	case BB_SNAPSHOT_KIND_RULE: return BB_RULE_COUNT_MAX;
	case BB_SNAPSHOT_KIND_TARGET: return BB_TARGET_COUNT_MAX;
	}
	return 0;
}

static void *field_in(struct bb_snapshot_entry *e, const struct field_spec *spec)
{
	return (uint8_t *)e + spec->offset;
}

static const void *field_of(const struct bb_snapshot_entry *e, const struct field_spec *spec)
{
	return (const uint8_t *)e + spec->offset;
}

enum wire_status bb_snapshot_routing_field(struct bb_snapshot_entry *e, const struct wire_field *f,
                                           uint64_t *seen)
{
	assert(bb_snapshot_kind_is_routing(e->kind));
	for (uint32_t i = 0; i < FIELD_COUNT; i++) {
		const struct field_spec *spec = &FIELDS[i];
		if (spec->kind != e->kind || spec->tag != f->tag)
			continue;
		if ((*seen & (1ull << i)) != 0)
			return WIRE_ERR_MALFORMED;
		*seen |= 1ull << i;
		if (spec->type == FIELD_U32)
			return wire_field_u32(f, field_in(e, spec)) ? WIRE_OK : WIRE_ERR_MALFORMED;
		if (spec->type == FIELD_U64)
			return wire_field_u64(f, field_in(e, spec)) ? WIRE_OK : WIRE_ERR_MALFORMED;
		if (f->length == 0 || f->length > spec->bytes_max)
			return WIRE_ERR_INVALID_PARAMETER;
		struct bb_text *text = field_in(e, spec);
		*text = (struct bb_text){(const char *)f->value, f->length};
		return WIRE_OK;
	}
	return WIRE_ERR_MALFORMED;
}

/* Required fields present, text within its size (what decoding guarantees, checked again
 * when encoding). */
static bool fields_fit(const struct bb_snapshot_entry *e)
{
	for (uint32_t i = 0; i < FIELD_COUNT; i++) {
		const struct field_spec *spec = &FIELDS[i];
		if (spec->kind != e->kind)
			continue;
		if (spec->type == FIELD_U64 && spec->required &&
		    *(const uint64_t *)field_of(e, spec) == 0)
			return false;
		if (spec->type != FIELD_TEXT)
			continue;
		const struct bb_text *text = field_of(e, spec);
		if (text->data == NULL ? spec->required
		                       : text->bytes == 0 || text->bytes > spec->bytes_max)
			return false;
	}
	return true;
}

static bool text_is(const struct bb_text *t, bool (*valid)(const uint8_t *, size_t))
{
	return t->data != NULL && valid((const uint8_t *)t->data, t->bytes);
}

static bool topic_is_complete(const struct bb_snapshot_topic *t)
{
	uint32_t known = BB_SNAPSHOT_TOPIC_FIFO | BB_SNAPSHOT_TOPIC_CONTENT_DEDUP |
	                 BB_SNAPSHOT_TOPIC_MEMORY | BB_SNAPSHOT_TOPIC_SIGNATURE_V1;
	bool fifo = (t->flags & BB_SNAPSHOT_TOPIC_FIFO) != 0;
	bool content = (t->flags & BB_SNAPSHOT_TOPIC_CONTENT_DEDUP) != 0;
	return text_is(&t->name, bb_topic_name_is_valid) && (t->flags & ~known) == 0 &&
	       (!content || fifo) &&
	       fifo == bb_queue_name_is_fifo((const uint8_t *)t->name.data, t->name.bytes);
}

static bool subscription_is_complete(const struct bb_snapshot_subscription *s)
{
	uint32_t known = BB_SNAPSHOT_SUBSCRIPTION_RAW | BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY |
	                 BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED;
	bool queue_dlq = s->dead_letter_queue.data == NULL ||
	                 text_is(&s->dead_letter_queue, bb_queue_name_is_valid);
	bool queue_endpoint = s->protocol != BB_SUBSCRIPTION_SQS ||
	                      text_is(&s->endpoint, bb_queue_name_is_valid);
	return s->protocol >= BB_SUBSCRIPTION_SQS && s->protocol <= BB_SUBSCRIPTION_HTTPS &&
	       (s->flags & ~known) == 0 && queue_dlq && queue_endpoint;
}

static bool rule_is_complete(const struct bb_snapshot_rule *r)
{
	return text_is(&r->name, bb_rule_name_is_valid) &&
	       (r->flags & ~BB_SNAPSHOT_RULE_ENABLED) == 0 &&
	       (r->pattern.data != NULL || r->schedule.data != NULL);
}

/* What the resource names must be a name of its kind; the input fields must agree with
 * the input kind; the retry policy within AWS's ranges (0: the default). */
static bool target_is_complete(const struct bb_snapshot_target *t)
{
	bool resource = true;
	if (t->kind == BB_TARGET_QUEUE)
		resource = text_is(&t->resource, bb_queue_name_is_valid);
	else if (t->kind == BB_TARGET_TOPIC)
		resource = text_is(&t->resource, bb_topic_name_is_valid);
	else if (t->kind == BB_TARGET_BUS)
		resource = text_is(&t->resource, bb_bus_name_is_valid);
	else if (t->kind != BB_TARGET_UDP)
		return false;
	bool input = t->input_kind == BB_TARGET_INPUT_EVENT ? t->input.data == NULL
	                                                    : t->input.data != NULL;
	bool paths = t->input_kind == BB_TARGET_INPUT_TRANSFORMER || t->input_paths_map.data == NULL;
	bool dlq = t->dead_letter_queue.data == NULL ||
	           text_is(&t->dead_letter_queue, bb_queue_name_is_valid);
	return resource && t->input_kind <= BB_TARGET_INPUT_TRANSFORMER && input && paths &&
	       text_is(&t->id, bb_target_id_is_valid) && t->retry_attempts_max <= 185 &&
	       (t->event_age_s_max == 0 ||
	        (t->event_age_s_max >= 60 && t->event_age_s_max <= 86400)) &&
	       dlq;
}

bool bb_snapshot_routing_is_complete(const struct bb_snapshot_entry *e)
{
	if (!bb_snapshot_kind_is_routing(e->kind) || !fields_fit(e))
		return false;
	switch (e->kind) {
	case BB_SNAPSHOT_KIND_TOPIC: return topic_is_complete(&e->topic);
	case BB_SNAPSHOT_KIND_SUBSCRIPTION: return subscription_is_complete(&e->subscription);
	case BB_SNAPSHOT_KIND_BUS:
		return text_is(&e->bus.name, bb_bus_name_is_valid) &&
		       (e->bus.flags & ~(BB_SNAPSHOT_BUS_MEMORY | BB_SNAPSHOT_BUS_ARCHIVED)) == 0 &&
		       !((e->bus.flags & BB_SNAPSHOT_BUS_MEMORY) &&
		         (e->bus.flags & BB_SNAPSHOT_BUS_ARCHIVED));
	case BB_SNAPSHOT_KIND_RULE: return rule_is_complete(&e->rule);
	default: return target_is_complete(&e->target);
	}
}

void bb_snapshot_routing_put(struct wire_writer *w, const struct bb_snapshot_entry *e)
{
	assert(bb_snapshot_kind_is_routing(e->kind));
	wire_put_bytes(w, begin_tag(e->kind), NULL, 0);
	for (uint32_t i = 0; i < FIELD_COUNT; i++) {
		const struct field_spec *spec = &FIELDS[i];
		if (spec->kind != e->kind)
			continue;
		const void *value = field_of(e, spec);
		if (spec->type == FIELD_U32 && *(const uint32_t *)value != 0)
			wire_put_u32(w, spec->tag, *(const uint32_t *)value);
		else if (spec->type == FIELD_U64)
			wire_put_u64(w, spec->tag, *(const uint64_t *)value);
		else if (spec->type == FIELD_TEXT && ((const struct bb_text *)value)->data != NULL)
			wire_put_bytes(w, spec->tag, ((const struct bb_text *)value)->data,
			               ((const struct bb_text *)value)->bytes);
	}
}

size_t bb_snapshot_routing_bytes(const struct bb_snapshot_entry *e)
{
	assert(bb_snapshot_kind_is_routing(e->kind));
	size_t bytes = wire_field_bytes(0);
	for (uint32_t i = 0; i < FIELD_COUNT; i++) {
		const struct field_spec *spec = &FIELDS[i];
		if (spec->kind != e->kind)
			continue;
		if (spec->type == FIELD_U32)
			bytes += wire_field_bytes(4);
		else if (spec->type == FIELD_U64)
			bytes += wire_field_bytes(8);
		else
			bytes += wire_field_bytes(((const struct bb_text *)field_of(e, spec))->bytes);
	}
	return bytes;
}

/* ---- names ---- */

static bool name_of(const uint8_t *name, size_t bytes, size_t bytes_max, const char *extra)
{
	if (bytes == 0 || bytes > bytes_max)
		return false;
	for (size_t i = 0; i < bytes; i++) {
		uint8_t c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (c != 0 && strchr(extra, c) != NULL);
		if (!ok)
			return false;
	}
	return true;
}

bool bb_topic_name_is_valid(const uint8_t *name, size_t name_bytes)
{
	size_t fifo_suffix = bb_queue_name_is_fifo(name, name_bytes) ? 5 : 0;
	return name_bytes <= BB_TOPIC_NAME_BYTES_MAX &&
	       name_of(name, name_bytes - fifo_suffix, BB_TOPIC_NAME_BYTES_MAX, "-_");
}

bool bb_bus_name_is_valid(const uint8_t *name, size_t name_bytes)
{
	return name_of(name, name_bytes, BB_BUS_NAME_BYTES_MAX, "./-_");
}

bool bb_rule_name_is_valid(const uint8_t *name, size_t name_bytes)
{
	return name_of(name, name_bytes, BB_RULE_NAME_BYTES_MAX, ".-_");
}

bool bb_target_id_is_valid(const uint8_t *id, size_t id_bytes)
{
	return name_of(id, id_bytes, BB_TARGET_ID_BYTES_MAX, ".-_");
}

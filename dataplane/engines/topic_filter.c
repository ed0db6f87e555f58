/*
 * A topic's subscription filter policies (topic.h): built on the service thread with filters/,
 * matched on the owner worker with the caller's scratch. One matcher holds every
 * MessageAttributes policy (matched against one small JSON event made of the attributes),
 * and one per protocol holds the MessageBody policies of that protocol's subscriptions,
 * because a json-structured message gives each protocol its own body. A policy's rule id is
 * its subscription's index. Matching allocates nothing: every buffer is in the scratch.
 */
#include "topic.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic_int.h"

enum policy_kind { POLICY_NONE, POLICY_ATTRIBUTES, POLICY_BODY };

/* The attributes event: '{', each "name":value with ',' and escaping, '}'. */
#define ATTRIBUTES_EVENT_BYTES                                                                     \
	(6u * BB_TOPIC_MESSAGE_BYTES_MAX + 8u * BB_TOPIC_ATTRIBUTES_MAX + 2u)

struct body_matcher {
	char protocol[BB_TOPIC_PROTOCOL_BYTES_MAX + 1];
	struct flt_matcher *matcher;
};

struct topic_filter {
	uint32_t count;
	uint8_t kind[BB_TOPIC_SUBSCRIPTIONS_MAX];
	uint8_t body_of[BB_TOPIC_SUBSCRIPTIONS_MAX]; /* POLICY_BODY: its body matcher */
	struct flt_matcher *attributes;              /* NULL: no MessageAttributes policy */
	uint32_t body_count;
	struct body_matcher body[BB_TOPIC_SUBSCRIPTIONS_MAX];
};
_Static_assert(BB_TOPIC_SUBSCRIPTIONS_MAX <= 256, "a body matcher's number fits a byte");

struct topic_scratch {
	const struct topic_filter *filter;
	struct flt_scratch *attributes;
	struct flt_scratch *body[BB_TOPIC_SUBSCRIPTIONS_MAX];
	uint32_t rule_ids[BB_TOPIC_SUBSCRIPTIONS_MAX];
	uint8_t marks[BB_TOPIC_SUBSCRIPTIONS_MAX];
	char *event;      /* ATTRIBUTES_EVENT_BYTES */
	uint8_t *payload; /* BB_TOPIC_MESSAGE_BYTES_MAX */
};

static void limits_for_topics(struct flt_limits *limits)
{
	flt_limits_default(limits);
	/* The attributes event escapes what SNS counts; a body is at most the message. */
	limits->event_bytes_max = ATTRIBUTES_EVENT_BYTES;
}

/*
 * The body matcher of a protocol: found, or added with its compiler (f->body_count then says
 * how many compilers there are). UINT32_MAX when no compiler could be made.
 */
static uint32_t body_matcher_of(struct topic_filter *f, struct flt_compiler **body,
                                const char *protocol)
{
	for (uint32_t b = 0; b < f->body_count; b++) {
		if (strcmp(f->body[b].protocol, protocol) == 0)
			return b;
	}
	struct flt_limits limits;
	limits_for_topics(&limits);
	body[f->body_count] = flt_compiler_new(&limits);
	if (body[f->body_count] == NULL)
		return UINT32_MAX;
	strcpy(f->body[f->body_count].protocol, protocol);
	return f->body_count++;
}

static int add_policies(struct topic_filter *f, const struct topic_subscription *subs,
                        struct flt_compiler *attributes, struct flt_compiler **body,
                        char *error, size_t error_bytes)
{
	char reason[256];
	for (uint32_t i = 0; i < f->count; i++) {
		const struct topic_subscription *s = &subs[i];
		if (s->protocol == NULL || strlen(s->protocol) > BB_TOPIC_PROTOCOL_BYTES_MAX) {
			snprintf(error, error_bytes, "subscription %u: protocol over %u bytes", i,
			         BB_TOPIC_PROTOCOL_BYTES_MAX);
			return -EINVAL;
		}
		if (s->filter_policy == NULL)
			continue;
		struct flt_compiler *c = attributes;
		f->kind[i] = POLICY_ATTRIBUTES;
		if (s->scope == FLT_SNS_MESSAGE_BODY) {
			uint32_t b = body_matcher_of(f, body, s->protocol);
			if (b == UINT32_MAX)
				return -ENOMEM;
			f->kind[i] = POLICY_BODY;
			f->body_of[i] = (uint8_t)b;
			c = body[b];
		}
		int rc = flt_add_sns_policy(c, i, s->filter_policy, s->filter_policy_bytes, s->scope,
		                            reason, sizeof(reason));
		if (rc != 0) {
			snprintf(error, error_bytes, "subscription %u: FilterPolicy: %s", i, reason);
			return -EINVAL;
		}
	}
	return 0;
}

/* Compiles the compilers that hold policies into the filter's matchers. */
static int compile_all(struct topic_filter *f, struct flt_compiler *attributes,
                       struct flt_compiler **body)
{
	bool any_attributes = false;
	for (uint32_t i = 0; i < f->count; i++)
		any_attributes = any_attributes || f->kind[i] == POLICY_ATTRIBUTES;
	if (any_attributes) {
		f->attributes = flt_compile(attributes);
		if (f->attributes == NULL)
			return -ENOMEM;
	}
	for (uint32_t b = 0; b < f->body_count; b++) {
		f->body[b].matcher = flt_compile(body[b]);
		if (f->body[b].matcher == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct topic_filter *topic_filter_build(const struct topic_subscription *subs, uint32_t count,
                                        char *error, size_t error_bytes, int *error_out)
{
	assert(count <= BB_TOPIC_SUBSCRIPTIONS_MAX);
	assert(error_bytes > 0);
	error[0] = '\0';
	struct flt_limits limits;
	limits_for_topics(&limits);
	struct topic_filter *f = calloc(1, sizeof(*f));
	struct flt_compiler *attributes = flt_compiler_new(&limits);
	struct flt_compiler *body[BB_TOPIC_SUBSCRIPTIONS_MAX] = {0};
	int rc = -ENOMEM;
	if (f != NULL && attributes != NULL) {
		f->count = count;
		rc = add_policies(f, subs, attributes, body, error, error_bytes);
	}
	if (rc == 0)
		rc = compile_all(f, attributes, body);
	for (uint32_t b = 0; f != NULL && b < f->body_count; b++)
		flt_compiler_free(body[b]);
	flt_compiler_free(attributes);
	if (rc != 0) {
		topic_filter_free(f);
		*error_out = rc;
		return NULL;
	}
	return f;
}

void topic_filter_free(struct topic_filter *f)
{
	if (f == NULL)
		return;
	flt_matcher_free(f->attributes);
	for (uint32_t b = 0; b < f->body_count; b++)
		flt_matcher_free(f->body[b].matcher);
	free(f);
}

uint32_t topic_filter_subscription_count(const struct topic_filter *f)
{
	return f->count;
}

struct topic_scratch *topic_scratch_new(const struct topic_filter *f)
{
	struct topic_scratch *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->filter = f;
	bool ok = true;
	if (f->attributes != NULL) {
		s->attributes = flt_scratch_new(f->attributes);
		ok = s->attributes != NULL;
	}
	for (uint32_t b = 0; ok && b < f->body_count; b++) {
		s->body[b] = flt_scratch_new(f->body[b].matcher);
		ok = s->body[b] != NULL;
	}
	s->event = malloc(ATTRIBUTES_EVENT_BYTES);
	s->payload = malloc(BB_TOPIC_MESSAGE_BYTES_MAX);
	if (!ok || s->event == NULL || s->payload == NULL) {
		topic_scratch_free(s);
		return NULL;
	}
	return s;
}

void topic_scratch_free(struct topic_scratch *s)
{
	if (s == NULL)
		return;
	flt_scratch_free(s->attributes);
	for (uint32_t b = 0; b < s->filter->body_count; b++)
		flt_scratch_free(s->body[b]);
	free(s->event);
	free(s->payload);
	free(s);
}

static bool type_base_is(const struct topic_attribute *a, const char *base)
{
	size_t n = strlen(base);
	return a->type_bytes >= n && memcmp(a->type, base, n) == 0 &&
	       (a->type_bytes == n || a->type[n] == '.');
}

/*
 * The JSON event the MessageAttributes scope matches, as flt_sns_attributes_event makes it
 * (String as a string, Number as a number, String.Array as its array, Binary left out), but
 * into the scratch: the checked Publish makes every value valid JSON as written.
 */
static size_t attributes_event(const struct topic_record *r, char *out)
{
	size_t o = 0;
	out[o++] = '{';
	for (uint32_t i = 0; i < r->attribute_count; i++) {
		const struct topic_attribute *a = &r->attributes[i];
		if (type_base_is(a, "Binary"))
			continue;
		if (o > 1)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, a->name, a->name_bytes); /* names need no escaping */
		o += a->name_bytes;
		out[o++] = '"';
		out[o++] = ':';
		bool text = !type_base_is(a, "String.Array") && !type_base_is(a, "Number");
		if (text)
			out[o++] = '"';
		size_t left = ATTRIBUTES_EVENT_BYTES - o;
		size_t put = text ? topic_json_escape(a->value, a->value_bytes, (uint8_t *)out + o,
		                                      left)
		                  : a->value_bytes;
		assert(put != SIZE_MAX && put <= left);
		if (!text)
			memcpy(out + o, a->value, a->value_bytes);
		o += put;
		if (text)
			out[o++] = '"';
	}
	out[o++] = '}';
	assert(o <= ATTRIBUTES_EVENT_BYTES);
	return o;
}

/* Marks the subscriptions of `kind` (and body matcher b) whose policy matched. */
static void mark_matches(struct topic_scratch *s, int matched, enum policy_kind kind, uint32_t b)
{
	const struct topic_filter *f = s->filter;
	uint32_t found = matched > 0 ? (uint32_t)matched : 0;
	if (found > f->count)
		found = f->count;
	for (uint32_t k = 0; k < found; k++) {
		uint32_t i = s->rule_ids[k];
		assert(i < f->count && f->kind[i] == kind);
		if (kind == POLICY_ATTRIBUTES || f->body_of[i] == b)
			s->marks[i] = 1;
	}
}

uint32_t topic_filter_match(const struct topic_filter *f, struct topic_scratch *s,
                            const struct topic_record *r, uint32_t *indices_out)
{
	assert(s->filter == f);
	assert(r->kind == TOPIC_RECORD_PUBLISH);
	memset(s->marks, 0, f->count);
	if (f->attributes != NULL) {
		size_t bytes = attributes_event(r, s->event);
		int matched = flt_match(f->attributes, s->attributes, s->event, bytes, s->rule_ids,
		                        f->count);
		mark_matches(s, matched, POLICY_ATTRIBUTES, 0);
	}
	for (uint32_t b = 0; b < f->body_count; b++) {
		const uint8_t *payload;
		uint32_t payload_bytes;
		if (topic_payload(r, f->body[b].protocol, s->payload, BB_TOPIC_MESSAGE_BYTES_MAX,
		                  &payload, &payload_bytes) != 0)
			continue;
		/* A body that is not JSON matches no MessageBody policy (flt_match: -EINVAL). */
		int matched = flt_match(f->body[b].matcher, s->body[b], (const char *)payload,
		                        payload_bytes, s->rule_ids, f->count);
		mark_matches(s, matched, POLICY_BODY, b);
	}
	uint32_t count = 0;
	for (uint32_t i = 0; i < f->count; i++) {
		if (f->kind[i] == POLICY_NONE || s->marks[i])
			indices_out[count++] = i;
	}
	return count;
}

int topic_payload(const struct topic_record *r, const char *protocol, uint8_t *buf,
                  size_t capacity, const uint8_t **payload_out, uint32_t *bytes_out)
{
	assert(r->kind == TOPIC_RECORD_PUBLISH);
	if ((r->flags & TOPIC_RECORD_FLAG_JSON) == 0) {
		*payload_out = r->message;
		*bytes_out = r->message_bytes;
		return 0;
	}
	const uint8_t *literal;
	size_t literal_bytes;
	int rc = topic_json_structure_find(r->message, r->message_bytes, protocol, &literal,
	                                   &literal_bytes);
	if (rc == -ENOENT)
		rc = topic_json_structure_find(r->message, r->message_bytes, "default", &literal,
		                               &literal_bytes);
	size_t length = 0;
	if (rc == 0)
		rc = topic_json_unescape(literal, literal_bytes, buf, capacity, &length);
	if (rc != 0)
		return -EBADMSG;
	assert(length <= r->message_bytes);
	*payload_out = buf;
	*bytes_out = (uint32_t)length;
	return 0;
}

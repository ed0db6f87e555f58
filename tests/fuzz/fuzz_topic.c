/*
 * Fuzz target: what the topic engine parses (dataplane/engines/topic.h). The first byte picks
 * the input: a log record (decoded; one that decodes re-encodes to the same bytes, and is
 * matched and rendered as recovery would), or a Publish's message with MessageStructure=json,
 * a String.Array or Number attribute value (checked; a checked one is matched and renders).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t scratch[TOPIC_RENDER_SCRATCH_BYTES];
static uint8_t out[TOPIC_ENVELOPE_BYTES_MAX];

static int sign(void *ctx, unsigned version, const uint8_t *bytes, size_t n, char *to,
                size_t capacity, size_t *length_out)
{
	(void)ctx, (void)version, (void)bytes, (void)n;
	if (capacity < 4)
		return -ENOBUFS;
	memcpy(to, "AAAA", 4);
	*length_out = 4;
	return 0;
}

static void render_all(const struct topic_record *r)
{
	struct topic_render_options o = {.protocol = "sqs",
	                                 .topic_arn = "arn:aws:sns:r:1:t",
	                                 .unsubscribe_url = "u",
	                                 .signing_cert_url = "c",
	                                 .signature_version = TOPIC_SIGNATURE_V2,
	                                 .sign = sign,
	                                 .scratch = scratch};
	size_t length;
	for (int raw = 0; raw < 2; raw++) {
		o.raw = raw;
		int rc = topic_render(r, &o, out, sizeof(out), &length);
		/* A checked publish always renders into the largest envelope. */
		if (rc != 0 && rc != -EBADMSG)
			abort();
	}
}

/* Policies of both scopes and protocols, built once: recovery matches what it decoded. */
static void match(const struct topic_record *r)
{
	static struct topic_filter *filter;
	static struct topic_scratch *match_scratch;
	static const char body[] = "{\"a\":[{\"anything-but\":[\"x\"]}]}";
	static const char attrs[] = "{\"a\":[{\"exists\":true}],\"b\":[{\"numeric\":[\">\",1]}]}";
	if (filter == NULL) {
		struct topic_subscription subs[] = {
		    {.protocol = "sqs"},
		    {.protocol = "sqs", body, sizeof(body) - 1, FLT_SNS_MESSAGE_BODY},
		    {.protocol = "udp", body, sizeof(body) - 1, FLT_SNS_MESSAGE_BODY},
		    {.protocol = "sqs", attrs, sizeof(attrs) - 1, FLT_SNS_MESSAGE_ATTRIBUTES},
		};
		char error[256];
		int rc;
		filter = topic_filter_build(subs, 4, error, sizeof(error), &rc);
		match_scratch = filter ? topic_scratch_new(filter) : NULL;
		if (match_scratch == NULL)
			abort();
	}
	uint32_t indices[4];
	uint32_t n = topic_filter_match(filter, match_scratch, r, indices);
	if (n < 1 || n > 4 || indices[0] != 0)
		abort(); /* the subscription without a policy always gets it */
}

static void fuzz_record(const uint8_t *data, size_t size)
{
	struct topic_record r;
	if (topic_record_decode(data, size, &r) != 0)
		return;
	static uint8_t again[TOPIC_RECORD_BYTES_MAX];
	size_t n = topic_record_encode(&r, again, sizeof(again));
	if (n != size || memcmp(again, data, size) != 0)
		abort();
	if (r.kind == TOPIC_RECORD_PUBLISH) {
		render_all(&r);
		match(&r);
	}
}

static void fuzz_publish(uint8_t how, const uint8_t *data, size_t size)
{
	struct topic_attribute a = {.name = "a", .name_bytes = 1, .value = data,
	                            .value_bytes = (uint32_t)size};
	struct topic_publish p = {.message = (const uint8_t *)"m", .message_bytes = 1};
	if (how == 1) {
		p.message = data;
		p.message_bytes = (uint32_t)size;
		p.message_structure_json = true;
	} else {
		a.type = how == 2 ? "String.Array" : "Number";
		a.type_bytes = (uint32_t)strlen(a.type);
		p.attributes = &a;
		p.attribute_count = 1;
	}
	const char *text;
	if (topic_check_publish(&p, false, false, &text) != WIRE_OK)
		return;
	struct topic_record r = {.kind = TOPIC_RECORD_PUBLISH, .topic_id = 1,
	                         .flags = p.message_structure_json ? TOPIC_RECORD_FLAG_JSON : 0,
	                         .attribute_count = p.attribute_count, .message = p.message,
	                         .message_bytes = p.message_bytes};
	if (p.attribute_count > 0)
		r.attributes[0] = a;
	render_all(&r);
	match(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > BB_TOPIC_MESSAGE_BYTES_MAX)
		return 0;
	uint8_t how = data[0] % 4;
	if (how == 0)
		fuzz_record(data + 1, size - 1);
	else
		fuzz_publish(how, data + 1, size - 1);
	return 0;
}

/*
 * Publish and PublishBatch (SNS) and PutEvents (EventBridge) on their topic's or bus's
 * owner: the engine checks and accepts (engines/topic.h, engines/bus.h), the record goes to
 * this worker's log, the answer waits in the reply stage until it is durable, and the
 * deliveries go through dp_fanout.c once it is. Matching and rendering use the worker's
 * buffers and the owner's scratch in the snapshot: nothing here allocates.
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "bb_policy.h"
#include "bus_input.h"
#include "bus_record.h"
#include "dp_dead_letter.h"
#include "dp_request.h"

/* ---- where the request's topic or bus is now ---- */

/* The routing lcore's snapshot placed it; this one's may be newer: found again by name. */
static const struct dp_topic *topic_now(const struct dp_snapshot *s, struct rte_mbuf *m,
                                        const struct dp_request *req)
{
	const struct dp_request_meta *meta = dp_meta(m);
	if (s == NULL || s->routing == NULL)
		return NULL;
	const struct dp_routing *r = s->routing;
	if (meta->resource < r->topic_count && r->topics[meta->resource].topic_id == meta->queue_id)
		return &r->topics[meta->resource];
	return dp_routing_find_topic(r, req->topic_name.data, req->topic_name.length);
}

static const struct dp_bus *bus_now(const struct dp_snapshot *s, struct rte_mbuf *m,
                                    const struct dp_request *req)
{
	const struct dp_request_meta *meta = dp_meta(m);
	if (s == NULL || s->routing == NULL)
		return NULL;
	const struct dp_routing *r = s->routing;
	if (meta->resource < r->bus_count && r->buses[meta->resource].bus_id == meta->queue_id)
		return &r->buses[meta->resource];
	struct dp_bytes name = dp_bus_name_of(req);
	return dp_routing_find_bus(r, name.data, name.length);
}

/* ---- the log ---- */

/* The topic engine's log (topic_log_ops): the position goes where the fan-out finds it. */
int dp_topic_log_append(void *ctx, const struct topic_record *record, uint64_t *sequence_out)
{
	struct dp_worker *w = ctx;
	size_t bytes = topic_record_encode(record, w->fanout.record_buf, DP_RECORD_BYTES_MAX);
	RTE_VERIFY(bytes > 0);
	return dp_log_append(&w->log, TOPIC_RECORD_LOG_TYPE, w->fanout.record_buf, (uint32_t)bytes,
	                     sequence_out, &w->fanout.last_position);
}

/* ---- deliveries of a topic ---- */

/*
 * Every envelope of one publish to sqs subscriptions signs the same string (Message,
 * MessageId, Subject, Timestamp, TopicArn, Type): the signature of the last string is kept,
 * so an RSA signature (about a millisecond) is made once per publish, not per subscription.
 * A keyed digest names the string (with its length and the signature's version); the key is
 * the worker's own.
 */
int dp_sign_envelope(void *ctx, unsigned version, const uint8_t *string_to_sign, size_t bytes,
                     char *out, size_t capacity, size_t *length_out)
{
	_Static_assert(TOPIC_SIGNATURE_V1 == DP_SIGN_V1_SHA1 && TOPIC_SIGNATURE_V2 == DP_SIGN_V2_SHA256,
	               "dp_sign_topic takes SNS's version numbers");
	struct dp_worker *w = ctx;
	if (w->signer == NULL)
		return -ENOKEY;
	uint64_t digest = dp_siphash(&w->receipt_key, string_to_sign, bytes);
	bool same = w->signature_bytes > 0 && w->signed_digest == digest &&
	            w->signed_bytes == bytes && w->signed_version == version;
	if (!same) {
		int rc = dp_sign_topic(w->signer, version, string_to_sign, bytes, w->signature,
		                       sizeof(w->signature), &w->signature_bytes);
		if (rc != 0) {
			w->signature_bytes = 0;
			return rc;
		}
		w->signed_digest = digest;
		w->signed_bytes = (uint32_t)bytes;
		w->signed_version = version;
	}
	if (w->signature_bytes > capacity)
		return -ENOBUFS;
	memcpy(out, w->signature, w->signature_bytes);
	*length_out = w->signature_bytes;
	return 0;
}

static const char *protocol_of(uint32_t protocol)
{
	return protocol == BB_SUBSCRIPTION_SQS ? "sqs" : "udp";
}

/* The ARN a delivery names its topic by, from configuration's account and region. */
static void topic_arn(const struct dp_topic *t, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, "arn:aws:sns:%s:%s:%.*s", BB_POLICY_REGION_DEFAULT,
	         BB_POLICY_ACCOUNT_ID_DEFAULT, (int)t->name.bytes, t->name.data);
}

/* What a subscription receives, raw or the SNS envelope, into the render buffer. */
static int render_for_subscription(struct dp_worker *w, const struct dp_snapshot *s,
                                   const struct dp_subscription *sub,
                                   const struct topic_record *record, size_t *bytes)
{
	char arn[BB_TOPIC_ARN_BYTES_MAX], unsubscribe[BB_TOPIC_URL_BYTES_MAX];
	char certificate[BB_TOPIC_URL_BYTES_MAX];
	topic_arn(&s->routing->topics[sub->topic], arn, sizeof(arn));
	snprintf(unsubscribe, sizeof(unsubscribe), "%s/?Action=Unsubscribe&SubscriptionArn=%.*s",
	         w->app->control_url, (int)sub->arn.bytes, sub->arn.data != NULL ? sub->arn.data : "");
	snprintf(certificate, sizeof(certificate), "%s/%s", w->app->control_url,
	         DP_SIGN_CERT_FILE);
	struct topic_render_options options = {
	    .protocol = protocol_of(sub->protocol),
	    .raw = (sub->flags & BB_SNAPSHOT_SUBSCRIPTION_RAW) != 0,
	    .topic_arn = arn,
	    .unsubscribe_url = unsubscribe,
	    .signing_cert_url = certificate,
	    .signature_version = (s->routing->topics[sub->topic].flags &
	                          BB_SNAPSHOT_TOPIC_SIGNATURE_V1) != 0
	                             ? TOPIC_SIGNATURE_V1
	                             : TOPIC_SIGNATURE_V2,
	    .sign = dp_sign_envelope,
	    .sign_ctx = w,
	    .scratch = w->fanout.render_scratch,
	};
	return topic_render(record, &options, w->fanout.render_buf, DP_RENDER_BYTES_MAX, bytes);
}

/* One subscription's delivery into the fan-out: 0, or why it could not be made. */
static int deliver_to_subscription(struct dp_worker *w, const struct dp_snapshot *s,
                                   const struct dp_subscription *sub,
                                   const struct topic_record *record, uint32_t pending,
                                   uint64_t after_sequence, uint64_t now_ms)
{
	size_t bytes;
	int rc = render_for_subscription(w, s, sub, record, &bytes);
	uint32_t queue = sub->queue != DP_ROUTING_NONE ? sub->queue : sub->dead_letter_queue;
	if (rc != 0 || queue == DP_ROUTING_NONE)
		return rc != 0 ? rc : -ENOENT;
	char dedup_id[BB_MESSAGE_ID_BYTES + 1];
	topic_format_message_id(record->message_id, dedup_id);
	struct dp_delivery_body body = {
	    .body = w->fanout.render_buf,
	    .body_bytes = (uint32_t)bytes,
	    .group_id = record->group_id,
	    .group_id_bytes = record->group_id_bytes,
	    /* The delivery's id is the publish's: a FIFO queue drops a repeat of it. */
	    .dedup_id = dedup_id,
	    .dedup_id_bytes = BB_MESSAGE_ID_BYTES,
	};
	struct dp_delivery_policy policy = {
	    .attempts_max = DP_SUBSCRIPTION_ATTEMPTS_MAX,
	    .dead_letter_queue = sub->queue != DP_ROUTING_NONE ? sub->dead_letter_queue
	                                                       : DP_ROUTING_NONE,
	};
	return dp_fanout_to_queue(w, pending, &s->queues[queue], &body, &policy, after_sequence,
	                          now_ms);
}

/* A udp subscription's delivery: the same body an sqs one gets, in a Deliver frame. */
static int deliver_to_udp_subscription(struct dp_worker *w, const struct dp_snapshot *s,
                                       const struct dp_subscription *sub,
                                       const struct topic_record *record, uint32_t pending,
                                       uint64_t after_sequence, uint64_t now_ms)
{
	size_t bytes;
	int rc = render_for_subscription(w, s, sub, record, &bytes);
	if (rc != 0)
		return rc;
	char arn[BB_TOPIC_ARN_BYTES_MAX], message_id[BB_MESSAGE_ID_BYTES + 1];
	topic_arn(&s->routing->topics[sub->topic], arn, sizeof(arn));
	topic_format_message_id(record->message_id, message_id);
	struct dp_udp_message message = {
	    .endpoint = sub->endpoint.data, .endpoint_bytes = sub->endpoint.bytes,
	    .source_arn = arn,
	    .subscription = sub->arn.data, .subscription_bytes = sub->arn.bytes,
	    .message_id = message_id,
	    .body = w->fanout.render_buf, .body_bytes = (uint32_t)bytes};
	struct dp_delivery_policy policy = {.attempts_max = DP_UDP_SUBSCRIPTION_ATTEMPTS_MAX,
	                                    .dead_letter_queue = sub->dead_letter_queue};
	return dp_udp_deliver(w, pending, &message, &policy, after_sequence, now_ms);
}

void dp_fanout_publish(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_topic *t,
                       const struct topic_record *record, uint64_t position,
                       uint64_t after_sequence, uint64_t now_ms)
{
	uint32_t indices[BB_TOPIC_SUBSCRIPTIONS_MAX];
	uint32_t count = topic_filter_match(t->filter, t->scratch, record, indices);
	uint32_t pending =
	    dp_fanout_begin(w, DP_FANOUT_TOPIC, t->topic_id, record->message_id, position);
	for (uint32_t i = 0; i < count; i++) {
		const struct dp_subscription *sub =
		    &s->routing->subscriptions[t->first_subscription + indices[i]];
		if (sub->protocol != BB_SUBSCRIPTION_SQS && sub->protocol != BB_SUBSCRIPTION_UDP) {
			w->stats.fanout_unsupported++; /* http(s): not delivered yet */
			continue;
		}
		int rc = sub->protocol == BB_SUBSCRIPTION_UDP
		             ? deliver_to_udp_subscription(w, s, sub, record, pending,
		                                           after_sequence, now_ms)
		             : deliver_to_subscription(w, s, sub, record, pending, after_sequence,
		                                       now_ms);
		if (rc == -ENOBUFS)
			dp_fanout_keep_record(w, pending); /* recovery delivers it again */
		else if (rc != 0)
			w->stats.fanout_failed++;
	}
	dp_fanout_end(w, pending);
}

/* ---- Publish and PublishBatch ---- */

/* The worst case of what a publish's deliveries take from the delivery pool. */
static uint32_t delivery_mbufs(const struct dp_topic *t, uint32_t message_bytes)
{
	uint32_t envelope_bytes = 6 * message_bytes + 8192;
	return t->subscription_count * (envelope_bytes / RTE_MBUF_DEFAULT_DATAROOM + 1);
}

static bool fanout_refused(struct dp_worker *w, const struct dp_topic *t, uint32_t message_bytes)
{
	return !dp_fanout_has_room(w, t->subscription_count) ||
	       rte_mempool_avail_count(w->fanout.pool) < delivery_mbufs(t, message_bytes);
}

static void publish_of(const struct dp_bytes *message, const struct dp_bytes *subject,
                       const struct dp_bytes *structure, const struct dp_bytes *group,
                       const struct dp_bytes *dedup, const struct dp_attributes *attributes,
                       struct topic_attribute *out_attributes, struct topic_publish *out)
{
	for (uint32_t i = 0; i < attributes->count && i < BB_TOPIC_ATTRIBUTES_MAX; i++) {
		const struct dp_attribute *a = &attributes->items[i];
		const struct dp_bytes *value = a->binary_value.present ? &a->binary_value
		                                                       : &a->string_value;
		out_attributes[i] = (struct topic_attribute){
		    (const char *)a->name.data, a->name.length, (const char *)a->data_type.data,
		    a->data_type.length, value->data, value->length};
	}
	*out = (struct topic_publish){
	    .message = message->data,
	    .message_bytes = message->length,
	    .subject = (const char *)subject->data,
	    .subject_bytes = subject->length,
	    .message_structure_json = structure->present,
	    .attributes = out_attributes,
	    .attribute_count = attributes->count,
	    .group_id = (const char *)group->data,
	    .group_id_bytes = group->length,
	    .dedup_id = (const char *)dedup->data,
	    .dedup_id_bytes = dedup->length,
	};
}

/* Accepts one publish and starts its deliveries; the log sequence to wait for is in out. */
static enum wire_status publish_one(struct dp_worker *w, const struct dp_snapshot *s,
                                    const struct dp_topic *t, const struct topic_publish *p,
                                    uint64_t now_ms, struct topic_accepted *out,
                                    const char **text)
{
	if (fanout_refused(w, t, p->message_bytes)) {
		w->stats.fanout_refused++;
		*text = "too many deliveries wait; retry";
		return WIRE_ERR_SERVICE_UNAVAILABLE;
	}
	w->fanout.last_position = UINT64_MAX;
	enum wire_status status = topic_publish(w->topics, t->slot, p, now_ms, out, text);
	if (status == WIRE_ERR_SERVICE_UNAVAILABLE)
		*text = dp_log_refusal(out->log_error);
	if (status != WIRE_OK || out->duplicate)
		return status;
	dp_fanout_publish(w, s, t, &out->record, w->fanout.last_position, out->log_sequence,
	                  now_ms);
	return WIRE_OK;
}

static void execute_publish(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                            const struct dp_snapshot *s, const struct dp_topic *t,
                            uint64_t now_ms)
{
	struct topic_attribute attributes[BB_TOPIC_ATTRIBUTES_MAX];
	struct topic_publish p;
	publish_of(&req->body, &req->subject, &req->message_structure, &req->group_id,
	           &req->dedup_id, &req->attributes, attributes, &p);
	struct topic_accepted accepted;
	const char *text = NULL;
	enum wire_status status = publish_one(w, s, t, &p, now_ms, &accepted, &text);
	if (status == WIRE_ERR_SERVICE_UNAVAILABLE) {
		dp_refuse_for_now(w, m, &req->header, text);
		return;
	}
	if (status != WIRE_OK) {
		dp_finish_error(w, m, &req->header, status, text);
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, accepted.message_id);
	if (accepted.sequence_number[0] != '\0')
		wire_put_str(&writer, WIRE_TAG_SEQUENCE_NUMBER, accepted.sequence_number);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, accepted.log_sequence);
}

static void execute_publish_batch(struct dp_worker *w, struct rte_mbuf *m,
                                  const struct dp_request *req, const struct dp_snapshot *s,
                                  const struct dp_topic *t, uint64_t now_ms)
{
	RTE_VERIFY(req->entry_count >= 1 && req->entry_count <= WIRE_BATCH_ENTRIES_MAX);
	uint64_t sequence = 0;
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	for (uint32_t i = 0; i < req->entry_count; i++) {
		const struct dp_batch_entry *e = &req->entries[i];
		struct topic_attribute attributes[BB_TOPIC_ATTRIBUTES_MAX];
		struct topic_publish p;
		publish_of(&e->body, &e->subject, &e->message_structure, &e->group_id, &e->dedup_id,
		           &e->attributes, attributes, &p);
		struct topic_accepted accepted;
		const char *text = NULL;
		enum wire_status status =
		    e->status != WIRE_OK ? e->status
		                         : publish_one(w, s, t, &p, now_ms, &accepted, &text);
		wire_put_bytes(&writer, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_bytes(&writer, WIRE_TAG_ENTRY_ID, e->id.data, e->id.length);
		if (status != WIRE_OK) {
			wire_put_u32(&writer, WIRE_TAG_ENTRY_STATUS, (uint32_t)status);
			continue;
		}
		wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, accepted.message_id);
		if (accepted.sequence_number[0] != '\0')
			wire_put_str(&writer, WIRE_TAG_SEQUENCE_NUMBER, accepted.sequence_number);
		sequence = RTE_MAX(sequence, accepted.log_sequence);
	}
	RTE_VERIFY(!writer.overflow);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, sequence);
}

/* ---- deliveries of a bus ---- */

/* What a target receives: the event as is for a bus (it must stay an event: input settings
 * are not applied), else its input shaped into the render buffer. */
static int target_body(struct dp_worker *w, const struct dp_bus *bus, const struct dp_rule *rule,
                       const struct bb_snapshot_target *t, const struct dp_event_view *event,
                       struct dp_delivery_body *out)
{
	*out = (struct dp_delivery_body){
	    .group_id = t->message_group_id.data,
	    .group_id_bytes = t->message_group_id.bytes,
	    .dedup_id = event->id, /* the event's id: a FIFO queue drops a repeat of it */
	    .dedup_id_bytes = BUS_EVENT_ID_CHARS,
	};
	if (t->kind == BB_TARGET_BUS) {
		out->body = (const uint8_t *)event->json;
		out->body_bytes = (uint32_t)event->bytes;
		return 0;
	}
	char name[BB_RULE_NAME_BYTES_MAX + 1], arn[BB_TOPIC_ARN_BYTES_MAX + BB_BUS_NAME_BYTES_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)rule->name.bytes, rule->name.data);
	dp_rule_arn(bus, rule, arn, sizeof(arn));
	struct bus_input input = {.kind = (enum bus_input_kind)t->input_kind,
	                          .input = {t->input.data, t->input.bytes},
	                          .paths_map = {t->input_paths_map.data, t->input_paths_map.bytes}};
	struct bus_input_context context = {name, arn, event->ingestion_ms};
	size_t bytes;
	int rc = bus_input_render(&input, &context, event->json, event->bytes,
	                          (char *)w->fanout.render_buf, DP_RENDER_BYTES_MAX, &bytes);
	out->body = w->fanout.render_buf;
	out->body_bytes = (uint32_t)bytes;
	return rc;
}

/* The target's resource, or DP_ROUTING_NONE when it cannot get the event: gone from the
 * snapshot, or a bus the event may not hop to (BUS_HOPS_MAX: it came from a bus). */
static uint32_t reachable(const struct dp_target *target, const struct dp_event_view *event)
{
	if (target->target.kind == BB_TARGET_BUS && event->hops >= BUS_HOPS_MAX)
		return DP_ROUTING_NONE;
	return target->resource;
}

/*
 * Why a target that cannot get the event has it in its dead-letter queue at once, never
 * tried: gone from the snapshot (NO_RESOURCE), or a third bus (AWS's code for an event
 * routed on to a third bus, THIRD_ACCOUNT_HOP_DETECTED, is the nearest it documents).
 */
static struct dp_dead_letter_reason unreachable_reason(const struct dp_target *target)
{
	if (target->resource == DP_ROUTING_NONE)
		return (struct dp_dead_letter_reason){"NO_RESOURCE", "The target does not exist.",
		                                      NULL, 0};
	return (struct dp_dead_letter_reason){
	    "THIRD_ACCOUNT_HOP_DETECTED",
	    "An event that came from another event bus is not routed on to a third.", NULL, 0};
}

/* A rule's udp target: its input in a Deliver frame, tried as its RetryPolicy says. */
static int deliver_to_udp_target(struct dp_worker *w, const struct dp_bus *bus,
                                 const struct dp_rule *rule, const struct dp_target *target,
                                 const struct dp_event_view *event, uint32_t pending,
                                 uint64_t after_sequence, uint64_t now_ms)
{
	const struct bb_snapshot_target *t = &target->target;
	struct dp_delivery_body body;
	int rc = target_body(w, bus, rule, t, event, &body);
	if (rc != 0)
		return rc;
	char arn[BB_TOPIC_ARN_BYTES_MAX + BB_BUS_NAME_BYTES_MAX];
	dp_rule_arn(bus, rule, arn, sizeof(arn));
	struct dp_udp_message message = {
	    .endpoint = t->resource.data, .endpoint_bytes = t->resource.bytes,
	    .source_arn = arn,
	    .subscription = t->id.data, .subscription_bytes = t->id.bytes,
	    .message_id = event->id,
	    .body = body.body, .body_bytes = body.body_bytes};
	struct dp_delivery_policy policy = {
	    .attempts_max = 1 + t->retry_attempts_max,
	    .event_age_ms_max = 1000u * (t->event_age_s_max != 0 ? t->event_age_s_max : 86400),
	    .dead_letter_queue = target->dead_letter_queue,
	};
	return dp_udp_deliver(w, pending, &message, &policy, after_sequence, now_ms);
}

/* One target's delivery: its body, then a send to its queue, a publish to its topic, or a
 * put to its bus; to its dead-letter queue at once when it cannot get it. */
static int deliver_to_target(struct dp_worker *w, const struct dp_snapshot *s,
                             const struct dp_bus *bus, const struct bus_delivery *d,
                             const struct dp_event_view *event, uint32_t pending,
                             uint64_t after_sequence, uint64_t now_ms)
{
	const struct dp_routing *r = s->routing;
	const struct dp_rule *rule = &r->rules[bus->first_rule + d->rule_index];
	const struct dp_target *target = &r->targets[rule->first_target + d->target_index];
	const struct bb_snapshot_target *t = &target->target;
	if (t->kind == BB_TARGET_UDP)
		return deliver_to_udp_target(w, bus, rule, target, event, pending, after_sequence,
		                             now_ms);
	struct dp_delivery_body body;
	int rc = target_body(w, bus, rule, t, event, &body);
	uint32_t resource = reachable(target, event);
	if (rc != 0 || (resource == DP_ROUTING_NONE && target->dead_letter_queue == DP_ROUTING_NONE))
		return rc != 0 ? rc : -ENOENT;
	struct dp_delivery_policy policy = {
	    /* busbar-control always sends the policy (AWS's default 185 when none was given):
	     * MaximumRetryAttempts 0 means one attempt and no retry, as on AWS. */
	    .attempts_max = 1 + t->retry_attempts_max,
	    .event_age_ms_max = 1000u * (t->event_age_s_max != 0 ? t->event_age_s_max : 86400),
	    .dead_letter_queue = resource != DP_ROUTING_NONE ? target->dead_letter_queue
	                                                     : DP_ROUTING_NONE,
	    .rule_id = rule->rule_id,
	    .target_index = d->target_index,
	};
	if (resource == DP_ROUTING_NONE) {
		uint8_t fields[DP_DEAD_LETTER_FIELDS_BYTES_MAX];
		struct dp_dead_letter_reason why = unreachable_reason(target);
		body.fields = fields;
		body.fields_bytes = (uint32_t)dp_dead_letter_fields(
		    s, bus->bus_id, rule->rule_id, d->target_index, &why, fields, sizeof(fields));
		return dp_fanout_to_queue(w, pending, &s->queues[target->dead_letter_queue], &body,
		                          &policy, after_sequence, now_ms);
	}
	if (t->kind == BB_TARGET_TOPIC)
		return dp_fanout_to_topic(w, pending, r, resource, &body, &policy, after_sequence,
		                          now_ms);
	if (t->kind == BB_TARGET_BUS)
		return dp_fanout_to_bus(w, pending, r, resource, &body, &policy, after_sequence,
		                        now_ms);
	return dp_fanout_to_queue(w, pending, &s->queues[resource], &body, &policy, after_sequence,
	                          now_ms);
}

void dp_fanout_event(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_bus *bus,
                     const struct dp_event_view *event, const struct bus_delivery *deliveries,
                     uint32_t count, uint64_t position, uint64_t after_sequence,
                     uint64_t now_ms)
{
	uint32_t pending =
	    dp_fanout_begin(w, DP_FANOUT_BUS, bus->bus_id, event->id_bytes, position);
	for (uint32_t i = 0; i < count; i++) {
		int rc = deliver_to_target(w, s, bus, &deliveries[i], event, pending,
		                           after_sequence, now_ms);
		if (rc == -ENOBUFS)
			dp_fanout_keep_record(w, pending); /* recovery delivers it again */
		else if (rc != 0)
			w->stats.fanout_failed++;
	}
	dp_fanout_end(w, pending);
}

/* ---- PutEvents ---- */

static void random_id(struct dp_worker *w, uint8_t out[16])
{
	struct dp_fanout *f = &w->fanout;
	if (f->random_used + 16 > sizeof(f->random_bytes)) {
		/* OpenSSL's DRBG, refilled in batches: the worker asks rarely. */
		RTE_VERIFY(RAND_bytes(f->random_bytes, sizeof(f->random_bytes)) == 1);
		f->random_used = 0;
	}
	memcpy(out, f->random_bytes + f->random_used, 16);
	f->random_used += 16;
}

static void entry_of(const struct dp_event *e, char time_text[BUS_TIME_CHARS + 1],
                     struct bus_text resources[WIRE_EVENT_RESOURCES_MAX], struct bus_entry *out)
{
	for (uint32_t i = 0; i < e->resource_count && i < WIRE_EVENT_RESOURCES_MAX; i++)
		resources[i] = (struct bus_text){(const char *)e->resources[i].data,
		                                 e->resources[i].length};
	if (e->time_ms.present)
		bus_time_format(e->time_ms.value, time_text);
	*out = (struct bus_entry){
	    .source = {(const char *)e->source.data, e->source.length},
	    .detail_type = {(const char *)e->detail_type.data, e->detail_type.length},
	    .detail = {(const char *)e->detail.data, e->detail.length},
	    .resources = resources,
	    .resource_count = e->resource_count,
	    .time = {e->time_ms.present ? time_text : NULL,
	             e->time_ms.present ? BUS_TIME_CHARS : 0},
	};
}

/* An entry that fails alone: its status, EventBridge's code and message (cut to fit). */
static void put_entry_error(struct wire_writer *writer, enum wire_status status, const char *code,
                            const char *message)
{
	char cut[PUT_EVENTS_MESSAGE_BYTES_MAX + 1];
	snprintf(cut, sizeof(cut), "%s", message != NULL ? message : "");
	wire_put_u32(writer, WIRE_TAG_ENTRY_STATUS, (uint32_t)status);
	wire_put_str(writer, WIRE_TAG_ERROR_CODE, code);
	wire_put_str(writer, WIRE_TAG_ERROR_MESSAGE, cut);
}

/*
 * What one delivery of an event takes from the delivery pool, as a rule of thumb: the event
 * or a path into it, or a template (at most BB_TARGET_INPUT_BYTES_MAX) with values out of
 * it. A transformer that writes more (a variable used many times) may find the pool empty:
 * that delivery then waits for the next start (dp_fanout_keep_record), it is not lost.
 */
static uint32_t event_mbufs(size_t event_bytes)
{
	size_t bytes = 2 * event_bytes + BB_TARGET_INPUT_BYTES_MAX + BB_WIRE_HEADER_BYTES + 512;
	return (uint32_t)(bytes / RTE_MBUF_DEFAULT_DATAROOM + 1);
}

/* Where an accepted event came from, for its record: a scheduled rule, another bus. */
struct event_origin {
	uint64_t rule_id; /* the scheduled rule that fired it, else 0 */
};

/*
 * An event made or received on its bus's owner, with the (rule, target) pairs it goes to:
 * room in the fan-out, its PUT record, its deliveries. WIRE_OK with the log sequence to
 * wait for, or WIRE_ERR_SERVICE_UNAVAILABLE (nothing was kept) with *code and *message.
 */
static enum wire_status accept_event(struct dp_worker *w, const struct dp_snapshot *s,
                                     const struct dp_bus *bus, const struct dp_event_view *event,
                                     uint32_t count, const struct event_origin *origin,
                                     uint64_t now_ms, uint64_t *sequence, const char **code,
                                     const char **message)
{
	if (!dp_fanout_has_room(w, count) ||
	    rte_mempool_avail_count(w->fanout.pool) < count * event_mbufs(event->bytes)) {
		w->stats.fanout_refused++;
		*code = "ThrottlingException";
		*message = "too many deliveries wait on this bus's worker; retry";
		return WIRE_ERR_SERVICE_UNAVAILABLE;
	}
	uint64_t position = UINT64_MAX;
	*sequence = 0;
	if (w->log.seg != NULL && (bus->flags & BB_SNAPSHOT_BUS_MEMORY) == 0) {
		struct bus_record record = {.kind = BUS_RECORD_PUT, .bus_id = bus->bus_id,
		                            .ingestion_ms = event->ingestion_ms, .event = event->json,
		                            .event_bytes = (uint32_t)event->bytes,
		                            .rule_id = origin->rule_id, .hops = event->hops};
		memcpy(record.event_id, event->id_bytes, 16);
		size_t record_bytes =
		    bus_record_encode(&record, w->fanout.record_buf, DP_RECORD_BYTES_MAX);
		RTE_VERIFY(record_bytes > 0);
		int rc = dp_log_append(&w->log, BUS_RECORD_LOG_TYPE, w->fanout.record_buf,
		                       (uint32_t)record_bytes, sequence, &position);
		if (rc != 0) {
			*code = "InternalFailure";
			*message = dp_log_refusal(rc);
			return WIRE_ERR_SERVICE_UNAVAILABLE;
		}
	}
	dp_fanout_event(w, s, bus, event, w->fanout.deliveries, count, position, *sequence,
	                now_ms);
	return WIRE_OK;
}

/* A new event of this bus in the worker's event buffer, its id drawn. */
static void make_event(struct dp_worker *w, const struct bus_entry *entry,
                       const struct bus_entry_result *result, uint64_t now_ms,
                       struct dp_event_view *event)
{
	struct bus_envelope envelope = {BB_POLICY_ACCOUNT_ID_DEFAULT, BB_POLICY_REGION_DEFAULT,
	                                NULL};
	*event = (struct dp_event_view){.json = w->fanout.event_buf, .ingestion_ms = now_ms};
	random_id(w, event->id_bytes);
	int rc = bus_event_write(entry, result, event->id_bytes, &envelope, w->fanout.event_buf,
	                         DP_EVENT_BYTES_MAX, &event->bytes);
	RTE_VERIFY(rc == 0); /* the buffer holds the largest event of an accepted entry */
	bus_event_id_format(event->id_bytes, event->id);
}

/*
 * One accepted entry: its event, its matches, its record, its deliveries. WIRE_OK with the
 * log sequence to wait for, or the entry's own failure with *code and *message.
 */
static enum wire_status put_one(struct dp_worker *w, const struct dp_snapshot *s,
                                const struct dp_bus *bus, const struct bus_entry *entry,
                                const struct bus_entry_result *result, uint64_t now_ms,
                                struct dp_event_view *event, uint64_t *sequence,
                                const char **code, const char **message)
{
	make_event(w, entry, result, now_ms, event);
	int count = bus_match(bus->rules, bus->scratch, event->json, event->bytes,
	                      w->fanout.deliveries, BUS_DELIVERIES_MAX);
	RTE_VERIFY(count >= 0); /* written by bus_event_write, at most every target once */
	struct event_origin origin = {0};
	return accept_event(w, s, bus, event, (uint32_t)count, &origin, now_ms, sequence, code,
	                    message);
}

/* ---- scheduled rules and events of other buses ---- */

/* A scheduled rule's targets, in their order: where its firings go, and only there. */
static uint32_t rule_targets(const struct dp_bus *bus, uint32_t rule_index,
                             const struct dp_rule *rule, struct bus_delivery *out)
{
	for (uint32_t i = 0; i < rule->target_count; i++)
		out[i] = (struct bus_delivery){rule->rule_id, rule_index, i};
	RTE_VERIFY(rule_index < bus->rule_count && rule->target_count <= BB_TARGETS_PER_RULE_MAX);
	return rule->target_count;
}

int dp_event_targets(const struct dp_snapshot *s, const struct dp_bus *bus,
                     const struct bus_record *record, struct bus_delivery *out)
{
	if (record->rule_id == 0)
		return bus_match(bus->rules, bus->scratch, record->event, record->event_bytes, out,
		                 BUS_DELIVERIES_MAX);
	for (uint32_t i = 0; i < bus->rule_count; i++) {
		const struct dp_rule *rule = &s->routing->rules[bus->first_rule + i];
		if (rule->rule_id == record->rule_id)
			return (int)rule_targets(bus, i, rule, out);
	}
	return 0; /* the rule was deleted since: its firing goes nowhere */
}

bool dp_fire_scheduled(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_bus *bus,
                       uint32_t rule_index, uint64_t due_ms, uint64_t now_ms)
{
	const struct dp_rule *rule = &s->routing->rules[bus->first_rule + rule_index];
	char arn[BB_TOPIC_ARN_BYTES_MAX + BB_BUS_NAME_BYTES_MAX];
	dp_rule_arn(bus, rule, arn, sizeof(arn));
	/* AWS's scheduled event: its time is the due time, its resource the rule. */
	struct bus_text resource = {arn, (uint32_t)strlen(arn)};
	struct bus_entry entry = {.source = {"aws.events", 10},
	                          .detail_type = {"Scheduled Event", 15},
	                          .detail = {"{}", 2},
	                          .resources = &resource,
	                          .resource_count = 1};
	struct bus_entry_result result = {.time_ms = due_ms};
	struct dp_event_view event;
	make_event(w, &entry, &result, now_ms, &event);
	uint32_t count = rule_targets(bus, rule_index, rule, w->fanout.deliveries);
	struct event_origin origin = {.rule_id = rule->rule_id};
	uint64_t sequence;
	const char *code, *message;
	return accept_event(w, s, bus, &event, count, &origin, now_ms, &sequence, &code,
	                    &message) == WIRE_OK;
}

/*
 * An event another bus's rule sends here (dp_fanout_to_bus): the event as it is, its id
 * kept, matched against this bus's rules and logged here with one hop made, so none of
 * its deliveries goes on to another bus (BUS_HOPS_MAX). Answered to the sending worker once
 * its record is durable; refused for now (retried there) when the fan-out is full.
 */
_Static_assert(BUS_HOPS_MAX == 1, "the request carries no hop count: a received event made one");
static void execute_forwarded_event(struct dp_worker *w, struct rte_mbuf *m,
                                    const struct dp_request *req, const struct dp_snapshot *s,
                                    const struct dp_bus *bus, uint64_t now_ms)
{
	struct dp_event_view event = {.json = (const char *)req->body.data,
	                              .bytes = req->body.length,
	                              .ingestion_ms = now_ms,
	                              .hops = 1};
	int count = -EINVAL;
	if (bus_event_id_of(event.json, event.bytes, event.id_bytes) == 0)
		count = bus_match(bus->rules, bus->scratch, event.json, event.bytes,
		                  w->fanout.deliveries, BUS_DELIVERIES_MAX);
	if (count < 0) { /* busbard made it: not an event is a defect, never retried */
		dp_finish_error(w, m, &req->header, WIRE_ERR_MALFORMED, "not an event");
		return;
	}
	bus_event_id_format(event.id_bytes, event.id);
	struct event_origin origin = {0};
	uint64_t sequence;
	const char *code, *message;
	if (accept_event(w, s, bus, &event, (uint32_t)count, &origin, now_ms, &sequence, &code,
	                 &message) != WIRE_OK) {
		dp_refuse_for_now(w, m, &req->header, message);
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, sequence);
}

static void execute_put_events(struct dp_worker *w, struct rte_mbuf *m,
                               const struct dp_request *req, const struct dp_snapshot *s,
                               const struct dp_bus *bus, uint64_t now_ms)
{
	struct bus_entry entries[WIRE_BATCH_ENTRIES_MAX];
	struct bus_entry_result results[WIRE_BATCH_ENTRIES_MAX];
	char times[WIRE_BATCH_ENTRIES_MAX][BUS_TIME_CHARS + 1];
	struct bus_text resources[WIRE_BATCH_ENTRIES_MAX][WIRE_EVENT_RESOURCES_MAX];
	for (uint32_t i = 0; i < req->entry_count; i++)
		entry_of(&req->events[i], times[i], resources[i], &entries[i]);
	uint32_t failed = 0;
	struct bus_request_error error;
	if (bus_put_check(entries, req->entry_count, now_ms, results, &failed, &error) != 0) {
		dp_finish_error(w, m, &req->header, WIRE_ERR_EVENTS_VALIDATION, error.message);
		return;
	}
	uint64_t sequence = 0;
	failed = 0;
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	for (uint32_t i = 0; i < req->entry_count; i++) {
		const char *code = results[i].error_code, *message = results[i].error_message;
		enum wire_status status = req->events[i].status != WIRE_OK ? req->events[i].status
		                          : code != NULL ? WIRE_ERR_EVENTS_INVALID_ARGUMENT
		                                         : WIRE_OK;
		if (req->events[i].status != WIRE_OK) {
			code = wire_status_name(status);
			message = req->events[i].error;
		}
		struct dp_event_view event;
		uint64_t entry_sequence = 0;
		if (status == WIRE_OK)
			status = put_one(w, s, bus, &entries[i], &results[i], now_ms, &event,
			                 &entry_sequence, &code, &message);
		wire_put_bytes(&writer, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		if (status != WIRE_OK) {
			put_entry_error(&writer, status, code, message);
			failed++;
			continue;
		}
		wire_put_str(&writer, WIRE_TAG_EVENT_ID, event.id);
		sequence = RTE_MAX(sequence, entry_sequence);
	}
	wire_put_u32(&writer, WIRE_TAG_FAILED_ENTRY_COUNT, failed);
	RTE_VERIFY(!writer.overflow);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, sequence);
}

/* ---- entry ---- */

void dp_execute_routing(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                        uint64_t now_ms)
{
	const struct dp_snapshot *s = atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	if (req->header.opcode == WIRE_OP_PUT_EVENTS) {
		const struct dp_bus *bus = bus_now(s, m, req);
		if (bus == NULL || bus->owner != w->index) {
			dp_finish_error(w, m, &req->header, WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND,
			                "Event bus does not exist.");
			return;
		}
		if (!req->body.present)
			execute_put_events(w, m, req, s, bus, now_ms);
		else if (dp_meta(m)->source == DP_SOURCE_INTERNAL)
			execute_forwarded_event(w, m, req, s, bus, now_ms);
		else /* the form a bus target sends is busbard's own */
			dp_finish_error(w, m, &req->header, WIRE_ERR_EVENTS_VALIDATION,
			                "Entries must have 1 to 10 members");
		return;
	}
	const struct dp_topic *t = topic_now(s, m, req);
	if (t == NULL || t->owner != w->index) {
		dp_finish_error(w, m, &req->header, WIRE_ERR_SNS_NOT_FOUND, "Topic does not exist");
		return;
	}
	if (req->header.opcode == WIRE_OP_PUBLISH_BATCH)
		execute_publish_batch(w, m, req, s, t, now_ms);
	else
		execute_publish(w, m, req, s, t, now_ms);
}

/*
 * Recovery of a worker's topics and buses from its log: while the log is replayed (main
 * thread, before the lcore runs), each PUBLISH or PUT record is kept (copied) until its DONE
 * record says its deliveries were durable; a DONE releases both. What is left was accepted
 * and acknowledged but maybe not delivered: the worker fans it out again in its first
 * passes, as far as its outbox has room each pass (at least once: a target may get a
 * delivery twice, never none). Records of a topic or bus the snapshot no longer has are
 * released; those of one another worker owns now refuse the start (the worker count
 * changed), as for queues. A done event of a bus with an archive keeps its PUT record for
 * the archive's retention from its ingestion (dp_archive.h).
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus_record.h"

/* What identifies a record's publish or event: kind, resource and id. */
struct record_key {
	uint16_t type;
	uint64_t resource_id;
	uint8_t id[16];
	bool done; /* a DONE record */
};

static int key_of(const struct seg_record_view *view, struct record_key *out)
{
	*out = (struct record_key){.type = view->type};
	if (view->type == TOPIC_RECORD_LOG_TYPE) {
		struct topic_record r;
		if (topic_record_decode(view->payload, view->payload_bytes, &r) != 0)
			return -EBADMSG;
		out->resource_id = r.topic_id;
		memcpy(out->id, r.message_id, 16);
		out->done = r.kind == TOPIC_RECORD_DONE;
		return 0;
	}
	struct bus_record r;
	if (view->type != BUS_RECORD_LOG_TYPE ||
	    bus_record_decode(view->payload, view->payload_bytes, &r) != 0)
		return -EBADMSG;
	out->resource_id = r.bus_id;
	memcpy(out->id, r.event_id, 16);
	out->done = r.kind == BUS_RECORD_DONE;
	return 0;
}

/* The owner of the record's topic or bus in the snapshot; UINT32_MAX when it has none. */
static uint32_t owner_of_record(const struct dp_snapshot *s, const struct record_key *k)
{
	const struct dp_routing *r = s == NULL ? NULL : s->routing;
	for (uint32_t i = 0; r != NULL && k->type == TOPIC_RECORD_LOG_TYPE && i < r->topic_count;
	     i++) {
		if (r->topics[i].topic_id == k->resource_id)
			return r->topics[i].owner;
	}
	for (uint32_t i = 0; r != NULL && k->type == BUS_RECORD_LOG_TYPE && i < r->bus_count; i++) {
		if (r->buses[i].bus_id == k->resource_id)
			return r->buses[i].owner;
	}
	return UINT32_MAX;
}

static int keep(struct dp_recovery *rec, const struct seg_record_view *view,
                const struct record_key *k)
{
	if (rec->count == rec->capacity) {
		uint32_t capacity = rec->capacity == 0 ? 64 : 2 * rec->capacity;
		struct dp_recovered *more = realloc(rec->items, capacity * sizeof(*more));
		if (more == NULL)
			return -ENOMEM;
		rec->items = more;
		rec->capacity = capacity;
	}
	uint8_t *copy = malloc(view->payload_bytes);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, view->payload, view->payload_bytes);
	rec->items[rec->count++] = (struct dp_recovered){.type = k->type,
	                                                 .resource_id = k->resource_id,
	                                                 .position = view->position,
	                                                 .payload = copy,
	                                                 .payload_bytes = view->payload_bytes};
	memcpy(rec->items[rec->count - 1].id, k->id, 16);
	return 0;
}

/* A done event of a bus with an archive: its PUT record stays, kept from its ingestion (the
 * worker's passes release it when that is past the retention). */
static bool archived(struct dp_worker *w, const struct dp_snapshot *s,
                     const struct dp_recovered *item)
{
	struct bus_record r;
	if (item->type != BUS_RECORD_LOG_TYPE)
		return false;
	RTE_VERIFY(bus_record_decode(item->payload, item->payload_bytes, &r) == 0);
	if (s != NULL && !dp_archive_has(s, r.bus_id))
		return false; /* without a snapshot nothing says the archive is gone: kept */
	dp_archive_keep(w, r.bus_id, item->position, r.ingestion_ms);
	return true;
}

/* A DONE: its publish needs nothing more; both records go (an archived event's PUT stays). */
static void forget(struct dp_worker *w, const struct dp_snapshot *s, const struct record_key *k,
                   uint64_t done_position)
{
	struct dp_recovery *rec = &w->fanout.recovery;
	for (uint32_t i = rec->count; i-- > 0;) {
		struct dp_recovered *item = &rec->items[i];
		if (item->payload == NULL || item->type != k->type ||
		    item->resource_id != k->resource_id || memcmp(item->id, k->id, 16) != 0)
			continue;
		if (!archived(w, s, item))
			dp_log_release(&w->log, item->position);
		free(item->payload);
		item->payload = NULL;
		break;
	}
	dp_log_release(&w->log, done_position);
}

int dp_replay_record(void *ctx, const struct seg_record_view *view, char *why, size_t why_bytes)
{
	struct dp_worker *w = ctx;
	const struct dp_snapshot *s = atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	struct record_key k;
	if (key_of(view, &k) != 0) {
		snprintf(why, why_bytes, "record %llu at position %llu is not a queue, topic or bus "
		         "record", (unsigned long long)view->sequence,
		         (unsigned long long)view->position);
		return -EBADMSG;
	}
	if (k.done) {
		forget(w, s, &k, view->position);
		return 0;
	}
	uint32_t owner = owner_of_record(s, &k);
	if (owner == UINT32_MAX && s != NULL) {
		dp_log_release(&w->log, view->position); /* ids are never reused: it was deleted */
		return 0;
	}
	if (owner != UINT32_MAX && owner != w->index) {
		snprintf(why, why_bytes, "the log holds publishes of a topic or bus worker %u owns "
		         "now: the logs were written with another number of workers", owner);
		return -EXDEV;
	}
	if (k.type == TOPIC_RECORD_LOG_TYPE && s != NULL) {
		struct topic_record r;
		RTE_VERIFY(topic_record_decode(view->payload, view->payload_bytes, &r) == 0);
		const struct dp_topic *t = NULL;
		for (uint32_t i = 0; i < s->routing->topic_count; i++)
			t = s->routing->topics[i].topic_id == r.topic_id ? &s->routing->topics[i] : t;
		/* FIFO sequence numbers and deduplication windows come back. */
		if (topic_replay_record(w->topics, t->slot, &r, dp_now_ms(w->app, rte_rdtsc())) !=
		    WIRE_OK) {
			snprintf(why, why_bytes, "the log holds more FIFO deduplication ids than a "
			         "worker keeps");
			return -ENOSPC;
		}
	}
	return keep(&w->fanout.recovery, view, &k) == 0 ? 0 : -ENOMEM;
}

/* ---- delivering what recovery kept, on the worker ---- */

static bool redeliver_publish(struct dp_worker *w, const struct dp_snapshot *s,
                              const struct dp_recovered *item, uint64_t now_ms)
{
	struct topic_record r;
	RTE_VERIFY(topic_record_decode(item->payload, item->payload_bytes, &r) == 0);
	const struct dp_topic *t = NULL;
	for (uint32_t i = 0; s->routing != NULL && i < s->routing->topic_count; i++)
		t = s->routing->topics[i].topic_id == r.topic_id ? &s->routing->topics[i] : t;
	if (t == NULL)
		return true; /* deleted since: nothing to deliver to */
	if (!dp_fanout_has_room(w, t->subscription_count))
		return false;
	dp_fanout_publish(w, s, t, &r, item->position, 0, now_ms);
	return true;
}

static bool redeliver_event(struct dp_worker *w, const struct dp_snapshot *s,
                            const struct dp_recovered *item, uint64_t now_ms)
{
	struct bus_record r;
	RTE_VERIFY(bus_record_decode(item->payload, item->payload_bytes, &r) == 0);
	const struct dp_bus *bus = NULL;
	for (uint32_t i = 0; s->routing != NULL && i < s->routing->bus_count; i++)
		bus = s->routing->buses[i].bus_id == r.bus_id ? &s->routing->buses[i] : bus;
	if (bus == NULL)
		return true;
	/* A scheduled rule's firing goes to that rule's targets again, an event to its matches. */
	int count = dp_event_targets(s, bus, &r, w->fanout.deliveries);
	RTE_VERIFY(count >= 0); /* the event was written by bus_event_write */
	if (!dp_fanout_has_room(w, (uint32_t)count))
		return false;
	struct dp_event_view event = {.json = r.event, .bytes = r.event_bytes,
	                              .ingestion_ms = r.ingestion_ms, .hops = r.hops};
	memcpy(event.id_bytes, r.event_id, 16);
	bus_event_id_format(r.event_id, event.id);
	dp_fanout_event(w, s, bus, &event, w->fanout.deliveries, (uint32_t)count, item->position,
	                0, now_ms);
	return true;
}

void dp_replay_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms)
{
	struct dp_recovery *rec = &w->fanout.recovery;
	while (s != NULL && rec->next < rec->count) {
		const struct dp_recovered *item = &rec->items[rec->next];
		bool went = item->payload == NULL ||
		            (item->type == TOPIC_RECORD_LOG_TYPE ? redeliver_publish(w, s, item, now_ms)
		                                                 : redeliver_event(w, s, item, now_ms));
		if (!went)
			return; /* the outbox is full: the next pass goes on */
		if (item->payload != NULL)
			w->stats.fanout_recovered++;
		rec->next++;
	}
}

void dp_replay_free(struct dp_recovery *rec)
{
	for (uint32_t i = 0; i < rec->count; i++)
		free(rec->items[i].payload);
	free(rec->items);
	*rec = (struct dp_recovery){0};
}

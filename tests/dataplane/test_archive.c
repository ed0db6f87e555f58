/*
 * EventBridge archives on a durable worker (packet harness, the log on storage's simulator,
 * the harness's clock). Proves that an event of a bus with an archive keeps its PUT record
 * once delivered, for the archive's retention and no longer, while an event of a bus without
 * one is released at once; that the kept record outlives a restart (recovery finds it with
 * its DONE and keeps it again, from its ingestion time); and that it goes once the archive
 * does (a snapshot without it).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "bb_snapshot.h"
#include "dp_fanout.h"
#include "packet_harness.h"
#include "seg_io_sim.h"

#define LOG_DIR       "/sim/busbar-archive"
#define SEGMENT_BYTES (2u << 20)
#define PASSES_MAX    32u
#define ENTRIES_MAX   16u
#define ARCHIVED_BUS  201u
#define PLAIN_BUS     202u
#define MINUTE_MS     60000ull

static struct seg_io *io;
static struct replies replies;
static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 14];
static struct dp_snapshot snapshots[4];
static uint32_t snapshot_count;

static struct bb_text text(const char *s)
{
	return (struct bb_text){s, s != NULL ? (uint32_t)strlen(s) : 0};
}

static void add(struct bb_snapshot_entry e)
{
	cr_assert_lt(entry_count, ENTRIES_MAX);
	entries[entry_count++] = e;
}

static void queue(const char *name, uint64_t id)
{
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(name), .queue_id = id,
	              .visibility_timeout_s = 30, .maximum_message_bytes = 262144}};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	add(e);
}

/* A bus with a rule on source shop to the queue "events"; archived for days (flags). */
static void bus(const char *name, uint64_t id, uint32_t flags, uint32_t days)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_BUS,
	    .bus = {.name = text(name), .bus_id = id, .flags = flags, .archive_days = days}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_RULE,
	    .rule = {.rule_id = id + 100, .bus_id = id, .name = text("r"),
	             .flags = BB_SNAPSHOT_RULE_ENABLED, .pattern = text("{\"source\":[\"shop\"]}")}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TARGET,
	    .target = {.rule_id = id + 100, .id = text("q"), .kind = BB_TARGET_QUEUE,
	               .resource = text("events"), .retry_attempts_max = 185}});
}

/* The buses "shop" (archived for days, when archived) and "plain" (never), published as
 * the service thread would; the worker applies it at its next input (recovery reads it). */
static void publish_snapshot(bool archived, uint32_t days)
{
	entry_count = 0;
	queue(TEST_QUEUE, 7);
	queue("events", 8);
	bus("shop", ARCHIVED_BUS, archived ? BB_SNAPSHOT_BUS_ARCHIVED : 0, days);
	bus("plain", PLAIN_BUS, 0, 0);
	cr_assert_lt(snapshot_count, sizeof(snapshots) / sizeof(snapshots[0]));
	struct dp_snapshot *s = &snapshots[snapshot_count++];
	const struct dp_snapshot *previous = atomic_load(&h.app.snapshot);
	struct bb_snapshot_header header = {.version = previous->version + 1};
	size_t bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, entry_count, snapshot_body,
	                                sizeof(snapshot_body), &bytes), 0);
	char error[256];
	cr_assert_eq(dp_snapshot_parse(snapshot_body, bytes, s, error, sizeof(error)), WIRE_OK,
	             "%s", error);
	cr_assert_eq(dp_snapshot_assign(s, previous, 1), 0);
	s->generation = previous->generation + 1;
	atomic_store(&h.app.snapshot, s);
}

static void recover(void)
{
	struct dp_worker_log_options options = {
	    .dir = LOG_DIR, .segment_bytes = SEGMENT_BYTES, .io = io};
	char why[256];
	int rc = dp_worker_recover(h.worker, &options, why, sizeof(why));
	cr_assert_eq(rc, 0, "recover: %d %s", rc, why);
}

static void setup(void)
{
	harness_setup();
	struct seg_io_sim_faults none = {.seed = 21};
	io = seg_io_sim_create(&none);
	cr_assert_not_null(io);
	publish_snapshot(true, 1);
	recover();
	harness_input(NULL, 0);
}

static void teardown(void)
{
	harness_teardown();
	io->ops->destroy(io);
	for (uint32_t i = 0; i < snapshot_count; i++)
		dp_snapshot_release(&snapshots[i]);
}

TestSuite(archive, .init = setup, .fini = teardown, .timeout = 120);

/* The process ends (the log closes) and a new worker starts on the same disk. */
static void restart_worker(void)
{
	harness_flush_tx();
	struct dp_tx capture = h.worker->tx;
	dp_worker_destroy(h.worker);
	struct dp_worker_options options = {.index = 0, .store_mbufs = 4095, .socket_id = 0};
	int rc;
	h.worker = dp_worker_create(&h.app, &options, &rc);
	cr_assert_not_null(h.worker, "worker: %d", rc);
	h.app.workers[0] = h.worker;
	h.worker->tx.flush = capture.flush;
	h.worker->tx.context = capture.context;
}

/* One event on the bus, answered once its PUT record is durable, then delivered (DONE). */
static void put_event(const char *bus_name, uint64_t request_id)
{
	static struct request r;
	request_begin(&r, WIRE_OP_PUT_EVENTS, request_id);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, bus_name);
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_EVENT_SOURCE, "shop");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL_TYPE, "OrderPlaced");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL, "{\"id\":1}");
	struct rte_mbuf *m = frame_udp(r.bytes, request_finish(&r));
	harness_input(&m, 1);
	take_replies(&replies);
	for (uint32_t i = 0; i < PASSES_MAX && replies.udp_datagrams == 0; i++) {
		harness_advance_ms(1);
		take_replies(&replies);
	}
	cr_assert_eq(replies.udp_datagrams, 1, "answered once durable");
	cr_assert_eq(replies.header.status, WIRE_OK);
	uint64_t done = h.worker->stats.fanout_done;
	for (uint32_t i = 0; i < PASSES_MAX && h.worker->stats.fanout_done == done; i++)
		harness_advance_ms(1);
	cr_assert_eq(h.worker->stats.fanout_done, done + 1, "delivered and done");
	harness_advance_ms(1); /* the pass that stamps what was kept */
}

static uint32_t kept(void)
{
	return h.worker->fanout.archive.count;
}

Test(archive, an_archived_bus_keeps_its_events_for_the_retention_and_no_longer)
{
	put_event("shop", 1);
	cr_assert_eq(kept(), 1, "the PUT record stays for the archive");
	cr_assert_eq(h.worker->stats.archive_kept, 1);
	put_event("plain", 2);
	cr_assert_eq(kept(), 1, "a bus without an archive releases its records");

	harness_advance_ms(DP_ARCHIVE_DAY_MS - MINUTE_MS);
	cr_assert_eq(kept(), 1, "a day's retention is not up yet");
	harness_advance_ms(2 * MINUTE_MS);
	cr_assert_eq(kept(), 0, "released once its day is up");
	cr_assert_eq(h.worker->stats.archive_released, 1);
}

Test(archive, retention_zero_keeps_for_ever)
{
	publish_snapshot(true, 0);
	harness_input(NULL, 0);
	put_event("shop", 1);
	harness_advance_ms(400 * DP_ARCHIVE_DAY_MS);
	cr_assert_eq(kept(), 1);
}

Test(archive, a_kept_event_outlives_a_restart_and_goes_with_its_archive)
{
	put_event("shop", 1);
	cr_assert_eq(kept(), 1);
	restart_worker();
	recover();
	harness_input(NULL, 0);
	cr_assert_eq(kept(), 1, "recovery found the PUT with its DONE and kept it again");
	cr_assert_eq(h.worker->fanout.recovery.next, h.worker->fanout.recovery.count);
	harness_advance_ms(1);
	cr_assert_eq(h.worker->stats.fanout_recovered, 0, "done: not delivered again");

	publish_snapshot(false, 0); /* DeleteArchive */
	harness_input(NULL, 0);
	cr_assert_eq(kept(), 0, "the archive is gone: so is its record");
	cr_assert_eq(h.worker->stats.archive_released, 1);
}

/* A queue's messages between two purges: it holds 4 with tiny limits. */
#ifndef BB_TINY_LIMITS
#define CHURN_SENDS_PER_PURGE 99u
#else
#define CHURN_SENDS_PER_PURGE 3u
#endif

/* One request over the local socket, answered once durable: OK. */
static void local_ok(struct request *r, uint64_t id)
{
	harness_local_request(r, 1);
	uint32_t connection;
	bool answered = take_local_reply(&replies, &connection);
	for (uint32_t i = 0; i < PASSES_MAX && !answered; i++) {
		harness_advance_ms(1);
		answered = take_local_reply(&replies, &connection);
	}
	cr_assert(answered);
	cr_assert_eq(replies.header.status, WIRE_OK, "request %lu", (unsigned long)id);
}

/* Sends segments' worth of large bodies to TEST_QUEUE over the local socket, purging them. */
static void churn(uint32_t segments)
{
	static struct request r;
	static char body[8192];
	memset(body, 'c', sizeof(body) - 1);
	uint64_t sends = (uint64_t)segments * SEGMENT_BYTES / (sizeof(body) - 1), id = 1000;
	for (uint64_t sent = 0; sent < sends; sent++) {
		request_begin(&r, WIRE_OP_SEND_MESSAGE, id);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
		wire_put_str(&r.fields, WIRE_TAG_BODY, body);
		local_ok(&r, id++);
		if ((sent + 1) % CHURN_SENDS_PER_PURGE != 0)
			continue;
		harness_advance_ms(MINUTE_MS + 1000); /* a queue takes one purge a minute */
		request_begin(&r, WIRE_OP_PURGE_QUEUE, id);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
		local_ok(&r, id++);
	}
}

/*
 * A kept record keeps its segment, and every later one (segments leave the disk oldest
 * first), the queues' records included: one event archived for ever must not fill the
 * worker's disk. Past DP_ARCHIVE_LOG_SEGMENTS_MAX segments it is released early.
 */
Test(archive, an_archive_keeps_no_more_than_its_share_of_the_log)
{
	publish_snapshot(true, 0);
	harness_input(NULL, 0);
	put_event("shop", 1);
	cr_assert_eq(kept(), 1);
	churn(DP_ARCHIVE_LOG_SEGMENTS_MAX + 2);
	for (uint32_t i = 0; i < PASSES_MAX; i++)
		harness_advance_ms(1);
	cr_assert_eq(kept(), 0, "released early");
	cr_assert_eq(h.worker->stats.archive_evicted, 1);
	cr_assert_leq(seg_segment_count(h.worker->log.seg), DP_ARCHIVE_LOG_SEGMENTS_MAX,
	              "the dead segments behind it went: %u", seg_segment_count(h.worker->log.seg));
}

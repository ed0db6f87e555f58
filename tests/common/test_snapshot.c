/*
 * The snapshot codec that busbar-control writes and busbard reads: a round
 * trip keeps every field and kind, format 1 bodies (no FORMAT field) still
 * decode, and both directions refuse what does not fit (too many queues, bad
 * entries, other formats) with a reason instead of cutting or guessing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_snapshot.h"

#define ENTRIES_MAX (BB_QUEUE_COUNT_MAX + 1)

static struct bb_snapshot_entry decoded[ENTRIES_MAX];
static uint32_t decoded_count;
static char error[256];

static void collect(void *context, const struct bb_snapshot_entry *entry)
{
	cr_assert_lt(decoded_count, ENTRIES_MAX);
	decoded[decoded_count++] = *entry;
}

static enum wire_status decode(const uint8_t *body, size_t bytes, struct bb_snapshot_header *h)
{
	decoded_count = 0;
	return bb_snapshot_decode(body, bytes, h, collect, NULL, error, sizeof(error));
}

static struct bb_snapshot_entry queue(const char *name, uint64_t id)
{
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(name),
	              .queue_id = id,
	              .visibility_timeout_s = 45,
	              .receive_wait_time_s = 20,
	              .maximum_message_bytes = 2048},
	};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	return e;
}

Test(snapshot_codec, round_trip_keeps_every_field)
{
	struct bb_snapshot_entry entries[] = {queue("alpha", 11), queue("beta", 12)};
	struct bb_snapshot_header header = {.version = 5};
	uint8_t buf[1024];
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, entries, 2, buf, sizeof(buf), &n), 0);
	cr_assert_leq(n, bb_snapshot_bytes_max(2), "the size bound holds");
	struct bb_snapshot_header back;
	cr_assert_eq(decode(buf, n, &back), WIRE_OK, "%s", error);
	cr_assert_eq(back.format, BB_SNAPSHOT_FORMAT);
	cr_assert_eq(back.version, 5);
	cr_assert_eq(decoded_count, 2);
	cr_assert_eq(memcmp(&decoded[1], &entries[1], sizeof(entries[1])), 0);
	cr_assert_eq(decoded[0].kind, BB_SNAPSHOT_KIND_QUEUE);
	cr_assert_str_eq(decoded[0].queue.name, "alpha");
}

Test(snapshot_codec, format_one_still_decodes_and_unknown_formats_are_refused)
{
	uint8_t buf[256];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 3);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "old");
	wire_put_u64(&w, WIRE_TAG_QUEUE_ID, 1);
	wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
	wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 262144);
	struct bb_snapshot_header h;
	cr_assert_eq(decode(buf, w.length, &h), WIRE_OK, "%s", error);
	cr_assert_eq(h.format, 1);
	cr_assert_eq(h.version, 3);
	cr_assert_eq(decoded_count, 1);

	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_u32(&w, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT + 1);
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 3);
	cr_assert_eq(decode(buf, w.length, &h), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_not_null(strstr(error, "format"), "%s", error);
}

Test(snapshot_codec, bad_bodies_are_refused_with_a_reason)
{
	struct bb_snapshot_entry e = queue("ok", 1);
	struct bb_snapshot_header header = {.version = 1};
	uint8_t buf[256];
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, &e, 1, buf, sizeof(buf), &n), 0);
	struct bb_snapshot_header h;
	cr_assert_neq(decode(buf, n - 1, &h), WIRE_OK, "truncated");
	cr_assert_neq(decode(buf, 0, &h), WIRE_OK, "no version");
	cr_assert_not_null(strstr(error, "version"), "%s", error);
	cr_assert_eq(bb_snapshot_encode(&header, &e, 1, buf, n - 1, &n), -ENOBUFS);

	struct bb_snapshot_entry bad = queue("has space", 1);
	cr_assert_eq(bb_snapshot_encode(&header, &bad, 1, buf, sizeof(buf), &n), -EINVAL,
	             "what busbard would refuse is never sent");
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 1);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "has space");
	cr_assert_eq(decode(buf, w.length, &h), WIRE_ERR_INVALID_PARAMETER);
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 1);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "incomplete");
	cr_assert_eq(decode(buf, w.length, &h), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_not_null(strstr(error, "incomplete"), "%s", error);
	cr_assert_eq(decoded_count, 0, "no entry is handed over before it is whole");
}

Test(snapshot_codec, more_queues_than_the_limit_are_refused_never_cut)
{
	static struct bb_snapshot_entry entries[ENTRIES_MAX];
	for (uint32_t i = 0; i < ENTRIES_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "q%u", i);
		entries[i] = queue(name, i + 1);
	}
	struct bb_snapshot_header header = {.version = 1};
	size_t capacity = bb_snapshot_bytes_max(ENTRIES_MAX);
	uint8_t *buf = malloc(capacity);
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, entries, BB_QUEUE_COUNT_MAX, buf, capacity, &n),
	             0);
	struct bb_snapshot_header h;
	cr_assert_eq(decode(buf, n, &h), WIRE_OK, "%s", error);
	cr_assert_eq(decoded_count, BB_QUEUE_COUNT_MAX);
	cr_assert_eq(bb_snapshot_encode(&header, entries, ENTRIES_MAX, buf, capacity, &n), -E2BIG);

	/* A body with one queue too many, as a buggy or hostile writer might send. */
	struct wire_writer w;
	wire_writer_init(&w, buf, capacity);
	wire_put_u32(&w, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT);
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 1);
	for (uint32_t i = 0; i < ENTRIES_MAX; i++) {
		wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
		wire_put_bytes(&w, WIRE_TAG_QUEUE_NAME, entries[i].queue.name,
		               entries[i].queue.name_bytes);
		wire_put_u64(&w, WIRE_TAG_QUEUE_ID, entries[i].queue.queue_id);
		wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
		wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0);
		wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 262144);
	}
	cr_assert_not(w.overflow);
	cr_assert_eq(decode(buf, w.length, &h), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_not_null(strstr(error, "too many"), "%s", error);
	free(buf);
}

static struct bb_snapshot_header header_of(uint8_t store, uint64_t version, bool adopt)
{
	struct bb_snapshot_header h = {
	    .format = BB_SNAPSHOT_FORMAT, .version = version, .adopt = adopt};
	memset(h.store_id, store, sizeof(h.store_id));
	return h;
}

Test(snapshot_codec, store_id_and_adopt_travel)
{
	struct bb_snapshot_entry e = queue("q", 1);
	struct bb_snapshot_header header = header_of(0xab, 7, true);
	uint8_t buf[256];
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, &e, 1, buf, sizeof(buf), &n), 0);
	struct bb_snapshot_header back;
	cr_assert_eq(decode(buf, n, &back), WIRE_OK, "%s", error);
	/* Field by field: memcmp would compare the struct's padding too, which clang leaves. */
	cr_assert_eq(back.format, header.format);
	cr_assert_eq(memcmp(back.store_id, header.store_id, sizeof(back.store_id)), 0);
	cr_assert_eq(back.version, header.version);
	cr_assert(back.adopt);
	header.adopt = false;
	cr_assert_eq(bb_snapshot_encode(&header, &e, 1, buf, sizeof(buf), &n), 0);
	cr_assert_eq(decode(buf, n, &back), WIRE_OK, "%s", error);
	cr_assert_not(back.adopt);
}

/*
 * Issue 10, defect 6: busbard refused a fresh control database forever, and
 * would have had to take any store's snapshot of a high enough version. Now
 * the store decides first: another store only with ADOPT, the same store never
 * backwards (its sender renumbers instead).
 */
Test(snapshot_codec, busbard_takes_its_own_store_forward_and_another_only_when_adopting)
{
	struct bb_snapshot_header applied = header_of(1, 95, false);
	struct bb_snapshot_header h;
	h = header_of(1, 96, false);
	cr_assert_eq(bb_snapshot_decide(NULL, &h), BB_SNAPSHOT_ACCEPT, "nothing applied yet");
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_ACCEPT);
	h = header_of(1, 95, false);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_ACCEPT, "the same again");
	h = header_of(1, 94, false);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_REFUSE_OLDER);
	h = header_of(1, 94, true);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_REFUSE_OLDER,
	             "adopting renumbers; versions of one store never go back");
	h = header_of(2, 1, false);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_REFUSE_OTHER_STORE,
	             "a fresh database");
	h = header_of(2, 500, false);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_REFUSE_OTHER_STORE,
	             "a high version does not make another store ours");
	h = header_of(2, 1, true);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_ACCEPT, "adopted");
	h = header_of(0, 100, false);
	cr_assert_eq(bb_snapshot_decide(&applied, &h), BB_SNAPSHOT_REFUSE_OTHER_STORE,
	             "a store without identity is not ours");
	struct bb_snapshot_header legacy = header_of(0, 95, false);
	h = header_of(2, 95, false);
	cr_assert_eq(bb_snapshot_decide(&legacy, &h), BB_SNAPSHOT_ACCEPT,
	             "a snapshot stored before stores had ids takes its store's next one");
	h = header_of(2, 1, false);
	cr_assert_eq(bb_snapshot_decide(&legacy, &h), BB_SNAPSHOT_REFUSE_OLDER);
}

Test(snapshot_codec, a_refusal_reaches_the_sender_with_what_busbard_runs)
{
	struct bb_snapshot_refusal refusal = {.verdict = BB_SNAPSHOT_REFUSE_OTHER_STORE,
	                                      .version = 95};
	memset(refusal.store_id, 1, sizeof(refusal.store_id));
	uint8_t buf[256];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_str(&w, WIRE_TAG_ERROR_MESSAGE, "why");
	bb_snapshot_put_refusal(&w, &refusal);
	struct bb_snapshot_refusal back;
	cr_assert(bb_snapshot_read_refusal(buf, w.length, &back));
	cr_assert_eq(back.verdict, refusal.verdict);
	cr_assert_eq(memcmp(back.store_id, refusal.store_id, sizeof(back.store_id)), 0);
	cr_assert_eq(back.version, refusal.version);
	cr_assert_not(bb_snapshot_read_refusal(buf, 9, &back), "only a message: no refusal");

	struct bb_snapshot_header offered = header_of(2, 1, false);
	char text[512];
	bb_snapshot_describe_refusal(&refusal, &offered, text, sizeof(text));
	cr_assert_not_null(strstr(text, "01010101010101010101010101010101"), "%s", text);
	cr_assert_not_null(strstr(text, "delete every queue"), "%s", text);
	refusal.verdict = BB_SNAPSHOT_REFUSE_OLDER;
	bb_snapshot_describe_refusal(&refusal, &offered, text, sizeof(text));
	cr_assert_not_null(strstr(text, "older than the applied 95"), "%s", text);
}

static struct bb_snapshot_entry redriven(const char *name, uint64_t id, const char *dlq,
                                         uint32_t max_receive_count)
{
	struct bb_snapshot_entry e = queue(name, id);
	snprintf(e.queue.dead_letter_queue, sizeof(e.queue.dead_letter_queue), "%s", dlq);
	e.queue.dead_letter_queue_bytes = (uint32_t)strlen(dlq);
	e.queue.max_receive_count = max_receive_count;
	if (strstr(name, ".fifo") != NULL)
		e.queue.flags = BB_SNAPSHOT_QUEUE_FIFO;
	return e;
}

/*
 * A queue's RedrivePolicy (issue 11) travels as its dead-letter queue's name and
 * maxReceiveCount, in the same format 2; both ends refuse a policy SQS would: another type
 * (FIFO to standard), the queue itself, a count outside 1-1000, a count without a queue, and
 * a dead-letter field given twice.
 */
Test(snapshot_codec, a_redrive_policy_round_trips_and_what_sqs_refuses_is_refused)
{
	struct bb_snapshot_entry entries[] = {queue("dlq", 1), redriven("src", 2, "dlq", 1000),
	                                      redriven("src.fifo", 3, "dlq.fifo", 1)};
	struct bb_snapshot_header header = {.version = 2};
	uint8_t buf[2048];
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, entries, 3, buf, sizeof(buf), &n), 0);
	cr_assert_leq(n, bb_snapshot_bytes_max(3), "the size bound holds");
	struct bb_snapshot_header back;
	cr_assert_eq(decode(buf, n, &back), WIRE_OK, "%s", error);
	cr_assert_eq(back.format, BB_SNAPSHOT_FORMAT, "no new format");
	cr_assert_eq(memcmp(&decoded[1], &entries[1], sizeof(entries[1])), 0);
	cr_assert_eq(memcmp(&decoded[2], &entries[2], sizeof(entries[2])), 0);
	cr_assert_eq(decoded[0].queue.dead_letter_queue_bytes, 0);

	struct bb_snapshot_entry bad[] = {
	    redriven("src", 2, "dlq.fifo", 3), redriven("src.fifo", 2, "dlq", 3),
	    redriven("src", 2, "src", 3),      redriven("src", 2, "dlq", 0),
	    redriven("src", 2, "dlq", 1001),   redriven("src", 2, "", 3),
	    redriven("src", 2, "d q", 3),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(bb_snapshot_encode(&header, &bad[i], 1, buf, sizeof(buf), &n), -EINVAL,
		             "bad policy %zu", i);
	/* Decoding refuses them too: a standard queue naming a FIFO one, a field twice. */
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 1);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "src");
	wire_put_u64(&w, WIRE_TAG_QUEUE_ID, 2);
	wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 2048);
	wire_put_str(&w, BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE, "dlq.fifo");
	wire_put_u32(&w, BB_SNAPSHOT_TAG_QUEUE_MAX_RECEIVE_COUNT, 2);
	cr_assert_eq(decode(buf, w.length, &back), WIRE_ERR_INVALID_PARAMETER);
	size_t before = w.length;
	wire_writer_init(&w, buf, sizeof(buf));
	w.length = before - (WIRE_FIELD_HEADER_BYTES + 8 + WIRE_FIELD_HEADER_BYTES + 4);
	wire_put_str(&w, BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE, "dlq");
	wire_put_u32(&w, BB_SNAPSHOT_TAG_QUEUE_MAX_RECEIVE_COUNT, 2);
	cr_assert_eq(decode(buf, w.length, &back), WIRE_OK, "%s", error);
	wire_put_str(&w, BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE, "dlq");
	cr_assert_eq(decode(buf, w.length, &back), WIRE_ERR_INVALID_PARAMETER, "twice");
}

static struct bb_snapshot_entry flagged(const char *name, uint32_t flags)
{
	struct bb_snapshot_entry e = queue(name, 7);
	e.queue.flags = flags;
	return e;
}

/*
 * DeduplicationScope=messageGroup and FifoThroughputLimit=perMessageGroupId (issue 11) travel
 * as queue flags: FIFO queues only, perMessageGroupId only with messageGroup, as SQS.
 */
Test(snapshot_codec, high_throughput_fifo_flags_round_trip_and_what_sqs_refuses_is_refused)
{
	uint32_t group = BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP;
	uint32_t throughput = BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP;
	struct bb_snapshot_entry good = flagged("h.fifo", BB_SNAPSHOT_QUEUE_FIFO | group | throughput);
	struct bb_snapshot_header header = {.version = 2};
	uint8_t buf[1024];
	size_t n;
	cr_assert_eq(bb_snapshot_encode(&header, &good, 1, buf, sizeof(buf), &n), 0);
	struct bb_snapshot_header back;
	cr_assert_eq(decode(buf, n, &back), WIRE_OK, "%s", error);
	cr_assert_eq(decoded[0].queue.flags, good.queue.flags);
	struct bb_snapshot_entry bad[] = {
	    flagged("h.fifo", BB_SNAPSHOT_QUEUE_FIFO | throughput),
	    flagged("plain", group),
	    flagged("plain", throughput | group),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(bb_snapshot_encode(&header, &bad[i], 1, buf, sizeof(buf), &n), -EINVAL,
		             "bad flags %zu", i);
}

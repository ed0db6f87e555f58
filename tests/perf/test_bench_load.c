/*
 * The benchmark's measuring parts, without a network: the log-linear
 * histogram (every value lands in a bucket within 1/128 of itself, quantiles
 * of a known distribution, merging) and the load model driven by a stepped
 * clock and an in-memory server (every request answered and matched by id,
 * resends of lost requests, unanswered ones counted, cycles with busbard's
 * receive cookie, a request cap, PutEvents and Publish requests as busbard reads
 * them (a PutEvents answered OK whose entry failed is an error, not a reply),
 * an open-loop run whose server stalls: the stall must show in the
 * percentiles, measured from the intended send times, and a signed run: every
 * request, resends too, carries the benchmark key's MAC and a timestamp, and a
 * reply is taken only when its MAC verifies).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bb_endian.h"
#include "bench_hist.h"
#include "bench_load.h"
#include "wire.h"

#define MS 1000000ull
#define US 1000ull

static struct bench_hist hist, other;

Test(bench_hist, buckets_hold_their_values_within_one_in_128)
{
	for (uint64_t v = 0; v < 256; v++)
		cr_assert_eq(bench_hist_lowest(bench_hist_index(v)), v, "exact below 256");
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < 100000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t v = seed >> (seed & 63);
		uint32_t index = bench_hist_index(v);
		cr_assert_lt(index, BENCH_HIST_BUCKETS);
		cr_assert_leq(bench_hist_lowest(index), v);
		cr_assert_geq(bench_hist_highest(index), v);
		cr_assert_leq(bench_hist_highest(index) - bench_hist_lowest(index), v / 128 + 1);
	}
	cr_assert_eq(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
	for (uint32_t i = 1; i < BENCH_HIST_BUCKETS; i++)
		cr_assert_eq(bench_hist_lowest(i), bench_hist_highest(i - 1) + 1, "contiguous");
}

Test(bench_hist, quantiles_of_a_uniform_distribution)
{
	bench_hist_reset(&hist);
	cr_assert_eq(bench_hist_quantile(&hist, 0.5), 0, "empty");
	for (uint64_t v = 1; v <= 100000; v++)
		bench_hist_record(&hist, v * US);
	cr_assert_eq(hist.count, 100000);
	cr_assert_eq(hist.min, US);
	cr_assert_eq(hist.max, 100000 * US);
	const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
	for (uint32_t i = 0; i < 5; i++) {
		double want = qs[i] * 100000 * US;
		double got = (double)bench_hist_quantile(&hist, qs[i]);
		cr_assert_geq(got, want, "q %.4f: never below the true value", qs[i]);
		cr_assert_leq(got, want * (1 + 1.0 / 128), "q %.4f: within 1/128 above", qs[i]);
	}
	cr_assert_eq(bench_hist_quantile(&hist, 1.0), 100000 * US, "the maximum, exactly");
}

Test(bench_hist, merge_adds_counts)
{
	bench_hist_reset(&hist);
	bench_hist_reset(&other);
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_record(v % 2 ? &hist : &other, v);
	bench_hist_merge(&hist, &other);
	cr_assert_eq(hist.count, 1000);
	cr_assert_eq(hist.min, 1);
	cr_assert_eq(hist.max, 1000);
	uint64_t median = bench_hist_quantile(&hist, 0.5);
	cr_assert(median == 500 || median == 501, "500 shares a bucket of two with 501");
}

/* ---- the load model against an in-memory server ---- */

struct fake_server {
	uint64_t messages;        /* sent and not yet received */
	uint64_t drop_request_id; /* the first copy of this request is lost */
	bool dropped;
	uint64_t never_answer_id;
	uint64_t unavailable_id; /* the first copy of this request is refused for now */
	bool refused;
	uint64_t stall_from_ns, stall_until_ns; /* replies held back, then all sent at once */
	uint64_t capacity; /* > 0: sends past this many stored are refused OverLimit */
	bool fail_entries; /* PutEvents: OK, with FAILED_ENTRY_COUNT 1 */
	uint64_t events, publishes; /* well-formed ones seen */
	struct bb_mac *mac; /* non-NULL: requests must be signed; replies are signed with it */
	uint64_t verified;  /* signed requests whose MAC verified */
	uint64_t forge_id;  /* the first answer to this request comes unsigned (a forger's) */
	bool forged;
};

static struct bench_load load;
static struct bench_bodies bodies;
static struct fake_server server;
static uint8_t held[BENCH_SLOTS / 4][BENCH_REQUEST_BYTES_MAX];
static size_t held_bytes[BENCH_SLOTS / 4];
static uint32_t held_count;

#define FAKE_COOKIE 0x600c1e5ull

static bool carries_cookie(const uint8_t *request, size_t length)
{
	struct wire_reader r;
	struct wire_field f;
	uint64_t cookie = 0;
	wire_reader_init(&r, request + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_COOKIE)
			cr_assert(wire_field_u64(&f, &cookie));
	}
	return cookie == FAKE_COOKIE;
}

/* The request's fields as a PutEvents or Publish of the body request_id picks must have. */
static bool routed_request_ok(const uint8_t *request, size_t length, const struct wire_header *h)
{
	struct wire_reader r;
	struct wire_field f;
	uint32_t body = (uint32_t)(h->request_id % bodies.count), seen = 0;
	bool put = h->opcode == WIRE_OP_PUT_EVENTS;
	const uint16_t order[] = {put ? WIRE_TAG_BUS_NAME : WIRE_TAG_TOPIC_NAME,
	                          put ? WIRE_TAG_ENTRY_BEGIN : WIRE_TAG_BODY,
	                          WIRE_TAG_EVENT_SOURCE, WIRE_TAG_EVENT_DETAIL_TYPE,
	                          WIRE_TAG_EVENT_DETAIL};
	const uint32_t fields = put ? 5 : 2;
	wire_reader_init(&r, request + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (seen >= fields || f.tag != order[seen++])
			return false;
		bool is_body = f.tag == WIRE_TAG_BODY || f.tag == WIRE_TAG_EVENT_DETAIL;
		if (is_body && (f.length != bodies.bytes[body] ||
		                memcmp(f.value, bodies.data[body], f.length) != 0))
			return false;
		if (seen == 1 && (f.length != 5 || memcmp(f.value, "bench", 5) != 0))
			return false;
	}
	return seen == fields;
}

/*
 * Answers as busbard would: a response header; a receipt handle for a receive, which
 * needs the source's cookie first (RetryWithCookie, as busbard answers UDP sources).
 */
static size_t answer(const uint8_t *request, size_t length, uint8_t *reply)
{
	struct wire_header h;
	cr_assert_eq(wire_header_decode(request, length, &h), WIRE_OK);
	if (server.mac != NULL) {
		cr_assert_eq(h.key_id, BENCH_KEY_ID);
		cr_assert_gt(h.timestamp_ms, 0, "busbard checks it within its skew");
		cr_assert_eq(bb_mac_verify(server.mac, (const uint8_t *)BENCH_KEY_SECRET,
		                           BB_KEY_SECRET_BYTES, request, length),
		             0, "request %llu signed", (unsigned long long)h.request_id);
		server.verified++;
	}
	struct wire_writer w;
	wire_writer_init(&w, reply + BB_WIRE_HEADER_BYTES, 256);
	h.flags = WIRE_FLAG_RESPONSE;
	if (h.request_id == server.unavailable_id && !server.refused) {
		server.refused = true; /* busbard's log busy: nothing done, "retry" */
		wire_put_str(&w, WIRE_TAG_ERROR_MESSAGE, "the message log is busy; retry");
		h.status = WIRE_ERR_SERVICE_UNAVAILABLE;
	} else if (h.opcode == WIRE_OP_RECEIVE_MESSAGE && !carries_cookie(request, length)) {
		wire_put_u64(&w, WIRE_TAG_COOKIE, FAKE_COOKIE);
		h.status = WIRE_RETRY_WITH_COOKIE;
	} else if (h.opcode == WIRE_OP_SEND_MESSAGE && server.capacity > 0 &&
	           server.messages >= server.capacity) {
		wire_put_str(&w, WIRE_TAG_ERROR_MESSAGE, "the queue is full");
		h.status = WIRE_ERR_OVER_LIMIT;
	} else if (h.opcode == WIRE_OP_PUT_EVENTS || h.opcode == WIRE_OP_PUBLISH) {
		cr_assert(routed_request_ok(request, length, &h), "request %llu",
		          (unsigned long long)h.request_id);
		*(h.opcode == WIRE_OP_PUBLISH ? &server.publishes : &server.events) += 1;
		if (h.opcode == WIRE_OP_PUT_EVENTS)
			wire_put_u32(&w, WIRE_TAG_FAILED_ENTRY_COUNT, server.fail_entries ? 1 : 0);
	} else if (h.opcode == WIRE_OP_SEND_MESSAGE) {
		server.messages++;
		wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "00000000-0000-4000-8000-000000000000");
	} else if (h.opcode == WIRE_OP_RECEIVE_MESSAGE && server.messages > 0) {
		server.messages--;
		wire_put_bytes(&w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
		/* As long as busbard's handles: the load model takes no other length. */
		static char handle[BB_RECEIPT_HANDLE_BYTES];
		memset(handle, 'h', sizeof(handle));
		wire_put_bytes(&w, WIRE_TAG_RECEIPT_HANDLE, handle, sizeof(handle));
	}
	h.body_bytes = (uint32_t)w.length;
	bool forge = server.mac != NULL && h.request_id == server.forge_id && !server.forged;
	server.forged |= forge;
	if (forge)
		h.key_id = 0; /* an OK answer no key vouches for */
	wire_header_encode(&h, reply);
	size_t reply_bytes = BB_WIRE_HEADER_BYTES + w.length;
	if (server.mac != NULL && !forge)
		cr_assert_eq(bb_mac_sign(server.mac, (const uint8_t *)BENCH_KEY_SECRET,
		                         BB_KEY_SECRET_BYTES, reply, reply_bytes),
		             0);
	return reply_bytes;
}

static void deliver_held(uint64_t now)
{
	for (uint32_t i = 0; i < held_count; i++)
		bench_load_reply(&load, held[i], held_bytes[i], now);
	held_count = 0;
}

/* One pass of a transport loop: send what is due, then the server answers (or holds). */
static void step(uint64_t now)
{
	static uint8_t requests[BENCH_WINDOW_MAX][BENCH_REQUEST_BYTES_MAX];
	size_t lengths[BENCH_WINDOW_MAX];
	uint32_t count = 0;
	uint8_t reply[512];
	bool stalled = now >= server.stall_from_ns && now < server.stall_until_ns;
	if (!stalled)
		deliver_held(now);
	while (count < BENCH_WINDOW_MAX &&
	       (lengths[count] = bench_load_next(&load, now, requests[count])) > 0)
		count++;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t id = bb_get_le64(requests[i] + 24);
		if (id == server.never_answer_id)
			continue;
		if (id == server.drop_request_id && !server.dropped) {
			server.dropped = true;
			continue;
		}
		size_t reply_bytes = answer(requests[i], lengths[i], reply);
		if (stalled) {
			cr_assert_lt(held_count, BENCH_SLOTS / 4);
			memcpy(held[held_count], reply, reply_bytes);
			held_bytes[held_count++] = reply_bytes;
		} else {
			bench_load_reply(&load, reply, reply_bytes, now);
		}
	}
}

static struct bench_result run(const struct bench_load_options *o, uint64_t step_ns)
{
	static struct bench_result r;
	cr_assert_eq(bench_load_init(&load, o), 0);
	uint64_t now = 1000 * MS;
	bench_load_start(&load, now);
	while (!bench_load_done(&load, now)) {
		step(now);
		now += step_ns;
	}
	bench_load_finish(&load, &r);
	return r;
}

static struct bench_load_options options(enum bench_op op)
{
	cr_assert_eq(bench_bodies_generate(&bodies, 256), 0);
	memset(&server, 0, sizeof(server));
	held_count = 0;
	return (struct bench_load_options){
	    .op = op,
	    .queue = "bench",
	    .window = 8,
	    .warmup_ns = 10 * MS,
	    .duration_ns = 100 * MS,
	    .client_id = 0xbe4c,
	    .bodies = &bodies,
	};
}

Test(bench_load, closed_loop_every_request_answered)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	struct bench_result r = run(&o, 10 * US);
	/* 8 in flight, each answered within one 10 us step: 8 per step over 100 ms. */
	cr_assert_eq(r.replies, 8 * 10000);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.resends, 0);
	cr_assert_eq(r.latency_ns.count, r.replies);
	cr_assert_eq(r.latency_ns.max, 0, "answered in the same step");
	cr_assert_eq(r.seconds, 0.1);
}

Test(bench_load, a_lost_request_is_resent_with_its_id_and_counted_from_the_first_send)
{
	struct bench_load_options o = options(BENCH_OP_PING);
	server.drop_request_id = 100; /* sent inside the counted part */
	struct bench_result r = run(&o, 1 * MS);
	cr_assert_eq(r.resends, 1);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(r.errors, 0);
	cr_assert_geq(r.latency_ns.max, BENCH_RESEND_AFTER_NS, "its latency includes the wait");
}

Test(bench_load, a_request_refused_for_now_is_resent_not_an_error)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	server.unavailable_id = 100;
	struct bench_result r = run(&o, 1 * MS);
	cr_assert_eq(r.unavailable, 1);
	cr_assert_eq(r.resends, 1, "sent again with its id, as an SDK retries it");
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(server.messages, r.sent, "every send stored once, the refused one after");
	cr_assert_geq(r.latency_ns.max, BENCH_RESEND_AFTER_NS, "its latency includes the wait");
}

Test(bench_load, a_request_never_answered_is_reported)
{
	struct bench_load_options o = options(BENCH_OP_PING);
	server.never_answer_id = 50;
	struct bench_result r = run(&o, 1 * MS);
	cr_assert_eq(r.unanswered, 1);
	cr_assert_gt(r.resends, 1, "resent until the drain ended");
}

Test(bench_load, cycles_send_receive_and_delete)
{
	struct bench_load_options o = options(BENCH_OP_CYCLE);
	struct bench_result r = run(&o, 10 * US);
	cr_assert_gt(r.cycles, 0);
	cr_assert_eq(r.cookie_retries, o.window, "each lane's first receive fetched the cookie");
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_leq(r.replies, 3 * r.cycles + 3 * o.window, "three requests per cycle");
	cr_assert_geq(r.replies, 3 * r.cycles);
	cr_assert_leq(server.messages, o.window, "a lane stopped between its send and receive");
}

Test(bench_load, a_request_cap_ends_the_counted_part)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	o.requests_max = 1000;
	o.duration_ns = 10000 * MS;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.replies, 1000);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_lt(r.seconds, 0.002, "1000 replies at 8 per 10 us take 1.25 ms");
}

/*
 * A queue that fills: only acknowledged sends are replies, with a latency; the refusals
 * are errors, the run still ends once every capped request is answered, and a run whose
 * answers are mostly refusals has no rate to report.
 */
Test(bench_load, refusals_are_not_counted_as_replies_and_fail_the_run)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	o.requests_max = 1000;
	o.warmup_ns = 0;
	o.duration_ns = 10000 * MS;
	server.capacity = 300;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.replies, 300, "only the stored sends: %llu", (unsigned long long)r.replies);
	cr_assert_eq(r.errors, 700);
	cr_assert_eq(r.latency_ns.count, 300);
	cr_assert_lt(r.seconds, 0.002, "the run ends with its last answer, refused or not");
	cr_assert(bench_result_refused(&r));
}

Test(bench_load, a_few_refusals_leave_the_rate_standing)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	o.requests_max = 10000;
	o.warmup_ns = 0;
	o.duration_ns = 10000 * MS;
	server.capacity = 9950; /* 50 refused: 0.5% of the answers */
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.replies, 9950);
	cr_assert_eq(r.errors, 50);
	cr_assert_not(bench_result_refused(&r));
	r.unavailable = 60; /* and 60 "retry" answers: 1.1% of the answers, over the limit */
	cr_assert(bench_result_refused(&r));
}

/*
 * A receive side: consumer lanes receive and delete beside the senders, so a queue that
 * holds 100 messages takes 100 ms of sends (80,000 in closed loop, 10,000 in open loop)
 * without one refusal. Only the sends are replies with a latency; deletes are `consumed`.
 */
Test(bench_load, consumers_keep_a_small_queue_from_filling)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	o.consumers = 24;
	server.capacity = 100;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.errors, 0, "refused: %llu", (unsigned long long)r.errors);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(r.replies, 8 * 10000, "the senders' acknowledged sends only");
	cr_assert_eq(r.latency_ns.count, r.replies);
	cr_assert_gt(r.consumed, 70000, "consumed %llu", (unsigned long long)r.consumed);
	cr_assert_leq(server.messages, 100);

	o = options(BENCH_OP_SEND);
	o.rate_per_s = 100000;
	o.consumers = 8;
	server.capacity = 100;
	r = run(&o, 10 * US);
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.replies, 10000);
	cr_assert_gt(r.consumed, 9000);
	cr_assert_leq(server.messages, 100);

	o = options(BENCH_OP_PING);
	o.consumers = 1;
	cr_assert_eq(bench_load_init(&load, &o), -EINVAL, "consumers go with send only");
}

/*
 * Coordinated omission: at 10,000 requests/s for a second, the server holds every reply
 * for 100 ms in the middle. Measured from the intended send times, the 1,000 requests due
 * during the stall waited 0-100 ms: p99 is near 90 ms, while p50 stays at zero.
 */
Test(bench_load, open_loop_latency_counts_from_the_intended_send_time)
{
	struct bench_load_options o = options(BENCH_OP_PING);
	o.rate_per_s = 10000;
	o.warmup_ns = 0;
	o.duration_ns = 1000 * MS;
	server.stall_from_ns = 1000 * MS + 500 * MS;
	server.stall_until_ns = server.stall_from_ns + 100 * MS;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(r.replies, 10000);
	cr_assert_eq(bench_hist_quantile(&r.latency_ns, 0.5), 0);
	cr_assert_geq(bench_hist_quantile(&r.latency_ns, 0.99), 85 * MS);
	cr_assert_geq(r.latency_ns.max, 99 * MS);
	cr_assert_leq(r.latency_ns.max, 101 * MS);
}

/*
 * At a million requests per second the ids go round the 65,536 slots every 66 ms, while a
 * lost request waits 500 ms for its resend: the run must pass over its slot, not stall
 * behind it until the resend.
 */
Test(bench_load, open_loop_passes_over_the_slot_of_a_lost_request)
{
	struct bench_load_options o = options(BENCH_OP_PING);
	o.rate_per_s = 1000000;
	o.warmup_ns = 0;
	o.duration_ns = 200 * MS;
	server.drop_request_id = 10;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.resends, 1);
	cr_assert_eq(r.unanswered, 0);
	/* All but the lost one (answered after the end) and those due within the last step. */
	cr_assert_geq(r.replies, 199980, "the run did not stall: %llu",
	              (unsigned long long)r.replies);
	cr_assert_leq(r.replies, 199999);
	cr_assert_lt(bench_hist_quantile(&r.latency_ns, 0.9999), 1 * MS);
}

Test(bench_load, put_events_carries_each_body_as_one_entrys_detail)
{
	struct bench_load_options o = options(BENCH_OP_PUT_EVENTS);
	bench_bodies_free(&bodies);
	cr_assert_eq(bench_bodies_generate(&bodies, BENCH_BODY_BYTES_MAX), 0, "the largest");
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.replies, 8 * 10000);
	cr_assert_geq(server.events, r.replies, "every request a well-formed PutEvents");
}

Test(bench_load, a_put_events_whose_entry_failed_is_an_error)
{
	struct bench_load_options o = options(BENCH_OP_PUT_EVENTS);
	server.fail_entries = true;
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.replies, 0, "status OK, but FAILED_ENTRY_COUNT 1: nothing routed");
	cr_assert_gt(r.errors, 0);
	cr_assert(bench_result_refused(&r));
}

Test(bench_load, publish_names_its_topic_and_carries_the_body)
{
	struct bench_load_options o = options(BENCH_OP_PUBLISH);
	struct bench_result r = run(&o, 10 * US);
	cr_assert_eq(r.errors, 0);
	cr_assert_eq(r.replies, 8 * 10000);
	cr_assert_geq(server.publishes, r.replies);
	o.bodies = NULL;
	cr_assert_eq(bench_load_init(&load, &o), -EINVAL, "publish needs bodies");
}

Test(bench_load, refuses_what_busbard_cannot_do)
{
	struct bench_load_options o = options(BENCH_OP_CYCLE);
	o.rate_per_s = 1000;
	cr_assert_eq(bench_load_init(&load, &o), -EINVAL, "cycles are closed-loop only");
}

Test(bench_load, a_signed_run_signs_every_request_and_takes_only_authentic_replies)
{
	struct bench_load_options o = options(BENCH_OP_SEND);
	o.mac = bb_mac_new();
	server.mac = bb_mac_new();
	cr_assert(o.mac != NULL && server.mac != NULL);
	server.forge_id = 100; /* sent inside the counted part */
	struct bench_result r = run(&o, 1 * MS);
	cr_assert_eq(server.verified, r.sent + r.resends, "every copy of every request signed");
	cr_assert_eq(r.errors, 1, "the unsigned OK answer is counted, not taken");
	cr_assert_eq(r.resends, 1, "and its request is sent again, then answered");
	cr_assert_eq(r.unanswered, 0);
	cr_assert_eq(server.messages, r.sent + r.resends);
	bb_mac_free(o.mac);
	bb_mac_free(server.mac);
}

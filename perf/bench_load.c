/*
 * The load model (see bench_load.h). Each request's id picks its slot
 * (id & (BENCH_SLOTS - 1)); a reply is ours only if the slot is busy with
 * exactly that id, so late duplicates and foreign datagrams are told apart.
 * Closed loop: a lane per window place carries its own sequence (one request,
 * or send, receive, delete for cycles) and becomes ready again on each reply.
 * Open loop: request i is due at start + i / rate and its latency is counted
 * from then, not from when it went out, so a stall in the server (or in the
 * generator) shows in the percentiles instead of silently lowering the rate.
 */
#include "bench_load.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bb_endian.h"
#include "wire.h"

#define SLOT_MASK          (BENCH_SLOTS - 1u)
#define REQUEST_ID_OFFSET  24u /* docs/protocol.md: the header's request_id */
#define VISIBILITY_CYCLE_S 30u
#define GENERATED_ALPHABET "abcdefghijklmnopqrstuvwxyz0123456789"

static const char *const op_names[] = {
    [BENCH_OP_PING] = "ping",       [BENCH_OP_SEND] = "send",
    [BENCH_OP_RECEIVE] = "receive", [BENCH_OP_CYCLE] = "cycle",
    [BENCH_OP_PUBLISH] = "publish", [BENCH_OP_PUT_EVENTS] = "put-events",
};

const char *bench_op_name(enum bench_op op)
{
	assert(op <= BENCH_OP_PUT_EVENTS);
	return op_names[op];
}

int bench_op_parse(const char *name, enum bench_op *out)
{
	for (uint32_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*out = (enum bench_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- bodies ---- */

int bench_bodies_generate(struct bench_bodies *b, uint32_t bytes)
{
	memset(b, 0, sizeof(*b));
	if (bytes == 0 || bytes > BENCH_BODY_BYTES_MAX)
		return -EINVAL;
	b->data[0] = malloc(bytes);
	if (b->data[0] == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < bytes; i++)
		b->data[0][i] = (uint8_t)GENERATED_ALPHABET[i % (sizeof(GENERATED_ALPHABET) - 1)];
	b->bytes[0] = bytes;
	b->count = 1;
	return 0;
}

int bench_bodies_load(struct bench_bodies *b, const char *path)
{
	memset(b, 0, sizeof(*b));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	static char line[BENCH_BODY_BYTES_MAX + 2];
	int rc = 0;
	while (rc == 0 && b->count < BENCH_BODIES_MAX && fgets(line, sizeof(line), f) != NULL) {
		size_t length = strcspn(line, "\n");
		if (length == sizeof(line) - 1) {
			rc = -EMSGSIZE; /* a line longer than BENCH_BODY_BYTES_MAX */
		} else if (length > 0) {
			b->data[b->count] = malloc(length);
			if (b->data[b->count] == NULL) {
				rc = -ENOMEM;
				break;
			}
			memcpy(b->data[b->count], line, length);
			b->bytes[b->count++] = (uint32_t)length;
		}
	}
	fclose(f);
	if (rc == 0 && b->count == 0)
		rc = -ENODATA;
	if (rc != 0)
		bench_bodies_free(b);
	return rc;
}

void bench_bodies_free(struct bench_bodies *b)
{
	for (uint32_t i = 0; i < b->count; i++)
		free(b->data[i]);
	memset(b, 0, sizeof(*b));
}

/* ---- set-up ---- */

static int refuse(const char *why)
{
	fprintf(stderr, "busbar-bench: %s\n", why);
	return -EINVAL;
}

static int check_options(const struct bench_load_options *o)
{
	/* publish and put-events name their topic or bus with --queue: at most as long as a
	 * queue's name, so every request still fits BENCH_REQUEST_BYTES_MAX. */
	if (o->op != BENCH_OP_PING && (o->queue == NULL || o->queue[0] == '\0' ||
	                               strlen(o->queue) > BB_QUEUE_NAME_BYTES_MAX))
		return refuse("this op needs --queue NAME (1-80 characters; publish: the topic, "
		              "put-events: the bus)");
	bool needs_body = bench_op_has_body(o->op);
	if (needs_body && (o->bodies == NULL || o->bodies->count == 0))
		return refuse("this op needs bodies");
	if (o->rate_per_s > 0 && o->op == BENCH_OP_CYCLE)
		return refuse("cycles run closed-loop only: give --window, not --rate");
	if (o->rate_per_s <= 0 && (o->window == 0 || o->window > BENCH_WINDOW_MAX))
		return refuse("--window must be 1-4096");
	if (o->baseline && o->op == BENCH_OP_CYCLE)
		return refuse("an echo baseline cannot answer a receive: use ping or send");
	if (o->consumers > 0 && (o->op != BENCH_OP_SEND || o->baseline))
		return refuse("--consumers goes with --op send against a queue, not an echo");
	uint32_t lanes = (o->rate_per_s > 0 ? 0 : o->window) + o->consumers;
	if (lanes > BENCH_WINDOW_MAX)
		return refuse("--window and --consumers together must be at most 4096");
	if (o->client_id == 0 || o->duration_ns == 0)
		return refuse("a run needs a client id and a duration");
	return 0;
}

int bench_load_init(struct bench_load *l, const struct bench_load_options *o)
{
	int rc = check_options(o);
	if (rc != 0)
		return rc;
	memset(l, 0, sizeof(*l));
	l->o = *o;
	l->resend_cursor = BENCH_SLOTS;
	bench_hist_reset(&l->result.latency_ns);
	bench_hist_reset(&l->second_ns);
	return 0;
}

static void lane_ready(struct bench_load *l, uint32_t lane)
{
	assert(l->ready_count < BENCH_WINDOW_MAX);
	l->ready[(l->ready_head + l->ready_count++) % BENCH_WINDOW_MAX] = lane;
}

static uint8_t first_opcode(enum bench_op op)
{
	switch (op) {
	case BENCH_OP_PING: return WIRE_OP_PING;
	case BENCH_OP_RECEIVE: return WIRE_OP_RECEIVE_MESSAGE;
	case BENCH_OP_PUBLISH: return WIRE_OP_PUBLISH;
	case BENCH_OP_PUT_EVENTS: return WIRE_OP_PUT_EVENTS;
	default: return WIRE_OP_SEND_MESSAGE;
	}
}

void bench_load_start(struct bench_load *l, uint64_t now_ns)
{
	l->measure_ns = now_ns + l->o.warmup_ns;
	l->stop_ns = l->measure_ns + l->o.duration_ns;
	l->drain_end_ns = l->stop_ns + BENCH_DRAIN_NS;
	l->next_id = 1;
	l->next_intended_ns = (double)now_ns;
	l->period_ns = l->o.rate_per_s > 0 ? 1e9 / l->o.rate_per_s : 0;
	l->resend_scan_at_ns = now_ns + BENCH_RESEND_SCAN_NS;
	l->progress_at_ns = l->measure_ns + BENCH_PROGRESS_NS;
	uint32_t senders = l->o.rate_per_s > 0 ? 0 : l->o.window;
	for (uint32_t i = 0; i < senders + l->o.consumers; i++) {
		l->lanes[i].consumer = i >= senders;
		l->lanes[i].next_opcode =
		    i >= senders ? WIRE_OP_RECEIVE_MESSAGE : first_opcode(l->o.op);
		lane_ready(l, i);
	}
}

/* ---- requests ---- */

bool bench_op_has_body(enum bench_op op)
{
	return op == BENCH_OP_SEND || op == BENCH_OP_CYCLE || op == BENCH_OP_PUBLISH ||
	       op == BENCH_OP_PUT_EVENTS;
}

/* The resource's name: a Publish names its topic, a PutEvents its bus, the rest a queue. */
static uint16_t name_tag(uint8_t opcode)
{
	if (opcode == WIRE_OP_PUBLISH)
		return WIRE_TAG_TOPIC_NAME;
	return opcode == WIRE_OP_PUT_EVENTS ? WIRE_TAG_BUS_NAME : WIRE_TAG_QUEUE_NAME;
}

/* The wall clock a signed request's timestamp carries (busbard checks it within its skew). */
static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static size_t write_request(const struct bench_load *l, const struct bench_slot *s, uint8_t *out)
{
	struct wire_writer w;
	wire_writer_init(&w, out + BB_WIRE_HEADER_BYTES,
	                 BENCH_REQUEST_BYTES_MAX - BB_WIRE_HEADER_BYTES);
	if (s->opcode != WIRE_OP_PING)
		wire_put_str(&w, name_tag(s->opcode), l->o.queue);
	uint32_t body = l->o.bodies ? (uint32_t)(s->request_id % l->o.bodies->count) : 0;
	if (s->opcode == WIRE_OP_SEND_MESSAGE || s->opcode == WIRE_OP_PUBLISH) {
		wire_put_bytes(&w, WIRE_TAG_BODY, l->o.bodies->data[body],
		               l->o.bodies->bytes[body]);
	} else if (s->opcode == WIRE_OP_PUT_EVENTS) {
		/* One entry per request: its Detail is the corpus line, as EventBridge's
		 * benchmarks match one event at a time. */
		wire_put_bytes(&w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_str(&w, WIRE_TAG_EVENT_SOURCE, BENCH_EVENT_SOURCE);
		wire_put_str(&w, WIRE_TAG_EVENT_DETAIL_TYPE, BENCH_EVENT_DETAIL_TYPE);
		wire_put_bytes(&w, WIRE_TAG_EVENT_DETAIL, l->o.bodies->data[body],
		               l->o.bodies->bytes[body]);
	} else if (s->opcode == WIRE_OP_RECEIVE_MESSAGE) {
		if (l->o.op == BENCH_OP_CYCLE || s->consumer)
			wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, VISIBILITY_CYCLE_S);
		wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0); /* never parked: a short poll */
		if (l->cookie_known)
			wire_put_u64(&w, WIRE_TAG_COOKIE, l->cookie);
	} else if (s->opcode == WIRE_OP_DELETE_MESSAGE) {
		wire_put_bytes(&w, WIRE_TAG_RECEIPT_HANDLE, l->lanes[s->lane].handle,
		               BB_RECEIPT_HANDLE_BYTES);
	}
	assert(!w.overflow);
	struct wire_header h = {
	    .version = WIRE_VERSION,
	    .opcode = s->opcode,
	    .body_bytes = (uint32_t)w.length,
	    .client_id = l->o.client_id,
	    .request_id = s->request_id,
	};
	if (l->o.mac != NULL) {
		h.key_id = BENCH_KEY_ID;
		h.timestamp_ms = wall_ms();
	}
	wire_header_encode(&h, out);
	size_t length = BB_WIRE_HEADER_BYTES + w.length;
	/* Signing a whole request with a key of the right size cannot fail. */
	if (l->o.mac != NULL && bb_mac_sign(l->o.mac, (const uint8_t *)BENCH_KEY_SECRET,
	                                    BB_KEY_SECRET_BYTES, out, length) != 0)
		abort();
	return length;
}

/* Continues a resend scan; returns a stale slot or NULL when the scan is over for now. */
static struct bench_slot *next_stale(struct bench_load *l, uint64_t now_ns)
{
	if (l->resend_cursor == BENCH_SLOTS && now_ns >= l->resend_scan_at_ns &&
	    l->in_flight > 0) {
		l->resend_cursor = 0;
		l->resend_scan_at_ns = now_ns + BENCH_RESEND_SCAN_NS;
	}
	while (l->resend_cursor < BENCH_SLOTS) {
		struct bench_slot *s = &l->slots[l->resend_cursor++];
		if (s->busy && now_ns - s->sent_ns >= BENCH_RESEND_AFTER_NS)
			return s;
	}
	return NULL;
}

/*
 * Takes a slot for the next request id, or NULL when every slot is busy. A slot still
 * held by a lost request (waiting for its resend) is passed over, not waited for: ids need
 * not be consecutive, and at millions of requests per second the ids wrap around the
 * slots long before a resend is due; waiting there would stall an open-loop run.
 */
static struct bench_slot *claim(struct bench_load *l, uint8_t opcode, int64_t lane,
                                uint64_t intended_ns, uint64_t now_ns)
{
	struct bench_slot *s = &l->slots[l->next_id & SLOT_MASK];
	for (uint32_t probes = 1; s->busy && probes < BENCH_SLOTS; probes++)
		s = &l->slots[++l->next_id & SLOT_MASK];
	if (s->busy)
		return NULL;
	*s = (struct bench_slot){
	    .request_id = l->next_id++,
	    .intended_ns = intended_ns,
	    .sent_ns = now_ns,
	    .lane = lane < 0 ? 0 : (uint32_t)lane,
	    .opcode = opcode,
	    .busy = true,
	    .laned = lane >= 0,
	    .consumer = lane >= 0 && l->lanes[lane].consumer,
	};
	l->in_flight++;
	l->result.sent++;
	return s;
}

static struct bench_slot *next_new(struct bench_load *l, uint64_t now_ns)
{
	if (now_ns >= l->stop_ns)
		return NULL;
	bool counted = now_ns >= l->measure_ns;
	if (counted && l->o.requests_max > 0 && l->issued_counted >= l->o.requests_max)
		return NULL;
	/* Open loop: the send due, then the consumer lanes (the only lanes it has). */
	if (l->o.rate_per_s > 0 && (double)now_ns >= l->next_intended_ns) {
		struct bench_slot *s =
		    claim(l, first_opcode(l->o.op), -1, (uint64_t)l->next_intended_ns, now_ns);
		if (s != NULL) {
			l->next_intended_ns += l->period_ns;
			l->issued_counted += counted;
		}
		return s;
	}
	if (l->ready_count == 0)
		return NULL;
	uint32_t lane = l->ready[l->ready_head];
	struct bench_slot *s = claim(l, l->lanes[lane].next_opcode, lane, now_ns, now_ns);
	if (s != NULL) {
		l->ready_head = (l->ready_head + 1) % BENCH_WINDOW_MAX;
		l->ready_count--;
		l->issued_counted += counted && !s->consumer;
	}
	return s;
}

size_t bench_load_next(struct bench_load *l, uint64_t now_ns, uint8_t *out)
{
	struct bench_slot *s = next_stale(l, now_ns);
	if (s != NULL) {
		s->sent_ns = now_ns; /* the latency still counts from the first attempt */
		l->result.resends++;
		return write_request(l, s, out);
	}
	s = next_new(l, now_ns);
	return s == NULL ? 0 : write_request(l, s, out);
}

/* ---- replies ---- */

/* Finds the receipt handle of the first message in a receive reply. */
static bool first_handle(const uint8_t *reply, size_t length, char *out)
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_RECEIPT_HANDLE && f.length == BB_RECEIPT_HANDLE_BYTES) {
			memcpy(out, f.value, f.length);
			return true;
		}
	}
	return false;
}

/* The reply's error message (busbard says why it refused), or "" when it has none. */
static void error_message(const uint8_t *reply, size_t length, char *out, size_t out_bytes)
{
	struct wire_reader r;
	struct wire_field f;
	out[0] = '\0';
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_ERROR_MESSAGE) {
			snprintf(out, out_bytes, ": %.*s", (int)f.length, (const char *)f.value);
			return;
		}
	}
}

/* Sets the lane's next request after a reply (closed loop); counts finished cycles. */
static void advance_lane(struct bench_load *l, const struct bench_slot *s, const uint8_t *reply,
                         size_t length, bool ok, bool counted)
{
	struct bench_lane *lane = &l->lanes[s->lane];
	/* A consumer lane runs a cycle's receive and delete, without its send. */
	uint8_t first = lane->consumer ? WIRE_OP_RECEIVE_MESSAGE : first_opcode(l->o.op);
	if (!ok) {
		lane->next_opcode = first; /* counted as an error; start over */
	} else if (l->o.op == BENCH_OP_CYCLE || lane->consumer) {
		if (s->opcode == WIRE_OP_SEND_MESSAGE) {
			lane->next_opcode = WIRE_OP_RECEIVE_MESSAGE;
		} else if (s->opcode == WIRE_OP_RECEIVE_MESSAGE) {
			/* Empty: another lane took this lane's message; receive again. */
			if (first_handle(reply, length, lane->handle))
				lane->next_opcode = WIRE_OP_DELETE_MESSAGE;
		} else {
			lane->next_opcode = first;
			if (lane->consumer)
				l->result.consumed += counted;
			else
				l->result.cycles += counted;
		}
	}
	lane_ready(l, s->lane);
}

/*
 * A UDP receive from a source busbard has not seen receive is answered RetryWithCookie
 * with a COOKIE field; receives carry it from then on. Returns true for such a reply.
 */
static bool take_cookie(struct bench_load *l, const struct bench_slot *s,
                        const struct wire_header *h, const uint8_t *reply, size_t length)
{
	if (l->o.baseline || s->opcode != WIRE_OP_RECEIVE_MESSAGE ||
	    h->status != WIRE_RETRY_WITH_COOKIE)
		return false;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_COOKIE && wire_field_u64(&f, &l->cookie))
			l->cookie_known = true;
	}
	return true;
}

/* Is this datagram a good answer to the request in slot s? */
static bool reply_is_ok(const struct bench_load *l, const struct bench_slot *s,
                        const struct wire_header *h)
{
	if (h->opcode != s->opcode)
		return false;
	if (l->o.baseline)
		return true; /* an echo returns the request as it was */
	return (h->flags & WIRE_FLAG_RESPONSE) != 0 && h->status == WIRE_OK;
}

/* A PutEvents answered OK may still have failed its entry: FAILED_ENTRY_COUNT says so. */
static bool entries_failed(const struct bench_load *l, const uint8_t *reply, size_t length)
{
	if (l->o.baseline || l->o.op != BENCH_OP_PUT_EVENTS)
		return false;
	struct wire_reader r;
	struct wire_field f;
	uint32_t failed = 0;
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_FAILED_ENTRY_COUNT && !wire_field_u32(&f, &failed))
			return true;
	}
	return failed > 0;
}

/*
 * Only an acknowledged operation is a reply with a latency: a refusal (a full queue's
 * OverLimit) comes back fast and would make a rate of what was not done. A capped run
 * ends once each of its requests is answered either way.
 */
static void count_reply(struct bench_load *l, const struct bench_slot *s, const uint8_t *bytes,
                        size_t length, bool ok, uint64_t now_ns)
{
	if (s->intended_ns < l->measure_ns || s->intended_ns >= l->stop_ns)
		return;
	l->answered_counted++;
	if (l->o.requests_max > 0 && l->answered_counted == l->o.requests_max)
		l->stop_ns = now_ns + 1; /* all answered: the run ends with this reply */
	if (!ok)
		return;
	uint64_t latency_ns = now_ns - s->intended_ns;
	bench_hist_record(&l->result.latency_ns, latency_ns);
	bench_hist_record(&l->second_ns, latency_ns);
	if (now_ns < l->stop_ns)
		l->result.replies++;
	bool empty_receive =
	    s->opcode == WIRE_OP_RECEIVE_MESSAGE && length == BB_WIRE_HEADER_BYTES;
	l->result.empty_receives += empty_receive;
}

/*
 * A signed run takes a reply only with the key's MAC over its exact bytes, or as one of the
 * unsigned refusals of a signature (key id 0, not OK): docs/protocol.md, "Replies".
 */
static bool authentic(const struct bench_load *l, const struct wire_header *h,
                      const uint8_t *bytes, size_t length)
{
	if (l->o.mac == NULL)
		return true;
	if (h->key_id == 0)
		return h->status != WIRE_OK;
	return h->key_id == BENCH_KEY_ID &&
	       bb_mac_verify(l->o.mac, (const uint8_t *)BENCH_KEY_SECRET, BB_KEY_SECRET_BYTES,
	                     bytes, length) == 0;
}

void bench_load_reply(struct bench_load *l, const uint8_t *bytes, size_t length, uint64_t now_ns)
{
	struct wire_header h;
	if (wire_header_decode(bytes, length, &h) != WIRE_OK || h.client_id != l->o.client_id)
		return;
	if (!authentic(l, &h, bytes, length)) {
		/* Ignored like a stray datagram (a forger cannot end the request), and counted. */
		if (++l->result.errors <= 3)
			fprintf(stderr, "busbar-bench: a reply without a valid MAC for the key\n");
		return;
	}
	struct bench_slot *s = &l->slots[h.request_id & SLOT_MASK];
	if (!s->busy || s->request_id != h.request_id) {
		l->result.duplicates++;
		return;
	}
	assert(l->in_flight > 0);
	if (h.opcode == s->opcode && h.status == WIRE_ERR_SERVICE_UNAVAILABLE) {
		/* Refused for now (busbard's log busy, its reply stage full: "retry"). As an SDK
		 * retries it, the request stays in flight and goes again with its id when its
		 * resend is due; its latency counts on from the first attempt. */
		char why[128] = "";
		if (++l->result.unavailable <= 3)
			error_message(bytes, length, why, sizeof(why));
		if (l->result.unavailable <= 3)
			fprintf(stderr, "busbar-bench: %s answered ServiceUnavailable%s; resent later\n",
			        wire_opcode_name(s->opcode), why);
		return;
	}
	s->busy = false;
	l->in_flight--;
	if (take_cookie(l, s, &h, bytes, length)) {
		/* Not an error: the receive goes again, now with the cookie, under a new id. */
		l->result.cookie_retries++;
		if (s->laned)
			lane_ready(l, s->lane);
		return;
	}
	bool ok = reply_is_ok(l, s, &h) && !entries_failed(l, bytes, length);
	if (!ok) {
		char why[128] = "";
		if (++l->result.errors <= 3)
			error_message(bytes, length, why, sizeof(why));
		if (l->result.errors <= 3)
			fprintf(stderr, "busbar-bench: %s answered %s%s\n",
			        wire_opcode_name(s->opcode),
			        h.opcode != s->opcode ? "with another opcode"
			                              : wire_status_name(h.status),
			        why);
	}
	bool counted = s->intended_ns >= l->measure_ns && now_ns < l->stop_ns;
	if (s->consumer) /* not a reply of the load measured: no latency, no cap */
		l->result.empty_receives += counted && s->opcode == WIRE_OP_RECEIVE_MESSAGE &&
		                            length == BB_WIRE_HEADER_BYTES;
	else
		count_reply(l, s, bytes, length, ok, now_ns);
	if (s->laned)
		advance_lane(l, s, bytes, length, ok, counted);
}

/* ---- progress and the end ---- */

void bench_load_tick(struct bench_load *l, uint64_t now_ns)
{
	if (now_ns < l->progress_at_ns || now_ns >= l->stop_ns + BENCH_PROGRESS_NS / 2)
		return;
	l->progress_second++;
	if (l->o.progress != NULL) {
		const struct bench_hist *h = &l->second_ns;
		fprintf(l->o.progress,
		        "{\"progress\":\"%s\",\"mode\":\"%s\",\"t_s\":%u,\"requests_per_s\":%llu,"
		        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"in_flight\":%u}\n",
		        l->o.progress_label ? l->o.progress_label : "run",
		        l->o.rate_per_s > 0 ? "open" : "closed", l->progress_second,
		        (unsigned long long)(l->result.replies - l->progress_replies),
		        (double)bench_hist_quantile(h, 0.5) / 1e3,
		        (double)bench_hist_quantile(h, 0.99) / 1e3, (double)h->max / 1e3,
		        l->in_flight);
		fflush(l->o.progress);
	}
	l->progress_replies = l->result.replies;
	bench_hist_reset(&l->second_ns);
	l->progress_at_ns += BENCH_PROGRESS_NS;
}

bool bench_load_done(const struct bench_load *l, uint64_t now_ns)
{
	return now_ns >= l->drain_end_ns || (now_ns >= l->stop_ns && l->in_flight == 0);
}

void bench_load_finish(struct bench_load *l, struct bench_result *out)
{
	l->result.unanswered = l->in_flight;
	l->result.seconds = (double)(l->stop_ns - l->measure_ns) / 1e9;
	*out = l->result;
}

void bench_result_merge(struct bench_result *into, const struct bench_result *from)
{
	assert(into != from);
	into->sent += from->sent;
	into->resends += from->resends;
	into->replies += from->replies;
	into->cycles += from->cycles;
	into->consumed += from->consumed;
	into->errors += from->errors;
	into->duplicates += from->duplicates;
	into->unanswered += from->unanswered;
	into->empty_receives += from->empty_receives;
	into->cookie_retries += from->cookie_retries;
	into->unavailable += from->unavailable;
	bench_hist_merge(&into->latency_ns, &from->latency_ns);
}

bool bench_result_refused(const struct bench_result *r)
{
	uint64_t refusals = r->errors + r->unavailable;
	return refusals * 100 > (r->replies + refusals) * BENCH_REFUSALS_PERCENT_MAX;
}

static double us(const struct bench_result *r, double q)
{
	return (double)bench_hist_quantile(&r->latency_ns, q) / 1e3;
}

int bench_result_print(FILE *out, const struct bench_labels *labels,
                       const struct bench_load_options *o, const struct bench_result *r)
{
	assert(r->seconds > 0);
	bool open = o->rate_per_s > 0;
	bool refused = bench_result_refused(r);
	if (refused)
		fprintf(stderr,
		        "busbar-bench: %s: %llu of %llu answers were refusals (over %u%%): the run "
		        "measured refusals, not the operation; no rate reported\n",
		        labels->system, (unsigned long long)(r->errors + r->unavailable),
		        (unsigned long long)(r->errors + r->unavailable + r->replies),
		        BENCH_REFUSALS_PERCENT_MAX);
	fprintf(out,
	        "{\"system\":\"%s\",\"mode\":\"%s\",\"op\":\"%s\",\"transport\":\"%s\","
	        "\"baseline\":%s,",
	        labels->system, open ? "open" : "closed", bench_op_name(o->op), labels->transport,
	        labels->baseline ? "true" : "false");
	if (labels->scenario != NULL)
		fprintf(out, "\"scenario\":\"%s\",", labels->scenario);
	if (open)
		fprintf(out, "\"offered_per_s\":%.0f,", o->rate_per_s);
	else
		fprintf(out, "\"window\":%u,", o->window);
	if (refused)
		fprintf(out, "\"failed\":\"refusals over %u%% of the answers\",",
		        BENCH_REFUSALS_PERCENT_MAX);
	fprintf(out, "\"body_bytes\":%u,\"queues\":%u,\"seconds\":%.2f,\"requests\":%llu,",
	        labels->body_bytes, labels->queues, r->seconds, (unsigned long long)r->replies);
	if (refused)
		fprintf(out, "\"requests_per_s\":null,\"cycles_per_s\":null,");
	else
		fprintf(out, "\"requests_per_s\":%.0f,\"cycles_per_s\":%.0f,",
		        (double)r->replies / r->seconds, (double)r->cycles / r->seconds);
	if (o->consumers > 0)
		fprintf(out, "\"consumers\":%u,\"consumed\":%llu,\"consumed_per_s\":%.0f,",
		        o->consumers, (unsigned long long)r->consumed,
		        (double)r->consumed / r->seconds);
	fprintf(out,
	        "\"errors\":%llu,\"resends\":%llu,"
	        "\"duplicates\":%llu,\"unanswered\":%llu,\"empty_receives\":%llu,"
	        "\"cookie_retries\":%llu,\"unavailable\":%llu,"
	        "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	        "\"p9999_us\":%.1f,\"max_us\":%.1f}\n",
	        (unsigned long long)r->errors, (unsigned long long)r->resends,
	        (unsigned long long)r->duplicates, (unsigned long long)r->unanswered,
	        (unsigned long long)r->empty_receives, (unsigned long long)r->cookie_retries,
	        (unsigned long long)r->unavailable,
	        us(r, 0.5), us(r, 0.9), us(r, 0.99), us(r, 0.999), us(r, 0.9999),
	        (double)r->latency_ns.max / 1e3);
	fflush(out);
	return refused ? -EPROTO : 0;
}

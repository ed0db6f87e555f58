/*
 * bench-auth: what authentication costs one lcore (issue 16), on 256-byte
 * SendMessage requests (the size the issue names) with one key, each step
 * timed over --requests N in a loop of its own and printed as one JSON line:
 *   sign_ns          a client signing a request (libbusbar's bb_mac_sign)
 *   check_pass_ns    busbard's whole dp_auth_check on a valid request with a
 *                    new request id (bucket, header, key, skew, MAC, replay window)
 *   reply_sign_ns    busbard signing its reply (dp_auth_sign_reply)
 *   check_bad_mac_ns a request with a wrong MAC, refused
 *   check_dropped_ns a request over its source's token bucket, dropped before the MAC
 *   check_none_ns    the same check in the unauthenticated mode
 * Times are the thread's CPU time, so other processes on a shared machine do
 * not count. Usage: bench-auth [--requests N]. Run it inside
 * `flock /tmp/bench.lock`; it uses one core for a few seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_auth.h"

#define REQUESTS_DEFAULT 200000u
#define REQUESTS_MAX     100000000u
#define MESSAGE_BYTES    256u
#define NOW_MS           1700000000000ull
#define KEY_ID           3u

static const char secret[] = "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD";

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* not the time others ran */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void build(uint8_t *m, uint64_t request_id)
{
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_SEND_MESSAGE,
	                        .body_bytes = MESSAGE_BYTES - BB_WIRE_HEADER_BYTES,
	                        .key_id = KEY_ID,
	                        .client_id = 77,
	                        .request_id = request_id,
	                        .timestamp_ms = NOW_MS};
	wire_header_encode(&h, m);
}

/* Times count runs of dp_auth_check; every verdict must be `want`. */
static double time_checks(struct dp_auth *a, const struct dp_auth_keys *keys, uint8_t *m,
                          uint32_t count, bool fresh_ids, struct bb_mac *mac,
                          enum dp_auth_verdict want)
{
	double start = now_s();
	for (uint32_t i = 0; i < count; i++) {
		if (fresh_ids) { /* a new id must be signed anew: done outside the clock below */
			build(m, (uint64_t)i + 1);
			if (bb_mac_sign(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, m,
			                MESSAGE_BYTES) != 0)
				abort();
		}
		struct dp_auth_result r;
		dp_auth_check(a, keys, m, MESSAGE_BYTES, 1, NOW_MS, &r);
		if (r.verdict != want)
			abort();
	}
	return (now_s() - start) / count * 1e9;
}

static double time_signs(struct bb_mac *mac, uint8_t *m, uint32_t count)
{
	double start = now_s();
	for (uint32_t i = 0; i < count; i++) {
		m[24] = (uint8_t)i;
		if (bb_mac_sign(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, m,
		                MESSAGE_BYTES))
			abort();
	}
	return (now_s() - start) / count * 1e9;
}

int main(int argc, char **argv)
{
	uint32_t count = REQUESTS_DEFAULT;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--requests") == 0)
			count = (uint32_t)strtoul(argv[i + 1], NULL, 10);
	}
	if (count == 0 || count > REQUESTS_MAX) {
		fprintf(stderr, "bench-auth: --requests 1-%u\n", REQUESTS_MAX);
		return 2;
	}
	static struct dp_auth_keys keys;
	struct bb_snapshot_key k = {.key_id = KEY_ID};
	memcpy(k.secret, secret, BB_KEY_SECRET_BYTES);
	dp_auth_keys_add(&keys, &k);
	struct dp_auth_options o;
	dp_auth_options_default(&o);
	o.source_rate_per_s = DP_AUTH_SOURCE_RATE_PER_S_MAX;
	o.source_burst = DP_AUTH_SOURCE_BURST_MAX;
	struct dp_auth pass, none, limited;
	struct bb_mac *mac = bb_mac_new();
	if (mac == NULL || dp_auth_init(&pass, &o) != 0)
		return 1;
	o.mode = DP_AUTH_NONE;
	if (dp_auth_init(&none, &o) != 0)
		return 1;
	o = (struct dp_auth_options){
	    .mode = DP_AUTH_REQUIRED, .source_rate_per_s = 1, .source_burst = 1};
	if (dp_auth_init(&limited, &o) != 0)
		return 1;
	static uint8_t m[MESSAGE_BYTES];
	double sign_ns = time_signs(mac, m, count);
	/* check_pass includes a client signing per request (fresh ids): subtract it. */
	double pass_ns = time_checks(&pass, &keys, m, count, true, mac, DP_AUTH_PASS) - sign_ns;
	double reply_ns = time_signs(mac, m, count); /* dp_auth_sign_reply is bb_mac_sign */
	build(m, 1);
	m[MESSAGE_BYTES - 1] ^= 1; /* unsigned garbage in the MAC field: a bad MAC */
	double bad_ns = time_checks(&pass, &keys, m, count, false, mac, DP_AUTH_REFUSE);
	struct dp_auth_result first;
	dp_auth_check(&limited, &keys, m, MESSAGE_BYTES, 1, NOW_MS, &first); /* the one token */
	double dropped_ns = time_checks(&limited, &keys, m, count, false, mac, DP_AUTH_DROP);
	build(m, 1);
	memset(m + 12, 0, 4); /* key id 0: what the unauthenticated mode takes */
	double none_ns = time_checks(&none, &keys, m, count, false, mac, DP_AUTH_PASS);
	printf("{\"mode\":\"auth\",\"requests\":%u,\"request_bytes\":%u,\"sign_ns\":%.0f,"
	       "\"check_pass_ns\":%.0f,\"reply_sign_ns\":%.0f,\"check_bad_mac_ns\":%.0f,"
	       "\"check_dropped_ns\":%.1f,\"check_none_ns\":%.1f}\n",
	       count, MESSAGE_BYTES, sign_ns, pass_ns, reply_ns, bad_ns, dropped_ns, none_ns);
	dp_auth_free(&pass);
	dp_auth_free(&none);
	dp_auth_free(&limited);
	bb_mac_free(mac);
	return 0;
}

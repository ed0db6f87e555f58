/*
 * Authentication of UDP requests on the lcore that receives them (docs/protocol.md,
 * "Authentication"), before any byte of the body is parsed:
 *   1. a token bucket per source address (floods are shed before a MAC is computed),
 *   2. the header alone: key id known and not expired, client id set, timestamp within
 *      the skew,
 *   3. the MAC (common/bb_mac.h) over header and body,
 *   4. only then the replay window (RFC 6479) of the (key id, client id) pair: a request
 *      id seen before goes on only to the owner's retry window, which answers a retry
 *      with its first answer.
 * Afterwards dp_auth_allows checks the key's policy for the operation and resource.
 *
 * The key table comes with the snapshot (dp_snapshot.h): immutable once published.
 * Per-worker state (MAC context, windows, buckets, counters) is allocated at start and
 * touched only by its worker. No DPDK here, so tests and the fuzzer drive it directly.
 */
#ifndef BB_DP_AUTH_H
#define BB_DP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "bb_mac.h"
#include "bb_policy.h"
#include "bb_snapshot.h"
#include "wire.h"

#define DP_AUTH_SOURCE_RATE_PER_S_DEFAULT 50000u /* requests a second from one address */
#define DP_AUTH_SOURCE_BURST_DEFAULT      5000u
#define DP_AUTH_SOURCE_RATE_PER_S_MAX     100000000u
#define DP_AUTH_SOURCE_BURST_MAX          1000000u /* x 1000 milli-tokens fits 32 bits */
#define DP_AUTH_REPLAY_WAYS               4u       /* replay windows live in sets of this many */
#define DP_AUTH_REASON_BYTES              128u

enum dp_auth_mode {
	DP_AUTH_REQUIRED = 0, /* the default: every UDP request signed by a key */
	DP_AUTH_NONE = 1,     /* "auth": {"mode": "none"} in the config, said at start */
};

struct dp_auth_options {
	enum dp_auth_mode mode;
	uint32_t skew_ms;           /* a timestamp this far from our clock is refused */
	uint32_t source_rate_per_s; /* token bucket refill, per source address */
	uint32_t source_burst;      /* and its depth */
};

/* The defaults: authentication required, BB_AUTH_SKEW_MS_DEFAULT, the source defaults. */
void dp_auth_options_default(struct dp_auth_options *out);
/*
 * The config's "auth" object: {"mode": "required" | "none", "skew_ms": N,
 * "source_rate_per_s": N, "source_burst": N}, each optional. 0 or -EINVAL with
 * the reason in error. (json is a jansson json_t.)
 */
__attribute__((warn_unused_result)) int dp_auth_options_parse(const void *json,
                                                              struct dp_auth_options *out,
                                                              char *error, size_t error_bytes);

struct dp_auth_key {
	uint32_t key_id;
	uint8_t secret[BB_KEY_SECRET_BYTES];
	uint64_t expires_ms; /* 0: none */
	bool has_policy;     /* without one the key may do nothing */
	struct bb_policy policy;
};

/* A snapshot's keys by ascending key id (busbar-control sends them so; checked). */
struct dp_auth_keys {
	uint32_t count;
	bool invalid; /* a key the service thread could not take: the snapshot is refused */
	char invalid_reason[DP_AUTH_REASON_BYTES];
	struct dp_auth_key keys[BB_KEY_COUNT_MAX];
};

/* Adds a decoded key entry (the service thread, while parsing a snapshot). */
void dp_auth_keys_add(struct dp_auth_keys *keys, const struct bb_snapshot_key *entry);
const struct dp_auth_key *dp_auth_keys_find(const struct dp_auth_keys *keys, uint32_t key_id);
/* Zeroes every secret (before the table's memory is freed or reused). */
void dp_auth_keys_clear(struct dp_auth_keys *keys);

/* Why a request was not let through, one counter each (GetStats "auth_*"). */
struct dp_auth_stats {
	uint64_t passed;
	uint64_t unauthenticated_passed; /* mode none */
	uint64_t rate_limited;           /* dropped by the source's token bucket */
	uint64_t malformed;              /* no readable header */
	uint64_t missing_key;            /* key id 0 or client id 0 */
	uint64_t unknown_key;
	uint64_t expired_key;
	uint64_t stale_timestamp;
	uint64_t future_timestamp;
	uint64_t bad_mac;
	uint64_t replay_too_old; /* below the window: dropped */
	uint64_t replay_seen;    /* in the window and seen: only the retry window answers */
	uint64_t replay_forgotten; /* seen, and the owner's retry window forgot it: dropped */
	uint64_t access_denied;
	uint64_t replies_signed;
	uint64_t replies_key_gone; /* the key went between request and reply: sent unsigned */
};

struct dp_auth_window {
	uint32_t key_id;
	uint64_t client_id;
	bool used;        /* holds a client's window */
	uint64_t top;     /* highest request id accepted */
	uint64_t used_ms; /* for replacement in its set */
	uint64_t bitmap[BB_REPLAY_WINDOW_BITS / 64];
};

struct dp_auth_bucket {
	uint32_t source_ip; /* 0: empty */
	uint32_t tokens_milli;
	uint64_t refilled_ms;
};

struct dp_auth {
	struct dp_auth_options options;
	struct bb_mac *mac;
	struct dp_auth_window *windows; /* BB_AUTH_CLIENTS_PER_WORKER */
	struct dp_auth_bucket *buckets; /* BB_AUTH_SOURCES_PER_WORKER */
	struct dp_auth_stats stats;
};

__attribute__((warn_unused_result)) int dp_auth_init(struct dp_auth *auth,
                                                     const struct dp_auth_options *options);
void dp_auth_free(struct dp_auth *auth);

enum dp_auth_verdict {
	DP_AUTH_PASS = 0,   /* verified (or mode none): route it */
	DP_AUTH_REPLAY = 1, /* verified, its request id seen: only a remembered answer may go */
	DP_AUTH_REFUSE = 2, /* answer with status and why (header only; never signed) */
	DP_AUTH_DROP = 3,   /* no answer at all */
};

struct dp_auth_result {
	enum dp_auth_verdict verdict;
	enum wire_status status;
	const char *why;
	const struct dp_auth_key *key; /* the verified key (PASS, REPLAY); NULL in mode none */
};

/*
 * Checks one UDP request of length bytes from source_ip (host order) against the keys
 * of the running snapshot (NULL: none yet). Reads the header and, for the MAC, the
 * bytes; parses nothing of the body.
 */
void dp_auth_check(struct dp_auth *auth, const struct dp_auth_keys *keys, const uint8_t *bytes,
                   size_t length, uint32_t source_ip, uint64_t now_ms, struct dp_auth_result *out);

/*
 * Gives request_id back to the replay window of (key_id, client_id): for a verified
 * request that did nothing, answered RetryWithCookie, whose retry comes under the same id
 * (docs/protocol.md, "Cookies"). Only its own first arrival may give an id back (never a
 * replay of it, whose id may belong to a run since), and it makes no window.
 */
void dp_auth_replay_release(struct dp_auth *auth, uint32_t key_id, uint64_t client_id,
                            uint64_t request_id);

/* Mode none: everything passes but a request with a key id (InvalidClientTokenId). */
void dp_auth_check_unauthenticated(const uint8_t *bytes, size_t length, struct dp_auth_result *out);

/* Whether the key may run opcode on the named queue, topic (Publish) or bus (PutEvents):
 * always true for key NULL in mode none. */
bool dp_auth_allows(struct dp_auth *auth, const struct dp_auth_key *key, uint8_t opcode,
                    const uint8_t *name, size_t name_bytes);

/* Signs a reply to a request verified with key (key_id and MAC fields). */
__attribute__((warn_unused_result)) int dp_auth_sign_reply(struct dp_auth *auth,
                                                           const struct dp_auth_key *key,
                                                           uint8_t *reply, size_t reply_bytes);

/* The IAM action of an opcode ("sqs:SendMessage"), NULL for none. */
const char *dp_auth_action(uint8_t opcode);

/*
 * busbard's workers (defined in dp_auth_route.c, which also registers the mbuf field that
 * carries a request's verified key to its reply): busbard.c calls dp_auth_setup once after
 * the EAL and before the workers start; a worker finds its state with dp_auth_of (NULL when
 * the dataplane runs without dp_auth_setup, as in most packet harness tests: then nothing
 * is authenticated).
 */
__attribute__((warn_unused_result)) int dp_auth_setup(uint32_t worker_count,
                                                      const struct dp_auth_options *options);
struct dp_auth *dp_auth_of(uint32_t worker);
void dp_auth_teardown(void);

#endif

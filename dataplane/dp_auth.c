/*
 * UDP request authentication (see dp_auth.h). Order matters and is the point:
 * the cheap checks that need no secret come first, the MAC next, and state that
 * an attacker could poison (the replay window) is touched only by requests the
 * MAC proved to come from the key's holder.
 *
 * Replay window (RFC 6479): BB_REPLAY_WINDOW_BITS bits in 64-bit blocks, the top
 * request id accepted, and the window covering the BB_REPLAY_WINDOW_BITS - 64 ids
 * below it. An id above the top slides the window (clearing the blocks it passes);
 * one below the window is refused; one inside is refused if its bit is set.
 */
#include "dp_auth.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bb_endian.h"

#define WINDOW_BLOCKS       (BB_REPLAY_WINDOW_BITS / 64)
#define WINDOW_SPAN         (BB_REPLAY_WINDOW_BITS - 64) /* ids below top still judged */
#define WINDOW_SETS         (BB_AUTH_CLIENTS_PER_WORKER / DP_AUTH_REPLAY_WAYS)
#define RESOURCE_ARN_BYTES_MAX 384 /* a queue's, topic's or bus's */
#define OFF_KEY_ID          12
#define OFF_CLIENT_ID       16
#define OFF_REQUEST_ID      24
#define OFF_TIMESTAMP_MS    32

_Static_assert(BB_AUTH_CLIENTS_PER_WORKER % DP_AUTH_REPLAY_WAYS == 0, "whole sets");
_Static_assert(RESOURCE_ARN_BYTES_MAX > sizeof("arn:aws:events:::event-bus/") +
                                             BB_BUS_NAME_BYTES_MAX + 64 &&
                   BB_BUS_NAME_BYTES_MAX <= BB_TOPIC_NAME_BYTES_MAX,
               "an ARN of any resource fits, region and account included");

/* ---- options ---- */

void dp_auth_options_default(struct dp_auth_options *o)
{
	*o = (struct dp_auth_options){.mode = DP_AUTH_REQUIRED,
	                              .skew_ms = BB_AUTH_SKEW_MS_DEFAULT,
	                              .source_rate_per_s = DP_AUTH_SOURCE_RATE_PER_S_DEFAULT,
	                              .source_burst = DP_AUTH_SOURCE_BURST_DEFAULT};
}

static int option_fail(char *error, size_t error_bytes, const char *key, const char *why)
{
	snprintf(error, error_bytes, "auth.%s: %s", key, why);
	return -EINVAL;
}

static int option_uint(json_t *value, const char *key, uint64_t max, uint32_t *out, char *error,
                       size_t error_bytes)
{
	if (!json_is_integer(value) || json_integer_value(value) < 1 ||
	    (uint64_t)json_integer_value(value) > max) {
		char why[64];
		snprintf(why, sizeof(why), "expected an integer 1-%llu", (unsigned long long)max);
		return option_fail(error, error_bytes, key, why);
	}
	*out = (uint32_t)json_integer_value(value);
	return 0;
}

static int option_mode(json_t *value, struct dp_auth_options *o, char *error, size_t error_bytes)
{
	const char *text = json_string_value(value);
	if (text != NULL && strcmp(text, "required") == 0)
		o->mode = DP_AUTH_REQUIRED;
	else if (text != NULL && strcmp(text, "none") == 0)
		o->mode = DP_AUTH_NONE;
	else
		return option_fail(error, error_bytes, "mode", "expected \"required\" or \"none\"");
	return 0;
}

int dp_auth_options_parse(const void *json, struct dp_auth_options *o, char *error,
                          size_t error_bytes)
{
	json_t *object = (json_t *)json;
	assert(o != NULL);
	if (!json_is_object(object))
		return option_fail(error, error_bytes, "", "expected an object");
	const char *key;
	json_t *value;
	json_object_foreach(object, key, value)
	{
		int rc;
		if (strcmp(key, "mode") == 0)
			rc = option_mode(value, o, error, error_bytes);
		else if (strcmp(key, "skew_ms") == 0)
			rc = option_uint(value, key, BB_AUTH_SKEW_MS_MAX, &o->skew_ms, error,
			                 error_bytes);
		else if (strcmp(key, "source_rate_per_s") == 0)
			rc = option_uint(value, key, DP_AUTH_SOURCE_RATE_PER_S_MAX,
			                 &o->source_rate_per_s, error, error_bytes);
		else if (strcmp(key, "source_burst") == 0)
			rc = option_uint(value, key, DP_AUTH_SOURCE_BURST_MAX, &o->source_burst,
			                 error, error_bytes);
		else
			rc = option_fail(error, error_bytes, key, "unknown key");
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- keys (service thread) ---- */

static void keys_invalid(struct dp_auth_keys *keys, uint32_t key_id, const char *reason)
{
	if (keys->invalid)
		return; /* the first reason is the one to fix */
	keys->invalid = true;
	snprintf(keys->invalid_reason, sizeof(keys->invalid_reason), "key %u: %.100s", key_id,
	         reason);
}

void dp_auth_keys_add(struct dp_auth_keys *keys, const struct bb_snapshot_key *e)
{
	assert(keys != NULL && e != NULL);
	assert(keys->count <= BB_KEY_COUNT_MAX);
	if (keys->count == BB_KEY_COUNT_MAX) {
		keys_invalid(keys, e->key_id, "too many keys");
		return;
	}
	if (keys->count > 0 && keys->keys[keys->count - 1].key_id >= e->key_id) {
		keys_invalid(keys, e->key_id, "keys out of order or repeated");
		return;
	}
	struct dp_auth_key *k = &keys->keys[keys->count];
	char error[DP_AUTH_REASON_BYTES];
	k->key_id = e->key_id;
	memcpy(k->secret, e->secret, BB_KEY_SECRET_BYTES);
	k->expires_ms = e->expires_s > UINT64_MAX / 1000 ? UINT64_MAX : e->expires_s * 1000;
	k->has_policy = e->policy_json != NULL;
	if (k->has_policy && bb_policy_compile(e->policy_json, e->policy_bytes, &k->policy, error,
	                                       sizeof(error)) != 0) {
		explicit_bzero(k->secret, sizeof(k->secret));
		keys_invalid(keys, e->key_id, error);
		return;
	}
	keys->count++;
}

const struct dp_auth_key *dp_auth_keys_find(const struct dp_auth_keys *keys, uint32_t key_id)
{
	if (keys == NULL)
		return NULL;
	uint32_t low = 0, high = keys->count; /* binary search: ids ascend */
	while (low < high) {
		uint32_t middle = low + (high - low) / 2;
		if (keys->keys[middle].key_id == key_id)
			return &keys->keys[middle];
		if (keys->keys[middle].key_id < key_id)
			low = middle + 1;
		else
			high = middle;
	}
	return NULL;
}

void dp_auth_keys_clear(struct dp_auth_keys *keys)
{
	for (uint32_t i = 0; keys != NULL && i < keys->count; i++)
		explicit_bzero(keys->keys[i].secret, sizeof(keys->keys[i].secret));
}

/* ---- per worker ---- */

int dp_auth_init(struct dp_auth *a, const struct dp_auth_options *o)
{
	assert(a != NULL && o != NULL);
	memset(a, 0, sizeof(*a));
	a->options = *o;
	if (a->options.skew_ms == 0)
		a->options.skew_ms = BB_AUTH_SKEW_MS_DEFAULT;
	if (a->options.source_rate_per_s == 0)
		a->options.source_rate_per_s = DP_AUTH_SOURCE_RATE_PER_S_DEFAULT;
	if (a->options.source_burst == 0)
		a->options.source_burst = DP_AUTH_SOURCE_BURST_DEFAULT;
	a->mac = bb_mac_new();
	a->windows = calloc(BB_AUTH_CLIENTS_PER_WORKER, sizeof(*a->windows));
	a->buckets = calloc(BB_AUTH_SOURCES_PER_WORKER, sizeof(*a->buckets));
	if (a->mac == NULL || a->windows == NULL || a->buckets == NULL) {
		dp_auth_free(a);
		return -ENOMEM;
	}
	return 0;
}

void dp_auth_free(struct dp_auth *a)
{
	bb_mac_free(a->mac);
	free(a->windows);
	free(a->buckets);
	a->mac = NULL;
	a->windows = NULL;
	a->buckets = NULL;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* One bucket per slot; a source that lands on a slot held by another takes it over full. */
static bool bucket_take(struct dp_auth *a, uint32_t source_ip, uint64_t now_ms)
{
	struct dp_auth_bucket *b = &a->buckets[mix64(source_ip) % BB_AUTH_SOURCES_PER_WORKER];
	uint64_t burst_milli = (uint64_t)a->options.source_burst * 1000;
	if (b->source_ip != source_ip || now_ms < b->refilled_ms) {
		*b = (struct dp_auth_bucket){.source_ip = source_ip,
		                             .tokens_milli = (uint32_t)burst_milli,
		                             .refilled_ms = now_ms};
	}
	uint64_t elapsed_ms = now_ms - b->refilled_ms;
	if (elapsed_ms > 1000000) /* long idle: full anyway; keeps the product in range */
		elapsed_ms = 1000000;
	uint64_t refill = elapsed_ms * a->options.source_rate_per_s; /* milli-tokens */
	uint64_t tokens = b->tokens_milli + (refill < burst_milli ? refill : burst_milli);
	b->tokens_milli = (uint32_t)(tokens < burst_milli ? tokens : burst_milli);
	b->refilled_ms = now_ms;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

/* The window of (key id, client id), made (replacing its set's least used) if new. */
static struct dp_auth_window *window_of(struct dp_auth *a, uint32_t key_id, uint64_t client_id)
{
	uint64_t set = mix64(client_id ^ ((uint64_t)key_id << 32)) % WINDOW_SETS;
	struct dp_auth_window *ways = &a->windows[set * DP_AUTH_REPLAY_WAYS];
	struct dp_auth_window *victim = &ways[0];
	for (uint32_t i = 0; i < DP_AUTH_REPLAY_WAYS; i++) {
		if (ways[i].used && ways[i].key_id == key_id && ways[i].client_id == client_id)
			return &ways[i];
		if (ways[i].used_ms < victim->used_ms)
			victim = &ways[i];
	}
	memset(victim, 0, sizeof(*victim));
	victim->key_id = key_id;
	victim->client_id = client_id;
	return victim;
}

/* The window of (key id, client id) if this worker keeps one; NULL makes none. */
static struct dp_auth_window *window_find(struct dp_auth *a, uint32_t key_id, uint64_t client_id)
{
	uint64_t set = mix64(client_id ^ ((uint64_t)key_id << 32)) % WINDOW_SETS;
	struct dp_auth_window *ways = &a->windows[set * DP_AUTH_REPLAY_WAYS];
	for (uint32_t i = 0; i < DP_AUTH_REPLAY_WAYS; i++) {
		if (ways[i].used && ways[i].key_id == key_id && ways[i].client_id == client_id)
			return &ways[i];
	}
	return NULL;
}

enum window_answer { WINDOW_NEW, WINDOW_SEEN, WINDOW_TOO_OLD };

/* RFC 6479: whether request_id is new to the window; a new one is recorded. */
static enum window_answer window_accept(struct dp_auth_window *win, uint64_t request_id)
{
	uint64_t block = request_id / 64;
	uint64_t bit = (uint64_t)1 << (request_id % 64);
	if (win->used && request_id <= win->top) {
		if (win->top - request_id >= WINDOW_SPAN)
			return WINDOW_TOO_OLD;
		if ((win->bitmap[block % WINDOW_BLOCKS] & bit) != 0)
			return WINDOW_SEEN;
		win->bitmap[block % WINDOW_BLOCKS] |= bit;
		return WINDOW_NEW;
	}
	uint64_t top_block = win->top / 64;
	uint64_t passed = win->used ? block - top_block : WINDOW_BLOCKS;
	if (passed > WINDOW_BLOCKS)
		passed = WINDOW_BLOCKS;
	for (uint64_t i = 1; i <= passed; i++) /* bounded by WINDOW_BLOCKS */
		win->bitmap[(top_block + i) % WINDOW_BLOCKS] = 0;
	win->used = true;
	win->top = request_id;
	win->bitmap[block % WINDOW_BLOCKS] |= bit;
	return WINDOW_NEW;
}

static void refuse(struct dp_auth_result *out, enum wire_status status, const char *why)
{
	out->verdict = DP_AUTH_REFUSE;
	out->status = status;
	out->why = why;
}

static void drop(struct dp_auth_result *out, const char *why)
{
	out->verdict = DP_AUTH_DROP;
	out->status = WIRE_OK;
	out->why = why;
}

/* Steps 2 and 3: the key, the clock, the MAC. True when the request verified. */
static bool verify(struct dp_auth *a, const struct dp_auth_keys *keys, const uint8_t *bytes,
                   size_t length, uint64_t now_ms, struct dp_auth_result *out)
{
	uint32_t key_id = bb_get_le32(bytes + OFF_KEY_ID);
	uint64_t timestamp_ms = bb_get_le64(bytes + OFF_TIMESTAMP_MS);
	struct dp_auth_stats *st = &a->stats;
	if (key_id == 0 || bb_get_le64(bytes + OFF_CLIENT_ID) == 0) {
		st->missing_key++;
		refuse(out, WIRE_ERR_MISSING_AUTHENTICATION_TOKEN,
		       "requests must be signed: a key id and a client id are required");
		return false;
	}
	const struct dp_auth_key *key = dp_auth_keys_find(keys, key_id);
	if (key == NULL) {
		st->unknown_key++;
		refuse(out, WIRE_ERR_INVALID_CLIENT_TOKEN, "unknown key id");
		return false;
	}
	if (key->expires_ms != 0 && now_ms >= key->expires_ms) {
		st->expired_key++;
		refuse(out, WIRE_ERR_INVALID_CLIENT_TOKEN, "the key expired (rotated)");
		return false;
	}
	if (timestamp_ms + a->options.skew_ms < now_ms) {
		st->stale_timestamp++;
		refuse(out, WIRE_ERR_REQUEST_EXPIRED, "timestamp too old: check the clock");
		return false;
	}
	if (timestamp_ms > now_ms + a->options.skew_ms) {
		st->future_timestamp++;
		refuse(out, WIRE_ERR_REQUEST_EXPIRED, "timestamp in the future: check the clock");
		return false;
	}
	if (bb_mac_verify(a->mac, key->secret, BB_KEY_SECRET_BYTES, bytes, length) != 0) {
		st->bad_mac++;
		refuse(out, WIRE_ERR_SIGNATURE_DOES_NOT_MATCH, "the MAC does not match");
		return false;
	}
	out->key = key;
	return true;
}

void dp_auth_check_unauthenticated(const uint8_t *bytes, size_t length, struct dp_auth_result *out)
{
	assert(out != NULL);
	*out = (struct dp_auth_result){.verdict = DP_AUTH_PASS};
	/* A signed request would be taken as proof of something it is not: refuse it. */
	if (bytes != NULL && length >= BB_WIRE_HEADER_BYTES && bb_get_le32(bytes + OFF_KEY_ID) != 0)
		refuse(out, WIRE_ERR_INVALID_CLIENT_TOKEN,
		       "busbard runs without authentication (auth mode none): send key id 0");
}

void dp_auth_check(struct dp_auth *a, const struct dp_auth_keys *keys, const uint8_t *bytes,
                   size_t length, uint32_t source_ip, uint64_t now_ms, struct dp_auth_result *out)
{
	assert(a != NULL && out != NULL);
	*out = (struct dp_auth_result){.verdict = DP_AUTH_PASS};
	if (a->options.mode == DP_AUTH_NONE) {
		dp_auth_check_unauthenticated(bytes, length, out);
		a->stats.unauthenticated_passed += out->verdict == DP_AUTH_PASS;
		return;
	}
	if (!bucket_take(a, source_ip, now_ms)) {
		a->stats.rate_limited++;
		drop(out, "rate limited");
		return;
	}
	struct wire_header h;
	enum wire_status status =
	    bytes == NULL ? WIRE_ERR_MALFORMED : wire_header_decode(bytes, length, &h);
	if (status != WIRE_OK) {
		a->stats.malformed++; /* answered only if answerable, as the parser's refusals */
		refuse(out, status, "malformed header");
		return;
	}
	if (!verify(a, keys, bytes, length, now_ms, out))
		return;
	struct dp_auth_window *win = window_of(a, h.key_id, h.client_id);
	win->used_ms = now_ms;
	switch (window_accept(win, h.request_id)) {
	case WINDOW_NEW: a->stats.passed++; return;
	case WINDOW_SEEN:
		/* A retry, or a replay: the owner's retry window answers it or nobody does. */
		a->stats.replay_seen++;
		out->verdict = DP_AUTH_REPLAY;
		return;
	case WINDOW_TOO_OLD:
		a->stats.replay_too_old++;
		drop(out, "request id older than the replay window");
		return;
	}
}

void dp_auth_replay_release(struct dp_auth *a, uint32_t key_id, uint64_t client_id,
                            uint64_t request_id)
{
	assert(a != NULL);
	assert(key_id != 0); /* only a verified request's id is in a window */
	struct dp_auth_window *win = window_find(a, key_id, client_id);
	if (win == NULL || request_id > win->top || win->top - request_id >= WINDOW_SPAN)
		return; /* its window was replaced or moved past it: the retry is judged as new */
	win->bitmap[(request_id / 64) % WINDOW_BLOCKS] &= ~((uint64_t)1 << (request_id % 64));
}

const char *dp_auth_action(uint8_t opcode)
{
	switch (opcode) {
	case WIRE_OP_SEND_MESSAGE: return "sqs:SendMessage";
	case WIRE_OP_RECEIVE_MESSAGE: return "sqs:ReceiveMessage";
	case WIRE_OP_DELETE_MESSAGE: return "sqs:DeleteMessage";
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY: return "sqs:ChangeMessageVisibility";
	/* As in SQS, a batch needs the permission of its single call. */
	case WIRE_OP_SEND_MESSAGE_BATCH: return "sqs:SendMessage";
	case WIRE_OP_DELETE_MESSAGE_BATCH: return "sqs:DeleteMessage";
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: return "sqs:ChangeMessageVisibility";
	case WIRE_OP_PUBLISH: return "sns:Publish";
	case WIRE_OP_PUBLISH_BATCH: return "sns:Publish"; /* as SNS: PublishBatch needs Publish */
	case WIRE_OP_PUT_EVENTS: return "events:PutEvents";
	default: return NULL;
	}
}

/* The ARN a request acts on: its queue's, topic's or bus's. False when the name is too long. */
static bool resource_arn(uint8_t opcode, const uint8_t *name, size_t name_bytes, char *out,
                         size_t out_bytes)
{
	char text[BB_TOPIC_NAME_BYTES_MAX + 1];
	if (name_bytes > BB_TOPIC_NAME_BYTES_MAX || name_bytes > BB_BUS_NAME_BYTES_MAX)
		return false;
	memcpy(text, name, name_bytes);
	text[name_bytes] = '\0';
	const char *region = BB_POLICY_REGION_DEFAULT, *account = BB_POLICY_ACCOUNT_ID_DEFAULT;
	int n;
	if (opcode == WIRE_OP_PUBLISH || opcode == WIRE_OP_PUBLISH_BATCH)
		n = snprintf(out, out_bytes, "arn:aws:sns:%s:%s:%s", region, account, text);
	else if (opcode == WIRE_OP_PUT_EVENTS)
		n = snprintf(out, out_bytes, "arn:aws:events:%s:%s:event-bus/%s", region, account,
		             text);
	else
		return name_bytes <= BB_QUEUE_NAME_BYTES_MAX &&
		       bb_policy_queue_arn(region, account, text, out, out_bytes);
	return n > 0 && (size_t)n < out_bytes;
}

bool dp_auth_allows(struct dp_auth *a, const struct dp_auth_key *key, uint8_t opcode,
                    const uint8_t *name, size_t name_bytes)
{
	assert(a != NULL);
	if (key == NULL && a->options.mode == DP_AUTH_NONE)
		return true;
	const char *action = dp_auth_action(opcode);
	char arn[RESOURCE_ARN_BYTES_MAX];
	bool allowed = false;
	if (key != NULL && action != NULL && key->has_policy &&
	    resource_arn(opcode, name, name_bytes, arn, sizeof(arn)))
		allowed = bb_policy_allows(&key->policy, action, arn);
	if (!allowed)
		a->stats.access_denied++;
	return allowed;
}

int dp_auth_sign_reply(struct dp_auth *a, const struct dp_auth_key *key, uint8_t *reply,
                       size_t reply_bytes)
{
	assert(a != NULL && reply != NULL);
	if (key == NULL)
		return 0; /* mode none: replies go unsigned, as requests came */
	if (reply_bytes < BB_WIRE_HEADER_BYTES)
		return -EINVAL;
	bb_put_le32(reply + OFF_KEY_ID, key->key_id);
	return bb_mac_sign(a->mac, key->secret, BB_KEY_SECRET_BYTES, reply, reply_bytes);
}

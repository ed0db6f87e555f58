/* Retry window (see dp_dedup.h). Touched by its owner lcore only. */
#include "dp_dedup.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bb_endian.h"
#include "dp_cookie.h"

int dp_dedup_init(struct dp_dedup *d, uint32_t entry_count, uint64_t arena_bytes)
{
	assert(entry_count >= DP_DEDUP_WAYS && entry_count % DP_DEDUP_WAYS == 0);
	memset(d, 0, sizeof(*d));
	d->entries = calloc(entry_count, sizeof(*d->entries));
	d->arena = malloc(arena_bytes);
	if (d->entries == NULL || d->arena == NULL) {
		dp_dedup_free(d);
		return -ENOMEM;
	}
	d->set_count = entry_count / DP_DEDUP_WAYS;
	d->arena_bytes = arena_bytes;
	/* The sets' secret: unknown outside the process, so ids cannot be chosen to share a set. */
	int rc = dp_cookie_key_init(&d->index_key);
	if (rc != 0)
		dp_dedup_free(d);
	return rc;
}

void dp_dedup_free(struct dp_dedup *d)
{
	free(d->entries);
	free(d->arena);
	d->entries = NULL;
	d->arena = NULL;
}

uint32_t dp_dedup_set_index(const struct dp_dedup *d, const struct dp_dedup_key *key)
{
	uint8_t ids[4 + 8 + 8]; /* key id, client id, request id, little-endian */
	bb_put_le32(ids, key->key_id);
	bb_put_le64(ids + 4, key->client_id);
	bb_put_le64(ids + 12, key->request_id);
	uint32_t set = (uint32_t)(dp_siphash(&d->index_key, ids, sizeof(ids)) % d->set_count);
	assert(set < d->set_count);
	return set;
}

static struct dp_dedup_entry *set_of(struct dp_dedup *d, const struct dp_dedup_key *key)
{
	return &d->entries[(size_t)dp_dedup_set_index(d, key) * DP_DEDUP_WAYS];
}

static bool same_ids(const struct dp_dedup_entry *e, const struct dp_dedup_key *key)
{
	return e->key_id == key->key_id && e->client_id == key->client_id &&
	       e->request_id == key->request_id;
}

/* The entry of key's ids (under key's key id only), whatever its digest; NULL if none. */
static struct dp_dedup_entry *find(struct dp_dedup *d, const struct dp_dedup_key *key)
{
	struct dp_dedup_entry *set = set_of(d, key);
	for (uint32_t way = 0; way < DP_DEDUP_WAYS; way++) {
		struct dp_dedup_entry *e = &set[way];
		if (e->state != DP_DEDUP_UNKNOWN && same_ids(e, key))
			return e;
	}
	return NULL;
}

static bool reply_still_stored(const struct dp_dedup *d, const struct dp_dedup_entry *e)
{
	return d->arena_written - e->arena_position <= d->arena_bytes;
}

enum dp_dedup_state dp_dedup_lookup(struct dp_dedup *d, const struct dp_dedup_key *key,
                                    const uint8_t **reply, uint32_t *reply_bytes)
{
	struct dp_dedup_entry *e = find(d, key);
	if (e == NULL)
		return DP_DEDUP_UNKNOWN;
	if (e->state == DP_DEDUP_DONE && !reply_still_stored(d, e)) {
		e->state = DP_DEDUP_UNKNOWN;
		return DP_DEDUP_UNKNOWN;
	}
	if (e->digest != key->digest)
		return DP_DEDUP_CONFLICT;
	if (e->state == DP_DEDUP_DONE) {
		*reply = d->arena + e->arena_position % d->arena_bytes;
		*reply_bytes = e->reply_bytes;
	}
	return (enum dp_dedup_state)e->state;
}

void dp_dedup_begin(struct dp_dedup *d, const struct dp_dedup_key *key)
{
	assert(find(d, key) == NULL);
	struct dp_dedup_entry *set = set_of(d, key);
	struct dp_dedup_entry *victim = &set[0];
	for (uint32_t way = 1; way < DP_DEDUP_WAYS; way++) {
		if (set[way].stamp < victim->stamp)
			victim = &set[way];
	}
	*victim = (struct dp_dedup_entry){
	    .key_id = key->key_id,
	    .client_id = key->client_id,
	    .request_id = key->request_id,
	    .digest = key->digest,
	    .stamp = ++d->stamp,
	    .state = DP_DEDUP_PENDING,
	};
}

void dp_dedup_finish(struct dp_dedup *d, const struct dp_dedup_key *key, const uint8_t *reply,
                     uint32_t reply_bytes)
{
	struct dp_dedup_entry *e = find(d, key);
	/* Another request's entry (evicted and reused, or a conflict) is not ours to fill. */
	if (e == NULL || e->state != DP_DEDUP_PENDING || e->digest != key->digest)
		return;
	if (reply_bytes > d->arena_bytes) {
		e->state = DP_DEDUP_UNKNOWN;
		return;
	}
	uint64_t position = d->arena_written;
	uint64_t offset = position % d->arena_bytes;
	if (offset + reply_bytes > d->arena_bytes)
		position += d->arena_bytes - offset; /* keep each reply contiguous */
	memcpy(d->arena + position % d->arena_bytes, reply, reply_bytes);
	d->arena_written = position + reply_bytes;
	e->arena_position = position;
	e->reply_bytes = reply_bytes;
	e->state = DP_DEDUP_DONE;
}

void dp_dedup_forget(struct dp_dedup *d, const struct dp_dedup_key *key)
{
	struct dp_dedup_entry *e = find(d, key);
	if (e == NULL || e->state != DP_DEDUP_PENDING || e->digest != key->digest)
		return;
	e->state = DP_DEDUP_UNKNOWN;
	assert(find(d, key) == NULL && e->state == DP_DEDUP_UNKNOWN);
}

/* UDP cookies (see dp_cookie.h). The key never changes while busbard runs. */
#include "dp_cookie.h"

#include <assert.h>
#include <errno.h>
#include <sys/random.h>

#include "bb_endian.h"

int dp_cookie_key_init(struct dp_siphash_key *key)
{
	uint64_t words[2];
	ssize_t got = getrandom(words, sizeof(words), 0);
	if (got < 0)
		return -errno;
	if (got != (ssize_t)sizeof(words))
		return -EIO;
	key->k0 = words[0];
	key->k1 = words[1];
	return 0;
}

static uint64_t cookie_of_epoch(const struct dp_siphash_key *key,
                                const struct dp_cookie_source *source, uint64_t epoch)
{
	uint8_t input[24] = {0}; /* ip, port, 2 zero bytes, client id, epoch */
	bb_put_le32(input, source->ip_be);
	bb_put_le16(input + 4, source->port_be);
	bb_put_le64(input + 8, source->client_id);
	bb_put_le64(input + 16, epoch);
	return dp_siphash(key, input, sizeof(input));
}

uint64_t dp_cookie_make(const struct dp_siphash_key *key, const struct dp_cookie_source *source,
                        uint64_t now_ms)
{
	assert(key != NULL && source != NULL);
	return cookie_of_epoch(key, source, now_ms / DP_COOKIE_EPOCH_MS);
}

bool dp_cookie_check(const struct dp_siphash_key *key, const struct dp_cookie_source *source,
                     uint64_t now_ms, uint64_t cookie)
{
	assert(key != NULL && source != NULL);
	uint64_t epoch = now_ms / DP_COOKIE_EPOCH_MS;
	if (cookie_of_epoch(key, source, epoch) == cookie)
		return true;
	return epoch > 0 && cookie_of_epoch(key, source, epoch - 1) == cookie;
}

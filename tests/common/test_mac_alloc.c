/*
 * The wire MAC allocates nothing per message (bb_mac.h), with one key or two in
 * turn: OpenSSL's allocator is replaced by a counter before OpenSSL allocates
 * anything, which Criterion's runner does not allow, hence a plain program.
 * OpenSSL 3.0's EVP_MAC re-keyed per message made 5 allocations each time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bb_limits.h"
#include "bb_mac.h"

#define MESSAGES 100

static long allocations;

static void *count_malloc(size_t bytes, const char *file, int line)
{
	(void)file;
	(void)line;
	allocations++;
	return malloc(bytes);
}

static void *count_realloc(void *p, size_t bytes, const char *file, int line)
{
	(void)file;
	(void)line;
	allocations++;
	return realloc(p, bytes);
}

static void plain_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

int main(void)
{
	if (CRYPTO_set_mem_functions(count_malloc, count_realloc, plain_free) != 1) {
		fprintf(stderr, "OpenSSL allocated before main: cannot count\n");
		return 1;
	}
	static const char *const keys[2] = {"AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD",
	                                    "0123456789012345678901234567890123456789"};
	struct bb_mac *m = bb_mac_new();
	uint8_t message[256] = {0x62, 0x62, 1, 0x10};
	for (int i = 0; m != NULL && i < MESSAGES; i++) {
		const uint8_t *key = (const uint8_t *)keys[i % 2];
		if (bb_mac_sign(m, key, BB_KEY_SECRET_BYTES, message, sizeof(message)) != 0 ||
		    bb_mac_verify(m, key, BB_KEY_SECRET_BYTES, message, sizeof(message)) != 0) {
			fprintf(stderr, "sign or verify failed\n");
			return 1;
		}
	}
	bb_mac_free(m);
	printf("%ld OpenSSL allocations for %d signatures and verifications\n", allocations,
	       2 * MESSAGES);
	return m != NULL && allocations == 0 ? 0 : 1;
}

/*
 * What a worker's SNS signature allocates (dataplane/dp_sign.h): OpenSSL's allocator is
 * replaced by a counter before OpenSSL allocates anything (hence a plain program, as
 * tests/common/test_mac_alloc.c), then each signature after the first (which sets up the
 * thread's random generator and the key's blinding) is counted.
 *
 * Proves: every block allocated inside a signature is freed before it returns (none stays
 * live), and signatures allocate at most DP_SIGN_ALLOCATIONS_MAX blocks each on average: what
 * OpenSSL's RSA arithmetic needs (20, and 34 when the blinding is renewed every 32nd), with
 * nothing of ours (contexts prepared per signer, digests on the stack). A signer that set up
 * an EVP_DigestSign context per call made 36 a signature here, and failed this test.
 * Exits 0 and prints the count; 1 on a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dp_sign.h"

#define SIGNATURES 320 /* ten of OpenSSL's blinding periods (32 uses each) */

static long allocations;
static long live;

static void *count_malloc(size_t bytes, const char *file, int line)
{
	(void)file;
	(void)line;
	void *p = malloc(bytes);
	allocations++;
	live += p != NULL;
	return p;
}

static void *count_realloc(void *p, size_t bytes, const char *file, int line)
{
	(void)file;
	(void)line;
	void *q = realloc(p, bytes);
	allocations++;
	live += p == NULL && q != NULL;
	return q;
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	live -= p != NULL;
	free(p);
}

static int sign_once(struct dp_signer *signer, int version)
{
	static const char text[] = "Message\nHello world!\nMessageId\n22b80b92\n"
	                           "Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn\n"
	                           "Type\nNotification\n";
	char sig[DP_SIGN_BASE64_BYTES_MAX];
	size_t length = 0;
	return dp_signer_sign(signer, (enum dp_sign_version)version, (const uint8_t *)text,
	                      sizeof(text) - 1, sig, sizeof(sig), &length);
}

int main(void)
{
	if (CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) != 1) {
		fprintf(stderr, "OpenSSL allocated before main: cannot count\n");
		return 1;
	}
	char dir[] = "/tmp/bb_test_sign_alloc_XXXXXX", error[512] = "";
	int rc = 0;
	struct dp_sign_key *key = mkdtemp(dir) ? dp_sign_key_load(dir, error, sizeof(error), &rc)
	                                       : NULL;
	struct dp_signer *signer = key != NULL ? dp_signer_new(key, &rc) : NULL;
	if (signer == NULL || sign_once(signer, 2) != 0 || sign_once(signer, 1) != 0) {
		fprintf(stderr, "cannot sign: %s (%d)\n", error, rc);
		return 1;
	}
	long most = 0, live_before = live, total_before = allocations;
	for (int i = 0; i < SIGNATURES; i++) {
		long before = allocations;
		if (sign_once(signer, 1 + i % 2) != 0) {
			fprintf(stderr, "signature %d failed\n", i);
			return 1;
		}
		most = allocations - before > most ? allocations - before : most;
	}
	long leaked = live - live_before;
	long total = allocations - total_before;
	printf("OpenSSL allocations per signature: %.1f on average (limit %u), at most %ld, "
	       "live after %d: %ld\n",
	       (double)total / SIGNATURES, DP_SIGN_ALLOCATIONS_MAX, most, SIGNATURES, leaked);
	dp_signer_free(signer);
	dp_sign_key_free(key);
	char file[sizeof(dir) + 32];
	snprintf(file, sizeof(file), "%s/%s", dir, DP_SIGN_KEY_FILE);
	unlink(file);
	snprintf(file, sizeof(file), "%s/%s", dir, DP_SIGN_CERT_FILE);
	unlink(file);
	rmdir(dir);
	return total <= (long)DP_SIGN_ALLOCATIONS_MAX * SIGNATURES && leaked == 0 ? 0 : 1;
}

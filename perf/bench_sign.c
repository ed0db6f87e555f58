/*
 * busbar-bench sign [--signatures N] [--version 1|2] [--message-bytes B]
 *
 * What an SNS signature costs one core (dataplane/dp_sign.h): a key made in a temporary
 * state directory (removed after), one worker's signer, and N signatures of SNS's string to
 * sign for a Notification whose Message has B bytes, then the same strings verified with the
 * certificate's public key, as a subscriber does. Prints one JSON line: version, key_bits,
 * signatures, signatures_per_s, us_per_signature, verifies_per_s, and the sizes. Rates are
 * per second of the thread's CPU time, so others' work on a shared machine does not count.
 * busbard signs once per publish, and that signature serves every subscription of it: a
 * publish fanned out to 10 subscriptions costs one signature, not 10.
 * Run it inside `flock /tmp/bench.lock`; it uses one core for about N * 0.35 ms.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dp_sign.h"

#define SIGNATURES_DEFAULT    2000u
#define SIGNATURES_MAX        1000000u
#define MESSAGE_BYTES_DEFAULT 256u
#define MESSAGE_BYTES_MAX     262144u /* SNS's largest message */
#define TEXT_BYTES_MAX        (MESSAGE_BYTES_MAX + 1024u)
#define PATH_BYTES            256u

struct sign_options {
	unsigned long signatures;
	unsigned long message_bytes;
	int version;
};

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse(int argc, char **argv, struct sign_options *o)
{
	static const struct option longs[] = {
	    {"signatures", required_argument, NULL, 'n'},
	    {"version", required_argument, NULL, 'v'},
	    {"message-bytes", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct sign_options){SIGNATURES_DEFAULT, MESSAGE_BYTES_DEFAULT, 2};
	optind = 2; /* after "sign" */
	int opt;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		char *end = NULL;
		unsigned long value = strtoul(optarg != NULL ? optarg : "", &end, 10);
		if (opt == '?' || end == optarg || *end != '\0')
			return -EINVAL;
		if (opt == 'n')
			o->signatures = value;
		else if (opt == 'v')
			o->version = (int)value;
		else
			o->message_bytes = value;
	}
	bool valid = o->signatures >= 1 && o->signatures <= SIGNATURES_MAX &&
	             o->message_bytes >= 1 && o->message_bytes <= MESSAGE_BYTES_MAX &&
	             (o->version == 1 || o->version == 2) && optind == argc;
	return valid ? 0 : -EINVAL;
}

/* SNS's string to sign of a Notification with a message of message_bytes. */
static size_t string_to_sign(char *out, unsigned long message_bytes)
{
	size_t n = (size_t)sprintf(out, "Message\n");
	memset(out + n, 'm', message_bytes);
	n += message_bytes;
	n += (size_t)sprintf(out + n, "\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	                              "Timestamp\n2012-05-02T00:54:06.655Z\n"
	                              "TopicArn\narn:aws:sns:us-east-1:000000000000:bench\n"
	                              "Type\nNotification\n");
	return n;
}

/* Verifies count signatures of text with the certificate in dir; the CPU seconds, or < 0. */
static double verify_all(const char *dir, int version, const char *text, size_t bytes,
                         const char *sig, size_t sig_bytes, unsigned long count)
{
	char path[PATH_BYTES];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SIGN_CERT_FILE);
	FILE *f = fopen(path, "r");
	X509 *cert = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	unsigned char raw[DP_SIGN_RSA_BYTES_MAX + 3];
	int raw_bytes = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)sig_bytes);
	for (size_t i = sig_bytes; i > 0 && sig[i - 1] == '='; i--)
		raw_bytes--;
	const EVP_MD *md = version == 1 ? EVP_sha1() : EVP_sha256();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	double start = cpu_s();
	bool ok = cert != NULL && ctx != NULL && raw_bytes > 0;
	for (unsigned long i = 0; ok && i < count; i++)
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, X509_get0_pubkey(cert)) == 1 &&
		     EVP_DigestVerify(ctx, raw, (size_t)raw_bytes, (const unsigned char *)text,
		                      bytes) == 1;
	double spent = cpu_s() - start;
	EVP_MD_CTX_free(ctx);
	X509_free(cert);
	return ok ? spent : -1.0;
}

static void remove_state(const char *dir)
{
	char path[PATH_BYTES];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SIGN_KEY_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SIGN_CERT_FILE);
	unlink(path);
	rmdir(dir);
}

/* Signs o->signatures times; the CPU seconds and the last signature, or < 0. */
static double sign_all(struct dp_signer *signer, const struct sign_options *o,
                       const char *text, size_t bytes, char *sig, size_t *sig_bytes)
{
	double start = cpu_s();
	for (unsigned long i = 0; i < o->signatures; i++) {
		if (dp_signer_sign(signer, (enum dp_sign_version)o->version, (const uint8_t *)text,
		                   bytes, sig, DP_SIGN_BASE64_BYTES_MAX, sig_bytes) != 0)
			return -1.0;
	}
	return cpu_s() - start;
}

int bench_sign(int argc, char **argv)
{
	struct sign_options o;
	if (parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: busbar-bench sign [--signatures 1-%u] [--version 1|2] "
		                "[--message-bytes 1-%u]\n",
		        SIGNATURES_MAX, MESSAGE_BYTES_MAX);
		return 2;
	}
	char dir[] = "/tmp/busbar_bench_sign_XXXXXX", error[512] = "";
	int rc = 0;
	struct dp_sign_key *key = mkdtemp(dir) != NULL
	                              ? dp_sign_key_load(dir, error, sizeof(error), &rc)
	                              : NULL;
	struct dp_signer *signer = key != NULL ? dp_signer_new(key, &rc) : NULL;
	char *text = malloc(TEXT_BYTES_MAX);
	char sig[DP_SIGN_BASE64_BYTES_MAX];
	size_t sig_bytes = 0, bytes = text != NULL ? string_to_sign(text, o.message_bytes) : 0;
	double signing = signer != NULL && text != NULL
	                     ? sign_all(signer, &o, text, bytes, sig, &sig_bytes)
	                     : -1.0;
	double verifying = signing > 0 ? verify_all(dir, o.version, text, bytes, sig, sig_bytes,
	                                            o.signatures)
	                               : -1.0;
	dp_signer_free(signer);
	dp_sign_key_free(key);
	remove_state(dir);
	free(text);
	if (signing <= 0 || verifying <= 0) {
		fprintf(stderr, "busbar-bench sign: %s\n",
		        error[0] != '\0' ? error : "signing or verifying failed");
		return 1;
	}
	printf("{\"mode\": \"sign\", \"version\": %d, \"key_bits\": %u, \"message_bytes\": %lu, "
	       "\"string_to_sign_bytes\": %zu, \"signatures\": %lu, \"signatures_per_s\": %.0f, "
	       "\"us_per_signature\": %.1f, \"verifies_per_s\": %.0f}\n",
	       o.version, DP_SIGN_RSA_BITS, o.message_bytes, bytes, o.signatures,
	       (double)o.signatures / signing, signing / (double)o.signatures * 1e6,
	       (double)o.signatures / verifying);
	return 0;
}

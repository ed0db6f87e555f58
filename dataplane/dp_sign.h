/*
 * SNS message signing (docs/sns.md, "Signatures"): the appliance's RSA key and its
 * self-signed certificate in the state directory, and a per-worker signer that turns SNS's
 * string to sign into the base64 signature of the JSON envelope. Plain C with OpenSSL.
 *
 * How busbard uses it:
 *   main thread, at start:  dp_sign_key_load(state_dir, ...)   makes the key and certificate
 *                           the first time, loads them after; then dp_signer_new(key) once
 *                           per worker (contexts prepared here, one RSA copy each);
 *   owner worker, per publish (one signature serves every subscription of the publish):
 *                           dp_signer_sign(signer, version, text, ...), or dp_sign_topic as
 *                           topic_render's sign callback (engines/topic.h) with the signer as
 *                           its context.
 *
 * Memory on the worker: the digest and the contexts allocate nothing per call, but OpenSSL's
 * RSA private-key operation allocates (a BN_CTX and its numbers) and frees before it returns,
 * whichever API calls it: DP_SIGN_ALLOCATIONS_MAX blocks a signature on average, beside ~0.3 ms
 * of arithmetic (docs/sns.md has the figures and why this is accepted). A signer's first
 * signature also sets up what OpenSSL keeps per thread and per key (its random generator, the
 * RSA blinding) and keeps it: so a signer is best first used on the worker that owns it.
 */
#ifndef BB_DP_SIGN_H
#define BB_DP_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

#define DP_SIGN_KEY_FILE  "sns-signing.key" /* PEM PKCS#8, 0600, never logged */
#define DP_SIGN_CERT_FILE "sns-signing.pem" /* PEM X.509, public, served by busbar-control */
#define DP_SIGN_RSA_BITS  2048u             /* a new key; a loaded one may be longer */
#define DP_SIGN_RSA_BITS_MAX 4096u
#define DP_SIGN_CERT_DAYS 3650u
#define DP_SIGN_FILE_BYTES_MAX 16384u /* a key or certificate file read at start */
#define DP_SIGN_RSA_BYTES_MAX  (DP_SIGN_RSA_BITS_MAX / 8u)
#define DP_SIGN_BASE64_BYTES_MAX (4u * ((DP_SIGN_RSA_BYTES_MAX + 2u) / 3u))
/*
 * Blocks OpenSSL 3.0's RSA signing allocates (and frees) per signature, on average: 20 here,
 * 34 when the key's blinding is renewed (every 32nd). Contexts made per call would add 16.
 */
#define DP_SIGN_ALLOCATIONS_MAX 24u

_Static_assert(DP_SIGN_BASE64_BYTES_MAX <= BB_TOPIC_SIGNATURE_BYTES_MAX,
               "a signature fits the envelope's Signature field");

/* SNS's SignatureVersion: 1 SHA1withRSA (a topic asks for it), 2 SHA256withRSA. */
enum dp_sign_version {
	DP_SIGN_V1_SHA1 = 1,
	DP_SIGN_V2_SHA256 = 2,
};

struct dp_sign_key;
struct dp_signer;

/*
 * Loads <state_dir>/sns-signing.key, or makes it (RSA 2048, 0600, written durably) when
 * there is none; then makes <state_dir>/sns-signing.pem again when it is missing or does not
 * hold the key's public key. NULL with *error_out -errno and the reason in error: -EUCLEAN a
 * key file that is not an RSA private key of 2048-4096 bits (damaged), -EPERM one that others
 * may read, -EFBIG one over DP_SIGN_FILE_BYTES_MAX, or the I/O error.
 */
struct dp_sign_key *dp_sign_key_load(const char *state_dir, char *error, size_t error_bytes,
                                     int *error_out);
void dp_sign_key_free(struct dp_sign_key *key);

/* A worker's signer: its own copy of the key and prepared contexts. NULL with *error_out. */
struct dp_signer *dp_signer_new(const struct dp_sign_key *key, int *error_out);
void dp_signer_free(struct dp_signer *signer);

/*
 * Signs text (RSA PKCS#1 v1.5 over SHA-1 or SHA-256) and writes the base64 signature into out
 * without a NUL: 0 with *length_out, -ENOBUFS when capacity is too small, -EINVAL an unknown
 * version, -EIO when OpenSSL fails. One thread per signer.
 */
__attribute__((warn_unused_result)) int dp_signer_sign(struct dp_signer *signer,
                                                       enum dp_sign_version version,
                                                       const uint8_t *text, size_t bytes,
                                                       char *out, size_t capacity,
                                                       size_t *length_out);

/* topic_sign_fn (engines/topic.h) with a struct dp_signer as ctx: version is SNS's 1 or 2. */
int dp_sign_topic(void *signer, unsigned version, const uint8_t *string_to_sign, size_t bytes,
                  char *out, size_t capacity, size_t *length_out);

#endif

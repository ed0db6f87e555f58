/*
 * SNS message signing (dp_sign.h): the appliance's RSA key, made once in the state directory
 * and kept, its self-signed certificate, and the per-worker signers.
 *
 * Invariants: the private key leaves this file only as the 0600 key file (its PEM text is
 * held in buffers that are wiped, and no message names anything of it); a certificate on
 * disk always holds the key's public key, since it is made again from the key whenever it
 * does not. Files are written as the receipt key is: a temporary file, fsync, rename, fsync
 * of the directory, so a crash leaves the old file or the new one.
 *
 * A signer prepares its OpenSSL contexts once (padding and digest chosen) and hashes with
 * the SHA functions on the stack, so what is left to allocate per signature is OpenSSL's RSA
 * arithmetic, which cannot be told not to (dp_sign.h). Each signer has its own copy of the
 * key, so RSA blinding is per worker and never waits on another worker's lock.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_* and SHA256_*: stack contexts, no allocation */
#include "dp_sign.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define PATH_BYTES_MAX   1024u
#define CERT_SERIAL_BITS 63 /* positive, as RFC 5280 wants */
#define CERT_NAME        "busbar SNS signing"

struct dp_sign_key {
	EVP_PKEY *pkey;
};

struct dp_signer {
	EVP_PKEY *pkey;          /* this worker's copy */
	EVP_PKEY_CTX *sha1_ctx;   /* sign_init'ed: PKCS#1 v1.5, SHA-1 */
	EVP_PKEY_CTX *sha256_ctx; /* sign_init'ed: PKCS#1 v1.5, SHA-256 */
};

/* Encrypted keys are not supported: never let OpenSSL ask a terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_BYTES_MAX, "%s/%s", dir, name);
	return n > 0 && (size_t)n < PATH_BYTES_MAX ? 0 : -ENAMETOOLONG;
}

/* Reads a whole small file: 0, -ENOENT, -EFBIG over capacity, or -errno. *mode_out its mode. */
static int read_small(const char *path, uint8_t *buf, size_t capacity, size_t *length_out,
                      mode_t *mode_out)
{
	assert(path != NULL && buf != NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : -errno;
	if (rc == 0 && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > capacity))
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EUCLEAN;
	ssize_t got = rc == 0 ? read(fd, buf, capacity) : 0;
	if (rc == 0 && got < 0)
		rc = -errno;
	close(fd);
	*length_out = got > 0 ? (size_t)got : 0;
	*mode_out = rc == 0 ? st.st_mode : 0;
	return rc;
}

/* Writes path as a new file of mode with data: temporary, fsync, rename, directory fsync. */
static int write_durably(const char *dir, const char *path, const void *data, size_t bytes,
                         mode_t mode)
{
	assert(dir != NULL && path != NULL && data != NULL);
	char temporary[PATH_BYTES_MAX + 8];
	snprintf(temporary, sizeof(temporary), "%s.new", path);
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* fchmod: an old temporary file left by a crash keeps its mode through O_CREAT. */
	errno = 0; /* a short write sets none */
	bool written = fchmod(fd, mode) == 0 && write(fd, data, bytes) == (ssize_t)bytes &&
	               fsync(fd) == 0;
	int rc = written ? 0 : (errno != 0 ? -errno : -EIO);
	close(fd);
	if (rc == 0 && rename(temporary, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(temporary);
		return rc;
	}
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = dir_fd >= 0 && fsync(dir_fd) == 0 ? 0 : -EIO;
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
}

/* Writes what bio holds to path (and wipes it with the BIO when it is a secure one). */
static int write_bio(const char *dir, const char *path, BIO *bio, mode_t mode)
{
	char *data = NULL;
	long bytes = BIO_get_mem_data(bio, &data);
	assert(bytes >= 0);
	return bytes > 0 ? write_durably(dir, path, data, (size_t)bytes, mode) : -EIO;
}

/* An RSA key of a size we sign with whose numbers agree (n = pq, e d = 1): not damaged. */
static bool key_is_usable(EVP_PKEY *pkey)
{
	int bits = EVP_PKEY_get_bits(pkey);
	if (!EVP_PKEY_is_a(pkey, "RSA") || bits < (int)DP_SIGN_RSA_BITS ||
	    bits > (int)DP_SIGN_RSA_BITS_MAX)
		return false;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	bool consistent = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return consistent;
}

/* Makes a new key into key_path (0600). */
static int key_make(const char *dir, const char *key_path, EVP_PKEY **pkey_out)
{
	assert(key_path != NULL && pkey_out != NULL);
	EVP_PKEY *pkey = EVP_RSA_gen(DP_SIGN_RSA_BITS);
	BIO *bio = BIO_new(BIO_s_secmem()); /* cleared when freed */
	int rc = -ENOMEM;
	if (pkey != NULL && bio != NULL &&
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1)
		rc = write_bio(dir, key_path, bio, 0600);
	BIO_free(bio);
	if (rc != 0) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	*pkey_out = pkey;
	return 0;
}

/* Reads key_path: a PEM RSA private key of 2048-4096 bits that only its owner can read. */
static int key_read(const char *key_path, EVP_PKEY **pkey_out, char *error, size_t error_bytes)
{
	assert(key_path != NULL && pkey_out != NULL);
	uint8_t text[DP_SIGN_FILE_BYTES_MAX];
	size_t bytes = 0;
	mode_t mode = 0;
	int rc = read_small(key_path, text, sizeof(text), &bytes, &mode);
	if (rc == 0 && (mode & 077) != 0) {
		snprintf(error, error_bytes,
		         "%s may be read by others (mode %03o): chmod 600 it, or move it away and "
		         "restart to make a new key",
		         key_path, (unsigned)(mode & 0777));
		rc = -EPERM;
	}
	BIO *bio = rc == 0 ? BIO_new_mem_buf(text, (int)bytes) : NULL;
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
	                             : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(text, sizeof(text));
	ERR_clear_error();
	if (rc == 0 && (pkey == NULL || !key_is_usable(pkey))) {
		snprintf(error, error_bytes,
		         "%s is not an RSA private key of %u-%u bits in PEM (damaged?): move it away "
		         "and restart to make a new key; subscribers then need the new certificate",
		         key_path, DP_SIGN_RSA_BITS, DP_SIGN_RSA_BITS_MAX);
		rc = -EUCLEAN;
	} else if (rc == -EFBIG) {
		snprintf(error, error_bytes, "%s is over %u bytes: not a signing key", key_path,
		         DP_SIGN_FILE_BYTES_MAX);
	} else if (rc != 0 && rc != -EPERM && rc != -ENOENT) { /* ENOENT: made next */
		snprintf(error, error_bytes, "cannot read %s: %s", key_path, strerror(-rc));
	}
	if (rc != 0) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	*pkey_out = pkey;
	return 0;
}

/* Whether cert_path holds a certificate for pkey's public key. */
static bool cert_matches(const char *cert_path, EVP_PKEY *pkey)
{
	uint8_t text[DP_SIGN_FILE_BYTES_MAX];
	size_t bytes = 0;
	mode_t mode = 0;
	if (read_small(cert_path, text, sizeof(text), &bytes, &mode) != 0)
		return false;
	BIO *bio = BIO_new_mem_buf(text, (int)bytes);
	X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
	bool matches = cert != NULL && X509_check_private_key(cert, pkey) == 1;
	X509_free(cert);
	BIO_free(bio);
	ERR_clear_error();
	return matches;
}

/* Subject and issuer alike: self-signed. */
static bool cert_name(X509 *cert)
{
	X509_NAME *name = X509_get_subject_name(cert);
	const unsigned char *cn = (const unsigned char *)CERT_NAME;
	return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"busbar",
	                                  -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1 &&
	       X509_set_issuer_name(cert, name) == 1;
}

/* A self-signed X.509 v3 certificate of pkey, valid DP_SIGN_CERT_DAYS from now, in PEM. */
static int cert_make(const char *dir, const char *cert_path, EVP_PKEY *pkey)
{
	assert(cert_path != NULL && pkey != NULL);
	X509 *cert = X509_new();
	BIGNUM *serial = BN_new();
	BIO *bio = BIO_new(BIO_s_mem());
	bool made = cert != NULL && serial != NULL && bio != NULL &&
	            X509_set_version(cert, X509_VERSION_3) == 1 &&
	            BN_rand(serial, CERT_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) != NULL &&
	            X509_gmtime_adj(X509_getm_notBefore(cert), 0) != NULL &&
	            X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * DP_SIGN_CERT_DAYS) != NULL &&
	            cert_name(cert) && X509_set_pubkey(cert, pkey) == 1 &&
	            X509_sign(cert, pkey, EVP_sha256()) > 0 && PEM_write_bio_X509(bio, cert) == 1;
	int rc = made ? write_bio(dir, cert_path, bio, 0644) : -ENOMEM;
	BIO_free(bio);
	BN_free(serial);
	X509_free(cert);
	ERR_clear_error();
	return rc;
}

struct dp_sign_key *dp_sign_key_load(const char *state_dir, char *error, size_t error_bytes,
                                     int *error_out)
{
	assert(state_dir != NULL && error != NULL && error_out != NULL);
	char key_path[PATH_BYTES_MAX], cert_path[PATH_BYTES_MAX];
	EVP_PKEY *pkey = NULL;
	int rc = path_join(key_path, state_dir, DP_SIGN_KEY_FILE);
	if (rc == 0)
		rc = path_join(cert_path, state_dir, DP_SIGN_CERT_FILE);
	if (rc == 0)
		rc = key_read(key_path, &pkey, error, error_bytes);
	if (rc == -ENOENT) {
		rc = key_make(state_dir, key_path, &pkey);
		if (rc != 0)
			snprintf(error, error_bytes, "cannot make the signing key %s: %s", key_path,
			         strerror(-rc));
	}
	if (rc == 0 && !cert_matches(cert_path, pkey)) {
		rc = cert_make(state_dir, cert_path, pkey);
		if (rc != 0)
			snprintf(error, error_bytes, "cannot write the certificate %s: %s", cert_path,
			         strerror(-rc));
	}
	struct dp_sign_key *key = rc == 0 ? calloc(1, sizeof(*key)) : NULL;
	if (key == NULL) {
		if (rc == 0)
			snprintf(error, error_bytes, "out of memory");
		EVP_PKEY_free(pkey);
		*error_out = rc != 0 ? rc : -ENOMEM;
		return NULL;
	}
	key->pkey = pkey;
	return key;
}

void dp_sign_key_free(struct dp_sign_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey); /* OpenSSL clears the private numbers it frees */
	free(key);
}

static EVP_PKEY_CTX *sign_ctx_new(EVP_PKEY *pkey, const EVP_MD *md)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct dp_signer *dp_signer_new(const struct dp_sign_key *key, int *error_out)
{
	assert(key != NULL && key->pkey != NULL && error_out != NULL);
	struct dp_signer *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	s->pkey = EVP_PKEY_dup(key->pkey);
	s->sha1_ctx = s->pkey != NULL ? sign_ctx_new(s->pkey, EVP_sha1()) : NULL;
	s->sha256_ctx = s->pkey != NULL ? sign_ctx_new(s->pkey, EVP_sha256()) : NULL;
	if (s->sha1_ctx == NULL || s->sha256_ctx == NULL) {
		dp_signer_free(s);
		ERR_clear_error();
		*error_out = -ENOMEM;
		return NULL;
	}
	return s;
}

void dp_signer_free(struct dp_signer *signer)
{
	if (signer == NULL)
		return;
	EVP_PKEY_CTX_free(signer->sha1_ctx);
	EVP_PKEY_CTX_free(signer->sha256_ctx);
	EVP_PKEY_free(signer->pkey);
	free(signer);
}

/* The digest of text for version into digest (SHA256_DIGEST_LENGTH bytes): its length. */
static size_t digest(enum dp_sign_version version, const uint8_t *text, size_t bytes,
                     uint8_t *digest_out)
{
	if (version == DP_SIGN_V1_SHA1) {
		SHA_CTX c;
		SHA1_Init(&c);
		SHA1_Update(&c, text, bytes);
		SHA1_Final(digest_out, &c);
		return SHA_DIGEST_LENGTH;
	}
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, text, bytes);
	SHA256_Final(digest_out, &c);
	return SHA256_DIGEST_LENGTH;
}

int dp_signer_sign(struct dp_signer *signer, enum dp_sign_version version, const uint8_t *text,
                   size_t bytes, char *out, size_t capacity, size_t *length_out)
{
	assert(signer != NULL && out != NULL && length_out != NULL);
	assert(text != NULL || bytes == 0);
	if (version != DP_SIGN_V1_SHA1 && version != DP_SIGN_V2_SHA256)
		return -EINVAL;
	uint8_t hash[SHA256_DIGEST_LENGTH];
	size_t hash_bytes = digest(version, text, bytes, hash);
	uint8_t signature[DP_SIGN_RSA_BYTES_MAX];
	size_t signature_bytes = sizeof(signature);
	EVP_PKEY_CTX *ctx = version == DP_SIGN_V1_SHA1 ? signer->sha1_ctx : signer->sha256_ctx;
	if (EVP_PKEY_sign(ctx, signature, &signature_bytes, hash, hash_bytes) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	size_t encoded_bytes = 4u * ((signature_bytes + 2u) / 3u);
	if (encoded_bytes > capacity)
		return -ENOBUFS;
	char encoded[DP_SIGN_BASE64_BYTES_MAX + 1]; /* EVP_EncodeBlock adds a NUL */
	int n = EVP_EncodeBlock((unsigned char *)encoded, signature, (int)signature_bytes);
	assert(n == (int)encoded_bytes);
	memcpy(out, encoded, encoded_bytes);
	*length_out = encoded_bytes;
	return 0;
}

int dp_sign_topic(void *signer, unsigned version, const uint8_t *string_to_sign, size_t bytes,
                  char *out, size_t capacity, size_t *length_out)
{
	assert(signer != NULL);
	/* SNS's version numbers are the enum's; any other is dp_signer_sign's -EINVAL. */
	return dp_signer_sign(signer, (enum dp_sign_version)version, string_to_sign, bytes, out,
	                      capacity, length_out);
}

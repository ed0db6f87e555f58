/*
 * SNS message signing (dataplane/dp_sign.h), checked as a subscriber checks it.
 *
 * Proves: a signature verifies with the public key of the certificate on disk
 * (EVP_DigestVerify, SHA256withRSA for version 2, SHA1withRSA for 1) over SNS's documented
 * string to sign, and no longer verifies when one byte of the text or of the signature is
 * flipped; an envelope rendered by the topic engine with dp_sign_topic, of either version,
 * names it and verifies over the
 * string a subscriber rebuilds from the envelope's parsed members (escaped characters
 * included); the key file is 0600 and a second start loads the same key and keeps the same
 * certificate; a damaged, truncated or world-readable key file is refused at start with its
 * path in the reason; a missing or damaged certificate is made again from the key; a buffer
 * one byte short and an unknown version are refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dp_sign.h"
#include "topic.h"

#define NOW_MS 1335920046655ull /* 2012-05-02T00:54:06.655Z, SNS's documented example */

static char dir[] = "/tmp/bb_test_sign_XXXXXX";
static char path_buf[512];

static const char *path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
	return path_buf;
}

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_dir(void)
{
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sign, .init = make_dir, .fini = remove_dir);

static struct dp_sign_key *load(void)
{
	char error[512] = "";
	int rc = 0;
	struct dp_sign_key *key = dp_sign_key_load(dir, error, sizeof(error), &rc);
	cr_assert_not_null(key, "%s (%d)", error, rc);
	return key;
}

static size_t read_file(const char *name, char *out, size_t capacity)
{
	FILE *f = fopen(path(name), "rb");
	cr_assert_not_null(f, "%s", name);
	size_t n = fread(out, 1, capacity, f);
	fclose(f);
	return n;
}

static void write_file(const char *name, const char *text, size_t bytes)
{
	int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, bytes), (ssize_t)bytes);
	close(fd);
}

/* What a subscriber does: the certificate's public key verifies base64 sig over text. */
static bool verifies(int version, const char *text, size_t text_bytes, const char *sig,
                     size_t sig_bytes)
{
	FILE *f = fopen(path(DP_SIGN_CERT_FILE), "r");
	cr_assert_not_null(f);
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(cert);
	unsigned char raw[DP_SIGN_RSA_BYTES_MAX + 3];
	cr_assert_leq(sig_bytes, DP_SIGN_BASE64_BYTES_MAX);
	int raw_bytes = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)sig_bytes);
	for (size_t i = sig_bytes; raw_bytes > 0 && i > 0 && sig[i - 1] == '='; i--)
		raw_bytes--; /* DecodeBlock counts the padding as bytes */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = version == 1 ? EVP_sha1() : EVP_sha256();
	bool ok = raw_bytes > 0 &&
	          EVP_DigestVerifyInit(ctx, NULL, md, NULL, X509_get0_pubkey(cert)) == 1 &&
	          EVP_DigestVerify(ctx, raw, (size_t)raw_bytes, (const unsigned char *)text,
	                           text_bytes) == 1;
	EVP_MD_CTX_free(ctx);
	X509_free(cert);
	return ok;
}

/* SNS's string to sign of its documented example Notification. */
static const char example[] = "Message\nHello world!\n"
                              "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
                              "Subject\nMy First Message\n"
                              "Timestamp\n2012-05-02T00:54:06.655Z\n"
                              "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
                              "Type\nNotification\n";

static size_t sign_example(struct dp_signer *signer, enum dp_sign_version version, char *sig)
{
	size_t length = 0;
	cr_assert_eq(dp_signer_sign(signer, version, (const uint8_t *)example, strlen(example),
	                            sig, DP_SIGN_BASE64_BYTES_MAX, &length),
	             0);
	return length;
}

Test(sign, a_signature_verifies_and_a_flipped_byte_does_not)
{
	struct dp_sign_key *key = load();
	int rc = 0;
	struct dp_signer *signer = dp_signer_new(key, &rc);
	cr_assert_not_null(signer);
	for (int version = 1; version <= 2; version++) {
		char sig[DP_SIGN_BASE64_BYTES_MAX];
		size_t length = sign_example(signer, (enum dp_sign_version)version, sig);
		cr_assert_eq(length, 344u, "base64 of 256 bytes");
		cr_assert(verifies(version, example, strlen(example), sig, length), "v%d", version);
		cr_assert_not(verifies(3 - version, example, strlen(example), sig, length),
		              "v%d's signature is not the other digest's", version);
		char text[sizeof(example)];
		memcpy(text, example, sizeof(example));
		text[10] ^= 1;
		cr_assert_not(verifies(version, text, strlen(text), sig, length));
		sig[100] = sig[100] == 'A' ? 'B' : 'A';
		cr_assert_not(verifies(version, example, strlen(example), sig, length));
	}
	dp_signer_free(signer);
	dp_sign_key_free(key);
}

Test(sign, the_key_is_0600_and_a_second_start_loads_it)
{
	struct dp_sign_key *key = load();
	struct stat st;
	cr_assert_eq(stat(path(DP_SIGN_KEY_FILE), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_assert_eq(stat(path(DP_SIGN_CERT_FILE), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644, "the certificate is public");
	static char key_text[2][DP_SIGN_FILE_BYTES_MAX], cert_text[2][DP_SIGN_FILE_BYTES_MAX];
	size_t key_bytes = read_file(DP_SIGN_KEY_FILE, key_text[0], DP_SIGN_FILE_BYTES_MAX);
	size_t cert_bytes = read_file(DP_SIGN_CERT_FILE, cert_text[0], DP_SIGN_FILE_BYTES_MAX);
	cr_assert_not_null(strstr(key_text[0], "-----BEGIN PRIVATE KEY-----"));
	dp_sign_key_free(key);

	key = load(); /* the second start */
	cr_assert_eq(read_file(DP_SIGN_KEY_FILE, key_text[1], DP_SIGN_FILE_BYTES_MAX), key_bytes);
	cr_assert_arr_eq(key_text[0], key_text[1], key_bytes, "the same key");
	cr_assert_eq(read_file(DP_SIGN_CERT_FILE, cert_text[1], DP_SIGN_FILE_BYTES_MAX),
	             cert_bytes);
	cr_assert_arr_eq(cert_text[0], cert_text[1], cert_bytes, "the same certificate");
	int rc = 0;
	struct dp_signer *signer = dp_signer_new(key, &rc);
	char sig[DP_SIGN_BASE64_BYTES_MAX];
	size_t length = sign_example(signer, DP_SIGN_V2_SHA256, sig);
	cr_assert(verifies(2, example, strlen(example), sig, length));
	dp_signer_free(signer);
	dp_sign_key_free(key);
}

static void refused(int want, const char *why)
{
	char error[512] = "";
	int rc = 0;
	cr_assert_null(dp_sign_key_load(dir, error, sizeof(error), &rc), "%s", why);
	cr_assert_eq(rc, want, "%s: %d (%s)", why, rc, error);
	cr_assert_not_null(strstr(error, path(DP_SIGN_KEY_FILE)), "names the file: %s", error);
}

Test(sign, a_damaged_key_file_is_an_error_at_start)
{
	dp_sign_key_free(load());
	static char text[DP_SIGN_FILE_BYTES_MAX];
	size_t bytes = read_file(DP_SIGN_KEY_FILE, text, sizeof(text));
	write_file(DP_SIGN_KEY_FILE, text, bytes / 2);
	refused(-EUCLEAN, "cut in half");
	char kept = text[200];
	text[200] = kept == 'A' ? 'B' : 'A'; /* base64 inside the modulus: a wrong number */
	write_file(DP_SIGN_KEY_FILE, text, bytes);
	refused(-EUCLEAN, "one character changed");
	write_file(DP_SIGN_KEY_FILE, "", 0);
	refused(-EUCLEAN, "empty");
	text[200] = kept;
	write_file(DP_SIGN_KEY_FILE, text, bytes);
	cr_assert_eq(chmod(path(DP_SIGN_KEY_FILE), 0644), 0);
	refused(-EPERM, "readable by others");
	cr_assert_eq(chmod(path(DP_SIGN_KEY_FILE), 0600), 0);
	dp_sign_key_free(load()); /* mended: it loads again */
}

Test(sign, a_missing_or_damaged_certificate_is_made_again_from_the_key)
{
	dp_sign_key_free(load());
	cr_assert_eq(unlink(path(DP_SIGN_CERT_FILE)), 0);
	struct dp_sign_key *key = load();
	dp_sign_key_free(key);
	write_file(DP_SIGN_CERT_FILE, "-----BEGIN CERTIFICATE-----\nAAAA\n", 33);
	key = load();
	int rc = 0;
	struct dp_signer *signer = dp_signer_new(key, &rc);
	char sig[DP_SIGN_BASE64_BYTES_MAX];
	size_t length = sign_example(signer, DP_SIGN_V2_SHA256, sig);
	cr_assert(verifies(2, example, strlen(example), sig, length), "the new one holds the key");
	dp_signer_free(signer);
	dp_sign_key_free(key);
}

Test(sign, short_buffers_and_unknown_versions_are_refused)
{
	struct dp_sign_key *key = load();
	int rc = 0;
	struct dp_signer *signer = dp_signer_new(key, &rc);
	char sig[DP_SIGN_BASE64_BYTES_MAX];
	size_t length = 0;
	cr_assert_eq(dp_signer_sign(signer, DP_SIGN_V2_SHA256, (const uint8_t *)"x", 1, sig, 343,
	                            &length),
	             -ENOBUFS);
	cr_assert_eq(dp_signer_sign(signer, (enum dp_sign_version)3, (const uint8_t *)"x", 1, sig,
	                            sizeof(sig), &length),
	             -EINVAL);
	cr_assert_eq(dp_signer_sign(signer, DP_SIGN_V2_SHA256, (const uint8_t *)"x", 1, sig, 344,
	                            &length),
	             0);
	dp_signer_free(signer);
	dp_sign_key_free(key);
}

/* The string to sign as a subscriber rebuilds it from the parsed envelope. */
static size_t subscriber_string(json_t *envelope, char *out, size_t capacity)
{
	static const char *const names[] = {"Message", "MessageId", "Subject",
	                                    "Timestamp", "TopicArn", "Type"};
	size_t length = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *value = json_string_value(json_object_get(envelope, names[i]));
		if (value == NULL)
			continue;
		int n = snprintf(out + length, capacity - length, "%s\n%s\n", names[i], value);
		cr_assert(n > 0 && (size_t)n < capacity - length);
		length += (size_t)n;
	}
	return length;
}

/* Renders an envelope of a topic with SignatureVersion version and checks it as SNS's
 * subscribers do: the version it names, and the signature against the certificate. */
static void check_rendered_envelope(unsigned version)
{
	struct dp_sign_key *key = load();
	int rc = 0;
	struct dp_signer *signer = dp_signer_new(key, &rc);
	const char *message = "line1\nline2 \"q\" \\ caf\xc3\xa9";
	struct topic_record r = {.kind = TOPIC_RECORD_PUBLISH,
	                         .topic_id = 1,
	                         .timestamp_ms = NOW_MS,
	                         .subject = "Hello",
	                         .subject_bytes = 5,
	                         .message = (const uint8_t *)message,
	                         .message_bytes = (uint32_t)strlen(message)};
	memset(r.message_id, 0x5a, sizeof(r.message_id));
	static uint8_t scratch[TOPIC_RENDER_SCRATCH_BYTES], out[8192];
	struct topic_render_options o = {
	    .protocol = "sqs",
	    .topic_arn = "arn:aws:sns:us-east-1:000000000000:t",
	    .unsubscribe_url = "http://127.0.0.1:7680/?Action=Unsubscribe",
	    .signing_cert_url = "http://127.0.0.1:7680/sns-signing.pem",
	    .signature_version = version,
	    .sign = dp_sign_topic,
	    .sign_ctx = signer,
	    .scratch = scratch,
	};
	size_t length = 0;
	cr_assert_eq(topic_render(&r, &o, out, sizeof(out), &length), 0);
	json_error_t error;
	json_t *envelope = json_loadb((const char *)out, length, 0, &error);
	cr_assert_not_null(envelope, "%s", error.text);
	char text[1024];
	size_t text_bytes = subscriber_string(envelope, text, sizeof(text));
	cr_assert_not_null(strstr(text, "Message\nline1\nline2 \"q\""), "unescaped: %s", text);
	const char *sig = json_string_value(json_object_get(envelope, "Signature"));
	cr_assert_not_null(sig);
	char named[2] = {(char)('0' + version), '\0'};
	cr_assert_str_eq(json_string_value(json_object_get(envelope, "SignatureVersion")), named);
	cr_assert(verifies((int)version, text, text_bytes, sig, strlen(sig)));
	cr_assert_not(verifies(version == 1 ? 2 : 1, text, text_bytes, sig, strlen(sig)),
	              "signed with the other version's digest");
	json_decref(envelope);
	dp_signer_free(signer);
	dp_sign_key_free(key);
}

Test(sign, a_rendered_envelope_verifies_as_a_subscriber_checks_it)
{
	check_rendered_envelope(TOPIC_SIGNATURE_V2);
}

Test(sign, a_version_1_topic_is_signed_with_sha1)
{
	check_rendered_envelope(TOPIC_SIGNATURE_V1);
}

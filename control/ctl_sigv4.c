/*
 * SigV4 verification (see ctl_sigv4.h), following AWS's "Create a canonical
 * request" and "Create a string to sign" steps; AWS's published test vectors
 * are in tests/control/test_sigv4.c. The signature is compared in constant
 * time. Canonical requests are built in memory streams: their size follows
 * the request's, which the HTTP layer bounds (CTL_AWS_BODY_BYTES_MAX).
 */
#include "ctl_sigv4.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define ALGORITHM            "AWS4-HMAC-SHA256"
#define TERMINATOR           "aws4_request"
#define SHA256_BYTES         32u
#define CREDENTIAL_BYTES_MAX 256u

static void hex(const uint8_t *bytes, size_t count, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < count; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * count] = '\0';
}

void ctl_sigv4_sha256_hex(const void *data, size_t bytes, char out[CTL_SIGV4_HEX_BYTES + 1])
{
	uint8_t digest[SHA256_BYTES];
	unsigned int length = 0;
	int ok = EVP_Digest(data, bytes, digest, &length, EVP_sha256(), NULL);
	assert(ok == 1 && length == SHA256_BYTES);
	hex(digest, SHA256_BYTES, out);
}

static void hmac(const void *key, size_t key_bytes, const char *data, uint8_t out[SHA256_BYTES])
{
	size_t length = 0;
	uint8_t *rc =
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_bytes,
	              (const unsigned char *)data, strlen(data), out, SHA256_BYTES, &length);
	assert(rc != NULL && length == SHA256_BYTES);
	(void)rc;
}

static const char *header(const struct ctl_sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->header_count && i < CTL_SIGV4_HEADERS_MAX; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

static const char *query(const struct ctl_sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->query_count; i++) {
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	}
	return NULL;
}

static int fail(const struct ctl_aws_error *e, const char *text, const struct ctl_aws_error **error,
                char *message, size_t message_bytes, int rc)
{
	*error = e;
	snprintf(message, message_bytes, "%s", text);
	return rc;
}

static bool copy(char *out, size_t out_bytes, const char *text, size_t length)
{
	if (length >= out_bytes)
		return false;
	memcpy(out, text, length);
	out[length] = '\0';
	return true;
}

/* "KEY/YYYYMMDD/region/service/aws4_request" into the claim. */
static bool parse_credential(const char *text, size_t length, struct ctl_sigv4_auth *out)
{
	char credential[CREDENTIAL_BYTES_MAX];
	char *part[5];
	if (!copy(credential, sizeof(credential), text, length))
		return false;
	char *cursor = credential;
	for (int i = 0; i < 5; i++) {
		part[i] = cursor;
		char *slash = strchr(cursor, '/');
		if ((slash == NULL) != (i == 4))
			return false;
		if (slash != NULL) {
			*slash = '\0';
			cursor = slash + 1;
		}
	}
	return part[0][0] != '\0' && strcmp(part[4], TERMINATOR) == 0 && strlen(part[1]) == 8 &&
	       copy(out->access_key_id, sizeof(out->access_key_id), part[0], strlen(part[0])) &&
	       copy(out->date, sizeof(out->date), part[1], 8) &&
	       copy(out->region, sizeof(out->region), part[2], strlen(part[2])) &&
	       copy(out->service, sizeof(out->service), part[3], strlen(part[3]));
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static bool parse_authorization(const char *text, struct ctl_sigv4_auth *out)
{
	size_t algorithm_bytes = strlen(ALGORITHM);
	if (strncmp(text, ALGORITHM, algorithm_bytes) != 0 || text[algorithm_bytes] != ' ')
		return false;
	bool credential = false, signed_headers = false, signature = false;
	const char *p = text + algorithm_bytes;
	for (int i = 0; i < 8 && *p != '\0'; i++) { /* three components, some spaces */
		p += strspn(p, " ,");
		size_t length = strcspn(p, ",");
		const char *eq = memchr(p, '=', length);
		if (eq == NULL)
			return false;
		size_t name = (size_t)(eq - p), value = length - name - 1;
		if (name == 10 && strncmp(p, "Credential", 10) == 0)
			credential = parse_credential(eq + 1, value, out);
		else if (name == 13 && strncmp(p, "SignedHeaders", 13) == 0)
			signed_headers =
			    copy(out->signed_headers, sizeof(out->signed_headers), eq + 1, value);
		else if (name == 9 && strncmp(p, "Signature", 9) == 0)
			signature = copy(out->signature, sizeof(out->signature), eq + 1, value);
		p += length;
	}
	return credential && signed_headers && signature;
}

static bool parse_presigned(const struct ctl_sigv4_request *r, struct ctl_sigv4_auth *out)
{
	const char *algorithm = query(r, "X-Amz-Algorithm");
	const char *credential = query(r, "X-Amz-Credential");
	const char *date = query(r, "X-Amz-Date");
	const char *expires = query(r, "X-Amz-Expires");
	const char *signed_headers = query(r, "X-Amz-SignedHeaders");
	const char *signature = query(r, "X-Amz-Signature");
	if (algorithm == NULL || credential == NULL || date == NULL || expires == NULL ||
	    signed_headers == NULL || signature == NULL || strcmp(algorithm, ALGORITHM) != 0)
		return false;
	char *end = NULL;
	long long seconds = strtoll(expires, &end, 10);
	if (*expires < '0' || *expires > '9' || *end != '\0' || seconds > CTL_SIGV4_EXPIRES_S_MAX)
		return false;
	out->presigned = true;
	out->expires_s = seconds;
	return parse_credential(credential, strlen(credential), out) &&
	       copy(out->amz_date, sizeof(out->amz_date), date, strlen(date)) &&
	       copy(out->signed_headers, sizeof(out->signed_headers), signed_headers,
	            strlen(signed_headers)) &&
	       copy(out->signature, sizeof(out->signature), signature, strlen(signature));
}

int ctl_sigv4_parse(const struct ctl_sigv4_request *r, struct ctl_sigv4_auth *out,
                    const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(r != NULL && out != NULL);
	*out = (struct ctl_sigv4_auth){0};
	const char *authorization = header(r, "Authorization");
	if (authorization == NULL && query(r, "X-Amz-Signature") == NULL &&
	    query(r, "X-Amz-Algorithm") == NULL)
		return fail(&CTL_AWS_MISSING_TOKEN,
		            "Request is missing Authentication Token (sign it with SigV4)", error,
		            message, message_bytes, -EINVAL);
	bool ok = authorization != NULL ? parse_authorization(authorization, out)
	                                : parse_presigned(r, out);
	const char *date = header(r, "X-Amz-Date");
	if (ok && authorization != NULL)
		ok = date != NULL && copy(out->amz_date, sizeof(out->amz_date), date, strlen(date));
	if (!ok)
		return fail(&CTL_AWS_INCOMPLETE_SIGNATURE,
		            "Authorization needs Credential=KEY/DATE/REGION/SERVICE/aws4_request, "
		            "SignedHeaders, Signature and an X-Amz-Date (or presigned X-Amz-* "
		            "parameters)",
		            error, message, message_bytes, -EINVAL);
	return 0;
}

/* SigV4's URI encoding: unreserved characters stay, every other byte is %XX. */
static void uri_encode(FILE *f, const char *text, bool keep_slash)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		bool unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		                  *p == '~' || (keep_slash && *p == '/');
		if (unreserved)
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

static char *encoded(const char *text)
{
	char *out = NULL;
	size_t bytes = 0;
	FILE *f = open_memstream(&out, &bytes);
	assert(f != NULL);
	uri_encode(f, text, false);
	fclose(f);
	return out;
}

struct encoded_pair {
	char *name;
	char *value;
};

static int pair_order(const void *a, const void *b)
{
	const struct encoded_pair *x = a, *y = b;
	int by_name = strcmp(x->name, y->name);
	return by_name != 0 ? by_name : strcmp(x->value, y->value);
}

static void canonical_query(FILE *f, const struct ctl_sigv4_request *r, bool presigned)
{
	struct encoded_pair *pairs = calloc(r->query_count + 1, sizeof(*pairs));
	assert(pairs != NULL);
	size_t count = 0;
	for (size_t i = 0; i < r->query_count; i++) {
		if (presigned && strcmp(r->query[i].name, "X-Amz-Signature") == 0)
			continue;
		pairs[count].name = encoded(r->query[i].name);
		pairs[count].value = encoded(r->query[i].value);
		count++;
	}
	qsort(pairs, count, sizeof(*pairs), pair_order);
	for (size_t i = 0; i < count; i++) {
		fprintf(f, "%s%s=%s", i > 0 ? "&" : "", pairs[i].name, pairs[i].value);
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
}

/* A header's value trimmed, its runs of spaces made one. */
static void header_value(FILE *f, const char *value)
{
	const char *p = value + strspn(value, " \t");
	bool space = false;
	for (; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			space = true;
			continue;
		}
		if (space)
			fputc(' ', f);
		space = false;
		fputc(*p, f);
	}
}

/* "name:value\n" for each signed header; every instance of a name, joined by ','. */
static void canonical_headers(FILE *f, const struct ctl_sigv4_request *r, const char *signed_list)
{
	const char *name = signed_list;
	while (*name != '\0') { /* bounded by the list's length */
		size_t length = strcspn(name, ";");
		char wanted[CTL_SIGV4_SIGNED_HEADERS_BYTES];
		memcpy(wanted, name, length);
		wanted[length] = '\0';
		fprintf(f, "%s:", wanted);
		bool first = true;
		for (size_t i = 0; i < r->header_count && i < CTL_SIGV4_HEADERS_MAX; i++) {
			if (strcasecmp(r->headers[i].name, wanted) != 0)
				continue;
			if (!first)
				fputc(',', f);
			header_value(f, r->headers[i].value);
			first = false;
		}
		fputc('\n', f);
		name += length + (name[length] == ';');
	}
}

int ctl_sigv4_signature(const struct ctl_sigv4_request *r, const struct ctl_sigv4_auth *auth,
                        const char *secret, const char *payload_hash,
                        char out[CTL_SIGV4_HEX_BYTES + 1])
{
	assert(r != NULL && auth != NULL && secret != NULL && payload_hash != NULL);
	char *canonical = NULL;
	size_t canonical_bytes = 0;
	FILE *f = open_memstream(&canonical, &canonical_bytes);
	if (f == NULL)
		return -ENOMEM;
	fprintf(f, "%s\n", r->method);
	uri_encode(f, r->path[0] != '\0' ? r->path : "/", true);
	fputc('\n', f);
	canonical_query(f, r, auth->presigned);
	fputc('\n', f);
	canonical_headers(f, r, auth->signed_headers);
	fprintf(f, "\n%s\n%s", auth->signed_headers, payload_hash);
	fclose(f);
	char canonical_hash[CTL_SIGV4_HEX_BYTES + 1];
	ctl_sigv4_sha256_hex(canonical, canonical_bytes, canonical_hash);
	free(canonical);

	char to_sign[512];
	snprintf(to_sign, sizeof(to_sign), ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s",
	         auth->amz_date, auth->date, auth->region, auth->service, canonical_hash);
	char k_secret[4 + CTL_SIGV4_SIGNED_HEADERS_BYTES];
	int n = snprintf(k_secret, sizeof(k_secret), "AWS4%s", secret);
	if (n < 0 || (size_t)n >= sizeof(k_secret))
		return -EINVAL;
	uint8_t key[SHA256_BYTES], next[SHA256_BYTES];
	hmac(k_secret, (size_t)n, auth->date, key);
	OPENSSL_cleanse(k_secret, sizeof(k_secret));
	hmac(key, sizeof(key), auth->region, next);
	hmac(next, sizeof(next), auth->service, key);
	hmac(key, sizeof(key), TERMINATOR, next);
	hmac(next, sizeof(next), to_sign, key);
	hex(key, SHA256_BYTES, out);
	OPENSSL_cleanse(next, sizeof(next));
	return 0;
}

/* YYYYMMDDTHHMMSSZ as seconds since the epoch, or -1. */
static int64_t amz_time(const char *text)
{
	struct tm tm = {0};
	if (strlen(text) != 16 || text[8] != 'T' || text[15] != 'Z')
		return -1;
	const char *end = strptime(text, "%Y%m%dT%H%M%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

static int check_scope(const struct ctl_sigv4_auth *auth, const struct ctl_sigv4_expect *expect,
                       const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	*error = &CTL_AWS_SIGNATURE_MISMATCH;
	if (strcmp(auth->region, expect->region) != 0) {
		snprintf(message, message_bytes,
		         "Credential should be scoped to a valid region, not '%s'. ", auth->region);
		return -EACCES;
	}
	if (strcmp(auth->service, expect->service) != 0) {
		snprintf(message, message_bytes,
		         "Credential should be scoped to correct service: '%s'. ", expect->service);
		return -EACCES;
	}
	if (strncmp(auth->amz_date, auth->date, 8) != 0) {
		snprintf(message, message_bytes,
		         "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
		         "of date from HTTP: '%s' != '%.8s'",
		         auth->date, auth->amz_date);
		return -EACCES;
	}
	return 0;
}

static int check_time(const struct ctl_sigv4_auth *auth, const struct ctl_sigv4_expect *expect,
                      const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	int64_t signed_s = amz_time(auth->amz_date);
	if (signed_s < 0)
		return fail(&CTL_AWS_INCOMPLETE_SIGNATURE, "X-Amz-Date must be YYYYMMDDTHHMMSSZ",
		            error, message, message_bytes, -EACCES);
	bool expired = auth->presigned ? expect->now_s > signed_s + auth->expires_s ||
	                                     signed_s > expect->now_s + expect->skew_s
	                               : signed_s < expect->now_s - expect->skew_s ||
	                                     signed_s > expect->now_s + expect->skew_s;
	if (expired) {
		*error = &CTL_AWS_REQUEST_EXPIRED;
		snprintf(message, message_bytes,
		         "Request has expired. Signed at %s; requests are accepted within %lld s "
		         "of the server's clock%s.",
		         auth->amz_date, (long long)expect->skew_s,
		         auth->presigned ? " and until X-Amz-Expires" : "");
		return -EACCES;
	}
	return 0;
}

static bool signature_is(const struct ctl_sigv4_request *r, const struct ctl_sigv4_auth *auth,
                         const char *secret, const char *payload_hash)
{
	char computed[CTL_SIGV4_HEX_BYTES + 1];
	int rc = ctl_sigv4_signature(r, auth, secret, payload_hash, computed);
	return rc == 0 && strlen(auth->signature) == CTL_SIGV4_HEX_BYTES &&
	       CRYPTO_memcmp(computed, auth->signature, CTL_SIGV4_HEX_BYTES) == 0;
}

int ctl_sigv4_verify(const struct ctl_sigv4_request *r, const struct ctl_sigv4_auth *auth,
                     const char *secret, const struct ctl_sigv4_expect *expect,
                     const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(r != NULL && auth != NULL && secret != NULL && expect != NULL);
	int rc = check_scope(auth, expect, error, message, message_bytes);
	if (rc == 0)
		rc = check_time(auth, expect, error, message, message_bytes);
	if (rc != 0)
		return rc;
	/* A presigned URL is signed before anyone knows a body, so it may carry none (its body
	 * would be unsigned); its payload is the empty body's hash (AWS's test suite, the CRT
	 * signer) or UNSIGNED-PAYLOAD (botocore's signer): either is taken. */
	if (auth->presigned && r->payload_bytes > 0)
		return fail(&CTL_AWS_SIGNATURE_MISMATCH,
		            "A presigned request carries its parameters in the URL, not a body.",
		            error, message, message_bytes, -EACCES);
	char payload_hash[CTL_SIGV4_HEX_BYTES + 1];
	ctl_sigv4_sha256_hex(r->payload != NULL ? (const void *)r->payload : "", r->payload_bytes,
	                     payload_hash);
	const char *claimed = header(r, "X-Amz-Content-Sha256");
	if (claimed != NULL && strcmp(claimed, payload_hash) != 0)
		return fail(&CTL_AWS_SIGNATURE_MISMATCH,
		            "The provided 'x-amz-content-sha256' header does not match what was "
		            "computed.",
		            error, message, message_bytes, -EACCES);
	bool same = signature_is(r, auth, secret, payload_hash);
	if (!same && auth->presigned)
		same = signature_is(r, auth, secret, "UNSIGNED-PAYLOAD");
	if (!same)
		return fail(
		    &CTL_AWS_SIGNATURE_MISMATCH,
		    "The request signature we calculated does not match the signature you "
		    "provided. Check your AWS Secret Access Key and signing method. Consult "
		    "the service documentation for details.",
		    error, message, message_bytes, -EACCES);
	return 0;
}

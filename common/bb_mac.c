/*
 * HMAC-SHA256 for the wire (see bb_mac.h). The MAC field is fed as zeros
 * rather than copied out and zeroed, so a message is never modified to be
 * verified and a shared receive buffer stays as it came.
 */
#include "bb_mac.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "bb_limits.h"

#define HMAC_SHA256_BYTES 32u

struct bb_mac {
	EVP_MAC *algorithm;
	EVP_MAC_CTX *context;
};

static const uint8_t zero_mac[WIRE_MAC_BYTES];
static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void bb_access_key_id_put(uint32_t key_id, char *out)
{
	for (uint32_t i = 0; i < BB_ACCESS_KEY_ID_DIGITS; i++)
		out[i] = base32[(key_id >> (5 * (BB_ACCESS_KEY_ID_DIGITS - 1 - i))) & 31];
}

bool bb_access_key_id_parse(const char *text, uint32_t *key_id)
{
	assert(text != NULL && key_id != NULL);
	if (strlen(text) != BB_ACCESS_KEY_ID_BYTES || text[0] != 'B' || text[1] != 'B')
		return false;
	uint64_t value = 0;
	for (uint32_t i = 2; i < BB_ACCESS_KEY_ID_BYTES; i++) {
		const char *digit = text[i] != '\0' ? strchr(base32, text[i]) : NULL;
		if (digit == NULL)
			return false;
		if (i < 2 + BB_ACCESS_KEY_ID_DIGITS)
			value = value << 5 | (uint64_t)(digit - base32);
	}
	if (value == 0 || value > UINT32_MAX)
		return false;
	*key_id = (uint32_t)value;
	return true;
}

struct bb_mac *bb_mac_new(void)
{
	struct bb_mac *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	m->algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL);
	m->context = m->algorithm != NULL ? EVP_MAC_CTX_new(m->algorithm) : NULL;
	if (m->context == NULL || EVP_MAC_CTX_set_params(m->context, params) != 1) {
		bb_mac_free(m);
		return NULL;
	}
	return m;
}

void bb_mac_free(struct bb_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->context);
	EVP_MAC_free(m->algorithm);
	free(m);
}

int bb_mac_compute(struct bb_mac *m, const uint8_t *key, size_t key_bytes, const uint8_t *message,
                   size_t message_bytes, uint8_t out[WIRE_MAC_BYTES])
{
	assert(m != NULL && key != NULL && message != NULL);
	assert(WIRE_MAC_OFFSET + WIRE_MAC_BYTES <= BB_WIRE_HEADER_BYTES);
	if (message_bytes < BB_WIRE_HEADER_BYTES || key_bytes == 0)
		return -EINVAL;
	uint8_t full[HMAC_SHA256_BYTES] = {0};
	size_t full_bytes = 0;
	const uint8_t *after_mac = message + WIRE_MAC_OFFSET + WIRE_MAC_BYTES;
	bool ok = EVP_MAC_init(m->context, key, key_bytes, NULL) == 1 &&
	          EVP_MAC_update(m->context, message, WIRE_MAC_OFFSET) == 1 &&
	          EVP_MAC_update(m->context, zero_mac, WIRE_MAC_BYTES) == 1 &&
	          EVP_MAC_update(m->context, after_mac,
	                         message_bytes - WIRE_MAC_OFFSET - WIRE_MAC_BYTES) == 1 &&
	          EVP_MAC_final(m->context, full, &full_bytes, sizeof(full)) == 1 &&
	          full_bytes == HMAC_SHA256_BYTES;
	memcpy(out, full, WIRE_MAC_BYTES);
	return ok ? 0 : -EIO;
}

int bb_mac_sign(struct bb_mac *m, const uint8_t *key, size_t key_bytes, uint8_t *message,
                size_t message_bytes)
{
	uint8_t mac[WIRE_MAC_BYTES];
	int rc = bb_mac_compute(m, key, key_bytes, message, message_bytes, mac);
	if (rc == 0)
		memcpy(message + WIRE_MAC_OFFSET, mac, WIRE_MAC_BYTES);
	return rc;
}

int bb_mac_verify(struct bb_mac *m, const uint8_t *key, size_t key_bytes, const uint8_t *message,
                  size_t message_bytes)
{
	uint8_t mac[WIRE_MAC_BYTES];
	int rc = bb_mac_compute(m, key, key_bytes, message, message_bytes, mac);
	if (rc != 0)
		return -EBADMSG;
	return CRYPTO_memcmp(mac, message + WIRE_MAC_OFFSET, WIRE_MAC_BYTES) == 0 ? 0 : -EBADMSG;
}

/*
 * Fuzz target: busbar-control's key management API (ctl_keys_api.c) against an
 * in-memory store. The input is "<X-Amz-Target>\n<body>" (JSON 1.0, as
 * BusbarKeys.* arrives over HTTP). Every request must get an answer; a secret
 * may appear only in a CreateKey or RotateKey answer, never in ListKeys'; and
 * whatever the body names, a caller whose policy grants only sqs:* is never
 * allowed a key call, nor is an unauthenticated one. The store's key limit
 * (BB_KEY_COUNT_MAX live keys) keeps it bounded across runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_keys_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET_BYTES_MAX 128u

static void check_permission(const char *action, const char *body, size_t body_bytes)
{
	static const struct ctl_aws_config config = {.account_id = "000000000000",
	                                             .region = "local"};
	static char sqs_only[] = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
	                         "\"Resource\":\"*\"}}";
	struct ctl_key caller = {.access_key_id = "BBAAAAAABAAAAAAAAAAA", .policy_json = sqs_only};
	char message[CTL_AWS_ERROR_BYTES_MAX];
	json_t *params = json_loadb(body, body_bytes, 0, NULL);
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	if (ctl_keys_api_allowed(&caller, action, params, &config, message, sizeof(message)))
		abort(); /* sqs:* manages no keys */
	if (ctl_keys_api_allowed(NULL, action, params, &config, message, sizeof(message)))
		abort(); /* nor does an unauthenticated request */
	json_decref(params);
}

/* Whether an answer carries a key's secret: {"Key": {..secret..}} or {"Keys": [{..}]}. */
static bool carries_secret(json_t *body)
{
	bool found = json_object_get(json_object_get(body, "Key"), "SecretAccessKey") != NULL;
	size_t i;
	json_t *key;
	json_array_foreach(json_object_get(body, "Keys"), i, key)
	{
		found = found || json_object_get(key, "SecretAccessKey") != NULL;
	}
	return found;
}

/* A secret only where the call made one, and then only in the answer's text. */
static void check_answer(const char *target, const struct ctl_sqs_result *result)
{
	if ((result->body == NULL) == (result->secret_text == NULL) || result->http_status == 0)
		abort(); /* every request gets one answer */
	bool makes_key = strcmp(target, CTL_KEYS_TARGET_PREFIX "CreateKey") == 0 ||
	                 strcmp(target, CTL_KEYS_TARGET_PREFIX "RotateKey") == 0;
	if (result->body != NULL && carries_secret(result->body))
		abort(); /* a secret in a jansson object would be freed unzeroed */
	if (result->secret_text != NULL && (!makes_key || result->http_status != 200 ||
	                                    strstr(result->secret_text, "SecretAccessKey") == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_store *store;
	char error[256];
	if (store == NULL)
		store = ctl_store_open(":memory:", error, sizeof(error));
	if (store == NULL)
		abort();
	const uint8_t *newline = memchr(data, '\n', size);
	size_t target_bytes = newline ? (size_t)(newline - data) : size;
	char target[TARGET_BYTES_MAX];
	if (target_bytes >= sizeof(target))
		return 0;
	memcpy(target, data, target_bytes);
	target[target_bytes] = '\0';
	const char *body = newline ? (const char *)newline + 1 : "";
	size_t body_bytes = newline ? size - target_bytes - 1 : 0;
	if (ctl_keys_api_handles(target))
		check_permission(target + strlen(CTL_KEYS_TARGET_PREFIX), body, body_bytes);
	struct ctl_sqs_result result;
	ctl_keys_api_handle(store, target, body, body_bytes, 1700000000, &result);
	check_answer(target, &result);
	json_decref(result.body);
	ctl_aws_free_secret(result.secret_text);
	return 0;
}

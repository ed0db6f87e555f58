/*
 * Key management calls (see ctl_keys_api.h). A secret leaves busbar-control
 * only in the answer to the call that made it (CreateKey, RotateKey); the
 * answer is never logged, and ListKeys never carries one. That answer is text
 * built here (secret_answer), the one copy of the secret after the key's own,
 * zeroed before it is freed: jansson would free a string holding it as it is.
 * Errors use IAM's codes for the same situations. Who may call is decided here too
 * (ctl_keys_api_allowed), so the HTTP server only asks.
 */
#include "ctl_keys_api.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_keys.h"

#define ERROR_BYTES 256
#define ARN_BYTES   256
#define SECRET_ALPHABET                                                                            \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" /* none JSON escapes */
/* The key's members but their closing brace, the secret, more members of the answer. */
#define SECRET_ANSWER_FORMAT "{\"Key\":%.*s,\"SecretAccessKey\":\"%s\"}%s}"

static const char *const ACTIONS[] = {"CreateKey", "ListKeys", "RotateKey", "RevokeKey",
                                      "PutKeyPolicy"};

static void fail(struct ctl_sqs_result *out, unsigned status, const char *type, const char *message)
{
	out->http_status = status;
	out->body = json_pack("{s:s, s:s}", "__type", type, "message", message);
	out->query_error = NULL;
}

static void fail_errno(struct ctl_sqs_result *out, int rc, const char *access_key_id)
{
	char message[ERROR_BYTES];
	snprintf(message, sizeof(message), "key %s: %s", access_key_id ? access_key_id : "",
	         rc == -ENOENT        ? "no such key"
	         : rc == -EKEYREVOKED ? "revoked"
	         : rc == -EKEYEXPIRED ? "expired"
	                              : strerror(-rc));
	if (rc == -ENOENT)
		fail(out, 404, "NoSuchEntity", message);
	else if (rc == -EKEYREVOKED || rc == -EKEYEXPIRED)
		fail(out, 409, "EntityTemporarilyUnmodifiable", message);
	else if (rc == -ENOSPC)
		fail(out, 409, "LimitExceeded", "BB_KEY_COUNT_MAX keys exist: revoke one first");
	else if (rc == -EINVAL)
		fail(out, 400, "InvalidInput", message);
	else
		fail(out, 500, "ServiceFailure", message);
}

/* A policy refused: malformed (-EINVAL), or past bb_policy.h's limits (-E2BIG), as IAM. */
static void fail_policy(struct ctl_sqs_result *out, int rc, const char *error)
{
	if (rc == -E2BIG)
		fail(out, 409, "LimitExceeded", error);
	else
		fail(out, 400, "MalformedPolicyDocument", error);
}

static json_t *key_json(const struct ctl_key *k, int64_t now_s)
{
	const char *status = k->revoked                                   ? "Revoked"
	                     : k->expires_s != 0 && now_s >= k->expires_s ? "Expired"
	                     : k->expires_s != 0                          ? "Expiring"
	                                                                  : "Active";
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:s}", "AccessKeyId", k->access_key_id, "KeyId",
	                      (json_int_t)k->key_id, "CreatedAt", (json_int_t)k->created_s,
	                      "ExpiresAt", (json_int_t)k->expires_s, "Status", status);
	if (k->policy_json != NULL)
		json_object_set_new(j, "Policy", json_string(k->policy_json));
	return j;
}

/*
 * The answer of a call that made a key, as JSON text: {"Key": {<key_json's members>,
 * "SecretAccessKey": SECRET}<tail>}, tail more members of the answer (",..." or "").
 * jansson only serialises the members without the secret; the secret is copied into this
 * text alone, whose freer zeroes it (ctl_aws_free_secret). NULL when out of memory.
 */
static char *secret_answer(const struct ctl_key *k, int64_t now_s, const char *tail)
{
	assert(strspn(k->secret, SECRET_ALPHABET) == CTL_SECRET_KEY_BYTES);
	json_t *key = key_json(k, now_s);
	char *members = json_dumps(key, JSON_COMPACT); /* "{...}" */
	json_decref(key);
	if (members == NULL)
		return NULL;
	int open_length = (int)strlen(members) - 1; /* without the closing brace */
	assert(open_length > 1 && members[open_length] == '}');
	int length = snprintf(NULL, 0, SECRET_ANSWER_FORMAT, open_length, members, k->secret, tail);
	char *text = malloc((size_t)length + 1);
	if (text != NULL)
		snprintf(text, (size_t)length + 1, SECRET_ANSWER_FORMAT, open_length, members,
		         k->secret, tail);
	free(members);
	return text;
}

/* A 200 whose answer holds the key's secret (secret_answer), or a 500 out of memory. */
static void answer_secret(struct ctl_sqs_result *out, const struct ctl_key *k, int64_t now_s,
                          const char *tail)
{
	out->secret_text = secret_answer(k, now_s, tail);
	out->changed = true; /* the key is made, answered or not */
	if (out->secret_text == NULL) {
		fail(out, 500, "ServiceFailure", "out of memory for the answer");
		return;
	}
	out->http_status = 200;
}

/* The Policy member as text: a string as it is, an object serialised; NULL if absent. */
static int policy_text(json_t *request, char **out)
{
	json_t *policy = json_object_get(request, "Policy");
	*out = NULL;
	if (policy == NULL || json_is_null(policy))
		return 0;
	if (json_is_string(policy))
		*out = strdup(json_string_value(policy));
	else if (json_is_object(policy))
		*out = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS);
	else
		return -EINVAL;
	return *out != NULL ? 0 : -ENOMEM;
}

static void create_key(struct ctl_store *store, json_t *request, int64_t now_s,
                       struct ctl_sqs_result *out)
{
	char *policy;
	char error[ERROR_BYTES];
	struct ctl_key key;
	if (policy_text(request, &policy) != 0) {
		fail(out, 400, "MalformedPolicyDocument", "Policy must be an object or a string");
		return;
	}
	int rc = ctl_keys_create(store, policy, now_s, &key, error, sizeof(error));
	free(policy);
	if (rc == -EINVAL || rc == -E2BIG) {
		fail_policy(out, rc, error);
		return;
	}
	if (rc != 0) {
		fail_errno(out, rc, NULL);
		return;
	}
	answer_secret(out, &key, now_s, "");
	ctl_key_clear(&key);
}

static void list_keys(struct ctl_store *store, int64_t now_s, struct ctl_sqs_result *out)
{
	struct ctl_key *keys;
	size_t count;
	int rc = ctl_keys_list(store, &keys, &count);
	if (rc != 0) {
		fail_errno(out, rc, NULL);
		return;
	}
	json_t *array = json_array();
	for (size_t i = 0; i < count; i++) {
		json_array_append_new(array, key_json(&keys[i], now_s));
		ctl_key_clear(&keys[i]);
	}
	free(keys);
	out->http_status = 200;
	out->body = json_pack("{s:o}", "Keys", array);
}

static void rotate_key(struct ctl_store *store, const char *id, json_t *request, int64_t now_s,
                       struct ctl_sqs_result *out)
{
	json_t *overlap = json_object_get(request, "OverlapSeconds");
	int64_t overlap_s = CTL_KEY_OVERLAP_S_DEFAULT;
	if (overlap != NULL && !json_is_integer(overlap)) {
		fail(out, 400, "InvalidInput", "OverlapSeconds must be an integer");
		return;
	}
	if (overlap != NULL)
		overlap_s = json_integer_value(overlap);
	if (overlap_s < 0 || overlap_s > CTL_KEY_OVERLAP_S_MAX) {
		char message[ERROR_BYTES];
		snprintf(message, sizeof(message), "OverlapSeconds must be 0 to %u",
		         BB_KEY_OVERLAP_S_MAX);
		fail(out, 400, "InvalidInput", message);
		return;
	}
	struct ctl_key key;
	int rc = ctl_keys_rotate(store, id, overlap_s, now_s, &key);
	if (rc != 0) {
		fail_errno(out, rc, id);
		return;
	}
	char tail[48];
	snprintf(tail, sizeof(tail), ",\"OldKeyExpiresAt\":%lld", (long long)(now_s + overlap_s));
	answer_secret(out, &key, now_s, tail);
	ctl_key_clear(&key);
}

static void change_key(struct ctl_store *store, const char *action, const char *id, json_t *request,
                       struct ctl_sqs_result *out)
{
	char error[ERROR_BYTES];
	int rc;
	if (strcmp(action, "RevokeKey") == 0) {
		rc = ctl_keys_revoke(store, id);
	} else {
		char *policy;
		if (policy_text(request, &policy) != 0) {
			fail(out, 400, "MalformedPolicyDocument",
			     "Policy must be an object or a string");
			return;
		}
		rc = ctl_keys_set_policy(store, id, policy, error, sizeof(error));
		free(policy);
		if (rc == -EINVAL || rc == -E2BIG) {
			fail_policy(out, rc, error);
			return;
		}
	}
	if (rc != 0) {
		fail_errno(out, rc, id);
		return;
	}
	out->http_status = 200;
	out->body = json_object();
	out->changed = true;
}

bool ctl_keys_api_handles(const char *target)
{
	return target != NULL &&
	       strncmp(target, CTL_KEYS_TARGET_PREFIX, strlen(CTL_KEYS_TARGET_PREFIX)) == 0;
}

bool ctl_keys_api_known(const char *action)
{
	for (size_t i = 0; i < sizeof(ACTIONS) / sizeof(ACTIONS[0]); i++) {
		if (strcmp(action, ACTIONS[i]) == 0)
			return true;
	}
	return false;
}

/* The resource a call acts on: the key it names, or every key ("key/" "*"). False: too long. */
static bool key_arn(const struct ctl_aws_config *config, const char *action, json_t *params,
                    char *out, size_t out_bytes)
{
	bool names_key = strcmp(action, "CreateKey") != 0 && strcmp(action, "ListKeys") != 0;
	const char *id = names_key ? json_string_value(json_object_get(params, "AccessKeyId")) : NULL;
	int n = snprintf(out, out_bytes, "arn:aws:busbar:%s:%s:key/%s", config->region,
	                 config->account_id, id != NULL ? id : "*");
	return n > 0 && (size_t)n < out_bytes;
}

bool ctl_keys_api_allowed(const struct ctl_key *key, const char *action, json_t *params,
                          const struct ctl_aws_config *config, char *message,
                          size_t message_bytes)
{
	assert(action != NULL && config != NULL);
	char policy_action[CTL_AWS_ACTION_BYTES_MAX + sizeof(CTL_KEYS_SIGV4_SERVICE) + 1];
	char arn[ARN_BYTES];
	snprintf(policy_action, sizeof(policy_action), CTL_KEYS_SIGV4_SERVICE ":%s", action);
	bool arn_fits = key_arn(config, action, params, arn, sizeof(arn));
	if (key == NULL) {
		snprintf(message, message_bytes,
		         "%s needs a signed request: busbar-control runs with --insecure-no-auth, "
		         "which serves no key management over HTTP (busbar-control keys on its host "
		         "does)",
		         policy_action);
		return false;
	}
	if (arn_fits && ctl_key_allows(key, policy_action, arn))
		return true;
	snprintf(message, message_bytes, "User: %s is not authorized to perform: %s on resource: %s",
	         key->access_key_id, policy_action, arn);
	return false;
}

void ctl_keys_api_handle(struct ctl_store *store, const char *target, const char *request_text,
                         size_t request_bytes, int64_t now_s, struct ctl_sqs_result *out)
{
	assert(store != NULL && out != NULL);
	*out = (struct ctl_sqs_result){0};
	const char *action =
	    ctl_keys_api_handles(target) ? target + strlen(CTL_KEYS_TARGET_PREFIX) : "";
	json_t *request = json_loadb(request_text, request_bytes, 0, NULL);
	if (!json_is_object(request)) {
		json_decref(request);
		fail(out, 400, "SerializationException", "the body must be a JSON object");
		return;
	}
	const char *id = json_string_value(json_object_get(request, "AccessKeyId"));
	bool needs_id = strcmp(action, "RotateKey") == 0 || strcmp(action, "RevokeKey") == 0 ||
	                strcmp(action, "PutKeyPolicy") == 0;
	if (strcmp(action, "CreateKey") == 0)
		create_key(store, request, now_s, out);
	else if (strcmp(action, "ListKeys") == 0)
		list_keys(store, now_s, out);
	else if (needs_id && id == NULL)
		fail(out, 400, "InvalidInput", "AccessKeyId is required");
	else if (strcmp(action, "RotateKey") == 0)
		rotate_key(store, id, request, now_s, out);
	else if (needs_id)
		change_key(store, action, id, request, out);
	else
		fail(out, 400, "UnknownOperationException", "unknown BusbarKeys action");
	json_decref(request);
}

/* ---- busbar-control keys ---- */

static void keys_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: busbar-control keys [--db PATH] create [--policy JSON]\n"
	    "       busbar-control keys [--db PATH] list\n"
	    "       busbar-control keys [--db PATH] rotate ACCESS_KEY_ID [--overlap-seconds N]\n"
	    "       busbar-control keys [--db PATH] revoke ACCESS_KEY_ID\n"
	    "       busbar-control keys [--db PATH] put-policy ACCESS_KEY_ID --policy JSON\n");
}

/* The call a command line names, as a request object; NULL with usage said. */
static json_t *keys_request(int argc, char **argv, const char *policy, long overlap_s,
                            const char **action)
{
	static const char *const names[][2] = {{"create", "CreateKey"},
	                                       {"list", "ListKeys"},
	                                       {"rotate", "RotateKey"},
	                                       {"revoke", "RevokeKey"},
	                                       {"put-policy", "PutKeyPolicy"}};
	*action = NULL;
	for (size_t i = 0; argc >= 1 && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(argv[0], names[i][0]) == 0)
			*action = names[i][1];
	}
	bool takes_id = *action != NULL && (*action)[0] != 'C' && (*action)[0] != 'L';
	if (*action == NULL || argc != (takes_id ? 2 : 1)) {
		keys_usage(stderr);
		return NULL;
	}
	json_t *request = json_object();
	if (takes_id)
		json_object_set_new(request, "AccessKeyId", json_string(argv[1]));
	if (policy != NULL)
		json_object_set_new(request, "Policy", json_string(policy));
	if (overlap_s >= 0)
		json_object_set_new(request, "OverlapSeconds", json_integer(overlap_s));
	return request;
}

static int run_keys_call(const char *db_path, const char *action, json_t *request)
{
	char error[ERROR_BYTES], target[64];
	struct ctl_store *store = ctl_store_open(db_path, error, sizeof(error));
	if (store == NULL) {
		fprintf(stderr, "busbar-control keys: %s\n", error);
		return 1;
	}
	snprintf(target, sizeof(target), CTL_KEYS_TARGET_PREFIX "%s", action);
	char *text = json_dumps(request, JSON_COMPACT);
	struct ctl_sqs_result result;
	ctl_keys_api_handle(store, target, text, strlen(text), (int64_t)time(NULL), &result);
	free(text);
	ctl_store_close(store);
	if (result.secret_text != NULL) { /* one line, as the busbar command prints it */
		printf("%s\n", result.secret_text);
		ctl_aws_free_secret(result.secret_text);
		return 0;
	}
	char *answer = json_dumps(result.body, JSON_INDENT(2));
	fprintf(result.http_status == 200 ? stdout : stderr, "%s\n", answer ? answer : "");
	free(answer);
	json_decref(result.body);
	return result.http_status == 200 ? 0 : 1;
}

int ctl_keys_main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"policy", required_argument, NULL, 'p'},
	    {"overlap-seconds", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db_path = "/var/lib/busbar/control.db", *policy = NULL;
	long overlap_s = -1;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'd': db_path = optarg; break;
		case 'p': policy = optarg; break;
		case 'o': overlap_s = strtol(optarg, NULL, 10); break;
		case 'h': keys_usage(stdout); return 0;
		default: keys_usage(stderr); return 2;
		}
	}
	const char *action;
	json_t *request = keys_request(argc - optind, argv + optind, policy, overlap_s, &action);
	if (request == NULL)
		return 2;
	int rc = run_keys_call(db_path, action, request);
	json_decref(request);
	return rc;
}

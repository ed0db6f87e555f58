/*
 * Access keys (control/ctl_keys.h): create, find, list, rotate with an overlap
 * period, revoke, policies; each change bumps the configuration version; the
 * secret never rests in the database in clear and the sealing key file is
 * 0600 (a readable one is refused); the snapshot names only live keys; ids are
 * never reused; the key count has its limit. The BusbarKeys API over HTTP
 * (control/ctl_keys_api.h): its targets parse as key management, only a
 * policy granting busbar:<Action> allows a call (never an unauthenticated
 * one), secrets appear only in CreateKey's and RotateKey's answers, and its
 * errors are IAM's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bb_mac.h"
#include "ctl_aws.h"
#include "ctl_keys.h"
#include "ctl_keys_api.h"
#include "ctl_store.h"

#define NOW 1700000000
#define ALLOW_SEND                                                                                 \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\","                    \
	"\"Resource\":\"arn:aws:sqs:*:*:orders\"}]}"

static char dir[] = "/tmp/test_keys_XXXXXX";
static char db_path[256];
static struct ctl_store *store;
static char error[256];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/control.db", dir);
	store = ctl_store_open(db_path, error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
}

static void teardown(void)
{
	char command[512];
	ctl_store_close(store);
	snprintf(command, sizeof(command), "rm -rf %s", dir);
	cr_assert_eq(system(command), 0);
}

TestSuite(keys, .init = setup, .fini = teardown);

static void create(const char *policy, struct ctl_key *out)
{
	cr_assert_eq(ctl_keys_create(store, policy, NOW, out, error, sizeof(error)), 0, "%s",
	             error);
}

Test(keys, create_find_allows)
{
	struct ctl_key key, found;
	uint64_t version = ctl_store_version(store);
	create(ALLOW_SEND, &key);
	cr_assert_eq(ctl_store_version(store), version + 1);
	cr_assert_neq(key.key_id, 0);
	cr_assert_eq(strlen(key.access_key_id), CTL_ACCESS_KEY_ID_BYTES);
	cr_assert_eq(strncmp(key.access_key_id, "BB", 2), 0);
	uint32_t spelled;
	cr_assert(bb_access_key_id_parse(key.access_key_id, &spelled));
	cr_assert_eq(spelled, key.key_id, "a client knows the wire key id from the credential");
	cr_assert_eq(strlen(key.secret), CTL_SECRET_KEY_BYTES);
	cr_assert_eq(ctl_keys_find(store, key.access_key_id, NOW, &found), 0);
	cr_assert_str_eq(found.secret, key.secret);
	cr_assert_eq(found.key_id, key.key_id);
	cr_assert(ctl_key_allows(&found, "sqs:SendMessage", "arn:aws:sqs:local:0:orders"));
	cr_assert_not(ctl_key_allows(&found, "sqs:ReceiveMessage", "arn:aws:sqs:local:0:orders"));
	ctl_key_clear(&found);
	for (int i = 0; i < CTL_SECRET_KEY_BYTES; i++)
		cr_assert_eq(found.secret[i], 0);
	cr_assert_null(found.policy_json);
	cr_assert_eq(ctl_keys_find(store, "BBNOSUCHKEY", NOW, &found), -ENOENT);
	ctl_key_clear(&key);
}

Test(keys, bad_policy_refused)
{
	struct ctl_key key;
	uint64_t version = ctl_store_version(store);
	cr_assert_eq(ctl_keys_create(store, "{\"Statement\":1}", NOW, &key, error, sizeof(error)),
	             -EINVAL);
	cr_assert_gt(strlen(error), 0);
	cr_assert_eq(ctl_store_version(store), version);
}

Test(keys, secret_sealed_at_rest)
{
	struct ctl_key key;
	create(NULL, &key);
	ctl_store_close(store);
	store = NULL;
	FILE *f = fopen(db_path, "rb");
	cr_assert_not_null(f);
	static char bytes[1 << 20];
	size_t n = fread(bytes, 1, sizeof(bytes), f);
	fclose(f);
	cr_assert_null(memmem(bytes, n, key.secret, CTL_SECRET_KEY_BYTES));
	char seal_path[300];
	snprintf(seal_path, sizeof(seal_path), "%s.secret-key", db_path);
	struct stat st;
	cr_assert_eq(stat(seal_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* A sealing key others may read is refused, not used. */
	store = ctl_store_open(db_path, error, sizeof(error));
	struct ctl_key found;
	cr_assert_eq(chmod(seal_path, 0640), 0);
	cr_assert_eq(ctl_keys_find(store, key.access_key_id, NOW, &found), -EACCES);
	cr_assert_eq(chmod(seal_path, 0600), 0);
	cr_assert_eq(ctl_keys_find(store, key.access_key_id, NOW, &found), 0);
	cr_assert_str_eq(found.secret, key.secret);
	ctl_key_clear(&found);
	ctl_key_clear(&key);
}

Test(keys, rotate_overlap_then_expired)
{
	struct ctl_key old, fresh, found;
	create(ALLOW_SEND, &old);
	cr_assert_eq(ctl_keys_rotate(store, old.access_key_id, 600, NOW + 10, &fresh), 0);
	cr_assert_gt(fresh.key_id, old.key_id);
	cr_assert_str_eq(fresh.policy_json, ALLOW_SEND);
	cr_assert_eq(ctl_keys_find(store, old.access_key_id, NOW + 609, &found), 0);
	cr_assert_eq(found.expires_s, NOW + 610);
	ctl_key_clear(&found);
	cr_assert_eq(ctl_keys_find(store, old.access_key_id, NOW + 610, &found), -EKEYEXPIRED);
	cr_assert_eq(ctl_keys_find(store, fresh.access_key_id, NOW + 610, &found), 0);
	ctl_key_clear(&found);
	cr_assert_eq(ctl_keys_rotate(store, old.access_key_id, 600, NOW + 700, &found),
	             -EKEYEXPIRED);
	cr_assert_eq(ctl_keys_rotate(store, old.access_key_id, -1, NOW, &found), -EINVAL);
	ctl_key_clear(&old);
	ctl_key_clear(&fresh);
}

Test(keys, revoke_and_ids_not_reused)
{
	struct ctl_key a, b, found;
	create(NULL, &a);
	cr_assert_eq(ctl_keys_revoke(store, a.access_key_id), 0);
	cr_assert_eq(ctl_keys_find(store, a.access_key_id, NOW, &found), -EKEYREVOKED);
	cr_assert_eq(ctl_keys_revoke(store, "BBNOSUCHKEY"), -ENOENT);
	create(NULL, &b);
	cr_assert_gt(b.key_id, a.key_id);
	struct ctl_key *list;
	size_t count;
	cr_assert_eq(ctl_keys_list(store, &list, &count), 0);
	cr_assert_eq(count, 2);
	cr_assert(list[0].revoked);
	cr_assert_eq(list[0].secret[0], 0); /* listing shows no secrets */
	for (size_t i = 0; i < count; i++)
		ctl_key_clear(&list[i]);
	free(list);
	ctl_key_clear(&a);
	ctl_key_clear(&b);
}

Test(keys, snapshot_entries_live_only)
{
	struct ctl_key a, b, c, d;
	create(ALLOW_SEND, &a);
	create(NULL, &b);
	create(NULL, &c);
	cr_assert_eq(ctl_keys_revoke(store, b.access_key_id), 0);
	cr_assert_eq(ctl_keys_rotate(store, c.access_key_id, 0, NOW, &d), 0);
	struct bb_snapshot_entry entries[BB_KEY_COUNT_MAX];
	uint32_t count;
	cr_assert_eq(ctl_keys_snapshot_entries(store, NOW, entries, BB_KEY_COUNT_MAX, &count), 0);
	cr_assert_eq(count, 2); /* a and d: b revoked, c expired at once */
	cr_assert_eq(entries[0].key.key_id, a.key_id);
	cr_assert_eq(memcmp(entries[0].key.secret, a.secret, BB_KEY_SECRET_BYTES), 0);
	cr_assert_eq(entries[0].key.policy_bytes, strlen(ALLOW_SEND));
	cr_assert_eq(entries[1].key.key_id, d.key_id);
	cr_assert_null(entries[1].key.policy_json);
	ctl_keys_entries_clear(entries, count);
	ctl_key_clear(&a);
	ctl_key_clear(&b);
	ctl_key_clear(&c);
	ctl_key_clear(&d);
}

Test(keys, count_limit)
{
	struct ctl_key key;
	for (unsigned i = 0; i < BB_KEY_COUNT_MAX; i++) {
		create(NULL, &key);
		ctl_key_clear(&key);
	}
	cr_assert_eq(ctl_keys_create(store, NULL, NOW, &key, error, sizeof(error)), -ENOSPC);
}

/* ---- the BusbarKeys API (ctl_keys_api.h): dispatch, who may call, what answers carry ---- */

static const struct ctl_aws_config CONFIG = {.account_id = "000000000000", .region = "local"};
static const char *const KEY_ACTIONS[] = {"CreateKey", "ListKeys", "RotateKey", "RevokeKey",
                                          "PutKeyPolicy"};

static struct ctl_sqs_result call_api(const char *action, const char *body)
{
	char target[64];
	struct ctl_sqs_result result;
	snprintf(target, sizeof(target), CTL_KEYS_TARGET_PREFIX "%s", action);
	ctl_keys_api_handle(store, target, body, strlen(body), NOW, &result);
	return result;
}

/* A secret's answer (its text, freed here) as JSON: the test's own copy. */
static json_t *secret_json(struct ctl_sqs_result *r)
{
	cr_assert_not_null(r->secret_text);
	json_t *json = json_loads(r->secret_text, 0, NULL);
	cr_assert(json_is_object(json), "%s", r->secret_text);
	ctl_aws_free_secret(r->secret_text);
	r->secret_text = NULL;
	return json;
}

static const char *error_type(const struct ctl_sqs_result *r)
{
	return json_string_value(json_object_get(r->body, "__type"));
}

/* Whether a key with this policy may make the call, naming key_id (NULL: none). */
static bool may(const char *policy, const char *action, const char *key_id)
{
	char policy_text[512], message[CTL_AWS_ERROR_BYTES_MAX];
	snprintf(policy_text, sizeof(policy_text), "%s", policy);
	struct ctl_key caller = {.access_key_id = "BBAAAAAABCALLER00000", .policy_json = policy_text};
	json_t *params = key_id ? json_pack("{s:s}", "AccessKeyId", key_id) : json_object();
	bool allowed = ctl_keys_api_allowed(&caller, action, params, &CONFIG, message,
	                                    sizeof(message));
	json_decref(params);
	if (!allowed)
		cr_assert(strstr(message, "is not authorized to perform: busbar:") != NULL, "%s",
		          message);
	return allowed;
}

/* A BusbarKeys target is its own service, JSON 1.0, management; an unknown one is not served. */
Test(keys, api_targets_dispatch_as_key_management)
{
	struct ctl_aws_request request;
	const struct ctl_aws_error *e;
	char message[256];
	for (size_t i = 0; i < sizeof(KEY_ACTIONS) / sizeof(KEY_ACTIONS[0]); i++) {
		char target[64];
		snprintf(target, sizeof(target), CTL_KEYS_TARGET_PREFIX "%s", KEY_ACTIONS[i]);
		cr_assert_eq(ctl_aws_parse("application/x-amz-json-1.0", target, "{}", 2, NULL,
		                           &request, &e, message, sizeof(message)),
		             0, "%s", message);
		cr_assert_eq(request.service, CTL_AWS_KEYS);
		cr_assert_eq(request.protocol, CTL_AWS_JSON_10);
		cr_assert_eq(request.kind, CTL_AWS_MANAGE, "%s", target);
		cr_assert_str_eq(request.action, KEY_ACTIONS[i]);
		ctl_aws_request_clear(&request);
	}
	cr_assert_eq(ctl_aws_parse("application/x-amz-json-1.0", "BusbarKeys.DeleteEverything",
	                           "{}", 2, NULL, &request, &e, message, sizeof(message)),
	             0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
	ctl_aws_request_clear(&request);
	cr_assert_neq(ctl_aws_parse("application/x-amz-json-1.1", "BusbarKeys.ListKeys", "{}", 2,
	                            NULL, &request, &e, message, sizeof(message)),
	              0);
	ctl_aws_request_clear(&request);
}

/* Only an explicit grant of busbar:<Action> allows a key call; sqs:* is no admin. */
Test(keys, api_permission_needs_busbar_actions)
{
	const char *admin = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"busbar:*\","
	                    "\"Resource\":\"*\"}}";
	const char *everything = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
	                         "\"Resource\":\"*\"}}";
	const char *sqs_only = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
	                       "\"Resource\":\"*\"}}";
	for (size_t i = 0; i < sizeof(KEY_ACTIONS) / sizeof(KEY_ACTIONS[0]); i++) {
		cr_assert(may(admin, KEY_ACTIONS[i], "BBAAAAAAB00000000000"));
		cr_assert(may(everything, KEY_ACTIONS[i], "BBAAAAAAB00000000000"), "as IAM's *");
		cr_assert_not(may(sqs_only, KEY_ACTIONS[i], "BBAAAAAAB00000000000"));
	}
	/* A grant on one key: rotate that key, but neither another nor make or list keys. */
	const char *one = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"busbar:RotateKey\","
	                  "\"Resource\":\"arn:aws:busbar:*:*:key/BBAAAAAAB00000000000\"}}";
	cr_assert(may(one, "RotateKey", "BBAAAAAAB00000000000"));
	cr_assert_not(may(one, "RotateKey", "BBAAAAAAC00000000000"));
	cr_assert_not(may(one, "RotateKey", NULL));
	const char *create = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"busbar:CreateKey\","
	                     "\"Resource\":\"arn:aws:busbar:*:*:key/BB*\"}}";
	cr_assert_not(may(create, "CreateKey", NULL), "CreateKey needs a grant on every key");
	const char *denied = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":"
	                     "\"*\"},{\"Effect\":\"Deny\",\"Action\":\"busbar:RevokeKey\","
	                     "\"Resource\":\"*\"}]}";
	cr_assert_not(may(denied, "RevokeKey", "BBAAAAAAB00000000000"));
	cr_assert(may(denied, "ListKeys", NULL));
	/* Unauthenticated (--insecure-no-auth): never. */
	char message[CTL_AWS_ERROR_BYTES_MAX];
	json_t *params = json_object();
	cr_assert_not(ctl_keys_api_allowed(NULL, "ListKeys", params, &CONFIG, message,
	                                   sizeof(message)));
	cr_assert(strstr(message, "--insecure-no-auth") != NULL);
	json_decref(params);
}

/* CreateKey and RotateKey answer the secret once; ListKeys never carries one. */
Test(keys, api_secret_only_in_create_and_rotate)
{
	struct ctl_sqs_result created = call_api("CreateKey", "{\"Policy\":" ALLOW_SEND "}");
	cr_assert_eq(created.http_status, 200);
	cr_assert(created.changed);
	cr_assert_null(created.body, "a secret's answer is its text alone");
	json_t *created_json = secret_json(&created);
	json_t *key = json_object_get(created_json, "Key");
	const char *secret = json_string_value(json_object_get(key, "SecretAccessKey"));
	cr_assert_not_null(secret);
	cr_assert_eq(strlen(secret), CTL_SECRET_KEY_BYTES);
	char id[CTL_ACCESS_KEY_ID_BYTES + 1], body[128];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(key, "AccessKeyId")));
	snprintf(body, sizeof(body), "{\"AccessKeyId\":\"%s\",\"OverlapSeconds\":60}", id);
	struct ctl_sqs_result rotated = call_api("RotateKey", body);
	cr_assert_eq(rotated.http_status, 200);
	json_t *rotated_json = secret_json(&rotated);
	const char *new_secret = json_string_value(
	    json_object_get(json_object_get(rotated_json, "Key"), "SecretAccessKey"));
	cr_assert_not_null(new_secret);
	cr_assert_eq(json_integer_value(json_object_get(rotated_json, "OldKeyExpiresAt")),
	             NOW + 60);
	struct ctl_sqs_result listed = call_api("ListKeys", "{}");
	cr_assert_eq(listed.http_status, 200);
	cr_assert_not(listed.changed);
	cr_assert_eq(json_array_size(json_object_get(listed.body, "Keys")), 2);
	char *text = json_dumps(listed.body, JSON_COMPACT);
	cr_assert_null(strstr(text, "SecretAccessKey"), "%s", text);
	cr_assert_null(strstr(text, secret));
	cr_assert_null(strstr(text, new_secret));
	free(text);
	json_decref(created_json);
	json_decref(rotated_json);
	json_decref(listed.body);
}

/* IAM's errors: NoSuchEntity, MalformedPolicyDocument, LimitExceeded; the range named. */
Test(keys, api_errors_are_iams)
{
	struct ctl_sqs_result r = call_api("RevokeKey", "{\"AccessKeyId\":\"BBNOSUCHKEY\"}");
	cr_assert_eq(r.http_status, 404);
	cr_assert_str_eq(error_type(&r), "NoSuchEntity");
	json_decref(r.body);
	r = call_api("CreateKey", "{\"Policy\":{\"Statement\":1}}");
	cr_assert_eq(r.http_status, 400);
	cr_assert_str_eq(error_type(&r), "MalformedPolicyDocument");
	json_decref(r.body);
	json_t *statements = json_array();
	for (unsigned i = 0; i <= BB_POLICY_STATEMENTS_MAX; i++)
		json_array_append_new(statements, json_pack("{s:s, s:s, s:s}", "Effect", "Allow",
		                                            "Action", "sqs:A", "Resource", "*"));
	json_t *request = json_pack("{s:{s:o}}", "Policy", "Statement", statements);
	char *text = json_dumps(request, JSON_COMPACT);
	r = call_api("CreateKey", text);
	cr_assert_eq(r.http_status, 409);
	cr_assert_str_eq(error_type(&r), "LimitExceeded", "a policy past the limits");
	free(text);
	json_decref(request);
	json_decref(r.body);
	struct ctl_key key;
	create(NULL, &key);
	char body[128];
	snprintf(body, sizeof(body), "{\"AccessKeyId\":\"%s\",\"OverlapSeconds\":%u}",
	         key.access_key_id, BB_KEY_OVERLAP_S_MAX + 1);
	r = call_api("RotateKey", body);
	cr_assert_eq(r.http_status, 400);
	cr_assert(strstr(json_string_value(json_object_get(r.body, "message")), "0 to ") != NULL);
	json_decref(r.body);
	ctl_key_clear(&key);
}

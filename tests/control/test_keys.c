/*
 * Access keys (control/ctl_keys.h): create, find, list, rotate with an overlap
 * period, revoke, policies; each change bumps the configuration version; the
 * secret never rests in the database in clear and the sealing key file is
 * 0600 (a readable one is refused); the snapshot names only live keys; ids are
 * never reused; the key count has its limit.
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
#include "ctl_keys.h"
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

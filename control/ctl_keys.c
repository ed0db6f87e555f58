/*
 * Access keys in busbar-control's SQLite store (see ctl_keys.h).
 *
 * Sealing: each secret is stored as nonce (12) | AES-256-GCM ciphertext (40) |
 * tag (16), with the access key id as additional data so a sealed secret
 * cannot be moved to another row. The sealing key is 32 random bytes in
 * "<db>.secret-key", made 0600 with the database's first key and refused if
 * anyone but the owner may read it. An in-memory database (tests) seals under a
 * per-process random key: its secrets never rest anywhere.
 *
 * Key ids come from SQLite's AUTOINCREMENT, which never hands out an id twice,
 * so a revoked key's id cannot come back as someone else's.
 */
#include "ctl_keys.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "bb_mac.h"
#include "bb_policy.h"

#define SEAL_KEY_BYTES    32
#define SEAL_NONCE_BYTES  12
#define SEAL_TAG_BYTES    16
#define SEALED_BYTES      (SEAL_NONCE_BYTES + CTL_SECRET_KEY_BYTES + SEAL_TAG_BYTES)
#define SEAL_KEY_SUFFIX   ".secret-key"
#define ACCESS_KEY_PREFIX "BB"
#define ACCESS_KEY_RANDOM (CTL_ACCESS_KEY_ID_BYTES - 2) /* base32 characters after "BB" */

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- the sealing key ---- */

static uint8_t memory_seal_key[SEAL_KEY_BYTES];
static pthread_once_t memory_seal_once = PTHREAD_ONCE_INIT;
static int memory_seal_rc;

static void make_memory_seal_key(void)
{
	memory_seal_rc = RAND_bytes(memory_seal_key, sizeof(memory_seal_key)) == 1 ? 0 : -EIO;
}

static bool is_memory_database(const char *path)
{
	return path[0] == '\0' || strcmp(path, ":memory:") == 0 ||
	       strncmp(path, "file::memory:", 13) == 0;
}

static int read_seal_key(int fd, uint8_t *key)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid())
		return -EACCES; /* readable by others: the secrets are as good as public */
	ssize_t got = read(fd, key, SEAL_KEY_BYTES);
	return got == SEAL_KEY_BYTES ? 0 : -EIO;
}

/* Reads the sealing key, making it first if create (the first key of a store). */
static int load_seal_key(struct ctl_store *store, bool create, uint8_t *key)
{
	const char *db_path = ctl_store_path(store);
	if (is_memory_database(db_path)) {
		pthread_once(&memory_seal_once, make_memory_seal_key);
		memcpy(key, memory_seal_key, SEAL_KEY_BYTES);
		return memory_seal_rc;
	}
	char path[CTL_STORE_PATH_BYTES + sizeof(SEAL_KEY_SUFFIX)];
	snprintf(path, sizeof(path), "%s" SEAL_KEY_SUFFIX, db_path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 || errno != ENOENT || !create) {
		int rc = fd >= 0 ? read_seal_key(fd, key) : -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? load_seal_key(store, false, key) : -errno;
	int rc = RAND_bytes(key, SEAL_KEY_BYTES) == 1 ? 0 : -EIO;
	if (rc == 0 && write(fd, key, SEAL_KEY_BYTES) != SEAL_KEY_BYTES)
		rc = -EIO;
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc != 0)
		unlink(path);
	return rc;
}

static int seal(const uint8_t *seal_key, const char *access_key_id, const char *secret,
                uint8_t *sealed)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int length = 0;
	if (RAND_bytes(sealed, SEAL_NONCE_BYTES) != 1 || c == NULL) {
		EVP_CIPHER_CTX_free(c);
		return -EIO;
	}
	uint8_t *out = sealed + SEAL_NONCE_BYTES;
	bool ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, seal_key, sealed) == 1 &&
	          EVP_EncryptUpdate(c, NULL, &length, (const uint8_t *)access_key_id,
	                            (int)strlen(access_key_id)) == 1 &&
	          EVP_EncryptUpdate(c, out, &length, (const uint8_t *)secret,
	                            CTL_SECRET_KEY_BYTES) == 1 &&
	          length == CTL_SECRET_KEY_BYTES &&
	          EVP_EncryptFinal_ex(c, out + length, &length) == 1 &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_BYTES,
	                              out + CTL_SECRET_KEY_BYTES) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

static int unseal(const uint8_t *seal_key, const char *access_key_id, const uint8_t *sealed,
                  char *secret)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int length = 0;
	const uint8_t *in = sealed + SEAL_NONCE_BYTES;
	bool ok = c != NULL &&
	          EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, seal_key, sealed) == 1 &&
	          EVP_DecryptUpdate(c, NULL, &length, (const uint8_t *)access_key_id,
	                            (int)strlen(access_key_id)) == 1 &&
	          EVP_DecryptUpdate(c, (uint8_t *)secret, &length, in, CTL_SECRET_KEY_BYTES) == 1 &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_BYTES,
	                              (void *)(in + CTL_SECRET_KEY_BYTES)) == 1 &&
	          EVP_DecryptFinal_ex(c, (uint8_t *)secret + length, &length) == 1;
	EVP_CIPHER_CTX_free(c);
	secret[CTL_SECRET_KEY_BYTES] = '\0';
	if (!ok)
		explicit_bzero(secret, CTL_SECRET_KEY_BYTES);
	return ok ? 0 : -EBADMSG; /* tampered, or sealed under another key file */
}

/* ---- rows ---- */

#define KEY_COLUMNS                                                                                \
	"key_id, access_key_id, sealed_secret, created_s, expires_s, revoked, policy_json"

/* Reads a row; the secret only if seal_key is given. */
static int read_key(sqlite3_stmt *st, const uint8_t *seal_key, struct ctl_key *out)
{
	memset(out, 0, sizeof(*out));
	out->key_id = (uint32_t)sqlite3_column_int64(st, 0);
	snprintf(out->access_key_id, sizeof(out->access_key_id), "%s",
	         (const char *)sqlite3_column_text(st, 1));
	out->created_s = sqlite3_column_int64(st, 3);
	out->expires_s = sqlite3_column_int64(st, 4);
	out->revoked = sqlite3_column_int64(st, 5) != 0;
	const char *policy = (const char *)sqlite3_column_text(st, 6);
	if (policy != NULL && (out->policy_json = strdup(policy)) == NULL)
		return -ENOMEM;
	if (seal_key == NULL)
		return 0;
	if (sqlite3_column_bytes(st, 2) != SEALED_BYTES)
		return -EBADMSG;
	int rc = unseal(seal_key, out->access_key_id, sqlite3_column_blob(st, 2), out->secret);
	if (rc != 0)
		ctl_key_clear(out);
	return rc;
}

static int key_state(const struct ctl_key *key, int64_t now_s)
{
	if (key->revoked)
		return -EKEYREVOKED;
	if (key->expires_s != 0 && now_s >= key->expires_s)
		return -EKEYEXPIRED;
	return 0;
}

int ctl_keys_find(struct ctl_store *store, const char *access_key_id, int64_t now_s,
                  struct ctl_key *out)
{
	assert(store != NULL && access_key_id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	uint8_t seal_key[SEAL_KEY_BYTES];
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "SELECT " KEY_COLUMNS " FROM access_keys WHERE access_key_id = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, access_key_id, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int rc = step == SQLITE_ROW ? 0 : (step == SQLITE_DONE ? -ENOENT : -EIO);
	if (rc == 0)
		rc = load_seal_key(store, false, seal_key);
	if (rc == 0)
		rc = read_key(st, seal_key, out);
	sqlite3_finalize(st);
	explicit_bzero(seal_key, sizeof(seal_key));
	if (rc == 0 && (rc = key_state(out, now_s)) != 0)
		ctl_key_clear(out);
	return rc;
}

void ctl_key_clear(struct ctl_key *key)
{
	if (key == NULL)
		return;
	explicit_bzero(key->secret, sizeof(key->secret));
	free(key->policy_json);
	key->policy_json = NULL;
}

bool ctl_key_allows(const struct ctl_key *key, const char *action, const char *resource_arn)
{
	assert(key != NULL && action != NULL && resource_arn != NULL);
	if (key->policy_json == NULL || key->revoked)
		return false;
	struct bb_policy *policy = malloc(sizeof(*policy));
	char error[128];
	bool allowed = policy != NULL &&
	               bb_policy_compile(key->policy_json, strlen(key->policy_json), policy, error,
	                                 sizeof(error)) == 0 &&
	               bb_policy_allows(policy, action, resource_arn);
	free(policy);
	return allowed;
}

/* ---- changes ---- */

static int exec(struct ctl_store *store, const char *sql)
{
	return sqlite3_exec(ctl_store_db(store), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Ends a transaction begun by the caller: commits with the version bumped, or rolls back. */
static int finish(struct ctl_store *store, int rc)
{
	if (rc == 0 && exec(store, "UPDATE config_version SET version = version + 1") != 0)
		rc = -EIO;
	if (rc == 0 && exec(store, "COMMIT") != 0)
		rc = -EIO;
	if (rc != 0)
		exec(store, "ROLLBACK");
	return rc;
}

static int check_policy(const char *policy_json, char *error, size_t error_bytes)
{
	if (policy_json == NULL)
		return 0;
	struct bb_policy *policy = malloc(sizeof(*policy));
	if (policy == NULL)
		return -ENOMEM;
	int rc = bb_policy_compile(policy_json, strlen(policy_json), policy, error, error_bytes);
	free(policy);
	return rc; /* -E2BIG apart from -EINVAL: IAM's LimitExceeded, not a malformed policy */
}

static int64_t live_key_count(struct ctl_store *store)
{
	sqlite3_stmt *st;
	int64_t count = -1;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "SELECT count(*) FROM access_keys WHERE revoked = 0", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return count;
}

/* The next key id, inside the caller's write transaction: AUTOINCREMENT's, never reused. */
static int next_key_id(struct ctl_store *store, uint32_t *key_id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
	                       "'access_keys'), 0) + 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (id <= 0)
		return -EIO;
	if (id > UINT32_MAX)
		return -EOVERFLOW; /* the wire's key id is 32 bits */
	*key_id = (uint32_t)id;
	return 0;
}

/* The access key id spells the key id (bb_mac.h), then random characters; a new secret. */
static int make_credentials(struct ctl_key *key)
{
	uint8_t random[ACCESS_KEY_RANDOM + CTL_SECRET_KEY_BYTES];
	if (RAND_bytes(random, sizeof(random)) != 1)
		return -EIO;
	memcpy(key->access_key_id, ACCESS_KEY_PREFIX, 2);
	bb_access_key_id_put(key->key_id, key->access_key_id + 2);
	for (int i = BB_ACCESS_KEY_ID_DIGITS; i < ACCESS_KEY_RANDOM; i++)
		key->access_key_id[2 + i] = base32[random[i] & 31];
	key->access_key_id[CTL_ACCESS_KEY_ID_BYTES] = '\0';
	for (int i = 0; i < CTL_SECRET_KEY_BYTES; i++)
		key->secret[i] = base64[random[ACCESS_KEY_RANDOM + i] & 63];
	key->secret[CTL_SECRET_KEY_BYTES] = '\0';
	explicit_bzero(random, sizeof(random));
	return 0;
}

/* Inserts a new key (its key_id chosen by next_key_id) inside the caller's transaction. */
static int insert_key(struct ctl_store *store, struct ctl_key *key)
{
	uint8_t seal_key[SEAL_KEY_BYTES], sealed[SEALED_BYTES];
	int64_t count = live_key_count(store);
	if (count < 0)
		return -EIO;
	if (count >= BB_KEY_COUNT_MAX)
		return -ENOSPC;
	int rc = load_seal_key(store, true, seal_key);
	if (rc == 0)
		rc = seal(seal_key, key->access_key_id, key->secret, sealed);
	explicit_bzero(seal_key, sizeof(seal_key));
	sqlite3_stmt *st;
	if (rc != 0 || sqlite3_prepare_v2(ctl_store_db(store),
	                                  "INSERT INTO access_keys (access_key_id, sealed_secret, "
	                                  "created_s, policy_json, key_id) VALUES (?,?,?,?,?)",
	                                  -1, &st, NULL) != SQLITE_OK)
		return rc != 0 ? rc : -EIO;
	sqlite3_bind_int64(st, 5, key->key_id);
	sqlite3_bind_text(st, 1, key->access_key_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sealed, SEALED_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, key->created_s);
	if (key->policy_json != NULL)
		sqlite3_bind_text(st, 4, key->policy_json, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

static int new_key(struct ctl_store *store, const char *policy_json, int64_t now_s,
                   struct ctl_key *out)
{
	memset(out, 0, sizeof(*out));
	out->created_s = now_s;
	if (policy_json != NULL && (out->policy_json = strdup(policy_json)) == NULL)
		return -ENOMEM;
	int rc = next_key_id(store, &out->key_id);
	if (rc == 0)
		rc = make_credentials(out);
	if (rc == 0)
		rc = insert_key(store, out);
	if (rc != 0)
		ctl_key_clear(out);
	return rc;
}

int ctl_keys_create(struct ctl_store *store, const char *policy_json, int64_t now_s,
                    struct ctl_key *out, char *error, size_t error_bytes)
{
	assert(store != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	int rc = check_policy(policy_json, error, error_bytes);
	if (rc != 0)
		return rc;
	if (exec(store, "BEGIN IMMEDIATE") != 0)
		return -EIO;
	return finish(store, new_key(store, policy_json, now_s, out));
}

static int update_one(struct ctl_store *store, const char *sql, const char *access_key_id,
                      int64_t number)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ctl_store_db(store), sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, access_key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (rc == 0 && sqlite3_changes(ctl_store_db(store)) == 0)
		rc = -ENOENT;
	sqlite3_finalize(st);
	return rc;
}

int ctl_keys_rotate(struct ctl_store *store, const char *access_key_id, int64_t overlap_s,
                    int64_t now_s, struct ctl_key *out)
{
	assert(store != NULL && access_key_id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if (overlap_s < 0 || overlap_s > CTL_KEY_OVERLAP_S_MAX)
		return -EINVAL;
	if (exec(store, "BEGIN IMMEDIATE") != 0)
		return -EIO;
	struct ctl_key old;
	int rc = ctl_keys_find(store, access_key_id, now_s, &old);
	if (rc == 0)
		rc = new_key(store, old.policy_json, now_s, out);
	ctl_key_clear(&old);
	/* An expiry at now_s ends the key at once: ctl_keys_find says expired from now on. */
	if (rc == 0)
		rc = update_one(store,
		                "UPDATE access_keys SET expires_s = ?2 WHERE access_key_id = ?1",
		                access_key_id, now_s + overlap_s);
	if (rc != 0)
		ctl_key_clear(out);
	return finish(store, rc);
}

int ctl_keys_revoke(struct ctl_store *store, const char *access_key_id)
{
	assert(store != NULL && access_key_id != NULL);
	if (exec(store, "BEGIN IMMEDIATE") != 0)
		return -EIO;
	return finish(
	    store, update_one(store, "UPDATE access_keys SET revoked = ?2 WHERE access_key_id = ?1",
	                      access_key_id, 1));
}

int ctl_keys_set_policy(struct ctl_store *store, const char *access_key_id, const char *policy_json,
                        char *error, size_t error_bytes)
{
	assert(store != NULL && access_key_id != NULL);
	int rc = check_policy(policy_json, error, error_bytes);
	if (rc != 0)
		return rc;
	if (exec(store, "BEGIN IMMEDIATE") != 0)
		return -EIO;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "UPDATE access_keys SET policy_json = ? WHERE access_key_id = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return finish(store, -EIO);
	sqlite3_bind_text(st, 1, policy_json, -1, SQLITE_STATIC); /* NULL binds SQL NULL */
	sqlite3_bind_text(st, 2, access_key_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	if (rc == 0 && sqlite3_changes(ctl_store_db(store)) == 0)
		rc = -ENOENT;
	sqlite3_finalize(st);
	return finish(store, rc);
}

int ctl_keys_list(struct ctl_store *store, struct ctl_key **out, size_t *count)
{
	assert(store != NULL && out != NULL && count != NULL);
	sqlite3_stmt *st;
	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "SELECT " KEY_COLUMNS " FROM access_keys ORDER BY key_id", -1, &st,
	                       NULL) != SQLITE_OK)
		return -EIO;
	int rc = 0, step;
	size_t capacity = 0;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count == capacity) {
			capacity = capacity == 0 ? 16 : 2 * capacity;
			struct ctl_key *grown = realloc(*out, capacity * sizeof(**out));
			if (grown == NULL) {
				rc = -ENOMEM;
				break;
			}
			*out = grown;
		}
		rc = read_key(st, NULL, &(*out)[*count]);
		if (rc == 0)
			(*count)++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	for (size_t i = 0; rc != 0 && i < *count; i++)
		ctl_key_clear(&(*out)[i]);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return rc;
}

static void key_entry(const struct ctl_key *key, struct bb_snapshot_entry *e)
{
	*e = (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_KEY};
	e->key.key_id = key->key_id;
	memcpy(e->key.secret, key->secret, BB_KEY_SECRET_BYTES);
	e->key.expires_s = (uint64_t)key->expires_s;
	e->key.policy_json = key->policy_json;
	e->key.policy_bytes = key->policy_json != NULL ? (uint32_t)strlen(key->policy_json) : 0;
}

int ctl_keys_snapshot_entries(struct ctl_store *store, int64_t now_s,
                              struct bb_snapshot_entry *entries, uint32_t capacity, uint32_t *count)
{
	assert(store != NULL && count != NULL);
	uint8_t seal_key[SEAL_KEY_BYTES];
	sqlite3_stmt *st;
	*count = 0;
	if (sqlite3_prepare_v2(ctl_store_db(store),
	                       "SELECT " KEY_COLUMNS " FROM access_keys WHERE revoked = 0 AND "
	                       "(expires_s = 0 OR expires_s > ?) ORDER BY key_id",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, now_s);
	int rc = 0, step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = load_seal_key(store, false, seal_key);
	for (; rc == 0 && step == SQLITE_ROW; step = sqlite3_step(st)) {
		if (*count == capacity) {
			rc = -E2BIG;
			break;
		}
		struct ctl_key key;
		rc = read_key(st, seal_key, &key);
		if (rc != 0)
			break;
		key_entry(&key, &entries[*count]);
		key.policy_json = NULL; /* now the entry's: ctl_keys_entries_clear frees it */
		ctl_key_clear(&key);
		(*count)++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	explicit_bzero(seal_key, sizeof(seal_key));
	if (rc != 0)
		ctl_keys_entries_clear(entries, *count);
	return rc;
}

void ctl_keys_entries_clear(struct bb_snapshot_entry *entries, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		assert(entries[i].kind == BB_SNAPSHOT_KIND_KEY);
		free((char *)entries[i].key.policy_json);
		explicit_bzero(&entries[i], sizeof(entries[i]));
	}
}

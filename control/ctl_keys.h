/*
 * Access keys: one credential for both paths, busbard's wire MAC (issue 16)
 * and SigV4 on busbar-control's HTTP API (issue 15). A key has a wire key id
 * (a number in every UDP request's header), an access key id ("BB" and 18
 * base32 characters, like AWS's AKIA..., the first 7 spelling the key id: see
 * common/bb_mac.h), a 40-character secret, and a policy
 * (common/bb_policy.h). Keys live in busbar-control's SQLite database with the
 * secret sealed (AES-256-GCM under a 32-byte key kept in a 0600 file beside the
 * database, "<db>.secret-key"); a secret is never logged. Every change bumps
 * the configuration version, so busbard gets the keys in the next snapshot.
 *
 * Rotation makes a new key with the old one's policy and lets the old one run
 * until its overlap period ends (expires_s); revocation ends a key at once.
 */
#ifndef BB_CTL_KEYS_H
#define BB_CTL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "bb_snapshot.h"
#include "ctl_store.h"

#define CTL_ACCESS_KEY_ID_BYTES   20      /* "BB" + 18 upper-case base32 chars, like AKIA... */
#define CTL_SECRET_KEY_BYTES      40      /* printable, as AWS secret access keys */
#define CTL_KEY_OVERLAP_S_DEFAULT 86400   /* a rotated key's old secret works one more day */
#define CTL_KEY_OVERLAP_S_MAX     ((int64_t)BB_KEY_OVERLAP_S_MAX)
_Static_assert(CTL_SECRET_KEY_BYTES == BB_KEY_SECRET_BYTES, "one secret size everywhere");

struct ctl_key {
	uint32_t key_id; /* the wire header's key id: never 0, never reused */
	char access_key_id[CTL_ACCESS_KEY_ID_BYTES + 1];
	char secret[CTL_SECRET_KEY_BYTES + 1]; /* zeroed by ctl_key_clear */
	int64_t created_s;
	int64_t expires_s; /* 0: none; set when the key is rotated (overlap period) */
	bool revoked;
	char *policy_json; /* IAM-policy subset; NULL: allow nothing */
};

/* 0, -ENOENT (unknown), -EKEYREVOKED, -EKEYEXPIRED; out is filled (and must be cleared) on 0. */
__attribute__((warn_unused_result)) int ctl_keys_find(struct ctl_store *store,
                                                      const char *access_key_id, int64_t now_s,
                                                      struct ctl_key *out);
/* Zeroes the secret, frees policy_json. */
void ctl_key_clear(struct ctl_key *key);
/* True when the key's policy allows action (e.g. "sqs:SendMessage") on resource (an ARN). */
bool ctl_key_allows(const struct ctl_key *key, const char *action, const char *resource_arn);

/*
 * Creates a key with this policy (NULL: allow nothing). Returns 0 with the new
 * key (secret included, the only time it is shown) in out, -EINVAL with the
 * reason in error for a policy bb_policy_compile refuses (-E2BIG for one past
 * its limits), -ENOSPC at BB_KEY_COUNT_MAX keys that are not revoked, -EIO.
 */
__attribute__((warn_unused_result)) int ctl_keys_create(struct ctl_store *store,
                                                        const char *policy_json, int64_t now_s,
                                                        struct ctl_key *out, char *error,
                                                        size_t error_bytes);
/*
 * Rotates a key: a new key with the same policy, and the old one expiring
 * overlap_s from now (0: at once). 0 with the new key in out; -ENOENT,
 * -EKEYREVOKED, -EKEYEXPIRED, -ENOSPC, -EINVAL (overlap out of range), -EIO.
 */
__attribute__((warn_unused_result)) int ctl_keys_rotate(struct ctl_store *store,
                                                        const char *access_key_id,
                                                        int64_t overlap_s, int64_t now_s,
                                                        struct ctl_key *out);
/* Revokes a key for good. 0, -ENOENT, -EIO (revoking twice is 0). */
__attribute__((warn_unused_result)) int ctl_keys_revoke(struct ctl_store *store,
                                                        const char *access_key_id);
/* Replaces a key's policy. 0, -ENOENT, -EINVAL or -E2BIG (with the reason), -EIO. */
__attribute__((warn_unused_result)) int ctl_keys_set_policy(struct ctl_store *store,
                                                            const char *access_key_id,
                                                            const char *policy_json, char *error,
                                                            size_t error_bytes);
/*
 * Every key, by key id, without secrets (secret is all zero); *out is
 * malloc'd: clear each with ctl_key_clear, then free the array.
 */
__attribute__((warn_unused_result)) int ctl_keys_list(struct ctl_store *store, struct ctl_key **out,
                                                      size_t *count);

/*
 * The keys busbard needs (neither revoked nor expired at now_s) as snapshot
 * entries, secrets included, at most capacity (-E2BIG beyond). Each entry's
 * policy is malloc'd: ctl_keys_entries_clear frees it and zeroes the secrets.
 */
__attribute__((warn_unused_result)) int
ctl_keys_snapshot_entries(struct ctl_store *store, int64_t now_s, struct bb_snapshot_entry *entries,
                          uint32_t capacity, uint32_t *count);
void ctl_keys_entries_clear(struct bb_snapshot_entry *entries, uint32_t count);

#endif

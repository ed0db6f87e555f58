/*
 * Where the busbar command finds its key (docs/operations.md, "Keys"), first
 * found wins: --key-file PATH, --access-key-id ID with the secret from
 * BUSBAR_SECRET_ACCESS_KEY, the environment pair BUSBAR_ACCESS_KEY_ID and
 * BUSBAR_SECRET_ACCESS_KEY, the file named by BUSBAR_KEY_FILE. A key file is
 * JSON, as `busbar-control keys create` prints it ({"Key": {"AccessKeyId": ...,
 * "SecretAccessKey": ...}}) or just that inner object, and must not be readable
 * by group or others. The secret is never taken from the command line, where
 * every user's ps would show it.
 */
#ifndef BB_CLI_KEY_H
#define BB_CLI_KEY_H

#include <stddef.h>

#include "bb_mac.h"
#include "bb_limits.h"

struct cli_key {
	char access_key_id[BB_ACCESS_KEY_ID_BYTES + 1];
	char secret[BB_KEY_SECRET_BYTES + 1];
	int found; /* 0: no key anywhere (requests go unsigned) */
};

/* 0 (with or without a key found), or -EINVAL / -EACCES / -errno with the reason in error. */
__attribute__((warn_unused_result)) int cli_key_load(const char *key_file,
                                                     const char *access_key_id, struct cli_key *out,
                                                     char *error, size_t error_bytes);
void cli_key_clear(struct cli_key *key);

#endif

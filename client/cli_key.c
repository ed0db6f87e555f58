/*
 * The busbar command's key (see cli_key.h). Both parts are checked for form
 * here, so a typo is a usage error before anything is sent.
 */
#include "cli_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define KEY_FILE_BYTES_MAX 65536

static int set_key(struct cli_key *out, const char *id, const char *secret, const char *where,
                   char *error, size_t error_bytes)
{
	uint32_t key_id;
	if (id == NULL || !bb_access_key_id_parse(id, &key_id)) {
		snprintf(error, error_bytes, "%s: not an access key id (BB and 18 characters)",
		         where);
		return -EINVAL;
	}
	if (secret == NULL || strlen(secret) != BB_KEY_SECRET_BYTES) {
		snprintf(error, error_bytes, "%s: the secret access key must be %u characters",
		         where, BB_KEY_SECRET_BYTES);
		return -EINVAL;
	}
	snprintf(out->access_key_id, sizeof(out->access_key_id), "%s", id);
	memcpy(out->secret, secret, BB_KEY_SECRET_BYTES + 1);
	out->found = 1;
	return 0;
}

static int load_file(const char *path, struct cli_key *out, char *error, size_t error_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int rc = -errno;
		snprintf(error, error_bytes, "key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		snprintf(error, error_bytes, "key file %s may be read by others: chmod 600 it",
		         path);
		return -EACCES;
	}
	static char text[KEY_FILE_BYTES_MAX];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	json_t *doc = n > 0 ? json_loadb(text, (size_t)n, 0, NULL) : NULL;
	explicit_bzero(text, sizeof(text));
	json_t *key = json_object_get(doc, "Key") ? json_object_get(doc, "Key") : doc;
	int rc = set_key(out, json_string_value(json_object_get(key, "AccessKeyId")),
	                 json_string_value(json_object_get(key, "SecretAccessKey")), path, error,
	                 error_bytes);
	json_decref(doc); /* jansson frees the secret's copy unzeroed: a short-lived process */
	return rc;
}

int cli_key_load(const char *key_file, const char *access_key_id, struct cli_key *out, char *error,
                 size_t error_bytes)
{
	memset(out, 0, sizeof(*out));
	const char *env_id = getenv("BUSBAR_ACCESS_KEY_ID");
	const char *env_secret = getenv("BUSBAR_SECRET_ACCESS_KEY");
	const char *env_file = getenv("BUSBAR_KEY_FILE");
	if (key_file != NULL)
		return load_file(key_file, out, error, error_bytes);
	if (access_key_id != NULL)
		return set_key(out, access_key_id, env_secret,
		               "--access-key-id with BUSBAR_SECRET_ACCESS_KEY", error, error_bytes);
	if (env_id != NULL || env_secret != NULL)
		return set_key(out, env_id, env_secret,
		               "BUSBAR_ACCESS_KEY_ID and BUSBAR_SECRET_ACCESS_KEY", error,
		               error_bytes);
	if (env_file != NULL && env_file[0] != '\0')
		return load_file(env_file, out, error, error_bytes);
	return 0;
}

void cli_key_clear(struct cli_key *key)
{
	explicit_bzero(key, sizeof(*key));
}

/*
 * Fuzz target: busbard's SNS signing key file (dataplane/dp_sign.h) as read at start, PEM
 * through OpenSSL then our checks (RSA of 2048-4096 bits, numbers that agree, the size
 * limit). Whatever the bytes, loading returns a key that signs, or an error with a reason;
 * an encrypted key is refused without asking a terminal for a passphrase.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dp_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/bb_fuzz_sign_key_XXXXXX";

static void remove_dir(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SIGN_KEY_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SIGN_CERT_FILE);
	unlink(path);
	rmdir(dir);
}

/* The state directory, made once per process; each input replaces the key file in it. */
static int key_file(char *path, size_t path_bytes)
{
	static bool made;
	if (!made && mkdtemp(dir) == NULL)
		return -errno;
	if (!made)
		atexit(remove_dir);
	made = true;
	snprintf(path, path_bytes, "%s/%s", dir, DP_SIGN_KEY_FILE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[256], error[512] = "";
	if (key_file(path, sizeof(path)) != 0)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	bool written = write(fd, data, size) == (ssize_t)size;
	close(fd);
	if (!written)
		return 0;
	int rc = 0;
	struct dp_sign_key *key = dp_sign_key_load(dir, error, sizeof(error), &rc);
	if (key == NULL && (rc == 0 || error[0] == '\0'))
		abort(); /* a refusal always says why */
	if (key != NULL) {
		struct dp_signer *signer = dp_signer_new(key, &rc);
		char sig[DP_SIGN_BASE64_BYTES_MAX];
		size_t length = 0;
		if (signer == NULL || dp_signer_sign(signer, DP_SIGN_V2_SHA256, data, size, sig,
		                                     sizeof(sig), &length) != 0)
			abort(); /* a key that loads signs */
		dp_signer_free(signer);
		dp_sign_key_free(key);
	}
	return 0;
}

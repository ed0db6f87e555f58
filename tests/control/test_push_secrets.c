/*
 * busbar-control zeroes the keys' secrets before it frees memory that held them (issue
 * 16): the snapshot body its push thread builds and sends to busbard, libbusbar's copy of
 * it, and the store's reads of the keys on the way (ctl_keys_snapshot_entries).
 *
 * How: this program is linked with -Wl,--wrap=free,--wrap=realloc, so every free (and
 * realloc) in busbar-control's and libbusbar's code goes through the wrappers below first,
 * which search the block for the keys' secrets while it is still allocated (within
 * malloc_usable_size: no undefined behaviour, and ASan agrees). The push thread runs for
 * real against a fake busbard on a Unix socket that answers each ApplySnapshot OK. A
 * canary freed at the end proves the wrapper is in the link. Seen failing (2 blocks each)
 * with push()'s explicit_bzero of the body removed, and with libbusbar's of its request.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bb_endian.h"
#include "ctl_keys.h"
#include "ctl_push.h"
#include "wire.h"

#define NOW       1700000000
#define KEYS      2u
#define WAITS_MAX 500u /* of 10 ms for busbard's apply */

static char secrets[KEYS][CTL_SECRET_KEY_BYTES]; /* the keys' secrets, searched for */
static atomic_uint blocks_with_secrets;          /* the push thread frees too */
static atomic_uint blocks_checked;
static atomic_bool watching; /* only once the keys are made and their secrets known */

void __real_free(void *p);
void *__real_realloc(void *p, size_t bytes);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t bytes);

static void check_block(const void *p)
{
	if (p == NULL || !atomic_load(&watching))
		return;
	size_t bytes = malloc_usable_size((void *)p);
	atomic_fetch_add(&blocks_checked, 1);
	for (uint32_t i = 0; i < KEYS; i++) {
		if (memmem(p, bytes, secrets[i], CTL_SECRET_KEY_BYTES) != NULL)
			atomic_fetch_add(&blocks_with_secrets, 1);
	}
}

void __wrap_free(void *p)
{
	check_block(p);
	__real_free(p);
}

/* A realloc may move the block and free the old one as it is: it must hold no secret. */
void *__wrap_realloc(void *p, size_t bytes)
{
	check_block(p);
	return __real_realloc(p, bytes);
}

static char dir[] = "/tmp/test_push_secrets_XXXXXX";
static char socket_path[100]; /* within sockaddr_un.sun_path */
static int listen_fd = -1;
static pthread_t busbard;
static uint8_t frame[1u << 20]; /* the fake busbard's input: static, never freed */

static bool read_all(int fd, uint8_t *buf, size_t bytes)
{
	for (size_t done = 0; done < bytes;) {
		ssize_t n = read(fd, buf + done, bytes - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* Answers every frame of one connection OK, with no fields, until it closes. */
static void serve(int fd)
{
	while (read_all(fd, frame, BB_WIRE_HEADER_BYTES)) {
		uint32_t body_bytes = bb_get_le32(frame + 8);
		if (body_bytes > sizeof(frame) - BB_WIRE_HEADER_BYTES ||
		    !read_all(fd, frame + BB_WIRE_HEADER_BYTES, body_bytes))
			return;
		struct wire_header h;
		if (wire_header_decode(frame, BB_WIRE_HEADER_BYTES + body_bytes, &h) != WIRE_OK)
			return;
		h.flags = WIRE_FLAG_RESPONSE;
		h.status = WIRE_OK;
		h.body_bytes = 0;
		uint8_t reply[BB_WIRE_HEADER_BYTES];
		wire_header_encode(&h, reply);
		if (write(fd, reply, sizeof(reply)) != (ssize_t)sizeof(reply))
			return;
	}
}

static void *fake_busbard(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL; /* the listening socket was shut down */
		serve(fd);
		close(fd);
	}
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(socket_path, sizeof(socket_path), "%s/busbard.sock", dir);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	cr_assert_eq(bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(listen_fd, 4), 0);
	cr_assert_eq(pthread_create(&busbard, NULL, fake_busbard, NULL), 0);
}

static void teardown(void)
{
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(busbard, NULL);
	close(listen_fd);
	char command[256];
	snprintf(command, sizeof(command), "rm -rf %s", dir);
	cr_assert_eq(system(command), 0);
}

TestSuite(push_secrets, .init = setup, .fini = teardown, .timeout = 60);

Test(push_secrets, the_pushed_snapshots_secrets_are_zeroed_before_they_are_freed)
{
	char db_path[256], error[256];
	snprintf(db_path, sizeof(db_path), "%s/control.db", dir);
	struct ctl_store *store = ctl_store_open(db_path, error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
	for (uint32_t i = 0; i < KEYS; i++) {
		struct ctl_key key;
		cr_assert_eq(ctl_keys_create(store, NULL, NOW, &key, error, sizeof(error)), 0, "%s",
		             error);
		memcpy(secrets[i], key.secret, CTL_SECRET_KEY_BYTES);
		ctl_key_clear(&key);
	}
	atomic_store(&watching, true);

	pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
	struct ctl_push push;
	struct ctl_push_options options = {.busbard_socket = socket_path};
	cr_assert_eq(ctl_push_start(&push, &options, store, &store_lock), 0);
	struct ctl_push_status status = {0};
	uint64_t version = ctl_store_version(store);
	for (uint32_t i = 0; i < WAITS_MAX && status.applied_version != version; i++) {
		usleep(10000);
		ctl_push_get_status(&push, &status);
	}
	cr_assert_eq(status.applied_version, version, "busbard took the snapshot: %s",
	             status.reason);
	cr_assert_eq(ctl_push_stop(&push), 0);
	ctl_store_close(store);

	cr_assert_eq(atomic_load(&blocks_with_secrets), 0, "%u blocks freed with a secret in them",
	             atomic_load(&blocks_with_secrets));
	cr_assert_gt(atomic_load(&blocks_checked), 0);
	char *volatile canary = malloc(CTL_SECRET_KEY_BYTES); /* volatile: not optimised away */
	cr_assert_not_null(canary);
	memcpy(canary, secrets[0], CTL_SECRET_KEY_BYTES);
	free(canary);
	cr_assert_eq(atomic_load(&blocks_with_secrets), 1,
	             "the wrapper sees a secret freed as it is");
	memset(secrets, 0, sizeof(secrets));
}

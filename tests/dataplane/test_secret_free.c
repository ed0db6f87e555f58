/*
 * busbard zeroes the keys' secrets before it frees memory that held them (issue 16): a
 * snapshot it drops (replaced, or at close), the local connection's input that carried
 * snapshots (also when two came in one read, so the input was moved), and its read of
 * snapshot.bbs at start.
 *
 * How: this program is linked with -Wl,--wrap=free,--wrap=realloc, so every free (and
 * realloc) in busbard's code goes through the wrappers below first, which search the block
 * for the test keys' secrets while it is still allocated (within malloc_usable_size: no
 * undefined behaviour, and ASan agrees) and count each one found. The service runs for
 * real: its socket, ApplySnapshot frames from a client, rte_rcu_qsbr_synchronize (no
 * reader registered). A canary freed at the end proves the wrapper is in the link.
 * Seen failing: with snapshot_discard's dp_auth_keys_clear removed (5 blocks), and with
 * the local input's moved bytes left behind (1 block: the second frame of one read).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_rcu_qsbr.h>

#include "bb_endian.h"
#include "bb_snapshot.h"
#include "dp_service.h"
#include "packet_harness.h"

#define SECRETS   3u
#define POLLS_MAX 200u /* service polls of 10 ms waiting for an answer */

static const char *const secrets[SECRETS] = {
    "S1S1S1S1S1zzzzzzzzzzyyyyyyyyyyxxxxxxxxx1",
    "S2S2S2S2S2zzzzzzzzzzyyyyyyyyyyxxxxxxxxx2",
    "S3S3S3S3S3zzzzzzzzzzyyyyyyyyyyxxxxxxxxx3",
};

static uint32_t blocks_with_secrets; /* freed or reallocated with a secret in them */
static uint32_t blocks_checked;

void __real_free(void *p);
void *__real_realloc(void *p, size_t bytes);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t bytes);

static void check_block(const void *p)
{
	if (p == NULL)
		return;
	size_t bytes = malloc_usable_size((void *)p);
	blocks_checked++;
	for (uint32_t i = 0; i < SECRETS; i++) {
		if (memmem(p, bytes, secrets[i], BB_KEY_SECRET_BYTES) != NULL)
			blocks_with_secrets++;
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

static struct dp_service service;
static char state_dir[] = "/tmp/busbar-secret-free-XXXXXX";
static char socket_path[100]; /* within sockaddr_un.sun_path */
static uint8_t frames[2][4096];

static void setup(void)
{
	harness_setup();
	size_t bytes = RTE_ALIGN_CEIL(rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	h.app.rcu = aligned_alloc(RTE_CACHE_LINE_SIZE, bytes);
	cr_assert_not_null(h.app.rcu);
	cr_assert_eq(rte_rcu_qsbr_init(h.app.rcu, 1), 0);
	cr_assert_not_null(mkdtemp(state_dir));
	snprintf(socket_path, sizeof(socket_path), "%s/busbard.sock", state_dir);
	cr_assert_eq(dp_service_init(&service, &h.app, socket_path, state_dir), 0);
}

static void teardown(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/snapshot.bbs", state_dir);
	unlink(path);
	unlink(socket_path);
	rmdir(state_dir);
	free(h.app.rcu);
	harness_teardown();
}

TestSuite(secret_free, .init = setup, .fini = teardown, .timeout = 60);

/* An ApplySnapshot frame of version `version`: queue orders and key 1 with secret i. */
static size_t snapshot_frame(uint8_t *frame, uint64_t version, uint32_t secret)
{
	static const char policy[] = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
	                             "\"Resource\":\"*\"}]}";
	struct bb_snapshot_entry entries[2] = {
	    {.kind = BB_SNAPSHOT_KIND_QUEUE,
	     .queue = {.name = TEST_QUEUE,
	               .name_bytes = (uint32_t)strlen(TEST_QUEUE),
	               .queue_id = 7,
	               .visibility_timeout_s = 30,
	               .maximum_message_bytes = 262144}},
	    {.kind = BB_SNAPSHOT_KIND_KEY,
	     .key = {.key_id = 1, .policy_json = policy, .policy_bytes = sizeof(policy) - 1}},
	};
	memcpy(entries[1].key.secret, secrets[secret], BB_KEY_SECRET_BYTES);
	struct bb_snapshot_header header = {.format = BB_SNAPSHOT_FORMAT, .version = version};
	memset(header.store_id, 0x5a, sizeof(header.store_id));
	size_t body_bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, 2, frame + BB_WIRE_HEADER_BYTES,
	                                sizeof(frames[0]) - BB_WIRE_HEADER_BYTES, &body_bytes),
	             0);
	struct wire_header wh = {.version = WIRE_VERSION,
	                         .opcode = WIRE_OP_APPLY_SNAPSHOT,
	                         .body_bytes = (uint32_t)body_bytes,
	                         .request_id = version};
	wire_header_encode(&wh, frame);
	return BB_WIRE_HEADER_BYTES + body_bytes;
}

/* Polls the service until `count` OK replies (of 64-byte headers and a version) are read. */
static void await_replies(int fd, uint32_t count)
{
	static uint8_t in[4096];
	size_t in_bytes = 0;
	uint32_t taken = 0;
	for (uint32_t polls = 0; taken < count && polls < POLLS_MAX; polls++) {
		dp_service_poll(&service, 10);
		ssize_t n = recv(fd, in + in_bytes, sizeof(in) - in_bytes, MSG_DONTWAIT);
		if (n > 0)
			in_bytes += (size_t)n;
		/* Each reply is a frame delimited by its header's body_bytes. */
		while (in_bytes >= BB_WIRE_HEADER_BYTES &&
		       in_bytes >= BB_WIRE_HEADER_BYTES + bb_get_le32(in + 8)) {
			size_t frame = BB_WIRE_HEADER_BYTES + bb_get_le32(in + 8);
			struct wire_header reply;
			cr_assert_eq(wire_header_decode(in, frame, &reply), WIRE_OK);
			cr_assert_eq(reply.status, WIRE_OK, "snapshot %llu applied",
			             (unsigned long long)reply.request_id);
			memmove(in, in + frame, in_bytes - frame);
			in_bytes -= frame;
			taken++;
		}
	}
	cr_assert_eq(taken, count, "busbard answered every snapshot");
}

static int connect_client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Polls until the service has closed every connection (and freed its input). */
static void await_closed(void)
{
	for (uint32_t polls = 0; polls < POLLS_MAX; polls++) {
		bool open = false;
		for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++)
			open = open || service.connections[i].fd >= 0;
		if (!open)
			return;
		dp_service_poll(&service, 10);
	}
	cr_assert_fail("the service did not close the connection");
}

Test(secret_free, dropped_snapshots_and_the_input_that_carried_them_are_zeroed_when_freed)
{
	int fd = connect_client();
	size_t first = snapshot_frame(frames[0], 1, 0);
	cr_assert_eq(write(fd, frames[0], first), (ssize_t)first);
	await_replies(fd, 1);
	/* Two snapshots in one write: the second is moved in the input behind the first. */
	size_t second = snapshot_frame(frames[0], 2, 1);
	size_t third = snapshot_frame(frames[1], 3, 2);
	static uint8_t both[sizeof(frames)];
	memcpy(both, frames[0], second);
	memcpy(both + second, frames[1], third);
	cr_assert_eq(write(fd, both, second + third), (ssize_t)(second + third));
	await_replies(fd, 2);
	cr_assert_eq(atomic_load(&h.app.snapshot)->version, 3);
	close(fd);
	await_closed();
	dp_service_close(&service); /* drops snapshot 3 */
	atomic_store(&h.app.snapshot, NULL);

	/* A service starting from snapshot.bbs (snapshot 3) reads it, keeps it, closes. */
	cr_assert_eq(dp_service_init(&service, &h.app, socket_path, state_dir), 0);
	cr_assert_eq(dp_service_load_snapshot(&service), 0);
	cr_assert_eq(atomic_load(&h.app.snapshot)->version, 3);
	dp_service_close(&service);
	atomic_store(&h.app.snapshot, NULL);

	memset(frames, 0, sizeof(frames));
	memset(both, 0, sizeof(both));
	cr_assert_eq(blocks_with_secrets, 0, "%u blocks freed with a secret in them",
	             blocks_with_secrets);
	cr_assert_gt(blocks_checked, 0);
	char *volatile canary = malloc(BB_KEY_SECRET_BYTES); /* volatile: not optimised away */
	cr_assert_not_null(canary);
	memcpy(canary, secrets[0], BB_KEY_SECRET_BYTES);
	free(canary);
	cr_assert_eq(blocks_with_secrets, 1, "the wrapper sees a secret freed as it is");
}

/*
 * Crash tests on the real io_uring path. A writer process appends records and
 * reports on a pipe each acknowledgement ("A seq") and, from its I/O layer,
 * each completed fdatasync ("S segment end"). It is killed with SIGKILL at
 * random points, sometimes early enough to land in its own recovery, and
 * restarted on the same directory.
 * - kill: the page cache survives; every acknowledged record must be there.
 * - power loss: after the kill each segment is cut back to its last synced
 *   end plus a random part of the unsynced tail, sometimes with a garbled
 *   sector; every acknowledged record must still be there.
 * A deliberately wrong writer that acknowledges on write completion, before
 * fdatasync, must be caught by the power-loss checker.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log_helpers.h"
#include "seg_int.h"

#define PAYLOAD_MAX      1000u
#define SEGMENT_BYTES    (1u << 20)
#define SEGMENTS_TRACKED 64u

/* ---- the writer (child process) ---- */

/* An I/O layer around io_uring that reports what each completed fdatasync covers. */
struct reporting_io {
	struct seg_io base;
	struct seg_io *inner;
	int out;
	uint32_t segment_of_file[SEG_SEGMENTS_MAX];
	uint64_t write_end[64]; /* by tag: where the batch's last write ends */
	uint32_t write_segment[64];
};

static struct reporting_io *rep(struct seg_io *io)
{
	return (struct reporting_io *)io;
}

static int r_open(struct seg_io *io, const char *path, bool create, uint64_t bytes)
{
	int file = rep(io)->inner->ops->open_file(rep(io)->inner, path, create, bytes);
	const char *slash = strrchr(path, '/');
	if (file >= 0)
		rep(io)->segment_of_file[file] = (uint32_t)strtoul(slash + 1, NULL, 10);
	return file;
}

static int r_submit_create(struct seg_io *io, const char *dir, const char *path, uint64_t bytes,
                           uint64_t tag)
{
	int file = rep(io)->inner->ops->submit_create(rep(io)->inner, dir, path, bytes, tag);
	const char *slash = strrchr(path, '/');
	if (file >= 0)
		rep(io)->segment_of_file[file] = (uint32_t)strtoul(slash + 1, NULL, 10);
	return file;
}

static int r_submit(struct seg_io *io, int file, uint32_t buffer_index, const void *buf,
                    uint32_t length, uint64_t offset, bool sync, uint64_t tag)
{
	rep(io)->write_end[tag] = offset + length;
	rep(io)->write_segment[tag] = rep(io)->segment_of_file[file];
	char line[64];
	int n = snprintf(line, sizeof(line), "W %u %llu\n", rep(io)->segment_of_file[file],
	                 (unsigned long long)(offset + length));
	if (write(rep(io)->out, line, (size_t)n) != n)
		_exit(3);
	return rep(io)->inner->ops->submit_write(rep(io)->inner, file, buffer_index, buf, length,
	                                         offset, sync, tag);
}

static int r_reap(struct seg_io *io, struct seg_io_completion *out, uint32_t capacity, bool wait)
{
	int count = rep(io)->inner->ops->reap(rep(io)->inner, out, capacity, wait);
	for (int i = 0; i < count; i++) {
		if (out[i].kind != SEG_IO_FSYNC || out[i].result != 0)
			continue;
		char line[64];
		int n =
		    snprintf(line, sizeof(line), "S %u %llu\n", rep(io)->write_segment[out[i].tag],
		             (unsigned long long)rep(io)->write_end[out[i].tag]);
		if (write(rep(io)->out, line, (size_t)n) != n)
			_exit(3);
	}
	return count;
}

#define FORWARD(name, ret, params, args)                                                           \
	static ret r_##name params                                                                 \
	{                                                                                          \
		return rep(io)->inner->ops->name args;                                             \
	}
FORWARD(close_file, int, (struct seg_io * io, int file), (rep(io)->inner, file))
FORWARD(remove_file, int, (struct seg_io * io, const char *path), (rep(io)->inner, path))
FORWARD(list_segments, int, (struct seg_io * io, const char *dir, uint32_t *ids, uint32_t cap),
        (rep(io)->inner, dir, ids, cap))
FORWARD(sync_dir, int, (struct seg_io * io, const char *dir), (rep(io)->inner, dir))
FORWARD(read, long, (struct seg_io * io, int file, void *buf, size_t length, uint64_t offset),
        (rep(io)->inner, file, buf, length, offset))
FORWARD(map, const uint8_t *, (struct seg_io * io, int file, uint64_t bytes, int *error),
        (rep(io)->inner, file, bytes, error))
FORWARD(next_data, bool,
        (struct seg_io * io, int file, uint64_t offset, uint64_t size, uint64_t *start,
         uint64_t *end),
        (rep(io)->inner, file, offset, size, start, end))
static void r_unmap(struct seg_io *io, const uint8_t *mapped, uint64_t bytes)
{
	rep(io)->inner->ops->unmap(rep(io)->inner, mapped, bytes);
}

FORWARD(submit_remove, int,
        (struct seg_io * io, const char *dir, const char *path, int file, uint64_t tag),
        (rep(io)->inner, dir, path, file, tag))
FORWARD(submit_read, int,
        (struct seg_io * io, int file, void *buf, uint32_t length, uint64_t offset,
         uint64_t tag),
        (rep(io)->inner, file, buf, length, offset, tag))
FORWARD(submit_meta, int,
        (struct seg_io * io, const char *dir, const char *name, const void *bytes,
         uint32_t length, uint64_t tag),
        (rep(io)->inner, dir, name, bytes, length, tag))

static long r_read_meta(struct seg_io *io, const char *dir, const char *name, void *buf,
                        size_t capacity)
{
	return rep(io)->inner->ops->read_meta(rep(io)->inner, dir, name, buf, capacity);
}

static void r_prefetch(struct seg_io *io, int file, uint64_t bytes)
{
	rep(io)->inner->ops->prefetch(rep(io)->inner, file, bytes);
}
FORWARD(zero, int, (struct seg_io * io, int file, uint64_t offset, uint64_t length),
        (rep(io)->inner, file, offset, length))
FORWARD(sync_file, int, (struct seg_io * io, int file), (rep(io)->inner, file))
FORWARD(register_buffers, int,
        (struct seg_io * io, void *const *buffers, uint32_t count, uint32_t bytes),
        (rep(io)->inner, buffers, count, bytes))

static const struct seg_io_ops reporting_ops = {
    .open_file = r_open,
    .close_file = r_close_file,
    .remove_file = r_remove_file,
    .list_segments = r_list_segments,
    .sync_dir = r_sync_dir,
    .read = r_read,
    .map = r_map,
    .unmap = r_unmap,
    .next_data = r_next_data,
    .prefetch = r_prefetch,
    .read_meta = r_read_meta,
    .zero = r_zero,
    .sync_file = r_sync_file,
    .submit_write = r_submit,
    .submit_create = r_submit_create,
    .submit_remove = r_submit_remove,
    .submit_meta = r_submit_meta,
    .submit_read = r_submit_read,
    .reap = r_reap,
    .register_buffers = r_register_buffers,
    .destroy = NULL,
};

static void say(int out, const char *fmt, unsigned long long value)
{
	char line[64];
	int n = snprintf(line, sizeof(line), fmt, value);
	if (write(out, line, (size_t)n) != n)
		_exit(3);
}

/* Never returns: appends until killed. early: acknowledge before fdatasync (wrong). */
static void writer(const char *dir, int out, bool early)
{
	int rc;
	static struct reporting_io io = {.base = {.ops = &reporting_ops}};
	io.inner = seg_io_uring_create(128, &rc);
	io.out = out;
	if (io.inner == NULL)
		_exit(2);
	struct seg_options o = {.dir = dir,
	                        .segment_bytes = SEGMENT_BYTES,
	                        .batch_bytes_max = 65536,
	                        .commits_in_flight_max = 4,
	                        .memory_only = early,
	                        .io = &io.base};
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	if (log == NULL)
		_exit(4);
	uint8_t payload[PAYLOAD_MAX];
	uint64_t acknowledged = 0;
	for (uint64_t pass = 0;; pass++) {
		for (uint64_t i = 0; i < 1 + pass % 40; i++) {
			uint64_t s, p;
			uint32_t n = payload_for(seg_next_sequence(log), payload, PAYLOAD_MAX);
			rc = seg_append(log, 1, payload, n, &s, &p);
			if (rc == -EAGAIN)
				break;
			if (rc != 0)
				_exit(5);
		}
		if (seg_commit(log) != 0 || seg_poll(log, pass % 3 == 0) != 0)
			_exit(6);
		if (seg_durable_sequence(log) > acknowledged) {
			acknowledged = seg_durable_sequence(log);
			say(out, "A %llu\n", acknowledged);
		}
	}
}

/* ---- the checker (test process) ---- */

struct life {
	uint64_t acknowledged;
	uint64_t synced_end[SEGMENTS_TRACKED];
	uint64_t written_end[SEGMENTS_TRACKED]; /* no byte past it was ever written */
};

static void parse(struct life *l, char *text)
{
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		unsigned segment;
		unsigned long long a, b;
		if (sscanf(line, "A %llu", &a) == 1 && a > l->acknowledged)
			l->acknowledged = a;
		else if (sscanf(line, "S %u %llu", &segment, &b) == 2 &&
		         segment < SEGMENTS_TRACKED && b > l->synced_end[segment])
			l->synced_end[segment] = b;
		else if (sscanf(line, "W %u %llu", &segment, &b) == 2 &&
		         segment < SEGMENTS_TRACKED && b > l->written_end[segment])
			l->written_end[segment] = b;
	}
}

static uint64_t rng;
static uint64_t seed;

/* BB_SEED=N replays a failure; otherwise the clock picks, and failures print it. */
static void seed_once(void)
{
	const char *fixed = getenv("BB_SEED");
	seed = fixed ? strtoull(fixed, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
	rng = seed | 1;
}

static uint64_t roll(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* Runs a writer for up to run_ms and kills it; returns what it reported. */
static void live_and_die(const char *dir, bool early, uint64_t run_ms, struct life *l)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t child = fork();
	if (child == 0) {
		close(fds[0]);
		writer(dir, fds[1], early);
	}
	close(fds[1]);
	static char text[1 << 22];
	size_t length = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t elapsed = (uint64_t)(now.tv_sec - start.tv_sec) * 1000 +
		                   (uint64_t)(now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= run_ms)
			break;
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		if (poll(&p, 1, (int)(run_ms - elapsed)) > 0 && length < sizeof(text) - 4096) {
			ssize_t n = read(fds[0], text + length, 4096);
			if (n <= 0)
				break;
			length += (size_t)n;
		}
	}
	kill(child, SIGKILL);
	int status;
	waitpid(child, &status, 0);
	ssize_t n;
	while (length < sizeof(text) - 4096 && (n = read(fds[0], text + length, 4096)) > 0)
		length += (size_t)n; /* what it said before it died */
	close(fds[0]);
	text[length] = '\0';
	cr_assert(WIFSIGNALED(status), "the writer died on its own (status %d)", status);
	parse(l, text);
}

/*
 * Power cut: in each segment, what was written but not synced survives only
 * in part: a random prefix, sometimes ending in a garbled sector.
 */
static void cut_power(const char *dir, const struct life *l)
{
	for (uint32_t segment = 1; segment < SEGMENTS_TRACKED; segment++) {
		uint64_t synced = l->synced_end[segment], written = l->written_end[segment];
		if (written <= synced)
			continue;
		char path[SEG_PATH_BYTES + 32];
		seg_segment_path(dir, segment, path, sizeof(path));
		int fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		uint64_t keep = synced + roll(written - synced + 1);
		static uint8_t zeros[SEGMENT_BYTES];
		cr_assert_eq(pwrite(fd, zeros, written - keep, (off_t)keep),
		             (ssize_t)(written - keep));
		if (roll(4) == 0 && keep > synced) {
			uint64_t sector = keep - (keep - synced < 512 ? keep - synced : 512);
			uint8_t garbage[512];
			for (int i = 0; i < 512; i++)
				garbage[i] = (uint8_t)roll(256);
			cr_assert_eq(pwrite(fd, garbage, keep - sector, (off_t)sector),
			             (ssize_t)(keep - sector));
		}
		close(fd);
	}
}

/*
 * Recovers in this process; returns 0 when every acknowledged record is there,
 * intact. Recovery syncs what it keeps, so what it kept counts as synced.
 */
static int check(const char *dir, struct life *l, char *why)
{
	uint64_t acknowledged = l->acknowledged;
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	rec.count = 0;
	rec.bad = 0;
	struct seg_options o = {.dir = dir,
	                        .segment_bytes = SEGMENT_BYTES,
	                        .batch_bytes_max = 65536,
	                        .on_record = record_cb,
	                        .ctx = &rec};
	int rc;
	struct seg_log *log = seg_open(&o, &rc, why, 512);
	if (log == NULL)
		return rc;
	/* Now durable: every byte of the segments before the last (recovery synced them,
	 * padding included), and the last up to where appending resumes; after that the
	 * last holds zeros recovery wrote and synced, written by no one since. Segments
	 * after it were removed: a later life starts them afresh. (A later life may still
	 * move on to a segment the dead writer's ring created after it died, leaving the
	 * last one as it is here: its zeros must not count as written and unsynced then.) */
	uint32_t last = log->files.current_id;
	for (uint32_t segment = 1; segment < SEGMENTS_TRACKED; segment++) {
		if (segment > last) {
			l->synced_end[segment] = l->written_end[segment] = 0;
		} else if (segment == last) {
			l->synced_end[segment] = l->written_end[segment] = log->write_offset;
		} else if (l->written_end[segment] > l->synced_end[segment]) {
			l->synced_end[segment] = l->written_end[segment];
		}
	}
	seg_close(log);
	if (rec.bad != 0)
		return snprintf(why, 512, "%d damaged payloads", rec.bad), -EBADMSG;
	for (uint32_t i = 0; i < rec.count; i++) {
		if (rec.sequences[i] != i + 1)
			return snprintf(why, 512, "gap at %u", i + 1), -EBADMSG;
	}
	if (rec.count < acknowledged)
		return snprintf(why, 512, "%u recovered < %llu acknowledged", rec.count,
		                (unsigned long long)acknowledged),
		       -ENODATA;
	return 0;
}

static void remove_dir(const char *dir)
{
	char command[600];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	cr_assert_eq(system(command), 0);
}

/* Lives with kills, optionally power cuts; returns the first failure, or 0. */
static int run(bool early, bool power, uint32_t rounds, char *why)
{
	for (uint32_t round = 0; round < rounds; round++) {
		char dir[] = "/tmp/bb-crash-XXXXXX";
		cr_assert_not_null(mkdtemp(dir));
		struct life l = {0}; /* what every life so far acknowledged and synced */
		for (uint32_t life = 0; life < 3; life++) {
			/* Short lives land in the writer's own recovery. */
			live_and_die(dir, early, roll(4) == 0 ? roll(5) : 30 + roll(200), &l);
			if (power)
				cut_power(dir, &l);
			int rc = check(dir, &l, why);
			if (rc != 0) {
				remove_dir(dir);
				return rc;
			}
		}
		remove_dir(dir);
	}
	return 0;
}

TestSuite(crash, .init = seed_once);

Test(crash, kill_loses_no_acknowledged_record, .timeout = 300)
{
	char why[512] = "";
	cr_assert_eq(run(false, false, 8, why), 0, "BB_SEED=%llu: %s", (unsigned long long)seed,
	             why);
}

Test(crash, power_loss_loses_no_acknowledged_record, .timeout = 300)
{
	char why[512] = "";
	cr_assert_eq(run(false, true, 12, why), 0, "BB_SEED=%llu: %s", (unsigned long long)seed,
	             why);
}

Test(crash, power_loss_catches_acknowledging_before_fdatasync, .timeout = 300)
{
	char why[512] = "";
	int rc = 0;
	for (uint32_t attempt = 0; attempt < 40 && rc == 0; attempt++)
		rc = run(true, true, 1, why);
	cr_assert_neq(rc, 0, "the early acknowledgements were never caught");
}

/*
 * busbar-bench storage --dir DIR --record-bytes N [--seconds S] [--segment-mib M]
 *                      [--commits C]
 *
 * Durable appends through the segment log beside a raw io_uring writer on
 * the same disk in the same run. Both take the same arrivals: every loop
 * pass (one lcore) gets a burst of records from many producers, up to
 * RECORDS_PER_PASS, and both keep up to --commits commits in flight (default
 * 8, the library's), each one write linked to one fdatasync. The raw writer
 * has no framing, checksums or padding: it is the disk's and io_uring's
 * ceiling. A record's latency runs from its append to the completion of the
 * fdatasync that made it durable. Before each measurement the disk settles
 * (see settle()). The log's segments are the library's default size (64 MiB)
 * unless --segment-mib says otherwise. One JSON object per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seglog.h"

#define RECORDS_PER_PASS 512u
#define COMMITS_DEFAULT  8u
#define COMMITS_MAX      32u
#define BATCH_BYTES      (2u << 20)
#define SAMPLES_MAX      (1u << 24)
#define PENDING_MAX      (1u << 20) /* appended, not yet durable */
#define SETTLE_SECONDS   3u

struct latency {
	uint32_t *us;
	uint64_t count;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sample(struct latency *l, uint64_t appended_ns, uint64_t done_ns)
{
	if (l->count < SAMPLES_MAX)
		l->us[l->count++] = (uint32_t)((done_ns - appended_ns) / 1000);
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* What both writers are given. */
struct run {
	const char *dir;
	uint32_t record_bytes;
	uint32_t commits;       /* in flight at most */
	uint64_t segment_bytes; /* the log's; 0: the library's default */
	double seconds;
};

static void report(const char *mode, const struct run *run, uint64_t records, double seconds,
                   struct latency *l)
{
	qsort(l->us, l->count, sizeof(uint32_t), compare_u32);
	uint32_t p50 = l->count ? l->us[l->count / 2] : 0;
	uint32_t p99 = l->count ? l->us[l->count * 99 / 100] : 0;
	printf("{\"mode\":\"%s\",\"record_bytes\":%u,\"commits_in_flight\":%u,\"seconds\":%.2f,"
	       "\"records\":%llu,\"records_per_s\":%.0f,\"mb_per_s\":%.1f,\"p50_us\":%u,"
	       "\"p99_us\":%u}\n",
	       mode, run->record_bytes, run->commits, seconds, (unsigned long long)records,
	       (double)records / seconds, (double)records * run->record_bytes / seconds / 1e6, p50,
	       p99);
	fflush(stdout);
}

/*
 * Files deleted just before a measurement (the previous run's segments or raw
 * file) are discarded in the background on filesystems mounted with
 * `discard`, and stalled the next measurement's commits for hundreds of
 * milliseconds: sync, then give the device time, before each one.
 */
static void settle(void)
{
	sync();
	sleep(SETTLE_SECONDS);
}

/* ---- the segment log ---- */

static int run_log(const struct run *run, struct latency *l)
{
	struct seg_options o = {.dir = run->dir,
	                        .segment_bytes = run->segment_bytes,
	                        .batch_bytes_max = BATCH_BYTES,
	                        .commits_in_flight_max = run->commits};
	uint32_t record_bytes = run->record_bytes;
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	if (log == NULL) {
		fprintf(stderr, "busbar-bench: log: %s %s\n", strerror(-rc), why);
		return 1;
	}
	uint8_t *payload = calloc(1, record_bytes);
	uint64_t *appended_ns = malloc(sizeof(uint64_t) * PENDING_MAX);
	uint64_t first = seg_next_sequence(log), reported = first - 1;
	uint64_t start = now_ns(), end = start + (uint64_t)(run->seconds * 1e9);
	while (now_ns() < end && rc == 0) {
		uint64_t t = now_ns();
		for (uint32_t i = 0; i < RECORDS_PER_PASS; i++) {
			uint64_t s, p;
			if (seg_next_sequence(log) - reported >= PENDING_MAX)
				break;
			rc = seg_append(log, 1, payload, record_bytes, &s, &p);
			if (rc == -EAGAIN) {
				rc = 0;
				break;
			}
			if (rc != 0)
				break;
			appended_ns[s % PENDING_MAX] = t;
		}
		if (rc == 0)
			rc = seg_commit(log);
		if (rc == -EAGAIN)
			rc = 0;
		if (rc == 0)
			rc = seg_poll(log, false);
		uint64_t done = now_ns();
		for (; reported < seg_durable_sequence(log); reported++)
			sample(l, appended_ns[(reported + 1) % PENDING_MAX], done);
	}
	double elapsed = (double)(now_ns() - start) / 1e9;
	uint64_t durable = seg_durable_sequence(log) - (first - 1);
	seg_close(log);
	free(payload);
	free(appended_ns);
	if (rc != 0) {
		fprintf(stderr, "busbar-bench: log stopped: %s\n", strerror(-rc));
		return 1;
	}
	report("seglog", run, durable, elapsed, l);
	return 0;
}

/* ---- the raw io_uring writer ---- */

struct raw_slot {
	uint8_t *buf;
	uint32_t bytes;
	uint64_t last_record; /* records are numbered from 1 */
	bool in_flight, done;
};

struct raw {
	struct io_uring ring;
	uint32_t commits; /* slots in use */
	struct raw_slot slots[COMMITS_MAX];
	uint32_t order[COMMITS_MAX]; /* in-flight slots, oldest first */
	uint32_t head, count;
	int open_slot; /* -1: none */
	uint64_t offset, file_bytes;
	uint64_t next_record, durable;
	int failed;
};

static int raw_free_slot(const struct raw *r)
{
	for (int i = 0; i < (int)r->commits; i++) {
		if (!r->slots[i].in_flight && i != r->open_slot)
			return i;
	}
	return -1;
}

static void raw_submit(struct raw *r)
{
	struct raw_slot *s = &r->slots[r->open_slot];
	if (r->offset + s->bytes > r->file_bytes)
		r->offset = 0; /* wrap: the file was preallocated for most of the run */
	struct io_uring_sqe *write = io_uring_get_sqe(&r->ring);
	io_uring_prep_write_fixed(write, 0, s->buf, s->bytes, r->offset, r->open_slot);
	write->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	io_uring_sqe_set_data64(write, (uint64_t)r->open_slot << 1);
	struct io_uring_sqe *sync = io_uring_get_sqe(&r->ring);
	io_uring_prep_fsync(sync, 0, IORING_FSYNC_DATASYNC);
	sync->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sync, (uint64_t)r->open_slot << 1 | 1);
	if (io_uring_submit(&r->ring) < 0)
		r->failed = -EIO;
	r->offset += s->bytes;
	s->in_flight = true;
	s->done = false;
	r->order[(r->head + r->count++) % r->commits] = (uint32_t)r->open_slot;
	r->open_slot = -1;
}

static void raw_reap(struct raw *r)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		struct raw_slot *s = &r->slots[data >> 1];
		if (cqe->res < 0 || ((data & 1) == 0 && (uint32_t)cqe->res != s->bytes))
			r->failed = -EIO; /* the benchmark does not finish short writes */
		if (data & 1)
			s->done = true;
		io_uring_cqe_seen(&r->ring, cqe);
	}
	while (r->count > 0 && r->slots[r->order[r->head]].done) {
		struct raw_slot *s = &r->slots[r->order[r->head]];
		r->durable = s->last_record;
		s->in_flight = false;
		r->head = (r->head + 1) % r->commits;
		r->count--;
	}
}

static int raw_setup(struct raw *r, const struct run *run)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/raw.bin", run->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	r->commits = run->commits;
	r->file_bytes = (uint64_t)(run->seconds * 1.0e9);
	r->file_bytes -= r->file_bytes % 4096;
	if (fd < 0 || fallocate(fd, 0, 0, (off_t)r->file_bytes) != 0 || fsync(fd) != 0)
		return -errno;
	int rc = io_uring_queue_init(4 * r->commits, &r->ring, 0);
	if (rc == 0)
		rc = io_uring_register_files(&r->ring, &fd, 1);
	struct iovec iov[COMMITS_MAX];
	for (uint32_t i = 0; rc == 0 && i < r->commits; i++) {
		r->slots[i].buf = aligned_alloc(4096, BATCH_BYTES);
		iov[i] = (struct iovec){.iov_base = r->slots[i].buf, .iov_len = BATCH_BYTES};
	}
	if (rc == 0)
		rc = io_uring_register_buffers(&r->ring, iov, r->commits);
	close(fd); /* the ring holds its registered copy */
	unlink(path);
	r->open_slot = -1;
	r->next_record = 1;
	return rc;
}

static int run_raw(const struct run *run, struct latency *l)
{
	static struct raw r;
	uint32_t record_bytes = run->record_bytes;
	int rc = raw_setup(&r, run);
	if (rc != 0) {
		fprintf(stderr, "busbar-bench: raw writer: %s\n", strerror(-rc));
		return 1;
	}
	uint8_t *payload = calloc(1, record_bytes);
	uint64_t *appended_ns = malloc(sizeof(uint64_t) * PENDING_MAX);
	uint64_t reported = 0, start = now_ns(), end = start + (uint64_t)(run->seconds * 1e9);
	while (now_ns() < end && r.failed == 0) {
		uint64_t t = now_ns();
		if (r.open_slot < 0)
			r.open_slot = raw_free_slot(&r);
		for (uint32_t i = 0; r.open_slot >= 0 && i < RECORDS_PER_PASS; i++) {
			struct raw_slot *s = &r.slots[r.open_slot];
			if (s->bytes + record_bytes > BATCH_BYTES ||
			    r.next_record - reported >= PENDING_MAX)
				break;
			memcpy(s->buf + s->bytes, payload, record_bytes);
			s->bytes += record_bytes;
			s->last_record = r.next_record;
			appended_ns[r.next_record++ % PENDING_MAX] = t;
		}
		if (r.open_slot >= 0 && r.slots[r.open_slot].bytes > 0 && r.count < r.commits)
			raw_submit(&r);
		raw_reap(&r);
		uint64_t done = now_ns();
		for (; reported < r.durable; reported++)
			sample(l, appended_ns[(reported + 1) % PENDING_MAX], done);
		for (uint32_t i = 0; i < r.commits; i++) {
			if (!r.slots[i].in_flight && (int)i != r.open_slot)
				r.slots[i].bytes = 0;
		}
	}
	double elapsed = (double)(now_ns() - start) / 1e9;
	io_uring_queue_exit(&r.ring);
	free(payload);
	free(appended_ns);
	if (r.failed != 0) {
		fprintf(stderr, "busbar-bench: raw writer failed\n");
		return 1;
	}
	report("raw_io_uring", run, r.durable, elapsed, l);
	return 0;
}

int bench_storage(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"record-bytes", required_argument, NULL, 'b'},
	    {"seconds", required_argument, NULL, 't'},
	    {"segment-mib", required_argument, NULL, 'm'},
	    {"commits", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct run run = {.record_bytes = 256, .commits = COMMITS_DEFAULT, .seconds = 5};
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'd': run.dir = optarg; break;
		case 'b': run.record_bytes = (uint32_t)atoi(optarg); break;
		case 't': run.seconds = atof(optarg); break;
		case 'm': run.segment_bytes = strtoull(optarg, NULL, 10) << 20; break;
		case 'c': run.commits = (uint32_t)atoi(optarg); break;
		default: return 2;
		}
	}
	if (run.dir == NULL || run.record_bytes < 1 || run.record_bytes > (1u << 20) ||
	    run.seconds <= 0 || run.commits < 1 || run.commits > COMMITS_MAX) {
		fprintf(stderr,
		        "usage: busbar-bench storage --dir DIR --record-bytes N --seconds S "
		        "[--segment-mib M] [--commits 1-32]\n");
		return 2;
	}
	struct latency l = {.us = malloc(sizeof(uint32_t) * SAMPLES_MAX)};
	char log_dir[600];
	snprintf(log_dir, sizeof(log_dir), "%s/seglog-bench-%d", run.dir, (int)getpid());
	if (mkdir(log_dir, 0700) != 0) {
		perror(log_dir);
		return 1;
	}
	struct run log_run = run;
	log_run.dir = log_dir;
	settle();
	int rc = run_log(&log_run, &l);
	char command[700];
	snprintf(command, sizeof(command), "rm -rf '%s'", log_dir);
	if (system(command) != 0)
		fprintf(stderr, "busbar-bench: could not remove %s\n", log_dir);
	l.count = 0;
	if (rc == 0) {
		settle();
		rc = run_raw(&run, &l);
	}
	free(l.us);
	return rc;
}

/* ---- recovery time beside reading the same bytes ---- */

static int count_record(void *ctx, const struct seg_record_view *r)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Drops the page cache so both measurements read from the disk; says so when it cannot. */
static bool drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	bool ok = fd >= 0 && write(fd, "3\n", 2) == 2;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int fill_log(const char *dir, uint64_t bytes, uint32_t record_bytes)
{
	struct seg_options o = {.dir = dir,
	                        .segment_bytes = 256ull << 20,
	                        .batch_bytes_max = BATCH_BYTES,
	                        .memory_only = true};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	if (log == NULL)
		return rc;
	uint8_t *payload = calloc(1, record_bytes);
	uint64_t records = bytes / (record_bytes + SEG_RECORD_HEADER_BYTES);
	for (uint64_t i = 0; i < records && rc == 0; i++) {
		uint64_t s, p;
		rc = seg_append(log, 1, payload, record_bytes, &s, &p);
		if (rc == -EAGAIN) {
			rc = seg_poll(log, true);
			i--;
			continue;
		}
		if (rc == 0 && i % RECORDS_PER_PASS == 0)
			rc = seg_commit(log);
	}
	if (rc == 0 || rc == -EAGAIN)
		rc = seg_commit(log);
	seg_close(log);
	free(payload);
	return rc == -EAGAIN ? 0 : rc;
}

static double read_files(const char *dir, uint64_t *bytes_out)
{
	char command[700];
	static uint8_t buf[4 << 20];
	uint64_t start = now_ns();
	*bytes_out = 0;
	for (uint32_t id = 1;; id++) {
		snprintf(command, sizeof(command), "%s/%010u.seg", dir, id);
		int fd = open(command, O_RDONLY);
		if (fd < 0)
			break;
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			*bytes_out += (uint64_t)n;
		close(fd);
	}
	return (double)(now_ns() - start) / 1e9;
}

int bench_recovery(int argc, char **argv)
{
	const char *dir = argc > 2 ? argv[2] : NULL;
	double gib = argc > 3 ? atof(argv[3]) : 2;
	if (dir == NULL || gib <= 0) {
		fprintf(stderr, "usage: busbar-bench storage-recovery DIR GIB\n");
		return 2;
	}
	char log_dir[600];
	snprintf(log_dir, sizeof(log_dir), "%s/seglog-recovery-%d", dir, (int)getpid());
	if (mkdir(log_dir, 0700) != 0)
		return 1;
	int rc = fill_log(log_dir, (uint64_t)(gib * (1ull << 30)), 256);
	uint64_t records = 0, bytes = 0;
	settle();
	bool cold = drop_caches();
	struct seg_options o = {.dir = log_dir,
	                        .segment_bytes = 256ull << 20,
	                        .batch_bytes_max = BATCH_BYTES,
	                        .on_record = count_record,
	                        .ctx = &records};
	char why[512];
	uint64_t start = now_ns();
	struct seg_log *log = rc == 0 ? seg_open(&o, &rc, why, sizeof(why)) : NULL;
	double recovery_s = (double)(now_ns() - start) / 1e9;
	seg_close(log);
	settle();
	drop_caches();
	double read_s = read_files(log_dir, &bytes);
	char command[700];
	snprintf(command, sizeof(command), "rm -rf '%s'", log_dir);
	if (system(command) != 0 || rc != 0)
		return 1;
	printf("{\"mode\":\"recovery\",\"bytes\":%llu,\"records\":%llu,\"seconds\":%.3f,"
	       "\"mb_per_s\":%.1f,\"cold_cache\":%s}\n",
	       (unsigned long long)bytes, (unsigned long long)records, recovery_s,
	       (double)bytes / recovery_s / 1e6, cold ? "true" : "false");
	printf("{\"mode\":\"read_same_bytes\",\"bytes\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
	       "\"cold_cache\":%s}\n",
	       (unsigned long long)bytes, read_s, (double)bytes / read_s / 1e6,
	       cold ? "true" : "false");
	return 0;
}

/*
 * The real io_uring path, in a temporary directory: a segment created in the
 * background (so a roll costs no syscall), then end to end: commit buffers
 * from hugepages when the machine has them (heap otherwise), many commits and
 * segment rolls, then a reopen that recovers everything; and restarts that
 * leave no segment file behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log_helpers.h"

#define PAYLOAD_MAX 3000u

static void remove_dir(const char *dir)
{
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	cr_assert_eq(system(command), 0);
}

/* Waits for the completion of `kind` with `tag`; returns its result. */
static int32_t wait_for(struct seg_io *io, uint8_t kind, uint64_t tag)
{
	for (int i = 0; i < 16; i++) {
		struct seg_io_completion c[8];
		int n = io->ops->reap(io, c, 8, true);
		cr_assert_geq(n, 0);
		for (int j = 0; j < n; j++) {
			if (c[j].kind == kind && c[j].tag == tag)
				return c[j].result;
		}
	}
	cr_assert_fail("no completion of kind %u", kind);
	return -1;
}

Test(seglog_uring, a_segment_is_created_in_the_background, .timeout = 60)
{
	char dir[] = "/tmp/bb-uring-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	int rc;
	struct seg_io *io = seg_io_uring_create(64, &rc);
	cr_assert_not_null(io, "%d", rc);
	char path[64];
	snprintf(path, sizeof(path), "%s/0000000001.seg", dir);
	int file = io->ops->submit_create(io, dir, path, 1 << 20, 7);
	cr_assert_geq(file, 0, "%d", file);
	cr_assert_eq(wait_for(io, SEG_IO_CREATE, 7), 0, "created");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 1 << 20, "preallocated");
	static uint8_t block[4096];
	memset(block, 0xab, sizeof(block));
	cr_assert_eq(io->ops->submit_write(io, file, 0, block, sizeof(block), 8192, true, 9), 0);
	cr_assert_eq(wait_for(io, SEG_IO_FSYNC, 9), 0, "written and synced through its handle");
	static uint8_t back[4096];
	cr_assert_eq(io->ops->read(io, file, back, sizeof(back), 8192), (long)sizeof(back));
	cr_assert_arr_eq(back, block, sizeof(block));
	/* Whatever the filesystem calls data, the written block is inside it. */
	uint64_t start, end;
	cr_assert(io->ops->next_data(io, file, 0, 1 << 20, &start, &end), "the block is data");
	cr_assert(start <= 8192 && end >= 8192 + sizeof(block), "[%llu, %llu)",
	          (unsigned long long)start, (unsigned long long)end);
	io->ops->close_file(io, file);
	io->ops->destroy(io);
	remove_dir(dir);
}

Test(seglog_uring, append_roll_and_recover_with_hugepage_buffers, .timeout = 120)
{
	char dir[] = "/tmp/bb-uring-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	struct seg_options o = {.dir = dir,
	                        .segment_bytes = 1 << 20,
	                        .batch_bytes_max = 256 << 10,
	                        .hugepages = true,
	                        .cache_bytes = 1 << 20,
	                        .on_record = record_cb,
	                        .ctx = &rec};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	uint8_t payload[PAYLOAD_MAX];
	for (uint64_t n = 1; n <= 5000; n++) {
		uint64_t s, p;
		uint32_t length = payload_for(n, payload, PAYLOAD_MAX);
		while ((rc = seg_append(log, 2, payload, length, &s, &p)) == -EAGAIN)
			cr_assert_eq(seg_poll(log, true), 0);
		cr_assert_eq(rc, 0);
		if (n % 50 == 0)
			cr_assert_eq(seg_commit(log), 0);
		cr_assert_eq(seg_poll(log, false), 0);
	}
	cr_assert_eq(seg_commit(log), 0);
	while (seg_commits_in_flight(log) > 0)
		cr_assert_eq(seg_poll(log, true), 0);
	cr_assert_eq(seg_durable_sequence(log), 5000);
	cr_assert_gt(seg_segment_count(log), 5, "rolled through background-created segments");
	seg_close(log);
	log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	cr_assert_eq(rec.count, 5000);
	cr_assert_eq(rec.bad, 0);
	seg_close(log);
	remove_dir(dir);
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(d)) != NULL)
		count += entry->d_name[0] != '.';
	closedir(d);
	return count;
}

/* Every open makes the next segment in the background; a clean close removes it when it
 * was never used. Left on disk, the next open moved into it and made another, so each
 * restart cost a preallocated segment (64 MiB by default). */
Test(seglog_uring, restarts_leave_no_segment_file_behind, .timeout = 60)
{
	char dir[] = "/tmp/bb-uring-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	struct seg_options o = {.dir = dir,
	                        .segment_bytes = 1 << 20,
	                        .batch_bytes_max = 64 << 10,
	                        .on_record = record_cb,
	                        .ctx = &rec};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	uint8_t payload[PAYLOAD_MAX];
	uint64_t s, p;
	cr_assert_eq(seg_append(log, 2, payload, payload_for(1, payload, PAYLOAD_MAX), &s, &p), 0);
	cr_assert_eq(seg_commit(log), 0);
	while (seg_commits_in_flight(log) > 0)
		cr_assert_eq(seg_poll(log, true), 0);
	seg_close(log);
	cr_assert_eq(files_in(dir), 1, "the unused spare is gone");
	for (int restart = 0; restart < 5; restart++) {
		rec.count = 0;
		log = seg_open(&o, &rc, why, sizeof(why));
		cr_assert_not_null(log, "%s", why);
		cr_assert_eq(rec.count, 1);
		cr_assert_eq(seg_segment_count(log), 1, "restart %d", restart);
		seg_close(log);
		cr_assert_eq(files_in(dir), 1, "restart %d", restart);
	}
	remove_dir(dir);
}

/*
 * The real io_uring path end to end, in a temporary directory: commit
 * buffers from hugepages when the machine has them (heap otherwise), many
 * commits and segment rolls, then a reopen that recovers everything.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log_helpers.h"

#define PAYLOAD_MAX 3000u

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
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	cr_assert_eq(system(command), 0);
}

/*
 * The crash tests' checker, judged on logs written by hand: a sound history passes, and
 * each broken promise (an acknowledged send lost, a deleted message back, a body never
 * sent, a damaged body, no drain at all) fails it, while what at-least-once allows
 * (redeliveries, a retried send stored twice) passes and is counted. Also the seeded
 * bodies: each regenerates exactly, a changed byte is damage, another seed is foreign.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_log.h"

#define TEST_SEED 42u

/* Writes lines to a fresh file and runs the checker on it with two queues. */
static int check_log(const char *lines)
{
	char path[] = "/tmp/test_crash_check.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
	close(fd);
	struct crash_check_options o = {.log_path = path, .seed = TEST_SEED, .queue_count = 2};
	int verdict = crash_check(&o);
	unlink(path);
	return verdict;
}

Test(crash_check, sound_history_passes)
{
	cr_assert_eq(check_log("S 0 0\nS 0 1\nK 1\nS 1 0\nR 0 0 id-a 1\nD 0 0 id-a\n"
	                       "R 1 0 id-b 1\nM\nR 0 1 id-c 1\nR 1 0 id-b 1\n"),
	             0);
}

Test(crash_check, acknowledged_send_missing_fails)
{
	cr_assert_eq(check_log("S 0 0\nS 0 1\nM\nR 0 0 id-a 1\n"), 1);
}

Test(crash_check, unanswered_delete_may_have_deleted)
{
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nX 0 0 id-a\nM\n"), 0);
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nX 0 0 id-a\nM\nR 0 0 id-a 1\n"), 0);
}

Test(crash_check, unacknowledged_send_may_be_missing_or_present)
{
	/* 0/1 was attempted (the one after the last acknowledged) and may have been stored. */
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 1\nR 0 1 id-b 1\n"), 0);
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 1\n"), 0);
}

Test(crash_check, delivery_after_acknowledged_delete_fails)
{
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nD 0 0 id-a\nM\nR 0 0 id-a 1\n"), 1);
	/* Before the delete was acknowledged it is a redelivery, allowed. */
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nR 0 0 id-a 1\nD 0 0 id-a\nM\n"), 0);
}

Test(crash_check, never_sent_fails)
{
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 1\nR 0 7 id-b 1\n"), 1);
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 1\nU id-z\n"), 1);
}

Test(crash_check, damaged_body_fails)
{
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 0\n"), 1);
}

Test(crash_check, duplicate_from_retried_send_is_allowed)
{
	cr_assert_eq(check_log("S 0 0\nS 0 0\nM\nR 0 0 id-a 1\nR 0 0 id-b 1\n"), 0);
	/* The other copy of a message whose delete was acknowledged is not the deleted one. */
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nD 0 0 id-a\nR 0 0 id-b 1\nM\n"), 0);
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\nD 0 0 id-a\nR 0 0 id-b 1\nM\n"
	                       "R 0 0 id-a 1\n"),
	             1);
	/* More copies than the checker tells apart cannot be judged: a failure, not a pass. */
	char many[CRASH_LOG_LINE_BYTES * (CRASH_COPIES_MAX + 2)] = "S 0 0\nM\n";
	for (uint32_t i = 0; i <= CRASH_COPIES_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "R 0 0 id-%u 1\n", i);
	cr_assert_eq(check_log(many), 1);
}

Test(crash_check, no_drain_or_no_send_fails)
{
	cr_assert_eq(check_log("S 0 0\nR 0 0 id-a 1\n"), 1);
	cr_assert_eq(check_log("M\n"), 1);
}

Test(crash_check, foreign_line_fails)
{
	cr_assert_eq(check_log("S 0 0\nM\nR 0 0 id-a 1\nX what\n"), 1);
	cr_assert_eq(check_log("S 5 0\nM\n"), 1); /* queue 5 of 2 */
}

Test(crash_body, regenerates_and_catches_damage)
{
	char body[CRASH_BODY_BYTES_MAX];
	uint32_t q, n;
	for (uint32_t filler = 0; filler <= CRASH_FILLER_BYTES_MAX; filler += 1024) {
		size_t length = crash_body(TEST_SEED, 1, 77, filler, body, sizeof(body));
		cr_assert_eq(crash_body_parse(TEST_SEED, (uint8_t *)body, length, &q, &n), 1);
		cr_assert(q == 1 && n == 77);
		body[length - 1] ^= 1;
		cr_assert_eq(crash_body_parse(TEST_SEED, (uint8_t *)body, length, &q, &n), 0);
		cr_assert_eq(crash_body_parse(TEST_SEED, (uint8_t *)body, length - 1, &q, &n), 0);
		cr_assert_eq(crash_body_parse(TEST_SEED + 1, (uint8_t *)body, length, &q, &n),
		             -EINVAL);
	}
	cr_assert_eq(crash_body_parse(TEST_SEED, (const uint8_t *)"hello", 5, &q, &n), -EINVAL);
}

/*
 * Power loss for a real writer, through the durable-marks file and the
 * powercut tool (TESTING.md item 4). A writer process appends on the io_uring
 * log with durable_marks_path set and reports every acknowledgement
 * ("A seq") on a pipe; once it has acknowledged a seeded number of records it
 * is killed with SIGKILL, powercut cuts each segment back to its marked
 * durable end plus a random part of the rest (garbling a sector now and
 * then), and the log is opened: every acknowledged record must be there,
 * intact and in order. Three lives per directory, so cuts also land on logs a
 * recovery wrote. The same checker must catch a writer that acknowledges
 * before fdatasync (memory_only: acknowledged on write completion) within a
 * few rounds. The kill comes after a count of acknowledgements, not a time,
 * so neither verdict depends on speed. BB_SEED=N replays a run's choices.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../storage/log_helpers.h"

#define PAYLOAD_MAX    1000u
#define SEGMENT_BYTES  (1u << 20)
#define LIVES          3u
#define ACKS_MAX       3000u /* a life ends after 1 to this many acknowledged records */
#define WRITER_PASSES  2000000u

static uint64_t rng, seed;

static void seed_once(void)
{
	const char *fixed = getenv("BB_SEED");
	seed = fixed ? strtoull(fixed, NULL, 10) : (uint64_t)time(NULL);
	rng = seed * 2654435761u | 1;
}

static uint64_t roll(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static struct seg_options options(const char *dir, const char *marks)
{
	return (struct seg_options){.dir = dir,
	                            .segment_bytes = SEGMENT_BYTES,
	                            .batch_bytes_max = 65536,
	                            .commits_in_flight_max = 4,
	                            .durable_marks_path = marks};
}

/* The child: appends until killed, saying what is acknowledged. Bounded, in case the
 * parent is gone. early: acknowledges before fdatasync (memory_only). */
static void writer(const char *dir, const char *marks, int out, bool early, uint64_t salt)
{
	struct seg_options o = options(dir, marks);
	o.memory_only = early;
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	if (log == NULL)
		_exit(4);
	static uint8_t payload[PAYLOAD_MAX];
	uint64_t acknowledged = 0;
	for (uint64_t pass = 0; pass < WRITER_PASSES; pass++) {
		for (uint64_t i = 0; i < 1 + (pass + salt) % 40; i++) {
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
			char line[32];
			int n = snprintf(line, sizeof(line), "A %llu\n", (unsigned long long)acknowledged);
			if (write(out, line, (size_t)n) != n)
				_exit(3);
		}
	}
	_exit(7);
}

/* Reads acknowledgements until `target` more than `before`; returns the highest. */
static uint64_t read_acks(int in, uint64_t before, uint64_t target)
{
	static char text[1 << 16];
	uint64_t acknowledged = before;
	size_t length = 0;
	for (;;) {
		ssize_t n = read(in, text + length, sizeof(text) - 1 - length);
		if (n <= 0)
			return acknowledged; /* the writer died: the caller says how */
		length += (size_t)n;
		text[length] = '\0';
		char *line = text, *end;
		while ((end = strchr(line, '\n')) != NULL) {
			unsigned long long a;
			if (sscanf(line, "A %llu", &a) == 1 && a > acknowledged)
				acknowledged = a;
			line = end + 1;
		}
		length = strlen(line);
		memmove(text, line, length);
		if (acknowledged >= before + target)
			return acknowledged;
	}
}

/* One life: start the writer, let it acknowledge some, kill it. Returns what it acked. */
static uint64_t live_and_die(const char *dir, const char *marks, bool early, uint64_t before)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	uint64_t salt = roll(40), target = 1 + roll(ACKS_MAX);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		close(fds[0]);
		writer(dir, marks, fds[1], early, salt);
	}
	close(fds[1]);
	uint64_t acknowledged = read_acks(fds[0], before, target);
	kill(child, SIGKILL);
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	/* What it said before it died counts too. */
	uint64_t more = read_acks(fds[0], acknowledged, UINT64_MAX - acknowledged);
	close(fds[0]);
	cr_assert(WIFSIGNALED(status), "BB_SEED=%llu: the writer ended on its own (status %d)",
	          (unsigned long long)seed, status);
	return more;
}

static void powercut(const char *dir, const char *marks)
{
	const char *tool = getenv("BB_POWERCUT");
	cr_assert_not_null(tool, "BB_POWERCUT names the powercut tool (tests/meson.build)");
	char cut_seed[32];
	snprintf(cut_seed, sizeof(cut_seed), "%llu", (unsigned long long)roll(UINT32_MAX));
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		execl(tool, tool, dir, marks, cut_seed, (char *)NULL);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "powercut failed (status %d)",
	          status);
}

/* Opens the log as the next life would; 0 when every acknowledged record is there. */
static int check(const char *dir, const char *marks, uint64_t acknowledged, char *why)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	rec.count = 0;
	rec.bad = 0;
	struct seg_options o = options(dir, marks);
	o.on_record = record_cb;
	o.ctx = &rec;
	int rc;
	struct seg_log *log = seg_open(&o, &rc, why, 512);
	if (log == NULL)
		return rc;
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

/* Rounds of LIVES lives, each killed and cut; the first failure, or 0. */
static int run(bool early, uint32_t rounds, char *why)
{
	for (uint32_t round = 0; round < rounds; round++) {
		char dir[] = "/tmp/bb-powercut-XXXXXX";
		cr_assert_not_null(mkdtemp(dir));
		char marks[64];
		snprintf(marks, sizeof(marks), "%s/durable-marks", dir);
		uint64_t acknowledged = 0;
		int rc = 0;
		for (uint32_t life = 0; life < LIVES && rc == 0; life++) {
			acknowledged = live_and_die(dir, marks, early, acknowledged);
			powercut(dir, marks);
			rc = check(dir, marks, acknowledged, why);
		}
		char command[96];
		snprintf(command, sizeof(command), "rm -rf '%s'", dir);
		cr_assert_eq(system(command), 0);
		if (rc != 0)
			return rc;
	}
	return 0;
}

TestSuite(powercut, .init = seed_once);

Test(powercut, an_honest_writer_loses_no_acknowledged_record, .timeout = 240)
{
	char why[512] = "";
	cr_assert_eq(run(false, 8, why), 0, "BB_SEED=%llu: %s", (unsigned long long)seed, why);
}

Test(powercut, a_writer_acknowledging_before_fdatasync_is_caught, .timeout = 120)
{
	char why[512] = "";
	int rc = 0;
	for (uint32_t attempt = 0; attempt < 10 && rc == 0; attempt++)
		rc = run(true, 1, why);
	cr_assert_neq(rc, 0, "BB_SEED=%llu: early acknowledgements were never caught",
	              (unsigned long long)seed);
}

/*
 * The real io_uring path, in a temporary directory: a segment created in the
 * background (so a roll costs no syscall), then end to end: commit buffers
 * from hugepages when the machine has them (heap otherwise), many commits and
 * segment rolls, then a reopen that recovers everything; and restarts that
 * leave no segment file behind. And a worker's loop on the real ring, under a
 * seccomp filter that allows no syscall but io_uring_enter.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ---- a worker's loop makes no syscall but io_uring_enter ---- */

#if defined(__x86_64__)
#define BB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define LOOP_RING      1024u
#define LOOP_WINDOW    200u /* records kept live behind the newest */
#define LOOP_PASSES    6000u /* of 8 records: about 100 segments */
#define LOOP_WAITS_MAX 100000u

static int report_fd = -1;

/* The filter traps the first other syscall: say which, then die. */
static void on_sigsys(int signal_number, siginfo_t *info, void *context)
{
	char line[16];
	int n = 0;
	for (int nr = info->si_syscall, d = 1000; d > 0; d /= 10)
		line[n++] = (char)('0' + nr / d % 10);
	line[n++] = '\n';
	(void)!write(report_fd, line, (size_t)n);
	_exit(9);
}

/*
 * Allows io_uring_enter, the exits, and write on the report pipe (for the
 * trap's report); clock_gettime too, which the vDSO answers without a syscall
 * where the clocksource allows (a segment's seal time) and never blocks, and
 * sigaltstack, which AddressSanitizer's runtime calls around the filter's
 * installation. Any other syscall raises SIGSYS.
 */
static int forbid_syscalls(int fd)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BB_AUDIT_ARCH, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 6, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 5, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 4, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clock_gettime, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sigaltstack, 2, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 2, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)fd, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog program = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	struct sigaction action = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	if (sigaction(SIGSYS, &action, NULL) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0 ? 0 : -errno;
}

/*
 * The child: a queue-like worker loop (append, commit, poll, release the records
 * LOOP_WINDOW behind the newest, a checkpoint and a read of the oldest live record
 * through the ring now and then), rolling through
 * segments made in the background and removing released ones. Waits only in
 * seg_poll(log, true), which is io_uring_enter. Exit codes: 0 done, 9 trapped,
 * others a failure of the log.
 */
static void loop_under_filter(const char *dir, int out)
{
	static uint64_t position_of[LOOP_RING];
	struct seg_options o = {
	    .dir = dir, .segment_bytes = 256 << 10, .batch_bytes_max = 64 << 10};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	if (log == NULL)
		_exit(2);
	static uint8_t payload[PAYLOAD_MAX], readback[4096];
	uint64_t released = 0, appended = 0, reads = 0;
	uint32_t waits = 0;
	bool reading = false;
	report_fd = out;
	if (forbid_syscalls(out) != 0)
		_exit(3);
	for (uint32_t pass = 0; pass < LOOP_PASSES; pass++) {
		for (uint32_t i = 0; i < 8; i++) {
			uint64_t s, p;
			rc = seg_append(log, 2, payload, 500, &s, &p);
			/* The spare is not ready or no commit slot is free: a worker would
			 * come back next pass; this one waits in the ring, so the run does
			 * the same work however fast the disk is. */
			while (rc == -EAGAIN && waits++ < LOOP_WAITS_MAX && seg_poll(log, true) == 0)
				rc = seg_append(log, 2, payload, 500, &s, &p);
			if (rc != 0)
				_exit(4);
			appended = s;
			position_of[s % LOOP_RING] = p;
			if (s % 997 == 0 && seg_checkpoint(log, p, s) != 0)
				_exit(5);
		}
		while (appended > released + LOOP_WINDOW && released < seg_durable_sequence(log)) {
			if (seg_release(log, position_of[++released % LOOP_RING]) != 0)
				_exit(6);
		}
		/* Now and then the oldest live record (durable, so on disk) is read back
		 * through the ring; it may be released while the read is in flight (its
		 * segment waits for it). */
		if (!reading && pass % 16 == 0 && released < seg_durable_sequence(log)) {
			uint64_t sequence = released + 1;
			rc = seg_read_submit(log, position_of[sequence % LOOP_RING], readback,
			                     sizeof(readback), sequence);
			if (rc != 0 && rc != -EAGAIN)
				_exit(11);
			reading = rc == 0;
		}
		if (seg_commit(log) != 0 || seg_poll(log, false) != 0)
			_exit(7);
		struct seg_read_done done;
		if (reading && seg_read_reap(log, &done, 1) == 1) {
			if (done.result != 0 || done.record.sequence != done.tag ||
			    done.record.payload_bytes != 500)
				_exit(12);
			reading = false;
			reads++;
		}
	}
	if (reads < LOOP_PASSES / 32)
		_exit(13);
	while (seg_commits_in_flight(log) > 0 && waits++ < LOOP_WAITS_MAX)
		if (seg_poll(log, true) != 0)
			_exit(8);
	/* Every record durable, released segments gone but for the last few. */
	_exit(seg_durable_sequence(log) == 8 * LOOP_PASSES && seg_segment_count(log) < 5 ? 0 : 10);
}

Test(seglog_uring, a_worker_loop_makes_no_syscall_but_io_uring_enter, .timeout = 120)
{
#ifndef BB_AUDIT_ARCH
	cr_skip_test("no seccomp architecture constant for this machine");
#else
	char dir[] = "/tmp/bb-uring-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		close(fds[0]);
		loop_under_filter(dir, fds[1]);
	}
	close(fds[1]);
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	char said[64] = "";
	ssize_t n = read(fds[0], said, sizeof(said) - 1);
	said[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	cr_assert(WIFEXITED(status), "the loop died (signal %d)", WTERMSIG(status));
	cr_assert_neq(WEXITSTATUS(status), 9, "the loop made syscall %s", said);
	cr_assert_eq(WEXITSTATUS(status), 0, "the loop failed (exit %d)", WEXITSTATUS(status));
	/* And what it wrote is a log: open it (no filter here). */
	struct seg_options o = {.dir = dir, .segment_bytes = 256 << 10, .batch_bytes_max = 64 << 10};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	seg_close(log);
	remove_dir(dir);
#endif
}

/*
 * crash_client's seeded bodies and its fdatasync'd operation log (crash_log.h).
 * A line is on disk before the operation after it starts, so the log never
 * claims less than busbard acknowledged, whatever is killed when.
 */
#include "crash_log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char crash_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* splitmix64's finaliser: every filler byte depends on seed, queue, counter and index. */
static uint64_t crash_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

size_t crash_body(uint64_t seed, uint32_t queue, uint32_t counter, uint32_t filler_bytes,
                  char *out, size_t capacity)
{
	assert(capacity >= CRASH_BODY_BYTES_MAX && filler_bytes <= CRASH_FILLER_BYTES_MAX);
	assert(queue < CRASH_QUEUES_MAX);
	uint64_t key = crash_mix(seed ^ ((uint64_t)queue << 32 | counter));
	size_t filler = filler_bytes ? filler_bytes
	                             : CRASH_FILLER_BYTES_MIN + key % CRASH_FILLER_BYTES_SPREAD;
	int head = snprintf(out, capacity, "bbcrash %016" PRIx64 " %" PRIu32 " %" PRIu32 " %zu ",
	                    seed, queue, counter, filler);
	size_t length = (size_t)head;
	for (size_t i = 0; i < filler; i++)
		out[length++] = crash_alphabet[crash_mix(key + i) % (sizeof(crash_alphabet) - 1)];
	return length;
}

int crash_body_parse(uint64_t seed, const uint8_t *body, size_t body_bytes, uint32_t *queue,
                     uint32_t *counter)
{
	assert(queue && counter);
	char head[CRASH_BODY_HEAD_BYTES];
	size_t n = body_bytes < sizeof(head) - 1 ? body_bytes : sizeof(head) - 1;
	memcpy(head, body, n);
	head[n] = '\0';
	uint64_t body_seed;
	uint32_t filler;
	if (sscanf(head, "bbcrash %16" SCNx64 " %" SCNu32 " %" SCNu32 " %" SCNu32, &body_seed,
	           queue, counter, &filler) != 4)
		return -EINVAL;
	if (body_seed != seed || *queue >= CRASH_QUEUES_MAX ||
	    *counter >= CRASH_MESSAGES_PER_QUEUE_MAX || filler > CRASH_FILLER_BYTES_MAX)
		return -EINVAL;
	/* Damaged when it differs from what was sent; a zero filler size is never sent. */
	if (filler == 0)
		return 0;
	char expected[CRASH_BODY_BYTES_MAX];
	size_t expected_bytes = crash_body(seed, *queue, *counter, filler, expected,
	                                   sizeof(expected));
	if (expected_bytes != body_bytes || memcmp(expected, body, body_bytes) != 0)
		return 0;
	return 1;
}

int crash_log_open(struct crash_log *log, const char *path)
{
	assert(log && path);
	log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return log->fd < 0 ? -errno : 0;
}

int crash_log_line(struct crash_log *log, const char *line)
{
	assert(log->fd >= 0);
	size_t length = strlen(line);
	assert(length > 0 && line[length - 1] == '\n');
	/* One write per line with O_APPEND: a line is never split by another's. */
	ssize_t written = write(log->fd, line, length);
	if (written < 0)
		return -errno;
	if ((size_t)written != length)
		return -EIO;
	return fdatasync(log->fd) == 0 ? 0 : -errno;
}

void crash_log_close(struct crash_log *log)
{
	assert(log);
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}

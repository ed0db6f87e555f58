/*
 * powercut DIR MARKS SEED: what a power cut would have left of a segment log
 * whose writer was just killed (SIGKILL keeps the page cache, a power cut
 * does not). MARKS is the log's durable-marks file (seg_options
 * .durable_marks_path): for each segment, where its fdatasync'd bytes end.
 * Every segment file in DIR is cut back to that end plus a random part of
 * what was written after it, and one time in four the last sector kept of
 * that unsynced part is garbled; bytes up to the durable end are never
 * touched. The random choices come from SEED, so a run replays. One line per
 * segment cut on stdout; exit 0, or 1 with a reason (the writer must be dead:
 * nothing here coordinates with a live one).
 *
 * Not modelled: directory entries (a segment created or removed without its
 * directory fsync); the simulator's tests (tests/storage/test_seglog_sim.c)
 * cover those.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_int.h"

#define GARBLE_BYTES 512u     /* a sector, as a torn write leaves it */
#define CHUNK_BYTES  (1u << 16) /* zeros written per call */

static uint64_t rng;

static uint64_t roll(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* The durable end the marks give segment id; 0 when no slot names it. */
static uint64_t durable_end(const struct seg_marks *m, uint32_t id)
{
	const struct seg_marks_slot *slot = &m->slot[id % SEG_MARKS_SLOTS];
	uint64_t named = __atomic_load_n(&slot->segment_id, __ATOMIC_ACQUIRE);
	return named == id ? slot->durable_end : 0;
}

/* Where the file's bytes end: past its last nonzero byte (0 when all zeros). */
static uint64_t data_end(int fd, uint64_t size)
{
	uint64_t last = 0;
	off_t at = 0;
	/* Bounded by the file's extents: each turn moves past one. */
	while ((uint64_t)at < size) {
		off_t data = lseek(fd, at, SEEK_DATA);
		if (data < 0)
			break;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		last = (uint64_t)(hole < 0 ? (off_t)size : hole);
		at = hole < 0 ? (off_t)size : hole;
	}
	if (last == 0)
		return 0;
	const uint8_t *bytes = mmap(NULL, last, PROT_READ, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED)
		return last; /* cannot look: all of it may be data */
	uint64_t end = last;
	while (end > 0 && bytes[end - 1] == 0)
		end--;
	munmap((void *)bytes, last);
	return end;
}

static int write_all(int fd, const uint8_t *buf, uint64_t length, uint64_t offset)
{
	while (length > 0) {
		uint32_t n = length < CHUNK_BYTES ? (uint32_t)length : CHUNK_BYTES;
		ssize_t done = pwrite(fd, buf, n, (off_t)offset);
		if (done <= 0)
			return -1;
		length -= (uint64_t)done;
		offset += (uint64_t)done;
	}
	return 0;
}

/* Cuts one segment; prints what it did. */
static int cut_segment(const char *path, uint32_t id, const struct seg_marks *m)
{
	static const uint8_t zeros[CHUNK_BYTES];
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "powercut: %s: %s\n", path, strerror(errno));
		return -1;
	}
	uint64_t durable = durable_end(m, id), end = data_end(fd, (uint64_t)st.st_size);
	int rc = 0;
	if (end > durable) {
		uint64_t keep = durable + roll(end - durable + 1);
		rc = write_all(fd, zeros, end - keep, keep);
		bool garble = rc == 0 && keep > durable && roll(4) == 0;
		if (garble) {
			uint64_t from = keep - durable < GARBLE_BYTES ? durable : keep - GARBLE_BYTES;
			uint8_t noise[GARBLE_BYTES];
			for (uint32_t i = 0; i < GARBLE_BYTES; i++)
				noise[i] = (uint8_t)roll(256);
			rc = write_all(fd, noise, keep - from, from);
		}
		printf("segment %" PRIu32 ": durable to %" PRIu64 ", written to %" PRIu64
		       ", kept to %" PRIu64 "%s\n",
		       id, durable, end, keep, garble ? ", last sector garbled" : "");
	}
	if (rc != 0)
		fprintf(stderr, "powercut: %s: write: %s\n", path, strerror(errno));
	close(fd);
	return rc;
}

static const struct seg_marks *map_marks(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	const struct seg_marks *m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	if (m->magic != SEG_MARKS_MAGIC || m->slots != SEG_MARKS_SLOTS) {
		errno = EINVAL;
		return NULL;
	}
	return m;
}

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The segment ids in dir, sorted (so a seed replays whatever order readdir gives). */
static int list_ids(const char *dir, uint32_t *ids, uint32_t capacity)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int count = 0;
	struct dirent *entry;
	while (count < (int)capacity && (entry = readdir(d)) != NULL) {
		unsigned id;
		char suffix[8];
		if (sscanf(entry->d_name, "%10u%7s", &id, suffix) == 2 &&
		    strcmp(suffix, SEG_FILE_SUFFIX) == 0)
			ids[count++] = id;
	}
	closedir(d);
	qsort(ids, (size_t)count, sizeof(ids[0]), compare_ids);
	return count;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: powercut DIR MARKS SEED\n");
		return 1;
	}
	const struct seg_marks *m = map_marks(argv[2]);
	if (m == NULL) {
		fprintf(stderr, "powercut: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	rng = strtoull(argv[3], NULL, 10) * 2654435761u | 1;
	static uint32_t ids[SEG_SEGMENTS_MAX + 2]; /* the segments and a spare */
	int count = list_ids(argv[1], ids, SEG_SEGMENTS_MAX + 2);
	if (count < 0) {
		fprintf(stderr, "powercut: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int rc = 0;
	for (int i = 0; rc == 0 && i < count; i++) {
		char path[SEG_PATH_BYTES + 32];
		seg_segment_path(argv[1], ids[i], path, sizeof(path));
		rc = cut_segment(path, ids[i], m);
	}
	return rc == 0 ? 0 : 1;
}

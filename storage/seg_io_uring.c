/*
 * The log's I/O on io_uring: commits are a WRITE_FIXED on a registered file
 * and buffer, linked to an FSYNC with IORING_FSYNC_DATASYNC, so one
 * submission carries both and the fsync runs only after the write succeeded
 * in full (a short or failed write cancels it: the log then resubmits the
 * rest or stops). Creating the next segment, removing one and replacing the
 * checkpoint file are chains of linked steps in the same ring, so nothing a
 * worker's loop calls makes a syscall other than io_uring_enter; so are the
 * reads of seg_read_submit. Opening, recovery, closing and the `read` op
 * (seg_read) are synchronous: at start and stop, or off the loop.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <liburing.h>

#include "seg_int.h"
#include "seg_io.h"

/* The registered file slot of the checkpoint's temporary file, past the segments'. */
#define META_SLOT SEG_SEGMENTS_MAX

/* A background operation of several linked steps: what it works on, its first error. */
struct chain {
	char path[SEG_PATH_BYTES + 64];
	char temporary[SEG_PATH_BYTES + 64]; /* the checkpoint's, renamed over path */
	uint64_t tag;
	int slot;
	int error;
	uint32_t length; /* the checkpoint's bytes */
	int plain_fd;    /* the created segment's descriptor outside the ring */
	/* Completions still to come: the kernel may post a step's after its successor's. */
	uint32_t steps_left;
	bool running;
	bool cleaning; /* a failed creation's clean-up steps are running */
};

struct seg_io_uring {
	struct seg_io base;
	struct io_uring ring;
	int fds[SEG_SEGMENTS_MAX]; /* registered file slot -> fd, -1 when free */
	struct chain create, remove, meta;
	int dir_fd;
	uint32_t buffer_count;
	const void *buffers[64];
	uint32_t buffer_bytes;
};

static struct seg_io_uring *from(struct seg_io *io)
{
	return (struct seg_io_uring *)io;
}

static int free_slot(struct seg_io_uring *u)
{
	for (uint32_t slot = 0; slot < SEG_SEGMENTS_MAX; slot++) {
		bool creating = u->create.running && (int)slot == u->create.slot;
		bool removing = u->remove.running && (int)slot == u->remove.slot;
		if (u->fds[slot] < 0 && !creating && !removing)
			return (int)slot;
	}
	return -EMFILE;
}

static int open_file(struct seg_io *io, const char *path, bool create, uint64_t bytes)
{
	struct seg_io_uring *u = from(io);
	int slot = free_slot(u);
	if (slot < 0)
		return slot;
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
	if (fd < 0)
		return -errno;
	/*
	 * Allocated and zeroed up front, so the commit path only overwrites. A
	 * shorter existing file is a creation cut off before its fallocate: no
	 * write ever reached it (writes start after creation completed), so it
	 * is completed here, rather than mapped short for recovery to fault on.
	 */
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : -errno;
	bool short_file = rc == 0 && (uint64_t)st.st_size < bytes;
	if (rc == 0 && short_file && fallocate(fd, 0, 0, (off_t)bytes) != 0)
		rc = -errno;
	if (rc == 0 && short_file && fsync(fd) != 0)
		rc = -errno;
	if (rc == 0)
		rc = io_uring_register_files_update(&u->ring, (unsigned)slot, &fd, 1) == 1 ? 0
		                                                                           : -EIO;
	if (rc != 0) {
		close(fd);
		if (create)
			unlink(path);
		return rc;
	}
	u->fds[slot] = fd;
	return slot;
}

static int close_file(struct seg_io *io, int file)
{
	struct seg_io_uring *u = from(io);
	int none = -1;
	io_uring_register_files_update(&u->ring, (unsigned)file, &none, 1);
	int rc = close(u->fds[file]) == 0 ? 0 : -errno;
	u->fds[file] = -1;
	return rc;
}

static int remove_file(struct seg_io *io, const char *path)
{
	return unlink(path) == 0 ? 0 : -errno;
}

/* The directory's descriptor, kept for the background operations' fsyncs. It is
 * opened by list_segments, at the log's open, so no open() happens on a loop. */
static int dir_handle(struct seg_io_uring *u, const char *dir)
{
	if (u->dir_fd < 0)
		u->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return u->dir_fd < 0 ? -errno : u->dir_fd;
}

static int list_segments(struct seg_io *io, const char *dir, uint32_t *ids, uint32_t capacity)
{
	(void)dir_handle(from(io), dir); /* a failure here shows again where it matters */
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(d)) != NULL) {
		unsigned id;
		char suffix[8];
		if (sscanf(entry->d_name, "%10u%7s", &id, suffix) != 2 ||
		    strcmp(suffix, SEG_FILE_SUFFIX) != 0)
			continue;
		if ((uint32_t)count == capacity) {
			count = -EMFILE;
			break;
		}
		ids[count++] = id;
	}
	closedir(d);
	return count;
}

static int sync_dir(struct seg_io *io, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

static long read_at(struct seg_io *io, int file, void *buf, size_t length, uint64_t offset)
{
	size_t done = 0;
	while (done < length) {
		ssize_t n = pread(from(io)->fds[file], (uint8_t *)buf + done, length - done,
		                  (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (long)done;
}

/*
 * SEEK_DATA and SEEK_HOLE: preallocated space not yet written (unwritten
 * extents) reads as zeros and counts as a hole, so recovery skips it instead
 * of having the kernel clear pages of zeros for it to scan.
 */
static bool next_data(struct seg_io *io, int file, uint64_t offset, uint64_t size, uint64_t *start,
                      uint64_t *end)
{
	int fd = from(io)->fds[file];
	off_t data = lseek(fd, (off_t)offset, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		return false; /* nothing but holes from here */
	if (data < 0) {
		*start = offset; /* no answer (a filesystem without it): all may be data */
		*end = size;
		return true;
	}
	if ((uint64_t)data >= size)
		return false; /* data only past the part asked about */
	off_t hole = lseek(fd, data, SEEK_HOLE);
	*start = (uint64_t)data;
	*end = hole < 0 || (uint64_t)hole > size ? size : (uint64_t)hole;
	return true;
}

static const uint8_t *map(struct seg_io *io, int file, uint64_t bytes, int *error)
{
	/* The page cache itself: no copy into a buffer, no fresh pages to clear. */
	void *p = mmap(NULL, bytes, PROT_READ, MAP_SHARED, from(io)->fds[file], 0);
	*error = p == MAP_FAILED ? -errno : 0;
	if (p == MAP_FAILED)
		return NULL;
	/* The data the log starts with, read in now; failing that, page by page later. */
	uint64_t start, end;
	if (next_data(io, file, 0, bytes, &start, &end) && start == 0)
		(void)madvise(p, end, MADV_POPULATE_READ);
	return p;
}

static void unmap(struct seg_io *io, const uint8_t *mapped, uint64_t bytes)
{
	munmap((void *)mapped, bytes);
}

static void prefetch(struct seg_io *io, int file, uint64_t bytes)
{
	(void)posix_fadvise(from(io)->fds[file], 0, (off_t)bytes, POSIX_FADV_WILLNEED);
}

static long read_meta(struct seg_io *io, const char *dir, const char *name, void *buf,
                      size_t capacity)
{
	char path[SEG_PATH_BYTES + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, capacity);
	long rc = n < 0 ? -errno : (long)n;
	close(fd);
	return rc;
}

static int zero(struct seg_io *io, int file, uint64_t offset, uint64_t length)
{
	int fd = from(io)->fds[file];
	if (length > 0 && fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
	                            (off_t)length) != 0)
		return -errno;
	return fdatasync(fd) == 0 ? 0 : -errno;
}

static int sync_file(struct seg_io *io, int file)
{
	return fdatasync(from(io)->fds[file]) == 0 ? 0 : -errno;
}

/*
 * user_data: the class in the top three bits. Commits are class 0 (their tag
 * << 1 | fsync), reads class 4 (their tag below); a chain's steps carry their
 * number in the low bits, and as each chain class runs one operation at a
 * time, its tag and paths live in struct chain.
 */
#define CLASS_SHIFT  61
#define CLASS_CREATE 1ull
#define CLASS_REMOVE 2ull
#define CLASS_META   3ull
#define CLASS_READ   4ull /* not a chain: the tag in the low bits */
#define TAG_MASK     ((1ull << CLASS_SHIFT) - 1)

enum {
	CREATE_OPEN,
	CREATE_FALLOCATE,
	CREATE_FSYNC,
	CREATE_FSYNC_DIR,
	CREATE_OPEN_PLAIN, /* a plain descriptor too, for pread and recovery's calls */
	CREATE_STEPS,
	/* After a failure, so a half-made segment does not look like one. */
	CLEAN_CLOSE = CREATE_STEPS,
	CLEAN_UNLINK,
	CLEAN_FSYNC_DIR,
};
#define CLEAN_STEPS 3
enum { REMOVE_CLOSE_DIRECT, REMOVE_CLOSE, REMOVE_UNLINK, REMOVE_FSYNC_DIR, REMOVE_STEPS };
enum { META_OPEN, META_WRITE, META_FSYNC, META_CLOSE, META_RENAME, META_FSYNC_DIR, META_STEPS };

/* A chain's next entry; the callers checked the room for their whole chain. */
static struct io_uring_sqe *next_sqe(struct seg_io_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	assert(sqe != NULL);
	return sqe;
}

/* Names a prepared entry as a chain's step; flags say how it holds to the next (after the
 * prep helper, which clears them). */
static void as_step(struct io_uring_sqe *sqe, uint64_t class, int number, unsigned flags)
{
	io_uring_sqe_set_data64(sqe, class << CLASS_SHIFT | (uint64_t)number);
	sqe->flags |= (uint8_t)flags;
}

static int submit_create(struct seg_io *io, const char *dir, const char *path, uint64_t bytes,
                         uint64_t tag)
{
	struct seg_io_uring *u = from(io);
	if (u->create.running || io_uring_sq_space_left(&u->ring) < CREATE_STEPS)
		return -EBUSY;
	int slot = free_slot(u);
	int dir_fd = dir_handle(u, dir);
	if (slot < 0 || dir_fd < 0)
		return slot < 0 ? slot : dir_fd;
	u->create = (struct chain){
	    .running = true, .slot = slot, .tag = tag, .plain_fd = -1, .steps_left = CREATE_STEPS};
	snprintf(u->create.path, sizeof(u->create.path), "%s", path);
	/* No O_CLOEXEC: a direct descriptor is not in the process's table, and the
	 * kernel refuses the flag with EINVAL (every creation failed, and each roll
	 * then created its segment synchronously on the commit path). */
	struct io_uring_sqe *sqe = next_sqe(u);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, u->create.path, O_RDWR | O_CREAT | O_EXCL, 0644,
	                            (unsigned)slot);
	as_step(sqe, CLASS_CREATE, CREATE_OPEN, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_fallocate(sqe, slot, 0, 0, bytes);
	as_step(sqe, CLASS_CREATE, CREATE_FALLOCATE, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, slot, 0);
	as_step(sqe, CLASS_CREATE, CREATE_FSYNC, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, dir_fd, 0);
	as_step(sqe, CLASS_CREATE, CREATE_FSYNC_DIR, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_openat(sqe, AT_FDCWD, u->create.path, O_RDWR | O_CLOEXEC, 0);
	as_step(sqe, CLASS_CREATE, CREATE_OPEN_PLAIN, 0);
	int rc = io_uring_submit(&u->ring);
	u->create.running = rc >= 0;
	return rc < 0 ? rc : slot;
}

/*
 * A failed creation: closes the slot, unlinks the path (what was there too,
 * when it existed: a leftover spare, see docs/storage.md) and fsyncs the
 * directory. Hard links: each step runs whatever the one before returned.
 */
static bool submit_clean_up(struct seg_io_uring *u)
{
	if (io_uring_sq_space_left(&u->ring) < CLEAN_STEPS)
		return false;
	struct io_uring_sqe *sqe = next_sqe(u);
	io_uring_prep_close_direct(sqe, (unsigned)u->create.slot);
	as_step(sqe, CLASS_CREATE, CLEAN_CLOSE, IOSQE_IO_HARDLINK);
	sqe = next_sqe(u);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, u->create.path, 0);
	as_step(sqe, CLASS_CREATE, CLEAN_UNLINK, IOSQE_IO_HARDLINK);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, u->dir_fd, 0);
	as_step(sqe, CLASS_CREATE, CLEAN_FSYNC_DIR, 0);
	u->create.cleaning = io_uring_submit(&u->ring) >= 0;
	u->create.steps_left = CLEAN_STEPS;
	return u->create.cleaning;
}

static int submit_remove(struct seg_io *io, const char *dir, const char *path, int file,
                         uint64_t tag)
{
	struct seg_io_uring *u = from(io);
	assert(file >= 0 && file < (int)SEG_SEGMENTS_MAX && u->fds[file] >= 0);
	if (u->remove.running || io_uring_sq_space_left(&u->ring) < REMOVE_STEPS)
		return -EBUSY;
	int dir_fd = dir_handle(u, dir);
	if (dir_fd < 0)
		return dir_fd;
	u->remove = (struct chain){
	    .running = true, .slot = file, .tag = tag, .steps_left = REMOVE_STEPS};
	snprintf(u->remove.path, sizeof(u->remove.path), "%s", path);
	struct io_uring_sqe *sqe = next_sqe(u);
	io_uring_prep_close_direct(sqe, (unsigned)file);
	as_step(sqe, CLASS_REMOVE, REMOVE_CLOSE_DIRECT, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_close(sqe, u->fds[file]);
	as_step(sqe, CLASS_REMOVE, REMOVE_CLOSE, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, u->remove.path, 0);
	as_step(sqe, CLASS_REMOVE, REMOVE_UNLINK, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, dir_fd, 0);
	as_step(sqe, CLASS_REMOVE, REMOVE_FSYNC_DIR, 0);
	int rc = io_uring_submit(&u->ring);
	u->remove.running = rc >= 0;
	return rc < 0 ? rc : 0;
}

static int submit_meta(struct seg_io *io, const char *dir, const char *name, const void *bytes,
                       uint32_t length, uint64_t tag)
{
	struct seg_io_uring *u = from(io);
	if (u->meta.running || io_uring_sq_space_left(&u->ring) < META_STEPS)
		return -EBUSY;
	int dir_fd = dir_handle(u, dir);
	if (dir_fd < 0)
		return dir_fd;
	u->meta = (struct chain){
	    .running = true, .tag = tag, .length = length, .steps_left = META_STEPS};
	snprintf(u->meta.path, sizeof(u->meta.path), "%s/%s", dir, name);
	snprintf(u->meta.temporary, sizeof(u->meta.temporary), "%s/%s.tmp", dir, name);
	/* Into its own slot: a chain cut short leaves its file there, and the next
	 * checkpoint's open replaces it. */
	struct io_uring_sqe *sqe = next_sqe(u);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, u->meta.temporary, O_WRONLY | O_CREAT | O_TRUNC,
	                            0644, META_SLOT);
	as_step(sqe, CLASS_META, META_OPEN, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_write(sqe, META_SLOT, bytes, length, 0);
	as_step(sqe, CLASS_META, META_WRITE, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, META_SLOT, 0);
	as_step(sqe, CLASS_META, META_FSYNC, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	sqe = next_sqe(u);
	io_uring_prep_close_direct(sqe, META_SLOT);
	as_step(sqe, CLASS_META, META_CLOSE, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_renameat(sqe, AT_FDCWD, u->meta.temporary, AT_FDCWD, u->meta.path, 0);
	as_step(sqe, CLASS_META, META_RENAME, IOSQE_IO_LINK);
	sqe = next_sqe(u);
	io_uring_prep_fsync(sqe, dir_fd, 0);
	as_step(sqe, CLASS_META, META_FSYNC_DIR, 0);
	int rc = io_uring_submit(&u->ring);
	u->meta.running = rc >= 0;
	return rc < 0 ? rc : 0;
}

/* Keeps a chain's first error (a cancelled step only follows an earlier one); true
 * when it was the chain's last completion. */
static bool note(struct chain *c, int32_t res)
{
	assert(c->running && c->steps_left > 0);
	if (res < 0 && res != -ECANCELED && c->error == 0)
		c->error = res;
	return --c->steps_left == 0;
}

/* The one completion a finished chain reports. */
static bool finish(struct chain *c, uint8_t kind, struct seg_io_completion *out)
{
	c->running = false;
	c->cleaning = false;
	*out = (struct seg_io_completion){.tag = c->tag, .kind = kind, .result = c->error};
	return true;
}

static bool create_step_done(struct seg_io_uring *u, int number, int32_t res,
                             struct seg_io_completion *out)
{
	struct chain *c = &u->create;
	if (c->cleaning) /* the clean-up's own results change nothing */
		return note(c, 0) ? finish(c, SEG_IO_CREATE, out) : false;
	if (number == CREATE_OPEN_PLAIN && res >= 0)
		c->plain_fd = res;
	if (!note(c, res))
		return false;
	if (c->error == 0 && c->plain_fd >= 0) {
		u->fds[c->slot] = c->plain_fd;
		return finish(c, SEG_IO_CREATE, out);
	}
	if (c->error == 0)
		c->error = -EIO;
	if (submit_clean_up(u))
		return false;
	return finish(c, SEG_IO_CREATE, out); /* no room: reported now, nothing undone */
}

static bool remove_step_done(struct seg_io_uring *u, int number, int32_t res,
                             struct seg_io_completion *out)
{
	struct chain *c = &u->remove;
	if (number == REMOVE_CLOSE && res == 0)
		u->fds[c->slot] = -1; /* both its descriptors are closed */
	return note(c, res) ? finish(c, SEG_IO_REMOVE, out) : false;
}

static bool meta_step_done(struct seg_io_uring *u, int number, int32_t res,
                           struct seg_io_completion *out)
{
	struct chain *c = &u->meta;
	if (number == META_WRITE && res >= 0 && (uint32_t)res != c->length && c->error == 0)
		c->error = -EIO; /* short */
	return note(c, res) ? finish(c, SEG_IO_META, out) : false;
}

/* Folds a chain's steps into its one completion; true when out was filled. */
static bool chain_step_done(struct seg_io_uring *u, uint64_t data, int32_t res,
                            struct seg_io_completion *out)
{
	uint64_t class = data >> CLASS_SHIFT;
	int number = (int)(data & 0xff);
	if (class == CLASS_CREATE)
		return create_step_done(u, number, res, out);
	if (class == CLASS_REMOVE)
		return remove_step_done(u, number, res, out);
	return meta_step_done(u, number, res, out);
}

static int32_t registered_buffer(struct seg_io_uring *u, uint32_t index, const void *buf,
                                 uint32_t length)
{
	if (index >= u->buffer_count)
		return -1;
	const uint8_t *start = u->buffers[index];
	const uint8_t *p = buf;
	return p >= start && p + length <= start + u->buffer_bytes ? (int32_t)index : -1;
}

static int submit_write(struct seg_io *io, int file, uint32_t buffer_index, const void *buf,
                        uint32_t length, uint64_t offset, bool sync, uint64_t tag)
{
	struct seg_io_uring *u = from(io);
	if (io_uring_sq_space_left(&u->ring) < (sync ? 2u : 1u))
		return -EBUSY;
	struct io_uring_sqe *write = io_uring_get_sqe(&u->ring);
	int32_t fixed = registered_buffer(u, buffer_index, buf, length);
	if (fixed >= 0)
		io_uring_prep_write_fixed(write, file, buf, length, offset, fixed);
	else
		io_uring_prep_write(write, file, buf, length, offset);
	write->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(write, tag << 1);
	if (sync) {
		write->flags |= IOSQE_IO_LINK;
		struct io_uring_sqe *fsync = io_uring_get_sqe(&u->ring);
		io_uring_prep_fsync(fsync, file, IORING_FSYNC_DATASYNC);
		fsync->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(fsync, tag << 1 | 1);
	}
	int rc = io_uring_submit(&u->ring);
	return rc < 0 ? rc : 0;
}

static int submit_read(struct seg_io *io, int file, void *buf, uint32_t length,
                       uint64_t offset, uint64_t tag)
{
	struct seg_io_uring *u = from(io);
	assert(tag <= TAG_MASK);
	if (io_uring_sq_space_left(&u->ring) < 1)
		return -EBUSY;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	io_uring_prep_read(sqe, file, buf, length, offset);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, CLASS_READ << CLASS_SHIFT | tag);
	int rc = io_uring_submit(&u->ring);
	return rc < 0 ? rc : 0;
}

static int reap(struct seg_io *io, struct seg_io_completion *out, uint32_t capacity, bool wait)
{
	struct seg_io_uring *u = from(io);
	struct io_uring_cqe *cqe;
	uint32_t count = 0;
	if (wait) {
		int rc = io_uring_wait_cqe(&u->ring, &cqe);
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
	while (count < capacity && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		if (data >> CLASS_SHIFT == CLASS_READ) {
			out[count++] = (struct seg_io_completion){
			    .tag = data & TAG_MASK, .kind = SEG_IO_READ, .result = cqe->res};
			io_uring_cqe_seen(&u->ring, cqe);
			continue;
		}
		if (data >> CLASS_SHIFT != 0) {
			count += chain_step_done(u, data, cqe->res, &out[count]);
			io_uring_cqe_seen(&u->ring, cqe);
			continue;
		}
		out[count++] = (struct seg_io_completion){
		    .tag = data >> 1,
		    .kind = (data & 1) ? SEG_IO_FSYNC : SEG_IO_WRITE,
		    .result = cqe->res,
		};
		io_uring_cqe_seen(&u->ring, cqe);
	}
	return (int)count;
}

static int register_buffers(struct seg_io *io, void *const *buffers, uint32_t count,
                            uint32_t buffer_bytes)
{
	struct seg_io_uring *u = from(io);
	struct iovec iov[64];
	if (count > 64)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		iov[i] = (struct iovec){.iov_base = buffers[i], .iov_len = buffer_bytes};
		u->buffers[i] = buffers[i];
	}
	int rc = io_uring_register_buffers(&u->ring, iov, count);
	if (rc == 0) {
		u->buffer_count = count;
		u->buffer_bytes = buffer_bytes;
	}
	return rc; /* without registration writes still work, unfixed */
}

static void destroy(struct seg_io *io)
{
	struct seg_io_uring *u = from(io);
	for (uint32_t i = 0; i < SEG_SEGMENTS_MAX; i++) {
		if (u->fds[i] >= 0)
			close(u->fds[i]);
	}
	if (u->dir_fd >= 0)
		close(u->dir_fd);
	io_uring_queue_exit(&u->ring);
	free(u);
}

static const struct seg_io_ops uring_ops = {
    .open_file = open_file,
    .close_file = close_file,
    .remove_file = remove_file,
    .list_segments = list_segments,
    .sync_dir = sync_dir,
    .read = read_at,
    .map = map,
    .unmap = unmap,
    .next_data = next_data,
    .prefetch = prefetch,
    .read_meta = read_meta,
    .zero = zero,
    .sync_file = sync_file,
    .submit_write = submit_write,
    .submit_create = submit_create,
    .submit_remove = submit_remove,
    .submit_meta = submit_meta,
    .submit_read = submit_read,
    .reap = reap,
    .register_buffers = register_buffers,
    .destroy = destroy,
};

struct seg_io *seg_io_uring_create(uint32_t entries, int *error_out)
{
	struct seg_io_uring *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	u->base.ops = &uring_ops;
	for (uint32_t i = 0; i < SEG_SEGMENTS_MAX; i++)
		u->fds[i] = -1;
	u->dir_fd = -1;
	int rc = io_uring_queue_init(entries, &u->ring, 0);
	if (rc != 0) {
		free(u);
		*error_out = rc;
		return NULL;
	}
	rc = io_uring_register_files_sparse(&u->ring, SEG_SEGMENTS_MAX + 1);
	if (rc != 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		*error_out = rc;
		return NULL;
	}
	*error_out = 0;
	return &u->base;
}

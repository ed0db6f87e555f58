/*
 * The simulated disk and ring (see seg_io_sim.h). Every choice comes from
 * one seeded generator, so a failing seed replays exactly. Names have their
 * own durability, as in a directory: a file created or unlinked is so for
 * good only after a directory fsync; a crash before it may go either way.
 */
#include "seg_io_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

/* More files than a log keeps open (SEG_SEGMENTS_MAX) plus its spare: a test reaching
 * that limit must meet the log's own check, not the simulator's. */
#define SIM_FILES_MAX   (SEG_SEGMENTS_MAX + 2u)
#define SIM_OPS_MAX     256u
#define SECTOR_BYTES    512u
#define SIM_BLOCK_BYTES 4096u /* what next_data calls a block */

struct sim_file {
	bool exists;       /* its name is in the directory as the process sees it */
	bool durable_name; /* as a crash would leave it: a directory fsync made it so */
	bool reserved;     /* a background creation will make it */
	char path[SEG_PATH_BYTES + 32];
	uint8_t *data;    /* what reads see */
	uint8_t *durable; /* what survives a crash */
	uint64_t size;
};

struct sim_op {
	uint8_t kind;
	bool linked; /* an fsync that runs only if the write before it completed in full */
	bool cancelled;
	bool held; /* its completion waits for seg_io_sim_release */
	int fail_errno;
	int file;
	uint64_t offset;
	uint32_t length;
	uint8_t *copy;
	uint64_t tag;
	uint64_t bytes; /* SEG_IO_CREATE */
	char path[SEG_PATH_BYTES + 32]; /* SEG_IO_CREATE */
	uint8_t *destination;           /* SEG_IO_READ */
};

#define SIM_META_BYTES 65536u

struct seg_io_sim {
	struct seg_io base;
	uint8_t meta[SIM_META_BYTES]; /* the one named file (replaced atomically) */
	long meta_length;             /* -ENOENT when none */
	struct seg_io_sim_faults faults;
	uint64_t rng;
	uint64_t ops_submitted;
	struct seg_io_sim_stats stats;
	struct sim_file files[SIM_FILES_MAX];
	uint32_t files_used; /* slots ever taken: the rest are free, and loops stop here */
	struct sim_op pending[SIM_OPS_MAX];
	uint32_t pending_count;
};

static struct seg_io_sim *from(struct seg_io *io)
{
	return (struct seg_io_sim *)io;
}

static uint64_t next_random(struct seg_io_sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int find(struct seg_io_sim *s, const char *path)
{
	for (uint32_t i = 0; i < s->files_used; i++) {
		if (s->files[i].exists && strcmp(s->files[i].path, path) == 0)
			return (int)i;
	}
	return -1;
}

/* Every call outside submit and reap: what a worker's loop must never make. */
static struct seg_io_sim *sync_call(struct seg_io *io)
{
	from(io)->stats.sync_calls++;
	return from(io);
}

/* The first slot holding no file, not even one a crash could bring back, and not
 * promised to a background creation. */
static int free_slot(struct seg_io_sim *s)
{
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		const struct sim_file *f = &s->files[i];
		if (f->exists || f->durable_name || f->reserved)
			continue;
		if (i >= s->files_used)
			s->files_used = i + 1;
		return (int)i;
	}
	return -EMFILE;
}

/* Makes a file `bytes` long, zeros added; false when out of memory. */
static bool resize(struct sim_file *f, uint64_t bytes)
{
	uint8_t *data = calloc(1, bytes), *durable = calloc(1, bytes);
	if (data != NULL && durable != NULL && f->data != NULL) {
		memcpy(data, f->data, f->size < bytes ? f->size : bytes);
		memcpy(durable, f->durable, f->size < bytes ? f->size : bytes);
	}
	free(f->data);
	free(f->durable);
	f->data = data;
	f->durable = durable;
	f->size = data && durable ? bytes : 0;
	return data && durable;
}

/* A name no longer there, once durably so: its bytes go. */
static void forget(struct sim_file *f)
{
	free(f->data);
	free(f->durable);
	*f = (struct sim_file){0};
}

static int open_file(struct seg_io *io, const char *path, bool create, uint64_t bytes)
{
	struct seg_io_sim *s = sync_call(io);
	int existing = find(s, path);
	/* A file shorter than a segment is a creation cut off before its fallocate:
	 * completed, as the io_uring layer does. */
	if (!create && existing >= 0 && s->files[existing].size < bytes &&
	    !resize(&s->files[existing], bytes))
		return -ENOMEM;
	if (!create)
		return existing >= 0 ? existing : -ENOENT;
	if (existing >= 0)
		return -EEXIST;
	if (s->faults.no_space_for_new_segments)
		return -ENOSPC;
	int slot = free_slot(s);
	if (slot < 0)
		return slot;
	struct sim_file *f = &s->files[slot];
	forget(f);
	f->exists = true; /* the name is durable at the next sync_dir */
	snprintf(f->path, sizeof(f->path), "%s", path);
	return resize(f, bytes) ? slot : -ENOMEM;
}

static int close_file(struct seg_io *io, int file)
{
	sync_call(io);
	return 0;
}

static int remove_file(struct seg_io *io, const char *path)
{
	int i = find(sync_call(io), path);
	if (i < 0)
		return -ENOENT;
	from(io)->files[i].exists = false;
	return 0;
}

static int list_segments(struct seg_io *io, const char *dir, uint32_t *ids, uint32_t capacity)
{
	struct seg_io_sim *s = sync_call(io);
	size_t dir_bytes = strlen(dir);
	int count = 0;
	for (uint32_t i = 0; i < s->files_used && (uint32_t)count < capacity; i++) {
		const char *path = s->files[i].path;
		unsigned id;
		if (s->files[i].exists && strncmp(path, dir, dir_bytes) == 0 &&
		    sscanf(path + dir_bytes, "/%10u", &id) == 1)
			ids[count++] = id;
	}
	return count;
}

/* Every name change so far becomes durable (one log per simulated disk). */
static void names_durable(struct seg_io_sim *s)
{
	for (uint32_t i = 0; i < s->files_used; i++) {
		struct sim_file *f = &s->files[i];
		if (f->exists)
			f->durable_name = true;
		else if (f->durable_name)
			forget(f);
	}
}

static int sync_dir(struct seg_io *io, const char *dir)
{
	names_durable(sync_call(io));
	return 0;
}

static long read_at(struct seg_io *io, int file, void *buf, size_t length, uint64_t offset)
{
	struct sim_file *f = &sync_call(io)->files[file];
	from(io)->stats.reads++;
	if (offset >= f->size)
		return 0;
	size_t n = length < f->size - offset ? length : (size_t)(f->size - offset);
	memcpy(buf, f->data + offset, n);
	return (long)n;
}

static const uint8_t *map(struct seg_io *io, int file, uint64_t bytes, int *error)
{
	struct sim_file *f = &sync_call(io)->files[file];
	*error = bytes <= f->size ? 0 : -EINVAL;
	return *error ? NULL : f->data;
}

static void unmap(struct seg_io *io, const uint8_t *mapped, uint64_t bytes)
{
	sync_call(io);
}

static bool zero_block(const uint8_t *bytes, uint64_t length)
{
	static const uint8_t zeros[SIM_BLOCK_BYTES];
	return memcmp(bytes, zeros, length) == 0; /* length <= SIM_BLOCK_BYTES */
}

/* Like SEEK_DATA and SEEK_HOLE on a filesystem with 4 KiB blocks: a block of zeros is a
 * hole, so recovery's skipping is exercised by every simulated test. */
static bool next_data(struct seg_io *io, int file, uint64_t offset, uint64_t size, uint64_t *start,
                      uint64_t *end)
{
	const struct sim_file *f = &sync_call(io)->files[file];
	uint64_t limit = size < f->size ? size : f->size;
	uint64_t block = offset / SIM_BLOCK_BYTES * SIM_BLOCK_BYTES;
	while (block < limit &&
	       zero_block(f->data + block,
	                  limit - block < SIM_BLOCK_BYTES ? limit - block : SIM_BLOCK_BYTES))
		block += SIM_BLOCK_BYTES;
	if (block >= limit)
		return false;
	*start = block > offset ? block : offset;
	uint64_t hole = block + SIM_BLOCK_BYTES;
	while (hole < limit &&
	       !zero_block(f->data + hole,
	                   limit - hole < SIM_BLOCK_BYTES ? limit - hole : SIM_BLOCK_BYTES))
		hole += SIM_BLOCK_BYTES;
	*end = hole < limit ? hole : limit;
	return true;
}

static void prefetch(struct seg_io *io, int file, uint64_t bytes)
{
	sync_call(io);
}

static long read_meta(struct seg_io *io, const char *dir, const char *name, void *buf,
                      size_t capacity)
{
	struct seg_io_sim *s = sync_call(io);
	if (s->meta_length < 0)
		return s->meta_length;
	size_t n = (size_t)s->meta_length < capacity ? (size_t)s->meta_length : capacity;
	memcpy(buf, s->meta, n);
	return (long)n;
}

static int zero(struct seg_io *io, int file, uint64_t offset, uint64_t length)
{
	struct sim_file *f = &sync_call(io)->files[file];
	memset(f->data + offset, 0, length);
	memcpy(f->durable, f->data, f->size); /* zero() ends with an fdatasync */
	return 0;
}

static int sync_file(struct seg_io *io, int file)
{
	struct sim_file *f = &sync_call(io)->files[file];
	memcpy(f->durable, f->data, f->size);
	return 0;
}

static int queue_op(struct seg_io_sim *s, struct sim_op op)
{
	s->stats.ops++;
	op.fail_errno = ++s->ops_submitted == s->faults.fail_op ? s->faults.fail_errno : 0;
	if (op.fail_errno != 0)
		s->stats.failed_kind = op.kind;
	op.held = s->ops_submitted == s->faults.hold_op;
	s->pending[s->pending_count++] = op;
	return 0;
}

static int submit_write(struct seg_io *io, int file, uint32_t buffer_index, const void *buf,
                        uint32_t length, uint64_t offset, bool sync, uint64_t tag)
{
	struct seg_io_sim *s = from(io);
	if (s->pending_count + 2 > SIM_OPS_MAX)
		return -EBUSY;
	uint8_t *copy = malloc(length);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, buf, length);
	queue_op(s, (struct sim_op){.kind = SEG_IO_WRITE,
	                            .file = file,
	                            .offset = offset,
	                            .length = length,
	                            .copy = copy,
	                            .tag = tag});
	if (sync)
		queue_op(s, (struct sim_op){
		                .kind = SEG_IO_FSYNC, .linked = true, .file = file, .tag = tag});
	return 0;
}

static int submit_create(struct seg_io *io, const char *dir, const char *path, uint64_t bytes,
                         uint64_t tag)
{
	struct seg_io_sim *s = from(io);
	if (s->pending_count + 1 > SIM_OPS_MAX)
		return -EBUSY;
	int slot = free_slot(s);
	if (slot < 0)
		return slot;
	s->files[slot].reserved = true;
	struct sim_op op = {.kind = SEG_IO_CREATE, .file = slot, .bytes = bytes, .tag = tag};
	snprintf(op.path, sizeof(op.path), "%s", path);
	queue_op(s, op);
	return slot;
}

static int submit_remove(struct seg_io *io, const char *dir, const char *path, int file,
                         uint64_t tag)
{
	struct seg_io_sim *s = from(io);
	if (s->pending_count + 1 > SIM_OPS_MAX)
		return -EBUSY;
	if (file < 0 || (uint32_t)file >= s->files_used || !s->files[file].exists ||
	    strcmp(s->files[file].path, path) != 0)
		return -EBADF; /* the log's handle and path must agree */
	queue_op(s, (struct sim_op){.kind = SEG_IO_REMOVE, .file = file, .tag = tag});
	return 0;
}

static int submit_meta(struct seg_io *io, const char *dir, const char *name, const void *bytes,
                       uint32_t length, uint64_t tag)
{
	struct seg_io_sim *s = from(io);
	if (s->pending_count + 1 > SIM_OPS_MAX)
		return -EBUSY;
	if (length > SIM_META_BYTES)
		return -EFBIG;
	uint8_t *copy = malloc(length);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, bytes, length);
	queue_op(s, (struct sim_op){.kind = SEG_IO_META, .length = length, .copy = copy, .tag = tag});
	return 0;
}

static int submit_read(struct seg_io *io, int file, void *buf, uint32_t length,
                       uint64_t offset, uint64_t tag)
{
	struct seg_io_sim *s = from(io);
	if (s->pending_count + 1 > SIM_OPS_MAX)
		return -EBUSY;
	queue_op(s, (struct sim_op){.kind = SEG_IO_READ,
	                            .file = file,
	                            .offset = offset,
	                            .length = length,
	                            .destination = buf,
	                            .tag = tag});
	return 0;
}

/* What the file holds when the read runs, as the kernel would copy it. */
static int32_t perform_read(struct seg_io_sim *s, struct sim_op *op)
{
	const struct sim_file *f = &s->files[op->file];
	if (op->fail_errno)
		return -op->fail_errno;
	if (!f->exists || op->offset >= f->size)
		return f->exists ? 0 : -EBADF;
	uint64_t n = op->length < f->size - op->offset ? op->length : f->size - op->offset;
	memcpy(op->destination, f->data + op->offset, n);
	s->stats.async_reads++;
	return (int32_t)n;
}

/* A segment made in full: open, preallocated, synced, its name durable. An existing
 * file at the path is a leftover the io_uring layer unlinks, failing with -EEXIST. */
static int32_t perform_create(struct seg_io_sim *s, struct sim_op *op)
{
	struct sim_file *f = &s->files[op->file];
	f->reserved = false;
	int existing = find(s, op->path);
	if (existing >= 0) {
		forget(&s->files[existing]);
		return -EEXIST;
	}
	if (op->fail_errno)
		return -op->fail_errno;
	if (s->faults.no_space_for_new_segments)
		return -ENOSPC;
	forget(f);
	memcpy(f->path, op->path, sizeof(f->path)); /* the same size */
	if (!resize(f, op->bytes))
		return -ENOMEM;
	f->exists = f->durable_name = true;
	s->stats.creates++;
	return 0;
}

/* Unlink, then the directory fsync; a failure may come after the unlink. */
static int32_t perform_remove(struct seg_io_sim *s, struct sim_op *op)
{
	struct sim_file *f = &s->files[op->file];
	if (op->fail_errno) {
		if (next_random(s) % 2 == 0)
			f->exists = false; /* unlinked, the fsync failed: a crash decides */
		return -op->fail_errno;
	}
	forget(f);
	s->stats.removes++;
	return 0;
}

static int32_t perform_meta(struct seg_io_sim *s, struct sim_op *op)
{
	if (op->fail_errno)
		return -op->fail_errno;
	memcpy(s->meta, op->copy, op->length);
	s->meta_length = (long)op->length;
	s->stats.metas++;
	return 0;
}

/* Runs one operation; returns its result. */
static int32_t perform(struct seg_io_sim *s, uint32_t index)
{
	struct sim_op *op = &s->pending[index];
	if (op->kind == SEG_IO_CREATE)
		return perform_create(s, op);
	if (op->kind == SEG_IO_REMOVE)
		return perform_remove(s, op);
	if (op->kind == SEG_IO_META)
		return perform_meta(s, op);
	if (op->kind == SEG_IO_READ)
		return perform_read(s, op);
	struct sim_op *linked = index + 1 < s->pending_count && s->pending[index + 1].linked
	                            ? &s->pending[index + 1]
	                            : NULL;
	if (op->kind == SEG_IO_FSYNC) {
		if (op->cancelled)
			return -ECANCELED;
		if (op->fail_errno)
			return -op->fail_errno;
		struct sim_file *f = &s->files[op->file];
		memcpy(f->durable, f->data, f->size);
		s->stats.fsyncs++;
		return 0;
	}
	if (op->fail_errno) {
		if (linked)
			linked->cancelled = true;
		return -op->fail_errno;
	}
	uint32_t n = op->length;
	if (n > 1 && next_random(s) % 100 < s->faults.short_write_percent) {
		n = 1 + (uint32_t)(next_random(s) % (n - 1));
		s->stats.short_writes++;
		if (linked)
			linked->cancelled = true;
	}
	memcpy(s->files[op->file].data + op->offset, op->copy, n);
	s->stats.writes++;
	return (int32_t)n;
}

static void drop(struct seg_io_sim *s, uint32_t index)
{
	free(s->pending[index].copy);
	memmove(&s->pending[index], &s->pending[index + 1],
	        (s->pending_count - index - 1) * sizeof(s->pending[0]));
	s->pending_count--;
}

/* Reordering never lets a linked fsync run before its write; a held operation waits. */
static bool may_run(const struct seg_io_sim *s, uint32_t index)
{
	const struct sim_op *op = &s->pending[index];
	if (op->held)
		return false;
	return !(op->linked && index > 0 && s->pending[index - 1].kind == SEG_IO_WRITE &&
	         s->pending[index - 1].tag == op->tag);
}

static int reap(struct seg_io *io, struct seg_io_completion *out, uint32_t capacity, bool wait)
{
	struct seg_io_sim *s = from(io);
	uint32_t count = 0;
	uint32_t index = 0;
	while (count < capacity && index < s->pending_count) {
		bool now = !s->faults.reorder || next_random(s) % 2 == 0 || (wait && count == 0);
		if (!now || !may_run(s, index)) {
			index++;
			continue;
		}
		int32_t result = perform(s, index);
		out[count++] = (struct seg_io_completion){
		    .tag = s->pending[index].tag,
		    .kind = s->pending[index].kind,
		    .result = result,
		};
		drop(s, index);
	}
	return (int)count;
}

static void destroy(struct seg_io *io)
{
	struct seg_io_sim *s = from(io);
	for (uint32_t i = 0; i < s->files_used; i++) {
		free(s->files[i].data);
		free(s->files[i].durable);
	}
	while (s->pending_count > 0)
		drop(s, s->pending_count - 1);
	free(s);
}

static const struct seg_io_ops sim_ops = {
    .open_file = open_file,
    .close_file = close_file,
    .remove_file = remove_file,
    .list_segments = list_segments,
    .sync_dir = sync_dir,
    .read = read_at,
    .map = map,
    .next_data = next_data,
    .unmap = unmap,
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
    .register_buffers = NULL,
    .destroy = destroy,
};

struct seg_io *seg_io_sim_create(const struct seg_io_sim_faults *faults)
{
	struct seg_io_sim *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->base.ops = &sim_ops;
	s->meta_length = -ENOENT;
	seg_io_sim_set_faults(&s->base, faults);
	return &s->base;
}

void seg_io_sim_set_faults(struct seg_io *io, const struct seg_io_sim_faults *faults)
{
	struct seg_io_sim *s = from(io);
	s->faults = *faults;
	s->rng = faults->seed;
	s->ops_submitted = 0;
}

void seg_io_sim_release(struct seg_io *io)
{
	struct seg_io_sim *s = from(io);
	for (uint32_t i = 0; i < s->pending_count; i++)
		s->pending[i].held = false;
}

struct seg_io_sim_stats seg_io_sim_stats(struct seg_io *io)
{
	return from(io)->stats;
}

static void crash_file(struct seg_io_sim *s, struct sim_file *f)
{
	if (f->size == 0)
		return; /* created, never preallocated */
	for (uint64_t at = 0; at < f->size; at += SECTOR_BYTES) {
		uint64_t n = f->size - at < SECTOR_BYTES ? f->size - at : SECTOR_BYTES;
		if (memcmp(f->data + at, f->durable + at, n) == 0)
			continue;
		uint64_t roll = next_random(s) % 16;
		if (roll < 8)
			memcpy(f->durable + at, f->data + at, n); /* this sector reached the disk */
		else if (roll == 8)
			f->durable[at + next_random(s) % n] ^=
			    0x5a; /* garbled while being written */
	}
	memcpy(f->data, f->durable, f->size);
}

/* An operation the crash cut off: how far it got is the generator's choice. */
static void crash_pending(struct seg_io_sim *s, struct sim_op *op)
{
	uint64_t roll = next_random(s) % 3;
	s->stats.cut_ops[op->kind]++;
	if (op->kind == SEG_IO_WRITE && roll == 0) {
		/* Writes still in flight may have reached the page cache in part. */
		uint32_t n = (uint32_t)(next_random(s) % (op->length + 1));
		memcpy(s->files[op->file].data + op->offset, op->copy, n);
	}
	if (op->kind == SEG_IO_CREATE) {
		struct sim_file *f = &s->files[op->file];
		f->reserved = false;
		if (roll == 0 || find(s, op->path) >= 0)
			return; /* not even opened */
		forget(f);
		memcpy(f->path, op->path, sizeof(f->path)); /* the same size */
		f->exists = true; /* created, name not yet durable */
		if (roll == 2)
			(void)resize(f, op->bytes); /* preallocated too (fails only without memory) */
	}
	if (op->kind == SEG_IO_REMOVE && roll != 0)
		s->files[op->file].exists = false; /* unlinked, the directory not yet synced */
	if (op->kind == SEG_IO_META && roll == 0)
		(void)perform_meta(s, op); /* renamed into place before the cut */
}

/* A name change not yet made durable by a directory fsync reached the disk or not. */
static void crash_name(struct seg_io_sim *s, struct sim_file *f)
{
	if (f->exists != f->durable_name && next_random(s) % 2 == 0)
		f->durable_name = f->exists;
	if (!f->durable_name) {
		s->stats.names_lost += f->exists;
		forget(f);
		return;
	}
	s->stats.names_restored += !f->exists;
	f->exists = true;
	crash_file(s, f);
}

void seg_io_sim_crash(struct seg_io *io)
{
	struct seg_io_sim *s = from(io);
	for (uint32_t i = 0; i < s->pending_count; i++)
		crash_pending(s, &s->pending[i]);
	while (s->pending_count > 0)
		drop(s, s->pending_count - 1);
	for (uint32_t i = 0; i < s->files_used; i++) {
		if (s->files[i].exists || s->files[i].durable_name)
			crash_name(s, &s->files[i]);
	}
}

uint8_t *seg_io_sim_meta_bytes(struct seg_io *io, long *length_out)
{
	*length_out = from(io)->meta_length;
	return from(io)->meta;
}

uint8_t *seg_io_sim_file_bytes(struct seg_io *io, const char *path, uint64_t *size_out)
{
	struct seg_io_sim *s = from(io);
	int i = find(s, path);
	if (i < 0)
		return NULL;
	*size_out = s->files[i].size;
	return s->files[i].data;
}

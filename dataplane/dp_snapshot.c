/*
 * Snapshot parsing, owner and slot assignment, lookup and persistence. The
 * service thread is the only caller; it may allocate and do I/O.
 */
#include "dp_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t hash_bytes(const uint8_t *bytes, size_t count)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < count; i++)
		h = (h ^ bytes[i]) * 1099511628211ull;
	return h;
}

static uint32_t owner_of(uint64_t queue_id, uint32_t worker_count)
{
	uint64_t mixed = queue_id * 0x9e3779b97f4a7c15ull;
	return (uint32_t)((mixed >> 32) % worker_count);
}

bool dp_queue_name_is_valid(const uint8_t *name, size_t name_bytes)
{
	/* SQS: 1-80 characters, alphanumerics, hyphens and underscores. */
	if (name_bytes == 0 || name_bytes > BB_QUEUE_NAME_BYTES_MAX)
		return false;
	for (size_t i = 0; i < name_bytes; i++) {
		uint8_t c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	return true;
}

static enum wire_status fail(char *error, size_t error_bytes, const char *reason,
                             uint32_t queue_position)
{
	snprintf(error, error_bytes, "snapshot queue %u: %s", queue_position, reason);
	return WIRE_ERR_INVALID_PARAMETER;
}

static enum wire_status apply_queue_field(struct dp_queue_entry *q, const struct wire_field *f)
{
	switch (f->tag) {
	case WIRE_TAG_QUEUE_NAME:
		if (!dp_queue_name_is_valid(f->value, f->length))
			return WIRE_ERR_INVALID_PARAMETER;
		memcpy(q->name, f->value, f->length);
		q->name[f->length] = '\0';
		q->name_bytes = f->length;
		return WIRE_OK;
	case WIRE_TAG_QUEUE_ID:
		return wire_field_u64(f, &q->queue_id) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case WIRE_TAG_VISIBILITY_TIMEOUT_S:
		return wire_field_u32(f, &q->visibility_timeout_s) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case WIRE_TAG_WAIT_TIME_S:
		return wire_field_u32(f, &q->receive_wait_time_s) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case WIRE_TAG_MAXIMUM_MESSAGE_BYTES:
		return wire_field_u32(f, &q->maximum_message_bytes) ? WIRE_OK : WIRE_ERR_MALFORMED;
	default: return WIRE_ERR_MALFORMED;
	}
}

static bool queue_is_complete(const struct dp_queue_entry *q)
{
	return q->name_bytes > 0 && q->queue_id != 0 &&
	       q->visibility_timeout_s <= BB_VISIBILITY_TIMEOUT_S_MAX &&
	       q->receive_wait_time_s <= BB_WAIT_TIME_S_MAX && q->maximum_message_bytes >= 1024 &&
	       q->maximum_message_bytes <= BB_MESSAGE_BODY_BYTES_MAX;
}

static enum wire_status index_queue(struct dp_snapshot *s, uint32_t position)
{
	const struct dp_queue_entry *q = &s->queues[position];
	uint32_t i = (uint32_t)(hash_bytes((const uint8_t *)q->name, q->name_bytes) %
	                        DP_SNAPSHOT_INDEX_SLOTS);
	for (uint32_t probes = 0; probes < DP_SNAPSHOT_INDEX_SLOTS; probes++) {
		if (s->index[i] == 0) {
			s->index[i] = position + 1;
			return WIRE_OK;
		}
		const struct dp_queue_entry *other = &s->queues[s->index[i] - 1];
		if (other->name_bytes == q->name_bytes &&
		    memcmp(other->name, q->name, q->name_bytes) == 0)
			return WIRE_ERR_INVALID_PARAMETER; /* duplicate name */
		i = (i + 1) % DP_SNAPSHOT_INDEX_SLOTS;
	}
	return WIRE_ERR_INTERNAL;
}

enum wire_status dp_snapshot_parse(const uint8_t *body, size_t body_bytes, struct dp_snapshot *out,
                                   char *error, size_t error_bytes)
{
	memset(out, 0, sizeof(*out));
	struct wire_reader reader;
	struct wire_field f;
	struct dp_queue_entry *q = NULL;
	int more;
	wire_reader_init(&reader, body, body_bytes);
	while ((more = wire_reader_next(&reader, &f)) == 1) {
		if (f.tag == WIRE_TAG_SNAPSHOT_VERSION && q == NULL) {
			if (!wire_field_u64(&f, &out->version))
				return fail(error, error_bytes, "bad version field", 0);
		} else if (f.tag == WIRE_TAG_QUEUE_BEGIN) {
			if (q != NULL && !queue_is_complete(q))
				return fail(error, error_bytes, "incomplete or out of range",
				            out->queue_count);
			if (out->queue_count == BB_QUEUE_COUNT_MAX)
				return fail(error, error_bytes, "too many queues",
				            out->queue_count);
			q = &out->queues[out->queue_count++];
		} else if (q == NULL || apply_queue_field(q, &f) != WIRE_OK) {
			return fail(error, error_bytes, "unexpected or invalid field",
			            out->queue_count);
		}
	}
	if (more < 0)
		return fail(error, error_bytes, "truncated field", out->queue_count);
	if (q != NULL && !queue_is_complete(q))
		return fail(error, error_bytes, "incomplete or out of range", out->queue_count);
	if (out->version == 0)
		return fail(error, error_bytes, "missing version", 0);
	for (uint32_t i = 0; i < out->queue_count; i++) {
		if (index_queue(out, i) != WIRE_OK)
			return fail(error, error_bytes, "duplicate name", i + 1);
	}
	return WIRE_OK;
}

const struct dp_queue_entry *dp_snapshot_find(const struct dp_snapshot *s, const uint8_t *name,
                                              size_t name_bytes)
{
	uint32_t i = (uint32_t)(hash_bytes(name, name_bytes) % DP_SNAPSHOT_INDEX_SLOTS);
	for (uint32_t probes = 0; probes < DP_SNAPSHOT_INDEX_SLOTS && s->index[i] != 0; probes++) {
		const struct dp_queue_entry *q = &s->queues[s->index[i] - 1];
		if (q->name_bytes == name_bytes && memcmp(q->name, name, name_bytes) == 0)
			return q;
		i = (i + 1) % DP_SNAPSHOT_INDEX_SLOTS;
	}
	return NULL;
}

static const struct dp_queue_entry *find_by_id(const struct dp_snapshot *s, uint64_t queue_id)
{
	for (uint32_t i = 0; s != NULL && i < s->queue_count; i++) {
		if (s->queues[i].queue_id == queue_id)
			return &s->queues[i];
	}
	return NULL;
}

int dp_snapshot_assign(struct dp_snapshot *next, const struct dp_snapshot *previous,
                       uint32_t worker_count)
{
	static bool used[BB_WORKER_COUNT_MAX][BB_QUEUE_SLOTS_PER_WORKER];
	memset(used, 0, sizeof(used));
	/* First pass: queues that existed keep their slots. */
	for (uint32_t i = 0; i < next->queue_count; i++) {
		struct dp_queue_entry *q = &next->queues[i];
		const struct dp_queue_entry *before = find_by_id(previous, q->queue_id);
		q->owner = owner_of(q->queue_id, worker_count);
		q->slot = UINT32_MAX;
		if (before != NULL && before->owner == q->owner) {
			q->slot = before->slot;
			used[q->owner][q->slot] = true;
		}
	}
	for (uint32_t i = 0; i < next->queue_count; i++) {
		struct dp_queue_entry *q = &next->queues[i];
		for (uint32_t slot = 0; q->slot == UINT32_MAX && slot < BB_QUEUE_SLOTS_PER_WORKER;
		     slot++) {
			if (!used[q->owner][slot]) {
				q->slot = slot;
				used[q->owner][slot] = true;
			}
		}
		if (q->slot == UINT32_MAX)
			return -ENOSPC;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *bytes, size_t count)
{
	while (count > 0) {
		ssize_t written = write(fd, bytes, count);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return -errno;
		bytes += written;
		count -= (size_t)written;
	}
	return 0;
}

int dp_snapshot_save(const char *dir, const uint8_t *body, size_t body_bytes)
{
	char path[4096], temporary[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SNAPSHOT_FILE);
	snprintf(temporary, sizeof(temporary), "%s/%s.tmp", dir, DP_SNAPSHOT_FILE);
	int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, body, body_bytes);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(temporary, path) != 0)
		rc = -errno;
	if (rc != 0)
		return rc;
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	rc = fsync(dir_fd) == 0 ? 0 : -errno;
	close(dir_fd);
	return rc;
}

long dp_snapshot_load(const char *dir, uint8_t *buf, size_t capacity)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SNAPSHOT_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t length = 0;
	for (;;) {
		ssize_t got = read(fd, buf + length, capacity - length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || length + (size_t)got == capacity) {
			long rc = got < 0 ? -errno : (got > 0 ? -EFBIG : (long)length);
			close(fd);
			return rc;
		}
		length += (size_t)got;
	}
}

/*
 * A decoded snapshot's name index, owner and slot assignment, lookup and
 * persistence. The service thread is the only caller; it may allocate and do I/O.
 */
#include "dp_snapshot.h"

#include "dp_request.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t hash_bytes(const uint8_t *bytes, size_t count)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < count; i++)
		h = (h ^ bytes[i]) * 1099511628211ull;
	return h;
}

struct parse {
	struct dp_snapshot *snapshot;
	struct dp_routing_builder routing;
	/* Each queue's RedrivePolicy dead-letter queue by name ("": none), by position. */
	char (*dead_letter_names)[BB_QUEUE_NAME_BYTES_MAX + 1];
};

/* Entries arrive in order; the codec has checked each and their count. */
static void add_entry(void *context, const struct bb_snapshot_entry *e)
{
	struct parse *p = context;
	struct dp_snapshot *s = p->snapshot;
	if (e->kind == BB_SNAPSHOT_KIND_KEY) {
		dp_auth_keys_add(&s->keys, &e->key);
		return;
	}
	if (e->kind != BB_SNAPSHOT_KIND_QUEUE) {
		dp_routing_builder_add(&p->routing, e);
		return;
	}
	assert(e->kind == BB_SNAPSHOT_KIND_QUEUE);
	assert(s->queue_count < BB_QUEUE_COUNT_MAX);
	struct dp_queue_entry *q = &s->queues[s->queue_count++];
	*q = (struct dp_queue_entry){
	    .name_bytes = e->queue.name_bytes,
	    .queue_id = e->queue.queue_id,
	    .visibility_timeout_s = e->queue.visibility_timeout_s,
	    .receive_wait_time_s = e->queue.receive_wait_time_s,
	    .maximum_message_bytes = e->queue.maximum_message_bytes,
	    .fifo = (e->queue.flags & BB_SNAPSHOT_QUEUE_FIFO) != 0,
	    .content_based_deduplication = (e->queue.flags & BB_SNAPSHOT_QUEUE_CONTENT_DEDUP) != 0,
	    .dedup_per_group = (e->queue.flags & BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP) != 0,
	    .memory = (e->queue.flags & BB_SNAPSHOT_QUEUE_MEMORY) != 0,
	    .delay_s = e->queue.delay_s,
	    .retention_s = e->queue.retention_s,
	    .dead_letter_queue = DP_ROUTING_NONE, /* resolve_dead_letter_queues finds it */
	    .max_receive_count = e->queue.max_receive_count,
	};
	memcpy(q->name, e->queue.name, sizeof(q->name));
	/* The name waits in the slot the owner fills later: resolved once every queue is in. */
	if (e->queue.dead_letter_queue_bytes > 0) {
		static_assert(sizeof(p->dead_letter_names[0]) == sizeof(e->queue.dead_letter_queue),
		              "a dead-letter queue's name fits");
		memcpy(p->dead_letter_names[s->queue_count - 1], e->queue.dead_letter_queue,
		       sizeof(e->queue.dead_letter_queue));
	}
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

/* A queue's position by name, for the routing's references. */
static uint32_t queue_position(const void *context, const char *name, uint32_t name_bytes)
{
	const struct dp_snapshot *s = context;
	const struct dp_queue_entry *q = dp_snapshot_find(s, (const uint8_t *)name, name_bytes);
	return q == NULL ? DP_ROUTING_NONE : (uint32_t)(q - s->queues);
}

/*
 * Each RedrivePolicy's dead-letter queue as a position. One that is not in the snapshot
 * (deleted since) leaves the queue without a policy: its messages are delivered, not moved.
 */
static void resolve_dead_letter_queues(struct parse *p)
{
	struct dp_snapshot *s = p->snapshot;
	for (uint32_t i = 0; i < s->queue_count; i++) {
		const char *name = p->dead_letter_names[i];
		if (name[0] != '\0')
			s->queues[i].dead_letter_queue = queue_position(s, name, (uint32_t)strlen(name));
		if (s->queues[i].dead_letter_queue == DP_ROUTING_NONE)
			s->queues[i].max_receive_count = 0;
	}
}

static enum wire_status build_routing(struct parse *p, const uint8_t *body, size_t body_bytes,
                                      char *error, size_t error_bytes)
{
	if (p->routing.count == 0 && !p->routing.out_of_memory)
		return WIRE_OK;
	p->snapshot->routing = dp_routing_build(&p->routing, body, body_bytes, queue_position,
	                                        p->snapshot, error, error_bytes);
	return p->snapshot->routing == NULL ? WIRE_ERR_INVALID_PARAMETER : WIRE_OK;
}

enum wire_status dp_snapshot_parse(const uint8_t *body, size_t body_bytes, struct dp_snapshot *out,
                                   char *error, size_t error_bytes)
{
	memset(out, 0, sizeof(*out));
	struct bb_snapshot_header header;
	struct parse p = {.snapshot = out,
	                  .dead_letter_names = calloc(BB_QUEUE_COUNT_MAX,
	                                              sizeof(*p.dead_letter_names))};
	if (p.dead_letter_names == NULL) {
		snprintf(error, error_bytes, "snapshot: out of memory");
		return WIRE_ERR_INTERNAL;
	}
	enum wire_status status =
	    bb_snapshot_decode(body, body_bytes, &header, add_entry, &p, error, error_bytes);
	if (status == WIRE_OK && out->keys.invalid) {
		snprintf(error, error_bytes, "snapshot %s", out->keys.invalid_reason);
		status = WIRE_ERR_INVALID_PARAMETER;
	}
	if (status != WIRE_OK) {
		dp_routing_builder_free(&p.routing);
		free(p.dead_letter_names);
		return status;
	}
	out->version = header.version;
	memcpy(out->store_id, header.store_id, sizeof(out->store_id));
	out->adopt = header.adopt;
	for (uint32_t i = 0; status == WIRE_OK && i < out->queue_count; i++) {
		if (index_queue(out, i) != WIRE_OK) {
			snprintf(error, error_bytes, "snapshot entry %u: duplicate name", i + 1);
			status = WIRE_ERR_INVALID_PARAMETER;
		}
	}
	if (status == WIRE_OK) {
		resolve_dead_letter_queues(&p);
		status = build_routing(&p, body, body_bytes, error, error_bytes);
	}
	dp_routing_builder_free(&p.routing);
	free(p.dead_letter_names);
	return status;
}

void dp_snapshot_release(struct dp_snapshot *s)
{
	dp_routing_free(s->routing);
	s->routing = NULL;
}

struct bb_snapshot_header dp_snapshot_header(const struct dp_snapshot *s)
{
	struct bb_snapshot_header h = {.format = BB_SNAPSHOT_FORMAT, .version = s->version,
	                               .adopt = s->adopt};
	memcpy(h.store_id, s->store_id, sizeof(h.store_id));
	return h;
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

static enum wire_status routing_destination(const struct dp_snapshot *s,
                                            const struct dp_request *req,
                                            struct dp_destination *out, const char **why)
{
	const struct dp_routing *r = s == NULL ? NULL : s->routing;
	if (req->header.opcode == WIRE_OP_PUT_EVENTS) {
		struct dp_bytes name = req->bus_name.present
		                           ? req->bus_name
		                           : (struct dp_bytes){(const uint8_t *)"default", 7, true};
		const struct dp_bus *bus = dp_routing_find_bus(r, name.data, name.length);
		if (bus == NULL) {
			*why = "Event bus does not exist.";
			return WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND;
		}
		*out = (struct dp_destination){.owner = bus->owner,
		                               .resource = (uint32_t)(bus - r->buses),
		                               .id = bus->bus_id};
		return WIRE_OK;
	}
	const struct dp_topic *t =
	    dp_routing_find_topic(r, req->topic_name.data, req->topic_name.length);
	if (t == NULL) {
		*why = "Topic does not exist";
		return WIRE_ERR_SNS_NOT_FOUND;
	}
	*out = (struct dp_destination){
	    .owner = t->owner, .resource = (uint32_t)(t - r->topics), .id = t->topic_id};
	return WIRE_OK;
}

enum wire_status dp_snapshot_destination(const struct dp_snapshot *s, const struct dp_request *req,
                                         struct dp_destination *out, const char **why)
{
	uint8_t opcode = req->header.opcode;
	if (opcode == WIRE_OP_PUBLISH || opcode == WIRE_OP_PUBLISH_BATCH ||
	    opcode == WIRE_OP_PUT_EVENTS)
		return routing_destination(s, req, out, why);
	const struct dp_queue_entry *q =
	    s == NULL ? NULL : dp_snapshot_find(s, req->queue_name.data, req->queue_name.length);
	if (q == NULL) {
		*why = "The specified queue does not exist.";
		return WIRE_ERR_NONEXISTENT_QUEUE;
	}
	*out = (struct dp_destination){.owner = q->owner,
	                               .resource = (uint32_t)(q - s->queues),
	                               .queue_slot = q->slot,
	                               .id = q->queue_id,
	                               .receive_wait_time_s = q->receive_wait_time_s};
	return WIRE_OK;
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
		q->owner = dp_owner_of(q->queue_id, worker_count);
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
	if (next->routing == NULL)
		return 0;
	return dp_routing_assign(next->routing, previous == NULL ? NULL : previous->routing,
	                         worker_count);
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
	/* A temporary file left by an older busbard keeps its mode through O_CREAT. */
	int rc = fchmod(fd, 0600) == 0 ? 0 : -errno;
	if (rc == 0)
		rc = write_all(fd, body, body_bytes);
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

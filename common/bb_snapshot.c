/*
 * The snapshot codec (see bb_snapshot.h). Encoding refuses what decoding would
 * refuse, so busbar-control never sends a snapshot busbard cannot take, and
 * neither side ever cuts a snapshot short: a snapshot names every resource.
 */
#include "bb_snapshot_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FIFO_SUFFIX       ".fifo"
#define FIFO_SUFFIX_BYTES (sizeof(FIFO_SUFFIX) - 1)

bool bb_queue_name_is_fifo(const uint8_t *name, size_t name_bytes)
{
	return name_bytes > FIFO_SUFFIX_BYTES &&
	       memcmp(name + name_bytes - FIFO_SUFFIX_BYTES, FIFO_SUFFIX, FIFO_SUFFIX_BYTES) == 0;
}

bool bb_queue_name_is_valid(const uint8_t *name, size_t name_bytes)
{
	if (name_bytes == 0 || name_bytes > BB_QUEUE_NAME_BYTES_MAX)
		return false;
	if (bb_queue_name_is_fifo(name, name_bytes))
		name_bytes -= FIFO_SUFFIX_BYTES;
	for (size_t i = 0; i < name_bytes; i++) {
		uint8_t c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	return true;
}

/* FIFO exactly when the name says so; content-based deduplication and the high-throughput
 * settings only with it, perMessageGroupId only with the messageGroup scope (as SQS). */
static bool queue_flags_fit(const struct bb_snapshot_queue *q)
{
	bool fifo = (q->flags & BB_SNAPSHOT_QUEUE_FIFO) != 0;
	uint32_t fifo_only = BB_SNAPSHOT_QUEUE_CONTENT_DEDUP | BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP |
	                     BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP;
	bool per_group_dedup = (q->flags & BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP) != 0;
	bool per_group_throughput = (q->flags & BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP) != 0;
	uint32_t known = BB_SNAPSHOT_QUEUE_FIFO | BB_SNAPSHOT_QUEUE_MEMORY | fifo_only;
	return (q->flags & ~known) == 0 && (fifo || (q->flags & fifo_only) == 0) &&
	       (!per_group_throughput || per_group_dedup) &&
	       fifo == bb_queue_name_is_fifo((const uint8_t *)q->name, q->name_bytes);
}

/* DelaySeconds and MessageRetentionPeriod in AWS's ranges. */
static bool queue_timing_fits(const struct bb_snapshot_queue *q)
{
	bool retention_fits = q->retention_s == 0 || (q->retention_s >= WIRE_RETENTION_S_MIN &&
	                                              q->retention_s <= WIRE_RETENTION_S_MAX);
	return retention_fits && q->delay_s <= WIRE_DELAY_S_MAX;
}

/* A RedrivePolicy names another queue of the same type (FIFO or standard), with
 * maxReceiveCount 1-1000; without one the count is 0. */
static bool queue_redrive_fits(const struct bb_snapshot_queue *q)
{
	const uint8_t *dlq = (const uint8_t *)q->dead_letter_queue;
	uint32_t bytes = q->dead_letter_queue_bytes;
	if (bytes == 0)
		return q->max_receive_count == 0;
	bool same_type = bb_queue_name_is_fifo(dlq, bytes) ==
	                 bb_queue_name_is_fifo((const uint8_t *)q->name, q->name_bytes);
	bool itself = bytes == q->name_bytes && memcmp(dlq, q->name, bytes) == 0;
	return bb_queue_name_is_valid(dlq, bytes) && same_type && !itself &&
	       q->max_receive_count >= BB_MAX_RECEIVE_COUNT_MIN &&
	       q->max_receive_count <= BB_MAX_RECEIVE_COUNT_MAX;
}

static bool queue_is_complete(const struct bb_snapshot_queue *q)
{
	return bb_queue_name_is_valid((const uint8_t *)q->name, q->name_bytes) &&
	       q->queue_id != 0 && q->visibility_timeout_s <= BB_VISIBILITY_TIMEOUT_S_MAX &&
	       q->receive_wait_time_s <= BB_WAIT_TIME_S_MAX && q->maximum_message_bytes >= 1024 &&
	       q->maximum_message_bytes <= BB_MESSAGE_BODY_BYTES_MAX && queue_flags_fit(q) &&
	       queue_timing_fits(q) && queue_redrive_fits(q);
}

/* A key's id and secret are required; expiry and policy are not. */
static bool key_is_complete(const struct bb_snapshot_key *k)
{
	bool has_secret = false;
	for (uint32_t i = 0; i < BB_KEY_SECRET_BYTES; i++)
		has_secret |= k->secret[i] != 0;
	return k->key_id != 0 && has_secret && k->policy_bytes <= BB_POLICY_BYTES_MAX;
}

static bool is_zero(const uint8_t *store_id)
{
	for (uint32_t i = 0; i < BB_SNAPSHOT_STORE_ID_BYTES; i++) {
		if (store_id[i] != 0)
			return false;
	}
	return true;
}

/* ---- encoding ---- */

size_t bb_snapshot_bytes_max(uint32_t entry_count)
{
	return BB_SNAPSHOT_HEADER_BYTES_MAX + (size_t)entry_count * BB_SNAPSHOT_QUEUE_BYTES_MAX;
}

size_t bb_snapshot_entry_bytes_max(const struct bb_snapshot_entry *e)
{
	if (e->kind == BB_SNAPSHOT_KIND_QUEUE)
		return BB_SNAPSHOT_QUEUE_BYTES_MAX;
	if (e->kind == BB_SNAPSHOT_KIND_KEY)
		return BB_SNAPSHOT_KEY_BYTES_MAX;
	return bb_snapshot_routing_bytes(e);
}

static void put_queue(struct wire_writer *w, const struct bb_snapshot_queue *q)
{
	wire_put_bytes(w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_bytes(w, WIRE_TAG_QUEUE_NAME, q->name, q->name_bytes);
	wire_put_u64(w, WIRE_TAG_QUEUE_ID, q->queue_id);
	wire_put_u32(w, WIRE_TAG_VISIBILITY_TIMEOUT_S, q->visibility_timeout_s);
	wire_put_u32(w, WIRE_TAG_WAIT_TIME_S, q->receive_wait_time_s);
	wire_put_u32(w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, q->maximum_message_bytes);
	if (q->flags != 0) /* a standard queue's entry reads in a busbard without FIFO */
		wire_put_u32(w, BB_SNAPSHOT_TAG_QUEUE_FLAGS, q->flags);
	if (q->delay_s != 0) /* likewise for a busbard without delays and retention */
		wire_put_u32(w, BB_SNAPSHOT_TAG_QUEUE_DELAY_S, q->delay_s);
	if (q->retention_s != 0)
		wire_put_u32(w, BB_SNAPSHOT_TAG_QUEUE_RETENTION_S, q->retention_s);
	if (q->dead_letter_queue_bytes == 0) /* likewise for a busbard without dead letters */
		return;
	wire_put_bytes(w, BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE, q->dead_letter_queue,
	               q->dead_letter_queue_bytes);
	wire_put_u32(w, BB_SNAPSHOT_TAG_QUEUE_MAX_RECEIVE_COUNT, q->max_receive_count);
}

static void put_key(struct wire_writer *w, const struct bb_snapshot_key *k)
{
	wire_put_bytes(w, BB_SNAPSHOT_TAG_KEY_BEGIN, NULL, 0);
	wire_put_u32(w, BB_SNAPSHOT_TAG_KEY_ID, k->key_id);
	wire_put_bytes(w, BB_SNAPSHOT_TAG_KEY_SECRET, k->secret, BB_KEY_SECRET_BYTES);
	wire_put_u64(w, BB_SNAPSHOT_TAG_KEY_EXPIRES_S, k->expires_s);
	if (k->policy_json != NULL)
		wire_put_bytes(w, BB_SNAPSHOT_TAG_KEY_POLICY, k->policy_json, k->policy_bytes);
}

static bool entry_is_complete(const struct bb_snapshot_entry *e)
{
	if (e->kind == BB_SNAPSHOT_KIND_QUEUE)
		return queue_is_complete(&e->queue);
	if (e->kind == BB_SNAPSHOT_KIND_KEY)
		return key_is_complete(&e->key);
	return bb_snapshot_routing_is_complete(e);
}

/* Each kind within its own limit and the whole within a frame: a snapshot names every
 * resource or is not made. */
static int check_entries(const struct bb_snapshot_entry *entries, uint32_t entry_count)
{
	uint32_t counts[BB_SNAPSHOT_KIND_TARGET + 1] = {0};
	size_t bytes = BB_SNAPSHOT_HEADER_BYTES_MAX;
	for (uint32_t i = 0; i < entry_count; i++) {
		const struct bb_snapshot_entry *e = &entries[i];
		if (!entry_is_complete(e))
			return -EINVAL;
		if (++counts[e->kind] > bb_snapshot_kind_count_max(e->kind))
			return -E2BIG;
		bytes += bb_snapshot_entry_bytes_max(e);
	}
	return bytes > BB_SNAPSHOT_BYTES_MAX ? -E2BIG : 0;
}

int bb_snapshot_encode(const struct bb_snapshot_header *header,
                       const struct bb_snapshot_entry *entries, uint32_t entry_count, uint8_t *buf,
                       size_t capacity, size_t *length)
{
	assert(header != NULL && length != NULL);
	assert(entry_count == 0 || entries != NULL);
	if (header->version == 0)
		return -EINVAL;
	int rc = check_entries(entries, entry_count);
	if (rc != 0)
		return rc;
	struct wire_writer w;
	wire_writer_init(&w, buf, capacity);
	wire_put_u32(&w, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT);
	if (!is_zero(header->store_id))
		wire_put_bytes(&w, BB_SNAPSHOT_TAG_STORE_ID, header->store_id,
		               BB_SNAPSHOT_STORE_ID_BYTES);
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, header->version);
	if (header->adopt)
		wire_put_bytes(&w, BB_SNAPSHOT_TAG_ADOPT, NULL, 0);
	for (uint32_t i = 0; i < entry_count; i++) {
		if (entries[i].kind == BB_SNAPSHOT_KIND_KEY)
			put_key(&w, &entries[i].key);
		else if (entries[i].kind == BB_SNAPSHOT_KIND_QUEUE)
			put_queue(&w, &entries[i].queue);
		else
			bb_snapshot_routing_put(&w, &entries[i]);
	}
	if (w.overflow)
		return -ENOBUFS;
	*length = w.length;
	return 0;
}

/* ---- decoding ---- */

struct decoder {
	struct bb_snapshot_header *header;
	bb_snapshot_entry_fn on_entry;
	void *context;
	char *error;
	size_t error_bytes;
	struct bb_snapshot_entry entry;
	bool in_entry;        /* entry holds the fields read since its begin field */
	uint32_t entry_count; /* begun so far */
	uint32_t counts[BB_SNAPSHOT_KIND_TARGET + 1]; /* entries of each kind */
	uint32_t key_tags_seen; /* bit (tag - KEY_BEGIN) per field: none twice */
	uint64_t routing_fields_seen; /* bb_snapshot_routing_field's: none twice */
};

static enum wire_status fail(struct decoder *d, const char *reason)
{
	snprintf(d->error, d->error_bytes, "snapshot entry %u: %s", d->entry_count, reason);
	return WIRE_ERR_INVALID_PARAMETER;
}

static enum wire_status apply_queue_field(struct bb_snapshot_queue *q, const struct wire_field *f)
{
	switch (f->tag) {
	case WIRE_TAG_QUEUE_NAME:
		if (!bb_queue_name_is_valid(f->value, f->length))
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
	case BB_SNAPSHOT_TAG_QUEUE_FLAGS:
		return wire_field_u32(f, &q->flags) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case BB_SNAPSHOT_TAG_QUEUE_DELAY_S:
		return wire_field_u32(f, &q->delay_s) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case BB_SNAPSHOT_TAG_QUEUE_RETENTION_S:
		return wire_field_u32(f, &q->retention_s) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE:
		if (q->dead_letter_queue_bytes != 0 || f->length == 0 ||
		    f->length > BB_QUEUE_NAME_BYTES_MAX)
			return WIRE_ERR_MALFORMED;
		memcpy(q->dead_letter_queue, f->value, f->length);
		q->dead_letter_queue[f->length] = '\0';
		q->dead_letter_queue_bytes = f->length;
		return WIRE_OK;
	case BB_SNAPSHOT_TAG_QUEUE_MAX_RECEIVE_COUNT:
		return wire_field_u32(f, &q->max_receive_count) ? WIRE_OK : WIRE_ERR_MALFORMED;
	default: return WIRE_ERR_MALFORMED;
	}
}

static enum wire_status apply_key_field(struct decoder *d, const struct wire_field *f)
{
	struct bb_snapshot_key *k = &d->entry.key;
	uint32_t bit = 1u << ((f->tag - BB_SNAPSHOT_TAG_KEY_BEGIN) & 31);
	if (f->tag <= BB_SNAPSHOT_TAG_KEY_BEGIN || f->tag > BB_SNAPSHOT_TAG_KEY_POLICY ||
	    (d->key_tags_seen & bit) != 0)
		return WIRE_ERR_MALFORMED;
	d->key_tags_seen |= bit;
	switch (f->tag) {
	case BB_SNAPSHOT_TAG_KEY_ID:
		return wire_field_u32(f, &k->key_id) ? WIRE_OK : WIRE_ERR_MALFORMED;
	case BB_SNAPSHOT_TAG_KEY_SECRET:
		if (f->length != BB_KEY_SECRET_BYTES)
			return WIRE_ERR_MALFORMED;
		memcpy(k->secret, f->value, BB_KEY_SECRET_BYTES);
		return WIRE_OK;
	case BB_SNAPSHOT_TAG_KEY_EXPIRES_S:
		return wire_field_u64(f, &k->expires_s) ? WIRE_OK : WIRE_ERR_MALFORMED;
	default:
		if (f->length > BB_POLICY_BYTES_MAX)
			return WIRE_ERR_MALFORMED;
		k->policy_json = (const char *)f->value;
		k->policy_bytes = f->length;
		return WIRE_OK;
	}
}

/* Hands the entry read so far to the caller once it is known to be whole. */
static enum wire_status finish_entry(struct decoder *d)
{
	if (!d->in_entry)
		return WIRE_OK;
	if (!entry_is_complete(&d->entry))
		return fail(d, "incomplete or out of range");
	d->on_entry(d->context, &d->entry);
	d->in_entry = false;
	return WIRE_OK;
}

static enum wire_status begin_entry(struct decoder *d, enum bb_snapshot_kind kind)
{
	enum wire_status status = finish_entry(d);
	if (status != WIRE_OK)
		return status;
	if (d->counts[kind] == bb_snapshot_kind_count_max(kind))
		return fail(d, "too many entries of its kind");
	d->counts[kind]++;
	d->key_tags_seen = 0;
	d->routing_fields_seen = 0;
	d->entry = (struct bb_snapshot_entry){.kind = kind};
	d->in_entry = true;
	d->entry_count++;
	return WIRE_OK;
}

static enum wire_status decode_field(struct decoder *d, const struct wire_field *f)
{
	if (f->tag == WIRE_TAG_QUEUE_BEGIN)
		return begin_entry(d, BB_SNAPSHOT_KIND_QUEUE);
	bool format_2 = d->header->format == BB_SNAPSHOT_FORMAT;
	enum bb_snapshot_kind routing;
	if (f->tag == BB_SNAPSHOT_TAG_KEY_BEGIN && format_2)
		return begin_entry(d, BB_SNAPSHOT_KIND_KEY);
	if (format_2 && bb_snapshot_routing_begins(f->tag, &routing))
		return begin_entry(d, routing);
	if (d->in_entry && bb_snapshot_kind_is_routing(d->entry.kind)) {
		if (bb_snapshot_routing_field(&d->entry, f, &d->routing_fields_seen) != WIRE_OK)
			return fail(d, "unexpected or invalid field");
		return WIRE_OK;
	}
	if (d->in_entry && d->entry.kind == BB_SNAPSHOT_KIND_KEY) {
		if (apply_key_field(d, f) != WIRE_OK)
			return fail(d, "unexpected or invalid key field");
		return WIRE_OK;
	}
	if (d->in_entry) {
		if (apply_queue_field(&d->entry.queue, f) != WIRE_OK)
			return fail(d, "unexpected or invalid field");
		return WIRE_OK;
	}
	if (f->tag == WIRE_TAG_SNAPSHOT_VERSION && d->header->version == 0) {
		if (!wire_field_u64(f, &d->header->version) || d->header->version == 0)
			return fail(d, "bad version field");
		return WIRE_OK;
	}
	if (format_2 && f->tag == BB_SNAPSHOT_TAG_STORE_ID && is_zero(d->header->store_id) &&
	    f->length == BB_SNAPSHOT_STORE_ID_BYTES && !is_zero(f->value)) {
		memcpy(d->header->store_id, f->value, BB_SNAPSHOT_STORE_ID_BYTES);
		return WIRE_OK;
	}
	if (format_2 && f->tag == BB_SNAPSHOT_TAG_ADOPT && !d->header->adopt && f->length == 0) {
		d->header->adopt = true;
		return WIRE_OK;
	}
	return fail(d, "unexpected or invalid field");
}

/*
 * A body that opens with FORMAT says which format follows; one that does not is
 * format 1, whose fields format 2 keeps, so snapshots stored by an earlier
 * busbard still load.
 */
static enum wire_status decode_format(struct decoder *d, struct wire_reader *reader)
{
	struct wire_reader start = *reader;
	struct wire_field f;
	if (wire_reader_next(reader, &f) != 1 || f.tag != BB_SNAPSHOT_TAG_FORMAT) {
		*reader = start;
		d->header->format = 1;
		return WIRE_OK;
	}
	if (!wire_field_u32(&f, &d->header->format) || d->header->format != BB_SNAPSHOT_FORMAT) {
		snprintf(d->error, d->error_bytes, "snapshot format %u; this busbar reads 1 and %u",
		         d->header->format, BB_SNAPSHOT_FORMAT);
		return WIRE_ERR_INVALID_PARAMETER;
	}
	return WIRE_OK;
}

enum wire_status bb_snapshot_decode(const uint8_t *body, size_t body_bytes,
                                    struct bb_snapshot_header *header,
                                    bb_snapshot_entry_fn on_entry, void *context, char *error,
                                    size_t error_bytes)
{
	assert(header != NULL && on_entry != NULL);
	memset(header, 0, sizeof(*header));
	struct decoder d = {.header = header,
	                    .on_entry = on_entry,
	                    .context = context,
	                    .error = error,
	                    .error_bytes = error_bytes};
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, body, body_bytes);
	enum wire_status status = decode_format(&d, &reader);
	int more = 0;
	while (status == WIRE_OK && (more = wire_reader_next(&reader, &f)) == 1)
		status = decode_field(&d, &f);
	if (status != WIRE_OK)
		return status;
	if (more < 0)
		return fail(&d, "truncated field");
	status = finish_entry(&d);
	if (status == WIRE_OK && header->version == 0)
		return fail(&d, "missing version");
	return status;
}

/* ---- which snapshot busbard takes ---- */

enum bb_snapshot_verdict bb_snapshot_decide(const struct bb_snapshot_header *applied,
                                            const struct bb_snapshot_header *offered)
{
	assert(offered != NULL);
	if (applied == NULL)
		return BB_SNAPSHOT_ACCEPT;
	bool same_store = is_zero(applied->store_id) || memcmp(applied->store_id, offered->store_id,
	                                                       BB_SNAPSHOT_STORE_ID_BYTES) == 0;
	if (!same_store)
		return offered->adopt ? BB_SNAPSHOT_ACCEPT : BB_SNAPSHOT_REFUSE_OTHER_STORE;
	return offered->version >= applied->version ? BB_SNAPSHOT_ACCEPT : BB_SNAPSHOT_REFUSE_OLDER;
}

void bb_snapshot_store_id_text(const uint8_t *store_id, char out[BB_SNAPSHOT_STORE_ID_TEXT_BYTES])
{
	static const char digits[] = "0123456789abcdef";
	for (uint32_t i = 0; i < BB_SNAPSHOT_STORE_ID_BYTES; i++) {
		out[2 * i] = digits[store_id[i] >> 4];
		out[2 * i + 1] = digits[store_id[i] & 15];
	}
	out[2 * BB_SNAPSHOT_STORE_ID_BYTES] = '\0';
}

void bb_snapshot_describe_refusal(const struct bb_snapshot_refusal *r,
                                  const struct bb_snapshot_header *offered, char *out,
                                  size_t out_bytes)
{
	assert(r->verdict != BB_SNAPSHOT_ACCEPT);
	char applied_id[BB_SNAPSHOT_STORE_ID_TEXT_BYTES],
	    offered_id[BB_SNAPSHOT_STORE_ID_TEXT_BYTES];
	bb_snapshot_store_id_text(r->store_id, applied_id);
	bb_snapshot_store_id_text(offered->store_id, offered_id);
	if (r->verdict == BB_SNAPSHOT_REFUSE_OLDER)
		snprintf(
		    out, out_bytes,
		    "snapshot %llu of store %s is older than the applied %llu of the same store "
		    "(a restored backup?): applying it would undo the changes since",
		    (unsigned long long)offered->version, offered_id,
		    (unsigned long long)r->version);
	else
		snprintf(
		    out, out_bytes,
		    "busbard runs store %s at version %llu, this snapshot (version %llu) is of "
		    "store %s (a new or another database): applying it would delete every queue "
		    "it lacks, with the messages",
		    applied_id, (unsigned long long)r->version,
		    (unsigned long long)offered->version, offered_id);
}

void bb_snapshot_put_refusal(struct wire_writer *w, const struct bb_snapshot_refusal *r)
{
	assert(r->verdict != BB_SNAPSHOT_ACCEPT);
	wire_put_u32(w, BB_SNAPSHOT_TAG_REFUSAL, (uint32_t)r->verdict);
	wire_put_bytes(w, BB_SNAPSHOT_TAG_STORE_ID, r->store_id, BB_SNAPSHOT_STORE_ID_BYTES);
	wire_put_u64(w, WIRE_TAG_SNAPSHOT_VERSION, r->version);
}

bool bb_snapshot_read_refusal(const uint8_t *body, size_t body_bytes,
                              struct bb_snapshot_refusal *out)
{
	struct wire_reader reader;
	struct wire_field f;
	uint32_t verdict = BB_SNAPSHOT_ACCEPT;
	memset(out, 0, sizeof(*out));
	wire_reader_init(&reader, body, body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == BB_SNAPSHOT_TAG_REFUSAL && !wire_field_u32(&f, &verdict))
			return false;
		if (f.tag == BB_SNAPSHOT_TAG_STORE_ID && f.length == BB_SNAPSHOT_STORE_ID_BYTES)
			memcpy(out->store_id, f.value, BB_SNAPSHOT_STORE_ID_BYTES);
		if (f.tag == WIRE_TAG_SNAPSHOT_VERSION && !wire_field_u64(&f, &out->version))
			return false;
	}
	if (verdict != BB_SNAPSHOT_REFUSE_OLDER && verdict != BB_SNAPSHOT_REFUSE_OTHER_STORE)
		return false;
	out->verdict = (enum bb_snapshot_verdict)verdict;
	return true;
}

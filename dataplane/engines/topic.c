/*
 * The topic engine's publish path (topic.h): SNS's checks of a Publish, FIFO deduplication
 * and sequence numbers, message ids, the PUBLISH record, and recovery of the FIFO state.
 * Invariants: the dedup ring holds entries in the order their windows end (publish order;
 * replay gives them in log order), every live entry is in the index exactly once, and a
 * topic's sequence number only grows. Nothing here allocates after topic_engine_create.
 */
#include "topic.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bb_endian.h"
#include "bb_utf8.h"
#include "sqs.h"
#include "topic_int.h"

#define RANDOM_BATCH_BYTES 4096u /* 256 message ids per RAND_bytes call */
#define INDEX_EMPTY        UINT32_MAX

struct topic_slot {
	bool open;
	struct topic_config config;
	uint64_t sequence_last;
};

/* A FIFO publish whose deduplication window is open. topic_id 0: ended (closed topic). */
struct topic_dedup {
	uint64_t topic_id;
	uint8_t key[TOPIC_DEDUP_KEY_BYTES];
	uint8_t message_id[16];
	uint64_t sequence_number;
	uint64_t log_sequence;
	uint64_t ends_ms;
};

struct topic_engine {
	struct topic_engine_options options;
	struct topic_slot *slots;
	struct topic_dedup *ring; /* dedup_slots entries, oldest at head */
	uint32_t ring_head;
	uint32_t ring_used;
	uint32_t live;
	uint32_t *index; /* open addressing over ring positions, index_mask + 1 places */
	uint32_t index_mask;
	uint64_t salt; /* random: ids a client picks cannot aim at one place of the index */
	uint8_t random_bytes[RANDOM_BATCH_BYTES];
	uint32_t random_used;
	EVP_MD_CTX *md_ctx; /* EVP allocates only here, in create */
	EVP_MD *sha256;
};

struct topic_engine *topic_engine_create(const struct topic_engine_options *o, int *error_out)
{
	assert(o->topic_slots >= 1 && o->topic_slots <= BB_TOPIC_SLOTS_PER_WORKER);
	assert(o->dedup_slots <= BB_TOPIC_DEDUP_PER_WORKER);
	struct topic_engine *e = calloc(1, sizeof(*e));
	uint32_t places = 2;
	while (places < 2 * o->dedup_slots)
		places *= 2;
	if (e != NULL) {
		e->options = *o;
		e->slots = calloc(o->topic_slots, sizeof(*e->slots));
		e->ring = calloc(o->dedup_slots + 1, sizeof(*e->ring));
		e->index = malloc(places * sizeof(*e->index));
		e->index_mask = places - 1;
		e->md_ctx = EVP_MD_CTX_new();
		e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		e->random_used = RANDOM_BATCH_BYTES;
	}
	bool ok = e != NULL && e->slots && e->ring && e->index && e->md_ctx && e->sha256 &&
	          RAND_bytes((uint8_t *)&e->salt, sizeof(e->salt)) == 1;
	if (!ok) {
		topic_engine_destroy(e);
		*error_out = -ENOMEM;
		return NULL;
	}
	memset(e->index, 0xFF, places * sizeof(*e->index));
	return e;
}

void topic_engine_destroy(struct topic_engine *e)
{
	if (e == NULL)
		return;
	EVP_MD_free(e->sha256);
	EVP_MD_CTX_free(e->md_ctx);
	free(e->index);
	free(e->ring);
	free(e->slots);
	free(e);
}

int topic_open(struct topic_engine *e, uint32_t slot, const struct topic_config *config)
{
	assert(slot < e->options.topic_slots);
	assert(config->topic_id != 0);
	bool needs_log = config->durable && e->options.log.append == NULL;
	bool needs_dedup = config->fifo && e->options.dedup_slots == 0;
	if (needs_log || needs_dedup)
		return -EINVAL;
	struct topic_slot *s = &e->slots[slot];
	if (s->open && s->config.topic_id != config->topic_id)
		topic_close(e, slot);
	if (!s->open)
		s->sequence_last = 0;
	s->open = true;
	s->config = *config;
	return 0;
}

/* ---- The dedup index: linear probing with backward-shift deletion. ---- */

static uint32_t home_of(const struct topic_engine *e, uint64_t topic_id, const uint8_t *key)
{
	uint64_t h = (bb_get_le64(key) ^ e->salt ^ topic_id) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32) & e->index_mask;
}

/* The index place holding the entry, or INDEX_EMPTY. */
static uint32_t index_find(const struct topic_engine *e, uint64_t topic_id, const uint8_t *key)
{
	uint32_t at = home_of(e, topic_id, key);
	for (uint32_t probes = 0; probes <= e->index_mask; probes++) {
		uint32_t pos = e->index[at];
		if (pos == INDEX_EMPTY)
			return INDEX_EMPTY;
		const struct topic_dedup *d = &e->ring[pos];
		if (d->topic_id == topic_id && memcmp(d->key, key, TOPIC_DEDUP_KEY_BYTES) == 0)
			return at;
		at = (at + 1) & e->index_mask;
	}
	return INDEX_EMPTY;
}

static void index_insert(struct topic_engine *e, uint32_t ring_pos)
{
	const struct topic_dedup *d = &e->ring[ring_pos];
	uint32_t at = home_of(e, d->topic_id, d->key);
	while (e->index[at] != INDEX_EMPTY)
		at = (at + 1) & e->index_mask; /* the index has twice the places: one is free */
	e->index[at] = ring_pos;
}

static void index_remove(struct topic_engine *e, uint32_t at)
{
	assert(e->index[at] != INDEX_EMPTY);
	uint32_t hole = at;
	uint32_t next = (at + 1) & e->index_mask;
	while (e->index[next] != INDEX_EMPTY) {
		const struct topic_dedup *d = &e->ring[e->index[next]];
		uint32_t home = home_of(e, d->topic_id, d->key);
		/* Moves next into the hole unless its home lies cyclically in (hole, next]. */
		bool stays = hole <= next ? (home > hole && home <= next)
		                          : (home > hole || home <= next);
		if (!stays) {
			e->index[hole] = e->index[next];
			hole = next;
		}
		next = (next + 1) & e->index_mask;
	}
	e->index[hole] = INDEX_EMPTY;
}

static void dedup_end(struct topic_engine *e, struct topic_dedup *d)
{
	if (d->topic_id == 0)
		return;
	uint32_t at = index_find(e, d->topic_id, d->key);
	assert(at != INDEX_EMPTY);
	index_remove(e, at);
	d->topic_id = 0;
	e->live--;
}

void topic_close(struct topic_engine *e, uint32_t slot)
{
	assert(slot < e->options.topic_slots);
	struct topic_slot *s = &e->slots[slot];
	if (!s->open)
		return;
	uint32_t ring_places = e->options.dedup_slots + 1;
	for (uint32_t k = 0; k < e->ring_used; k++) {
		struct topic_dedup *d = &e->ring[(e->ring_head + k) % ring_places];
		if (d->topic_id == s->config.topic_id)
			dedup_end(e, d);
	}
	s->open = false;
}

uint32_t topic_expire(struct topic_engine *e, uint64_t now_ms)
{
	uint32_t ended = 0;
	uint32_t ring_places = e->options.dedup_slots + 1;
	while (e->ring_used > 0) {
		struct topic_dedup *d = &e->ring[e->ring_head];
		if (d->topic_id != 0 && d->ends_ms > now_ms)
			break;
		if (d->topic_id != 0)
			ended++;
		dedup_end(e, d);
		e->ring_head = (e->ring_head + 1) % ring_places;
		e->ring_used--;
	}
	assert(e->live <= e->ring_used);
	return ended;
}

uint32_t topic_dedup_count(const struct topic_engine *e)
{
	return e->live;
}

uint64_t topic_sequence_last(const struct topic_engine *e, uint32_t slot)
{
	assert(slot < e->options.topic_slots);
	return e->slots[slot].sequence_last;
}

/* Takes a ring place for a new window: -ENOSPC when every place holds an open one. */
static int dedup_add(struct topic_engine *e, const struct topic_dedup *entry)
{
	uint32_t ring_places = e->options.dedup_slots + 1;
	if (e->ring_used == e->options.dedup_slots)
		return -ENOSPC;
	uint32_t pos = (e->ring_head + e->ring_used) % ring_places;
	e->ring[pos] = *entry;
	e->ring_used++;
	e->live++;
	index_insert(e, pos);
	return 0;
}

/* ---- Checks. ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static bool starts_with_ci(const char *s, uint32_t bytes, const char *prefix)
{
	size_t n = strlen(prefix);
	return bytes >= n && strncasecmp(s, prefix, n) == 0;
}

/* An attribute name as SNS and SQS allow it: NULL, or why not. */
static const char *name_problem(const char *name, uint32_t bytes)
{
	if (bytes == 0 || bytes > BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX)
		return "Message attribute name must be 1-256 characters long";
	for (uint32_t i = 0; i < bytes; i++) {
		if (!name_char(name[i]))
			return "Message attribute name can only contain A-Z, a-z, 0-9, '_', '-' and "
			       "'.'";
		if (name[i] == '.' && i + 1 < bytes && name[i + 1] == '.')
			return "Message attribute name must not contain successive periods";
	}
	if (name[0] == '.' || name[bytes - 1] == '.')
		return "Message attribute name must not start or end with a period";
	if (starts_with_ci(name, bytes, "AWS.") || starts_with_ci(name, bytes, "Amazon."))
		return "Message attribute name must not start with AWS. or Amazon. (reserved)";
	return NULL;
}

enum attribute_base { BASE_STRING, BASE_NUMBER, BASE_BINARY, BASE_STRING_ARRAY, BASE_NONE };

/* The base type of a DataType ("Number.price" is a Number), BASE_NONE when not one. */
static enum attribute_base base_of(const char *type, uint32_t bytes)
{
	static const char *const bases[] = {"String", "Number", "Binary", "String.Array"};
	if (bytes == 0 || bytes > BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX)
		return BASE_NONE;
	/* The longest base first: "String.Array" is also "String" with a label. */
	for (int b = BASE_STRING_ARRAY; b >= BASE_STRING; b--) {
		size_t n = strlen(bases[b]);
		if (bytes < n || memcmp(type, bases[b], n) != 0)
			continue;
		if (bytes == n)
			return (enum attribute_base)b;
		if (type[n] != '.' || bytes == n + 1)
			continue;
		for (uint32_t i = (uint32_t)n + 1; i < bytes; i++) {
			if (!name_char(type[i]))
				return BASE_NONE;
		}
		return (enum attribute_base)b;
	}
	return BASE_NONE;
}

static const char *value_problem(const struct topic_attribute *a)
{
	enum attribute_base base = base_of(a->type, a->type_bytes);
	if (base == BASE_NONE)
		return "Message attribute type must be String, Number, Binary or String.Array, "
		       "with an optional .label";
	if (a->value_bytes == 0)
		return "Message attribute must contain a non-empty value";
	if (base != BASE_BINARY && !bb_utf8_is_sqs_text(a->value, a->value_bytes))
		return "Message attribute value contains a character that is not allowed";
	if (base == BASE_NUMBER && !topic_json_number_valid(a->value, a->value_bytes))
		return "Message attribute of type Number must be a valid number";
	if (base == BASE_STRING_ARRAY && !topic_json_flat_array_valid(a->value, a->value_bytes))
		return "Message attribute of type String.Array must be a JSON array of strings, "
		       "numbers, true, false or null";
	return NULL;
}

static const char *attributes_problem(const struct topic_publish *p)
{
	if (p->attribute_count > BB_TOPIC_ATTRIBUTES_MAX)
		return "Number of message attributes exceeds the allowed maximum [10]";
	for (uint32_t i = 0; i < p->attribute_count; i++) {
		const struct topic_attribute *a = &p->attributes[i];
		const char *why = name_problem(a->name, a->name_bytes);
		why = why ? why : value_problem(a);
		if (why != NULL)
			return why;
		for (uint32_t j = 0; j < i; j++) {
			const struct topic_attribute *b = &p->attributes[j];
			if (b->name_bytes == a->name_bytes &&
			    memcmp(b->name, a->name, a->name_bytes) == 0)
				return "Message attribute name is given more than once";
		}
	}
	return NULL;
}

/* The bytes SNS counts against the 256 KiB: the message and each attribute's parts. */
static uint64_t publish_bytes(const struct topic_publish *p)
{
	uint64_t bytes = p->message_bytes;
	uint32_t count = p->attribute_count <= BB_TOPIC_ATTRIBUTES_MAX ? p->attribute_count
	                                                               : BB_TOPIC_ATTRIBUTES_MAX;
	for (uint32_t i = 0; i < count; i++) {
		const struct topic_attribute *a = &p->attributes[i];
		bytes += (uint64_t)a->name_bytes + a->type_bytes + a->value_bytes;
	}
	return bytes;
}

static bool subject_valid(const char *s, uint32_t bytes)
{
	if (bytes == 0 || bytes > BB_TOPIC_SUBJECT_BYTES_MAX || s[0] == ' ')
		return false;
	for (uint32_t i = 0; i < bytes; i++) {
		if (s[i] < 0x20 || s[i] > 0x7E)
			return false;
	}
	return true;
}

static const char *structure_problem(const struct topic_publish *p)
{
	const uint8_t *literal;
	size_t literal_bytes;
	int rc = topic_json_structure_find(p->message, p->message_bytes, "default", &literal,
	                                   &literal_bytes);
	if (rc == -ENOENT)
		return "Invalid parameter: Message Structure - No default entry in JSON message body";
	if (rc != 0)
		return "Invalid parameter: Message Structure - JSON message body failed to parse";
	return NULL;
}

static const char *fifo_problem(const struct topic_publish *p, bool fifo, bool content_based)
{
	if (!fifo && p->group_id_bytes > 0)
		return "Invalid parameter: MessageGroupId Reason: The request includes "
		       "MessageGroupId parameter that is not valid for this topic type";
	if (!fifo && p->dedup_id_bytes > 0)
		return "Invalid parameter: MessageDeduplicationId Reason: The request includes "
		       "MessageDeduplicationId parameter that is not valid for this topic type";
	if (!fifo)
		return NULL;
	if (p->group_id_bytes == 0)
		return "Invalid parameter: The MessageGroupId parameter is required for FIFO topics";
	if (!sqs_fifo_id_is_valid(p->group_id, p->group_id_bytes))
		return "Invalid parameter: MessageGroupId Reason: it must be 1-128 characters of "
		       "a-z, A-Z, 0-9 and punctuation";
	if (p->dedup_id_bytes > 0 && !sqs_fifo_id_is_valid(p->dedup_id, p->dedup_id_bytes))
		return "Invalid parameter: MessageDeduplicationId Reason: it must be 1-128 "
		       "characters of a-z, A-Z, 0-9 and punctuation";
	if (p->dedup_id_bytes == 0 && !content_based)
		return "Invalid parameter: The topic should either have ContentBasedDeduplication "
		       "enabled or MessageDeduplicationId provided explicitly";
	return NULL;
}

enum wire_status topic_check_publish(const struct topic_publish *p, bool fifo, bool content_based,
                                     const char **text_out)
{
	assert(p->message != NULL || p->message_bytes == 0);
	const char *why = NULL;
	if (p->message_bytes == 0)
		why = "Invalid parameter: Empty message";
	else if (publish_bytes(p) > BB_TOPIC_MESSAGE_BYTES_MAX)
		why = "Invalid parameter: Message too long";
	else if (!bb_utf8_is_sqs_text(p->message, p->message_bytes))
		why = "Invalid parameter: Message contains a character that is not allowed";
	else if (p->subject != NULL && !subject_valid(p->subject, p->subject_bytes))
		why = "Invalid parameter: Subject must be 1-100 characters of printable ASCII, not "
		      "starting with a blank";
	else if (p->message_structure_json)
		why = structure_problem(p);
	if (why == NULL)
		why = fifo_problem(p, fifo, content_based);
	if (why != NULL) {
		*text_out = why;
		return TOPIC_ERR_INVALID_PARAMETER;
	}
	why = attributes_problem(p);
	*text_out = why ? why : "";
	return why ? TOPIC_ERR_INVALID_PARAMETER_VALUE : WIRE_OK;
}

/* ---- Publish. ---- */

static void sha256_of(struct topic_engine *e, const void *bytes, size_t count,
                      uint8_t out[TOPIC_DEDUP_KEY_BYTES])
{
	unsigned int length = 0;
	int ok = EVP_DigestInit_ex2(e->md_ctx, e->sha256, NULL);
	ok = ok && EVP_DigestUpdate(e->md_ctx, bytes, count);
	ok = ok && EVP_DigestFinal_ex(e->md_ctx, out, &length);
	assert(ok && length == TOPIC_DEDUP_KEY_BYTES);
}

/* A random (version 4) message id, from OpenSSL's DRBG in batches. */
static void new_message_id(struct topic_engine *e, uint8_t id[16])
{
	if (e->random_used + 16 > RANDOM_BATCH_BYTES) {
		/* A DRBG that cannot produce is not a state to serve from. */
		if (RAND_bytes(e->random_bytes, RANDOM_BATCH_BYTES) != 1)
			abort();
		e->random_used = 0;
	}
	memcpy(id, e->random_bytes + e->random_used, 16);
	e->random_used += 16;
	id[6] = (uint8_t)((id[6] & 0x0F) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3F) | 0x80);
}

void topic_format_message_id(const uint8_t id[16], char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
	assert(o == BB_MESSAGE_ID_BYTES);
}

static void format_sequence(uint64_t sequence, char *out)
{
	snprintf(out, TOPIC_SEQUENCE_NUMBER_CHARS + 1, "%020" PRIu64, sequence);
}

static void fill_record(const struct topic_slot *s, const struct topic_publish *p,
                        uint64_t now_ms, struct topic_record *r)
{
	*r = (struct topic_record){
	    .kind = TOPIC_RECORD_PUBLISH,
	    .flags = (p->message_structure_json ? TOPIC_RECORD_FLAG_JSON : 0u) |
	             (s->config.fifo ? TOPIC_RECORD_FLAG_FIFO : 0u),
	    .topic_id = s->config.topic_id,
	    .timestamp_ms = now_ms,
	    .subject = p->subject,
	    .subject_bytes = p->subject != NULL ? p->subject_bytes : 0,
	    .attribute_count = p->attribute_count,
	    .message = p->message,
	    .message_bytes = p->message_bytes,
	};
	if (p->attribute_count > 0)
		memcpy(r->attributes, p->attributes, p->attribute_count * sizeof(*p->attributes));
	if (s->config.fifo) {
		r->group_id = p->group_id;
		r->group_id_bytes = p->group_id_bytes;
		r->dedup_id = p->dedup_id;
		r->dedup_id_bytes = p->dedup_id_bytes;
	}
}

/* FIFO: the dedup key of the record (explicit id, or the message's SHA-256). */
static void dedup_key_of(struct topic_engine *e, struct topic_record *r)
{
	if (r->dedup_id_bytes > 0)
		sha256_of(e, r->dedup_id, r->dedup_id_bytes, r->dedup_key);
	else
		sha256_of(e, r->message, r->message_bytes, r->dedup_key);
}

/* FIFO: answers a duplicate from its window entry; false when the id is new. */
static bool answer_duplicate(struct topic_engine *e, const struct topic_record *r,
                             struct topic_accepted *out)
{
	uint32_t at = index_find(e, r->topic_id, r->dedup_key);
	if (at == INDEX_EMPTY)
		return false;
	const struct topic_dedup *d = &e->ring[e->index[at]];
	topic_format_message_id(d->message_id, out->message_id);
	format_sequence(d->sequence_number, out->sequence_number);
	out->duplicate = true;
	out->log_sequence = d->log_sequence;
	return true;
}

enum wire_status topic_publish(struct topic_engine *e, uint32_t slot,
                               const struct topic_publish *p, uint64_t now_ms,
                               struct topic_accepted *out, const char **text_out)
{
	assert(slot < e->options.topic_slots && e->slots[slot].open);
	struct topic_slot *s = &e->slots[slot];
	memset(out, 0, offsetof(struct topic_accepted, record));
	enum wire_status status =
	    topic_check_publish(p, s->config.fifo, s->config.content_based_deduplication, text_out);
	if (status != WIRE_OK)
		return status;
	struct topic_record *r = &out->record;
	fill_record(s, p, now_ms, r);
	if (s->config.fifo) {
		topic_expire(e, now_ms);
		dedup_key_of(e, r);
		if (answer_duplicate(e, r, out))
			return WIRE_OK;
		if (e->ring_used == e->options.dedup_slots) {
			*text_out = "Too many deduplication ids in their 5-minute window";
			return WIRE_ERR_OVER_LIMIT;
		}
		r->sequence_number = s->sequence_last + 1;
	}
	new_message_id(e, r->message_id);
	if (s->config.durable) {
		int rc = e->options.log.append(e->options.log.ctx, r, &out->log_sequence);
		if (rc != 0) {
			out->log_error = rc;
			*text_out = "The topic's log refused the message; retry";
			return WIRE_ERR_SERVICE_UNAVAILABLE;
		}
	}
	if (s->config.fifo) {
		struct topic_dedup d = {.topic_id = r->topic_id,
		                        .sequence_number = r->sequence_number,
		                        .log_sequence = out->log_sequence,
		                        .ends_ms = now_ms + BB_FIFO_DEDUP_WINDOW_MS};
		memcpy(d.key, r->dedup_key, TOPIC_DEDUP_KEY_BYTES);
		memcpy(d.message_id, r->message_id, 16);
		int rc = dedup_add(e, &d);
		assert(rc == 0); /* room was checked above */
		s->sequence_last = r->sequence_number;
		format_sequence(r->sequence_number, out->sequence_number);
	}
	topic_format_message_id(r->message_id, out->message_id);
	return WIRE_OK;
}

void topic_done_record(const struct topic_record *publish, struct topic_record *done)
{
	assert(publish->kind == TOPIC_RECORD_PUBLISH);
	memset(done, 0, sizeof(*done));
	done->kind = TOPIC_RECORD_DONE;
	done->topic_id = publish->topic_id;
	memcpy(done->message_id, publish->message_id, 16);
}

enum wire_status topic_replay_record(struct topic_engine *e, uint32_t slot,
                                     const struct topic_record *r, uint64_t now_ms)
{
	assert(slot < e->options.topic_slots && e->slots[slot].open);
	struct topic_slot *s = &e->slots[slot];
	assert(r->topic_id == s->config.topic_id);
	bool fifo_publish = r->kind == TOPIC_RECORD_PUBLISH && (r->flags & TOPIC_RECORD_FLAG_FIFO);
	if (!fifo_publish || !s->config.fifo)
		return WIRE_OK;
	if (r->sequence_number > s->sequence_last)
		s->sequence_last = r->sequence_number;
	uint64_t ends_ms = r->timestamp_ms + BB_FIFO_DEDUP_WINDOW_MS;
	topic_expire(e, now_ms);
	if (ends_ms <= now_ms || index_find(e, r->topic_id, r->dedup_key) != INDEX_EMPTY)
		return WIRE_OK;
	struct topic_dedup d = {.topic_id = r->topic_id,
	                        .sequence_number = r->sequence_number,
	                        .ends_ms = ends_ms};
	memcpy(d.key, r->dedup_key, TOPIC_DEDUP_KEY_BYTES);
	memcpy(d.message_id, r->message_id, 16);
	return dedup_add(e, &d) == 0 ? WIRE_OK : WIRE_ERR_OVER_LIMIT;
}

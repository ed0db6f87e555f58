/*
 * The attribute block of an SQS message (sqs_attrs.h): encoding in AWS's name order,
 * the structural check recovery applies to a block read from the log, reading, and a
 * receive's MessageAttributeNames selection. No allocation; every loop is bounded by the
 * block's bytes or WIRE_ATTRIBUTES_MAX.
 */
#include "sqs_attrs.h"

#include <assert.h>
#include <string.h>


enum { FIELDS_PER_ATTRIBUTE = 4 };

/* AWS's order for the MD5: bytewise, a name before every longer name it begins. */
static int name_compare(const uint8_t *a, uint32_t a_bytes, const uint8_t *b, uint32_t b_bytes)
{
	uint32_t common = a_bytes < b_bytes ? a_bytes : b_bytes;
	int c = memcmp(a, b, common);
	if (c != 0)
		return c;
	return a_bytes < b_bytes ? -1 : a_bytes > b_bytes;
}

size_t sqs_attrs_encoded_bytes(const struct sqs_attr *attrs, uint32_t count,
                               uint32_t trace_bytes)
{
	assert(count <= WIRE_ATTRIBUTES_MAX && trace_bytes <= WIRE_TRACE_HEADER_BYTES_MAX);
	size_t bytes = trace_bytes > 0 ? WIRE_FIELD_HEADER_BYTES + trace_bytes : 0;
	for (uint32_t i = 0; i < count; i++)
		bytes += FIELDS_PER_ATTRIBUTE * WIRE_FIELD_HEADER_BYTES + attrs[i].name_bytes +
		         attrs[i].data_type_bytes + attrs[i].value_bytes;
	return bytes;
}

/* The attributes' indexes in name order (insertion sort: at most 10). */
static void sort_by_name(const struct sqs_attr *attrs, uint32_t count, uint32_t *order)
{
	for (uint32_t i = 0; i < count; i++) {
		uint32_t j = i;
		while (j > 0 && name_compare(attrs[order[j - 1]].name, attrs[order[j - 1]].name_bytes,
		                             attrs[i].name, attrs[i].name_bytes) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

size_t sqs_attrs_encode(const struct sqs_attr *attrs, uint32_t count, const uint8_t *trace,
                        uint32_t trace_bytes, uint8_t *out, size_t capacity)
{
	size_t bytes = sqs_attrs_encoded_bytes(attrs, count, trace_bytes);
	if (bytes > capacity)
		return 0;
	uint32_t order[WIRE_ATTRIBUTES_MAX];
	sort_by_name(attrs, count, order);
	struct wire_writer w;
	wire_writer_init(&w, out, capacity);
	if (trace_bytes > 0)
		wire_put_bytes(&w, WIRE_TAG_AWS_TRACE_HEADER, trace, trace_bytes);
	for (uint32_t i = 0; i < count; i++) {
		const struct sqs_attr *a = &attrs[order[i]];
		wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
		wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_NAME, a->name, a->name_bytes);
		wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, a->data_type, a->data_type_bytes);
		wire_put_bytes(&w, a->binary ? WIRE_TAG_ATTRIBUTE_BINARY_VALUE
		                             : WIRE_TAG_ATTRIBUTE_STRING_VALUE,
		               a->value, a->value_bytes);
	}
	assert(!w.overflow && w.length == bytes);
	assert(sqs_attrs_valid(out, bytes));
	return bytes;
}

/* The system fields of a block, in their order. */
enum { SYSTEM_DEDUP_ID, SYSTEM_TRACE_HEADER, SYSTEM_SOURCE_ARN, SYSTEM_TAG_COUNT };
static const uint16_t SYSTEM_TAGS[SYSTEM_TAG_COUNT] = {WIRE_TAG_MESSAGE_DEDUPLICATION_ID,
                                                       WIRE_TAG_AWS_TRACE_HEADER,
                                                       WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN};

/* The bytes of the system fields a block opens with, up to (not with) the first of tag
 * SYSTEM_TAGS[until], each when it has one (a valid block's, or bytes that open with fields
 * that parse). */
static size_t system_fields_before(const uint8_t *block, size_t bytes, unsigned until)
{
	assert(until <= SYSTEM_TAG_COUNT);
	size_t at = 0;
	for (unsigned i = 0; i < until; i++) {
		struct wire_reader r = {block + at, bytes - at};
		struct wire_field f;
		if (wire_reader_next(&r, &f) == 1 && f.tag == SYSTEM_TAGS[i])
			at = bytes - r.bytes_left;
	}
	return at;
}

/* The bytes of all the system fields a block opens with. */
static size_t system_fields_bytes(const uint8_t *block, size_t bytes)
{
	return system_fields_before(block, bytes, SYSTEM_TAG_COUNT);
}

/* The bytes of the block's field of tag SYSTEM_TAGS[which] at at, 0 when it has none. */
static size_t system_field_at(const uint8_t *block, size_t bytes, size_t at, unsigned which)
{
	struct wire_reader r = {block + at, bytes - at};
	struct wire_field f;
	if (wire_reader_next(&r, &f) != 1 || f.tag != SYSTEM_TAGS[which])
		return 0;
	return bytes - at - r.bytes_left;
}

size_t sqs_attrs_add_source_arn(uint8_t *block, size_t bytes, size_t capacity,
                                const uint8_t *arn, uint32_t arn_bytes)
{
	assert(sqs_attrs_valid(block, bytes) && sqs_attrs_send_fields_offset(block, bytes) == 0);
	assert(arn_bytes > 0 && arn_bytes <= WIRE_DLQ_SOURCE_ARN_BYTES_MAX);
	size_t at = system_fields_before(block, bytes, SYSTEM_SOURCE_ARN);
	assert(system_field_at(block, bytes, at, SYSTEM_SOURCE_ARN) == 0);
	size_t field_bytes = WIRE_FIELD_HEADER_BYTES + arn_bytes;
	if (capacity < field_bytes || bytes > capacity - field_bytes)
		return 0;
	memmove(block + at + field_bytes, block + at, bytes - at);
	struct wire_writer w;
	wire_writer_init(&w, block + at, field_bytes);
	wire_put_bytes(&w, WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN, arn, arn_bytes);
	assert(!w.overflow && sqs_attrs_valid(block, bytes + field_bytes));
	return bytes + field_bytes;
}

size_t sqs_attrs_drop_source_arn(uint8_t *block, size_t bytes)
{
	assert(sqs_attrs_valid(block, bytes));
	size_t at = system_fields_before(block, bytes, SYSTEM_SOURCE_ARN);
	size_t field_bytes = system_field_at(block, bytes, at, SYSTEM_SOURCE_ARN);
	memmove(block + at, block + at + field_bytes, bytes - at - field_bytes);
	assert(sqs_attrs_valid(block, bytes - field_bytes));
	return bytes - field_bytes;
}

size_t sqs_attrs_add_dedup_id(uint8_t *block, size_t bytes, size_t capacity, const uint8_t *id,
                              uint32_t id_bytes)
{
	assert(sqs_attrs_valid(block, bytes));
	assert(id_bytes > 0 && id_bytes <= BB_FIFO_ID_BYTES_MAX);
	assert(sqs_attrs_send_fields_offset(block, bytes) == 0);
	size_t field_bytes = WIRE_FIELD_HEADER_BYTES + id_bytes;
	if (capacity < field_bytes || bytes > capacity - field_bytes)
		return 0;
	memmove(block + field_bytes, block, bytes);
	struct wire_writer w;
	wire_writer_init(&w, block, field_bytes);
	wire_put_bytes(&w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, id, id_bytes);
	assert(!w.overflow && sqs_attrs_valid(block, bytes + field_bytes));
	return bytes + field_bytes;
}

size_t sqs_attrs_send_fields_offset(const uint8_t *block, size_t bytes)
{
	struct wire_reader r = {block, bytes};
	struct wire_field f;
	if (wire_reader_next(&r, &f) != 1 || f.tag != WIRE_TAG_MESSAGE_DEDUPLICATION_ID)
		return 0;
	return bytes - r.bytes_left;
}

/* Reads one attribute's four fields after its ATTRIBUTE_BEGIN; false when they are not. */
static bool read_attribute(struct wire_reader *r, struct sqs_attr *out)
{
	struct wire_field name, type, value;
	if (wire_reader_next(r, &name) != 1 || wire_reader_next(r, &type) != 1 ||
	    wire_reader_next(r, &value) != 1)
		return false;
	bool tags = name.tag == WIRE_TAG_ATTRIBUTE_NAME && type.tag == WIRE_TAG_ATTRIBUTE_DATA_TYPE &&
	            (value.tag == WIRE_TAG_ATTRIBUTE_STRING_VALUE ||
	             value.tag == WIRE_TAG_ATTRIBUTE_BINARY_VALUE);
	bool sized = name.length > 0 && name.length <= WIRE_ATTRIBUTE_NAME_BYTES_MAX &&
	             type.length > 0 && type.length <= WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX &&
	             value.length > 0;
	*out = (struct sqs_attr){name.value, name.length, type.value, type.length,
	                         value.value, value.length,
	                         value.tag == WIRE_TAG_ATTRIBUTE_BINARY_VALUE};
	return tags && sized;
}

bool sqs_attrs_valid(const uint8_t *block, size_t bytes)
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, block, bytes);
	int more = wire_reader_next(&r, &f);
	if (more == 1 && f.tag == WIRE_TAG_MESSAGE_DEDUPLICATION_ID) {
		if (f.length == 0 || f.length > BB_FIFO_ID_BYTES_MAX)
			return false;
		more = wire_reader_next(&r, &f);
	}
	if (more == 1 && f.tag == WIRE_TAG_AWS_TRACE_HEADER) {
		if (f.length == 0 || f.length > WIRE_TRACE_HEADER_BYTES_MAX)
			return false;
		more = wire_reader_next(&r, &f);
	}
	if (more == 1 && f.tag == WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN) {
		if (f.length == 0 || f.length > WIRE_DLQ_SOURCE_ARN_BYTES_MAX)
			return false;
		more = wire_reader_next(&r, &f);
	}
	struct sqs_attr previous = {0};
	for (uint32_t count = 0; more == 1; count++) { /* bounded by the block's bytes */
		struct sqs_attr a;
		if (count == WIRE_ATTRIBUTES_MAX || f.tag != WIRE_TAG_ATTRIBUTE_BEGIN ||
		    f.length != 0 || !read_attribute(&r, &a))
			return false;
		if (count > 0 &&
		    name_compare(previous.name, previous.name_bytes, a.name, a.name_bytes) >= 0)
			return false; /* out of order, or a name twice */
		previous = a;
		more = wire_reader_next(&r, &f);
	}
	return more == 0;
}

void sqs_attrs_reader_init(struct sqs_attrs_reader *reader, const uint8_t *block, size_t bytes)
{
	reader->next = block;
	reader->bytes_left = bytes;
}

bool sqs_attrs_next(struct sqs_attrs_reader *reader, struct sqs_attr *out)
{
	size_t system = system_fields_bytes(reader->next, reader->bytes_left);
	struct wire_reader r = {reader->next + system, reader->bytes_left - system};
	struct wire_field f;
	int more = wire_reader_next(&r, &f);
	if (more != 1)
		return false;
	bool read = f.tag == WIRE_TAG_ATTRIBUTE_BEGIN && read_attribute(&r, out);
	assert(read); /* blocks are checked before they are read */
	reader->next = r.next;
	reader->bytes_left = r.bytes_left;
	return read;
}

uint32_t sqs_attrs_size_bytes(const uint8_t *block, size_t bytes)
{
	struct sqs_attrs_reader r;
	struct sqs_attr a;
	uint32_t size = 0;
	sqs_attrs_reader_init(&r, block, bytes);
	while (sqs_attrs_next(&r, &a))
		size += a.name_bytes + a.data_type_bytes + a.value_bytes;
	return size;
}

bool sqs_attrs_has_attributes(const uint8_t *block, size_t bytes)
{
	struct sqs_attrs_reader r;
	struct sqs_attr a;
	sqs_attrs_reader_init(&r, block, bytes);
	return sqs_attrs_next(&r, &a);
}

static bool is(const uint8_t *bytes, uint32_t length, const char *text)
{
	return length == strlen(text) && memcmp(bytes, text, length) == 0;
}

/* "prefix.*" takes the names that begin with "prefix." (its period included). */
static bool prefix_matches(const uint8_t *pattern, uint32_t pattern_bytes, const uint8_t *name,
                           uint32_t name_bytes)
{
	if (pattern_bytes < 3 || pattern[pattern_bytes - 2] != '.' || pattern[pattern_bytes - 1] != '*')
		return false;
	uint32_t prefix_bytes = pattern_bytes - 1; /* "prefix." */
	return name_bytes >= prefix_bytes && memcmp(name, pattern, prefix_bytes) == 0;
}

bool sqs_attr_selected(const struct sqs_attr_names *names, const uint8_t *name,
                       uint32_t name_bytes)
{
	assert(names->count <= WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX);
	for (uint32_t i = 0; i < names->count; i++) {
		const uint8_t *n = names->names[i];
		uint32_t n_bytes = names->bytes[i];
		if (is(n, n_bytes, "All") || is(n, n_bytes, ".*"))
			return true;
		if (name_compare(n, n_bytes, name, name_bytes) == 0)
			return true;
		if (prefix_matches(n, n_bytes, name, name_bytes))
			return true;
	}
	return false;
}

size_t sqs_attrs_select(uint8_t *block, size_t bytes, const struct sqs_attr_names *names)
{
	assert(sqs_attrs_valid(block, bytes));
	struct sqs_attrs_reader r;
	sqs_attrs_reader_init(&r, block, bytes);
	size_t kept = system_fields_bytes(block, bytes); /* kept where they are */
	sqs_attrs_reader_init(&r, block + kept, bytes - kept);
	struct sqs_attr a;
	const uint8_t *start = r.next;
	while (sqs_attrs_next(&r, &a)) {
		size_t attribute_bytes = (size_t)(r.next - start);
		if (sqs_attr_selected(names, a.name, a.name_bytes)) {
			/* Kept bytes never pass what was read: the move is to the same place or
			 * before it. */
			memmove(block + kept, start, attribute_bytes);
			kept += attribute_bytes;
		}
		start = r.next;
	}
	return kept;
}

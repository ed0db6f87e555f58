/*
 * Fuzz target: the SQS log record decoder (dataplane/engines/sqs_record.h), SEND records with
 * FIFO fields and attribute blocks included. What it accepts encodes back to the same bytes,
 * what it points at lies inside the input, and an attribute block it accepts reads back
 * (sqs_attrs.h) to attributes whose sizes add up to the block's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqs_attrs.h"
#include "sqs_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const uint8_t *p, size_t bytes, const uint8_t *data, size_t size)
{
	if (bytes > 0 && (p < data || p + bytes > data + size))
		__builtin_trap();
}

/* The block's attributes, read back, take exactly its bytes. */
static void check_block(const uint8_t *block, uint32_t bytes)
{
	struct sqs_attrs_reader r;
	struct sqs_attr a;
	size_t read = 0;
	uint32_t count = 0;
	sqs_attrs_reader_init(&r, block, bytes);
	while (sqs_attrs_next(&r, &a)) {
		read += 4u * WIRE_FIELD_HEADER_BYTES + a.name_bytes + a.data_type_bytes + a.value_bytes;
		count++;
	}
	if (count > WIRE_ATTRIBUTES_MAX || read > bytes)
		__builtin_trap();
	if (read < bytes && bytes - read > WIRE_FIELD_HEADER_BYTES + WIRE_TRACE_HEADER_BYTES_MAX)
		__builtin_trap(); /* what is not an attribute is the trace header */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sqs_record r;
	if (sqs_record_decode(data, size, &r) != 0)
		return 0;
	check_inside(r.body, r.body_bytes, data, size);
	check_inside(r.attributes, r.attributes_bytes, data, size);
	check_inside((const uint8_t *)r.group_id, r.group_id_bytes, data, size);
	if (r.attributes_bytes > 0)
		check_block(r.attributes, r.attributes_bytes);
	uint8_t *again = malloc(size);
	if (again == NULL)
		return 0;
	size_t n = sqs_record_encode(&r, again, size);
	if (n != size || memcmp(again, data, size) != 0)
		__builtin_trap();
	free(again);
	return 0;
}

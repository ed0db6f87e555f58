/*
 * PutEvents over HTTP (see ctl_events_data.h). The frame carries the bus once
 * (every entry must name the same bus, by name or ARN, or none: the default) and
 * each entry's Source, DetailType, Detail, Resources and Time as busbar's
 * command sends them; an entry lacking a member is busbard's to refuse, entry by
 * entry, as EventBridge does.
 */
#include "ctl_events_data.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bb_limits.h"

#define FIELD_OVERHEAD 16u /* what a field takes on the wire besides its value, at most */
#define BUS_ARN_MARK   ":event-bus/"

static const struct ctl_aws_error VALIDATION = {400, "ValidationException", "ValidationException",
                                                true};

static int refuse(const struct ctl_aws_error **error, char *message, size_t message_bytes,
                  const char *text)
{
	*error = &VALIDATION;
	snprintf(message, message_bytes, "%s", text);
	return -EINVAL;
}

/* The bus an entry names: its EventBusName's name (an ARN's part after event-bus/). */
static const char *bus_of(json_t *entry)
{
	const char *bus = json_string_value(json_object_get(entry, "EventBusName"));
	const char *mark = bus != NULL ? strstr(bus, BUS_ARN_MARK) : NULL;
	if (bus != NULL && strncmp(bus, "arn:", 4) == 0 && mark != NULL)
		return mark + sizeof(BUS_ARN_MARK) - 1;
	return bus;
}

/* What the entries take on the wire, at most; -1 when one is not a JSON object. */
static long long entries_bytes(json_t *entries)
{
	long long bytes = 0;
	size_t i;
	json_t *entry;
	json_array_foreach(entries, i, entry)
	{
		if (!json_is_object(entry))
			return -1;
		const char *key;
		json_t *value;
		bytes += FIELD_OVERHEAD;
		json_object_foreach(entry, key, value)
		{
			bytes += (long long)json_string_length(value) + FIELD_OVERHEAD;
			size_t r;
			json_t *resource;
			json_array_foreach(value, r, resource) bytes +=
			    (long long)json_string_length(resource) + FIELD_OVERHEAD;
		}
	}
	return bytes;
}

static void put_text(struct wire_writer *w, uint16_t tag, json_t *value)
{
	if (json_is_string(value))
		wire_put_bytes(w, tag, json_string_value(value), json_string_length(value));
}

/* One entry; Time is JSON 1.1's epoch seconds (a number). false when a member is malformed. */
static bool put_entry(struct wire_writer *w, json_t *entry)
{
	json_t *resources = json_object_get(entry, "Resources");
	json_t *time_s = json_object_get(entry, "Time");
	if ((resources != NULL && (!json_is_array(resources) ||
	                           json_array_size(resources) > WIRE_EVENT_RESOURCES_MAX)) ||
	    (time_s != NULL && (!json_is_number(time_s) || json_number_value(time_s) < 0)))
		return false;
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	put_text(w, WIRE_TAG_EVENT_SOURCE, json_object_get(entry, "Source"));
	put_text(w, WIRE_TAG_EVENT_DETAIL_TYPE, json_object_get(entry, "DetailType"));
	put_text(w, WIRE_TAG_EVENT_DETAIL, json_object_get(entry, "Detail"));
	size_t i;
	json_t *resource;
	json_array_foreach(resources, i, resource)
	{
		if (!json_is_string(resource))
			return false;
		put_text(w, WIRE_TAG_EVENT_RESOURCE, resource);
	}
	if (time_s != NULL)
		wire_put_u64(w, WIRE_TAG_EVENT_TIME_MS,
		             (uint64_t)llround(json_number_value(time_s) * 1000.0));
	return true;
}

/* The one bus of the request, or refused; NULL bus: the default. */
static int one_bus(json_t *entries, const char **bus, const struct ctl_aws_error **error,
                   char *message, size_t message_bytes)
{
	size_t i;
	json_t *entry;
	*bus = bus_of(json_array_get(entries, 0));
	json_array_foreach(entries, i, entry)
	{
		const char *other = bus_of(entry);
		bool same = (other == NULL && *bus == NULL) ||
		            (other != NULL && *bus != NULL && strcmp(other, *bus) == 0);
		if (!same)
			return refuse(error, message, message_bytes,
			              "busbar takes the entries of one event bus a PutEvents call: "
			              "send each bus's entries in calls of their own");
	}
	if (*bus != NULL && strlen(*bus) > BB_BUS_NAME_BYTES_MAX)
		return refuse(error, message, message_bytes, "EventBusName is too long");
	return 0;
}

int ctl_events_data_encode(const struct ctl_aws_request *request,
                           const struct ctl_aws_config *config, uint8_t **frame,
                           size_t *frame_bytes, struct ctl_aws_data_op *op,
                           const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(request != NULL && request->service == CTL_AWS_EVENTS && config != NULL);
	*op = (struct ctl_aws_data_op){.opcode = WIRE_OP_PUT_EVENTS};
	*frame = NULL;
	json_t *entries = json_object_get(request->params, "Entries");
	const char *bus;
	if (!json_is_array(entries) || json_array_size(entries) == 0 ||
	    json_array_size(entries) > CTL_EVENTS_PUT_ENTRIES_MAX)
		return refuse(error, message, message_bytes, "Entries is a list of 1-10 entries");
	long long bytes = entries_bytes(entries);
	if (bytes < 0 || bytes > BB_LOCAL_BODY_BYTES_MAX - BB_BUS_NAME_BYTES_MAX - FIELD_OVERHEAD)
		return refuse(error, message, message_bytes,
		              bytes < 0 ? "Each entry is an object" : "The entries are too large");
	if (one_bus(entries, &bus, error, message, message_bytes) != 0)
		return -EINVAL;
	size_t capacity = BB_WIRE_HEADER_BYTES + (size_t)bytes + BB_BUS_NAME_BYTES_MAX +
	                  FIELD_OVERHEAD + CTL_EVENTS_PUT_ENTRIES_MAX * FIELD_OVERHEAD;
	uint8_t *buffer = malloc(capacity);
	if (buffer == NULL)
		return refuse(error, message, message_bytes, "out of memory");
	struct wire_writer w;
	wire_writer_init(&w, buffer + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
	if (bus != NULL)
		wire_put_str(&w, WIRE_TAG_BUS_NAME, bus);
	size_t i;
	json_t *entry;
	bool ok = true;
	json_array_foreach(entries, i, entry) ok = ok && put_entry(&w, entry);
	if (!ok || w.overflow) {
		free(buffer);
		return refuse(error, message, message_bytes,
		              "An entry's Resources is a list of at most 10 strings and its Time a "
		              "timestamp");
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = op->opcode,
	                        .body_bytes = (uint32_t)w.length,
	                        .timestamp_ms = (uint64_t)now.tv_sec * 1000u +
	                                        (uint64_t)now.tv_nsec / 1000000u};
	wire_header_encode(&h, buffer);
	*frame = buffer;
	*frame_bytes = BB_WIRE_HEADER_BYTES + w.length;
	return 0;
}

/* busbard answers entries in request order: the n-th ENTRY_BEGIN is the n-th entry's. */
int ctl_events_data_decode(struct wire_reader *reader, json_t *result)
{
	assert(reader != NULL && json_is_object(result));
	struct wire_field f;
	json_t *entries = json_array();
	json_t *current = NULL;
	uint32_t failed = 0;
	bool counted = false;
	for (uint32_t n = 0; n < BB_FIELD_COUNT_MAX && wire_reader_next(reader, &f) == 1; n++) {
		json_t *value = json_stringn((const char *)f.value, f.length);
		if (f.tag == WIRE_TAG_FAILED_ENTRY_COUNT) {
			counted = wire_field_u32(&f, &failed);
		} else if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			current = json_object();
			json_array_append_new(entries, current);
		} else if (current != NULL && f.tag == WIRE_TAG_EVENT_ID) {
			json_object_set(current, "EventId", value);
		} else if (current != NULL && f.tag == WIRE_TAG_ERROR_CODE) {
			json_object_set(current, "ErrorCode", value);
		} else if (current != NULL && f.tag == WIRE_TAG_ERROR_MESSAGE) {
			json_object_set(current, "ErrorMessage", value);
		}
		json_decref(value);
	}
	json_object_set_new(result, "FailedEntryCount", json_integer(failed));
	json_object_set_new(result, "Entries", entries);
	return counted && json_array_size(entries) > 0 ? 0 : -EBADMSG;
}

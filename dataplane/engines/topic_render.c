/*
 * A delivery's bytes (topic.h): the raw payload, or the SNS JSON envelope as SNS writes it
 * (two-space indent, "Name" : value, its member order), signed over SNS's canonical string to
 * sign by the caller's callback. Writes only into the caller's buffers; a buffer too small is
 * -ENOBUFS, never a cut envelope.
 */
#include "topic.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "topic_int.h"

struct writer {
	uint8_t *buf;
	size_t capacity;
	size_t length;
	bool overflow;
};

static void put_bytes(struct writer *w, const void *bytes, size_t count)
{
	if (w->overflow || w->capacity - w->length < count) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->length, bytes, count);
	w->length += count;
}

static void put(struct writer *w, const char *text)
{
	put_bytes(w, text, strlen(text));
}

static void put_escaped(struct writer *w, const void *bytes, size_t count)
{
	if (w->overflow)
		return;
	size_t n = topic_json_escape(bytes, count, w->buf + w->length, w->capacity - w->length);
	if (n == SIZE_MAX)
		w->overflow = true;
	else
		w->length += n;
}

/* A member `  "name" : "value",\n` (the value escaped; last: no comma). */
static void put_member(struct writer *w, const char *name, const void *value, size_t bytes,
                       bool last)
{
	put(w, "  \"");
	put(w, name);
	put(w, "\" : \"");
	put_escaped(w, value, bytes);
	put(w, last ? "\"" : "\",\n");
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "2012-05-02T00:54:06.655Z" (out: 25 bytes with the NUL). */
static void format_timestamp(uint64_t ms, char out[25])
{
	int64_t days = (int64_t)(ms / 86400000u);
	uint64_t in_day = ms % 86400000u;
	int64_t year;
	unsigned month, day;
	civil_from_days(days, &year, &month, &day);
	int n = snprintf(out, 25, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", (int)(year % 10000), month,
	                 day, (unsigned)(in_day / 3600000u), (unsigned)(in_day / 60000u % 60u),
	                 (unsigned)(in_day / 1000u % 60u), (unsigned)(in_day % 1000u));
	assert(n == 24);
}

/* The canonical string SNS signs for a Notification (topic.h says which fields). */
static size_t string_to_sign(const struct topic_record *r, const uint8_t *payload,
                             uint32_t payload_bytes, const char *message_id,
                             const char *timestamp, const char *topic_arn, uint8_t *out,
                             size_t capacity)
{
	struct writer w = {.buf = out, .capacity = capacity};
	put(&w, "Message\n");
	put_bytes(&w, payload, payload_bytes);
	put(&w, "\nMessageId\n");
	put(&w, message_id);
	if (r->subject_bytes > 0) {
		put(&w, "\nSubject\n");
		put_bytes(&w, r->subject, r->subject_bytes);
	}
	put(&w, "\nTimestamp\n");
	put(&w, timestamp);
	put(&w, "\nTopicArn\n");
	put(&w, topic_arn);
	put(&w, "\nType\nNotification\n");
	assert(!w.overflow); /* the scratch is sized for the largest */
	return w.length;
}

static void put_signature(struct writer *w, const struct topic_render_options *o,
                          const uint8_t *to_sign, size_t to_sign_bytes, int *error)
{
	put(w, "  \"Signature\" : \"");
	if (w->overflow)
		return;
	size_t room = w->capacity - w->length;
	size_t length = 0;
	int rc = o->sign(o->sign_ctx, o->signature_version, to_sign, to_sign_bytes,
	                 (char *)w->buf + w->length,
	                 room < BB_TOPIC_SIGNATURE_BYTES_MAX ? room : BB_TOPIC_SIGNATURE_BYTES_MAX,
	                 &length);
	if (rc == -ENOBUFS) {
		w->overflow = true;
		return;
	}
	if (rc != 0) {
		*error = rc;
		return;
	}
	assert(length <= room);
	w->length += length;
	put(w, "\",\n");
}

static void put_attribute_value(struct writer *w, const struct topic_attribute *a)
{
	bool binary = a->type_bytes >= 6 && memcmp(a->type, "Binary", 6) == 0;
	if (!binary) {
		put_escaped(w, a->value, a->value_bytes);
		return;
	}
	/* base64 in place: EVP_EncodeBlock writes 4 per 3 bytes and a NUL. */
	size_t need = 4 * ((a->value_bytes + 2) / 3) + 1;
	if (w->overflow || w->capacity - w->length < need) {
		w->overflow = true;
		return;
	}
	int n = EVP_EncodeBlock(w->buf + w->length, a->value, (int)a->value_bytes);
	assert(n >= 0 && (size_t)n + 1 == need);
	w->length += (size_t)n;
}

static void put_attributes(struct writer *w, const struct topic_record *r)
{
	if (r->attribute_count == 0)
		return;
	put(w, ",\n  \"MessageAttributes\" : {\n");
	for (uint32_t i = 0; i < r->attribute_count; i++) {
		const struct topic_attribute *a = &r->attributes[i];
		put(w, "    \"");
		put_escaped(w, a->name, a->name_bytes);
		put(w, "\" : {\"Type\":\"");
		put_escaped(w, a->type, a->type_bytes);
		put(w, "\",\"Value\":\"");
		put_attribute_value(w, a);
		put(w, i + 1 < r->attribute_count ? "\"},\n" : "\"}\n");
	}
	put(w, "  }");
}

static int render_envelope(const struct topic_record *r, const struct topic_render_options *o,
                           const uint8_t *payload, uint32_t payload_bytes, struct writer *w)
{
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char timestamp[25];
	char sequence[TOPIC_SEQUENCE_NUMBER_CHARS + 1];
	topic_format_message_id(r->message_id, message_id);
	format_timestamp(r->timestamp_ms, timestamp);
	uint8_t *sign_buf = o->scratch + BB_TOPIC_MESSAGE_BYTES_MAX;
	size_t sign_capacity = TOPIC_RENDER_SCRATCH_BYTES - BB_TOPIC_MESSAGE_BYTES_MAX;
	size_t to_sign = string_to_sign(r, payload, payload_bytes, message_id, timestamp,
	                                o->topic_arn, sign_buf, sign_capacity);
	int error = 0;
	put(w, "{\n");
	put_member(w, "Type", "Notification", 12, false);
	put_member(w, "MessageId", message_id, BB_MESSAGE_ID_BYTES, false);
	if (r->flags & TOPIC_RECORD_FLAG_FIFO) {
		snprintf(sequence, sizeof(sequence), "%020llu",
		         (unsigned long long)r->sequence_number);
		put_member(w, "SequenceNumber", sequence, TOPIC_SEQUENCE_NUMBER_CHARS, false);
	}
	put_member(w, "TopicArn", o->topic_arn, strlen(o->topic_arn), false);
	if (r->subject_bytes > 0)
		put_member(w, "Subject", r->subject, r->subject_bytes, false);
	put_member(w, "Message", payload, payload_bytes, false);
	put_member(w, "Timestamp", timestamp, strlen(timestamp), false);
	put_member(w, "SignatureVersion", o->signature_version == TOPIC_SIGNATURE_V1 ? "1" : "2", 1,
	           false);
	put_signature(w, o, sign_buf, to_sign, &error);
	if (error != 0)
		return error;
	put_member(w, "SigningCertURL", o->signing_cert_url, strlen(o->signing_cert_url), false);
	put_member(w, "UnsubscribeURL", o->unsubscribe_url, strlen(o->unsubscribe_url), true);
	put_attributes(w, r);
	put(w, "\n}");
	return 0;
}

int topic_render(const struct topic_record *r, const struct topic_render_options *o, uint8_t *out,
                 size_t capacity, size_t *length_out)
{
	assert(r->kind == TOPIC_RECORD_PUBLISH && o->protocol != NULL && o->scratch != NULL);
	assert(o->raw || (strlen(o->topic_arn) <= BB_TOPIC_ARN_BYTES_MAX &&
	                  strlen(o->unsubscribe_url) <= BB_TOPIC_URL_BYTES_MAX &&
	                  strlen(o->signing_cert_url) <= BB_TOPIC_URL_BYTES_MAX && o->sign &&
	                  (o->signature_version == TOPIC_SIGNATURE_V1 ||
	                   o->signature_version == TOPIC_SIGNATURE_V2)));
	const uint8_t *payload;
	uint32_t payload_bytes;
	int rc = topic_payload(r, o->protocol, o->scratch, BB_TOPIC_MESSAGE_BYTES_MAX, &payload,
	                       &payload_bytes);
	if (rc != 0)
		return rc;
	struct writer w = {.buf = out, .capacity = capacity};
	if (o->raw)
		put_bytes(&w, payload, payload_bytes);
	else
		rc = render_envelope(r, o, payload, payload_bytes, &w);
	if (rc != 0)
		return rc;
	if (w.overflow)
		return -ENOBUFS;
	*length_out = w.length;
	return 0;
}

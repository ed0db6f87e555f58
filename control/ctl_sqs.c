/*
 * SQS JSON 1.0 queue management (see ctl_sqs.h), queue tags included (a table of this
 * module's own: tags are not configuration busbard needs). Errors carry the __type of
 * the JSON protocol and the query-compatible code, as AWS sends them.
 * Attributes this version does not implement are refused by name rather than
 * ignored, so nobody believes a setting took effect when it did not.
 */
#include "ctl_sqs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bb_snapshot.h"

#define ACCOUNT_ID "000000000000"
#define REGION     "local"

struct sqs_error {
	unsigned http_status;
	const char *type;
	const char *query_code;
};

static const struct sqs_error QUEUE_DOES_NOT_EXIST = {
    400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"};
static const struct sqs_error QUEUE_NAME_EXISTS = {400, "com.amazonaws.sqs#QueueNameExists",
                                                   "QueueAlreadyExists;Sender"};
static const struct sqs_error INVALID_ATTRIBUTE_VALUE = {
    400, "com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue;Sender"};
static const struct sqs_error INVALID_ATTRIBUTE_NAME = {
    400, "com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName;Sender"};
static const struct sqs_error INVALID_PARAMETER = {400, "com.amazonaws.sqs#InvalidParameterValue",
                                                   "InvalidParameterValue;Sender"};
static const struct sqs_error MISSING_PARAMETER = {400, "com.amazonaws.sqs#MissingParameter",
                                                   "MissingParameter;Sender"};
static const struct sqs_error INVALID_ADDRESS = {400, "com.amazonaws.sqs#InvalidAddress",
                                                 "InvalidAddress;Sender"};
/* AWS has no error for a per-account queue count; OverLimit is the SQS code SDKs know
 * for "a limit was reached" (docs/operations.md). */
static const struct sqs_error OVER_LIMIT = {400, "com.amazonaws.sqs#OverLimit", "OverLimit;Sender"};
static const struct sqs_error SERIALIZATION = {
    400, "com.amazon.coral.service#SerializationException", NULL};
static const struct sqs_error UNKNOWN_OPERATION = {400, "UnknownOperationException", NULL};
static const struct sqs_error INTERNAL = {500, "com.amazonaws.sqs#InternalError",
                                          "InternalError;Receiver"};

static void fail(struct ctl_sqs_result *out, const struct sqs_error *e, const char *message)
{
	out->http_status = e->http_status;
	out->body = json_pack("{s:s, s:s}", "__type", e->type, "message", message);
	out->query_error = e->query_code;
}

static void succeed(struct ctl_sqs_result *out, json_t *body)
{
	out->http_status = 200;
	out->body = body;
	out->query_error = NULL;
}

static json_t *queue_url(const struct ctl_sqs_context *c, const char *name)
{
	return json_sprintf("%s/" ACCOUNT_ID "/%s", c->base_url, name);
}

static bool is_account_id(const char *text, size_t length)
{
	if (length != sizeof(ACCOUNT_ID) - 1)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
	}
	return true;
}

/*
 * The queue a QueueUrl names: [scheme://host[:port]]/ACCOUNT/NAME. Any host is
 * accepted, since SDKs send the endpoint's or AWS's own (docs/operations.md); the
 * account decides: another account's queue is not ours, whatever its name.
 * Answers the request with the error and returns NULL when it names none of ours.
 */
static const char *queue_from_url(json_t *request, struct ctl_sqs_result *out)
{
	const char *url = json_string_value(json_object_get(request, "QueueUrl"));
	const char *path = url;
	const char *scheme_end = url != NULL ? strstr(url, "://") : NULL;
	if (scheme_end != NULL)
		path = strchr(scheme_end + 3, '/');
	const char *slash = path != NULL && path[0] == '/' ? strchr(path + 1, '/') : NULL;
	if (slash == NULL || !is_account_id(path + 1, (size_t)(slash - path - 1)) ||
	    !bb_queue_name_is_valid((const uint8_t *)slash + 1, strlen(slash + 1))) {
		fail(out, &INVALID_ADDRESS, "The address of the queue is not valid.");
		return NULL;
	}
	if (memcmp(path + 1, ACCOUNT_ID, sizeof(ACCOUNT_ID) - 1) != 0) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return NULL;
	}
	return slash + 1;
}

/*
 * Parses an attribute value in [min, max]; SQS sends numbers as strings. Only
 * plain decimals: strtol would let a sign, spaces or leading zeros by.
 */
static bool attribute_number(json_t *value, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *text = json_string_value(value);
	size_t length = text != NULL ? strlen(text) : 0;
	if (length == 0 || length > 10 || (text[0] == '0' && length > 1))
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(text[i] - '0');
	}
	if (n < min || n > max)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* "true" or "false", as SQS sends booleans. */
static bool attribute_bool(json_t *value, bool *out)
{
	const char *text = json_string_value(value);
	if (text == NULL || (strcmp(text, "true") != 0 && strcmp(text, "false") != 0))
		return false;
	*out = text[0] == 't';
	return true;
}

/*
 * busbar's own queue attribute: "disk" (the default: a send is answered once it is on disk)
 * or "memory" (no log; for the benchmark rig). Fixed when the queue is made.
 */
#define DURABILITY_ATTRIBUTE "busbar:Durability"

static bool attribute_durability(json_t *value, bool *memory)
{
	const char *text = json_string_value(value);
	if (text == NULL || (strcmp(text, "disk") != 0 && strcmp(text, "memory") != 0))
		return false;
	*memory = text[0] == 'm';
	return true;
}

/* One of two words (as SQS spells them): *second tells which. */
static bool attribute_choice(json_t *value, const char *first, const char *second_word,
                             bool *second)
{
	const char *text = json_string_value(value);
	if (text == NULL || (strcmp(text, first) != 0 && strcmp(text, second_word) != 0))
		return false;
	*second = strcmp(text, second_word) == 0;
	return true;
}

/* ---- RedrivePolicy and RedriveAllowPolicy (dead-letter queues) ---- */

#define ARN_PREFIX           "arn:aws:sqs:"
#define ARN_REGION_BYTES_MAX 32u
#define SOURCE_QUEUE_ARNS_MAX 10u /* a byQueue RedriveAllowPolicy's, as SQS */
/* RedrivePolicy's maxReceiveCount when the policy leaves it out (the console's). */
#define MAX_RECEIVE_COUNT_DEFAULT 10u

/*
 * The queue an SQS ARN names: arn:aws:sqs:REGION:ACCOUNT:NAME. Any region is taken, as any
 * host is in a QueueUrl; the account must be ours. NULL when it is not such an ARN.
 */
static const char *queue_from_arn(const char *arn)
{
	if (arn == NULL || strncmp(arn, ARN_PREFIX, sizeof(ARN_PREFIX) - 1) != 0)
		return NULL;
	const char *region = arn + sizeof(ARN_PREFIX) - 1;
	const char *colon = strchr(region, ':');
	size_t region_bytes = colon != NULL ? (size_t)(colon - region) : 0;
	if (region_bytes == 0 || region_bytes > ARN_REGION_BYTES_MAX)
		return NULL;
	const char *account = colon + 1;
	const char *name = strchr(account, ':');
	if (name == NULL || !is_account_id(account, (size_t)(name - account)) ||
	    memcmp(account, ACCOUNT_ID, sizeof(ACCOUNT_ID) - 1) != 0)
		return NULL;
	name++;
	return bb_queue_name_is_valid((const uint8_t *)name, strlen(name)) ? name : NULL;
}

static json_t *queue_arn(const char *name)
{
	return json_sprintf("arn:aws:sqs:" REGION ":" ACCOUNT_ID ":%s", name);
}

/* The error SQS gives a policy it refuses: the value and the reason in the message. */
static void fail_policy(struct ctl_sqs_result *out, const char *attribute, const char *value,
                        const char *reason)
{
	char message[1024];
	snprintf(message, sizeof(message), "Value %.600s for parameter %s is invalid. Reason: %s",
	         value, attribute, reason);
	fail(out, &INVALID_PARAMETER, message);
}

/* maxReceiveCount: a JSON number or a string of digits (SQS takes both), 1-1000. */
static bool max_receive_count_of(json_t *value, uint32_t *out)
{
	if (json_is_integer(value)) {
		json_int_t n = json_integer_value(value);
		*out = n >= BB_MAX_RECEIVE_COUNT_MIN && n <= BB_MAX_RECEIVE_COUNT_MAX ? (uint32_t)n : 0;
		return *out != 0;
	}
	return attribute_number(value, BB_MAX_RECEIVE_COUNT_MIN, BB_MAX_RECEIVE_COUNT_MAX, out);
}

/*
 * RedrivePolicy: {"deadLetterTargetArn": ARN, "maxReceiveCount": 1-1000}, or "" to remove
 * it. Only the text is checked here; check_redrive sees the dead-letter queue itself.
 */
static bool parse_redrive_policy(const char *text, struct ctl_queue *q,
                                 struct ctl_sqs_result *out)
{
	if (text[0] == '\0') {
		q->dead_letter_queue[0] = '\0';
		q->max_receive_count = 0;
		return true;
	}
	json_t *policy = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	const char *reason = NULL;
	json_t *arn = json_object_get(policy, "deadLetterTargetArn");
	json_t *count = json_object_get(policy, "maxReceiveCount");
	const char *dlq = queue_from_arn(json_string_value(arn));
	uint32_t max_receive_count = MAX_RECEIVE_COUNT_DEFAULT;
	size_t known = (arn != NULL) + (count != NULL);
	if (!json_is_object(policy) || json_object_size(policy) != known)
		reason = "Redrive policy is not a valid JSON map.";
	else if (arn == NULL)
		reason = "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.";
	else if (dlq == NULL)
		reason = "Dead-letter target is not an SQS queue ARN of this account.";
	else if (count != NULL && !max_receive_count_of(count, &max_receive_count))
		reason = "Invalid value for maxReceiveCount, valid values are from 1 to 1000 both "
		         "inclusive.";
	if (reason == NULL) {
		snprintf(q->dead_letter_queue, sizeof(q->dead_letter_queue), "%s", dlq);
		q->max_receive_count = max_receive_count;
	}
	json_decref(policy);
	if (reason != NULL)
		fail_policy(out, "RedrivePolicy", text, reason);
	return reason == NULL;
}

/* A RedriveAllowPolicy's byQueue sources: 1-10 SQS ARNs of this account, written back as
 * this appliance's ARNs. */
static const char *allowed_sources(json_t *arns, json_t *canonical)
{
	size_t i;
	json_t *arn;
	if (!json_is_array(arns) || json_array_size(arns) == 0 ||
	    json_array_size(arns) > SOURCE_QUEUE_ARNS_MAX)
		return "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is "
		       "byQueue.";
	json_array_foreach(arns, i, arn)
	{
		const char *name = queue_from_arn(json_string_value(arn));
		if (name == NULL)
			return "A source queue is not an SQS queue ARN of this account.";
		json_array_append_new(canonical, queue_arn(name));
	}
	return NULL;
}

/*
 * RedriveAllowPolicy: {"redrivePermission": "allowAll" | "denyAll" | "byQueue",
 * "sourceQueueArns": [...] with byQueue only}, or "" to remove it (allowAll).
 */
static bool parse_redrive_allow_policy(const char *text, struct ctl_queue *q,
                                       struct ctl_sqs_result *out)
{
	json_t *policy = text[0] != '\0' ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *permission = json_string_value(json_object_get(policy, "redrivePermission"));
	json_t *arns = json_object_get(policy, "sourceQueueArns");
	bool by_queue = permission != NULL && strcmp(permission, "byQueue") == 0;
	json_t *sources = json_array();
	const char *reason = NULL;
	if (text[0] != '\0' && (!json_is_object(policy) ||
	                        json_object_size(policy) != 1u + (arns != NULL)))
		reason = "Amazon SQS can't create the redrive allow policy, as it's in an "
		         "unsupported format.";
	else if (text[0] != '\0' && !by_queue &&
	         (permission == NULL ||
	          (strcmp(permission, "allowAll") != 0 && strcmp(permission, "denyAll") != 0)))
		reason = "redrivePermission must be allowAll, denyAll or byQueue.";
	else if (!by_queue && arns != NULL)
		reason = "sourceQueueArns is only allowed when redrivePermission is byQueue.";
	else if (by_queue)
		reason = allowed_sources(arns, sources);
	q->redrive_allow_policy[0] = '\0';
	if (reason == NULL && text[0] != '\0') {
		json_t *canonical = json_pack("{s:s}", "redrivePermission", permission);
		if (by_queue)
			json_object_set(canonical, "sourceQueueArns", sources);
		char *written = json_dumps(canonical, JSON_COMPACT | JSON_PRESERVE_ORDER);
		snprintf(q->redrive_allow_policy, sizeof(q->redrive_allow_policy), "%s", written);
		free(written);
		json_decref(canonical);
	}
	json_decref(sources);
	json_decref(policy);
	if (reason != NULL)
		fail_policy(out, "RedriveAllowPolicy", text, reason);
	return reason == NULL;
}

/* Whether a dead-letter queue's RedriveAllowPolicy lets `source` send it its messages. */
static bool redrive_allows(const struct ctl_queue *dlq, const char *source)
{
	if (dlq->redrive_allow_policy[0] == '\0')
		return true; /* none: allowAll */
	json_t *policy = json_loads(dlq->redrive_allow_policy, 0, NULL);
	const char *permission = json_string_value(json_object_get(policy, "redrivePermission"));
	bool allowed = permission != NULL && strcmp(permission, "allowAll") == 0;
	size_t i;
	json_t *arn;
	json_array_foreach(json_object_get(policy, "sourceQueueArns"), i, arn)
	{
		const char *name = queue_from_arn(json_string_value(arn));
		allowed = allowed || (name != NULL && strcmp(name, source) == 0);
	}
	json_decref(policy);
	return allowed;
}

/*
 * A RedrivePolicy given to q (given_text): its dead-letter queue exists, is another queue of
 * the same type (FIFO to FIFO, standard to standard) and allows q as a source.
 */
static bool check_redrive(const struct ctl_sqs_context *c, const struct ctl_queue *q,
                          const char *given_text, struct ctl_sqs_result *out)
{
	struct ctl_queue dlq;
	const char *reason = NULL;
	if (given_text == NULL || q->dead_letter_queue[0] == '\0')
		return true;
	if (strcmp(q->dead_letter_queue, q->name) == 0)
		reason = "A queue cannot be its own dead-letter queue.";
	else if (ctl_store_get_queue(c->store, q->dead_letter_queue, &dlq) != 0)
		reason = "Dead letter target does not exist.";
	else if (dlq.fifo != q->fifo)
		reason = "Dead-letter queue must be same type of queue as the source.";
	else if (!redrive_allows(&dlq, q->name))
		reason = "The dead-letter queue's RedriveAllowPolicy does not allow this queue as a "
		         "source.";
	if (reason != NULL)
		fail_policy(out, "RedrivePolicy", given_text, reason);
	return reason == NULL;
}

static bool is_redrive_attribute(const char *key)
{
	return strcmp(key, "RedrivePolicy") == 0 || strcmp(key, "RedriveAllowPolicy") == 0;
}

/* RedrivePolicy or RedriveAllowPolicy: a string of JSON, or "" to remove the policy. */
static bool apply_redrive_attribute(const char *key, json_t *value, struct ctl_queue *q,
                                    struct ctl_sqs_result *out)
{
	const char *text = json_string_value(value);
	if (text == NULL) {
		fail_policy(out, key, "(not a string)", "The value must be a string of JSON.");
		return false;
	}
	if (strcmp(key, "RedrivePolicy") == 0)
		return parse_redrive_policy(text, q, out);
	return parse_redrive_allow_policy(text, q, out);
}

/* The attributes CreateQueue takes and SetQueueAttributes does not: fixed for a queue's life. */
static bool attribute_is_fixed(const char *key)
{
	return strcmp(key, "FifoQueue") == 0 || strcmp(key, DURABILITY_ATTRIBUTE) == 0;
}

/* Sets one attribute: false when it is out of range; *known false when busbar has none such. */
static bool apply_attribute(const char *key, json_t *value, struct ctl_queue *q, bool *known)
{
	*known = true;
	if (strcmp(key, "VisibilityTimeout") == 0)
		return attribute_number(value, 0, BB_VISIBILITY_TIMEOUT_S_MAX,
		                        &q->visibility_timeout_s);
	if (strcmp(key, "ReceiveMessageWaitTimeSeconds") == 0)
		return attribute_number(value, 0, BB_WAIT_TIME_S_MAX, &q->receive_wait_time_s);
	if (strcmp(key, "MaximumMessageSize") == 0)
		return attribute_number(value, 1024, BB_MESSAGE_BODY_BYTES_MAX,
		                        &q->maximum_message_bytes);
	if (strcmp(key, "DelaySeconds") == 0)
		return attribute_number(value, 0, WIRE_DELAY_S_MAX, &q->delay_s);
	if (strcmp(key, "MessageRetentionPeriod") == 0)
		return attribute_number(value, WIRE_RETENTION_S_MIN, WIRE_RETENTION_S_MAX,
		                        &q->retention_s);
	if (strcmp(key, "FifoQueue") == 0)
		return attribute_bool(value, &q->fifo);
	if (strcmp(key, "ContentBasedDeduplication") == 0)
		return attribute_bool(value, &q->content_based_deduplication);
	if (strcmp(key, "DeduplicationScope") == 0)
		return attribute_choice(value, "queue", "messageGroup", &q->dedup_per_group);
	if (strcmp(key, "FifoThroughputLimit") == 0)
		return attribute_choice(value, "perQueue", "perMessageGroupId",
		                        &q->throughput_per_group);
	if (strcmp(key, DURABILITY_ATTRIBUTE) == 0)
		return attribute_durability(value, &q->memory);
	*known = false;
	return false;
}

/* CreateQueue's attributes (creating) or SetQueueAttributes' (the fixed ones refused). */
static bool apply_attributes(json_t *attributes, struct ctl_queue *q, bool creating,
                             struct ctl_sqs_result *out)
{
	const char *key;
	json_t *value;
	char message[256];
	if (attributes != NULL && !json_is_object(attributes)) {
		fail(out, &INVALID_ATTRIBUTE_VALUE, "Attributes must be a map");
		return false;
	}
	json_object_foreach(attributes, key, value)
	{
		bool known;
		if (is_redrive_attribute(key)) {
			if (!apply_redrive_attribute(key, value, q, out))
				return false;
			continue;
		}
		bool ok = apply_attribute(key, value, q, &known);
		if (!known || (!creating && attribute_is_fixed(key))) {
			snprintf(message, sizeof(message),
			         known ? "Attribute %s is set when the queue is made and cannot change"
			               : "Unknown or not yet supported attribute %s",
			         key);
			fail(out, &INVALID_ATTRIBUTE_NAME, message);
			return false;
		}
		if (!ok) {
			snprintf(message, sizeof(message), "Invalid value for the parameter %s",
			         key);
			fail(out, &INVALID_ATTRIBUTE_VALUE, message);
			return false;
		}
	}
	return true;
}

static bool same_settings(const struct ctl_queue *a, const struct ctl_queue *b)
{
	return a->visibility_timeout_s == b->visibility_timeout_s &&
	       a->receive_wait_time_s == b->receive_wait_time_s &&
	       a->maximum_message_bytes == b->maximum_message_bytes && a->fifo == b->fifo &&
	       a->content_based_deduplication == b->content_based_deduplication &&
	       a->dedup_per_group == b->dedup_per_group &&
	       a->throughput_per_group == b->throughput_per_group && a->memory == b->memory && a->delay_s == b->delay_s &&
	       a->retention_s == b->retention_s &&
	       strcmp(a->dead_letter_queue, b->dead_letter_queue) == 0 &&
	       a->max_receive_count == b->max_receive_count &&
	       strcmp(a->redrive_allow_policy, b->redrive_allow_policy) == 0;
}

/* As SQS: a FIFO queue's name ends in .fifo, and only a FIFO queue's does. */
static bool check_fifo(const struct ctl_queue *q, struct ctl_sqs_result *out)
{
	if (q->fifo != bb_queue_name_is_fifo((const uint8_t *)q->name, strlen(q->name))) {
		fail(out, &INVALID_PARAMETER,
		     q->fifo ? "The name of a FIFO queue can only include alphanumeric characters, "
		               "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 "
		               "in length"
		             : "A queue whose name ends with .fifo is a FIFO queue: create it with "
		               "the attribute FifoQueue=true");
		return false;
	}
	if (!q->fifo && (q->content_based_deduplication || q->dedup_per_group ||
	                 q->throughput_per_group)) {
		fail(out, &INVALID_ATTRIBUTE_NAME,
		     q->content_based_deduplication ? "Unknown Attribute ContentBasedDeduplication."
		     : q->dedup_per_group           ? "Unknown Attribute DeduplicationScope."
		                                    : "Unknown Attribute FifoThroughputLimit.");
		return false;
	}
	if (q->throughput_per_group && !q->dedup_per_group) {
		fail(out, &INVALID_ATTRIBUTE_VALUE,
		     "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId "
		     "is only valid when DeduplicationScope is messageGroup.");
		return false;
	}
	return true;
}

/* ---- queue tags (AWS's rules: 50 a queue, keys 1-128 characters, values 0-256) ---- */

#define TAGS_PER_QUEUE_MAX   50u
#define TAG_KEY_CHARS_MAX    128u
#define TAG_VALUE_CHARS_MAX  256u

/* Characters of UTF-8 text (its bytes that do not continue a character). */
static size_t utf8_chars(const char *text)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
		chars += (*p & 0xc0) != 0x80;
	return chars;
}

/* Letters, digits, white space and _ . : / = + - @ (any non-ASCII character is taken). */
static bool tag_text_is_valid(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		bool letter = (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z';
		if (*p >= 0x80 || (*p >= '0' && *p <= '9') || letter)
			continue;
		if (strchr(" \t_.:/=+-@", *p) == NULL)
			return false;
	}
	return true;
}

static bool tag_key_is_valid(const char *key)
{
	size_t chars = utf8_chars(key);
	return chars >= 1 && chars <= TAG_KEY_CHARS_MAX && tag_text_is_valid(key) &&
	       strncasecmp(key, "aws:", 4) != 0;
}

/* A Tags map: string values, keys and values by AWS's rules, at most 50. */
static bool tags_are_valid(json_t *tags, struct ctl_sqs_result *out)
{
	const char *key;
	json_t *value;
	if (!json_is_object(tags) || json_object_size(tags) > TAGS_PER_QUEUE_MAX) {
		fail(out, &INVALID_PARAMETER, "Tags must be a map of at most 50 tags");
		return false;
	}
	json_object_foreach(tags, key, value)
	{
		const char *text = json_string_value(value);
		if (!tag_key_is_valid(key) || text == NULL ||
		    utf8_chars(text) > TAG_VALUE_CHARS_MAX || !tag_text_is_valid(text)) {
			fail(out, &INVALID_PARAMETER,
			     "A tag key is 1-128 characters and does not begin with aws:, a value "
			     "0-256; both letters, digits, spaces and _ . : / = + - @");
			return false;
		}
	}
	return true;
}

static int tags_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int tags_table(sqlite3 *db)
{
	return tags_exec(db, "CREATE TABLE IF NOT EXISTS queue_tags (queue_id INTEGER NOT NULL,"
	                     " key TEXT NOT NULL, value TEXT NOT NULL,"
	                     " PRIMARY KEY (queue_id, key));");
}

/* One statement per tag (bounded by the map's 50), then the count checked, atomically. */
static int tags_write(sqlite3 *db, const char *sql, int64_t queue_id, json_t *tags_or_keys)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int rc = 0;
	size_t i;
	const char *key;
	json_t *value;
	if (json_is_array(tags_or_keys)) {
		json_array_foreach(tags_or_keys, i, value)
		{
			sqlite3_bind_int64(st, 1, queue_id);
			sqlite3_bind_text(st, 2, json_string_value(value), -1, SQLITE_STATIC);
			rc = rc != 0 || sqlite3_step(st) != SQLITE_DONE ? -EIO : 0;
			sqlite3_reset(st);
		}
	} else {
		json_object_foreach(tags_or_keys, key, value)
		{
			sqlite3_bind_int64(st, 1, queue_id);
			sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, json_string_value(value), -1, SQLITE_STATIC);
			rc = rc != 0 || sqlite3_step(st) != SQLITE_DONE ? -EIO : 0;
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int64_t tags_count(sqlite3 *db, int64_t queue_id)
{
	sqlite3_stmt *st;
	int64_t count = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM queue_tags WHERE queue_id = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, queue_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return count;
}

/* Adds or replaces tags; the queue then has at most 50, else nothing changes. */
static int tags_set(struct ctl_store *store, int64_t queue_id, json_t *tags,
                    struct ctl_sqs_result *out)
{
	sqlite3 *db = ctl_store_db(store);
	if (tags_table(db) != 0 || tags_exec(db, "BEGIN IMMEDIATE") != 0) {
		fail(out, &INTERNAL, "the store failed");
		return -EIO;
	}
	int rc = tags_write(db, "INSERT OR REPLACE INTO queue_tags VALUES (?, ?, ?)", queue_id,
	                    tags);
	int64_t count = rc == 0 ? tags_count(db, queue_id) : -1;
	if (count < 0 || count > TAGS_PER_QUEUE_MAX || tags_exec(db, "COMMIT") != 0) {
		tags_exec(db, "ROLLBACK");
		if (count > TAGS_PER_QUEUE_MAX)
			fail(out, &INVALID_PARAMETER, "A queue has at most 50 tags");
		else
			fail(out, &INTERNAL, "the store failed");
		return count > TAGS_PER_QUEUE_MAX ? -E2BIG : -EIO;
	}
	return 0;
}

/* The queue a call names, with its id; false when it was answered with an error. */
static bool tagged_queue(const struct ctl_sqs_context *c, json_t *request, struct ctl_queue *q,
                         struct ctl_sqs_result *out)
{
	const char *name = queue_from_url(request, out);
	if (name == NULL)
		return false;
	if (ctl_store_get_queue(c->store, name, q) != 0) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return false;
	}
	return true;
}

static void tag_queue(const struct ctl_sqs_context *c, json_t *request, struct ctl_sqs_result *out)
{
	struct ctl_queue q;
	if (!tagged_queue(c, request, &q, out))
		return;
	json_t *tags = json_object_get(request, "Tags");
	if (tags == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter Tags.");
		return;
	}
	if (!tags_are_valid(tags, out) || tags_set(c->store, q.id, tags, out) != 0)
		return;
	succeed(out, json_object());
}

static void untag_queue(const struct ctl_sqs_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	struct ctl_queue q;
	if (!tagged_queue(c, request, &q, out))
		return;
	json_t *keys = json_object_get(request, "TagKeys");
	size_t i;
	json_t *key;
	bool valid = json_is_array(keys) && json_array_size(keys) <= TAGS_PER_QUEUE_MAX;
	json_array_foreach(keys, i, key)
	{
		valid = valid && json_is_string(key);
	}
	if (!valid) {
		fail(out, &INVALID_PARAMETER, "TagKeys must be a list of at most 50 keys");
		return;
	}
	sqlite3 *db = ctl_store_db(c->store);
	if (tags_table(db) != 0 ||
	    tags_write(db, "DELETE FROM queue_tags WHERE queue_id = ? AND key = ?", q.id, keys)) {
		fail(out, &INTERNAL, "the store failed");
		return;
	}
	succeed(out, json_object());
}

static void list_queue_tags(const struct ctl_sqs_context *c, json_t *request,
                            struct ctl_sqs_result *out)
{
	struct ctl_queue q;
	if (!tagged_queue(c, request, &q, out))
		return;
	sqlite3 *db = ctl_store_db(c->store);
	sqlite3_stmt *st;
	if (tags_table(db) != 0 ||
	    sqlite3_prepare_v2(db, "SELECT key, value FROM queue_tags WHERE queue_id = ?", -1, &st,
	                       NULL) != SQLITE_OK) {
		fail(out, &INTERNAL, "the store failed");
		return;
	}
	sqlite3_bind_int64(st, 1, q.id);
	json_t *tags = json_object();
	/* Bounded: a queue has at most 50 tags. */
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(tags, (const char *)sqlite3_column_text(st, 0),
		                    json_string((const char *)sqlite3_column_text(st, 1)));
	sqlite3_finalize(st);
	succeed(out, json_pack("{s:o}", "Tags", tags));
}

static void create_queue(const struct ctl_sqs_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	const char *name = json_string_value(json_object_get(request, "QueueName"));
	if (name == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter QueueName.");
		return;
	}
	size_t length = strlen(name);
	if (!bb_queue_name_is_valid((const uint8_t *)name, length)) {
		fail(out, &INVALID_PARAMETER,
		     "Queue names are 1-80 characters: alphanumerics, hyphens and underscores, "
		     "and a FIFO queue's end in .fifo");
		return;
	}
	json_t *tags = json_object_get(request, "tags");
	if (tags != NULL && !tags_are_valid(tags, out))
		return;
	struct ctl_queue q = {
	    .visibility_timeout_s = BB_VISIBILITY_TIMEOUT_S_DEFAULT,
	    .receive_wait_time_s = 0,
	    .maximum_message_bytes = BB_MESSAGE_BODY_BYTES_MAX,
	    .retention_s = WIRE_RETENTION_S_DEFAULT,
	};
	snprintf(q.name, sizeof(q.name), "%s", name);
	json_t *attributes = json_object_get(request, "Attributes");
	if (!apply_attributes(attributes, &q, true, out) || !check_fifo(&q, out) ||
	    !check_redrive(c, &q, json_string_value(json_object_get(attributes, "RedrivePolicy")),
	                   out))
		return;
	struct ctl_queue existing;
	int rc = ctl_store_create_queue(c->store, &q, &existing);
	/* As SQS: creating an existing queue with the same attributes returns its URL. */
	if (rc == -EEXIST && !same_settings(&q, &existing)) {
		fail(out, &QUEUE_NAME_EXISTS,
		     "A queue already exists with the same name and a different value for an "
		     "attribute");
		return;
	}
	if (rc == -ENOSPC) {
		char message[128];
		snprintf(message, sizeof(message),
		         "busbar holds at most %u queues: delete one to create another",
		         BB_QUEUE_COUNT_MAX);
		fail(out, &OVER_LIMIT, message);
		return;
	}
	if (rc != 0 && rc != -EEXIST) {
		fail(out, &INTERNAL, "the store failed");
		return;
	}
	out->changed = rc == 0;
	/* As SQS: the tags of a create are those of a new queue; an existing one keeps its own. */
	if (rc == 0 && tags != NULL && json_object_size(tags) > 0 &&
	    (ctl_store_get_queue(c->store, name, &existing) != 0 ||
	     tags_set(c->store, existing.id, tags, out) != 0))
		return;
	succeed(out, json_pack("{s:o}", "QueueUrl", queue_url(c, name)));
}

static void delete_queue(const struct ctl_sqs_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	const char *name = queue_from_url(request, out);
	if (name == NULL)
		return;
	int rc = ctl_store_delete_queue(c->store, name);
	if (rc == -ENOENT) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return;
	}
	if (rc != 0) {
		fail(out, &INTERNAL, "the store failed");
		return;
	}
	out->changed = true;
	succeed(out, json_object());
}

/* Lists a page of queues: prefix (ListQueues) or dead-letter queue (its sources). */
typedef int (*queue_lister)(struct ctl_store *store, const char *filter, const char *after,
                            size_t limit, struct ctl_queue **out, size_t *count);

static int list_by_prefix(struct ctl_store *store, const char *prefix, const char *after,
                          size_t limit, struct ctl_queue **out, size_t *count)
{
	return ctl_store_list_queues(store, prefix, after, limit, out, count);
}

/*
 * As SQS: up to 1,000 URLs under urls_key; with MaxResults, a page of that many and a
 * NextToken while more follow. The token is the last name of the page.
 */
static void list_page(const struct ctl_sqs_context *c, json_t *request, queue_lister lister,
                      const char *filter, const char *urls_key, struct ctl_sqs_result *out)
{
	json_t *max_results = json_object_get(request, "MaxResults");
	json_int_t max = max_results ? json_integer_value(max_results) : CTL_LIST_QUEUES_MAX;
	if (max < 1 || max > CTL_LIST_QUEUES_MAX) {
		fail(out, &INVALID_PARAMETER, "MaxResults must be 1-1000");
		return;
	}
	json_t *token = json_object_get(request, "NextToken");
	const char *after = json_string_value(token);
	if (token != NULL && (after == NULL || !bb_queue_name_is_valid((const uint8_t *)after,
	                                                               strlen(after)))) {
		fail(out, &INVALID_PARAMETER, "Invalid NextToken");
		return;
	}
	/* One more than the page tells whether another page follows. */
	size_t limit = (size_t)max + (max_results != NULL ? 1 : 0);
	struct ctl_queue *queues;
	size_t count;
	if (lister(c->store, filter, after, limit, &queues, &count) != 0) {
		fail(out, &INTERNAL, "the store failed");
		return;
	}
	json_t *urls = json_array();
	for (size_t i = 0; i < count && i < (size_t)max; i++)
		json_array_append_new(urls, queue_url(c, queues[i].name));
	json_t *body = json_pack("{s:o}", urls_key, urls);
	if (count > (size_t)max)
		json_object_set_new(body, "NextToken", json_string(queues[max - 1].name));
	free(queues);
	succeed(out, body);
}

static void list_queues(const struct ctl_sqs_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	const char *prefix = json_string_value(json_object_get(request, "QueueNamePrefix"));
	list_page(c, request, list_by_prefix, prefix, "QueueUrls", out);
}

/* The queues whose RedrivePolicy names this one (AWS's result key is queueUrls). */
static void list_dead_letter_source_queues(const struct ctl_sqs_context *c, json_t *request,
                                           struct ctl_sqs_result *out)
{
	struct ctl_queue dlq;
	if (!tagged_queue(c, request, &dlq, out))
		return;
	list_page(c, request, ctl_store_list_dead_letter_sources, dlq.name, "queueUrls", out);
}

static void get_queue_url(const struct ctl_sqs_context *c, json_t *request,
                          struct ctl_sqs_result *out)
{
	const char *name = json_string_value(json_object_get(request, "QueueName"));
	struct ctl_queue q;
	if (name == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter QueueName.");
		return;
	}
	if (ctl_store_get_queue(c->store, name, &q) != 0) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return;
	}
	succeed(out, json_pack("{s:o}", "QueueUrl", queue_url(c, name)));
}

static json_t *queue_attributes(const struct ctl_queue *q)
{
	json_t *a = json_object();
	json_object_set_new(a, "QueueArn", queue_arn(q->name));
	json_object_set_new(a, "VisibilityTimeout", json_sprintf("%u", q->visibility_timeout_s));
	json_object_set_new(a, "ReceiveMessageWaitTimeSeconds",
	                    json_sprintf("%u", q->receive_wait_time_s));
	json_object_set_new(a, "MaximumMessageSize", json_sprintf("%u", q->maximum_message_bytes));
	json_object_set_new(a, "CreatedTimestamp", json_sprintf("%lld", (long long)q->created_s));
	json_object_set_new(a, "LastModifiedTimestamp",
	                    json_sprintf("%lld", (long long)q->modified_s));
	json_object_set_new(a, "DelaySeconds", json_sprintf("%u", q->delay_s));
	json_object_set_new(a, "MessageRetentionPeriod", json_sprintf("%u", q->retention_s));
	json_object_set_new(a, DURABILITY_ATTRIBUTE, json_string(q->memory ? "memory" : "disk"));
	if (q->dead_letter_queue[0] != '\0')
		json_object_set_new(a, "RedrivePolicy",
		                    json_sprintf("{\"deadLetterTargetArn\":\"arn:aws:sqs:" REGION
		                                 ":" ACCOUNT_ID ":%s\",\"maxReceiveCount\":%u}",
		                                 q->dead_letter_queue, q->max_receive_count));
	if (q->redrive_allow_policy[0] != '\0')
		json_object_set_new(a, "RedriveAllowPolicy", json_string(q->redrive_allow_policy));
	if (q->fifo) {
		json_object_set_new(a, "FifoQueue", json_string("true"));
		json_object_set_new(a, "ContentBasedDeduplication",
		                    json_string(q->content_based_deduplication ? "true" : "false"));
		json_object_set_new(a, "DeduplicationScope",
		                    json_string(q->dedup_per_group ? "messageGroup" : "queue"));
		json_object_set_new(
		    a, "FifoThroughputLimit",
		    json_string(q->throughput_per_group ? "perMessageGroupId" : "perQueue"));
	}
	return a;
}

/* Keeps the attributes named in AttributeNames ("All" keeps every one). */
static json_t *select_attributes(json_t *all, json_t *names)
{
	if (!json_is_array(names) || json_array_size(names) == 0) {
		json_decref(all);
		return json_object();
	}
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name)
	{
		if (json_is_string(name) && strcmp(json_string_value(name), "All") == 0)
			return all;
	}
	json_t *chosen = json_object();
	json_array_foreach(names, i, name)
	{
		json_t *value =
		    json_object_get(all, json_string_value(name) ? json_string_value(name) : "");
		if (value != NULL)
			json_object_set(chosen, json_string_value(name), value);
	}
	json_decref(all);
	return chosen;
}

static void get_queue_attributes(const struct ctl_sqs_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	const char *name = queue_from_url(request, out);
	struct ctl_queue q;
	if (name == NULL)
		return;
	if (ctl_store_get_queue(c->store, name, &q) != 0) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return;
	}
	json_t *attributes =
	    select_attributes(queue_attributes(&q), json_object_get(request, "AttributeNames"));
	succeed(out, json_pack("{s:o}", "Attributes", attributes));
}

static void set_queue_attributes(const struct ctl_sqs_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	struct ctl_queue q;
	if (!tagged_queue(c, request, &q, out))
		return;
	json_t *attributes = json_object_get(request, "Attributes");
	if (attributes == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter Attributes.");
		return;
	}
	struct ctl_queue changed = q;
	if (!apply_attributes(attributes, &changed, false, out) || !check_fifo(&changed, out) ||
	    !check_redrive(c, &changed,
	                   json_string_value(json_object_get(attributes, "RedrivePolicy")), out))
		return;
	if (same_settings(&q, &changed)) {
		succeed(out, json_object());
		return;
	}
	if (ctl_store_update_queue(c->store, &changed) != 0) {
		fail(out, &QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
		return;
	}
	out->changed = true;
	succeed(out, json_object());
}

void ctl_sqs_handle(const struct ctl_sqs_context *c, const char *target, const char *request,
                    size_t request_bytes, struct ctl_sqs_result *out)
{
	static const struct {
		const char *target;
		void (*handle)(const struct ctl_sqs_context *, json_t *, struct ctl_sqs_result *);
	} operations[] = {
	    {"AmazonSQS.CreateQueue", create_queue},
	    {"AmazonSQS.DeleteQueue", delete_queue},
	    {"AmazonSQS.ListQueues", list_queues},
	    {"AmazonSQS.GetQueueUrl", get_queue_url},
	    {"AmazonSQS.GetQueueAttributes", get_queue_attributes},
	    {"AmazonSQS.SetQueueAttributes", set_queue_attributes},
	    {"AmazonSQS.TagQueue", tag_queue},
	    {"AmazonSQS.UntagQueue", untag_queue},
	    {"AmazonSQS.ListQueueTags", list_queue_tags},
	    {"AmazonSQS.ListDeadLetterSourceQueues", list_dead_letter_source_queues},
	};
	memset(out, 0, sizeof(*out));
	if (request_bytes > CTL_REQUEST_BYTES_MAX) {
		fail(out, &SERIALIZATION, "request body too large");
		return;
	}
	json_t *body = json_loadb(request, request_bytes, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		{
			fail(out, &SERIALIZATION, "the request body is not a JSON object");
			return;
		}
	}
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
		if (target != NULL && strcmp(target, operations[i].target) == 0) {
			operations[i].handle(c, body, out);
			json_decref(body);
			return;
		}
	}
	json_decref(body);
	fail(out, &UNKNOWN_OPERATION, "unknown or unsupported X-Amz-Target");
}

const char *ctl_sqs_queue_from_arn(const char *arn)
{
	return queue_from_arn(arn);
}

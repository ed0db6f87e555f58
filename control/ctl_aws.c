/*
 * AWS request formats and answers (see ctl_aws.h). Every protocol is brought
 * to the JSON 1.0 shape of the request (query's Attribute.1.Name=... becomes
 * "Attributes": {...}), so ctl_sqs.c and the data calls read one shape, and
 * every answer is rendered back from JSON: XML for query, as SQS writes it.
 * Nothing here trusts its input: a malformed form or JSON is AWS's error.
 */
#include "ctl_aws.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctl_events.h"
#include "ctl_keys_api.h"

#define SQS_XMLNS      "http://queue.amazonaws.com/doc/2012-11-05/"
#define SNS_XMLNS      "http://sns.amazonaws.com/doc/2010-03-31/"
#define SNS_VERSION    "2010-03-31"
#define FORM_INDEX_MAX CTL_AWS_FORM_PARAMS_MAX /* Attribute.N: N is at most this */

const struct ctl_aws_error CTL_AWS_MALFORMED_QUERY = {
    400, "MalformedQueryString", "com.amazon.coral.service#MalformedQueryString", true};
const struct ctl_aws_error CTL_AWS_SERIALIZATION = {
    400, "SerializationException", "com.amazon.coral.service#SerializationException", true};
const struct ctl_aws_error CTL_AWS_INVALID_ACTION = {
    400, "InvalidAction", "com.amazon.coral.service#InvalidAction", true};
const struct ctl_aws_error CTL_AWS_UNKNOWN_OPERATION = {
    400, "UnknownOperationException", "com.amazon.coral.service#UnknownOperationException", true};
const struct ctl_aws_error CTL_AWS_MISSING_ACTION = {
    400, "MissingAction", "com.amazon.coral.service#MissingAction", true};
const struct ctl_aws_error CTL_AWS_TOO_LARGE = {
    413, "RequestEntityTooLarge", "com.amazon.coral.service#RequestEntityTooLarge", true};
const struct ctl_aws_error CTL_AWS_INVALID_PARAMETER = {
    400, "InvalidParameterValue", "com.amazonaws.sqs#InvalidParameterValue", true};
const struct ctl_aws_error CTL_AWS_MISSING_PARAMETER = {400, "MissingParameter",
                                                        "com.amazonaws.sqs#MissingParameter", true};
const struct ctl_aws_error CTL_AWS_INVALID_ADDRESS = {400, "InvalidAddress",
                                                      "com.amazonaws.sqs#InvalidAddress", true};
const struct ctl_aws_error CTL_AWS_NONEXISTENT_QUEUE = {
    400, "AWS.SimpleQueueService.NonExistentQueue", "com.amazonaws.sqs#QueueDoesNotExist", true};
const struct ctl_aws_error CTL_AWS_SERVICE_UNAVAILABLE = {
    503, "ServiceUnavailable", "com.amazon.coral.availability#ServiceUnavailableException", false};
const struct ctl_aws_error CTL_AWS_INTERNAL = {500, "InternalError",
                                               "com.amazonaws.sqs#InternalError", false};
const struct ctl_aws_error CTL_AWS_MISSING_TOKEN = {
    403, "MissingAuthenticationToken",
    "com.amazon.coral.service#MissingAuthenticationTokenException", true};
const struct ctl_aws_error CTL_AWS_INCOMPLETE_SIGNATURE = {
    400, "IncompleteSignature", "com.amazon.coral.service#IncompleteSignatureException", true};
const struct ctl_aws_error CTL_AWS_INVALID_CLIENT_TOKEN = {
    403, "InvalidClientTokenId", "com.amazon.coral.service#UnrecognizedClientException", true};
const struct ctl_aws_error CTL_AWS_SIGNATURE_MISMATCH = {
    403, "SignatureDoesNotMatch", "com.amazon.coral.service#InvalidSignatureException", true};
const struct ctl_aws_error CTL_AWS_REQUEST_EXPIRED = {
    400, "RequestExpired", "com.amazon.coral.service#RequestExpired", true};
const struct ctl_aws_error CTL_AWS_ACCESS_DENIED = {
    403, "AccessDenied", "com.amazon.coral.service#AccessDeniedException", true};

/* The SQS actions busbar serves; every other is AWS's unknown-operation error. */
static const struct {
	const char *action;
	enum ctl_aws_kind kind;
} SQS_ACTIONS[] = {
    {"CreateQueue", CTL_AWS_MANAGE},
    {"DeleteQueue", CTL_AWS_MANAGE},
    {"ListQueues", CTL_AWS_MANAGE},
    {"GetQueueUrl", CTL_AWS_MANAGE},
    {"GetQueueAttributes", CTL_AWS_MANAGE},
    {"SetQueueAttributes", CTL_AWS_MANAGE},
    {"TagQueue", CTL_AWS_MANAGE},
    {"UntagQueue", CTL_AWS_MANAGE},
    {"ListQueueTags", CTL_AWS_MANAGE},
    {"ListDeadLetterSourceQueues", CTL_AWS_MANAGE},
    {"StartMessageMoveTask", CTL_AWS_MANAGE}, /* ctl_move.c */
    {"ListMessageMoveTasks", CTL_AWS_MANAGE},
    {"CancelMessageMoveTask", CTL_AWS_MANAGE},
    {"PurgeQueue", CTL_AWS_DATA},
    {"SendMessage", CTL_AWS_DATA},
    {"ReceiveMessage", CTL_AWS_DATA},
    {"DeleteMessage", CTL_AWS_DATA},
    {"ChangeMessageVisibility", CTL_AWS_DATA},
    {"SendMessageBatch", CTL_AWS_DATA},
    {"DeleteMessageBatch", CTL_AWS_DATA},
    {"ChangeMessageVisibilityBatch", CTL_AWS_DATA},
};

/* The SNS management actions (ctl_sns.c); every other is AWS's invalid-action error. */
static const char *const SNS_MANAGE_ACTIONS[] = {
    "CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes",
    "Subscribe", "Unsubscribe", "ConfirmSubscription", "ListSubscriptions",
    "ListSubscriptionsByTopic", "GetSubscriptionAttributes", "SetSubscriptionAttributes",
    "TagResource", "UntagResource", "ListTagsForResource",
};

/* Query parameters that are numbers in the JSON shape. */
static const char *const INTEGER_PARAMS[] = {
    "MaxResults", "DelaySeconds", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds",
    "MaxNumberOfMessagesPerSecond",
};

/* Indexed query lists (Name.N) and the JSON array each becomes. */
static const struct {
	const char *prefix;
	const char *json_name;
} LIST_PARAMS[] = {
    {"AttributeName.", "AttributeNames"},
    {"MessageSystemAttributeName.", "MessageSystemAttributeNames"},
    {"MessageAttributeName.", "MessageAttributeNames"},
    {"TagKey.", "TagKeys"}, /* UntagQueue */
};

/* Indexed query maps (Prefix.N.Key=..., Prefix.N.Value=...) and the JSON object each
 * becomes. */
static const struct {
	const char *prefix;
	const char *key;
	const char *json_name;
} MAP_PARAMS[] = {
    {"Attribute.", "Name", "Attributes"},
    {"Tag.", "Key", "tags"},
    {"MessageAttribute.", "Name", "MessageAttributes"},
    {"MessageSystemAttribute.", "Name", "MessageSystemAttributes"}, /* AWSTraceHeader */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes %XX and '+' into out (at least bytes + 1); -EINVAL on a bad escape or a NUL. */
static int form_unescape(const char *text, size_t bytes, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < bytes; i++) {
		char c = text[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < bytes ? hex_value(text[i + 1]) : -1;
			int lo = i + 2 < bytes ? hex_value(text[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

json_t *ctl_aws_form_decode(const char *text, size_t bytes)
{
	json_t *form = json_object();
	char *name = malloc(bytes + 1);
	char *value = malloc(bytes + 1);
	size_t start = 0;
	uint32_t count = 0;
	bool ok = form != NULL && name != NULL && value != NULL;
	while (ok && start < bytes) { /* bounded: start moves past each pair */
		const char *pair = text + start;
		const char *amp = memchr(pair, '&', bytes - start);
		size_t pair_bytes = amp ? (size_t)(amp - pair) : bytes - start;
		start += pair_bytes + 1;
		if (pair_bytes == 0)
			continue;
		const char *eq = memchr(pair, '=', pair_bytes);
		size_t name_bytes = eq ? (size_t)(eq - pair) : pair_bytes;
		ok = ++count <= (uint32_t)CTL_AWS_FORM_PARAMS_MAX && name_bytes > 0 &&
		     form_unescape(pair, name_bytes, name) == 0 &&
		     form_unescape(eq ? eq + 1 : "", eq ? pair_bytes - name_bytes - 1 : 0, value) ==
		         0;
		if (ok && json_object_get(form, name) == NULL)
			ok = json_object_set_new(form, name, json_string(value)) == 0;
	}
	free(name);
	free(value);
	if (!ok) {
		json_decref(form);
		return NULL;
	}
	return form;
}

/* A plain decimal (at most 9 digits, so it fits), else -1. */
static long long plain_number(const char *text)
{
	size_t length = strlen(text);
	if (length == 0 || length > 9)
		return -1;
	long long n = 0;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		n = n * 10 + (text[i] - '0');
	}
	return n;
}

/* "Prefix.N.rest": N (1..FORM_INDEX_MAX) and where rest starts, or 0. */
static long long indexed(const char *name, const char *prefix, const char **rest)
{
	size_t prefix_bytes = strlen(prefix);
	if (strncmp(name, prefix, prefix_bytes) != 0)
		return 0;
	char digits[12];
	const char *p = name + prefix_bytes;
	size_t n = strcspn(p, ".");
	if (n == 0 || n >= sizeof(digits))
		return 0;
	memcpy(digits, p, n);
	digits[n] = '\0';
	long long index = plain_number(digits);
	if (index < 1 || index > FORM_INDEX_MAX)
		return 0;
	*rest = p + n;
	return index;
}

/* Adds a list element or map part to its holder (keyed by N, ordered later). */
static bool gather_indexed(json_t *gathered, const char *name, json_t *value)
{
	const char *rest;
	char key[24];
	for (size_t i = 0; i < sizeof(LIST_PARAMS) / sizeof(LIST_PARAMS[0]); i++) {
		long long n = indexed(name, LIST_PARAMS[i].prefix, &rest);
		if (n > 0 && *rest == '\0') {
			json_t *list = json_object_get(gathered, LIST_PARAMS[i].json_name);
			snprintf(key, sizeof(key), "%lld", n);
			json_object_set(list, key, value);
			return true;
		}
	}
	for (size_t i = 0; i < sizeof(MAP_PARAMS) / sizeof(MAP_PARAMS[0]); i++) {
		long long n = indexed(name, MAP_PARAMS[i].prefix, &rest);
		if (n > 0 && rest[0] == '.' && rest[1] != '\0') {
			json_t *map = json_object_get(gathered, MAP_PARAMS[i].json_name);
			snprintf(key, sizeof(key), "%lld", n);
			json_t *entry = json_object_get(map, key);
			if (entry == NULL) {
				entry = json_object();
				json_object_set_new(map, key, entry);
			}
			json_object_set(entry, rest + 1, value);
			return true;
		}
	}
	return false;
}

/* Orders the gathered N-keyed parts into the JSON 1.0 arrays and maps. */
static void finish_indexed(json_t *gathered, json_t *params)
{
	char key[24];
	for (size_t i = 0; i < sizeof(LIST_PARAMS) / sizeof(LIST_PARAMS[0]); i++) {
		json_t *parts = json_object_get(gathered, LIST_PARAMS[i].json_name);
		json_t *list = json_array();
		for (unsigned n = 1; n <= FORM_INDEX_MAX && json_object_size(parts) > 0; n++) {
			snprintf(key, sizeof(key), "%u", n);
			if (json_object_get(parts, key) != NULL)
				json_array_append(list, json_object_get(parts, key));
		}
		if (json_array_size(list) > 0)
			json_object_set(params, LIST_PARAMS[i].json_name, list);
		json_decref(list);
	}
	for (size_t i = 0; i < sizeof(MAP_PARAMS) / sizeof(MAP_PARAMS[0]); i++) {
		json_t *parts = json_object_get(gathered, MAP_PARAMS[i].json_name);
		json_t *map = json_object();
		const char *n;
		json_t *entry;
		json_object_foreach(parts, n, entry)
		{
			const char *k =
			    json_string_value(json_object_get(entry, MAP_PARAMS[i].key));
			json_t *v = json_object_get(entry, "Value");
			if (k == NULL)
				continue;
			if (v == NULL) { /* MessageAttribute.N.Value.StringValue and the like */
				v = json_deep_copy(entry);
				json_object_del(v, MAP_PARAMS[i].key);
				json_object_set_new(map, k, v);
			} else {
				json_object_set(map, k, v);
			}
		}
		if (json_object_size(map) > 0)
			json_object_set(params, MAP_PARAMS[i].json_name, map);
		json_decref(map);
	}
}

static bool is_integer_param(const char *name)
{
	for (size_t i = 0; i < sizeof(INTEGER_PARAMS) / sizeof(INTEGER_PARAMS[0]); i++) {
		if (strcmp(name, INTEGER_PARAMS[i]) == 0)
			return true;
	}
	return false;
}

/* Query parameters in the JSON 1.0 shape; Action, Version and the signature's are left. */
static json_t *form_to_params(json_t *form)
{
	json_t *params = json_object();
	json_t *gathered = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}, s:{}, s:{}, s:{}}",
	                             "AttributeNames", "MessageSystemAttributeNames",
	                             "MessageAttributeNames", "TagKeys", "Attributes", "tags",
	                             "MessageAttributes", "MessageSystemAttributes");
	const char *name;
	json_t *value;
	json_object_foreach(form, name, value)
	{
		const char *text = json_string_value(value);
		if (strcmp(name, "Action") == 0 || strcmp(name, "Version") == 0 ||
		    strncmp(name, "X-Amz-", 6) == 0 || gather_indexed(gathered, name, value))
			continue;
		long long n = is_integer_param(name) ? plain_number(text) : -1;
		if (n >= 0)
			json_object_set_new(params, name, json_integer(n));
		else
			json_object_set(params, name, value);
	}
	finish_indexed(gathered, params);
	json_decref(gathered);
	return params;
}

/* True for SQS's batch actions, whose entries query sends as "<Action>RequestEntry.N.*". */
static bool is_sqs_batch(const char *action)
{
	return strcmp(action, "SendMessageBatch") == 0 || strcmp(action, "DeleteMessageBatch") == 0 ||
	       strcmp(action, "ChangeMessageVisibilityBatch") == 0;
}

/*
 * Folds a query batch's "<Action>RequestEntry.N.<field>" into JSON 1.0's "Entries", N
 * ascending; each entry's own fields become its JSON shape as a request's do
 * (form_to_params: MessageAttribute.M.* a map, DelaySeconds a number). Their flat copies
 * leave params.
 */
static void fold_batch_entries(json_t *form, const char *action, json_t *params)
{
	char prefix[CTL_AWS_ACTION_BYTES_MAX + 16];
	snprintf(prefix, sizeof(prefix), "%sRequestEntry.", action);
	json_t *parts = json_object();
	const char *name, *rest;
	json_t *value;
	json_object_foreach(form, name, value)
	{
		long long n = indexed(name, prefix, &rest);
		if (n == 0)
			continue;
		json_object_del(params, name);
		if (rest[0] != '.' || rest[1] == '\0')
			continue; /* "<prefix>N" alone names no field */
		char key[24];
		snprintf(key, sizeof(key), "%lld", n);
		json_t *entry = json_object_get(parts, key);
		if (entry == NULL) {
			entry = json_object();
			json_object_set_new(parts, key, entry);
		}
		json_object_set(entry, rest + 1, value);
	}
	json_t *entries = json_array();
	for (unsigned n = 1; n <= FORM_INDEX_MAX && json_array_size(entries) < json_object_size(parts);
	     n++) {
		char key[24];
		snprintf(key, sizeof(key), "%u", n);
		json_t *entry = json_object_get(parts, key);
		if (entry != NULL)
			json_array_append_new(entries, form_to_params(entry));
	}
	/* An empty list is "Entries=" in query (botocore's): no entries, not a string. */
	if (json_string_length(json_object_get(params, "Entries")) == 0)
		json_object_del(params, "Entries");
	if (json_array_size(entries) > 0)
		json_object_set(params, "Entries", entries);
	json_decref(entries);
	json_decref(parts);
}

static bool action_is_word(const char *action)
{
	size_t length = strlen(action);
	if (length == 0 || length > CTL_AWS_ACTION_BYTES_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!isalpha((unsigned char)action[i]))
			return false;
	}
	return true;
}

static enum ctl_aws_kind sqs_kind(const char *action)
{
	for (size_t i = 0; i < sizeof(SQS_ACTIONS) / sizeof(SQS_ACTIONS[0]); i++) {
		if (strcmp(action, SQS_ACTIONS[i].action) == 0)
			return SQS_ACTIONS[i].kind;
	}
	return CTL_AWS_UNSUPPORTED;
}

static enum ctl_aws_kind sns_kind(const char *action)
{
	if (strcmp(action, "Publish") == 0 || strcmp(action, "PublishBatch") == 0)
		return CTL_AWS_DATA; /* to busbard (ctl_sns_data.c) */
	for (size_t i = 0; i < sizeof(SNS_MANAGE_ACTIONS) / sizeof(SNS_MANAGE_ACTIONS[0]); i++) {
		if (strcmp(action, SNS_MANAGE_ACTIONS[i]) == 0)
			return CTL_AWS_MANAGE;
	}
	return CTL_AWS_UNSUPPORTED;
}

static bool media_type_is(const char *content_type, const char *type)
{
	size_t length = strlen(type);
	if (content_type == NULL || strncasecmp(content_type, type, length) != 0)
		return false;
	return content_type[length] == '\0' || content_type[length] == ';' ||
	       content_type[length] == ' ';
}

static int refuse(const struct ctl_aws_error *e, const char *text,
                  const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	*error = e;
	snprintf(message, message_bytes, "%s", text);
	return -EINVAL;
}

static int parse_json(const char *content_type, const char *target, const char *body,
                      size_t body_bytes, struct ctl_aws_request *out,
                      const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	const char *dot = strchr(target, '.');
	bool events = strncmp(target, "AWSEvents.", 10) == 0;
	out->protocol = events ? CTL_AWS_JSON_11 : CTL_AWS_JSON_10;
	/* AmazonSNS.*: busbar's own JSON 1.0 shape of SNS, which the busbar command speaks
	 * (SNS itself speaks only query; docs/aws-api.md). */
	bool sns = strncmp(target, "AmazonSNS.", 10) == 0;
	bool keys = ctl_keys_api_handles(target);
	out->service = events ? CTL_AWS_EVENTS : sns ? CTL_AWS_SNS : CTL_AWS_SQS;
	if (keys)
		out->service = CTL_AWS_KEYS;
	const char *media = events ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
	bool sqs = strncmp(target, "AmazonSQS.", 10) == 0;
	if (dot == NULL || (!sqs && !events && !sns && !keys) || !action_is_word(dot + 1))
		return refuse(&CTL_AWS_UNKNOWN_OPERATION, "unknown or unsupported X-Amz-Target",
		              error, message, message_bytes);
	if (!media_type_is(content_type, media))
		return refuse(&CTL_AWS_UNKNOWN_OPERATION,
		              "the Content-Type does not match the X-Amz-Target's protocol", error,
		              message, message_bytes);
	snprintf(out->action, sizeof(out->action), "%s", dot + 1);
	out->params = json_loadb(body, body_bytes, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(out->params))
		return refuse(&CTL_AWS_SERIALIZATION, "the request body is not a JSON object",
		              error, message, message_bytes);
	out->kind = sqs ? sqs_kind(out->action) : sns ? sns_kind(out->action) : CTL_AWS_UNSUPPORTED;
	if (events && ctl_events_manages(out->action))
		out->kind = CTL_AWS_MANAGE; /* EventBridge management: ctl_events.c */
	else if (events && strcmp(out->action, "PutEvents") == 0)
		out->kind = CTL_AWS_DATA; /* busbard's: ctl_events_data.c */
	else if (keys && ctl_keys_api_known(out->action))
		out->kind = CTL_AWS_MANAGE; /* from the store: ctl_keys_api.c */
	return 0;
}

static int parse_query(const char *content_type, const char *body, size_t body_bytes, json_t *query,
                       struct ctl_aws_request *out, const struct ctl_aws_error **error,
                       char *message, size_t message_bytes)
{
	out->protocol = CTL_AWS_QUERY;
	out->service = CTL_AWS_SQS;
	bool form = media_type_is(content_type, "application/x-www-form-urlencoded");
	json_t *all = form ? ctl_aws_form_decode(body, body_bytes) : json_object();
	if (all == NULL)
		return refuse(&CTL_AWS_MALFORMED_QUERY, "the form-encoded body is malformed", error,
		              message, message_bytes);
	/* A presigned request carries its parameters in the URL; the body's come first. */
	json_object_update_missing(all, query);
	const char *version = json_string_value(json_object_get(all, "Version"));
	if (version != NULL && strcmp(version, SNS_VERSION) == 0)
		out->service = CTL_AWS_SNS;
	const char *action = json_string_value(json_object_get(all, "Action"));
	/* A SubscribeURL carries no Version; SQS has no such action (docs/sns.md). */
	if (action != NULL && strcmp(action, "ConfirmSubscription") == 0)
		out->service = CTL_AWS_SNS;
	int rc = 0;
	if (action == NULL)
		rc = refuse(
		    &CTL_AWS_MISSING_ACTION,
		    form ? "The request must contain the parameter Action."
		         : "Send Action=... form-encoded (Content-Type "
		           "application/x-www-form-urlencoded), or JSON 1.0 with X-Amz-Target",
		    error, message, message_bytes);
	else if (!action_is_word(action))
		rc = refuse(&CTL_AWS_INVALID_ACTION, "The action is not valid for this endpoint.",
		            error, message, message_bytes);
	if (rc == 0) {
		snprintf(out->action, sizeof(out->action), "%s", action);
		out->kind = out->service == CTL_AWS_SQS ? sqs_kind(action) : sns_kind(action);
		out->params = form_to_params(all);
		if (out->service == CTL_AWS_SQS && is_sqs_batch(action))
			fold_batch_entries(all, action, out->params);
		/* Tag.N.* is CreateQueue's "tags" but TagQueue's "Tags" in JSON 1.0. */
		json_t *tags = json_object_get(out->params, "tags");
		bool tag_queue = out->service == CTL_AWS_SQS && strcmp(action, "TagQueue") == 0;
		if (tag_queue && tags != NULL) {
			json_object_set(out->params, "Tags", tags);
			json_object_del(out->params, "tags");
		}
	}
	json_decref(all);
	return rc;
}

int ctl_aws_parse(const char *content_type, const char *target, const char *body, size_t body_bytes,
                  json_t *query, struct ctl_aws_request *out, const struct ctl_aws_error **error,
                  char *message, size_t message_bytes)
{
	assert(out != NULL && error != NULL);
	assert(body != NULL || body_bytes == 0);
	*out = (struct ctl_aws_request){.protocol = CTL_AWS_QUERY};
	ctl_aws_request_id(out->request_id);
	if (body_bytes > CTL_AWS_BODY_BYTES_MAX) {
		out->protocol = target != NULL ? CTL_AWS_JSON_10 : CTL_AWS_QUERY;
		return refuse(&CTL_AWS_TOO_LARGE, "the request body is too large", error, message,
		              message_bytes);
	}
	if (target != NULL)
		return parse_json(content_type, target, body ? body : "", body_bytes, out, error,
		                  message, message_bytes);
	return parse_query(content_type, body ? body : "", body_bytes, query, out, error, message,
	                   message_bytes);
}

void ctl_aws_request_clear(struct ctl_aws_request *request)
{
	json_decref(request->params);
	request->params = NULL;
}

void ctl_aws_request_id(char out[CTL_AWS_REQUEST_ID_BYTES + 1])
{
	uint8_t b[16] = {0};
	/* A request id need not be secret; a short read leaves zeros, still a valid id. */
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		b[0] ^= 1;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, CTL_AWS_REQUEST_ID_BYTES + 1,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
}

/* ---- rendering ---- */

static void xml_text(FILE *f, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\r': fputs("&#xD;", f); break; /* a parser would make it a newline */
		default: fputc(*p, f);
		}
	}
}

static void xml_element(FILE *f, const char *name, json_t *value)
{
	fprintf(f, "<%s>", name);
	if (json_is_string(value))
		xml_text(f, json_string_value(value));
	else if (json_is_integer(value))
		fprintf(f, "%lld", (long long)json_integer_value(value));
	else if (json_is_boolean(value))
		fputs(json_is_true(value) ? "true" : "false", f);
	fprintf(f, "</%s>", name);
}

static void xml_members(FILE *f, json_t *object);

/* A map as SQS writes it: <Attribute><Name>..</Name><Value>..</Value></Attribute> for
 * attributes, <Tag><Key>..</Key><Value>..</Value></Tag> for tags, and a message's
 * <MessageAttribute><Name>..</Name><Value><DataType>..</DataType>...</Value>. */
static void xml_map(FILE *f, const char *element, const char *key_name, json_t *map)
{
	const char *name;
	json_t *v;
	json_object_foreach(map, name, v)
	{
		fprintf(f, "<%s><%s>", element, key_name);
		xml_text(f, name);
		fprintf(f, "</%s>", key_name);
		if (json_is_object(v)) { /* a message attribute: DataType and its value */
			fputs("<Value>", f);
			xml_members(f, v);
			fputs("</Value>", f);
		} else {
			xml_element(f, "Value", v);
		}
		fprintf(f, "</%s>", element);
	}
}

/* SQS's XML names a list's members in the singular and a map's as Name/Value pairs. */
static void xml_member(FILE *f, const char *key, json_t *value)
{
	if (strcmp(key, "Attributes") == 0 && json_is_object(value)) {
		xml_map(f, "Attribute", "Name", value);
		return;
	}
	if (strcmp(key, "MessageAttributes") == 0 && json_is_object(value)) {
		xml_map(f, "MessageAttribute", "Name", value);
		return;
	}
	if (strcmp(key, "Tags") == 0 && json_is_object(value)) {
		xml_map(f, "Tag", "Key", value);
		return;
	}
	if (json_is_array(value)) {
		char singular[CTL_AWS_ACTION_BYTES_MAX + 1];
		snprintf(singular, sizeof(singular), "%s", key);
		size_t length = strlen(singular);
		if (length > 1 && singular[length - 1] == 's')
			singular[length - 1] = '\0';
		/* ListDeadLetterSourceQueues' queueUrls are <QueueUrl> elements, as all are. */
		singular[0] = (char)toupper((unsigned char)singular[0]);
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item)
		{
			if (json_is_object(item)) {
				fprintf(f, "<%s>", singular);
				xml_members(f, item);
				fprintf(f, "</%s>", singular);
			} else {
				xml_element(f, singular, item);
			}
		}
		return;
	}
	xml_element(f, key, value);
}

static void xml_members(FILE *f, json_t *object)
{
	const char *key;
	json_t *value;
	json_object_foreach(object, key, value) xml_member(f, key, value);
}

/*
 * SNS's XML is not SQS's: a list is wrapped, one <member> per item, and a map is
 * <entry><key>..</key><value>..</value></entry> under its own name.
 */
static void xml_sns_members(FILE *f, json_t *object)
{
	const char *key, *name;
	json_t *value, *v, *item;
	size_t i;
	json_object_foreach(object, key, value)
	{
		if (!json_is_object(value) && !json_is_array(value)) {
			xml_element(f, key, value);
			continue;
		}
		fprintf(f, "<%s>", key);
		json_object_foreach(json_is_object(value) ? value : NULL, name, v)
		{
			fputs("<entry><key>", f);
			xml_text(f, name);
			fputs("</key>", f);
			xml_element(f, "value", v);
			fputs("</entry>", f);
		}
		json_array_foreach(value, i, item)
		{
			fputs("<member>", f);
			if (json_is_object(item))
				xml_sns_members(f, item);
			else if (json_is_string(item))
				xml_text(f, json_string_value(item));
			fputs("</member>", f);
		}
		fprintf(f, "</%s>", key);
	}
}

/* An SQS batch's answer: each Successful entry as <ActionResultEntry>, each Failed one as
 * <BatchResultErrorEntry> (botocore's flattened lists). */
static void xml_sqs_batch(FILE *f, const char *action, json_t *result)
{
	static const char *const lists[] = {"Successful", "Failed"};
	char successful[CTL_AWS_ACTION_BYTES_MAX + 16];
	snprintf(successful, sizeof(successful), "%sResultEntry", action);
	for (size_t l = 0; l < 2; l++) {
		const char *element = l == 0 ? successful : "BatchResultErrorEntry";
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(result, lists[l]), i, item)
		{
			fprintf(f, "<%s>", element);
			xml_members(f, item);
			fprintf(f, "</%s>", element);
		}
	}
}

static const char *xmlns(enum ctl_aws_service service)
{
	return service == CTL_AWS_SNS ? SNS_XMLNS : SQS_XMLNS;
}

static void reply_from_stream(char *buffer, size_t bytes, unsigned status, const char *type,
                              const char *request_id, struct ctl_aws_reply *out)
{
	out->http_status = status;
	out->body = buffer;
	out->body_bytes = bytes;
	out->content_type = type;
	snprintf(out->request_id, sizeof(out->request_id), "%s", request_id);
}

static void render_json(unsigned status, json_t *body, const char *content_type,
                        const char *request_id, struct ctl_aws_reply *out)
{
	char *text = json_dumps(body, JSON_COMPACT);
	assert(text != NULL);
	reply_from_stream(text, strlen(text), status, content_type, request_id, out);
}

static const char *json_media(enum ctl_aws_protocol protocol)
{
	return protocol == CTL_AWS_JSON_11 ? "application/x-amz-json-1.1"
	                                   : "application/x-amz-json-1.0";
}

void ctl_aws_render_result(const struct ctl_aws_request *request, json_t *result,
                           struct ctl_aws_reply *out)
{
	assert(request != NULL && json_is_object(result));
	memset(out, 0, sizeof(*out));
	if (request->protocol != CTL_AWS_QUERY) {
		render_json(200, result, json_media(request->protocol), request->request_id, out);
		return;
	}
	char *buffer = NULL;
	size_t bytes = 0;
	FILE *f = open_memstream(&buffer, &bytes);
	assert(f != NULL);
	fprintf(f, "<?xml version=\"1.0\"?>\n<%sResponse xmlns=\"%s\">", request->action,
	        xmlns(request->service));
	/* SNS's answers always have their Result (botocore wants TagResourceResult, empty). */
	if (json_object_size(result) > 0 || strcmp(request->action, "ReceiveMessage") == 0 ||
	    strcmp(request->action, "ListQueues") == 0 || request->service == CTL_AWS_SNS) {
		fprintf(f, "<%sResult>", request->action);
		if (request->service == CTL_AWS_SNS)
			xml_sns_members(f, result);
		else if (is_sqs_batch(request->action))
			xml_sqs_batch(f, request->action, result);
		else
			xml_members(f, result);
		fprintf(f, "</%sResult>", request->action);
	}
	fprintf(f, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
	        request->request_id, request->action);
	fclose(f);
	reply_from_stream(buffer, bytes, 200, "text/xml", request->request_id, out);
}

static void render_xml_error(enum ctl_aws_service service, const char *request_id, unsigned status,
                             const char *code, bool sender, const char *message,
                             struct ctl_aws_reply *out)
{
	char *buffer = NULL;
	size_t bytes = 0;
	FILE *f = open_memstream(&buffer, &bytes);
	assert(f != NULL);
	fprintf(f,
	        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type>"
	        "<Code>",
	        xmlns(service), sender ? "Sender" : "Receiver");
	xml_text(f, code);
	fputs("</Code><Message>", f);
	xml_text(f, message);
	fprintf(f, "</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>\n",
	        request_id);
	fclose(f);
	reply_from_stream(buffer, bytes, status, "text/xml", request_id, out);
}

void ctl_aws_render_error(enum ctl_aws_protocol protocol, enum ctl_aws_service service,
                          const char *request_id, const struct ctl_aws_error *error,
                          const char *message, struct ctl_aws_reply *out)
{
	assert(error != NULL && message != NULL);
	memset(out, 0, sizeof(*out));
	if (protocol == CTL_AWS_QUERY) {
		render_xml_error(service, request_id, error->http_status, error->code,
		                 error->sender, message, out);
		return;
	}
	json_t *body = json_pack("{s:s, s:s}", "__type", error->json_type, "message", message);
	render_json(error->http_status, body, json_media(protocol), request_id, out);
	json_decref(body);
	snprintf(out->query_error, sizeof(out->query_error), "%s;%s", error->code,
	         error->sender ? "Sender" : "Receiver");
}

void ctl_aws_render_sqs_result(const struct ctl_aws_request *request, unsigned http_status,
                               json_t *body, const char *query_error, struct ctl_aws_reply *out)
{
	assert(request != NULL && body != NULL);
	if (http_status == 200) {
		ctl_aws_render_result(request, body, out);
		return;
	}
	memset(out, 0, sizeof(*out));
	const char *message = json_string_value(json_object_get(body, "message"));
	if (request->protocol != CTL_AWS_QUERY) {
		render_json(http_status, body, json_media(request->protocol), request->request_id,
		            out);
		snprintf(out->query_error, sizeof(out->query_error), "%s",
		         query_error ? query_error : "");
		return;
	}
	/* The query code is the x-amzn-query-error's, else the __type's name. */
	char code[96];
	const char *type = json_string_value(json_object_get(body, "__type"));
	const char *hash = type ? strchr(type, '#') : NULL;
	snprintf(code, sizeof(code), "%s", query_error ? query_error : hash ? hash + 1 : "Error");
	char *semicolon = strchr(code, ';');
	bool sender = semicolon == NULL || strcmp(semicolon + 1, "Sender") == 0;
	if (semicolon != NULL)
		*semicolon = '\0';
	render_xml_error(request->service, request->request_id, http_status, code, sender,
	                 message ? message : "", out);
}

void ctl_aws_render_secret(const struct ctl_aws_request *request, char *text,
                           struct ctl_aws_reply *out)
{
	assert(request != NULL && request->protocol != CTL_AWS_QUERY && text != NULL);
	memset(out, 0, sizeof(*out));
	reply_from_stream(text, strlen(text), 200, json_media(request->protocol),
	                  request->request_id, out);
	out->secret = true;
}

void ctl_aws_free_secret(void *text)
{
	if (text != NULL)
		explicit_bzero(text, strlen(text));
	free(text);
}

void ctl_aws_reply_clear(struct ctl_aws_reply *reply)
{
	if (reply->secret)
		ctl_aws_free_secret(reply->body);
	else
		free(reply->body);
	reply->body = NULL;
}

void ctl_aws_queue_arn(const struct ctl_aws_config *config, const char *name, char *out,
                       size_t out_bytes)
{
	snprintf(out, out_bytes, "arn:aws:sqs:%s:%s:%s", config->region, config->account_id,
	         name ? name : "*");
}

void ctl_aws_sns_arn(const struct ctl_aws_config *config, const struct ctl_aws_request *request,
                     char *out, size_t out_bytes)
{
	assert(request->service == CTL_AWS_SNS && out_bytes > 0);
	const char *arn = json_string_value(json_object_get(request->params, "TopicArn"));
	if (arn == NULL)
		arn = json_string_value(json_object_get(request->params, "ResourceArn"));
	const char *subscription =
	    json_string_value(json_object_get(request->params, "SubscriptionArn"));
	if (arn != NULL) {
		snprintf(out, out_bytes, "%s", arn);
	} else if (subscription != NULL && strrchr(subscription, ':') != NULL) {
		/* arn:...:TOPIC:UUID names the resource arn:...:TOPIC */
		snprintf(out, out_bytes, "%.*s", (int)(strrchr(subscription, ':') - subscription),
		         subscription);
	} else {
		snprintf(out, out_bytes, "arn:aws:sns:%s:%s:*", config->region, config->account_id);
	}
}

const char *ctl_aws_policy_action(const struct ctl_aws_request *request)
{
	static const struct {
		const char *batch, *single;
	} batches[] = {
	    {"SendMessageBatch", "SendMessage"},
	    {"DeleteMessageBatch", "DeleteMessage"},
	    {"ChangeMessageVisibilityBatch", "ChangeMessageVisibility"},
	};
	assert(request != NULL);
	for (size_t i = 0; request->service == CTL_AWS_SQS && i < 3; i++) {
		if (strcmp(request->action, batches[i].batch) == 0)
			return batches[i].single;
	}
	return request->action;
}

const char *ctl_aws_request_queue(const struct ctl_aws_request *request)
{
	const char *url = json_string_value(json_object_get(request->params, "QueueUrl"));
	if (url != NULL) {
		const char *slash = strrchr(url, '/');
		return slash ? slash + 1 : url;
	}
	return json_string_value(json_object_get(request->params, "QueueName"));
}

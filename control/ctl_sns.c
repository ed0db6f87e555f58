/*
 * SNS management (see ctl_sns.h). Errors carry SNS's query codes and HTTP
 * statuses (InvalidParameter 400, NotFound 404, TopicLimitExceeded 403 ...)
 * and messages in SNS's "Invalid parameter: X" form. Attributes busbar does not
 * implement are refused by name rather than ignored, as ctl_sqs.c does. A filter
 * policy is compiled by filters/ whenever it or its scope is set, so a bad one
 * is refused here with the compiler's reason and never reaches busbard.
 */
#include "ctl_sns.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "ctl_aws.h"
#include "ctl_sns_store.h"
#include "flt.h"

#define ARN_BYTES_MAX     (BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 64u)
#define MESSAGE_BYTES_MAX 512u
#define PENDING_ARN       "pending confirmation" /* Subscribe's answer while pending */
#define PENDING_LISTED    "PendingConfirmation"  /* the ARN ListSubscriptions shows then */
#define DURABILITY        "busbar:Durability"
/* SNS's EffectiveDeliveryPolicy of a topic or http(s) subscription without one of its own. */
#define DEFAULT_DELIVERY_POLICY                                                                    \
	"{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,\"maxDelayTarget\":20,"   \
	"\"numRetries\":3,\"numMaxDelayRetries\":0,\"numNoDelayRetries\":0,"                      \
	"\"numMinDelayRetries\":0,\"backoffFunction\":\"linear\"},"                               \
	"\"disableSubscriptionOverrides\":false,\"defaultRequestPolicy\":"                       \
	"{\"headerContentType\":\"text/plain; charset=UTF-8\"}}}"

struct sns_error {
	unsigned http_status;
	const char *code;
	const char *query; /* x-amzn-query-error: "Code;Sender" */
};

#define SNS_ERROR(status, code, who) {status, code, code ";" who}
static const struct sns_error INVALID_PARAMETER = SNS_ERROR(400, "InvalidParameter", "Sender");
static const struct sns_error NOT_FOUND = SNS_ERROR(404, "NotFound", "Sender");
static const struct sns_error RESOURCE_NOT_FOUND = SNS_ERROR(404, "ResourceNotFound", "Sender");
static const struct sns_error TOPIC_LIMIT = SNS_ERROR(403, "TopicLimitExceeded", "Sender");
static const struct sns_error SUBSCRIPTION_LIMIT =
    SNS_ERROR(403, "SubscriptionLimitExceeded", "Sender");
static const struct sns_error FILTER_POLICY_LIMIT =
    SNS_ERROR(403, "FilterPolicyLimitExceeded", "Sender");
static const struct sns_error TAG_LIMIT = SNS_ERROR(400, "TagLimitExceeded", "Sender");
static const struct sns_error SERIALIZATION = SNS_ERROR(400, "SerializationException", "Sender");
static const struct sns_error INVALID_ACTION = SNS_ERROR(400, "InvalidAction", "Sender");
static const struct sns_error INTERNAL = SNS_ERROR(500, "InternalError", "Receiver");

__attribute__((format(printf, 3, 4))) static void fail(struct ctl_sqs_result *out,
                                                       const struct sns_error *e,
                                                       const char *format, ...)
{
	char message[MESSAGE_BYTES_MAX];
	va_list ap;
	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	json_decref(out->body);
	out->http_status = e->http_status;
	out->body = json_pack("{s:s, s:s}", "__type", e->code, "message", message);
	out->query_error = e->query;
}

static void succeed(struct ctl_sqs_result *out, json_t *body)
{
	assert(body != NULL);
	out->http_status = 200;
	out->body = body;
	out->query_error = NULL;
}

static void fail_store(struct ctl_sqs_result *out, int rc)
{
	fail(out, &INTERNAL, "the store failed (%s)", strerror(-rc));
}

static const char *param(json_t *request, const char *name)
{
	return json_string_value(json_object_get(request, name));
}

/* ---- the query protocol's lists and maps, folded into the JSON shape ---- */

/* "Prefix.N<rest>" with N in 1..CTL_AWS_FORM_PARAMS_MAX: N, and where rest starts; else 0. */
static unsigned form_index(const char *name, const char *prefix, const char **rest)
{
	size_t prefix_bytes = strlen(prefix);
	if (strncmp(name, prefix, prefix_bytes) != 0)
		return 0;
	unsigned n = 0;
	const char *p = name + prefix_bytes;
	for (; *p >= '0' && *p <= '9' && n <= CTL_AWS_FORM_PARAMS_MAX; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == name + prefix_bytes || name[prefix_bytes] == '0' || n > CTL_AWS_FORM_PARAMS_MAX)
		return 0;
	*rest = p;
	return n;
}

/* Moves name=value into parts[N][field]; true when name was one of prefix's. */
static bool fold_part(json_t *parts, const char *name, json_t *value, const char *prefix,
                      const char *field_a, const char *field_b)
{
	const char *rest = "";
	unsigned n = form_index(name, prefix, &rest);
	bool whole = field_a == NULL && *rest == '\0';
	bool field = field_a != NULL && *rest == '.' &&
	             (strcmp(rest + 1, field_a) == 0 || strcmp(rest + 1, field_b) == 0);
	if (n == 0 || (!whole && !field))
		return false;
	char key[16];
	snprintf(key, sizeof(key), "%u", n);
	if (whole) {
		json_object_set(parts, key, value);
		return true;
	}
	json_t *entry = json_object_get(parts, key);
	if (entry == NULL) {
		entry = json_object();
		json_object_set_new(parts, key, entry);
	}
	json_object_set(entry, rest + 1, value);
	return true;
}

/* The N-keyed parts in N's order. */
static json_t *ordered(json_t *parts)
{
	json_t *list = json_array();
	char key[16];
	for (unsigned n = 1; n <= CTL_AWS_FORM_PARAMS_MAX && json_object_size(parts) > 0; n++) {
		snprintf(key, sizeof(key), "%u", n);
		json_t *part = json_object_get(parts, key);
		if (part != NULL)
			json_array_append(list, part);
	}
	return list;
}

/*
 * SNS's query form: Attributes.entry.N.key/value, Tags.member.N.Key/Value and
 * TagKeys.member.N become "Attributes": {...}, "Tags": [{"Key", "Value"}] and
 * "TagKeys": [...], the shape busbar's JSON callers send.
 */
static void fold_query_lists(json_t *request)
{
	json_t *attributes = json_object(), *tags = json_object(), *keys = json_object();
	const char *name;
	json_t *value;
	void *next;
	json_object_foreach_safe(request, next, name, value)
	{
		if (fold_part(attributes, name, value, "Attributes.entry.", "key", "value") ||
		    fold_part(tags, name, value, "Tags.member.", "Key", "Value") ||
		    fold_part(keys, name, value, "TagKeys.member.", NULL, NULL))
			json_object_del(request, name);
	}
	if (json_object_size(attributes) > 0) {
		json_t *map = json_object();
		size_t i;
		json_t *entry, *list = ordered(attributes);
		json_array_foreach(list, i, entry)
		{
			const char *k = param(entry, "key");
			json_t *v = json_object_get(entry, "value");
			if (k != NULL)
				json_object_set_new(map, k, v != NULL ? json_incref(v) : json_string(""));
		}
		json_decref(list);
		json_object_set_new(request, "Attributes", map);
	}
	if (json_object_size(tags) > 0)
		json_object_set_new(request, "Tags", ordered(tags));
	if (json_object_size(keys) > 0)
		json_object_set_new(request, "TagKeys", ordered(keys));
	json_decref(attributes);
	json_decref(tags);
	json_decref(keys);
}

/* ---- ARNs ---- */

struct arn {
	char region[CTL_AWS_REGION_BYTES_MAX + 1];
	char account[CTL_AWS_ACCOUNT_ID_BYTES + 1];
	char resource[ARN_BYTES_MAX + 1]; /* after the account: NAME or TOPIC:UUID */
};

/* "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE", each part present. */
static bool arn_parse(const char *text, const char *service, struct arn *out)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "arn:aws:%s:", service);
	if (text == NULL || strncmp(text, prefix, strlen(prefix)) != 0)
		return false;
	const char *region = text + strlen(prefix);
	const char *account = strchr(region, ':');
	const char *resource = account != NULL ? strchr(account + 1, ':') : NULL;
	if (resource == NULL || account == region || resource == account + 1 ||
	    (size_t)(account - region) > CTL_AWS_REGION_BYTES_MAX ||
	    (size_t)(resource - account - 1) > CTL_AWS_ACCOUNT_ID_BYTES ||
	    strlen(resource + 1) > ARN_BYTES_MAX || resource[1] == '\0')
		return false;
	snprintf(out->region, sizeof(out->region), "%.*s", (int)(account - region), region);
	snprintf(out->account, sizeof(out->account), "%.*s", (int)(resource - account - 1),
	         account + 1);
	snprintf(out->resource, sizeof(out->resource), "%s", resource + 1);
	return true;
}

static bool arn_is_ours(const struct ctl_sns_context *c, const struct arn *arn)
{
	return strcmp(arn->region, c->region) == 0 && strcmp(arn->account, c->account_id) == 0;
}

static json_t *topic_arn(const struct ctl_sns_context *c, const char *name)
{
	return json_sprintf("arn:aws:sns:%s:%s:%s", c->region, c->account_id, name);
}

static json_t *subscription_arn(const struct ctl_sns_context *c, const struct ctl_subscription *s)
{
	return json_sprintf("arn:aws:sns:%s:%s:%s:%s", c->region, c->account_id, s->topic_name,
	                    s->uuid);
}

/*
 * The topic the parameter `name` (TopicArn, ResourceArn) names, in *t; false after
 * answering: InvalidParameter for no ARN, `missing` for another's or none.
 */
static bool find_topic(const struct ctl_sns_context *c, json_t *request, const char *name,
                       const struct sns_error *missing, struct ctl_topic *t,
                       struct ctl_sqs_result *out)
{
	struct arn arn;
	const char *text = param(request, name);
	if (!arn_parse(text, "sns", &arn) || strchr(arn.resource, ':') != NULL ||
	    !bb_topic_name_is_valid((const uint8_t *)arn.resource, strlen(arn.resource))) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: %s", name);
		return false;
	}
	int rc = arn_is_ours(c, &arn) ? ctl_sns_get_topic(c->store, arn.resource, t) : -ENOENT;
	if (rc == -ENOENT)
		fail(out, missing, missing == &NOT_FOUND ? "Topic does not exist"
		                                         : "Resource does not exist");
	else if (rc != 0)
		fail_store(out, rc);
	return rc == 0;
}

/* The subscription SubscriptionArn names, in *s (clear it after); false after answering. */
static bool find_subscription(const struct ctl_sns_context *c, json_t *request,
                              struct ctl_subscription *s, struct ctl_sqs_result *out)
{
	struct arn arn;
	const char *colon = NULL;
	const char *text = param(request, "SubscriptionArn");
	if (arn_parse(text, "sns", &arn))
		colon = strchr(arn.resource, ':');
	if (colon == NULL || strlen(colon + 1) != CTL_SNS_UUID_BYTES) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: SubscriptionArn");
		return false;
	}
	int rc = arn_is_ours(c, &arn) ? ctl_sns_get_subscription(c->store, colon + 1, s) : -ENOENT;
	if (rc == 0 && strncmp(arn.resource, s->topic_name, (size_t)(colon - arn.resource)) != 0)
		rc = -ENOENT; /* the uuid of another topic's subscription */
	if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Subscription does not exist");
	else if (rc != 0)
		fail_store(out, rc);
	if (rc != 0)
		ctl_subscription_clear(s);
	return rc == 0;
}

/* A queue of this appliance named by its ARN: 0 with *q, else the reason for an error. */
static const char *find_queue(const struct ctl_sns_context *c, const char *text,
                              struct ctl_queue *q)
{
	struct arn arn;
	if (!arn_parse(text, "sqs", &arn))
		return "it is not an SQS queue ARN";
	if (!arn_is_ours(c, &arn))
		return "the queue is not of this appliance's account and region";
	int rc = ctl_store_get_queue(c->store, arn.resource, q);
	return rc == 0 ? NULL : rc == -ENOENT ? "the queue does not exist" : "the store failed";
}

/* ---- attribute values ---- */

static bool value_bool(const char *text, bool *out)
{
	if (text == NULL || (strcmp(text, "true") != 0 && strcmp(text, "false") != 0))
		return false;
	*out = text[0] == 't';
	return true;
}

/* A JSON object of at most bytes_max, or "" (none): copied to out. */
static bool value_policy(const char *text, char *out, size_t bytes_max)
{
	if (text == NULL || strlen(text) > bytes_max)
		return false;
	json_t *policy = text[0] != '\0' ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	bool ok = text[0] == '\0' || json_is_object(policy);
	json_decref(policy);
	if (ok)
		snprintf(out, bytes_max + 1, "%s", text);
	return ok;
}

/* Attributes busbar knows from AWS but does not implement: refused by name. */
static bool not_supported(const char *name)
{
	static const char *const names[] = {
	    "Policy", "KmsMasterKeyId", "TracingConfig", "ArchivePolicy", "DataProtectionPolicy",
	    "ReplayPolicy", "SubscriptionRoleArn", "FifoThroughputScope",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0 || strstr(name, "FeedbackRoleArn") != NULL ||
		    strstr(name, "FeedbackSampleRate") != NULL)
			return true;
	}
	return false;
}

/* One topic attribute; creating: the ones fixed at CreateTopic may be given too. */
static bool topic_attribute(struct ctl_topic *t, const char *name, const char *value,
                            bool creating, struct ctl_sqs_result *out)
{
	bool ok = value != NULL;
	if (strcmp(name, "DisplayName") == 0) {
		ok = ok && strlen(value) <= CTL_SNS_DISPLAY_NAME_BYTES_MAX;
		if (ok)
			snprintf(t->display_name, sizeof(t->display_name), "%s", value);
	} else if (strcmp(name, "DeliveryPolicy") == 0) {
		ok = ok && value_policy(value, t->delivery_policy, CTL_SNS_DELIVERY_POLICY_BYTES_MAX);
	} else if (strcmp(name, "SignatureVersion") == 0) {
		ok = ok && (strcmp(value, "1") == 0 || strcmp(value, "2") == 0);
		if (ok)
			t->signature_version = (uint32_t)(value[0] - '0');
	} else if (strcmp(name, "ContentBasedDeduplication") == 0) {
		ok = ok && value_bool(value, &t->content_based_deduplication);
	} else if (creating && strcmp(name, "FifoTopic") == 0) {
		ok = ok && value_bool(value, &t->fifo);
	} else if (creating && strcmp(name, DURABILITY) == 0) {
		ok = ok && (strcmp(value, "disk") == 0 || strcmp(value, "memory") == 0);
		t->memory = ok && value[0] == 'm';
	} else if (not_supported(name)) {
		fail(out, &INVALID_PARAMETER,
		     "Invalid parameter: Attributes Reason: busbar does not support the attribute %s "
		     "yet",
		     name);
		return false;
	} else {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: %s",
		     creating ? "Attributes Reason: unknown attribute" : "AttributeName");
		return false;
	}
	if (!ok)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes Reason: %s: invalid value",
		     name);
	return ok;
}

static bool topic_attributes(struct ctl_topic *t, json_t *attributes, struct ctl_sqs_result *out)
{
	const char *name;
	json_t *value;
	if (attributes != NULL && !json_is_object(attributes)) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes");
		return false;
	}
	json_object_foreach(attributes, name, value)
	{
		if (!topic_attribute(t, name, json_string_value(value), true, out))
			return false;
	}
	return true;
}

static bool same_topic(const struct ctl_topic *a, const struct ctl_topic *b)
{
	return a->fifo == b->fifo && a->content_based_deduplication == b->content_based_deduplication &&
	       a->memory == b->memory && strcmp(a->display_name, b->display_name) == 0 &&
	       strcmp(a->delivery_policy, b->delivery_policy) == 0 &&
	       a->signature_version == b->signature_version;
}

/* As SNS: a FIFO topic's name ends in .fifo, and only a FIFO topic's does. */
static bool check_topic(const struct ctl_topic *t, struct ctl_sqs_result *out)
{
	if (t->fifo != bb_queue_name_is_fifo((const uint8_t *)t->name, strlen(t->name))) {
		fail(out, &INVALID_PARAMETER,
		     t->fifo ? "Invalid parameter: Fifo Topic names must end with .fifo and they must "
		               "be between 1 and 256 characters long."
		             : "Invalid parameter: Topic Name");
		return false;
	}
	if (t->content_based_deduplication && !t->fifo) {
		fail(out, &INVALID_PARAMETER,
		     "Invalid parameter: Attributes Reason: ContentBasedDeduplication is only for "
		     "FIFO topics");
		return false;
	}
	return true;
}

/* ---- tags ---- */

/* AWS's tag characters: letters, digits, whitespace and _ . : / = + - @ (UTF-8 letters
 * beyond ASCII are let through: their bytes are all >= 0x80). */
static bool tag_text_is_valid(const char *text, size_t bytes_min, size_t bytes_max)
{
	size_t length = strlen(text);
	if (length < bytes_min || length > bytes_max)
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned char ch = (unsigned char)text[i];
		bool ok = ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		          (ch >= 'A' && ch <= 'Z') || strchr(" \t\n_.:/=+-@", ch) != NULL;
		if (!ok)
			return false;
	}
	return true;
}

/* "Tags": [{"Key", "Value"}] into tags (CTL_SNS_TAGS_PER_TOPIC_MAX); false after answering. */
static bool parse_tags(json_t *list, struct ctl_tag *tags, uint32_t *count,
                       struct ctl_sqs_result *out)
{
	size_t i;
	json_t *item;
	*count = 0;
	if (list != NULL && !json_is_array(list)) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Tags");
		return false;
	}
	if (json_array_size(list) > CTL_SNS_TAGS_PER_TOPIC_MAX) {
		fail(out, &TAG_LIMIT, "Could not complete request: tag quota of per resource exceeded");
		return false;
	}
	json_array_foreach(list, i, item)
	{
		const char *key = param(item, "Key");
		const char *value = param(item, "Value");
		if (key == NULL || value == NULL ||
		    !tag_text_is_valid(key, 1, CTL_SNS_TAG_KEY_BYTES_MAX) ||
		    !tag_text_is_valid(value, 0, CTL_SNS_TAG_VALUE_BYTES_MAX) ||
		    strncasecmp(key, "aws:", 4) == 0) {
			fail(out, &INVALID_PARAMETER, "Invalid parameter: Tags Reason: invalid tag key "
			                              "or value");
			return false;
		}
		for (uint32_t j = 0; j < *count; j++) {
			if (strcmp(tags[j].key, key) == 0) {
				fail(out, &INVALID_PARAMETER,
				     "Invalid parameter: Duplicated keys are not allowed.");
				return false;
			}
		}
		snprintf(tags[*count].key, sizeof(tags[*count].key), "%s", key);
		snprintf(tags[*count].value, sizeof(tags[*count].value), "%s", value);
		(*count)++;
	}
	return true;
}

/* The topic's tags are exactly these (a CreateTopic of an existing topic with tags). */
static int same_tags(struct ctl_store *store, int64_t topic_id, const struct ctl_tag *tags,
                     uint32_t count, bool *same)
{
	struct ctl_tag *have;
	size_t have_count;
	int rc = ctl_sns_list_tags(store, topic_id, &have, &have_count);
	if (rc != 0)
		return rc;
	*same = have_count == count;
	for (uint32_t i = 0; *same && i < count; i++) {
		bool found = false;
		for (size_t j = 0; !found && j < have_count; j++)
			found = strcmp(have[j].key, tags[i].key) == 0 &&
			        strcmp(have[j].value, tags[i].value) == 0;
		*same = found;
	}
	free(have);
	return 0;
}

/* ---- topics ---- */

/* An existing topic again: the same attributes (those given) and tags answer its ARN. */
static bool create_again(const struct ctl_sns_context *c, json_t *request,
                         const struct ctl_topic *existing, const struct ctl_tag *tags,
                         uint32_t tag_count, struct ctl_sqs_result *out)
{
	struct ctl_topic asked = *existing;
	if (!topic_attributes(&asked, json_object_get(request, "Attributes"), out))
		return false;
	if (!same_topic(&asked, existing)) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes Reason: Topic already "
		                              "exists with different attributes");
		return false;
	}
	bool same = true;
	int rc = json_object_get(request, "Tags") != NULL
	             ? same_tags(c->store, existing->id, tags, tag_count, &same)
	             : 0;
	if (rc != 0) {
		fail_store(out, rc);
		return false;
	}
	if (!same)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Tags Reason: Topic already exists "
		                              "with different tags");
	return same;
}

static void create_topic(const struct ctl_sns_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	const char *name = param(request, "Name");
	if (name == NULL || !bb_topic_name_is_valid((const uint8_t *)name, strlen(name))) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Topic Name");
		return;
	}
	struct ctl_topic t = {.signature_version = 1};
	struct ctl_tag tags[CTL_SNS_TAGS_PER_TOPIC_MAX];
	uint32_t tag_count;
	snprintf(t.name, sizeof(t.name), "%s", name);
	if (!topic_attributes(&t, json_object_get(request, "Attributes"), out) ||
	    !check_topic(&t, out) || !parse_tags(json_object_get(request, "Tags"), tags, &tag_count, out))
		return;
	struct ctl_topic existing;
	int rc = ctl_sns_create_topic(c->store, &t, tags, tag_count, &existing);
	if (rc == -EEXIST && !create_again(c, request, &existing, tags, tag_count, out))
		return;
	if (rc == -ENOSPC) {
		fail(out, &TOPIC_LIMIT, "Topic limit exceeded: busbar holds at most %u topics",
		     BB_TOPIC_COUNT_MAX);
		return;
	}
	if (rc != 0 && rc != -EEXIST) {
		fail_store(out, rc);
		return;
	}
	succeed(out, json_pack("{s:o}", "TopicArn", topic_arn(c, name)));
}

static void delete_topic(const struct ctl_sns_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	if (!find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out))
		return;
	int rc = ctl_sns_delete_topic(c->store, t.name);
	if (rc != 0 && rc != -ENOENT) { /* gone meanwhile: deleted, as asked */
		fail_store(out, rc);
		return;
	}
	succeed(out, json_object());
}

/* The token is the last name of the page before. */
static void list_topics(const struct ctl_sns_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	const char *after = param(request, "NextToken");
	if (after != NULL && !bb_topic_name_is_valid((const uint8_t *)after, strlen(after))) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: NextToken");
		return;
	}
	struct ctl_topic *topics;
	size_t count;
	int rc = ctl_sns_list_topics(c->store, after, CTL_SNS_LIST_PAGE_MAX + 1, &topics, &count);
	if (rc != 0) {
		fail_store(out, rc);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < count && i < CTL_SNS_LIST_PAGE_MAX; i++)
		json_array_append_new(list, json_pack("{s:o}", "TopicArn", topic_arn(c, topics[i].name)));
	json_t *body = json_pack("{s:o}", "Topics", list);
	if (count > CTL_SNS_LIST_PAGE_MAX)
		json_object_set_new(body, "NextToken",
		                    json_string(topics[CTL_SNS_LIST_PAGE_MAX - 1].name));
	free(topics);
	succeed(out, body);
}

static void get_topic_attributes(const struct ctl_sns_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	uint32_t confirmed, pending;
	if (!find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out))
		return;
	int rc = ctl_sns_topic_counts(c->store, t.id, &confirmed, &pending);
	if (rc != 0) {
		fail_store(out, rc);
		return;
	}
	json_t *a = json_object();
	json_object_set_new(a, "TopicArn", topic_arn(c, t.name));
	json_object_set_new(a, "Owner", json_string(c->account_id));
	json_object_set_new(a, "DisplayName", json_string(t.display_name));
	json_object_set_new(a, "SubscriptionsConfirmed", json_sprintf("%u", confirmed));
	json_object_set_new(a, "SubscriptionsPending", json_sprintf("%u", pending));
	/* busbar removes a subscription at once: none is ever waiting to be deleted. */
	json_object_set_new(a, "SubscriptionsDeleted", json_string("0"));
	if (t.delivery_policy[0] != '\0')
		json_object_set_new(a, "DeliveryPolicy", json_string(t.delivery_policy));
	json_object_set_new(a, "EffectiveDeliveryPolicy",
	                    json_string(t.delivery_policy[0] != '\0' ? t.delivery_policy
	                                                            : DEFAULT_DELIVERY_POLICY));
	json_object_set_new(a, "SignatureVersion", json_sprintf("%u", t.signature_version));
	json_object_set_new(a, "FifoTopic", json_string(t.fifo ? "true" : "false"));
	if (t.fifo)
		json_object_set_new(a, "ContentBasedDeduplication",
		                    json_string(t.content_based_deduplication ? "true" : "false"));
	json_object_set_new(a, DURABILITY, json_string(t.memory ? "memory" : "disk"));
	succeed(out, json_pack("{s:o}", "Attributes", a));
}

static void set_topic_attributes(const struct ctl_sns_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	const char *name = param(request, "AttributeName");
	const char *value = param(request, "AttributeValue");
	if (!find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out))
		return;
	if (name == NULL) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: AttributeName");
		return;
	}
	if (!topic_attribute(&t, name, value != NULL ? value : "", false, out) || !check_topic(&t, out))
		return;
	int rc = ctl_sns_update_topic(c->store, &t);
	if (rc != 0 && rc != -ENOENT) {
		fail_store(out, rc);
		return;
	}
	if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Topic does not exist");
	else
		succeed(out, json_object());
}

/* ---- subscriptions ---- */

static bool is_http(const struct ctl_subscription *s)
{
	return strcmp(s->protocol, "http") == 0 || strcmp(s->protocol, "https") == 0;
}

static bool redrive_policy(const struct ctl_sns_context *c, const struct ctl_topic *t,
                           struct ctl_subscription *s, const char *value,
                           struct ctl_sqs_result *out)
{
	if (value[0] == '\0') {
		s->redrive_policy[0] = s->dead_letter_queue[0] = '\0';
		return true;
	}
	json_t *policy = strlen(value) <= CTL_SNS_REDRIVE_POLICY_BYTES_MAX
	                     ? json_loads(value, JSON_REJECT_DUPLICATES, NULL)
	                     : NULL;
	const char *arn = param(policy, "deadLetterTargetArn");
	struct ctl_queue q;
	const char *why = arn != NULL && json_object_size(policy) == 1
	                      ? find_queue(c, arn, &q)
	                      : "it must be {\"deadLetterTargetArn\": \"arn:aws:sqs:...\"}";
	json_decref(policy);
	if (why == NULL && q.fifo != t->fifo)
		why = "a FIFO topic's dead-letter queue is a FIFO queue, a standard topic's a "
		      "standard queue";
	if (why != NULL) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: RedrivePolicy: %s", why);
		return false;
	}
	snprintf(s->redrive_policy, sizeof(s->redrive_policy), "%s", value);
	snprintf(s->dead_letter_queue, sizeof(s->dead_letter_queue), "%s", q.name);
	return true;
}

static bool filter_policy(struct ctl_subscription *s, const char *value,
                          struct ctl_sqs_result *out)
{
	free(s->filter_policy);
	s->filter_policy = NULL;
	/* SNS removes a subscription's policy when it is set to an empty one. */
	if (value[0] == '\0' || strcmp(value, "{}") == 0)
		return true;
	if (strlen(value) > BB_FILTER_POLICY_BYTES_MAX) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: FilterPolicy: Filter policy is too "
		                              "long");
		return false;
	}
	s->filter_policy = strdup(value);
	if (s->filter_policy == NULL)
		fail(out, &INTERNAL, "out of memory");
	return s->filter_policy != NULL;
}

/* One subscription attribute (Subscribe's Attributes or SetSubscriptionAttributes). */
static bool subscription_attribute(const struct ctl_sns_context *c, const struct ctl_topic *t,
                                   struct ctl_subscription *s, const char *name,
                                   const char *value, struct ctl_sqs_result *out)
{
	bool ok = true;
	if (strcmp(name, "RawMessageDelivery") == 0)
		ok = value_bool(value, &s->raw);
	else if (strcmp(name, "FilterPolicyScope") == 0) {
		ok = strcmp(value, "MessageAttributes") == 0 || strcmp(value, "MessageBody") == 0;
		s->scope_body = ok ? strcmp(value, "MessageBody") == 0 : s->scope_body;
	} else if (strcmp(name, "FilterPolicy") == 0)
		return filter_policy(s, value, out);
	else if (strcmp(name, "RedrivePolicy") == 0)
		return redrive_policy(c, t, s, value, out);
	else if (strcmp(name, "DeliveryPolicy") == 0)
		ok = is_http(s) &&
		     value_policy(value, s->delivery_policy, CTL_SNS_DELIVERY_POLICY_BYTES_MAX);
	else if (not_supported(name)) {
		fail(out, &INVALID_PARAMETER,
		     "Invalid parameter: Attributes Reason: busbar does not support the attribute %s "
		     "yet",
		     name);
		return false;
	} else {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: AttributeName");
		return false;
	}
	if (!ok)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: %s%s", name,
		     strcmp(name, "DeliveryPolicy") == 0 && !is_http(s)
		         ? ": only http and https subscriptions take a delivery policy"
		         : ": invalid value");
	return ok;
}

/* Compiles the policy in its scope with filters/: SNS's own rules and limits. */
static bool check_filter_policy(const struct ctl_subscription *s, struct ctl_sqs_result *out)
{
	if (s->filter_policy == NULL)
		return true;
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *compiler = flt_compiler_new(&limits);
	char reason[MESSAGE_BYTES_MAX - 64] = "";
	int rc = compiler == NULL ? -ENOMEM
	                          : flt_add_sns_policy(compiler, 1, s->filter_policy,
	                                               strlen(s->filter_policy),
	                                               s->scope_body ? FLT_SNS_MESSAGE_BODY
	                                                             : FLT_SNS_MESSAGE_ATTRIBUTES,
	                                               reason, sizeof(reason));
	flt_compiler_free(compiler);
	if (rc == -ENOMEM)
		fail(out, &INTERNAL, "out of memory");
	else if (rc != 0)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: FilterPolicy: %s", reason);
	return rc == 0;
}

/* "a.b.c.d:port", port 1-65535. */
static bool udp_endpoint_is_valid(const char *endpoint)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(endpoint, ':');
	struct in_addr address;
	if (colon == NULL || (size_t)(colon - endpoint) >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - endpoint), endpoint);
	unsigned long port = 0;
	const char *p = colon + 1;
	for (; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (unsigned long)(*p - '0');
	return inet_pton(AF_INET, host, &address) == 1 && *p == '\0' && p != colon + 1 &&
	       colon[1] != '0' && port >= 1 && port <= 65535;
}

/* Protocol and endpoint into s (target: what busbard uses); false after answering. */
static bool subscription_endpoint(const struct ctl_sns_context *c, const struct ctl_topic *t,
                                  json_t *request, struct ctl_subscription *s,
                                  struct ctl_sqs_result *out)
{
	const char *protocol = param(request, "Protocol");
	const char *endpoint = param(request, "Endpoint");
	static const char *const protocols[] = {"sqs", "udp", "http", "https"};
	for (size_t i = 0; protocol != NULL && i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (strcasecmp(protocol, protocols[i]) == 0)
			snprintf(s->protocol, sizeof(s->protocol), "%s", protocols[i]);
	}
	if (s->protocol[0] == '\0') {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Protocol Reason: busbar supports "
		                              "the protocols sqs, udp, http and https");
		return false;
	}
	if (t->fifo && strcmp(s->protocol, "sqs") != 0) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Protocol Reason: FIFO topics only "
		                              "support the sqs protocol");
		return false;
	}
	const char *why = NULL;
	struct ctl_queue q;
	if (endpoint == NULL || endpoint[0] == '\0' ||
	    strlen(endpoint) > BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX)
		why = "Endpoint";
	else if (strcmp(s->protocol, "sqs") == 0)
		why = find_queue(c, endpoint, &q);
	else if (strcmp(s->protocol, "udp") == 0)
		why = udp_endpoint_is_valid(endpoint) ? NULL : "a udp endpoint is IPV4:PORT";
	else if (strncmp(endpoint, s->protocol, strlen(s->protocol)) != 0 ||
	         strncmp(endpoint + strlen(s->protocol), "://", 3) != 0 ||
	         endpoint[strlen(s->protocol) + 3] == '\0')
		why = "Endpoint must match the specified protocol";
	if (why == NULL && strcmp(s->protocol, "sqs") == 0 && q.fifo && !t->fifo)
		why = "FIFO SQS Queues can not be subscribed to standard SNS topics";
	if (why != NULL) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: %s%s", why[0] == 'E' ? "" : "Endpoint Reason: ", why);
		return false;
	}
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
	snprintf(s->target, sizeof(s->target), "%s",
	         strcmp(s->protocol, "sqs") == 0 ? q.name : endpoint);
	return true;
}

static bool subscription_attributes(const struct ctl_sns_context *c, const struct ctl_topic *t,
                                    struct ctl_subscription *s, json_t *attributes,
                                    struct ctl_sqs_result *out)
{
	const char *name;
	json_t *value;
	if (attributes != NULL && !json_is_object(attributes)) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes");
		return false;
	}
	json_object_foreach(attributes, name, value)
	{
		const char *text = json_string_value(value);
		if (text == NULL) {
			fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes Reason: %s", name);
			return false;
		}
		if (!subscription_attribute(c, t, s, name, text, out))
			return false;
	}
	return check_filter_policy(s, out);
}

static bool same_subscription(const struct ctl_subscription *a, const struct ctl_subscription *b)
{
	bool policies = (a->filter_policy == NULL) == (b->filter_policy == NULL) &&
	                (a->filter_policy == NULL || strcmp(a->filter_policy, b->filter_policy) == 0);
	return policies && a->raw == b->raw && a->scope_body == b->scope_body &&
	       strcmp(a->redrive_policy, b->redrive_policy) == 0 &&
	       strcmp(a->delivery_policy, b->delivery_policy) == 0;
}

static void random_token(char out[CTL_SNS_TOKEN_BYTES + 1])
{
	uint8_t bytes[CTL_SNS_TOKEN_BYTES / 2];
	/* getrandom of 32 bytes does not come short once the pool is ready (random(7)). */
	ssize_t got = getrandom(bytes, sizeof(bytes), 0);
	assert(got == (ssize_t)sizeof(bytes));
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* Subscribe's answer: the ARN, or "pending confirmation" unless ReturnSubscriptionArn. */
static void answer_subscription(const struct ctl_sns_context *c, json_t *request,
                                const struct ctl_subscription *s, struct ctl_sqs_result *out)
{
	bool return_arn = false;
	const char *asked = param(request, "ReturnSubscriptionArn");
	if (asked != NULL && !value_bool(asked, &return_arn)) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: ReturnSubscriptionArn");
		return;
	}
	json_t *arn = s->confirmed || return_arn ? subscription_arn(c, s) : json_string(PENDING_ARN);
	succeed(out, json_pack("{s:o}", "SubscriptionArn", arn));
}

/* A pending http(s) subscription's SubscriptionConfirmation, to its endpoint (docs/sns.md). */
static void want_confirmation(const struct ctl_sns_context *c, const struct ctl_topic *t,
                              const struct ctl_subscription *s)
{
	if (s->confirmed || c->confirmation_wanted == NULL)
		return;
	json_t *arn = topic_arn(c, t->name);
	c->confirmation_wanted(c->confirmation_context, s->endpoint, json_string_value(arn),
	                       s->token, t->signature_version);
	json_decref(arn);
}

static void store_subscription(const struct ctl_sns_context *c, const struct ctl_topic *t,
                               json_t *request, struct ctl_subscription *s,
                               struct ctl_sqs_result *out)
{
	struct ctl_subscription existing = {0};
	int rc = ctl_sns_create_subscription(c->store, s, &existing);
	if (rc == -EEXIST && !same_subscription(s, &existing))
		fail(out, &INVALID_PARAMETER, "Invalid parameter: Attributes Reason: Subscription "
		                              "already exists with different attributes");
	else if (rc == -EEXIST)
		answer_subscription(c, request, &existing, out);
	else if (rc == -ENOSPC)
		fail(out, &SUBSCRIPTION_LIMIT,
		     "Subscription limit exceeded: busbar holds at most %u subscriptions of a topic "
		     "and %u in all",
		     CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX, BB_SUBSCRIPTION_COUNT_MAX);
	else if (rc == -EDQUOT)
		fail(out, &FILTER_POLICY_LIMIT,
		     "Filter policy limit exceeded: a topic has at most %u subscriptions with a "
		     "filter policy",
		     CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX);
	else if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Topic does not exist");
	else if (rc != 0)
		fail_store(out, rc);
	else
		answer_subscription(c, request, s, out);
	if (out->http_status == 200)
		want_confirmation(c, t, rc == -EEXIST ? &existing : s);
	ctl_subscription_clear(&existing);
}

/*
 * sqs and udp subscriptions are confirmed at once (the queue is this appliance's, a udp
 * client acks each delivery); http(s) ones wait for ConfirmSubscription with their token,
 * which the delivery side sends to the endpoint (docs/sns.md).
 */
static void subscribe(const struct ctl_sns_context *c, json_t *request, struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	struct ctl_subscription s = {0};
	if (!find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out) ||
	    !subscription_endpoint(c, &t, request, &s, out))
		return;
	s.topic_id = t.id;
	snprintf(s.topic_name, sizeof(s.topic_name), "%s", t.name);
	ctl_aws_request_id(s.uuid); /* a random UUID */
	s.confirmed = !is_http(&s);
	if (!s.confirmed)
		random_token(s.token);
	if (subscription_attributes(c, &t, &s, json_object_get(request, "Attributes"), out))
		store_subscription(c, &t, request, &s, out);
	ctl_subscription_clear(&s);
}

static void unsubscribe(const struct ctl_sns_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	struct ctl_subscription s = {0};
	if (!find_subscription(c, request, &s, out))
		return;
	int rc = ctl_sns_delete_subscription(c->store, s.uuid);
	ctl_subscription_clear(&s);
	if (rc != 0 && rc != -ENOENT)
		fail_store(out, rc);
	else
		succeed(out, json_object());
}

static void confirm_subscription(const struct ctl_sns_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	struct ctl_subscription s = {0};
	const char *token = param(request, "Token");
	if (!find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out))
		return;
	if (token == NULL || strlen(token) != CTL_SNS_TOKEN_BYTES) {
		fail(out, &INVALID_PARAMETER, "Invalid token");
		return;
	}
	int rc = ctl_sns_confirm(c->store, t.id, token, &s);
	if (rc == -ENOENT)
		fail(out, &INVALID_PARAMETER, "Invalid token");
	else if (rc != 0)
		fail_store(out, rc);
	else
		succeed(out, json_pack("{s:o}", "SubscriptionArn", subscription_arn(c, &s)));
	ctl_subscription_clear(&s);
}

static json_t *subscription_summary(const struct ctl_sns_context *c,
                                    const struct ctl_subscription *s)
{
	return json_pack("{s:o, s:s, s:s, s:s, s:o}", "SubscriptionArn",
	                 s->confirmed ? subscription_arn(c, s) : json_string(PENDING_LISTED),
	                 "Owner", c->account_id, "Protocol", s->protocol, "Endpoint", s->endpoint,
	                 "TopicArn", topic_arn(c, s->topic_name));
}

/* ListSubscriptions, or ListSubscriptionsByTopic with TopicArn; the token is the last id. */
static void list_subscriptions(const struct ctl_sns_context *c, json_t *request,
                               struct ctl_sqs_result *out)
{
	struct ctl_topic t = {0};
	if (json_object_get(request, "TopicArn") != NULL &&
	    !find_topic(c, request, "TopicArn", &NOT_FOUND, &t, out))
		return;
	const char *token = param(request, "NextToken");
	long long after = 0;
	char *end = NULL;
	if (token != NULL)
		after = strtoll(token, &end, 10);
	if (token != NULL && (end == token || *end != '\0' || after < 1 || token[0] == '0')) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: NextToken");
		return;
	}
	struct ctl_subscription *list;
	size_t count;
	int rc = ctl_sns_list_subscriptions(c->store, t.id, after, CTL_SNS_LIST_PAGE_MAX + 1, &list,
	                                    &count);
	if (rc != 0) {
		fail_store(out, rc);
		return;
	}
	json_t *members = json_array();
	for (size_t i = 0; i < count && i < CTL_SNS_LIST_PAGE_MAX; i++)
		json_array_append_new(members, subscription_summary(c, &list[i]));
	json_t *body = json_pack("{s:o}", "Subscriptions", members);
	if (count > CTL_SNS_LIST_PAGE_MAX)
		json_object_set_new(body, "NextToken",
		                    json_sprintf("%lld", (long long)list[CTL_SNS_LIST_PAGE_MAX - 1].id));
	free(list);
	succeed(out, body);
}

/* ListSubscriptions takes no topic; ListSubscriptionsByTopic requires one. */
static void list_all_subscriptions(const struct ctl_sns_context *c, json_t *request,
                                   struct ctl_sqs_result *out)
{
	json_object_del(request, "TopicArn");
	list_subscriptions(c, request, out);
}

static void list_subscriptions_by_topic(const struct ctl_sns_context *c, json_t *request,
                                        struct ctl_sqs_result *out)
{
	if (param(request, "TopicArn") == NULL)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: TopicArn");
	else
		list_subscriptions(c, request, out);
}

static void get_subscription_attributes(const struct ctl_sns_context *c, json_t *request,
                                        struct ctl_sqs_result *out)
{
	struct ctl_subscription s = {0};
	if (!find_subscription(c, request, &s, out))
		return;
	json_t *a = subscription_summary(c, &s);
	json_object_set_new(a, "SubscriptionArn", subscription_arn(c, &s));
	json_object_set_new(a, "PendingConfirmation", json_string(s.confirmed ? "false" : "true"));
	/* Confirmed at once (sqs, udp) or by ConfirmSubscription, which asks no signature. */
	json_object_set_new(a, "ConfirmationWasAuthenticated",
	                    json_string(s.confirmed && !is_http(&s) ? "true" : "false"));
	json_object_set_new(a, "RawMessageDelivery", json_string(s.raw ? "true" : "false"));
	if (s.filter_policy != NULL) {
		json_object_set_new(a, "FilterPolicy", json_string(s.filter_policy));
		json_object_set_new(a, "FilterPolicyScope",
		                    json_string(s.scope_body ? "MessageBody" : "MessageAttributes"));
	}
	if (s.redrive_policy[0] != '\0')
		json_object_set_new(a, "RedrivePolicy", json_string(s.redrive_policy));
	if (s.delivery_policy[0] != '\0')
		json_object_set_new(a, "DeliveryPolicy", json_string(s.delivery_policy));
	if (is_http(&s))
		json_object_set_new(a, "EffectiveDeliveryPolicy",
		                    json_string(s.delivery_policy[0] != '\0' ? s.delivery_policy
		                                                             : DEFAULT_DELIVERY_POLICY));
	ctl_subscription_clear(&s);
	succeed(out, json_pack("{s:o}", "Attributes", a));
}

static void set_subscription_attributes(const struct ctl_sns_context *c, json_t *request,
                                        struct ctl_sqs_result *out)
{
	struct ctl_subscription s = {0};
	struct ctl_topic t;
	const char *name = param(request, "AttributeName");
	const char *value = param(request, "AttributeValue");
	if (!find_subscription(c, request, &s, out))
		return;
	int rc = ctl_sns_get_topic(c->store, s.topic_name, &t);
	bool valid = rc == 0 && name != NULL &&
	             subscription_attribute(c, &t, &s, name, value != NULL ? value : "", out) &&
	             check_filter_policy(&s, out);
	if (valid)
		rc = ctl_sns_update_subscription(c->store, &s);
	if (rc == 0 && name == NULL)
		fail(out, &INVALID_PARAMETER, "Invalid parameter: AttributeName");
	else if (rc == -EDQUOT)
		fail(out, &FILTER_POLICY_LIMIT,
		     "Filter policy limit exceeded: a topic has at most %u subscriptions with a "
		     "filter policy",
		     CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX);
	else if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Subscription does not exist");
	else if (rc != 0)
		fail_store(out, rc);
	else if (valid)
		succeed(out, json_object());
	ctl_subscription_clear(&s);
}

/* ---- tags ---- */

static void tag_resource(const struct ctl_sns_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	struct ctl_tag tags[CTL_SNS_TAGS_PER_TOPIC_MAX];
	uint32_t count;
	if (!find_topic(c, request, "ResourceArn", &RESOURCE_NOT_FOUND, &t, out) ||
	    !parse_tags(json_object_get(request, "Tags"), tags, &count, out))
		return;
	int rc = ctl_sns_tag(c->store, t.id, tags, count);
	if (rc == -ENOSPC)
		fail(out, &TAG_LIMIT, "Could not complete request: tag quota of per resource exceeded");
	else if (rc != 0)
		fail_store(out, rc);
	else
		succeed(out, json_object());
}

static void untag_resource(const struct ctl_sns_context *c, json_t *request,
                           struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	const char *keys[CTL_SNS_TAGS_PER_TOPIC_MAX];
	json_t *list = json_object_get(request, "TagKeys");
	if (!find_topic(c, request, "ResourceArn", &RESOURCE_NOT_FOUND, &t, out))
		return;
	size_t i;
	json_t *key;
	bool valid = json_is_array(list) && json_array_size(list) <= CTL_SNS_TAGS_PER_TOPIC_MAX;
	json_array_foreach(valid ? list : NULL, i, key)
	{
		keys[i] = json_string_value(key);
		valid = valid && keys[i] != NULL &&
		        tag_text_is_valid(keys[i], 1, CTL_SNS_TAG_KEY_BYTES_MAX);
	}
	if (!valid) {
		fail(out, &INVALID_PARAMETER, "Invalid parameter: TagKeys");
		return;
	}
	int rc = ctl_sns_untag(c->store, t.id, keys, (uint32_t)json_array_size(list));
	if (rc != 0)
		fail_store(out, rc);
	else
		succeed(out, json_object());
}

static void list_tags_for_resource(const struct ctl_sns_context *c, json_t *request,
                                   struct ctl_sqs_result *out)
{
	struct ctl_topic t;
	struct ctl_tag *tags;
	size_t count;
	if (!find_topic(c, request, "ResourceArn", &RESOURCE_NOT_FOUND, &t, out))
		return;
	int rc = ctl_sns_list_tags(c->store, t.id, &tags, &count);
	if (rc != 0) {
		fail_store(out, rc);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "Key", tags[i].key, "Value",
		                                      tags[i].value));
	free(tags);
	succeed(out, json_pack("{s:o}", "Tags", list));
}

/* ---- dispatch ---- */

void ctl_sns_handle(const struct ctl_sns_context *c, const char *target, const char *request,
                    size_t request_bytes, struct ctl_sqs_result *out)
{
	static const struct {
		const char *action;
		void (*handle)(const struct ctl_sns_context *, json_t *, struct ctl_sqs_result *);
	} actions[] = {
	    {"CreateTopic", create_topic},
	    {"DeleteTopic", delete_topic},
	    {"ListTopics", list_topics},
	    {"GetTopicAttributes", get_topic_attributes},
	    {"SetTopicAttributes", set_topic_attributes},
	    {"Subscribe", subscribe},
	    {"Unsubscribe", unsubscribe},
	    {"ConfirmSubscription", confirm_subscription},
	    {"ListSubscriptions", list_all_subscriptions},
	    {"ListSubscriptionsByTopic", list_subscriptions_by_topic},
	    {"GetSubscriptionAttributes", get_subscription_attributes},
	    {"SetSubscriptionAttributes", set_subscription_attributes},
	    {"TagResource", tag_resource},
	    {"UntagResource", untag_resource},
	    {"ListTagsForResource", list_tags_for_resource},
	};
	assert(c != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	size_t prefix_bytes = strlen(CTL_SNS_TARGET_PREFIX);
	const char *action = target != NULL && strncmp(target, CTL_SNS_TARGET_PREFIX,
	                                               prefix_bytes) == 0
	                         ? target + prefix_bytes
	                         : "";
	json_t *body = request_bytes <= CTL_REQUEST_BYTES_MAX
	                   ? json_loadb(request, request_bytes, JSON_REJECT_DUPLICATES, NULL)
	                   : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		fail(out, &SERIALIZATION, "the request is not a JSON object (of at most %u bytes)",
		     CTL_REQUEST_BYTES_MAX);
		return;
	}
	fold_query_lists(body);
	uint64_t version = ctl_store_version(c->store);
	size_t i = 0;
	for (; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(action, actions[i].action) == 0) {
			actions[i].handle(c, body, out);
			break;
		}
	}
	if (i == sizeof(actions) / sizeof(actions[0]))
		fail(out, &INVALID_ACTION, "The action %s is not valid for this endpoint.", action);
	json_decref(body);
	out->changed = ctl_store_version(c->store) != version;
}

/*
 * The SubscriptionConfirmation message and SNS's headers (see ctl_sns_http.h). The layout is
 * SNS's byte for byte ("Name" : value, two blanks of indent, one field a line), as the
 * Notification envelope busbard renders (docs/sns.md, "Deliveries").
 */
#include "ctl_sns_http.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define CONFIRMATION_TYPE "SubscriptionConfirmation"

void ctl_sns_timestamp(int64_t ms, char out[CTL_SNS_TIMESTAMP_BYTES + 1])
{
	assert(ms >= 0);
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char seconds[CTL_SNS_TIMESTAMP_BYTES + 1];
	strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, CTL_SNS_TIMESTAMP_BYTES + 1, "%.19s.%03dZ", seconds, (int)(ms % 1000));
}

/* RFC 3986's unreserved characters stay, every other byte is %XX (as SNS writes the ARN). */
static bool percent_encode(const char *text, char *out, size_t capacity)
{
	size_t used = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		             (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
		int n = plain ? snprintf(out + used, capacity - used, "%c", *p)
		              : snprintf(out + used, capacity - used, "%%%02X", *p);
		if (n < 0 || (size_t)n >= capacity - used)
			return false;
		used += (size_t)n;
	}
	return true;
}

int ctl_sns_subscribe_url(const char *control_url, const char *topic_arn, const char *token,
                          char *out, size_t capacity)
{
	assert(control_url != NULL && topic_arn != NULL && token != NULL && capacity > 0);
	char arn[3u * (BB_TOPIC_NAME_BYTES_MAX + 64u) + 1];
	if (!percent_encode(topic_arn, arn, sizeof(arn)))
		return -ENOBUFS;
	int n = snprintf(out, capacity, "%s/?Action=ConfirmSubscription&TopicArn=%s&Token=%s",
	                 control_url, arn, token);
	return n >= 0 && (size_t)n < capacity ? 0 : -ENOBUFS;
}

/* SNS's words, with the topic's ARN. malloc'd. */
static char *confirmation_message(const char *topic_arn)
{
	char *text = NULL;
	int n = asprintf(&text,
	                 "You have chosen to subscribe to the topic %s.\nTo confirm the "
	                 "subscription, visit the SubscribeURL included in this message.",
	                 topic_arn);
	return n < 0 ? NULL : text;
}

char *ctl_sns_confirmation_to_sign(const struct ctl_sns_confirmation *c)
{
	assert(c != NULL && c->topic_arn != NULL);
	char *message = confirmation_message(c->topic_arn);
	char *text = NULL;
	int n = message == NULL
	            ? -1
	            : asprintf(&text,
	                       "Message\n%s\nMessageId\n%s\nSubscribeURL\n%s\nTimestamp\n%s\n"
	                       "Token\n%s\nTopicArn\n%s\nType\n%s\n",
	                       message, c->message_id, c->subscribe_url, c->timestamp, c->token,
	                       c->topic_arn, CONFIRMATION_TYPE);
	free(message);
	return n < 0 ? NULL : text;
}

/*
 * `  "name" : "value"` with value escaped as SNS does (jansson's escapes are the same: `"`,
 * `\`, \n \r \t \b \f, other control characters \u00XX; `/` and non-ASCII as they are).
 */
static void field(FILE *out, const char *name, const char *value, bool last)
{
	json_t *string = json_string(value);
	char *escaped = string != NULL ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
	fprintf(out, "  \"%s\" : %s%s\n", name, escaped != NULL ? escaped : "\"\"",
	        last ? "" : ",");
	free(escaped);
	json_decref(string);
}

char *ctl_sns_confirmation_body(const struct ctl_sns_confirmation *c, const char *signature)
{
	assert(c != NULL && signature != NULL);
	char *message = confirmation_message(c->topic_arn);
	char version[8];
	snprintf(version, sizeof(version), "%u", c->signature_version);
	char *text = NULL;
	size_t bytes = 0;
	FILE *out = message != NULL ? open_memstream(&text, &bytes) : NULL;
	if (out == NULL) {
		free(message);
		return NULL;
	}
	fputs("{\n", out);
	field(out, "Type", CONFIRMATION_TYPE, false);
	field(out, "MessageId", c->message_id, false);
	field(out, "Token", c->token, false);
	field(out, "TopicArn", c->topic_arn, false);
	field(out, "Message", message, false);
	field(out, "SubscribeURL", c->subscribe_url, false);
	field(out, "Timestamp", c->timestamp, false);
	field(out, "SignatureVersion", version, false);
	field(out, "Signature", signature, false);
	field(out, "SigningCertURL", c->signing_cert_url, true);
	fputs("}", out);
	bool written = !ferror(out);
	fclose(out);
	free(message);
	if (!written) {
		free(text);
		return NULL;
	}
	return text;
}

unsigned ctl_sns_headers(const char *type, const char *message_id, const char *topic_arn,
                         const char *subscription_arn,
                         char out[CTL_SNS_HEADERS][CTL_SNS_HEADER_BYTES_MAX])
{
	assert(type != NULL && message_id != NULL && topic_arn != NULL);
	unsigned n = 0;
	snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "x-amz-sns-message-type: %s", type);
	snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "x-amz-sns-message-id: %s", message_id);
	snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "x-amz-sns-topic-arn: %s", topic_arn);
	if (subscription_arn != NULL)
		snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "x-amz-sns-subscription-arn: %s",
		         subscription_arn);
	snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "Content-Type: text/plain; charset=UTF-8");
	snprintf(out[n++], CTL_SNS_HEADER_BYTES_MAX, "User-Agent: %s", CTL_SNS_USER_AGENT);
	assert(n <= CTL_SNS_HEADERS);
	return n;
}

void ctl_sns_endpoint_for_log(const char *endpoint, char *out, size_t out_bytes)
{
	assert(endpoint != NULL && out_bytes > 0);
	const char *authority = strstr(endpoint, "://");
	authority = authority != NULL ? authority + 3 : endpoint;
	size_t authority_bytes = strcspn(authority, "/?#");
	const char *at = memchr(authority, '@', authority_bytes);
	const char *colon = at != NULL ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
	if (colon == NULL) {
		snprintf(out, out_bytes, "%s", endpoint);
		return;
	}
	snprintf(out, out_bytes, "%.*s****%s", (int)(colon + 1 - endpoint), endpoint, at);
	assert(strstr(out, "****") != NULL || strlen(out) + 1 == out_bytes);
}

/*
 * What busbar-control POSTs to an http/https subscription's endpoint (docs/sns.md, "HTTP and
 * HTTPS subscriptions"): the SubscriptionConfirmation message in SNS's layout, its string to
 * sign, its SubscribeURL and SNS's headers. Pure text building, no I/O: ctl_sns_sender.c
 * signs and sends, tests/control/test_ctl_sns_http.c checks the bytes.
 */
#ifndef BB_CTL_SNS_HTTP_H
#define BB_CTL_SNS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

#define CTL_SNS_TIMESTAMP_BYTES 24u /* 2012-05-02T00:54:06.655Z */
/* A SubscribeURL: the control URL, the ARN with every byte percent-encoded at worst, a token. */
#define CTL_SNS_SUBSCRIBE_URL_BYTES_MAX (512u + 3u * (BB_TOPIC_NAME_BYTES_MAX + 64u))
/* The headers of one POST: SNS's four, Content-Type and User-Agent. */
#define CTL_SNS_HEADERS 6u
#define CTL_SNS_HEADER_BYTES_MAX (64u + BB_TOPIC_NAME_BYTES_MAX + 64u)
/* An endpoint as logged (ctl_sns_endpoint_for_log): subscription endpoints are shorter. */
#define CTL_SNS_ENDPOINT_LOG_BYTES (BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 8u)
#define CTL_SNS_USER_AGENT "Amazon Simple Notification Service Agent"

/* A SubscriptionConfirmation's fields; every string NUL-terminated, none NULL. */
struct ctl_sns_confirmation {
	const char *message_id; /* a UUID, the same on every resend */
	const char *token;
	const char *topic_arn;
	const char *subscribe_url;
	const char *timestamp; /* ctl_sns_timestamp */
	const char *signing_cert_url;
	unsigned signature_version; /* the topic's: 1 SHA1withRSA, 2 SHA256withRSA */
};

/* SNS's timestamp of ms since 1970 (UTC, milliseconds): out holds CTL_SNS_TIMESTAMP_BYTES + 1. */
void ctl_sns_timestamp(int64_t ms, char out[CTL_SNS_TIMESTAMP_BYTES + 1]);

/*
 * The SubscribeURL busbar-control answers: <control_url>/?Action=ConfirmSubscription&TopicArn=
 * <arn, percent-encoded>&Token=<token>, a GET of which confirms (no signature needed, as on
 * SNS). 0, or -ENOBUFS when it does not fit capacity.
 */
__attribute__((warn_unused_result)) int ctl_sns_subscribe_url(const char *control_url,
                                                              const char *topic_arn,
                                                              const char *token, char *out,
                                                              size_t capacity);

/*
 * SNS's string to sign of a SubscriptionConfirmation: Message, MessageId, SubscribeURL,
 * Timestamp, Token, TopicArn, Type, each as its name, a newline, its value, a newline.
 * malloc'd (free it), NULL when out of memory.
 */
char *ctl_sns_confirmation_to_sign(const struct ctl_sns_confirmation *c);

/*
 * The message's JSON in SNS's layout, with signature (base64) as its Signature. malloc'd,
 * NULL when out of memory.
 */
char *ctl_sns_confirmation_body(const struct ctl_sns_confirmation *c, const char *signature);

/*
 * The POST's headers as "Name: value" lines for message type ("SubscriptionConfirmation",
 * "Notification"), its MessageId, the topic's ARN and, for a Notification, the subscription's
 * ARN (NULL: the header is left out). Returns how many were written into out.
 */
unsigned ctl_sns_headers(const char *type, const char *message_id, const char *topic_arn,
                         const char *subscription_arn,
                         char out[CTL_SNS_HEADERS][CTL_SNS_HEADER_BYTES_MAX]);

/*
 * An endpoint as it may be logged: the password of a "user:password@" in it replaced by
 * "****", as SNS masks it (the rest as it is). Cut to out_bytes.
 */
void ctl_sns_endpoint_for_log(const char *endpoint, char *out, size_t out_bytes);

#endif

/*
 * busbar-control's sender of SubscriptionConfirmation messages to http/https endpoints
 * (docs/sns.md, "HTTP and HTTPS subscriptions"): one thread of its own with libcurl, so the
 * HTTP server's thread only queues (an endpoint that hangs delays no API answer). Each
 * message is signed with busbard's SNS key (read from busbard's state directory once it is
 * there) and resent on failure at most CTL_SNS_CONFIRM_ATTEMPTS times in all.
 *
 * Bounds: CTL_SNS_SENDER_QUEUE_MAX messages waiting (Subscribe beyond it still answers, the
 * message is not sent: logged), one POST at a time, CTL_SNS_CONNECT_TIMEOUT_MS to connect and
 * CTL_SNS_POST_TIMEOUT_MS in all, at most CTL_SNS_RESPONSE_BYTES_MAX of an answer read.
 */
#ifndef BB_CTL_SNS_SENDER_H
#define BB_CTL_SNS_SENDER_H

#define CTL_SNS_SENDER_QUEUE_MAX    256u
#define CTL_SNS_CONFIRM_ATTEMPTS    4u      /* the first and 3 resends, as SNS's numRetries */
#define CTL_SNS_CONFIRM_DELAY_MS    1000u   /* before the first resend, x4 before each next */
#define CTL_SNS_CONNECT_TIMEOUT_MS  5000L
#define CTL_SNS_POST_TIMEOUT_MS     15000L
#define CTL_SNS_RESPONSE_BYTES_MAX  65536u  /* of an endpoint's answer; the rest ends the POST */

struct ctl_sns_sender;

struct ctl_sns_sender_options {
	const char *control_url; /* as subscribers reach busbar-control: SubscribeURL's base */
	const char *signing_dir; /* busbard's state directory: sns-signing.key, sns-signing.pem */
	const char *ca_file;     /* PEM CAs trusted for https endpoints; NULL: the system's */
};

/* Starts the thread. NULL when it cannot (logged). */
struct ctl_sns_sender *ctl_sns_sender_start(const struct ctl_sns_sender_options *options);

/*
 * Queues a SubscriptionConfirmation of topic_arn with token to endpoint (an http:// or
 * https:// URL); any thread. 0, or -EBUSY when CTL_SNS_SENDER_QUEUE_MAX wait, -ENOMEM.
 */
int ctl_sns_sender_confirm(struct ctl_sns_sender *sender, const char *endpoint,
                           const char *topic_arn, const char *token,
                           unsigned signature_version);

/* Stops the thread (a POST under way is cut short) and frees what waits. */
void ctl_sns_sender_stop(struct ctl_sns_sender *sender);

#endif

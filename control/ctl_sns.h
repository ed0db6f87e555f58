/*
 * The SNS management calls of busbar-control (CreateTopic ... ListTagsForResource,
 * docs/sns.md "Managing topics"). Pure request to response, as ctl_sqs.h: the
 * request's parameters as JSON (the AWS query protocol's form already brought to
 * that shape by ctl_aws.c, its Attributes.entry.N / Tags.member.N lists folded here),
 * an HTTP status and a JSON body out, so tests and the fuzzer call it without HTTP.
 * Also the topics and subscriptions a snapshot carries to busbard.
 */
#ifndef BB_CTL_SNS_H
#define BB_CTL_SNS_H

#include <stdint.h>

#include "bb_snapshot.h"
#include "ctl_sqs.h"

#define CTL_SNS_TARGET_PREFIX "AmazonSNS." /* busbar's JSON shape of SNS (docs/aws-api.md) */
#define CTL_SNS_LIST_PAGE_MAX 100u         /* ListTopics, ListSubscriptions(ByTopic), as SNS */
/* What ctl_sns_snapshot_entries may write: every topic and subscription. */
#define CTL_SNS_ENTRIES_MAX (BB_TOPIC_COUNT_MAX + BB_SUBSCRIPTION_COUNT_MAX)

struct ctl_sns_context {
	struct ctl_store *store;
	const char *account_id; /* of every ARN: 12 digits (ctl_aws_config) */
	const char *region;
	/*
	 * Called when Subscribe answers with a pending http(s) subscription (a new one, or the
	 * same again, as SNS sends the confirmation again), inside the store lock: queue the
	 * SubscriptionConfirmation (ctl_sns_sender.h), do not send it here. NULL: none is sent.
	 */
	void (*confirmation_wanted)(void *context, const char *endpoint, const char *topic_arn,
	                            const char *token, unsigned signature_version);
	void *confirmation_context;
};

/*
 * target is "AmazonSNS.<Action>"; request the parameters as a JSON object (may be
 * malformed). out->body is the result, or {"__type", "message"} with out->query_error
 * "Code;Sender" on an error; out->changed when the configuration version moved.
 */
void ctl_sns_handle(const struct ctl_sns_context *context, const char *target, const char *request,
                    size_t request_bytes, struct ctl_sqs_result *out);

/* Creates SNS's tables in the store (ctl_store_open calls it). 0 or -EIO. */
__attribute__((warn_unused_result)) int ctl_sns_store_init(struct ctl_store *store);

/*
 * The topics then the subscriptions, as snapshot entries in entries[0..capacity), inside
 * the caller's read transaction. Their texts are malloc'd: ctl_sns_entries_clear frees them.
 * -E2BIG beyond capacity.
 */
__attribute__((warn_unused_result)) int ctl_sns_snapshot_entries(struct ctl_store *store,
                                                                 struct bb_snapshot_entry *entries,
                                                                 uint32_t capacity,
                                                                 uint32_t *count);
void ctl_sns_entries_clear(struct bb_snapshot_entry *entries, uint32_t count);

#endif

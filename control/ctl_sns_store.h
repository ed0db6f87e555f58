/*
 * SNS topics, subscriptions and topic tags in busbar-control's SQLite store
 * (ctl_store.h). Every change bumps the configuration version in its own
 * transaction, and each limit is checked inside that transaction, so two
 * callers can never pass a limit together. ctl_sns.c is the API over it.
 */
#ifndef BB_CTL_SNS_STORE_H
#define BB_CTL_SNS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "ctl_store.h"

#define CTL_SNS_DISPLAY_NAME_BYTES_MAX    100u  /* DisplayName, as SNS */
#define CTL_SNS_DELIVERY_POLICY_BYTES_MAX 4096u /* DeliveryPolicy JSON, topic or subscription */
#define CTL_SNS_REDRIVE_POLICY_BYTES_MAX  1024u /* {"deadLetterTargetArn": "arn:..."} */
#define CTL_SNS_PROTOCOL_BYTES_MAX        8u    /* "https" */
#define CTL_SNS_UUID_BYTES                36u   /* a subscription's id in its ARN */
#define CTL_SNS_TOKEN_BYTES               64u   /* a confirmation token: 32 random bytes, hex */
#define CTL_SNS_TAG_KEY_BYTES_MAX         128u  /* as SNS (and every AWS tag) */
#define CTL_SNS_TAG_VALUE_BYTES_MAX       256u
#define CTL_SNS_TAGS_PER_TOPIC_MAX        50u

/* What busbard's topic engine takes (SNS allows 12,500,000). */
#define CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX BB_TOPIC_SUBSCRIPTIONS_MAX
#ifndef BB_TINY_LIMITS
#define CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX 200u /* as SNS */
#else
#define CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX 2u
#endif
_Static_assert(CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX <= BB_SUBSCRIPTION_COUNT_MAX,
               "a topic's subscriptions fit one snapshot");
_Static_assert(CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX <= CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX,
               "each filter policy belongs to a subscription");

struct ctl_topic {
	int64_t id; /* never reused: a re-created topic is a new topic */
	char name[BB_TOPIC_NAME_BYTES_MAX + 1];
	bool fifo;   /* FifoTopic: fixed when the topic is made */
	bool content_based_deduplication;
	bool memory; /* busbar:Durability=memory: fixed when the topic is made */
	char display_name[CTL_SNS_DISPLAY_NAME_BYTES_MAX + 1];
	char delivery_policy[CTL_SNS_DELIVERY_POLICY_BYTES_MAX + 1]; /* "" when not set */
	uint32_t signature_version; /* 1 (SHA1) or 2 (SHA256) */
	int64_t created_s;
};

struct ctl_subscription {
	int64_t id; /* the snapshot's subscription id */
	int64_t topic_id;
	char topic_name[BB_TOPIC_NAME_BYTES_MAX + 1];
	char uuid[CTL_SNS_UUID_BYTES + 1];
	char protocol[CTL_SNS_PROTOCOL_BYTES_MAX + 1]; /* sqs, udp, http, https */
	char endpoint[BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 1]; /* as given: a queue ARN, ... */
	char target[BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 1];   /* what busbard uses: a name */
	bool confirmed;
	char token[CTL_SNS_TOKEN_BYTES + 1]; /* for ConfirmSubscription while pending */
	bool raw;        /* RawMessageDelivery */
	bool scope_body; /* FilterPolicyScope MessageBody (else MessageAttributes) */
	char *filter_policy; /* malloc'd (ctl_subscription_clear), NULL when none */
	char redrive_policy[CTL_SNS_REDRIVE_POLICY_BYTES_MAX + 1];   /* "" when none */
	char dead_letter_queue[BB_QUEUE_NAME_BYTES_MAX + 1];         /* its queue's name */
	char delivery_policy[CTL_SNS_DELIVERY_POLICY_BYTES_MAX + 1]; /* "" when not set */
};

struct ctl_tag {
	char key[CTL_SNS_TAG_KEY_BYTES_MAX + 1];
	char value[CTL_SNS_TAG_VALUE_BYTES_MAX + 1];
};

/*
 * 0 created (t->id set); -EEXIST with *existing filled when the name is taken; -ENOSPC when
 * BB_TOPIC_COUNT_MAX topics exist. The tags (at most CTL_SNS_TAGS_PER_TOPIC_MAX) go with it.
 */
__attribute__((warn_unused_result)) int
ctl_sns_create_topic(struct ctl_store *store, struct ctl_topic *t, const struct ctl_tag *tags,
                     uint32_t tag_count, struct ctl_topic *existing);
/* 0 or -ENOENT. */
__attribute__((warn_unused_result)) int ctl_sns_get_topic(struct ctl_store *store,
                                                          const char *name, struct ctl_topic *out);
/* Its subscriptions and tags go with it. 0 or -ENOENT. */
__attribute__((warn_unused_result)) int ctl_sns_delete_topic(struct ctl_store *store,
                                                             const char *name);
/* Writes the settable attributes (DisplayName, DeliveryPolicy, SignatureVersion, ...). */
__attribute__((warn_unused_result)) int ctl_sns_update_topic(struct ctl_store *store,
                                                             const struct ctl_topic *t);
/* At most limit (> 0) topics after `after` (NULL: from the first) by name; *out malloc'd. */
__attribute__((warn_unused_result)) int ctl_sns_list_topics(struct ctl_store *store,
                                                            const char *after, size_t limit,
                                                            struct ctl_topic **out, size_t *count);
__attribute__((warn_unused_result)) int ctl_sns_topic_counts(struct ctl_store *store,
                                                             int64_t topic_id, uint32_t *confirmed,
                                                             uint32_t *pending);

/*
 * 0 created (s->id set); -EEXIST with *existing filled when the topic has a subscription of
 * this protocol and endpoint; -ENOSPC at CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX or
 * BB_SUBSCRIPTION_COUNT_MAX; -EDQUOT when it has a filter policy and the topic has
 * CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX; -ENOENT when the topic is gone.
 */
__attribute__((warn_unused_result)) int
ctl_sns_create_subscription(struct ctl_store *store, struct ctl_subscription *s,
                            struct ctl_subscription *existing);
/* By the uuid of its ARN: 0 or -ENOENT; clear *out after. */
__attribute__((warn_unused_result)) int
ctl_sns_get_subscription(struct ctl_store *store, const char *uuid, struct ctl_subscription *out);
__attribute__((warn_unused_result)) int ctl_sns_delete_subscription(struct ctl_store *store,
                                                                    const char *uuid);
/* Writes s's settable fields; -EDQUOT as create when it gains a filter policy. */
__attribute__((warn_unused_result)) int
ctl_sns_update_subscription(struct ctl_store *store, const struct ctl_subscription *s);
/* The pending subscription of topic_id with this token becomes confirmed: 0 (out filled),
 * or -ENOENT (no such token; a confirmed one is found and answered as is). */
__attribute__((warn_unused_result)) int ctl_sns_confirm(struct ctl_store *store, int64_t topic_id,
                                                        const char *token,
                                                        struct ctl_subscription *out);
/*
 * At most limit (> 0) subscriptions with an id above after_id, of topic_id (0: of every
 * topic), by id, without their filter policies; *out malloc'd.
 */
__attribute__((warn_unused_result)) int
ctl_sns_list_subscriptions(struct ctl_store *store, int64_t topic_id, int64_t after_id,
                           size_t limit, struct ctl_subscription **out, size_t *count);
void ctl_subscription_clear(struct ctl_subscription *s);

/* A topic's tags by key; *out malloc'd (CTL_SNS_TAGS_PER_TOPIC_MAX entries). */
__attribute__((warn_unused_result)) int ctl_sns_list_tags(struct ctl_store *store,
                                                          int64_t topic_id, struct ctl_tag **out,
                                                          size_t *count);
/* Adds or replaces; -ENOSPC when the topic would have more than CTL_SNS_TAGS_PER_TOPIC_MAX. */
__attribute__((warn_unused_result)) int ctl_sns_tag(struct ctl_store *store, int64_t topic_id,
                                                    const struct ctl_tag *tags, uint32_t count);
/* Removes the keys that are there; the others are no error (as SNS). */
__attribute__((warn_unused_result)) int ctl_sns_untag(struct ctl_store *store, int64_t topic_id,
                                                      const char *const *keys, uint32_t count);

#endif

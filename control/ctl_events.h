/*
 * The EventBridge management calls of busbar-control (JSON 1.1, AWSEvents.*):
 * buses, rules, targets, tags and TestEventPattern, kept in the store's SQLite
 * database beside the queues. Pure request to response, as ctl_sqs.h: JSON in,
 * status and JSON out, so tests and the fuzzer call it without HTTP. Every
 * change bumps the store's version; buses, rules and targets become snapshot
 * entries (ctl_events_snapshot_entries) that busbard routes with.
 */
#ifndef BB_CTL_EVENTS_H
#define BB_CTL_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bb_snapshot.h"
#include "ctl_sqs.h"
#include "ctl_store.h"

/* AWS's limits where AWS has one (docs/eventbridge.md, "Managing buses and rules"). */
#define CTL_EVENTS_TARGETS_PER_CALL_MAX  10u  /* PutTargets entries */
#define CTL_EVENTS_REMOVE_IDS_MAX        100u /* RemoveTargets Ids */
#define CTL_EVENTS_LIST_LIMIT_MAX        100u /* Limit of the List calls */
#define CTL_EVENTS_DESCRIPTION_BYTES_MAX 512u
#define CTL_EVENTS_ARN_BYTES_MAX         1600u
#define CTL_EVENTS_GROUP_ID_BYTES_MAX    128u /* SqsParameters.MessageGroupId, as SQS */
#define CTL_EVENTS_TAGS_PER_RESOURCE_MAX 50u
#define CTL_EVENTS_TAG_KEY_BYTES_MAX     128u
#define CTL_EVENTS_TAG_VALUE_BYTES_MAX   256u
#define CTL_EVENTS_RETRY_ATTEMPTS_MAX    185u
#define CTL_EVENTS_EVENT_AGE_S_MIN       60u
#define CTL_EVENTS_EVENT_AGE_S_MAX       86400u
#define CTL_EVENTS_TEST_EVENT_BYTES_MAX  (256u << 10)
#define CTL_EVENTS_ERROR_BYTES_MAX       512u /* an error's message */
#define CTL_EVENTS_ARCHIVE_NAME_BYTES_MAX 48u
/* busbar's bound on archives (AWS's is a quota of the account). */
#define CTL_EVENTS_ARCHIVES_MAX          100u
/* The snapshot entries of buses, rules and targets at most (ctl_events_snapshot_entries). */
#define CTL_EVENTS_ENTRIES_MAX (BB_BUS_COUNT_MAX + BB_RULE_COUNT_MAX + BB_TARGET_COUNT_MAX)
#define CTL_EVENTS_DEFAULT_BUS "default" /* always there, never deleted */

struct ctl_events_context {
	struct ctl_store *store;
	const char *account_id; /* of ARNs: the AWS API's (ctl_aws_config) */
	const char *region;
};

/*
 * target is the X-Amz-Target header ("AWSEvents.PutRule"); request is the
 * body (may be malformed). out has ctl_sqs.h's shape: EventBridge errors are
 * {"__type": "ResourceNotFoundException", "message": ...} with no query code.
 */
void ctl_events_handle(const struct ctl_events_context *context, const char *target,
                       const char *request, size_t request_bytes, struct ctl_sqs_result *out);

/* ctl_events_handle answers this action ("PutRule"): for the HTTP side's dispatch. */
bool ctl_events_manages(const char *action);

/*
 * The resource a call acts on, for the key's policy (ctl_aws_server.c): its ResourceARN, the
 * rule's ARN (Rule, or Name of a rule call), the bus's (Name of a bus call, EventBusName,
 * else the default bus), an archive's (ArchiveName), or "arn:aws:events:REGION:ACCOUNT:*"
 * for ListEventBuses, TestEventPattern and ListArchives.
 */
void ctl_events_resource_arn(const char *region, const char *account_id, const char *action,
                             json_t *params, char *out, size_t out_bytes);

/* The tables, made with the store (ctl_store_open) and the default bus in them. 0 or -EIO. */
__attribute__((warn_unused_result)) int ctl_events_schema(struct sqlite3 *db);

/*
 * Buses, rules and targets as snapshot entries, at most capacity (-E2BIG
 * beyond), read inside the caller's transaction. Their text is malloc'd:
 * ctl_events_entries_clear frees it.
 */
__attribute__((warn_unused_result)) int
ctl_events_snapshot_entries(struct ctl_store *store, struct bb_snapshot_entry *entries,
                            uint32_t capacity, uint32_t *count);
void ctl_events_entries_clear(struct bb_snapshot_entry *entries, uint32_t count);

#endif

/*
 * Recovery of an SQS engine from its log: the records of sqs_record.h, in log order, are
 * applied with sqs_replay_record; this keeps the map from message id to engine index that
 * the records need (they name messages by id, the engine by index). Used once, at start,
 * where allocation is allowed.
 */
#ifndef BB_SQS_REPLAY_H
#define BB_SQS_REPLAY_H

#include "sqs.h"

struct sqs_replay;

/* For an engine of message_slots messages. NULL when out of memory. */
struct sqs_replay *sqs_replay_create(uint32_t message_slots);
void sqs_replay_destroy(struct sqs_replay *replay);

/* Applies one record to the queue in slot (sqs_replay_record); OverLimit when it has no room. */
__attribute__((warn_unused_result)) enum wire_status
sqs_replay_apply(struct sqs_replay *replay, struct sqs_engine *engine, uint32_t slot,
                 const struct sqs_record *record, uint64_t position, uint64_t now_ms);

/* Messages the replay has made and not seen deleted. */
uint32_t sqs_replay_message_count(const struct sqs_replay *replay);

#endif

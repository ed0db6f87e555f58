/*
 * Between the snapshot codec's files: bb_snapshot.c reads the header, queues and keys and
 * hands the routing kinds (topics, subscriptions, buses, rules, targets) to
 * bb_snapshot_routing.c, which knows their fields from one table.
 */
#ifndef BB_SNAPSHOT_INT_H
#define BB_SNAPSHOT_INT_H

#include "bb_snapshot.h"

/* The kind a routing begin tag starts; false when the tag is not one. */
bool bb_snapshot_routing_begins(uint16_t tag, enum bb_snapshot_kind *kind);
bool bb_snapshot_kind_is_routing(enum bb_snapshot_kind kind);
/* Reads one field into a routing entry; *seen has a bit per field read, so none comes twice. */
enum wire_status bb_snapshot_routing_field(struct bb_snapshot_entry *entry,
                                           const struct wire_field *field, uint64_t *seen);
/* Every required field there and each value in range. */
bool bb_snapshot_routing_is_complete(const struct bb_snapshot_entry *entry);
void bb_snapshot_routing_put(struct wire_writer *writer, const struct bb_snapshot_entry *entry);
size_t bb_snapshot_routing_bytes(const struct bb_snapshot_entry *entry);
uint32_t bb_snapshot_kind_count_max(enum bb_snapshot_kind kind);

#endif

/*
 * The bus engine's log records: what a bus writes into its owner's segment log. A PUT is
 * an accepted event (written before PutEvents answers; fan-out reads it back, also at
 * recovery, so a crash between accept and delivery still delivers); a DONE says every
 * delivery of that event is durable where it went, so recovery skips it. Little-endian,
 * asserted sizes (STYLE.md, habit 6); the log frames and checksums each record.
 *
 *   0  u8  kind (enum bus_record_kind)     1 u8 flags (BUS_RECORD_FLAG_REPLAY)
 *   2  u16 replay name bytes (0-BB_BUS_REPLAY_NAME_BYTES_MAX; > 0 exactly with the flag)
 *   4  u32 event bytes (PUT: 1-BUS_EVENT_BYTES_MAX; DONE: 0)
 *   8  u64 bus id (not 0)                  16 u8[16] event id (the UUID's 16 bytes)
 *   32 u64 ingestion time, ms since 1970
 *   40 the event JSON (PUT), then the replay name
 *   then, with BUS_RECORD_FLAG_ORIGIN (PUT only), 16 bytes of where the event came from:
 *      u64 the scheduled rule that fired it (0: none; it goes to that rule's targets only)
 *      u32 the bus-to-bus hops it made (0-BUS_HOPS_MAX)   u32 0
 */
#ifndef BB_BUS_RECORD_H
#define BB_BUS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "bus.h"

#define BUS_RECORD_HEADER_BYTES 40u
#define BUS_RECORD_FLAG_REPLAY  0x01u
#define BUS_RECORD_FLAG_ORIGIN  0x02u /* a scheduled firing, or an event another bus sent */
#define BUS_RECORD_ORIGIN_BYTES 16u
/*
 * Bus-to-bus hops an event may make: AWS's classic buses route an event that came from
 * another bus to no third bus (nor back), so a rule loop (A -> B -> A) cannot amplify.
 */
#define BUS_HOPS_MAX 1u
#define BUS_RECORD_BYTES_MAX                                                                       \
	(BUS_RECORD_HEADER_BYTES + BUS_EVENT_BYTES_MAX + BB_BUS_REPLAY_NAME_BYTES_MAX +          \
	 BUS_RECORD_ORIGIN_BYTES)
_Static_assert(BB_BUS_REPLAY_NAME_BYTES_MAX <= UINT16_MAX, "a replay name's length fits u16");
_Static_assert(BUS_EVENT_BYTES_MAX <= UINT32_MAX, "an event's length fits u32");

/* The log's record type for bus records: resource kind bus (3) in the high byte. */
#define BUS_RECORD_LOG_TYPE 0x0300u

enum bus_record_kind {
	BUS_RECORD_PUT = 1,  /* an accepted event */
	BUS_RECORD_DONE = 2, /* its deliveries are durable where they went */
};

struct bus_record {
	enum bus_record_kind kind;
	uint64_t bus_id;
	uint8_t event_id[16];
	uint64_t ingestion_ms;
	const char *event; /* PUT: event_bytes of JSON, else NULL */
	uint32_t event_bytes;
	const char *replay_name; /* replay_name_bytes > 0: the event is replayed */
	uint32_t replay_name_bytes;
	uint64_t rule_id; /* PUT: the scheduled rule that fired it, else 0 (matched by pattern) */
	uint32_t hops;    /* PUT: bus-to-bus hops it made to get here, 0-BUS_HOPS_MAX */
};

/* Writes the record into out (capacity bytes); returns its size, 0 when it does not fit. */
size_t bus_record_encode(const struct bus_record *record, uint8_t *out, size_t capacity);
/*
 * Reads a record; event and replay name point into bytes. 0, or -EBADMSG when the bytes
 * are not a record of a known kind with consistent sizes and fields.
 */
__attribute__((warn_unused_result)) int bus_record_decode(const uint8_t *bytes, size_t length,
                                                          struct bus_record *out);

#endif

/*
 * Scheduled rules: EventBridge's ScheduleExpression, rate(value unit) and
 * cron(minutes hours day-of-month month day-of-week year) in UTC, parsed and checked as AWS
 * does (the control plane calls bus_schedule_parse at PutRule), and the next time a rule
 * fires after a given time (the service thread keeps each scheduled rule's next time and,
 * when it passes, puts the rule's event: source "aws.events", detail-type "Scheduled
 * Event", detail {}, resources [rule ARN]). No clock: times are arguments, in ms since 1970.
 */
#ifndef BB_BUS_SCHEDULE_H
#define BB_BUS_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_SCHEDULE_RATE_VALUE_MAX 2147483647u /* rate(value ...): AWS's Integer */
#define BUS_SCHEDULE_YEAR_MIN       1970u
#define BUS_SCHEDULE_YEAR_MAX       2199u

enum bus_schedule_kind { BUS_SCHEDULE_RATE = 1, BUS_SCHEDULE_CRON = 2 };

struct bus_schedule {
	enum bus_schedule_kind kind;
	uint64_t period_ms; /* rate */
	/* cron: a bit per allowed value */
	uint64_t minutes;  /* bit 0-59 */
	uint32_t hours;    /* bit 0-23 */
	uint32_t days;     /* bit 1-31 */
	uint16_t months;   /* bit 1-12 */
	uint8_t weekdays;  /* bit 1-7, 1 = SUN */
	uint64_t years[4]; /* bit year - 1970 */
	bool day_of_month_any; /* '?' in day-of-month: days come from day-of-week */
	bool last_day;         /* day-of-month L */
	bool last_weekday;     /* day-of-month LW */
	uint8_t nearest_weekday;   /* day-of-month nW: n, else 0 */
	uint8_t last_of_weekday;   /* day-of-week nL: n, else 0 */
	uint8_t nth_weekday;       /* day-of-week n#k: n, else 0 */
	uint8_t nth;               /* ... and k (1-5) */
};

/*
 * Parses a ScheduleExpression. 0, or -EINVAL with AWS's kind of reason in error
 * ("Parameter ScheduleExpression is not valid.").
 */
__attribute__((warn_unused_result)) int bus_schedule_parse(const char *text, size_t length,
                                                           struct bus_schedule *out,
                                                           char *error, size_t error_bytes);

/*
 * The first time the schedule fires after after_ms: 0 with *next_ms, or -ENOENT when it
 * never does again (a cron whose years have passed). A rate fires at anchor_ms (the rule's
 * creation or last change) plus whole periods; a cron at whole minutes, UTC.
 */
__attribute__((warn_unused_result)) int bus_schedule_next(const struct bus_schedule *schedule,
                                                          uint64_t anchor_ms, uint64_t after_ms,
                                                          uint64_t *next_ms);

/*
 * busbard's anchor of every rate: 1970-01-01T00:00Z, so rate(5 minutes) fires at :00, :05,
 * ... and rate(1 hour) at each whole hour. The snapshot does not say when a rule was made,
 * and a fixed anchor needs no state to keep a rule's due times the same across restarts.
 */
#define BUS_SCHEDULE_RATE_ANCHOR_MS 0u
#define BUS_SCHEDULE_NEVER          UINT64_MAX /* a schedule that will not fire again */

/*
 * The clock of one scheduled rule on its owner, times as arguments. bus_schedule_start: the
 * first due time after now_ms (a rule busbard starts with, or learns of, fires at its next
 * due time, never for one that passed), or BUS_SCHEDULE_NEVER.
 */
uint64_t bus_schedule_start(const struct bus_schedule *schedule, uint64_t now_ms);
/*
 * Whether the due time *next_ms has come at now_ms: true with *due_ms set to it and *next_ms
 * moved to the first due time after now_ms, so the due times missed in between (busbard was
 * down or stalled) are skipped, as AWS does not backfill; each due time is given once.
 */
bool bus_schedule_due(const struct bus_schedule *schedule, uint64_t now_ms, uint64_t *next_ms,
                      uint64_t *due_ms);

#endif

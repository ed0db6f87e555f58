/*
 * ScheduleExpression: AWS's rate and cron forms accepted and refused, and the next time a
 * schedule fires after a given time (UTC), including L, W and # and year bounds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "bus_schedule.h"

static struct bus_schedule parse_ok(const char *text)
{
	struct bus_schedule s;
	char error[256];
	cr_assert_eq(bus_schedule_parse(text, strlen(text), &s, error, sizeof(error)), 0, "%s: %s",
	             text, error);
	return s;
}

static void refused(const char *text)
{
	struct bus_schedule s;
	char error[256];
	cr_assert_eq(bus_schedule_parse(text, strlen(text), &s, error, sizeof(error)), -EINVAL,
	             "%s", text);
	cr_assert(strstr(error, "ScheduleExpression") != NULL);
}

static uint64_t at(const char *rfc3339)
{
	uint64_t ms = 0;
	cr_assert_eq(bus_time_parse(rfc3339, strlen(rfc3339), &ms), 0);
	return ms;
}

static const char *next(const char *expr, const char *after)
{
	static char out[BUS_TIME_CHARS + 1];
	struct bus_schedule s = parse_ok(expr);
	uint64_t ms = 0;
	cr_assert_eq(bus_schedule_next(&s, 0, at(after), &ms), 0, "%s", expr);
	bus_time_format(ms, out);
	return out;
}

Test(bus_schedule, rate_forms)
{
	cr_assert_eq(parse_ok("rate(1 minute)").period_ms, 60000);
	cr_assert_eq(parse_ok("rate(5 minutes)").period_ms, 300000);
	cr_assert_eq(parse_ok("rate(1 hour)").period_ms, 3600000);
	cr_assert_eq(parse_ok("rate(7 days)").period_ms, 7 * 86400000ull);
	cr_assert_eq(parse_ok("rate(2147483647 days)").period_ms, 2147483647ull * 86400000ull);
	refused("rate(2147483648 days)");
	refused("rate(1 minutes)");
	refused("rate(5 minute)");
	refused("rate(0 minutes)");
	refused("rate(-1 minutes)");
	refused("rate(5 seconds)");
	refused("rate(5  minutes)");
	refused("rate(5minutes)");
	refused("every 5 minutes");
}

Test(bus_schedule, rate_fires_from_its_anchor)
{
	struct bus_schedule s = parse_ok("rate(5 minutes)");
	uint64_t ms = 0;
	cr_assert_eq(bus_schedule_next(&s, 1000, 1000, &ms), 0);
	cr_assert_eq(ms, 301000);
	cr_assert_eq(bus_schedule_next(&s, 1000, 301000, &ms), 0);
	cr_assert_eq(ms, 601000);
	cr_assert_eq(bus_schedule_next(&s, 1000, 0, &ms), 0);
	cr_assert_eq(ms, 301000);
}

Test(bus_schedule, cron_forms_of_aws_documentation)
{
	parse_ok("cron(0 10 * * ? *)");
	parse_ok("cron(15 12 * * ? *)");
	parse_ok("cron(0 18 ? * MON-FRI *)");
	parse_ok("cron(0 8 1 * ? *)");
	parse_ok("cron(0/15 * * * ? *)");
	parse_ok("cron(0/10 * ? * MON-FRI *)");
	parse_ok("cron(0/5 8-17 ? * MON-FRI *)");
	parse_ok("cron(0 9 ? * 2#1 *)");
	parse_ok("cron(0 0 L * ? *)");
	parse_ok("cron(0 0 ? * 6L *)");
	parse_ok("cron(0 0 15W * ? 2024-2199)");
	parse_ok("cron(0 0 1 JAN,JUL ? *)");
	refused("cron(0 10 * * * *)");       /* both day fields given */
	refused("cron(0 10 ? * ? *)");       /* neither */
	refused("cron(60 10 * * ? *)");
	refused("cron(0 24 * * ? *)");
	refused("cron(0 0 32 * ? *)");
	refused("cron(0 0 1 13 ? *)");
	refused("cron(0 0 ? * 8 *)");
	refused("cron(0 0 1 * ? 1969)");
	refused("cron(0 0 1 * ? 2200)");
	refused("cron(0 0 1 * ?)");
	refused("cron(0 0 1 * ? * *)");
	refused("cron(0 0 ? * 2#6 *)");
	refused("cron(5-1 0 1 * ? *)");
	refused("cron(*/0 0 1 * ? *)");
	refused("cron(0 0 1 FOO ? *)");
}

Test(bus_schedule, cron_next_fire_times)
{
	cr_assert_str_eq(next("cron(0 10 * * ? *)", "2024-01-31T09:59:59Z"),
	                 "2024-01-31T10:00:00Z");
	cr_assert_str_eq(next("cron(0 10 * * ? *)", "2024-01-31T10:00:00Z"),
	                 "2024-02-01T10:00:00Z");
	cr_assert_str_eq(next("cron(0/15 * * * ? *)", "2024-01-31T10:07:00Z"),
	                 "2024-01-31T10:15:00Z");
	/* 2024-02-03 is a Saturday: MON-FRI goes on to Monday the 5th. */
	cr_assert_str_eq(next("cron(0 18 ? * MON-FRI *)", "2024-02-02T18:00:00Z"),
	                 "2024-02-05T18:00:00Z");
	cr_assert_str_eq(next("cron(0 0 L * ? *)", "2024-02-01T00:00:00Z"),
	                 "2024-02-29T00:00:00Z");
	/* The last Friday of March 2024 is the 29th; the first Monday of April is the 1st. */
	cr_assert_str_eq(next("cron(0 0 ? * 6L *)", "2024-03-01T00:00:00Z"),
	                 "2024-03-29T00:00:00Z");
	cr_assert_str_eq(next("cron(0 9 ? * 2#1 *)", "2024-03-05T00:00:00Z"),
	                 "2024-04-01T09:00:00Z");
	/* 2024-06-15 is a Saturday: 15W is Friday the 14th. */
	cr_assert_str_eq(next("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z"),
	                 "2024-06-14T00:00:00Z");
	cr_assert_str_eq(next("cron(30 23 31 DEC ? 2030)", "2024-01-01T00:00:00Z"),
	                 "2030-12-31T23:30:00Z");
	struct bus_schedule s = parse_ok("cron(0 0 1 JAN ? 2020)");
	uint64_t ms = 0;
	cr_assert_eq(bus_schedule_next(&s, 0, at("2024-01-01T00:00:00Z"), &ms), -ENOENT);
}

/*
 * busbard's clock of a scheduled rule (bus_schedule_start / bus_schedule_due, times as
 * arguments): rates anchored at 1970, each due time given once, missed ones skipped (AWS
 * does not backfill), and a restart after a firing never gives that due time again.
 */
Test(bus_schedule, a_rule_fires_once_per_due_time_and_skips_what_it_missed)
{
	struct bus_schedule s = parse_ok("rate(1 minute)");
	uint64_t next = bus_schedule_start(&s, at("2024-05-01T12:00:30Z"));
	cr_assert_eq(next, at("2024-05-01T12:01:00Z")); /* the next whole minute: anchor 1970 */
	uint64_t due = 0;
	cr_assert_not(bus_schedule_due(&s, at("2024-05-01T12:01:00Z") - 1, &next, &due));
	cr_assert(bus_schedule_due(&s, at("2024-05-01T12:01:00Z"), &next, &due));
	cr_assert_eq(due, at("2024-05-01T12:01:00Z"));
	cr_assert_eq(next, at("2024-05-01T12:02:00Z"));
	cr_assert_not(bus_schedule_due(&s, at("2024-05-01T12:01:59Z"), &next, &due));
	/* Down from 12:01:59 to 12:07:10: 12:02 fires late, once; 12:03-12:07 are skipped. */
	cr_assert(bus_schedule_due(&s, at("2024-05-01T12:07:10Z"), &next, &due));
	cr_assert_eq(due, at("2024-05-01T12:02:00Z"));
	cr_assert_eq(next, at("2024-05-01T12:08:00Z"));
	cr_assert_not(bus_schedule_due(&s, at("2024-05-01T12:07:59Z"), &next, &due));
	/* A restart the same second as a firing starts after it: 12:08 is not given twice. */
	cr_assert(bus_schedule_due(&s, at("2024-05-01T12:08:00Z"), &next, &due));
	uint64_t restarted = bus_schedule_start(&s, at("2024-05-01T12:08:00Z") + 400);
	cr_assert_eq(restarted, at("2024-05-01T12:09:00Z"));
	struct bus_schedule five = parse_ok("rate(5 minutes)");
	cr_assert_eq(bus_schedule_start(&five, at("2024-05-01T12:01:00Z")),
	             at("2024-05-01T12:05:00Z"));
}

Test(bus_schedule, a_cron_of_far_years_is_found_and_one_that_never_fires_says_so)
{
	cr_assert_str_eq(next("cron(0 12 * * ? 2150)", "2024-05-01T00:00:00Z"),
	                 "2150-01-01T12:00:00Z");
	cr_assert_str_eq(next("cron(30 6 ? JUN MON#1 2030,2199)", "2031-01-01T00:00:00Z"),
	                 "2199-06-03T06:30:00Z");
	struct bus_schedule never = parse_ok("cron(0 0 31 2 ? *)"); /* no 31 February */
	uint64_t ms = 0;
	cr_assert_eq(bus_schedule_next(&never, 0, at("2024-05-01T00:00:00Z"), &ms), -ENOENT);
	cr_assert_eq(bus_schedule_start(&never, at("2024-05-01T00:00:00Z")), BUS_SCHEDULE_NEVER);
	struct bus_schedule past = parse_ok("cron(0 0 * * ? 2020)");
	uint64_t next_ms = bus_schedule_start(&past, at("2024-05-01T00:00:00Z"));
	uint64_t due = 0;
	cr_assert_not(bus_schedule_due(&past, UINT64_MAX - 1, &next_ms, &due));
}

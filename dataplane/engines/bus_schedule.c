/*
 * ScheduleExpression parsing and next-fire times (bus_schedule.h). A cron field is a
 * comma list of items: *, a value, a range a-b, each with an optional /step; names JAN-DEC
 * and SUN-SAT; day-of-month L, LW and nW and day-of-week nL and n#k stand alone in their
 * field. Exactly one of day-of-month and day-of-week is '?', as AWS requires.
 */
#include "bus_schedule.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus_int.h"

#define CRON_FIELDS 6u
#define FIELD_BYTES_MAX 128u
#define MINUTE_MS 60000ull

enum field { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR };

static const unsigned field_min[CRON_FIELDS] = {0, 0, 1, 1, 1, BUS_SCHEDULE_YEAR_MIN};
static const unsigned field_max[CRON_FIELDS] = {59, 23, 31, 12, 7, BUS_SCHEDULE_YEAR_MAX};

static int refuse(char *error, size_t error_bytes, const char *why)
{
	snprintf(error, error_bytes, "Parameter ScheduleExpression is not valid: %s", why);
	return -EINVAL;
}

/* ---- rate ---- */

static int parse_rate(const char *t, size_t n, struct bus_schedule *out, char *error,
                      size_t error_bytes)
{
	uint64_t value = 0;
	size_t i = 0;
	while (i < n && t[i] >= '0' && t[i] <= '9' && value <= BUS_SCHEDULE_RATE_VALUE_MAX)
		value = value * 10 + (uint64_t)(t[i++] - '0');
	if (i == 0 || t[0] == '0' || value > BUS_SCHEDULE_RATE_VALUE_MAX || i >= n || t[i] != ' ')
		return refuse(error, error_bytes, "rate(value unit) needs a positive integer value");
	const char *unit = t + i + 1;
	size_t unit_bytes = n - i - 1;
	static const char *const units[] = {"minute", "hour", "day"};
	static const uint64_t unit_ms[] = {MINUTE_MS, 60 * MINUTE_MS, 24 * 60 * MINUTE_MS};
	for (size_t u = 0; u < 3; u++) {
		size_t k = strlen(units[u]);
		bool singular = unit_bytes == k && memcmp(unit, units[u], k) == 0;
		bool plural = unit_bytes == k + 1 && memcmp(unit, units[u], k) == 0 &&
		              unit[k] == 's';
		if (!singular && !plural)
			continue;
		if (singular != (value == 1))
			return refuse(error, error_bytes, "the unit is singular for 1 and plural "
			                                  "otherwise");
		*out = (struct bus_schedule){.kind = BUS_SCHEDULE_RATE,
		                             .period_ms = value * unit_ms[u]};
		return 0;
	}
	return refuse(error, error_bytes, "the unit is minute(s), hour(s) or day(s)");
}

/* ---- cron ---- */

static int name_value(const char *t, size_t n, enum field f)
{
	static const char months[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
	static const char days[] = "SUNMONTUEWEDTHUFRISAT";
	const char *names = f == F_MONTH ? months : f == F_DOW ? days : NULL;
	if (names == NULL || n != 3)
		return -1;
	for (size_t i = 0; names[i * 3] != '\0'; i++) {
		if (memcmp(names + i * 3, t, 3) == 0)
			return (int)i + 1;
	}
	return -1;
}

/* A value of field f at t[*pos]: digits or a name. -1 when neither or out of range. */
static int value_at(const char *t, size_t n, size_t *pos, enum field f)
{
	size_t start = *pos;
	long v = 0;
	while (*pos < n && t[*pos] >= '0' && t[*pos] <= '9' && v <= 9999)
		v = v * 10 + (t[(*pos)++] - '0');
	if (*pos == start) {
		while (*pos < n && t[*pos] >= 'A' && t[*pos] <= 'Z')
			(*pos)++;
		v = name_value(t + start, *pos - start, f);
	}
	if (v < (long)field_min[f] || v > (long)field_max[f])
		return -1;
	return (int)v;
}

static void set_bits(struct bus_schedule *s, enum field f, unsigned lo, unsigned hi,
                     unsigned step)
{
	for (unsigned v = lo; v <= hi; v += step) {
		if (f == F_MINUTE)
			s->minutes |= 1ull << v;
		else if (f == F_HOUR)
			s->hours |= 1u << v;
		else if (f == F_DOM)
			s->days |= 1u << v;
		else if (f == F_MONTH)
			s->months = (uint16_t)(s->months | 1u << v);
		else if (f == F_DOW)
			s->weekdays = (uint8_t)(s->weekdays | 1u << v);
		else
			s->years[(v - BUS_SCHEDULE_YEAR_MIN) / 64] |= 1ull
			                                             << ((v - BUS_SCHEDULE_YEAR_MIN) % 64);
	}
}

/* One item of a list: *, v, a-b, each with an optional /step. */
static int parse_item(const char *t, size_t n, struct bus_schedule *s, enum field f)
{
	size_t pos = 0;
	int lo = (int)field_min[f], hi = (int)field_max[f];
	bool star = n > 0 && t[0] == '*';
	if (star) {
		pos = 1;
	} else {
		lo = value_at(t, n, &pos, f);
		hi = lo;
		if (pos < n && t[pos] == '-') {
			pos++;
			hi = value_at(t, n, &pos, f);
		}
	}
	int step = 1;
	if (pos < n && t[pos] == '/') {
		pos++;
		size_t start = pos;
		step = 0;
		while (pos < n && t[pos] >= '0' && t[pos] <= '9' && step <= 9999)
			step = step * 10 + (t[pos++] - '0');
		if (pos == start || step == 0)
			return -EINVAL;
		if (!star && hi == lo)
			hi = (int)field_max[f]; /* "0/15": from 0 on */
	}
	if (lo < 0 || hi < 0 || lo > hi || pos != n)
		return -EINVAL;
	set_bits(s, f, (unsigned)lo, (unsigned)hi, (unsigned)step);
	return 0;
}

/* Day-of-month L, LW, nW and day-of-week L, nL, n#k: 1 when t is one of them, -EINVAL bad. */
static int parse_special(const char *t, size_t n, struct bus_schedule *s, enum field f)
{
	/* Names (JAN-DEC, SUN-SAT) hold L and W too: a special form of day-of-week has '#' or
	 * ends in L, which no day's name does. */
	bool has = f == F_DOM ? memchr(t, 'L', n) != NULL || memchr(t, 'W', n) != NULL
	           : f == F_DOW ? memchr(t, '#', n) != NULL || t[n - 1] == 'L'
	                        : false;
	if (!has)
		return 0;
	if (f == F_DOM && n == 1 && t[0] == 'L')
		return s->last_day = true, 1;
	if (f == F_DOM && n == 2 && memcmp(t, "LW", 2) == 0)
		return s->last_weekday = true, 1;
	if (f == F_DOW && n == 1 && t[0] == 'L')
		return set_bits(s, F_DOW, 7, 7, 1), 1; /* L alone: the week's last day, SAT */
	size_t pos = 0;
	int v = value_at(t, n, &pos, f);
	if (v < 0 || pos + 1 > n)
		return -EINVAL;
	if (f == F_DOM && t[pos] == 'W' && pos + 1 == n)
		return s->nearest_weekday = (uint8_t)v, 1;
	if (f == F_DOW && t[pos] == 'L' && pos + 1 == n)
		return s->last_of_weekday = (uint8_t)v, 1;
	if (f == F_DOW && t[pos] == '#' && pos + 2 == n && t[pos + 1] >= '1' && t[pos + 1] <= '5') {
		s->nth_weekday = (uint8_t)v;
		s->nth = (uint8_t)(t[pos + 1] - '0');
		return 1;
	}
	return -EINVAL;
}

static int parse_field(const char *t, size_t n, struct bus_schedule *s, enum field f)
{
	if (n == 0 || n > FIELD_BYTES_MAX)
		return -EINVAL;
	int special = parse_special(t, n, s, f);
	if (special != 0)
		return special < 0 ? special : 0;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && t[i] != ',')
			continue;
		if (parse_item(t + start, i - start, s, f) != 0)
			return -EINVAL;
		start = i + 1;
	}
	return 0;
}

static int parse_cron(const char *t, size_t n, struct bus_schedule *out, char *error,
                      size_t error_bytes)
{
	*out = (struct bus_schedule){.kind = BUS_SCHEDULE_CRON};
	const char *field[CRON_FIELDS];
	size_t bytes[CRON_FIELDS];
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && t[i] != ' ')
			continue;
		if (count == CRON_FIELDS || i == start)
			return refuse(error, error_bytes, "cron() takes six fields, one space apart");
		field[count] = t + start;
		bytes[count++] = i - start;
		start = i + 1;
	}
	if (count != CRON_FIELDS)
		return refuse(error, error_bytes, "cron() takes six fields, one space apart");
	bool dom_any = bytes[F_DOM] == 1 && field[F_DOM][0] == '?';
	bool dow_any = bytes[F_DOW] == 1 && field[F_DOW][0] == '?';
	if (dom_any == dow_any)
		return refuse(error, error_bytes, "one of day-of-month and day-of-week must be ?");
	out->day_of_month_any = dom_any;
	for (unsigned f = 0; f < CRON_FIELDS; f++) {
		bool skip = (f == F_DOM && dom_any) || (f == F_DOW && dow_any);
		if (!skip && parse_field(field[f], bytes[f], out, (enum field)f) != 0) {
			static const char *const names[CRON_FIELDS] = {
			    "minutes", "hours", "day-of-month", "month", "day-of-week", "year"};
			char why[64];
			snprintf(why, sizeof(why), "the %s field is not valid", names[f]);
			return refuse(error, error_bytes, why);
		}
	}
	return 0;
}

int bus_schedule_parse(const char *text, size_t length, struct bus_schedule *out, char *error,
                       size_t error_bytes)
{
	assert(text != NULL || length == 0);
	if (length > 5 && memcmp(text, "rate(", 5) == 0 && text[length - 1] == ')')
		return parse_rate(text + 5, length - 6, out, error, error_bytes);
	if (length > 5 && memcmp(text, "cron(", 5) == 0 && text[length - 1] == ')')
		return parse_cron(text + 5, length - 6, out, error, error_bytes);
	return refuse(error, error_bytes, "it is neither rate(...) nor cron(...)");
}

/* ---- next fire time ---- */

static unsigned weekday(int64_t days)
{
	return (unsigned)((days % 7 + 7 + 4) % 7) + 1; /* 1970-01-01 was a Thursday (5) */
}

/* The day of month n moves to under nW: the nearest Monday-Friday within the month. */
static unsigned nearest_weekday(int64_t y, unsigned m, unsigned n, unsigned mdays)
{
	if (n > mdays)
		n = mdays;
	unsigned wd = weekday(bus_days_from_civil(y, m, n));
	if (wd == 7) /* Saturday: Friday, or Monday when the 1st */
		return n == 1 ? 3 : n - 1;
	if (wd == 1) /* Sunday: Monday, or Friday when the month's last day */
		return n == mdays ? n - 2 : n + 1;
	return n;
}

static bool day_matches(const struct bus_schedule *s, int64_t days)
{
	int64_t y = 0;
	unsigned m = 0, d = 0;
	bus_civil_from_days(days, &y, &m, &d);
	unsigned year_bit = (unsigned)(y - BUS_SCHEDULE_YEAR_MIN);
	if (((s->years[year_bit / 64] >> (year_bit % 64)) & 1u) == 0 || !((s->months >> m) & 1u))
		return false;
	unsigned mdays = bus_month_days(y, m);
	unsigned wd = weekday(days);
	if (!s->day_of_month_any) {
		if (s->last_day)
			return d == mdays;
		if (s->last_weekday)
			return d == nearest_weekday(y, m, mdays, mdays);
		if (s->nearest_weekday != 0)
			return d == nearest_weekday(y, m, s->nearest_weekday, mdays);
		return (s->days >> d) & 1u;
	}
	if (s->last_of_weekday != 0)
		return wd == s->last_of_weekday && d + 7 > mdays;
	if (s->nth_weekday != 0)
		return wd == s->nth_weekday && (d - 1) / 7 + 1 == s->nth;
	return (s->weekdays >> wd) & 1u;
}

/* The first minute of the day at or after minute `from` (0-1439) the schedule allows. */
static int first_minute(const struct bus_schedule *s, unsigned from)
{
	for (unsigned minute = from; minute < 24 * 60; minute++) {
		if (((s->hours >> (minute / 60)) & 1u) && ((s->minutes >> (minute % 60)) & 1u))
			return (int)minute;
	}
	return -1;
}

static bool year_allowed(const struct bus_schedule *s, int64_t year)
{
	unsigned bit = (unsigned)(year - BUS_SCHEDULE_YEAR_MIN);
	return year >= BUS_SCHEDULE_YEAR_MIN && year <= BUS_SCHEDULE_YEAR_MAX &&
	       ((s->years[bit / 64] >> (bit % 64)) & 1u) != 0;
}

/*
 * `day`, or the first day of the next month the schedule's years and months allow (past
 * the last year: a day after it), so a search never walks day by day through months and
 * years that cannot match: a cron of one far year costs about its months, not its days.
 */
static int64_t first_day_of_allowed_month(const struct bus_schedule *s, int64_t day)
{
	int64_t y = 0;
	unsigned m = 0, d = 0;
	bus_civil_from_days(day, &y, &m, &d);
	/* At most 12 steps a year over BUS_SCHEDULE_YEAR_MAX - MIN years. */
	while (y <= BUS_SCHEDULE_YEAR_MAX && !(year_allowed(s, y) && ((s->months >> m) & 1u))) {
		d = 1;
		if (!year_allowed(s, y) || ++m > 12) {
			y++;
			m = 1;
		}
	}
	if (y > BUS_SCHEDULE_YEAR_MAX)
		return bus_days_from_civil(BUS_SCHEDULE_YEAR_MAX + 1, 1, 1);
	return d == 1 ? bus_days_from_civil(y, m, 1) : day;
}

int bus_schedule_next(const struct bus_schedule *s, uint64_t anchor_ms, uint64_t after_ms,
                      uint64_t *next_ms)
{
	if (s->kind == BUS_SCHEDULE_RATE) {
		assert(s->period_ms > 0);
		uint64_t k = after_ms >= anchor_ms ? (after_ms - anchor_ms) / s->period_ms + 1 : 1;
		*next_ms = anchor_ms + k * s->period_ms;
		return 0;
	}
	assert(s->kind == BUS_SCHEDULE_CRON);
	uint64_t minute = after_ms / MINUTE_MS + 1;
	int64_t day = (int64_t)(minute / (24 * 60));
	unsigned from = (unsigned)(minute % (24 * 60));
	int64_t last_day = bus_days_from_civil(BUS_SCHEDULE_YEAR_MAX, 12, 31);
	for (; day <= last_day; day++, from = 0) {
		day = first_day_of_allowed_month(s, day);
		if (day > last_day)
			break;
		int m = day_matches(s, day) ? first_minute(s, from) : -1;
		if (m >= 0) {
			*next_ms = ((uint64_t)day * 24 * 60 + (uint64_t)m) * MINUTE_MS;
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t bus_schedule_start(const struct bus_schedule *s, uint64_t now_ms)
{
	uint64_t next = 0;
	if (bus_schedule_next(s, BUS_SCHEDULE_RATE_ANCHOR_MS, now_ms, &next) != 0)
		return BUS_SCHEDULE_NEVER;
	assert(next > now_ms);
	return next;
}

bool bus_schedule_due(const struct bus_schedule *s, uint64_t now_ms, uint64_t *next_ms,
                      uint64_t *due_ms)
{
	if (*next_ms == BUS_SCHEDULE_NEVER || now_ms < *next_ms)
		return false;
	*due_ms = *next_ms;
	*next_ms = bus_schedule_start(s, now_ms);
	assert(*next_ms > *due_ms);
	return true;
}

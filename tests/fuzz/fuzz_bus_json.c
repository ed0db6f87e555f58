/*
 * Fuzz target: the bus engine's text parsers (dataplane/engines/bus_json.h, bus.h,
 * bus_schedule.h). The input is tried as PutEvents Detail, a JSONPath, an RFC 3339 time and
 * a ScheduleExpression; what the checker accepts is then read back by the path finder,
 * which must stay inside it, and a parsed schedule must give a next time after the one
 * asked about.
 */
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "bus_json.h"
#include "bus_schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	static struct bus_path path;
	size_t start = 0, end = 0;
	if (bus_json_check(text, size, BUS_JSON_DEPTH_MAX, BUS_JSON_INT64) == 0) {
		static const char p[] = "$.a.b[1]";
		if (bus_path_parse(p, sizeof(p) - 1, &path) != 0)
			__builtin_trap();
		if (bus_json_find(text, size, &path, &start, &end) == 0 && (end > size || start > end))
			__builtin_trap();
	}
	if (bus_path_parse(text, size, &path) == 0 && path.count > BB_BUS_PATH_SEGMENTS_MAX)
		__builtin_trap();
	uint64_t ms = 0;
	if (bus_time_parse(text, size, &ms) == 0) {
		char out[BUS_TIME_CHARS + 1];
		bus_time_format(ms, out);
	}
	static struct bus_schedule schedule;
	char error[128];
	if (bus_schedule_parse(text, size, &schedule, error, sizeof(error)) == 0) {
		uint64_t next = 0;
		if (bus_schedule_next(&schedule, 0, 1700000000000ull, &next) == 0 &&
		    next <= 1700000000000ull)
			__builtin_trap();
	}
	return 0;
}

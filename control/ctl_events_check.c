/*
 * The checks of the EventBridge API that need no store (see ctl_events_int.h):
 * names and busbar's UDP target. Schedules, target inputs and TestEventPattern
 * are the bus engine's (engines/bus_schedule.h, bus_input.h, bus.h), so what the
 * API accepts is exactly what busbard fires, renders and matches.
 */
#include "ctl_events_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UDP_ARN_PREFIX "udp://"

/* The snapshot's rule, with EventBridge's for a bus made here: no '/' (partner buses'),
 * and not "aws." (AWS's own). */
bool ev_bus_name_ok(const char *name)
{
	assert(name != NULL);
	return bb_bus_name_is_valid((const uint8_t *)name, strlen(name)) &&
	       strchr(name, '/') == NULL && strncmp(name, "aws.", 4) != 0;
}

bool ev_rule_name_ok(const char *name)
{
	assert(name != NULL);
	return bb_rule_name_is_valid((const uint8_t *)name, strlen(name));
}

bool ev_target_id_ok(const char *id)
{
	assert(id != NULL);
	return bb_target_id_is_valid((const uint8_t *)id, strlen(id));
}

bool ev_archive_name_ok(const char *name)
{
	assert(name != NULL);
	size_t bytes = strlen(name);
	return bytes <= CTL_EVENTS_ARCHIVE_NAME_BYTES_MAX &&
	       bb_rule_name_is_valid((const uint8_t *)name, bytes); /* the same characters */
}

bool ev_udp_arn(const char *arn, char *out, size_t out_bytes)
{
	assert(arn != NULL && out != NULL);
	size_t prefix = sizeof(UDP_ARN_PREFIX) - 1;
	if (strncmp(arn, UDP_ARN_PREFIX, prefix) != 0)
		return false;
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(arn + prefix, ':');
	size_t ip_bytes = colon != NULL ? (size_t)(colon - arn - prefix) : 0;
	if (ip_bytes == 0 || ip_bytes >= sizeof(ip))
		return false;
	memcpy(ip, arn + prefix, ip_bytes);
	ip[ip_bytes] = '\0';
	struct in_addr address;
	size_t digits = strspn(colon + 1, "0123456789");
	long port = digits > 0 && digits <= 5 ? atol(colon + 1) : 0;
	if (inet_pton(AF_INET, ip, &address) != 1 || colon[1 + digits] != '\0' || port < 1 ||
	    port > 65535)
		return false;
	snprintf(out, out_bytes, "%s:%ld", ip, port);
	return true;
}

/*
 * The checks of the EventBridge API that need no store (see ctl_events_int.h):
 * names, JSONPath, input transformers, event envelopes, busbar's UDP target.
 * Each says why it refuses, in EventBridge's words where EventBridge has them.
 * Schedule expressions are the bus engine's to parse (engines/bus_schedule.h),
 * so what PutRule accepts is exactly what busbard fires.
 */
#include "ctl_events_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UDP_ARN_PREFIX      "udp://"

static bool name_chars_ok(const char *name, size_t bytes_max, const char *extra)
{
	size_t length = strlen(name);
	if (length == 0 || length > bytes_max)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!isalnum((unsigned char)name[i]) && strchr(extra, name[i]) == NULL)
			return false;
	}
	return true;
}

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

/* ---- inputs ---- */

bool ev_json_path_ok(const char *path)
{
	assert(path != NULL);
	size_t length = strlen(path);
	if (length == 0 || length > CTL_EVENTS_INPUT_PATH_BYTES_MAX || path[0] != '$')
		return false;
	const char *p = path + 1;
	while (*p != '\0') { /* bounded: each pass moves past one segment */
		if (*p == '.') {
			size_t n = strcspn(p + 1, ".[]");
			if (n == 0)
				return false;
			p += 1 + n;
		} else if (*p == '[') {
			size_t n = strspn(p + 1, "0123456789");
			if (n == 0 || p[1 + n] != ']')
				return false;
			p += 2 + n;
		} else {
			return false;
		}
	}
	return true;
}

static const char *const PREDEFINED[] = {
    "aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
    "aws.events.event", "aws.events.event.json",
};

static bool placeholder_known(json_t *paths_map, const char *name)
{
	if (json_object_get(paths_map, name) != NULL)
		return true;
	for (size_t i = 0; i < sizeof(PREDEFINED) / sizeof(PREDEFINED[0]); i++) {
		if (strcmp(name, PREDEFINED[i]) == 0)
			return true;
	}
	return false;
}

static bool paths_map_ok(json_t *paths_map, char *why, size_t why_bytes)
{
	if (paths_map != NULL && !json_is_object(paths_map)) {
		snprintf(why, why_bytes, "InputPathsMap must be a map of names to JSONPaths");
		return false;
	}
	if (json_object_size(paths_map) > CTL_EVENTS_PATHS_MAP_ENTRIES_MAX) {
		snprintf(why, why_bytes, "InputPathsMap holds at most %u entries",
		         CTL_EVENTS_PATHS_MAP_ENTRIES_MAX);
		return false;
	}
	const char *key;
	json_t *value;
	json_object_foreach(paths_map, key, value)
	{
		const char *path = json_string_value(value);
		if (!name_chars_ok(key, CTL_EVENTS_PATHS_MAP_KEY_BYTES_MAX, "_-") ||
		    strncasecmp(key, "aws", 3) == 0 || path == NULL || !ev_json_path_ok(path)) {
			snprintf(why, why_bytes, "InputPathsMap has an invalid key or value: %.64s",
			         key);
			return false;
		}
	}
	return true;
}

bool ev_transformer_ok(json_t *paths_map, const char *template, char *why, size_t why_bytes)
{
	assert(why != NULL);
	if (!paths_map_ok(paths_map, why, why_bytes))
		return false;
	if (template == NULL || template[0] == '\0' ||
	    strlen(template) > BB_TARGET_INPUT_BYTES_MAX) {
		snprintf(why, why_bytes, "InputTemplate must be 1-%u characters",
		         BB_TARGET_INPUT_BYTES_MAX);
		return false;
	}
	char name[CTL_EVENTS_PATHS_MAP_KEY_BYTES_MAX + 1];
	for (const char *p = strchr(template, '<'); p != NULL; p = strchr(p + 1, '<')) {
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                         "0123456789_.-");
		if (n == 0 || n >= sizeof(name) || p[1 + n] != '>')
			continue; /* not a placeholder: text such as "a < b" */
		memcpy(name, p + 1, n);
		name[n] = '\0';
		if (!placeholder_known(paths_map, name)) {
			snprintf(why, why_bytes,
			         "InputTemplate uses <%s>, which InputPathsMap does not define", name);
			return false;
		}
	}
	return true;
}

bool ev_event_ok(json_t *event, char *why, size_t why_bytes)
{
	static const char *const required[] = {"id",     "account", "source",     "time",
	                                       "region", "resources", "detail-type"};
	if (!json_is_object(event)) {
		snprintf(why, why_bytes, "Parameter Event is not valid: it is not a JSON object.");
		return false;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (json_object_get(event, required[i]) == NULL) {
			snprintf(why, why_bytes, "Parameter Event is not valid: it has no %s.",
			         required[i]);
			return false;
		}
	}
	if (!json_is_array(json_object_get(event, "resources"))) {
		snprintf(why, why_bytes, "Parameter Event is not valid: resources is not a list.");
		return false;
	}
	return true;
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

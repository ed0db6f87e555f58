/*
 * EventBridge archives over JSON 1.1: CreateArchive, DescribeArchive, ListArchives,
 * UpdateArchive, DeleteArchive, with AWS's names, limits and errors. An archive is the
 * bus's own log kept for its retention: the snapshot tells busbard which buses keep their
 * events and for how long (ctl_events_store.c, BUSES_OF_SNAPSHOT), and busbard keeps those
 * events' PUT records instead of releasing them once delivered (docs/eventbridge.md,
 * "Archives"). An archive is ENABLED once made: busbard keeps the bus's events from the
 * snapshot that carries it on.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_events_int.h"

#define ARCHIVE_STATE "ENABLED" /* the only state a busbar archive has */

static void fail(struct ctl_sqs_result *out, const char *type, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct ctl_sqs_result *out, const char *type, const char *format, ...)
{
	char message[CTL_EVENTS_ERROR_BYTES_MAX];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	json_decref(out->body);
	out->http_status = strcmp(type, "InternalException") == 0 ? 500 : 400;
	out->body = json_pack("{s:s, s:s}", "__type", type, "message", message);
	out->query_error = NULL;
}

static void succeed(struct ctl_sqs_result *out, json_t *body)
{
	out->http_status = 200;
	out->body = body;
	out->query_error = NULL;
}

static void store_failed(struct ctl_sqs_result *out, int rc)
{
	fail(out, "InternalException", "the store failed (%s)", strerror(-rc));
}

static json_t *archive_arn(const struct ctl_events_context *c, const char *name)
{
	return json_sprintf("arn:aws:events:%s:%s:archive/%s", c->region, c->account_id, name);
}

/* ArchiveName (required) with AWS's constraint. */
static bool get_name(json_t *request, const char **name, struct ctl_sqs_result *out)
{
	if (!ev_get_string(request, "ArchiveName", true, CTL_EVENTS_ARCHIVE_NAME_BYTES_MAX, name,
	                   out))
		return false;
	if (!ev_archive_name_ok(*name)) {
		fail(out, "ValidationException",
		     "1 validation error detected: Value '%.64s' at 'archiveName' failed to satisfy "
		     "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
		     *name);
		return false;
	}
	return true;
}

/* Description, EventPattern (compiled as a rule's) and RetentionDays (>= 0; 0: forever),
 * each optional; an absent RetentionDays is -1. */
static bool get_settings(json_t *request, struct ev_archive *a, struct ctl_sqs_result *out)
{
	if (!ev_get_string(request, "Description", false, CTL_EVENTS_DESCRIPTION_BYTES_MAX,
	                   &a->description, out) ||
	    !ev_get_string(request, "EventPattern", false, BB_EVENT_PATTERN_BYTES_MAX, &a->pattern,
	                   out))
		return false;
	if (a->pattern != NULL && !ev_check_pattern(a->pattern, out))
		return false;
	json_t *days = json_object_get(request, "RetentionDays");
	a->retention_days = days != NULL ? json_integer_value(days) : -1;
	if (days != NULL && (!json_is_integer(days) || a->retention_days < 0 ||
	                     a->retention_days > INT32_MAX)) {
		fail(out, "ValidationException",
		     "1 validation error detected: Value at 'retentionDays' failed to satisfy "
		     "constraint: Member must have value greater than or equal to 0");
		return false;
	}
	return true;
}

/* The ArchiveArn, State and CreationTime of a Create or Update answer. */
static void answer_archive(const struct ctl_events_context *c, const char *name,
                           struct ctl_sqs_result *out)
{
	json_t *row;
	int rc = ev_archive_get(c->store, name, &row);
	if (rc != 0) {
		store_failed(out, rc == -ENOENT ? -EIO : rc);
		return;
	}
	succeed(out, json_pack("{s:o, s:s, s:O}", "ArchiveArn", archive_arn(c, name), "State",
	                       ARCHIVE_STATE, "CreationTime", json_object_get(row, "CreationTime")));
	json_decref(row);
}

void ev_create_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out)
{
	assert(c != NULL && request != NULL);
	struct ev_archive a = {0};
	struct ev_bus bus;
	const char *source;
	if (!get_name(request, &a.name, out) || !get_settings(request, &a, out) ||
	    !ev_get_string(request, "EventSourceArn", true, CTL_EVENTS_ARN_BYTES_MAX, &source, out) ||
	    !ev_find_bus(c, request, "EventSourceArn", &bus, out))
		return;
	if (bus.memory) {
		fail(out, "ValidationException",
		     "Event bus %s keeps no log (busbar:Durability memory): it cannot be archived.",
		     bus.name);
		return;
	}
	a.bus_id = bus.id;
	a.retention_days = a.retention_days < 0 ? 0 : a.retention_days;
	int rc = ev_archive_create(c->store, &a);
	if (rc == -EEXIST)
		fail(out, "ResourceAlreadyExistsException", "Archive %s already exists.", a.name);
	else if (rc == -ENOSPC)
		fail(out, "LimitExceededException", "The number of archives is limited to %u.",
		     CTL_EVENTS_ARCHIVES_MAX);
	else if (rc != 0)
		store_failed(out, rc);
	else
		answer_archive(c, a.name, out);
}

/* A store row as DescribeArchive and ListArchives give it. */
static void complete_row(const struct ctl_events_context *c, json_t *row, bool describe)
{
	const char *bus = json_string_value(json_object_get(row, "EventBusName"));
	json_object_set_new(row, "EventSourceArn",
	                    json_sprintf("arn:aws:events:%s:%s:event-bus/%s", c->region,
	                                 c->account_id, bus));
	json_object_del(row, "EventBusName");
	json_object_set_new(row, "State", json_string(ARCHIVE_STATE));
	if (describe) {
		const char *name = json_string_value(json_object_get(row, "ArchiveName"));
		json_object_set_new(row, "ArchiveArn", archive_arn(c, name));
	} else {
		json_object_del(row, "Description"); /* ListArchives' entries do not have them */
		json_object_del(row, "EventPattern");
	}
}

void ev_describe_archive(const struct ctl_events_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	assert(c != NULL && request != NULL);
	const char *name;
	if (!get_name(request, &name, out))
		return;
	json_t *row;
	int rc = ev_archive_get(c->store, name, &row);
	if (rc == -ENOENT) {
		fail(out, "ResourceNotFoundException", "Archive %s does not exist.", name);
		return;
	}
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	complete_row(c, row, true);
	succeed(out, row);
}

void ev_update_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out)
{
	assert(c != NULL && request != NULL);
	struct ev_archive a = {0};
	if (!get_name(request, &a.name, out) || !get_settings(request, &a, out))
		return;
	int rc = ev_archive_update(c->store, &a);
	if (rc == -ENOENT)
		fail(out, "ResourceNotFoundException", "Archive %s does not exist.", a.name);
	else if (rc != 0)
		store_failed(out, rc);
	else
		answer_archive(c, a.name, out);
}

void ev_delete_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out)
{
	assert(c != NULL && request != NULL);
	const char *name;
	if (!get_name(request, &name, out))
		return;
	int rc = ev_archive_delete(c->store, name);
	if (rc == -ENOENT)
		fail(out, "ResourceNotFoundException", "Archive %s does not exist.", name);
	else if (rc != 0)
		store_failed(out, rc);
	else
		succeed(out, json_object());
}

/* Limit (1-100) and NextToken (the last archive name of the page before). */
static bool get_page(json_t *request, size_t *limit, const char **after,
                     struct ctl_sqs_result *out)
{
	json_t *member = json_object_get(request, "Limit");
	json_int_t n = member != NULL ? json_integer_value(member) : CTL_EVENTS_LIST_LIMIT_MAX;
	if (n < 1 || n > CTL_EVENTS_LIST_LIMIT_MAX || (member != NULL && !json_is_integer(member))) {
		fail(out, "ValidationException", "Limit must be 1-%u", CTL_EVENTS_LIST_LIMIT_MAX);
		return false;
	}
	*limit = (size_t)n;
	if (!ev_get_string(request, "NextToken", false, CTL_EVENTS_ARCHIVE_NAME_BYTES_MAX, after,
	                   out))
		return false;
	if (*after != NULL && !ev_archive_name_ok(*after)) {
		fail(out, "ValidationException", "The NextToken is not valid.");
		return false;
	}
	return true;
}

/* State: one of AWS's; only ENABLED names archives here. */
static bool get_state(json_t *request, bool *any, struct ctl_sqs_result *out)
{
	static const char *const STATES[] = {"ENABLED",       "DISABLED",     "CREATING",
	                                     "UPDATING",      "CREATE_FAILED", "UPDATE_FAILED"};
	const char *state;
	if (!ev_get_string(request, "State", false, 32, &state, out))
		return false;
	*any = state == NULL || strcmp(state, ARCHIVE_STATE) == 0;
	for (size_t i = 0; state != NULL && i < sizeof(STATES) / sizeof(STATES[0]); i++) {
		if (strcmp(state, STATES[i]) == 0)
			return true;
	}
	if (state != NULL)
		fail(out, "ValidationException",
		     "1 validation error detected: Value '%.32s' at 'state' failed to satisfy "
		     "constraint: Member must satisfy enum value set: [ENABLED, DISABLED, CREATING, "
		     "UPDATING, CREATE_FAILED, UPDATE_FAILED]",
		     state);
	return state == NULL;
}

void ev_list_archives(const struct ctl_events_context *c, json_t *request,
                      struct ctl_sqs_result *out)
{
	assert(c != NULL && request != NULL);
	const char *prefix, *after;
	size_t limit;
	bool listed;
	struct ev_bus bus = {.id = -1};
	if (!ev_get_string(request, "NamePrefix", false, CTL_EVENTS_ARCHIVE_NAME_BYTES_MAX, &prefix,
	                   out) ||
	    !get_page(request, &limit, &after, out) || !get_state(request, &listed, out))
		return;
	if (json_object_get(request, "EventSourceArn") != NULL &&
	    !ev_find_bus(c, request, "EventSourceArn", &bus, out))
		return;
	json_t *rows;
	int rc = listed ? ev_archive_list(c->store, prefix, bus.id, after, limit + 1, &rows) : 0;
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	if (!listed)
		rows = json_array();
	json_t *body = json_object();
	if (json_array_size(rows) > limit) {
		json_array_remove(rows, limit);
		json_t *last = json_array_get(rows, limit - 1);
		json_object_set(body, "NextToken", json_object_get(last, "ArchiveName"));
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) complete_row(c, row, false);
	json_object_set_new(body, "Archives", rows);
	succeed(out, body);
}

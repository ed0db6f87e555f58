/*
 * EventBridge management over JSON 1.1 (see ctl_events.h): parameters are
 * checked here with AWS's names, limits and errors, patterns are compiled with
 * filters/ when they are set (a bad one never reaches busbard), and targets
 * named by ARN become the names the snapshot carries. ctl_events_store.c keeps
 * the tables; ctl_events_check.c the checks that need no store.
 */
#include "ctl_events.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bus.h"
#include "bus_input.h"
#include "bus_schedule.h"
#include "ctl_events_int.h"
#include "flt.h"

#define MESSAGE_BYTES_MAX  CTL_EVENTS_ERROR_BYTES_MAX
#define ARN_TEXT_BYTES     (CTL_EVENTS_ARN_BYTES_MAX + 1)
#define RESOURCE_BYTES     (BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 1)
#define DURABILITY_TAG     "busbar:Durability" /* "memory": a bus not logged (the rig) */
#define FILTER_ERROR_BYTES 256u

struct ev_error {
	unsigned http_status;
	const char *type;
};

static const struct ev_error NOT_FOUND = {400, "ResourceNotFoundException"};
static const struct ev_error ALREADY_EXISTS = {400, "ResourceAlreadyExistsException"};
static const struct ev_error VALIDATION = {400, "ValidationException"};
static const struct ev_error BAD_PATTERN = {400, "InvalidEventPatternException"};
static const struct ev_error LIMIT = {400, "LimitExceededException"};
static const struct ev_error SERIALIZATION = {400, "SerializationException"};
static const struct ev_error UNKNOWN_OPERATION = {400, "UnknownOperationException"};
static const struct ev_error INTERNAL = {500, "InternalException"};

static void fail(struct ctl_sqs_result *out, const struct ev_error *e, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct ctl_sqs_result *out, const struct ev_error *e, const char *format, ...)
{
	char message[MESSAGE_BYTES_MAX];
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	json_decref(out->body);
	out->http_status = e->http_status;
	out->body = json_pack("{s:s, s:s}", "__type", e->type, "message", message);
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
	fail(out, &INTERNAL, "the store failed (%s)", strerror(-rc));
}

/* ---- parameters ---- */

/*
 * A string member: absent is NULL (and an error when required), wrong type or
 * length is AWS's ValidationException. false when out has the error.
 */
static bool get_string(json_t *request, const char *key, bool required, size_t bytes_max,
                       const char **value, struct ctl_sqs_result *out)
{
	json_t *member = json_object_get(request, key);
	*value = json_string_value(member);
	if (member == NULL && !required)
		return true;
	if (member == NULL) {
		fail(out, &VALIDATION,
		     "1 validation error detected: Value null at '%s' failed to "
		     "satisfy constraint: Member must not be null",
		     key);
		return false;
	}
	size_t length = *value != NULL ? strlen(*value) : 0;
	if (*value == NULL || (required && length == 0) || length > bytes_max) {
		fail(out, &VALIDATION,
		     "1 validation error detected: Value at '%s' failed to satisfy "
		     "constraint: Member must be a string of length %s%zu",
		     key, required ? "1-" : "at most ", bytes_max);
		return false;
	}
	return true;
}

/* Limit (1-100, default 100) and NextToken (the last name of the page before). */
static bool get_page(json_t *request, size_t *limit, const char **after, struct ctl_sqs_result *out)
{
	json_t *member = json_object_get(request, "Limit");
	json_int_t n = member != NULL ? json_integer_value(member) : CTL_EVENTS_LIST_LIMIT_MAX;
	if (n < 1 || n > CTL_EVENTS_LIST_LIMIT_MAX ||
	    (member != NULL && !json_is_integer(member))) {
		fail(out, &VALIDATION, "Limit must be 1-%u", CTL_EVENTS_LIST_LIMIT_MAX);
		return false;
	}
	*limit = (size_t)n;
	if (!get_string(request, "NextToken", false, BB_BUS_NAME_BYTES_MAX, after, out))
		return false;
	if (*after != NULL && !ev_bus_name_ok(*after) && strcmp(*after, CTL_EVENTS_DEFAULT_BUS)) {
		fail(out, &VALIDATION, "The NextToken is not valid.");
		return false;
	}
	return true;
}

/* Drops the row past the page (fetched to tell whether more follow) and adds NextToken. */
static void finish_page(json_t *body, const char *list_key, json_t *rows, size_t limit,
                        const char *name_key)
{
	if (json_array_size(rows) > limit) {
		json_array_remove(rows, limit);
		json_t *last = json_array_get(rows, limit - 1);
		const char *token = name_key != NULL
		                        ? json_string_value(json_object_get(last, name_key))
		                        : json_string_value(last);
		json_object_set_new(body, "NextToken", json_string(token));
	}
	json_object_set(body, list_key, rows);
}

/* ---- ARNs ---- */

static json_t *bus_arn(const struct ctl_events_context *c, const char *bus)
{
	return json_sprintf("arn:aws:events:%s:%s:event-bus/%s", c->region, c->account_id, bus);
}

/* As EventBridge: a rule of the default bus is rule/NAME, of another rule/BUS/NAME. */
static json_t *rule_arn(const struct ctl_events_context *c, const char *bus, const char *rule)
{
	if (strcmp(bus, CTL_EVENTS_DEFAULT_BUS) == 0)
		return json_sprintf("arn:aws:events:%s:%s:rule/%s", c->region, c->account_id, rule);
	return json_sprintf("arn:aws:events:%s:%s:rule/%s/%s", c->region, c->account_id, bus, rule);
}

/*
 * "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE" of this appliance: *resource points
 * into arn. false for a malformed ARN or another account's or region's.
 */
static bool own_arn(const struct ctl_events_context *c, const char *arn, const char *service,
                    const char **resource)
{
	char prefix[CTL_EVENTS_ARN_BYTES_MAX];
	int n = snprintf(prefix, sizeof(prefix), "arn:aws:%s:%s:%s:", service, c->region,
	                 c->account_id);
	if (n < 0 || strncmp(arn, prefix, (size_t)n) != 0 || arn[n] == '\0')
		return false;
	*resource = arn + n;
	return true;
}

/* EventBusName (a name or an ARN; absent: the default bus) as a bus of the store. */
static bool find_bus(const struct ctl_events_context *c, json_t *request, const char *key,
                     struct ev_bus *bus, struct ctl_sqs_result *out)
{
	const char *name;
	if (!get_string(request, key, false, CTL_EVENTS_ARN_BYTES_MAX, &name, out))
		return false;
	const char *resource = NULL;
	if (name == NULL)
		name = CTL_EVENTS_DEFAULT_BUS;
	else if (strncmp(name, "arn:", 4) == 0 && own_arn(c, name, "events", &resource) &&
	         strncmp(resource, "event-bus/", 10) == 0)
		name = resource + 10;
	int rc = ev_bus_get(c->store, name, bus);
	if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Event bus %.300s does not exist.", name);
	else if (rc != 0)
		store_failed(out, rc);
	return rc == 0;
}

/* ---- patterns ---- */

/* Compiles the pattern with the limits busbard's bus engine uses: the compiler's reason is
 * the client's, and a pattern accepted here compiles there. */
static bool check_pattern(const char *pattern, struct ctl_sqs_result *out)
{
	struct flt_limits limits;
	char why[FILTER_ERROR_BYTES] = "";
	flt_limits_default(&limits);
	limits.pattern_bytes_max = BB_EVENT_PATTERN_BYTES_MAX;
	limits.rules_max = BB_RULES_PER_BUS_MAX;
	struct flt_compiler *compiler = flt_compiler_new(&limits);
	int rc = compiler != NULL
	             ? flt_add_rule(compiler, 1, pattern, strlen(pattern), why, sizeof(why))
	             : -ENOMEM;
	flt_compiler_free(compiler);
	if (rc == -ENOMEM)
		fail(out, &INTERNAL, "out of memory");
	else if (rc != 0)
		fail(out, &BAD_PATTERN, "Event pattern is not valid. Reason: %s", why);
	return rc == 0;
}

/* ---- tags ---- */

static bool tags_ok(json_t *tags, struct ctl_sqs_result *out)
{
	size_t i;
	json_t *tag;
	if (tags != NULL &&
	    (!json_is_array(tags) || json_array_size(tags) > CTL_EVENTS_TAGS_PER_RESOURCE_MAX)) {
		fail(out, &VALIDATION, "Tags must be a list of at most %u {Key, Value}",
		     CTL_EVENTS_TAGS_PER_RESOURCE_MAX);
		return false;
	}
	json_array_foreach(tags, i, tag)
	{
		const char *key = json_string_value(json_object_get(tag, "Key"));
		const char *value = json_string_value(json_object_get(tag, "Value"));
		if (key == NULL || value == NULL || key[0] == '\0' ||
		    strlen(key) > CTL_EVENTS_TAG_KEY_BYTES_MAX ||
		    strlen(value) > CTL_EVENTS_TAG_VALUE_BYTES_MAX ||
		    strncmp(key, "aws:", 4) == 0) {
			fail(out, &VALIDATION,
			     "A tag has a Key of 1-%u characters (not aws:...) and a "
			     "Value of at most %u",
			     CTL_EVENTS_TAG_KEY_BYTES_MAX, CTL_EVENTS_TAG_VALUE_BYTES_MAX);
			return false;
		}
	}
	return true;
}

static int store_tags(const struct ctl_events_context *c, enum ev_tagged kind, int64_t id,
                      json_t *tags, struct ctl_sqs_result *out)
{
	int rc = tags != NULL ? ev_tags_set(c->store, kind, id, tags) : 0;
	if (rc == -ENOSPC)
		fail(out, &LIMIT, "A resource has at most %u tags",
		     CTL_EVENTS_TAGS_PER_RESOURCE_MAX);
	else if (rc != 0)
		store_failed(out, rc);
	return rc;
}

/* ---- buses ---- */

/* The busbar:Durability tag: fixed when a bus is made, so never tagged afterwards. */
static bool durability_of(json_t *tags, bool *memory, struct ctl_sqs_result *out)
{
	size_t i;
	json_t *tag;
	*memory = false;
	json_array_foreach(tags, i, tag)
	{
		if (strcmp(json_string_value(json_object_get(tag, "Key")), DURABILITY_TAG) != 0)
			continue;
		const char *value = json_string_value(json_object_get(tag, "Value"));
		if (strcmp(value, "memory") != 0 && strcmp(value, "disk") != 0) {
			fail(out, &VALIDATION, DURABILITY_TAG " is disk or memory");
			return false;
		}
		*memory = value[0] == 'm';
	}
	return true;
}

static void create_event_bus(const struct ctl_events_context *c, json_t *request,
                             struct ctl_sqs_result *out)
{
	const char *name, *description, *source;
	json_t *tags = json_object_get(request, "Tags");
	bool memory;
	if (!get_string(request, "Name", true, BB_BUS_NAME_BYTES_MAX, &name, out) ||
	    !get_string(request, "Description", false, CTL_EVENTS_DESCRIPTION_BYTES_MAX,
	                &description, out) ||
	    !get_string(request, "EventSourceName", false, BB_BUS_NAME_BYTES_MAX, &source, out) ||
	    !tags_ok(tags, out) || !durability_of(tags, &memory, out))
		return;
	if (source != NULL) {
		fail(out, &VALIDATION,
		     "busbar has no partner event sources: leave out "
		     "EventSourceName");
		return;
	}
	if (!ev_bus_name_ok(name) || strcmp(name, CTL_EVENTS_DEFAULT_BUS) == 0) {
		fail(out, strcmp(name, CTL_EVENTS_DEFAULT_BUS) == 0 ? &ALREADY_EXISTS : &VALIDATION,
		     "Event bus name %.300s is not valid: 1-%u of letters, digits and . - _, not "
		     "default nor aws.*",
		     name, BB_BUS_NAME_BYTES_MAX);
		return;
	}
	struct ev_bus bus;
	int rc = ev_bus_create(c->store, name, description, memory, &bus);
	if (rc == -EEXIST) {
		fail(out, &ALREADY_EXISTS, "Event bus %s already exists.", name);
		return;
	}
	if (rc == -ENOSPC) {
		fail(out, &LIMIT, "busbar holds at most %u event buses, default included",
		     BB_BUS_COUNT_MAX);
		return;
	}
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	out->changed = true;
	if (store_tags(c, EV_TAGGED_BUS, bus.id, tags, out) == 0)
		succeed(out, json_pack("{s:o}", "EventBusArn", bus_arn(c, name)));
}

static void delete_event_bus(const struct ctl_events_context *c, json_t *request,
                             struct ctl_sqs_result *out)
{
	const char *name;
	struct ev_bus bus;
	if (!get_string(request, "Name", true, BB_BUS_NAME_BYTES_MAX, &name, out))
		return;
	if (strcmp(name, CTL_EVENTS_DEFAULT_BUS) == 0) {
		fail(out, &VALIDATION, "Cannot delete event bus default.");
		return;
	}
	int rc = ev_bus_get(c->store, name, &bus);
	if (rc == 0)
		rc = ev_bus_delete(c->store, bus.id);
	/* As EventBridge: deleting a bus that is not there succeeds. */
	if (rc != 0 && rc != -ENOENT) {
		store_failed(out, rc);
		return;
	}
	out->changed = rc == 0;
	succeed(out, json_object());
}

static void describe_event_bus(const struct ctl_events_context *c, json_t *request,
                               struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	if (!find_bus(c, request, "Name", &bus, out))
		return;
	json_t *body = json_pack("{s:s, s:o, s:I, s:I}", "Name", bus.name, "Arn",
	                         bus_arn(c, bus.name), "CreationTime", (json_int_t)bus.created_s,
	                         "LastModifiedTime", (json_int_t)bus.modified_s);
	if (bus.description[0] != '\0')
		json_object_set_new(body, "Description", json_string(bus.description));
	succeed(out, body);
}

static void list_event_buses(const struct ctl_events_context *c, json_t *request,
                             struct ctl_sqs_result *out)
{
	const char *prefix, *after;
	size_t limit;
	json_t *rows;
	if (!get_string(request, "NamePrefix", false, BB_BUS_NAME_BYTES_MAX, &prefix, out) ||
	    !get_page(request, &limit, &after, out))
		return;
	int rc = ev_bus_list(c->store, prefix, after, limit + 1, &rows);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) json_object_set_new(
	    row, "Arn", bus_arn(c, json_string_value(json_object_get(row, "Name"))));
	json_t *body = json_object();
	finish_page(body, "EventBuses", rows, limit, "Name");
	json_decref(rows);
	succeed(out, body);
}

/* ---- rules ---- */

static bool check_rule(const struct ctl_events_context *c, const struct ev_bus *bus,
                       json_t *request, struct ev_rule *rule, struct ctl_sqs_result *out)
{
	const char *state;
	char why[MESSAGE_BYTES_MAX];
	(void)c;
	if (!get_string(request, "Name", true, BB_RULE_NAME_BYTES_MAX, &rule->name, out) ||
	    !get_string(request, "EventPattern", false, BB_EVENT_PATTERN_BYTES_MAX, &rule->pattern,
	                out) ||
	    !get_string(request, "ScheduleExpression", false, BB_SCHEDULE_BYTES_MAX,
	                &rule->schedule, out) ||
	    !get_string(request, "State", false, 64, &state, out) ||
	    !get_string(request, "Description", false, CTL_EVENTS_DESCRIPTION_BYTES_MAX,
	                &rule->description, out) ||
	    !get_string(request, "RoleArn", false, CTL_EVENTS_ARN_BYTES_MAX, &rule->role_arn,
	                out) ||
	    !tags_ok(json_object_get(request, "Tags"), out))
		return false;
	if (!ev_rule_name_ok(rule->name)) {
		fail(out, &VALIDATION,
		     "Rule name %.80s is not valid: 1-%u of letters, digits and "
		     ". - _",
		     rule->name, BB_RULE_NAME_BYTES_MAX);
		return false;
	}
	if (state != NULL && strcmp(state, "ENABLED") != 0 && strcmp(state, "DISABLED") != 0) {
		fail(out, &VALIDATION, "State is ENABLED or DISABLED");
		return false;
	}
	rule->enabled = state == NULL || state[0] == 'E';
	if (rule->pattern == NULL && rule->schedule == NULL) {
		fail(out, &VALIDATION,
		     "Parameter(s) EventPattern or ScheduleExpression must be "
		     "specified.");
		return false;
	}
	if (rule->schedule != NULL && strcmp(bus->name, CTL_EVENTS_DEFAULT_BUS) != 0) {
		fail(out, &VALIDATION,
		     "ScheduleExpression is supported only on the default event "
		     "bus.");
		return false;
	}
	struct bus_schedule schedule;
	if (rule->schedule != NULL && bus_schedule_parse(rule->schedule, strlen(rule->schedule),
	                                                 &schedule, why, sizeof(why)) != 0) {
		fail(out, &VALIDATION, "%s", why);
		return false;
	}
	return rule->pattern == NULL || check_pattern(rule->pattern, out);
}

static void put_rule(const struct ctl_events_context *c, json_t *request,
                     struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	struct ev_rule rule;
	int64_t rule_id;
	if (!find_bus(c, request, "EventBusName", &bus, out) ||
	    !check_rule(c, &bus, request, &rule, out))
		return;
	int rc = ev_rule_put(c->store, bus.id, &rule, &rule_id);
	if (rc == -ENOSPC) {
		fail(out, &LIMIT,
		     "The requested resource exceeds the maximum number allowed: %u "
		     "rules per event bus, %u in all",
		     BB_RULES_PER_BUS_MAX, BB_RULE_COUNT_MAX);
		return;
	}
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	out->changed = true;
	if (store_tags(c, EV_TAGGED_RULE, rule_id, json_object_get(request, "Tags"), out) == 0)
		succeed(out, json_pack("{s:o}", "RuleArn", rule_arn(c, bus.name, rule.name)));
}

/* The bus (EventBusName) and the rule (nameKey) a call names, or false with the error. */
static bool find_rule(const struct ctl_events_context *c, json_t *request, const char *name_key,
                      struct ev_bus *bus, const char **name, int64_t *rule_id, json_t **rule,
                      struct ctl_sqs_result *out)
{
	if (!find_bus(c, request, "EventBusName", bus, out) ||
	    !get_string(request, name_key, true, BB_RULE_NAME_BYTES_MAX, name, out))
		return false;
	int rc = ev_rule_get(c->store, bus->id, *name, rule, rule_id);
	if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Rule %s does not exist on EventBus %s.", *name, bus->name);
	else if (rc != 0)
		store_failed(out, rc);
	return rc == 0;
}

static void delete_rule(const struct ctl_events_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name;
	if (!find_bus(c, request, "EventBusName", &bus, out) ||
	    !get_string(request, "Name", true, BB_RULE_NAME_BYTES_MAX, &name, out))
		return;
	int rc = ev_rule_delete(c->store, bus.id, name);
	if (rc == -ENOTEMPTY) {
		fail(out, &VALIDATION, "Rule can't be deleted since it has targets.");
		return;
	}
	/* As EventBridge: deleting a rule that is not there succeeds. */
	if (rc != 0 && rc != -ENOENT) {
		store_failed(out, rc);
		return;
	}
	out->changed = rc == 0;
	succeed(out, json_object());
}

/* A stored rule as DescribeRule and ListRules answer it. */
static void complete_rule(const struct ctl_events_context *c, const char *bus, json_t *rule)
{
	const char *name = json_string_value(json_object_get(rule, "Name"));
	json_object_set_new(rule, "Arn", rule_arn(c, bus, name));
	json_object_set_new(rule, "EventBusName", json_string(bus));
}

static void describe_rule(const struct ctl_events_context *c, json_t *request,
                          struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name;
	int64_t rule_id;
	json_t *rule;
	if (!find_rule(c, request, "Name", &bus, &name, &rule_id, &rule, out))
		return;
	complete_rule(c, bus.name, rule);
	json_object_set_new(rule, "CreatedBy", json_string(c->account_id));
	succeed(out, rule);
}

static void set_rule_state(const struct ctl_events_context *c, json_t *request, bool enabled,
                           struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name;
	int64_t rule_id;
	bool changed = false;
	if (!find_rule(c, request, "Name", &bus, &name, &rule_id, NULL, out))
		return;
	int rc = ev_rule_set_state(c->store, bus.id, name, enabled, &changed);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	out->changed = changed;
	succeed(out, json_object());
}

static void enable_rule(const struct ctl_events_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	set_rule_state(c, request, true, out);
}

static void disable_rule(const struct ctl_events_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	set_rule_state(c, request, false, out);
}

static void list_rules(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *prefix, *after;
	size_t limit;
	json_t *rows;
	if (!find_bus(c, request, "EventBusName", &bus, out) ||
	    !get_string(request, "NamePrefix", false, BB_RULE_NAME_BYTES_MAX, &prefix, out) ||
	    !get_page(request, &limit, &after, out))
		return;
	int rc = ev_rule_list(c->store, bus.id, prefix, after, limit + 1, &rows);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) complete_rule(c, bus.name, row);
	json_t *body = json_object();
	finish_page(body, "Rules", rows, limit, "Name");
	json_decref(rows);
	succeed(out, body);
}

static void list_rule_names_by_target(const struct ctl_events_context *c, json_t *request,
                                      struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *arn, *after;
	size_t limit;
	json_t *rows;
	if (!find_bus(c, request, "EventBusName", &bus, out) ||
	    !get_string(request, "TargetArn", true, CTL_EVENTS_ARN_BYTES_MAX, &arn, out) ||
	    !get_page(request, &limit, &after, out))
		return;
	int rc = ev_rule_names_by_target(c->store, bus.id, arn, after, limit + 1, &rows);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	json_t *body = json_object();
	finish_page(body, "RuleNames", rows, limit, NULL);
	json_decref(rows);
	succeed(out, body);
}

/* ---- targets ---- */

/* One PutTargets entry checked; false with the per-entry reason in why. */
struct target_check {
	const struct ctl_events_context *c;
	struct ev_target target;
	char resource[RESOURCE_BYTES];
	char dead_letter_queue[BB_QUEUE_NAME_BYTES_MAX + 1];
	char *input_paths_map; /* malloc'd JSON */
	char *spec;            /* malloc'd JSON */
	char why[MESSAGE_BYTES_MAX];
};

static bool refuse(struct target_check *t, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static bool refuse(struct target_check *t, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(t->why, sizeof(t->why), format, args);
	va_end(args);
	return false;
}

static bool topic_exists(struct ctl_store *store, const char *name)
{
	sqlite3_stmt *st;
	/* The SNS tables are another module's: no table yet means no topic. */
	if (sqlite3_prepare_v2(ctl_store_db(store), "SELECT 1 FROM sns_topics WHERE name = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static bool queue_target(struct target_check *t, const char *name, json_t *entry)
{
	struct ctl_queue q;
	json_t *sqs = json_object_get(entry, "SqsParameters");
	const char *group = json_string_value(json_object_get(sqs, "MessageGroupId"));
	if (ctl_store_get_queue(t->c->store, name, &q) != 0)
		return refuse(t, "Queue %s does not exist.", name);
	if (sqs != NULL &&
	    (group == NULL || group[0] == '\0' || strlen(group) > CTL_EVENTS_GROUP_ID_BYTES_MAX))
		return refuse(t, "SqsParameters.MessageGroupId is 1-%u characters",
		              CTL_EVENTS_GROUP_ID_BYTES_MAX);
	if (q.fifo && group == NULL)
		return refuse(t, "A FIFO queue target needs SqsParameters.MessageGroupId.");
	if (q.fifo && !q.content_based_deduplication)
		return refuse(t, "A FIFO queue target needs ContentBasedDeduplication on the "
		                 "queue.");
	if (!q.fifo && group != NULL)
		return refuse(t, "SqsParameters.MessageGroupId is only for a FIFO queue.");
	t->target.message_group_id = group;
	t->target.kind = BB_TARGET_QUEUE;
	return true;
}

/* Arn: a queue, topic or bus of this appliance, or udp://a.b.c.d:port. */
static bool check_arn(struct target_check *t, const char *arn, json_t *entry)
{
	const char *name;
	struct ev_bus bus;
	if (ev_udp_arn(arn, t->resource, sizeof(t->resource))) {
		t->target.kind = BB_TARGET_UDP;
		return json_object_get(entry, "SqsParameters") == NULL ||
		       refuse(t, "SqsParameters is only for a queue target.");
	}
	if (own_arn(t->c, arn, "sqs", &name)) {
		snprintf(t->resource, sizeof(t->resource), "%s", name);
		return queue_target(t, name, entry);
	}
	if (json_object_get(entry, "SqsParameters") != NULL)
		return refuse(t, "SqsParameters is only for a queue target.");
	if (own_arn(t->c, arn, "sns", &name)) {
		snprintf(t->resource, sizeof(t->resource), "%s", name);
		t->target.kind = BB_TARGET_TOPIC;
		return topic_exists(t->c->store, name) ||
		       refuse(t, "Topic %s does not exist.", name);
	}
	if (own_arn(t->c, arn, "events", &name) && strncmp(name, "event-bus/", 10) == 0) {
		snprintf(t->resource, sizeof(t->resource), "%s", name + 10);
		t->target.kind = BB_TARGET_BUS;
		return ev_bus_get(t->c->store, name + 10, &bus) == 0 ||
		       refuse(t, "Event bus %s does not exist.", name + 10);
	}
	return refuse(t,
	              "Arn %.200s is not a queue, topic or event bus of this appliance "
	              "(region %s, account %s) nor udp://IP:PORT",
	              arn, t->c->region, t->c->account_id);
}

/* Input, InputPath or InputTransformer, at most one, checked by the bus engine that renders
 * them (bus_input_validate), so PutTargets accepts exactly what busbard can deliver. */
static bool check_input(struct target_check *t, json_t *entry)
{
	json_t *input = json_object_get(entry, "Input");
	json_t *path = json_object_get(entry, "InputPath");
	json_t *transformer = json_object_get(entry, "InputTransformer");
	json_t *map = json_object_get(transformer, "InputPathsMap");
	json_t *template = json_object_get(transformer, "InputTemplate");
	if ((input != NULL) + (path != NULL) + (transformer != NULL) > 1)
		return refuse(t, "Only one of Input, InputPath, or InputTransformer must be "
		                 "provided.");
	json_t *text = input != NULL ? input : path != NULL ? path : template;
	if ((input != NULL || path != NULL || transformer != NULL) && !json_is_string(text))
		return refuse(t, "Input, InputPath and InputTemplate are strings");
	if (map != NULL && !json_is_object(map))
		return refuse(t, "InputPathsMap is a map of names to JSONPaths");
	t->target.input_kind = input != NULL         ? BB_TARGET_INPUT_CONSTANT
	                       : path != NULL        ? BB_TARGET_INPUT_PATH
	                       : transformer != NULL ? BB_TARGET_INPUT_TRANSFORMER
	                                             : BB_TARGET_INPUT_EVENT;
	if (t->target.input_kind == BB_TARGET_INPUT_EVENT)
		return true;
	/* What a bus receives must stay an event: EventBridge takes input settings for AWS
	 * services and API destinations only, and refuses them for a bus target (documented
	 * for another account's bus; busbard's buses are all of one account and Region). */
	if (t->target.kind == BB_TARGET_BUS)
		return refuse(t, "Input, InputPath, and InputTransformer are not available with "
		                 "PutTarget if the target is an event bus.");
	t->target.input = json_string_value(text);
	t->input_paths_map = map != NULL ? json_dumps(map, JSON_COMPACT) : NULL;
	t->target.input_paths_map = t->input_paths_map;
	if (map != NULL && t->input_paths_map == NULL)
		return refuse(t, "out of memory");
	_Static_assert((int)BUS_INPUT_TRANSFORMER == (int)BB_TARGET_INPUT_TRANSFORMER &&
	                   (int)BUS_INPUT_PATH == (int)BB_TARGET_INPUT_PATH,
	               "the engine's input kinds are the snapshot's");
	struct bus_input checked = {
	    .kind = (enum bus_input_kind)t->target.input_kind,
	    .input = {t->target.input, (uint32_t)strlen(t->target.input)},
	    .paths_map = {t->input_paths_map,
	                  t->input_paths_map != NULL ? (uint32_t)strlen(t->input_paths_map) : 0}};
	return bus_input_validate(&checked, t->why, sizeof(t->why)) == 0;
}

static bool check_retry(struct target_check *t, json_t *entry)
{
	json_t *retry = json_object_get(entry, "RetryPolicy");
	json_t *attempts = json_object_get(retry, "MaximumRetryAttempts");
	json_t *age = json_object_get(retry, "MaximumEventAgeInSeconds");
	t->target.retry_attempts_max = CTL_EVENTS_RETRY_ATTEMPTS_MAX;
	t->target.event_age_s_max = CTL_EVENTS_EVENT_AGE_S_MAX;
	if (attempts != NULL) {
		json_int_t n = json_integer_value(attempts);
		if (!json_is_integer(attempts) || n < 0 || n > CTL_EVENTS_RETRY_ATTEMPTS_MAX)
			return refuse(t, "RetryPolicy.MaximumRetryAttempts is 0-%u",
			              CTL_EVENTS_RETRY_ATTEMPTS_MAX);
		t->target.retry_attempts_max = (uint32_t)n;
	}
	if (age != NULL) {
		json_int_t n = json_integer_value(age);
		if (!json_is_integer(age) || n < CTL_EVENTS_EVENT_AGE_S_MIN ||
		    n > CTL_EVENTS_EVENT_AGE_S_MAX)
			return refuse(t, "RetryPolicy.MaximumEventAgeInSeconds is %u-%u",
			              CTL_EVENTS_EVENT_AGE_S_MIN, CTL_EVENTS_EVENT_AGE_S_MAX);
		t->target.event_age_s_max = (uint32_t)n;
	}
	return true;
}

/* DeadLetterConfig.Arn: a standard queue of this appliance, as EventBridge wants one. */
static bool check_dead_letter(struct target_check *t, json_t *entry)
{
	json_t *config = json_object_get(entry, "DeadLetterConfig");
	const char *arn = json_string_value(json_object_get(config, "Arn"));
	const char *name;
	struct ctl_queue q;
	if (config == NULL)
		return true;
	if (arn == NULL || !own_arn(t->c, arn, "sqs", &name))
		return refuse(t, "DeadLetterConfig.Arn is the ARN of a queue of this appliance");
	if (ctl_store_get_queue(t->c->store, name, &q) != 0)
		return refuse(t, "Queue %s does not exist.", name);
	if (q.fifo)
		return refuse(t, "A dead-letter queue is a standard queue, not FIFO.");
	snprintf(t->dead_letter_queue, sizeof(t->dead_letter_queue), "%s", name);
	t->target.dead_letter_queue = t->dead_letter_queue;
	return true;
}

static const char *const TARGET_MEMBERS[] = {
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "SqsParameters",
    "RetryPolicy",
    "DeadLetterConfig",
};

static bool check_target(struct target_check *t, json_t *entry)
{
	const char *key;
	json_t *value;
	json_object_foreach(entry, key, value)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(TARGET_MEMBERS) / sizeof(TARGET_MEMBERS[0]); i++)
			known = known || strcmp(key, TARGET_MEMBERS[i]) == 0;
		if (!known)
			return refuse(t, "busbar does not implement %.64s", key);
	}
	const char *arn = json_string_value(json_object_get(entry, "Arn"));
	if (arn == NULL || arn[0] == '\0' || strlen(arn) > CTL_EVENTS_ARN_BYTES_MAX)
		return refuse(t, "Arn is 1-%u characters", CTL_EVENTS_ARN_BYTES_MAX);
	t->target.arn = arn;
	t->target.resource = t->resource;
	if (!check_arn(t, arn, entry) || !check_input(t, entry) || !check_retry(t, entry) ||
	    !check_dead_letter(t, entry))
		return false;
	t->spec = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	t->target.spec = t->spec;
	return t->spec != NULL || refuse(t, "out of memory");
}

/* Ids: each 1-64 of letters, digits and . - _, each once in the call. */
static bool ids_ok(json_t *targets, const char *key, struct ctl_sqs_result *out)
{
	size_t i, j;
	json_t *entry;
	json_array_foreach(targets, i, entry)
	{
		json_t *id_value = key != NULL ? json_object_get(entry, key) : entry;
		const char *id = json_string_value(id_value);
		if (id == NULL || !ev_target_id_ok(id)) {
			fail(out, &VALIDATION, "A target Id is 1-%u of letters, digits and . - _",
			     BB_TARGET_ID_BYTES_MAX);
			return false;
		}
		for (j = 0; j < i; j++) {
			json_t *other = json_array_get(targets, j);
			other = key != NULL ? json_object_get(other, key) : other;
			if (strcmp(json_string_value(other), id) == 0) {
				fail(out, &VALIDATION, "The target Id %s is given twice", id);
				return false;
			}
		}
	}
	return true;
}

static void add_failed(json_t *failed, const char *id, const char *why)
{
	json_array_append_new(failed, json_pack("{s:s, s:s, s:s}", "TargetId", id, "ErrorCode",
	                                        "ValidationException", "ErrorMessage", why));
}

static void store_targets(const struct ctl_events_context *c, int64_t rule_id,
                          struct target_check *checks, size_t count, json_t *failed,
                          struct ctl_sqs_result *out)
{
	struct ev_target targets[CTL_EVENTS_TARGETS_PER_CALL_MAX];
	size_t good = 0;
	for (size_t i = 0; i < count; i++) {
		if (checks[i].why[0] == '\0')
			targets[good++] = checks[i].target;
	}
	int rc = good > 0 ? ev_targets_put(c->store, rule_id, targets, good) : 0;
	if (rc == -ENOSPC) {
		fail(out, &LIMIT,
		     "The requested resource exceeds the maximum number allowed: %u "
		     "targets per rule, %u in all",
		     BB_TARGETS_PER_RULE_MAX, BB_TARGET_COUNT_MAX);
		return;
	}
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	out->changed = good > 0;
	succeed(out, json_pack("{s:I, s:O}", "FailedEntryCount",
	                       (json_int_t)json_array_size(failed), "FailedEntries", failed));
}

static void put_targets(const struct ctl_events_context *c, json_t *request,
                        struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name;
	int64_t rule_id;
	json_t *targets = json_object_get(request, "Targets");
	if (!find_rule(c, request, "Rule", &bus, &name, &rule_id, NULL, out))
		return;
	if (!json_is_array(targets) || json_array_size(targets) == 0 ||
	    json_array_size(targets) > CTL_EVENTS_TARGETS_PER_CALL_MAX) {
		fail(out, &VALIDATION, "Targets is a list of 1-%u targets",
		     CTL_EVENTS_TARGETS_PER_CALL_MAX);
		return;
	}
	if (!ids_ok(targets, "Id", out))
		return;
	struct target_check *checks = calloc(json_array_size(targets), sizeof(*checks));
	json_t *failed = json_array();
	size_t i;
	json_t *entry;
	if (checks == NULL) {
		fail(out, &INTERNAL, "out of memory");
		json_decref(failed);
		return;
	}
	json_array_foreach(targets, i, entry)
	{
		struct target_check *t = &checks[i];
		t->c = c;
		t->target.id = json_string_value(json_object_get(entry, "Id"));
		if (!check_target(t, entry) && t->why[0] != '\0')
			add_failed(failed, t->target.id, t->why);
	}
	store_targets(c, rule_id, checks, json_array_size(targets), failed, out);
	for (i = 0; i < json_array_size(targets); i++) {
		free(checks[i].input_paths_map);
		free(checks[i].spec);
	}
	free(checks);
	json_decref(failed);
}

static void remove_targets(const struct ctl_events_context *c, json_t *request,
                           struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name;
	int64_t rule_id;
	bool changed;
	json_t *ids = json_object_get(request, "Ids");
	if (!find_rule(c, request, "Rule", &bus, &name, &rule_id, NULL, out))
		return;
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > CTL_EVENTS_REMOVE_IDS_MAX) {
		fail(out, &VALIDATION, "Ids is a list of 1-%u target Ids",
		     CTL_EVENTS_REMOVE_IDS_MAX);
		return;
	}
	if (!ids_ok(ids, NULL, out))
		return;
	int rc = ev_targets_remove(c->store, rule_id, ids, &changed);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	out->changed = changed;
	succeed(out, json_pack("{s:i, s:[]}", "FailedEntryCount", 0, "FailedEntries"));
}

static void list_targets_by_rule(const struct ctl_events_context *c, json_t *request,
                                 struct ctl_sqs_result *out)
{
	struct ev_bus bus;
	const char *name, *after;
	int64_t rule_id;
	size_t limit;
	json_t *rows;
	if (!find_rule(c, request, "Rule", &bus, &name, &rule_id, NULL, out) ||
	    !get_page(request, &limit, &after, out))
		return;
	int rc = ev_targets_list(c->store, rule_id, after, limit + 1, &rows);
	if (rc != 0) {
		store_failed(out, rc);
		return;
	}
	json_t *body = json_object();
	finish_page(body, "Targets", rows, limit, "Id");
	json_decref(rows);
	succeed(out, body);
}

/* ---- TestEventPattern ---- */

/* The bus engine's own test (bus_test_event_pattern): the answer busbard's matching gives. */
static void test_event_pattern(const struct ctl_events_context *c, json_t *request,
                               struct ctl_sqs_result *out)
{
	const char *pattern, *event;
	char why[MESSAGE_BYTES_MAX] = "";
	bool event_error = false;
	(void)c;
	if (!get_string(request, "EventPattern", true, BB_EVENT_PATTERN_BYTES_MAX, &pattern, out) ||
	    !get_string(request, "Event", true, CTL_EVENTS_TEST_EVENT_BYTES_MAX, &event, out))
		return;
	int matched = bus_test_event_pattern(pattern, strlen(pattern), event, strlen(event),
	                                     &event_error, why, sizeof(why));
	if (matched == -ENOMEM)
		fail(out, &INTERNAL, "out of memory");
	else if (matched < 0 && event_error)
		fail(out, &VALIDATION, "%s", why);
	else if (matched < 0)
		fail(out, &BAD_PATTERN, "Event pattern is not valid. Reason: %s", why);
	else
		succeed(out, json_pack("{s:b}", "Result", matched > 0));
}

/* ---- tags of buses and rules, by ARN ---- */

/* ResourceARN as a bus (event-bus/NAME) or a rule (rule/NAME, rule/BUS/NAME) of the store. */
static bool find_tagged(const struct ctl_events_context *c, json_t *request, enum ev_tagged *kind,
                        int64_t *id, struct ctl_sqs_result *out)
{
	const char *arn, *resource;
	char bus_name[BB_BUS_NAME_BYTES_MAX + 1] = CTL_EVENTS_DEFAULT_BUS;
	struct ev_bus bus;
	if (!get_string(request, "ResourceARN", true, CTL_EVENTS_ARN_BYTES_MAX, &arn, out))
		return false;
	int rc = -ENOENT;
	if (own_arn(c, arn, "events", &resource) && strncmp(resource, "event-bus/", 10) == 0) {
		*kind = EV_TAGGED_BUS;
		rc = ev_bus_get(c->store, resource + 10, &bus);
		*id = bus.id;
	} else if (own_arn(c, arn, "events", &resource) && strncmp(resource, "rule/", 5) == 0) {
		const char *rule = resource + 5;
		const char *slash = strchr(rule, '/');
		if (slash != NULL && (size_t)(slash - rule) < sizeof(bus_name)) {
			memcpy(bus_name, rule, (size_t)(slash - rule));
			bus_name[slash - rule] = '\0';
			rule = slash + 1;
		}
		*kind = EV_TAGGED_RULE;
		rc = ev_bus_get(c->store, bus_name, &bus);
		if (rc == 0)
			rc = ev_rule_get(c->store, bus.id, rule, NULL, id);
	}
	if (rc == -ENOENT)
		fail(out, &NOT_FOUND, "Resource %.300s does not exist.", arn);
	else if (rc != 0)
		store_failed(out, rc);
	return rc == 0;
}

static bool names_durability(json_t *list, const char *key)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *name = json_string_value(key ? json_object_get(item, key) : item);
		if (name != NULL && strcmp(name, DURABILITY_TAG) == 0)
			return true;
	}
	return false;
}

static void tag_resource(const struct ctl_events_context *c, json_t *request,
                         struct ctl_sqs_result *out)
{
	enum ev_tagged kind;
	int64_t id;
	json_t *tags = json_object_get(request, "Tags");
	if (!find_tagged(c, request, &kind, &id, out) || !tags_ok(tags, out))
		return;
	if (tags == NULL || names_durability(tags, "Key")) {
		fail(out, &VALIDATION,
		     tags == NULL ? "Tags is required"
		                  : DURABILITY_TAG " is fixed when a bus is made");
		return;
	}
	if (store_tags(c, kind, id, tags, out) == 0)
		succeed(out, json_object());
}

static void untag_resource(const struct ctl_events_context *c, json_t *request,
                           struct ctl_sqs_result *out)
{
	enum ev_tagged kind;
	int64_t id;
	json_t *keys = json_object_get(request, "TagKeys");
	if (!find_tagged(c, request, &kind, &id, out))
		return;
	if (!json_is_array(keys) || names_durability(keys, NULL)) {
		fail(out, &VALIDATION,
		     keys == NULL ? "TagKeys is required"
		                  : DURABILITY_TAG " is fixed when a bus is made");
		return;
	}
	int rc = ev_tags_remove(c->store, kind, id, keys);
	if (rc != 0)
		store_failed(out, rc);
	else
		succeed(out, json_object());
}

static void list_tags_for_resource(const struct ctl_events_context *c, json_t *request,
                                   struct ctl_sqs_result *out)
{
	enum ev_tagged kind;
	int64_t id;
	json_t *tags;
	if (!find_tagged(c, request, &kind, &id, out))
		return;
	int rc = ev_tags_list(c->store, kind, id, &tags);
	if (rc != 0)
		store_failed(out, rc);
	else
		succeed(out, json_pack("{s:o}", "Tags", tags));
}

/* ---- for ctl_events_archive.c ---- */

bool ev_get_string(json_t *request, const char *key, bool required, size_t bytes_max,
                   const char **value, struct ctl_sqs_result *out)
{
	return get_string(request, key, required, bytes_max, value, out);
}

bool ev_check_pattern(const char *pattern, struct ctl_sqs_result *out)
{
	return check_pattern(pattern, out);
}

bool ev_find_bus(const struct ctl_events_context *c, json_t *request, const char *key,
                 struct ev_bus *bus, struct ctl_sqs_result *out)
{
	return find_bus(c, request, key, bus, out);
}

/* ---- dispatch ---- */

typedef void ev_handler(const struct ctl_events_context *, json_t *, struct ctl_sqs_result *);

static const struct {
	const char *target;
	ev_handler *handle;
} OPERATIONS[] = {
    {"AWSEvents.CreateEventBus", create_event_bus},
    {"AWSEvents.DeleteEventBus", delete_event_bus},
    {"AWSEvents.DescribeEventBus", describe_event_bus},
    {"AWSEvents.ListEventBuses", list_event_buses},
    {"AWSEvents.PutRule", put_rule},
    {"AWSEvents.DeleteRule", delete_rule},
    {"AWSEvents.DescribeRule", describe_rule},
    {"AWSEvents.ListRules", list_rules},
    {"AWSEvents.EnableRule", enable_rule},
    {"AWSEvents.DisableRule", disable_rule},
    {"AWSEvents.ListRuleNamesByTarget", list_rule_names_by_target},
    {"AWSEvents.PutTargets", put_targets},
    {"AWSEvents.RemoveTargets", remove_targets},
    {"AWSEvents.ListTargetsByRule", list_targets_by_rule},
    {"AWSEvents.TestEventPattern", test_event_pattern},
    {"AWSEvents.TagResource", tag_resource},
    {"AWSEvents.UntagResource", untag_resource},
    {"AWSEvents.ListTagsForResource", list_tags_for_resource},
    {"AWSEvents.CreateArchive", ev_create_archive},
    {"AWSEvents.DescribeArchive", ev_describe_archive},
    {"AWSEvents.ListArchives", ev_list_archives},
    {"AWSEvents.UpdateArchive", ev_update_archive},
    {"AWSEvents.DeleteArchive", ev_delete_archive},
};

bool ctl_events_manages(const char *action)
{
	assert(action != NULL);
	for (size_t i = 0; i < sizeof(OPERATIONS) / sizeof(OPERATIONS[0]); i++) {
		if (strcmp(OPERATIONS[i].target + sizeof("AWSEvents.") - 1, action) == 0)
			return true;
	}
	return false;
}

void ctl_events_resource_arn(const char *region, const char *account_id, const char *action,
                             json_t *params, char *out, size_t out_bytes)
{
	assert(region != NULL && account_id != NULL && action != NULL && out_bytes > 0);
	const char *given = json_string_value(json_object_get(params, "ResourceARN"));
	const char *bus = json_string_value(json_object_get(params, "EventBusName"));
	const char *name = json_string_value(json_object_get(params, "Name"));
	const char *rule = json_string_value(json_object_get(params, "Rule"));
	bool rule_call = strstr(action, "Rule") != NULL && strcmp(action, "ListRules") != 0;
	if (rule == NULL && rule_call)
		rule = name;
	else if (bus == NULL && strstr(action, "EventBus") != NULL)
		bus = name;
	const char *archive = json_string_value(json_object_get(params, "ArchiveName"));
	if (given != NULL) {
		snprintf(out, out_bytes, "%s", given);
	} else if (archive != NULL) {
		snprintf(out, out_bytes, "arn:aws:events:%s:%s:archive/%s", region, account_id,
		         archive);
	} else if (bus != NULL && strncmp(bus, "arn:", 4) == 0 && rule == NULL) {
		snprintf(out, out_bytes, "%s", bus);
	} else if (strcmp(action, "ListEventBuses") == 0 ||
	           strcmp(action, "TestEventPattern") == 0 || strcmp(action, "ListArchives") == 0) {
		snprintf(out, out_bytes, "arn:aws:events:%s:%s:*", region, account_id);
	} else {
		struct ctl_events_context c = {.account_id = account_id, .region = region};
		if (bus == NULL)
			bus = CTL_EVENTS_DEFAULT_BUS;
		json_t *arn = rule != NULL ? rule_arn(&c, bus, rule) : bus_arn(&c, bus);
		snprintf(out, out_bytes, "%s", json_string_value(arn));
		json_decref(arn);
	}
}

void ctl_events_handle(const struct ctl_events_context *c, const char *target, const char *request,
                       size_t request_bytes, struct ctl_sqs_result *out)
{
	assert(c != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if (request_bytes > CTL_REQUEST_BYTES_MAX) {
		fail(out, &SERIALIZATION, "request body too large");
		return;
	}
	json_t *body = json_loadb(request, request_bytes, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		fail(out, &SERIALIZATION, "the request body is not a JSON object");
		return;
	}
	for (size_t i = 0; i < sizeof(OPERATIONS) / sizeof(OPERATIONS[0]); i++) {
		if (target != NULL && strcmp(target, OPERATIONS[i].target) == 0) {
			OPERATIONS[i].handle(c, body, out);
			json_decref(body);
			return;
		}
	}
	json_decref(body);
	fail(out, &UNKNOWN_OPERATION, "unknown or unsupported X-Amz-Target");
}

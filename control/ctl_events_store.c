/*
 * EventBridge's tables in the store's database (see ctl_events_int.h).
 * Invariants: the default bus always exists; a rule belongs to one bus and a
 * target to one rule (deleting a bus takes its rules and targets with it);
 * ids are never reused (AUTOINCREMENT), so busbard can tell a re-created rule
 * from the old one; every change bumps config_version in its own transaction.
 */
#include "ctl_events_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static const char events_schema[] =
    "CREATE TABLE IF NOT EXISTS event_buses ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  memory INTEGER NOT NULL DEFAULT 0,"
    "  created_s INTEGER NOT NULL,"
    "  modified_s INTEGER NOT NULL);"
    "INSERT INTO event_buses (name, created_s, modified_s)"
    "  SELECT '" CTL_EVENTS_DEFAULT_BUS "', strftime('%s','now'), strftime('%s','now')"
    "  WHERE NOT EXISTS (SELECT 1 FROM event_buses WHERE name = '" CTL_EVENTS_DEFAULT_BUS "');"
    "CREATE TABLE IF NOT EXISTS event_rules ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  bus_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  pattern TEXT, schedule TEXT, description TEXT, role_arn TEXT,"
    "  created_s INTEGER NOT NULL,"
    "  UNIQUE (bus_id, name));"
    "CREATE TABLE IF NOT EXISTS event_targets ("
    "  rule_id INTEGER NOT NULL,"
    "  target_id TEXT NOT NULL,"
    "  arn TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  input_kind INTEGER NOT NULL,"
    "  input TEXT, input_paths_map TEXT, message_group_id TEXT,"
    "  retry_attempts_max INTEGER NOT NULL,"
    "  event_age_s_max INTEGER NOT NULL,"
    "  dead_letter_queue TEXT,"
    "  spec TEXT NOT NULL,"
    "  PRIMARY KEY (rule_id, target_id));"
    "CREATE TABLE IF NOT EXISTS event_tags ("
    "  kind INTEGER NOT NULL, resource_id INTEGER NOT NULL, key TEXT NOT NULL,"
    "  value TEXT NOT NULL, PRIMARY KEY (kind, resource_id, key));"
    "CREATE TABLE IF NOT EXISTS event_archives ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  bus_id INTEGER NOT NULL,"
    "  description TEXT, pattern TEXT,"
    "  retention_days INTEGER NOT NULL,"
    "  created_s INTEGER NOT NULL);";

int ctl_events_schema(sqlite3 *db)
{
	assert(db != NULL);
	return sqlite3_exec(db, events_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static sqlite3_stmt *prepare(struct ctl_store *store, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ctl_store_db(store), sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static void bind_text(sqlite3_stmt *st, int index, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(st, index, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, index);
}

/* Runs a statement to its end and finalizes it: 0 or -EIO. */
static int step_done(sqlite3_stmt *st)
{
	int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* One integer from a query with a single int64 parameter (or none: param < 0), else -1. */
static int64_t query_count(struct ctl_store *store, const char *sql, int64_t param)
{
	sqlite3_stmt *st = prepare(store, sql);
	int64_t n = -1;
	if (st == NULL)
		return -1;
	if (param >= 0)
		sqlite3_bind_int64(st, 1, param);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int exec(struct ctl_store *store, const char *sql)
{
	return sqlite3_exec(ctl_store_db(store), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int begin(struct ctl_store *store)
{
	return exec(store, "BEGIN IMMEDIATE");
}

/* Commits rc == 0 (bumping the version when changed) or rolls back; returns rc or -EIO. */
static int finish(struct ctl_store *store, int rc, bool changed)
{
	if (rc == 0 && changed)
		rc = exec(store, "UPDATE config_version SET version = version + 1");
	if (rc == 0)
		rc = exec(store, "COMMIT");
	if (rc != 0)
		exec(store, "ROLLBACK");
	return rc;
}

static void set_text(json_t *object, const char *key, sqlite3_stmt *st, int column)
{
	const unsigned char *text = sqlite3_column_text(st, column);
	if (text != NULL)
		json_object_set_new(object, key, json_string((const char *)text));
}

/* ---- buses ---- */

#define BUS_COLUMNS "id, name, description, memory, created_s, modified_s"

static void read_bus(sqlite3_stmt *st, struct ev_bus *b)
{
	b->id = sqlite3_column_int64(st, 0);
	snprintf(b->name, sizeof(b->name), "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(b->description, sizeof(b->description), "%s",
	         (const char *)sqlite3_column_text(st, 2));
	b->memory = sqlite3_column_int64(st, 3) != 0;
	b->created_s = sqlite3_column_int64(st, 4);
	b->modified_s = sqlite3_column_int64(st, 5);
}

int ev_bus_get(struct ctl_store *store, const char *name, struct ev_bus *out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " BUS_COLUMNS " FROM event_buses WHERE name = ?");
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_bus(st, out);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

int ev_bus_create(struct ctl_store *store, const char *name, const char *description, bool memory,
                  struct ev_bus *out)
{
	assert(name != NULL && out != NULL);
	if (begin(store) != 0)
		return -EIO;
	int rc = ev_bus_get(store, name, out) == 0 ? -EEXIST : 0;
	int64_t count = rc == 0 ? query_count(store, "SELECT count(*) FROM event_buses", -1) : 0;
	if (rc == 0 && count < 0)
		rc = -EIO;
	else if (rc == 0 && count >= BB_BUS_COUNT_MAX)
		rc = -ENOSPC;
	if (rc == 0) {
		sqlite3_stmt *st =
		    prepare(store, "INSERT INTO event_buses (name, description, "
		                   "memory, created_s, modified_s) VALUES (?,?,?,?,?)");
		int64_t now = (int64_t)time(NULL);
		if (st != NULL) {
			bind_text(st, 1, name);
			bind_text(st, 2, description != NULL ? description : "");
			sqlite3_bind_int64(st, 3, memory);
			sqlite3_bind_int64(st, 4, now);
			sqlite3_bind_int64(st, 5, now);
		}
		rc = step_done(st);
	}
	if (rc == 0)
		rc = ev_bus_get(store, name, out);
	return finish(store, rc, true);
}

int ev_bus_delete(struct ctl_store *store, int64_t bus_id)
{
	static const char *const cascade[] = {
	    "DELETE FROM event_tags WHERE kind = 2 AND resource_id IN "
	    "(SELECT id FROM event_rules WHERE bus_id = ?1)",
	    "DELETE FROM event_targets WHERE rule_id IN "
	    "(SELECT id FROM event_rules WHERE bus_id = ?1)",
	    "DELETE FROM event_rules WHERE bus_id = ?1",
	    "DELETE FROM event_tags WHERE kind = 1 AND resource_id = ?1",
	    "DELETE FROM event_archives WHERE bus_id = ?1",
	    "DELETE FROM event_buses WHERE id = ?1",
	};
	_Static_assert(EV_TAGGED_BUS == 1 && EV_TAGGED_RULE == 2, "the kinds in the SQL above");
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(cascade) / sizeof(cascade[0]); i++) {
		sqlite3_stmt *st = prepare(store, cascade[i]);
		if (st != NULL)
			sqlite3_bind_int64(st, 1, bus_id);
		rc = step_done(st);
	}
	if (rc == 0 && sqlite3_changes(ctl_store_db(store)) == 0)
		rc = -ENOENT;
	return finish(store, rc, true);
}

/* Steps st, appending what row() makes of each row to a new array in *out. */
static int collect(sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), json_t **out)
{
	if (st == NULL)
		return -EIO;
	*out = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) /* bounded by the query's LIMIT */
		json_array_append_new(*out, row(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}

static json_t *bus_row(sqlite3_stmt *st)
{
	struct ev_bus b;
	read_bus(st, &b);
	json_t *o =
	    json_pack("{s:s, s:I, s:I}", "Name", b.name, "CreationTime", (json_int_t)b.created_s,
	              "LastModifiedTime", (json_int_t)b.modified_s);
	if (b.description[0] != '\0')
		json_object_set_new(o, "Description", json_string(b.description));
	return o;
}

/* substr rather than LIKE: '_' is legal in names and must not be a wildcard. */
int ev_bus_list(struct ctl_store *store, const char *prefix, const char *after, size_t limit,
                json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " BUS_COLUMNS " FROM event_buses WHERE "
	                                  "substr(name, 1, length(?1)) = ?1 AND name > ?2 "
	                                  "ORDER BY name LIMIT ?3");
	if (st != NULL) {
		bind_text(st, 1, prefix != NULL ? prefix : "");
		bind_text(st, 2, after != NULL ? after : "");
		sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	}
	return collect(st, bus_row, out);
}

/* ---- rules ---- */

static int64_t rule_id_of(struct ctl_store *store, int64_t bus_id, const char *name)
{
	sqlite3_stmt *st =
	    prepare(store, "SELECT id FROM event_rules WHERE bus_id = ? AND name = ?");
	int64_t id = -1;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, bus_id);
	bind_text(st, 2, name);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static int rule_room(struct ctl_store *store, int64_t bus_id)
{
	int64_t on_bus =
	    query_count(store, "SELECT count(*) FROM event_rules WHERE bus_id = ?", bus_id);
	int64_t all = query_count(store, "SELECT count(*) FROM event_rules", -1);
	if (on_bus < 0 || all < 0)
		return -EIO;
	return on_bus >= BB_RULES_PER_BUS_MAX || all >= BB_RULE_COUNT_MAX ? -ENOSPC : 0;
}

static void bind_rule(sqlite3_stmt *st, const struct ev_rule *r)
{
	sqlite3_bind_int64(st, 1, r->enabled);
	bind_text(st, 2, r->pattern);
	bind_text(st, 3, r->schedule);
	bind_text(st, 4, r->description);
	bind_text(st, 5, r->role_arn);
}

int ev_rule_put(struct ctl_store *store, int64_t bus_id, const struct ev_rule *rule,
                int64_t *rule_id)
{
	assert(rule != NULL && rule->name != NULL);
	if (begin(store) != 0)
		return -EIO;
	*rule_id = rule_id_of(store, bus_id, rule->name);
	int rc = *rule_id >= 0 ? 0 : rule_room(store, bus_id);
	sqlite3_stmt *st = NULL;
	if (rc == 0 && *rule_id >= 0) { /* PutRule replaces: what it omits is gone */
		st = prepare(store, "UPDATE event_rules SET enabled = ?1, pattern = ?2, "
		                    "schedule = ?3, description = ?4, role_arn = ?5 WHERE id = ?6");
		if (st != NULL)
			sqlite3_bind_int64(st, 6, *rule_id);
	} else if (rc == 0) {
		st = prepare(store, "INSERT INTO event_rules (enabled, pattern, schedule, "
		                    "description, role_arn, bus_id, name, created_s) "
		                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
		if (st != NULL) {
			sqlite3_bind_int64(st, 6, bus_id);
			bind_text(st, 7, rule->name);
			sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
		}
	}
	if (rc == 0 && st != NULL)
		bind_rule(st, rule);
	if (rc == 0)
		rc = step_done(st);
	if (rc == 0 && *rule_id < 0)
		*rule_id = sqlite3_last_insert_rowid(ctl_store_db(store));
	return finish(store, rc, true);
}

#define RULE_COLUMNS "id, name, enabled, pattern, schedule, description, role_arn"

static json_t *rule_row(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s, s:s}", "Name", (const char *)sqlite3_column_text(st, 1),
	                      "State", sqlite3_column_int64(st, 2) ? "ENABLED" : "DISABLED");
	set_text(o, "EventPattern", st, 3);
	set_text(o, "ScheduleExpression", st, 4);
	set_text(o, "Description", st, 5);
	set_text(o, "RoleArn", st, 6);
	return o;
}

int ev_rule_get(struct ctl_store *store, int64_t bus_id, const char *name, json_t **out,
                int64_t *rule_id)
{
	sqlite3_stmt *st = prepare(store, "SELECT " RULE_COLUMNS
	                                  " FROM event_rules WHERE bus_id = ? AND name = ?");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, bus_id);
	bind_text(st, 2, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rule_id = sqlite3_column_int64(st, 0);
		if (out != NULL)
			*out = rule_row(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

int ev_rule_delete(struct ctl_store *store, int64_t bus_id, const char *name)
{
	if (begin(store) != 0)
		return -EIO;
	int64_t id = rule_id_of(store, bus_id, name);
	int rc = id >= 0 ? 0 : -ENOENT;
	int64_t targets =
	    rc == 0 ? query_count(store, "SELECT count(*) FROM event_targets WHERE rule_id = ?", id)
	            : 0;
	if (targets < 0)
		rc = -EIO;
	else if (targets > 0)
		rc = -ENOTEMPTY;
	sqlite3_stmt *st = NULL;
	if (rc == 0 && (st = prepare(store, "DELETE FROM event_tags WHERE kind = 2 AND "
	                                    "resource_id = ?")) != NULL)
		sqlite3_bind_int64(st, 1, id);
	if (rc == 0)
		rc = step_done(st);
	if (rc == 0 && (st = prepare(store, "DELETE FROM event_rules WHERE id = ?")) != NULL)
		sqlite3_bind_int64(st, 1, id);
	if (rc == 0)
		rc = step_done(st);
	return finish(store, rc, true);
}

int ev_rule_set_state(struct ctl_store *store, int64_t bus_id, const char *name, bool enabled,
                      bool *changed)
{
	if (begin(store) != 0)
		return -EIO;
	int64_t id = rule_id_of(store, bus_id, name);
	int rc = id >= 0 ? 0 : -ENOENT;
	sqlite3_stmt *st = NULL;
	if (rc == 0 && (st = prepare(store, "UPDATE event_rules SET enabled = ? WHERE id = ? "
	                                    "AND enabled != ?")) != NULL) {
		sqlite3_bind_int64(st, 1, enabled);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_int64(st, 3, enabled);
	}
	if (rc == 0)
		rc = step_done(st);
	*changed = rc == 0 && sqlite3_changes(ctl_store_db(store)) > 0;
	return finish(store, rc, *changed);
}

int ev_rule_list(struct ctl_store *store, int64_t bus_id, const char *prefix, const char *after,
                 size_t limit, json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " RULE_COLUMNS " FROM event_rules WHERE "
	                                  "bus_id = ?4 AND substr(name, 1, length(?1)) = ?1 AND "
	                                  "name > ?2 ORDER BY name LIMIT ?3");
	if (st != NULL) {
		bind_text(st, 1, prefix != NULL ? prefix : "");
		bind_text(st, 2, after != NULL ? after : "");
		sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
		sqlite3_bind_int64(st, 4, bus_id);
	}
	return collect(st, rule_row, out);
}

static json_t *name_row(sqlite3_stmt *st)
{
	return json_string((const char *)sqlite3_column_text(st, 0));
}

int ev_rule_names_by_target(struct ctl_store *store, int64_t bus_id, const char *arn,
                            const char *after, size_t limit, json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT DISTINCT r.name FROM event_rules r JOIN "
	                                  "event_targets t ON t.rule_id = r.id WHERE "
	                                  "r.bus_id = ?1 AND t.arn = ?2 AND r.name > ?3 "
	                                  "ORDER BY r.name LIMIT ?4");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, bus_id);
		bind_text(st, 2, arn);
		bind_text(st, 3, after != NULL ? after : "");
		sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	}
	return collect(st, name_row, out);
}

/* ---- targets ---- */

static int put_target(struct ctl_store *store, int64_t rule_id, const struct ev_target *t)
{
	sqlite3_stmt *st =
	    prepare(store, "INSERT OR REPLACE INTO event_targets (rule_id, target_id, arn, kind, "
	                   "resource, input_kind, input, input_paths_map, message_group_id, "
	                   "retry_attempts_max, event_age_s_max, dead_letter_queue, spec) "
	                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, rule_id);
	bind_text(st, 2, t->id);
	bind_text(st, 3, t->arn);
	sqlite3_bind_int64(st, 4, t->kind);
	bind_text(st, 5, t->resource);
	sqlite3_bind_int64(st, 6, t->input_kind);
	bind_text(st, 7, t->input);
	bind_text(st, 8, t->input_paths_map);
	bind_text(st, 9, t->message_group_id);
	sqlite3_bind_int64(st, 10, t->retry_attempts_max);
	sqlite3_bind_int64(st, 11, t->event_age_s_max);
	bind_text(st, 12, t->dead_letter_queue);
	bind_text(st, 13, t->spec);
	return step_done(st);
}

int ev_targets_put(struct ctl_store *store, int64_t rule_id, const struct ev_target *targets,
                   size_t count)
{
	assert(count <= CTL_EVENTS_TARGETS_PER_CALL_MAX);
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = put_target(store, rule_id, &targets[i]);
	/* Counted after the change, inside its transaction: replaced Ids count once. */
	int64_t on_rule =
	    query_count(store, "SELECT count(*) FROM event_targets WHERE rule_id = ?", rule_id);
	int64_t all = query_count(store, "SELECT count(*) FROM event_targets", -1);
	if (rc == 0 && (on_rule < 0 || all < 0))
		rc = -EIO;
	else if (rc == 0 && (on_rule > BB_TARGETS_PER_RULE_MAX || all > BB_TARGET_COUNT_MAX))
		rc = -ENOSPC;
	return finish(store, rc, true);
}

int ev_targets_remove(struct ctl_store *store, int64_t rule_id, json_t *ids, bool *changed)
{
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	size_t i;
	json_t *id;
	*changed = false;
	json_array_foreach(ids, i, id)
	{
		sqlite3_stmt *st =
		    prepare(store, "DELETE FROM event_targets WHERE rule_id = ? AND target_id = ?");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, rule_id);
			bind_text(st, 2, json_string_value(id));
		}
		rc = step_done(st);
		if (rc != 0)
			break;
		*changed = *changed || sqlite3_changes(ctl_store_db(store)) > 0;
	}
	return finish(store, rc, *changed);
}

static json_t *target_row(sqlite3_stmt *st)
{
	json_t *spec = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	return spec != NULL ? spec : json_object();
}

int ev_targets_list(struct ctl_store *store, int64_t rule_id, const char *after, size_t limit,
                    json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT spec FROM event_targets WHERE rule_id = ? AND "
	                                  "target_id > ? ORDER BY target_id LIMIT ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, rule_id);
		bind_text(st, 2, after != NULL ? after : "");
		sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	}
	return collect(st, target_row, out);
}

/* ---- tags (not configuration: no version change) ---- */

int ev_tags_set(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t *tags)
{
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	size_t i;
	json_t *tag;
	json_array_foreach(tags, i, tag)
	{
		sqlite3_stmt *st = prepare(store, "INSERT OR REPLACE INTO event_tags (kind, "
		                                  "resource_id, key, value) VALUES (?,?,?,?)");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, kind);
			sqlite3_bind_int64(st, 2, id);
			bind_text(st, 3, json_string_value(json_object_get(tag, "Key")));
			bind_text(st, 4, json_string_value(json_object_get(tag, "Value")));
		}
		rc = step_done(st);
		if (rc != 0)
			break;
	}
	sqlite3_stmt *count = prepare(store, "SELECT count(*) FROM event_tags WHERE kind = ? AND "
	                                     "resource_id = ?");
	if (rc == 0 && count != NULL) {
		sqlite3_bind_int64(count, 1, kind);
		sqlite3_bind_int64(count, 2, id);
		if (sqlite3_step(count) != SQLITE_ROW)
			rc = -EIO;
		else if (sqlite3_column_int64(count, 0) > CTL_EVENTS_TAGS_PER_RESOURCE_MAX)
			rc = -ENOSPC;
	}
	sqlite3_finalize(count);
	return finish(store, rc, false);
}

int ev_tags_remove(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t *keys)
{
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	size_t i;
	json_t *key;
	json_array_foreach(keys, i, key)
	{
		sqlite3_stmt *st = prepare(store, "DELETE FROM event_tags WHERE kind = ? AND "
		                                  "resource_id = ? AND key = ?");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, kind);
			sqlite3_bind_int64(st, 2, id);
			bind_text(st, 3, json_string_value(key));
		}
		rc = step_done(st);
		if (rc != 0)
			break;
	}
	return finish(store, rc, false);
}

static json_t *tag_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s}", "Key", (const char *)sqlite3_column_text(st, 0), "Value",
	                 (const char *)sqlite3_column_text(st, 1));
}

int ev_tags_list(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT key, value FROM event_tags WHERE kind = ? AND "
	                                  "resource_id = ? ORDER BY key");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, kind);
		sqlite3_bind_int64(st, 2, id);
	}
	return collect(st, tag_row, out);
}

int ev_tag_get(struct ctl_store *store, enum ev_tagged kind, int64_t id, const char *key,
               char **value)
{
	sqlite3_stmt *st = prepare(store, "SELECT value FROM event_tags WHERE kind = ? AND "
	                                  "resource_id = ? AND key = ?");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, kind);
	sqlite3_bind_int64(st, 2, id);
	bind_text(st, 3, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return *value != NULL ? 0 : -ENOMEM;
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* ---- archives ---- */

int ev_archive_create(struct ctl_store *store, const struct ev_archive *a)
{
	assert(a != NULL && a->name != NULL);
	if (begin(store) != 0)
		return -EIO;
	sqlite3_stmt *st = prepare(store, "SELECT 1 FROM event_archives WHERE name = ?");
	if (st != NULL)
		bind_text(st, 1, a->name);
	int rc = st == NULL ? -EIO : sqlite3_step(st) == SQLITE_ROW ? -EEXIST : 0;
	sqlite3_finalize(st);
	int64_t count = rc == 0 ? query_count(store, "SELECT count(*) FROM event_archives", -1) : 0;
	if (rc == 0 && count < 0)
		rc = -EIO;
	else if (rc == 0 && count >= CTL_EVENTS_ARCHIVES_MAX)
		rc = -ENOSPC;
	if (rc == 0) {
		st = prepare(store, "INSERT INTO event_archives (name, bus_id, description, "
		                    "pattern, retention_days, created_s) VALUES (?,?,?,?,?,?)");
		if (st != NULL) {
			bind_text(st, 1, a->name);
			sqlite3_bind_int64(st, 2, a->bus_id);
			bind_text(st, 3, a->description);
			bind_text(st, 4, a->pattern);
			sqlite3_bind_int64(st, 5, a->retention_days);
			sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
		}
		rc = step_done(st);
	}
	return finish(store, rc, true);
}

#define ARCHIVE_COLUMNS                                                                            \
	"a.name, b.name, a.description, a.pattern, a.retention_days, a.created_s "                 \
	"FROM event_archives a JOIN event_buses b ON b.id = a.bus_id"

/* {"ArchiveName", "EventBusName" (the API makes it EventSourceArn), "Description"?,
 * "EventPattern"?, "RetentionDays", "CreationTime"} */
static json_t *archive_row(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "ArchiveName", sqlite3_column_text(st, 0),
	                      "EventBusName", sqlite3_column_text(st, 1), "RetentionDays",
	                      (json_int_t)sqlite3_column_int64(st, 4), "CreationTime",
	                      (json_int_t)sqlite3_column_int64(st, 5));
	set_text(o, "Description", st, 2);
	set_text(o, "EventPattern", st, 3);
	return o;
}

int ev_archive_get(struct ctl_store *store, const char *name, json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " ARCHIVE_COLUMNS " WHERE a.name = ?");
	if (st == NULL)
		return -EIO;
	bind_text(st, 1, name);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? archive_row(st) : NULL;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

int ev_archive_update(struct ctl_store *store, const struct ev_archive *a)
{
	assert(a != NULL && a->name != NULL);
	if (begin(store) != 0)
		return -EIO;
	sqlite3_stmt *st = prepare(store, "UPDATE event_archives SET "
	                                  "description = coalesce(?2, description), "
	                                  "pattern = coalesce(?3, pattern), "
	                                  "retention_days = coalesce(?4, retention_days) "
	                                  "WHERE name = ?1");
	if (st != NULL) {
		bind_text(st, 1, a->name);
		bind_text(st, 2, a->description);
		bind_text(st, 3, a->pattern);
		if (a->retention_days >= 0)
			sqlite3_bind_int64(st, 4, a->retention_days);
	}
	int rc = step_done(st);
	if (rc == 0 && sqlite3_changes(ctl_store_db(store)) == 0)
		rc = -ENOENT;
	return finish(store, rc, true);
}

int ev_archive_delete(struct ctl_store *store, const char *name)
{
	if (begin(store) != 0)
		return -EIO;
	sqlite3_stmt *st = prepare(store, "DELETE FROM event_archives WHERE name = ?");
	if (st != NULL)
		bind_text(st, 1, name);
	int rc = step_done(st);
	if (rc == 0 && sqlite3_changes(ctl_store_db(store)) == 0)
		rc = -ENOENT;
	return finish(store, rc, true);
}

int ev_archive_list(struct ctl_store *store, const char *prefix, int64_t bus_id,
                    const char *after, size_t limit, json_t **out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " ARCHIVE_COLUMNS " WHERE "
	                                  "substr(a.name, 1, length(?1)) = ?1 AND a.name > ?2 "
	                                  "AND (?3 < 0 OR a.bus_id = ?3) "
	                                  "ORDER BY a.name LIMIT ?4");
	if (st != NULL) {
		bind_text(st, 1, prefix != NULL ? prefix : "");
		bind_text(st, 2, after != NULL ? after : "");
		sqlite3_bind_int64(st, 3, bus_id);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	}
	return collect(st, archive_row, out);
}

/* ---- snapshot entries ---- */

/* The column's text, malloc'd, as a snapshot text; absent (NULL) when the column is. */
static int take_text(sqlite3_stmt *st, int column, struct bb_text *out)
{
	const unsigned char *text = sqlite3_column_text(st, column);
	*out = (struct bb_text){0};
	if (text == NULL)
		return 0;
	size_t bytes = (size_t)sqlite3_column_bytes(st, column);
	char *copy = malloc(bytes + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, text, bytes + 1);
	*out = (struct bb_text){.data = copy, .bytes = (uint32_t)bytes};
	return 0;
}

static int bus_entry(sqlite3_stmt *st, struct bb_snapshot_entry *e)
{
	e->kind = BB_SNAPSHOT_KIND_BUS;
	e->bus.bus_id = (uint64_t)sqlite3_column_int64(st, 0);
	e->bus.flags = sqlite3_column_int64(st, 2) ? BB_SNAPSHOT_BUS_MEMORY : 0;
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		e->bus.flags |= BB_SNAPSHOT_BUS_ARCHIVED;
		e->bus.archive_days = (uint32_t)sqlite3_column_int64(st, 3);
	}
	return take_text(st, 1, &e->bus.name);
}

/* A bus's archive retention: the longest of its archives' (0, forever, is the longest);
 * NULL without an archive. */
#define BUSES_OF_SNAPSHOT                                                                          \
	"SELECT id, name, memory, (SELECT CASE WHEN min(retention_days) = 0 THEN 0 ELSE "          \
	"max(retention_days) END FROM event_archives a WHERE a.bus_id = event_buses.id "           \
	"HAVING count(*) > 0) FROM event_buses ORDER BY id"

static int rule_entry(sqlite3_stmt *st, struct bb_snapshot_entry *e)
{
	e->kind = BB_SNAPSHOT_KIND_RULE;
	e->rule.rule_id = (uint64_t)sqlite3_column_int64(st, 0);
	e->rule.bus_id = (uint64_t)sqlite3_column_int64(st, 1);
	e->rule.flags = sqlite3_column_int64(st, 3) ? BB_SNAPSHOT_RULE_ENABLED : 0;
	int rc = take_text(st, 2, &e->rule.name);
	if (rc == 0)
		rc = take_text(st, 4, &e->rule.pattern);
	if (rc == 0)
		rc = take_text(st, 5, &e->rule.schedule);
	return rc;
}

static int target_entry(sqlite3_stmt *st, struct bb_snapshot_entry *e)
{
	struct bb_snapshot_target *t = &e->target;
	e->kind = BB_SNAPSHOT_KIND_TARGET;
	t->rule_id = (uint64_t)sqlite3_column_int64(st, 0);
	t->kind = (uint32_t)sqlite3_column_int64(st, 2);
	t->input_kind = (uint32_t)sqlite3_column_int64(st, 4);
	t->retry_attempts_max = (uint32_t)sqlite3_column_int64(st, 8);
	t->event_age_s_max = (uint32_t)sqlite3_column_int64(st, 9);
	struct bb_text *texts[] = {&t->id,
	                           &t->resource,
	                           &t->input,
	                           &t->input_paths_map,
	                           &t->message_group_id,
	                           &t->dead_letter_queue};
	static const int columns[] = {1, 3, 5, 6, 7, 10};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(columns) / sizeof(columns[0]); i++)
		rc = take_text(st, columns[i], texts[i]);
	return rc;
}

/* Appends one entry per row of sql; -E2BIG when capacity runs out. */
static int add_entries(struct ctl_store *store, const char *sql,
                       int (*make)(sqlite3_stmt *, struct bb_snapshot_entry *),
                       struct bb_snapshot_entry *entries, uint32_t capacity, uint32_t *count)
{
	sqlite3_stmt *st = prepare(store, sql);
	if (st == NULL)
		return -EIO;
	int rc = 0, step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) { /* bounded by the tables */
		if (*count == capacity) {
			rc = -E2BIG;
			break;
		}
		memset(&entries[*count], 0, sizeof(entries[*count]));
		rc = make(st, &entries[*count]);
		(*count)++; /* counted even when it failed: its texts are freed with the rest */
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Targets whose queue, topic or bus exists (a dead-letter queue that does not is left
 * out): a target outlives what it names, as in EventBridge, but busbard refuses a
 * snapshot naming what it lacks, so such a target waits out of it until one of that name
 * exists again. The kinds are enum bb_target_kind's.
 */
#define TARGETS_OF_SNAPSHOT                                                                        \
	"SELECT rule_id, target_id, kind, resource, input_kind, input, input_paths_map, "          \
	"message_group_id, retry_attempts_max, event_age_s_max, "                                  \
	"CASE WHEN dead_letter_queue IN (SELECT name FROM queues) THEN dead_letter_queue END "     \
	"FROM event_targets WHERE kind = 4 "                                                       \
	"OR (kind = 1 AND resource IN (SELECT name FROM queues)) "                                 \
	"OR (kind = 2 AND resource IN (SELECT name FROM sns_topics)) "                             \
	"OR (kind = 3 AND resource IN (SELECT name FROM event_buses)) "                            \
	"ORDER BY rule_id, target_id"
_Static_assert(BB_TARGET_QUEUE == 1 && BB_TARGET_TOPIC == 2 && BB_TARGET_BUS == 3 &&
                   BB_TARGET_UDP == 4,
               "the kinds in TARGETS_OF_SNAPSHOT");

int ctl_events_snapshot_entries(struct ctl_store *store, struct bb_snapshot_entry *entries,
                                uint32_t capacity, uint32_t *count)
{
	assert(store != NULL && count != NULL);
	*count = 0;
	int rc = add_entries(store, BUSES_OF_SNAPSHOT, bus_entry, entries, capacity, count);
	if (rc == 0)
		rc = add_entries(store,
		                 "SELECT id, bus_id, name, enabled, pattern, schedule FROM "
		                 "event_rules ORDER BY id",
		                 rule_entry, entries, capacity, count);
	if (rc == 0)
		rc =
		    add_entries(store, TARGETS_OF_SNAPSHOT, target_entry, entries, capacity, count);
	if (rc != 0) {
		ctl_events_entries_clear(entries, *count);
		*count = 0;
	}
	return rc;
}

static void free_text(struct bb_text *text)
{
	free((void *)(uintptr_t)text->data); /* take_text's copy: the entry owns it */
	*text = (struct bb_text){0};
}

void ctl_events_entries_clear(struct bb_snapshot_entry *entries, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		struct bb_snapshot_entry *e = &entries[i];
		if (e->kind == BB_SNAPSHOT_KIND_BUS) {
			free_text(&e->bus.name);
		} else if (e->kind == BB_SNAPSHOT_KIND_RULE) {
			free_text(&e->rule.name);
			free_text(&e->rule.pattern);
			free_text(&e->rule.schedule);
		} else if (e->kind == BB_SNAPSHOT_KIND_TARGET) {
			struct bb_snapshot_target *t = &e->target;
			free_text(&t->id);
			free_text(&t->resource);
			free_text(&t->input);
			free_text(&t->input_paths_map);
			free_text(&t->message_group_id);
			free_text(&t->dead_letter_queue);
		}
	}
}

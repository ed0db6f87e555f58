/*
 * SNS in SQLite (see ctl_sns_store.h). Statements are prepared per call, as in
 * ctl_store.c: the control plane handles a few requests per second. A change
 * runs in one IMMEDIATE transaction that also checks its limits and bumps the
 * configuration version, so a snapshot never sees half of it.
 */
#include "ctl_sns_store.h"

#include "ctl_aws.h"
#include "ctl_sns.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS sns_topics ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  fifo INTEGER NOT NULL,"
    "  content_based_deduplication INTEGER NOT NULL,"
    "  durability_memory INTEGER NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  delivery_policy TEXT NOT NULL,"
    "  signature_version INTEGER NOT NULL,"
    "  created_s INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sns_subscriptions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  topic_id INTEGER NOT NULL,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  protocol TEXT NOT NULL,"
    "  endpoint TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  confirmed INTEGER NOT NULL,"
    "  token TEXT NOT NULL,"
    "  raw INTEGER NOT NULL,"
    "  scope_body INTEGER NOT NULL,"
    "  filter_policy TEXT,"
    "  redrive_policy TEXT NOT NULL,"
    "  dead_letter_queue TEXT NOT NULL,"
    "  delivery_policy TEXT NOT NULL,"
    "  UNIQUE (topic_id, protocol, endpoint));"
    "CREATE TABLE IF NOT EXISTS sns_topic_tags ("
    "  topic_id INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (topic_id, key));";

static sqlite3 *db_of(struct ctl_store *store)
{
	return ctl_store_db(store);
}

static int exec(struct ctl_store *store, const char *sql)
{
	return sqlite3_exec(db_of(store), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int ctl_sns_store_init(struct ctl_store *store)
{
	assert(store != NULL);
	return exec(store, schema);
}

static int begin(struct ctl_store *store)
{
	return exec(store, "BEGIN IMMEDIATE");
}

/* Ends a transaction begun here: commits with the version bumped, or rolls back. */
static int finish(struct ctl_store *store, int rc)
{
	if (rc == 0 && exec(store, "UPDATE config_version SET version = version + 1") != 0)
		rc = -EIO;
	if (rc == 0 && exec(store, "COMMIT") != 0)
		rc = -EIO;
	if (rc != 0)
		exec(store, "ROLLBACK");
	return rc;
}

static sqlite3_stmt *prepare(struct ctl_store *store, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db_of(store), sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* Steps a statement that changes rows and finalizes it: 0, -ENOENT (no row), -EIO. */
static int run(sqlite3_stmt *st, struct ctl_store *store)
{
	if (st == NULL)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	return sqlite3_changes(db_of(store)) > 0 ? 0 : -ENOENT;
}

/* One integer of a one-row query with up to one int64 argument, or -1. */
static int64_t count_of(struct ctl_store *store, const char *sql, int64_t argument)
{
	sqlite3_stmt *st = prepare(store, sql);
	int64_t n = -1;
	if (st == NULL)
		return -1;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, argument);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void copy_text(char *out, size_t out_bytes, sqlite3_stmt *st, int column)
{
	const unsigned char *text = sqlite3_column_text(st, column);
	snprintf(out, out_bytes, "%s", text != NULL ? (const char *)text : "");
}

/* ---- topics ---- */

#define TOPIC_COLUMNS                                                                              \
	"id, name, fifo, content_based_deduplication, durability_memory, display_name, "          \
	"delivery_policy, signature_version, created_s"

static void read_topic(sqlite3_stmt *st, struct ctl_topic *t)
{
	t->id = sqlite3_column_int64(st, 0);
	copy_text(t->name, sizeof(t->name), st, 1);
	t->fifo = sqlite3_column_int64(st, 2) != 0;
	t->content_based_deduplication = sqlite3_column_int64(st, 3) != 0;
	t->memory = sqlite3_column_int64(st, 4) != 0;
	copy_text(t->display_name, sizeof(t->display_name), st, 5);
	copy_text(t->delivery_policy, sizeof(t->delivery_policy), st, 6);
	t->signature_version = (uint32_t)sqlite3_column_int64(st, 7);
	t->created_s = sqlite3_column_int64(st, 8);
}

int ctl_sns_get_topic(struct ctl_store *store, const char *name, struct ctl_topic *out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " TOPIC_COLUMNS " FROM sns_topics WHERE name = ?");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_topic(st, out);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

static int insert_tags(struct ctl_store *store, int64_t topic_id, const struct ctl_tag *tags,
                       uint32_t count)
{
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		sqlite3_stmt *st = prepare(store, "INSERT OR REPLACE INTO sns_topic_tags "
		                                  "(topic_id, key, value) VALUES (?,?,?)");
		if (st == NULL)
			return -EIO;
		sqlite3_bind_int64(st, 1, topic_id);
		sqlite3_bind_text(st, 2, tags[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tags[i].value, -1, SQLITE_STATIC);
		rc = run(st, store);
	}
	int64_t n = count_of(store, "SELECT count(*) FROM sns_topic_tags WHERE topic_id = ?",
	                     topic_id);
	if (rc == 0 && (n < 0 || n > CTL_SNS_TAGS_PER_TOPIC_MAX))
		rc = n < 0 ? -EIO : -ENOSPC;
	return rc;
}

static int insert_topic(struct ctl_store *store, struct ctl_topic *t)
{
	sqlite3_stmt *st = prepare(store, "INSERT INTO sns_topics (name, fifo, "
	                                  "content_based_deduplication, durability_memory, "
	                                  "display_name, delivery_policy, signature_version, "
	                                  "created_s) VALUES (?,?,?,?,?,?,?,?)");
	if (st == NULL)
		return -EIO;
	t->created_s = (int64_t)time(NULL);
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t->fifo);
	sqlite3_bind_int64(st, 3, t->content_based_deduplication);
	sqlite3_bind_int64(st, 4, t->memory);
	sqlite3_bind_text(st, 5, t->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t->delivery_policy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, t->signature_version);
	sqlite3_bind_int64(st, 8, t->created_s);
	int rc = run(st, store);
	if (rc == 0)
		t->id = sqlite3_last_insert_rowid(db_of(store));
	return rc == -ENOENT ? -EIO : rc;
}

int ctl_sns_create_topic(struct ctl_store *store, struct ctl_topic *t, const struct ctl_tag *tags,
                         uint32_t tag_count, struct ctl_topic *existing)
{
	assert(t != NULL && existing != NULL);
	assert(tag_count <= CTL_SNS_TAGS_PER_TOPIC_MAX);
	if (begin(store) != 0)
		return -EIO;
	int rc = ctl_sns_get_topic(store, t->name, existing);
	if (rc == 0) {
		exec(store, "ROLLBACK");
		return -EEXIST;
	}
	int64_t n = count_of(store, "SELECT count(*) FROM sns_topics", 0);
	rc = rc != -ENOENT || n < 0 ? -EIO : n >= BB_TOPIC_COUNT_MAX ? -ENOSPC : 0;
	if (rc == 0)
		rc = insert_topic(store, t);
	if (rc == 0)
		rc = insert_tags(store, t->id, tags, tag_count);
	return finish(store, rc);
}

int ctl_sns_delete_topic(struct ctl_store *store, const char *name)
{
	struct ctl_topic t;
	if (begin(store) != 0)
		return -EIO;
	int rc = ctl_sns_get_topic(store, name, &t);
	sqlite3_stmt *st;
	static const char *const deletes[] = {
	    "DELETE FROM sns_subscriptions WHERE topic_id = ?",
	    "DELETE FROM sns_topic_tags WHERE topic_id = ?",
	    "DELETE FROM sns_topics WHERE id = ?",
	};
	for (size_t i = 0; rc == 0 && i < sizeof(deletes) / sizeof(deletes[0]); i++) {
		st = prepare(store, deletes[i]);
		if (st != NULL)
			sqlite3_bind_int64(st, 1, t.id);
		rc = run(st, store);
		if (rc == -ENOENT && i + 1 < sizeof(deletes) / sizeof(deletes[0]))
			rc = 0; /* a topic without subscriptions or tags */
	}
	return finish(store, rc);
}

int ctl_sns_update_topic(struct ctl_store *store, const struct ctl_topic *t)
{
	assert(t != NULL && t->id > 0);
	if (begin(store) != 0)
		return -EIO;
	sqlite3_stmt *st = prepare(store, "UPDATE sns_topics SET content_based_deduplication = ?, "
	                                  "display_name = ?, delivery_policy = ?, "
	                                  "signature_version = ? WHERE id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, t->content_based_deduplication);
		sqlite3_bind_text(st, 2, t->display_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, t->delivery_policy, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, t->signature_version);
		sqlite3_bind_int64(st, 5, t->id);
	}
	return finish(store, run(st, store));
}

int ctl_sns_list_topics(struct ctl_store *store, const char *after, size_t limit,
                        struct ctl_topic **out, size_t *count)
{
	assert(limit > 0 && out != NULL);
	sqlite3_stmt *st = prepare(store, "SELECT " TOPIC_COLUMNS " FROM sns_topics WHERE name > ?"
	                                  " ORDER BY name LIMIT ?");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	*out = calloc(limit, sizeof(**out));
	*count = 0;
	int rc = SQLITE_DONE;
	while (*out != NULL && *count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_topic(st, &(*out)[(*count)++]);
	sqlite3_finalize(st);
	if (*out == NULL)
		return -ENOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(*out);
		return -EIO;
	}
	return 0;
}

int ctl_sns_topic_counts(struct ctl_store *store, int64_t topic_id, uint32_t *confirmed,
                         uint32_t *pending)
{
	assert(confirmed != NULL && pending != NULL);
	int64_t c = count_of(store,
	                     "SELECT count(*) FROM sns_subscriptions WHERE topic_id = ? AND confirmed",
	                     topic_id);
	int64_t p = count_of(store,
	                     "SELECT count(*) FROM sns_subscriptions WHERE topic_id = ? AND "
	                     "NOT confirmed",
	                     topic_id);
	if (c < 0 || p < 0)
		return -EIO;
	*confirmed = (uint32_t)c;
	*pending = (uint32_t)p;
	return 0;
}

/* ---- subscriptions ---- */

#define SUBSCRIPTION_COLUMNS                                                                       \
	"s.id, s.topic_id, t.name, s.uuid, s.protocol, s.endpoint, s.target, s.confirmed, "       \
	"s.token, s.raw, s.scope_body, s.redrive_policy, s.dead_letter_queue, s.delivery_policy"
#define SUBSCRIPTION_FROM " FROM sns_subscriptions s JOIN sns_topics t ON t.id = s.topic_id "

static void read_subscription(sqlite3_stmt *st, struct ctl_subscription *s)
{
	s->id = sqlite3_column_int64(st, 0);
	s->topic_id = sqlite3_column_int64(st, 1);
	copy_text(s->topic_name, sizeof(s->topic_name), st, 2);
	copy_text(s->uuid, sizeof(s->uuid), st, 3);
	copy_text(s->protocol, sizeof(s->protocol), st, 4);
	copy_text(s->endpoint, sizeof(s->endpoint), st, 5);
	copy_text(s->target, sizeof(s->target), st, 6);
	s->confirmed = sqlite3_column_int64(st, 7) != 0;
	copy_text(s->token, sizeof(s->token), st, 8);
	s->raw = sqlite3_column_int64(st, 9) != 0;
	s->scope_body = sqlite3_column_int64(st, 10) != 0;
	copy_text(s->redrive_policy, sizeof(s->redrive_policy), st, 11);
	copy_text(s->dead_letter_queue, sizeof(s->dead_letter_queue), st, 12);
	copy_text(s->delivery_policy, sizeof(s->delivery_policy), st, 13);
	s->filter_policy = NULL;
}

void ctl_subscription_clear(struct ctl_subscription *s)
{
	free(s->filter_policy);
	s->filter_policy = NULL;
}

/* One subscription with its filter policy: `where` names it by ?1 and ?3 (text) or ?2 (int);
 * binding a parameter the statement lacks is a no-op. */
static int get_subscription_where(struct ctl_store *store, const char *where, const char *text,
                                  int64_t number, const char *text3,
                                  struct ctl_subscription *out)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT " SUBSCRIPTION_COLUMNS ", s.filter_policy"
	         SUBSCRIPTION_FROM "WHERE %s", where);
	sqlite3_stmt *st = prepare(store, sql);
	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	sqlite3_bind_text(st, 3, text3, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_subscription(st, out);
		const unsigned char *policy = sqlite3_column_text(st, 14);
		out->filter_policy = policy != NULL ? strdup((const char *)policy) : NULL;
		if (policy != NULL && out->filter_policy == NULL)
			rc = SQLITE_NOMEM;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int ctl_sns_get_subscription(struct ctl_store *store, const char *uuid,
                             struct ctl_subscription *out)
{
	assert(uuid != NULL && out != NULL);
	return get_subscription_where(store, "s.uuid = ?1", uuid, 0, NULL, out);
}

/* The limits a subscription of topic_id is under, inside the caller's transaction. */
static int check_subscription_limits(struct ctl_store *store, int64_t topic_id,
                                     bool adds_subscription, bool adds_filter_policy)
{
	int64_t all = count_of(store, "SELECT count(*) FROM sns_subscriptions", 0);
	int64_t of_topic =
	    count_of(store, "SELECT count(*) FROM sns_subscriptions WHERE topic_id = ?", topic_id);
	int64_t policies = count_of(store,
	                            "SELECT count(*) FROM sns_subscriptions WHERE topic_id = ? "
	                            "AND filter_policy IS NOT NULL",
	                            topic_id);
	if (all < 0 || of_topic < 0 || policies < 0)
		return -EIO;
	if (adds_subscription &&
	    (all >= BB_SUBSCRIPTION_COUNT_MAX || of_topic >= CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX))
		return -ENOSPC;
	if (adds_filter_policy && policies >= CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX)
		return -EDQUOT;
	return 0;
}

static int insert_subscription(struct ctl_store *store, struct ctl_subscription *s)
{
	sqlite3_stmt *st = prepare(store, "INSERT INTO sns_subscriptions (topic_id, uuid, protocol, "
	                                  "endpoint, target, confirmed, token, raw, scope_body, "
	                                  "filter_policy, redrive_policy, dead_letter_queue, "
	                                  "delivery_policy) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, s->topic_id);
	sqlite3_bind_text(st, 2, s->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->protocol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, s->confirmed);
	sqlite3_bind_text(st, 7, s->token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, s->raw);
	sqlite3_bind_int64(st, 9, s->scope_body);
	sqlite3_bind_text(st, 10, s->filter_policy, -1, SQLITE_STATIC); /* NULL binds NULL */
	sqlite3_bind_text(st, 11, s->redrive_policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, s->dead_letter_queue, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, s->delivery_policy, -1, SQLITE_STATIC);
	int rc = run(st, store);
	if (rc == 0)
		s->id = sqlite3_last_insert_rowid(db_of(store));
	return rc == -ENOENT ? -EIO : rc;
}

int ctl_sns_create_subscription(struct ctl_store *store, struct ctl_subscription *s,
                                struct ctl_subscription *existing)
{
	assert(s != NULL && existing != NULL);
	if (begin(store) != 0)
		return -EIO;
	int rc = get_subscription_where(store,
	                                "s.topic_id = ?2 AND s.protocol = ?1 AND s.endpoint = ?3",
	                                s->protocol, s->topic_id, s->endpoint, existing);
	if (rc == 0) {
		exec(store, "ROLLBACK");
		return -EEXIST;
	}
	rc = rc == -ENOENT ? 0 : rc;
	if (rc == 0 && count_of(store, "SELECT count(*) FROM sns_topics WHERE id = ?",
	                        s->topic_id) != 1)
		rc = -ENOENT;
	if (rc == 0)
		rc = check_subscription_limits(store, s->topic_id, true, s->filter_policy != NULL);
	if (rc == 0)
		rc = insert_subscription(store, s);
	return finish(store, rc);
}

int ctl_sns_delete_subscription(struct ctl_store *store, const char *uuid)
{
	assert(uuid != NULL);
	if (begin(store) != 0)
		return -EIO;
	sqlite3_stmt *st = prepare(store, "DELETE FROM sns_subscriptions WHERE uuid = ?");
	if (st != NULL)
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	return finish(store, run(st, store));
}

int ctl_sns_update_subscription(struct ctl_store *store, const struct ctl_subscription *s)
{
	assert(s != NULL && s->id > 0);
	if (begin(store) != 0)
		return -EIO;
	int64_t had = count_of(store,
	                       "SELECT count(*) FROM sns_subscriptions WHERE id = ? AND "
	                       "filter_policy IS NOT NULL",
	                       s->id);
	int rc = had < 0 ? -EIO : 0;
	if (rc == 0 && had == 0 && s->filter_policy != NULL)
		rc = check_subscription_limits(store, s->topic_id, false, true);
	sqlite3_stmt *st = rc == 0 ? prepare(store, "UPDATE sns_subscriptions SET raw = ?, "
	                                            "scope_body = ?, filter_policy = ?, "
	                                            "redrive_policy = ?, dead_letter_queue = ?, "
	                                            "delivery_policy = ? WHERE id = ?")
	                           : NULL;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, s->raw);
		sqlite3_bind_int64(st, 2, s->scope_body);
		sqlite3_bind_text(st, 3, s->filter_policy, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->redrive_policy, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, s->dead_letter_queue, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, s->delivery_policy, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, s->id);
	}
	if (rc == 0)
		rc = run(st, store);
	return finish(store, rc);
}

int ctl_sns_confirm(struct ctl_store *store, int64_t topic_id, const char *token,
                    struct ctl_subscription *out)
{
	assert(token != NULL && out != NULL);
	if (begin(store) != 0)
		return -EIO;
	int rc = get_subscription_where(store, "s.topic_id = ?2 AND s.token = ?1 AND s.token != ''",
	                                token, topic_id, NULL, out);
	if (rc == 0 && out->confirmed) { /* confirmed before: nothing changes */
		exec(store, "ROLLBACK");
		return 0;
	}
	sqlite3_stmt *st =
	    rc == 0 ? prepare(store, "UPDATE sns_subscriptions SET confirmed = 1 WHERE id = ?")
	            : NULL;
	if (st != NULL)
		sqlite3_bind_int64(st, 1, out->id);
	if (rc == 0)
		rc = run(st, store);
	if (rc == 0)
		out->confirmed = true;
	else
		ctl_subscription_clear(out);
	return finish(store, rc);
}

int ctl_sns_list_subscriptions(struct ctl_store *store, int64_t topic_id, int64_t after_id,
                               size_t limit, struct ctl_subscription **out, size_t *count)
{
	assert(limit > 0 && out != NULL && count != NULL);
	sqlite3_stmt *st = prepare(store, "SELECT " SUBSCRIPTION_COLUMNS SUBSCRIPTION_FROM
	                                  "WHERE (?1 = 0 OR s.topic_id = ?1) AND s.id > ?2 "
	                                  "ORDER BY s.id LIMIT ?3");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, topic_id);
	sqlite3_bind_int64(st, 2, after_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	*out = calloc(limit, sizeof(**out));
	*count = 0;
	int rc = SQLITE_DONE;
	while (*out != NULL && *count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_subscription(st, &(*out)[(*count)++]);
	sqlite3_finalize(st);
	if (*out == NULL)
		return -ENOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(*out);
		return -EIO;
	}
	return 0;
}

/* ---- tags ---- */

int ctl_sns_list_tags(struct ctl_store *store, int64_t topic_id, struct ctl_tag **out,
                      size_t *count)
{
	assert(out != NULL && count != NULL);
	sqlite3_stmt *st =
	    prepare(store, "SELECT key, value FROM sns_topic_tags WHERE topic_id = ? ORDER BY key");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, topic_id);
	*out = calloc(CTL_SNS_TAGS_PER_TOPIC_MAX, sizeof(**out));
	*count = 0;
	int rc = SQLITE_DONE;
	while (*out != NULL && *count < CTL_SNS_TAGS_PER_TOPIC_MAX &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_text((*out)[*count].key, sizeof((*out)[*count].key), st, 0);
		copy_text((*out)[*count].value, sizeof((*out)[*count].value), st, 1);
		(*count)++;
	}
	sqlite3_finalize(st);
	if (*out == NULL)
		return -ENOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(*out);
		return -EIO;
	}
	return 0;
}

int ctl_sns_tag(struct ctl_store *store, int64_t topic_id, const struct ctl_tag *tags,
                uint32_t count)
{
	assert(tags != NULL || count == 0);
	if (begin(store) != 0)
		return -EIO;
	return finish(store, insert_tags(store, topic_id, tags, count));
}

int ctl_sns_untag(struct ctl_store *store, int64_t topic_id, const char *const *keys,
                  uint32_t count)
{
	assert(keys != NULL || count == 0);
	if (begin(store) != 0)
		return -EIO;
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		sqlite3_stmt *st =
		    prepare(store, "DELETE FROM sns_topic_tags WHERE topic_id = ? AND key = ?");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, topic_id);
			sqlite3_bind_text(st, 2, keys[i], -1, SQLITE_STATIC);
		}
		rc = run(st, store);
		rc = rc == -ENOENT ? 0 : rc;
	}
	return finish(store, rc);
}

/* ---- snapshot ---- */

/* A malloc'd copy of a column as snapshot text; data NULL for SQL NULL or "". */
static int column_text(sqlite3_stmt *st, int column, struct bb_text *out)
{
	const unsigned char *text = sqlite3_column_text(st, column);
	*out = (struct bb_text){0};
	if (text == NULL || text[0] == '\0')
		return 0;
	char *copy = strdup((const char *)text);
	if (copy == NULL)
		return -ENOMEM;
	*out = (struct bb_text){.data = copy, .bytes = (uint32_t)strlen(copy)};
	return 0;
}

static int topic_entries(struct ctl_store *store, struct bb_snapshot_entry *entries,
                         uint32_t capacity, uint32_t *count)
{
	sqlite3_stmt *st = prepare(store, "SELECT id, name, fifo, content_based_deduplication, "
	                                  "durability_memory, signature_version FROM sns_topics ORDER BY id");
	if (st == NULL)
		return -EIO;
	int rc = 0, step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count == capacity) {
			rc = -E2BIG;
			break;
		}
		struct bb_snapshot_entry *e = &entries[(*count)++];
		*e = (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC};
		e->topic.topic_id = (uint64_t)sqlite3_column_int64(st, 0);
		e->topic.flags = (sqlite3_column_int64(st, 2) ? BB_SNAPSHOT_TOPIC_FIFO : 0) |
		                 (sqlite3_column_int64(st, 3) ? BB_SNAPSHOT_TOPIC_CONTENT_DEDUP : 0) |
		                 (sqlite3_column_int64(st, 4) ? BB_SNAPSHOT_TOPIC_MEMORY : 0) |
		                 (sqlite3_column_int64(st, 5) == 1 ? BB_SNAPSHOT_TOPIC_SIGNATURE_V1 : 0);
		rc = column_text(st, 1, &e->topic.name);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

static uint32_t protocol_of(const char *protocol)
{
	if (strcmp(protocol, "sqs") == 0)
		return BB_SUBSCRIPTION_SQS;
	if (strcmp(protocol, "udp") == 0)
		return BB_SUBSCRIPTION_UDP;
	return strcmp(protocol, "http") == 0 ? BB_SUBSCRIPTION_HTTP : BB_SUBSCRIPTION_HTTPS;
}

/*
 * Every subscription with its ARN, for the envelope's UnsubscribeURL (ctl_sns.c's
 * subscription_arn writes the same). The region and account are busbar-control's, which
 * has no option for them yet: every context it makes takes CTL_AWS_*_DEFAULT.
 */
static int subscription_entries(struct ctl_store *store, struct bb_snapshot_entry *entries,
                                uint32_t capacity, uint32_t *count)
{
	sqlite3_stmt *st = prepare(store, "SELECT s.id, s.topic_id, s.protocol, s.raw, "
	                                  "s.scope_body, s.confirmed, s.target, s.filter_policy, "
	                                  "s.dead_letter_queue, 'arn:aws:sns:' || ?1 || ':' || ?2 "
	                                  "|| ':' || t.name || ':' || s.uuid "
	                                  "FROM sns_subscriptions s "
	                                  "LEFT JOIN sns_topics t ON t.id = s.topic_id "
	                                  "ORDER BY s.id");
	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, CTL_AWS_REGION_DEFAULT, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, CTL_AWS_ACCOUNT_ID_DEFAULT, -1, SQLITE_STATIC);
	int rc = 0, step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count == capacity) {
			rc = -E2BIG;
			break;
		}
		struct bb_snapshot_entry *e = &entries[(*count)++];
		*e = (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_SUBSCRIPTION};
		struct bb_snapshot_subscription *s = &e->subscription;
		s->subscription_id = (uint64_t)sqlite3_column_int64(st, 0);
		s->topic_id = (uint64_t)sqlite3_column_int64(st, 1);
		s->protocol = protocol_of((const char *)sqlite3_column_text(st, 2));
		s->flags = (sqlite3_column_int64(st, 3) ? BB_SNAPSHOT_SUBSCRIPTION_RAW : 0) |
		           (sqlite3_column_int64(st, 4) ? BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY : 0) |
		           (sqlite3_column_int64(st, 5) ? BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED : 0);
		rc = column_text(st, 6, &s->endpoint);
		if (rc == 0)
			rc = column_text(st, 7, &s->filter_policy);
		if (rc == 0)
			rc = column_text(st, 8, &s->dead_letter_queue);
		if (rc == 0) /* NULL (no ARN) for a subscription whose topic is gone */
			rc = column_text(st, 9, &s->arn);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

int ctl_sns_snapshot_entries(struct ctl_store *store, struct bb_snapshot_entry *entries,
                             uint32_t capacity, uint32_t *count)
{
	assert(store != NULL && count != NULL);
	assert(entries != NULL || capacity == 0);
	*count = 0;
	int rc = topic_entries(store, entries, capacity, count);
	if (rc == 0)
		rc = subscription_entries(store, entries, capacity, count);
	if (rc != 0) {
		ctl_sns_entries_clear(entries, *count);
		*count = 0;
	}
	return rc;
}

void ctl_sns_entries_clear(struct bb_snapshot_entry *entries, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		struct bb_snapshot_entry *e = &entries[i];
		assert(e->kind == BB_SNAPSHOT_KIND_TOPIC || e->kind == BB_SNAPSHOT_KIND_SUBSCRIPTION);
		if (e->kind == BB_SNAPSHOT_KIND_TOPIC) {
			free((char *)e->topic.name.data);
		} else {
			free((char *)e->subscription.endpoint.data);
			free((char *)e->subscription.filter_policy.data);
			free((char *)e->subscription.dead_letter_queue.data);
			free((char *)e->subscription.arn.data);
		}
		e->kind = 0;
	}
}

/*
 * SQLite store (see ctl_store.h). Statements are prepared per call: the
 * control plane handles a few requests per second, clarity wins.
 */
#include "ctl_store.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "bb_snapshot.h"
#include "ctl_events.h"
#include "ctl_keys.h"
#include "ctl_sns.h"

struct ctl_store {
	sqlite3 *db;
	char path[CTL_STORE_PATH_BYTES]; /* ctl_keys keeps its sealing key beside it */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS config_version (version INTEGER NOT NULL);"
    "INSERT INTO config_version SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM config_version);"
    /* The store's identity, made once with it: snapshots carry it beside the version. */
    "CREATE TABLE IF NOT EXISTS store_identity (id BLOB NOT NULL);"
    "INSERT INTO store_identity SELECT randomblob(16)"
    "  WHERE NOT EXISTS (SELECT 1 FROM store_identity);"
    "CREATE TABLE IF NOT EXISTS queues ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  visibility_timeout_s INTEGER NOT NULL,"
    "  receive_wait_time_s INTEGER NOT NULL,"
    "  maximum_message_bytes INTEGER NOT NULL,"
    "  created_s INTEGER NOT NULL,"
    "  modified_s INTEGER NOT NULL,"
    "  fifo INTEGER NOT NULL DEFAULT 0,"
    "  content_based_deduplication INTEGER NOT NULL DEFAULT 0,"
    "  durability_memory INTEGER NOT NULL DEFAULT 0);"
    /* Access keys (ctl_keys.h): the secret sealed, never reusing a key id. */
    "CREATE TABLE IF NOT EXISTS access_keys ("
    "  key_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  access_key_id TEXT NOT NULL UNIQUE,"
    "  sealed_secret BLOB NOT NULL,"
    "  created_s INTEGER NOT NULL,"
    "  expires_s INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  policy_json TEXT);";

/* A store made before FIFO queues gets their columns; its queues are standard. */
static int add_fifo_columns(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT fifo FROM queues LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	int rc = sqlite3_exec(db,
	                      "BEGIN;"
	                      "ALTER TABLE queues ADD COLUMN fifo INTEGER NOT NULL DEFAULT 0;"
	                      "ALTER TABLE queues ADD COLUMN content_based_deduplication "
	                      "  INTEGER NOT NULL DEFAULT 0;"
	                      "COMMIT;",
	                      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* A store made before busbar:Durability gets its column; its queues are durable. */
static int add_durability_column(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT durability_memory FROM queues LIMIT 0", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	int rc = sqlite3_exec(db,
	                      "ALTER TABLE queues ADD COLUMN durability_memory INTEGER NOT NULL "
	                      "DEFAULT 0;",
	                      NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* A store made before DelaySeconds and MessageRetentionPeriod gets their columns, with
 * AWS's defaults. */
static int add_timing_columns(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT delay_s FROM queues LIMIT 0", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "BEGIN;"
	         "ALTER TABLE queues ADD COLUMN delay_s INTEGER NOT NULL DEFAULT 0;"
	         "ALTER TABLE queues ADD COLUMN retention_s INTEGER NOT NULL DEFAULT %u;"
	         "COMMIT;",
	         WIRE_RETENTION_S_DEFAULT);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* A store made before DeduplicationScope and FifoThroughputLimit gets their columns: queue
 * and perQueue, AWS's defaults. */
static int add_high_throughput_columns(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT dedup_per_group FROM queues LIMIT 0", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	int rc = sqlite3_exec(db,
	                      "BEGIN;"
	                      "ALTER TABLE queues ADD COLUMN dedup_per_group INTEGER NOT NULL "
	                      "  DEFAULT 0;"
	                      "ALTER TABLE queues ADD COLUMN throughput_per_group INTEGER NOT NULL "
	                      "  DEFAULT 0;"
	                      "COMMIT;",
	                      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* A store made before RedrivePolicy and RedriveAllowPolicy gets their columns: none set. */
static int add_redrive_columns(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT max_receive_count FROM queues LIMIT 0", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	int rc = sqlite3_exec(db,
	                      "BEGIN;"
	                      "ALTER TABLE queues ADD COLUMN dead_letter_queue TEXT NOT NULL "
	                      "  DEFAULT '';"
	                      "ALTER TABLE queues ADD COLUMN max_receive_count INTEGER NOT NULL "
	                      "  DEFAULT 0;"
	                      "ALTER TABLE queues ADD COLUMN redrive_allow_policy TEXT NOT NULL "
	                      "  DEFAULT '';"
	                      "COMMIT;",
	                      NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -EIO;
}

struct ctl_store *ctl_store_open(const char *path, char *error, size_t error_bytes)
{
	struct ctl_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	char *message = NULL;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (strlen(path) >= sizeof(s->path) || sqlite3_open(path, &s->db) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &message) != SQLITE_OK ||
	    ctl_events_schema(s->db) != 0) {
		snprintf(error, error_bytes, "%s: %s", path,
		         message ? message : sqlite3_errmsg(s->db));
		sqlite3_free(message);
		ctl_store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 1000);
	if (add_timing_columns(s->db) != 0) {
		snprintf(error, error_bytes, "%s: %s", path, sqlite3_errmsg(s->db));
		ctl_store_close(s);
		return NULL;
	}
	if (add_fifo_columns(s->db) != 0 || add_durability_column(s->db) != 0 ||
	    add_redrive_columns(s->db) != 0 || add_high_throughput_columns(s->db) != 0 ||
	    ctl_sns_store_init(s) != 0) {
		snprintf(error, error_bytes, "%s: %s", path, sqlite3_errmsg(s->db));
		ctl_store_close(s);
		return NULL;
	}
	return s;
}

void ctl_store_close(struct ctl_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s);
}

sqlite3 *ctl_store_db(struct ctl_store *s)
{
	return s->db;
}

const char *ctl_store_path(const struct ctl_store *s)
{
	return s->path;
}

static int exec(struct ctl_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

uint64_t ctl_store_version(struct ctl_store *s)
{
	sqlite3_stmt *st;
	uint64_t version = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM config_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return version;
}

int ctl_store_identity(struct ctl_store *s, uint8_t *store_id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM store_identity", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int rc = -EIO;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == BB_SNAPSHOT_STORE_ID_BYTES) {
		memcpy(store_id, sqlite3_column_blob(st, 0), BB_SNAPSHOT_STORE_ID_BYTES);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int ctl_store_advance_version(struct ctl_store *s, uint64_t at_least)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "UPDATE config_version SET version = max(version, ?)", -1,
	                       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)at_least);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static void read_queue(sqlite3_stmt *st, struct ctl_queue *q)
{
	q->id = sqlite3_column_int64(st, 0);
	snprintf(q->name, sizeof(q->name), "%s", (const char *)sqlite3_column_text(st, 1));
	q->visibility_timeout_s = (uint32_t)sqlite3_column_int64(st, 2);
	q->receive_wait_time_s = (uint32_t)sqlite3_column_int64(st, 3);
	q->maximum_message_bytes = (uint32_t)sqlite3_column_int64(st, 4);
	q->created_s = sqlite3_column_int64(st, 5);
	q->modified_s = sqlite3_column_int64(st, 6);
	q->fifo = sqlite3_column_int64(st, 7) != 0;
	q->content_based_deduplication = sqlite3_column_int64(st, 8) != 0;
	q->memory = sqlite3_column_int64(st, 9) != 0;
	q->delay_s = (uint32_t)sqlite3_column_int64(st, 10);
	q->retention_s = (uint32_t)sqlite3_column_int64(st, 11);
	snprintf(q->dead_letter_queue, sizeof(q->dead_letter_queue), "%s",
	         (const char *)sqlite3_column_text(st, 12));
	q->max_receive_count = (uint32_t)sqlite3_column_int64(st, 13);
	snprintf(q->redrive_allow_policy, sizeof(q->redrive_allow_policy), "%s",
	         (const char *)sqlite3_column_text(st, 14));
	q->dedup_per_group = sqlite3_column_int64(st, 15) != 0;
	q->throughput_per_group = sqlite3_column_int64(st, 16) != 0;
}

#define QUEUE_COLUMNS                                                                              \
	"id, name, visibility_timeout_s, receive_wait_time_s, maximum_message_bytes, created_s, "  \
	"modified_s, fifo, content_based_deduplication, durability_memory, delay_s, retention_s, " \
	"dead_letter_queue, max_receive_count, redrive_allow_policy, dedup_per_group, "             \
	"throughput_per_group"

int ctl_store_get_queue(struct ctl_store *s, const char *name, struct ctl_queue *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT " QUEUE_COLUMNS " FROM queues WHERE name = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_queue(st, out);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

static int64_t queue_count(struct ctl_store *s)
{
	sqlite3_stmt *st;
	int64_t count = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM queues", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return count;
}

/*
 * Runs a one-statement change and bumps the version, atomically. A change that
 * adds a queue is refused with -ENOSPC once a snapshot could not name them all.
 */
static int change(struct ctl_store *s, sqlite3_stmt *st, bool adds_queue)
{
	if (exec(s, "BEGIN IMMEDIATE") != 0) {
		sqlite3_finalize(st);
		return -EIO;
	}
	int64_t count = adds_queue ? queue_count(s) : 0;
	if (count < 0 || count >= BB_QUEUE_COUNT_MAX) {
		sqlite3_finalize(st);
		exec(s, "ROLLBACK");
		return count < 0 ? -EIO : -ENOSPC;
	}
	int rc = sqlite3_step(st);
	int changed = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || changed == 0) {
		exec(s, "ROLLBACK");
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	if (exec(s, "UPDATE config_version SET version = version + 1") != 0 ||
	    exec(s, "COMMIT") != 0) {
		exec(s, "ROLLBACK");
		return -EIO;
	}
	return 0;
}

int ctl_store_create_queue(struct ctl_store *s, const struct ctl_queue *q,
                           struct ctl_queue *existing)
{
	if (ctl_store_get_queue(s, q->name, existing) == 0)
		return -EEXIST;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	        s->db,
	        "INSERT INTO queues (name, visibility_timeout_s, receive_wait_time_s, "
	        "maximum_message_bytes, created_s, modified_s, fifo, content_based_deduplication, "
	        "durability_memory, delay_s, retention_s, dead_letter_queue, max_receive_count, "
	        "redrive_allow_policy, dedup_per_group, throughput_per_group) "
	        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	        -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int64_t now = (int64_t)time(NULL);
	sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, q->visibility_timeout_s);
	sqlite3_bind_int64(st, 3, q->receive_wait_time_s);
	sqlite3_bind_int64(st, 4, q->maximum_message_bytes);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, q->fifo);
	sqlite3_bind_int64(st, 8, q->content_based_deduplication);
	sqlite3_bind_int64(st, 9, q->memory);
	sqlite3_bind_int64(st, 10, q->delay_s);
	sqlite3_bind_int64(st, 11, q->retention_s);
	sqlite3_bind_text(st, 12, q->dead_letter_queue, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, q->max_receive_count);
	sqlite3_bind_text(st, 14, q->redrive_allow_policy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, q->dedup_per_group);
	sqlite3_bind_int64(st, 16, q->throughput_per_group);
	return change(s, st, true);
}

int ctl_store_update_queue(struct ctl_store *s, const struct ctl_queue *q)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "UPDATE queues SET visibility_timeout_s = ?, receive_wait_time_s = ?, "
	                       "maximum_message_bytes = ?, content_based_deduplication = ?, "
	                       "delay_s = ?, retention_s = ?, modified_s = ?, dead_letter_queue = ?, "
	                       "max_receive_count = ?, redrive_allow_policy = ?, "
	                       "dedup_per_group = ?, throughput_per_group = ? WHERE id = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, q->visibility_timeout_s);
	sqlite3_bind_int64(st, 2, q->receive_wait_time_s);
	sqlite3_bind_int64(st, 3, q->maximum_message_bytes);
	sqlite3_bind_int64(st, 4, q->content_based_deduplication);
	sqlite3_bind_int64(st, 5, q->delay_s);
	sqlite3_bind_int64(st, 6, q->retention_s);
	sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
	sqlite3_bind_text(st, 8, q->dead_letter_queue, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, q->max_receive_count);
	sqlite3_bind_text(st, 10, q->redrive_allow_policy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, q->dedup_per_group);
	sqlite3_bind_int64(st, 12, q->throughput_per_group);
	sqlite3_bind_int64(st, 13, q->id);
	return change(s, st, false);
}

int ctl_store_delete_queue(struct ctl_store *s, const char *name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM queues WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return change(s, st, false);
}

/* Steps a prepared queue select into a malloc'd array of at most limit; finalizes it. */
static int read_queues(sqlite3_stmt *st, size_t limit, struct ctl_queue **out, size_t *count)
{
	*out = calloc(limit, sizeof(**out));
	*count = 0;
	int rc = SQLITE_DONE;
	while (*out != NULL && *count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_queue(st, &(*out)[(*count)++]);
	sqlite3_finalize(st);
	if (*out == NULL)
		return -ENOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(*out);
		return -EIO;
	}
	return 0;
}

int ctl_store_list_queues(struct ctl_store *s, const char *prefix, const char *after,
                          size_t limit, struct ctl_queue **out, size_t *count)
{
	assert(limit > 0);
	sqlite3_stmt *st;
	/* substr rather than LIKE: '_' and '%' are legal in names and must not be wildcards. */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT " QUEUE_COLUMNS
	                       " FROM queues WHERE substr(name, 1, length(?1)) = ?1"
	                       " AND name > ?3 ORDER BY name LIMIT ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	sqlite3_bind_text(st, 3, after ? after : "", -1, SQLITE_STATIC);
	return read_queues(st, limit, out, count);
}

int ctl_store_list_dead_letter_sources(struct ctl_store *s, const char *dead_letter_queue,
                                       const char *after, size_t limit, struct ctl_queue **out,
                                       size_t *count)
{
	assert(limit > 0 && dead_letter_queue != NULL);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT " QUEUE_COLUMNS " FROM queues WHERE dead_letter_queue = ?1"
	                       " AND name > ?3 ORDER BY name LIMIT ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, dead_letter_queue, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	sqlite3_bind_text(st, 3, after ? after : "", -1, SQLITE_STATIC);
	return read_queues(st, limit, out, count);
}

static struct bb_snapshot_entry queue_entry(const struct ctl_queue *q)
{
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(q->name),
	              .queue_id = (uint64_t)q->id,
	              .visibility_timeout_s = q->visibility_timeout_s,
	              .receive_wait_time_s = q->receive_wait_time_s,
	              .maximum_message_bytes = q->maximum_message_bytes,
	              .flags = (q->fifo ? BB_SNAPSHOT_QUEUE_FIFO : 0) |
	                       (q->content_based_deduplication ? BB_SNAPSHOT_QUEUE_CONTENT_DEDUP
	                                                       : 0) |
	                       (q->memory ? BB_SNAPSHOT_QUEUE_MEMORY : 0) |
	                       (q->dedup_per_group ? BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP : 0) |
	                       (q->throughput_per_group ? BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP
	                                                : 0),
	              .delay_s = q->delay_s,
	              .retention_s = q->retention_s,
	              .dead_letter_queue_bytes = (uint32_t)strlen(q->dead_letter_queue),
	              .max_receive_count = q->max_receive_count},
	};
	memcpy(e.queue.name, q->name, sizeof(e.queue.name));
	memcpy(e.queue.dead_letter_queue, q->dead_letter_queue, sizeof(e.queue.dead_letter_queue));
	return e;
}

int ctl_store_snapshot(struct ctl_store *s, bool adopt, uint8_t **body, size_t *body_bytes,
                       uint64_t *version)
{
	struct ctl_queue *queues = NULL;
	size_t count = 0;
	uint32_t key_count = 0, sns_count = 0, events_count = 0;
	/* Keys follow the queues, then topics and subscriptions, then buses, rules and targets;
	 * the array has room for all. */
	struct bb_snapshot_entry *entries =
	    calloc(BB_QUEUE_COUNT_MAX + 1 + BB_KEY_COUNT_MAX + CTL_SNS_ENTRIES_MAX +
	               CTL_EVENTS_ENTRIES_MAX,
	           sizeof(*entries));
	if (entries == NULL)
		return -ENOMEM;
	exec(s, "BEGIN"); /* one read transaction: the version matches the queues */
	struct bb_snapshot_header header = {.version = ctl_store_version(s), .adopt = adopt};
	int rc = ctl_store_identity(s, header.store_id);
	/* One more than a snapshot may hold: a store beyond the limit gets no snapshot. */
	if (rc == 0)
		rc = ctl_store_list_queues(s, NULL, NULL, BB_QUEUE_COUNT_MAX + 1, &queues, &count);
	bool listed = rc == 0;
	if (listed)
		rc = ctl_keys_snapshot_entries(s, (int64_t)time(NULL), entries + count,
		                               BB_KEY_COUNT_MAX, &key_count);
	if (listed && rc == 0) {
		rc = ctl_sns_snapshot_entries(s, entries + count + key_count, CTL_SNS_ENTRIES_MAX,
		                              &sns_count);
		if (rc != 0)
			ctl_keys_entries_clear(entries + count, key_count); /* the secrets */
	}
	struct bb_snapshot_entry *events = entries + count + key_count + sns_count;
	if (listed && rc == 0) {
		rc = ctl_events_snapshot_entries(s, events, CTL_EVENTS_ENTRIES_MAX, &events_count);
		if (rc != 0) {
			ctl_keys_entries_clear(entries + count, key_count);
			ctl_sns_entries_clear(entries + count + key_count, sns_count);
		}
	}
	exec(s, "COMMIT");
	if (rc != 0) {
		if (listed)
			free(queues);
		free(entries);
		return rc;
	}
	*version = header.version;
	size_t capacity = bb_snapshot_bytes_max((uint32_t)count) +
	                  (size_t)key_count * BB_SNAPSHOT_KEY_BYTES_MAX;
	for (uint32_t i = 0; i < sns_count + events_count; i++)
		capacity += bb_snapshot_entry_bytes_max(&entries[count + key_count + i]);
	*body = malloc(capacity);
	rc = *body != NULL ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < count; i++)
		entries[i] = queue_entry(&queues[i]);
	if (rc == 0)
		rc = bb_snapshot_encode(&header, entries,
		                        (uint32_t)count + key_count + sns_count + events_count, *body,
		                        capacity, body_bytes);
	ctl_keys_entries_clear(entries + count, key_count); /* the secrets */
	ctl_sns_entries_clear(entries + count + key_count, sns_count);
	ctl_events_entries_clear(events, events_count);
	free(entries);
	free(queues);
	if (rc != 0)
		free(*body);
	return rc;
}

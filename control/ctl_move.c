/*
 * SQS message move tasks (see ctl_move.h). The store's move_tasks table is the truth: the
 * API handlers write it under the store lock, the runner reads the active tasks from it
 * each round and writes their progress back, so a restart loses nothing but the round under
 * way. Invariants: at most one active (RUNNING or CANCELLING) task per source queue; a
 * message leaves the dead-letter queue only after busbard acknowledged its copy in the
 * destination; the runner never holds the store lock while it waits for busbard.
 *
 * Without DestinationArn each message goes back to the queue that dead-lettered it: busbard
 * gives a moved message its DeadLetterQueueSourceArn (dataplane/dp_redrive.c), as SQS does
 * (docs/operations.md).
 */
#include "ctl_move.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "ctl_aws_data.h"

#define STATUS_BYTES_MAX 16u
#define ROUND_WAIT_MS    250u /* the runner looks at the store at least this often */

struct move_error {
	unsigned http_status;
	const char *type;
	const char *query_code;
};

/* SQS answers an unknown queue or task with a 404 (the resource, not the request, is
 * wrong); the other refusals are SQS's usual 400s. */
static const struct move_error RESOURCE_NOT_FOUND = {
    404, "com.amazonaws.sqs#ResourceNotFoundException", "ResourceNotFoundException;Sender"};
static const struct move_error INVALID_PARAMETER = {400, "com.amazonaws.sqs#InvalidParameterValue",
                                                    "InvalidParameterValue;Sender"};
static const struct move_error MISSING_PARAMETER = {400, "com.amazonaws.sqs#MissingParameter",
                                                    "MissingParameter;Sender"};
static const struct move_error SERIALIZATION = {
    400, "com.amazon.coral.service#SerializationException", NULL};
static const struct move_error INTERNAL = {500, "com.amazonaws.sqs#InternalError",
                                           "InternalError;Receiver"};

enum move_status { MOVE_RUNNING, MOVE_COMPLETED, MOVE_CANCELLING, MOVE_CANCELLED, MOVE_FAILED };

static const char *const STATUS_NAMES[] = {"RUNNING", "COMPLETED", "CANCELLING", "CANCELLED",
                                           "FAILED"};

struct move_task {
	char handle[CTL_MOVE_HANDLE_BYTES_MAX + 1];
	char source[BB_QUEUE_NAME_BYTES_MAX + 1];
	char destination[BB_QUEUE_NAME_BYTES_MAX + 1]; /* DestinationArn's queue; "": none given */
	char target[BB_QUEUE_NAME_BYTES_MAX + 1];      /* where its messages go */
	uint32_t rate;                                 /* 0: none given */
	enum move_status status;
	int64_t moved;
	int64_t to_move; /* -1 until the runner counted the dead-letter queue */
	char failure[CTL_MOVE_REASON_BYTES_MAX + 1];
	int64_t started_ms;
};

static void fail(struct ctl_sqs_result *out, const struct move_error *e, const char *message)
{
	out->http_status = e->http_status;
	out->body = json_pack("{s:s, s:s}", "__type", e->type, "message", message);
	out->query_error = e->query_code;
}

static void copy_text(char *out, size_t out_bytes, const unsigned char *text)
{
	snprintf(out, out_bytes, "%s", text != NULL ? (const char *)text : "");
}

int64_t ctl_move_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum move_status status_of(const unsigned char *text)
{
	for (size_t i = 0; i < sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0]); i++) {
		if (text != NULL && strcmp((const char *)text, STATUS_NAMES[i]) == 0)
			return (enum move_status)i;
	}
	return MOVE_FAILED; /* a row edited by hand: not running */
}

/* ---- the table ---- */

#define TASK_COLUMNS                                                                         \
	"handle, source, destination, target, rate, status, moved, to_move, failure, started_ms"

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static void task_from_row(sqlite3_stmt *st, struct move_task *t)
{
	copy_text(t->handle, sizeof(t->handle), sqlite3_column_text(st, 0));
	copy_text(t->source, sizeof(t->source), sqlite3_column_text(st, 1));
	copy_text(t->destination, sizeof(t->destination), sqlite3_column_text(st, 2));
	copy_text(t->target, sizeof(t->target), sqlite3_column_text(st, 3));
	t->rate = (uint32_t)sqlite3_column_int64(st, 4);
	t->status = status_of(sqlite3_column_text(st, 5));
	t->moved = sqlite3_column_int64(st, 6);
	t->to_move = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
	copy_text(t->failure, sizeof(t->failure), sqlite3_column_text(st, 8));
	t->started_ms = sqlite3_column_int64(st, 9);
}

/* Up to max rows of a query whose only parameter (if any) is text; the count, or -EIO. */
static int select_tasks(sqlite3 *db, const char *sql, const char *text, int64_t limit,
                        struct move_task *out, size_t max)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (text != NULL)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (limit > 0)
		sqlite3_bind_int64(st, 2, limit);
	size_t count = 0;
	int rc = SQLITE_ROW;
	while (count < max && (rc = sqlite3_step(st)) == SQLITE_ROW) /* bounded by max */
		task_from_row(st, &out[count++]);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? (int)count : -EIO;
}

static int insert_task(sqlite3 *db, const struct move_task *t)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO move_tasks (" TASK_COLUMNS
	                       ") VALUES (?, ?, ?, ?, ?, 'RUNNING', 0, NULL, NULL, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, t->handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->source, -1, SQLITE_STATIC);
	if (t->destination[0] != '\0')
		sqlite3_bind_text(st, 3, t->destination, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->target, -1, SQLITE_STATIC);
	if (t->rate > 0)
		sqlite3_bind_int64(st, 5, t->rate);
	sqlite3_bind_int64(st, 6, t->started_ms);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* Forgets a queue's finished tasks beyond the newest CTL_MOVE_KEPT_PER_SOURCE. */
static int trim_tasks(sqlite3 *db, const char *source)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "DELETE FROM move_tasks WHERE source = ?1 AND status IN "
	                       "('COMPLETED', 'CANCELLED', 'FAILED') AND rowid NOT IN (SELECT rowid "
	                       "FROM move_tasks WHERE source = ?1 ORDER BY rowid DESC LIMIT ?2)",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, CTL_MOVE_KEPT_PER_SOURCE);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/*
 * A task's new status (and failure reason), only from one of the statuses in `from` (a
 * bit per enum move_status), so a cancel is never overwritten by the runner's end.
 */
static int set_status(sqlite3 *db, const char *handle, enum move_status status,
                      const char *failure, unsigned from)
{
	char sql[256];
	int n = snprintf(sql, sizeof(sql),
	                 "UPDATE move_tasks SET status = ?, failure = ? WHERE handle = ? AND "
	                 "status IN (''");
	for (size_t i = 0; i < sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0]); i++) {
		if (from & (1u << i))
			n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", '%s'", STATUS_NAMES[i]);
	}
	snprintf(sql + n, sizeof(sql) - (size_t)n, ")");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, STATUS_NAMES[status], -1, SQLITE_STATIC);
	if (failure != NULL)
		sqlite3_bind_text(st, 2, failure, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, handle, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* A task's counts: moved, and to_move when it is known (>= 0). */
static int set_counts(sqlite3 *db, const char *handle, int64_t moved, int64_t to_move)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "UPDATE move_tasks SET moved = ?, to_move = coalesce(?, to_move) "
	                       "WHERE handle = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, moved);
	if (to_move >= 0)
		sqlite3_bind_int64(st, 2, to_move);
	sqlite3_bind_text(st, 3, handle, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

int ctl_move_open(struct ctl_move *move, struct ctl_store *store,
                  const struct ctl_aws_config *config)
{
	assert(move != NULL && store != NULL && config != NULL);
	*move = (struct ctl_move){.store = store, .config = *config};
	sqlite3 *db = ctl_store_db(store);
	int rc = exec_sql(db, "CREATE TABLE IF NOT EXISTS move_tasks (handle TEXT PRIMARY KEY,"
	                      " source TEXT NOT NULL, destination TEXT, target TEXT NOT NULL,"
	                      " rate INTEGER, status TEXT NOT NULL, moved INTEGER NOT NULL,"
	                      " to_move INTEGER, failure TEXT, started_ms INTEGER NOT NULL);");
	/* Tasks are not resumed: the messages the last runner had received are invisible in
	 * their dead-letter queue for CTL_MOVE_VISIBILITY_S, so a resumed task could end
	 * "COMPLETED" with them left behind. Failed, it says so, and a new task moves them. */
	if (rc == 0)
		rc = exec_sql(db, "UPDATE move_tasks SET status = 'FAILED', failure = "
		                  "'busbar-control stopped' WHERE status = 'RUNNING';"
		                  "UPDATE move_tasks SET status = 'CANCELLED' "
		                  "WHERE status = 'CANCELLING';");
	return rc;
}

/* ---- the API ---- */

/*
 * The queue an ARN names, in *name; false with SQS's error when the ARN is not one or
 * names no queue of this store (parameter: "SourceArn" or "DestinationArn").
 */
static bool queue_of_arn(struct ctl_move *move, json_t *value, const char *parameter,
                         struct ctl_queue *queue, struct ctl_sqs_result *out)
{
	char message[CTL_AWS_ERROR_BYTES_MAX];
	const char *arn = json_string_value(value);
	size_t colons = 0;
	for (const char *p = arn; p != NULL && *p != '\0'; p++)
		colons += *p == ':';
	if (arn == NULL || strncmp(arn, "arn:", 4) != 0 || colons != 5) {
		snprintf(message, sizeof(message),
		         "You must use this format to specify the %s: "
		         "arn:<partition>:<service>:<region>:<account-id>:<resource-id>",
		         parameter);
		fail(out, &INVALID_PARAMETER, message);
		return false;
	}
	const char *name = ctl_sqs_queue_from_arn(arn);
	if (name == NULL || ctl_store_get_queue(move->store, name, queue) != 0) {
		snprintf(message, sizeof(message),
		         "The resource that you specified for the %s parameter doesn't exist.",
		         parameter);
		fail(out, &RESOURCE_NOT_FOUND, message);
		return false;
	}
	return true;
}

/* An optional integer parameter in [min, max]; absent leaves *value. */
static bool optional_integer(json_t *request, const char *name, uint32_t min, uint32_t max,
                             uint32_t *value, struct ctl_sqs_result *out)
{
	json_t *v = json_object_get(request, name);
	if (v == NULL)
		return true;
	json_int_t n = json_integer_value(v);
	if (!json_is_integer(v) || n < (json_int_t)min || n > (json_int_t)max) {
		char message[CTL_AWS_ERROR_BYTES_MAX];
		snprintf(message, sizeof(message),
		         "Value for parameter %s is invalid. Reason: You must enter a number that's "
		         "between %u and %u.",
		         name, min, max);
		fail(out, &INVALID_PARAMETER, message);
		return false;
	}
	*value = (uint32_t)n;
	return true;
}

/*
 * Where a task without DestinationArn sends its messages: each back to the queue its
 * DeadLetterQueueSourceArn names (message_target); this is the fallback for a message without
 * one (moved by a busbard before it kept them): the dead-letter queue's source queue when it
 * has one, else "" (such a message fails the task). None at all: it is no dead-letter queue
 * (SQS's refusal).
 */
static bool default_target(struct ctl_move *move, const char *dlq, char *target,
                           size_t target_bytes, struct ctl_sqs_result *out)
{
	struct ctl_queue *sources = NULL;
	size_t count = 0;
	if (ctl_store_list_dead_letter_sources(move->store, dlq, NULL, 2, &sources, &count) != 0) {
		fail(out, &INTERNAL, "cannot read the store");
		return false;
	}
	snprintf(target, target_bytes, "%s", count == 1 ? sources[0].name : "");
	free(sources);
	if (count == 0)
		fail(out, &INVALID_PARAMETER, "Source queue must be configured as a Dead Letter Queue.");
	return count > 0;
}

/* The destination of a StartMessageMoveTask: DestinationArn's queue, else the default. */
static bool task_target(struct ctl_move *move, json_t *request, const struct ctl_queue *source,
                        struct move_task *t, struct ctl_sqs_result *out)
{
	json_t *arn = json_object_get(request, "DestinationArn");
	if (arn == NULL)
		return default_target(move, source->name, t->target, sizeof(t->target), out);
	struct ctl_queue destination;
	if (!queue_of_arn(move, arn, "DestinationArn", &destination, out))
		return false;
	if (strcmp(destination.name, source->name) == 0) {
		fail(out, &INVALID_PARAMETER,
		     "Source queue arn and destination queue arn cannot be the same.");
		return false;
	}
	if (destination.fifo != source->fifo) {
		fail(out, &INVALID_PARAMETER,
		     "The source queue and destination queue must be of the same queue type.");
		return false;
	}
	snprintf(t->destination, sizeof(t->destination), "%s", destination.name);
	snprintf(t->target, sizeof(t->target), "%s", destination.name);
	return true;
}

/* RUNNING or CANCELLING tasks: of one source queue (source != NULL), or of all. */
static int count_active(sqlite3 *db, const char *source)
{
	struct move_task *tasks = calloc(CTL_MOVE_ACTIVE_MAX, sizeof(*tasks));
	int n = tasks == NULL ? -ENOMEM
	        : source != NULL
	            ? select_tasks(db,
	                           "SELECT " TASK_COLUMNS " FROM move_tasks WHERE source = ? AND "
	                           "status IN ('RUNNING', 'CANCELLING')",
	                           source, 0, tasks, CTL_MOVE_ACTIVE_MAX)
	            : select_tasks(db,
	                           "SELECT " TASK_COLUMNS " FROM move_tasks WHERE "
	                           "status IN ('RUNNING', 'CANCELLING')",
	                           NULL, 0, tasks, CTL_MOVE_ACTIVE_MAX);
	free(tasks);
	return n;
}

/* AWS's handle shape: base64 of {"taskId": ..., "sourceArn": ...}. */
static void make_handle(const char *source_arn, char *out, size_t out_bytes)
{
	char task_id[CTL_AWS_REQUEST_ID_BYTES + 1];
	ctl_aws_request_id(task_id); /* a random UUID */
	json_t *doc = json_pack("{s:s, s:s}", "taskId", task_id, "sourceArn", source_arn);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert(text != NULL && (strlen(text) + 2) / 3 * 4 < out_bytes);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)strlen(text));
	free(text);
}

static bool start_allowed(struct ctl_move *move, const char *source, struct ctl_sqs_result *out)
{
	sqlite3 *db = ctl_store_db(move->store);
	int mine = count_active(db, source);
	int all = count_active(db, NULL);
	if (mine < 0 || all < 0) {
		fail(out, &INTERNAL, "cannot read the store");
		return false;
	}
	if (mine > 0) {
		fail(out, &INVALID_PARAMETER,
		     "There is already a task running. Only one active task is allowed for a source "
		     "queue arn at a given time.");
		return false;
	}
	if (all >= (int)CTL_MOVE_ACTIVE_MAX) {
		fail(out, &INVALID_PARAMETER, "busbar runs at most 64 message move tasks at once.");
		return false;
	}
	return true;
}

static void start_task(struct ctl_move *move, json_t *request, int64_t now_ms,
                       struct ctl_sqs_result *out)
{
	struct move_task t = {.started_ms = now_ms};
	struct ctl_queue source;
	json_t *source_arn = json_object_get(request, "SourceArn");
	if (source_arn == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter SourceArn.");
		return;
	}
	if (!queue_of_arn(move, source_arn, "SourceArn", &source, out) ||
	    !optional_integer(request, "MaxNumberOfMessagesPerSecond", 1, CTL_MOVE_RATE_MAX,
	                      &t.rate, out) ||
	    !task_target(move, request, &source, &t, out) ||
	    !start_allowed(move, source.name, out))
		return;
	char arn[CTL_AWS_ERROR_BYTES_MAX];
	ctl_aws_queue_arn(&move->config, source.name, arn, sizeof(arn));
	make_handle(arn, t.handle, sizeof(t.handle));
	snprintf(t.source, sizeof(t.source), "%s", source.name);
	sqlite3 *db = ctl_store_db(move->store);
	if (insert_task(db, &t) != 0 || trim_tasks(db, t.source) != 0) {
		fail(out, &INTERNAL, "cannot write the store");
		return;
	}
	out->http_status = 200;
	out->body = json_pack("{s:s}", "TaskHandle", t.handle);
}

/* A task as ListMessageMoveTasks shows it: each optional member only when it has one. */
static json_t *task_json(const struct ctl_move *move, const struct move_task *t)
{
	char arn[CTL_AWS_ERROR_BYTES_MAX];
	ctl_aws_queue_arn(&move->config, t->source, arn, sizeof(arn));
	json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "Status", STATUS_NAMES[t->status],
	                      "SourceArn", arn, "ApproximateNumberOfMessagesMoved",
	                      (json_int_t)t->moved, "StartedTimestamp", (json_int_t)t->started_ms);
	if (t->status == MOVE_RUNNING) /* SQS shows the handle of a running task only */
		json_object_set_new(j, "TaskHandle", json_string(t->handle));
	if (t->destination[0] != '\0') {
		ctl_aws_queue_arn(&move->config, t->destination, arn, sizeof(arn));
		json_object_set_new(j, "DestinationArn", json_string(arn));
	}
	if (t->rate > 0)
		json_object_set_new(j, "MaxNumberOfMessagesPerSecond", json_integer(t->rate));
	if (t->to_move >= 0)
		json_object_set_new(j, "ApproximateNumberOfMessagesToMove", json_integer(t->to_move));
	if (t->status == MOVE_FAILED)
		json_object_set_new(j, "FailureReason", json_string(t->failure));
	return j;
}

static void list_tasks(struct ctl_move *move, json_t *request, int64_t now_ms,
                       struct ctl_sqs_result *out)
{
	(void)now_ms;
	struct ctl_queue source;
	uint32_t max = 1; /* SQS's default: the newest task */
	json_t *source_arn = json_object_get(request, "SourceArn");
	if (source_arn == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter SourceArn.");
		return;
	}
	if (!queue_of_arn(move, source_arn, "SourceArn", &source, out) ||
	    !optional_integer(request, "MaxResults", 1, CTL_MOVE_LIST_MAX, &max, out))
		return;
	struct move_task tasks[CTL_MOVE_LIST_MAX];
	int n = select_tasks(ctl_store_db(move->store),
	                     "SELECT " TASK_COLUMNS " FROM move_tasks WHERE source = ?1 "
	                     "ORDER BY rowid DESC LIMIT ?2",
	                     source.name, max, tasks, max);
	if (n < 0) {
		fail(out, &INTERNAL, "cannot read the store");
		return;
	}
	json_t *results = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(results, task_json(move, &tasks[i]));
	out->http_status = 200;
	out->body = json_pack("{s:o}", "Results", results);
}

/* A handle of AWS's shape (base64 of a JSON object with taskId and sourceArn). */
static bool handle_is_valid(const char *handle)
{
	size_t length = handle != NULL ? strlen(handle) : 0;
	if (length == 0 || length > CTL_MOVE_HANDLE_BYTES_MAX || length % 4 != 0)
		return false;
	unsigned char decoded[CTL_MOVE_HANDLE_BYTES_MAX];
	int n = EVP_DecodeBlock(decoded, (const unsigned char *)handle, (int)length);
	if (n <= 0)
		return false;
	while (n > 0 && decoded[n - 1] == '\0') /* the padding's zero bytes */
		n--;
	json_t *doc = json_loadb((const char *)decoded, (size_t)n, 0, NULL);
	bool ok = json_is_string(json_object_get(doc, "taskId")) &&
	          json_is_string(json_object_get(doc, "sourceArn"));
	json_decref(doc);
	return ok;
}

static void cancel_task(struct ctl_move *move, json_t *request, int64_t now_ms,
                        struct ctl_sqs_result *out)
{
	(void)now_ms;
	json_t *value = json_object_get(request, "TaskHandle");
	if (value == NULL) {
		fail(out, &MISSING_PARAMETER, "The request must contain the parameter TaskHandle.");
		return;
	}
	const char *handle = json_string_value(value);
	if (!handle_is_valid(handle)) {
		fail(out, &INVALID_PARAMETER, "Value for parameter TaskHandle is invalid.");
		return;
	}
	sqlite3 *db = ctl_store_db(move->store);
	struct move_task t;
	int n = select_tasks(db, "SELECT " TASK_COLUMNS " FROM move_tasks WHERE handle = ?", handle,
	                     0, &t, 1);
	if (n <= 0) {
		fail(out, n < 0 ? &INTERNAL : &RESOURCE_NOT_FOUND,
		     n < 0 ? "cannot read the store" : "Task does not exist.");
		return;
	}
	if (t.status != MOVE_RUNNING) {
		fail(out, &INVALID_PARAMETER, "Only a task with status RUNNING can be cancelled.");
		return;
	}
	if (set_status(db, handle, MOVE_CANCELLING, NULL, 1u << MOVE_RUNNING) != 0) {
		fail(out, &INTERNAL, "cannot write the store");
		return;
	}
	out->http_status = 200;
	out->body = json_pack("{s:I}", "ApproximateNumberOfMessagesMoved", (json_int_t)t.moved);
}

static const struct {
	const char *target;
	void (*handle)(struct ctl_move *, json_t *, int64_t, struct ctl_sqs_result *);
} OPERATIONS[] = {
    {"AmazonSQS.StartMessageMoveTask", start_task},
    {"AmazonSQS.ListMessageMoveTasks", list_tasks},
    {"AmazonSQS.CancelMessageMoveTask", cancel_task},
};

bool ctl_move_handles(const char *target)
{
	for (size_t i = 0; i < sizeof(OPERATIONS) / sizeof(OPERATIONS[0]); i++) {
		if (target != NULL && strcmp(target, OPERATIONS[i].target) == 0)
			return true;
	}
	return false;
}

static void wake_runner(struct ctl_move *move)
{
	if (!move->started)
		return;
	pthread_mutex_lock(&move->lock);
	pthread_cond_signal(&move->wake);
	pthread_mutex_unlock(&move->lock);
}

void ctl_move_handle(struct ctl_move *move, const char *target, const char *json,
                     size_t json_bytes, int64_t now_ms, struct ctl_sqs_result *out)
{
	assert(move != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	json_t *request = json_bytes <= CTL_REQUEST_BYTES_MAX
	                      ? json_loadb(json, json_bytes, JSON_REJECT_DUPLICATES, NULL)
	                      : NULL;
	if (!json_is_object(request)) {
		json_decref(request);
		fail(out, &SERIALIZATION, "the request body is not a JSON object");
		return;
	}
	for (size_t i = 0; i < sizeof(OPERATIONS) / sizeof(OPERATIONS[0]); i++) {
		if (strcmp(target, OPERATIONS[i].target) == 0)
			OPERATIONS[i].handle(move, request, now_ms, out);
	}
	json_decref(request);
	assert(out->body != NULL);
	if (out->http_status == 200)
		wake_runner(move);
}

/* ---- the runner ---- */

/* One call to busbard, waited for: the runner's only blocking step, without the lock. */
struct sync_call {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	bool counts; /* a GET_QUEUE_COUNTS, decoded as counts */
	struct ctl_aws_data_op op;
	int status;
	json_t *result;
	const struct ctl_aws_error *error;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	struct ctl_pool_call call;
};

static void on_call_done(void *context, int status, const struct wire_header *reply,
                         const uint8_t *body, size_t body_bytes)
{
	struct sync_call *s = context;
	pthread_mutex_lock(&s->lock);
	s->error = &CTL_AWS_SERVICE_UNAVAILABLE;
	s->status = status;
	if (status == 0 && s->counts)
		s->status = ctl_aws_counts_decode(reply, body, body_bytes, &s->result, &s->error,
		                                  s->message, sizeof(s->message));
	else if (status == 0)
		s->status = ctl_aws_data_decode(&s->op, reply, body, body_bytes, &s->result,
		                                &s->error, s->message, sizeof(s->message));
	s->done = true;
	pthread_cond_signal(&s->done_cond);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Calls busbard with an SQS data action (or "counts") in its JSON 1.0 shape; params are
 * taken. 0 with *result (the caller's), or -errno with the error's code in reason.
 */
static int busbard_call(struct ctl_move *move, const char *action, json_t *params,
                        json_t **result, char *reason, size_t reason_bytes)
{
	struct sync_call s = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                      .done_cond = PTHREAD_COND_INITIALIZER,
	                      .counts = strcmp(action, "counts") == 0};
	struct ctl_aws_request request = {
	    .protocol = CTL_AWS_JSON_10, .service = CTL_AWS_SQS, .kind = CTL_AWS_DATA, .params = params};
	snprintf(request.action, sizeof(request.action), "%s", action);
	uint8_t *frame = NULL;
	size_t frame_bytes = 0;
	int rc = s.counts ? ctl_aws_counts_encode(&request, &move->config, &frame, &frame_bytes,
	                                          &s.error, s.message, sizeof(s.message))
	                  : ctl_aws_data_encode(&request, &move->config, &frame, &frame_bytes,
	                                        &s.op, &s.error, s.message, sizeof(s.message));
	json_decref(params);
	if (rc == 0) {
		s.call = (struct ctl_pool_call){
		    .frame = frame, .frame_bytes = frame_bytes, .done = on_call_done, .context = &s};
		rc = ctl_pool_submit(move->pool, &s.call);
		s.error = &CTL_AWS_SERVICE_UNAVAILABLE;
	}
	pthread_mutex_lock(&s.lock);
	while (rc == 0 && !s.done) /* the pool answers every call once, by its deadline */
		pthread_cond_wait(&s.done_cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	if (rc == 0)
		rc = s.status;
	if (rc == 0)
		*result = s.result;
	else
		snprintf(reason, reason_bytes, "%s", s.error->code);
	return rc;
}

static json_t *queue_url(const struct ctl_move *move, const char *name)
{
	return json_sprintf("http://busbar/%s/%s", move->config.account_id, name);
}

static bool is_fifo_name(const char *name)
{
	size_t length = strlen(name);
	return length > 5 && strcmp(name + length - 5, ".fifo") == 0;
}

/* A received message's SendMessage to the task's target: body, attributes, trace header, and
 * to a FIFO queue its group and deduplication id (the message id when it has none). */
static json_t *send_params(const struct ctl_move *move, const char *target, json_t *message)
{
	json_t *params = json_pack("{s:o, s:O}", "QueueUrl", queue_url(move, target), "MessageBody",
	                           json_object_get(message, "Body"));
	json_t *attributes = json_object_get(message, "Attributes");
	json_t *user = json_object_get(message, "MessageAttributes");
	if (json_object_size(user) > 0)
		json_object_set(params, "MessageAttributes", user);
	json_t *trace = json_object_get(attributes, "AWSTraceHeader");
	if (trace != NULL)
		json_object_set_new(params, "MessageSystemAttributes",
		                    json_pack("{s:{s:s, s:O}}", "AWSTraceHeader", "DataType", "String",
		                              "StringValue", trace));
	if (is_fifo_name(target)) {
		json_t *dedup = json_object_get(attributes, "MessageDeduplicationId");
		json_object_set(params, "MessageGroupId", json_object_get(attributes, "MessageGroupId"));
		json_object_set(params, "MessageDeduplicationId",
		                dedup != NULL ? dedup : json_object_get(message, "MessageId"));
	}
	return params;
}

/* Where one message goes: DestinationArn's queue; else, as SQS, the queue its
 * DeadLetterQueueSourceArn names, or default_target's fallback. NULL: nowhere known. */
static const char *message_target(const struct move_task *t, json_t *message)
{
	if (t->destination[0] != '\0')
		return t->target;
	json_t *attributes = json_object_get(message, "Attributes");
	const char *arn = json_string_value(json_object_get(attributes, "DeadLetterQueueSourceArn"));
	const char *source = arn != NULL ? ctl_sqs_queue_from_arn(arn) : NULL;
	if (source != NULL)
		return source;
	return t->target[0] != '\0' ? t->target : NULL;
}

/* Moves one received message: its copy acknowledged by busbard, then deleted. */
static int move_message(struct ctl_move *move, const struct move_task *t, json_t *message,
                        char *reason, size_t reason_bytes)
{
	json_t *sent = NULL, *deleted = NULL;
	const char *target = message_target(t, message);
	if (target == NULL) {
		snprintf(reason, reason_bytes, "a message has no DeadLetterQueueSourceArn and the "
		                               "dead-letter queue several source queues");
		return -EINVAL;
	}
	int rc = busbard_call(move, "SendMessage", send_params(move, target, message), &sent,
	                      reason, reason_bytes);
	json_decref(sent);
	if (rc != 0)
		return rc;
	json_t *params = json_pack("{s:o, s:O}", "QueueUrl", queue_url(move, t->source),
	                           "ReceiptHandle", json_object_get(message, "ReceiptHandle"));
	rc = busbard_call(move, "DeleteMessage", params, &deleted, reason, reason_bytes);
	json_decref(deleted);
	return rc;
}

static void with_store(struct ctl_move *move, int (*write)(sqlite3 *, const struct move_task *,
                                                           const void *),
                       const struct move_task *t, const void *arg)
{
	pthread_mutex_lock(move->store_lock);
	int rc = write(ctl_store_db(move->store), t, arg);
	pthread_mutex_unlock(move->store_lock);
	if (rc != 0)
		fprintf(stderr, "busbar-control: move task %s: cannot write the store\n", t->source);
}

static int write_counts(sqlite3 *db, const struct move_task *t, const void *arg)
{
	(void)arg;
	return set_counts(db, t->handle, t->moved, t->to_move);
}

/* arg: the failure reason, or NULL for COMPLETED. */
static int write_end(sqlite3 *db, const struct move_task *t, const void *arg)
{
	int rc = set_counts(db, t->handle, t->moved, t->to_move);
	if (rc == 0)
		rc = set_status(db, t->handle, arg != NULL ? MOVE_FAILED : MOVE_COMPLETED, arg,
		                1u << MOVE_RUNNING);
	return rc;
}

static int write_cancelled(sqlite3 *db, const struct move_task *t, const void *arg)
{
	(void)arg;
	return set_status(db, t->handle, MOVE_CANCELLED, NULL, 1u << MOVE_CANCELLING);
}

/* SQS counts the messages to move when the task starts: the dead-letter queue's visible. */
static int count_to_move(struct ctl_move *move, struct move_task *t, char *reason,
                         size_t reason_bytes)
{
	json_t *counts = NULL;
	int rc = busbard_call(move, "counts", json_pack("{s:o}", "QueueUrl", queue_url(move, t->source)),
	                      &counts, reason, reason_bytes);
	const char *visible =
	    json_string_value(json_object_get(counts, "ApproximateNumberOfMessages"));
	if (rc == 0)
		t->to_move = visible != NULL ? strtoll(visible, NULL, 10) : 0;
	json_decref(counts);
	return rc;
}

/* Messages the task may move now: its rate allows one more each 1/rate s since it began. */
static int64_t allowed_now(const struct move_task *t, int64_t now_ms)
{
	int64_t rate = t->rate > 0 ? t->rate : CTL_MOVE_RATE_DEFAULT;
	int64_t allowed = 1 + (now_ms - t->started_ms) * rate / 1000 - t->moved;
	int64_t left = t->to_move - t->moved;
	allowed = allowed < left ? allowed : left;
	return allowed < (int64_t)CTL_MOVE_BATCH_MAX ? allowed : CTL_MOVE_BATCH_MAX;
}

/* When the task may move its next message (wall clock ms). */
static int64_t next_due_ms(const struct move_task *t)
{
	int64_t rate = t->rate > 0 ? t->rate : CTL_MOVE_RATE_DEFAULT;
	return t->started_ms + t->moved * 1000 / rate;
}

/* One batch: received, each moved, the counts written; the task's end when it has one. */
static void run_batch(struct ctl_move *move, struct move_task *t, int64_t batch)
{
	char reason[CTL_MOVE_REASON_BYTES_MAX] = "";
	json_t *received = NULL;
	json_t *params =
	    json_pack("{s:o, s:I, s:i, s:[s], s:[s]}", "QueueUrl", queue_url(move, t->source),
	              "MaxNumberOfMessages", (json_int_t)batch, "VisibilityTimeout",
	              (int)CTL_MOVE_VISIBILITY_S, "AttributeNames", "All", "MessageAttributeNames",
	              "All");
	int rc = busbard_call(move, "ReceiveMessage", params, &received, reason, sizeof(reason));
	json_t *messages = json_object_get(received, "Messages");
	size_t i;
	json_t *message;
	json_array_foreach(messages, i, message)
	{
		if (rc != 0)
			break;
		rc = move_message(move, t, message, reason, sizeof(reason));
		t->moved += rc == 0;
	}
	bool empty = rc == 0 && json_array_size(messages) == 0;
	json_decref(received);
	if (rc != 0)
		with_store(move, write_end, t, reason);
	else if (empty || t->moved >= t->to_move)
		with_store(move, write_end, t, NULL);
	else
		with_store(move, write_counts, t, NULL);
}

/* One round over a task; returns when it wants its next (wall clock ms). */
static int64_t run_task(struct ctl_move *move, struct move_task *t)
{
	char reason[CTL_MOVE_REASON_BYTES_MAX] = "";
	int64_t now = ctl_move_now_ms();
	if (t->status == MOVE_CANCELLING) {
		with_store(move, write_cancelled, t, NULL);
		return now;
	}
	if (t->to_move < 0) {
		if (count_to_move(move, t, reason, sizeof(reason)) != 0)
			with_store(move, write_end, t, reason);
		else if (t->to_move == 0)
			with_store(move, write_end, t, NULL);
		else
			with_store(move, write_counts, t, NULL);
		return now;
	}
	int64_t batch = allowed_now(t, now);
	if (batch <= 0)
		return next_due_ms(t);
	run_batch(move, t, batch);
	return next_due_ms(t);
}

static bool stopping(struct ctl_move *move)
{
	pthread_mutex_lock(&move->lock);
	bool stop = move->stop;
	pthread_mutex_unlock(&move->lock);
	return stop;
}

static void wait_until(struct ctl_move *move, int64_t due_ms)
{
	int64_t now = ctl_move_now_ms();
	int64_t wait_ms = due_ms - now;
	if (wait_ms <= 0)
		return;
	if (wait_ms > ROUND_WAIT_MS)
		wait_ms = ROUND_WAIT_MS;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	deadline.tv_sec += (time_t)(wait_ms / 1000) + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&move->lock);
	if (!move->stop)
		pthread_cond_timedwait(&move->wake, &move->lock, &deadline);
	pthread_mutex_unlock(&move->lock);
}

static void *run(void *arg)
{
	struct ctl_move *move = arg;
	struct move_task *tasks = calloc(CTL_MOVE_ACTIVE_MAX, sizeof(*tasks));
	assert(tasks != NULL);
	while (!stopping(move)) { /* until ctl_move_stop */
		pthread_mutex_lock(move->store_lock);
		int n = select_tasks(ctl_store_db(move->store),
		                     "SELECT " TASK_COLUMNS " FROM move_tasks WHERE status IN "
		                     "('RUNNING', 'CANCELLING') ORDER BY rowid",
		                     NULL, 0, tasks, CTL_MOVE_ACTIVE_MAX);
		pthread_mutex_unlock(move->store_lock);
		int64_t due = ctl_move_now_ms() + ROUND_WAIT_MS;
		for (int i = 0; i < n && !stopping(move); i++) {
			int64_t next = run_task(move, &tasks[i]);
			due = next < due ? next : due;
		}
		wait_until(move, due);
	}
	free(tasks);
	return NULL;
}

int ctl_move_start(struct ctl_move *move, struct ctl_pool *pool, pthread_mutex_t *store_lock)
{
	assert(move != NULL && move->store != NULL && pool != NULL && store_lock != NULL);
	move->pool = pool;
	move->store_lock = store_lock;
	move->stop = false;
	int rc = -pthread_mutex_init(&move->lock, NULL);
	if (rc == 0)
		rc = -pthread_cond_init(&move->wake, NULL);
	if (rc == 0)
		rc = -pthread_create(&move->thread, NULL, run, move);
	move->started = rc == 0;
	return rc;
}

void ctl_move_stop(struct ctl_move *move)
{
	if (!move->started)
		return;
	pthread_mutex_lock(&move->lock);
	move->stop = true;
	pthread_cond_signal(&move->wake);
	pthread_mutex_unlock(&move->lock);
	pthread_join(move->thread, NULL);
	move->started = false;
	pthread_cond_destroy(&move->wake);
	pthread_mutex_destroy(&move->lock);
}

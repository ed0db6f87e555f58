/*
 * The AWS API's HTTP side (see ctl_aws_server.h). A call's life: parsed,
 * authenticated, authorised, then answered at once, or its connection is
 * suspended while busbard works and resumed by the pool thread with the answer
 * ready in the call. Invariant: a suspended call is resumed exactly once (the
 * pool runs every callback once, cancelled calls included), so stopping the
 * server leaves no connection suspended.
 */
#include "ctl_aws_server.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctl_events.h"
#include "ctl_keys.h"
#include "ctl_keys_api.h"
#include "ctl_sigv4.h"

#define POLICY_ACTION_BYTES (CTL_AWS_ACTION_BYTES_MAX + 8u)
#define ARN_BYTES           256u

struct ctl_aws_call {
	struct ctl_aws_server *server;
	struct MHD_Connection *connection;
	struct ctl_aws_request request;
	struct ctl_aws_reply reply;
	bool ready;     /* reply holds the answer of a suspended call */
	bool scrape;    /* a /metrics call */
	bool suspended; /* counted in the server's suspended until answered or freed */
	bool counting;  /* GetQueueAttributes asking busbard for its counts first */
	json_t *counts; /* busbard's counts, once they came (ctl_aws_data.h) */
	struct ctl_aws_data_op op;
	struct ctl_pool_call pool_call;
	uint64_t start_us;
	void *owner; /* the HTTP request's state, for the manage handler */
};

/* The parts of an HTTP request SigV4 reads, pointing into libmicrohttpd's. */
struct gathered {
	struct ctl_sigv4_pair headers[CTL_SIGV4_HEADERS_MAX];
	size_t header_count;
	struct ctl_sigv4_pair query[CTL_AWS_FORM_PARAMS_MAX];
	size_t query_count;
	json_t *query_object;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum MHD_Result gather_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct gathered *g = cls;
	(void)kind;
	if (g->header_count < CTL_SIGV4_HEADERS_MAX)
		g->headers[g->header_count++] = (struct ctl_sigv4_pair){key, value ? value : ""};
	return MHD_YES;
}

static enum MHD_Result gather_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
	struct gathered *g = cls;
	(void)kind;
	if (g->query_count >= CTL_AWS_FORM_PARAMS_MAX)
		return MHD_NO;
	g->query[g->query_count++] = (struct ctl_sigv4_pair){key, value ? value : ""};
	if (json_object_get(g->query_object, key) == NULL)
		json_object_set_new(g->query_object, key, json_string(value ? value : ""));
	return MHD_YES;
}

struct MHD_Response *ctl_aws_reply_response(struct ctl_aws_reply *reply)
{
	assert(reply != NULL && (reply->body != NULL || reply->body_bytes == 0));
	struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback(
	    reply->body_bytes, reply->body, reply->secret ? ctl_aws_free_secret : free);
	if (response != NULL)
		reply->body = NULL; /* libmicrohttpd frees it, through the callback */
	return response;
}

static enum MHD_Result queue_reply(struct MHD_Connection *connection, struct ctl_aws_call *call)
{
	struct ctl_aws_reply *r = &call->reply;
	struct MHD_Response *response = ctl_aws_reply_response(r);
	if (response == NULL)
		return MHD_NO;
	MHD_add_response_header(response, "Content-Type", r->content_type);
	MHD_add_response_header(response, "x-amzn-RequestId", r->request_id);
	if (r->query_error[0] != '\0')
		MHD_add_response_header(response, "x-amzn-query-error", r->query_error);
	enum MHD_Result rc = MHD_queue_response(connection, r->http_status, response);
	MHD_destroy_response(response);
	ctl_metrics_record(&call->server->metrics, call->scrape ? "other" : call->request.action,
	                   r->http_status, now_us() - call->start_us);
	return rc;
}

static enum MHD_Result answer_error(struct MHD_Connection *connection, struct ctl_aws_call *call,
                                    const struct ctl_aws_error *error, const char *message)
{
	ctl_aws_render_error(call->request.protocol, call->request.service,
	                     call->request.request_id, error, message, &call->reply);
	return queue_reply(connection, call);
}

static const char *service_name(enum ctl_aws_service service)
{
	if (service == CTL_AWS_KEYS)
		return CTL_KEYS_SIGV4_SERVICE;
	return service == CTL_AWS_SNS ? "sns" : service == CTL_AWS_EVENTS ? "events" : "sqs";
}

/*
 * SigV4 and the key: 0 with *key filled (clear it), or -EACCES with the error.
 * A revoked or expired key is refused as an unknown one, as AWS does.
 */
static int authenticate(struct ctl_aws_server *s, const struct ctl_aws_call *call,
                        const struct ctl_sigv4_request *signed_request, struct ctl_key *key,
                        const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	struct ctl_sigv4_auth auth;
	int rc = ctl_sigv4_parse(signed_request, &auth, error, message, message_bytes);
	if (rc != 0)
		return -EACCES;
	int64_t now_s = (int64_t)time(NULL);
	pthread_mutex_lock(s->options.store_lock);
	rc = ctl_keys_find(s->options.store, auth.access_key_id, now_s, key);
	pthread_mutex_unlock(s->options.store_lock);
	if (rc != 0) {
		*error = &CTL_AWS_INVALID_CLIENT_TOKEN;
		snprintf(message, message_bytes,
		         "The security token included in the request is invalid.");
		return -EACCES;
	}
	struct ctl_sigv4_expect expect = {.region = s->config.region,
	                                  .service = service_name(call->request.service),
	                                  .now_s = now_s,
	                                  .skew_s = s->options.skew_s};
	rc = ctl_sigv4_verify(signed_request, &auth, key->secret, &expect, error, message,
	                      message_bytes);
	if (rc != 0) {
		ctl_key_clear(key);
		return -EACCES;
	}
	return 0;
}

/* key NULL: the request was not authenticated (--insecure-no-auth). */
static bool authorised(struct ctl_aws_server *s, const struct ctl_aws_call *call,
                       const struct ctl_key *key, char *message, size_t message_bytes)
{
	char action[POLICY_ACTION_BYTES];
	char arn[ARN_BYTES];
	if (call->request.service == CTL_AWS_KEYS)
		return ctl_keys_api_allowed(key, call->request.action, call->request.params,
		                            &s->config, message, message_bytes);
	snprintf(action, sizeof(action), "%s:%s", service_name(call->request.service),
	         ctl_aws_policy_action(&call->request));
	const char *queue = ctl_aws_request_queue(&call->request);
	ctl_aws_queue_arn(&s->config, queue, arn, sizeof(arn));
	if (call->request.service == CTL_AWS_SNS)
		ctl_aws_sns_arn(&s->config, &call->request, arn, sizeof(arn));
	if (call->request.service == CTL_AWS_EVENTS)
		ctl_events_resource_arn(s->config.region, s->config.account_id,
		                        call->request.action, call->request.params, arn,
		                        sizeof(arn));
	if (ctl_key_allows(key, action, arn))
		return true;
	snprintf(message, message_bytes,
	         "User: %s is not authorized to perform: %s on resource: %s", key->access_key_id,
	         action, arn);
	return false;
}

static void on_data_done(void *context, int status, const struct wire_header *reply,
                         const uint8_t *body, size_t body_bytes)
{
	struct ctl_aws_call *call = context;
	const struct ctl_aws_error *error = &CTL_AWS_SERVICE_UNAVAILABLE;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	json_t *result = NULL;
	snprintf(message, sizeof(message), "busbard did not answer (%s)", strerror(-status));
	if (status == 0 && ctl_aws_data_decode(&call->op, reply, body, body_bytes, &result, &error,
	                                       message, sizeof(message)) == 0) {
		ctl_aws_render_result(&call->request, result, &call->reply);
		json_decref(result);
	} else {
		ctl_aws_render_error(call->request.protocol, call->request.service,
		                     call->request.request_id, error, message, &call->reply);
	}
	call->ready = true;
	MHD_resume_connection(call->connection);
}

/* busbard's counts are in: the store answers the rest on resumption (ctl_aws_resume). */
static void on_counts_done(void *context, int status, const struct wire_header *reply,
                           const uint8_t *body, size_t body_bytes)
{
	struct ctl_aws_call *call = context;
	const struct ctl_aws_error *error = &CTL_AWS_SERVICE_UNAVAILABLE;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	snprintf(message, sizeof(message), "busbard did not answer (%s)", strerror(-status));
	if (status != 0 || ctl_aws_counts_decode(reply, body, body_bytes, &call->counts, &error,
	                                         message, sizeof(message)) != 0) {
		call->counting = false; /* resumed with the error as its answer */
		ctl_aws_render_error(call->request.protocol, call->request.service,
		                     call->request.request_id, error, message, &call->reply);
	}
	call->ready = true;
	MHD_resume_connection(call->connection);
}

/* Suspends the connection and hands the frame to the pool. */
static enum MHD_Result forward(struct ctl_aws_server *s, struct MHD_Connection *connection,
                               struct ctl_aws_call *call, uint8_t *frame, size_t frame_bytes,
                               ctl_pool_done *done)
{
	call->pool_call = (struct ctl_pool_call){
	    .frame = frame,
	    .frame_bytes = frame_bytes,
	    .wait_s = call->op.opcode == WIRE_OP_RECEIVE_MESSAGE ? call->op.wait_s : 0,
	    .done = done,
	    .context = call};
	call->suspended = true;
	atomic_fetch_add(&s->suspended, 1);
	MHD_suspend_connection(connection);
	int rc = ctl_pool_submit(&s->pool, &call->pool_call);
	if (rc != 0) /* the pool is stopping or full: answered here, resumed at once */
		done(call, rc, NULL, NULL, 0);
	return MHD_YES;
}

static enum MHD_Result dispatch(struct ctl_aws_server *s, struct MHD_Connection *connection,
                                struct ctl_aws_call *call)
{
	char message[CTL_AWS_ERROR_BYTES_MAX];
	const struct ctl_aws_error *error = NULL;
	uint8_t *frame;
	size_t frame_bytes;
	if (call->request.kind == CTL_AWS_MANAGE && call->counts == NULL &&
	    ctl_aws_counts_wanted(&call->request)) {
		if (ctl_aws_counts_encode(&call->request, &s->config, &frame, &frame_bytes, &error,
		                          message, sizeof(message)) != 0)
			return answer_error(connection, call, error, message);
		call->counting = true;
		call->op = (struct ctl_aws_data_op){.opcode = WIRE_OP_GET_QUEUE_COUNTS};
		return forward(s, connection, call, frame, frame_bytes, on_counts_done);
	}
	if (call->request.kind == CTL_AWS_MANAGE) {
		char target[CTL_AWS_ACTION_BYTES_MAX + 16];
		snprintf(target, sizeof(target), "%s.%s",
		         call->request.service == CTL_AWS_SNS ? "AmazonSNS" : "AmazonSQS",
		         call->request.action);
		if (call->request.service == CTL_AWS_EVENTS) /* ctl_events.c's targets */
			snprintf(target, sizeof(target), "AWSEvents.%s", call->request.action);
		if (call->request.service == CTL_AWS_KEYS) /* ctl_keys_api.c's */
			snprintf(target, sizeof(target), CTL_KEYS_TARGET_PREFIX "%s",
			         call->request.action);
		char *json = json_dumps(call->request.params, JSON_COMPACT);
		if (json == NULL)
			return answer_error(connection, call, &CTL_AWS_INTERNAL, "out of memory");
		enum MHD_Result rc = s->options.manage(s->options.context, call->owner, connection,
		                                       target, json, strlen(json), call);
		free(json);
		return rc;
	}
	if (ctl_aws_data_encode(&call->request, &s->config, &frame, &frame_bytes, &call->op, &error,
	                        message, sizeof(message)) != 0)
		return answer_error(connection, call, error, message);
	return forward(s, connection, call, frame, frame_bytes, on_data_done);
}

static const struct ctl_aws_error *unsupported_error(const struct ctl_aws_request *r)
{
	return r->protocol == CTL_AWS_QUERY ? &CTL_AWS_INVALID_ACTION : &CTL_AWS_UNKNOWN_OPERATION;
}

static bool has_pair(const struct ctl_sigv4_pair *pairs, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(pairs[i].name, name) == 0)
			return true;
	return false;
}

/*
 * An SNS ConfirmSubscription with no signature at all: its token is the proof, as on SNS
 * (a GET of a SubscriptionConfirmation's SubscribeURL confirms). A signed one is checked.
 */
static bool anonymous_confirmation(const struct ctl_aws_call *call,
                                   const struct ctl_sigv4_request *sr)
{
	return call->request.service == CTL_AWS_SNS &&
	       strcmp(call->request.action, "ConfirmSubscription") == 0 &&
	       !has_pair(sr->headers, sr->header_count, "Authorization") &&
	       !has_pair(sr->query, sr->query_count, "X-Amz-Signature");
}

/* Authentication, then what parsing found, then the key's permission. */
static enum MHD_Result decide(struct ctl_aws_server *s, struct MHD_Connection *connection,
                              struct ctl_aws_call *call, const struct ctl_sigv4_request *sr,
                              int parsed, const struct ctl_aws_error *parse_error,
                              const char *parse_message)
{
	char message[CTL_AWS_ERROR_BYTES_MAX];
	const struct ctl_aws_error *error = NULL;
	struct ctl_key key = {0};
	bool auth = !s->options.insecure_no_auth && !anonymous_confirmation(call, sr);
	if (auth && authenticate(s, call, sr, &key, &error, message, sizeof(message)) != 0)
		return answer_error(connection, call, error, message);
	bool allowed = true;
	bool keys = call->request.service == CTL_AWS_KEYS; /* decided even without auth */
	if (parsed == 0 && (auth || keys) && call->request.kind != CTL_AWS_UNSUPPORTED)
		allowed = authorised(s, call, auth ? &key : NULL, message, sizeof(message));
	if (auth)
		ctl_key_clear(&key);
	if (parsed != 0)
		return answer_error(connection, call, parse_error, parse_message);
	if (call->request.kind == CTL_AWS_UNSUPPORTED) {
		snprintf(message, sizeof(message),
		         "The action %s is not valid for this endpoint (busbar does not implement "
		         "it yet).",
		         call->request.action);
		return answer_error(connection, call, unsupported_error(&call->request), message);
	}
	if (!allowed)
		return answer_error(connection, call, &CTL_AWS_ACCESS_DENIED, message);
	return dispatch(s, connection, call);
}

static struct ctl_aws_call *call_new(struct ctl_aws_server *s, struct MHD_Connection *connection)
{
	struct ctl_aws_call *call = calloc(1, sizeof(*call));
	if (call == NULL)
		return NULL;
	call->server = s;
	call->connection = connection;
	call->start_us = now_us();
	ctl_aws_request_id(call->request.request_id);
	return call;
}

enum MHD_Result ctl_aws_serve(struct ctl_aws_server *s, struct MHD_Connection *connection,
                              const char *method, const char *url, const char *body,
                              size_t body_bytes, bool too_large, void *owner,
                              struct ctl_aws_call **out)
{
	assert(s != NULL && connection != NULL && out != NULL && *out == NULL);
	struct ctl_aws_call *call = call_new(s, connection);
	*out = call;
	if (call == NULL)
		return MHD_NO;
	call->owner = owner;
	const char *content_type =
	    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Type");
	const char *target =
	    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Amz-Target");
	struct gathered *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return MHD_NO;
	g->query_object = json_object();
	MHD_get_connection_values(connection, MHD_HEADER_KIND, gather_header, g);
	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, gather_argument, g);
	const struct ctl_aws_error *error = NULL;
	char message[CTL_AWS_ERROR_BYTES_MAX] = "";
	char request_id[CTL_AWS_REQUEST_ID_BYTES + 1];
	memcpy(request_id, call->request.request_id, sizeof(request_id));
	int parsed = ctl_aws_parse(
	    content_type, target, body, too_large ? CTL_AWS_BODY_BYTES_MAX + 1 : body_bytes,
	    g->query_object, &call->request, &error, message, sizeof(message));
	memcpy(call->request.request_id, request_id, sizeof(request_id));
	struct ctl_sigv4_request sr = {.method = method,
	                               .path = url,
	                               .query = g->query,
	                               .query_count = g->query_count,
	                               .headers = g->headers,
	                               .header_count = g->header_count,
	                               .payload = (const uint8_t *)body,
	                               .payload_bytes = too_large ? 0 : body_bytes};
	/* A body too large was not kept, so it cannot be authenticated: refused as AWS's front
	 * end does, before any signature is looked at. */
	enum MHD_Result rc = too_large ? answer_error(connection, call, error, message)
	                               : decide(s, connection, call, &sr, parsed, error, message);
	json_decref(g->query_object);
	free(g);
	return rc;
}

static void on_stats_done(void *context, int status, const struct wire_header *reply,
                          const uint8_t *body, size_t body_bytes)
{
	struct ctl_aws_call *call = context;
	bool answered = status == 0 && reply->status == WIRE_OK;
	size_t bytes = 0;
	char *text = ctl_metrics_render(&call->server->metrics, answered ? body : NULL,
	                                answered ? body_bytes : 0, &bytes);
	call->reply = (struct ctl_aws_reply){.http_status = text != NULL ? 200 : 500,
	                                     .body = text,
	                                     .body_bytes = text != NULL ? bytes : 0,
	                                     .content_type = "text/plain; version=0.0.4"};
	memcpy(call->reply.request_id, call->request.request_id, sizeof(call->reply.request_id));
	call->ready = true;
	MHD_resume_connection(call->connection);
}

enum MHD_Result ctl_aws_serve_metrics(struct ctl_aws_server *s, struct MHD_Connection *connection,
                                      struct ctl_aws_call **out)
{
	assert(s != NULL && out != NULL && *out == NULL);
	struct ctl_aws_call *call = call_new(s, connection);
	*out = call;
	uint8_t *frame = malloc(BB_WIRE_HEADER_BYTES);
	if (call == NULL || frame == NULL) {
		free(frame);
		return MHD_NO;
	}
	call->scrape = true;
	struct wire_header h = {.version = WIRE_VERSION, .opcode = WIRE_OP_GET_STATS};
	wire_header_encode(&h, frame);
	return forward(s, connection, call, frame, BB_WIRE_HEADER_BYTES, on_stats_done);
}

/* The call's connection is libmicrohttpd's again: answered, or ended without an answer. */
static void unsuspend(struct ctl_aws_call *call)
{
	if (!call->suspended)
		return;
	call->suspended = false;
	atomic_fetch_sub(&call->server->suspended, 1);
}

bool ctl_aws_call_ready(const struct ctl_aws_call *call)
{
	return call != NULL && call->ready;
}

enum MHD_Result ctl_aws_resume(struct MHD_Connection *connection, struct ctl_aws_call *call)
{
	assert(call != NULL && call->ready);
	call->ready = false;
	unsuspend(call);
	if (call->counting) { /* busbard's counts came: now the store's attributes */
		call->counting = false;
		return dispatch(call->server, connection, call);
	}
	return queue_reply(connection, call);
}

enum MHD_Result ctl_aws_answer_sqs(struct MHD_Connection *connection, struct ctl_aws_call *call,
                                   unsigned http_status, json_t *body, const char *query_error)
{
	assert(call != NULL && body != NULL);
	if (call->counts != NULL && http_status == 200)
		ctl_aws_counts_merge(&call->request, call->counts, body);
	ctl_aws_render_sqs_result(&call->request, http_status, body, query_error, &call->reply);
	return queue_reply(connection, call);
}

enum MHD_Result ctl_aws_answer_secret(struct MHD_Connection *connection,
                                      struct ctl_aws_call *call, char *text)
{
	assert(call != NULL && text != NULL);
	ctl_aws_render_secret(&call->request, text, &call->reply);
	return queue_reply(connection, call);
}

void ctl_aws_call_free(struct ctl_aws_call *call)
{
	if (call == NULL)
		return;
	unsuspend(call); /* a client gone while suspended is freed without an answer */
	ctl_aws_request_clear(&call->request);
	ctl_aws_reply_clear(&call->reply);
	json_decref(call->counts);
	free(call);
}

int ctl_aws_server_start(struct ctl_aws_server *s, const struct ctl_aws_server_options *o)
{
	assert(s != NULL && o != NULL && o->manage != NULL);
	*s = (struct ctl_aws_server){.options = *o,
	                             .config = {.account_id = o->account_id, .region = o->region}};
	return ctl_pool_start(&s->pool, o->busbard_socket);
}

unsigned ctl_aws_server_stop(struct ctl_aws_server *s)
{
	ctl_pool_stop(&s->pool);
	/* Every call is resumed now; libmicrohttpd answers them on its own thread. */
	struct timespec tick = {.tv_nsec = 10 * 1000000};
	for (uint32_t waited_ms = 0;
	     atomic_load(&s->suspended) > 0 && waited_ms < CTL_AWS_STOP_WAIT_MS; waited_ms += 10)
		nanosleep(&tick, NULL);
	return atomic_load(&s->suspended);
}

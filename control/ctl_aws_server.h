/*
 * The AWS API on busbar-control's libmicrohttpd server: each request is read
 * (ctl_aws.h), authenticated with SigV4 against the key store (ctl_sigv4.h,
 * ctl_keys.h), authorised by the key's policy, then answered: queue
 * management by the caller's handler (ctl_sqs.c under the store lock), data
 * calls by busbard through the connection pool (ctl_aws_pool.h) while the
 * HTTP connection is suspended, so no thread waits for busbard or a long poll.
 * Also /metrics, whose busbard counters come through the same pool.
 */
#ifndef BB_CTL_AWS_SERVER_H
#define BB_CTL_AWS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ctl_aws.h"
#include "ctl_aws_data.h"
#include "ctl_aws_pool.h"
#include "ctl_metrics.h"
#include "ctl_store.h"

struct ctl_aws_call;

/*
 * Queue management for an authorised request: target is "AmazonSQS.Action"
 * and json its JSON 1.0 body; owner is what ctl_aws_serve was given. The
 * handler answers with ctl_aws_answer_sqs, now or after suspending the
 * connection.
 */
typedef enum MHD_Result ctl_aws_manage(void *context, void *owner,
                                       struct MHD_Connection *connection, const char *target,
                                       const char *json, size_t json_bytes,
                                       struct ctl_aws_call *call);

struct ctl_aws_server_options {
	const char *account_id; /* 12 digits */
	const char *region;
	const char *busbard_socket;
	bool insecure_no_auth; /* a lab's choice, said loudly at start */
	int64_t skew_s;
	struct ctl_store *store;
	pthread_mutex_t *store_lock;
	ctl_aws_manage *manage;
	void *context;
};

/* libmicrohttpd's stop panics on a suspended connection: at most this long for the last
 * resumed ones to be answered. */
#define CTL_AWS_STOP_WAIT_MS 2000u

struct ctl_aws_server {
	struct ctl_aws_server_options options;
	struct ctl_aws_config config;
	struct ctl_pool pool;
	struct ctl_metrics metrics;
	atomic_uint suspended; /* connections suspended for busbard, until answered */
};

__attribute__((warn_unused_result)) int
ctl_aws_server_start(struct ctl_aws_server *server, const struct ctl_aws_server_options *options);
/*
 * Ends the pool: what is in flight is answered ServiceUnavailable and resumed,
 * and waits (at most CTL_AWS_STOP_WAIT_MS) until libmicrohttpd has sent those
 * answers, so MHD_stop_daemon finds no connection suspended.
 */
/* Returns how many are still suspended then (libmicrohttpd must not be stopped: exit). */
unsigned ctl_aws_server_stop(struct ctl_aws_server *server);

/*
 * An AWS request whose body is complete; *call is created (free it with
 * ctl_aws_call_free). owner goes to the manage handler.
 */
enum MHD_Result ctl_aws_serve(struct ctl_aws_server *server, struct MHD_Connection *connection,
                              const char *method, const char *url, const char *body,
                              size_t body_bytes, bool too_large, void *owner,
                              struct ctl_aws_call **call);
/* GET /metrics. */
enum MHD_Result ctl_aws_serve_metrics(struct ctl_aws_server *server,
                                      struct MHD_Connection *connection,
                                      struct ctl_aws_call **call);
/* True when a suspended call's answer is ready: queue it with ctl_aws_resume. */
bool ctl_aws_call_ready(const struct ctl_aws_call *call);
enum MHD_Result ctl_aws_resume(struct MHD_Connection *connection, struct ctl_aws_call *call);
/* ctl_sqs.c's answer to a managed call, in the call's protocol. */
enum MHD_Result ctl_aws_answer_sqs(struct MHD_Connection *connection, struct ctl_aws_call *call,
                                   unsigned http_status, json_t *body, const char *query_error);
/* A managed call's answer that holds a secret, as its handler's text (ctl_sqs.h): takes it. */
enum MHD_Result ctl_aws_answer_secret(struct MHD_Connection *connection,
                                      struct ctl_aws_call *call, char *text);
/*
 * libmicrohttpd's response of a reply, its body handed over: freed by libmicrohttpd
 * through ctl_aws_free_secret when reply->secret (zeroed first), else free. NULL when out
 * of memory (the reply keeps its body).
 */
struct MHD_Response *ctl_aws_reply_response(struct ctl_aws_reply *reply);
void ctl_aws_call_free(struct ctl_aws_call *call);

#endif

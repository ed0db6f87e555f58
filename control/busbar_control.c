/*
 * busbar-control: the control plane. Owns the desired configuration in
 * SQLite, serves the SQS JSON 1.0 queue-management API and a health endpoint
 * over HTTP (libmicrohttpd) on a loopback address, and pushes every new
 * configuration version to busbard as a numbered snapshot of this store over
 * busbard's Unix socket (ctl_push.h).
 *
 * Threads: libmicrohttpd's polling thread serves HTTP and only touches
 * SQLite; the push thread talks to busbard; the main thread waits for a
 * signal and answers held changes whose wait is over. `store_lock` serialises
 * the store; `waiters_lock` guards the held answers (taken before the push
 * thread's own lock, never after).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bb_snapshot.h"
#include "ctl_aws_server.h"
#include "ctl_events.h"
#include "ctl_sigv4.h"
#include "ctl_http.h"
#include "ctl_keys_api.h"
#include "ctl_move.h"
#include "ctl_push.h"
#include "ctl_sns.h"
#include "ctl_sns_sender.h"
#include "ctl_sqs.h"
#include "ctl_store.h"

#define MAIN_POLL_MS 100

struct upload;

struct control {
	pthread_mutex_t store_lock;
	pthread_mutex_t waiters_lock;
	struct upload *waiters; /* changes whose answer waits for busbard (suspended) */
	bool stopping;          /* hold no more answers */
	struct ctl_store *store;
	struct ctl_sqs_context sqs;
	struct ctl_events_context events;
	struct ctl_sns_context sns;
	struct ctl_push push;
	struct ctl_aws_server aws; /* the AWS API: SigV4, data calls to busbard, /metrics */
	struct ctl_move move;      /* SQS message move tasks, run on aws's pool (ctl_move.h) */
	const char *signing_cert_path; /* busbard's SNS signing certificate (ctl_http.h) */
	struct ctl_sns_sender *sns_sender; /* SubscriptionConfirmation POSTs (ctl_sns_sender.h) */
	char store_id[BB_SNAPSHOT_STORE_ID_TEXT_BYTES];
	char base_url[128];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
	(void)signal_number;
	stop_requested = 1;
}

/* ---- HTTP ---- */

struct upload {
	char *data;
	size_t length;
	bool too_large;
	/* A change's answer, held while its connection is suspended (hold_answer). */
	bool held;
	struct ctl_sqs_result result;
	uint64_t wait_version;
	uint64_t deadline_ms;
	struct MHD_Connection *connection;
	struct upload *next_waiter;
	struct ctl_aws_call *aws; /* the AWS API's call, answered in its protocol */
};

static enum MHD_Result respond_json(struct MHD_Connection *connection, unsigned status,
                                    json_t *body, const char *query_error)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *response =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(response, "Content-Type", "application/x-amz-json-1.0");
	if (query_error != NULL)
		MHD_add_response_header(response, "x-amzn-query-error", query_error);
	enum MHD_Result rc = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return rc;
}

/*
 * The certificate of busbard's SNS signing key, for subscribers checking an envelope's
 * Signature (SigningCertURL), read at each request: busbard may make it after we start.
 */
static enum MHD_Result serve_signing_cert(struct control *ctl,
                                          struct MHD_Connection *connection)
{
	char *pem = malloc(CTL_SIGNING_CERT_BYTES_MAX);
	size_t length = 0;
	int rc = pem != NULL ? ctl_http_read_signing_cert(ctl->signing_cert_path, pem,
	                                                  CTL_SIGNING_CERT_BYTES_MAX, &length)
	                     : -ENOMEM;
	if (rc != 0) {
		free(pem);
		fprintf(stderr, "busbar-control: %s: %s\n", ctl->signing_cert_path,
		        rc == -EUCLEAN ? "not one PEM certificate" : strerror(-rc));
		json_t *body = json_pack("{s:s, s:s}", "__type", "ServiceUnavailable", "message",
		                         rc == -ENOENT ? "busbard has not made its SNS signing "
		                                         "certificate yet"
		                                       : "the SNS signing certificate cannot be read");
		enum MHD_Result answer = respond_json(connection, 503, body, NULL);
		json_decref(body);
		return answer;
	}
	struct MHD_Response *response =
	    MHD_create_response_from_buffer(length, pem, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(response, "Content-Type", "application/x-pem-file");
	enum MHD_Result answer = MHD_queue_response(connection, 200, response);
	MHD_destroy_response(response);
	return answer;
}

/* 200 while busbard answers and runs this store; 503 with the reason otherwise. */
static enum MHD_Result serve_health(struct control *ctl, struct MHD_Connection *connection)
{
	pthread_mutex_lock(&ctl->store_lock);
	uint64_t version = ctl_store_version(ctl->store);
	pthread_mutex_unlock(&ctl->store_lock);
	struct ctl_push_status status;
	ctl_push_get_status(&ctl->push, &status);
	const char *state;
	char reason[CTL_PUSH_REASON_BYTES];
	unsigned http_status = ctl_push_health(&status, ctl_now_ms(), CTL_HEALTH_STALE_MS, &state,
	                                       reason, sizeof(reason));
	json_t *body = json_pack("{s:s, s:s, s:I, s:I, s:s}", "status", state, "reason", reason,
	                         "config_version", (json_int_t)version, "busbard_version",
	                         (json_int_t)status.applied_version, "store_id", ctl->store_id);
	enum MHD_Result rc = respond_json(connection, http_status, body, NULL);
	json_decref(body);
	return rc;
}

/*
 * Holds a change's answer until busbard has applied it, so a queue can be used
 * once CreateQueue answers: the connection is suspended, other requests go on.
 * Not while busbard is known not to answer, and at most CTL_APPLY_WAIT_MS.
 */
static bool hold_answer(struct control *ctl, struct MHD_Connection *connection,
                        struct upload *upload, const struct ctl_sqs_result *result,
                        uint64_t version)
{
	struct ctl_push_status status;
	pthread_mutex_lock(&ctl->waiters_lock);
	/* Read under waiters_lock: a status change after it finds this waiter. */
	ctl_push_get_status(&ctl->push, &status);
	bool hold = !ctl->stopping && status.link == CTL_LINK_OK &&
	            status.applied_version < version;
	if (hold) {
		upload->held = true;
		upload->result = *result;
		upload->wait_version = version;
		upload->deadline_ms = ctl_now_ms() + CTL_APPLY_WAIT_MS;
		upload->connection = connection;
		upload->next_waiter = ctl->waiters;
		ctl->waiters = upload;
		MHD_suspend_connection(connection);
	}
	pthread_mutex_unlock(&ctl->waiters_lock);
	return hold;
}

/* Answers the held changes busbard has applied, whose wait is over, or all. */
static void release_answers(struct control *ctl, uint64_t applied_version, bool all)
{
	uint64_t now_ms = ctl_now_ms();
	pthread_mutex_lock(&ctl->waiters_lock);
	struct upload **link = &ctl->waiters;
	while (*link != NULL) { /* bounded: each pass moves down or shortens the list */
		struct upload *u = *link;
		if (all || u->wait_version <= applied_version || now_ms >= u->deadline_ms) {
			*link = u->next_waiter;
			MHD_resume_connection(u->connection);
		} else {
			link = &u->next_waiter;
		}
	}
	pthread_mutex_unlock(&ctl->waiters_lock);
}

/* The push thread's report: busbard applied a version, or will not answer now. */
static void on_push_status(void *context, const struct ctl_push_status *status)
{
	release_answers(context, status->applied_version, status->link != CTL_LINK_OK);
}

/* A managed call's answer, now or once held: a secret's text goes out as its handler built
 * it (ctl_sqs.h). Takes the result's body or text. */
static enum MHD_Result answer_managed(struct MHD_Connection *connection,
                                      struct ctl_aws_call *call, struct ctl_sqs_result *result)
{
	if (result->secret_text != NULL)
		return ctl_aws_answer_secret(connection, call, result->secret_text);
	enum MHD_Result rc = ctl_aws_answer_sqs(connection, call, result->http_status,
	                                        result->body, result->query_error);
	json_decref(result->body);
	return rc;
}

/*
 * Queue management of an authorised AWS call (ctl_aws_server.h): answers from
 * SQLite alone; the push thread takes the change to busbard.
 */
static enum MHD_Result serve_sqs(void *context, void *owner, struct MHD_Connection *connection,
                                 const char *target, const char *json, size_t json_bytes,
                                 struct ctl_aws_call *call)
{
	struct control *ctl = context;
	struct upload *upload = owner;
	struct ctl_sqs_result result;
	pthread_mutex_lock(&ctl->store_lock);
	if (strncmp(target, "AWSEvents.", 10) == 0)
		ctl_events_handle(&ctl->events, target, json, json_bytes, &result);
	else if (strncmp(target, CTL_SNS_TARGET_PREFIX, strlen(CTL_SNS_TARGET_PREFIX)) == 0)
		ctl_sns_handle(&ctl->sns, target, json, json_bytes, &result);
	else if (ctl_move_handles(target))
		ctl_move_handle(&ctl->move, target, json, json_bytes, ctl_move_now_ms(), &result);
	else if (ctl_keys_api_handles(target)) /* its answer may hold a secret: never logged */
		ctl_keys_api_handle(ctl->store, target, json, json_bytes, (int64_t)time(NULL),
		                    &result);
	else
		ctl_sqs_handle(&ctl->sqs, target, json, json_bytes, &result);
	uint64_t version = ctl_store_version(ctl->store);
	pthread_mutex_unlock(&ctl->store_lock);
	if (result.changed)
		ctl_push_changed(&ctl->push);
	if (result.changed && hold_answer(ctl, connection, upload, &result, version))
		return MHD_YES;
	return answer_managed(connection, call, &result);
}

/* Gathers the body across calls, then answers once it is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **request_state)
{
	struct control *ctl = cls;
	struct upload *upload = *request_state;
	if (upload == NULL) {
		*request_state = calloc(1, sizeof(struct upload));
		return *request_state ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size > 0) {
		size_t length = upload->length + *upload_data_size;
		char *grown =
		    length <= CTL_AWS_BODY_BYTES_MAX ? realloc(upload->data, length + 1) : NULL;
		if (grown == NULL) {
			upload->too_large = true;
		} else {
			memcpy(grown + upload->length, upload_data, *upload_data_size);
			upload->data = grown;
			upload->length = length;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (upload->held) { /* resumed: the change's answer */
		upload->held = false;
		return answer_managed(connection, upload->aws, &upload->result);
	}
	if (ctl_aws_call_ready(upload->aws)) /* resumed: busbard's answer */
		return ctl_aws_resume(connection, upload->aws);
	switch (ctl_http_route(method, url)) {
	case CTL_ROUTE_HEALTH: return serve_health(ctl, connection);
	case CTL_ROUTE_METRICS: return ctl_aws_serve_metrics(&ctl->aws, connection, &upload->aws);
	case CTL_ROUTE_SIGNING_CERT: return serve_signing_cert(ctl, connection);
	case CTL_ROUTE_SQS:
		return ctl_aws_serve(&ctl->aws, connection, method, url, upload->data, upload->length,
		                     upload->too_large, upload, &upload->aws);
	case CTL_ROUTE_NOT_FOUND: break;
	}
	json_t *body = json_pack("{s:s, s:s}", "__type", "UnknownOperationException", "message",
	                         "POST an AWS request (SQS query or JSON 1.0) to /, or GET "
	                         "/health or /metrics");
	enum MHD_Result rc = respond_json(connection, 404, body, NULL);
	json_decref(body);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **request_state,
                         enum MHD_RequestTerminationCode code)
{
	struct upload *upload = *request_state;
	if (upload != NULL && upload->held) { /* stopped before the answer went out */
		json_decref(upload->result.body);
		ctl_aws_free_secret(upload->result.secret_text);
	}
	if (upload != NULL) {
		ctl_aws_call_free(upload->aws);
		free(upload->data);
	}
	free(upload);
	*request_state = NULL;
}

/* ---- start-up ---- */

struct options {
	const char *listen; /* host:port, a loopback address */
	bool insecure_listen_any;
	bool adopt;
	const char *db_path;
	const char *busbard_socket;
	long run_seconds;
	long http_timeout_s;
	bool insecure_no_auth; /* AWS API requests unsigned: for a lab only, logged */
	const char *signing_cert; /* busbard's <state_dir>/sns-signing.pem */
	const char *https_ca_file; /* CAs trusted for https subscriptions; NULL: the system's */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: busbar-control [--listen 127.0.0.1:7680] [--insecure-listen-any]\n"
	             "                      [--db PATH] [--busbard-socket PATH] [--adopt]\n"
	             "                      [--http-timeout-seconds 1-%u] [--run-seconds N]\n"
	             "                      [--insecure-no-auth] [--sns-signing-cert PATH]\n"
	             "                      [--sns-https-ca-file PATH]\n",
	        CTL_HTTP_TIMEOUT_S_MAX);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"listen", required_argument, NULL, 'l'},
		{"insecure-listen-any", no_argument, NULL, 'A'},
		{"adopt", no_argument, NULL, 'a'},
		{"db", required_argument, NULL, 'd'},
		{"busbard-socket", required_argument, NULL, 's'},
		{"http-timeout-seconds", required_argument, NULL, 't'},
		{"run-seconds", required_argument, NULL, 'r'},
		{"insecure-no-auth", no_argument, NULL, 'N'},
		{"sns-signing-cert", required_argument, NULL, 'C'},
		{"sns-https-ca-file", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	char *end = NULL;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'l': o->listen = optarg; break;
		case 'A': o->insecure_listen_any = true; break;
		case 'a': o->adopt = true; break;
		case 'd': o->db_path = optarg; break;
		case 's': o->busbard_socket = optarg; break;
		case 't': o->http_timeout_s = strtol(optarg, &end, 10); break;
		case 'r': o->run_seconds = strtol(optarg, NULL, 10); break;
		case 'N': o->insecure_no_auth = true; break;
		case 'C': o->signing_cert = optarg; break;
		case 'T': o->https_ca_file = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (end != NULL && (*end != '\0' || o->http_timeout_s < 1 ||
	                    o->http_timeout_s > CTL_HTTP_TIMEOUT_S_MAX)) {
		fprintf(stderr, "busbar-control: --http-timeout-seconds must be 1-%u\n",
		        CTL_HTTP_TIMEOUT_S_MAX);
		return -EINVAL;
	}
	return optind == argc ? 0 : -EINVAL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Epoll (or poll) rather than select, with the limits of ctl_http.h. */
static struct MHD_Daemon *start_http(struct control *ctl, const struct sockaddr_in *addr,
                                     unsigned int timeout_s)
{
	return MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, on_request, ctl,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, ctl, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CTL_HTTP_CONNECTIONS_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)CTL_HTTP_CONNECTIONS_PER_IP_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_END);
}

static int open_store(struct control *ctl, const struct options *o)
{
	char error[512];
	uint8_t store_id[BB_SNAPSHOT_STORE_ID_BYTES];
	ctl->store = ctl_store_open(o->db_path, error, sizeof(error));
	if (ctl->store == NULL) {
		fprintf(stderr, "busbar-control: store: %s\n", error);
		return -EIO;
	}
	if (ctl_store_identity(ctl->store, store_id) != 0) {
		fprintf(stderr, "busbar-control: store %s has no identity\n", o->db_path);
		ctl_store_close(ctl->store);
		return -EIO;
	}
	bb_snapshot_store_id_text(store_id, ctl->store_id);
	snprintf(ctl->base_url, sizeof(ctl->base_url), "http://%s", o->listen);
	ctl->sqs = (struct ctl_sqs_context){.store = ctl->store, .base_url = ctl->base_url};
	ctl->events = (struct ctl_events_context){.store = ctl->store,
	                                          .account_id = CTL_AWS_ACCOUNT_ID_DEFAULT,
	                                          .region = CTL_AWS_REGION_DEFAULT};
	ctl->sns = (struct ctl_sns_context){.store = ctl->store,
	                                    .account_id = CTL_AWS_ACCOUNT_ID_DEFAULT,
	                                    .region = CTL_AWS_REGION_DEFAULT};
	return 0;
}

static void queue_confirmation(void *context, const char *endpoint, const char *topic_arn,
                               const char *token, unsigned signature_version)
{
	struct control *ctl = context;
	int rc = ctl_sns_sender_confirm(ctl->sns_sender, endpoint, topic_arn, token,
	                                signature_version);
	if (rc != 0)
		fprintf(stderr, "busbar-control: SubscriptionConfirmation to %s not sent: %s\n",
		        endpoint, strerror(-rc));
}

/*
 * The SubscriptionConfirmation sender: signed with busbard's key, which lies beside the
 * certificate busbar-control serves (busbard's state directory).
 */
static int start_sns_sender(struct control *ctl, const struct options *o)
{
	static char signing_dir[1024];
	snprintf(signing_dir, sizeof(signing_dir), "%s", o->signing_cert);
	struct ctl_sns_sender_options options = {.control_url = ctl->base_url,
	                                         .signing_dir = dirname(signing_dir),
	                                         .ca_file = o->https_ca_file};
	ctl->sns_sender = ctl_sns_sender_start(&options);
	if (ctl->sns_sender == NULL)
		return -ENOMEM;
	ctl->sns.confirmation_wanted = queue_confirmation;
	ctl->sns.confirmation_context = ctl;
	return 0;
}

/* The AWS API: authenticated unless the operator turned it off in so many words. */
static int start_aws(struct control *ctl, const struct options *o)
{
	if (o->insecure_no_auth)
		fprintf(stderr, "busbar-control: WARNING: --insecure-no-auth: AWS API requests on %s "
		                "are served without checking any signature or permission (but key "
		                "management, which is refused)\n",
		        o->listen);
	struct ctl_aws_server_options options = {.account_id = CTL_AWS_ACCOUNT_ID_DEFAULT,
	                                         .region = CTL_AWS_REGION_DEFAULT,
	                                         .busbard_socket = o->busbard_socket,
	                                         .insecure_no_auth = o->insecure_no_auth,
	                                         .skew_s = CTL_SIGV4_SKEW_S_DEFAULT,
	                                         .store = ctl->store,
	                                         .store_lock = &ctl->store_lock,
	                                         .manage = serve_sqs,
	                                         .context = ctl};
	int rc = ctl_aws_server_start(&ctl->aws, &options);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&ctl->store_lock); /* the push thread reads the store meanwhile */
	rc = ctl_move_open(&ctl->move, ctl->store, &ctl->aws.config);
	pthread_mutex_unlock(&ctl->store_lock);
	return rc == 0 ? ctl_move_start(&ctl->move, &ctl->aws.pool, &ctl->store_lock) : rc;
}

/* Until a signal or the end of --run-seconds, answering held changes past their wait. */
static void wait_for_stop(struct control *ctl, long run_seconds)
{
	uint64_t end_ms = ctl_now_ms() + (uint64_t)run_seconds * 1000;
	while (!stop_requested && (run_seconds <= 0 || ctl_now_ms() < end_ms)) {
		sleep_ms(MAIN_POLL_MS);
		release_answers(ctl, 0, false);
	}
	pthread_mutex_lock(&ctl->waiters_lock);
	ctl->stopping = true;
	pthread_mutex_unlock(&ctl->waiters_lock);
	release_answers(ctl, 0, true); /* libmicrohttpd stops with no connection suspended */
}

int main(int argc, char **argv)
{
	struct options o = {
		.listen = "127.0.0.1:7680",
		.db_path = "/var/lib/busbar/control.db",
		.busbard_socket = "/run/busbar/busbard.sock",
		.http_timeout_s = CTL_HTTP_TIMEOUT_S_DEFAULT,
		.signing_cert = CTL_SIGNING_CERT_PATH_DEFAULT,
	};
	struct sockaddr_in addr;
	char error[512];
	if (argc > 1 && strcmp(argv[1], "keys") == 0) /* key management on the database */
		return ctl_keys_main(argc - 1, argv + 1);
	if (parse_options(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	int rc =
	    ctl_http_parse_listen(o.listen, o.insecure_listen_any, &addr, error, sizeof(error));
	if (rc != 0) {
		fprintf(stderr, "busbar-control: %s\n", error);
		return 2;
	}
	if (o.insecure_listen_any && (ntohl(addr.sin_addr.s_addr) >> 24) != 127)
		fprintf(stderr,
		        "busbar-control: WARNING: --insecure-listen-any: the control API on %s is "
		        "reachable by anyone: plain HTTP, /health and /metrics unauthenticated\n",
		        o.listen);
	static struct control ctl = {.store_lock = PTHREAD_MUTEX_INITIALIZER,
	                             .waiters_lock = PTHREAD_MUTEX_INITIALIZER};
	ctl.signing_cert_path = o.signing_cert;
	if (open_store(&ctl, &o) != 0 || start_sns_sender(&ctl, &o) != 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	struct ctl_push_options push_options = {.busbard_socket = o.busbard_socket,
	                                        .adopt = o.adopt,
	                                        .on_status = on_push_status,
	                                        .context = &ctl};
	rc = ctl_push_start(&ctl.push, &push_options, ctl.store, &ctl.store_lock);
	if (rc == 0 && start_aws(&ctl, &o) != 0) {
		fprintf(stderr, "busbar-control: cannot start the AWS API's busbard connections\n");
		return 1;
	}
	struct MHD_Daemon *daemon = rc == 0 ? start_http(&ctl, &addr, (unsigned)o.http_timeout_s)
	                                    : NULL;
	if (daemon == NULL) {
		fprintf(stderr, "busbar-control: cannot %s\n",
		        rc != 0 ? "start the push thread" : "listen");
		return 1;
	}
	printf("busbar-control: SQS API on http://%s, store %s (id %s), busbard %s%s\n", o.listen,
	       o.db_path, ctl.store_id, o.busbard_socket, o.adopt ? ", adopting" : "");
	fflush(stdout);
	wait_for_stop(&ctl, o.run_seconds);
	ctl_move_stop(&ctl.move); /* before the pool it calls busbard through */
	/* Answers and resumes what waits for busbard. libmicrohttpd aborts when stopped with a
	 * connection suspended, so with some left (docs/aws-api.md) the exit closes them. */
	unsigned suspended = ctl_aws_server_stop(&ctl.aws);
	if (suspended == 0) {
		MHD_stop_daemon(daemon);
		ctl_sns_sender_stop(ctl.sns_sender); /* nothing queues any more */
	} else {
		fprintf(stderr, "busbar-control: %u AWS API answers not sent at stop\n", suspended);
	}
	/* A push thread stuck in a call to a hung busbard keeps the store; exit ends both. */
	if (ctl_push_stop(&ctl.push) == 0)
		ctl_store_close(ctl.store);
	printf("busbar-control: stopped\n");
	return 0;
}

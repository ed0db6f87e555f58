/*
 * busbar-control: the control plane. Owns the desired configuration in
 * SQLite, serves the SQS JSON 1.0 queue-management API and a health endpoint
 * over HTTP (libmicrohttpd) on a loopback address, and pushes every new
 * configuration version to busbard as a numbered snapshot over busbard's
 * Unix socket, retrying until busbard has applied it.
 *
 * Threads: libmicrohttpd's one polling thread serves HTTP; the main thread
 * retries pushes. `lock` serialises the store and the push state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "busbar.h"
#include "ctl_http.h"
#include "ctl_sqs.h"
#include "ctl_store.h"

#define PUSH_RETRY_MS 500
#define PUSH_TIMEOUT_MS 2000

struct control {
	pthread_mutex_t lock;
	struct ctl_store *store;
	struct ctl_sqs_context sqs;
	const char *busbard_socket;
	uint64_t pushed_version;
	bool push_failing; /* say so once, not every retry */
	char base_url[128];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
	(void)signal_number;
	stop_requested = 1;
}

/* Pushes the current configuration unless busbard has it. Call with lock held. */
static void push_if_needed(struct control *ctl)
{
	uint64_t version = ctl_store_version(ctl->store);
	if (version == ctl->pushed_version)
		return;
	uint8_t *body;
	size_t body_bytes;
	if (ctl_store_snapshot(ctl->store, &body, &body_bytes) != 0)
		return;
	struct bb_client_options o = {.unix_socket = ctl->busbard_socket,
	                              .timeout_ms = PUSH_TIMEOUT_MS};
	int rc;
	struct bb_client *client = bb_client_open(&o, &rc);
	if (client != NULL) {
		struct wire_header h = {.opcode = WIRE_OP_APPLY_SNAPSHOT};
		const uint8_t *reply;
		uint32_t reply_bytes;
		rc = bb_call(client, &h, body, body_bytes, &reply, &reply_bytes);
		if (rc != 0 && !ctl->push_failing)
			fprintf(stderr, "busbar-control: snapshot %llu refused: %s\n",
			        (unsigned long long)version, bb_client_error(client));
		bb_client_close(client);
	}
	free(body);
	if (rc == 0) {
		ctl->pushed_version = version;
		ctl->push_failing = false;
		printf("busbar-control: busbard applied snapshot %llu\n", (unsigned long long)version);
		fflush(stdout);
	} else if (!ctl->push_failing) {
		fprintf(stderr, "busbar-control: busbard at %s not reachable (%s); will retry\n",
		        ctl->busbard_socket, strerror(rc < 0 ? -rc : EPROTO));
		ctl->push_failing = true;
	}
}

/* ---- HTTP ---- */

struct upload {
	char *data;
	size_t length;
	bool too_large;
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

static enum MHD_Result serve_health(struct control *ctl, struct MHD_Connection *connection)
{
	pthread_mutex_lock(&ctl->lock);
	uint64_t version = ctl_store_version(ctl->store);
	json_t *body = json_pack("{s:s, s:I, s:I}", "status", "ok", "config_version",
	                         (json_int_t)version, "busbard_version",
	                         (json_int_t)ctl->pushed_version);
	pthread_mutex_unlock(&ctl->lock);
	enum MHD_Result rc = respond_json(connection, 200, body, NULL);
	json_decref(body);
	return rc;
}

static enum MHD_Result serve_sqs(struct control *ctl, struct MHD_Connection *connection,
                                 const struct upload *upload)
{
	const char *target = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Amz-Target");
	struct ctl_sqs_result result;
	pthread_mutex_lock(&ctl->lock);
	if (upload->too_large)
		ctl_sqs_handle(&ctl->sqs, target, "", CTL_REQUEST_BYTES_MAX + 1, &result);
	else
		ctl_sqs_handle(&ctl->sqs, target, upload->data ? upload->data : "", upload->length,
		               &result);
	if (result.changed)
		push_if_needed(ctl); /* busbard down: the main thread keeps retrying */
	pthread_mutex_unlock(&ctl->lock);
	enum MHD_Result rc =
		respond_json(connection, result.http_status, result.body, result.query_error);
	json_decref(result.body);
	return rc;
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
		char *grown = length <= CTL_REQUEST_BYTES_MAX ? realloc(upload->data, length + 1) : NULL;
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
	switch (ctl_http_route(method, url)) {
	case CTL_ROUTE_HEALTH: return serve_health(ctl, connection);
	case CTL_ROUTE_SQS: return serve_sqs(ctl, connection, upload);
	case CTL_ROUTE_NOT_FOUND: break;
	}
	json_t *body = json_pack("{s:s, s:s}", "__type", "UnknownOperationException", "message",
	                         "POST an SQS JSON 1.0 request to /, or GET /health");
	enum MHD_Result rc = respond_json(connection, 404, body, NULL);
	json_decref(body);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **request_state,
                         enum MHD_RequestTerminationCode code)
{
	struct upload *upload = *request_state;
	if (upload != NULL)
		free(upload->data);
	free(upload);
	*request_state = NULL;
}

/* ---- start-up ---- */

struct options {
	const char *listen; /* host:port, a loopback address */
	bool insecure_listen_any;
	const char *db_path;
	const char *busbard_socket;
	long run_seconds;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: busbar-control [--listen 127.0.0.1:7680] [--insecure-listen-any]\n"
	             "                      [--db PATH] [--busbard-socket PATH] [--run-seconds N]\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"listen", required_argument, NULL, 'l'},
		{"insecure-listen-any", no_argument, NULL, 'A'},
		{"db", required_argument, NULL, 'd'},
		{"busbard-socket", required_argument, NULL, 's'},
		{"run-seconds", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'l': o->listen = optarg; break;
		case 'A': o->insecure_listen_any = true; break;
		case 'd': o->db_path = optarg; break;
		case 's': o->busbard_socket = optarg; break;
		case 'r': o->run_seconds = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct options o = {
		.listen = "127.0.0.1:7680",
		.db_path = "/var/lib/busbar/control.db",
		.busbard_socket = "/run/busbar/busbard.sock",
	};
	struct sockaddr_in addr;
	char error[512];
	if (parse_options(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	if (ctl_http_parse_listen(o.listen, o.insecure_listen_any, &addr, error, sizeof(error)) != 0) {
		fprintf(stderr, "busbar-control: %s\n", error);
		return 2;
	}
	if (o.insecure_listen_any && (ntohl(addr.sin_addr.s_addr) >> 24) != 127)
		fprintf(stderr, "busbar-control: WARNING: --insecure-listen-any: the control API on "
		                "%s is open to anyone who can reach it, without authentication\n",
		        o.listen);
	static struct control ctl = {.lock = PTHREAD_MUTEX_INITIALIZER};
	ctl.store = ctl_store_open(o.db_path, error, sizeof(error));
	if (ctl.store == NULL) {
		fprintf(stderr, "busbar-control: store: %s\n", error);
		return 1;
	}
	snprintf(ctl.base_url, sizeof(ctl.base_url), "http://%s", o.listen);
	ctl.sqs = (struct ctl_sqs_context){.store = ctl.store, .base_url = ctl.base_url};
	ctl.busbard_socket = o.busbard_socket;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, &ctl,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, &ctl, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
	if (daemon == NULL) {
		fprintf(stderr, "busbar-control: cannot listen on %s\n", o.listen);
		ctl_store_close(ctl.store);
		return 1;
	}
	printf("busbar-control: SQS API on http://%s, store %s, busbard %s\n", o.listen, o.db_path,
	       o.busbard_socket);
	fflush(stdout);
	long waited_ms = 0;
	while (!stop_requested && (o.run_seconds <= 0 || waited_ms < o.run_seconds * 1000)) {
		pthread_mutex_lock(&ctl.lock);
		push_if_needed(&ctl);
		pthread_mutex_unlock(&ctl.lock);
		sleep_ms(PUSH_RETRY_MS);
		waited_ms += PUSH_RETRY_MS;
	}
	MHD_stop_daemon(daemon);
	ctl_store_close(ctl.store);
	printf("busbar-control: stopped\n");
	return 0;
}

/*
 * busbar-bench: busbar's benchmark rig. Each mode prints one JSON object per
 * line on stdout (and, for load runs, a progress line per second on stderr);
 * perf/README.md documents every command.
 *
 *   busbar-bench dpdk --vdev VDEV [load options] [--cores LIST] [--no-huge] [--no-arp]
 *       the load generator as a DPDK program (memif, af_packet, tap), bench_dpdk.c
 *   busbar-bench udp --server IP [--port P] [load options]
 *       the same load over kernel UDP sockets, bench_udp.c
 *   busbar-bench echo-server --port P [--seconds S]
 *       the kernel UDP echo baseline
 *   busbar-bench redis [--server IP] [--port P] [--op send|cycle] [load options]
 *       the same workload on Redis streams, the first peer (bench_redis.c)
 *   busbar-bench rabbitmq|nats [--server IP] [--port P] [--op send|cycle] [load options]
 *       RabbitMQ quorum queues and NATS JetStream as peers (bench_rabbitmq.c,
 *       bench_nats.c, both over the peers' loop of bench_peer.c)
 *   busbar-bench sqs-http [--server IP] [--port P] --queue Q [load options]
 *       SendMessage over an SQS-compatible HTTP API, SigV4-signed (bench_sqs_http.c)
 *   busbar-bench scenario FILE
 *       one benchmark from perf/scenarios/: starts busbard and its baselines,
 *       runs each system and mode, stops them by PID (bench_scenario.c)
 *   busbar-bench storage ... | storage-recovery ... | filters ...
 *       the storage and pattern-matcher benchmarks (bench_storage.c, bench_filters.c)
 *   busbar-bench sign [--signatures N] [--version 1|2] [--message-bytes B]
 *       what an SNS signature costs one core (bench_sign.c)
 *
 * Load options: --op ping|send|receive|cycle|publish|put-events, --queue Q (the
 * topic of publish, the bus of put-events: each body is a PutEvents entry's
 * Detail, one entry per request), --window W (closed
 * loop) or --rate R (open loop), --warmup S, --seconds S (at most, with
 * --requests N: the counted part ends after N replies), --consumers N (send:
 * lanes that receive and delete beside the senders), --body-bytes N or
 * --body-file F (one body per line), --system NAME, --baseline, --quiet; dpdk only:
 * --signed (each request signed with the benchmark's key, BENCH_KEY_ID, and each reply's
 * MAC checked, as a client with a key must: docs/protocol.md, Authentication).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_cli.h"
#include "bench_peer.h"
#include "bench_scenario.h"

int bench_storage(int argc, char **argv);
int bench_recovery(int argc, char **argv);
int bench_filters(int argc, char **argv);
int bench_sign(int argc, char **argv);

#define DEFAULT_WINDOW     32u
#define DEFAULT_BODY_BYTES 256u
#define DEFAULT_MEMORY_MB  512u
#define DEFAULT_LINK_WAIT  10u

enum option_key {
	OPT_OP = 256,
	OPT_QUEUE,
	OPT_WINDOW,
	OPT_RATE,
	OPT_WARMUP,
	OPT_SECONDS,
	OPT_BODY_BYTES,
	OPT_BODY_FILE,
	OPT_SYSTEM,
	OPT_BASELINE,
	OPT_SCENARIO,
	OPT_QUIET,
	OPT_SERVER,
	OPT_SOURCE,
	OPT_PORT,
	OPT_SOURCE_PORT,
	OPT_VDEV,
	OPT_CORES,
	OPT_NO_HUGE,
	OPT_MEMORY_MB,
	OPT_NO_ARP,
	OPT_LINK_WAIT,
	OPT_TRANSPORT,
	OPT_REQUESTS,
	OPT_CONSUMERS,
	OPT_SIGNED,
};

static const struct option load_options[] = {
    {"op", required_argument, NULL, OPT_OP},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"rate", required_argument, NULL, OPT_RATE},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"body-bytes", required_argument, NULL, OPT_BODY_BYTES},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"system", required_argument, NULL, OPT_SYSTEM},
    {"baseline", no_argument, NULL, OPT_BASELINE},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"server", required_argument, NULL, OPT_SERVER},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"port", required_argument, NULL, OPT_PORT},
    {"source-port", required_argument, NULL, OPT_SOURCE_PORT},
    {"vdev", required_argument, NULL, OPT_VDEV},
    {"cores", required_argument, NULL, OPT_CORES},
    {"no-huge", no_argument, NULL, OPT_NO_HUGE},
    {"memory-mb", required_argument, NULL, OPT_MEMORY_MB},
    {"no-arp", no_argument, NULL, OPT_NO_ARP},
    {"link-wait", required_argument, NULL, OPT_LINK_WAIT},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"consumers", required_argument, NULL, OPT_CONSUMERS},
    {"signed", no_argument, NULL, OPT_SIGNED},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: busbar-bench dpdk|udp|echo-server|redis|rabbitmq|nats|sqs-http|scenario|"
	        "storage|storage-recovery|filters|sign [options]\n"
	        "       (perf/README.md documents each)\n");
}

static void set_defaults(struct bench_cli *cli, const char *mode)
{
	memset(cli, 0, sizeof(*cli));
	cli->load.op = BENCH_OP_PING;
	cli->load.window = DEFAULT_WINDOW;
	cli->load.warmup_ns = 1000000000ull;
	cli->load.duration_ns = 10000000000ull;
	cli->load.progress = stderr;
	cli->labels.system = "busbard";
	cli->labels.body_bytes = DEFAULT_BODY_BYTES;
	cli->labels.transport = strcmp(mode, "dpdk") == 0 ? "memif" : "kernel-udp";
	cli->server_ip = BENCH_DEFAULT_SERVER;
	cli->source_ip = BENCH_DEFAULT_SOURCE;
	cli->server_port = BENCH_DEFAULT_PORT;
	cli->source_port = BENCH_DEFAULT_SOURCE_PORT;
	cli->cores = "0";
	cli->hugepages = true;
	cli->memory_mb = DEFAULT_MEMORY_MB;
	cli->arp = true;
	cli->link_wait_s = DEFAULT_LINK_WAIT;
}

static uint64_t seconds_ns(const char *text)
{
	double s = atof(text);
	return s > 0 ? (uint64_t)(s * 1e9) : 0;
}

/* Options that shape the load; returns 1 when the key is not one of them. */
static int apply_load_option(struct bench_cli *cli, int key, const char *value,
                             const char **body_file)
{
	switch (key) {
	case OPT_OP:
		if (bench_op_parse(value, &cli->load.op) != 0) {
			fprintf(stderr, "busbar-bench: unknown --op %s\n", value);
			return -EINVAL;
		}
		return 0;
	case OPT_QUEUE: cli->load.queue = value; return 0;
	case OPT_WINDOW: cli->load.window = (uint32_t)atoi(value); return 0;
	case OPT_RATE: cli->load.rate_per_s = atof(value); return 0;
	case OPT_WARMUP: cli->load.warmup_ns = (uint64_t)(atof(value) * 1e9); return 0;
	case OPT_SECONDS: cli->load.duration_ns = seconds_ns(value); return 0;
	case OPT_REQUESTS: cli->load.requests_max = strtoull(value, NULL, 10); return 0;
	case OPT_CONSUMERS: cli->load.consumers = (uint32_t)atoi(value); return 0;
	case OPT_BODY_BYTES: cli->labels.body_bytes = (uint32_t)atoi(value); return 0;
	case OPT_BODY_FILE: *body_file = value; return 0;
	case OPT_SYSTEM: cli->labels.system = value; return 0;
	case OPT_BASELINE: cli->labels.baseline = cli->load.baseline = true; return 0;
	case OPT_SCENARIO: cli->labels.scenario = value; return 0;
	case OPT_QUIET: cli->load.progress = NULL; return 0;
	default: return 1;
	}
}

static int apply_transport_option(struct bench_cli *cli, int key, const char *value)
{
	switch (key) {
	case OPT_SIGNED: cli->signed_requests = true; return 0;
	case OPT_SERVER: cli->server_ip = value; return 0;
	case OPT_SOURCE: cli->source_ip = value; return 0;
	case OPT_PORT: cli->server_port = (uint16_t)atoi(value); return 0;
	case OPT_SOURCE_PORT: cli->source_port = (uint16_t)atoi(value); return 0;
	case OPT_VDEV: cli->vdev = value; return 0;
	case OPT_CORES: cli->cores = value; return 0;
	case OPT_NO_HUGE: cli->hugepages = false; return 0;
	case OPT_MEMORY_MB: cli->memory_mb = (uint32_t)atoi(value); return 0;
	case OPT_NO_ARP: cli->arp = false; return 0;
	case OPT_LINK_WAIT: cli->link_wait_s = (uint32_t)atoi(value); return 0;
	case OPT_TRANSPORT: cli->labels.transport = value; return 0;
	default: return -EINVAL;
	}
}

static int load_bodies(struct bench_cli *cli, const char *body_file)
{
	if (!bench_op_has_body(cli->load.op)) {
		cli->labels.body_bytes = 0; /* ping and receive requests carry no body */
		return 0;
	}
	int rc = body_file != NULL ? bench_bodies_load(&cli->bodies, body_file)
	                           : bench_bodies_generate(&cli->bodies, cli->labels.body_bytes);
	if (rc != 0) {
		fprintf(stderr, "busbar-bench: bodies (%s): %s; at most %u bytes each\n",
		        body_file ? body_file : "generated", strerror(-rc), BENCH_BODY_BYTES_MAX);
		return rc;
	}
	if (body_file != NULL)
		cli->labels.body_bytes = cli->bodies.bytes[0];
	cli->load.bodies = &cli->bodies;
	return 0;
}

static int parse_load(int argc, char **argv, struct bench_cli *cli)
{
	const char *body_file = NULL;
	int key;
	optind = 2;
	while ((key = getopt_long(argc, argv, "", load_options, NULL)) != -1) {
		int rc = apply_load_option(cli, key, optarg, &body_file);
		if (rc == 1)
			rc = apply_transport_option(cli, key, optarg);
		if (rc != 0)
			return -EINVAL;
	}
	if (optind != argc || cli->link_wait_s > BENCH_LINK_WAIT_S_MAX) {
		fprintf(stderr, "busbar-bench: unexpected arguments\n");
		return -EINVAL;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* Nonzero and different per run, so busbard's retry window never mixes two runs. */
	cli->load.client_id =
	    ((uint64_t)now.tv_sec << 32 ^ (uint64_t)now.tv_nsec << 8 ^ (uint64_t)getpid() << 20) |
	    1;
	cli->load.progress_label = cli->labels.system;
	return load_bodies(cli, body_file);
}

static int echo_server(int argc, char **argv)
{
	static struct bench_cli cli;
	set_defaults(&cli, "udp");
	cli.load.duration_ns = 0;
	if (parse_load(argc, argv, &cli) != 0 || cli.load.duration_ns == 0) {
		fprintf(stderr, "usage: busbar-bench echo-server --port P --seconds S\n");
		return 2;
	}
	return bench_udp_echo_server(cli.server_port, (double)cli.load.duration_ns / 1e9);
}

static int redis(int argc, char **argv)
{
#ifdef BENCH_HAVE_HIREDIS
	static struct bench_cli cli;
	set_defaults(&cli, "redis");
	cli.server_ip = "127.0.0.1";
	cli.server_port = BENCH_REDIS_PORT;
	cli.load.op = BENCH_OP_SEND;
	cli.labels.system = "redis-streams";
	cli.labels.transport = "loopback-tcp";
	if (parse_load(argc, argv, &cli) != 0)
		return 2;
	int rc = bench_redis_run(&cli);
	bench_bodies_free(&cli.bodies);
	return rc;
#else
	(void)argc, (void)argv;
	fprintf(stderr, "busbar-bench redis: built without hiredis (apt-get install "
	                "libhiredis-dev, then rebuild)\n");
	return 2;
#endif
}

/* A peer other than Redis: RabbitMQ or NATS, each built when its client library is here. */
static int peer(int argc, char **argv, const char *name)
{
	static struct bench_cli cli;
	bool rabbitmq = strcmp(name, "rabbitmq") == 0;
	int (*run)(struct bench_cli *) = NULL;
#ifdef BENCH_HAVE_LIBRABBITMQ
	if (rabbitmq)
		run = bench_rabbitmq_run;
#endif
#ifdef BENCH_HAVE_LIBNATS
	if (!rabbitmq)
		run = bench_nats_run;
#endif
	if (run == NULL) {
		fprintf(stderr, "busbar-bench %s: built without %s (perf/setup_peers.sh installs "
		                "it, then rebuild)\n", name, rabbitmq ? "librabbitmq" : "libnats");
		return 2;
	}
	set_defaults(&cli, name);
	cli.server_ip = "127.0.0.1";
	cli.server_port = rabbitmq ? BENCH_RABBITMQ_PORT : BENCH_NATS_PORT;
	cli.load.op = BENCH_OP_SEND;
	cli.labels.system = rabbitmq ? "rabbitmq-quorum" : "nats-jetstream";
	cli.labels.transport = "loopback-tcp";
	if (parse_load(argc, argv, &cli) != 0)
		return 2;
	int rc = run(&cli);
	bench_bodies_free(&cli.bodies);
	return rc;
}

/* An SQS-compatible HTTP endpoint (busbar-control's by default), built with libcurl. */
static int sqs_http(int argc, char **argv)
{
#ifdef BENCH_HAVE_LIBCURL
	static struct bench_cli cli;
	set_defaults(&cli, "sqs-http");
	cli.server_ip = "127.0.0.1";
	cli.server_port = BENCH_SQS_HTTP_PORT;
	cli.load.op = BENCH_OP_SEND;
	cli.labels.system = "busbar-sqs-http";
	cli.labels.transport = "loopback-http";
	if (parse_load(argc, argv, &cli) != 0)
		return 2;
	int rc = bench_sqs_http_run(&cli);
	bench_bodies_free(&cli.bodies);
	return rc;
#else
	(void)argc, (void)argv;
	fprintf(stderr, "busbar-bench sqs-http: built without libcurl (apt-get install "
	                "libcurl4-openssl-dev, then rebuild)\n");
	return 2;
#endif
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *mode = argv[1];
	if (strcmp(mode, "storage") == 0)
		return bench_storage(argc, argv);
	if (strcmp(mode, "storage-recovery") == 0)
		return bench_recovery(argc, argv);
	if (strcmp(mode, "filters") == 0)
		return bench_filters(argc, argv);
	if (strcmp(mode, "sign") == 0)
		return bench_sign(argc, argv);
	if (strcmp(mode, "scenario") == 0)
		return bench_scenario_main(argc, argv);
	if (strcmp(mode, "echo-server") == 0)
		return echo_server(argc, argv);
	if (strcmp(mode, "redis") == 0)
		return redis(argc, argv);
	if (strcmp(mode, "rabbitmq") == 0 || strcmp(mode, "nats") == 0)
		return peer(argc, argv, mode);
	if (strcmp(mode, "sqs-http") == 0)
		return sqs_http(argc, argv);
	bool dpdk = strcmp(mode, "dpdk") == 0;
	if (!dpdk && strcmp(mode, "udp") != 0) {
		usage();
		return 2;
	}
	static struct bench_cli cli;
	set_defaults(&cli, mode);
	if (parse_load(argc, argv, &cli) != 0)
		return 2;
	if (cli.signed_requests && !dpdk) {
		fprintf(stderr, "busbar-bench: --signed is for the dpdk generator only\n");
		return 2;
	}
	int rc = dpdk ? bench_dpdk_run(&cli) : bench_udp_run(&cli);
	bench_bodies_free(&cli.bodies);
	return rc;
}

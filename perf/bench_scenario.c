/*
 * `busbar-bench scenario FILE`: one reproducible benchmark. The file (JSON,
 * perf/scenarios/) names the transport, the op, sizes, window, durations,
 * open-loop fractions and the systems to run; this runner starts each system
 * (busbard, testpmd as the same memif server, the kernel UDP echo, and the
 * peers redis-server, rabbitmq-server with its own epmd, nats-server), runs
 * the generator or peer driver against it as a child process (`busbar-bench
 * dpdk`, `udp`, `redis`, `rabbitmq`, `nats`: each run its own process), then
 * stops the system, every process by its PID and each with a bounded run time
 * (busbard --run-seconds, testpmd until its stdin pipe closes, a deadline on
 * every wait, SIGKILL after STOP_WAIT_MS). It prints the children's JSON lines,
 * with busbard's rate as a fraction of each baseline at the end.
 *
 * A scenario that `needs` what busbard does not have yet (durable queues,
 * routing) stops with exit 3 and a message naming what is missing: before
 * anything runs, or, when it has peers, after the peers' rows (busbard's row
 * is not run). No figure is made up.
 */
#include "bench_scenario.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bb_endian.h"
#include "bb_limits.h"
#include "bench_cli.h"
#include "bench_load.h"
#include "bb_snapshot.h"
#include "bench_route.h"
#include "sqs.h"
#include "wire.h"

#define LIST_MAX          8u
#define NAME_BYTES        64u
#define ARGS_MAX          48u
#define OUTPUT_BYTES_MAX  (64u << 10)
#define START_WAIT_MS     120000u /* busbard or testpmd up (570 MB of mbufs, a loaded box) */
/* A peer listening: RabbitMQ's Erlang node took over 60 s here with the 2 cores loaded. */
#define PEER_START_WAIT_MS 180000u
#define STOP_WAIT_MS      5000u  /* SIGTERM, then SIGKILL */
#define RUN_MARGIN_S      30u    /* EAL start, link, ARP and drain around a generator run */
#define ECHO_PORT         7700u
#define SNAPSHOT_QUEUE    "bench"
#define BUSBARD_SIGNED    "busbard-signed" /* busbard with authentication: --signed requests */
#define QUEUE_MESSAGE_MAX (256u << 10)
#define SNAPSHOT_FRAME_BYTES (BB_WIRE_HEADER_BYTES + BB_SNAPSHOT_BYTES_MAX)
#define STATS_REPLY_BYTES (64u << 10) /* GetStats: a few hundred names and values */
#define BENCH_EPMD_PORT   4379u /* the RabbitMQ node's own epmd, not the system's 4369 */
#define RABBITMQ_SERVER   "/usr/lib/rabbitmq/bin/rabbitmq-server" /* Debian's, unwrapped */
/* The key busbar-bench signs its SQS HTTP requests with: every SQS action, every queue. */
#define SQS_HTTP_POLICY                                                                           \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}]}"
#define ROW_JSON_FLAGS    (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

struct scenario {
	char name[NAME_BYTES];
	char transport[NAME_BYTES]; /* memif, af_packet or af_xdp */
	enum bench_op op;
	uint32_t body_bytes, window, workers, rounds;
	uint32_t consumers; /* send: busbard's queue drained by this many lanes (bench_load.h) */
	uint64_t requests; /* per round; 0: by time */
	double warmup_s, seconds;
	double fractions[LIST_MAX];
	uint32_t fraction_count;
	char systems[LIST_MAX][NAME_BYTES];
	uint32_t system_count;
	char needs[LIST_MAX][NAME_BYTES];
	uint32_t need_count;
	char generator_cores[NAME_BYTES];
	char testpmd_cores[NAME_BYTES];
	uint32_t store_mbufs;
	bool durable; /* busbard's "durability": "disk" (else "memory", the rig's figures) */
	bool hugepages, check;
	/* put-events: the events (a JSON-lines corpus), the rule-set file and the set in it */
	char corpus[PATH_MAX], rulesets[PATH_MAX], rule_set[NAME_BYTES];
	char matcher_cores[NAME_BYTES]; /* taskset -c of the matcher-alone run */
};

/* Needs busbar meets now: scenarios keep naming them, as a record of what they measure. */
static const char *const available_features[] = {"durable-queues", "routing"};

struct run_env {
	const struct scenario *s;
	char self[PATH_MAX];
	char busbard[PATH_MAX];
	char control[PATH_MAX]; /* busbar-control, for the SQS HTTP API (busbar-sqs-http) */
	char work[PATH_MAX];
	char netns[NAME_BYTES]; /* af_packet, af_xdp: the namespace holding the veth pair */
	char busbard_socket[PATH_MAX + 32];
	uint64_t snapshot_version; /* each busbard run gets a fresh queue: a new snapshot */
	double busbard_rate, baseline_rates[LIST_MAX];
	double matcher_rate; /* put-events: busbar-bench filters alone, events per second */
	struct bench_route *route; /* put-events: its events and rules, else NULL */
	bool any_failed;
};

/* ---- the scenario file ---- */

static int bad(const char *path, const char *key, const char *why)
{
	fprintf(stderr, "busbar-bench scenario %s: \"%s\": %s\n", path, key, why);
	return -EINVAL;
}

static int copy_list(json_t *value, char list[][NAME_BYTES], uint32_t *count)
{
	size_t i;
	json_t *item;
	if (!json_is_array(value) || json_array_size(value) > LIST_MAX)
		return -EINVAL;
	json_array_foreach(value, i, item)
	{
		if (!json_is_string(item) || json_string_length(item) >= NAME_BYTES)
			return -EINVAL;
		snprintf(list[i], NAME_BYTES, "%s", json_string_value(item));
	}
	*count = (uint32_t)json_array_size(value);
	return 0;
}

static int copy_fractions(json_t *value, struct scenario *s)
{
	size_t i;
	json_t *item;
	if (!json_is_array(value) || json_array_size(value) > LIST_MAX)
		return -EINVAL;
	json_array_foreach(value, i, item)
	{
		double f = json_number_value(item);
		if (!json_is_number(item) || f <= 0 || f > 1)
			return -EINVAL;
		s->fractions[i] = f;
	}
	s->fraction_count = (uint32_t)json_array_size(value);
	return 0;
}

static int copy_name(json_t *value, char *out)
{
	if (!json_is_string(value) || json_string_length(value) >= NAME_BYTES)
		return -EINVAL;
	snprintf(out, NAME_BYTES, "%s", json_string_value(value));
	return 0;
}

static int uint_in(json_t *value, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(value) || json_integer_value(value) < (json_int_t)min ||
	    (uint64_t)json_integer_value(value) > max)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(value);
	return 0;
}

static int copy_path(json_t *value, char *out)
{
	if (!json_is_string(value) || json_string_length(value) >= PATH_MAX)
		return -EINVAL;
	snprintf(out, PATH_MAX, "%s", json_string_value(value));
	return 0;
}

/* busbard's durability: "disk" (acknowledged after fdatasync) or "memory". */
static int parse_durability(json_t *value, bool *durable)
{
	const char *text = json_string_value(value);
	if (text == NULL || (strcmp(text, "disk") != 0 && strcmp(text, "memory") != 0))
		return -EINVAL;
	*durable = strcmp(text, "disk") == 0;
	return 0;
}

static int apply_key(struct scenario *s, const char *key, json_t *value)
{
	uint64_t n = 0;
	int rc = -ENOENT;
	if (strcmp(key, "description") == 0)
		rc = json_is_string(value) ? 0 : -EINVAL;
	else if (strcmp(key, "transport") == 0)
		rc = copy_name(value, s->transport);
	else if (strcmp(key, "op") == 0)
		rc = json_is_string(value) ? bench_op_parse(json_string_value(value), &s->op)
		                           : -EINVAL;
	else if (strcmp(key, "body_bytes") == 0 &&
	         (rc = uint_in(value, 1, BENCH_BODY_BYTES_MAX, &n)) == 0)
		s->body_bytes = (uint32_t)n;
	else if (strcmp(key, "window") == 0 && (rc = uint_in(value, 1, BENCH_WINDOW_MAX, &n)) == 0)
		s->window = (uint32_t)n;
	else if (strcmp(key, "consumers") == 0 &&
	         (rc = uint_in(value, 0, BENCH_WINDOW_MAX, &n)) == 0)
		s->consumers = (uint32_t)n;
	else if (strcmp(key, "workers") == 0 &&
	         (rc = uint_in(value, 1, BB_WORKER_COUNT_MAX, &n)) == 0)
		s->workers = (uint32_t)n;
	else if (strcmp(key, "rounds") == 0 && (rc = uint_in(value, 1, 100, &n)) == 0)
		s->rounds = (uint32_t)n;
	else if (strcmp(key, "requests") == 0)
		rc = uint_in(value, 1, BB_MESSAGE_SLOTS_PER_WORKER, &s->requests);
	else if (strcmp(key, "store_mbufs_per_worker") == 0 &&
	         (rc = uint_in(value, 1023, 1u << 24, &n)) == 0)
		s->store_mbufs = (uint32_t)n;
	else if (strcmp(key, "warmup_s") == 0 && json_is_number(value))
		rc = (s->warmup_s = json_number_value(value)) >= 0 ? 0 : -EINVAL;
	else if (strcmp(key, "seconds") == 0 && json_is_number(value))
		rc = (s->seconds = json_number_value(value)) > 0 ? 0 : -EINVAL;
	else if (strcmp(key, "open_loop_fractions") == 0)
		rc = copy_fractions(value, s);
	else if (strcmp(key, "systems") == 0)
		rc = copy_list(value, s->systems, &s->system_count);
	else if (strcmp(key, "needs") == 0)
		rc = copy_list(value, s->needs, &s->need_count);
	else if (strcmp(key, "generator_cores") == 0)
		rc = copy_name(value, s->generator_cores);
	else if (strcmp(key, "testpmd_cores") == 0)
		rc = copy_name(value, s->testpmd_cores);
	else if (strcmp(key, "durability") == 0)
		rc = parse_durability(value, &s->durable);
	else if (strcmp(key, "corpus") == 0 || strcmp(key, "rulesets") == 0)
		rc = copy_path(value, strcmp(key, "corpus") == 0 ? s->corpus : s->rulesets);
	else if (strcmp(key, "rule_set") == 0)
		rc = copy_name(value, s->rule_set);
	else if (strcmp(key, "matcher_cores") == 0)
		rc = copy_name(value, s->matcher_cores);
	return rc;
}

static int scenario_load(const char *path, struct scenario *s)
{
	*s = (struct scenario){.op = BENCH_OP_PING,
	                       .body_bytes = 256,
	                       .window = 32,
	                       .workers = 1,
	                       .rounds = 1,
	                       .warmup_s = 1,
	                       .seconds = 10,
	                       .hugepages = true,
	                       .store_mbufs = 65535};
	snprintf(s->transport, NAME_BYTES, "memif");
	snprintf(s->generator_cores, NAME_BYTES, "0");
	snprintf(s->testpmd_cores, NAME_BYTES, "0,1");
	snprintf(s->matcher_cores, NAME_BYTES, "1");
	snprintf(s->rule_set, NAME_BYTES, "COMBO");
	const char *base = strrchr(path, '/');
	snprintf(s->name, NAME_BYTES, "%s", base ? base + 1 : path);
	json_error_t error;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL) {
		fprintf(stderr, "busbar-bench scenario %s:%d: %s\n", path, error.line, error.text);
		return -EINVAL;
	}
	const char *key;
	json_t *value;
	int rc = json_is_object(root) ? 0 : bad(path, "(top)", "expected an object");
	json_object_foreach(root, key, value)
	{
		int key_rc = rc == 0 ? apply_key(s, key, value) : 0;
		if (key_rc != 0)
			rc = bad(path, key, key_rc == -ENOENT ? "unknown key" : "bad value");
	}
	json_decref(root);
	bool known_transport =
	    strcmp(s->transport, "memif") == 0 || strcmp(s->transport, "af_packet") == 0 ||
	    strcmp(s->transport, "af_xdp") == 0;
	if (rc == 0 && !known_transport)
		rc = bad(path, "transport", "memif, af_packet or af_xdp");
	return rc;
}

/* Exit 2 for a need busbar does not know (every need named today is met). */
static int check_needs(const struct scenario *s)
{
	for (uint32_t i = 0; i < s->need_count; i++) {
		bool known = false;
		for (size_t a = 0; a < sizeof(available_features) / sizeof(available_features[0]);
		     a++)
			known |= strcmp(s->needs[i], available_features[a]) == 0;
		if (!known) {
			fprintf(stderr, "busbar-bench scenario %s: unknown need \"%s\"\n", s->name,
			        s->needs[i]);
			return 2;
		}
	}
	return 0;
}

/* How many generator queues "0,2-4" names (one per lcore); 0 when the list is malformed. */
static uint32_t core_count(const char *list)
{
	uint32_t count = 0;
	for (const char *p = list; *p != '\0';) {
		char *end;
		unsigned long first = strtoul(p, &end, 10), last = first;
		if (end == p)
			return 0;
		if (*end == '-') {
			p = end + 1;
			last = strtoul(p, &end, 10);
			if (end == p || last < first)
				return 0;
		}
		count += (uint32_t)(last - first + 1);
		if (*end != ',' && *end != '\0')
			return 0;
		p = *end == ',' ? end + 1 : end;
	}
	return count;
}

/*
 * Nothing consumes what a `send` scenario stores in busbard's queue, which holds at most
 * SQS_QUEUE_MESSAGES_MAX messages and a 1/SQS_QUEUE_SHARE_DIVISOR share of the worker's
 * store (a body of at most BENCH_BODY_BYTES_MAX takes one 2 KiB buffer, docs/operations.md).
 * A run that could send more would end up measuring the full queue's OverLimit answers,
 * so it is refused before anything starts: each run must be counted, with no warm-up (whose
 * sends are not bounded), and all its sends must fit an empty queue.
 */
/* busbard itself, unauthenticated or signed. */
static bool is_busbard(const char *system)
{
	return strcmp(system, "busbard") == 0 || strcmp(system, BUSBARD_SIGNED) == 0;
}

static int check_queue_room(const struct scenario *s)
{
	bool busbard = false;
	for (uint32_t i = 0; i < s->system_count; i++)
		busbard |= is_busbard(s->systems[i]);
	if (!busbard || s->op != BENCH_OP_SEND || s->consumers > 0)
		return 0; /* consumers drain it; should they fall behind, the refusals fail the run */
	uint64_t room = s->store_mbufs / SQS_QUEUE_SHARE_DIVISOR;
	room = room < SQS_QUEUE_MESSAGES_MAX ? room : SQS_QUEUE_MESSAGES_MAX;
	uint64_t sends = s->requests * core_count(s->generator_cores);
	if (s->requests > 0 && s->warmup_s == 0 && sends > 0 && sends <= room)
		return 0;
	fprintf(stderr,
	        "busbar-bench scenario %s: its sends could fill busbard's queue (%llu messages "
	        "at most with store_mbufs_per_worker %u) and measure OverLimit refusals: give "
	        "\"requests\" (per generator queue) that fit, \"warmup_s\": 0, or a larger "
	        "\"store_mbufs_per_worker\"\n",
	        s->name, (unsigned long long)room, s->store_mbufs);
	return -EINVAL;
}

/*
 * put-events needs its corpus and rule set; the runner makes no topic, so publish is driven
 * from the command line (busbar-bench dpdk --op publish --queue TOPIC) against a busbard
 * configured by busbar-control.
 */
static int check_route_options(const struct scenario *s)
{
	if (s->op == BENCH_OP_RECEIVE) {
		fprintf(stderr, "busbar-bench scenario %s: op receive has no scenario set-up: run "
		        "busbar-bench dpdk --op receive\n", s->name);
		return 2;
	}
	if (s->op != BENCH_OP_PUT_EVENTS && s->op != BENCH_OP_PUBLISH)
		return 0;
	bool rules = s->op == BENCH_OP_PUBLISH || s->rulesets[0] != '\0';
	if (s->corpus[0] != '\0' && rules && s->requests > 0 && s->warmup_s == 0)
		return 0;
	fprintf(stderr,
	        "busbar-bench scenario %s: put-events and publish need \"corpus\" (or --corpus; e.g. "
	        "../shared/bench/citylots_gen.py DIR 20000, then DIR/synthetic-citylots2.jlines) "
	        "and (put-events) \"rulesets\", and counted runs (\"requests\", \"warmup_s\": 0) whose "
	        "deliveries fit busbard's store: nothing drains the rules' queues\n",
	        s->name);
	return 2;
}

/* ---- processes ---- */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Prefixes argv with `ip netns exec NS` when the scenario runs in a namespace. */
static void in_netns(const struct run_env *env, const char **argv, uint32_t *argc)
{
	if (env->netns[0] == '\0')
		return;
	argv[(*argc)++] = "ip";
	argv[(*argc)++] = "netns";
	argv[(*argc)++] = "exec";
	argv[(*argc)++] = env->netns;
}

/* Starts argv with stdout and stderr into log (or inherited), stdin from stdin_fd (or none). */
static pid_t spawn(const char **argv, const char *log, int stdin_fd, int stdout_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int null_fd = open("/dev/null", O_RDWR);
	dup2(stdin_fd >= 0 ? stdin_fd : null_fd, 0);
	if (log != NULL) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (stdout_fd >= 0)
		dup2(stdout_fd, 1);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "busbar-bench scenario: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for pid until deadline; returns its exit status, or -ETIMEDOUT. */
static int wait_until(pid_t pid, uint64_t deadline_ms)
{
	for (;;) {
		int status;
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (done < 0 || monotonic_ms() >= deadline_ms)
			return done < 0 ? -errno : -ETIMEDOUT;
		sleep_ms(10);
	}
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (wait_until(pid, monotonic_ms() + STOP_WAIT_MS) == -ETIMEDOUT) {
		fprintf(stderr,
		        "busbar-bench scenario: process %d did not stop on SIGTERM in %u ms; "
		        "killed\n",
		        (int)pid, STOP_WAIT_MS);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Runs a command to its end (bounded), for `ip` set-up; returns its exit status. */
static int run_command(const char **argv)
{
	pid_t pid = spawn(argv, NULL, -1, -1);
	if (pid < 0)
		return -errno;
	int rc = wait_until(pid, monotonic_ms() + STOP_WAIT_MS);
	if (rc == -ETIMEDOUT)
		stop(pid);
	return rc;
}

/* ---- busbard's local socket: the snapshot that creates the benchmark's queue ---- */

static int send_all(int fd, const uint8_t *bytes, size_t length)
{
	while (length > 0) {
		ssize_t n = send(fd, bytes, length, MSG_NOSIGNAL);
		if (n <= 0)
			return -errno;
		bytes += n;
		length -= (size_t)n;
	}
	return 0;
}

/*
 * One request on busbard's Unix socket: frame out, then the reply's header and the body it
 * announces into reply (reply_bytes long); its body length in *body_bytes.
 */
static int local_call(const char *socket_path, const uint8_t *frame, size_t length,
                      uint8_t *reply, size_t reply_bytes, uint32_t *body_bytes)
{
	assert(reply_bytes > BB_WIRE_HEADER_BYTES);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	/* The socket's file appears at bind, a moment before busbard listens (and with a
	 * durable log, its opening may fall in between): refused, try again on a new socket
	 * until the start's deadline. */
	uint64_t deadline = monotonic_ms() + START_WAIT_MS;
	int fd = -1, rc = -ECONNREFUSED;
	while (rc == -ECONNREFUSED && monotonic_ms() < deadline) {
		if (fd >= 0) {
			close(fd);
			sleep_ms(20);
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 ? 0 : -errno;
	}
	struct timeval timeout = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (rc == 0)
		rc = send_all(fd, frame, length);
	if (rc == 0 && recv(fd, reply, BB_WIRE_HEADER_BYTES, MSG_WAITALL) != BB_WIRE_HEADER_BYTES)
		rc = -EIO;
	*body_bytes = rc == 0 ? bb_get_le32(reply + 8) : 0;
	if (rc == 0 && *body_bytes > reply_bytes - BB_WIRE_HEADER_BYTES)
		rc = -EPROTO;
	if (rc == 0 && *body_bytes > 0 &&
	    recv(fd, reply + BB_WIRE_HEADER_BYTES, *body_bytes, MSG_WAITALL) !=
	        (ssize_t)*body_bytes)
		rc = -EIO;
	close(fd);
	return rc;
}

/* The policy of the signed runs' key: the benchmark's queue, every SQS action. */
#define BENCH_KEY_POLICY                                                                           \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":"               \
	"\"arn:aws:sqs:*:*:" SNAPSHOT_QUEUE "\"}]}"

/* The benchmark's key (perf/bench_load.h), so busbard takes the generator's signatures. */
static void put_bench_key(struct wire_writer *w)
{
	wire_put_bytes(w, BB_SNAPSHOT_TAG_KEY_BEGIN, NULL, 0);
	wire_put_u32(w, BB_SNAPSHOT_TAG_KEY_ID, BENCH_KEY_ID);
	wire_put_bytes(w, BB_SNAPSHOT_TAG_KEY_SECRET, BENCH_KEY_SECRET, BB_KEY_SECRET_BYTES);
	wire_put_u64(w, BB_SNAPSHOT_TAG_KEY_EXPIRES_S, 0);
	wire_put_str(w, BB_SNAPSHOT_TAG_KEY_POLICY, BENCH_KEY_POLICY);
}

/*
 * The queue `bench` (a new id each time: a new, empty queue), with the benchmark's key for
 * a signed run (keys need snapshot format 2), or put-events' routing.
 */
static int snapshot_body(const struct run_env *env, uint64_t version, bool with_key,
                         uint8_t *body, size_t capacity, size_t *length)
{
	if (env->route != NULL && env->s->op == BENCH_OP_PUBLISH)
		return bench_route_topic_snapshot(version, body, capacity, length);
	if (env->route != NULL)
		return bench_route_snapshot(env->route, version, env->s->durable, body, capacity,
		                            length);
	struct wire_writer w;
	wire_writer_init(&w, body, capacity);
	if (with_key)
		wire_put_u32(&w, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT);
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, version);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, SNAPSHOT_QUEUE);
	wire_put_u64(&w, WIRE_TAG_QUEUE_ID, version);
	wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, BB_VISIBILITY_TIMEOUT_S_DEFAULT);
	wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, QUEUE_MESSAGE_MAX);
	if (with_key)
		put_bench_key(&w);
	*length = w.length;
	return w.overflow ? -ENOBUFS : 0;
}

static int apply_snapshot(const struct run_env *env, uint64_t version, bool with_key)
{
	static uint8_t frame[SNAPSHOT_FRAME_BYTES];
	size_t body_bytes = 0;
	int rc = snapshot_body(env, version, with_key, frame + BB_WIRE_HEADER_BYTES,
	                       sizeof(frame) - BB_WIRE_HEADER_BYTES, &body_bytes);
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_APPLY_SNAPSHOT,
	                        .body_bytes = (uint32_t)body_bytes,
	                        .request_id = version};
	wire_header_encode(&h, frame);
	/* The reply: a header, then the body it announces (the applied version). */
	uint8_t reply[BB_WIRE_HEADER_BYTES + 1024];
	uint32_t reply_body = 0;
	if (rc == 0)
		rc = local_call(env->busbard_socket, frame, BB_WIRE_HEADER_BYTES + body_bytes,
		                reply, sizeof(reply), &reply_body);
	struct wire_header r;
	if (rc == 0 &&
	    (wire_header_decode(reply, BB_WIRE_HEADER_BYTES + reply_body, &r) != WIRE_OK ||
	     r.status != WIRE_OK))
		rc = -EPROTO;
	if (rc != 0)
		fprintf(stderr, "busbar-bench scenario: applying snapshot %llu: %s\n",
		        (unsigned long long)version, strerror(-rc));
	return rc;
}

/*
 * busbard's fan-out counters after a routing run (GetStats on its socket): deliveries made,
 * and the ones it could not make (a full queue, no buffer, refused publishes), so a rate
 * made of refusals shows. NULL when busbard did not answer.
 */
static json_t *fanout_stats(const struct run_env *env)
{
	uint8_t frame[BB_WIRE_HEADER_BYTES];
	struct wire_header h = {.version = WIRE_VERSION, .opcode = WIRE_OP_GET_STATS};
	wire_header_encode(&h, frame);
	static uint8_t reply[BB_WIRE_HEADER_BYTES + STATS_REPLY_BYTES];
	uint32_t body_bytes = 0;
	if (local_call(env->busbard_socket, frame, sizeof(frame), reply, sizeof(reply),
	               &body_bytes) != 0)
		return NULL;
	json_t *stats = json_object();
	struct wire_reader r;
	struct wire_field f;
	char name[NAME_BYTES] = "";
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, body_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		uint64_t value;
		if (f.tag == WIRE_TAG_STAT_NAME)
			snprintf(name, sizeof(name), "%.*s", (int)f.length, (const char *)f.value);
		else if (f.tag == WIRE_TAG_STAT_VALUE && wire_field_u64(&f, &value) &&
		         strncmp(name, "fanout_", 7) == 0)
			json_object_set_new(stats, name, json_integer((json_int_t)value));
	}
	return stats;
}

/* ---- systems under test ---- */

static const char *server_vdev(const struct run_env *env, char *out, size_t out_bytes)
{
	if (strcmp(env->s->transport, "memif") == 0)
		snprintf(out, out_bytes, "net_memif0,role=server,socket=%s/memif.sock", env->work);
	else
		snprintf(out, out_bytes, "net_%s0,iface=bbv0", env->s->transport);
	return out;
}

static const char *client_vdev(const struct run_env *env, char *out, size_t out_bytes)
{
	if (strcmp(env->s->transport, "memif") == 0)
		snprintf(out, out_bytes, "net_memif0,role=client,socket=%s/memif.sock", env->work);
	else
		snprintf(out, out_bytes, "net_%s0,iface=bbv1", env->s->transport);
	return out;
}

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Total time a system is up: every generator run of it, bounded. */
static uint32_t system_budget_s(const struct scenario *s)
{
	uint32_t runs = s->rounds * (1 + s->fraction_count);
	return (uint32_t)(runs * (s->warmup_s + s->seconds + RUN_MARGIN_S)) + RUN_MARGIN_S;
}

/*
 * busbard's auth options: a signed run's busbard requires signatures, with a source bucket
 * far above any rate here (the generator is one source); the others run unauthenticated.
 */
static const char *auth_config(bool signed_requests)
{
	return signed_requests ? "{\"mode\": \"required\", \"source_rate_per_s\": 100000000, "
	                         "\"source_burst\": 1000000}"
	                       : "{\"mode\": \"none\"}";
}

static pid_t start_busbard(struct run_env *env, bool signed_requests, char *socket_path,
                           size_t socket_bytes)
{
	char config_path[PATH_MAX + 32], state[PATH_MAX + 32], vdev[PATH_MAX + 64],
	    log[PATH_MAX + 32];
	char run_seconds[16];
	const struct scenario *s = env->s;
	snprintf(config_path, sizeof(config_path), "%s/busbard.json", env->work);
	snprintf(state, sizeof(state), "%s/state-%llu", env->work,
	         (unsigned long long)monotonic_ms());
	snprintf(socket_path, socket_bytes, "%s/busbard.sock", env->work);
	snprintf(log, sizeof(log), "%s/busbard.log", env->work);
	FILE *f = fopen(config_path, "w");
	if (f == NULL)
		return -errno;
	/* Unsigned requests (auth mode none, which busbard says at start) unless the system is
	 * busbard-signed: figures beside testpmd measure the path without MACs. */
	fprintf(
	    f,
	    "{\"port\": {\"vdev\": \"%s\", \"ipv4\": \"10.77.0.2\", \"mtu\": 1500},\n"
	    " \"udp_port\": 7600, \"workers\": %u, \"hugepages\": \"%s\", \"memory_mb\": 1536,\n"
	    " \"frame_mbufs\": 8191, \"store_mbufs_per_worker\": %u,\n"
	    " \"auth\": %s, \"durability\": \"%s\",\n"
	    " \"eal_args\": [\"--log-level\", \"lib.eal:error\", \"--file-prefix\", "
	    "\"busbar-scenario-%d\"]}\n",
	    server_vdev(env, vdev, sizeof(vdev)), s->workers, s->hugepages ? "auto" : "off",
	    s->store_mbufs, auth_config(signed_requests), s->durable ? "disk" : "memory",
	    (int)getpid());
	fclose(f);
	snprintf(run_seconds, sizeof(run_seconds), "%u", system_budget_s(s));
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {env->busbard, "--config",    config_path, "--unix-socket",
	                      socket_path,  "--state-dir", state,       "--run-seconds",
	                      run_seconds,  NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	unlink(socket_path);
	pid_t pid = spawn(argv, log, -1, -1);
	uint64_t deadline = monotonic_ms() + START_WAIT_MS;
	pid_t exited = 0;
	while (pid > 0 && !path_exists(socket_path) && monotonic_ms() < deadline &&
	       (exited = waitpid(pid, NULL, WNOHANG)) == 0)
		sleep_ms(20);
	if (pid > 0 && (exited != 0 || !path_exists(socket_path))) {
		fprintf(stderr, "busbar-bench scenario: busbard did not start; see %s\n", log);
		if (exited == 0)
			stop(pid); /* a process already reaped is not signalled: its PID may be
			              reused */
		return -EIO;
	}
	return pid;
}

/* testpmd as the same server: its stdin is a pipe it reads until we close it (or die). */
static pid_t start_testpmd(struct run_env *env, int *stdin_write)
{
	char vdev[PATH_MAX + 64], log[PATH_MAX + 32];
	/* A log per start: readiness is read from it, and an earlier start's must not count. */
	static uint32_t starts;
	snprintf(log, sizeof(log), "%s/testpmd-%u.log", env->work, ++starts);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	char prefix[NAME_BYTES];
	snprintf(prefix, sizeof(prefix), "busbar-testpmd-%d", (int)getpid());
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	/* Line-buffered, so that "Press enter to exit" reaches the log when it is printed. */
	const char *head[] = {"stdbuf",
	                      "-oL",
	                      "dpdk-testpmd",
	                      "-l",
	                      env->s->testpmd_cores,
	                      "--no-pci",
	                      "--vdev",
	                      server_vdev(env, vdev, sizeof(vdev)),
	                      "--log-level",
	                      "lib.eal:error"};
	const char *huge[] = {"--in-memory"};
	const char *no_huge[] = {"--no-huge", "-m", "1024", "--file-prefix", prefix};
	const char *tail[] = {"--",           "--forward-mode=5tswap", "--total-num-mbufs=16384",
	                      "--nb-cores=1", "--disable-link-check",  NULL};
	memcpy(argv + argc, head, sizeof(head));
	argc += sizeof(head) / sizeof(head[0]);
	memcpy(argv + argc, env->s->hugepages ? huge : no_huge,
	       env->s->hugepages ? sizeof(huge) : sizeof(no_huge));
	argc += env->s->hugepages ? 1 : sizeof(no_huge) / sizeof(no_huge[0]);
	memcpy(argv + argc, tail, sizeof(tail));
	pid_t pid = spawn(argv, log, fds[0], -1);
	close(fds[0]);
	*stdin_write = fds[1];
	/* testpmd is up when it says it forwards; the generator then waits for the link. */
	uint64_t deadline = monotonic_ms() + START_WAIT_MS;
	pid_t exited = 0;
	while (pid > 0 && monotonic_ms() < deadline &&
	       (exited = waitpid(pid, NULL, WNOHANG)) == 0) {
		char line[256];
		FILE *f = fopen(log, "r");
		bool ready = false;
		while (f != NULL && !ready && fgets(line, sizeof(line), f) != NULL)
			ready = strstr(line, "Press enter to exit") != NULL;
		if (f != NULL)
			fclose(f);
		if (ready)
			return pid;
		sleep_ms(50);
	}
	fprintf(stderr, "busbar-bench scenario: testpmd did not start; see %s\n", log);
	close(fds[1]);
	if (exited == 0)
		stop(pid);
	return -EIO;
}

static pid_t start_echo(struct run_env *env)
{
	char seconds[16], port[8];
	snprintf(seconds, sizeof(seconds), "%u", system_budget_s(env->s));
	snprintf(port, sizeof(port), "%u", ECHO_PORT);
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {env->self,   "echo-server", "--port", port,
	                      "--seconds", seconds,       NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	pid_t pid = spawn(argv, NULL, -1, -1);
	sleep_ms(200); /* bind; a request before it is resent after 500 ms anyway */
	return pid;
}

/* ---- generator runs ---- */

struct gen_run {
	const char *system;
	bool baseline;
	const char *mode; /* the generator's: dpdk, udp (the echo server), redis */
	double rate;      /* 0: closed loop */
	double fraction;  /* open loop: of the system's closed-loop rate */
	uint32_t round;
};

static uint32_t generator_args(const struct run_env *env, const struct gen_run *g,
                               const char **argv, char text[][NAME_BYTES + PATH_MAX])
{
	const struct scenario *s = env->s;
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	enum bench_op op = g->baseline && s->op == BENCH_OP_CYCLE ? BENCH_OP_SEND : s->op;
	snprintf(text[0], sizeof(text[0]), "%u", s->body_bytes);
	snprintf(text[1], sizeof(text[1]), "%.3f", s->seconds);
	snprintf(text[2], sizeof(text[2]), "%.3f", s->warmup_s);
	snprintf(text[3], sizeof(text[3]), "%u", s->window);
	snprintf(text[4], sizeof(text[4]), "%.0f", g->rate);
	snprintf(text[5], sizeof(text[5]), "%llu", (unsigned long long)s->requests);
	const char *common[] = {env->self,
	                        g->mode,
	                        "--op",
	                        bench_op_name(op),
	                        "--queue",
	                        env->route != NULL ? BENCH_ROUTE_BUS : SNAPSHOT_QUEUE,
	                        "--body-bytes",
	                        text[0],
	                        "--seconds",
	                        text[1],
	                        "--warmup",
	                        text[2],
	                        "--system",
	                        g->system,
	                        "--scenario",
	                        s->name,
	                        g->rate > 0 ? "--rate" : "--window",
	                        g->rate > 0 ? text[4] : text[3]};
	memcpy(argv + argc, common, sizeof(common));
	argc += sizeof(common) / sizeof(common[0]);
	if (s->requests > 0) {
		argv[argc++] = "--requests";
		argv[argc++] = text[5];
	}
	if (g->baseline)
		argv[argc++] = "--baseline";
	if (env->route != NULL) { /* the echo returns the same PutEvents requests */
		argv[argc++] = "--body-file";
		argv[argc++] = env->route->events_path;
	}
	/* Consumers drain busbard's queue; an echo has none, a peer's driver takes none. */
	snprintf(text[8], sizeof(text[8]), "%u", s->consumers);
	if (strcmp(g->system, BUSBARD_SIGNED) == 0)
		argv[argc++] = "--signed";
	if (s->consumers > 0 && is_busbard(g->system)) {
		argv[argc++] = "--consumers";
		argv[argc++] = text[8];
	}
	if (strcmp(g->mode, "udp") == 0) {
		snprintf(text[6], sizeof(text[6]), "%u", ECHO_PORT);
		const char *udp[] = {"--server", "127.0.0.1",   "--port",
		                     text[6],    "--transport", "loopback-kernel-udp"};
		memcpy(argv + argc, udp, sizeof(udp));
		argc += sizeof(udp) / sizeof(udp[0]);
	} else if (strcmp(g->mode, "dpdk") != 0) { /* a peer over loopback TCP */
		bool redis = strcmp(g->mode, "redis") == 0;
		bool rabbitmq = strcmp(g->mode, "rabbitmq") == 0;
		bool http = strcmp(g->mode, "sqs-http") == 0;
		snprintf(text[6], sizeof(text[6]), "%u",
		         redis      ? BENCH_REDIS_PORT
		         : rabbitmq ? BENCH_RABBITMQ_PORT
		         : http     ? BENCH_SQS_HTTP_PORT
		                    : BENCH_NATS_PORT);
		const char *peer[] = {"--port", text[6], "--transport",
		                      http ? "loopback-http" : "loopback-tcp"};
		memcpy(argv + argc, peer, sizeof(peer));
		argc += sizeof(peer) / sizeof(peer[0]);
	} else {
		const char *dpdk[] = {"--vdev",      client_vdev(env, text[7], sizeof(text[7])),
		                      "--cores",     s->generator_cores,
		                      "--transport", s->transport,
		                      "--link-wait", "15"};
		memcpy(argv + argc, dpdk, sizeof(dpdk));
		argc += sizeof(dpdk) / sizeof(dpdk[0]);
		if (g->baseline) /* 5tswap would bounce an ARP request, not answer it */
			argv[argc++] = "--no-arp";
		if (!s->hugepages)
			argv[argc++] = "--no-huge";
	}
	argv[argc] = NULL;
	return argc;
}

/* Runs the child to its end (bounded) and returns what it printed on stdout. */
static int collect(const char **argv, uint64_t deadline_ms, char *out, size_t out_bytes)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	pid_t pid = spawn(argv, NULL, -1, fds[1]);
	close(fds[1]);
	size_t length = 0;
	int rc = -ETIMEDOUT;
	while (monotonic_ms() < deadline_ms) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		if (poll(&p, 1, 20) > 0) {
			char chunk[4096];
			ssize_t n = read(fds[0], chunk, sizeof(chunk));
			if (n == 0)
				break; /* the child closed stdout: it is exiting */
			size_t room = out_bytes - 1 - length;
			size_t keep = n <= 0 ? 0 : (size_t)n < room ? (size_t)n : room;
			memcpy(out + length, chunk, keep);
			length += keep;
		}
	}
	out[length] = '\0';
	close(fds[0]);
	rc = wait_until(pid, deadline_ms + STOP_WAIT_MS);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr,
		        "busbar-bench scenario: generator %d ran past its deadline; killed\n",
		        (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return rc;
}

/*
 * Prints the run's JSON line with the scenario's own keys (put-events: events_per_s, one
 * event a request, and busbard's fan-out counters, stats); returns requests_per_s or -1.
 */
static double report_line(struct run_env *env, const struct gen_run *g, const char *output,
                          json_t *stats)
{
	const char *line = strstr(output, "{\"system\"");
	json_t *row = line != NULL ? json_loadb(line, strcspn(line, "\n"), 0, NULL) : NULL;
	if (row == NULL) {
		fprintf(stderr, "busbar-bench scenario: %s gave no result line\n", g->system);
		env->any_failed = true;
		return -1;
	}
	if (env->s->rounds > 1)
		json_object_set_new(row, "round", json_integer(g->round + 1));
	if (g->rate > 0)
		json_object_set_new(row, "fraction_of_max", json_real(g->fraction));
	if (env->route != NULL && !g->baseline && env->s->op == BENCH_OP_PUT_EVENTS)
		json_object_set(row, "events_per_s", json_object_get(row, "requests_per_s"));
	double seconds = json_number_value(json_object_get(row, "seconds"));
	json_t *deliveries = json_object_get(stats, "fanout_deliveries");
	if (stats != NULL)
		json_object_set(row, "fanout", stats);
	if (deliveries != NULL && seconds > 0) /* made within the run, the drain included */
		json_object_set_new(row, "deliveries_per_s",
		                    json_real((double)json_integer_value(deliveries) / seconds));
	char *text = json_dumps(row, ROW_JSON_FLAGS);
	printf("%s\n", text);
	fflush(stdout);
	free(text);
	double rate = json_number_value(json_object_get(row, "requests_per_s"));
	bool lost = json_integer_value(json_object_get(row, "unanswered")) > 0 ||
	            json_integer_value(json_object_get(row, "errors")) > 0 ||
	            json_integer_value(json_object_get(row, "requests")) == 0;
	if (lost && env->s->check) {
		fprintf(stderr,
		        "busbar-bench scenario: check failed: %s lost or refused requests\n",
		        g->system);
		env->any_failed = true;
	}
	json_decref(row);
	return rate;
}

/* A system under test, started afresh for each generator run. */
struct server {
	pid_t pid;
	int stdin_write; /* testpmd's stdin; closing it ends testpmd */
	pid_t helper;    /* RabbitMQ's epmd, stopped after the node */
};

static pid_t start_redis(struct run_env *env);
static pid_t start_rabbitmq(struct run_env *env, pid_t *epmd);
static pid_t start_nats(struct run_env *env);
static pid_t start_sqs_http(struct run_env *env, pid_t *busbard);

static int server_start(struct run_env *env, const char *system, struct server *out)
{
	*out = (struct server){.pid = -1, .stdin_write = -1, .helper = -1};
	if (is_busbard(system))
		out->pid = start_busbard(env, strcmp(system, BUSBARD_SIGNED) == 0,
		                         env->busbard_socket, sizeof(env->busbard_socket));
	else if (strcmp(system, "testpmd-5tswap") == 0)
		out->pid = start_testpmd(env, &out->stdin_write);
	else if (strcmp(system, "redis-streams") == 0)
		out->pid = start_redis(env);
	else if (strcmp(system, "rabbitmq-quorum") == 0)
		out->pid = start_rabbitmq(env, &out->helper);
	else if (strcmp(system, "nats-jetstream") == 0)
		out->pid = start_nats(env);
	else if (strcmp(system, "busbar-sqs-http") == 0)
		out->pid = start_sqs_http(env, &out->helper);
	else
		out->pid = start_echo(env);
	if (out->pid <= 0)
		stop(out->helper);
	return out->pid > 0 ? 0 : -EIO;
}

static void server_stop(struct server *s)
{
	if (s->stdin_write >= 0)
		close(s->stdin_write); /* testpmd reads EOF and exits */
	stop(s->pid);
	stop(s->helper);
}

/*
 * One generator run against a freshly started system: a DPDK memif server (busbard's
 * and testpmd's alike, DPDK 22.11) stops accepting clients after some connections, and a
 * fresh start also gives every run the same empty state.
 */
static double run_generator(struct run_env *env, const struct gen_run *g)
{
	const char *argv[ARGS_MAX];
	static char text[9][NAME_BYTES + PATH_MAX];
	generator_args(env, g, argv, text);
	static char output[OUTPUT_BYTES_MAX];
	struct server server;
	if (server_start(env, g->system, &server) != 0) {
		env->any_failed = true;
		return -1;
	}
	bool signed_requests = strcmp(g->system, BUSBARD_SIGNED) == 0;
	bool needs_queue = env->s->op != BENCH_OP_PING && is_busbard(g->system);
	int rc = needs_queue || signed_requests
	             ? apply_snapshot(env, ++env->snapshot_version, signed_requests)
	             : 0;
	uint64_t deadline = monotonic_ms() +
	                    (uint64_t)((env->s->warmup_s + env->s->seconds + RUN_MARGIN_S) * 1000);
	if (rc == 0)
		rc = collect(argv, deadline, output, sizeof(output));
	/* Routed: what busbard did with the events after accepting them, read before it stops. */
	json_t *stats = needs_queue && env->route != NULL ? fanout_stats(env) : NULL;
	server_stop(&server);
	if (rc == BENCH_EXIT_REFUSED) {
		/* Its line is kept (what was refused shows there); its rate is not a figure. */
		report_line(env, g, output, stats);
		fprintf(stderr, "busbar-bench scenario: %s: refusals dominate the run; no rate\n",
		        g->system);
	}
	if (rc != 0) {
		fprintf(stderr, "busbar-bench scenario: %s run failed (%d)\n", g->system, rc);
		env->any_failed = true;
		json_decref(stats);
		return -1;
	}
	double rate = report_line(env, g, output, stats);
	json_decref(stats);
	return rate;
}

/* The closed-loop run, then the open-loop ones at fractions of its rate; returns its rate. */
static double run_loads(struct run_env *env, struct gen_run g)
{
	g.rate = 0;
	double max_rate = run_generator(env, &g);
	/* Cycles run closed-loop only (but on the echoes, which answer send-sized requests). */
	bool open_loop = env->s->op != BENCH_OP_CYCLE || g.baseline;
	for (uint32_t i = 0; open_loop && max_rate > 0 && i < env->s->fraction_count; i++) {
		g.fraction = env->s->fractions[i];
		g.rate = max_rate * g.fraction;
		run_generator(env, &g);
	}
	return max_rate;
}

/* ---- systems, one after another ---- */

/* Waits until pid listens on 127.0.0.1:port; on failure stops it and says so. */
static pid_t wait_listening(pid_t pid, uint16_t port, const char *name, const char *log)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_port = htons(port),
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint64_t deadline = monotonic_ms() + PEER_START_WAIT_MS;
	pid_t exited = 0;
	while (pid > 0 && monotonic_ms() < deadline &&
	       (exited = waitpid(pid, NULL, WNOHANG)) == 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool up = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
		close(fd);
		if (up)
			return pid;
		sleep_ms(50);
	}
	fprintf(stderr, "busbar-bench scenario: %s did not listen in %u s; see %s\n", name,
	        PEER_START_WAIT_MS / 1000, log);
	if (pid > 0 && exited == 0)
		stop(pid); /* a process already reaped is not signalled: its PID may be reused */
	return -EIO;
}

/* A fresh directory for one start of a peer: every run begins from an empty store. */
static int peer_dir(const struct run_env *env, const char *name, char *dir, size_t dir_bytes,
                    char *log, size_t log_bytes)
{
	static uint32_t starts;
	assert(dir_bytes >= sizeof(env->work) + NAME_BYTES); /* the name is cut to half that */
	snprintf(dir, dir_bytes, "%s/%.*s-%u", env->work, (int)NAME_BYTES / 2, name, ++starts);
	snprintf(log, log_bytes, "%s.log", dir);
	return mkdir(dir, 0700) == 0 ? 0 : -errno;
}

/* Redis as the peer: AOF on, fsync before every reply, no snapshots; in the run's directory. */
static pid_t start_redis(struct run_env *env)
{
	char dir[PATH_MAX + 64], log[PATH_MAX + 72], port[8];
	if (peer_dir(env, "redis", dir, sizeof(dir), log, sizeof(log)) != 0)
		return -EIO;
	snprintf(port, sizeof(port), "%u", BENCH_REDIS_PORT);
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {"redis-server", "--port",       port,   "--bind",        "127.0.0.1",
	                      "--dir",        dir,            "--appendonly", "yes",
	                      "--appendfsync", "always",      "--save", "",  "--daemonize", "no",
	                      NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	return wait_listening(spawn(argv, log, -1, -1), BENCH_REDIS_PORT, "redis-server", log);
}

/*
 * RabbitMQ from Debian's package, as a node of its own: its scripts would start epmd as a
 * daemon nobody stops, so the runner starts epmd first (a child, on a port of its own) and
 * the node finds it there. RUNNING_UNDER_SYSTEMD makes the script exec the Erlang VM, so
 * the PID spawned is the VM's. Everything (database, logs, cookie) is in the run's directory.
 */
static pid_t start_rabbitmq(struct run_env *env, pid_t *epmd)
{
	char dir[PATH_MAX + 64], log[PATH_MAX + 72], text[8][PATH_MAX + 128];
	if (peer_dir(env, "rabbitmq", dir, sizeof(dir), log, sizeof(log)) != 0)
		return -EIO;
	snprintf(text[0], sizeof(text[0]), "%s/rabbitmq.conf", dir);
	FILE *f = fopen(text[0], "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "listeners.tcp.default = 127.0.0.1:%u\n", BENCH_RABBITMQ_PORT);
	fclose(f);
	snprintf(text[0], sizeof(text[0]), "%s/enabled_plugins", dir);
	f = fopen(text[0], "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "[].\n"); /* no management plugin: nothing but the broker */
	fclose(f);
	char epmd_port[8];
	snprintf(epmd_port, sizeof(epmd_port), "%u", BENCH_EPMD_PORT);
	const char *epmd_argv[] = {"epmd", "-port", epmd_port, "-address", "127.0.0.1", NULL};
	*epmd = spawn(epmd_argv, log, -1, -1);
	if (wait_listening(*epmd, BENCH_EPMD_PORT, "epmd", log) < 0)
		return -EIO;
	snprintf(text[0], sizeof(text[0]), "HOME=%s", dir);
	snprintf(text[1], sizeof(text[1]), "ERL_EPMD_PORT=%u", BENCH_EPMD_PORT);
	snprintf(text[2], sizeof(text[2]), "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
	snprintf(text[3], sizeof(text[3]), "RABBITMQ_LOG_BASE=%s/log", dir);
	snprintf(text[4], sizeof(text[4]), "RABBITMQ_CONFIG_FILE=%s/rabbitmq", dir);
	snprintf(text[5], sizeof(text[5]), "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", dir);
	snprintf(text[6], sizeof(text[6]), "RABBITMQ_DIST_PORT=%u", BENCH_RABBITMQ_PORT + 20000);
	snprintf(text[7], sizeof(text[7]), "RABBITMQ_PID_FILE=%s/pid", dir);
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {"env",   text[0], text[1], text[2], text[3], text[4], text[5],
	                      text[6], text[7], "RUNNING_UNDER_SYSTEMD=true",
	                      "RABBITMQ_NODENAME=busbarbench@localhost", RABBITMQ_SERVER, NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	return wait_listening(spawn(argv, log, -1, -1), BENCH_RABBITMQ_PORT, "rabbitmq-server",
	                      log);
}

/* nats-server with JetStream, storing in the run's directory (file storage: bench_nats.c). */
static pid_t start_nats(struct run_env *env)
{
	char dir[PATH_MAX + 64], log[PATH_MAX + 72], port[8];
	if (peer_dir(env, "nats", dir, sizeof(dir), log, sizeof(log)) != 0)
		return -EIO;
	snprintf(port, sizeof(port), "%u", BENCH_NATS_PORT);
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {"nats-server", "--addr", "127.0.0.1", "--port", port, "--jetstream",
	                      "--store_dir", dir,      NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	return wait_listening(spawn(argv, log, -1, -1), BENCH_NATS_PORT, "nats-server", log);
}

/* The signing key of a fresh busbar-control database, into the driver's environment. */
static int take_key(const char *output)
{
	json_t *root = json_loads(output, 0, NULL);
	json_t *key = json_object_get(root, "Key");
	const char *id = json_string_value(json_object_get(key, "AccessKeyId"));
	const char *secret = json_string_value(json_object_get(key, "SecretAccessKey"));
	int rc = id != NULL && secret != NULL ? 0 : -EPROTO;
	if (rc == 0 && (setenv("BENCH_SQS_KEY_ID", id, 1) != 0 ||
	                setenv("BENCH_SQS_SECRET", secret, 1) != 0))
		rc = -errno;
	json_decref(root);
	return rc;
}

/*
 * busbar's own SQS HTTP API as a system: busbard as for its own runs (the scenario's
 * durability; its port idle) behind busbar-control on 127.0.0.1:BENCH_SQS_HTTP_PORT with
 * a fresh database and a key allowed sqs:*, which the driver (bench_sqs_http.c) signs
 * with. busbard is the helper: stopped after busbar-control.
 */
static pid_t start_sqs_http(struct run_env *env, pid_t *busbard)
{
	char dir[PATH_MAX + 64], log[PATH_MAX + 72], db[PATH_MAX + 80], listen[32],
	    run_seconds[16];
	static char output[OUTPUT_BYTES_MAX];
	if (peer_dir(env, "control", dir, sizeof(dir), log, sizeof(log)) != 0)
		return -EIO;
	*busbard = start_busbard(env, false, env->busbard_socket, sizeof(env->busbard_socket));
	if (*busbard <= 0)
		return -EIO;
	snprintf(db, sizeof(db), "%s/control.db", dir);
	const char *keys[] = {env->control, "keys", "--db", db, "create", "--policy",
	                      SQS_HTTP_POLICY, NULL};
	if (collect(keys, monotonic_ms() + STOP_WAIT_MS, output, sizeof(output)) != 0 ||
	    take_key(output) != 0) {
		fprintf(stderr, "busbar-bench scenario: no key from %s keys create\n", env->control);
		return -EIO;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", BENCH_SQS_HTTP_PORT);
	snprintf(run_seconds, sizeof(run_seconds), "%u", system_budget_s(env->s));
	const char *argv[ARGS_MAX];
	uint32_t argc = 0;
	in_netns(env, argv, &argc);
	const char *tail[] = {env->control, "--db",     db,          "--busbard-socket",
	                      env->busbard_socket,      "--listen",  listen,
	                      "--run-seconds",          run_seconds, NULL};
	memcpy(argv + argc, tail, sizeof(tail));
	return wait_listening(spawn(argv, log, -1, -1), BENCH_SQS_HTTP_PORT, "busbar-control",
	                      log);
}

/* Every system a scenario may name, and the generator mode that drives it. */
static const struct {
	const char *system;
	const char *mode;
	bool baseline, peer;
} systems[] = {
    {"busbard", "dpdk", false, false},
    /* busbard requiring signatures: the generator signs, and checks the replies' MACs. */
    {BUSBARD_SIGNED, "dpdk", false, false},
    {"testpmd-5tswap", "dpdk", true, false},
    {"kernel-udp-echo", "udp", true, false},
    {"redis-streams", "redis", false, true},
    {"rabbitmq-quorum", "rabbitmq", false, true},
    {"nats-jetstream", "nats", false, true},
    /* busbar itself through busbar-control's SQS HTTP API: needs what busbard needs. */
    {"busbar-sqs-http", "sqs-http", false, false},
};

static int system_index(const char *system)
{
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]); i++) {
		if (strcmp(systems[i].system, system) == 0)
			return (int)i;
	}
	return -1;
}

static bool system_is_known(const char *system)
{
	return system_index(system) >= 0;
}

static void run_system(struct run_env *env, uint32_t index)
{
	const char *system = env->s->systems[index];
	bool busbard = strcmp(system, "busbard") == 0;
	int known = system_index(system);
	assert(known >= 0); /* checked at start */
	struct gen_run g = {
	    .system = system,
	    .baseline = systems[known].baseline,
	    .mode = systems[known].mode,
	};
	double rate_sum = 0;
	for (g.round = 0; g.round < env->s->rounds; g.round++)
		rate_sum += run_loads(env, g);
	double mean = rate_sum / env->s->rounds;
	if (busbard)
		env->busbard_rate = mean;
	else
		env->baseline_rates[index] = mean;
}

/* put-events: the events and rules into the work directory, for both runs. */
static int route_prepare(struct run_env *env)
{
	static struct bench_route route;
	const struct scenario *s = env->s;
	bool rules = s->op == BENCH_OP_PUT_EVENTS;
	int rc = bench_route_prepare(&route, s->corpus, rules ? s->rulesets : NULL, s->rule_set,
	                             env->work);
	if (rc != 0)
		return rc;
	env->route = &route;
	fprintf(stderr,
	        "busbar-bench scenario: %u events of %s (%u longer than %u bytes left out), "
	        "%u rules of %s\n",
	        route.event_count, s->corpus, route.events_skipped, BENCH_BODY_BYTES_MAX,
	        route.rule_count, rules ? s->rule_set : "none (publish)");
	return 0;
}

/* Matches per event over the matcher's counts (one per pattern, over every pass). */
static double matches_per_event(json_t *line)
{
	size_t i;
	json_t *count;
	double total = 0;
	json_array_foreach(json_object_get(line, "counts"), i, count)
		total += (double)json_integer_value(count);
	double events = (double)json_integer_value(json_object_get(line, "events"));
	return events > 0 ? total / events : 0;
}

/*
 * busbar-bench filters on the same events and patterns, on the worker's core: the full scan
 * (validating while matching, as PutEvents must) of every event against every rule.
 */
static void run_matcher_alone(struct run_env *env)
{
	const struct bench_route *r = env->route;
	const char *argv[] = {"taskset",     "-c",       env->s->matcher_cores, env->self,
	                      "filters",     "--corpus", r->matcher_path,       "--patterns",
	                      r->patterns_path, NULL};
	static char output[OUTPUT_BYTES_MAX];
	int rc = collect(argv, monotonic_ms() + START_WAIT_MS, output, sizeof(output));
	char key[NAME_BYTES + 16];
	snprintf(key, sizeof(key), "{\"set\":\"%s\"", env->s->rule_set);
	const char *text = strstr(output, key);
	json_t *line = text != NULL ? json_loadb(text, strcspn(text, "\n"), 0, NULL) : NULL;
	if (rc != 0 || line == NULL) {
		fprintf(stderr, "busbar-bench scenario: the matcher-alone run failed (%d)\n", rc);
		env->any_failed = true;
		json_decref(line);
		return;
	}
	env->matcher_rate = json_number_value(json_object_get(line, "events_per_s"));
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:I, s:i, s:f, s:I}", "system",
	                        "busbar-bench-filters", "mode", "matcher-alone", "op",
	                        "put-events", "scenario", env->s->name, "rule_set",
	                        env->s->rule_set, "events_per_s", env->matcher_rate, "events",
	                        json_integer_value(json_object_get(line, "events")), "rules",
	                        (int)r->rule_count, "matches_per_event",
	                        matches_per_event(line), "errors",
	                        json_integer_value(json_object_get(line, "errors")));
	char *dump = json_dumps(row, ROW_JSON_FLAGS);
	printf("%s\n", dump);
	fflush(stdout);
	free(dump);
	json_decref(row);
	json_decref(line);
}

/* The last line: busbard's closed-loop rate as a fraction of each baseline's. */
static void print_summary(const struct run_env *env)
{
	json_t *row = json_object();
	json_object_set_new(row, "scenario", json_string(env->s->name));
	json_object_set_new(row, "summary", json_true());
	json_object_set_new(row, "busbard_requests_per_s", json_real(env->busbard_rate));
	json_t *fractions = json_object();
	for (uint32_t i = 0; i < env->s->system_count; i++) {
		if (env->baseline_rates[i] <= 0 || env->busbard_rate <= 0)
			continue;
		if (strcmp(env->s->systems[i], BUSBARD_SIGNED) == 0) /* signed beside unsigned */
			json_object_set_new(row, "signed_fraction_of_unsigned",
			                    json_real(env->baseline_rates[i] / env->busbard_rate));
		else
			json_object_set_new(fractions, env->s->systems[i],
			                    json_real(env->busbard_rate / env->baseline_rates[i]));
	}
	if (env->matcher_rate > 0)
		json_object_set_new(fractions, "matcher-alone",
		                    json_real(env->busbard_rate / env->matcher_rate));
	json_object_set_new(row, "busbard_fraction_of", fractions);
	char *text = json_dumps(row, ROW_JSON_FLAGS);
	printf("%s\n", text);
	free(text);
	json_decref(row);
}

/* ---- the namespace of the af_packet and af_xdp transports ---- */

static int netns_up(struct run_env *env)
{
	snprintf(env->netns, sizeof(env->netns), "bbbench%d", (int)getpid());
	const char *add[] = {"ip", "netns", "add", env->netns, NULL};
	const char *veth[] = {"ip",   "-n",   env->netns, "link", "add",  "bbv0",
	                      "type", "veth", "peer",     "name", "bbv1", NULL};
	const char *up0[] = {"ip", "-n", env->netns, "link", "set", "bbv0", "up", NULL};
	const char *up1[] = {"ip", "-n", env->netns, "link", "set", "bbv1", "up", NULL};
	const char *lo[] = {"ip", "-n", env->netns, "link", "set", "lo", "up", NULL};
	if (run_command(add) != 0) {
		env->netns[0] = '\0';
		fprintf(stderr,
		        "busbar-bench scenario: %s needs a network namespace (root)\n",
		        env->s->transport);
		return -EPERM;
	}
	bool ok = run_command(veth) == 0 && run_command(up0) == 0 && run_command(up1) == 0 &&
	          run_command(lo) == 0;
	return ok ? 0 : -EIO;
}

static void netns_down(struct run_env *env)
{
	if (env->netns[0] == '\0')
		return;
	const char *del[] = {"ip", "netns", "del", env->netns, NULL};
	run_command(del);
}

/* ---- the command ---- */

/* "a,b,c" into a list of names, as the file's arrays. */
static int split_names(const char *text, char list[][NAME_BYTES], uint32_t *count)
{
	uint32_t n = 0;
	for (const char *p = text; *p != '\0' && n < LIST_MAX; n++) {
		size_t length = strcspn(p, ",");
		if (length == 0 || length >= NAME_BYTES)
			return -EINVAL;
		snprintf(list[n], NAME_BYTES, "%.*s", (int)length, p);
		p += length + (p[length] == ',');
	}
	*count = n;
	return 0;
}

/* "0.2,0.5" into the open-loop fractions; "" or "none" for no open-loop runs. */
static int split_fractions(const char *text, struct scenario *s)
{
	char names[LIST_MAX][NAME_BYTES];
	uint32_t count = 0;
	if (strcmp(text, "none") != 0 && split_names(text, names, &count) != 0)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		s->fractions[i] = atof(names[i]);
		if (s->fractions[i] <= 0 || s->fractions[i] > 1)
			return -EINVAL;
	}
	s->fraction_count = count;
	return 0;
}

static int parse_overrides(int argc, char **argv, struct scenario *s)
{
	static const struct option longs[] = {
	    {"seconds", required_argument, NULL, 't'},   {"warmup", required_argument, NULL, 'w'},
	    {"requests", required_argument, NULL, 'n'},  {"rounds", required_argument, NULL, 'r'},
	    {"no-huge", no_argument, NULL, 'H'},         {"check", no_argument, NULL, 'c'},
	    {"fractions", required_argument, NULL, 'f'}, {"systems", required_argument, NULL, 's'},
	    {"window", required_argument, NULL, 'W'},    {"corpus", required_argument, NULL, 'C'},
	    {"rulesets", required_argument, NULL, 'R'}, {"rule-set", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	int key;
	bool lists_ok = true;
	optind = 3;
	while ((key = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (key) {
		case 't': s->seconds = atof(optarg); break;
		case 'w': s->warmup_s = atof(optarg); break;
		case 'n': s->requests = strtoull(optarg, NULL, 10); break;
		case 'r': s->rounds = (uint32_t)atoi(optarg); break;
		case 'H': s->hugepages = false; break;
		case 'c': s->check = true; break;
		case 'W': s->window = (uint32_t)atoi(optarg); break;
		case 'C': lists_ok &= snprintf(s->corpus, PATH_MAX, "%s", optarg) < PATH_MAX; break;
		case 'R': lists_ok &= snprintf(s->rulesets, PATH_MAX, "%s", optarg) < PATH_MAX; break;
		case 'S':
			lists_ok &= snprintf(s->rule_set, NAME_BYTES, "%s", optarg) < (int)NAME_BYTES;
			break;
		case 'f': lists_ok &= split_fractions(optarg, s) == 0; break;
		case 's':
			lists_ok &= split_names(optarg, s->systems, &s->system_count) == 0;
			break;
		default: return -EINVAL;
		}
	}
	bool ok = lists_ok && optind == argc && s->seconds > 0 && s->warmup_s >= 0 &&
	          s->rounds >= 1 && s->requests <= BB_MESSAGE_SLOTS_PER_WORKER;
	return ok ? 0 : -EINVAL;
}

static int env_init(struct run_env *env, const struct scenario *s)
{
	memset(env, 0, sizeof(*env));
	env->s = s;
	ssize_t n = readlink("/proc/self/exe", env->self, sizeof(env->self) - 1);
	if (n <= 0)
		return -errno;
	env->self[n] = '\0';
	const char *busbard = getenv("BUSBARD");
	if (busbard != NULL) {
		snprintf(env->busbard, sizeof(env->busbard), "%s", busbard);
	} else {
		/* BUILD/perf/busbar-bench -> BUILD/dataplane/busbard */
		char *slash = strrchr(env->self, '/');
		int dir_bytes = (int)(slash - env->self);
		snprintf(env->busbard, sizeof(env->busbard), "%.*s/../dataplane/busbard",
		         dir_bytes, env->self);
	}
	const char *control = getenv("BUSBAR_CONTROL");
	char *slash = strrchr(env->self, '/');
	if (control != NULL)
		snprintf(env->control, sizeof(env->control), "%s", control);
	else
		snprintf(env->control, sizeof(env->control), "%.*s/../control/busbar-control",
		         (int)(slash - env->self), env->self);
	snprintf(env->work, sizeof(env->work), "/tmp/busbar-bench.XXXXXX");
	if (mkdtemp(env->work) == NULL)
		return -errno;
	return 0;
}

static void remove_work(const struct run_env *env)
{
	const char *rm[] = {"rm", "-rf", env->work, NULL};
	if (env->any_failed) {
		fprintf(stderr, "busbar-bench scenario: logs kept in %s\n", env->work);
		return;
	}
	run_command(rm);
}

int bench_scenario_main(int argc, char **argv)
{
	static struct scenario s;
	if (argc < 3 || scenario_load(argv[2], &s) != 0 || parse_overrides(argc, argv, &s) != 0) {
		fprintf(stderr, "usage: busbar-bench scenario FILE [--seconds S] [--warmup S] "
		                "[--requests N] [--rounds N] [--fractions F,F] [--systems A,B]\n"
		                "       [--window W] [--no-huge] [--check] [--corpus FILE]\n"
		                "       [--rulesets FILE] [--rule-set NAME]\n");
		return 2;
	}
	if (check_queue_room(&s) != 0)
		return 2;
	for (uint32_t i = 0; i < s.system_count; i++) {
		if (!system_is_known(s.systems[i])) {
			fprintf(stderr, "busbar-bench scenario: unknown system %s\n",
			        s.systems[i]);
			return 2;
		}
	}
	int rc = check_needs(&s);
	if (rc == 0)
		rc = check_route_options(&s);
	if (rc != 0)
		return rc;
	static struct run_env env;
	if (env_init(&env, &s) != 0)
		return 1;
	bool routed = s.op == BENCH_OP_PUT_EVENTS || s.op == BENCH_OP_PUBLISH;
	if (routed && route_prepare(&env) != 0)
		env.any_failed = true;
	if (!env.any_failed && strcmp(s.transport, "memif") != 0 && netns_up(&env) != 0)
		env.any_failed = true;
	for (uint32_t i = 0; !env.any_failed && i < s.system_count; i++)
		run_system(&env, i);
	if (!env.any_failed && env.route != NULL && env.route->rule_count > 0)
		run_matcher_alone(&env);
	if (!env.any_failed && env.busbard_rate > 0)
		print_summary(&env);
	netns_down(&env);
	remove_work(&env);
	return env.any_failed ? 1 : 0;
}

/*
 * busbard: the dataplane process. Reads the appliance configuration, starts
 * the EAL (with hugepages when the machine has them, else --no-huge, said
 * out loud with the reason), brings up the port with one RX/TX queue pair per
 * worker (and gives a tap's kernel side its address), starts the worker
 * lcores and runs the service thread on the main lcore until SIGINT/SIGTERM
 * (or --run-seconds, which bounds test runs).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "bb_endian.h"
#include "bb_hugepages.h"
#include "bb_limits.h"
#include "dp_app.h"
#include "dp_config.h"
#include "dp_service.h"
#include "dp_worker.h"

#define EAL_ARGS_MAX          (DP_CONFIG_EAL_ARGS_MAX + 16)
#define FRAME_DATA_ROOM_BYTES (RTE_PKTMBUF_HEADROOM + 9216) /* one jumbo frame */
#define TX_DESCRIPTORS        1024
#define SERVICE_POLL_MS       1

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
	(void)signal_number;
	stop_requested = 1;
}

struct options {
	const char *config_path;
	const char *unix_socket;
	const char *state_dir;
	long run_seconds; /* 0: until a signal */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: busbard [--config FILE] [--unix-socket PATH] [--state-dir DIR]\n"
	             "               [--run-seconds N]\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"unix-socket", required_argument, NULL, 'u'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"run-seconds", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config_path = optarg; break;
		case 'u': o->unix_socket = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'r': o->run_seconds = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* Why busbard runs without hugepages, or NULL when it uses them. */
static const char *why_no_hugepages(enum dp_hugepages mode)
{
	if (mode == DP_HUGEPAGES_OFF)
		return "hugepages are off in the config";
	struct stat st;
	if (bb_hugepages_free() == 0)
		return "no hugepages are free";
	if (stat("/dev/hugepages", &st) != 0)
		return "hugetlbfs is not mounted on /dev/hugepages";
	return NULL;
}

/*
 * The lcores: 0 (the service thread) and one per worker, each on a CPU of its own when the
 * machine has enough ("-l 0-N"). With fewer CPUs than lcores they are placed on the CPUs
 * in turn ("--lcores 0@0,1@1,2@0"), so the same configuration runs on a small machine
 * (tests, a two-core VM): the workers then share CPUs and busy-poll in turn, which is
 * correct but slow, and busbard says so. Returns the EAL option; `out` gets its value.
 */
static const char *lcore_layout(uint32_t workers, char *out, size_t out_bytes)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert(workers >= 1 && workers <= BB_WORKER_COUNT_MAX && out_bytes >= 64);
	if (cpus < 1 || (uint32_t)cpus > workers) {
		snprintf(out, out_bytes, "0-%u", workers);
		return "-l";
	}
	size_t used = 0;
	for (uint32_t lcore = 0; lcore <= workers; lcore++) {
		used += (size_t)snprintf(out + used, out_bytes - used, "%s%u@%ld",
		                         lcore == 0 ? "" : ",", lcore, (long)lcore % cpus);
		assert(used < out_bytes);
	}
	fprintf(stderr, "busbard: %u workers and the service thread on %ld CPUs: lcores share "
	                "CPUs (%s); fine for tests, slow for benchmarks\n",
	        workers, cpus, out);
	return "--lcores";
}

/* Builds the EAL argument list; strings point into storage or the config. */
static int build_eal_args(const struct dp_config *c, char storage[4][64], char **argv)
{
	int argc = 0;
	argv[argc++] = "busbard";
	argv[argc++] = (char *)lcore_layout(c->workers, storage[0], sizeof(storage[0]));
	argv[argc++] = storage[0];
	argv[argc++] = "--vdev";
	argv[argc++] = (char *)c->vdev;
	argv[argc++] = "--no-pci";
	const char *why_not = why_no_hugepages(c->hugepages);
	if (why_not != NULL && c->hugepages == DP_HUGEPAGES_REQUIRED) {
		fprintf(stderr, "busbard: hugepages are required by the config but %s\n",
		        why_not);
		return -ENOMEM;
	}
	if (why_not == NULL) {
		argv[argc++] = "--in-memory"; /* no hugepage files outlive the process */
	} else {
		fprintf(stderr, "busbard: %s; running with --no-huge -m %u\n", why_not,
		        c->memory_mb);
		snprintf(storage[1], 64, "%u", c->memory_mb);
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = storage[1];
	}
	for (uint32_t i = 0; i < c->eal_arg_count; i++)
		argv[argc++] = (char *)c->eal_args[i];
	argv[argc] = NULL;
	return argc;
}

/* The first DPDK port, which busbard serves; -ENODEV when the EAL found none. */
static int port_find(const struct dp_config *c, uint16_t *port_out)
{
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "busbard: no DPDK port (vdev \"%s\")\n", c->vdev);
		return -ENODEV;
	}
	uint16_t port = 0;
	RTE_ETH_FOREACH_DEV(port) break;
	assert(rte_eth_dev_is_valid_port(port));
	*port_out = port;
	return 0;
}

/*
 * The frames' data room: one jumbo frame for the ports that copy (net_tap, net_memif,
 * net_af_packet, real NICs). net_af_xdp makes the frame pool its umem, one chunk per mbuf,
 * and the kernel takes chunks of at most a page (xdp_umem_reg refuses more with EINVAL,
 * "Failed to create umem"): there the whole mempool object, its header, the mbuf and
 * busbard's private area included, must fit in a page.
 */
static uint16_t frame_data_room(uint16_t port)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0 || strcmp(info.driver_name, "net_af_xdp") != 0)
		return FRAME_DATA_ROOM_BYTES;
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint32_t mbuf_bytes = (uint32_t)(sizeof(struct rte_mbuf) + DP_MBUF_PRIV_BYTES);
	uint32_t room = page - mbuf_bytes;
	struct rte_mempool_objsz size;
	/* The pool pads objects (header, spread over memory channels): step down until it fits. */
	while (rte_mempool_calc_obj_size(mbuf_bytes + room, 0, &size) > page)
		room -= RTE_CACHE_LINE_SIZE;
	assert(room > RTE_PKTMBUF_HEADROOM && room < page);
	return (uint16_t)room;
}

static int port_init(struct dp_app *app, const struct dp_config *c)
{
	uint16_t port = app->port_id;
	uint16_t queues = (uint16_t)app->worker_count;
	struct rte_eth_dev_info info;
	/* rte_eth_dev_configure refuses it too, but as "Invalid argument" alone. */
	if (rte_eth_dev_info_get(port, &info) == 0 && c->mtu > info.max_mtu) {
		fprintf(stderr, "busbard: port.mtu %u is more than port %u (%s) takes: %u\n", c->mtu,
		        port, info.driver_name, info.max_mtu);
		return -EINVAL;
	}
	struct rte_eth_conf conf = {.rxmode = {.mtu = c->mtu}};
	int rc = rte_eth_dev_configure(port, queues, queues, &conf);
	uint16_t rx_descriptors = BB_RX_DESCRIPTORS_PER_WORKER, tx_descriptors = TX_DESCRIPTORS;
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_descriptors, &tx_descriptors);
	/* frame_mbufs' least (dp_config.c) counts BB_RX_DESCRIPTORS_PER_WORKER per worker. */
	if (rc == 0 && rx_descriptors > BB_RX_DESCRIPTORS_PER_WORKER) {
		fprintf(stderr, "busbard: port %u needs %u RX descriptors a queue, more than %u\n",
		        port, rx_descriptors, BB_RX_DESCRIPTORS_PER_WORKER);
		return -ENOTSUP;
	}
	int socket_id = rte_eth_dev_socket_id(port);
	for (uint16_t q = 0; rc == 0 && q < queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, rx_descriptors, socket_id, NULL,
		                            app->frame_pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, tx_descriptors, socket_id, NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc == 0)
		rc = rte_eth_macaddr_get(port, &app->net_config.mac);
	if (rc != 0)
		fprintf(stderr, "busbard: port %u setup failed: %s\n", port, rte_strerror(-rc));
	return rc;
}

/*
 * Gives the port's kernel interface (net_tap's) the configured address and brings it up.
 * net_tap makes its interface anew at every start, so an address given by hand once is
 * gone after a restart and clients would find the network unreachable.
 */
static int kernel_address_apply(uint16_t port, const struct dp_config *c)
{
	struct rte_eth_dev_info info;
	char name[IF_NAMESIZE];
	int rc = rte_eth_dev_info_get(port, &info);
	if (rc == 0 && (info.if_index == 0 || if_indextoname(info.if_index, name) == NULL)) {
		fprintf(stderr, "busbard: port.kernel_ipv4 needs a port with a kernel interface "
		                "(net_tap)\n");
		return -ENODEV;
	}
	int fd = rc == 0 ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0)
		return rc != 0 ? rc : -errno;
	struct ifreq request = {0};
	snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name);
	struct sockaddr_in *address = (struct sockaddr_in *)&request.ifr_addr;
	address->sin_family = AF_INET;
	address->sin_addr.s_addr = c->kernel_ipv4_address;
	rc = ioctl(fd, SIOCSIFADDR, &request);
	uint32_t prefix_bits = c->kernel_ipv4_prefix_bits;
	address->sin_addr.s_addr = htonl((uint32_t)(UINT64_MAX << (32 - prefix_bits)));
	if (rc == 0)
		rc = ioctl(fd, SIOCSIFNETMASK, &request);
	if (rc == 0)
		rc = ioctl(fd, SIOCGIFFLAGS, &request);
	request.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = ioctl(fd, SIOCSIFFLAGS, &request);
	rc = rc == 0 ? 0 : -errno;
	close(fd);
	if (rc != 0)
		fprintf(stderr, "busbard: giving %s the address %s: %s\n", name, c->kernel_ipv4,
		        strerror(-rc));
	return rc;
}

static int rings_init(struct dp_app *app)
{
	char name[RTE_RING_NAMESIZE];
	for (uint32_t from = 0; from <= app->worker_count; from++) {
		for (uint32_t to = 0; to < app->worker_count; to++) {
			snprintf(name, sizeof(name), "req_%u_%u", from, to);
			app->requests[from][to] = rte_ring_create(
			    name, BB_RING_SLOTS, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (app->requests[from][to] == NULL)
				return -rte_errno;
		}
	}
	for (uint32_t w = 0; w < app->worker_count; w++) {
		snprintf(name, sizeof(name), "local_reply_%u", w);
		app->local_replies[w] = rte_ring_create(name, BB_RING_SLOTS, SOCKET_ID_ANY,
		                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (app->local_replies[w] == NULL)
			return -rte_errno;
	}
	return 0;
}

static int rcu_init(struct dp_app *app)
{
	size_t bytes = rte_rcu_qsbr_get_memsize(app->worker_count);
	app->rcu = rte_zmalloc("rcu", bytes, RTE_CACHE_LINE_SIZE);
	if (app->rcu == NULL)
		return -ENOMEM;
	return rte_rcu_qsbr_init(app->rcu, app->worker_count);
}

static int app_init(struct dp_app *app, const struct dp_config *c)
{
	struct in_addr ip;
	if (inet_pton(AF_INET, c->ipv4, &ip) != 1)
		return -EINVAL;
	app->worker_count = c->workers;
	snprintf(app->control_url, sizeof(app->control_url), "%s", c->control_url);
	app->net_config.ip = ip.s_addr;
	app->net_config.udp_port = rte_cpu_to_be_16(c->udp_port);
	app->net_config.mtu = c->mtu;
	app->tsc_per_ms = rte_get_tsc_hz() / 1000;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t wall_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	app->wall_ms_at_tsc0 = wall_ms - rte_rdtsc() / app->tsc_per_ms;
	int rc = port_find(c, &app->port_id);
	if (rc != 0)
		return rc;
	app->frame_pool = rte_pktmbuf_pool_create("frames", c->frame_mbufs, 256, DP_MBUF_PRIV_BYTES,
	                                          frame_data_room(app->port_id), SOCKET_ID_ANY);
	if (app->frame_pool == NULL)
		return -rte_errno;
	rc = rings_init(app);
	if (rc == 0)
		rc = rcu_init(app);
	if (rc == 0)
		rc = port_init(app, c);
	if (rc == 0 && c->kernel_ipv4[0] != '\0')
		rc = kernel_address_apply(app->port_id, c);
	return rc;
}

static int workers_init(struct dp_app *app, const struct dp_config *c)
{
	for (uint32_t i = 0; i < app->worker_count; i++) {
		struct dp_worker_options options = {
		    .index = i,
		    .store_mbufs = c->store_mbufs_per_worker,
		    .socket_id = (int)rte_socket_id(),
		};
		int rc;
		app->workers[i] = dp_worker_create(app, &options, &rc);
		if (app->workers[i] == NULL)
			return rc;
	}
	return 0;
}

/*
 * The SNS envelope's signing key, <state_dir>/sns-signing.key, made at the first start and
 * kept (dp_sign.h); each worker signs with its own copy of it.
 */
static int signers_init(struct dp_app *app, const char *state_dir)
{
	char error[512] = "";
	int rc = 0;
	struct dp_sign_key *key = dp_sign_key_load(state_dir, error, sizeof(error), &rc);
	if (key == NULL) {
		fprintf(stderr, "busbard: SNS signing key: %s\n", error);
		return rc != 0 ? rc : -EIO;
	}
	for (uint32_t i = 0; rc == 0 && i < app->worker_count; i++) {
		struct dp_signer *signer = dp_signer_new(key, &rc);
		if (signer != NULL)
			dp_worker_set_signer(app->workers[i], signer);
	}
	dp_sign_key_free(key);
	return rc;
}

/* Writes a new receipt key to path, durably: a temporary file, fsync, rename, dir fsync. */
static int receipt_key_create(const char *path, const char *state_dir, struct dp_siphash_key *key)
{
	char temporary[DP_CONFIG_PATH_BYTES + 32];
	snprintf(temporary, sizeof(temporary), "%s.new", path);
	int rc = dp_cookie_key_init(key);
	int fd = rc == 0 ? open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	if (fd < 0)
		return rc != 0 ? rc : -errno;
	uint8_t bytes[16];
	bb_put_le64(bytes, key->k0);
	bb_put_le64(bytes + 8, key->k1);
	bool written = write(fd, bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes) && fsync(fd) == 0;
	close(fd);
	if (!written || rename(temporary, path) != 0)
		return -EIO;
	int dir = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = dir >= 0 && fsync(dir) == 0 ? 0 : -EIO;
	if (dir >= 0)
		close(dir);
	return rc;
}

/*
 * The key of receipt nonces, <state_dir>/receipt.key (16 bytes, 0600), made once and kept:
 * a receipt handle given before a restart is then still known to be busbard's after it,
 * even when the crash lost the record of its receive (engines/sqs.h, handle_nonce).
 */
static int receipt_key_load(const char *state_dir, struct dp_siphash_key *key)
{
	char path[DP_CONFIG_PATH_BYTES + 16];
	snprintf(path, sizeof(path), "%s/receipt.key", state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? receipt_key_create(path, state_dir, key) : -errno;
	uint8_t bytes[16];
	ssize_t got = read(fd, bytes, sizeof(bytes));
	close(fd);
	if (got != (ssize_t)sizeof(bytes)) {
		fprintf(stderr, "busbard: %s is not a receipt key (16 bytes)\n", path);
		return -EUCLEAN;
	}
	key->k0 = bb_get_le64(bytes);
	key->k1 = bb_get_le64(bytes + 8);
	return 0;
}

/*
 * Each worker's log, <state_dir>/log-<worker>, replayed into its queues before any lcore
 * runs; with durability memory only the queues are opened.
 */
static int workers_recover(struct dp_app *app, const struct dp_config *c, const char *state_dir)
{
	struct dp_siphash_key receipt_key;
	int key_rc = receipt_key_load(state_dir, &receipt_key);
	if (key_rc != 0)
		return key_rc;
	for (uint32_t i = 0; i < app->worker_count; i++) {
		char dir[DP_CONFIG_PATH_BYTES + 16];
		char marks[DP_CONFIG_PATH_BYTES + 32];
		char why[512] = "";
		snprintf(dir, sizeof(dir), "%s/log-%u", state_dir, i);
		snprintf(marks, sizeof(marks), "%s/log-%u.marks", state_dir, i);
		bool disk = c->durability == DP_DURABILITY_DISK;
		if (disk && mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -errno;
		struct dp_worker_log_options log_options = {
		    .dir = disk ? dir : NULL,
		    .segment_bytes = (uint64_t)c->log_segment_mib << 20,
		    .durable_marks_path = c->log_durable_marks ? marks : NULL,
		    .receipt_key = &receipt_key,
		};
		int rc = dp_worker_recover(app->workers[i], &log_options, why, sizeof(why));
		if (rc != 0) {
			fprintf(stderr, "busbard: recovery of worker %u: %s\n", i, why);
			return rc;
		}
		const struct dp_stats *stats = &app->workers[i]->stats;
		if (disk)
			printf("busbard: worker %u recovered %llu message(s) from %llu record(s) in %s\n",
			       i, (unsigned long long)stats->log_messages_recovered,
			       (unsigned long long)stats->log_records_recovered, dir);
	}
	if (c->durability == DP_DURABILITY_MEMORY)
		printf("busbard: durability memory: messages are NOT stored on disk and die with "
		       "the process (config key \"durability\")\n");
	return 0;
}

/* Whether UDP requests must be signed, said at every start (docs/operations.md, "Keys"). */
static void say_auth_mode(const struct dp_config *c)
{
	if (c->auth.mode == DP_AUTH_NONE)
		printf("busbard: WARNING: authentication is OFF (config \"auth\": {\"mode\": "
		       "\"none\"}): anyone who reaches udp/%u may use every queue\n",
		       c->udp_port);
	else
		printf("busbard: UDP requests must be signed with a key (skew +-%u ms, %u requests/s "
		       "per source)\n",
		       c->auth.skew_ms, c->auth.source_rate_per_s);
}

static int launch_workers(struct dp_app *app)
{
	uint32_t next = 0;
	unsigned int lcore;
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (next == app->worker_count)
			break;
		int rc = rte_eal_remote_launch(dp_worker_main, app->workers[next++], lcore);
		if (rc != 0)
			return rc;
	}
	return next == app->worker_count ? 0 : -ENODEV;
}

static void serve_until_stopped(struct dp_service *service, long run_seconds)
{
	uint64_t deadline =
	    run_seconds > 0 ? rte_get_tsc_cycles() + rte_get_tsc_hz() * run_seconds : UINT64_MAX;
	while (!stop_requested && rte_get_tsc_cycles() < deadline)
		dp_service_poll(service, SERVICE_POLL_MS);
}

static void shutdown_app(struct dp_app *app)
{
	atomic_store(&app->stopping, true);
	rte_eal_mp_wait_lcore();
	rte_eth_dev_stop(app->port_id);
	rte_eth_dev_close(app->port_id);
	for (uint32_t i = 0; i < app->worker_count; i++)
		dp_worker_destroy(app->workers[i]);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "busbard: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct options o = {.config_path = NULL};
	if (parse_options(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	static struct dp_config config;
	char error[512];
	if (dp_config_load(o.config_path, &config, error, sizeof(error)) != 0) {
		fprintf(stderr, "busbard: %s\n", error);
		return 2;
	}
	const char *unix_socket = o.unix_socket ? o.unix_socket : config.unix_socket;
	const char *state_dir = o.state_dir ? o.state_dir : config.state_dir;
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return fail("state directory", -errno);

	char storage[4][64];
	char *eal_argv[EAL_ARGS_MAX];
	int eal_argc = build_eal_args(&config, storage, eal_argv);
	if (eal_argc < 0)
		return 1;
	if (rte_eal_init(eal_argc, eal_argv) < 0)
		return fail("EAL init", rte_errno);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	static struct dp_app app;
	static struct dp_service service;
	int rc = app_init(&app, &config);
	if (rc == 0)
		rc = workers_init(&app, &config);
	if (rc == 0)
		rc = signers_init(&app, state_dir);
	if (rc == 0)
		rc = dp_auth_setup(app.worker_count, &config.auth);
	if (rc == 0)
		rc = dp_service_init(&service, &app, unix_socket, state_dir);
	if (rc == 0)
		rc = dp_service_load_snapshot(&service);
	if (rc == 0)
		rc = workers_recover(&app, &config, state_dir);
	if (rc == 0)
		rc = launch_workers(&app);
	if (rc != 0)
		return fail("start-up", rc);
	printf("busbard: serving %s udp/%u on %s, %u worker(s), local socket %s\n", config.ipv4,
	       config.udp_port, config.vdev, config.workers, unix_socket);
	say_auth_mode(&config);
	fflush(stdout);
	serve_until_stopped(&service, o.run_seconds);
	printf("busbard: stopping\n");
	shutdown_app(&app);
	dp_auth_teardown();
	dp_service_close(&service);
	unlink(unix_socket);
	rte_eal_cleanup();
	return 0;
}

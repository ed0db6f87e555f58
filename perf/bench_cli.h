/*
 * What a load run of busbar-bench is told on its command line, shared by the
 * transports that carry it: `busbar-bench dpdk` (bench_dpdk.c, a DPDK port)
 * and `busbar-bench udp` (bench_udp.c, kernel sockets). busbar_bench.c parses it.
 */
#ifndef BB_BENCH_CLI_H
#define BB_BENCH_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_load.h"

#define BENCH_DEFAULT_SERVER      "10.77.0.2"
#define BENCH_DEFAULT_SOURCE      "10.77.0.1"
#define BENCH_DEFAULT_PORT        7600u
#define BENCH_DEFAULT_SOURCE_PORT 7601u
#define BENCH_LINK_WAIT_S_MAX     30u
#define BENCH_REDIS_PORT          6399u /* the scenario's redis-server, not a system one */
#define BENCH_RABBITMQ_PORT       5679u /* the scenario's RabbitMQ (AMQP), not 5672 */
#define BENCH_NATS_PORT           4229u /* the scenario's nats-server, not 4222 */
#define BENCH_SQS_HTTP_PORT       7681u /* the scenario's busbar-control, not its 7680 */

struct bench_cli {
	struct bench_load_options load;
	struct bench_labels labels;
	struct bench_bodies bodies;
	const char *server_ip;
	const char *source_ip;
	uint16_t server_port;
	uint16_t source_port; /* generator queue q sends from source_port + q */
	/* dpdk only */
	const char *vdev;
	const char *cores;  /* EAL -l: one generator queue per lcore listed */
	bool hugepages;     /* else --no-huge */
	uint32_t memory_mb; /* EAL -m without hugepages */
	bool arp;           /* resolve the server's MAC; off: send to broadcast (echo baselines) */
	uint32_t link_wait_s;
	bool signed_requests; /* --signed: each generator lcore signs with the benchmark's key */
};

int bench_dpdk_run(struct bench_cli *cli);
int bench_udp_run(struct bench_cli *cli);
int bench_udp_echo_server(uint16_t port, double seconds);
/* Redis streams as the peer (bench_redis.c; built when hiredis is installed). */
int bench_redis_run(struct bench_cli *cli);
/* An SQS-compatible HTTP API as the peer (bench_sqs_http.c; built when libcurl is installed). */
int bench_sqs_http_run(struct bench_cli *cli);

#endif

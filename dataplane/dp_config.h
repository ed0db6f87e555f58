/* The appliance configuration busbard starts from (config/busbard.json documents each key). */
#ifndef BB_DP_CONFIG_H
#define BB_DP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_auth.h"

#define DP_CONFIG_PATH_BYTES 512u
#define DP_CONFIG_EAL_ARGS_MAX 16u
#define DP_MTU_MIN             576u /* what every IPv4 host must take (RFC 791) */
#define DP_MTU_MAX             9000u

enum dp_hugepages { DP_HUGEPAGES_AUTO, DP_HUGEPAGES_REQUIRED, DP_HUGEPAGES_OFF };

/* disk: each worker's queues go to its segment log, answered after fdatasync; memory: no
 * log at all (the benchmark rig's memory-only figures), said at start. */
enum dp_durability { DP_DURABILITY_DISK, DP_DURABILITY_MEMORY };

#define DP_LOG_SEGMENT_MIB_MIN 1u
#define DP_LOG_SEGMENT_MIB_MAX 1024u

struct dp_config {
	struct dp_auth_options auth; /* "auth": {"mode": "required" | "none", ...} (dp_auth.h) */
	char vdev[DP_CONFIG_PATH_BYTES];
	char ipv4[16];
	char kernel_ipv4[20]; /* "A.B.C.D/N" for the port's kernel interface; "" leaves it */
	uint32_t kernel_ipv4_address; /* network order */
	uint32_t kernel_ipv4_prefix_bits;
	uint16_t mtu;
	uint16_t udp_port;
	uint32_t workers;
	char unix_socket[108]; /* sun_path */
	char state_dir[DP_CONFIG_PATH_BYTES];
	/* busbar-control's HTTP address as subscribers reach it: SNS envelopes name its
	 * certificate (SigningCertURL) and unsubscribe links under it. */
	char control_url[DP_CONFIG_PATH_BYTES];
	enum dp_hugepages hugepages;
	uint32_t memory_mb; /* EAL -m when running without hugepages */
	uint32_t frame_mbufs;
	uint32_t store_mbufs_per_worker;
	enum dp_durability durability;
	uint32_t log_segment_mib; /* each segment file of a worker's log */
	bool log_durable_marks;   /* <state_dir>/log-N.marks for the power-loss tests */
	uint32_t eal_arg_count;
	char eal_args[DP_CONFIG_EAL_ARGS_MAX][DP_CONFIG_PATH_BYTES];
};

/* Defaults, then the file's keys. Returns 0, or -EINVAL with a reason in error. */
__attribute__((warn_unused_result)) int dp_config_load(const char *path, struct dp_config *out,
                                                       char *error, size_t error_bytes);

#endif

/*
 * Reads the appliance configuration (JSON, with jansson). Unknown keys and
 * out-of-range values are errors that name the key: a typo must not silently
 * fall back to a default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "bb_limits.h"
#include "dp_config.h"

static void set_defaults(struct dp_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->vdev, sizeof(c->vdev), "net_tap0,iface=bb0");
	snprintf(c->ipv4, sizeof(c->ipv4), "10.77.0.2");
	c->mtu = 1500;
	c->udp_port = 7600;
	c->workers = 1;
	snprintf(c->unix_socket, sizeof(c->unix_socket), "/run/busbar/busbard.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/busbar");
	snprintf(c->control_url, sizeof(c->control_url), "http://127.0.0.1:7680");
	c->hugepages = DP_HUGEPAGES_AUTO;
	c->memory_mb = 1024;
	c->frame_mbufs = 8191;
	c->store_mbufs_per_worker = 65535;
	dp_auth_options_default(&c->auth);
	c->durability = DP_DURABILITY_DISK;
	c->log_segment_mib = 64;
}

static int fail(char *error, size_t error_bytes, const char *key, const char *why)
{
	snprintf(error, error_bytes, "config key \"%s\": %s", key, why);
	return -EINVAL;
}

static int copy_string(json_t *value, char *out, size_t out_bytes, const char *key, char *error,
                       size_t error_bytes)
{
	if (!json_is_string(value) || json_string_length(value) >= out_bytes)
		return fail(error, error_bytes, key, "expected a string of sane length");
	memcpy(out, json_string_value(value), json_string_length(value) + 1);
	return 0;
}

static int copy_uint(json_t *value, uint64_t min, uint64_t max, uint64_t *out, const char *key,
                     char *error, size_t error_bytes)
{
	if (!json_is_integer(value) || json_integer_value(value) < (json_int_t)min ||
	    (uint64_t)json_integer_value(value) > max)
		return fail(error, error_bytes, key, "expected an integer in range");
	*out = (uint64_t)json_integer_value(value);
	return 0;
}

/* "A.B.C.D/N": the address busbard gives the port's kernel interface, and its prefix. */
static int parse_kernel_ipv4(json_t *value, struct dp_config *c, char *error, size_t error_bytes)
{
	const char *key = "kernel_ipv4";
	int rc = copy_string(value, c->kernel_ipv4, sizeof(c->kernel_ipv4), key, error,
	                     error_bytes);
	if (rc != 0)
		return rc;
	char address[sizeof(c->kernel_ipv4)];
	snprintf(address, sizeof(address), "%s", c->kernel_ipv4);
	char *slash = strchr(address, '/');
	char *end = slash;
	unsigned long prefix_bits = 0;
	if (slash != NULL && isdigit((unsigned char)slash[1])) {
		*slash = '\0';
		prefix_bits = strtoul(slash + 1, &end, 10);
	}
	struct in_addr parsed;
	bool well_formed = end != NULL && *end == '\0' && prefix_bits >= 1 &&
	                   prefix_bits <= 32 && inet_pton(AF_INET, address, &parsed) == 1;
	if (!well_formed)
		return fail(error, error_bytes, key, "expected an IPv4 address and prefix, A.B.C.D/N");
	c->kernel_ipv4_address = parsed.s_addr;
	c->kernel_ipv4_prefix_bits = (uint32_t)prefix_bits;
	return 0;
}

static int apply_port(json_t *port, struct dp_config *c, char *error, size_t error_bytes)
{
	const char *key;
	json_t *value;
	uint64_t n;
	if (!json_is_object(port))
		return fail(error, error_bytes, "port", "expected an object");
	json_object_foreach(port, key, value)
	{
		int rc;
		if (strcmp(key, "vdev") == 0) {
			rc = copy_string(value, c->vdev, sizeof(c->vdev), key, error, error_bytes);
		} else if (strcmp(key, "ipv4") == 0) {
			struct in_addr unused;
			rc = copy_string(value, c->ipv4, sizeof(c->ipv4), key, error, error_bytes);
			if (rc == 0 && inet_pton(AF_INET, c->ipv4, &unused) != 1)
				rc = fail(error, error_bytes, key, "not an IPv4 address");
		} else if (strcmp(key, "mtu") == 0) {
			rc = copy_uint(value, DP_MTU_MIN, DP_MTU_MAX, &n, key, error, error_bytes);
			c->mtu = (uint16_t)n;
		} else if (strcmp(key, "kernel_ipv4") == 0) {
			rc = parse_kernel_ipv4(value, c, error, error_bytes);
		} else {
			rc = fail(error, error_bytes, key, "unknown key in \"port\"");
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int apply_hugepages(json_t *value, struct dp_config *c, char *error, size_t error_bytes)
{
	const char *mode = json_string_value(value);
	if (mode != NULL && strcmp(mode, "auto") == 0)
		c->hugepages = DP_HUGEPAGES_AUTO;
	else if (mode != NULL && strcmp(mode, "required") == 0)
		c->hugepages = DP_HUGEPAGES_REQUIRED;
	else if (mode != NULL && strcmp(mode, "off") == 0)
		c->hugepages = DP_HUGEPAGES_OFF;
	else
		return fail(error, error_bytes, "hugepages", "expected auto, required or off");
	return 0;
}

static int apply_eal_args(json_t *value, struct dp_config *c, char *error, size_t error_bytes)
{
	if (!json_is_array(value) || json_array_size(value) > DP_CONFIG_EAL_ARGS_MAX)
		return fail(error, error_bytes, "eal_args",
		            "expected an array of at most 16 strings");
	size_t i;
	json_t *arg;
	json_array_foreach(value, i, arg)
	{
		int rc = copy_string(arg, c->eal_args[i], sizeof(c->eal_args[i]), "eal_args", error,
		                     error_bytes);
		if (rc != 0)
			return rc;
	}
	c->eal_arg_count = (uint32_t)json_array_size(value);
	return 0;
}

static int apply_durability(json_t *value, struct dp_config *c, char *error, size_t error_bytes)
{
	const char *text = json_string_value(value);
	if (text != NULL && strcmp(text, "disk") == 0)
		c->durability = DP_DURABILITY_DISK;
	else if (text != NULL && strcmp(text, "memory") == 0)
		c->durability = DP_DURABILITY_MEMORY;
	else
		return fail(error, error_bytes, "durability", "expected \"disk\" or \"memory\"");
	return 0;
}

static int apply_key(const char *key, json_t *value, struct dp_config *c, char *error,
                     size_t error_bytes)
{
	uint64_t n = 0;
	int rc;
	if (strcmp(key, "port") == 0)
		return apply_port(value, c, error, error_bytes);
	if (strcmp(key, "hugepages") == 0)
		return apply_hugepages(value, c, error, error_bytes);
	if (strcmp(key, "eal_args") == 0)
		return apply_eal_args(value, c, error, error_bytes);
	if (strcmp(key, "auth") == 0)
		return dp_auth_options_parse(value, &c->auth, error, error_bytes);
	if (strcmp(key, "durability") == 0)
		return apply_durability(value, c, error, error_bytes);
	if (strcmp(key, "log_durable_marks") == 0) {
		if (!json_is_boolean(value))
			return fail(error, error_bytes, key, "expected true or false");
		c->log_durable_marks = json_is_true(value);
		return 0;
	}
	if (strcmp(key, "unix_socket") == 0)
		return copy_string(value, c->unix_socket, sizeof(c->unix_socket), key, error,
		                   error_bytes);
	if (strcmp(key, "state_dir") == 0)
		return copy_string(value, c->state_dir, sizeof(c->state_dir), key, error,
		                   error_bytes);
	if (strcmp(key, "control_url") == 0)
		return copy_string(value, c->control_url, sizeof(c->control_url), key, error,
		                   error_bytes);
	if (strcmp(key, "udp_port") == 0) {
		rc = copy_uint(value, 1, 65535, &n, key, error, error_bytes);
		c->udp_port = (uint16_t)n;
	} else if (strcmp(key, "workers") == 0) {
		rc = copy_uint(value, 1, BB_WORKER_COUNT_MAX, &n, key, error, error_bytes);
		c->workers = (uint32_t)n;
	} else if (strcmp(key, "memory_mb") == 0) {
		rc = copy_uint(value, 64, 1u << 20, &n, key, error, error_bytes);
		c->memory_mb = (uint32_t)n;
	} else if (strcmp(key, "frame_mbufs") == 0) {
		/* Its least depends on "workers": check_together says what it must hold. */
		rc = copy_uint(value, 1, 1u << 22, &n, key, error, error_bytes);
		c->frame_mbufs = (uint32_t)n;
	} else if (strcmp(key, "log_segment_mib") == 0) {
		rc = copy_uint(value, DP_LOG_SEGMENT_MIB_MIN, DP_LOG_SEGMENT_MIB_MAX, &n, key, error,
		               error_bytes);
		c->log_segment_mib = (uint32_t)n;
	} else if (strcmp(key, "store_mbufs_per_worker") == 0) {
		rc = copy_uint(value, 1023, 1u << 24, &n, key, error, error_bytes);
		c->store_mbufs_per_worker = (uint32_t)n;
	} else {
		rc = fail(error, error_bytes, key, "unknown key");
	}
	return rc;
}

/* Checks between keys, once all are read: the file's order must not matter. */
static int check_together(const struct dp_config *c, char *error, size_t error_bytes)
{
	struct in_addr ip;
	if (inet_pton(AF_INET, c->ipv4, &ip) == 1 && c->kernel_ipv4[0] != '\0' &&
	    ip.s_addr == c->kernel_ipv4_address)
		return fail(error, error_bytes, "kernel_ipv4", "must differ from port.ipv4");
	if (c->frame_mbufs < c->workers * BB_FRAME_MBUFS_PER_WORKER_MIN) {
		snprintf(error, error_bytes,
		         "config key \"frame_mbufs\": %u is too few for %u worker(s): at least %u "
		         "per worker, so that after parked receives (a 1/%u share) each keeps %u "
		         "for its %u RX descriptors, a burst, a TX batch and IP fragments",
		         c->frame_mbufs, c->workers, BB_FRAME_MBUFS_PER_WORKER_MIN,
		         BB_PARKED_FRAME_SHARE_DIVISOR, BB_FRAME_MBUFS_SERVED_PER_WORKER,
		         BB_RX_DESCRIPTORS_PER_WORKER);
		return -EINVAL;
	}
	return 0;
}

/* Parses the file; a file that cannot be opened is said so, not as a JSON error at line -1. */
static json_t *load_json(const char *path, char *error, size_t error_bytes)
{
	FILE *file = fopen(path, "r");
	if (file == NULL) {
		snprintf(error, error_bytes, "cannot read config file %s: %s", path,
		         strerror(errno));
		return NULL;
	}
	json_error_t json_error;
	json_t *root = json_loadf(file, JSON_REJECT_DUPLICATES, &json_error);
	fclose(file);
	if (root == NULL)
		snprintf(error, error_bytes, "config file %s, line %d, column %d: %s", path,
		         json_error.line, json_error.column, json_error.text);
	return root;
}

int dp_config_load(const char *path, struct dp_config *out, char *error, size_t error_bytes)
{
	set_defaults(out);
	if (path == NULL)
		return 0;
	json_t *root = load_json(path, error, error_bytes);
	if (root == NULL)
		return -EINVAL;
	int rc = json_is_object(root) ? 0 : fail(error, error_bytes, "(top)", "expected an object");
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value)
	{
		if (rc == 0)
			rc = apply_key(key, value, out, error, error_bytes);
	}
	json_decref(root);
	return rc == 0 ? check_together(out, error, error_bytes) : rc;
}

/*
 * Reads the appliance configuration (JSON, with jansson). Unknown keys and
 * out-of-range values are errors that name the key: a typo must not silently
 * fall back to a default.
 */
#include <errno.h>
#include <stdio.h>
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
	c->hugepages = DP_HUGEPAGES_AUTO;
	c->memory_mb = 1024;
	c->frame_mbufs = 8191;
	c->store_mbufs_per_worker = 65535;
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
			rc = copy_uint(value, 576, 9000, &n, key, error, error_bytes);
			c->mtu = (uint16_t)n;
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
	if (strcmp(key, "unix_socket") == 0)
		return copy_string(value, c->unix_socket, sizeof(c->unix_socket), key, error,
		                   error_bytes);
	if (strcmp(key, "state_dir") == 0)
		return copy_string(value, c->state_dir, sizeof(c->state_dir), key, error,
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
		rc = copy_uint(value, 1023, 1u << 22, &n, key, error, error_bytes);
		c->frame_mbufs = (uint32_t)n;
	} else if (strcmp(key, "store_mbufs_per_worker") == 0) {
		rc = copy_uint(value, 1023, 1u << 24, &n, key, error, error_bytes);
		c->store_mbufs_per_worker = (uint32_t)n;
	} else {
		rc = fail(error, error_bytes, key, "unknown key");
	}
	return rc;
}

int dp_config_load(const char *path, struct dp_config *out, char *error, size_t error_bytes)
{
	set_defaults(out);
	if (path == NULL)
		return 0;
	json_error_t json_error;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &json_error);
	if (root == NULL) {
		snprintf(error, error_bytes, "%s:%d: %s", path, json_error.line, json_error.text);
		return -EINVAL;
	}
	int rc = json_is_object(root) ? 0 : fail(error, error_bytes, "(top)", "expected an object");
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value)
	{
		if (rc == 0)
			rc = apply_key(key, value, out, error, error_bytes);
	}
	json_decref(root);
	return rc;
}

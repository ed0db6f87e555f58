/*
 * busbard's configuration checks on the frame pool (issue 10's hardening): `frame_mbufs`
 * used to be accepted down to 1,023 per worker, fewer than the 1,024 RX descriptors each
 * worker's port queue fills from that pool, so RX alone could hold all of it. The least now
 * comes from what a worker's share serves (bb_limits.h): RX descriptors, a burst, a TX
 * batch and fragments, with the parked receives' quarter on top. Configs are written to a
 * memfd and read back by path, as busbard reads its file.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bb_limits.h"
#include "dp_config.h"

static struct dp_config config;
static char error[512];

/* Loads `json` as busbard would its config file; returns dp_config_load's result. */
static int load(const char *json)
{
	int fd = memfd_create("config", 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	error[0] = '\0';
	int rc = dp_config_load(path, &config, error, sizeof(error));
	close(fd);
	return rc;
}

static int load_frames(uint32_t workers, uint32_t frame_mbufs)
{
	char json[128];
	snprintf(json, sizeof(json), "{\"workers\": %u, \"frame_mbufs\": %u}", workers,
	         frame_mbufs);
	return load(json);
}

Test(config, fewer_frame_mbufs_than_a_workers_rx_descriptors_are_refused_by_name)
{
	cr_assert_eq(load_frames(1, 1023), -EINVAL,
	             "1,023 frame mbufs cannot fill 1,024 RX "
	             "descriptors and serve anything else");
	cr_assert_not_null(strstr(error, "config key \"frame_mbufs\""), "%s", error);
	cr_assert_not_null(strstr(error, "RX descriptors"), "the reason is said: %s", error);
	char least[32];
	snprintf(least, sizeof(least), "at least %u per worker", BB_FRAME_MBUFS_PER_WORKER_MIN);
	cr_assert_not_null(strstr(error, least), "the least is said: %s", error);
}

Test(config, the_least_leaves_each_worker_its_rx_descriptors_after_parked_receives)
{
	const uint32_t least = BB_FRAME_MBUFS_PER_WORKER_MIN;
	uint32_t parked_max = least / BB_PARKED_FRAME_SHARE_DIVISOR;
	cr_assert_geq(least - parked_max, BB_RX_DESCRIPTORS_PER_WORKER + BB_BURST_MAX +
	                                      BB_TX_BATCH_FRAMES +
	                                      BB_FRAGMENT_MBUFS_PER_WORKER_MAX);
	for (uint32_t workers = 1; workers <= BB_WORKER_COUNT_MAX; workers++) {
		cr_assert_eq(load_frames(workers, workers * least), 0, "%u workers: %s", workers,
		             error);
		cr_assert_eq(config.frame_mbufs, workers * least);
		cr_assert_eq(load_frames(workers, workers * least - 1), -EINVAL, "%u workers",
		             workers);
		cr_assert_not_null(strstr(error, "frame_mbufs"), "%s", error);
	}
}

Test(config, the_shipped_defaults_are_accepted)
{
	cr_assert_eq(load("{}"), 0, "%s", error);
	cr_assert_geq(config.frame_mbufs, config.workers * BB_FRAME_MBUFS_PER_WORKER_MIN);
}

/* Fuzz target: the appliance configuration reader (JSON through jansson, then our checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dp_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("config", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char path[64], error[512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	static struct dp_config config;
	int rc = dp_config_load(path, &config, error, sizeof(error));
	if (rc == 0 && config.workers == 0)
		abort(); /* a loaded config always has a worker */
	close(fd);
	return 0;
}

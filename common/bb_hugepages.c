/*
 * Reads HugePages_Free from /proc/meminfo (see bb_hugepages.h). Start-up code only:
 * it opens a file.
 */
#include "bb_hugepages.h"

#include <stdio.h>

long bb_hugepages_free(void)
{
	FILE *meminfo = fopen("/proc/meminfo", "r");
	if (meminfo == NULL)
		return 0;
	long free_pages = 0;
	char line[256];
	while (fgets(line, sizeof(line), meminfo) != NULL)
		sscanf(line, "HugePages_Free: %ld", &free_pages);
	fclose(meminfo);
	return free_pages > 0 ? free_pages : 0;
}

/*
 * How many hugepages the kernel has free, read from /proc/meminfo: busbard and
 * busbar-bench's DPDK generator both decide with it whether to run the EAL on
 * hugepages or with --no-huge.
 */
#ifndef BB_HUGEPAGES_H
#define BB_HUGEPAGES_H

/* HugePages_Free of /proc/meminfo; 0 when it cannot be read. */
long bb_hugepages_free(void);

#endif

/* CRC32C (Castagnoli), as used by iSCSI, ext4 and most logs: the storage frame checksum. */
#ifndef BB_CRC32C_H
#define BB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0. */
uint32_t bb_crc32c(uint32_t crc, const void *data, size_t length);

#endif

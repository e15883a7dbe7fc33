/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_ENGINE_H_
#define _VFIO_USER_ENGINE_H_

/*
 * Programming interface of the DMA copy/checksum engine that
 * dpdk-vfio-user-emu emulates and dpdk-vfio-user-client drives.
 *
 * BAR0 (4 KiB, 32-bit memory): little-endian registers, accessed as aligned
 * 32-bit words (SRC and DST also as 64-bit words):
 *   0x00 ID        RO  ENGINE_ID_VALUE
 *   0x04 VERSION   RO  ENGINE_VERSION
 *   0x08 SRC       RW  source IOVA (lo at 0x08, hi at 0x0c)
 *   0x10 DST       RW  destination IOVA (lo at 0x10, hi at 0x14)
 *   0x18 LEN       RW  bytes to copy, 1..ENGINE_MAX_LEN
 *   0x1c CTRL      RW  bit 0: raise MSI-X vector 0 on completion
 *   0x20 DOORBELL  WO  write 1: copy SRC -> DST now (done when the write completes)
 *   0x24 STATUS    RW1C bit 0 DONE, bit 1 ERROR
 *   0x28 ERROR     RO  errno of the failed copy (EPERM: bus mastering off)
 *   0x2c CSUM      RO  Adler-32 of the bytes copied
 *   0x30 COUNT     RO  copies completed since reset
 *   0x34 SCRATCH   RW  free for the driver, 0 after reset
 *   0x800          MSI-X table (ENGINE_MSIX_VECTORS entries)
 *   0xc00          MSI-X PBA
 *
 * BAR1 (64 KiB, 64-bit prefetchable memory, backed by a memfd): plain memory;
 * its second half is mmappable (sparse mmap) and starts with a struct
 * engine_banner the device keeps up to date.
 */

#include <stdint.h>

/* A test pair that pci.ids does not assign; not for real hardware. */
#define ENGINE_VENDOR_ID 0x7e57
#define ENGINE_DEVICE_ID 0x0001
#define ENGINE_REVISION 0x01
/* System peripheral, other. */
#define ENGINE_CLASS 0x088000

#define ENGINE_BAR0_SIZE 4096
#define ENGINE_MSIX_VECTORS 4
#define ENGINE_MSIX_BIR 0
#define ENGINE_MSIX_TABLE 0x800
#define ENGINE_MSIX_PBA 0xc00

#define ENGINE_REG_ID 0x00
#define ENGINE_REG_VERSION 0x04
#define ENGINE_REG_SRC 0x08
#define ENGINE_REG_DST 0x10
#define ENGINE_REG_LEN 0x18
#define ENGINE_REG_CTRL 0x1c
#define ENGINE_REG_DOORBELL 0x20
#define ENGINE_REG_STATUS 0x24
#define ENGINE_REG_ERROR 0x28
#define ENGINE_REG_CSUM 0x2c
#define ENGINE_REG_COUNT 0x30
#define ENGINE_REG_SCRATCH 0x34

#define ENGINE_ID_VALUE 0x7e570001u
#define ENGINE_VERSION 0x00010000u
#define ENGINE_MAX_LEN (4u << 20)

#define ENGINE_CTRL_IRQ_EN (1u << 0)
#define ENGINE_STATUS_DONE (1u << 0)
#define ENGINE_STATUS_ERROR (1u << 1)

#define ENGINE_BAR1_MMAP_OFF 0x8000
#define ENGINE_BAR1_BANNER ENGINE_BAR1_MMAP_OFF
#define ENGINE_BANNER_MAGIC 0x7e57ba51u

struct engine_banner {
	uint32_t magic;  /* ENGINE_BANNER_MAGIC */
	uint32_t copies; /* as the COUNT register */
	char text[56];
};

#endif /* _VFIO_USER_ENGINE_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_PROTO_H_
#define _VFIO_USER_PROTO_H_

/*
 * Wire format of the vfio-user protocol, as the specification lays it out.
 * All fields are in host byte order. Where the specification reuses a
 * <linux/vfio.h> structure (device, region and IRQ info, IRQ set, capability
 * headers) that structure is used directly: its layout is the wire layout.
 */

#include <stdint.h>

#include <linux/vfio.h>

#include <rte_common.h>

enum vfio_user_command {
	VFIO_USER_VERSION = 1,
	VFIO_USER_DMA_MAP = 2,
	VFIO_USER_DMA_UNMAP = 3,
	VFIO_USER_DEVICE_GET_INFO = 4,
	VFIO_USER_DEVICE_GET_REGION_INFO = 5,
	VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6,
	VFIO_USER_DEVICE_GET_IRQ_INFO = 7,
	VFIO_USER_DEVICE_SET_IRQS = 8,
	VFIO_USER_REGION_READ = 9,
	VFIO_USER_REGION_WRITE = 10,
	VFIO_USER_DMA_READ = 11,
	VFIO_USER_DMA_WRITE = 12,
	VFIO_USER_DEVICE_RESET = 13,
	/* 14 was VFIO_USER_DIRTY_PAGES in older drafts; not assigned now. */
	VFIO_USER_REGION_WRITE_MULTI = 15,
	VFIO_USER_DEVICE_FEATURE = 16,
	VFIO_USER_MIG_DATA_READ = 17,
	VFIO_USER_MIG_DATA_WRITE = 18,
	VFIO_USER_MAX_COMMAND,
};

/* Header flags. */
#define VFIO_USER_F_TYPE_MASK    0xfu
#define VFIO_USER_F_TYPE_COMMAND 0x0u
#define VFIO_USER_F_TYPE_REPLY   0x1u
#define VFIO_USER_F_NO_REPLY     (1u << 4)
#define VFIO_USER_F_ERROR        (1u << 5)

struct vfio_user_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t size;  /* whole message, header included */
	uint32_t flags;
	uint32_t error; /* errno of an error reply */
} __rte_packed;

#define VFIO_USER_HDR_SIZE sizeof(struct vfio_user_hdr)

struct vfio_user_version {
	uint16_t major;
	uint16_t minor;
	/* followed by optional NUL-terminated JSON */
} __rte_packed;

/* DMA_MAP flags */
#define VFIO_USER_F_DMA_REGION_READ  (1u << 0)
#define VFIO_USER_F_DMA_REGION_WRITE (1u << 1)

struct vfio_user_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
} __rte_packed;

struct vfio_user_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
} __rte_packed;

/*
 * DEVICE_GET_INFO is 16 bytes on the wire: <linux/vfio.h> has since grown a
 * cap_offset field the specification does not carry.
 */
struct vfio_user_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
} __rte_packed;

struct vfio_user_region_io_fds_req {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __rte_packed;

/* Same layout for both types; the last field is datamatch or user_data. */
struct vfio_user_sub_region_io_fd {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t type;
	uint32_t flags;
	uint32_t padding;
	uint64_t datamatch;
} __rte_packed;

/* REGION_READ / REGION_WRITE request and reply */
struct vfio_user_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	/* followed by data for REGION_WRITE requests and REGION_READ replies */
} __rte_packed;

/* DMA_READ / DMA_WRITE requests and the DMA_READ reply */
struct vfio_user_dma_access {
	uint64_t addr;
	uint64_t count;
	/* followed by data for DMA_WRITE requests and DMA_READ replies */
} __rte_packed;

/*
 * The DMA_WRITE reply: the specification gives count 4 bytes here (8 in
 * every other DMA structure). The server accepts any reply of at least these
 * 12 bytes, reading count as 32 bits at offset 8 (which also reads a
 * little-endian 64-bit count correctly); the client sends 16, this form and
 * 4 zero bytes, which servers reading a 64-bit count accept too.
 */
struct vfio_user_dma_write_reply {
	uint64_t addr;
	uint32_t count;
} __rte_packed;

struct vfio_user_write_multi_entry {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[8];
} __rte_packed;

struct vfio_user_write_multi {
	uint64_t wr_cnt;
	/* followed by wr_cnt struct vfio_user_write_multi_entry */
} __rte_packed;

/*
 * The specification bounds REGION_WRITE_MULTI only by the message size; our
 * client coalesces at most this many writes into one message.
 */
#define VFIO_USER_WRITE_MULTI_BATCH 32

/*
 * VFIO_USER_DEVICE_FEATURE: the header of struct vfio_device_feature, then
 * the feature's data. <linux/vfio.h> of older kernels lacks the later
 * migration additions.
 */
#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY (1 << 2)
#endif
#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif

struct vfio_user_feature {
	uint32_t argsz;
	uint32_t flags;
	/* followed by the feature's data */
} __rte_packed;

/* VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE */
struct vfio_user_mig_state {
	uint32_t device_state;
	int32_t data_fd; /* unused by vfio-user */
} __rte_packed;

/* VFIO_DEVICE_FEATURE_DMA_LOGGING_START: the ranges follow, not a pointer to them. */
struct vfio_user_logging_control {
	uint64_t page_size;
	uint32_t num_ranges;
	uint32_t reserved;
	/* followed by num_ranges struct vfio_user_logging_range */
} __rte_packed;

struct vfio_user_logging_range {
	uint64_t iova;
	uint64_t length;
} __rte_packed;

/* VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: the bitmap follows in the reply. */
struct vfio_user_logging_report {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
} __rte_packed;

/* MIG_DATA_READ request and reply, MIG_DATA_WRITE request (data follows). */
struct vfio_user_mig_data {
	uint32_t argsz;
	uint32_t size;
} __rte_packed;

_Static_assert(sizeof(struct vfio_user_hdr) == 16, "header layout");
_Static_assert(sizeof(struct vfio_user_dma_map) == 32, "DMA_MAP layout");
_Static_assert(sizeof(struct vfio_user_dma_unmap) == 24, "DMA_UNMAP layout");
_Static_assert(sizeof(struct vfio_user_sub_region_io_fd) == 40, "sub-region layout");
_Static_assert(sizeof(struct vfio_user_write_multi_entry) == 24, "WRITE_MULTI layout");
_Static_assert(sizeof(struct vfio_user_device_info) == 16, "device info layout");
_Static_assert(sizeof(struct vfio_region_info) == 32, "region info layout");
_Static_assert(sizeof(struct vfio_irq_info) == 16, "irq info layout");
_Static_assert(sizeof(struct vfio_irq_set) == 20, "irq set layout");
_Static_assert(sizeof(struct vfio_user_logging_control) == 16, "logging control layout");
_Static_assert(sizeof(struct vfio_user_logging_report) == 24, "logging report layout");

#endif /* _VFIO_USER_PROTO_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_COMMON_H_
#define _RTE_VFIO_USER_COMMON_H_

/**
 * @file
 * RTE vfio-user: what the server and the client share
 *
 * The vfio-user protocol lets a PCI device be emulated in one process (the
 * *server*) and consumed by another (the *client*, typically a VMM such as
 * QEMU, or a DPDK application) over a UNIX stream socket. Control travels as
 * messages; DMA memory, mappable BARs and interrupt eventfds travel as file
 * descriptors passed with SCM_RIGHTS. The wire format follows the published
 * vfio-user specification, protocol version 0.0.
 *
 * Both halves of this library share one EAL control thread
 * ("vfio-user-ctrl") that polls every listening socket, every server session
 * and every client socket. The server API is in rte_vfio_user_server.h, the
 * client API in rte_vfio_user_client.h; rte_vfio_user.h includes both.
 * Server and client device ids are separate name spaces.
 *
 * Unless stated otherwise, functions returning int return 0 or a
 * non-negative value on success and a negative errno value on failure; the
 * same errno is also stored in rte_errno.
 *
 * @warning
 * @b EXPERIMENTAL:
 * All functions in this file may be changed or removed without prior notice.
 */

#include <stdint.h>

#include <rte_compat.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol major version spoken by this library. */
#define RTE_VFIO_USER_VERSION_MAJOR 0
/** Highest protocol minor version spoken by this library. */
#define RTE_VFIO_USER_VERSION_MINOR 0

/** Sub-region notified through an ioeventfd (VFIO_USER_DEVICE_GET_REGION_IO_FDS). */
#define RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD 0
/** Sub-region notified through an ioregionfd (VFIO_USER_DEVICE_GET_REGION_IO_FDS). */
#define RTE_VFIO_USER_IO_FD_TYPE_IOREGIONFD 1

/**
 * Limits applied to every session created after rte_vfio_user_limits_set().
 * A zero field means "keep the current value".
 */
struct rte_vfio_user_limits {
	/** Registered servers, and separately attached clients (default 1024). */
	uint32_t max_devices;
	/** Largest message accepted, header included (default 1 MiB + 4 KiB). */
	uint32_t max_msg_size;
	/** File descriptors accepted in one message (default 16). */
	uint32_t max_msg_fds;
	/** DMA mappings valid at once per session (default 65535). */
	uint32_t max_dma_maps;
	/** Largest data count of one region or DMA read/write (default 1 MiB). */
	uint32_t max_data_xfer_size;
	/** How long a client waits for a reply, in milliseconds (default 5000). */
	uint32_t reply_timeout_ms;
	/**
	 * Commands a server session holds queued while its control thread
	 * waits for a DMA reply (default 1024); more get an ENOBUFS error reply
	 * in their turn. As many refusals again, or a refused command with
	 * No_reply, close the connection.
	 */
	uint32_t max_pending_msgs;
	/**
	 * Bytes of client memory a server session maps at once, over all the
	 * DMA windows that came with a file descriptor (default 1 TiB); a
	 * DMA_MAP beyond it gets an ENOSPC error reply. A window inside a
	 * mapping the session holds already (same file and protection) maps
	 * nothing more.
	 */
	uint64_t max_dma_mapped_bytes;
	/**
	 * How long a client waits for the reply to a device reset, in
	 * milliseconds (default 60000): the specification warns that a reset
	 * may take long, so it is not bounded by reply_timeout_ms.
	 */
	uint32_t reset_timeout_ms;
};

/**
 * One DMA mapping: a window of client (guest) memory the server may access.
 */
struct rte_vfio_user_mem_reg {
	uint64_t iova;      /**< DMA address of the window (guest physical address). */
	uint64_t size;      /**< Size of the window in bytes. */
	uint64_t fd_offset; /**< Offset of the window in @c fd. */
	uint32_t prot;      /**< PROT_READ and/or PROT_WRITE. */
	/**
	 * File descriptor backing the window, or -1. On the server it is the
	 * descriptor the library keeps for the file the client sent: windows of
	 * one file (same st_dev and st_ino) share one descriptor, valid as long
	 * as the window is mapped; on the client it is unused.
	 */
	int fd;
	/**
	 * Address of the window in this process: on the server the mapping of
	 * @c fd, shared with other windows of the same file range and
	 * protection (NULL when the client sent no fd, in which case the memory is
	 * reached with DMA_READ/DMA_WRITE messages); on the client the memory
	 * the library serves DMA_READ/DMA_WRITE messages from.
	 */
	void *vaddr;
};

/** One ioeventfd/ioregionfd sub-region of a region. */
struct rte_vfio_user_io_fd {
	uint64_t offset;    /**< Start of the sub-region within the region. */
	uint64_t size;      /**< Length of the sub-region (0: any access size). */
	int fd;             /**< Notification file descriptor. */
	uint32_t type;      /**< RTE_VFIO_USER_IO_FD_TYPE_*. */
	uint32_t flags;     /**< KVM_IOEVENTFD_FLAG_* or KVM_IOREGION_* flags. */
	uint64_t datamatch; /**< Datamatch value (ioeventfd) or user data (ioregionfd). */
};

/**
 * Migration state of a device: the states of the device migration finite
 * state machine of <linux/vfio.h> (enum vfio_device_mig_state), with the same
 * values, which are also the values on the wire
 * (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE). The P2P states are not used by
 * vfio-user.
 */
enum rte_vfio_user_mig_state {
	RTE_VFIO_USER_MIG_ERROR = 0,     /**< Failed; only a device reset leaves it. */
	RTE_VFIO_USER_MIG_STOP = 1,      /**< Stopped: no DMA, no interrupt, no state change. */
	RTE_VFIO_USER_MIG_RUNNING = 2,   /**< Running normally. */
	RTE_VFIO_USER_MIG_STOP_COPY = 3, /**< Stopped, its state is being saved. */
	RTE_VFIO_USER_MIG_RESUMING = 4,  /**< Stopped, a saved state is being loaded. */
	RTE_VFIO_USER_MIG_PRE_COPY = 6,  /**< Running, its state is being saved. */
};

/** The device supports STOP, STOP_COPY and RESUMING (VFIO_MIGRATION_STOP_COPY). */
#define RTE_VFIO_USER_MIG_F_STOP_COPY (UINT64_C(1) << 0)
/** The device also supports PRE_COPY (VFIO_MIGRATION_PRE_COPY). */
#define RTE_VFIO_USER_MIG_F_PRE_COPY (UINT64_C(1) << 2)

/** A range of DMA addresses whose writes are logged (DMA logging). */
struct rte_vfio_user_dirty_range {
	uint64_t iova;   /**< First DMA address. */
	uint64_t length; /**< Length in bytes. */
};

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read the limits in force.
 *
 * @param lim
 *   Filled with the current limits.
 * @return
 *   0 on success, -EINVAL if @p lim is NULL.
 */
__rte_experimental
int
rte_vfio_user_limits_get(struct rte_vfio_user_limits *lim);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Change the limits applied to sessions created from now on. Zero fields keep
 * their current value.
 *
 * @param lim
 *   New limits.
 * @return
 *   0 on success; -EINVAL if @p lim is NULL or inconsistent (max_msg_size
 *   must hold a header, a read/write header and max_data_xfer_size bytes;
 *   max_msg_fds at most 253, the kernel's SCM_RIGHTS limit; the timeouts at
 *   most INT32_MAX).
 */
__rte_experimental
int
rte_vfio_user_limits_set(const struct rte_vfio_user_limits *lim);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_VFIO_USER_COMMON_H_ */

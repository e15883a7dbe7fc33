/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_H_
#define _RTE_VFIO_USER_H_

/**
 * @file
 * RTE vfio-user
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
 * and every client socket. Server callbacks (region access, notify ops) run on
 * that thread, one at a time, so a device model needs no locking between its
 * own callbacks; it must not block in them for long, because every other
 * device of the process waits meanwhile.
 *
 * Server side: register a socket path (one device per path), describe the
 * device with rte_vfio_user_set_dev_info(), rte_vfio_user_set_reg_info() and
 * rte_vfio_user_set_irq_info(), then rte_vfio_user_start(). One client is
 * served at a time; when it disconnects its DMA mappings and interrupt
 * eventfds are dropped, the device state is kept and the next client is
 * accepted.
 *
 * Client side: rte_vfio_user_attach_dev() connects and negotiates; the
 * returned device id is then used like a kernel VFIO device fd. The client
 * calls are thread safe; replies are matched to callers by message id, and a
 * server that does not answer within the reply timeout of
 * struct rte_vfio_user_limits makes the call fail with -ETIMEDOUT.
 *
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio.h>

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
	 * waits for a DMA reply (default 1024); more get an ENOBUFS error reply.
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
};

/** Permission bits of a server socket when rte_vfio_user_sock_opts::mode is 0. */
#define RTE_VFIO_USER_SOCK_MODE_DEFAULT 0600

/** Accept a client whose uid (SO_PEERCRED) is rte_vfio_user_sock_opts::uid. */
#define RTE_VFIO_USER_SOCK_F_PEER_UID (1u << 0)
/** Accept a client whose primary gid (SO_PEERCRED) is rte_vfio_user_sock_opts::gid. */
#define RTE_VFIO_USER_SOCK_F_PEER_GID (1u << 1)
/**
 * Refuse DMA_MAP descriptors that cannot be sealed against shrinking
 * (F_SEAL_SHRINK): a client that shrinks a mapped file makes the server's
 * next access to it fault with SIGBUS.
 */
#define RTE_VFIO_USER_SOCK_F_SEALED_DMA (1u << 2)

/**
 * Socket and client options of a server, see rte_vfio_user_set_sock_opts().
 */
struct rte_vfio_user_sock_opts {
	/** RTE_VFIO_USER_SOCK_F_* bits. */
	uint32_t flags;
	/**
	 * Permission bits of the socket file (0 means
	 * RTE_VFIO_USER_SOCK_MODE_DEFAULT, owner only). Connecting needs write
	 * permission.
	 */
	mode_t mode;
	/** Client uid accepted with RTE_VFIO_USER_SOCK_F_PEER_UID. */
	uid_t uid;
	/** Client gid accepted with RTE_VFIO_USER_SOCK_F_PEER_GID. */
	gid_t gid;
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

/** A server's current DMA table. */
struct rte_vfio_user_mem_table {
	uint32_t entry_num;                   /**< Number of valid entries. */
	struct rte_vfio_user_mem_reg *regions; /**< Entries, sorted by iova. */
};

/** Kind of configuration change reported through update_status(). */
enum rte_vfio_user_update {
	RTE_VFIO_USER_UPDATE_DMA, /**< The DMA table changed. */
	RTE_VFIO_USER_UPDATE_IRQ, /**< Interrupt eventfds or masks changed. */
};

/**
 * Callbacks from the library to an emulated device. All run on the control
 * thread. Any of them may be NULL.
 */
struct rte_vfio_user_notify_ops {
	/**
	 * A client completed version negotiation and the device is in use.
	 * A negative return closes the connection.
	 */
	int (*new_device)(int dev_id);
	/** The client went away (or the server was stopped). */
	void (*destroy_device)(int dev_id);
	/** The DMA table or the interrupt configuration changed. */
	int (*update_status)(int dev_id, enum rte_vfio_user_update type);
	/**
	 * Called with lock = 1 before the DMA table or interrupt configuration
	 * changes and with lock = 0 after: the device must stop using DMA
	 * addresses obtained from the table while locked.
	 */
	int (*lock_dp)(int dev_id, int lock);
	/** The client asked for VFIO_USER_DEVICE_RESET. */
	int (*reset_device)(int dev_id);
};

struct rte_vfio_user_reg_info;

/**
 * Region access callback, for VFIO_USER_REGION_READ/WRITE(_MULTI).
 *
 * @param dev_id
 *   Server device id.
 * @param reg
 *   The region, as registered (its @c priv is the caller's).
 * @param buf
 *   Data to write, or buffer to read into.
 * @param count
 *   Number of bytes; the library has checked that offset + count fits the region.
 * @param offset
 *   Offset in the region.
 * @param is_write
 *   True for a write.
 * @return
 *   Bytes transferred (count on success), or a negative errno sent to the client.
 */
typedef ssize_t (*rte_vfio_user_reg_acc_t)(int dev_id, struct rte_vfio_user_reg_info *reg,
		char *buf, size_t count, uint64_t offset, bool is_write);

/** One ioeventfd/ioregionfd sub-region of a region. */
struct rte_vfio_user_io_fd {
	uint64_t offset;    /**< Start of the sub-region within the region. */
	uint64_t size;      /**< Length of the sub-region (0: any access size). */
	int fd;             /**< Notification file descriptor. */
	uint32_t type;      /**< RTE_VFIO_USER_IO_FD_TYPE_*. */
	uint32_t flags;     /**< KVM_IOEVENTFD_FLAG_* or KVM_IOREGION_* flags. */
	uint64_t datamatch; /**< Datamatch value (ioeventfd) or user data (ioregionfd). */
};

/** Description of one device region (a BAR, config space, ...). */
struct rte_vfio_user_reg_info {
	/**
	 * Access callback. When NULL, REGION_READ/WRITE are served from
	 * @c base, or from a mapping of @c fd the library makes itself.
	 */
	rte_vfio_user_reg_acc_t rw;
	/** Memory of the region in this process, or NULL. */
	void *base;
	/** File descriptor the client may mmap (VFIO_REGION_INFO_FLAG_MMAP), or -1. */
	int fd;
	/**
	 * Region info as sent to the client: flags, index, size, and the mmap
	 * offset in @c fd. When VFIO_REGION_INFO_FLAG_CAPS is set, the
	 * capability chain (sparse mmap, region type) follows the structure;
	 * argsz covers the structure and its chain.
	 */
	struct vfio_region_info *info;
	/** ioeventfd sub-regions handed out by VFIO_USER_DEVICE_GET_REGION_IO_FDS. */
	const struct rte_vfio_user_io_fd *io_fds;
	/** Number of entries in @c io_fds. */
	uint32_t nr_io_fds;
	/** Opaque pointer for the device model. */
	void *priv;
};

/** All regions of a device. */
struct rte_vfio_user_regions {
	uint32_t reg_num;                        /**< Number of entries. */
	struct rte_vfio_user_reg_info *reg_info; /**< Entries; reg_info[i].info->index == i. */
};

/** All interrupt types of a device. */
struct rte_vfio_user_irq_info {
	uint32_t irq_num;               /**< Number of entries. */
	struct vfio_irq_info *irq_info; /**< Entries; irq_info[i].index == i. */
};

/** A mapped part of a client-side region, see rte_vfio_user_region_mmap(). */
struct rte_vfio_user_region_map {
	uint64_t offset; /**< Offset of the mapping in the region. */
	uint64_t size;   /**< Length of the mapping. */
	void *addr;      /**< Address in this process. */
};

/** One write of VFIO_USER_REGION_WRITE_MULTI, see rte_vfio_user_region_write_multi(). */
struct rte_vfio_user_region_wr {
	uint64_t offset; /**< Offset in the region. */
	uint32_t index;  /**< Region index. */
	uint32_t count;  /**< Bytes, 1 to 8. */
	uint8_t data[8]; /**< Data to write. */
};

/*
 * Common
 */

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
 *   max_msg_fds at most 253, the kernel's SCM_RIGHTS limit).
 */
__rte_experimental
int
rte_vfio_user_limits_set(const struct rte_vfio_user_limits *lim);

/*
 * Server
 */

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Register a device served on a UNIX socket path. The socket is created by
 * rte_vfio_user_start().
 *
 * @param sock_addr
 *   Socket path; it identifies the device in the other server calls.
 * @param ops
 *   Notify callbacks, copied; may be NULL.
 * @return
 *   The server device id (>= 0) on success; -EINVAL for a NULL, empty or
 *   too long path; -EEXIST if the path is already registered; -ENOSPC when
 *   max_devices servers exist; -ENOMEM.
 */
__rte_experimental
int
rte_vfio_user_register(const char *sock_addr, const struct rte_vfio_user_notify_ops *ops);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Stop serving a device (as rte_vfio_user_stop()) and forget it. Must not be
 * called from one of the device's own callbacks.
 *
 * @param sock_addr
 *   Socket path given to rte_vfio_user_register().
 * @return
 *   0 on success, -EINVAL if @p sock_addr is NULL, -ENOENT if not registered,
 *   -EDEADLK if called from the device's own callback.
 */
__rte_experimental
int
rte_vfio_user_unregister(const char *sock_addr);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Set the socket and client options of a registered device, applied by the
 * next rte_vfio_user_start(). Without this call the socket is created owner
 * only (mode 0600), any client able to connect is accepted, and DMA
 * descriptors that cannot be sealed are accepted.
 *
 * With RTE_VFIO_USER_SOCK_F_PEER_UID and/or RTE_VFIO_USER_SOCK_F_PEER_GID,
 * a client is accepted when its credentials (SO_PEERCRED, taken at connect
 * time) match one of the enabled checks; any other client is disconnected
 * before it is read, and the refusal is logged.
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @param opts
 *   Options, copied.
 * @return
 *   0 on success; -EINVAL for a NULL argument, unknown flags or mode bits
 *   outside 0777; -ENOENT if not registered; -EBUSY if started.
 */
__rte_experimental
int
rte_vfio_user_set_sock_opts(const char *sock_addr, const struct rte_vfio_user_sock_opts *opts);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Set the device information (flags, number of regions and IRQ types).
 * Only allowed while the device is not started.
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @param dev_info
 *   Device info; flags must contain VFIO_DEVICE_FLAGS_PCI and may contain
 *   VFIO_DEVICE_FLAGS_RESET; num_regions at least VFIO_PCI_NUM_REGIONS.
 * @return
 *   0 on success, -EINVAL for bad arguments, -ENOENT if not registered,
 *   -EBUSY if started.
 */
__rte_experimental
int
rte_vfio_user_set_dev_info(const char *sock_addr, const struct vfio_device_info *dev_info);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Set the regions of the device. Everything is copied, except @c base, the
 * file descriptors and @c priv, which must stay valid until the device is
 * unregistered. Only allowed while the device is not started, after
 * rte_vfio_user_set_dev_info().
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @param reg
 *   reg_num must equal the num_regions of the device info; each info must
 *   have argsz >= sizeof(struct vfio_region_info) and a capability chain that
 *   stays within argsz; a region with VFIO_REGION_INFO_FLAG_MMAP needs an fd.
 * @return
 *   0 on success, -EINVAL for bad arguments, -ENOENT if not registered,
 *   -EBUSY if started, -ENOMEM.
 */
__rte_experimental
int
rte_vfio_user_set_reg_info(const char *sock_addr, const struct rte_vfio_user_regions *reg);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Set the interrupt types of the device (for PCI: INTx, MSI, MSI-X, ERR,
 * REQ). Only allowed while the device is not started, after
 * rte_vfio_user_set_dev_info().
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @param irq
 *   irq_num must equal the num_irqs of the device info.
 * @return
 *   0 on success, -EINVAL for bad arguments, -ENOENT if not registered,
 *   -EBUSY if started, -ENOMEM.
 */
__rte_experimental
int
rte_vfio_user_set_irq_info(const char *sock_addr, const struct rte_vfio_user_irq_info *irq);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Create the listening socket and serve clients from the control thread.
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @return
 *   0 on success; -EINVAL if the device is not fully described; -ENOENT if
 *   not registered; -EALREADY if started; -EADDRINUSE if the path exists
 *   and is not a stale socket owned by this user (a live socket, a regular
 *   file, a symbolic link, ...: the path is never followed nor replaced);
 *   other negative errno from socket calls. The socket file gets the mode
 *   of rte_vfio_user_set_sock_opts() (0600 by default) before it accepts
 *   connections.
 */
__rte_experimental
int
rte_vfio_user_start(const char *sock_addr);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Disconnect the client (destroy_device is called), close and remove the
 * listening socket. The device stays registered and can be started again.
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @return
 *   0 on success, -ENOENT if not registered, -EALREADY if not started,
 *   -EDEADLK if called from the device's own callback.
 */
__rte_experimental
int
rte_vfio_user_stop(const char *sock_addr);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Attach an opaque pointer to a server device, for its callbacks.
 *
 * @param dev_id
 *   Server device id.
 * @param priv
 *   Pointer returned by rte_vfio_user_get_priv().
 * @return
 *   0 on success, -ENODEV for an unknown device id.
 */
__rte_experimental
int
rte_vfio_user_set_priv(int dev_id, void *priv);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Get the pointer attached with rte_vfio_user_set_priv().
 *
 * @param dev_id
 *   Server device id.
 * @return
 *   The pointer given to rte_vfio_user_set_priv(), or NULL (rte_errno is set
 *   to ENODEV for an unknown device id).
 */
__rte_experimental
void *
rte_vfio_user_get_priv(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Get the DMA table of a server device. The table belongs to the library; it
 * stays valid until the next update_status(RTE_VFIO_USER_UPDATE_DMA) or
 * destroy_device callback, both of which are preceded by lock_dp(1).
 *
 * @param dev_id
 *   Server device id.
 * @return
 *   The table, or NULL with rte_errno set to ENODEV (unknown device) or
 *   ENOTCONN (no client connected).
 */
__rte_experimental
const struct rte_vfio_user_mem_table *
rte_vfio_user_get_mem_table(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Get the trigger eventfds the client set for interrupts of one type.
 *
 * @param dev_id
 *   Server device id.
 * @param index
 *   IRQ type index (VFIO_PCI_MSIX_IRQ_INDEX, ...).
 * @param count
 *   Number of sub-indexes to read, from 0.
 * @param fds
 *   Array of @p count entries, filled with the eventfds, -1 where none is set.
 *   They stay owned by the library.
 * @return
 *   0 on success, -EINVAL for bad index, count or NULL fds, -ENODEV.
 */
__rte_experimental
int
rte_vfio_user_get_irq(int dev_id, uint32_t index, uint32_t count, int *fds);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Raise an interrupt: signal its eventfd, or remember it as pending while
 * the client has it masked. An interrupt whose type is declared
 * VFIO_IRQ_INFO_AUTOMASKED and VFIO_IRQ_INFO_MASKABLE (INTx, usually) is
 * masked as it is signalled, until the client unmasks it.
 *
 * @param dev_id
 *   Server device id.
 * @param index
 *   IRQ type index (VFIO_PCI_MSIX_IRQ_INDEX, ...).
 * @param subindex
 *   Vector within the type.
 * @return
 *   0 on success (also when pending), -EINVAL for bad index or sub-index,
 *   -ENODEV, -ENOENT when the client set no eventfd for it.
 */
__rte_experimental
int
rte_vfio_user_irq_trigger(int dev_id, uint32_t index, uint32_t subindex);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Translate a DMA address to an address in this process, through the
 * mappings the client passed file descriptors for.
 *
 * @param dev_id
 *   Server device id.
 * @param iova
 *   DMA address.
 * @param len
 *   In: bytes wanted. Out: bytes contiguous from the returned address (may be
 *   less than asked, never more).
 * @return
 *   The address, or NULL with rte_errno set: ENODEV, EINVAL (NULL len),
 *   ENOENT (not mapped, or mapped without an fd).
 */
__rte_experimental
void *
rte_vfio_user_iova_to_vva(int dev_id, uint64_t iova, uint64_t *len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read client memory. Uses the mapping when the client passed an fd, else
 * VFIO_USER_DMA_READ messages (over the twin socket when negotiated), split
 * at the client's max_data_xfer_size. May be called from the control thread
 * (inside a region access callback) or from any other thread.
 *
 * @param dev_id
 *   Server device id.
 * @param iova
 *   DMA address to read from.
 * @param buf
 *   Destination buffer of @p len bytes.
 * @param len
 *   Bytes to read.
 * @return
 *   0 on success; -EINVAL (NULL buf); -ENODEV; -ENOTCONN; -EFAULT when the
 *   range is not fully covered by readable mappings; -ETIMEDOUT or the
 *   client's error for message transfers.
 */
__rte_experimental
int
rte_vfio_user_dma_read(int dev_id, uint64_t iova, void *buf, size_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Write client memory, as rte_vfio_user_dma_read() reads it.
 *
 * @param dev_id
 *   Server device id.
 * @param iova
 *   DMA address to write to.
 * @param buf
 *   Source buffer of @p len bytes.
 * @param len
 *   Bytes to write.
 * @return
 *   As rte_vfio_user_dma_read(), -EFAULT when not fully writable.
 */
__rte_experimental
int
rte_vfio_user_dma_write(int dev_id, uint64_t iova, const void *buf, size_t len);

/*
 * Client
 */

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Connect to a vfio-user server and negotiate the protocol version and
 * capabilities (twin socket and write_multiple are requested).
 *
 * @param sock_addr
 *   Socket path of the server.
 * @return
 *   The client device id (>= 0) on success; -EINVAL for a bad path;
 *   -ENOSPC when max_devices clients are attached; -ECONNREFUSED, -ENOENT
 *   and other connect errors; -EPROTO when the server's VERSION reply breaks
 *   the specification; -ETIMEDOUT; -ENOMEM.
 */
__rte_experimental
int
rte_vfio_user_attach_dev(const char *sock_addr);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Close the connection: region mappings made by rte_vfio_user_region_mmap()
 * are unmapped, and calls in progress on other threads fail with -ENOTCONN.
 *
 * @param dev_id
 *   Client device id.
 * @return
 *   0 on success, -ENODEV for an unknown device id, -EDEADLK when called
 *   from the device's own disconnect callback.
 */
__rte_experimental
int
rte_vfio_user_detach_dev(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_GET_INFO.
 *
 * @param dev_id
 *   Client device id.
 * @param info
 *   Filled with the device info (argsz is set by the library).
 * @return
 *   0 on success; -EINVAL (NULL info); -ENODEV; -ENOTCONN (server gone);
 *   -ETIMEDOUT; -EPROTO (malformed reply); the server's errno.
 */
__rte_experimental
int
rte_vfio_user_get_dev_info(int dev_id, struct vfio_device_info *info);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_GET_REGION_INFO, with the semantics of the kernel ioctl:
 * set info->index and info->argsz (the size of the buffer @p info points
 * to); on return argsz is the size the full info needs, and the capability
 * chain is copied when it fits.
 *
 * @param dev_id
 *   Client device id.
 * @param info
 *   Buffer of info->argsz bytes, at least sizeof(struct vfio_region_info).
 * @param fd
 *   If not NULL, receives the region's mmap file descriptor (caller closes
 *   it) or -1. If NULL, a received descriptor is closed.
 * @return
 *   As rte_vfio_user_get_dev_info().
 */
__rte_experimental
int
rte_vfio_user_get_reg_info(int dev_id, struct vfio_region_info *info, int *fd);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_GET_REGION_IO_FDS.
 *
 * @param dev_id
 *   Client device id.
 * @param index
 *   Region index.
 * @param io_fds
 *   Array of *@p count entries to fill; each fd is a new descriptor that
 *   the caller closes. May be NULL when *@p count is 0.
 * @param count
 *   In: entries in @p io_fds. Out: sub-regions the server has; when that is
 *   more than the array holds, nothing is filled.
 * @return
 *   As rte_vfio_user_get_dev_info().
 */
__rte_experimental
int
rte_vfio_user_get_reg_io_fds(int dev_id, uint32_t index, struct rte_vfio_user_io_fd *io_fds,
		uint32_t *count);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_GET_IRQ_INFO: set info->index; the rest is filled.
 *
 * @param dev_id
 *   Client device id.
 * @param info
 *   IRQ info, index set by the caller.
 * @return
 *   As rte_vfio_user_get_dev_info().
 */
__rte_experimental
int
rte_vfio_user_get_irq_info(int dev_id, struct vfio_irq_info *info);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_SET_IRQS, with the layout of the kernel ioctl: for
 * VFIO_IRQ_SET_DATA_EVENTFD, data holds @c count int32 descriptors, all >= 0
 * (they are passed to the server), or none at all when argsz equals
 * sizeof(struct vfio_irq_set) (de-assign); for VFIO_IRQ_SET_DATA_BOOL,
 * @c count bytes.
 *
 * @param dev_id
 *   Client device id.
 * @param set
 *   The request, argsz bytes long.
 * @return
 *   As rte_vfio_user_get_dev_info(); -EINVAL for an inconsistent @p set or
 *   more descriptors than the server accepts in one message.
 */
__rte_experimental
int
rte_vfio_user_set_irqs(int dev_id, const struct vfio_irq_set *set);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DMA_MAP: make client memory available to the server.
 *
 * @param dev_id
 *   Client device id.
 * @param mem
 *   @p num windows: iova, size, prot, fd_offset, and vaddr, the memory in
 *   this process (needed to serve the server's DMA_READ/DMA_WRITE).
 * @param fds
 *   @p num descriptors backing the windows (passed to the server, which can
 *   then mmap them), -1 for a window reached only by messages; NULL means
 *   all -1.
 * @param num
 *   Number of windows. Windows are mapped in order; on failure the ones
 *   already mapped stay mapped.
 * @return
 *   As rte_vfio_user_get_dev_info(); -EEXIST when a window overlaps an
 *   existing mapping; -ENOSPC when the server's max_dma_maps is reached.
 */
__rte_experimental
int
rte_vfio_user_dma_map(int dev_id, struct rte_vfio_user_mem_reg *mem, int *fds, uint32_t num);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DMA_UNMAP: each window must match an earlier mapping exactly
 * (iova and size). With @p mem NULL and @p num 0, every mapping is removed
 * (VFIO_DMA_UNMAP_FLAG_ALL).
 *
 * @param dev_id
 *   Client device id.
 * @param mem
 *   @p num windows (iova and size are used), or NULL.
 * @param num
 *   Number of windows, or 0 with @p mem NULL.
 * @return
 *   As rte_vfio_user_get_dev_info(); -ENOENT when no mapping matches.
 */
__rte_experimental
int
rte_vfio_user_dma_unmap(int dev_id, struct rte_vfio_user_mem_reg *mem, uint32_t num);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read a device region with VFIO_USER_REGION_READ messages (split at the
 * server's max_data_xfer_size).
 *
 * @param dev_id
 *   Client device id.
 * @param index
 *   Region index.
 * @param offset
 *   Offset in the region.
 * @param buf
 *   Destination buffer of @p count bytes.
 * @param count
 *   Bytes to read (0 sends nothing).
 * @return
 *   Bytes read (@p count) on success, or as rte_vfio_user_get_dev_info().
 */
__rte_experimental
ssize_t
rte_vfio_user_region_read(int dev_id, uint32_t index, uint64_t offset, void *buf, size_t count);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Write a device region with VFIO_USER_REGION_WRITE messages.
 *
 * @param dev_id
 *   Client device id.
 * @param index
 *   Region index.
 * @param offset
 *   Offset in the region.
 * @param buf
 *   Source buffer of @p count bytes.
 * @param count
 *   Bytes to write (0 sends nothing).
 * @return
 *   Bytes written (@p count) on success, or as rte_vfio_user_get_dev_info().
 */
__rte_experimental
ssize_t
rte_vfio_user_region_write(int dev_id, uint32_t index, uint64_t offset, const void *buf,
		size_t count);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Coalesce small writes into VFIO_USER_REGION_WRITE_MULTI messages when the
 * server negotiated write_multiple, else send them one by one.
 *
 * @param dev_id
 *   Client device id.
 * @param wrs
 *   @p num writes, performed in order.
 * @param num
 *   Number of writes.
 * @return
 *   Number of writes completed (@p num) on success, or as
 *   rte_vfio_user_get_dev_info(); -EINVAL for a count outside 1..8.
 */
__rte_experimental
int
rte_vfio_user_region_write_multi(int dev_id, const struct rte_vfio_user_region_wr *wrs,
		uint32_t num);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Map a mappable region into this process: the whole region, or each sparse
 * mmap area when the region has VFIO_REGION_INFO_CAP_SPARSE_MMAP. The
 * mappings belong to the library and are unmapped by
 * rte_vfio_user_detach_dev(); calling again returns the same mappings.
 *
 * @param dev_id
 *   Client device id.
 * @param index
 *   Region index.
 * @param maps
 *   Array of *@p nr_maps entries to fill.
 * @param nr_maps
 *   In: entries in @p maps. Out: number of mappings.
 * @return
 *   0 on success; -ENOTSUP when the region is not mappable; -ENOSPC when
 *   @p maps is too small (*@p nr_maps then tells the need); as
 *   rte_vfio_user_get_dev_info(); mmap errors.
 */
__rte_experimental
int
rte_vfio_user_region_mmap(int dev_id, uint32_t index, struct rte_vfio_user_region_map *maps,
		uint32_t *nr_maps);

/**
 * Called once when the server of a client device goes away: it closed the
 * connection (it stopped or died) or broke the protocol. Runs on the control
 * thread; every call on the device then fails with -ENOTCONN, and the device
 * stays attached until rte_vfio_user_detach_dev(). The callback must return
 * quickly; it cannot detach the device (-EDEADLK) and must not wait for
 * another thread that detaches it.
 *
 * @param dev_id
 *   Client device id.
 * @param arg
 *   The pointer given to rte_vfio_user_set_disconnect_cb().
 */
typedef void (*rte_vfio_user_disconnect_cb_t)(int dev_id, void *arg);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Be told when the server of a client device goes away. A detach is not a
 * disconnection: once rte_vfio_user_detach_dev() has started, the callback
 * is not called, and when it returns no callback is running.
 *
 * @param dev_id
 *   Client device id.
 * @param cb
 *   The callback, or NULL to stop being told.
 * @param arg
 *   Opaque pointer passed to @p cb.
 * @return
 *   0 on success; -ENODEV for an unknown device id; -ENOTCONN when the
 *   server is already gone (the callback was called, or would have been);
 *   -EDEADLK when called from the device's own callback.
 */
__rte_experimental
int
rte_vfio_user_set_disconnect_cb(int dev_id, rte_vfio_user_disconnect_cb_t cb, void *arg);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DEVICE_RESET.
 *
 * @param dev_id
 *   Client device id.
 * @return
 *   As rte_vfio_user_get_dev_info().
 */
__rte_experimental
int
rte_vfio_user_reset(int dev_id);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_VFIO_USER_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_SERVER_H_
#define _RTE_VFIO_USER_SERVER_H_

/**
 * @file
 * RTE vfio-user server: emulate a device
 *
 * Server side: register a socket path (one device per path), describe the
 * device with rte_vfio_user_set_dev_info(), rte_vfio_user_set_reg_info() and
 * rte_vfio_user_set_irq_info(), then rte_vfio_user_start(). One client is
 * served at a time; when it disconnects its DMA mappings and interrupt
 * eventfds are dropped, the device state is kept and the next client is
 * accepted.
 *
 * Server callbacks (region access, notify ops) run on the control thread
 * shared with the client half (see rte_vfio_user_common.h), one at a time,
 * so a device model needs no locking between its own callbacks; it must not
 * block in them for long, because every other device of the process waits
 * meanwhile.
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

#include "rte_vfio_user_common.h"

#ifdef __cplusplus
extern "C" {
#endif

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
	 * addresses obtained from the table while locked. Without twin socket,
	 * message DMA (rte_vfio_user_dma_read/write) waiting or started in
	 * between fails with -EAGAIN, so that this callback may wait for the
	 * device's threads.
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
 * Translate a DMA range with a table from rte_vfio_user_get_mem_table(),
 * without a lock or a library call: for the data path of a device model
 * that keeps the table between its lock_dp(1) calls. The whole range must
 * lie in one window mapped from a file descriptor, with every PROT_* bit of
 * @p prot.
 *
 * @param mt
 *   DMA table.
 * @param iova
 *   First DMA address of the range.
 * @param len
 *   Bytes of the range, at least 1.
 * @param prot
 *   PROT_READ and/or PROT_WRITE the device needs.
 * @return
 *   The address of @p iova in this process, or NULL: NULL or empty table,
 *   @p len 0, a range outside any window or across two, a window reached
 *   only through messages, or one without @p prot.
 */
__rte_experimental
void *
rte_vfio_user_mem_table_xlate(const struct rte_vfio_user_mem_table *mt, uint64_t iova,
		uint64_t len, uint32_t prot);

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
 *   client's error for message transfers; -EAGAIN for a message transfer
 *   without twin socket while the device is asked to quiesce (between
 *   lock_dp(1) and lock_dp(0)): part of it may be done, retry it after.
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

/**
 * Migration callbacks of a device model, see rte_vfio_user_set_migration().
 *
 * The library runs the migration state machine of the specification: it
 * checks every request, splits a transition the client asks for into the
 * direct arcs of <linux/vfio.h> (shortest path, no saving state inside the
 * path) and calls transition() once per arc. All callbacks run on the
 * control thread, as the other callbacks of the device.
 *
 * What the device model does on each arc:
 * - RUNNING -> STOP, STOP_COPY -> STOP: stop the device: no more DMA, no
 *   interrupt, no change of its internal state (region and configuration
 *   accesses are still served). Leaving STOP_COPY ends the save stream.
 * - STOP -> RUNNING: run again.
 * - RUNNING -> PRE_COPY, STOP -> STOP_COPY: start a save stream (save() is
 *   called next); PRE_COPY keeps running.
 * - PRE_COPY -> STOP_COPY: stop running, the save stream goes on.
 * - PRE_COPY -> RUNNING: end the save stream, keep running.
 * - STOP -> RESUMING: get ready to load a state (load() is called next).
 * - RESUMING -> STOP: the whole stream was given to load(): check it is
 *   complete and consistent, and fail the arc if it is not.
 *
 * The device model saves whatever a fresh device needs to behave as this one
 * would from now on: register and configuration contents it keeps itself
 * (config space served by the PCI helper included), queue positions,
 * pending work, interrupt state it raised but the client did not see. It
 * does not save client memory: the client copies that, guided by DMA
 * logging (see rte_vfio_user_dma_mark_dirty()).
 */
struct rte_vfio_user_mig_ops {
	/**
	 * sizeof(struct rte_vfio_user_mig_ops) as the caller was built: fields
	 * added in later versions are taken as NULL or 0 when the size does not
	 * cover them.
	 */
	uint32_t size;
	/**
	 * RTE_VFIO_USER_MIG_F_* states the device supports, sent to the client
	 * in VFIO_DEVICE_FEATURE_MIGRATION; RTE_VFIO_USER_MIG_F_STOP_COPY is
	 * required.
	 */
	uint64_t flags;
	/**
	 * Take one direct arc of the state machine. Required.
	 *
	 * @return
	 *   0 when the device is in state @p to; a negative errno, sent to the
	 *   client, otherwise: the device is then in the ERROR state until a
	 *   device reset (reset_device of struct rte_vfio_user_notify_ops, which
	 *   must then also drop any save or load in progress).
	 */
	int (*transition)(int dev_id, enum rte_vfio_user_mig_state from,
			enum rte_vfio_user_mig_state to);
	/**
	 * Copy the next bytes of the save stream into @p buf (PRE_COPY and
	 * STOP_COPY). Required.
	 *
	 * @return
	 *   Bytes copied, up to @p len; less than @p len when no more data is
	 *   available now (in PRE_COPY more may come later, in STOP_COPY the
	 *   stream is complete); a negative errno sent to the client, which
	 *   leaves the state unchanged.
	 */
	ssize_t (*save)(int dev_id, void *buf, size_t len);
	/**
	 * Take the next bytes of the stream being loaded (RESUMING), in the
	 * order they were saved but not in the same chunks. Required.
	 *
	 * @return
	 *   0, or a negative errno sent to the client: the device is then in
	 *   the ERROR state, as when transition() fails.
	 */
	int (*load)(int dev_id, const void *buf, size_t len);
	/**
	 * Estimate the bytes of the save stream still to come if the device
	 * entered STOP_COPY now (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE). Optional:
	 * without it the client is told the feature is not supported.
	 *
	 * @return
	 *   0 with *len set, or a negative errno sent to the client.
	 */
	int (*data_size)(int dev_id, uint64_t *len);
};

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Make a registered device migratable: the library then answers
 * VFIO_USER_DEVICE_FEATURE (migration, migration state, data size, DMA
 * logging) and VFIO_USER_MIG_DATA_READ/WRITE through @p ops, and offers the
 * "migration" capability in version negotiation. Without this call those
 * features are refused and the device stays RUNNING.
 *
 * A client that goes away leaves the device in RUNNING: the library takes
 * the arcs leading there, and when one fails it calls the reset_device
 * notify callback. A device reset (VFIO_USER_DEVICE_RESET) also leaves the
 * device in RUNNING, from any state.
 *
 * A migratable device model must report the writes it makes to client
 * memory through addresses from rte_vfio_user_iova_to_vva() or the memory
 * table with rte_vfio_user_dma_mark_dirty(); those made with
 * rte_vfio_user_dma_write() are logged by the library.
 *
 * @param sock_addr
 *   Socket path of a registered device.
 * @param ops
 *   Callbacks, copied (up to ops->size bytes); NULL makes the device not
 *   migratable again.
 * @return
 *   0 on success; -EINVAL for a NULL path, an ops->size smaller than the
 *   first version of the structure, flags without
 *   RTE_VFIO_USER_MIG_F_STOP_COPY or with unknown bits, or a required
 *   callback left NULL; -ENOENT if not registered; -EBUSY if started.
 */
__rte_experimental
int
rte_vfio_user_set_migration(const char *sock_addr, const struct rte_vfio_user_mig_ops *ops);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Log a write the device made to client memory by itself (through an
 * address from rte_vfio_user_iova_to_vva() or the memory table), for DMA
 * logging. A migratable device must call it after every such write, or the
 * client may migrate stale memory. Writes outside the logged ranges, or
 * while logging is off, are not recorded. While no device of the process
 * logs, the call is one atomic load; while one does, it takes the read locks
 * of the device lookup and its DMA table, as rte_vfio_user_iova_to_vva()
 * does, so a device that writes a lot marks a whole buffer once rather than
 * each write.
 *
 * @param dev_id
 *   Server device id.
 * @param iova
 *   DMA address of the first byte written.
 * @param len
 *   Bytes written (0 does nothing).
 * @return
 *   0 on success (also when nothing is logged); -ENODEV for a negative
 *   device id, or an unknown one while a device of the process logs;
 *   -ENOTCONN when no client is connected (also only checked then); -EFAULT
 *   when iova + len wraps past 2^64.
 */
__rte_experimental
int
rte_vfio_user_dma_mark_dirty(int dev_id, uint64_t iova, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_VFIO_USER_SERVER_H_ */

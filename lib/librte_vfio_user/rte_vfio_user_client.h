/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_CLIENT_H_
#define _RTE_VFIO_USER_CLIENT_H_

/**
 * @file
 * RTE vfio-user client: use a device
 *
 * Client side: rte_vfio_user_attach_dev() connects and negotiates; the
 * returned device id is then used like a kernel VFIO device fd. The client
 * calls are thread safe; replies are matched to callers by message id, and a
 * server that does not answer within the reply timeout of
 * struct rte_vfio_user_limits makes the call fail with -ETIMEDOUT.
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

/** What happened to the server of a device attached with reconnection. */
enum rte_vfio_user_conn_event {
	/**
	 * The server went away (it closed the connection, died or broke the
	 * protocol). The device stays attached; its calls fail at once with
	 * -ENOTCONN while the library retries the socket path every
	 * rte_vfio_user_attach_opts::reconnect_ms milliseconds.
	 */
	RTE_VFIO_USER_CONN_LOST,
	/**
	 * A server is back on the path, serving the same device (same device
	 * info and region layout). The library replayed what the client owns:
	 * version negotiation, every DMA window (with its descriptor), the
	 * interrupt eventfds of the last SET_IRQS per interrupt index, and the
	 * region mappings, at the same addresses. The device itself was reset:
	 * its registers and queues are lost, and the driver programs it again.
	 */
	RTE_VFIO_USER_CONN_RESET,
	/**
	 * As RTE_VFIO_USER_CONN_RESET, but the device is not reset: the state
	 * rte_vfio_user_mig_save_for_restart() took from the previous server
	 * was loaded into this one, and the device runs again where it stopped.
	 */
	RTE_VFIO_USER_CONN_RESTORED,
};

/**
 * Called on EAL's interrupt thread (from alarms), in order, when the server
 * of a device attached with reconnection goes away or comes back. The rules of
 * rte_vfio_user_disconnect_cb_t apply: return quickly, do not detach the
 * device (-EDEADLK), do not wait for a thread that does. Calls on the
 * device made from the callback fail with -ENOTCONN for
 * RTE_VFIO_USER_CONN_LOST; after a return (RTE_VFIO_USER_CONN_RESET,
 * RTE_VFIO_USER_CONN_RESTORED) they are allowed but block EAL's interrupt
 * thread meanwhile. A loss right after a return may make such a call fail
 * with -ENOTCONN.
 *
 * @param dev_id
 *   Client device id.
 * @param event
 *   What happened.
 * @param arg
 *   rte_vfio_user_attach_opts::conn_arg.
 */
typedef void (*rte_vfio_user_conn_cb_t)(int dev_id, enum rte_vfio_user_conn_event event,
		void *arg);

/** Options of rte_vfio_user_attach_dev_opts(). */
struct rte_vfio_user_attach_opts {
	/**
	 * 0: a server that goes away is final, as with rte_vfio_user_attach_dev().
	 * Otherwise the library keeps the device and retries the socket path
	 * every reconnect_ms milliseconds, from an EAL alarm.
	 */
	uint32_t reconnect_ms;
	rte_vfio_user_conn_cb_t conn_cb; /**< Told of losses and returns, may be NULL. */
	void *conn_arg;                  /**< Passed to conn_cb. */
};

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * rte_vfio_user_attach_dev() with options. With reconnect_ms set, a server
 * that goes away is not the end of the device:
 *
 * - the library keeps what it needs to replay the client's state: a
 *   duplicate of each DMA window's descriptor, of the eventfds of the last
 *   SET_IRQS (ACTION_TRIGGER, DATA_EVENTFD) per interrupt index, and the
 *   device info and region layout read at attach;
 * - on a loss, calls in flight fail as without reconnection (-ENOTCONN),
 *   later calls fail at once with -ENOTCONN, conn_cb gets
 *   RTE_VFIO_USER_CONN_LOST and an EAL alarm retries the path every
 *   reconnect_ms (not the library's control thread, which also serves this
 *   process's servers: a replay waits for replies);
 * - on a successful connection the state is replayed and conn_cb gets
 *   RTE_VFIO_USER_CONN_RESET. Mask states (ACTION_MASK/UNMASK, DATA_BOOL)
 *   are not replayed: the device comes back with its reset defaults;
 * - a server that serves another device (device info, region sizes or
 *   flags, mappable areas differ), negotiates less than before (smaller
 *   transfer size, fewer descriptors per message or DMA windows, other page
 *   sizes, no twin socket or write_multiple where there was one) or refuses
 *   a replayed window is refused: the device is then gone for good, as
 *   without reconnection, and the disconnect callback runs.
 *
 * The disconnect callback (rte_vfio_user_set_disconnect_cb()) only runs
 * when the device is gone for good.
 *
 * @param sock_addr
 *   Socket path of the server.
 * @param opts
 *   Options, or NULL for none (then as rte_vfio_user_attach_dev()).
 * @return
 *   As rte_vfio_user_attach_dev(); -EINVAL also for a reconnect_ms above
 *   one hour; -EMFILE when the timer cannot be created.
 */
__rte_experimental
int
rte_vfio_user_attach_dev_opts(const char *sock_addr, const struct rte_vfio_user_attach_opts *opts);

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
 *   from the device's own disconnect or connection callback.
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
 *   0 on success; -EINVAL (NULL info); -ENODEV; -ENOTCONN (server gone, or
 *   away while a reconnection is awaited: then at once); -ETIMEDOUT; -EPROTO
 *   (malformed reply); the server's errno.
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
 *   After -ETIMEDOUT the server may or may not have mapped the window, so
 *   the library disconnects: later calls fail with -ENOTCONN and the
 *   disconnect callback runs.
 */
__rte_experimental
int
rte_vfio_user_dma_map(int dev_id, struct rte_vfio_user_mem_reg *mem, int *fds, uint32_t num);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * VFIO_USER_DMA_UNMAP: each window must match an earlier mapping exactly
 * (iova and size). With @p mem NULL and @p num 0, every mapping is removed,
 * one message per window (the specification defines no flag for "all").
 *
 * @param dev_id
 *   Client device id.
 * @param mem
 *   @p num windows (iova and size are used), or NULL.
 * @param num
 *   Number of windows, or 0 with @p mem NULL.
 * @return
 *   As rte_vfio_user_get_dev_info(); -ENOENT when no mapping matches.
 *   -ETIMEDOUT disconnects, as for rte_vfio_user_dma_map().
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
 *   Number of writes completed: @p num on success, fewer when the server
 *   stopped a VFIO_USER_REGION_WRITE_MULTI batch at a write the device
 *   failed (the writes before it took effect); or as
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
 *   rte_vfio_user_get_dev_info(), with -EPROTO also for a region
 *   descriptor that is not a regular file covering the region (mapping it
 *   would fault on access); mmap errors.
 */
__rte_experimental
int
rte_vfio_user_region_mmap(int dev_id, uint32_t index, struct rte_vfio_user_region_map *maps,
		uint32_t *nr_maps);

/**
 * Called once when the server of a client device goes away: it closed the
 * connection (it stopped or died) or broke the protocol. Runs on the control
 * thread; every call on the device then fails with -ENOTCONN, and the device
 * stays attached until rte_vfio_user_detach_dev(). With reconnection
 * (rte_vfio_user_attach_dev_opts()), only when the device is gone for good,
 * on EAL's interrupt thread when a returning server is refused. The callback must return
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
 * VFIO_USER_DEVICE_RESET. The reply is awaited up to
 * rte_vfio_user_limits::reset_timeout_ms, not reply_timeout_ms.
 *
 * @param dev_id
 *   Client device id.
 * @return
 *   As rte_vfio_user_get_dev_info().
 */
__rte_experimental
int
rte_vfio_user_reset(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Probe migration support (VFIO_DEVICE_FEATURE_MIGRATION, GET).
 *
 * @param dev_id
 *   Client device id.
 * @param flags
 *   Set to the RTE_VFIO_USER_MIG_F_* states the device supports.
 * @return
 *   0 on success; -EINVAL for a NULL @p flags; -ENOTTY when the device does
 *   not support migration; -ENODEV; -ENOTCONN; -ETIMEDOUT; -EPROTO for a
 *   malformed reply (or one without RTE_VFIO_USER_MIG_F_STOP_COPY); the
 *   server's error.
 */
__rte_experimental
int
rte_vfio_user_mig_probe(int dev_id, uint64_t *flags);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read the migration state of the device (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, GET).
 *
 * @param dev_id
 *   Client device id.
 * @param state
 *   Set to the current state.
 * @return
 *   As rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_mig_get_state(int dev_id, enum rte_vfio_user_mig_state *state);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Move the device to a migration state (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
 * SET). The server goes through the intermediate states itself; the reply
 * comes once the device is in @p state. Entering PRE_COPY or STOP_COPY
 * starts a save stream, read with rte_vfio_user_mig_read(); entering
 * RESUMING starts a load, fed with rte_vfio_user_mig_write() and completed
 * by leaving RESUMING. Once the device took the state, a state held by
 * rte_vfio_user_mig_save_for_restart() is dropped: the application drives
 * the device itself.
 *
 * @param dev_id
 *   Client device id.
 * @param state
 *   State to reach: STOP, RUNNING, STOP_COPY, RESUMING or PRE_COPY.
 * @param cur
 *   If not NULL, set to the state the device is in when the call returns,
 *   also on failure (asked to the server then; RTE_VFIO_USER_MIG_ERROR
 *   when it cannot be asked).
 * @return
 *   0 on success; -EINVAL for a state the device does not support or that
 *   cannot be reached from the current one (STOP_COPY to PRE_COPY, or any
 *   from ERROR); the device model's error when a step failed (the device is
 *   then in ERROR); otherwise as rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_mig_set_state(int dev_id, enum rte_vfio_user_mig_state state,
		enum rte_vfio_user_mig_state *cur);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read the save stream (VFIO_USER_MIG_DATA_READ) in PRE_COPY or STOP_COPY,
 * in messages of at most the negotiated max_data_xfer_size.
 *
 * @param dev_id
 *   Client device id.
 * @param buf
 *   Buffer of @p len bytes.
 * @param len
 *   Bytes wanted.
 * @return
 *   Bytes read (less than @p len when the device has no more data for now:
 *   in STOP_COPY, the stream is complete); -EINVAL for a NULL @p buf or
 *   outside PRE_COPY and STOP_COPY; -EPROTO when the server sent more than
 *   asked or a malformed reply; otherwise as rte_vfio_user_mig_probe().
 */
__rte_experimental
ssize_t
rte_vfio_user_mig_read(int dev_id, void *buf, size_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Feed the stream being loaded (VFIO_USER_MIG_DATA_WRITE) in RESUMING, in
 * messages of at most the negotiated max_data_xfer_size.
 *
 * @param dev_id
 *   Client device id.
 * @param buf
 *   Stream bytes.
 * @param len
 *   Number of bytes.
 * @return
 *   0 on success; -EINVAL for a NULL @p buf or outside RESUMING; the device
 *   model's error when it refused the data (the device is then in ERROR);
 *   otherwise as rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_mig_write(int dev_id, const void *buf, size_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Prepare a planned restart of the server (an upgrade) of a device attached
 * with reconnection: stop the device and keep its state in the library, so
 * that the server that comes back on the path continues where this one
 * stopped. The device goes to STOP_COPY, its whole save stream is read into
 * process memory, and it is left in STOP. When the server is back, after the
 * replay of rte_vfio_user_attach_dev_opts(), the library loads the stream
 * (RESUMING, MIG_DATA_WRITE, RUNNING) and tells RTE_VFIO_USER_CONN_RESTORED;
 * a server that refuses the stream gets a device reset instead, and the
 * event is RTE_VFIO_USER_CONN_RESET. The held state is dropped once loaded or
 * refused, by a new call, by a successful rte_vfio_user_mig_set_state() (the
 * application takes the device back, e.g. to run it again on the same
 * server) and at detach.
 *
 * @param dev_id
 *   Client device id, attached with a non-zero
 *   rte_vfio_user_attach_opts::reconnect_ms.
 * @return
 *   0 on success, the device stopped; -ENOTSUP without reconnection;
 *   -EFBIG for a state above 1 GiB; -ENOMEM; otherwise as
 *   rte_vfio_user_mig_set_state() and rte_vfio_user_mig_read() (-ENOTTY for
 *   a device without migration). After a failure the library tries to put
 *   the device back in RUNNING.
 */
__rte_experimental
int
rte_vfio_user_mig_save_for_restart(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Ask how many bytes of save stream entering STOP_COPY now would give
 * (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, GET).
 *
 * @param dev_id
 *   Client device id.
 * @param len
 *   Set to the estimate.
 * @return
 *   As rte_vfio_user_mig_probe(); -ENOTTY when the device cannot tell.
 */
__rte_experimental
int
rte_vfio_user_mig_data_size(int dev_id, uint64_t *len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Start DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_START): from now on the
 * server records which pages of the ranges the device writes.
 *
 * @param dev_id
 *   Client device id.
 * @param ranges
 *   Ranges to log, each inside the DMA windows mapped now, not overlapping
 *   one another; NULL with @p nr 0 logs every window mapped now.
 * @param nr
 *   Number of ranges.
 * @param page_size
 *   In: the logging granularity wished (0: the server's own, see the
 *   "migration" capability). Out: the granularity the server chose.
 * @return
 *   0 on success; -EINVAL for bad ranges or a NULL @p page_size; -EBUSY when
 *   logging is on already; -E2BIG for more ranges or pages than the server
 *   logs; -ENOTTY when the device does not support migration; otherwise as
 *   rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_dirty_start(int dev_id, const struct rte_vfio_user_dirty_range *ranges,
		uint32_t nr, uint64_t *page_size);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Stop DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP). Stopping when it
 * is off succeeds.
 *
 * @param dev_id
 *   Client device id.
 * @return
 *   As rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_dirty_stop(int dev_id);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read and clear the log of a range (VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT):
 * bit n of @p bitmap (bit n % 64 of word n / 64) tells whether the device
 * wrote the page [iova + n * page_size, iova + (n + 1) * page_size) since
 * logging started or the last report of that page. Ranges needing a bitmap
 * larger than the server sends at once are asked in several messages.
 *
 * @param dev_id
 *   Client device id.
 * @param iova
 *   First address, a multiple of @p page_size.
 * @param length
 *   Bytes, a multiple of @p page_size, within the logged ranges.
 * @param page_size
 *   Granularity of the bitmap, a power of two.
 * @param bitmap
 *   ceil(length / page_size / 64) words, overwritten.
 * @return
 *   0 on success; -EINVAL for bad arguments, a range not logged, or
 *   logging off; otherwise as rte_vfio_user_mig_probe().
 */
__rte_experimental
int
rte_vfio_user_dirty_report(int dev_id, uint64_t iova, uint64_t length, uint64_t page_size,
		uint64_t *bitmap);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_VFIO_USER_CLIENT_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_SERVER_H_
#define _VFIO_USER_SERVER_H_

/*
 * Server half of vfio-user.
 *
 * Each registered socket path is one struct vfio_user_server, found by its
 * device id in a registry array. A started server has a listening socket
 * watched by the control thread; an accepted client becomes the session of
 * the device, and the listening socket is not watched until it goes away, so
 * the next client waits in the backlog.
 *
 * All messages of a session are read and handled on the control thread. The
 * only work done elsewhere is what the device asks for from its own threads:
 * DMA (rte_vfio_user_dma_read/write, iova_to_vva) and interrupts.
 *
 * Locking, outermost first:
 * - srv_api_lock: the registry and the configuration of every server (device
 *   description, started, busy). Held briefly, never while waiting for the
 *   control thread or calling the device.
 * - srv_id_lock (rwlock): device id lookups of the data path functions. Writers
 *   are preferred, so that register/unregister do not starve behind a busy
 *   data path; it is never taken twice by one thread.
 * - srv->dp_lock (rwlock): the session pointer and its DMA table.
 * - srv->lock: session references taken by threads that wait for a
 *   DMA_READ/DMA_WRITE reply, so that a closing session waits for them.
 * - srv->irq_lock: the interrupt eventfds and masks, and the interrupt
 *   descriptions (srv->irqs) as the data path reads them.
 * Stop and unregister run their teardown on the control thread, so that
 * device callbacks never run concurrently.
 *
 * Files of the server:
 * - vfio_user_server.c: registry and configuration API, start and stop;
 * - vfio_user_server_session.c: listening socket, accept, session life and loop;
 * - vfio_user_server_msg.c: the command table and its handlers;
 * - vfio_user_server_region.c: region access for the region commands;
 * - vfio_user_server_dp.c: what the device calls from its own threads
 *   (interrupts, DMA, IOVA translation);
 * - vfio_user_server_mig.c: migration (device features, migration data,
 *   the state machine) and DMA logging.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "rte_vfio_user_server.h"
#include "vfio_user_dirty.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"
#include "vfio_user_telemetry.h"

#define SRV_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* Smallest DMA logging granularity; the "pgsize" of the migration capability. */
#define SRV_MIG_PGSIZE 4096

struct vfio_user_server;

/* Interrupt state of one sub-index. */
struct srv_irq_vec {
	int trigger;   /* eventfd signalled when the device raises the interrupt */
	int mask_fd;   /* signalled when the interrupt becomes masked */
	int unmask_fd; /* signalled when it becomes unmasked */
	bool masked;
	bool pending;  /* raised while masked */
	bool automask; /* VFIO_IRQ_INFO_AUTOMASKED: masked each time it fires */
};

struct srv_irq {
	struct vfio_irq_info info;
	struct srv_irq_vec *vec; /* info.count entries */
};

/* A region mapped by the library itself (rw and base NULL, fd given). */
struct srv_reg_map {
	void *addr;
	size_t len;
};

struct srv_deferred {
	TAILQ_ENTRY(srv_deferred) next;
	struct vfio_user_msg msg;
	bool refused; /* came with the queue full: header only, ENOBUFS in its turn */
};

struct srv_session {
	struct vfio_user_server *srv;
	struct rte_vfio_user_limits lim;
	int fd;
	/*
	 * A timerfd: an immediate expiry wakes the control thread for queued
	 * commands, a later one ends a session whose message stalls halfway.
	 */
	int kick_fd;
	uint64_t stall_id;     /* vfio_user_chan_partial_id() being timed */
	int64_t stall_deadline; /* ms, CLOCK_MONOTONIC */
	int twin_fd;
	struct vfio_user_chan chan;
	struct vfio_user_chan twin_chan;
	bool twin_ok;
	bool negotiated;
	bool dev_ready;   /* new_device succeeded: destroy_device is owed */
	bool fatal;       /* close once the current message is done */
	bool close_after; /* close after the reply of the current message */
	bool write_multiple;
	uint16_t minor;       /* negotiated protocol minor version */
	uint32_t peer_max_fds;
	uint32_t peer_xfer;   /* chunk size of DMA_READ/DMA_WRITE we send */
	struct vfio_user_dma_table dma; /* srv->dp_lock */
	struct vfio_user_msg msg;
	TAILQ_HEAD(, srv_deferred) deferred;
	uint32_t nr_deferred;
	uint8_t *xfer_buf;
	/* srv->lock */
	bool closing;
	uint32_t refs;
	/*
	 * Message DMA in flight, counted by epoch: taken under srv->dp_lock
	 * (read), dropped atomically. DMA_UNMAP moves to the next epoch under
	 * the write lock and holds its reply until the previous one drains.
	 */
	uint32_t dma_inflight[2];
	uint32_t dma_epoch;        /* srv->dp_lock */
	bool unmap_held;           /* atomic: a DMA_UNMAP waits for dma_inflight */
	uint32_t dma_epoch_held;   /* control thread: the epoch it waits for */
	struct vfio_user_hdr unmap_req; /* control thread: the DMA_UNMAP held */
	struct vfio_user_dma_unmap unmap_rep;
	/* DMA logging: srv->dp_lock (written under the write lock, marked under the read lock). */
	struct vfio_user_dirty *dirty;
	uint32_t mig_max_bitmap; /* largest DMA_LOGGING_REPORT bitmap sent, bytes */
};

struct vfio_user_server {
	char path[SRV_PATH_MAX];
	int dev_id;
	struct rte_vfio_user_notify_ops ops;
	void *priv;

	/* Device description: srv_api_lock, read-only while started. */
	bool has_dev_info;
	struct vfio_user_device_info dev_info;
	uint32_t nr_regs;
	struct rte_vfio_user_reg_info *regs; /* deep copies */
	struct srv_reg_map *maps;            /* control thread */
	uint32_t nr_irqs;
	struct srv_irq *irqs;

	/* srv_api_lock */
	bool started;
	bool busy; /* stop or unregister in progress */

	struct rte_vfio_user_sock_opts sock_opts; /* srv_api_lock, read-only while started */

	/* Migration: srv_api_lock, read-only while started. */
	bool migratable;
	struct rte_vfio_user_mig_ops mig_ops;
	enum rte_vfio_user_mig_state mig_state; /* control thread */

	/* Control thread (or the stopping thread once the fds are unwatched). */
	int listen_fd;
	int retry_fd;   /* timerfd: watch listen_fd again after a failed accept() */
	bool listening;
	dev_t sock_dev;
	ino_t sock_ino;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_rwlock_t dp_lock;
	pthread_mutex_t irq_lock;
	struct srv_session *sess; /* dp_lock; written on the control thread */

	struct vfio_user_tel_stats stats; /* relaxed atomics */
};

/* Registry: servers by device id (vfio_user_server.c). */
extern pthread_rwlock_t srv_id_lock;
/* The device whose callback the control thread is running, for -EDEADLK. */
extern struct vfio_user_server *srv_current;

static inline void
srv_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* A negative errno from a device callback, or -EIO when it returned nonsense. */
static inline int
srv_cb_err(long ret)
{
	if (ret < 0 && ret >= -4095)
		return (int)ret;
	return -EIO;
}

static inline void
srv_update(struct vfio_user_server *srv, enum rte_vfio_user_update type)
{
	if (srv->ops.update_status != NULL)
		srv->ops.update_status(srv->dev_id, type);
}

/* srv_id_lock (read) or srv_api_lock held: the server of a device id, or NULL. */
struct vfio_user_server *srv_get(int dev_id);
/* srv_api_lock held: unwatch fd with that lock released meanwhile, the device kept busy. */
void srv_unwatch_busy(struct vfio_user_server *srv, int fd);

/*
 * Run fn on the server of dev_id under srv_api_lock, so that it is neither
 * freed nor reconfigured meanwhile (telemetry). Returns 0; -ENODEV for a free
 * slot; -ERANGE past the last slot.
 */
int srv_inspect(int dev_id, void (*fn)(struct vfio_user_server *srv, void *arg), void *arg);

/* Session (vfio_user_server_session.c), control thread but srv_kick(). */
int srv_open(struct vfio_user_server *srv);
void srv_stop_ctrl(void *arg);
void srv_kick(struct srv_session *s, int64_t ms);

/* Commands (vfio_user_server_msg.c), control thread. */
int srv_process(struct srv_session *s, struct vfio_user_msg *msg);
int srv_too_many_fds(struct srv_session *s, struct vfio_user_msg *msg);
int srv_unmap_release(struct srv_session *s);

/* Region access (vfio_user_server_region.c), control thread. */
int srv_check_access(struct vfio_user_server *srv, uint32_t idx, uint64_t off, uint64_t count,
		uint32_t flag, uint64_t max);
int srv_region_access(struct vfio_user_server *srv, uint32_t idx, char *buf, uint32_t count,
		uint64_t off, bool write);

/* Interrupt state (vfio_user_server_dp.c), irq_lock held except srv_irq_reset(). */
int srv_irq_fire(struct srv_irq_vec *v);
void srv_irq_mask(struct srv_irq_vec *v, bool mask);
void srv_irq_vec_reset(struct srv_irq_vec *v);
void srv_irq_reset(struct vfio_user_server *srv);

/*
 * Migration (vfio_user_server_mig.c), control thread. The command handlers
 * return 0 with *reply (malloc'd, the caller frees it; NULL for an empty
 * reply) of *len bytes, or a negative errno.
 */
int srv_mig_feature(struct srv_session *s, const struct vfio_user_msg *msg, void **reply,
		uint32_t *len);
int srv_mig_data_read(struct srv_session *s, const struct vfio_user_msg *msg, void **reply,
		uint32_t *len);
int srv_mig_data_write(struct srv_session *s, const struct vfio_user_msg *msg);
/* The client went away: back to RUNNING, resetting the device if an arc fails. */
void srv_mig_client_gone(struct vfio_user_server *srv);
/* The name of a migration state, as the spec writes it (logs, telemetry). */
const char *srv_mig_state_name(enum rte_vfio_user_mig_state st);
/* Sessions with DMA logging on, in the whole process (atomic). */
extern uint32_t srv_mig_logging;
/* DMA logging ends with its session (dp_lock held for writing, or the session unreachable). */
void srv_mig_free_log(struct srv_session *s);

/* dp_lock held: is [iova, iova + len) covered by windows allowing prot? */
bool srv_dma_covered(const struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t len,
		uint32_t prot);

/* The device's lock_dp callback, holding message DMA meanwhile (vfio_user_server_dp.c). */
void srv_lock_dp(struct vfio_user_server *srv, int lock);

#endif /* _VFIO_USER_SERVER_H_ */

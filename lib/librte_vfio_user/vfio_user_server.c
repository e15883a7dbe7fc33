/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

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
 * - g_api_lock: the registry and the configuration of every server (device
 *   description, started, busy). Held briefly, never while waiting for the
 *   control thread or calling the device.
 * - g_lock (rwlock): device id lookups of the data path functions.
 * - srv->dp_lock (rwlock): the session pointer and its DMA table.
 * - srv->lock: session references taken by threads that wait for a
 *   DMA_READ/DMA_WRITE reply, so that a closing session waits for them.
 * - srv->irq_lock: the interrupt eventfds and masks.
 * Stop and unregister run their teardown on the control thread, so that
 * device callbacks never run concurrently.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "rte_vfio_user.h"
#include "vfio_user_caps.h"
#include "vfio_user_ctrl.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

#ifndef VFIO_DMA_UNMAP_FLAG_ALL
#define VFIO_DMA_UNMAP_FLAG_ALL (1u << 1)
#endif

/* Messages handled per wake-up, so that one busy client does not starve the others. */
#define SRV_BATCH 64
/* Sub-indexes of one interrupt type (PCI allows 2048 MSI-X vectors). */
#define SRV_MAX_IRQ_COUNT 65536
#define SRV_LISTEN_BACKLOG 16
/*
 * A message whose handling (device callbacks included) takes longer than
 * this is logged: every other device of the process waited that long.
 */
#define SRV_SLOW_MS 1000
/* Pause of the listening socket after accept() ran out of descriptors or memory. */
#define SRV_ACCEPT_RETRY_MS 100
#define SRV_SOCK_FLAGS (RTE_VFIO_USER_SOCK_F_PEER_UID | RTE_VFIO_USER_SOCK_F_PEER_GID | \
		RTE_VFIO_USER_SOCK_F_SEALED_DMA)

/* Handler results besides 0 (send the prepared reply) and -errno (error reply). */
#define SRV_DONE  1 /* the handler replied itself */
#define SRV_CLOSE 2 /* close the connection, no reply */

#define SRV_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

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
};

struct vfio_user_server {
	char path[SRV_PATH_MAX];
	int dev_id;
	struct rte_vfio_user_notify_ops ops;
	void *priv;

	/* Device description: g_api_lock, read-only while started. */
	bool has_dev_info;
	struct vfio_user_device_info dev_info;
	uint32_t nr_regs;
	struct rte_vfio_user_reg_info *regs; /* deep copies */
	struct srv_reg_map *maps;            /* control thread */
	uint32_t nr_irqs;
	struct srv_irq *irqs;

	/* g_api_lock */
	bool started;
	bool busy; /* stop or unregister in progress */

	struct rte_vfio_user_sock_opts sock_opts; /* g_api_lock, read-only while started */

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
};

/* Reply prepared by a handler. */
struct srv_rep {
	struct iovec iov[2];
	int iovcnt;
	int fds[VFIO_USER_SCM_MAX_FDS];
	uint32_t nr_fds;
	void *to_free;
	union {
		struct vfio_user_device_info dev;
		struct vfio_region_info reg;
		struct vfio_user_region_io_fds_req io;
		struct vfio_irq_info irq;
		struct vfio_user_dma_unmap unmap;
		struct vfio_user_region_access acc;
		struct vfio_user_write_multi wm;
	} u;
};

static pthread_mutex_t g_api_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_api_cond = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct vfio_user_server **g_srvs;
static uint32_t g_nr_slots;
static uint32_t g_nr_srvs;
/* The device whose callback the control thread is running, for -EDEADLK. */
static struct vfio_user_server *g_cur_srv;

static void
srv_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* A negative errno from a device callback, or -EIO when it returned nonsense. */
static int
srv_cb_err(long ret)
{
	if (ret < 0 && ret >= -4095)
		return (int)ret;
	return -EIO;
}

static void
srv_lock_dp(struct vfio_user_server *srv, int lock)
{
	if (srv->ops.lock_dp != NULL)
		srv->ops.lock_dp(srv->dev_id, lock);
}

static void
srv_update(struct vfio_user_server *srv, enum rte_vfio_user_update type)
{
	if (srv->ops.update_status != NULL)
		srv->ops.update_status(srv->dev_id, type);
}

/*
 * Registry
 */

/* g_api_lock held */
static struct vfio_user_server *
srv_find(const char *path)
{
	uint32_t i;

	for (i = 0; i < g_nr_slots; i++)
		if (g_srvs[i] != NULL && strcmp(g_srvs[i]->path, path) == 0)
			return g_srvs[i];
	return NULL;
}

/* g_lock (read) or g_api_lock held */
static struct vfio_user_server *
srv_get(int dev_id)
{
	if (dev_id < 0 || (uint32_t)dev_id >= g_nr_slots)
		return NULL;
	return g_srvs[dev_id];
}

static int
srv_check_path(const char *path)
{
	size_t len;

	if (path == NULL)
		return -EINVAL;
	len = strnlen(path, SRV_PATH_MAX);
	if (len == 0 || len >= SRV_PATH_MAX)
		return -EINVAL;
	return 0;
}

/*
 * Find a server and mark it busy for stop/unregister. Another stop or
 * unregister of the same device is waited for, except on the control thread,
 * which the other one may be waiting for.
 */
static int
srv_begin(const char *path, struct vfio_user_server **out)
{
	struct vfio_user_server *srv;
	int ret = 0;

	pthread_mutex_lock(&g_api_lock);
	for (;;) {
		srv = srv_find(path);
		if (srv == NULL) {
			ret = -ENOENT;
			break;
		}
		if (vfio_user_ctrl_is_self() && g_cur_srv == srv) {
			ret = -EDEADLK;
			break;
		}
		if (!srv->busy)
			break;
		if (vfio_user_ctrl_is_self()) {
			ret = -EBUSY;
			break;
		}
		pthread_cond_wait(&g_api_cond, &g_api_lock);
	}
	if (ret == 0)
		srv->busy = true;
	pthread_mutex_unlock(&g_api_lock);
	*out = srv;
	return ret;
}

/* g_api_lock held */
static void
srv_end_locked(struct vfio_user_server *srv)
{
	srv->busy = false;
	pthread_cond_broadcast(&g_api_cond);
}

/*
 * Device description
 */

static void
srv_free_regions(struct vfio_user_server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->nr_regs; i++) {
		free(srv->regs[i].info);
		free((void *)(uintptr_t)srv->regs[i].io_fds);
		if (srv->maps[i].addr != NULL)
			munmap(srv->maps[i].addr, srv->maps[i].len);
	}
	free(srv->regs);
	free(srv->maps);
	srv->regs = NULL;
	srv->maps = NULL;
	srv->nr_regs = 0;
}

static void
srv_free_irqs(struct vfio_user_server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->nr_irqs; i++)
		free(srv->irqs[i].vec);
	free(srv->irqs);
	srv->irqs = NULL;
	srv->nr_irqs = 0;
}

static int
srv_check_caps(const struct vfio_region_info *info)
{
	const uint8_t *base = (const uint8_t *)info;
	struct vfio_region_info_cap_sparse_mmap sparse;
	struct vfio_info_cap_header hdr;
	uint32_t off = info->cap_offset;
	uint32_t prev = 0;
	uint64_t end;

	while (off != 0) {
		/* Strictly increasing offsets past the structure: no loop, no overlap. */
		if (off < sizeof(*info) || off <= prev || off > info->argsz ||
				info->argsz - off < sizeof(hdr))
			return -EINVAL;
		memcpy(&hdr, base + off, sizeof(hdr));
		if (hdr.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			end = hdr.next != 0 ? hdr.next : info->argsz;
			if (end > info->argsz || end < off ||
					end - off < sizeof(sparse))
				return -EINVAL;
			memcpy(&sparse, base + off, sizeof(sparse));
			if ((uint64_t)sparse.nr_areas * sizeof(sparse.areas[0]) >
					end - off - sizeof(sparse))
				return -EINVAL;
		}
		prev = off;
		off = hdr.next;
	}
	return 0;
}

static int
srv_check_region(const struct rte_vfio_user_reg_info *r, uint32_t idx)
{
	const struct vfio_region_info *info = r->info;
	uint32_t i;

	if (info == NULL || info->index != idx || info->argsz < sizeof(*info))
		return -EINVAL;
	if ((info->flags & VFIO_REGION_INFO_FLAG_MMAP) && r->fd < 0)
		return -EINVAL;
	if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && srv_check_caps(info) < 0)
		return -EINVAL;
	if (r->nr_io_fds != 0 && r->io_fds == NULL)
		return -EINVAL;
	if (r->nr_io_fds > (UINT32_MAX - sizeof(struct vfio_user_region_io_fds_req)) /
			sizeof(struct vfio_user_sub_region_io_fd))
		return -EINVAL;
	for (i = 0; i < r->nr_io_fds; i++) {
		const struct rte_vfio_user_io_fd *io = &r->io_fds[i];

		if (io->fd < 0 || io->type > RTE_VFIO_USER_IO_FD_TYPE_IOREGIONFD ||
				io->offset > info->size || io->size > info->size - io->offset)
			return -EINVAL;
	}
	return 0;
}

static int
srv_copy_region(struct rte_vfio_user_reg_info *dst, const struct rte_vfio_user_reg_info *src)
{
	const struct vfio_region_info *info = src->info;
	struct rte_vfio_user_io_fd *io = NULL;
	struct vfio_region_info *copy;
	size_t len = sizeof(*info);

	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS)
		len = info->argsz;
	copy = malloc(len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, info, len);
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS)) {
		/* Nothing follows the structure: the reply is exactly 32 bytes. */
		copy->argsz = sizeof(*copy);
		copy->cap_offset = 0;
	}
	if (src->nr_io_fds != 0) {
		io = malloc(sizeof(*io) * src->nr_io_fds);
		if (io == NULL) {
			free(copy);
			return -ENOMEM;
		}
		memcpy(io, src->io_fds, sizeof(*io) * src->nr_io_fds);
	}
	*dst = *src;
	dst->info = copy;
	dst->io_fds = io;
	return 0;
}

/*
 * Interrupts
 */

/* irq_lock held */
static int
srv_irq_fire(struct srv_irq_vec *v)
{
	if (v->trigger < 0)
		return -ENOENT;
	if (v->masked) {
		v->pending = true;
		return 0;
	}
	if (eventfd_write(v->trigger, 1) < 0)
		return -errno;
	/* As INTx of Linux VFIO: masked until the client unmasks it (QEMU does at EOI). */
	if (v->automask)
		v->masked = true;
	return 0;
}

/* irq_lock held */
static void
srv_irq_mask(struct srv_irq_vec *v, bool mask)
{
	if (mask == v->masked)
		return;
	v->masked = mask;
	if (mask) {
		if (v->mask_fd >= 0)
			(void)eventfd_write(v->mask_fd, 1);
		return;
	}
	if (v->unmask_fd >= 0)
		(void)eventfd_write(v->unmask_fd, 1);
	if (v->pending) {
		v->pending = false;
		if (v->trigger >= 0 && eventfd_write(v->trigger, 1) == 0 && v->automask)
			v->masked = true;
	}
}

/* irq_lock held */
static void
srv_irq_vec_reset(struct srv_irq_vec *v)
{
	srv_close_fd(&v->trigger);
	srv_close_fd(&v->mask_fd);
	srv_close_fd(&v->unmask_fd);
	v->masked = false;
	v->pending = false;
}

/* Drop the client's interrupt configuration (on disconnect). */
static void
srv_irq_reset(struct vfio_user_server *srv)
{
	uint32_t i, j;

	pthread_mutex_lock(&srv->irq_lock);
	for (i = 0; i < srv->nr_irqs; i++)
		for (j = 0; j < srv->irqs[i].info.count; j++)
			srv_irq_vec_reset(&srv->irqs[i].vec[j]);
	pthread_mutex_unlock(&srv->irq_lock);
}

/*
 * Region access (control thread)
 */

static void *
srv_region_map(struct vfio_user_server *srv, uint32_t idx)
{
	struct rte_vfio_user_reg_info *reg = &srv->regs[idx];
	struct srv_reg_map *map = &srv->maps[idx];
	int prot = 0;
	void *addr;

	if (map->addr != NULL)
		return map->addr;
	if (reg->fd < 0 || reg->info->size > SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (reg->info->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (reg->info->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	addr = mmap(NULL, reg->info->size, prot, MAP_SHARED, reg->fd, (off_t)reg->info->offset);
	if (addr == MAP_FAILED) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot map region %u: %s", idx,
				strerror(errno));
		return NULL;
	}
	map->addr = addr;
	map->len = reg->info->size;
	return addr;
}

/* Bounds are checked by the caller. */
static int
srv_region_access(struct vfio_user_server *srv, uint32_t idx, char *buf, uint32_t count,
		uint64_t off, bool write)
{
	struct rte_vfio_user_reg_info *reg = &srv->regs[idx];
	uint8_t *base;
	ssize_t ret;

	if (reg->rw != NULL) {
		ret = reg->rw(srv->dev_id, reg, buf, count, off, write);
		if (ret < 0)
			return srv_cb_err(ret);
		if ((size_t)ret != count)
			return -EIO;
		return 0;
	}
	base = reg->base;
	if (base == NULL) {
		base = srv_region_map(srv, idx);
		if (base == NULL)
			return -errno;
	}
	if (write)
		memcpy(base + off, buf, count);
	else
		memcpy(buf, base + off, count);
	return 0;
}

static int
srv_check_access(struct vfio_user_server *srv, uint32_t idx, uint64_t off, uint64_t count,
		uint32_t flag, uint64_t max)
{
	const struct vfio_region_info *info;

	if (idx >= srv->nr_regs)
		return -EINVAL;
	info = srv->regs[idx].info;
	if (!(info->flags & flag))
		return -EINVAL;
	if (count == 0 || count > max)
		return -EINVAL;
	if (off > info->size || count > info->size - off)
		return -EINVAL;
	return 0;
}

/*
 * Message handlers (control thread). Each returns 0 with rep filled, a
 * negative errno for an error reply, SRV_DONE or SRV_CLOSE.
 */

static int
srv_h_version(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	bool no_reply = msg->hdr.flags & VFIO_USER_F_NO_REPLY;
	struct vfio_user_version ver;
	struct vfio_user_caps peer, mine;
	struct vfio_user_negotiated use;
	struct iovec iov[2];
	char *json = NULL;
	size_t json_len = 0;
	int sv[2] = { -1, -1 };
	bool twin = false;
	int ret;

	RTE_SET_USED(rep);
	if (s->negotiated)
		return -EINVAL;
	if (msg->len < sizeof(ver)) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "VERSION too short");
		return SRV_CLOSE;
	}
	memcpy(&ver, msg->data, sizeof(ver));
	if (ver.major != RTE_VFIO_USER_VERSION_MAJOR) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "unsupported protocol major %u", ver.major);
		return SRV_CLOSE;
	}
	vfio_user_caps_defaults(&peer);
	if (vfio_user_caps_parse((const char *)msg->data + sizeof(ver), msg->len - sizeof(ver),
			&peer) < 0) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "invalid VERSION capabilities");
		s->close_after = true;
		return -EINVAL;
	}

	/* Reply with the keys the client proposed, and only those. */
	if (vfio_user_caps_grant(&peer, &s->lim, &mine, &use) < 0) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "no usable page size proposed");
		return -EINVAL;
	}
	if (use.twin && !no_reply) {
		ret = vfio_user_sock_pair(sv);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(WARNING, srv->path, "no twin socket: %s",
					strerror(-ret));
			sv[0] = sv[1] = -1;
		} else if (vfio_user_chan_init(&s->twin_chan, sv[0], &s->lim) < 0) {
			close(sv[0]);
			close(sv[1]);
			sv[0] = sv[1] = -1;
		} else {
			/*
			 * Only replies come on the twin; the waiting thread reads them
			 * (a stray command gets the channel's EINVAL reply).
			 */
			s->twin_chan.ctrl_reads_only = false;
			s->twin_chan.on_cmd = NULL;
			s->twin_chan.on_idle = NULL;
			s->twin_chan.arg = s;
			twin = true;
			mine.present |= VFIO_USER_CAP_TWIN_SOCKET;
			mine.twin_supported = true;
			mine.twin_has_fd_index = true;
			mine.twin_fd_index = 0;
		}
	}
	/* A client that sent no JSON gets none back. */
	if (msg->len > sizeof(ver)) {
		json = vfio_user_caps_format(&mine, &json_len);
		if (json == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
	}

	/* Negotiated: from here the session owns the twin socket. */
	if (twin) {
		s->twin_fd = sv[0];
		s->twin_ok = true;
	}
	s->peer_max_fds = use.max_msg_fds;
	s->peer_xfer = use.max_data_xfer;
	s->write_multiple = use.write_multiple;
	pthread_rwlock_wrlock(&srv->dp_lock);
	s->dma.max = use.max_dma_maps;
	pthread_rwlock_unlock(&srv->dp_lock);
	s->negotiated = true;

	/*
	 * The device accepts the client before the reply goes out, so that a
	 * client that sees the reply sees a device in use; a refusal closes the
	 * connection without a reply.
	 */
	if (srv->ops.new_device != NULL) {
		ret = srv->ops.new_device(srv->dev_id);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(INFO, srv->path, "new_device refused the client (%d)",
					ret);
			ret = SRV_CLOSE;
			goto out;
		}
	}
	s->dev_ready = true;

	ver.major = RTE_VFIO_USER_VERSION_MAJOR;
	ver.minor = RTE_MIN(ver.minor, (uint16_t)RTE_VFIO_USER_VERSION_MINOR);
	iov[0].iov_base = &ver;
	iov[0].iov_len = sizeof(ver);
	iov[1].iov_base = json;
	iov[1].iov_len = json_len;
	ret = SRV_DONE;
	if (!no_reply &&
			vfio_user_chan_reply(&s->chan, &msg->hdr, 0, iov, json != NULL ? 2 : 1,
				twin ? &sv[1] : NULL, twin ? 1 : 0) < 0) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "cannot send the VERSION reply");
		ret = SRV_CLOSE;
		goto out;
	}
	VFIO_USER_SRV_LOG(INFO, srv->path, "client negotiated version %u.%u%s%s", ver.major,
			ver.minor, s->twin_ok ? ", twin socket" : "",
			s->write_multiple ? ", write_multiple" : "");
out:
	free(json);
	srv_close_fd(&sv[1]);
	return ret;

fail:
	if (twin) {
		vfio_user_chan_fini(&s->twin_chan);
		close(sv[0]);
		close(sv[1]);
	}
	return ret;
}

static int
srv_h_dma_map(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_dma_map map;
	uint32_t prot = 0;
	int fd = -1;
	int ret;

	RTE_SET_USED(rep);
	if (msg->len != sizeof(map) || msg->nr_fds > 1)
		return -EINVAL;
	memcpy(&map, msg->data, sizeof(map));
	if (map.argsz < sizeof(map))
		return -EINVAL;
	if (map.flags & ~(VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE))
		return -EINVAL;
	/* The last byte must be at most 2^64 - 1. */
	if (map.size == 0 || map.size - 1 > UINT64_MAX - map.addr)
		return -EINVAL;
	if (map.flags & VFIO_USER_F_DMA_REGION_READ)
		prot |= PROT_READ;
	if (map.flags & VFIO_USER_F_DMA_REGION_WRITE)
		prot |= PROT_WRITE;
	if (msg->nr_fds == 1)
		fd = vfio_user_msg_take_fd(msg, 0);

	srv_lock_dp(srv, 1);
	pthread_rwlock_wrlock(&srv->dp_lock);
	ret = vfio_user_dma_add(&s->dma, map.addr, map.size, prot, fd, map.offset, NULL);
	pthread_rwlock_unlock(&srv->dp_lock);
	srv_lock_dp(srv, 0);
	if (ret < 0) {
		VFIO_USER_SRV_LOG(DEBUG, srv->path,
				"DMA_MAP 0x%" PRIx64 "+0x%" PRIx64 " failed: %s",
				map.addr, map.size, strerror(-ret));
		return ret;
	}
	srv_update(srv, RTE_VFIO_USER_UPDATE_DMA);
	return 0;
}

static int
srv_h_dma_unmap(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_dma_unmap *unmap = &rep->u.unmap;
	bool all;
	int ret = 0;

	if (msg->len != sizeof(*unmap))
		return -EINVAL;
	memcpy(unmap, msg->data, sizeof(*unmap));
	if (unmap->argsz < sizeof(*unmap))
		return -EINVAL;
	if (unmap->flags == 0)
		all = false;
	else if (unmap->flags == VFIO_DMA_UNMAP_FLAG_ALL && unmap->addr == 0 &&
			unmap->size == 0)
		all = true;
	else
		return -EINVAL;

	srv_lock_dp(srv, 1);
	pthread_rwlock_wrlock(&srv->dp_lock);
	if (all)
		vfio_user_dma_remove_all(&s->dma);
	else
		ret = vfio_user_dma_remove(&s->dma, unmap->addr, unmap->size);
	pthread_rwlock_unlock(&srv->dp_lock);
	srv_lock_dp(srv, 0);
	if (ret < 0)
		return ret;
	srv_update(srv, RTE_VFIO_USER_UPDATE_DMA);

	/* The reply echoes the request. */
	rep->iov[0].iov_base = unmap;
	rep->iov[0].iov_len = sizeof(*unmap);
	rep->iovcnt = 1;
	return 0;
}

static int
srv_h_get_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_device_info *info = &rep->u.dev;

	if (msg->len != sizeof(*info))
		return -EINVAL;
	memcpy(info, msg->data, sizeof(*info));
	if (info->argsz < sizeof(*info))
		return -EINVAL;
	*info = s->srv->dev_info;
	info->argsz = sizeof(*info);
	rep->iov[0].iov_base = info;
	rep->iov[0].iov_len = sizeof(*info);
	rep->iovcnt = 1;
	return 0;
}

static int
srv_h_get_region_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_region_info *req = &rep->u.reg;
	struct rte_vfio_user_reg_info *reg;

	if (msg->len != sizeof(*req))
		return -EINVAL;
	memcpy(req, msg->data, sizeof(*req));
	if (req->argsz < sizeof(*req) || req->index >= srv->nr_regs)
		return -EINVAL;
	reg = &srv->regs[req->index];
	if (req->argsz >= reg->info->argsz) {
		rep->iov[0].iov_base = reg->info;
		rep->iov[0].iov_len = reg->info->argsz;
	} else {
		/*
		 * Too small for the capabilities: tell the size needed, as Linux VFIO
		 * does, but without the CAPS flag: QEMU refuses CAPS with cap_offset 0.
		 */
		*req = *reg->info;
		req->flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
		req->cap_offset = 0;
		rep->iov[0].iov_base = req;
		rep->iov[0].iov_len = sizeof(*req);
	}
	rep->iovcnt = 1;
	if ((reg->info->flags & VFIO_REGION_INFO_FLAG_MMAP) && reg->fd >= 0 &&
			s->peer_max_fds >= 1) {
		rep->fds[0] = reg->fd;
		rep->nr_fds = 1;
	}
	return 0;
}

static int
srv_h_get_region_io_fds(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_region_io_fds_req *req = &rep->u.io;
	struct vfio_user_sub_region_io_fd *ent;
	const struct rte_vfio_user_reg_info *reg;
	uint32_t i, j, n, needed, max_fds;

	if (msg->len != sizeof(*req))
		return -EINVAL;
	memcpy(req, msg->data, sizeof(*req));
	if (req->argsz < sizeof(*req) || req->flags != 0 || req->index >= srv->nr_regs)
		return -EINVAL;
	reg = &srv->regs[req->index];
	n = reg->nr_io_fds;
	/* Fits: checked by rte_vfio_user_set_reg_info(). */
	needed = sizeof(*req) + n * sizeof(*ent);

	rep->iov[0].iov_base = req;
	rep->iov[0].iov_len = sizeof(*req);
	rep->iovcnt = 1;
	if (n == 0 || req->argsz < needed) {
		req->argsz = needed;
		req->count = n;
		return 0;
	}

	ent = calloc(n, sizeof(*ent));
	if (ent == NULL)
		return -ENOMEM;
	max_fds = RTE_MIN(s->peer_max_fds, (uint32_t)VFIO_USER_SCM_MAX_FDS);
	for (i = 0; i < n; i++) {
		const struct rte_vfio_user_io_fd *io = &reg->io_fds[i];

		/* Sub-regions may share a descriptor: send each one once. */
		for (j = 0; j < rep->nr_fds; j++)
			if (rep->fds[j] == io->fd)
				break;
		if (j == rep->nr_fds) {
			if (rep->nr_fds >= max_fds) {
				VFIO_USER_SRV_LOG(DEBUG, srv->path,
						"region %u has more io fds than the client takes",
						req->index);
				free(ent);
				rep->nr_fds = 0;
				return -EINVAL;
			}
			rep->fds[rep->nr_fds++] = io->fd;
		}
		ent[i].offset = io->offset;
		ent[i].size = io->size;
		ent[i].fd_index = j;
		ent[i].type = io->type;
		ent[i].flags = io->flags;
		ent[i].padding = 0;
		ent[i].datamatch = io->datamatch;
	}
	req->argsz = needed;
	req->flags = 0;
	req->count = n;
	rep->iov[1].iov_base = ent;
	rep->iov[1].iov_len = (size_t)n * sizeof(*ent);
	rep->iovcnt = 2;
	rep->to_free = ent;
	return 0;
}

static int
srv_h_get_irq_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_irq_info *info = &rep->u.irq;

	if (msg->len != sizeof(*info))
		return -EINVAL;
	memcpy(info, msg->data, sizeof(*info));
	if (info->argsz < sizeof(*info) || info->index >= srv->nr_irqs)
		return -EINVAL;
	*info = srv->irqs[info->index].info;
	info->argsz = sizeof(*info);
	rep->iov[0].iov_base = info;
	rep->iov[0].iov_len = sizeof(*info);
	rep->iovcnt = 1;
	return 0;
}

static int
srv_h_set_irqs(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	const uint8_t *bools = NULL;
	struct vfio_irq_set set;
	uint32_t data, action, i;
	struct srv_irq *irq;
	bool use_fds;

	RTE_SET_USED(rep);
	if (msg->len < sizeof(set))
		return -EINVAL;
	memcpy(&set, msg->data, sizeof(set));
	if (set.argsz < msg->len)
		return -EINVAL;
	if (set.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))
		return -EINVAL;
	data = set.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = set.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (!rte_is_power_of_2(data) || !rte_is_power_of_2(action))
		return -EINVAL;
	if (set.index >= srv->nr_irqs)
		return -EINVAL;
	irq = &srv->irqs[set.index];
	if (set.start > irq->info.count || set.count > irq->info.count - set.start)
		return -EINVAL;
	if (set.count == 0 && (set.start != 0 || data != VFIO_IRQ_SET_DATA_NONE ||
			action != VFIO_IRQ_SET_ACTION_TRIGGER))
		return -EINVAL;
	if (data == VFIO_IRQ_SET_DATA_BOOL) {
		if (msg->len - sizeof(set) != set.count)
			return -EINVAL;
		bools = msg->data + sizeof(set);
	} else if (msg->len != sizeof(set)) {
		return -EINVAL;
	}
	if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
		if (msg->nr_fds != 0 && msg->nr_fds != set.count)
			return -EINVAL;
	} else if (msg->nr_fds != 0) {
		return -EINVAL;
	}
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER && !(irq->info.flags & VFIO_IRQ_INFO_MASKABLE))
		return -EINVAL;

	/* The client raising the interrupt itself is no configuration change. */
	if (action == VFIO_IRQ_SET_ACTION_TRIGGER && data != VFIO_IRQ_SET_DATA_EVENTFD &&
			set.count != 0) {
		pthread_mutex_lock(&srv->irq_lock);
		for (i = 0; i < set.count; i++)
			if (bools == NULL || bools[i])
				(void)srv_irq_fire(&irq->vec[set.start + i]);
		pthread_mutex_unlock(&srv->irq_lock);
		return 0;
	}

	srv_lock_dp(srv, 1);
	pthread_mutex_lock(&srv->irq_lock);
	if (set.count == 0) {
		/* Disable the whole index. */
		for (i = 0; i < irq->info.count; i++)
			srv_irq_vec_reset(&irq->vec[i]);
	} else if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
		use_fds = msg->nr_fds != 0;
		for (i = 0; i < set.count; i++) {
			struct srv_irq_vec *v = &irq->vec[set.start + i];
			int *slot;

			if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
				slot = &v->trigger;
			else if (action == VFIO_IRQ_SET_ACTION_MASK)
				slot = &v->mask_fd;
			else
				slot = &v->unmask_fd;
			srv_close_fd(slot);
			if (use_fds)
				*slot = vfio_user_msg_take_fd(msg, i);
			else if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
				v->pending = false;
		}
	} else {
		for (i = 0; i < set.count; i++)
			if (bools == NULL || bools[i])
				srv_irq_mask(&irq->vec[set.start + i],
						action == VFIO_IRQ_SET_ACTION_MASK);
	}
	pthread_mutex_unlock(&srv->irq_lock);
	srv_lock_dp(srv, 0);
	srv_update(srv, RTE_VFIO_USER_UPDATE_IRQ);
	return 0;
}

static int
srv_h_region_read(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_region_access *acc = &rep->u.acc;
	int ret;

	if (msg->len != sizeof(*acc))
		return -EINVAL;
	memcpy(acc, msg->data, sizeof(*acc));
	ret = srv_check_access(srv, acc->region, acc->offset, acc->count,
			VFIO_REGION_INFO_FLAG_READ, s->lim.max_data_xfer_size);
	if (ret < 0)
		return ret;
	if (s->xfer_buf == NULL) {
		s->xfer_buf = malloc(s->lim.max_data_xfer_size);
		if (s->xfer_buf == NULL)
			return -ENOMEM;
	}
	ret = srv_region_access(srv, acc->region, (char *)s->xfer_buf, acc->count, acc->offset,
			false);
	if (ret < 0)
		return ret;
	rep->iov[0].iov_base = acc;
	rep->iov[0].iov_len = sizeof(*acc);
	rep->iov[1].iov_base = s->xfer_buf;
	rep->iov[1].iov_len = acc->count;
	rep->iovcnt = 2;
	return 0;
}

static int
srv_h_region_write(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_region_access *acc = &rep->u.acc;
	int ret;

	if (msg->len < sizeof(*acc))
		return -EINVAL;
	memcpy(acc, msg->data, sizeof(*acc));
	if (msg->len - sizeof(*acc) != acc->count)
		return -EINVAL;
	ret = srv_check_access(srv, acc->region, acc->offset, acc->count,
			VFIO_REGION_INFO_FLAG_WRITE, s->lim.max_data_xfer_size);
	if (ret < 0)
		return ret;
	ret = srv_region_access(srv, acc->region, (char *)msg->data + sizeof(*acc), acc->count,
			acc->offset, true);
	if (ret < 0)
		return ret;
	rep->iov[0].iov_base = acc;
	rep->iov[0].iov_len = sizeof(*acc);
	rep->iovcnt = 1;
	return 0;
}

static int
srv_h_write_multi(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_write_multi *wm = &rep->u.wm;
	struct vfio_user_write_multi_entry e;
	const uint8_t *p;
	uint64_t i;
	int ret;

	if (!s->write_multiple)
		return -EINVAL;
	if (msg->len < sizeof(*wm))
		return -EINVAL;
	memcpy(wm, msg->data, sizeof(*wm));
	if (wm->wr_cnt == 0 || wm->wr_cnt > (msg->len - sizeof(*wm)) / sizeof(e) ||
			msg->len - sizeof(*wm) != wm->wr_cnt * sizeof(e))
		return -EINVAL;
	/* All or nothing as far as validation goes. */
	p = msg->data + sizeof(*wm);
	for (i = 0; i < wm->wr_cnt; i++) {
		memcpy(&e, p + i * sizeof(e), sizeof(e));
		ret = srv_check_access(srv, e.region, e.offset, e.count,
				VFIO_REGION_INFO_FLAG_WRITE, sizeof(e.data));
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < wm->wr_cnt; i++) {
		memcpy(&e, p + i * sizeof(e), sizeof(e));
		ret = srv_region_access(srv, e.region, (char *)e.data, e.count, e.offset, true);
		if (ret < 0)
			return ret;
	}
	rep->iov[0].iov_base = wm;
	rep->iov[0].iov_len = sizeof(*wm);
	rep->iovcnt = 1;
	return 0;
}

static int
srv_h_reset(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	int ret;

	RTE_SET_USED(rep);
	if (msg->len != 0)
		return -EINVAL;
	if (!(srv->dev_info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -EINVAL;
	if (srv->ops.reset_device != NULL) {
		ret = srv->ops.reset_device(srv->dev_id);
		if (ret < 0)
			return srv_cb_err(ret);
	}
	return 0;
}

/* DMA_READ/DMA_WRITE go from server to client only. */
static int
srv_h_wrong_dir(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	RTE_SET_USED(s);
	RTE_SET_USED(msg);
	RTE_SET_USED(rep);
	return -EINVAL;
}

/* Migration is not implemented yet. */
static int
srv_h_notsup(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	RTE_SET_USED(s);
	RTE_SET_USED(msg);
	RTE_SET_USED(rep);
	return -ENOTSUP;
}

typedef int (*srv_handler_t)(struct srv_session *s, struct vfio_user_msg *msg,
		struct srv_rep *rep);

/* One line per command: id, handler, whether it may carry descriptors. */
#define SRV_COMMANDS(X) \
	X(VFIO_USER_VERSION, srv_h_version, false) \
	X(VFIO_USER_DMA_MAP, srv_h_dma_map, true) \
	X(VFIO_USER_DMA_UNMAP, srv_h_dma_unmap, false) \
	X(VFIO_USER_DEVICE_GET_INFO, srv_h_get_info, false) \
	X(VFIO_USER_DEVICE_GET_REGION_INFO, srv_h_get_region_info, false) \
	X(VFIO_USER_DEVICE_GET_REGION_IO_FDS, srv_h_get_region_io_fds, false) \
	X(VFIO_USER_DEVICE_GET_IRQ_INFO, srv_h_get_irq_info, false) \
	X(VFIO_USER_DEVICE_SET_IRQS, srv_h_set_irqs, true) \
	X(VFIO_USER_REGION_READ, srv_h_region_read, false) \
	X(VFIO_USER_REGION_WRITE, srv_h_region_write, false) \
	X(VFIO_USER_DMA_READ, srv_h_wrong_dir, false) \
	X(VFIO_USER_DMA_WRITE, srv_h_wrong_dir, false) \
	X(VFIO_USER_DEVICE_RESET, srv_h_reset, false) \
	X(VFIO_USER_REGION_WRITE_MULTI, srv_h_write_multi, false) \
	X(VFIO_USER_DEVICE_FEATURE, srv_h_notsup, false) \
	X(VFIO_USER_MIG_DATA_READ, srv_h_notsup, false) \
	X(VFIO_USER_MIG_DATA_WRITE, srv_h_notsup, false)

static const struct srv_cmd {
	const char *name;
	srv_handler_t fn;
	bool takes_fds;
} srv_cmds[VFIO_USER_MAX_COMMAND] = {
#define SRV_CMD_ENTRY(id, fn, fds) [id] = { #id, fn, fds },
	SRV_COMMANDS(SRV_CMD_ENTRY)
#undef SRV_CMD_ENTRY
};

/*
 * Session (control thread)
 */

/* Returns 0, or a negative value to close the connection. */
static int
srv_process(struct srv_session *s, struct vfio_user_msg *msg)
{
	struct vfio_user_server *srv = s->srv;
	uint32_t type = vfio_user_msg_type(msg);
	uint16_t cmd = msg->hdr.cmd;
	struct srv_rep rep;
	int ret;

	if (type == VFIO_USER_F_TYPE_REPLY) {
		/* Nobody waits for it (the channel hands out awaited replies). */
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "dropped unexpected reply id %u cmd %u",
				msg->hdr.msg_id, cmd);
		return 0;
	}

	memset(&rep, 0, offsetof(struct srv_rep, fds));
	rep.nr_fds = 0;
	rep.to_free = NULL;
	s->close_after = false;
	if (type != VFIO_USER_F_TYPE_COMMAND) {
		ret = -EINVAL;
	} else if (!s->negotiated && cmd != VFIO_USER_VERSION) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "command %u before VERSION", cmd);
		return -EPROTO;
	} else if (cmd >= VFIO_USER_MAX_COMMAND || srv_cmds[cmd].fn == NULL) {
		ret = -ENOSYS;
	} else if (msg->nr_fds != 0 && !srv_cmds[cmd].takes_fds) {
		ret = -EINVAL;
	} else {
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "%s id %u size %u fds %u",
				srv_cmds[cmd].name, msg->hdr.msg_id, msg->hdr.size, msg->nr_fds);
		ret = srv_cmds[cmd].fn(s, msg, &rep);
	}
	/* Descriptors no handler took are not kept. */
	vfio_user_msg_close_fds(msg);

	if (ret == SRV_CLOSE)
		return -ECONNRESET;
	if (ret == SRV_DONE)
		return 0;
	if (ret < 0)
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "command %u id %u failed: %s", cmd,
				msg->hdr.msg_id, strerror(-ret));
	if (!(msg->hdr.flags & VFIO_USER_F_NO_REPLY)) {
		if (ret < 0)
			ret = vfio_user_chan_reply(&s->chan, &msg->hdr, -ret, NULL, 0, NULL, 0);
		else
			ret = vfio_user_chan_reply(&s->chan, &msg->hdr, 0, rep.iov, rep.iovcnt,
					rep.fds, rep.nr_fds);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(INFO, srv->path, "cannot reply: %s", strerror(-ret));
			s->close_after = true;
		}
	}
	free(rep.to_free);
	return s->close_after ? -ECONNRESET : 0;
}

/* A message came with more descriptors than we accept (they were closed). */
static int
srv_too_many_fds(struct srv_session *s, struct vfio_user_msg *msg)
{
	VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "too many descriptors with command %u",
			msg->hdr.cmd);
	if (vfio_user_msg_type(msg) != VFIO_USER_F_TYPE_COMMAND)
		return 0;
	if (!s->negotiated && msg->hdr.cmd != VFIO_USER_VERSION)
		return -EPROTO;
	if (msg->hdr.flags & VFIO_USER_F_NO_REPLY)
		return 0;
	return vfio_user_chan_reply(&s->chan, &msg->hdr, EINVAL, NULL, 0, NULL, 0);
}

/* Wake the control thread for this session in ms milliseconds (0: now). */
static void
srv_kick(struct srv_session *s, int64_t ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000 } };

	if (ms <= 0)
		its.it_value.tv_nsec = 1;
	(void)timerfd_settime(s->kick_fd, 0, &its, NULL);
}

/*
 * Time the message that is incomplete in the socket buffer: the control
 * thread never waits for the rest of a message, but a message that does not
 * complete within the reply timeout ends the session. Returns true when the
 * session must be closed.
 */
static bool
srv_check_stall(struct srv_session *s)
{
	uint64_t id = vfio_user_chan_partial_id(&s->chan);
	int64_t now;

	if (id == 0) {
		s->stall_id = 0;
		return false;
	}
	now = vfio_user_now_ms();
	if (id != s->stall_id) {
		s->stall_id = id;
		s->stall_deadline = now + s->lim.reply_timeout_ms;
	} else if (now >= s->stall_deadline) {
		VFIO_USER_SRV_LOG(INFO, s->srv->path, "message stalled halfway, closing");
		return true;
	}
	srv_kick(s, s->stall_deadline - now);
	return false;
}

/* chan->on_cmd of the main socket: commands read while waiting for a DMA reply. */
static void
srv_defer_cmd(struct vfio_user_chan *chan, struct vfio_user_msg *msg, void *arg)
{
	struct srv_session *s = arg;
	struct srv_deferred *d = NULL;

	if (s->nr_deferred >= s->lim.max_pending_msgs) {
		/* Refused, not queued: the client learns it, the session goes on. */
		VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "%u commands queued, refusing command %u",
				s->nr_deferred, msg->hdr.cmd);
		if (!(msg->hdr.flags & VFIO_USER_F_NO_REPLY) &&
				vfio_user_msg_type(msg) == VFIO_USER_F_TYPE_COMMAND) {
			if (vfio_user_chan_reply(chan, &msg->hdr, ENOBUFS, NULL, 0, NULL, 0) < 0)
				s->fatal = true;
		}
		vfio_user_msg_release(msg);
		srv_kick(s, 0);
		return;
	}
	d = malloc(sizeof(*d));
	if (d == NULL) {
		VFIO_USER_SRV_LOG(ERR, s->srv->path, "too many commands queued, closing");
		s->fatal = true;
		vfio_user_msg_release(msg);
		srv_kick(s, 0);
		return;
	}
	vfio_user_msg_init(&d->msg);
	vfio_user_msg_move(&d->msg, msg);
	TAILQ_INSERT_TAIL(&s->deferred, d, next);
	s->nr_deferred++;
	/* The socket may have nothing more to read: make sure the queue is served. */
	srv_kick(s, 0);
}

static void
srv_sess_free(struct srv_session *s)
{
	struct srv_deferred *d;

	vfio_user_chan_fini(&s->chan);
	if (s->twin_ok)
		vfio_user_chan_fini(&s->twin_chan);
	srv_close_fd(&s->fd);
	srv_close_fd(&s->twin_fd);
	srv_close_fd(&s->kick_fd);
	vfio_user_dma_fini(&s->dma);
	while ((d = TAILQ_FIRST(&s->deferred)) != NULL) {
		TAILQ_REMOVE(&s->deferred, d, next);
		vfio_user_msg_release(&d->msg);
		free(d);
	}
	vfio_user_msg_release(&s->msg);
	free(s->xfer_buf);
	free(s);
}

static struct srv_session *
srv_sess_create(struct vfio_user_server *srv, int fd)
{
	struct srv_session *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->srv = srv;
	s->fd = -1;
	s->twin_fd = -1;
	vfio_user_limits_snapshot(&s->lim);
	s->kick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->kick_fd < 0) {
		free(s);
		return NULL;
	}
	if (vfio_user_chan_init(&s->chan, fd, &s->lim) < 0) {
		close(s->kick_fd);
		free(s);
		return NULL;
	}
	s->fd = fd;
	s->chan.ctrl_reads_only = true;
	s->chan.on_cmd = srv_defer_cmd;
	s->chan.on_idle = NULL;
	s->chan.arg = s;
	/* Spec defaults until VERSION says otherwise. */
	s->peer_max_fds = VFIO_USER_SPEC_DEF_MAX_MSG_FDS;
	s->peer_xfer = RTE_MIN((uint32_t)VFIO_USER_SPEC_DEF_MAX_DATA_XFER,
			s->lim.max_data_xfer_size);
	vfio_user_dma_init(&s->dma, s->lim.max_dma_maps, true);
	s->dma.max_bytes = s->lim.max_dma_mapped_bytes;
	s->dma.need_seal = srv->sock_opts.flags & RTE_VFIO_USER_SOCK_F_SEALED_DMA;
	vfio_user_msg_init(&s->msg);
	TAILQ_INIT(&s->deferred);
	return s;
}

static void srv_accept_cb(int fd, uint32_t events, void *arg);

/*
 * End the session: on the control thread, or on a thread that has unwatched
 * the session's descriptors.
 */
static void
srv_sess_close(struct vfio_user_server *srv, bool relisten)
{
	struct srv_session *s = srv->sess;
	int ret;

	if (s == NULL)
		return;
	vfio_user_ctrl_del(s->fd);
	vfio_user_ctrl_del(s->kick_fd);
	/* Wake threads waiting for DMA replies, including one blocked reading the twin. */
	shutdown(s->fd, SHUT_RDWR);
	if (s->twin_fd >= 0)
		shutdown(s->twin_fd, SHUT_RDWR);
	vfio_user_chan_kill(&s->chan, ECONNRESET);
	if (s->twin_ok)
		vfio_user_chan_kill(&s->twin_chan, ECONNRESET);

	pthread_mutex_lock(&srv->lock);
	s->closing = true;
	while (s->refs != 0)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);

	if (s->negotiated)
		srv_lock_dp(srv, 1);
	if (s->dev_ready && srv->ops.destroy_device != NULL)
		srv->ops.destroy_device(srv->dev_id);
	pthread_rwlock_wrlock(&srv->dp_lock);
	srv->sess = NULL;
	pthread_rwlock_unlock(&srv->dp_lock);
	srv_irq_reset(srv);
	if (s->negotiated)
		srv_lock_dp(srv, 0);
	srv_sess_free(s);
	VFIO_USER_SRV_LOG(INFO, srv->path, "client disconnected");

	if (relisten && srv->listen_fd >= 0) {
		ret = vfio_user_ctrl_add(srv->listen_fd, EPOLLIN, srv_accept_cb, srv);
		if (ret < 0)
			VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the socket again: %s",
					strerror(-ret));
		else
			srv->listening = true;
	}
}

/* srv_process(), with a warning when the control thread was held too long. */
static int
srv_process_timed(struct srv_session *s, struct vfio_user_msg *msg)
{
	int64_t t0 = vfio_user_now_ms(), took;
	int ret;

	ret = srv_process(s, msg);
	took = vfio_user_now_ms() - t0;
	if (took >= SRV_SLOW_MS)
		VFIO_USER_SRV_LOG(WARNING, s->srv->path,
				"command %u held the control thread %" PRId64 " ms",
				msg->hdr.cmd, took);
	return ret;
}

static void
srv_sess_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	struct srv_session *s = srv->sess;
	struct vfio_user_server *prev = g_cur_srv;
	struct srv_deferred *d;
	uint64_t expirations;
	int n, ret = 0;

	if (s == NULL)
		return;
	g_cur_srv = srv;
	if (fd == s->kick_fd) {
		if (read(fd, &expirations, sizeof(expirations)) < 0)
			expirations = 0;
		events = 0;
	}
	if (s->fatal)
		goto close;
	for (n = 0; n < SRV_BATCH; n++) {
		/* Commands deferred during a DMA wait come before newer ones. */
		d = TAILQ_FIRST(&s->deferred);
		if (d != NULL) {
			TAILQ_REMOVE(&s->deferred, d, next);
			s->nr_deferred--;
			/* Its descriptors were dropped when it was read during the wait. */
			if (d->msg.fds_dropped)
				ret = srv_too_many_fds(s, &d->msg);
			else
				ret = srv_process_timed(s, &d->msg);
			vfio_user_msg_release(&d->msg);
			free(d);
		} else {
			ret = vfio_user_chan_recv(&s->chan, &s->msg, 0);
			if (ret == -EAGAIN || ret == -EBUSY) {
				ret = 0;
				if (events & (EPOLLHUP | EPOLLERR))
					goto close;
				break;
			}
			if (ret == -ETOOMANYREFS)
				ret = srv_too_many_fds(s, &s->msg);
			else if (ret == -EMSGSIZE)
				VFIO_USER_SRV_LOG(INFO, s->srv->path,
						"bad message size %u, closing",
						s->msg.hdr.size);
			else if (ret < 0)
				VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "receive: %s",
						strerror(-ret));
			else if (ret == 0)
				ret = srv_process_timed(s, &s->msg);
			else
				ret = 0; /* a reply, handed to its waiter */
			vfio_user_msg_close_fds(&s->msg);
		}
		if (ret < 0 || s->fatal)
			goto close;
		/* Nothing queued or buffered: epoll says when the socket has more. */
		if (TAILQ_EMPTY(&s->deferred) && vfio_user_chan_buffered(&s->chan) == 0)
			break;
	}
	if (n == SRV_BATCH)
		srv_kick(s, 0); /* out of budget: come back for the rest */
	else if (srv_check_stall(s))
		goto close;
	g_cur_srv = prev;
	return;

close:
	srv_sess_close(srv, true);
	g_cur_srv = prev;
}

/* retry_fd expired: watch the listening socket again. */
static void
srv_retry_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	uint64_t expirations;

	RTE_SET_USED(events);
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (srv->listening || srv->sess != NULL || srv->listen_fd < 0)
		return;
	if (vfio_user_ctrl_add(srv->listen_fd, EPOLLIN, srv_accept_cb, srv) == 0)
		srv->listening = true;
}

/*
 * accept() failed for lack of descriptors or memory: the connection stays
 * in the backlog and the socket stays readable, so stop watching it for a
 * while instead of spinning on it.
 */
static void
srv_accept_pause(struct vfio_user_server *srv, int err)
{
	struct itimerspec its = { .it_value = { .tv_sec = SRV_ACCEPT_RETRY_MS / 1000,
		.tv_nsec = (SRV_ACCEPT_RETRY_MS % 1000) * 1000000 } };

	VFIO_USER_SRV_LOG(WARNING, srv->path, "accept: %s, pausing %d ms", strerror(err),
			SRV_ACCEPT_RETRY_MS);
	if (srv->retry_fd < 0 || timerfd_settime(srv->retry_fd, 0, &its, NULL) < 0)
		return; /* no timer: keep polling rather than stop serving */
	vfio_user_ctrl_del(srv->listen_fd);
	srv->listening = false;
}

/* The client's credentials pass the checks of rte_vfio_user_set_sock_opts(). */
static bool
srv_peer_allowed(struct vfio_user_server *srv, int conn)
{
	uint32_t checks = srv->sock_opts.flags &
		(RTE_VFIO_USER_SOCK_F_PEER_UID | RTE_VFIO_USER_SOCK_F_PEER_GID);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (checks == 0)
		return true;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
			len != sizeof(cred)) {
		VFIO_USER_SRV_LOG(WARNING, srv->path, "no client credentials: refused");
		return false;
	}
	if ((checks & RTE_VFIO_USER_SOCK_F_PEER_UID) && cred.uid == srv->sock_opts.uid)
		return true;
	if ((checks & RTE_VFIO_USER_SOCK_F_PEER_GID) && cred.gid == srv->sock_opts.gid)
		return true;
	VFIO_USER_SRV_LOG(WARNING, srv->path, "client pid %d uid %u gid %u refused",
			(int)cred.pid, (unsigned int)cred.uid, (unsigned int)cred.gid);
	return false;
}

static void
srv_accept_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	struct srv_session *s;
	int conn, ret;

	RTE_SET_USED(events);
	conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (conn < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			srv_accept_pause(srv, errno);
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				errno != ECONNABORTED)
			VFIO_USER_SRV_LOG(ERR, srv->path, "accept: %s", strerror(errno));
		return;
	}
	if (srv->sess != NULL || !srv_peer_allowed(srv, conn)) {
		close(conn);
		return;
	}
	s = srv_sess_create(srv, conn);
	if (s == NULL) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot create a session");
		close(conn);
		return;
	}
	pthread_rwlock_wrlock(&srv->dp_lock);
	srv->sess = s;
	pthread_rwlock_unlock(&srv->dp_lock);

	ret = vfio_user_ctrl_add(s->kick_fd, EPOLLIN, srv_sess_cb, srv);
	if (ret == 0) {
		ret = vfio_user_ctrl_add(conn, EPOLLIN, srv_sess_cb, srv);
		if (ret < 0)
			vfio_user_ctrl_del(s->kick_fd);
	}
	if (ret < 0) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the connection: %s",
				strerror(-ret));
		pthread_rwlock_wrlock(&srv->dp_lock);
		srv->sess = NULL;
		pthread_rwlock_unlock(&srv->dp_lock);
		srv_sess_free(s);
		return;
	}
	/* One client at a time: the next one waits in the backlog. */
	vfio_user_ctrl_del(fd);
	srv->listening = false;
	VFIO_USER_SRV_LOG(INFO, srv->path, "client connected");
}

/*
 * Teardown, run on the control thread
 */

static void
srv_stop_ctrl(void *arg)
{
	struct vfio_user_server *srv = arg;
	bool self = vfio_user_ctrl_is_self();
	struct vfio_user_server *prev = g_cur_srv;
	struct stat st;

	if (self)
		g_cur_srv = srv;
	if (srv->listening) {
		vfio_user_ctrl_del(srv->listen_fd);
		srv->listening = false;
	}
	if (srv->retry_fd >= 0) {
		vfio_user_ctrl_del(srv->retry_fd);
		srv_close_fd(&srv->retry_fd);
	}
	/* Unwatched first: closing the session must not watch the socket again. */
	if (srv->sess != NULL) {
		vfio_user_ctrl_del(srv->sess->fd);
		vfio_user_ctrl_del(srv->sess->kick_fd);
		srv_sess_close(srv, false);
	}
	srv_close_fd(&srv->listen_fd);
	/* Remove the socket file only if it is still ours. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->sock_dev &&
			st.st_ino == srv->sock_ino)
		unlink(srv->path);
	if (self)
		g_cur_srv = prev;
}

/*
 * Public API: configuration
 */

int
rte_vfio_user_register(const char *sock_addr, const struct rte_vfio_user_notify_ops *ops)
{
	struct rte_vfio_user_limits lim;
	struct vfio_user_server *srv, **slots;
	pthread_rwlockattr_t attr;
	uint32_t i, n;
	int ret;

	ret = srv_check_path(sock_addr);
	if (ret < 0)
		return vfio_user_err(ret);
	vfio_user_limits_snapshot(&lim);
	if (lim.max_devices > INT_MAX)
		lim.max_devices = INT_MAX;

	pthread_mutex_lock(&g_api_lock);
	if (srv_find(sock_addr) != NULL) {
		ret = -EEXIST;
		goto out;
	}
	if (g_nr_srvs >= lim.max_devices) {
		ret = -ENOSPC;
		goto out;
	}
	for (i = 0; i < g_nr_slots; i++)
		if (g_srvs[i] == NULL)
			break;
	if (i == g_nr_slots) {
		/* Fewer servers than max_devices and no free slot: grow. */
		n = RTE_MAX(lim.max_devices, g_nr_slots + 1);
		slots = calloc(n, sizeof(*slots));
		if (slots == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		pthread_rwlock_wrlock(&g_lock);
		if (g_nr_slots != 0)
			memcpy(slots, g_srvs, g_nr_slots * sizeof(*slots));
		free(g_srvs);
		g_srvs = slots;
		g_nr_slots = n;
		pthread_rwlock_unlock(&g_lock);
	}

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rte_strlcpy(srv->path, sock_addr, sizeof(srv->path));
	srv->dev_id = (int)i;
	if (ops != NULL)
		srv->ops = *ops;
	srv->listen_fd = -1;
	srv->retry_fd = -1;
	srv->sock_opts.mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	pthread_mutex_init(&srv->irq_lock, NULL);
	/* The control thread changing the table must not starve behind DMA readers. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&srv->dp_lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	pthread_rwlock_wrlock(&g_lock);
	g_srvs[i] = srv;
	g_nr_srvs++;
	pthread_rwlock_unlock(&g_lock);
	ret = (int)i;
	VFIO_USER_SRV_LOG(INFO, srv->path, "registered as device %d", ret);
out:
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_unregister(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	ret = srv_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (srv->started)
		vfio_user_ctrl_run(srv_stop_ctrl, srv);

	pthread_mutex_lock(&g_api_lock);
	pthread_rwlock_wrlock(&g_lock);
	g_srvs[srv->dev_id] = NULL;
	g_nr_srvs--;
	pthread_rwlock_unlock(&g_lock);
	srv->started = false;
	srv_end_locked(srv);
	pthread_mutex_unlock(&g_api_lock);

	/* Data path users held g_lock: none is left. */
	VFIO_USER_SRV_LOG(INFO, srv->path, "unregistered");
	srv_free_regions(srv);
	srv_free_irqs(srv);
	pthread_rwlock_destroy(&srv->dp_lock);
	pthread_mutex_destroy(&srv->irq_lock);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return 0;
}

/* g_api_lock held on success. */
static int
srv_config_begin(const char *sock_addr, struct vfio_user_server **out)
{
	struct vfio_user_server *srv;

	if (sock_addr == NULL)
		return -EINVAL;
	pthread_mutex_lock(&g_api_lock);
	srv = srv_find(sock_addr);
	if (srv == NULL) {
		pthread_mutex_unlock(&g_api_lock);
		return -ENOENT;
	}
	if (srv->started || srv->busy) {
		pthread_mutex_unlock(&g_api_lock);
		return -EBUSY;
	}
	*out = srv;
	return 0;
}

int
rte_vfio_user_set_sock_opts(const char *sock_addr, const struct rte_vfio_user_sock_opts *opts)
{
	struct vfio_user_server *srv;
	int ret;

	if (opts == NULL || (opts->flags & ~SRV_SOCK_FLAGS) != 0 ||
			(opts->mode & ~(mode_t)0777) != 0)
		return vfio_user_err(-EINVAL);
	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	srv->sock_opts = *opts;
	if (srv->sock_opts.mode == 0)
		srv->sock_opts.mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	pthread_mutex_unlock(&g_api_lock);
	return 0;
}

int
rte_vfio_user_set_dev_info(const char *sock_addr, const struct vfio_device_info *dev_info)
{
	struct vfio_user_server *srv;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (dev_info == NULL || !(dev_info->flags & VFIO_DEVICE_FLAGS_PCI) ||
			(dev_info->flags & ~(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)) ||
			dev_info->num_regions < VFIO_PCI_NUM_REGIONS) {
		ret = -EINVAL;
		goto out;
	}
	/* Regions or IRQs described for other counts no longer fit. */
	if (srv->regs != NULL && srv->nr_regs != dev_info->num_regions)
		srv_free_regions(srv);
	if (srv->irqs != NULL && srv->nr_irqs != dev_info->num_irqs)
		srv_free_irqs(srv);
	srv->dev_info.argsz = sizeof(srv->dev_info);
	srv->dev_info.flags = dev_info->flags;
	srv->dev_info.num_regions = dev_info->num_regions;
	srv->dev_info.num_irqs = dev_info->num_irqs;
	srv->has_dev_info = true;
out:
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_reg_info(const char *sock_addr, const struct rte_vfio_user_regions *reg)
{
	struct rte_vfio_user_reg_info *regs = NULL;
	struct srv_reg_map *maps = NULL;
	struct vfio_user_server *srv;
	uint32_t i, n = 0;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (reg == NULL || !srv->has_dev_info || reg->reg_num != srv->dev_info.num_regions ||
			reg->reg_info == NULL) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < reg->reg_num; i++) {
		ret = srv_check_region(&reg->reg_info[i], i);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(ERR, srv->path, "region %u is invalid", i);
			goto out;
		}
	}
	regs = calloc(reg->reg_num, sizeof(*regs));
	maps = calloc(reg->reg_num, sizeof(*maps));
	if (regs == NULL || maps == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	for (n = 0; n < reg->reg_num; n++) {
		ret = srv_copy_region(&regs[n], &reg->reg_info[n]);
		if (ret < 0)
			goto fail;
	}
	srv_free_regions(srv);
	srv->regs = regs;
	srv->maps = maps;
	srv->nr_regs = reg->reg_num;
	ret = 0;
	goto out;
fail:
	for (i = 0; i < n; i++) {
		free(regs[i].info);
		free((void *)(uintptr_t)regs[i].io_fds);
	}
	free(regs);
	free(maps);
out:
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_irq_info(const char *sock_addr, const struct rte_vfio_user_irq_info *irq)
{
	struct vfio_user_server *srv;
	struct srv_irq *irqs = NULL;
	uint32_t i, j;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (irq == NULL || !srv->has_dev_info || irq->irq_num != srv->dev_info.num_irqs ||
			(irq->irq_num != 0 && irq->irq_info == NULL)) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < irq->irq_num; i++) {
		if (irq->irq_info[i].index != i || irq->irq_info[i].count > SRV_MAX_IRQ_COUNT) {
			ret = -EINVAL;
			goto out;
		}
	}
	if (irq->irq_num != 0) {
		irqs = calloc(irq->irq_num, sizeof(*irqs));
		if (irqs == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < irq->irq_num; i++) {
		irqs[i].info = irq->irq_info[i];
		irqs[i].info.argsz = sizeof(irqs[i].info);
		if (irqs[i].info.count == 0)
			continue;
		irqs[i].vec = calloc(irqs[i].info.count, sizeof(*irqs[i].vec));
		if (irqs[i].vec == NULL) {
			while (i-- > 0)
				free(irqs[i].vec);
			free(irqs);
			ret = -ENOMEM;
			goto out;
		}
		for (j = 0; j < irqs[i].info.count; j++) {
			irqs[i].vec[j].trigger = -1;
			irqs[i].vec[j].mask_fd = -1;
			irqs[i].vec[j].unmask_fd = -1;
			/* Without MASKABLE the client could never unmask it. */
			irqs[i].vec[j].automask = (irqs[i].info.flags &
				(VFIO_IRQ_INFO_AUTOMASKED | VFIO_IRQ_INFO_MASKABLE)) ==
				(VFIO_IRQ_INFO_AUTOMASKED | VFIO_IRQ_INFO_MASKABLE);
		}
	}
	srv_free_irqs(srv);
	srv->irqs = irqs;
	srv->nr_irqs = irq->irq_num;
	/* A device without interrupts still counts as described. */
	ret = 0;
out:
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

/*
 * Warn about a parent directory others may write to without the sticky bit:
 * they could swap the socket file for something else between our checks.
 */
static void
srv_check_parent(struct vfio_user_server *srv)
{
	char dir[SRV_PATH_MAX];
	struct stat st;
	char *slash;

	rte_strlcpy(dir, srv->path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		rte_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) &&
			!(st.st_mode & S_ISVTX))
		VFIO_USER_SRV_LOG(WARNING, srv->path,
				"directory %s is writable by others and not sticky", dir);
}

/*
 * Give the socket file just bound its mode, before listen() lets anyone
 * connect. The file is opened without following a symbolic link and must
 * be a socket of ours: chmod() goes through that descriptor, never through
 * the path again.
 */
static int
srv_sock_chmod(struct vfio_user_server *srv)
{
	char proc_path[64];
	struct stat st;
	int pfd, ret = 0;

	pfd = open(srv->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		ret = -EADDRINUSE;
		goto out;
	}
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", pfd);
	if (chmod(proc_path, srv->sock_opts.mode) < 0) {
		ret = -errno;
		goto out;
	}
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
out:
	close(pfd);
	return ret;
}

/*
 * A path that exists may be replaced only when it is a socket of this user
 * that nobody listens on (left by a dead server). lstat() does not follow a
 * symbolic link, which is thus refused like any other file.
 */
static int
srv_remove_stale(struct vfio_user_server *srv, const struct sockaddr_un *addr)
{
	struct stat st;
	int probe, err;

	if (lstat(srv->path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode)) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "path exists and is not a socket");
		return -EADDRINUSE;
	}
	if (st.st_uid != geteuid()) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "socket of uid %u left alone",
				(unsigned int)st.st_uid);
		return -EADDRINUSE;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	err = connect(probe, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 0 : errno;
	close(probe);
	if (err != ECONNREFUSED) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "socket in use");
		return -EADDRINUSE;
	}
	VFIO_USER_SRV_LOG(INFO, srv->path, "removing stale socket");
	if (unlink(srv->path) < 0)
		return -errno;
	return 0;
}

static int
srv_listen(struct vfio_user_server *srv)
{
	struct sockaddr_un addr;
	int fd, ret;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	rte_strlcpy(addr.sun_path, srv->path, sizeof(addr.sun_path));
	srv_check_parent(srv);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bind() never follows a symbolic link: it fails on any existing path. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		if (ret != -EADDRINUSE)
			goto fail;
		ret = srv_remove_stale(srv, &addr);
		if (ret < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	ret = srv_sock_chmod(srv);
	if (ret < 0) {
		/* Not the file bound (replaced meanwhile): leave it alone. */
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot set the socket mode: %s",
				strerror(-ret));
		goto fail;
	}
	if (listen(fd, SRV_LISTEN_BACKLOG) < 0) {
		ret = -errno;
		unlink(srv->path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

int
rte_vfio_user_start(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int fd, ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	pthread_mutex_lock(&g_api_lock);
	srv = srv_find(sock_addr);
	if (srv == NULL) {
		ret = -ENOENT;
		goto out;
	}
	if (srv->started || srv->busy) {
		ret = -EALREADY;
		goto out;
	}
	if (!srv->has_dev_info || srv->regs == NULL ||
			(srv->dev_info.num_irqs != 0 && srv->irqs == NULL)) {
		ret = -EINVAL;
		goto out;
	}
	fd = srv_listen(srv);
	if (fd < 0) {
		ret = fd;
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot listen: %s", strerror(-ret));
		goto out;
	}
	srv->listen_fd = fd;
	srv->listening = true;
	srv->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ret = srv->retry_fd < 0 ? -errno :
		vfio_user_ctrl_add(srv->retry_fd, EPOLLIN, srv_retry_cb, srv);
	if (ret == 0) {
		ret = vfio_user_ctrl_add(fd, EPOLLIN, srv_accept_cb, srv);
		if (ret < 0)
			vfio_user_ctrl_del(srv->retry_fd);
	}
	if (ret < 0) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the socket: %s", strerror(-ret));
		srv->listening = false;
		srv_close_fd(&srv->retry_fd);
		srv_close_fd(&srv->listen_fd);
		unlink(srv->path);
		goto out;
	}
	srv->started = true;
	VFIO_USER_SRV_LOG(INFO, srv->path, "listening");
out:
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_stop(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	ret = srv_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (!srv->started) {
		ret = -EALREADY;
	} else {
		vfio_user_ctrl_run(srv_stop_ctrl, srv);
		VFIO_USER_SRV_LOG(INFO, srv->path, "stopped");
	}
	pthread_mutex_lock(&g_api_lock);
	srv->started = false;
	srv_end_locked(srv);
	pthread_mutex_unlock(&g_api_lock);
	return vfio_user_err(ret);
}

/*
 * Public API: data path and queries
 */

int
rte_vfio_user_set_priv(int dev_id, void *priv)
{
	struct vfio_user_server *srv;
	int ret = 0;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL)
		ret = -ENODEV;
	else
		__atomic_store_n(&srv->priv, priv, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&g_lock);
	return vfio_user_err(ret);
}

void *
rte_vfio_user_get_priv(int dev_id)
{
	struct vfio_user_server *srv;
	void *priv = NULL;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL)
		rte_errno = ENODEV;
	else
		priv = __atomic_load_n(&srv->priv, __ATOMIC_ACQUIRE);
	pthread_rwlock_unlock(&g_lock);
	return priv;
}

const struct rte_vfio_user_mem_table *
rte_vfio_user_get_mem_table(int dev_id)
{
	const struct rte_vfio_user_mem_table *tbl = NULL;
	struct vfio_user_server *srv;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		rte_errno = ENODEV;
	} else {
		pthread_rwlock_rdlock(&srv->dp_lock);
		if (srv->sess == NULL)
			rte_errno = ENOTCONN;
		else
			tbl = &srv->sess->dma.pub;
		pthread_rwlock_unlock(&srv->dp_lock);
	}
	pthread_rwlock_unlock(&g_lock);
	return tbl;
}

int
rte_vfio_user_get_irq(int dev_id, uint32_t index, uint32_t count, int *fds)
{
	struct vfio_user_server *srv;
	uint32_t i;
	int ret = 0;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		ret = -ENODEV;
	} else if (fds == NULL || index >= srv->nr_irqs || count > srv->irqs[index].info.count) {
		ret = -EINVAL;
	} else {
		pthread_mutex_lock(&srv->irq_lock);
		for (i = 0; i < count; i++)
			fds[i] = srv->irqs[index].vec[i].trigger;
		pthread_mutex_unlock(&srv->irq_lock);
	}
	pthread_rwlock_unlock(&g_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_irq_trigger(int dev_id, uint32_t index, uint32_t subindex)
{
	struct vfio_user_server *srv;
	int ret;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		ret = -ENODEV;
	} else if (index >= srv->nr_irqs || subindex >= srv->irqs[index].info.count) {
		ret = -EINVAL;
	} else {
		pthread_mutex_lock(&srv->irq_lock);
		ret = srv_irq_fire(&srv->irqs[index].vec[subindex]);
		pthread_mutex_unlock(&srv->irq_lock);
	}
	pthread_rwlock_unlock(&g_lock);
	return vfio_user_err(ret);
}

void *
rte_vfio_user_iova_to_vva(int dev_id, uint64_t iova, uint64_t *len)
{
	const struct rte_vfio_user_mem_reg *w;
	struct vfio_user_server *srv;
	uint64_t off;
	void *va = NULL;
	int err = 0;

	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		err = ENODEV;
	} else if (len == NULL) {
		err = EINVAL;
	} else {
		pthread_rwlock_rdlock(&srv->dp_lock);
		w = srv->sess != NULL ? vfio_user_dma_find(&srv->sess->dma, iova) : NULL;
		if (w == NULL || w->vaddr == NULL) {
			err = ENOENT;
		} else {
			off = iova - w->iova;
			va = (uint8_t *)w->vaddr + off;
			*len = RTE_MIN(*len, w->size - off);
		}
		pthread_rwlock_unlock(&srv->dp_lock);
	}
	pthread_rwlock_unlock(&g_lock);
	if (err != 0)
		rte_errno = err;
	return va;
}

/* Move len bytes with DMA_READ/DMA_WRITE messages, in chunks the client accepts. */
static int
srv_dma_msg(struct srv_session *s, uint64_t iova, uint8_t *buf, uint64_t len, bool write)
{
	struct vfio_user_chan *chan = s->twin_ok ? &s->twin_chan : &s->chan;
	struct vfio_user_dma_write_reply wrep;
	struct vfio_user_dma_access req, ack;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	uint64_t n;
	int ret;

	while (len != 0) {
		n = RTE_MIN(len, (uint64_t)s->peer_xfer);
		req.addr = iova;
		req.count = n;
		iov[0].iov_base = &req;
		iov[0].iov_len = sizeof(req);
		iov[1].iov_base = buf;
		iov[1].iov_len = n;
		vfio_user_msg_init(&reply);
		ret = vfio_user_chan_call(chan, write ? VFIO_USER_DMA_WRITE : VFIO_USER_DMA_READ,
				iov, write ? 2 : 1, NULL, 0, &reply);
		if (ret == 0 && write) {
			/* A bare header, or at least the 12-byte reply of the specification. */
			if (reply.len != 0) {
				if (reply.len < sizeof(wrep)) {
					ret = -EPROTO;
				} else {
					memcpy(&wrep, reply.data, sizeof(wrep));
					if (wrep.addr != iova || wrep.count != n)
						ret = -EPROTO;
				}
			}
		} else if (ret == 0) {
			if (reply.len != sizeof(ack) + n) {
				ret = -EPROTO;
			} else {
				memcpy(&ack, reply.data, sizeof(ack));
				if (ack.addr != iova || ack.count != n)
					ret = -EPROTO;
				else
					memcpy(buf, reply.data + sizeof(ack), n);
			}
		}
		vfio_user_msg_release(&reply);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "%s 0x%" PRIx64 "+0x%" PRIx64
					" failed: %s", write ? "DMA_WRITE" : "DMA_READ", iova, n,
					strerror(-ret));
			return ret;
		}
		iova += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* dp_lock held: is [iova, iova + len) covered by windows allowing prot? */
static bool
srv_dma_covered(const struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t len,
		uint32_t prot)
{
	const struct rte_vfio_user_mem_reg *w;
	uint64_t n;

	while (len != 0) {
		w = vfio_user_dma_find(tbl, iova);
		if (w == NULL || (w->prot & prot) != prot)
			return false;
		n = RTE_MIN(len, w->size - (iova - w->iova));
		iova += n;
		len -= n;
	}
	return true;
}

static int
srv_dma_rw(int dev_id, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	uint32_t prot = write ? PROT_WRITE : PROT_READ;
	const struct rte_vfio_user_mem_reg *w;
	struct vfio_user_server *srv;
	struct srv_session *s;
	uint64_t n, off;
	int ret;

	if (buf == NULL)
		return -EINVAL;
	pthread_rwlock_rdlock(&g_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		pthread_rwlock_unlock(&g_lock);
		return -ENODEV;
	}
	pthread_rwlock_rdlock(&srv->dp_lock);
	s = srv->sess;
	if (s == NULL) {
		ret = -ENOTCONN;
		goto unlock;
	}
	if (len == 0) {
		ret = 0;
		goto unlock;
	}
	if (len - 1 > UINT64_MAX - iova) {
		ret = -EFAULT;
		goto unlock;
	}
	/* Fast path: everything is mapped. */
	ret = vfio_user_dma_copy(&s->dma, iova, buf, len, write);
	if (ret == 0)
		goto unlock;
	if (!srv_dma_covered(&s->dma, iova, len, prot)) {
		ret = -EFAULT;
		goto unlock;
	}
	/* Messages are needed: hold the session, not the locks, while waiting. */
	pthread_mutex_lock(&srv->lock);
	if (s->closing) {
		pthread_mutex_unlock(&srv->lock);
		ret = -ENOTCONN;
		goto unlock;
	}
	s->refs++;
	pthread_mutex_unlock(&srv->lock);
	pthread_rwlock_unlock(&srv->dp_lock);
	pthread_rwlock_unlock(&g_lock);

	ret = 0;
	while (len != 0 && ret == 0) {
		pthread_rwlock_rdlock(&srv->dp_lock);
		w = vfio_user_dma_find(&s->dma, iova);
		if (w == NULL || (w->prot & prot) != prot) {
			pthread_rwlock_unlock(&srv->dp_lock);
			ret = -EFAULT;
			break;
		}
		off = iova - w->iova;
		n = RTE_MIN((uint64_t)len, w->size - off);
		if (w->vaddr != NULL) {
			if (write)
				memcpy((uint8_t *)w->vaddr + off, buf, n);
			else
				memcpy(buf, (uint8_t *)w->vaddr + off, n);
			pthread_rwlock_unlock(&srv->dp_lock);
		} else {
			pthread_rwlock_unlock(&srv->dp_lock);
			ret = srv_dma_msg(s, iova, buf, n, write);
		}
		iova += n;
		buf += n;
		len -= n;
	}

	pthread_mutex_lock(&srv->lock);
	if (--s->refs == 0 && s->closing)
		pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return ret;

unlock:
	pthread_rwlock_unlock(&srv->dp_lock);
	pthread_rwlock_unlock(&g_lock);
	return ret;
}

int
rte_vfio_user_dma_read(int dev_id, uint64_t iova, void *buf, size_t len)
{
	return vfio_user_err(srv_dma_rw(dev_id, iova, buf, len, false));
}

int
rte_vfio_user_dma_write(int dev_id, uint64_t iova, const void *buf, size_t len)
{
	return vfio_user_err(srv_dma_rw(dev_id, iova, (uint8_t *)(uintptr_t)buf, len, true));
}

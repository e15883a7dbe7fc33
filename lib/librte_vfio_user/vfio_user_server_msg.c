/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server commands (control thread): one table indexed by command, the
 * dispatcher that validates what every command shares, and the handlers.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "vfio_user_caps.h"
#include "vfio_user_server.h"

#ifndef VFIO_DMA_UNMAP_FLAG_ALL
#define VFIO_DMA_UNMAP_FLAG_ALL (1u << 1)
#endif

/* Handler results besides 0 (send the prepared reply) and -errno (error reply). */
#define SRV_DONE      1 /* the handler replied itself, or holds the reply (DMA_UNMAP) */
#define SRV_CLOSE     2 /* close the connection, no reply */
#define SRV_UNCHANGED 3 /* send the prepared reply; nothing for update_status() */

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

/* Append data to the reply payload. */
static void
srv_rep_add(struct srv_rep *rep, void *data, size_t len)
{
	rep->iov[rep->iovcnt].iov_base = data;
	rep->iov[rep->iovcnt].iov_len = len;
	rep->iovcnt++;
}

/*
 * Message handlers (control thread). Each returns 0 with rep filled, a
 * negative errno for an error reply, SRV_DONE, SRV_CLOSE or SRV_UNCHANGED.
 * The dispatcher has checked the descriptor count and the payload size
 * given by the command table, and quiesced the data path if it says so.
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
	if (vfio_user_caps_grant(&peer, &s->lim, srv->migratable ? SRV_MIG_PGSIZE : 0, &mine,
			&use) < 0) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "VERSION capabilities refused");
		s->close_after = true;
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
	s->mig_max_bitmap = use.mig_max_bitmap;
	pthread_rwlock_wrlock(&srv->dp_lock);
	s->dma.max = use.max_dma_maps;
	/* DMA_MAP works in the smallest page size granted. */
	s->dma.granule = use.pgsizes & -use.pgsizes;
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
	s->minor = ver.minor;
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

	pthread_rwlock_wrlock(&srv->dp_lock);
	ret = vfio_user_dma_add(&s->dma, map.addr, map.size, prot, fd, map.offset, NULL);
	pthread_rwlock_unlock(&srv->dp_lock);
	if (ret < 0)
		VFIO_USER_SRV_LOG(DEBUG, srv->path,
				"DMA_MAP 0x%" PRIx64 "+0x%" PRIx64 " failed: %s",
				map.addr, map.size, strerror(-ret));
	return ret;
}

static int
srv_h_dma_unmap(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_dma_unmap *unmap = &rep->u.unmap;
	uint32_t epoch = 0;
	bool all;
	int ret = 0;

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

	pthread_rwlock_wrlock(&srv->dp_lock);
	if (all)
		vfio_user_dma_remove_all(&s->dma);
	else
		ret = vfio_user_dma_remove(&s->dma, unmap->addr, unmap->size);
	if (ret == 0)
		epoch = s->dma_epoch++ & 1;
	pthread_rwlock_unlock(&srv->dp_lock);
	if (ret < 0)
		return ret;

	/*
	 * "The server must release all references to that DMA region before
	 * replying, which potentially includes in-flight DMA transactions":
	 * message DMA started before the removal may still wait for the
	 * client. The reply, and every later command, waits for it to end.
	 */
	__atomic_store_n(&s->unmap_held, true, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->dma_inflight[epoch], __ATOMIC_SEQ_CST) != 0) {
		s->unmap_req = msg->hdr;
		s->unmap_rep = *unmap;
		s->dma_epoch_held = epoch;
		return SRV_DONE;
	}
	__atomic_store_n(&s->unmap_held, false, __ATOMIC_SEQ_CST);

	/* The reply echoes the request. */
	srv_rep_add(rep, unmap, sizeof(*unmap));
	return 0;
}

/*
 * A DMA_UNMAP reply is held: send it once the message DMA it waits for has
 * ended. Returns 0, or a negative value to close the connection.
 */
int
srv_unmap_release(struct srv_session *s)
{
	struct iovec iov = { .iov_base = &s->unmap_rep, .iov_len = sizeof(s->unmap_rep) };

	if (__atomic_load_n(&s->dma_inflight[s->dma_epoch_held], __ATOMIC_SEQ_CST) != 0)
		return 0;
	__atomic_store_n(&s->unmap_held, false, __ATOMIC_SEQ_CST);
	if (s->unmap_req.flags & VFIO_USER_F_NO_REPLY)
		return 0;
	return vfio_user_chan_reply(&s->chan, &s->unmap_req, 0, &iov, 1, NULL, 0);
}

static int
srv_h_get_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_device_info *info = &rep->u.dev;

	memcpy(info, msg->data, sizeof(*info));
	if (info->argsz < sizeof(*info))
		return -EINVAL;
	*info = s->srv->dev_info;
	info->argsz = sizeof(*info);
	srv_rep_add(rep, info, sizeof(*info));
	return 0;
}

static int
srv_h_get_region_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_region_info *req = &rep->u.reg;
	struct rte_vfio_user_reg_info *reg;
	bool full;

	/* Clients built on the kernel's structure send argsz bytes: the rest is ignored. */
	memcpy(req, msg->data, sizeof(*req));
	if (req->argsz < sizeof(*req) || req->index >= srv->nr_regs)
		return -EINVAL;
	reg = &srv->regs[req->index];
	full = req->argsz >= reg->info->argsz;
	*req = *reg->info;
	srv_rep_add(rep, req, sizeof(*req));
	if (full && reg->info->argsz > sizeof(*req)) {
		/* The capabilities follow the structure. */
		srv_rep_add(rep, (uint8_t *)reg->info + sizeof(*req),
				reg->info->argsz - sizeof(*req));
	} else if (!full) {
		/*
		 * Too small for the capabilities: tell the size needed, as Linux VFIO
		 * does, but without the CAPS flag: QEMU refuses CAPS with cap_offset 0.
		 */
		req->flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
		req->cap_offset = 0;
	}
	/*
	 * "When this flag is set, the reply will include a file descriptor." It
	 * goes with the full reply only: a client probing the size first offers
	 * no room for descriptors. Without the descriptor, no MMAP flag.
	 */
	if ((req->flags & VFIO_REGION_INFO_FLAG_MMAP) && full && reg->fd >= 0 &&
			s->peer_max_fds >= 1) {
		rep->fds[0] = reg->fd;
		rep->nr_fds = 1;
	} else {
		req->flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
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

	memcpy(req, msg->data, sizeof(*req));
	if (req->argsz < sizeof(*req) || req->flags != 0 || req->index >= srv->nr_regs)
		return -EINVAL;
	reg = &srv->regs[req->index];
	n = reg->nr_io_fds;
	/* Fits: checked by rte_vfio_user_set_reg_info(). */
	needed = sizeof(*req) + n * sizeof(*ent);

	srv_rep_add(rep, req, sizeof(*req));
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
	srv_rep_add(rep, ent, (size_t)n * sizeof(*ent));
	rep->to_free = ent;
	return 0;
}

static int
srv_h_get_irq_info(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_irq_info *info = &rep->u.irq;

	memcpy(info, msg->data, sizeof(*info));
	if (info->argsz < sizeof(*info) || info->index >= srv->nr_irqs)
		return -EINVAL;
	*info = srv->irqs[info->index].info;
	info->argsz = sizeof(*info);
	srv_rep_add(rep, info, sizeof(*info));
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
		return SRV_UNCHANGED;
	}

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
	return 0;
}

static int
srv_h_region_read(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_region_access *acc = &rep->u.acc;
	int ret;

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
	srv_rep_add(rep, acc, sizeof(*acc));
	srv_rep_add(rep, s->xfer_buf, acc->count);
	return 0;
}

static int
srv_h_region_write(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_region_access *acc = &rep->u.acc;
	int ret;

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
	srv_rep_add(rep, acc, sizeof(*acc));
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
			break;
	}
	/* The reply holds "the number of device writes completed"; none: an error reply. */
	if (i == 0)
		return ret;
	if (i < wm->wr_cnt)
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "WRITE_MULTI stopped after %" PRIu64
				" of %" PRIu64 " writes: %s", i, wm->wr_cnt, strerror(-ret));
	wm->wr_cnt = i;
	srv_rep_add(rep, wm, sizeof(*wm));
	return 0;
}

static int
srv_h_reset(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	struct vfio_user_server *srv = s->srv;
	int ret;

	RTE_SET_USED(rep);
	if (!(srv->dev_info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -EINVAL;
	if (srv->ops.reset_device != NULL) {
		ret = srv->ops.reset_device(srv->dev_id);
		if (ret < 0)
			return srv_cb_err(ret);
	}
	/* "To recover from ERROR, VFIO_USER_DEVICE_RESET must be used": RUNNING again. */
	srv->mig_state = RTE_VFIO_USER_MIG_RUNNING;
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

/* A migration handler that builds its reply in a buffer the reply then owns. */
static int
srv_h_mig_reply(struct srv_session *s, const struct vfio_user_msg *msg, struct srv_rep *rep,
		int (*build)(struct srv_session *s, const struct vfio_user_msg *msg, void **reply,
			uint32_t *len))
{
	uint32_t len = 0;
	void *data = NULL;
	int ret;

	ret = build(s, msg, &data, &len);
	if (ret < 0)
		return ret;
	srv_rep_add(rep, data, len);
	rep->to_free = data;
	return 0;
}

static int
srv_h_feature(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	return srv_h_mig_reply(s, msg, rep, srv_mig_feature);
}

static int
srv_h_mig_read(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	return srv_h_mig_reply(s, msg, rep, srv_mig_data_read);
}

static int
srv_h_mig_write(struct srv_session *s, struct vfio_user_msg *msg, struct srv_rep *rep)
{
	RTE_SET_USED(rep);
	return srv_mig_data_write(s, msg);
}

typedef int (*srv_handler_t)(struct srv_session *s, struct vfio_user_msg *msg,
		struct srv_rep *rep);

/* The payload a command needs, checked by the dispatcher before the handler runs. */
struct srv_len {
	uint32_t len;
	uint8_t rule;
};
#define SRV_LEN_EQ    0 /* exactly len bytes, else EINVAL */
#define SRV_LEN_MIN   1 /* at least len bytes, else EINVAL */
#define SRV_LEN_HELLO 2 /* at least len bytes, else close: the peer cannot even say hello */

#define LEN_EQ(type)    { sizeof(type), SRV_LEN_EQ }
#define LEN_MIN(type)   { sizeof(type), SRV_LEN_MIN }
#define LEN_HELLO(type) { sizeof(type), SRV_LEN_HELLO }
#define LEN_NONE        { 0, SRV_LEN_EQ }
#define LEN_ANY         { 0, SRV_LEN_MIN }
/* Commands that change what the data path uses: DMA table or interrupt configuration. */
#define QUIESCE(what)   true, RTE_VFIO_USER_UPDATE_ ## what
#define NO_QUIESCE      false, 0

/*
 * One line per command: id and handler; the descriptors it may carry (more
 * get EINVAL); its payload (LEN_*: a request with an argsz may carry up to
 * argsz bytes, as clients built on the kernel's structures send, so those
 * take LEN_MIN and the rest is ignored; DMA_MAP keeps the exact size the
 * specification states); whether the dispatcher quiesces the data
 * path around it: lock_dp(1) before, lock_dp(0) after, then update_status()
 * when the handler succeeded (and did not return SRV_UNCHANGED).
 */
#define SRV_COMMANDS(X) \
	X(VFIO_USER_VERSION, srv_h_version, 0, \
		LEN_HELLO(struct vfio_user_version), NO_QUIESCE) \
	X(VFIO_USER_DMA_MAP, srv_h_dma_map, 1, \
		LEN_EQ(struct vfio_user_dma_map), QUIESCE(DMA)) \
	X(VFIO_USER_DMA_UNMAP, srv_h_dma_unmap, 0, \
		LEN_MIN(struct vfio_user_dma_unmap), QUIESCE(DMA)) \
	X(VFIO_USER_DEVICE_GET_INFO, srv_h_get_info, 0, \
		LEN_MIN(struct vfio_user_device_info), NO_QUIESCE) \
	X(VFIO_USER_DEVICE_GET_REGION_INFO, srv_h_get_region_info, 0, \
		LEN_MIN(struct vfio_region_info), NO_QUIESCE) \
	X(VFIO_USER_DEVICE_GET_REGION_IO_FDS, srv_h_get_region_io_fds, 0, \
		LEN_MIN(struct vfio_user_region_io_fds_req), NO_QUIESCE) \
	X(VFIO_USER_DEVICE_GET_IRQ_INFO, srv_h_get_irq_info, 0, \
		LEN_MIN(struct vfio_irq_info), NO_QUIESCE) \
	X(VFIO_USER_DEVICE_SET_IRQS, srv_h_set_irqs, VFIO_USER_SCM_MAX_FDS, \
		LEN_MIN(struct vfio_irq_set), QUIESCE(IRQ)) \
	X(VFIO_USER_REGION_READ, srv_h_region_read, 0, \
		LEN_EQ(struct vfio_user_region_access), NO_QUIESCE) \
	X(VFIO_USER_REGION_WRITE, srv_h_region_write, 0, \
		LEN_MIN(struct vfio_user_region_access), NO_QUIESCE) \
	X(VFIO_USER_DMA_READ, srv_h_wrong_dir, 0, LEN_ANY, NO_QUIESCE) \
	X(VFIO_USER_DMA_WRITE, srv_h_wrong_dir, 0, LEN_ANY, NO_QUIESCE) \
	X(VFIO_USER_DEVICE_RESET, srv_h_reset, 0, LEN_NONE, NO_QUIESCE) \
	X(VFIO_USER_REGION_WRITE_MULTI, srv_h_write_multi, 0, \
		LEN_MIN(struct vfio_user_write_multi), NO_QUIESCE) \
	X(VFIO_USER_DEVICE_FEATURE, srv_h_feature, 0, \
		LEN_MIN(struct vfio_user_feature), NO_QUIESCE) \
	X(VFIO_USER_MIG_DATA_READ, srv_h_mig_read, 0, \
		LEN_MIN(struct vfio_user_mig_data), NO_QUIESCE) \
	X(VFIO_USER_MIG_DATA_WRITE, srv_h_mig_write, 0, \
		LEN_MIN(struct vfio_user_mig_data), NO_QUIESCE)

static const struct srv_cmd {
	const char *name;
	srv_handler_t fn;
	uint32_t max_fds;
	struct srv_len len;
	bool quiesce;
	enum rte_vfio_user_update update;
} srv_cmds[VFIO_USER_MAX_COMMAND] = {
#define SRV_CMD_ENTRY(id, fn, fds, len, quiesce) [id] = { #id, fn, fds, len, quiesce },
	SRV_COMMANDS(SRV_CMD_ENTRY)
#undef SRV_CMD_ENTRY
};

/*
 * Dispatch
 */

static bool
srv_len_ok(const struct srv_len *need, uint32_t len)
{
	return need->rule == SRV_LEN_EQ ? len == need->len : len >= need->len;
}

/* Run the handler of a well-formed command, quiescing the data path if it says so. */
static int
srv_run(struct srv_session *s, const struct srv_cmd *c, struct vfio_user_msg *msg,
		struct srv_rep *rep)
{
	int ret;

	if (!c->quiesce)
		return c->fn(s, msg, rep);
	srv_lock_dp(s->srv, 1);
	ret = c->fn(s, msg, rep);
	srv_lock_dp(s->srv, 0);
	/* SRV_DONE: a DMA_UNMAP done whose reply is held. */
	if (ret == 0 || ret == SRV_DONE)
		srv_update(s->srv, c->update);
	else if (ret == SRV_UNCHANGED)
		ret = 0;
	return ret;
}

/* Returns 0, or a negative value to close the connection. */
int
srv_process(struct srv_session *s, struct vfio_user_msg *msg)
{
	struct vfio_user_server *srv = s->srv;
	uint32_t type = vfio_user_msg_type(msg);
	uint16_t cmd = msg->hdr.cmd;
	const struct srv_cmd *c;
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
	} else if (cmd == VFIO_USER_VERSION && s->negotiated) {
		ret = -EINVAL; /* once per session */
	} else if (msg->nr_fds > srv_cmds[cmd].max_fds) {
		ret = -EINVAL;
	} else if (!srv_len_ok(&srv_cmds[cmd].len, msg->len)) {
		ret = -EINVAL;
		if (srv_cmds[cmd].len.rule == SRV_LEN_HELLO) {
			VFIO_USER_SRV_LOG(INFO, srv->path, "%s of %u bytes, closing",
					srv_cmds[cmd].name, msg->len);
			ret = SRV_CLOSE;
		}
	} else {
		c = &srv_cmds[cmd];
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "%s id %u size %u fds %u",
				c->name, msg->hdr.msg_id, msg->hdr.size, msg->nr_fds);
		ret = srv_run(s, c, msg, &rep);
	}
	/* Descriptors no handler took are not kept. */
	vfio_user_msg_close_fds(msg);
	vfio_user_tel_srv_cmd(&srv->stats, msg, ret < 0 || ret == SRV_CLOSE);

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
int
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

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server data path: what the device calls from its own threads. Interrupts
 * (with the mask state the client sets), the DMA table (IOVA translation,
 * copies, DMA_READ/DMA_WRITE messages for windows without a mapping).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "vfio_user_server.h"

/*
 * Interrupts
 */

/* irq_lock held */
int
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
void
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
void
srv_irq_vec_reset(struct srv_irq_vec *v)
{
	srv_close_fd(&v->trigger);
	srv_close_fd(&v->mask_fd);
	srv_close_fd(&v->unmask_fd);
	v->masked = false;
	v->pending = false;
}

/* Drop the client's interrupt configuration (on disconnect). */
void
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
 * Public API: data path
 */

const struct rte_vfio_user_mem_table *
rte_vfio_user_get_mem_table(int dev_id)
{
	const struct rte_vfio_user_mem_table *tbl = NULL;
	struct vfio_user_server *srv;

	pthread_rwlock_rdlock(&srv_id_lock);
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
	pthread_rwlock_unlock(&srv_id_lock);
	return tbl;
}

int
rte_vfio_user_get_irq(int dev_id, uint32_t index, uint32_t count, int *fds)
{
	struct vfio_user_server *srv;
	uint32_t i;
	int ret = 0;

	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		ret = -ENODEV;
	} else if (fds == NULL) {
		ret = -EINVAL;
	} else {
		/* The descriptions may be replaced while the device is stopped. */
		pthread_mutex_lock(&srv->irq_lock);
		if (index >= srv->nr_irqs || count > srv->irqs[index].info.count)
			ret = -EINVAL;
		else
			for (i = 0; i < count; i++)
				fds[i] = srv->irqs[index].vec[i].trigger;
		pthread_mutex_unlock(&srv->irq_lock);
	}
	pthread_rwlock_unlock(&srv_id_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_irq_trigger(int dev_id, uint32_t index, uint32_t subindex)
{
	struct vfio_user_server *srv;
	int ret;

	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		ret = -ENODEV;
	} else {
		pthread_mutex_lock(&srv->irq_lock);
		if (index >= srv->nr_irqs || subindex >= srv->irqs[index].info.count)
			ret = -EINVAL;
		else
			ret = srv_irq_fire(&srv->irqs[index].vec[subindex]);
		pthread_mutex_unlock(&srv->irq_lock);
	}
	pthread_rwlock_unlock(&srv_id_lock);
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

	pthread_rwlock_rdlock(&srv_id_lock);
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
	pthread_rwlock_unlock(&srv_id_lock);
	if (err != 0)
		rte_errno = err;
	return va;
}

/*
 * Control thread. Without a twin socket, a thread waiting for a DMA reply
 * needs the control thread to read it, while the device's lock_dp(1) may
 * wait for that thread: message DMA fails with -EAGAIN until lock_dp(0).
 */
void
srv_lock_dp(struct vfio_user_server *srv, int lock)
{
	struct srv_session *s = srv->sess;
	bool hold = s != NULL && !s->twin_ok;

	if (srv->ops.lock_dp == NULL)
		return;
	if (lock && hold)
		vfio_user_chan_hold(&s->chan, EAGAIN);
	srv->ops.lock_dp(srv->dev_id, lock);
	if (!lock && hold)
		vfio_user_chan_hold(&s->chan, 0);
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
		vfio_user_tel_dma(&s->srv->stats, write, ret < 0);
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

bool
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

/* A write done by messages, the DMA table unlocked meanwhile: log it. */
static void
srv_dma_mark(struct vfio_user_server *srv, struct srv_session *s, uint64_t iova, uint64_t len)
{
	pthread_rwlock_rdlock(&srv->dp_lock);
	if (unlikely(s->dirty != NULL))
		vfio_user_dirty_mark(s->dirty, iova, len);
	pthread_rwlock_unlock(&srv->dp_lock);
}

static int
srv_dma_rw(int dev_id, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	uint32_t prot = write ? PROT_WRITE : PROT_READ;
	const struct rte_vfio_user_mem_reg *w;
	struct vfio_user_server *srv;
	struct srv_session *s;
	uint64_t n, off;
	uint32_t epoch;
	int ret;

	if (buf == NULL)
		return -EINVAL;
	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		pthread_rwlock_unlock(&srv_id_lock);
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
	if (ret == 0) {
		if (write && unlikely(s->dirty != NULL))
			vfio_user_dirty_mark(s->dirty, iova, len);
		goto unlock;
	}
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
	pthread_rwlock_unlock(&srv_id_lock);

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
			if (write && unlikely(s->dirty != NULL))
				vfio_user_dirty_mark(s->dirty, iova, n);
			pthread_rwlock_unlock(&srv->dp_lock);
		} else {
			/* Counted before the lock goes: a DMA_UNMAP now waits for it. */
			epoch = s->dma_epoch & 1;
			__atomic_fetch_add(&s->dma_inflight[epoch], 1, __ATOMIC_SEQ_CST);
			pthread_rwlock_unlock(&srv->dp_lock);
			ret = srv_dma_msg(s, iova, buf, n, write);
			if (ret == 0 && write)
				srv_dma_mark(srv, s, iova, n);
			if (__atomic_sub_fetch(&s->dma_inflight[epoch], 1, __ATOMIC_SEQ_CST) == 0 &&
					__atomic_load_n(&s->unmap_held, __ATOMIC_SEQ_CST))
				srv_kick(s, 0);
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
	pthread_rwlock_unlock(&srv_id_lock);
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

int
rte_vfio_user_dma_mark_dirty(int dev_id, uint64_t iova, uint64_t len)
{
	struct vfio_user_server *srv;
	struct srv_session *s;
	int ret = 0;

	if (dev_id < 0)
		return vfio_user_err(-ENODEV);
	if (len != 0 && len - 1 > UINT64_MAX - iova)
		return vfio_user_err(-EFAULT);
	/* Called per frame by data paths: while nothing logs, no lock and no lookup. */
	if (len == 0 || likely(__atomic_load_n(&srv_mig_logging, __ATOMIC_ACQUIRE) == 0))
		return 0;
	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL) {
		pthread_rwlock_unlock(&srv_id_lock);
		return vfio_user_err(-ENODEV);
	}
	pthread_rwlock_rdlock(&srv->dp_lock);
	s = srv->sess;
	if (s == NULL)
		ret = -ENOTCONN;
	else if (unlikely(s->dirty != NULL))
		vfio_user_dirty_mark(s->dirty, iova, len);
	pthread_rwlock_unlock(&srv->dp_lock);
	pthread_rwlock_unlock(&srv_id_lock);
	return vfio_user_err(ret);
}

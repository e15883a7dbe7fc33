/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DMA of the vfio_user bus: DPDK memory seen by the device at DPDK's IOVA.
 *
 * At attach every memory segment is given to the server (DMA_MAP with EAL's
 * fd where there is one), merged into windows while segments continue each
 * other; a memory event callback follows EAL's memory hotplug, and the bus
 * dma_map/dma_unmap ops add and remove external memory. The windows are kept
 * per device, under vfio_user_bus_lock, because an unmap must name a mapping
 * exactly.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "vfio_user_bus_private.h"

#define VU_MEM_EVENT_NAME "vfio_user_bus"

/* The memory event callback is registered while some device is attached. */
static bool vu_mem_cb_registered;

static int
vu_win_add(struct vu_dev *vd, const struct vu_window *w)
{
	struct vu_window *wins;
	uint32_t cap;

	if (vd->nr_wins == vd->cap_wins) {
		cap = vd->cap_wins ? vd->cap_wins * 2 : 8;
		wins = realloc(vd->wins, sizeof(*wins) * cap);
		if (wins == NULL)
			return -ENOMEM;
		vd->wins = wins;
		vd->cap_wins = cap;
	}
	vd->wins[vd->nr_wins++] = *w;
	return 0;
}

/* Give one window to the server and remember it; called under vfio_user_bus_lock. */
static int
vu_dma_map_win(struct vu_dev *vd, const struct vu_window *w)
{
	struct rte_vfio_user_mem_reg reg = {
		.iova = w->iova,
		.size = w->len,
		.fd_offset = w->fd >= 0 ? w->offset : 0,
		.prot = PROT_READ | PROT_WRITE,
		.fd = -1,
		.vaddr = w->va,
	};
	int fd = w->fd;
	int ret;

	ret = vu_win_add(vd, w);
	if (ret < 0)
		return ret;
	ret = rte_vfio_user_dma_map(vd->dev.dev_id, &reg, &fd, 1);
	if (ret < 0) {
		vd->nr_wins--;
		VFIO_USER_BUS_LOG(ERR, "%s: DMA map of iova 0x%" PRIx64 " len 0x%" PRIx64
			" failed: %s", vd->dev.device.name, w->iova, w->len, strerror(-ret));
		return ret;
	}
	VFIO_USER_BUS_LOG(DEBUG, "%s: mapped iova 0x%" PRIx64 " len 0x%" PRIx64 " fd %d",
		vd->dev.device.name, w->iova, w->len, w->fd);
	return 0;
}

/* Segments are merged into one window while they continue each other. */
struct vu_map_ctx {
	struct vu_dev *vd;
	const struct rte_memseg_list *msl;
	struct vu_window w;
	bool pending;
	int ret;
};

static void
vu_ctx_flush(struct vu_map_ctx *ctx)
{
	int ret;

	if (!ctx->pending)
		return;
	ctx->pending = false;
	ret = vu_dma_map_win(ctx->vd, &ctx->w);
	if (ret < 0 && ctx->ret == 0)
		ctx->ret = ret;
}

static void
vu_ctx_add(struct vu_map_ctx *ctx, const struct rte_memseg_list *msl,
		const struct rte_memseg *ms)
{
	struct vu_window *w = &ctx->w;
	size_t off = 0;
	int fd;

	if (ms->iova == RTE_BAD_IOVA || ms->len == 0)
		return;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0) {
		fd = -1;
		off = 0;
	}
	if (ctx->pending && ctx->msl == msl &&
			(uintptr_t)w->va + w->len == (uintptr_t)ms->addr &&
			w->iova + w->len == ms->iova && w->fd == fd &&
			(fd < 0 || w->offset + w->len == off)) {
		w->len += ms->len;
		return;
	}
	vu_ctx_flush(ctx);
	ctx->msl = msl;
	w->iova = ms->iova;
	w->len = ms->len;
	w->va = ms->addr;
	w->fd = fd;
	w->offset = off;
	ctx->pending = true;
}

static int
vu_walk_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	vu_ctx_add(arg, msl, ms);
	return 0;
}

/* Map all DPDK memory; EAL's memory lock and vfio_user_bus_lock are held. */
static int
vu_dma_map_all(struct vu_dev *vd)
{
	struct vu_map_ctx ctx = { .vd = vd };

	rte_memseg_walk_thread_unsafe(vu_walk_seg, &ctx);
	vu_ctx_flush(&ctx);
	return ctx.ret;
}

/* Memory [va, va + len) is about to be freed: take it away from the server. */
static void
vu_dma_unmap_range(struct vu_dev *vd, uintptr_t va, size_t len)
{
	struct rte_vfio_user_mem_reg reg;
	struct vu_window w, part;
	uintptr_t end = va + len;
	uint32_t i = 0;

	while (i < vd->nr_wins) {
		w = vd->wins[i];
		if ((uintptr_t)w.va >= end || (uintptr_t)w.va + w.len <= va) {
			i++;
			continue;
		}
		/* Unmap must match a mapping exactly: drop it, map back what stays. */
		memset(&reg, 0, sizeof(reg));
		reg.iova = w.iova;
		reg.size = w.len;
		if (rte_vfio_user_dma_unmap(vd->dev.dev_id, &reg, 1) < 0)
			VFIO_USER_BUS_LOG(WARNING, "%s: DMA unmap of iova 0x%" PRIx64 " failed",
				vd->dev.device.name, w.iova);
		vd->wins[i] = vd->wins[--vd->nr_wins];
		if ((uintptr_t)w.va < va) {
			part = w;
			part.len = va - (uintptr_t)w.va;
			vu_dma_map_win(vd, &part);
		}
		if ((uintptr_t)w.va + w.len > end) {
			part = w;
			part.va = (void *)end;
			part.iova = w.iova + (end - (uintptr_t)w.va);
			part.offset = w.offset + (end - (uintptr_t)w.va);
			part.len = (uintptr_t)w.va + w.len - end;
			vu_dma_map_win(vd, &part);
		}
		/* Re-added parts went to the end, outside the range: keep going from i. */
	}
}

/* EAL memory hotplug; runs with EAL's memory lock held. */
static void
vu_mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct rte_vfio_user_bus_device *dev;
	const struct rte_memseg_list *msl;
	const struct rte_memseg *ms;
	struct vu_map_ctx ctx;
	uintptr_t va;

	RTE_SET_USED(arg);
	msl = rte_mem_virt2memseg_list(addr);
	if (msl == NULL)
		return;
	pthread_mutex_lock(&vfio_user_bus_lock);
	TAILQ_FOREACH(dev, &vfio_user_bus_devices, next) {
		struct vu_dev *vd = vu_dev(dev);

		if (!vd->dma_ready || vu_removed(dev))
			continue;
		if (type == RTE_MEM_EVENT_FREE) {
			vu_dma_unmap_range(vd, (uintptr_t)addr, len);
			continue;
		}
		memset(&ctx, 0, sizeof(ctx));
		ctx.vd = vd;
		for (va = (uintptr_t)addr; va < (uintptr_t)addr + len; va += ms->len) {
			ms = rte_mem_virt2memseg((void *)va, msl);
			if (ms == NULL || ms->len == 0)
				break;
			vu_ctx_add(&ctx, msl, ms);
		}
		vu_ctx_flush(&ctx);
	}
	pthread_mutex_unlock(&vfio_user_bus_lock);
}

static bool
vu_any_attached(void)
{
	struct rte_vfio_user_bus_device *dev;

	TAILQ_FOREACH(dev, &vfio_user_bus_devices, next)
		if (vu_dev(dev)->dma_ready)
			return true;
	return false;
}

/* Map all DPDK memory into an attached device and follow memory events from now on. */
int
vfio_user_bus_dma_attach(struct vu_dev *vd)
{
	int ret;

	/* EAL's lock first: the memory event callback holds it when it takes ours. */
	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&vfio_user_bus_lock);
	ret = vu_dma_map_all(vd);
	vd->dma_ready = ret == 0;
	if (ret == 0 && !vu_mem_cb_registered) {
		/* Legacy memory (e.g. --no-huge) never changes: ENOTSUP is fine. */
		if (rte_mem_event_callback_register(VU_MEM_EVENT_NAME, vu_mem_event, NULL) == 0)
			vu_mem_cb_registered = true;
		else if (rte_errno != ENOTSUP)
			VFIO_USER_BUS_LOG(WARNING, "no memory event callback: %s",
				rte_strerror(rte_errno));
	}
	pthread_mutex_unlock(&vfio_user_bus_lock);
	rte_mcfg_mem_read_unlock();
	return ret;
}

/* Forget the windows of a device that goes; the last one stops the memory events. */
void
vfio_user_bus_dma_detach(struct vu_dev *vd)
{
	bool unregister = false;

	pthread_mutex_lock(&vfio_user_bus_lock);
	vd->dma_ready = false;
	free(vd->wins);
	vd->wins = NULL;
	vd->nr_wins = 0;
	vd->cap_wins = 0;
	if (vu_mem_cb_registered && !vu_any_attached()) {
		vu_mem_cb_registered = false;
		unregister = true;
	}
	pthread_mutex_unlock(&vfio_user_bus_lock);
	if (unregister)
		rte_mem_event_callback_unregister(VU_MEM_EVENT_NAME, NULL);
}

int
vfio_user_bus_dma_map(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct vu_dev *vd = vu_dev(RTE_DEV_TO_VFIO_USER_BUS(d));
	struct vu_window w = { .iova = iova, .len = len, .va = addr, .fd = -1 };
	int ret;

	pthread_mutex_lock(&vfio_user_bus_lock);
	ret = vd->dma_ready && !vu_removed(&vd->dev) ? vu_dma_map_win(vd, &w) : -ENODEV;
	pthread_mutex_unlock(&vfio_user_bus_lock);
	return ret < 0 ? (rte_errno = -ret, -1) : 0;
}

int
vfio_user_bus_dma_unmap(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct vu_dev *vd = vu_dev(RTE_DEV_TO_VFIO_USER_BUS(d));
	struct rte_vfio_user_mem_reg reg;
	int ret = -ENOENT;
	uint32_t i;

	pthread_mutex_lock(&vfio_user_bus_lock);
	for (i = 0; i < vd->nr_wins; i++) {
		if (vd->wins[i].iova != iova || vd->wins[i].len != len ||
				vd->wins[i].va != addr)
			continue;
		memset(&reg, 0, sizeof(reg));
		reg.iova = iova;
		reg.size = len;
		ret = vd->dma_ready ? rte_vfio_user_dma_unmap(vd->dev.dev_id, &reg, 1) : 0;
		vd->wins[i] = vd->wins[--vd->nr_wins];
		break;
	}
	pthread_mutex_unlock(&vfio_user_bus_lock);
	if (ret == -ENOTCONN)
		ret = 0;
	return ret < 0 ? (rte_errno = -ret, -1) : 0;
}

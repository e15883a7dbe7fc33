/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * dmadev PMD for the emulated DMA engine (emu_dma_regs.h) reached through the
 * vfio_user bus. One dmadev vchan drives one engine channel. Descriptors live
 * in DPDK memory, which the bus maps into the device; the doorbell is a store
 * to the mmapped control BAR and completions are read from the descriptors'
 * status words, so the data path sends no message when BAR0 is mappable.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_dmadev_pmd.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <bus_vfio_user_driver.h>
#include <emu_dma_regs.h>

RTE_LOG_REGISTER_DEFAULT(vu_dma_logtype, NOTICE);

#define VU_DMA_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vu_dma_logtype, "%s(): " fmt "\n", __func__, ##__VA_ARGS__)

/* Job ids and burst capacities are uint16_t: a full larger ring would not fit. */
#define VU_DMA_MAX_DESC		32768
/*
 * How long a register handshake with the engine may take: the engine polls
 * on a core of another process, which a loaded machine may starve for a while.
 */
#define VU_DMA_TIMEOUT_US	(5 * 1000 * 1000)
#define VU_DMA_MAJOR(v)		((v) >> 16)

/** One vchan = one engine channel. Hot fields first. */
struct vu_dma_vchan {
	struct emu_dma_desc *ring;	/* size descriptors, DMA memory. */
	uint32_t mask;			/* size - 1. */
	/*
	 * Free-running counts (mod 2^32, like the engine's DOORBELL): written
	 * by the driver, posted to the engine, handed back to the application.
	 * head <= submitted <= tail, tail - head <= size. Job id = (uint16_t)count.
	 */
	uint32_t tail;
	uint32_t submitted;
	uint32_t head;
	volatile uint32_t *doorbell;	/* In the mapped BAR, NULL if not mapped. */
	const volatile bool *removed;	/* The bus device's removed flag. */
	const volatile bool *away;	/* The bus device's away flag (reconnecting). */
	struct vu_dma *vd;
	uint16_t chan;
	uint32_t size;
	rte_iova_t ring_iova;
	struct rte_dma_stats stats;
} __rte_cache_aligned;

/** dev_private of a dmadev. */
struct vu_dma {
	struct rte_vfio_user_bus_device *vdev;
	volatile uint8_t *bar;		/* BAR0 mapping, NULL: use messages. */
	uint32_t num_channels;
	uint32_t caps;
	uint32_t max_ring;		/* Power of two, <= VU_DMA_MAX_DESC. */
	uint32_t max_xfer;
	uint16_t nb_vchans;
	bool started;			/* Channels enabled by dev_start. */
	struct vu_dma_vchan vc[EMU_DMA_MAX_CHANNELS];
};

/* Register access: the mapping when there is one, region messages else. */
static int
vu_dma_reg_read(const struct vu_dma *vd, uint32_t off, uint32_t *val)
{
	uint32_t v;

	if (vd->bar != NULL) {
		v = *(volatile const uint32_t *)(vd->bar + off);
	} else if (rte_vfio_user_bus_dev_region_read(vd->vdev, EMU_DMA_CTRL_BAR, off,
			&v, sizeof(v)) != sizeof(v)) {
		return -EIO;
	}
	*val = rte_le_to_cpu_32(v);
	return 0;
}

static int
vu_dma_reg_write(const struct vu_dma *vd, uint32_t off, uint32_t val)
{
	uint32_t v = rte_cpu_to_le_32(val);

	if (vd->bar != NULL) {
		rte_io_wmb();
		*(volatile uint32_t *)(vd->bar + off) = v;
		return 0;
	}
	if (rte_vfio_user_bus_dev_region_write(vd->vdev, EMU_DMA_CTRL_BAR, off, &v,
			sizeof(v)) != sizeof(v))
		return -EIO;
	return 0;
}

/* 0, or the error of a data path call: -ENODEV once removed, -ENOTCONN while away. */
static inline int
vu_dma_unusable(const struct vu_dma_vchan *vc)
{
	if (unlikely(__atomic_load_n(vc->removed, __ATOMIC_RELAXED)))
		return -ENODEV;
	if (unlikely(__atomic_load_n(vc->away, __ATOMIC_ACQUIRE)))
		return -ENOTCONN;
	return 0;
}

/*
 * Poll a register until (value & mask) == want; fail when a bit of fail_mask
 * shows up, the server goes away or the timeout passes.
 */
static int
vu_dma_reg_wait(const struct vu_dma *vd, uint32_t off, uint32_t mask, uint32_t want,
		uint32_t fail_mask)
{
	uint64_t end = rte_get_timer_cycles() +
		rte_get_timer_hz() * (VU_DMA_TIMEOUT_US / 1000) / 1000;
	uint32_t v = 0;
	int ret;

	for (;;) {
		ret = vu_dma_reg_read(vd, off, &v);
		if (ret != 0)
			return ret;
		if ((v & mask) == want)
			return 0;
		if (v & fail_mask)
			return -EINVAL;
		if (__atomic_load_n(&vd->vdev->removed, __ATOMIC_RELAXED))
			return -ENODEV;
		if (rte_get_timer_cycles() > end)
			return -ETIMEDOUT;
		rte_delay_us_sleep(50);
	}
}

static inline uint16_t
vu_dma_free_slots(const struct vu_dma_vchan *vc)
{
	return vc->size - (vc->tail - vc->head);
}

static inline void
vu_dma_ring_doorbell(struct vu_dma_vchan *vc)
{
	uint32_t n = vc->tail - vc->submitted;

	if (n == 0)
		return;
	vc->submitted = vc->tail;
	vc->stats.submitted += n;
	if (likely(vc->doorbell != NULL)) {
		/* Descriptors are plain stores: publish them before the count. */
		rte_io_wmb();
		*vc->doorbell = rte_cpu_to_le_32(vc->submitted);
	} else {
		vu_dma_reg_write(vc->vd, EMU_DMA_CHAN_BASE(vc->chan) + EMU_DMA_CHAN_DOORBELL,
				vc->submitted);
	}
}

static inline int
vu_dma_enqueue(struct vu_dma_vchan *vc, uint8_t op, uint64_t src, rte_iova_t dst,
		uint32_t length, uint64_t flags)
{
	struct emu_dma_desc *d;
	uint32_t id;
	int ret;

	ret = vu_dma_unusable(vc);
	if (unlikely(ret != 0))
		return ret;
	if (unlikely(vc->tail - vc->head >= vc->size))
		return -ENOSPC;

	id = vc->tail++;
	d = &vc->ring[id & vc->mask];
	d->src = rte_cpu_to_le_64(src);
	d->dst = rte_cpu_to_le_64(dst);
	d->len = rte_cpu_to_le_32(length);
	d->op = op;
	d->flags = (flags & RTE_DMA_OP_FLAG_FENCE) ? EMU_DMA_DESC_FLAG_FENCE : 0;
	d->status = EMU_DMA_STATUS_PENDING;
	d->user = 0;

	if (flags & RTE_DMA_OP_FLAG_SUBMIT)
		vu_dma_ring_doorbell(vc);
	return (uint16_t)id;
}

static int
vu_dma_copy(void *dev_private, uint16_t vchan, rte_iova_t src, rte_iova_t dst,
		uint32_t length, uint64_t flags)
{
	struct vu_dma *vd = dev_private;

	return vu_dma_enqueue(&vd->vc[vchan], EMU_DMA_OP_COPY, src, dst, length, flags);
}

static int
vu_dma_fill(void *dev_private, uint16_t vchan, uint64_t pattern, rte_iova_t dst,
		uint32_t length, uint64_t flags)
{
	struct vu_dma *vd = dev_private;

	return vu_dma_enqueue(&vd->vc[vchan], EMU_DMA_OP_FILL, pattern, dst, length, flags);
}

/* Installed when the engine does not announce EMU_DMA_CAP_FILL. */
static int
vu_dma_fill_unsupported(void *dev_private __rte_unused, uint16_t vchan __rte_unused,
		uint64_t pattern __rte_unused, rte_iova_t dst __rte_unused,
		uint32_t length __rte_unused, uint64_t flags __rte_unused)
{
	return -ENOTSUP;
}

static int
vu_dma_submit(void *dev_private, uint16_t vchan)
{
	struct vu_dma *vd = dev_private;
	struct vu_dma_vchan *vc = &vd->vc[vchan];
	int ret;

	ret = vu_dma_unusable(vc);
	if (unlikely(ret != 0))
		return ret;
	vu_dma_ring_doorbell(vc);
	return 0;
}

/* Status of the oldest job not handed back, PENDING while there is none done. */
static inline uint16_t
vu_dma_head_status(const struct vu_dma_vchan *vc)
{
	const struct emu_dma_desc *d;

	if (vc->head == vc->submitted)
		return EMU_DMA_STATUS_PENDING;
	d = &vc->ring[vc->head & vc->mask];
	/* Acquire: the data the engine wrote before the status is visible. */
	return rte_le_to_cpu_16(__atomic_load_n(&d->status, __ATOMIC_ACQUIRE));
}

/* Hand back the n jobs just retired from the head. */
static inline uint16_t
vu_dma_retired(struct vu_dma_vchan *vc, uint16_t n, uint16_t *last_idx)
{
	vc->stats.completed += n;
	*last_idx = (uint16_t)(vc->head - 1);
	return n;
}

/*
 * Return successful jobs up to the first failed one, which stays at the head
 * until completed_status() reports it: so an error is reported again by every
 * call until then, as dmadev's error-handling contract wants.
 */
static uint16_t
vu_dma_completed(void *dev_private, uint16_t vchan, const uint16_t nb_cpls,
		uint16_t *last_idx, bool *has_error)
{
	struct vu_dma *vd = dev_private;
	struct vu_dma_vchan *vc = &vd->vc[vchan];
	uint16_t n = 0;
	uint16_t st;

	while (n < nb_cpls && (st = vu_dma_head_status(vc)) != EMU_DMA_STATUS_PENDING) {
		if (unlikely(st != EMU_DMA_STATUS_SUCCESS)) {
			*has_error = true;
			break;
		}
		vc->head++;
		n++;
	}
	return vu_dma_retired(vc, n, last_idx);
}

static inline enum rte_dma_status_code
vu_dma_status_code(uint16_t st)
{
	switch (st) {
	case EMU_DMA_STATUS_SUCCESS:
		return RTE_DMA_STATUS_SUCCESSFUL;
	case EMU_DMA_STATUS_ERR_SRC:
		return RTE_DMA_STATUS_INVALID_SRC_ADDR;
	case EMU_DMA_STATUS_ERR_DST:
		return RTE_DMA_STATUS_INVALID_DST_ADDR;
	case EMU_DMA_STATUS_ERR_LEN:
		return RTE_DMA_STATUS_INVALID_LENGTH;
	case EMU_DMA_STATUS_ERR_OP:
		return RTE_DMA_STATUS_INVALID_OPCODE;
	default:
		/* Any other value the engine writes is a failure of unknown kind. */
		return RTE_DMA_STATUS_ERROR_UNKNOWN;
	}
}

static uint16_t
vu_dma_completed_status(void *dev_private, uint16_t vchan, const uint16_t nb_cpls,
		uint16_t *last_idx, enum rte_dma_status_code *status)
{
	struct vu_dma *vd = dev_private;
	struct vu_dma_vchan *vc = &vd->vc[vchan];
	uint16_t n = 0;
	uint16_t st;

	while (n < nb_cpls && (st = vu_dma_head_status(vc)) != EMU_DMA_STATUS_PENDING) {
		status[n] = vu_dma_status_code(st);
		if (status[n] != RTE_DMA_STATUS_SUCCESSFUL)
			vc->stats.errors++;
		vc->head++;
		n++;
	}
	return vu_dma_retired(vc, n, last_idx);
}

static uint16_t
vu_dma_burst_capacity(const void *dev_private, uint16_t vchan)
{
	const struct vu_dma *vd = dev_private;

	return vu_dma_free_slots(&vd->vc[vchan]);
}

static int
vu_dma_info_get(const struct rte_dma_dev *dev, struct rte_dma_info *info,
		uint32_t info_sz __rte_unused)
{
	const struct vu_dma *vd = dev->data->dev_private;

	info->dev_capa = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY |
		RTE_DMA_CAPA_HANDLES_ERRORS;
	if (vd->caps & EMU_DMA_CAP_FILL)
		info->dev_capa |= RTE_DMA_CAPA_OPS_FILL;
	info->max_vchans = vd->num_channels;
	info->max_desc = vd->max_ring;
	info->min_desc = EMU_DMA_MIN_RING_SIZE;
	info->max_sges = 0;
	return 0;
}

static int
vu_dma_configure(struct rte_dma_dev *dev, const struct rte_dma_conf *conf,
		uint32_t conf_sz __rte_unused)
{
	struct vu_dma *vd = dev->data->dev_private;

	/* dmadev checked nb_vchans against max_vchans and refused silent mode. */
	vd->nb_vchans = conf->nb_vchans;
	return 0;
}

static int
vu_dma_vchan_setup(struct rte_dma_dev *dev, uint16_t vchan,
		const struct rte_dma_vchan_conf *conf, uint32_t conf_sz __rte_unused)
{
	struct vu_dma *vd = dev->data->dev_private;
	struct vu_dma_vchan *vc = &vd->vc[vchan];
	uint32_t size = rte_align32pow2(RTE_MAX(conf->nb_desc,
			(uint16_t)EMU_DMA_MIN_RING_SIZE));
	struct emu_dma_desc *ring;
	rte_iova_t iova;

	if (conf->direction != RTE_DMA_DIR_MEM_TO_MEM)
		return -EINVAL;
	size = RTE_MIN(size, vd->max_ring);
	ring = rte_zmalloc_socket("vu_dma_ring", size * sizeof(*ring), RTE_CACHE_LINE_SIZE,
			dev->device->numa_node);
	if (ring == NULL) {
		VU_DMA_LOG(ERR, "%s: no memory for a ring of %u descriptors",
				dev->data->dev_name, size);
		return -ENOMEM;
	}
	iova = rte_malloc_virt2iova(ring);
	if (iova == RTE_BAD_IOVA) {
		VU_DMA_LOG(ERR, "%s: ring memory has no IOVA", dev->data->dev_name);
		rte_free(ring);
		return -EFAULT;
	}
	rte_free(vc->ring);
	vc->ring = ring;
	vc->ring_iova = iova;
	vc->size = size;
	vc->mask = size - 1;
	vc->tail = vc->submitted = vc->head = 0;
	memset(&vc->stats, 0, sizeof(vc->stats));
	return 0;
}

/* Disable a channel and wait until the engine saw it (STATUS reads 0). */
static int
vu_dma_chan_disable(struct vu_dma *vd, uint16_t chan)
{
	uint32_t base = EMU_DMA_CHAN_BASE(chan);
	int ret;

	ret = vu_dma_reg_write(vd, base + EMU_DMA_CHAN_CTRL, 0);
	if (ret == 0)
		ret = vu_dma_reg_wait(vd, base + EMU_DMA_CHAN_STATUS,
				EMU_DMA_CHAN_STATUS_ACTIVE | EMU_DMA_CHAN_STATUS_BUSY |
				EMU_DMA_CHAN_STATUS_RING_ERROR, 0, 0);
	return ret;
}

/* Start a channel whose engine count begins at start (0, or a resumed ring's head). */
static int
vu_dma_chan_enable(struct vu_dma *vd, struct vu_dma_vchan *vc, uint32_t start)
{
	uint32_t base = EMU_DMA_CHAN_BASE(vc->chan);
	int ret;

	ret = vu_dma_chan_disable(vd, vc->chan);
	if (ret != 0)
		return ret;
	if (vu_dma_reg_write(vd, base + EMU_DMA_CHAN_RING_LO, (uint32_t)vc->ring_iova) != 0 ||
	    vu_dma_reg_write(vd, base + EMU_DMA_CHAN_RING_HI,
			(uint32_t)(vc->ring_iova >> 32)) != 0 ||
	    vu_dma_reg_write(vd, base + EMU_DMA_CHAN_RING_SIZE, vc->size) != 0 ||
	    vu_dma_reg_write(vd, base + EMU_DMA_CHAN_DOORBELL, start) != 0 ||
	    vu_dma_reg_write(vd, base + EMU_DMA_CHAN_CTRL, EMU_DMA_CHAN_CTRL_ENABLE) != 0)
		return -EIO;
	return vu_dma_reg_wait(vd, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_ACTIVE,
			EMU_DMA_CHAN_STATUS_ACTIVE, EMU_DMA_CHAN_STATUS_RING_ERROR);
}

static int
vu_dma_stop(struct rte_dma_dev *dev)
{
	struct vu_dma *vd = dev->data->dev_private;
	uint16_t i;

	vd->started = false;
	for (i = 0; i < vd->nb_vchans; i++) {
		/* A device whose server is gone has nothing left to stop. */
		if (__atomic_load_n(&vd->vdev->removed, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&vd->vdev->away, __ATOMIC_ACQUIRE))
			break;
		if (vu_dma_chan_disable(vd, i) != 0)
			VU_DMA_LOG(WARNING, "%s: channel %u did not stop",
					dev->data->dev_name, i);
	}
	return 0;
}

static int
vu_dma_start(struct rte_dma_dev *dev)
{
	struct vu_dma *vd = dev->data->dev_private;
	struct vu_dma_vchan *vc;
	uint32_t st = 0;
	uint16_t i;
	int ret;

	if (__atomic_load_n(&vd->vdev->removed, __ATOMIC_RELAXED))
		return -ENODEV;
	if (__atomic_load_n(&vd->vdev->away, __ATOMIC_ACQUIRE))
		return -ENOTCONN;
	if (vu_dma_reg_read(vd, EMU_DMA_REG_DEV_STATUS, &st) != 0 ||
	    !(st & EMU_DMA_DEV_STATUS_READY))
		VU_DMA_LOG(WARNING, "%s: engine not polling yet", dev->data->dev_name);
	for (i = 0; i < vd->nb_vchans; i++) {
		vc = &vd->vc[i];
		if (vc->ring == NULL) {
			VU_DMA_LOG(ERR, "%s: vchan %u not set up", dev->data->dev_name, i);
			ret = -EINVAL;
			goto fail;
		}
		vc->tail = vc->submitted = vc->head = 0;
		ret = vu_dma_chan_enable(vd, vc, 0);
		if (ret != 0) {
			VU_DMA_LOG(ERR, "%s: channel %u refused its ring (%s)",
					dev->data->dev_name, i, strerror(-ret));
			goto fail;
		}
	}
	vd->started = true;
	return 0;
fail:
	vu_dma_stop(dev);
	return ret;
}

static void
vu_dma_free_rings(struct vu_dma *vd)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(vd->vc); i++) {
		rte_free(vd->vc[i].ring);
		vd->vc[i].ring = NULL;
	}
}

static int
vu_dma_close(struct rte_dma_dev *dev)
{
	vu_dma_free_rings(dev->data->dev_private);
	return 0;
}

static int
vu_dma_stats_get(const struct rte_dma_dev *dev, uint16_t vchan,
		struct rte_dma_stats *stats, uint32_t stats_sz __rte_unused)
{
	const struct vu_dma *vd = dev->data->dev_private;
	uint16_t i;

	if (vchan != RTE_DMA_ALL_VCHAN) {
		*stats = vd->vc[vchan].stats;
		return 0;
	}
	memset(stats, 0, sizeof(*stats));
	for (i = 0; i < vd->nb_vchans; i++) {
		stats->submitted += vd->vc[i].stats.submitted;
		stats->completed += vd->vc[i].stats.completed;
		stats->errors += vd->vc[i].stats.errors;
	}
	return 0;
}

static int
vu_dma_stats_reset(struct rte_dma_dev *dev, uint16_t vchan)
{
	struct vu_dma *vd = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < vd->nb_vchans; i++)
		if (vchan == RTE_DMA_ALL_VCHAN || vchan == i)
			memset(&vd->vc[i].stats, 0, sizeof(vd->vc[i].stats));
	return 0;
}

static int
vu_dma_vchan_status(const struct rte_dma_dev *dev, uint16_t vchan,
		enum rte_dma_vchan_status *status)
{
	const struct vu_dma *vd = dev->data->dev_private;
	const struct vu_dma_vchan *vc = &vd->vc[vchan];
	uint32_t done = 0;

	if (__atomic_load_n(&vd->vdev->removed, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&vd->vdev->away, __ATOMIC_ACQUIRE) ||
	    vu_dma_reg_read(vd, EMU_DMA_CHAN_BASE(vchan) + EMU_DMA_CHAN_COMPLETED, &done) != 0) {
		*status = RTE_DMA_VCHAN_HALTED_ERROR;
		return 0;
	}
	*status = done != vc->submitted ? RTE_DMA_VCHAN_ACTIVE : RTE_DMA_VCHAN_IDLE;
	return 0;
}

static int
vu_dma_dump(const struct rte_dma_dev *dev, FILE *f)
{
	const struct vu_dma *vd = dev->data->dev_private;
	uint32_t ctrl, st, db, done;
	uint16_t i;

	fprintf(f, "  vfio_user device: %s, socket %s%s\n", vd->vdev->device.name,
			vd->vdev->path, vd->vdev->removed ? " (removed)" : "");
	fprintf(f, "  control BAR: %s\n", vd->bar != NULL ? "mapped" : "message access");
	fprintf(f, "  engine: %u channels, caps 0x%x, max ring %u, max transfer %u\n",
			vd->num_channels, vd->caps, vd->max_ring, vd->max_xfer);
	for (i = 0; i < vd->nb_vchans; i++) {
		const struct vu_dma_vchan *vc = &vd->vc[i];
		uint32_t base = EMU_DMA_CHAN_BASE(i);

		fprintf(f, "  vchan %u: ring %u at iova 0x%" PRIx64
				", written %u, submitted %u, returned %u\n",
				i, vc->size, (uint64_t)vc->ring_iova, vc->tail, vc->submitted,
				vc->head);
		fprintf(f, "    stats: submitted %" PRIu64 ", completed %" PRIu64
				", errors %" PRIu64 "\n", vc->stats.submitted,
				vc->stats.completed, vc->stats.errors);
		if (vd->vdev->removed ||
		    vu_dma_reg_read(vd, base + EMU_DMA_CHAN_CTRL, &ctrl) != 0 ||
		    vu_dma_reg_read(vd, base + EMU_DMA_CHAN_STATUS, &st) != 0 ||
		    vu_dma_reg_read(vd, base + EMU_DMA_CHAN_DOORBELL, &db) != 0 ||
		    vu_dma_reg_read(vd, base + EMU_DMA_CHAN_COMPLETED, &done) != 0) {
			fprintf(f, "    registers: unreadable\n");
			continue;
		}
		fprintf(f, "    registers: ctrl 0x%x, status 0x%x, doorbell %u, completed %u\n",
				ctrl, st, db, done);
	}
	return 0;
}

static const struct rte_dma_dev_ops vu_dma_ops = {
	.dev_info_get = vu_dma_info_get,
	.dev_configure = vu_dma_configure,
	.dev_start = vu_dma_start,
	.dev_stop = vu_dma_stop,
	.dev_close = vu_dma_close,
	.vchan_setup = vu_dma_vchan_setup,
	.stats_get = vu_dma_stats_get,
	.stats_reset = vu_dma_stats_reset,
	.vchan_status = vu_dma_vchan_status,
	.dev_dump = vu_dma_dump,
};

/* Read the identification registers and refuse an engine we cannot drive. */
static int
vu_dma_check_engine(struct vu_dma *vd, const char *name)
{
	uint32_t magic, version, nch, caps, max_ring, max_xfer;

	if (vu_dma_reg_read(vd, EMU_DMA_REG_MAGIC, &magic) != 0 ||
	    vu_dma_reg_read(vd, EMU_DMA_REG_VERSION, &version) != 0 ||
	    vu_dma_reg_read(vd, EMU_DMA_REG_NUM_CHANNELS, &nch) != 0 ||
	    vu_dma_reg_read(vd, EMU_DMA_REG_CAPS, &caps) != 0 ||
	    vu_dma_reg_read(vd, EMU_DMA_REG_MAX_RING_SIZE, &max_ring) != 0 ||
	    vu_dma_reg_read(vd, EMU_DMA_REG_MAX_XFER, &max_xfer) != 0) {
		VU_DMA_LOG(ERR, "%s: cannot read the control registers", name);
		return -EIO;
	}
	if (magic != EMU_DMA_MAGIC_VALUE ||
	    VU_DMA_MAJOR(version) != VU_DMA_MAJOR(EMU_DMA_VERSION_VALUE)) {
		VU_DMA_LOG(ERR, "%s: not an emu_dma engine (magic 0x%x, version 0x%x)",
				name, magic, version);
		return -ENODEV;
	}
	if (nch == 0 || nch > EMU_DMA_MAX_CHANNELS || !(caps & EMU_DMA_CAP_COPY) ||
	    max_ring < EMU_DMA_MIN_RING_SIZE || max_xfer == 0) {
		VU_DMA_LOG(ERR, "%s: unusable engine (%u channels, caps 0x%x, max ring %u, "
				"max transfer %u)", name, nch, caps, max_ring, max_xfer);
		return -EINVAL;
	}
	vd->num_channels = nch;
	vd->caps = caps;
	/* Largest power of two the engine and uint16_t job ids both allow. */
	max_ring = RTE_MIN(max_ring, (uint32_t)VU_DMA_MAX_DESC);
	vd->max_ring = rte_align32prevpow2(max_ring);
	vd->max_xfer = max_xfer;
	return 0;
}

static int
vu_dma_reset_engine(struct vu_dma *vd)
{
	int ret;

	ret = vu_dma_reg_write(vd, EMU_DMA_REG_DEV_CTRL, EMU_DMA_DEV_CTRL_RESET);
	if (ret == 0)
		ret = vu_dma_reg_wait(vd, EMU_DMA_REG_DEV_CTRL, EMU_DMA_DEV_CTRL_RESET, 0, 0);
	return ret;
}

static int
vu_dma_probe(struct rte_vfio_user_bus_device *vdev)
{
	const char *name = vdev->device.name;
	struct rte_dma_dev *dmadev;
	struct vu_dma probe_vd, *vd;
	uint16_t i;
	int ret;

	/* The engine state (rings, counters) lives in one process only. */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		VU_DMA_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	memset(&probe_vd, 0, sizeof(probe_vd));
	probe_vd.vdev = vdev;
	probe_vd.bar = rte_vfio_user_bus_dev_region_addr(vdev, EMU_DMA_CTRL_BAR, 0,
			EMU_DMA_CTRL_BAR_SIZE);
	if (probe_vd.bar == NULL)
		VU_DMA_LOG(NOTICE, "%s: control BAR not mapped, using region messages", name);
	ret = vu_dma_check_engine(&probe_vd, name);
	if (ret != 0)
		return ret;
	/* Start from idle channels, whatever a previous client left. */
	ret = vu_dma_reset_engine(&probe_vd);
	if (ret != 0) {
		VU_DMA_LOG(ERR, "%s: engine reset failed (%s)", name, strerror(-ret));
		return ret;
	}

	dmadev = rte_dma_pmd_allocate(name, vdev->device.numa_node, sizeof(*vd));
	if (dmadev == NULL) {
		VU_DMA_LOG(ERR, "%s: cannot allocate the dmadev", name);
		return -ENOMEM;
	}
	vd = dmadev->data->dev_private;
	*vd = probe_vd;
	for (i = 0; i < RTE_DIM(vd->vc); i++) {
		struct vu_dma_vchan *vc = &vd->vc[i];

		vc->vd = vd;
		vc->chan = i;
		vc->removed = &vdev->removed;
		vc->away = &vdev->away;
		if (vd->bar != NULL && i < vd->num_channels)
			vc->doorbell = (volatile uint32_t *)(vd->bar + EMU_DMA_CHAN_BASE(i) +
					EMU_DMA_CHAN_DOORBELL);
	}

	dmadev->device = &vdev->device;
	dmadev->dev_ops = &vu_dma_ops;
	dmadev->fp_obj->dev_private = vd;
	dmadev->fp_obj->copy = vu_dma_copy;
	dmadev->fp_obj->fill = (vd->caps & EMU_DMA_CAP_FILL) ? vu_dma_fill :
		vu_dma_fill_unsupported;
	dmadev->fp_obj->submit = vu_dma_submit;
	dmadev->fp_obj->completed = vu_dma_completed;
	dmadev->fp_obj->completed_status = vu_dma_completed_status;
	dmadev->fp_obj->burst_capacity = vu_dma_burst_capacity;
	dmadev->state = RTE_DMA_DEV_READY;

	VU_DMA_LOG(INFO, "%s: dmadev %d, %u channels, %s BAR", name, dmadev->data->dev_id,
			vd->num_channels, vd->bar != NULL ? "mapped" : "unmapped");
	return 0;
}

static int
vu_dma_remove(struct rte_vfio_user_bus_device *vdev)
{
	const char *name = vdev->device.name;
	struct vu_dma *vd;
	int id;

	id = rte_dma_get_dev_id_by_name(name);
	if (id < 0)
		return 0; /* The application closed it already. */
	vd = rte_dma_fp_objs[id].dev_private;
	if (vd->started)
		rte_dma_stop(id);
	return rte_dma_pmd_release(name);
}

/*
 * The server came back with a reset engine (on the EAL interrupt thread,
 * while the data path fails with -ENOTCONN and does not ring doorbells).
 * Each running channel is resumed at its first descriptor not completed:
 * the old engine completed in order and wrote each status last, so the
 * descriptors from there on are run (again) by the new one, and the jobs in
 * flight when the server died complete instead of being lost.
 */
static int
vu_dma_resume(struct vu_dma *vd, const char *name)
{
	struct vu_dma probe_vd = *vd;
	struct vu_dma_vchan *vc;
	uint32_t start, submitted;
	uint16_t i;
	int ret;

	ret = vu_dma_check_engine(&probe_vd, name);
	if (ret == 0 && (probe_vd.num_channels != vd->num_channels ||
			probe_vd.caps != vd->caps || probe_vd.max_ring != vd->max_ring))
		ret = -ENODEV;
	if (ret == 0)
		ret = vu_dma_reset_engine(vd);
	for (i = 0; ret == 0 && vd->started && i < vd->nb_vchans; i++) {
		vc = &vd->vc[i];
		/* The application may retire completed jobs meanwhile: head only grows. */
		submitted = vc->submitted;
		start = __atomic_load_n(&vc->head, __ATOMIC_RELAXED);
		while (start != submitted && __atomic_load_n(&vc->ring[start & vc->mask].status,
				__ATOMIC_ACQUIRE) != EMU_DMA_STATUS_PENDING)
			start++;
		ret = vu_dma_chan_enable(vd, vc, start);
		if (ret == 0 && start != submitted)
			ret = vu_dma_reg_write(vd, EMU_DMA_CHAN_BASE(i) + EMU_DMA_CHAN_DOORBELL,
					submitted);
		if (ret == 0)
			VU_DMA_LOG(INFO, "%s: vchan %u resumed, %u jobs run again", name, i,
					submitted - start);
	}
	return ret;
}

/*
 * The engine is back in the state saved when the application stopped it
 * (rte_vfio_user_mig_save_for_restart()), its channels and the jobs it knew
 * of included. Jobs submitted after that save were only in this driver's
 * rings: ring each doorbell again with what was submitted.
 */
static int
vu_dma_restored(struct vu_dma *vd)
{
	uint16_t i;
	int ret = 0;

	for (i = 0; ret == 0 && vd->started && i < vd->nb_vchans; i++)
		ret = vu_dma_reg_write(vd, EMU_DMA_CHAN_BASE(i) + EMU_DMA_CHAN_DOORBELL,
				vd->vc[i].submitted);
	return ret;
}

static int
vu_dma_event(struct rte_vfio_user_bus_device *vdev, enum rte_vfio_user_bus_event event)
{
	const char *name = vdev->device.name;
	int id, ret;

	id = rte_dma_get_dev_id_by_name(name);
	if (id < 0)
		return 0; /* The application closed it. */
	if (event == RTE_VFIO_USER_BUS_EV_LOST) {
		VU_DMA_LOG(NOTICE, "%s: server away, calls fail with -ENOTCONN", name);
		return 0;
	}
	if (event == RTE_VFIO_USER_BUS_EV_RESTORED) {
		ret = vu_dma_restored(rte_dma_fp_objs[id].dev_private);
		if (ret == 0)
			VU_DMA_LOG(NOTICE, "%s: engine restored, its rings go on", name);
		else
			VU_DMA_LOG(ERR, "%s: restored engine not told of new jobs (%s)", name,
					strerror(-ret));
		return ret;
	}
	ret = vu_dma_resume(rte_dma_fp_objs[id].dev_private, name);
	if (ret != 0)
		VU_DMA_LOG(ERR, "%s: engine not resumed after the server came back (%s)",
				name, strerror(-ret));
	return ret;
}

static const struct rte_pci_id vu_dma_id_table[] = {
	{
		.class_id = RTE_CLASS_ANY_ID,
		.vendor_id = EMU_DMA_VENDOR_ID,
		.device_id = EMU_DMA_DEVICE_ID,
		.subsystem_vendor_id = RTE_PCI_ANY_ID,
		.subsystem_device_id = RTE_PCI_ANY_ID,
	},
	{ .vendor_id = 0 },
};

static struct rte_vfio_user_bus_driver vu_dma_driver = {
	.id_table = vu_dma_id_table,
	.probe = vu_dma_probe,
	.remove = vu_dma_remove,
	.event = vu_dma_event,
};

RTE_PMD_REGISTER_VFIO_USER_BUS(dma_vfio_user, vu_dma_driver);
RTE_PMD_REGISTER_PCI_TABLE(dma_vfio_user, vu_dma_id_table);

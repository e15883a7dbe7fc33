/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The engine: a poller that reads the registers from the BAR0 page, walks
 * the descriptor rings in client memory and moves data. It never sends a
 * message; client memory is reached through the DMA table's mappings only.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "emu_dma_priv.h"

/* Read-only registers: rewritten when they differ (a client may scribble on its mapping). */
static void
emu_dma_refresh_globals(struct emu_dma_dev *dev, uint32_t dev_status)
{
	emu_dma_reg_wr(dev, EMU_DMA_REG_MAGIC, EMU_DMA_MAGIC_VALUE);
	emu_dma_reg_wr(dev, EMU_DMA_REG_VERSION, EMU_DMA_VERSION_VALUE);
	emu_dma_reg_wr(dev, EMU_DMA_REG_NUM_CHANNELS, dev->nb_chan);
	emu_dma_reg_wr(dev, EMU_DMA_REG_CAPS, EMU_DMA_CAP_COPY | EMU_DMA_CAP_FILL);
	emu_dma_reg_wr(dev, EMU_DMA_REG_MAX_RING_SIZE, EMU_DMA_RING_MAX);
	emu_dma_reg_wr(dev, EMU_DMA_REG_MAX_XFER, EMU_DMA_XFER_MAX);
	emu_dma_reg_wr(dev, EMU_DMA_REG_DEV_STATUS, dev_status);
}

void
emu_dma_engine_reset(struct emu_dma_dev *dev)
{
	unsigned int i;

	for (i = 0; i < EMU_DMA_CTRL_BAR_SIZE / 4; i++)
		if (i != EMU_DMA_REG_DEV_CTRL / 4)
			dev->bar0[i] = 0;
	for (i = 0; i < EMU_DMA_MAX_CHANNELS; i++) {
		memset(&dev->chan[i], 0, sizeof(dev->chan[i]));
		dev->chan[i].state = EMU_DMA_CHAN_IDLE;
		if (i < dev->nb_chan)
			dev->bar0[(EMU_DMA_CHAN_BASE(i) + EMU_DMA_CHAN_IRQ_VECTOR) / 4] = i;
	}
	emu_dma_refresh_globals(dev, 0);
	/* Last: a driver polling DEV_CTRL sees 0 once everything else is reset. */
	__atomic_store_n(&dev->bar0[EMU_DMA_REG_DEV_CTRL / 4], 0, __ATOMIC_RELEASE);
}

void
emu_dma_engine_sync_regs(struct emu_dma_dev *dev)
{
	unsigned int c;

	emu_dma_refresh_globals(dev, EMU_DMA_DEV_STATUS_READY);
	emu_dma_reg_wr(dev, EMU_DMA_REG_DEV_CTRL,
		emu_dma_reg_rd(dev, EMU_DMA_REG_DEV_CTRL) & EMU_DMA_DEV_CTRL_RESET);
	for (c = 0; c < dev->nb_chan; c++) {
		const struct emu_dma_chan *ch = &dev->chan[c];
		uint32_t base = EMU_DMA_CHAN_BASE(c);
		uint32_t db = emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_DOORBELL);

		switch (ch->state) {
		case EMU_DMA_CHAN_IDLE:
			emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, 0);
			break;
		case EMU_DMA_CHAN_FAILED:
			emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS,
				EMU_DMA_CHAN_STATUS_RING_ERROR);
			emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_COMPLETED, ch->head);
			break;
		case EMU_DMA_CHAN_ACTIVE:
			emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_ACTIVE |
				(db != ch->head ? EMU_DMA_CHAN_STATUS_BUSY : 0));
			emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_COMPLETED, ch->head);
			break;
		}
	}
}

/* Byte j of dst gets byte (j % 8) of the little-endian pattern. */
static void
emu_dma_fill(uint8_t *dst, uint64_t pattern, uint32_t len)
{
	uint8_t blk[64];
	unsigned int i;

	for (i = 0; i < sizeof(blk); i++)
		blk[i] = (uint8_t)(pattern >> (8 * (i % 8)));
	while (len >= sizeof(blk)) {
		memcpy(dst, blk, sizeof(blk));
		dst += sizeof(blk);
		len -= sizeof(blk);
	}
	memcpy(dst, blk, len);
}

/* Run one descriptor; returns its status. The fields are read once each. */
static uint16_t
emu_dma_run_desc(const struct emu_dma_dev *dev, const volatile struct emu_dma_desc *vd,
		uint32_t *bytes, uint8_t *flags)
{
	const struct rte_vfio_user_mem_table *mt = dev->mt;
	uint64_t src = vd->src;
	uint64_t dst = vd->dst;
	uint32_t len = vd->len;
	uint8_t op = vd->op;
	void *s = NULL, *d;

	*flags = vd->flags;
	if (op != EMU_DMA_OP_COPY && op != EMU_DMA_OP_FILL)
		return EMU_DMA_STATUS_ERR_OP;
	if (len == 0 || len > EMU_DMA_XFER_MAX)
		return EMU_DMA_STATUS_ERR_LEN;
	if (op == EMU_DMA_OP_COPY) {
		s = rte_vfio_user_mem_table_xlate(mt, src, len, PROT_READ);
		if (s == NULL)
			return EMU_DMA_STATUS_ERR_SRC;
	}
	d = rte_vfio_user_mem_table_xlate(mt, dst, len, PROT_WRITE);
	if (d == NULL)
		return EMU_DMA_STATUS_ERR_DST;
	if (op == EMU_DMA_OP_COPY)
		memmove(d, s, len); /* the client may make them overlap */
	else
		emu_dma_fill(d, src, len);
	/* Written through a mapping: the library's DMA logging must hear of it. */
	rte_vfio_user_dma_mark_dirty(dev->dev_id, dst, len);
	*bytes += len;
	return EMU_DMA_STATUS_SUCCESS;
}

/* Translate the latched ring; 0 or -1 (the caller flags RING_ERROR). */
static int
emu_dma_ring_map(struct emu_dma_dev *dev, struct emu_dma_chan *ch)
{
	uint64_t bytes = (uint64_t)ch->ring_size * sizeof(struct emu_dma_desc);
	void *va;

	ch->ring = NULL;
	ch->ring_gen = dev->mt_gen;
	va = rte_vfio_user_mem_table_xlate(dev->mt, ch->ring_iova, bytes, PROT_READ | PROT_WRITE);
	/* The IOVA is aligned; the address must be too (a mapping at an odd fd offset). */
	if (va == NULL || ((uintptr_t)va & (sizeof(struct emu_dma_desc) - 1)) != 0)
		return -1;
	ch->ring = va;
	return 0;
}

/* The channel stops until the driver clears ENABLE. */
static void
emu_dma_chan_fail(struct emu_dma_dev *dev, struct emu_dma_chan *ch, unsigned int c,
		const char *why)
{
	ch->state = EMU_DMA_CHAN_FAILED;
	ch->ring = NULL;
	emu_dma_reg_wr(dev, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_STATUS,
		EMU_DMA_CHAN_STATUS_RING_ERROR);
	EMU_DMA_LOG(DEBUG, "%s: channel %u ring 0x%" PRIx64 " x %u: %s", dev->name, c,
		ch->ring_iova, ch->ring_size, why);
}

/* ENABLE seen set on an idle channel: latch and check the ring. */
static void
emu_dma_chan_start(struct emu_dma_dev *dev, struct emu_dma_chan *ch, unsigned int c)
{
	uint32_t base = EMU_DMA_CHAN_BASE(c);

	ch->ring_iova = emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_RING_LO) |
		(uint64_t)emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_RING_HI) << 32;
	ch->ring_size = emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_RING_SIZE);
	/* The count starts where the driver left DOORBELL: 0, or a resumed ring's position. */
	ch->head = __atomic_load_n(&dev->bar0[(base + EMU_DMA_CHAN_DOORBELL) / 4],
		__ATOMIC_ACQUIRE);
	__atomic_store_n(&dev->bar0[(base + EMU_DMA_CHAN_COMPLETED) / 4], ch->head,
		__ATOMIC_RELEASE);
	if (ch->ring_size < EMU_DMA_MIN_RING_SIZE || ch->ring_size > EMU_DMA_RING_MAX ||
			!rte_is_power_of_2(ch->ring_size)) {
		emu_dma_chan_fail(dev, ch, c, "bad ring size");
		return;
	}
	if ((ch->ring_iova & (sizeof(struct emu_dma_desc) - 1)) != 0) {
		emu_dma_chan_fail(dev, ch, c, "misaligned ring");
		return;
	}
	if (emu_dma_ring_map(dev, ch) < 0) {
		emu_dma_chan_fail(dev, ch, c, "ring not in a read/write fd-backed mapping");
		return;
	}
	ch->state = EMU_DMA_CHAN_ACTIVE;
	emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_ACTIVE);
	EMU_DMA_LOG(DEBUG, "%s: channel %u started, ring 0x%" PRIx64 " x %u", dev->name, c,
		ch->ring_iova, ch->ring_size);
}

/* Log the status writes to descriptors [first, first + n) of the ring. */
static void
emu_dma_ring_dirty(const struct emu_dma_dev *dev, const struct emu_dma_chan *ch,
		uint32_t first, uint32_t n)
{
	uint32_t idx = first & (ch->ring_size - 1);
	uint32_t run = RTE_MIN(n, ch->ring_size - idx);
	const uint64_t dsz = sizeof(struct emu_dma_desc);

	/* A client that posted more than the ring holds had slots written twice. */
	if (n >= ch->ring_size) {
		rte_vfio_user_dma_mark_dirty(dev->dev_id, ch->ring_iova, ch->ring_size * dsz);
		return;
	}

	rte_vfio_user_dma_mark_dirty(dev->dev_id, ch->ring_iova + idx * dsz, run * dsz);
	if (run < n)
		rte_vfio_user_dma_mark_dirty(dev->dev_id, ch->ring_iova, (n - run) * dsz);
}

/* One channel's share of an iteration; returns descriptors processed. */
static unsigned int
emu_dma_chan_poll(struct emu_dma_dev *dev, unsigned int c)
{
	struct emu_dma_chan *ch = &dev->chan[c];
	uint32_t base = EMU_DMA_CHAN_BASE(c);
	uint32_t ctrl = emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_CTRL);
	uint32_t db, n, i, bytes = 0, vec;
	bool irq = false;

	if (!(ctrl & EMU_DMA_CHAN_CTRL_ENABLE)) {
		/* Stopped: pending descriptors are dropped, STATUS reads 0 as the ack. */
		ch->state = EMU_DMA_CHAN_IDLE;
		ch->ring = NULL;
		emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, 0);
		return 0;
	}
	if (ch->state == EMU_DMA_CHAN_FAILED) {
		emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_RING_ERROR);
		return 0;
	}
	if (ch->state == EMU_DMA_CHAN_IDLE) {
		emu_dma_chan_start(dev, ch, c);
		if (ch->state != EMU_DMA_CHAN_ACTIVE)
			return 0;
	}
	/* A migrated-in channel has no translation yet (ring NULL). */
	if ((ch->ring == NULL || ch->ring_gen != dev->mt_gen) && emu_dma_ring_map(dev, ch) < 0) {
		emu_dma_chan_fail(dev, ch, c, "ring unmapped");
		return 0;
	}

	/* Descriptors written before the doorbell store are visible after this load. */
	db = __atomic_load_n(&dev->bar0[(base + EMU_DMA_CHAN_DOORBELL) / 4], __ATOMIC_ACQUIRE);
	n = RTE_MIN(db - ch->head, (uint32_t)EMU_DMA_BURST);
	for (i = 0; i < n && bytes < EMU_DMA_BURST_BYTES; i++) {
		struct emu_dma_desc *d = &ch->ring[ch->head & (ch->ring_size - 1)];
		uint8_t flags = 0;
		uint16_t st;

		st = emu_dma_run_desc(dev, d, &bytes, &flags);
		/* The status is the completion: after the data. */
		__atomic_store_n(&d->status, st, __ATOMIC_RELEASE);
		if (EMU_DMA_STATUS_IS_ERROR(st))
			ch->nb_err++;
		else
			ch->nb_done++;
		irq |= (flags & EMU_DMA_DESC_FLAG_IRQ) != 0;
		ch->head++;
	}
	if (i != 0) {
		emu_dma_ring_dirty(dev, ch, ch->head - i, i);
		__atomic_store_n(&dev->bar0[(base + EMU_DMA_CHAN_COMPLETED) / 4], ch->head,
			__ATOMIC_RELEASE);
	}
	emu_dma_reg_wr(dev, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_ACTIVE |
		(db != ch->head ? EMU_DMA_CHAN_STATUS_BUSY : 0));
	/* CTRL again: a driver may have changed IRQ_ENABLE before this batch's doorbell. */
	if (irq && (emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_CTRL) & EMU_DMA_CHAN_CTRL_IRQ_ENABLE)) {
		vec = emu_dma_reg_rd(dev, base + EMU_DMA_CHAN_IRQ_VECTOR);
		/* -EINVAL: no such vector; -ENOENT: no eventfd set. Nothing to deliver. */
		(void)rte_vfio_user_pci_irq_raise(dev->pci, RTE_VFIO_USER_PCI_IRQ_MSIX, vec);
	}
	return i;
}

int32_t
emu_dma_poll(void *arg)
{
	struct emu_dma_dev *dev = arg;
	unsigned int c, work = 0;

	/* The control thread holds the lock while the DMA table changes: skip. */
	if (!rte_spinlock_trylock(&dev->dp_lock))
		return -EAGAIN;
	/* Removed, or stopped for a migration: no DMA, no interrupt, no register change. */
	if (dev->stopping || dev->mig_stopped) {
		rte_spinlock_unlock(&dev->dp_lock);
		return -EAGAIN;
	}
	emu_dma_refresh_globals(dev, EMU_DMA_DEV_STATUS_READY);
	if (emu_dma_reg_rd(dev, EMU_DMA_REG_DEV_CTRL) & EMU_DMA_DEV_CTRL_RESET) {
		emu_dma_engine_reset(dev);
		emu_dma_refresh_globals(dev, EMU_DMA_DEV_STATUS_READY);
		EMU_DMA_LOG(DEBUG, "%s: reset by DEV_CTRL", dev->name);
		work = 1;
	} else if (dev->connected) {
		if (dev->mt_gen != dev->mem_gen) {
			dev->mt = rte_vfio_user_get_mem_table(dev->dev_id);
			dev->mt_gen = dev->mem_gen;
		}
		for (c = 0; c < dev->nb_chan; c++)
			work += emu_dma_chan_poll(dev, c);
	}
	rte_spinlock_unlock(&dev->dp_lock);
	return work != 0 ? 0 : -EAGAIN;
}

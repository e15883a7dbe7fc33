/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Live migration of the emulated DMA engine: the migration callbacks the
 * library calls on the control thread, and the device state as a byte
 * stream (all little-endian):
 *
 *   header   magic "EDMS", version, channels, BAR0 size, PCI image size,
 *            total size
 *   channels one record per channel: state, latched ring, head, counters
 *   BAR0     the whole register page, as the client left it
 *   PCI      the PCI helper's image (config space, MSI-X table and PBA)
 *
 * In-flight work: the engine runs a descriptor whole inside one polling
 * iteration, under dp_lock, so stopping (taking dp_lock) never cuts one in
 * two. Descriptors posted but not yet run are carried over: they stay in the
 * ring, in client memory, and the destination goes on from the saved head.
 *
 * Nothing in a stream being loaded is trusted: every field is checked
 * against this device before any of it is applied, and the poller translates
 * the rings again on the destination's DMA table.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>

#include "emu_dma_priv.h"

#define EMU_DMA_MIG_MAGIC	0x534d4445	/* "EDMS" in memory order */
#define EMU_DMA_MIG_VERSION	1

struct emu_dma_mig_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nb_chan;
	uint32_t bar0_size;
	uint32_t pci_size;
	uint32_t total_size;
	uint32_t reserved;
} __rte_packed;

struct emu_dma_mig_chan {
	uint32_t state;		/* enum emu_dma_chan_state */
	uint32_t ring_size;	/* ACTIVE: latched ring; 0 otherwise */
	uint64_t ring_iova;
	uint32_t head;
	uint32_t reserved;
	uint64_t nb_done;
	uint64_t nb_err;
} __rte_packed;

static size_t
emu_dma_mig_size(const struct emu_dma_dev *dev, size_t pci_size)
{
	return sizeof(struct emu_dma_mig_hdr) + dev->nb_chan * sizeof(struct emu_dma_mig_chan) +
		EMU_DMA_CTRL_BAR_SIZE + pci_size;
}

size_t
emu_dma_mig_stream_size(const struct emu_dma_dev *dev)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);

	return pci_size < 0 ? 0 : emu_dma_mig_size(dev, pci_size);
}

/* The device is stopped (dp_lock held or the poller parked): write its state. */
int
emu_dma_mig_save_state(struct emu_dma_dev *dev, uint8_t *buf, size_t len)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);
	struct emu_dma_mig_hdr hdr;
	unsigned int c;
	uint8_t *p = buf;

	if (pci_size < 0 || len != emu_dma_mig_size(dev, pci_size))
		return -EINVAL;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = rte_cpu_to_le_32(EMU_DMA_MIG_MAGIC);
	hdr.version = rte_cpu_to_le_16(EMU_DMA_MIG_VERSION);
	hdr.nb_chan = rte_cpu_to_le_16(dev->nb_chan);
	hdr.bar0_size = rte_cpu_to_le_32(EMU_DMA_CTRL_BAR_SIZE);
	hdr.pci_size = rte_cpu_to_le_32((uint32_t)pci_size);
	hdr.total_size = rte_cpu_to_le_32((uint32_t)len);
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	for (c = 0; c < dev->nb_chan; c++) {
		const struct emu_dma_chan *ch = &dev->chan[c];
		struct emu_dma_mig_chan rec;

		memset(&rec, 0, sizeof(rec));
		rec.state = rte_cpu_to_le_32(ch->state);
		if (ch->state != EMU_DMA_CHAN_IDLE) {
			rec.ring_size = rte_cpu_to_le_32(ch->ring_size);
			rec.ring_iova = rte_cpu_to_le_64(ch->ring_iova);
			rec.head = rte_cpu_to_le_32(ch->head);
		}
		rec.nb_done = rte_cpu_to_le_64(ch->nb_done);
		rec.nb_err = rte_cpu_to_le_64(ch->nb_err);
		memcpy(p, &rec, sizeof(rec));
		p += sizeof(rec);
	}
	/* Registers as the engine's next iteration would leave them, whatever the client stored. */
	emu_dma_engine_sync_regs(dev);
	memcpy(p, (const void *)(uintptr_t)dev->bar0, EMU_DMA_CTRL_BAR_SIZE);
	p += EMU_DMA_CTRL_BAR_SIZE;
	return rte_vfio_user_pci_save(dev->pci, p, pci_size) == pci_size ? 0 : -EIO;
}

static uint32_t
mig_reg(const uint8_t *bar0, uint32_t off)
{
	uint32_t v;

	memcpy(&v, bar0 + off, sizeof(v));
	return rte_le_to_cpu_32(v);
}

/* Registers the engine owns must hold what this device would have written. */
static int
emu_dma_mig_check_globals(const struct emu_dma_dev *dev, const uint8_t *bar0)
{
	uint32_t st = mig_reg(bar0, EMU_DMA_REG_DEV_STATUS);
	uint32_t ctrl = mig_reg(bar0, EMU_DMA_REG_DEV_CTRL);

	if (mig_reg(bar0, EMU_DMA_REG_MAGIC) != EMU_DMA_MAGIC_VALUE ||
			mig_reg(bar0, EMU_DMA_REG_VERSION) != EMU_DMA_VERSION_VALUE ||
			mig_reg(bar0, EMU_DMA_REG_NUM_CHANNELS) != dev->nb_chan ||
			mig_reg(bar0, EMU_DMA_REG_CAPS) != (EMU_DMA_CAP_COPY | EMU_DMA_CAP_FILL) ||
			mig_reg(bar0, EMU_DMA_REG_MAX_RING_SIZE) != EMU_DMA_RING_MAX ||
			mig_reg(bar0, EMU_DMA_REG_MAX_XFER) != EMU_DMA_XFER_MAX ||
			(st & ~EMU_DMA_DEV_STATUS_READY) != 0 ||
			(ctrl & ~EMU_DMA_DEV_CTRL_RESET) != 0)
		return -EINVAL;
	return 0;
}

/*
 * One channel record against the registers of the same stream, which the
 * save wrote from the engine's state (emu_dma_engine_sync_regs()).
 */
static int
emu_dma_mig_check_chan(const struct emu_dma_mig_chan *rec, const uint8_t *bar0, unsigned int c)
{
	uint32_t base = EMU_DMA_CHAN_BASE(c);
	uint32_t status = mig_reg(bar0, base + EMU_DMA_CHAN_STATUS);
	uint32_t db = mig_reg(bar0, base + EMU_DMA_CHAN_DOORBELL);
	uint32_t size = rte_le_to_cpu_32(rec->ring_size);
	uint64_t iova = rte_le_to_cpu_64(rec->ring_iova);
	uint32_t head = rte_le_to_cpu_32(rec->head);

	if (rec->reserved != 0)
		return -EINVAL;
	switch (rte_le_to_cpu_32(rec->state)) {
	case EMU_DMA_CHAN_IDLE:
		return size == 0 && iova == 0 && head == 0 && status == 0 ? 0 : -EINVAL;
	case EMU_DMA_CHAN_FAILED:
		/* The refused ring is kept for the log only; nothing runs until ENABLE clears. */
		return status == EMU_DMA_CHAN_STATUS_RING_ERROR &&
			mig_reg(bar0, base + EMU_DMA_CHAN_COMPLETED) == head ? 0 : -EINVAL;
	case EMU_DMA_CHAN_ACTIVE:
		if (size < EMU_DMA_MIN_RING_SIZE || size > EMU_DMA_RING_MAX ||
				!rte_is_power_of_2(size) ||
				(iova & (sizeof(struct emu_dma_desc) - 1)) != 0 ||
				iova + (uint64_t)size * sizeof(struct emu_dma_desc) < iova)
			return -EINVAL;
		if (status != (EMU_DMA_CHAN_STATUS_ACTIVE |
				(db != head ? EMU_DMA_CHAN_STATUS_BUSY : 0)))
			return -EINVAL;
		/* COMPLETED is the head the engine published last. */
		return mig_reg(bar0, base + EMU_DMA_CHAN_COMPLETED) == head ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/*
 * Check a whole stream against this device, then apply it. The caller
 * holds dp_lock (or the poller is parked) and the device is stopped.
 */
int
emu_dma_mig_load_state(struct emu_dma_dev *dev, const uint8_t *buf, size_t len)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);
	const struct emu_dma_mig_chan *recs;
	struct emu_dma_mig_hdr hdr;
	const uint8_t *bar0, *pci;
	unsigned int c;
	int ret;

	if (pci_size < 0 || len < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, buf, sizeof(hdr));
	if (rte_le_to_cpu_32(hdr.magic) != EMU_DMA_MIG_MAGIC ||
			rte_le_to_cpu_16(hdr.version) != EMU_DMA_MIG_VERSION ||
			rte_le_to_cpu_16(hdr.nb_chan) != dev->nb_chan ||
			rte_le_to_cpu_32(hdr.bar0_size) != EMU_DMA_CTRL_BAR_SIZE ||
			rte_le_to_cpu_32(hdr.pci_size) != (uint32_t)pci_size ||
			rte_le_to_cpu_32(hdr.total_size) != len ||
			len != emu_dma_mig_size(dev, pci_size) || hdr.reserved != 0)
		return -EINVAL;
	recs = (const struct emu_dma_mig_chan *)(buf + sizeof(hdr));
	bar0 = (const uint8_t *)(recs + dev->nb_chan);
	pci = bar0 + EMU_DMA_CTRL_BAR_SIZE;
	ret = emu_dma_mig_check_globals(dev, bar0);
	for (c = 0; ret == 0 && c < dev->nb_chan; c++) {
		struct emu_dma_mig_chan rec;

		memcpy(&rec, &recs[c], sizeof(rec)); /* the stream is not aligned */
		ret = emu_dma_mig_check_chan(&rec, bar0, c);
	}
	if (ret != 0)
		return ret;
	/* The PCI image is checked whole by the helper before it changes anything. */
	ret = rte_vfio_user_pci_restore(dev->pci, pci, pci_size);
	if (ret < 0)
		return ret;

	for (c = 0; c < dev->nb_chan; c++) {
		struct emu_dma_chan *ch = &dev->chan[c];
		struct emu_dma_mig_chan rec;

		memcpy(&rec, &recs[c], sizeof(rec));
		memset(ch, 0, sizeof(*ch));
		ch->state = rte_le_to_cpu_32(rec.state);
		ch->ring_size = rte_le_to_cpu_32(rec.ring_size);
		ch->ring_iova = rte_le_to_cpu_64(rec.ring_iova);
		ch->head = rte_le_to_cpu_32(rec.head);
		ch->nb_done = rte_le_to_cpu_64(rec.nb_done);
		ch->nb_err = rte_le_to_cpu_64(rec.nb_err);
		/* ring stays NULL: the poller translates it on this side's DMA table. */
	}
	memcpy((void *)(uintptr_t)dev->bar0, bar0, EMU_DMA_CTRL_BAR_SIZE);
	dev->mem_gen++;
	return 0;
}

void
emu_dma_mig_drop(struct emu_dma_dev *dev)
{
	free(dev->mig_buf);
	dev->mig_buf = NULL;
	dev->mig_len = 0;
	dev->mig_off = 0;
	dev->mig_stopped = false;
}

/* Start a save or load session with a stream buffer of this device's size. */
static int
emu_dma_mig_session(struct emu_dma_dev *dev)
{
	size_t len = emu_dma_mig_stream_size(dev);

	if (len == 0)
		return -EIO;
	free(dev->mig_buf);
	dev->mig_buf = malloc(len);
	if (dev->mig_buf == NULL)
		return -ENOMEM;
	dev->mig_len = len;
	dev->mig_off = 0;
	return 0;
}

/* Take one arc, with the poller out (dp_lock held). */
static int
emu_dma_mig_arc(struct emu_dma_dev *dev, enum rte_vfio_user_mig_state from,
		enum rte_vfio_user_mig_state to)
{
	int ret;

	switch (to) {
	case RTE_VFIO_USER_MIG_STOP:
		ret = 0;
		if (from == RTE_VFIO_USER_MIG_RESUMING)
			ret = emu_dma_mig_load_state(dev, dev->mig_buf, dev->mig_off);
		emu_dma_mig_drop(dev); /* ends a save or load session */
		dev->mig_stopped = true;
		return ret;
	case RTE_VFIO_USER_MIG_RUNNING:
		emu_dma_mig_drop(dev);
		return 0;
	case RTE_VFIO_USER_MIG_PRE_COPY:
		/* Nothing to send ahead: the state is small and written at STOP_COPY. */
		return 0;
	case RTE_VFIO_USER_MIG_STOP_COPY:
		dev->mig_stopped = true;
		ret = emu_dma_mig_session(dev);
		if (ret == 0)
			ret = emu_dma_mig_save_state(dev, dev->mig_buf, dev->mig_len);
		return ret;
	case RTE_VFIO_USER_MIG_RESUMING:
		return emu_dma_mig_session(dev);
	default:
		return -EINVAL;
	}
}

static int
emu_dma_mig_transition(int dev_id, enum rte_vfio_user_mig_state from,
		enum rte_vfio_user_mig_state to)
{
	struct emu_dma_dev *dev = rte_vfio_user_get_priv(dev_id);
	bool taken;
	int ret;

	if (dev == NULL)
		return -ENODEV;
	taken = emu_dma_ctrl_lock(dev);
	ret = emu_dma_mig_arc(dev, from, to);
	if (taken)
		rte_spinlock_unlock(&dev->dp_lock);
	EMU_DMA_LOG(DEBUG, "%s: migration state %d -> %d: %d", dev->name, from, to, ret);
	return ret;
}

static ssize_t
emu_dma_mig_save(int dev_id, void *buf, size_t len)
{
	struct emu_dma_dev *dev = rte_vfio_user_get_priv(dev_id);
	size_t n;

	if (dev == NULL)
		return -ENODEV;
	if (dev->mig_buf == NULL)
		return 0; /* PRE_COPY: nothing before STOP_COPY */
	n = RTE_MIN(len, dev->mig_len - dev->mig_off);
	memcpy(buf, dev->mig_buf + dev->mig_off, n);
	dev->mig_off += n;
	return n;
}

static int
emu_dma_mig_load(int dev_id, const void *buf, size_t len)
{
	struct emu_dma_dev *dev = rte_vfio_user_get_priv(dev_id);

	if (dev == NULL)
		return -ENODEV;
	/* More than this device's state: not a stream of this device. */
	if (dev->mig_buf == NULL || len > dev->mig_len - dev->mig_off)
		return -EINVAL;
	memcpy(dev->mig_buf + dev->mig_off, buf, len);
	dev->mig_off += len;
	return 0;
}

static int
emu_dma_mig_data_size(int dev_id, uint64_t *len)
{
	struct emu_dma_dev *dev = rte_vfio_user_get_priv(dev_id);

	if (dev == NULL)
		return -ENODEV;
	*len = dev->mig_buf != NULL ? dev->mig_len - dev->mig_off :
		emu_dma_mig_stream_size(dev);
	return 0;
}

static const struct rte_vfio_user_mig_ops emu_dma_mig_ops = {
	.size = sizeof(struct rte_vfio_user_mig_ops),
	.flags = RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY,
	.transition = emu_dma_mig_transition,
	.save = emu_dma_mig_save,
	.load = emu_dma_mig_load,
	.data_size = emu_dma_mig_data_size,
};

int
emu_dma_mig_register(struct emu_dma_dev *dev)
{
	return rte_vfio_user_set_migration(dev->path, &emu_dma_mig_ops);
}

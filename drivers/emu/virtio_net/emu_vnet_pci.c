/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * PCI face of the emulated virtio-net device: the virtio PCI transport
 * (virtio 1.x section 4.1) in BAR0, every access trapped: common config
 * (features, status, queue setup), ISR, device config and the notify area.
 * The PCI helper serves config space, the capability list and the MSI-X
 * table and PBA in BAR2. Everything here runs on the vfio-user control
 * thread, except the interrupt and NEEDS_RESET helpers.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <rte_byteorder.h>
#include <rte_errno.h>

#include "emu_vnet_priv.h"

#define CTRL_VQ(dev) ((uint16_t)((dev)->nr_vqs - 1))

bool
emu_vnet_lock_all(struct emu_vnet_dev *dev)
{
	uint16_t i;

	if (dev->ctrl_locked)
		return false;
	for (i = 0; i < EMU_VNET_MAX_VQS; i++)
		emu_vnet_q_lock(&dev->q[i]);
	return true;
}

void
emu_vnet_unlock_all(struct emu_vnet_dev *dev, bool taken)
{
	uint16_t i;

	if (!taken)
		return;
	for (i = EMU_VNET_MAX_VQS; i-- > 0; )
		emu_vnet_q_unlock(&dev->q[i]);
}

/*
 * Interrupts. With MSI-X (the only interrupt the function has) the ISR is
 * not needed by the driver, but it is kept as the specification says.
 */

/*
 * While the device is stopped for a migration the interrupt is held in
 * irq_pending (saved with the state). A stop sets mig_stopped, then waits
 * for irq_busy to drain: a raise either sees the flag or is waited for.
 */
static void
emu_vnet_raise(struct emu_vnet_dev *dev, uint16_t vector, uint8_t isr_bit)
{
	__atomic_fetch_add(&dev->irq_busy, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&dev->isr, isr_bit, __ATOMIC_RELAXED);
	if (vector != VIRTIO_MSI_NO_VECTOR) {
		if (__atomic_load_n(&dev->mig_stopped, __ATOMIC_SEQ_CST))
			__atomic_fetch_or(&dev->irq_pending, UINT32_C(1) << vector,
				__ATOMIC_RELAXED);
		else /* -EINVAL: no such vector; -ENOENT: no eventfd set. Nothing to deliver. */
			(void)rte_vfio_user_pci_irq_raise(dev->pci, RTE_VFIO_USER_PCI_IRQ_MSIX,
				vector);
	}
	__atomic_fetch_sub(&dev->irq_busy, 1, __ATOMIC_RELEASE);
}

void
emu_vnet_vq_irq(struct emu_vnet_queue *q)
{
	emu_vnet_raise(q->dev, __atomic_load_n(&q->msix_vector, __ATOMIC_RELAXED),
		EMU_VNET_ISR_QUEUE);
}

void
emu_vnet_config_changed(struct emu_vnet_dev *dev)
{
	__atomic_fetch_add(&dev->config_gen, 1, __ATOMIC_RELAXED);
	emu_vnet_raise(dev, __atomic_load_n(&dev->msix_config, __ATOMIC_RELAXED),
		VIRTIO_PCI_ISR_CONFIG);
}

void
emu_vnet_needs_reset(struct emu_vnet_dev *dev, const char *why, uint16_t vq)
{
	EMU_VNET_LOG(ERR, "%s: guest error on virtqueue %u: %s, device needs reset",
		dev->name, vq, why);
	if (__atomic_exchange_n(&dev->needs_reset, true, __ATOMIC_RELAXED))
		return;
	/* Only once the driver is up: before, it reads the status anyway. */
	if (__atomic_load_n(&dev->status, __ATOMIC_RELAXED) & VIRTIO_CONFIG_S_DRIVER_OK)
		emu_vnet_config_changed(dev);
}

void
emu_vnet_kick(struct emu_vnet_queue *q)
{
	/* EAGAIN: the counter is full, the fd readable anyway. */
	if (q->kick_fd >= 0 && eventfd_write(q->kick_fd, 1) < 0 && errno != EAGAIN)
		EMU_VNET_LOG(DEBUG, "%s: kick of virtqueue %u: %s", q->dev->name, q->index,
			strerror(errno));
}

void
emu_vnet_notify_set(struct emu_vnet_queue *q, bool on)
{
	struct emu_vnet_dev *dev = q->dev;
	bool pending = false;

	emu_vnet_q_lock(q);
	q->intr_on = on;
	/* A device stopped for migration leaves the rings alone; the flag waits for RUNNING. */
	if (q->ready && !__atomic_load_n(&dev->mig_stopped, __ATOMIC_RELAXED) &&
			(q->mem_gen == dev->mem_gen || emu_vnet_queue_remap(q)))
		pending = emu_vnet_vq_notify(&q->vq, on);
	emu_vnet_q_unlock(q);
	/* Posted before the guest saw kicks wanted: no kick comes for it, make one. */
	if (pending)
		emu_vnet_kick(q);
}

bool
emu_vnet_queue_remap(struct emu_vnet_queue *q)
{
	struct emu_vnet_dev *dev = q->dev;

	q->mem_gen = dev->mem_gen;
	if (emu_vnet_vq_map(&q->vq, dev->mt) == 0) {
		q->wait_map = false;
		return true;
	}
	/* Migrated in: the destination's client may map its memory after RUNNING. Retried. */
	if (q->wait_map) {
		q->mem_gen = dev->mem_gen - 1;
		return false;
	}
	q->ready = false;
	emu_vnet_needs_reset(dev, "rings no longer in the DMA map", q->index);
	return false;
}

void
emu_vnet_reset_locked(struct emu_vnet_dev *dev)
{
	uint16_t i;

	/* Also read by lcores and app threads outside the queue locks: atomics. */
	__atomic_store_n(&dev->status, 0, __ATOMIC_RELAXED);
	dev->dev_feature_sel = 0;
	dev->drv_feature_sel = 0;
	dev->drv_features = 0;
	dev->features = 0;
	__atomic_store_n(&dev->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	dev->queue_sel = 0;
	dev->active_pairs = 1;
	__atomic_store_n(&dev->isr, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->needs_reset, false, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->irq_pending, 0, __ATOMIC_RELAXED);
	for (i = 0; i < EMU_VNET_MAX_VQS; i++) {
		struct emu_vnet_queue *q = &dev->q[i];

		__atomic_store_n(&q->msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
		q->enabled = false;
		q->ready = false;
		q->wait_map = false;
		memset(&q->vq, 0, sizeof(q->vq));
		q->vq.size = EMU_VNET_QUEUE_SIZE;
		q->vq.log_dev = dev->dev_id;
	}
	emu_vnet_filter_reset(dev);
}

/* Status 0, VFIO_USER_DEVICE_RESET: everything back, the link goes down. */
static void
emu_vnet_reset(struct emu_vnet_dev *dev)
{
	bool taken = emu_vnet_lock_all(dev);

	emu_vnet_reset_locked(dev);
	emu_vnet_unlock_all(dev, taken);
	emu_vnet_link_set(dev, false);
}

/*
 * Common configuration: reads compose the structure from the state; writes
 * are applied to that image (any size and alignment inside it) and each
 * writable field they touch is then taken from the image.
 */

static struct emu_vnet_queue *
emu_vnet_selected(struct emu_vnet_dev *dev)
{
	return dev->queue_sel < dev->nr_vqs ? &dev->q[dev->queue_sel] : NULL;
}

static void
emu_vnet_common_image(struct emu_vnet_dev *dev, struct virtio_pci_common_cfg *c)
{
	struct emu_vnet_queue *q = emu_vnet_selected(dev);
	uint64_t f = dev->dev_feature_sel < 2 ?
		EMU_VNET_FEATURES >> (32 * dev->dev_feature_sel) : 0;
	uint64_t g = dev->drv_feature_sel < 2 ?
		dev->drv_features >> (32 * dev->drv_feature_sel) : 0;
	uint8_t st = dev->status;

	if (__atomic_load_n(&dev->needs_reset, __ATOMIC_RELAXED))
		st |= VIRTIO_CONFIG_S_NEEDS_RESET;
	memset(c, 0, sizeof(*c));
	c->device_feature_select = rte_cpu_to_le_32(dev->dev_feature_sel);
	c->device_feature = rte_cpu_to_le_32((uint32_t)f);
	c->guest_feature_select = rte_cpu_to_le_32(dev->drv_feature_sel);
	c->guest_feature = rte_cpu_to_le_32((uint32_t)g);
	c->msix_config = rte_cpu_to_le_16(dev->msix_config);
	c->num_queues = rte_cpu_to_le_16(dev->nr_vqs);
	c->device_status = st;
	c->config_generation = __atomic_load_n(&dev->config_gen, __ATOMIC_RELAXED);
	c->queue_select = rte_cpu_to_le_16(dev->queue_sel);
	if (q == NULL)
		return;
	c->queue_size = rte_cpu_to_le_16(q->vq.size);
	c->queue_msix_vector = rte_cpu_to_le_16(q->msix_vector);
	c->queue_enable = rte_cpu_to_le_16(q->enabled ? 1 : 0);
	c->queue_notify_off = rte_cpu_to_le_16(q->index);
	c->queue_desc_lo = rte_cpu_to_le_32((uint32_t)q->vq.desc_iova);
	c->queue_desc_hi = rte_cpu_to_le_32((uint32_t)(q->vq.desc_iova >> 32));
	c->queue_avail_lo = rte_cpu_to_le_32((uint32_t)q->vq.avail_iova);
	c->queue_avail_hi = rte_cpu_to_le_32((uint32_t)(q->vq.avail_iova >> 32));
	c->queue_used_lo = rte_cpu_to_le_32((uint32_t)q->vq.used_iova);
	c->queue_used_hi = rte_cpu_to_le_32((uint32_t)(q->vq.used_iova >> 32));
}

/* A vector the function has, else VIRTIO_MSI_NO_VECTOR (how a driver sees the refusal). */
static uint16_t
emu_vnet_vector(struct emu_vnet_dev *dev, uint16_t v)
{
	return v <= dev->nr_vqs ? v : VIRTIO_MSI_NO_VECTOR;
}

/* FEATURES_OK is kept only for a subset of the offer that makes sense (section 3.1.1). */
bool
emu_vnet_features_ok(uint64_t f)
{
	const uint64_t need_ctrl = (UINT64_C(1) << VIRTIO_NET_F_CTRL_RX) |
		(UINT64_C(1) << VIRTIO_NET_F_MQ) | (UINT64_C(1) << VIRTIO_NET_F_CTRL_MAC_ADDR);

	if ((f & ~EMU_VNET_FEATURES) != 0 || !(f & (UINT64_C(1) << VIRTIO_F_VERSION_1)))
		return false;
	return !(f & need_ctrl) || (f & (UINT64_C(1) << VIRTIO_NET_F_CTRL_VQ));
}

static void
emu_vnet_status_write(struct emu_vnet_dev *dev, uint8_t st)
{
	uint8_t old = dev->status;
	bool taken;

	if (st == 0) {
		emu_vnet_reset(dev);
		EMU_VNET_LOG(DEBUG, "%s: reset by the driver", dev->name);
		return;
	}
	st &= ~VIRTIO_CONFIG_S_NEEDS_RESET; /* the device's bit */
	if ((st & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if (!emu_vnet_features_ok(dev->drv_features)) {
			EMU_VNET_LOG(INFO, "%s: features 0x%" PRIx64 " refused", dev->name,
				dev->drv_features);
			st &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			taken = emu_vnet_lock_all(dev);
			dev->features = dev->drv_features;
			emu_vnet_unlock_all(dev, taken);
		}
	}
	/* Features can be changed no more once accepted. */
	if (old & VIRTIO_CONFIG_S_FEATURES_OK)
		st |= VIRTIO_CONFIG_S_FEATURES_OK;
	__atomic_store_n(&dev->status, st, __ATOMIC_RELAXED);
	if ((st & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		EMU_VNET_LOG(INFO, "%s: driver ready, features 0x%" PRIx64, dev->name,
			dev->features);
		emu_vnet_link_set(dev, true);
	}
}

static void
emu_vnet_queue_enable(struct emu_vnet_dev *dev, struct emu_vnet_queue *q)
{
	int ret;

	emu_vnet_q_lock(q);
	q->vq.packed = (dev->features & (UINT64_C(1) << VIRTIO_F_RING_PACKED)) != 0;
	ret = emu_vnet_vq_map(&q->vq, dev->mt);
	if (ret == 0) {
		/* Data queues are polled unless their Rx interrupt is on. */
		emu_vnet_vq_start(&q->vq, q->index != CTRL_VQ(dev) && !q->intr_on);
		q->mem_gen = dev->mem_gen;
		q->enabled = true;
		q->ready = true;
	}
	emu_vnet_q_unlock(q);
	if (ret < 0)
		emu_vnet_needs_reset(dev, ret == -EINVAL ? "bad queue size or alignment" :
			"rings outside the fd-backed DMA windows", q->index);
	else
		EMU_VNET_LOG(DEBUG, "%s: virtqueue %u enabled, size %u", dev->name, q->index,
			q->vq.size);
}

/* Does the write [off, off + len) touch the field [foff, foff + fsize)? */
#define TOUCHED(off, len, field) \
	((off) < offsetof(struct virtio_pci_common_cfg, field) + \
		sizeof(((struct virtio_pci_common_cfg *)0)->field) && \
	 offsetof(struct virtio_pci_common_cfg, field) < (off) + (len))

static void
emu_vnet_set_addr(uint64_t *addr, uint32_t lo, uint32_t hi)
{
	*addr = rte_le_to_cpu_32(lo) | (uint64_t)rte_le_to_cpu_32(hi) << 32;
}

static void
emu_vnet_common_write(struct emu_vnet_dev *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct virtio_pci_common_cfg c;
	struct emu_vnet_queue *q;
	uint32_t half;

	emu_vnet_common_image(dev, &c);
	memcpy((uint8_t *)&c + off, buf, len);

	if (TOUCHED(off, len, device_feature_select))
		dev->dev_feature_sel = rte_le_to_cpu_32(c.device_feature_select);
	if (TOUCHED(off, len, guest_feature_select))
		dev->drv_feature_sel = rte_le_to_cpu_32(c.guest_feature_select);
	if (TOUCHED(off, len, guest_feature) && dev->drv_feature_sel < 2 &&
			!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		half = 32 * dev->drv_feature_sel;
		dev->drv_features &= ~(UINT64_C(0xffffffff) << half);
		dev->drv_features |= (uint64_t)rte_le_to_cpu_32(c.guest_feature) << half;
	}
	if (TOUCHED(off, len, msix_config))
		__atomic_store_n(&dev->msix_config,
			emu_vnet_vector(dev, rte_le_to_cpu_16(c.msix_config)), __ATOMIC_RELAXED);
	if (TOUCHED(off, len, queue_select))
		dev->queue_sel = rte_le_to_cpu_16(c.queue_select);
	if (TOUCHED(off, len, device_status))
		emu_vnet_status_write(dev, c.device_status);

	/* Queue fields written together with queue_select are ignored. */
	q = emu_vnet_selected(dev);
	if (q == NULL || TOUCHED(off, len, queue_select))
		return;
	if (TOUCHED(off, len, queue_msix_vector))
		__atomic_store_n(&q->msix_vector,
			emu_vnet_vector(dev, rte_le_to_cpu_16(c.queue_msix_vector)),
			__ATOMIC_RELAXED);
	/* Size and addresses are frozen while the queue is enabled. */
	if (!q->enabled) {
		emu_vnet_q_lock(q);
		if (TOUCHED(off, len, queue_size))
			q->vq.size = rte_le_to_cpu_16(c.queue_size);
		if (TOUCHED(off, len, queue_desc_lo) || TOUCHED(off, len, queue_desc_hi))
			emu_vnet_set_addr(&q->vq.desc_iova, c.queue_desc_lo, c.queue_desc_hi);
		if (TOUCHED(off, len, queue_avail_lo) || TOUCHED(off, len, queue_avail_hi))
			emu_vnet_set_addr(&q->vq.avail_iova, c.queue_avail_lo, c.queue_avail_hi);
		if (TOUCHED(off, len, queue_used_lo) || TOUCHED(off, len, queue_used_hi))
			emu_vnet_set_addr(&q->vq.used_iova, c.queue_used_lo, c.queue_used_hi);
		emu_vnet_q_unlock(q);
		/* Writing 0 is not allowed in 1.x (no VIRTIO_F_RING_RESET): ignored. */
		if (TOUCHED(off, len, queue_enable) && rte_le_to_cpu_16(c.queue_enable) == 1)
			emu_vnet_queue_enable(dev, q);
	}
}

/* Device configuration (section 5.1.4): read-only. */
static void
emu_vnet_devcfg_image(struct emu_vnet_dev *dev, struct virtio_net_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->mac, dev->mac.addr_bytes, sizeof(c->mac));
	c->status = rte_cpu_to_le_16(__atomic_load_n(&dev->port_started, __ATOMIC_RELAXED) ?
		VIRTIO_NET_S_LINK_UP : 0);
	c->max_virtqueue_pairs = rte_cpu_to_le_16(dev->nr_pairs);
}

/*
 * BAR0 by message. Each structure sits in its own 4 KiB page; accesses must
 * stay inside one page, and bytes past a structure read 0 and ignore writes.
 */
static ssize_t
emu_vnet_bar_rw(struct emu_vnet_dev *dev, char *buf, size_t count, uint64_t offset,
		bool is_write)
{
	uint64_t page = offset & ~UINT64_C(0xfff), off = offset & 0xfff;
	struct virtio_pci_common_cfg cc;
	struct virtio_net_config nc;
	const void *img = NULL;
	uint32_t img_len = 0;

	if (count == 0 || off + count > 0x1000)
		return -EINVAL;
	switch (page) {
	case EMU_VNET_COMMON_OFF:
		if (is_write) {
			if (off < sizeof(cc))
				emu_vnet_common_write(dev, off, buf,
					RTE_MIN(count, sizeof(cc) - off));
			return count;
		}
		emu_vnet_common_image(dev, &cc);
		img = &cc;
		img_len = sizeof(cc);
		break;
	case EMU_VNET_ISR_OFF:
		if (is_write)
			return count;
		memset(buf, 0, count);
		/* Reading the ISR clears it (section 4.1.4.5). */
		if (off == 0)
			buf[0] = (char)__atomic_exchange_n(&dev->isr, 0, __ATOMIC_RELAXED);
		return count;
	case EMU_VNET_DEVCFG_OFF:
		if (is_write)
			return count;
		emu_vnet_devcfg_image(dev, &nc);
		img = &nc;
		img_len = EMU_VNET_DEVCFG_LEN;
		break;
	case EMU_VNET_NOTIFY_OFF:
		if (!is_write) {
			memset(buf, 0, count);
			return count;
		}
		/* A kick of the control queue runs it; a data queue's is its ioeventfd's. */
		if (off / EMU_VNET_NOTIFY_MULT == CTRL_VQ(dev))
			emu_vnet_ctrl_kick(dev);
		else if (off / EMU_VNET_NOTIFY_MULT < CTRL_VQ(dev))
			emu_vnet_kick(&dev->q[off / EMU_VNET_NOTIFY_MULT]);
		return count;
	default:
		return -EINVAL;
	}
	memset(buf, 0, count);
	if (off < img_len)
		memcpy(buf, (const uint8_t *)img + off, RTE_MIN(count, img_len - off));
	return count;
}

static ssize_t
emu_vnet_bar_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	RTE_SET_USED(dev_id);
	return emu_vnet_bar_rw(reg->priv, buf, count, offset, is_write);
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window (section 4.1.4.9): a write to
 * pci_cfg_data is written to BAR0 at cap.offset; pci_cfg_data then holds
 * what BAR0 has there. The helper serves config reads from its copy and has
 * no read hook, so that read is done after every write to the capability
 * (window or data), not at the driver's read: a value the device changes
 * later is seen once the driver writes the capability again.
 */
static void
emu_vnet_config_write(struct rte_vfio_user_pci *pci, uint32_t offset, uint32_t count,
		void *priv)
{
	struct emu_vnet_dev *dev = priv;
	uint32_t cap = dev->pci_cfg_cap, boff, blen;
	struct virtio_pci_cfg_cap c;
	char data[4] = { 0 };

	if (cap == 0 || offset >= cap + sizeof(c) || offset + count <= cap)
		return;
	if (rte_vfio_user_pci_cfg_read(pci, cap, &c, sizeof(c)) < 0)
		return;
	boff = rte_le_to_cpu_32(c.cap.offset);
	blen = rte_le_to_cpu_32(c.cap.length);
	/* Invalid windows are ignored: BAR0 only, 1, 2 or 4 bytes, aligned. */
	if (c.cap.bar != EMU_VNET_BAR || (blen != 1 && blen != 2 && blen != 4) ||
			(boff & (blen - 1)) != 0 || boff >= EMU_VNET_BAR_SIZE)
		return;
	if (offset + count > cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data))
		emu_vnet_bar_rw(dev, (char *)c.pci_cfg_data, blen, boff, true);
	if (emu_vnet_bar_rw(dev, data, blen, boff, false) == (ssize_t)blen)
		rte_vfio_user_pci_cfg_write(pci, cap + offsetof(struct virtio_pci_cfg_cap,
			pci_cfg_data), data, sizeof(data));
}

int
emu_vnet_pci_describe(struct emu_vnet_dev *dev)
{
	struct virtio_pci_cap common = {
		.cfg_type = VIRTIO_PCI_CAP_COMMON_CFG,
		.bar = EMU_VNET_BAR,
		.offset = rte_cpu_to_le_32(EMU_VNET_COMMON_OFF),
		.length = rte_cpu_to_le_32(EMU_VNET_COMMON_LEN),
	};
	struct virtio_pci_cap isr = {
		.cfg_type = VIRTIO_PCI_CAP_ISR_CFG,
		.bar = EMU_VNET_BAR,
		.offset = rte_cpu_to_le_32(EMU_VNET_ISR_OFF),
		.length = rte_cpu_to_le_32(EMU_VNET_ISR_LEN),
	};
	struct virtio_pci_cap devcfg = {
		.cfg_type = VIRTIO_PCI_CAP_DEVICE_CFG,
		.bar = EMU_VNET_BAR,
		.offset = rte_cpu_to_le_32(EMU_VNET_DEVCFG_OFF),
		.length = rte_cpu_to_le_32(EMU_VNET_DEVCFG_LEN),
	};
	struct virtio_pci_notify_cap notify = {
		.cap = {
			.cfg_type = VIRTIO_PCI_CAP_NOTIFY_CFG,
			.bar = EMU_VNET_BAR,
			.offset = rte_cpu_to_le_32(EMU_VNET_NOTIFY_OFF),
			.length = rte_cpu_to_le_32(EMU_VNET_NOTIFY_MULT * dev->nr_vqs),
		},
		.notify_off_multiplier = rte_cpu_to_le_32(EMU_VNET_NOTIFY_MULT),
	};
	/* The window's bar, offset, length and data are the driver's. */
	static const uint8_t pci_cfg_wmask[sizeof(struct virtio_pci_cfg_cap)] = {
		[4] = 0xff,
		[8] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		[16] = 0xff, 0xff, 0xff, 0xff,
	};
	struct virtio_pci_cfg_cap pci_cfg = {
		.cap = { .cfg_type = VIRTIO_PCI_CAP_PCI_CFG },
	};
	const struct rte_vfio_user_pci_cap caps[] = {
		{
			.id = PCI_CAP_ID_MSIX,
			/* The configuration vector, then one per virtqueue. */
			.nr_vectors = dev->nr_vqs + 1,
			.table_bar = EMU_VNET_MSIX_BAR,
			.table_offset = 0,
			.pba_bar = EMU_VNET_MSIX_BAR,
			.pba_offset = EMU_VNET_MSIX_PBA_OFF,
		},
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(common), .data = &common },
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(notify), .data = &notify },
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(isr), .data = &isr },
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(devcfg), .data = &devcfg },
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(pci_cfg), .data = &pci_cfg,
			.wmask = pci_cfg_wmask },
	};
	struct rte_vfio_user_pci_info info = {
		.vendor_id = EMU_VNET_VENDOR_ID,
		.device_id = EMU_VNET_DEVICE_ID,
		.subsys_vendor_id = EMU_VNET_VENDOR_ID,
		.subsys_id = EMU_VNET_SUBSYS_ID,
		.class_code = EMU_VNET_CLASS,
		.revision = EMU_VNET_REVISION,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		/* ERR and REQ eventfds let QEMU enable its error recovery. */
		.flags = RTE_VFIO_USER_PCI_F_RESET | RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS,
		.caps = caps,
		.nr_caps = RTE_DIM(caps),
		.ops = { .config_write = emu_vnet_config_write },
		.priv = dev,
	};
	uint16_t i;
	int off;

	/*
	 * One ioeventfd per data queue on its 2-byte notify address, matching
	 * the value the driver writes there: the queue index (section 4.1.5.2).
	 */
	for (i = 0; i < CTRL_VQ(dev); i++) {
		dev->q[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dev->q[i].kick_fd < 0)
			return -errno;
		dev->io_fds[i] = (struct rte_vfio_user_io_fd){
			.offset = EMU_VNET_NOTIFY_OFF + i * EMU_VNET_NOTIFY_MULT,
			.size = 2,
			.fd = dev->q[i].kick_fd,
			.type = RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
			.datamatch = i,
		};
	}
	info.bars[EMU_VNET_BAR].io_fds = dev->io_fds;
	info.bars[EMU_VNET_BAR].nr_io_fds = CTRL_VQ(dev);
	info.bars[EMU_VNET_BAR].size = EMU_VNET_BAR_SIZE;
	info.bars[EMU_VNET_BAR].rw = emu_vnet_bar_access;
	info.bars[EMU_VNET_BAR].priv = dev;
	info.bars[EMU_VNET_BAR].fd = -1;
	info.bars[EMU_VNET_MSIX_BAR].size = EMU_VNET_MSIX_BAR_SIZE;
	info.bars[EMU_VNET_MSIX_BAR].fd = -1;

	dev->pci = rte_vfio_user_pci_create(dev->path, dev->dev_id, &info);
	if (dev->pci == NULL)
		return -rte_errno;
	/* The last vendor capability is the window (declaration order). */
	for (off = 0; (off = rte_vfio_user_pci_cap_find(dev->pci, PCI_CAP_ID_VNDR, off)) > 0; )
		dev->pci_cfg_cap = (uint8_t)off;
	return 0;
}

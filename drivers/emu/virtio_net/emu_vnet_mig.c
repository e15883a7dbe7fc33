/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Live migration of the emulated virtio-net device: the migration callbacks
 * the library calls on the control thread, and the device state as a byte
 * stream (all little-endian):
 *
 *   header   magic "EVNS", version, virtqueue count, PCI image size, total size
 *   device   features (offered, written by the driver, negotiated), feature
 *            selects, status, config generation, ISR, NEEDS_RESET, the link
 *            the guest saw, interrupts held while stopped, MSI-X config
 *            vector, queue select, queue pairs in use, MAC, receive modes
 *            and MAC filter table
 *   queues   one record per virtqueue: size, enable, ring addresses, MSI-X
 *            vector, notify offset, layout and position
 *   PCI      the PCI helper's image (config space, MSI-X table and PBA)
 *
 * Stopping: the control thread takes every queue lock, so the bursts in
 * progress end first, and sets mig_stopped, which the next bursts see under
 * their lock (they return 0). A burst takes chains and gives every one back
 * (used entry or rewind) before it returns: a stopped queue has nothing in
 * flight, its position is last_avail alone. Interrupts raised while stopped
 * are held and travel in the stream.
 *
 * Nothing in a stream being loaded is trusted: every field is checked
 * against this device before any of it is applied, and the queues translate
 * their rings again on the destination's DMA table at their next burst, or
 * once the client's DMA maps arrive.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_pci.h>

#include <ethdev_driver.h>
#include <rte_byteorder.h>
#include <rte_common.h>

#include "emu_vnet_priv.h"

#define EMU_VNET_MIG_MAGIC	0x534e5645	/* "EVNS" in memory order */
#define EMU_VNET_MIG_VERSION	1

/* Device record flags. */
#define MIG_F_NEEDS_RESET	(1u << 0)
#define MIG_F_LINK_UP		(1u << 1)	/* device-config link the guest saw */
#define MIG_F_ALL		(MIG_F_NEEDS_RESET | MIG_F_LINK_UP)

/* Receive modes, one bit per flag of struct emu_vnet_filter. */
#define MIG_RX_PROMISC		(1u << 0)
#define MIG_RX_ALLMULTI		(1u << 1)
#define MIG_RX_ALLUNI		(1u << 2)
#define MIG_RX_NOMULTI		(1u << 3)
#define MIG_RX_NOUNI		(1u << 4)
#define MIG_RX_NOBCAST		(1u << 5)
#define MIG_RX_UNI_OVERFLOW	(1u << 6)
#define MIG_RX_MULTI_OVERFLOW	(1u << 7)
#define MIG_RX_ALL		0xffu

/* Queue record flags. */
#define MIG_Q_ENABLED		(1u << 0)
#define MIG_Q_READY		(1u << 1)
#define MIG_Q_PACKED		(1u << 2)
#define MIG_Q_AVAIL_WRAP	(1u << 3)
#define MIG_Q_USED_WRAP		(1u << 4)
#define MIG_Q_ALL		0x1fu

struct emu_vnet_mig_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nr_vqs;
	uint32_t pci_size;
	uint32_t total_size;
} __rte_packed;

struct emu_vnet_mig_dev {
	uint64_t dev_features;
	uint64_t drv_features;
	uint64_t features;
	uint32_t dev_feature_sel;
	uint32_t drv_feature_sel;
	uint32_t irq_pending;		/* bit v: MSI-X vector v */
	uint16_t msix_config;
	uint16_t queue_sel;
	uint16_t active_pairs;
	uint8_t status;
	uint8_t config_gen;
	uint8_t isr;
	uint8_t flags;			/* MIG_F_* */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	uint32_t rx_modes;		/* MIG_RX_* */
	uint32_t nr_uni;
	uint32_t nr_multi;
	uint8_t filter_mac[RTE_ETHER_ADDR_LEN];
	uint8_t table[EMU_VNET_MAC_TABLE][RTE_ETHER_ADDR_LEN];
} __rte_packed;

struct emu_vnet_mig_queue {
	uint64_t desc_iova;
	uint64_t avail_iova;
	uint64_t used_iova;
	uint16_t size;
	uint16_t msix_vector;
	uint16_t notify_off;
	uint16_t flags;			/* MIG_Q_* */
	uint16_t last_avail;
	uint16_t used_idx;
	uint32_t reserved;
} __rte_packed;

static size_t
emu_vnet_mig_size(const struct emu_vnet_dev *dev, size_t pci_size)
{
	return sizeof(struct emu_vnet_mig_hdr) + sizeof(struct emu_vnet_mig_dev) +
		dev->nr_vqs * sizeof(struct emu_vnet_mig_queue) + pci_size;
}

static size_t
emu_vnet_mig_stream_size(const struct emu_vnet_dev *dev)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);

	return pci_size < 0 ? 0 : emu_vnet_mig_size(dev, pci_size);
}

/*
 * Save.
 */

static void
emu_vnet_mig_save_dev(const struct emu_vnet_dev *dev, struct emu_vnet_mig_dev *r)
{
	const struct emu_vnet_filter *f = &dev->filter;
	uint8_t flags = 0;

	if (__atomic_load_n(&dev->needs_reset, __ATOMIC_RELAXED))
		flags |= MIG_F_NEEDS_RESET;
	if (__atomic_load_n(&dev->port_started, __ATOMIC_RELAXED))
		flags |= MIG_F_LINK_UP;
	memset(r, 0, sizeof(*r));
	r->dev_features = rte_cpu_to_le_64(EMU_VNET_FEATURES);
	r->drv_features = rte_cpu_to_le_64(dev->drv_features);
	r->features = rte_cpu_to_le_64(dev->features);
	r->dev_feature_sel = rte_cpu_to_le_32(dev->dev_feature_sel);
	r->drv_feature_sel = rte_cpu_to_le_32(dev->drv_feature_sel);
	r->irq_pending = rte_cpu_to_le_32(__atomic_load_n(&dev->irq_pending, __ATOMIC_RELAXED));
	r->msix_config = rte_cpu_to_le_16(dev->msix_config);
	r->queue_sel = rte_cpu_to_le_16(dev->queue_sel);
	r->active_pairs = rte_cpu_to_le_16(dev->active_pairs);
	r->status = dev->status;
	r->config_gen = __atomic_load_n(&dev->config_gen, __ATOMIC_RELAXED);
	r->isr = __atomic_load_n(&dev->isr, __ATOMIC_RELAXED);
	r->flags = flags;
	memcpy(r->mac, dev->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	r->rx_modes = rte_cpu_to_le_32((f->promisc ? MIG_RX_PROMISC : 0) |
		(f->allmulti ? MIG_RX_ALLMULTI : 0) | (f->alluni ? MIG_RX_ALLUNI : 0) |
		(f->nomulti ? MIG_RX_NOMULTI : 0) | (f->nouni ? MIG_RX_NOUNI : 0) |
		(f->nobcast ? MIG_RX_NOBCAST : 0) |
		(f->uni_overflow ? MIG_RX_UNI_OVERFLOW : 0) |
		(f->multi_overflow ? MIG_RX_MULTI_OVERFLOW : 0));
	r->nr_uni = rte_cpu_to_le_32(f->nr_uni);
	r->nr_multi = rte_cpu_to_le_32(f->nr_multi);
	memcpy(r->filter_mac, f->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(r->table, f->table, sizeof(r->table));
}

static void
emu_vnet_mig_save_queue(const struct emu_vnet_queue *q, struct emu_vnet_mig_queue *r)
{
	const struct emu_vnet_vq *vq = &q->vq;
	uint16_t flags = (q->enabled ? MIG_Q_ENABLED : 0) | (q->ready ? MIG_Q_READY : 0);

	/* Wrap counters mean something on an enabled packed ring only. */
	if (vq->packed)
		flags |= MIG_Q_PACKED;
	if (vq->packed && q->enabled)
		flags |= (vq->avail_wrap ? MIG_Q_AVAIL_WRAP : 0) |
			(vq->used_wrap ? MIG_Q_USED_WRAP : 0);

	memset(r, 0, sizeof(*r));
	r->desc_iova = rte_cpu_to_le_64(vq->desc_iova);
	r->avail_iova = rte_cpu_to_le_64(vq->avail_iova);
	r->used_iova = rte_cpu_to_le_64(vq->used_iova);
	r->size = rte_cpu_to_le_16(vq->size);
	r->msix_vector = rte_cpu_to_le_16(q->msix_vector);
	r->notify_off = rte_cpu_to_le_16(q->index);
	r->flags = rte_cpu_to_le_16(flags);
	r->last_avail = rte_cpu_to_le_16(vq->last_avail);
	r->used_idx = rte_cpu_to_le_16(vq->used_idx);
}

/* The device is stopped, every queue lock held: write its state. */
static int
emu_vnet_mig_save_state(struct emu_vnet_dev *dev, uint8_t *buf, size_t len)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);
	struct emu_vnet_mig_queue qr;
	struct emu_vnet_mig_dev dr;
	struct emu_vnet_mig_hdr hdr;
	uint8_t *p = buf;
	uint16_t i;

	if (pci_size < 0 || len != emu_vnet_mig_size(dev, pci_size))
		return -EINVAL;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = rte_cpu_to_le_32(EMU_VNET_MIG_MAGIC);
	hdr.version = rte_cpu_to_le_16(EMU_VNET_MIG_VERSION);
	hdr.nr_vqs = rte_cpu_to_le_16(dev->nr_vqs);
	hdr.pci_size = rte_cpu_to_le_32((uint32_t)pci_size);
	hdr.total_size = rte_cpu_to_le_32((uint32_t)len);
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	emu_vnet_mig_save_dev(dev, &dr);
	memcpy(p, &dr, sizeof(dr));
	p += sizeof(dr);
	for (i = 0; i < dev->nr_vqs; i++) {
		emu_vnet_mig_save_queue(&dev->q[i], &qr);
		memcpy(p, &qr, sizeof(qr));
		p += sizeof(qr);
	}
	return rte_vfio_user_pci_save(dev->pci, p, pci_size) == pci_size ? 0 : -EIO;
}

/*
 * Load: the stream is decoded into CPU order, checked whole, then applied.
 */

static void
emu_vnet_mig_decode_dev(struct emu_vnet_mig_dev *r)
{
	r->dev_features = rte_le_to_cpu_64(r->dev_features);
	r->drv_features = rte_le_to_cpu_64(r->drv_features);
	r->features = rte_le_to_cpu_64(r->features);
	r->dev_feature_sel = rte_le_to_cpu_32(r->dev_feature_sel);
	r->drv_feature_sel = rte_le_to_cpu_32(r->drv_feature_sel);
	r->irq_pending = rte_le_to_cpu_32(r->irq_pending);
	r->msix_config = rte_le_to_cpu_16(r->msix_config);
	r->queue_sel = rte_le_to_cpu_16(r->queue_sel);
	r->active_pairs = rte_le_to_cpu_16(r->active_pairs);
	r->rx_modes = rte_le_to_cpu_32(r->rx_modes);
	r->nr_uni = rte_le_to_cpu_32(r->nr_uni);
	r->nr_multi = rte_le_to_cpu_32(r->nr_multi);
}

static void
emu_vnet_mig_decode_queue(struct emu_vnet_mig_queue *r)
{
	r->desc_iova = rte_le_to_cpu_64(r->desc_iova);
	r->avail_iova = rte_le_to_cpu_64(r->avail_iova);
	r->used_iova = rte_le_to_cpu_64(r->used_iova);
	r->size = rte_le_to_cpu_16(r->size);
	r->msix_vector = rte_le_to_cpu_16(r->msix_vector);
	r->notify_off = rte_le_to_cpu_16(r->notify_off);
	r->flags = rte_le_to_cpu_16(r->flags);
	r->last_avail = rte_le_to_cpu_16(r->last_avail);
	r->used_idx = rte_le_to_cpu_16(r->used_idx);
	r->reserved = rte_le_to_cpu_32(r->reserved);
}

/* An MSI-X vector this function has, or none. */
static bool
emu_vnet_mig_vector_ok(const struct emu_vnet_dev *dev, uint16_t v)
{
	return v <= dev->nr_vqs || v == VIRTIO_MSI_NO_VECTOR;
}

/* NULL when the device record fits this device, else what is wrong with it. */
static const char *
emu_vnet_mig_check_dev(const struct emu_vnet_dev *dev, const struct emu_vnet_mig_dev *r)
{
	struct rte_ether_addr mac;
	uint32_t vectors = (UINT32_C(1) << (dev->nr_vqs + 1)) - 1;
	bool features_ok = (r->status & VIRTIO_CONFIG_S_FEATURES_OK) != 0;

	/* No feature this device does not offer; negotiated ones as FEATURES_OK accepts them. */
	if ((r->dev_features & ~EMU_VNET_FEATURES) != 0 ||
			(r->drv_features & ~r->dev_features) != 0)
		return "a feature not offered";
	if ((features_ok && (r->features != r->drv_features ||
				!emu_vnet_features_ok(r->features))) ||
			(!features_ok && r->features != 0))
		return "negotiated features FEATURES_OK would refuse";
	/* NEEDS_RESET is the device's bit, kept in the flags. */
	if ((r->status & VIRTIO_CONFIG_S_NEEDS_RESET) != 0 || (r->flags & ~MIG_F_ALL) != 0 ||
			(r->isr & ~(VIRTIO_PCI_ISR_CONFIG | EMU_VNET_ISR_QUEUE)) != 0)
		return "unknown status, flag or ISR bits";
	if ((r->irq_pending & ~vectors) != 0 || !emu_vnet_mig_vector_ok(dev, r->msix_config))
		return "an MSI-X vector the function does not have";
	if (r->active_pairs < 1 || r->active_pairs > dev->nr_pairs)
		return "more queue pairs in use than offered";
	memcpy(mac.addr_bytes, r->mac, RTE_ETHER_ADDR_LEN);
	if (!rte_is_unicast_ether_addr(&mac) || rte_is_zero_ether_addr(&mac))
		return "not a unicast MAC";
	/* The filter as the control queue leaves it: an overflowing table holds no entry. */
	if ((r->rx_modes & ~MIG_RX_ALL) != 0 || r->nr_uni > EMU_VNET_MAC_TABLE ||
			r->nr_multi > EMU_VNET_MAC_TABLE - r->nr_uni ||
			((r->rx_modes & MIG_RX_UNI_OVERFLOW) && r->nr_uni != 0) ||
			((r->rx_modes & MIG_RX_MULTI_OVERFLOW) && r->nr_multi != 0))
		return "a receive filter the control queue cannot set";
	return NULL;
}

/* NULL when a queue record fits this device, else what is wrong with it. */
static const char *
emu_vnet_mig_check_queue(const struct emu_vnet_dev *dev, const struct emu_vnet_mig_dev *d,
		const struct emu_vnet_mig_queue *r, uint16_t index)
{
	bool packed = (r->flags & MIG_Q_PACKED) != 0, avail_wrap, used_wrap;
	struct emu_vnet_vq vq;

	if (r->notify_off != index || r->reserved != 0 || (r->flags & ~MIG_Q_ALL) != 0)
		return "another notify offset, or unknown queue bits";
	if (!emu_vnet_mig_vector_ok(dev, r->msix_vector))
		return "a queue MSI-X vector the function does not have";
	if (!(r->flags & MIG_Q_ENABLED))
		/* Size and addresses are whatever the driver wrote; nothing runs yet. */
		return (r->flags & ~MIG_Q_PACKED) == 0 && r->last_avail == 0 &&
			r->used_idx == 0 ? NULL : "a disabled queue with a position";
	/* Enabled: the layout negotiated, a size and rings the enable accepted. */
	if (packed != ((d->features & (UINT64_C(1) << VIRTIO_F_RING_PACKED)) != 0))
		return "a ring layout not negotiated";
	/* A queue that stopped on a guest error asked for a reset. */
	if (!(r->flags & MIG_Q_READY) && !(d->flags & MIG_F_NEEDS_RESET))
		return "a queue stopped without NEEDS_RESET";
	memset(&vq, 0, sizeof(vq));
	vq.size = r->size;
	vq.packed = packed;
	vq.desc_iova = r->desc_iova;
	vq.avail_iova = r->avail_iova;
	vq.used_iova = r->used_iova;
	if (emu_vnet_vq_check(&vq) < 0)
		return "a queue size or ring alignment enable refuses";
	/* Nothing in flight (see the file comment): used position = available position. */
	if (r->used_idx != r->last_avail)
		return "chains in flight";
	avail_wrap = (r->flags & MIG_Q_AVAIL_WRAP) != 0;
	used_wrap = (r->flags & MIG_Q_USED_WRAP) != 0;
	/* Packed: a descriptor slot inside the ring; split: free-running, no wrap counter. */
	if (packed)
		return r->last_avail < r->size && avail_wrap == used_wrap ? NULL :
			"a position outside the ring";
	return !avail_wrap && !used_wrap ? NULL : "wrap counters on a split ring";
}

static void
emu_vnet_mig_apply_dev(struct emu_vnet_dev *dev, const struct emu_vnet_mig_dev *r)
{
	struct emu_vnet_filter *f = &dev->filter;
	struct rte_eth_dev *eth = &rte_eth_devices[dev->port_id];

	dev->drv_features = r->drv_features;
	dev->features = r->features;
	dev->dev_feature_sel = r->dev_feature_sel;
	dev->drv_feature_sel = r->drv_feature_sel;
	__atomic_store_n(&dev->irq_pending, r->irq_pending, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->msix_config, r->msix_config, __ATOMIC_RELAXED);
	dev->queue_sel = r->queue_sel;
	dev->active_pairs = r->active_pairs;
	__atomic_store_n(&dev->status, r->status, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->config_gen, r->config_gen, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->isr, r->isr, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->needs_reset, (r->flags & MIG_F_NEEDS_RESET) != 0,
		__ATOMIC_RELAXED);
	/* The guest's NIC keeps its address; the port answers for it, as at probe. */
	memcpy(dev->mac.addr_bytes, r->mac, RTE_ETHER_ADDR_LEN);
	if (eth->data->mac_addrs != NULL)
		eth->data->mac_addrs[0] = dev->mac;
	memset(f, 0, sizeof(*f));
	f->promisc = (r->rx_modes & MIG_RX_PROMISC) != 0;
	f->allmulti = (r->rx_modes & MIG_RX_ALLMULTI) != 0;
	f->alluni = (r->rx_modes & MIG_RX_ALLUNI) != 0;
	f->nomulti = (r->rx_modes & MIG_RX_NOMULTI) != 0;
	f->nouni = (r->rx_modes & MIG_RX_NOUNI) != 0;
	f->nobcast = (r->rx_modes & MIG_RX_NOBCAST) != 0;
	f->uni_overflow = (r->rx_modes & MIG_RX_UNI_OVERFLOW) != 0;
	f->multi_overflow = (r->rx_modes & MIG_RX_MULTI_OVERFLOW) != 0;
	memcpy(f->mac.addr_bytes, r->filter_mac, RTE_ETHER_ADDR_LEN);
	f->nr_uni = r->nr_uni;
	f->nr_multi = r->nr_multi;
	memcpy(f->table, r->table, sizeof(f->table));
}

static void
emu_vnet_mig_apply_queue(struct emu_vnet_dev *dev, struct emu_vnet_queue *q,
		const struct emu_vnet_mig_queue *r)
{
	struct emu_vnet_vq *vq = &q->vq;

	__atomic_store_n(&q->msix_vector, r->msix_vector, __ATOMIC_RELAXED);
	q->enabled = (r->flags & MIG_Q_ENABLED) != 0;
	q->ready = (r->flags & MIG_Q_READY) != 0;
	q->wait_map = q->ready;
	memset(vq, 0, sizeof(*vq));
	vq->log_dev = dev->dev_id;
	vq->size = r->size;
	vq->packed = (r->flags & MIG_Q_PACKED) != 0;
	/* Split: as emu_vnet_vq_start() leaves them (unused). */
	vq->avail_wrap = !vq->packed || (r->flags & MIG_Q_AVAIL_WRAP) != 0;
	vq->used_wrap = !vq->packed || (r->flags & MIG_Q_USED_WRAP) != 0;
	vq->last_avail = r->last_avail;
	vq->used_idx = r->used_idx;
	vq->used_pub = r->used_idx;
	vq->desc_iova = r->desc_iova;
	vq->avail_iova = r->avail_iova;
	vq->used_iova = r->used_iova;
	/* No translation yet: the next burst maps the rings on this side's DMA table. */
	q->mem_gen = dev->mem_gen - 1;
}

static int
emu_vnet_mig_refuse(const struct emu_vnet_dev *dev, const char *why, int vq)
{
	if (vq < 0)
		EMU_VNET_LOG(ERR, "%s: migration stream refused: %s", dev->name, why);
	else
		EMU_VNET_LOG(ERR, "%s: migration stream refused: virtqueue %d: %s", dev->name,
			vq, why);
	return -EINVAL;
}

/*
 * Check a whole stream against this device, then apply it. The caller holds
 * every queue lock and the device is stopped.
 */
static int
emu_vnet_mig_load_state(struct emu_vnet_dev *dev, const uint8_t *buf, size_t len)
{
	ssize_t pci_size = rte_vfio_user_pci_state_size(dev->pci);
	struct emu_vnet_mig_queue qr[EMU_VNET_MAX_VQS];
	struct emu_vnet_mig_hdr hdr;
	struct emu_vnet_mig_dev dr;
	const uint8_t *p = buf;
	const char *why;
	uint16_t i;
	int ret;

	if (pci_size < 0 || len < sizeof(hdr))
		return emu_vnet_mig_refuse(dev, "shorter than a header", -1);
	memcpy(&hdr, p, sizeof(hdr));
	if (rte_le_to_cpu_32(hdr.magic) != EMU_VNET_MIG_MAGIC ||
			rte_le_to_cpu_16(hdr.version) != EMU_VNET_MIG_VERSION)
		return emu_vnet_mig_refuse(dev, "not a version 1 stream", -1);
	if (rte_le_to_cpu_16(hdr.nr_vqs) != dev->nr_vqs ||
			rte_le_to_cpu_32(hdr.pci_size) != (uint32_t)pci_size ||
			rte_le_to_cpu_32(hdr.total_size) != len ||
			len != emu_vnet_mig_size(dev, pci_size))
		return emu_vnet_mig_refuse(dev, "another queue count or size", -1);
	p += sizeof(hdr);
	memcpy(&dr, p, sizeof(dr)); /* the stream is not aligned */
	p += sizeof(dr);
	emu_vnet_mig_decode_dev(&dr);
	why = emu_vnet_mig_check_dev(dev, &dr);
	if (why != NULL)
		return emu_vnet_mig_refuse(dev, why, -1);
	for (i = 0; i < dev->nr_vqs; i++) {
		memcpy(&qr[i], p, sizeof(qr[i]));
		p += sizeof(qr[i]);
		emu_vnet_mig_decode_queue(&qr[i]);
		why = emu_vnet_mig_check_queue(dev, &dr, &qr[i], i);
		if (why != NULL)
			return emu_vnet_mig_refuse(dev, why, i);
	}
	/* The PCI image is checked whole by the helper before it changes anything. */
	ret = rte_vfio_user_pci_restore(dev->pci, p, pci_size);
	if (ret < 0)
		return emu_vnet_mig_refuse(dev, "a PCI image the helper refuses", -1);

	emu_vnet_mig_apply_dev(dev, &dr);
	for (i = 0; i < dev->nr_vqs; i++)
		emu_vnet_mig_apply_queue(dev, &dev->q[i], &qr[i]);
	/* The guest saw the source's port link: tell it when this port differs. */
	if (((dr.flags & MIG_F_LINK_UP) != 0) !=
			__atomic_load_n(&dev->port_started, __ATOMIC_RELAXED) &&
			(dr.status & VIRTIO_CONFIG_S_DRIVER_OK))
		emu_vnet_config_changed(dev); /* held in irq_pending: the device is stopped */
	return 0;
}

/*
 * The state machine.
 */

static void
emu_vnet_mig_end_session(struct emu_vnet_dev *dev)
{
	free(dev->mig_buf);
	dev->mig_buf = NULL;
	dev->mig_len = 0;
	dev->mig_off = 0;
}

void
emu_vnet_mig_drop(struct emu_vnet_dev *dev)
{
	emu_vnet_mig_end_session(dev);
	__atomic_store_n(&dev->mig_stopped, false, __ATOMIC_SEQ_CST);
}

void
emu_vnet_mig_irq_flush(struct emu_vnet_dev *dev)
{
	uint32_t pending = __atomic_exchange_n(&dev->irq_pending, 0, __ATOMIC_RELAXED);
	uint16_t v;

	for (v = 0; pending != 0; v++, pending >>= 1)
		if (pending & 1)
			(void)rte_vfio_user_pci_irq_raise(dev->pci, RTE_VFIO_USER_PCI_IRQ_MSIX, v);
}

/* Under every queue lock: no burst runs; wait for the interrupts being raised. */
static void
emu_vnet_mig_stop(struct emu_vnet_dev *dev)
{
	__atomic_store_n(&dev->mig_stopped, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&dev->irq_busy, __ATOMIC_SEQ_CST) != 0)
		rte_pause();
}

/* Start a save or load session with a stream buffer of this device's size. */
static int
emu_vnet_mig_session(struct emu_vnet_dev *dev)
{
	size_t len = emu_vnet_mig_stream_size(dev);

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

/* Take one arc, every queue lock held. */
static int
emu_vnet_mig_arc(struct emu_vnet_dev *dev, enum rte_vfio_user_mig_state from,
		enum rte_vfio_user_mig_state to)
{
	int ret;

	switch (to) {
	case RTE_VFIO_USER_MIG_STOP:
		emu_vnet_mig_stop(dev);
		ret = 0;
		if (from == RTE_VFIO_USER_MIG_RESUMING)
			ret = emu_vnet_mig_load_state(dev, dev->mig_buf, dev->mig_off);
		emu_vnet_mig_end_session(dev); /* ends a save or load */
		return ret;
	case RTE_VFIO_USER_MIG_RUNNING:
		emu_vnet_mig_drop(dev);
		return 0;
	case RTE_VFIO_USER_MIG_PRE_COPY:
		/* Nothing to send ahead: the state is small and written at STOP_COPY. */
		return 0;
	case RTE_VFIO_USER_MIG_STOP_COPY:
		emu_vnet_mig_stop(dev);
		ret = emu_vnet_mig_session(dev);
		if (ret == 0)
			ret = emu_vnet_mig_save_state(dev, dev->mig_buf, dev->mig_len);
		return ret;
	case RTE_VFIO_USER_MIG_RESUMING:
		return emu_vnet_mig_session(dev);
	default:
		return -EINVAL;
	}
}

static int
emu_vnet_mig_transition(int dev_id, enum rte_vfio_user_mig_state from,
		enum rte_vfio_user_mig_state to)
{
	struct emu_vnet_dev *dev = rte_vfio_user_get_priv(dev_id);
	bool taken;
	int ret;

	if (dev == NULL)
		return -ENODEV;
	taken = emu_vnet_lock_all(dev);
	ret = emu_vnet_mig_arc(dev, from, to);
	emu_vnet_unlock_all(dev, taken);
	EMU_VNET_LOG(DEBUG, "%s: migration state %d -> %d: %d", dev->name, from, to, ret);
	if (ret < 0)
		return ret;
	/* A loaded state: the ethdev link follows the guest's DRIVER_OK, as always. */
	if (from == RTE_VFIO_USER_MIG_RESUMING)
		emu_vnet_link_set(dev, (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) != 0);
	if (to == RTE_VFIO_USER_MIG_RUNNING) {
		uint16_t i;

		emu_vnet_mig_irq_flush(dev);
		/* A kick while stopped was not acted on: look at the control queue now. */
		emu_vnet_ctrl_kick(dev);
		/* Rx interrupts the port enabled meanwhile, or before a load. */
		for (i = 0; i < EMU_VNET_MAX_VQS; i++)
			if (dev->q[i].intr_on)
				emu_vnet_notify_set(&dev->q[i], true);
	}
	return 0;
}

static ssize_t
emu_vnet_mig_save(int dev_id, void *buf, size_t len)
{
	struct emu_vnet_dev *dev = rte_vfio_user_get_priv(dev_id);
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
emu_vnet_mig_load(int dev_id, const void *buf, size_t len)
{
	struct emu_vnet_dev *dev = rte_vfio_user_get_priv(dev_id);

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
emu_vnet_mig_data_size(int dev_id, uint64_t *len)
{
	struct emu_vnet_dev *dev = rte_vfio_user_get_priv(dev_id);

	if (dev == NULL)
		return -ENODEV;
	*len = dev->mig_buf != NULL ? dev->mig_len - dev->mig_off :
		emu_vnet_mig_stream_size(dev);
	return 0;
}

static const struct rte_vfio_user_mig_ops emu_vnet_mig_ops = {
	.size = sizeof(struct rte_vfio_user_mig_ops),
	.flags = RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY,
	.transition = emu_vnet_mig_transition,
	.save = emu_vnet_mig_save,
	.load = emu_vnet_mig_load,
	.data_size = emu_vnet_mig_data_size,
};

int
emu_vnet_mig_register(struct emu_vnet_dev *dev)
{
	return rte_vfio_user_set_migration(dev->path, &emu_vnet_mig_ops);
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The control virtqueue (virtio 1.x section 5.1.6.5): receive modes, MAC
 * filter and address, number of queue pairs. It runs on the control thread
 * when the guest kicks the queue (a trapped write to the notify area); the
 * receive filter it sets is applied by tx_burst (frames for the guest).
 */

#include <string.h>

#include <linux/virtio_config.h>

#include <rte_byteorder.h>

#include "emu_vnet_priv.h"

#define HAS(dev, f) (((dev)->features & (UINT64_C(1) << (f))) != 0)

void
emu_vnet_filter_reset(struct emu_vnet_dev *dev)
{
	struct emu_vnet_filter *f = &dev->filter;

	memset(f, 0, sizeof(*f));
	/* As QEMU's device: promiscuous until the driver says otherwise. */
	f->promisc = true;
	f->mac = dev->mac;
}

static bool
emu_vnet_in_table(const struct rte_ether_addr *t, uint32_t n, const struct rte_ether_addr *a)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (rte_is_same_ether_addr(&t[i], a))
			return true;
	return false;
}

bool
emu_vnet_filter_accepts(const struct emu_vnet_filter *f, const struct rte_ether_addr *dst)
{
	if (f->promisc)
		return true;
	if (rte_is_broadcast_ether_addr(dst))
		return !f->nobcast;
	if (rte_is_multicast_ether_addr(dst)) {
		if (f->nomulti)
			return false;
		return f->allmulti || f->multi_overflow ||
			emu_vnet_in_table(&f->table[f->nr_uni], f->nr_multi, dst);
	}
	if (f->nouni)
		return false;
	return f->alluni || f->uni_overflow || rte_is_same_ether_addr(&f->mac, dst) ||
		emu_vnet_in_table(f->table, f->nr_uni, dst);
}

/* VIRTIO_NET_CTRL_RX: one byte, on or off. */
static uint8_t
emu_vnet_ctrl_rx(struct emu_vnet_filter *f, uint8_t cmd, const struct emu_vnet_chain *c)
{
	uint8_t on;

	if (c->out_len != 3 || emu_vnet_chain_read(c, 2, &on, 1) != 1)
		return VIRTIO_NET_ERR;
	/* The others need VIRTIO_NET_F_CTRL_RX_EXTRA, not offered. */
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		f->promisc = on != 0;
	else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
		f->allmulti = on != 0;
	else
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

/* One table of VIRTIO_NET_CTRL_MAC_TABLE_SET at *off: le32 count, then addresses. */
static int
emu_vnet_read_table(const struct emu_vnet_chain *c, uint32_t *off, struct rte_ether_addr *t,
		uint32_t room, uint32_t *nr, bool *overflow)
{
	uint32_t n, i;

	/* Only the device-readable part is the command; the rest is the ack. */
	if (*off + 4 > c->out_len || emu_vnet_chain_read(c, *off, &n, 4) != 4)
		return -1;
	n = rte_le_to_cpu_32(n);
	*off += 4;
	if (n > (c->out_len - *off) / RTE_ETHER_ADDR_LEN)
		return -1;
	*overflow = n > room;
	*nr = *overflow ? 0 : n;
	for (i = 0; i < *nr; i++)
		emu_vnet_chain_read(c, *off + i * RTE_ETHER_ADDR_LEN, &t[i], RTE_ETHER_ADDR_LEN);
	*off += n * RTE_ETHER_ADDR_LEN;
	return 0;
}

static uint8_t
emu_vnet_ctrl_mac(struct emu_vnet_dev *dev, struct emu_vnet_filter *f, uint8_t cmd,
		const struct emu_vnet_chain *c)
{
	uint32_t off = 2;

	if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET && HAS(dev, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
		if (c->out_len != 2 + RTE_ETHER_ADDR_LEN)
			return VIRTIO_NET_ERR;
		emu_vnet_chain_read(c, 2, &f->mac, RTE_ETHER_ADDR_LEN);
		return VIRTIO_NET_OK;
	}
	if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !HAS(dev, VIRTIO_NET_F_CTRL_RX))
		return VIRTIO_NET_ERR;
	if (emu_vnet_read_table(c, &off, f->table, EMU_VNET_MAC_TABLE, &f->nr_uni,
				&f->uni_overflow) < 0 ||
			emu_vnet_read_table(c, &off, &f->table[f->nr_uni],
				EMU_VNET_MAC_TABLE - f->nr_uni, &f->nr_multi,
				&f->multi_overflow) < 0 ||
			off != c->out_len)
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

static uint8_t
emu_vnet_ctrl_mq(struct emu_vnet_dev *dev, uint8_t cmd, const struct emu_vnet_chain *c,
		uint16_t *pairs)
{
	uint16_t n;

	if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || c->out_len != 4 ||
			emu_vnet_chain_read(c, 2, &n, 2) != 2)
		return VIRTIO_NET_ERR;
	n = rte_le_to_cpu_16(n);
	if (n < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || n > dev->nr_pairs)
		return VIRTIO_NET_ERR;
	*pairs = n;
	return VIRTIO_NET_OK;
}

/* Run one command against a copy of the state; applied only when it succeeds. */
static uint8_t
emu_vnet_ctrl_cmd(struct emu_vnet_dev *dev, const struct emu_vnet_chain *c)
{
	struct emu_vnet_filter f = dev->filter;
	uint16_t pairs = dev->active_pairs;
	uint8_t hdr[2], ack = VIRTIO_NET_ERR;
	bool taken;

	if (c->out_len < 2 || emu_vnet_chain_read(c, 0, hdr, 2) != 2)
		return VIRTIO_NET_ERR;
	if (hdr[0] == VIRTIO_NET_CTRL_RX && HAS(dev, VIRTIO_NET_F_CTRL_RX))
		ack = emu_vnet_ctrl_rx(&f, hdr[1], c);
	else if (hdr[0] == VIRTIO_NET_CTRL_MAC)
		ack = emu_vnet_ctrl_mac(dev, &f, hdr[1], c);
	else if (hdr[0] == VIRTIO_NET_CTRL_MQ && HAS(dev, VIRTIO_NET_F_MQ))
		ack = emu_vnet_ctrl_mq(dev, hdr[1], c, &pairs);
	EMU_VNET_LOG(DEBUG, "%s: control class %u command %u: %s", dev->name, hdr[0], hdr[1],
		ack == VIRTIO_NET_OK ? "ok" : "refused");
	if (ack != VIRTIO_NET_OK)
		return ack;
	/* The bursts read the filter and the pair count under their queue lock. */
	taken = emu_vnet_lock_all(dev);
	dev->filter = f;
	dev->active_pairs = pairs;
	emu_vnet_unlock_all(dev, taken);
	return ack;
}

void
emu_vnet_ctrl_kick(struct emu_vnet_dev *dev)
{
	struct emu_vnet_queue *q = &dev->q[dev->nr_vqs - 1];
	struct emu_vnet_chain c;
	bool irq = false;
	uint8_t ack;
	int ret;

	/* Only this thread uses the control queue; the lock keeps lock_dp(1) out. */
	emu_vnet_q_lock(q);
	if (!q->ready || !(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) || dev->mig_stopped ||
			(q->mem_gen != dev->mem_gen && !emu_vnet_queue_remap(q))) {
		emu_vnet_q_unlock(q);
		return;
	}
	for (;;) {
		ret = emu_vnet_vq_pop(&q->vq, dev->mt, EMU_VNET_DEV_BOTH, &c);
		if (ret == -ENOENT)
			break;
		if (ret == -EIO) {
			q->ready = false;
			emu_vnet_q_unlock(q);
			emu_vnet_needs_reset(dev, "available ring corrupt", q->index);
			return;
		}
		emu_vnet_q_unlock(q);
		/* A command changes state under every queue lock, this one included. */
		ack = ret == 0 ? emu_vnet_ctrl_cmd(dev, &c) : VIRTIO_NET_ERR;
		emu_vnet_q_lock(q);
		if (!q->ready)
			break;
		if (ret == 0 && c.len > c.out_len &&
				emu_vnet_chain_write(&c, c.out_len, &ack, 1) == 1) {
			emu_vnet_chain_dirty(&q->vq, &c, c.out_len, 1);
			emu_vnet_vq_push(&q->vq, &c, 1);
		} else {
			q->stats.guest_errors++;
			emu_vnet_vq_push(&q->vq, &c, 0);
		}
		irq |= emu_vnet_vq_publish(&q->vq);
	}
	emu_vnet_q_unlock(q);
	if (irq)
		emu_vnet_vq_irq(q);
}

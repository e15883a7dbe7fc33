/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Burst functions: rx_burst takes what the guest transmitted, tx_burst
 * copies frames into the guest's receive buffers. Both poll the rings in
 * client memory on the calling lcore and never send a message; the only
 * cross-thread traffic is the queue lock (taken with trylock: while the
 * control thread holds it, for a DMA table change for instance, a burst
 * returns 0) and the MSI-X eventfd write when the guest wants interrupts.
 */

#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>

#include <ethdev_driver.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "emu_vnet_priv.h"

/* Every frame carries struct virtio_net_hdr_mrg_rxbuf in 1.x (section 5.1.6). */
#define EMU_VNET_HDR_LEN sizeof(struct virtio_net_hdr_mrg_rxbuf)
/* mbufs a burst allocates or frees at a time. */
#define EMU_VNET_BULK 32

/*
 * Take the queue for a burst: locked, the driver running (no buffer is used
 * before DRIVER_OK), the device not stopped for a migration, the queue
 * ready, its rings mapped for the current DMA table. A migration stop takes
 * every queue lock: it happens between two bursts, never inside one.
 */
static bool
emu_vnet_burst_begin(struct emu_vnet_queue *q)
{
	if (!emu_vnet_q_trylock(q))
		return false;
	if (q->ready && (__atomic_load_n(&q->dev->status, __ATOMIC_RELAXED) &
				VIRTIO_CONFIG_S_DRIVER_OK) &&
			!__atomic_load_n(&q->dev->mig_stopped, __ATOMIC_RELAXED) &&
			(q->mem_gen == q->dev->mem_gen || emu_vnet_queue_remap(q)))
		return true;
	emu_vnet_q_unlock(q);
	return false;
}

static void
emu_vnet_burst_end(struct emu_vnet_queue *q)
{
	bool irq = emu_vnet_vq_publish(&q->vq);

	emu_vnet_q_unlock(q);
	if (irq)
		emu_vnet_vq_irq(q);
}

/* The available ring is beyond repair: the queue stops until the guest resets. */
static void
emu_vnet_broken(struct emu_vnet_queue *q)
{
	q->ready = false;
	emu_vnet_needs_reset(q->dev, "available ring corrupt", q->index);
}

/*
 * Copy a guest frame (after its header) into @p head, chaining more mbufs
 * if it does not fit; NULL (and @p head freed) when out of mbufs.
 */
static struct rte_mbuf *
emu_vnet_to_mbuf(struct emu_vnet_queue *q, const struct emu_vnet_chain *c,
		struct rte_mbuf *head)
{
	uint32_t off = EMU_VNET_HDR_LEN, left = c->len - EMU_VNET_HDR_LEN, n;
	struct rte_mbuf *seg, *prev;

	seg = head;
	for (;;) {
		n = RTE_MIN(left, (uint32_t)rte_pktmbuf_tailroom(seg));
		emu_vnet_chain_read(c, off, rte_pktmbuf_mtod(seg, void *), n);
		seg->data_len = n;
		head->pkt_len += n;
		off += n;
		left -= n;
		if (left == 0)
			break;
		prev = seg;
		seg = rte_pktmbuf_alloc(q->mb_pool);
		if (seg == NULL || n == 0) {
			rte_pktmbuf_free(seg);
			rte_pktmbuf_free(head);
			return NULL;
		}
		prev->next = seg;
		head->nb_segs++;
	}
	head->port = q->port_id;
	return head;
}

uint16_t
emu_vnet_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct emu_vnet_queue *q = rxq;
	struct emu_vnet_chain *c = &q->bufs[0];
	struct rte_mbuf *fresh[EMU_VNET_BULK];
	uint16_t nb = 0, nb_fresh = 0, next = 0;
	struct emu_vnet_vq_pos pos;
	struct rte_mbuf *m;
	uint32_t frame;
	int ret;

	if (!emu_vnet_burst_begin(q))
		return 0;
	while (nb < nb_pkts) {
		/* mbufs in bulk, as many as there are frames to take (or a frame is bad). */
		if (next == nb_fresh) {
			nb_fresh = emu_vnet_vq_ready(&q->vq,
				RTE_MIN(nb_pkts - nb, (uint16_t)EMU_VNET_BULK));
			next = 0;
			if (nb_fresh == 0)
				break;
			if (rte_pktmbuf_alloc_bulk(q->mb_pool, fresh, nb_fresh) != 0) {
				/* Left in the ring for a later burst. */
				nb_fresh = 0;
				rte_eth_devices[q->port_id].data->rx_mbuf_alloc_failed++;
				break;
			}
		}
		emu_vnet_vq_mark(&q->vq, &pos);
		ret = emu_vnet_vq_pop(&q->vq, q->dev->mt, EMU_VNET_DEV_READS, c);
		if (ret == -ENOENT)
			break;
		if (ret == -EIO) {
			emu_vnet_broken(q);
			break;
		}
		if (ret < 0) {
			q->stats.guest_errors++;
			emu_vnet_vq_push(&q->vq, c, 0);
			continue;
		}
		frame = c->len - RTE_MIN(c->len, (uint32_t)EMU_VNET_HDR_LEN);
		if (c->len < EMU_VNET_HDR_LEN || frame < RTE_ETHER_HDR_LEN ||
				frame > EMU_VNET_MAX_FRAME) {
			q->stats.dropped++;
			emu_vnet_vq_push(&q->vq, c, 0);
			continue;
		}
		m = emu_vnet_to_mbuf(q, c, fresh[next++]);
		if (m == NULL) {
			emu_vnet_vq_rewind(&q->vq, &pos);
			rte_eth_devices[q->port_id].data->rx_mbuf_alloc_failed++;
			break;
		}
		/* The guest's buffers are only read: the used length is 0. */
		emu_vnet_vq_push(&q->vq, c, 0);
		q->stats.packets++;
		q->stats.bytes += frame;
		pkts[nb++] = m;
	}
	if (next < nb_fresh)
		rte_pktmbuf_free_bulk(&fresh[next], nb_fresh - next);
	emu_vnet_burst_end(q);
	return nb;
}

/*
 * Take enough receive chains for @p need bytes: 1 without MRG_RXBUF (it
 * must hold the frame), up to EMU_VNET_MAX_BUFS with it. Bad chains met on
 * the way, and a first one too short for the header, are given back empty.
 * Returns the chains taken; 0 when the guest has not posted enough (the
 * frame stays with the caller); -1 when the frame can never fit (dropped)
 * or the ring broke. Chains taken and not
 * used go back to the available ring, or, once a bad chain was given back
 * (the ring cannot be rewound past it), to the used ring empty.
 */
static int
emu_vnet_take_bufs(struct emu_vnet_queue *q, uint32_t need, bool mrg)
{
	struct emu_vnet_vq_pos start;
	uint32_t room = 0;
	bool pinned = false;
	int n = 0, i, ret;

	emu_vnet_vq_mark(&q->vq, &start);
	while (room < need) {
		if (n == (mrg ? EMU_VNET_MAX_BUFS : 1)) {
			ret = -E2BIG;
			goto give_back;
		}
		ret = emu_vnet_vq_pop(&q->vq, q->dev->mt, EMU_VNET_DEV_WRITES, &q->bufs[n]);
		/* The header goes whole into the first buffer (section 5.1.6.3.1). */
		if (ret == 0 && n == 0 && q->bufs[0].len < EMU_VNET_HDR_LEN)
			ret = -EINVAL;
		if (ret == -EINVAL) {
			q->stats.guest_errors++;
			emu_vnet_vq_push(&q->vq, &q->bufs[n], 0);
			pinned = true;
			continue;
		}
		if (ret < 0)
			goto give_back;
		room += q->bufs[n].len;
		n++;
	}
	return n;
give_back:
	if (pinned)
		for (i = 0; i < n; i++)
			emu_vnet_vq_push(&q->vq, &q->bufs[i], 0);
	else
		emu_vnet_vq_rewind(&q->vq, &start);
	if (ret == -EIO)
		emu_vnet_broken(q);
	return ret == -ENOENT ? 0 : -1;
}

/* Copy one frame into the chains taken for it and hand them to the guest. */
static void
emu_vnet_from_mbuf(struct emu_vnet_queue *q, const struct rte_mbuf *m, int nbufs)
{
	/*
	 * The header is all zero but num_buffers (its last 2 bytes): two register
	 * stores. Built in a struct on the stack and copied, its bytes are loaded
	 * back by loads that the stores just made cannot forward to, and that wait
	 * for every store before them (the previous frames' writes to guest
	 * memory) to reach the cache.
	 */
	const uint64_t hdr_lo = 0;
	const uint32_t hdr_hi = rte_cpu_to_le_32((uint32_t)nbufs << 16);
	const struct emu_vnet_seg *first = &q->bufs[0].seg[0];
	struct virtio_net_hdr_mrg_rxbuf hdr;
	const struct rte_mbuf *seg = m;
	uint32_t seg_off = 0, done, n;
	int b;

	RTE_BUILD_BUG_ON(sizeof(hdr) != sizeof(hdr_lo) + sizeof(hdr_hi));
	if (likely(first->len >= sizeof(hdr))) {
		memcpy(first->va, &hdr_lo, sizeof(hdr_lo));
		memcpy(first->va + sizeof(hdr_lo), &hdr_hi, sizeof(hdr_hi));
	} else {
		memset(&hdr, 0, sizeof(hdr));
		hdr.num_buffers = rte_cpu_to_le_16((uint16_t)nbufs);
		emu_vnet_chain_write(&q->bufs[0], 0, &hdr, sizeof(hdr));
	}
	done = sizeof(hdr);
	for (b = 0; b < nbufs; b++) {
		const struct emu_vnet_chain *c = &q->bufs[b];

		while (seg != NULL && done < c->len) {
			n = RTE_MIN(seg->data_len - seg_off, c->len - done);
			emu_vnet_chain_write(c, done,
				rte_pktmbuf_mtod_offset(seg, const uint8_t *, seg_off), n);
			done += n;
			seg_off += n;
			if (seg_off == seg->data_len) {
				seg = seg->next;
				seg_off = 0;
			}
		}
		/* Buffer, then used entry: the guest may read it once it is published. */
		emu_vnet_chain_dirty(&q->vq, c, 0, done);
		emu_vnet_vq_push(&q->vq, c, done);
		done = 0;
	}
}

uint16_t
emu_vnet_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct emu_vnet_queue *q = txq;
	struct emu_vnet_dev *dev = q->dev;
	struct rte_mbuf *done[EMU_VNET_BULK];
	const struct rte_ether_hdr *eh;
	unsigned int nb_done = 0;
	struct rte_mbuf *m;
	uint16_t nb;
	bool mrg;
	int n;

	if (!emu_vnet_burst_begin(q))
		return 0;
	/* A pair the guest does not use (MQ) takes nothing. */
	if (q->index / 2 >= dev->active_pairs) {
		emu_vnet_q_unlock(q);
		return 0;
	}
	mrg = (dev->features & (UINT64_C(1) << VIRTIO_NET_F_MRG_RXBUF)) != 0;
	for (nb = 0; nb < nb_pkts; nb++) {
		m = pkts[nb];
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (m->pkt_len > EMU_VNET_MAX_FRAME || m->data_len < RTE_ETHER_HDR_LEN ||
				!emu_vnet_filter_accepts(&dev->filter, &eh->dst_addr)) {
			q->stats.dropped++;
			rte_pktmbuf_free(m);
			continue;
		}
		n = emu_vnet_take_bufs(q, EMU_VNET_HDR_LEN + m->pkt_len, mrg);
		if (n == 0)
			break; /* the guest's ring is full: the rest stays with the caller */
		if (n > 0) {
			emu_vnet_from_mbuf(q, m, n);
			q->stats.packets++;
			q->stats.bytes += m->pkt_len;
		} else {
			q->stats.dropped++;
		}
		done[nb_done++] = m;
		if (nb_done == RTE_DIM(done)) {
			rte_pktmbuf_free_bulk(done, nb_done);
			nb_done = 0;
		}
		if (!q->ready) {
			nb++; /* this one is consumed */
			break;
		}
	}
	emu_vnet_burst_end(q);
	if (nb_done > 0)
		rte_pktmbuf_free_bulk(done, nb_done);
	return nb;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Split virtqueues in DPDK memory and the burst functions. The device (a
 * process that has all DPDK memory mapped through the bus) reads and writes
 * the rings directly; the driver polls the used rings and notifies only when
 * the device asks for it (used flags, or avail_event with EVENT_IDX).
 *
 * Free descriptors form a list through their next fields, so a Tx chain is
 * taken from the list as it is (its links are already the chain's) and given
 * back by relinking its last descriptor. Rx buffers are one descriptor each,
 * an mbuf whose data area is preceded by the virtio-net header in its
 * headroom; with MRG_RXBUF a packet may span several, chained into one mbuf
 * chain.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ethdev_driver.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_io.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>

#include "vu_virtio.h"

/* Refill the Rx ring once this many buffers are free. */
#define VUV_RX_REFILL		32
/* How long a control command may take. */
#define VUV_CTRL_TIMEOUT_US	(5 * 1000 * 1000)
#define VUV_CTRL_BUF_SIZE	64

static size_t
vuv_avail_size(uint16_t size)
{
	return sizeof(struct vuv_avail) + sizeof(uint16_t) * (size + 1u);
}

static size_t
vuv_used_size(uint16_t size)
{
	return sizeof(struct vuv_used) + sizeof(struct vuv_used_elem) * size + sizeof(uint16_t);
}

/* Put the ring back to its state after a device reset; the buffers are gone. */
void
vuv_queue_reset(struct vuv_queue *vq)
{
	uint16_t i;

	memset(vq->desc, 0, sizeof(*vq->desc) * vq->size);
	memset(vq->avail, 0, vuv_avail_size(vq->size));
	memset(vq->used, 0, vuv_used_size(vq->size));
	for (i = 0; i < vq->size; i++)
		vq->desc[i].next = (i + 1) & vq->mask;
	vq->free_head = 0;
	vq->num_free = vq->size;
	vq->avail_idx = vq->used_idx = vq->kicked_idx = 0;
	vq->kick_fd = -1;	/* set again when programmed */
	/* The driver polls: no interrupt wanted for used buffers. */
	vq->avail->flags = rte_cpu_to_le_16(VUV_AVAIL_F_NO_INTERRUPT);
	vq->event_idx = vuv_has(vq->hw, VUV_F_RING_EVENT_IDX);
	vq->mrg_rxbuf = vuv_has(vq->hw, VUV_NET_F_MRG_RXBUF);
	vq->hdr_size = vq->hw->hdr_size;
}

/* Free the mbufs still held by descriptors (the device is reset or gone). */
void
vuv_queue_drain(struct vuv_queue *vq)
{
	uint16_t i;

	for (i = 0; i < vq->size; i++) {
		if (vq->cookies[i] != NULL && vq->kind != VUV_CTRLQ)
			rte_pktmbuf_free(vq->cookies[i]);
		vq->cookies[i] = NULL;
	}
}

struct vuv_queue *
vuv_queue_alloc(struct vuv_hw *hw, enum vuv_queue_kind kind, uint16_t index, uint16_t queue_id,
		uint16_t size, int socket)
{
	char name[RTE_MEMZONE_NAMESIZE];
	size_t desc_sz, avail_off, used_off, hdr_off, total;
	struct vuv_queue *vq;
	uint8_t *base;

	vq = rte_zmalloc_socket("vuv_queue", sizeof(*vq), RTE_CACHE_LINE_SIZE, socket);
	if (vq == NULL)
		return NULL;
	vq->cookies = rte_zmalloc_socket("vuv_cookies", sizeof(void *) * size, 0, socket);
	vq->chain_len = rte_zmalloc_socket("vuv_chains", sizeof(uint16_t) * size, 0, socket);
	if (vq->cookies == NULL || vq->chain_len == NULL)
		goto fail;

	desc_sz = sizeof(struct vuv_desc) * size;
	avail_off = desc_sz;
	used_off = RTE_ALIGN_CEIL(avail_off + vuv_avail_size(size), RTE_CACHE_LINE_SIZE);
	hdr_off = RTE_ALIGN_CEIL(used_off + vuv_used_size(size), RTE_CACHE_LINE_SIZE);
	total = hdr_off + (kind == VUV_TXQ ? sizeof(struct vuv_net_hdr) * size : 0);
	snprintf(name, sizeof(name), "vuv_%u_vq%u", hw->eth_dev->data->port_id, index);
	vq->mz = rte_memzone_reserve_aligned(name, total, socket, RTE_MEMZONE_IOVA_CONTIG,
			RTE_PGSIZE_4K);
	if (vq->mz == NULL) {
		VUV_LOG(ERR, "%s: no memory for virtqueue %u (%s)", hw->vdev->device.name,
				index, rte_strerror(rte_errno));
		goto fail;
	}
	memset(vq->mz->addr, 0, total);
	base = vq->mz->addr;
	vq->desc = (struct vuv_desc *)base;
	vq->avail = (struct vuv_avail *)(base + avail_off);
	vq->used = (struct vuv_used *)(base + used_off);
	vq->used_event = &vq->avail->ring[size];
	vq->avail_event = (uint16_t *)&vq->used->ring[size];
	vq->desc_iova = vq->mz->iova;
	vq->avail_iova = vq->mz->iova + avail_off;
	vq->used_iova = vq->mz->iova + used_off;
	if (kind == VUV_TXQ) {
		/* Headers stay zero: no offload is requested, num_buffers is 0 on Tx. */
		vq->tx_hdrs = (struct vuv_net_hdr *)(base + hdr_off);
		vq->tx_hdrs_iova = vq->mz->iova + hdr_off;
	}
	vq->hw = hw;
	vq->kind = kind;
	vq->index = index;
	vq->queue_id = queue_id;
	vq->port_id = hw->eth_dev->data->port_id;
	vq->size = size;
	vq->mask = size - 1;
	vq->removed = &hw->vdev->removed;
	vuv_queue_reset(vq);
	return vq;
fail:
	rte_free(vq->cookies);
	rte_free(vq->chain_len);
	rte_free(vq);
	return NULL;
}

void
vuv_queue_free(struct vuv_queue *vq)
{
	if (vq == NULL)
		return;
	vuv_queue_drain(vq);
	rte_memzone_free(vq->mz);
	rte_free(vq->cookies);
	rte_free(vq->chain_len);
	rte_free(vq);
}

void
vuv_kick(struct vuv_queue *vq)
{
	uint64_t one = 1;

	if (vq->kick_fd >= 0) {
		/* The ring writes are ordered before it by the caller's fence. */
		if (write(vq->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			vuv_notify_slow(vq);
	} else if (likely(vq->notify != NULL)) {
		rte_io_wmb();
		*vq->notify = rte_cpu_to_le_16(vq->index);
	} else {
		vuv_notify_slow(vq);
	}
}

/* Publish the new avail index; notify if the device asked to be told. */
static inline void
vuv_publish(struct vuv_queue *vq, uint64_t *kicks)
{
	uint16_t old = vq->kicked_idx, new = vq->avail_idx;
	bool need;

	__atomic_store_n(&vq->avail->idx, rte_cpu_to_le_16(new), __ATOMIC_RELEASE);
	/* The index store must be seen before the device's flags are read. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		uint16_t ev = rte_le_to_cpu_16(__atomic_load_n(vq->avail_event,
				__ATOMIC_RELAXED));

		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else {
		need = !(rte_le_to_cpu_16(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED)) &
				VUV_USED_F_NO_NOTIFY);
	}
	vq->kicked_idx = new;
	if (need) {
		vuv_kick(vq);
		(*kicks)++;
	}
}

static inline uint16_t
vuv_used_pending(const struct vuv_queue *vq)
{
	/* Acquire: the used entries and buffer data are read after the index. */
	return rte_le_to_cpu_16(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE)) -
		vq->used_idx;
}

/* Take the used entry at used_idx + i; false if it names no buffer in flight. */
static inline bool
vuv_used_get(const struct vuv_queue *vq, uint16_t i, uint16_t *id, uint32_t *len)
{
	const struct vuv_used_elem *e = &vq->used->ring[(uint16_t)(vq->used_idx + i) & vq->mask];
	uint32_t eid = rte_le_to_cpu_32(e->id);

	*len = rte_le_to_cpu_32(e->len);
	if (unlikely(eid >= vq->size || vq->cookies[eid] == NULL))
		return false;
	*id = (uint16_t)eid;
	return true;
}

/* Give a chain of n descriptors starting at head back to the free list. */
static inline void
vuv_free_chain(struct vuv_queue *vq, uint16_t head, uint16_t n)
{
	uint16_t last = head;

	while (--n > 0)
		last = vq->desc[last].next & vq->mask;
	vq->desc[last].next = vq->free_head;
	vq->free_head = head;
	vq->cookies[head] = NULL;
}

/* What a receive buffer holds: the header in the headroom, then the data room. */
static inline uint32_t
vuv_rx_buf_len(const struct vuv_queue *vq, const struct rte_mbuf *m)
{
	return m->buf_len - RTE_PKTMBUF_HEADROOM + vq->hdr_size;
}

int
vuv_rxq_fill(struct vuv_queue *vq)
{
	struct rte_mbuf *mbufs[64];
	uint16_t n, i, id;
	int filled = 0;

	while (vq->num_free > 0) {
		n = RTE_MIN(vq->num_free, (uint16_t)RTE_DIM(mbufs));
		if (unlikely(rte_pktmbuf_alloc_bulk(vq->mp, mbufs, n) != 0)) {
			vq->st.rx.nombuf++;
			rte_eth_devices[vq->port_id].data->rx_mbuf_alloc_failed++;
			break;
		}
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = mbufs[i];
			struct vuv_desc *d;

			id = vq->free_head;
			d = &vq->desc[id];
			vq->free_head = d->next & vq->mask;
			/* The header goes right before the packet, in the headroom. */
			d->addr = rte_cpu_to_le_64(rte_mbuf_data_iova_default(m) - vq->hdr_size);
			d->len = rte_cpu_to_le_32(vuv_rx_buf_len(vq, m));
			d->flags = rte_cpu_to_le_16(VUV_DESC_F_WRITE);
			vq->cookies[id] = m;
			vq->chain_len[id] = 1;
			vq->avail->ring[vq->avail_idx++ & vq->mask] = rte_cpu_to_le_16(id);
		}
		vq->num_free -= n;
		filled += n;
	}
	return filled;
}

/* Hand an Rx buffer back to the free list and return its mbuf. */
static inline struct rte_mbuf *
vuv_rx_take(struct vuv_queue *vq, uint16_t id)
{
	struct rte_mbuf *m = vq->cookies[id];

	vuv_free_chain(vq, id, 1);
	vq->num_free++;
	return m;
}

uint16_t
vuv_recv_pkts(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct vuv_queue *vq = rxq;
	uint16_t pending = vuv_used_pending(vq);
	uint16_t nb_rx = 0, hdr_size = vq->hdr_size;
	bool mrg = vq->mrg_rxbuf;

	/* The common case of a polling loop: nothing new, nothing to refill. */
	if (pending == 0 && vq->num_free < VUV_RX_REFILL)
		return 0;
	while (nb_rx < nb_pkts && pending > 0) {
		const struct vuv_net_hdr *hdr;
		struct rte_mbuf *head, *prev, *m;
		uint16_t id, nbufs, i;
		uint32_t len;

		if (unlikely(!vuv_used_get(vq, 0, &id, &len))) {
			vq->st.rx.errors++;
			vq->used_idx++;
			pending--;
			continue;
		}
		head = vq->cookies[id];
		/*
		 * A buffer the device did not fill is the frame's last one (virtio
		 * 1.2 section 5.1.6.4.2: all buffers but the last are used up to
		 * their full length), so here it is the only one: num_buffers is not read.
		 * The header line is the one the device has just written; reading
		 * it would fetch it from the device's CPU for each small frame.
		 */
		nbufs = 1;
		if (mrg && len >= vuv_rx_buf_len(vq, head)) {
			hdr = rte_pktmbuf_mtod_offset(head, const struct vuv_net_hdr *,
					-(int)hdr_size);
			nbufs = RTE_MAX(rte_le_to_cpu_16(hdr->num_buffers), 1);
		}
		/* The device has not finished the packet yet: take it next time. */
		if (nbufs > pending)
			break;
		vuv_rx_take(vq, id);
		vq->used_idx++;
		pending--;
		if (unlikely(len < hdr_size ||
				len - hdr_size > (uint32_t)(head->buf_len - RTE_PKTMBUF_HEADROOM)))
			goto bad_packet;
		/* The rest of the mbuf is as rte_pktmbuf_alloc_bulk() reset it. */
		head->data_len = len - hdr_size;
		head->pkt_len = head->data_len;
		head->port = vq->port_id;
		prev = head;
		for (i = 1; i < nbufs; i++) {
			if (unlikely(!vuv_used_get(vq, 0, &id, &len))) {
				vq->used_idx++;
				pending--;
				goto bad_packet;
			}
			m = vuv_rx_take(vq, id);
			vq->used_idx++;
			pending--;
			/* Later buffers of a packet carry data only, from their start. */
			m->data_off = RTE_PKTMBUF_HEADROOM - hdr_size;
			m->data_len = len;
			m->next = NULL;
			prev->next = m;
			prev = m;
			head->nb_segs++;
			head->pkt_len += len;
			if (unlikely(len > (uint32_t)(m->buf_len - m->data_off)))
				goto bad_packet;
		}
		if (nbufs > 1)
			vq->st.rx.multi_buf++;
		vq->st.rx.bytes += head->pkt_len;
		pkts[nb_rx++] = head;
		continue;
bad_packet:
		vq->st.rx.errors++;
		rte_pktmbuf_free(head);
	}
	vq->st.rx.packets += nb_rx;

	if (vq->num_free >= VUV_RX_REFILL && vuv_rxq_fill(vq) > 0)
		vuv_publish(vq, &vq->st.rx.kicks);
	return nb_rx;
}

/* Reclaim the chains the device has sent; their mbufs are freed in bulk. */
static inline void
vuv_tx_cleanup(struct vuv_queue *vq)
{
	uint16_t pending = vuv_used_pending(vq);
	struct rte_mbuf *done[64];
	unsigned int nb_done = 0;
	uint16_t id, n;
	uint32_t len;

	while (pending-- > 0) {
		if (likely(vuv_used_get(vq, 0, &id, &len))) {
			done[nb_done++] = vq->cookies[id];
			n = vq->chain_len[id];
			vuv_free_chain(vq, id, n);
			vq->num_free += n;
			if (nb_done == RTE_DIM(done)) {
				rte_pktmbuf_free_bulk(done, nb_done);
				nb_done = 0;
			}
		}
		vq->used_idx++;
	}
	if (nb_done > 0)
		rte_pktmbuf_free_bulk(done, nb_done);
}

/* The header can go in the mbuf's headroom: one descriptor less. */
static inline bool
vuv_tx_can_push(const struct rte_mbuf *m, uint16_t hdr_size)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
		rte_pktmbuf_headroom(m) >= hdr_size &&
		rte_is_aligned(rte_pktmbuf_mtod(m, char *) - hdr_size, sizeof(uint16_t));
}

uint16_t
vuv_xmit_pkts(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	struct vuv_queue *vq = txq;
	uint16_t hdr_size = vq->hdr_size;
	uint16_t nb_tx;

	if (unlikely(__atomic_load_n(vq->removed, __ATOMIC_RELAXED)))
		return 0;
	vuv_tx_cleanup(vq);
	for (nb_tx = 0; nb_tx < nb_pkts; nb_tx++) {
		struct rte_mbuf *m = pkts[nb_tx], *seg;
		bool push = vuv_tx_can_push(m, hdr_size);
		uint16_t need = m->nb_segs + !push;
		uint16_t head = vq->free_head, idx = head, last = head;
		struct vuv_desc *d;

		if (unlikely(vq->num_free < need)) {
			vq->st.tx.full += nb_pkts - nb_tx;
			break;
		}
		if (push) {
			struct vuv_net_hdr *h = (struct vuv_net_hdr *)
				rte_pktmbuf_prepend(m, hdr_size);

			memset(h, 0, hdr_size);
		} else {
			d = &vq->desc[idx];
			d->addr = rte_cpu_to_le_64(vq->tx_hdrs_iova +
					(uint64_t)head * sizeof(struct vuv_net_hdr));
			d->len = rte_cpu_to_le_32(hdr_size);
			d->flags = rte_cpu_to_le_16(VUV_DESC_F_NEXT);
			last = idx;
			idx = d->next & vq->mask;
		}
		for (seg = m; seg != NULL; seg = seg->next) {
			d = &vq->desc[idx];
			d->addr = rte_cpu_to_le_64(rte_mbuf_data_iova(seg));
			d->len = rte_cpu_to_le_32(seg->data_len);
			d->flags = rte_cpu_to_le_16(VUV_DESC_F_NEXT);
			last = idx;
			idx = d->next & vq->mask;
		}
		vq->desc[last].flags = 0;
		vq->free_head = idx;
		vq->num_free -= need;
		vq->cookies[head] = m;
		vq->chain_len[head] = need;
		vq->avail->ring[vq->avail_idx++ & vq->mask] = rte_cpu_to_le_16(head);
		/* The device sees the packet, not our header, in the stats. */
		vq->st.tx.bytes += m->pkt_len - (push ? hdr_size : 0);
	}
	if (likely(nb_tx > 0)) {
		vq->st.tx.packets += nb_tx;
		vuv_publish(vq, &vq->st.tx.kicks);
	}
	return nb_tx;
}

/*
 * Send one control command and wait for the device's ack. The control queue
 * is used from the control path only, one command at a time.
 */
int
vuv_ctrl_send(struct vuv_hw *hw, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	struct vuv_queue *vq = hw->ctrlq;
	uint8_t *buf = hw->ctrl_buf;
	uint64_t end, unused_kicks = 0;
	uint16_t head, idx, n = len > 0 ? 3 : 2;
	volatile uint8_t *ack;
	uint32_t ulen;
	int ret;

	if (vq == NULL || len + 3 > VUV_CTRL_BUF_SIZE)
		return -ENOTSUP;
	if (vuv_removed(hw))
		return -ENODEV;
	rte_spinlock_lock(&hw->ctrl_lock);
	if (vq->num_free < n) {
		ret = -EBUSY;
		goto out;
	}
	buf[0] = cls;
	buf[1] = cmd;
	memcpy(&buf[2], data, len);
	ack = &buf[2 + len];
	*ack = 0xff;
	head = idx = vq->free_head;
	vq->desc[idx].addr = rte_cpu_to_le_64(hw->ctrl_buf_iova);
	vq->desc[idx].len = rte_cpu_to_le_32(2);
	vq->desc[idx].flags = rte_cpu_to_le_16(VUV_DESC_F_NEXT);
	idx = vq->desc[idx].next & vq->mask;
	if (len > 0) {
		vq->desc[idx].addr = rte_cpu_to_le_64(hw->ctrl_buf_iova + 2);
		vq->desc[idx].len = rte_cpu_to_le_32(len);
		vq->desc[idx].flags = rte_cpu_to_le_16(VUV_DESC_F_NEXT);
		idx = vq->desc[idx].next & vq->mask;
	}
	vq->desc[idx].addr = rte_cpu_to_le_64(hw->ctrl_buf_iova + 2 + len);
	vq->desc[idx].len = rte_cpu_to_le_32(1);
	vq->desc[idx].flags = rte_cpu_to_le_16(VUV_DESC_F_WRITE);
	vq->free_head = vq->desc[idx].next & vq->mask;
	vq->num_free -= n;
	vq->cookies[head] = buf;
	vq->chain_len[head] = n;
	vq->avail->ring[vq->avail_idx++ & vq->mask] = rte_cpu_to_le_16(head);
	vuv_publish(vq, &unused_kicks);

	end = rte_get_timer_cycles() + rte_get_timer_hz() * VUV_CTRL_TIMEOUT_US / 1000000;
	while (vuv_used_pending(vq) == 0) {
		if (vuv_removed(hw)) {
			ret = -ENODEV;
			goto out;
		}
		if (rte_get_timer_cycles() > end) {
			VUV_LOG(ERR, "%s: control command %u.%u: no answer",
					hw->vdev->device.name, cls, cmd);
			ret = -ETIMEDOUT;
			goto out;
		}
		rte_delay_us_sleep(10);
	}
	if (!vuv_used_get(vq, 0, &idx, &ulen) || idx != head) {
		ret = -EIO;
	} else {
		vuv_free_chain(vq, head, n);
		vq->num_free += n;
		ret = *ack == VUV_CTRL_OK ? 0 : -EIO;
	}
	vq->used_idx++;
out:
	rte_spinlock_unlock(&hw->ctrl_lock);
	return ret;
}

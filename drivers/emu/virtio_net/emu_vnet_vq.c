/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Split virtqueue walking for the device side; see emu_vnet_vq.h. Kept free
 * of the ethdev and of the library's state so that it can be fuzzed alone
 * (fuzz/fuzz_virtq.c).
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_atomic.h>
#include <rte_common.h>

#include "emu_vnet_vq.h"

void *
emu_vnet_xlate(const struct rte_vfio_user_mem_table *mt, uint64_t iova, uint64_t len,
		uint32_t prot)
{
	const struct rte_vfio_user_mem_reg *r;
	uint32_t lo = 0, hi, mid;
	uint64_t off;

	if (mt == NULL || mt->entry_num == 0 || mt->regions == NULL)
		return NULL;
	/* Last window starting at or below iova (the table is sorted). */
	hi = mt->entry_num;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (mt->regions[mid].iova <= iova)
			lo = mid;
		else
			hi = mid;
	}
	r = &mt->regions[lo];
	if (iova < r->iova)
		return NULL;
	off = iova - r->iova;
	if (off >= r->size || len > r->size - off)
		return NULL;
	/* A window without fd has no mapping here; a missing PROT bit would fault. */
	if (r->vaddr == NULL || (r->prot & prot) != prot)
		return NULL;
	return (uint8_t *)r->vaddr + off;
}

int
emu_vnet_vq_map(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt)
{
	uint64_t n = vq->size;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (n == 0 || n > EMU_VNET_VQ_MAX_SIZE || !rte_is_power_of_2(n))
		return -EINVAL;
	/* Alignments of virtio 1.x section 2.7 (split virtqueues). */
	if ((vq->desc_iova & 15) != 0 || (vq->avail_iova & 1) != 0 || (vq->used_iova & 3) != 0)
		return -EINVAL;
	vq->desc = emu_vnet_xlate(mt, vq->desc_iova, n * sizeof(struct vring_desc), PROT_READ);
	vq->avail = emu_vnet_xlate(mt, vq->avail_iova,
		sizeof(struct vring_avail) + n * sizeof(uint16_t), PROT_READ);
	vq->used = emu_vnet_xlate(mt, vq->used_iova,
		sizeof(struct vring_used) + n * sizeof(struct vring_used_elem),
		PROT_READ | PROT_WRITE);
	/* The windows' addresses keep the IOVA's alignment only if their fd offsets do. */
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL ||
			((uintptr_t)vq->desc & 15) != 0 || ((uintptr_t)vq->avail & 1) != 0 ||
			((uintptr_t)vq->used & 3) != 0) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	return 0;
}

void
emu_vnet_vq_start(struct emu_vnet_vq *vq, bool no_notify)
{
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->used_pub = 0;
	__atomic_store_n(&vq->used->flags, no_notify ? VRING_USED_F_NO_NOTIFY : 0,
		__ATOMIC_RELAXED);
	__atomic_store_n(&vq->used->idx, 0, __ATOMIC_RELEASE);
}

int
emu_vnet_vq_avail_count(const struct emu_vnet_vq *vq)
{
	/* Ring entries and descriptors written before the index are seen after it. */
	uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->last_avail);

	return n > vq->size ? -EIO : n;
}

int
emu_vnet_vq_pop(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, struct emu_vnet_chain *c)
{
	uint16_t mask = vq->size - 1;
	uint32_t i, id;
	bool wr, seen_wr = false;
	int n = emu_vnet_vq_avail_count(vq);

	if (n <= 0)
		return n == 0 ? -ENOENT : n;
	id = __atomic_load_n(&vq->avail->ring[vq->last_avail & mask], __ATOMIC_RELAXED);
	if (id >= vq->size)
		return -EIO;
	vq->last_avail++;
	c->head = id;
	c->nr_segs = 0;
	c->len = 0;
	c->out_len = 0;
	/* At most size descriptors: a chain that loops runs out here. */
	for (i = 0; i < vq->size; i++) {
		struct vring_desc d;
		void *va;

		memcpy(&d, &vq->desc[id], sizeof(d)); /* once: the guest may change it */
		wr = (d.flags & VRING_DESC_F_WRITE) != 0;
		if ((d.flags & VRING_DESC_F_INDIRECT) != 0 ||
				(dir == EMU_VNET_DEV_READS && wr) ||
				(dir == EMU_VNET_DEV_WRITES && !wr) ||
				(!wr && seen_wr))
			return -EINVAL;
		seen_wr |= wr;
		if (d.len != 0) {
			if (c->nr_segs == EMU_VNET_VQ_MAX_SEGS ||
					c->len + (uint64_t)d.len > UINT32_MAX)
				return -EINVAL;
			va = emu_vnet_xlate(mt, d.addr, d.len, wr ? PROT_WRITE : PROT_READ);
			if (va == NULL)
				return -EINVAL;
			c->seg[c->nr_segs].va = va;
			c->seg[c->nr_segs].len = d.len;
			c->nr_segs++;
			c->len += d.len;
			if (!wr)
				c->out_len += d.len;
		}
		if ((d.flags & VRING_DESC_F_NEXT) == 0)
			return 0;
		if (d.next >= vq->size)
			return -EINVAL;
		id = d.next;
	}
	return -EINVAL;
}

void
emu_vnet_vq_unpop(struct emu_vnet_vq *vq, uint16_t n)
{
	vq->last_avail -= n;
}

void
emu_vnet_vq_push(struct emu_vnet_vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];

	e->id = head;
	e->len = len;
	vq->used_idx++;
}

bool
emu_vnet_vq_publish(struct emu_vnet_vq *vq)
{
	if (vq->used_idx == vq->used_pub)
		return false;
	/* Entries (and the data of their buffers) before the index. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	vq->used_pub = vq->used_idx;
	/* The index store before the flags load: a driver re-enabling interrupts checks after. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		VRING_AVAIL_F_NO_INTERRUPT) == 0;
}

uint32_t
emu_vnet_chain_read(const struct emu_vnet_chain *c, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *out = dst;
	uint32_t done = 0, i, n;

	for (i = 0; i < c->nr_segs && done < len; i++) {
		if (off >= c->seg[i].len) {
			off -= c->seg[i].len;
			continue;
		}
		n = RTE_MIN(c->seg[i].len - off, len - done);
		memcpy(out + done, c->seg[i].va + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint32_t
emu_vnet_chain_write(const struct emu_vnet_chain *c, uint32_t off, const void *src,
		uint32_t len)
{
	const uint8_t *in = src;
	uint32_t done = 0, i, n;

	for (i = 0; i < c->nr_segs && done < len; i++) {
		if (off >= c->seg[i].len) {
			off -= c->seg[i].len;
			continue;
		}
		n = RTE_MIN(c->seg[i].len - off, len - done);
		memcpy(c->seg[i].va + off, in + done, n);
		done += n;
		off = 0;
	}
	return done;
}

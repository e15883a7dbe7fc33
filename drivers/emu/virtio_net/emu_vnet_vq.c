/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Virtqueue walking for the device side, split and packed rings; see
 * emu_vnet_vq.h. Kept free of the ethdev and of the library's state so that
 * it can be fuzzed alone (fuzz/fuzz_virtq.c).
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_atomic.h>
#include <rte_common.h>

#include "emu_vnet_vq.h"

int
emu_vnet_vq_check(const struct emu_vnet_vq *vq)
{
	uint64_t n = vq->size;

	/* A packed ring's size need not be a power of two (section 2.8). */
	if (n == 0 || n > EMU_VNET_VQ_MAX_SIZE || (!vq->packed && !rte_is_power_of_2(n)))
		return -EINVAL;
	/* Packed: descriptors 16-byte aligned, event areas 4-byte aligned. */
	if (vq->packed)
		return (vq->desc_iova & 15) != 0 || (vq->avail_iova & 3) != 0 ||
			(vq->used_iova & 3) != 0 ? -EINVAL : 0;
	/* Split (section 2.7). */
	return (vq->desc_iova & 15) != 0 || (vq->avail_iova & 1) != 0 ||
		(vq->used_iova & 3) != 0 ? -EINVAL : 0;
}

/* Packed ring (section 2.8): size and alignment checked. */
static int
emu_vnet_vq_map_packed(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt)
{
	uint64_t n = vq->size;

	/* Used entries are written into the descriptor ring. */
	vq->pdesc = rte_vfio_user_mem_table_xlate(mt, vq->desc_iova,
		n * sizeof(struct vring_packed_desc), PROT_READ | PROT_WRITE);
	vq->driver_ev = rte_vfio_user_mem_table_xlate(mt, vq->avail_iova,
		sizeof(struct vring_packed_desc_event), PROT_READ);
	vq->device_ev = rte_vfio_user_mem_table_xlate(mt, vq->used_iova,
		sizeof(struct vring_packed_desc_event), PROT_READ | PROT_WRITE);
	if (vq->pdesc == NULL || vq->driver_ev == NULL || vq->device_ev == NULL ||
			((uintptr_t)vq->pdesc & 15) != 0 || ((uintptr_t)vq->driver_ev & 3) != 0 ||
			((uintptr_t)vq->device_ev & 3) != 0) {
		vq->pdesc = NULL;
		vq->driver_ev = NULL;
		vq->device_ev = NULL;
		return -EFAULT;
	}
	return 0;
}

int
emu_vnet_vq_map(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt)
{
	uint64_t n = vq->size;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->pdesc = NULL;
	vq->driver_ev = NULL;
	vq->device_ev = NULL;
	if (emu_vnet_vq_check(vq) < 0)
		return -EINVAL;
	if (vq->packed)
		return emu_vnet_vq_map_packed(vq, mt);
	vq->desc = rte_vfio_user_mem_table_xlate(mt, vq->desc_iova, n * sizeof(struct vring_desc),
		PROT_READ);
	vq->avail = rte_vfio_user_mem_table_xlate(mt, vq->avail_iova,
		sizeof(struct vring_avail) + n * sizeof(uint16_t), PROT_READ);
	vq->used = rte_vfio_user_mem_table_xlate(mt, vq->used_iova,
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

static bool emu_vnet_packed_avail(uint16_t flags, bool wrap);

/* Ask the guest for kicks, or tell it to spare them. */
static void
emu_vnet_vq_set_notify(struct emu_vnet_vq *vq, bool on)
{
	if (vq->packed) {
		__atomic_store_n(&vq->device_ev->flags, on ? VRING_PACKED_EVENT_FLAG_ENABLE :
			VRING_PACKED_EVENT_FLAG_DISABLE, __ATOMIC_RELAXED);
		emu_vnet_vq_log(vq, vq->used_iova, sizeof(*vq->device_ev));
	} else {
		__atomic_store_n(&vq->used->flags, on ? 0 : VRING_USED_F_NO_NOTIFY,
			__ATOMIC_RELAXED);
		emu_vnet_vq_log(vq, vq->used_iova, sizeof(vq->used->flags));
	}
}

void
emu_vnet_vq_start(struct emu_vnet_vq *vq, bool no_notify)
{
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->used_pub = 0;
	vq->nr_pushed = 0;
	vq->avail_left = 0;
	/* Both wrap counters start at 1 (section 2.8.1). */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	emu_vnet_vq_set_notify(vq, !no_notify);
	if (!vq->packed) {
		__atomic_store_n(&vq->used->idx, 0, __ATOMIC_RELEASE);
		emu_vnet_vq_log(vq, vq->used_iova, offsetof(struct vring_used, ring));
	}
}

bool
emu_vnet_vq_notify(struct emu_vnet_vq *vq, bool on)
{
	uint16_t flags;

	emu_vnet_vq_set_notify(vq, on);
	/* The flag store before the ring load: a guest that missed it has posted by now. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!on)
		return false;
	if (!vq->packed)
		return __atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED) != vq->last_avail;
	flags = __atomic_load_n(&vq->pdesc[vq->last_avail].flags, __ATOMIC_RELAXED);
	return emu_vnet_packed_avail(flags, vq->avail_wrap);
}

/*
 * Split: chains posted past last_avail, the index read again only when the
 * count known is used up; -EIO when the index is more than a ring ahead.
 */
static int
emu_vnet_vq_avail_count(struct emu_vnet_vq *vq)
{
	uint16_t idx, n;

	if (vq->avail_left > 0)
		return vq->avail_left;
	/* Ring entries and descriptors written before the index are seen after it. */
	idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	n = (uint16_t)(idx - vq->last_avail);
	if (n > vq->size)
		return -EIO;
	vq->avail_left = n;
	return n;
}

/* Check one descriptor and add its buffer to the chain; false if it is bad. */
static __rte_always_inline bool
emu_vnet_chain_add(struct emu_vnet_chain *c, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, uint64_t addr, uint32_t len, uint16_t flags, bool *seen_wr)
{
	bool wr = (flags & VRING_DESC_F_WRITE) != 0;
	void *va;

	if ((flags & VRING_DESC_F_INDIRECT) != 0 || (dir == EMU_VNET_DEV_READS && wr) ||
			(dir == EMU_VNET_DEV_WRITES && !wr) || (!wr && *seen_wr))
		return false;
	*seen_wr |= wr;
	if (len == 0)
		return true;
	if (c->nr_segs == EMU_VNET_VQ_MAX_SEGS || c->len + (uint64_t)len > UINT32_MAX)
		return false;
	va = rte_vfio_user_mem_table_xlate(mt, addr, len, wr ? PROT_WRITE : PROT_READ);
	if (va == NULL)
		return false;
	c->seg[c->nr_segs].va = va;
	c->seg[c->nr_segs].iova = addr;
	c->seg[c->nr_segs].len = len;
	c->nr_segs++;
	c->len += len;
	if (!wr)
		c->out_len += len;
	return true;
}

/* Is a packed descriptor available in the driver's current wrap (section 2.8.1)? */
static bool
emu_vnet_packed_avail(uint16_t flags, bool wrap)
{
	bool avail = (flags & (1u << VRING_PACKED_DESC_F_AVAIL)) != 0;
	bool used = (flags & (1u << VRING_PACKED_DESC_F_USED)) != 0;

	return avail == wrap && used != wrap;
}

/*
 * A packed chain is consecutive descriptors; its buffer id is in the last
 * one. A bad descriptor does not end the walk: the id and length of the
 * chain are needed to give it back.
 */
static int
emu_vnet_vq_pop_packed(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, struct emu_vnet_chain *c)
{
	uint16_t idx = vq->last_avail, flags, i;
	bool wrap = vq->avail_wrap, ok = true, seen_wr = false;
	struct vring_packed_desc d;

	c->nr_segs = 0;
	c->len = 0;
	c->out_len = 0;
	for (i = 0; i < vq->size; i++) {
		/* The driver makes the head available last: the rest is there once it is. */
		flags = __atomic_load_n(&vq->pdesc[idx].flags, __ATOMIC_ACQUIRE);
		if (!emu_vnet_packed_avail(flags, wrap))
			return i == 0 ? -ENOENT : -EIO;
		memcpy(&d, &vq->pdesc[idx], sizeof(d)); /* once: the guest may change it */
		ok = ok && emu_vnet_chain_add(c, mt, dir, d.addr, d.len, flags, &seen_wr);
		if (++idx == vq->size) {
			idx = 0;
			wrap = !wrap;
		}
		if ((flags & VRING_DESC_F_NEXT) == 0) {
			c->head = d.id;
			c->nr_desc = i + 1;
			vq->last_avail = idx;
			vq->avail_wrap = wrap;
			return ok ? 0 : -EINVAL;
		}
	}
	return -EIO; /* no end within the queue size */
}

static int
emu_vnet_vq_pop_split(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, struct emu_vnet_chain *c)
{
	uint16_t mask = vq->size - 1;
	uint32_t i, id;
	bool seen_wr = false;
	int n = emu_vnet_vq_avail_count(vq);

	if (n <= 0)
		return n == 0 ? -ENOENT : n;
	id = __atomic_load_n(&vq->avail->ring[vq->last_avail & mask], __ATOMIC_RELAXED);
	if (id >= vq->size)
		return -EIO;
	vq->last_avail++;
	vq->avail_left--;
	c->head = id;
	c->nr_segs = 0;
	c->len = 0;
	c->out_len = 0;
	c->nr_desc = 0;
	/* At most size descriptors: a chain that loops runs out here. */
	for (i = 0; i < vq->size; i++) {
		struct vring_desc d;

		memcpy(&d, &vq->desc[id], sizeof(d)); /* once: the guest may change it */
		if (!emu_vnet_chain_add(c, mt, dir, d.addr, d.len, d.flags, &seen_wr))
			return -EINVAL;
		if ((d.flags & VRING_DESC_F_NEXT) == 0)
			return 0;
		if (d.next >= vq->size)
			return -EINVAL;
		id = d.next;
	}
	return -EINVAL;
}

uint16_t
emu_vnet_vq_ready(struct emu_vnet_vq *vq, uint16_t max)
{
	int n;

	if (vq->packed)
		return emu_vnet_packed_avail(__atomic_load_n(&vq->pdesc[vq->last_avail].flags,
			__ATOMIC_RELAXED), vq->avail_wrap) ? max : 0;
	n = emu_vnet_vq_avail_count(vq);
	return n < 0 ? max : RTE_MIN((uint16_t)n, max);
}

int
emu_vnet_vq_pop(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, struct emu_vnet_chain *c)
{
	return vq->packed ? emu_vnet_vq_pop_packed(vq, mt, dir, c) :
		emu_vnet_vq_pop_split(vq, mt, dir, c);
}

void
emu_vnet_vq_push_packed(struct emu_vnet_vq *vq, const struct emu_vnet_chain *c, uint32_t len)
{
	struct vring_packed_desc *p;

	/* One used entry in the chain's first slot; the flags, last, make it the device's. */
	p = &vq->pdesc[vq->used_idx];
	p->id = c->head;
	p->len = len;
	__atomic_store_n(&p->flags, vq->used_wrap ? (1u << VRING_PACKED_DESC_F_AVAIL) |
		(1u << VRING_PACKED_DESC_F_USED) : 0, __ATOMIC_RELEASE);
	/* Slots of a batch are not contiguous (one per chain): each is logged alone. */
	emu_vnet_vq_log(vq, vq->desc_iova + (uint64_t)vq->used_idx * sizeof(*p), sizeof(*p));
	vq->used_idx += c->nr_desc;
	if (vq->used_idx >= vq->size) {
		vq->used_idx -= vq->size;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->nr_pushed++;
}

/* Log the split used entries [used_pub, used_idx) and the index. */
static void
emu_vnet_vq_log_used(const struct emu_vnet_vq *vq)
{
	const uint64_t ring = vq->used_iova + offsetof(struct vring_used, ring);
	const uint64_t esz = sizeof(struct vring_used_elem);
	uint32_t n = (uint16_t)(vq->used_idx - vq->used_pub);
	uint32_t first = vq->used_pub & (vq->size - 1), run;

	/* More than the ring holds (chains taken again as soon as given back): all of it. */
	n = RTE_MIN(n, (uint32_t)vq->size);
	run = RTE_MIN(n, vq->size - first);
	emu_vnet_vq_log(vq, ring + first * esz, run * esz);
	if (run < n)
		emu_vnet_vq_log(vq, ring, (n - run) * esz);
	emu_vnet_vq_log(vq, vq->used_iova + offsetof(struct vring_used, idx),
		sizeof(vq->used->idx));
}

bool
emu_vnet_vq_publish(struct emu_vnet_vq *vq)
{
	if (vq->packed) {
		if (vq->nr_pushed == 0)
			return false;
		vq->nr_pushed = 0;
		rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
		/* Without EVENT_IDX, DESC is not the driver's to set: read as enabled. */
		return __atomic_load_n(&vq->driver_ev->flags, __ATOMIC_RELAXED) !=
			VRING_PACKED_EVENT_FLAG_DISABLE;
	}
	if (vq->used_idx == vq->used_pub)
		return false;
	/* Entries (and the data of their buffers) before the index. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	emu_vnet_vq_log_used(vq);
	vq->used_pub = vq->used_idx;
	/* The index store before the flags load: a driver re-enabling interrupts checks after. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		VRING_AVAIL_F_NO_INTERRUPT) == 0;
}

uint32_t
emu_vnet_chain_read_segs(const struct emu_vnet_chain *c, uint32_t off, void *dst, uint32_t len)
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
emu_vnet_chain_write_segs(const struct emu_vnet_chain *c, uint32_t off, const void *src,
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

void
emu_vnet_chain_dirty_segs(const struct emu_vnet_vq *vq, const struct emu_vnet_chain *c,
		uint32_t off, uint32_t len)
{
	uint32_t i, n;

	for (i = 0; i < c->nr_segs && len > 0; i++) {
		if (off >= c->seg[i].len) {
			off -= c->seg[i].len;
			continue;
		}
		n = RTE_MIN(c->seg[i].len - off, len);
		emu_vnet_vq_log(vq, c->seg[i].iova + off, n);
		len -= n;
		off = 0;
	}
}

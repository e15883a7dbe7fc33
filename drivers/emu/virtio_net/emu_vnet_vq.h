/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _EMU_VNET_VQ_H_
#define _EMU_VNET_VQ_H_

/**
 * @file
 * Device side of a virtqueue, split (virtio 1.x section 2.7) or packed
 * (section 2.8), whose rings and buffers live in a vfio-user client's DMA
 * memory.
 *
 * Everything the guest wrote is hostile: each descriptor is read once into a
 * local copy, chains are bounded by the queue size (a loop ends there),
 * indexes are checked against the queue size, and every buffer must lie
 * inside one fd-backed window of the DMA table with the access it needs.
 * Nothing here sends a message or takes a lock: the caller serialises the
 * use of one queue and keeps the DMA table stable while it runs. Every write
 * into the guest's memory is reported to the library's DMA logging
 * (rte_vfio_user_dma_mark_dirty()) for the device of @c log_dev: split used
 * entries once per publish, packed ones as written, buffers once per chain
 * (emu_vnet_chain_dirty()).
 *
 * No ring feature is offered beyond the two layouts: no indirect
 * descriptors, no EVENT_IDX (notifications are suppressed with the ring
 * flags, or the packed event structures' ENABLE/DISABLE).
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include <rte_vfio_user.h>

/** Largest queue a guest may configure (a power of two up to it for a split ring). */
#define EMU_VNET_VQ_MAX_SIZE 1024
/** Largest number of non-empty descriptors in one chain. */
#define EMU_VNET_VQ_MAX_SEGS 64

/** One buffer of a chain, translated. */
struct emu_vnet_seg {
	uint8_t *va;	/**< Address in this process. */
	uint64_t iova;	/**< DMA address (for DMA logging). */
	uint32_t len;	/**< Bytes. */
};

/** Which descriptors a queue's chains may hold. */
enum emu_vnet_dir {
	EMU_VNET_DEV_READS,	/**< Device-readable only (guest transmit queue). */
	EMU_VNET_DEV_WRITES,	/**< Device-writable only (guest receive queue). */
	EMU_VNET_DEV_BOTH,	/**< Readable ones, then writable ones (control queue). */
};

/** A descriptor chain taken from the available ring. */
struct emu_vnet_chain {
	uint16_t head;		/**< Id to give back in the used ring. */
	uint16_t nr_segs;	/**< Entries of @c seg. */
	uint32_t len;		/**< Total bytes of the segments. */
	uint32_t out_len;	/**< Bytes of the device-readable segments (they come first). */
	uint16_t nr_desc;	/**< Descriptors of the chain, empty ones included (packed). */
	struct emu_vnet_seg seg[EMU_VNET_VQ_MAX_SEGS];
};

/** Ring state of one virtqueue. */
struct emu_vnet_vq {
	uint16_t size;		/**< Entries, 0 when not set up. */
	bool packed;		/**< Packed layout (VIRTIO_F_RING_PACKED), else split. */
	bool avail_wrap;	/**< Packed: wrap counter of last_avail. */
	bool used_wrap;		/**< Packed: wrap counter of used_idx. */
	uint16_t last_avail;	/**< Next available entry (split) or descriptor (packed). */
	uint16_t used_idx;	/**< Next used entry (split) or descriptor slot (packed). */
	uint16_t used_pub;	/**< Split: used_idx last published to the guest. */
	uint16_t nr_pushed;	/**< Packed: used entries written since the last publish. */
	uint16_t avail_left;	/**< Split: entries known available past last_avail. */
	int log_dev;		/**< Server device id for DMA logging, -1 for none. */
	uint64_t desc_iova;	/**< Descriptor table (split) or ring (packed) address. */
	uint64_t avail_iova;	/**< Available ring (split) or driver event area (packed). */
	uint64_t used_iova;	/**< Used ring (split) or device event area (packed). */
	struct vring_desc *desc;	/**< Split translations, NULL when not mapped. */
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *pdesc;	/**< Packed translations. */
	struct vring_packed_desc_event *driver_ev;
	struct vring_packed_desc_event *device_ev;
};

/** Where taking chains started, to take them again (emu_vnet_vq_rewind()). */
struct emu_vnet_vq_pos {
	uint16_t last_avail;
	bool avail_wrap;
};

/**
 * Check a queue's size and ring alignment for its layout (virtio 1.x
 * sections 2.7 and 2.8), without translating anything.
 *
 * @return
 *   0, or -EINVAL.
 */
int emu_vnet_vq_check(const struct emu_vnet_vq *vq);

/**
 * Translate the three rings or areas (size, layout and addresses already
 * set) and check their alignment. The indexes are not touched.
 *
 * @return
 *   0, or -EINVAL (bad size or alignment), -EFAULT (a ring outside the
 *   fd-backed windows or without the access it needs).
 */
int emu_vnet_vq_map(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt);

/**
 * Start a mapped queue: indexes to 0, guest notifications suppressed or not.
 */
void emu_vnet_vq_start(struct emu_vnet_vq *vq, bool no_notify);

/**
 * Ask the guest for notifications (kicks) or tell it to spare them.
 *
 * @return
 *   When asking: whether a chain was already available (posted while kicks
 *   were suppressed: no kick comes for it). False when sparing.
 */
bool emu_vnet_vq_notify(struct emu_vnet_vq *vq, bool on);

/**
 * Take the next available chain.
 *
 * @param dir
 *   Descriptors the queue's chains may hold; a writable one before a
 *   readable one is always an error.
 * @return
 *   0 with @p c filled; -ENOENT when none is available; -EINVAL when the
 *   chain is bad (loop, too long, bad next, wrong direction, indirect,
 *   buffer outside the windows): it is taken and must be given back, with
 *   length 0, by emu_vnet_vq_push(); -EIO when the ring itself is broken
 *   (split: head out of range or index too far ahead; packed: a chain
 *   without end within the queue size): nothing is taken.
 */
int emu_vnet_vq_pop(struct emu_vnet_vq *vq, const struct rte_vfio_user_mem_table *mt,
		enum emu_vnet_dir dir, struct emu_vnet_chain *c);

/**
 * How many chains can be taken now, at most @p max. Split: the available
 * index is read once here for a whole burst, not once per chain (the line is
 * the driver's and it writes it all the time). Packed: @p max while one is
 * available (the ring does not count them). A broken ring gives @p max too:
 * emu_vnet_vq_pop() reports it.
 */
uint16_t emu_vnet_vq_ready(struct emu_vnet_vq *vq, uint16_t max);

/** Note where the next chain would be taken from. */
static inline void
emu_vnet_vq_mark(const struct emu_vnet_vq *vq, struct emu_vnet_vq_pos *pos)
{
	pos->last_avail = vq->last_avail;
	pos->avail_wrap = vq->avail_wrap;
}

/**
 * Give back the chains taken since @p pos (to take them again later). None
 * may have been pushed since: a packed used entry overwrites descriptors.
 */
static inline void
emu_vnet_vq_rewind(struct emu_vnet_vq *vq, const struct emu_vnet_vq_pos *pos)
{
	vq->last_avail = pos->last_avail;
	vq->avail_wrap = pos->avail_wrap;
	vq->avail_left = 0; /* counted again from the ring */
}

/** A write of the device into guest memory, for the library's DMA logging. */
static inline void
emu_vnet_vq_log(const struct emu_vnet_vq *vq, uint64_t iova, uint64_t len)
{
	if (vq->log_dev >= 0)
		rte_vfio_user_dma_mark_dirty(vq->log_dev, iova, len);
}

/** emu_vnet_vq_push() of a packed ring. */
void emu_vnet_vq_push_packed(struct emu_vnet_vq *vq, const struct emu_vnet_chain *c,
		uint32_t len);

/**
 * Fill the next used entry for chain @p c: seen by the guest at
 * emu_vnet_vq_publish() (split) or at once (packed). Inline: once per frame.
 */
static inline void
emu_vnet_vq_push(struct emu_vnet_vq *vq, const struct emu_vnet_chain *c, uint32_t len)
{
	struct vring_used_elem *e;

	if (vq->packed) {
		emu_vnet_vq_push_packed(vq, c, len);
		return;
	}
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	e->id = c->head;
	e->len = len;
	vq->used_idx++;
}

/**
 * Make the used entries filled so far visible to the guest.
 *
 * @return
 *   True when entries were published and the guest wants an interrupt for
 *   them (VRING_AVAIL_F_NO_INTERRUPT clear).
 */
bool emu_vnet_vq_publish(struct emu_vnet_vq *vq);

/* Bytes [off, off + len) all in the first segment: the frame's case mostly. */
static inline bool
emu_vnet_chain_in_first(const struct emu_vnet_chain *c, uint32_t off, uint32_t len)
{
	return c->nr_segs > 0 && off <= c->seg[0].len && len <= c->seg[0].len - off;
}

/* The functions below for any chain; their inline wrappers take the first segment's case. */
uint32_t emu_vnet_chain_read_segs(const struct emu_vnet_chain *c, uint32_t off, void *dst,
		uint32_t len);
uint32_t emu_vnet_chain_write_segs(const struct emu_vnet_chain *c, uint32_t off,
		const void *src, uint32_t len);
void emu_vnet_chain_dirty_segs(const struct emu_vnet_vq *vq, const struct emu_vnet_chain *c,
		uint32_t off, uint32_t len);

/** Copy @p len bytes at offset @p off of a chain to @p dst; bytes copied. */
static inline uint32_t
emu_vnet_chain_read(const struct emu_vnet_chain *c, uint32_t off, void *dst, uint32_t len)
{
	if (!emu_vnet_chain_in_first(c, off, len))
		return emu_vnet_chain_read_segs(c, off, dst, len);
	memcpy(dst, c->seg[0].va + off, len);
	return len;
}

/**
 * Copy @p len bytes from @p src into a chain at offset @p off; bytes copied.
 * Not logged: mark what a chain received once with emu_vnet_chain_dirty().
 */
static inline uint32_t
emu_vnet_chain_write(const struct emu_vnet_chain *c, uint32_t off, const void *src,
		uint32_t len)
{
	if (!emu_vnet_chain_in_first(c, off, len))
		return emu_vnet_chain_write_segs(c, off, src, len);
	memcpy(c->seg[0].va + off, src, len);
	return len;
}

/** Report bytes [off, off + len) of a chain, written by the device, to DMA logging. */
static inline void
emu_vnet_chain_dirty(const struct emu_vnet_vq *vq, const struct emu_vnet_chain *c,
		uint32_t off, uint32_t len)
{
	if (!emu_vnet_chain_in_first(c, off, len))
		emu_vnet_chain_dirty_segs(vq, c, off, len);
	else if (len > 0)
		emu_vnet_vq_log(vq, c->seg[0].iova + off, len);
}

#endif /* _EMU_VNET_VQ_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_DIRTY_H_
#define _VFIO_USER_DIRTY_H_

/*
 * DMA logging (dirty page log) of a server session: a bitmap per logged
 * range, one bit per page of the logging granularity. Marking and reporting
 * use atomic operations on the bitmap words, so that device threads mark
 * while the control thread reports; creating and freeing the log is the
 * caller's business (under its lock, with nobody marking).
 */

#include <stdint.h>

#include "rte_vfio_user_common.h"

struct vfio_user_dirty_bits {
	uint64_t iova;  /* first byte logged */
	uint64_t end;   /* last byte logged */
	uint64_t first; /* page number (iova >> shift) of bit 0 */
	uint64_t *bits;
};

struct vfio_user_dirty {
	uint64_t pgsize;
	unsigned int shift; /* log2(pgsize) */
	uint32_t nr;        /* ranges, sorted by iova, not overlapping */
	struct vfio_user_dirty_bits r[];
};

/*
 * A log of the nr ranges at pgsize (a power of two) granularity. Returns 0
 * with *out set; -EINVAL for an empty range, one wrapping past 2^64, or
 * overlapping ranges; -E2BIG when the ranges cover more than max_bytes;
 * -ENOMEM.
 */
int vfio_user_dirty_create(const struct rte_vfio_user_dirty_range *ranges, uint32_t nr,
		uint64_t pgsize, uint64_t max_bytes, struct vfio_user_dirty **out);
void vfio_user_dirty_free(struct vfio_user_dirty *log);

/* Record a write to [iova, iova + len), len > 0, no wrap; what is outside the ranges is not. */
void vfio_user_dirty_mark(struct vfio_user_dirty *log, uint64_t iova, uint64_t len);

/*
 * Set in bitmap (zeroed by the caller) one bit per pgsize unit of
 * [iova, iova + len) that holds a page written since it was last reported,
 * and clear the log of the pages wholly inside the range (a page shared with
 * a neighbour range stays logged, to be reported again). Returns 0, or
 * -EINVAL when the range is not wholly logged.
 */
int vfio_user_dirty_report(struct vfio_user_dirty *log, uint64_t iova, uint64_t len,
		uint64_t pgsize, uint64_t *bitmap);

#endif /* _VFIO_USER_DIRTY_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vfio_user_dirty.h"

/* Mask of bits lo..hi (0 <= lo <= hi <= 63). */
static inline uint64_t
bits_mask(unsigned int lo, unsigned int hi)
{
	uint64_t m = hi == 63 ? UINT64_MAX : (UINT64_C(1) << (hi + 1)) - 1;

	return m & ~((UINT64_C(1) << lo) - 1);
}

/* Set bits a..b of a plain bitmap. */
static void
bits_set(uint64_t *map, uint64_t a, uint64_t b)
{
	uint64_t w;

	for (w = a / 64; w <= b / 64; w++)
		map[w] |= bits_mask(w == a / 64 ? a % 64 : 0, w == b / 64 ? b % 64 : 63);
}

static int
range_cmp(const void *a, const void *b)
{
	const struct vfio_user_dirty_bits *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

void
vfio_user_dirty_free(struct vfio_user_dirty *log)
{
	uint32_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->nr; i++)
		free(log->r[i].bits);
	free(log);
}

int
vfio_user_dirty_create(const struct rte_vfio_user_dirty_range *ranges, uint32_t nr,
		uint64_t pgsize, uint64_t max_bytes, struct vfio_user_dirty **out)
{
	struct vfio_user_dirty *log;
	uint64_t total = 0, pages;
	uint32_t i;

	log = calloc(1, sizeof(*log) + (size_t)nr * sizeof(log->r[0]));
	if (log == NULL)
		return -ENOMEM;
	log->pgsize = pgsize;
	log->shift = rte_bsf64(pgsize);
	for (i = 0; i < nr; i++) {
		const struct rte_vfio_user_dirty_range *rg = &ranges[i];

		if (rg->length == 0 || rg->length - 1 > UINT64_MAX - rg->iova)
			goto einval;
		if (rg->length > max_bytes - total) {
			vfio_user_dirty_free(log);
			return -E2BIG;
		}
		total += rg->length;
		log->r[i].iova = rg->iova;
		log->r[i].end = rg->iova + (rg->length - 1);
	}
	qsort(log->r, nr, sizeof(log->r[0]), range_cmp);
	for (i = 0; i < nr; i++) {
		struct vfio_user_dirty_bits *r = &log->r[i];

		if (i > 0 && r->iova <= log->r[i - 1].end)
			goto einval;
		r->first = r->iova >> log->shift;
		pages = (r->end >> log->shift) - r->first + 1;
		r->bits = calloc((pages + 63) / 64, sizeof(uint64_t));
		log->nr = i + 1;
		if (r->bits == NULL) {
			vfio_user_dirty_free(log);
			return -ENOMEM;
		}
	}
	*out = log;
	return 0;

einval:
	vfio_user_dirty_free(log);
	return -EINVAL;
}

/* Index of the first range ending at or after iova (nr when none). */
static uint32_t
range_lookup(const struct vfio_user_dirty *log, uint64_t iova)
{
	uint32_t lo = 0, hi = log->nr;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (log->r[mid].end < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
vfio_user_dirty_mark(struct vfio_user_dirty *log, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + (len - 1);
	uint64_t a, b, w, mask;
	uint32_t i;

	for (i = range_lookup(log, iova); i < log->nr && log->r[i].iova <= last; i++) {
		struct vfio_user_dirty_bits *r = &log->r[i];

		a = (RTE_MAX(iova, r->iova) >> log->shift) - r->first;
		b = (RTE_MIN(last, r->end) >> log->shift) - r->first;
		for (w = a / 64; w <= b / 64; w++) {
			mask = bits_mask(w == a / 64 ? a % 64 : 0, w == b / 64 ? b % 64 : 63);
			/* Pages written again and again stay set: spare the cache line. */
			if ((__atomic_load_n(&r->bits[w], __ATOMIC_RELAXED) & mask) != mask)
				__atomic_fetch_or(&r->bits[w], mask, __ATOMIC_RELAXED);
		}
	}
}

/* Is [iova, last] wholly inside the logged ranges? */
static bool
range_covered(const struct vfio_user_dirty *log, uint64_t iova, uint64_t last)
{
	uint32_t i = range_lookup(log, iova);

	for (; i < log->nr && log->r[i].iova <= iova; i++) {
		if (log->r[i].end >= last)
			return true;
		iova = log->r[i].end + 1;
	}
	return false;
}

int
vfio_user_dirty_report(struct vfio_user_dirty *log, uint64_t iova, uint64_t len,
		uint64_t pgsize, uint64_t *bitmap)
{
	uint64_t last = iova + (len - 1);
	uint64_t a, b, w, mask, clear, old, page, lo, hi, x, y;
	bool keep_a, keep_b;
	unsigned int bit;
	uint32_t i;

	if (len == 0 || len - 1 > UINT64_MAX - iova || !range_covered(log, iova, last))
		return -EINVAL;
	for (i = range_lookup(log, iova); i < log->nr && log->r[i].iova <= last; i++) {
		struct vfio_user_dirty_bits *r = &log->r[i];

		lo = RTE_MAX(iova, r->iova);
		hi = RTE_MIN(last, r->end);
		a = (lo >> log->shift) - r->first;
		b = (hi >> log->shift) - r->first;
		/* The end pages are cleared only when the report covers them whole. */
		keep_a = ((r->first + a) << log->shift) < iova;
		keep_b = ((r->first + b) << log->shift) + (log->pgsize - 1) > last;
		for (w = a / 64; w <= b / 64; w++) {
			mask = bits_mask(w == a / 64 ? a % 64 : 0, w == b / 64 ? b % 64 : 63);
			clear = mask;
			if (w == a / 64 && keep_a)
				clear &= ~(UINT64_C(1) << (a % 64));
			if (w == b / 64 && keep_b)
				clear &= ~(UINT64_C(1) << (b % 64));
			if (clear != 0)
				old = __atomic_fetch_and(&r->bits[w], ~clear, __ATOMIC_RELAXED);
			else
				old = __atomic_load_n(&r->bits[w], __ATOMIC_RELAXED);
			old &= mask;
			while (old != 0) {
				bit = rte_bsf64(old);
				old &= old - 1;
				page = (r->first + w * 64 + bit) << log->shift;
				x = RTE_MAX(page, lo);
				y = RTE_MIN(page + (log->pgsize - 1), hi);
				bits_set(bitmap, (x - iova) / pgsize, (y - iova) / pgsize);
			}
		}
	}
	return 0;
}

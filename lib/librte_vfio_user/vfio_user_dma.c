/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>

#include "vfio_user_dma.h"
#include "vfio_user_private.h"

void
vfio_user_dma_init(struct vfio_user_dma_table *tbl, uint32_t max, bool map_fds)
{
	memset(tbl, 0, sizeof(*tbl));
	tbl->max = max;
	tbl->map_fds = map_fds;
	tbl->max_bytes = UINT64_MAX;
}

/* Index of the first window of mt whose iova is above iova. */
static uint32_t
mt_upper_bound(const struct rte_vfio_user_mem_table *mt, uint64_t iova)
{
	uint32_t lo = 0, hi = mt->entry_num, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mt->regions[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t
upper_bound(const struct vfio_user_dma_table *tbl, uint64_t iova)
{
	return mt_upper_bound(&tbl->pub, iova);
}

/* Last byte of a window; windows never wrap (checked at insertion). */
static inline uint64_t
last_byte(const struct rte_vfio_user_mem_reg *r)
{
	return r->iova + (r->size - 1);
}

/* Room for one more element in an array of n elements of size sz. */
static int
grow(void **arr, uint32_t n, uint32_t *cap, size_t sz)
{
	uint32_t c = *cap == 0 ? 4 : *cap * 2;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, sz * c);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static struct vfio_user_dma_file *
file_by_ino(const struct vfio_user_dma_table *tbl, const struct stat *st)
{
	uint32_t i;

	for (i = 0; i < tbl->nr_files; i++)
		if (tbl->files[i].ino == (uint64_t)st->st_ino &&
				tbl->files[i].dev == (uint64_t)st->st_dev)
			return &tbl->files[i];
	return NULL;
}

static struct vfio_user_dma_file *
file_by_fd(const struct vfio_user_dma_table *tbl, int fd)
{
	uint32_t i;

	for (i = 0; i < tbl->nr_files; i++)
		if (tbl->files[i].fd == fd)
			return &tbl->files[i];
	return NULL;
}

/* A mapping of file fd with prot that holds [offset, offset + size). */
static struct vfio_user_dma_mapping *
mapping_holding(const struct vfio_user_dma_table *tbl, int fd, uint32_t prot, uint64_t offset,
		uint64_t size)
{
	struct vfio_user_dma_mapping *m;
	uint32_t i;

	for (i = 0; i < tbl->nr_maps; i++) {
		m = &tbl->maps[i];
		if (m->fd != fd || m->prot != prot || offset < m->offset)
			continue;
		if (offset - m->offset <= m->len && size <= m->len - (offset - m->offset))
			return m;
	}
	return NULL;
}

/* The mapping a window points into. */
static struct vfio_user_dma_mapping *
mapping_of(const struct vfio_user_dma_table *tbl, const struct rte_vfio_user_mem_reg *r)
{
	uintptr_t va = (uintptr_t)r->vaddr;
	struct vfio_user_dma_mapping *m;
	uint32_t i;

	for (i = 0; i < tbl->nr_maps; i++) {
		m = &tbl->maps[i];
		if (m->fd == r->fd && va >= (uintptr_t)m->base && va - (uintptr_t)m->base < m->len)
			return m;
	}
	return NULL;
}

/*
 * Seal a memfd against shrinking where the client allows it; with need_seal,
 * refuse a descriptor that stays shrinkable. Done once per file: a seal is
 * never removed, and a file that refuses one (F_SEAL_SEAL, not shmem) always
 * will.
 */
static int
seal_shrink(int fd, bool need_seal)
{
	int seals;

	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0 || !need_seal)
		return 0;
	/* Sealed already by the client is as good. */
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & F_SEAL_SHRINK) ? 0 : -EPERM;
}

/*
 * A descriptor shorter than the window would turn a later access into
 * SIGBUS, so only regular files (memfd, shm, hugetlbfs) that cover the
 * window at a page-aligned offset are accepted.
 */
static int
check_fd_covers(int fd, uint64_t fd_offset, uint64_t size, struct stat *st)
{
	if (fd_offset % (uint64_t)sysconf(_SC_PAGESIZE) != 0)
		return -EINVAL;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode) || fd_offset > (uint64_t)st->st_size ||
			size > (uint64_t)st->st_size - fd_offset || size > SIZE_MAX)
		return -EINVAL;
	return 0;
}

int
vfio_user_map_fd(int fd, uint64_t fd_offset, uint64_t size, uint32_t prot, void **vaddr)
{
	struct stat st;
	void *va;
	int ret;

	ret = check_fd_covers(fd, fd_offset, size, &st);
	if (ret < 0)
		return ret;
	va = mmap(NULL, size, (int)prot, MAP_SHARED, fd, (off_t)fd_offset);
	if (va == MAP_FAILED)
		return -errno;
	*vaddr = va;
	return 0;
}

/*
 * Map a client descriptor, or reuse the mapping of a window of the same file
 * that holds this one. A descriptor shorter than the window would turn a
 * later access into SIGBUS, so only regular files (memfd, shm, hugetlbfs)
 * that cover the window are accepted. On success *fd is the descriptor the
 * table keeps for the file (the one received is closed if it is not that).
 */
static int
map_window(struct vfio_user_dma_table *tbl, int *fd, uint64_t fd_offset, uint64_t size,
		uint32_t prot, void **vaddr)
{
	struct vfio_user_dma_mapping *m;
	struct vfio_user_dma_file *f;
	struct stat st;
	int ret;

	ret = check_fd_covers(*fd, fd_offset, size, &st);
	if (ret < 0)
		return ret;
	f = file_by_ino(tbl, &st);
	if (f == NULL) {
		ret = seal_shrink(*fd, tbl->need_seal);
		if (ret == 0)
			ret = grow((void **)&tbl->files, tbl->nr_files, &tbl->cap_files,
				sizeof(*f));
		if (ret < 0)
			return ret;
	}
	m = f != NULL ? mapping_holding(tbl, f->fd, prot, fd_offset, size) : NULL;
	if (m == NULL) {
		void *va;

		if (size > tbl->max_bytes - tbl->mapped_bytes)
			return -ENOSPC;
		ret = grow((void **)&tbl->maps, tbl->nr_maps, &tbl->cap_maps, sizeof(*m));
		if (ret < 0)
			return ret;
		/* With the descriptor received: its access mode is what the client allows. */
		va = mmap(NULL, size, (int)prot, MAP_SHARED, *fd, (off_t)fd_offset);
		if (va == MAP_FAILED)
			return -errno;
		m = &tbl->maps[tbl->nr_maps++];
		*m = (struct vfio_user_dma_mapping){
			.fd = f != NULL ? f->fd : *fd, .prot = prot, .offset = fd_offset,
			.len = size, .base = va,
		};
		tbl->mapped_bytes += size;
	}
	if (f == NULL) {
		f = &tbl->files[tbl->nr_files++];
		*f = (struct vfio_user_dma_file){
			.dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino, .fd = *fd,
		};
	}
	f->refs++;
	m->refs++;
	if (*fd != f->fd) {
		close(*fd);
		*fd = f->fd;
	}
	*vaddr = (uint8_t *)m->base + (fd_offset - m->offset);
	return 0;
}

/* Drop a window's references to its mapping and file; the last one unmaps or closes. */
static void
release_window(struct vfio_user_dma_table *tbl, struct rte_vfio_user_mem_reg *r)
{
	struct vfio_user_dma_mapping *m;
	struct vfio_user_dma_file *f;

	if (!tbl->map_fds || r->fd < 0)
		return;
	m = mapping_of(tbl, r);
	if (m != NULL && --m->refs == 0) {
		munmap(m->base, m->len);
		tbl->mapped_bytes -= m->len;
		*m = tbl->maps[--tbl->nr_maps];
	}
	f = file_by_fd(tbl, r->fd);
	if (f != NULL && --f->refs == 0) {
		close(f->fd);
		*f = tbl->files[--tbl->nr_files];
	}
}

int
vfio_user_dma_add(struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t size,
		uint32_t prot, int fd, uint64_t fd_offset, void *vaddr)
{
	struct rte_vfio_user_mem_reg *r;
	uint32_t pos;
	int ret;

	if (size == 0 || iova > UINT64_MAX - (size - 1) ||
			(prot & ~(uint32_t)(PROT_READ | PROT_WRITE)) != 0) {
		ret = -EINVAL;
		goto fail;
	}

	pos = upper_bound(tbl, iova);
	if ((pos > 0 && last_byte(&tbl->pub.regions[pos - 1]) >= iova) ||
			(pos < tbl->pub.entry_num &&
			 tbl->pub.regions[pos].iova <= iova + (size - 1))) {
		ret = -EEXIST;
		goto fail;
	}
	if (tbl->granule > 1 && ((iova | size) & (tbl->granule - 1)) != 0) {
		ret = -EINVAL;
		goto fail;
	}
	if (tbl->pub.entry_num >= tbl->max) {
		ret = -ENOSPC;
		goto fail;
	}
	if (tbl->pub.entry_num == tbl->cap) {
		uint32_t cap = tbl->cap == 0 ? 8 : RTE_MIN(tbl->cap * 2, tbl->max);

		r = realloc(tbl->pub.regions, sizeof(*r) * cap);
		if (r == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		tbl->pub.regions = r;
		tbl->cap = cap;
	}
	if (tbl->map_fds) {
		vaddr = NULL;
		if (fd >= 0) {
			ret = map_window(tbl, &fd, fd_offset, size, prot, &vaddr);
			if (ret < 0)
				goto fail;
		}
	}

	r = &tbl->pub.regions[pos];
	memmove(r + 1, r, sizeof(*r) * (tbl->pub.entry_num - pos));
	r->iova = iova;
	r->size = size;
	r->fd_offset = fd_offset;
	r->prot = prot;
	r->fd = fd;
	r->vaddr = vaddr;
	tbl->pub.entry_num++;
	return 0;

fail:
	if (tbl->map_fds && fd >= 0)
		close(fd);
	return ret;
}

int
vfio_user_dma_remove(struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t size)
{
	struct rte_vfio_user_mem_reg *r;
	uint32_t pos = upper_bound(tbl, iova);

	if (pos == 0)
		return -ENOENT;
	r = &tbl->pub.regions[pos - 1];
	if (r->iova != iova || r->size != size)
		return -ENOENT;
	release_window(tbl, r);
	memmove(r, r + 1, sizeof(*r) * (tbl->pub.entry_num - pos));
	tbl->pub.entry_num--;
	return 0;
}

void
vfio_user_dma_remove_all(struct vfio_user_dma_table *tbl)
{
	uint32_t i;

	for (i = 0; i < tbl->pub.entry_num; i++)
		release_window(tbl, &tbl->pub.regions[i]);
	tbl->pub.entry_num = 0;
}

void
vfio_user_dma_fini(struct vfio_user_dma_table *tbl)
{
	vfio_user_dma_remove_all(tbl);
	free(tbl->pub.regions);
	tbl->pub.regions = NULL;
	tbl->cap = 0;
	free(tbl->files);
	tbl->files = NULL;
	tbl->cap_files = 0;
	free(tbl->maps);
	tbl->maps = NULL;
	tbl->cap_maps = 0;
}

const struct rte_vfio_user_mem_reg *
vfio_user_dma_find(const struct vfio_user_dma_table *tbl, uint64_t iova)
{
	uint32_t pos = upper_bound(tbl, iova);
	const struct rte_vfio_user_mem_reg *r;

	if (pos == 0)
		return NULL;
	r = &tbl->pub.regions[pos - 1];
	return iova <= last_byte(r) ? r : NULL;
}

/* Walk [iova, iova + len) window by window; copy only when buf is not NULL. */
static int
dma_walk(const struct vfio_user_dma_table *tbl, uint64_t iova, uint8_t *buf, uint64_t len,
		bool to_guest)
{
	uint32_t need = to_guest ? PROT_WRITE : PROT_READ;
	const struct rte_vfio_user_mem_reg *r;
	uint64_t off, chunk;

	while (len > 0) {
		r = vfio_user_dma_find(tbl, iova);
		if (r == NULL || r->vaddr == NULL || (r->prot & need) == 0)
			return -EFAULT;
		off = iova - r->iova;
		chunk = RTE_MIN(len, r->size - off);
		if (buf != NULL) {
			uint8_t *va = (uint8_t *)r->vaddr + off;

			if (to_guest)
				memcpy(va, buf, chunk);
			else
				memcpy(buf, va, chunk);
			buf += chunk;
		}
		len -= chunk;
		/* The last window may end at 2^64 - 1. */
		if (len > 0 && last_byte(r) == UINT64_MAX)
			return -EFAULT;
		iova += chunk;
	}
	return 0;
}

int
vfio_user_dma_copy(const struct vfio_user_dma_table *tbl, uint64_t iova, void *buf,
		uint64_t len, bool to_guest)
{
	int ret;

	if (len > 0 && iova > UINT64_MAX - (len - 1))
		return -EFAULT;
	/* Check the whole range first, so that a failed copy copies nothing. */
	ret = dma_walk(tbl, iova, NULL, len, to_guest);
	if (ret == 0)
		ret = dma_walk(tbl, iova, buf, len, to_guest);
	return ret;
}

void *
rte_vfio_user_mem_table_xlate(const struct rte_vfio_user_mem_table *mt, uint64_t iova,
		uint64_t len, uint32_t prot)
{
	const struct rte_vfio_user_mem_reg *r;
	uint32_t pos;
	uint64_t off;

	if (mt == NULL || mt->regions == NULL || len == 0)
		return NULL;
	pos = mt_upper_bound(mt, iova);
	if (pos == 0)
		return NULL;
	r = &mt->regions[pos - 1];
	off = iova - r->iova;
	if (off >= r->size || len > r->size - off)
		return NULL;
	/* A window without fd has no mapping here; a missing PROT bit would fault. */
	if (r->vaddr == NULL || (r->prot & prot) != prot)
		return NULL;
	return (uint8_t *)r->vaddr + off;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_DMA_H_
#define _VFIO_USER_DMA_H_

/*
 * DMA table: the windows of client memory, sorted by iova, never
 * overlapping. The server maps the descriptors it receives; the client keeps
 * its own table to answer DMA_READ/DMA_WRITE. No locking here: callers hold
 * their own lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rte_vfio_user.h"

/*
 * With map_fds, windows of one file share what they can: one descriptor per
 * file (the first received; later ones for the same st_dev and st_ino are
 * closed at once) and one mapping per file range and prot, reused by every
 * window inside that range. Both are counted by the windows using them.
 */
struct vfio_user_dma_file {
	uint64_t dev, ino;
	int fd;
	uint32_t refs;
};

struct vfio_user_dma_mapping {
	int fd;          /* of its file */
	uint32_t prot;
	uint64_t offset; /* in the file */
	uint64_t len;
	void *base;
	uint32_t refs;
};

struct vfio_user_dma_table {
	struct rte_vfio_user_mem_table pub; /* entry_num and sorted regions */
	uint32_t cap;
	uint32_t max;    /* max_dma_maps */
	uint64_t granule; /* smallest page size: windows start and end on it (0: any) */
	bool map_fds;    /* mmap received descriptors and own them (server) */
	bool need_seal;  /* refuse descriptors that cannot be sealed against shrinking */
	uint64_t max_bytes;    /* bytes mapped from descriptors, at most */
	uint64_t mapped_bytes; /* bytes mapped from descriptors now */
	struct vfio_user_dma_file *files;
	uint32_t nr_files, cap_files;
	struct vfio_user_dma_mapping *maps;
	uint32_t nr_maps, cap_maps;
};

/*
 * mmap() size bytes of a peer's descriptor at fd_offset (page aligned) with
 * prot, into *vaddr (the client's region mappings; the server's DMA windows
 * go through the table). Returns 0; -EINVAL for an unaligned offset or a
 * descriptor that is not a regular file covering the range; the errno of
 * fstat() or mmap().
 */
int vfio_user_map_fd(int fd, uint64_t fd_offset, uint64_t size, uint32_t prot, void **vaddr);

void vfio_user_dma_init(struct vfio_user_dma_table *tbl, uint32_t max, bool map_fds);
/* Remove every window, then free the table. */
void vfio_user_dma_fini(struct vfio_user_dma_table *tbl);

/*
 * Add a window. With map_fds and fd >= 0 the descriptor is mapped with prot
 * and owned by the table from then on (closed on removal, or at once when
 * the table holds one of the same file already), also on failure; the
 * window's fd is then the descriptor the table keeps for that file.
 * Returns 0; -EINVAL for size 0, iova + size past 2^64, bad prot, or a
 * failed mmap of a bad offset; -EEXIST when it overlaps a window; -EINVAL
 * when iova or size is not a multiple of the granule; -ENOSPC at
 * max windows or past max_bytes; -EPERM for an unsealable descriptor when
 * need_seal is set; -ENOMEM; other mmap errno.
 */
int vfio_user_dma_add(struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t size,
		uint32_t prot, int fd, uint64_t fd_offset, void *vaddr);
/* Remove the window with exactly this iova and size: 0 or -ENOENT. */
int vfio_user_dma_remove(struct vfio_user_dma_table *tbl, uint64_t iova, uint64_t size);
void vfio_user_dma_remove_all(struct vfio_user_dma_table *tbl);
/* The window holding iova, or NULL. */
const struct rte_vfio_user_mem_reg *vfio_user_dma_find(const struct vfio_user_dma_table *tbl,
		uint64_t iova);

/*
 * Copy between buf and the windows [iova, iova + len), crossing adjacent
 * windows. Each window must have vaddr and the prot bit (PROT_READ to read,
 * PROT_WRITE to write). Returns 0 or -EFAULT; copies nothing on -EFAULT.
 */
int vfio_user_dma_copy(const struct vfio_user_dma_table *tbl, uint64_t iova, void *buf,
		uint64_t len, bool to_guest);

#endif /* _VFIO_USER_DMA_H_ */

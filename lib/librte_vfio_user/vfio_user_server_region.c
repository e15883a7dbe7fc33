/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server region access for REGION_READ/WRITE/WRITE_MULTI (control thread):
 * through the region's rw callback, its base address or a mapping of its
 * descriptor made on first use.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "vfio_user_server.h"

static void *
srv_region_map(struct vfio_user_server *srv, uint32_t idx)
{
	struct rte_vfio_user_reg_info *reg = &srv->regs[idx];
	struct srv_reg_map *map = &srv->maps[idx];
	int prot = 0;
	void *addr;

	if (map->addr != NULL)
		return map->addr;
	if (reg->fd < 0 || reg->info->size > SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (reg->info->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (reg->info->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	addr = mmap(NULL, reg->info->size, prot, MAP_SHARED, reg->fd, (off_t)reg->info->offset);
	if (addr == MAP_FAILED) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot map region %u: %s", idx,
				strerror(errno));
		return NULL;
	}
	map->addr = addr;
	map->len = reg->info->size;
	return addr;
}

/* Bounds are checked by the caller (srv_check_access()). */
int
srv_region_access(struct vfio_user_server *srv, uint32_t idx, char *buf, uint32_t count,
		uint64_t off, bool write)
{
	struct rte_vfio_user_reg_info *reg = &srv->regs[idx];
	uint8_t *base;
	ssize_t ret;

	if (reg->rw != NULL) {
		ret = reg->rw(srv->dev_id, reg, buf, count, off, write);
		if (ret < 0)
			return srv_cb_err(ret);
		if ((size_t)ret != count)
			return -EIO;
		return 0;
	}
	base = reg->base;
	if (base == NULL) {
		base = srv_region_map(srv, idx);
		if (base == NULL)
			return -errno;
	}
	if (write)
		memcpy(base + off, buf, count);
	else
		memcpy(buf, base + off, count);
	return 0;
}

/* Whether count bytes at off of region idx may be accessed (flag: READ or WRITE). */
int
srv_check_access(struct vfio_user_server *srv, uint32_t idx, uint64_t off, uint64_t count,
		uint32_t flag, uint64_t max)
{
	const struct vfio_region_info *info;

	if (idx >= srv->nr_regs)
		return -EINVAL;
	info = srv->regs[idx].info;
	if (!(info->flags & flag))
		return -EINVAL;
	if (count == 0 || count > max)
		return -EINVAL;
	if (off > info->size || count > info->size - off)
		return -EINVAL;
	return 0;
}

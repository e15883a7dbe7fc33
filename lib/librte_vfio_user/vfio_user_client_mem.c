/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client half: memory shared with the server. DMA windows lent to the
 * server are kept in the client's own table, which answers the server's
 * DMA_READ/DMA_WRITE; mappable server regions are mapped here.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <unistd.h>

#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vfio_user_client.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

/* Bounds the GET_REGION_INFO retries of region_mmap() (argsz grows each time). */
#define CLI_REGION_INFO_TRIES 4
#define CLI_REGION_INFO_FIRST_ARGSZ 512
/* Bounds a capability chain walk, so that a looping chain cannot hang us. */
#define CLI_MAX_CAPS 64

/*
 * DMA
 */

void
vfio_user_cli_dma_forget(struct vfio_user_client *cli, uint64_t iova, uint64_t size)
{
	const struct rte_vfio_user_mem_reg *r;
	int fd = -1;

	pthread_rwlock_wrlock(&cli->dma_lock);
	r = vfio_user_dma_find(&cli->dma, iova);
	if (r != NULL && r->iova == iova && r->size == size)
		fd = r->fd;
	if (vfio_user_dma_remove(&cli->dma, iova, size) == 0 && fd >= 0)
		close(fd);
	pthread_rwlock_unlock(&cli->dma_lock);
}

static int
cli_dma_map_one(struct vfio_user_client *cli, const struct rte_vfio_user_mem_reg *mem, int fd)
{
	struct vfio_user_dma_map req;
	struct vfio_user_msg reply;
	struct iovec iov;
	int keep = -1;
	int ret;

	if (mem->prot & ~(uint32_t)(PROT_READ | PROT_WRITE))
		return -EINVAL;
	if (fd >= 0 && cli->peer_max_fds == 0)
		return -EINVAL;
	/* A duplicate to map the window again after a reconnection. */
	if (cli->reconnect_ms != 0 && fd >= 0) {
		keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (keep < 0)
			return -errno;
	}

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	if (mem->prot & PROT_READ)
		req.flags |= VFIO_USER_F_DMA_REGION_READ;
	if (mem->prot & PROT_WRITE)
		req.flags |= VFIO_USER_F_DMA_REGION_WRITE;
	req.offset = fd >= 0 ? mem->fd_offset : 0;
	req.addr = mem->iova;
	req.size = mem->size;

	/* Known before the server can use it: its DMA_READ may come before our reply. */
	pthread_rwlock_wrlock(&cli->dma_lock);
	ret = vfio_user_dma_add(&cli->dma, mem->iova, mem->size, mem->prot, keep,
		mem->fd_offset, mem->vaddr);
	pthread_rwlock_unlock(&cli->dma_lock);
	if (ret < 0) {
		if (keep >= 0)
			close(keep);
		return ret;
	}

	iov.iov_base = &req;
	iov.iov_len = sizeof(req);
	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DMA_MAP, &iov, 1, fd >= 0 ? &fd : NULL,
		fd >= 0 ? 1 : 0, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);

	if (ret < 0)
		vfio_user_cli_dma_forget(cli, mem->iova, mem->size);
	if (ret == -ETIMEDOUT)
		vfio_user_cli_break(cli, "DMA_MAP");
	return ret;
}

int
rte_vfio_user_dma_map(int dev_id, struct rte_vfio_user_mem_reg *mem, int *fds, uint32_t num)
{
	struct vfio_user_client *cli;
	uint32_t i;
	int ret;

	if (mem == NULL && num != 0)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	/* Held throughout: a reconnection replays the table, which must not change meanwhile. */
	ret = vfio_user_cli_hold(cli);
	if (ret < 0)
		goto out;
	for (i = 0; i < num && ret == 0; i++) {
		ret = cli_dma_map_one(cli, &mem[i], fds != NULL ? fds[i] : -1);
		if (ret < 0)
			VFIO_USER_CLI_LOG(DEBUG, cli->path,
				"DMA map 0x%" PRIx64 "+0x%" PRIx64 " failed: %s",
				mem[i].iova, mem[i].size, strerror(-ret));
	}
	vfio_user_cli_unhold(cli);
out:
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

static int
cli_dma_unmap_one(struct vfio_user_client *cli, uint64_t iova, uint64_t size)
{
	struct vfio_user_dma_unmap req, rep;
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	req.addr = iova;
	req.size = size;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);

	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DMA_UNMAP, &iov, 1, NULL, 0, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, sizeof(rep));
	if (ret == 0) {
		memcpy(&rep, reply.data, sizeof(rep));
		if (rep.addr != iova || rep.size != size) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"DMA_UNMAP reply does not echo the request");
			ret = -EPROTO;
		}
	}
	vfio_user_msg_release(&reply);
	if (ret == -ETIMEDOUT)
		vfio_user_cli_break(cli, "DMA_UNMAP");
	if (ret < 0)
		return ret;

	/* The server no longer uses the window: stop serving it. */
	vfio_user_cli_dma_forget(cli, iova, size);
	return 0;
}

/*
 * Every window, one DMA_UNMAP each: the specification leaves the flags of
 * DMA_UNMAP unused, so a server need not know VFIO_DMA_UNMAP_FLAG_ALL.
 * Windows are taken from the front of the table until it is empty; a call
 * mapping at the same time may add windows, which are unmapped too.
 */
static int
cli_dma_unmap_all(struct vfio_user_client *cli)
{
	struct rte_vfio_user_mem_reg first;
	bool empty;
	int ret;

	for (;;) {
		pthread_rwlock_rdlock(&cli->dma_lock);
		empty = cli->dma.pub.entry_num == 0;
		if (!empty)
			first = cli->dma.pub.regions[0];
		pthread_rwlock_unlock(&cli->dma_lock);
		if (empty)
			return 0;
		ret = cli_dma_unmap_one(cli, first.iova, first.size);
		if (ret < 0)
			return ret;
	}
}

int
rte_vfio_user_dma_unmap(int dev_id, struct rte_vfio_user_mem_reg *mem, uint32_t num)
{
	struct vfio_user_client *cli;
	uint32_t i;
	int ret;

	if (mem == NULL && num != 0)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	ret = vfio_user_cli_hold(cli);
	if (ret < 0)
		goto out;
	if (mem == NULL)
		ret = cli_dma_unmap_all(cli);
	for (i = 0; i < num && ret == 0; i++)
		ret = cli_dma_unmap_one(cli, mem[i].iova, mem[i].size);
	vfio_user_cli_unhold(cli);
out:
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

/*
 * Region mmap
 */

/*
 * Find the sparse mmap capability in a region info of len bytes: *sp_off is
 * its offset (0 if none) and *nr its number of areas, all within len.
 */
static int
cli_find_sparse(struct vfio_user_client *cli, const struct vfio_region_info *info,
		uint32_t len, uint32_t *sp_off, uint32_t *nr)
{
	const uint8_t *base = (const uint8_t *)info;
	struct vfio_region_info_cap_sparse_mmap sp;
	struct vfio_info_cap_header hdr;
	uint32_t off = info->cap_offset;
	uint32_t n = 0;

	*sp_off = 0;
	*nr = 0;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	while (off != 0) {
		if (off < sizeof(*info) || off > len - sizeof(hdr) || ++n > CLI_MAX_CAPS)
			goto bad;
		memcpy(&hdr, base + off, sizeof(hdr));
		if (hdr.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			if (off > len - sizeof(sp))
				goto bad;
			memcpy(&sp, base + off, sizeof(sp));
			if ((uint64_t)sp.nr_areas * sizeof(struct vfio_region_sparse_mmap_area) >
					len - off - sizeof(sp))
				goto bad;
			*sp_off = off;
			*nr = sp.nr_areas;
			return 0;
		}
		/* Forward only, so that the walk ends. */
		if (hdr.next != 0 && hdr.next <= off)
			goto bad;
		off = hdr.next;
	}
	return 0;
bad:
	VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: malformed capability chain", info->index);
	return -EPROTO;
}

int
vfio_user_cli_map_region(struct vfio_user_client *cli, uint32_t index, struct cli_region_maps **out)
{
	struct vfio_region_sparse_mmap_area area;
	struct vfio_region_info *info = NULL;
	struct cli_region_maps *rm = NULL;
	uint32_t argsz = CLI_REGION_INFO_FIRST_ARGSZ, len, nr, i, sp_off;
	int fd = -1, prot = 0, tries, ret;
	void *addr;

	for (tries = 0; tries < CLI_REGION_INFO_TRIES; tries++) {
		free(info);
		info = calloc(1, argsz);
		if (info == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		if (fd >= 0)
			close(fd);
		ret = vfio_user_cli_region_info(cli, index, info, argsz, &fd);
		if (ret < 0)
			goto out;
		if (info->argsz <= argsz)
			break;
		if (info->argsz > vfio_user_cli_max_payload(cli)) {
			ret = -EPROTO;
			goto out;
		}
		argsz = info->argsz;
	}
	if (tries == CLI_REGION_INFO_TRIES) {
		ret = -EPROTO;
		goto out;
	}
	len = info->argsz;

	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP) || !(info->flags &
			(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))) {
		ret = -ENOTSUP;
		goto out;
	}
	if (fd < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "mappable region %u came without fd", index);
		ret = -EPROTO;
		goto out;
	}
	if (info->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (info->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;

	ret = cli_find_sparse(cli, info, len, &sp_off, &nr);
	if (ret < 0)
		goto out;
	if (sp_off == 0)
		nr = 1;
	rm = calloc(1, sizeof(*rm) + sizeof(rm->maps[0]) * (size_t)nr);
	if (rm == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rm->index = index;
	for (i = 0; i < nr; i++) {
		if (sp_off != 0) {
			memcpy(&area, (uint8_t *)info + sp_off +
				sizeof(struct vfio_region_info_cap_sparse_mmap) +
				(size_t)i * sizeof(area), sizeof(area));
		} else {
			area.offset = 0;
			area.size = info->size;
		}
		if (area.size == 0)
			continue;
		if (area.offset + area.size < area.offset || area.offset + area.size > info->size ||
				info->offset + area.offset < info->offset ||
				info->offset + area.offset > (uint64_t)INT64_MAX ||
				area.size > SIZE_MAX) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: bad mmap area", index);
			ret = -EPROTO;
			goto out;
		}
		/* A descriptor shorter than the area would fault on access: checked. */
		ret = vfio_user_map_fd(fd, info->offset + area.offset, area.size, (uint32_t)prot,
			&addr);
		if (ret < 0) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: cannot map 0x%" PRIx64
				"+0x%" PRIx64 " of its descriptor: %s", index,
				(uint64_t)(info->offset + area.offset), (uint64_t)area.size,
				strerror(-ret));
			if (ret == -EINVAL)
				ret = -EPROTO;
			goto out;
		}
		rm->maps[rm->nr].offset = area.offset;
		rm->maps[rm->nr].size = area.size;
		rm->maps[rm->nr].addr = addr;
		rm->nr++;
	}
	if (rm->nr == 0) {
		ret = -ENOTSUP;
		goto out;
	}
	*out = rm;
	rm = NULL;
	ret = 0;
out:
	if (rm != NULL) {
		for (i = 0; i < rm->nr; i++)
			munmap(rm->maps[i].addr, rm->maps[i].size);
		free(rm);
	}
	if (fd >= 0)
		close(fd);
	free(info);
	return ret;
}

int
rte_vfio_user_region_mmap(int dev_id, uint32_t index, struct rte_vfio_user_region_map *maps,
		uint32_t *nr_maps)
{
	struct vfio_user_client *cli;
	struct cli_region_maps *rm;
	int ret;

	if (nr_maps == NULL || (maps == NULL && *nr_maps != 0))
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	pthread_mutex_lock(&cli->map_lock);
	TAILQ_FOREACH(rm, &cli->maps, next)
		if (rm->index == index)
			break;
	/* A new mapping is replayed by a reconnection: not while one runs. */
	if (rm == NULL)
		ret = vfio_user_cli_hold(cli);
	if (rm == NULL && ret == 0) {
		ret = vfio_user_cli_map_region(cli, index, &rm);
		if (ret == 0)
			TAILQ_INSERT_TAIL(&cli->maps, rm, next);
		vfio_user_cli_unhold(cli);
	}
	if (ret == 0) {
		if (rm->nr > *nr_maps) {
			ret = -ENOSPC;
		} else {
			memcpy(maps, rm->maps, sizeof(maps[0]) * rm->nr);
		}
		*nr_maps = rm->nr;
	}
	pthread_mutex_unlock(&cli->map_lock);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

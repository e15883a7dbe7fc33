/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server registry and configuration: each registered socket path is one
 * struct vfio_user_server in a slot of srv_slots, its device id. See
 * vfio_user_server.h for the model and the locks.
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "vfio_user_ctrl.h"
#include "vfio_user_server.h"

/* Sub-indexes of one interrupt type (PCI allows 2048 MSI-X vectors). */
#define SRV_MAX_IRQ_COUNT 65536
#define SRV_SOCK_FLAGS (RTE_VFIO_USER_SOCK_F_PEER_UID | RTE_VFIO_USER_SOCK_F_PEER_GID | \
		RTE_VFIO_USER_SOCK_F_SEALED_DMA)

static pthread_mutex_t srv_api_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t srv_api_cond = PTHREAD_COND_INITIALIZER;
pthread_rwlock_t srv_id_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static struct vfio_user_server **srv_slots;
static uint32_t srv_nr_slots;
static uint32_t srv_count;
struct vfio_user_server *srv_current;

/*
 * Registry
 */

/* srv_api_lock held */
static struct vfio_user_server *
srv_find(const char *path)
{
	uint32_t i;

	for (i = 0; i < srv_nr_slots; i++)
		if (srv_slots[i] != NULL && strcmp(srv_slots[i]->path, path) == 0)
			return srv_slots[i];
	return NULL;
}

/* srv_id_lock (read) or srv_api_lock held */
struct vfio_user_server *
srv_get(int dev_id)
{
	if (dev_id < 0 || (uint32_t)dev_id >= srv_nr_slots)
		return NULL;
	return srv_slots[dev_id];
}

int
srv_inspect(int dev_id, void (*fn)(struct vfio_user_server *srv, void *arg), void *arg)
{
	struct vfio_user_server *srv;
	int ret = -ENODEV;

	pthread_mutex_lock(&srv_api_lock);
	if (dev_id < 0 || (uint32_t)dev_id >= srv_nr_slots) {
		ret = -ERANGE;
	} else {
		srv = srv_get(dev_id);
		if (srv != NULL) {
			fn(srv, arg);
			ret = 0;
		}
	}
	pthread_mutex_unlock(&srv_api_lock);
	return ret;
}

static int
srv_check_path(const char *path)
{
	size_t len;

	if (path == NULL)
		return -EINVAL;
	len = strnlen(path, SRV_PATH_MAX);
	if (len == 0 || len >= SRV_PATH_MAX)
		return -EINVAL;
	return 0;
}

/*
 * Find a server and mark it busy for stop/unregister. Another stop or
 * unregister of the same device is waited for, except on the control thread,
 * which the other one may be waiting for.
 */
static int
srv_begin(const char *path, struct vfio_user_server **out)
{
	struct vfio_user_server *srv;
	int ret = 0;

	pthread_mutex_lock(&srv_api_lock);
	for (;;) {
		srv = srv_find(path);
		if (srv == NULL) {
			ret = -ENOENT;
			break;
		}
		if (vfio_user_ctrl_is_self() && srv_current == srv) {
			ret = -EDEADLK;
			break;
		}
		if (!srv->busy)
			break;
		if (vfio_user_ctrl_is_self()) {
			ret = -EBUSY;
			break;
		}
		pthread_cond_wait(&srv_api_cond, &srv_api_lock);
	}
	if (ret == 0)
		srv->busy = true;
	pthread_mutex_unlock(&srv_api_lock);
	*out = srv;
	return ret;
}

/* srv_api_lock held */
static void
srv_end_locked(struct vfio_user_server *srv)
{
	srv->busy = false;
	pthread_cond_broadcast(&srv_api_cond);
}

/*
 * srv_api_lock held, the device not busy: unwatch fd. Unwatching waits for
 * the control thread, whose callback may be waiting for srv_api_lock: let go
 * of it meanwhile, the device kept busy.
 */
void
srv_unwatch_busy(struct vfio_user_server *srv, int fd)
{
	srv->busy = true;
	pthread_mutex_unlock(&srv_api_lock);
	vfio_user_ctrl_del(fd);
	pthread_mutex_lock(&srv_api_lock);
	srv_end_locked(srv);
}

/*
 * Device description
 */

static void
srv_free_regions(struct vfio_user_server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->nr_regs; i++) {
		free(srv->regs[i].info);
		free((void *)(uintptr_t)srv->regs[i].io_fds);
		if (srv->maps[i].addr != NULL)
			munmap(srv->maps[i].addr, srv->maps[i].len);
	}
	free(srv->regs);
	free(srv->maps);
	srv->regs = NULL;
	srv->maps = NULL;
	srv->nr_regs = 0;
}

static void
srv_free_irqs(struct vfio_user_server *srv)
{
	uint32_t i;

	for (i = 0; i < srv->nr_irqs; i++)
		free(srv->irqs[i].vec);
	free(srv->irqs);
	srv->irqs = NULL;
	srv->nr_irqs = 0;
}

static int
srv_check_caps(const struct vfio_region_info *info)
{
	const uint8_t *base = (const uint8_t *)info;
	struct vfio_region_info_cap_sparse_mmap sparse;
	struct vfio_info_cap_header hdr;
	uint32_t off = info->cap_offset;
	uint32_t prev = 0;
	uint64_t end;

	while (off != 0) {
		/* Strictly increasing offsets past the structure: no loop, no overlap. */
		if (off < sizeof(*info) || off <= prev || off > info->argsz ||
				info->argsz - off < sizeof(hdr))
			return -EINVAL;
		memcpy(&hdr, base + off, sizeof(hdr));
		if (hdr.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			end = hdr.next != 0 ? hdr.next : info->argsz;
			if (end > info->argsz || end < off ||
					end - off < sizeof(sparse))
				return -EINVAL;
			memcpy(&sparse, base + off, sizeof(sparse));
			if ((uint64_t)sparse.nr_areas * sizeof(sparse.areas[0]) >
					end - off - sizeof(sparse))
				return -EINVAL;
		}
		prev = off;
		off = hdr.next;
	}
	return 0;
}

static int
srv_check_region(const struct rte_vfio_user_reg_info *r, uint32_t idx)
{
	const struct vfio_region_info *info = r->info;
	uint32_t i;

	if (info == NULL || info->index != idx || info->argsz < sizeof(*info))
		return -EINVAL;
	if ((info->flags & VFIO_REGION_INFO_FLAG_MMAP) && r->fd < 0)
		return -EINVAL;
	if ((info->flags & VFIO_REGION_INFO_FLAG_CAPS) && srv_check_caps(info) < 0)
		return -EINVAL;
	if (r->nr_io_fds != 0 && r->io_fds == NULL)
		return -EINVAL;
	if (r->nr_io_fds > (UINT32_MAX - sizeof(struct vfio_user_region_io_fds_req)) /
			sizeof(struct vfio_user_sub_region_io_fd))
		return -EINVAL;
	for (i = 0; i < r->nr_io_fds; i++) {
		const struct rte_vfio_user_io_fd *io = &r->io_fds[i];

		if (io->fd < 0 || io->type > RTE_VFIO_USER_IO_FD_TYPE_IOREGIONFD ||
				io->offset > info->size || io->size > info->size - io->offset)
			return -EINVAL;
	}
	return 0;
}

static int
srv_copy_region(struct rte_vfio_user_reg_info *dst, const struct rte_vfio_user_reg_info *src)
{
	const struct vfio_region_info *info = src->info;
	struct rte_vfio_user_io_fd *io = NULL;
	struct vfio_region_info *copy;
	size_t len = sizeof(*info);

	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS)
		len = info->argsz;
	copy = malloc(len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, info, len);
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS)) {
		/* Nothing follows the structure: the reply is exactly 32 bytes. */
		copy->argsz = sizeof(*copy);
		copy->cap_offset = 0;
	}
	if (src->nr_io_fds != 0) {
		io = malloc(sizeof(*io) * src->nr_io_fds);
		if (io == NULL) {
			free(copy);
			return -ENOMEM;
		}
		memcpy(io, src->io_fds, sizeof(*io) * src->nr_io_fds);
	}
	*dst = *src;
	dst->info = copy;
	dst->io_fds = io;
	return 0;
}

/*
 * Public API: configuration
 */

int
rte_vfio_user_register(const char *sock_addr, const struct rte_vfio_user_notify_ops *ops)
{
	struct rte_vfio_user_limits lim;
	struct vfio_user_server *srv, **slots;
	pthread_rwlockattr_t attr;
	uint32_t i, n;
	int ret;

	ret = srv_check_path(sock_addr);
	if (ret < 0)
		return vfio_user_err(ret);
	vfio_user_limits_snapshot(&lim);
	if (lim.max_devices > INT_MAX)
		lim.max_devices = INT_MAX;

	pthread_mutex_lock(&srv_api_lock);
	if (srv_find(sock_addr) != NULL) {
		ret = -EEXIST;
		goto out;
	}
	if (srv_count >= lim.max_devices) {
		ret = -ENOSPC;
		goto out;
	}
	for (i = 0; i < srv_nr_slots; i++)
		if (srv_slots[i] == NULL)
			break;
	if (i == srv_nr_slots) {
		/* Fewer servers than max_devices and no free slot: grow. */
		n = RTE_MAX(lim.max_devices, srv_nr_slots + 1);
		slots = calloc(n, sizeof(*slots));
		if (slots == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		pthread_rwlock_wrlock(&srv_id_lock);
		if (srv_nr_slots != 0)
			memcpy(slots, srv_slots, srv_nr_slots * sizeof(*slots));
		free(srv_slots);
		srv_slots = slots;
		srv_nr_slots = n;
		pthread_rwlock_unlock(&srv_id_lock);
	}

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rte_strlcpy(srv->path, sock_addr, sizeof(srv->path));
	srv->dev_id = (int)i;
	srv->mig_state = RTE_VFIO_USER_MIG_RUNNING;
	if (ops != NULL)
		srv->ops = *ops;
	srv->listen_fd = -1;
	srv->retry_fd = -1;
	srv->sock_opts.mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	pthread_mutex_init(&srv->irq_lock, NULL);
	/* The control thread changing the table must not starve behind DMA readers. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&srv->dp_lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	pthread_rwlock_wrlock(&srv_id_lock);
	srv_slots[i] = srv;
	srv_count++;
	pthread_rwlock_unlock(&srv_id_lock);
	ret = (int)i;
	VFIO_USER_SRV_LOG(INFO, srv->path, "registered as device %d", ret);
out:
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_unregister(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	ret = srv_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (srv->started)
		vfio_user_ctrl_run(srv_stop_ctrl, srv);

	pthread_mutex_lock(&srv_api_lock);
	pthread_rwlock_wrlock(&srv_id_lock);
	srv_slots[srv->dev_id] = NULL;
	srv_count--;
	pthread_rwlock_unlock(&srv_id_lock);
	srv->started = false;
	srv_end_locked(srv);
	pthread_mutex_unlock(&srv_api_lock);

	/* Data path users held srv_id_lock: none is left. */
	VFIO_USER_SRV_LOG(INFO, srv->path, "unregistered");
	srv_free_regions(srv);
	srv_free_irqs(srv);
	pthread_rwlock_destroy(&srv->dp_lock);
	pthread_mutex_destroy(&srv->irq_lock);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return 0;
}

/* srv_api_lock held on success. */
static int
srv_config_begin(const char *sock_addr, struct vfio_user_server **out)
{
	struct vfio_user_server *srv;

	if (sock_addr == NULL)
		return -EINVAL;
	pthread_mutex_lock(&srv_api_lock);
	srv = srv_find(sock_addr);
	if (srv == NULL) {
		pthread_mutex_unlock(&srv_api_lock);
		return -ENOENT;
	}
	if (srv->started || srv->busy) {
		pthread_mutex_unlock(&srv_api_lock);
		return -EBUSY;
	}
	*out = srv;
	return 0;
}

int
rte_vfio_user_set_sock_opts(const char *sock_addr, const struct rte_vfio_user_sock_opts *opts)
{
	struct vfio_user_server *srv;
	int ret;

	if (opts == NULL || (opts->flags & ~SRV_SOCK_FLAGS) != 0 ||
			(opts->mode & ~(mode_t)0777) != 0)
		return vfio_user_err(-EINVAL);
	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	srv->sock_opts = *opts;
	if (srv->sock_opts.mode == 0)
		srv->sock_opts.mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	pthread_mutex_unlock(&srv_api_lock);
	return 0;
}

/* The first version of struct rte_vfio_user_mig_ops ends with data_size. */
#define SRV_MIG_OPS_V1_SIZE \
	(offsetof(struct rte_vfio_user_mig_ops, data_size) + sizeof(void *))
#define SRV_MIG_FLAGS (RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY)

int
rte_vfio_user_set_migration(const char *sock_addr, const struct rte_vfio_user_mig_ops *ops)
{
	struct rte_vfio_user_mig_ops copy;
	struct vfio_user_server *srv;
	int ret;

	memset(&copy, 0, sizeof(copy));
	if (ops != NULL) {
		if (ops->size < SRV_MIG_OPS_V1_SIZE)
			return vfio_user_err(-EINVAL);
		memcpy(&copy, ops, RTE_MIN((size_t)ops->size, sizeof(copy)));
		copy.size = sizeof(copy);
		if (!(copy.flags & RTE_VFIO_USER_MIG_F_STOP_COPY) ||
				(copy.flags & ~SRV_MIG_FLAGS) != 0 || copy.transition == NULL ||
				copy.save == NULL || copy.load == NULL)
			return vfio_user_err(-EINVAL);
	}
	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	srv->migratable = ops != NULL;
	srv->mig_ops = copy;
	srv->mig_state = RTE_VFIO_USER_MIG_RUNNING;
	pthread_mutex_unlock(&srv_api_lock);
	return 0;
}

int
rte_vfio_user_set_dev_info(const char *sock_addr, const struct vfio_device_info *dev_info)
{
	struct vfio_user_server *srv;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (dev_info == NULL || !(dev_info->flags & VFIO_DEVICE_FLAGS_PCI) ||
			(dev_info->flags & ~(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)) ||
			dev_info->num_regions < VFIO_PCI_NUM_REGIONS) {
		ret = -EINVAL;
		goto out;
	}
	/* Regions or IRQs described for other counts no longer fit. */
	if (srv->regs != NULL && srv->nr_regs != dev_info->num_regions)
		srv_free_regions(srv);
	if (srv->irqs != NULL && srv->nr_irqs != dev_info->num_irqs) {
		/* The data path reads them under irq_lock, started or not. */
		pthread_mutex_lock(&srv->irq_lock);
		srv_free_irqs(srv);
		pthread_mutex_unlock(&srv->irq_lock);
	}
	srv->dev_info.argsz = sizeof(srv->dev_info);
	srv->dev_info.flags = dev_info->flags;
	srv->dev_info.num_regions = dev_info->num_regions;
	srv->dev_info.num_irqs = dev_info->num_irqs;
	srv->has_dev_info = true;
out:
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_reg_info(const char *sock_addr, const struct rte_vfio_user_regions *reg)
{
	struct rte_vfio_user_reg_info *regs = NULL;
	struct srv_reg_map *maps = NULL;
	struct vfio_user_server *srv;
	uint32_t i, n = 0;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (reg == NULL || !srv->has_dev_info || reg->reg_num != srv->dev_info.num_regions ||
			reg->reg_info == NULL) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < reg->reg_num; i++) {
		ret = srv_check_region(&reg->reg_info[i], i);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(ERR, srv->path, "region %u is invalid", i);
			goto out;
		}
	}
	regs = calloc(reg->reg_num, sizeof(*regs));
	maps = calloc(reg->reg_num, sizeof(*maps));
	if (regs == NULL || maps == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	for (n = 0; n < reg->reg_num; n++) {
		ret = srv_copy_region(&regs[n], &reg->reg_info[n]);
		if (ret < 0)
			goto fail;
	}
	srv_free_regions(srv);
	srv->regs = regs;
	srv->maps = maps;
	srv->nr_regs = reg->reg_num;
	ret = 0;
	goto out;
fail:
	for (i = 0; i < n; i++) {
		free(regs[i].info);
		free((void *)(uintptr_t)regs[i].io_fds);
	}
	free(regs);
	free(maps);
out:
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_irq_info(const char *sock_addr, const struct rte_vfio_user_irq_info *irq)
{
	struct vfio_user_server *srv;
	struct srv_irq *irqs = NULL;
	uint32_t i, j;
	int ret;

	ret = srv_config_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (irq == NULL || !srv->has_dev_info || irq->irq_num != srv->dev_info.num_irqs ||
			(irq->irq_num != 0 && irq->irq_info == NULL)) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < irq->irq_num; i++) {
		if (irq->irq_info[i].index != i || irq->irq_info[i].count > SRV_MAX_IRQ_COUNT) {
			ret = -EINVAL;
			goto out;
		}
	}
	if (irq->irq_num != 0) {
		irqs = calloc(irq->irq_num, sizeof(*irqs));
		if (irqs == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < irq->irq_num; i++) {
		irqs[i].info = irq->irq_info[i];
		irqs[i].info.argsz = sizeof(irqs[i].info);
		if (irqs[i].info.count == 0)
			continue;
		irqs[i].vec = calloc(irqs[i].info.count, sizeof(*irqs[i].vec));
		if (irqs[i].vec == NULL) {
			while (i-- > 0)
				free(irqs[i].vec);
			free(irqs);
			ret = -ENOMEM;
			goto out;
		}
		for (j = 0; j < irqs[i].info.count; j++) {
			irqs[i].vec[j].trigger = -1;
			irqs[i].vec[j].mask_fd = -1;
			irqs[i].vec[j].unmask_fd = -1;
			/* Without MASKABLE the client could never unmask it. */
			irqs[i].vec[j].automask = (irqs[i].info.flags &
				(VFIO_IRQ_INFO_AUTOMASKED | VFIO_IRQ_INFO_MASKABLE)) ==
				(VFIO_IRQ_INFO_AUTOMASKED | VFIO_IRQ_INFO_MASKABLE);
		}
	}
	pthread_mutex_lock(&srv->irq_lock);
	srv_free_irqs(srv);
	srv->irqs = irqs;
	srv->nr_irqs = irq->irq_num;
	pthread_mutex_unlock(&srv->irq_lock);
	/* A device without interrupts still counts as described. */
	ret = 0;
out:
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_start(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	pthread_mutex_lock(&srv_api_lock);
	srv = srv_find(sock_addr);
	if (srv == NULL) {
		ret = -ENOENT;
		goto out;
	}
	if (srv->started || srv->busy) {
		ret = -EALREADY;
		goto out;
	}
	if (!srv->has_dev_info || srv->regs == NULL ||
			(srv->dev_info.num_irqs != 0 && srv->irqs == NULL)) {
		ret = -EINVAL;
		goto out;
	}
	ret = srv_open(srv);
	if (ret < 0)
		goto out;
	srv->started = true;
	VFIO_USER_SRV_LOG(INFO, srv->path, "listening");
out:
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_stop(const char *sock_addr)
{
	struct vfio_user_server *srv;
	int ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	ret = srv_begin(sock_addr, &srv);
	if (ret < 0)
		return vfio_user_err(ret);
	if (!srv->started) {
		ret = -EALREADY;
	} else {
		vfio_user_ctrl_run(srv_stop_ctrl, srv);
		VFIO_USER_SRV_LOG(INFO, srv->path, "stopped");
	}
	pthread_mutex_lock(&srv_api_lock);
	srv->started = false;
	srv_end_locked(srv);
	pthread_mutex_unlock(&srv_api_lock);
	return vfio_user_err(ret);
}

/*
 * Public API: the device's private pointer
 */

int
rte_vfio_user_set_priv(int dev_id, void *priv)
{
	struct vfio_user_server *srv;
	int ret = 0;

	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL)
		ret = -ENODEV;
	else
		__atomic_store_n(&srv->priv, priv, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&srv_id_lock);
	return vfio_user_err(ret);
}

void *
rte_vfio_user_get_priv(int dev_id)
{
	struct vfio_user_server *srv;
	void *priv = NULL;

	pthread_rwlock_rdlock(&srv_id_lock);
	srv = srv_get(dev_id);
	if (srv == NULL)
		rte_errno = ENODEV;
	else
		priv = __atomic_load_n(&srv->priv, __ATOMIC_ACQUIRE);
	pthread_rwlock_unlock(&srv_id_lock);
	return priv;
}


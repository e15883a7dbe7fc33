/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "test.h"
#include "test_vfio_user_common.h"

/* Server device id -> test device, for the notify callbacks. */
#define TDEV_MAX_IDS 1024
static struct tdev *tdev_by_id[TDEV_MAX_IDS];
static pthread_mutex_t tdev_ids_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
tdev_hash(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
tdev_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

struct tdev *
tdev_lookup(int id)
{
	struct tdev *d = NULL;

	pthread_mutex_lock(&tdev_ids_lock);
	if (id >= 0 && id < TDEV_MAX_IDS)
		d = tdev_by_id[id];
	pthread_mutex_unlock(&tdev_ids_lock);
	return d;
}

static void
tdev_ev_add_tbl(int id, enum tdev_ev_type type, int arg, int tbl)
{
	struct tdev *d = tdev_lookup(id);

	if (d == NULL) {
		printf("event %d(%d) for unknown server device %d\n", type, arg, id);
		return;
	}
	pthread_mutex_lock(&d->ev_lock);
	/* Read without the lock by tdev_wait_destroyed(). */
	if (type == TDEV_EV_DESTROY)
		__atomic_fetch_add(&d->nr_destroyed, 1, __ATOMIC_RELEASE);
	if (d->nr_evs < TDEV_MAX_EVS) {
		d->evs[d->nr_evs].type = type;
		d->evs[d->nr_evs].arg = arg;
		d->evs[d->nr_evs].tbl = tbl;
		d->nr_evs++;
	}
	pthread_mutex_unlock(&d->ev_lock);
}

void
tdev_ev_add(int id, enum tdev_ev_type type, int arg)
{
	tdev_ev_add_tbl(id, type, arg, 0);
}

/* What a device model does in these callbacks: look at the DMA table. */
static int
tdev_table_entries(int id)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(id);

	return t == NULL ? -rte_errno : (int)t->entry_num;
}

static int
tdev_new_device(int id)
{
	tdev_ev_add(id, TDEV_EV_NEW, 0);
	return 0;
}

static void
tdev_destroy_device(int id)
{
	tdev_ev_add(id, TDEV_EV_DESTROY, 0);
}

static int
tdev_update_status(int id, enum rte_vfio_user_update type)
{
	tdev_ev_add_tbl(id, TDEV_EV_UPDATE, type,
		type == RTE_VFIO_USER_UPDATE_DMA ? tdev_table_entries(id) : 0);
	return 0;
}

static int
tdev_lock_dp(int id, int lock)
{
	tdev_ev_add_tbl(id, TDEV_EV_LOCK, lock, tdev_table_entries(id));
	return 0;
}

static int
tdev_reset_device(int id)
{
	struct tdev *d = tdev_lookup(id);

	tdev_ev_add(id, TDEV_EV_RESET, 0);
	/* A reset clears the scratch registers but not the rest of BAR0. */
	if (d != NULL) {
		memset(d->cb_mem + 0x40, 0, 0x40);
		/* ... and drops a migration in progress. */
		tdev_mig_drop(d);
	}
	return 0;
}

static const struct rte_vfio_user_notify_ops tdev_ops = {
	.new_device = tdev_new_device,
	.destroy_device = tdev_destroy_device,
	.update_status = tdev_update_status,
	.lock_dp = tdev_lock_dp,
	.reset_device = tdev_reset_device,
};

const char *
tdev_ev_name(enum tdev_ev_type type)
{
	switch (type) {
	case TDEV_EV_NEW: return "new_device";
	case TDEV_EV_DESTROY: return "destroy_device";
	case TDEV_EV_UPDATE: return "update_status";
	case TDEV_EV_LOCK: return "lock_dp";
	case TDEV_EV_RESET: return "reset_device";
	case TDEV_EV_MIG: return "migration arc";
	}
	return "?";
}

unsigned int
tdev_ev_num(struct tdev *d)
{
	unsigned int n;

	pthread_mutex_lock(&d->ev_lock);
	n = d->nr_evs;
	pthread_mutex_unlock(&d->ev_lock);
	return n;
}

unsigned int
tdev_ev_count(struct tdev *d, enum tdev_ev_type type, int arg)
{
	unsigned int i, n = 0;

	pthread_mutex_lock(&d->ev_lock);
	for (i = 0; i < d->nr_evs; i++)
		if (d->evs[i].type == type && (arg < 0 || d->evs[i].arg == arg))
			n++;
	pthread_mutex_unlock(&d->ev_lock);
	return n;
}

int
tdev_ev_wait(struct tdev *d, enum tdev_ev_type type, int arg, unsigned int n, int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	for (;;) {
		if (tdev_ev_count(d, type, arg) >= n)
			return 0;
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

unsigned int
tdev_ev_get(struct tdev *d, unsigned int from, struct tdev_ev *out, unsigned int n)
{
	unsigned int i = 0;

	pthread_mutex_lock(&d->ev_lock);
	for (; from + i < d->nr_evs && i < n; i++)
		out[i] = d->evs[from + i];
	pthread_mutex_unlock(&d->ev_lock);
	return i;
}

/* Small DMA job run from the region callback, on the control thread. */
static void
tdev_dma_job(struct tdev *d, uint64_t iova)
{
	uint64_t len;
	int64_t rc;
	uint8_t *buf;
	uint64_t h = 0;
	size_t i;

	memcpy(&len, d->cb_mem + TDEV_REG_DMA_LEN, sizeof(len));
	/* The fuzz target lets a client pick any length. */
	buf = len <= TDEV_DMA_MAX_LEN ? malloc(len ? len : 1) : NULL;
	if (buf == NULL) {
		rc = -ENOMEM;
		memcpy(d->cb_mem + TDEV_REG_DMA_RD_RC, &rc, sizeof(rc));
		return;
	}
	rc = rte_vfio_user_dma_read(d->id, iova, buf, len);
	memcpy(d->cb_mem + TDEV_REG_DMA_RD_RC, &rc, sizeof(rc));
	if (rc == 0)
		h = tdev_hash(buf, len);
	memcpy(d->cb_mem + TDEV_REG_DMA_HASH, &h, sizeof(h));
	/* Write the data back, transformed, right after the window read. */
	for (i = 0; i < len; i++)
		buf[i] ^= 0x5a;
	rc = rte_vfio_user_dma_write(d->id, iova + len, buf, len);
	memcpy(d->cb_mem + TDEV_REG_DMA_WR_RC, &rc, sizeof(rc));
	free(buf);
}

static ssize_t
tdev_cb_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct tdev *d = reg->priv;

	if (d == NULL || d->id != dev_id || count == 0 || offset >= d->cfg.cb_size ||
			count > d->cfg.cb_size - offset) {
		if (d != NULL)
			d->cb_bad_range = true;
		return -ERANGE;
	}
	if (offset < TDEV_ERR_END && offset + count > TDEV_ERR_START)
		return -EIO;
	if (d->cb_sleep_ms != 0)
		usleep(d->cb_sleep_ms * 1000);
	__atomic_fetch_add(&d->cb_calls, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&d->cb_last_count, count, __ATOMIC_RELAXED);
	__atomic_store_n(&d->cb_last_offset, offset, __ATOMIC_RELAXED);
	__atomic_store_n(&d->cb_last_write, is_write, __ATOMIC_RELAXED);
	if (count > __atomic_load_n(&d->cb_max_count, __ATOMIC_RELAXED))
		__atomic_store_n(&d->cb_max_count, count, __ATOMIC_RELAXED);
	if (is_write) {
		memcpy(d->cb_mem + offset, buf, count);
		if (d->cb_dma_job && offset == TDEV_REG_DMA_IOVA && count == 8) {
			uint64_t iova;

			memcpy(&iova, buf, sizeof(iova));
			tdev_dma_job(d, iova);
		}
	} else {
		memcpy(buf, d->cb_mem + offset, count);
	}
	return count;
}

static ssize_t
tdev_cfg_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct tdev *d = reg->priv;

	if (d == NULL || offset >= TDEV_CFG_SIZE || count > TDEV_CFG_SIZE - offset) {
		if (d != NULL)
			d->cb_bad_range = true;
		return -ERANGE;
	}
	if (is_write) {
		/* Vendor and device id are read-only. */
		if (offset < 4)
			return -EPERM;
		memcpy(d->cfg_space + offset, buf, count);
	} else {
		memcpy(buf, d->cfg_space + offset, count);
	}
	return count;
}

static struct vfio_region_info *
tdev_info(uint32_t index, uint32_t flags, uint64_t size, uint64_t offset)
{
	struct vfio_region_info *info = calloc(1, sizeof(*info));

	if (info == NULL)
		return NULL;
	info->argsz = sizeof(*info);
	info->index = index;
	info->flags = flags;
	info->size = size;
	info->offset = offset;
	return info;
}

/* BAR4: sparse mmap areas [0, 4K) and [8K, 12K), then a region type cap. */
static struct vfio_region_info *
tdev_sparse_info(void)
{
	size_t sparse_sz = sizeof(struct vfio_region_info_cap_sparse_mmap) +
		2 * sizeof(struct vfio_region_sparse_mmap_area);
	size_t sz = sizeof(struct vfio_region_info) + sparse_sz +
		sizeof(struct vfio_region_info_cap_type);
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_region_info_cap_type *type;
	struct vfio_region_info *info;

	info = calloc(1, sz);
	if (info == NULL)
		return NULL;
	info->argsz = sz;
	info->index = TDEV_BAR_SPARSE;
	info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
	info->size = TDEV_SPARSE_SIZE;
	info->offset = TDEV_SPARSE_OFF;
	info->cap_offset = sizeof(*info);
	sparse = (void *)((uint8_t *)info + info->cap_offset);
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->header.next = sizeof(*info) + sparse_sz;
	sparse->nr_areas = 2;
	sparse->areas[0].offset = 0;
	sparse->areas[0].size = 0x1000;
	sparse->areas[1].offset = 0x2000;
	sparse->areas[1].size = 0x1000;
	type = (void *)((uint8_t *)info + sparse->header.next);
	type->header.id = VFIO_REGION_INFO_CAP_TYPE;
	type->header.version = 1;
	type->header.next = 0;
	type->type = TDEV_REG_TYPE;
	type->subtype = TDEV_REG_SUBTYPE;
	return info;
}

void
tdev_destroy(struct tdev *d)
{
	int i;

	if (d->id >= 0) {
		rte_vfio_user_unregister(d->path);
		pthread_mutex_lock(&tdev_ids_lock);
		if (d->id < TDEV_MAX_IDS && tdev_by_id[d->id] == d)
			tdev_by_id[d->id] = NULL;
		pthread_mutex_unlock(&tdev_ids_lock);
		d->id = -1;
	}
	unlink(d->path);
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		free(d->infos[i]);
		d->infos[i] = NULL;
	}
	for (i = 0; i < 2; i++) {
		if (d->io_efd[i] >= 0)
			close(d->io_efd[i]);
		d->io_efd[i] = -1;
	}
	if (d->memfd_map != NULL && d->memfd_map != MAP_FAILED)
		munmap(d->memfd_map, TDEV_MEMFD_SIZE);
	d->memfd_map = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
	tdev_mig_drop(d);
	free(d->cb_mem);
	free(d->base_mem);
	free(d->ro_mem);
	d->cb_mem = d->base_mem = d->ro_mem = NULL;
	pthread_mutex_destroy(&d->ev_lock);
}

void
tdev_close(struct tdev *d, int timeout_ms)
{
	unsigned int n = tdev_ev_count(d, TDEV_EV_NEW, -1);

	/* A session still open would hold descriptors the leak check counts. */
	if (n > 0)
		tdev_ev_wait(d, TDEV_EV_DESTROY, -1, n, timeout_ms);
	tdev_destroy(d);
}

int
tdev_create(struct tdev *d, const char *path, const struct tdev_cfg *cfg, bool start)
{
	struct rte_vfio_user_regions regs;
	struct rte_vfio_user_irq_info irqs;
	int i, ret;

	memset(d, 0, sizeof(*d));
	d->id = -1;
	d->memfd = -1;
	d->io_efd[0] = d->io_efd[1] = -1;
	pthread_mutex_init(&d->ev_lock, NULL);
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (cfg != NULL)
		d->cfg = *cfg;
	if (d->cfg.cb_size < 0x1000)
		d->cfg.cb_size = 0x10000;
	if (d->cfg.base_size == 0)
		d->cfg.base_size = 0x10000;

	ret = -ENOMEM;
	d->cb_mem = calloc(1, d->cfg.cb_size);
	d->base_mem = calloc(1, d->cfg.base_size);
	d->ro_mem = malloc(TDEV_RO_SIZE);
	if (d->cb_mem == NULL || d->base_mem == NULL || d->ro_mem == NULL)
		goto err;
	tdev_fill(d->ro_mem, TDEV_RO_SIZE, 0x0515);
	d->cfg_space[0] = TDEV_PCI_VENDOR & 0xff;
	d->cfg_space[1] = TDEV_PCI_VENDOR >> 8;
	d->cfg_space[2] = TDEV_PCI_DEVICE & 0xff;
	d->cfg_space[3] = TDEV_PCI_DEVICE >> 8;

	d->memfd = memfd_create("vfu-test-bar", MFD_CLOEXEC);
	if (d->memfd < 0 || ftruncate(d->memfd, TDEV_MEMFD_SIZE) < 0) {
		ret = -errno;
		goto err;
	}
	d->memfd_map = mmap(NULL, TDEV_MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		d->memfd, 0);
	if (d->memfd_map == MAP_FAILED) {
		ret = -errno;
		d->memfd_map = NULL;
		goto err;
	}
	d->io_efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->io_efd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->io_efd[0] < 0 || d->io_efd[1] < 0) {
		ret = -errno;
		goto err;
	}
	/* Two distinct eventfds; the third entry reuses the first (deduplicated on the wire). */
	d->io_fds[0] = (struct rte_vfio_user_io_fd){ .offset = 0x100, .size = 4,
		.fd = d->io_efd[0], .type = RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD };
	d->io_fds[1] = (struct rte_vfio_user_io_fd){ .offset = 0x200, .size = 8,
		.fd = d->io_efd[1], .type = RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD,
		.flags = 1 /* KVM_IOEVENTFD_FLAG_DATAMATCH */, .datamatch = 0xdeadbeefULL };
	d->io_fds[2] = (struct rte_vfio_user_io_fd){ .offset = 0x300, .size = 2,
		.fd = d->io_efd[0], .type = RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD };

	d->infos[TDEV_BAR_CB] = tdev_info(TDEV_BAR_CB, VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE, d->cfg.cb_size, 0);
	d->infos[TDEV_BAR_BASE] = tdev_info(TDEV_BAR_BASE, VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE, d->cfg.base_size, 0);
	d->infos[TDEV_BAR_RO] = tdev_info(TDEV_BAR_RO, VFIO_REGION_INFO_FLAG_READ,
		TDEV_RO_SIZE, 0);
	d->infos[TDEV_BAR_MMAP] = tdev_info(TDEV_BAR_MMAP, VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP, TDEV_MMAP_SIZE, 0);
	d->infos[TDEV_BAR_SPARSE] = tdev_sparse_info();
	d->infos[TDEV_BAR_EMPTY] = tdev_info(TDEV_BAR_EMPTY, 0, 0, 0);
	d->infos[VFIO_PCI_ROM_REGION_INDEX] = tdev_info(VFIO_PCI_ROM_REGION_INDEX, 0, 0, 0);
	d->infos[VFIO_PCI_CONFIG_REGION_INDEX] = tdev_info(VFIO_PCI_CONFIG_REGION_INDEX,
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, TDEV_CFG_SIZE, 0);
	d->infos[VFIO_PCI_VGA_REGION_INDEX] = tdev_info(VFIO_PCI_VGA_REGION_INDEX, 0, 0, 0);
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		if (d->infos[i] == NULL)
			goto err;
		d->regs[i].info = d->infos[i];
		d->regs[i].fd = -1;
		d->regs[i].priv = d;
	}
	d->regs[TDEV_BAR_CB].rw = tdev_cb_rw;
	d->regs[TDEV_BAR_CB].io_fds = d->io_fds;
	d->regs[TDEV_BAR_CB].nr_io_fds = TDEV_NR_IO_FDS;
	d->regs[TDEV_BAR_BASE].base = d->base_mem;
	d->regs[TDEV_BAR_RO].base = d->ro_mem;
	d->regs[TDEV_BAR_MMAP].fd = d->memfd;
	d->regs[TDEV_BAR_MMAP].base = d->memfd_map;
	/* No base: the library serves REGION_READ/WRITE from its own mapping of the fd. */
	d->regs[TDEV_BAR_SPARSE].fd = d->memfd;
	d->regs[VFIO_PCI_CONFIG_REGION_INDEX].rw = tdev_cfg_rw;

	d->dev_info.argsz = sizeof(d->dev_info);
	d->dev_info.flags = VFIO_DEVICE_FLAGS_PCI | (d->cfg.no_reset ? 0 : VFIO_DEVICE_FLAGS_RESET);
	d->dev_info.num_regions = VFIO_PCI_NUM_REGIONS;
	d->dev_info.num_irqs = VFIO_PCI_NUM_IRQS;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		d->irqs[i].argsz = sizeof(d->irqs[i]);
		d->irqs[i].index = i;
		d->irqs[i].flags = VFIO_IRQ_INFO_EVENTFD;
		d->irqs[i].count = 1;
	}
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX].flags |= VFIO_IRQ_INFO_MASKABLE |
		VFIO_IRQ_INFO_AUTOMASKED;
	d->irqs[VFIO_PCI_MSI_IRQ_INDEX].flags |= VFIO_IRQ_INFO_MASKABLE;
	d->irqs[VFIO_PCI_MSI_IRQ_INDEX].count = TDEV_MSI_COUNT;
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].flags |= VFIO_IRQ_INFO_NORESIZE;
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = d->cfg.msix_count != 0 ? d->cfg.msix_count :
		TDEV_MSIX_COUNT;
	if (d->cfg.no_msi) {
		d->irqs[VFIO_PCI_MSI_IRQ_INDEX].flags = 0;
		d->irqs[VFIO_PCI_MSI_IRQ_INDEX].count = 0;
	}

	ret = rte_vfio_user_register(d->path, &tdev_ops);
	if (ret < 0)
		goto err;
	d->id = ret;
	pthread_mutex_lock(&tdev_ids_lock);
	if (d->id < TDEV_MAX_IDS)
		tdev_by_id[d->id] = d;
	pthread_mutex_unlock(&tdev_ids_lock);

	/* The trio, not rte_vfio_user_pci_create(): see test_vfio_user_common.h. */
	ret = rte_vfio_user_set_dev_info(d->path, &d->dev_info);
	if (ret < 0)
		goto err;
	regs.reg_num = VFIO_PCI_NUM_REGIONS;
	regs.reg_info = d->regs;
	ret = rte_vfio_user_set_reg_info(d->path, &regs);
	if (ret < 0)
		goto err;
	irqs.irq_num = VFIO_PCI_NUM_IRQS;
	irqs.irq_info = d->irqs;
	ret = rte_vfio_user_set_irq_info(d->path, &irqs);
	if (ret < 0)
		goto err;
	if (d->cfg.mig_flags != 0) {
		ret = tdev_mig_register(d);
		if (ret < 0)
			goto err;
	}
	if (start) {
		ret = rte_vfio_user_start(d->path);
		if (ret < 0)
			goto err;
		d->started = true;
	}
	return 0;
err:
	if (ret >= 0)
		ret = -ENOMEM;
	printf("tdev_create(%s) failed: %d (%s)\n", path, ret, strerror(-ret));
	tdev_destroy(d);
	return ret;
}

static int
count_dir(const char *path)
{
	struct dirent *e;
	DIR *dir = opendir(path);
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Lines of /proc/self/maps holding @a or @b (both NULL: all). */
static int
maps_matching(const char *a, const char *b)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((a == NULL && b == NULL) || (a != NULL && strstr(line, a) != NULL) ||
				(b != NULL && strstr(line, b) != NULL))
			n++;
	fclose(f);
	return n;
}

static int
count_maps(void)
{
	/* Anonymous memory varies with malloc and thread stacks; files and memfds do not. */
	return maps_matching("/", "memfd:");
}

void
leak_snap(struct leak_snap *s)
{
	s->fds = count_dir("/proc/self/fd");
	s->maps = count_maps();
}

int
leak_wait(const struct leak_snap *s, int timeout_ms, struct leak_snap *now)
{
	uint64_t end = now_ms() + timeout_ms;

	for (;;) {
		leak_snap(now);
		if (now->fds == s->fds && now->maps == s->maps)
			return 0;
		if (now_ms() > end)
			return -1;
		usleep(5000);
	}
}

/* Descriptors whose target contains @needle (NULL: all), printed when @print. */
static int
fds_matching(const char *needle, bool print)
{
	char path[300], target[300];
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	ssize_t len;
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (needle != NULL && strstr(target, needle) == NULL)
			continue;
		n++;
		if (print)
			printf("  fd %s -> %s\n", e->d_name, target);
	}
	closedir(dir);
	return n;
}

void
leak_dump_fds(void)
{
	fds_matching(NULL, true);
}

void
dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int
leak_check(const struct leak_snap *before, int timeout_ms)
{
	struct leak_snap now;

	if (leak_wait(before, timeout_ms, &now) < 0) {
		printf("leak: fds %d -> %d, file/memfd mappings %d -> %d\n",
			before->fds, now.fds, before->maps, now.maps);
		leak_dump_fds();
	}
	TEST_ASSERT_EQUAL(now.fds, before->fds, "fd leak: %d before, %d after",
		before->fds, now.fds);
	TEST_ASSERT_EQUAL(now.maps, before->maps, "mapping leak: %d before, %d after",
		before->maps, now.maps);
	return TEST_SUCCESS;
}

int
count_fds(void)
{
	return count_dir("/proc/self/fd");
}

/* Lines of /proc/self/maps, all of them or those containing @needle. */
int
count_maps_lines(const char *needle)
{
	return maps_matching(needle, NULL);
}

int
count_fds_named(const char *needle)
{
	return fds_matching(needle, false);
}

void
close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int
open_eventfds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0) {
			close_fds(fds, i);
			return -1;
		}
	}
	return 0;
}

uint64_t
efd_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Function sym of the shared librte_vfio_user the drivers are linked with, or NULL. */
static void *
shared_lib_fn(const char *sym)
{
	void *h = dlopen("librte_vfio_user.so.0", RTLD_NOW | RTLD_NOLOAD);
	void *fn;

	if (h == NULL)
		return NULL;
	fn = dlsym(h, sym);
	/* The drivers keep the library loaded: the address stays valid. */
	dlclose(h);
	return fn;
}

int
bus_client_save_for_restart(int dev_id)
{
	int (*shared)(int dev_id);
	int ret;

	ret = rte_vfio_user_mig_save_for_restart(dev_id);
	if (ret != -ENODEV)
		return ret;
	shared = (int (*)(int))shared_lib_fn("rte_vfio_user_mig_save_for_restart");
	if (shared == NULL || shared == rte_vfio_user_mig_save_for_restart)
		return ret;
	return shared(dev_id);
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The vfio_user bus: each device is a librte_vfio_user client connection.
 *
 * Scan runs before EAL memory is up and the library's control thread exists,
 * so it only turns devargs into (unattached) devices. Attach happens at
 * probe time (EAL probe at init, or plug for hotplug): connect, read the PCI
 * identity from config space, map regions, map DPDK memory for DMA, then
 * hand the device to the first driver whose id table matches. A device that
 * no driver takes is detached again, so it holds no server session.
 *
 * Locking: vu_lock guards the device list and every device's DMA windows.
 * The memory event callback runs with EAL's memory lock held and takes
 * vu_lock, so whoever walks memory takes EAL's lock first.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_alarm.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_interrupts.h>
#include <rte_kvargs.h>
#include <rte_log.h>
#include <rte_memory.h>
#include <rte_string_fns.h>
#include <rte_vfio_user.h>
#include <bus_driver.h>

#include "bus_vfio_user_driver.h"

/*
 * EAL hands an alarm to its interrupt thread under a lock ThreadSanitizer
 * cannot see (DPDK is not built with it): under TSan, say that the device
 * given to rte_eal_alarm_set() is published to the callback.
 */
#if defined(__SANITIZE_THREAD__)
#define VU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VU_TSAN 1
#endif
#endif
#ifdef VU_TSAN
#include <sanitizer/tsan_interface.h>
#define vu_alarm_publish(p) __tsan_release(p)
#define vu_alarm_receive(p) __tsan_acquire(p)
#else
#define vu_alarm_publish(p) RTE_SET_USED(p)
#define vu_alarm_receive(p) RTE_SET_USED(p)
#endif

RTE_LOG_REGISTER_DEFAULT(vfio_user_bus_logtype, NOTICE);
#define VFIO_USER_BUS_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_bus_logtype, "vfio_user bus: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

#define VU_KEY_PATH "path"
/* Milliseconds between reconnection attempts when the server goes away; 0: none. */
#define VU_KEY_RECONNECT "reconnect"
#define VU_MAX_RECONNECT_MS (3600u * 1000u)
#define VU_MEM_EVENT_NAME "vfio_user_bus"
/* Bytes of config space read at attach: the standard header. */
#define VU_CFG_HDR_SIZE 64

/* One DMA window given to the server. */
struct vu_window {
	uint64_t iova;
	uint64_t len;
	void *va;
	int fd;          /* EAL's descriptor (not ours), -1 when none */
	uint64_t offset; /* in fd */
};

/* The mapped areas of one region. */
struct vu_region_maps {
	uint32_t nr;
	struct rte_vfio_user_region_map *maps;
};

/* Bus-private state around the device drivers see. */
struct vu_dev {
	struct rte_vfio_user_bus_device dev;
	struct vu_region_maps maps[VFIO_PCI_NUM_REGIONS];
	uint32_t msix_count;
	/* MSI-X eventfds of rte_vfio_user_bus_dev_irq_enable(). */
	int *irq_efds;
	uint32_t nr_irq_efds;
	/* DMA windows, under vu_lock. */
	struct vu_window *wins;
	uint32_t nr_wins;
	uint32_t cap_wins;
	bool dma_ready;  /* memory mapped, events follow; under vu_lock */
	uint32_t reconnect_ms; /* devargs reconnect=<ms> */
	uint32_t events;       /* VU_EV_* not yet given to the driver; atomic */
	/*
	 * The driver told of connection events: set once its probe succeeded,
	 * cleared before its remove, so that no event reaches a driver that has
	 * not the device. Under event_lock, held while an event runs.
	 */
	pthread_mutex_t event_lock;
	struct rte_vfio_user_bus_driver *event_drv;
};

/* Connection events waiting for the EAL alarm that tells the driver. */
#define VU_EV_LOST (1u << 0)
#define VU_EV_RESET (1u << 1)

TAILQ_HEAD(vu_dev_list, rte_vfio_user_bus_device);
TAILQ_HEAD(vu_drv_list, rte_vfio_user_bus_driver);

static struct vu_dev_list vu_devices = TAILQ_HEAD_INITIALIZER(vu_devices);
static struct vu_drv_list vu_drivers = TAILQ_HEAD_INITIALIZER(vu_drivers);
static pthread_mutex_t vu_lock = PTHREAD_MUTEX_INITIALIZER;
static bool vu_mem_cb_registered;
/* EAL's init probe ran: later scans come from hotplug. */
static bool vu_probed_once;
/* Devargs rejected by the init scan, not reported again (they stay listed). */
static const struct rte_devargs **vu_rejected;
static unsigned int vu_nr_rejected;

static struct rte_bus vfio_user_bus;

static struct vu_dev *
vu_dev(struct rte_vfio_user_bus_device *dev)
{
	return container_of(dev, struct vu_dev, dev);
}

static bool
vu_removed(const struct rte_vfio_user_bus_device *dev)
{
	return __atomic_load_n(&dev->removed, __ATOMIC_ACQUIRE);
}

/*
 * Driver registration
 */

void
rte_vfio_user_bus_register_driver(struct rte_vfio_user_bus_driver *drv)
{
	TAILQ_INSERT_TAIL(&vu_drivers, drv, next);
}

void
rte_vfio_user_bus_unregister_driver(struct rte_vfio_user_bus_driver *drv)
{
	TAILQ_REMOVE(&vu_drivers, drv, next);
}

/*
 * Devargs
 */

static int
vu_path_arg(const char *key, const char *value, void *opaque)
{
	char *path = opaque;
	size_t len = value != NULL ? strlen(value) : 0;

	RTE_SET_USED(key);
	if (len == 0 || len >= sizeof(((struct rte_vfio_user_bus_device *)0)->path))
		return -EINVAL;
	memcpy(path, value, len + 1);
	return 0;
}

static int
vu_reconnect_arg(const char *key, const char *value, void *opaque)
{
	unsigned long ms;
	char *end;

	RTE_SET_USED(key);
	if (value == NULL || value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	ms = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || ms > VU_MAX_RECONNECT_MS)
		return -EINVAL;
	*(uint32_t *)opaque = (uint32_t)ms;
	return 0;
}

/*
 * Check the devargs of one device; fill path (sun_path sized) and
 * reconnect_ms when not NULL.
 */
static int
vu_parse_args(const struct rte_devargs *da, char *path, uint32_t *reconnect_ms)
{
	static const char * const keys[] = { VU_KEY_PATH, VU_KEY_RECONNECT, NULL };
	char buf[sizeof(((struct rte_vfio_user_bus_device *)0)->path)];
	struct rte_kvargs *kv;
	uint32_t ms = 0;
	int ret;

	if (da->name[0] == '\0') {
		VFIO_USER_BUS_LOG(ERR, "device without a name");
		return -EINVAL;
	}
	kv = rte_kvargs_parse(da->args != NULL ? da->args : "", keys);
	if (kv == NULL) {
		VFIO_USER_BUS_LOG(ERR, "%s: bad arguments \"%s\" (only " VU_KEY_PATH
			"=<socket> and " VU_KEY_RECONNECT "=<ms> are known)", da->name, da->args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, VU_KEY_PATH) != 1) {
		VFIO_USER_BUS_LOG(ERR, "%s: need exactly one " VU_KEY_PATH "=<socket>", da->name);
		rte_kvargs_free(kv);
		return -EINVAL;
	}
	ret = rte_kvargs_process(kv, VU_KEY_PATH, vu_path_arg, buf);
	if (ret != 0) {
		rte_kvargs_free(kv);
		VFIO_USER_BUS_LOG(ERR, "%s: socket path empty or longer than %zu bytes",
			da->name, sizeof(buf) - 1);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, VU_KEY_RECONNECT) > 1 ||
			rte_kvargs_process(kv, VU_KEY_RECONNECT, vu_reconnect_arg, &ms) != 0) {
		rte_kvargs_free(kv);
		VFIO_USER_BUS_LOG(ERR, "%s: " VU_KEY_RECONNECT " wants one number of ms, 0 to %u",
			da->name, VU_MAX_RECONNECT_MS);
		return -EINVAL;
	}
	rte_kvargs_free(kv);
	if (path != NULL)
		memcpy(path, buf, sizeof(buf));
	if (reconnect_ms != NULL)
		*reconnect_ms = ms;
	return 0;
}

static bool
vu_was_rejected(const struct rte_devargs *da)
{
	unsigned int i;

	for (i = 0; i < vu_nr_rejected; i++)
		if (vu_rejected[i] == da)
			return true;
	return false;
}

static void
vu_remember_rejected(const struct rte_devargs *da)
{
	const struct rte_devargs **r;

	r = realloc(vu_rejected, sizeof(*r) * (vu_nr_rejected + 1));
	if (r == NULL)
		return;
	r[vu_nr_rejected++] = da;
	vu_rejected = r;
}

static struct rte_vfio_user_bus_device *
vu_find_by_name(const char *name)
{
	struct rte_vfio_user_bus_device *dev;

	TAILQ_FOREACH(dev, &vu_devices, next)
		if (strcmp(dev->device.name, name) == 0)
			return dev;
	return NULL;
}

/*
 * Scan: one device per devargs. Runs before EAL memory exists (plain calloc)
 * and again on each hotplug, where only the new devargs need work.
 */
static int
vfio_user_bus_scan(void)
{
	struct rte_vfio_user_bus_device *dev;
	struct rte_devargs *da;
	struct vu_dev *vd;
	int ret = 0;

	/* A server serves one client: only the primary process connects. */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	RTE_EAL_DEVARGS_FOREACH(RTE_VFIO_USER_BUS_NAME, da) {
		if (vu_was_rejected(da))
			continue;
		dev = vu_find_by_name(da->name);
		if (dev != NULL) {
			if (dev->device.devargs != da) {
				VFIO_USER_BUS_LOG(ERR, "duplicate device name %s", da->name);
				ret = -EEXIST;
			}
			continue;
		}
		if (vu_parse_args(da, NULL, NULL) < 0) {
			/* Hotplug: EAL drops the devargs. Init: remember them. */
			if (!vu_probed_once)
				vu_remember_rejected(da);
			ret = -EINVAL;
			continue;
		}
		vd = calloc(1, sizeof(*vd));
		if (vd == NULL)
			return -ENOMEM;
		pthread_mutex_init(&vd->event_lock, NULL);
		dev = &vd->dev;
		dev->device.name = da->name;
		dev->device.devargs = da;
		dev->device.bus = &vfio_user_bus;
		dev->device.numa_node = SOCKET_ID_ANY;
		dev->dev_id = -1;
		pthread_mutex_lock(&vu_lock);
		TAILQ_INSERT_TAIL(&vu_devices, dev, next);
		pthread_mutex_unlock(&vu_lock);
		VFIO_USER_BUS_LOG(DEBUG, "found %s", da->name);
	}
	return ret;
}

/*
 * DMA: DPDK memory seen by the device at DPDK's IOVA
 */

static int
vu_win_add(struct vu_dev *vd, const struct vu_window *w)
{
	struct vu_window *wins;
	uint32_t cap;

	if (vd->nr_wins == vd->cap_wins) {
		cap = vd->cap_wins ? vd->cap_wins * 2 : 8;
		wins = realloc(vd->wins, sizeof(*wins) * cap);
		if (wins == NULL)
			return -ENOMEM;
		vd->wins = wins;
		vd->cap_wins = cap;
	}
	vd->wins[vd->nr_wins++] = *w;
	return 0;
}

/* Give one window to the server and remember it; called under vu_lock. */
static int
vu_dma_map_win(struct vu_dev *vd, const struct vu_window *w)
{
	struct rte_vfio_user_mem_reg reg = {
		.iova = w->iova,
		.size = w->len,
		.fd_offset = w->fd >= 0 ? w->offset : 0,
		.prot = PROT_READ | PROT_WRITE,
		.fd = -1,
		.vaddr = w->va,
	};
	int fd = w->fd;
	int ret;

	ret = vu_win_add(vd, w);
	if (ret < 0)
		return ret;
	ret = rte_vfio_user_dma_map(vd->dev.dev_id, &reg, &fd, 1);
	if (ret < 0) {
		vd->nr_wins--;
		VFIO_USER_BUS_LOG(ERR, "%s: DMA map of iova 0x%" PRIx64 " len 0x%" PRIx64
			" failed: %s", vd->dev.device.name, w->iova, w->len, strerror(-ret));
		return ret;
	}
	VFIO_USER_BUS_LOG(DEBUG, "%s: mapped iova 0x%" PRIx64 " len 0x%" PRIx64 " fd %d",
		vd->dev.device.name, w->iova, w->len, w->fd);
	return 0;
}

/* Segments are merged into one window while they continue each other. */
struct vu_map_ctx {
	struct vu_dev *vd;
	const struct rte_memseg_list *msl;
	struct vu_window w;
	bool pending;
	int ret;
};

static void
vu_ctx_flush(struct vu_map_ctx *ctx)
{
	int ret;

	if (!ctx->pending)
		return;
	ctx->pending = false;
	ret = vu_dma_map_win(ctx->vd, &ctx->w);
	if (ret < 0 && ctx->ret == 0)
		ctx->ret = ret;
}

static void
vu_ctx_add(struct vu_map_ctx *ctx, const struct rte_memseg_list *msl,
		const struct rte_memseg *ms)
{
	struct vu_window *w = &ctx->w;
	size_t off = 0;
	int fd;

	if (ms->iova == RTE_BAD_IOVA || ms->len == 0)
		return;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0) {
		fd = -1;
		off = 0;
	}
	if (ctx->pending && ctx->msl == msl &&
			(uintptr_t)w->va + w->len == (uintptr_t)ms->addr &&
			w->iova + w->len == ms->iova && w->fd == fd &&
			(fd < 0 || w->offset + w->len == off)) {
		w->len += ms->len;
		return;
	}
	vu_ctx_flush(ctx);
	ctx->msl = msl;
	w->iova = ms->iova;
	w->len = ms->len;
	w->va = ms->addr;
	w->fd = fd;
	w->offset = off;
	ctx->pending = true;
}

static int
vu_walk_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	vu_ctx_add(arg, msl, ms);
	return 0;
}

/* Map all DPDK memory; EAL's memory lock and vu_lock are held. */
static int
vu_dma_map_all(struct vu_dev *vd)
{
	struct vu_map_ctx ctx = { .vd = vd };

	rte_memseg_walk_thread_unsafe(vu_walk_seg, &ctx);
	vu_ctx_flush(&ctx);
	return ctx.ret;
}

/* Memory [va, va + len) is about to be freed: take it away from the server. */
static void
vu_dma_unmap_range(struct vu_dev *vd, uintptr_t va, size_t len)
{
	struct rte_vfio_user_mem_reg reg;
	struct vu_window w, part;
	uintptr_t end = va + len;
	uint32_t i = 0;

	while (i < vd->nr_wins) {
		w = vd->wins[i];
		if ((uintptr_t)w.va >= end || (uintptr_t)w.va + w.len <= va) {
			i++;
			continue;
		}
		/* Unmap must match a mapping exactly: drop it, map back what stays. */
		memset(&reg, 0, sizeof(reg));
		reg.iova = w.iova;
		reg.size = w.len;
		if (rte_vfio_user_dma_unmap(vd->dev.dev_id, &reg, 1) < 0)
			VFIO_USER_BUS_LOG(WARNING, "%s: DMA unmap of iova 0x%" PRIx64 " failed",
				vd->dev.device.name, w.iova);
		vd->wins[i] = vd->wins[--vd->nr_wins];
		if ((uintptr_t)w.va < va) {
			part = w;
			part.len = va - (uintptr_t)w.va;
			vu_dma_map_win(vd, &part);
		}
		if ((uintptr_t)w.va + w.len > end) {
			part = w;
			part.va = (void *)end;
			part.iova = w.iova + (end - (uintptr_t)w.va);
			part.offset = w.offset + (end - (uintptr_t)w.va);
			part.len = (uintptr_t)w.va + w.len - end;
			vu_dma_map_win(vd, &part);
		}
		/* Re-added parts went to the end, outside the range: keep going from i. */
	}
}

/* EAL memory hotplug; runs with EAL's memory lock held. */
static void
vu_mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct rte_vfio_user_bus_device *dev;
	const struct rte_memseg_list *msl;
	const struct rte_memseg *ms;
	struct vu_map_ctx ctx;
	uintptr_t va;

	RTE_SET_USED(arg);
	msl = rte_mem_virt2memseg_list(addr);
	if (msl == NULL)
		return;
	pthread_mutex_lock(&vu_lock);
	TAILQ_FOREACH(dev, &vu_devices, next) {
		struct vu_dev *vd = vu_dev(dev);

		if (!vd->dma_ready || vu_removed(dev))
			continue;
		if (type == RTE_MEM_EVENT_FREE) {
			vu_dma_unmap_range(vd, (uintptr_t)addr, len);
			continue;
		}
		memset(&ctx, 0, sizeof(ctx));
		ctx.vd = vd;
		for (va = (uintptr_t)addr; va < (uintptr_t)addr + len; va += ms->len) {
			ms = rte_mem_virt2memseg((void *)va, msl);
			if (ms == NULL || ms->len == 0)
				break;
			vu_ctx_add(&ctx, msl, ms);
		}
		vu_ctx_flush(&ctx);
	}
	pthread_mutex_unlock(&vu_lock);
}

/*
 * Server loss
 */

/* On an EAL interrupt-thread alarm: tell the application. */
static void
vu_notify_removal(void *arg)
{
	struct rte_vfio_user_bus_device *dev = arg;
	char name[RTE_DEV_NAME_MAX_LEN];

	vu_alarm_receive(dev);
	/* The application's callback may remove (and free) the device. */
	strlcpy(name, dev->device.name, sizeof(name));
	VFIO_USER_BUS_LOG(NOTICE, "%s: server %s went away", name, dev->path);
	rte_dev_event_callback_process(name, RTE_DEV_EVENT_REMOVE);
}

/* On the library's control thread, which must not run application code. */
static void
vu_server_gone(int dev_id, void *arg)
{
	struct rte_vfio_user_bus_device *dev = arg;
	int ret;

	RTE_SET_USED(dev_id);
	__atomic_store_n(&dev->removed, true, __ATOMIC_RELEASE);
	vu_alarm_publish(dev);
	ret = rte_eal_alarm_set(1, vu_notify_removal, dev);
	if (ret < 0)
		VFIO_USER_BUS_LOG(ERR, "%s: cannot report the removal: %s", dev->device.name,
			strerror(-ret));
}

static int vu_read_identity(struct rte_vfio_user_bus_device *dev, struct rte_pci_id *id,
		uint8_t *revision);

/* The PCI identity the device had at probe, read again: 0, -ESTALE or an error. */
static int
vu_same_identity(struct rte_vfio_user_bus_device *dev)
{
	struct rte_pci_id id;
	uint8_t revision;
	int ret;

	ret = vu_read_identity(dev, &id, &revision);
	if (ret == 0 && (memcmp(&id, &dev->id, sizeof(id)) != 0 || revision != dev->revision))
		ret = -ESTALE;
	return ret;
}

/*
 * On an EAL interrupt-thread alarm: give the connection events to the
 * driver, in order. The driver re-programs the device on RESET while away is
 * still set, so that its data path does not race with it.
 */
static void
vu_notify_conn(void *arg)
{
	struct rte_vfio_user_bus_device *dev = arg;
	struct vu_dev *vd = vu_dev(dev);
	struct rte_vfio_user_bus_driver *drv;
	uint32_t ev;
	int ret;

	vu_alarm_receive(dev);
	ev = __atomic_exchange_n(&vd->events, 0, __ATOMIC_ACQ_REL);
	if (vu_removed(dev))
		return;
	pthread_mutex_lock(&vd->event_lock);
	drv = vd->event_drv;
	if ((ev & VU_EV_LOST) && drv != NULL && drv->event != NULL)
		(void)drv->event(dev, RTE_VFIO_USER_BUS_EV_LOST);
	if (!(ev & VU_EV_RESET))
		goto out;
	/* Another device behind the same path: as if the server had gone. */
	ret = vu_same_identity(dev);
	if (ret == -ENOTCONN)
		goto out; /* Gone again: the library retries and tells us. */
	if (ret == -ESTALE)
		VFIO_USER_BUS_LOG(ERR, "%s: server came back as another PCI device",
			dev->device.name);
	if (ret == 0 && drv != NULL && drv->event != NULL)
		ret = drv->event(dev, RTE_VFIO_USER_BUS_EV_RESET);
	if (ret < 0) {
		VFIO_USER_BUS_LOG(ERR, "%s: device unusable after the server came back: %s",
			dev->device.name, strerror(-ret));
		vu_server_gone(dev->dev_id, dev);
		goto out;
	}
	__atomic_store_n(&dev->away, false, __ATOMIC_RELEASE);
	VFIO_USER_BUS_LOG(NOTICE, "%s: server %s is back", dev->device.name, dev->path);
out:
	pthread_mutex_unlock(&vd->event_lock);
}

/* On a library thread, which must not run driver code: hand over to an alarm. */
static void
vu_conn_event(int dev_id, enum rte_vfio_user_conn_event event, void *arg)
{
	struct rte_vfio_user_bus_device *dev = arg;
	int ret;

	RTE_SET_USED(dev_id);
	if (event == RTE_VFIO_USER_CONN_LOST) {
		__atomic_store_n(&dev->away, true, __ATOMIC_RELEASE);
		VFIO_USER_BUS_LOG(NOTICE, "%s: server %s went away, reconnecting",
			dev->device.name, dev->path);
	}
	__atomic_fetch_or(&vu_dev(dev)->events,
		event == RTE_VFIO_USER_CONN_LOST ? VU_EV_LOST : VU_EV_RESET, __ATOMIC_RELEASE);
	vu_alarm_publish(dev);
	ret = rte_eal_alarm_set(1, vu_notify_conn, dev);
	if (ret < 0)
		VFIO_USER_BUS_LOG(ERR, "%s: cannot report a connection event: %s",
			dev->device.name, strerror(-ret));
}

/*
 * Attach / detach
 */

/* The PCI identity in config space, into id and revision. */
static int
vu_read_identity(struct rte_vfio_user_bus_device *dev, struct rte_pci_id *id,
		uint8_t *revision)
{
	uint8_t cfg[VU_CFG_HDR_SIZE];
	ssize_t n;

	if (dev->num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
			dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size < sizeof(cfg)) {
		VFIO_USER_BUS_LOG(ERR, "%s: no PCI config space", dev->device.name);
		return -ENODEV;
	}
	n = rte_vfio_user_region_read(dev->dev_id, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
			sizeof(cfg));
	if (n < 0) {
		VFIO_USER_BUS_LOG(ERR, "%s: cannot read config space: %s", dev->device.name,
			strerror((int)-n));
		return (int)n;
	}
	/* Config space is little endian. */
	id->vendor_id = cfg[0x00] | cfg[0x01] << 8;
	id->device_id = cfg[0x02] | cfg[0x03] << 8;
	*revision = cfg[0x08];
	id->class_id = (uint32_t)cfg[0x0b] << 16 | (uint32_t)cfg[0x0a] << 8 | cfg[0x09];
	id->subsystem_vendor_id = cfg[0x2c] | cfg[0x2d] << 8;
	id->subsystem_device_id = cfg[0x2e] | cfg[0x2f] << 8;
	return 0;
}

static int
vu_map_region(struct vu_dev *vd, uint32_t index)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	struct rte_vfio_user_region_map *maps = NULL, *m;
	uint32_t nr = 4;
	int ret;

	for (;;) {
		m = realloc(maps, sizeof(*m) * nr);
		if (m == NULL) {
			free(maps);
			return -ENOMEM;
		}
		maps = m;
		ret = rte_vfio_user_region_mmap(dev->dev_id, index, maps, &nr);
		if (ret != -ENOSPC || nr == 0)
			break;
	}
	if (ret == -ENOTSUP || (ret == 0 && nr == 0)) {
		/* Nothing mappable: reached by messages only. */
		free(maps);
		return 0;
	}
	if (ret < 0) {
		free(maps);
		VFIO_USER_BUS_LOG(ERR, "%s: cannot mmap region %u: %s", dev->device.name,
			index, strerror(-ret));
		return ret;
	}
	vd->maps[index].maps = maps;
	vd->maps[index].nr = nr;
	dev->regions[index].addr = maps[0].addr;
	return 0;
}

static int
vu_read_regions(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	struct vfio_region_info info;
	uint32_t i;
	int ret;

	for (i = 0; i < RTE_MIN(dev->num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS); i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		info.index = i;
		ret = rte_vfio_user_get_reg_info(dev->dev_id, &info, NULL);
		if (ret < 0) {
			VFIO_USER_BUS_LOG(ERR, "%s: cannot get region %u info: %s",
				dev->device.name, i, strerror(-ret));
			return ret;
		}
		dev->regions[i].size = info.size;
		dev->regions[i].flags = info.flags;
		if (info.size != 0 && (info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			ret = vu_map_region(vd, i);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int
vu_read_irqs(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	struct vfio_irq_info info;
	int ret;

	vd->msix_count = 0;
	if (dev->num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX)
		return 0;
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	info.index = VFIO_PCI_MSIX_IRQ_INDEX;
	ret = rte_vfio_user_get_irq_info(dev->dev_id, &info);
	if (ret < 0) {
		VFIO_USER_BUS_LOG(ERR, "%s: cannot get MSI-X info: %s", dev->device.name,
			strerror(-ret));
		return ret;
	}
	if (info.flags & VFIO_IRQ_INFO_EVENTFD)
		vd->msix_count = info.count;
	return 0;
}

static void vu_detach(struct vu_dev *vd);

/* Connect and learn the device; on failure everything is undone. */
static int
vu_attach(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	struct rte_vfio_user_attach_opts conn;
	struct vfio_device_info info;
	int ret;

	if (dev->dev_id >= 0)
		return 0;
	ret = vu_parse_args(dev->device.devargs, dev->path, &vd->reconnect_ms);
	if (ret < 0)
		return ret;

	conn.reconnect_ms = vd->reconnect_ms;
	conn.conn_cb = vu_conn_event;
	conn.conn_arg = dev;
	ret = rte_vfio_user_attach_dev_opts(dev->path, &conn);
	if (ret < 0) {
		VFIO_USER_BUS_LOG(ERR, "%s: cannot attach to %s: %s", dev->device.name,
			dev->path, strerror(-ret));
		return ret;
	}
	dev->dev_id = ret;
	dev->removed = false;
	dev->away = false;
	vd->events = 0;

	ret = rte_vfio_user_set_disconnect_cb(dev->dev_id, vu_server_gone, dev);
	if (ret < 0)
		goto err;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	ret = rte_vfio_user_get_dev_info(dev->dev_id, &info);
	if (ret < 0)
		goto err;
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		VFIO_USER_BUS_LOG(ERR, "%s: not a PCI device", dev->device.name);
		ret = -ENODEV;
		goto err;
	}
	dev->num_regions = info.num_regions;
	dev->num_irqs = info.num_irqs;

	ret = vu_read_regions(vd);
	if (ret < 0)
		goto err;
	ret = vu_read_identity(dev, &dev->id, &dev->revision);
	if (ret < 0)
		goto err;
	ret = vu_read_irqs(vd);
	if (ret < 0)
		goto err;

	/* EAL's lock first: the memory event callback holds it when it takes ours. */
	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&vu_lock);
	ret = vu_dma_map_all(vd);
	vd->dma_ready = ret == 0;
	if (ret == 0 && !vu_mem_cb_registered) {
		/* Legacy memory (e.g. --no-huge) never changes: ENOTSUP is fine. */
		if (rte_mem_event_callback_register(VU_MEM_EVENT_NAME, vu_mem_event, NULL) == 0)
			vu_mem_cb_registered = true;
		else if (rte_errno != ENOTSUP)
			VFIO_USER_BUS_LOG(WARNING, "no memory event callback: %s",
				rte_strerror(rte_errno));
	}
	pthread_mutex_unlock(&vu_lock);
	rte_mcfg_mem_read_unlock();
	if (ret < 0)
		goto err;

	VFIO_USER_BUS_LOG(INFO, "%s: attached to %s, PCI %04x:%04x (%04x:%04x) class %06x rev %u",
		dev->device.name, dev->path, dev->id.vendor_id, dev->id.device_id,
		dev->id.subsystem_vendor_id, dev->id.subsystem_device_id, dev->id.class_id,
		dev->revision);
	return 0;

err:
	if (ret == -ENOTCONN)
		ret = -ENODEV;
	VFIO_USER_BUS_LOG(ERR, "%s: attach failed: %s", dev->device.name, strerror(-ret));
	vu_detach(vd);
	return ret;
}

static bool
vu_any_attached(void)
{
	struct rte_vfio_user_bus_device *dev;

	TAILQ_FOREACH(dev, &vu_devices, next)
		if (vu_dev(dev)->dma_ready)
			return true;
	return false;
}

static void vu_irq_release(struct vu_dev *vd);

/* Drop the connection and all it gave us. */
static void
vu_detach(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	bool unregister = false;
	uint32_t i;

	if (dev->dev_id < 0)
		return;
	vu_irq_release(vd);

	/* The server drops every DMA mapping of a client that goes. */
	pthread_mutex_lock(&vu_lock);
	vd->dma_ready = false;
	free(vd->wins);
	vd->wins = NULL;
	vd->nr_wins = 0;
	vd->cap_wins = 0;
	if (vu_mem_cb_registered && !vu_any_attached()) {
		vu_mem_cb_registered = false;
		unregister = true;
	}
	pthread_mutex_unlock(&vu_lock);
	if (unregister)
		rte_mem_event_callback_unregister(VU_MEM_EVENT_NAME, NULL);

	/* Also unmaps the regions and waits for a disconnect callback in progress. */
	rte_vfio_user_detach_dev(dev->dev_id);
	/* A removal report still queued would name a device that may be freed. */
	rte_eal_alarm_cancel(vu_notify_removal, dev);
	rte_eal_alarm_cancel(vu_notify_conn, dev);
	dev->dev_id = -1;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		free(vd->maps[i].maps);
		vd->maps[i].maps = NULL;
		vd->maps[i].nr = 0;
		dev->regions[i].addr = NULL;
		dev->regions[i].size = 0;
		dev->regions[i].flags = 0;
	}
	dev->num_regions = 0;
	dev->num_irqs = 0;
	vd->msix_count = 0;
}

/*
 * Probe / remove
 */

static bool
vu_id_match(const struct rte_pci_id *t, const struct rte_pci_id *id)
{
	return (t->vendor_id == id->vendor_id || t->vendor_id == RTE_PCI_ANY_ID) &&
		(t->device_id == id->device_id || t->device_id == RTE_PCI_ANY_ID) &&
		(t->subsystem_vendor_id == id->subsystem_vendor_id ||
			t->subsystem_vendor_id == RTE_PCI_ANY_ID) &&
		(t->subsystem_device_id == id->subsystem_device_id ||
			t->subsystem_device_id == RTE_PCI_ANY_ID) &&
		(t->class_id == id->class_id || t->class_id == RTE_CLASS_ANY_ID);
}

static bool
vu_drv_match(const struct rte_vfio_user_bus_driver *drv, const struct rte_vfio_user_bus_device *dev)
{
	const struct rte_pci_id *t;

	if (drv->id_table == NULL)
		return false;
	for (t = drv->id_table; t->vendor_id != 0; t++)
		if (vu_id_match(t, &dev->id))
			return true;
	return false;
}

/* Attach and bind one device: 0 bound, > 0 no driver, < 0 error. */
static int
vu_probe_one(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	struct rte_vfio_user_bus_driver *drv;
	int ret;

	if (dev->driver != NULL)
		return -EEXIST;
	if (dev->device.devargs != NULL && dev->device.devargs->policy == RTE_DEV_BLOCKED)
		return 1;
	ret = vu_attach(vd);
	if (ret < 0)
		return ret;

	TAILQ_FOREACH(drv, &vu_drivers, next) {
		if (!vu_drv_match(drv, dev))
			continue;
		VFIO_USER_BUS_LOG(DEBUG, "%s: probing with %s", dev->device.name,
			drv->driver.name);
		dev->driver = drv;
		dev->device.driver = &drv->driver;
		ret = drv->probe != NULL ? drv->probe(dev) : -ENOTSUP;
		if (ret == 0) {
			pthread_mutex_lock(&vd->event_lock);
			vd->event_drv = drv;
			pthread_mutex_unlock(&vd->event_lock);
			return 0;
		}
		VFIO_USER_BUS_LOG(ERR, "%s: driver %s failed: %s", dev->device.name,
			drv->driver.name, strerror(ret < 0 ? -ret : ret));
		dev->driver = NULL;
		dev->device.driver = NULL;
		vu_detach(vd);
		return ret < 0 ? ret : -EIO;
	}
	VFIO_USER_BUS_LOG(INFO, "%s: no driver for %04x:%04x", dev->device.name,
		dev->id.vendor_id, dev->id.device_id);
	/* Hold no server session for a device nobody uses. */
	vu_detach(vd);
	return 1;
}

static int
vfio_user_bus_probe(void)
{
	struct rte_vfio_user_bus_device *dev;
	int ret, failed = 0;

	vu_probed_once = true;
	TAILQ_FOREACH(dev, &vu_devices, next) {
		if (dev->driver != NULL)
			continue;
		ret = vu_probe_one(vu_dev(dev));
		if (ret < 0)
			failed++;
	}
	return failed ? -1 : 0;
}

static int
vfio_user_bus_plug(struct rte_device *d)
{
	return vu_probe_one(vu_dev(RTE_DEV_TO_VFIO_USER_BUS(d)));
}

/* Unbind, detach and forget a device (the bus frees it, with its devargs). */
static int
vfio_user_bus_unplug(struct rte_device *d)
{
	struct rte_vfio_user_bus_device *dev = RTE_DEV_TO_VFIO_USER_BUS(d);
	struct vu_dev *vd = vu_dev(dev);
	int ret;

	if (dev->driver != NULL) {
		/* Waits for an event in progress; none comes afterwards. */
		pthread_mutex_lock(&vd->event_lock);
		vd->event_drv = NULL;
		pthread_mutex_unlock(&vd->event_lock);
		ret = dev->driver->remove != NULL ? dev->driver->remove(dev) : 0;
		if (ret < 0) {
			VFIO_USER_BUS_LOG(ERR, "%s: driver %s refused removal: %s",
				dev->device.name, dev->driver->driver.name, strerror(-ret));
			pthread_mutex_lock(&vd->event_lock);
			vd->event_drv = dev->driver;
			pthread_mutex_unlock(&vd->event_lock);
			return ret;
		}
		dev->driver = NULL;
		dev->device.driver = NULL;
	}
	vu_detach(vd);
	pthread_mutex_lock(&vu_lock);
	TAILQ_REMOVE(&vu_devices, dev, next);
	pthread_mutex_unlock(&vu_lock);
	if (dev->device.devargs != NULL)
		rte_devargs_remove(dev->device.devargs);
	pthread_mutex_destroy(&vd->event_lock);
	free(vd);
	return 0;
}

static int
vfio_user_bus_cleanup(void)
{
	struct rte_vfio_user_bus_device *dev;
	int ret = 0;

	while ((dev = TAILQ_FIRST(&vu_devices)) != NULL)
		if (vfio_user_bus_unplug(&dev->device) < 0) {
			/* Keep going: forget it without its driver. */
			dev->driver = NULL;
			ret = -1;
		}
	free(vu_rejected);
	vu_rejected = NULL;
	vu_nr_rejected = 0;
	vu_probed_once = false;
	return ret;
}

static struct rte_device *
vfio_user_bus_find_device(const struct rte_device *start, rte_dev_cmp_t cmp, const void *data)
{
	const struct rte_vfio_user_bus_device *vstart;
	struct rte_vfio_user_bus_device *dev;

	if (start != NULL) {
		vstart = RTE_DEV_TO_VFIO_USER_BUS_CONST(start);
		dev = TAILQ_NEXT(vstart, next);
	} else {
		dev = TAILQ_FIRST(&vu_devices);
	}
	for (; dev != NULL; dev = TAILQ_NEXT(dev, next))
		if (cmp(&dev->device, data) == 0)
			return &dev->device;
	return NULL;
}

/*
 * Names carry no structure, so the bus claims those no other bus claims:
 * "vfio_user:<name>" devargs then reach it. Names that look like a PCI
 * address or start with a vdev driver name belong to those buses.
 */
static int
vu_any_bus(const struct rte_bus *bus, const void *data)
{
	RTE_SET_USED(bus);
	RTE_SET_USED(data);
	return 0;
}

static int
vfio_user_bus_parse(const char *name, void *addr)
{
	struct rte_bus *bus = NULL;

	if (name == NULL || name[0] == '\0' || strlen(name) >= RTE_DEV_NAME_MAX_LEN)
		return 1;
	while ((bus = rte_bus_find(bus, vu_any_bus, NULL)) != NULL) {
		if (bus == &vfio_user_bus || bus->parse == NULL)
			continue;
		if (bus->parse(name, NULL) == 0)
			return 1;
	}
	/* addr is bus-specific and this bus has no address: nothing to fill. */
	RTE_SET_USED(addr);
	return 0;
}

static int
vfio_user_bus_dma_map(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct vu_dev *vd = vu_dev(RTE_DEV_TO_VFIO_USER_BUS(d));
	struct vu_window w = { .iova = iova, .len = len, .va = addr, .fd = -1 };
	int ret;

	pthread_mutex_lock(&vu_lock);
	ret = vd->dma_ready && !vu_removed(&vd->dev) ? vu_dma_map_win(vd, &w) : -ENODEV;
	pthread_mutex_unlock(&vu_lock);
	return ret < 0 ? (rte_errno = -ret, -1) : 0;
}

static int
vfio_user_bus_dma_unmap(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct vu_dev *vd = vu_dev(RTE_DEV_TO_VFIO_USER_BUS(d));
	struct rte_vfio_user_mem_reg reg;
	int ret = -ENOENT;
	uint32_t i;

	pthread_mutex_lock(&vu_lock);
	for (i = 0; i < vd->nr_wins; i++) {
		if (vd->wins[i].iova != iova || vd->wins[i].len != len ||
				vd->wins[i].va != addr)
			continue;
		memset(&reg, 0, sizeof(reg));
		reg.iova = iova;
		reg.size = len;
		ret = vd->dma_ready ? rte_vfio_user_dma_unmap(vd->dev.dev_id, &reg, 1) : 0;
		vd->wins[i] = vd->wins[--vd->nr_wins];
		break;
	}
	pthread_mutex_unlock(&vu_lock);
	if (ret == -ENOTCONN)
		ret = 0;
	return ret < 0 ? (rte_errno = -ret, -1) : 0;
}

/* "name=<x>" or "path=<socket>" filters of the device iterator. */
static int
vu_dev_match_str(const struct rte_device *d, const void *arg)
{
	static const char * const keys[] = { "name", VU_KEY_PATH, NULL };
	const struct rte_vfio_user_bus_device *dev = RTE_DEV_TO_VFIO_USER_BUS_CONST(d);
	const char *str = arg;
	struct rte_kvargs *kv;
	const char *v;
	int ret = 0;

	if (str == NULL || str[0] == '\0')
		return 0;
	kv = rte_kvargs_parse(str, keys);
	if (kv == NULL)
		return -1;
	v = rte_kvargs_get(kv, "name");
	if (v != NULL && strcmp(v, dev->device.name) != 0)
		ret = -1;
	v = rte_kvargs_get(kv, VU_KEY_PATH);
	if (v != NULL && strcmp(v, dev->path) != 0)
		ret = -1;
	rte_kvargs_free(kv);
	return ret;
}

static void *
vfio_user_bus_dev_iterate(const void *start, const char *str,
		const struct rte_dev_iterator *it)
{
	RTE_SET_USED(it);
	return vfio_user_bus_find_device(start, vu_dev_match_str, str);
}

static struct rte_bus vfio_user_bus = {
	.scan = vfio_user_bus_scan,
	.probe = vfio_user_bus_probe,
	.find_device = vfio_user_bus_find_device,
	.plug = vfio_user_bus_plug,
	.unplug = vfio_user_bus_unplug,
	.parse = vfio_user_bus_parse,
	.dma_map = vfio_user_bus_dma_map,
	.dma_unmap = vfio_user_bus_dma_unmap,
	.dev_iterate = vfio_user_bus_dev_iterate,
	.cleanup = vfio_user_bus_cleanup,
};

RTE_REGISTER_BUS(vfio_user, vfio_user_bus);

/*
 * Driver API
 */

static int
vu_dev_usable(const struct rte_vfio_user_bus_device *dev)
{
	if (dev == NULL)
		return -EINVAL;
	if (dev->dev_id < 0 || vu_removed(dev))
		return -ENODEV;
	return 0;
}

static ssize_t
vu_err(ssize_t ret)
{
	return ret == -ENOTCONN ? -ENODEV : ret;
}

ssize_t
rte_vfio_user_bus_dev_region_read(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, void *buf, size_t len)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	if (buf == NULL || index >= dev->num_regions || len > SSIZE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return vu_err(rte_vfio_user_region_read(dev->dev_id, index, offset, buf, len));
}

ssize_t
rte_vfio_user_bus_dev_region_write(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, const void *buf, size_t len)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	if (buf == NULL || index >= dev->num_regions || len > SSIZE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return vu_err(rte_vfio_user_region_write(dev->dev_id, index, offset, buf, len));
}

void *
rte_vfio_user_bus_dev_region_addr(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, size_t len)
{
	const struct rte_vfio_user_region_map *m;
	struct vu_dev *vd;
	uint32_t i;

	if (dev == NULL || index >= VFIO_PCI_NUM_REGIONS) {
		rte_errno = EINVAL;
		return NULL;
	}
	vd = vu_dev(dev);
	for (i = 0; i < vd->maps[index].nr; i++) {
		m = &vd->maps[index].maps[i];
		if (offset >= m->offset && offset - m->offset <= m->size &&
				len <= m->size - (offset - m->offset))
			return RTE_PTR_ADD(m->addr, offset - m->offset);
	}
	rte_errno = ENOENT;
	return NULL;
}

/* Close the eventfds and free the handle; the server is told separately. */
static void
vu_irq_free(struct vu_dev *vd)
{
	uint32_t i;

	for (i = 0; i < vd->nr_irq_efds; i++)
		close(vd->irq_efds[i]);
	free(vd->irq_efds);
	vd->irq_efds = NULL;
	vd->nr_irq_efds = 0;
	rte_intr_instance_free(vd->dev.intr_handle);
	vd->dev.intr_handle = NULL;
}

/* Tell the server to drop the eventfds (if it is there), then free them. */
static void
vu_irq_release(struct vu_dev *vd)
{
	struct vfio_irq_set set;

	if (vd->dev.intr_handle == NULL)
		return;
	if (!vu_removed(&vd->dev) && vd->dev.dev_id >= 0) {
		memset(&set, 0, sizeof(set));
		set.argsz = sizeof(set);
		set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set.index = VFIO_PCI_MSIX_IRQ_INDEX;
		set.start = 0;
		set.count = vd->nr_irq_efds;
		if (rte_vfio_user_set_irqs(vd->dev.dev_id, &set) < 0)
			VFIO_USER_BUS_LOG(DEBUG, "%s: server kept the MSI-X eventfds",
				vd->dev.device.name);
	}
	vu_irq_free(vd);
}

int
rte_vfio_user_bus_dev_irq_enable(struct rte_vfio_user_bus_device *dev, uint32_t nb_vectors)
{
	struct vfio_irq_set *set;
	struct vu_dev *vd;
	uint32_t i, chunk;
	int ret;

	ret = vu_dev_usable(dev);
	if (ret < 0)
		return ret;
	vd = vu_dev(dev);
	if (vd->msix_count == 0)
		return -ENOTSUP;
	if (nb_vectors == 0 || nb_vectors > vd->msix_count ||
			nb_vectors > RTE_MAX_RXTX_INTR_VEC_ID || dev->intr_handle != NULL)
		return -EINVAL;

	dev->intr_handle = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	vd->irq_efds = calloc(nb_vectors, sizeof(int));
	set = calloc(1, sizeof(*set) + nb_vectors * sizeof(int));
	if (dev->intr_handle == NULL || vd->irq_efds == NULL || set == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < nb_vectors; i++) {
		ret = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ret < 0) {
			ret = -errno;
			goto err;
		}
		vd->irq_efds[vd->nr_irq_efds++] = ret;
		if (rte_intr_efds_index_set(dev->intr_handle, i, ret) < 0) {
			ret = -rte_errno;
			goto err;
		}
	}
	if (rte_intr_type_set(dev->intr_handle, RTE_INTR_HANDLE_VFIO_MSIX) < 0 ||
			rte_intr_fd_set(dev->intr_handle, vd->irq_efds[0]) < 0 ||
			rte_intr_nb_efd_set(dev->intr_handle, nb_vectors) < 0 ||
			rte_intr_max_intr_set(dev->intr_handle, nb_vectors) < 0 ||
			rte_intr_efd_counter_size_set(dev->intr_handle, sizeof(uint64_t)) < 0) {
		ret = -rte_errno;
		goto err;
	}

	/*
	 * The server takes a bounded number of descriptors per message, which
	 * the API does not tell: halve the batch while it says -EINVAL.
	 */
	for (i = 0, chunk = nb_vectors; i < nb_vectors; ) {
		chunk = RTE_MIN(chunk, nb_vectors - i);
		set->argsz = sizeof(*set) + chunk * sizeof(int);
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->index = VFIO_PCI_MSIX_IRQ_INDEX;
		set->start = i;
		set->count = chunk;
		memcpy(set->data, &vd->irq_efds[i], chunk * sizeof(int));
		ret = rte_vfio_user_set_irqs(dev->dev_id, set);
		if (ret == -EINVAL && chunk > 1) {
			chunk /= 2;
			continue;
		}
		if (ret < 0) {
			ret = (int)vu_err(ret);
			VFIO_USER_BUS_LOG(ERR, "%s: cannot set MSI-X eventfds %u-%u: %s",
				dev->device.name, i, i + chunk - 1, strerror(-ret));
			vu_irq_release(vd);
			free(set);
			return ret;
		}
		i += chunk;
	}
	free(set);
	return 0;

err:
	free(set);
	vu_irq_free(vd);
	return ret;
}

int
rte_vfio_user_bus_dev_irq_disable(struct rte_vfio_user_bus_device *dev)
{
	if (dev == NULL || dev->intr_handle == NULL)
		return -EINVAL;
	vu_irq_release(vu_dev(dev));
	return 0;
}

int
rte_vfio_user_bus_dev_reset(struct rte_vfio_user_bus_device *dev)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	return (int)vu_err(rte_vfio_user_reset(dev->dev_id));
}

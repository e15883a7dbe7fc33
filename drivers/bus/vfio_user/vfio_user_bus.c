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
 * Locking: vfio_user_bus_lock guards the device list and every device's DMA
 * windows. The memory event callback runs with EAL's memory lock held and
 * takes vfio_user_bus_lock, so whoever walks memory takes EAL's lock first.
 *
 * This file is the bus object (scan, attach, probe, plug, unplug); the
 * devargs, the DMA windows, the connection events and the driver API on a
 * device have their own files (see vfio_user_bus_private.h).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memory.h>
#include <bus_driver.h>

#include "vfio_user_bus_private.h"

RTE_LOG_REGISTER_DEFAULT(vfio_user_bus_logtype, NOTICE);

/* Bytes of config space read at attach: the standard header. */
#define VU_CFG_HDR_SIZE 64

TAILQ_HEAD(vu_drv_list, rte_vfio_user_bus_driver);

struct vu_dev_list vfio_user_bus_devices = TAILQ_HEAD_INITIALIZER(vfio_user_bus_devices);
pthread_mutex_t vfio_user_bus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vu_drv_list vu_drivers = TAILQ_HEAD_INITIALIZER(vu_drivers);
/* EAL's init probe ran: later scans come from hotplug. */
static bool vu_probed_once;
/* Devargs rejected by the init scan, not reported again (they stay listed). */
static const struct rte_devargs **vu_rejected;
static unsigned int vu_nr_rejected;

static struct rte_bus vfio_user_bus;

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
 * Scan
 */

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

	TAILQ_FOREACH(dev, &vfio_user_bus_devices, next)
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
		if (vfio_user_bus_parse_args(da, NULL, NULL) < 0) {
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
		pthread_mutex_lock(&vfio_user_bus_lock);
		TAILQ_INSERT_TAIL(&vfio_user_bus_devices, dev, next);
		pthread_mutex_unlock(&vfio_user_bus_lock);
		VFIO_USER_BUS_LOG(DEBUG, "found %s", da->name);
	}
	return ret;
}

/*
 * Attach / detach
 */

/* The PCI identity in config space, into id and revision. */
int
vfio_user_bus_read_identity(struct rte_vfio_user_bus_device *dev, struct rte_pci_id *id,
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
	ret = vfio_user_bus_parse_args(dev->device.devargs, dev->path, &vd->reconnect_ms);
	if (ret < 0)
		return ret;

	conn.reconnect_ms = vd->reconnect_ms;
	conn.conn_cb = vfio_user_bus_conn_event;
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

	ret = rte_vfio_user_set_disconnect_cb(dev->dev_id, vfio_user_bus_server_gone, dev);
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
	ret = vfio_user_bus_read_identity(dev, &dev->id, &dev->revision);
	if (ret < 0)
		goto err;
	ret = vu_read_irqs(vd);
	if (ret < 0)
		goto err;

	ret = vfio_user_bus_dma_attach(vd);
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

/* Drop the connection and all it gave us. */
static void
vu_detach(struct vu_dev *vd)
{
	struct rte_vfio_user_bus_device *dev = &vd->dev;
	uint32_t i;

	if (dev->dev_id < 0)
		return;
	vfio_user_bus_irq_release(vd);

	/* The server drops every DMA mapping of a client that goes. */
	vfio_user_bus_dma_detach(vd);

	/* Also unmaps the regions and waits for a disconnect callback in progress. */
	rte_vfio_user_detach_dev(dev->dev_id);
	vfio_user_bus_events_cancel(dev);
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
	TAILQ_FOREACH(dev, &vfio_user_bus_devices, next) {
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
	pthread_mutex_lock(&vfio_user_bus_lock);
	TAILQ_REMOVE(&vfio_user_bus_devices, dev, next);
	pthread_mutex_unlock(&vfio_user_bus_lock);
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

	while ((dev = TAILQ_FIRST(&vfio_user_bus_devices)) != NULL)
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

struct rte_device *
vfio_user_bus_find_device(const struct rte_device *start, rte_dev_cmp_t cmp, const void *data)
{
	const struct rte_vfio_user_bus_device *vstart;
	struct rte_vfio_user_bus_device *dev;

	if (start != NULL) {
		vstart = RTE_DEV_TO_VFIO_USER_BUS_CONST(start);
		dev = TAILQ_NEXT(vstart, next);
	} else {
		dev = TAILQ_FIRST(&vfio_user_bus_devices);
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

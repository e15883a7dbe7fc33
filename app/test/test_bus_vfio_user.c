/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Tests of the vfio_user bus: test devices served by librte_vfio_user in
 * this process (or in a child that gets killed), a test driver registered on
 * the bus, devices created from devargs and by hotplug.
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <rte_bus.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_interrupts.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_vfio_user.h>

#include <bus_driver.h>
#include <bus_vfio_user_driver.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define EV_TIMEOUT_MS 3000
#define LEAK_TIMEOUT_MS 3000
/* Environment variable and child name of test_vfio_user.c's child server. */
#define CHILD_SOCK_ENV "VFIO_USER_TEST_SOCK"
#define CHILD_NAME "vfio_user_child_server"

#define TEST_SUBSYS_VENDOR 0x8086
#define TEST_SUBSYS_DEVICE 0x1234
#define TEST_CLASS 0x010802 /* NVMe */
#define TEST_REVISION 0x2a

static char g_dir[64];
static unsigned int g_seq;
static struct rte_bus *g_bus;

/* The test driver: counts and records what the bus gives it. */
static struct rte_pci_id g_ids[4];
static int g_probe_calls;
static int g_remove_calls;
static int g_probe_ret;
static struct rte_vfio_user_bus_device *g_last_dev;

static int
tdrv_probe(struct rte_vfio_user_bus_device *dev)
{
	g_probe_calls++;
	g_last_dev = dev;
	return g_probe_ret;
}

static int
tdrv_remove(struct rte_vfio_user_bus_device *dev)
{
	RTE_SET_USED(dev);
	/* Also called on EAL's interrupt thread (removal from an event callback). */
	__atomic_fetch_add(&g_remove_calls, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Connection events given to the driver (EAL's interrupt thread), by kind. */
static int g_lost_calls;
static int g_reset_calls;
static int g_restored_calls;
static int g_reset_ret;

static int
tdrv_event(struct rte_vfio_user_bus_device *dev, enum rte_vfio_user_bus_event event)
{
	/* The device is not to be used until the driver handled the return. */
	if (!__atomic_load_n(&dev->away, __ATOMIC_ACQUIRE))
		return -EINVAL;
	__atomic_fetch_add(event == RTE_VFIO_USER_BUS_EV_LOST ? &g_lost_calls :
		event == RTE_VFIO_USER_BUS_EV_RESTORED ? &g_restored_calls : &g_reset_calls,
		1, __ATOMIC_RELEASE);
	return event == RTE_VFIO_USER_BUS_EV_LOST ? 0 : g_reset_ret;
}

static struct rte_vfio_user_bus_driver test_drv = {
	.driver = { .name = "vfio_user_bus_test_drv" },
	.id_table = g_ids,
	.probe = tdrv_probe,
	.remove = tdrv_remove,
	.event = tdrv_event,
};

static void
set_ids(const struct rte_pci_id *ids, unsigned int n)
{
	memset(g_ids, 0, sizeof(g_ids));
	memcpy(g_ids, ids, n * sizeof(*ids));
	g_probe_calls = 0;
	g_remove_calls = 0;
	g_probe_ret = 0;
	g_last_dev = NULL;
}

/* Match the test device by vendor and device id. */
static void
ids_tdev(void)
{
	const struct rte_pci_id id = {
		.class_id = RTE_CLASS_ANY_ID,
		.vendor_id = TDEV_PCI_VENDOR,
		.device_id = TDEV_PCI_DEVICE,
		.subsystem_vendor_id = RTE_PCI_ANY_ID,
		.subsystem_device_id = RTE_PCI_ANY_ID,
	};

	set_ids(&id, 1);
}

static void
mkpath(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

static int server_open_at(struct tdev *d, uint32_t class_id, const char *path);

/* A started test device with a PCI identity in its config space. */
static int
server_open(struct tdev *d, uint32_t class_id)
{
	char path[256];

	mkpath(path, sizeof(path), "bus");
	return server_open_at(d, class_id, path);
}

static int
server_open_cfg(struct tdev *d, uint32_t class_id, const char *path, const struct tdev_cfg *cfg)
{
	int ret;

	ret = tdev_create(d, path, cfg, false);
	if (ret < 0)
		return ret;
	/* tdev's config space is flat scratch (see test_vfio_user_common.h): poke the identity. */
	d->cfg_space[PCI_REVISION_ID] = TEST_REVISION;
	d->cfg_space[PCI_CLASS_PROG] = class_id & 0xff;
	d->cfg_space[PCI_CLASS_DEVICE] = (class_id >> 8) & 0xff;
	d->cfg_space[PCI_CLASS_DEVICE + 1] = (class_id >> 16) & 0xff;
	d->cfg_space[PCI_SUBSYSTEM_VENDOR_ID] = TEST_SUBSYS_VENDOR & 0xff;
	d->cfg_space[PCI_SUBSYSTEM_VENDOR_ID + 1] = TEST_SUBSYS_VENDOR >> 8;
	d->cfg_space[PCI_SUBSYSTEM_ID] = TEST_SUBSYS_DEVICE & 0xff;
	d->cfg_space[PCI_SUBSYSTEM_ID + 1] = TEST_SUBSYS_DEVICE >> 8;
	ret = rte_vfio_user_start(path);
	if (ret < 0)
		tdev_destroy(d);
	return ret;
}

static int
server_open_at(struct tdev *d, uint32_t class_id, const char *path)
{
	return server_open_cfg(d, class_id, path, NULL);
}

static int
cmp_name(const struct rte_device *dev, const void *name)
{
	return strcmp(dev->name, name);
}

static int
cmp_any(const struct rte_device *dev, const void *arg)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(arg);
	return 0;
}

static struct rte_vfio_user_bus_device *
find_dev(const char *name)
{
	struct rte_device *dev = g_bus->find_device(NULL, cmp_name, name);

	return dev != NULL ? RTE_DEV_TO_VFIO_USER_BUS(dev) : NULL;
}

static int
hotplug(const char *name, const char *path)
{
	char devargs[512];

	snprintf(devargs, sizeof(devargs), "%s:%s,path=%s", RTE_VFIO_USER_BUS_NAME, name, path);
	return rte_dev_probe(devargs);
}

static int
unplug(const char *name)
{
	return rte_eal_hotplug_remove(RTE_VFIO_USER_BUS_NAME, name);
}

/* Forget a device EAL left on the bus after a failed probe. */
static void
drop_dev(const char *name)
{
	struct rte_vfio_user_bus_device *dev = find_dev(name);

	if (dev != NULL)
		g_bus->unplug(&dev->device);
}

static int
count_bus_devargs(void)
{
	struct rte_devargs *da = NULL;
	int n = 0;

	while ((da = rte_devargs_next(RTE_VFIO_USER_BUS_NAME, da)) != NULL)
		n++;
	return n;
}

/*
 * Cases
 */

/* Bad devargs are refused and leave nothing behind. */
static int
test_bad_devargs(void)
{
	char devargs[512], longpath[200];
	int before = count_bus_devargs();

	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad0"), "no path");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad1,path="), "empty path");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(devargs, sizeof(devargs), "vfio_user:bad2,path=%s", longpath);
	TEST_ASSERT_FAIL(rte_dev_probe(devargs), "path longer than sun_path");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad3,path=/x.sock,foo=1"), "unknown key");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad4,path=/a.sock,path=/b.sock"), "two paths");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad5,path"), "key without value");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad6,path=/x.sock,reconnect=x"),
		"reconnect not a number");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad7,path=/x.sock,reconnect=-1"),
		"negative reconnect");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad8,path=/x.sock,reconnect=3600001"),
		"reconnect above an hour");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad9,path=/x.sock,reconnect=1,reconnect=2"),
		"two reconnect values");
	TEST_ASSERT_FAIL(rte_dev_probe("vfio_user:bad10,path=/x.sock,reconnect="),
		"empty reconnect");
	TEST_ASSERT_EQUAL(count_bus_devargs(), before, "devargs left behind");
	TEST_ASSERT_NULL(find_dev("bad0"), "device created from bad devargs");
	TEST_ASSERT_NULL(find_dev("bad3"), "device created from bad devargs");
	return TEST_SUCCESS;
}

/* A socket nobody serves: the probe fails, no descriptor stays open. */
static int
test_no_server(void)
{
	struct rte_vfio_user_bus_device *dev;
	struct leak_snap before;
	char path[256];

	ids_tdev();
	mkpath(path, sizeof(path), "none");
	leak_snap(&before);
	TEST_ASSERT_FAIL(hotplug("nosrv0", path), "probe without a server");
	TEST_ASSERT_EQUAL(g_probe_calls, 0, "driver probed without a server");
	dev = find_dev("nosrv0");
	/* EAL leaves a device that never probed to the bus; it holds nothing. */
	if (dev != NULL)
		TEST_ASSERT_EQUAL(dev->dev_id, -1, "device attached");
	drop_dev("nosrv0");
	TEST_ASSERT_NULL(find_dev("nosrv0"), "device not dropped");
	TEST_ASSERT_EQUAL(count_bus_devargs(), 0, "devargs left");
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* Hotplug by id table: the device's identity, regions, then removal. */
static int
probe_match_body(struct tdev *d)
{
	struct rte_vfio_user_bus_device *dev;
	int ret;

	ids_tdev();
	TEST_ASSERT_SUCCESS(hotplug("match0", d->path), "hotplug");
	TEST_ASSERT_EQUAL(g_probe_calls, 1, "driver probe calls");
	dev = find_dev("match0");
	TEST_ASSERT_NOT_NULL(dev, "device not on the bus");
	TEST_ASSERT(dev == g_last_dev, "probe got another device");
	TEST_ASSERT(dev->driver == &test_drv, "driver not bound");
	TEST_ASSERT(rte_dev_is_probed(&dev->device), "EAL does not see it probed");
	TEST_ASSERT_EQUAL(strcmp(rte_dev_name(&dev->device), "match0"), 0, "name");
	TEST_ASSERT_EQUAL(strcmp(dev->path, d->path), 0, "path");
	TEST_ASSERT(dev->dev_id >= 0, "not attached");
	TEST_ASSERT_EQUAL(dev->id.vendor_id, TDEV_PCI_VENDOR, "vendor");
	TEST_ASSERT_EQUAL(dev->id.device_id, TDEV_PCI_DEVICE, "device");
	TEST_ASSERT_EQUAL(dev->id.subsystem_vendor_id, TEST_SUBSYS_VENDOR, "subsystem vendor");
	TEST_ASSERT_EQUAL(dev->id.subsystem_device_id, TEST_SUBSYS_DEVICE, "subsystem device");
	TEST_ASSERT_EQUAL(dev->id.class_id, (uint32_t)TEST_CLASS, "class");
	TEST_ASSERT_EQUAL(dev->revision, TEST_REVISION, "revision");
	TEST_ASSERT_EQUAL(dev->num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS, "regions");
	TEST_ASSERT_EQUAL(dev->num_irqs, (uint32_t)VFIO_PCI_NUM_IRQS, "irqs");
	TEST_ASSERT_EQUAL(dev->regions[TDEV_BAR_MMAP].size, (uint64_t)TDEV_MMAP_SIZE, "BAR3 size");
	TEST_ASSERT_NOT_NULL(dev->regions[TDEV_BAR_MMAP].addr, "BAR3 not mapped");
	TEST_ASSERT_NOT_NULL(dev->regions[TDEV_BAR_SPARSE].addr, "BAR4 not mapped");
	TEST_ASSERT_NULL(dev->regions[TDEV_BAR_CB].addr, "BAR0 is not mappable");
	TEST_ASSERT_EQUAL(dev->regions[TDEV_BAR_EMPTY].size, 0, "BAR5 size");
	TEST_ASSERT_EQUAL(dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size, TDEV_CFG_SIZE,
		"config size");
	TEST_ASSERT(!dev->removed, "removed");
	TEST_ASSERT_EQUAL(tdev_ev_wait(d, TDEV_EV_NEW, -1, 1, EV_TIMEOUT_MS), 0, "no client");

	/* EAL reports -EEXIST from the bus as success (nothing to do). */
	ret = hotplug("match0", d->path);
	TEST_ASSERT(ret == 0 || ret == -EEXIST, "second probe of a bound device: %d", ret);
	TEST_ASSERT_EQUAL(g_probe_calls, 1, "probed twice");

	TEST_ASSERT_SUCCESS(unplug("match0"), "unplug");
	TEST_ASSERT_EQUAL(g_remove_calls, 1, "driver remove calls");
	TEST_ASSERT_NULL(find_dev("match0"), "device still on the bus");
	TEST_ASSERT_EQUAL(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS), 0,
		"server did not see the client go");
	TEST_ASSERT_NULL(rte_devargs_next(RTE_VFIO_USER_BUS_NAME, NULL), "devargs left behind");
	return TEST_SUCCESS;
}

/*
 * Run @body against @n fresh started test devices, of PCI classes @class_ids;
 * check fds and mappings after.
 */
static int
run_servers(int (*body)(struct tdev *), const uint32_t *class_ids, unsigned int n)
{
	struct leak_snap before;
	struct tdev *d;
	unsigned int i;
	int setup = 0, ret;

	leak_snap(&before);
	d = calloc(n, sizeof(*d));
	TEST_ASSERT_NOT_NULL(d, "no memory");
	for (i = 0; i < n; i++) {
		setup = server_open(&d[i], class_ids[i]);
		if (setup < 0)
			break;
	}
	ret = setup < 0 ? TEST_FAILED : body(d);
	while (i-- > 0)
		tdev_close(&d[i], EV_TIMEOUT_MS);
	free(d);
	TEST_ASSERT_SUCCESS(setup, "server setup");
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* run_servers() with one device. */
static int
run_server(int (*body)(struct tdev *), uint32_t class_id)
{
	return run_servers(body, &class_id, 1);
}

static int
test_probe_match(void)
{
	return run_server(probe_match_body, TEST_CLASS);
}

/* No driver matches: no probe, and the device holds no session afterwards. */
static int
probe_nomatch_body(struct tdev *d)
{
	const struct rte_pci_id ids[] = {
		{ RTE_CLASS_ANY_ID, TDEV_PCI_VENDOR, TDEV_PCI_DEVICE + 1, RTE_PCI_ANY_ID,
			RTE_PCI_ANY_ID },
		{ RTE_CLASS_ANY_ID, TDEV_PCI_VENDOR, TDEV_PCI_DEVICE, TEST_SUBSYS_VENDOR,
			TEST_SUBSYS_DEVICE + 1 },
		{ 0x020000, TDEV_PCI_VENDOR, TDEV_PCI_DEVICE, RTE_PCI_ANY_ID, RTE_PCI_ANY_ID },
	};
	struct rte_vfio_user_bus_device *dev;

	set_ids(ids, RTE_DIM(ids));
	TEST_ASSERT_FAIL(hotplug("nomatch0", d->path), "probe without a matching driver");
	TEST_ASSERT_EQUAL(g_probe_calls, 0, "driver probed");
	dev = find_dev("nomatch0");
	TEST_ASSERT_NOT_NULL(dev, "device gone");
	TEST_ASSERT_EQUAL(dev->dev_id, -1, "unbound device still attached");
	TEST_ASSERT_EQUAL(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS), 0,
		"server did not see the client go");

	/* A driver that matches arrives later: probing again binds it. */
	ids_tdev();
	TEST_ASSERT_SUCCESS(hotplug("nomatch0", d->path), "second probe");
	TEST_ASSERT_EQUAL(g_probe_calls, 1, "driver probe calls");
	TEST_ASSERT_SUCCESS(unplug("nomatch0"), "unplug");

	/* A driver that refuses the device: the error comes back, the session goes. */
	g_probe_ret = -EIO;
	TEST_ASSERT_EQUAL(hotplug("refuse0", d->path), -EIO, "driver error");
	dev = find_dev("refuse0");
	TEST_ASSERT(dev == NULL || dev->dev_id == -1, "refused device still attached");
	g_probe_ret = 0;
	TEST_ASSERT_SUCCESS(hotplug("refuse0", d->path), "probe after the refusal");
	TEST_ASSERT_SUCCESS(unplug("refuse0"), "unplug");
	TEST_ASSERT_EQUAL(count_bus_devargs(), 0, "devargs left");
	return TEST_SUCCESS;
}

static int
test_probe_nomatch(void)
{
	return run_server(probe_nomatch_body, TEST_CLASS);
}

/* Class ids: exact class with wildcard vendor, and the class a device lacks. */
static int
probe_class_body(struct tdev *d)
{
	const struct rte_pci_id ids[] = {
		{ TEST_CLASS, RTE_PCI_ANY_ID, RTE_PCI_ANY_ID, RTE_PCI_ANY_ID, RTE_PCI_ANY_ID },
	};
	int ret = TEST_FAILED;

	set_ids(ids, RTE_DIM(ids));
	if (hotplug("class0", d[0].path) != 0 || g_probe_calls != 1) {
		printf("class match not probed\n");
		goto out;
	}
	if (hotplug("class1", d[1].path) == 0 || g_probe_calls != 1) {
		printf("other class probed\n");
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	unplug("class0");
	drop_dev("class1");
	TEST_ASSERT_SUCCESS(ret, "class matching");
	return TEST_SUCCESS;
}

static int
test_probe_class(void)
{
	const uint32_t classes[] = { TEST_CLASS, 0x020000 };

	return run_servers(probe_class_body, classes, RTE_DIM(classes));
}

/* Devices from devargs as at EAL init: scan creates, probe attaches and binds. */
static int
devargs_scan_body(struct tdev *d)
{
	struct rte_vfio_user_bus_device *dev;
	char devargs[512];

	ids_tdev();
	snprintf(devargs, sizeof(devargs), "vfio_user:scan0,path=%s", d->path);
	TEST_ASSERT_SUCCESS(rte_devargs_add(RTE_DEVTYPE_ALLOWED, devargs), "devargs_add");
	TEST_ASSERT_SUCCESS(g_bus->scan(), "scan");
	dev = find_dev("scan0");
	TEST_ASSERT_NOT_NULL(dev, "scan made no device");
	TEST_ASSERT_EQUAL(dev->dev_id, -1, "scan attached (memory is not up at scan time)");
	TEST_ASSERT_EQUAL(g_probe_calls, 0, "probed by scan");
	TEST_ASSERT_SUCCESS(g_bus->scan(), "second scan");
	TEST_ASSERT(find_dev("scan0") == dev, "second scan made another device");
	TEST_ASSERT_SUCCESS(g_bus->probe(), "bus probe");
	TEST_ASSERT_EQUAL(g_probe_calls, 1, "driver probe calls");
	TEST_ASSERT(dev->dev_id >= 0, "not attached");
	TEST_ASSERT_EQUAL(dev->id.device_id, TDEV_PCI_DEVICE, "identity");
	TEST_ASSERT_SUCCESS(g_bus->probe(), "bus probe again");
	TEST_ASSERT_EQUAL(g_probe_calls, 1, "bound device probed again");
	TEST_ASSERT_SUCCESS(rte_dev_remove(&dev->device), "remove");
	TEST_ASSERT_EQUAL(g_remove_calls, 1, "driver remove calls");
	TEST_ASSERT_NULL(find_dev("scan0"), "device left");
	TEST_ASSERT_EQUAL(count_bus_devargs(), 0, "devargs left");
	return TEST_SUCCESS;
}

static int
test_devargs_scan(void)
{
	return run_server(devargs_scan_body, TEST_CLASS);
}

/* Region access through messages and through the mapped BARs. */
static int
region_body(struct tdev *d)
{
	struct rte_vfio_user_bus_device *dev;
	uint64_t v, w;
	uint8_t cfg[4];
	void *p;

	ids_tdev();
	TEST_ASSERT_SUCCESS(hotplug("reg0", d->path), "hotplug");
	dev = find_dev("reg0");
	TEST_ASSERT_NOT_NULL(dev, "device");

	/* Messages. */
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0,
		cfg, sizeof(cfg)), (ssize_t)sizeof(cfg), "config read");
	TEST_ASSERT_EQUAL(cfg[0] | cfg[1] << 8, TDEV_PCI_VENDOR, "config vendor");
	v = 0x1122334455667788ULL;
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_write(dev, TDEV_BAR_BASE, 0x40, &v,
		sizeof(v)), (ssize_t)sizeof(v), "BAR1 write");
	TEST_ASSERT_EQUAL(memcmp(d->base_mem + 0x40, &v, sizeof(v)), 0, "server memory");
	w = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0x40, &w,
		sizeof(w)), (ssize_t)sizeof(w), "BAR1 read");
	TEST_ASSERT_EQUAL(w, v, "BAR1 read back");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, d->cfg.base_size,
		&w, sizeof(w)), -EINVAL, "read past the end");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, VFIO_PCI_NUM_REGIONS, 0, &w,
		sizeof(w)), -EINVAL, "bad index");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, NULL, 8),
		-EINVAL, "NULL buffer");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, &w, 0), 0,
		"empty read");

	/* Mapped BAR3: a store through the pointer is what the server has. */
	p = rte_vfio_user_bus_dev_region_addr(dev, TDEV_BAR_MMAP, 0x100, sizeof(v));
	TEST_ASSERT_NOT_NULL(p, "BAR3 address");
	TEST_ASSERT(p == RTE_PTR_ADD(dev->regions[TDEV_BAR_MMAP].addr, 0x100), "BAR3 offset");
	v = 0xcafef00d12345678ULL;
	memcpy(p, &v, sizeof(v));
	TEST_ASSERT_EQUAL(memcmp(d->memfd_map + 0x100, &v, sizeof(v)), 0, "server view of BAR3");
	w = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_MMAP, 0x100, &w,
		sizeof(w)), (ssize_t)sizeof(w), "BAR3 read message");
	TEST_ASSERT_EQUAL(w, v, "BAR3 message and mapping agree");
	TEST_ASSERT_NOT_NULL(rte_vfio_user_bus_dev_region_addr(dev, TDEV_BAR_MMAP,
		TDEV_MMAP_SIZE - 8, 8), "last bytes");
	TEST_ASSERT_NULL(rte_vfio_user_bus_dev_region_addr(dev, TDEV_BAR_MMAP,
		TDEV_MMAP_SIZE - 4, 8), "range crossing the end");
	TEST_ASSERT_EQUAL(rte_errno, ENOENT, "errno");
	TEST_ASSERT_NULL(rte_vfio_user_bus_dev_region_addr(dev, TDEV_BAR_MMAP, UINT64_MAX, 2),
		"overflowing offset");
	TEST_ASSERT_NULL(rte_vfio_user_bus_dev_region_addr(dev, TDEV_BAR_CB, 0, 4),
		"unmappable region");
	TEST_ASSERT_NULL(rte_vfio_user_bus_dev_region_addr(dev, VFIO_PCI_NUM_REGIONS, 0, 4),
		"bad index");

	TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_reset(dev), "reset");
	TEST_ASSERT_EQUAL(tdev_ev_wait(d, TDEV_EV_RESET, -1, 1, EV_TIMEOUT_MS), 0, "no reset seen");

	TEST_ASSERT_SUCCESS(unplug("reg0"), "unplug");
	return TEST_SUCCESS;
}

static int
test_region(void)
{
	return run_server(region_body, TEST_CLASS);
}

/* DPDK memory is mapped into the device at DPDK's IOVA. */
static int
dma_body(struct tdev *d)
{
	const size_t len = 4096;
	struct rte_vfio_user_bus_device *dev;
	uint8_t *buf, *srv;
	uint64_t iova, got, h;
	int64_t rc;
	size_t i;
	int ret = TEST_FAILED;

	ids_tdev();
	buf = rte_malloc("vu_bus_test", 2 * len, 64);
	TEST_ASSERT_NOT_NULL(buf, "rte_malloc");
	tdev_fill(buf, len, 0x77);
	memset(buf + len, 0, len);
	iova = rte_malloc_virt2iova(buf);
	if (iova == RTE_BAD_IOVA) {
		printf("no iova\n");
		goto out;
	}
	if (hotplug("dma0", d->path) != 0) {
		printf("hotplug failed\n");
		goto out;
	}
	dev = find_dev("dma0");

	/* The server reaches the buffer through the fd it was given. */
	got = 2 * len;
	srv = rte_vfio_user_iova_to_vva(d->id, iova, &got);
	if (srv == NULL || got < 2 * len) {
		printf("iova 0x%" PRIx64 " not mapped in the server: %p, %" PRIu64 "\n", iova,
			(void *)srv, got);
		goto out_unplug;
	}
	if (memcmp(srv, buf, len) != 0) {
		printf("server sees other data\n");
		goto out_unplug;
	}
	srv[0] ^= 0xff;
	if (buf[0] != (uint8_t)(srv[0])) {
		printf("server store not seen by the client\n");
		goto out_unplug;
	}
	srv[0] ^= 0xff;

	/* A device-initiated job: read len bytes at iova, write them back changed after. */
	d->cb_dma_job = true;
	got = len;
	if (rte_vfio_user_bus_dev_region_write(dev, TDEV_BAR_CB, TDEV_REG_DMA_LEN, &got,
			sizeof(got)) != sizeof(got) ||
			rte_vfio_user_bus_dev_region_write(dev, TDEV_BAR_CB, TDEV_REG_DMA_IOVA,
			&iova, sizeof(iova)) != sizeof(iova)) {
		printf("DMA job registers\n");
		goto out_unplug;
	}
	rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_CB, TDEV_REG_DMA_RD_RC, &rc, sizeof(rc));
	rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_CB, TDEV_REG_DMA_HASH, &h, sizeof(h));
	if (rc != 0 || h != tdev_hash(buf, len)) {
		printf("DMA read by the device: rc %" PRId64 ", hash mismatch %d\n", rc,
			h != tdev_hash(buf, len));
		goto out_unplug;
	}
	rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_CB, TDEV_REG_DMA_WR_RC, &rc, sizeof(rc));
	for (i = 0; i < len; i++)
		if (buf[len + i] != (buf[i] ^ 0x5a))
			break;
	if (rc != 0 || i != len) {
		printf("DMA write by the device: rc %" PRId64 ", byte %zu\n", rc, i);
		goto out_unplug;
	}
	ret = TEST_SUCCESS;
out_unplug:
	d->cb_dma_job = false;
	if (unplug("dma0") != 0)
		ret = TEST_FAILED;
	/*
	 * The server drops the mappings with the client, on its control thread
	 * once it sees the hang-up: a detach does not wait for that.
	 */
	for (i = 0; ret == TEST_SUCCESS && i < 500; i++) {
		got = len;
		if (rte_vfio_user_iova_to_vva(d->id, iova, &got) == NULL)
			break;
		usleep(10 * 1000);
	}
	if (ret == TEST_SUCCESS && i == 500) {
		printf("mapping survived the client\n");
		ret = TEST_FAILED;
	}
out:
	rte_free(buf);
	return ret;
}

static int
test_dma(void)
{
	return run_server(dma_body, TEST_CLASS);
}

/* MSI-X: eventfds through rte_intr handles. */
static volatile int g_intr_hits;

static void
intr_cb(void *arg)
{
	RTE_SET_USED(arg);
	__atomic_fetch_add(&g_intr_hits, 1, __ATOMIC_RELEASE);
}

static int
wait_hits(int n)
{
	uint64_t end = now_ms() + EV_TIMEOUT_MS;

	while (__atomic_load_n(&g_intr_hits, __ATOMIC_ACQUIRE) < n && now_ms() < end)
		usleep(1000);
	return __atomic_load_n(&g_intr_hits, __ATOMIC_ACQUIRE);
}

static int
irq_body(struct tdev *d)
{
	struct rte_vfio_user_bus_device *dev;
	int fds[TDEV_MSIX_COUNT];
	int i, efd, ret;

	ids_tdev();
	TEST_ASSERT_SUCCESS(hotplug("irq0", d->path), "hotplug");
	dev = find_dev("irq0");
	TEST_ASSERT_NOT_NULL(dev, "device");
	TEST_ASSERT_NULL(dev->intr_handle, "handle before enable");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_irq_enable(dev, 0), -EINVAL, "0 vectors");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_irq_enable(dev, TDEV_MSIX_COUNT + 1), -EINVAL,
		"too many vectors");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_irq_disable(dev), -EINVAL, "disable before enable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_enable(dev, 4), "enable");
	TEST_ASSERT_NOT_NULL(dev->intr_handle, "handle");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_irq_enable(dev, 4), -EINVAL, "enable twice");
	TEST_ASSERT_EQUAL(rte_intr_type_get(dev->intr_handle), RTE_INTR_HANDLE_VFIO_MSIX, "type");
	TEST_ASSERT_EQUAL(rte_intr_nb_efd_get(dev->intr_handle), 4, "nb_efd");
	TEST_ASSERT_EQUAL(rte_intr_fd_get(dev->intr_handle),
		rte_intr_efds_index_get(dev->intr_handle, 0), "fd is vector 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 5, fds),
		"server eventfds");
	for (i = 0; i < 4; i++)
		TEST_ASSERT(fds[i] >= 0, "vector %d has no eventfd in the server", i);
	TEST_ASSERT_EQUAL(fds[4], -1, "vector 4 set");

	/* Vector 0 through EAL's interrupt thread. */
	g_intr_hits = 0;
	TEST_ASSERT_SUCCESS(rte_intr_callback_register(dev->intr_handle, intr_cb, NULL),
		"callback");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 0),
		"trigger 0");
	TEST_ASSERT_EQUAL(wait_hits(1), 1, "callback not run");
	/* Vector 2 straight from its eventfd. */
	efd = rte_intr_efds_index_get(dev->intr_handle, 2);
	TEST_ASSERT_EQUAL(efd_wait(efd, 0), 0, "vector 2 signalled early");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 2),
		"trigger 2");
	TEST_ASSERT(efd_wait(efd, EV_TIMEOUT_MS) > 0, "vector 2 not signalled");
	TEST_ASSERT_EQUAL(g_intr_hits, 1, "vector 2 ran vector 0's callback");
	do {
		ret = rte_intr_callback_unregister(dev->intr_handle, intr_cb, NULL);
	} while (ret == -EAGAIN);
	TEST_ASSERT(ret > 0, "unregister: %d", ret);

	TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_disable(dev), "disable");
	TEST_ASSERT_NULL(dev->intr_handle, "handle after disable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 4, fds),
		"server eventfds");
	for (i = 0; i < 4; i++)
		TEST_ASSERT_EQUAL(fds[i], -1, "vector %d kept in the server", i);

	/* Left enabled: unplug releases it. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_enable(dev, TDEV_MSIX_COUNT), "enable all");
	TEST_ASSERT_SUCCESS(unplug("irq0"), "unplug");
	return TEST_SUCCESS;
}

static int
test_irq(void)
{
	return run_server(irq_body, TEST_CLASS);
}

/* Two devices on the bus at once stay apart. */
static int
two_devices_body(struct tdev *d)
{
	struct rte_vfio_user_bus_device *a, *b;
	uint32_t v = 0xa1, w = 0xb2, r;
	int n = 0, ret = TEST_FAILED;
	struct rte_dev_iterator it;
	struct rte_device *rd;

	ids_tdev();
	if (hotplug("two0", d[0].path) != 0 || hotplug("two1", d[1].path) != 0) {
		printf("hotplug\n");
		goto out;
	}
	a = find_dev("two0");
	b = find_dev("two1");
	if (a == NULL || b == NULL || a == b || a->dev_id == b->dev_id || g_probe_calls != 2) {
		printf("devices not distinct\n");
		goto out;
	}
	RTE_DEV_FOREACH(rd, "bus=vfio_user", &it)
		n += strncmp(rd->name, "two", 3) == 0;
	if (n != 2) {
		printf("iterator saw %d devices\n", n);
		goto out;
	}
	n = 0;
	RTE_DEV_FOREACH(rd, "bus=vfio_user,name=two1", &it)
		n += rd == &b->device ? 1 : 100;
	if (n != 1) {
		printf("iterator by name: %d\n", n);
		goto out;
	}
	rte_vfio_user_bus_dev_region_write(a, TDEV_BAR_BASE, 0, &v, sizeof(v));
	rte_vfio_user_bus_dev_region_write(b, TDEV_BAR_BASE, 0, &w, sizeof(w));
	if (memcmp(d[0].base_mem, &v, sizeof(v)) != 0 ||
			memcmp(d[1].base_mem, &w, sizeof(w)) != 0) {
		printf("writes crossed\n");
		goto out;
	}
	if (rte_vfio_user_bus_dev_region_read(a, TDEV_BAR_BASE, 0, &r, sizeof(r)) != sizeof(r) ||
			r != v) {
		printf("read of device a\n");
		goto out;
	}
	/* Removing one leaves the other working. */
	if (unplug("two0") != 0 || find_dev("two0") != NULL) {
		printf("unplug two0\n");
		goto out;
	}
	if (rte_vfio_user_bus_dev_region_read(b, TDEV_BAR_BASE, 0, &r, sizeof(r)) != sizeof(r) ||
			r != w) {
		printf("device b after removing a\n");
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	unplug("two0");
	unplug("two1");
	TEST_ASSERT_SUCCESS(ret, "two devices");
	return TEST_SUCCESS;
}

static int
test_two_devices(void)
{
	const uint32_t classes[] = { TEST_CLASS, TEST_CLASS };

	return run_servers(two_devices_body, classes, RTE_DIM(classes));
}

/* Repeated hotplug cycles leak no descriptor and no mapping. */
static int
hotplug_leak_body(struct tdev *d)
{
	struct leak_snap before;
	int i;

	ids_tdev();
	/* The first cycle may start EAL's interrupt thread resources: not a leak. */
	TEST_ASSERT_SUCCESS(hotplug("leak0", d->path), "hotplug");
	TEST_ASSERT_SUCCESS(unplug("leak0"), "unplug");
	tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS);
	leak_snap(&before);
	for (i = 0; i < 5; i++) {
		TEST_ASSERT_SUCCESS(hotplug("leak0", d->path), "hotplug %d", i);
		TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_enable(find_dev("leak0"), 8),
			"irq %d", i);
		TEST_ASSERT_SUCCESS(unplug("leak0"), "unplug %d", i);
		TEST_ASSERT_EQUAL(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, (unsigned int)i + 2,
			EV_TIMEOUT_MS), 0, "server did not see client %d go", i);
	}
	TEST_ASSERT_EQUAL(g_remove_calls, 6, "remove calls");
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
test_hotplug_leak(void)
{
	return run_server(hotplug_leak_body, TEST_CLASS);
}

/* Server loss: RTE_DEV_EVENT_REMOVE, dev->removed, then a clean remove. */
struct rm_ev {
	char name[RTE_DEV_NAME_MAX_LEN];
	int count;
	int type;
};

static void
dev_event_cb(const char *name, enum rte_dev_event_type type, void *arg)
{
	struct rm_ev *e = arg;

	if (strncmp(name, "gone", 4) != 0)
		return;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	__atomic_fetch_add(&e->count, 1, __ATOMIC_RELEASE);
}

static int
wait_event(struct rm_ev *e, int n)
{
	uint64_t end = now_ms() + EV_TIMEOUT_MS;

	while (__atomic_load_n(&e->count, __ATOMIC_ACQUIRE) < n && now_ms() < end)
		usleep(1000);
	return __atomic_load_n(&e->count, __ATOMIC_ACQUIRE);
}

static int
check_gone(const char *name, struct rm_ev *ev)
{
	struct rte_vfio_user_bus_device *dev = find_dev(name);
	uint32_t v;

	TEST_ASSERT_NOT_NULL(dev, "device");
	TEST_ASSERT_EQUAL(wait_event(ev, 1), 1, "no removal event");
	TEST_ASSERT_EQUAL(strcmp(ev->name, name), 0, "event for %s", ev->name);
	TEST_ASSERT_EQUAL(ev->type, RTE_DEV_EVENT_REMOVE, "event type");
	TEST_ASSERT(__atomic_load_n(&dev->removed, __ATOMIC_ACQUIRE), "dev->removed not set");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)),
		-ENODEV, "access after removal");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_reset(dev), -ENODEV, "reset after removal");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_irq_enable(dev, 1), -ENODEV, "irq after removal");
	TEST_ASSERT_SUCCESS(unplug(name), "remove after the server left");
	TEST_ASSERT_NULL(find_dev(name), "device left");
	usleep(20 * 1000);
	TEST_ASSERT_EQUAL(__atomic_load_n(&ev->count, __ATOMIC_ACQUIRE), 1, "more than one event");
	return TEST_SUCCESS;
}

static int
server_stopped_body(struct tdev *d)
{
	struct rm_ev ev = { .count = 0 };
	int ret;

	ids_tdev();
	TEST_ASSERT_SUCCESS(rte_dev_event_callback_register(NULL, dev_event_cb, &ev), "event cb");
	ret = hotplug("gone0", d->path);
	if (ret == 0) {
		TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_enable(find_dev("gone0"), 2), "irq");
		ret = rte_vfio_user_stop(d->path);
	}
	if (ret == 0)
		ret = check_gone("gone0", &ev);
	else
		unplug("gone0");
	while (rte_dev_event_callback_unregister(NULL, dev_event_cb, &ev) == -EAGAIN)
		usleep(1000);
	TEST_ASSERT_SUCCESS(ret, "server stop");
	return TEST_SUCCESS;
}

static int
test_server_stopped(void)
{
	return run_server(server_stopped_body, TEST_CLASS);
}

/* The application removes the device from its event callback, as EAL allows. */
static void
remove_in_cb(const char *name, enum rte_dev_event_type type, void *arg)
{
	struct rm_ev *e = arg;
	struct rte_vfio_user_bus_device *dev;

	if (strcmp(name, "gone2") != 0 || type != RTE_DEV_EVENT_REMOVE)
		return;
	dev = find_dev(name);
	e->type = dev != NULL && dev->removed ? rte_dev_remove(&dev->device) : -ENOENT;
	__atomic_fetch_add(&e->count, 1, __ATOMIC_RELEASE);
}

static int
remove_from_event_body(struct tdev *d)
{
	struct rm_ev ev = { .count = 0, .type = 1 };
	int ret;

	ids_tdev();
	TEST_ASSERT_SUCCESS(rte_dev_event_callback_register("gone2", remove_in_cb, &ev),
		"event cb");
	ret = hotplug("gone2", d->path);
	if (ret == 0)
		ret = rte_vfio_user_bus_dev_irq_enable(find_dev("gone2"), 2);
	if (ret == 0)
		ret = rte_vfio_user_stop(d->path);
	if (ret == 0 && wait_event(&ev, 1) != 1)
		ret = -ETIMEDOUT;
	while (rte_dev_event_callback_unregister("gone2", remove_in_cb, &ev) == -EAGAIN)
		usleep(1000);
	if (ret != 0)
		unplug("gone2");
	TEST_ASSERT_SUCCESS(ret, "removal event");
	TEST_ASSERT_SUCCESS(ev.type, "rte_dev_remove from the event callback");
	TEST_ASSERT_NULL(find_dev("gone2"), "device left");
	TEST_ASSERT_EQUAL(g_remove_calls, 1, "driver remove calls");
	return TEST_SUCCESS;
}

static int
test_remove_from_event(void)
{
	return run_server(remove_from_event_body, TEST_CLASS);
}

/* Wait until *counter reaches n: 0, or -1 after EV_TIMEOUT_MS. */
static int
wait_count(int *counter, int n)
{
	uint64_t end = now_ms() + EV_TIMEOUT_MS;

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n)
		if (now_ms() > end)
			return -1;
		else
			usleep(500);
	return 0;
}

static int
server_restart_seq(struct tdev *d, struct rm_ev *ev)
{
	static const struct tdev_cfg mig_cfg = { .mig_flags = RTE_VFIO_USER_MIG_F_STOP_COPY };
	struct rte_vfio_user_bus_device *dev;
	char path[256], devargs[512];
	uint64_t end, want;
	uint32_t v;

	snprintf(path, sizeof(path), "%s", d->path);
	snprintf(devargs, sizeof(devargs), "%s:gone3,path=%s,reconnect=1",
		RTE_VFIO_USER_BUS_NAME, path);
	TEST_ASSERT_SUCCESS(rte_dev_probe(devargs), "probe with reconnect");
	dev = find_dev("gone3");
	TEST_ASSERT_NOT_NULL(dev, "device");
	TEST_ASSERT_SUCCESS(rte_vfio_user_bus_dev_irq_enable(dev, 2), "irq");

	/* Restarted as the same device: LOST, away, RESET, usable again. */
	tdev_destroy(d);
	TEST_ASSERT_SUCCESS(wait_count(&g_lost_calls, 1), "no LOST event");
	TEST_ASSERT(__atomic_load_n(&dev->away, __ATOMIC_ACQUIRE), "away not set");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)),
		-ENODEV, "access while away");
	TEST_ASSERT_SUCCESS(server_open_cfg(d, TEST_CLASS, path, &mig_cfg), "same server again");
	TEST_ASSERT_SUCCESS(wait_count(&g_reset_calls, 1), "no RESET event");
	end = now_ms() + EV_TIMEOUT_MS;
	while (__atomic_load_n(&dev->away, __ATOMIC_ACQUIRE))
		TEST_ASSERT(now_ms() < end, "still away after RESET");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)),
		(ssize_t)sizeof(v), "access after the restart");
	TEST_ASSERT_EQUAL(__atomic_load_n(&ev->count, __ATOMIC_ACQUIRE), 0, "removal event");

	/* A planned restart with the state held: RESTORED, BAR1 as it was. */
	tdev_fill(d->base_mem, d->cfg.base_size, 29);
	want = tdev_hash(d->base_mem, d->cfg.base_size);
	TEST_ASSERT_SUCCESS(bus_client_save_for_restart(dev->dev_id), "save");
	tdev_destroy(d);
	TEST_ASSERT_SUCCESS(wait_count(&g_lost_calls, 2), "no LOST event (planned)");
	TEST_ASSERT_SUCCESS(server_open_cfg(d, TEST_CLASS, path, &mig_cfg), "server after save");
	TEST_ASSERT_SUCCESS(wait_count(&g_restored_calls, 1), "no RESTORED event");
	end = now_ms() + EV_TIMEOUT_MS;
	while (__atomic_load_n(&dev->away, __ATOMIC_ACQUIRE))
		TEST_ASSERT(now_ms() < end, "still away after RESTORED");
	TEST_ASSERT_EQUAL(__atomic_load_n(&g_reset_calls, __ATOMIC_ACQUIRE), 1,
		"RESET for a restored device");
	TEST_ASSERT_EQUAL(tdev_hash(d->base_mem, d->cfg.base_size), want, "state not restored");
	TEST_ASSERT_EQUAL(rte_vfio_user_bus_dev_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)),
		(ssize_t)sizeof(v), "access after the planned restart");

	/* Back as another PCI device (class): removed, the driver gets no RESET. */
	tdev_destroy(d);
	TEST_ASSERT_SUCCESS(wait_count(&g_lost_calls, 3), "no third LOST event");
	TEST_ASSERT_SUCCESS(server_open_at(d, 0x020000, path), "other server");
	TEST_ASSERT_EQUAL(wait_event(ev, 1), 1, "another device was not removed");
	TEST_ASSERT(__atomic_load_n(&dev->removed, __ATOMIC_ACQUIRE), "dev->removed not set");
	TEST_ASSERT_EQUAL(__atomic_load_n(&g_reset_calls, __ATOMIC_ACQUIRE) +
		__atomic_load_n(&g_restored_calls, __ATOMIC_ACQUIRE), 2,
		"RESET or RESTORED for another device");
	TEST_ASSERT_SUCCESS(unplug("gone3"), "remove");
	return TEST_SUCCESS;
}

static int
server_restart_body(struct tdev *d)
{
	struct rm_ev ev = { .count = 0 };
	int ret;

	ids_tdev();
	__atomic_store_n(&g_lost_calls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_reset_calls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_restored_calls, 0, __ATOMIC_RELAXED);
	g_reset_ret = 0;
	TEST_ASSERT_SUCCESS(rte_dev_event_callback_register(NULL, dev_event_cb, &ev), "event cb");
	ret = server_restart_seq(d, &ev);
	if (ret != TEST_SUCCESS && find_dev("gone3") != NULL)
		unplug("gone3");
	while (rte_dev_event_callback_unregister(NULL, dev_event_cb, &ev) == -EAGAIN)
		usleep(1000);
	return ret;
}

/*
 * devargs reconnect: the server restarts, the driver is told (reset, then
 * restored after a planned restart), another device is removed.
 */
static int
test_server_restart(void)
{
	return run_server(server_restart_body, TEST_CLASS);
}

/* The server process is killed. */
static int
test_server_killed(void)
{
	struct rm_ev ev = { .count = 0 };
	char path[256], env[300];
	char *extra[] = { env, NULL };
	struct leak_snap before;
	pid_t pid;
	int rfd, ret;

	mkpath(path, sizeof(path), "child");
	snprintf(env, sizeof(env), "%s=%s", CHILD_SOCK_ENV, path);
	pid = test_child_spawn(CHILD_NAME, extra, &rfd);
	TEST_ASSERT(pid > 0, "spawn: %d", (int)pid);
	ret = test_child_wait_ready(rfd, 30000);
	close(rfd);
	if (ret < 0) {
		test_child_kill(pid, SIGKILL);
		TEST_ASSERT_SUCCESS(ret, "child server not ready");
	}
	leak_snap(&before);
	ids_tdev();
	TEST_ASSERT_SUCCESS(rte_dev_event_callback_register(NULL, dev_event_cb, &ev), "event cb");
	ret = hotplug("gone1", path);
	if (ret == 0)
		ret = rte_vfio_user_bus_dev_irq_enable(find_dev("gone1"), 4);
	test_child_kill(pid, SIGKILL);
	if (ret == 0)
		ret = check_gone("gone1", &ev);
	else
		unplug("gone1");
	while (rte_dev_event_callback_unregister(NULL, dev_event_cb, &ev) == -EAGAIN)
		usleep(1000);
	unlink(path);
	TEST_ASSERT_SUCCESS(ret, "server killed");
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/*
 * Suite
 */

static int
warmup(void)
{
	struct tdev *d = calloc(1, sizeof(*d));
	int ret;

	TEST_ASSERT_NOT_NULL(d, "no memory");
	ret = server_open(d, TEST_CLASS);
	if (ret == 0) {
		ids_tdev();
		ret = hotplug("warm0", d->path);
		if (ret == 0)
			ret = unplug("warm0");
		tdev_close(d, EV_TIMEOUT_MS);
	}
	free(d);
	return ret;
}

static int
suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-bus-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	g_bus = rte_bus_find_by_name(RTE_VFIO_USER_BUS_NAME);
	TEST_ASSERT_NOT_NULL(g_bus, "vfio_user bus not registered");
	TEST_ASSERT_NOT_NULL(g_bus->plug, "no plug");
	rte_vfio_user_bus_register_driver(&test_drv);
	/* One cycle first, so the library's control thread exists before leak baselines. */
	TEST_ASSERT_SUCCESS(warmup(), "warm-up cycle");
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	struct rte_device *dev;

	/* Whatever a failed case left on the bus. */
	while ((dev = g_bus->find_device(NULL, cmp_any, NULL)) != NULL)
		if (g_bus->unplug(dev) != 0)
			break;
	rte_vfio_user_bus_unregister_driver(&test_drv);
	dir_remove(g_dir);
}

static struct unit_test_suite bus_vfio_user_suite = {
	.suite_name = "vfio_user bus",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_bad_devargs),
		TEST_CASE(test_no_server),
		TEST_CASE(test_probe_match),
		TEST_CASE(test_probe_nomatch),
		TEST_CASE(test_probe_class),
		TEST_CASE(test_devargs_scan),
		TEST_CASE(test_region),
		TEST_CASE(test_dma),
		TEST_CASE(test_irq),
		TEST_CASE(test_two_devices),
		TEST_CASE(test_hotplug_leak),
		TEST_CASE(test_server_stopped),
		TEST_CASE(test_remove_from_event),
		TEST_CASE(test_server_killed),
		TEST_CASE(test_server_restart),
		TEST_CASES_END()
	},
};

static int
test_bus_vfio_user(void)
{
	return unit_test_suite_runner(&bus_vfio_user_suite);
}

REGISTER_TEST_COMMAND(bus_vfio_user_autotest, test_bus_vfio_user);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * vdev glue of the emulated DMA engine: devargs, probe and remove, the
 * vfio-user notify ops and the polling service.
 *
 *   --vdev=emu_dma0,path=<socket>[,channels=N][,service_core=L]
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <rte_cycles.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_service.h>
#include <rte_service_component.h>
#include <rte_string_fns.h>

#include "emu_dma_priv.h"

RTE_LOG_REGISTER_DEFAULT(emu_dma_logtype, NOTICE);

#define EMU_DMA_ARG_PATH		"path"
#define EMU_DMA_ARG_CHANNELS		"channels"
#define EMU_DMA_ARG_SERVICE_CORE	"service_core"

static const char * const emu_dma_valid_args[] = {
	EMU_DMA_ARG_PATH,
	EMU_DMA_ARG_CHANNELS,
	EMU_DMA_ARG_SERVICE_CORE,
	NULL,
};

/* Probed devices, found again by name at remove time. */
static TAILQ_HEAD(, emu_dma_dev) emu_dma_list = TAILQ_HEAD_INITIALIZER(emu_dma_list);
static pthread_mutex_t emu_dma_list_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Service lcores this driver added itself, and how many devices use each
 * (under emu_dma_lcore_lock).
 */
static unsigned int emu_dma_lcore_refs[RTE_MAX_LCORE];
static bool emu_dma_lcore_added[RTE_MAX_LCORE];
static pthread_mutex_t emu_dma_lcore_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Notify ops (control thread).
 */

static struct emu_dma_dev *
emu_dma_from_id(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

/* Back to the power-on state: engine, channels, config space, MSI-X storage. */
static void
emu_dma_full_reset(struct emu_dma_dev *dev)
{
	emu_dma_mig_drop(dev);
	emu_dma_engine_reset(dev);
	emu_dma_pci_reset(dev);
}

/*
 * A client comes or goes: reset the device and drop the poller's view of the
 * DMA table. Normally inside lock_dp(1): the poller is out and stays out.
 */
static void
emu_dma_set_connected(struct emu_dma_dev *dev, bool connected)
{
	bool taken = emu_dma_ctrl_lock(dev);

	emu_dma_full_reset(dev);
	dev->connected = connected;
	dev->mt = NULL;
	dev->mem_gen++;
	if (taken)
		rte_spinlock_unlock(&dev->dp_lock);
}

static int
emu_dma_new_device(int dev_id)
{
	struct emu_dma_dev *dev = emu_dma_from_id(dev_id);

	if (dev == NULL)
		return -ENODEV;
	emu_dma_set_connected(dev, true);
	EMU_DMA_LOG(INFO, "%s: client connected", dev->name);
	return 0;
}

static void
emu_dma_destroy_device(int dev_id)
{
	struct emu_dma_dev *dev = emu_dma_from_id(dev_id);

	if (dev == NULL)
		return;
	emu_dma_set_connected(dev, false);
	EMU_DMA_LOG(INFO, "%s: client gone, device reset", dev->name);
}

static int
emu_dma_lock_dp(int dev_id, int lock)
{
	struct emu_dma_dev *dev = emu_dma_from_id(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (lock) {
		if (!dev->ctrl_locked) {
			/* Waits for the poller to finish its iteration. */
			rte_spinlock_lock(&dev->dp_lock);
			dev->ctrl_locked = true;
		}
		/* Every translation made so far may go stale. */
		dev->mem_gen++;
	} else if (dev->ctrl_locked) {
		dev->ctrl_locked = false;
		rte_spinlock_unlock(&dev->dp_lock);
	}
	return 0;
}

static int
emu_dma_update_status(int dev_id, enum rte_vfio_user_update type)
{
	struct emu_dma_dev *dev = emu_dma_from_id(dev_id);

	/* The poller reloads the DMA table itself: the generation moved in lock_dp(1). */
	if (dev != NULL)
		EMU_DMA_LOG(DEBUG, "%s: %s changed", dev->name,
			type == RTE_VFIO_USER_UPDATE_DMA ? "DMA table" : "interrupt setup");
	return 0;
}

static int
emu_dma_reset_device(int dev_id)
{
	struct emu_dma_dev *dev = emu_dma_from_id(dev_id);
	bool taken;

	if (dev == NULL)
		return -ENODEV;
	taken = emu_dma_ctrl_lock(dev);
	emu_dma_full_reset(dev);
	if (taken)
		rte_spinlock_unlock(&dev->dp_lock);
	EMU_DMA_LOG(INFO, "%s: device reset by the client", dev->name);
	return 0;
}

static const struct rte_vfio_user_notify_ops emu_dma_ops = {
	.new_device = emu_dma_new_device,
	.destroy_device = emu_dma_destroy_device,
	.update_status = emu_dma_update_status,
	.lock_dp = emu_dma_lock_dp,
	.reset_device = emu_dma_reset_device,
};

/*
 * Devargs.
 */

struct emu_dma_args {
	char path[sizeof(((struct emu_dma_dev *)0)->path)];
	unsigned int channels;
	int service_lcore;
};

static int
emu_dma_arg_path(const char *key, const char *value, void *opaque)
{
	struct emu_dma_args *a = opaque;

	RTE_SET_USED(key);
	if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(a->path))
		return -EINVAL;
	strlcpy(a->path, value, sizeof(a->path));
	return 0;
}

/* Strict decimal in [min, max]. */
static int
emu_dma_arg_uint(const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (value == NULL || value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
emu_dma_arg_channels(const char *key, const char *value, void *opaque)
{
	struct emu_dma_args *a = opaque;
	unsigned long v;

	RTE_SET_USED(key);
	if (emu_dma_arg_uint(value, 1, EMU_DMA_MAX_CHANNELS, &v) < 0)
		return -EINVAL;
	a->channels = v;
	return 0;
}

static int
emu_dma_arg_lcore(const char *key, const char *value, void *opaque)
{
	struct emu_dma_args *a = opaque;
	unsigned long v;

	RTE_SET_USED(key);
	if (emu_dma_arg_uint(value, 0, RTE_MAX_LCORE - 1, &v) < 0)
		return -EINVAL;
	/* A worker lcore of the app, or one already serving services. */
	if (v == rte_get_main_lcore() ||
			(!rte_lcore_is_enabled(v) && rte_lcore_has_role(v, ROLE_SERVICE) != 1))
		return -EINVAL;
	a->service_lcore = (int)v;
	return 0;
}

static int
emu_dma_parse_args(const char *name, const char *args, struct emu_dma_args *a)
{
	static const struct {
		const char *key;
		arg_handler_t fn;
	} handlers[] = {
		{ EMU_DMA_ARG_PATH, emu_dma_arg_path },
		{ EMU_DMA_ARG_CHANNELS, emu_dma_arg_channels },
		{ EMU_DMA_ARG_SERVICE_CORE, emu_dma_arg_lcore },
	};
	struct rte_kvargs *kvlist;
	unsigned int i;
	int ret = 0;

	if (args == NULL || args[0] == '\0') {
		EMU_DMA_LOG(ERR, "%s: devarg %s=<socket> is required", name, EMU_DMA_ARG_PATH);
		return -EINVAL;
	}
	kvlist = rte_kvargs_parse(args, emu_dma_valid_args);
	if (kvlist == NULL) {
		EMU_DMA_LOG(ERR, "%s: cannot parse devargs \"%s\"", name, args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kvlist, EMU_DMA_ARG_PATH) != 1) {
		EMU_DMA_LOG(ERR, "%s: exactly one %s=<socket> is required", name,
			EMU_DMA_ARG_PATH);
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < RTE_DIM(handlers); i++) {
		const char *key = handlers[i].key;

		if (rte_kvargs_count(kvlist, key) > 1 ||
				rte_kvargs_process(kvlist, key, handlers[i].fn, a) < 0) {
			EMU_DMA_LOG(ERR, "%s: bad or repeated devarg %s", name, key);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	rte_kvargs_free(kvlist);
	return ret;
}

/*
 * Polling service.
 */

static int
emu_dma_service_start(struct emu_dma_dev *dev)
{
	struct rte_service_spec spec;
	int lc = dev->service_lcore;
	int ret;

	memset(&spec, 0, sizeof(spec));
	if (snprintf(spec.name, sizeof(spec.name), "emu_dma_%s", dev->name) >=
			(int)sizeof(spec.name)) {
		EMU_DMA_LOG(ERR, "%s: name too long for a service name", dev->name);
		return -EINVAL;
	}
	spec.callback = emu_dma_poll;
	spec.callback_userdata = dev;
	spec.socket_id = SOCKET_ID_ANY;
	ret = rte_service_component_register(&spec, &dev->service_id);
	if (ret < 0) {
		EMU_DMA_LOG(ERR, "%s: cannot register service: %s", dev->name, strerror(-ret));
		return ret;
	}
	dev->service_registered = true;
	rte_service_component_runstate_set(dev->service_id, 1);
	rte_service_runstate_set(dev->service_id, 1);
	if (lc < 0)
		return 0;

	pthread_mutex_lock(&emu_dma_lcore_lock);
	/* Waits for the lcore to be idle, if the app launched something there. */
	ret = rte_service_lcore_add(lc);
	if (ret == 0)
		emu_dma_lcore_added[lc] = true;
	else if (ret != -EALREADY)
		goto fail;
	emu_dma_lcore_refs[lc]++;
	dev->lcore_ref = true;
	ret = rte_service_map_lcore_set(dev->service_id, lc, 1);
	if (ret < 0)
		goto fail;
	ret = rte_service_lcore_start(lc);
	if (ret < 0 && ret != -EALREADY)
		goto fail;
	pthread_mutex_unlock(&emu_dma_lcore_lock);
	return 0;
fail:
	pthread_mutex_unlock(&emu_dma_lcore_lock);
	EMU_DMA_LOG(ERR, "%s: cannot run the service on lcore %d: %s", dev->name, lc,
		strerror(-ret));
	return ret;
}

/* Undo emu_dma_service_start(), also a partial one. */
static void
emu_dma_service_stop(struct emu_dma_dev *dev)
{
	int lc = dev->service_lcore;
	unsigned int i;

	if (!dev->service_registered)
		return;
	/* An app lcore may be inside an iteration: wait for it, then keep it out. */
	rte_spinlock_lock(&dev->dp_lock);
	dev->stopping = true;
	rte_spinlock_unlock(&dev->dp_lock);
	rte_service_runstate_set(dev->service_id, 0);
	/*
	 * Wait for a service lcore in the middle of an iteration, however long
	 * a starved core takes: the device is freed next. An iteration only
	 * takes the lock and sees stopping, so this ends.
	 */
	for (i = 0; rte_service_may_be_active(dev->service_id) == 1; i++) {
		if (i == 1000)
			EMU_DMA_LOG(WARNING, "%s: service still running after 1 s, waiting",
				dev->name);
		rte_delay_ms(1);
	}
	rte_service_component_runstate_set(dev->service_id, 0);
	if (dev->lcore_ref) {
		pthread_mutex_lock(&emu_dma_lcore_lock);
		rte_service_map_lcore_set(dev->service_id, lc, 0);
		if (--emu_dma_lcore_refs[lc] == 0 && emu_dma_lcore_added[lc]) {
			/* Give the lcore back to the app if nothing else runs there. */
			int ret = rte_service_lcore_stop(lc);

			if (ret == 0)
				rte_eal_wait_lcore(lc);
			if ((ret == 0 || ret == -EALREADY) && rte_service_lcore_del(lc) == 0)
				emu_dma_lcore_added[lc] = false;
		}
		pthread_mutex_unlock(&emu_dma_lcore_lock);
		dev->lcore_ref = false;
	}
	rte_service_component_unregister(dev->service_id);
	dev->service_registered = false;
}

/*
 * Probe and remove.
 */

static void
emu_dma_free(struct emu_dma_dev *dev)
{
	int ret;

	emu_dma_service_stop(dev);
	if (dev->dev_id >= 0) {
		ret = rte_vfio_user_unregister(dev->path);
		if (ret < 0)
			EMU_DMA_LOG(ERR, "%s: unregister %s: %s", dev->name, dev->path,
				strerror(-ret));
	}
	rte_vfio_user_pci_free(dev->pci);
	emu_dma_mig_drop(dev);
	if (dev->bar0 != NULL)
		munmap((void *)(uintptr_t)dev->bar0, EMU_DMA_CTRL_BAR_SIZE);
	if (dev->bar0_fd >= 0)
		close(dev->bar0_fd);
	rte_free(dev);
}

static int
emu_dma_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct emu_dma_args a = {
		.channels = EMU_DMA_DEF_CHANNELS,
		.service_lcore = -1,
	};
	struct emu_dma_dev *dev;
	void *va;
	int ret;

	if (name == NULL || strlen(name) >= sizeof(dev->name))
		return -EINVAL;
	ret = emu_dma_parse_args(name, rte_vdev_device_args(vdev), &a);
	if (ret < 0)
		return ret;

	dev = rte_zmalloc(name, sizeof(*dev), RTE_CACHE_LINE_SIZE);
	if (dev == NULL)
		return -ENOMEM;
	strlcpy(dev->name, name, sizeof(dev->name));
	strlcpy(dev->path, a.path, sizeof(dev->path));
	dev->nb_chan = a.channels;
	dev->service_lcore = a.service_lcore;
	dev->dev_id = -1;
	rte_spinlock_init(&dev->dp_lock);

	/* BAR0 lives in a memfd: the client maps the same page. */
	dev->bar0_fd = memfd_create("emu_dma_bar0", MFD_CLOEXEC);
	if (dev->bar0_fd < 0 || ftruncate(dev->bar0_fd, EMU_DMA_CTRL_BAR_SIZE) < 0) {
		ret = -errno;
		goto fail;
	}
	va = mmap(NULL, EMU_DMA_CTRL_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		dev->bar0_fd, 0);
	if (va == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	dev->bar0 = va;
	emu_dma_full_reset(dev);

	ret = rte_vfio_user_register(dev->path, &emu_dma_ops);
	if (ret < 0) {
		EMU_DMA_LOG(ERR, "%s: cannot register %s: %s", name, dev->path, strerror(-ret));
		goto fail;
	}
	dev->dev_id = ret;
	ret = rte_vfio_user_set_priv(dev->dev_id, dev);
	if (ret == 0)
		ret = emu_dma_pci_describe(dev);
	if (ret == 0)
		ret = emu_dma_mig_register(dev);
	if (ret < 0) {
		EMU_DMA_LOG(ERR, "%s: cannot describe the device: %s", name, strerror(-ret));
		goto fail;
	}
	ret = emu_dma_service_start(dev);
	if (ret < 0)
		goto fail;
	ret = rte_vfio_user_start(dev->path);
	if (ret < 0) {
		EMU_DMA_LOG(ERR, "%s: cannot serve %s: %s", name, dev->path, strerror(-ret));
		goto fail;
	}

	pthread_mutex_lock(&emu_dma_list_lock);
	TAILQ_INSERT_TAIL(&emu_dma_list, dev, next);
	pthread_mutex_unlock(&emu_dma_list_lock);
	EMU_DMA_LOG(INFO, "%s: %u channel(s) served on %s, service \"emu_dma_%s\"%s", name,
		dev->nb_chan, dev->path, name,
		dev->service_lcore >= 0 ? " on its own service lcore" : " (map it to an lcore)");
	return 0;
fail:
	emu_dma_free(dev);
	return ret;
}

static int
emu_dma_remove(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct emu_dma_dev *dev;

	if (name == NULL)
		return -EINVAL;
	pthread_mutex_lock(&emu_dma_list_lock);
	TAILQ_FOREACH(dev, &emu_dma_list, next)
		if (strcmp(dev->name, name) == 0)
			break;
	if (dev != NULL)
		TAILQ_REMOVE(&emu_dma_list, dev, next);
	pthread_mutex_unlock(&emu_dma_list_lock);
	if (dev == NULL)
		return -ENODEV;
	emu_dma_free(dev);
	EMU_DMA_LOG(INFO, "%s: removed", name);
	return 0;
}

static struct rte_vdev_driver emu_dma_vdev_drv = {
	.probe = emu_dma_probe,
	.remove = emu_dma_remove,
};

RTE_PMD_REGISTER_VDEV(emu_dma, emu_dma_vdev_drv);
RTE_PMD_REGISTER_PARAM_STRING(emu_dma,
	EMU_DMA_ARG_PATH "=<socket path> "
	EMU_DMA_ARG_CHANNELS "=<1-16> "
	EMU_DMA_ARG_SERVICE_CORE "=<lcore>");

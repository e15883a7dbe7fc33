/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Connection events of the vfio_user bus: a server that goes away for good
 * (a removal the application hears of through RTE_DEV_EVENT_REMOVE), and,
 * with reconnect=<ms>, a server lost and found again (events given to the
 * device's driver). The library reports them on its own threads, which must
 * not run application or driver code, so each report is handed to an EAL
 * alarm that runs on the interrupt thread.
 */

#include <errno.h>
#include <string.h>

#include <rte_alarm.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_string_fns.h>

#include "vfio_user_bus_private.h"

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
void
vfio_user_bus_server_gone(int dev_id, void *arg)
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

/* The PCI identity the device had at probe, read again: 0, -ESTALE or an error. */
static int
vu_same_identity(struct rte_vfio_user_bus_device *dev)
{
	struct rte_pci_id id;
	uint8_t revision;
	int ret;

	ret = vfio_user_bus_read_identity(dev, &id, &revision);
	if (ret == 0 && (memcmp(&id, &dev->id, sizeof(id)) != 0 || revision != dev->revision))
		ret = -ESTALE;
	return ret;
}

/*
 * On an EAL interrupt-thread alarm: give the connection events to the
 * driver, in order. The driver re-programs the device on RESET while away is
 * still set, so that its data path does not race with it. Of a RESTORED and
 * a RESET coalesced here, RESET wins: re-programming a restored device is
 * harmless, running a reset one as restored is not.
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
	if (!(ev & (VU_EV_RESET | VU_EV_RESTORED)))
		goto out;
	/* Another device behind the same path: as if the server had gone. */
	ret = vu_same_identity(dev);
	if (ret == -ENOTCONN)
		goto out; /* Gone again: the library retries and tells us. */
	if (ret == -ESTALE)
		VFIO_USER_BUS_LOG(ERR, "%s: server came back as another PCI device",
			dev->device.name);
	if (ret == 0 && drv != NULL && drv->event != NULL)
		ret = drv->event(dev, (ev & VU_EV_RESET) ? RTE_VFIO_USER_BUS_EV_RESET :
			RTE_VFIO_USER_BUS_EV_RESTORED);
	if (ret < 0) {
		VFIO_USER_BUS_LOG(ERR, "%s: device unusable after the server came back: %s",
			dev->device.name, strerror(-ret));
		vfio_user_bus_server_gone(dev->dev_id, dev);
		goto out;
	}
	__atomic_store_n(&dev->away, false, __ATOMIC_RELEASE);
	VFIO_USER_BUS_LOG(NOTICE, "%s: server %s is back", dev->device.name, dev->path);
out:
	pthread_mutex_unlock(&vd->event_lock);
}

/* On a library thread, which must not run driver code: hand over to an alarm. */
void
vfio_user_bus_conn_event(int dev_id, enum rte_vfio_user_conn_event event, void *arg)
{
	struct rte_vfio_user_bus_device *dev = arg;
	int ret;

	RTE_SET_USED(dev_id);
	if (event == RTE_VFIO_USER_CONN_LOST) {
		__atomic_store_n(&dev->away, true, __ATOMIC_RELEASE);
		VFIO_USER_BUS_LOG(NOTICE, "%s: server %s went away, reconnecting",
			dev->device.name, dev->path);
	}
	__atomic_fetch_or(&vu_dev(dev)->events, event == RTE_VFIO_USER_CONN_LOST ? VU_EV_LOST :
		event == RTE_VFIO_USER_CONN_RESTORED ? VU_EV_RESTORED : VU_EV_RESET,
		__ATOMIC_RELEASE);
	vu_alarm_publish(dev);
	ret = rte_eal_alarm_set(1, vu_notify_conn, dev);
	if (ret < 0)
		VFIO_USER_BUS_LOG(ERR, "%s: cannot report a connection event: %s",
			dev->device.name, strerror(-ret));
}

/* A report still queued would name a device that may be freed. */
void
vfio_user_bus_events_cancel(struct rte_vfio_user_bus_device *dev)
{
	rte_eal_alarm_cancel(vu_notify_removal, dev);
	rte_eal_alarm_cancel(vu_notify_conn, dev);
}

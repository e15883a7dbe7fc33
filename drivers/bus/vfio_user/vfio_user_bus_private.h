/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_BUS_PRIVATE_H_
#define _VFIO_USER_BUS_PRIVATE_H_

/*
 * Shared by the files of the vfio_user bus: the bus-private device state,
 * the device list and its lock, logging, and what each file gives the
 * others. vfio_user_bus.c is the bus object (scan, attach, probe, unplug),
 * vfio_user_bus_params.c the devargs, vfio_user_bus_dma.c the DMA windows,
 * vfio_user_bus_event.c the server loss and reconnection events,
 * vfio_user_bus_dev.c the driver API on a device.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_log.h>
#include <rte_vfio_user.h>

#include "bus_vfio_user_driver.h"

extern int vfio_user_bus_logtype;
#define VFIO_USER_BUS_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_bus_logtype, "vfio_user bus: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

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
	/* DMA windows, under vfio_user_bus_lock. */
	struct vu_window *wins;
	uint32_t nr_wins;
	uint32_t cap_wins;
	bool dma_ready;  /* memory mapped, events follow; under vfio_user_bus_lock */
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
#define VU_EV_RESTORED (1u << 2)

TAILQ_HEAD(vu_dev_list, rte_vfio_user_bus_device);

/* Every device of the bus; vfio_user_bus_lock guards the list and the DMA windows. */
extern struct vu_dev_list vfio_user_bus_devices;
extern pthread_mutex_t vfio_user_bus_lock;

static inline struct vu_dev *
vu_dev(struct rte_vfio_user_bus_device *dev)
{
	return container_of(dev, struct vu_dev, dev);
}

static inline bool
vu_removed(const struct rte_vfio_user_bus_device *dev)
{
	return __atomic_load_n(&dev->removed, __ATOMIC_ACQUIRE);
}

/* vfio_user_bus.c */
int vfio_user_bus_read_identity(struct rte_vfio_user_bus_device *dev, struct rte_pci_id *id,
		uint8_t *revision);
struct rte_device *vfio_user_bus_find_device(const struct rte_device *start,
		rte_dev_cmp_t cmp, const void *data);

/* vfio_user_bus_params.c */
int vfio_user_bus_parse_args(const struct rte_devargs *da, char *path, uint32_t *reconnect_ms);
void *vfio_user_bus_dev_iterate(const void *start, const char *str,
		const struct rte_dev_iterator *it);

/* vfio_user_bus_dma.c */
int vfio_user_bus_dma_attach(struct vu_dev *vd);
void vfio_user_bus_dma_detach(struct vu_dev *vd);
int vfio_user_bus_dma_map(struct rte_device *d, void *addr, uint64_t iova, size_t len);
int vfio_user_bus_dma_unmap(struct rte_device *d, void *addr, uint64_t iova, size_t len);

/* vfio_user_bus_event.c */
void vfio_user_bus_server_gone(int dev_id, void *arg);
void vfio_user_bus_conn_event(int dev_id, enum rte_vfio_user_conn_event event, void *arg);
void vfio_user_bus_events_cancel(struct rte_vfio_user_bus_device *dev);

/* vfio_user_bus_dev.c */
void vfio_user_bus_irq_release(struct vu_dev *vd);

#endif /* _VFIO_USER_BUS_PRIVATE_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _BUS_VFIO_USER_DRIVER_H_
#define _BUS_VFIO_USER_DRIVER_H_

/**
 * @file
 * Driver interface of the vfio_user bus.
 *
 * The vfio_user bus makes a PCI device served by another process (a
 * vfio-user server) look like a local device to DPDK drivers. Each bus
 * device is one client connection made with librte_vfio_user; the bus
 * reads the device's PCI identity from its config space and matches it
 * against the id tables of the drivers registered with
 * RTE_PMD_REGISTER_VFIO_USER_BUS().
 *
 * Before a driver's probe runs, the bus has mapped every DPDK memory segment
 * list into the device (DMA_MAP with the memory's fd, IOVA as DPDK sees it),
 * and keeps doing so for memory allocated later. A driver therefore hands
 * rte_mem_virt2iova() / rte_mbuf_data_iova() addresses to its device, as it
 * would with a kernel VFIO device.
 *
 * Calls that exchange messages with the server must not be made from a
 * server callback of the same process (they would wait on the thread that
 * must answer them).
 *
 * With the devargs reconnect=MS (milliseconds), a server that goes away is
 * not a removal: the bus sets rte_vfio_user_bus_device::away, the library
 * retries the socket path, and when the same device is back (same device
 * info and region layout, same PCI identity) with its DMA windows, interrupt
 * eventfds and region mappings (at the same addresses) restored, the
 * driver's event callback gets RTE_VFIO_USER_BUS_EV_RESET to program the
 * device again. While away, the bus calls that exchange messages fail with
 * -ENODEV.
 *
 * This API is for drivers (internal to DPDK), not for applications. Its
 * names carry "vfio_user_bus" to keep them apart from the library's own
 * rte_vfio_user_ API.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <linux/vfio.h>

#include <rte_compat.h>
#include <rte_interrupts.h>
#include <rte_pci.h>
#include <dev_driver.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the bus, as used in device arguments: -a vfio_user:NAME,path=SOCKET. */
#define RTE_VFIO_USER_BUS_NAME "vfio_user"

/** One region (BAR, config space, ...) as the bus sees it. */
struct rte_vfio_user_bus_region {
	uint64_t size;		/**< Region size in bytes, 0 if absent. */
	uint32_t flags;		/**< VFIO_REGION_INFO_FLAG_* from GET_REGION_INFO. */
	/**
	 * Where the mappable part of the region is mapped in this process,
	 * NULL if nothing of it is mappable. Use rte_vfio_user_bus_dev_region_addr()
	 * to get a pointer for an offset: sparse regions map only some areas.
	 */
	void *addr;
};

struct rte_vfio_user_bus_driver;

/** A device on the vfio_user bus. */
struct rte_vfio_user_bus_device {
	RTE_TAILQ_ENTRY(rte_vfio_user_bus_device) next;	/**< Bus device list. */
	struct rte_device device;		/**< Generic device; device.name is NAME. */
	struct rte_vfio_user_bus_driver *driver;	/**< Driver bound, NULL if none. */
	char path[108];				/**< Server socket path (sun_path size). */
	int dev_id;				/**< librte_vfio_user client id, -1 if detached. */
	struct rte_pci_id id;			/**< Identity read from config space. */
	uint8_t revision;			/**< Revision id from config space. */
	uint32_t num_regions;			/**< From GET_DEVICE_INFO. */
	uint32_t num_irqs;			/**< From GET_DEVICE_INFO. */
	struct rte_vfio_user_bus_region regions[VFIO_PCI_NUM_REGIONS]; /**< By VFIO index. */
	/**
	 * MSI-X interrupts once rte_vfio_user_bus_dev_irq_enable() succeeded: a
	 * handle of type RTE_INTR_HANDLE_VFIO_MSIX whose fd is vector 0's
	 * eventfd and whose efds are the vectors' eventfds, usable with
	 * rte_intr_callback_register() and the Rx-interrupt style epoll API.
	 */
	struct rte_intr_handle *intr_handle;
	bool removed;				/**< The server went away for good. */
	/**
	 * The server went away and the bus waits for it to come back (devargs
	 * reconnect): the device must not be used. Cleared once the driver's
	 * event callback handled RTE_VFIO_USER_BUS_EV_RESET.
	 */
	bool away;
};

/** Convert a generic device into a vfio_user bus device. */
#define RTE_DEV_TO_VFIO_USER_BUS(dev) \
	container_of(dev, struct rte_vfio_user_bus_device, device)
/** Same, for a const generic device. */
#define RTE_DEV_TO_VFIO_USER_BUS_CONST(dev) \
	container_of(dev, const struct rte_vfio_user_bus_device, device)

/**
 * Probe a device: return 0 when the driver took it, a negative errno value
 * otherwise (the bus then tries no other driver and reports the error).
 */
typedef int (rte_vfio_user_bus_probe_t)(struct rte_vfio_user_bus_device *dev);
/** Release a device: return 0 or a negative errno value. */
typedef int (rte_vfio_user_bus_remove_t)(struct rte_vfio_user_bus_device *dev);

/** What happened to the server of a device probed with the devargs reconnect=MS. */
enum rte_vfio_user_bus_event {
	/** The server went away; dev->away is set, the device must not be used. */
	RTE_VFIO_USER_BUS_EV_LOST,
	/**
	 * The same device is back, reset: the driver programs it again (its
	 * memory and mappings are as before). dev->away is cleared when the
	 * callback returns.
	 */
	RTE_VFIO_USER_BUS_EV_RESET,
	/**
	 * The same device is back in the state it had when the application
	 * stopped it with rte_vfio_user_mig_save_for_restart() (a planned
	 * restart of the server): registers, queues and jobs in flight are
	 * where they were, nothing is to be programmed again. dev->away is
	 * cleared when the callback returns.
	 */
	RTE_VFIO_USER_BUS_EV_RESTORED,
};

/**
 * Connection event of a device, called on the EAL interrupt thread, in
 * order; not called after remove. May exchange messages with the server.
 * Return 0, or after a return (RTE_VFIO_USER_BUS_EV_RESET,
 * RTE_VFIO_USER_BUS_EV_RESTORED) a negative errno value when the device
 * cannot be used again: the bus then reports it removed, as when a server
 * goes away for good.
 */
typedef int (rte_vfio_user_bus_event_t)(struct rte_vfio_user_bus_device *dev,
		enum rte_vfio_user_bus_event event);

/** A driver for devices on the vfio_user bus. */
struct rte_vfio_user_bus_driver {
	RTE_TAILQ_ENTRY(rte_vfio_user_bus_driver) next;	/**< Bus driver list. */
	struct rte_driver driver;		/**< Generic driver. */
	const struct rte_pci_id *id_table;	/**< Ends with a vendor_id of 0. */
	rte_vfio_user_bus_probe_t *probe;	/**< Device probe. */
	rte_vfio_user_bus_remove_t *remove;	/**< Device remove. */
	rte_vfio_user_bus_event_t *event;	/**< Connection events, may be NULL. */
};

/**
 * Register a vfio_user driver (use RTE_PMD_REGISTER_VFIO_USER_BUS instead).
 *
 * @param drv
 *   The driver, which must stay valid until unregistered.
 */
__rte_internal
void
rte_vfio_user_bus_register_driver(struct rte_vfio_user_bus_driver *drv);

/**
 * Unregister a vfio_user driver.
 *
 * @param drv
 *   A driver given to rte_vfio_user_bus_register_driver().
 */
__rte_internal
void
rte_vfio_user_bus_unregister_driver(struct rte_vfio_user_bus_driver *drv);

/** Register a vfio_user driver at start-up under the name nm, with PMD info. */
#define RTE_PMD_REGISTER_VFIO_USER_BUS(nm, vu_drv) \
RTE_INIT(vfio_user_bus_drvinitfn_ ##nm) \
{ \
	(vu_drv).driver.name = RTE_STR(nm); \
	rte_vfio_user_bus_register_driver(&(vu_drv)); \
} \
RTE_PMD_EXPORT_NAME(nm, __COUNTER__)

/**
 * Read from a region with a REGION_READ message.
 *
 * @param dev
 *   The device.
 * @param index
 *   VFIO region index (VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, ...).
 * @param offset
 *   Offset in the region.
 * @param buf
 *   Destination.
 * @param len
 *   Bytes to read.
 * @return
 *   Bytes read (len) on success; -EINVAL for bad arguments, -ENODEV once the
 *   server is gone, or an errno value the server replied with.
 */
__rte_internal
ssize_t
rte_vfio_user_bus_dev_region_read(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, void *buf, size_t len);

/**
 * Write to a region with a REGION_WRITE message.
 *
 * @param dev
 *   The device.
 * @param index
 *   VFIO region index.
 * @param offset
 *   Offset in the region.
 * @param buf
 *   Source.
 * @param len
 *   Bytes to write.
 * @return
 *   Bytes written (len) on success; errors as rte_vfio_user_bus_dev_region_read().
 */
__rte_internal
ssize_t
rte_vfio_user_bus_dev_region_write(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, const void *buf, size_t len);

/**
 * Pointer into the process's mapping of a region.
 *
 * @param dev
 *   The device.
 * @param index
 *   VFIO region index.
 * @param offset
 *   Offset in the region.
 * @param len
 *   Bytes that must be reachable from the pointer.
 * @return
 *   The address of offset, or NULL with rte_errno set: EINVAL for a NULL
 *   device or an index of no VFIO PCI region, ENOENT when
 *   [offset, offset + len) is not wholly inside one mapped area; such an
 *   area is then reached with region read/write messages instead.
 */
__rte_internal
void *
rte_vfio_user_bus_dev_region_addr(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, size_t len);

/**
 * Set up MSI-X: create nb_vectors eventfds and hand them to the server
 * (SET_IRQS, ACTION_TRIGGER, DATA_EVENTFD); fill dev->intr_handle.
 *
 * @param dev
 *   The device.
 * @param nb_vectors
 *   Vectors wanted, 1 to the count the server reports for MSI-X.
 * @return
 *   0 on success; -EINVAL for a bad count or when already enabled, -ENOTSUP
 *   when the device has no MSI-X, -ENOMEM, -ENODEV once the server is gone,
 *   or the server's error.
 */
__rte_internal
int
rte_vfio_user_bus_dev_irq_enable(struct rte_vfio_user_bus_device *dev, uint32_t nb_vectors);

/**
 * Undo rte_vfio_user_bus_dev_irq_enable(): tell the server to drop the
 * eventfds (if it is still there) and close them.
 *
 * @param dev
 *   The device.
 * @return
 *   0 on success, -EINVAL if interrupts were not enabled.
 */
__rte_internal
int
rte_vfio_user_bus_dev_irq_disable(struct rte_vfio_user_bus_device *dev);

/**
 * Reset the device (DEVICE_RESET message).
 *
 * @param dev
 *   The device.
 * @return
 *   0 on success; -ENODEV once the server is gone, or the server's error.
 */
__rte_internal
int
rte_vfio_user_bus_dev_reset(struct rte_vfio_user_bus_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* _BUS_VFIO_USER_DRIVER_H_ */

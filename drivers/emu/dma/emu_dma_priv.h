/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _EMU_DMA_PRIV_H_
#define _EMU_DMA_PRIV_H_

/**
 * @file
 * Internal state of the emulated DMA engine (vdev "emu_dma").
 *
 * Threads: the vfio-user control thread runs the region callbacks and the
 * notify ops; a service core (or an app lcore) runs emu_dma_poll(). They
 * share the BAR0 page (also mapped by the client) and the channel state; the
 * poller holds dp_lock for a whole iteration and the control thread takes it
 * whenever it changes what the poller uses (DMA table, reset, disconnect).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/un.h>

#include <linux/vfio.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_spinlock.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "emu_dma_regs.h"

extern int emu_dma_logtype;

/** Log with the driver's dynamic log type. */
#define EMU_DMA_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, emu_dma_logtype, "emu_dma: " fmt "\n", ##__VA_ARGS__)

/** Largest ring accepted (MAX_RING_SIZE register). */
#define EMU_DMA_RING_MAX		65536
/** Largest transfer of one descriptor (MAX_XFER register): 1 MiB. */
#define EMU_DMA_XFER_MAX		(1u << 20)
/** Descriptors one channel may process in one polling iteration. */
#define EMU_DMA_BURST			64
/** Bytes after which a channel yields to the others within an iteration. */
#define EMU_DMA_BURST_BYTES		(4u << 20)
/** Channels when the devarg is absent. */
#define EMU_DMA_DEF_CHANNELS		4

/** Capability offsets in config space: MSI-X, then a vendor capability. */
#define EMU_DMA_CAP_MSIX		0x40
#define EMU_DMA_CAP_VNDR		0x50
#define EMU_DMA_CAP_VNDR_LEN		8

/** State of a channel as the engine sees it. */
enum emu_dma_chan_state {
	EMU_DMA_CHAN_IDLE,	/**< ENABLE clear. */
	EMU_DMA_CHAN_ACTIVE,	/**< Ring accepted, processing descriptors. */
	EMU_DMA_CHAN_FAILED,	/**< Ring refused or lost: waits for ENABLE to clear. */
};

/** One channel; only the poller touches it, except in a reset under dp_lock. */
struct emu_dma_chan {
	enum emu_dma_chan_state state;
	uint64_t ring_iova;		/**< Latched at ENABLE. */
	uint32_t ring_size;		/**< Latched at ENABLE (power of two). */
	struct emu_dma_desc *ring;	/**< Translation of ring_iova. */
	uint32_t ring_gen;		/**< DMA table generation of @c ring. */
	uint32_t head;			/**< Descriptors processed (mod 2^32). */
	uint64_t nb_done;		/**< Descriptors completed successfully. */
	uint64_t nb_err;		/**< Descriptors completed with an error. */
};

/** One emulated device. */
struct emu_dma_dev {
	TAILQ_ENTRY(emu_dma_dev) next;	/**< List of probed devices. */
	char name[64];			/**< vdev name. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /**< Socket path. */
	int dev_id;			/**< vfio-user server device id, -1 before register. */
	uint16_t nb_chan;		/**< Channels (and MSI-X vectors). */
	int service_lcore;		/**< Lcore the driver mapped its service to, or -1. */
	uint32_t service_id;		/**< rte_service id. */
	bool service_registered;	/**< service_id is valid. */
	bool lcore_ref;			/**< Counted as a user of service_lcore. */

	int bar0_fd;			/**< memfd behind BAR0, shared with the client. */
	volatile uint32_t *bar0;	/**< Mapping of bar0_fd (EMU_DMA_CTRL_BAR_SIZE). */
	struct rte_vfio_user_pci *pci;	/**< Config space, MSI-X table and PBA. */

	rte_spinlock_t dp_lock;		/**< Held by the poller for an iteration. */
	bool ctrl_locked;		/**< The control thread holds dp_lock (lock_dp). */
	bool connected;			/**< A client is attached (new_device seen). */
	bool stopping;			/**< Being removed: the poller does nothing. */
	bool mig_stopped;		/**< Migration state without DMA (STOP, STOP_COPY...). */
	uint8_t *mig_buf;		/**< Save or load stream of a migration, or NULL. */
	size_t mig_len;			/**< Size of @c mig_buf. */
	size_t mig_off;			/**< Bytes of it read (save) or written (load). */
	uint32_t mem_gen;		/**< Bumped whenever the DMA table may change. */
	uint32_t mt_gen;		/**< Generation of @c mt. */
	const struct rte_vfio_user_mem_table *mt; /**< DMA table, poller's view. */
	struct emu_dma_chan chan[EMU_DMA_MAX_CHANNELS];
};

/** Read a 32-bit BAR0 register. */
static inline uint32_t
emu_dma_reg_rd(const struct emu_dma_dev *dev, uint32_t off)
{
	return dev->bar0[off / 4];
}

/** Write a 32-bit BAR0 register (only when it differs: keeps the line shared). */
static inline void
emu_dma_reg_wr(struct emu_dma_dev *dev, uint32_t off, uint32_t v)
{
	if (dev->bar0[off / 4] != v)
		dev->bar0[off / 4] = v;
}

/** Take dp_lock unless lock_dp(1) already holds it; true when taken here. */
static inline bool
emu_dma_ctrl_lock(struct emu_dma_dev *dev)
{
	if (dev->ctrl_locked)
		return false;
	rte_spinlock_lock(&dev->dp_lock);
	return true;
}

/**
 * Put config space and MSI-X storage in their power-on state.
 *
 * @param dev
 *   The device.
 */
void emu_dma_pci_reset(struct emu_dma_dev *dev);

/**
 * Describe the PCI function to the helper, which describes it to the library.
 *
 * @param dev
 *   The device, registered (path set).
 * @return
 *   0 on success, a negative errno otherwise.
 */
int emu_dma_pci_describe(struct emu_dma_dev *dev);

/**
 * Put every engine register and channel in the power-on state. The caller
 * holds dp_lock (or the poller cannot run).
 *
 * @param dev
 *   The device.
 */
void emu_dma_engine_reset(struct emu_dma_dev *dev);

/**
 * Apply a 32-bit register write from a REGION_WRITE message: RW registers
 * take the value (masked to their defined bits), others ignore it.
 *
 * @param dev
 *   The device.
 * @param off
 *   4-byte aligned offset in BAR0.
 * @param v
 *   Value written.
 */
void emu_dma_reg_write(struct emu_dma_dev *dev, uint32_t off, uint32_t v);

/**
 * Rewrite the registers the engine owns (globals, channel STATUS and
 * COMPLETED) from its state, as its next polling iteration would. The caller
 * holds dp_lock.
 *
 * @param dev
 *   The device.
 */
void emu_dma_engine_sync_regs(struct emu_dma_dev *dev);

/**
 * Size of the migration stream of the device.
 *
 * @param dev
 *   The device.
 * @return
 *   Bytes, or 0 if the PCI helper cannot tell.
 */
size_t emu_dma_mig_stream_size(const struct emu_dma_dev *dev);

/**
 * Write the migration stream of a stopped device (dp_lock held).
 *
 * @param dev
 *   The device.
 * @param buf
 *   Destination of exactly emu_dma_mig_stream_size() bytes.
 * @param len
 *   Size of @p buf.
 * @return
 *   0, or -EINVAL for a wrong @p len, -EIO if the PCI helper failed.
 */
int emu_dma_mig_save_state(struct emu_dma_dev *dev, uint8_t *buf, size_t len);

/**
 * Check a migration stream against the device, then apply it (dp_lock held,
 * device stopped). Nothing changes when it is refused.
 *
 * @param dev
 *   The device.
 * @param buf
 *   The stream.
 * @param len
 *   Its size.
 * @return
 *   0, or -EINVAL when any field is wrong for this device.
 */
int emu_dma_mig_load_state(struct emu_dma_dev *dev, const uint8_t *buf, size_t len);

/**
 * Drop a save or load in progress and leave the migration STOP state (on
 * reset and on a client's arrival or departure). The caller holds dp_lock.
 *
 * @param dev
 *   The device.
 */
void emu_dma_mig_drop(struct emu_dma_dev *dev);

/**
 * Make the device migratable (library migration callbacks).
 *
 * @param dev
 *   The device, registered, not started.
 * @return
 *   0, or a negative errno from the library.
 */
int emu_dma_mig_register(struct emu_dma_dev *dev);

/**
 * Service callback: one polling iteration over every channel.
 *
 * @param arg
 *   The device.
 * @return
 *   0 when work was done, -EAGAIN when idle.
 */
int32_t emu_dma_poll(void *arg);

#endif /* _EMU_DMA_PRIV_H_ */

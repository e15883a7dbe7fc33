/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _EMU_VNET_PRIV_H_
#define _EMU_VNET_PRIV_H_

/**
 * @file
 * Internal state of the emulated virtio-net device (vdev "net_emu_virtio").
 *
 * Threads: the vfio-user control thread runs the BAR accesses (common
 * config, notify, ISR, device config), the control queue and the notify
 * ops; application lcores run the burst functions, one lcore per queue.
 * Each virtqueue has its own lock: a burst takes it with trylock (and
 * returns 0 when the control thread holds it); the control thread takes it
 * to change the queue, and takes every queue's lock around DMA table
 * changes (lock_dp), resets, disconnects, receive-filter changes and
 * migration stops (a stopped device's bursts return 0 at once).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/un.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "emu_vnet_vq.h"

extern int emu_vnet_logtype;

/** Log with the driver's dynamic log type. */
#define EMU_VNET_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, emu_vnet_logtype, "net_emu_virtio: " fmt "\n", \
		##__VA_ARGS__)

/** Queue pairs at most (queues= devarg). */
#define EMU_VNET_MAX_PAIRS		8
/** Virtqueues at most: receive and transmit per pair, then the control queue. */
#define EMU_VNET_MAX_VQS		(2 * EMU_VNET_MAX_PAIRS + 1)
/** Queue size offered (queue_size reset value); a guest may pick a smaller one. */
#define EMU_VNET_QUEUE_SIZE		256
/** Largest frame (without the virtio header) either way. */
#define EMU_VNET_MAX_FRAME		9216
/** Guest receive buffers (chains) one frame may take with VIRTIO_NET_F_MRG_RXBUF. */
#define EMU_VNET_MAX_BUFS		16
/** Entries of the guest's MAC filter table (VIRTIO_NET_CTRL_MAC_TABLE_SET). */
#define EMU_VNET_MAC_TABLE		32

/** ISR bit 0 (section 4.1.4.5); linux/virtio_pci.h only names bit 1. */
#define EMU_VNET_ISR_QUEUE		0x1

/** PCI identity: modern virtio-net (virtio 1.x section 4.1.2). */
#define EMU_VNET_VENDOR_ID		0x1af4
#define EMU_VNET_DEVICE_ID		0x1041
#define EMU_VNET_SUBSYS_ID		0x1100
#define EMU_VNET_REVISION		1
#define EMU_VNET_CLASS			0x020000

/** BAR0: the virtio structures, every access trapped (no mmap). */
#define EMU_VNET_BAR			0
#define EMU_VNET_BAR_SIZE		0x4000
#define EMU_VNET_COMMON_OFF		0x0000
#define EMU_VNET_COMMON_LEN		0x38
#define EMU_VNET_ISR_OFF		0x1000
#define EMU_VNET_ISR_LEN		1
#define EMU_VNET_DEVCFG_OFF		0x2000
#define EMU_VNET_DEVCFG_LEN		12	/* mac, status, max_virtqueue_pairs, mtu */
#define EMU_VNET_NOTIFY_OFF		0x3000
#define EMU_VNET_NOTIFY_MULT		4
/** BAR2: the MSI-X table and PBA, served by the PCI helper. */
#define EMU_VNET_MSIX_BAR		2
#define EMU_VNET_MSIX_BAR_SIZE		0x1000
#define EMU_VNET_MSIX_PBA_OFF		0x800

/** Features offered (see the guide for the choices). */
#define EMU_VNET_FEATURES ( \
	(UINT64_C(1) << VIRTIO_F_VERSION_1) | \
	(UINT64_C(1) << VIRTIO_F_RING_PACKED) | \
	(UINT64_C(1) << VIRTIO_NET_F_MAC) | \
	(UINT64_C(1) << VIRTIO_NET_F_STATUS) | \
	(UINT64_C(1) << VIRTIO_NET_F_MRG_RXBUF) | \
	(UINT64_C(1) << VIRTIO_NET_F_CTRL_VQ) | \
	(UINT64_C(1) << VIRTIO_NET_F_CTRL_RX) | \
	(UINT64_C(1) << VIRTIO_NET_F_MQ) | \
	(UINT64_C(1) << VIRTIO_NET_F_CTRL_MAC_ADDR))

/** The guest's receive filter, set through the control queue. */
struct emu_vnet_filter {
	bool promisc;
	bool allmulti;
	bool alluni;
	bool nomulti;
	bool nouni;
	bool nobcast;
	bool uni_overflow;		/**< Unicast table too long: accept every unicast. */
	bool multi_overflow;		/**< Multicast table too long: accept every multicast. */
	struct rte_ether_addr mac;	/**< The guest's own address. */
	uint32_t nr_uni;		/**< Unicast entries of @c table. */
	uint32_t nr_multi;		/**< Multicast entries, after the unicast ones. */
	struct rte_ether_addr table[EMU_VNET_MAC_TABLE];
};

/** Per-queue counters (updated by the queue's lcore only). */
struct emu_vnet_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t guest_errors;	/**< Bad chains given back empty (dropped). */
	uint64_t dropped;	/**< Frames dropped: filter, too long, no mbuf. */
};

struct emu_vnet_dev;

/** One virtqueue: a guest receive queue (our TX) or transmit queue (our RX). */
struct emu_vnet_queue {
	uint32_t lock;			/**< See the file comment and emu_vnet_q_lock(). */
	struct emu_vnet_dev *dev;
	uint16_t index;			/**< Virtqueue index. */
	/* Guest-programmed (common config), control thread under the lock. */
	uint16_t msix_vector;		/**< VIRTIO_MSI_NO_VECTOR for none. */
	bool enabled;			/**< queue_enable reads 1. */
	struct emu_vnet_vq vq;		/**< Size, ring addresses and ring state. */
	/* Data path. */
	bool ready;			/**< Rings mapped: bursts may use the queue. */
	bool wait_map;			/**< Migrated in, rings not mapped yet. */
	bool intr_on;			/**< Port Rx interrupt enabled: the guest kicks. */
	int kick_fd;			/**< Data queue: eventfd of its notify address, else -1. */
	uint32_t mem_gen;		/**< dev->mem_gen the rings were mapped at. */
	struct rte_mempool *mb_pool;	/**< Guest transmit queue: mbufs for rx_burst. */
	uint16_t port_id;
	struct emu_vnet_stats stats;
	/** tx_burst's chains of the frame being copied (too big for the stack). */
	struct emu_vnet_chain bufs[EMU_VNET_MAX_BUFS];
};

/** One emulated device, the private data of its ethdev port. */
struct emu_vnet_dev {
	TAILQ_ENTRY(emu_vnet_dev) next;
	char name[64];			/**< vdev name. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /**< Socket path. */
	int dev_id;			/**< vfio-user server device id, -1 before register. */
	struct rte_vfio_user_pci *pci;
	uint8_t pci_cfg_cap;		/**< Offset of the VIRTIO_PCI_CAP_PCI_CFG capability. */
	uint16_t port_id;
	uint16_t nr_pairs;		/**< Queue pairs offered (max_virtqueue_pairs). */
	uint16_t nr_vqs;		/**< 2 * nr_pairs + 1 (the control queue last). */
	struct rte_ether_addr mac;	/**< Address in device config. */

	/* Control thread. */
	bool connected;			/**< A client is attached. */
	bool ctrl_locked;		/**< lock_dp(1) holds every queue lock. */
	bool port_started;		/**< Device-config link status: the port runs. */
	uint32_t dev_feature_sel;
	uint32_t drv_feature_sel;
	uint64_t drv_features;		/**< As written by the driver. */
	uint16_t msix_config;
	uint16_t queue_sel;
	uint8_t status;			/**< Device status as last accepted. */
	uint8_t config_gen;
	bool link_up;			/**< ethdev link: the guest has DRIVER_OK. */

	/* Shared with the data path (written under every queue lock). */
	uint64_t features;		/**< Negotiated (valid once FEATURES_OK). */
	uint16_t active_pairs;		/**< Pairs the guest uses (MQ). */
	uint32_t mem_gen;		/**< Bumped whenever the DMA table may change. */
	const struct rte_vfio_user_mem_table *mt; /**< DMA table, NULL without client. */
	struct emu_vnet_filter filter;
	uint8_t isr;			/**< ISR bits, atomic. */
	bool needs_reset;		/**< DEVICE_NEEDS_RESET, atomic. */

	/* Migration (emu_vnet_mig.c). */
	bool mig_stopped;		/**< No ring access nor interrupt; set under every lock. */
	uint32_t irq_pending;		/**< MSI-X vectors held while stopped, atomic. */
	uint32_t irq_busy;		/**< emu_vnet_raise() calls in progress, atomic. */
	uint8_t *mig_buf;		/**< Save or load stream, or NULL. */
	size_t mig_len;			/**< Size of @c mig_buf. */
	size_t mig_off;			/**< Bytes of it read (save) or written (load). */

	/** ioeventfds offered on BAR0, one per data queue (see the guide). */
	struct rte_vfio_user_io_fd io_fds[2 * EMU_VNET_MAX_PAIRS];
	struct emu_vnet_queue q[EMU_VNET_MAX_VQS];
};

/*
 * The queue lock: a spinlock on C11 atomics rather than rte_spinlock_t,
 * whose x86 version is inline assembly that ThreadSanitizer cannot see.
 */
static inline bool
emu_vnet_q_trylock(struct emu_vnet_queue *q)
{
	return __atomic_exchange_n(&q->lock, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void
emu_vnet_q_lock(struct emu_vnet_queue *q)
{
	while (!emu_vnet_q_trylock(q))
		while (__atomic_load_n(&q->lock, __ATOMIC_RELAXED) != 0)
			rte_pause();
}

static inline void
emu_vnet_q_unlock(struct emu_vnet_queue *q)
{
	__atomic_store_n(&q->lock, 0, __ATOMIC_RELEASE);
}

/* emu_vnet_pci.c: the PCI function and the virtio transport (control thread). */

/** Describe the function to the PCI helper; 0 or a negative errno. */
int emu_vnet_pci_describe(struct emu_vnet_dev *dev);

/** Device reset (status 0, VFIO_USER_DEVICE_RESET, (dis)connection), under every queue lock. */
void emu_vnet_reset_locked(struct emu_vnet_dev *dev);

/** Take every queue lock unless lock_dp(1) holds them; true when taken here. */
bool emu_vnet_lock_all(struct emu_vnet_dev *dev);

/** Release what emu_vnet_lock_all() took. */
void emu_vnet_unlock_all(struct emu_vnet_dev *dev, bool taken);

/** Link status of device config changed (port started/stopped): tell the guest. */
void emu_vnet_config_changed(struct emu_vnet_dev *dev);

/** Whether FEATURES_OK may be kept for these driver features (a sane subset of the offer). */
bool emu_vnet_features_ok(uint64_t f);

/** A guest error: set DEVICE_NEEDS_RESET and tell the guest (any thread). */
void emu_vnet_needs_reset(struct emu_vnet_dev *dev, const char *why, uint16_t vq);

/** Interrupt the guest for virtqueue @p q (any thread). */
void emu_vnet_vq_irq(struct emu_vnet_queue *q);

/** Signal a data queue's kick eventfd, as the guest's ioeventfd would (any thread). */
void emu_vnet_kick(struct emu_vnet_queue *q);

/** Enable or disable guest kicks on a data queue (port Rx interrupt); takes q->lock. */
void emu_vnet_notify_set(struct emu_vnet_queue *q, bool on);

/**
 * Remap a ready queue's rings after a DMA table change; false if lost (or, for
 * a queue migrated in whose rings were never mapped here, until the client's
 * DMA maps arrive). Holds q->lock.
 */
bool emu_vnet_queue_remap(struct emu_vnet_queue *q);

/* emu_vnet_ctrl.c: the control queue (control thread). */

/** Process what the guest posted on the control queue. */
void emu_vnet_ctrl_kick(struct emu_vnet_dev *dev);

/** The guest's receive filter back to its reset state (promiscuous). Under every lock. */
void emu_vnet_filter_reset(struct emu_vnet_dev *dev);

/** Whether the guest's filter accepts a frame with this destination. */
bool emu_vnet_filter_accepts(const struct emu_vnet_filter *f, const struct rte_ether_addr *dst);

/* emu_vnet_rxtx.c: burst functions (lcores). */

uint16_t emu_vnet_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t emu_vnet_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts);

/* emu_vnet_mig.c: live migration (control thread). */

/** Make the device migratable (library migration callbacks); 0 or a negative errno. */
int emu_vnet_mig_register(struct emu_vnet_dev *dev);

/** Drop a save or load in progress and run again (reset, (dis)connection); under every lock. */
void emu_vnet_mig_drop(struct emu_vnet_dev *dev);

/** Raise the interrupts held while the device was stopped (after emu_vnet_mig_drop()). */
void emu_vnet_mig_irq_flush(struct emu_vnet_dev *dev);

/* emu_vnet_ethdev.c. */

/** The ethdev link follows the guest's DRIVER_OK (control thread). */
void emu_vnet_link_set(struct emu_vnet_dev *dev, bool up);

#endif /* _EMU_VNET_PRIV_H_ */

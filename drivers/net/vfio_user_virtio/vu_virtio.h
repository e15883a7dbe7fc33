/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VU_VIRTIO_H_
#define _VU_VIRTIO_H_

/*
 * net_vfio_user_virtio: private definitions shared by the transport
 * (vu_virtio_pci.c), the data path (vu_virtio_rxtx.c) and the ethdev ops
 * (vu_virtio_ethdev.c). Layouts follow the virtio 1.x specification
 * (modern PCI transport, split virtqueues, virtio-net device).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_spinlock.h>
#include <rte_vfio_user.h>

#include <bus_vfio_user_driver.h>

extern int vu_virtio_logtype;
#define VUV_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vu_virtio_logtype, "%s(): " fmt "\n", __func__, ##__VA_ARGS__)

/* PCI identity of a modern (1.x only) virtio-net device. */
#define VUV_PCI_VENDOR_VIRTIO		0x1af4
#define VUV_PCI_DEVICE_NET_MODERN	0x1041

/* Vendor-specific capability (struct virtio_pci_cap) and its cfg_type values. */
#define VUV_PCI_CAP_ID_VNDR		0x09
#define VUV_CAP_COMMON_CFG		1
#define VUV_CAP_NOTIFY_CFG		2
#define VUV_CAP_ISR_CFG			3
#define VUV_CAP_DEVICE_CFG		4
#define VUV_CAP_OFF_TYPE		3	/* cfg_type */
#define VUV_CAP_OFF_BAR			4
#define VUV_CAP_OFF_OFFSET		8
#define VUV_CAP_OFF_LENGTH		12
#define VUV_CAP_OFF_NOTIFY_MULT		16	/* notify cap only */
#define VUV_CAP_MIN_LEN			16
#define VUV_NOTIFY_CAP_MIN_LEN		20

/* struct virtio_pci_common_cfg offsets. */
#define VUV_COMMON_DFSELECT		0
#define VUV_COMMON_DF			4
#define VUV_COMMON_GFSELECT		8
#define VUV_COMMON_GF			12
#define VUV_COMMON_MSIX			16
#define VUV_COMMON_NUMQ			18
#define VUV_COMMON_STATUS		20
#define VUV_COMMON_CFGGEN		21
#define VUV_COMMON_Q_SELECT		22
#define VUV_COMMON_Q_SIZE		24
#define VUV_COMMON_Q_MSIX		26
#define VUV_COMMON_Q_ENABLE		28
#define VUV_COMMON_Q_NOFF		30
#define VUV_COMMON_Q_DESCLO		32
#define VUV_COMMON_Q_DESCHI		36
#define VUV_COMMON_Q_AVAILLO		40
#define VUV_COMMON_Q_AVAILHI		44
#define VUV_COMMON_Q_USEDLO		48
#define VUV_COMMON_Q_USEDHI		52
#define VUV_COMMON_CFG_LEN		56
#define VUV_MSI_NO_VECTOR		0xffff

/* Device status bits. */
#define VUV_STATUS_ACK			1
#define VUV_STATUS_DRIVER		2
#define VUV_STATUS_DRIVER_OK		4
#define VUV_STATUS_FEATURES_OK		8
#define VUV_STATUS_NEEDS_RESET		64
#define VUV_STATUS_FAILED		128

/* ISR status bits. */
#define VUV_ISR_QUEUE			1
#define VUV_ISR_CONFIG			2

/* Feature bits. */
#define VUV_NET_F_MAC			5
#define VUV_NET_F_MRG_RXBUF		15
#define VUV_NET_F_STATUS		16
#define VUV_NET_F_CTRL_VQ		17
#define VUV_NET_F_CTRL_RX		18
#define VUV_NET_F_MQ			22
#define VUV_F_RING_EVENT_IDX		29
#define VUV_F_VERSION_1			32
#define VUV_BIT(b)			(UINT64_C(1) << (b))

/* What the driver can use; VERSION_1 is also required of the device. */
#define VUV_DRIVER_FEATURES (VUV_BIT(VUV_F_VERSION_1) | VUV_BIT(VUV_NET_F_MAC) | \
	VUV_BIT(VUV_NET_F_STATUS) | VUV_BIT(VUV_NET_F_MRG_RXBUF) | \
	VUV_BIT(VUV_NET_F_CTRL_VQ) | VUV_BIT(VUV_NET_F_CTRL_RX) | \
	VUV_BIT(VUV_NET_F_MQ) | VUV_BIT(VUV_F_RING_EVENT_IDX))

/* struct virtio_net_config offsets; status bits. */
#define VUV_NETCFG_MAC			0
#define VUV_NETCFG_STATUS		6
#define VUV_NETCFG_MAX_PAIRS		8
#define VUV_NET_S_LINK_UP		1

/* Control queue classes, commands and acks. */
#define VUV_CTRL_RX			0
#define VUV_CTRL_RX_PROMISC		0
#define VUV_CTRL_RX_ALLMULTI		1
#define VUV_CTRL_MQ			4
#define VUV_CTRL_MQ_VQ_PAIRS_SET	0
#define VUV_CTRL_OK			0
#define VUV_MQ_PAIRS_MAX		0x8000

/* Queue pairs this driver handles at most. */
#define VUV_MAX_PAIRS			16

/* Split virtqueue layout. */
struct vuv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VUV_DESC_F_NEXT			1
#define VUV_DESC_F_WRITE		2
#define VUV_AVAIL_F_NO_INTERRUPT	1
#define VUV_USED_F_NO_NOTIFY		1

struct vuv_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];	/* then used_event */
};

struct vuv_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vuv_used {
	uint16_t flags;
	uint16_t idx;
	struct vuv_used_elem ring[];	/* then avail_event */
};

/* struct virtio_net_hdr_v1: with VERSION_1, num_buffers is always there. */
struct vuv_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Where a capability's structure lives. */
struct vuv_region {
	uint32_t bar;		/* VFIO region index */
	uint64_t offset;
	uint32_t length;
	volatile uint8_t *addr;	/* mapped, or NULL: region messages */
};

struct vuv_hw;

enum vuv_queue_kind { VUV_RXQ, VUV_TXQ, VUV_CTRLQ };

struct vuv_rxq_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;	/* malformed used entries, dropped */
	uint64_t nombuf;	/* refill failures */
	uint64_t multi_buf;	/* packets that came in more than one buffer */
	uint64_t kicks;
};

struct vuv_txq_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t full;		/* packets refused for lack of descriptors */
	uint64_t kicks;
};

/* One split virtqueue. Hot fields first. */
struct vuv_queue {
	struct vuv_desc *desc;
	struct vuv_avail *avail;
	struct vuv_used *used;
	uint16_t *used_event;	/* in avail, after the ring */
	uint16_t *avail_event;	/* in used, after the ring */
	void **cookies;		/* per descriptor head: mbuf (or chain) */
	uint16_t *chain_len;	/* per descriptor head: descriptors in the chain */
	uint16_t size;
	uint16_t mask;
	uint16_t avail_idx;	/* next avail slot (free running) */
	uint16_t used_idx;	/* next used entry to read (free running) */
	uint16_t kicked_idx;	/* avail_idx at the last notification decision */
	uint16_t free_head;
	uint16_t num_free;
	bool event_idx;
	bool mrg_rxbuf;		/* Rx: frames may span buffers */
	volatile uint16_t *notify;	/* mapped notify address, or NULL */
	int kick_fd;		/* the device's ioeventfd for this queue, or -1 */
	const volatile bool *removed;
	struct vuv_hw *hw;
	struct rte_mempool *mp;	/* Rx */
	struct vuv_net_hdr *tx_hdrs;	/* Tx: one header per descriptor head */
	rte_iova_t tx_hdrs_iova;
	uint16_t index;		/* virtqueue number */
	uint16_t queue_id;	/* ethdev queue id */
	uint16_t port_id;
	uint16_t hdr_size;
	enum vuv_queue_kind kind;
	union {
		struct vuv_rxq_stats rx;
		struct vuv_txq_stats tx;
	} st;
	const struct rte_memzone *mz;
	rte_iova_t desc_iova, avail_iova, used_iova;
	uint64_t notify_off;	/* offset in the notify region */
} __rte_cache_aligned;

/* dev_private of the ethdev. */
struct vuv_hw {
	struct rte_vfio_user_bus_device *vdev;
	struct rte_eth_dev *eth_dev;
	struct vuv_region common, notify, isr, device;
	uint32_t notify_mult;
	/* ioeventfds of the notify region (GET_REGION_IO_FDS), taken at start. */
	struct rte_vfio_user_io_fd io_fds[2 * VUV_MAX_PAIRS + 1];
	uint32_t nr_io_fds;
	uint64_t host_features;
	uint64_t features;	/* negotiated */
	uint16_t dev_pairs;	/* the device's max_virtqueue_pairs (1 without MQ) */
	uint16_t max_pairs;	/* dev_pairs capped to VUV_MAX_PAIRS */
	uint16_t num_queues;	/* common cfg num_queues */
	uint16_t nb_pairs;	/* configured */
	uint16_t hdr_size;
	bool started;
	bool intr_enabled;	/* MSI-X vector 0 for config changes */
	bool promisc, allmulti;
	struct rte_ether_addr mac;
	struct vuv_queue *ctrlq;
	rte_spinlock_t ctrl_lock;
	void *ctrl_buf;		/* DMA memory for control commands */
	rte_iova_t ctrl_buf_iova;
	const struct rte_memzone *ctrl_mz;
};

static inline bool
vuv_has(const struct vuv_hw *hw, unsigned int bit)
{
	return (hw->features & VUV_BIT(bit)) != 0;
}

static inline bool
vuv_removed(const struct vuv_hw *hw)
{
	return __atomic_load_n(&hw->vdev->removed, __ATOMIC_RELAXED);
}

/* vu_virtio_pci.c: modern PCI transport. */
int vuv_pci_init(struct vuv_hw *hw);
int vuv_cfg_read(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, void *buf,
		uint32_t len);
int vuv_cfg_write(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off,
		const void *buf, uint32_t len);
uint8_t vuv_get_status(struct vuv_hw *hw);
int vuv_set_status(struct vuv_hw *hw, uint8_t status);
int vuv_reset(struct vuv_hw *hw);
int vuv_negotiate(struct vuv_hw *hw);
int vuv_read_dev_cfg(struct vuv_hw *hw, uint32_t off, void *buf, uint32_t len);
int vuv_queue_max_size(struct vuv_hw *hw, uint16_t index, uint16_t *size);
int vuv_queue_program(struct vuv_hw *hw, struct vuv_queue *vq);
void vuv_notify_slow(struct vuv_queue *vq);
void vuv_io_fds_get(struct vuv_hw *hw);
void vuv_io_fds_put(struct vuv_hw *hw);
uint8_t vuv_read_isr(struct vuv_hw *hw);
int vuv_set_config_vector(struct vuv_hw *hw, uint16_t vector);

/* vu_virtio_rxtx.c: virtqueues and bursts. */
struct vuv_queue *vuv_queue_alloc(struct vuv_hw *hw, enum vuv_queue_kind kind,
		uint16_t index, uint16_t queue_id, uint16_t size, int socket);
void vuv_queue_free(struct vuv_queue *vq);
void vuv_queue_reset(struct vuv_queue *vq);
void vuv_queue_drain(struct vuv_queue *vq);
int vuv_rxq_fill(struct vuv_queue *vq);
void vuv_kick(struct vuv_queue *vq);
int vuv_ctrl_send(struct vuv_hw *hw, uint8_t cls, uint8_t cmd, const void *data,
		uint32_t len);
uint16_t vuv_recv_pkts(void *rxq, struct rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t vuv_xmit_pkts(void *txq, struct rte_mbuf **pkts, uint16_t nb_pkts);

#endif /* _VU_VIRTIO_H_ */

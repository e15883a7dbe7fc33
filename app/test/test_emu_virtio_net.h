/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _TEST_EMU_VIRTIO_NET_H_
#define _TEST_EMU_VIRTIO_NET_H_

/*
 * The fake guest of emu_virtio_net_autotest: a virtio-net driver written
 * with the raw librte_vfio_user client API (test_emu_virtio_net_guest.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define PAIRS 2
#define NR_VQS (2 * PAIRS + 1)
#define CTRL_VQ (NR_VQS - 1)
#define QSIZE 64
#define MEM_SIZE (4u << 20)
#define IOVA_BASE UINT64_C(0x10000000)
#define RING_OFF(q) ((uint64_t)(q) * 0x4000)
#define BUF_OFF(q) (0x100000 + (uint64_t)(q) * 0x40000)
#define BUF_SIZE 0x800
#define HDR_LEN 12
#define GUEST_MAC "02:00:00:00:00:01"

#define F(b) (UINT64_C(1) << (b))
#define ALL_FEATURES (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | \
	F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | \
	F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_MAC_ADDR))
/* What the device offers: the above (split rings), and packed rings. */
#define OFFERED_FEATURES (ALL_FEATURES | F(VIRTIO_F_RING_PACKED))

/* One virtqueue as the guest driver sees it. */
struct gvq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t next_desc;	/* free-running descriptor position */
	uint16_t avail_idx;
	uint16_t last_used;	/* split: used index; packed: descriptor position */
	bool packed;
	struct vring_packed_desc *pdesc; /* packed: the ring (desc's place) */
	uint16_t head_flags;
	uint16_t chain_len[QSIZE];	/* by buffer id (the head slot) */
	uint64_t id_addr[QSIZE];	/* first buffer of each id */
};

/* The fake guest. */
struct vnet_guest {
	int cid;
	int memfd;
	uint8_t *mem;
	int efd[NR_VQS + 1];	/* MSI-X: config vector 0, virtqueue q on q + 1 */
	uint32_t common, isr, devcfg, notify, notify_mult; /* BAR0 offsets from the caps */
	uint8_t pci_cfg;	/* config-space offset of the PCI_CFG access window */
	bool packed;		/* VIRTIO_F_RING_PACKED negotiated */
	struct gvq vq[NR_VQS];
};

extern struct vnet_guest vg;

/* Common configuration fields by name. */
#define CC(field) (vg.common + offsetof(struct virtio_pci_common_cfg, field))
#define CC_RD(field) vg_bar_rd(CC(field), sizeof(((struct virtio_pci_common_cfg *)0)->field))
#define CC_WR(field, v) vg_bar_wr(CC(field), (v), \
	sizeof(((struct virtio_pci_common_cfg *)0)->field))

uint64_t vg_iova(const void *p);
/* BAR0 accesses (every one is a message). */
uint32_t vg_bar_rd(uint32_t off, size_t len);
int vg_bar_wr(uint32_t off, uint32_t v, size_t len);
uint8_t vg_status(void);
/* Walk the capability list like a driver and note where each structure is. */
int vg_find_caps(void);
int guest_attach(const char *path);
void guest_detach(void);
/* Detach, then free the guest memory and eventfds guest_attach() made. */
void guest_free(void);
/* Reset, then negotiate @features; returns the status read back after FEATURES_OK. */
uint8_t guest_negotiate(uint64_t features);
/* Program and enable virtqueue q with rings at @ring_iova (its usual place if 0). */
uint16_t guest_queue_setup(uint16_t q, uint64_t ring_iova);
/* Negotiate, set up @nr_vqs queues (the control queue too if CTRL_VQ), DRIVER_OK. */
int guest_init(uint64_t features, uint16_t nr_vqs);
/* Post a chain of @n buffers (device-writable from index @first_wr on); returns its head. */
uint16_t gvq_post(uint16_t q, const uint64_t *iova, const uint32_t *len, unsigned int n,
		unsigned int first_wr);
/* Next used entry of q: 0, or -1 when there is none. */
int gvq_used(uint16_t q, uint32_t *id, uint32_t *len);
uint8_t *vg_buf(uint16_t q, unsigned int i);
/* A frame: destination, then a pattern from @seed. */
void vg_make_frame(uint8_t *p, uint32_t len, const char *dst, uint32_t seed);
/* Guest transmit on pair @pair: header + frame split over @nseg descriptors. */
void guest_send(uint16_t pair, unsigned int slot, uint32_t frame_len, uint32_t seed,
		unsigned int nseg);
/* Guest posts @n single-descriptor receive buffers of @size on pair @pair. */
void guest_post_rx(uint16_t pair, unsigned int n, uint32_t size);
/* Send a control command (class, cmd, data) and return the ack, or -1. */
int guest_ctrl(uint8_t cls, uint8_t cmd, const void *data, uint32_t len);
/* Program the PCI_CFG window; 0 or -1. */
int vg_cfg_window(uint8_t bar, uint32_t off, uint32_t len);
uint32_t vg_cfg_window_data(void);
/* The next used entry of the guest receive queue q, checked against a frame. */
int guest_expect(uint16_t q, uint32_t flen, const char *dst, uint32_t seed, uint32_t bufsize);
uint16_t vg_devcfg_status(void);

#endif /* _TEST_EMU_VIRTIO_NET_H_ */

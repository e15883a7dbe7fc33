/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The fake guest of emu_virtio_net_autotest: what a virtio-net driver does
 * to the device, with the raw client API. Its memory is a memfd mapped for
 * DMA at IOVA_BASE; the virtio structures are found through the
 * capabilities in config space and reached by BAR0 messages; the
 * virtqueues are built here, one free-running descriptor index per queue.
 */

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_emu_virtio_net.h"
#include "test_vfio_user_common.h"

struct vnet_guest vg = { .cid = -1, .memfd = -1 };

uint64_t
vg_iova(const void *p)
{
	return IOVA_BASE + (uint64_t)((const uint8_t *)p - vg.mem);
}

/* BAR0 accesses (every one is a message). */
uint32_t
vg_bar_rd(uint32_t off, size_t len)
{
	uint32_t v = 0;

	if (rte_vfio_user_region_read(vg.cid, VFIO_PCI_BAR0_REGION_INDEX, off, &v, len) !=
			(ssize_t)len)
		return UINT32_MAX;
	return v;
}

int
vg_bar_wr(uint32_t off, uint32_t v, size_t len)
{
	return rte_vfio_user_region_write(vg.cid, VFIO_PCI_BAR0_REGION_INDEX, off, &v, len) ==
		(ssize_t)len ? 0 : -1;
}

uint8_t
vg_status(void)
{
	return (uint8_t)CC_RD(device_status);
}

/* Walk the capability list like a driver and note where each structure is. */
int
vg_find_caps(void)
{
	uint8_t cfg[256];
	unsigned int found = 0, hops = 0;
	uint8_t p;

	TEST_ASSERT(rte_vfio_user_region_read(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
		sizeof(cfg)) == sizeof(cfg), "config space read");
	for (p = cfg[PCI_CAPABILITY_LIST]; p != 0 && hops < 48; p = cfg[p + 1], hops++) {
		const struct virtio_pci_cap *c = (const void *)&cfg[p];

		if (c->cap_vndr != PCI_CAP_ID_VNDR)
			continue;
		TEST_ASSERT_EQUAL(c->bar, 0, "virtio structures in BAR0");
		switch (c->cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			vg.common = c->offset;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			vg.notify = c->offset;
			memcpy(&vg.notify_mult, &cfg[p + VIRTIO_PCI_NOTIFY_CAP_MULT], 4);
			TEST_ASSERT(c->cap_len >= sizeof(struct virtio_pci_notify_cap),
				"notify cap length");
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			vg.isr = c->offset;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			vg.devcfg = c->offset;
			TEST_ASSERT(c->length >= 10, "device config holds max_virtqueue_pairs");
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			vg.pci_cfg = p;
			TEST_ASSERT(c->cap_len >= sizeof(struct virtio_pci_cfg_cap),
				"PCI_CFG cap length");
			break;
		default:
			continue;
		}
		found |= 1u << c->cfg_type;
	}
	TEST_ASSERT_EQUAL(found, (1u << VIRTIO_PCI_CAP_COMMON_CFG) |
		(1u << VIRTIO_PCI_CAP_NOTIFY_CFG) | (1u << VIRTIO_PCI_CAP_ISR_CFG) |
		(1u << VIRTIO_PCI_CAP_DEVICE_CFG) | (1u << VIRTIO_PCI_CAP_PCI_CFG),
		"virtio capabilities found: 0x%x", found);
	return TEST_SUCCESS;
}

int
guest_attach(const char *path)
{
	char buf[sizeof(struct vfio_irq_set) + (NR_VQS + 1) * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	struct rte_vfio_user_mem_reg mr;
	unsigned int i;

	vg.cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(vg.cid >= 0, "attach %s: %d", path, vg.cid);
	if (vg.memfd < 0) {
		vg.memfd = memfd_create("vnet_guest", MFD_CLOEXEC);
		TEST_ASSERT(vg.memfd >= 0, "memfd");
		TEST_ASSERT_SUCCESS(ftruncate(vg.memfd, MEM_SIZE), "ftruncate");
		vg.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vg.memfd, 0);
		TEST_ASSERT(vg.mem != MAP_FAILED, "mmap");
		TEST_ASSERT_SUCCESS(open_eventfds(vg.efd, NR_VQS + 1), "eventfds");
	}
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = vg.mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(vg.cid, &mr, &vg.memfd, 1), "dma_map");
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->count = NR_VQS + 1;
	for (i = 0; i <= NR_VQS; i++)
		memcpy(set->data + i * sizeof(int), &vg.efd[i], sizeof(int));
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_irqs(vg.cid, set), "MSI-X eventfds");
	return vg_find_caps();
}

void
guest_detach(void)
{
	if (vg.cid >= 0)
		rte_vfio_user_detach_dev(vg.cid);
	vg.cid = -1;
}

void
guest_free(void)
{
	guest_detach();
	if (vg.mem != NULL && vg.mem != MAP_FAILED)
		munmap(vg.mem, MEM_SIZE);
	vg.mem = NULL;
	if (vg.memfd >= 0)
		close(vg.memfd);
	vg.memfd = -1;
	close_fds(vg.efd, NR_VQS + 1);
}

/* Reset, then negotiate @features; returns the status read back after FEATURES_OK. */
uint8_t
guest_negotiate(uint64_t features)
{
	vg.packed = (features & F(VIRTIO_F_RING_PACKED)) != 0;
	CC_WR(device_status, 0);
	CC_WR(device_status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	CC_WR(guest_feature_select, 0);
	CC_WR(guest_feature, (uint32_t)features);
	CC_WR(guest_feature_select, 1);
	CC_WR(guest_feature, (uint32_t)(features >> 32));
	CC_WR(device_status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK);
	return vg_status();
}

/* Program and enable virtqueue q with rings at @ring_iova (its usual place if 0). */
uint16_t
guest_queue_setup(uint16_t q, uint64_t ring_iova)
{
	uint8_t *ring = vg.mem + RING_OFF(q);
	struct gvq *v = &vg.vq[q];

	if (ring_iova == 0)
		ring_iova = vg_iova(ring);
	memset(ring, 0, 0x4000);
	memset(v, 0, sizeof(*v));
	v->desc = (void *)ring;
	v->avail = (void *)(ring + 0x1000);
	v->used = (void *)(ring + 0x2000);
	/* Packed: the ring, then the driver and device event areas, at the same places. */
	v->packed = vg.packed;
	v->pdesc = (void *)ring;
	CC_WR(queue_select, q);
	CC_WR(queue_size, QSIZE);
	CC_WR(queue_msix_vector, q + 1);
	CC_WR(queue_desc_lo, (uint32_t)ring_iova);
	CC_WR(queue_desc_hi, (uint32_t)(ring_iova >> 32));
	CC_WR(queue_avail_lo, (uint32_t)(ring_iova + 0x1000));
	CC_WR(queue_avail_hi, (uint32_t)((ring_iova + 0x1000) >> 32));
	CC_WR(queue_used_lo, (uint32_t)(ring_iova + 0x2000));
	CC_WR(queue_used_hi, (uint32_t)((ring_iova + 0x2000) >> 32));
	CC_WR(queue_enable, 1);
	return (uint16_t)CC_RD(queue_enable);
}

/* Negotiate, set up @nr_vqs queues (the control queue too if CTRL_VQ), DRIVER_OK. */
int
guest_init(uint64_t features, uint16_t nr_vqs)
{
	uint16_t q;
	uint8_t st;

	st = guest_negotiate(features);
	TEST_ASSERT(st & VIRTIO_CONFIG_S_FEATURES_OK, "features refused (status 0x%x)", st);
	CC_WR(msix_config, 0);
	for (q = 0; q < nr_vqs; q++)
		TEST_ASSERT_EQUAL(guest_queue_setup(q, 0), 1, "queue %u enabled", q);
	if (features & F(VIRTIO_NET_F_CTRL_VQ))
		TEST_ASSERT_EQUAL(guest_queue_setup(CTRL_VQ, 0), 1, "control queue enabled");
	CC_WR(device_status, st | VIRTIO_CONFIG_S_DRIVER_OK);
	TEST_ASSERT_EQUAL(vg_status(), st | VIRTIO_CONFIG_S_DRIVER_OK, "DRIVER_OK kept");
	return TEST_SUCCESS;
}

/* The driver's wrap counter at free-running descriptor position @pos (packed). */
static bool
packed_wrap(uint16_t pos)
{
	return ((pos / QSIZE) & 1) == 0;
}

static uint16_t
packed_flags(uint16_t pos)
{
	return packed_wrap(pos) ? 1u << VRING_PACKED_DESC_F_AVAIL :
		1u << VRING_PACKED_DESC_F_USED;
}

/* Post a chain of @n buffers (device-writable from index @first_wr on); returns its id. */
uint16_t
gvq_post(uint16_t q, const uint64_t *iova, const uint32_t *len, unsigned int n,
		unsigned int first_wr)
{
	struct gvq *v = &vg.vq[q];
	uint16_t head = v->next_desc % QSIZE, d, f;
	unsigned int i;

	v->id_addr[head] = iova[0];
	v->chain_len[head] = n;
	for (i = 0; i < n; i++) {
		d = (head + i) % QSIZE;
		f = (i + 1 < n ? VRING_DESC_F_NEXT : 0) | (i >= first_wr ? VRING_DESC_F_WRITE : 0);
		if (v->packed) {
			struct vring_packed_desc *pd = &v->pdesc[d];

			pd->addr = iova[i];
			pd->len = len[i];
			pd->id = head;
			f |= packed_flags(v->next_desc + i);
			/* The head's flags last: they make the whole chain available. */
			if (i != 0)
				pd->flags = f;
			else
				v->head_flags = f;
			continue;
		}
		v->desc[d].addr = iova[i];
		v->desc[d].len = len[i];
		v->desc[d].flags = f;
		v->desc[d].next = (d + 1) % QSIZE;
	}
	v->next_desc += n;
	if (v->packed) {
		__atomic_store_n(&v->pdesc[head].flags, v->head_flags, __ATOMIC_RELEASE);
		return head;
	}
	v->avail->ring[v->avail_idx % QSIZE] = head;
	v->avail_idx++;
	__atomic_store_n(&v->avail->idx, v->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* Next used entry of q: 0, or -1 when there is none. */
int
gvq_used(uint16_t q, uint32_t *id, uint32_t *len)
{
	struct gvq *v = &vg.vq[q];
	struct vring_used_elem *e;

	if (v->packed) {
		struct vring_packed_desc *pd = &v->pdesc[v->last_used % QSIZE];
		uint16_t f = __atomic_load_n(&pd->flags, __ATOMIC_ACQUIRE);
		bool w = packed_wrap(v->last_used);
		bool a = (f & (1u << VRING_PACKED_DESC_F_AVAIL)) != 0;
		bool u = (f & (1u << VRING_PACKED_DESC_F_USED)) != 0;

		if (a != w || u != w)
			return -1;
		*id = pd->id;
		*len = pd->len;
		v->last_used += v->chain_len[pd->id % QSIZE];
		return 0;
	}
	if (__atomic_load_n(&v->used->idx, __ATOMIC_ACQUIRE) == v->last_used)
		return -1;
	e = &v->used->ring[v->last_used % QSIZE];
	*id = e->id;
	*len = e->len;
	v->last_used++;
	return 0;
}

uint8_t *
vg_buf(uint16_t q, unsigned int i)
{
	return vg.mem + BUF_OFF(q) + (uint64_t)(i % 128) * BUF_SIZE;
}

/* A frame: destination, then a pattern from @seed. */
void
vg_make_frame(uint8_t *p, uint32_t len, const char *dst, uint32_t seed)
{
	struct rte_ether_addr a;

	tdev_fill(p, len, seed);
	rte_ether_unformat_addr(dst, &a);
	memcpy(p, &a, RTE_ETHER_ADDR_LEN);
}

/* Guest transmit on pair @pair: header + frame split over @nseg descriptors. */
void
guest_send(uint16_t pair, unsigned int slot, uint32_t frame_len, uint32_t seed,
		unsigned int nseg)
{
	uint16_t q = 2 * pair + 1;
	uint8_t *p = vg_buf(q, slot);
	uint64_t iova[4];
	uint32_t len[4], total = HDR_LEN + frame_len, off = 0;
	unsigned int i;

	memset(p, 0, HDR_LEN);
	vg_make_frame(p + HDR_LEN, frame_len, "ff:ff:ff:ff:ff:ff", seed);
	for (i = 0; i < nseg; i++) {
		iova[i] = vg_iova(p + off);
		len[i] = i + 1 < nseg ? total / nseg : total - off;
		off += len[i];
	}
	gvq_post(q, iova, len, nseg, nseg);
}

/* Guest posts @n single-descriptor receive buffers of @size on pair @pair. */
void
guest_post_rx(uint16_t pair, unsigned int n, uint32_t size)
{
	uint16_t q = 2 * pair;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t iova = vg_iova(vg_buf(q, vg.vq[q].next_desc));

		gvq_post(q, &iova, &size, 1, 0);
	}
}

/* Send a control command (class, cmd, data) and return the ack, or -1. */
int
guest_ctrl(uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t *p = vg_buf(CTRL_VQ, vg.vq[CTRL_VQ].next_desc);
	uint64_t iova[3] = { vg_iova(p), vg_iova(p + 2), vg_iova(p + 512) };
	uint32_t lens[3] = { 2, len, 1 };
	uint32_t id, used_len;

	p[0] = cls;
	p[1] = cmd;
	memcpy(p + 2, data, len);
	p[512] = 0xaa;
	gvq_post(CTRL_VQ, iova, lens, 3, 2);
	/* The kick is a trapped write: the command is done when it returns. */
	vg_bar_wr(vg.notify + CTRL_VQ * vg.notify_mult, CTRL_VQ, 2);
	if (gvq_used(CTRL_VQ, &id, &used_len) < 0 || used_len != 1)
		return -1;
	return p[512];
}

/* Program the PCI_CFG window; 0 or -1. */
int
vg_cfg_window(uint8_t bar, uint32_t off, uint32_t len)
{
	uint32_t base = vg.pci_cfg;

	if (rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, base + 4, &bar,
			1) != 1 ||
			rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, base + 8,
			&off, 4) != 4 ||
			rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, base + 12,
			&len, 4) != 4)
		return -1;
	return 0;
}

uint32_t
vg_cfg_window_data(void)
{
	uint32_t v = UINT32_MAX;

	rte_vfio_user_region_read(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, vg.pci_cfg + 16, &v, 4);
	return v;
}

/* The next used entry of the guest receive queue q, checked against a frame. */
int
guest_expect(uint16_t q, uint32_t flen, const char *dst, uint32_t seed, uint32_t bufsize)
{
	uint8_t want[4096], got[4096 + HDR_LEN];
	uint32_t id, len, done = 0, nbufs = 1, b;
	struct virtio_net_hdr_mrg_rxbuf hdr;

	vg_make_frame(want, flen, dst, seed);
	for (b = 0; b < nbufs; b++) {
		TEST_ASSERT_SUCCESS(gvq_used(q, &id, &len), "used entry %u", b);
		TEST_ASSERT(len <= bufsize && done + len <= sizeof(got), "used length %u", len);
		memcpy(got + done, vg.mem + (vg.vq[q].id_addr[id % QSIZE] - IOVA_BASE), len);
		done += len;
		if (b == 0) {
			memcpy(&hdr, got, sizeof(hdr));
			nbufs = hdr.num_buffers;
			TEST_ASSERT(nbufs >= 1, "num_buffers %u", nbufs);
		}
	}
	TEST_ASSERT_EQUAL(done, HDR_LEN + flen, "bytes written");
	TEST_ASSERT(memcmp(got + HDR_LEN, want, flen) == 0, "payload");
	return TEST_SUCCESS;
}

uint16_t
vg_devcfg_status(void)
{
	return (uint16_t)vg_bar_rd(vg.devcfg + offsetof(struct virtio_net_config, status), 2);
}

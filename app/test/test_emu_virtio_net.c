/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The emulated virtio-net device (vdev net_emu_virtio) against a fake guest
 * written with the raw librte_vfio_user client API in the same process: the
 * guest's memory is a memfd mapped for DMA, the virtio structures are
 * reached through the capabilities in config space and BAR0 messages, and
 * the virtqueues are built here. The port is driven with the ethdev API.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_string_fns.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_emu_virtio_net.h"
#include "test_vfio_user_common.h"

#define WAIT_MS 5000

static char sock_dir[48];
static char sock_path[128];
static const char *vdev_name = "net_emu_virtio_t";
static uint16_t port = RTE_MAX_ETHPORTS;
static struct rte_mempool *pool;
static unsigned int lsc_events;

static int
lsc_cb(uint16_t port_id, enum rte_eth_event_type type, void *arg, void *ret_param)
{
	RTE_SET_USED(port_id);
	RTE_SET_USED(type);
	RTE_SET_USED(arg);
	RTE_SET_USED(ret_param);
	__atomic_fetch_add(&lsc_events, 1, __ATOMIC_RELAXED);
	return 0;
}


static struct rte_mbuf *
port_frame(uint32_t len, const char *dst, uint32_t seed)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	vg_make_frame(p, len, dst, seed);
	return m;
}

/* Send one frame from the port on queue @qid; 1 when taken. */
static uint16_t
port_send(uint16_t qid, uint32_t len, const char *dst, uint32_t seed)
{
	struct rte_mbuf *m = port_frame(len, dst, seed);
	uint16_t n;

	if (m == NULL)
		return 0;
	n = rte_eth_tx_burst(port, qid, &m, 1);
	if (n == 0)
		rte_pktmbuf_free(m);
	return n;
}

static uint64_t
xstat(const char *name)
{
	uint64_t id, v = UINT64_MAX;

	if (rte_eth_xstats_get_id_by_name(port, name, &id) == 0)
		rte_eth_xstats_get_by_id(port, &id, &v, 1);
	return v;
}

static int
link_is(int up)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == up;
}

static int
wait_link(int up)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (!link_is(up))
		if (now_ms() > end)
			return -1;
		else
			usleep(1000);
	return 0;
}

/*
 * Test cases.
 */

static int
test_identity(void)
{
	uint32_t v;
	uint8_t mac[6];
	struct rte_ether_addr want;
	unsigned int i;

	rte_vfio_user_region_read(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, &v, 4);
	TEST_ASSERT_EQUAL(v, 0x10411af4u, "vendor/device 0x%08x", v);
	rte_vfio_user_region_read(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, PCI_CLASS_REVISION, &v, 4);
	TEST_ASSERT_EQUAL(v, 0x02000001u, "class and revision 0x%08x", v);
	TEST_ASSERT_EQUAL(CC_RD(num_queues), NR_VQS, "num_queues");
	{
		struct vfio_irq_info irq = { .argsz = sizeof(irq) };
		static const uint32_t want[][2] = {
			{ VFIO_PCI_INTX_IRQ_INDEX, 1 }, { VFIO_PCI_MSI_IRQ_INDEX, 0 },
			{ VFIO_PCI_MSIX_IRQ_INDEX, NR_VQS + 1 }, { VFIO_PCI_ERR_IRQ_INDEX, 1 },
			{ VFIO_PCI_REQ_IRQ_INDEX, 1 },
		};

		for (i = 0; i < RTE_DIM(want); i++) {
			irq.index = want[i][0];
			TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(vg.cid, &irq), "irq info");
			TEST_ASSERT_EQUAL(irq.count, want[i][1], "interrupts of index %u",
				irq.index);
		}
	}
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)vg_bar_rd(vg.devcfg + i, 1);
	rte_ether_unformat_addr(GUEST_MAC, &want);
	TEST_ASSERT(memcmp(mac, &want, 6) == 0, "device config MAC from the devargs");
	TEST_ASSERT_EQUAL(vg_bar_rd(vg.devcfg + offsetof(struct virtio_net_config,
		max_virtqueue_pairs), 2), PAIRS, "max_virtqueue_pairs");
	CC_WR(queue_select, 0);
	TEST_ASSERT_EQUAL(CC_RD(queue_size), 256, "queue_size offered");
	CC_WR(queue_select, NR_VQS);
	TEST_ASSERT_EQUAL(CC_RD(queue_size), 0, "no queue past num_queues");
	return TEST_SUCCESS;
}

static int
test_pci_cfg_window(void)
{
	uint32_t v, mac4;
	struct rte_ether_addr want;

	rte_ether_unformat_addr(GUEST_MAC, &want);
	memcpy(&mac4, &want, 4);
	TEST_ASSERT_SUCCESS(vg_cfg_window(0, vg.devcfg, 4), "window on the MAC");
	TEST_ASSERT_EQUAL(vg_cfg_window_data(), mac4, "MAC read through the window");
	/* A write through the window reaches common config. */
	TEST_ASSERT_SUCCESS(vg_cfg_window(0, CC(device_status), 1), "window on the status");
	v = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, vg.pci_cfg + 16, &v, 4);
	TEST_ASSERT_EQUAL(vg_status(), VIRTIO_CONFIG_S_ACKNOWLEDGE, "status written");
	TEST_ASSERT_EQUAL(vg_cfg_window_data() & 0xff, VIRTIO_CONFIG_S_ACKNOWLEDGE, "read back");
	/* Invalid windows are ignored: length 3, misaligned, another BAR. */
	v = 0;
	TEST_ASSERT_SUCCESS(vg_cfg_window(0, CC(device_status), 3), "length 3");
	rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, vg.pci_cfg + 16, &v, 4);
	TEST_ASSERT_SUCCESS(vg_cfg_window(0, CC(device_status) + 1, 2), "misaligned");
	rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, vg.pci_cfg + 16, &v, 4);
	TEST_ASSERT_SUCCESS(vg_cfg_window(2, CC(device_status), 1), "BAR2");
	rte_vfio_user_region_write(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX, vg.pci_cfg + 16, &v, 4);
	TEST_ASSERT_EQUAL(vg_status(), VIRTIO_CONFIG_S_ACKNOWLEDGE, "status untouched");
	return TEST_SUCCESS;
}

static int
test_features(void)
{
	uint64_t offered;
	uint8_t st;

	CC_WR(device_feature_select, 0);
	offered = CC_RD(device_feature);
	CC_WR(device_feature_select, 1);
	offered |= (uint64_t)CC_RD(device_feature) << 32;
	TEST_ASSERT_EQUAL(offered, OFFERED_FEATURES, "features offered 0x%" PRIx64, offered);
	CC_WR(device_feature_select, 2);
	TEST_ASSERT_EQUAL(CC_RD(device_feature), 0, "no feature word 2");

	st = guest_negotiate(ALL_FEATURES | F(VIRTIO_NET_F_CSUM));
	TEST_ASSERT(!(st & VIRTIO_CONFIG_S_FEATURES_OK), "unsupported bit refused");
	st = guest_negotiate(F(VIRTIO_NET_F_MAC));
	TEST_ASSERT(!(st & VIRTIO_CONFIG_S_FEATURES_OK), "no VERSION_1 refused");
	st = guest_negotiate(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CTRL_RX));
	TEST_ASSERT(!(st & VIRTIO_CONFIG_S_FEATURES_OK), "CTRL_RX without CTRL_VQ refused");
	st = guest_negotiate(ALL_FEATURES);
	TEST_ASSERT(st & VIRTIO_CONFIG_S_FEATURES_OK, "full set accepted");
	/* Features are frozen once accepted. */
	CC_WR(guest_feature_select, 0);
	CC_WR(guest_feature, 0);
	TEST_ASSERT_EQUAL(CC_RD(guest_feature), (uint32_t)ALL_FEATURES, "features frozen");
	CC_WR(device_status, 0);
	TEST_ASSERT_EQUAL(vg_status(), 0, "reset");
	TEST_ASSERT_EQUAL(CC_RD(guest_feature), 0, "features cleared by reset");
	return TEST_SUCCESS;
}

/* Receive @n frames on port queue @qid (seeds seed0..), checking each payload. */
static int
port_expect(uint16_t qid, unsigned int n, uint32_t len, uint32_t seed0)
{
	struct rte_mbuf *m[32];
	uint8_t want[4096], got[4096];
	unsigned int got_n = 0, i;
	uint64_t end = now_ms() + WAIT_MS;
	uint16_t k;

	while (got_n < n && now_ms() < end) {
		k = rte_eth_rx_burst(port, qid, m, RTE_MIN(n - got_n, RTE_DIM(m)));
		for (i = 0; i < k; i++, got_n++) {
			vg_make_frame(want, len, "ff:ff:ff:ff:ff:ff", seed0 + got_n);
			TEST_ASSERT_EQUAL(m[i]->pkt_len, len, "frame length");
			rte_pktmbuf_read(m[i], 0, len, got);
			TEST_ASSERT(memcmp(rte_pktmbuf_read(m[i], 0, len, got), want, len) == 0,
				"payload of frame %u", got_n);
			rte_pktmbuf_free(m[i]);
		}
	}
	TEST_ASSERT_EQUAL(got_n, n, "frames received on queue %u", qid);
	return TEST_SUCCESS;
}

/* One receive burst on port queue @qid, frames freed; how many came. */
static uint16_t
port_poll(uint16_t qid)
{
	struct rte_mbuf *m[32];
	uint16_t n = rte_eth_rx_burst(port, qid, m, RTE_DIM(m));

	rte_pktmbuf_free_bulk(m, n);
	return n;
}

static int
test_guest_to_port(void)
{
	uint32_t id, len;
	unsigned int i;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up with DRIVER_OK");
	/* Frames in one, two and three descriptors, and a 3000-byte one (two mbufs). */
	for (i = 0; i < 6; i++)
		guest_send(0, i, 60 + 100 * i, 100 + i, 1 + i % 3);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 60, 100), "first");
	for (i = 1; i < 6; i++)
		TEST_ASSERT_SUCCESS(port_expect(0, 1, 60 + 100 * i, 100 + i), "frame %u", i);
	guest_send(0, 10, 3000, 77, 2);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 3000, 77), "big frame");
	for (i = 0; i < 7; i++) {
		TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "used entry %u", i);
		TEST_ASSERT_EQUAL(len, 0, "transmit buffers come back with length 0");
	}
	TEST_ASSERT(efd_wait(vg.efd[2], WAIT_MS) > 0, "transmit queue interrupt");
	/* Interrupts suppressed by the guest. */
	vg.vq[1].avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	guest_send(0, 11, 64, 5, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 64, 5), "frame");
	TEST_ASSERT_EQUAL(efd_wait(vg.efd[2], 0), 0, "no interrupt when suppressed");
	TEST_ASSERT_EQUAL(vg.vq[1].used->flags, VRING_USED_F_NO_NOTIFY, "kicks suppressed");
	return TEST_SUCCESS;
}

static int
test_port_to_guest(void)
{
	uint64_t drops;
	unsigned int i;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 1), 0, "no guest buffer: kept");
	guest_post_rx(0, 4, BUF_SIZE);
	for (i = 0; i < 4; i++)
		TEST_ASSERT_EQUAL(port_send(0, 60 + 200 * i, GUEST_MAC, 10 + i), 1, "sent");
	for (i = 0; i < 4; i++)
		TEST_ASSERT_SUCCESS(guest_expect(0, 60 + 200 * i, GUEST_MAC, 10 + i, BUF_SIZE),
			"frame %u", i);
	TEST_ASSERT(efd_wait(vg.efd[1], WAIT_MS) > 0, "receive queue interrupt");
	/* A first buffer shorter than the header is given back empty and counted. */
	{
		uint64_t err = xstat("tx_q0_guest_errors");
		uint32_t id, ulen;

		guest_post_rx(0, 1, 4);
		guest_post_rx(0, 1, BUF_SIZE);
		TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 48), 1, "sent");
		TEST_ASSERT_EQUAL(xstat("tx_q0_guest_errors"), err + 1, "short buffer counted");
		TEST_ASSERT_SUCCESS(gvq_used(0, &id, &ulen), "short buffer back");
		TEST_ASSERT_EQUAL(ulen, 0, "empty");
		TEST_ASSERT_SUCCESS(guest_expect(0, 60, GUEST_MAC, 48, BUF_SIZE), "frame");
	}
	/* Mergeable buffers: a 1500-byte frame over 128-byte buffers takes 12. */
	guest_post_rx(0, 20, 128);
	TEST_ASSERT_EQUAL(port_send(0, 1500, GUEST_MAC, 42), 1, "sent");
	TEST_ASSERT_SUCCESS(guest_expect(0, 1500, GUEST_MAC, 42, 128), "merged frame");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 43), 1, "after a merged one");
	TEST_ASSERT_SUCCESS(guest_expect(0, 60, GUEST_MAC, 43, 128), "next frame");
	/* Too big for the buffers left (7 x 128): stays with the caller. */
	TEST_ASSERT_EQUAL(port_send(0, 1500, GUEST_MAC, 44), 0, "not enough buffers");
	/* Without MRG_RXBUF a frame must fit one chain: a 2-descriptor chain does it. */
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MRG_RXBUF) &
		~F(VIRTIO_NET_F_MQ), 2), "init");
	{
		uint8_t *p = vg_buf(0, 0);
		uint64_t iova[2] = { vg_iova(p), vg_iova(p + 1000) };
		uint32_t len[2] = { 1000, 1000 };
		uint32_t id, ulen;

		gvq_post(0, iova, len, 2, 0);
		TEST_ASSERT_EQUAL(port_send(0, 1500, GUEST_MAC, 45), 1, "sent");
		TEST_ASSERT_SUCCESS(gvq_used(0, &id, &ulen), "used");
		TEST_ASSERT_EQUAL(ulen, HDR_LEN + 1500, "one chain of two descriptors");
		vg_make_frame(p + 2048, 1500, GUEST_MAC, 45);
		TEST_ASSERT(memcmp(p + HDR_LEN, p + 2048, 1500) == 0, "payload over the split");
	}
	/* Without MRG_RXBUF a frame longer than the next buffer is dropped, the buffer kept. */
	drops = xstat("tx_q0_dropped");
	guest_post_rx(0, 1, 200);
	TEST_ASSERT_EQUAL(port_send(0, 1500, GUEST_MAC, 46), 1, "consumed");
	TEST_ASSERT_EQUAL(xstat("tx_q0_dropped"), drops + 1, "dropped");
	TEST_ASSERT_EQUAL(port_send(0, 100, GUEST_MAC, 47), 1, "a short one fits");
	return guest_expect(0, 100, GUEST_MAC, 47, 200);
}

static int
test_ctrl_mq_filter(void)
{
	uint16_t pairs;
	uint8_t on;
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x22 };
	uint64_t drops;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES, 4), "init");
	guest_post_rx(1, 4, BUF_SIZE);
	TEST_ASSERT_EQUAL(port_send(1, 60, GUEST_MAC, 1), 0, "pair 1 unused before MQ set");
	pairs = 3;
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		&pairs, 2), VIRTIO_NET_ERR, "more pairs than offered refused");
	pairs = 2;
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		&pairs, 2), VIRTIO_NET_OK, "2 pairs");
	TEST_ASSERT_EQUAL(port_send(1, 60, GUEST_MAC, 2), 1, "pair 1 in use");
	TEST_ASSERT_SUCCESS(guest_expect(2, 60, GUEST_MAC, 2, BUF_SIZE), "frame on pair 1");
	guest_send(1, 0, 80, 9, 1);
	TEST_ASSERT_SUCCESS(port_expect(1, 1, 80, 9), "guest transmit on pair 1");

	/* Receive filter: promiscuous off, then all-multicast. */
	guest_post_rx(0, 16, BUF_SIZE);
	on = 0;
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
		VIRTIO_NET_OK, "promisc off");
	drops = xstat("tx_q0_dropped");
	TEST_ASSERT_EQUAL(port_send(0, 60, "02:00:00:00:00:99", 3), 1, "consumed");
	TEST_ASSERT_EQUAL(port_send(0, 60, "01:00:5e:00:00:01", 4), 1, "consumed");
	TEST_ASSERT_EQUAL(xstat("tx_q0_dropped"), drops + 2, "filtered out");
	TEST_ASSERT_EQUAL(port_send(0, 60, "ff:ff:ff:ff:ff:ff", 5), 1, "broadcast");
	TEST_ASSERT_SUCCESS(guest_expect(0, 60, "ff:ff:ff:ff:ff:ff", 5, BUF_SIZE), "bcast");
	on = 1;
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
		VIRTIO_NET_OK, "allmulti on");
	TEST_ASSERT_EQUAL(port_send(0, 60, "01:00:5e:00:00:01", 6), 1, "multicast");
	TEST_ASSERT_SUCCESS(guest_expect(0, 60, "01:00:5e:00:00:01", 6, BUF_SIZE), "mcast");
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
		VIRTIO_NET_OK, "new MAC");
	TEST_ASSERT_EQUAL(port_send(0, 60, "02:00:00:00:00:22", 7), 1, "to the new MAC");
	TEST_ASSERT_SUCCESS(guest_expect(0, 60, "02:00:00:00:00:22", 7, BUF_SIZE), "ucast");
	/* MAC table: one unicast and one multicast address, all-multicast off. */
	{
		uint8_t tbl[20] = { 1, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x33,
			1, 0, 0, 0, 0x01, 0x00, 0x5e, 0, 0, 0x02 };

		on = 0;
		TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI,
			&on, 1), VIRTIO_NET_OK, "allmulti off");
		TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			tbl, sizeof(tbl)), VIRTIO_NET_OK, "MAC table");
		drops = xstat("tx_q0_dropped");
		TEST_ASSERT_EQUAL(port_send(0, 60, "02:00:00:00:00:33", 8), 1, "table unicast");
		TEST_ASSERT_SUCCESS(guest_expect(0, 60, "02:00:00:00:00:33", 8, BUF_SIZE), "u");
		TEST_ASSERT_EQUAL(port_send(0, 60, "01:00:5e:00:00:02", 9), 1, "table mcast");
		TEST_ASSERT_SUCCESS(guest_expect(0, 60, "01:00:5e:00:00:02", 9, BUF_SIZE), "m");
		TEST_ASSERT_EQUAL(port_send(0, 60, "01:00:5e:00:00:03", 10), 1, "consumed");
		TEST_ASSERT_EQUAL(xstat("tx_q0_dropped"), drops + 1, "not in the table");
		/* A count larger than the addresses that follow. */
		tbl[0] = 5;
		TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			tbl, sizeof(tbl)), VIRTIO_NET_ERR, "short table refused");
		TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			tbl, 2), VIRTIO_NET_ERR, "no count refused");
		TEST_ASSERT_EQUAL(port_send(0, 60, "02:00:00:00:00:33", 11), 1, "table kept");
		TEST_ASSERT_SUCCESS(guest_expect(0, 60, "02:00:00:00:00:33", 11, BUF_SIZE), "u");
	}
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1),
		VIRTIO_NET_ERR, "RX_EXTRA command refused");
	TEST_ASSERT_EQUAL(guest_ctrl(9, 0, &on, 1), VIRTIO_NET_ERR, "unknown class refused");
	return TEST_SUCCESS;
}

static int
test_link_to_guest(void)
{
	uint8_t gen;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	efd_wait(vg.efd[0], 0);
	TEST_ASSERT_EQUAL(vg_devcfg_status(), VIRTIO_NET_S_LINK_UP, "link up: the port runs");
	gen = (uint8_t)CC_RD(config_generation);
	TEST_ASSERT_SUCCESS(rte_eth_dev_stop(port), "stop");
	TEST_ASSERT_EQUAL(vg_devcfg_status(), 0, "link down: the port is stopped");
	TEST_ASSERT(efd_wait(vg.efd[0], WAIT_MS) > 0, "configuration interrupt");
	TEST_ASSERT(vg_bar_rd(vg.isr, 1) & VIRTIO_PCI_ISR_CONFIG, "ISR says configuration");
	TEST_ASSERT_EQUAL(vg_bar_rd(vg.isr, 1), 0, "ISR cleared by the read");
	TEST_ASSERT((uint8_t)CC_RD(config_generation) != gen, "config_generation moved");
	TEST_ASSERT_SUCCESS(rte_eth_dev_start(port), "start");
	TEST_ASSERT_EQUAL(vg_devcfg_status(), VIRTIO_NET_S_LINK_UP, "link up again");
	TEST_ASSERT(efd_wait(vg.efd[0], WAIT_MS) > 0, "configuration interrupt");
	return TEST_SUCCESS;
}

static int
test_reset_mid_traffic(void)
{
	unsigned int ev, i;
	struct rte_mbuf *m[8];

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up");
	guest_post_rx(0, 8, BUF_SIZE);
	for (i = 0; i < 8; i++)
		guest_send(0, i, 100, i, 1);
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, m, 3), 3, "some frames taken");
	rte_pktmbuf_free_bulk(m, 3);
	ev = __atomic_load_n(&lsc_events, __ATOMIC_RELAXED);
	CC_WR(device_status, 0);
	TEST_ASSERT(link_is(RTE_ETH_LINK_DOWN), "link down at reset");
	TEST_ASSERT(__atomic_load_n(&lsc_events, __ATOMIC_RELAXED) > ev, "LSC event");
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, m, 8), 0, "nothing after reset");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 1), 0, "nothing taken after reset");
	/* Up again from scratch. */
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	guest_send(0, 0, 100, 50, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 50), "traffic after reset");
	/* VFIO_USER_DEVICE_RESET too. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(vg.cid), "device reset");
	TEST_ASSERT_EQUAL(vg_status(), 0, "status 0 after VFIO_USER_DEVICE_RESET");
	TEST_ASSERT(link_is(RTE_ETH_LINK_DOWN), "link down");
	return TEST_SUCCESS;
}

static int
test_client_gone(void)
{
	struct rte_mbuf *m[8];
	struct leak_snap before;
	unsigned int i;

	/* Baseline with one client attached; compared with one attached again at the end. */
	leak_snap(&before);
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up");
	guest_post_rx(0, 4, BUF_SIZE);
	for (i = 0; i < 8; i++)
		guest_send(0, i, 100, i, 1);
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 1), 1, "one frame to the guest");
	guest_detach();
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_DOWN), "link down when the client goes");
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, m, 8), 0, "nothing from a gone guest");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 1), 0, "nothing to a gone guest");
	TEST_ASSERT(rte_eth_dev_is_valid_port(port), "port stays");
	TEST_ASSERT_SUCCESS(guest_attach(sock_path), "attach again");
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	guest_send(0, 0, 100, 60, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 60), "traffic with the new client");
	return leak_check(&before, WAIT_MS);
}

static int
test_nothing_before_driver_ok(void)
{
	uint8_t st;

	st = guest_negotiate(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ));
	TEST_ASSERT(st & VIRTIO_CONFIG_S_FEATURES_OK, "features");
	TEST_ASSERT_EQUAL(guest_queue_setup(0, 0), 1, "queue 0 enabled");
	TEST_ASSERT_EQUAL(guest_queue_setup(1, 0), 1, "queue 1 enabled");
	guest_send(0, 0, 100, 90, 1);
	guest_post_rx(0, 2, BUF_SIZE);
	TEST_ASSERT_EQUAL(port_poll(0), 0, "no frame taken before DRIVER_OK");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 91), 0, "no buffer used before DRIVER_OK");
	TEST_ASSERT(link_is(RTE_ETH_LINK_DOWN), "link down before DRIVER_OK");
	CC_WR(device_status, st | VIRTIO_CONFIG_S_DRIVER_OK);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 90), "taken after DRIVER_OK");
	TEST_ASSERT_EQUAL(port_send(0, 60, GUEST_MAC, 91), 1, "sent after DRIVER_OK");
	return guest_expect(0, 60, GUEST_MAC, 91, BUF_SIZE);
}

static int
test_queue_outside_map(void)
{
	uint8_t st;

	st = guest_negotiate(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ));
	TEST_ASSERT(st & VIRTIO_CONFIG_S_FEATURES_OK, "features");
	TEST_ASSERT_EQUAL(guest_queue_setup(1, 0), 1, "queue 1 enabled");
	TEST_ASSERT_EQUAL(guest_queue_setup(0, IOVA_BASE + MEM_SIZE), 0,
		"queue 0 outside the map refused");
	TEST_ASSERT(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT_EQUAL(guest_queue_setup(2, IOVA_BASE + MEM_SIZE - 0x2000), 0,
		"rings crossing the end of the map refused");
	CC_WR(device_status, st | VIRTIO_CONFIG_S_DRIVER_OK);
	guest_send(0, 0, 100, 70, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 70), "the other queue still works");
	return TEST_SUCCESS;
}

static int
test_bad_chains(void)
{
	struct gvq *v = &vg.vq[1];
	uint64_t err0 = xstat("rx_q0_guest_errors");
	uint32_t id, len;
	uint16_t h;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	/* A loop: 0 -> 1 -> 0. */
	guest_send(0, 0, 100, 1, 2);
	h = (v->next_desc - 1) % QSIZE;
	v->desc[h].flags |= VRING_DESC_F_NEXT;
	v->desc[h].next = h - 1;
	/* Next index past the queue. */
	guest_send(0, 2, 100, 2, 2);
	h = (v->next_desc - 2) % QSIZE;
	v->desc[h].next = QSIZE;
	/* A buffer running past the end of the window. */
	guest_send(0, 4, 100, 3, 1);
	h = (v->next_desc - 1) % QSIZE;
	v->desc[h].addr = IOVA_BASE + MEM_SIZE - 50;
	/* A device-writable buffer on a transmit queue, an indirect one. */
	guest_send(0, 5, 100, 4, 1);
	v->desc[(v->next_desc - 1) % QSIZE].flags = VRING_DESC_F_WRITE;
	guest_send(0, 6, 100, 5, 1);
	v->desc[(v->next_desc - 1) % QSIZE].flags = VRING_DESC_F_INDIRECT;
	/* And a good one after them. */
	guest_send(0, 7, 100, 6, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 6), "the good frame");
	TEST_ASSERT_EQUAL(xstat("rx_q0_guest_errors"), err0 + 5, "bad chains counted");
	for (h = 0; h < 6; h++)
		TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "every chain given back (%u)", h);
	TEST_ASSERT(!(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET), "bad buffers: no reset");
	/* A receive ring broken in the middle of a burst: the frame taken is consumed. */
	{
		struct rte_mbuf *m[2] = {
			port_frame(60, GUEST_MAC, 1), port_frame(60, GUEST_MAC, 2)
		};

		TEST_ASSERT(m[0] != NULL && m[1] != NULL, "mbufs");
		guest_post_rx(0, 1, BUF_SIZE);
		vg.vq[0].avail->idx = vg.vq[0].avail_idx + QSIZE + 1;
		TEST_ASSERT_EQUAL(rte_eth_tx_burst(port, 0, m, 2), 1, "one consumed, one left");
		rte_pktmbuf_free(m[1]);
		TEST_ASSERT(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
		TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	}
	/* An available index a whole queue ahead: the ring is broken. */
	v->avail->idx = v->avail_idx + QSIZE + 1;
	TEST_ASSERT_EQUAL(port_poll(0), 0, "nothing from a broken ring");
	TEST_ASSERT(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	return TEST_SUCCESS;
}

static int
test_dma_remap(void)
{
	struct rte_vfio_user_mem_reg mr;

	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	efd_wait(vg.efd[0], 0);
	guest_send(0, 0, 100, 80, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 80), "before");
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = vg.mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(vg.cid, &mr, 1), "unmap");
	guest_send(0, 1, 100, 81, 1);
	TEST_ASSERT_EQUAL(port_poll(0), 0, "nothing without memory");
	TEST_ASSERT(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET, "rings lost: NEEDS_RESET");
	TEST_ASSERT(efd_wait(vg.efd[0], WAIT_MS) > 0, "configuration interrupt for it");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(vg.cid, &mr, &vg.memfd, 1), "map again");
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	guest_send(0, 0, 100, 82, 1);
	return port_expect(0, 1, 100, 82);
}

/* A worker lcore polls port queue 0 while the guest sends and the DMA table changes. */
#define REMAP_FRAMES 2000
static bool remap_stop;
static unsigned int remap_got, remap_bad;

static int
remap_worker(void *arg)
{
	uint8_t want[128], got[128];
	struct rte_mbuf *m[32];
	uint16_t n, i;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&remap_stop, __ATOMIC_ACQUIRE)) {
		n = rte_eth_rx_burst(port, 0, m, RTE_DIM(m));
		for (i = 0; i < n; i++) {
			vg_make_frame(want, 100, "ff:ff:ff:ff:ff:ff", 1000 + remap_got);
			if (m[i]->pkt_len != 100 ||
					memcmp(rte_pktmbuf_read(m[i], 0, 100, got), want, 100) != 0)
				remap_bad++;
			__atomic_store_n(&remap_got, remap_got + 1, __ATOMIC_RELEASE);
		}
		rte_pktmbuf_free_bulk(m, n);
	}
	return 0;
}

static int
test_remap_under_traffic(void)
{
	struct rte_vfio_user_mem_reg extra;
	unsigned int lc = RTE_MAX_LCORE, i, l;
	uint64_t end;
	int xfd, ret = TEST_SUCCESS;
	uint32_t id, len;

	RTE_LCORE_FOREACH_WORKER(l) {
		lc = l;
		break;
	}
	if (lc == RTE_MAX_LCORE) {
		printf("no worker lcore\n");
		return TEST_SKIPPED;
	}
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	xfd = memfd_create("vnet_extra", MFD_CLOEXEC);
	TEST_ASSERT(xfd >= 0 && ftruncate(xfd, 0x10000) == 0, "extra memfd");
	memset(&extra, 0, sizeof(extra));
	extra.iova = IOVA_BASE + 2 * MEM_SIZE;
	extra.size = 0x10000;
	extra.prot = PROT_READ | PROT_WRITE;
	__atomic_store_n(&remap_stop, false, __ATOMIC_RELAXED);
	remap_got = 0;
	remap_bad = 0;
	TEST_ASSERT_SUCCESS(rte_eal_remote_launch(remap_worker, NULL, lc), "launch");
	for (i = 0; i < REMAP_FRAMES && ret == TEST_SUCCESS; i++) {
		/* Keep at most half a ring in flight: descriptors are reused in order. */
		end = now_ms() + WAIT_MS;
		while ((uint16_t)(vg.vq[1].avail_idx - vg.vq[1].last_used) >= QSIZE / 2) {
			if (gvq_used(1, &id, &len) == 0)
				continue;
			if (now_ms() > end) {
				printf("the worker stopped taking frames at %u\n", i);
				ret = TEST_FAILED;
				break;
			}
		}
		guest_send(0, i, 100, 1000 + i, 1 + i % 2);
		/* Every DMA_MAP and DMA_UNMAP goes through lock_dp(1)/(0). */
		if (i % 20 == 10 && rte_vfio_user_dma_map(vg.cid, &extra, &xfd, 1) != 0)
			ret = TEST_FAILED;
		if (i % 20 == 19 && rte_vfio_user_dma_unmap(vg.cid, &extra, 1) != 0)
			ret = TEST_FAILED;
	}
	end = now_ms() + WAIT_MS;
	while (__atomic_load_n(&remap_got, __ATOMIC_ACQUIRE) < i && now_ms() < end)
		usleep(1000);
	__atomic_store_n(&remap_stop, true, __ATOMIC_RELEASE);
	rte_eal_wait_lcore(lc);
	close(xfd);
	TEST_ASSERT_SUCCESS(ret, "guest side");
	TEST_ASSERT_EQUAL(remap_got, REMAP_FRAMES, "every frame received");
	TEST_ASSERT_EQUAL(remap_bad, 0, "payloads intact");
	TEST_ASSERT(!(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET), "no guest error");
	return TEST_SUCCESS;
}

/* A port closed, then its vdev removed, while a client is attached and has DMA mapped. */
static int
test_close_attached(void)
{
	const char *name = "net_emu_virtio_c";
	struct rte_vfio_user_mem_reg mr;
	struct rte_eth_conf conf;
	struct leak_snap before;
	char path[160], args[200];
	uint16_t p2;
	uint32_t v;
	int cid;

	leak_snap(&before);
	snprintf(path, sizeof(path), "%s/close.sock", sock_dir);
	snprintf(args, sizeof(args), "path=%s", path);
	TEST_ASSERT_SUCCESS(rte_vdev_init(name, args), "second device");
	TEST_ASSERT_SUCCESS(rte_eth_dev_get_port_by_name(name, &p2), "its port");
	memset(&conf, 0, sizeof(conf));
	TEST_ASSERT_SUCCESS(rte_eth_dev_configure(p2, 1, 1, &conf), "configure");
	TEST_ASSERT_SUCCESS(rte_eth_rx_queue_setup(p2, 0, 64, SOCKET_ID_ANY, NULL, pool), "rxq");
	TEST_ASSERT_SUCCESS(rte_eth_tx_queue_setup(p2, 0, 64, SOCKET_ID_ANY, NULL), "txq");
	TEST_ASSERT_SUCCESS(rte_eth_dev_start(p2), "start");
	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach");
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = vg.mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(cid, &mr, &vg.memfd, 1), "dma_map");
	v = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(cid, VFIO_PCI_BAR0_REGION_INDEX,
		CC(device_status), &v, 1), 1, "status written");
	TEST_ASSERT_SUCCESS(rte_eth_dev_stop(p2), "stop");
	TEST_ASSERT_SUCCESS(rte_eth_dev_close(p2), "close with a client attached");
	TEST_ASSERT(rte_vfio_user_region_read(cid, VFIO_PCI_BAR0_REGION_INDEX,
		CC(device_status), &v, 1) < 0, "the client sees the device gone");
	rte_vfio_user_detach_dev(cid);
	TEST_ASSERT_SUCCESS(rte_vdev_uninit(name), "remove after close");
	TEST_ASSERT(access(path, F_OK) != 0, "socket removed");
	TEST_ASSERT(rte_eth_dev_is_valid_port(port), "the other port stays");
	return leak_check(&before, WAIT_MS);
}

/* Packed rings: both directions across several wraps, merged buffers, control queue, errors. */
static int
test_packed(void)
{
	const uint64_t feat = (ALL_FEATURES & ~F(VIRTIO_NET_F_MQ)) | F(VIRTIO_F_RING_PACKED);
	struct vring_packed_desc_event *drv_ev, *dev_ev;
	struct gvq *tx = &vg.vq[1];
	uint64_t err0 = xstat("rx_q0_guest_errors");
	uint32_t id, len;
	unsigned int i;
	uint8_t on = 0;

	TEST_ASSERT_SUCCESS(guest_init(feat, 2), "init");
	dev_ev = (void *)tx->used;
	drv_ev = (void *)tx->avail;
	TEST_ASSERT_EQUAL(dev_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE, "kicks suppressed");
	/* 150 frames of 1 to 3 descriptors: the 64-entry ring wraps about 4 times. */
	for (i = 0; i < 150; i++) {
		guest_send(0, i, 60 + i, 2000 + i, 1 + i % 3);
		TEST_ASSERT_SUCCESS(port_expect(0, 1, 60 + i, 2000 + i), "frame %u", i);
		TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "used %u", i);
		TEST_ASSERT_EQUAL(len, 0, "transmit buffers come back with length 0");
	}
	TEST_ASSERT(efd_wait(vg.efd[2], WAIT_MS) > 0, "transmit queue interrupt");
	drv_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	guest_send(0, 0, 64, 7, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 64, 7), "frame");
	TEST_ASSERT_EQUAL(efd_wait(vg.efd[2], 0), 0, "no interrupt when disabled");
	TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "used");
	/* Guest receive: merged buffers, then one frame per buffer across wraps. */
	guest_post_rx(0, 14, 128);
	TEST_ASSERT_EQUAL(port_send(0, 1500, GUEST_MAC, 42), 1, "sent");
	TEST_ASSERT_SUCCESS(guest_expect(0, 1500, GUEST_MAC, 42, 128), "merged frame");
	for (i = 0; i < 150; i++) {
		guest_post_rx(0, 1, BUF_SIZE);
		TEST_ASSERT_EQUAL(port_send(0, 60 + i, GUEST_MAC, 3000 + i), 1, "sent %u", i);
		TEST_ASSERT_SUCCESS(guest_expect(0, 60 + i, GUEST_MAC, 3000 + i, BUF_SIZE),
			"frame %u", i);
	}
	/* The control queue is packed too. */
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
		VIRTIO_NET_OK, "promisc off");
	TEST_ASSERT_EQUAL(port_send(0, 60, "02:00:00:00:00:99", 1), 1, "consumed");
	/* A buffer past the window: given back empty and counted; the queue goes on. */
	guest_send(0, 1, 100, 4, 2);
	tx->pdesc[(tx->next_desc - 1) % QSIZE].addr = IOVA_BASE + MEM_SIZE - 10;
	guest_send(0, 2, 100, 5, 1);
	TEST_ASSERT_SUCCESS(port_expect(0, 1, 100, 5), "the good frame");
	TEST_ASSERT_EQUAL(xstat("rx_q0_guest_errors"), err0 + 1, "bad chain counted");
	TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "bad chain given back");
	TEST_ASSERT_SUCCESS(gvq_used(1, &id, &len), "good chain given back");
	TEST_ASSERT(!(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET), "no reset for a bad buffer");
	/* A chain without end (NEXT everywhere): the ring is broken. */
	for (i = 0; i < QSIZE; i++) {
		uint16_t pos = tx->next_desc + i;
		struct vring_packed_desc *d = &tx->pdesc[pos % QSIZE];

		d->addr = vg_iova(vg_buf(1, 0));
		d->len = 16;
		d->flags = VRING_DESC_F_NEXT | (((pos / QSIZE) & 1) == 0 ?
			1u << VRING_PACKED_DESC_F_AVAIL : 1u << VRING_PACKED_DESC_F_USED);
	}
	TEST_ASSERT_EQUAL(port_poll(0), 0, "nothing from an endless chain");
	TEST_ASSERT(vg_status() & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	return TEST_SUCCESS;
}

static int
test_bad_devargs(void)
{
	static const char * const bad[] = {
		"",
		"queues=1",
		"path=/tmp/x.sock,queues=0",
		"path=/tmp/x.sock,queues=9",
		"path=/tmp/x.sock,queues=1x",
		"path=/tmp/x.sock,mac=01:00:00:00:00:01",
		"path=/tmp/x.sock,mac=zz",
		"path=/tmp/x.sock,bogus=1",
		"path=/tmp/x.sock,path=/tmp/y.sock",
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++)
		TEST_ASSERT(rte_vdev_init("net_emu_virtio_bad", bad[i]) < 0, "refused: %s",
			bad[i]);
	return TEST_SUCCESS;
}

static int
case_setup(void)
{
	if (vg.cid < 0 && guest_attach(sock_path) != TEST_SUCCESS)
		return TEST_FAILED;
	return CC_WR(device_status, 0) == 0 ? TEST_SUCCESS : TEST_FAILED;
}

static int
suite_setup(void)
{
	struct rte_eth_conf conf;
	char args[256];
	uint16_t q;

	strlcpy(sock_dir, "/tmp/emu_vnet_test.XXXXXX", sizeof(sock_dir));
	if (mkdtemp(sock_dir) == NULL)
		return TEST_FAILED;
	snprintf(sock_path, sizeof(sock_path), "%s/vnet.sock", sock_dir);
	snprintf(args, sizeof(args), "path=%s,queues=%d,mac=%s", sock_path, PAIRS, GUEST_MAC);
	if (rte_vdev_init(vdev_name, args) < 0 ||
			rte_eth_dev_get_port_by_name(vdev_name, &port) < 0)
		return TEST_FAILED;
	pool = rte_pktmbuf_pool_create("vnet_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		SOCKET_ID_ANY);
	if (pool == NULL)
		return TEST_FAILED;
	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.lsc = 1;
	if (rte_eth_dev_configure(port, PAIRS, PAIRS, &conf) < 0)
		return TEST_FAILED;
	for (q = 0; q < PAIRS; q++)
		if (rte_eth_rx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL, pool) < 0 ||
				rte_eth_tx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL) < 0)
			return TEST_FAILED;
	rte_eth_dev_callback_register(port, RTE_ETH_EVENT_INTR_LSC, lsc_cb, NULL);
	if (rte_eth_dev_start(port) < 0)
		return TEST_FAILED;
	return guest_attach(sock_path) == TEST_SUCCESS ? TEST_SUCCESS : TEST_FAILED;
}

static void
suite_teardown(void)
{
	guest_detach();
	if (port != RTE_MAX_ETHPORTS) {
		rte_eth_dev_callback_unregister(port, RTE_ETH_EVENT_INTR_LSC, lsc_cb, NULL);
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
		port = RTE_MAX_ETHPORTS;
	}
	rte_vdev_uninit(vdev_name);
	rte_mempool_free(pool);
	pool = NULL;
	guest_free();
	dir_remove(sock_dir);
}

static struct unit_test_suite emu_vnet_suite = {
	.suite_name = "emulated virtio-net device",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE_ST(case_setup, NULL, test_identity),
		TEST_CASE_ST(case_setup, NULL, test_pci_cfg_window),
		TEST_CASE_ST(case_setup, NULL, test_features),
		TEST_CASE_ST(case_setup, NULL, test_guest_to_port),
		TEST_CASE_ST(case_setup, NULL, test_port_to_guest),
		TEST_CASE_ST(case_setup, NULL, test_ctrl_mq_filter),
		TEST_CASE_ST(case_setup, NULL, test_link_to_guest),
		TEST_CASE_ST(case_setup, NULL, test_reset_mid_traffic),
		TEST_CASE_ST(case_setup, NULL, test_nothing_before_driver_ok),
		TEST_CASE_ST(case_setup, NULL, test_queue_outside_map),
		TEST_CASE_ST(case_setup, NULL, test_bad_chains),
		TEST_CASE_ST(case_setup, NULL, test_dma_remap),
		TEST_CASE_ST(case_setup, NULL, test_remap_under_traffic),
		TEST_CASE_ST(case_setup, NULL, test_client_gone),
		TEST_CASE_ST(case_setup, NULL, test_packed),
		TEST_CASE_ST(case_setup, NULL, test_close_attached),
		TEST_CASE_ST(case_setup, NULL, test_bad_devargs),
		TEST_CASES_END(),
	},
};

static int
test_emu_virtio_net(void)
{
	return unit_test_suite_runner(&emu_vnet_suite);
}

REGISTER_TEST_COMMAND(emu_virtio_net_autotest, test_emu_virtio_net);

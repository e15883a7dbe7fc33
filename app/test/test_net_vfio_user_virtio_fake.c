/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The net_vfio_user_virtio PMD against a fake virtio-net device served from
 * this process, whose data path the test plays by hand: what the emulated
 * device does not offer (mapped notification and device configuration
 * areas, RING_EVENT_IDX), and what a hostile device may put in the used
 * rings (unknown buffer ids, ids of buffers not in flight, lengths past the
 * buffer or shorter than the header, a frame whose later buffer is bad).
 * Common configuration is trapped (BAR0); notifications, ISR and device
 * configuration are in a mappable memfd (BAR2). The rings are read at
 * their IOVA, which is their address here (IOVA as VA without hugepages).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define FV_QUEUES	2		/* rx 0, tx 1: no control queue */
#define FV_QSIZE	256
#define FV_BAR2_SIZE	0x1000
#define FV_NOTIFY_OFF	0x000
#define FV_NOTIFY_MULT	4
#define FV_ISR_OFF	0x100
#define FV_DEVCFG_OFF	0x200
#define FV_HDR		12
/* VERSION_1, MAC, STATUS, MRG_RXBUF, RING_EVENT_IDX. */
#define FV_FEATURES	((UINT64_C(1) << 32) | (1u << 5) | (1u << 16) | (1u << 15) | \
			(1u << 29))

struct fv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct fake_vnet {
	char path[128];
	int id;
	bool registered;
	struct rte_vfio_user_pci *pci;
	int memfd;
	uint8_t *bar2;
	uint8_t cc[64];			/* common configuration as the driver sees it */
	uint8_t qregs[FV_QUEUES][34];	/* queue_size .. queue_device of each queue */
	uint32_t gf[2];
	uint16_t last_avail[FV_QUEUES];
	uint16_t used_idx[FV_QUEUES];
};

static struct fake_vnet g_fv;
static uint16_t g_port = RTE_MAX_ETHPORTS;
static struct rte_mempool *g_pool;

static uint16_t
cc16(const struct fake_vnet *fv, unsigned int off)
{
	uint16_t v;

	memcpy(&v, &fv->cc[off], 2);
	return v;
}

static void
set_cc32(struct fake_vnet *fv, unsigned int off, uint32_t v)
{
	memcpy(&fv->cc[off], &v, 4);
}

static uint64_t
q64(const struct fake_vnet *fv, unsigned int q, unsigned int off)
{
	uint64_t v;

	memcpy(&v, &fv->qregs[q][off - 24], 8);
	return v;
}

/* Common configuration (BAR0), on the server's control thread. */
static ssize_t
fv_bar0_rw(int dev_id __rte_unused, struct rte_vfio_user_reg_info *reg, char *buf,
		size_t count, uint64_t offset, bool is_write)
{
	struct fake_vnet *fv = reg->priv;
	uint16_t sel;
	uint32_t v;

	if (offset + count > sizeof(fv->cc))
		return -EINVAL;
	if (!is_write) {
		memcpy(buf, &fv->cc[offset], count);
		return count;
	}
	memcpy(&fv->cc[offset], buf, count);
	sel = cc16(fv, 22);
	switch (offset) {
	case 0:	/* device_feature_select */
		memcpy(&v, &fv->cc[0], 4);
		set_cc32(fv, 4, v == 0 ? (uint32_t)FV_FEATURES :
				v == 1 ? (uint32_t)(FV_FEATURES >> 32) : 0);
		break;
	case 12: /* driver_feature */
		memcpy(&v, &fv->cc[8], 4);
		if (v < 2)
			memcpy(&fv->gf[v], &fv->cc[12], 4);
		break;
	case 20: /* device_status */
		if (fv->cc[20] == 0) {
			memset(fv->last_avail, 0, sizeof(fv->last_avail));
			memset(fv->used_idx, 0, sizeof(fv->used_idx));
		}
		break;
	case 22: /* queue_select */
		if (sel < FV_QUEUES)
			memcpy(&fv->cc[24], fv->qregs[sel], sizeof(fv->qregs[sel]));
		else
			memset(&fv->cc[24], 0, sizeof(fv->qregs[0]));
		break;
	default:
		if (offset >= 24 && sel < FV_QUEUES)
			memcpy(fv->qregs[sel], &fv->cc[24], sizeof(fv->qregs[sel]));
	}
	return count;
}

static void
fv_cap(struct rte_vfio_user_pci_cap *cap, uint8_t (*data)[20], uint8_t type, uint8_t bar,
		uint32_t off, uint32_t len)
{
	memset(data, 0, sizeof(*data));
	(*data)[3] = type;
	(*data)[4] = bar;
	memcpy(&(*data)[8], &off, 4);
	memcpy(&(*data)[12], &len, 4);
	cap->id = PCI_CAP_ID_VNDR;
	cap->len = type == 2 ? 20 : 16;
	cap->data = data;
}

static int
fv_start(struct fake_vnet *fv, const char *dir)
{
	static uint8_t data[4][20];
	struct rte_vfio_user_pci_cap caps[4] = { 0 };
	struct rte_vfio_user_pci_info info = {
		.vendor_id = 0x1af4,
		.device_id = 0x1041,
		.class_code = 0x020000,
		.revision = 1,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		.flags = RTE_VFIO_USER_PCI_F_RESET,
		.caps = caps,
		.nr_caps = RTE_DIM(caps),
	};
	uint32_t mult = FV_NOTIFY_MULT;
	uint16_t q, v;
	int ret;

	memset(fv, 0, sizeof(*fv));
	snprintf(fv->path, sizeof(fv->path), "%s/fake.sock", dir);
	fv->memfd = memfd_create("fake_vnet_bar2", MFD_CLOEXEC);
	if (fv->memfd < 0 || ftruncate(fv->memfd, FV_BAR2_SIZE) != 0)
		return -errno;
	fv->bar2 = mmap(NULL, FV_BAR2_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fv->memfd, 0);
	if (fv->bar2 == MAP_FAILED)
		return -errno;
	/* Device configuration: MAC 02:00:00:00:00:07, link up. */
	fv->bar2[FV_DEVCFG_OFF] = 0x02;
	fv->bar2[FV_DEVCFG_OFF + 5] = 0x07;
	fv->bar2[FV_DEVCFG_OFF + 6] = 1;
	v = FV_QUEUES;
	memcpy(&fv->cc[18], &v, 2);
	for (q = 0; q < FV_QUEUES; q++) {
		v = FV_QSIZE;
		memcpy(&fv->qregs[q][0], &v, 2);	/* queue_size */
		memcpy(&fv->qregs[q][6], &q, 2);	/* queue_notify_off */
	}
	memcpy(&fv->cc[24], fv->qregs[0], sizeof(fv->qregs[0]));
	set_cc32(fv, 4, (uint32_t)FV_FEATURES);

	fv_cap(&caps[0], &data[0], 1, 0, 0, 56);
	fv_cap(&caps[1], &data[1], 2, 2, FV_NOTIFY_OFF, FV_QUEUES * FV_NOTIFY_MULT);
	memcpy(&data[1][16], &mult, 4);
	fv_cap(&caps[2], &data[2], 3, 2, FV_ISR_OFF, 1);
	fv_cap(&caps[3], &data[3], 4, 2, FV_DEVCFG_OFF, 12);
	info.bars[0] = (struct rte_vfio_user_pci_bar){ .size = 0x1000, .rw = fv_bar0_rw,
		.priv = fv, .fd = -1 };
	info.bars[2] = (struct rte_vfio_user_pci_bar){ .size = FV_BAR2_SIZE,
		.flags = RTE_VFIO_USER_PCI_BAR_F_MMAP, .base = fv->bar2, .fd = fv->memfd };

	ret = rte_vfio_user_register(fv->path, NULL);
	if (ret < 0)
		return ret;
	fv->id = ret;
	fv->registered = true;
	fv->pci = rte_vfio_user_pci_create(fv->path, fv->id, &info);
	if (fv->pci == NULL || rte_vfio_user_start(fv->path) < 0)
		return -EIO;
	return 0;
}

static void
fv_stop(struct fake_vnet *fv)
{
	if (fv->registered)
		rte_vfio_user_unregister(fv->path);
	rte_vfio_user_pci_free(fv->pci);
	if (fv->bar2 != NULL && fv->bar2 != MAP_FAILED)
		munmap(fv->bar2, FV_BAR2_SIZE);
	if (fv->memfd > 0)
		close(fv->memfd);
	memset(fv, 0, sizeof(*fv));
}

/* Ring pointers of queue q, from the addresses the driver gave. */
static struct fv_desc *
fv_desc(struct fake_vnet *fv, unsigned int q)
{
	return (struct fv_desc *)(uintptr_t)q64(fv, q, 32);
}

static uint16_t *
fv_avail(struct fake_vnet *fv, unsigned int q)
{
	return (uint16_t *)(uintptr_t)q64(fv, q, 40);
}

static uint32_t *
fv_used(struct fake_vnet *fv, unsigned int q)
{
	return (uint32_t *)(uintptr_t)q64(fv, q, 48);
}

/* Take the next available head of queue q, -1 if none. */
static int
fv_pop(struct fake_vnet *fv, unsigned int q)
{
	uint16_t *avail = fv_avail(fv, q);
	uint16_t idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);

	if (idx == fv->last_avail[q])
		return -1;
	return avail[2 + (fv->last_avail[q]++ % FV_QSIZE)];
}

/* Put a used entry (any id and length: the test is the hostile device). */
static void
fv_push(struct fake_vnet *fv, unsigned int q, uint32_t id, uint32_t len)
{
	uint32_t *used = fv_used(fv, q);
	uint16_t *uidx = (uint16_t *)used + 1;
	uint32_t slot = fv->used_idx[q]++ % FV_QSIZE;

	used[1 + 2 * slot] = id;
	used[2 + 2 * slot] = len;
	__atomic_store_n(uidx, fv->used_idx[q], __ATOMIC_RELEASE);
}

/* Write a frame of len bytes (pattern from seed) with its header into Rx buffer id. */
static void
fv_fill_rx(struct fake_vnet *fv, uint16_t id, uint16_t nbufs, uint32_t len, uint8_t seed)
{
	uint8_t *p = (uint8_t *)(uintptr_t)fv_desc(fv, 0)[id].addr;
	uint32_t i;

	memset(p, 0, FV_HDR);
	memcpy(p + 10, &nbufs, 2);
	for (i = 0; i < len; i++)
		p[FV_HDR + i] = (uint8_t)(seed + i);
}

static uint64_t
xstat(const char *name)
{
	uint64_t id, v = UINT64_MAX;

	if (rte_eth_xstats_get_id_by_name(g_port, name, &id) == 0)
		rte_eth_xstats_get_by_id(g_port, &id, &v, 1);
	return v;
}

static int
dump_has(const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int found;

	if (f == NULL)
		return 0;
	rte_eth_dev_priv_dump(g_port, f);
	fclose(f);
	found = strstr(buf, needle) != NULL;
	if (!found)
		printf("no \"%s\" in the dump:\n%s", needle, buf);
	free(buf);
	return found;
}

static int
fake_case(void)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_mbuf *rx[8], *m;
	uint16_t *avail_event, *used_flags;
	int id, id2, id3;
	uint16_t nb;
	uint32_t i;

	/* Transport: trapped common configuration, the rest mapped. */
	TEST_ASSERT(dump_has("access: common messages, notify mapped, device cfg mapped"),
			"access");
	TEST_ASSERT(dump_has("negotiated: 0x120018020 VERSION_1 MAC STATUS MRG_RXBUF "
			"EVENT_IDX\n"), "features");
	TEST_ASSERT_SUCCESS(rte_eth_dev_configure(g_port, 1, 1, &conf), "configure");
	TEST_ASSERT_SUCCESS(rte_eth_rx_queue_setup(g_port, 0, FV_QSIZE, SOCKET_ID_ANY, NULL,
			g_pool), "rx queue");
	TEST_ASSERT_SUCCESS(rte_eth_tx_queue_setup(g_port, 0, FV_QSIZE, SOCKET_ID_ANY, NULL),
			"tx queue");
	TEST_ASSERT_SUCCESS(rte_eth_dev_start(g_port), "start");
	TEST_ASSERT_EQUAL(g_fv.cc[20], 0xf, "status 0x%x after start", g_fv.cc[20]);

	/* A good frame, then every kind of bad used entry, then a good one again. */
	id = fv_pop(&g_fv, 0);
	id2 = fv_pop(&g_fv, 0);
	id3 = fv_pop(&g_fv, 0);
	TEST_ASSERT(id >= 0 && id2 >= 0 && id3 >= 0, "no Rx buffers posted");
	fv_fill_rx(&g_fv, id, 1, 60, 1);
	fv_push(&g_fv, 0, id, FV_HDR + 60);
	fv_push(&g_fv, 0, 1000, FV_HDR + 60);	/* no such descriptor */
	fv_push(&g_fv, 0, id, FV_HDR + 60);	/* not in flight any more */
	fv_fill_rx(&g_fv, id2, 1, 60, 2);
	fv_push(&g_fv, 0, id2, 100000);		/* past the buffer */
	fv_fill_rx(&g_fv, id3, 2, 60, 3);
	/* 2 buffers (so the first one full), the second one bogus */
	fv_push(&g_fv, 0, id3, fv_desc(&g_fv, 0)[id3].len);
	fv_push(&g_fv, 0, 5000, 60);
	nb = rte_eth_rx_burst(g_port, 0, rx, RTE_DIM(rx));
	TEST_ASSERT_EQUAL(nb, 1, "%u frames from the bad entries", nb);
	TEST_ASSERT_EQUAL(rx[0]->pkt_len, 60u, "frame of %u bytes", rx[0]->pkt_len);
	for (i = 0; i < 60; i++)
		TEST_ASSERT_EQUAL(rte_pktmbuf_mtod(rx[0], uint8_t *)[i], (uint8_t)(1 + i),
				"byte %u", i);
	rte_pktmbuf_free(rx[0]);
	TEST_ASSERT_EQUAL(xstat("rx_q0_errors"), 4u, "rx errors %" PRIu64,
			xstat("rx_q0_errors"));
	id = fv_pop(&g_fv, 0);
	TEST_ASSERT(id >= 0, "no Rx buffer left");
	fv_fill_rx(&g_fv, id, 1, 4, 9);
	fv_push(&g_fv, 0, id, FV_HDR - 1);	/* shorter than the header */
	id = fv_pop(&g_fv, 0);
	/*
	 * num_buffers 3 in a buffer the device did not fill: the frame is whole
	 * there (only a frame's last buffer may be partly used), the field unread.
	 */
	fv_fill_rx(&g_fv, id, 3, 100, 5);
	fv_push(&g_fv, 0, id, FV_HDR + 100);
	nb = rte_eth_rx_burst(g_port, 0, rx, RTE_DIM(rx));
	TEST_ASSERT_EQUAL(nb, 1, "%u frames after the bad ones", nb);
	TEST_ASSERT_EQUAL(rx[0]->pkt_len, 100u, "frame of %u bytes", rx[0]->pkt_len);
	rte_pktmbuf_free(rx[0]);
	TEST_ASSERT_EQUAL(xstat("rx_q0_errors"), 5u, "rx errors");

	/*
	 * Tx with EVENT_IDX: the device wants a notification once the driver
	 * passes avail_event (0 here): the first frame notifies, the second not.
	 */
	used_flags = (uint16_t *)fv_used(&g_fv, 1);
	avail_event = (uint16_t *)(fv_used(&g_fv, 1) + 1 + 2 * FV_QSIZE);
	*used_flags = 1;	/* NO_NOTIFY: ignored with EVENT_IDX */
	*avail_event = 0;
	for (i = 0; i < 2; i++) {
		m = rte_pktmbuf_alloc(g_pool);
		TEST_ASSERT_NOT_NULL(m, "mbuf");
		memset(rte_pktmbuf_append(m, 64), 0xab, 64);
		TEST_ASSERT_EQUAL(rte_eth_tx_burst(g_port, 0, &m, 1), 1, "tx %u", i);
		TEST_ASSERT_EQUAL(xstat("tx_q0_notifications"), 1u, "notifications after %u",
				i + 1);
	}
	TEST_ASSERT_EQUAL(*(uint16_t *)&g_fv.bar2[FV_NOTIFY_OFF + 1 * FV_NOTIFY_MULT], 1,
			"notification value");
	/* The frames: header pushed in the headroom, one descriptor each. */
	id = fv_pop(&g_fv, 1);
	id2 = fv_pop(&g_fv, 1);
	TEST_ASSERT(id >= 0 && id2 >= 0, "frames not in the Tx ring");
	TEST_ASSERT_EQUAL(fv_desc(&g_fv, 1)[id].len, (uint32_t)FV_HDR + 64, "descriptor length");
	TEST_ASSERT_EQUAL(fv_desc(&g_fv, 1)[id].flags, 0, "descriptor chained");
	/* Bogus completions are ignored; the real ones free the mbufs. */
	fv_push(&g_fv, 1, 7777, 0);
	fv_push(&g_fv, 1, id2 ^ 0x80, 0);
	fv_push(&g_fv, 1, id, 0);
	fv_push(&g_fv, 1, id2, 0);
	TEST_ASSERT_EQUAL(rte_eth_tx_burst(g_port, 0, NULL, 0), 0, "empty tx");
	TEST_ASSERT_SUCCESS(rte_eth_dev_stop(g_port), "stop");
	TEST_ASSERT_EQUAL(g_fv.cc[20], 0, "status after stop");
	TEST_ASSERT_EQUAL(rte_mempool_in_use_count(g_pool), 0u, "%u mbufs held",
			rte_mempool_in_use_count(g_pool));
	return TEST_SUCCESS;
}

static int
test_net_vfio_user_virtio_fake(void)
{
	char dir[64] = "/tmp/vu-vnet-fake-XXXXXX";
	char devargs[256];
	int ret;

	if (rte_eal_iova_mode() != RTE_IOVA_VA) {
		printf("the fake device reads rings at their IOVA: needs IOVA as VA\n");
		return TEST_SKIPPED;
	}
	TEST_ASSERT_NOT_NULL(mkdtemp(dir), "mkdtemp");
	g_pool = rte_pktmbuf_pool_create("vnet_fake", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			SOCKET_ID_ANY);
	ret = g_pool != NULL ? fv_start(&g_fv, dir) : -ENOMEM;
	if (ret == 0) {
		snprintf(devargs, sizeof(devargs), "vfio_user:vnic_fake,path=%s", g_fv.path);
		ret = rte_dev_probe(devargs);
		if (ret == 0)
			ret = rte_eth_dev_get_port_by_name("vnic_fake", &g_port);
	}
	if (ret == 0)
		ret = fake_case();
	else
		printf("cannot set up the fake device: %d\n", ret);
	if (g_port != RTE_MAX_ETHPORTS)
		rte_eal_hotplug_remove("vfio_user", "vnic_fake");
	g_port = RTE_MAX_ETHPORTS;
	fv_stop(&g_fv);
	rte_mempool_free(g_pool);
	rmdir(dir);
	return ret == 0 ? TEST_SUCCESS : TEST_FAILED;
}

REGISTER_TEST_COMMAND(net_vfio_user_virtio_fake_autotest, test_net_vfio_user_virtio_fake);

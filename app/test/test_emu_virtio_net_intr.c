/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Guest notifications of the emulated virtio-net device: the ioeventfds it
 * offers with VFIO_USER_DEVICE_GET_REGION_IO_FDS, and the port's Rx
 * interrupts built on them. A thread of the port side sleeps in
 * rte_epoll_wait() on Rx queue 0's interrupt while the fake guest
 * (test_emu_virtio_net_guest.c) kicks through the ioeventfd or by
 * REGION_WRITE. A raw client sends malformed GET_REGION_IO_FDS requests.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>
#include <rte_string_fns.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_emu_virtio_net.h"
#include "test_vfio_user_common.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/* Generous: a wake-up that does not come within this is a failure, not a slow machine. */
#define WAKE_MS 10000
#define NR_DATA_VQS (2 * PAIRS)
/* Port Rx queue 0 takes what the guest sends on its transmitq, virtqueue 1. */
#define RXQ_VQ 1

static char sock_dir[48];
static char sock_path[128];
static const char *vdev_name = "net_emu_virtio_intr";
static uint16_t port = RTE_MAX_ETHPORTS;
static struct rte_mempool *pool;
/* The guest's ioeventfds, by virtqueue; -1 when not taken. */
static int io_fd[NR_DATA_VQS];

/* A port-side thread sleeping on Rx queue 0's interrupt. */
struct waiter {
	pthread_t tid;
	int registered;		/* the fd is in the thread's epoll set */
	int nr_events;		/* what rte_epoll_wait() returned */
};

static void *
waiter_run(void *arg)
{
	struct waiter *w = arg;
	struct rte_epoll_event ev;
	int ret;

	ret = rte_eth_dev_rx_intr_ctl_q(port, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, NULL);
	if (ret < 0) {
		w->nr_events = ret;
		__atomic_store_n(&w->registered, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	__atomic_store_n(&w->registered, 1, __ATOMIC_RELEASE);
	w->nr_events = rte_epoll_wait(RTE_EPOLL_PER_THREAD, &ev, 1, WAKE_MS);
	rte_eth_dev_rx_intr_ctl_q(port, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, NULL);
	return NULL;
}

/*
 * Start the waiter once the queue's eventfd is drained (through the guest's
 * descriptor of the same eventfd): an epoll set reports an fd readable when
 * it is added, and an old count would wake it.
 */
static int
waiter_start(struct waiter *w)
{
	uint64_t v;

	while (read(io_fd[RXQ_VQ], &v, sizeof(v)) == sizeof(v))
		;
	memset(w, 0, sizeof(*w));
	TEST_ASSERT_SUCCESS(pthread_create(&w->tid, NULL, waiter_run, w), "waiter thread");
	/* Once registered, a kick is reported even before the thread sleeps (edge kept). */
	while (!__atomic_load_n(&w->registered, __ATOMIC_ACQUIRE))
		usleep(100);
	return TEST_SUCCESS;
}

/* Join the waiter: the number of events it saw (1 when woken). */
static int
waiter_join(struct waiter *w)
{
	pthread_join(w->tid, NULL);
	return w->nr_events;
}

static uint16_t
used_flags(uint16_t q)
{
	if (vg.packed)
		return ((struct vring_packed_desc_event *)vg.vq[q].used)->flags;
	return vg.vq[q].used->flags;
}

static void
io_fds_close(void)
{
	unsigned int i;

	for (i = 0; i < NR_DATA_VQS; i++) {
		if (io_fd[i] >= 0)
			close(io_fd[i]);
		io_fd[i] = -1;
	}
}

/* Take the ioeventfds like a client would, checking what is offered. */
static int
io_fds_take(void)
{
	struct rte_vfio_user_io_fd io[NR_DATA_VQS + 1];
	uint32_t count = 0, i;

	io_fds_close();
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(vg.cid, VFIO_PCI_BAR0_REGION_INDEX,
		NULL, &count), "count query");
	TEST_ASSERT_EQUAL(count, (uint32_t)NR_DATA_VQS, "one ioeventfd per data queue");
	count = RTE_DIM(io);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(vg.cid, VFIO_PCI_BAR0_REGION_INDEX,
		io, &count), "io fds");
	for (i = 0; i < count; i++)
		io_fd[i] = io[i].fd;
	TEST_ASSERT_EQUAL(count, (uint32_t)NR_DATA_VQS, "entries");
	for (i = 0; i < count; i++) {
		TEST_ASSERT_EQUAL(io[i].offset, vg.notify + i * vg.notify_mult,
			"queue %u: its notify address", i);
		TEST_ASSERT_EQUAL(io[i].size, 2u, "queue %u: the 16-bit notify write", i);
		TEST_ASSERT_EQUAL(io[i].type, (uint32_t)RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD,
			"queue %u: ioeventfd", i);
		TEST_ASSERT_EQUAL(io[i].flags, (uint32_t)KVM_IOEVENTFD_FLAG_DATAMATCH,
			"queue %u: datamatch", i);
		TEST_ASSERT_EQUAL(io[i].datamatch, (uint64_t)i, "queue %u: its index", i);
		TEST_ASSERT(i == 0 || io[i].fd != io[i - 1].fd, "queue %u: its own fd", i);
	}
	return TEST_SUCCESS;
}

static int
test_io_fds_offered(void)
{
	struct rte_vfio_user_io_fd io[1];
	uint32_t count;

	TEST_ASSERT_SUCCESS(io_fds_take(), "BAR0");
	/* Config space and the MSI-X BAR have none. */
	count = RTE_DIM(io);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(vg.cid, VFIO_PCI_CONFIG_REGION_INDEX,
		io, &count), "config space");
	TEST_ASSERT_EQUAL(count, 0u, "no io fd in config space");
	count = RTE_DIM(io);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(vg.cid, VFIO_PCI_BAR2_REGION_INDEX,
		io, &count), "BAR2");
	TEST_ASSERT_EQUAL(count, 0u, "no io fd in the MSI-X BAR");
	return TEST_SUCCESS;
}

/* Kicks wanted only while the Rx interrupt is on; a frame then wakes the port. */
static int
intr_cycle(uint64_t features)
{
	struct waiter w;
	struct rte_mbuf *m;
	uint64_t one = 1;

	TEST_ASSERT_SUCCESS(guest_init(features, 2), "init");
	TEST_ASSERT_SUCCESS(io_fds_take(), "io fds");
	TEST_ASSERT_EQUAL(used_flags(RXQ_VQ), vg.packed ? VRING_PACKED_EVENT_FLAG_DISABLE :
		VRING_USED_F_NO_NOTIFY, "polled: no kick wanted");

	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_enable(port, 0), "enable");
	TEST_ASSERT_EQUAL(used_flags(RXQ_VQ), vg.packed ? VRING_PACKED_EVENT_FLAG_ENABLE : 0,
		"kicks wanted");
	/* The guest transmits and kicks through its ioeventfd. */
	TEST_ASSERT_SUCCESS(waiter_start(&w), "waiter");
	guest_send(0, 0, 100, 1, 1);
	TEST_ASSERT_EQUAL(write(io_fd[RXQ_VQ], &one, sizeof(one)), (ssize_t)sizeof(one), "kick");
	TEST_ASSERT_EQUAL(waiter_join(&w), 1, "woken by the ioeventfd");
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, &m, 1), 1, "the frame");
	rte_pktmbuf_free(m);

	/* The same by REGION_WRITE to the notify address (a client without ioeventfds). */
	TEST_ASSERT_SUCCESS(waiter_start(&w), "waiter");
	guest_send(0, 1, 100, 2, 1);
	TEST_ASSERT_SUCCESS(vg_bar_wr(vg.notify + RXQ_VQ * vg.notify_mult, RXQ_VQ, 2), "kick");
	TEST_ASSERT_EQUAL(waiter_join(&w), 1, "woken by the notify message");
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, &m, 1), 1, "the frame");
	rte_pktmbuf_free(m);

	/* Back to polling: no kick wanted; a frame posted meanwhile is not lost. */
	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_disable(port, 0), "disable");
	TEST_ASSERT_EQUAL(used_flags(RXQ_VQ), vg.packed ? VRING_PACKED_EVENT_FLAG_DISABLE :
		VRING_USED_F_NO_NOTIFY, "kicks suppressed again");
	guest_send(0, 2, 100, 3, 1);
	/* Enabling with a frame already there (no kick comes for it) wakes at once. */
	TEST_ASSERT_SUCCESS(waiter_start(&w), "waiter");
	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_enable(port, 0), "enable");
	TEST_ASSERT_EQUAL(waiter_join(&w), 1, "woken by the frame posted while polling");
	TEST_ASSERT_EQUAL(rte_eth_rx_burst(port, 0, &m, 1), 1, "the frame");
	rte_pktmbuf_free(m);
	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_disable(port, 0), "disable");
	return TEST_SUCCESS;
}

static int
test_rx_intr_split(void)
{
	return intr_cycle(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ));
}

static int
test_rx_intr_packed(void)
{
	return intr_cycle((ALL_FEATURES & ~F(VIRTIO_NET_F_MQ)) | F(VIRTIO_F_RING_PACKED));
}

/* The interrupt setting outlives a device reset: the new rings ask for kicks at once. */
static int
test_rx_intr_across_reset(void)
{
	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_enable(port, 0), "enable");
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	TEST_ASSERT_EQUAL(used_flags(RXQ_VQ), 0, "kicks wanted on the new ring");
	TEST_ASSERT_EQUAL(used_flags(0), VRING_USED_F_NO_NOTIFY, "the receiveq stays polled");
	TEST_ASSERT_SUCCESS(rte_eth_dev_rx_intr_disable(port, 0), "disable");
	TEST_ASSERT_EQUAL(used_flags(RXQ_VQ), VRING_USED_F_NO_NOTIFY, "polled again");
	return TEST_SUCCESS;
}

/* GET_REGION_IO_FDS of @len bytes: 0 (descriptors kept in @m), the error sent, or -1. */
static int
io_fds_call(int s, uint16_t id, const void *req, uint32_t len, struct rmsg *m)
{
	m->nr_fds = 0;
	if (raw_send(s, id, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, req, len, NULL, 0) < 0 ||
			rmsg_recv(s, m, RX_MS) < 0 || m->hdr.msg_id != id)
		return -1;
	if (m->hdr.flags & VFIO_USER_F_ERROR)
		return (int)m->hdr.error;
	return 0;
}

/*
 * A hostile client: GET_REGION_IO_FDS with an argsz short of the structure
 * (EINVAL), one short of the entries (the size needed, count, no entry and
 * no descriptor), flags set or a bad index (EINVAL); a region without
 * sub-regions (count 0, no descriptor). The device serves on after.
 */
static int
hostile_io_fds(int s)
{
	struct vfio_user_region_io_fds_req req = { .argsz = sizeof(req),
		.index = VFIO_PCI_BAR0_REGION_INDEX };
	const uint32_t full = sizeof(req) + NR_DATA_VQS * sizeof(struct vfio_user_sub_region_io_fd);
	struct vfio_user_region_io_fds_req rep;
	struct rmsg m = { .nr_fds = 0 };
	int ret, nr_fds;

	req.argsz = sizeof(req) - 1;
	ret = io_fds_call(s, 10, &req, sizeof(req), &m);
	rmsg_close_fds(&m);
	TEST_ASSERT_EQUAL(ret, EINVAL, "argsz below the structure");
	ret = io_fds_call(s, 11, &req, 8, &m);
	rmsg_close_fds(&m);
	TEST_ASSERT_EQUAL(ret, EINVAL, "message shorter than the structure");

	req.argsz = sizeof(req);
	ret = io_fds_call(s, 12, &req, sizeof(req), &m);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	TEST_ASSERT_SUCCESS(ret, "argsz without room for the entries");
	memcpy(&rep, m.data, sizeof(rep));
	TEST_ASSERT(m.len == sizeof(rep) && rep.argsz == full && rep.count == NR_DATA_VQS &&
		nr_fds == 0, "short argsz: %u bytes, argsz %u, count %u, %d descriptors", m.len,
		rep.argsz, rep.count, nr_fds);

	req.argsz = full - 1;
	ret = io_fds_call(s, 13, &req, sizeof(req), &m);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	TEST_ASSERT(ret == 0 && m.len == sizeof(rep) && nr_fds == 0,
		"one byte short: no entry, no descriptor");

	req.argsz = full;
	req.flags = 1;
	ret = io_fds_call(s, 14, &req, sizeof(req), &m);
	rmsg_close_fds(&m);
	TEST_ASSERT_EQUAL(ret, EINVAL, "flags set");
	req.flags = 0;
	req.index = VFIO_PCI_NUM_REGIONS;
	ret = io_fds_call(s, 15, &req, sizeof(req), &m);
	rmsg_close_fds(&m);
	TEST_ASSERT_EQUAL(ret, EINVAL, "no such region");

	req.index = VFIO_PCI_BAR2_REGION_INDEX;
	ret = io_fds_call(s, 16, &req, sizeof(req), &m);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	memcpy(&rep, m.data, sizeof(rep));
	TEST_ASSERT(ret == 0 && rep.count == 0 && nr_fds == 0,
		"region without sub-regions: count %u, %d descriptors", rep.count, nr_fds);

	req.index = VFIO_PCI_BAR0_REGION_INDEX;
	ret = io_fds_call(s, 17, &req, sizeof(req), &m);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	TEST_ASSERT(ret == 0 && m.len == full && nr_fds == NR_DATA_VQS,
		"full request: %u bytes, %d descriptors", m.len, nr_fds);
	return TEST_SUCCESS;
}

static int
test_hostile_io_fds(void)
{
	struct leak_snap before;
	struct rmsg m = { .nr_fds = 0 };
	int s, ret;

	io_fds_close();
	guest_detach();
	s = raw_session(sock_path, &m);
	TEST_ASSERT(s >= 0, "raw session");
	/* Once the session runs: the previous client's socket is closed by then. */
	leak_snap(&before);
	ret = hostile_io_fds(s);
	if (ret == TEST_SUCCESS)
		ret = leak_check(&before, WAKE_MS);
	close(s);
	TEST_ASSERT_SUCCESS(ret, "hostile requests, nothing leaked");
	TEST_ASSERT_SUCCESS(guest_attach(sock_path), "a client after it");
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES & ~F(VIRTIO_NET_F_MQ), 2), "init");
	return TEST_SUCCESS;
}

static int
case_setup(void)
{
	if (vg.cid < 0 && guest_attach(sock_path) != TEST_SUCCESS)
		return TEST_FAILED;
	/* Polled, whatever a failed case left. */
	rte_eth_dev_rx_intr_disable(port, 0);
	return CC_WR(device_status, 0) == 0 ? TEST_SUCCESS : TEST_FAILED;
}

static int
suite_setup(void)
{
	struct rte_eth_conf conf;
	char args[256];
	uint16_t q;

	memset(io_fd, -1, sizeof(io_fd));
	strlcpy(sock_dir, "/tmp/emu_vnet_intr.XXXXXX", sizeof(sock_dir));
	if (mkdtemp(sock_dir) == NULL)
		return TEST_FAILED;
	snprintf(sock_path, sizeof(sock_path), "%s/vnet.sock", sock_dir);
	snprintf(args, sizeof(args), "path=%s,queues=%d,mac=%s", sock_path, PAIRS, GUEST_MAC);
	if (rte_vdev_init(vdev_name, args) < 0 ||
			rte_eth_dev_get_port_by_name(vdev_name, &port) < 0)
		return TEST_FAILED;
	pool = rte_pktmbuf_pool_create("vnet_intr", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		SOCKET_ID_ANY);
	if (pool == NULL)
		return TEST_FAILED;
	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = 1;
	if (rte_eth_dev_configure(port, PAIRS, PAIRS, &conf) < 0)
		return TEST_FAILED;
	for (q = 0; q < PAIRS; q++)
		if (rte_eth_rx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL, pool) < 0 ||
				rte_eth_tx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL) < 0)
			return TEST_FAILED;
	if (rte_eth_dev_start(port) < 0)
		return TEST_FAILED;
	return guest_attach(sock_path) == TEST_SUCCESS ? TEST_SUCCESS : TEST_FAILED;
}

static void
suite_teardown(void)
{
	io_fds_close();
	guest_detach();
	if (port != RTE_MAX_ETHPORTS) {
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

static struct unit_test_suite emu_vnet_intr_suite = {
	.suite_name = "emulated virtio-net device: notifications and Rx interrupts",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE_ST(case_setup, NULL, test_io_fds_offered),
		TEST_CASE_ST(case_setup, NULL, test_rx_intr_split),
		TEST_CASE_ST(case_setup, NULL, test_rx_intr_packed),
		TEST_CASE_ST(case_setup, NULL, test_rx_intr_across_reset),
		TEST_CASE_ST(case_setup, NULL, test_hostile_io_fds),
		TEST_CASES_END(),
	},
};

static int
test_emu_virtio_net_intr(void)
{
	return unit_test_suite_runner(&emu_vnet_intr_suite);
}

REGISTER_TEST_COMMAND(emu_virtio_net_intr_autotest, test_emu_virtio_net_intr);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The net_vfio_user_virtio ethdev PMD through the vfio_user bus, against the
 * emulated virtio-net device (net_emu_virtio vdev) served by a child process
 * that echoes every frame back on the queue it came from: probe and feature
 * negotiation, link status across stop/start and its interrupt, frames of
 * every size checked byte by byte (mergeable Rx buffers into mbuf chains),
 * promiscuous mode
 * through the control queue, two queue pairs, reset with frames in flight
 * (no mbuf lost), and the server killed under traffic (removal event, link
 * down, no crash, the port closes).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define VNET_SOCK_ENV "NET_VFIO_USER_VIRTIO_TEST_SOCK"
#define VNET_PAIRS 2
#define VNET_MAC "02:00:00:00:00:01"
#define VNET_TIMEOUT_MS 10000
#define VNET_BURST 32
#define VNET_ETHERTYPE 0x88b5	/* local experimental */

static char g_dir[64];
static char g_sock[128];
static pid_t g_srv = -1;
static struct rte_mempool *g_pool;	/* 2 KiB mbufs */
static struct rte_mempool *g_small;	/* 256-byte mbufs: chains for large frames */
static uint16_t g_port = RTE_MAX_ETHPORTS;
static volatile int g_rmv, g_lsc;
/* In the child: SIGUSR1 asks for the port (and the guest's link) down, SIGUSR2 up. */
static int g_want_link = -1;

static void
child_link_signal(int sig)
{
	__atomic_store_n(&g_want_link, sig == SIGUSR2, __ATOMIC_RELAXED);
}

/* The child: the emulated NIC, echoing frames back on their queue. */
static int
child_vnet_server(void)
{
	const char *sock = getenv(VNET_SOCK_ENV);
	struct rte_eth_conf conf = { 0 };
	struct rte_mbuf *pkts[VNET_BURST];
	struct rte_mempool *pool;
	char args[256];
	uint16_t port, q, n, sent;

	if (sock == NULL)
		return TEST_FAILED;
	pool = rte_pktmbuf_pool_create("vnet_srv", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			SOCKET_ID_ANY);
	snprintf(args, sizeof(args), "path=%s,queues=%u,mac=%s", sock, VNET_PAIRS, VNET_MAC);
	if (pool == NULL || rte_vdev_init("net_emu_virtio0", args) != 0 ||
	    rte_eth_dev_get_port_by_name("net_emu_virtio0", &port) != 0 ||
	    rte_eth_dev_configure(port, VNET_PAIRS, VNET_PAIRS, &conf) != 0)
		return TEST_FAILED;
	for (q = 0; q < VNET_PAIRS; q++)
		if (rte_eth_rx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL, pool) != 0 ||
		    rte_eth_tx_queue_setup(port, q, 256, SOCKET_ID_ANY, NULL) != 0)
			return TEST_FAILED;
	if (rte_eth_dev_start(port) != 0)
		return TEST_FAILED;
	signal(SIGUSR1, child_link_signal);
	signal(SIGUSR2, child_link_signal);
	test_child_ready();
	for (;;) {
		/* Taken and cleared at once: a request arriving meanwhile is not lost. */
		int want = __atomic_exchange_n(&g_want_link, -1, __ATOMIC_RELAXED);

		if (want == 0)
			rte_eth_dev_stop(port);
		else if (want == 1)
			rte_eth_dev_start(port);
		for (q = 0; q < VNET_PAIRS; q++) {
			n = rte_eth_rx_burst(port, q, pkts, VNET_BURST);
			sent = rte_eth_tx_burst(port, q, pkts, n);
			rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
		}
	}
	return TEST_SUCCESS;
}

REGISTER_TEST_CHILD(net_vfio_user_virtio_server, child_vnet_server);

static pid_t
spawn_server(void)
{
	char env[256];
	char *extra[] = { env, NULL };

	snprintf(g_sock, sizeof(g_sock), "%s/vnet%u.sock", g_dir, (unsigned int)now_ms());
	snprintf(env, sizeof(env), "%s=%s", VNET_SOCK_ENV, g_sock);
	return test_child_start("net_vfio_user_virtio_server", extra, 30000);
}

static int
event_cb(uint16_t port __rte_unused, enum rte_eth_event_type type, void *arg __rte_unused,
		void *ret_param __rte_unused)
{
	if (type == RTE_ETH_EVENT_INTR_RMV)
		__atomic_store_n(&g_rmv, 1, __ATOMIC_RELEASE);
	else if (type == RTE_ETH_EVENT_INTR_LSC)
		__atomic_fetch_add(&g_lsc, 1, __ATOMIC_RELEASE);
	return 0;
}

static int
probe_port(const char *name)
{
	char devargs[256];

	snprintf(devargs, sizeof(devargs), "vfio_user:%s,path=%s", name, g_sock);
	if (rte_dev_probe(devargs) != 0 || rte_eth_dev_get_port_by_name(name, &g_port) != 0)
		return -1;
	rte_eth_dev_callback_register(g_port, RTE_ETH_EVENT_INTR_RMV, event_cb, NULL);
	rte_eth_dev_callback_register(g_port, RTE_ETH_EVENT_INTR_LSC, event_cb, NULL);
	return 0;
}

/* Hot-unplug the port's device, started or not: the driver closes the port. */
static void
close_port(void)
{
	struct rte_eth_dev_info info;

	if (g_port == RTE_MAX_ETHPORTS)
		return;
	if (rte_eth_dev_info_get(g_port, &info) == 0 && info.device != NULL &&
	    rte_dev_remove(info.device) != 0)
		printf("cannot remove port %u\n", g_port);
	g_port = RTE_MAX_ETHPORTS;
}

static int
setup_port(uint16_t pairs, struct rte_mempool *pool, bool lsc)
{
	struct rte_eth_conf conf = { .intr_conf.lsc = lsc };
	uint16_t q;

	TEST_ASSERT_SUCCESS(rte_eth_dev_configure(g_port, pairs, pairs, &conf), "configure");
	for (q = 0; q < pairs; q++) {
		TEST_ASSERT_SUCCESS(rte_eth_rx_queue_setup(g_port, q, 256, SOCKET_ID_ANY, NULL,
				pool), "rx queue %u", q);
		TEST_ASSERT_SUCCESS(rte_eth_tx_queue_setup(g_port, q, 256, SOCKET_ID_ANY, NULL),
				"tx queue %u", q);
	}
	TEST_ASSERT_SUCCESS(rte_eth_dev_start(g_port), "start");
	return TEST_SUCCESS;
}

/* The port probed (once) and started with that many pairs and that pool. */
static int
ensure_port_lsc(uint16_t pairs, struct rte_mempool *pool, bool lsc)
{
	if (g_port == RTE_MAX_ETHPORTS)
		TEST_ASSERT_SUCCESS(probe_port("vnic0"), "probe");
	TEST_ASSERT_SUCCESS(rte_eth_dev_stop(g_port), "stop");
	return setup_port(pairs, pool, lsc);
}

static int
ensure_port(uint16_t pairs, struct rte_mempool *pool)
{
	return ensure_port_lsc(pairs, pool, false);
}

/* Wait for the link to be up (or down); the device says when. */
static int
wait_link(uint8_t want)
{
	uint64_t end = now_ms() + VNET_TIMEOUT_MS;
	struct rte_eth_link link;

	do {
		TEST_ASSERT_SUCCESS(rte_eth_link_get_nowait(g_port, &link), "link get");
		if (link.link_status == want)
			return TEST_SUCCESS;
		rte_delay_ms(10);
	} while (now_ms() < end);
	TEST_ASSERT(false, "link still %s", want ? "down" : "up");
	return TEST_FAILED;
}

/* A frame of len bytes to dst, its payload a pattern from seq. */
static struct rte_mbuf *
make_frame(const struct rte_ether_addr *dst, uint32_t len, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
	struct rte_ether_hdr *eh;
	uint8_t *p;
	uint32_t i;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	eh = (struct rte_ether_hdr *)p;
	rte_ether_addr_copy(dst, &eh->dst_addr);
	rte_eth_macaddr_get(g_port, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(VNET_ETHERTYPE);
	for (i = sizeof(*eh); i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
	return m;
}

static bool
frame_ok(const struct rte_mbuf *m, uint32_t len, uint32_t seq)
{
	uint8_t buf[RTE_ETHER_MAX_LEN];
	const uint8_t *p;
	uint32_t i;

	if (m->pkt_len != len || len > sizeof(buf))
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	for (i = sizeof(struct rte_ether_hdr); i < len; i++)
		if (p[i] != (uint8_t)(seq * 7 + i))
			return false;
	return true;
}

/*
 * Send n frames of the given lengths on queue q and receive as many back on
 * the same queue, in order and intact; *chains counts those that came as
 * more than one mbuf.
 */
static int
echo(uint16_t q, const uint32_t *lens, unsigned int n, uint32_t seq0, unsigned int *chains)
{
	struct rte_ether_addr own;
	struct rte_mbuf *m, *rx[VNET_BURST];
	uint64_t end = now_ms() + VNET_TIMEOUT_MS;
	unsigned int sent = 0, got = 0, i;
	uint16_t nb;

	rte_eth_macaddr_get(g_port, &own);
	while (got < n) {
		/* Few in flight: 16 large frames in 256-byte buffers fit the Rx ring. */
		if (sent < n && sent - got < 16) {
			m = make_frame(&own, lens[sent], seq0 + sent);
			TEST_ASSERT_NOT_NULL(m, "no mbuf for frame %u", sent);
			if (rte_eth_tx_burst(g_port, q, &m, 1) == 1)
				sent++;
			else
				rte_pktmbuf_free(m);
		}
		nb = rte_eth_rx_burst(g_port, q, rx, VNET_BURST);
		for (i = 0; i < nb; i++, got++) {
			bool ok = got < n && frame_ok(rx[i], lens[got], seq0 + got);

			if (chains != NULL && rx[i]->nb_segs > 1)
				(*chains)++;
			if (!ok) {
				printf("frame %u: %u bytes in %u segments, want %u\n", got,
						rx[i]->pkt_len, rx[i]->nb_segs,
						got < n ? lens[got] : 0);
				rte_pktmbuf_free_bulk(&rx[i], nb - i);
				TEST_ASSERT(false, "frame %u came back wrong", got);
			}
			rte_pktmbuf_free(rx[i]);
		}
		TEST_ASSERT(now_ms() < end, "%u of %u frames back (%u sent) on queue %u", got, n,
				sent, q);
	}
	return TEST_SUCCESS;
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
suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vu-vnet-test-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	g_pool = rte_pktmbuf_pool_create("vnet_big", 2048, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			SOCKET_ID_ANY);
	g_small = rte_pktmbuf_pool_create("vnet_small", 2048, 0, 0,
			RTE_PKTMBUF_HEADROOM + 256, SOCKET_ID_ANY);
	TEST_ASSERT(g_pool != NULL && g_small != NULL, "mbuf pools");
	g_srv = spawn_server();
	TEST_ASSERT(g_srv > 0, "cannot start the server: %d", g_srv);
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	char cmd[128];

	close_port();
	if (g_srv > 0)
		test_child_kill(g_srv, SIGKILL);
	g_srv = -1;
	rte_mempool_free(g_pool);
	rte_mempool_free(g_small);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	if (g_dir[0] != '\0' && system(cmd) != 0)
		printf("cannot remove %s\n", g_dir);
}

/* Probe: identity, what was negotiated, what the port offers. */
static int
test_probe_features(void)
{
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac, want;
	char devargs[256];

	snprintf(devargs, sizeof(devargs), "vfio_user:vnic_bad,path=%s/none.sock", g_dir);
	TEST_ASSERT(rte_dev_probe(devargs) != 0, "probe of a missing server succeeded");
	TEST_ASSERT_SUCCESS(probe_port("vnic0"), "probe");
	TEST_ASSERT_SUCCESS(rte_eth_dev_info_get(g_port, &info), "info");
	TEST_ASSERT_EQUAL(strcmp(info.driver_name, "net_vfio_user_virtio"), 0, "driver %s",
			info.driver_name);
	/* MQ: the pairs the server was given; MRG_RXBUF: chains, large frames. */
	TEST_ASSERT_EQUAL(info.max_rx_queues, VNET_PAIRS, "max_rx_queues %u",
			info.max_rx_queues);
	TEST_ASSERT(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER, "no Rx scatter");
	TEST_ASSERT(info.max_rx_pktlen > RTE_ETHER_MAX_LEN, "max_rx_pktlen %u",
			info.max_rx_pktlen);
	/* MAC: the device's address, read from its configuration. */
	TEST_ASSERT_SUCCESS(rte_eth_macaddr_get(g_port, &mac), "mac");
	rte_ether_unformat_addr(VNET_MAC, &want);
	TEST_ASSERT(rte_is_same_ether_addr(&mac, &want), "MAC " RTE_ETHER_ADDR_PRT_FMT,
			RTE_ETHER_ADDR_BYTES(&mac));
	/* The server offers no EVENT_IDX: everything else the driver knows is taken. */
	TEST_ASSERT(dump_has("negotiated: 0x100478020 VERSION_1 MAC STATUS MRG_RXBUF CTRL_VQ "
			"CTRL_RX MQ\n"), "negotiated features");
	TEST_ASSERT(dump_has("access: common messages, notify messages"), "access");
	return TEST_SUCCESS;
}

/*
 * Probe, start with the link interrupt, traffic, close and remove, a few
 * times: no descriptor (socket, eventfds) or mapping (BARs) is left behind,
 * and every mbuf is back in its pool.
 */
static int
test_probe_remove_leaks(void)
{
	static const uint32_t lens[] = { 64, 1514 };
	struct leak_snap before;
	int i;

	close_port();
	for (i = 0; i < 3; i++) {
		/* The first attach creates what the library keeps for its lifetime. */
		if (i == 1)
			leak_snap(&before);
		TEST_ASSERT_SUCCESS(ensure_port_lsc(1, g_pool, true), "setup, round %d", i);
		TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up, round %d", i);
		TEST_ASSERT_SUCCESS(echo(0, lens, RTE_DIM(lens), i, NULL), "echo, round %d", i);
		close_port();
		TEST_ASSERT(rte_eth_dev_get_port_by_name("vnic0", &g_port) != 0,
				"port left after remove");
		g_port = RTE_MAX_ETHPORTS;
		TEST_ASSERT_EQUAL(rte_mempool_in_use_count(g_pool), 0u,
				"%u mbufs in use, round %d", rte_mempool_in_use_count(g_pool), i);
	}
	return leak_check(&before, VNET_TIMEOUT_MS);
}

/* Link follows start/stop; frames flow after a restart. */
static int
test_link_stop_start(void)
{
	static const uint32_t lens[] = { 60, 64, 128, 1514 };
	int i;

	TEST_ASSERT_SUCCESS(ensure_port(1, g_pool), "setup");
	for (i = 0; i < 3; i++) {
		TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up, round %d", i);
		TEST_ASSERT_SUCCESS(echo(0, lens, RTE_DIM(lens), i * 100, NULL), "echo %d", i);
		TEST_ASSERT_SUCCESS(rte_eth_dev_stop(g_port), "stop");
		TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_DOWN), "link down, round %d", i);
		/* Stopped: every mbuf is back in its pool. */
		TEST_ASSERT_EQUAL(rte_mempool_in_use_count(g_pool), 0u, "%u mbufs in use",
				rte_mempool_in_use_count(g_pool));
		TEST_ASSERT_SUCCESS(rte_eth_dev_start(g_port), "restart %d", i);
	}
	return TEST_SUCCESS;
}

/* Wait until at least n link events came. */
static int
wait_lsc(int n)
{
	uint64_t end = now_ms() + VNET_TIMEOUT_MS;

	while (__atomic_load_n(&g_lsc, __ATOMIC_ACQUIRE) < n)
		TEST_ASSERT(now_ms() < end, "%d link events, waited for %d", g_lsc, n);
	return TEST_SUCCESS;
}

/*
 * Link interrupt: the server's port goes down and up again (the device's
 * link follows it); each change comes as an RTE_ETH_EVENT_INTR_LSC.
 */
static int
test_link_interrupt(void)
{
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	static const uint32_t lens[] = { 64 };

	TEST_ASSERT_SUCCESS(ensure_port_lsc(1, g_pool, true), "setup with lsc");
	TEST_ASSERT_SUCCESS(rte_eth_dev_info_get(g_port, &info), "info");
	TEST_ASSERT(*info.dev_flags & RTE_ETH_DEV_INTR_LSC, "no link interrupt");
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link up");
	__atomic_store_n(&g_lsc, 0, __ATOMIC_RELEASE);
	TEST_ASSERT_SUCCESS(kill(g_srv, SIGUSR1), "signal the server");
	TEST_ASSERT_SUCCESS(wait_lsc(1), "link down event");
	TEST_ASSERT_SUCCESS(rte_eth_link_get_nowait(g_port, &link), "link");
	TEST_ASSERT_EQUAL(link.link_status, RTE_ETH_LINK_DOWN, "link up after the event");
	TEST_ASSERT_SUCCESS(kill(g_srv, SIGUSR2), "signal the server");
	TEST_ASSERT_SUCCESS(wait_lsc(2), "link up event");
	TEST_ASSERT_SUCCESS(rte_eth_link_get_nowait(g_port, &link), "link");
	TEST_ASSERT_EQUAL(link.link_status, RTE_ETH_LINK_UP, "link down after the event");
	return echo(0, lens, RTE_DIM(lens), 3, NULL);
}

/* Every frame size, intact; with 256-byte mbufs, large frames come as chains. */
static int
test_frames(void)
{
	uint32_t lens[1514 - 60 + 1];
	unsigned int i, chains = 0;
	struct rte_eth_stats st;

	for (i = 0; i < RTE_DIM(lens); i++)
		lens[i] = 60 + i;
	TEST_ASSERT_SUCCESS(ensure_port(1, g_small), "setup with small mbufs");
	TEST_ASSERT_SUCCESS(rte_eth_stats_reset(g_port), "stats reset");
	TEST_ASSERT_SUCCESS(echo(0, lens, RTE_DIM(lens), 1000, &chains), "echo");
	TEST_ASSERT(chains > 0, "no frame came as a chain");
	TEST_ASSERT_SUCCESS(rte_eth_stats_get(g_port, &st), "stats");
	TEST_ASSERT_EQUAL(st.opackets, (uint64_t)RTE_DIM(lens), "opackets %" PRIu64,
			st.opackets);
	TEST_ASSERT_EQUAL(st.ipackets, (uint64_t)RTE_DIM(lens), "ipackets %" PRIu64,
			st.ipackets);
	TEST_ASSERT_EQUAL(st.ierrors, 0u, "ierrors %" PRIu64, st.ierrors);
	/* The data queues took the device's ioeventfds; the control queue has none. */
	TEST_ASSERT(dump_has("kick by ioeventfd") &&
			dump_has("kick by message"), "kicks by ioeventfd and by message");
	return TEST_SUCCESS;
}

/*
 * Promiscuous mode through the control queue: frames to another address come
 * back only when it is on (the server filters what it delivers). Queues keep
 * order: once a frame to our own address is back, the others were dropped.
 */
static int
test_promisc(void)
{
	static const struct rte_ether_addr other = {{ 0x02, 0xaa, 0, 0, 0, 0x42 }};
	static const uint32_t one = 100;
	struct rte_mbuf *m[2], *rx[VNET_BURST];
	uint64_t end;
	unsigned int got, i, round;
	struct rte_ether_addr own;
	bool marker;
	uint16_t nb;

	TEST_ASSERT_SUCCESS(ensure_port(1, g_pool), "setup");
	rte_eth_macaddr_get(g_port, &own);
	for (round = 0; round < 2; round++) {
		bool on = round == 1;

		TEST_ASSERT_SUCCESS(on ? rte_eth_promiscuous_enable(g_port) :
				rte_eth_promiscuous_disable(g_port), "promiscuous %d", on);
		m[0] = make_frame(&other, one, 1);
		m[1] = make_frame(&own, one, 2);
		TEST_ASSERT(m[0] != NULL && m[1] != NULL, "mbufs");
		TEST_ASSERT_EQUAL(rte_eth_tx_burst(g_port, 0, m, 2), 2, "tx");
		end = now_ms() + VNET_TIMEOUT_MS;
		got = 0;
		marker = false;
		while (!marker) {
			nb = rte_eth_rx_burst(g_port, 0, rx, VNET_BURST);
			for (i = 0; i < nb; i++) {
				struct rte_ether_hdr *eh = rte_pktmbuf_mtod(rx[i],
						struct rte_ether_hdr *);

				if (rte_is_same_ether_addr(&eh->dst_addr, &own))
					marker = true;
				else
					got++;
			}
			rte_pktmbuf_free_bulk(rx, nb);
			TEST_ASSERT(now_ms() < end, "marker frame not back");
		}
		TEST_ASSERT_EQUAL(got, on ? 1u : 0u, "promiscuous %d: %u foreign frames back",
				on, got);
	}
	TEST_ASSERT_SUCCESS(rte_eth_allmulticast_enable(g_port), "allmulticast on");
	TEST_ASSERT_SUCCESS(rte_eth_allmulticast_disable(g_port), "allmulticast off");
	return TEST_SUCCESS;
}

/* Two queue pairs: each echoes on its own queue; per-queue xstats count them. */
static int
test_multiqueue(void)
{
	static const uint32_t lens[] = { 64, 300, 1500, 64, 64 };
	struct rte_eth_xstat_name names[64];
	struct rte_eth_xstat xs[64];
	uint64_t rxq1 = UINT64_MAX;
	uint16_t q;
	int n, i;

	TEST_ASSERT_SUCCESS(ensure_port(VNET_PAIRS, g_pool), "setup 2 pairs");
	TEST_ASSERT_SUCCESS(rte_eth_xstats_reset(g_port), "xstats reset");
	for (q = 0; q < VNET_PAIRS; q++)
		TEST_ASSERT_SUCCESS(echo(q, lens, RTE_DIM(lens), 50 * q, NULL), "queue %u", q);
	TEST_ASSERT_SUCCESS(echo(1, lens, RTE_DIM(lens), 500, NULL), "queue 1 again");
	n = rte_eth_xstats_get_names(g_port, names, RTE_DIM(names));
	TEST_ASSERT(n > 0 && n <= (int)RTE_DIM(names), "xstats names: %d", n);
	TEST_ASSERT_EQUAL(rte_eth_xstats_get(g_port, xs, n), n, "xstats");
	for (i = 0; i < n; i++)
		if (strcmp(names[xs[i].id].name, "rx_q1_packets") == 0)
			rxq1 = xs[i].value;
	TEST_ASSERT_EQUAL(rxq1, 2 * RTE_DIM(lens), "rx_q1_packets %" PRIu64, rxq1);
	TEST_ASSERT(dump_has("queue pairs: 2 of 2"), "pairs");
	return TEST_SUCCESS;
}

/* Reset with frames in flight: no mbuf is lost, frames flow again after. */
static int
test_reset_mid_traffic(void)
{
	static const uint32_t lens[] = { 64, 1024, 1514 };
	struct rte_ether_addr own;
	struct rte_mbuf *m;
	unsigned int i;

	TEST_ASSERT_SUCCESS(ensure_port(VNET_PAIRS, g_pool), "setup 2 pairs");
	rte_eth_macaddr_get(g_port, &own);
	for (i = 0; i < 100; i++) {
		m = make_frame(&own, 200, i);
		TEST_ASSERT_NOT_NULL(m, "mbuf");
		if (rte_eth_tx_burst(g_port, i % VNET_PAIRS, &m, 1) != 1)
			rte_pktmbuf_free(m);
	}
	TEST_ASSERT_SUCCESS(rte_eth_dev_reset(g_port), "reset");
	TEST_ASSERT_EQUAL(rte_mempool_in_use_count(g_pool), 0u, "%u mbufs held after reset",
			rte_mempool_in_use_count(g_pool));
	TEST_ASSERT_SUCCESS(setup_port(1, g_pool, false), "setup after reset");
	TEST_ASSERT_SUCCESS(wait_link(RTE_ETH_LINK_UP), "link after reset");
	TEST_ASSERT_SUCCESS(echo(0, lens, RTE_DIM(lens), 7, NULL), "echo after reset");
	TEST_ASSERT(dump_has("queue pairs: 1 of 2"), "pairs after reset");
	return TEST_SUCCESS;
}

/* The server dies under traffic: removal event, link down, no crash, clean close. */
static int
test_server_killed(void)
{
	struct rte_ether_addr own;
	struct rte_eth_link link;
	struct rte_mbuf *m, *rx[VNET_BURST];
	uint64_t end, sent = 0;
	uint16_t nb;

	TEST_ASSERT_SUCCESS(ensure_port(1, g_pool), "setup");
	rte_eth_macaddr_get(g_port, &own);
	__atomic_store_n(&g_rmv, 0, __ATOMIC_RELEASE);
	end = now_ms() + VNET_TIMEOUT_MS;
	while (!__atomic_load_n(&g_rmv, __ATOMIC_ACQUIRE)) {
		m = make_frame(&own, 64, 0);
		TEST_ASSERT_NOT_NULL(m, "mbuf");
		if (rte_eth_tx_burst(g_port, 0, &m, 1) == 1)
			sent++;
		else
			rte_pktmbuf_free(m);
		nb = rte_eth_rx_burst(g_port, 0, rx, VNET_BURST);
		rte_pktmbuf_free_bulk(rx, nb);
		if (g_srv > 0 && sent >= 1000) {
			test_child_kill(g_srv, SIGKILL);
			g_srv = -1;
		}
		TEST_ASSERT(now_ms() < end, "no removal event (%" PRIu64 " sent, server %d)",
				sent, g_srv);
	}
	TEST_ASSERT_SUCCESS(rte_eth_link_get_nowait(g_port, &link), "link");
	TEST_ASSERT_EQUAL(link.link_status, RTE_ETH_LINK_DOWN, "link still up");
	m = make_frame(&own, 64, 0);
	TEST_ASSERT_NOT_NULL(m, "mbuf");
	TEST_ASSERT_EQUAL(rte_eth_tx_burst(g_port, 0, &m, 1), 0, "tx after removal");
	rte_pktmbuf_free(m);
	nb = rte_eth_rx_burst(g_port, 0, rx, VNET_BURST);
	rte_pktmbuf_free_bulk(rx, nb);
	TEST_ASSERT_SUCCESS(rte_eth_dev_stop(g_port), "stop after removal");
	TEST_ASSERT(rte_eth_dev_start(g_port) < 0, "start after removal succeeded");
	TEST_ASSERT(dump_has("(removed)"), "dump");
	close_port();
	TEST_ASSERT_EQUAL(rte_mempool_in_use_count(g_pool), 0u, "%u mbufs held after close",
			rte_mempool_in_use_count(g_pool));
	return TEST_SUCCESS;
}

static struct unit_test_suite net_vfio_user_virtio_suite = {
	.suite_name = "net_vfio_user_virtio PMD against the emulated virtio-net device",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_probe_features),
		TEST_CASE(test_link_stop_start),
		TEST_CASE(test_link_interrupt),
		TEST_CASE(test_frames),
		TEST_CASE(test_promisc),
		TEST_CASE(test_multiqueue),
		TEST_CASE(test_reset_mid_traffic),
		TEST_CASE(test_probe_remove_leaks),
		TEST_CASE(test_server_killed),	/* last: the server is gone after it */
		TEST_CASES_END()
	},
};

static int
test_net_vfio_user_virtio(void)
{
	return unit_test_suite_runner(&net_vfio_user_virtio_suite);
}

REGISTER_TEST_COMMAND(net_vfio_user_virtio_autotest, test_net_vfio_user_virtio);

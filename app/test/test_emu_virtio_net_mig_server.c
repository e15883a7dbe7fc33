/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The server processes of emu_virtio_net_mig_autotest: the emulated
 * virtio-net device on an ethdev port whose application echoes every frame
 * of queue pair 0 back to the guest, noting in the shared scoreboard what
 * the port received and what its tx_burst took. SIGTERM ends it cleanly.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "test.h"
#include "test_emu_virtio_net.h"
#include "test_emu_virtio_net_mig.h"
#include "test_vfio_user_common.h"

#define ETH_TYPE_TEST 0x88b5

uint32_t
frame_len(uint32_t seq)
{
	return 64 + (seq * 37) % 1400;
}

/* dst, src, type, le32 sequence number, then a pattern from it. */
void
frame_build(uint8_t *p, uint32_t seq, const char *dst)
{
	uint32_t len = frame_len(seq);
	struct rte_ether_addr a;

	tdev_fill(p, len, seq);
	rte_ether_unformat_addr(dst, &a);
	memcpy(p, &a, RTE_ETHER_ADDR_LEN);
	memset(p + 6, 0x02, RTE_ETHER_ADDR_LEN);
	p[12] = ETH_TYPE_TEST >> 8;
	p[13] = ETH_TYPE_TEST & 0xff;
	memcpy(p + 14, &seq, 4);
}

uint32_t
frame_seq(const uint8_t *p)
{
	uint32_t seq;

	memcpy(&seq, p + 14, 4);
	return seq;
}

/*
 * Server child: the device on its port, echoing on queue pair 0.
 */

static volatile sig_atomic_t child_quit;

static void
child_on_term(int sig)
{
	RTE_SET_USED(sig);
	child_quit = 1;
}

static int
child_port_setup(const char *name, uint16_t *port, struct rte_mempool **pool)
{
	struct rte_eth_conf conf;
	uint16_t q;

	if (rte_eth_dev_get_port_by_name(name, port) < 0)
		return -1;
	*pool = rte_pktmbuf_pool_create("vnet_mig", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		SOCKET_ID_ANY);
	if (*pool == NULL)
		return -1;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(*port, PAIRS, PAIRS, &conf) < 0)
		return -1;
	for (q = 0; q < PAIRS; q++)
		if (rte_eth_rx_queue_setup(*port, q, 256, SOCKET_ID_ANY, NULL, *pool) < 0 ||
				rte_eth_tx_queue_setup(*port, q, 256, SOCKET_ID_ANY, NULL) < 0)
			return -1;
	return rte_eth_dev_start(*port);
}

/* Take what the guest sent, note it, send it back; what tx_burst refuses is tried again. */
static void
child_echo(uint16_t port, struct board *b, uint8_t side)
{
	struct rte_mbuf *m[32];
	uint32_t seqs[32];
	uint16_t held = 0, n, k, i;

	while (!child_quit) {
		n = rte_eth_rx_burst(port, 0, m + held, RTE_DIM(m) - held);
		for (i = held; i < held + n; i++) {
			seqs[i] = frame_seq(rte_pktmbuf_mtod(m[i], const uint8_t *));
			if (seqs[i] < NB_SEQ) {
				b->rx_side[seqs[i]] = side;
				__atomic_fetch_add(&b->rx[seqs[i]], 1, __ATOMIC_RELEASE);
			}
		}
		held += n;
		k = held != 0 ? rte_eth_tx_burst(port, 0, m, held) : 0;
		for (i = 0; i < k; i++)
			if (seqs[i] < NB_SEQ)
				__atomic_fetch_add(&b->tx[seqs[i]], 1, __ATOMIC_RELEASE);
		memmove(m, m + k, (held - k) * sizeof(m[0]));
		memmove(seqs, seqs + k, (held - k) * sizeof(seqs[0]));
		held -= k;
		if (n == 0 && k == 0)
			usleep(100);
	}
	rte_pktmbuf_free_bulk(m, held);
}

static int
child_vnet_mig_server(void)
{
	const char *path = getenv(SOCK_ENV), *bpath = getenv(BOARD_ENV);
	const char *mac = getenv(MAC_ENV), *side = getenv(SIDE_ENV);
	struct rte_mempool *pool = NULL;
	struct board *b;
	uint16_t port;
	char args[256];
	int fd, ret = TEST_FAILED;

	if (path == NULL || bpath == NULL || side == NULL)
		return TEST_FAILED;
	signal(SIGTERM, child_on_term);
	fd = open(bpath, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return TEST_FAILED;
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (b == MAP_FAILED)
		return TEST_FAILED;
	/* B gets a random MAC: the guest's must come with the device. */
	snprintf(args, sizeof(args), "path=%s,queues=%d%s%s", path, PAIRS,
		mac != NULL ? ",mac=" : "", mac != NULL ? mac : "");
	if (rte_vdev_init("net_emu_virtio_mig", args) == 0 &&
			child_port_setup("net_emu_virtio_mig", &port, &pool) == 0) {
		test_child_ready();
		child_echo(port, b, (uint8_t)atoi(side));
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
		ret = TEST_SUCCESS;
	}
	rte_vdev_uninit("net_emu_virtio_mig");
	rte_mempool_free(pool);
	munmap(b, sizeof(*b));
	return ret;
}

REGISTER_TEST_CHILD(emu_vnet_mig_server, child_vnet_mig_server);


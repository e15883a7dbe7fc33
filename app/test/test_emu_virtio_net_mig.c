/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Live migration of the emulated virtio-net device between two server
 * processes. Each server echoes every frame its port receives back to the
 * guest and notes, in a shared scoreboard file, which sequence numbers its
 * port received and which echoes its tx_burst took. This process is the
 * guest's VMM: the fake guest of emu_virtio_net_autotest sends numbered
 * frames and takes the echoes while the device moves A -> B (split rings),
 * then B -> A (packed rings), its memory copied to the destination guided
 * by DMA logging. Checked: no frame lost or duplicated either way, the
 * device's configuration and receive filter the same on the destination,
 * the log reporting exactly the pages the device wrote, and lying streams
 * refused with the device untouched.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_emu_virtio_net.h"
#include "test_emu_virtio_net_mig.h"
#include "test_vfio_user_common.h"

#define ROUND_SEQS 2048		/* each migration numbers its frames apart */
#define PROBE_SEQ 0x100000	/* frames outside the scoreboard */
#define PAGE 4096
#define NB_PAGES (MEM_SIZE / PAGE)
#define WAIT_MS 20000
#define TABLE_MAC "02:00:00:00:00:42"
#define OTHER_MAC "02:00:00:00:00:99"

/* One server process. */
struct side {
	char path[128];
	pid_t pid;
};

static char dir[64];
static char board_path[128];
static struct board *board;
static struct side sa = { .pid = -1 }, sb = { .pid = -1 };
static uint32_t got[NB_SEQ];	/* echoes the guest received */
static uint32_t probe_got[4];
static uint32_t next_seq;
static unsigned int tx_inflight;
static uint8_t stream[16384];
static size_t stream_len;

static int
side_spawn(struct side *s, const char *name, const char *mac)
{
	char env_sock[192], env_board[192], env_mac[64], env_side[32];
	char *extra[] = { env_sock, env_board, env_side, mac != NULL ? env_mac : NULL, NULL };

	snprintf(s->path, sizeof(s->path), "%s/%s.sock", dir, name);
	snprintf(env_sock, sizeof(env_sock), "%s=%s", SOCK_ENV, s->path);
	snprintf(env_board, sizeof(env_board), "%s=%s", BOARD_ENV, board_path);
	snprintf(env_mac, sizeof(env_mac), "%s=%s", MAC_ENV, mac != NULL ? mac : "");
	snprintf(env_side, sizeof(env_side), "%s=%d", SIDE_ENV, s == &sa ? 1 : 2);
	s->pid = test_child_start("emu_vnet_mig_server", extra, 30000);
	TEST_ASSERT(s->pid > 0, "server %s: %d", name, (int)s->pid);
	return TEST_SUCCESS;
}

/*
 * The guest's traffic: numbered frames out on pair 0, echoes back.
 */

/* Take back the transmit buffers the device is done with; how many are still out. */
static unsigned int
guest_tx_reclaim(void)
{
	uint32_t id, len;

	while (gvq_used(1, &id, &len) == 0)
		tx_inflight--;
	return tx_inflight;
}

/* Post one frame on the guest's transmit queue; false while the ring is full. */
static bool
guest_tx(uint32_t seq, const char *dst)
{
	uint32_t len;
	uint8_t *p;
	uint64_t iova;

	if (guest_tx_reclaim() == QSIZE)
		return false;
	p = vg_buf(1, vg.vq[1].next_desc);
	memset(p, 0, HDR_LEN);
	frame_build(p + HDR_LEN, seq, dst);
	iova = vg_iova(p);
	len = HDR_LEN + frame_len(seq);
	gvq_post(1, &iova, &len, 1, 1);
	tx_inflight++;
	return true;
}

static void
page_set(uint64_t *map, uint64_t off, uint64_t len)
{
	uint64_t p;

	for (p = off / PAGE; p <= (off + len - 1) / PAGE; p++)
		map[p / 64] |= UINT64_C(1) << (p % 64);
}

/* Take the echoes in the receive queue, check them, give the buffers back. */
static int
guest_rx(uint64_t *written)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t want[2048];
	uint32_t id, len, seq;
	uint64_t off;
	const uint8_t *p;

	while (gvq_used(0, &id, &len) == 0) {
		off = vg.vq[0].id_addr[id % QSIZE] - IOVA_BASE;
		p = vg.mem + off;
		TEST_ASSERT(len >= HDR_LEN + 18 && len <= BUF_SIZE, "echo length %u", len);
		memcpy(&hdr, p, sizeof(hdr));
		TEST_ASSERT_EQUAL(hdr.num_buffers, 1, "one buffer per echo");
		seq = frame_seq(p + HDR_LEN);
		TEST_ASSERT_EQUAL(len, HDR_LEN + frame_len(seq), "echo %u length", seq);
		/* From the source address on: probes have their own destination. */
		frame_build(want, seq, GUEST_MAC);
		TEST_ASSERT(memcmp(want + 6, p + HDR_LEN + 6, frame_len(seq) - 6) == 0,
			"echo %u payload", seq);
		if (seq < NB_SEQ)
			got[seq]++;
		else if (seq - PROBE_SEQ < RTE_DIM(probe_got))
			probe_got[seq - PROBE_SEQ]++;
		if (written != NULL)
			page_set(written, off, len);
		guest_post_rx(0, 1, BUF_SIZE);
	}
	return TEST_SUCCESS;
}

/*
 * Frames below kept_below that the port of server kept_side received but
 * did not echo are kept by that server's application (taken by a burst just
 * before the device stopped): their echo never comes.
 */
static uint32_t kept_below;
static uint8_t kept_side;

static bool
kept(uint32_t s)
{
	return s < kept_below && __atomic_load_n(&board->rx[s], __ATOMIC_ACQUIRE) == 1 &&
		board->rx_side[s] == kept_side &&
		__atomic_load_n(&board->tx[s], __ATOMIC_ACQUIRE) == 0;
}

/* Frames of [first, next_seq) whose echo is still to come. */
static unsigned int
echoes_missing(uint32_t first)
{
	unsigned int n = 0;
	uint32_t s;

	for (s = first; s < next_seq; s++)
		n += got[s] == 0 && !kept(s);
	return n;
}

/* Send @n frames; with @wait, until every echo of [first, next_seq) came back. */
static int
traffic(unsigned int n, uint32_t first, bool wait, uint64_t *written)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (n > 0) {
		if (guest_tx(next_seq, GUEST_MAC)) {
			next_seq++;
			n--;
			continue;
		}
		TEST_ASSERT_SUCCESS(guest_rx(written), "receive");
		TEST_ASSERT(now_ms() < end, "transmit ring never drained");
		sched_yield();
	}
	do {
		TEST_ASSERT_SUCCESS(guest_rx(written), "receive");
		if (!wait || echoes_missing(first) == 0)
			return TEST_SUCCESS;
		sched_yield();
	} while (now_ms() < end);
	printf("%u of %u echoes missing\n", echoes_missing(first), next_seq - first);
	return TEST_FAILED;
}

/* The receive filter: a frame to the table's address comes back, one to another does not. */
static int
filter_probe(unsigned int k)
{
	uint64_t end = now_ms() + WAIT_MS;

	memset(probe_got, 0, sizeof(probe_got));
	while (!guest_tx(PROBE_SEQ + k, OTHER_MAC))
		TEST_ASSERT_SUCCESS(guest_rx(NULL), "receive");
	while (!guest_tx(PROBE_SEQ + k + 1, TABLE_MAC))
		TEST_ASSERT_SUCCESS(guest_rx(NULL), "receive");
	/* Echoed in order: once the second is in, the first was dropped by the filter. */
	while (probe_got[k + 1] == 0) {
		TEST_ASSERT(now_ms() < end, "no echo to the MAC table's address");
		TEST_ASSERT_SUCCESS(guest_rx(NULL), "receive");
		sched_yield();
	}
	TEST_ASSERT_EQUAL(probe_got[k], 0, "a frame to an address not in the filter came back");
	return TEST_SUCCESS;
}

/* Receive modes and MAC filter: promiscuous off, one unicast table entry, one pair. */
static int
guest_filter_setup(void)
{
	uint8_t tbl[4 + 6 + 4];
	uint32_t one = 1, zero = 0;
	uint8_t off = 0;
	uint16_t pairs = 1;
	struct rte_ether_addr a;

	rte_ether_unformat_addr(TABLE_MAC, &a);
	memcpy(tbl, &one, 4);
	memcpy(tbl + 4, &a, 6);
	memcpy(tbl + 10, &zero, 4);
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, tbl,
		sizeof(tbl)), VIRTIO_NET_OK, "MAC table");
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		VIRTIO_NET_OK, "promiscuous off");
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
		2), VIRTIO_NET_OK, "one pair");
	return TEST_SUCCESS;
}

/*
 * The VMM's part: memory copy guided by the log, the device state.
 */

/* Pages the guest itself writes: descriptors and available rings, its frames, commands. */
static void
guest_pages(uint64_t *map)
{
	uint16_t q;

	for (q = 0; q < NR_VQS; q++)
		page_set(map, RING_OFF(q), 0x2000);
	page_set(map, BUF_OFF(1), 128 * BUF_SIZE);
	page_set(map, BUF_OFF(CTRL_VQ), 128 * BUF_SIZE);
}

/* Copy the pages the log reports, and the guest's own, from @from to @to. */
static int
sync_pages(int cid, const uint8_t *from, uint8_t *to, unsigned int *nb_dev_pages)
{
	uint64_t map[NB_PAGES / 64], mine[NB_PAGES / 64];
	unsigned int p;

	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(cid, IOVA_BASE, MEM_SIZE, PAGE, map),
		"dirty report");
	memset(mine, 0, sizeof(mine));
	guest_pages(mine);
	for (p = 0; p < NB_PAGES; p++) {
		uint64_t bit = UINT64_C(1) << (p % 64);

		if ((map[p / 64] | mine[p / 64]) & bit)
			memcpy(to + (size_t)p * PAGE, from + (size_t)p * PAGE, PAGE);
		*nb_dev_pages += (map[p / 64] & bit) != 0;
	}
	return TEST_SUCCESS;
}

static int
state_is(int cid, enum rte_vfio_user_mig_state want)
{
	enum rte_vfio_user_mig_state st;

	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(cid, &st), "get state");
	TEST_ASSERT_EQUAL(st, want, "state %d, expected %d", st, want);
	return TEST_SUCCESS;
}

/*
 * The log reports exactly what the device wrote: echoes, used entries (or
 * packed write-backs) of both queues, the control queue's used entry and ack.
 */
static int
check_log_exact(uint32_t first)
{
	uint64_t want[NB_PAGES / 64], map[NB_PAGES / 64];
	uint64_t page_size = PAGE, used_off = vg.packed ? 0 : 0x2000;
	uint8_t on = 1;
	unsigned int i;

	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(vg.cid, NULL, 0, &page_size), "log start");
	TEST_ASSERT_EQUAL(page_size, PAGE, "logging granularity");
	memset(want, 0, sizeof(want));
	TEST_ASSERT_SUCCESS(traffic(8, first, true, want), "logged traffic");
	/* The ack goes at offset 512 of the command's buffer (guest_ctrl()). */
	page_set(want, vg_buf(CTRL_VQ, vg.vq[CTRL_VQ].next_desc) + 512 - vg.mem, 1);
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
		VIRTIO_NET_OK, "allmulti on");
	page_set(want, RING_OFF(0) + used_off, 1);
	page_set(want, RING_OFF(1) + used_off, 1);
	page_set(want, RING_OFF(CTRL_VQ) + used_off, 1);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(vg.cid, IOVA_BASE, MEM_SIZE, PAGE, map),
		"report");
	for (i = 0; i < RTE_DIM(map); i++)
		TEST_ASSERT_EQUAL(map[i], want[i], "pages %u-%u: logged 0x%" PRIx64 ", written 0x%"
			PRIx64, i * 64, i * 64 + 63, map[i], want[i]);
	/* Nothing is reported outside the DMA window. */
	TEST_ASSERT(rte_vfio_user_dirty_report(vg.cid, IOVA_BASE + MEM_SIZE, PAGE, PAGE, map) < 0,
		"a report past the DMA window");
	return TEST_SUCCESS;
}

/* What the destination shows the guest: its negotiated device, queue by queue. */
static int
check_config(uint64_t features, uint8_t status)
{
	struct rte_ether_addr want;
	uint64_t ring;
	uint16_t q;
	unsigned int i;
	uint8_t mac[6];

	TEST_ASSERT_EQUAL(vg_status(), status, "device status");
	CC_WR(guest_feature_select, 0);
	TEST_ASSERT_EQUAL(CC_RD(guest_feature), (uint32_t)features, "driver features 0-31");
	CC_WR(guest_feature_select, 1);
	TEST_ASSERT_EQUAL(CC_RD(guest_feature), (uint32_t)(features >> 32),
		"driver features 32-63");
	TEST_ASSERT_EQUAL(CC_RD(msix_config), 0u, "config vector");
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)vg_bar_rd(vg.devcfg + i, 1);
	rte_ether_unformat_addr(GUEST_MAC, &want);
	TEST_ASSERT(memcmp(mac, &want, 6) == 0, "the guest's MAC came along");
	for (q = 0; q < NR_VQS; q++) {
		bool on = q < 2 || q == CTRL_VQ;

		CC_WR(queue_select, q);
		TEST_ASSERT_EQUAL(CC_RD(queue_enable), on ? 1u : 0u, "queue %u enable", q);
		TEST_ASSERT_EQUAL(CC_RD(queue_notify_off), (uint32_t)q, "queue %u notify_off", q);
		if (!on)
			continue;
		ring = vg_iova(vg.mem + RING_OFF(q));
		TEST_ASSERT_EQUAL(CC_RD(queue_size), QSIZE, "queue %u size", q);
		TEST_ASSERT_EQUAL(CC_RD(queue_msix_vector), q + 1u, "queue %u vector", q);
		TEST_ASSERT_EQUAL(CC_RD(queue_desc_lo), (uint32_t)ring, "queue %u ring", q);
		TEST_ASSERT_EQUAL(CC_RD(queue_avail_lo), (uint32_t)ring + 0x1000, "queue %u", q);
		TEST_ASSERT_EQUAL(CC_RD(queue_used_lo), (uint32_t)ring + 0x2000, "queue %u", q);
	}
	return TEST_SUCCESS;
}

/* Every frame of [first, end) received once by a port; every echo taken arrived once. */
static int
check_board(uint32_t first, uint32_t end, unsigned int *kept_by_source)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	uint32_t s;

	*kept_by_source = 0;
	for (s = first; s < end; s++) {
		/* The server notes an echo just after tx_burst: give it time to. */
		while (__atomic_load_n(&board->tx[s], __ATOMIC_ACQUIRE) != got[s] &&
				now_ms() < deadline)
			sched_yield();
		TEST_ASSERT_EQUAL(board->rx[s], 1, "frame %u received %u times by the ports", s,
			board->rx[s]);
		TEST_ASSERT_EQUAL(got[s], board->tx[s], "frame %u: %u echoes taken, %u arrived", s,
			board->tx[s], got[s]);
		TEST_ASSERT(got[s] <= 1, "echo %u arrived %u times", s, got[s]);
		/* The source's application keeps what it took but could not echo before STOP. */
		if (got[s] == 0) {
			TEST_ASSERT(kept(s), "frame %u not echoed, not kept by the source", s);
			(*kept_by_source)++;
		}
	}
	return TEST_SUCCESS;
}

/*
 * One migration of the running device from @from to @to, the guest's memory
 * moving from its memfd to a new one, rings of the @features' layout.
 */
static int
migrate(struct side *from, struct side *to, uint64_t features, uint32_t first)
{
	uint64_t flags, size_hint;
	unsigned int round, dev_pages = 0, nb_kept, carried;
	uint8_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	enum rte_vfio_user_mig_state cur;
	struct rte_vfio_user_mem_reg mr;
	uint8_t *to_mem, *ack, off = 0;
	uint32_t id, len;
	int to_fd, cid;
	ssize_t n;

	next_seq = first;
	kept_below = first;
	TEST_ASSERT_SUCCESS(guest_attach(from->path), "attach the source");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_probe(vg.cid, &flags), "migration probe");
	TEST_ASSERT_EQUAL(flags, RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY,
		"migration flags");
	TEST_ASSERT_SUCCESS(guest_init(features, 2), "guest init");
	tx_inflight = 0;
	guest_post_rx(0, QSIZE, BUF_SIZE);
	TEST_ASSERT_SUCCESS(guest_filter_setup(), "filter");
	TEST_ASSERT_SUCCESS(traffic(100, first, true, NULL), "traffic on the source");
	TEST_ASSERT_SUCCESS(filter_probe(0), "filter on the source");
	TEST_ASSERT_SUCCESS(check_log_exact(first), "exact log");

	/* Pre-copy: the destination's memory starts as a copy, kept up to date from the log. */
	to_fd = memfd_create("vnet_mig_dst", MFD_CLOEXEC);
	TEST_ASSERT(to_fd >= 0 && ftruncate(to_fd, MEM_SIZE) == 0, "destination memfd");
	to_mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, to_fd, 0);
	TEST_ASSERT(to_mem != MAP_FAILED, "destination mmap");
	memcpy(to_mem, vg.mem, MEM_SIZE);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_PRE_COPY, NULL),
		"PRE_COPY");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_data_size(vg.cid, &size_hint), "data size");
	TEST_ASSERT(size_hint > 0 && size_hint <= sizeof(stream), "data size %" PRIu64,
		size_hint);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_read(vg.cid, stream, sizeof(stream)), 0,
		"pre-copy data: the state is sent at STOP_COPY");
	/* Frames keep flowing; every other round races with the copy. */
	for (round = 0; round < 6; round++) {
		TEST_ASSERT_SUCCESS(traffic(48, first, round % 2 == 0, NULL), "pre-copy traffic");
		TEST_ASSERT_SUCCESS(sync_pages(vg.cid, vg.mem, to_mem, &dev_pages), "sync");
	}
	TEST_ASSERT(dev_pages > 0, "no device write reported during pre-copy");

	/* Stop; what the guest sends now stays in its ring for the destination. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_STOP, &cur),
		"STOP");
	carried = guest_tx_reclaim();
	kept_below = next_seq;
	kept_side = from == &sa ? 1 : 2;
	TEST_ASSERT_SUCCESS(traffic(8, first, false, NULL), "frames sent while stopped");
	/* A command kicked now waits for the destination (guest_ctrl(): ack at offset 512). */
	ack = vg_buf(CTRL_VQ, vg.vq[CTRL_VQ].next_desc) + 512;
	TEST_ASSERT_EQUAL(guest_ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1),
		-1, "a control command ran while stopped");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_STOP_COPY,
		NULL), "STOP_COPY");
	stream_len = 0;
	do {
		n = rte_vfio_user_mig_read(vg.cid, stream + stream_len, 100);
		TEST_ASSERT(n >= 0, "read stream: %zd", n);
		stream_len += n;
	} while (n == 100 && stream_len + 100 <= sizeof(stream));
	TEST_ASSERT_EQUAL(stream_len, size_hint, "stream size as announced");
	TEST_ASSERT_SUCCESS(sync_pages(vg.cid, vg.mem, to_mem, &dev_pages), "stop-copy sync");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(vg.cid), "log stop");
	TEST_ASSERT(memcmp(vg.mem, to_mem, MEM_SIZE) == 0,
		"memory copied by the log differs from the source");
	TEST_ASSERT_SUCCESS(state_is(vg.cid, RTE_VFIO_USER_MIG_STOP_COPY), "source");
	/* Stopped means stopped: nothing taken since, before or after STOP_COPY. */
	TEST_ASSERT_EQUAL(guest_tx_reclaim(), carried + 8, "frames taken while stopped");
	carried += 8;
	/*
	 * The VMM lets the source go with a reset: a client that just left would
	 * have it run again on the old memory until the library tears it down.
	 */
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(vg.cid), "reset the source");

	/* The guest now runs on the destination's memory (same addresses here). */
	guest_detach();
	TEST_ASSERT(mmap(vg.mem, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, to_fd,
		0) == vg.mem, "guest memory moved");
	munmap(to_mem, MEM_SIZE);
	close(vg.memfd);
	vg.memfd = to_fd;
	TEST_ASSERT_SUCCESS(guest_attach(to->path), "attach the destination");
	cid = vg.cid;
	/* With packed rings the memory is mapped only after RUNNING: the queues wait for it. */
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = vg.mem;
	if (vg.packed)
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(cid, &mr, 1), "unmap");
	efd_wait(vg.efd[CTRL_VQ + 1], 0); /* drop the control queue's earlier interrupts */
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(cid, RTE_VFIO_USER_MIG_RESUMING, NULL),
		"RESUMING");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_write(cid, stream, stream_len), "write stream");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(cid, RTE_VFIO_USER_MIG_RUNNING, NULL),
		"RUNNING on the destination");
	if (vg.packed) {
		usleep(50 * 1000); /* the server polls its queues meanwhile */
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(cid, &mr, &vg.memfd, 1), "map");
	}
	TEST_ASSERT_SUCCESS(check_config(features, status), "configuration moved");
	/* The destination ran the command kicked while stopped, and said so. */
	TEST_ASSERT(efd_wait(vg.efd[CTRL_VQ + 1], WAIT_MS) > 0, "control queue interrupt");
	TEST_ASSERT_SUCCESS(gvq_used(CTRL_VQ, &id, &len), "command kicked while stopped");
	TEST_ASSERT(len == 1 && *ack == VIRTIO_NET_OK, "its ack: %u bytes, 0x%x", len, *ack);

	/* The destination takes the frames sent while stopped, then new ones. */
	TEST_ASSERT_SUCCESS(traffic(0, first, true, NULL), "frames carried over");
	TEST_ASSERT_SUCCESS(traffic(200, first, true, NULL), "traffic on the destination");
	TEST_ASSERT_SUCCESS(filter_probe(2), "filter on the destination");
	TEST_ASSERT_SUCCESS(check_board(first, next_seq, &nb_kept), "scoreboard");
	printf("migration (%s rings): %u frames, %zu bytes of device state, %u pages reported "
		"dirty, %u frames carried in the ring, %u echoes kept by the source's "
		"application\n", vg.packed ? "packed" : "split", next_seq - first, stream_len,
		dev_pages, carried, nb_kept);
	TEST_ASSERT(kill(from->pid, 0) == 0 && kill(to->pid, 0) == 0, "a server died");
	return TEST_SUCCESS;
}

static int
test_mig_split(void)
{
	return migrate(&sa, &sb, ALL_FEATURES, 0);
}

static int
test_mig_packed(void)
{
	guest_detach();
	return migrate(&sb, &sa, ALL_FEATURES | F(VIRTIO_F_RING_PACKED), ROUND_SEQS);
}

/*
 * Hostile streams, loaded into B (the guest moves there, its device set up
 * halfway): each is refused with B in ERROR and its state untouched.
 */

/* Stream layout (emu_vnet_mig.c): 16-byte header, 262-byte device record, 40 per queue. */
#define S_DEV 16
#define S_Q(q) (S_DEV + 262 + 40 * (q))
#define S_PCI S_Q(NR_VQS)

struct half_state {
	uint8_t status;
	uint16_t queue_sel, msix_config, qsize;
	uint8_t mac[6];
};

static void
half_state_read(struct half_state *h)
{
	unsigned int i;

	memset(h, 0, sizeof(*h)); /* compared whole, padding included */
	h->status = vg_status();
	h->queue_sel = (uint16_t)CC_RD(queue_select);
	h->msix_config = (uint16_t)CC_RD(msix_config);
	h->qsize = (uint16_t)CC_RD(queue_size);
	for (i = 0; i < 6; i++)
		h->mac[i] = (uint8_t)vg_bar_rd(vg.devcfg + i, 1);
}

/* A driver halfway through its setup: what a load would overwrite. */
static void
half_state_set(void)
{
	CC_WR(device_status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	CC_WR(msix_config, 1);
	CC_WR(queue_select, 3);
	CC_WR(queue_size, 32);
}

static int
lie_refused(const uint8_t *img, size_t len, const char *what)
{
	enum rte_vfio_user_mig_state cur = RTE_VFIO_USER_MIG_RUNNING;
	struct half_state before, after;
	int ret;

	half_state_set();
	half_state_read(&before);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_RESUMING, NULL),
		"RESUMING (%s)", what);
	ret = len != 0 ? rte_vfio_user_mig_write(vg.cid, img, len) : 0;
	if (ret == 0)
		ret = rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_STOP, &cur);
	else
		TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(vg.cid, &cur), "state");
	TEST_ASSERT(ret < 0, "a stream with %s was accepted", what);
	TEST_ASSERT_EQUAL(cur, RTE_VFIO_USER_MIG_ERROR, "%s: state %d, not ERROR", what, cur);
	half_state_read(&after);
	TEST_ASSERT(memcmp(&before, &after, sizeof(before)) == 0,
		"%s: the device changed (status 0x%x, queue %u size %u, vector %u)", what,
		after.status, after.queue_sel, after.qsize, after.msix_config);
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(vg.cid), "reset after %s", what);
	return state_is(vg.cid, RTE_VFIO_USER_MIG_RUNNING);
}

static int
lie_at(size_t off, uint32_t xor, const char *what)
{
	static uint8_t img[sizeof(stream)];
	uint32_t v;

	memcpy(img, stream, stream_len);
	memcpy(&v, img + off, sizeof(v));
	v ^= xor;
	memcpy(img + off, &v, sizeof(v));
	return lie_refused(img, stream_len, what);
}

static int
test_mig_hostile(void)
{
	uint32_t first = 2 * ROUND_SEQS - 64, pending;
	struct rte_vfio_user_mem_reg mr;

	TEST_ASSERT(stream_len > S_PCI + 16, "no stream from the live tests");
	guest_detach();
	TEST_ASSERT_SUCCESS(guest_attach(sb.path), "attach B");
	if (lie_at(0, 1, "a bad magic") || lie_at(4, 2, "an unknown version") ||
			lie_at(4, 2u << 16, "more queues than the device has") ||
			lie_at(4, 1u << 16, "fewer queues than the device has") ||
			lie_at(8, 4, "another PCI image size") ||
			lie_at(12, 1, "another total size") ||
			lie_at(S_DEV + 4, 1u << 8, "an unknown offered feature") ||
			lie_at(S_DEV + 8, 1u << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
				"a driver feature never offered") ||
			lie_at(S_DEV + 16, 1u << VIRTIO_NET_F_STATUS,
				"negotiated features not the driver's") ||
			lie_at(S_DEV + 32, 1u << 31, "an interrupt held on no vector") ||
			lie_at(S_DEV + 36, 0x40, "a config vector the function lacks") ||
			lie_at(S_DEV + 40, 2, "more pairs in use than offered") ||
			lie_at(S_DEV + 40, (uint32_t)VIRTIO_CONFIG_S_NEEDS_RESET << 16,
				"NEEDS_RESET in the driver's status") ||
			lie_at(S_DEV + 44, 4, "an unknown ISR bit") ||
			lie_at(S_DEV + 44, 4u << 8, "an unknown device flag") ||
			lie_at(S_DEV + 44, 1u << 16, "a multicast MAC") ||
			lie_at(S_DEV + 52, 1u << 8, "an unknown receive mode") ||
			lie_at(S_DEV + 52, 1u << 6, "an overflowing table with entries") ||
			lie_at(S_DEV + 56, 0x40, "a unicast table longer than the device's") ||
			lie_at(S_Q(0) + 0, 8, "a misaligned ring") ||
			lie_at(S_Q(0) + 24, 0x800, "a queue size beyond the largest") ||
			lie_at(S_Q(0) + 28, 1, "another notify offset") ||
			lie_at(S_Q(0) + 28, 0x80u << 16, "an unknown queue flag") ||
			lie_at(S_Q(0) + 28, 4u << 16, "a ring layout not negotiated") ||
			lie_at(S_Q(0) + 32, 1, "chains in flight") ||
			lie_at(S_Q(0) + 32, 0x00400040, "a position beyond the ring") ||
			lie_at(S_Q(0) + 36, 1, "reserved queue bits") ||
			lie_at(S_Q(2) + 32, 0x00010001, "a position on a disabled queue") ||
			lie_at(S_PCI, 1, "a bad PCI image magic") ||
			lie_refused(stream, stream_len - 1, "a truncated stream") ||
			lie_refused(stream, 8, "half a header") ||
			lie_refused(stream, 0, "no data"))
		return TEST_FAILED;
	/* Longer than the device's state: the write itself is refused. */
	memset(stream + stream_len, 0, 64);
	if (lie_refused(stream, stream_len + 64, "trailing bytes"))
		return TEST_FAILED;
	/*
	 * The same stream loads, with a configuration interrupt held by the
	 * source: the destination sends it on RUNNING. Its memory is not mapped,
	 * so that its queues wait and nothing else interrupts.
	 */
	memcpy(&pending, stream + S_DEV + 32, 4);
	pending |= 1; /* vector 0: msix_config */
	memcpy(stream + S_DEV + 32, &pending, 4);
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = vg.mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(vg.cid, &mr, 1), "unmap");
	efd_wait(vg.efd[0], 0);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_RESUMING, NULL),
		"RESUMING");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_write(vg.cid, stream, stream_len), "write");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_STOP, NULL),
		"the true stream");
	TEST_ASSERT_EQUAL(efd_wait(vg.efd[0], 0), 0, "an interrupt while stopped");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(vg.cid, RTE_VFIO_USER_MIG_RUNNING, NULL),
		"RUNNING");
	TEST_ASSERT(efd_wait(vg.efd[0], WAIT_MS) > 0, "the held interrupt");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(vg.cid), "reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(vg.cid, &mr, &vg.memfd, 1), "map again");

	/* B serves on: a fresh guest's frames come back. */
	TEST_ASSERT_SUCCESS(guest_init(ALL_FEATURES, 2), "guest init on B");
	tx_inflight = 0;
	guest_post_rx(0, QSIZE, BUF_SIZE);
	next_seq = first;
	TEST_ASSERT_SUCCESS(traffic(32, first, true, NULL), "traffic after the lies");
	TEST_ASSERT(kill(sb.pid, 0) == 0, "server B died");
	return TEST_SUCCESS;
}

/* A server asked to quit cleans up and exits 0 (under ASan: nothing leaked). */
static int
side_quit(struct side *s)
{
	int status;

	if (s->pid <= 0)
		return TEST_SUCCESS;
	status = test_child_kill(s->pid, SIGTERM);
	s->pid = -1;
	TEST_ASSERT(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"server exit status 0x%x", status);
	return TEST_SUCCESS;
}

static int
test_mig_servers_exit(void)
{
	guest_detach();
	if (side_quit(&sa) != TEST_SUCCESS || side_quit(&sb) != TEST_SUCCESS)
		return TEST_FAILED;
	return TEST_SUCCESS;
}

static int
suite_setup(void)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/emu-vnet-mig.XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(dir), "mkdtemp");
	snprintf(board_path, sizeof(board_path), "%s/board", dir);
	fd = open(board_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	TEST_ASSERT(fd >= 0 && ftruncate(fd, sizeof(*board)) == 0, "scoreboard file");
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	TEST_ASSERT(board != MAP_FAILED, "scoreboard mmap");
	memset(got, 0, sizeof(got));
	if (side_spawn(&sa, "a", GUEST_MAC) != TEST_SUCCESS ||
			side_spawn(&sb, "b", NULL) != TEST_SUCCESS)
		return TEST_FAILED;
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	guest_detach();
	if (sa.pid > 0)
		test_child_kill(sa.pid, SIGKILL);
	if (sb.pid > 0)
		test_child_kill(sb.pid, SIGKILL);
	sa.pid = -1;
	sb.pid = -1;
	if (board != NULL && board != MAP_FAILED)
		munmap(board, sizeof(*board));
	board = NULL;
	guest_free();
	dir_remove(dir);
}

static struct unit_test_suite emu_vnet_mig_suite = {
	.suite_name = "emulated virtio-net live migration",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_mig_split),
		TEST_CASE(test_mig_packed),
		TEST_CASE(test_mig_hostile),
		TEST_CASE(test_mig_servers_exit),
		TEST_CASES_END()
	}
};

static int
test_emu_virtio_net_mig(void)
{
	return unit_test_suite_runner(&emu_vnet_mig_suite);
}

REGISTER_TEST_COMMAND(emu_virtio_net_mig_autotest, test_emu_virtio_net_mig);

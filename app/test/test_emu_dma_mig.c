/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Live migration of the emulated DMA engine between two server processes,
 * driven by this process as the client (the VMM's part): copies run on 16
 * channels through pre-copy, the client keeps a second copy of its DMA memory
 * up to date from the DMA logging reports, stops the engine, moves the
 * stream to the second server and resumes there. Every byte the engine wrote
 * is checked, and so is the exact set of pages the logging reports. Then
 * lying streams are refused with the device in ERROR, and the server lives on.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_bus_vdev.h>
#include <rte_vfio_user.h>

#include "emu_dma_regs.h"
#include "test.h"
#include "test_vfio_user_common.h"

#define MIG_SOCK_ENV "EMU_DMA_MIG_TEST_SOCK"
#define NB_CHAN EMU_DMA_MAX_CHANNELS
#define MEM_SIZE (16u << 20)
#define IOVA_BASE UINT64_C(0x80000000)
#define RING_SIZE 64
#define RING_OFF(c) ((uint64_t)(c) * RING_SIZE * sizeof(struct emu_dma_desc))
#define SRC_OFF 0x100000
#define SRC_SIZE (2u << 20)
#define DST_OFF 0x400000
#define PAGE 4096
#define NB_PAGES (MEM_SIZE / PAGE)
#define MAX_JOBS 2048
#define WAIT_MS 20000

/* One copy the engine was asked to make (offsets in DMA memory). */
struct job {
	uint32_t src, dst, len;
};

/* The client's view of one server's engine. */
struct side {
	char path[128];
	pid_t pid;
	int cid;
	volatile uint32_t *bar;
	int memfd;
	uint8_t *mem;
};

static char dir[64];
static struct side sa = { .pid = -1, .cid = -1, .memfd = -1 };
static struct side sb = { .pid = -1, .cid = -1, .memfd = -1 };
static struct job jobs[MAX_JOBS];
static unsigned int nb_jobs;
static uint32_t dst_next;
static uint32_t posted[NB_CHAN];
/* Pages this process wrote in A's memory (descriptors): the VMM's own dirty log. */
static uint64_t client_dirty[NB_PAGES / 64];

/* Child: one engine with 16 channels on its own service lcore. */
static int
child_mig_server(void)
{
	const char *path = getenv(MIG_SOCK_ENV);
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);
	char args[256];

	if (path == NULL || lcore >= RTE_MAX_LCORE)
		return TEST_FAILED;
	snprintf(args, sizeof(args), "path=%s,channels=%u,service_core=%u", path, NB_CHAN,
		lcore);
	if (rte_vdev_init("emu_dma_mig", args) != 0)
		return TEST_FAILED;
	test_child_ready();
	for (;;)
		pause();
	return TEST_SUCCESS;
}

REGISTER_TEST_CHILD(emu_dma_mig_server, child_mig_server);

static int
side_spawn(struct side *s, const char *name)
{
	char env[192];
	char *extra[] = { env, NULL };

	snprintf(s->path, sizeof(s->path), "%s/%s.sock", dir, name);
	snprintf(env, sizeof(env), "%s=%s", MIG_SOCK_ENV, s->path);
	s->pid = test_child_start("emu_dma_mig_server", extra, 30000);
	TEST_ASSERT(s->pid > 0, "server %s: %d", name, (int)s->pid);
	return TEST_SUCCESS;
}

static uint32_t
reg_rd(const struct side *s, uint32_t off)
{
	return __atomic_load_n(&s->bar[off / 4], __ATOMIC_ACQUIRE);
}

static void
reg_wr(struct side *s, uint32_t off, uint32_t v)
{
	__atomic_store_n(&s->bar[off / 4], v, __ATOMIC_RELEASE);
}

static int
wait_reg(const struct side *s, uint32_t off, uint32_t mask, uint32_t val)
{
	uint64_t end = now_ms() + WAIT_MS;

	while ((reg_rd(s, off) & mask) != val) {
		if (now_ms() > end) {
			printf("register 0x%x: 0x%x, waited for 0x%x\n", off, reg_rd(s, off), val);
			return -1;
		}
		sched_yield();
	}
	return 0;
}

/* Attach, map BAR0, map @s's memory (created on first use) for DMA. */
static int
side_attach(struct side *s)
{
	struct rte_vfio_user_region_map map;
	struct rte_vfio_user_mem_reg mr;
	uint32_t nr = 1;

	s->cid = rte_vfio_user_attach_dev(s->path);
	TEST_ASSERT(s->cid >= 0, "attach %s: %d", s->path, s->cid);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(s->cid, EMU_DMA_CTRL_BAR, &map, &nr),
		"BAR0 mmap");
	s->bar = map.addr;
	if (s->memfd < 0) {
		s->memfd = memfd_create("emu_dma_mig", MFD_CLOEXEC);
		TEST_ASSERT(s->memfd >= 0 && ftruncate(s->memfd, MEM_SIZE) == 0, "memfd");
		s->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
		TEST_ASSERT(s->mem != MAP_FAILED, "mmap");
	}
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = s->mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(s->cid, &mr, &s->memfd, 1), "dma_map");
	TEST_ASSERT_SUCCESS(wait_reg(s, EMU_DMA_REG_DEV_STATUS, EMU_DMA_DEV_STATUS_READY,
		EMU_DMA_DEV_STATUS_READY), "engine never READY");
	return TEST_SUCCESS;
}

static void
side_free(struct side *s)
{
	if (s->cid >= 0)
		rte_vfio_user_detach_dev(s->cid);
	s->cid = -1;
	if (s->pid > 0)
		test_child_kill(s->pid, SIGKILL);
	s->pid = -1;
	if (s->mem != NULL && s->mem != MAP_FAILED)
		munmap(s->mem, MEM_SIZE);
	s->mem = NULL;
	if (s->memfd >= 0)
		close(s->memfd);
	s->memfd = -1;
}

static struct emu_dma_desc *
ring_of(const struct side *s, unsigned int c)
{
	return (struct emu_dma_desc *)(s->mem + RING_OFF(c));
}

static void
page_set(uint64_t *map, uint64_t off, uint64_t len)
{
	uint64_t p;

	for (p = off / PAGE; p <= (off + len - 1) / PAGE; p++)
		map[p / 64] |= UINT64_C(1) << (p % 64);
}

static int
chan_start(struct side *s, unsigned int c)
{
	uint32_t base = EMU_DMA_CHAN_BASE(c);
	uint64_t ring = IOVA_BASE + RING_OFF(c);

	reg_wr(s, base + EMU_DMA_CHAN_RING_LO, (uint32_t)ring);
	reg_wr(s, base + EMU_DMA_CHAN_RING_HI, (uint32_t)(ring >> 32));
	reg_wr(s, base + EMU_DMA_CHAN_RING_SIZE, RING_SIZE);
	reg_wr(s, base + EMU_DMA_CHAN_DOORBELL, 0);
	posted[c] = 0;
	reg_wr(s, base + EMU_DMA_CHAN_CTRL, EMU_DMA_CHAN_CTRL_ENABLE);
	return wait_reg(s, base + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_ACTIVE,
		EMU_DMA_CHAN_STATUS_ACTIVE);
}

/*
 * Post @n copies on channel c of @s, each to fresh destination bytes, without
 * ringing the doorbell. Lengths vary so that copies start and end mid-page.
 */
static int
post_copies(struct side *s, unsigned int c, unsigned int n, uint64_t *expect)
{
	uint32_t base = EMU_DMA_CHAN_BASE(c);
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t slot = posted[c] % RING_SIZE;
		struct emu_dma_desc *d = &ring_of(s, c)[slot];
		struct job *j = &jobs[nb_jobs];

		TEST_ASSERT(nb_jobs < MAX_JOBS, "too many jobs");
		/* Never more than the ring holds outstanding. */
		while (posted[c] - reg_rd(s, base + EMU_DMA_CHAN_COMPLETED) >= RING_SIZE)
			sched_yield();
		j->len = 1000 + (nb_jobs * 2477) % 7000;
		j->src = SRC_OFF + (nb_jobs * 7919) % (SRC_SIZE - j->len);
		j->dst = DST_OFF + dst_next;
		dst_next += j->len + (nb_jobs % 3) * 64;
		TEST_ASSERT(j->dst + j->len <= MEM_SIZE, "out of destination space");
		d->src = IOVA_BASE + j->src;
		d->dst = IOVA_BASE + j->dst;
		d->len = j->len;
		d->op = EMU_DMA_OP_COPY;
		d->flags = 0;
		d->user = nb_jobs;
		__atomic_store_n(&d->status, EMU_DMA_STATUS_PENDING, __ATOMIC_RELEASE);
		page_set(client_dirty, RING_OFF(c) + slot * sizeof(*d), sizeof(*d));
		if (expect != NULL) {
			page_set(expect, j->dst, j->len);
			page_set(expect, RING_OFF(c) + slot * sizeof(*d), sizeof(*d));
		}
		nb_jobs++;
		posted[c]++;
	}
	return TEST_SUCCESS;
}

static void
doorbells(struct side *s)
{
	unsigned int c;

	for (c = 0; c < NB_CHAN; c++)
		reg_wr(s, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_DOORBELL, posted[c]);
}

static int
wait_all_done(const struct side *s)
{
	unsigned int c;

	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(wait_reg(s, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_COMPLETED, ~0u,
			posted[c]), "channel %u did not complete", c);
	return TEST_SUCCESS;
}

/*
 * Read and clear the log of the whole memory, add this process's own writes,
 * copy those pages from A's memory to B's. Returns the device-reported pages.
 */
static int
sync_pages(struct side *from, struct side *to, uint64_t *reported, unsigned int *nb_pages)
{
	uint64_t map[NB_PAGES / 64];
	unsigned int p, n = 0;

	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(from->cid, IOVA_BASE, MEM_SIZE, PAGE, map),
		"dirty report");
	if (reported != NULL)
		memcpy(reported, map, sizeof(map));
	for (p = 0; p < NB_PAGES; p++) {
		uint64_t bit = UINT64_C(1) << (p % 64);

		if (!((map[p / 64] | client_dirty[p / 64]) & bit))
			continue;
		memcpy(to->mem + (size_t)p * PAGE, from->mem + (size_t)p * PAGE, PAGE);
		n += (map[p / 64] & bit) != 0;
	}
	memset(client_dirty, 0, sizeof(client_dirty));
	if (nb_pages != NULL)
		*nb_pages += n;
	return TEST_SUCCESS;
}

static int
sync_dirty(uint64_t *reported, unsigned int *nb_pages)
{
	return sync_pages(&sa, &sb, reported, nb_pages);
}

/* Every job's destination in @mem holds its source bytes; nothing past the last one. */
static int
check_jobs(const uint8_t *mem)
{
	unsigned int i;
	uint32_t off;

	for (i = 0; i < nb_jobs; i++)
		TEST_ASSERT(memcmp(mem + jobs[i].dst, mem + jobs[i].src, jobs[i].len) == 0,
			"job %u (dst 0x%x, %u bytes) not copied", i, jobs[i].dst, jobs[i].len);
	for (off = DST_OFF + dst_next; off < MEM_SIZE; off++)
		TEST_ASSERT(mem[off] == 0, "byte 0x%x written by no job", off);
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

static uint8_t stream[64 * 1024];
static size_t stream_len;

/* The whole migration: A running copies -> B, checked. */
static int
test_mig_live(void)
{
	uint64_t expect[NB_PAGES / 64], got[NB_PAGES / 64];
	unsigned int c, round, carried = 0, dirty_pages = 0;
	uint64_t page_size = PAGE, flags, t0, t1, size_hint;
	enum rte_vfio_user_mig_state cur;
	uint32_t cmd = 0;
	ssize_t n;

	TEST_ASSERT_SUCCESS(side_attach(&sa), "attach A");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_probe(sa.cid, &flags), "migration probe");
	TEST_ASSERT_EQUAL(flags, RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY,
		"migration flags");
	/* Bus mastering on: config space must travel too. */
	cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(sa.cid, VFIO_PCI_CONFIG_REGION_INDEX,
		PCI_COMMAND, &cmd, 2), 2, "command register");
	for (c = 0; c < SRC_SIZE; c++)
		sa.mem[SRC_OFF + c] = (uint8_t)(c * 131 + (c >> 9));
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(chan_start(&sa, c), "start channel %u", c);

	/* Logging reports exactly the pages the engine wrote, data and statuses. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(sa.cid, NULL, 0, &page_size),
		"dirty start");
	TEST_ASSERT_EQUAL(page_size, PAGE, "logging granularity");
	memset(expect, 0, sizeof(expect));
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(post_copies(&sa, c, 4, expect), "post");
	doorbells(&sa);
	TEST_ASSERT_SUCCESS(wait_all_done(&sa), "first batch");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(sa.cid, IOVA_BASE, MEM_SIZE, PAGE, got),
		"report");
	TEST_ASSERT(memcmp(got, expect, sizeof(got)) == 0,
		"the log differs from the pages the engine wrote");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(sa.cid, IOVA_BASE, MEM_SIZE, PAGE, got),
		"report again");
	for (c = 0; c < RTE_DIM(got); c++)
		TEST_ASSERT_EQUAL(got[c], 0, "a report does not clear the log");

	/* Pre-copy: B's memory starts as a copy of A's, kept up to date from the log. */
	memset(client_dirty, 0, sizeof(client_dirty));
	sb.memfd = memfd_create("emu_dma_mig_b", MFD_CLOEXEC);
	TEST_ASSERT(sb.memfd >= 0 && ftruncate(sb.memfd, MEM_SIZE) == 0, "memfd B");
	sb.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sb.memfd, 0);
	TEST_ASSERT(sb.mem != MAP_FAILED, "mmap B");
	memcpy(sb.mem, sa.mem, MEM_SIZE);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_PRE_COPY, NULL),
		"PRE_COPY");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_data_size(sa.cid, &size_hint), "data size");
	TEST_ASSERT(size_hint > 0 && size_hint <= sizeof(stream), "data size %" PRIu64,
		size_hint);
	n = rte_vfio_user_mig_read(sa.cid, stream, sizeof(stream));
	TEST_ASSERT_EQUAL(n, 0, "pre-copy data: the engine sends its state at STOP_COPY");
	/*
	 * Copies keep running while memory is copied over; every other round
	 * waits for them, so that the log has engine writes to report whatever
	 * the scheduler does, the others race with the copying.
	 */
	for (round = 0; round < 6; round++) {
		for (c = 0; c < NB_CHAN; c++)
			TEST_ASSERT_SUCCESS(post_copies(&sa, c, 8, NULL), "post");
		doorbells(&sa);
		if (round % 2 == 0)
			TEST_ASSERT_SUCCESS(wait_all_done(&sa), "pre-copy round %u", round);
		TEST_ASSERT_SUCCESS(sync_dirty(NULL, &dirty_pages), "pre-copy sync");
	}
	TEST_ASSERT(dirty_pages > 0, "no engine write reported during pre-copy");
	/*
	 * Stop, then post more: the engine is stopped, so these are the
	 * descriptors a driver posted that the engine has not seen yet.
	 */
	t0 = rte_get_timer_cycles();
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_STOP, &cur),
		"STOP");
	for (c = 0; c < NB_CHAN; c += 2)
		TEST_ASSERT_SUCCESS(post_copies(&sa, c, 2, NULL), "post while stopped");
	doorbells(&sa);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_STOP_COPY, NULL),
		"STOP_COPY");
	stream_len = 0;
	do {
		n = rte_vfio_user_mig_read(sa.cid, stream + stream_len, 1000);
		TEST_ASSERT(n >= 0, "read stream: %zd", n);
		stream_len += n;
	} while (n == 1000 && stream_len + 1000 <= sizeof(stream));
	TEST_ASSERT_EQUAL(stream_len, size_hint, "stream size as announced");
	TEST_ASSERT_SUCCESS(sync_dirty(NULL, &dirty_pages), "stop-copy sync");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(sa.cid), "dirty stop");
	/* The log missed nothing: B's memory is A's, byte for byte. */
	TEST_ASSERT(memcmp(sa.mem, sb.mem, MEM_SIZE) == 0,
		"memory copied by the log differs from the source");
	for (c = 0; c < NB_CHAN; c++)
		carried += posted[c] - reg_rd(&sa, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_COMPLETED);
	TEST_ASSERT(carried >= NB_CHAN, "%u descriptors posted after STOP ran on A", carried);

	/* Resume on B, on B's copy of the memory. */
	TEST_ASSERT_SUCCESS(side_attach(&sb), "attach B");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sb.cid, RTE_VFIO_USER_MIG_RESUMING, NULL),
		"RESUMING");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_write(sb.cid, stream, stream_len), "write stream");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sb.cid, RTE_VFIO_USER_MIG_RUNNING, NULL),
		"RUNNING on B");
	t1 = rte_get_timer_cycles();
	printf("migration: %zu bytes of device state, %u pages reported dirty during pre-copy "
		"and stop-copy, %u descriptors carried over, STOP to RUNNING on B %" PRIu64
		" us\n", stream_len, dirty_pages, carried,
		(t1 - t0) * 1000000 / rte_get_timer_hz());
	TEST_ASSERT_SUCCESS(state_is(sa.cid, RTE_VFIO_USER_MIG_STOP_COPY), "A");
	TEST_ASSERT_SUCCESS(state_is(sb.cid, RTE_VFIO_USER_MIG_RUNNING), "B");
	cmd = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(sb.cid, VFIO_PCI_CONFIG_REGION_INDEX,
		PCI_COMMAND, &cmd, 2), 2, "command register on B");
	TEST_ASSERT_EQUAL(cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, "config space moved");

	/* B finishes what A left, then takes new work on the same rings. */
	TEST_ASSERT_SUCCESS(wait_all_done(&sb), "carried-over descriptors on B");
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(post_copies(&sb, c, 16, NULL), "post on B (the rings wrap)");
	doorbells(&sb);
	TEST_ASSERT_SUCCESS(wait_all_done(&sb), "new descriptors on B");
	for (c = 0; c < NB_CHAN; c++) {
		unsigned int k;

		TEST_ASSERT_EQUAL(reg_rd(&sb, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_STATUS),
			EMU_DMA_CHAN_STATUS_ACTIVE, "channel %u on B", c);
		for (k = 0; k < RING_SIZE; k++)
			TEST_ASSERT_EQUAL(ring_of(&sb, c)[k].status, EMU_DMA_STATUS_SUCCESS,
				"channel %u slot %u status on B", c, k);
	}
	TEST_ASSERT_SUCCESS(check_jobs(sb.mem), "B's memory");
	return TEST_SUCCESS;
}

/* Load @img into A (RESUMING, write, STOP): refused with A in ERROR, then reset. */
static int
lie_refused(const uint8_t *img, size_t len, const char *what)
{
	enum rte_vfio_user_mig_state cur = RTE_VFIO_USER_MIG_RUNNING;
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_RESUMING, NULL),
		"RESUMING (%s)", what);
	ret = len != 0 ? rte_vfio_user_mig_write(sa.cid, img, len) : 0;
	if (ret == 0)
		ret = rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_STOP, &cur);
	else
		TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(sa.cid, &cur), "state");
	TEST_ASSERT(ret < 0, "a stream with %s was accepted", what);
	TEST_ASSERT_EQUAL(cur, RTE_VFIO_USER_MIG_ERROR, "%s: state %d, not ERROR", what, cur);
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(sa.cid), "reset after %s", what);
	return state_is(sa.cid, RTE_VFIO_USER_MIG_RUNNING);
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

/* Streams that lie are refused on a live server, which serves on. */
static int
test_mig_hostile(void)
{
	/* Stream layout: 24-byte header, 40 bytes per channel, BAR0 page, PCI image. */
	const size_t hdr = 24, chans = hdr, bar0 = chans + NB_CHAN * 40;
	const size_t pci = bar0 + EMU_DMA_CTRL_BAR_SIZE;
	const uint32_t c0 = EMU_DMA_CHAN_BASE(0);
	struct emu_dma_desc *d;

	TEST_ASSERT(stream_len > pci + 12, "no stream from the live test");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(sa.cid, RTE_VFIO_USER_MIG_RUNNING, NULL),
		"A back to RUNNING");
	if (lie_at(0, 1, "a bad magic") || lie_at(4, 1, "another version") ||
			lie_at(4, 1u << 16, "another channel count") ||
			lie_at(8, 1u << 12, "another BAR0 size") ||
			lie_at(12, 4, "another PCI image size") ||
			lie_at(16, 1, "another total size") ||
			lie_at(20, 1, "reserved header bits") ||
			lie_at(chans, 7, "an unknown channel state") ||
			lie_at(chans + 4, 1, "a ring size not a power of two") ||
			lie_at(chans + 8, 8, "a misaligned ring") ||
			lie_at(chans + 16, 1, "a head behind COMPLETED") ||
			lie_at(chans + 20, 1, "reserved channel bits") ||
			lie_at(bar0 + EMU_DMA_REG_MAGIC, 1, "a bad register magic") ||
			lie_at(bar0 + EMU_DMA_REG_NUM_CHANNELS, 1, "a NUM_CHANNELS register lie") ||
			lie_at(bar0 + EMU_DMA_REG_MAX_XFER, 1u << 31, "a MAX_XFER lie") ||
			lie_at(bar0 + c0 + EMU_DMA_CHAN_STATUS, EMU_DMA_CHAN_STATUS_RING_ERROR,
				"a STATUS that contradicts the channel") ||
			lie_at(pci, 1, "a bad PCI image magic") ||
			lie_at(pci + 12 + PCI_VENDOR_ID, 1, "another vendor id") ||
			lie_refused(stream, stream_len - 1, "a truncated stream") ||
			lie_refused(stream, hdr - 1, "half a header") ||
			lie_refused(stream, 0, "no data"))
		return TEST_FAILED;
	/* Longer than the device's state: the write itself is refused. */
	memset(stream + stream_len, 0, 64);
	if (lie_refused(stream, stream_len + 64, "trailing bytes"))
		return TEST_FAILED;

	/* A serves on: a copy on channel 0. */
	TEST_ASSERT_SUCCESS(chan_start(&sa, 0), "channel 0 after the lies");
	d = &ring_of(&sa, 0)[0];
	memset(d, 0, sizeof(*d));
	d->src = IOVA_BASE + SRC_OFF;
	d->dst = IOVA_BASE + MEM_SIZE - PAGE;
	d->len = PAGE;
	d->op = EMU_DMA_OP_COPY;
	posted[0] = 1;
	reg_wr(&sa, c0 + EMU_DMA_CHAN_DOORBELL, 1);
	TEST_ASSERT_SUCCESS(wait_reg(&sa, c0 + EMU_DMA_CHAN_COMPLETED, ~0u, 1), "copy on A");
	TEST_ASSERT_EQUAL(d->status, EMU_DMA_STATUS_SUCCESS, "status");
	TEST_ASSERT(memcmp(sa.mem + MEM_SIZE - PAGE, sa.mem + SRC_OFF, PAGE) == 0, "data");
	TEST_ASSERT(kill(sa.pid, 0) == 0, "server A died");
	return TEST_SUCCESS;
}

/*
 * Benchmark (emu_dma_mig_bench, run by devtools/bench-mig.sh): migrations
 * back and forth with 16 channels kept busy with 4 KiB copies, and the cost
 * of DMA logging on the engine's 4 KiB copy throughput.
 */

#define BENCH_LEN 4096
#define BENCH_DST_SPAN (8u << 20)

/* Copies that completed with an error status: the figures would be wrong. */
static unsigned int bench_errors;

/* Keep every ring of @s full of 4 KiB copies; returns bytes completed since the last call. */
static uint64_t
bench_top_up(struct side *s, uint32_t *seen)
{
	uint64_t bytes = 0;
	unsigned int c;

	for (c = 0; c < NB_CHAN; c++) {
		uint32_t base = EMU_DMA_CHAN_BASE(c);
		uint32_t done = reg_rd(s, base + EMU_DMA_CHAN_COMPLETED);

		bytes += (uint64_t)(done - seen[c]) * BENCH_LEN;
		seen[c] = done;
		while (posted[c] - done < RING_SIZE) {
			uint32_t slot = posted[c] % RING_SIZE;
			struct emu_dma_desc *d = &ring_of(s, c)[slot];

			if (posted[c] >= RING_SIZE && d->status != EMU_DMA_STATUS_SUCCESS)
				bench_errors++;
			d->src = IOVA_BASE + SRC_OFF + c * BENCH_LEN;
			d->dst = IOVA_BASE + DST_OFF +
				((uint64_t)(posted[c] * NB_CHAN + c) * BENCH_LEN) % BENCH_DST_SPAN;
			d->len = BENCH_LEN;
			d->op = EMU_DMA_OP_COPY;
			d->flags = 0;
			d->status = EMU_DMA_STATUS_PENDING;
			page_set(client_dirty, RING_OFF(c) + slot * sizeof(*d), sizeof(*d));
			posted[c]++;
		}
		reg_wr(s, base + EMU_DMA_CHAN_DOORBELL, posted[c]);
	}
	return bytes;
}

/* Busy for @ms milliseconds; returns bytes per second. */
static double
bench_busy(struct side *s, uint32_t *seen, unsigned int ms)
{
	uint64_t t0 = rte_get_timer_cycles(), bytes = 0, t;

	bench_top_up(s, seen);
	do {
		bytes += bench_top_up(s, seen);
		sched_yield();
		t = rte_get_timer_cycles() - t0;
	} while (t < (uint64_t)ms * rte_get_timer_hz() / 1000);
	return (double)bytes * rte_get_timer_hz() / t;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One migration @from -> @to while busy; downtime in us and bytes moved in stop-copy. */
static int
bench_migrate(struct side *from, struct side *to, uint32_t *seen, uint64_t *down_us,
		uint64_t *dev_us, uint64_t *moved)
{
	uint64_t page_size = PAGE, t0, t1, t2;
	unsigned int round, pages = 0, c;
	size_t len = 0;
	ssize_t n;

	/*
	 * Two CPUs: the idle destination's poller would take CPU time from the
	 * source's, which holds its lock for an iteration, so the destination
	 * is paused until it is needed, as if each had its own core.
	 */
	kill(to->pid, SIGSTOP);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(from->cid, NULL, 0, &page_size), "log");
	memcpy(to->mem, from->mem, MEM_SIZE);
	memset(client_dirty, 0, sizeof(client_dirty));
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(from->cid, RTE_VFIO_USER_MIG_PRE_COPY,
		NULL), "PRE_COPY");
	for (round = 0; round < 3; round++) {
		bench_busy(from, seen, 20);
		TEST_ASSERT_SUCCESS(sync_pages(from, to, NULL, NULL), "pre-copy sync");
	}
	bench_top_up(from, seen);
	/* Downtime: from the stop to the destination running. */
	t0 = rte_get_timer_cycles();
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(from->cid, RTE_VFIO_USER_MIG_STOP_COPY,
		NULL), "STOP_COPY");
	do {
		n = rte_vfio_user_mig_read(from->cid, stream + len, sizeof(stream) - len);
		TEST_ASSERT(n >= 0, "read stream");
		len += n;
	} while (n > 0 && len < sizeof(stream));
	t1 = rte_get_timer_cycles();
	TEST_ASSERT_SUCCESS(sync_pages(from, to, NULL, &pages), "stop-copy sync");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(from->cid), "log stop");
	t2 = rte_get_timer_cycles();
	kill(to->pid, SIGCONT);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(to->cid, RTE_VFIO_USER_MIG_RESUMING,
		NULL), "RESUMING");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_write(to->cid, stream, len), "write");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(to->cid, RTE_VFIO_USER_MIG_RUNNING,
		NULL), "RUNNING");
	*down_us = (rte_get_timer_cycles() - t0) * 1000000 / rte_get_timer_hz();
	/* The device's share: stop and read, load and run; not the memory copy. */
	*dev_us = (rte_get_timer_cycles() - t2 + t1 - t0) * 1000000 / rte_get_timer_hz();
	*moved = len + (uint64_t)pages * PAGE;
	stream_len = len;
	/* The source starts afresh; the destination carries the rings on. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(from->cid), "reset the source");
	for (c = 0; c < NB_CHAN; c++)
		seen[c] = reg_rd(to, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_COMPLETED);
	return TEST_SUCCESS;
}

static int
bench_run(void)
{
	enum { MIGRATIONS = 10, SLICES = 10 };
	uint64_t down[MIGRATIONS], dev[MIGRATIONS], moved[MIGRATIONS];
	double on = 0, off = 0;
	uint32_t seen[NB_CHAN] = { 0 };
	uint64_t page_size = PAGE;
	struct side *from = &sa, *to = &sb, *tmp;
	unsigned int i, c;

	TEST_ASSERT_SUCCESS(side_attach(&sa), "attach A");
	TEST_ASSERT_SUCCESS(side_attach(&sb), "attach B");
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(chan_start(&sa, c), "start channel %u", c);

	/* Logging off and on in alternating slices, 16 channels of 4 KiB copies; B paused. */
	kill(sb.pid, SIGSTOP);
	bench_busy(&sa, seen, 100);
	for (i = 0; i < SLICES; i++) {
		off += bench_busy(&sa, seen, 200);
		TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(sa.cid, NULL, 0, &page_size), "log");
		on += bench_busy(&sa, seen, 200);
		TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(sa.cid), "log stop");
	}
	kill(sb.pid, SIGCONT);
	printf("logging: 4 KiB copies on 16 channels, %u slices of 200 ms each way: "
		"off %.0f MB/s, on %.0f MB/s, on/off %.3f\n", SLICES, off / SLICES / 1e6,
		on / SLICES / 1e6, on / off);

	for (i = 0; i < MIGRATIONS; i++) {
		TEST_ASSERT_SUCCESS(bench_migrate(from, to, seen, &down[i], &dev[i], &moved[i]),
			"migration %u", i);
		tmp = from;
		from = to;
		to = tmp;
	}
	TEST_ASSERT_EQUAL(bench_errors, 0, "%u copies failed", bench_errors);
	qsort(down, MIGRATIONS, sizeof(down[0]), cmp_u64);
	qsort(dev, MIGRATIONS, sizeof(dev[0]), cmp_u64);
	qsort(moved, MIGRATIONS, sizeof(moved[0]), cmp_u64);
	printf("migration: %u migrations with 16 channels busy (4 KiB copies): downtime "
		"median %" PRIu64 " us (min %" PRIu64 ", max %" PRIu64 "), of which device "
		"state median %" PRIu64 " us; moved during stop-copy median %" PRIu64
		" bytes (min %" PRIu64 ", max %" PRIu64 "), device state %zu bytes\n",
		MIGRATIONS, down[MIGRATIONS / 2], down[0], down[MIGRATIONS - 1],
		dev[MIGRATIONS / 2], moved[MIGRATIONS / 2], moved[0], moved[MIGRATIONS - 1],
		stream_len);
	return TEST_SUCCESS;
}

static int
test_emu_dma_mig_bench(void)
{
	int ret = TEST_FAILED;

	snprintf(dir, sizeof(dir), "/tmp/emu-dma-mig.XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(dir), "mkdtemp");
	if (side_spawn(&sa, "a") == TEST_SUCCESS && side_spawn(&sb, "b") == TEST_SUCCESS)
		ret = bench_run();
	side_free(&sa);
	side_free(&sb);
	dir_remove(dir);
	return ret;
}

REGISTER_TEST_COMMAND(emu_dma_mig_bench, test_emu_dma_mig_bench);

static int
suite_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/emu-dma-mig.XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(dir), "mkdtemp");
	if (side_spawn(&sa, "a") != TEST_SUCCESS || side_spawn(&sb, "b") != TEST_SUCCESS)
		return TEST_FAILED;
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	side_free(&sa);
	side_free(&sb);
	dir_remove(dir);
}

static struct unit_test_suite emu_dma_mig_suite = {
	.suite_name = "emu_dma live migration",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_mig_live),
		TEST_CASE(test_mig_hostile),
		TEST_CASES_END()
	}
};

static int
test_emu_dma_mig(void)
{
	return unit_test_suite_runner(&emu_dma_mig_suite);
}

REGISTER_TEST_COMMAND(emu_dma_mig_autotest, test_emu_dma_mig);

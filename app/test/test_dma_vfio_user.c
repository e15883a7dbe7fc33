/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The dma_vfio_user dmadev PMD through the vfio_user bus, against emulated
 * DMA engines (emu_dma vdevs) served by a child process: hotplug probe and
 * remove, copies, fills, error reporting, ring limits, stop/start, stats and
 * dump, two devices at once, and a server killed in the middle of copies.
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
#include <sys/stat.h>

#include <rte_bus.h>
#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include <bus_vfio_user_driver.h>
#include <emu_dma_regs.h>

#include "test.h"
#include "test_vfio_user_common.h"

/* Child: comma-separated socket paths, one emulated engine on each. */
#define VU_DMA_SOCKS_ENV "DMA_VFIO_USER_TEST_SOCKS"
#define VU_DMA_CHANNELS 2
#define VU_DMA_BUS "vfio_user"
#define VU_DMA_BUF_SIZE (64 * 1024)
#define VU_DMA_TIMEOUT_MS 5000
#define VU_DMA_LEAK_TIMEOUT_MS 3000

static char g_dir[64];
static unsigned int g_seq;
/* The suite's server: two engines. */
static pid_t g_srv = -1;
static char g_sock[2][128];

static int
child_emu_server(void)
{
	char *socks = getenv(VU_DMA_SOCKS_ENV);
	char *path, *save = NULL;
	char name[32], args[256];
	unsigned int lcore, i = 0;

	if (socks == NULL)
		return TEST_FAILED;
	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		printf("the engine needs a worker lcore for its service\n");
		return TEST_FAILED;
	}
	socks = strdup(socks);
	if (socks == NULL)
		return TEST_FAILED;
	for (path = strtok_r(socks, ",", &save); path != NULL;
			path = strtok_r(NULL, ",", &save), i++) {
		snprintf(name, sizeof(name), "emu_dma%u", i);
		snprintf(args, sizeof(args), "path=%s,channels=%u,service_core=%u", path,
				VU_DMA_CHANNELS, lcore);
		if (rte_vdev_init(name, args) != 0) {
			printf("cannot create %s (%s)\n", name, args);
			free(socks);
			return TEST_FAILED;
		}
	}
	free(socks);
	test_child_ready();
	/* Serve until killed. */
	for (;;)
		pause();
	return TEST_SUCCESS;
}

REGISTER_TEST_CHILD(dma_vfio_user_server, child_emu_server);

static void
mkpath(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

static pid_t spawn_server_at(char (*socks)[128], unsigned int n, bool fresh);

/* Start a server child with one engine per new socket path. */
static pid_t
spawn_server(char (*socks)[128], unsigned int n)
{
	return spawn_server_at(socks, n, true);
}

/* Start a server child with one engine per socket path, new ones when fresh. */
static pid_t
spawn_server_at(char (*socks)[128], unsigned int n, bool fresh)
{
	char env[512];
	char *extra[] = { env, NULL };
	size_t off;
	unsigned int i;

	off = snprintf(env, sizeof(env), "%s=", VU_DMA_SOCKS_ENV);
	for (i = 0; i < n; i++) {
		if (fresh)
			mkpath(socks[i], sizeof(socks[i]), "dma");
		else
			unlink(socks[i]); /* left by a killed server */
		off += snprintf(env + off, sizeof(env) - off, "%s%s", i ? "," : "", socks[i]);
	}
	return test_child_start("dma_vfio_user_server", extra, 30000);
}

/* Devices this test probed and did not remove yet. */
static char g_plugged[4][32];

static int
probe_dev(const char *name, const char *sock)
{
	char devargs[256];
	unsigned int i;
	int ret;

	snprintf(devargs, sizeof(devargs), VU_DMA_BUS ":%s,path=%s", name, sock);
	ret = rte_dev_probe(devargs);
	for (i = 0; ret == 0 && i < RTE_DIM(g_plugged); i++)
		if (g_plugged[i][0] == '\0') {
			snprintf(g_plugged[i], sizeof(g_plugged[i]), "%s", name);
			break;
		}
	return ret;
}

static int
remove_dev(const char *name)
{
	unsigned int i;
	int ret;

	ret = rte_eal_hotplug_remove(VU_DMA_BUS, name);
	for (i = 0; ret == 0 && i < RTE_DIM(g_plugged); i++)
		if (strcmp(g_plugged[i], name) == 0)
			g_plugged[i][0] = '\0';
	return ret;
}

/* The bus device of that name, found with the device iterator. */
static struct rte_device *
find_dev(const char *name)
{
	struct rte_dev_iterator it;
	struct rte_device *dev;

	RTE_DEV_FOREACH(dev, "bus=" VU_DMA_BUS, &it)
		if (strcmp(rte_dev_name(dev), name) == 0)
			return dev;
	return NULL;
}

/* Configure nb_vchans vchans with the ring sizes given, and start. */
static int
setup_dev(int16_t id, uint16_t nb_vchans, const uint16_t *nb_desc)
{
	struct rte_dma_conf conf = { .nb_vchans = nb_vchans };
	struct rte_dma_vchan_conf qconf = { .direction = RTE_DMA_DIR_MEM_TO_MEM };
	uint16_t i;

	TEST_ASSERT_SUCCESS(rte_dma_configure(id, &conf), "configure");
	for (i = 0; i < nb_vchans; i++) {
		qconf.nb_desc = nb_desc[i];
		TEST_ASSERT_SUCCESS(rte_dma_vchan_setup(id, i, &qconf), "vchan %u setup", i);
	}
	TEST_ASSERT_SUCCESS(rte_dma_start(id), "start");
	return TEST_SUCCESS;
}

/* Wait until n jobs completed successfully; last id returned in *last. */
static int
wait_completed(int16_t id, uint16_t vchan, uint16_t n, uint16_t *last)
{
	uint64_t end = now_ms() + VU_DMA_TIMEOUT_MS;
	bool err = false;
	uint16_t got = 0;

	while (got < n) {
		got += rte_dma_completed(id, vchan, n - got, last, &err);
		TEST_ASSERT(!err, "error after %u of %u completions", got, n);
		TEST_ASSERT(now_ms() < end, "%u of %u completions after %d ms", got, n,
				VU_DMA_TIMEOUT_MS);
	}
	return TEST_SUCCESS;
}

/* Wait until the engine finished every submitted job of the vchan. */
static int
wait_idle(int16_t id, uint16_t vchan)
{
	uint64_t end = now_ms() + VU_DMA_TIMEOUT_MS;
	enum rte_dma_vchan_status st;

	do {
		TEST_ASSERT_SUCCESS(rte_dma_vchan_status(id, vchan, &st), "vchan_status");
		if (st == RTE_DMA_VCHAN_IDLE)
			return TEST_SUCCESS;
		TEST_ASSERT_EQUAL(st, RTE_DMA_VCHAN_ACTIVE, "vchan status %d", st);
	} while (now_ms() < end);
	TEST_ASSERT(false, "vchan %u still active after %d ms", vchan, VU_DMA_TIMEOUT_MS);
	return TEST_FAILED;
}

static int
suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vu-dma-test-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	g_srv = spawn_server(g_sock, 2);
	TEST_ASSERT(g_srv > 0, "cannot start the engine server: %d", g_srv);
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	char cmd[128];

	if (g_srv > 0)
		test_child_kill(g_srv, SIGKILL);
	g_srv = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	if (g_dir[0] != '\0' && system(cmd) != 0)
		printf("cannot remove %s\n", g_dir);
	g_dir[0] = '\0';
}

/*
 * Probe, identity and capabilities, dump, remove; again a few times without
 * leaking descriptors or mappings; devargs that name no server.
 */
static int
test_probe_remove(void)
{
	struct leak_snap before;
	struct rte_dma_info info;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int16_t id;
	int i;

	TEST_ASSERT(probe_dev("vudma_bad", "/nonexistent/dma.sock") != 0,
			"probe of a missing server succeeded");
	TEST_ASSERT(rte_dma_get_dev_id_by_name("vudma_bad") < 0, "dmadev of a failed probe");

	for (i = 0; i < 4; i++) {
		/* The first attach creates what the library keeps for its lifetime. */
		if (i == 1)
			leak_snap(&before);
		TEST_ASSERT_SUCCESS(probe_dev("vudma0", g_sock[0]), "probe, round %d", i);
		id = rte_dma_get_dev_id_by_name("vudma0");
		TEST_ASSERT(id >= 0, "no dmadev named vudma0");
		TEST_ASSERT_SUCCESS(rte_dma_info_get(id, &info), "info_get");
		TEST_ASSERT_EQUAL(strcmp(info.dev_name, "vudma0"), 0, "name %s", info.dev_name);
		TEST_ASSERT_EQUAL(info.dev_capa & (RTE_DMA_CAPA_MEM_TO_MEM |
				RTE_DMA_CAPA_OPS_COPY | RTE_DMA_CAPA_OPS_FILL |
				RTE_DMA_CAPA_HANDLES_ERRORS | RTE_DMA_CAPA_SVA |
				RTE_DMA_CAPA_SILENT | RTE_DMA_CAPA_OPS_COPY_SG),
				RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY |
				RTE_DMA_CAPA_OPS_FILL | RTE_DMA_CAPA_HANDLES_ERRORS,
				"capabilities 0x%" PRIx64, info.dev_capa);
		TEST_ASSERT_EQUAL(info.max_vchans, VU_DMA_CHANNELS, "max_vchans %u",
				info.max_vchans);
		TEST_ASSERT_EQUAL(info.min_desc, 16, "min_desc %u", info.min_desc);
		TEST_ASSERT_EQUAL(info.max_desc, 32768, "max_desc %u", info.max_desc);
		TEST_ASSERT_EQUAL(info.nb_vchans, 0, "nb_vchans %u", info.nb_vchans);

		f = open_memstream(&buf, &len);
		TEST_ASSERT_NOT_NULL(f, "open_memstream");
		TEST_ASSERT_SUCCESS(rte_dma_dump(id, f), "dump");
		fclose(f);
		TEST_ASSERT_NOT_NULL(strstr(buf, "control BAR: mapped"), "dump:\n%s", buf);
		TEST_ASSERT_NOT_NULL(strstr(buf, g_sock[0]), "dump:\n%s", buf);
		free(buf);
		buf = NULL;

		/* Both ways of removing: rte_dev_remove() and by bus and name. */
		if (i % 2 == 0) {
			struct rte_device *dev = find_dev("vudma0");

			TEST_ASSERT_NOT_NULL(dev, "bus device vudma0 not found");
			TEST_ASSERT_EQUAL(strcmp(rte_bus_name(rte_dev_bus(dev)), VU_DMA_BUS), 0,
					"bus of vudma0");
			TEST_ASSERT_SUCCESS(rte_dev_remove(dev), "rte_dev_remove, round %d", i);
			g_plugged[0][0] = '\0';
		} else {
			TEST_ASSERT_SUCCESS(remove_dev("vudma0"), "remove, round %d", i);
		}
		TEST_ASSERT(rte_dma_get_dev_id_by_name("vudma0") < 0, "dmadev left after remove");
		TEST_ASSERT_NULL(find_dev("vudma0"), "bus device left after remove");
	}
	return leak_check(&before, VU_DMA_LEAK_TIMEOUT_MS);
}

/* Copies of 1 byte to 1 KiB at odd offsets, checked byte by byte with their edges. */
static int
check_copies(int16_t id, uint16_t vchan, uint8_t *src, uint8_t *dst, unsigned int nb)
{
	uint16_t cap = rte_dma_burst_capacity(id, vchan);
	unsigned int i, done = 0, burst;
	uint32_t len[64], soff[64], doff[64];
	uint16_t last = 0, first = 0;
	int ret;

	while (done < nb) {
		burst = RTE_MIN(RTE_MIN(nb - done, RTE_DIM(len)), cap);
		memset(dst, 0, VU_DMA_BUF_SIZE);
		tdev_fill(src, VU_DMA_BUF_SIZE, done);
		for (i = 0; i < burst; i++) {
			len[i] = 1 + rte_rand_max(VU_DMA_BUF_SIZE / RTE_DIM(len) - 8);
			soff[i] = rte_rand_max(VU_DMA_BUF_SIZE - len[i]);
			doff[i] = i * (VU_DMA_BUF_SIZE / RTE_DIM(len)) + rte_rand_max(8);
			ret = rte_dma_copy(id, vchan, rte_mem_virt2iova(src + soff[i]),
					rte_mem_virt2iova(dst + doff[i]), len[i],
					i == burst - 1 ? RTE_DMA_OP_FLAG_SUBMIT : 0);
			TEST_ASSERT(ret >= 0, "copy %u: %d", done + i, ret);
			if (i == 0)
				first = ret;
			TEST_ASSERT_EQUAL((uint16_t)ret, (uint16_t)(first + i), "job id");
		}
		TEST_ASSERT_EQUAL(rte_dma_burst_capacity(id, vchan), cap - burst, "capacity");
		if (wait_completed(id, vchan, burst, &last) != 0)
			return TEST_FAILED;
		TEST_ASSERT_EQUAL(last, (uint16_t)(first + burst - 1), "last id");
		for (i = 0; i < burst; i++) {
			TEST_ASSERT_EQUAL(memcmp(dst + doff[i], src + soff[i], len[i]), 0,
					"copy %u (%u bytes) differs", done + i, len[i]);
			TEST_ASSERT_EQUAL(dst[doff[i] + len[i]], 0, "copy %u wrote too far",
					done + i);
			TEST_ASSERT(doff[i] % 1024 == 0 || dst[doff[i] - 1] == 0,
					"copy %u wrote before its destination", done + i);
		}
		done += burst;
	}
	TEST_ASSERT_EQUAL(rte_dma_burst_capacity(id, vchan), cap, "capacity after drain");
	return TEST_SUCCESS;
}

static const uint32_t fill_lens[] = { 1, 7, 8, 9, 63, 64, 65, 4097, 20000 };

/* Fills of odd lengths at odd offsets: pattern bytes in little-endian order. */
static int
check_fills(int16_t id, uint16_t vchan, uint8_t *dst)
{
	const uint32_t *lens = fill_lens;
	const uint64_t pattern = 0x0123456789abcdefULL;
	unsigned int i, j, off;
	uint16_t last;
	int ret;

	for (i = 0; i < RTE_DIM(fill_lens); i++) {
		off = i % 8;
		memset(dst, 0x5a, VU_DMA_BUF_SIZE);
		ret = rte_dma_fill(id, vchan, pattern, rte_mem_virt2iova(dst + off), lens[i],
				RTE_DMA_OP_FLAG_SUBMIT);
		TEST_ASSERT(ret >= 0, "fill: %d", ret);
		if (wait_completed(id, vchan, 1, &last) != 0)
			return TEST_FAILED;
		TEST_ASSERT_EQUAL(last, (uint16_t)ret, "fill id");
		for (j = 0; j < off; j++)
			TEST_ASSERT_EQUAL(dst[j], 0x5a, "fill wrote before its destination");
		for (j = 0; j < lens[i]; j++)
			TEST_ASSERT_EQUAL(dst[off + j], (uint8_t)(pattern >> (8 * (j % 8))),
					"fill of %u bytes: byte %u", lens[i], j);
		TEST_ASSERT_EQUAL(dst[off + lens[i]], 0x5a, "fill of %u wrote too far", lens[i]);
	}
	return TEST_SUCCESS;
}

/* Copies and fills on two vchans; 16-bit job id wrap-around on a small ring. */
static int
test_copy_fill(void)
{
	static const uint16_t nb_desc[] = { 100, 16 };
	struct rte_dma_stats st;
	uint8_t *src = NULL, *dst = NULL;
	unsigned int i, n;
	uint16_t last = 0, expect;
	int16_t id;
	int ret, rc = TEST_FAILED;

	TEST_ASSERT_SUCCESS(probe_dev("vudma0", g_sock[0]), "probe");
	id = rte_dma_get_dev_id_by_name("vudma0");
	src = rte_malloc(NULL, VU_DMA_BUF_SIZE, 64);
	dst = rte_malloc(NULL, VU_DMA_BUF_SIZE, 64);
	if (id < 0 || src == NULL || dst == NULL || setup_dev(id, 2, nb_desc) != 0)
		goto out;
	/* nb_desc rounded up to a power of two. */
	if (rte_dma_burst_capacity(id, 0) != 128 || rte_dma_burst_capacity(id, 1) != 16) {
		printf("capacities %u and %u, expected 128 and 16\n",
				rte_dma_burst_capacity(id, 0), rte_dma_burst_capacity(id, 1));
		goto out;
	}
	if (check_copies(id, 0, src, dst, 500) != 0 || check_copies(id, 1, src, dst, 100) != 0)
		goto out;
	if (check_fills(id, 0, dst) != 0 || check_fills(id, 1, dst) != 0)
		goto out;

	/* Past 65536 jobs on the 16-entry ring: ids wrap, ring indexes too. */
	rte_dma_stats_reset(id, 1);
	tdev_fill(src, 64, 7);
	/* vchan 1 ran 100 copies and the fills. */
	expect = 100 + RTE_DIM(fill_lens);
	for (n = 0; n < 70000; n += 16) {
		for (i = 0; i < 16; i++) {
			ret = rte_dma_copy(id, 1, rte_mem_virt2iova(src),
					rte_mem_virt2iova(dst + i * 64), 64, 0);
			if (ret < 0 || (uint16_t)ret != expect++) {
				printf("copy %u: %d\n", n + i, ret);
				goto out;
			}
		}
		if (rte_dma_submit(id, 1) != 0 || wait_completed(id, 1, 16, &last) != 0)
			goto out;
	}
	if (last != (uint16_t)(expect - 1) || memcmp(dst + 15 * 64, src, 64) != 0) {
		printf("after the wrap: last id %u\n", last);
		goto out;
	}
	if (rte_dma_stats_get(id, 1, &st) != 0 || st.submitted != n || st.completed != n ||
			st.errors != 0) {
		printf("vchan 1 stats: %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				st.submitted, st.completed, st.errors);
		goto out;
	}
	if (rte_dma_stats_get(id, RTE_DMA_ALL_VCHAN, &st) != 0 ||
			st.submitted != n + 500 + RTE_DIM(fill_lens) ||
			st.completed != st.submitted) {
		printf("all-vchan stats: %" PRIu64 " %" PRIu64 "\n", st.submitted, st.completed);
		goto out;
	}
	if (wait_idle(id, 0) != 0 || wait_idle(id, 1) != 0)
		goto out;
	rc = TEST_SUCCESS;
out:
	rte_free(src);
	rte_free(dst);
	TEST_ASSERT_SUCCESS(remove_dev("vudma0"), "remove");
	return rc;
}

/* Every error the engine reports, and dmadev's completed/completed_status rules. */
static int
test_errors(void)
{
	static const uint16_t nb_desc[] = { 64 };
	enum rte_dma_status_code sc[16];
	struct rte_dma_stats st;
	rte_iova_t s, d;
	uint8_t *buf;
	uint16_t last = 0, n;
	bool err = false;
	int16_t id;
	int i, ret;

	TEST_ASSERT_SUCCESS(probe_dev("vudma0", g_sock[0]), "probe");
	id = rte_dma_get_dev_id_by_name("vudma0");
	TEST_ASSERT(id >= 0, "no dmadev");
	buf = rte_zmalloc(NULL, 2 * 4096, 64);
	TEST_ASSERT_NOT_NULL(buf, "no memory");
	s = rte_mem_virt2iova(buf);
	d = rte_mem_virt2iova(buf + 4096);
	ret = setup_dev(id, 1, nb_desc);
	if (ret != 0)
		goto out;

	/* 0 ok, 1 ok, 2 bad src, 3 ok, 4 bad dst, 5 length 0, 6 fill bad dst, 7 ok */
	for (i = 0; i < 8 && ret >= 0; i++) {
		uint64_t flags = i == 3 ? RTE_DMA_OP_FLAG_FENCE : 0;

		if (i == 6)
			ret = rte_dma_fill(id, 0, 0, 0, 64, flags);
		else
			ret = rte_dma_copy(id, 0, i == 2 ? 0 : s, i == 4 ? 0 : d,
					i == 5 ? 0 : 64, flags);
	}
	TEST_ASSERT(ret >= 0, "enqueue: %d", ret);
	TEST_ASSERT_SUCCESS(rte_dma_submit(id, 0), "submit");
	TEST_ASSERT_SUCCESS(wait_idle(id, 0), "idle");

	n = rte_dma_completed(id, 0, 8, &last, &err);
	TEST_ASSERT_EQUAL(n, 2, "completed before the first error: %u", n);
	TEST_ASSERT(err, "has_error not set");
	TEST_ASSERT_EQUAL(last, 1, "last id %u", last);
	for (i = 0; i < 3; i++) {
		err = false;
		n = rte_dma_completed(id, 0, 8, &last, &err);
		TEST_ASSERT(n == 0 && err && last == 1, "repeated completed(): %u %d %u",
				n, err, last);
	}
	n = rte_dma_completed_status(id, 0, 2, &last, sc);
	TEST_ASSERT_EQUAL(n, 2, "completed_status: %u", n);
	TEST_ASSERT_EQUAL(last, 3, "last id %u", last);
	TEST_ASSERT_EQUAL(sc[0], RTE_DMA_STATUS_INVALID_SRC_ADDR, "status %d", sc[0]);
	TEST_ASSERT_EQUAL(sc[1], RTE_DMA_STATUS_SUCCESSFUL, "status %d", sc[1]);
	err = false;
	n = rte_dma_completed(id, 0, 8, &last, &err);
	TEST_ASSERT(n == 0 && err && last == 3, "completed() at the 2nd error: %u %d %u",
			n, err, last);
	n = rte_dma_completed_status(id, 0, RTE_DIM(sc), &last, sc);
	TEST_ASSERT_EQUAL(n, 4, "completed_status: %u", n);
	TEST_ASSERT_EQUAL(last, 7, "last id %u", last);
	TEST_ASSERT_EQUAL(sc[0], RTE_DMA_STATUS_INVALID_DST_ADDR, "status %d", sc[0]);
	TEST_ASSERT_EQUAL(sc[1], RTE_DMA_STATUS_INVALID_LENGTH, "status %d", sc[1]);
	TEST_ASSERT_EQUAL(sc[2], RTE_DMA_STATUS_INVALID_DST_ADDR, "status %d", sc[2]);
	TEST_ASSERT_EQUAL(sc[3], RTE_DMA_STATUS_SUCCESSFUL, "status %d", sc[3]);
	err = false;
	TEST_ASSERT_EQUAL(rte_dma_completed(id, 0, 8, &last, &err), 0, "empty");
	TEST_ASSERT(!err && last == 7, "empty completed(): %d %u", err, last);
	TEST_ASSERT_EQUAL(rte_dma_completed_status(id, 0, 8, &last, sc), 0, "empty");

	TEST_ASSERT_SUCCESS(rte_dma_stats_get(id, 0, &st), "stats");
	TEST_ASSERT(st.submitted == 8 && st.completed == 8 && st.errors == 4,
			"stats %" PRIu64 " %" PRIu64 " %" PRIu64, st.submitted, st.completed,
			st.errors);
	TEST_ASSERT_SUCCESS(rte_dma_stats_reset(id, 0), "stats reset");
	TEST_ASSERT_SUCCESS(rte_dma_stats_get(id, 0, &st), "stats");
	TEST_ASSERT(st.submitted == 0 && st.completed == 0 && st.errors == 0, "after reset");
	ret = 0;
out:
	rte_free(buf);
	TEST_ASSERT_SUCCESS(remove_dev("vudma0"), "remove");
	return ret == 0 ? TEST_SUCCESS : TEST_FAILED;
}

/* A full ring refuses jobs; stop drops what is queued; start restarts ids at 0. */
static int
test_ring_full_restart(void)
{
	static const uint16_t nb_desc[] = { 32, 16 };
	struct rte_dma_vchan_conf qconf = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = 512,
	};
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	uint8_t *buf;
	rte_iova_t iova;
	uint16_t last = 0;
	int16_t id;
	int i, ret;

	TEST_ASSERT_SUCCESS(probe_dev("vudma0", g_sock[0]), "probe");
	id = rte_dma_get_dev_id_by_name("vudma0");
	TEST_ASSERT(id >= 0, "no dmadev");
	buf = rte_zmalloc(NULL, 4096, 64);
	TEST_ASSERT_NOT_NULL(buf, "no memory");
	iova = rte_mem_virt2iova(buf);
	ret = setup_dev(id, 2, nb_desc);
	for (i = 0; ret == 0 && i < 32; i++)
		ret = rte_dma_copy(id, 0, iova, iova + 2048, 64, 0) == i ? 0 : -1;
	if (ret == 0 && (rte_dma_burst_capacity(id, 0) != 0 ||
			rte_dma_copy(id, 0, iova, iova + 2048, 64, 0) != -ENOSPC ||
			rte_dma_fill(id, 0, 0, iova, 64, 0) != -ENOSPC))
		ret = -1;
	if (ret == 0 && (rte_dma_submit(id, 0) != 0 || wait_completed(id, 0, 32, &last) != 0 ||
			last != 31 || rte_dma_burst_capacity(id, 0) != 32))
		ret = -1;
	/* Queued, never submitted, then stopped: nothing completes after a restart. */
	if (ret == 0 && rte_dma_copy(id, 1, iova, iova + 2048, 64, 0) != 0)
		ret = -1;
	if (ret == 0 && (rte_dma_vchan_setup(id, 0, &qconf) != -EBUSY ||
			rte_dma_stop(id) != 0 || rte_dma_start(id) != 0))
		ret = -1;
	if (ret == 0 && (rte_dma_completed(id, 1, 8, NULL, NULL) != 0 ||
			rte_dma_burst_capacity(id, 1) != 16 ||
			rte_dma_copy(id, 1, iova, iova + 2048, 64, RTE_DMA_OP_FLAG_SUBMIT) != 0 ||
			wait_completed(id, 1, 1, &last) != 0 || last != 0))
		ret = -1;
	/* Reconfigured while stopped: one vchan, a bigger ring. */
	if (ret == 0 && (rte_dma_stop(id) != 0 || rte_dma_configure(id, &conf) != 0 ||
			rte_dma_vchan_setup(id, 0, &qconf) != 0 || rte_dma_start(id) != 0 ||
			rte_dma_burst_capacity(id, 0) != 512 ||
			rte_dma_copy(id, 0, iova, iova + 2048, 64, RTE_DMA_OP_FLAG_SUBMIT) != 0 ||
			wait_completed(id, 0, 1, &last) != 0))
		ret = -1;
	rte_free(buf);
	TEST_ASSERT_SUCCESS(ret, "ring full / stop / start sequence failed");
	/* Remove while started: the PMD stops it. */
	TEST_ASSERT_SUCCESS(remove_dev("vudma0"), "remove");
	TEST_ASSERT(rte_dma_get_dev_id_by_name("vudma0") < 0, "dmadev left");
	return TEST_SUCCESS;
}

/* Two devices on the bus, used at once; closing one by the app, then removing. */
static int
test_two_devices(void)
{
	static const uint16_t nb_desc[] = { 256, 256 };
	struct rte_dma_stats st;
	uint8_t *buf[2] = { NULL, NULL };
	int16_t id[2];
	unsigned int i, k, round;
	uint16_t last;
	int ret = 0;

	TEST_ASSERT_SUCCESS(probe_dev("vudma0", g_sock[0]), "probe 0");
	TEST_ASSERT_SUCCESS(probe_dev("vudma1", g_sock[1]), "probe 1");
	id[0] = rte_dma_get_dev_id_by_name("vudma0");
	id[1] = rte_dma_get_dev_id_by_name("vudma1");
	if (id[0] < 0 || id[1] < 0 || id[0] == id[1])
		ret = -1;
	for (k = 0; ret == 0 && k < 2; k++) {
		buf[k] = rte_malloc(NULL, 2 * VU_DMA_BUF_SIZE, 64);
		if (buf[k] == NULL || setup_dev(id[k], 2, nb_desc) != 0)
			ret = -1;
	}
	/* Four channels of two engines busy together. */
	for (round = 0; ret == 0 && round < 20; round++) {
		for (k = 0; k < 4; k++) {
			uint8_t *b = buf[k / 2] + (k % 2) * VU_DMA_BUF_SIZE;

			tdev_fill(b, VU_DMA_BUF_SIZE / 2, round * 4 + k);
			for (i = 0; i < 16 && ret == 0; i++)
				if (rte_dma_copy(id[k / 2], k % 2, rte_mem_virt2iova(b + i * 2048),
						rte_mem_virt2iova(b + VU_DMA_BUF_SIZE / 2 +
							i * 2048), 2048, 0) < 0)
					ret = -1;
			if (ret == 0 && rte_dma_submit(id[k / 2], k % 2) != 0)
				ret = -1;
		}
		for (k = 0; k < 4 && ret == 0; k++) {
			uint8_t *b = buf[k / 2] + (k % 2) * VU_DMA_BUF_SIZE;

			if (wait_completed(id[k / 2], k % 2, 16, &last) != 0 ||
					memcmp(b, b + VU_DMA_BUF_SIZE / 2,
						VU_DMA_BUF_SIZE / 2) != 0)
				ret = -1;
		}
	}
	for (k = 0; ret == 0 && k < 2; k++)
		if (rte_dma_stats_get(id[k], RTE_DMA_ALL_VCHAN, &st) != 0 ||
				st.completed != 20 * 32)
			ret = -1;
	rte_free(buf[0]);
	rte_free(buf[1]);
	TEST_ASSERT_SUCCESS(ret, "copies on two devices failed");
	/* The app closes one itself: remove then has no dmadev to release. */
	TEST_ASSERT_SUCCESS(rte_dma_stop(id[0]), "stop");
	TEST_ASSERT_SUCCESS(rte_dma_close(id[0]), "close");
	TEST_ASSERT_SUCCESS(remove_dev("vudma0"), "remove 0");
	TEST_ASSERT_SUCCESS(remove_dev("vudma1"), "remove 1");
	TEST_ASSERT(rte_dma_get_dev_id_by_name("vudma0") < 0 &&
			rte_dma_get_dev_id_by_name("vudma1") < 0, "dmadevs left");
	return TEST_SUCCESS;
}

static char g_removed_name[64];
static volatile int g_removed;

static void
removal_cb(const char *name, enum rte_dev_event_type type, void *arg __rte_unused)
{
	if (type != RTE_DEV_EVENT_REMOVE)
		return;
	snprintf(g_removed_name, sizeof(g_removed_name), "%s", name);
	__atomic_store_n(&g_removed, 1, __ATOMIC_RELEASE);
}

/*
 * The server dies with copies in flight: the app gets a removal event, the
 * data path fails cleanly, and the device can be removed.
 */
static int
test_server_killed(void)
{
	static const uint16_t nb_desc[] = { 256 };
	enum rte_dma_vchan_status vst;
	enum rte_dma_status_code sc[64];
	char sock[1][128];
	uint64_t end, done = 0;
	uint8_t *buf = NULL;
	char *dump = NULL;
	size_t dlen = 0;
	rte_iova_t iova;
	pid_t pid;
	int16_t id;
	bool err;
	FILE *f;
	int ret, i;

	pid = spawn_server(sock, 1);
	TEST_ASSERT(pid > 0, "server: %d", pid);
	g_removed = 0;
	g_removed_name[0] = '\0';
	ret = rte_dev_event_callback_register(NULL, removal_cb, NULL);
	if (ret != 0) {
		test_child_kill(pid, SIGKILL);
		TEST_ASSERT_SUCCESS(ret, "event callback register");
	}
	ret = probe_dev("vudmak", sock[0]);
	id = rte_dma_get_dev_id_by_name("vudmak");
	buf = rte_malloc(NULL, VU_DMA_BUF_SIZE, 64);
	if (ret != 0 || id < 0 || buf == NULL || setup_dev(id, 1, nb_desc) != 0) {
		test_child_kill(pid, SIGKILL);
		ret = -1;
		goto out;
	}
	iova = rte_mem_virt2iova(buf);

	/* Copies flow, the server is killed, copies keep being attempted. */
	end = now_ms() + VU_DMA_TIMEOUT_MS;
	while (!__atomic_load_n(&g_removed, __ATOMIC_ACQUIRE) && now_ms() < end) {
		for (i = 0; i < 32; i++)
			if (rte_dma_copy(id, 0, iova, iova + VU_DMA_BUF_SIZE / 2, 4096, 0) < 0)
				break;
		rte_dma_submit(id, 0);
		done += rte_dma_completed(id, 0, 64, NULL, NULL);
		if (pid > 0 && done >= 2000) {
			test_child_kill(pid, SIGKILL);
			pid = -1;
		}
	}
	if (pid > 0)
		test_child_kill(pid, SIGKILL);
	if (!g_removed || strcmp(g_removed_name, "vudmak") != 0) {
		printf("no removal event (done %" PRIu64 ", event for '%s')\n", done,
				g_removed_name);
		ret = -1;
		goto out;
	}
	/* Drain what completed before the end; then nothing more comes. */
	for (i = 0; i < 100; i++)
		rte_dma_completed_status(id, 0, RTE_DIM(sc), NULL, sc);
	err = false;
	if (rte_dma_copy(id, 0, iova, iova + 64, 64, RTE_DMA_OP_FLAG_SUBMIT) >= 0 ||
			rte_dma_fill(id, 0, 0, iova, 64, 0) >= 0 ||
			rte_dma_submit(id, 0) >= 0 ||
			rte_dma_completed(id, 0, 64, NULL, &err) != 0 ||
			rte_dma_completed_status(id, 0, RTE_DIM(sc), NULL, sc) != 0) {
		printf("data path still accepts work after the server died\n");
		ret = -1;
		goto out;
	}
	if (rte_dma_vchan_status(id, 0, &vst) != 0 || vst != RTE_DMA_VCHAN_HALTED_ERROR) {
		printf("vchan status %d after the server died\n", vst);
		ret = -1;
		goto out;
	}
	f = open_memstream(&dump, &dlen);
	if (f == NULL || rte_dma_dump(id, f) != 0) {
		ret = -1;
	} else {
		fclose(f);
		f = NULL;
		ret = strstr(dump, "(removed)") != NULL ? 0 : -1;
		if (ret != 0)
			printf("dump:\n%s", dump);
	}
	if (f != NULL)
		fclose(f);
	free(dump);
	if (ret == 0 && (rte_dma_stop(id) != 0 || rte_dma_start(id) != -ENODEV))
		ret = -1;
out:
	rte_free(buf);
	rte_dev_event_callback_unregister(NULL, removal_cb, NULL);
	TEST_ASSERT_SUCCESS(ret, "server-killed sequence failed");
	TEST_ASSERT_SUCCESS(remove_dev("vudmak"), "remove after the server died");
	TEST_ASSERT(rte_dma_get_dev_id_by_name("vudmak") < 0, "dmadev left");
	return TEST_SUCCESS;
}

static struct rte_vfio_user_bus_device *
bus_dev(const char *name)
{
	struct rte_device *dev = find_dev(name);

	return dev == NULL ? NULL : container_of(dev, struct rte_vfio_user_bus_device, device);
}

/* The library's client device id behind a bus device, or -1. */
static int
client_id(const char *name)
{
	struct rte_vfio_user_bus_device *dev = bus_dev(name);

	return dev == NULL ? -1 : dev->dev_id;
}

/* The bus waits for the device's server to come back. */
static bool
bus_dev_away(const char *name)
{
	struct rte_vfio_user_bus_device *dev = bus_dev(name);

	return dev != NULL && __atomic_load_n(&dev->away, __ATOMIC_ACQUIRE);
}

/* Copy slot k of the buffer's first half to the same slot of its second half. */
static int
restart_copy(int16_t id, rte_iova_t iova, unsigned int k)
{
	const uint32_t slot = 4096;

	k %= VU_DMA_BUF_SIZE / 2 / slot;
	return rte_dma_copy(id, 0, iova + k * slot, iova + VU_DMA_BUF_SIZE / 2 + k * slot, slot,
			RTE_DMA_OP_FLAG_SUBMIT);
}

/*
 * Copies flow and the server is killed with some in flight; with a client
 * device id (cid >= 0) the restart is planned: the engine's state is held
 * first (rte_vfio_user_mig_save_for_restart()), and copies are posted after
 * the save, which only the driver's rings know of.
 */
static int
restart_body(int16_t id, uint8_t *buf, char (*sock)[128], pid_t *pid, int cid)
{
	rte_iova_t iova = rte_mem_virt2iova(buf);
	uint64_t end, done = 0, posted = 0;
	unsigned int k = 0, i;
	bool err = false;
	int ret;

	tdev_fill(buf, VU_DMA_BUF_SIZE / 2, (uint32_t)rte_rand());
	memset(buf + VU_DMA_BUF_SIZE / 2, 0, VU_DMA_BUF_SIZE / 2);
	while (done < 200) {
		if (restart_copy(id, iova, k) >= 0) {
			k++;
			posted++;
		}
		done += rte_dma_completed(id, 0, 64, NULL, &err);
		TEST_ASSERT(!err, "copy failed before the kill");
	}
	if (cid >= 0) {
		/* Room in the ring for the copies after the save, some still in flight. */
		end = now_ms() + VU_DMA_TIMEOUT_MS;
		while (posted - done > 128) {
			done += rte_dma_completed(id, 0, 64, NULL, &err);
			TEST_ASSERT(!err && now_ms() < end, "ring not draining before the save");
		}
		TEST_ASSERT_SUCCESS(bus_client_save_for_restart(cid), "save the engine");
		for (i = 0; i < 8; i++, k++, posted++)
			TEST_ASSERT(restart_copy(id, iova, k) >= 0, "copy after the save");
	}
	test_child_kill(*pid, SIGKILL);
	*pid = -1;
	/* The documented error window: -ENOTCONN at once, nothing hangs. */
	end = now_ms() + VU_DMA_TIMEOUT_MS;
	do {
		ret = restart_copy(id, iova, k);
		if (ret >= 0) {
			k++;
			posted++;
		}
		done += rte_dma_completed(id, 0, 64, NULL, &err);
		TEST_ASSERT(now_ms() < end, "copies still accepted %d ms after the kill",
				VU_DMA_TIMEOUT_MS);
	} while (ret != -ENOTCONN);
	TEST_ASSERT_EQUAL(rte_dma_submit(id, 0), -ENOTCONN, "submit while away");
	TEST_ASSERT(!__atomic_load_n(&g_removed, __ATOMIC_ACQUIRE), "removed on a restart");

	*pid = spawn_server_at(sock, 1, false);
	TEST_ASSERT(*pid > 0, "server again: %d", *pid);
	end = now_ms() + VU_DMA_TIMEOUT_MS;
	if (cid >= 0) {
		/* Nothing new posted: the restored engine must learn of the jobs by itself. */
		while (bus_dev_away("vudmar")) {
			TEST_ASSERT(now_ms() < end, "still away %d ms after the restart",
					VU_DMA_TIMEOUT_MS);
			rte_delay_us_sleep(1000);
		}
		while (done < posted) {
			done += rte_dma_completed(id, 0, 64, NULL, &err);
			TEST_ASSERT(!err, "a copy failed across the planned restart");
			TEST_ASSERT(now_ms() < end, "%" PRIu64 " of %" PRIu64
					" copies done after the planned restart", done, posted);
		}
	}
	/* -ENOSPC: the ring filled up before the loss was seen; it drains now. */
	while ((ret = restart_copy(id, iova, k)) == -ENOTCONN || ret == -ENOSPC) {
		done += rte_dma_completed(id, 0, 64, NULL, &err);
		TEST_ASSERT(now_ms() < end, "still away %d ms after the restart",
				VU_DMA_TIMEOUT_MS);
		rte_delay_us_sleep(1000);
	}
	TEST_ASSERT(ret >= 0, "copy after the restart: %d", ret);
	posted++;
	/* The jobs in flight at the kill are run by the new engine: all complete. */
	end = now_ms() + VU_DMA_TIMEOUT_MS;
	while (done < posted) {
		done += rte_dma_completed(id, 0, 64, NULL, &err);
		TEST_ASSERT(!err, "a copy failed across the restart");
		TEST_ASSERT(now_ms() < end, "%" PRIu64 " of %" PRIu64 " copies completed",
				done, posted);
	}
	TEST_ASSERT_SUCCESS(memcmp(buf, buf + VU_DMA_BUF_SIZE / 2, VU_DMA_BUF_SIZE / 2),
			"copied data differs");
	/* And fresh work, checked byte for byte. */
	tdev_fill(buf, VU_DMA_BUF_SIZE / 2, (uint32_t)rte_rand());
	for (k = 0; k < VU_DMA_BUF_SIZE / 2 / 4096; k++)
		TEST_ASSERT(restart_copy(id, iova, k) >= 0, "copy %u", k);
	TEST_ASSERT_SUCCESS(wait_completed(id, 0, k, NULL), "new copies");
	TEST_ASSERT_SUCCESS(memcmp(buf, buf + VU_DMA_BUF_SIZE / 2, VU_DMA_BUF_SIZE / 2),
			"copied data differs after the restart");
	TEST_ASSERT(!__atomic_load_n(&g_removed, __ATOMIC_ACQUIRE), "removal event");
	return TEST_SUCCESS;
}

/*
 * The devargs reconnect=1: the server is killed with copies in flight and
 * started again on its path; the dmadev fails with -ENOTCONN meanwhile, then
 * runs the jobs in flight and new ones, without a re-probe.
 */
static int
server_restart(bool planned)
{
	static const uint16_t nb_desc[] = { 256 };
	char sock[1][128], devargs[256];
	uint8_t *buf = NULL;
	pid_t pid;
	int16_t id = -1;
	int ret;

	pid = spawn_server(sock, 1);
	TEST_ASSERT(pid > 0, "server: %d", pid);
	g_removed = 0;
	ret = rte_dev_event_callback_register(NULL, removal_cb, NULL);
	snprintf(devargs, sizeof(devargs), VU_DMA_BUS ":vudmar,path=%s,reconnect=1", sock[0]);
	if (ret == 0)
		ret = rte_dev_probe(devargs);
	if (ret == 0) {
		snprintf(g_plugged[RTE_DIM(g_plugged) - 1], sizeof(g_plugged[0]), "vudmar");
		id = rte_dma_get_dev_id_by_name("vudmar");
		buf = rte_malloc(NULL, VU_DMA_BUF_SIZE, 4096);
	}
	if (id < 0 || buf == NULL || setup_dev(id, 1, nb_desc) != 0)
		ret = -1;
	if (ret == 0)
		ret = restart_body(id, buf, sock, &pid, planned ? client_id("vudmar") : -1);
	if (pid > 0)
		test_child_kill(pid, SIGKILL);
	rte_free(buf);
	rte_dev_event_callback_unregister(NULL, removal_cb, NULL);
	TEST_ASSERT_SUCCESS(ret, "server-restart sequence failed");
	TEST_ASSERT_SUCCESS(remove_dev("vudmar"), "remove");
	return TEST_SUCCESS;
}

static int
test_server_restarted(void)
{
	return server_restart(false);
}

/*
 * A planned restart: the engine's state is held by the library before the
 * server goes, and loaded into the new one; the jobs in flight, and those
 * posted after the save, complete on the new engine.
 */
static int
test_server_restart_planned(void)
{
	return server_restart(true);
}

/*
 * A fake engine served by this process, for what the real one never does:
 * bad identification registers, a reset that never ends, a refused ring,
 * unknown status values, and a control BAR that cannot be mapped (so the PMD
 * reaches every register, doorbell included, with region messages). Its
 * engine runs in the BAR0 write callback when DOORBELL is written.
 */
struct fake_engine {
	char path[128];
	int id;
	uint32_t regs[EMU_DMA_CTRL_BAR_SIZE / 4];
	struct rte_vfio_user_pci *pci;
	bool reset_stuck;	/* DEV_CTRL.RESET never clears. */
	bool refuse_ring;	/* ENABLE always gives RING_ERROR. */
	uint16_t forced_status;	/* Written for every descriptor when not 0. */
	unsigned int doorbells;	/* DOORBELL writes seen. */
};

/* One descriptor: copy only (the fake engine does not fill). */
static uint16_t
fake_op(int dev_id, const struct emu_dma_desc *d)
{
	uint64_t slen = d->len, dlen = d->len;
	void *sp, *dp;

	if (d->op != EMU_DMA_OP_COPY)
		return EMU_DMA_STATUS_ERR_OP;
	sp = rte_vfio_user_iova_to_vva(dev_id, d->src, &slen);
	if (sp == NULL || slen < d->len)
		return EMU_DMA_STATUS_ERR_SRC;
	dp = rte_vfio_user_iova_to_vva(dev_id, d->dst, &dlen);
	if (dp == NULL || dlen < d->len)
		return EMU_DMA_STATUS_ERR_DST;
	if (d->len == 0)
		return EMU_DMA_STATUS_ERR_LEN;
	memcpy(dp, sp, d->len);
	return EMU_DMA_STATUS_SUCCESS;
}

static void
fake_run(struct fake_engine *fe, int dev_id, uint32_t c)
{
	uint32_t *cr = &fe->regs[EMU_DMA_CHAN_BASE(c) / 4];
	uint64_t ring = cr[EMU_DMA_CHAN_RING_LO / 4] |
		(uint64_t)cr[EMU_DMA_CHAN_RING_HI / 4] << 32;
	uint32_t size = cr[EMU_DMA_CHAN_RING_SIZE / 4];
	struct emu_dma_desc *d;
	uint64_t len;
	uint16_t st;

	while (cr[EMU_DMA_CHAN_COMPLETED / 4] != cr[EMU_DMA_CHAN_DOORBELL / 4]) {
		len = sizeof(*d);
		d = rte_vfio_user_iova_to_vva(dev_id, ring + (cr[EMU_DMA_CHAN_COMPLETED / 4] &
				(size - 1)) * sizeof(*d), &len);
		if (d == NULL || len < sizeof(*d)) {
			cr[EMU_DMA_CHAN_STATUS / 4] = EMU_DMA_CHAN_STATUS_RING_ERROR;
			return;
		}
		st = fake_op(dev_id, d);
		if (fe->forced_status != 0)
			st = fe->forced_status;
		__atomic_store_n(&d->status, st, __ATOMIC_RELEASE);
		cr[EMU_DMA_CHAN_COMPLETED / 4]++;
	}
}

static ssize_t
fake_bar0_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t off, bool is_write)
{
	struct fake_engine *fe = reg->priv;
	uint32_t nch = fe->regs[EMU_DMA_REG_NUM_CHANNELS / 4];
	uint32_t v, c, r, *cr;

	if (count != 4 || off % 4 != 0)
		return -EINVAL;
	if (!is_write) {
		memcpy(buf, &fe->regs[off / 4], 4);
		return 4;
	}
	memcpy(&v, buf, 4);
	if (off == EMU_DMA_REG_DEV_CTRL) {
		if (v & EMU_DMA_DEV_CTRL_RESET) {
			memset(&fe->regs[EMU_DMA_CHAN_BASE(0) / 4], 0,
					sizeof(fe->regs) - EMU_DMA_CHAN_BASE(0));
			fe->regs[off / 4] = fe->reset_stuck ? EMU_DMA_DEV_CTRL_RESET : 0;
		}
		return 4;
	}
	if (off < EMU_DMA_CHAN_BASE(0) || off >= EMU_DMA_CHAN_BASE(RTE_MIN(nch, 16u)))
		return 4; /* read-only or unused */
	c = (off - EMU_DMA_CHAN_BASE(0)) / 0x40;
	r = (off - EMU_DMA_CHAN_BASE(0)) % 0x40;
	cr = &fe->regs[EMU_DMA_CHAN_BASE(c) / 4];
	switch (r) {
	case EMU_DMA_CHAN_STATUS:
	case EMU_DMA_CHAN_COMPLETED:
		break;
	case EMU_DMA_CHAN_CTRL:
		cr[r / 4] = v;
		if (!(v & EMU_DMA_CHAN_CTRL_ENABLE)) {
			cr[EMU_DMA_CHAN_STATUS / 4] = 0;
		} else if (fe->refuse_ring || !rte_is_power_of_2(cr[EMU_DMA_CHAN_RING_SIZE / 4]) ||
				cr[EMU_DMA_CHAN_RING_SIZE / 4] < EMU_DMA_MIN_RING_SIZE) {
			cr[EMU_DMA_CHAN_STATUS / 4] = EMU_DMA_CHAN_STATUS_RING_ERROR;
		} else {
			cr[EMU_DMA_CHAN_STATUS / 4] = EMU_DMA_CHAN_STATUS_ACTIVE;
			cr[EMU_DMA_CHAN_DOORBELL / 4] = 0;
			cr[EMU_DMA_CHAN_COMPLETED / 4] = 0;
		}
		break;
	case EMU_DMA_CHAN_DOORBELL:
		cr[r / 4] = v;
		fe->doorbells++;
		if (cr[EMU_DMA_CHAN_STATUS / 4] & EMU_DMA_CHAN_STATUS_ACTIVE)
			fake_run(fe, dev_id, c);
		break;
	default:
		cr[r / 4] = v;
	}
	return 4;
}

static void
fake_set_id(struct fake_engine *fe, uint32_t magic, uint32_t version, uint32_t nch,
		uint32_t caps, uint32_t max_ring)
{
	memset(fe->regs, 0, sizeof(fe->regs));
	fe->regs[EMU_DMA_REG_MAGIC / 4] = magic;
	fe->regs[EMU_DMA_REG_VERSION / 4] = version;
	fe->regs[EMU_DMA_REG_NUM_CHANNELS / 4] = nch;
	fe->regs[EMU_DMA_REG_CAPS / 4] = caps;
	fe->regs[EMU_DMA_REG_MAX_RING_SIZE / 4] = max_ring;
	fe->regs[EMU_DMA_REG_MAX_XFER / 4] = 1 << 20;
	fe->regs[EMU_DMA_REG_DEV_STATUS / 4] = EMU_DMA_DEV_STATUS_READY;
}

static void
fake_stop(struct fake_engine *fe)
{
	rte_vfio_user_unregister(fe->path);
	rte_vfio_user_pci_free(fe->pci);
	fe->pci = NULL;
}

static int
fake_start(struct fake_engine *fe)
{
	/* The PMD's identity, no interrupts, BAR0 not mappable: every access is a message. */
	struct rte_vfio_user_pci_info info = {
		.vendor_id = EMU_DMA_VENDOR_ID,
		.device_id = EMU_DMA_DEVICE_ID,
		.class_code = EMU_DMA_CLASS,
		.revision = EMU_DMA_REVISION,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		.flags = RTE_VFIO_USER_PCI_F_RESET,
		.bars[0] = { .size = EMU_DMA_CTRL_BAR_SIZE, .rw = fake_bar0_rw, .priv = fe,
			.fd = -1 },
	};
	int ret;

	mkpath(fe->path, sizeof(fe->path), "fake");
	ret = rte_vfio_user_register(fe->path, NULL);
	if (ret < 0)
		return ret;
	fe->id = ret;
	fe->pci = rte_vfio_user_pci_create(fe->path, fe->id, &info);
	if (fe->pci == NULL || rte_vfio_user_start(fe->path) < 0) {
		fake_stop(fe);
		return -EIO;
	}
	return 0;
}

/* Identification registers the PMD must refuse, and a reset that never ends. */
static int
test_hostile_registers(void)
{
	static const struct {
		uint32_t magic, version, nch, caps, max_ring;
		bool stuck;
	} bad[] = {
		{ 0x12345678, EMU_DMA_VERSION_VALUE, 2, 3, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, 0x00020000, 2, 3, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 0, 3, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 17, 3, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, UINT32_MAX, 3, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 2, EMU_DMA_CAP_FILL, 1024, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 2, 3, 8, false },
		{ EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 2, 3, 1024, true },
	};
	struct fake_engine *fe;
	char name[32];
	unsigned int i;
	int ret = 0;

	fe = calloc(1, sizeof(*fe));
	TEST_ASSERT_NOT_NULL(fe, "no memory");
	for (i = 0; i < RTE_DIM(bad) && ret == 0; i++) {
		fake_set_id(fe, bad[i].magic, bad[i].version, bad[i].nch, bad[i].caps,
				bad[i].max_ring);
		fe->reset_stuck = bad[i].stuck;
		ret = fake_start(fe);
		if (ret != 0) {
			printf("fake engine: %d\n", ret);
			break;
		}
		snprintf(name, sizeof(name), "vuhostile%u", i);
		if (probe_dev(name, fe->path) == 0) {
			printf("case %u: probe succeeded\n", i);
			ret = -1;
		} else if (rte_dma_get_dev_id_by_name(name) >= 0) {
			printf("case %u: dmadev left by a failed probe\n", i);
			ret = -1;
		}
		fake_stop(fe);
	}
	free(fe);
	TEST_ASSERT_SUCCESS(ret, "hostile register case %u", i - 1);
	return TEST_SUCCESS;
}

/*
 * An engine whose control BAR cannot be mapped: everything through region
 * messages. No fill capability, a small maximum ring, a refused ring and
 * status values the PMD does not know.
 */
static int
test_message_path(void)
{
	struct rte_dma_vchan_conf qconf = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = 64,
	};
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	enum rte_dma_status_code sc[8];
	struct fake_engine *fe;
	struct rte_dma_info info;
	uint8_t *buf = NULL;
	char *dump = NULL;
	size_t dlen = 0;
	uint16_t last = 0, n;
	bool err = false;
	int16_t id;
	int i, ret = -1;
	FILE *f;

	fe = calloc(1, sizeof(*fe));
	TEST_ASSERT_NOT_NULL(fe, "no memory");
	fake_set_id(fe, EMU_DMA_MAGIC_VALUE, EMU_DMA_VERSION_VALUE, 1, EMU_DMA_CAP_COPY, 100);
	if (fake_start(fe) != 0) {
		free(fe);
		TEST_ASSERT(false, "fake engine");
	}
	if (probe_dev("vudmamsg", fe->path) != 0)
		goto out;
	id = rte_dma_get_dev_id_by_name("vudmamsg");
	buf = rte_zmalloc(NULL, 8192, 64);
	if (id < 0 || buf == NULL || rte_dma_info_get(id, &info) != 0)
		goto out;
	if (info.max_vchans != 1 || info.max_desc != 64 ||
			(info.dev_capa & RTE_DMA_CAPA_OPS_FILL) != 0) {
		printf("info: %u vchans, max_desc %u, capa 0x%" PRIx64 "\n", info.max_vchans,
				info.max_desc, info.dev_capa);
		goto out;
	}
	f = open_memstream(&dump, &dlen);
	if (f == NULL || rte_dma_dump(id, f) != 0)
		goto out;
	fclose(f);
	if (strstr(dump, "control BAR: message access") == NULL) {
		printf("dump:\n%s", dump);
		goto out;
	}
	if (rte_dma_configure(id, &conf) != 0 || rte_dma_vchan_setup(id, 0, &qconf) != 0)
		goto out;
	/* A ring the engine refuses: start fails at once, not after a timeout. */
	fe->refuse_ring = true;
	if (rte_dma_start(id) != -EINVAL)
		goto out;
	fe->refuse_ring = false;
	if (rte_dma_start(id) != 0 || rte_dma_burst_capacity(id, 0) != 64)
		goto out;

	/* Copies: one doorbell message per submit. */
	tdev_fill(buf, 4096, 3);
	fe->doorbells = 0;
	for (i = 0; i < 16; i++)
		if (rte_dma_copy(id, 0, rte_mem_virt2iova(buf + i * 256),
				rte_mem_virt2iova(buf + 4096 + i * 256), 256,
				i == 15 ? RTE_DMA_OP_FLAG_SUBMIT : 0) != i)
			goto out;
	if (fe->doorbells != 1 || wait_completed(id, 0, 16, &last) != 0 || last != 15 ||
			memcmp(buf, buf + 4096, 4096) != 0) {
		printf("copies through messages: %u doorbells, last %u\n", fe->doorbells, last);
		goto out;
	}
	if (rte_dma_fill(id, 0, 0, rte_mem_virt2iova(buf), 64, 0) != -ENOTSUP)
		goto out;

	/* Status values of no known meaning are errors of unknown kind. */
	fe->forced_status = 0x0002;
	if (rte_dma_copy(id, 0, rte_mem_virt2iova(buf), rte_mem_virt2iova(buf + 4096), 64,
			RTE_DMA_OP_FLAG_SUBMIT) != 16)
		goto out;
	fe->forced_status = 0x8fff;
	if (rte_dma_copy(id, 0, rte_mem_virt2iova(buf), rte_mem_virt2iova(buf + 4096), 64,
			RTE_DMA_OP_FLAG_SUBMIT) != 17)
		goto out;
	fe->forced_status = 0;
	n = rte_dma_completed(id, 0, 8, &last, &err);
	if (n != 0 || !err || last != 15) {
		printf("completed at an unknown status: %u %d %u\n", n, err, last);
		goto out;
	}
	n = rte_dma_completed_status(id, 0, RTE_DIM(sc), &last, sc);
	if (n != 2 || sc[0] != RTE_DMA_STATUS_ERROR_UNKNOWN ||
			sc[1] != RTE_DMA_STATUS_ERROR_UNKNOWN || last != 17) {
		printf("completed_status: %u, %d %d, last %u\n", n, sc[0], sc[1], last);
		goto out;
	}
	if (wait_idle(id, 0) != 0)
		goto out;
	ret = 0;
out:
	free(dump);
	rte_free(buf);
	if (remove_dev("vudmamsg") != 0 && ret == 0)
		ret = -1;
	fake_stop(fe);
	free(fe);
	TEST_ASSERT_SUCCESS(ret, "message path sequence failed");
	return TEST_SUCCESS;
}

/* After each case: remove what a failed case left, so the next starts clean. */
static void
case_teardown(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(g_plugged); i++)
		if (g_plugged[i][0] != '\0' && remove_dev(g_plugged[i]) != 0)
			g_plugged[i][0] = '\0';
}

static struct unit_test_suite dma_vfio_user_suite = {
	.suite_name = "dma_vfio_user PMD through the vfio_user bus",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE_ST(NULL, case_teardown, test_probe_remove),
		TEST_CASE_ST(NULL, case_teardown, test_copy_fill),
		TEST_CASE_ST(NULL, case_teardown, test_errors),
		TEST_CASE_ST(NULL, case_teardown, test_ring_full_restart),
		TEST_CASE_ST(NULL, case_teardown, test_two_devices),
		TEST_CASE_ST(NULL, case_teardown, test_server_killed),
		TEST_CASE_ST(NULL, case_teardown, test_server_restarted),
		TEST_CASE_ST(NULL, case_teardown, test_server_restart_planned),
		TEST_CASE_ST(NULL, case_teardown, test_hostile_registers),
		TEST_CASE_ST(NULL, case_teardown, test_message_path),
		TEST_CASES_END()
	},
};

static int
test_dma_vfio_user(void)
{
	return unit_test_suite_runner(&dma_vfio_user_suite);
}

REGISTER_TEST_COMMAND(dma_vfio_user_autotest, test_dma_vfio_user);

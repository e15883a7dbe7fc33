/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The server's DMA table shares what windows of one file can share: one
 * descriptor per file, one mapping per file range reused by the windows it
 * holds. These cases check that sharing is invisible to the protocol (exact
 * unmap, partial unmap, unmap all, client closing its descriptor, access
 * mode of the descriptors) and that
 * the last window of a file releases its mapping and descriptor.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define MiB (1024ULL * 1024)
#define EV_TIMEOUT_MS 3000
#define LEAK_TIMEOUT_MS 3000
#define RW (PROT_READ | PROT_WRITE)

static char g_dir[64];
static unsigned int g_seq;
static struct rte_vfio_user_limits g_def_limits;

/* A started test device, a client attached to it, and client memory in a memfd. */
struct dt {
	struct tdev dev;
	int cid;
	int memfd;
	uint8_t *mem;
	size_t mem_size;
};

static int
dt_open(struct dt *t, size_t mem_size)
{
	char path[256];
	uint64_t v;
	int ret;

	t->cid = -1;
	t->mem = NULL;
	t->mem_size = mem_size;
	t->memfd = memfd_create("vfu-test-dma-table", MFD_CLOEXEC);
	if (t->memfd < 0 || ftruncate(t->memfd, mem_size) < 0)
		return -errno;
	t->mem = mmap(NULL, mem_size, RW, MAP_SHARED, t->memfd, 0);
	if (t->mem == MAP_FAILED) {
		t->mem = NULL;
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/dt%u.sock", g_dir, g_seq++);
	ret = tdev_create(&t->dev, path, NULL, true);
	if (ret < 0)
		return ret;
	t->cid = rte_vfio_user_attach_dev(path);
	if (t->cid < 0)
		return t->cid;
	ret = tdev_ev_wait(&t->dev, TDEV_EV_NEW, -1, 1, EV_TIMEOUT_MS);
	/* A round trip: the server is done with the session set-up (descriptors settle). */
	if (ret == 0 && rte_vfio_user_region_read(t->cid, TDEV_BAR_CB, 0, &v, sizeof(v)) !=
			sizeof(v))
		ret = -EIO;
	return ret;
}

static void
dt_close(struct dt *t)
{
	if (t->cid >= 0)
		rte_vfio_user_detach_dev(t->cid);
	if (t->dev.path[0] != '\0')
		tdev_close(&t->dev, EV_TIMEOUT_MS);
	if (t->mem != NULL)
		munmap(t->mem, t->mem_size);
	if (t->memfd >= 0)
		close(t->memfd);
}

/* Run body on a fresh fixture; nothing may be left behind. */
static int
dt_run(int (*body)(struct dt *), size_t mem_size)
{
	struct leak_snap before;
	struct dt *t;
	int ret;

	leak_snap(&before);
	t = calloc(1, sizeof(*t));
	TEST_ASSERT_NOT_NULL(t, "no memory");
	t->memfd = -1;
	ret = dt_open(t, mem_size);
	if (ret < 0) {
		dt_close(t);
		free(t);
		TEST_ASSERT_SUCCESS(ret, "fixture setup failed");
	}
	ret = body(t);
	dt_close(t);
	free(t);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static struct rte_vfio_user_mem_reg
win(const struct dt *t, uint64_t iova, uint64_t size, uint64_t off, uint32_t prot)
{
	struct rte_vfio_user_mem_reg m = {
		.iova = iova, .size = size, .fd_offset = off, .prot = prot, .fd = -1,
		.vaddr = t->mem + off,
	};
	return m;
}

/* Map one window with descriptor fd. */
static int
map1(const struct dt *t, const struct rte_vfio_user_mem_reg *m, int fd)
{
	struct rte_vfio_user_mem_reg w = *m;

	return rte_vfio_user_dma_map(t->cid, &w, &fd, 1);
}

static int
unmap1(const struct dt *t, const struct rte_vfio_user_mem_reg *m)
{
	struct rte_vfio_user_mem_reg w = *m;

	return rte_vfio_user_dma_unmap(t->cid, &w, 1);
}

/* The server's window at iova, or NULL. */
static const struct rte_vfio_user_mem_reg *
srv_win(const struct dt *t, uint64_t iova)
{
	const struct rte_vfio_user_mem_table *tbl = rte_vfio_user_get_mem_table(t->dev.id);
	uint32_t i;

	for (i = 0; tbl != NULL && i < tbl->entry_num; i++)
		if (tbl->regions[i].iova == iova)
			return &tbl->regions[i];
	return NULL;
}

static int
nr_fds(void)
{
	struct leak_snap s;

	leak_snap(&s);
	return s.fds;
}

/* The server reads len bytes at iova and finds the client's bytes at off. */
static int
srv_sees(const struct dt *t, uint64_t iova, uint64_t off, size_t len)
{
	uint8_t buf[256];
	int ret;

	if (len > sizeof(buf))
		return -EINVAL;
	ret = rte_vfio_user_dma_read(t->dev.id, iova, buf, len);
	if (ret < 0)
		return ret;
	return memcmp(buf, t->mem + off, len) == 0 ? 0 : -EIO;
}

/*
 * Two windows of one file, the second inside the first's file range: one
 * descriptor and one mapping on the server. A window outside that range
 * shares the descriptor only, and so does a window of the same range with
 * other protection.
 */
static int
shared_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg a = win(t, 0x100000, 2 * MiB, 0, RW);
	const struct rte_vfio_user_mem_reg b = win(t, 0x400000, MiB, MiB, RW);
	const struct rte_vfio_user_mem_reg c = win(t, 0x600000, MiB, 2 * MiB, RW);
	const struct rte_vfio_user_mem_reg ro = win(t, 0x800000, MiB, MiB, PROT_READ);
	const struct rte_vfio_user_mem_reg *sa, *sb, *sc, *sro;
	uint8_t pat[64];
	int fds0 = nr_fds();

	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 1, "map A: %d fds, was %d", nr_fds(), fds0);
	TEST_ASSERT_SUCCESS(map1(t, &b, t->memfd), "map B inside A");
	TEST_ASSERT_SUCCESS(map1(t, &c, t->memfd), "map C past A");
	TEST_ASSERT_SUCCESS(map1(t, &ro, t->memfd), "map read-only window of B's range");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 1, "four windows of one file: %d fds, was %d",
		nr_fds(), fds0);

	sa = srv_win(t, a.iova);
	sb = srv_win(t, b.iova);
	sc = srv_win(t, c.iova);
	sro = srv_win(t, ro.iova);
	TEST_ASSERT(sa != NULL && sb != NULL && sc != NULL && sro != NULL, "windows missing");
	TEST_ASSERT(sa->fd >= 0 && sb->fd == sa->fd && sc->fd == sa->fd && sro->fd == sa->fd,
		"fds %d %d %d %d: not shared", sa->fd, sb->fd, sc->fd, sro->fd);
	TEST_ASSERT(sb->vaddr == (uint8_t *)sa->vaddr + MiB, "B does not reuse A's mapping");
	TEST_ASSERT(sro->vaddr != sb->vaddr, "read-only window reuses a writable mapping");
	TEST_ASSERT(sb->fd_offset == MiB && sc->fd_offset == 2 * MiB, "fd_offset changed");

	tdev_fill(t->mem, 3 * MiB, 21);
	TEST_ASSERT_SUCCESS(srv_sees(t, b.iova + 16, MiB + 16, 64), "B reads other memory");
	TEST_ASSERT_SUCCESS(srv_sees(t, c.iova + MiB - 64, 3 * MiB - 64, 64),
		"C reads other memory");
	TEST_ASSERT_SUCCESS(srv_sees(t, ro.iova, MiB, 64), "RO reads other memory");
	tdev_fill(pat, sizeof(pat), 22);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(t->dev.id, b.iova, pat, sizeof(pat)),
		"write B");
	TEST_ASSERT(memcmp(t->mem + MiB, pat, sizeof(pat)) == 0, "write B lands elsewhere");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(t->dev.id, ro.iova, pat, sizeof(pat)),
		-EFAULT, "write to the read-only window");

	/* Exact unmap still: a window of a shared mapping is not unmapped by its parent range. */
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(t->cid,
		&(struct rte_vfio_user_mem_reg){ .iova = a.iova, .size = MiB }, 1), -ENOENT,
		"unmap of part of A");
	TEST_ASSERT_SUCCESS(unmap1(t, &ro), "unmap RO");
	TEST_ASSERT_SUCCESS(unmap1(t, &c), "unmap C");
	TEST_ASSERT_SUCCESS(unmap1(t, &b), "unmap B");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 1, "A alone: %d fds, was %d", nr_fds(), fds0);
	TEST_ASSERT_SUCCESS(srv_sees(t, a.iova + MiB, MiB, 64), "A after B went");
	TEST_ASSERT_SUCCESS(unmap1(t, &a), "unmap A");
	TEST_ASSERT_EQUAL(nr_fds(), fds0, "no window: %d fds, was %d", nr_fds(), fds0);
	return TEST_SUCCESS;
}

static int
test_dma_table_shared(void)
{
	return dt_run(shared_body, 4 * MiB);
}

/*
 * The window that created a mapping goes first: the windows inside it keep
 * the mapping; the unmapped window is gone for the server.
 */
static int
partial_unmap_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg a = win(t, 0x100000, 2 * MiB, 0, RW);
	const struct rte_vfio_user_mem_reg b = win(t, 0x400000, 0x10000, MiB, RW);
	const struct rte_vfio_user_mem_reg *sb;
	uint64_t len = 16;
	uint8_t buf[16];
	void *v;

	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A");
	TEST_ASSERT_SUCCESS(map1(t, &b, t->memfd), "map B inside A");
	TEST_ASSERT_SUCCESS(unmap1(t, &a), "unmap A first");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(t->dev.id, a.iova, buf, sizeof(buf)), -EFAULT,
		"A still readable");
	len = 16;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(t->dev.id, a.iova, &len), "A still mapped");
	tdev_fill(t->mem + MiB, 0x10000, 23);
	TEST_ASSERT_SUCCESS(srv_sees(t, b.iova + 0x10000 - 64, MiB + 0x10000 - 64, 64),
		"B after A went");
	sb = srv_win(t, b.iova);
	TEST_ASSERT_NOT_NULL(sb, "B missing");
	len = 0x10000;
	v = rte_vfio_user_iova_to_vva(t->dev.id, b.iova, &len);
	TEST_ASSERT(v == sb->vaddr && len == 0x10000, "iova_to_vva(B) %p len %" PRIu64, v, len);
	/* A again, at another iova: a new mapping, B keeps its own. */
	TEST_ASSERT_SUCCESS(map1(t, &(struct rte_vfio_user_mem_reg){ .iova = 0x1000000,
		.size = 2 * MiB, .prot = RW, .fd = -1, .vaddr = t->mem }, t->memfd), "map A again");
	TEST_ASSERT_SUCCESS(srv_sees(t, 0x1000000 + MiB, MiB, 64), "A again reads other memory");
	TEST_ASSERT_SUCCESS(unmap1(t, &b), "unmap B");
	TEST_ASSERT_SUCCESS(srv_sees(t, 0x1000000 + MiB, MiB, 64), "A again after B went");
	/* The session's end releases what is left. */
	return TEST_SUCCESS;
}

static int
test_dma_table_partial_unmap(void)
{
	return dt_run(partial_unmap_body, 4 * MiB);
}

/* Unmap all with windows of two files sharing mappings and descriptors. */
static int
unmap_all_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg a = win(t, 0x100000, 2 * MiB, 0, RW);
	const struct rte_vfio_user_mem_reg b = win(t, 0x400000, MiB, MiB, RW);
	struct rte_vfio_user_mem_reg o = {
		.iova = 0x800000, .size = 0x10000, .prot = RW, .fd = -1,
	};
	const struct rte_vfio_user_mem_table *tbl;
	int other, fds0 = nr_fds();
	uint8_t *omem;

	other = memfd_create("vfu-test-dma-table-2", MFD_CLOEXEC);
	TEST_ASSERT(other >= 0 && ftruncate(other, 0x20000) == 0, "second memfd");
	omem = mmap(NULL, 0x20000, RW, MAP_SHARED, other, 0);
	TEST_ASSERT(omem != MAP_FAILED, "mmap second memfd");
	o.vaddr = omem;
	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A");
	TEST_ASSERT_SUCCESS(map1(t, &b, t->memfd), "map B");
	TEST_ASSERT_SUCCESS(map1(t, &o, other), "map O of another file");
	o.iova += 0x10000;
	o.fd_offset = 0x10000;
	TEST_ASSERT_SUCCESS(map1(t, &o, other), "map O2 of another file");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 2 + 1, "two files: %d fds, was %d (+1 ours)",
		nr_fds(), fds0);
	TEST_ASSERT(srv_win(t, a.iova)->fd != srv_win(t, o.iova)->fd, "two files share an fd");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(t->cid, NULL, 0), "unmap all");
	tbl = rte_vfio_user_get_mem_table(t->dev.id);
	TEST_ASSERT(tbl != NULL && tbl->entry_num == 0, "windows left after unmap all");
	munmap(omem, 0x20000);
	close(other);
	TEST_ASSERT_EQUAL(nr_fds(), fds0, "after unmap all: %d fds, was %d", nr_fds(), fds0);
	/* Mapping again after unmap all works from a clean table. */
	TEST_ASSERT_SUCCESS(map1(t, &b, t->memfd), "map B again");
	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A again");
	TEST_ASSERT_SUCCESS(srv_sees(t, b.iova, MiB, 64), "B again");
	TEST_ASSERT_SUCCESS(unmap1(t, &b), "unmap B again");
	TEST_ASSERT_SUCCESS(srv_sees(t, a.iova, 0, 64), "A again");
	return TEST_SUCCESS;
}

static int
test_dma_table_unmap_all(void)
{
	return dt_run(unmap_all_body, 4 * MiB);
}

/*
 * The client's own descriptors do not matter once mapped: it closes them
 * (and sends the same file through a second descriptor, which the server
 * recognises by inode) and the server still sees the memory.
 */
static int
client_close_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg a = win(t, 0x100000, MiB, 0, RW);
	const struct rte_vfio_user_mem_reg b = win(t, 0x200000, MiB, MiB, RW);
	const struct rte_vfio_user_mem_reg *sa, *sb;
	uint8_t want[64], got[64];
	char path[64];
	int fds0 = nr_fds(), fd2;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->memfd);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd2 >= 0, "reopen the memfd: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A");
	TEST_ASSERT_SUCCESS(map1(t, &b, fd2), "map B through another descriptor");
	close(fd2);
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 1, "one file: %d fds, was %d", nr_fds(), fds0);
	sa = srv_win(t, a.iova);
	sb = srv_win(t, b.iova);
	TEST_ASSERT(sa != NULL && sb != NULL && sa->fd == sb->fd, "file not recognised");

	tdev_fill(t->mem, 2 * MiB, 24);
	memcpy(want, t->mem + MiB - 32, sizeof(want));
	munmap(t->mem, t->mem_size);
	t->mem = NULL;
	close(t->memfd);
	t->memfd = -1;
	/* The server still sees the client's bytes, across the two windows. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(t->dev.id, a.iova + MiB - 32, got,
		sizeof(got)), "read across A and B");
	TEST_ASSERT(memcmp(got, want, sizeof(want)) == 0, "the server lost the client's bytes");
	TEST_ASSERT_SUCCESS(unmap1(t, &a), "unmap A");
	TEST_ASSERT_SUCCESS(unmap1(t, &b), "unmap B");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 - 1, "after unmap: %d fds, was %d less ours", nr_fds(),
		fds0);
	return TEST_SUCCESS;
}

static int
test_dma_table_client_close(void)
{
	return dt_run(client_close_body, 4 * MiB);
}

/*
 * A file the server holds through a read-only descriptor: a writable window
 * of it, sent with a writable descriptor, is mapped with that one.
 */
static int
access_mode_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg ro = win(t, 0x100000, MiB, 0, PROT_READ);
	const struct rte_vfio_user_mem_reg rw = win(t, 0x200000, MiB, MiB, RW);
	int fds0 = nr_fds(), rdonly;
	uint8_t pat[32];
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->memfd);
	rdonly = open(path, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(rdonly >= 0, "reopen the memfd read-only: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(map1(t, &ro, rdonly), "map RO through a read-only descriptor");
	close(rdonly);
	TEST_ASSERT_SUCCESS(map1(t, &rw, t->memfd), "map RW through a writable descriptor");
	TEST_ASSERT_EQUAL(nr_fds(), fds0 + 1, "one file: %d fds, was %d", nr_fds(), fds0);
	tdev_fill(pat, sizeof(pat), 25);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(t->dev.id, rw.iova, pat, sizeof(pat)),
		"write RW");
	TEST_ASSERT(memcmp(t->mem + MiB, pat, sizeof(pat)) == 0, "write RW lands elsewhere");
	TEST_ASSERT_SUCCESS(unmap1(t, &ro), "unmap RO");
	TEST_ASSERT_SUCCESS(unmap1(t, &rw), "unmap RW");
	return TEST_SUCCESS;
}

static int
test_dma_table_access_mode(void)
{
	return dt_run(access_mode_body, 4 * MiB);
}

/* Shared windows count once against max_dma_mapped_bytes. */
static int
mapped_bytes_body(struct dt *t)
{
	const struct rte_vfio_user_mem_reg a = win(t, 0x100000, 2 * MiB, 0, RW);
	const struct rte_vfio_user_mem_reg b = win(t, 0x400000, MiB, MiB, RW);
	const struct rte_vfio_user_mem_reg c = win(t, 0x600000, MiB, 2 * MiB, RW);

	TEST_ASSERT_SUCCESS(map1(t, &a, t->memfd), "map A (the whole budget)");
	TEST_ASSERT_SUCCESS(map1(t, &b, t->memfd), "map B inside A costs nothing");
	TEST_ASSERT_EQUAL(map1(t, &c, t->memfd), -ENOSPC, "map C past the budget");
	TEST_ASSERT_SUCCESS(unmap1(t, &b), "unmap B");
	TEST_ASSERT_EQUAL(map1(t, &c, t->memfd), -ENOSPC, "A still holds the budget");
	TEST_ASSERT_SUCCESS(unmap1(t, &a), "unmap A");
	TEST_ASSERT_SUCCESS(map1(t, &c, t->memfd), "map C once A is gone");
	return TEST_SUCCESS;
}

static int
test_dma_table_mapped_bytes(void)
{
	struct rte_vfio_user_limits lim = { .max_dma_mapped_bytes = 2 * MiB };
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	ret = dt_run(mapped_bytes_body, 4 * MiB);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

/* Private socket directory, and one cycle so that lasting descriptors exist before a baseline. */
static int
suite_setup(void)
{
	struct dt *t;
	int ret;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-dt-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_def_limits), "limits_get");
	t = calloc(1, sizeof(*t));
	TEST_ASSERT_NOT_NULL(t, "no memory");
	t->memfd = -1;
	ret = dt_open(t, MiB);
	dt_close(t);
	free(t);
	TEST_ASSERT_SUCCESS(ret, "warm-up cycle failed");
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_def_limits);
	dir_remove(g_dir);
	g_dir[0] = '\0';
}

static struct unit_test_suite dma_table_suite = {
	.suite_name = "vfio_user DMA table sharing",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_dma_table_shared),
		TEST_CASE(test_dma_table_partial_unmap),
		TEST_CASE(test_dma_table_unmap_all),
		TEST_CASE(test_dma_table_client_close),
		TEST_CASE(test_dma_table_access_mode),
		TEST_CASE(test_dma_table_mapped_bytes),
		TEST_CASES_END()
	}
};

static int
test_vfio_user_dma_table(void)
{
	return unit_test_suite_runner(&dma_table_suite);
}

REGISTER_TEST_COMMAND(vfio_user_dma_table_autotest, test_vfio_user_dma_table);

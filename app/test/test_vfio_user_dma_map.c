/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DMA_MAP and DMA_UNMAP: the server's DMA table.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

#define VFIO_USER_DMA_UNMAP_ALL 2u  /* VFIO_DMA_UNMAP_FLAG_ALL */

/*
 * Through the library's client
 */

static int
dma_fd_body(struct fix *f)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	struct tdev *d = &f->dev;
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_reg m[2], ro;
	uint8_t *mem = NULL, pat[64], buf[128], *v;
	int mfd = -1, fds[2];
	uint64_t len;
	unsigned int upd;

	TEST_ASSERT_SUCCESS(memfd_buf(4 * MiB, &mfd, &mem), "memfd");
	m[0] = win(0x100000, MiB, 0, rw, mem);
	m[1] = win(0x200000, 2 * MiB, MiB, rw, mem + MiB);
	fds[0] = fds[1] = mfd;
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, m, fds, 2), "dma_map with fds");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA, upd + 1,
		EV_TIMEOUT_MS), "no update_status(DMA)");

	t = rte_vfio_user_get_mem_table(d->id);
	TEST_ASSERT_NOT_NULL(t, "no mem table (rte_errno %d)", rte_errno);
	TEST_ASSERT_EQUAL(t->entry_num, 2u, "%u entries", t->entry_num);
	TEST_ASSERT(t->regions[0].iova == 0x100000 && t->regions[0].size == MiB &&
		t->regions[0].fd_offset == 0, "entry 0: 0x%" PRIx64 "+0x%" PRIx64 " @0x%" PRIx64,
		t->regions[0].iova, t->regions[0].size, t->regions[0].fd_offset);
	TEST_ASSERT(t->regions[1].iova == 0x200000 && t->regions[1].size == 2 * MiB &&
		t->regions[1].fd_offset == MiB, "entry 1: 0x%" PRIx64 "+0x%" PRIx64 " @0x%" PRIx64,
		t->regions[1].iova, t->regions[1].size, t->regions[1].fd_offset);
	TEST_ASSERT(t->regions[0].prot == rw && t->regions[1].prot == rw, "prot");
	TEST_ASSERT(t->regions[0].fd >= 0 && t->regions[1].fd >= 0, "server fds");
	TEST_ASSERT(t->regions[0].vaddr != NULL && t->regions[1].vaddr != NULL, "no mapping");
	tdev_fill(mem, 3 * MiB, 7);
	TEST_ASSERT(memcmp(t->regions[0].vaddr, mem, MiB) == 0, "entry 0 maps other memory");
	TEST_ASSERT(memcmp(t->regions[1].vaddr, mem + MiB, 2 * MiB) == 0,
		"entry 1 does not honour fd_offset");

	/* iova_to_vva. */
	len = 16;
	v = rte_vfio_user_iova_to_vva(d->id, 0x100010, &len);
	TEST_ASSERT(v == (uint8_t *)t->regions[0].vaddr + 0x10 && len == 16,
		"iova_to_vva(0x100010) = %p len %" PRIu64, (void *)v, len);
	len = MiB;
	v = rte_vfio_user_iova_to_vva(d->id, 0x180000, &len);
	TEST_ASSERT(v != NULL && len == 0x80000, "len not clipped at the window end: %" PRIu64,
		len);
	len = 8;
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(d->id, 0x50000, &len), "unmapped iova");
	TEST_ASSERT_EQUAL(rte_errno, ENOENT, "rte_errno %d", rte_errno);

	/* Server writes/reads client memory, also across the two windows. */
	tdev_fill(pat, sizeof(pat), 8);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, 0x1ffff0, pat, sizeof(pat)),
		"dma_write across windows");
	TEST_ASSERT(memcmp(mem + 0xffff0, pat, sizeof(pat)) == 0, "client memory differs");
	/* Window 1 (iova 0x200000) starts at fd offset 1 MiB: its end is mem + 3 MiB. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x400000 - 32, buf, 32), "dma_read end");
	TEST_ASSERT(memcmp(buf, mem + 3 * MiB - 32, 32) == 0, "dma_read data differs");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0x400000 - 32, buf, 64), -EFAULT,
		"dma_read past the last window");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0xffff0, buf, 32), -EFAULT,
		"dma_read before the first window");

	/* Read-only window. */
	ro = win(0x400000, 0x10000, 3 * MiB, PROT_READ, mem + 3 * MiB);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &ro, &mfd, 1), "map RO window");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries");
	t = rte_vfio_user_get_mem_table(d->id);
	TEST_ASSERT_EQUAL(t->regions[2].prot, (uint32_t)PROT_READ, "RO prot %u",
		t->regions[2].prot);

	/* mem_table_xlate: inside one window with its PROT bits, nothing across or outside. */
	TEST_ASSERT(rte_vfio_user_mem_table_xlate(t, 0x100010, 16, rw) ==
		(uint8_t *)t->regions[0].vaddr + 0x10, "xlate in window 0");
	TEST_ASSERT(rte_vfio_user_mem_table_xlate(t, 0x3fffff, 1, rw) ==
		(uint8_t *)t->regions[1].vaddr + 2 * MiB - 1, "xlate of window 1's last byte");
	TEST_ASSERT(rte_vfio_user_mem_table_xlate(t, 0x400000, 16, PROT_READ) ==
		t->regions[2].vaddr, "xlate of the read-only window for reading");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(t, 0x400000, 16, PROT_WRITE),
		"read-only window for writing");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(t, 0x1ffff0, 32, PROT_READ),
		"range across two windows");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(t, 0x50000, 8, PROT_READ),
		"range before the first window");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(t, 0x40fff8, 16, PROT_READ),
		"range past the last window");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(t, 0x100000, 0, PROT_READ),
		"empty range");
	TEST_ASSERT_NULL(rte_vfio_user_mem_table_xlate(NULL, 0x100000, 8, PROT_READ),
		"NULL table");
	memset(mem + 3 * MiB, 0x3c, 16);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x400000, buf, 16), "read RO window");
	TEST_ASSERT_EQUAL(buf[15], 0x3c, "RO window data");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(d->id, 0x400000, pat, 16), -EFAULT,
		"dma_write to a read-only window");
	TEST_ASSERT_EQUAL(mem[3 * MiB], 0x3c, "read-only window written");

	/* Exact unmap. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m[0], 1), "unmap window 0");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA, upd + 1,
		EV_TIMEOUT_MS), "no update_status(DMA) at unmap");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 2, "entries after unmap");
	len = 8;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(d->id, 0x100000, &len), "unmapped window");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0x100000, buf, 8), -EFAULT,
		"dma_read of an unmapped window");

	munmap(mem, 4 * MiB);
	close(mfd);
	/* The server keeps its own mapping and fd. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x200000, buf, 8), "read after close");
	return TEST_SUCCESS;
}

static int
test_dma_fd(void)
{
	return run_fix(dma_fd_body, NULL);
}

static int
dma_errors_body(struct fix *f)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m, two[2];
	uint8_t *mem = NULL;
	int mfd = -1, ret;
	unsigned int upd;

	TEST_ASSERT_SUCCESS(memfd_buf(0x10000, &mfd, &mem), "memfd");
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map A");
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);

	m = win(0x10f000, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "overlap at end");
	m = win(0xff000, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "overlap at start");
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "same window");
	m = win(0, 16 * MiB, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "superset");
	m = win(0x104000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "subset");
	m = win(0x200000, 0, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EINVAL, "size 0");
	m = win(UINT64_MAX - 0xfff, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EINVAL,
		"iova + size wraps 2^64");
	m = win(0x300000, 0x1000, 0x123, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), -EINVAL,
		"unaligned fd offset");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "refused maps changed the table");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA), upd,
		"update_status(DMA) after a refused map");

	m = win(0x110000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), "adjacent window");
	m = win(UINT64_MAX - 0xfff, 0x1000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "window ending at 2^64");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries");

	/* Several windows, the second one bad: the first stays. */
	two[0] = win(0x400000, 0x1000, 0, rw, mem);
	two[1] = win(0x400800, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, two, NULL, 2), -EEXIST, "second overlaps");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 4, "first window of the batch not kept");

	/* Unmap must match exactly. */
	m = win(0x100000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of a part");
	m = win(0x108000, 0x10000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap shifted");
	m = win(0x100000, 0x20000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of two windows");
	m = win(0x900000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of nothing");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 4, "failed unmaps changed the table");
	m = win(0x110000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "exact unmap");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries after unmap");
	ret = rte_vfio_user_dma_unmap(f->cid, &m, 1);
	TEST_ASSERT_EQUAL(ret, -ENOENT, "second unmap of the same window: %d", ret);

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, NULL, 0), "unmap all");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 0, "entries after unmap all");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, NULL, 0), "unmap all of nothing");
	/* The table is usable again. */
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), "map after unmap all");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "entries");
	munmap(mem, 0x10000);
	close(mfd);
	return TEST_SUCCESS;
}

static int
test_dma_errors(void)
{
	return run_fix(dma_errors_body, NULL);
}

static int
dma_max_maps_body(struct fix *f)
{
	struct rte_vfio_user_mem_reg m;
	uint8_t page[4096];
	int i;

	for (i = 0; i < 4; i++) {
		m = win(0x100000 + i * 0x10000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map %d", i);
	}
	m = win(0x900000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -ENOSPC,
		"fifth window with max_dma_maps 4");
	TEST_ASSERT_EQUAL(mem_table_entries(f->dev.id), 4, "entries");
	m = win(0x100000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "unmap one");
	m = win(0x900000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map after a free slot");
	return TEST_SUCCESS;
}

static int
test_dma_max_maps(void)
{
	struct rte_vfio_user_limits lim = { .max_dma_maps = 4 };
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	ret = run_fix(dma_max_maps_body, NULL);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

/*
 * Hostile client
 */

static int
case_dma_map_two_fds(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x20000000,
		.size = 0x1000 };
	int fds[2], base, ret;

	if (open_eventfds(fds, 2) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fds, 2, EINVAL,
		"DMA_MAP with 2 fds");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "DMA_MAP 2 fds closed");
	close_fds(fds, 2);
	return ret;
}

/* DMA_MAP / DMA_UNMAP */

static int
dma_map_err(int s, uint32_t argsz, uint32_t flags, uint64_t addr, uint64_t size,
		uint64_t offset, const int *fd, uint32_t err, const char *what)
{
	struct vfio_user_dma_map map = { .argsz = argsz, .flags = flags, .offset = offset,
		.addr = addr, .size = size };

	return cmd_err(s, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fd, fd != NULL ? 1 : 0, err,
		what);
}

static int
dma_map_ok(int s, uint64_t addr, uint64_t size, const int *fd, const char *what)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = addr,
		.size = size };

	return cmd_ok(s, VFIO_USER_DMA_MAP, &map, sizeof(map), fd, fd != NULL ? 1 : 0, 0, what);
}

static int
dma_unmap(int s, uint32_t flags, uint64_t addr, uint64_t size, uint32_t err, const char *what)
{
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .flags = flags, .addr = addr,
		.size = size };

	if (err != 0)
		return cmd_err(s, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, err, what);
	CHECK(cmd_ok(s, VFIO_USER_DMA_UNMAP, &um, sizeof(um), NULL, 0, sizeof(um), what));
	/* The reply echoes the request. */
	if (memcmp(rx.data, &um, sizeof(um)) != 0) {
		printf("  %s: DMA_UNMAP reply does not echo the request\n", what);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

static int
case_dma_map_bad(int *sp)
{
	const uint64_t a = 0x100000;

	CHECK(dma_map_err(*sp, 32, 3, 0xfffffffffffff000ULL, 0x2000, 0, NULL, EINVAL,
		"DMA_MAP wrapping past 2^64"));
	CHECK(dma_map_err(*sp, 32, 3, UINT64_MAX, 2, 0, NULL, EINVAL,
		"DMA_MAP at 2^64-1 size 2"));
	CHECK(dma_map_err(*sp, 32, 3, a, 0, 0, NULL, EINVAL, "DMA_MAP size 0"));
	CHECK(dma_map_err(*sp, 32, 4, a, 0x1000, 0, NULL, EINVAL, "DMA_MAP flags 0x4"));
	CHECK(dma_map_err(*sp, 32, 7, a, 0x1000, 0, NULL, EINVAL, "DMA_MAP flags 0x7"));
	CHECK(dma_map_err(*sp, 32, 0x80000001, a, 0x1000, 0, NULL, EINVAL,
		"DMA_MAP flags 0x80000001"));
	/* A window ending exactly at 2^64 is valid. */
	CHECK(dma_map_ok(*sp, 0xfffffffffffff000ULL, 0x1000, NULL, "DMA_MAP ending at 2^64"));
	CHECK(dma_unmap(*sp, 0, 0xfffffffffffff000ULL, 0x1000, 0, "DMA_UNMAP ending at 2^64"));
	/* Nothing of the refused maps exists. */
	CHECK(dma_unmap(*sp, 0, a, 0x1000, ENOENT, "DMA_UNMAP after refused maps"));
	return TEST_SUCCESS;
}

static int
case_dma_map_overlap(int *sp)
{
	const uint64_t a = 0x200000;

	CHECK(dma_map_ok(*sp, a, 0x2000, NULL, "DMA_MAP [a, a+8K)"));
	CHECK(dma_map_err(*sp, 32, 3, a, 0x2000, 0, NULL, EEXIST, "DMA_MAP same window"));
	CHECK(dma_map_err(*sp, 32, 3, a + 0x1000, 0x2000, 0, NULL, EEXIST,
		"DMA_MAP overlapping the end"));
	CHECK(dma_map_err(*sp, 32, 3, a - 0x1000, 0x2000, 0, NULL, EEXIST,
		"DMA_MAP overlapping the start"));
	CHECK(dma_map_err(*sp, 32, 3, a + 0x800, 0x100, 0, NULL, EEXIST, "DMA_MAP inside"));
	CHECK(dma_map_err(*sp, 32, 3, a - 0x1000, 0x4000, 0, NULL, EEXIST,
		"DMA_MAP covering"));
	/* Adjacent windows are fine. */
	CHECK(dma_map_ok(*sp, a + 0x2000, 0x1000, NULL, "DMA_MAP adjacent after"));
	CHECK(dma_map_ok(*sp, a - 0x1000, 0x1000, NULL, "DMA_MAP adjacent before"));
	CHECK(dma_unmap(*sp, 0, a, 0x1000, ENOENT, "DMA_UNMAP part of a window"));
	CHECK(dma_unmap(*sp, 0, a, 0x3000, ENOENT, "DMA_UNMAP spanning two windows"));
	CHECK(dma_unmap(*sp, 0, a, 0x2000, 0, "DMA_UNMAP [a, a+8K)"));
	CHECK(dma_unmap(*sp, 0, a, 0x2000, ENOENT, "DMA_UNMAP twice"));
	/* Unmap everything: the two adjacent windows go. */
	CHECK(dma_unmap(*sp, VFIO_USER_DMA_UNMAP_ALL, 0, 0, 0, "DMA_UNMAP all"));
	CHECK(dma_unmap(*sp, 0, a + 0x2000, 0x1000, ENOENT, "DMA_UNMAP after unmap all"));
	CHECK(dma_map_ok(*sp, a - 0x1000, 0x4000, NULL, "DMA_MAP after unmap all"));
	return TEST_SUCCESS;
}

static int
case_dma_unmap_bad(int *sp)
{
	CHECK(dma_unmap(*sp, 0, 0x300000, 0x1000, ENOENT, "DMA_UNMAP of nothing"));
	CHECK(dma_map_ok(*sp, 0x300000, 0x1000, NULL, "DMA_MAP"));
	CHECK(dma_unmap(*sp, 1, 0x300000, 0x1000, EINVAL, "DMA_UNMAP flags 1"));
	CHECK(dma_unmap(*sp, 4, 0x300000, 0x1000, EINVAL, "DMA_UNMAP flags 4"));
	CHECK(dma_unmap(*sp, 0x80000000, 0x300000, 0x1000, EINVAL,
		"DMA_UNMAP flags 0x80000000"));
	/* Still mapped after the refused unmaps. */
	CHECK(dma_map_err(*sp, 32, 3, 0x300000, 0x1000, 0, NULL, EEXIST,
		"DMA_MAP again after refused unmaps"));
	return dma_unmap(*sp, 0, 0x300000, 0x1000, 0, "DMA_UNMAP");
}

static int
case_dma_map_bad_offset(int *sp)
{
	int fd = memfd_create("vfu-hostile-off", MFD_CLOEXEC);
	int base, ret;

	if (fd < 0 || ftruncate(fd, 0x2000) < 0) {
		if (fd >= 0)
			close(fd);
		return TEST_FAILED;
	}
	base = count_fds();
	/* mmap of an unaligned offset fails with EINVAL; the fd must not stay. */
	ret = dma_map_err(*sp, 32, 3, 0x400000, 0x1000, 1, &fd, EINVAL,
		"DMA_MAP with offset 1");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fd of the refused map closed");
	close(fd);
	CHECK(ret);
	return dma_unmap(*sp, 0, 0x400000, 0x1000, ENOENT, "DMA_UNMAP of refused map");
}

#define DMA_MEMFD_NAME "vfu-hostile-dma"

static int
case_dma_memfd_disconnect(int *sp)
{
	uint8_t pattern[64], *map;
	uint64_t len = 0x10000;
	const uint64_t iova = 0x50000000;
	unsigned int destroys = __atomic_load_n(&dev_a.nr_destroyed, __ATOMIC_SEQ_CST);
	uint64_t end;
	void *vva;
	int fd, ret = TEST_FAILED;

	TEST_ASSERT_EQUAL(count_maps_lines("memfd:" DMA_MEMFD_NAME), 0, "stale mapping");
	fd = memfd_create(DMA_MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0x10000) < 0)
		goto out;
	map = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto out;
	tdev_fill(pattern, sizeof(pattern), 0xd1a);
	memcpy(map + 0x100, pattern, sizeof(pattern));
	munmap(map, 0x10000);
	if (dma_map_ok(*sp, iova, 0x10000, &fd, "DMA_MAP with a memfd") != TEST_SUCCESS)
		goto out;
	/* The server holds one more reference and one mapping of it. */
	if (count_fds_named("memfd:" DMA_MEMFD_NAME) != 2 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 1) {
		printf("  mapped memfd: %d fds, %d mappings; expected 2 and 1\n",
			count_fds_named("memfd:" DMA_MEMFD_NAME),
			count_maps_lines("memfd:" DMA_MEMFD_NAME));
		goto out;
	}
	vva = rte_vfio_user_iova_to_vva(dev_a.id, iova + 0x100, &len);
	if (vva == NULL || len != 0x10000 - 0x100 || memcmp(vva, pattern, sizeof(pattern))) {
		printf("  iova_to_vva: %p len %#" PRIx64 "\n", vva, len);
		goto out;
	}
	raw_close(sp);
	/* Disconnect: the server's copy is closed and unmapped. */
	end = now_ms() + LEAK_WAIT_MS;
	while (now_ms() < end && (count_fds_named("memfd:" DMA_MEMFD_NAME) != 1 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 0))
		usleep(5000);
	if (count_fds_named("memfd:" DMA_MEMFD_NAME) != 1 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 0) {
		printf("  after disconnect: %d memfd fds, %d mappings; expected 1 and 0\n",
			count_fds_named("memfd:" DMA_MEMFD_NAME),
			count_maps_lines("memfd:" DMA_MEMFD_NAME));
		goto out;
	}
	end = now_ms() + LEAK_WAIT_MS;
	while (now_ms() < end &&
			__atomic_load_n(&dev_a.nr_destroyed, __ATOMIC_SEQ_CST) == destroys)
		usleep(5000);
	if (__atomic_load_n(&dev_a.nr_destroyed, __ATOMIC_SEQ_CST) != destroys + 1) {
		printf("  destroy_device calls: %u, expected %u\n",
			__atomic_load_n(&dev_a.nr_destroyed, __ATOMIC_SEQ_CST), destroys + 1);
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * pgsizes: "Page sizes supported in DMA map operations". A DMA_MAP whose
 * address or size is not a multiple of the smallest page size granted gets
 * EINVAL; 4 KiB when the client leaves the key out.
 */
static int
case_dma_map_pgsize_2m(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3 };

	CHECK(negotiate_with(*sp, "{\"capabilities\":{\"pgsizes\":2097152}}", "pgsizes 2 MiB"));
	map.addr = 0x200000;
	map.size = 0x1000;
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"4 KiB window with 2 MiB pages"));
	map.addr = 0x201000;
	map.size = 0x200000;
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"window at an address not 2 MiB aligned"));
	map.addr = 0x200000;
	return cmd_ok(*sp, VFIO_USER_DMA_MAP, &map, sizeof(map), NULL, 0, -1, "aligned window");
}

static int
case_dma_map_pgsize_default(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3 };

	CHECK(negotiate_with(*sp, "{\"capabilities\":{}}", "default pgsizes"));
	map.addr = 0x100800;
	map.size = 0x1000;
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"window at 0x800 with 4 KiB pages"));
	map.addr = 0x100000;
	map.size = 0x800;
	return cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"2 KiB window with 4 KiB pages");
}

HCASE(dma_map_two_fds, true)
HCASE(dma_map_bad, true)
HCASE(dma_map_overlap, true)
HCASE(dma_unmap_bad, true)
HCASE(dma_map_bad_offset, true)
HCASE(dma_memfd_disconnect, true)
HCASE(dma_map_pgsize_2m, false)
HCASE(dma_map_pgsize_default, false)

static struct unit_test_suite vfio_user_dma_map_suite = {
	.suite_name = "vfio-user DMA map and unmap",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_dma_fd),
		TEST_CASE(test_dma_errors),
		TEST_CASE(test_dma_max_maps),
		TEST_CASE_NAMED("DMA_MAP with 2 fds", tc_dma_map_two_fds),
		TEST_CASE_NAMED("DMA_MAP bad", tc_dma_map_bad),
		TEST_CASE_NAMED("DMA_MAP overlap", tc_dma_map_overlap),
		TEST_CASE_NAMED("DMA_UNMAP bad", tc_dma_unmap_bad),
		TEST_CASE_NAMED("DMA_MAP unaligned fd offset", tc_dma_map_bad_offset),
		TEST_CASE_NAMED("DMA_MAP memfd, disconnect", tc_dma_memfd_disconnect),
		TEST_CASE_NAMED("DMA_MAP in 2 MiB pages", tc_dma_map_pgsize_2m),
		TEST_CASE_NAMED("DMA_MAP in default pages", tc_dma_map_pgsize_default),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_dma_map_autotest, vfio_user_dma_map_suite, VFU_CASES_HOSTILE);

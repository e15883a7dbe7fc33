/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * REGION_READ, REGION_WRITE, REGION_WRITE_MULTI and region mmap.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

/*
 * VFIO_USER_REGION_READ/WRITE through the access callback.
 */
static const size_t io_sizes[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 100, 255,
	256, 1000, 2048, 4095, 4096 };

static int
rw_cb_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	uint8_t *wbuf, *rbuf;
	uint64_t calls, off, v;
	size_t big = MiB + 3;
	ssize_t r;
	uint32_t u32;
	unsigned int i;

	wbuf = malloc(2 * MiB);
	rbuf = malloc(2 * MiB);
	TEST_ASSERT(wbuf != NULL && rbuf != NULL, "no memory");

	for (i = 0; i < RTE_DIM(io_sizes); i++) {
		size_t sz = io_sizes[i];

		off = 0x1000 + i * 0x2000 + (i & 3);
		tdev_fill(wbuf, sz, i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu at 0x%" PRIx64 ": %zd", sz, off, r);
		TEST_ASSERT(d->cb_last_write, "callback not called for a write");
		TEST_ASSERT_EQUAL(d->cb_last_count, (uint64_t)sz, "callback count");
		TEST_ASSERT_EQUAL(d->cb_last_offset, off, "callback offset");
		TEST_ASSERT(memcmp(d->cb_mem + off, wbuf, sz) == 0, "device memory differs (%zu)",
			sz);
		TEST_ASSERT(d->cb_mem[off - 1] == 0 && d->cb_mem[off + sz] == 0,
			"write of %zu bytes spilled", sz);
		memset(rbuf, 0, sz);
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(!d->cb_last_write, "callback not called for a read");
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu bytes)", sz);
	}

	/* Larger than max_data_xfer_size: split in two callbacks. */
	off = 0x40000;
	tdev_fill(wbuf, big, 77);
	calls = d->cb_calls;
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, off, wbuf, big);
	TEST_ASSERT_EQUAL(r, (ssize_t)big, "write of 1 MiB + 3: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 2ULL, "%" PRIu64 " callbacks for 1 MiB + 3",
		d->cb_calls - calls);
	TEST_ASSERT_EQUAL(d->cb_max_count, MiB, "largest callback count %" PRIu64,
		d->cb_max_count);
	TEST_ASSERT(memcmp(d->cb_mem + off, wbuf, big) == 0, "device memory differs (split)");
	memset(rbuf, 0, big);
	calls = d->cb_calls;
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, big);
	TEST_ASSERT_EQUAL(r, (ssize_t)big, "read of 1 MiB + 3: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 2ULL, "read split");
	TEST_ASSERT(memcmp(rbuf, wbuf, big) == 0, "read data differs (split)");
	calls = d->cb_calls;
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, MiB);
	TEST_ASSERT_EQUAL(r, (ssize_t)MiB, "read of 1 MiB: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 1ULL, "1 MiB read not in one message");

	/* Out of range, bad index, empty regions. */
	calls = d->cb_calls;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, d->cfg.cb_size - 4,
		rbuf, 8), -EINVAL, "read across the end");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, d->cfg.cb_size,
		wbuf, 1), -EINVAL, "write at the end");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, UINT64_MAX - 3, rbuf, 8),
		-EINVAL, "offset + count wraps");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, VFIO_PCI_NUM_REGIONS, 0, rbuf, 4),
		-EINVAL, "bad index");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_EMPTY, 0, rbuf, 1), -EINVAL,
		"read of an empty region");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, VFIO_PCI_VGA_REGION_INDEX, 0, wbuf,
		1), -EINVAL, "write of a region without flags");
	TEST_ASSERT_EQUAL(d->cb_calls, calls, "callback called for a rejected access");
	TEST_ASSERT(!d->cb_bad_range, "the library passed an out-of-range access to a callback");

	/* The callback's error comes back to the client. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, TDEV_ERR_START + 4, wbuf,
		4), -EIO, "callback -EIO on write");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, TDEV_ERR_START, rbuf, 1),
		-EIO, "callback -EIO on read");

	/* Config space through its own callback. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, &u32,
		4), 4, "config read");
	TEST_ASSERT_EQUAL(u32, (uint32_t)(TDEV_PCI_VENDOR | (TDEV_PCI_DEVICE << 16)),
		"vendor/device 0x%08x", u32);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, &u32,
		2), -EPERM, "write of the vendor id");
	v = 0x0123456789abcdefULL;
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, v), "cfg write");
	v = 0;
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, &v), "cfg read");
	TEST_ASSERT_EQUAL(v, 0x0123456789abcdefULL, "config readback 0x%" PRIx64, v);

	free(wbuf);
	free(rbuf);
	return TEST_SUCCESS;
}

static int
test_region_rw_cb(void)
{
	struct tdev_cfg cfg = { .cb_size = 2 * MiB };

	return run_fix(rw_cb_body, &cfg);
}

/*
 * VFIO_USER_REGION_READ/WRITE served from base memory and from the region fd.
 */
static int
rw_base_body(struct fix *f)
{
	static const size_t big_sizes[] = { MiB - 1, MiB, MiB + 1, 3 * MiB + 5 };
	struct tdev *d = &f->dev;
	uint8_t *wbuf, *rbuf;
	uint64_t off;
	ssize_t r;
	unsigned int i;

	wbuf = malloc(4 * MiB);
	rbuf = malloc(4 * MiB);
	TEST_ASSERT(wbuf != NULL && rbuf != NULL, "no memory");

	for (i = 0; i < RTE_DIM(io_sizes); i++) {
		size_t sz = io_sizes[i];

		off = 0x100 + i * 0x2000 + (i % 5);
		tdev_fill(wbuf, sz, 1000 + i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_BASE, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(d->base_mem + off, wbuf, sz) == 0, "base memory differs (%zu)",
			sz);
		TEST_ASSERT(d->base_mem[off - 1] == 0 && d->base_mem[off + sz] == 0,
			"write of %zu bytes spilled", sz);
		/* Device-side change, seen by the next read. */
		d->base_mem[off] ^= 0xff;
		wbuf[0] ^= 0xff;
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu)", sz);
	}
	for (i = 0; i < RTE_DIM(big_sizes); i++) {
		size_t sz = big_sizes[i];

		off = 3 + i;
		tdev_fill(wbuf, sz, 2000 + i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_BASE, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(d->base_mem + off, wbuf, sz) == 0, "base memory differs (%zu)",
			sz);
		memset(rbuf, 0, sz);
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu)", sz);
	}
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, d->cfg.base_size, rbuf,
		1), -EINVAL, "read at the end");
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, d->cfg.base_size - 1, rbuf, 1);
	TEST_ASSERT_EQUAL(r, 1, "read of the last byte: %zd", r);

	/* Read-only region. */
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_RO, 0, rbuf, TDEV_RO_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_RO_SIZE, "read of the RO region: %zd", r);
	TEST_ASSERT(memcmp(rbuf, d->ro_mem, TDEV_RO_SIZE) == 0, "RO data differs");
	memcpy(wbuf, d->ro_mem, 16);
	wbuf[0] ^= 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_RO, 0, wbuf, 1), -EINVAL,
		"write to a read-only region");
	TEST_ASSERT(d->ro_mem[0] != wbuf[0], "read-only region was written");

	/* Region with base and fd, and region with fd only (library maps it at info->offset). */
	tdev_fill(wbuf, TDEV_MMAP_SIZE, 3000);
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_MMAP, 0, wbuf, TDEV_MMAP_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_MMAP_SIZE, "write BAR3: %zd", r);
	TEST_ASSERT(memcmp(d->memfd_map, wbuf, TDEV_MMAP_SIZE) == 0, "BAR3 memory differs");
	tdev_fill(wbuf, TDEV_SPARSE_SIZE, 3001);
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_SPARSE, 0, wbuf, TDEV_SPARSE_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_SPARSE_SIZE, "write BAR4: %zd", r);
	TEST_ASSERT(memcmp(d->memfd_map + TDEV_SPARSE_OFF, wbuf, TDEV_SPARSE_SIZE) == 0,
		"BAR4 write did not land at the region's offset in the fd");
	TEST_ASSERT(memcmp(d->memfd_map, wbuf, 64) != 0, "BAR4 write landed at fd offset 0");
	tdev_fill(d->memfd_map + TDEV_SPARSE_OFF + 0x1800, 0x100, 3002);
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_SPARSE, 0x1800, rbuf, 0x100);
	TEST_ASSERT_EQUAL(r, 0x100, "read BAR4: %zd", r);
	TEST_ASSERT(memcmp(rbuf, d->memfd_map + TDEV_SPARSE_OFF + 0x1800, 0x100) == 0,
		"BAR4 read differs");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_SPARSE, TDEV_SPARSE_SIZE - 1,
		rbuf, 2), -EINVAL, "read across the end of BAR4");

	free(wbuf);
	free(rbuf);
	return TEST_SUCCESS;
}

static int
test_region_rw_base(void)
{
	struct tdev_cfg cfg = { .base_size = 4 * MiB };

	return run_fix(rw_base_body, &cfg);
}

/*
 * VFIO_USER_REGION_WRITE_MULTI.
 */
static int
write_multi_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_region_wr w[5], *many;
	uint64_t v;
	unsigned int i, j;
	int ret;

	memset(w, 0, sizeof(w));
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x40, .index = TDEV_BAR_CB,
		.count = 1, .data = { 0x11 } };
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0x48, .index = TDEV_BAR_CB,
		.count = 2, .data = { 0x21, 0x22 } };
	w[2] = (struct rte_vfio_user_region_wr){ .offset = 0x50, .index = TDEV_BAR_BASE,
		.count = 4, .data = { 0x31, 0x32, 0x33, 0x34 } };
	w[3] = (struct rte_vfio_user_region_wr){ .offset = 0x58, .index = TDEV_BAR_BASE,
		.count = 8, .data = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	w[4] = (struct rte_vfio_user_region_wr){ .offset = 0x61, .index = TDEV_BAR_CB,
		.count = 3, .data = { 0x41, 0x42, 0x43 } };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 5);
	TEST_ASSERT_EQUAL(ret, 5, "write_multi returned %d", ret);
	for (i = 0; i < 5; i++) {
		uint8_t *mem = w[i].index == TDEV_BAR_CB ? d->cb_mem : d->base_mem;

		TEST_ASSERT(memcmp(mem + w[i].offset, w[i].data, w[i].count) == 0,
			"write %u not performed", i);
		TEST_ASSERT_EQUAL(mem[w[i].offset + w[i].count], 0, "write %u spilled", i);
	}

	/* Many writes: the library batches them, all must land. */
	many = calloc(200, sizeof(*many));
	TEST_ASSERT_NOT_NULL(many, "no memory");
	for (i = 0; i < 200; i++) {
		many[i].index = TDEV_BAR_BASE;
		many[i].offset = 0x1000 + i * 8;
		many[i].count = 1 + i % 8;
		for (j = 0; j < 8; j++)
			many[i].data[j] = (uint8_t)(i * 8 + j + 1);
	}
	ret = rte_vfio_user_region_write_multi(f->cid, many, 200);
	for (i = 0; i < 200 && ret == 200; i++)
		if (memcmp(d->base_mem + many[i].offset, many[i].data, many[i].count) != 0)
			break;
	free(many);
	TEST_ASSERT_EQUAL(ret, 200, "write_multi of 200 returned %d", ret);
	TEST_ASSERT_EQUAL(i, 200u, "write %u of 200 not performed", i);

	/* Bad counts are refused. */
	memset(w, 0, sizeof(w));
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x200, .index = TDEV_BAR_BASE,
		.count = 0 };
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write_multi(f->cid, w, 1), -EINVAL, "count 0");
	w[0].count = 9;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write_multi(f->cid, w, 1), -EINVAL, "count 9");
	TEST_ASSERT_EQUAL(d->base_mem[0x200], 0, "refused write performed");

	/* One bad entry: nothing of the batch is performed. */
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x300, .index = TDEV_BAR_BASE,
		.count = 1, .data = { 0xaa } };
	w[1] = (struct rte_vfio_user_region_wr){ .offset = d->cfg.base_size - 4,
		.index = TDEV_BAR_BASE, .count = 8 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch with an out-of-range entry: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the bad one was performed");
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0, .index = TDEV_BAR_RO, .count = 1 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch writing the RO region: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the RO one was performed");
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0, .index = VFIO_PCI_NUM_REGIONS,
		.count = 1 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch with a bad index: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the bad index was performed");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_BASE, 0x58, &v), "read after errors");
	TEST_ASSERT_EQUAL(v, 0x0807060504030201ULL, "data 0x%" PRIx64, v);
	return TEST_SUCCESS;
}

static int
test_region_write_multi(void)
{
	return run_fix(write_multi_body, NULL);
}

/*
 * rte_vfio_user_region_mmap(): whole region and sparse areas.
 */
static int
mmap_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_region_map m[4], m2[4];
	uint8_t *p, b;
	uint32_t n;

	memset(m, 0, sizeof(m));
	n = RTE_DIM(m);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_MMAP, m, &n), "mmap BAR3");
	TEST_ASSERT_EQUAL(n, 1u, "%u maps for a whole region", n);
	TEST_ASSERT(m[0].offset == 0 && m[0].size == TDEV_MMAP_SIZE && m[0].addr != NULL,
		"map 0x%" PRIx64 "+0x%" PRIx64, m[0].offset, m[0].size);
	p = m[0].addr;
	tdev_fill(d->memfd_map, TDEV_MMAP_SIZE, 4000);
	TEST_ASSERT(memcmp(p, d->memfd_map, TDEV_MMAP_SIZE) == 0, "server data not visible");
	p[100] = 0x5c;
	p[TDEV_MMAP_SIZE - 1] = 0xc5;
	TEST_ASSERT(d->memfd_map[100] == 0x5c && d->memfd_map[TDEV_MMAP_SIZE - 1] == 0xc5,
		"client write not visible on the server");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_MMAP, 100, &b, 1), 1,
		"region_read");
	TEST_ASSERT_EQUAL(b, 0x5c, "message read differs from the mapping");
	n = RTE_DIM(m2);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_MMAP, m2, &n), "again");
	TEST_ASSERT(n == 1 && m2[0].addr == m[0].addr, "second call gave another mapping");

	/* Sparse: two areas, the hole is not mapped. */
	n = 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_SPARSE, m, &n), -ENOSPC,
		"one entry for two areas");
	TEST_ASSERT_EQUAL(n, 2u, "needed %u", n);
	n = RTE_DIM(m);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_SPARSE, m, &n),
		"mmap BAR4");
	TEST_ASSERT_EQUAL(n, 2u, "%u sparse maps", n);
	TEST_ASSERT(m[0].offset == 0 && m[0].size == 0x1000, "area 0");
	TEST_ASSERT(m[1].offset == 0x2000 && m[1].size == 0x1000, "area 1");
	TEST_ASSERT(m[0].addr != NULL && m[1].addr != NULL, "NULL address");
	tdev_fill(d->memfd_map + TDEV_SPARSE_OFF, TDEV_SPARSE_SIZE, 4001);
	TEST_ASSERT(memcmp(m[0].addr, d->memfd_map + TDEV_SPARSE_OFF, 0x1000) == 0,
		"area 0 does not map region offset 0");
	TEST_ASSERT(memcmp(m[1].addr, d->memfd_map + TDEV_SPARSE_OFF + 0x2000, 0x1000) == 0,
		"area 1 does not map region offset 0x2000");
	((uint8_t *)m[1].addr)[7] = 0x77;
	TEST_ASSERT_EQUAL(d->memfd_map[TDEV_SPARSE_OFF + 0x2007], 0x77, "area 1 write lost");

	/* Not mappable. */
	n = RTE_DIM(m);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_CB, m, &n), -ENOTSUP,
		"mmap of a region without MMAP");
	n = RTE_DIM(m);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, VFIO_PCI_NUM_REGIONS, m, &n), -EINVAL,
		"mmap of a bad index");
	/* Mappings go away with the detach, checked by the leak check. */
	return TEST_SUCCESS;
}

static int
test_region_mmap(void)
{
	return run_fix(mmap_body, NULL);
}

/* A 4 KiB max_data_xfer_size: region and DMA transfers are split at it. */
static int
small_xfer_body(struct fix *f)
{
	const uint64_t base = 0x20000000;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t *w, *r, *mem;
	uint64_t calls;
	ssize_t ret;

	w = malloc(3 * 4096);
	r = malloc(3 * 4096);
	mem = calloc(1, 4 * 4096);
	TEST_ASSERT(w != NULL && r != NULL && mem != NULL, "no memory");
	tdev_fill(w, 10000, 61);
	calls = d->cb_calls;
	ret = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, 0x1000, w, 10000);
	TEST_ASSERT_EQUAL(ret, 10000, "write of 10000: %zd", ret);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 3ULL, "%" PRIu64 " callbacks for 10000 bytes",
		d->cb_calls - calls);
	TEST_ASSERT_EQUAL(d->cb_max_count, 4096ULL, "largest piece %" PRIu64, d->cb_max_count);
	TEST_ASSERT(memcmp(d->cb_mem + 0x1000, w, 10000) == 0, "device memory differs");
	ret = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, 0x1000, r, 10000);
	TEST_ASSERT_EQUAL(ret, 10000, "read of 10000: %zd", ret);
	TEST_ASSERT(memcmp(r, w, 10000) == 0, "read data differs");

	m = win(base, 4 * 4096, 0, PROT_READ | PROT_WRITE, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, base + 1, w, 10000), "dma_write");
	TEST_ASSERT(memcmp(mem + 1, w, 10000) == 0, "client memory differs");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, base + 1, r, 10000), "dma_read");
	TEST_ASSERT(memcmp(r, w, 10000) == 0, "dma_read data differs");
	free(w);
	free(r);
	free(mem);
	return TEST_SUCCESS;
}

static int
test_small_xfer(void)
{
	struct rte_vfio_user_limits lim = { .max_data_xfer_size = 4096, .max_msg_size = 8192 };
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits");
	ret = run_fix(small_xfer_body, NULL);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

/*
 * Hostile client
 */

static int
case_wrong_sizes_write(int *sp)
{
	static const uint8_t zero[8];
	uint8_t p[64], data[8];
	uint32_t len;

	memset(data, 0x77, sizeof(data));
	memset(dev_a.base_mem + 0x100, 0, 8);
	/* count 4 with 3 or 5 data bytes; a payload shorter than the access header. */
	len = build_access(p, HDEV_BAR_RW, 0x100, 4, data, 3);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE count 4, 3 bytes"));
	len = build_access(p, HDEV_BAR_RW, 0x100, 4, data, 5);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE count 4, 5 bytes"));
	len = build_access(p, HDEV_BAR_RW, 0x100, 0, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, 12, NULL, 0, EINVAL,
		"REGION_WRITE 12-byte payload"));
	TEST_ASSERT(memcmp(dev_a.base_mem + 0x100, zero, 8) == 0,
		"a refused REGION_WRITE changed BAR1");
	return TEST_SUCCESS;
}

/* Region access */

static int
case_region_bounds(int *sp)
{
	static const struct {
		uint32_t region;
		uint64_t offset;
		uint32_t count;
		const char *what;
	} bad[] = {
		{ HDEV_BAR_RW, HDEV_RW_SIZE, 1, "BAR1 at size" },
		{ HDEV_BAR_RW, HDEV_RW_SIZE - 1, 2, "BAR1 crossing the end" },
		{ HDEV_BAR_RW, UINT64_MAX - 3, 8, "BAR1 offset wraps" },
		{ HDEV_BAR_RW, UINT64_MAX, 1, "BAR1 offset 2^64-1" },
		{ HDEV_BAR_RW, 0, HDEV_RW_SIZE + 1, "BAR1 count above size" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, TDEV_CFG_SIZE - 1, 2, "config crossing the end" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, UINT64_MAX - 1, 4, "config offset wraps" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, 0x8000000000000000ULL, 4, "config offset 2^63" },
		{ VFIO_PCI_ROM_REGION_INDEX, 0, 4, "ROM of size 0" },
	};
	uint8_t p[64], data[8] = { 0 };
	uint32_t len;
	unsigned int i;
	char what[96];

	for (i = 0; i < RTE_DIM(bad); i++) {
		len = build_access(p, bad[i].region, bad[i].offset, bad[i].count, NULL, 0);
		snprintf(what, sizeof(what), "REGION_READ %s", bad[i].what);
		CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL, what));
		if (bad[i].count > sizeof(data))
			continue;
		len = build_access(p, bad[i].region, bad[i].offset, bad[i].count, data,
			bad[i].count);
		snprintf(what, sizeof(what), "REGION_WRITE %s", bad[i].what);
		CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL, what));
	}
	TEST_ASSERT(!dev_a.cb_bad_range, "config callback called with an out-of-range access");
	/* The last byte is reachable. */
	CHECK(region_read_ok(*sp, HDEV_BAR_RW, HDEV_RW_SIZE - 1, 1, data,
		"REGION_READ last byte of BAR1"));
	return TEST_SUCCESS;
}

static int
case_region_count(int *sp)
{
	uint32_t max = g_limits.max_data_xfer_size;
	uint32_t len = sizeof(struct vfio_user_region_access) + max + 1;
	uint8_t *p = calloc(1, len);
	int ret = TEST_FAILED;

	if (p == NULL)
		return TEST_FAILED;
	build_access(p, HDEV_BAR_RW, 0, 0, NULL, 0);
	if (cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, 16, NULL, 0, EINVAL,
			"REGION_READ count 0") != TEST_SUCCESS)
		goto out;
	if (cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, 16, NULL, 0, EINVAL,
			"REGION_WRITE count 0") != TEST_SUCCESS)
		goto out;
	/* BAR0 is 2 MiB: only the transfer limit refuses these. */
	build_access(p, HDEV_BAR_BIG, HDEV_BIG_OFF, max + 1, NULL, 0);
	if (cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, 16, NULL, 0, EINVAL,
			"REGION_READ count max_data_xfer_size + 1") != TEST_SUCCESS)
		goto out;
	if (cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
			"REGION_WRITE count max_data_xfer_size + 1") != TEST_SUCCESS)
		goto out;
	/* Exactly the limit works. */
	build_access(p, HDEV_BAR_BIG, HDEV_BIG_OFF, max, NULL, 0);
	if (cmd_ok(*sp, VFIO_USER_REGION_READ, p, 16, NULL, 0,
			sizeof(struct vfio_user_region_access) + max,
			"REGION_READ count max_data_xfer_size") != TEST_SUCCESS)
		goto out;
	ret = TEST_SUCCESS;
out:
	free(p);
	return ret;
}

static int
case_region_write_ro(int *sp)
{
	uint8_t p[64], data[4] = { 0xaa, 0xbb, 0xcc, 0xdd }, got[4], orig[4];
	uint32_t len;

	memcpy(orig, dev_a.ro_mem + 0x10, 4);
	len = build_access(p, HDEV_BAR_RO, 0x10, 4, data, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE to read-only BAR2"));
	CHECK(region_read_ok(*sp, HDEV_BAR_RO, 0x10, 4, got,
		"REGION_READ of BAR2"));
	TEST_ASSERT(memcmp(got, orig, 4) == 0, "read-only BAR2 was written");
	/* A region without the READ flag (VGA, no flags). */
	len = build_access(p, VFIO_PCI_VGA_REGION_INDEX, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ of VGA region without flags"));
	return TEST_SUCCESS;
}

static int
case_region_cb_errno(int *sp)
{
	uint8_t p[64], data[2] = { 0x12, 0x34 };
	uint32_t len = build_access(p, VFIO_PCI_CONFIG_REGION_INDEX, 0, 2, data, 2);

	/* The callback refuses vendor-id writes with -EPERM: that errno goes back. */
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EPERM,
		"config write to vendor id"));
	len = build_access(p, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, 2, data, 2);
	CHECK(cmd_ok(*sp, VFIO_USER_REGION_WRITE, p, len, NULL, 0,
		sizeof(struct vfio_user_region_access), "config write at 0x40"));
	TEST_ASSERT(dev_a.cfg_space[0x40] == 0x12 && dev_a.cfg_space[0x41] == 0x34,
		"config write lost");
	return TEST_SUCCESS;
}

/* WRITE_MULTI */

static uint32_t
build_wm(uint8_t *buf, uint64_t wr_cnt, const struct vfio_user_write_multi_entry *e,
		uint32_t n)
{
	memcpy(buf, &wr_cnt, sizeof(wr_cnt));
	memcpy(buf + sizeof(wr_cnt), e, n * sizeof(*e));
	return sizeof(wr_cnt) + n * sizeof(*e);
}

static int
case_write_multi_not_negotiated(int *sp)
{
	struct vfio_user_write_multi_entry e = { .offset = 0x200, .region = HDEV_BAR_RW, .count = 4,
		.data = { 1, 2, 3, 4 } };
	static const uint8_t zero[4];
	uint8_t buf[64];
	uint32_t len = build_wm(buf, 1, &e, 1);

	memset(dev_a.base_mem + 0x200, 0, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI not negotiated"));
	TEST_ASSERT(memcmp(dev_a.base_mem + 0x200, zero, 4) == 0, "WRITE_MULTI performed anyway");
	return TEST_SUCCESS;
}

static int
case_write_multi_bad(int *sp)
{
	struct vfio_user_write_multi_entry e[2] = {
		{ .offset = 0x300, .region = HDEV_BAR_RW, .count = 4, .data = { 1, 2, 3, 4 } },
		{ .offset = 0x308, .region = HDEV_BAR_RW, .count = 9, .data = { 5 } },
	};
	static const uint8_t zero[16];
	uint8_t buf[128];
	uint64_t wr_cnt;
	uint32_t len;

	CHECK(negotiate_with(*sp, WM_CAPS, "VERSION with write_multiple"));
	memset(dev_a.base_mem + 0x300, 0, 16);
	len = build_wm(buf, 0, e, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 0"));
	/* The second entry is bad: the first must not be performed either. */
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI count 9"));
	e[1].count = 0;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI count 0"));
	e[1].count = 8;
	e[1].offset = HDEV_RW_SIZE - 4;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI past the end"));
	e[1].offset = 0x10;
	e[1].region = HDEV_BAR_RO;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI to read-only region"));
	e[1].region = VFIO_PCI_NUM_REGIONS;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI region 9"));
	TEST_ASSERT(memcmp(dev_a.base_mem + 0x300, zero, 16) == 0,
		"a refused WRITE_MULTI performed some of its writes");
	/* Sizes: wr_cnt 2 with one entry, and a stray byte. */
	e[1].region = HDEV_BAR_RW;
	e[1].offset = 0x308;
	len = build_wm(buf, 2, e, 1);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 2, one entry"));
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len + 1, NULL, 0, EINVAL,
		"WRITE_MULTI one byte extra"));
	len = build_wm(buf, UINT64_MAX, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 2^64-1"));
	/* A valid one. */
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_ok(*sp, VFIO_USER_REGION_WRITE_MULTI, buf, len, NULL, 0, sizeof(wr_cnt),
		"WRITE_MULTI valid"));
	memcpy(&wr_cnt, rx.data, sizeof(wr_cnt));
	TEST_ASSERT_EQUAL(wr_cnt, 2, "WRITE_MULTI reply wr_cnt");
	TEST_ASSERT(memcmp(dev_a.base_mem + 0x300, e[0].data, 4) == 0 &&
		memcmp(dev_a.base_mem + 0x308, e[1].data, 8) == 0, "WRITE_MULTI data not written");
	return TEST_SUCCESS;
}

/*
 * REGION_WRITE_MULTI reply: "wr_cnt is the number of device writes
 * completed." A write failing after others were done ends the batch with the
 * count done; the library's client reports that count.
 */
static int
write_multi_partial(struct tdev *d, const char *path)
{
	uint8_t buf[sizeof(struct vfio_user_write_multi) +
		3 * sizeof(struct vfio_user_write_multi_entry)];
	struct vfio_user_write_multi_entry e[3] = {
		{ .offset = 0x100, .region = TDEV_BAR_CB, .count = 4 },
		{ .offset = TDEV_ERR_START, .region = TDEV_BAR_CB, .count = 4 },
		{ .offset = 0x108, .region = TDEV_BAR_CB, .count = 4 },
	};
	struct rte_vfio_user_region_wr wrs[3];
	struct vfio_user_write_multi wm = { .wr_cnt = 3 };
	static const uint8_t zero[4];
	struct rmsg m = { .nr_fds = 0 };
	unsigned int i;
	int s, cid, ret;

	for (i = 0; i < 3; i++)
		memset(e[i].data, 0x40 + i, e[i].count);
	memcpy(buf, &wm, sizeof(wm));
	memcpy(buf + sizeof(wm), e, sizeof(e));
	s = raw_session_caps(path, "{\"capabilities\":{\"write_multiple\":true}}", &m);
	TEST_ASSERT(s >= 0, "negotiation");
	ret = raw_call(s, 2, VFIO_USER_REGION_WRITE_MULTI, buf, sizeof(buf), NULL, 0, &m);
	memcpy(&wm, m.data, sizeof(wm));
	if (ret != 0 || m.len != sizeof(wm) || wm.wr_cnt != 1) {
		close(s);
		TEST_ASSERT(false, "partial batch: %d, wr_cnt %" PRIu64 " (len %u), expected 1",
			ret, wm.wr_cnt, m.len);
	}
	if (memcmp(d->cb_mem + 0x100, e[0].data, 4) != 0 ||
			memcmp(d->cb_mem + 0x108, zero, 4) != 0) {
		close(s);
		TEST_ASSERT(false, "first write not done, or the write after the failure done");
	}
	/* Nothing done: an error reply with the device's errno. */
	wm.wr_cnt = 1;
	memcpy(buf, &wm, sizeof(wm));
	memcpy(buf + sizeof(wm), &e[1], sizeof(e[1]));
	ret = raw_call(s, 3, VFIO_USER_REGION_WRITE_MULTI, buf, sizeof(wm) + sizeof(e[1]), NULL,
		0, &m);
	close(s);
	TEST_ASSERT_EQUAL(ret, EIO, "first write failing: %d", ret);

	/* The client returns the number of writes done. */
	memset(d->cb_mem + 0x100, 0, 4);
	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach: %d", cid);
	for (i = 0; i < 3; i++) {
		wrs[i].index = e[i].region;
		wrs[i].offset = e[i].offset;
		wrs[i].count = e[i].count;
		memcpy(wrs[i].data, e[i].data, e[i].count);
	}
	ret = rte_vfio_user_region_write_multi(cid, wrs, 3);
	rte_vfio_user_detach_dev(cid);
	TEST_ASSERT_EQUAL(ret, 1, "client write_multi returned %d, expected 1", ret);
	return TEST_SUCCESS;
}

static int
test_write_multi_partial(void)
{
	char path[PATH_LEN];
	struct tdev *d = dev_new(path, "wm", true);
	int ret;

	TEST_ASSERT_NOT_NULL(d, "cannot create the test device");
	ret = write_multi_partial(d, path);
	dev_free(d);
	return ret;
}

HCASE(wrong_sizes_write, true)
HCASE(region_bounds, true)
HCASE(region_count, true)
HCASE(region_write_ro, true)
HCASE(region_cb_errno, true)
HCASE(write_multi_not_negotiated, true)
HCASE(write_multi_bad, false)

static struct unit_test_suite vfio_user_region_suite = {
	.suite_name = "vfio-user region access",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_region_rw_cb),
		TEST_CASE(test_region_rw_base),
		TEST_CASE(test_region_write_multi),
		TEST_CASE(test_region_mmap),
		TEST_CASE(test_small_xfer),
		TEST_CASE_NAMED("wrong REGION_WRITE sizes", tc_wrong_sizes_write),
		TEST_CASE_NAMED("region bounds and overflow", tc_region_bounds),
		TEST_CASE_NAMED("region count 0 / above max", tc_region_count),
		TEST_CASE_NAMED("write to read-only region", tc_region_write_ro),
		TEST_CASE_NAMED("callback errno", tc_region_cb_errno),
		TEST_CASE_NAMED("WRITE_MULTI not negotiated", tc_write_multi_not_negotiated),
		TEST_CASE_NAMED("WRITE_MULTI bad", tc_write_multi_bad),
		TEST_CASE_NAMED("WRITE_MULTI partly done", test_write_multi_partial),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_region_autotest, vfio_user_region_suite, VFU_CASES_HOSTILE);

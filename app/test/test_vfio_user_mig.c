/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Migration: DEVICE_FEATURE (migration, state, data size, DMA logging) and
 * MIG_DATA_READ/WRITE.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_fake_peer.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

#define ST_ERROR RTE_VFIO_USER_MIG_ERROR
#define ST_STOP RTE_VFIO_USER_MIG_STOP
#define ST_RUN RTE_VFIO_USER_MIG_RUNNING
#define ST_SCOPY RTE_VFIO_USER_MIG_STOP_COPY
#define ST_RES RTE_VFIO_USER_MIG_RESUMING
#define ST_PCOPY RTE_VFIO_USER_MIG_PRE_COPY

#define MIG_F (RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY)
#define PG 4096u

#define F_GET VFIO_DEVICE_FEATURE_GET
#define F_SET VFIO_DEVICE_FEATURE_SET
#define F_PROBE VFIO_DEVICE_FEATURE_PROBE
#define F_MIG VFIO_DEVICE_FEATURE_MIGRATION
#define F_STATE VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE
#define F_START VFIO_DEVICE_FEATURE_DMA_LOGGING_START
#define F_STOP VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP
#define F_REPORT VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT

/* A device with more state than one max_data_xfer_size, so that the stream is chunked. */
static const struct tdev_cfg mig_cfg = { .base_size = 0x280000, .mig_flags = MIG_F };

/* The migration arcs @d took from event @from on, into @arcs; returns how many. */
static unsigned int
arcs_since(struct tdev *d, unsigned int from, int *arcs, unsigned int max)
{
	struct tdev_ev ev;
	unsigned int n = 0;

	while (n < max && tdev_ev_get(d, from++, &ev, 1) == 1)
		if (ev.type == TDEV_EV_MIG)
			arcs[n++] = ev.arg;
	return n;
}

/* Set @state through the client; the device must take exactly the arcs to @path. */
static int
set_and_check(struct fix *f, enum rte_vfio_user_mig_state from,
		enum rte_vfio_user_mig_state to, const int *path, unsigned int len)
{
	unsigned int ev = tdev_ev_num(&f->dev), n, i;
	enum rte_vfio_user_mig_state cur = ST_ERROR, prev = from;
	int arcs[8];

	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(f->cid, to, &cur), "%d -> %d", from, to);
	TEST_ASSERT_EQUAL(cur, to, "%d -> %d: state after %d", from, to, cur);
	n = arcs_since(&f->dev, ev, arcs, RTE_DIM(arcs));
	TEST_ASSERT_EQUAL(n, len, "%d -> %d: %u arcs, not %u", from, to, n, len);
	for (i = 0; i < n; i++) {
		TEST_ASSERT_EQUAL(arcs[i], TDEV_ARC(prev, path[i]), "%d -> %d: arc %u is 0x%x",
			from, to, i, arcs[i]);
		prev = path[i];
	}
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(f->cid, &cur), "get_state");
	TEST_ASSERT_EQUAL(cur, to, "%d -> %d: GET says %d", from, to, cur);
	return TEST_SUCCESS;
}

/*
 * Through the library's client
 */

/* Save on one server, restore on another: the device state arrives byte-exact. */
static int
move_body(struct fix *a)
{
	size_t rec = tdev_mig_record_size(&a->dev), total, off, n;
	int path_b1[] = { ST_STOP, ST_RES }, path_b2[] = { ST_STOP, ST_RUN };
	int path_a1[] = { ST_PCOPY }, path_a2[] = { ST_SCOPY }, path_a3[] = { ST_STOP };
	uint64_t flags = 0, size = 0;
	uint8_t *stream;
	struct fix *b;
	ssize_t got;
	int ret = TEST_FAILED;

	b = calloc(1, sizeof(*b));
	stream = malloc(2 * rec + PG);
	if (b == NULL || stream == NULL || fix_open(b, &mig_cfg) < 0) {
		free(b);
		free(stream);
		TEST_ASSERT(false, "second server");
	}
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_probe(a->cid, &flags), "probe");
	TEST_ASSERT_EQUAL(flags, MIG_F, "flags 0x%" PRIx64, flags);

	/* The device's state: BAR1 and config space. */
	tdev_fill(a->dev.base_mem, a->dev.cfg.base_size, 7);
	TEST_ASSERT_SUCCESS(reg_w64(a->cid, TDEV_BAR_BASE, 0x10, 0x0123456789abcdefULL), "w");
	a->dev.cfg_space[0x40] = 0x5a;
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_data_size(a->cid, &size), "data size");
	TEST_ASSERT_EQUAL(size, (uint64_t)rec, "data size in RUNNING");

	/* Pre-copy while running, then the device changes, then stop-and-copy. */
	if (set_and_check(a, ST_RUN, ST_PCOPY, path_a1, 1) != TEST_SUCCESS)
		goto out;
	got = rte_vfio_user_mig_read(a->cid, stream, rec + PG);
	TEST_ASSERT_EQUAL(got, (ssize_t)rec, "pre-copy data: %zd", got);
	TEST_ASSERT_SUCCESS(reg_w64(a->cid, TDEV_BAR_BASE, 0x100, 0x1122334455667788ULL),
		"write while pre-copying");
	if (set_and_check(a, ST_PCOPY, ST_SCOPY, path_a2, 1) != TEST_SUCCESS)
		goto out;
	got = rte_vfio_user_mig_read(a->cid, stream + rec, rec + PG);
	TEST_ASSERT_EQUAL(got, (ssize_t)rec, "stop-copy data: %zd", got);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_read(a->cid, stream, PG), 0, "end of stream");
	if (set_and_check(a, ST_SCOPY, ST_STOP, path_a3, 1) != TEST_SUCCESS)
		goto out;
	total = 2 * rec;

	/* Restore on B in chunks unrelated to the saved ones. */
	if (set_and_check(b, ST_RUN, ST_RES, path_b1, 2) != TEST_SUCCESS)
		goto out;
	for (off = 0; off < total; off += n) {
		n = RTE_MIN((size_t)777777, total - off);
		TEST_ASSERT_SUCCESS(rte_vfio_user_mig_write(b->cid, stream + off, n), "write");
	}
	if (set_and_check(b, ST_RES, ST_RUN, path_b2, 2) != TEST_SUCCESS)
		goto out;
	TEST_ASSERT_EQUAL(b->dev.mig_loaded, 2u, "records loaded");
	TEST_ASSERT(memcmp(b->dev.base_mem, a->dev.base_mem, a->dev.cfg.base_size) == 0,
		"BAR1 differs after the move");
	TEST_ASSERT(memcmp(b->dev.cfg_space, a->dev.cfg_space, TDEV_CFG_SIZE) == 0,
		"config space differs after the move");
	ret = TEST_SUCCESS;
out:
	fix_close(b);
	free(b);
	free(stream);
	return ret;
}

static int
test_mig_move(void)
{
	return run_fix(move_body, &mig_cfg);
}

/* Every pair of states, with the path the kernel's FSM takes. */
static const struct {
	int from, to;
	int path[3];
	unsigned int len;
} mig_paths[] = {
	{ ST_STOP, ST_RUN, { ST_RUN }, 1 },
	{ ST_STOP, ST_SCOPY, { ST_SCOPY }, 1 },
	{ ST_STOP, ST_RES, { ST_RES }, 1 },
	{ ST_STOP, ST_PCOPY, { ST_RUN, ST_PCOPY }, 2 },
	{ ST_RUN, ST_STOP, { ST_STOP }, 1 },
	{ ST_RUN, ST_SCOPY, { ST_STOP, ST_SCOPY }, 2 },
	{ ST_RUN, ST_RES, { ST_STOP, ST_RES }, 2 },
	{ ST_RUN, ST_PCOPY, { ST_PCOPY }, 1 },
	{ ST_SCOPY, ST_STOP, { ST_STOP }, 1 },
	{ ST_SCOPY, ST_RUN, { ST_STOP, ST_RUN }, 2 },
	{ ST_SCOPY, ST_RES, { ST_STOP, ST_RES }, 2 },
	{ ST_RES, ST_STOP, { ST_STOP }, 1 },
	{ ST_RES, ST_RUN, { ST_STOP, ST_RUN }, 2 },
	{ ST_RES, ST_SCOPY, { ST_STOP, ST_SCOPY }, 2 },
	{ ST_RES, ST_PCOPY, { ST_STOP, ST_RUN, ST_PCOPY }, 3 },
	{ ST_PCOPY, ST_STOP, { ST_RUN, ST_STOP }, 2 },
	{ ST_PCOPY, ST_RUN, { ST_RUN }, 1 },
	{ ST_PCOPY, ST_SCOPY, { ST_SCOPY }, 1 },
	{ ST_PCOPY, ST_RES, { ST_RUN, ST_STOP, ST_RES }, 3 },
};

/* From RUNNING to @st, by a path the table gives. */
static int
reach(struct fix *f, int st)
{
	unsigned int i;

	if (st == ST_RUN)
		return TEST_SUCCESS;
	for (i = 0; i < RTE_DIM(mig_paths); i++)
		if (mig_paths[i].from == ST_RUN && mig_paths[i].to == st)
			return set_and_check(f, ST_RUN, st, mig_paths[i].path, mig_paths[i].len);
	return TEST_FAILED;
}

static int
arcs_body(struct fix *f)
{
	enum rte_vfio_user_mig_state cur;
	unsigned int i, ev;
	int arcs[4];

	for (i = 0; i < RTE_DIM(mig_paths); i++) {
		CHECK(reach(f, mig_paths[i].from));
		CHECK(set_and_check(f, mig_paths[i].from, mig_paths[i].to, mig_paths[i].path,
			mig_paths[i].len));
		TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(f->cid, ST_RUN, NULL), "back");
		/* The same state again takes no arc. */
		ev = tdev_ev_num(&f->dev);
		TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(f->cid, ST_RUN, &cur), "again");
		TEST_ASSERT_EQUAL(arcs_since(&f->dev, ev, arcs, 4), 0u, "arc to the same state");
	}

	/* Refused: STOP_COPY -> PRE_COPY, ERROR, the P2P states, unknown ones. */
	CHECK(reach(f, ST_SCOPY));
	ev = tdev_ev_num(&f->dev);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_PCOPY, &cur), -EINVAL,
		"STOP_COPY -> PRE_COPY");
	TEST_ASSERT_EQUAL(cur, ST_SCOPY, "state after a refused arc: %d", cur);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_ERROR, &cur), -EINVAL, "ERROR");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, 5, &cur), -EINVAL, "RUNNING_P2P");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, 7, &cur), -EINVAL, "PRE_COPY_P2P");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, 8, &cur), -EINVAL, "state 8");
	TEST_ASSERT_EQUAL(arcs_since(&f->dev, ev, arcs, 4), 0u, "arc of a refused request");
	TEST_ASSERT_EQUAL(cur, ST_SCOPY, "state after refused requests: %d", cur);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(f->cid, ST_RUN, NULL), "back");
	return TEST_SUCCESS;
}

/* A device without PRE_COPY: arcs touching it are removed. */
static int
no_precopy_body(struct fix *f)
{
	enum rte_vfio_user_mig_state cur;
	uint64_t flags;
	int path[] = { ST_STOP, ST_SCOPY };

	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_probe(f->cid, &flags), "probe");
	TEST_ASSERT_EQUAL(flags, RTE_VFIO_USER_MIG_F_STOP_COPY, "flags");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_PCOPY, &cur), -EINVAL,
		"PRE_COPY");
	TEST_ASSERT_EQUAL(cur, ST_RUN, "state");
	CHECK(set_and_check(f, ST_RUN, ST_SCOPY, path, 2));
	return TEST_SUCCESS;
}

static int
test_mig_arcs(void)
{
	const struct tdev_cfg stop_copy_only = { .mig_flags = RTE_VFIO_USER_MIG_F_STOP_COPY };
	int ret;

	ret = run_fix(arcs_body, &mig_cfg);
	if (ret != TEST_SUCCESS)
		return ret;
	return run_fix(no_precopy_body, &stop_copy_only);
}

/* A failing arc or load: ERROR, until a device reset. */
static int
error_body(struct fix *f)
{
	enum rte_vfio_user_mig_state cur;
	uint8_t junk[64];
	int path[] = { ST_STOP, ST_RES };
	unsigned int r = tdev_ev_count(&f->dev, TDEV_EV_RESET, -1);

	f->dev.mig_fail_arc = TDEV_ARC(ST_STOP, ST_SCOPY);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_SCOPY, &cur), -EIO, "arc fails");
	TEST_ASSERT_EQUAL(cur, ST_ERROR, "state after a failed arc: %d", cur);
	f->dev.mig_fail_arc = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_RUN, &cur), -EINVAL,
		"leaving ERROR");
	TEST_ASSERT_EQUAL(cur, ST_ERROR, "state");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_read(f->cid, junk, sizeof(junk)), -EINVAL,
		"read in ERROR");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "reset");
	TEST_ASSERT_EQUAL(tdev_ev_count(&f->dev, TDEV_EV_RESET, -1), r + 1, "reset_device");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(f->cid, &cur), "get");
	TEST_ASSERT_EQUAL(cur, ST_RUN, "state after reset: %d", cur);

	/* A stream that is no stream. */
	CHECK(set_and_check(f, ST_RUN, ST_RES, path, 2));
	memset(junk, 0xa5, sizeof(junk));
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_write(f->cid, junk, sizeof(junk)), -EINVAL,
		"junk loaded");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(f->cid, &cur), "get");
	TEST_ASSERT_EQUAL(cur, ST_ERROR, "state after a refused load: %d", cur);
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_write(f->cid, junk, sizeof(junk)), -EINVAL,
		"write in ERROR");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(f->cid, &cur), "get");
	TEST_ASSERT_EQUAL(cur, ST_RUN, "state after reset: %d", cur);
	return TEST_SUCCESS;
}

/* The client goes away in STOP_COPY: the device is brought back to RUNNING. */
static int
gone_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	unsigned int ev = tdev_ev_num(d);
	int arcs[8];
	uint8_t buf[PG];

	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(f->cid, ST_SCOPY, NULL), "STOP_COPY");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_read(f->cid, buf, sizeof(buf)), (ssize_t)sizeof(buf),
		"part of the stream");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach");
	f->cid = -1;
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS), "destroy");
	TEST_ASSERT_EQUAL(arcs_since(d, ev, arcs, RTE_DIM(arcs)), 4u, "arcs");
	TEST_ASSERT(arcs[2] == TDEV_ARC(ST_SCOPY, ST_STOP) && arcs[3] == TDEV_ARC(ST_STOP, ST_RUN),
		"arcs after the client left: 0x%x 0x%x", arcs[2], arcs[3]);
	TEST_ASSERT_NULL(d->mig_out, "save stream kept");
	return TEST_SUCCESS;
}

static int
test_mig_error(void)
{
	int ret;

	ret = run_fix(error_body, &mig_cfg);
	if (ret != TEST_SUCCESS)
		return ret;
	return run_fix(gone_body, &mig_cfg);
}

/* DMA logging */

#define LOG_A 0x100000ULL   /* 64 pages shared by descriptor */
#define LOG_B 0x200000ULL   /* 16 pages reached with messages */

static uint64_t
report1(int cid, uint64_t iova, uint64_t len, uint64_t pgsz, int *ret)
{
	uint64_t bm[2] = { 0, 0 };

	*ret = rte_vfio_user_dirty_report(cid, iova, len, pgsz, bm);
	return bm[0];
}

static int
dirty_body(struct fix *f)
{
	const struct rte_vfio_user_dirty_range ranges[] = {
		{ LOG_A, 64 * PG }, { LOG_B, 16 * PG },
	};
	static uint8_t msg_mem[16 * PG];
	struct rte_vfio_user_mem_reg m[2];
	uint8_t data[256], *fmem, *va;
	uint64_t pgsz = 0, len, bits;
	int id = f->dev.id, mfd, ret;

	TEST_ASSERT_SUCCESS(memfd_buf(64 * PG, &mfd, &fmem), "memfd");
	m[0] = win(LOG_A, 64 * PG, 0, PROT_READ | PROT_WRITE, fmem);
	m[1] = win(LOG_B, sizeof(msg_mem), 0, PROT_READ | PROT_WRITE, msg_mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m[0], &mfd, 1), "map fd window");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m[1], NULL, 1), "map msg window");
	memset(data, 0x3c, sizeof(data));

	/* Not logged: written before logging starts. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 5 * PG, data, 8), "write");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(f->cid, ranges, 2, &pgsz), "start");
	TEST_ASSERT_EQUAL(pgsz, (uint64_t)PG, "page size chosen");
	TEST_ASSERT_EQUAL(rte_vfio_user_dirty_start(f->cid, ranges, 2, &pgsz), -EBUSY,
		"second start");

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 3 * PG + 100, data, 8), "w");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 11 * PG - 56, data, 200), "w");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_B + 2 * PG, data, 16), "msg w");
	/* The device writing by itself reports it... */
	len = 8;
	va = rte_vfio_user_iova_to_vva(id, LOG_A + 20 * PG, &len);
	TEST_ASSERT_NOT_NULL(va, "iova_to_vva");
	memcpy(va, data, 8);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_mark_dirty(id, LOG_A + 20 * PG, 8), "mark");
	/* ... else the library cannot know (the documented duty of the device). */
	len = 8;
	va = rte_vfio_user_iova_to_vva(id, LOG_A + 30 * PG, &len);
	TEST_ASSERT_NOT_NULL(va, "iova_to_vva");
	memcpy(va, data, 8);
	/* Reads and writes outside the ranges log nothing. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(id, LOG_A + 40 * PG, data, 8), "read");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_mark_dirty(id, 0x900000, PG), "mark outside");

	bits = report1(f->cid, LOG_A, 64 * PG, PG, &ret);
	TEST_ASSERT_SUCCESS(ret, "report A");
	TEST_ASSERT_EQUAL(bits, (1ULL << 3) | (1ULL << 10) | (1ULL << 11) | (1ULL << 20),
		"pages of A: 0x%" PRIx64, bits);
	bits = report1(f->cid, LOG_B, 16 * PG, PG, &ret);
	TEST_ASSERT_SUCCESS(ret, "report B");
	TEST_ASSERT_EQUAL(bits, 1ULL << 2, "pages of B: 0x%" PRIx64, bits);
	/* A report clears what it reported. */
	bits = report1(f->cid, LOG_A, 64 * PG, PG, &ret);
	TEST_ASSERT(ret == 0 && bits == 0, "second report: %d 0x%" PRIx64, ret, bits);

	/* A coarser bitmap, and a part of a range. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 3 * PG, data, 8), "w");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 62 * PG, data, 8), "w");
	bits = report1(f->cid, LOG_A, 64 * PG, 4 * PG, &ret);
	TEST_ASSERT(ret == 0 && bits == ((1ULL << 0) | (1ULL << 15)),
		"16 KiB bitmap: %d 0x%" PRIx64, ret, bits);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_A + 9 * PG, data, 8), "w");
	bits = report1(f->cid, LOG_A + 8 * PG, 4 * PG, PG, &ret);
	TEST_ASSERT(ret == 0 && bits == 2, "part of a range: %d 0x%" PRIx64, ret, bits);
	/* Not logged: past a range, across the gap between the two. */
	report1(f->cid, LOG_A, 65 * PG, PG, &ret);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "report past a range");
	report1(f->cid, 0x900000, PG, PG, &ret);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "report outside the ranges");

	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(f->cid), "stop");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(f->cid), "stop when stopped");
	report1(f->cid, LOG_A, 64 * PG, PG, &ret);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "report when stopped");

	/* No range: every window. */
	pgsz = 3 * PG;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(f->cid, NULL, 0, &pgsz), "start all");
	TEST_ASSERT_EQUAL(pgsz, (uint64_t)4 * PG, "page size rounded up to a power of two");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(id, LOG_B + 15 * PG, data, 8), "w");
	bits = report1(f->cid, LOG_B, 16 * PG, PG, &ret);
	/* Logged at 16 KiB: pages 12 to 15 are reported. */
	TEST_ASSERT(ret == 0 && bits == 0xf000, "all windows: %d 0x%" PRIx64, ret, bits);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(f->cid), "stop");

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, m, 2), "unmap");
	munmap(fmem, 64 * PG);
	close(mfd);
	return TEST_SUCCESS;
}

/* A range whose bitmap is larger than one reply: several messages. */
static int
dirty_split_body(struct fix *f)
{
	const struct rte_vfio_user_dirty_range range = { LOG_A, 1024 * PG };
	static uint64_t bm[16];
	static uint8_t mem[1024 * PG];
	struct rte_vfio_user_mem_reg m = win(LOG_A, sizeof(mem), 0, PROT_READ | PROT_WRITE, mem);
	uint64_t pgsz = PG, one = 1, off;
	unsigned int i;

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_start(f->cid, &range, 1, &pgsz), "start");
	for (i = 0; i < 1024; i += 7)
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(f->dev.id, LOG_A + i * PG, &one, 1),
			"w");
	memset(bm, 0xff, sizeof(bm));
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_report(f->cid, LOG_A, 1024 * PG, PG, bm),
		"report");
	for (off = 0; off < 1024; off++)
		TEST_ASSERT_EQUAL(!!(bm[off / 64] & (1ULL << (off % 64))), off % 7 == 0,
			"page %" PRIu64, off);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dirty_stop(f->cid), "stop");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "unmap");
	return TEST_SUCCESS;
}

static int
test_mig_dirty(void)
{
	struct rte_vfio_user_limits lim = { .max_data_xfer_size = 16 };
	int ret;

	ret = run_fix(dirty_body, &mig_cfg);
	if (ret != TEST_SUCCESS)
		return ret;
	/* 16-byte transfers: bitmaps of 128 pages, 8 messages for 1024 pages. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	ret = run_fix(dirty_split_body, &mig_cfg);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

/* A device that did not register migration. */
static int
not_migratable_body(struct fix *f)
{
	enum rte_vfio_user_mig_state cur;
	uint64_t flags, pgsz = 0;
	uint8_t buf[8];

	TEST_ASSERT_EQUAL(rte_vfio_user_mig_probe(f->cid, &flags), -ENOTTY, "probe");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_get_state(f->cid, &cur), -ENOTTY, "get");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_set_state(f->cid, ST_STOP, NULL), -ENOTTY, "set");
	TEST_ASSERT_EQUAL(rte_vfio_user_dirty_start(f->cid, NULL, 0, &pgsz), -ENOTTY, "log");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_read(f->cid, buf, 8), -EINVAL, "read");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_write(f->cid, buf, 8), -EINVAL, "write");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_probe(f->cid, NULL), -EINVAL, "NULL flags");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_probe(-1, &flags), -ENODEV, "bad id");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_mark_dirty(f->dev.id, UINT64_MAX, 2), -EFAULT,
		"mark wrapping");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_mark_dirty(-1, 0, 1), -ENODEV, "mark bad id");
	return TEST_SUCCESS;
}

static int
bad_ops_body(const char *path)
{
	static const struct rte_vfio_user_mig_ops good = {
		.size = sizeof(good), .flags = RTE_VFIO_USER_MIG_F_STOP_COPY,
		.transition = (void *)(uintptr_t)1, .save = (void *)(uintptr_t)1,
		.load = (void *)(uintptr_t)1,
	};
	struct rte_vfio_user_mig_ops ops;

	ops = good;
	ops.size = 8;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(path, &ops), -EINVAL, "size 8");
	ops = good;
	ops.flags = RTE_VFIO_USER_MIG_F_PRE_COPY;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(path, &ops), -EINVAL, "no STOP_COPY");
	ops.flags = RTE_VFIO_USER_MIG_F_STOP_COPY | (1ULL << 1);
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(path, &ops), -EINVAL, "P2P");
	ops = good;
	ops.load = NULL;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(path, &ops), -EINVAL, "no load");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(NULL, &good), -EINVAL, "NULL path");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration("/nonexistent", &good), -ENOENT,
		"unknown path");
	/* Data size is optional; NULL makes the device not migratable again. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_migration(path, &good), "good ops");
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_migration(path, NULL), "not migratable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(path), "start");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_migration(path, &good), -EBUSY, "started");
	return TEST_SUCCESS;
}

static int
test_mig_api(void)
{
	struct tdev *d;
	char path[256];
	int ret;

	d = calloc(1, sizeof(*d));
	TEST_ASSERT_NOT_NULL(d, "no memory");
	mkpath(path, sizeof(path), "migapi");
	ret = tdev_create(d, path, NULL, false);
	if (ret == 0)
		ret = bad_ops_body(path);
	tdev_destroy(d);
	free(d);
	if (ret != TEST_SUCCESS)
		return TEST_FAILED;
	return run_fix(not_migratable_body, NULL);
}

/*
 * Fake server: replies the client must refuse
 */

/* Reply to a DEVICE_FEATURE with @flags and @len data bytes. */
static int
srv_feature_reply(struct fake *f, const struct srv_msg *m, uint32_t flags, const void *data,
		uint32_t len)
{
	struct vfio_user_feature h = { .argsz = 8 + len, .flags = flags };

	return srv_reply(f, m, &h, sizeof(h), data, len);
}

static int
scr_mig_replies(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	struct vfio_user_mig_state st = { .device_state = ST_STOP, .data_fd = -1 };
	struct vfio_user_mig_data d = { .argsz = 8 + 9, .size = 9 };
	struct vfio_user_logging_report rep = { 0x100000, 64 * PG, PG };
	uint8_t data[128] = { 0 };
	uint64_t flags = RTE_VFIO_USER_MIG_F_PRE_COPY;
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_version_ok(f, false) < 0)
		goto out;
	/* Probe: flags without STOP_COPY. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_FEATURE, 8) < 0 ||
			srv_feature_reply(f, m, F_GET | F_MIG, &flags, 8) < 0)
		goto out;
	/* GET state answered for another feature. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_FEATURE, 8) < 0 ||
			srv_feature_reply(f, m, F_GET | F_MIG, &st, 8) < 0)
		goto out;
	/* SET echoing another state; then the GET the client makes to tell the state. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_FEATURE, 16) < 0 ||
			srv_feature_reply(f, m, F_SET | F_STATE, &st, 8) < 0 ||
			srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_FEATURE, 8) < 0 ||
			srv_feature_reply(f, m, F_GET | F_STATE, &st, 8) < 0)
		goto out;
	/* MIG_DATA_READ of 8: 9 bytes; size 4 with 8 bytes; then a correct one. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_MIG_DATA_READ, 8) < 0 ||
			srv_reply(f, m, &d, sizeof(d), data, 9) < 0)
		goto out;
	d.size = 4;
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_MIG_DATA_READ, 8) < 0 ||
			srv_reply(f, m, &d, sizeof(d), data, 8) < 0)
		goto out;
	d.size = 8;
	memset(data, 0x77, 8);
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_MIG_DATA_READ, 8) < 0 ||
			srv_reply(f, m, &d, sizeof(d), data, 8) < 0)
		goto out;
	/* MIG_DATA_WRITE answered with a payload. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_MIG_DATA_WRITE, 8 + 16) < 0 ||
			srv_reply(f, m, data, 4, NULL, 0) < 0)
		goto out;
	/* A report of another range. */
	rep.iova += PG;
	memcpy(data, &rep, sizeof(rep));
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_FEATURE, 8 + 24) < 0 ||
			srv_feature_reply(f, m, F_GET | F_REPORT, data, 24 + 8) < 0)
		goto out;
	if (srv_recv_info(f, m) < 0 || srv_answer_info(f, m) < 0)
		goto out;
	ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int
body_mig_replies(struct fake *f, int *cid)
{
	enum rte_vfio_user_mig_state cur = ST_RUN;
	uint64_t flags, bm[1];
	uint8_t buf[16];

	ATTACH(f, cid);
	EXPECT_CALL(rte_vfio_user_mig_probe(*cid, &flags), -EPROTO, "flags without STOP_COPY");
	EXPECT_CALL(rte_vfio_user_mig_get_state(*cid, &cur), -EPROTO, "reply for MIGRATION");
	EXPECT_CALL(rte_vfio_user_mig_set_state(*cid, ST_RUN, &cur), -EPROTO, "echo of STOP");
	TEST_ASSERT_EQUAL(cur, ST_STOP, "state the server tells: %d", cur);
	EXPECT_CALL(rte_vfio_user_mig_read(*cid, buf, 8), -EPROTO, "9 bytes for 8");
	EXPECT_CALL(rte_vfio_user_mig_read(*cid, buf, 8), -EPROTO, "size 4 with 8 bytes");
	EXPECT_CALL(rte_vfio_user_mig_read(*cid, buf, 8), 8, "correct read");
	TEST_ASSERT_EQUAL(buf[7], 0x77, "data read");
	EXPECT_CALL(rte_vfio_user_mig_write(*cid, buf, 16), -EPROTO, "write reply with data");
	EXPECT_CALL(rte_vfio_user_dirty_report(*cid, 0x100000, 64 * PG, PG, bm), -EPROTO,
		"report of another range");
	return check_dev_info(*cid);
}

static int
test_mig_bad_replies(void)
{
	return fake_run_case(scr_mig_replies, 0, body_mig_replies);
}

/*
 * Hostile client (dev_a migrates, dev_b does not)
 */

struct feat_msg {
	struct vfio_user_feature hdr;
	uint8_t data[64];
} __rte_packed;

static int
feat_err(int s, uint32_t argsz, uint32_t flags, const void *data, uint32_t dlen, uint32_t err,
		const char *what)
{
	struct feat_msg m = { .hdr = { .argsz = argsz, .flags = flags } };

	if (dlen != 0)
		memcpy(m.data, data, dlen);
	return cmd_err(s, VFIO_USER_DEVICE_FEATURE, 0, &m, sizeof(m.hdr) + dlen, NULL, 0, err,
		what);
}

/* A feature request that must succeed with a reply of @rlen payload bytes (-1: any). */
static int
feat_ok(int s, uint32_t argsz, uint32_t flags, const void *data, uint32_t dlen, int64_t rlen,
		const char *what)
{
	struct feat_msg m = { .hdr = { .argsz = argsz, .flags = flags } };

	if (dlen != 0)
		memcpy(m.data, data, dlen);
	return cmd_ok(s, VFIO_USER_DEVICE_FEATURE, &m, sizeof(m.hdr) + dlen, NULL, 0, rlen, what);
}


static int
raw_set_state(int s, uint32_t st, uint32_t err, const char *what)
{
	struct vfio_user_mig_state ms = { .device_state = st, .data_fd = -1 };

	if (err != 0)
		return feat_err(s, 16, F_SET | F_STATE, &ms, sizeof(ms), err, what);
	CHECK(feat_ok(s, 16, F_SET | F_STATE, &ms, sizeof(ms), 16, what));
	/* The reply is the request. */
	if (memcmp(rx.data + sizeof(struct vfio_user_feature), &ms, sizeof(ms)) != 0) {
		printf("  %s: reply does not echo the request\n", what);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

static int
raw_state_is(int s, uint32_t st, const char *what)
{
	struct vfio_user_mig_state ms;

	CHECK(feat_ok(s, 16, F_GET | F_STATE, NULL, 0, 16, what));
	memcpy(&ms, rx.data + sizeof(struct vfio_user_feature), sizeof(ms));
	TEST_ASSERT_EQUAL(ms.device_state, st, "%s: state %u", what, ms.device_state);
	TEST_ASSERT_EQUAL(ms.data_fd, -1, "%s: data_fd %d", what, ms.data_fd);
	return TEST_SUCCESS;
}

static int
case_feature_flags(int *sp)
{
	uint64_t flags;

	CHECK(feat_err(*sp, 16, F_GET | F_SET | F_MIG, NULL, 0, EINVAL, "GET and SET"));
	CHECK(feat_err(*sp, 16, F_MIG, NULL, 0, EINVAL, "neither GET nor SET"));
	CHECK(feat_err(*sp, 16, F_GET | F_MIG | (1u << 19), NULL, 0, EINVAL, "unknown flag"));
	CHECK(feat_err(*sp, 4, F_GET | F_MIG, NULL, 0, EINVAL, "argsz below the header"));
	CHECK(feat_err(*sp, 16, F_GET | 3, NULL, 0, ENOTTY, "feature 3"));
	CHECK(feat_err(*sp, 16, F_GET | 0xffff, NULL, 0, ENOTTY, "feature 0xffff"));
	CHECK(feat_err(*sp, 16, F_SET | F_MIG, NULL, 0, EINVAL, "SET of MIGRATION"));
	CHECK(feat_err(*sp, 16, F_GET | F_START, NULL, 0, EINVAL, "GET of LOGGING_START"));
	CHECK(feat_err(*sp, 16, F_SET | F_REPORT, NULL, 0, EINVAL, "SET of LOGGING_REPORT"));
	CHECK(feat_err(*sp, 16, F_PROBE | F_SET | F_MIG, NULL, 0, EINVAL, "PROBE SET MIGRATION"));
	CHECK(feat_err(*sp, 4, F_PROBE | F_MIG, NULL, 0, EINVAL, "PROBE argsz 4"));
	/* Probing: the reply is the request. */
	CHECK(feat_ok(*sp, 8, F_PROBE | F_MIG, NULL, 0, 8, "PROBE MIGRATION"));
	CHECK(feat_ok(*sp, 8, F_PROBE | F_GET | F_SET | F_STATE, NULL, 0, 8, "PROBE STATE"));
	CHECK(feat_ok(*sp, 8, F_PROBE | F_SET | F_START, NULL, 0, 8, "PROBE LOGGING_START"));
	/* GET MIGRATION; too small an argsz: the size needed, no data. */
	CHECK(feat_ok(*sp, 16, F_GET | F_MIG, NULL, 0, 16, "GET MIGRATION"));
	memcpy(&flags, rx.data + 8, sizeof(flags));
	TEST_ASSERT_EQUAL(flags, (uint64_t)MIG_F, "flags 0x%" PRIx64, flags);
	CHECK(feat_ok(*sp, 12, F_GET | F_MIG, NULL, 0, 8, "GET MIGRATION argsz 12"));
	TEST_ASSERT_EQUAL(((struct vfio_user_feature *)rx.data)->argsz, 16u, "argsz needed");
	/* dev_b does not migrate. */
	CHECK(feat_err(b_sock, 16, F_GET | F_MIG, NULL, 0, ENOTTY, "dev_b MIGRATION"));
	CHECK(feat_err(b_sock, 8, F_PROBE | F_STATE, NULL, 0, ENOTTY, "dev_b PROBE"));
	return TEST_SUCCESS;
}

static int
case_state_bad(int *sp)
{
	uint32_t st[2] = { ST_STOP, UINT32_MAX };
	uint32_t bad[] = { ST_ERROR, 5, 7, 8, UINT32_MAX };
	uint32_t from[] = { ST_STOP, ST_RUN, ST_SCOPY, ST_RES, ST_PCOPY };
	unsigned int i, j, ev;
	int arcs[4];

	CHECK(feat_err(*sp, 16, F_SET | F_STATE, st, 4, EINVAL, "SET state of 4 bytes"));
	CHECK(feat_err(*sp, 12, F_SET | F_STATE, st, 8, EINVAL, "SET argsz below the request"));
	/* From every state: the refused targets take no arc and change nothing. */
	for (j = 0; j < RTE_DIM(from); j++) {
		CHECK(raw_set_state(*sp, from[j], 0, "reach a state"));
		ev = tdev_ev_num(&dev_a);
		for (i = 0; i < RTE_DIM(bad); i++)
			CHECK(raw_set_state(*sp, bad[i], EINVAL, "SET of a state not allowed"));
		TEST_ASSERT_EQUAL(arcs_since(&dev_a, ev, arcs, 4), 0u, "arcs of refused requests");
		CHECK(raw_state_is(*sp, from[j], "GET after refusals"));
		CHECK(raw_set_state(*sp, ST_RUN, 0, "back to RUNNING"));
	}
	/* STOP_COPY -> PRE_COPY, and everything from ERROR. */
	CHECK(raw_set_state(*sp, ST_SCOPY, 0, "STOP_COPY"));
	CHECK(raw_set_state(*sp, ST_PCOPY, EINVAL, "STOP_COPY -> PRE_COPY"));
	CHECK(raw_state_is(*sp, ST_SCOPY, "GET after STOP_COPY -> PRE_COPY"));
	CHECK(raw_set_state(*sp, ST_RUN, 0, "RUNNING"));
	dev_a.mig_fail_arc = TDEV_ARC(ST_RUN, ST_STOP);
	CHECK(raw_set_state(*sp, ST_STOP, EIO, "failing arc"));
	dev_a.mig_fail_arc = 0;
	CHECK(raw_state_is(*sp, ST_ERROR, "GET after a failing arc"));
	for (i = ST_STOP; i <= ST_PCOPY; i++)
		CHECK(raw_set_state(*sp, i, EINVAL, "from ERROR"));
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, 0, "RESET"));
	CHECK(raw_state_is(*sp, ST_RUN, "GET after RESET"));
	return TEST_SUCCESS;
}

static int
mig_read_err(int s, uint32_t argsz, uint32_t size, uint32_t err, const char *what)
{
	struct vfio_user_mig_data r = { .argsz = argsz, .size = size };

	return cmd_err(s, VFIO_USER_MIG_DATA_READ, 0, &r, sizeof(r), NULL, 0, err, what);
}

static int
mig_write_err(int s, uint32_t size, uint32_t sent, uint32_t err, const char *what)
{
	static uint8_t buf[sizeof(struct vfio_user_mig_data) + (1u << 20) + 16];
	struct vfio_user_mig_data w = { .argsz = sizeof(w), .size = size };

	memcpy(buf, &w, sizeof(w));
	return cmd_err(s, VFIO_USER_MIG_DATA_WRITE, 0, buf, sizeof(w) + sent, NULL, 0, err, what);
}

static int
case_data_out_of_state(int *sp)
{
	CHECK(mig_read_err(*sp, 64, 56, EINVAL, "READ in RUNNING"));
	CHECK(mig_write_err(*sp, 8, 8, EINVAL, "WRITE in RUNNING"));
	CHECK(raw_set_state(*sp, ST_STOP, 0, "STOP"));
	CHECK(mig_read_err(*sp, 64, 56, EINVAL, "READ in STOP"));
	CHECK(mig_write_err(*sp, 8, 8, EINVAL, "WRITE in STOP"));
	CHECK(raw_set_state(*sp, ST_RES, 0, "RESUMING"));
	CHECK(mig_read_err(*sp, 64, 56, EINVAL, "READ in RESUMING"));
	CHECK(raw_set_state(*sp, ST_SCOPY, 0, "STOP_COPY"));
	CHECK(mig_write_err(*sp, 8, 8, EINVAL, "WRITE in STOP_COPY"));
	CHECK(raw_set_state(*sp, ST_PCOPY, EINVAL, "PRE_COPY"));
	CHECK(raw_set_state(*sp, ST_RUN, 0, "RUNNING"));
	CHECK(raw_set_state(*sp, ST_PCOPY, 0, "PRE_COPY"));
	CHECK(mig_write_err(*sp, 8, 8, EINVAL, "WRITE in PRE_COPY"));
	/* dev_b never left RUNNING. */
	CHECK(mig_read_err(b_sock, 64, 56, EINVAL, "dev_b READ"));
	return TEST_SUCCESS;
}

static int
case_data_sizes(int *sp)
{
	struct vfio_user_mig_data r = { .argsz = 8 + 100, .size = 100 }, rep;
	size_t rec = tdev_mig_record_size(&dev_a);

	CHECK(raw_set_state(*sp, ST_SCOPY, 0, "STOP_COPY"));
	CHECK(mig_read_err(*sp, 8 + (1u << 20) + 1, (1u << 20) + 1, EINVAL,
		"READ above max_data_xfer_size"));
	CHECK(mig_read_err(*sp, 8 + 99, 100, EINVAL, "READ argsz below its size"));
	CHECK(mig_read_err(*sp, 4, 0, EINVAL, "READ argsz 4"));
	CHECK(cmd_err(*sp, VFIO_USER_MIG_DATA_READ, 0, &r, 4, NULL, 0, EINVAL, "READ of 4 bytes"));
	/* A well-formed read, then the rest, then nothing. */
	CHECK(cmd_ok(*sp, VFIO_USER_MIG_DATA_READ, &r, sizeof(r), NULL, 0, 8 + 100, "READ 100"));
	memcpy(&rep, rx.data, sizeof(rep));
	TEST_ASSERT(rep.argsz == 108 && rep.size == 100, "READ reply %u %u", rep.argsz, rep.size);
	r.size = (uint32_t)rec;
	r.argsz = 8 + r.size;
	CHECK(cmd_ok(*sp, VFIO_USER_MIG_DATA_READ, &r, sizeof(r), NULL, 0, 8 + rec - 100,
		"READ the rest"));
	CHECK(cmd_ok(*sp, VFIO_USER_MIG_DATA_READ, &r, sizeof(r), NULL, 0, 8, "READ past the end"));

	CHECK(raw_set_state(*sp, ST_RES, 0, "RESUMING"));
	CHECK(mig_write_err(*sp, 100, 50, EINVAL, "WRITE truncated"));
	CHECK(mig_write_err(*sp, 10, 20, EINVAL, "WRITE longer than its size"));
	CHECK(mig_write_err(*sp, (1u << 20) + 1, (1u << 20) + 1, EINVAL,
		"WRITE above max_data_xfer_size"));
	CHECK(raw_state_is(*sp, ST_RES, "GET after refused writes"));
	return TEST_SUCCESS;
}

/* A stream whose header lies about its size: the load fails, ERROR. */
static int
case_data_lie(int *sp)
{
	uint8_t buf[8 + 16];
	struct vfio_user_mig_data w = { .argsz = 8, .size = 16 };
	uint32_t hdr[4] = { 0x47494d54u, 12345, 0, 0 };

	memcpy(buf, &w, sizeof(w));
	memcpy(buf + 8, hdr, sizeof(hdr));
	CHECK(raw_set_state(*sp, ST_RES, 0, "RESUMING"));
	CHECK(cmd_err(*sp, VFIO_USER_MIG_DATA_WRITE, 0, buf, sizeof(buf), NULL, 0, EINVAL,
		"lying header"));
	CHECK(raw_state_is(*sp, ST_ERROR, "GET after a refused load"));
	CHECK(mig_write_err(*sp, 8, 8, EINVAL, "WRITE in ERROR"));
	/* Half a record, then leaving RESUMING: the arc fails. */
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, 0, "RESET"));
	CHECK(raw_set_state(*sp, ST_RES, 0, "RESUMING"));
	hdr[1] = (uint32_t)(tdev_mig_record_size(&dev_a) - 16);
	memcpy(buf + 8, hdr, sizeof(hdr));
	CHECK(cmd_ok(*sp, VFIO_USER_MIG_DATA_WRITE, buf, sizeof(buf), NULL, 0, 0, "half"));
	CHECK(raw_set_state(*sp, ST_RUN, EINVAL, "leaving RESUMING with half a record"));
	CHECK(raw_state_is(*sp, ST_ERROR, "GET"));
	return TEST_SUCCESS;
}

static int
log_start(int s, uint64_t pgsz, uint32_t nr, const struct vfio_user_logging_range *rg,
		uint32_t nr_sent, uint32_t err, const char *what)
{
	static uint8_t buf[16 + 16 * 4];
	struct vfio_user_logging_control c = { .page_size = pgsz, .num_ranges = nr };
	uint32_t len = sizeof(c) + nr_sent * sizeof(*rg);

	memcpy(buf, &c, sizeof(c));
	if (nr_sent != 0)
		memcpy(buf + sizeof(c), rg, nr_sent * sizeof(*rg));
	if (err != 0)
		return feat_err(s, 8 + len, F_SET | F_START, buf, len, err, what);
	return feat_ok(s, 8 + len, F_SET | F_START, buf, len, 8 + len, what);
}

static int
log_report(int s, uint32_t argsz, uint64_t iova, uint64_t len, uint64_t pgsz, uint32_t err,
		int64_t rlen, const char *what)
{
	struct vfio_user_logging_report r = { .iova = iova, .length = len, .page_size = pgsz };

	if (err != 0)
		return feat_err(s, argsz, F_GET | F_REPORT, &r, sizeof(r), err, what);
	return feat_ok(s, argsz, F_GET | F_REPORT, &r, sizeof(r), rlen, what);
}

static int
case_logging_bad(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x100000,
		.size = 0x10000 };
	struct vfio_user_logging_range rg[4] = {
		{ 0x100000, 0x4000 }, { 0x103000, 0x2000 }, { 0x10f000, 0x2000 }, { 0, 0 },
	};
	uint64_t bits;

	CHECK(cmd_ok(*sp, VFIO_USER_DMA_MAP, &map, sizeof(map), NULL, 0, 0, "DMA_MAP"));
	CHECK(log_report(*sp, 64, 0x100000, 0x1000, PG, EINVAL, 0, "REPORT before START"));
	CHECK(log_start(*sp, PG, 2, rg, 2, EINVAL, "overlapping ranges"));
	CHECK(log_start(*sp, PG, 1, &rg[2], 1, EINVAL, "range past the DMA table"));
	CHECK(log_start(*sp, PG, 1, &rg[3], 1, EINVAL, "empty range"));
	rg[3].iova = 0xfffffffffffff000ULL;
	rg[3].length = 0x2000;
	CHECK(log_start(*sp, PG, 1, &rg[3], 1, EINVAL, "range wrapping past 2^64"));
	CHECK(log_start(*sp, PG, 2, rg, 1, EINVAL, "fewer ranges than num_ranges"));
	CHECK(log_start(*sp, PG, 1, rg, 2, EINVAL, "more ranges than num_ranges"));
	CHECK(log_start(*sp, PG, 65536, rg, 0, E2BIG, "more ranges than DMA windows allowed"));
	CHECK(feat_err(*sp, 24, F_SET | F_START, rg, 8, EINVAL, "START of 8 bytes"));
	/* Logging is still off: nothing was started by the refusals. */
	CHECK(log_report(*sp, 64, 0x100000, 0x1000, PG, EINVAL, 0, "REPORT after refusals"));

	CHECK(log_start(*sp, 1, 1, rg, 1, 0, "START"));
	CHECK(log_start(*sp, PG, 1, rg, 1, EBUSY, "START twice"));
	CHECK(log_report(*sp, 64, 0x100000, 0x4000, 3, EINVAL, 0, "page size 3"));
	CHECK(log_report(*sp, 64, 0x100000, 0, PG, EINVAL, 0, "length 0"));
	CHECK(log_report(*sp, 64, 0x100000, 0x5000, PG, EINVAL, 0, "past the range"));
	CHECK(log_report(*sp, 64, 0x104000, 0x1000, PG, EINVAL, 0, "outside the range"));
	/* The bitmap of 2^40 bytes at 1-byte pages cannot be sent. */
	CHECK(log_report(*sp, UINT32_MAX, 0x100000, 1ULL << 40, 1, E2BIG, 0, "huge bitmap"));
	CHECK(feat_err(*sp, 64, F_GET | F_REPORT, rg, 16, EINVAL, "REPORT of 16 bytes"));
	/* Too small an argsz: the size needed, and the log is kept. */
	CHECK(log_report(*sp, 32, 0x100000, 0x4000, PG, 0, 8, "REPORT argsz 32"));
	TEST_ASSERT_EQUAL(((struct vfio_user_feature *)rx.data)->argsz, 40u, "argsz needed");
	CHECK(log_report(*sp, 40, 0x100000, 0x4000, PG, 0, 40, "REPORT"));
	memcpy(&bits, rx.data + 32, sizeof(bits));
	TEST_ASSERT_EQUAL(bits, 0ULL, "nothing written: 0x%" PRIx64, bits);
	CHECK(feat_ok(*sp, 8, F_SET | F_STOP, NULL, 0, 8, "STOP"));
	CHECK(log_report(*sp, 64, 0x100000, 0x1000, PG, EINVAL, 0, "REPORT after STOP"));
	return TEST_SUCCESS;
}

/* The client leaves in STOP_COPY with logging on: the device runs again, nothing leaks. */
static int
case_gone_stop_copy(int *sp)
{
	struct vfio_user_mig_data r = { .argsz = 8 + 64, .size = 64 };
	unsigned int ev = tdev_ev_num(&dev_a), n = dev_a.nr_destroyed;
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x100000,
		.size = 0x10000 };
	int arcs[8];

	CHECK(cmd_ok(*sp, VFIO_USER_DMA_MAP, &map, sizeof(map), NULL, 0, 0, "DMA_MAP"));
	CHECK(log_start(*sp, PG, 0, NULL, 0, 0, "START"));
	CHECK(raw_set_state(*sp, ST_SCOPY, 0, "STOP_COPY"));
	CHECK(cmd_ok(*sp, VFIO_USER_MIG_DATA_READ, &r, sizeof(r), NULL, 0, 8 + 64, "READ"));
	raw_close(sp);
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(&dev_a, n + 1), "destroy_device");
	TEST_ASSERT_EQUAL(arcs_since(&dev_a, ev, arcs, RTE_DIM(arcs)), 4u, "arcs");
	TEST_ASSERT(arcs[2] == TDEV_ARC(ST_SCOPY, ST_STOP) && arcs[3] == TDEV_ARC(ST_STOP, ST_RUN),
		"arcs after the client left: 0x%x 0x%x", arcs[2], arcs[3]);
	TEST_ASSERT_NULL(dev_a.mig_out, "save stream kept");
	return TEST_SUCCESS;
}

HCASE(feature_flags, true)
HCASE(state_bad, true)
HCASE(data_out_of_state, true)
HCASE(data_sizes, true)
HCASE(data_lie, true)
HCASE(logging_bad, true)
HCASE(gone_stop_copy, true)

static struct unit_test_suite vfio_user_mig_suite = {
	.suite_name = "vfio-user migration",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_mig_api),
		TEST_CASE(test_mig_move),
		TEST_CASE(test_mig_arcs),
		TEST_CASE(test_mig_error),
		TEST_CASE(test_mig_dirty),
		TEST_CASE(test_mig_bad_replies),
		TEST_CASE_NAMED("DEVICE_FEATURE flags and argsz", tc_feature_flags),
		TEST_CASE_NAMED("MIG_DEVICE_STATE refused", tc_state_bad),
		TEST_CASE_NAMED("MIG_DATA out of state", tc_data_out_of_state),
		TEST_CASE_NAMED("MIG_DATA sizes", tc_data_sizes),
		TEST_CASE_NAMED("MIG_DATA_WRITE lying stream", tc_data_lie),
		TEST_CASE_NAMED("DMA logging refused", tc_logging_bad),
		TEST_CASE_NAMED("client gone in STOP_COPY", tc_gone_stop_copy),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_mig_autotest, vfio_user_mig_suite,
	VFU_CASES_HOSTILE | VFU_CASES_FAKE);

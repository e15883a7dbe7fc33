/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DEVICE_GET_INFO, DEVICE_GET_REGION_INFO, DEVICE_GET_REGION_IO_FDS and
 * DEVICE_GET_IRQ_INFO.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
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
 * VFIO_USER_DEVICE_GET_INFO and VFIO_USER_DEVICE_GET_REGION_INFO.
 */
static int
check_region_fd(struct tdev *d, int fd, const struct vfio_region_info *info)
{
	uint8_t *p;

	/* The received fd is the region's memfd: a mapping of it sees our data. */
	tdev_fill(d->memfd_map + info->offset, info->size, info->index + 100);
	p = mmap(NULL, info->size, PROT_READ, MAP_SHARED, fd, info->offset);
	TEST_ASSERT(p != MAP_FAILED, "mmap of the region fd: %s", strerror(errno));
	TEST_ASSERT(memcmp(p, d->memfd_map + info->offset, info->size) == 0,
		"region %u fd does not show the region memory", info->index);
	munmap(p, info->size);
	return TEST_SUCCESS;
}

static int
dev_info_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct vfio_device_info info;
	union {
		struct vfio_region_info info;
		uint8_t b[512];
	} u;
	struct vfio_region_info *ri = &u.info;
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_region_info_cap_type *ty;
	uint32_t i, needed = d->infos[TDEV_BAR_SPARSE]->argsz;
	int fd, ret;

	memset(&info, 0xa5, sizeof(info));
	info.argsz = sizeof(info);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info");
	TEST_ASSERT(info.argsz >= 16, "argsz %u", info.argsz);
	TEST_ASSERT_EQUAL(info.flags, (uint32_t)(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET),
		"flags 0x%x", info.flags);
	TEST_ASSERT_EQUAL(info.num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS, "num_regions %u",
		info.num_regions);
	TEST_ASSERT_EQUAL(info.num_irqs, (uint32_t)VFIO_PCI_NUM_IRQS, "num_irqs %u", info.num_irqs);

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		const struct vfio_region_info *s = d->infos[i];

		memset(&u, 0xa5, sizeof(u));
		ri->argsz = sizeof(*ri);
		ri->index = i;
		fd = -2;
		ret = rte_vfio_user_get_reg_info(f->cid, ri, &fd);
		TEST_ASSERT_SUCCESS(ret, "get_reg_info(%u)", i);
		TEST_ASSERT_EQUAL(ri->index, i, "index");
		/* A reply without the chain has no CAPS flag (QEMU needs that). */
		TEST_ASSERT_EQUAL(ri->flags, s->flags & ~VFIO_REGION_INFO_FLAG_CAPS,
			"region %u flags 0x%x, expected 0x%x", i, ri->flags, s->flags);
		TEST_ASSERT_EQUAL(ri->size, s->size, "region %u size 0x%" PRIx64, i,
			(uint64_t)ri->size);
		if (s->flags & VFIO_REGION_INFO_FLAG_MMAP) {
			TEST_ASSERT_EQUAL(ri->offset, s->offset, "region %u mmap offset 0x%" PRIx64,
				i, (uint64_t)ri->offset);
			TEST_ASSERT(fd >= 0, "region %u: no mmap fd (%d)", i, fd);
			ret = check_region_fd(d, fd, ri);
			close(fd);
			if (ret != TEST_SUCCESS)
				return ret;
		} else {
			TEST_ASSERT_EQUAL(fd, -1, "region %u: fd %d without MMAP", i, fd);
		}
		if (s->flags & VFIO_REGION_INFO_FLAG_CAPS) {
			/* Buffer too small for the chain: argsz says what is needed, no chain. */
			TEST_ASSERT_EQUAL(ri->argsz, needed, "region %u argsz %u, needed %u", i,
				ri->argsz, needed);
			TEST_ASSERT_EQUAL(ri->cap_offset, 0u, "cap_offset %u with a short buffer",
				ri->cap_offset);
		} else {
			TEST_ASSERT_EQUAL(ri->argsz, (uint32_t)sizeof(*ri), "region %u argsz %u", i,
				ri->argsz);
		}
	}

	/* The full chain: sparse mmap areas, then the region type. */
	memset(&u, 0xa5, sizeof(u));
	ri->argsz = sizeof(u);
	ri->index = TDEV_BAR_SPARSE;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_info(f->cid, ri, NULL), "get_reg_info caps");
	TEST_ASSERT_EQUAL(ri->argsz, needed, "argsz %u, needed %u", ri->argsz, needed);
	TEST_ASSERT(ri->flags & VFIO_REGION_INFO_FLAG_CAPS, "CAPS flag lost");
	TEST_ASSERT_EQUAL(ri->cap_offset, (uint32_t)sizeof(*ri), "cap_offset %u", ri->cap_offset);
	sp = (void *)(u.b + ri->cap_offset);
	TEST_ASSERT_EQUAL(sp->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP, "first cap id %u",
		sp->header.id);
	TEST_ASSERT_EQUAL(sp->header.version, 1, "sparse cap version %u", sp->header.version);
	TEST_ASSERT_EQUAL(sp->nr_areas, 2u, "nr_areas %u", sp->nr_areas);
	TEST_ASSERT(sp->areas[0].offset == 0 && sp->areas[0].size == 0x1000, "area 0");
	TEST_ASSERT(sp->areas[1].offset == 0x2000 && sp->areas[1].size == 0x1000, "area 1");
	TEST_ASSERT(sp->header.next > ri->cap_offset && sp->header.next + sizeof(*ty) <= needed,
		"next cap at %u", sp->header.next);
	ty = (void *)(u.b + sp->header.next);
	TEST_ASSERT_EQUAL(ty->header.id, VFIO_REGION_INFO_CAP_TYPE, "second cap id %u",
		ty->header.id);
	TEST_ASSERT_EQUAL(ty->header.next, 0u, "chain not terminated");
	TEST_ASSERT_EQUAL(ty->type, TDEV_REG_TYPE, "type 0x%x", ty->type);
	TEST_ASSERT_EQUAL(ty->subtype, TDEV_REG_SUBTYPE, "subtype %u", ty->subtype);

	/* Errors. */
	memset(&u, 0, sizeof(u));
	ri->argsz = 16;
	ri->index = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_info(f->cid, ri, NULL), -EINVAL, "argsz 16");
	ri->argsz = sizeof(*ri);
	ri->index = VFIO_PCI_NUM_REGIONS;
	fd = -2;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_info(f->cid, ri, &fd), -EINVAL, "index %u",
		VFIO_PCI_NUM_REGIONS);
	TEST_ASSERT(fd < 0, "fd %d returned on error", fd);
	/* The session survives the errors. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info after errors");
	return TEST_SUCCESS;
}

static int
test_dev_info(void)
{
	return run_fix(dev_info_body, NULL);
}

/*
 * VFIO_USER_DEVICE_GET_REGION_IO_FDS.
 */
static int
io_fds_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_io_fd io[TDEV_NR_IO_FDS + 1];
	uint64_t v;
	uint32_t count, i;

	count = 0;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, NULL, &count),
		"io_fds count query");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);

	memset(io, 0, sizeof(io));
	io[0].fd = -7;
	count = 1;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, io, &count),
		"io_fds with a short array");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);
	TEST_ASSERT_EQUAL(io[0].fd, -7, "short array was filled");

	for (i = 0; i < RTE_DIM(io); i++)
		io[i].fd = -7;
	count = RTE_DIM(io);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, io, &count),
		"io_fds");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);
	for (i = 0; i < TDEV_NR_IO_FDS; i++) {
		TEST_ASSERT(io[i].fd >= 0, "entry %u fd %d", i, io[i].fd);
		TEST_ASSERT_EQUAL(io[i].offset, d->io_fds[i].offset, "entry %u offset", i);
		TEST_ASSERT_EQUAL(io[i].size, d->io_fds[i].size, "entry %u size", i);
		TEST_ASSERT_EQUAL(io[i].type, d->io_fds[i].type, "entry %u type", i);
		TEST_ASSERT_EQUAL(io[i].flags, d->io_fds[i].flags, "entry %u flags", i);
		TEST_ASSERT_EQUAL(io[i].datamatch, d->io_fds[i].datamatch, "entry %u datamatch", i);
	}
	TEST_ASSERT_EQUAL(io[TDEV_NR_IO_FDS].fd, -7, "entry past count written");
	/* Each client fd reaches the server's eventfd (entry 2 shares entry 0's). */
	v = 1;
	TEST_ASSERT_EQUAL(write(io[0].fd, &v, 8), 8, "write io fd 0");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 1000), 1ULL, "server eventfd 0 not signalled");
	v = 5;
	TEST_ASSERT_EQUAL(write(io[1].fd, &v, 8), 8, "write io fd 1");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[1], 1000), 5ULL, "server eventfd 1 not signalled");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 0), 0ULL, "eventfd 0 signalled by entry 1");
	v = 2;
	TEST_ASSERT_EQUAL(write(io[2].fd, &v, 8), 8, "write io fd 2");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 1000), 2ULL, "entry 2 is not eventfd 0");
	for (i = 0; i < TDEV_NR_IO_FDS; i++)
		close(io[i].fd);

	/* A region without sub-regions, and a bad index. */
	count = RTE_DIM(io);
	io[0].fd = -7;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_BASE, io, &count),
		"io_fds of BAR1");
	TEST_ASSERT_EQUAL(count, 0u, "count %u", count);
	TEST_ASSERT_EQUAL(io[0].fd, -7, "entry filled for a region without io fds");
	count = RTE_DIM(io);
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_io_fds(f->cid, VFIO_PCI_NUM_REGIONS, io, &count),
		-EINVAL, "bad index");
	return TEST_SUCCESS;
}

static int
test_io_fds(void)
{
	return run_fix(io_fds_body, NULL);
}

/*
 * Hostile client
 */

static int
case_fd_on_get_info(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	struct vfio_user_region_access a = { .region = HDEV_BAR_RW, .count = 4 };
	int fd, base, ret;

	if (open_eventfds(&fd, 1) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), &fd, 1, EINVAL,
		"GET_INFO with an fd");
	if (ret == TEST_SUCCESS)
		ret = cmd_err(*sp, VFIO_USER_REGION_READ, 0, &a, sizeof(a), &fd, 1, EINVAL,
			"REGION_READ with an fd");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fd on GET_INFO/REGION_READ closed");
	close(fd);
	CHECK(ret);
	return check_get_info(*sp, &dev_a, "GET_INFO after fd refusal");
}

/* argsz */

static int
case_bad_argsz(int *sp)
{
	struct vfio_user_device_info di = { .argsz = 8 };
	struct vfio_region_info ri = { .argsz = 16, .index = HDEV_BAR_RW };
	struct vfio_irq_info ii = { .argsz = 4, .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_user_region_io_fds_req io = { .argsz = 8, .index = HDEV_BAR_RW };
	struct vfio_user_dma_map map = { .argsz = 16, .flags = 3, .addr = 0x40000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = 16, .addr = 0x40000000, .size = 0x1000 };
	struct vfio_irq_set set = { .argsz = 16,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 1 };
	uint8_t bset[sizeof(set) + 2] = { 0 };

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &di, sizeof(di), NULL, 0, EINVAL,
		"GET_INFO argsz 8"));
	di.argsz = 15;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &di, sizeof(di), NULL, 0, EINVAL,
		"GET_INFO argsz 15"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO argsz 16"));
	ri.argsz = 31;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO argsz 31"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, 0, &ii, sizeof(ii), NULL, 0, EINVAL,
		"GET_IRQ_INFO argsz 4"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &io, sizeof(io), NULL, 0,
		EINVAL, "GET_REGION_IO_FDS argsz 8"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"DMA_MAP argsz 16"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, EINVAL,
		"DMA_UNMAP argsz 16"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, &set, sizeof(set), NULL, 0, EINVAL,
		"SET_IRQS argsz 16"));
	/* BOOL: argsz must cover the data bytes too. */
	set.argsz = sizeof(set) + 1;
	set.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.count = 2;
	memcpy(bset, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, bset, sizeof(bset), NULL, 0, EINVAL,
		"SET_IRQS BOOL argsz 21 for 22 bytes"));
	/* The map with the bad argsz was not made. */
	um.argsz = sizeof(um);
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap after bad-argsz map"));
	return TEST_SUCCESS;
}

static int
case_large_argsz(int *sp)
{
	struct vfio_user_device_info di = { .argsz = 4096 }, dr;
	struct vfio_region_info ri = { .argsz = 4096, .index = HDEV_BAR_RW }, rr;
	struct vfio_irq_info ii = { .argsz = 64, .index = VFIO_PCI_MSIX_IRQ_INDEX }, ir;

	/* Larger argsz is fine; replies carry the size needed. */
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, sizeof(dr),
		"GET_INFO argsz 4096"));
	memcpy(&dr, rx.data, sizeof(dr));
	TEST_ASSERT_EQUAL(dr.argsz, sizeof(dr), "GET_INFO reply argsz");
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, sizeof(rr),
		"GET_REGION_INFO argsz 4096"));
	memcpy(&rr, rx.data, sizeof(rr));
	TEST_ASSERT(rr.argsz == sizeof(rr) && rr.index == HDEV_BAR_RW && rr.size == HDEV_RW_SIZE &&
		rr.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) &&
		rr.cap_offset == 0, "GET_REGION_INFO reply argsz %u index %u size %" PRIu64
		" flags %#x cap_offset %u", rr.argsz, rr.index, (uint64_t)rr.size, rr.flags,
		rr.cap_offset);
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, sizeof(ir),
		"GET_IRQ_INFO argsz 64"));
	memcpy(&ir, rx.data, sizeof(ir));
	TEST_ASSERT(ir.argsz == sizeof(ir) && ir.index == VFIO_PCI_MSIX_IRQ_INDEX &&
		ir.count == HDEV_MSIX_COUNT &&
		ir.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE),
		"GET_IRQ_INFO reply argsz %u index %u count %u flags %#x", ir.argsz, ir.index,
		ir.count, ir.flags);
	return TEST_SUCCESS;
}

/* Indexes */

static int
case_index_out_of_range(int *sp)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_NUM_REGIONS };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_NUM_IRQS };
	struct vfio_user_region_io_fds_req io = { .argsz = sizeof(io),
		.index = VFIO_PCI_NUM_REGIONS };
	uint8_t p[64], data[4] = { 1, 2, 3, 4 };
	uint32_t len;

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO index 9"));
	ri.index = UINT32_MAX;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO index 0xffffffff"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, 0, &ii, sizeof(ii), NULL, 0, EINVAL,
		"GET_IRQ_INFO index 5"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &io, sizeof(io), NULL, 0,
		EINVAL, "GET_REGION_IO_FDS index 9"));
	len = build_access(p, VFIO_PCI_NUM_REGIONS, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ region 9"));
	len = build_access(p, UINT32_MAX, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ region 0xffffffff"));
	len = build_access(p, VFIO_PCI_NUM_REGIONS, 0, 4, data, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE region 9"));
	return TEST_SUCCESS;
}

/*
 * Raw sessions with a test device of its own
 */

/* Send a request and receive its success reply (descriptors kept in @m). */
static int
info_call(int s, uint16_t id, uint16_t cmd, const void *req, uint32_t len, struct rmsg *m)
{
	if (raw_send(s, id, cmd, 0, req, len, NULL, 0) < 0 || rmsg_recv(s, m, RX_MS) < 0)
		return -1;
	if (m->hdr.msg_id != id || m->hdr.cmd != cmd || (m->hdr.flags & VFIO_USER_F_ERROR)) {
		printf("  command %u: reply id %u cmd %u flags 0x%x error %u\n", cmd,
			m->hdr.msg_id, m->hdr.cmd, m->hdr.flags, m->hdr.error);
		rmsg_close_fds(m);
		return -1;
	}
	return 0;
}

/*
 * VFIO_REGION_INFO_FLAG_MMAP: "When this flag is set, the reply will include
 * a file descriptor in its meta-data." The descriptor goes only with the full
 * reply to a client that takes descriptors; otherwise neither the descriptor
 * nor the flag is sent.
 */
static int
region_info_fd(const char *path)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = TDEV_BAR_MMAP };
	struct vfio_region_info rep;
	struct rmsg m = { .nr_fds = 0 };
	int s, nr_fds;

	s = raw_session_caps(path, "{\"capabilities\":{\"max_msg_fds\":0}}", &m);
	TEST_ASSERT(s >= 0, "negotiation");
	if (info_call(s, 2, VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), &m) < 0) {
		close(s);
		TEST_ASSERT(false, "GET_REGION_INFO of BAR3");
	}
	close(s);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	memcpy(&rep, m.data, sizeof(rep));
	TEST_ASSERT_EQUAL(nr_fds, 0, "descriptor sent to a client that takes none");
	TEST_ASSERT(!(rep.flags & VFIO_REGION_INFO_FLAG_MMAP), "MMAP flag without a descriptor");

	/* Probing the size first: no room for descriptors is offered. */
	s = raw_session_caps(path, "{\"capabilities\":{\"max_msg_fds\":8}}", &m);
	TEST_ASSERT(s >= 0, "negotiation");
	ri.index = TDEV_BAR_SPARSE;
	if (info_call(s, 3, VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), &m) < 0) {
		close(s);
		TEST_ASSERT(false, "GET_REGION_INFO of BAR4");
	}
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	memcpy(&rep, m.data, sizeof(rep));
	if (rep.argsz <= sizeof(rep) || nr_fds != 0 || (rep.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		close(s);
		TEST_ASSERT(false, "truncated BAR4 reply: argsz %u, %d descriptors, flags 0x%x",
			rep.argsz, nr_fds, rep.flags);
	}
	ri.argsz = rep.argsz;
	if (info_call(s, 4, VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), &m) < 0) {
		close(s);
		TEST_ASSERT(false, "full GET_REGION_INFO of BAR4");
	}
	close(s);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	memcpy(&rep, m.data, sizeof(rep));
	TEST_ASSERT(nr_fds == 1 && (rep.flags & VFIO_REGION_INFO_FLAG_MMAP),
		"full reply: %d descriptors, flags 0x%x", nr_fds, rep.flags);
	return TEST_SUCCESS;
}

/*
 * GET_REGION_IO_FDS: "The reply message will additionally include at least
 * one file descriptor". A region without sub-regions has none to refer to:
 * the reply says count 0 and carries no descriptor.
 */
static int
io_fds_none(const char *path)
{
	struct vfio_user_region_io_fds_req io = { .argsz = 4096, .index = TDEV_BAR_BASE };
	struct rmsg m = { .nr_fds = 0 };
	int s, nr_fds, ret;

	s = raw_session(path, &m);
	TEST_ASSERT(s >= 0, "negotiation");
	ret = info_call(s, 2, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, sizeof(io), &m);
	close(s);
	nr_fds = m.nr_fds;
	rmsg_close_fds(&m);
	TEST_ASSERT_SUCCESS(ret, "GET_REGION_IO_FDS of BAR1");
	memcpy(&io, m.data, sizeof(io));
	TEST_ASSERT(m.len == sizeof(io) && io.count == 0 && nr_fds == 0,
		"reply of %u bytes, count %u, %d descriptors", m.len, io.count, nr_fds);
	return TEST_SUCCESS;
}

static int
run_raw(int (*body)(const char *path), const char *tag)
{
	char path[PATH_LEN];
	struct tdev *d = dev_new(path, tag, true);
	int ret;

	TEST_ASSERT_NOT_NULL(d, "cannot create the test device");
	ret = body(path);
	dev_free(d);
	return ret;
}

static int
test_region_info_fd(void)
{
	return run_raw(region_info_fd, "rinfo");
}

static int
test_io_fds_none(void)
{
	return run_raw(io_fds_none, "iofds");
}

HCASE(fd_on_get_info, true)
HCASE(bad_argsz, true)
HCASE(large_argsz, true)
HCASE(index_out_of_range, true)

static struct unit_test_suite vfio_user_device_info_suite = {
	.suite_name = "vfio-user device, region and IRQ info",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_dev_info),
		TEST_CASE(test_io_fds),
		TEST_CASE_NAMED("fd on GET_INFO", tc_fd_on_get_info),
		TEST_CASE_NAMED("bad argsz", tc_bad_argsz),
		TEST_CASE_NAMED("large argsz", tc_large_argsz),
		TEST_CASE_NAMED("indexes out of range", tc_index_out_of_range),
		TEST_CASE_NAMED("region descriptor with the full reply only", test_region_info_fd),
		TEST_CASE_NAMED("region without io fds", test_io_fds_none),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_device_info_autotest, vfio_user_device_info_suite, VFU_CASES_HOSTILE);

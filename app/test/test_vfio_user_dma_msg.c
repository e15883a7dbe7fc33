/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DMA_READ and DMA_WRITE: server access to client memory through messages.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_fake_peer.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

struct dma_thr {
	int sid;
	uint64_t iova;
	uint8_t *client;
	size_t len;
	int iters;
	int ret;
	char msg[128];
};

static void *
dma_thread(void *arg)
{
	struct dma_thr *a = arg;
	uint8_t *w = malloc(a->len), *r = malloc(a->len);
	int i, ret;

	a->ret = -ENOMEM;
	if (w == NULL || r == NULL)
		goto out;
	for (i = 0; i < a->iters; i++) {
		tdev_fill(w, a->len, (uint32_t)(a->iova + i));
		ret = rte_vfio_user_dma_write(a->sid, a->iova, w, a->len);
		if (ret != 0) {
			snprintf(a->msg, sizeof(a->msg), "dma_write #%d: %d", i, ret);
			a->ret = ret;
			goto out;
		}
		if (memcmp(a->client, w, a->len) != 0) {
			snprintf(a->msg, sizeof(a->msg), "client memory differs #%d", i);
			a->ret = -EIO;
			goto out;
		}
		memset(r, 0, a->len);
		ret = rte_vfio_user_dma_read(a->sid, a->iova, r, a->len);
		if (ret != 0 || memcmp(r, w, a->len) != 0) {
			snprintf(a->msg, sizeof(a->msg), "dma_read #%d: %d", i, ret);
			a->ret = ret ? ret : -EIO;
			goto out;
		}
	}
	a->ret = 0;
out:
	free(w);
	free(r);
	return NULL;
}

/* Windows without fd: the server reaches them with DMA_READ/DMA_WRITE messages. */
static int
dma_nofd_body(struct fix *f)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	const uint64_t base = 0x10000000;
	const size_t big = MiB + MiB / 2 + 3;
	struct tdev *d = &f->dev;
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_reg m, mf;
	struct dma_thr thr[2];
	pthread_t tid[2];
	uint8_t *mem, *pat, *rbuf, *fmem = NULL;
	uint64_t len = 8;
	int mfd = -1, i;

	mem = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	pat = malloc(4 * MiB);
	rbuf = malloc(4 * MiB);
	TEST_ASSERT(pat != NULL && rbuf != NULL, "no memory");

	m = win(base, 4 * MiB, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "dma_map without fd");
	t = rte_vfio_user_get_mem_table(d->id);
	TEST_ASSERT_NOT_NULL(t, "mem table");
	TEST_ASSERT_EQUAL(t->entry_num, 1u, "entries");
	TEST_ASSERT(t->regions[0].iova == base && t->regions[0].size == 4 * MiB, "entry");
	TEST_ASSERT_EQUAL(t->regions[0].fd, -1, "fd %d for a window without fd", t->regions[0].fd);
	TEST_ASSERT_NULL(t->regions[0].vaddr, "vaddr for a window without fd");
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(d->id, base, &len), "iova_to_vva without fd");
	TEST_ASSERT_EQUAL(rte_errno, ENOENT, "rte_errno %d", rte_errno);

	/* Over max_data_xfer_size (1 MiB): split into several messages. */
	tdev_fill(pat, big, 21);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, base + 5, pat, big),
		"dma_write 1.5 MiB");
	TEST_ASSERT(memcmp(mem + 5, pat, big) == 0, "client memory differs after dma_write");
	TEST_ASSERT_EQUAL(mem[4], 0, "dma_write spilled before");
	TEST_ASSERT_EQUAL(mem[5 + big], 0, "dma_write spilled after");
	tdev_fill(mem, 4 * MiB, 22);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, base, rbuf, 4 * MiB), "dma_read 4 MiB");
	TEST_ASSERT(memcmp(rbuf, mem, 4 * MiB) == 0, "dma_read data differs");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, base + 4 * MiB - 1, rbuf, 1),
		"last byte");
	TEST_ASSERT_EQUAL(rbuf[0], mem[4 * MiB - 1], "last byte differs");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, base + 77, pat, 1), "1 byte");
	TEST_ASSERT_EQUAL(mem[77], pat[0], "1-byte write");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, base + 4 * MiB - 1, rbuf, 2), -EFAULT,
		"read past the window");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(d->id, base - 1, pat, 2), -EFAULT,
		"write before the window");

	/* Spanning a message window and an fd window. */
	TEST_ASSERT_SUCCESS(memfd_buf(0x10000, &mfd, &fmem), "memfd");
	mf = win(base + 4 * MiB, 0x10000, 0, rw, fmem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &mf, &mfd, 1), "map fd window");
	tdev_fill(fmem, 0x10000, 23);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, base + 4 * MiB - 16, rbuf, 32),
		"read across message and fd windows");
	TEST_ASSERT(memcmp(rbuf, mem + 4 * MiB - 16, 16) == 0 && memcmp(rbuf + 16, fmem, 16) == 0,
		"data across windows differs");

	/* Two threads at once: replies are matched to the right caller. */
	for (i = 0; i < 2; i++) {
		thr[i] = (struct dma_thr){ .sid = d->id, .iova = base + i * 2 * MiB,
			.client = mem + i * 2 * MiB, .len = 96 * 1024 + i, .iters = 30 };
		TEST_ASSERT_SUCCESS(pthread_create(&tid[i], NULL, dma_thread, &thr[i]), "thread");
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < 2; i++)
		TEST_ASSERT_SUCCESS(thr[i].ret, "thread %d: %s", i, thr[i].msg);

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, NULL, 0), "unmap all");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 0, "entries after unmap all");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, base, rbuf, 8), -EFAULT,
		"read after unmap");
	munmap(fmem, 0x10000);
	close(mfd);
	munmap(mem, 4 * MiB);
	free(pat);
	free(rbuf);
	return TEST_SUCCESS;
}

static int
test_dma_nofd(void)
{
	return run_fix(dma_nofd_body, NULL);
}

/* DMA from inside a region callback (control thread), through an fd window. */
static int
dma_cb_body(struct fix *f)
{
	const uint64_t iova = 0x40000000, len = 4096;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t *mem = NULL;
	uint64_t v, i;
	int mfd = -1;

	d->cb_dma_job = true;
	TEST_ASSERT_SUCCESS(memfd_buf(0x20000, &mfd, &mem), "memfd");
	m = win(iova, 0x20000, 0, PROT_READ | PROT_WRITE, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), "map");
	tdev_fill(mem, len, 31);
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_LEN, len), "len");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_IOVA, iova), "go");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_RD_RC, &v), "rd rc");
	TEST_ASSERT_EQUAL((int64_t)v, 0, "dma_read in callback: %" PRId64, (int64_t)v);
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_HASH, &v), "hash");
	TEST_ASSERT_EQUAL(v, tdev_hash(mem, len), "data read in callback differs");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_WR_RC, &v), "wr rc");
	TEST_ASSERT_EQUAL((int64_t)v, 0, "dma_write in callback: %" PRId64, (int64_t)v);
	for (i = 0; i < len; i++)
		TEST_ASSERT_EQUAL(mem[len + i], mem[i] ^ 0x5a, "byte %" PRIu64 " written back", i);
	/* Unmapped address: the error reaches the device model. */
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_IOVA, 0x7000000), "go");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, TDEV_REG_DMA_RD_RC, &v), "rd rc");
	TEST_ASSERT_EQUAL((int64_t)v, -EFAULT, "dma_read of nothing: %" PRId64, (int64_t)v);
	munmap(mem, 0x20000);
	close(mfd);
	return TEST_SUCCESS;
}

static int
test_dma_from_callback(void)
{
	return run_fix(dma_cb_body, NULL);
}

/*
 * Hostile client
 */

static int
case_dma_rw_as_command(int *sp)
{
	struct vfio_user_dma_access a = { .addr = 0x1000, .count = 8 };
	uint8_t buf[sizeof(a) + 8] = { 0 };

	memcpy(buf, &a, sizeof(a));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_READ, 0, &a, sizeof(a), NULL, 0, EINVAL,
		"DMA_READ command"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_WRITE, 0, buf, sizeof(buf), NULL, 0, EINVAL,
		"DMA_WRITE command"));
	return check_get_info(*sp, &dev_a, "GET_INFO after DMA_READ/WRITE commands");
}

HCASE(dma_rw_as_command, true)

/*
 * Against a scripted server
 */

/* DMA windows of the DMA cases: read-write, and read-only. */
#define DMA_IOVA 0x100000ULL

#define DMA_SIZE 0x4000ULL

#define DMA_RO_IOVA 0x200000ULL

#define DMA_RO_SIZE 0x1000ULL

#define DMA_SEED 7

#define DMA_RO_SEED 8

#define DMA_WR_SEED 9

#define DMA_WR_OFF 0x200

#define DMA_WR_LEN 32

/* The client's max_data_xfer_size in the DMA cases. */
#define DMA_XFER 4096

/*
 * DMA_READ / DMA_WRITE from the server, on the twin socket (opt 1) or on the
 * main socket (opt 0, answered by the control thread while no call is in
 * progress, then by a caller waiting for its own reply).
 */

static uint8_t g_dma_mem[DMA_SIZE] __rte_aligned(4096);

static uint8_t g_dma_ro[DMA_RO_SIZE] __rte_aligned(4096);

/* Send a DMA command on fd and read its reply. */
static int
srv_dma_cmd(struct fake *f, int fd, uint16_t cmd, uint64_t addr, uint64_t count,
		const void *data, struct srv_msg *m)
{
	struct vfio_user_dma_access a = { .addr = addr, .count = count };
	uint16_t id = f->next_id++;
	int ret;

	ret = srv_send(fd, id, cmd, VFIO_USER_F_TYPE_COMMAND, 0, &a, sizeof(a), data,
		data != NULL ? count : 0, NULL, 0);
	SRV_CHECK(f, ret == 0, "sending DMA command %u: %s", cmd, strerror(-ret));
	ret = srv_recv(fd, m, SRV_WAIT_MS);
	SRV_CHECK(f, ret == 0, "no reply to DMA command %u 0x%" PRIx64 "+%" PRIu64 ": %s",
		cmd, addr, count, strerror(-ret));
	SRV_CHECK(f, (m->hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY,
		"flags 0x%x", m->hdr.flags);
	SRV_CHECK(f, m->hdr.msg_id == id && m->hdr.cmd == cmd, "reply id %u cmd %u, want %u %u",
		m->hdr.msg_id, m->hdr.cmd, id, cmd);
	SRV_CHECK(f, m->nfds == 0, "%d fds in the reply", m->nfds);
	return 0;
}

/* DMA_READ that must return exp. */
static int
srv_dma_read_ok(struct fake *f, int fd, uint64_t addr, uint64_t count, const uint8_t *exp)
{
	struct srv_msg *m = malloc(sizeof(*m));
	struct vfio_user_dma_access rep;
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_dma_cmd(f, fd, VFIO_USER_DMA_READ, addr, count, NULL, m) < 0)
		goto out;
	if (m->hdr.flags & VFIO_USER_F_ERROR) {
		srv_fail(f, __LINE__, "DMA_READ 0x%" PRIx64 "+%" PRIu64 ": error %u", addr,
			count, m->hdr.error);
		goto out;
	}
	if (m->len != sizeof(rep) + count) {
		srv_fail(f, __LINE__, "DMA_READ reply of %u bytes, want %" PRIu64, m->len,
			sizeof(rep) + count);
		goto out;
	}
	memcpy(&rep, m->data, sizeof(rep));
	if (rep.addr != addr || rep.count != count) {
		srv_fail(f, __LINE__, "DMA_READ reply addr 0x%" PRIx64 " count %" PRIu64,
			rep.addr, rep.count);
		goto out;
	}
	if (memcmp(m->data + sizeof(rep), exp, count) != 0) {
		srv_fail(f, __LINE__, "DMA_READ 0x%" PRIx64 "+%" PRIu64 ": wrong data", addr,
			count);
		goto out;
	}
	ret = 0;
out:
	free(m);
	return ret;
}

/* DMA command that must get an error reply with err. */
static int
srv_dma_err(struct fake *f, int fd, uint16_t cmd, uint64_t addr, uint64_t count,
		const void *data, uint32_t err)
{
	struct srv_msg *m = malloc(sizeof(*m));
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_dma_cmd(f, fd, cmd, addr, count, data, m) < 0)
		goto out;
	if (!(m->hdr.flags & VFIO_USER_F_ERROR) || m->hdr.error != err || m->len != 0) {
		srv_fail(f, __LINE__, "DMA command %u 0x%" PRIx64 "+%" PRIu64
			": flags 0x%x error %u, %u bytes; want error %u (%s)", cmd, addr, count,
			m->hdr.flags, m->hdr.error, m->len, err, strerror(err));
		goto out;
	}
	ret = 0;
out:
	free(m);
	return ret;
}

static int
srv_expect_dma_map(struct fake *f, struct srv_msg *m, uint32_t flags, uint64_t addr,
		uint64_t size)
{
	struct vfio_user_dma_map req;

	SRV_DO(srv_recv_cmd(f, f->fd, m, VFIO_USER_DMA_MAP, sizeof(req)));
	memcpy(&req, m->data, sizeof(req));
	SRV_CHECK(f, req.argsz == sizeof(req) && req.flags == flags && req.offset == 0 &&
		req.addr == addr && req.size == size,
		"DMA_MAP argsz %u flags %u offset 0x%" PRIx64 " addr 0x%" PRIx64 " size 0x%"
		PRIx64, req.argsz, req.flags, req.offset, req.addr, req.size);
	return srv_reply(f, m, NULL, 0, NULL, 0);
}

/* What the fake server expects in the client's windows. */
struct dma_expect {
	uint8_t mem[DMA_SIZE];
	uint8_t ro[DMA_RO_SIZE];
	uint8_t wr[DMA_WR_LEN];
};

static int
srv_dma_checks(struct fake *f, int fd, struct dma_expect *e)
{
	struct srv_msg *m = malloc(sizeof(*m));
	struct vfio_user_dma_write_reply wrep;
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	/* Reads inside the windows, up to the client's max_data_xfer_size. */
	if (srv_dma_read_ok(f, fd, DMA_IOVA + 0x100, 64, e->mem + 0x100) < 0 ||
			srv_dma_read_ok(f, fd, DMA_IOVA, DMA_XFER, e->mem) < 0 ||
			srv_dma_read_ok(f, fd, DMA_RO_IOVA + 8, 16, e->ro + 8) < 0)
		goto out;

	/* A write: the reply is the specification's 12 bytes and 4 of padding. */
	if (srv_dma_cmd(f, fd, VFIO_USER_DMA_WRITE, DMA_IOVA + DMA_WR_OFF, DMA_WR_LEN, e->wr,
			m) < 0)
		goto out;
	if ((m->hdr.flags & VFIO_USER_F_ERROR) || m->len != sizeof(wrep) + 4) {
		srv_fail(f, __LINE__, "DMA_WRITE reply: flags 0x%x error %u, %u bytes (want 16)",
			m->hdr.flags, m->hdr.error, m->len);
		goto out;
	}
	memcpy(&wrep, m->data, sizeof(wrep));
	if (wrep.addr != DMA_IOVA + DMA_WR_OFF || wrep.count != DMA_WR_LEN) {
		srv_fail(f, __LINE__, "DMA_WRITE reply addr 0x%" PRIx64 " count %u", wrep.addr,
			wrep.count);
		goto out;
	}
	memcpy(e->mem + DMA_WR_OFF, e->wr, DMA_WR_LEN);
	/* Read back across the written bytes. */
	if (srv_dma_read_ok(f, fd, DMA_IOVA + DMA_WR_OFF - 16, DMA_WR_LEN + 32,
			e->mem + DMA_WR_OFF - 16) < 0)
		goto out;

	/* Not mapped; across the end of a window; too large; read-only window. */
	if (srv_dma_err(f, fd, VFIO_USER_DMA_READ, 0x900000, 16, NULL, EFAULT) < 0 ||
			srv_dma_err(f, fd, VFIO_USER_DMA_READ, DMA_IOVA + DMA_SIZE - 16, 32,
				NULL, EFAULT) < 0 ||
			srv_dma_err(f, fd, VFIO_USER_DMA_READ, DMA_IOVA, DMA_XFER + 1, NULL,
				EINVAL) < 0 ||
			srv_dma_err(f, fd, VFIO_USER_DMA_WRITE, 0x900000, 8, e->wr,
				EFAULT) < 0 ||
			srv_dma_err(f, fd, VFIO_USER_DMA_WRITE, DMA_RO_IOVA, 8, e->wr,
				EFAULT) < 0)
		goto out;
	ret = 0;
out:
	free(m);
	return ret;
}

static int
scr_dma(struct fake *f)
{
	bool twin = f->opt != 0;
	struct dma_expect *e = malloc(sizeof(*e));
	struct srv_msg *m = malloc(sizeof(*m));
	struct vfio_user_dma_unmap unmap;
	uint64_t v = 0;
	int dfd, ret = -1;

	if (e == NULL || m == NULL) {
		srv_fail(f, __LINE__, "no memory");
		goto out;
	}
	tdev_fill(e->mem, DMA_SIZE, DMA_SEED);
	tdev_fill(e->ro, DMA_RO_SIZE, DMA_RO_SEED);
	tdev_fill(e->wr, DMA_WR_LEN, DMA_WR_SEED);

	if (srv_version_ok(f, twin) < 0)
		goto out;
	if (json_u64(f->proposal, "max_data_xfer_size", &v) < 0 || v != DMA_XFER) {
		srv_fail(f, __LINE__, "client proposed max_data_xfer_size %" PRIu64 ", not %u",
			v, DMA_XFER);
		goto out;
	}
	dfd = twin ? f->twin : f->fd;
	if (srv_expect_dma_map(f, m, VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE,
			DMA_IOVA, DMA_SIZE) < 0 ||
			srv_expect_dma_map(f, m, VFIO_USER_F_DMA_REGION_READ, DMA_RO_IOVA,
				DMA_RO_SIZE) < 0)
		goto out;
	/* Main socket: only once dma_map returned, so that the control thread answers. */
	if (!twin && srv_wait_go(f, 1) < 0)
		goto out;
	if (srv_dma_checks(f, dfd, e) < 0)
		goto out;
	fake_set_stage(f, 1);

	/* A DMA_READ while the client waits for its GET_INFO reply. */
	if (srv_recv_info(f, m) < 0 ||
			srv_dma_read_ok(f, dfd, DMA_IOVA + 0x40, 16, e->mem + 0x40) < 0 ||
			srv_answer_info(f, m) < 0)
		goto out;

	/* After DMA_UNMAP the window is no longer served. */
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DMA_UNMAP, sizeof(unmap)) < 0)
		goto out;
	memcpy(&unmap, m->data, sizeof(unmap));
	if (unmap.argsz != sizeof(unmap) || unmap.flags != 0 || unmap.addr != DMA_IOVA ||
			unmap.size != DMA_SIZE) {
		srv_fail(f, __LINE__, "DMA_UNMAP argsz %u flags %u addr 0x%" PRIx64
			" size 0x%" PRIx64, unmap.argsz, unmap.flags, unmap.addr, unmap.size);
		goto out;
	}
	if (srv_reply(f, m, &unmap, sizeof(unmap), NULL, 0) < 0 || srv_wait_go(f, 2) < 0 ||
			srv_dma_err(f, dfd, VFIO_USER_DMA_READ, DMA_IOVA + 0x100, 16, NULL,
				EFAULT) < 0 ||
			srv_dma_read_ok(f, dfd, DMA_RO_IOVA, 16, e->ro) < 0)
		goto out;
	fake_set_stage(f, 2);

	/* detach closes both sockets; nothing else comes on the main one. */
	if (srv_expect_eof(f, f->fd) < 0 || (twin && srv_expect_eof(f, f->twin) < 0))
		goto out;
	ret = 0;
out:
	free(m);
	free(e);
	return ret;
}

static int
body_dma(struct fake *f, int *cid)
{
	struct rte_vfio_user_mem_reg reg[2];
	uint8_t exp[DMA_SIZE], wr[DMA_WR_LEN], ro[DMA_RO_SIZE];
	size_t i;
	int ret;

	tdev_fill(g_dma_mem, DMA_SIZE, DMA_SEED);
	tdev_fill(g_dma_ro, DMA_RO_SIZE, DMA_RO_SEED);
	tdev_fill(exp, DMA_SIZE, DMA_SEED);
	tdev_fill(ro, DMA_RO_SIZE, DMA_RO_SEED);
	tdev_fill(wr, DMA_WR_LEN, DMA_WR_SEED);
	memcpy(exp + DMA_WR_OFF, wr, DMA_WR_LEN);

	memset(reg, 0, sizeof(reg));
	reg[0].iova = DMA_IOVA;
	reg[0].size = DMA_SIZE;
	reg[0].prot = PROT_READ | PROT_WRITE;
	reg[0].fd = -1;
	reg[0].vaddr = g_dma_mem;
	reg[1].iova = DMA_RO_IOVA;
	reg[1].size = DMA_RO_SIZE;
	reg[1].prot = PROT_READ;
	reg[1].fd = -1;
	reg[1].vaddr = g_dma_ro;

	ATTACH(f, cid);
	ret = rte_vfio_user_dma_map(*cid, reg, NULL, 2);
	TEST_ASSERT_SUCCESS(ret, "dma_map of two windows without fd");
	fake_go(f, 1);
	TEST_ASSERT_SUCCESS(fake_wait_stage(f, 1), "the fake server's DMA requests did not end");
	for (i = 0; i < DMA_SIZE; i++)
		if (g_dma_mem[i] != exp[i])
			break;
	TEST_ASSERT_EQUAL(i, (size_t)DMA_SIZE, "client memory differs at offset 0x%zx "
		"(0x%02x, want 0x%02x)", i, g_dma_mem[i], exp[i]);
	TEST_ASSERT(memcmp(g_dma_ro, ro, DMA_RO_SIZE) == 0, "read-only window was written");

	TEST_ASSERT_SUCCESS(check_dev_info(*cid), "GET_INFO with a DMA_READ in between");

	ret = rte_vfio_user_dma_unmap(*cid, &reg[0], 1);
	TEST_ASSERT_SUCCESS(ret, "dma_unmap");
	fake_go(f, 2);
	TEST_ASSERT_SUCCESS(fake_wait_stage(f, 2), "the fake server's checks after unmap");

	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(*cid), "detach");
	*cid = -1;
	return TEST_SUCCESS;
}

static int
dma_case(int twin)
{
	struct rte_vfio_user_limits lim = g_base;

	lim.max_data_xfer_size = DMA_XFER;
	lim.max_msg_size = 2 * DMA_XFER;
	return fake_run_case_ex(scr_dma, twin, body_dma, &lim, true);
}

static int
test_dma_twin(void)
{
	return dma_case(1);
}

static int
test_dma_main_socket(void)
{
	return dma_case(0);
}

/*
 * DMA_UNMAP reply: "the server must release all references to that DMA
 * region before replying, which potentially includes in-flight DMA
 * transactions." A DMA_READ the device started on the window is answered
 * before the DMA_UNMAP reply comes.
 */
struct unmap_thr {
	int dev_id;
	uint64_t iova;
	uint8_t buf[64];
	int ret;
};

static void *
unmap_thr_run(void *arg)
{
	struct unmap_thr *t = arg;

	t->ret = rte_vfio_user_dma_read(t->dev_id, t->iova, t->buf, sizeof(t->buf));
	return NULL;
}

static int
unmap_waits_for_dma(struct tdev *d, const char *path)
{
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .addr = 0x100000, .size = 0x1000 };
	struct unmap_thr t = { .dev_id = d->id, .iova = 0x100000, .ret = 1 };
	struct vfio_user_dma_access acc;
	uint8_t rep[sizeof(acc) + sizeof(t.buf)];
	struct rmsg m = { .nr_fds = 0 };
	uint16_t read_id;
	pthread_t thr;
	int s, ret;

	s = raw_session_caps(path, "{\"capabilities\":{\"max_msg_fds\":8}}", &m);
	TEST_ASSERT(s >= 0, "negotiation");
	if (raw_dma_map(s, 2, 0x100000, 0x1000, 0, -1, &m) != 0 ||
			pthread_create(&thr, NULL, unmap_thr_run, &t) != 0) {
		close(s);
		TEST_ASSERT(false, "DMA_MAP or thread");
	}
	if (rmsg_recv(s, &m, RX_MS) != 0 || m.hdr.cmd != VFIO_USER_DMA_READ) {
		close(s);
		pthread_join(thr, NULL);
		TEST_ASSERT(false, "no DMA_READ from the device thread");
	}
	read_id = m.hdr.msg_id;
	memcpy(&acc, m.data, sizeof(acc));
	/*
	 * The DMA_READ is in flight: the unmap must not be answered while the
	 * device still uses the window. Without a twin socket, quiescing the
	 * device for the unmap ends the read with -EAGAIN (see lock_dp in
	 * rte_vfio_user_server.h), so the reply may come at once: the read
	 * must then have been abandoned, not completed from the unmapped
	 * window later. Else the reply waits for our DMA_READ reply.
	 */
	if (raw_send(s, 50, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0) != 0) {
		close(s);
		pthread_join(thr, NULL);
		TEST_ASSERT(false, "DMA_UNMAP not sent");
	}
	ret = rmsg_recv(s, &m, SILENCE_MS);
	if (ret == 0) {
		rmsg_close_fds(&m);
		pthread_join(thr, NULL);
		close(s);
		TEST_ASSERT(m.hdr.msg_id == 50 && !(m.hdr.flags & VFIO_USER_F_ERROR),
			"DMA_UNMAP reply: id %u flags 0x%x", m.hdr.msg_id, m.hdr.flags);
		TEST_ASSERT_EQUAL(t.ret, -EAGAIN,
			"DMA_UNMAP answered with a DMA_READ of the window in flight (%d)", t.ret);
		return TEST_SUCCESS;
	}
	if (ret != -ETIMEDOUT) {
		close(s);
		pthread_join(thr, NULL);
		TEST_ASSERT(false, "no DMA_UNMAP reply: %d", ret);
	}
	memcpy(rep, &acc, sizeof(acc));
	memset(rep + sizeof(acc), 0x77, sizeof(t.buf));
	ret = raw_send(s, read_id, VFIO_USER_DMA_READ, VFIO_USER_F_TYPE_REPLY, rep, sizeof(rep),
		NULL, 0);
	pthread_join(thr, NULL);
	if (ret != 0 || t.ret != 0) {
		close(s);
		TEST_ASSERT(false, "in-flight read: %d", t.ret);
	}
	ret = rmsg_recv(s, &m, RX_MS);
	rmsg_close_fds(&m);
	if (ret != 0 || m.hdr.msg_id != 50 || (m.hdr.flags & VFIO_USER_F_ERROR)) {
		close(s);
		TEST_ASSERT(false, "no DMA_UNMAP reply after the DMA_READ reply");
	}
	/* The session is still there: the window is gone, not the client. */
	ret = rte_vfio_user_dma_read(d->id, t.iova, t.buf, 8);
	close(s);
	TEST_ASSERT_EQUAL(ret, -EFAULT, "read of the unmapped window: %d", ret);
	return TEST_SUCCESS;
}

static int
test_unmap_waits_for_dma(void)
{
	char path[PATH_LEN];
	struct tdev *d = dev_new(path, "unmap", true);
	int ret;

	TEST_ASSERT_NOT_NULL(d, "cannot create the test device");
	ret = unmap_waits_for_dma(d, path);
	dev_free(d);
	return ret;
}

static struct unit_test_suite vfio_user_dma_msg_suite = {
	.suite_name = "vfio-user DMA through messages",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_dma_nofd),
		TEST_CASE(test_dma_from_callback),
		TEST_CASE_NAMED("DMA_READ/WRITE as commands", tc_dma_rw_as_command),
		TEST_CASE(test_dma_twin),
		TEST_CASE(test_dma_main_socket),
		TEST_CASE_NAMED("DMA_UNMAP waits for in-flight DMA", test_unmap_waits_for_dma),
		TEST_CASE_NAMED("fake server: suite leaks", fake_suite_leaks),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_dma_msg_autotest, vfio_user_dma_msg_suite,
	VFU_CASES_HOSTILE | VFU_CASES_FAKE);

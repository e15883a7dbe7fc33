/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The client against a scripted server's replies: wrong ids, sizes, errors,
 * descriptors, a server that dies or answers out of order.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_fake_peer.h"
#include "vfio_user_suite.h"

/*
 * Against a scripted server
 */

/*
 * Bad replies to calls after attach
 */

/* A reply with another msg_id is not ours: the call times out, the session lives. */
static int
scr_wrong_msg_id(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	struct vfio_user_device_info rep = {
		.argsz = sizeof(rep),
		.flags = FAKE_DEV_FLAGS,
		.num_regions = FAKE_NUM_REGIONS,
		.num_irqs = FAKE_NUM_IRQS,
	};
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_version_ok(f, false) < 0 || srv_recv_info(f, m) < 0)
		goto out;
	ret = srv_send(f->fd, m->hdr.msg_id ^ 0x8000, m->hdr.cmd, VFIO_USER_F_TYPE_REPLY, 0,
		&rep, sizeof(rep), NULL, 0, NULL, 0);
	if (ret < 0) {
		srv_fail(f, __LINE__, "send: %s", strerror(-ret));
		goto out;
	}
	ret = -1;
	if (srv_recv_info(f, m) == 0 && srv_answer_info(f, m) == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int
body_wrong_msg_id(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	uint64_t t0, el;
	int ret;

	ATTACH(f, cid);
	t0 = now_ms();
	ret = rte_vfio_user_get_dev_info(*cid, &info);
	el = now_ms() - t0;
	TEST_ASSERT_EQUAL(ret, -ETIMEDOUT, "reply with a wrong msg_id: %d (%s)", ret,
		strerror(-ret));
	TEST_ASSERT_EQUAL(rte_errno, ETIMEDOUT, "rte_errno %d", rte_errno);
	TEST_ASSERT(el >= SLOW_MIN_MS && el <= SLOW_MAX_MS, "timed out after %" PRIu64 " ms", el);
	/* The stale reply was dropped; the next call gets its own. */
	return check_dev_info(*cid);
}

static int
test_reply_wrong_msg_id(void)
{
	return fake_run_case(scr_wrong_msg_id, 0, body_wrong_msg_id);
}

/* Replies of the wrong size, one per call; a correct one at the end. */
static int
scr_bad_sizes(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	uint8_t info[20];
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	memset(info, 0, sizeof(info));
	if (srv_version_ok(f, false) < 0)
		goto out;
	/* GET_INFO: 12 bytes, then 20. */
	if (srv_recv_info(f, m) < 0 || srv_reply(f, m, info, 12, NULL, 0) < 0 ||
			srv_recv_info(f, m) < 0 || srv_reply(f, m, info, 20, NULL, 0) < 0)
		goto out;
	/* REGION_READ of 16 bytes at 0x40: count 8, 15 data bytes, 17, wrong offset. */
	if (srv_recv_region_read(f, m, 1, 0x40, 16) < 0 ||
			srv_region_reply(f, m, 0x40, 1, 8, 8) < 0 ||
			srv_recv_region_read(f, m, 1, 0x40, 16) < 0 ||
			srv_region_reply(f, m, 0x40, 1, 16, 15) < 0 ||
			srv_recv_region_read(f, m, 1, 0x40, 16) < 0 ||
			srv_region_reply(f, m, 0x40, 1, 16, 17) < 0 ||
			srv_recv_region_read(f, m, 1, 0x40, 16) < 0 ||
			srv_region_reply(f, m, 0x48, 1, 16, 16) < 0)
		goto out;
	/* Correct replies: the session survived. */
	if (srv_recv_region_read(f, m, 1, 0x40, 16) < 0 ||
			srv_region_reply(f, m, 0x40, 1, 16, 16) < 0 ||
			srv_recv_info(f, m) < 0 || srv_answer_info(f, m) < 0)
		goto out;
	ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int
body_bad_sizes(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	uint8_t buf[16], exp[16];
	int i;

	ATTACH(f, cid);
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -EPROTO, "GET_INFO reply of 12 bytes");
	TEST_ASSERT_EQUAL(rte_errno, EPROTO, "rte_errno %d", rte_errno);
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -EPROTO, "GET_INFO reply of 20 bytes");
	for (i = 0; i < 4; i++)
		EXPECT_CALL(rte_vfio_user_region_read(*cid, 1, 0x40, buf, sizeof(buf)), -EPROTO,
			i == 0 ? "REGION_READ reply with count 8" :
			i == 1 ? "REGION_READ reply with 15 data bytes" :
			i == 2 ? "REGION_READ reply with 17 data bytes" :
			"REGION_READ reply with another offset");
	EXPECT_CALL(rte_vfio_user_region_read(*cid, 1, 0x40, buf, sizeof(buf)), 16,
		"correct REGION_READ reply");
	tdev_fill(exp, sizeof(exp), 0x40);
	TEST_ASSERT(memcmp(buf, exp, sizeof(exp)) == 0, "REGION_READ data");
	return check_dev_info(*cid);
}

static int
test_reply_bad_sizes(void)
{
	return fake_run_case(scr_bad_sizes, 0, body_bad_sizes);
}

/* Error replies: the errno is passed through; error 0 reads as EIO. */
static int
scr_error_replies(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	uint8_t junk[16];
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	memset(junk, 0x5a, sizeof(junk));
	if (srv_version_ok(f, false) < 0)
		goto out;
	if (srv_recv_info(f, m) < 0 || srv_error(f, m, EINVAL) < 0 ||
			srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_RESET, 0) < 0 ||
			srv_error(f, m, 0) < 0 ||
			srv_recv_cmd(f, f->fd, m, VFIO_USER_REGION_WRITE, 16 + 4) < 0 ||
			srv_error(f, m, ENOSPC) < 0)
		goto out;
	/* An error reply that also carries a payload: the error wins. */
	if (srv_recv_region_read(f, m, 1, 0, 16) < 0)
		goto out;
	ret = srv_send(f->fd, m->hdr.msg_id, m->hdr.cmd,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, EFAULT, junk, sizeof(junk), NULL, 0,
		NULL, 0);
	if (ret < 0) {
		srv_fail(f, __LINE__, "send: %s", strerror(-ret));
		goto out;
	}
	ret = -1;
	if (srv_recv_info(f, m) == 0 && srv_answer_info(f, m) == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int
body_error_replies(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	uint32_t val = 0x12345678;
	uint8_t buf[16];

	ATTACH(f, cid);
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -EINVAL, "error reply EINVAL");
	TEST_ASSERT_EQUAL(rte_errno, EINVAL, "rte_errno %d", rte_errno);
	EXPECT_CALL(rte_vfio_user_reset(*cid), -EIO, "error reply with error 0");
	TEST_ASSERT_EQUAL(rte_errno, EIO, "rte_errno %d", rte_errno);
	EXPECT_CALL(rte_vfio_user_region_write(*cid, 1, 0, &val, sizeof(val)), -ENOSPC,
		"error reply ENOSPC");
	EXPECT_CALL(rte_vfio_user_region_read(*cid, 1, 0, buf, sizeof(buf)), -EFAULT,
		"error reply EFAULT with a payload");
	return check_dev_info(*cid);
}

static int
test_reply_errors(void)
{
	return fake_run_case(scr_error_replies, 0, body_error_replies);
}

/* The server dies in the middle of a reply: header sent, payload never. */
static int
scr_mid_reply_close(struct fake *f)
{
	struct vfio_user_hdr hdr;
	struct srv_msg *m = malloc(sizeof(*m));
	struct iovec iov;
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_version_ok(f, false) < 0 || srv_recv_info(f, m) < 0)
		goto out;
	memset(&hdr, 0, sizeof(hdr));
	hdr.msg_id = m->hdr.msg_id;
	hdr.cmd = m->hdr.cmd;
	hdr.size = VFIO_USER_HDR_SIZE + sizeof(struct vfio_user_device_info);
	hdr.flags = VFIO_USER_F_TYPE_REPLY;
	iov.iov_base = &hdr;
	iov.iov_len = sizeof(hdr);
	ret = raw_sendv(f->fd, &iov, 1, NULL, 0);
	if (ret < 0)
		srv_fail(f, __LINE__, "send: %s", strerror(-ret));
	/* Returning closes the connection. */
out:
	free(m);
	return ret;
}

static int
body_mid_reply_close(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	uint64_t t0, el;
	uint8_t buf[8];
	int ret;

	ATTACH(f, cid);
	t0 = now_ms();
	ret = rte_vfio_user_get_dev_info(*cid, &info);
	el = now_ms() - t0;
	TEST_ASSERT(ret == -ECONNRESET || ret == -ENOTCONN,
		"server gone mid-reply: %d (%s), want -ECONNRESET or -ENOTCONN", ret,
		strerror(-ret));
	TEST_ASSERT(el < FAST_MS, "took %" PRIu64 " ms", el);
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -ENOTCONN, "GET_INFO afterwards");
	EXPECT_CALL(rte_vfio_user_region_read(*cid, 0, 0, buf, sizeof(buf)), -ENOTCONN,
		"REGION_READ afterwards");
	EXPECT_CALL(rte_vfio_user_reset(*cid), -ENOTCONN, "RESET afterwards");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(*cid), "detach after the server died");
	*cid = -1;
	return TEST_SUCCESS;
}

static int
test_reply_server_dies(void)
{
	return fake_run_case(scr_mid_reply_close, 0, body_mid_reply_close);
}

/* The server goes away between calls: the next call fails with -ENOTCONN. */
static int
scr_close_after_attach(struct fake *f)
{
	return srv_version_ok(f, false);
}

static int
body_close_after_attach(struct fake *f, int *cid)
{
	struct vfio_device_info info;

	ATTACH(f, cid);
	TEST_ASSERT_SUCCESS(fake_wait_done(f), "the fake server did not close");
	/* Let the control thread see the EOF (the call must fail either way). */
	usleep(50 * 1000);
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -ENOTCONN, "GET_INFO, server gone");
	EXPECT_CALL(rte_vfio_user_reset(*cid), -ENOTCONN, "RESET, server gone");
	return TEST_SUCCESS;
}

static int
test_server_gone_between_calls(void)
{
	return fake_run_case(scr_close_after_attach, 0, body_close_after_attach);
}

/* Descriptors nobody asked for are closed by the client. */
static int
scr_unexpected_fds(struct fake *f)
{
	struct vfio_user_device_info rep = {
		.argsz = sizeof(rep),
		.flags = FAKE_DEV_FLAGS,
		.num_regions = FAKE_NUM_REGIONS,
		.num_irqs = FAKE_NUM_IRQS,
	};
	struct srv_msg *m = malloc(sizeof(*m));
	int p[2], e[3], ret = -1, i;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_version_ok(f, false) < 0 || srv_recv_info(f, m) < 0)
		goto out;
	if (pipe(p) < 0) {
		srv_fail(f, __LINE__, "pipe: %s", strerror(errno));
		goto out;
	}
	ret = srv_reply_fds(f, f->fd, m, &rep, sizeof(rep), NULL, 0, p, 2);
	close(p[0]);
	close(p[1]);
	if (ret < 0)
		goto out;
	fake_set_stage(f, 1);

	ret = -1;
	if (srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_RESET, 0) < 0)
		goto out;
	e[0] = eventfd(0, EFD_CLOEXEC);
	e[1] = eventfd(0, EFD_CLOEXEC);
	e[2] = eventfd(0, EFD_CLOEXEC);
	if (e[0] >= 0 && e[1] >= 0 && e[2] >= 0)
		ret = srv_reply_fds(f, f->fd, m, NULL, 0, NULL, 0, e, 3);
	else
		srv_fail(f, __LINE__, "eventfd: %s", strerror(errno));
	for (i = 0; i < 3; i++)
		if (e[i] >= 0)
			close(e[i]);
	if (ret < 0)
		goto out;
	fake_set_stage(f, 2);

	ret = -1;
	if (srv_recv_info(f, m) == 0 && srv_answer_info(f, m) == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int
body_unexpected_fds(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	int n0, n1;

	ATTACH(f, cid);
	n0 = count_fds();
	EXPECT_CALL(rte_vfio_user_get_dev_info(*cid, &info), -EPROTO,
		"GET_INFO reply with 2 fds");
	TEST_ASSERT_SUCCESS(fake_wait_stage(f, 1), "fake server stage 1");
	n1 = count_fds();
	TEST_ASSERT_EQUAL(n1, n0, "%d descriptors before GET_INFO, %d after", n0, n1);

	EXPECT_CALL(rte_vfio_user_reset(*cid), -EPROTO, "RESET reply with 3 fds");
	TEST_ASSERT_SUCCESS(fake_wait_stage(f, 2), "fake server stage 2");
	n1 = count_fds();
	TEST_ASSERT_EQUAL(n1, n0, "%d descriptors before RESET, %d after", n0, n1);
	return check_dev_info(*cid);
}

static int
test_reply_unexpected_fds(void)
{
	return fake_run_case(scr_unexpected_fds, 0, body_unexpected_fds);
}

/*
 * Concurrency
 */

#define CONC_LEN 64

static int
scr_reverse_order(struct fake *f)
{
	struct srv_msg *m1 = malloc(sizeof(*m1)), *m2 = malloc(sizeof(*m2));
	struct vfio_user_region_access r1, r2;
	uint64_t t1;
	int ret = -1;

	if (m1 == NULL || m2 == NULL) {
		srv_fail(f, __LINE__, "no memory");
		goto out;
	}
	if (srv_version_ok(f, false) < 0 ||
			srv_recv_cmd(f, f->fd, m1, VFIO_USER_REGION_READ, sizeof(r1)) < 0)
		goto out;
	t1 = now_ms();
	if (srv_recv_cmd(f, f->fd, m2, VFIO_USER_REGION_READ, sizeof(r2)) < 0)
		goto out;
	f->first_ms_gap = (int)(now_ms() - t1);
	memcpy(&r1, m1->data, sizeof(r1));
	memcpy(&r2, m2->data, sizeof(r2));
	if (m1->hdr.msg_id == m2->hdr.msg_id || r1.count != CONC_LEN || r2.count != CONC_LEN ||
			r1.region != 0 || r2.region != 0 || r1.offset == r2.offset) {
		srv_fail(f, __LINE__, "requests: id %u/%u count %u/%u region %u/%u offset "
			"0x%" PRIx64 "/0x%" PRIx64, m1->hdr.msg_id, m2->hdr.msg_id, r1.count,
			r2.count, r1.region, r2.region, r1.offset, r2.offset);
		goto out;
	}
	/* Second request answered first; each reply's data derives from its offset. */
	if (srv_region_reply(f, m2, r2.offset, 0, CONC_LEN, CONC_LEN) < 0 ||
			srv_region_reply(f, m1, r1.offset, 0, CONC_LEN, CONC_LEN) < 0)
		goto out;
	fake_set_stage(f, 1);
	ret = srv_expect_eof(f, f->fd);
out:
	free(m1);
	free(m2);
	return ret;
}

struct reader {
	int cid;
	uint64_t offset;
	ssize_t ret;
	uint8_t buf[CONC_LEN];
};

static void *
reader_fn(void *arg)
{
	struct reader *r = arg;

	r->ret = rte_vfio_user_region_read(r->cid, 0, r->offset, r->buf, CONC_LEN);
	return NULL;
}

static int
body_reverse_order(struct fake *f, int *cid)
{
	struct reader rd[2];
	pthread_t tid[2];
	uint8_t exp[CONC_LEN];
	int i, ret;

	ATTACH(f, cid);
	memset(rd, 0, sizeof(rd));
	for (i = 0; i < 2; i++) {
		rd[i].cid = *cid;
		rd[i].offset = 0x100 * (i + 1);
		ret = pthread_create(&tid[i], NULL, reader_fn, &rd[i]);
		if (ret != 0) {
			if (i == 1)
				pthread_join(tid[0], NULL);
			TEST_ASSERT(false, "pthread_create: %s", strerror(ret));
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	for (i = 0; i < 2; i++) {
		TEST_ASSERT_EQUAL(rd[i].ret, CONC_LEN, "reader %d (offset 0x%" PRIx64 "): %zd (%s)",
			i, rd[i].offset, rd[i].ret, strerror((int)-rd[i].ret));
		tdev_fill(exp, CONC_LEN, (uint32_t)rd[i].offset);
		TEST_ASSERT(memcmp(rd[i].buf, exp, CONC_LEN) == 0,
			"reader %d got another reply's data", i);
	}
	TEST_ASSERT_SUCCESS(fake_wait_stage(f, 1), "fake server stage 1");
	TEST_ASSERT(f->first_ms_gap < FAST_MS, "second request came %d ms after the first",
		f->first_ms_gap);
	return TEST_SUCCESS;
}

static int
test_concurrent_reverse_replies(void)
{
	return fake_run_case(scr_reverse_order, 0, body_reverse_order);
}

/* detach while another thread waits for a reply that never comes. */
static int
scr_silent(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_version_ok(f, false) == 0 && srv_recv_info(f, m) == 0) {
		fake_set_stage(f, 1);
		ret = srv_expect_eof(f, f->fd);
	}
	free(m);
	return ret;
}

struct waiter {
	int cid;
	int ret;
	uint64_t ms;
};

static void *
waiter_fn(void *arg)
{
	struct waiter *w = arg;
	struct vfio_device_info info;
	uint64_t t0 = now_ms();

	w->ret = rte_vfio_user_get_dev_info(w->cid, &info);
	w->ms = now_ms() - t0;
	return NULL;
}

static int
body_detach_waiter(struct fake *f, int *cid)
{
	struct vfio_device_info info;
	struct waiter w;
	pthread_t tid;
	uint64_t t0, el;
	int ret, old;

	ATTACH(f, cid);
	w.cid = *cid;
	w.ret = 1;
	w.ms = 0;
	ret = pthread_create(&tid, NULL, waiter_fn, &w);
	TEST_ASSERT_SUCCESS(ret, "pthread_create");
	if (fake_wait_stage(f, 1) < 0) {
		pthread_join(tid, NULL);
		TEST_ASSERT(false, "the request did not reach the fake server");
	}
	old = *cid;
	t0 = now_ms();
	ret = rte_vfio_user_detach_dev(old);
	el = now_ms() - t0;
	*cid = -1;
	pthread_join(tid, NULL);
	TEST_ASSERT_SUCCESS(ret, "detach with a waiter");
	TEST_ASSERT(el < SLOW_MAX_MS, "detach took %" PRIu64 " ms", el);
	TEST_ASSERT(w.ret == -ENOTCONN || w.ret == -ETIMEDOUT,
		"waiter got %d (%s), want -ENOTCONN or -ETIMEDOUT", w.ret, strerror(-w.ret));
	TEST_ASSERT(w.ms < SLOW_MAX_MS, "waiter returned after %" PRIu64 " ms", w.ms);
	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(old, &info), -ENODEV, "call after detach");
	TEST_ASSERT_EQUAL(rte_vfio_user_detach_dev(old), -ENODEV, "second detach");
	return TEST_SUCCESS;
}

static int
test_detach_while_waiting(void)
{
	return fake_run_case(scr_silent, 0, body_detach_waiter);
}

static struct unit_test_suite vfio_user_replies_suite = {
	.suite_name = "vfio-user client reply handling",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_reply_wrong_msg_id),
		TEST_CASE(test_reply_bad_sizes),
		TEST_CASE(test_reply_errors),
		TEST_CASE(test_reply_server_dies),
		TEST_CASE(test_server_gone_between_calls),
		TEST_CASE(test_reply_unexpected_fds),
		TEST_CASE(test_concurrent_reverse_replies),
		TEST_CASE(test_detach_while_waiting),
		TEST_CASE_NAMED("fake server: suite leaks", fake_suite_leaks),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_replies_autotest, vfio_user_replies_suite, VFU_CASES_FAKE);

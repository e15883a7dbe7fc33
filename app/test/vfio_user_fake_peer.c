/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Scripted fake server for the client tests: see vfio_user_fake_peer.h. The
 * script runs on its own thread and speaks through the raw peer's message
 * layer; the test drives the library's client against it.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_fake_peer.h"

static char fake_dir[64];
static unsigned int fake_seq;
static struct rte_vfio_user_limits g_saved;  /* limits before the suite */
struct rte_vfio_user_limits g_base;          /* g_saved with the short timeout */
static struct leak_snap g_suite_snap;

/*
 * Fake server: plumbing
 */

void
srv_fail(struct fake *f, int line, const char *fmt, ...)
{
	va_list ap;

	if (f->line != 0)
		return;
	f->line = line;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

void
fake_set_stage(struct fake *f, int stage)
{
	__atomic_store_n(&f->stage, stage, __ATOMIC_RELEASE);
}

void
fake_go(struct fake *f, int go)
{
	__atomic_store_n(&f->go, go, __ATOMIC_RELEASE);
}

/* Test side: wait for the script to reach stage; -1 if it ends or stalls first. */
int
fake_wait_stage(struct fake *f, int stage)
{
	uint64_t end = now_ms() + SRV_WAIT_MS;

	while (__atomic_load_n(&f->stage, __ATOMIC_ACQUIRE) < stage) {
		if (__atomic_load_n(&f->done, __ATOMIC_ACQUIRE) || now_ms() > end)
			return -1;
		usleep(1000);
	}
	return 0;
}

/* Test side: wait for the script thread to end. */
int
fake_wait_done(struct fake *f)
{
	uint64_t end = now_ms() + SRV_WAIT_MS;

	while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			return -1;
		usleep(1000);
	}
	return 0;
}

/* Script side: wait for the test's go. */
int
srv_wait_go(struct fake *f, int go)
{
	uint64_t end = now_ms() + SRV_WAIT_MS;

	while (__atomic_load_n(&f->go, __ATOMIC_ACQUIRE) < go) {
		SRV_CHECK(f, now_ms() <= end, "no go %d from the test", go);
		usleep(1000);
	}
	return 0;
}

/* Read one whole message; its descriptors are counted and closed. */
int
srv_recv(int fd, struct srv_msg *m, int timeout_ms)
{
	struct raw_msg r = { .data = m->data, .cap = sizeof(m->data) };
	int ret;

	ret = raw_recv(fd, &r, timeout_ms);
	m->hdr = r.hdr;
	m->len = r.len;
	m->nfds = r.nr_fds;
	raw_msg_close_fds(&r);
	return ret;
}

/* Send header + p1 + p2; size is computed. */
int
srv_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error,
		const void *p1, size_t l1, const void *p2, size_t l2, const int *fds, int nfds)
{
	return raw_send_parts(fd, id, cmd, flags, error, p1, l1, p2, l2, fds, nfds);
}

/* Reply to req on fd. */
int
srv_reply_fds(struct fake *f, int fd, const struct srv_msg *req, const void *p1, size_t l1,
		const void *p2, size_t l2, const int *fds, int nfds)
{
	int ret;

	ret = srv_send(fd, req->hdr.msg_id, req->hdr.cmd, VFIO_USER_F_TYPE_REPLY, 0,
		p1, l1, p2, l2, fds, nfds);
	SRV_CHECK(f, ret == 0, "reply to command %u: %s", req->hdr.cmd, strerror(-ret));
	return 0;
}

int
srv_reply(struct fake *f, const struct srv_msg *req, const void *p1, size_t l1,
		const void *p2, size_t l2)
{
	return srv_reply_fds(f, f->fd, req, p1, l1, p2, l2, NULL, 0);
}

int
srv_error(struct fake *f, const struct srv_msg *req, uint32_t err)
{
	int ret;

	ret = srv_send(f->fd, req->hdr.msg_id, req->hdr.cmd,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, err, NULL, 0, NULL, 0, NULL, 0);
	SRV_CHECK(f, ret == 0, "error reply: %s", strerror(-ret));
	return 0;
}

/* Receive a command cmd with len payload bytes (len < 0: any) and no descriptor. */
int
srv_recv_cmd(struct fake *f, int fd, struct srv_msg *m, uint16_t cmd, int len)
{
	int ret;

	ret = srv_recv(fd, m, SRV_WAIT_MS);
	SRV_CHECK(f, ret == 0, "waiting for command %u: %s", cmd, strerror(-ret));
	SRV_CHECK(f, (m->hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_COMMAND &&
		!(m->hdr.flags & (VFIO_USER_F_NO_REPLY | VFIO_USER_F_ERROR)),
		"flags 0x%x of command %u", m->hdr.flags, m->hdr.cmd);
	SRV_CHECK(f, m->hdr.cmd == cmd, "got command %u, want %u", m->hdr.cmd, cmd);
	SRV_CHECK(f, len < 0 || m->len == (uint32_t)len, "command %u: %u bytes, want %d",
		cmd, m->len, len);
	SRV_CHECK(f, m->nfds == 0, "command %u came with %d fds", cmd, m->nfds);
	return 0;
}

/* The client must close the connection (and send nothing more) within SRV_WAIT_MS. */
int
srv_expect_eof(struct fake *f, int fd)
{
	struct srv_msg *m = malloc(sizeof(*m));
	int ret;

	SRV_CHECK(f, m != NULL, "no memory");
	ret = srv_recv(fd, m, SRV_WAIT_MS);
	if (ret == 0)
		srv_fail(f, __LINE__, "unexpected message (cmd %u, flags 0x%x, %u bytes) "
			"instead of EOF", m->hdr.cmd, m->hdr.flags, m->len);
	else if (ret != -ECONNRESET)
		srv_fail(f, __LINE__, "waiting for EOF: %s", strerror(-ret));
	free(m);
	return ret == -ECONNRESET ? 0 : -1;
}

/* Find "key":<number> in the proposal. */
int
json_u64(const char *json, const char *key, uint64_t *val)
{
	char pat[64];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	*val = strtoull(p, &end, 0);
	return end == p ? -1 : 0;
}

/* Receive and check the client's VERSION command. */
int
srv_get_version(struct fake *f, struct srv_msg *m)
{
	struct vfio_user_version ver;
	const char *json;
	uint64_t v;

	SRV_DO(srv_recv_cmd(f, f->fd, m, VFIO_USER_VERSION, -1));
	SRV_CHECK(f, m->len > sizeof(ver), "VERSION of %u bytes", m->len);
	memcpy(&ver, m->data, sizeof(ver));
	SRV_CHECK(f, ver.major == 0 && ver.minor == 0, "client proposes %u.%u",
		ver.major, ver.minor);
	SRV_CHECK(f, m->data[m->len - 1] == '\0', "proposal not NUL-terminated");
	json = (const char *)m->data + sizeof(ver);
	snprintf(f->proposal, sizeof(f->proposal), "%s", json);
	SRV_CHECK(f, strstr(json, "\"twin_socket\":{\"supported\":true") != NULL,
		"no twin socket in %s", json);
	SRV_CHECK(f, strstr(json, "\"write_multiple\":true") != NULL,
		"no write_multiple in %s", json);
	SRV_CHECK(f, json_u64(json, "max_msg_fds", &v) == 0 && v >= 1,
		"max_msg_fds in %s", json);
	SRV_CHECK(f, json_u64(json, "max_data_xfer_size", &v) == 0 && v >= 1,
		"max_data_xfer_size in %s", json);
	SRV_CHECK(f, json_u64(json, "max_dma_maps", &v) == 0 && v >= 1,
		"max_dma_maps in %s", json);
	SRV_CHECK(f, json_u64(json, "pgsizes", &v) == 0 && (v & 4096) != 0,
		"pgsizes in %s", json);
	return 0;
}

/* Reply to VERSION with major.minor and json_len bytes of version data. */
int
srv_send_version(struct fake *f, const struct srv_msg *req, uint16_t major, uint16_t minor,
		const char *json, size_t json_len, const int *fds, int nfds)
{
	struct vfio_user_version ver = { .major = major, .minor = minor };

	return srv_reply_fds(f, f->fd, req, &ver, sizeof(ver), json, json_len, fds, nfds);
}

/* A correct negotiation, with or without a twin socket. */
int
srv_version_ok(struct fake *f, bool twin)
{
	struct srv_msg *m = malloc(sizeof(*m));
	int sv[2], ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_get_version(f, m) < 0)
		goto out;
	if (!twin) {
		ret = srv_send_version(f, m, 0, 0, CAPS_PLAIN, sizeof(CAPS_PLAIN), NULL, 0);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		srv_fail(f, __LINE__, "socketpair: %s", strerror(errno));
		goto out;
	}
	ret = srv_send_version(f, m, 0, 0, CAPS_TWIN, sizeof(CAPS_TWIN), &sv[1], 1);
	close(sv[1]);
	f->twin = sv[0];
out:
	free(m);
	return ret;
}

/* Answer a GET_INFO command correctly. */
int
srv_answer_info(struct fake *f, const struct srv_msg *m)
{
	struct vfio_user_device_info req, rep = {
		.argsz = sizeof(rep),
		.flags = FAKE_DEV_FLAGS,
		.num_regions = FAKE_NUM_REGIONS,
		.num_irqs = FAKE_NUM_IRQS,
	};

	memcpy(&req, m->data, sizeof(req));
	SRV_CHECK(f, req.argsz >= sizeof(rep), "GET_INFO argsz %u", req.argsz);
	return srv_reply(f, m, &rep, sizeof(rep), NULL, 0);
}

int
srv_recv_info(struct fake *f, struct srv_msg *m)
{
	return srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_GET_INFO,
		sizeof(struct vfio_user_device_info));
}

/* Receive a REGION_READ and check its request. */
int
srv_recv_region_read(struct fake *f, struct srv_msg *m, uint32_t region, uint64_t offset,
		uint32_t count)
{
	struct vfio_user_region_access req;

	SRV_DO(srv_recv_cmd(f, f->fd, m, VFIO_USER_REGION_READ, sizeof(req)));
	memcpy(&req, m->data, sizeof(req));
	SRV_CHECK(f, req.region == region && req.offset == offset && req.count == count,
		"REGION_READ region %u offset 0x%" PRIx64 " count %u", req.region, req.offset,
		req.count);
	return 0;
}

/* Reply to a REGION_READ with header {offset, region, count} and len bytes of data. */
int
srv_region_reply(struct fake *f, const struct srv_msg *m, uint64_t offset, uint32_t region,
		uint32_t count, uint32_t len)
{
	struct vfio_user_region_access rep = { .offset = offset, .region = region,
		.count = count };
	uint8_t data[256];

	SRV_CHECK(f, len <= sizeof(data), "reply too long");
	tdev_fill(data, len, (uint32_t)offset);
	return srv_reply(f, m, &rep, sizeof(rep), data, len);
}

static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd = { .fd = f->lfd, .events = POLLIN };

	if (poll(&pfd, 1, SRV_WAIT_MS) <= 0) {
		srv_fail(f, __LINE__, "no client connected");
		goto out;
	}
	f->fd = accept(f->lfd, NULL, NULL);
	if (f->fd < 0) {
		srv_fail(f, __LINE__, "accept: %s", strerror(errno));
		goto out;
	}
	if (f->script(f) < 0 && f->line == 0)
		srv_fail(f, __LINE__, "script failed without a reason");
out:
	if (f->fd >= 0)
		close(f->fd);
	if (f->twin >= 0)
		close(f->twin);
	f->fd = -1;
	f->twin = -1;
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

struct fake *
fake_start(fake_script_t *script, int opt)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct fake *f;
	int ret;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->fd = -1;
	f->twin = -1;
	f->opt = opt;
	f->script = script;
	f->next_id = 0x7000;
	snprintf(f->path, sizeof(f->path), "%s/fake%u.sock", fake_dir, ++fake_seq);
	strcpy(un.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		goto fail;
	if (bind(f->lfd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(f->lfd, 4) < 0)
		goto fail_close;
	ret = pthread_create(&f->tid, NULL, fake_thread, f);
	if (ret != 0)
		goto fail_unlink;
	return f;

fail_unlink:
	unlink(f->path);
fail_close:
	close(f->lfd);
fail:
	printf("cannot start the fake server on %s: %s\n", f->path, strerror(errno));
	free(f);
	return NULL;
}

/* Join the script; TEST_SUCCESS unless one of its checks failed. */
int
fake_finish(struct fake *f)
{
	int ret = TEST_SUCCESS;

	pthread_join(f->tid, NULL);
	close(f->lfd);
	unlink(f->path);
	if (f->line != 0) {
		printf("fake server script, line %d: %s\n", f->line, f->why);
		ret = TEST_FAILED;
	}
	free(f);
	return ret;
}

/*
 * Run one case: the fake server follows script while body drives the client.
 * body stores the client device id in *cid; it is detached here unless body
 * did it (and set *cid to -1).
 */
int
fake_run_case_ex(fake_script_t *script, int opt, case_body_t *body,
		const struct rte_vfio_user_limits *lim, bool check_leaks)
{
	struct leak_snap before, now;
	struct fake *f;
	int cid = -1, ret, fret;

	leak_snap(&before);
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(lim != NULL ? lim : &g_base),
		"limits_set");
	f = fake_start(script, opt);
	TEST_ASSERT_NOT_NULL(f, "fake server not started");
	ret = body(f, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	fret = fake_finish(f);
	/* Back to the limits of the suite: other kinds of cases may follow. */
	rte_vfio_user_limits_set(&g_saved);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(fret, "the fake server saw the client misbehave");
	if (check_leaks && leak_wait(&before, 1000, &now) != 0) {
		leak_dump_fds();
		TEST_ASSERT(false, "leak: fds %d -> %d, mappings %d -> %d", before.fds, now.fds,
			before.maps, now.maps);
	}
	return TEST_SUCCESS;
}

int
fake_run_case(fake_script_t *script, int opt, case_body_t *body)
{
	return fake_run_case_ex(script, opt, body, NULL, true);
}

/* get_dev_info that must succeed with the fake device's values. */
int
check_dev_info(int cid)
{
	struct vfio_device_info info;
	int ret;

	memset(&info, 0xa5, sizeof(info));
	ret = rte_vfio_user_get_dev_info(cid, &info);
	TEST_ASSERT_SUCCESS(ret, "get_dev_info");
	TEST_ASSERT_EQUAL(info.argsz, sizeof(info), "argsz %u", info.argsz);
	TEST_ASSERT_EQUAL(info.flags, FAKE_DEV_FLAGS, "flags 0x%x", info.flags);
	TEST_ASSERT_EQUAL(info.num_regions, FAKE_NUM_REGIONS, "num_regions %u",
		info.num_regions);
	TEST_ASSERT_EQUAL(info.num_irqs, FAKE_NUM_IRQS, "num_irqs %u", info.num_irqs);
	return TEST_SUCCESS;
}

/*
 * Replies that are fine: a bare 0.0 (no JSON: spec defaults) with opt 0; unknown
 * keys and a max_data_xfer_size of 64 with opt 1, which splits a region read.
 */
int
scr_version_good(struct fake *f)
{
	struct srv_msg *m = malloc(sizeof(*m));
	int ret = -1;

	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_get_version(f, m) < 0)
		goto out;
	if (f->opt == 0) {
		if (srv_send_version(f, m, 0, 0, NULL, 0, NULL, 0) < 0)
			goto out;
	} else {
		const uint32_t rest = SPLIT_LEN - SPLIT_XFER;

		if (srv_send_version(f, m, 0, 0, CAPS_UNKNOWN, sizeof(CAPS_UNKNOWN), NULL,
				0) < 0 ||
				srv_recv_region_read(f, m, 1, 0, SPLIT_XFER) < 0 ||
				srv_region_reply(f, m, 0, 1, SPLIT_XFER, SPLIT_XFER) < 0 ||
				srv_recv_region_read(f, m, 1, SPLIT_XFER, rest) < 0 ||
				srv_region_reply(f, m, SPLIT_XFER, 1, rest, rest) < 0)
			goto out;
	}
	if (srv_recv_info(f, m) == 0 && srv_answer_info(f, m) == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

int
body_version_bare(struct fake *f, int *cid)
{
	ATTACH(f, cid);
	return check_dev_info(*cid);
}

/* Whole suite: no descriptor or mapping left behind. */
int
fake_suite_leaks(void)
{
	struct leak_snap now;

	if (leak_wait(&g_suite_snap, 1000, &now) != 0) {
		leak_dump_fds();
		TEST_ASSERT(false, "suite leaked: fds %d -> %d, mappings %d -> %d",
			g_suite_snap.fds, now.fds, g_suite_snap.maps, now.maps);
	}
	return TEST_SUCCESS;
}

int
fake_suite_setup(void)
{
	int ret;

	snprintf(fake_dir, sizeof(fake_dir), "/tmp/vfu-fake-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(fake_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_saved), "limits_get");
	g_base = g_saved;
	g_base.reply_timeout_ms = REPLY_TIMEOUT_MS;
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_base), "limits_set");
	/* One good session first: it starts the control thread, whose fds stay. */
	ret = fake_run_case_ex(scr_version_good, 0, body_version_bare, NULL, false);
	TEST_ASSERT_SUCCESS(ret, "warm-up session against the fake server");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_saved), "limits_set");
	leak_snap(&g_suite_snap);
	return TEST_SUCCESS;
}

void
fake_suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_saved);
	rmdir(fake_dir);
	fake_dir[0] = '\0';
}

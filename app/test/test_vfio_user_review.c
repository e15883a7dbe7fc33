/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Findings of an independent review of the library (client side): each case
 * failed before its fix. Most drive the client against a small fake server,
 * a thread that answers commands with default replies unless the case's hook
 * takes them; one drives the real server with a raw client.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_atomic.h>
#include <rte_common.h>
#include <rte_vfio_user.h>

#include "vfio_user_proto.h"
#ifdef VFIO_USER_TEST_INTERNAL
#include "vfio_user_ctrl.h"
#endif

#include "pci_bar_size.h"
#include "test.h"
#include "test_vfio_user_common.h"
#include "vfio_user_peer.h"

/* Bound of every wait of the tests and of the fake server. */
#define WAIT_MS 3000
/* Short reply timeout of the cases that make calls time out. */
#define SHORT_TIMEOUT_MS 500

#define PEER_MAX_PAYLOAD 8192
#define PEER_MAX_FDS 8

/* What the fake device reports to GET_INFO. */
#define FAKE_REGIONS 9
#define FAKE_IRQS 5
#define FAKE_CAPS "\"max_msg_fds\":8,\"max_data_xfer_size\":65536,\"pgsizes\":4096," \
	"\"max_dma_maps\":64"

static char g_dir[64];
static unsigned int g_seq;
static struct rte_vfio_user_limits g_lim0;

/*
 * Raw vfio-user messages
 */

struct pmsg {
	struct vfio_user_hdr hdr;
	uint32_t len;
	int nr_fds;
	int fds[PEER_MAX_FDS];
	uint8_t data[PEER_MAX_PAYLOAD];
};

static void
pmsg_close_fds(struct pmsg *m)
{
	while (m->nr_fds > 0)
		close(m->fds[--m->nr_fds]);
}

static uint32_t
pmsg_type(const struct pmsg *m)
{
	return m->hdr.flags & VFIO_USER_F_TYPE_MASK;
}

/* Sends and receives of the fake peers give up after WAIT_MS. */
static void
peer_timeouts(int s)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Fill len bytes at buf from s, keeping the descriptors that come along in m. */
static int
peer_fill(int s, uint8_t *buf, size_t len, struct pmsg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int) * PEER_MAX_FDS)];
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	int fd, i, nfd;
	ssize_t n;

	while (len > 0) {
		iov = (struct iovec){ .iov_base = buf, .iov_len = len };
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (i = 0; i < nfd; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (m->nr_fds < PEER_MAX_FDS)
					m->fds[m->nr_fds++] = fd;
				else
					close(fd);
			}
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* One whole message: 0, -ECONNRESET, -ETIMEDOUT, -EMSGSIZE. */
static int
peer_recv(int s, struct pmsg *m)
{
	int ret;

	m->nr_fds = 0;
	m->len = 0;
	ret = peer_fill(s, (uint8_t *)&m->hdr, sizeof(m->hdr), m);
	if (ret < 0)
		return ret;
	if (m->hdr.size < VFIO_USER_HDR_SIZE ||
			m->hdr.size - VFIO_USER_HDR_SIZE > PEER_MAX_PAYLOAD)
		return -EMSGSIZE;
	m->len = m->hdr.size - VFIO_USER_HDR_SIZE;
	return peer_fill(s, m->data, m->len, m);
}

static int
peer_send(int s, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error, const void *pl,
		uint32_t len, const int *fds, int nr_fds)
{
	struct vfio_user_hdr hdr = { .msg_id = id, .cmd = cmd, .flags = flags, .error = error,
		.size = (uint32_t)VFIO_USER_HDR_SIZE + len };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)(uintptr_t)pl, .iov_len = len },
	};

	return raw_sendv(s, iov, len != 0 ? 2 : 1, fds, nr_fds);
}

static int
peer_reply(int s, const struct pmsg *req, const void *pl, uint32_t len, const int *fds,
		int nr_fds)
{
	return peer_send(s, req->hdr.msg_id, req->hdr.cmd, VFIO_USER_F_TYPE_REPLY, 0, pl, len,
		fds, nr_fds);
}

static int
peer_error(int s, const struct pmsg *req, uint32_t err)
{
	return peer_send(s, req->hdr.msg_id, req->hdr.cmd,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, err, NULL, 0, NULL, 0);
}

/* Wait up to WAIT_MS for *flag to become non-zero. */
static bool
wait_flag(const int *flag)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0) {
		if (now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/*
 * Fake server: one client, default answers, a per-case hook
 */

struct fsrv;

/* A message from the client: 1 when handled, 0 for the default answer, < 0 to hang up. */
typedef int (fsrv_hook_t)(struct fsrv *f, int s, struct pmsg *m);

struct fsrv {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int fd;               /* the client's connection */
	int twin;             /* server end of the twin socket, or -1 */
	bool grant_twin;
	const char *caps;     /* version data instead of the default (no twin then) */
	fsrv_hook_t *hook;
	pthread_t tid;
	int stop;             /* set by the test: hang up */
	int done;             /* the server thread ended */

	/* Written by the server thread, read by the test once a flag says so. */
	int got_reply;        /* a reply to a command sent by the test came */
	struct pmsg reply;
	uint32_t nr_unmaps;
	struct vfio_user_dma_unmap unmaps[8];
	uint64_t count;       /* per-case counter */
	uint16_t id;          /* per-case msg_id */
	int memfd[2];         /* per-case descriptors, closed at the end */
	char fail[160];       /* first broken expectation */
};

static void
fsrv_version(struct fsrv *f, int s, const struct pmsg *m)
{
	static const char plain[] = "{\"capabilities\":{" FAKE_CAPS "}}";
	static const char twin[] = "{\"capabilities\":{" FAKE_CAPS
		",\"twin_socket\":{\"supported\":true,\"fd_index\":0}}}";
	const char *json = f->caps != NULL ? f->caps : plain;
	struct vfio_user_version v = { 0, 0 };
	uint8_t buf[sizeof(v) + 256];
	int sv[2];

	memcpy(buf, &v, sizeof(v));
	if (!f->grant_twin) {
		snprintf((char *)buf + sizeof(v), sizeof(buf) - sizeof(v), "%s", json);
		peer_reply(s, m, buf, sizeof(v) + strlen(json) + 1, NULL, 0);
		return;
	}
	memcpy(buf + sizeof(v), twin, sizeof(twin));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(f->fail, sizeof(f->fail), "socketpair: %s", strerror(errno));
		return;
	}
	peer_timeouts(sv[0]);
	f->twin = sv[0];
	peer_reply(s, m, buf, sizeof(v) + sizeof(twin), &sv[1], 1);
	close(sv[1]);
}

static void
fsrv_default(struct fsrv *f, int s, struct pmsg *m)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info),
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = FAKE_REGIONS, .num_irqs = FAKE_IRQS };
	struct vfio_user_dma_unmap un;

	if (pmsg_type(m) == VFIO_USER_F_TYPE_REPLY) {
		if (!__atomic_load_n(&f->got_reply, __ATOMIC_ACQUIRE)) {
			f->reply = *m;
			__atomic_store_n(&f->got_reply, 1, __ATOMIC_RELEASE);
		}
		return;
	}
	switch (m->hdr.cmd) {
	case VFIO_USER_VERSION:
		fsrv_version(f, s, m);
		break;
	case VFIO_USER_DEVICE_GET_INFO:
		peer_reply(s, m, &info, sizeof(info), NULL, 0);
		break;
	case VFIO_USER_DMA_MAP:
	case VFIO_USER_DEVICE_RESET:
		peer_reply(s, m, NULL, 0, NULL, 0);
		break;
	case VFIO_USER_DMA_UNMAP:
		/* As the specification has it: no flags, one exact window. */
		memcpy(&un, m->data, RTE_MIN(sizeof(un), (size_t)m->len));
		if (m->len != sizeof(un) || un.flags != 0) {
			peer_error(s, m, EINVAL);
			break;
		}
		if (f->nr_unmaps < RTE_DIM(f->unmaps))
			f->unmaps[f->nr_unmaps++] = un;
		peer_reply(s, m, &un, sizeof(un), NULL, 0);
		break;
	default:
		peer_error(s, m, ENOSYS);
		break;
	}
}

static void *
fsrv_main(void *arg)
{
	struct fsrv *f = arg;
	struct pollfd pfd[2] = { { .fd = f->lfd, .events = POLLIN } };
	struct pmsg *m = malloc(sizeof(*m));
	int i, n, ret;

	if (m == NULL || poll(pfd, 1, WAIT_MS) <= 0)
		goto out;
	f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (f->fd < 0)
		goto out;
	peer_timeouts(f->fd);
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		pfd[0] = (struct pollfd){ .fd = f->fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = f->twin, .events = POLLIN };
		n = poll(pfd, f->twin >= 0 ? 2 : 1, 10);
		for (i = 0; n > 0 && i < 2; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (peer_recv(pfd[i].fd, m) < 0)
				goto out;
			ret = f->hook != NULL ? f->hook(f, pfd[i].fd, m) : 0;
			if (ret == 0)
				fsrv_default(f, pfd[i].fd, m);
			pmsg_close_fds(m);
			if (ret < 0)
				goto out;
		}
	}
out:
	if (m != NULL)
		pmsg_close_fds(m);
	free(m);
	if (f->fd >= 0)
		close(f->fd);
	if (f->twin >= 0)
		close(f->twin);
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct fsrv *
fsrv_start(fsrv_hook_t *hook, bool twin)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct fsrv *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->fd = f->twin = f->lfd = -1;
	f->memfd[0] = f->memfd[1] = -1;
	f->hook = hook;
	f->grant_twin = twin;
	snprintf(f->path, sizeof(f->path), "%s/s%u", g_dir, ++g_seq);
	strcpy(un.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd >= 0 && bind(f->lfd, (struct sockaddr *)&un, sizeof(un)) == 0 &&
			listen(f->lfd, 1) == 0 &&
			pthread_create(&f->tid, NULL, fsrv_main, f) == 0)
		return f;
	printf("cannot start a fake server on %s: %s\n", f->path, strerror(errno));
	if (f->lfd >= 0)
		close(f->lfd);
	unlink(f->path);
	free(f);
	return NULL;
}

/* Hang up, join, free: TEST_SUCCESS unless the server saw the client break a rule. */
static int
fsrv_stop(struct fsrv *f)
{
	int ret = TEST_SUCCESS;

	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->tid, NULL);
	close(f->lfd);
	unlink(f->path);
	if (f->memfd[0] >= 0)
		close(f->memfd[0]);
	if (f->memfd[1] >= 0)
		close(f->memfd[1]);
	if (f->fail[0] != '\0') {
		printf("fake server: %s\n", f->fail);
		ret = TEST_FAILED;
	}
	free(f);
	return ret;
}

/* One case against a fake server: the leak baseline, the server, the device. */
struct fcase {
	struct leak_snap before;
	struct fsrv *f;
	int cid;
};

/* Snapshot the descriptors, start a fake server (caps: its version data) and attach. */
static int
fcase_open(struct fcase *c, fsrv_hook_t *hook, bool twin, const char *caps)
{
	leak_snap(&c->before);
	c->f = fsrv_start(hook, twin);
	TEST_ASSERT_NOT_NULL(c->f, "fake server");
	c->f->caps = caps;
	c->cid = rte_vfio_user_attach_dev(c->f->path);
	TEST_ASSERT(c->cid >= 0, "attach: %d", c->cid);
	return TEST_SUCCESS;
}

/* Detach, stop the server, restore the limits, then check for leaks. */
static int
fcase_close(struct fcase *c)
{
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(c->cid), "detach");
	TEST_ASSERT_SUCCESS(fsrv_stop(c->f), "fake server");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_lim0), "limits");
	return leak_check(&c->before, WAIT_MS);
}

static int
set_timeouts(uint32_t reply_ms, uint32_t reset_ms)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = reply_ms,
		.reset_timeout_ms = reset_ms };

	return rte_vfio_user_limits_set(&lim);
}

static void
on_disconnect(int dev_id, void *arg)
{
	RTE_SET_USED(dev_id);
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

/*
 * Item 1: detach while the control thread handles the server's hang-up
 */

#ifdef VFIO_USER_TEST_INTERNAL
struct self_del {
	int entered;
	int left;
};

/* Removes its own fd, then keeps running for a while. */
static void
self_del_cb(int fd, uint32_t events, void *arg)
{
	struct self_del *sd = arg;

	RTE_SET_USED(events);
	vfio_user_ctrl_del(fd);
	__atomic_store_n(&sd->entered, 1, __ATOMIC_RELEASE);
	usleep(50 * 1000);
	__atomic_store_n(&sd->left, 1, __ATOMIC_RELEASE);
}

/*
 * A callback that removed its own fd still runs: a remover on another thread
 * must wait for it, else it frees what the callback is using.
 */
static int
test_ctrl_del_waits(void)
{
	/* Static: a callback outliving a failed check must not write to a dead frame. */
	static struct self_del sd;
	int efd, ret;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT(efd >= 0, "eventfd");
	TEST_ASSERT_SUCCESS(vfio_user_ctrl_add(efd, EPOLLIN, self_del_cb, &sd), "ctrl_add");
	TEST_ASSERT_SUCCESS(eventfd_write(efd, 1), "eventfd_write");
	TEST_ASSERT(wait_flag(&sd.entered), "callback not run");
	ret = vfio_user_ctrl_del(efd);
	TEST_ASSERT_EQUAL(ret, -ENOENT, "ctrl_del of a removed fd: %d", ret);
	TEST_ASSERT(__atomic_load_n(&sd.left, __ATOMIC_ACQUIRE),
		"ctrl_del returned while the callback was still running");
	close(efd);
	return TEST_SUCCESS;
}
#endif

#define RACE_ROUNDS 100

/* Detach at the moment the server hangs up; ASan sees a use after free. */
static int
test_detach_vs_hangup(void)
{
	struct leak_snap before;
	struct fsrv *f;
	int i, cid, spin;

	leak_snap(&before);
	for (i = 0; i < RACE_ROUNDS; i++) {
		f = fsrv_start(NULL, i % 2 == 1);
		TEST_ASSERT_NOT_NULL(f, "fake server");
		cid = rte_vfio_user_attach_dev(f->path);
		TEST_ASSERT(cid >= 0, "attach: %d", cid);
		shutdown(f->fd, SHUT_RDWR);
		if (f->twin >= 0)
			shutdown(f->twin, SHUT_RDWR);
		/* Vary where detach meets the control thread. */
		for (spin = 0; spin < (i % 8) * 500; spin++)
			rte_compiler_barrier();
		TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
		TEST_ASSERT_SUCCESS(fsrv_stop(f), "fake server");
	}
	return leak_check(&before, WAIT_MS);
}

/*
 * Item 2: a hang-up during attach (twin socket) is not lost
 */

/* Negotiate, then hang up both sockets at once. */
static int
hook_hangup_after_version(struct fsrv *f, int s, struct pmsg *m)
{
	if (m->hdr.cmd != VFIO_USER_VERSION)
		return 0;
	fsrv_version(f, s, m);
	return -1;
}

static int
test_hangup_during_attach(void)
{
	struct leak_snap before;
	struct fsrv *f;
	int i, cid, ret, gone;

	leak_snap(&before);
	for (i = 0; i < RACE_ROUNDS; i++) {
		gone = 0;
		f = fsrv_start(hook_hangup_after_version, true);
		TEST_ASSERT_NOT_NULL(f, "fake server");
		cid = rte_vfio_user_attach_dev(f->path);
		if (cid >= 0) {
			/* Attached: then the application must learn the server is gone. */
			ret = rte_vfio_user_set_disconnect_cb(cid, on_disconnect, &gone);
			TEST_ASSERT(ret == -ENOTCONN || (ret == 0 && wait_flag(&gone)),
				"round %d: hang-up neither reported nor notified (%d)", i, ret);
			TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
		} else {
			TEST_ASSERT_EQUAL(cid, -ENOTCONN, "attach: %d", cid);
		}
		TEST_ASSERT_SUCCESS(fsrv_stop(f), "fake server");
	}
	return leak_check(&before, WAIT_MS);
}

/*
 * Item 9: a region descriptor shorter than the region
 */

#define REG_SIZE 0x4000

/* Region 0 comes with a 4 KiB memfd for 16 KiB, region 1 with a whole one. */
static int
hook_region_info(struct fsrv *f, int s, struct pmsg *m)
{
	struct vfio_region_info req, rep;
	int i;

	if (m->hdr.cmd != VFIO_USER_DEVICE_GET_REGION_INFO)
		return 0;
	memcpy(&req, m->data, sizeof(req));
	i = req.index == 0 ? 0 : 1;
	if (f->memfd[i] < 0) {
		f->memfd[i] = memfd_create("review-region", MFD_CLOEXEC);
		if (f->memfd[i] < 0 || ftruncate(f->memfd[i], i == 0 ? 0x1000 : REG_SIZE) < 0)
			snprintf(f->fail, sizeof(f->fail), "memfd: %s", strerror(errno));
	}
	rep = (struct vfio_region_info){ .argsz = sizeof(rep), .index = req.index,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			VFIO_REGION_INFO_FLAG_MMAP, .size = REG_SIZE };
	peer_reply(s, m, &rep, sizeof(rep), &f->memfd[i], 1);
	return 1;
}

static int
test_region_fd_too_short(void)
{
	struct rte_vfio_user_region_map maps[2];
	struct fcase c;
	uint32_t nr = RTE_DIM(maps);
	int ret;

	ret = fcase_open(&c, hook_region_info, false, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	ret = rte_vfio_user_region_mmap(c.cid, 0, maps, &nr);
	TEST_ASSERT_EQUAL(ret, -EPROTO, "mmap of a region its fd does not cover: %d", ret);
	/* The check refuses only what does not fit. */
	nr = RTE_DIM(maps);
	ret = rte_vfio_user_region_mmap(c.cid, 1, maps, &nr);
	TEST_ASSERT(ret == 0 && nr == 1 && maps[0].size == REG_SIZE,
		"mmap of a covered region: %d, %u maps", ret, nr);
	memset(maps[0].addr, 0xa5, REG_SIZE);
	return fcase_close(&c);
}

/*
 * Item 10: a DMA_MAP without a reply disconnects
 */

static int
hook_drop_dma_map(struct fsrv *f, int s, struct pmsg *m)
{
	RTE_SET_USED(f);
	RTE_SET_USED(s);
	return m->hdr.cmd == VFIO_USER_DMA_MAP ? 1 : 0;
}

static uint8_t g_dma_buf[3 * 4096] __rte_aligned(4096);

static struct rte_vfio_user_mem_reg
dma_win(unsigned int i)
{
	return (struct rte_vfio_user_mem_reg){ .iova = 0x100000 + i * 0x10000, .size = 4096,
		.prot = PROT_READ | PROT_WRITE, .vaddr = g_dma_buf + i * 4096, .fd = -1 };
}

static int
test_dma_map_timeout(void)
{
	struct rte_vfio_user_mem_reg w = dma_win(0);
	struct vfio_device_info info;
	struct fcase c;
	int ret, gone = 0;

	TEST_ASSERT_SUCCESS(set_timeouts(SHORT_TIMEOUT_MS, 0), "limits");
	ret = fcase_open(&c, hook_drop_dma_map, false, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(c.cid, on_disconnect, &gone), "cb");
	ret = rte_vfio_user_dma_map(c.cid, &w, NULL, 1);
	TEST_ASSERT_EQUAL(ret, -ETIMEDOUT, "DMA_MAP without reply: %d", ret);
	/* The tables may differ now: the device is given up, and the application told. */
	TEST_ASSERT(wait_flag(&gone), "no disconnect notification");
	ret = rte_vfio_user_get_dev_info(c.cid, &info);
	TEST_ASSERT_EQUAL(ret, -ENOTCONN, "call after the timeout: %d", ret);
	TEST_ASSERT(wait_flag(&c.f->done), "the server still sees the connection");
	return fcase_close(&c);
}

/*
 * Item 11: a late reply cannot answer a later call after the msg_id wraps
 */

#define ID_SPACE 65536u

/*
 * The first GET_INFO gets no reply. Its late reply, claiming 1 region, comes
 * right before the reply to the call 2^16 calls later, which would reuse its
 * msg_id if nothing kept it out of use.
 */
static int
hook_late_reply(struct fsrv *f, int s, struct pmsg *m)
{
	struct vfio_user_device_info stale = { .argsz = sizeof(stale), .num_regions = 1 };

	if (m->hdr.cmd != VFIO_USER_DEVICE_GET_INFO)
		return 0;
	if (f->count++ == 0) {
		f->id = m->hdr.msg_id;
		return 1;
	}
	if (f->count == ID_SPACE + 1)
		peer_send(s, f->id, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_TYPE_REPLY, 0, &stale,
			sizeof(stale), NULL, 0);
	return 0;
}

static int
test_msg_id_wrap(void)
{
	struct vfio_device_info info;
	uint32_t i, retries = 0;
	struct fcase c;
	int ret;

	TEST_ASSERT_SUCCESS(set_timeouts(SHORT_TIMEOUT_MS, 0), "limits");
	ret = fcase_open(&c, hook_late_reply, false, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	ret = rte_vfio_user_get_dev_info(c.cid, &info);
	TEST_ASSERT_EQUAL(ret, -ETIMEDOUT, "unanswered GET_INFO: %d", ret);
	for (i = 0; i < ID_SPACE + 1; i++) {
		ret = rte_vfio_user_get_dev_info(c.cid, &info);
		/* A call slowed down past the timeout on a loaded machine is fenced too. */
		if (ret == -ETIMEDOUT && retries++ < 10) {
			i--;
			continue;
		}
		TEST_ASSERT_SUCCESS(ret, "call %u: %d", i, ret);
		TEST_ASSERT_EQUAL(info.num_regions, FAKE_REGIONS,
			"call %u took the late reply of another call", i);
	}
	TEST_ASSERT(c.f->count >= ID_SPACE + 2, "server saw %" PRIu64 " calls", c.f->count);
	return fcase_close(&c);
}

/*
 * Item 19: unmap all without VFIO_DMA_UNMAP_FLAG_ALL
 */

static int
test_unmap_all_per_window(void)
{
	struct rte_vfio_user_mem_reg w[3] = { dma_win(0), dma_win(1), dma_win(2) };
	struct fcase c;
	uint32_t i;
	int ret;

	ret = fcase_open(&c, NULL, false, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(c.cid, w, NULL, RTE_DIM(w)), "map");
	/* The fake server, strict as the specification, refuses any flag. */
	ret = rte_vfio_user_dma_unmap(c.cid, NULL, 0);
	TEST_ASSERT_SUCCESS(ret, "unmap all: %d", ret);
	TEST_ASSERT_EQUAL(c.f->nr_unmaps, RTE_DIM(w), "DMA_UNMAP messages");
	for (i = 0; i < RTE_DIM(w); i++)
		TEST_ASSERT(c.f->unmaps[i].addr == w[i].iova && c.f->unmaps[i].size == w[i].size,
			"unmap %u: 0x%" PRIx64 "+0x%" PRIx64, i, c.f->unmaps[i].addr,
			c.f->unmaps[i].size);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(c.cid, NULL, 0), "unmap all of nothing");
	TEST_ASSERT_EQUAL(c.f->nr_unmaps, RTE_DIM(w), "messages for an empty table");
	return fcase_close(&c);
}

/*
 * Item 21: a device reset has its own timeout
 */

#define RESET_DELAY_MS 900

static int
hook_slow_reset(struct fsrv *f, int s, struct pmsg *m)
{
	RTE_SET_USED(f);
	RTE_SET_USED(s);
	if (m->hdr.cmd == VFIO_USER_DEVICE_RESET)
		usleep(RESET_DELAY_MS * 1000);
	return 0;
}

static int
test_reset_timeout(void)
{
	struct rte_vfio_user_limits lim = { .reset_timeout_ms = (uint32_t)INT32_MAX + 1 };
	struct fcase c;
	int ret;

	TEST_ASSERT_EQUAL(g_lim0.reset_timeout_ms, 60000, "default reset timeout");
	TEST_ASSERT_EQUAL(rte_vfio_user_limits_set(&lim), -EINVAL, "reset timeout too large");

	/* Longer than the reply timeout, well within the reset timeout. */
	TEST_ASSERT_SUCCESS(set_timeouts(SHORT_TIMEOUT_MS, 10 * WAIT_MS), "limits");
	ret = fcase_open(&c, hook_slow_reset, false, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	ret = rte_vfio_user_reset(c.cid);
	TEST_ASSERT_SUCCESS(ret, "slow reset: %d", ret);
	return fcase_close(&c);
}

/*
 * Item 22: the DMA_WRITE reply, both directions
 */

#define WR_IOVA 0x100000
#define WR_OFF 8
#define WR_LEN 8

/* The client answers DMA_WRITE with 16 bytes: address, count, zero padding. */
static int
dma_write_reply_case(bool twin)
{
	struct rte_vfio_user_mem_reg w = dma_win(0);
	struct vfio_user_dma_access acc = { .addr = WR_IOVA + WR_OFF, .count = WR_LEN };
	uint8_t req[sizeof(acc) + WR_LEN], want[WR_LEN];
	uint64_t addr, count;
	struct fcase c;
	int ret;

	memset(g_dma_buf, 0, sizeof(g_dma_buf));
	ret = fcase_open(&c, NULL, twin, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(c.cid, &w, NULL, 1), "map");

	tdev_fill(want, sizeof(want), 22);
	memcpy(req, &acc, sizeof(acc));
	memcpy(req + sizeof(acc), want, sizeof(want));
	TEST_ASSERT_SUCCESS(peer_send(twin ? c.f->twin : c.f->fd, 0x7000, VFIO_USER_DMA_WRITE,
		0, 0, req, sizeof(req), NULL, 0), "send DMA_WRITE");
	TEST_ASSERT(wait_flag(&c.f->got_reply), "no DMA_WRITE reply");
	TEST_ASSERT(c.f->reply.hdr.msg_id == 0x7000 && c.f->reply.hdr.cmd == VFIO_USER_DMA_WRITE &&
		!(c.f->reply.hdr.flags & VFIO_USER_F_ERROR), "reply id %u cmd %u flags 0x%x",
		c.f->reply.hdr.msg_id, c.f->reply.hdr.cmd, c.f->reply.hdr.flags);
	TEST_ASSERT_EQUAL(c.f->reply.len, 16, "DMA_WRITE reply of %u bytes", c.f->reply.len);
	memcpy(&addr, c.f->reply.data, sizeof(addr));
	memcpy(&count, c.f->reply.data + 8, sizeof(count));
	TEST_ASSERT(addr == acc.addr && count == WR_LEN,
		"reply address 0x%" PRIx64 ", 64-bit count %" PRIu64, addr, count);
	TEST_ASSERT(memcmp(g_dma_buf + WR_OFF, want, WR_LEN) == 0, "data not written");
	return fcase_close(&c);
}

static int
test_dma_write_reply_main(void)
{
	return dma_write_reply_case(false);
}

static int
test_dma_write_reply_twin(void)
{
	return dma_write_reply_case(true);
}

/* A raw client past VERSION on path, with one DMA window without descriptor. */
static int
raw_client_with_window(const char *path, struct pmsg *m)
{
	static const char caps[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .addr = WR_IOVA, .size = 4096,
		.flags = VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE };
	struct vfio_user_version v = { 0, 0 };
	uint8_t ver[sizeof(v) + sizeof(caps)];
	int s = raw_connect(path);

	if (s < 0)
		return s;
	peer_timeouts(s);
	memcpy(ver, &v, sizeof(v));
	memcpy(ver + sizeof(v), caps, sizeof(caps));
	if (peer_send(s, 1, VFIO_USER_VERSION, 0, 0, ver, sizeof(ver), NULL, 0) < 0 ||
			peer_recv(s, m) < 0 || (m->hdr.flags & VFIO_USER_F_ERROR) ||
			peer_send(s, 2, VFIO_USER_DMA_MAP, 0, 0, &map, sizeof(map), NULL, 0) < 0 ||
			peer_recv(s, m) < 0 || (m->hdr.flags & VFIO_USER_F_ERROR)) {
		pmsg_close_fds(m);
		close(s);
		return -EPROTO;
	}
	pmsg_close_fds(m);
	return s;
}

/*
 * Run the test device's DMA job (read 16 bytes, write them back) answering
 * its DMA_WRITE with reply_len bytes; returns the job's write result.
 */
static int64_t
dma_job_with_reply(struct tdev *d, int s, struct pmsg *m, uint16_t id, uint32_t reply_len)
{
	struct vfio_user_region_access go = { .offset = TDEV_REG_DMA_IOVA, .region = TDEV_BAR_CB,
		.count = 8 };
	uint8_t wr[sizeof(go) + 8], rep[sizeof(struct vfio_user_dma_access) + 16];
	struct vfio_user_dma_access acc;
	uint64_t iova = WR_IOVA, len = 16;
	int64_t rc = INT64_MIN;

	memcpy(d->cb_mem + TDEV_REG_DMA_LEN, &len, sizeof(len));
	memcpy(wr, &go, sizeof(go));
	memcpy(wr + sizeof(go), &iova, sizeof(iova));
	if (peer_send(s, id, VFIO_USER_REGION_WRITE, 0, 0, wr, sizeof(wr), NULL, 0) < 0)
		return rc;
	while (peer_recv(s, m) == 0) {
		pmsg_close_fds(m);
		if (pmsg_type(m) == VFIO_USER_F_TYPE_REPLY) {
			if (m->hdr.msg_id == id)
				memcpy(&rc, d->cb_mem + TDEV_REG_DMA_WR_RC, sizeof(rc));
			break;
		}
		memcpy(&acc, m->data, sizeof(acc));
		memset(rep, 0, sizeof(rep));
		memcpy(rep, &acc, sizeof(acc));
		/* DMA_READ: the address, the count and the data; DMA_WRITE: reply_len bytes. */
		peer_reply(s, m, rep, m->hdr.cmd == VFIO_USER_DMA_READ ?
			(uint32_t)(sizeof(acc) + acc.count) : reply_len, NULL, 0);
	}
	return rc;
}

/* The server keeps accepting the three DMA_WRITE replies met in practice. */
static int
test_server_dma_write_replies(void)
{
	static const uint32_t ok_len[] = { 0, 12, 16 };
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct leak_snap before;
	struct tdev *d;
	struct pmsg *m;
	unsigned int i;
	int64_t rc;
	int s;

	leak_snap(&before);
	d = malloc(sizeof(*d));
	m = malloc(sizeof(*m));
	TEST_ASSERT(d != NULL && m != NULL, "no memory");
	snprintf(path, sizeof(path), "%s/tdev%u", g_dir, ++g_seq);
	TEST_ASSERT_SUCCESS(tdev_create(d, path, NULL, true), "tdev_create");
	d->cb_dma_job = true;
	s = raw_client_with_window(path, m);
	TEST_ASSERT(s >= 0, "raw client: %d", s);
	for (i = 0; i < RTE_DIM(ok_len); i++) {
		rc = dma_job_with_reply(d, s, m, 10 + i, ok_len[i]);
		TEST_ASSERT_EQUAL(rc, 0, "DMA_WRITE reply of %u bytes: %" PRId64, ok_len[i], rc);
	}
	/* Shorter than the address and the count: refused (the check can fail). */
	rc = dma_job_with_reply(d, s, m, 20, 8);
	TEST_ASSERT_EQUAL(rc, -EPROTO, "DMA_WRITE reply of 8 bytes: %" PRId64, rc);
	close(s);
	tdev_close(d, WAIT_MS);
	free(d);
	free(m);
	return leak_check(&before, WAIT_MS);
}

/*
 * Item 26: no descriptor where the server offered no room
 */

static int
hook_count_fd_cmds(struct fsrv *f, int s, struct pmsg *m)
{
	if (m->hdr.cmd != VFIO_USER_DMA_MAP && m->hdr.cmd != VFIO_USER_DEVICE_SET_IRQS)
		return 0;
	f->count++;
	peer_reply(s, m, NULL, 0, NULL, 0);
	return 1;
}

/* The server's max_msg_fds (caps), and the spec's 1 when it says nothing. */
static int
fd_room_case(const char *caps, uint32_t room)
{
	uint8_t setbuf[sizeof(struct vfio_irq_set) + 2 * sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)setbuf;
	struct rte_vfio_user_mem_reg w = dma_win(0);
	int32_t efd[2] = { -1, -1 };
	uint64_t sent = 0;
	struct fcase c;
	int ret, mfd;

	ret = fcase_open(&c, hook_count_fd_cmds, false, caps);
	if (ret != TEST_SUCCESS)
		return ret;
	mfd = memfd_create("review-dma", MFD_CLOEXEC);
	efd[0] = eventfd(0, EFD_CLOEXEC);
	efd[1] = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(mfd >= 0 && efd[0] >= 0 && efd[1] >= 0, "descriptors");
	TEST_ASSERT_SUCCESS(ftruncate(mfd, 4096), "ftruncate");

	ret = rte_vfio_user_dma_map(c.cid, &w, &mfd, 1);
	TEST_ASSERT_EQUAL(ret, room >= 1 ? 0 : -EINVAL, "DMA_MAP with a descriptor: %d", ret);
	sent += room >= 1;
	*set = (struct vfio_irq_set){ .argsz = sizeof(setbuf), .index = VFIO_PCI_MSIX_IRQ_INDEX,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .count = 2 };
	memcpy(set->data, efd, sizeof(efd));
	ret = rte_vfio_user_set_irqs(c.cid, set);
	TEST_ASSERT_EQUAL(ret, room >= 2 ? 0 : -EINVAL, "SET_IRQS with 2 eventfds: %d", ret);
	sent += room >= 2;
	TEST_ASSERT(c.f->count == sent, "%" PRIu64 " commands with descriptors reached the server, "
		"want %" PRIu64, c.f->count, sent);

	close(mfd);
	close(efd[0]);
	close(efd[1]);
	return fcase_close(&c);
}

static int
test_fd_room(void)
{
	int ret;

	ret = fd_room_case("{\"capabilities\":{\"max_msg_fds\":0}}", 0);
	if (ret == TEST_SUCCESS)
		ret = fd_room_case("{}", 1);
	if (ret == TEST_SUCCESS)
		ret = fd_room_case("{\"capabilities\":{\"max_msg_fds\":2}}", 2);
	return ret;
}

/*
 * Item 25: the sample client's BAR sizing
 */

static int
test_bar_sizing(void)
{
	static const struct {
		uint32_t lo, hi;
		bool is64;
		uint64_t size;
	} c[] = {
		{ 0xfffff000, 0, false, 0x1000 },             /* 4 KiB memory */
		{ 0xfff00008, 0, false, 0x100000 },           /* 1 MiB prefetchable */
		{ 0x00000000, 0, false, 0 },                  /* reads back nothing */
		{ 0x00000008, 0, false, 0 },                  /* a bare prefetch bit */
		{ 0x00000001, 0, false, 0 },                  /* a bare I/O bit */
		{ 0xffffffe1, 0, false, 0x20 },               /* 32 ports */
		{ 0x0000ffe1, 0, false, 0x20 },               /* 16-bit I/O decode */
		{ 0xffff000c, 0xffffffff, true, 0x10000 },    /* 64 KiB, 64-bit */
		{ 0x0000000c, 0xfffffffe, true, UINT64_C(1) << 33 }, /* 8 GiB, 64-bit */
		{ 0x00000004, 0, true, 0 },                   /* bare 64-bit type */
	};
	unsigned int i;
	uint64_t size;

	for (i = 0; i < RTE_DIM(c); i++) {
		size = pci_bar_size(c[i].lo, c[i].hi, c[i].is64);
		TEST_ASSERT(size == c[i].size, "BAR 0x%08x%s%08x: size 0x%" PRIx64 ", want 0x%"
			PRIx64, c[i].lo, c[i].is64 ? " hi 0x" : "", c[i].is64 ? c[i].hi : 0, size,
			c[i].size);
	}
	return TEST_SUCCESS;
}

/*
 * Suite
 */

static int
suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-review-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_lim0), "limits_get");
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_lim0);
	dir_remove(g_dir);
}

static struct unit_test_suite review_suite = {
	.suite_name = "vfio-user review findings (client)",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
#ifdef VFIO_USER_TEST_INTERNAL
		TEST_CASE_NAMED("ctrl_del waits for a running callback", test_ctrl_del_waits),
#endif
		TEST_CASE_NAMED("detach during the server's hang-up", test_detach_vs_hangup),
		TEST_CASE_NAMED("hang-up during attach is reported", test_hangup_during_attach),
		TEST_CASE_NAMED("region fd shorter than the region", test_region_fd_too_short),
		TEST_CASE_NAMED("DMA_MAP timeout disconnects", test_dma_map_timeout),
		TEST_CASE_NAMED("late reply after msg_id wrap", test_msg_id_wrap),
		TEST_CASE_NAMED("unmap all, window by window", test_unmap_all_per_window),
		TEST_CASE_NAMED("reset has its own timeout", test_reset_timeout),
		TEST_CASE_NAMED("DMA_WRITE reply 16 bytes, main socket",
			test_dma_write_reply_main),
		TEST_CASE_NAMED("DMA_WRITE reply 16 bytes, twin socket",
			test_dma_write_reply_twin),
		TEST_CASE_NAMED("server accepts DMA_WRITE replies of 0, 12, 16 bytes",
			test_server_dma_write_replies),
		TEST_CASE_NAMED("descriptors only where the server has room", test_fd_room),
		TEST_CASE_NAMED("sample client BAR sizing", test_bar_sizing),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_review(void)
{
	return unit_test_suite_runner(&review_suite);
}

REGISTER_TEST_COMMAND(vfio_user_review_autotest, test_vfio_user_review);

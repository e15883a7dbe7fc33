/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The client against a fake server: a thread that speaks raw vfio-user on an
 * AF_UNIX socket and follows one script per case, some of them breaking the
 * protocol on purpose. Every call must end with the exact errno expected,
 * within the reply timeout, and leave no descriptor behind.
 *
 * The script thread never blocks without a bound (SRV_WAIT_MS), so a client
 * that does not do what the script expects costs a few seconds, not a hang.
 * It records its first failed check; the test fails on it after the join.
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
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test.h"
#include "test_vfio_user_common.h"

#define REPLY_TIMEOUT_MS 500
/* A call that does not time out must end well before the reply timeout. */
#define FAST_MS 400
/* A timed-out call ends after the timeout, and not much later. */
#define SLOW_MIN_MS 450
#define SLOW_MAX_MS 1500
/* Bound of every wait of the fake server and of the test on the fake server. */
#define SRV_WAIT_MS 3000

#define SRV_MAX_PAYLOAD 16384
#define SRV_MAX_FDS 8

/* What the fake device reports to GET_INFO. */
#define FAKE_DEV_FLAGS (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)
#define FAKE_NUM_REGIONS VFIO_PCI_NUM_REGIONS
#define FAKE_NUM_IRQS VFIO_PCI_NUM_IRQS

/* Version data of the fake server, with the terminating NUL. */
#define CAPS_BASE "\"max_msg_fds\":8,\"max_data_xfer_size\":65536,\"pgsizes\":4096," \
	"\"max_dma_maps\":64"
#define CAPS_PLAIN "{\"capabilities\":{" CAPS_BASE "}}"
#define CAPS_TWIN "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true,\"fd_index\":0}}}"
#define CAPS_TWIN_NO_IDX "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true}}}"
#define CAPS_TWIN_IDX1 "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true,\"fd_index\":1}}}"
#define CAPS_GARBAGE "{\"capabilities\": [1, 2, {"
#define CAPS_NO_NUL "{\"capabilities\":{}}"
/* Keys we do not know are ignored; a small max_data_xfer_size splits accesses. */
#define CAPS_UNKNOWN "{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":64," \
	"\"migration\":{\"pgsize\":4096},\"future_key\":[1,2]},\"other\":true}"
#define SPLIT_XFER 64
#define SPLIT_LEN 100

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

struct srv_msg {
	struct vfio_user_hdr hdr;
	uint32_t len;  /* payload bytes */
	int nfds;      /* descriptors received (closed at once) */
	uint8_t data[SRV_MAX_PAYLOAD];
};

struct fake;
typedef int (fake_script_t)(struct fake *f);

struct fake {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;              /* listening socket */
	int fd;               /* accepted connection, -1 */
	int twin;             /* server end of the twin socket, -1 */
	int opt;              /* per-case option of the script */
	fake_script_t *script;
	pthread_t tid;
	uint16_t next_id;     /* msg_id of the server's own commands */
	char proposal[1024];  /* JSON the client proposed */

	/* Shared with the test thread. */
	int stage;            /* set by the script */
	int go;               /* set by the test */
	bool done;            /* the script thread finished */
	int first_ms_gap;     /* concurrency case: time between the two requests */

	/* Written by the script thread only, read after the join. */
	int line;
	char why[256];
};

typedef int (case_body_t)(struct fake *f, int *cid);

static char g_dir[64];
static unsigned int g_seq;
static struct rte_vfio_user_limits g_saved;  /* limits before the suite */
static struct rte_vfio_user_limits g_base;   /* g_saved with the short timeout */
static struct leak_snap g_suite_snap;

/*
 * Fake server: plumbing
 */

static void
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

#define SRV_CHECK(f, cond, fmt, ...) do { \
	if (!(cond)) { \
		srv_fail(f, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__); \
		return -1; \
	} \
} while (0)

#define SRV_DO(expr) do { \
	if ((expr) < 0) \
		return -1; \
} while (0)

static void
fake_set_stage(struct fake *f, int stage)
{
	__atomic_store_n(&f->stage, stage, __ATOMIC_RELEASE);
}

static void
fake_go(struct fake *f, int go)
{
	__atomic_store_n(&f->go, go, __ATOMIC_RELEASE);
}

/* Test side: wait for the script to reach stage; -1 if it ends or stalls first. */
static int
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
static int
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
static int
srv_wait_go(struct fake *f, int go)
{
	uint64_t end = now_ms() + SRV_WAIT_MS;

	while (__atomic_load_n(&f->go, __ATOMIC_ACQUIRE) < go) {
		SRV_CHECK(f, now_ms() <= end, "no go %d from the test", go);
		usleep(1000);
	}
	return 0;
}

/*
 * Read len bytes before deadline; received descriptors are counted and
 * closed. Returns 0, -ECONNRESET on EOF before the first byte, -EPIPE on EOF
 * after it, -ETIMEDOUT, or another negative errno.
 */
static int
srv_read(int fd, void *buf, size_t len, int *nfds, uint64_t deadline)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SRV_MAX_FDS)];
	struct cmsghdr *cmsg;
	size_t got = 0;
	ssize_t n;
	int ret, k, *fds;

	while (got < len) {
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();

		ret = poll(&pfd, 1, now < deadline ? (int)(deadline - now) : 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return -errno;
		if (n > 0) {
			for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
					cmsg = CMSG_NXTHDR(&mh, cmsg)) {
				if (cmsg->cmsg_level != SOL_SOCKET ||
						cmsg->cmsg_type != SCM_RIGHTS)
					continue;
				fds = (int *)CMSG_DATA(cmsg);
				for (k = 0; k < (int)((cmsg->cmsg_len - CMSG_LEN(0)) /
						sizeof(int)); k++) {
					close(fds[k]);
					(*nfds)++;
				}
			}
		}
		if (n <= 0)
			return got == 0 ? -ECONNRESET : -EPIPE;
		got += n;
	}
	return 0;
}

/* Read one whole message. */
static int
srv_recv(int fd, struct srv_msg *m, int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int ret;

	m->nfds = 0;
	m->len = 0;
	ret = srv_read(fd, &m->hdr, sizeof(m->hdr), &m->nfds, deadline);
	if (ret < 0)
		return ret;
	if (m->hdr.size < VFIO_USER_HDR_SIZE ||
			m->hdr.size - VFIO_USER_HDR_SIZE > SRV_MAX_PAYLOAD)
		return -EMSGSIZE;
	m->len = m->hdr.size - VFIO_USER_HDR_SIZE;
	ret = srv_read(fd, m->data, m->len, &m->nfds, deadline);
	return ret == -ECONNRESET ? -EPIPE : ret;
}

static int
srv_sendv(int fd, struct iovec *iov, int iovcnt, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SRV_MAX_FDS)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iovcnt };
	struct cmsghdr *cmsg;
	size_t total = 0;
	ssize_t n;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	/* Blocking socket, small messages: they go whole. */
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == total ? 0 : -EIO;
}

/* Send header + p1 + p2; size is computed. */
static int
srv_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error,
		const void *p1, size_t l1, const void *p2, size_t l2, const int *fds, int nfds)
{
	struct vfio_user_hdr hdr = {
		.msg_id = id,
		.cmd = cmd,
		.size = (uint32_t)(VFIO_USER_HDR_SIZE + l1 + l2),
		.flags = flags,
		.error = error,
	};
	struct iovec iov[3] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)(uintptr_t)p1, .iov_len = l1 },
		{ .iov_base = (void *)(uintptr_t)p2, .iov_len = l2 },
	};

	return srv_sendv(fd, iov, 3, fds, nfds);
}

/* Reply to req on fd. */
static int
srv_reply_fds(struct fake *f, int fd, const struct srv_msg *req, const void *p1, size_t l1,
		const void *p2, size_t l2, const int *fds, int nfds)
{
	int ret;

	ret = srv_send(fd, req->hdr.msg_id, req->hdr.cmd, VFIO_USER_F_TYPE_REPLY, 0,
		p1, l1, p2, l2, fds, nfds);
	SRV_CHECK(f, ret == 0, "reply to command %u: %s", req->hdr.cmd, strerror(-ret));
	return 0;
}

static int
srv_reply(struct fake *f, const struct srv_msg *req, const void *p1, size_t l1,
		const void *p2, size_t l2)
{
	return srv_reply_fds(f, f->fd, req, p1, l1, p2, l2, NULL, 0);
}

static int
srv_error(struct fake *f, const struct srv_msg *req, uint32_t err)
{
	int ret;

	ret = srv_send(f->fd, req->hdr.msg_id, req->hdr.cmd,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, err, NULL, 0, NULL, 0, NULL, 0);
	SRV_CHECK(f, ret == 0, "error reply: %s", strerror(-ret));
	return 0;
}

/* Receive a command cmd with len payload bytes (len < 0: any) and no descriptor. */
static int
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
static int
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
static int
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
static int
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
static int
srv_send_version(struct fake *f, const struct srv_msg *req, uint16_t major, uint16_t minor,
		const char *json, size_t json_len, const int *fds, int nfds)
{
	struct vfio_user_version ver = { .major = major, .minor = minor };

	return srv_reply_fds(f, f->fd, req, &ver, sizeof(ver), json, json_len, fds, nfds);
}

/* A correct negotiation, with or without a twin socket. */
static int
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
static int
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

static int
srv_recv_info(struct fake *f, struct srv_msg *m)
{
	return srv_recv_cmd(f, f->fd, m, VFIO_USER_DEVICE_GET_INFO,
		sizeof(struct vfio_user_device_info));
}

/* Receive a REGION_READ and check its request. */
static int
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
static int
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

static struct fake *
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
	snprintf(f->path, sizeof(f->path), "%s/fake%u.sock", g_dir, ++g_seq);
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
static int
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
static int
run_case_ex(fake_script_t *script, int opt, case_body_t *body,
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
	rte_vfio_user_limits_set(&g_base);
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

static int
run_case(fake_script_t *script, int opt, case_body_t *body)
{
	return run_case_ex(script, opt, body, NULL, true);
}

static int
count_fds(void)
{
	struct leak_snap s;

	leak_snap(&s);
	return s.fds;
}

/* get_dev_info that must succeed with the fake device's values. */
static int
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

#define ATTACH(f, cid) do { \
	*(cid) = rte_vfio_user_attach_dev((f)->path); \
	TEST_ASSERT(*(cid) >= 0, "attach to the fake server failed: %d (%s)", *(cid), \
		strerror(-*(cid))); \
} while (0)

#define EXPECT_CALL(call, want, what) do { \
	uint64_t _t0 = now_ms(), _el; \
	long _r = (long)(call); \
	_el = now_ms() - _t0; \
	TEST_ASSERT_EQUAL(_r, (long)(want), "%s: got %ld (%s), want %ld (%s)", what, _r, \
		strerror((int)-_r), (long)(want), strerror((int)-(want))); \
	TEST_ASSERT(_el < FAST_MS, "%s took %" PRIu64 " ms", what, _el); \
} while (0)

/*
 * Negotiation
 */

/* The client's proposal is checked by srv_get_version(); a reply per case. */
enum ver_case {
	VER_BAD_MAJOR,
	VER_MINOR_HIGHER,
	VER_CAPS_GARBAGE,
	VER_CAPS_NO_NUL,
	VER_SHORT,
	VER_TWIN_NO_IDX,
	VER_TWIN_IDX_RANGE,
	VER_TWIN_NOT_SOCK,
	VER_ERROR,
	VER_SILENT,
	VER_CLOSE,
};

static int
scr_version(struct fake *f)
{
	struct srv_msg *m;
	int sv[2], efd, ret = -1;
	uint16_t two = 0;

	if (f->opt == VER_CLOSE)
		return 0; /* the thread closes the connection at once */
	m = malloc(sizeof(*m));
	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_get_version(f, m) < 0)
		goto out;

	switch (f->opt) {
	case VER_BAD_MAJOR:
		ret = srv_send_version(f, m, 1, 0, CAPS_PLAIN, sizeof(CAPS_PLAIN), NULL, 0);
		break;
	case VER_MINOR_HIGHER:
		ret = srv_send_version(f, m, 0, 1, CAPS_PLAIN, sizeof(CAPS_PLAIN), NULL, 0);
		break;
	case VER_CAPS_GARBAGE:
		ret = srv_send_version(f, m, 0, 0, CAPS_GARBAGE, sizeof(CAPS_GARBAGE), NULL, 0);
		break;
	case VER_CAPS_NO_NUL:
		ret = srv_send_version(f, m, 0, 0, CAPS_NO_NUL, strlen(CAPS_NO_NUL), NULL, 0);
		break;
	case VER_SHORT:
		ret = srv_reply(f, m, &two, sizeof(two), NULL, 0);
		break;
	case VER_TWIN_NO_IDX:
	case VER_TWIN_IDX_RANGE:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			srv_fail(f, __LINE__, "socketpair: %s", strerror(errno));
			break;
		}
		if (f->opt == VER_TWIN_NO_IDX)
			ret = srv_send_version(f, m, 0, 0, CAPS_TWIN_NO_IDX,
				sizeof(CAPS_TWIN_NO_IDX), &sv[1], 1);
		else
			ret = srv_send_version(f, m, 0, 0, CAPS_TWIN_IDX1,
				sizeof(CAPS_TWIN_IDX1), &sv[1], 1);
		close(sv[1]);
		/* The client must close the descriptor it was given. */
		if (ret == 0)
			ret = srv_expect_eof(f, sv[0]);
		close(sv[0]);
		break;
	case VER_TWIN_NOT_SOCK:
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0) {
			srv_fail(f, __LINE__, "eventfd: %s", strerror(errno));
			break;
		}
		ret = srv_send_version(f, m, 0, 0, CAPS_TWIN, sizeof(CAPS_TWIN), &efd, 1);
		close(efd);
		break;
	case VER_ERROR:
		ret = srv_error(f, m, EINVAL);
		break;
	case VER_SILENT:
		ret = 0;
		break;
	}
	/* A failed attach closes the connection. */
	if (ret == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int g_attach_err1, g_attach_err2;
static bool g_attach_slow;

static int
body_attach_fail(struct fake *f, int *cid)
{
	uint64_t t0, el;
	int ret;

	RTE_SET_USED(cid);
	t0 = now_ms();
	rte_errno = 0;
	ret = rte_vfio_user_attach_dev(f->path);
	el = now_ms() - t0;
	if (ret >= 0)
		*cid = ret;
	TEST_ASSERT(ret == g_attach_err1 || ret == g_attach_err2,
		"attach returned %d (%s), want %d (%s) or %d", ret, strerror(-ret),
		g_attach_err1, strerror(-g_attach_err1), g_attach_err2);
	TEST_ASSERT_EQUAL(rte_errno, -ret, "rte_errno %d", rte_errno);
	if (g_attach_slow)
		TEST_ASSERT(el >= SLOW_MIN_MS && el <= SLOW_MAX_MS,
			"timed out after %" PRIu64 " ms (timeout %d ms)", el, REPLY_TIMEOUT_MS);
	else
		TEST_ASSERT(el < FAST_MS, "failed after %" PRIu64 " ms, not at once", el);
	return TEST_SUCCESS;
}

static int
attach_fail_case(enum ver_case vc, int err1, int err2, bool slow)
{
	g_attach_err1 = err1;
	g_attach_err2 = err2;
	g_attach_slow = slow;
	return run_case(scr_version, vc, body_attach_fail);
}

static int
test_version_bad_major(void)
{
	return attach_fail_case(VER_BAD_MAJOR, -EPROTO, -EPROTO, false);
}

static int
test_version_minor_higher(void)
{
	return attach_fail_case(VER_MINOR_HIGHER, -EPROTO, -EPROTO, false);
}

static int
test_version_caps_garbage(void)
{
	return attach_fail_case(VER_CAPS_GARBAGE, -EPROTO, -EPROTO, false);
}

static int
test_version_caps_no_nul(void)
{
	return attach_fail_case(VER_CAPS_NO_NUL, -EPROTO, -EPROTO, false);
}

static int
test_version_short(void)
{
	return attach_fail_case(VER_SHORT, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_no_fd_index(void)
{
	return attach_fail_case(VER_TWIN_NO_IDX, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_fd_index_range(void)
{
	return attach_fail_case(VER_TWIN_IDX_RANGE, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_not_socket(void)
{
	return attach_fail_case(VER_TWIN_NOT_SOCK, -EPROTO, -EPROTO, false);
}

static int
test_version_error_reply(void)
{
	return attach_fail_case(VER_ERROR, -EINVAL, -EINVAL, false);
}

static int
test_version_no_reply(void)
{
	return attach_fail_case(VER_SILENT, -ETIMEDOUT, -ETIMEDOUT, true);
}

static int
test_version_server_closes(void)
{
	return attach_fail_case(VER_CLOSE, -ECONNRESET, -ENOTCONN, false);
}

/*
 * Replies that are fine: a bare 0.0 (no JSON: spec defaults) with opt 0; unknown
 * keys and a max_data_xfer_size of 64 with opt 1, which splits a region read.
 */
static int
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

static int
body_version_bare(struct fake *f, int *cid)
{
	ATTACH(f, cid);
	return check_dev_info(*cid);
}

static int
body_version_split(struct fake *f, int *cid)
{
	uint8_t buf[SPLIT_LEN], exp[SPLIT_LEN];

	ATTACH(f, cid);
	tdev_fill(exp, SPLIT_XFER, 0);
	tdev_fill(exp + SPLIT_XFER, SPLIT_LEN - SPLIT_XFER, SPLIT_XFER);
	EXPECT_CALL(rte_vfio_user_region_read(*cid, 1, 0, buf, SPLIT_LEN), SPLIT_LEN,
		"region read split at the server's max_data_xfer_size");
	TEST_ASSERT(memcmp(buf, exp, SPLIT_LEN) == 0, "split region read data");
	return check_dev_info(*cid);
}

static int
test_version_bare(void)
{
	return run_case(scr_version_good, 0, body_version_bare);
}

static int
test_version_unknown_keys(void)
{
	return run_case(scr_version_good, 1, body_version_split);
}

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
	return run_case_ex(scr_dma, twin, body_dma, &lim, true);
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
	return run_case(scr_wrong_msg_id, 0, body_wrong_msg_id);
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
	return run_case(scr_bad_sizes, 0, body_bad_sizes);
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
	return run_case(scr_error_replies, 0, body_error_replies);
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
	ret = srv_sendv(f->fd, &iov, 1, NULL, 0);
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
	return run_case(scr_mid_reply_close, 0, body_mid_reply_close);
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
	return run_case(scr_close_after_attach, 0, body_close_after_attach);
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
	return run_case(scr_unexpected_fds, 0, body_unexpected_fds);
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
	return run_case(scr_reverse_order, 0, body_reverse_order);
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
	return run_case(scr_silent, 0, body_detach_waiter);
}

/* Whole suite: no descriptor or mapping left behind. */
static int
test_suite_leaks(void)
{
	struct leak_snap now;

	if (leak_wait(&g_suite_snap, 1000, &now) != 0) {
		leak_dump_fds();
		TEST_ASSERT(false, "suite leaked: fds %d -> %d, mappings %d -> %d",
			g_suite_snap.fds, now.fds, g_suite_snap.maps, now.maps);
	}
	return TEST_SUCCESS;
}

static int
suite_setup(void)
{
	int ret;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-fake-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_saved), "limits_get");
	g_base = g_saved;
	g_base.reply_timeout_ms = REPLY_TIMEOUT_MS;
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_base), "limits_set");
	/* One good session first: it starts the control thread, whose fds stay. */
	ret = run_case_ex(scr_version_good, 0, body_version_bare, NULL, false);
	TEST_ASSERT_SUCCESS(ret, "warm-up session against the fake server");
	leak_snap(&g_suite_snap);
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_saved);
	rmdir(g_dir);
	g_dir[0] = '\0';
}

static struct unit_test_suite vfio_user_fake_server_suite = {
	.suite_name = "vfio-user client against a fake server",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_version_bad_major),
		TEST_CASE(test_version_minor_higher),
		TEST_CASE(test_version_caps_garbage),
		TEST_CASE(test_version_caps_no_nul),
		TEST_CASE(test_version_short),
		TEST_CASE(test_version_twin_no_fd_index),
		TEST_CASE(test_version_twin_fd_index_range),
		TEST_CASE(test_version_twin_not_socket),
		TEST_CASE(test_version_error_reply),
		TEST_CASE(test_version_no_reply),
		TEST_CASE(test_version_server_closes),
		TEST_CASE(test_version_bare),
		TEST_CASE(test_version_unknown_keys),
		TEST_CASE(test_dma_twin),
		TEST_CASE(test_dma_main_socket),
		TEST_CASE(test_reply_wrong_msg_id),
		TEST_CASE(test_reply_bad_sizes),
		TEST_CASE(test_reply_errors),
		TEST_CASE(test_reply_server_dies),
		TEST_CASE(test_server_gone_between_calls),
		TEST_CASE(test_reply_unexpected_fds),
		TEST_CASE(test_concurrent_reverse_replies),
		TEST_CASE(test_detach_while_waiting),
		TEST_CASE(test_suite_leaks),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_fake_server(void)
{
	return unit_test_suite_runner(&vfio_user_fake_server_suite);
}

REGISTER_TEST_COMMAND(vfio_user_fake_server_autotest, test_vfio_user_fake_server);

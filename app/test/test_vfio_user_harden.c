/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Hardening tests: the server socket (mode, paths it refuses, peer
 * credentials), the per-session limits, fault injection (peers that die
 * halfway, partial writes, signals, descriptor exhaustion, bad mappings, a
 * device callback that blocks), and a soak of connect/map/disconnect
 * cycles that must leave no descriptor, mapping or memory behind.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test.h"
#include "test_vfio_user_common.h"
#include "vfio_user_peer.h"

#if defined(__SANITIZE_ADDRESS__)
#define HT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HT_ASAN 1
#endif
#endif
#ifdef HT_ASAN
/* From the sanitizer runtime (gcc ships no header for it). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define RX_MS 2000
#define PATH_LEN 100 /* fits sockaddr_un.sun_path */
#define LEAK_MS 2000
#define CAPS "{\"capabilities\":{\"max_msg_fds\":8,\"pgsizes\":4096,\"max_dma_maps\":65535}}"

static char g_dir[64];
static unsigned int g_seq;
static struct rte_vfio_user_limits g_lim0;

static void
mkpath(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

/* A test device on a new socket path named after @tag, written to @path; NULL on failure. */
static struct tdev *
dev_new(char path[PATH_LEN], const char *tag, bool start)
{
	struct tdev *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	mkpath(path, PATH_LEN, tag);
	if (tdev_create(d, path, NULL, start) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

/* Undo dev_new(). */
static void
dev_free(struct tdev *d)
{
	tdev_destroy(d);
	free(d);
}

/*
 * Raw client
 */

struct rmsg {
	struct vfio_user_hdr hdr;
	uint8_t data[4096];
	uint32_t len;
	int fds[8];
	int nr_fds;
};

static void
rmsg_close_fds(struct rmsg *m)
{
	int i;

	for (i = 0; i < m->nr_fds; i++)
		close(m->fds[i]);
	m->nr_fds = 0;
}

/* One message: 0, -ETIMEDOUT, -ECONNRESET, -EPIPE. Payload beyond 4 KiB is dropped. */
static int
rmsg_recv(int s, struct rmsg *m, int timeout_ms)
{
	struct raw_msg r = { .data = m->data, .cap = sizeof(m->data), .truncate = true };
	int ret, i;

	ret = raw_recv(s, &r, timeout_ms);
	m->hdr = r.hdr;
	m->len = r.len;
	m->nr_fds = 0;
	for (i = 0; i < RTE_MIN(r.nr_fds, RAW_MAX_FDS); i++) {
		if (m->nr_fds < (int)RTE_DIM(m->fds))
			m->fds[m->nr_fds++] = r.fds[i];
		else
			close(r.fds[i]);
	}
	return ret;
}

/*
 * Send a command and wait for its reply (other messages are skipped).
 * Returns 0 on success, the positive errno of an error reply, or -errno.
 */
static int
raw_call(int s, uint16_t id, uint16_t cmd, const void *pl, uint32_t len, const int *fds,
		int nr_fds, struct rmsg *r)
{
	int ret;

	ret = raw_send(s, id, cmd, 0, pl, len, fds, nr_fds);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = rmsg_recv(s, r, RX_MS);
		if (ret < 0)
			return ret;
		if ((r->hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY &&
				r->hdr.msg_id == id)
			break;
		rmsg_close_fds(r);
	}
	rmsg_close_fds(r);
	if (r->hdr.flags & VFIO_USER_F_ERROR)
		return r->hdr.error != 0 ? (int)r->hdr.error : EIO;
	return 0;
}

static int
raw_negotiate(int s, struct rmsg *r)
{
	uint8_t buf[256];
	struct vfio_user_version v = { 0, 0 };

	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), CAPS, sizeof(CAPS));
	return raw_call(s, 1, VFIO_USER_VERSION, buf, sizeof(v) + sizeof(CAPS), NULL, 0, r);
}

/* The peer closes within timeout_ms (data before the close is dropped): 0 or -ETIMEDOUT. */
static int
closed_within(int s, int timeout_ms)
{
	struct rmsg m;
	int ret;

	do {
		ret = rmsg_recv(s, &m, timeout_ms);
		rmsg_close_fds(&m);
	} while (ret == 0);
	return ret == -ECONNRESET || ret == -EPIPE || ret == -EMSGSIZE ? 0 : ret;
}

static int
raw_dma_map(int s, uint16_t id, uint64_t iova, uint64_t size, uint64_t off, int fd,
		struct rmsg *r)
{
	struct vfio_user_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE,
		.offset = off, .addr = iova, .size = size,
	};

	return raw_call(s, id, VFIO_USER_DMA_MAP, &map, sizeof(map), &fd, fd >= 0 ? 1 : 0, r);
}

static int
raw_get_info(int s, uint16_t id, struct rmsg *r)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	return raw_call(s, id, VFIO_USER_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0, r);
}

static int
memfd_of(size_t size, unsigned int flags)
{
	int fd = memfd_create("vfu-harden", MFD_CLOEXEC | flags);

	if (fd >= 0 && ftruncate(fd, size) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A raw client on @path past negotiation: the socket, or -1 after saying what failed. */
static int
raw_session(const char *path, struct rmsg *r)
{
	int s = raw_connect(path), ret;

	if (s < 0) {
		printf("connect(%s): %d\n", path, s);
		return -1;
	}
	ret = raw_negotiate(s, r);
	if (ret != 0) {
		printf("negotiate: %d\n", ret);
		close(s);
		return -1;
	}
	return s;
}

/* A fresh well-behaved client is served: the device survived. */
static int
served(struct tdev *d)
{
	struct rmsg r;
	int s, ret;

	s = raw_connect(d->path);
	if (s < 0)
		return s;
	ret = raw_negotiate(s, &r);
	if (ret == 0)
		ret = raw_get_info(s, 2, &r);
	close(s);
	return ret;
}

/* Wait for the server to have closed n sessions of d (destroy_device calls). */
static int
wait_destroyed(struct tdev *d, unsigned int n)
{
	uint64_t end = now_ms() + RX_MS;

	while (__atomic_load_n(&d->nr_destroyed, __ATOMIC_RELAXED) < n) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Socket file
 */

static int
test_sock_mode(void)
{
	struct rte_vfio_user_sock_opts opts = { .mode = 0660 };
	struct tdev *d;
	char path[PATH_LEN];
	struct stat st;
	int ret;

	d = dev_new(path, "mode", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	TEST_ASSERT_SUCCESS(stat(path, &st), "stat");
	TEST_ASSERT(S_ISSOCK(st.st_mode), "not a socket");
	TEST_ASSERT_EQUAL(st.st_mode & 07777, 0600, "default mode %o", st.st_mode & 07777);
	TEST_ASSERT_EQUAL(st.st_uid, geteuid(), "owner");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_sock_opts(path, &opts), -EBUSY,
		"options changed while started");
	TEST_ASSERT_SUCCESS(rte_vfio_user_stop(path), "stop");
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_sock_opts(path, &opts), "set_sock_opts");
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(path), "start");
	TEST_ASSERT_SUCCESS(stat(path, &st), "stat");
	TEST_ASSERT_EQUAL(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
	TEST_ASSERT_SUCCESS(served(d), "client not served");

	/* Bad options. */
	opts.mode = 01777;
	ret = rte_vfio_user_set_sock_opts(path, &opts);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "mode 01777 accepted");
	opts.mode = 0;
	opts.flags = 1u << 31;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_sock_opts(path, &opts), -EINVAL, "bad flags");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_sock_opts(path, NULL), -EINVAL, "NULL opts");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_sock_opts("/nonexistent/x", &opts), -EINVAL,
		"bad flags before path lookup");
	opts.flags = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_sock_opts("/nonexistent/x", &opts), -ENOENT,
		"unregistered path");
	tdev_destroy(d);
	TEST_ASSERT(access(path, F_OK) < 0, "socket left after unregister");
	free(d);
	return TEST_SUCCESS;
}

/* A socket bound at path and left there (a dead server's); listening if listen_too. */
static int
bind_at(const char *path, bool listen_too)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (listen_too && listen(s, 1) < 0)) {
		close(s);
		return -errno;
	}
	return s;
}

static int
start_refused(struct tdev *d, const char *what)
{
	int ret = rte_vfio_user_start(d->path);

	if (ret != -EADDRINUSE) {
		printf("%s: start returned %d, want -EADDRINUSE\n", what, ret);
		if (ret == 0)
			rte_vfio_user_stop(d->path);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

static int
test_sock_paths(void)
{
	struct tdev *d;
	char path[PATH_LEN], target[160], buf[16];
	struct stat st;
	int fd, s, c;

	d = dev_new(path, "paths", false);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");

	/* A regular file is left alone. */
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	TEST_ASSERT(fd >= 0, "create file");
	TEST_ASSERT_EQUAL(write(fd, "keep", 4), 4, "write");
	close(fd);
	TEST_ASSERT_SUCCESS(start_refused(d, "regular file"), "regular file replaced");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && memcmp(buf, "keep", 4) == 0,
		"regular file changed");
	close(fd);
	unlink(path);

	/* A symbolic link, dangling or to a stale socket, is neither followed nor replaced. */
	snprintf(target, sizeof(target), "%s.target", path);
	TEST_ASSERT_SUCCESS(symlink(target, path), "symlink");
	TEST_ASSERT_SUCCESS(start_refused(d, "dangling symlink"), "dangling symlink");
	TEST_ASSERT(access(target, F_OK) < 0, "symlink target created");
	s = bind_at(target, false);
	TEST_ASSERT(s >= 0, "bind target");
	close(s);
	TEST_ASSERT_SUCCESS(start_refused(d, "symlink to a stale socket"), "symlink followed");
	TEST_ASSERT_SUCCESS(lstat(path, &st), "lstat");
	TEST_ASSERT(S_ISLNK(st.st_mode), "symlink replaced");
	unlink(path);
	unlink(target);

	/* A socket somebody listens on stays theirs. */
	s = bind_at(path, true);
	TEST_ASSERT(s >= 0, "bind live socket");
	TEST_ASSERT_SUCCESS(start_refused(d, "live socket"), "live socket replaced");
	c = raw_connect(path);
	TEST_ASSERT(c >= 0, "live socket no longer reachable");
	close(c);
	close(s);
	unlink(path);

	/* A stale socket of another user stays (root can make one). */
	if (geteuid() == 0) {
		s = bind_at(path, false);
		TEST_ASSERT(s >= 0, "bind stale socket");
		close(s);
		TEST_ASSERT_SUCCESS(lchown(path, 12345, 12345), "chown");
		TEST_ASSERT_SUCCESS(start_refused(d, "stale socket of another uid"),
			"foreign socket replaced");
		unlink(path);
	} else {
		printf("not root: the foreign stale socket case is skipped\n");
	}

	/* A stale socket of ours is replaced. */
	s = bind_at(path, false);
	TEST_ASSERT(s >= 0, "bind stale socket");
	close(s);
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(path), "stale socket not replaced");
	d->started = true;
	TEST_ASSERT_SUCCESS(served(d), "client not served");
	dev_free(d);
	return TEST_SUCCESS;
}

/*
 * Peer credentials
 */

/* Connect, send VERSION: 0 when answered, 1 when the connection is closed. */
static int
try_client(const char *path)
{
	struct rmsg r;
	int s, ret;

	s = raw_connect(path);
	if (s < 0)
		return s;
	ret = raw_negotiate(s, &r);
	close(s);
	if (ret == 0)
		return 0;
	if (ret == -ECONNRESET || ret == -EPIPE)
		return 1;
	return ret < 0 ? ret : -ret;
}

static int
set_opts_restart(struct tdev *d, uint32_t flags, uid_t uid, gid_t gid, mode_t mode)
{
	struct rte_vfio_user_sock_opts opts = {
		.flags = flags, .uid = uid, .gid = gid, .mode = mode,
	};

	if (d->started && rte_vfio_user_stop(d->path) < 0)
		return -1;
	d->started = false;
	if (rte_vfio_user_set_sock_opts(d->path, &opts) < 0 || rte_vfio_user_start(d->path) < 0)
		return -1;
	d->started = true;
	return 0;
}

/* As another user: connect and negotiate; exit status as try_client(), 2 on EACCES. */
static int
child_as(const char *path, uid_t uid)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int s;

		if (setgid(uid) < 0 || setuid(uid) < 0)
			_exit(3);
		s = raw_connect(path);
		if (s == -EACCES)
			_exit(2);
		if (s >= 0)
			close(s);
		_exit(try_client(path) & 0xff);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int
test_peer_cred(void)
{
	struct tdev *d;
	unsigned int news;
	char path[PATH_LEN];

	d = dev_new(path, "cred", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	TEST_ASSERT_EQUAL(try_client(path), 0, "no check: refused");

	/* Another uid only: we are refused, before any message is read. */
	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_UID, geteuid() + 1, 0,
		0), "restart");
	news = tdev_ev_count(d, TDEV_EV_NEW, -1);
	TEST_ASSERT_EQUAL(try_client(path), 1, "foreign uid check: not refused");
	TEST_ASSERT(rte_vfio_user_attach_dev(path) < 0, "library client attached");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_NEW, -1), news,
		"refused client reached the device");

	/* Our uid, our gid, or either. */
	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_UID, geteuid(), 0, 0),
		"restart");
	TEST_ASSERT_EQUAL(try_client(path), 0, "own uid refused");
	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_GID, 0, getegid() + 1,
		0), "restart");
	TEST_ASSERT_EQUAL(try_client(path), 1, "foreign gid check: not refused");
	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_GID, 0, getegid(), 0),
		"restart");
	TEST_ASSERT_EQUAL(try_client(path), 0, "own gid refused");
	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_UID |
		RTE_VFIO_USER_SOCK_F_PEER_GID, geteuid() + 1, getegid(), 0), "restart");
	TEST_ASSERT_EQUAL(try_client(path), 0, "uid or gid: refused");

	/* A real process of another user (needs root to become one). */
	if (geteuid() == 0) {
		const uid_t nobody = 65534;

		/* The directory must let it reach the socket: the socket mode decides. */
		TEST_ASSERT_SUCCESS(chmod(g_dir, 0711), "chmod");

		TEST_ASSERT_SUCCESS(set_opts_restart(d, 0, 0, 0, 0), "restart");
		TEST_ASSERT_EQUAL(child_as(path, nobody), 2, "mode 0600 let another user connect");
		TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_UID, 0, 0, 0666),
			"restart");
		TEST_ASSERT_EQUAL(child_as(path, nobody), 1, "uid %u not refused", nobody);
		TEST_ASSERT_EQUAL(try_client(path), 0, "root refused");
		TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_PEER_UID, nobody, 0,
			0666), "restart");
		TEST_ASSERT_EQUAL(child_as(path, nobody), 0, "allowed uid %u refused", nobody);
	} else {
		printf("not root: the other-user process cases are skipped\n");
	}
	dev_free(d);
	return TEST_SUCCESS;
}

/*
 * Limits
 */

static int
set_limits(const struct rte_vfio_user_limits *lim)
{
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_lim0), "restore limits");
	return rte_vfio_user_limits_set(lim);
}

static int
test_limit_dma_maps(void)
{
	struct rte_vfio_user_limits lim = { .max_dma_maps = 2 };
	struct tdev *d;
	char path[PATH_LEN];
	struct rmsg r;
	int s;

	TEST_ASSERT_SUCCESS(set_limits(&lim), "limits");
	d = dev_new(path, "maps", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, 0x10000, 0x1000, 0, -1, &r), "map 1");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 3, 0x20000, 0x1000, 0, -1, &r), "map 2");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 4, 0x30000, 0x1000, 0, -1, &r), ENOSPC, "map 3");
	TEST_ASSERT_SUCCESS(raw_get_info(s, 5, &r), "session lost");
	close(s);
	dev_free(d);
	return rte_vfio_user_limits_set(&g_lim0);
}

static int
test_limit_mapped_bytes(void)
{
	struct rte_vfio_user_limits lim = { .max_dma_mapped_bytes = 0x20000 };
	struct vfio_user_dma_unmap unmap = { .argsz = sizeof(unmap), .addr = 0x100000,
		.size = 0x10000 };
	struct tdev *d;
	char path[PATH_LEN];
	struct rmsg r;
	int s, mfd;

	TEST_ASSERT_SUCCESS(set_limits(&lim), "limits");
	d = dev_new(path, "bytes", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	mfd = memfd_of(0x40000, 0);
	TEST_ASSERT(mfd >= 0, "memfd");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, 0x100000, 0x10000, 0, mfd, &r), "64 KiB");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 3, 0x200000, 0x10000, 0x10000, mfd, &r), "128 KiB");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 4, 0x300000, 0x1000, 0x20000, mfd, &r), ENOSPC,
		"past the mapped bytes limit");
	/* Windows without a descriptor map nothing: not counted. */
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 5, 0x40000000, 0x40000000, 0, -1, &r), "no fd");
	/* Unmapping gives the room back. */
	TEST_ASSERT_SUCCESS(raw_call(s, 6, VFIO_USER_DMA_UNMAP, &unmap, sizeof(unmap), NULL, 0,
		&r), "unmap");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 7, 0x300000, 0x10000, 0x20000, mfd, &r),
		"room not given back");
	close(s);
	close(mfd);
	dev_free(d);
	return rte_vfio_user_limits_set(&g_lim0);
}

static int
test_limit_msg_size(void)
{
	struct rte_vfio_user_limits lim = { .max_msg_size = 65536, .max_data_xfer_size = 32768 };
	struct vfio_user_hdr hdr = { .msg_id = 2, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 65537 };
	struct tdev *d;
	char path[PATH_LEN];
	struct rmsg r;
	int s;

	TEST_ASSERT_SUCCESS(set_limits(&lim), "limits");
	d = dev_new(path, "size", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	/* Only the header is sent: the server must not wait for (or allocate) the rest. */
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, &hdr, sizeof(hdr)), "send");
	TEST_ASSERT_SUCCESS(closed_within(s, RX_MS), "oversized message: not closed");
	close(s);
	TEST_ASSERT_SUCCESS(served(d), "not served after");
	dev_free(d);
	return rte_vfio_user_limits_set(&g_lim0);
}

/*
 * Commands queued while the server waits for a DMA reply: the device's DMA
 * job (a REGION_WRITE to BAR0) reads a window the client gave no fd for, so
 * the control thread waits for our DMA_READ reply, queueing our commands.
 */
static int
test_limit_pending(void)
{
	struct rte_vfio_user_limits lim = { .max_pending_msgs = 4 };
	struct tdev *d;
	uint8_t wr[sizeof(struct vfio_user_region_access) + 8];
	struct vfio_user_region_access acc = { .offset = TDEV_REG_DMA_IOVA, .region = TDEV_BAR_CB,
		.count = 8 };
	struct vfio_user_dma_access dacc;
	uint8_t rep[sizeof(dacc) + 64];
	const uint64_t iova = 0x100000, len = 64;
	unsigned int ok = 0, nobufs = 0, i;
	bool write_done = false;
	char path[PATH_LEN];
	struct rmsg r;
	int s;

	TEST_ASSERT_SUCCESS(set_limits(&lim), "limits");
	d = dev_new(path, "pend", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	d->cb_dma_job = true;
	memcpy(d->cb_mem + TDEV_REG_DMA_LEN, &len, sizeof(len));
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, iova, 0x1000, 0, -1, &r), "map");

	memcpy(wr, &acc, sizeof(acc));
	memcpy(wr + sizeof(acc), &iova, sizeof(iova));
	TEST_ASSERT_SUCCESS(raw_send(s, 3, VFIO_USER_REGION_WRITE, 0, wr, sizeof(wr), NULL, 0),
		"send REGION_WRITE");
	TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "no DMA_READ");
	TEST_ASSERT(r.hdr.cmd == VFIO_USER_DMA_READ &&
		(r.hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_COMMAND,
		"expected DMA_READ, got cmd %u flags 0x%x", r.hdr.cmd, r.hdr.flags);
	memcpy(&dacc, r.data, sizeof(dacc));
	/* The server waits: 8 commands, 4 fit in the queue. */
	for (i = 0; i < 8; i++) {
		struct vfio_user_device_info info = { .argsz = sizeof(info) };

		TEST_ASSERT_SUCCESS(raw_send(s, 100 + i, VFIO_USER_DEVICE_GET_INFO, 0, &info,
			sizeof(info), NULL, 0), "send GET_INFO");
	}
	usleep(200 * 1000);
	memcpy(rep, &dacc, sizeof(dacc));
	memset(rep + sizeof(dacc), 0x11, len);
	TEST_ASSERT_SUCCESS(raw_send(s, r.hdr.msg_id, VFIO_USER_DMA_READ, VFIO_USER_F_TYPE_REPLY,
		rep, sizeof(rep), NULL, 0), "send DMA_READ reply");
	while (ok + nobufs < 8 || !write_done) {
		TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "replies missing: %u ok, %u ENOBUFS",
			ok, nobufs);
		rmsg_close_fds(&r);
		if ((r.hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_COMMAND) {
			struct vfio_user_dma_write_reply wrep;

			/* The job writes its result back: answer, like a client does. */
			TEST_ASSERT_EQUAL(r.hdr.cmd, VFIO_USER_DMA_WRITE, "command %u", r.hdr.cmd);
			memcpy(&dacc, r.data, sizeof(dacc));
			wrep.addr = dacc.addr;
			wrep.count = (uint32_t)dacc.count;
			TEST_ASSERT_SUCCESS(raw_send(s, r.hdr.msg_id, VFIO_USER_DMA_WRITE,
				VFIO_USER_F_TYPE_REPLY, &wrep, sizeof(wrep), NULL, 0), "reply");
			continue;
		}
		if (r.hdr.msg_id == 3) {
			TEST_ASSERT(!(r.hdr.flags & VFIO_USER_F_ERROR), "REGION_WRITE failed");
			write_done = true;
		} else if (r.hdr.flags & VFIO_USER_F_ERROR) {
			TEST_ASSERT_EQUAL(r.hdr.error, ENOBUFS, "error %u", r.hdr.error);
			nobufs++;
		} else {
			ok++;
		}
	}
	TEST_ASSERT_EQUAL(ok, 4, "queued commands answered");
	TEST_ASSERT_EQUAL(nobufs, 4, "ENOBUFS replies");
	TEST_ASSERT_SUCCESS(raw_get_info(s, 200, &r), "session lost");
	close(s);
	dev_free(d);
	return rte_vfio_user_limits_set(&g_lim0);
}

/* RTE_VFIO_USER_SOCK_F_SEALED_DMA: only descriptors sealed against shrinking are mapped. */
static int
test_sealed_dma(void)
{
	struct tdev *d;
	int s, plain, sealable, seals;
	char path[PATH_LEN];
	struct rmsg r;

	d = dev_new(path, "seal", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	plain = memfd_of(0x10000, 0);
	sealable = memfd_of(0x10000, MFD_ALLOW_SEALING);
	TEST_ASSERT(plain >= 0 && sealable >= 0, "memfd");

	/* Default: an unsealable memfd is accepted (DPDK and QEMU memory often is). */
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, 0x100000, 0x10000, 0, plain, &r), "default");
	close(s);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 1), "session not closed");

	TEST_ASSERT_SUCCESS(set_opts_restart(d, RTE_VFIO_USER_SOCK_F_SEALED_DMA, 0, 0, 0),
		"restart");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 2, 0x100000, 0x10000, 0, plain, &r), EPERM,
		"unsealable memfd mapped");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 3, 0x100000, 0x10000, 0, sealable, &r),
		"sealable memfd refused");
	seals = fcntl(sealable, F_GET_SEALS);
	TEST_ASSERT(seals >= 0 && (seals & F_SEAL_SHRINK), "not sealed: 0x%x", seals);
	TEST_ASSERT(ftruncate(sealable, 0x1000) < 0 && errno == EPERM, "memfd still shrinks");
	close(s);
	close(plain);
	close(sealable);
	dev_free(d);
	return TEST_SUCCESS;
}

/*
 * Fault injection
 */

static int
test_peer_dies(void)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x100000,
		.size = 0x10000 };
	struct vfio_user_hdr hdr = { .msg_id = 2, .cmd = VFIO_USER_DMA_MAP,
		.size = VFIO_USER_HDR_SIZE + sizeof(map) };
	struct tdev *d;
	struct leak_snap before, after;
	uint8_t buf[sizeof(hdr) + sizeof(map)];
	char path[PATH_LEN];
	struct rmsg r;
	int s, mfd;

	d = dev_new(path, "dies", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	TEST_ASSERT_SUCCESS(served(d), "warm-up");
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 1), "warm-up session");
	leak_snap(&before);

	/* Mid-header, before VERSION. */
	s = raw_connect(path);
	TEST_ASSERT(s >= 0, "connect");
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, &hdr, 7), "send");
	close(s);
	TEST_ASSERT_SUCCESS(served(d), "not served after a half header");
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 2), "session");

	/* Mid-DMA_MAP: the header, 10 bytes of payload and the fd, then gone. */
	mfd = memfd_of(0x10000, 0);
	TEST_ASSERT(mfd >= 0, "memfd");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &map, sizeof(map));
	{
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(hdr) + 10 };

		TEST_ASSERT_SUCCESS(raw_sendv(s, &iov, 1, &mfd, 1), "send");
	}
	usleep(20 * 1000);
	close(s);
	close(mfd);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 3), "session");
	TEST_ASSERT_SUCCESS(served(d), "not served after a half DMA_MAP");

	/* Mid-session with a mapping and interrupts: everything dropped. */
	mfd = memfd_of(0x10000, 0);
	s = raw_connect(path);
	TEST_ASSERT(s >= 0 && mfd >= 0, "connect");
	TEST_ASSERT_SUCCESS(raw_negotiate(s, &r), "negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, 0x100000, 0x10000, 0, mfd, &r), "map");
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, buf, 20), "send");
	close(s);
	close(mfd);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 5), "session");

	/* While the server waits for its DMA_READ reply (the device's DMA job). */
	{
		const uint64_t iova = 0x100000, len = 64;
		struct vfio_user_region_access acc = { .offset = TDEV_REG_DMA_IOVA,
			.region = TDEV_BAR_CB, .count = 8 };
		uint8_t wr[sizeof(acc) + 8];
		int64_t rc;

		d->cb_dma_job = true;
		memcpy(d->cb_mem + TDEV_REG_DMA_LEN, &len, sizeof(len));
		s = raw_session(path, &r);
		TEST_ASSERT(s >= 0, "connect or negotiate");
		TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, iova, 0x1000, 0, -1, &r), "map");
		memcpy(wr, &acc, sizeof(acc));
		memcpy(wr + sizeof(acc), &iova, sizeof(iova));
		TEST_ASSERT_SUCCESS(raw_send(s, 3, VFIO_USER_REGION_WRITE, 0, wr, sizeof(wr),
			NULL, 0), "send");
		TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "no DMA_READ");
		TEST_ASSERT_EQUAL(r.hdr.cmd, VFIO_USER_DMA_READ, "command %u", r.hdr.cmd);
		close(s);
		TEST_ASSERT_SUCCESS(wait_destroyed(d, 6), "session");
		d->cb_dma_job = false;
		memcpy(&rc, d->cb_mem + TDEV_REG_DMA_RD_RC, sizeof(rc));
		TEST_ASSERT(rc < 0, "DMA read of a dead client returned %" PRId64, rc);
		TEST_ASSERT_SUCCESS(served(d), "not served after a client died mid-DMA");
		TEST_ASSERT_SUCCESS(wait_destroyed(d, 7), "session");
	}
	TEST_ASSERT_SUCCESS(leak_wait(&before, LEAK_MS, &after),
		"leak: fds %d -> %d, maps %d -> %d", before.fds, after.fds, before.maps,
		after.maps);
	dev_free(d);
	return TEST_SUCCESS;
}

/*
 * Error replies to the server's DMA_READ with error fields that are not
 * errno values (0, INT_MIN, above 4095): the device sees -EIO, the peer's
 * errno otherwise. Found by the server fuzz target (negating INT_MIN).
 */
static int
test_dma_error_reply(void)
{
	const uint32_t errs[] = { 0, 0x80000000u, 0xffffffffu, 4096, EFAULT };
	const int64_t want[] = { -EIO, -EIO, -EIO, -EIO, -EFAULT };
	struct vfio_user_region_access acc = { .offset = TDEV_REG_DMA_IOVA,
		.region = TDEV_BAR_CB, .count = 8 };
	struct tdev *d;
	const uint64_t iova = 0x100000, len = 64;
	uint8_t wr[sizeof(acc) + 8];
	char path[PATH_LEN];
	struct vfio_user_hdr h;
	struct rmsg r;
	unsigned int i;
	int64_t rc;
	int s;

	d = dev_new(path, "dmaerr", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	d->cb_dma_job = true;
	memcpy(d->cb_mem + TDEV_REG_DMA_LEN, &len, sizeof(len));
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, iova, 0x1000, 0, -1, &r), "map");
	memcpy(wr, &acc, sizeof(acc));
	memcpy(wr + sizeof(acc), &iova, sizeof(iova));
	for (i = 0; i < RTE_DIM(errs); i++) {
		TEST_ASSERT_SUCCESS(raw_send(s, 10 + i, VFIO_USER_REGION_WRITE, 0, wr, sizeof(wr),
			NULL, 0), "send");
		TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "no DMA_READ");
		TEST_ASSERT_EQUAL(r.hdr.cmd, VFIO_USER_DMA_READ, "command %u", r.hdr.cmd);
		h = (struct vfio_user_hdr){ .msg_id = r.hdr.msg_id, .cmd = r.hdr.cmd,
			.size = VFIO_USER_HDR_SIZE,
			.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, .error = errs[i] };
		TEST_ASSERT_SUCCESS(raw_send_bytes(s, &h, sizeof(h)), "send error reply");
		/* The failed read skips nothing: the job still writes back (unmapped: no fd). */
		do {
			TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "no REGION_WRITE reply");
			if (r.hdr.cmd == VFIO_USER_DMA_WRITE) {
				h = (struct vfio_user_hdr){ .msg_id = r.hdr.msg_id,
					.cmd = r.hdr.cmd, .size = VFIO_USER_HDR_SIZE,
					.flags = VFIO_USER_F_TYPE_REPLY };
				TEST_ASSERT_SUCCESS(raw_send_bytes(s, &h, sizeof(h)),
					"send");
			}
		} while (r.hdr.msg_id != 10 + i || r.hdr.cmd != VFIO_USER_REGION_WRITE);
		memcpy(&rc, d->cb_mem + TDEV_REG_DMA_RD_RC, sizeof(rc));
		TEST_ASSERT_EQUAL(rc, want[i], "error field 0x%x: dma_read returned %" PRId64,
			errs[i], rc);
	}
	TEST_ASSERT_SUCCESS(raw_get_info(s, 100, &r), "session lost");
	close(s);
	dev_free(d);
	return TEST_SUCCESS;
}

/* A message dribbled one byte at a time is served like any other. */
static int
test_partial_writes(void)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	struct vfio_user_hdr hdr = { .msg_id = 7, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = VFIO_USER_HDR_SIZE + sizeof(info) };
	struct tdev *d;
	uint8_t buf[sizeof(hdr) + sizeof(info)];
	struct vfio_user_device_info got;
	char path[PATH_LEN];
	struct rmsg r;
	size_t i;
	int s;

	d = dev_new(path, "part", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &info, sizeof(info));
	for (i = 0; i < sizeof(buf); i++) {
		TEST_ASSERT_SUCCESS(raw_send_bytes(s, buf + i, 1), "send");
		usleep(2000);
	}
	TEST_ASSERT_SUCCESS(rmsg_recv(s, &r, RX_MS), "no reply");
	TEST_ASSERT(r.hdr.msg_id == 7 && !(r.hdr.flags & VFIO_USER_F_ERROR) &&
		r.len == sizeof(got), "bad reply");
	memcpy(&got, r.data, sizeof(got));
	TEST_ASSERT_EQUAL(got.num_regions, d->dev_info.num_regions, "num_regions");
	close(s);
	dev_free(d);
	return TEST_SUCCESS;
}

/* A fake server that answers VERSION (when answer_version) then sends half a reply and dies. */
struct fake_srv {
	int lfd;
	bool answer_version;
	bool dribble; /* answer the second command whole, one byte at a time */
};

static void *
fake_srv_run(void *arg)
{
	struct fake_srv *f = arg;
	uint8_t half[16 + 8];
	struct rmsg r;
	struct vfio_user_hdr h;
	int s;

	s = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return NULL;
	if (rmsg_recv(s, &r, RX_MS) < 0)
		goto out;
	rmsg_close_fds(&r);
	if (f->answer_version) {
		struct vfio_user_version v = { 0, 0 };

		if (raw_send(s, r.hdr.msg_id, r.hdr.cmd, VFIO_USER_F_TYPE_REPLY, &v, sizeof(v),
				NULL, 0) < 0 || rmsg_recv(s, &r, RX_MS) < 0)
			goto out;
		rmsg_close_fds(&r);
	}
	if (f->dribble) {
		struct vfio_user_device_info info = { .argsz = sizeof(info),
			.flags = VFIO_DEVICE_FLAGS_PCI, .num_regions = 9, .num_irqs = 5 };
		uint8_t whole[sizeof(h) + sizeof(info)];
		size_t i;

		h = (struct vfio_user_hdr){ .msg_id = r.hdr.msg_id, .cmd = r.hdr.cmd,
			.size = sizeof(whole), .flags = VFIO_USER_F_TYPE_REPLY };
		memcpy(whole, &h, sizeof(h));
		memcpy(whole + sizeof(h), &info, sizeof(info));
		for (i = 0; i < sizeof(whole); i++) {
			if (raw_send_bytes(s, whole + i, 1) < 0)
				break;
			usleep(1000);
		}
		/* Until the client goes. */
		while (rmsg_recv(s, &r, RX_MS) == 0)
			rmsg_close_fds(&r);
		goto out;
	}
	/* A reply header that announces 64 bytes, 8 of which come. */
	h = (struct vfio_user_hdr){ .msg_id = r.hdr.msg_id, .cmd = r.hdr.cmd,
		.size = VFIO_USER_HDR_SIZE + 64, .flags = VFIO_USER_F_TYPE_REPLY };
	memcpy(half, &h, sizeof(h));
	memset(half + sizeof(h), 0, 8);
	raw_send_bytes(s, half, sizeof(half));
	usleep(50 * 1000);
out:
	close(s);
	return NULL;
}

static int
test_server_dies_mid_reply(void)
{
	struct fake_srv f;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct leak_snap before, after;
	struct vfio_device_info info;
	char path[PATH_LEN];
	pthread_t thr;
	uint64_t t0;
	int dev, ret;

	mkpath(path, sizeof(path), "fake");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	leak_snap(&before);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(f.lfd >= 0 && bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		listen(f.lfd, 2) == 0, "listen");

	/* A reply that arrives one byte at a time is read whole. */
	f.answer_version = true;
	f.dribble = true;
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, fake_srv_run, &f), "thread");
	dev = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(dev >= 0, "attach: %d", dev);
	memset(&info, 0, sizeof(info));
	ret = rte_vfio_user_get_dev_info(dev, &info);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(dev), "detach");
	pthread_join(thr, NULL);
	TEST_ASSERT_SUCCESS(ret, "get_dev_info of a dribbled reply: %d", ret);
	TEST_ASSERT(info.num_regions == 9 && info.num_irqs == 5, "dribbled reply misread");
	f.dribble = false;

	/* Mid VERSION reply: attach fails, quickly. */
	f.answer_version = false;
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, fake_srv_run, &f), "thread");
	t0 = now_ms();
	ret = rte_vfio_user_attach_dev(path);
	pthread_join(thr, NULL);
	TEST_ASSERT(ret < 0, "attach to a dying server succeeded");
	TEST_ASSERT(now_ms() - t0 < g_lim0.reply_timeout_ms, "attach waited for the timeout");

	/* Mid GET_INFO reply. */
	f.answer_version = true;
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, fake_srv_run, &f), "thread");
	dev = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(dev >= 0, "attach: %d", dev);
	memset(&info, 0, sizeof(info));
	t0 = now_ms();
	ret = rte_vfio_user_get_dev_info(dev, &info);
	pthread_join(thr, NULL);
	TEST_ASSERT_EQUAL(ret, -ENOTCONN, "get_dev_info: %d", ret);
	TEST_ASSERT(now_ms() - t0 < g_lim0.reply_timeout_ms, "call waited for the timeout");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(dev, &info), -ENOTCONN, "second call");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(dev), "detach");
	close(f.lfd);
	unlink(path);
	TEST_ASSERT_SUCCESS(leak_wait(&before, LEAK_MS, &after),
		"leak: fds %d -> %d, maps %d -> %d", before.fds, after.fds, before.maps,
		after.maps);
	return TEST_SUCCESS;
}

/* Signals without SA_RESTART interrupt blocking calls of both sides: none may fail. */
static volatile int g_sigs;

static void
on_sigusr1(int sig)
{
	RTE_SET_USED(sig);
	g_sigs++;
}

struct sig_arg {
	pthread_t target;
	volatile bool stop;
};

static void *
sig_run(void *arg)
{
	struct sig_arg *a = arg;

	unsigned int n = 0;

	/* The calling thread, and any thread of the process (the control thread too). */
	while (!a->stop) {
		if (n++ % 2 == 0)
			pthread_kill(a->target, SIGUSR1);
		else
			kill(getpid(), SIGUSR1);
		usleep(200);
	}
	return NULL;
}

static int
test_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 }, old;
	struct tdev *d;
	struct sig_arg a = { .target = pthread_self(), .stop = false };
	uint8_t buf[256];
	pthread_t thr;
	char path[PATH_LEN];
	int dev = -1, i, ret = 0;
	uint64_t t0;
	ssize_t n;

	d = dev_new(path, "intr", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: system calls return EINTR */
	TEST_ASSERT_SUCCESS(sigaction(SIGUSR1, &sa, &old), "sigaction");
	g_sigs = 0;
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, sig_run, &a), "thread");
	/* Cycles until 200 signals came (one every 200 us), 5 s at most on a loaded machine. */
	t0 = now_ms();
	for (i = 0; (i < 20 || g_sigs < 200) && now_ms() - t0 < 5000 && ret == 0; i++) {
		dev = rte_vfio_user_attach_dev(path);
		if (dev < 0) {
			ret = dev;
			break;
		}
		n = rte_vfio_user_region_read(dev, TDEV_BAR_BASE, 0, buf, sizeof(buf));
		if (n != (ssize_t)sizeof(buf))
			ret = n < 0 ? (int)n : -EIO;
		rte_vfio_user_detach_dev(dev);
	}
	a.stop = true;
	pthread_join(thr, NULL);
	/* Ignoring discards a signal still pending, which the old action might not survive. */
	signal(SIGUSR1, SIG_IGN);
	sigaction(SIGUSR1, &old, NULL);
	printf("%d signals delivered\n", g_sigs);
	TEST_ASSERT_SUCCESS(ret, "cycle %d failed under signals: %d", i, ret);
	TEST_ASSERT(g_sigs >= 20, "only %d signals delivered", g_sigs);
	dev_free(d);
	return TEST_SUCCESS;
}

/* CPU time of the process, in ms. */
static uint64_t
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
highest_fd(void)
{
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	int max = -1, fd;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd > max)
			max = fd;
	}
	closedir(dir);
	return max;
}

/*
 * No descriptor left: accept() fails with EMFILE, the server must neither
 * spin on its readable listening socket nor lose the client for good, and
 * the client API must fail cleanly.
 */
static int
test_fd_exhaustion(void)
{
	struct leak_snap idle, now;
	struct tdev *d;
	struct rlimit rl0, rl;
	static int fillers[4096];
	int nfill = 0, s, top, ret, dev;
	uint64_t c0, c1;
	char path[PATH_LEN];
	struct rmsg r;

	d = dev_new(path, "mfile", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	leak_snap(&idle);
	TEST_ASSERT_SUCCESS(served(d), "warm-up");
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 1), "session");
	/*
	 * The session closes its descriptors after destroy_device: wait until
	 * they are gone, or they would free slots under the limit set below.
	 */
	TEST_ASSERT_SUCCESS(leak_wait(&idle, LEAK_MS, &now), "warm-up session not closed");
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(s >= 0, "socket");
	TEST_ASSERT_SUCCESS(getrlimit(RLIMIT_NOFILE, &rl0), "getrlimit");

	/* Every descriptor number below the limit in use. */
	top = highest_fd();
	rl = rl0;
	rl.rlim_cur = top + 1;
	TEST_ASSERT_SUCCESS(setrlimit(RLIMIT_NOFILE, &rl), "setrlimit");
	while (nfill < (int)RTE_DIM(fillers)) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			break;
		fillers[nfill++] = fd;
	}
	ret = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ret >= 0) {
		close(ret);
		ret = -1;
		goto restore;
	}

	/* The client API fails cleanly. */
	dev = rte_vfio_user_attach_dev(path);
	if (dev >= 0) {
		rte_vfio_user_detach_dev(dev);
		ret = -2;
		goto restore;
	}

	/* A client in the backlog the server cannot accept: no spinning. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ret = -3;
			goto restore;
		}
	}
	c0 = cpu_ms();
	usleep(500 * 1000);
	c1 = cpu_ms();
	ret = c1 - c0 > 100 ? -4 : 0;
	printf("CPU time while accept() fails: %" PRIu64 " ms in 500 ms\n", c1 - c0);
restore:
	/* Limit first: freeing one descriptor at a time would let accept() win a lone one. */
	setrlimit(RLIMIT_NOFILE, &rl0);
	while (nfill > 0)
		close(fillers[--nfill]);
	TEST_ASSERT(ret != -1, "could not exhaust descriptors");
	TEST_ASSERT(ret != -2, "attach succeeded without descriptors");
	TEST_ASSERT(ret != -3, "connect failed");
	TEST_ASSERT(ret != -4, "the control thread spins on accept()");

	/* Descriptors again: the waiting client is served. */
	TEST_ASSERT_SUCCESS(raw_negotiate(s, &r), "waiting client not served");
	TEST_ASSERT_SUCCESS(raw_get_info(s, 2, &r), "GET_INFO");
	close(s);
	dev_free(d);
	return TEST_SUCCESS;
}

/* Descriptors the server cannot map: errors, no crash, no mapping left. */
static int
test_mmap_failures(void)
{
	struct tdev *d;
	struct leak_snap before, after;
	int s, small, efd, dirfd;
	char path[PATH_LEN];
	struct rmsg r;

	d = dev_new(path, "mmap", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	small = memfd_of(0x1000, 0);
	efd = eventfd(0, EFD_CLOEXEC);
	dirfd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	TEST_ASSERT(small >= 0 && efd >= 0 && dirfd >= 0, "descriptors");
	leak_snap(&before);
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 2, 0x100000, 0x10000, 0, small, &r), EINVAL,
		"file smaller than the window");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 3, 0x100000, 0x1000, 0x1000, small, &r), EINVAL,
		"offset at the end of the file");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 4, 0x100000, 0x1000, UINT64_MAX - 0xfff, small, &r),
		EINVAL, "offset near 2^64");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 5, 0x100000, 0x1000, 0, efd, &r), EINVAL, "eventfd");
	TEST_ASSERT_EQUAL(raw_dma_map(s, 6, 0x100000, 0x1000, 0, dirfd, &r), EINVAL, "directory");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 7, 0x100000, 0x1000, 0, small, &r), "valid map");
	TEST_ASSERT_SUCCESS(raw_get_info(s, 8, &r), "session lost");
	close(s);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, 1), "session");
	TEST_ASSERT_SUCCESS(leak_wait(&before, LEAK_MS, &after),
		"leak: fds %d -> %d, maps %d -> %d", before.fds, after.fds, before.maps,
		after.maps);
	close(small);
	close(efd);
	close(dirfd);
	dev_free(d);
	return TEST_SUCCESS;
}

/*
 * One control thread serves every device: a callback that blocks delays the
 * other devices by as long as it blocks (the documented bound), and they
 * are served as soon as it returns, without error.
 */
struct slow_arg {
	int dev;
	ssize_t ret;
};

static void *
slow_write(void *arg)
{
	struct slow_arg *a = arg;
	uint64_t v = 1;

	a->ret = rte_vfio_user_region_write(a->dev, TDEV_BAR_CB, 0, &v, sizeof(v));
	return NULL;
}

static int
test_blocking_callback(void)
{
	const uint32_t block_ms = 1100; /* past the library's 1 s slow-command warning */
	struct tdev *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct slow_arg sa;
	struct vfio_device_info info;
	char pa[PATH_LEN], pb[PATH_LEN];
	uint64_t t0, waited;
	char *log_buf = NULL;
	size_t log_len = 0;
	bool slow_logged;
	pthread_t thr;
	FILE *logs;
	int db, ret;

	TEST_ASSERT(a != NULL && b != NULL, "no memory");
	mkpath(pa, sizeof(pa), "slowa");
	mkpath(pb, sizeof(pb), "slowb");
	TEST_ASSERT_SUCCESS(tdev_create(a, pa, NULL, true), "tdev_create a");
	TEST_ASSERT_SUCCESS(tdev_create(b, pb, NULL, true), "tdev_create b");
	sa.dev = rte_vfio_user_attach_dev(pa);
	db = rte_vfio_user_attach_dev(pb);
	TEST_ASSERT(sa.dev >= 0 && db >= 0, "attach");
	a->cb_sleep_ms = block_ms;
	logs = open_memstream(&log_buf, &log_len);
	TEST_ASSERT_NOT_NULL(logs, "open_memstream");
	rte_openlog_stream(logs);
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, slow_write, &sa), "thread");
	usleep(50 * 1000);
	memset(&info, 0, sizeof(info));
	t0 = now_ms();
	ret = rte_vfio_user_get_dev_info(db, &info);
	waited = now_ms() - t0;
	pthread_join(thr, NULL);
	a->cb_sleep_ms = 0;
	rte_openlog_stream(NULL);
	fclose(logs);
	slow_logged = log_buf != NULL && strstr(log_buf, "held the control thread") != NULL;
	if (!slow_logged)
		printf("logs while blocked:\n%s\n", log_buf != NULL ? log_buf : "(none)");
	free(log_buf);
	printf("device b answered after %" PRIu64 " ms while a blocked %u ms\n", waited,
		block_ms);
	TEST_ASSERT_SUCCESS(ret, "device b failed while a blocked");
	TEST_ASSERT_EQUAL(sa.ret, (ssize_t)sizeof(uint64_t), "slow write failed");
	TEST_ASSERT(waited < block_ms + 1000, "device b waited %" PRIu64 " ms", waited);
	TEST_ASSERT(slow_logged, "no warning about the blocked control thread");
	rte_vfio_user_detach_dev(sa.dev);
	rte_vfio_user_detach_dev(db);
	tdev_destroy(a);
	tdev_destroy(b);
	free(a);
	free(b);
	return TEST_SUCCESS;
}

static int
suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-harden-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_lim0), "limits_get");
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	char cmd[128];

	rte_vfio_user_limits_set(&g_lim0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", g_dir);
}

static struct unit_test_suite harden_suite = {
	.suite_name = "vfio-user hardening",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("socket mode", test_sock_mode),
		TEST_CASE_NAMED("refused socket paths", test_sock_paths),
		TEST_CASE_NAMED("peer credentials", test_peer_cred),
		TEST_CASE_NAMED("limit: DMA maps", test_limit_dma_maps),
		TEST_CASE_NAMED("limit: mapped bytes", test_limit_mapped_bytes),
		TEST_CASE_NAMED("limit: message size", test_limit_msg_size),
		TEST_CASE_NAMED("limit: pending messages", test_limit_pending),
		TEST_CASE_NAMED("sealed DMA descriptors", test_sealed_dma),
		TEST_CASE_NAMED("client dies mid-message", test_peer_dies),
		TEST_CASE_NAMED("DMA error replies", test_dma_error_reply),
		TEST_CASE_NAMED("partial writes", test_partial_writes),
		TEST_CASE_NAMED("partial reads, server dies mid-reply", test_server_dies_mid_reply),
		TEST_CASE_NAMED("EINTR", test_eintr),
		TEST_CASE_NAMED("descriptor exhaustion", test_fd_exhaustion),
		TEST_CASE_NAMED("mmap failures", test_mmap_failures),
		TEST_CASE_NAMED("blocking callback", test_blocking_callback),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_harden(void)
{
	return unit_test_suite_runner(&harden_suite);
}

REGISTER_TEST_COMMAND(vfio_user_harden_autotest, test_vfio_user_harden);

/*
 * Soak
 */

#define SOAK_CYCLES 1000
#define SOAK_WARMUP 20
#define SOAK_MEM_SLACK (1u << 20)

/* Heap bytes in use (the sanitizer's count under ASan, whose malloc it replaces). */
static size_t
heap_in_use(void)
{
#ifdef HT_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static int
soak_cycle(const char *path, uint8_t *mem, int mfd)
{
	struct rte_vfio_user_mem_reg reg = { .iova = 0x100000, .size = 0x10000,
		.prot = PROT_READ | PROT_WRITE, .vaddr = mem };
	uint64_t v;
	int dev, ret;

	dev = rte_vfio_user_attach_dev(path);
	if (dev < 0)
		return dev;
	ret = rte_vfio_user_dma_map(dev, &reg, &mfd, 1);
	if (ret == 0 && rte_vfio_user_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)) !=
			sizeof(v))
		ret = -EIO;
	rte_vfio_user_detach_dev(dev);
	return ret;
}

static int
test_vfio_user_soak(void)
{
	struct leak_snap before, after;
	struct tdev *d;
	size_t heap0, heap1;
	uint64_t t0;
	uint8_t *mem;
	char path[PATH_LEN];
	int i, mfd, ret = 0;

	TEST_ASSERT_SUCCESS(suite_setup(), "setup");
	d = dev_new(path, "soak", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	mfd = memfd_of(0x10000, 0);
	TEST_ASSERT(mfd >= 0, "memfd");
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");

	for (i = 0; i < SOAK_WARMUP && ret == 0; i++)
		ret = soak_cycle(path, mem, mfd);
	TEST_ASSERT_SUCCESS(ret, "warm-up cycle %d: %d", i, ret);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, SOAK_WARMUP), "warm-up sessions");
	leak_snap(&before);
	heap0 = heap_in_use();
	t0 = now_ms();
	for (i = 0; i < SOAK_CYCLES && ret == 0; i++)
		ret = soak_cycle(path, mem, mfd);
	TEST_ASSERT_SUCCESS(ret, "cycle %d: %d", i, ret);
	TEST_ASSERT_SUCCESS(wait_destroyed(d, SOAK_WARMUP + SOAK_CYCLES), "sessions not closed");
	TEST_ASSERT_SUCCESS(leak_wait(&before, LEAK_MS, &after),
		"leak after %d cycles: fds %d -> %d, maps %d -> %d", SOAK_CYCLES, before.fds,
		after.fds, before.maps, after.maps);
	heap1 = heap_in_use();
	printf("%d cycles in %" PRIu64 " ms; fds %d, file maps %d, heap %zu -> %zu bytes\n",
		SOAK_CYCLES, now_ms() - t0, after.fds, after.maps, heap0, heap1);
	TEST_ASSERT(heap1 < heap0 + SOAK_MEM_SLACK, "heap grew by %zu bytes", heap1 - heap0);
	munmap(mem, 0x10000);
	close(mfd);
	dev_free(d);
	suite_teardown();
	return TEST_SUCCESS;
}

REGISTER_TEST_COMMAND(vfio_user_soak_autotest, test_vfio_user_soak);

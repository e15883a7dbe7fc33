/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Hardening of the server socket (mode, paths it refuses, peer credentials)
 * and of the per-session limits.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

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
	TEST_ASSERT_SUCCESS(tdev_served(d), "client not served");

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
	TEST_ASSERT_SUCCESS(tdev_served(d), "client not served");
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
	return rte_vfio_user_limits_set(&g_def_limits);
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
	return rte_vfio_user_limits_set(&g_def_limits);
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
	/* A limit below the default the client would assume: CAPS proposes the key. */
	s = raw_session(path, &r);
	TEST_ASSERT(s >= 0, "connect or negotiate");
	r.data[RTE_MIN(r.len, (uint32_t)sizeof(r.data) - 1)] = '\0';
	TEST_ASSERT(r.len > sizeof(struct vfio_user_version) &&
		strstr((char *)r.data + sizeof(struct vfio_user_version),
			"\"max_data_xfer_size\":32768") != NULL, "VERSION reply without the limit");
	/* Only the header is sent: the server must not wait for (or allocate) the rest. */
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, &hdr, sizeof(hdr)), "send");
	TEST_ASSERT_SUCCESS(closed_within(s, RX_MS), "oversized message: not closed");
	close(s);
	TEST_ASSERT_SUCCESS(tdev_served(d), "not served after");
	dev_free(d);
	return rte_vfio_user_limits_set(&g_def_limits);
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
	return rte_vfio_user_limits_set(&g_def_limits);
}

/*
 * "The server will process commands in the order they are received."
 * Commands refused for a full queue get their ENOBUFS in their turn.
 */

/* A session whose server waits for our DMA_READ reply (in r) to the device's job. */
static int
pending_setup(struct tdev *d, const char *path, struct rmsg *r)
{
	struct vfio_user_region_access acc = { .offset = TDEV_REG_DMA_IOVA,
		.region = TDEV_BAR_CB, .count = 8 };
	const uint64_t iova = 0x100000, len = 64;
	uint8_t wr[sizeof(acc) + 8];
	int s;

	d->cb_dma_job = true;
	memcpy(d->cb_mem + TDEV_REG_DMA_LEN, &len, sizeof(len));
	s = raw_session(path, r);
	if (s < 0)
		return s;
	if (raw_dma_map(s, 2, iova, 0x1000, 0, -1, r) != 0)
		goto fail;
	/* The device's DMA job reads the window through DMA_READ: the server waits. */
	memcpy(wr, &acc, sizeof(acc));
	memcpy(wr + sizeof(acc), &iova, sizeof(iova));
	if (raw_send(s, 3, VFIO_USER_REGION_WRITE, 0, wr, sizeof(wr), NULL, 0) < 0 ||
			rmsg_recv(s, r, RX_MS) < 0 || r->hdr.cmd != VFIO_USER_DMA_READ)
		goto fail;
	return s;
fail:
	close(s);
	return -1;
}

/* Answer the DMA_READ in r, then the DMA_WRITEs, until the reply with @id; that reply in r. */
static int
pending_answer(int s, struct rmsg *r, uint16_t id)
{
	struct vfio_user_dma_access acc;
	struct vfio_user_dma_write_reply wrep;
	uint8_t rep[sizeof(acc) + 64];

	memcpy(&acc, r->data, sizeof(acc));
	memcpy(rep, &acc, sizeof(acc));
	memset(rep + sizeof(acc), 0x5a, sizeof(rep) - sizeof(acc));
	if (raw_send(s, r->hdr.msg_id, VFIO_USER_DMA_READ, VFIO_USER_F_TYPE_REPLY, rep,
			sizeof(rep), NULL, 0) < 0)
		return -1;
	for (;;) {
		if (rmsg_recv(s, r, RX_MS) < 0)
			return -1;
		rmsg_close_fds(r);
		if ((r->hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY)
			return r->hdr.msg_id == id ? 0 : -1;
		if (r->hdr.cmd != VFIO_USER_DMA_WRITE)
			return -1;
		memcpy(&acc, r->data, sizeof(acc));
		wrep.addr = acc.addr;
		wrep.count = (uint32_t)acc.count;
		if (raw_send(s, r->hdr.msg_id, VFIO_USER_DMA_WRITE, VFIO_USER_F_TYPE_REPLY, &wrep,
				sizeof(wrep), NULL, 0) < 0)
			return -1;
	}
}

static int
pending_in_order(struct tdev *d, const char *path)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	unsigned int i, nobufs = 0;
	struct rmsg r;
	int s, ret = TEST_FAILED;

	s = pending_setup(d, path, &r);
	TEST_ASSERT(s >= 0, "no DMA_READ from the device's job");
	/* Two fit in the queue, two are refused (as many refusals as queued). */
	for (i = 0; i < 4; i++)
		if (raw_send(s, 100 + i, VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info),
				NULL, 0) < 0)
			goto out;
	usleep(200 * 1000);
	if (pending_answer(s, &r, 3) < 0) {
		printf("the REGION_WRITE reply did not come first\n");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		if (rmsg_recv(s, &r, RX_MS) < 0 || r.hdr.msg_id != 100 + i) {
			printf("reply %u missing or out of order (got id %u)\n", i, r.hdr.msg_id);
			goto out;
		}
		rmsg_close_fds(&r);
		if (r.hdr.flags & VFIO_USER_F_ERROR) {
			if (r.hdr.error != ENOBUFS) {
				printf("error %u\n", r.hdr.error);
				goto out;
			}
			nobufs++;
		}
	}
	if (nobufs < 1) {
		printf("no command was refused: the case did not run\n");
		goto out;
	}
	/* A refused No_reply command cannot be reported: the connection ends. */
	close(s);
	s = pending_setup(d, path, &r);
	if (s < 0) {
		printf("no DMA_READ from the device's job\n");
		goto out;
	}
	for (i = 0; i < 3; i++)
		if (raw_send(s, 200 + i, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_NO_REPLY, &info,
				sizeof(info), NULL, 0) < 0)
			goto out;
	usleep(200 * 1000);
	if (pending_answer(s, &r, 3) < 0 || closed_now(s) < 0) {
		printf("no REGION_WRITE reply, or refused No_reply command dropped silently\n");
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	if (s >= 0)
		close(s);
	return ret;
}

static int
test_limit_pending_order(void)
{
	struct rte_vfio_user_limits lim = { .max_pending_msgs = 2 };
	char path[PATH_LEN];
	struct tdev *d;
	int ret;

	TEST_ASSERT_SUCCESS(set_limits(&lim), "limits");
	d = dev_new(path, "order", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	ret = pending_in_order(d, path);
	dev_free(d);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
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
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 1), "session not closed");

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

static struct unit_test_suite harden_suite = {
	.suite_name = "vfio-user hardening",
	.setup = raw_suite_setup,
	.teardown = raw_suite_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("socket mode", test_sock_mode),
		TEST_CASE_NAMED("refused socket paths", test_sock_paths),
		TEST_CASE_NAMED("peer credentials", test_peer_cred),
		TEST_CASE_NAMED("limit: DMA maps", test_limit_dma_maps),
		TEST_CASE_NAMED("limit: mapped bytes", test_limit_mapped_bytes),
		TEST_CASE_NAMED("limit: message size", test_limit_msg_size),
		TEST_CASE_NAMED("limit: pending messages", test_limit_pending),
		TEST_CASE_NAMED("limit: refused commands in order", test_limit_pending_order),
		TEST_CASE_NAMED("sealed DMA descriptors", test_sealed_dma),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_harden_autotest, harden_suite, 0);

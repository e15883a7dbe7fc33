/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Fault injection: peers that die halfway, partial writes and reads,
 * signals, descriptor exhaustion, failing mappings, a device callback that
 * blocks.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

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
	TEST_ASSERT_SUCCESS(tdev_served(d), "warm-up");
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 1), "warm-up session");
	leak_snap(&before);

	/* Mid-header, before VERSION. */
	s = raw_connect(path);
	TEST_ASSERT(s >= 0, "connect");
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, &hdr, 7), "send");
	close(s);
	TEST_ASSERT_SUCCESS(tdev_served(d), "not served after a half header");
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 2), "session");

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
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 3), "session");
	TEST_ASSERT_SUCCESS(tdev_served(d), "not served after a half DMA_MAP");

	/* Mid-session with a mapping and interrupts: everything dropped. */
	mfd = memfd_of(0x10000, 0);
	s = raw_connect(path);
	TEST_ASSERT(s >= 0 && mfd >= 0, "connect");
	TEST_ASSERT_SUCCESS(raw_negotiate(s, &r), "negotiate");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, 0x100000, 0x10000, 0, mfd, &r), "map");
	TEST_ASSERT_SUCCESS(raw_send_bytes(s, buf, 20), "send");
	close(s);
	close(mfd);
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 5), "session");

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
		TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 6), "session");
		d->cb_dma_job = false;
		memcpy(&rc, d->cb_mem + TDEV_REG_DMA_RD_RC, sizeof(rc));
		TEST_ASSERT(rc < 0, "DMA read of a dead client returned %" PRId64, rc);
		TEST_ASSERT_SUCCESS(tdev_served(d), "not served after a client died mid-DMA");
		TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 7), "session");
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
	TEST_ASSERT(now_ms() - t0 < g_def_limits.reply_timeout_ms, "attach waited for the timeout");

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
	TEST_ASSERT(now_ms() - t0 < g_def_limits.reply_timeout_ms, "call waited for the timeout");
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
static int g_sigs;

static void
on_sigusr1(int sig)
{
	int err = errno;

	RTE_SET_USED(sig);
	__atomic_fetch_add(&g_sigs, 1, __ATOMIC_RELAXED);
	errno = err;
}

static int
sigs_seen(void)
{
	return __atomic_load_n(&g_sigs, __ATOMIC_RELAXED);
}

struct sig_arg {
	pthread_t target;
	bool stop;
};

static void *
sig_run(void *arg)
{
	struct sig_arg *a = arg;

	unsigned int n = 0;

	/* The calling thread, and any thread of the process (the control thread too). */
	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
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
	__atomic_store_n(&g_sigs, 0, __ATOMIC_RELAXED);
	TEST_ASSERT_SUCCESS(pthread_create(&thr, NULL, sig_run, &a), "thread");
	/* Cycles until 200 signals came (one every 200 us), 5 s at most on a loaded machine. */
	t0 = now_ms();
	for (i = 0; (i < 20 || sigs_seen() < 200) && now_ms() - t0 < 5000 && ret == 0; i++) {
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
	__atomic_store_n(&a.stop, true, __ATOMIC_RELAXED);
	pthread_join(thr, NULL);
	/* Ignoring discards a signal still pending, which the old action might not survive. */
	signal(SIGUSR1, SIG_IGN);
	sigaction(SIGUSR1, &old, NULL);
	printf("%d signals delivered\n", sigs_seen());
	TEST_ASSERT_SUCCESS(ret, "cycle %d failed under signals: %d", i, ret);
	TEST_ASSERT(sigs_seen() >= 20, "only %d signals delivered", sigs_seen());
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
	TEST_ASSERT_SUCCESS(tdev_served(d), "warm-up");
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 1), "session");
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
	if (ret == 0) {
		/*
		 * One descriptor back is not enough for a session: the server
		 * must leave the client in the backlog, not accept and drop it.
		 */
		close(fillers[--nfill]);
		usleep(300 * 1000);
	}
restore:
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
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, 1), "session");
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

static struct unit_test_suite faults_suite = {
	.suite_name = "vfio-user fault injection",
	.setup = raw_suite_setup,
	.teardown = raw_suite_teardown,
	.unit_test_cases = {
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

REGISTER_VFU_SUITE(vfio_user_faults_autotest, faults_suite, 0);

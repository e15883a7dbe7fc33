/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Suite plumbing shared by the test files: a private socket directory, the
 * default limits, and the functional fixture (a started test device with one
 * client attached through the library's own client).
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_fake_peer.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

char g_dir[64];
static unsigned int g_seq;
struct rte_vfio_user_limits g_def_limits;
static unsigned int g_kinds; /* VFU_CASES_* of the running suite */

void
mkpath(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

int
fix_open(struct fix *f, const struct tdev_cfg *cfg)
{
	char path[256];
	int ret;

	f->cid = -1;
	mkpath(path, sizeof(path), "dev");
	ret = tdev_create(&f->dev, path, cfg, true);
	if (ret < 0)
		return ret;
	ret = rte_vfio_user_attach_dev(path);
	if (ret < 0) {
		printf("attach(%s) failed: %d\n", path, ret);
		tdev_destroy(&f->dev);
		return ret;
	}
	f->cid = ret;
	if (tdev_ev_wait(&f->dev, TDEV_EV_NEW, -1, 1, EV_TIMEOUT_MS) < 0) {
		printf("no new_device after attach\n");
		rte_vfio_user_detach_dev(f->cid);
		tdev_destroy(&f->dev);
		return -ETIMEDOUT;
	}
	return 0;
}

void
fix_close(struct fix *f)
{
	if (f->cid >= 0) {
		rte_vfio_user_detach_dev(f->cid);
		f->cid = -1;
	}
	tdev_close(&f->dev, EV_TIMEOUT_MS);
}

int
run_fix(int (*body)(struct fix *), const struct tdev_cfg *cfg)
{
	struct leak_snap before;
	struct fix *f;
	int ret;

	leak_snap(&before);
	f = calloc(1, sizeof(*f));
	TEST_ASSERT_NOT_NULL(f, "no memory");
	ret = fix_open(f, cfg);
	if (ret < 0) {
		free(f);
		TEST_ASSERT_SUCCESS(ret, "fixture setup failed");
	}
	ret = body(f);
	fix_close(f);
	free(f);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

int
reg_w64(int cid, uint32_t idx, uint64_t off, uint64_t v)
{
	ssize_t r = rte_vfio_user_region_write(cid, idx, off, &v, sizeof(v));

	return r == sizeof(v) ? 0 : (r < 0 ? (int)r : -EIO);
}

int
reg_r64(int cid, uint32_t idx, uint64_t off, uint64_t *v)
{
	ssize_t r = rte_vfio_user_region_read(cid, idx, off, v, sizeof(*v));

	return r == sizeof(*v) ? 0 : (r < 0 ? (int)r : -EIO);
}

/* VFIO_USER_DEVICE_SET_IRQS with @data_len bytes of data. */
int
irq_set(int cid, uint32_t index, uint32_t flags, uint32_t start, uint32_t count,
		const void *data, size_t data_len)
{
	uint64_t buf[64];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;

	if (sizeof(*s) + data_len > sizeof(buf))
		return -E2BIG;
	memset(buf, 0, sizeof(buf));
	s->argsz = sizeof(*s) + data_len;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (data_len > 0)
		memcpy(s->data, data, data_len);
	return rte_vfio_user_set_irqs(cid, s);
}

int
make_efds(int *efd, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd[i] < 0)
			return -errno;
	}
	return 0;
}

bool
is_conn_error(int ret)
{
	return ret == -ENOTCONN || ret == -ECONNRESET;
}

/* A socket file with nobody listening behind it. */
int
make_stale_socket(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

int
count_ctrl_threads(void)
{
	char path[300], comm[64];
	struct dirent *e;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL &&
				strncmp(comm, "vfio-user-ctrl", 14) == 0)
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/*
 * Suite setup: private socket directory, default limits, and one full cycle
 * so the control thread and its descriptors exist before any leak baseline.
 */
int
vfu_suite_setup(void)
{
	struct fix *f;
	uint64_t v;
	int ret;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-test-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_def_limits), "limits_get");
	f = calloc(1, sizeof(*f));
	TEST_ASSERT_NOT_NULL(f, "no memory");
	ret = fix_open(f, NULL);
	if (ret == 0)
		ret = reg_r64(f->cid, TDEV_BAR_CB, 0, &v);
	fix_close(f);
	free(f);
	TEST_ASSERT_SUCCESS(ret, "warm-up cycle failed");
	if (g_kinds & VFU_CASES_HOSTILE)
		TEST_ASSERT_SUCCESS(hostile_setup(), "hostile client set-up");
	if (g_kinds & VFU_CASES_FAKE)
		TEST_ASSERT_SUCCESS(fake_suite_setup(), "fake server set-up");
	return TEST_SUCCESS;
}

void
vfu_suite_teardown(void)
{
	if (g_kinds & VFU_CASES_FAKE)
		fake_suite_teardown();
	if (g_kinds & VFU_CASES_HOSTILE)
		hostile_teardown();
	rte_vfio_user_limits_set(&g_def_limits);
	dir_remove(g_dir);
	g_dir[0] = '\0';
}

int
vfu_suite_run(struct unit_test_suite *suite, unsigned int kinds)
{
	int ret;

	g_kinds = kinds;
	if (kinds & VFU_CASES_HOSTILE)
		ret = hostile_suite_run(suite);
	else
		ret = unit_test_suite_runner(suite);
	g_kinds = 0;
	return ret;
}

/*
 * DMA_MAP / DMA_UNMAP, and server access to client memory.
 */
int
memfd_buf(size_t size, int *fd, uint8_t **p)
{
	*fd = memfd_create("vfu-test-dma", MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, size) < 0)
		return -errno;
	*p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*p == MAP_FAILED) {
		*p = NULL;
		return -errno;
	}
	return 0;
}

struct rte_vfio_user_mem_reg
win(uint64_t iova, uint64_t size, uint64_t fd_offset, uint32_t prot, void *vaddr)
{
	struct rte_vfio_user_mem_reg m = {
		.iova = iova, .size = size, .fd_offset = fd_offset, .prot = prot, .fd = -1,
		.vaddr = vaddr,
	};
	return m;
}

int
mem_table_entries(int sid)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(sid);

	return t == NULL ? -rte_errno : (int)t->entry_num;
}

/*
 * Raw sessions with test devices, for the hardening, fault and soak tests
 */

/* A test device on a new socket path named after @tag, written to @path; NULL on failure. */
struct tdev *
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
void
dev_free(struct tdev *d)
{
	tdev_destroy(d);
	free(d);
}

void
rmsg_close_fds(struct rmsg *m)
{
	int i;

	for (i = 0; i < m->nr_fds; i++)
		close(m->fds[i]);
	m->nr_fds = 0;
}

/* One message: 0, -ETIMEDOUT, -ECONNRESET, -EPIPE. Payload beyond 4 KiB is dropped. */
int
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
int
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

/* VERSION 0.0 with @json (NUL included; NULL: none), in @buf of 512 bytes; its length. */
static uint32_t
raw_version_msg(uint8_t *buf, const char *json)
{
	struct vfio_user_version v = { 0, 0 };
	uint32_t len = sizeof(v);

	memcpy(buf, &v, sizeof(v));
	if (json != NULL) {
		memcpy(buf + len, json, strlen(json) + 1);
		len += strlen(json) + 1;
	}
	return len;
}

static int
raw_negotiate_caps(int s, const char *json, struct rmsg *r)
{
	uint8_t buf[512];

	return raw_call(s, 1, VFIO_USER_VERSION, buf, raw_version_msg(buf, json), NULL, 0, r);
}

int
raw_negotiate(int s, struct rmsg *r)
{
	return raw_negotiate_caps(s, CAPS, r);
}

int
raw_version(const char *path, const char *json, struct rmsg *r)
{
	uint8_t buf[512];
	int s = raw_connect(path);

	if (s < 0) {
		printf("connect(%s): %d\n", path, s);
		return -1;
	}
	if (raw_send(s, 1, VFIO_USER_VERSION, 0, buf, raw_version_msg(buf, json), NULL, 0) < 0 ||
			rmsg_recv(s, r, RX_MS) < 0) {
		printf("no VERSION reply\n");
		close(s);
		return -1;
	}
	return s;
}

int
closed_now(int s)
{
	struct rmsg m;
	int ret = rmsg_recv(s, &m, RX_MS);

	rmsg_close_fds(&m);
	return ret == -ECONNRESET ? 0 : -1;
}

/* The peer closes within timeout_ms (data before the close is dropped): 0 or -ETIMEDOUT. */
int
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

int
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

int
raw_get_info(int s, uint16_t id, struct rmsg *r)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	return raw_call(s, id, VFIO_USER_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0, r);
}

int
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
int
raw_session(const char *path, struct rmsg *r)
{
	return raw_session_caps(path, CAPS, r);
}

int
raw_session_caps(const char *path, const char *json, struct rmsg *r)
{
	int s = raw_connect(path), ret;

	if (s < 0) {
		printf("connect(%s): %d\n", path, s);
		return -1;
	}
	ret = raw_negotiate_caps(s, json, r);
	if (ret != 0) {
		printf("negotiate: %d\n", ret);
		close(s);
		return -1;
	}
	return s;
}

/* A fresh well-behaved client is served: the device survived. */
int
tdev_served(struct tdev *d)
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
int
tdev_wait_destroyed(struct tdev *d, unsigned int n)
{
	uint64_t end = now_ms() + RX_MS;

	/* Acquire: what the server did with the session is visible after. */
	while (__atomic_load_n(&d->nr_destroyed, __ATOMIC_ACQUIRE) < n) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Limits
 */

int
set_limits(const struct rte_vfio_user_limits *lim)
{
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_def_limits), "restore limits");
	return rte_vfio_user_limits_set(lim);
}

int
raw_suite_setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vfu-raw-XXXXXX");
	TEST_ASSERT_NOT_NULL(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_def_limits), "limits_get");
	return TEST_SUCCESS;
}

void
raw_suite_teardown(void)
{
	char cmd[128];

	rte_vfio_user_limits_set(&g_def_limits);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", g_dir);
}

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
#include "vfio_user_suite.h"

char g_dir[64];
static unsigned int g_seq;
struct rte_vfio_user_limits g_def_limits;

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
	return TEST_SUCCESS;
}

void
vfu_suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_def_limits);
	dir_remove(g_dir);
	g_dir[0] = '\0';
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

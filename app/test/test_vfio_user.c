/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Functional tests: the server and the client halves of the library against
 * each other, in one process (server callbacks on the control thread, client
 * calls from the test thread) and across processes where one process cannot
 * play both roles (a server that dies, DMA messages sent from a callback).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define MiB (1024ULL * 1024)
#define EV_TIMEOUT_MS 3000
#define LEAK_TIMEOUT_MS 3000

static char g_dir[64];
static unsigned int g_seq;
static struct rte_vfio_user_limits g_def_limits;

/* A started test device with one client attached. */
struct fix {
	struct tdev dev;
	int cid;
};

static void
mkpath(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

static int
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

static void
fix_close(struct fix *f)
{
	if (f->cid >= 0) {
		rte_vfio_user_detach_dev(f->cid);
		f->cid = -1;
	}
	tdev_close(&f->dev, EV_TIMEOUT_MS);
}

static int
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

static int
reg_w64(int cid, uint32_t idx, uint64_t off, uint64_t v)
{
	ssize_t r = rte_vfio_user_region_write(cid, idx, off, &v, sizeof(v));

	return r == sizeof(v) ? 0 : (r < 0 ? (int)r : -EIO);
}

static int
reg_r64(int cid, uint32_t idx, uint64_t off, uint64_t *v)
{
	ssize_t r = rte_vfio_user_region_read(cid, idx, off, v, sizeof(*v));

	return r == sizeof(*v) ? 0 : (r < 0 ? (int)r : -EIO);
}

/* VFIO_USER_DEVICE_SET_IRQS with @data_len bytes of data. */
static int
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

static int
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

static void
close_fds(int *fd, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}

static bool
is_conn_error(int ret)
{
	return ret == -ENOTCONN || ret == -ECONNRESET;
}

/* A socket file with nobody listening behind it. */
static int
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

static int
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
static int
suite_setup(void)
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

static void
suite_teardown(void)
{
	rte_vfio_user_limits_set(&g_def_limits);
	dir_remove(g_dir);
	g_dir[0] = '\0';
}

/*
 * Common API: limits.
 */
static int
test_limits(void)
{
	struct rte_vfio_user_limits def, lim, cur;

	TEST_ASSERT_EQUAL(rte_vfio_user_limits_get(NULL), -EINVAL, "limits_get(NULL)");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&def), "limits_get");
	TEST_ASSERT_EQUAL(def.max_devices, 1024u, "default max_devices %u", def.max_devices);
	TEST_ASSERT_EQUAL(def.max_msg_size, (uint32_t)(MiB + 4096), "default max_msg_size %u",
		def.max_msg_size);
	TEST_ASSERT_EQUAL(def.max_msg_fds, 16u, "default max_msg_fds %u", def.max_msg_fds);
	TEST_ASSERT_EQUAL(def.max_dma_maps, 65535u, "default max_dma_maps %u", def.max_dma_maps);
	TEST_ASSERT_EQUAL(def.max_data_xfer_size, (uint32_t)MiB, "default max_data_xfer_size %u",
		def.max_data_xfer_size);
	TEST_ASSERT_EQUAL(def.reply_timeout_ms, 5000u, "default reply_timeout_ms %u",
		def.reply_timeout_ms);

	TEST_ASSERT_EQUAL(rte_vfio_user_limits_set(NULL), -EINVAL, "limits_set(NULL)");
	memset(&lim, 0, sizeof(lim));
	lim.max_msg_fds = 254;
	TEST_ASSERT_EQUAL(rte_vfio_user_limits_set(&lim), -EINVAL, "max_msg_fds 254 accepted");
	memset(&lim, 0, sizeof(lim));
	lim.max_msg_size = 4096;
	TEST_ASSERT_EQUAL(rte_vfio_user_limits_set(&lim), -EINVAL,
		"max_msg_size 4096 accepted with max_data_xfer_size 1 MiB");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&cur), "limits_get");
	TEST_ASSERT(memcmp(&cur, &def, sizeof(cur)) == 0, "failed limits_set changed the limits");

	memset(&lim, 0, sizeof(lim));
	lim.reply_timeout_ms = 1234;
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set(timeout)");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&cur), "limits_get");
	TEST_ASSERT_EQUAL(cur.reply_timeout_ms, 1234u, "timeout not set");
	TEST_ASSERT_EQUAL(cur.max_msg_size, def.max_msg_size, "zero field changed the value");
	TEST_ASSERT_EQUAL(cur.max_dma_maps, def.max_dma_maps, "zero field changed the value");

	memset(&lim, 0, sizeof(lim));
	lim.max_data_xfer_size = 4096;
	lim.max_msg_size = 8192;
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set(4 KiB xfer, 8 KiB msg)");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&cur), "limits_get");
	TEST_ASSERT_EQUAL(cur.max_data_xfer_size, 4096u, "xfer not set");
	TEST_ASSERT_EQUAL(cur.max_msg_size, 8192u, "msg size not set");

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&def), "restoring limits");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&cur), "limits_get");
	TEST_ASSERT(memcmp(&cur, &def, sizeof(cur)) == 0, "limits not restored");
	return TEST_SUCCESS;
}

/*
 * Server API argument checking and state machine.
 */
static int
server_api_body(struct tdev *t, const char *p2, const char *p3, const char *p4)
{
	char longpath[300];
	struct rte_vfio_user_reg_info regs[VFIO_PCI_NUM_REGIONS];
	struct rte_vfio_user_regions rset = { .reg_num = VFIO_PCI_NUM_REGIONS, .reg_info = regs };
	struct rte_vfio_user_irq_info iset = { .irq_num = VFIO_PCI_NUM_IRQS,
		.irq_info = t->irqs };
	struct vfio_device_info dinfo = t->dev_info;
	struct vfio_region_info small, badidx;
	struct vfio_region_info *badcap;
	const struct rte_vfio_user_mem_table *mt;
	struct stat st;
	int fds[TDEV_MSIX_COUNT + 1];
	uint64_t len = 8, buf = 0;
	int id, i, sentinel = 0;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';

	TEST_ASSERT_EQUAL(rte_vfio_user_register(NULL, NULL), -EINVAL, "register(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_register("", NULL), -EINVAL, "register(\"\")");
	TEST_ASSERT_EQUAL(rte_vfio_user_register(longpath, NULL), -EINVAL,
		"register of a path longer than sun_path");
	TEST_ASSERT_EQUAL(rte_vfio_user_register(t->path, NULL), -EEXIST, "duplicate register");

	id = rte_vfio_user_register(p2, NULL);
	TEST_ASSERT(id >= 0 && id != t->id, "register(p2) = %d", id);
	TEST_ASSERT_EQUAL(rte_vfio_user_start(p2), -EINVAL, "start without device info");

	/* Device info. */
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(NULL, &dinfo), -EINVAL, "NULL path");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(p3, &dinfo), -ENOENT, "unknown path");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(p2, NULL), -EINVAL, "NULL info");
	dinfo.flags = VFIO_DEVICE_FLAGS_RESET;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(p2, &dinfo), -EINVAL, "info without PCI flag");
	dinfo.flags = VFIO_DEVICE_FLAGS_PCI;
	dinfo.num_regions = 3;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(p2, &dinfo), -EINVAL,
		"num_regions below VFIO_PCI_NUM_REGIONS");
	memcpy(regs, t->regs, sizeof(regs));
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL,
		"set_reg_info before set_dev_info");
	dinfo = t->dev_info;
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_dev_info(p2, &dinfo), "set_dev_info");

	/* Regions. */
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, NULL), -EINVAL, "NULL regions");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p3, &rset), -ENOENT, "unknown path");
	rset.reg_num = VFIO_PCI_NUM_REGIONS - 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL, "reg_num mismatch");
	rset.reg_num = VFIO_PCI_NUM_REGIONS;
	regs[TDEV_BAR_BASE].info = NULL;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL, "NULL region info");
	small = *t->infos[TDEV_BAR_BASE];
	small.argsz = 16;
	regs[TDEV_BAR_BASE].info = &small;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL, "argsz 16 accepted");
	badidx = *t->infos[TDEV_BAR_BASE];
	badidx.index = TDEV_BAR_RO;
	regs[TDEV_BAR_BASE].info = &badidx;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL,
		"info->index differs from the position");
	regs[TDEV_BAR_BASE].info = t->infos[TDEV_BAR_BASE];
	regs[TDEV_BAR_MMAP].fd = -1;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EINVAL, "MMAP region without fd");
	regs[TDEV_BAR_MMAP].fd = t->memfd;
	badcap = malloc(t->infos[TDEV_BAR_SPARSE]->argsz);
	TEST_ASSERT_NOT_NULL(badcap, "no memory");
	memcpy(badcap, t->infos[TDEV_BAR_SPARSE], t->infos[TDEV_BAR_SPARSE]->argsz);
	badcap->cap_offset = badcap->argsz + 8;
	regs[TDEV_BAR_SPARSE].info = badcap;
	i = rte_vfio_user_set_reg_info(p2, &rset);
	if (i == -EINVAL) {
		/* A chain whose second header points past argsz. */
		memcpy(badcap, t->infos[TDEV_BAR_SPARSE], t->infos[TDEV_BAR_SPARSE]->argsz);
		((struct vfio_info_cap_header *)((uint8_t *)badcap +
			badcap->cap_offset))->next = badcap->argsz - 4;
		i = rte_vfio_user_set_reg_info(p2, &rset);
		sentinel = 1;
	}
	free(badcap);
	TEST_ASSERT_EQUAL(i, -EINVAL, "capability chain outside argsz accepted (%s)",
		sentinel ? "next past argsz" : "cap_offset past argsz");
	regs[TDEV_BAR_SPARSE].info = t->infos[TDEV_BAR_SPARSE];
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_reg_info(p2, &rset), "set_reg_info");
	TEST_ASSERT_EQUAL(rte_vfio_user_start(p2), -EINVAL, "start without irq info");

	/* IRQs. */
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irq_info(p2, NULL), -EINVAL, "NULL irq info");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irq_info(p3, &iset), -ENOENT, "unknown path");
	iset.irq_num = 3;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irq_info(p2, &iset), -EINVAL, "irq_num mismatch");
	iset.irq_num = VFIO_PCI_NUM_IRQS;
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_irq_info(p2, &iset), "set_irq_info");

	/* Start/stop state machine. */
	TEST_ASSERT_EQUAL(rte_vfio_user_start(NULL), -EINVAL, "start(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_start(p3), -ENOENT, "start of an unknown path");
	TEST_ASSERT_EQUAL(rte_vfio_user_stop(p2), -EALREADY, "stop before start");
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(p2), "start");
	TEST_ASSERT(stat(p2, &st) == 0 && S_ISSOCK(st.st_mode), "no socket at %s", p2);
	TEST_ASSERT_EQUAL(rte_vfio_user_start(p2), -EALREADY, "start twice");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_dev_info(p2, &dinfo), -EBUSY, "dev info while started");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_reg_info(p2, &rset), -EBUSY, "reg info while started");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irq_info(p2, &iset), -EBUSY, "irq info while started");
	TEST_ASSERT_SUCCESS(rte_vfio_user_stop(p2), "stop");
	TEST_ASSERT(stat(p2, &st) < 0 && errno == ENOENT, "socket file left after stop");
	TEST_ASSERT_EQUAL(rte_vfio_user_stop(p2), -EALREADY, "stop twice");
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(p2), "restart after stop");
	TEST_ASSERT(stat(p2, &st) == 0 && S_ISSOCK(st.st_mode), "no socket after restart");

	/* Private pointer. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_priv(id, &sentinel), "set_priv");
	TEST_ASSERT(rte_vfio_user_get_priv(id) == &sentinel, "get_priv");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_priv(-1, NULL), -ENODEV, "set_priv(-1)");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_priv(100000, NULL), -ENODEV, "set_priv(100000)");
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_get_priv(100000), "get_priv(100000)");
	TEST_ASSERT_EQUAL(rte_errno, ENODEV, "get_priv rte_errno %d", rte_errno);

	/* Per-session calls without a client. */
	rte_errno = 0;
	mt = rte_vfio_user_get_mem_table(id);
	TEST_ASSERT_NULL(mt, "mem table without a client");
	TEST_ASSERT_EQUAL(rte_errno, ENOTCONN, "get_mem_table rte_errno %d", rte_errno);
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_get_mem_table(100000), "mem table of unknown id");
	TEST_ASSERT_EQUAL(rte_errno, ENODEV, "get_mem_table rte_errno %d", rte_errno);
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq(100000, 0, 1, fds), -ENODEV, "get_irq unknown");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq(id, VFIO_PCI_NUM_IRQS, 1, fds), -EINVAL,
		"get_irq bad index");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq(id, VFIO_PCI_MSIX_IRQ_INDEX, TDEV_MSIX_COUNT + 1,
		fds), -EINVAL, "get_irq count > irq count");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq(id, VFIO_PCI_MSIX_IRQ_INDEX, 1, NULL), -EINVAL,
		"get_irq NULL fds");
	memset(fds, 0x55, sizeof(fds));
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(id, VFIO_PCI_MSIX_IRQ_INDEX, TDEV_MSIX_COUNT,
		fds), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT_EQUAL(fds[i], -1, "irq fd %d set without a client", i);
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(100000, 0, 0), -ENODEV, "trigger unknown");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(id, VFIO_PCI_NUM_IRQS, 0), -EINVAL,
		"trigger bad index");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(id, VFIO_PCI_MSIX_IRQ_INDEX, TDEV_MSIX_COUNT),
		-EINVAL, "trigger bad sub-index");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(id, VFIO_PCI_MSIX_IRQ_INDEX, 0), -ENOENT,
		"trigger without eventfd");
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(id, 0, NULL), "iova_to_vva NULL len");
	TEST_ASSERT_EQUAL(rte_errno, EINVAL, "iova_to_vva rte_errno %d", rte_errno);
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(100000, 0, &len), "iova_to_vva unknown");
	TEST_ASSERT_EQUAL(rte_errno, ENODEV, "iova_to_vva rte_errno %d", rte_errno);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(id, 0, NULL, 8), -EINVAL, "dma_read NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(id, 0, NULL, 8), -EINVAL, "dma_write NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(100000, 0, &buf, 8), -ENODEV, "dma_read unknown");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(id, 0, &buf, 8), -ENOTCONN,
		"dma_read without client");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(id, 0, &buf, 8), -ENOTCONN,
		"dma_write without client");

	/* Unregister. */
	TEST_ASSERT_EQUAL(rte_vfio_user_unregister(NULL), -EINVAL, "unregister(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_unregister(p3), -ENOENT, "unregister unknown");
	TEST_ASSERT_SUCCESS(rte_vfio_user_unregister(p2), "unregister started device");
	TEST_ASSERT(stat(p2, &st) < 0 && errno == ENOENT, "socket file left after unregister");
	TEST_ASSERT_EQUAL(rte_vfio_user_unregister(p2), -ENOENT, "unregister twice");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_priv(id, NULL), -ENODEV, "id alive after unregister");

	/* A regular file in the way is not removed; a stale socket is replaced. */
	i = open(p3, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	TEST_ASSERT(i >= 0, "creating %s", p3);
	close(i);
	TEST_ASSERT_SUCCESS(make_stale_socket(p4), "stale socket");
	return TEST_SUCCESS;
}

static int
test_server_api(void)
{
	char p1[256], p2[256], p3[256], p4[256];
	struct leak_snap before;
	struct tdev *t, *t3, *t4;
	struct stat st;
	int ret, cid;

	leak_snap(&before);
	t = calloc(3, sizeof(*t));
	TEST_ASSERT_NOT_NULL(t, "no memory");
	t3 = &t[1];
	t4 = &t[2];
	mkpath(p1, sizeof(p1), "api");
	mkpath(p2, sizeof(p2), "api");
	mkpath(p3, sizeof(p3), "api");
	mkpath(p4, sizeof(p4), "api");
	ret = tdev_create(t, p1, NULL, false);
	if (ret < 0) {
		free(t);
		TEST_ASSERT_SUCCESS(ret, "tdev_create");
	}
	ret = server_api_body(t, p2, p3, p4);
	rte_vfio_user_unregister(p2);
	if (ret == TEST_SUCCESS) {
		/* Regular file at p3: start must fail and leave the file. */
		ret = tdev_create(t3, p3, NULL, false);
		if (ret == 0) {
			ret = rte_vfio_user_start(p3);
			if (ret != -EADDRINUSE) {
				printf("start over a regular file: %d, not -EADDRINUSE\n", ret);
				ret = TEST_FAILED;
			} else if (stat(p3, &st) < 0 || !S_ISREG(st.st_mode)) {
				printf("the regular file in the way was removed\n");
				ret = TEST_FAILED;
			} else {
				ret = TEST_SUCCESS;
			}
			tdev_destroy(t3);
		} else {
			ret = TEST_FAILED;
		}
	}
	unlink(p3);
	if (ret == TEST_SUCCESS) {
		/* Stale socket at p4: start replaces it, a client can attach. */
		ret = tdev_create(t4, p4, NULL, true);
		if (ret != 0) {
			printf("start over a stale socket: %d\n", ret);
			ret = TEST_FAILED;
		} else {
			cid = rte_vfio_user_attach_dev(p4);
			if (cid < 0) {
				printf("attach after stale socket replaced: %d\n", cid);
				ret = TEST_FAILED;
			} else {
				rte_vfio_user_detach_dev(cid);
				tdev_ev_wait(t4, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS);
			}
			tdev_destroy(t4);
		}
	}
	unlink(p4);
	tdev_destroy(t);
	free(t);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/*
 * Client API argument checking and connect failures.
 */
static int
test_client_api(void)
{
	char longpath[300], missing[256], stale[256], unstarted[256];
	struct vfio_device_info info;
	struct leak_snap before;
	struct tdev *t;
	uint64_t t0, v;
	int ret;

	leak_snap(&before);
	memset(longpath, 'b', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	TEST_ASSERT_EQUAL(rte_vfio_user_attach_dev(NULL), -EINVAL, "attach(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_attach_dev(""), -EINVAL, "attach(\"\")");
	TEST_ASSERT_EQUAL(rte_vfio_user_attach_dev(longpath), -EINVAL, "attach(long path)");

	mkpath(missing, sizeof(missing), "missing");
	t0 = now_ms();
	ret = rte_vfio_user_attach_dev(missing);
	TEST_ASSERT_EQUAL(ret, -ENOENT, "attach to a missing socket: %d", ret);
	TEST_ASSERT(now_ms() - t0 < 1000, "attach to a missing socket took %" PRIu64 " ms",
		now_ms() - t0);

	mkpath(stale, sizeof(stale), "stale");
	TEST_ASSERT_SUCCESS(make_stale_socket(stale), "stale socket");
	t0 = now_ms();
	ret = rte_vfio_user_attach_dev(stale);
	unlink(stale);
	TEST_ASSERT_EQUAL(ret, -ECONNREFUSED, "attach to a dead socket: %d", ret);
	TEST_ASSERT(now_ms() - t0 < 1000, "attach to a dead socket took %" PRIu64 " ms",
		now_ms() - t0);

	/* Registered but not started: no socket yet. */
	t = calloc(1, sizeof(*t));
	TEST_ASSERT_NOT_NULL(t, "no memory");
	mkpath(unstarted, sizeof(unstarted), "unstarted");
	ret = tdev_create(t, unstarted, NULL, false);
	if (ret == 0) {
		ret = rte_vfio_user_attach_dev(unstarted);
		tdev_destroy(t);
	}
	free(t);
	TEST_ASSERT_EQUAL(ret, -ENOENT, "attach to a registered, unstarted device: %d", ret);

	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(-1, &info), -ENODEV, "get_dev_info(-1)");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(100000, &info), -ENODEV, "get_dev_info");
	TEST_ASSERT_EQUAL(rte_vfio_user_detach_dev(100000), -ENODEV, "detach unknown");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(100000, 0, 0, &v, 8), -ENODEV, "region_read");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(100000, 0, 0, &v, 8), -ENODEV,
		"region_write");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(100000, NULL, 0), -ENODEV, "dma_unmap");
	TEST_ASSERT_EQUAL(rte_vfio_user_reset(100000), -ENODEV, "reset");
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* Client calls with bad arguments on a live connection, and detach semantics. */
static int
client_args_body(struct fix *f)
{
	struct rte_vfio_user_region_map maps[2];
	uint32_t n = 2;
	uint64_t v;
	int cid = f->cid;

	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(cid, NULL), -EINVAL, "get_dev_info(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_info(cid, NULL, NULL), -EINVAL,
		"get_reg_info(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq_info(cid, NULL), -EINVAL, "get_irq_info(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irqs(cid, NULL), -EINVAL, "set_irqs(NULL)");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(cid, TDEV_BAR_MMAP, NULL, &n), -EINVAL,
		"region_mmap(NULL maps)");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(cid, TDEV_BAR_MMAP, maps, NULL), -EINVAL,
		"region_mmap(NULL nr)");
	/* The connection is still usable after all that. */
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, 0, &v), "region read");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
	TEST_ASSERT_EQUAL(rte_vfio_user_detach_dev(cid), -ENODEV, "detach twice");
	TEST_ASSERT_EQUAL(reg_r64(cid, TDEV_BAR_CB, 0, &v), -ENODEV, "read after detach");
	f->cid = -1;
	TEST_ASSERT_SUCCESS(tdev_ev_wait(&f->dev, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS),
		"no destroy_device after detach");
	return TEST_SUCCESS;
}

static int
test_client_args(void)
{
	return run_fix(client_args_body, NULL);
}

/*
 * VFIO_USER_DEVICE_GET_INFO and VFIO_USER_DEVICE_GET_REGION_INFO.
 */
static int
check_region_fd(struct tdev *d, int fd, const struct vfio_region_info *info)
{
	uint8_t *p;

	/* The received fd is the region's memfd: a mapping of it sees our data. */
	tdev_fill(d->memfd_map + info->offset, info->size, info->index + 100);
	p = mmap(NULL, info->size, PROT_READ, MAP_SHARED, fd, info->offset);
	TEST_ASSERT(p != MAP_FAILED, "mmap of the region fd: %s", strerror(errno));
	TEST_ASSERT(memcmp(p, d->memfd_map + info->offset, info->size) == 0,
		"region %u fd does not show the region memory", info->index);
	munmap(p, info->size);
	return TEST_SUCCESS;
}

static int
dev_info_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct vfio_device_info info;
	union {
		struct vfio_region_info info;
		uint8_t b[512];
	} u;
	struct vfio_region_info *ri = &u.info;
	struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_region_info_cap_type *ty;
	uint32_t i, needed = d->infos[TDEV_BAR_SPARSE]->argsz;
	int fd, ret;

	memset(&info, 0xa5, sizeof(info));
	info.argsz = sizeof(info);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info");
	TEST_ASSERT(info.argsz >= 16, "argsz %u", info.argsz);
	TEST_ASSERT_EQUAL(info.flags, (uint32_t)(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET),
		"flags 0x%x", info.flags);
	TEST_ASSERT_EQUAL(info.num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS, "num_regions %u",
		info.num_regions);
	TEST_ASSERT_EQUAL(info.num_irqs, (uint32_t)VFIO_PCI_NUM_IRQS, "num_irqs %u", info.num_irqs);

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		const struct vfio_region_info *s = d->infos[i];

		memset(&u, 0xa5, sizeof(u));
		ri->argsz = sizeof(*ri);
		ri->index = i;
		fd = -2;
		ret = rte_vfio_user_get_reg_info(f->cid, ri, &fd);
		TEST_ASSERT_SUCCESS(ret, "get_reg_info(%u)", i);
		TEST_ASSERT_EQUAL(ri->index, i, "index");
		/* A reply without the chain has no CAPS flag (QEMU needs that). */
		TEST_ASSERT_EQUAL(ri->flags, s->flags & ~VFIO_REGION_INFO_FLAG_CAPS,
			"region %u flags 0x%x, expected 0x%x", i, ri->flags, s->flags);
		TEST_ASSERT_EQUAL(ri->size, s->size, "region %u size 0x%" PRIx64, i,
			(uint64_t)ri->size);
		if (s->flags & VFIO_REGION_INFO_FLAG_MMAP) {
			TEST_ASSERT_EQUAL(ri->offset, s->offset, "region %u mmap offset 0x%" PRIx64,
				i, (uint64_t)ri->offset);
			TEST_ASSERT(fd >= 0, "region %u: no mmap fd (%d)", i, fd);
			ret = check_region_fd(d, fd, ri);
			close(fd);
			if (ret != TEST_SUCCESS)
				return ret;
		} else {
			TEST_ASSERT_EQUAL(fd, -1, "region %u: fd %d without MMAP", i, fd);
		}
		if (s->flags & VFIO_REGION_INFO_FLAG_CAPS) {
			/* Buffer too small for the chain: argsz says what is needed, no chain. */
			TEST_ASSERT_EQUAL(ri->argsz, needed, "region %u argsz %u, needed %u", i,
				ri->argsz, needed);
			TEST_ASSERT_EQUAL(ri->cap_offset, 0u, "cap_offset %u with a short buffer",
				ri->cap_offset);
		} else {
			TEST_ASSERT_EQUAL(ri->argsz, (uint32_t)sizeof(*ri), "region %u argsz %u", i,
				ri->argsz);
		}
	}

	/* The full chain: sparse mmap areas, then the region type. */
	memset(&u, 0xa5, sizeof(u));
	ri->argsz = sizeof(u);
	ri->index = TDEV_BAR_SPARSE;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_info(f->cid, ri, NULL), "get_reg_info caps");
	TEST_ASSERT_EQUAL(ri->argsz, needed, "argsz %u, needed %u", ri->argsz, needed);
	TEST_ASSERT(ri->flags & VFIO_REGION_INFO_FLAG_CAPS, "CAPS flag lost");
	TEST_ASSERT_EQUAL(ri->cap_offset, (uint32_t)sizeof(*ri), "cap_offset %u", ri->cap_offset);
	sp = (void *)(u.b + ri->cap_offset);
	TEST_ASSERT_EQUAL(sp->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP, "first cap id %u",
		sp->header.id);
	TEST_ASSERT_EQUAL(sp->header.version, 1, "sparse cap version %u", sp->header.version);
	TEST_ASSERT_EQUAL(sp->nr_areas, 2u, "nr_areas %u", sp->nr_areas);
	TEST_ASSERT(sp->areas[0].offset == 0 && sp->areas[0].size == 0x1000, "area 0");
	TEST_ASSERT(sp->areas[1].offset == 0x2000 && sp->areas[1].size == 0x1000, "area 1");
	TEST_ASSERT(sp->header.next > ri->cap_offset && sp->header.next + sizeof(*ty) <= needed,
		"next cap at %u", sp->header.next);
	ty = (void *)(u.b + sp->header.next);
	TEST_ASSERT_EQUAL(ty->header.id, VFIO_REGION_INFO_CAP_TYPE, "second cap id %u",
		ty->header.id);
	TEST_ASSERT_EQUAL(ty->header.next, 0u, "chain not terminated");
	TEST_ASSERT_EQUAL(ty->type, TDEV_REG_TYPE, "type 0x%x", ty->type);
	TEST_ASSERT_EQUAL(ty->subtype, TDEV_REG_SUBTYPE, "subtype %u", ty->subtype);

	/* Errors. */
	memset(&u, 0, sizeof(u));
	ri->argsz = 16;
	ri->index = 0;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_info(f->cid, ri, NULL), -EINVAL, "argsz 16");
	ri->argsz = sizeof(*ri);
	ri->index = VFIO_PCI_NUM_REGIONS;
	fd = -2;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_info(f->cid, ri, &fd), -EINVAL, "index %u",
		VFIO_PCI_NUM_REGIONS);
	TEST_ASSERT(fd < 0, "fd %d returned on error", fd);
	/* The session survives the errors. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info after errors");
	return TEST_SUCCESS;
}

static int
test_dev_info(void)
{
	return run_fix(dev_info_body, NULL);
}

/*
 * VFIO_USER_DEVICE_GET_REGION_IO_FDS.
 */
static int
io_fds_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_io_fd io[TDEV_NR_IO_FDS + 1];
	uint64_t v;
	uint32_t count, i;

	count = 0;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, NULL, &count),
		"io_fds count query");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);

	memset(io, 0, sizeof(io));
	io[0].fd = -7;
	count = 1;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, io, &count),
		"io_fds with a short array");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);
	TEST_ASSERT_EQUAL(io[0].fd, -7, "short array was filled");

	for (i = 0; i < RTE_DIM(io); i++)
		io[i].fd = -7;
	count = RTE_DIM(io);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_CB, io, &count),
		"io_fds");
	TEST_ASSERT_EQUAL(count, (uint32_t)TDEV_NR_IO_FDS, "count %u", count);
	for (i = 0; i < TDEV_NR_IO_FDS; i++) {
		TEST_ASSERT(io[i].fd >= 0, "entry %u fd %d", i, io[i].fd);
		TEST_ASSERT_EQUAL(io[i].offset, d->io_fds[i].offset, "entry %u offset", i);
		TEST_ASSERT_EQUAL(io[i].size, d->io_fds[i].size, "entry %u size", i);
		TEST_ASSERT_EQUAL(io[i].type, d->io_fds[i].type, "entry %u type", i);
		TEST_ASSERT_EQUAL(io[i].flags, d->io_fds[i].flags, "entry %u flags", i);
		TEST_ASSERT_EQUAL(io[i].datamatch, d->io_fds[i].datamatch, "entry %u datamatch", i);
	}
	TEST_ASSERT_EQUAL(io[TDEV_NR_IO_FDS].fd, -7, "entry past count written");
	/* Each client fd reaches the server's eventfd (entry 2 shares entry 0's). */
	v = 1;
	TEST_ASSERT_EQUAL(write(io[0].fd, &v, 8), 8, "write io fd 0");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 1000), 1ULL, "server eventfd 0 not signalled");
	v = 5;
	TEST_ASSERT_EQUAL(write(io[1].fd, &v, 8), 8, "write io fd 1");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[1], 1000), 5ULL, "server eventfd 1 not signalled");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 0), 0ULL, "eventfd 0 signalled by entry 1");
	v = 2;
	TEST_ASSERT_EQUAL(write(io[2].fd, &v, 8), 8, "write io fd 2");
	TEST_ASSERT_EQUAL(efd_wait(d->io_efd[0], 1000), 2ULL, "entry 2 is not eventfd 0");
	for (i = 0; i < TDEV_NR_IO_FDS; i++)
		close(io[i].fd);

	/* A region without sub-regions, and a bad index. */
	count = RTE_DIM(io);
	io[0].fd = -7;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_io_fds(f->cid, TDEV_BAR_BASE, io, &count),
		"io_fds of BAR1");
	TEST_ASSERT_EQUAL(count, 0u, "count %u", count);
	TEST_ASSERT_EQUAL(io[0].fd, -7, "entry filled for a region without io fds");
	count = RTE_DIM(io);
	TEST_ASSERT_EQUAL(rte_vfio_user_get_reg_io_fds(f->cid, VFIO_PCI_NUM_REGIONS, io, &count),
		-EINVAL, "bad index");
	return TEST_SUCCESS;
}

static int
test_io_fds(void)
{
	return run_fix(io_fds_body, NULL);
}

/*
 * VFIO_USER_REGION_READ/WRITE through the access callback.
 */
static const size_t io_sizes[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 100, 255,
	256, 1000, 2048, 4095, 4096 };

static int
rw_cb_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	uint8_t *wbuf, *rbuf;
	uint64_t calls, off, v;
	size_t big = MiB + 3;
	ssize_t r;
	uint32_t u32;
	unsigned int i;

	wbuf = malloc(2 * MiB);
	rbuf = malloc(2 * MiB);
	TEST_ASSERT(wbuf != NULL && rbuf != NULL, "no memory");

	for (i = 0; i < RTE_DIM(io_sizes); i++) {
		size_t sz = io_sizes[i];

		off = 0x1000 + i * 0x2000 + (i & 3);
		tdev_fill(wbuf, sz, i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu at 0x%" PRIx64 ": %zd", sz, off, r);
		TEST_ASSERT(d->cb_last_write, "callback not called for a write");
		TEST_ASSERT_EQUAL(d->cb_last_count, (uint64_t)sz, "callback count");
		TEST_ASSERT_EQUAL(d->cb_last_offset, off, "callback offset");
		TEST_ASSERT(memcmp(d->cb_mem + off, wbuf, sz) == 0, "device memory differs (%zu)",
			sz);
		TEST_ASSERT(d->cb_mem[off - 1] == 0 && d->cb_mem[off + sz] == 0,
			"write of %zu bytes spilled", sz);
		memset(rbuf, 0, sz);
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(!d->cb_last_write, "callback not called for a read");
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu bytes)", sz);
	}

	/* Larger than max_data_xfer_size: split in two callbacks. */
	off = 0x40000;
	tdev_fill(wbuf, big, 77);
	calls = d->cb_calls;
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, off, wbuf, big);
	TEST_ASSERT_EQUAL(r, (ssize_t)big, "write of 1 MiB + 3: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 2ULL, "%" PRIu64 " callbacks for 1 MiB + 3",
		d->cb_calls - calls);
	TEST_ASSERT_EQUAL(d->cb_max_count, MiB, "largest callback count %" PRIu64,
		d->cb_max_count);
	TEST_ASSERT(memcmp(d->cb_mem + off, wbuf, big) == 0, "device memory differs (split)");
	memset(rbuf, 0, big);
	calls = d->cb_calls;
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, big);
	TEST_ASSERT_EQUAL(r, (ssize_t)big, "read of 1 MiB + 3: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 2ULL, "read split");
	TEST_ASSERT(memcmp(rbuf, wbuf, big) == 0, "read data differs (split)");
	calls = d->cb_calls;
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, off, rbuf, MiB);
	TEST_ASSERT_EQUAL(r, (ssize_t)MiB, "read of 1 MiB: %zd", r);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 1ULL, "1 MiB read not in one message");

	/* Out of range, bad index, empty regions. */
	calls = d->cb_calls;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, d->cfg.cb_size - 4,
		rbuf, 8), -EINVAL, "read across the end");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, d->cfg.cb_size,
		wbuf, 1), -EINVAL, "write at the end");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, UINT64_MAX - 3, rbuf, 8),
		-EINVAL, "offset + count wraps");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, VFIO_PCI_NUM_REGIONS, 0, rbuf, 4),
		-EINVAL, "bad index");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_EMPTY, 0, rbuf, 1), -EINVAL,
		"read of an empty region");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, VFIO_PCI_VGA_REGION_INDEX, 0, wbuf,
		1), -EINVAL, "write of a region without flags");
	TEST_ASSERT_EQUAL(d->cb_calls, calls, "callback called for a rejected access");
	TEST_ASSERT(!d->cb_bad_range, "the library passed an out-of-range access to a callback");

	/* The callback's error comes back to the client. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, TDEV_ERR_START + 4, wbuf,
		4), -EIO, "callback -EIO on write");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, TDEV_ERR_START, rbuf, 1),
		-EIO, "callback -EIO on read");

	/* Config space through its own callback. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, &u32,
		4), 4, "config read");
	TEST_ASSERT_EQUAL(u32, (uint32_t)(TDEV_PCI_VENDOR | (TDEV_PCI_DEVICE << 16)),
		"vendor/device 0x%08x", u32);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, &u32,
		2), -EPERM, "write of the vendor id");
	v = 0x0123456789abcdefULL;
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, v), "cfg write");
	v = 0;
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, &v), "cfg read");
	TEST_ASSERT_EQUAL(v, 0x0123456789abcdefULL, "config readback 0x%" PRIx64, v);

	free(wbuf);
	free(rbuf);
	return TEST_SUCCESS;
}

static int
test_region_rw_cb(void)
{
	struct tdev_cfg cfg = { .cb_size = 2 * MiB };

	return run_fix(rw_cb_body, &cfg);
}

/*
 * VFIO_USER_REGION_READ/WRITE served from base memory and from the region fd.
 */
static int
rw_base_body(struct fix *f)
{
	static const size_t big_sizes[] = { MiB - 1, MiB, MiB + 1, 3 * MiB + 5 };
	struct tdev *d = &f->dev;
	uint8_t *wbuf, *rbuf;
	uint64_t off;
	ssize_t r;
	unsigned int i;

	wbuf = malloc(4 * MiB);
	rbuf = malloc(4 * MiB);
	TEST_ASSERT(wbuf != NULL && rbuf != NULL, "no memory");

	for (i = 0; i < RTE_DIM(io_sizes); i++) {
		size_t sz = io_sizes[i];

		off = 0x100 + i * 0x2000 + (i % 5);
		tdev_fill(wbuf, sz, 1000 + i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_BASE, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(d->base_mem + off, wbuf, sz) == 0, "base memory differs (%zu)",
			sz);
		TEST_ASSERT(d->base_mem[off - 1] == 0 && d->base_mem[off + sz] == 0,
			"write of %zu bytes spilled", sz);
		/* Device-side change, seen by the next read. */
		d->base_mem[off] ^= 0xff;
		wbuf[0] ^= 0xff;
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu)", sz);
	}
	for (i = 0; i < RTE_DIM(big_sizes); i++) {
		size_t sz = big_sizes[i];

		off = 3 + i;
		tdev_fill(wbuf, sz, 2000 + i);
		r = rte_vfio_user_region_write(f->cid, TDEV_BAR_BASE, off, wbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "write of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(d->base_mem + off, wbuf, sz) == 0, "base memory differs (%zu)",
			sz);
		memset(rbuf, 0, sz);
		r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, off, rbuf, sz);
		TEST_ASSERT_EQUAL(r, (ssize_t)sz, "read of %zu: %zd", sz, r);
		TEST_ASSERT(memcmp(rbuf, wbuf, sz) == 0, "read data differs (%zu)", sz);
	}
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, d->cfg.base_size, rbuf,
		1), -EINVAL, "read at the end");
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, d->cfg.base_size - 1, rbuf, 1);
	TEST_ASSERT_EQUAL(r, 1, "read of the last byte: %zd", r);

	/* Read-only region. */
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_RO, 0, rbuf, TDEV_RO_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_RO_SIZE, "read of the RO region: %zd", r);
	TEST_ASSERT(memcmp(rbuf, d->ro_mem, TDEV_RO_SIZE) == 0, "RO data differs");
	memcpy(wbuf, d->ro_mem, 16);
	wbuf[0] ^= 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(f->cid, TDEV_BAR_RO, 0, wbuf, 1), -EINVAL,
		"write to a read-only region");
	TEST_ASSERT(d->ro_mem[0] != wbuf[0], "read-only region was written");

	/* Region with base and fd, and region with fd only (library maps it at info->offset). */
	tdev_fill(wbuf, TDEV_MMAP_SIZE, 3000);
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_MMAP, 0, wbuf, TDEV_MMAP_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_MMAP_SIZE, "write BAR3: %zd", r);
	TEST_ASSERT(memcmp(d->memfd_map, wbuf, TDEV_MMAP_SIZE) == 0, "BAR3 memory differs");
	tdev_fill(wbuf, TDEV_SPARSE_SIZE, 3001);
	r = rte_vfio_user_region_write(f->cid, TDEV_BAR_SPARSE, 0, wbuf, TDEV_SPARSE_SIZE);
	TEST_ASSERT_EQUAL(r, TDEV_SPARSE_SIZE, "write BAR4: %zd", r);
	TEST_ASSERT(memcmp(d->memfd_map + TDEV_SPARSE_OFF, wbuf, TDEV_SPARSE_SIZE) == 0,
		"BAR4 write did not land at the region's offset in the fd");
	TEST_ASSERT(memcmp(d->memfd_map, wbuf, 64) != 0, "BAR4 write landed at fd offset 0");
	tdev_fill(d->memfd_map + TDEV_SPARSE_OFF + 0x1800, 0x100, 3002);
	r = rte_vfio_user_region_read(f->cid, TDEV_BAR_SPARSE, 0x1800, rbuf, 0x100);
	TEST_ASSERT_EQUAL(r, 0x100, "read BAR4: %zd", r);
	TEST_ASSERT(memcmp(rbuf, d->memfd_map + TDEV_SPARSE_OFF + 0x1800, 0x100) == 0,
		"BAR4 read differs");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_SPARSE, TDEV_SPARSE_SIZE - 1,
		rbuf, 2), -EINVAL, "read across the end of BAR4");

	free(wbuf);
	free(rbuf);
	return TEST_SUCCESS;
}

static int
test_region_rw_base(void)
{
	struct tdev_cfg cfg = { .base_size = 4 * MiB };

	return run_fix(rw_base_body, &cfg);
}

/*
 * VFIO_USER_REGION_WRITE_MULTI.
 */
static int
write_multi_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_region_wr w[5], *many;
	uint64_t v;
	unsigned int i, j;
	int ret;

	memset(w, 0, sizeof(w));
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x40, .index = TDEV_BAR_CB,
		.count = 1, .data = { 0x11 } };
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0x48, .index = TDEV_BAR_CB,
		.count = 2, .data = { 0x21, 0x22 } };
	w[2] = (struct rte_vfio_user_region_wr){ .offset = 0x50, .index = TDEV_BAR_BASE,
		.count = 4, .data = { 0x31, 0x32, 0x33, 0x34 } };
	w[3] = (struct rte_vfio_user_region_wr){ .offset = 0x58, .index = TDEV_BAR_BASE,
		.count = 8, .data = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	w[4] = (struct rte_vfio_user_region_wr){ .offset = 0x61, .index = TDEV_BAR_CB,
		.count = 3, .data = { 0x41, 0x42, 0x43 } };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 5);
	TEST_ASSERT_EQUAL(ret, 5, "write_multi returned %d", ret);
	for (i = 0; i < 5; i++) {
		uint8_t *mem = w[i].index == TDEV_BAR_CB ? d->cb_mem : d->base_mem;

		TEST_ASSERT(memcmp(mem + w[i].offset, w[i].data, w[i].count) == 0,
			"write %u not performed", i);
		TEST_ASSERT_EQUAL(mem[w[i].offset + w[i].count], 0, "write %u spilled", i);
	}

	/* Many writes: the library batches them, all must land. */
	many = calloc(200, sizeof(*many));
	TEST_ASSERT_NOT_NULL(many, "no memory");
	for (i = 0; i < 200; i++) {
		many[i].index = TDEV_BAR_BASE;
		many[i].offset = 0x1000 + i * 8;
		many[i].count = 1 + i % 8;
		for (j = 0; j < 8; j++)
			many[i].data[j] = (uint8_t)(i * 8 + j + 1);
	}
	ret = rte_vfio_user_region_write_multi(f->cid, many, 200);
	for (i = 0; i < 200 && ret == 200; i++)
		if (memcmp(d->base_mem + many[i].offset, many[i].data, many[i].count) != 0)
			break;
	free(many);
	TEST_ASSERT_EQUAL(ret, 200, "write_multi of 200 returned %d", ret);
	TEST_ASSERT_EQUAL(i, 200u, "write %u of 200 not performed", i);

	/* Bad counts are refused. */
	memset(w, 0, sizeof(w));
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x200, .index = TDEV_BAR_BASE,
		.count = 0 };
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write_multi(f->cid, w, 1), -EINVAL, "count 0");
	w[0].count = 9;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write_multi(f->cid, w, 1), -EINVAL, "count 9");
	TEST_ASSERT_EQUAL(d->base_mem[0x200], 0, "refused write performed");

	/* One bad entry: nothing of the batch is performed. */
	w[0] = (struct rte_vfio_user_region_wr){ .offset = 0x300, .index = TDEV_BAR_BASE,
		.count = 1, .data = { 0xaa } };
	w[1] = (struct rte_vfio_user_region_wr){ .offset = d->cfg.base_size - 4,
		.index = TDEV_BAR_BASE, .count = 8 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch with an out-of-range entry: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the bad one was performed");
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0, .index = TDEV_BAR_RO, .count = 1 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch writing the RO region: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the RO one was performed");
	w[1] = (struct rte_vfio_user_region_wr){ .offset = 0, .index = VFIO_PCI_NUM_REGIONS,
		.count = 1 };
	ret = rte_vfio_user_region_write_multi(f->cid, w, 2);
	TEST_ASSERT_EQUAL(ret, -EINVAL, "batch with a bad index: %d", ret);
	TEST_ASSERT_EQUAL(d->base_mem[0x300], 0, "entry before the bad index was performed");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_BASE, 0x58, &v), "read after errors");
	TEST_ASSERT_EQUAL(v, 0x0807060504030201ULL, "data 0x%" PRIx64, v);
	return TEST_SUCCESS;
}

static int
test_region_write_multi(void)
{
	return run_fix(write_multi_body, NULL);
}

/*
 * rte_vfio_user_region_mmap(): whole region and sparse areas.
 */
static int
mmap_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_region_map m[4], m2[4];
	uint8_t *p, b;
	uint32_t n;

	memset(m, 0, sizeof(m));
	n = RTE_DIM(m);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_MMAP, m, &n), "mmap BAR3");
	TEST_ASSERT_EQUAL(n, 1u, "%u maps for a whole region", n);
	TEST_ASSERT(m[0].offset == 0 && m[0].size == TDEV_MMAP_SIZE && m[0].addr != NULL,
		"map 0x%" PRIx64 "+0x%" PRIx64, m[0].offset, m[0].size);
	p = m[0].addr;
	tdev_fill(d->memfd_map, TDEV_MMAP_SIZE, 4000);
	TEST_ASSERT(memcmp(p, d->memfd_map, TDEV_MMAP_SIZE) == 0, "server data not visible");
	p[100] = 0x5c;
	p[TDEV_MMAP_SIZE - 1] = 0xc5;
	TEST_ASSERT(d->memfd_map[100] == 0x5c && d->memfd_map[TDEV_MMAP_SIZE - 1] == 0xc5,
		"client write not visible on the server");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_MMAP, 100, &b, 1), 1,
		"region_read");
	TEST_ASSERT_EQUAL(b, 0x5c, "message read differs from the mapping");
	n = RTE_DIM(m2);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_MMAP, m2, &n), "again");
	TEST_ASSERT(n == 1 && m2[0].addr == m[0].addr, "second call gave another mapping");

	/* Sparse: two areas, the hole is not mapped. */
	n = 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_SPARSE, m, &n), -ENOSPC,
		"one entry for two areas");
	TEST_ASSERT_EQUAL(n, 2u, "needed %u", n);
	n = RTE_DIM(m);
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_SPARSE, m, &n),
		"mmap BAR4");
	TEST_ASSERT_EQUAL(n, 2u, "%u sparse maps", n);
	TEST_ASSERT(m[0].offset == 0 && m[0].size == 0x1000, "area 0");
	TEST_ASSERT(m[1].offset == 0x2000 && m[1].size == 0x1000, "area 1");
	TEST_ASSERT(m[0].addr != NULL && m[1].addr != NULL, "NULL address");
	tdev_fill(d->memfd_map + TDEV_SPARSE_OFF, TDEV_SPARSE_SIZE, 4001);
	TEST_ASSERT(memcmp(m[0].addr, d->memfd_map + TDEV_SPARSE_OFF, 0x1000) == 0,
		"area 0 does not map region offset 0");
	TEST_ASSERT(memcmp(m[1].addr, d->memfd_map + TDEV_SPARSE_OFF + 0x2000, 0x1000) == 0,
		"area 1 does not map region offset 0x2000");
	((uint8_t *)m[1].addr)[7] = 0x77;
	TEST_ASSERT_EQUAL(d->memfd_map[TDEV_SPARSE_OFF + 0x2007], 0x77, "area 1 write lost");

	/* Not mappable. */
	n = RTE_DIM(m);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, TDEV_BAR_CB, m, &n), -ENOTSUP,
		"mmap of a region without MMAP");
	n = RTE_DIM(m);
	TEST_ASSERT_EQUAL(rte_vfio_user_region_mmap(f->cid, VFIO_PCI_NUM_REGIONS, m, &n), -EINVAL,
		"mmap of a bad index");
	/* Mappings go away with the detach, checked by the leak check. */
	return TEST_SUCCESS;
}

static int
test_region_mmap(void)
{
	return run_fix(mmap_body, NULL);
}

/*
 * VFIO_USER_DEVICE_GET_IRQ_INFO and VFIO_USER_DEVICE_SET_IRQS.
 */
#define IRQ_EFDS 20

static int
irq_fds_set(struct tdev *d, uint32_t index, int *sfd, uint32_t n)
{
	int i, ret;

	for (i = 0; i < (int)n; i++)
		sfd[i] = -3;
	ret = rte_vfio_user_get_irq(d->id, index, n, sfd);
	return ret;
}

static int
irq_body(struct fix *f)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t nt = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t bt = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct tdev *d = &f->dev;
	struct vfio_irq_info ii;
	int efd[IRQ_EFDS], sfd[TDEV_MSIX_COUNT];
	uint8_t bools[3] = { 1, 0, 1 };
	unsigned int upd;
	uint32_t i;
	int ret;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		memset(&ii, 0xa5, sizeof(ii));
		ii.argsz = sizeof(ii);
		ii.index = i;
		TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(f->cid, &ii), "get_irq_info(%u)", i);
		TEST_ASSERT_EQUAL(ii.index, i, "index");
		TEST_ASSERT_EQUAL(ii.flags, d->irqs[i].flags, "irq %u flags 0x%x", i, ii.flags);
		TEST_ASSERT_EQUAL(ii.count, d->irqs[i].count, "irq %u count %u", i, ii.count);
	}
	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = VFIO_PCI_NUM_IRQS;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq_info(f->cid, &ii), -EINVAL, "bad irq index");

	for (i = 0; i < IRQ_EFDS; i++)
		efd[i] = -1;
	TEST_ASSERT_SUCCESS(make_efds(efd, IRQ_EFDS), "eventfds");

	/* Assign 8 MSI-X eventfds; the server sees them, triggers reach the client. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);
	ret = irq_set(f->cid, msix, et, 0, 8, efd, 8 * sizeof(int));
	TEST_ASSERT_SUCCESS(ret, "assign 8 MSI-X eventfds");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ, upd + 1,
		EV_TIMEOUT_MS), "no update_status(IRQ)");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 8 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d", i, sfd[i]);
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 3), "trigger 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 1000), 1ULL, "vector 3 not signalled");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 0), 0ULL, "vector 2 signalled");
	TEST_ASSERT_EQUAL(efd_wait(efd[4], 0), 0ULL, "vector 4 signalled");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 0), "trigger 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 0), "trigger 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 2ULL, "vector 0 not signalled twice");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, msix, 8), -ENOENT, "vector 8 has no fd");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_ERR_IRQ_INDEX, 0), -ENOENT,
		"ERR has no fd");

	/* Add 8..11 without touching 0..7. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 8, 4, efd + 8, 4 * sizeof(int)),
		"assign 8..11");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 12 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d", i, sfd[i]);
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 11), "trigger 11");
	TEST_ASSERT_EQUAL(efd_wait(efd[11], 1000), 1ULL, "vector 11 not signalled");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 7), "trigger 7");
	TEST_ASSERT_EQUAL(efd_wait(efd[7], 1000), 1ULL, "vector 7 lost by the second assign");

	/* Client-triggered: DATA_NONE and DATA_BOOL. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, nt, 5, 2, NULL, 0), "DATA_NONE trigger 5..6");
	TEST_ASSERT_EQUAL(efd_wait(efd[5], 1000), 1ULL, "vector 5 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[6], 1000), 1ULL, "vector 6 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[4], 0), 0ULL, "vector 4 triggered");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, bt, 9, 3, bools, 3), "DATA_BOOL trigger 9..11");
	TEST_ASSERT_EQUAL(efd_wait(efd[9], 1000), 1ULL, "vector 9 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[11], 1000), 1ULL, "vector 11 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[10], 50), 0ULL, "vector 10 triggered with bool 0");

	/* De-assign 0..3 (EVENTFD without fds). */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 0, 4, NULL, 0), "de-assign 0..3");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i >= 4 && i < 12 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d",
			i, sfd[i]);
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, msix, 0), -ENOENT,
		"trigger of a de-assigned vector");

	/* Other indexes are independent. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_REQ_IRQ_INDEX, et, 0, 1, &efd[12],
		sizeof(int)), "assign REQ");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_REQ_IRQ_INDEX, 0),
		"trigger REQ");
	TEST_ASSERT_EQUAL(efd_wait(efd[12], 1000), 1ULL, "REQ not signalled");

	/* Disable the whole index. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, nt, 0, 0, NULL, 0), "disable MSI-X");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT_EQUAL(sfd[i], -1, "server fd[%u] = %d after disable", i, sfd[i]);
	TEST_ASSERT_SUCCESS(irq_fds_set(d, VFIO_PCI_REQ_IRQ_INDEX, sfd, 1), "get_irq REQ");
	TEST_ASSERT(sfd[0] >= 0, "disabling MSI-X dropped REQ");

	close_fds(efd, IRQ_EFDS);
	return TEST_SUCCESS;
}

static int
test_irq(void)
{
	return run_fix(irq_body, NULL);
}

static int
irq_mask_body(struct fix *f)
{
	const uint32_t msi = VFIO_PCI_MSI_IRQ_INDEX, intx = VFIO_PCI_INTX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t mn = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	const uint32_t un = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	const uint32_t mb = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK;
	const uint32_t ub = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK;
	struct tdev *d = &f->dev;
	uint8_t b10[2] = { 1, 0 }, b11[2] = { 1, 1 };
	int efd[TDEV_MSI_COUNT + 1];
	unsigned int upd;

	memset(efd, -1, sizeof(efd));
	TEST_ASSERT_SUCCESS(make_efds(efd, TDEV_MSI_COUNT + 1), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, et, 0, TDEV_MSI_COUNT, efd,
		TDEV_MSI_COUNT * sizeof(int)), "assign MSI");

	/* Masked vector: the trigger is kept pending and delivered at unmask. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mn, 1, 1, NULL, 0), "mask 1");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ, upd + 1,
		EV_TIMEOUT_MS), "no update_status(IRQ) after a mask");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 1), "trigger masked 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 100), 0ULL, "masked vector 1 fired");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 1ULL, "unmasked vector 0 did not fire");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 1, 1, NULL, 0), "unmask 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "pending vector 1 not delivered at unmask");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 1, 1, NULL, 0), "unmask 1 again");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 100), 0ULL, "vector 1 delivered twice");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 1), "trigger unmasked 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "vector 1 after unmask");

	/* Mask without trigger: nothing at unmask. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mn, 0, 1, NULL, 0), "mask 0");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 0, 1, NULL, 0), "unmask 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 100), 0ULL, "unmask without pending fired");

	/* BOOL: mask 2, leave 3. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mb, 2, 2, b10, 2), "mask bool {1,0}");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 2), "trigger 2");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 3), "trigger 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 1000), 1ULL, "vector 3 (bool 0) masked");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 100), 0ULL, "vector 2 (bool 1) not masked");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, ub, 2, 2, b11, 2), "unmask bool {1,1}");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 1000), 1ULL, "vector 2 pending not delivered");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 100), 0ULL, "vector 3 delivered again");

	/* INTx. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, et, 0, 1, &efd[TDEV_MSI_COUNT], sizeof(int)),
		"assign INTx");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, mn, 0, 1, NULL, 0), "mask INTx");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "masked INTx fired");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost");
	/* INTx is AUTOMASKED: every delivery masks it until the client unmasks it. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 2");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL,
		"INTx fired although automasked by the pending delivery");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 2");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost 2");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "unmask fired nothing pending");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "unmasked INTx not fired");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 4");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "INTx not automasked");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 4");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost 3");
	/* MSI is not AUTOMASKED: two triggers, two interrupts. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger MSI 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger MSI 0 again");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 2ULL, "MSI 0 masked by its own delivery");

	/* MSI-X is not maskable. */
	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, mn, 0, 1, NULL, 0), -EINVAL,
		"mask of a non-maskable index");
	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, un, 0, 1, NULL, 0), -EINVAL,
		"unmask of a non-maskable index");
	close_fds(efd, TDEV_MSI_COUNT + 1);
	return TEST_SUCCESS;
}

static int
test_irq_mask(void)
{
	return run_fix(irq_mask_body, NULL);
}

static int
irq_errors_body(struct fix *f)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t nt = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct tdev *d = &f->dev;
	int efd[TDEV_MSIX_COUNT], sfd[TDEV_MSIX_COUNT];
	uint64_t buf[8];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;
	uint8_t bools[4] = { 1, 1, 1, 1 };
	int bad[2];
	uint32_t i;
	unsigned int upd;

	memset(efd, -1, sizeof(efd));
	TEST_ASSERT_SUCCESS(make_efds(efd, TDEV_MSIX_COUNT), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 0, 2, efd, 2 * sizeof(int)), "assign 0..1");
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);

	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_NUM_IRQS, nt, 0, 1, NULL, 0), -EINVAL,
		"bad index");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, TDEV_MSIX_COUNT - 2, 4, NULL, 0), -EINVAL,
		"start + count past the vectors");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, UINT32_MAX, 2, NULL, 0), -EINVAL,
		"start + count wraps");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, TDEV_MSIX_COUNT, 1, NULL, 0), -EINVAL,
		"start at the end");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, bools, 1), -EINVAL, "two DATA flags");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE, 0, 1, NULL, 0), -EINVAL,
		"no ACTION flag");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0),
		-EINVAL, "no DATA flag");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE |
		VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0), -EINVAL,
		"two ACTION flags");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt | (1u << 10), 0, 1, NULL, 0), -EINVAL,
		"unknown flag bit");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 0, 0, NULL, 0), -EINVAL,
		"count 0 with DATA_EVENTFD");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, 1, 0, NULL, 0), -EINVAL,
		"count 0 with start 1");
	bad[0] = efd[5];
	bad[1] = -1;
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 4, 2, bad, sizeof(bad)), -EINVAL,
		"eventfd -1 in the data");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 4, 2, bad, sizeof(int)), -EINVAL,
		"fewer fds than count");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_BOOL |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 4, bools, 2), -EINVAL,
		"bool data shorter than count");
	/* More descriptors than the server takes in one message (16). */
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 0, 17, efd, 17 * sizeof(int)), -EINVAL,
		"17 eventfds in one message");
	memset(buf, 0, sizeof(buf));
	s->argsz = 8;
	s->flags = nt;
	s->index = msix;
	s->count = 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irqs(f->cid, s), -EINVAL, "argsz 8");

	/* Nothing changed. */
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 2 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d after errors",
			i, sfd[i]);
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ), upd,
		"update_status(IRQ) after refused SET_IRQS");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 1), "trigger 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "vector 1 lost after errors");
	/* 16 descriptors is the limit and works. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 16, 16, efd + 16, 16 * sizeof(int)),
		"16 eventfds");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 31), "trigger 31");
	TEST_ASSERT_EQUAL(efd_wait(efd[31], 1000), 1ULL, "vector 31");
	close_fds(efd, TDEV_MSIX_COUNT);
	return TEST_SUCCESS;
}

static int
test_irq_errors(void)
{
	return run_fix(irq_errors_body, NULL);
}

/*
 * DMA_MAP / DMA_UNMAP, and server access to client memory.
 */
static int
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

static struct rte_vfio_user_mem_reg
win(uint64_t iova, uint64_t size, uint64_t fd_offset, uint32_t prot, void *vaddr)
{
	struct rte_vfio_user_mem_reg m = {
		.iova = iova, .size = size, .fd_offset = fd_offset, .prot = prot, .fd = -1,
		.vaddr = vaddr,
	};
	return m;
}

static int
mem_table_entries(int sid)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(sid);

	return t == NULL ? -rte_errno : (int)t->entry_num;
}

static int
dma_fd_body(struct fix *f)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	struct tdev *d = &f->dev;
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_reg m[2], ro;
	uint8_t *mem = NULL, pat[64], buf[128], *v;
	int mfd = -1, fds[2];
	uint64_t len;
	unsigned int upd;

	TEST_ASSERT_SUCCESS(memfd_buf(4 * MiB, &mfd, &mem), "memfd");
	m[0] = win(0x100000, MiB, 0, rw, mem);
	m[1] = win(0x200000, 2 * MiB, MiB, rw, mem + MiB);
	fds[0] = fds[1] = mfd;
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, m, fds, 2), "dma_map with fds");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA, upd + 1,
		EV_TIMEOUT_MS), "no update_status(DMA)");

	t = rte_vfio_user_get_mem_table(d->id);
	TEST_ASSERT_NOT_NULL(t, "no mem table (rte_errno %d)", rte_errno);
	TEST_ASSERT_EQUAL(t->entry_num, 2u, "%u entries", t->entry_num);
	TEST_ASSERT(t->regions[0].iova == 0x100000 && t->regions[0].size == MiB &&
		t->regions[0].fd_offset == 0, "entry 0: 0x%" PRIx64 "+0x%" PRIx64 " @0x%" PRIx64,
		t->regions[0].iova, t->regions[0].size, t->regions[0].fd_offset);
	TEST_ASSERT(t->regions[1].iova == 0x200000 && t->regions[1].size == 2 * MiB &&
		t->regions[1].fd_offset == MiB, "entry 1: 0x%" PRIx64 "+0x%" PRIx64 " @0x%" PRIx64,
		t->regions[1].iova, t->regions[1].size, t->regions[1].fd_offset);
	TEST_ASSERT(t->regions[0].prot == rw && t->regions[1].prot == rw, "prot");
	TEST_ASSERT(t->regions[0].fd >= 0 && t->regions[1].fd >= 0, "server fds");
	TEST_ASSERT(t->regions[0].vaddr != NULL && t->regions[1].vaddr != NULL, "no mapping");
	tdev_fill(mem, 3 * MiB, 7);
	TEST_ASSERT(memcmp(t->regions[0].vaddr, mem, MiB) == 0, "entry 0 maps other memory");
	TEST_ASSERT(memcmp(t->regions[1].vaddr, mem + MiB, 2 * MiB) == 0,
		"entry 1 does not honour fd_offset");

	/* iova_to_vva. */
	len = 16;
	v = rte_vfio_user_iova_to_vva(d->id, 0x100010, &len);
	TEST_ASSERT(v == (uint8_t *)t->regions[0].vaddr + 0x10 && len == 16,
		"iova_to_vva(0x100010) = %p len %" PRIu64, (void *)v, len);
	len = MiB;
	v = rte_vfio_user_iova_to_vva(d->id, 0x180000, &len);
	TEST_ASSERT(v != NULL && len == 0x80000, "len not clipped at the window end: %" PRIu64,
		len);
	len = 8;
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(d->id, 0x50000, &len), "unmapped iova");
	TEST_ASSERT_EQUAL(rte_errno, ENOENT, "rte_errno %d", rte_errno);

	/* Server writes/reads client memory, also across the two windows. */
	tdev_fill(pat, sizeof(pat), 8);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, 0x1ffff0, pat, sizeof(pat)),
		"dma_write across windows");
	TEST_ASSERT(memcmp(mem + 0xffff0, pat, sizeof(pat)) == 0, "client memory differs");
	/* Window 1 (iova 0x200000) starts at fd offset 1 MiB: its end is mem + 3 MiB. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x400000 - 32, buf, 32), "dma_read end");
	TEST_ASSERT(memcmp(buf, mem + 3 * MiB - 32, 32) == 0, "dma_read data differs");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0x400000 - 32, buf, 64), -EFAULT,
		"dma_read past the last window");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0xffff0, buf, 32), -EFAULT,
		"dma_read before the first window");

	/* Read-only window. */
	ro = win(0x400000, 0x10000, 3 * MiB, PROT_READ, mem + 3 * MiB);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &ro, &mfd, 1), "map RO window");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries");
	t = rte_vfio_user_get_mem_table(d->id);
	TEST_ASSERT_EQUAL(t->regions[2].prot, (uint32_t)PROT_READ, "RO prot %u",
		t->regions[2].prot);
	memset(mem + 3 * MiB, 0x3c, 16);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x400000, buf, 16), "read RO window");
	TEST_ASSERT_EQUAL(buf[15], 0x3c, "RO window data");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_write(d->id, 0x400000, pat, 16), -EFAULT,
		"dma_write to a read-only window");
	TEST_ASSERT_EQUAL(mem[3 * MiB], 0x3c, "read-only window written");

	/* Exact unmap. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m[0], 1), "unmap window 0");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA, upd + 1,
		EV_TIMEOUT_MS), "no update_status(DMA) at unmap");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 2, "entries after unmap");
	len = 8;
	TEST_ASSERT_NULL(rte_vfio_user_iova_to_vva(d->id, 0x100000, &len), "unmapped window");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_read(d->id, 0x100000, buf, 8), -EFAULT,
		"dma_read of an unmapped window");

	munmap(mem, 4 * MiB);
	close(mfd);
	/* The server keeps its own mapping and fd. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, 0x200000, buf, 8), "read after close");
	return TEST_SUCCESS;
}

static int
test_dma_fd(void)
{
	return run_fix(dma_fd_body, NULL);
}

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

static int
dma_errors_body(struct fix *f)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m, two[2];
	uint8_t *mem = NULL;
	int mfd = -1, ret;
	unsigned int upd;

	TEST_ASSERT_SUCCESS(memfd_buf(0x10000, &mfd, &mem), "memfd");
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map A");
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA);

	m = win(0x10f000, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "overlap at end");
	m = win(0xff000, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "overlap at start");
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "same window");
	m = win(0, 16 * MiB, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "superset");
	m = win(0x104000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EEXIST, "subset");
	m = win(0x200000, 0, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EINVAL, "size 0");
	m = win(UINT64_MAX - 0xfff, 0x2000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -EINVAL,
		"iova + size wraps 2^64");
	m = win(0x300000, 0x1000, 0x123, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), -EINVAL,
		"unaligned fd offset");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "refused maps changed the table");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA), upd,
		"update_status(DMA) after a refused map");

	m = win(0x110000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), "adjacent window");
	m = win(UINT64_MAX - 0xfff, 0x1000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "window ending at 2^64");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries");

	/* Several windows, the second one bad: the first stays. */
	two[0] = win(0x400000, 0x1000, 0, rw, mem);
	two[1] = win(0x400800, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, two, NULL, 2), -EEXIST, "second overlaps");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 4, "first window of the batch not kept");

	/* Unmap must match exactly. */
	m = win(0x100000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of a part");
	m = win(0x108000, 0x10000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap shifted");
	m = win(0x100000, 0x20000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of two windows");
	m = win(0x900000, 0x1000, 0, rw, mem);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap of nothing");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 4, "failed unmaps changed the table");
	m = win(0x110000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "exact unmap");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 3, "entries after unmap");
	ret = rte_vfio_user_dma_unmap(f->cid, &m, 1);
	TEST_ASSERT_EQUAL(ret, -ENOENT, "second unmap of the same window: %d", ret);

	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, NULL, 0), "unmap all");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 0, "entries after unmap all");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, NULL, 0), "unmap all of nothing");
	/* The table is usable again. */
	m = win(0x100000, 0x10000, 0, rw, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, &mfd, 1), "map after unmap all");
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "entries");
	munmap(mem, 0x10000);
	close(mfd);
	return TEST_SUCCESS;
}

static int
test_dma_errors(void)
{
	return run_fix(dma_errors_body, NULL);
}

static int
dma_max_maps_body(struct fix *f)
{
	struct rte_vfio_user_mem_reg m;
	uint8_t page[4096];
	int i;

	for (i = 0; i < 4; i++) {
		m = win(0x100000 + i * 0x10000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map %d", i);
	}
	m = win(0x900000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), -ENOSPC,
		"fifth window with max_dma_maps 4");
	TEST_ASSERT_EQUAL(mem_table_entries(f->dev.id), 4, "entries");
	m = win(0x100000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "unmap one");
	m = win(0x900000, 0x1000, 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map after a free slot");
	return TEST_SUCCESS;
}

static int
test_dma_max_maps(void)
{
	struct rte_vfio_user_limits lim = { .max_dma_maps = 4 };
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	ret = run_fix(dma_max_maps_body, NULL);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
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
 * VFIO_USER_DEVICE_RESET.
 */
static int
reset_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t page[4096];
	int efd = -1, sfd;
	uint64_t v;

	m = win(0x100000, sizeof(page), 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(make_efds(&efd, 1), "eventfd");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, sizeof(int)), "assign");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0x40, 0x1122334455667788ULL), "write");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0x10, 0xabcdULL), "write");

	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 0u, "reset before reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "reset");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 1u, "reset_device not called");
	/* The device model's reset ran (it clears 0x40..0x7f), the rest is kept. */
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0x40, &v), "read");
	TEST_ASSERT_EQUAL(v, 0ULL, "scratch register not reset");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0x10, &v), "read");
	TEST_ASSERT_EQUAL(v, 0xabcdULL, "register outside the reset area lost");
	/* DMA table and IRQs are kept. */
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "DMA table changed by reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 1, &sfd), "irq");
	TEST_ASSERT(sfd >= 0, "IRQ eventfd dropped by reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 0), "irq");
	TEST_ASSERT_EQUAL(efd_wait(efd, 1000), 1ULL, "IRQ after reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "second reset");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 2u, "second reset_device");
	close(efd);
	return TEST_SUCCESS;
}

static int
no_reset_body(struct fix *f)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info");
	TEST_ASSERT_EQUAL(info.flags, (uint32_t)VFIO_DEVICE_FLAGS_PCI, "flags 0x%x", info.flags);
	TEST_ASSERT_EQUAL(rte_vfio_user_reset(f->cid), -EINVAL, "reset without FLAGS_RESET");
	TEST_ASSERT_EQUAL(tdev_ev_count(&f->dev, TDEV_EV_RESET, -1), 0u, "reset_device called");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "session after refusal");
	return TEST_SUCCESS;
}

static int
test_reset(void)
{
	struct tdev_cfg cfg = { .no_reset = true };
	int ret;

	ret = run_fix(reset_body, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	return run_fix(no_reset_body, &cfg);
}

/*
 * Notify callbacks, and their order.
 */
static void
print_evs(struct tdev *d, unsigned int from)
{
	struct tdev_ev ev[64];
	unsigned int i, n = tdev_ev_get(d, from, ev, RTE_DIM(ev));

	for (i = 0; i < n; i++)
		printf("    event %u: %s(%d)\n", from + i, tdev_ev_name(ev[i].type), ev[i].arg);
}

/* Events from @from must be exactly @exp (waits for them to arrive). */
static int
expect_evs(struct tdev *d, unsigned int from, const struct tdev_ev *exp, unsigned int n)
{
	struct tdev_ev ev[32];
	uint64_t end = now_ms() + EV_TIMEOUT_MS;
	unsigned int got, i;

	while (tdev_ev_num(d) < from + n && now_ms() < end)
		usleep(2000);
	usleep(20000); /* nothing more must follow */
	got = tdev_ev_get(d, from, ev, RTE_DIM(ev));
	if (got != n)
		goto bad;
	for (i = 0; i < n; i++)
		if (ev[i].type != exp[i].type || ev[i].arg != exp[i].arg)
			goto bad;
	return 0;
bad:
	printf("  expected:\n");
	for (i = 0; i < n; i++)
		printf("    %s(%d)\n", tdev_ev_name(exp[i].type), exp[i].arg);
	printf("  got:\n");
	print_evs(d, from);
	return -1;
}

static int
notify_body(struct fix *f)
{
	static const struct tdev_ev dma_seq[] = {
		{ TDEV_EV_LOCK, 1 }, { TDEV_EV_LOCK, 0 },
		{ TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_DMA },
	};
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	struct tdev_ev ev[64];
	uint8_t page[4096];
	unsigned int n0, n, i, lock1 = 0, lock0 = 0, upd_irq = 0, destroy_at = 0;
	int efd = -1, depth = 0, last_lock = -1;
	bool lock_before_destroy = false;

	/* new_device is the first event, once. */
	TEST_ASSERT(tdev_ev_get(d, 0, ev, 1) == 1 && ev[0].type == TDEV_EV_NEW,
		"first event is not new_device");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_NEW, -1), 1u, "new_device count");

	/* Region access and info calls change no state: no events. */
	n0 = tdev_ev_num(d);
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0, 1), "write");
	TEST_ASSERT_SUCCESS(expect_evs(d, n0, NULL, 0), "events for a region write");

	n0 = tdev_ev_num(d);
	m = win(0x100000, sizeof(page), 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(expect_evs(d, n0, dma_seq, RTE_DIM(dma_seq)), "DMA_MAP events");
	/* The table, read from the callbacks: old at lock(1), new at lock(0) and update. */
	tdev_ev_get(d, n0, ev, 3);
	TEST_ASSERT(ev[0].tbl == 0 && ev[1].tbl == 1 && ev[2].tbl == 1,
		"DMA_MAP: table entries seen in lock(1)/lock(0)/update: %d/%d/%d",
		ev[0].tbl, ev[1].tbl, ev[2].tbl);
	n0 = tdev_ev_num(d);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "unmap");
	TEST_ASSERT_SUCCESS(expect_evs(d, n0, dma_seq, RTE_DIM(dma_seq)), "DMA_UNMAP events");
	tdev_ev_get(d, n0, ev, 3);
	TEST_ASSERT(ev[0].tbl == 1 && ev[1].tbl == 0 && ev[2].tbl == 0,
		"DMA_UNMAP: table entries seen in lock(1)/lock(0)/update: %d/%d/%d",
		ev[0].tbl, ev[1].tbl, ev[2].tbl);
	n0 = tdev_ev_num(d);
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_unmap(f->cid, &m, 1), -ENOENT, "unmap again");
	/* A failed unmap changes nothing: no update, at most a balanced lock pair. */
	if (tdev_ev_num(d) != n0)
		TEST_ASSERT_SUCCESS(expect_evs(d, n0, dma_seq, 2), "events for a failed unmap");
	else
		TEST_ASSERT_SUCCESS(expect_evs(d, n0, NULL, 0), "events for a failed unmap");

	/* SET_IRQS: locked change, then update_status(IRQ). */
	TEST_ASSERT_SUCCESS(make_efds(&efd, 1), "eventfd");
	n0 = tdev_ev_num(d);
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, sizeof(int)), "assign");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ, 1,
		EV_TIMEOUT_MS), "no update_status(IRQ)");
	usleep(20000);
	n = tdev_ev_get(d, n0, ev, RTE_DIM(ev));
	for (i = 0; i < n; i++) {
		if (ev[i].type == TDEV_EV_LOCK)
			ev[i].arg ? lock1++ : lock0++;
		if (ev[i].type == TDEV_EV_UPDATE) {
			TEST_ASSERT_EQUAL(ev[i].arg, RTE_VFIO_USER_UPDATE_IRQ,
				"DMA update for IRQs");
			TEST_ASSERT(lock1 == 1, "update_status(IRQ) without lock_dp(1) before");
			upd_irq++;
		}
	}
	if (lock1 != 1 || lock0 != 1 || upd_irq != 1)
		print_evs(d, n0);
	TEST_ASSERT(lock1 == 1 && lock0 == 1 && upd_irq == 1,
		"SET_IRQS events: lock(1) x%u, lock(0) x%u, update(IRQ) x%u",
		lock1, lock0, upd_irq);

	/* Detach with a DMA window and an eventfd set: lock, destroy, nothing after but unlock. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	usleep(20000);
	n0 = tdev_ev_num(d);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach");
	f->cid = -1;
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS),
		"no destroy_device");
	usleep(20000);
	n = tdev_ev_get(d, n0, ev, RTE_DIM(ev));
	for (i = 0; i < n; i++) {
		if (ev[i].type == TDEV_EV_LOCK && ev[i].arg == 1 && destroy_at == 0)
			lock_before_destroy = true;
		if (ev[i].type == TDEV_EV_DESTROY)
			destroy_at = i + 1;
		else if (destroy_at != 0 && !(ev[i].type == TDEV_EV_LOCK && ev[i].arg == 0))
			break;
	}
	if (!lock_before_destroy || i != n)
		print_evs(d, n0);
	TEST_ASSERT(lock_before_destroy, "destroy_device not preceded by lock_dp(1)");
	TEST_ASSERT_EQUAL(i, n, "event after destroy_device");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_DESTROY, -1), 1u, "destroy_device count");
	rte_errno = 0;
	TEST_ASSERT_NULL(rte_vfio_user_get_mem_table(d->id), "mem table after destroy");
	TEST_ASSERT_EQUAL(rte_errno, ENOTCONN, "rte_errno %d", rte_errno);

	/* lock_dp calls never nest over the whole life. */
	n = tdev_ev_get(d, 0, ev, RTE_DIM(ev));
	for (i = 0; i < n; i++) {
		if (ev[i].type != TDEV_EV_LOCK)
			continue;
		depth += ev[i].arg ? 1 : -1;
		TEST_ASSERT(depth == 0 || depth == 1, "lock_dp nesting at event %u", i);
		last_lock = ev[i].arg;
	}
	TEST_ASSERT(last_lock != 1 || depth == 1, "unbalanced lock_dp");
	close(efd);
	return TEST_SUCCESS;
}

static int
test_notify_order(void)
{
	return run_fix(notify_body, NULL);
}

/*
 * Disconnect and reconnect: per-connection state is dropped, device state kept.
 */
static int
reconnect_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t page[4096];
	int efd[4] = { -1, -1, -1, -1 }, sfd[4], i, j;
	uint64_t v;

	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0x10, 0xabcd1234ULL), "write BAR0");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_BASE, 0x20, 0x5566ULL), "write BAR1");
	m = win(0x100000, sizeof(page), 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(make_efds(efd, 4), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 4, efd, sizeof(efd)), "assign");

	for (i = 0; i < 5; i++) {
		TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach #%d", i);
		f->cid = -1;
		TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, i + 1, EV_TIMEOUT_MS),
			"destroy_device #%d", i);
		rte_errno = 0;
		TEST_ASSERT_NULL(rte_vfio_user_get_mem_table(d->id), "table without client");
		TEST_ASSERT_EQUAL(rte_errno, ENOTCONN, "rte_errno %d", rte_errno);
		TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 4, sfd),
			"get_irq");
		for (j = 0; j < 4; j++)
			TEST_ASSERT_EQUAL(sfd[j], -1, "IRQ fd %d kept after disconnect", j);
		TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 0),
			-ENOENT, "trigger after disconnect");

		f->cid = rte_vfio_user_attach_dev(d->path);
		TEST_ASSERT(f->cid >= 0, "re-attach #%d: %d", i, f->cid);
		TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_NEW, -1, i + 2, EV_TIMEOUT_MS),
			"new_device #%d", i + 2);
		TEST_ASSERT_EQUAL(mem_table_entries(d->id), 0, "DMA table not empty on reconnect");
		TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0x10, &v), "read BAR0");
		TEST_ASSERT_EQUAL(v, 0xabcd1234ULL, "BAR0 register lost: 0x%" PRIx64, v);
		TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_BASE, 0x20, &v), "read BAR1");
		TEST_ASSERT_EQUAL(v, 0x5566ULL, "BAR1 data lost: 0x%" PRIx64, v);
		/* The same window can be mapped again. */
		TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map again");
	}
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 0), 0ULL, "stray interrupt");
	close_fds(efd, 4);
	return TEST_SUCCESS;
}

static int
test_reconnect(void)
{
	return run_fix(reconnect_body, NULL);
}

/* One client at a time: a second one waits until the first goes. */
struct attach_thr {
	const char *path;
	volatile int done;
	int ret;
};

static void *
attach_thread(void *arg)
{
	struct attach_thr *a = arg;

	a->ret = rte_vfio_user_attach_dev(a->path);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
second_client_body(struct fix *f)
{
	struct attach_thr a = { .path = f->dev.path };
	pthread_t tid;
	uint64_t v;

	TEST_ASSERT_SUCCESS(pthread_create(&tid, NULL, attach_thread, &a), "thread");
	usleep(300 * 1000);
	if (__atomic_load_n(&a.done, __ATOMIC_ACQUIRE)) {
		pthread_join(tid, NULL);
		if (a.ret >= 0)
			rte_vfio_user_detach_dev(a.ret);
		TEST_ASSERT(false, "second attach finished (%d) during the first client",
			a.ret);
	}
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0, &v), "first client still served");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach first");
	f->cid = -1;
	pthread_join(tid, NULL);
	TEST_ASSERT(a.ret >= 0, "second attach after the first left: %d", a.ret);
	f->cid = a.ret;
	TEST_ASSERT_SUCCESS(tdev_ev_wait(&f->dev, TDEV_EV_NEW, -1, 2, EV_TIMEOUT_MS),
		"new_device for the second client");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0, &v), "second client served");
	return TEST_SUCCESS;
}

static int
test_second_client(void)
{
	return run_fix(second_client_body, NULL);
}

/* rte_vfio_user_stop() and unregister with a client attached. */
static int
stop_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct stat st;
	uint64_t v, t0;
	int ret, cid2;

	TEST_ASSERT_SUCCESS(rte_vfio_user_stop(d->path), "stop with a client");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS),
		"no destroy_device at stop");
	TEST_ASSERT(stat(d->path, &st) < 0, "socket left after stop");
	t0 = now_ms();
	ret = reg_r64(f->cid, TDEV_BAR_CB, 0, &v);
	TEST_ASSERT(is_conn_error(ret), "call after stop: %d", ret);
	TEST_ASSERT(now_ms() - t0 < 1000, "call after stop took %" PRIu64 " ms", now_ms() - t0);
	ret = reg_r64(f->cid, TDEV_BAR_CB, 0, &v);
	TEST_ASSERT(is_conn_error(ret), "second call after stop: %d", ret);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach of a dead connection");
	f->cid = -1;

	TEST_ASSERT_SUCCESS(rte_vfio_user_start(d->path), "restart");
	cid2 = rte_vfio_user_attach_dev(d->path);
	TEST_ASSERT(cid2 >= 0, "attach after restart: %d", cid2);
	f->cid = cid2;
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 8, 99), "write after restart");

	/* Unregister with the client on. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_unregister(d->path), "unregister with a client");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_DESTROY, -1, 2, EV_TIMEOUT_MS),
		"no destroy_device at unregister");
	ret = reg_r64(f->cid, TDEV_BAR_CB, 0, &v);
	TEST_ASSERT(is_conn_error(ret), "call after unregister: %d", ret);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(f->cid), "detach");
	f->cid = -1;
	return TEST_SUCCESS;
}

static int
test_stop_with_client(void)
{
	return run_fix(stop_body, NULL);
}

/* rte_vfio_user_set_disconnect_cb(): once on server loss, never on detach. */
struct disc_rec {
	int calls;
	int dev_id;
};

static void
disc_cb(int dev_id, void *arg)
{
	struct disc_rec *r = arg;

	r->dev_id = dev_id;
	__atomic_fetch_add(&r->calls, 1, __ATOMIC_RELEASE);
}

static int
disc_wait(struct disc_rec *r, int n, int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while (__atomic_load_n(&r->calls, __ATOMIC_ACQUIRE) < n && now_ms() < end)
		usleep(1000);
	return __atomic_load_n(&r->calls, __ATOMIC_ACQUIRE);
}

static int
disconnect_cb_body(struct fix *f)
{
	struct disc_rec r = { 0, -1 }, r2 = { 0, -1 };
	int cid;

	TEST_ASSERT_EQUAL(rte_vfio_user_set_disconnect_cb(-1, disc_cb, &r), -ENODEV,
		"bad device id");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_disconnect_cb(f->cid + 1000, disc_cb, &r), -ENODEV,
		"unknown device id");

	/* A detach is no disconnection: a second client detaches, nothing is called. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(f->cid, disc_cb, &r), "set");
	TEST_ASSERT_SUCCESS(rte_vfio_user_stop(f->dev.path), "stop");
	TEST_ASSERT_EQUAL(disc_wait(&r, 1, EV_TIMEOUT_MS), 1, "callback after the server stopped");
	TEST_ASSERT_EQUAL(r.dev_id, f->cid, "callback dev_id");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE, 0, &cid, sizeof(cid)),
		-ENOTCONN, "calls fail once the server is gone");
	TEST_ASSERT_EQUAL(rte_vfio_user_set_disconnect_cb(f->cid, disc_cb, &r2), -ENOTCONN,
		"set after the server went away");
	usleep(50 * 1000);
	TEST_ASSERT_EQUAL(r.calls, 1, "called more than once");
	TEST_ASSERT_EQUAL(r2.calls, 0, "late callback called");

	TEST_ASSERT_SUCCESS(rte_vfio_user_start(f->dev.path), "restart");
	cid = rte_vfio_user_attach_dev(f->dev.path);
	TEST_ASSERT(cid >= 0, "attach after restart: %d", cid);
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(cid, disc_cb, &r2), "set");
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(cid, NULL, NULL), "clear");
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(cid, disc_cb, &r2), "set again");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
	usleep(50 * 1000);
	TEST_ASSERT_EQUAL(r2.calls, 0, "callback called on detach");
	return TEST_SUCCESS;
}

static int
test_disconnect_cb(void)
{
	return run_fix(disconnect_cb_body, NULL);
}

/* max_devices, for servers and, separately, for clients. */
static int
max_devices_body(struct tdev *t, int *cids)
{
	struct rte_vfio_user_limits lim = { .max_devices = 2 };
	char path[256];
	int i;

	for (i = 0; i < 3; i++) {
		mkpath(path, sizeof(path), "maxdev");
		TEST_ASSERT_SUCCESS(tdev_create(&t[i], path, NULL, true), "device %d", i);
	}
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits");
	mkpath(path, sizeof(path), "maxdev");
	TEST_ASSERT_EQUAL(rte_vfio_user_register(path, NULL), -ENOSPC,
		"fourth server with max_devices 2");
	for (i = 0; i < 2; i++) {
		cids[i] = rte_vfio_user_attach_dev(t[i].path);
		TEST_ASSERT(cids[i] >= 0, "attach %d: %d", i, cids[i]);
	}
	cids[2] = rte_vfio_user_attach_dev(t[2].path);
	TEST_ASSERT_EQUAL(cids[2], -ENOSPC, "third client with max_devices 2: %d", cids[2]);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cids[0]), "detach");
	cids[0] = -1;
	cids[2] = rte_vfio_user_attach_dev(t[2].path);
	TEST_ASSERT(cids[2] >= 0, "attach after a detach freed a slot: %d", cids[2]);
	return TEST_SUCCESS;
}

static int
test_max_devices(void)
{
	struct leak_snap before;
	struct tdev *t;
	int cids[3] = { -1, -1, -1 };
	int i, ret;

	leak_snap(&before);
	t = calloc(3, sizeof(*t));
	TEST_ASSERT_NOT_NULL(t, "no memory");
	for (i = 0; i < 3; i++)
		t[i].id = -1;
	ret = max_devices_body(t, cids);
	rte_vfio_user_limits_set(&g_def_limits);
	for (i = 0; i < 3; i++) {
		if (cids[i] >= 0)
			rte_vfio_user_detach_dev(cids[i]);
		if (t[i].path[0] != '\0')
			tdev_close(&t[i], EV_TIMEOUT_MS);
	}
	free(t);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* A 4 KiB max_data_xfer_size: region and DMA transfers are split at it. */
static int
small_xfer_body(struct fix *f)
{
	const uint64_t base = 0x20000000;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t *w, *r, *mem;
	uint64_t calls;
	ssize_t ret;

	w = malloc(3 * 4096);
	r = malloc(3 * 4096);
	mem = calloc(1, 4 * 4096);
	TEST_ASSERT(w != NULL && r != NULL && mem != NULL, "no memory");
	tdev_fill(w, 10000, 61);
	calls = d->cb_calls;
	ret = rte_vfio_user_region_write(f->cid, TDEV_BAR_CB, 0x1000, w, 10000);
	TEST_ASSERT_EQUAL(ret, 10000, "write of 10000: %zd", ret);
	TEST_ASSERT_EQUAL(d->cb_calls - calls, 3ULL, "%" PRIu64 " callbacks for 10000 bytes",
		d->cb_calls - calls);
	TEST_ASSERT_EQUAL(d->cb_max_count, 4096ULL, "largest piece %" PRIu64, d->cb_max_count);
	TEST_ASSERT(memcmp(d->cb_mem + 0x1000, w, 10000) == 0, "device memory differs");
	ret = rte_vfio_user_region_read(f->cid, TDEV_BAR_CB, 0x1000, r, 10000);
	TEST_ASSERT_EQUAL(ret, 10000, "read of 10000: %zd", ret);
	TEST_ASSERT(memcmp(r, w, 10000) == 0, "read data differs");

	m = win(base, 4 * 4096, 0, PROT_READ | PROT_WRITE, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, base + 1, w, 10000), "dma_write");
	TEST_ASSERT(memcmp(mem + 1, w, 10000) == 0, "client memory differs");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, base + 1, r, 10000), "dma_read");
	TEST_ASSERT(memcmp(r, w, 10000) == 0, "dma_read data differs");
	free(w);
	free(r);
	free(mem);
	return TEST_SUCCESS;
}

static int
test_small_xfer(void)
{
	struct rte_vfio_user_limits lim = { .max_data_xfer_size = 4096, .max_msg_size = 8192 };
	int ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits");
	ret = run_fix(small_xfer_body, NULL);
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

static struct unit_test_suite vfio_user_suite = {
	.suite_name = "vfio-user functional tests",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_limits),
		TEST_CASE(test_server_api),
		TEST_CASE(test_client_api),
		TEST_CASE(test_client_args),
		TEST_CASE(test_dev_info),
		TEST_CASE(test_io_fds),
		TEST_CASE(test_region_rw_cb),
		TEST_CASE(test_region_rw_base),
		TEST_CASE(test_region_write_multi),
		TEST_CASE(test_region_mmap),
		TEST_CASE(test_irq),
		TEST_CASE(test_irq_mask),
		TEST_CASE(test_irq_errors),
		TEST_CASE(test_dma_fd),
		TEST_CASE(test_dma_nofd),
		TEST_CASE(test_dma_errors),
		TEST_CASE(test_dma_max_maps),
		TEST_CASE(test_dma_from_callback),
		TEST_CASE(test_reset),
		TEST_CASE(test_notify_order),
		TEST_CASE(test_reconnect),
		TEST_CASE(test_second_client),
		TEST_CASE(test_stop_with_client),
		TEST_CASE(test_disconnect_cb),
		TEST_CASE(test_max_devices),
		TEST_CASE(test_small_xfer),
		TEST_CASES_END()
	},
};

static int
test_vfio_user(void)
{
	return unit_test_suite_runner(&vfio_user_suite);
}

REGISTER_TEST_COMMAND(vfio_user_autotest, test_vfio_user);

/*
 * 64 devices served by the one control thread, each used by 2 client threads.
 */
#define MDEV_NUM 64
#define MDEV_ITERS 40
#define MDEV_SLOTS 8

struct mdev_thr {
	struct tdev *d;
	int cid;
	int dev;
	int half;
	pthread_barrier_t *bar;
	int ret;
	char msg[160];
};

static void
mdev_io(int dev, int half, int iter, uint32_t *idx, uint64_t *off, size_t *sz, uint32_t *seed)
{
	*idx = (iter & 1) ? TDEV_BAR_BASE : TDEV_BAR_CB;
	*off = half * 0x8000 + (iter % MDEV_SLOTS) * 0x800 + 8;
	*sz = 64 + (iter * 131) % 1500;
	*seed = dev * 100000 + half * 1000 + iter;
}

static void *
mdev_thread(void *arg)
{
	struct mdev_thr *a = arg;
	uint8_t w[2048], r[2048];
	uint32_t idx, seed;
	uint64_t off;
	size_t sz;
	ssize_t ret;
	int it;

	pthread_barrier_wait(a->bar);
	for (it = 0; it < MDEV_ITERS; it++) {
		mdev_io(a->dev, a->half, it, &idx, &off, &sz, &seed);
		tdev_fill(w, sz, seed);
		ret = rte_vfio_user_region_write(a->cid, idx, off, w, sz);
		if (ret != (ssize_t)sz) {
			snprintf(a->msg, sizeof(a->msg), "dev %d/%d write #%d: %zd", a->dev,
				a->half, it, ret);
			a->ret = -1;
			return NULL;
		}
		memset(r, 0, sz);
		ret = rte_vfio_user_region_read(a->cid, idx, off, r, sz);
		if (ret != (ssize_t)sz || memcmp(r, w, sz) != 0) {
			snprintf(a->msg, sizeof(a->msg), "dev %d/%d read #%d: %zd%s", a->dev,
				a->half, it, ret, ret == (ssize_t)sz ? " (data differs)" : "");
			a->ret = -1;
			return NULL;
		}
	}
	a->ret = 0;
	return NULL;
}

static int
multi_dev_run(struct tdev *devs, int *cids, struct mdev_thr *thr, pthread_t *tid)
{
	struct tdev_cfg cfg = { .cb_size = 0x10000, .base_size = 0x10000 };
	pthread_barrier_t bar;
	char path[256];
	uint8_t w[2048];
	uint32_t idx, seed;
	uint64_t off;
	size_t sz;
	int i, h, it, ret, nthr = 0;

	for (i = 0; i < MDEV_NUM; i++) {
		mkpath(path, sizeof(path), "multi");
		ret = tdev_create(&devs[i], path, &cfg, true);
		TEST_ASSERT_SUCCESS(ret, "device %d", i);
	}
	for (i = 0; i < MDEV_NUM; i++) {
		cids[i] = rte_vfio_user_attach_dev(devs[i].path);
		TEST_ASSERT(cids[i] >= 0, "attach %d: %d", i, cids[i]);
	}
	for (i = 0; i < MDEV_NUM; i++)
		TEST_ASSERT_SUCCESS(tdev_ev_wait(&devs[i], TDEV_EV_NEW, -1, 1, EV_TIMEOUT_MS),
			"new_device %d", i);
	TEST_ASSERT_EQUAL(count_ctrl_threads(), 1, "vfio-user-ctrl threads: %d",
		count_ctrl_threads());

	TEST_ASSERT_SUCCESS(pthread_barrier_init(&bar, NULL, 2 * MDEV_NUM), "barrier");
	for (i = 0; i < MDEV_NUM; i++) {
		for (h = 0; h < 2; h++) {
			struct mdev_thr *a = &thr[i * 2 + h];

			*a = (struct mdev_thr){ .d = &devs[i], .cid = cids[i], .dev = i, .half = h,
				.bar = &bar, .ret = -1 };
			ret = pthread_create(&tid[i * 2 + h], NULL, mdev_thread, a);
			if (ret != 0) {
				printf("pthread_create: %s\n", strerror(ret));
				break;
			}
			nthr++;
		}
		if (nthr != (i + 1) * 2)
			break;
	}
	if (nthr != 2 * MDEV_NUM) {
		/* Release the threads that wait at the barrier: cannot, so cancel them. */
		for (i = 0; i < nthr; i++)
			pthread_cancel(tid[i]);
	}
	for (i = 0; i < nthr; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&bar);
	TEST_ASSERT_EQUAL(nthr, 2 * MDEV_NUM, "could not start the threads");
	for (i = 0; i < 2 * MDEV_NUM; i++)
		TEST_ASSERT_SUCCESS(thr[i].ret, "thread %d: %s", i, thr[i].msg);

	/* Every device holds exactly its own last writes. */
	for (i = 0; i < MDEV_NUM; i++) {
		for (h = 0; h < 2; h++) {
			for (it = MDEV_ITERS - MDEV_SLOTS; it < MDEV_ITERS; it++) {
				uint8_t *mem;

				mdev_io(i, h, it, &idx, &off, &sz, &seed);
				tdev_fill(w, sz, seed);
				mem = idx == TDEV_BAR_CB ? devs[i].cb_mem : devs[i].base_mem;
				TEST_ASSERT(memcmp(mem + off, w, sz) == 0,
					"device %d half %d slot %d holds other data", i, h, it);
			}
		}
		TEST_ASSERT(!devs[i].cb_bad_range, "bad range passed to device %d", i);
	}

	for (i = 0; i < MDEV_NUM; i++) {
		TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cids[i]), "detach %d", i);
		cids[i] = -1;
	}
	for (i = 0; i < MDEV_NUM; i++)
		TEST_ASSERT_SUCCESS(tdev_ev_wait(&devs[i], TDEV_EV_DESTROY, -1, 1, EV_TIMEOUT_MS),
			"destroy_device %d", i);
	return TEST_SUCCESS;
}

static int
test_multi_dev(void)
{
	struct leak_snap before;
	struct tdev *devs;
	struct mdev_thr *thr;
	pthread_t *tid;
	int cids[MDEV_NUM];
	int i, ret;

	leak_snap(&before);
	devs = calloc(MDEV_NUM, sizeof(*devs));
	thr = calloc(2 * MDEV_NUM, sizeof(*thr));
	tid = calloc(2 * MDEV_NUM, sizeof(*tid));
	if (devs == NULL || thr == NULL || tid == NULL) {
		free(devs);
		free(thr);
		free(tid);
		TEST_ASSERT(false, "no memory");
	}
	for (i = 0; i < MDEV_NUM; i++) {
		devs[i].id = -1;
		devs[i].memfd = -1;
		devs[i].io_efd[0] = devs[i].io_efd[1] = -1;
		cids[i] = -1;
	}
	ret = multi_dev_run(devs, cids, thr, tid);
	for (i = 0; i < MDEV_NUM; i++) {
		if (cids[i] >= 0)
			rte_vfio_user_detach_dev(cids[i]);
		if (devs[i].path[0] != '\0')
			tdev_destroy(&devs[i]);
	}
	free(devs);
	free(thr);
	free(tid);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static struct unit_test_suite vfio_user_multi_dev_suite = {
	.suite_name = "vfio-user 64 devices",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_multi_dev),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_multi_dev(void)
{
	return unit_test_suite_runner(&vfio_user_multi_dev_suite);
}

REGISTER_TEST_COMMAND(vfio_user_multi_dev_autotest, test_vfio_user_multi_dev);

/*
 * Across processes: the server runs in a child (a fresh exec of this binary).
 */
#define CHILD_SOCK_ENV "VFIO_USER_TEST_SOCK"

static int
child_server(void)
{
	const char *path = getenv(CHILD_SOCK_ENV);
	struct tdev *d;
	int ret;

	if (path == NULL)
		return TEST_FAILED;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return TEST_FAILED;
	ret = tdev_create(d, path, NULL, true);
	if (ret < 0)
		return TEST_FAILED;
	d->cb_dma_job = true;
	test_child_ready();
	/* Serve until killed. */
	for (;;)
		pause();
	return TEST_SUCCESS;
}

REGISTER_TEST_CHILD(vfio_user_child_server, child_server);

static pid_t
spawn_server(char *path, size_t len)
{
	char env[300];
	char *extra[] = { env, NULL };
	pid_t pid;
	int rfd, ret;

	mkpath(path, len, "child");
	snprintf(env, sizeof(env), "%s=%s", CHILD_SOCK_ENV, path);
	pid = test_child_spawn("vfio_user_child_server", extra, &rfd);
	if (pid < 0) {
		printf("spawn: %d\n", pid);
		return pid;
	}
	ret = test_child_wait_ready(rfd, 30000);
	close(rfd);
	if (ret < 0) {
		printf("child server not ready: %d\n", ret);
		test_child_kill(pid, SIGKILL);
		return ret;
	}
	return pid;
}

struct call_thr {
	int cid;
	int ret;
	uint64_t ms;
};

static void *
call_thread(void *arg)
{
	struct call_thr *a = arg;
	uint64_t t0 = now_ms(), v;

	a->ret = reg_r64(a->cid, TDEV_BAR_CB, 0x10, &v);
	a->ms = now_ms() - t0;
	return NULL;
}

/* SIGSTOP the child and wait until it is really stopped. */
static int
stop_child(pid_t pid)
{
	int status;

	if (kill(pid, SIGSTOP) < 0)
		return -errno;
	if (waitpid(pid, &status, WUNTRACED) != pid)
		return -errno;
	return WIFSTOPPED(status) ? 0 : -ECHILD;
}

static int
server_dies_body(pid_t *pid, const char *path, int *cidp)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct rte_vfio_user_mem_reg m;
	struct call_thr ct;
	pthread_t tid;
	uint8_t page[4096];
	uint64_t v, t0, el;
	int cid, ret, i;

	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach to the child: %d", cid);
	*cidp = cid;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(cid, &info), "get_dev_info");
	TEST_ASSERT_EQUAL(info.num_regions, (uint32_t)VFIO_PCI_NUM_REGIONS, "num_regions");
	TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, 0x10, 0x1234), "write");

	/* A stopped server: -ETIMEDOUT after the reply timeout, then the stream recovers. */
	TEST_ASSERT_SUCCESS(stop_child(*pid), "SIGSTOP");
	t0 = now_ms();
	ret = reg_r64(cid, TDEV_BAR_CB, 0x10, &v);
	el = now_ms() - t0;
	kill(*pid, SIGCONT);
	TEST_ASSERT_EQUAL(ret, -ETIMEDOUT, "call to a stopped server: %d", ret);
	TEST_ASSERT(el >= 2900 && el < 5000, "timeout after %" PRIu64 " ms (limit 3000)", el);
	for (i = 0; i < 4; i++) {
		TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, 0x18, 0x100 + i),
			"write after timeout");
		TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, 0x18, &v), "read after timeout");
		TEST_ASSERT_EQUAL(v, 0x100ULL + i, "reply mixed up after a timeout: 0x%" PRIx64, v);
	}
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, 0x10, &v), "read");
	TEST_ASSERT_EQUAL(v, 0x1234ULL, "data 0x%" PRIx64, v);

	/* The server dies while a call waits for its reply. */
	TEST_ASSERT_SUCCESS(stop_child(*pid), "SIGSTOP");
	ct.cid = cid;
	TEST_ASSERT_SUCCESS(pthread_create(&tid, NULL, call_thread, &ct), "thread");
	usleep(200 * 1000);
	test_child_kill(*pid, SIGKILL);
	*pid = -1;
	pthread_join(tid, NULL);
	TEST_ASSERT(is_conn_error(ct.ret), "in-flight call when the server died: %d", ct.ret);
	TEST_ASSERT(ct.ms < 2500, "in-flight call returned after %" PRIu64 " ms", ct.ms);

	/* Every later call fails at once. */
	t0 = now_ms();
	ret = reg_r64(cid, TDEV_BAR_CB, 0x10, &v);
	TEST_ASSERT(is_conn_error(ret), "region_read after the server died: %d", ret);
	ret = rte_vfio_user_get_dev_info(cid, &info);
	TEST_ASSERT(is_conn_error(ret), "get_dev_info after the server died: %d", ret);
	m = win(0x100000, sizeof(page), 0, PROT_READ | PROT_WRITE, page);
	ret = rte_vfio_user_dma_map(cid, &m, NULL, 1);
	TEST_ASSERT(is_conn_error(ret), "dma_map after the server died: %d", ret);
	el = now_ms() - t0;
	TEST_ASSERT(el < 1000, "calls to a dead server took %" PRIu64 " ms", el);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
	*cidp = -1;
	return TEST_SUCCESS;
}

static int
test_server_dies(void)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = 3000 };
	struct leak_snap before;
	char path[256];
	pid_t pid;
	int cid = -1, ret;

	leak_snap(&before);
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits");
	pid = spawn_server(path, sizeof(path));
	if (pid < 0) {
		rte_vfio_user_limits_set(&g_def_limits);
		TEST_ASSERT(false, "no child server");
	}
	ret = server_dies_body(&pid, path, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	if (pid > 0) {
		kill(pid, SIGCONT);
		test_child_kill(pid, SIGKILL);
	}
	unlink(path);
	rte_vfio_user_limits_set(&g_def_limits);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* One DMA job in the child's region callback; checks its results. */
static int
child_dma_job(int cid, uint64_t iova, uint64_t len, uint8_t *src, int64_t exp_rc)
{
	uint64_t v, i;

	TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, TDEV_REG_DMA_LEN, len), "len");
	TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, TDEV_REG_DMA_IOVA, iova), "go");
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, TDEV_REG_DMA_RD_RC, &v), "rd rc");
	TEST_ASSERT_EQUAL((int64_t)v, exp_rc, "dma_read in the callback (iova 0x%" PRIx64
		", len %" PRIu64 "): %" PRId64, iova, len, (int64_t)v);
	if (exp_rc != 0)
		return TEST_SUCCESS;
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, TDEV_REG_DMA_HASH, &v), "hash");
	TEST_ASSERT_EQUAL(v, tdev_hash(src, len), "data read by the server differs (len %" PRIu64
		")", len);
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, TDEV_REG_DMA_WR_RC, &v), "wr rc");
	TEST_ASSERT_EQUAL((int64_t)v, 0, "dma_write in the callback: %" PRId64, (int64_t)v);
	for (i = 0; i < len; i++)
		TEST_ASSERT_EQUAL(src[len + i], src[i] ^ 0x5a, "byte %" PRIu64 " of %" PRIu64
			" written by the server differs", i, len);
	return TEST_SUCCESS;
}

static int
dma_msg_body(const char *path, int *cidp, uint8_t *mem, uint8_t *fmem, int mfd)
{
	struct rte_vfio_user_mem_reg m;
	int cid, ret;

	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach to the child: %d", cid);
	*cidp = cid;
	m = win(0x80000000, 512 * 1024, 0, PROT_READ | PROT_WRITE, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(cid, &m, NULL, 1), "map without fd");
	m = win(0xa0000000, 0x10000, 0, PROT_READ | PROT_WRITE, fmem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(cid, &m, &mfd, 1), "map with fd");

	/* Message DMA from the callback, split at our 4 KiB max_data_xfer_size. */
	tdev_fill(mem, 10000, 51);
	ret = child_dma_job(cid, 0x80000000, 10000, mem, 0);
	if (ret != TEST_SUCCESS)
		return ret;
	tdev_fill(mem, 200000, 52);
	ret = child_dma_job(cid, 0x80000000, 200000, mem, 0);
	if (ret != TEST_SUCCESS)
		return ret;
	tdev_fill(mem + 3, 1, 53);
	ret = child_dma_job(cid, 0x80000003, 1, mem + 3, 0);
	if (ret != TEST_SUCCESS)
		return ret;
	/* Through the mapping of the fd in the child. */
	tdev_fill(fmem, 4096, 54);
	ret = child_dma_job(cid, 0xa0000000, 4096, fmem, 0);
	if (ret != TEST_SUCCESS)
		return ret;
	/* Not (fully) mapped. */
	ret = child_dma_job(cid, 0x90000000, 64, NULL, -EFAULT);
	if (ret != TEST_SUCCESS)
		return ret;
	ret = child_dma_job(cid, 0x80000000 + 500 * 1024, 16 * 1024, NULL, -EFAULT);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(cid, NULL, 0), "unmap all");
	ret = child_dma_job(cid, 0x80000000, 64, NULL, -EFAULT);
	if (ret != TEST_SUCCESS)
		return ret;
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach");
	*cidp = -1;
	return TEST_SUCCESS;
}

static int
test_dma_msg_from_callback(void)
{
	struct rte_vfio_user_limits lim = { .max_data_xfer_size = 4096, .max_msg_size = 8192 };
	struct leak_snap before;
	uint8_t *mem, *fmem = NULL;
	char path[256];
	pid_t pid;
	int cid = -1, mfd = -1, ret;

	leak_snap(&before);
	mem = calloc(1, 512 * 1024);
	TEST_ASSERT_NOT_NULL(mem, "no memory");
	ret = memfd_buf(0x10000, &mfd, &fmem);
	if (ret < 0) {
		free(mem);
		TEST_ASSERT_SUCCESS(ret, "memfd");
	}
	pid = spawn_server(path, sizeof(path));
	ret = rte_vfio_user_limits_set(&lim);
	if (pid > 0 && ret == 0)
		ret = dma_msg_body(path, &cid, mem, fmem, mfd);
	else
		ret = TEST_FAILED;
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	if (pid > 0)
		test_child_kill(pid, SIGKILL);
	unlink(path);
	rte_vfio_user_limits_set(&g_def_limits);
	munmap(fmem, 0x10000);
	close(mfd);
	free(mem);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* A server that accepts but never answers VERSION: attach times out, nothing is left. */
static int
attach_stopped_body(pid_t pid, const char *path, int *cidp)
{
	uint64_t t0, el, v;
	int ret;

	TEST_ASSERT_SUCCESS(stop_child(pid), "SIGSTOP");
	t0 = now_ms();
	ret = rte_vfio_user_attach_dev(path);
	el = now_ms() - t0;
	kill(pid, SIGCONT);
	if (ret >= 0)
		*cidp = ret;
	TEST_ASSERT_EQUAL(ret, -ETIMEDOUT, "attach to a stopped server: %d", ret);
	TEST_ASSERT(el >= 1900 && el < 4000, "attach timed out after %" PRIu64 " ms (limit 2000)",
		el);
	/* The server drops the abandoned connection and takes the next one. */
	ret = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(ret >= 0, "attach after the server resumed: %d", ret);
	*cidp = ret;
	TEST_ASSERT_SUCCESS(reg_w64(ret, TDEV_BAR_CB, 0x18, 0x77), "write");
	TEST_ASSERT_SUCCESS(reg_r64(ret, TDEV_BAR_CB, 0x18, &v), "read");
	TEST_ASSERT_EQUAL(v, 0x77ULL, "data 0x%" PRIx64, v);
	return TEST_SUCCESS;
}

/* Detach while another thread waits for a reply: that call fails at once. */
static int
detach_during_call_body(pid_t pid, const char *path, int *cidp)
{
	struct call_thr ct;
	pthread_t tid;
	uint64_t v;
	int cid;

	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach: %d", cid);
	*cidp = cid;
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, 0, &v), "read");
	TEST_ASSERT_SUCCESS(stop_child(pid), "SIGSTOP");
	ct.cid = cid;
	TEST_ASSERT_SUCCESS(pthread_create(&tid, NULL, call_thread, &ct), "thread");
	usleep(200 * 1000);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(cid), "detach during a call");
	*cidp = -1;
	pthread_join(tid, NULL);
	kill(pid, SIGCONT);
	TEST_ASSERT_EQUAL(ct.ret, -ENOTCONN, "call in progress at detach returned %d", ct.ret);
	TEST_ASSERT(ct.ms < 1500, "call in progress at detach returned after %" PRIu64 " ms",
		ct.ms);
	return TEST_SUCCESS;
}

static int
run_with_child(int (*body)(pid_t, const char *, int *), uint32_t timeout_ms)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = timeout_ms };
	struct leak_snap before;
	char path[256];
	pid_t pid;
	int cid = -1, ret;

	leak_snap(&before);
	pid = spawn_server(path, sizeof(path));
	TEST_ASSERT(pid > 0, "no child server");
	ret = rte_vfio_user_limits_set(&lim);
	if (ret == 0)
		ret = body(pid, path, &cid);
	else
		ret = TEST_FAILED;
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	kill(pid, SIGCONT);
	test_child_kill(pid, SIGKILL);
	unlink(path);
	rte_vfio_user_limits_set(&g_def_limits);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
test_attach_stopped_server(void)
{
	return run_with_child(attach_stopped_body, 2000);
}

static int
test_detach_during_call(void)
{
	return run_with_child(detach_during_call_body, 5000);
}

static struct unit_test_suite vfio_user_multi_proc_suite = {
	.suite_name = "vfio-user server in another process",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_server_dies),
		TEST_CASE(test_dma_msg_from_callback),
		TEST_CASE(test_attach_stopped_server),
		TEST_CASE(test_detach_during_call),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_multi_proc(void)
{
	return unit_test_suite_runner(&vfio_user_multi_proc_suite);
}

REGISTER_TEST_COMMAND(vfio_user_multi_proc_autotest, test_vfio_user_multi_proc);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The public API outside the protocol: limits, server and client calls and
 * their arguments.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

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

static struct unit_test_suite vfio_user_api_suite = {
	.suite_name = "vfio-user API",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_limits),
		TEST_CASE(test_server_api),
		TEST_CASE(test_client_api),
		TEST_CASE(test_client_args),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_api_autotest, vfio_user_api_suite, 0);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * A server in another process: it dies, stops, or serves DMA through messages.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_suite.h"

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
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_server_dies),
		TEST_CASE(test_dma_msg_from_callback),
		TEST_CASE(test_attach_stopped_server),
		TEST_CASE(test_detach_during_call),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_multi_proc_autotest, vfio_user_multi_proc_suite, 0);

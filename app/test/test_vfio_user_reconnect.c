/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client reconnection (rte_vfio_user_attach_dev_opts() with reconnect_ms):
 * the server is destroyed and created again on the same path, in this
 * process; the client must replay its DMA windows, eventfds and region
 * mappings, refuse another device, fail fast while the server is away, and
 * leak nothing over many cycles or when detached while reconnecting.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_alarm.h>
#include <rte_common.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_suite.h"

#define RC_MS 1
#define RC_CYCLES 100
#define RC_IOVA 0x40000000ULL
#define RC_WIN 0x20000
#define RC_VECS 4

/* What the client's callbacks saw. */
struct rc_rec {
	int lost;
	int reset;
	int restored;
	int gone;
};

static void
rc_conn_cb(int dev_id, enum rte_vfio_user_conn_event ev, void *arg)
{
	struct rc_rec *r = arg;
	int *counter = &r->reset;

	RTE_SET_USED(dev_id);
	if (ev == RTE_VFIO_USER_CONN_LOST)
		counter = &r->lost;
	else if (ev == RTE_VFIO_USER_CONN_RESTORED)
		counter = &r->restored;
	__atomic_fetch_add(counter, 1, __ATOMIC_RELEASE);
}

static void
rc_gone_cb(int dev_id, void *arg)
{
	struct rc_rec *r = arg;

	RTE_SET_USED(dev_id);
	__atomic_fetch_add(&r->gone, 1, __ATOMIC_RELEASE);
}

/* Wait until *counter reaches n: 0, or -1 after EV_TIMEOUT_MS. */
static int
rc_wait(int *counter, int n)
{
	uint64_t end = now_ms() + EV_TIMEOUT_MS;

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n)
		if (now_ms() > end)
			return -1;
		else
			usleep(200);
	return 0;
}

static void
rc_warm_cb(void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

/*
 * The retries run on EAL's alarm (interrupt) thread, which opens its
 * descriptors on first use: open them before a leak baseline.
 */
static void
rc_warm(struct leak_snap *before)
{
	static int done;

	if (rte_eal_alarm_set(1, rc_warm_cb, &done) == 0)
		rc_wait(&done, 1);
	leak_snap(before);
}

/* The server side: destroyed and created again, always on the same path. */
static struct tdev *
rc_server(const char *path, const struct tdev_cfg *cfg)
{
	struct tdev *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	if (tdev_create(d, path, cfg, true) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static void
rc_server_kill(struct tdev **d)
{
	if (*d == NULL)
		return;
	tdev_destroy(*d);
	free(*d);
	*d = NULL;
}

/* A client with reconnection, its callbacks recording into r. */
static int
rc_attach(const char *path, struct rc_rec *r)
{
	struct rte_vfio_user_attach_opts o = {
		.reconnect_ms = RC_MS, .conn_cb = rc_conn_cb, .conn_arg = r,
	};
	int cid;

	cid = rte_vfio_user_attach_dev_opts(path, &o);
	if (cid >= 0 && rte_vfio_user_set_disconnect_cb(cid, rc_gone_cb, r) < 0) {
		rte_vfio_user_detach_dev(cid);
		return -1;
	}
	return cid;
}

struct rc_state {
	int mfd;
	uint8_t *mem;
	int efd[RC_VECS];
	struct rte_vfio_user_region_map map;
};

/* Give the server something to replay: a window, MSI-X eventfds, BAR3 mapped. */
static int
rc_state_set(int cid, struct rc_state *s)
{
	struct rte_vfio_user_mem_reg m;
	uint32_t nr = 1;

	TEST_ASSERT_SUCCESS(memfd_buf(RC_WIN, &s->mfd, &s->mem), "memfd");
	m = win(RC_IOVA, RC_WIN, 0, PROT_READ | PROT_WRITE, s->mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(cid, &m, &s->mfd, 1), "map");
	TEST_ASSERT_SUCCESS(make_efds(s->efd, RC_VECS), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(cid, VFIO_PCI_MSIX_IRQ_INDEX,
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, RC_VECS, s->efd,
		sizeof(s->efd)), "set eventfds");
	TEST_ASSERT_SUCCESS(rte_vfio_user_region_mmap(cid, TDEV_BAR_MMAP, &s->map, &nr), "mmap");
	return TEST_SUCCESS;
}

static void
rc_state_free(struct rc_state *s)
{
	if (s->mem != NULL)
		munmap(s->mem, RC_WIN);
	if (s->mfd >= 0)
		close(s->mfd);
	close_fds(s->efd, RC_VECS);
}

/* The state works against the server d: DMA, interrupts, the mapping. */
static int
rc_state_check(int cid, struct tdev *d, struct rc_state *s, uint32_t seed)
{
	const uint64_t len = 4096;
	volatile uint8_t *bar = s->map.addr;
	uint64_t v;
	int i;

	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "server DMA table");
	d->cb_dma_job = true;
	tdev_fill(s->mem, len, seed);
	TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, TDEV_REG_DMA_LEN, len), "len");
	TEST_ASSERT_SUCCESS(reg_w64(cid, TDEV_BAR_CB, TDEV_REG_DMA_IOVA, RC_IOVA), "go");
	TEST_ASSERT_SUCCESS(reg_r64(cid, TDEV_BAR_CB, TDEV_REG_DMA_HASH, &v), "hash");
	TEST_ASSERT_EQUAL(v, tdev_hash(s->mem, len), "server read other data");
	for (i = 0; i < RC_VECS; i++) {
		TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, i),
			"trigger %d", i);
		TEST_ASSERT_EQUAL(efd_wait(s->efd[i], EV_TIMEOUT_MS), 1ULL, "vector %d", i);
	}
	/* The old pointer reaches the new server's memory, both ways. */
	d->memfd_map[0] = (uint8_t)seed;
	TEST_ASSERT_EQUAL(bar[0], (uint8_t)seed, "mapping not the server's");
	bar[1] = (uint8_t)~seed;
	TEST_ASSERT_EQUAL(d->memfd_map[1], (uint8_t)~seed, "write through the mapping lost");
	return TEST_SUCCESS;
}

/* Calls while the server is away fail at once with -ENOTCONN. */
static int
rc_check_away(int cid, struct rc_state *s)
{
	struct rte_vfio_user_mem_reg m = win(RC_IOVA + RC_WIN, 4096, 0, PROT_READ, s->mem);
	struct vfio_device_info info;
	uint64_t v;

	TEST_ASSERT_EQUAL(reg_r64(cid, TDEV_BAR_CB, 0, &v), -ENOTCONN, "region read");
	TEST_ASSERT_EQUAL(rte_vfio_user_get_dev_info(cid, &info), -ENOTCONN, "device info");
	TEST_ASSERT_EQUAL(rte_vfio_user_dma_map(cid, &m, &s->mfd, 1), -ENOTCONN, "map");
	TEST_ASSERT_EQUAL(irq_set(cid, VFIO_PCI_MSIX_IRQ_INDEX,
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, s->efd,
		sizeof(s->efd[0])), -ENOTCONN, "set irqs");
	return TEST_SUCCESS;
}

static int
rc_replay_body(const char *path, struct tdev **d, struct rc_state *s, struct rc_rec *r,
		int *cid)
{
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(rc_state_set(*cid, s), "state");
	TEST_ASSERT_SUCCESS(rc_state_check(*cid, *d, s, 1), "before");

	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, 1), "no LOST event");
	TEST_ASSERT_SUCCESS(rc_check_away(*cid, s), "away");
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server again");
	TEST_ASSERT_SUCCESS(rc_wait(&r->reset, 1), "no RESET event");
	TEST_ASSERT_SUCCESS(rc_state_check(*cid, *d, s, 2), "after");
	TEST_ASSERT_EQUAL(r->gone, 0, "disconnect callback on a reconnection");
	return TEST_SUCCESS;
}

/* One restart: everything replayed, calls fail fast meanwhile. */
static int
test_reconnect_replay(void)
{
	struct rc_state s = { .mfd = -1, .efd = { -1, -1, -1, -1 } };
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rc");
	ret = rc_replay_body(path, &d, &s, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	rc_state_free(&s);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_cycles_body(const char *path, struct tdev **d, struct rc_state *s, struct rc_rec *r,
		int *cid, struct leak_snap *mid)
{
	int i;

	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(rc_state_set(*cid, s), "state");
	/* The first cycle warms up what stays (the server's side of a session). */
	for (i = 0; i < RC_CYCLES; i++) {
		if (i == 1)
			leak_snap(mid);
		rc_server_kill(d);
		TEST_ASSERT_SUCCESS(rc_wait(&r->lost, i + 1), "cycle %d: no LOST", i);
		*d = rc_server(path, NULL);
		TEST_ASSERT_NOT_NULL(*d, "server %d", i);
		TEST_ASSERT_SUCCESS(rc_wait(&r->reset, i + 1), "cycle %d: no RESET", i);
	}
	TEST_ASSERT_SUCCESS(rc_state_check(*cid, *d, s, 3), "after %d cycles", RC_CYCLES);
	TEST_ASSERT_SUCCESS(leak_check(mid, LEAK_TIMEOUT_MS), "leak over the cycles");
	return TEST_SUCCESS;
}

/* Many restarts: no descriptor or mapping piles up. */
static int
test_reconnect_cycles(void)
{
	struct rc_state s = { .mfd = -1, .efd = { -1, -1, -1, -1 } };
	struct leak_snap before, mid;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rcc");
	ret = rc_cycles_body(path, &d, &s, &r, &cid, &mid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	rc_state_free(&s);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_other_body(const char *path, struct tdev **d, struct rc_rec *r, int *cid)
{
	struct tdev_cfg other = { .base_size = 2 * 4096 };
	uint64_t v;

	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, 1), "no LOST event");
	*d = rc_server(path, &other);
	TEST_ASSERT_NOT_NULL(*d, "other server");
	TEST_ASSERT_SUCCESS(rc_wait(&r->gone, 1), "another device was not refused");
	TEST_ASSERT_EQUAL(r->reset, 0, "another device was taken");
	TEST_ASSERT_EQUAL(reg_r64(*cid, TDEV_BAR_CB, 0, &v), -ENOTCONN, "calls after refusal");
	/* Gone for good: a server of the right kind is not taken either. */
	rc_server_kill(d);
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server again");
	usleep(20 * 1000);
	TEST_ASSERT_EQUAL(r->reset, 0, "reconnected after a refusal");
	return TEST_SUCCESS;
}

/* A server that comes back as another device is refused; the device is gone. */
static int
test_reconnect_other_device(void)
{
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rco");
	ret = rc_other_body(path, &d, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_detach_body(const char *path, struct tdev **d, struct rc_state *s, struct rc_rec *r,
		int *cid)
{
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(rc_state_set(*cid, s), "state");
	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, 1), "no LOST event");
	/* Retrying against a stale socket file, then detached in the middle. */
	TEST_ASSERT_SUCCESS(make_stale_socket(path), "stale socket");
	usleep(10 * 1000);
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(*cid), "detach while reconnecting");
	*cid = -1;
	unlink(path);
	TEST_ASSERT_EQUAL(r->gone, 0, "disconnect callback on detach");
	return TEST_SUCCESS;
}

/* A detach while the server is away frees everything the replay kept. */
static int
test_reconnect_detach(void)
{
	struct rc_state s = { .mfd = -1, .efd = { -1, -1, -1, -1 } };
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rcd");
	ret = rc_detach_body(path, &d, &s, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	rc_state_free(&s);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_retry_body(const char *path, struct tdev **d, struct rc_state *s, struct rc_rec *r,
		int *cid)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int lfd, afd;

	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(rc_state_set(*cid, s), "state");
	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, 1), "no LOST event");

	/* Something listens on the path and hangs up during the negotiation. */
	TEST_ASSERT(strlen(path) < sizeof(un.sun_path), "path too long");
	memcpy(un.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(lfd >= 0, "socket");
	if (bind(lfd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(lfd, 4) < 0) {
		close(lfd);
		TEST_ASSERT(false, "listen on %s", path);
	}
	pfd.fd = lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, EV_TIMEOUT_MS) != 1) {
		close(lfd);
		TEST_ASSERT(false, "no connection attempt");
	}
	afd = accept(lfd, NULL, NULL);
	close(lfd);
	unlink(path);
	TEST_ASSERT(afd >= 0, "accept");
	close(afd);

	/* The failed attempt leaves nothing behind: the real server is taken. */
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server again");
	TEST_ASSERT_SUCCESS(rc_wait(&r->reset, 1), "no RESET event");
	TEST_ASSERT_SUCCESS(rc_state_check(*cid, *d, s, 4), "after");
	TEST_ASSERT_EQUAL(r->gone, 0, "disconnect callback");
	return TEST_SUCCESS;
}

/* An attempt that fails after connecting is retried. */
static int
test_reconnect_retry(void)
{
	struct rc_state s = { .mfd = -1, .efd = { -1, -1, -1, -1 } };
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rcr");
	ret = rc_retry_body(path, &d, &s, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	rc_state_free(&s);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_hung_body(const char *path, struct tdev **d, struct rc_rec *r, int *cid, int *lfd)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = 600 * 1000 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct pollfd pfd;

	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	/* A replay that is not cut short would outlast the test's timeout. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits");
	*cid = rc_attach(path, r);
	rte_vfio_user_limits_set(&g_def_limits);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, 1), "no LOST event");

	/* A server that takes the connection and never answers VERSION. */
	TEST_ASSERT(strlen(path) < sizeof(un.sun_path), "path too long");
	memcpy(un.sun_path, path, strlen(path) + 1);
	*lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(*lfd >= 0, "socket");
	TEST_ASSERT(bind(*lfd, (struct sockaddr *)&un, sizeof(un)) == 0 && listen(*lfd, 4) == 0,
		"listen on %s", path);
	pfd.fd = *lfd;
	pfd.events = POLLIN;
	TEST_ASSERT_EQUAL(poll(&pfd, 1, EV_TIMEOUT_MS), 1, "no connection attempt");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(*cid), "detach during a replay");
	*cid = -1;
	TEST_ASSERT_EQUAL(r->gone, 0, "disconnect callback on detach");
	return TEST_SUCCESS;
}

/* A detach while a replay waits for a server that never answers returns. */
static int
test_reconnect_detach_hung(void)
{
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, lfd = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rch");
	ret = rc_hung_body(path, &d, &r, &cid, &lfd);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	if (lfd >= 0)
		close(lfd);
	unlink(path);
	rc_server_kill(&d);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

static int
rc_off_body(const char *path, struct tdev **d, struct rc_rec *r, int *cid)
{
	struct rte_vfio_user_attach_opts o = { .conn_cb = rc_conn_cb, .conn_arg = r };
	uint64_t v;

	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server");
	TEST_ASSERT_EQUAL(rte_vfio_user_attach_dev_opts(path, &(struct rte_vfio_user_attach_opts){
		.reconnect_ms = 3600 * 1000 + 1 }), -EINVAL, "reconnect_ms above an hour");
	*cid = rte_vfio_user_attach_dev_opts(path, &o);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_disconnect_cb(*cid, rc_gone_cb, r), "cb");
	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->gone, 1), "no disconnect callback");
	*d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(*d, "server again");
	usleep(20 * 1000);
	TEST_ASSERT_EQUAL(r->lost + r->reset, 0, "connection events without reconnection");
	TEST_ASSERT_EQUAL(reg_r64(*cid, TDEV_BAR_CB, 0, &v), -ENOTCONN, "calls after the loss");
	return TEST_SUCCESS;
}

/* reconnect_ms 0: a lost server is final, as with rte_vfio_user_attach_dev(). */
static int
test_reconnect_off(void)
{
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rcf");
	ret = rc_off_body(path, &d, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* A migratable test device: its state is BAR1 and config space. */
static const struct tdev_cfg rc_mig_cfg = { .mig_flags = RTE_VFIO_USER_MIG_F_STOP_COPY };

/* Kill the server, wait for the loss, start the next one (not yet listening if !start). */
static int
rc_restart(const char *path, struct tdev **d, struct rc_rec *r, bool start)
{
	int lost = __atomic_load_n(&r->lost, __ATOMIC_ACQUIRE);

	rc_server_kill(d);
	TEST_ASSERT_SUCCESS(rc_wait(&r->lost, lost + 1), "no LOST");
	*d = calloc(1, sizeof(**d));
	TEST_ASSERT_NOT_NULL(*d, "alloc");
	if (tdev_create(*d, path, &rc_mig_cfg, start) < 0) {
		free(*d);
		*d = NULL;
		TEST_ASSERT(false, "server");
	}
	return TEST_SUCCESS;
}

static int
rc_restore_body(const char *path, struct tdev **d, struct rc_rec *r, int *cid)
{
	enum rte_vfio_user_mig_state st;
	uint64_t want;
	size_t size;

	*d = rc_server(path, &rc_mig_cfg);
	TEST_ASSERT_NOT_NULL(*d, "server");
	size = (*d)->cfg.base_size;
	*cid = rc_attach(path, r);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);

	/* Taken back by the application: the held state is dropped. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_save_for_restart(*cid), "save");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(*cid, &st), "state");
	TEST_ASSERT_EQUAL(st, RTE_VFIO_USER_MIG_STOP, "device not stopped: %d", st);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_set_state(*cid, RTE_VFIO_USER_MIG_RUNNING, NULL),
		"run again");
	TEST_ASSERT_SUCCESS(rc_restart(path, d, r, true), "restart 1");
	TEST_ASSERT_SUCCESS(rc_wait(&r->reset, 1), "no RESET after a dropped state");

	/* Held across a restart: the next server continues where this one stopped. */
	tdev_fill((*d)->base_mem, size, 11);
	(*d)->cfg_space[0x40] = 0x5a;
	want = tdev_hash((*d)->base_mem, size);
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_save_for_restart(*cid), "save 2");
	TEST_ASSERT_SUCCESS(rc_restart(path, d, r, true), "restart 2");
	TEST_ASSERT_SUCCESS(rc_wait(&r->restored, 1), "no RESTORED");
	TEST_ASSERT_EQUAL(__atomic_load_n(&r->reset, __ATOMIC_ACQUIRE), 1, "RESET when restored");
	TEST_ASSERT_EQUAL(tdev_hash((*d)->base_mem, size), want, "BAR1 not restored");
	TEST_ASSERT_EQUAL((*d)->cfg_space[0x40], 0x5a, "config space not restored");
	TEST_ASSERT_EQUAL(tdev_ev_count(*d, TDEV_EV_RESET, -1), 0, "restored device was reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(*cid, &st), "state 2");
	TEST_ASSERT_EQUAL(st, RTE_VFIO_USER_MIG_RUNNING, "restored device not running: %d", st);

	/* A server that refuses the state resets the device instead. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_save_for_restart(*cid), "save 3");
	TEST_ASSERT_SUCCESS(rc_restart(path, d, r, false), "restart 3");
	(*d)->mig_fail_arc = TDEV_ARC(RTE_VFIO_USER_MIG_STOP, RTE_VFIO_USER_MIG_RESUMING);
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(path), "start");
	TEST_ASSERT_SUCCESS(rc_wait(&r->reset, 2), "no RESET after a refused state");
	TEST_ASSERT_EQUAL(r->restored, 1, "RESTORED from a refused state");
	TEST_ASSERT_EQUAL(tdev_ev_count(*d, TDEV_EV_RESET, -1), 1, "refusing device not reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_mig_get_state(*cid, &st), "state 3");
	TEST_ASSERT_EQUAL(st, RTE_VFIO_USER_MIG_RUNNING, "reset device not running: %d", st);
	TEST_ASSERT_EQUAL(r->gone, 0, "device given up");
	return TEST_SUCCESS;
}

/* A planned restart carries the device's state: RESTORED, or RESET when refused. */
static int
test_reconnect_restore(void)
{
	struct leak_snap before;
	struct rc_rec r = { 0 };
	struct tdev *d = NULL;
	char path[256];
	int cid = -1, ret;

	rc_warm(&before);
	mkpath(path, sizeof(path), "rcm");
	ret = rc_restore_body(path, &d, &r, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	rc_server_kill(&d);
	if (ret != TEST_SUCCESS)
		return ret;
	return leak_check(&before, LEAK_TIMEOUT_MS);
}

/* Without reconnection, or without migration, there is nothing to hold. */
static int
test_reconnect_restore_refused(void)
{
	struct rc_rec r = { 0 };
	struct tdev *d;
	char path[256];
	int cid;

	mkpath(path, sizeof(path), "rcn");
	d = rc_server(path, &rc_mig_cfg);
	TEST_ASSERT_NOT_NULL(d, "server");
	cid = rte_vfio_user_attach_dev(path);
	if (cid >= 0) {
		TEST_ASSERT_EQUAL(rte_vfio_user_mig_save_for_restart(cid), -ENOTSUP,
			"without reconnection");
		rte_vfio_user_detach_dev(cid);
	}
	rc_server_kill(&d);
	TEST_ASSERT(cid >= 0, "attach");
	TEST_ASSERT_EQUAL(rte_vfio_user_mig_save_for_restart(cid), -ENODEV, "detached device");

	d = rc_server(path, NULL);
	TEST_ASSERT_NOT_NULL(d, "server 2");
	cid = rc_attach(path, &r);
	if (cid >= 0) {
		TEST_ASSERT_EQUAL(rte_vfio_user_mig_save_for_restart(cid), -ENOTTY,
			"without migration");
		rte_vfio_user_detach_dev(cid);
	}
	rc_server_kill(&d);
	TEST_ASSERT(cid >= 0, "attach 2");
	return TEST_SUCCESS;
}

static struct unit_test_suite vfio_user_reconnect_suite = {
	.suite_name = "vfio-user client reconnection",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_reconnect_replay),
		TEST_CASE(test_reconnect_cycles),
		TEST_CASE(test_reconnect_other_device),
		TEST_CASE(test_reconnect_retry),
		TEST_CASE(test_reconnect_detach),
		TEST_CASE(test_reconnect_detach_hung),
		TEST_CASE(test_reconnect_off),
		TEST_CASE(test_reconnect_restore),
		TEST_CASE(test_reconnect_restore_refused),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_reconnect_autotest, vfio_user_reconnect_suite, 0);

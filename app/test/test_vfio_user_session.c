/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Session lifecycle: notification order, reconnection, a second client, stop
 * with a client, disconnect callbacks, many devices.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

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
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_multi_dev),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_multi_dev_autotest, vfio_user_multi_dev_suite, 0);

static struct unit_test_suite vfio_user_session_suite = {
	.suite_name = "vfio-user sessions",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_notify_order),
		TEST_CASE(test_reconnect),
		TEST_CASE(test_second_client),
		TEST_CASE(test_stop_with_client),
		TEST_CASE(test_disconnect_cb),
		TEST_CASE(test_max_devices),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_session_autotest, vfio_user_session_suite, 0);

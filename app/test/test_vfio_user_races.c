/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server races and stalls: a client that stops reading its replies, a data
 * path thread waiting for message DMA while the device quiesces, interrupt
 * descriptions replaced under the data path, a failed start while a device
 * callback takes the API lock, and register/unregister under data path load.
 * Every wait here ends on completion of the other side, not on elapsed time;
 * the receive timeouts only bound a wait for something that must come.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/* Bound of a wait for a message or a close that must come. */
#define RACES_RX_MS 5000

/*
 * A small device with its own notify callbacks: BAR0 served by a callback
 * (a byte pattern, or the hook of the test), BAR1 mappable from a memfd.
 */

#define RDEV_BAR0_SIZE (1u << 20)
#define RDEV_BAR1_SIZE 0x1000

struct rdev {
	char path[PATH_LEN];
	int id;
	int memfd;
	struct vfio_region_info infos[VFIO_PCI_NUM_REGIONS];
	struct rte_vfio_user_reg_info regs[VFIO_PCI_NUM_REGIONS];
	/* Called by BAR0 accesses when set. */
	void (*hook)(struct rdev *d);
};

static uint8_t
rdev_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8));
}

static ssize_t
rdev_bar0_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct rdev *d = reg->priv;
	size_t i;

	RTE_SET_USED(dev_id);
	if (d->hook != NULL)
		d->hook(d);
	if (!is_write)
		for (i = 0; i < count; i++)
			buf[i] = (char)rdev_byte(offset + i);
	return count;
}

static int
rdev_create(struct rdev *d, const char *tag, const struct rte_vfio_user_notify_ops *ops,
		bool start)
{
	struct vfio_device_info info = { .argsz = sizeof(info), .flags = VFIO_DEVICE_FLAGS_PCI,
		.num_regions = VFIO_PCI_NUM_REGIONS, .num_irqs = 0 };
	struct rte_vfio_user_regions regs = { .reg_num = VFIO_PCI_NUM_REGIONS,
		.reg_info = d->regs };
	int i, ret;

	memset(d, 0, sizeof(*d));
	mkpath(d->path, sizeof(d->path), tag);
	d->memfd = memfd_create("vfu-races", MFD_CLOEXEC);
	if (d->memfd < 0 || ftruncate(d->memfd, RDEV_BAR1_SIZE) < 0)
		return -errno;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		d->infos[i].argsz = sizeof(d->infos[i]);
		d->infos[i].index = i;
		d->regs[i].info = &d->infos[i];
		d->regs[i].fd = -1;
		d->regs[i].priv = d;
	}
	d->infos[0].flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	d->infos[0].size = RDEV_BAR0_SIZE;
	d->regs[0].rw = rdev_bar0_rw;
	d->infos[1].flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		VFIO_REGION_INFO_FLAG_MMAP;
	d->infos[1].size = RDEV_BAR1_SIZE;
	d->regs[1].fd = d->memfd;

	d->id = rte_vfio_user_register(d->path, ops);
	if (d->id < 0)
		return d->id;
	ret = rte_vfio_user_set_dev_info(d->path, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(d->path, &regs);
	if (ret == 0 && start)
		ret = rte_vfio_user_start(d->path);
	return ret;
}

static void
rdev_destroy(struct rdev *d)
{
	if (d->id >= 0)
		rte_vfio_user_unregister(d->path);
	d->id = -1;
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
}

/*
 * Raw client: the raw peer (vfio_user_peer.h) and the raw sessions of
 * vfio_user_suite.h, plus what these cases need besides.
 */

#define STALL_READ_LEN 0x10000

/* Payload kept of a received message: a whole REGION_READ reply of the stalled reader. */
static uint8_t g_rx_data[sizeof(struct vfio_user_region_access) + STALL_READ_LEN];

/* One message into *m (payload beyond g_rx_data dropped): see raw_recv(). */
static int
recv_msg(int s, struct raw_msg *m, int timeout_ms)
{
	memset(m, 0, sizeof(*m));
	m->data = g_rx_data;
	m->cap = sizeof(g_rx_data);
	m->truncate = true;
	return raw_recv(s, m, timeout_ms);
}

/* Wait for the reply to id (commands and other replies are dropped): 0, its errno, -errno. */
static int
wait_reply(int s, uint16_t id)
{
	struct raw_msg r;
	int ret;

	for (;;) {
		ret = recv_msg(s, &r, RACES_RX_MS);
		raw_msg_close_fds(&r);
		if (ret < 0)
			return ret;
		if ((r.hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY &&
				r.hdr.msg_id == id)
			break;
	}
	if (r.hdr.flags & VFIO_USER_F_ERROR)
		return r.hdr.error != 0 ? (int)r.hdr.error : EIO;
	return 0;
}

/* Send a REGION_READ request, not waiting for its reply. */
static int
send_region_read(int s, uint16_t id, uint32_t region, uint64_t off, uint32_t count)
{
	struct vfio_user_region_access acc = { .offset = off, .region = region, .count = count };

	return raw_send(s, id, VFIO_USER_REGION_READ, 0, &acc, sizeof(acc), NULL, 0);
}

/* The peer hangs up, whatever waits unread: 0, or -ETIMEDOUT. */
static int
raw_wait_hangup(int s)
{
	struct pollfd pfd = { .fd = s, .events = POLLRDHUP };
	int n;

	do {
		n = poll(&pfd, 1, RACES_RX_MS);
	} while (n < 0 && errno == EINTR);
	return n > 0 && (pfd.revents & (POLLHUP | POLLRDHUP)) ? 0 : -ETIMEDOUT;
}

/*
 * A client that stops reading its replies must not hold the control thread:
 * the replies wait in a queue, other devices are served, and the replies
 * come out whole and in order (descriptors with their message) once the
 * client reads again. A queue beyond its limit closes that client only.
 */

#define STALL_READS 48
#define STALL_INFO_EVERY 4
/* Reply bytes a session queues, in max_msg_size units (see the guide's limits). */
#define QUEUE_LIMIT_MSGS 4

static int
stall_check_reply(struct raw_msg *r, uint16_t id)
{
	struct vfio_user_region_access acc;
	uint32_t i;

	if ((r->hdr.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY ||
			r->hdr.msg_id != id || (r->hdr.flags & VFIO_USER_F_ERROR)) {
		printf("message %u: id %u flags 0x%x error %u\n", id, r->hdr.msg_id,
			r->hdr.flags, r->hdr.error);
		return -1;
	}
	if (id % STALL_INFO_EVERY == 0) {
		if (r->hdr.cmd != VFIO_USER_DEVICE_GET_REGION_INFO || r->nr_fds != 1) {
			printf("reply %u: cmd %u, %d descriptors\n", id, r->hdr.cmd, r->nr_fds);
			return -1;
		}
		return 0;
	}
	if (r->hdr.cmd != VFIO_USER_REGION_READ || r->nr_fds != 0 ||
			r->len != sizeof(acc) + STALL_READ_LEN) {
		printf("reply %u: cmd %u, %u bytes, %d descriptors\n", id, r->hdr.cmd, r->len,
			r->nr_fds);
		return -1;
	}
	memcpy(&acc, r->data, sizeof(acc));
	for (i = 0; i < STALL_READ_LEN; i++)
		if (r->data[sizeof(acc) + i] != rdev_byte(acc.offset + i)) {
			printf("reply %u: byte %u differs\n", id, i);
			return -1;
		}
	return 0;
}

static int
test_stalled_reader(void)
{
	struct vfio_region_info rinfo = { .argsz = sizeof(rinfo), .index = 1 };
	struct rte_vfio_user_limits lim;
	struct raw_msg m;
	struct rdev a, b;
	struct rmsg r;
	uint16_t id;
	int sa, sb, ret;

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&lim), "limits");
	TEST_ASSERT_SUCCESS(rdev_create(&a, "stallA", NULL, true), "device A");
	TEST_ASSERT_SUCCESS(rdev_create(&b, "stallB", NULL, true), "device B");
	sa = raw_session(a.path, &r);
	TEST_ASSERT(sa >= 0, "client of A");

	/* Requests whose replies are far more than the socket buffers hold, none read. */
	for (id = 2; id < 2 + STALL_READS; id++) {
		if (id % STALL_INFO_EVERY == 0)
			ret = raw_send(sa, id, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &rinfo,
				sizeof(rinfo), NULL, 0);
		else
			ret = send_region_read(sa, id, 0, (uint64_t)id * 64, STALL_READ_LEN);
		TEST_ASSERT_SUCCESS(ret, "request %u", id);
	}
	/* The server queued them: B is served while A reads nothing. */
	sb = raw_session(b.path, &r);
	TEST_ASSERT(sb >= 0, "B not served while A's client does not read");
	TEST_ASSERT_SUCCESS(raw_get_info(sb, 2, &r), "B's GET_INFO");
	close(sb);

	/* A's replies: all there, whole, in order, descriptors with their message. */
	for (id = 2; id < 2 + STALL_READS; id++) {
		ret = recv_msg(sa, &m, RACES_RX_MS);
		TEST_ASSERT_SUCCESS(ret, "reply %u of A: %d", id, ret);
		ret = stall_check_reply(&m, id);
		raw_msg_close_fds(&m);
		TEST_ASSERT_SUCCESS(ret, "reply %u of A", id);
	}
	TEST_ASSERT_SUCCESS(raw_get_info(sa, 2 + STALL_READS, &r), "A after draining");
	close(sa);

	/* Beyond the queue limit: that client is closed, the device serves the next. */
	sa = raw_session(a.path, &r);
	TEST_ASSERT(sa >= 0, "client of A");
	for (id = 2; (uint64_t)(id - 2) * lim.max_data_xfer_size <=
			(uint64_t)QUEUE_LIMIT_MSGS * lim.max_msg_size + (8u << 20);
			id++) {
		if (send_region_read(sa, id, 0, 0, RTE_MIN(lim.max_data_xfer_size,
				RDEV_BAR0_SIZE)) < 0)
			break;
	}
	TEST_ASSERT_SUCCESS(raw_wait_hangup(sa), "client past the queue limit not closed");
	TEST_ASSERT_SUCCESS(closed_within(sa, RACES_RX_MS), "queued replies then the close");
	close(sa);
	sb = raw_session(a.path, &r);
	TEST_ASSERT(sb >= 0, "A not served after closing a client");
	TEST_ASSERT_SUCCESS(raw_get_info(sb, 2, &r), "GET_INFO");
	close(sb);

	rdev_destroy(&a);
	rdev_destroy(&b);
	return TEST_SUCCESS;
}

/*
 * A data path thread waiting for a DMA_READ reply on the main socket while
 * the control thread asks the device to quiesce (lock_dp(1)) and the device
 * waits for that thread: the thread gets -EAGAIN, and so does message DMA
 * started while the quiesce is pending; once released, DMA works again.
 */

#define QDMA_IOVA 0x100000
#define QDMA_LEN 64

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int dev_id;
	bool armed;     /* the next lock_dp(1) waits for the data path thread */
	bool in_dp;     /* the thread is in rte_vfio_user_dma_read() */
	int phase;      /* 1: first read done, 2: read during quiesce asked, 3: done */
	int rc[3];
	uint8_t buf[QDMA_LEN];
} qd = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void
qd_set_phase(int phase)
{
	pthread_mutex_lock(&qd.lock);
	qd.phase = phase;
	pthread_cond_broadcast(&qd.cond);
	pthread_mutex_unlock(&qd.lock);
}

static void
qd_wait_phase(int phase)
{
	pthread_mutex_lock(&qd.lock);
	while (qd.phase < phase)
		pthread_cond_wait(&qd.cond, &qd.lock);
	pthread_mutex_unlock(&qd.lock);
}

static int
qd_lock_dp(int dev_id, int lock)
{
	RTE_SET_USED(dev_id);
	if (lock == 0 || !__atomic_load_n(&qd.armed, __ATOMIC_ACQUIRE))
		return 0;
	qd.armed = false;
	/* Quiesce: wait for the data path thread to leave the library. */
	qd_wait_phase(1);
	/* And message DMA while the quiesce is pending. */
	qd_set_phase(2);
	qd_wait_phase(3);
	return 0;
}

static void *
qd_thread(void *arg)
{
	RTE_SET_USED(arg);
	qd.rc[0] = rte_vfio_user_dma_read(qd.dev_id, QDMA_IOVA, qd.buf, QDMA_LEN);
	qd.rc[0] = qd.rc[0] < 0 ? -rte_errno : 0;
	qd_set_phase(1);
	qd_wait_phase(2);
	qd.rc[1] = rte_vfio_user_dma_read(qd.dev_id, QDMA_IOVA, qd.buf, QDMA_LEN);
	qd.rc[1] = qd.rc[1] < 0 ? -rte_errno : 0;
	qd_set_phase(3);
	return NULL;
}

static void *
qd_read_thread(void *arg)
{
	RTE_SET_USED(arg);
	qd.rc[2] = rte_vfio_user_dma_read(qd.dev_id, QDMA_IOVA, qd.buf, QDMA_LEN);
	qd.rc[2] = qd.rc[2] < 0 ? -rte_errno : 0;
	return NULL;
}

/* Answer the server's next DMA_READ with the pattern. */
static int
qd_serve_dma_read(int s)
{
	struct vfio_user_dma_access acc;
	struct vfio_user_hdr hdr;
	uint8_t data[QDMA_LEN];
	struct iovec iov[3];
	struct raw_msg m;
	uint32_t i;
	int ret;

	for (;;) {
		ret = recv_msg(s, &m, RACES_RX_MS);
		raw_msg_close_fds(&m);
		if (ret < 0)
			return ret;
		if (m.hdr.cmd == VFIO_USER_DMA_READ &&
				(m.hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_COMMAND)
			break;
	}
	if (m.len < sizeof(acc))
		return -EPROTO;
	memcpy(&acc, m.data, sizeof(acc));
	hdr = m.hdr;
	if (acc.addr != QDMA_IOVA || acc.count != QDMA_LEN)
		return -EPROTO;
	for (i = 0; i < QDMA_LEN; i++)
		data[i] = rdev_byte(i);
	hdr.flags = VFIO_USER_F_TYPE_REPLY;
	hdr.size = sizeof(hdr) + sizeof(acc) + QDMA_LEN;
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec){ .iov_base = &acc, .iov_len = sizeof(acc) };
	iov[2] = (struct iovec){ .iov_base = data, .iov_len = QDMA_LEN };
	return raw_sendv(s, iov, 3, NULL, 0);
}

static int
test_quiesce_dma_wait(void)
{
	struct rte_vfio_user_notify_ops ops = { .lock_dp = qd_lock_dp };
	struct raw_msg m;
	struct rmsg r;
	pthread_t th;
	struct rdev d;
	uint32_t i;
	int s, ret;

	TEST_ASSERT_SUCCESS(rdev_create(&d, "quiesce", &ops, true), "device");
	qd.dev_id = d.id;
	qd.phase = 0;
	s = raw_session(d.path, &r);
	TEST_ASSERT(s >= 0, "client");
	TEST_ASSERT_SUCCESS(raw_dma_map(s, 2, QDMA_IOVA, 0x1000, 0, -1, &r), "map");

	__atomic_store_n(&qd.armed, true, __ATOMIC_RELEASE);
	TEST_ASSERT_SUCCESS(pthread_create(&th, NULL, qd_thread, NULL), "thread");
	/* The thread waits for its DMA_READ reply; the client maps more meanwhile. */
	ret = recv_msg(s, &m, RACES_RX_MS);
	raw_msg_close_fds(&m);
	TEST_ASSERT_SUCCESS(ret, "no DMA_READ");
	TEST_ASSERT_EQUAL(m.hdr.cmd, VFIO_USER_DMA_READ, "command %u", m.hdr.cmd);
	ret = raw_dma_map(s, 3, 2 * QDMA_IOVA, 0x1000, 0, -1, &r);
	pthread_join(th, NULL);
	TEST_ASSERT_SUCCESS(ret, "second map");
	TEST_ASSERT_EQUAL(qd.rc[0], -EAGAIN, "waiting DMA during quiesce: %d", qd.rc[0]);
	TEST_ASSERT_EQUAL(qd.rc[1], -EAGAIN, "DMA while the quiesce is pending: %d", qd.rc[1]);

	/* Released: message DMA works again (the late reply to the first was dropped). */
	TEST_ASSERT_SUCCESS(pthread_create(&th, NULL, qd_read_thread, NULL), "thread");
	ret = qd_serve_dma_read(s);
	pthread_join(th, NULL);
	TEST_ASSERT_SUCCESS(ret, "serving the DMA_READ");
	TEST_ASSERT_SUCCESS(qd.rc[2], "DMA after the quiesce: %d", qd.rc[2]);
	for (i = 0; i < QDMA_LEN; i++)
		TEST_ASSERT_EQUAL(qd.buf[i], rdev_byte(i), "byte %u", i);
	TEST_ASSERT_SUCCESS(raw_get_info(s, 4, &r), "session goes on");
	close(s);
	rdev_destroy(&d);
	return TEST_SUCCESS;
}

/*
 * Interrupt descriptions replaced on a stopped device while another thread
 * triggers and queries its interrupts (run it under ASan).
 */

#define IRQ_ROUNDS 5000

static struct {
	int dev_id;
	bool stop;
	uint64_t calls;
	int bad;
} iq;

static void *
iq_thread(void *arg)
{
	int fds[TDEV_MSIX_COUNT];
	uint32_t k = 0;
	int ret;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&iq.stop, __ATOMIC_ACQUIRE)) {
		k++;
		ret = rte_vfio_user_irq_trigger(iq.dev_id, VFIO_PCI_MSIX_IRQ_INDEX,
			k % TDEV_MSIX_COUNT);
		/* No client set a trigger, or the sub-index is gone for now. */
		if (ret == 0 || (rte_errno != ENOENT && rte_errno != EINVAL))
			iq.bad++;
		ret = rte_vfio_user_get_irq(iq.dev_id, VFIO_PCI_MSIX_IRQ_INDEX,
			k % TDEV_MSIX_COUNT, fds);
		if (ret < 0 && rte_errno != EINVAL)
			iq.bad++;
		__atomic_fetch_add(&iq.calls, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int
test_irq_reconfig(void)
{
	struct rte_vfio_user_irq_info irqs = { .irq_num = VFIO_PCI_NUM_IRQS };
	struct vfio_device_info info;
	char path[PATH_LEN];
	pthread_t th;
	struct tdev *d;
	int i, ret = 0;

	d = calloc(1, sizeof(*d));
	TEST_ASSERT_NOT_NULL(d, "no memory");
	mkpath(path, sizeof(path), "irq");
	if (tdev_create(d, path, NULL, false) < 0) {
		free(d);
		return TEST_FAILED;
	}
	irqs.irq_info = d->irqs;
	info = d->dev_info;
	iq.dev_id = d->id;
	iq.stop = false;
	iq.calls = 0;
	iq.bad = 0;
	if (pthread_create(&th, NULL, iq_thread, NULL) != 0) {
		tdev_destroy(d);
		free(d);
		return TEST_FAILED;
	}
	while (__atomic_load_n(&iq.calls, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (i = 0; i < IRQ_ROUNDS && ret == 0; i++) {
		d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = i % 2 ? 1 : TDEV_MSIX_COUNT;
		if (i % 8 == 7) {
			/* Another interrupt count drops the descriptions, then back. */
			info.num_irqs = VFIO_PCI_NUM_IRQS - 1;
			ret = rte_vfio_user_set_dev_info(path, &info);
			info.num_irqs = VFIO_PCI_NUM_IRQS;
			if (ret == 0)
				ret = rte_vfio_user_set_dev_info(path, &info);
		}
		if (ret == 0)
			ret = rte_vfio_user_set_irq_info(path, &irqs);
	}
	__atomic_store_n(&iq.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = TDEV_MSIX_COUNT;
	tdev_destroy(d);
	free(d);
	TEST_ASSERT_SUCCESS(ret, "reconfiguration %d failed: %d", i, ret);
	TEST_ASSERT_EQUAL(iq.bad, 0, "%d unexpected results", iq.bad);
	return TEST_SUCCESS;
}

/*
 * rte_vfio_user_start() failing to watch its socket while a device callback
 * on the control thread takes the API lock: start must not wait for the
 * control thread with that lock held. The watch fails by fault injection:
 * epoll_ctl() of a listening socket, once armed.
 */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool fail_listen; /* the next EPOLL_CTL_ADD of a listening socket fails */
	bool in_cb;       /* the device callback runs */
	bool go;          /* it may take the API lock */
	int cb_rc;
} sf = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void
sf_set(bool *flag)
{
	pthread_mutex_lock(&sf.lock);
	*flag = true;
	pthread_cond_broadcast(&sf.cond);
	pthread_mutex_unlock(&sf.lock);
}

static void
sf_wait(bool *flag)
{
	pthread_mutex_lock(&sf.lock);
	while (!*flag)
		pthread_cond_wait(&sf.cond, &sf.lock);
	pthread_mutex_unlock(&sf.lock);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	static int (*real)(int, int, int, struct epoll_event *);
	int (*fn)(int, int, int, struct epoll_event *);
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (__atomic_load_n(&sf.fail_listen, __ATOMIC_ACQUIRE) && op == EPOLL_CTL_ADD &&
			getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
			listening) {
		__atomic_store_n(&sf.fail_listen, false, __ATOMIC_RELEASE);
		/* Inside rte_vfio_user_start(): let the callback go for the API lock. */
		sf_set(&sf.go);
		errno = ENOSPC;
		return -1;
	}
	/* Any thread may come first (EAL's, the control thread): look it up atomically. */
	fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	if (fn == NULL) {
		fn = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn(epfd, op, fd, ev);
}

static void
sf_hook(struct rdev *d)
{
	struct rte_vfio_user_sock_opts opts = { .mode = 0600 };

	d->hook = NULL;
	sf_set(&sf.in_cb);
	sf_wait(&sf.go);
	/* Any configuration call takes the API lock. */
	sf.cb_rc = rte_vfio_user_set_sock_opts("/nonexistent/vfu-races.sock", &opts);
	sf.cb_rc = sf.cb_rc < 0 ? -rte_errno : 0;
}

static int
test_start_fail_unlocked(void)
{
	struct rdev a, b;
	struct rmsg r;
	int s, ret;

	TEST_ASSERT_SUCCESS(rdev_create(&a, "sfA", NULL, true), "device A");
	TEST_ASSERT_SUCCESS(rdev_create(&b, "sfB", NULL, false), "device B");
	s = raw_session(a.path, &r);
	TEST_ASSERT(s >= 0, "client of A");
	sf.in_cb = sf.go = false;
	sf.cb_rc = 0;
	a.hook = sf_hook;
	TEST_ASSERT_SUCCESS(send_region_read(s, 2, 0, 0, 4), "region read");
	sf_wait(&sf.in_cb);

	__atomic_store_n(&sf.fail_listen, true, __ATOMIC_RELEASE);
	ret = rte_vfio_user_start(b.path);
	TEST_ASSERT(ret < 0 && rte_errno == ENOSPC, "start with a failing watch: %d", ret);
	TEST_ASSERT_SUCCESS(wait_reply(s, 2), "region read reply");
	TEST_ASSERT_EQUAL(sf.cb_rc, -ENOENT, "callback's configuration call: %d", sf.cb_rc);

	/* Nothing left half started: it starts and serves now. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(b.path), "start after the failure");
	close(s);
	s = raw_session(b.path, &r);
	TEST_ASSERT(s >= 0, "client of B");
	TEST_ASSERT_SUCCESS(raw_get_info(s, 2, &r), "GET_INFO");
	close(s);
	rdev_destroy(&a);
	rdev_destroy(&b);
	return TEST_SUCCESS;
}

/*
 * Register/unregister while data path threads keep the registry busy: the
 * writer finishes its cycles long before the readers finish theirs. Readers
 * contend on the device's interrupt lock while holding the registry for
 * reading, so that with readers preferred the registry is never free.
 */

#define RW_READERS 8
#define RW_WRITER_CYCLES 100
#define RW_READER_OPS 4000000u

static struct {
	int dev_id;
	bool writer_done;
	unsigned int running;   /* readers past their first operation */
	unsigned int exhausted; /* readers that did all their operations first */
	uint64_t ops;
} rw;

static void *
rw_reader(void *arg)
{
	uint32_t i;

	RTE_SET_USED(arg);
	for (i = 0; i < RW_READER_OPS; i++) {
		if (__atomic_load_n(&rw.writer_done, __ATOMIC_ACQUIRE))
			break;
		rte_vfio_user_irq_trigger(rw.dev_id, VFIO_PCI_MSIX_IRQ_INDEX, i % TDEV_MSIX_COUNT);
		if (i == 0)
			__atomic_fetch_add(&rw.running, 1, __ATOMIC_RELEASE);
	}
	if (i == RW_READER_OPS)
		__atomic_fetch_add(&rw.exhausted, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rw.ops, i, __ATOMIC_RELAXED);
	return NULL;
}

static int
test_registry_writers(void)
{
	char path[PATH_LEN], other[PATH_LEN];
	pthread_t th[RW_READERS];
	struct tdev *d;
	int i, done = 0, ret = 0;

	d = calloc(1, sizeof(*d));
	TEST_ASSERT_NOT_NULL(d, "no memory");
	mkpath(path, sizeof(path), "rw");
	mkpath(other, sizeof(other), "rw-other");
	if (tdev_create(d, path, NULL, false) < 0) {
		free(d);
		return TEST_FAILED;
	}
	rw.dev_id = d->id;
	rw.writer_done = false;
	rw.running = 0;
	rw.exhausted = 0;
	rw.ops = 0;
	for (i = 0; i < RW_READERS; i++)
		if (pthread_create(&th[i], NULL, rw_reader, NULL) != 0)
			break;
	while (__atomic_load_n(&rw.running, __ATOMIC_ACQUIRE) < (unsigned int)i)
		sched_yield();
	for (done = 0; done < RW_WRITER_CYCLES && ret >= 0; done++) {
		ret = rte_vfio_user_register(other, NULL);
		if (ret >= 0)
			ret = rte_vfio_user_unregister(other);
	}
	__atomic_store_n(&rw.writer_done, true, __ATOMIC_RELEASE);
	while (i-- > 0)
		pthread_join(th[i], NULL);
	tdev_destroy(d);
	free(d);
	TEST_ASSERT(ret >= 0, "register/unregister: %d", ret);
	printf("%d register/unregister cycles during %" PRIu64 " reader operations\n", done,
		rw.ops);
	TEST_ASSERT_EQUAL(rw.exhausted, 0u,
		"%u readers did %u operations before %d register/unregister cycles",
		rw.exhausted, RW_READER_OPS, RW_WRITER_CYCLES);
	return TEST_SUCCESS;
}

static struct unit_test_suite races_suite = {
	.suite_name = "vfio-user server races and stalls",
	.setup = raw_suite_setup,
	.teardown = raw_suite_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("interrupts reconfigured under the data path", test_irq_reconfig),
		TEST_CASE_NAMED("registry writers under data path load", test_registry_writers),
		TEST_CASE_NAMED("client that stops reading", test_stalled_reader),
		TEST_CASE_NAMED("message DMA during quiesce", test_quiesce_dma_wait),
		TEST_CASE_NAMED("failed start, callback taking the API lock",
			test_start_fail_unlocked),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_races_autotest, races_suite, 0);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * dpdk-vfio-user-bench: cost of vfio-user operations against the cost of the
 * bare transport ("floor") measured in the same run between the same two
 * processes:
 *
 *  - REGION_READ of 4 bytes, round trips per second; floor: an AF_UNIX
 *    ping-pong with the same sizes (16+16 byte request, 16+20 byte reply).
 *  - DMA_MAP + DMA_UNMAP of a 4 KiB window, pairs per second, with a memfd
 *    passed and without; floor: the same 16+32 byte request (plus the fd by
 *    SCM_RIGHTS) / 16 byte reply, then 16+24 / 16+24, to a server that does
 *    the least a safe server must: recvmsg, fstat, mmap, sendmsg; recvmsg,
 *    munmap, close, sendmsg. The "bare" floor (no fstat, mmap, munmap: the fd
 *    is closed at once) is measured too, for comparison with earlier runs.
 *  - Interrupt latency: server rte_vfio_user_irq_trigger() on its main thread
 *    to the client's eventfd becoming readable; floor: a plain eventfd write
 *    between the same two threads.
 *
 * Each measurement and its floor alternate in 100 ms slices (interrupts: one
 * by one) so that both see the same machine conditions.
 *
 * The program re-executes itself as a server and a client process (before
 * EAL init, each with its own --file-prefix and no shared config), first both
 * pinned to one CPU, then on two CPUs. It is a benchmark, not a test: it
 * reports, it does not judge, apart from printing whether the targets are met.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "bench.h"

#define DEF_DURATION 2.0
#define WARMUP_NS (100 * 1000 * 1000ull)
/* Floor and real measurements alternate in slices of this length. */
#define SLICE_S 0.1
/* The server sleeps this long before each interrupt so that the client is asleep in poll(). */
#define IRQ_GAP_US 50
#define IRQ_WAIT_MS 2000
#define MAX_LAT_SAMPLES (1u << 20)
#define MAP_IOVA UINT64_C(0x10000000)
#define MAP_SIZE 4096
#define READY_TIMEOUT_MS 15000

/* The vfio-user message header, as the specification lays it out (for the floor). */
struct wire_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t size;
	uint32_t flags;
	uint32_t error;
};

#define WIRE_CMD_DMA_MAP 2
#define WIRE_CMD_DMA_UNMAP 3
#define WIRE_CMD_REGION_READ 9
#define WIRE_F_REPLY 1u

enum bench_op {
	OP_REGION_READ,
	OP_MAP_FD,
	OP_MAP_NOFD,
	NB_OPS,
};

static const char * const op_names[NB_OPS] = {
	[OP_REGION_READ] = "REGION_READ 4 B",
	[OP_MAP_FD] = "DMA_MAP+UNMAP, memfd",
	[OP_MAP_NOFD] = "DMA_MAP+UNMAP, no fd",
};

struct lat_stats {
	uint64_t samples;
	double min_us, p50_us, p99_us, max_us, mean_us;
};

/* Shared by the three processes (a memfd inherited across exec). */
struct bench_shm {
	uint64_t irq_t0_ns; /* server: clock just before it raises the interrupt */
	double ops[NB_OPS];
	double floor_ops[NB_OPS];
	double bare_floor_ops[NB_OPS]; /* 0: same as floor_ops */
	struct lat_stats lat, lat_floor;
	int done;           /* client: all measurements finished */
	char err[160];      /* client: first failure */
};

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int
pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static struct bench_shm *
shm_map(int fd)
{
	void *p = mmap(NULL, sizeof(struct bench_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int
recv_full(int s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(s, (uint8_t *)buf + got, len - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

/*
 * Floor messages marked with this (not a vfio-user flag) ask for the bare
 * floor: the server closes the fds and replies, doing no work.
 */
#define FLOOR_F_BARE (1u << 16)

/* The DMA_MAP and DMA_UNMAP payloads, as the specification lays them out. */
struct wire_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
};

struct wire_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
};

/* The one window the floor server holds between a map and its unmap. */
struct floor_window {
	uint64_t addr, size;
	void *va;
	int fd;
};

/*
 * Least work a server must do to take a DMA_MAP with a descriptor safely:
 * fstat() (a file shorter than the window makes later accesses SIGBUS),
 * mmap(); on DMA_UNMAP: munmap(), close(). A DMA_MAP without a descriptor
 * only records the window.
 */
static int
floor_map(struct floor_window *w, const uint8_t *payload, size_t plen, int fd)
{
	struct wire_map m;
	struct stat st;
	void *va = NULL;

	if (plen != sizeof(m) || w->size != 0)
		return -1;
	memcpy(&m, payload, sizeof(m));
	if (m.size == 0)
		return -1;
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
				m.offset > (uint64_t)st.st_size ||
				m.size > (uint64_t)st.st_size - m.offset)
			return -1;
		va = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
		if (va == MAP_FAILED)
			return -1;
	}
	w->addr = m.addr;
	w->size = m.size;
	w->fd = fd;
	w->va = va;
	return 0;
}

static void
floor_release(struct floor_window *w)
{
	if (w->size == 0)
		return;
	if (w->va != NULL)
		munmap(w->va, w->size);
	if (w->fd >= 0)
		close(w->fd);
	w->size = 0;
}

static int
floor_unmap(struct floor_window *w, const uint8_t *payload, size_t plen)
{
	struct wire_unmap u;

	if (plen != sizeof(u))
		return -1;
	memcpy(&u, payload, sizeof(u));
	if (u.addr != w->addr || u.size != w->size || w->size == 0)
		return -1;
	floor_release(w);
	return 0;
}

/*
 * Floor server: a blocking loop on one socket answering each message with a
 * reply of the size vfio-user uses for that command. DMA_MAP and DMA_UNMAP
 * do the least work a server must (floor_map), unless marked FLOOR_F_BARE.
 * Ends at EOF or on a protocol error.
 */
void *
floor_echo(void *arg)
{
	int s = (int)(intptr_t)arg;
	uint8_t buf[4096], cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct floor_window w = { .size = 0, .fd = -1 };

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct wire_hdr h;
		struct cmsghdr *cm;
		size_t plen;
		ssize_t r;
		int fd = -1;

		r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t i, n;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < n; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = f;
				else
					close(f);
			}
		}
		if ((size_t)r < sizeof(h) && recv_full(s, buf + r, sizeof(h) - r) < 0)
			break;
		memcpy(&h, buf, sizeof(h));
		if (h.size < sizeof(h) || h.size > sizeof(buf))
			break;
		if ((size_t)r < h.size && recv_full(s, buf + RTE_MAX((size_t)r, sizeof(h)),
				h.size - RTE_MAX((size_t)r, sizeof(h))) < 0)
			break;
		if ((h.flags & FLOOR_F_BARE) && fd >= 0) {
			close(fd);
			fd = -1;
		}
		switch (h.cmd) {
		case WIRE_CMD_REGION_READ:
			plen = 16 + 4; /* access header echoed, then the data */
			break;
		case WIRE_CMD_DMA_MAP:
			if (!(h.flags & FLOOR_F_BARE)) {
				if (floor_map(&w, buf + sizeof(h), h.size - sizeof(h), fd) < 0) {
					if (fd >= 0)
						close(fd);
					goto out;
				}
				fd = -1;
			}
			plen = 0;
			break;
		case WIRE_CMD_DMA_UNMAP:
			if (!(h.flags & FLOOR_F_BARE) &&
					floor_unmap(&w, buf + sizeof(h), h.size - sizeof(h)) < 0)
				goto out;
			plen = 24; /* the request echoed */
			break;
		default:
			plen = 0;
			break;
		}
		if (fd >= 0)
			close(fd);
		h.size = sizeof(h) + plen;
		h.flags = WIRE_F_REPLY;
		memcpy(buf, &h, sizeof(h));
		if (send(s, buf, h.size, MSG_NOSIGNAL) != (ssize_t)h.size)
			break;
	}
out:
	floor_release(&w);
	return NULL;
}

/* One floor round trip from the client side. */
static int
floor_rpc(int s, uint16_t cmd, uint32_t flags, const void *req, size_t req_plen, int fd,
		size_t reply_plen)
{
	static uint16_t msg_id;
	uint8_t buf[128], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(struct wire_hdr) + req_plen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct wire_hdr h = { .cmd = cmd, .size = sizeof(h) + req_plen, .flags = flags };

	h.msg_id = msg_id++;
	memcpy(buf, &h, sizeof(h));
	if (req != NULL)
		memcpy(buf + sizeof(h), req, req_plen);
	else
		memset(buf + sizeof(h), 0, req_plen);
	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return -1;
	return recv_full(s, buf, sizeof(h) + reply_plen);
}

/*
 * Server process.
 */

static uint32_t srv_bar0[1024];
static struct rte_vfio_user_pci *srv_pci;

static ssize_t
srv_bar0_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	RTE_SET_USED(dev_id);
	RTE_SET_USED(reg);
	if (is_write)
		memcpy((uint8_t *)srv_bar0 + offset, buf, count);
	else
		memcpy(buf, (uint8_t *)srv_bar0 + offset, count);
	return count;
}

/*
 * A bare PCI function: BAR0 registers, one MSI-X vector whose table lives in
 * BAR0. Returns the helper's handle, or NULL with rte_errno set.
 */
struct rte_vfio_user_pci *
srv_describe(const char *path, int dev_id)
{
	const struct rte_vfio_user_pci_cap msix = {
		.id = PCI_CAP_ID_MSIX,
		.nr_vectors = 1,
		.table_bar = 0,
		.table_offset = sizeof(srv_bar0) / 2,
		.pba_bar = 0,
		.pba_offset = sizeof(srv_bar0) * 3 / 4,
	};
	struct rte_vfio_user_pci_info info = {
		.vendor_id = 0x7e57,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		.caps = &msix,
		.nr_caps = 1,
	};

	info.bars[0] = (struct rte_vfio_user_pci_bar){
		.size = sizeof(srv_bar0), .rw = srv_bar0_rw, .fd = -1,
	};
	srv_bar0[0] = 0x600dcafe;
	return rte_vfio_user_pci_create(path, dev_id, &info);
}

static int
run_server(const struct child_args *a)
{
	struct bench_shm *shm = shm_map(a->shm_fd);
	pthread_t floor_thread;
	bool floor_started = false;
	int dev_id = -1;
	uint64_t one = 1;
	int ret = -1;
	char c;

	if (shm == NULL) {
		perror("server: shm");
		return -1;
	}
	dev_id = rte_vfio_user_register(a->socket, NULL);
	if (dev_id < 0) {
		fprintf(stderr, "server: register %s: %s\n", a->socket, strerror(-dev_id));
		goto out;
	}
	srv_pci = srv_describe(a->socket, dev_id);
	ret = srv_pci != NULL ? rte_vfio_user_start(a->socket) : -rte_errno;
	if (ret < 0) {
		fprintf(stderr, "server: setting up %s: %s\n", a->socket, strerror(-ret));
		goto out;
	}
	ret = -1;
	if (pthread_create(&floor_thread, NULL, floor_echo, (void *)(intptr_t)a->floor_fd) != 0)
		goto out;
	floor_started = true;
	c = 'r';
	if (write(a->ready_fd, &c, 1) != 1)
		goto out;
	close(a->ready_fd);

	/* Interrupt requests from the client: 'v' through vfio-user, 'e' on the raw eventfd. */
	while (read(a->ack_fd, &c, 1) == 1 && c != 'q') {
		usleep(IRQ_GAP_US);
		__atomic_store_n(&shm->irq_t0_ns, now_ns(), __ATOMIC_RELEASE);
		if (c == 'v')
			ret = rte_vfio_user_irq_trigger(dev_id, VFIO_PCI_MSIX_IRQ_INDEX, 0);
		else
			ret = write(a->irq_floor_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
		if (ret < 0)
			fprintf(stderr, "server: raising the interrupt: %s\n", strerror(-ret));
	}
	ret = 0;
out:
	if (dev_id >= 0)
		rte_vfio_user_unregister(a->socket);
	rte_vfio_user_pci_free(srv_pci);
	if (floor_started) {
		/* The client closing its end ends the echo thread. */
		pthread_join(floor_thread, NULL);
	}
	munmap(shm, sizeof(*shm));
	return ret;
}

/*
 * Client process.
 */

int
op_region_read(struct cli_ctx *c)
{
	uint32_t v;
	ssize_t r = rte_vfio_user_region_read(c->dev, VFIO_PCI_BAR0_REGION_INDEX, 0, &v, 4);

	return r == 4 ? 0 : (r < 0 ? (int)r : -EIO);
}

int
op_floor_region_read(struct cli_ctx *c)
{
	return floor_rpc(c->floor_fd, WIRE_CMD_REGION_READ, 0, NULL, 16, -1, 16 + 4) == 0 ?
		0 : -EIO;
}

static int
map_unmap(struct cli_ctx *c, bool with_fd)
{
	int ret;

	ret = rte_vfio_user_dma_map(c->dev, &c->mem, with_fd ? &c->memfd : NULL, 1);
	if (ret == 0)
		ret = rte_vfio_user_dma_unmap(c->dev, &c->mem, 1);
	return ret;
}

int
op_map_fd(struct cli_ctx *c)
{
	return map_unmap(c, true);
}

static int
op_map_nofd(struct cli_ctx *c)
{
	return map_unmap(c, false);
}

/* The same messages as map_unmap(); bare: the server does no work for them. */
static int
floor_map_unmap(struct cli_ctx *c, int fd, bool bare)
{
	const struct wire_map m = {
		.argsz = sizeof(m), .flags = 3, .offset = c->mem.fd_offset,
		.addr = c->mem.iova, .size = c->mem.size,
	};
	const struct wire_unmap u = { .argsz = sizeof(u), .addr = m.addr, .size = m.size };
	uint32_t flags = bare ? FLOOR_F_BARE : 0;

	if (floor_rpc(c->floor_fd, WIRE_CMD_DMA_MAP, flags, &m, sizeof(m), fd, 0) < 0 ||
			floor_rpc(c->floor_fd, WIRE_CMD_DMA_UNMAP, flags, &u, sizeof(u), -1,
				sizeof(u)) < 0)
		return -EIO;
	return 0;
}

int
op_floor_map_fd(struct cli_ctx *c)
{
	return floor_map_unmap(c, c->memfd, false);
}

static int
op_bare_floor_map_fd(struct cli_ctx *c)
{
	return floor_map_unmap(c, c->memfd, true);
}

static int
op_floor_map_nofd(struct cli_ctx *c)
{
	return floor_map_unmap(c, -1, false);
}

/*
 * Operations per second of each of the nr functions f (nr <= 3), each run for
 * duration seconds in slices taken in turn so that all see the same machine
 * conditions.
 */
int
measure(struct cli_ctx *c, const op_fn *f, unsigned int nr, double duration, double *ops)
{
	uint64_t n[3] = { 0, 0, 0 }, t[3] = { 0, 0, 0 };
	unsigned int slices = RTE_MAX(1u, (unsigned int)(duration / SLICE_S + 0.5));
	uint64_t slice_ns = (uint64_t)(duration * 1e9) / slices;
	uint64_t start, end, now;
	unsigned int i, k;
	int ret;

	for (k = 0; k < nr; k++) {
		end = now_ns() + WARMUP_NS;
		do {
			ret = f[k](c);
			if (ret < 0)
				return ret;
		} while (now_ns() < end);
	}
	for (i = 0; i < nr * slices; i++) {
		k = i % nr;
		start = now_ns();
		end = start + slice_ns;
		do {
			ret = f[k](c);
			if (ret < 0)
				return ret;
			n[k]++;
			now = now_ns();
		} while (now < end);
		t[k] += now - start;
	}
	for (k = 0; k < nr; k++)
		ops[k] = n[k] * 1e9 / t[k];
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
lat_summary(uint32_t *s, uint64_t n, struct lat_stats *st)
{
	uint64_t i;
	double sum = 0;

	memset(st, 0, sizeof(*st));
	if (n == 0)
		return;
	qsort(s, n, sizeof(*s), cmp_u32);
	for (i = 0; i < n; i++)
		sum += s[i];
	st->samples = n;
	st->min_us = s[0] / 1e3;
	st->p50_us = s[n / 2] / 1e3;
	st->p99_us = s[RTE_MIN(n - 1, n * 99 / 100)] / 1e3;
	st->max_us = s[n - 1] / 1e3;
	st->mean_us = sum / n / 1e3;
}

/*
 * Ask the server for interrupts one at a time, alternately through vfio-user
 * (efd[1], mode 'v') and on the raw eventfd (efd[0], mode 'e'); time each
 * from the server's clock reading just before it raises it to our wake-up.
 */
static int
measure_irq(const struct child_args *a, struct bench_shm *shm, const int efd[2],
		double duration, struct lat_stats st[2])
{
	static const char mode[2] = { 'e', 'v' };
	uint32_t *samples[2];
	uint64_t end, n[2] = { 0, 0 }, t1, t0, cnt, i;
	bool warm = false;
	int ret = 0;

	samples[0] = malloc(MAX_LAT_SAMPLES * sizeof(uint32_t));
	samples[1] = malloc(MAX_LAT_SAMPLES * sizeof(uint32_t));
	if (samples[0] == NULL || samples[1] == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	end = now_ns() + WARMUP_NS;
	for (i = 0;; i++) {
		unsigned int k = i & 1;
		struct pollfd pfd = { .fd = efd[k], .events = POLLIN };

		if (write(a->ack_fd, &mode[k], 1) != 1) {
			ret = -errno;
			break;
		}
		ret = poll(&pfd, 1, IRQ_WAIT_MS);
		t1 = now_ns();
		if (ret <= 0) {
			ret = ret == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		ret = 0;
		if (read(efd[k], &cnt, sizeof(cnt)) != sizeof(cnt)) {
			ret = -errno;
			break;
		}
		t0 = __atomic_load_n(&shm->irq_t0_ns, __ATOMIC_ACQUIRE);
		if (warm)
			samples[k][n[k]++] = t1 > t0 ? RTE_MIN(t1 - t0, (uint64_t)UINT32_MAX) : 0;
		if (k == 1 && t1 >= end) {
			if (warm)
				break;
			warm = true;
			end = t1 + (uint64_t)(2 * duration * 1e9);
		}
		if (n[k] == MAX_LAT_SAMPLES)
			break;
	}
	if (ret == 0) {
		lat_summary(samples[0], n[0], &st[0]);
		lat_summary(samples[1], n[1], &st[1]);
	}
out:
	free(samples[0]);
	free(samples[1]);
	return ret;
}

static int
set_msix_eventfd(int dev, int efd)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd = efd;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	return rte_vfio_user_set_irqs(dev, set);
}

static void __rte_format_printf(2, 3)
client_fail(struct bench_shm *shm, const char *fmt, ...)
{
	va_list ap;

	if (shm->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(shm->err, sizeof(shm->err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "client: %s\n", shm->err);
}

static int
run_client(const struct child_args *a)
{
	static const struct {
		enum bench_op op;
		op_fn fn, floor_fn, bare_floor_fn;
	} ops[] = {
		{ OP_REGION_READ, op_region_read, op_floor_region_read, NULL },
		{ OP_MAP_FD, op_map_fd, op_floor_map_fd, op_bare_floor_map_fd },
		{ OP_MAP_NOFD, op_map_nofd, op_floor_map_nofd, NULL },
	};
	struct bench_shm *shm = shm_map(a->shm_fd);
	struct cli_ctx c = { .dev = -1, .floor_fd = a->floor_fd, .memfd = -1 };
	int efd = -1, ret = -1;
	unsigned int i;
	char q = 'q';

	if (shm == NULL) {
		perror("client: shm");
		return -1;
	}
	c.memfd = memfd_create("vfio-user-bench-dma", MFD_CLOEXEC);
	if (c.memfd < 0 || ftruncate(c.memfd, MAP_SIZE) < 0) {
		client_fail(shm, "memfd: %s", strerror(errno));
		goto out;
	}
	c.buf = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c.memfd, 0);
	if (c.buf == MAP_FAILED) {
		c.buf = NULL;
		client_fail(shm, "mmap: %s", strerror(errno));
		goto out;
	}
	c.mem = (struct rte_vfio_user_mem_reg){
		.iova = MAP_IOVA, .size = MAP_SIZE, .fd_offset = 0,
		.prot = PROT_READ | PROT_WRITE, .fd = -1, .vaddr = c.buf,
	};
	c.dev = rte_vfio_user_attach_dev(a->socket);
	if (c.dev < 0) {
		client_fail(shm, "attach %s: %s", a->socket, strerror(-c.dev));
		goto out;
	}

	for (i = 0; i < RTE_DIM(ops); i++) {
		enum bench_op op = ops[i].op;
		const op_fn f[3] = { ops[i].floor_fn, ops[i].fn, ops[i].bare_floor_fn };
		double r[3] = { 0, 0, 0 };

		ret = measure(&c, f, f[2] != NULL ? 3 : 2, a->duration, r);
		shm->floor_ops[op] = r[0];
		shm->ops[op] = r[1];
		shm->bare_floor_ops[op] = f[2] != NULL ? r[2] : 0;
		if (ret < 0) {
			client_fail(shm, "%s: %s", op_names[op], strerror(-ret));
			goto out;
		}
		printf("client cpu %d: %-22s %10.0f ops/s, floor %10.0f ops/s\n", a->cpu,
			op_names[op], shm->ops[op], shm->floor_ops[op]);
	}

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		client_fail(shm, "eventfd: %s", strerror(errno));
		goto out;
	}
	ret = set_msix_eventfd(c.dev, efd);
	if (ret < 0) {
		client_fail(shm, "SET_IRQS: %s", strerror(-ret));
		goto out;
	}
	{
		const int efds[2] = { a->irq_floor_fd, efd };
		struct lat_stats st[2];

		ret = measure_irq(a, shm, efds, a->duration, st);
		if (ret < 0) {
			client_fail(shm, "interrupt latency: %s", strerror(-ret));
			goto out;
		}
		shm->lat_floor = st[0];
		shm->lat = st[1];
	}
	printf("client cpu %d: interrupt p50 %.1f us, floor p50 %.1f us\n", a->cpu,
		shm->lat.p50_us, shm->lat_floor.p50_us);
	shm->done = 1;
	ret = 0;
out:
	if (write(a->ack_fd, &q, 1) != 1)
		ret = -1;
	if (c.dev >= 0)
		rte_vfio_user_detach_dev(c.dev);
	if (efd >= 0)
		close(efd);
	if (c.buf != NULL)
		munmap(c.buf, MAP_SIZE);
	if (c.memfd >= 0)
		close(c.memfd);
	munmap(shm, sizeof(*shm));
	return ret;
}

/*
 * Orchestrator: creates the shared channels, starts server then client
 * pinned as asked, collects the results.
 */

struct run_result {
	const char *cores;
	bool ok;
	struct bench_shm res;
};

static int
fd_inherit(int fd)
{
	return fcntl(fd, F_SETFD, 0);
}

pid_t
spawn(const char *role, int cpu, const char *socket, double duration, const int fds[5])
{
	char cpu_s[16], dur_s[32], fd_s[96], prefix[64];
	const char *argv[32];
	unsigned int n = 0, i;
	pid_t pid;

	snprintf(cpu_s, sizeof(cpu_s), "%d", cpu);
	snprintf(dur_s, sizeof(dur_s), "%g", duration);
	snprintf(fd_s, sizeof(fd_s), "%d,%d,%d,%d,%d", fds[0], fds[1], fds[2], fds[3], fds[4]);
	/* Fixed per role: with no shared config nothing is locked, and nothing piles up. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=vfio-user-bench-%s", role);
	argv[n++] = "dpdk-vfio-user-bench";
	argv[n++] = "-l";
	argv[n++] = cpu_s;
	argv[n++] = "--no-huge";
	argv[n++] = "--no-pci";
	/* DPDK 22.11 refuses --in-memory with --no-huge; no shared config either way. */
	argv[n++] = "--no-shconf";
	argv[n++] = prefix;
	argv[n++] = "--no-telemetry";
	argv[n++] = "-m";
	argv[n++] = "64";
	argv[n++] = "--log-level=lib.eal:error";
	argv[n++] = "--log-level=lib.vfio_user*:warning";
	argv[n++] = "--";
	argv[n++] = "--role";
	argv[n++] = role;
	argv[n++] = "--cpu";
	argv[n++] = cpu_s;
	argv[n++] = "--socket";
	argv[n++] = socket;
	argv[n++] = "--duration";
	argv[n++] = dur_s;
	argv[n++] = "--fds";
	argv[n++] = fd_s;
	argv[n] = NULL;

	fflush(stdout);
	pid = fork();
	if (pid != 0)
		return pid;
	for (i = 0; i < 5; i++)
		if (fds[i] >= 0 && fd_inherit(fds[i]) < 0)
			_exit(127);
	execv("/proc/self/exe", (char * const *)(uintptr_t)argv);
	perror("execv");
	_exit(127);
}

/* Wait for a child until deadline_ns; kill it past that. Returns its exit status or -1. */
int
reap(pid_t pid, uint64_t deadline_ns, const char *what)
{
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (now_ns() > deadline_ns) {
			fprintf(stderr, "bench: %s (pid %d) takes too long, killing it\n", what,
				(int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(20000);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	fprintf(stderr, "bench: %s killed by signal %d\n", what, WTERMSIG(st));
	return -1;
}

static bool
run_config(int srv_cpu, int cli_cpu, double duration, struct run_result *out)
{
	int shm_fd = -1, floor_sp[2] = { -1, -1 }, ack[2] = { -1, -1 };
	int ready[2] = { -1, -1 }, irq_floor = -1;
	struct bench_shm *shm = NULL;
	pid_t srv = -1, cli = -1;
	char path[108];
	uint64_t deadline;
	struct pollfd pfd;
	int srv_st, cli_st;
	char c;

	memset(&out->res, 0, sizeof(out->res));
	out->ok = false;
	snprintf(path, sizeof(path), "/tmp/dpdk-vfio-user-bench.%d.sock", (int)getpid());
	shm_fd = memfd_create("vfio-user-bench-shm", MFD_CLOEXEC);
	if (shm_fd < 0 || ftruncate(shm_fd, sizeof(*shm)) < 0 ||
			(shm = shm_map(shm_fd)) == NULL ||
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, floor_sp) < 0 ||
			pipe2(ack, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0 ||
			(irq_floor = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		perror("bench: setting up the channels");
		goto out;
	}

	/* fds: shm, floor socket, ack pipe end, raw eventfd, ready pipe (server only) */
	srv = spawn("server", srv_cpu, path, duration,
		(const int[5]){ shm_fd, floor_sp[0], ack[0], irq_floor, ready[1] });
	if (srv < 0)
		goto out;
	close(ready[1]);
	ready[1] = -1;
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, READY_TIMEOUT_MS) != 1 || read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "bench: the server did not come up\n");
		goto out;
	}
	cli = spawn("client", cli_cpu, path, duration,
		(const int[5]){ shm_fd, floor_sp[1], ack[1], irq_floor, -1 });
out:
	/* The children hold their own copies; dropping ours lets EOF reach them. */
	if (floor_sp[0] >= 0)
		close(floor_sp[0]);
	if (floor_sp[1] >= 0)
		close(floor_sp[1]);
	if (ack[0] >= 0)
		close(ack[0]);
	if (ack[1] >= 0)
		close(ack[1]);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (irq_floor >= 0)
		close(irq_floor);
	if (shm_fd >= 0)
		close(shm_fd);
	deadline = now_ns() + (uint64_t)((12 * (duration + 0.2) + 30) * 1e9);
	cli_st = cli > 0 ? reap(cli, deadline, "client") : -1;
	if (srv > 0 && cli <= 0)
		kill(srv, SIGTERM);
	srv_st = srv > 0 ? reap(srv, deadline, "server") : -1;
	if (shm != NULL) {
		out->res = *shm;
		munmap(shm, sizeof(*shm));
	}
	unlink(path);
	out->ok = cli_st == 0 && srv_st == 0 && out->res.done;
	if (!out->ok)
		fprintf(stderr, "bench: run on %s failed (client status %d, server status %d)"
			"%s%s\n", out->cores, cli_st, srv_st, out->res.err[0] ? ": " : "",
			out->res.err);
	return out->ok;
}

static void
print_report(const struct run_result *runs, unsigned int nr, double duration)
{
	double rd_ratio = -1, map_ratio = -1, bare_ratio = -1;
	unsigned int i, op;

	printf("\ndpdk-vfio-user-bench: %.1f s per measurement; floor = raw AF_UNIX ping-pong\n"
		"of the same messages (and fd) / raw eventfd write, between the same two\n"
		"processes and threads, interleaved with the measurement; the floor server\n"
		"maps what DMA_MAP passes (fstat, mmap; munmap, close on DMA_UNMAP), the bare\n"
		"floor only closes the fd\n\n", duration);
	printf("%-22s %-12s %12s %12s %7s\n", "op", "cores", "ops/s", "floor ops/s", "ratio");
	for (i = 0; i < nr; i++) {
		for (op = 0; op < NB_OPS; op++) {
			const struct bench_shm *r = &runs[i].res;
			double ratio = r->floor_ops[op] > 0 ? r->ops[op] / r->floor_ops[op] : 0;

			if (r->ops[op] <= 0) {
				printf("%-22s %-12s %12s %12s %7s\n", op_names[op], runs[i].cores,
					"-", "-", "-");
				continue;
			}
			printf("%-22s %-12s %12.0f %12.0f %7.3f\n", op_names[op], runs[i].cores,
				r->ops[op], r->floor_ops[op], ratio);
			if (i == 0 && op == OP_REGION_READ)
				rd_ratio = ratio;
			if (i == 0 && op == OP_MAP_FD)
				map_ratio = ratio;
			if (r->bare_floor_ops[op] <= 0)
				continue;
			ratio = r->ops[op] / r->bare_floor_ops[op];
			printf("%-22s %-12s %12s %12.0f %7.3f\n", "  vs. bare floor", runs[i].cores,
				"", r->bare_floor_ops[op], ratio);
			if (i == 0 && op == OP_MAP_FD)
				bare_ratio = ratio;
		}
	}
	printf("\n%-30s %-12s %8s %8s %8s %8s %8s %8s\n", "interrupt latency (us)", "cores",
		"min", "p50", "p99", "max", "mean", "samples");
	for (i = 0; i < nr; i++) {
		const struct lat_stats *l[2] = { &runs[i].res.lat, &runs[i].res.lat_floor };
		static const char * const what[2] = {
			"irq_trigger -> eventfd wake", "floor: eventfd write -> wake",
		};
		unsigned int k;

		for (k = 0; k < 2; k++) {
			if (l[k]->samples == 0) {
				printf("%-30s %-12s %8s\n", what[k], runs[i].cores, "-");
				continue;
			}
			printf("%-30s %-12s %8.1f %8.1f %8.1f %8.1f %8.1f %8" PRIu64 "\n", what[k],
				runs[i].cores, l[k]->min_us, l[k]->p50_us, l[k]->p99_us,
				l[k]->max_us, l[k]->mean_us, l[k]->samples);
		}
	}
	printf("\ntargets (one core): REGION_READ >= 0.95 x floor: ");
	if (rd_ratio < 0)
		printf("not measured\n");
	else
		printf("%.3f, %s\n", rd_ratio, rd_ratio >= 0.95 ? "met" : "NOT met");
	printf("                    DMA_MAP+UNMAP with fd >= 0.90 x floor: ");
	if (map_ratio < 0)
		printf("not measured\n");
	else
		printf("%.3f, %s (bare floor: %.3f)\n", map_ratio,
			map_ratio >= 0.90 ? "met" : "NOT met", bare_ratio);
}

static void
usage(const char *prog)
{
	printf("Usage: %s [--duration SEC] [--cpus A,B] [--one-core]\n"
		"          [--no-scale | --scale-only]\n"
		"  --duration SEC  length of each measurement (default %.0f)\n"
		"  --cpus A,B      CPU of the server, CPU of the client in the two-core run;\n"
		"                  the one-core run puts both on A (default 0,1)\n"
		"  --one-core      skip the two-core run\n"
		"  --no-scale      skip the scale run (1 to 1000 devices, on CPU A)\n"
		"  --scale-only    only the scale run\n",
		prog, DEF_DURATION);
}

static int
run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "one-core", no_argument, NULL, '1' },
		{ "no-scale", no_argument, NULL, 's' },
		{ "scale-only", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char cores[2][32];
	struct run_result runs[2];
	double duration = DEF_DURATION;
	int cpu_a = 0, cpu_b = 1, opt;
	bool one_core = false, scale = true, scale_only = false, ok = true;
	unsigned int nr = 0;
	cpu_set_t avail;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			duration = strtod(optarg, &end);
			if (*end != '\0' || !(duration > 0 && duration <= 600)) {
				fprintf(stderr, "bad --duration %s\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2 || cpu_a < 0 ||
					cpu_b < 0 || cpu_a >= CPU_SETSIZE || cpu_b >= CPU_SETSIZE) {
				fprintf(stderr, "bad --cpus %s\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		case '1':
			one_core = true;
			break;
		case 's':
			scale = false;
			break;
		case 'S':
			scale_only = true;
			break;
		case 'h':
			usage(argv[0]);
			return EXIT_SUCCESS;
		default:
			usage(argv[0]);
			return EXIT_FAILURE;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return EXIT_FAILURE;
	}
	if (sched_getaffinity(0, sizeof(avail), &avail) < 0 || !CPU_ISSET(cpu_a, &avail)) {
		fprintf(stderr, "bench: CPU %d is not available\n", cpu_a);
		return EXIT_FAILURE;
	}
	if (!one_core && (cpu_a == cpu_b || !CPU_ISSET(cpu_b, &avail))) {
		printf("bench: CPU %d not available (or same as %d), two-core run skipped\n",
			cpu_b, cpu_a);
		one_core = true;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (scale_only)
		return run_scale(cpu_a, duration) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

	snprintf(cores[0], sizeof(cores[0]), "1 (cpu %d)", cpu_a);
	runs[nr].cores = cores[0];
	printf("bench: server and client on CPU %d\n", cpu_a);
	ok = run_config(cpu_a, cpu_a, duration, &runs[nr++]) && ok;
	if (!one_core) {
		snprintf(cores[1], sizeof(cores[1]), "2 (cpu %d,%d)", cpu_a, cpu_b);
		runs[nr].cores = cores[1];
		printf("bench: server on CPU %d, client on CPU %d\n", cpu_a, cpu_b);
		ok = run_config(cpu_a, cpu_b, duration, &runs[nr++]) && ok;
	}
	print_report(runs, nr, duration);
	if (scale)
		ok = run_scale(cpu_a, duration) == 0 && ok;
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
parse_child(int argc, char **argv, struct child_args *a)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "fds", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	a->cpu = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			a->role = optarg;
			break;
		case 'c':
			a->cpu = atoi(optarg);
			break;
		case 's':
			a->socket = optarg;
			break;
		case 'd':
			a->duration = strtod(optarg, NULL);
			break;
		case 'f':
			if (sscanf(optarg, "%d,%d,%d,%d,%d", &a->shm_fd, &a->floor_fd, &a->ack_fd,
					&a->irq_floor_fd, &a->ready_fd) != 5)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (a->role == NULL || a->socket == NULL || a->cpu < 0 || !(a->duration > 0))
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct child_args a;
	int sep, ret;

	/* A child is "<EAL args> -- --role ...": find its part before EAL sees anything. */
	for (sep = 1; sep < argc; sep++)
		if (strcmp(argv[sep], "--") == 0)
			break;
	if (sep + 1 >= argc || strcmp(argv[sep + 1], "--role") != 0)
		return run_main(argc, argv);

	memset(&a, 0, sizeof(a));
	argv[sep] = argv[0];
	if (parse_child(argc - sep, argv + sep, &a) < 0) {
		fprintf(stderr, "bench: bad child arguments\n");
		return EXIT_FAILURE;
	}
	/* Pin before EAL init so that its control threads inherit the CPU too. */
	if (pin_cpu(a.cpu) < 0) {
		fprintf(stderr, "bench: cannot pin to CPU %d: %s\n", a.cpu, strerror(errno));
		return EXIT_FAILURE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		fprintf(stderr, "bench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	if (strcmp(a.role, "server") == 0)
		ret = run_server(&a);
	else if (strcmp(a.role, "scale-server") == 0)
		ret = scale_server(&a);
	else if (strcmp(a.role, "scale-client") == 0)
		ret = scale_client(&a);
	else
		ret = run_client(&a);
	rte_eal_cleanup();
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

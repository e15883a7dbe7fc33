/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Scale mode of dpdk-vfio-user-bench: does one control thread serving many
 * devices keep the cost of each operation?
 *
 * A server process registers 1, then 10, 100 and 1000 devices (the same
 * device as the main mode, one socket each); a client process attaches to
 * every one of them. At each level the client measures, on device 0,
 * REGION_READ round trips and DMA_MAP+UNMAP pairs (memfd), each interleaved
 * with its floor as in the main mode: first with every other device idle,
 * then with 10% of the devices kept busy by BUSY_THREADS client threads
 * issuing REGION_READs round-robin over them. Both processes run on one CPU.
 *
 * The cost of an operation at a level is its time relative to its floor;
 * the report gives it relative to the cost with one device, so that the
 * machine's load, which changes between levels, cancels out. Memory and
 * descriptors per device are the growth of the server's (and client's) RSS
 * and descriptor count from one device to the level, divided by the devices
 * added.
 *
 * The client sends its requests on ack_fd ("grow to n devices", "sample
 * your resources", "quit"); the server answers each with one byte on
 * irq_floor_fd. Both raise RLIMIT_NOFILE to its hard limit.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "bench.h"

#define NB_LEVELS 4
#define MAX_DEVS 1000
#define BUSY_THREADS 4
#define SCALE_MAP_IOVA UINT64_C(0x10000000)
#define SCALE_MAP_SIZE 4096
#define SCALE_READY_MS 15000

static const unsigned int levels[NB_LEVELS] = { 1, 10, 100, MAX_DEVS };

enum { IDLE, BUSY, NB_LOADS };

struct scale_level {
	unsigned int devs, busy;
	/* ops/s of REGION_READ and DMA_MAP+UNMAP on device 0, and of their floors */
	double rd[NB_LOADS], rd_floor[NB_LOADS];
	double map[NB_LOADS], map_floor[NB_LOADS];
	long srv_fds, cli_fds;
	double srv_rss_kib, cli_rss_kib;
	int done;
};

/* Shared by the three processes (a memfd inherited across exec). */
struct scale_shm {
	struct scale_level lv[NB_LEVELS];
	long nofile;       /* RLIMIT_NOFILE of the server once raised */
	char err[160];
};

struct scale_req {
	char op;     /* 'g': grow to n devices, 's': sample level n, 'q': quit (no answer) */
	uint32_t n;
};

static struct scale_shm *
scale_shm_map(int fd)
{
	void *p = mmap(NULL, sizeof(struct scale_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
dev_path(char *buf, size_t len, const char *dir, unsigned int i)
{
	snprintf(buf, len, "%s/d%u.sock", dir, i);
}

static long
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	return (long)rl.rlim_cur;
}

static long
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static double
rss_kib(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024.0) : -1;
}

static void __rte_format_printf(2, 3)
scale_fail(struct scale_shm *shm, const char *fmt, ...)
{
	va_list ap;

	if (shm->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(shm->err, sizeof(shm->err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "scale: %s\n", shm->err);
}

/*
 * Server process.
 */

/* The PCI helper of each device the server added. */
static struct rte_vfio_user_pci *scale_pci[MAX_DEVS];

static int
srv_add_dev(const char *path, unsigned int i)
{
	int dev_id = rte_vfio_user_register(path, NULL);
	int ret;

	if (dev_id < 0)
		return dev_id;
	scale_pci[i] = srv_describe(path, dev_id);
	ret = scale_pci[i] != NULL ? rte_vfio_user_start(path) : -rte_errno;
	if (ret < 0) {
		rte_vfio_user_unregister(path);
		rte_vfio_user_pci_free(scale_pci[i]);
		scale_pci[i] = NULL;
	}
	return ret;
}

int
scale_server(const struct child_args *a)
{
	struct scale_shm *shm = scale_shm_map(a->shm_fd);
	unsigned int nr = 0, i, lv;
	pthread_t floor_thread;
	bool floor_started = false;
	struct scale_req req;
	char path[128], c;
	int ret = -1;

	if (shm == NULL) {
		perror("scale server: shm");
		return -1;
	}
	shm->nofile = raise_nofile();
	if (pthread_create(&floor_thread, NULL, floor_echo, (void *)(intptr_t)a->floor_fd) != 0)
		goto out;
	floor_started = true;
	c = 'r';
	if (write(a->ready_fd, &c, 1) != 1)
		goto out;
	close(a->ready_fd);

	while (read(a->ack_fd, &req, sizeof(req)) == sizeof(req) && req.op != 'q') {
		c = 'k';
		if (req.op == 'g') {
			for (; nr < req.n && nr < MAX_DEVS; nr++) {
				dev_path(path, sizeof(path), a->socket, nr);
				ret = srv_add_dev(path, nr);
				if (ret < 0) {
					scale_fail(shm, "server: device %u: %s", nr,
						strerror(-ret));
					c = 'e';
					break;
				}
			}
		} else if (req.op == 's') {
			for (lv = 0; lv < NB_LEVELS && levels[lv] != req.n; lv++)
				;
			if (lv < NB_LEVELS) {
				shm->lv[lv].srv_fds = count_fds();
				shm->lv[lv].srv_rss_kib = rss_kib();
			}
		}
		if (write(a->irq_floor_fd, &c, 1) != 1)
			break;
	}
	ret = 0;
out:
	for (i = 0; i < nr; i++) {
		dev_path(path, sizeof(path), a->socket, i);
		rte_vfio_user_unregister(path);
		rte_vfio_user_pci_free(scale_pci[i]);
		scale_pci[i] = NULL;
	}
	if (floor_started)
		pthread_join(floor_thread, NULL);
	munmap(shm, sizeof(*shm));
	return ret;
}

/*
 * Client process.
 */

struct busy_arg {
	const int *ids;
	unsigned int nr;
	volatile bool stop;
	int err;
};

/* Keep nr devices busy with REGION_READs, round-robin, until stop. */
static void *
busy_loop(void *p)
{
	struct busy_arg *b = p;
	unsigned int i = 0;
	uint32_t v;

	while (!b->stop) {
		ssize_t r = rte_vfio_user_region_read(b->ids[i], VFIO_PCI_BAR0_REGION_INDEX, 0,
			&v, sizeof(v));

		if (r != sizeof(v)) {
			b->err = r < 0 ? (int)r : -EIO;
			break;
		}
		i = i + 1 == b->nr ? 0 : i + 1;
	}
	return NULL;
}

static int
srv_call(const struct child_args *a, char op, uint32_t n)
{
	struct scale_req req = { .op = op, .n = n };
	char c;

	if (write(a->ack_fd, &req, sizeof(req)) != sizeof(req))
		return -EPIPE;
	/* No answer to quit: the server waits for the floor socket to close. */
	if (op == 'q')
		return 0;
	if (read(a->irq_floor_fd, &c, 1) != 1)
		return -EPIPE;
	return c == 'k' ? 0 : -EIO;
}

/* REGION_READ and DMA_MAP+UNMAP on c->dev against their floors, under load ld. */
static int
measure_level(struct cli_ctx *c, double duration, struct scale_level *lv, int ld)
{
	const op_fn rd[2] = { op_floor_region_read, op_region_read };
	const op_fn map[2] = { op_floor_map_fd, op_map_fd };
	double r[2] = { 0, 0 };
	int ret;

	ret = measure(c, rd, 2, duration, r);
	if (ret < 0)
		return ret;
	lv->rd_floor[ld] = r[0];
	lv->rd[ld] = r[1];
	ret = measure(c, map, 2, duration, r);
	if (ret < 0)
		return ret;
	lv->map_floor[ld] = r[0];
	lv->map[ld] = r[1];
	return 0;
}

/* Measure again with busy devices ids[1 .. 1 + busy), split between the busy threads. */
static int
measure_busy(struct cli_ctx *c, const int *ids, unsigned int busy, double duration,
		struct scale_level *lv)
{
	struct busy_arg b[BUSY_THREADS];
	pthread_t tid[BUSY_THREADS];
	unsigned int nt = RTE_MIN(busy, (unsigned int)BUSY_THREADS);
	unsigned int i, started = 0, first = 1;
	int ret = 0;

	for (i = 0; i < nt; i++) {
		unsigned int share = busy / nt + (i < busy % nt);

		b[i] = (struct busy_arg){ .ids = ids + first, .nr = share };
		first += share;
		if (pthread_create(&tid[i], NULL, busy_loop, &b[i]) != 0) {
			ret = -EAGAIN;
			break;
		}
		started++;
	}
	if (ret == 0)
		ret = measure_level(c, duration, lv, BUSY);
	for (i = 0; i < started; i++) {
		b[i].stop = true;
		pthread_join(tid[i], NULL);
		if (ret == 0 && b[i].err < 0)
			ret = b[i].err;
	}
	return ret;
}

int
scale_client(const struct child_args *a)
{
	struct scale_shm *shm = scale_shm_map(a->shm_fd);
	struct cli_ctx c = { .dev = -1, .floor_fd = a->floor_fd, .memfd = -1 };
	unsigned int nr = 0, i, lv;
	int *ids = NULL, ret = -1;
	char path[128];

	if (shm == NULL) {
		perror("scale client: shm");
		return -1;
	}
	raise_nofile();
	ids = calloc(MAX_DEVS, sizeof(*ids));
	c.memfd = memfd_create("vfio-user-bench-scale", MFD_CLOEXEC);
	if (ids == NULL || c.memfd < 0 || ftruncate(c.memfd, SCALE_MAP_SIZE) < 0) {
		scale_fail(shm, "client: set-up: %s", strerror(errno));
		goto out;
	}
	c.buf = mmap(NULL, SCALE_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c.memfd, 0);
	if (c.buf == MAP_FAILED) {
		c.buf = NULL;
		scale_fail(shm, "client: mmap: %s", strerror(errno));
		goto out;
	}
	c.mem = (struct rte_vfio_user_mem_reg){
		.iova = SCALE_MAP_IOVA, .size = SCALE_MAP_SIZE, .prot = PROT_READ | PROT_WRITE,
		.fd = -1, .vaddr = c.buf,
	};

	for (lv = 0; lv < NB_LEVELS; lv++) {
		struct scale_level *l = &shm->lv[lv];

		l->devs = levels[lv];
		l->busy = l->devs >= 10 ? l->devs / 10 : 0;
		ret = srv_call(a, 'g', l->devs);
		if (ret < 0) {
			scale_fail(shm, "client: the server could not grow to %u devices", l->devs);
			goto out;
		}
		for (; nr < l->devs; nr++) {
			dev_path(path, sizeof(path), a->socket, nr);
			ids[nr] = rte_vfio_user_attach_dev(path);
			if (ids[nr] < 0) {
				scale_fail(shm, "client: attach %s: %s", path, strerror(-ids[nr]));
				ret = -1;
				goto out;
			}
		}
		c.dev = ids[0];
		ret = srv_call(a, 's', l->devs);
		if (ret < 0)
			goto out;
		l->cli_fds = count_fds();
		l->cli_rss_kib = rss_kib();
		ret = measure_level(&c, a->duration, l, IDLE);
		if (ret == 0 && l->busy > 0)
			ret = measure_busy(&c, ids, l->busy, a->duration, l);
		if (ret < 0) {
			scale_fail(shm, "client: %u devices: %s", l->devs, strerror(-ret));
			goto out;
		}
		l->done = 1;
		printf("scale: %4u devices measured\n", l->devs);
	}
	ret = 0;
out:
	for (i = 0; i < nr; i++)
		if (ids[i] >= 0)
			rte_vfio_user_detach_dev(ids[i]);
	srv_call(a, 'q', 0);
	free(ids);
	if (c.buf != NULL)
		munmap(c.buf, SCALE_MAP_SIZE);
	if (c.memfd >= 0)
		close(c.memfd);
	munmap(shm, sizeof(*shm));
	return ret;
}

/*
 * Orchestrator.
 */

/* Cost of an operation relative to its floor at level l, over that at level 0. */
static double
cost_ratio(double ops, double floor_ops, double ops1, double floor_ops1)
{
	if (ops <= 0 || floor_ops <= 0 || ops1 <= 0 || floor_ops1 <= 0)
		return 0;
	return (floor_ops / ops) / (floor_ops1 / ops1);
}

static void
print_scale(const struct scale_shm *shm, double duration)
{
	const struct scale_level *l1 = &shm->lv[0];
	unsigned int lv;

	printf("\nscale: one control thread, n devices each with a connected client, one CPU;\n"
		"%.1f s per measurement on device 0. cost = time per op / time per floor op,\n"
		"given relative to 1 device (1.00 = no slower); busy = 10%% of the devices kept\n"
		"busy by %d client threads; per device = growth from 1 device, divided by the\n"
		"devices added. Server RLIMIT_NOFILE: %ld\n\n", duration, BUSY_THREADS,
		shm->nofile);
	printf("%7s %9s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n", "devices", "read us",
		"read idle", "read busy", "map us", "map idle", "map busy", "srv KiB", "srv fds",
		"cli KiB", "cli fds");
	printf("%7s %9s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n", "", "(idle)", "cost", "cost",
		"(idle)", "cost", "cost", "/dev", "/dev", "/dev", "/dev");
	for (lv = 0; lv < NB_LEVELS; lv++) {
		const struct scale_level *l = &shm->lv[lv];
		unsigned int added = l->devs - l1->devs;
		char col[6][16];
		unsigned int k;

		if (!l->done) {
			printf("%7u %9s\n", levels[lv], "not measured");
			continue;
		}
		for (k = 0; k < RTE_DIM(col); k++)
			strcpy(col[k], "-");
		if (l->busy > 0) {
			snprintf(col[0], sizeof(col[0]), "%.2f", cost_ratio(l->rd[BUSY],
				l->rd_floor[BUSY], l1->rd[IDLE], l1->rd_floor[IDLE]));
			snprintf(col[1], sizeof(col[1]), "%.2f", cost_ratio(l->map[BUSY],
				l->map_floor[BUSY], l1->map[IDLE], l1->map_floor[IDLE]));
		}
		if (added > 0) {
			snprintf(col[2], sizeof(col[2]), "%.1f",
				(l->srv_rss_kib - l1->srv_rss_kib) / added);
			snprintf(col[3], sizeof(col[3]), "%.2f",
				(double)(l->srv_fds - l1->srv_fds) / added);
			snprintf(col[4], sizeof(col[4]), "%.1f",
				(l->cli_rss_kib - l1->cli_rss_kib) / added);
			snprintf(col[5], sizeof(col[5]), "%.2f",
				(double)(l->cli_fds - l1->cli_fds) / added);
		}
		printf("%7u %9.1f %9.2f %9s %9.1f %9.2f %9s %8s %8s %8s %8s\n", l->devs,
			1e6 / l->rd[IDLE], cost_ratio(l->rd[IDLE], l->rd_floor[IDLE],
				l1->rd[IDLE], l1->rd_floor[IDLE]), col[0],
			1e6 / l->map[IDLE], cost_ratio(l->map[IDLE], l->map_floor[IDLE],
				l1->map[IDLE], l1->map_floor[IDLE]), col[1],
			col[2], col[3], col[4], col[5]);
	}
}

int
run_scale(int cpu, double duration)
{
	int shm_fd = -1, floor_sp[2] = { -1, -1 }, req[2] = { -1, -1 }, ans[2] = { -1, -1 };
	int ready[2] = { -1, -1 }, srv_st = -1, cli_st = -1;
	struct scale_shm *shm = NULL;
	char dir[64], path[128];
	pid_t srv = -1, cli = -1;
	struct pollfd pfd;
	unsigned int i;
	uint64_t deadline;
	bool ok = false;
	char c;

	printf("bench: scale mode, server and client on CPU %d\n", cpu);
	snprintf(dir, sizeof(dir), "/tmp/dpdk-vfio-user-bench-scale.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("bench: mkdtemp");
		return -1;
	}
	shm_fd = memfd_create("vfio-user-bench-scale-shm", MFD_CLOEXEC);
	if (shm_fd < 0 || ftruncate(shm_fd, sizeof(*shm)) < 0 ||
			(shm = scale_shm_map(shm_fd)) == NULL ||
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, floor_sp) < 0 ||
			pipe2(req, O_CLOEXEC) < 0 || pipe2(ans, O_CLOEXEC) < 0 ||
			pipe2(ready, O_CLOEXEC) < 0) {
		perror("bench: scale: setting up the channels");
		goto out;
	}
	/* fds: shm, floor socket, requests, answers, ready pipe (server only) */
	srv = spawn("scale-server", cpu, dir, duration,
		(const int[5]){ shm_fd, floor_sp[0], req[0], ans[1], ready[1] });
	if (srv < 0)
		goto out;
	close(ready[1]);
	ready[1] = -1;
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, SCALE_READY_MS) != 1 || read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "bench: the scale server did not come up\n");
		goto out;
	}
	cli = spawn("scale-client", cpu, dir, duration,
		(const int[5]){ shm_fd, floor_sp[1], req[1], ans[0], -1 });
out:
	for (i = 0; i < 2; i++) {
		if (floor_sp[i] >= 0)
			close(floor_sp[i]);
		if (req[i] >= 0)
			close(req[i]);
		if (ans[i] >= 0)
			close(ans[i]);
		if (ready[i] >= 0)
			close(ready[i]);
	}
	if (shm_fd >= 0)
		close(shm_fd);
	deadline = now_ns() + (uint64_t)((NB_LEVELS * 8 * (duration + 0.3) + 120) * 1e9);
	if (cli > 0)
		cli_st = reap(cli, deadline, "scale client");
	if (srv > 0 && cli <= 0)
		kill(srv, SIGTERM);
	if (srv > 0)
		srv_st = reap(srv, deadline, "scale server");
	if (shm != NULL) {
		ok = cli_st == 0 && srv_st == 0 && shm->lv[NB_LEVELS - 1].done;
		if (!ok)
			fprintf(stderr, "bench: scale run failed (client status %d, server status"
				" %d)%s%s\n", cli_st, srv_st, shm->err[0] ? ": " : "", shm->err);
		print_scale(shm, duration);
		munmap(shm, sizeof(*shm));
	}
	for (i = 0; i < MAX_DEVS; i++) {
		dev_path(path, sizeof(path), dir, i);
		unlink(path);
	}
	rmdir(dir);
	return ok ? 0 : -1;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The /vfio_user telemetry endpoints, read through this process's telemetry
 * socket the way usertools/dpdk-telemetry.py does: a SOCK_SEQPACKET
 * connection to <runtime dir>/dpdk_telemetry.v2 (":<n>" appended when
 * another process of the same file prefix holds that name), a JSON greeting
 * with the pid, then one JSON reply per command.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_suite.h"

#define TEL_BUF (16 * 1024 + 1) /* max_output_len of DPDK 22.11, and a NUL */
#define TEL_SUFFIXES 64

static int tel_sock = -1;

/* Connect to path; the socket if it belongs to this process, else -1. */
static int
tel_try(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct json_object *greet, *pid;
	char buf[1024];
	ssize_t n;
	int s, own = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(s);
		return -1;
	}
	n = recv(s, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		greet = json_tokener_parse(buf);
		own = greet != NULL && json_object_object_get_ex(greet, "pid", &pid) &&
			json_object_get_int(pid) == getpid();
		json_object_put(greet);
	}
	if (!own) {
		close(s);
		return -1;
	}
	return s;
}

static int
tel_setup(void)
{
	char path[PATH_MAX];
	int i;

	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	tel_sock = tel_try(path);
	for (i = 1; tel_sock < 0 && i <= TEL_SUFFIXES; i++) {
		snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2:%d",
			rte_eal_get_runtime_dir(), i);
		tel_sock = tel_try(path);
	}
	if (tel_sock < 0) {
		printf("no telemetry socket of pid %d under %s\n", getpid(),
			rte_eal_get_runtime_dir());
		return -1;
	}
	return vfu_suite_setup();
}

static void
tel_teardown(void)
{
	vfu_suite_teardown();
	if (tel_sock >= 0)
		close(tel_sock);
	tel_sock = -1;
}

/*
 * Send cmd and parse the reply, {"<cmd without parameters>": value}. Returns
 * the value (put it after use; NULL for a JSON null), or NULL with *ok false
 * when there is no well-formed reply.
 */
static struct json_object *
tel_query(const char *cmd, bool *ok)
{
	struct json_object *root, *val = NULL;
	char key[128];
	char *buf;
	ssize_t n;

	*ok = false;
	buf = malloc(TEL_BUF);
	if (buf == NULL)
		return NULL;
	if (send(tel_sock, cmd, strlen(cmd), 0) < 0)
		goto out;
	n = recv(tel_sock, buf, TEL_BUF - 1, 0);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	root = json_tokener_parse(buf);
	snprintf(key, sizeof(key), "%.*s", (int)strcspn(cmd, ","), cmd);
	if (root != NULL && json_object_object_get_ex(root, key, &val)) {
		*ok = true;
		json_object_get(val);
	} else {
		printf("reply to %s: %s\n", cmd, buf);
	}
	json_object_put(root);
out:
	free(buf);
	return val;
}

/* A dict member as an integer, or INT64_MIN when it is missing. */
static int64_t
j_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return INT64_MIN;
	return json_object_get_int64(v);
}

static const char *
j_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
			!json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Entry idx of array member key, or INT64_MIN. */
static int64_t
j_elem(struct json_object *o, const char *key, size_t idx)
{
	struct json_object *a;

	if (o == NULL || !json_object_object_get_ex(o, key, &a) ||
			!json_object_is_type(a, json_type_array) ||
			idx >= json_object_array_length(a))
		return INT64_MIN;
	return json_object_get_int64(json_object_array_get_idx(a, idx));
}

/* Member name of dict member key (stats: msgs.region_read), or INT64_MIN. */
static int64_t
j_sub(struct json_object *o, const char *key, const char *name)
{
	struct json_object *sub;

	if (o == NULL || !json_object_object_get_ex(o, key, &sub))
		return INT64_MIN;
	return j_int(sub, name);
}

static bool
j_list_has(struct json_object *a, int64_t id)
{
	size_t i;

	if (a == NULL || !json_object_is_type(a, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(a); i++)
		if (json_object_get_int64(json_object_array_get_idx(a, i)) == id)
			return true;
	return false;
}

/* Query "<ep>,<id>": a dict, or NULL (the caller's assertion reports it). */
static struct json_object *
tel_dev(const char *ep, int id)
{
	char cmd[128];
	bool ok;

	snprintf(cmd, sizeof(cmd), "/vfio_user/%s,%d", ep, id);
	return tel_query(cmd, &ok);
}

static bool
tel_list_has(const char *ep, int id)
{
	struct json_object *l;
	bool ok, has;

	l = tel_query(ep, &ok);
	has = ok && j_list_has(l, id);
	json_object_put(l);
	return has;
}

#define N_READS 5
#define N_WRITES 3
#define WIN_SIZE 0x10000
#define FD_IOVA 0x100000ULL
#define MSG_IOVA 0x200000ULL

struct counts {
	int64_t rd_msgs, rd_errs, wr_msgs, rd_bytes, wr_bytes, dma_rd, dma_wr;
};

static int
counts_get(const char *ep, int id, struct counts *c)
{
	struct json_object *st = tel_dev(ep, id);

	c->rd_msgs = j_sub(st, "msgs", "region_read");
	c->rd_errs = j_sub(st, "errors", "region_read");
	c->wr_msgs = j_sub(st, "msgs", "region_write");
	c->rd_bytes = j_elem(st, "region_read_bytes", TDEV_BAR_BASE);
	c->wr_bytes = j_elem(st, "region_write_bytes", TDEV_BAR_BASE);
	c->dma_rd = j_int(st, "dma_read_msgs");
	c->dma_wr = j_int(st, "dma_write_msgs");
	json_object_put(st);
	return st != NULL && c->rd_msgs >= 0 && c->rd_bytes >= 0 && c->dma_rd >= 0 ? 0 : -1;
}

/* Counters of both halves after region accesses and DMA through messages. */
static int
stats_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct counts s0, s1, c0, c1;
	struct rte_vfio_user_mem_reg m;
	uint8_t *mem, buf[64];
	uint64_t v;
	int i;

	TEST_ASSERT_SUCCESS(counts_get("server/stats", d->id, &s0), "server stats");
	TEST_ASSERT_SUCCESS(counts_get("client/stats", f->cid, &c0), "client stats");

	for (i = 0; i < N_READS; i++)
		TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_BASE, 8 * i, &v), "read %d", i);
	for (i = 0; i < N_WRITES; i++)
		TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_BASE, 8 * i, i), "write %d", i);
	/* Past the end of the region: an error reply, counted as such. */
	TEST_ASSERT(rte_vfio_user_region_read(f->cid, TDEV_BAR_BASE,
		d->regs[TDEV_BAR_BASE].info->size, &v, sizeof(v)) < 0, "read past the region");

	mem = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	memset(mem, 0x5a, WIN_SIZE);
	m = win(MSG_IOVA, WIN_SIZE, 0, PROT_READ | PROT_WRITE, mem);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map message window");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_read(d->id, MSG_IOVA, buf, sizeof(buf)),
		"dma_read");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, MSG_IOVA, buf, sizeof(buf)),
		"dma_write");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_write(d->id, MSG_IOVA + 64, buf, sizeof(buf)),
		"dma_write");

	TEST_ASSERT_SUCCESS(counts_get("server/stats", d->id, &s1), "server stats");
	TEST_ASSERT_SUCCESS(counts_get("client/stats", f->cid, &c1), "client stats");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(f->cid, &m, 1), "unmap");
	munmap(mem, WIN_SIZE);

	/* The server counts what it handled, the client what it sent: the same here. */
	TEST_ASSERT_EQUAL(s1.rd_msgs - s0.rd_msgs, N_READS + 1, "server region_read msgs");
	TEST_ASSERT_EQUAL(s1.rd_errs - s0.rd_errs, 1, "server region_read errors");
	TEST_ASSERT_EQUAL(s1.wr_msgs - s0.wr_msgs, N_WRITES, "server region_write msgs");
	TEST_ASSERT_EQUAL(s1.rd_bytes - s0.rd_bytes, 8 * N_READS, "server bytes read");
	TEST_ASSERT_EQUAL(s1.wr_bytes - s0.wr_bytes, 8 * N_WRITES, "server bytes written");
	TEST_ASSERT_EQUAL(s1.dma_rd - s0.dma_rd, 1, "server DMA_READ msgs");
	TEST_ASSERT_EQUAL(s1.dma_wr - s0.dma_wr, 2, "server DMA_WRITE msgs");
	TEST_ASSERT_EQUAL(c1.rd_msgs - c0.rd_msgs, N_READS + 1, "client region_read msgs");
	TEST_ASSERT_EQUAL(c1.rd_errs - c0.rd_errs, 1, "client region_read errors");
	TEST_ASSERT_EQUAL(c1.wr_msgs - c0.wr_msgs, N_WRITES, "client region_write msgs");
	TEST_ASSERT_EQUAL(c1.rd_bytes - c0.rd_bytes, 8 * N_READS, "client bytes read");
	TEST_ASSERT_EQUAL(c1.wr_bytes - c0.wr_bytes, 8 * N_WRITES, "client bytes written");
	TEST_ASSERT_EQUAL(c1.dma_rd - c0.dma_rd, 1, "client DMA_READ msgs");
	TEST_ASSERT_EQUAL(c1.dma_wr - c0.dma_wr, 2, "client DMA_WRITE msgs");
	return TEST_SUCCESS;
}

static int
test_tel_stats(void)
{
	return run_fix(stats_body, NULL);
}

/* Lists, device info, the DMA tables and the interrupt state. */
static int
info_body(struct fix *f)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX, msi = VFIO_PCI_MSI_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m[2];
	struct json_object *o;
	uint8_t *fmem, *mem;
	int mfd, efd[3] = { -1, -1, -1 };
	int ret = TEST_FAILED;

	TEST_ASSERT(tel_list_has("/vfio_user/server/list", d->id), "server not listed");
	TEST_ASSERT(tel_list_has("/vfio_user/client/list", f->cid), "client not listed");

	o = tel_dev("server/info", d->id);
	TEST_ASSERT_NOT_NULL(o, "server info");
	if (strcmp(j_str(o, "path"), d->path) != 0 || strcmp(j_str(o, "state"), "ready") != 0 ||
			strcmp(j_str(o, "version"), "0.0") != 0 ||
			j_int(o, "client_pid") != getpid() || j_int(o, "client_uid") != getuid() ||
			j_int(o, "max_data_xfer_size") <= 0 ||
			j_int(o, "regions") != VFIO_PCI_NUM_REGIONS ||
			strcmp(j_str(o, "migration"), "unsupported") != 0 ||
			j_int(o, "dma_logging_pgsize") != 0) {
		printf("server info: %s\n", json_object_to_json_string(o));
		json_object_put(o);
		return TEST_FAILED;
	}
	json_object_put(o);
	o = tel_dev("client/info", f->cid);
	TEST_ASSERT_NOT_NULL(o, "client info");
	if (strcmp(j_str(o, "path"), d->path) != 0 || strcmp(j_str(o, "state"), "ready") != 0 ||
			strcmp(j_str(o, "version"), "0.0") != 0 || j_int(o, "pgsizes") <= 0) {
		printf("client info: %s\n", json_object_to_json_string(o));
		json_object_put(o);
		return TEST_FAILED;
	}
	json_object_put(o);

	/* One window by descriptor, one by message. */
	TEST_ASSERT_SUCCESS(memfd_buf(WIN_SIZE, &mfd, &fmem), "memfd");
	mem = mmap(NULL, 2 * WIN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto out_memfd;
	m[0] = win(FD_IOVA, WIN_SIZE, 0, PROT_READ | PROT_WRITE, fmem);
	m[1] = win(MSG_IOVA, 2 * WIN_SIZE, 0, PROT_READ | PROT_WRITE, mem);
	if (rte_vfio_user_dma_map(f->cid, &m[0], &mfd, 1) < 0 ||
			rte_vfio_user_dma_map(f->cid, &m[1], NULL, 1) < 0) {
		printf("dma_map failed\n");
		goto out_mem;
	}
	o = tel_dev("server/dma", d->id);
	if (j_int(o, "count") != 2 || j_int(o, "bytes") != 3 * WIN_SIZE ||
			j_int(o, "fd_mapped") != 1 || j_int(o, "fd_mapped_bytes") != WIN_SIZE ||
			j_int(o, "message_only") != 1 ||
			j_int(o, "message_only_bytes") != 2 * WIN_SIZE) {
		printf("server dma: %s\n", json_object_to_json_string(o));
		json_object_put(o);
		goto out_unmap;
	}
	json_object_put(o);
	o = tel_dev("client/dma", f->cid);
	if (j_int(o, "count") != 2 || j_int(o, "bytes") != 3 * WIN_SIZE) {
		printf("client dma: %s\n", json_object_to_json_string(o));
		json_object_put(o);
		goto out_unmap;
	}
	json_object_put(o);

	/*
	 * Two MSI-X vectors get eventfds; MSI vector 0 gets one, is masked, and
	 * fires while masked: it is pending.
	 */
	if (make_efds(efd, 3) < 0 || irq_set(f->cid, msix, et, 0, 2, efd, 2 * sizeof(int)) < 0 ||
			irq_set(f->cid, msi, et, 0, 1, &efd[2], sizeof(int)) < 0 ||
			irq_set(f->cid, msi, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
				0, 1, NULL, 0) < 0 ||
			rte_vfio_user_irq_trigger(d->id, msi, 0) < 0) {
		printf("SET_IRQS or trigger failed\n");
		goto out_unmap;
	}
	o = tel_dev("server/irqs", d->id);
	if (j_elem(o, "count", msix) != TDEV_MSIX_COUNT || j_elem(o, "enabled", msix) != 2 ||
			j_elem(o, "masked", msix) != 0 ||
			j_elem(o, "count", msi) != TDEV_MSI_COUNT ||
			j_elem(o, "enabled", msi) != 1 || j_elem(o, "masked", msi) != 1 ||
			j_elem(o, "pending", msi) != 1 ||
			j_elem(o, "enabled", VFIO_PCI_INTX_IRQ_INDEX) != 0) {
		printf("server irqs: %s\n", json_object_to_json_string(o));
		json_object_put(o);
		goto out_unmap;
	}
	json_object_put(o);
	ret = TEST_SUCCESS;
out_unmap:
	rte_vfio_user_dma_unmap(f->cid, m, 2);
out_mem:
	munmap(mem, 2 * WIN_SIZE);
out_memfd:
	munmap(fmem, WIN_SIZE);
	close(mfd);
	close_fds(efd, 3);
	return ret;
}

static int
test_tel_info(void)
{
	return run_fix(info_body, NULL);
}

/* Bad parameters and unknown ids answer null; a closed device leaves the lists. */
static int
test_tel_params(void)
{
	static const char * const bad[] = {
		"/vfio_user/server/info", "/vfio_user/server/info,", "/vfio_user/server/info,x",
		"/vfio_user/server/stats,-1", "/vfio_user/server/dma,1x",
		"/vfio_user/server/irqs,99999999999", "/vfio_user/client/info,7",
		"/vfio_user/client/stats", "/vfio_user/client/dma,4096",
	};
	struct json_object *o;
	struct fix f;
	int sid, cid;
	unsigned int i;
	bool ok;

	for (i = 0; i < RTE_DIM(bad); i++) {
		o = tel_query(bad[i], &ok);
		TEST_ASSERT(ok && o == NULL, "%s: not null", bad[i]);
	}
	TEST_ASSERT_SUCCESS(fix_open(&f, NULL), "fixture");
	sid = f.dev.id;
	cid = f.cid;
	ok = tel_list_has("/vfio_user/server/list", sid) &&
		tel_list_has("/vfio_user/client/list", cid);
	fix_close(&f);
	TEST_ASSERT(ok, "device not listed");
	TEST_ASSERT(!tel_list_has("/vfio_user/server/list", sid), "closed server listed");
	TEST_ASSERT(!tel_list_has("/vfio_user/client/list", cid), "detached client listed");
	o = tel_dev("server/info", sid);
	TEST_ASSERT(o == NULL, "info of a closed server");
	return TEST_SUCCESS;
}

/* Server info "migration" and "dma_logging_pgsize" of sid are want and pgsize. */
static int
tel_mig_is(int sid, const char *want, int64_t pgsize)
{
	struct json_object *o = tel_dev("server/info", sid);
	int ret = TEST_SUCCESS;

	TEST_ASSERT_NOT_NULL(o, "server info");
	if (strcmp(j_str(o, "migration"), want) != 0 ||
			j_int(o, "dma_logging_pgsize") != pgsize ||
			j_int(o, "dma_logging_ranges") != (pgsize != 0 ? 1 : 0)) {
		printf("server info: %s, want migration %s, logging page %" PRId64 "\n",
			json_object_to_json_string(o), want, pgsize);
		ret = TEST_FAILED;
	}
	json_object_put(o);
	return ret;
}

/* A migratable device shows its migration state and its DMA logging. */
static int
mig_body(struct fix *f)
{
	const uint64_t iova = 0x400000, len = 16 * 4096;
	const struct rte_vfio_user_dirty_range range = { iova, len };
	struct rte_vfio_user_mem_reg m;
	enum rte_vfio_user_mig_state cur;
	uint64_t pgsz = 0;
	uint8_t *mem;
	int mfd, sid = f->dev.id, ret = TEST_FAILED;

	TEST_ASSERT_SUCCESS(tel_mig_is(sid, "RUNNING", 0), "running");
	TEST_ASSERT_SUCCESS(memfd_buf(len, &mfd, &mem), "memfd");
	m = win(iova, len, 0, PROT_READ | PROT_WRITE, mem);
	if (rte_vfio_user_dma_map(f->cid, &m, &mfd, 1) < 0 ||
			rte_vfio_user_dirty_start(f->cid, &range, 1, &pgsz) < 0 ||
			tel_mig_is(sid, "RUNNING", (int64_t)pgsz) != TEST_SUCCESS ||
			rte_vfio_user_mig_set_state(f->cid, RTE_VFIO_USER_MIG_STOP, &cur) < 0 ||
			tel_mig_is(sid, "STOP", (int64_t)pgsz) != TEST_SUCCESS ||
			rte_vfio_user_dirty_stop(f->cid) < 0 ||
			rte_vfio_user_mig_set_state(f->cid, RTE_VFIO_USER_MIG_RUNNING, &cur) < 0 ||
			tel_mig_is(sid, "RUNNING", 0) != TEST_SUCCESS) {
		printf("migration steps failed (logging page %" PRIu64 ")\n", pgsz);
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	rte_vfio_user_dma_unmap(f->cid, &m, 1);
	munmap(mem, len);
	close(mfd);
	return ret;
}

static int
test_tel_migration(void)
{
	static const struct tdev_cfg cfg = { .mig_flags = RTE_VFIO_USER_MIG_F_STOP_COPY };

	return run_fix(mig_body, &cfg);
}

/* Client info "state" and "reconnects" of cid, into state (64 bytes): 0 or -1. */
static int
tel_cli_state(int cid, char *state, int64_t *reconnects)
{
	struct json_object *o = tel_dev("client/info", cid);

	if (o == NULL)
		return -1;
	snprintf(state, 64, "%s", j_str(o, "state"));
	*reconnects = j_int(o, "reconnects");
	json_object_put(o);
	return 0;
}

/* Wait until the client shows state want with n reconnections. */
static int
tel_cli_wait(int cid, const char *want, int64_t n)
{
	uint64_t end = now_ms() + EV_TIMEOUT_MS;
	char state[64] = "";
	int64_t got = -1;

	do {
		if (tel_cli_state(cid, state, &got) == 0 && strcmp(state, want) == 0 && got == n)
			return 0;
		usleep(1000);
	} while (now_ms() < end);
	printf("client %d: state %s with %" PRId64 " reconnects, want %s with %" PRId64 "\n",
		cid, state, got, want, n);
	return -1;
}

/* A client with reconnection: reconnecting while the server is away, then counted. */
static int
reconnect_body(struct tdev *d, const char *path, int *cid)
{
	struct rte_vfio_user_attach_opts o = { .reconnect_ms = 1 };

	TEST_ASSERT_SUCCESS(tdev_create(d, path, NULL, true), "server");
	*cid = rte_vfio_user_attach_dev_opts(path, &o);
	TEST_ASSERT(*cid >= 0, "attach: %d", *cid);
	TEST_ASSERT_SUCCESS(tel_cli_wait(*cid, "ready", 0), "fresh client");
	tdev_destroy(d);
	TEST_ASSERT_SUCCESS(tel_cli_wait(*cid, "reconnecting", 0), "server away");
	TEST_ASSERT_SUCCESS(tdev_create(d, path, NULL, true), "server again");
	TEST_ASSERT_SUCCESS(tel_cli_wait(*cid, "ready", 1), "server back");
	return TEST_SUCCESS;
}

static int
test_tel_reconnect(void)
{
	char path[256];
	struct tdev *d;
	int cid = -1, ret;

	d = calloc(1, sizeof(*d));
	TEST_ASSERT_NOT_NULL(d, "no memory");
	d->id = -1;
	mkpath(path, sizeof(path), "telrc");
	ret = reconnect_body(d, path, &cid);
	if (cid >= 0)
		rte_vfio_user_detach_dev(cid);
	tdev_destroy(d);
	free(d);
	return ret;
}

static struct unit_test_suite vfio_user_telemetry_suite = {
	.suite_name = "vfio-user telemetry",
	.setup = tel_setup,
	.teardown = tel_teardown,
	.unit_test_cases = {
		TEST_CASE(test_tel_stats),
		TEST_CASE(test_tel_reconnect),
		TEST_CASE(test_tel_info),
		TEST_CASE(test_tel_migration),
		TEST_CASE(test_tel_params),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_telemetry_autotest, vfio_user_telemetry_suite, 0);

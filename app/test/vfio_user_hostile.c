/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Hostile client of the raw peer (see vfio_user_peer.h): the two test
 * devices, commands with their expected answer, and the case runner.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"

/*
 * Hostile client: the test devices
 */

struct tdev dev_a;
struct tdev dev_b;
int b_sock = -1;
uint16_t g_next_id = 0x100;
static struct rte_vfio_user_limits g_old_limits;
struct rte_vfio_user_limits g_limits;
int g_case_fds;
struct raw_msg rx;

/* A test device laid out for the hostile cases (see vfio_user_peer.h). */
static int
hdev_init(struct tdev *d, const char *tag, bool reset_flag)
{
	const struct tdev_cfg cfg = {
		.cb_size = HDEV_BIG_SIZE,
		.base_size = HDEV_RW_SIZE,
		.no_reset = !reset_flag,
		.msix_count = HDEV_MSIX_COUNT,
		.no_msi = true,
		/* The target migrates (test_vfio_user_mig.c), the bystander does not. */
		.mig_flags = reset_flag ? RTE_VFIO_USER_MIG_F_STOP_COPY |
			RTE_VFIO_USER_MIG_F_PRE_COPY : 0,
	};
	char path[108];

	snprintf(path, sizeof(path), "/tmp/vfu-hostile-%d-%s.sock", (int)getpid(), tag);
	unlink(path);
	return tdev_create(d, path, &cfg, true);
}

/* Wait until the process has @want descriptors open. */
int
fds_wait(int want, const char *what)
{
	uint64_t end = now_ms() + LEAK_WAIT_MS;
	int n;

	for (;;) {
		n = count_fds();
		if (n == want)
			return TEST_SUCCESS;
		if (now_ms() > end)
			break;
		usleep(5000);
	}
	printf("  %s: %d descriptors open, expected %d\n", what, n, want);
	leak_dump_fds();
	return TEST_FAILED;
}

/*
 * Hostile client: messages with the expected answer
 */

uint16_t
nid(void)
{
	return g_next_id++;
}

int
rx_recv(int s, int timeout_ms)
{
	int ret;

	raw_msg_close_fds(&rx);
	ret = raw_recv(s, &rx, timeout_ms);
	return ret == -EPIPE || ret == -EMSGSIZE ? -EPROTO : ret;
}

void
print_msg(const char *what)
{
	printf("  %s: got msg_id %#x cmd %u size %u flags %#x error %u (%s), %d fds\n", what,
		rx.hdr.msg_id, rx.hdr.cmd, rx.hdr.size, rx.hdr.flags, rx.hdr.error,
		strerror(rx.hdr.error), rx.nr_fds);
}

/* The next message must be the error reply to (id, cmd) with errno err. */
int
expect_error_reply(int s, uint16_t id, uint16_t cmd, uint32_t err, const char *what)
{
	int ret = rx_recv(s, RX_TIMEOUT_MS);

	if (ret < 0) {
		printf("  %s: expected error reply %u (%s), got no message: %d (%s)\n", what,
			err, strerror(err), ret, strerror(-ret));
		return TEST_FAILED;
	}
	if ((rx.hdr.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY ||
			!(rx.hdr.flags & VFIO_USER_F_ERROR) || rx.hdr.error != err ||
			rx.hdr.msg_id != id || rx.hdr.cmd != cmd ||
			rx.hdr.size != VFIO_USER_HDR_SIZE || rx.nr_fds != 0) {
		printf("  %s: expected error reply msg_id %#x cmd %u error %u (%s), header only\n",
			what, id, cmd, err, strerror(err));
		print_msg(what);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

/* The next message must be the success reply to (id, cmd), len payload bytes (-1: any). */
int
expect_reply(int s, uint16_t id, uint16_t cmd, int64_t len, const char *what)
{
	int ret = rx_recv(s, RX_TIMEOUT_MS);

	if (ret < 0) {
		printf("  %s: expected a reply, got no message: %d (%s)\n", what, ret,
			strerror(-ret));
		return TEST_FAILED;
	}
	if (rx.hdr.flags != VFIO_USER_F_TYPE_REPLY || rx.hdr.error != 0 ||
			rx.hdr.msg_id != id || rx.hdr.cmd != cmd ||
			(len >= 0 && rx.len != (uint64_t)len)) {
		printf("  %s: expected success reply msg_id %#x cmd %u payload %" PRId64 "\n",
			what, id, cmd, len);
		print_msg(what);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

/* The server must close without sending anything more. */
int
expect_closed(int s, int timeout_ms, const char *what)
{
	int ret = rx_recv(s, timeout_ms);

	if (ret == -ECONNRESET)
		return TEST_SUCCESS;
	if (ret == 0) {
		printf("  %s: expected the connection closed, got a message\n", what);
		print_msg(what);
	} else {
		printf("  %s: expected the connection closed, got %d (%s)\n", what, ret,
			strerror(-ret));
	}
	return TEST_FAILED;
}

/* Nothing may arrive for ms milliseconds. */
int
expect_silence(int s, int ms, const char *what)
{
	int ret = rx_recv(s, ms);

	if (ret == -ETIMEDOUT)
		return TEST_SUCCESS;
	if (ret == 0) {
		printf("  %s: expected no message, got one\n", what);
		print_msg(what);
	} else {
		printf("  %s: expected no message and an open connection, got %d (%s)\n", what,
			ret, strerror(-ret));
	}
	return TEST_FAILED;
}

/* Send a command and expect the error reply err. */
int
cmd_err(int s, uint16_t cmd, uint32_t flags, const void *p, uint32_t len, const int *fds,
		int nr_fds, uint32_t err, const char *what)
{
	uint16_t id = nid();
	int ret;

	ret = raw_send(s, id, cmd, flags, p, len, fds, nr_fds);
	if (ret < 0) {
		printf("  %s: send failed: %s\n", what, strerror(-ret));
		return TEST_FAILED;
	}
	return expect_error_reply(s, id, cmd, err, what);
}

/* Send a command and expect a success reply of len payload bytes (-1: any). */
int
cmd_ok(int s, uint16_t cmd, const void *p, uint32_t len, const int *fds, int nr_fds,
		int64_t rlen, const char *what)
{
	uint16_t id = nid();
	int ret;

	ret = raw_send(s, id, cmd, VFIO_USER_F_TYPE_COMMAND, p, len, fds, nr_fds);
	if (ret < 0) {
		printf("  %s: send failed: %s\n", what, strerror(-ret));
		return TEST_FAILED;
	}
	return expect_reply(s, id, cmd, rlen, what);
}

/* VERSION payload: major, minor, then json (NUL included) when not NULL. */
uint32_t
build_version(uint8_t *buf, uint16_t major, uint16_t minor, const char *json, bool nul)
{
	struct vfio_user_version v = { .major = major, .minor = minor };
	uint32_t len = sizeof(v);

	memcpy(buf, &v, sizeof(v));
	if (json != NULL) {
		size_t jl = strlen(json) + (nul ? 1 : 0);

		memcpy(buf + len, json, jl);
		len += jl;
	}
	return len;
}

/* Send VERSION with json (NULL: bare 0.0) and check a 0.0 reply. */
int
negotiate_with(int s, const char *json, const char *what)
{
	uint8_t buf[512];
	uint32_t len = build_version(buf, 0, 0, json, true);
	struct vfio_user_version v;
	uint16_t id = nid();

	if (raw_send(s, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0) < 0) {
		printf("  %s: VERSION send failed\n", what);
		return TEST_FAILED;
	}
	CHECK(expect_reply(s, id, VFIO_USER_VERSION, -1, what));
	if (rx.len < sizeof(v) || rx.nr_fds != 0) {
		printf("  %s: VERSION reply of %u bytes, %d fds\n", what, rx.len, rx.nr_fds);
		return TEST_FAILED;
	}
	memcpy(&v, rx.data, sizeof(v));
	if (v.major != 0 || v.minor != 0) {
		printf("  %s: VERSION reply %u.%u\n", what, v.major, v.minor);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

int
negotiate(int s)
{
	return negotiate_with(s, DEF_CAPS, "negotiate");
}

/* GET_INFO on s must describe dev. */
int
check_get_info(int s, const struct tdev *d, const char *what)
{
	struct vfio_user_device_info req = { .argsz = sizeof(req) }, rep;

	CHECK(cmd_ok(s, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req), NULL, 0, sizeof(rep),
		what));
	memcpy(&rep, rx.data, sizeof(rep));
	if (rep.argsz != sizeof(rep) ||
			rep.flags != (VFIO_DEVICE_FLAGS_PCI |
				(d->cfg.no_reset ? 0 : VFIO_DEVICE_FLAGS_RESET)) ||
			rep.num_regions != VFIO_PCI_NUM_REGIONS ||
			rep.num_irqs != VFIO_PCI_NUM_IRQS) {
		printf("  %s: GET_INFO argsz %u flags %#x regions %u irqs %u\n", what, rep.argsz,
			rep.flags, rep.num_regions, rep.num_irqs);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

/* A well-behaved client is served by dev_a. */
int
check_fresh_client(void)
{
	int s = raw_connect(dev_a.path);
	int ret;

	if (s < 0) {
		printf("  fresh client: connect failed: %s\n", strerror(-s));
		return TEST_FAILED;
	}
	ret = negotiate_with(s, DEF_CAPS, "fresh client VERSION");
	if (ret == TEST_SUCCESS)
		ret = check_get_info(s, &dev_a, "fresh client GET_INFO");
	close(s);
	return ret;
}

int
check_bystander(void)
{
	return check_get_info(b_sock, &dev_b, "bystander dev_b GET_INFO");
}

/* Region access request. */
uint32_t
build_access(uint8_t *buf, uint32_t region, uint64_t offset, uint32_t count, const void *data,
		uint32_t data_len)
{
	struct vfio_user_region_access a = { .offset = offset, .region = region, .count = count };

	memcpy(buf, &a, sizeof(a));
	if (data_len > 0)
		memcpy(buf + sizeof(a), data, data_len);
	return sizeof(a) + data_len;
}

int
region_read_ok(int s, uint32_t region, uint64_t offset, uint32_t count, void *out,
		const char *what)
{
	struct vfio_user_region_access a;
	uint8_t buf[sizeof(a)];

	build_access(buf, region, offset, count, NULL, 0);
	CHECK(cmd_ok(s, VFIO_USER_REGION_READ, buf, sizeof(buf), NULL, 0, sizeof(a) + count,
		what));
	memcpy(&a, rx.data, sizeof(a));
	if (a.offset != offset || a.region != region || a.count != count) {
		printf("  %s: REGION_READ reply offset %#" PRIx64 " region %u count %u\n", what,
			a.offset, a.region, a.count);
		return TEST_FAILED;
	}
	memcpy(out, rx.data + sizeof(a), count);
	return TEST_SUCCESS;
}

int
run_case(const char *name, hcase_fn fn, bool negotiated)
{
	struct leak_snap before, after;
	int s, ret, post;

	raw_msg_close_fds(&rx);
	dev_a.cb_bad_range = false;
	/* The short reply timeout, for this case only: a suite may mix other cases in. */
	if (rte_vfio_user_limits_set(&g_limits) != 0) {
		printf("  %s: limits_set failed\n", name);
		return TEST_FAILED;
	}
	leak_snap(&before);
	g_case_fds = before.fds;
	s = raw_connect(dev_a.path);
	if (s < 0) {
		printf("  %s: connect failed: %s\n", name, strerror(-s));
		return TEST_FAILED;
	}
	ret = negotiated ? negotiate(s) : TEST_SUCCESS;
	if (ret == TEST_SUCCESS)
		ret = fn(&s);
	else
		printf("  %s: could not negotiate\n", name);
	raw_msg_close_fds(&rx);
	raw_close(&s);

	/* The server recovers, the other device was not disturbed, nothing leaked. */
	post = check_fresh_client();
	if (post != TEST_SUCCESS)
		printf("  %s: the server does not serve a fresh client afterwards\n", name);
	if (check_bystander() != TEST_SUCCESS) {
		printf("  %s: dev_b stopped answering\n", name);
		post = TEST_FAILED;
	}
	if (leak_wait(&before, LEAK_WAIT_MS, &after) != 0) {
		printf("  %s: leak: %d fds and %d file mappings, %d and %d before\n", name,
			after.fds, after.maps, before.fds, before.maps);
		leak_dump_fds();
		post = TEST_FAILED;
	}
	rte_vfio_user_limits_set(&g_old_limits);
	return ret == TEST_SUCCESS ? post : ret;
}

int
hostile_setup(void)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = STALL_MS };

	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_old_limits), "limits_get");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_limits), "limits_get");
	TEST_ASSERT_EQUAL(g_limits.reply_timeout_ms, (uint32_t)STALL_MS, "reply timeout");
	TEST_ASSERT_SUCCESS(hdev_init(&dev_a, "a", true), "dev_a setup");
	TEST_ASSERT_SUCCESS(hdev_init(&dev_b, "b", false), "dev_b setup");
	b_sock = raw_connect(dev_b.path);
	TEST_ASSERT(b_sock >= 0, "connect to dev_b: %s", strerror(-b_sock));
	TEST_ASSERT_SUCCESS(negotiate_with(b_sock, DEF_CAPS, "dev_b VERSION"), "dev_b VERSION");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&g_old_limits), "limits_set");
	return TEST_SUCCESS;
}

void
hostile_teardown(void)
{
	raw_msg_close_fds(&rx);
	raw_close(&b_sock);
	tdev_destroy(&dev_a);
	tdev_destroy(&dev_b);
	rte_vfio_user_limits_set(&g_old_limits);
}

/* Everything the library creates once per process (the control thread and its epoll fd). */
static int
warm_up(void)
{
	struct tdev *d = &dev_a;
	int s, ret;

	ret = hdev_init(d, "w", true);
	if (ret < 0)
		return TEST_FAILED;
	s = raw_connect(d->path);
	ret = s >= 0 ? negotiate(s) : TEST_FAILED;
	if (ret == TEST_SUCCESS)
		ret = check_get_info(s, d, "warm-up GET_INFO");
	if (s >= 0)
		close(s);
	tdev_destroy(d);
	return ret;
}

int
hostile_suite_run(struct unit_test_suite *suite)
{
	int fds0, maps0, fds1, maps1, ret;
	uint64_t end;

	if (rx.data == NULL) {
		rx.data = malloc(RX_BUF_SIZE);
		rx.cap = RX_BUF_SIZE;
		TEST_ASSERT_NOT_NULL(rx.data, "no memory");
	}
	TEST_ASSERT_SUCCESS(warm_up(), "warm-up");
	fds0 = count_fds();
	/* File and memfd mappings: anonymous ones come and go with malloc arenas. */
	maps0 = count_maps_lines("/");
	ret = unit_test_suite_runner(suite);

	/* All sockets closed, both servers stopped and unregistered. */
	end = now_ms() + LEAK_WAIT_MS;
	do {
		fds1 = count_fds();
		maps1 = count_maps_lines("/");
		if (fds1 == fds0 && maps1 == maps0)
			break;
		usleep(10000);
	} while (now_ms() < end);
	printf("suite leak check: fds %d -> %d, maps lines %d -> %d\n", fds0, fds1, maps0,
		maps1);
	if (fds1 != fds0)
		leak_dump_fds();
	TEST_ASSERT_EQUAL(fds1, fds0, "descriptors leaked by the suite");
	TEST_ASSERT_EQUAL(maps1, maps0, "mappings leaked by the suite");
	return ret;
}

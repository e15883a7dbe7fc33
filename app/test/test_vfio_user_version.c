/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * VERSION: the server against hand-built proposals, the client against a
 * scripted server's replies.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_fake_peer.h"
#include "vfio_user_suite.h"

/*
 * Hostile client
 */

/*
 * Minimal JSON reader for the VERSION reply: builds a flat tree of nodes so
 * that tests can check exactly which keys the server sent.
 */
enum { J_OBJ, J_ARR, J_STR, J_NUM, J_BOOL, J_NULL };

struct jnode {
	int parent;
	char key[48];
	int type;
	uint64_t num;
	bool neg_or_frac; /* number that is not a non-negative integer */
	bool b;
};

#define J_MAX 64

static struct jnode jn[J_MAX];

static int jnr;

static const char *
j_ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *
j_str(const char *p, const char *end, char *out, size_t outlen)
{
	size_t o = 0;

	if (p >= end || *p != '"')
		return NULL;
	p++;
	while (p < end && *p != '"') {
		if (*p == '\\') {
			p++;
			if (p >= end)
				return NULL;
		}
		if (out != NULL && o + 1 < outlen)
			out[o++] = *p;
		p++;
	}
	if (p >= end)
		return NULL;
	if (out != NULL)
		out[o] = '\0';
	return p + 1;
}

static const char *j_value(const char *p, const char *end, int parent, const char *key,
		int depth);

static const char *
j_members(const char *p, const char *end, int self, bool obj, int depth)
{
	char key[48];

	p = j_ws(p + 1, end);
	if (p < end && *p == (obj ? '}' : ']'))
		return p + 1;
	for (;;) {
		key[0] = '\0';
		p = j_ws(p, end);
		if (obj) {
			p = j_str(p, end, key, sizeof(key));
			if (p == NULL)
				return NULL;
			p = j_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p++;
		}
		p = j_value(p, end, self, key, depth + 1);
		if (p == NULL)
			return NULL;
		p = j_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == (obj ? '}' : ']'))
			return p + 1;
		return NULL;
	}
}

static const char *
j_value(const char *p, const char *end, int parent, const char *key, int depth)
{
	struct jnode *n;
	int self;

	if (jnr >= J_MAX || depth > 8)
		return NULL;
	p = j_ws(p, end);
	if (p >= end)
		return NULL;
	self = jnr++;
	n = &jn[self];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	snprintf(n->key, sizeof(n->key), "%s", key);
	if (*p == '{' || *p == '[') {
		n->type = *p == '{' ? J_OBJ : J_ARR;
		return j_members(p, end, self, *p == '{', depth);
	}
	if (*p == '"') {
		n->type = J_STR;
		return j_str(p, end, NULL, 0);
	}
	if (end - p >= 4 && strncmp(p, "true", 4) == 0) {
		n->type = J_BOOL;
		n->b = true;
		return p + 4;
	}
	if (end - p >= 5 && strncmp(p, "false", 5) == 0) {
		n->type = J_BOOL;
		return p + 5;
	}
	if (end - p >= 4 && strncmp(p, "null", 4) == 0) {
		n->type = J_NULL;
		return p + 4;
	}
	if (*p == '-' || isdigit((unsigned char)*p)) {
		const char *q = p;

		n->type = J_NUM;
		if (*q == '-')
			n->neg_or_frac = true;
		n->num = strtoull(p, NULL, 10);
		while (q < end && (isdigit((unsigned char)*q) || strchr("-+.eE", *q) != NULL)) {
			if (strchr(".eE", *q) != NULL)
				n->neg_or_frac = true;
			q++;
		}
		return q;
	}
	return NULL;
}

/* Parse the VERSION reply in rx: 0 and the tree in jn, or -1. */
static int
j_parse_version_reply(void)
{
	const char *json = (const char *)rx.data + sizeof(struct vfio_user_version);
	size_t jlen = rx.len - sizeof(struct vfio_user_version);
	const char *end;

	jnr = 0;
	end = memchr(json, '\0', jlen);
	if (end == NULL) {
		printf("  VERSION reply JSON is not NUL-terminated\n");
		return -1;
	}
	if (j_value(json, end, -1, "", 0) == NULL || jn[0].type != J_OBJ) {
		printf("  VERSION reply JSON does not parse as an object: %s\n", json);
		return -1;
	}
	return 0;
}

static int
j_child(int parent, const char *key)
{
	int i;

	for (i = parent + 1; i < jnr; i++)
		if (jn[i].parent == parent && strcmp(jn[i].key, key) == 0)
			return i;
	return -1;
}

static int
j_nr_children(int parent)
{
	int i, n = 0;

	for (i = parent + 1; i < jnr; i++)
		if (jn[i].parent == parent)
			n++;
	return n;
}

/*
 * Check the VERSION reply in rx: major 0, minor 0, and a capabilities object
 * holding exactly @nkeys keys, all listed in @keys (NULL when none may come:
 * then no JSON, or JSON without capabilities or with an empty object).
 * Returns the node index of "capabilities" (or -1 when absent) via *caps.
 */
static int
check_version_reply(const char *const *keys, int nkeys, int *caps, const char *what)
{
	struct vfio_user_version v;
	int c, i;

	*caps = -1;
	if (rx.len < sizeof(v)) {
		printf("  %s: VERSION reply payload %u bytes\n", what, rx.len);
		return TEST_FAILED;
	}
	memcpy(&v, rx.data, sizeof(v));
	if (v.major != 0 || v.minor != 0) {
		printf("  %s: VERSION reply %u.%u, expected 0.0\n", what, v.major, v.minor);
		return TEST_FAILED;
	}
	if (rx.len == sizeof(v)) {
		if (nkeys == 0)
			return TEST_SUCCESS;
		printf("  %s: VERSION reply without JSON, expected %d capabilities\n", what,
			nkeys);
		return TEST_FAILED;
	}
	if (j_parse_version_reply() < 0)
		return TEST_FAILED;
	/* Top level: only "capabilities". */
	c = j_child(0, "capabilities");
	if (j_nr_children(0) != (c >= 0 ? 1 : 0)) {
		printf("  %s: VERSION reply has unexpected top-level keys: %.*s\n", what,
			(int)(rx.len - sizeof(v)), (const char *)rx.data + sizeof(v));
		return TEST_FAILED;
	}
	if (c < 0) {
		if (nkeys == 0)
			return TEST_SUCCESS;
		printf("  %s: VERSION reply without capabilities\n", what);
		return TEST_FAILED;
	}
	if (jn[c].type != J_OBJ || j_nr_children(c) != nkeys) {
		printf("  %s: capabilities has %d keys, expected %d: %.*s\n", what,
			j_nr_children(c), nkeys, (int)(rx.len - sizeof(v)),
			(const char *)rx.data + sizeof(v));
		return TEST_FAILED;
	}
	for (i = 0; i < nkeys; i++) {
		if (j_child(c, keys[i]) < 0) {
			printf("  %s: capability %s missing: %.*s\n", what, keys[i],
				(int)(rx.len - sizeof(v)), (const char *)rx.data + sizeof(v));
			return TEST_FAILED;
		}
	}
	*caps = c;
	return TEST_SUCCESS;
}

static int
cap_u64(int caps, const char *key, uint64_t want, const char *what)
{
	int n = j_child(caps, key);

	if (n < 0 || jn[n].type != J_NUM || jn[n].neg_or_frac || jn[n].num != want) {
		printf("  %s: capability %s: expected %" PRIu64 ", got %s%" PRIu64 "\n", what,
			key, want, n < 0 ? "(absent) " : jn[n].type != J_NUM ? "(not a number) " :
			"", n < 0 ? 0 : jn[n].num);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

/* VERSION */

static int
case_cmd_before_version(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	CHECK_SENT(raw_send(*sp, nid(), VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), NULL,
		0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "GET_INFO before VERSION");
}

static int
case_unknown_before_version(int *sp)
{
	CHECK_SENT(raw_send(*sp, nid(), 0xffff, 0, NULL, 0, NULL, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "unknown command before VERSION");
}

static int
version_expect_closed(int s, uint16_t major, uint16_t minor, const char *json, bool nul,
		const char *what)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, major, minor, json, nul);

	CHECK_SENT(raw_send(s, nid(), VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	return expect_closed(s, RX_TIMEOUT_MS, what);
}

static int
case_version_major1(int *sp)
{
	return version_expect_closed(*sp, 1, 0, DEF_CAPS, true, "VERSION 1.0");
}

static int
case_version_short(int *sp)
{
	uint8_t buf[2] = { 0, 0 };

	CHECK_SENT(raw_send(*sp, nid(), VFIO_USER_VERSION, 0, buf, sizeof(buf), NULL, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "VERSION with 2-byte payload");
}

/* Invalid JSON: EINVAL error reply, then close. */
static int
version_bad_json(int s, const char *json, bool nul, const char *what)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 0, json, nul);
	uint16_t id = nid();

	CHECK_SENT(raw_send(s, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	CHECK(expect_error_reply(s, id, VFIO_USER_VERSION, EINVAL, what));
	return expect_closed(s, RX_TIMEOUT_MS, what);
}

static int
case_version_json_malformed(int *sp)
{
	return version_bad_json(*sp, "{\"capabilities\":{\"max_msg_fds\":", true,
		"truncated JSON");
}

static int
case_version_json_no_nul(int *sp)
{
	return version_bad_json(*sp, "{\"capabilities\":{\"max_msg_fds\":8}}", false,
		"JSON without NUL");
}

static int
case_version_json_wrong_type(int *sp)
{
	return version_bad_json(*sp, "{\"capabilities\":{\"max_msg_fds\":\"x\"}}", true,
		"max_msg_fds string");
}

static int
case_version_json_not_object(int *sp)
{
	return version_bad_json(*sp, "[1,2,3]", true, "JSON array");
}

static int
case_version_caps_not_object(int *sp)
{
	return version_bad_json(*sp, "{\"capabilities\":5}", true, "capabilities number");
}

static int
case_version_wm_wrong_type(int *sp)
{
	return version_bad_json(*sp, "{\"capabilities\":{\"write_multiple\":1}}", true,
		"write_multiple number");
}

static int
case_version_unknown_keys(int *sp)
{
	static const char *const keys[] = { "pgsizes" };
	int caps;

	CHECK(negotiate_with(*sp, "{\"capabilities\":{\"pgsizes\":4096,\"frobnicate\":7,"
		"\"x-vendor\":{\"a\":[1,2]}},\"migration_v9\":true}", "unknown keys"));
	CHECK(check_version_reply(keys, 1, &caps, "unknown keys"));
	CHECK(cap_u64(caps, "pgsizes", 4096, "unknown keys"));
	return check_get_info(*sp, &dev_a, "GET_INFO after unknown keys");
}

static int
case_version_subset(int *sp)
{
	static const char *const keys[] = { "pgsizes" };
	int caps;

	CHECK(negotiate_with(*sp, "{\"capabilities\":{\"pgsizes\":4096}}", "pgsizes only"));
	CHECK(check_version_reply(keys, 1, &caps, "pgsizes only"));
	return cap_u64(caps, "pgsizes", 4096, "pgsizes only");
}

static int
case_version_cap_values(int *sp)
{
	static const char *const keys[] = {
		"max_msg_fds", "max_data_xfer_size", "max_dma_maps", "pgsizes",
	};
	int caps;

	CHECK(negotiate_with(*sp, "{\"capabilities\":{\"max_msg_fds\":3,"
		"\"max_data_xfer_size\":4096,\"max_dma_maps\":100000,\"pgsizes\":12287}}",
		"cap values"));
	CHECK(check_version_reply(keys, 4, &caps, "cap values"));
	CHECK(cap_u64(caps, "max_msg_fds", g_limits.max_msg_fds, "cap values"));
	CHECK(cap_u64(caps, "max_data_xfer_size", g_limits.max_data_xfer_size, "cap values"));
	CHECK(cap_u64(caps, "max_dma_maps", RTE_MIN(100000u, g_limits.max_dma_maps),
		"cap values"));
	/* 0x2fff & ~0xfff */
	return cap_u64(caps, "pgsizes", 0x2000, "cap values");
}

static int
case_version_dma_maps_min(int *sp)
{
	static const char *const keys[] = { "max_dma_maps" };
	int caps;

	CHECK(negotiate_with(*sp, "{\"capabilities\":{\"max_dma_maps\":7}}", "max_dma_maps 7"));
	CHECK(check_version_reply(keys, 1, &caps, "max_dma_maps 7"));
	return cap_u64(caps, "max_dma_maps", 7, "max_dma_maps 7");
}

static int
case_version_pgsizes_zero(int *sp)
{
	uint8_t buf[128];
	uint32_t len = build_version(buf, 0, 0, "{\"capabilities\":{\"pgsizes\":2048}}", true);
	uint16_t id = nid();

	/*
	 * Nothing left after masking the sub-4K sizes: "If the server requires
	 * a capability the client did not include, it closes the connection",
	 * after the error reply.
	 */
	CHECK_SENT(raw_send(*sp, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	CHECK(expect_error_reply(*sp, id, VFIO_USER_VERSION, EINVAL, "pgsizes 2048"));
	return expect_closed(*sp, RX_TIMEOUT_MS, "connection left open after pgsizes 2048");
}

/*
 * max_msg_fds: "Maximum number of file descriptors that can be received by
 * the sender in one message." A client that takes none cannot receive the
 * twin socket: twin mode is not granted and no descriptor is sent.
 */
static int
case_version_twin_no_fd_room(int *sp)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 0, "{\"capabilities\":{\"max_msg_fds\":0,"
		"\"twin_socket\":{\"supported\":true}}}", true);
	uint16_t id = nid();

	CHECK_SENT(raw_send(*sp, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	CHECK(expect_reply(*sp, id, VFIO_USER_VERSION, -1, "twin without descriptor room"));
	TEST_ASSERT_EQUAL(rx.nr_fds, 0, "%d descriptors sent to a client that takes none",
		rx.nr_fds);
	TEST_ASSERT(memmem(rx.data, rx.len, "fd_index", strlen("fd_index")) == NULL,
		"twin socket granted without a descriptor");
	return check_get_info(*sp, &dev_a, "GET_INFO without a twin");
}

static int
case_version_minor5(int *sp)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 5, DEF_CAPS, true);
	struct vfio_user_version v;
	uint16_t id = nid();

	CHECK_SENT(raw_send(*sp, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	CHECK(expect_reply(*sp, id, VFIO_USER_VERSION, -1, "VERSION 0.5"));
	TEST_ASSERT(rx.len >= sizeof(v), "VERSION reply of %u bytes", rx.len);
	memcpy(&v, rx.data, sizeof(v));
	TEST_ASSERT(v.major == 0 && v.minor == 0, "VERSION 0.5 answered %u.%u", v.major, v.minor);
	return check_get_info(*sp, &dev_a, "GET_INFO after VERSION 0.5");
}

static int
case_version_bare(int *sp)
{
	uint8_t data[8], want[8];
	int caps;

	memset(want, 0x3c, sizeof(want));
	memcpy(dev_a.base_mem + 0x80, want, sizeof(want));
	CHECK(negotiate_with(*sp, NULL, "bare VERSION 0.0"));
	CHECK(check_version_reply(NULL, 0, &caps, "bare VERSION 0.0"));
	CHECK(check_get_info(*sp, &dev_a, "GET_INFO after bare VERSION"));
	CHECK(region_read_ok(*sp, HDEV_BAR_RW, 0x80, sizeof(data), data,
		"REGION_READ after bare VERSION"));
	TEST_ASSERT(memcmp(data, want, sizeof(data)) == 0, "BAR1 data differs");
	return TEST_SUCCESS;
}

static int
case_version_twice(int *sp)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 0, DEF_CAPS, true);

	CHECK(cmd_err(*sp, VFIO_USER_VERSION, 0, buf, len, NULL, 0, EINVAL, "second VERSION"));
	return check_get_info(*sp, &dev_a, "GET_INFO after second VERSION");
}

HCASE(cmd_before_version, false)
HCASE(unknown_before_version, false)
HCASE(version_major1, false)
HCASE(version_short, false)
HCASE(version_json_malformed, false)
HCASE(version_json_no_nul, false)
HCASE(version_json_wrong_type, false)
HCASE(version_json_not_object, false)
HCASE(version_caps_not_object, false)
HCASE(version_wm_wrong_type, false)
HCASE(version_unknown_keys, false)
HCASE(version_subset, false)
HCASE(version_cap_values, false)
HCASE(version_dma_maps_min, false)
HCASE(version_pgsizes_zero, false)
HCASE(version_twin_no_fd_room, false)
HCASE(version_minor5, false)
HCASE(version_bare, false)
HCASE(version_twice, true)

/*
 * A client leaving max_data_xfer_size or max_dma_maps out assumes the
 * specification's default. "If the server requires a capability the client
 * did not include, it closes the connection": a limit of ours below that
 * default is such a requirement. @omitted leaves the key out, @proposed has
 * it and gets @value back.
 */
static int
lowered_limit(const char *path, const char *omitted, const char *proposed, const char *key,
		uint32_t value)
{
	struct rmsg m = { .nr_fds = 0 };
	char want[64];
	int s;

	s = raw_version(path, omitted, &m);
	TEST_ASSERT(s >= 0, "no VERSION reply");
	rmsg_close_fds(&m);
	TEST_ASSERT(m.hdr.flags & VFIO_USER_F_ERROR, "VERSION without %s accepted", key);
	TEST_ASSERT(closed_now(s) == 0, "connection left open");
	close(s);
	s = raw_version(path, NULL, &m);
	TEST_ASSERT(s >= 0, "no VERSION reply");
	rmsg_close_fds(&m);
	TEST_ASSERT(m.hdr.flags & VFIO_USER_F_ERROR, "VERSION without capabilities accepted");
	TEST_ASSERT(closed_now(s) == 0, "connection left open");
	close(s);
	s = raw_version(path, proposed, &m);
	TEST_ASSERT(s >= 0, "no VERSION reply");
	rmsg_close_fds(&m);
	close(s);
	TEST_ASSERT(!(m.hdr.flags & VFIO_USER_F_ERROR), "VERSION with %s refused", key);
	m.data[RTE_MIN(m.len, (uint32_t)sizeof(m.data) - 1)] = '\0';
	snprintf(want, sizeof(want), "\"%s\":%u", key, value);
	TEST_ASSERT(m.len > 4 && strstr((char *)m.data + 4, want) != NULL, "reply %s lacks %s",
		m.len > 4 ? (char *)m.data + 4 : "", want);
	return TEST_SUCCESS;
}

static int
lowered_limit_dev(const struct rte_vfio_user_limits *lim, const char *proposed,
		const char *key, uint32_t value)
{
	char path[PATH_LEN];
	struct tdev *d;
	int ret;

	TEST_ASSERT_SUCCESS(set_limits(lim), "limits");
	d = dev_new(path, "lim", true);
	TEST_ASSERT_NOT_NULL(d, "cannot create the test device");
	ret = lowered_limit(path, "{\"capabilities\":{\"max_msg_fds\":1}}", proposed, key,
		value);
	dev_free(d);
	return ret;
}

static int
test_version_lowered_limits(void)
{
	struct rte_vfio_user_limits lim = { .max_data_xfer_size = 4096 };
	int ret;

	ret = lowered_limit_dev(&lim, "{\"capabilities\":{\"max_data_xfer_size\":1048576}}",
		"max_data_xfer_size", 4096);
	if (ret == TEST_SUCCESS) {
		lim.max_data_xfer_size = 0;
		lim.max_dma_maps = 8;
		ret = lowered_limit_dev(&lim, "{\"capabilities\":{\"max_dma_maps\":65535}}",
			"max_dma_maps", 8);
	}
	rte_vfio_user_limits_set(&g_def_limits);
	return ret;
}

/*
 * Against a scripted server
 */

/*
 * Negotiation
 */

/* The client's proposal is checked by srv_get_version(); a reply per case. */
enum ver_case {
	VER_BAD_MAJOR,
	VER_MINOR_HIGHER,
	VER_CAPS_GARBAGE,
	VER_CAPS_NO_NUL,
	VER_SHORT,
	VER_TWIN_NO_IDX,
	VER_TWIN_IDX_RANGE,
	VER_TWIN_NOT_SOCK,
	VER_ERROR,
	VER_SILENT,
	VER_CLOSE,
};

static int
scr_version(struct fake *f)
{
	struct srv_msg *m;
	int sv[2], efd, ret = -1;
	uint16_t two = 0;

	if (f->opt == VER_CLOSE)
		return 0; /* the thread closes the connection at once */
	m = malloc(sizeof(*m));
	SRV_CHECK(f, m != NULL, "no memory");
	if (srv_get_version(f, m) < 0)
		goto out;

	switch (f->opt) {
	case VER_BAD_MAJOR:
		ret = srv_send_version(f, m, 1, 0, CAPS_PLAIN, sizeof(CAPS_PLAIN), NULL, 0);
		break;
	case VER_MINOR_HIGHER:
		ret = srv_send_version(f, m, 0, 1, CAPS_PLAIN, sizeof(CAPS_PLAIN), NULL, 0);
		break;
	case VER_CAPS_GARBAGE:
		ret = srv_send_version(f, m, 0, 0, CAPS_GARBAGE, sizeof(CAPS_GARBAGE), NULL, 0);
		break;
	case VER_CAPS_NO_NUL:
		ret = srv_send_version(f, m, 0, 0, CAPS_NO_NUL, strlen(CAPS_NO_NUL), NULL, 0);
		break;
	case VER_SHORT:
		ret = srv_reply(f, m, &two, sizeof(two), NULL, 0);
		break;
	case VER_TWIN_NO_IDX:
	case VER_TWIN_IDX_RANGE:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			srv_fail(f, __LINE__, "socketpair: %s", strerror(errno));
			break;
		}
		if (f->opt == VER_TWIN_NO_IDX)
			ret = srv_send_version(f, m, 0, 0, CAPS_TWIN_NO_IDX,
				sizeof(CAPS_TWIN_NO_IDX), &sv[1], 1);
		else
			ret = srv_send_version(f, m, 0, 0, CAPS_TWIN_IDX1,
				sizeof(CAPS_TWIN_IDX1), &sv[1], 1);
		close(sv[1]);
		/* The client must close the descriptor it was given. */
		if (ret == 0)
			ret = srv_expect_eof(f, sv[0]);
		close(sv[0]);
		break;
	case VER_TWIN_NOT_SOCK:
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0) {
			srv_fail(f, __LINE__, "eventfd: %s", strerror(errno));
			break;
		}
		ret = srv_send_version(f, m, 0, 0, CAPS_TWIN, sizeof(CAPS_TWIN), &efd, 1);
		close(efd);
		break;
	case VER_ERROR:
		ret = srv_error(f, m, EINVAL);
		break;
	case VER_SILENT:
		ret = 0;
		break;
	}
	/* A failed attach closes the connection. */
	if (ret == 0)
		ret = srv_expect_eof(f, f->fd);
out:
	free(m);
	return ret;
}

static int g_attach_err1, g_attach_err2;

static bool g_attach_slow;

static int
body_attach_fail(struct fake *f, int *cid)
{
	uint64_t t0, el;
	int ret;

	RTE_SET_USED(cid);
	t0 = now_ms();
	rte_errno = 0;
	ret = rte_vfio_user_attach_dev(f->path);
	el = now_ms() - t0;
	if (ret >= 0)
		*cid = ret;
	TEST_ASSERT(ret == g_attach_err1 || ret == g_attach_err2,
		"attach returned %d (%s), want %d (%s) or %d", ret, strerror(-ret),
		g_attach_err1, strerror(-g_attach_err1), g_attach_err2);
	TEST_ASSERT_EQUAL(rte_errno, -ret, "rte_errno %d", rte_errno);
	if (g_attach_slow)
		TEST_ASSERT(el >= SLOW_MIN_MS && el <= SLOW_MAX_MS,
			"timed out after %" PRIu64 " ms (timeout %d ms)", el, REPLY_TIMEOUT_MS);
	else
		TEST_ASSERT(el < FAST_MS, "failed after %" PRIu64 " ms, not at once", el);
	return TEST_SUCCESS;
}

static int
attach_fail_case(enum ver_case vc, int err1, int err2, bool slow)
{
	g_attach_err1 = err1;
	g_attach_err2 = err2;
	g_attach_slow = slow;
	return fake_run_case(scr_version, vc, body_attach_fail);
}

static int
test_version_bad_major(void)
{
	return attach_fail_case(VER_BAD_MAJOR, -EPROTO, -EPROTO, false);
}

static int
test_version_minor_higher(void)
{
	return attach_fail_case(VER_MINOR_HIGHER, -EPROTO, -EPROTO, false);
}

static int
test_version_caps_garbage(void)
{
	return attach_fail_case(VER_CAPS_GARBAGE, -EPROTO, -EPROTO, false);
}

static int
test_version_caps_no_nul(void)
{
	return attach_fail_case(VER_CAPS_NO_NUL, -EPROTO, -EPROTO, false);
}

static int
test_version_short(void)
{
	return attach_fail_case(VER_SHORT, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_no_fd_index(void)
{
	return attach_fail_case(VER_TWIN_NO_IDX, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_fd_index_range(void)
{
	return attach_fail_case(VER_TWIN_IDX_RANGE, -EPROTO, -EPROTO, false);
}

static int
test_version_twin_not_socket(void)
{
	return attach_fail_case(VER_TWIN_NOT_SOCK, -EPROTO, -EPROTO, false);
}

static int
test_version_error_reply(void)
{
	return attach_fail_case(VER_ERROR, -EINVAL, -EINVAL, false);
}

static int
test_version_no_reply(void)
{
	return attach_fail_case(VER_SILENT, -ETIMEDOUT, -ETIMEDOUT, true);
}

static int
test_version_server_closes(void)
{
	return attach_fail_case(VER_CLOSE, -ECONNRESET, -ENOTCONN, false);
}

static int
body_version_split(struct fake *f, int *cid)
{
	uint8_t buf[SPLIT_LEN], exp[SPLIT_LEN];

	ATTACH(f, cid);
	tdev_fill(exp, SPLIT_XFER, 0);
	tdev_fill(exp + SPLIT_XFER, SPLIT_LEN - SPLIT_XFER, SPLIT_XFER);
	EXPECT_CALL(rte_vfio_user_region_read(*cid, 1, 0, buf, SPLIT_LEN), SPLIT_LEN,
		"region read split at the server's max_data_xfer_size");
	TEST_ASSERT(memcmp(buf, exp, SPLIT_LEN) == 0, "split region read data");
	return check_dev_info(*cid);
}

static int
test_version_bare(void)
{
	return fake_run_case(scr_version_good, 0, body_version_bare);
}

static int
test_version_unknown_keys(void)
{
	return fake_run_case(scr_version_good, 1, body_version_split);
}

static struct unit_test_suite vfio_user_version_suite = {
	.suite_name = "vfio-user VERSION",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("command before VERSION", tc_cmd_before_version),
		TEST_CASE_NAMED("unknown command before VERSION", tc_unknown_before_version),
		TEST_CASE_NAMED("VERSION major 1", tc_version_major1),
		TEST_CASE_NAMED("VERSION payload < 4", tc_version_short),
		TEST_CASE_NAMED("VERSION malformed JSON", tc_version_json_malformed),
		TEST_CASE_NAMED("VERSION JSON without NUL", tc_version_json_no_nul),
		TEST_CASE_NAMED("VERSION max_msg_fds string", tc_version_json_wrong_type),
		TEST_CASE_NAMED("VERSION JSON array", tc_version_json_not_object),
		TEST_CASE_NAMED("VERSION capabilities number", tc_version_caps_not_object),
		TEST_CASE_NAMED("VERSION write_multiple number", tc_version_wm_wrong_type),
		TEST_CASE_NAMED("VERSION unknown keys", tc_version_unknown_keys),
		TEST_CASE_NAMED("VERSION caps subset", tc_version_subset),
		TEST_CASE_NAMED("VERSION cap values", tc_version_cap_values),
		TEST_CASE_NAMED("VERSION max_dma_maps min", tc_version_dma_maps_min),
		TEST_CASE_NAMED("VERSION pgsizes below 4K", tc_version_pgsizes_zero),
		TEST_CASE_NAMED("VERSION twin without descriptor room", tc_version_twin_no_fd_room),
		TEST_CASE(test_version_lowered_limits),
		TEST_CASE_NAMED("VERSION minor 5", tc_version_minor5),
		TEST_CASE_NAMED("VERSION bare 0.0", tc_version_bare),
		TEST_CASE_NAMED("second VERSION", tc_version_twice),
		TEST_CASE(test_version_bad_major),
		TEST_CASE(test_version_minor_higher),
		TEST_CASE(test_version_caps_garbage),
		TEST_CASE(test_version_caps_no_nul),
		TEST_CASE(test_version_short),
		TEST_CASE(test_version_twin_no_fd_index),
		TEST_CASE(test_version_twin_fd_index_range),
		TEST_CASE(test_version_twin_not_socket),
		TEST_CASE(test_version_error_reply),
		TEST_CASE(test_version_no_reply),
		TEST_CASE(test_version_server_closes),
		TEST_CASE(test_version_bare),
		TEST_CASE(test_version_unknown_keys),
		TEST_CASE_NAMED("fake server: suite leaks", fake_suite_leaks),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_version_autotest, vfio_user_version_suite,
	VFU_CASES_HOSTILE | VFU_CASES_FAKE);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Hostile client: hand-built messages over a raw UNIX socket against the
 * server half of the library. Every case asserts the exact answer the
 * protocol readings of the brief prescribe (an error reply with a given
 * errno, a success reply with given contents, silence, or a closed
 * connection). After each case a fresh well-behaved client must be served,
 * a second device must keep answering on its own session, and no descriptor
 * or mapping may be left behind.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test.h"
#include "test_vfio_user_common.h"

#define RX_TIMEOUT_MS 1000     /* a reply or a close must come within this */
#define SILENCE_MS 200         /* how long "no reply" is watched */
#define STALL_MS 300           /* reply_timeout_ms set for the suite */
#define LEAK_WAIT_MS 2000
#define MAX_RX_FDS 64
#define RX_BUF_SIZE (4u << 20)

#define BAR0_SIZE 0x1000       /* RW, base memory */
#define BAR1_SIZE 0x1000       /* read-only, base memory */
#define BAR2_SIZE (2u << 20)   /* RW, base memory, larger than max_data_xfer_size */
#define CFG_SIZE 256           /* config space, callback */
#define MSIX_COUNT 4

#define VFIO_USER_DMA_UNMAP_ALL 2u  /* VFIO_DMA_UNMAP_FLAG_ALL */

#define DEF_CAPS "{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576," \
	"\"pgsizes\":4096,\"max_dma_maps\":65535}}"
#define WM_CAPS "{\"capabilities\":{\"max_msg_fds\":16,\"pgsizes\":4096," \
	"\"write_multiple\":true}}"

/*
 * Emulated device
 */

struct hdev {
	char path[108];
	int id;
	bool reset_flag;
	uint8_t *bar0;
	uint8_t *bar1;
	uint8_t *bar2;
	uint8_t cfg[CFG_SIZE];
	struct vfio_region_info rinfo[VFIO_PCI_NUM_REGIONS];
	struct rte_vfio_user_reg_info regs[VFIO_PCI_NUM_REGIONS];
	struct vfio_irq_info irqs[VFIO_PCI_NUM_IRQS];
	unsigned int resets;   /* atomics: written on the control thread */
	unsigned int news;
	unsigned int destroys;
	bool cfg_bad_range;    /* the library called the callback out of range */
};

static struct hdev dev_a; /* the target */
static struct hdev dev_b; /* the bystander */
static int b_sock = -1;   /* long-lived session with dev_b */
static uint8_t *rx_buf;
static uint16_t g_next_id = 0x100;
static struct rte_vfio_user_limits g_old_limits, g_limits;
static int g_case_fds;    /* descriptors open before the case connected */

static struct hdev *
hdev_by_id(int id)
{
	if (id == dev_a.id)
		return &dev_a;
	if (id == dev_b.id)
		return &dev_b;
	return NULL;
}

static int
hdev_new(int id)
{
	struct hdev *d = hdev_by_id(id);

	if (d != NULL)
		__atomic_fetch_add(&d->news, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void
hdev_destroy_cb(int id)
{
	struct hdev *d = hdev_by_id(id);

	if (d != NULL)
		__atomic_fetch_add(&d->destroys, 1, __ATOMIC_SEQ_CST);
}

static int
hdev_reset(int id)
{
	struct hdev *d = hdev_by_id(id);

	if (d != NULL)
		__atomic_fetch_add(&d->resets, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct rte_vfio_user_notify_ops hdev_ops = {
	.new_device = hdev_new,
	.destroy_device = hdev_destroy_cb,
	.reset_device = hdev_reset,
};

static ssize_t
hdev_cfg_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct hdev *d = reg->priv;

	RTE_SET_USED(dev_id);
	if (count == 0 || offset >= CFG_SIZE || count > CFG_SIZE - offset) {
		d->cfg_bad_range = true;
		return -ERANGE;
	}
	if (is_write) {
		/* Vendor and device id are read-only. */
		if (offset < 4)
			return -EPERM;
		memcpy(d->cfg + offset, buf, count);
	} else {
		memcpy(buf, d->cfg + offset, count);
	}
	return count;
}

static void
hdev_free(struct hdev *d)
{
	if (d->id >= 0)
		rte_vfio_user_unregister(d->path);
	d->id = -1;
	unlink(d->path);
	free(d->bar0);
	free(d->bar1);
	free(d->bar2);
	d->bar0 = d->bar1 = d->bar2 = NULL;
}

static int
hdev_init(struct hdev *d, const char *tag, bool reset_flag)
{
	struct vfio_device_info info = {
		.argsz = sizeof(info),
		.flags = VFIO_DEVICE_FLAGS_PCI | (reset_flag ? VFIO_DEVICE_FLAGS_RESET : 0),
		.num_regions = VFIO_PCI_NUM_REGIONS,
		.num_irqs = VFIO_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_regions regs;
	struct rte_vfio_user_irq_info irqs;
	uint32_t i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->id = -1;
	d->reset_flag = reset_flag;
	snprintf(d->path, sizeof(d->path), "/tmp/vfu-hostile-%d-%s.sock", (int)getpid(), tag);
	unlink(d->path);
	d->bar0 = calloc(1, BAR0_SIZE);
	d->bar1 = malloc(BAR1_SIZE);
	d->bar2 = calloc(1, BAR2_SIZE);
	if (d->bar0 == NULL || d->bar1 == NULL || d->bar2 == NULL) {
		hdev_free(d);
		return -ENOMEM;
	}
	tdev_fill(d->bar1, BAR1_SIZE, 0xb1);
	d->cfg[0] = 0xf4;
	d->cfg[1] = 0x1a;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		d->rinfo[i].argsz = sizeof(d->rinfo[i]);
		d->rinfo[i].index = i;
		d->regs[i].info = &d->rinfo[i];
		d->regs[i].fd = -1;
		d->regs[i].priv = d;
	}
	d->rinfo[VFIO_PCI_BAR0_REGION_INDEX].flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE;
	d->rinfo[VFIO_PCI_BAR0_REGION_INDEX].size = BAR0_SIZE;
	d->regs[VFIO_PCI_BAR0_REGION_INDEX].base = d->bar0;
	d->rinfo[VFIO_PCI_BAR1_REGION_INDEX].flags = VFIO_REGION_INFO_FLAG_READ;
	d->rinfo[VFIO_PCI_BAR1_REGION_INDEX].size = BAR1_SIZE;
	d->regs[VFIO_PCI_BAR1_REGION_INDEX].base = d->bar1;
	d->rinfo[VFIO_PCI_BAR2_REGION_INDEX].flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE;
	d->rinfo[VFIO_PCI_BAR2_REGION_INDEX].size = BAR2_SIZE;
	d->regs[VFIO_PCI_BAR2_REGION_INDEX].base = d->bar2;
	d->rinfo[VFIO_PCI_CONFIG_REGION_INDEX].flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE;
	d->rinfo[VFIO_PCI_CONFIG_REGION_INDEX].size = CFG_SIZE;
	d->regs[VFIO_PCI_CONFIG_REGION_INDEX].rw = hdev_cfg_rw;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		d->irqs[i].argsz = sizeof(d->irqs[i]);
		d->irqs[i].index = i;
	}
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		VFIO_IRQ_INFO_AUTOMASKED;
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX].count = 1;
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = MSIX_COUNT;

	ret = rte_vfio_user_register(d->path, &hdev_ops);
	if (ret < 0)
		goto err;
	d->id = ret;
	ret = rte_vfio_user_set_dev_info(d->path, &info);
	if (ret < 0)
		goto err;
	regs.reg_num = VFIO_PCI_NUM_REGIONS;
	regs.reg_info = d->regs;
	ret = rte_vfio_user_set_reg_info(d->path, &regs);
	if (ret < 0)
		goto err;
	irqs.irq_num = VFIO_PCI_NUM_IRQS;
	irqs.irq_info = d->irqs;
	ret = rte_vfio_user_set_irq_info(d->path, &irqs);
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_start(d->path);
	if (ret < 0)
		goto err;
	return 0;
err:
	printf("device %s setup failed: %d (%s)\n", d->path, ret, strerror(-ret));
	hdev_free(d);
	return ret;
}

/*
 * Raw client
 */

struct rmsg {
	struct vfio_user_hdr hdr;
	uint32_t len;   /* payload bytes */
	uint8_t *data;  /* rx_buf */
	int nr_fds;
	int fds[MAX_RX_FDS];
};

static struct rmsg rx; /* the last message received */

static uint16_t
nid(void)
{
	return g_next_id++;
}

static void
rmsg_close_fds(struct rmsg *r)
{
	int i;

	for (i = 0; i < r->nr_fds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	r->nr_fds = 0;
}

static void
raw_close(int *s)
{
	if (*s >= 0)
		close(*s);
	*s = -1;
}

static int
raw_send_bytes(int s, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	return raw_sendv(s, &iov, 1, NULL, 0);
}

/* A message whose header says exactly what is sent. */
static int
send_msg(int s, uint16_t id, uint16_t cmd, uint32_t flags, const void *payload, uint32_t len,
		const int *fds, int nr_fds)
{
	struct vfio_user_hdr hdr = {
		.msg_id = id,
		.cmd = cmd,
		.size = VFIO_USER_HDR_SIZE + len,
		.flags = flags,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)(uintptr_t)payload, .iov_len = len },
	};

	return raw_sendv(s, iov, len > 0 ? 2 : 1, fds, nr_fds);
}

static int
wait_in(int s, uint64_t deadline)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	uint64_t now = now_ms();
	int ret;

	if (now >= deadline)
		return -ETIMEDOUT;
	ret = poll(&pfd, 1, (int)(deadline - now));
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	return 0;
}

/*
 * Read exactly len bytes, collecting descriptors. Returns 0, -ETIMEDOUT,
 * -ECONNRESET (end of stream or reset) or another -errno.
 */
static int
recv_exact(int s, void *buf, size_t len, struct rmsg *r, uint64_t deadline)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_RX_FDS)];
	size_t got = 0;
	struct cmsghdr *c;
	ssize_t n;
	int ret;

	while (got < len) {
		struct iovec iov = { .iov_base = (uint8_t *)buf + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};

		ret = wait_in(s, deadline);
		if (ret < 0)
			return ret;
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		}
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			int nfd, i;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (r->nr_fds < MAX_RX_FDS)
					r->fds[r->nr_fds++] = fd;
				else
					close(fd);
			}
		}
		if (n == 0)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

/*
 * Receive one message into rx. 0; -ETIMEDOUT when none came; -ECONNRESET when
 * the server closed at a message boundary; -EPROTO for a broken message.
 */
static int
raw_recv(int s, int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int ret;

	rmsg_close_fds(&rx);
	rx.len = 0;
	rx.data = rx_buf;
	ret = recv_exact(s, &rx.hdr, sizeof(rx.hdr), &rx, deadline);
	if (ret < 0)
		return ret;
	if (rx.hdr.size < VFIO_USER_HDR_SIZE || rx.hdr.size - VFIO_USER_HDR_SIZE > RX_BUF_SIZE)
		return -EPROTO;
	rx.len = rx.hdr.size - VFIO_USER_HDR_SIZE;
	ret = recv_exact(s, rx.data, rx.len, &rx, deadline);
	if (ret == -ECONNRESET)
		return -EPROTO;
	return ret;
}

static void
print_msg(const char *what)
{
	printf("  %s: got msg_id %#x cmd %u size %u flags %#x error %u (%s), %d fds\n", what,
		rx.hdr.msg_id, rx.hdr.cmd, rx.hdr.size, rx.hdr.flags, rx.hdr.error,
		strerror(rx.hdr.error), rx.nr_fds);
}

/* The next message must be the error reply to (id, cmd) with errno err. */
static int
expect_error_reply(int s, uint16_t id, uint16_t cmd, uint32_t err, const char *what)
{
	int ret = raw_recv(s, RX_TIMEOUT_MS);

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
static int
expect_reply(int s, uint16_t id, uint16_t cmd, int64_t len, const char *what)
{
	int ret = raw_recv(s, RX_TIMEOUT_MS);

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
static int
expect_closed(int s, int timeout_ms, const char *what)
{
	int ret = raw_recv(s, timeout_ms);

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
static int
expect_silence(int s, int ms, const char *what)
{
	int ret = raw_recv(s, ms);

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
static int
cmd_err(int s, uint16_t cmd, uint32_t flags, const void *p, uint32_t len, const int *fds,
		int nr_fds, uint32_t err, const char *what)
{
	uint16_t id = nid();
	int ret;

	ret = send_msg(s, id, cmd, flags, p, len, fds, nr_fds);
	if (ret < 0) {
		printf("  %s: send failed: %s\n", what, strerror(-ret));
		return TEST_FAILED;
	}
	return expect_error_reply(s, id, cmd, err, what);
}

/* Send a command and expect a success reply of len payload bytes (-1: any). */
static int
cmd_ok(int s, uint16_t cmd, const void *p, uint32_t len, const int *fds, int nr_fds,
		int64_t rlen, const char *what)
{
	uint16_t id = nid();
	int ret;

	ret = send_msg(s, id, cmd, VFIO_USER_F_TYPE_COMMAND, p, len, fds, nr_fds);
	if (ret < 0) {
		printf("  %s: send failed: %s\n", what, strerror(-ret));
		return TEST_FAILED;
	}
	return expect_reply(s, id, cmd, rlen, what);
}

#define CHECK(expr) do { \
	if ((expr) != TEST_SUCCESS) { \
		printf("  (line %d) %s\n", __LINE__, #expr); \
		return TEST_FAILED; \
	} \
} while (0)

/* A send that must succeed (0 or -errno). */
#define CHECK_SENT(expr) do { \
	int _r = (expr); \
	if (_r != 0) { \
		printf("  (line %d) send failed: %s\n", __LINE__, strerror(-_r)); \
		return TEST_FAILED; \
	} \
} while (0)

/* VERSION payload: major, minor, then json (NUL included) when not NULL. */
static uint32_t
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

/* Send VERSION with json (NULL: bare 0.0) and check a 0.0 reply. */
static int
negotiate_with(int s, const char *json, const char *what)
{
	uint8_t buf[512];
	uint32_t len = build_version(buf, 0, 0, json, true);
	struct vfio_user_version v;
	uint16_t id = nid();

	if (send_msg(s, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0) < 0) {
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

static int
negotiate(int s)
{
	return negotiate_with(s, DEF_CAPS, "negotiate");
}

/* GET_INFO on s must describe dev. */
static int
check_get_info(int s, const struct hdev *d, const char *what)
{
	struct vfio_user_device_info req = { .argsz = sizeof(req) }, rep;

	CHECK(cmd_ok(s, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req), NULL, 0, sizeof(rep),
		what));
	memcpy(&rep, rx.data, sizeof(rep));
	if (rep.argsz != sizeof(rep) ||
			rep.flags != (VFIO_DEVICE_FLAGS_PCI |
				(d->reset_flag ? VFIO_DEVICE_FLAGS_RESET : 0)) ||
			rep.num_regions != VFIO_PCI_NUM_REGIONS ||
			rep.num_irqs != VFIO_PCI_NUM_IRQS) {
		printf("  %s: GET_INFO argsz %u flags %#x regions %u irqs %u\n", what, rep.argsz,
			rep.flags, rep.num_regions, rep.num_irqs);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

/* A well-behaved client is served by dev_a. */
static int
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

static int
check_bystander(void)
{
	return check_get_info(b_sock, &dev_b, "bystander dev_b GET_INFO");
}

/* Region access request. */
static uint32_t
build_access(uint8_t *buf, uint32_t region, uint64_t offset, uint32_t count, const void *data,
		uint32_t data_len)
{
	struct vfio_user_region_access a = { .offset = offset, .region = region, .count = count };

	memcpy(buf, &a, sizeof(a));
	if (data_len > 0)
		memcpy(buf + sizeof(a), data, data_len);
	return sizeof(a) + data_len;
}

static int
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

static int
count_fds(void)
{
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Wait until the process has @want descriptors open. */
static int
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

/* Lines of /proc/self/maps, all of them or those containing @needle. */
static int
count_maps_lines(const char *needle)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (needle == NULL || strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Descriptors whose target contains @needle. */
static int
count_fds_named(const char *needle)
{
	char path[300], target[300];
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");
	ssize_t len;
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strstr(target, needle) != NULL)
			n++;
	}
	closedir(dir);
	return n;
}

static void
close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int
open_eventfds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0) {
			close_fds(fds, i);
			return -1;
		}
	}
	return 0;
}

/*
 * Cases. Each gets a connected raw socket in *sp (negotiated or not, as the
 * table says); a case that closes it sets *sp to -1.
 */

/* 1. Framing */

static int
case_short_header(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };

	/* Half a header, then end of stream: the server must close, not wait or reply. */
	CHECK_SENT(raw_send_bytes(*sp, &hdr, 8));
	shutdown(*sp, SHUT_WR);
	return expect_closed(*sp, RX_TIMEOUT_MS, "half header then EOF");
}

static int
case_short_header_close(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };

	/* Close right after half a header; the runner checks the server recovers. */
	CHECK_SENT(raw_send_bytes(*sp, &hdr, 8));
	raw_close(sp);
	return TEST_SUCCESS;
}

static int
case_short_payload_eof(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };
	uint8_t buf[sizeof(hdr) + 4] = { 0 };

	memcpy(buf, &hdr, sizeof(hdr));
	CHECK_SENT(raw_send_bytes(*sp, buf, sizeof(buf)));
	shutdown(*sp, SHUT_WR);
	return expect_closed(*sp, RX_TIMEOUT_MS, "header + partial payload then EOF");
}

static int
send_raw_hdr(int s, uint32_t size)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = size };
	uint8_t buf[64] = { 0 };

	/* The header plus some payload bytes, whatever size says. */
	memcpy(buf, &hdr, sizeof(hdr));
	CHECK_SENT(raw_send_bytes(s, buf, sizeof(buf)));
	return TEST_SUCCESS;
}

static int
case_size_below_header(int *sp)
{
	CHECK(send_raw_hdr(*sp, 15));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 15");
}

static int
case_size_zero(int *sp)
{
	CHECK(send_raw_hdr(*sp, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 0");
}

static int
case_size_above_max(int *sp)
{
	CHECK(send_raw_hdr(*sp, g_limits.max_msg_size + 1));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size max_msg_size + 1");
}

static int
case_size_4g(int *sp)
{
	CHECK(send_raw_hdr(*sp, UINT32_MAX));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 4 GiB - 1");
}

static int
case_size_max_ok(int *sp)
{
	/* Exactly max_msg_size is legal: a REGION_WRITE that long gets a real answer. */
	uint32_t len = g_limits.max_msg_size - VFIO_USER_HDR_SIZE;
	uint32_t count = len - sizeof(struct vfio_user_region_access);
	uint8_t *buf = calloc(1, len);
	int ret;

	if (buf == NULL)
		return TEST_FAILED;
	build_access(buf, VFIO_PCI_BAR2_REGION_INDEX, 0, count, NULL, 0);
	/* count > max_data_xfer_size: EINVAL, but the message itself was read whole. */
	ret = cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, buf, len, NULL, 0, EINVAL,
		"REGION_WRITE of max_msg_size");
	free(buf);
	return ret;
}

/*
 * A message that stops short: the server gives it the stall timeout, then
 * closes. Meanwhile dev_b must answer promptly (well within the stall), i.e.
 * one stalled peer does not hold up the other sessions.
 */
#define PROMPT_MS 100

static int
stall_case(int s, uint32_t size, size_t sent, const char *what)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = size };
	uint8_t buf[64] = { 0 };
	uint64_t t0, t_b, t_closed;

	memcpy(buf, &hdr, sizeof(hdr));
	t0 = now_ms();
	CHECK_SENT(raw_send_bytes(s, buf, sent));
	usleep(20 * 1000);
	CHECK(check_bystander());
	t_b = now_ms() - t0;
	CHECK(expect_closed(s, STALL_MS + 2000, what));
	t_closed = now_ms() - t0;
	printf("  %s: dev_b answered after %" PRIu64 " ms, closed after %" PRIu64 " ms\n",
		what, t_b, t_closed);
	TEST_ASSERT(t_closed >= STALL_MS - 50 && t_closed <= STALL_MS + 1000,
		"%s: closed after %" PRIu64 " ms, stall timeout %d ms", what, t_closed, STALL_MS);
	TEST_ASSERT(t_b <= 20 + PROMPT_MS,
		"%s: dev_b answered after %" PRIu64 " ms, not promptly while the stall lasted",
		what, t_b);
	return TEST_SUCCESS;
}

static int
case_size_lies(int *sp)
{
	return stall_case(*sp, 1000, 20, "hdr.size 1000, 20 bytes sent");
}

static int
case_partial_header_stall(int *sp)
{
	return stall_case(*sp, 32, 8, "8 header bytes, then nothing");
}

/* 2. Message types */

static int
case_reply_typed_dropped(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	uint16_t id_bogus = nid(), id_bogus2 = nid(), id = nid();

	/* A reply nobody waits for, shaped like a GET_INFO command. */
	CHECK_SENT(send_msg(*sp, id_bogus, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_TYPE_REPLY, &info,
		sizeof(info), NULL, 0));
	/* An error reply to a DMA_READ never sent. */
	CHECK_SENT(send_msg(*sp, id_bogus2, VFIO_USER_DMA_READ,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, NULL, 0, NULL, 0));
	CHECK_SENT(send_msg(*sp, id, VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), NULL, 0));
	CHECK(expect_reply(*sp, id, VFIO_USER_DEVICE_GET_INFO, sizeof(info),
		"GET_INFO after stray replies"));
	return expect_silence(*sp, SILENCE_MS, "only one reply after stray replies");
}

static int
case_type_invalid(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 2, &info, sizeof(info), NULL, 0, EINVAL,
		"type 2"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0xf, &info, sizeof(info), NULL, 0, EINVAL,
		"type 15"));
	return check_get_info(*sp, &dev_a, "GET_INFO after bad types");
}

/* 3. VERSION */

static int
case_cmd_before_version(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	CHECK_SENT(send_msg(*sp, nid(), VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), NULL,
		0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "GET_INFO before VERSION");
}

static int
case_unknown_before_version(int *sp)
{
	CHECK_SENT(send_msg(*sp, nid(), 0xffff, 0, NULL, 0, NULL, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "unknown command before VERSION");
}

static int
version_expect_closed(int s, uint16_t major, uint16_t minor, const char *json, bool nul,
		const char *what)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, major, minor, json, nul);

	CHECK_SENT(send_msg(s, nid(), VFIO_USER_VERSION, 0, buf, len, NULL, 0));
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

	CHECK_SENT(send_msg(*sp, nid(), VFIO_USER_VERSION, 0, buf, sizeof(buf), NULL, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "VERSION with 2-byte payload");
}

/* Invalid JSON: EINVAL error reply, then close. */
static int
version_bad_json(int s, const char *json, bool nul, const char *what)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 0, json, nul);
	uint16_t id = nid();

	CHECK_SENT(send_msg(s, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
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

	/* Nothing left after masking the sub-4K sizes. */
	CHECK_SENT(send_msg(*sp, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
	return expect_error_reply(*sp, id, VFIO_USER_VERSION, EINVAL, "pgsizes 2048");
}

static int
case_version_minor5(int *sp)
{
	uint8_t buf[256];
	uint32_t len = build_version(buf, 0, 5, DEF_CAPS, true);
	struct vfio_user_version v;
	uint16_t id = nid();

	CHECK_SENT(send_msg(*sp, id, VFIO_USER_VERSION, 0, buf, len, NULL, 0));
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
	memcpy(dev_a.bar0 + 0x80, want, sizeof(want));
	CHECK(negotiate_with(*sp, NULL, "bare VERSION 0.0"));
	CHECK(check_version_reply(NULL, 0, &caps, "bare VERSION 0.0"));
	CHECK(check_get_info(*sp, &dev_a, "GET_INFO after bare VERSION"));
	CHECK(region_read_ok(*sp, VFIO_PCI_BAR0_REGION_INDEX, 0x80, sizeof(data), data,
		"REGION_READ after bare VERSION"));
	TEST_ASSERT(memcmp(data, want, sizeof(data)) == 0, "BAR0 data differs");
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

/* 4. Command ids */

static int
case_unknown_cmds(int *sp)
{
	static const uint16_t cmds[] = { 0, 14, 19, 20, 0x100, 0xffff };
	uint8_t payload[16] = { 0 };
	char what[64];
	unsigned int i;

	for (i = 0; i < RTE_DIM(cmds); i++) {
		snprintf(what, sizeof(what), "command %u", cmds[i]);
		CHECK(cmd_err(*sp, cmds[i], 0, NULL, 0, NULL, 0, ENOSYS, what));
		CHECK(cmd_err(*sp, cmds[i], 0, payload, sizeof(payload), NULL, 0, ENOSYS, what));
	}
	return check_get_info(*sp, &dev_a, "GET_INFO after unknown commands");
}

static int
case_enotsup_cmds(int *sp)
{
	uint32_t feat[4] = { 16, 0, 0, 0 };

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_FEATURE, 0, feat, sizeof(feat), NULL, 0, ENOTSUP,
		"DEVICE_FEATURE"));
	CHECK(cmd_err(*sp, VFIO_USER_MIG_DATA_READ, 0, feat, 8, NULL, 0, ENOTSUP,
		"MIG_DATA_READ"));
	CHECK(cmd_err(*sp, VFIO_USER_MIG_DATA_WRITE, 0, feat, sizeof(feat), NULL, 0, ENOTSUP,
		"MIG_DATA_WRITE"));
	return check_get_info(*sp, &dev_a, "GET_INFO after ENOTSUP commands");
}

static int
case_dma_rw_as_command(int *sp)
{
	struct vfio_user_dma_access a = { .addr = 0x1000, .count = 8 };
	uint8_t buf[sizeof(a) + 8] = { 0 };

	memcpy(buf, &a, sizeof(a));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_READ, 0, &a, sizeof(a), NULL, 0, EINVAL,
		"DMA_READ command"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_WRITE, 0, buf, sizeof(buf), NULL, 0, EINVAL,
		"DMA_WRITE command"));
	return check_get_info(*sp, &dev_a, "GET_INFO after DMA_READ/WRITE commands");
}

/* 5. Descriptors */

static int
case_too_many_fds(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x10000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .addr = 0x10000000,
		.size = 0x1000 };
	int fds[20], base, ret;

	if (open_eventfds(fds, RTE_DIM(fds)) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fds, RTE_DIM(fds), EINVAL,
		"DMA_MAP with 20 fds");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "20 fds refused");
	close_fds(fds, RTE_DIM(fds));
	CHECK(ret);
	/* The stream stays usable; the map was not made: unmap finds nothing. */
	return cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap of refused map");
}

static int
case_fd_on_get_info(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	struct vfio_user_region_access a = { .region = 0, .count = 4 };
	int fd, base, ret;

	if (open_eventfds(&fd, 1) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), &fd, 1, EINVAL,
		"GET_INFO with an fd");
	if (ret == TEST_SUCCESS)
		ret = cmd_err(*sp, VFIO_USER_REGION_READ, 0, &a, sizeof(a), &fd, 1, EINVAL,
			"REGION_READ with an fd");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fd on GET_INFO/REGION_READ closed");
	close(fd);
	CHECK(ret);
	return check_get_info(*sp, &dev_a, "GET_INFO after fd refusal");
}

static int
case_dma_map_two_fds(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x20000000,
		.size = 0x1000 };
	int fds[2], base, ret;

	if (open_eventfds(fds, 2) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fds, 2, EINVAL,
		"DMA_MAP with 2 fds");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "DMA_MAP 2 fds closed");
	close_fds(fds, 2);
	return ret;
}

/* 6. NO_REPLY */

static int
case_no_reply_write(int *sp)
{
	uint8_t buf[64], data[4] = { 0xde, 0xad, 0xbe, 0xef }, got[4];
	uint32_t len = build_access(buf, VFIO_PCI_BAR0_REGION_INDEX, 0x40, 4, data, 4);

	memset(dev_a.bar0 + 0x40, 0, 4);
	CHECK_SENT(send_msg(*sp, nid(), VFIO_USER_REGION_WRITE, VFIO_USER_F_NO_REPLY, buf, len,
		NULL, 0));
	CHECK(region_read_ok(*sp, VFIO_PCI_BAR0_REGION_INDEX, 0x40, 4, got,
		"REGION_READ after NO_REPLY write"));
	TEST_ASSERT(memcmp(got, data, 4) == 0, "NO_REPLY write not performed: %02x%02x%02x%02x",
		got[0], got[1], got[2], got[3]);
	return expect_silence(*sp, SILENCE_MS, "only one reply after NO_REPLY write");
}

static int
case_no_reply_error(int *sp)
{
	uint8_t buf[64];
	uint32_t len = build_access(buf, 99, 0, 4, NULL, 0);

	/* Failing commands with NO_REPLY stay silent too. */
	CHECK_SENT(send_msg(*sp, nid(), VFIO_USER_REGION_READ, VFIO_USER_F_NO_REPLY, buf, len,
		NULL, 0));
	CHECK_SENT(send_msg(*sp, nid(), 0x7777, VFIO_USER_F_NO_REPLY, NULL, 0, NULL, 0));
	CHECK(check_get_info(*sp, &dev_a, "GET_INFO after NO_REPLY errors"));
	return expect_silence(*sp, SILENCE_MS, "no reply to NO_REPLY errors");
}

/* 7. Fixed payload sizes */

static int
case_wrong_sizes(int *sp)
{
	/* Valid contents for each command, sent with a wrong length. */
	uint8_t p[128];
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x30000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .addr = 0x30000000,
		.size = 0x1000 };
	struct vfio_user_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = 0 };
	struct vfio_user_region_io_fds_req io = { .argsz = sizeof(io), .index = 0 };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_user_region_access ra = { .offset = 0, .region = 0, .count = 4 };
	const struct {
		uint16_t cmd;
		const void *body;
		uint32_t fixed;
		uint32_t len;
		const char *what;
	} cases[] = {
		{ VFIO_USER_DMA_MAP, &map, 32, 31, "DMA_MAP 31" },
		{ VFIO_USER_DMA_MAP, &map, 32, 33, "DMA_MAP 33" },
		{ VFIO_USER_DMA_MAP, &map, 32, 40, "DMA_MAP 40" },
		{ VFIO_USER_DMA_UNMAP, &um, 24, 23, "DMA_UNMAP 23" },
		{ VFIO_USER_DMA_UNMAP, &um, 24, 25, "DMA_UNMAP 25" },
		{ VFIO_USER_DMA_UNMAP, &um, 24, 32, "DMA_UNMAP 32" },
		{ VFIO_USER_DEVICE_GET_INFO, &di, 16, 0, "GET_INFO 0" },
		{ VFIO_USER_DEVICE_GET_INFO, &di, 16, 15, "GET_INFO 15" },
		{ VFIO_USER_DEVICE_GET_INFO, &di, 16, 17, "GET_INFO 17" },
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 32, 16, "GET_REGION_INFO 16" },
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 32, 31, "GET_REGION_INFO 31" },
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 32, 33, "GET_REGION_INFO 33" },
		{ VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, 16, 15, "GET_REGION_IO_FDS 15" },
		{ VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, 16, 17, "GET_REGION_IO_FDS 17" },
		{ VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, 16, 15, "GET_IRQ_INFO 15" },
		{ VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, 16, 17, "GET_IRQ_INFO 17" },
		{ VFIO_USER_REGION_READ, &ra, 16, 15, "REGION_READ 15" },
		{ VFIO_USER_REGION_READ, &ra, 16, 17, "REGION_READ 17" },
		{ VFIO_USER_REGION_READ, &ra, 16, 20, "REGION_READ 20" },
		{ VFIO_USER_DEVICE_RESET, NULL, 0, 1, "RESET 1" },
		{ VFIO_USER_DEVICE_RESET, NULL, 0, 4, "RESET 4" },
	};
	unsigned int i, resets = __atomic_load_n(&dev_a.resets, __ATOMIC_SEQ_CST);

	for (i = 0; i < RTE_DIM(cases); i++) {
		memset(p, 0, sizeof(p));
		if (cases[i].body != NULL)
			memcpy(p, cases[i].body, cases[i].fixed);
		CHECK(cmd_err(*sp, cases[i].cmd, 0, p, cases[i].len, NULL, 0, EINVAL,
			cases[i].what));
	}
	TEST_ASSERT_EQUAL(__atomic_load_n(&dev_a.resets, __ATOMIC_SEQ_CST), resets,
		"reset_device called for a RESET with a payload");
	/* No DMA_MAP of a wrong size was made. */
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap after refused maps"));
	return TEST_SUCCESS;
}

static int
case_wrong_sizes_write(int *sp)
{
	static const uint8_t zero[8];
	uint8_t p[64], data[8];
	uint32_t len;

	memset(data, 0x77, sizeof(data));
	memset(dev_a.bar0 + 0x100, 0, 8);
	/* count 4 with 3 or 5 data bytes; a payload shorter than the access header. */
	len = build_access(p, VFIO_PCI_BAR0_REGION_INDEX, 0x100, 4, data, 3);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE count 4, 3 bytes"));
	len = build_access(p, VFIO_PCI_BAR0_REGION_INDEX, 0x100, 4, data, 5);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE count 4, 5 bytes"));
	len = build_access(p, VFIO_PCI_BAR0_REGION_INDEX, 0x100, 0, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, 12, NULL, 0, EINVAL,
		"REGION_WRITE 12-byte payload"));
	TEST_ASSERT(memcmp(dev_a.bar0 + 0x100, zero, 8) == 0,
		"a refused REGION_WRITE changed BAR0");
	return TEST_SUCCESS;
}

static int
case_wrong_sizes_set_irqs(int *sp)
{
	uint8_t p[64] = { 0 };
	struct vfio_irq_set set = {
		.argsz = sizeof(set) + 2,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 2,
	};

	memcpy(p, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 21, NULL, 0, EINVAL,
		"SET_IRQS NONE, 21 bytes"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 19, NULL, 0, EINVAL,
		"SET_IRQS 19 bytes"));
	set.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	memcpy(p, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 21, NULL, 0, EINVAL,
		"SET_IRQS BOOL count 2, 1 byte"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 23, NULL, 0, EINVAL,
		"SET_IRQS BOOL count 2, 3 bytes"));
	set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.argsz = sizeof(set);
	memcpy(p, &set, sizeof(set));
	/* DATA_EVENTFD: fds travel as SCM_RIGHTS, the payload is the 20-byte struct only. */
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 28, NULL, 0, EINVAL,
		"SET_IRQS EVENTFD with 8 inline bytes"));
	return TEST_SUCCESS;
}

/* 8. argsz */

static int
case_bad_argsz(int *sp)
{
	struct vfio_user_device_info di = { .argsz = 8 };
	struct vfio_region_info ri = { .argsz = 16, .index = 0 };
	struct vfio_irq_info ii = { .argsz = 4, .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_user_region_io_fds_req io = { .argsz = 8, .index = 0 };
	struct vfio_user_dma_map map = { .argsz = 16, .flags = 3, .addr = 0x40000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = 16, .addr = 0x40000000, .size = 0x1000 };
	struct vfio_irq_set set = { .argsz = 16,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 1 };
	uint8_t bset[sizeof(set) + 2] = { 0 };

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &di, sizeof(di), NULL, 0, EINVAL,
		"GET_INFO argsz 8"));
	di.argsz = 15;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0, &di, sizeof(di), NULL, 0, EINVAL,
		"GET_INFO argsz 15"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO argsz 16"));
	ri.argsz = 31;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO argsz 31"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, 0, &ii, sizeof(ii), NULL, 0, EINVAL,
		"GET_IRQ_INFO argsz 4"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &io, sizeof(io), NULL, 0,
		EINVAL, "GET_REGION_IO_FDS argsz 8"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), NULL, 0, EINVAL,
		"DMA_MAP argsz 16"));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, EINVAL,
		"DMA_UNMAP argsz 16"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, &set, sizeof(set), NULL, 0, EINVAL,
		"SET_IRQS argsz 16"));
	/* BOOL: argsz must cover the data bytes too. */
	set.argsz = sizeof(set) + 1;
	set.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.count = 2;
	memcpy(bset, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, bset, sizeof(bset), NULL, 0, EINVAL,
		"SET_IRQS BOOL argsz 21 for 22 bytes"));
	/* The map with the bad argsz was not made. */
	um.argsz = sizeof(um);
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap after bad-argsz map"));
	return TEST_SUCCESS;
}

static int
case_large_argsz(int *sp)
{
	struct vfio_user_device_info di = { .argsz = 4096 }, dr;
	struct vfio_region_info ri = { .argsz = 4096, .index = VFIO_PCI_BAR0_REGION_INDEX }, rr;
	struct vfio_irq_info ii = { .argsz = 64, .index = VFIO_PCI_MSIX_IRQ_INDEX }, ir;

	/* Larger argsz is fine; replies carry the size needed. */
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, sizeof(dr),
		"GET_INFO argsz 4096"));
	memcpy(&dr, rx.data, sizeof(dr));
	TEST_ASSERT_EQUAL(dr.argsz, sizeof(dr), "GET_INFO reply argsz");
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, sizeof(rr),
		"GET_REGION_INFO argsz 4096"));
	memcpy(&rr, rx.data, sizeof(rr));
	TEST_ASSERT(rr.argsz == sizeof(rr) && rr.index == 0 && rr.size == BAR0_SIZE &&
		rr.flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) &&
		rr.cap_offset == 0, "GET_REGION_INFO reply argsz %u index %u size %" PRIu64
		" flags %#x cap_offset %u", rr.argsz, rr.index, (uint64_t)rr.size, rr.flags,
		rr.cap_offset);
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, sizeof(ir),
		"GET_IRQ_INFO argsz 64"));
	memcpy(&ir, rx.data, sizeof(ir));
	TEST_ASSERT(ir.argsz == sizeof(ir) && ir.index == VFIO_PCI_MSIX_IRQ_INDEX &&
		ir.count == MSIX_COUNT &&
		ir.flags == (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE),
		"GET_IRQ_INFO reply argsz %u index %u count %u flags %#x", ir.argsz, ir.index,
		ir.count, ir.flags);
	return TEST_SUCCESS;
}

/* 9. Indexes */

static int
case_index_out_of_range(int *sp)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_NUM_REGIONS };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_NUM_IRQS };
	struct vfio_user_region_io_fds_req io = { .argsz = sizeof(io),
		.index = VFIO_PCI_NUM_REGIONS };
	uint8_t p[64], data[4] = { 1, 2, 3, 4 };
	uint32_t len;

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO index 9"));
	ri.index = UINT32_MAX;
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), NULL, 0, EINVAL,
		"GET_REGION_INFO index 0xffffffff"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, 0, &ii, sizeof(ii), NULL, 0, EINVAL,
		"GET_IRQ_INFO index 5"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &io, sizeof(io), NULL, 0,
		EINVAL, "GET_REGION_IO_FDS index 9"));
	len = build_access(p, VFIO_PCI_NUM_REGIONS, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ region 9"));
	len = build_access(p, UINT32_MAX, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ region 0xffffffff"));
	len = build_access(p, VFIO_PCI_NUM_REGIONS, 0, 4, data, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE region 9"));
	return TEST_SUCCESS;
}

/* 10. Region access */

static int
case_region_bounds(int *sp)
{
	static const struct {
		uint32_t region;
		uint64_t offset;
		uint32_t count;
		const char *what;
	} bad[] = {
		{ VFIO_PCI_BAR0_REGION_INDEX, BAR0_SIZE, 1, "BAR0 at size" },
		{ VFIO_PCI_BAR0_REGION_INDEX, BAR0_SIZE - 1, 2, "BAR0 crossing the end" },
		{ VFIO_PCI_BAR0_REGION_INDEX, UINT64_MAX - 3, 8, "BAR0 offset wraps" },
		{ VFIO_PCI_BAR0_REGION_INDEX, UINT64_MAX, 1, "BAR0 offset 2^64-1" },
		{ VFIO_PCI_BAR0_REGION_INDEX, 0, BAR0_SIZE + 1, "BAR0 count above size" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, CFG_SIZE - 1, 2, "config crossing the end" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, UINT64_MAX - 1, 4, "config offset wraps" },
		{ VFIO_PCI_CONFIG_REGION_INDEX, 0x8000000000000000ULL, 4, "config offset 2^63" },
		{ VFIO_PCI_ROM_REGION_INDEX, 0, 4, "ROM of size 0" },
	};
	uint8_t p[64], data[8] = { 0 };
	uint32_t len;
	unsigned int i;
	char what[96];

	for (i = 0; i < RTE_DIM(bad); i++) {
		len = build_access(p, bad[i].region, bad[i].offset, bad[i].count, NULL, 0);
		snprintf(what, sizeof(what), "REGION_READ %s", bad[i].what);
		CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL, what));
		if (bad[i].count > sizeof(data))
			continue;
		len = build_access(p, bad[i].region, bad[i].offset, bad[i].count, data,
			bad[i].count);
		snprintf(what, sizeof(what), "REGION_WRITE %s", bad[i].what);
		CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL, what));
	}
	TEST_ASSERT(!dev_a.cfg_bad_range, "config callback called with an out-of-range access");
	/* The last byte is reachable. */
	CHECK(region_read_ok(*sp, VFIO_PCI_BAR0_REGION_INDEX, BAR0_SIZE - 1, 1, data,
		"REGION_READ last byte of BAR0"));
	return TEST_SUCCESS;
}

static int
case_region_count(int *sp)
{
	uint32_t max = g_limits.max_data_xfer_size;
	uint32_t len = sizeof(struct vfio_user_region_access) + max + 1;
	uint8_t *p = calloc(1, len);
	int ret = TEST_FAILED;

	if (p == NULL)
		return TEST_FAILED;
	build_access(p, VFIO_PCI_BAR0_REGION_INDEX, 0, 0, NULL, 0);
	if (cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, 16, NULL, 0, EINVAL,
			"REGION_READ count 0") != TEST_SUCCESS)
		goto out;
	if (cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, 16, NULL, 0, EINVAL,
			"REGION_WRITE count 0") != TEST_SUCCESS)
		goto out;
	/* BAR2 is 2 MiB: only the transfer limit refuses these. */
	build_access(p, VFIO_PCI_BAR2_REGION_INDEX, 0, max + 1, NULL, 0);
	if (cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, 16, NULL, 0, EINVAL,
			"REGION_READ count max_data_xfer_size + 1") != TEST_SUCCESS)
		goto out;
	if (cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
			"REGION_WRITE count max_data_xfer_size + 1") != TEST_SUCCESS)
		goto out;
	/* Exactly the limit works. */
	build_access(p, VFIO_PCI_BAR2_REGION_INDEX, 0, max, NULL, 0);
	if (cmd_ok(*sp, VFIO_USER_REGION_READ, p, 16, NULL, 0,
			sizeof(struct vfio_user_region_access) + max,
			"REGION_READ count max_data_xfer_size") != TEST_SUCCESS)
		goto out;
	ret = TEST_SUCCESS;
out:
	free(p);
	return ret;
}

static int
case_region_write_ro(int *sp)
{
	uint8_t p[64], data[4] = { 0xaa, 0xbb, 0xcc, 0xdd }, got[4], orig[4];
	uint32_t len;

	memcpy(orig, dev_a.bar1 + 0x10, 4);
	len = build_access(p, VFIO_PCI_BAR1_REGION_INDEX, 0x10, 4, data, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EINVAL,
		"REGION_WRITE to read-only BAR1"));
	CHECK(region_read_ok(*sp, VFIO_PCI_BAR1_REGION_INDEX, 0x10, 4, got,
		"REGION_READ of BAR1"));
	TEST_ASSERT(memcmp(got, orig, 4) == 0, "read-only BAR1 was written");
	/* A region without the READ flag (VGA, no flags). */
	len = build_access(p, VFIO_PCI_VGA_REGION_INDEX, 0, 4, NULL, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_READ, 0, p, len, NULL, 0, EINVAL,
		"REGION_READ of VGA region without flags"));
	return TEST_SUCCESS;
}

static int
case_region_cb_errno(int *sp)
{
	uint8_t p[64], data[2] = { 0x12, 0x34 };
	uint32_t len = build_access(p, VFIO_PCI_CONFIG_REGION_INDEX, 0, 2, data, 2);

	/* The callback refuses vendor-id writes with -EPERM: that errno goes back. */
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, p, len, NULL, 0, EPERM,
		"config write to vendor id"));
	len = build_access(p, VFIO_PCI_CONFIG_REGION_INDEX, 0x40, 2, data, 2);
	CHECK(cmd_ok(*sp, VFIO_USER_REGION_WRITE, p, len, NULL, 0,
		sizeof(struct vfio_user_region_access), "config write at 0x40"));
	TEST_ASSERT(dev_a.cfg[0x40] == 0x12 && dev_a.cfg[0x41] == 0x34, "config write lost");
	return TEST_SUCCESS;
}

/* 11. DMA_MAP / DMA_UNMAP */

static int
dma_map_err(int s, uint32_t argsz, uint32_t flags, uint64_t addr, uint64_t size,
		uint64_t offset, const int *fd, uint32_t err, const char *what)
{
	struct vfio_user_dma_map map = { .argsz = argsz, .flags = flags, .offset = offset,
		.addr = addr, .size = size };

	return cmd_err(s, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fd, fd != NULL ? 1 : 0, err,
		what);
}

static int
dma_map_ok(int s, uint64_t addr, uint64_t size, const int *fd, const char *what)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = addr,
		.size = size };

	return cmd_ok(s, VFIO_USER_DMA_MAP, &map, sizeof(map), fd, fd != NULL ? 1 : 0, 0, what);
}

static int
dma_unmap(int s, uint32_t flags, uint64_t addr, uint64_t size, uint32_t err, const char *what)
{
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .flags = flags, .addr = addr,
		.size = size };

	if (err != 0)
		return cmd_err(s, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, err, what);
	CHECK(cmd_ok(s, VFIO_USER_DMA_UNMAP, &um, sizeof(um), NULL, 0, sizeof(um), what));
	/* The reply echoes the request. */
	if (memcmp(rx.data, &um, sizeof(um)) != 0) {
		printf("  %s: DMA_UNMAP reply does not echo the request\n", what);
		return TEST_FAILED;
	}
	return TEST_SUCCESS;
}

static int
case_dma_map_bad(int *sp)
{
	const uint64_t a = 0x100000;

	CHECK(dma_map_err(*sp, 32, 3, 0xfffffffffffff000ULL, 0x2000, 0, NULL, EINVAL,
		"DMA_MAP wrapping past 2^64"));
	CHECK(dma_map_err(*sp, 32, 3, UINT64_MAX, 2, 0, NULL, EINVAL,
		"DMA_MAP at 2^64-1 size 2"));
	CHECK(dma_map_err(*sp, 32, 3, a, 0, 0, NULL, EINVAL, "DMA_MAP size 0"));
	CHECK(dma_map_err(*sp, 32, 4, a, 0x1000, 0, NULL, EINVAL, "DMA_MAP flags 0x4"));
	CHECK(dma_map_err(*sp, 32, 7, a, 0x1000, 0, NULL, EINVAL, "DMA_MAP flags 0x7"));
	CHECK(dma_map_err(*sp, 32, 0x80000001, a, 0x1000, 0, NULL, EINVAL,
		"DMA_MAP flags 0x80000001"));
	/* A window ending exactly at 2^64 is valid. */
	CHECK(dma_map_ok(*sp, 0xfffffffffffff000ULL, 0x1000, NULL, "DMA_MAP ending at 2^64"));
	CHECK(dma_unmap(*sp, 0, 0xfffffffffffff000ULL, 0x1000, 0, "DMA_UNMAP ending at 2^64"));
	/* Nothing of the refused maps exists. */
	CHECK(dma_unmap(*sp, 0, a, 0x1000, ENOENT, "DMA_UNMAP after refused maps"));
	return TEST_SUCCESS;
}

static int
case_dma_map_overlap(int *sp)
{
	const uint64_t a = 0x200000;

	CHECK(dma_map_ok(*sp, a, 0x2000, NULL, "DMA_MAP [a, a+8K)"));
	CHECK(dma_map_err(*sp, 32, 3, a, 0x2000, 0, NULL, EEXIST, "DMA_MAP same window"));
	CHECK(dma_map_err(*sp, 32, 3, a + 0x1000, 0x2000, 0, NULL, EEXIST,
		"DMA_MAP overlapping the end"));
	CHECK(dma_map_err(*sp, 32, 3, a - 0x1000, 0x2000, 0, NULL, EEXIST,
		"DMA_MAP overlapping the start"));
	CHECK(dma_map_err(*sp, 32, 3, a + 0x800, 0x100, 0, NULL, EEXIST, "DMA_MAP inside"));
	CHECK(dma_map_err(*sp, 32, 3, a - 0x1000, 0x4000, 0, NULL, EEXIST,
		"DMA_MAP covering"));
	/* Adjacent windows are fine. */
	CHECK(dma_map_ok(*sp, a + 0x2000, 0x1000, NULL, "DMA_MAP adjacent after"));
	CHECK(dma_map_ok(*sp, a - 0x1000, 0x1000, NULL, "DMA_MAP adjacent before"));
	CHECK(dma_unmap(*sp, 0, a, 0x1000, ENOENT, "DMA_UNMAP part of a window"));
	CHECK(dma_unmap(*sp, 0, a, 0x3000, ENOENT, "DMA_UNMAP spanning two windows"));
	CHECK(dma_unmap(*sp, 0, a, 0x2000, 0, "DMA_UNMAP [a, a+8K)"));
	CHECK(dma_unmap(*sp, 0, a, 0x2000, ENOENT, "DMA_UNMAP twice"));
	/* Unmap everything: the two adjacent windows go. */
	CHECK(dma_unmap(*sp, VFIO_USER_DMA_UNMAP_ALL, 0, 0, 0, "DMA_UNMAP all"));
	CHECK(dma_unmap(*sp, 0, a + 0x2000, 0x1000, ENOENT, "DMA_UNMAP after unmap all"));
	CHECK(dma_map_ok(*sp, a - 0x1000, 0x4000, NULL, "DMA_MAP after unmap all"));
	return TEST_SUCCESS;
}

static int
case_dma_unmap_bad(int *sp)
{
	CHECK(dma_unmap(*sp, 0, 0x300000, 0x1000, ENOENT, "DMA_UNMAP of nothing"));
	CHECK(dma_map_ok(*sp, 0x300000, 0x1000, NULL, "DMA_MAP"));
	CHECK(dma_unmap(*sp, 1, 0x300000, 0x1000, EINVAL, "DMA_UNMAP flags 1"));
	CHECK(dma_unmap(*sp, 4, 0x300000, 0x1000, EINVAL, "DMA_UNMAP flags 4"));
	CHECK(dma_unmap(*sp, 0x80000000, 0x300000, 0x1000, EINVAL,
		"DMA_UNMAP flags 0x80000000"));
	/* Still mapped after the refused unmaps. */
	CHECK(dma_map_err(*sp, 32, 3, 0x300000, 0x1000, 0, NULL, EEXIST,
		"DMA_MAP again after refused unmaps"));
	return dma_unmap(*sp, 0, 0x300000, 0x1000, 0, "DMA_UNMAP");
}

static int
case_dma_map_bad_offset(int *sp)
{
	int fd = memfd_create("vfu-hostile-off", MFD_CLOEXEC);
	int base, ret;

	if (fd < 0 || ftruncate(fd, 0x2000) < 0) {
		if (fd >= 0)
			close(fd);
		return TEST_FAILED;
	}
	base = count_fds();
	/* mmap of an unaligned offset fails with EINVAL; the fd must not stay. */
	ret = dma_map_err(*sp, 32, 3, 0x400000, 0x1000, 1, &fd, EINVAL,
		"DMA_MAP with offset 1");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fd of the refused map closed");
	close(fd);
	CHECK(ret);
	return dma_unmap(*sp, 0, 0x400000, 0x1000, ENOENT, "DMA_UNMAP of refused map");
}

#define DMA_MEMFD_NAME "vfu-hostile-dma"

static int
case_dma_memfd_disconnect(int *sp)
{
	uint8_t pattern[64], *map;
	uint64_t len = 0x10000;
	const uint64_t iova = 0x50000000;
	unsigned int destroys = __atomic_load_n(&dev_a.destroys, __ATOMIC_SEQ_CST);
	uint64_t end;
	void *vva;
	int fd, ret = TEST_FAILED;

	TEST_ASSERT_EQUAL(count_maps_lines("memfd:" DMA_MEMFD_NAME), 0, "stale mapping");
	fd = memfd_create(DMA_MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0x10000) < 0)
		goto out;
	map = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto out;
	tdev_fill(pattern, sizeof(pattern), 0xd1a);
	memcpy(map + 0x100, pattern, sizeof(pattern));
	munmap(map, 0x10000);
	if (dma_map_ok(*sp, iova, 0x10000, &fd, "DMA_MAP with a memfd") != TEST_SUCCESS)
		goto out;
	/* The server holds one more reference and one mapping of it. */
	if (count_fds_named("memfd:" DMA_MEMFD_NAME) != 2 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 1) {
		printf("  mapped memfd: %d fds, %d mappings; expected 2 and 1\n",
			count_fds_named("memfd:" DMA_MEMFD_NAME),
			count_maps_lines("memfd:" DMA_MEMFD_NAME));
		goto out;
	}
	vva = rte_vfio_user_iova_to_vva(dev_a.id, iova + 0x100, &len);
	if (vva == NULL || len != 0x10000 - 0x100 || memcmp(vva, pattern, sizeof(pattern))) {
		printf("  iova_to_vva: %p len %#" PRIx64 "\n", vva, len);
		goto out;
	}
	raw_close(sp);
	/* Disconnect: the server's copy is closed and unmapped. */
	end = now_ms() + LEAK_WAIT_MS;
	while (now_ms() < end && (count_fds_named("memfd:" DMA_MEMFD_NAME) != 1 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 0))
		usleep(5000);
	if (count_fds_named("memfd:" DMA_MEMFD_NAME) != 1 ||
			count_maps_lines("memfd:" DMA_MEMFD_NAME) != 0) {
		printf("  after disconnect: %d memfd fds, %d mappings; expected 1 and 0\n",
			count_fds_named("memfd:" DMA_MEMFD_NAME),
			count_maps_lines("memfd:" DMA_MEMFD_NAME));
		goto out;
	}
	end = now_ms() + LEAK_WAIT_MS;
	while (now_ms() < end &&
			__atomic_load_n(&dev_a.destroys, __ATOMIC_SEQ_CST) == destroys)
		usleep(5000);
	if (__atomic_load_n(&dev_a.destroys, __ATOMIC_SEQ_CST) != destroys + 1) {
		printf("  destroy_device calls: %u, expected %u\n",
			__atomic_load_n(&dev_a.destroys, __ATOMIC_SEQ_CST), destroys + 1);
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* 12. SET_IRQS */

static int
set_irqs_err(int s, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		const int *fds, int nr_fds, uint32_t err, const char *what)
{
	struct vfio_irq_set set = { .argsz = sizeof(set), .flags = flags, .index = index,
		.start = start, .count = count };

	return cmd_err(s, VFIO_USER_DEVICE_SET_IRQS, 0, &set, sizeof(set), fds, nr_fds, err,
		what);
}

static int
case_set_irqs_bad(int *sp)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX, intx = VFIO_PCI_INTX_IRQ_INDEX;
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	int fds[MSIX_COUNT], got[MSIX_COUNT], base, ret, i;

	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_EVENTFD | trig, msix,
		0, 1, NULL, 0, EINVAL, "two DATA bits"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE, msix, 0, 1, NULL, 0, EINVAL,
		"no ACTION bit"));
	CHECK(set_irqs_err(*sp, trig, msix, 0, 1, NULL, 0, EINVAL, "no DATA bit"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig | VFIO_IRQ_SET_ACTION_UNMASK,
		intx, 0, 1, NULL, 0, EINVAL, "two ACTION bits"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig | (1u << 12), msix, 0, 1, NULL,
		0, EINVAL, "unknown flag bit"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_NUM_IRQS, 0, 1, NULL, 0,
		EINVAL, "index 5"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 0xffffffff, 2, NULL, 0,
		EINVAL, "start 0xffffffff count 2"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, MSIX_COUNT - 1, 2, NULL, 0,
		EINVAL, "start 3 count 2"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 1, 0, NULL, 0, EINVAL,
		"count 0 with start 1"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, msix, 0, 1,
		NULL, 0, EINVAL, "MASK on non-maskable MSI-X"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, msix, 0, 1,
		NULL, 0, EINVAL, "UNMASK on non-maskable MSI-X"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
		NULL, 0, EINVAL, "index with count 0"));

	if (open_eventfds(fds, MSIX_COUNT) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_EVENTFD | trig, msix, 0, 2, fds, 1, EINVAL,
		"count 2 with one fd");
	if (ret == TEST_SUCCESS)
		ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_EVENTFD | trig, msix, 0, 1, fds, 2,
			EINVAL, "count 1 with two fds");
	if (ret == TEST_SUCCESS)
		ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 0, 1, fds, 1, EINVAL,
			"DATA_NONE with an fd");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fds of refused SET_IRQS closed");
	close_fds(fds, MSIX_COUNT);
	CHECK(ret);
	/* None of those assigned an eventfd. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(dev_a.id, msix, MSIX_COUNT, got), "get_irq");
	for (i = 0; i < MSIX_COUNT; i++)
		TEST_ASSERT_EQUAL(got[i], -1, "MSI-X %d has an eventfd after refused SET_IRQS", i);
	return TEST_SUCCESS;
}

static int
case_set_irqs_fds_dropped(int *sp)
{
	struct vfio_irq_set set = { .argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = MSIX_COUNT };
	int fds[MSIX_COUNT], base, ret;

	if (open_eventfds(fds, MSIX_COUNT) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_ok(*sp, VFIO_USER_DEVICE_SET_IRQS, &set, sizeof(set), fds, MSIX_COUNT, 0,
		"SET_IRQS 4 eventfds");
	if (ret == TEST_SUCCESS && rte_vfio_user_irq_trigger(dev_a.id, VFIO_PCI_MSIX_IRQ_INDEX,
			2) != 0)
		ret = TEST_FAILED;
	if (ret == TEST_SUCCESS && efd_wait(fds[2], RX_TIMEOUT_MS) != 1) {
		printf("  MSI-X 2 not signalled\n");
		ret = TEST_FAILED;
	}
	if (ret == TEST_SUCCESS && count_fds() != base + MSIX_COUNT) {
		printf("  %d fds while the server holds 4 eventfds, expected %d\n", count_fds(),
			base + MSIX_COUNT);
		ret = TEST_FAILED;
	}
	/* Disconnect: the session and the server's copies go; ours stay. */
	raw_close(sp);
	if (ret == TEST_SUCCESS)
		ret = fds_wait(g_case_fds + MSIX_COUNT, "IRQ eventfds closed on disconnect");
	close_fds(fds, MSIX_COUNT);
	return ret;
}

/* 13. WRITE_MULTI */

static uint32_t
build_wm(uint8_t *buf, uint64_t wr_cnt, const struct vfio_user_write_multi_entry *e,
		uint32_t n)
{
	memcpy(buf, &wr_cnt, sizeof(wr_cnt));
	memcpy(buf + sizeof(wr_cnt), e, n * sizeof(*e));
	return sizeof(wr_cnt) + n * sizeof(*e);
}

static int
case_write_multi_not_negotiated(int *sp)
{
	struct vfio_user_write_multi_entry e = { .offset = 0x200, .region = 0, .count = 4,
		.data = { 1, 2, 3, 4 } };
	static const uint8_t zero[4];
	uint8_t buf[64];
	uint32_t len = build_wm(buf, 1, &e, 1);

	memset(dev_a.bar0 + 0x200, 0, 4);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI not negotiated"));
	TEST_ASSERT(memcmp(dev_a.bar0 + 0x200, zero, 4) == 0, "WRITE_MULTI performed anyway");
	return TEST_SUCCESS;
}

static int
case_write_multi_bad(int *sp)
{
	struct vfio_user_write_multi_entry e[2] = {
		{ .offset = 0x300, .region = 0, .count = 4, .data = { 1, 2, 3, 4 } },
		{ .offset = 0x308, .region = 0, .count = 9, .data = { 5 } },
	};
	static const uint8_t zero[16];
	uint8_t buf[128];
	uint64_t wr_cnt;
	uint32_t len;

	CHECK(negotiate_with(*sp, WM_CAPS, "VERSION with write_multiple"));
	memset(dev_a.bar0 + 0x300, 0, 16);
	len = build_wm(buf, 0, e, 0);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 0"));
	/* The second entry is bad: the first must not be performed either. */
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI count 9"));
	e[1].count = 0;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI count 0"));
	e[1].count = 8;
	e[1].offset = BAR0_SIZE - 4;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI past the end"));
	e[1].offset = 0x10;
	e[1].region = VFIO_PCI_BAR1_REGION_INDEX;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI to read-only region"));
	e[1].region = VFIO_PCI_NUM_REGIONS;
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI region 9"));
	TEST_ASSERT(memcmp(dev_a.bar0 + 0x300, zero, 16) == 0,
		"a refused WRITE_MULTI performed some of its writes");
	/* Sizes: wr_cnt 2 with one entry, and a stray byte. */
	e[1].region = 0;
	e[1].offset = 0x308;
	len = build_wm(buf, 2, e, 1);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 2, one entry"));
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len + 1, NULL, 0, EINVAL,
		"WRITE_MULTI one byte extra"));
	len = build_wm(buf, UINT64_MAX, e, 2);
	CHECK(cmd_err(*sp, VFIO_USER_REGION_WRITE_MULTI, 0, buf, len, NULL, 0, EINVAL,
		"WRITE_MULTI wr_cnt 2^64-1"));
	/* A valid one. */
	len = build_wm(buf, 2, e, 2);
	CHECK(cmd_ok(*sp, VFIO_USER_REGION_WRITE_MULTI, buf, len, NULL, 0, sizeof(wr_cnt),
		"WRITE_MULTI valid"));
	memcpy(&wr_cnt, rx.data, sizeof(wr_cnt));
	TEST_ASSERT_EQUAL(wr_cnt, 2, "WRITE_MULTI reply wr_cnt");
	TEST_ASSERT(memcmp(dev_a.bar0 + 0x300, e[0].data, 4) == 0 &&
		memcmp(dev_a.bar0 + 0x308, e[1].data, 8) == 0, "WRITE_MULTI data not written");
	return TEST_SUCCESS;
}

/* 14. RESET */

static int
case_reset(int *sp)
{
	unsigned int r = __atomic_load_n(&dev_a.resets, __ATOMIC_SEQ_CST);
	uint8_t one = 0;

	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, 0, "RESET"));
	TEST_ASSERT_EQUAL(__atomic_load_n(&dev_a.resets, __ATOMIC_SEQ_CST), r + 1,
		"reset_device calls");
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_RESET, 0, &one, 1, NULL, 0, EINVAL,
		"RESET with a payload"));
	TEST_ASSERT_EQUAL(__atomic_load_n(&dev_a.resets, __ATOMIC_SEQ_CST), r + 1,
		"reset_device calls after a bad RESET");
	/* dev_b has no VFIO_DEVICE_FLAGS_RESET. */
	r = __atomic_load_n(&dev_b.resets, __ATOMIC_SEQ_CST);
	CHECK(cmd_err(b_sock, VFIO_USER_DEVICE_RESET, 0, NULL, 0, NULL, 0, EINVAL,
		"RESET of a device without the RESET flag"));
	TEST_ASSERT_EQUAL(__atomic_load_n(&dev_b.resets, __ATOMIC_SEQ_CST), r,
		"reset_device of dev_b called");
	return TEST_SUCCESS;
}

/* 15. Pipelining */

#define PIPE_N 50

static int
case_pipelined_reads(int *sp)
{
	struct vfio_user_hdr hdr;
	struct vfio_user_region_access a;
	const uint32_t msz = sizeof(hdr) + sizeof(a);
	uint8_t buf[PIPE_N * (sizeof(hdr) + sizeof(a))];
	uint16_t id0 = g_next_id;
	char what[64];
	int i;

	g_next_id += PIPE_N;
	tdev_fill(dev_a.bar0, BAR0_SIZE, 0x9e);
	for (i = 0; i < PIPE_N; i++) {
		hdr = (struct vfio_user_hdr){ .msg_id = id0 + i, .cmd = VFIO_USER_REGION_READ,
			.size = msz };
		a = (struct vfio_user_region_access){ .offset = i * 8, .region = 0, .count = 8 };
		memcpy(buf + i * msz, &hdr, sizeof(hdr));
		memcpy(buf + i * msz + sizeof(hdr), &a, sizeof(a));
	}
	CHECK_SENT(raw_send_bytes(*sp, buf, sizeof(buf)));
	for (i = 0; i < PIPE_N; i++) {
		snprintf(what, sizeof(what), "pipelined REGION_READ %d", i);
		CHECK(expect_reply(*sp, (uint16_t)(id0 + i), VFIO_USER_REGION_READ,
			sizeof(a) + 8, what));
		memcpy(&a, rx.data, sizeof(a));
		TEST_ASSERT(a.offset == (uint64_t)i * 8 && a.region == 0 && a.count == 8 &&
			memcmp(rx.data + sizeof(a), dev_a.bar0 + i * 8, 8) == 0,
			"%s: wrong reply contents", what);
	}
	return expect_silence(*sp, SILENCE_MS, "nothing after 50 replies");
}

/*
 * Runner
 */

typedef int (*hcase_fn)(int *sp);

static int
run_case(const char *name, hcase_fn fn, bool negotiated)
{
	struct leak_snap before, after;
	int s, ret, post;

	rmsg_close_fds(&rx);
	dev_a.cfg_bad_range = false;
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
	rmsg_close_fds(&rx);
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
	return ret == TEST_SUCCESS ? post : ret;
}

#define HCASE(fn, negotiated) \
static int tc_##fn(void) { return run_case(#fn, case_##fn, negotiated); }

HCASE(short_header, true)
HCASE(short_header_close, true)
HCASE(short_payload_eof, true)
HCASE(size_below_header, true)
HCASE(size_zero, true)
HCASE(size_above_max, true)
HCASE(size_4g, true)
HCASE(size_max_ok, true)
HCASE(size_lies, true)
HCASE(partial_header_stall, true)
HCASE(reply_typed_dropped, true)
HCASE(type_invalid, true)
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
HCASE(version_minor5, false)
HCASE(version_bare, false)
HCASE(version_twice, true)
HCASE(unknown_cmds, true)
HCASE(enotsup_cmds, true)
HCASE(dma_rw_as_command, true)
HCASE(too_many_fds, true)
HCASE(fd_on_get_info, true)
HCASE(dma_map_two_fds, true)
HCASE(no_reply_write, true)
HCASE(no_reply_error, true)
HCASE(wrong_sizes, true)
HCASE(wrong_sizes_write, true)
HCASE(wrong_sizes_set_irqs, true)
HCASE(bad_argsz, true)
HCASE(large_argsz, true)
HCASE(index_out_of_range, true)
HCASE(region_bounds, true)
HCASE(region_count, true)
HCASE(region_write_ro, true)
HCASE(region_cb_errno, true)
HCASE(dma_map_bad, true)
HCASE(dma_map_overlap, true)
HCASE(dma_unmap_bad, true)
HCASE(dma_map_bad_offset, true)
HCASE(dma_memfd_disconnect, true)
HCASE(set_irqs_bad, true)
HCASE(set_irqs_fds_dropped, true)
HCASE(write_multi_not_negotiated, true)
HCASE(write_multi_bad, false)
HCASE(reset, true)
HCASE(pipelined_reads, true)

static int
hostile_setup(void)
{
	struct rte_vfio_user_limits lim = { .reply_timeout_ms = STALL_MS };

	rx_buf = malloc(RX_BUF_SIZE);
	if (rx_buf == NULL)
		return TEST_FAILED;
	rx.data = rx_buf;
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_old_limits), "limits_get");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_set(&lim), "limits_set");
	TEST_ASSERT_SUCCESS(rte_vfio_user_limits_get(&g_limits), "limits_get");
	TEST_ASSERT_EQUAL(g_limits.reply_timeout_ms, (uint32_t)STALL_MS, "reply timeout");
	dev_a.id = dev_b.id = -1;
	TEST_ASSERT_SUCCESS(hdev_init(&dev_a, "a", true), "dev_a setup");
	TEST_ASSERT_SUCCESS(hdev_init(&dev_b, "b", false), "dev_b setup");
	b_sock = raw_connect(dev_b.path);
	TEST_ASSERT(b_sock >= 0, "connect to dev_b: %s", strerror(-b_sock));
	TEST_ASSERT_SUCCESS(negotiate_with(b_sock, DEF_CAPS, "dev_b VERSION"), "dev_b VERSION");
	return TEST_SUCCESS;
}

static void
hostile_teardown(void)
{
	rmsg_close_fds(&rx);
	raw_close(&b_sock);
	hdev_free(&dev_a);
	hdev_free(&dev_b);
	rte_vfio_user_limits_set(&g_old_limits);
	free(rx_buf);
	rx_buf = NULL;
	rx.data = NULL;
}

static struct unit_test_suite hostile_suite = {
	.suite_name = "vfio-user hostile client",
	.setup = hostile_setup,
	.teardown = hostile_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("short header, EOF", tc_short_header),
		TEST_CASE_NAMED("short header, close", tc_short_header_close),
		TEST_CASE_NAMED("short payload, EOF", tc_short_payload_eof),
		TEST_CASE_NAMED("size 15", tc_size_below_header),
		TEST_CASE_NAMED("size 0", tc_size_zero),
		TEST_CASE_NAMED("size above max", tc_size_above_max),
		TEST_CASE_NAMED("size 4 GiB - 1", tc_size_4g),
		TEST_CASE_NAMED("size exactly max", tc_size_max_ok),
		TEST_CASE_NAMED("size that lies (stall)", tc_size_lies),
		TEST_CASE_NAMED("partial header (stall)", tc_partial_header_stall),
		TEST_CASE_NAMED("reply-typed messages dropped", tc_reply_typed_dropped),
		TEST_CASE_NAMED("type bits 2 and 15", tc_type_invalid),
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
		TEST_CASE_NAMED("VERSION minor 5", tc_version_minor5),
		TEST_CASE_NAMED("VERSION bare 0.0", tc_version_bare),
		TEST_CASE_NAMED("second VERSION", tc_version_twice),
		TEST_CASE_NAMED("unknown commands", tc_unknown_cmds),
		TEST_CASE_NAMED("ENOTSUP commands", tc_enotsup_cmds),
		TEST_CASE_NAMED("DMA_READ/WRITE as commands", tc_dma_rw_as_command),
		TEST_CASE_NAMED("20 fds", tc_too_many_fds),
		TEST_CASE_NAMED("fd on GET_INFO", tc_fd_on_get_info),
		TEST_CASE_NAMED("DMA_MAP with 2 fds", tc_dma_map_two_fds),
		TEST_CASE_NAMED("NO_REPLY write", tc_no_reply_write),
		TEST_CASE_NAMED("NO_REPLY errors", tc_no_reply_error),
		TEST_CASE_NAMED("wrong payload sizes", tc_wrong_sizes),
		TEST_CASE_NAMED("wrong REGION_WRITE sizes", tc_wrong_sizes_write),
		TEST_CASE_NAMED("wrong SET_IRQS sizes", tc_wrong_sizes_set_irqs),
		TEST_CASE_NAMED("bad argsz", tc_bad_argsz),
		TEST_CASE_NAMED("large argsz", tc_large_argsz),
		TEST_CASE_NAMED("indexes out of range", tc_index_out_of_range),
		TEST_CASE_NAMED("region bounds and overflow", tc_region_bounds),
		TEST_CASE_NAMED("region count 0 / above max", tc_region_count),
		TEST_CASE_NAMED("write to read-only region", tc_region_write_ro),
		TEST_CASE_NAMED("callback errno", tc_region_cb_errno),
		TEST_CASE_NAMED("DMA_MAP bad", tc_dma_map_bad),
		TEST_CASE_NAMED("DMA_MAP overlap", tc_dma_map_overlap),
		TEST_CASE_NAMED("DMA_UNMAP bad", tc_dma_unmap_bad),
		TEST_CASE_NAMED("DMA_MAP unaligned fd offset", tc_dma_map_bad_offset),
		TEST_CASE_NAMED("DMA_MAP memfd, disconnect", tc_dma_memfd_disconnect),
		TEST_CASE_NAMED("SET_IRQS bad", tc_set_irqs_bad),
		TEST_CASE_NAMED("SET_IRQS eventfds, disconnect", tc_set_irqs_fds_dropped),
		TEST_CASE_NAMED("WRITE_MULTI not negotiated", tc_write_multi_not_negotiated),
		TEST_CASE_NAMED("WRITE_MULTI bad", tc_write_multi_bad),
		TEST_CASE_NAMED("RESET", tc_reset),
		TEST_CASE_NAMED("50 pipelined reads", tc_pipelined_reads),
		TEST_CASES_END()
	},
};

/* Everything the library creates once per process (the control thread and its epoll fd). */
static int
warm_up(void)
{
	struct hdev *d = &dev_a;
	int s, ret;

	dev_a.id = dev_b.id = -1;
	ret = hdev_init(d, "w", true);
	if (ret < 0)
		return TEST_FAILED;
	rx_buf = malloc(RX_BUF_SIZE);
	rx.data = rx_buf;
	s = raw_connect(d->path);
	ret = s >= 0 && rx_buf != NULL ? negotiate(s) : TEST_FAILED;
	if (ret == TEST_SUCCESS)
		ret = check_get_info(s, d, "warm-up GET_INFO");
	if (s >= 0)
		close(s);
	hdev_free(d);
	free(rx_buf);
	rx_buf = NULL;
	return ret;
}

static int
test_vfio_user_hostile(void)
{
	int fds0, maps0, fds1, maps1, ret;
	uint64_t end;

	TEST_ASSERT_SUCCESS(warm_up(), "warm-up");
	fds0 = count_fds();
	/* File and memfd mappings: anonymous ones come and go with malloc arenas. */
	maps0 = count_maps_lines("/");
	ret = unit_test_suite_runner(&hostile_suite);

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

REGISTER_TEST_COMMAND(vfio_user_hostile_autotest, test_vfio_user_hostile);

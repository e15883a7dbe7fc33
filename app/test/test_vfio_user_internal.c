/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Unit tests of the library's internal core: the DMA table, the JSON
 * capabilities and the transport/channel. Linked against the static library,
 * whose internal symbols are visible.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "test.h"

#include "vfio_user_caps.h"
#include "vfio_user_dma.h"
#include "vfio_user_sock.h"

static int
count_open_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

static bool
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int
make_memfd(size_t size)
{
	int fd = memfd_create("vfio_user_unit", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
test_dma_table_windows(void)
{
	struct vfio_user_dma_table tbl;
	const struct rte_vfio_user_mem_reg *r;
	static uint8_t mem_a[8192], mem_b[4096];
	uint8_t buf[6000];
	int prot = PROT_READ | PROT_WRITE;

	vfio_user_dma_init(&tbl, 4, false);

	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x10000, 0, prot, -1, 0, mem_a), -EINVAL,
		"size 0 accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, UINT64_MAX - 10, 12, prot, -1, 0, mem_a),
		-EINVAL, "window wrapping past 2^64 accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x10000, 4096, 0x4, -1, 0, mem_a), -EINVAL,
		"bad prot accepted");
	TEST_ASSERT_SUCCESS(vfio_user_dma_add(&tbl, UINT64_MAX - 4095, 4096, prot, -1, 0, mem_b),
		"window ending at 2^64 - 1 refused");

	TEST_ASSERT_SUCCESS(vfio_user_dma_add(&tbl, 0x20000, 8192, prot, -1, 0, mem_a), "add");
	/* Adjacent windows are fine, overlapping ones are not. */
	TEST_ASSERT_SUCCESS(vfio_user_dma_add(&tbl, 0x22000, 4096, PROT_READ, -1, 0, mem_b),
		"adjacent add");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x21fff, 1, prot, -1, 0, mem_b), -EEXIST,
		"overlap at the end accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x1f000, 0x1001, prot, -1, 0, mem_b), -EEXIST,
		"overlap at the start accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x1000, 0x100000, prot, -1, 0, mem_b), -EEXIST,
		"enclosing overlap accepted");
	TEST_ASSERT_SUCCESS(vfio_user_dma_add(&tbl, 0x0, 4096, prot, -1, 0, mem_b), "add low");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x40000, 4096, prot, -1, 0, mem_b), -ENOSPC,
		"max windows not enforced");
	TEST_ASSERT_EQUAL(tbl.pub.entry_num, 4u, "entry count");

	/* Sorted by iova. */
	TEST_ASSERT_EQUAL(tbl.pub.regions[0].iova, 0x0u, "order");
	TEST_ASSERT_EQUAL(tbl.pub.regions[1].iova, 0x20000u, "order");
	TEST_ASSERT_EQUAL(tbl.pub.regions[2].iova, 0x22000u, "order");

	r = vfio_user_dma_find(&tbl, 0x21fff);
	TEST_ASSERT(r != NULL && r->iova == 0x20000, "find inside");
	TEST_ASSERT_NULL(vfio_user_dma_find(&tbl, 0x23000), "find past the end");
	TEST_ASSERT_NULL(vfio_user_dma_find(&tbl, 0x1000), "find in a gap");

	/* A copy crosses adjacent windows; a write needs PROT_WRITE on every window. */
	memset(mem_a, 0xa5, sizeof(mem_a));
	memset(mem_b, 0x5a, sizeof(mem_b));
	TEST_ASSERT_SUCCESS(vfio_user_dma_copy(&tbl, 0x21000, buf, 6000, false), "read across");
	TEST_ASSERT(buf[0] == 0xa5 && buf[4095] == 0xa5 && buf[4096] == 0x5a &&
		buf[5999] == 0x5a, "read across windows returned wrong data");
	memset(buf, 0x11, sizeof(buf));
	TEST_ASSERT_EQUAL(vfio_user_dma_copy(&tbl, 0x21000, buf, 6000, true), -EFAULT,
		"write into a read-only window accepted");
	TEST_ASSERT_EQUAL(mem_a[4096], 0xa5, "a failed copy must copy nothing");
	TEST_ASSERT_EQUAL(vfio_user_dma_copy(&tbl, 0x1000, buf, 16, false), -EFAULT,
		"read from a gap accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_copy(&tbl, UINT64_MAX - 15, buf, 32, false), -EFAULT,
		"read wrapping 2^64 accepted");
	TEST_ASSERT_SUCCESS(vfio_user_dma_copy(&tbl, UINT64_MAX - 15, buf, 16, true),
		"write to the top window");
	TEST_ASSERT_EQUAL(mem_b[4095], 0x11, "write to the top window lost");

	/* Unmap needs the exact window. */
	TEST_ASSERT_EQUAL(vfio_user_dma_remove(&tbl, 0x20000, 4096), -ENOENT,
		"partial unmap accepted");
	TEST_ASSERT_EQUAL(vfio_user_dma_remove(&tbl, 0x20001, 8192), -ENOENT,
		"shifted unmap accepted");
	TEST_ASSERT_SUCCESS(vfio_user_dma_remove(&tbl, 0x20000, 8192), "exact unmap");
	TEST_ASSERT_NULL(vfio_user_dma_find(&tbl, 0x20000), "window still found");
	TEST_ASSERT_EQUAL(tbl.pub.entry_num, 3u, "entry count after unmap");
	vfio_user_dma_remove_all(&tbl);
	TEST_ASSERT_EQUAL(tbl.pub.entry_num, 0u, "remove all");
	vfio_user_dma_fini(&tbl);
	return TEST_SUCCESS;
}

static int
test_dma_table_mapped(void)
{
	struct vfio_user_dma_table tbl;
	const struct rte_vfio_user_mem_reg *r;
	int fds_before = count_open_fds();
	int fd, fd2, fd3;
	uint8_t val;

	vfio_user_dma_init(&tbl, 16, true);

	fd = make_memfd(2 * 4096);
	TEST_ASSERT(fd >= 0, "memfd");
	TEST_ASSERT_SUCCESS(vfio_user_dma_add(&tbl, 0x100000, 8192, PROT_READ | PROT_WRITE, fd,
		0, NULL), "map memfd");
	r = vfio_user_dma_find(&tbl, 0x100000);
	TEST_ASSERT(r != NULL && r->vaddr != NULL && r->fd == fd, "mapping not recorded");
	val = 0x3c;
	TEST_ASSERT_SUCCESS(vfio_user_dma_copy(&tbl, 0x101000, &val, 1, true), "write");
	TEST_ASSERT(pread(fd, &val, 1, 4096) == 1 && val == 0x3c,
		"write did not reach the file");

	/* A file shorter than the window would fault later: refused, fd closed. */
	fd2 = make_memfd(4096);
	TEST_ASSERT(fd2 >= 0, "memfd");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x200000, 8192, PROT_READ, fd2, 0, NULL),
		-EINVAL, "short file accepted");
	TEST_ASSERT(!fd_is_open(fd2), "refused fd leaked");

	fd3 = make_memfd(3 * 4096);
	TEST_ASSERT(fd3 >= 0, "memfd");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x200000, 4096, PROT_READ, fd3, 100, NULL),
		-EINVAL, "unaligned offset accepted");
	TEST_ASSERT(!fd_is_open(fd3), "refused fd leaked");

	fd3 = make_memfd(4096);
	TEST_ASSERT(fd3 >= 0, "memfd");
	TEST_ASSERT_EQUAL(vfio_user_dma_add(&tbl, 0x100800, 4096, PROT_READ, fd3, 0, NULL),
		-EEXIST, "overlap accepted");
	TEST_ASSERT(!fd_is_open(fd3), "refused fd leaked");

	/* The table owns the descriptor: it is closed when the window goes. */
	TEST_ASSERT_SUCCESS(vfio_user_dma_remove(&tbl, 0x100000, 8192), "unmap");
	TEST_ASSERT(!fd_is_open(fd), "fd of an unmapped window left open");
	vfio_user_dma_fini(&tbl);
	TEST_ASSERT_EQUAL(count_open_fds(), fds_before, "descriptors leaked");
	return TEST_SUCCESS;
}

static int
parse_str(const char *json, struct vfio_user_caps *caps)
{
	return vfio_user_caps_parse(json, strlen(json) + 1, caps);
}

static int
test_caps_parse(void)
{
	struct vfio_user_caps caps;
	static const char bad_nul[] = { '{', '}' };

	TEST_ASSERT_SUCCESS(vfio_user_caps_parse(NULL, 0, &caps), "no JSON");
	TEST_ASSERT(caps.present == 0 && caps.max_msg_fds == 1 &&
		caps.max_data_xfer_size == 1048576 && caps.pgsizes == 4096 &&
		caps.max_dma_maps == 65535, "specification defaults");

	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"max_msg_fds\":8,"
		"\"max_data_xfer_size\":65536,\"pgsizes\":2101248,\"max_dma_maps\":10,"
		"\"twin_socket\":{\"supported\":true},\"write_multiple\":true}}", &caps),
		"full capabilities");
	TEST_ASSERT_EQUAL(caps.present, 0x3fu, "present bits");
	TEST_ASSERT(caps.max_msg_fds == 8 && caps.max_data_xfer_size == 65536 &&
		caps.pgsizes == 2101248 && caps.max_dma_maps == 10 && caps.twin_supported &&
		!caps.twin_has_fd_index && caps.write_multiple, "values");

	/* Unknown keys are ignored. */
	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"future\":[1,2]},\"other\":null}",
		&caps), "unknown keys");
	TEST_ASSERT_EQUAL(caps.present, 0u, "unknown keys counted");
	/* "migration" as QEMU sends it, and as earlier drafts define it. */
	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"migration\":{\"pgsize\":4096}}}",
		&caps), "migration without max_bitmap_size");
	TEST_ASSERT(caps.present == VFIO_USER_CAP_MIGRATION && caps.mig_has_pgsize &&
		caps.mig_pgsize == 4096 && !caps.mig_has_max_bitmap, "migration pgsize");
	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"migration\":{\"pgsize\":65536,"
		"\"max_bitmap_size\":8192}}}", &caps), "full migration");
	TEST_ASSERT(caps.mig_pgsize == 65536 && caps.mig_has_max_bitmap &&
		caps.mig_max_bitmap == 8192, "migration values");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"migration\":{\"pgsize\":4097}}}",
		&caps), -EINVAL, "migration pgsize not a power of two accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"migration\":true}}", &caps), -EINVAL,
		"migration not an object accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"migration\":"
		"{\"max_bitmap_size\":0}}}", &caps), -EINVAL, "max_bitmap_size 0 accepted");
	TEST_ASSERT_SUCCESS(parse_str("{}", &caps), "empty object");
	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"pgsizes\":18446744073709547520}}",
		&caps), "pgsizes above INT64_MAX");
	TEST_ASSERT_EQUAL(caps.pgsizes, 0xfffffffffffff000ull, "large pgsizes");
	TEST_ASSERT_SUCCESS(parse_str("{\"capabilities\":{\"twin_socket\":{\"supported\":true,"
		"\"fd_index\":0}}}", &caps), "fd_index");
	TEST_ASSERT(caps.twin_has_fd_index && caps.twin_fd_index == 0, "fd_index value");

	TEST_ASSERT_EQUAL(vfio_user_caps_parse(bad_nul, sizeof(bad_nul), &caps), -EINVAL,
		"JSON without NUL accepted");
	TEST_ASSERT_EQUAL(parse_str("", &caps), -EINVAL, "empty string accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{}} trailing", &caps), -EINVAL,
		"trailing garbage accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":", &caps), -EINVAL,
		"truncated JSON accepted");
	TEST_ASSERT_EQUAL(parse_str("[1]", &caps), -EINVAL, "array accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":3}", &caps), -EINVAL,
		"non-object capabilities accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"max_msg_fds\":\"x\"}}", &caps),
		-EINVAL, "string number accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"max_msg_fds\":-1}}", &caps),
		-EINVAL, "negative number accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"max_msg_fds\":1.5}}", &caps),
		-EINVAL, "fraction accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"write_multiple\":1}}", &caps),
		-EINVAL, "number as boolean accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"twin_socket\":true}}", &caps),
		-EINVAL, "boolean twin_socket accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"max_data_xfer_size\":0}}", &caps),
		-EINVAL, "max_data_xfer_size 0 accepted");
	TEST_ASSERT_EQUAL(parse_str("{\"capabilities\":{\"pgsizes\":0}}", &caps),
		-EINVAL, "pgsizes 0 accepted");
	return TEST_SUCCESS;
}

static int
test_caps_format(void)
{
	struct vfio_user_caps caps, back;
	size_t len = 0;
	char *json;

	/* Only the keys marked present are written. */
	vfio_user_caps_defaults(&caps);
	caps.present = VFIO_USER_CAP_PGSIZES | VFIO_USER_CAP_TWIN_SOCKET;
	caps.pgsizes = 0x1000;
	caps.twin_supported = true;
	caps.twin_has_fd_index = true;
	caps.twin_fd_index = 0;
	json = vfio_user_caps_format(&caps, &len);
	TEST_ASSERT_NOT_NULL(json, "format");
	TEST_ASSERT_EQUAL(len, strlen(json) + 1, "length includes the NUL");
	TEST_ASSERT_NULL(strstr(json, "max_msg_fds"), "absent key written: %s", json);
	TEST_ASSERT_NULL(strstr(json, "write_multiple"), "absent key written: %s", json);
	TEST_ASSERT_SUCCESS(vfio_user_caps_parse(json, len, &back), "round trip: %s", json);
	TEST_ASSERT(back.present == caps.present && back.pgsizes == 0x1000 &&
		back.twin_supported && back.twin_has_fd_index && back.twin_fd_index == 0,
		"round trip values: %s", json);
	free(json);
	return TEST_SUCCESS;
}

static int
send_raw(int fd, const void *buf, size_t len, const int *fds, int nr_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (nr_fds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nr_fds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* A channel reading sv[1], with small limits; sv[0] is the raw peer. */
static int
stream_setup(int sv[2], struct vfio_user_chan *chan, struct vfio_user_msg *msg)
{
	struct rte_vfio_user_limits lim;

	rte_vfio_user_limits_get(&lim);
	lim.max_msg_size = 512 * 1024;
	lim.max_msg_fds = 16;
	lim.reply_timeout_ms = 1000;
	vfio_user_msg_init(msg);
	if (vfio_user_sock_pair(sv) < 0)
		return -1;
	return vfio_user_chan_init(chan, sv[1], &lim);
}

static void
stream_teardown(int sv[2], struct vfio_user_chan *chan, struct vfio_user_msg *msg)
{
	vfio_user_chan_fini(chan);
	vfio_user_msg_release(msg);
	close(sv[0]);
	close(sv[1]);
}

static int
test_chan_stream(void)
{
	struct vfio_user_hdr hdr = { .msg_id = 7, .cmd = VFIO_USER_DMA_MAP };
	uint8_t payload[32] = { 1, 2, 3 };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct vfio_user_chan chan;
	struct vfio_user_msg msg;
	int fds_before = count_open_fds();
	int sv[2], efd[20], i;

	TEST_ASSERT_SUCCESS(stream_setup(sv, &chan, &msg), "setup");

	/* A message with one descriptor. */
	efd[0] = make_memfd(4096);
	TEST_ASSERT_SUCCESS(vfio_user_sock_send(sv[0], &hdr, &iov, 1, efd, 1, 1000), "send");
	close(efd[0]);
	TEST_ASSERT_EQUAL(hdr.size, 48u, "size set by send");
	TEST_ASSERT_SUCCESS(vfio_user_chan_recv(&chan, &msg, 1000), "recv");
	TEST_ASSERT(msg.hdr.msg_id == 7 && msg.hdr.cmd == VFIO_USER_DMA_MAP && msg.len == 32 &&
		msg.data[2] == 3 && msg.nr_fds == 1 && msg.fds[0] >= 0, "message content");

	/* Nothing there: -EAGAIN, with and without a wait; old descriptors closed. */
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 0), -EAGAIN, "empty");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 20), -EAGAIN, "empty with wait");
	TEST_ASSERT_EQUAL(msg.nr_fds, 0u, "old descriptors not closed");

	/*
	 * Descriptors go with their own message when two messages are read at
	 * once, whichever of the two carries them.
	 */
	efd[0] = make_memfd(0);
	hdr.msg_id = 1;
	TEST_ASSERT_SUCCESS(vfio_user_sock_send(sv[0], &hdr, &iov, 1, NULL, 0, 1000), "send");
	hdr.msg_id = 2;
	TEST_ASSERT_SUCCESS(vfio_user_sock_send(sv[0], &hdr, &iov, 1, efd, 1, 1000), "send");
	hdr.msg_id = 3;
	TEST_ASSERT_SUCCESS(vfio_user_sock_send(sv[0], &hdr, &iov, 1, NULL, 0, 1000), "send");
	close(efd[0]);
	for (i = 1; i <= 3; i++) {
		TEST_ASSERT_SUCCESS(vfio_user_chan_recv(&chan, &msg, 1000), "recv %d", i);
		TEST_ASSERT_EQUAL(msg.hdr.msg_id, i, "order");
		TEST_ASSERT_EQUAL(msg.nr_fds, i == 2 ? 1u : 0u,
			"descriptor given to message %d", i);
	}

	/* Too many descriptors: the message is read, all of them closed. */
	for (i = 0; i < 20; i++)
		efd[i] = make_memfd(0);
	TEST_ASSERT_SUCCESS(vfio_user_sock_send(sv[0], &hdr, &iov, 1, efd, 20, 1000), "send");
	for (i = 0; i < 20; i++)
		close(efd[i]);
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 1000), -ETOOMANYREFS,
		"too many descriptors");
	TEST_ASSERT(msg.nr_fds == 0 && msg.fds_dropped && msg.hdr.msg_id == 3,
		"dropped descriptors not reported");

	/* A message in pieces is returned whole once the rest comes, without waiting. */
	hdr.msg_id = 9;
	hdr.size = 48;
	TEST_ASSERT_SUCCESS(send_raw(sv[0], &hdr, 10, NULL, 0), "send raw");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 0), -EAGAIN, "partial header");
	TEST_ASSERT_NOT_EQUAL(vfio_user_chan_partial_id(&chan), 0u, "partial not seen");
	TEST_ASSERT_SUCCESS(send_raw(sv[0], (uint8_t *)&hdr + 10, 6, NULL, 0), "send raw");
	TEST_ASSERT_SUCCESS(send_raw(sv[0], payload, 20, NULL, 0), "send raw");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 0), -EAGAIN, "partial payload");
	TEST_ASSERT_SUCCESS(send_raw(sv[0], payload + 20, 12, NULL, 0), "send raw");
	TEST_ASSERT_SUCCESS(vfio_user_chan_recv(&chan, &msg, 0), "completed message");
	TEST_ASSERT(msg.hdr.msg_id == 9 && msg.len == 32 && msg.data[2] == 3, "content");
	TEST_ASSERT_EQUAL(vfio_user_chan_partial_id(&chan), 0u, "buffer not empty");
	TEST_ASSERT_EQUAL(vfio_user_chan_buffered(&chan), 0u, "buffer not empty");

	/* The peer closes in the middle of a message (a header and 4 of 32 bytes). */
	TEST_ASSERT_SUCCESS(send_raw(sv[0], &hdr, sizeof(hdr), NULL, 0), "send raw");
	TEST_ASSERT_SUCCESS(send_raw(sv[0], payload, 4, NULL, 0), "send raw");
	close(sv[0]);
	sv[0] = -1;
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 1000), -ECONNRESET,
		"message cut by close");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 0), -ENOTCONN, "dead channel");
	stream_teardown(sv, &chan, &msg);

	/* Sizes outside [header, max_msg_size] end the stream. */
	TEST_ASSERT_SUCCESS(stream_setup(sv, &chan, &msg), "setup");
	hdr.size = 1 << 20;
	TEST_ASSERT_SUCCESS(send_raw(sv[0], &hdr, sizeof(hdr), NULL, 0), "send raw");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 1000), -EMSGSIZE,
		"oversized message accepted");
	TEST_ASSERT_EQUAL(msg.hdr.size, 1u << 20, "header of the refused message");
	stream_teardown(sv, &chan, &msg);
	TEST_ASSERT_SUCCESS(stream_setup(sv, &chan, &msg), "setup");
	hdr.size = 8;
	TEST_ASSERT_SUCCESS(send_raw(sv[0], &hdr, sizeof(hdr), NULL, 0), "send raw");
	TEST_ASSERT_EQUAL(vfio_user_chan_recv(&chan, &msg, 1000), -EMSGSIZE,
		"undersized message accepted");
	stream_teardown(sv, &chan, &msg);

	TEST_ASSERT_EQUAL(count_open_fds(), fds_before, "descriptors leaked");
	return TEST_SUCCESS;
}

struct big_sender {
	int fd;
	uint8_t *buf;
	uint32_t len;
	int ret;
};

static void *
big_send(void *arg)
{
	struct big_sender *b = arg;
	struct vfio_user_hdr hdr = { .msg_id = 5, .cmd = VFIO_USER_REGION_WRITE };
	struct iovec iov = { .iov_base = b->buf, .iov_len = b->len };

	b->ret = vfio_user_sock_send(b->fd, &hdr, &iov, 1, NULL, 0, 5000);
	return NULL;
}

/* A message larger than the initial stream buffer arrives whole. */
static int
test_chan_large(void)
{
	struct big_sender b = { .len = 300 * 1024 };
	struct vfio_user_chan chan;
	struct vfio_user_msg msg;
	pthread_t th;
	uint32_t i;
	int sv[2], ret;

	TEST_ASSERT_SUCCESS(stream_setup(sv, &chan, &msg), "setup");
	b.fd = sv[0];
	b.buf = malloc(b.len);
	TEST_ASSERT_NOT_NULL(b.buf, "malloc");
	for (i = 0; i < b.len; i++)
		b.buf[i] = (uint8_t)(i * 7);
	pthread_create(&th, NULL, big_send, &b);
	do {
		ret = vfio_user_chan_recv(&chan, &msg, 2000);
	} while (ret == -EAGAIN);
	pthread_join(th, NULL);
	TEST_ASSERT_SUCCESS(b.ret, "send");
	TEST_ASSERT_SUCCESS(ret, "recv");
	TEST_ASSERT(msg.len == b.len && memcmp(msg.data, b.buf, b.len) == 0,
		"large message damaged");
	free(b.buf);
	stream_teardown(sv, &chan, &msg);
	return TEST_SUCCESS;
}

/* A peer that answers two pipelined requests in reverse order, plus a stray reply. */
static void *
reorder_peer(void *arg)
{
	struct vfio_user_chan *peer = arg;
	struct vfio_user_msg a, b;
	struct vfio_user_hdr stray = { .msg_id = 999, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.flags = VFIO_USER_F_TYPE_REPLY };
	uint32_t val;
	struct iovec iov = { .iov_base = &val, .iov_len = sizeof(val) };

	vfio_user_msg_init(&a);
	vfio_user_msg_init(&b);
	if (vfio_user_chan_recv(peer, &a, 2000) == 0 &&
			vfio_user_chan_recv(peer, &b, 2000) == 0) {
		vfio_user_chan_send(peer, &stray, NULL, 0, NULL, 0);
		memcpy(&val, b.data, sizeof(val));
		vfio_user_chan_reply(peer, &b.hdr, 0, &iov, 1, NULL, 0);
		memcpy(&val, a.data, sizeof(val));
		vfio_user_chan_reply(peer, &a.hdr, 0, &iov, 1, NULL, 0);
	}
	vfio_user_msg_release(&a);
	vfio_user_msg_release(&b);
	return NULL;
}

struct caller {
	struct vfio_user_chan *chan;
	uint32_t val;
	uint32_t got;
	int ret;
};

static void *
chan_caller(void *arg)
{
	struct caller *c = arg;
	struct iovec iov = { .iov_base = &c->val, .iov_len = sizeof(c->val) };
	struct vfio_user_msg reply;

	vfio_user_msg_init(&reply);
	c->ret = vfio_user_chan_call(c->chan, VFIO_USER_REGION_READ, &iov, 1, NULL, 0, &reply);
	if (c->ret == 0 && reply.len == sizeof(c->got))
		memcpy(&c->got, reply.data, sizeof(c->got));
	vfio_user_msg_release(&reply);
	return NULL;
}

static int
test_chan_matching(void)
{
	struct rte_vfio_user_limits lim;
	struct vfio_user_chan chan, peer_chan;
	struct caller c[2];
	struct vfio_user_msg reply;
	pthread_t peer, th[2];
	int sv[2], i;

	rte_vfio_user_limits_get(&lim);
	lim.reply_timeout_ms = 2000;
	TEST_ASSERT_SUCCESS(vfio_user_sock_pair(sv), "socketpair");
	TEST_ASSERT_SUCCESS(vfio_user_chan_init(&chan, sv[0], &lim), "chan init");
	TEST_ASSERT_SUCCESS(vfio_user_chan_init(&peer_chan, sv[1], &lim), "chan init");
	pthread_create(&peer, NULL, reorder_peer, &peer_chan);

	/* Two threads wait at once; each gets its own reply although they come reversed. */
	for (i = 0; i < 2; i++) {
		c[i].chan = &chan;
		c[i].val = 100 + i;
		c[i].got = 0;
		pthread_create(&th[i], NULL, chan_caller, &c[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_join(peer, NULL);
	for (i = 0; i < 2; i++) {
		TEST_ASSERT_SUCCESS(c[i].ret, "call %d", i);
		TEST_ASSERT_EQUAL(c[i].got, 100u + i, "reply of call %d went astray", i);
	}

	/* A silent peer times out; a closed one fails the call at once. */
	chan.timeout_ms = 100;
	vfio_user_msg_init(&reply);
	TEST_ASSERT_EQUAL(vfio_user_chan_call(&chan, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0,
		&reply), -ETIMEDOUT, "silent peer");
	close(sv[1]);
	chan.timeout_ms = 2000;
	i = vfio_user_chan_call(&chan, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, &reply);
	TEST_ASSERT(i == -ECONNRESET || i == -ENOTCONN || i == -EPIPE,
		"closed peer gave %d", i);
	TEST_ASSERT_EQUAL(vfio_user_chan_call(&chan, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0,
		&reply), -ENOTCONN, "dead channel");
	vfio_user_msg_release(&reply);
	vfio_user_chan_fini(&chan);
	vfio_user_chan_fini(&peer_chan);
	close(sv[0]);
	return TEST_SUCCESS;
}

/* Answers the next request twice: first as the late reply of late_id, then itself. */
struct late_peer {
	struct vfio_user_chan *chan;
	uint16_t late_id;
	uint16_t got_id;
	int ret;
};

static void *
late_reply_peer(void *arg)
{
	struct late_peer *p = arg;
	struct vfio_user_hdr late;
	struct vfio_user_msg m;
	uint32_t val = 1;
	struct iovec iov = { .iov_base = &val, .iov_len = sizeof(val) };

	vfio_user_msg_init(&m);
	p->ret = vfio_user_chan_recv(p->chan, &m, 2000);
	if (p->ret == 0) {
		p->got_id = m.hdr.msg_id;
		late = m.hdr;
		late.msg_id = p->late_id;
		vfio_user_chan_reply(p->chan, &late, 0, &iov, 1, NULL, 0);
		val = 2;
		vfio_user_chan_reply(p->chan, &m.hdr, 0, &iov, 1, NULL, 0);
	}
	vfio_user_msg_release(&m);
	return NULL;
}

/*
 * vfio_user_chan_hold(): a waiting call and new ones fail with its error;
 * the held call's id is not reused before its late reply came, even when
 * the 16-bit id wraps onto it.
 */
static int
test_chan_hold(void)
{
	struct rte_vfio_user_limits lim;
	struct vfio_user_chan chan, peer_chan;
	struct vfio_user_msg req, reply;
	struct caller c = { .val = 7 };
	struct late_peer p;
	pthread_t th;
	uint16_t held_id;
	int sv[2], ret;

	rte_vfio_user_limits_get(&lim);
	lim.reply_timeout_ms = 2000;
	TEST_ASSERT_SUCCESS(vfio_user_sock_pair(sv), "socketpair");
	TEST_ASSERT_SUCCESS(vfio_user_chan_init(&chan, sv[0], &lim), "chan init");
	TEST_ASSERT_SUCCESS(vfio_user_chan_init(&peer_chan, sv[1], &lim), "chan init");
	vfio_user_msg_init(&req);
	vfio_user_msg_init(&reply);

	/* The caller waits without reading, as a device thread of a server session does. */
	chan.ctrl_reads_only = true;
	c.chan = &chan;
	pthread_create(&th, NULL, chan_caller, &c);
	ret = vfio_user_chan_recv(&peer_chan, &req, 2000);
	held_id = req.hdr.msg_id;
	vfio_user_msg_release(&req);
	if (ret == 0)
		vfio_user_chan_hold(&chan, EAGAIN);
	else
		vfio_user_chan_kill(&chan, ECONNRESET);
	pthread_join(th, NULL);
	TEST_ASSERT_SUCCESS(ret, "request: %d", ret);
	TEST_ASSERT_EQUAL(c.ret, -EAGAIN, "waiting call: %d", c.ret);
	ret = vfio_user_chan_call(&chan, VFIO_USER_REGION_READ, NULL, 0, NULL, 0, &reply);
	TEST_ASSERT_EQUAL(ret, -EAGAIN, "call while held: %d", ret);
	vfio_user_chan_hold(&chan, 0);

	/* Released; the next id would be the held one (a wrap): its late reply comes first. */
	chan.ctrl_reads_only = false;
	chan.next_id = held_id;
	p = (struct late_peer){ .chan = &peer_chan, .late_id = held_id };
	pthread_create(&th, NULL, late_reply_peer, &p);
	c.val = 9;
	c.got = 0;
	chan_caller(&c);
	pthread_join(th, NULL);
	TEST_ASSERT_SUCCESS(p.ret, "peer: %d", p.ret);
	TEST_ASSERT(p.got_id != held_id, "id %u of the held call reused", held_id);
	TEST_ASSERT_SUCCESS(c.ret, "call after the hold: %d", c.ret);
	TEST_ASSERT_EQUAL(c.got, 2u, "the late reply answered a new call");

	vfio_user_msg_release(&reply);
	vfio_user_chan_fini(&chan);
	vfio_user_chan_fini(&peer_chan);
	close(sv[0]);
	close(sv[1]);
	return TEST_SUCCESS;
}

static struct unit_test_suite vfio_user_internal_suite = {
	.suite_name = "vfio-user internal functions",
	.unit_test_cases = {
		TEST_CASE(test_dma_table_windows),
		TEST_CASE(test_dma_table_mapped),
		TEST_CASE(test_caps_parse),
		TEST_CASE(test_caps_format),
		TEST_CASE(test_chan_stream),
		TEST_CASE(test_chan_large),
		TEST_CASE(test_chan_matching),
		TEST_CASE(test_chan_hold),
		TEST_CASES_END()
	},
};

static int
test_vfio_user_internal(void)
{
	return unit_test_suite_runner(&vfio_user_internal_suite);
}

REGISTER_TEST_COMMAND(vfio_user_internal_autotest, test_vfio_user_internal);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Raw vfio-user peer, message layer: see vfio_user_peer.h. Shared by the
 * hostile client (vfio_user_hostile.c), the scripted fake server
 * (vfio_user_fake_peer.c) and the hardening tests.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_common.h>

#include "test.h"
#include "vfio_user_peer.h"

/*
 * Message layer
 */

int
raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 3 };
	int s;

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A server that stops reading must not hang the test in send(). */
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

int
raw_sendv(int s, struct iovec *iov, int iovcnt, const int *fds, int nr_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * RAW_MAX_FDS)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iovcnt };
	struct cmsghdr *c;
	size_t total = 0, sent = 0;
	ssize_t n;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (nr_fds > 0) {
		if (nr_fds > RAW_MAX_FDS)
			return -EINVAL;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
	}
	while (sent < total) {
		n = sendmsg(s, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		/* Skip what went out. */
		while (n > 0 && mh.msg_iovlen > 0) {
			if ((size_t)n >= mh.msg_iov->iov_len) {
				n -= mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + n;
				mh.msg_iov->iov_len -= n;
				n = 0;
			}
		}
	}
	return 0;
}

int
raw_send_parts(int s, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error,
		const void *p1, size_t l1, const void *p2, size_t l2, const int *fds, int nr_fds)
{
	struct vfio_user_hdr hdr = {
		.msg_id = id,
		.cmd = cmd,
		.size = (uint32_t)(VFIO_USER_HDR_SIZE + l1 + l2),
		.flags = flags,
		.error = error,
	};
	struct iovec iov[3] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)(uintptr_t)p1, .iov_len = l1 },
		{ .iov_base = (void *)(uintptr_t)p2, .iov_len = l2 },
	};

	return raw_sendv(s, iov, 3, fds, nr_fds);
}

int
raw_send(int s, uint16_t id, uint16_t cmd, uint32_t flags, const void *payload, uint32_t len,
		const int *fds, int nr_fds)
{
	return raw_send_parts(s, id, cmd, flags, 0, payload, len, NULL, 0, fds, nr_fds);
}

int
raw_send_bytes(int s, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	return raw_sendv(s, &iov, 1, NULL, 0);
}

void
raw_msg_close_fds(struct raw_msg *m)
{
	int i;

	for (i = 0; i < RTE_MIN(m->nr_fds, RAW_MAX_FDS); i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nr_fds = 0;
}

void
raw_close(int *s)
{
	if (*s >= 0)
		close(*s);
	*s = -1;
}

static void
raw_keep_fds(struct raw_msg *m, struct msghdr *mh)
{
	struct cmsghdr *c;
	int nfd, i, fd;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nr_fds < RAW_MAX_FDS)
				m->fds[m->nr_fds] = fd;
			else
				close(fd);
			m->nr_fds++;
		}
	}
}

/*
 * Read @len bytes before @deadline (@buf NULL: drop them), keeping the
 * descriptors in @m. 0, -ECONNRESET on end of stream before the first byte,
 * -EPIPE after it, -ETIMEDOUT or another -errno.
 */
static int
raw_read(int s, void *buf, size_t len, struct raw_msg *m, uint64_t deadline)
{
	char cbuf[CMSG_SPACE(sizeof(int) * RAW_MAX_FDS)];
	uint8_t sink[512];
	size_t got = 0;
	ssize_t n;
	int ret;

	while (got < len) {
		struct iovec iov = {
			.iov_base = buf != NULL ? (uint8_t *)buf + got : sink,
			.iov_len = buf != NULL ? len - got : RTE_MIN(len - got, sizeof(sink)),
		};
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		uint64_t now = now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)(deadline - now));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return -errno;
		if (n > 0)
			raw_keep_fds(m, &mh);
		if (n <= 0)
			return got == 0 ? -ECONNRESET : -EPIPE;
		got += n;
	}
	return 0;
}

int
raw_recv(int s, struct raw_msg *m, int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	uint32_t keep;
	int ret;

	m->len = 0;
	ret = raw_read(s, &m->hdr, sizeof(m->hdr), m, deadline);
	if (ret < 0)
		return ret;
	if (m->hdr.size < VFIO_USER_HDR_SIZE)
		return -EMSGSIZE;
	m->len = m->hdr.size - VFIO_USER_HDR_SIZE;
	if (m->len > m->cap && !m->truncate)
		return -EMSGSIZE;
	keep = RTE_MIN(m->len, m->cap);
	ret = raw_read(s, m->data, keep, m, deadline);
	if (ret == 0 && m->len > keep)
		ret = raw_read(s, NULL, m->len - keep, m, deadline);
	return ret == -ECONNRESET ? -EPIPE : ret;
}

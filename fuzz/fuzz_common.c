/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_vfio_user.h>

#include "fuzz_common.h"

#define FUZZ_MAX_FDS 3
#define FUZZ_RX_BUF 65536

int
fuzz_next_rec(const uint8_t **buf, size_t *left, struct fuzz_rec *rec)
{
	size_t len;

	if (*left < FUZZ_REC_HDR_SIZE)
		return -1;
	rec->flags = (*buf)[0];
	len = (size_t)(*buf)[1] | ((size_t)(*buf)[2] << 8);
	*buf += FUZZ_REC_HDR_SIZE;
	*left -= FUZZ_REC_HDR_SIZE;
	if (len > *left)
		len = *left;
	rec->data = *buf;
	rec->len = len;
	*buf += len;
	*left -= len;
	return 0;
}

static char sock_dir[80];

static void
rm_sock_dir(void)
{
	char cmd[128];

	if (sock_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sock_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", sock_dir);
}

const char *
fuzz_sock_dir(void)
{
	return sock_dir;
}

int
fuzz_eal_init(const char *name)
{
	static int done;
	struct rte_vfio_user_limits lim = {
		.reply_timeout_ms = 20,
		.max_data_xfer_size = 16384,
		.max_msg_size = 16384 + 4096,
		.max_dma_maps = 64,
		.max_pending_msgs = 16,
		.max_dma_mapped_bytes = 1u << 20,
	};
	char prefix[64];
	const char *tmp;
	char *argv[] = {
		(char *)(uintptr_t)name, "--no-huge", "--no-pci", "--no-shconf", "-m", "64",
		"--file-prefix", prefix, "--log-level=lib.vfio_user*:critical",
		"--log-level=lib.eal:error",
	};

	if (done)
		return 0;
	/* VFU_FUZZ_VERBOSE=1 shows what the library makes of an input. */
	if (getenv("VFU_FUZZ_VERBOSE") != NULL)
		argv[8] = "--log-level=lib.vfio_user*:debug";
	snprintf(prefix, sizeof(prefix), "%s-%d", name, (int)getpid());
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	if (rte_vfio_user_limits_set(&lim) < 0) {
		fprintf(stderr, "limits_set failed\n");
		return -1;
	}
	/* libFuzzer may end without atexit(): devtools/fuzz.sh points TMPDIR at its own. */
	tmp = getenv("TMPDIR");
	snprintf(sock_dir, sizeof(sock_dir), "%s/vfu-fuzz-XXXXXX",
		tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 60 ? tmp : "/tmp");
	if (mkdtemp(sock_dir) == NULL) {
		sock_dir[0] = '\0';
		return -1;
	}
	atexit(rm_sock_dir);
	done = 1;
	return 0;
}

static int
make_fd(bool efd)
{
	int fd;

	if (efd)
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fd = memfd_create("vfu-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && ftruncate(fd, FUZZ_MEMFD_SIZE) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
fuzz_send_rec(int sock, const struct fuzz_rec *rec, uint8_t *scratch)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FUZZ_MAX_FDS)];
	} cbuf;
	int fds[FUZZ_MAX_FDS];
	uint32_t nfds = rec->flags & FUZZ_REC_NFDS_MASK, i;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	int ret = 0;

	/* A descriptor needs at least one byte to travel with. */
	if (rec->len == 0)
		return 0;
	for (i = 0; i < nfds; i++) {
		fds[i] = make_fd(rec->flags & FUZZ_REC_EVENTFD);
		if (fds[i] < 0) {
			nfds = i;
			break;
		}
	}
	memcpy(scratch, rec->data, rec->len);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = scratch;
	iov.iov_len = rec->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (iov.iov_len > 0) {
		struct pollfd pfd = { .fd = sock, .events = POLLOUT };

		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* Full: the peer may be waiting for us to read its replies. */
			if (fuzz_drain(sock, 0) < 0 || poll(&pfd, 1, 200) <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
			continue;
		}
		if (n < 0) {
			ret = -errno;
			break;
		}
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return ret;
}

/* recvmsg() that closes every descriptor received. */
static ssize_t
recv_close_fds(int sock, void *buf, size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 253)];
	} cbuf;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(cm);
			size_t i, nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < nr; i++)
				close(fds[i]);
		}
	}
	return n;
}

long
fuzz_drain(int sock, int wait_ms)
{
	static uint8_t buf[FUZZ_RX_BUF];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	long total = 0;
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, total == 0 ? wait_ms : 0) <= 0)
			return total;
		n = recv_close_fds(sock, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return total;
		if (n <= 0)
			return -1;
		total += n;
	}
}

/* Read exactly len bytes (buf NULL: discard them) within wait_ms. */
static int
read_exact(int sock, uint8_t *buf, size_t len, int wait_ms)
{
	static uint8_t sink[FUZZ_RX_BUF];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t n;

	while (len > 0) {
		if (poll(&pfd, 1, wait_ms) <= 0)
			return -1;
		n = recv_close_fds(sock, buf != NULL ? buf : sink,
				buf != NULL ? len : RTE_MIN(len, sizeof(sink)));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		if (buf != NULL)
			buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fuzz_read_msg(int sock, int wait_ms, uint8_t hdr[16])
{
	uint32_t size;

	if (read_exact(sock, hdr, 16, wait_ms) < 0)
		return -1;
	memcpy(&size, hdr + 4, sizeof(size));
	if (size < 16)
		return -1;
	return read_exact(sock, NULL, size - 16, wait_ms);
}

void
fuzz_client_session(const char *path, const uint8_t *data, size_t size, int end_ms,
		uint8_t *scratch)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct fuzz_rec rec;
	int sock;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		abort();
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		abort();
	}
	while (fuzz_next_rec(&data, &size, &rec) == 0) {
		if (fuzz_send_rec(sock, &rec, scratch) < 0)
			break;
		if (fuzz_drain(sock, 0) < 0)
			break;
	}
	/* The server must end the session once we stop sending: wait for it. */
	shutdown(sock, SHUT_WR);
	while (fuzz_drain(sock, end_ms) > 0)
		;
	close(sock);
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "vfio_user_ctrl.h"
#include "vfio_user_sock.h"

/* Initial stream buffer of a channel; it grows to hold the largest message seen. */
#define CHAN_RX_SIZE (64 * 1024)

struct vfio_user_waiter {
	TAILQ_ENTRY(vfio_user_waiter) next;
	uint16_t msg_id;
	uint16_t cmd;
	bool done;
	int err;                    /* set when the reply itself was unusable */
	bool held;                  /* failed by vfio_user_chan_hold(): its reply is owed */
	struct vfio_user_msg *reply;
};

/* Milliseconds left until deadline (-1: none), for poll(). */
static int
time_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - vfio_user_now_ms();
	return left > 0 ? (int)RTE_MIN(left, (int64_t)INT32_MAX) : 0;
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, time_left(deadline));
		if (ret > 0)
			return 0;
		if (ret == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void
vfio_user_msg_init(struct vfio_user_msg *msg)
{
	memset(&msg->hdr, 0, sizeof(msg->hdr));
	msg->len = 0;
	msg->cap = 0;
	msg->data = NULL;
	msg->fds_dropped = false;
	msg->nr_fds = 0;
}

void
vfio_user_msg_close_fds(struct vfio_user_msg *msg)
{
	uint32_t i;

	for (i = 0; i < msg->nr_fds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nr_fds = 0;
}

void
vfio_user_msg_release(struct vfio_user_msg *msg)
{
	vfio_user_msg_close_fds(msg);
	free(msg->data);
	vfio_user_msg_init(msg);
}

int
vfio_user_msg_take_fd(struct vfio_user_msg *msg, uint32_t idx)
{
	int fd;

	if (idx >= msg->nr_fds)
		return -1;
	fd = msg->fds[idx];
	msg->fds[idx] = -1;
	return fd;
}

/* Swap buffers so that both sides keep an allocation for reuse. */
void
vfio_user_msg_move(struct vfio_user_msg *dst, struct vfio_user_msg *src)
{
	uint8_t *data = dst->data;
	uint32_t cap = dst->cap;

	vfio_user_msg_close_fds(dst);
	dst->hdr = src->hdr;
	dst->len = src->len;
	dst->data = src->data;
	dst->cap = src->cap;
	dst->fds_dropped = src->fds_dropped;
	dst->nr_fds = src->nr_fds;
	memcpy(dst->fds, src->fds, sizeof(int) * src->nr_fds);

	memset(&src->hdr, 0, sizeof(src->hdr));
	src->len = 0;
	src->data = data;
	src->cap = cap;
	src->fds_dropped = false;
	src->nr_fds = 0;
}

int
vfio_user_sock_msghdr(struct msghdr *mh, struct iovec *vec, char *cbuf, struct vfio_user_hdr *hdr,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds)
{
	uint64_t total = VFIO_USER_HDR_SIZE;
	int i;

	if (iovcnt < 0 || iovcnt > VFIO_USER_SEND_MAX_IOV || nr_fds > VFIO_USER_SCM_MAX_FDS)
		return -EINVAL;
	memset(mh, 0, sizeof(*mh));
	mh->msg_iov = vec;
	vec[0].iov_base = hdr;
	vec[0].iov_len = VFIO_USER_HDR_SIZE;
	for (i = 0; i < iovcnt; i++) {
		vec[i + 1] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -EINVAL;
	hdr->size = (uint32_t)total;
	mh->msg_iovlen = iovcnt + 1;

	if (nr_fds > 0) {
		struct cmsghdr *cmsg;

		memset(cbuf, 0, CMSG_SPACE(sizeof(int) * nr_fds));
		mh->msg_control = cbuf;
		mh->msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		cmsg = CMSG_FIRSTHDR(mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nr_fds);
	}
	return 0;
}

int64_t
vfio_user_sock_sendmsg(int fd, struct msghdr *mh, int64_t deadline, bool nowait)
{
	int64_t sent = 0;
	ssize_t n;
	int ret;

	while (mh->msg_iovlen > 0) {
		n = sendmsg(fd, mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			if (nowait)
				break;
			ret = wait_fd(fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		sent += n;
		/* The descriptors went with the first bytes. */
		mh->msg_control = NULL;
		mh->msg_controllen = 0;
		while (mh->msg_iovlen > 0 && (size_t)n >= mh->msg_iov[0].iov_len) {
			n -= mh->msg_iov[0].iov_len;
			mh->msg_iov++;
			mh->msg_iovlen--;
		}
		if (mh->msg_iovlen > 0) {
			mh->msg_iov[0].iov_base = (char *)mh->msg_iov[0].iov_base + n;
			mh->msg_iov[0].iov_len -= n;
		}
	}
	return sent;
}

int
vfio_user_sock_send(int fd, struct vfio_user_hdr *hdr, const struct iovec *iov, int iovcnt,
		const int *fds, uint32_t nr_fds, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VFIO_USER_SCM_MAX_FDS)];
	int64_t deadline = timeout_ms < 0 ? -1 : vfio_user_now_ms() + timeout_ms;
	struct iovec vec[VFIO_USER_SEND_MAX_IOV + 1];
	struct msghdr mh;
	int64_t ret;

	ret = vfio_user_sock_msghdr(&mh, vec, cbuf, hdr, iov, iovcnt, fds, nr_fds);
	if (ret == 0)
		ret = vfio_user_sock_sendmsg(fd, &mh, deadline, false);
	return ret < 0 ? (int)ret : 0;
}

int
vfio_user_sock_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

/*
 * Channel
 */

int
vfio_user_chan_init(struct vfio_user_chan *chan, int fd, const struct rte_vfio_user_limits *lim)
{
	pthread_condattr_t attr;
	int ret;

	memset(chan, 0, sizeof(*chan));
	chan->fd = fd;
	chan->max_msg_size = lim->max_msg_size;
	chan->max_fds = lim->max_msg_fds;
	chan->timeout_ms = (int)lim->reply_timeout_ms;
	TAILQ_INIT(&chan->waiters);
	TAILQ_INIT(&chan->outq);
	vfio_user_msg_init(&chan->rbuf);

	ret = pthread_condattr_init(&attr);
	if (ret != 0)
		return -ret;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&chan->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret != 0)
		return -ret;
	/* Allocated last: no failure can follow and leak it. */
	chan->rx_cap = CHAN_RX_SIZE;
	chan->rx = malloc(chan->rx_cap);
	if (chan->rx == NULL) {
		pthread_cond_destroy(&chan->cond);
		return -ENOMEM;
	}
	pthread_mutex_init(&chan->lock, NULL);
	pthread_mutex_init(&chan->send_lock, NULL);
	return 0;
}

void
vfio_user_chan_kill(struct vfio_user_chan *chan, int err)
{
	pthread_mutex_lock(&chan->lock);
	if (chan->dead == 0)
		__atomic_store_n(&chan->dead, err > 0 ? err : ENOTCONN, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&chan->cond);
	pthread_mutex_unlock(&chan->lock);
}

void
vfio_user_chan_hold(struct vfio_user_chan *chan, int err)
{
	struct vfio_user_waiter *w;

	pthread_mutex_lock(&chan->lock);
	chan->held = err;
	TAILQ_FOREACH(w, &chan->waiters, next) {
		if (err != 0 && !w->done) {
			w->err = -err;
			w->done = true;
			w->held = true;
		}
	}
	pthread_cond_broadcast(&chan->cond);
	pthread_mutex_unlock(&chan->lock);
}

void
vfio_user_chan_fini(struct vfio_user_chan *chan)
{
	vfio_user_chan_kill(chan, ENOTCONN);
	vfio_user_outq_clear(chan);
	vfio_user_msg_release(&chan->rbuf);
	while (chan->rx_nfds > 0)
		close(chan->rx_fds[--chan->rx_nfds].fd);
	free(chan->rx);
	chan->rx = NULL;
	pthread_cond_destroy(&chan->cond);
	pthread_mutex_destroy(&chan->lock);
	pthread_mutex_destroy(&chan->send_lock);
}

static bool
fatal_recv_error(int ret)
{
	return ret < 0 && ret != -EAGAIN && ret != -ETOOMANYREFS && ret != -EBUSY;
}

static int
chan_send_msg(struct vfio_user_chan *chan, struct vfio_user_hdr *hdr, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, bool may_queue)
{
	int64_t deadline = vfio_user_now_ms() + chan->timeout_ms;
	int ret;

	if (__atomic_load_n(&chan->dead, __ATOMIC_RELAXED) != 0)
		return -ENOTCONN;
	if (may_queue && chan->outq_max != 0 && vfio_user_ctrl_is_self()) {
		ret = vfio_user_outq_send_msg(chan, hdr, iov, iovcnt, fds, nr_fds);
	} else {
		pthread_mutex_lock(&chan->send_lock);
		/* What the control thread queued goes first. */
		ret = vfio_user_outq_send(chan, deadline, false);
		if (ret == 0)
			ret = vfio_user_sock_send(chan->fd, hdr, iov, iovcnt, fds, nr_fds,
					time_left(deadline));
		pthread_mutex_unlock(&chan->send_lock);
	}
	/* A message cut in the middle leaves the stream unusable. */
	if (ret < 0 && ret != -EINVAL)
		vfio_user_chan_kill(chan, -ret);
	return ret;
}

int
vfio_user_chan_send(struct vfio_user_chan *chan, struct vfio_user_hdr *hdr,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds)
{
	return chan_send_msg(chan, hdr, iov, iovcnt, fds, nr_fds, true);
}

int
vfio_user_chan_reply(struct vfio_user_chan *chan, const struct vfio_user_hdr *req, int err,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds)
{
	struct vfio_user_hdr hdr = {
		.msg_id = req->msg_id,
		.cmd = req->cmd,
		.flags = VFIO_USER_F_TYPE_REPLY,
	};

	if (err > 0) {
		hdr.flags |= VFIO_USER_F_ERROR;
		hdr.error = (uint32_t)err;
		iovcnt = 0;
		nr_fds = 0;
	}
	return vfio_user_chan_send(chan, &hdr, iov, iovcnt, fds, nr_fds);
}

/* chan->lock held: is this id still owed a reply to a call that timed out? */
static int
fence_find(const struct vfio_user_chan *chan, uint16_t msg_id, int cmd)
{
	uint32_t i;

	for (i = 0; i < chan->nr_fenced; i++)
		if (chan->fenced[i].msg_id == msg_id && (cmd < 0 || chan->fenced[i].cmd == cmd))
			return (int)i;
	return -1;
}

/* chan->lock held: the late reply of a timed-out call came, its id is free again. */
static void
fence_lift(struct vfio_user_chan *chan, uint16_t msg_id, uint16_t cmd)
{
	int i = fence_find(chan, msg_id, cmd);

	if (i >= 0)
		chan->fenced[i] = chan->fenced[--chan->nr_fenced];
}

/* Hand a reply to its waiter; drop it when nobody waits. Takes chan->lock. */
static void
dispatch_reply(struct vfio_user_chan *chan, struct vfio_user_msg *msg, int err)
{
	struct vfio_user_waiter *w;

	pthread_mutex_lock(&chan->lock);
	TAILQ_FOREACH(w, &chan->waiters, next) {
		if (!w->done && w->msg_id == msg->hdr.msg_id && w->cmd == msg->hdr.cmd)
			break;
	}
	if (w != NULL) {
		vfio_user_msg_move(w->reply, msg);
		w->err = err;
		w->done = true;
		pthread_cond_broadcast(&chan->cond);
	} else {
		fence_lift(chan, msg->hdr.msg_id, msg->hdr.cmd);
	}
	pthread_mutex_unlock(&chan->lock);

	if (w == NULL) {
		VFIO_USER_LOG(DEBUG, "dropped unexpected reply id %u cmd %u",
			msg->hdr.msg_id, msg->hdr.cmd);
		vfio_user_msg_close_fds(msg);
	}
}

static inline struct vfio_user_hdr
rx_hdr_at(const struct vfio_user_chan *chan, uint32_t pos)
{
	struct vfio_user_hdr hdr;

	memcpy(&hdr, chan->rx + pos, sizeof(hdr));
	return hdr;
}

/*
 * The message a descriptor belongs to. The kernel ends a read right after
 * the data that carried descriptors, and a peer attaches them to the first
 * byte of the message they go with, so they belong to the last message that
 * starts before the end of the read (end_off).
 */
static uint64_t
rx_fd_owner(const struct vfio_user_chan *chan, uint64_t end_off)
{
	uint32_t pos = chan->rx_head;
	uint64_t start = chan->rx_off;
	struct vfio_user_hdr hdr;

	while (pos + VFIO_USER_HDR_SIZE <= chan->rx_tail) {
		hdr = rx_hdr_at(chan, pos);
		if (hdr.size < VFIO_USER_HDR_SIZE || start + hdr.size >= end_off)
			break;
		start += hdr.size;
		pos += hdr.size;
	}
	return start;
}

/* One recvmsg() into the stream buffer: bytes read, -EAGAIN, -ECONNRESET or -errno. */
static int
rx_fill(struct vfio_user_chan *chan)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VFIO_USER_SCM_MAX_FDS)];
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	uint64_t owner = 0;
	bool have_owner = false;
	uint32_t i, n;
	ssize_t len;
	int *fds;

	if (chan->rx_head > 0 && chan->rx_tail == chan->rx_cap) {
		memmove(chan->rx, chan->rx + chan->rx_head, chan->rx_tail - chan->rx_head);
		chan->rx_tail -= chan->rx_head;
		chan->rx_head = 0;
	}
	iov.iov_base = chan->rx + chan->rx_tail;
	iov.iov_len = chan->rx_cap - chan->rx_tail;

	do {
		len = recvmsg(chan->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (len < 0 && errno == EINTR);
	if (len == 0)
		return -ECONNRESET;
	if (len < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -EAGAIN : -errno;
	chan->rx_tail += len;

	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		if (!have_owner) {
			owner = rx_fd_owner(chan, chan->rx_off + chan->rx_tail - chan->rx_head);
			have_owner = true;
		}
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < n; i++) {
			if (chan->rx_nfds < VFIO_USER_RX_MAX_FDS) {
				chan->rx_fds[chan->rx_nfds].owner = owner;
				chan->rx_fds[chan->rx_nfds].fd = fds[i];
				chan->rx_nfds++;
			} else {
				close(fds[i]);
				chan->rx_lost = true;
				chan->rx_lost_owner = owner;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		chan->rx_lost = true;
		chan->rx_lost_owner = have_owner ? owner :
			rx_fd_owner(chan, chan->rx_off + chan->rx_tail - chan->rx_head);
	}
	return (int)len;
}

/* Give msg the descriptors of the message at stream offset owner. */
static void
rx_take_fds(struct vfio_user_chan *chan, struct vfio_user_msg *msg, uint64_t owner)
{
	uint32_t i, kept = 0;

	for (i = 0; i < chan->rx_nfds; i++) {
		struct vfio_user_rx_fd *f = &chan->rx_fds[i];

		if (f->owner != owner)
			chan->rx_fds[kept++] = *f;
		else if (msg->nr_fds < chan->max_fds && msg->nr_fds < VFIO_USER_SCM_MAX_FDS)
			msg->fds[msg->nr_fds++] = f->fd;
		else {
			close(f->fd);
			msg->fds_dropped = true;
		}
	}
	chan->rx_nfds = kept;
	if (chan->rx_lost && chan->rx_lost_owner == owner) {
		chan->rx_lost = false;
		msg->fds_dropped = true;
	}
	if (msg->fds_dropped)
		vfio_user_msg_close_fds(msg);
}

/*
 * Take the next whole message out of the stream buffer: 1 when one was
 * taken, 0 when it is not all there yet, -EMSGSIZE (with msg->hdr) or
 * -ENOMEM.
 */
static int
rx_extract(struct vfio_user_chan *chan, struct vfio_user_msg *msg)
{
	uint32_t avail = chan->rx_tail - chan->rx_head;
	struct vfio_user_hdr hdr;
	uint32_t len;

	if (avail < VFIO_USER_HDR_SIZE)
		return 0;
	hdr = rx_hdr_at(chan, chan->rx_head);
	if (hdr.size < VFIO_USER_HDR_SIZE || hdr.size > chan->max_msg_size) {
		msg->hdr = hdr;
		return -EMSGSIZE;
	}
	if (avail < hdr.size) {
		/* Make room for the whole message in the buffer. */
		if (hdr.size > chan->rx_cap - chan->rx_head) {
			memmove(chan->rx, chan->rx + chan->rx_head, avail);
			chan->rx_head = 0;
			chan->rx_tail = avail;
		}
		if (hdr.size > chan->rx_cap) {
			uint8_t *rx = realloc(chan->rx, hdr.size);

			if (rx == NULL)
				return -ENOMEM;
			chan->rx = rx;
			chan->rx_cap = hdr.size;
		}
		return 0;
	}

	len = hdr.size - VFIO_USER_HDR_SIZE;
	if (len > msg->cap) {
		uint8_t *data = realloc(msg->data, len);

		if (data == NULL)
			return -ENOMEM;
		msg->data = data;
		msg->cap = len;
	}
	msg->hdr = hdr;
	msg->len = len;
	if (len > 0)
		memcpy(msg->data, chan->rx + chan->rx_head + VFIO_USER_HDR_SIZE, len);
	rx_take_fds(chan, msg, chan->rx_off);

	chan->rx_head += hdr.size;
	chan->rx_off += hdr.size;
	if (chan->rx_head == chan->rx_tail)
		chan->rx_head = chan->rx_tail = 0;
	return 1;
}

/*
 * Read the next message through the stream buffer, waiting up to wait_ms
 * (-1: forever) for it to be complete. Returns 0, -ETOOMANYREFS (message
 * read, its descriptors dropped), -EAGAIN (no whole message yet), or a
 * fatal error.
 */
static int
chan_read_msg(struct vfio_user_chan *chan, struct vfio_user_msg *msg, int wait_ms)
{
	int64_t deadline = wait_ms < 0 ? -1 : vfio_user_now_ms() + wait_ms;
	int ret;

	vfio_user_msg_close_fds(msg);
	msg->len = 0;
	msg->fds_dropped = false;
	/* A waiter that just sent its request would only get EAGAIN from a first read. */
	if (wait_ms != 0 && chan->rx_tail == chan->rx_head) {
		ret = wait_fd(chan->fd, POLLIN, deadline);
		if (ret == -ETIMEDOUT)
			return -EAGAIN;
		if (ret < 0)
			return ret;
	}
	for (;;) {
		ret = rx_extract(chan, msg);
		if (ret == 1)
			return msg->fds_dropped ? -ETOOMANYREFS : 0;
		if (ret < 0)
			return ret;
		ret = rx_fill(chan);
		if (ret > 0)
			continue;
		if (ret != -EAGAIN || wait_ms == 0)
			return ret;
		ret = wait_fd(chan->fd, POLLIN, deadline);
		if (ret == -ETIMEDOUT)
			return -EAGAIN;
		if (ret < 0)
			return ret;
	}
}

uint32_t
vfio_user_chan_buffered(const struct vfio_user_chan *chan)
{
	return chan->rx_tail - chan->rx_head;
}

uint64_t
vfio_user_chan_partial_id(const struct vfio_user_chan *chan)
{
	return chan->rx_tail > chan->rx_head ? chan->rx_off + 1 : 0;
}

/*
 * Read one message as the channel's reader and route it. Returns 1 when it
 * was a reply (handed over), 0 for a command left in msg, or the
 * chan_read_msg() error.
 */
static int
read_and_route(struct vfio_user_chan *chan, struct vfio_user_msg *msg, int timeout_ms)
{
	int ret;

	ret = chan_read_msg(chan, msg, timeout_ms);
	if (ret != 0 && ret != -ETOOMANYREFS)
		return ret;
	if (vfio_user_msg_type(msg) == VFIO_USER_F_TYPE_REPLY) {
		dispatch_reply(chan, msg, ret == -ETOOMANYREFS ? -EPROTO : 0);
		return 1;
	}
	return ret;
}

int
vfio_user_chan_recv(struct vfio_user_chan *chan, struct vfio_user_msg *msg, int timeout_ms)
{
	int ret;

	pthread_mutex_lock(&chan->lock);
	if (chan->dead != 0) {
		pthread_mutex_unlock(&chan->lock);
		return -ENOTCONN;
	}
	if (chan->reading) {
		pthread_mutex_unlock(&chan->lock);
		return -EBUSY;
	}
	chan->reading = true;
	pthread_mutex_unlock(&chan->lock);

	ret = read_and_route(chan, msg, timeout_ms);

	pthread_mutex_lock(&chan->lock);
	chan->reading = false;
	if (fatal_recv_error(ret) && chan->dead == 0)
		__atomic_store_n(&chan->dead, -ret, __ATOMIC_RELAXED);
	/* Let a waiter take over reading. */
	pthread_cond_broadcast(&chan->cond);
	pthread_mutex_unlock(&chan->lock);
	return ret;
}

static uint16_t
alloc_msg_id(struct vfio_user_chan *chan)
{
	struct vfio_user_waiter *w;
	uint16_t id;

again:
	id = chan->next_id++;
	TAILQ_FOREACH(w, &chan->waiters, next)
		if (w->msg_id == id)
			goto again;
	if (fence_find(chan, id, -1) >= 0)
		goto again;
	return id;
}

/*
 * chan->lock held, after a timeout: the reply may still come, and must not
 * be taken for the reply of a later call that got the same id after the
 * 16-bit wrap. The id stays out of use until that reply comes; a peer that
 * owes too many replies is given up.
 */
static void
fence_add(struct vfio_user_chan *chan, const struct vfio_user_waiter *w)
{
	if (chan->nr_fenced == VFIO_USER_CHAN_MAX_FENCED) {
		VFIO_USER_LOG(ERR, "%u replies overdue: closing the channel", chan->nr_fenced);
		if (chan->dead == 0)
			__atomic_store_n(&chan->dead, ETIMEDOUT, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&chan->cond);
		return;
	}
	chan->fenced[chan->nr_fenced].msg_id = w->msg_id;
	chan->fenced[chan->nr_fenced].cmd = w->cmd;
	chan->nr_fenced++;
}

static void
abs_deadline(struct timespec *ts, int64_t deadline_ms)
{
	ts->tv_sec = deadline_ms / 1000;
	ts->tv_nsec = (deadline_ms % 1000) * 1000000;
}

/* True when a whole message waits in the stream buffer. */
static bool
rx_complete(const struct vfio_user_chan *chan)
{
	uint32_t avail = chan->rx_tail - chan->rx_head;

	return avail >= VFIO_USER_HDR_SIZE && avail >= rx_hdr_at(chan, chan->rx_head).size;
}

/*
 * The waiting caller reads the socket itself; called and returns with
 * chan->lock held. Before it hands the reader role back it routes every
 * whole message already buffered: once buffered, a message no longer makes
 * the socket readable for anyone else.
 */
static void
read_as_waiter(struct vfio_user_chan *chan, int64_t deadline)
{
	int wait_ms = time_left(deadline);
	int ret;

	chan->reading = true;
	pthread_mutex_unlock(&chan->lock);

	do {
		ret = read_and_route(chan, &chan->rbuf, wait_ms);
		if (ret == 0 || ret == -ETOOMANYREFS) {
			if (chan->on_cmd != NULL) {
				chan->on_cmd(chan, &chan->rbuf, chan->arg);
			} else {
				if (!(chan->rbuf.hdr.flags & VFIO_USER_F_NO_REPLY))
					vfio_user_chan_reply(chan, &chan->rbuf.hdr, EINVAL, NULL,
							0, NULL, 0);
				vfio_user_msg_close_fds(&chan->rbuf);
			}
		}
		wait_ms = 0;
	} while (!fatal_recv_error(ret) && ret != -EAGAIN && rx_complete(chan));

	pthread_mutex_lock(&chan->lock);
	chan->reading = false;
	if (fatal_recv_error(ret) && chan->dead == 0)
		__atomic_store_n(&chan->dead, -ret, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&chan->cond);
}

int
vfio_user_chan_call(struct vfio_user_chan *chan, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply)
{
	return vfio_user_chan_call_tmo(chan, cmd, iov, iovcnt, fds, nr_fds, reply,
		chan->timeout_ms);
}

int
vfio_user_chan_call_tmo(struct vfio_user_chan *chan, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply,
		int timeout_ms)
{
	struct vfio_user_waiter w = { .cmd = cmd, .reply = reply };
	struct vfio_user_hdr hdr = { .cmd = cmd, .flags = VFIO_USER_F_TYPE_COMMAND };
	int64_t deadline;
	bool did_read = false;
	struct timespec ts;
	int ret;

	pthread_mutex_lock(&chan->lock);
	if (chan->dead != 0 || chan->held != 0) {
		ret = chan->dead != 0 ? -ENOTCONN : -chan->held;
		pthread_mutex_unlock(&chan->lock);
		return ret;
	}
	w.msg_id = alloc_msg_id(chan);
	TAILQ_INSERT_TAIL(&chan->waiters, &w, next);
	pthread_mutex_unlock(&chan->lock);

	hdr.msg_id = w.msg_id;
	/* The caller waits for the reply anyway: the request is not queued. */
	ret = chan_send_msg(chan, &hdr, iov, iovcnt, fds, nr_fds, false);

	deadline = vfio_user_now_ms() + timeout_ms;
	abs_deadline(&ts, deadline);
	pthread_mutex_lock(&chan->lock);
	while (ret == 0 && !w.done) {
		if (chan->dead != 0) {
			ret = -ENOTCONN;
			break;
		}
		if (time_left(deadline) == 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (!chan->reading && (!chan->ctrl_reads_only || vfio_user_ctrl_is_self())) {
			read_as_waiter(chan, deadline);
			did_read = true;
		} else if (pthread_cond_timedwait(&chan->cond, &chan->lock, &ts) == ETIMEDOUT &&
				!w.done) {
			ret = -ETIMEDOUT;
		}
	}
	TAILQ_REMOVE(&chan->waiters, &w, next);
	/* A call given up on (timed out or held) still has its reply coming. */
	if (ret == -ETIMEDOUT || (ret == 0 && w.held))
		fence_add(chan, &w);
	pthread_mutex_unlock(&chan->lock);

	if (did_read && chan->on_idle != NULL)
		chan->on_idle(chan, chan->arg);

	if (ret != 0)
		return ret;
	if (w.err != 0) {
		vfio_user_msg_close_fds(reply);
		return w.err;
	}
	if (reply->hdr.flags & VFIO_USER_F_ERROR) {
		uint32_t err = reply->hdr.error;

		vfio_user_msg_close_fds(reply);
		/* The peer's number, when it can be an errno (negating INT_MIN is undefined). */
		return err != 0 && err <= VFIO_USER_MAX_ERRNO ? -(int)err : -EIO;
	}
	return 0;
}

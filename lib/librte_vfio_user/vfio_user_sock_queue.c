/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Send queue of a channel: how the control thread sends without ever
 * blocking on a peer that does not read.
 *
 * A message the socket does not take whole waits in the queue: its unsent
 * rest, with duplicates of its descriptors while none of it went. The owner
 * of the channel is told when the queue stops being empty (on_outq: watch
 * the socket for EPOLLOUT) and calls vfio_user_chan_flush() when it can be
 * written. Any thread that sends on the channel sends the queue first, so
 * messages stay whole and in order; a queue beyond outq_max bytes is an
 * error, which closes the channel.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_common.h>

#include "vfio_user_sock.h"

/* The unsent rest of a message, and its descriptors (duplicates) if none of it went yet. */
struct vfio_user_outq {
	TAILQ_ENTRY(vfio_user_outq) next;
	uint32_t len;
	uint32_t off;
	uint32_t nr_fds;
	int *fds;      /* at the start of mem, for alignment */
	uint8_t *buf;  /* len bytes after them */
	uint8_t mem[];
};

static void
outq_free(struct vfio_user_outq *q)
{
	uint32_t i;

	for (i = 0; i < q->nr_fds; i++)
		close(q->fds[i]);
	free(q);
}

/*
 * Queue the bytes of mh, with duplicates of fds. Control thread only, so
 * that the queue grows from one thread and its watch is armed there.
 */
static int
outq_add(struct vfio_user_chan *chan, const struct msghdr *mh, const int *fds, uint32_t nr_fds)
{
	struct vfio_user_outq *q;
	uint64_t len = 0;
	bool first, full;
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < mh->msg_iovlen; i++)
		len += mh->msg_iov[i].iov_len;
	pthread_mutex_lock(&chan->lock);
	full = chan->outq_bytes + len > chan->outq_max;
	pthread_mutex_unlock(&chan->lock);
	if (full)
		return -ENOBUFS;
	q = malloc(sizeof(*q) + len + sizeof(int) * nr_fds);
	if (q == NULL)
		return -ENOMEM;
	q->len = (uint32_t)len;
	q->off = 0;
	q->nr_fds = 0;
	q->fds = (int *)(void *)q->mem;
	q->buf = q->mem + sizeof(int) * nr_fds;
	for (i = 0; i < mh->msg_iovlen; i++) {
		if (mh->msg_iov[i].iov_len == 0)
			continue;
		memcpy(q->buf + off, mh->msg_iov[i].iov_base, mh->msg_iov[i].iov_len);
		off += mh->msg_iov[i].iov_len;
	}
	for (i = 0; i < nr_fds; i++) {
		q->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (q->fds[i] < 0) {
			outq_free(q);
			return -errno;
		}
		q->nr_fds++;
	}
	pthread_mutex_lock(&chan->lock);
	first = TAILQ_EMPTY(&chan->outq);
	TAILQ_INSERT_TAIL(&chan->outq, q, next);
	chan->outq_bytes += len;
	pthread_mutex_unlock(&chan->lock);
	if (first && chan->on_outq != NULL)
		chan->on_outq(chan, chan->arg);
	return 0;
}

int
vfio_user_outq_send(struct vfio_user_chan *chan, int64_t deadline, bool nowait)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VFIO_USER_SCM_MAX_FDS)];
	struct vfio_user_outq *q;
	struct msghdr mh;
	struct iovec vec;
	int64_t n;
	uint32_t i;

	for (;;) {
		pthread_mutex_lock(&chan->lock);
		q = TAILQ_FIRST(&chan->outq);
		pthread_mutex_unlock(&chan->lock);
		if (q == NULL)
			return 0;
		memset(&mh, 0, sizeof(mh));
		vec.iov_base = q->buf + q->off;
		vec.iov_len = q->len - q->off;
		mh.msg_iov = &vec;
		mh.msg_iovlen = 1;
		if (q->nr_fds > 0) {
			struct cmsghdr *cmsg;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * q->nr_fds);
			cmsg = CMSG_FIRSTHDR(&mh);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int) * q->nr_fds);
			memcpy(CMSG_DATA(cmsg), q->fds, sizeof(int) * q->nr_fds);
		}
		n = vfio_user_sock_sendmsg(chan->fd, &mh, deadline, nowait);
		if (n < 0)
			return (int)n;
		if (n > 0 && q->nr_fds > 0) {
			/* The peer has them now. */
			for (i = 0; i < q->nr_fds; i++)
				close(q->fds[i]);
			q->nr_fds = 0;
		}
		q->off += n;
		pthread_mutex_lock(&chan->lock);
		chan->outq_bytes -= n;
		if (q->off == q->len)
			TAILQ_REMOVE(&chan->outq, q, next);
		pthread_mutex_unlock(&chan->lock);
		if (q->off != q->len)
			return -EAGAIN;
		free(q);
	}
}

int
vfio_user_outq_send_msg(struct vfio_user_chan *chan, struct vfio_user_hdr *hdr,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VFIO_USER_SCM_MAX_FDS)];
	struct iovec vec[VFIO_USER_SEND_MAX_IOV + 1];
	struct msghdr mh;
	int64_t sent = 0;
	int ret;

	ret = vfio_user_sock_msghdr(&mh, vec, cbuf, hdr, iov, iovcnt, fds, nr_fds);
	if (ret < 0)
		return ret;
	/* Another thread is sending (and may wait): queue behind it, it cannot interleave. */
	if (pthread_mutex_trylock(&chan->send_lock) != 0)
		return outq_add(chan, &mh, fds, nr_fds);
	ret = vfio_user_outq_send(chan, 0, true);
	if (ret == 0) {
		sent = vfio_user_sock_sendmsg(chan->fd, &mh, 0, true);
		ret = sent < 0 ? (int)sent : 0;
		sent = RTE_MAX(sent, (int64_t)0);
	} else if (ret == -EAGAIN) {
		ret = 0;
	}
	/* mh now starts at the first unsent byte; descriptors went with the first one. */
	if (ret == 0 && mh.msg_iovlen > 0)
		ret = outq_add(chan, &mh, fds, sent > 0 ? 0 : nr_fds);
	pthread_mutex_unlock(&chan->send_lock);
	return ret;
}

int
vfio_user_chan_flush(struct vfio_user_chan *chan)
{
	int ret;

	if (pthread_mutex_trylock(&chan->send_lock) != 0)
		return -EAGAIN; /* its holder sends the queue first */
	ret = vfio_user_outq_send(chan, 0, true);
	pthread_mutex_unlock(&chan->send_lock);
	if (ret < 0 && ret != -EAGAIN)
		vfio_user_chan_kill(chan, -ret);
	return ret;
}

void
vfio_user_outq_clear(struct vfio_user_chan *chan)
{
	struct vfio_user_outq *q;

	while ((q = TAILQ_FIRST(&chan->outq)) != NULL) {
		TAILQ_REMOVE(&chan->outq, q, next);
		outq_free(q);
	}
	chan->outq_bytes = 0;
}

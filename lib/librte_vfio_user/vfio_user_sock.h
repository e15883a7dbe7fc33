/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_SOCK_H_
#define _VFIO_USER_SOCK_H_

/*
 * Transport: whole vfio-user messages over a UNIX stream socket, with file
 * descriptors as SCM_RIGHTS, and a "channel" that matches replies to the
 * threads waiting for them.
 *
 * Sockets are non-blocking; every wait is a poll() bounded by a timeout, and
 * a channel reads through a stream buffer so that no reader ever waits for
 * the rest of a message that stopped halfway unless it chose to wait.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "vfio_user_private.h"
#include "vfio_user_proto.h"

/* Largest errno value, as the kernel's MAX_ERRNO: a larger error field is not an errno. */
#define VFIO_USER_MAX_ERRNO 4095

/* A received message. Descriptors not taken are closed by vfio_user_msg_release(). */
struct vfio_user_msg {
	struct vfio_user_hdr hdr;
	uint32_t len;     /* payload bytes: hdr.size - VFIO_USER_HDR_SIZE */
	uint32_t cap;     /* bytes allocated at data */
	uint8_t *data;    /* payload */
	bool fds_dropped; /* more fds came than allowed: all were closed */
	uint32_t nr_fds;
	int fds[VFIO_USER_SCM_MAX_FDS];
};

void vfio_user_msg_init(struct vfio_user_msg *msg);
/* Close the descriptors not taken; keep the buffer for reuse. */
void vfio_user_msg_close_fds(struct vfio_user_msg *msg);
/* Close the descriptors not taken and free the buffer. */
void vfio_user_msg_release(struct vfio_user_msg *msg);
/* Take ownership of descriptor idx (-1 if out of range or already taken). */
int vfio_user_msg_take_fd(struct vfio_user_msg *msg, uint32_t idx);
/* Move src into dst (dst must be initialised or released); src is left empty. */
void vfio_user_msg_move(struct vfio_user_msg *dst, struct vfio_user_msg *src);

static inline uint32_t
vfio_user_msg_type(const struct vfio_user_msg *msg)
{
	return msg->hdr.flags & VFIO_USER_F_TYPE_MASK;
}

/*
 * Send one message: hdr (its size is set here from the iovecs) then the
 * iovecs, with nr_fds descriptors attached. Returns 0 or a negative errno
 * (-EPIPE / -ECONNRESET when the peer is gone, -ETIMEDOUT, -EINVAL when the
 * message exceeds UINT32_MAX or more than VFIO_USER_SCM_MAX_FDS fds).
 */
int vfio_user_sock_send(int fd, struct vfio_user_hdr *hdr, const struct iovec *iov, int iovcnt,
		const int *fds, uint32_t nr_fds, int timeout_ms);

/* Connected, non-blocking, close-on-exec socket pair (for the twin socket). */
int vfio_user_sock_pair(int sv[2]);

struct vfio_user_chan;

/*
 * Called for a command message read by a thread waiting in
 * vfio_user_chan_call(). The callee owns msg's contents (it must release or
 * move them) and may send on the channel.
 */
typedef void (*vfio_user_chan_cmd_fn)(struct vfio_user_chan *chan, struct vfio_user_msg *msg,
		void *arg);
/* Called when a thread stops reading the socket (to re-arm the control thread's poll). */
typedef void (*vfio_user_chan_idle_fn)(struct vfio_user_chan *chan, void *arg);
/* Called on the control thread when its send queue stops being empty (watch EPOLLOUT). */
typedef void (*vfio_user_chan_outq_fn)(struct vfio_user_chan *chan, void *arg);

struct vfio_user_waiter;
struct vfio_user_outq;

/* A descriptor received ahead of its message, and the stream offset of that message. */
struct vfio_user_rx_fd {
	uint64_t owner;
	int fd;
};

/* Timed-out calls whose msg_id stays out of use until their late reply (see fence_add()). */
#define VFIO_USER_CHAN_MAX_FENCED 64

/* Descriptors that may wait in a channel's stream buffer. */
#define VFIO_USER_RX_MAX_FDS (2 * VFIO_USER_SCM_MAX_FDS)

/*
 * A request/reply channel over one socket. Any thread may send; replies are
 * matched to waiters by msg_id and command. Reading is done by one thread at
 * a time: a waiting thread reads itself (unless ctrl_reads_only is set and it
 * is not the control thread), so a reply costs no extra thread hand-off.
 */
struct vfio_user_chan {
	int fd;
	uint32_t max_msg_size;
	uint32_t max_fds;
	int timeout_ms;          /* reply timeout */
	bool ctrl_reads_only;    /* only the control thread may read (server sessions) */
	vfio_user_chan_cmd_fn on_cmd;
	vfio_user_chan_idle_fn on_idle;
	/*
	 * With outq_max set, messages the control thread sends without waiting
	 * for a reply never block: what the socket does not take waits in the
	 * send queue (chan->lock; its head is sent under send_lock) until
	 * vfio_user_chan_flush(), and a queue beyond outq_max bytes is an error.
	 */
	uint64_t outq_max;
	vfio_user_chan_outq_fn on_outq;
	void *arg;

	pthread_mutex_t send_lock;
	pthread_mutex_t lock;    /* protects the fields below */
	pthread_cond_t cond;
	bool reading;
	int dead;                /* positive errno once the channel failed */
	int held;                /* positive errno: calls fail with it (vfio_user_chan_hold) */
	uint16_t next_id;
	TAILQ_HEAD(, vfio_user_waiter) waiters;
	TAILQ_HEAD(, vfio_user_outq) outq;
	uint64_t outq_bytes;
	struct vfio_user_msg rbuf; /* read buffer of a waiting reader */
	uint32_t nr_fenced;
	struct {
		uint16_t msg_id;
		uint16_t cmd;
	} fenced[VFIO_USER_CHAN_MAX_FENCED]; /* calls timed out, reply still owed */

	/*
	 * Stream buffer, used by the current reader only. One recvmsg() fetches
	 * whatever the socket holds, so a message usually costs one system
	 * call, and a message that arrives in pieces is completed by later
	 * reads instead of a blocking wait.
	 */
	uint8_t *rx;
	uint32_t rx_cap;
	uint32_t rx_head;          /* rx[rx_head, rx_tail) is buffered */
	uint32_t rx_tail;
	uint64_t rx_off;           /* stream offset of rx[rx_head], a message start */
	uint32_t rx_nfds;
	bool rx_lost;              /* descriptors of message rx_lost_owner were dropped */
	uint64_t rx_lost_owner;
	struct vfio_user_rx_fd rx_fds[VFIO_USER_RX_MAX_FDS];
};

int vfio_user_chan_init(struct vfio_user_chan *chan, int fd,
		const struct rte_vfio_user_limits *lim);
/* Fail every waiter with -ENOTCONN; does not close fd. */
void vfio_user_chan_kill(struct vfio_user_chan *chan, int err);
/* Kill, then destroy locks; no thread may use the channel any more. */
void vfio_user_chan_fini(struct vfio_user_chan *chan);

/*
 * Fail the calls waiting for a reply, and those made until released (err 0),
 * with -err; a reply that comes later is dropped, its msg_id kept out of use
 * until then as a timed-out call's is. The channel stays usable.
 */
void vfio_user_chan_hold(struct vfio_user_chan *chan, int err);

/*
 * Send a message that expects no matching here (a reply, or a command with
 * NO_REPLY). On the control thread of a channel with outq_max, it is queued
 * rather than waited for (-ENOBUFS, the channel killed, past outq_max).
 */
int vfio_user_chan_send(struct vfio_user_chan *chan, struct vfio_user_hdr *hdr,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds);
/*
 * Send what the send queue holds, without waiting (control thread, when the
 * socket polls writable): 0 once empty, -EAGAIN while not, or a send error.
 */
int vfio_user_chan_flush(struct vfio_user_chan *chan);
int vfio_user_chan_reply(struct vfio_user_chan *chan, const struct vfio_user_hdr *req, int err,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds);

/*
 * Send command cmd and wait for its reply, which is moved into *reply
 * (initialised by the caller; release it after use).
 * Returns 0 on a success reply; the peer's errno negated on an error reply
 * (-EIO when the error field is 0 or above VFIO_USER_MAX_ERRNO); -ENOTCONN;
 * -ETIMEDOUT; the error of vfio_user_chan_hold(); a send error.
 */
int vfio_user_chan_call(struct vfio_user_chan *chan, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply);
/*
 * The same with its own reply timeout. A call that timed out keeps its
 * msg_id out of use until its late reply arrives (the 16-bit id cannot wrap
 * onto it); after VFIO_USER_CHAN_MAX_FENCED such calls the channel is
 * killed with ETIMEDOUT.
 */
int vfio_user_chan_call_tmo(struct vfio_user_chan *chan, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply,
		int timeout_ms);

/*
 * Read one message, if the channel is not being read by another thread.
 * A reply is handed to its waiter (or dropped when nobody waits for it) and
 * 1 is returned; a command is left in *msg and 0 is returned; -EBUSY when
 * another thread is reading; -EAGAIN when nothing is there (timeout_ms 0);
 * other negative values are fatal (the channel is killed).
 * -EMSGSIZE (header size below the header or above max_msg_size: the
 * stream is unusable) and -ETOOMANYREFS (more descriptors than max_fds came
 * with the message; they were closed and msg->fds_dropped is set) are
 * returned with the header in *msg so that the caller can answer.
 */
int vfio_user_chan_recv(struct vfio_user_chan *chan, struct vfio_user_msg *msg, int timeout_ms);

/*
 * Bytes read from the socket but not yet returned as messages, for the
 * current reader: after vfio_user_chan_recv() returned a message, more may
 * be buffered (so the socket may not poll readable); after it returned
 * -EAGAIN, they are the start of a message still incomplete.
 */
uint32_t vfio_user_chan_buffered(const struct vfio_user_chan *chan);

/*
 * Stream offset + 1 of the incomplete message buffered, or 0: lets a reader
 * tell a message that stalls from one that merely arrived in pieces.
 */
uint64_t vfio_user_chan_partial_id(const struct vfio_user_chan *chan);

/*
 * Internals shared by vfio_user_sock.c and the send queue
 * (vfio_user_sock_queue.c).
 */

/* The most iovecs a caller passes to vfio_user_sock_send(), header excluded. */
#define VFIO_USER_SEND_MAX_IOV 8

/*
 * Prepare mh for hdr + iov with fds: vec has VFIO_USER_SEND_MAX_IOV + 1
 * entries, cbuf room for VFIO_USER_SCM_MAX_FDS descriptors; sets hdr->size.
 */
int vfio_user_sock_msghdr(struct msghdr *mh, struct iovec *vec, char *cbuf,
		struct vfio_user_hdr *hdr, const struct iovec *iov, int iovcnt, const int *fds,
		uint32_t nr_fds);
/*
 * Send mh, descriptors with the first byte. With nowait, stop when the
 * socket is full; otherwise wait for it until deadline (-1: none). Returns
 * the bytes sent, or a negative errno; mh is left at the first unsent byte.
 */
int64_t vfio_user_sock_sendmsg(int fd, struct msghdr *mh, int64_t deadline, bool nowait);

/* Send the queue, send_lock held: 0 once empty, -EAGAIN when the socket is full (nowait). */
int vfio_user_outq_send(struct vfio_user_chan *chan, int64_t deadline, bool nowait);
/* The control thread's send: what the socket does not take now is queued. */
int vfio_user_outq_send_msg(struct vfio_user_chan *chan, struct vfio_user_hdr *hdr,
		const struct iovec *iov, int iovcnt, const int *fds, uint32_t nr_fds);
/* Free what the queue holds (vfio_user_chan_fini()). */
void vfio_user_outq_clear(struct vfio_user_chan *chan);

#endif /* _VFIO_USER_SOCK_H_ */

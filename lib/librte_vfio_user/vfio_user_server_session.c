/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server sessions (control thread): the listening socket with its checks,
 * accept with the peer's credentials, one session per client, its loop over
 * the messages, the commands deferred while a DMA reply is awaited, and the
 * timer that ends a session whose message stalls halfway.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include <rte_common.h>
#include <rte_string_fns.h>

#include "vfio_user_ctrl.h"
#include "vfio_user_server.h"

/* Messages handled per wake-up, so that one busy client does not starve the others. */
#define SRV_BATCH 64
#define SRV_LISTEN_BACKLOG 16
/*
 * A message whose handling (device callbacks included) takes longer than
 * this is logged: every other device of the process waited that long.
 */
#define SRV_SLOW_MS 1000
/*
 * Reply bytes queued for a client that does not read them, in units of
 * max_msg_size: beyond, the connection is closed.
 */
#define SRV_OUTQ_MSGS 4
/* Pause of the listening socket after accept() ran out of descriptors or memory. */
#define SRV_ACCEPT_RETRY_MS 100

/* Wake the control thread for this session in ms milliseconds (0: now); any thread. */
void
srv_kick(struct srv_session *s, int64_t ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000 } };

	if (ms <= 0)
		its.it_value.tv_nsec = 1;
	(void)timerfd_settime(s->kick_fd, 0, &its, NULL);
}

/*
 * Time the message that is incomplete in the socket buffer: the control
 * thread never waits for the rest of a message, but a message that does not
 * complete within the reply timeout ends the session. Returns true when the
 * session must be closed.
 */
static bool
srv_check_stall(struct srv_session *s)
{
	uint64_t id = vfio_user_chan_partial_id(&s->chan);
	int64_t now;

	if (id == 0) {
		s->stall_id = 0;
		return false;
	}
	now = vfio_user_now_ms();
	if (id != s->stall_id) {
		s->stall_id = id;
		s->stall_deadline = now + s->lim.reply_timeout_ms;
	} else if (now >= s->stall_deadline) {
		VFIO_USER_SRV_LOG(INFO, s->srv->path, "message stalled halfway, closing");
		return true;
	}
	srv_kick(s, s->stall_deadline - now);
	return false;
}

/* A command that came when the queue was full: ENOBUFS. */
static int
srv_refuse_full(struct srv_session *s, struct vfio_user_msg *msg)
{
	if (vfio_user_msg_type(msg) != VFIO_USER_F_TYPE_COMMAND)
		return 0;
	return vfio_user_chan_reply(&s->chan, &msg->hdr, ENOBUFS, NULL, 0, NULL, 0);
}

/* chan->on_outq of the main socket: replies wait in the queue until the socket drains. */
static void
srv_sess_outq(struct vfio_user_chan *chan, void *arg)
{
	struct srv_session *s = arg;

	if (vfio_user_ctrl_mod(chan->fd, EPOLLIN | EPOLLOUT) < 0)
		s->fatal = true;
}

/* chan->on_cmd of the main socket: commands read while waiting for a DMA reply. */
static void
srv_defer_cmd(struct vfio_user_chan *chan, struct vfio_user_msg *msg, void *arg)
{
	struct srv_session *s = arg;
	struct srv_deferred *d = NULL;
	bool refused = s->nr_deferred >= s->lim.max_pending_msgs;

	RTE_SET_USED(chan);
	/*
	 * Past the limit a command is refused, but in its turn: commands are
	 * processed in the order received, so its ENOBUFS follows the replies
	 * of the commands before it. Only its header is kept. A No_reply
	 * command cannot be refused (the client would never know it was not
	 * carried out), and refusals have a limit too: both end the session.
	 */
	if (refused && ((msg->hdr.flags & VFIO_USER_F_NO_REPLY) ||
			s->nr_deferred >= 2 * (uint64_t)s->lim.max_pending_msgs)) {
		VFIO_USER_SRV_LOG(INFO, s->srv->path,
				"%u commands queued, cannot refuse command %u: closing",
				s->nr_deferred, msg->hdr.cmd);
		s->fatal = true;
		vfio_user_msg_release(msg);
		srv_kick(s, 0);
		return;
	}
	d = malloc(sizeof(*d));
	if (d == NULL) {
		VFIO_USER_SRV_LOG(ERR, s->srv->path, "too many commands queued, closing");
		s->fatal = true;
		vfio_user_msg_release(msg);
		srv_kick(s, 0);
		return;
	}
	vfio_user_msg_init(&d->msg);
	d->refused = refused;
	if (refused) {
		VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "%u commands queued, refusing command %u",
				s->nr_deferred, msg->hdr.cmd);
		d->msg.hdr = msg->hdr;
		vfio_user_msg_release(msg);
	} else {
		vfio_user_msg_move(&d->msg, msg);
	}
	TAILQ_INSERT_TAIL(&s->deferred, d, next);
	s->nr_deferred++;
	/* The socket may have nothing more to read: make sure the queue is served. */
	srv_kick(s, 0);
}

static void
srv_sess_free(struct srv_session *s)
{
	struct srv_deferred *d;

	vfio_user_chan_fini(&s->chan);
	if (s->twin_ok)
		vfio_user_chan_fini(&s->twin_chan);
	srv_close_fd(&s->fd);
	srv_close_fd(&s->twin_fd);
	srv_close_fd(&s->kick_fd);
	vfio_user_dma_fini(&s->dma);
	srv_mig_free_log(s);
	while ((d = TAILQ_FIRST(&s->deferred)) != NULL) {
		TAILQ_REMOVE(&s->deferred, d, next);
		vfio_user_msg_release(&d->msg);
		free(d);
	}
	vfio_user_msg_release(&s->msg);
	free(s->xfer_buf);
	free(s);
}

/* A session on connection @fd, with @kick_fd as its timer; both are its own on success. */
static struct srv_session *
srv_sess_create(struct vfio_user_server *srv, int fd, int kick_fd)
{
	struct srv_session *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->srv = srv;
	s->fd = -1;
	s->twin_fd = -1;
	vfio_user_limits_snapshot(&s->lim);
	if (vfio_user_chan_init(&s->chan, fd, &s->lim) < 0) {
		free(s);
		return NULL;
	}
	s->kick_fd = kick_fd;
	s->fd = fd;
	s->chan.ctrl_reads_only = true;
	s->chan.on_cmd = srv_defer_cmd;
	s->chan.on_idle = NULL;
	s->chan.outq_max = (uint64_t)SRV_OUTQ_MSGS * s->lim.max_msg_size;
	s->chan.on_outq = srv_sess_outq;
	s->chan.arg = s;
	/* Spec defaults until VERSION says otherwise. */
	s->peer_max_fds = VFIO_USER_SPEC_DEF_MAX_MSG_FDS;
	s->peer_xfer = RTE_MIN((uint32_t)VFIO_USER_SPEC_DEF_MAX_DATA_XFER,
			s->lim.max_data_xfer_size);
	vfio_user_dma_init(&s->dma, s->lim.max_dma_maps, true);
	s->dma.granule = VFIO_USER_SPEC_DEF_PGSIZES;
	s->dma.max_bytes = s->lim.max_dma_mapped_bytes;
	s->dma.need_seal = srv->sock_opts.flags & RTE_VFIO_USER_SOCK_F_SEALED_DMA;
	vfio_user_msg_init(&s->msg);
	TAILQ_INIT(&s->deferred);
	return s;
}

static void srv_accept_cb(int fd, uint32_t events, void *arg);

/*
 * End the session: on the control thread, or on a thread that has unwatched
 * the session's descriptors.
 */
static void
srv_sess_close(struct vfio_user_server *srv, bool relisten)
{
	struct srv_session *s = srv->sess;
	int ret;

	if (s == NULL)
		return;
	vfio_user_ctrl_del(s->fd);
	vfio_user_ctrl_del(s->kick_fd);
	/* Wake threads waiting for DMA replies, including one blocked reading the twin. */
	shutdown(s->fd, SHUT_RDWR);
	if (s->twin_fd >= 0)
		shutdown(s->twin_fd, SHUT_RDWR);
	vfio_user_chan_kill(&s->chan, ECONNRESET);
	if (s->twin_ok)
		vfio_user_chan_kill(&s->twin_chan, ECONNRESET);

	pthread_mutex_lock(&srv->lock);
	s->closing = true;
	while (s->refs != 0)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);

	/* A migration the client left halfway ends before the device is let go. */
	if (s->dev_ready)
		srv_mig_client_gone(srv);
	if (s->negotiated)
		srv_lock_dp(srv, 1);
	if (s->dev_ready && srv->ops.destroy_device != NULL)
		srv->ops.destroy_device(srv->dev_id);
	pthread_rwlock_wrlock(&srv->dp_lock);
	srv->sess = NULL;
	pthread_rwlock_unlock(&srv->dp_lock);
	srv_irq_reset(srv);
	if (s->negotiated)
		srv_lock_dp(srv, 0);
	srv_sess_free(s);
	VFIO_USER_SRV_LOG(INFO, srv->path, "client disconnected");

	if (relisten && srv->listen_fd >= 0) {
		ret = vfio_user_ctrl_add(srv->listen_fd, EPOLLIN, srv_accept_cb, srv);
		if (ret < 0)
			VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the socket again: %s",
					strerror(-ret));
		else
			srv->listening = true;
	}
}

/* srv_process(), with a warning when the control thread was held too long. */
static int
srv_process_timed(struct srv_session *s, struct vfio_user_msg *msg)
{
	int64_t t0 = vfio_user_now_ms(), took;
	int ret;

	ret = srv_process(s, msg);
	took = vfio_user_now_ms() - t0;
	if (took >= SRV_SLOW_MS)
		VFIO_USER_SRV_LOG(WARNING, s->srv->path,
				"command %u held the control thread %" PRId64 " ms",
				msg->hdr.cmd, took);
	return ret;
}

static void
srv_sess_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	struct srv_session *s = srv->sess;
	struct vfio_user_server *prev = srv_current;
	struct srv_deferred *d;
	uint64_t expirations;
	int n, ret = 0;

	if (s == NULL)
		return;
	srv_current = srv;
	if (fd == s->kick_fd) {
		if (read(fd, &expirations, sizeof(expirations)) < 0)
			expirations = 0;
		events = 0;
	}
	if (s->fatal)
		goto close;
	if (events & EPOLLOUT) {
		ret = vfio_user_chan_flush(&s->chan);
		if (ret == 0)
			ret = vfio_user_ctrl_mod(s->fd, EPOLLIN);
		if (ret < 0 && ret != -EAGAIN)
			goto close;
		ret = 0;
	}
	for (n = 0; n < SRV_BATCH; n++) {
		if (__atomic_load_n(&s->unmap_held, __ATOMIC_SEQ_CST) &&
				srv_unmap_release(s) < 0)
			goto close;
		/* Commands deferred during a DMA wait come before newer ones. */
		d = __atomic_load_n(&s->unmap_held, __ATOMIC_SEQ_CST) ? NULL :
			TAILQ_FIRST(&s->deferred);
		if (d != NULL) {
			TAILQ_REMOVE(&s->deferred, d, next);
			s->nr_deferred--;
			if (d->refused)
				ret = srv_refuse_full(s, &d->msg);
			/* Its descriptors were dropped when it was read during the wait. */
			else if (d->msg.fds_dropped)
				ret = srv_too_many_fds(s, &d->msg);
			else
				ret = srv_process_timed(s, &d->msg);
			vfio_user_msg_release(&d->msg);
			free(d);
		} else {
			ret = vfio_user_chan_recv(&s->chan, &s->msg, 0);
			if (ret == -EAGAIN || ret == -EBUSY) {
				ret = 0;
				if (events & (EPOLLHUP | EPOLLERR))
					goto close;
				break;
			}
			if ((ret == 0 || ret == -ETOOMANYREFS) &&
					__atomic_load_n(&s->unmap_held, __ATOMIC_SEQ_CST)) {
				/* Processed in its turn, after the DMA_UNMAP reply held. */
				srv_defer_cmd(&s->chan, &s->msg, s);
				continue;
			}
			if (ret == -ETOOMANYREFS)
				ret = srv_too_many_fds(s, &s->msg);
			else if (ret == -EMSGSIZE)
				VFIO_USER_SRV_LOG(INFO, s->srv->path,
						"bad message size %u, closing",
						s->msg.hdr.size);
			else if (ret < 0)
				VFIO_USER_SRV_LOG(DEBUG, s->srv->path, "receive: %s",
						strerror(-ret));
			else if (ret == 0)
				ret = srv_process_timed(s, &s->msg);
			else
				ret = 0; /* a reply, handed to its waiter */
			vfio_user_msg_close_fds(&s->msg);
		}
		if (ret < 0 || s->fatal)
			goto close;
		/* Nothing queued or buffered: epoll says when the socket has more. */
		if (TAILQ_EMPTY(&s->deferred) && vfio_user_chan_buffered(&s->chan) == 0)
			break;
	}
	if (n == SRV_BATCH)
		srv_kick(s, 0); /* out of budget: come back for the rest */
	else if (srv_check_stall(s))
		goto close;
	srv_current = prev;
	return;

close:
	srv_sess_close(srv, true);
	srv_current = prev;
}

/* retry_fd expired: watch the listening socket again. */
static void
srv_retry_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	uint64_t expirations;

	RTE_SET_USED(events);
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (srv->listening || srv->sess != NULL || srv->listen_fd < 0)
		return;
	if (vfio_user_ctrl_add(srv->listen_fd, EPOLLIN, srv_accept_cb, srv) == 0)
		srv->listening = true;
}

/*
 * accept() failed for lack of descriptors or memory: the connection stays
 * in the backlog and the socket stays readable, so stop watching it for a
 * while instead of spinning on it.
 */
static void
srv_accept_pause(struct vfio_user_server *srv, int err)
{
	struct itimerspec its = { .it_value = { .tv_sec = SRV_ACCEPT_RETRY_MS / 1000,
		.tv_nsec = (SRV_ACCEPT_RETRY_MS % 1000) * 1000000 } };

	VFIO_USER_SRV_LOG(WARNING, srv->path, "accept: %s, pausing %d ms", strerror(err),
			SRV_ACCEPT_RETRY_MS);
	if (srv->retry_fd < 0 || timerfd_settime(srv->retry_fd, 0, &its, NULL) < 0)
		return; /* no timer: keep polling rather than stop serving */
	vfio_user_ctrl_del(srv->listen_fd);
	srv->listening = false;
}

/* The client's credentials pass the checks of rte_vfio_user_set_sock_opts(). */
static bool
srv_peer_allowed(struct vfio_user_server *srv, int conn)
{
	uint32_t checks = srv->sock_opts.flags &
		(RTE_VFIO_USER_SOCK_F_PEER_UID | RTE_VFIO_USER_SOCK_F_PEER_GID);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (checks == 0)
		return true;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
			len != sizeof(cred)) {
		VFIO_USER_SRV_LOG(WARNING, srv->path, "no client credentials: refused");
		return false;
	}
	if ((checks & RTE_VFIO_USER_SOCK_F_PEER_UID) && cred.uid == srv->sock_opts.uid)
		return true;
	if ((checks & RTE_VFIO_USER_SOCK_F_PEER_GID) && cred.gid == srv->sock_opts.gid)
		return true;
	VFIO_USER_SRV_LOG(WARNING, srv->path, "client pid %d uid %u gid %u refused",
			(int)cred.pid, (unsigned int)cred.uid, (unsigned int)cred.gid);
	return false;
}

static void
srv_accept_cb(int fd, uint32_t events, void *arg)
{
	struct vfio_user_server *srv = arg;
	struct srv_session *s;
	int conn, kick, ret;

	RTE_SET_USED(events);
	/*
	 * The session's timer is created before the connection is accepted:
	 * short of descriptors, the client then waits in the backlog until
	 * they are back, instead of being accepted and dropped.
	 */
	kick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	conn = kick < 0 ? -1 : accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (conn < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			srv_accept_pause(srv, errno);
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				errno != ECONNABORTED)
			VFIO_USER_SRV_LOG(ERR, srv->path, "accept: %s", strerror(errno));
		srv_close_fd(&kick);
		return;
	}
	if (srv->sess != NULL || !srv_peer_allowed(srv, conn)) {
		close(kick);
		close(conn);
		return;
	}
	s = srv_sess_create(srv, conn, kick);
	if (s == NULL) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot create a session");
		close(kick);
		close(conn);
		return;
	}
	pthread_rwlock_wrlock(&srv->dp_lock);
	srv->sess = s;
	pthread_rwlock_unlock(&srv->dp_lock);

	ret = vfio_user_ctrl_add(s->kick_fd, EPOLLIN, srv_sess_cb, srv);
	if (ret == 0) {
		ret = vfio_user_ctrl_add(conn, EPOLLIN, srv_sess_cb, srv);
		if (ret < 0)
			vfio_user_ctrl_del(s->kick_fd);
	}
	if (ret < 0) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the connection: %s",
				strerror(-ret));
		pthread_rwlock_wrlock(&srv->dp_lock);
		srv->sess = NULL;
		pthread_rwlock_unlock(&srv->dp_lock);
		srv_sess_free(s);
		return;
	}
	/* One client at a time: the next one waits in the backlog. */
	vfio_user_ctrl_del(fd);
	srv->listening = false;
	VFIO_USER_SRV_LOG(INFO, srv->path, "client connected");
}

/* Stop and unregister: close the session and the socket, on the control thread. */
void
srv_stop_ctrl(void *arg)
{
	struct vfio_user_server *srv = arg;
	bool self = vfio_user_ctrl_is_self();
	struct vfio_user_server *prev = srv_current;
	struct stat st;

	if (self)
		srv_current = srv;
	if (srv->listening) {
		vfio_user_ctrl_del(srv->listen_fd);
		srv->listening = false;
	}
	if (srv->retry_fd >= 0) {
		vfio_user_ctrl_del(srv->retry_fd);
		srv_close_fd(&srv->retry_fd);
	}
	/* Unwatched first: closing the session must not watch the socket again. */
	if (srv->sess != NULL) {
		vfio_user_ctrl_del(srv->sess->fd);
		vfio_user_ctrl_del(srv->sess->kick_fd);
		srv_sess_close(srv, false);
	}
	srv_close_fd(&srv->listen_fd);
	/* Remove the socket file only if it is still ours. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->sock_dev &&
			st.st_ino == srv->sock_ino)
		unlink(srv->path);
	if (self)
		srv_current = prev;
}

/*
 * Warn about a parent directory others may write to without the sticky bit:
 * they could swap the socket file for something else between our checks.
 */
static void
srv_check_parent(struct vfio_user_server *srv)
{
	char dir[SRV_PATH_MAX];
	struct stat st;
	char *slash;

	rte_strlcpy(dir, srv->path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		rte_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) &&
			!(st.st_mode & S_ISVTX))
		VFIO_USER_SRV_LOG(WARNING, srv->path,
				"directory %s is writable by others and not sticky", dir);
}

/*
 * Give the socket file just bound its mode, before listen() lets anyone
 * connect. The file is opened without following a symbolic link and must
 * be a socket of ours: chmod() goes through that descriptor, never through
 * the path again.
 */
static int
srv_sock_chmod(struct vfio_user_server *srv)
{
	char proc_path[64];
	struct stat st;
	int pfd, ret = 0;

	pfd = open(srv->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		ret = -EADDRINUSE;
		goto out;
	}
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", pfd);
	if (chmod(proc_path, srv->sock_opts.mode) < 0) {
		ret = -errno;
		goto out;
	}
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
out:
	close(pfd);
	return ret;
}

/*
 * A path that exists may be replaced only when it is a socket of this user
 * that nobody listens on (left by a dead server). lstat() does not follow a
 * symbolic link, which is thus refused like any other file.
 */
static int
srv_remove_stale(struct vfio_user_server *srv, const struct sockaddr_un *addr)
{
	struct stat st;
	int probe, err;

	if (lstat(srv->path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode)) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "path exists and is not a socket");
		return -EADDRINUSE;
	}
	if (st.st_uid != geteuid()) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "socket of uid %u left alone",
				(unsigned int)st.st_uid);
		return -EADDRINUSE;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	err = connect(probe, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 0 : errno;
	close(probe);
	if (err != ECONNREFUSED) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "socket in use");
		return -EADDRINUSE;
	}
	VFIO_USER_SRV_LOG(INFO, srv->path, "removing stale socket");
	if (unlink(srv->path) < 0)
		return -errno;
	return 0;
}

static int
srv_listen(struct vfio_user_server *srv)
{
	struct sockaddr_un addr;
	int fd, ret;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	rte_strlcpy(addr.sun_path, srv->path, sizeof(addr.sun_path));
	srv_check_parent(srv);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bind() never follows a symbolic link: it fails on any existing path. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		if (ret != -EADDRINUSE)
			goto fail;
		ret = srv_remove_stale(srv, &addr);
		if (ret < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	ret = srv_sock_chmod(srv);
	if (ret < 0) {
		/* Not the file bound (replaced meanwhile): leave it alone. */
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot set the socket mode: %s",
				strerror(-ret));
		goto fail;
	}
	if (listen(fd, SRV_LISTEN_BACKLOG) < 0) {
		ret = -errno;
		unlink(srv->path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

/*
 * Listen on the socket path and watch it: rte_vfio_user_start() (registry
 * lock held, released while a failed watch is undone).
 */
int
srv_open(struct vfio_user_server *srv)
{
	bool retry_watched = false;
	int fd, ret;

	fd = srv_listen(srv);
	if (fd < 0) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot listen: %s", strerror(-fd));
		return fd;
	}
	srv->listen_fd = fd;
	srv->listening = true;
	srv->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ret = srv->retry_fd < 0 ? -errno :
		vfio_user_ctrl_add(srv->retry_fd, EPOLLIN, srv_retry_cb, srv);
	if (ret == 0) {
		ret = vfio_user_ctrl_add(fd, EPOLLIN, srv_accept_cb, srv);
		retry_watched = ret < 0;
	}
	if (ret < 0) {
		VFIO_USER_SRV_LOG(ERR, srv->path, "cannot watch the socket: %s", strerror(-ret));
		srv->listening = false;
		if (retry_watched)
			srv_unwatch_busy(srv, srv->retry_fd);
		srv_close_fd(&srv->retry_fd);
		srv_close_fd(&srv->listen_fd);
		unlink(srv->path);
	}
	return ret;
}

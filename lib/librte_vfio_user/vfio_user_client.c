/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client half: connect to a server, negotiate, then turn each API call into
 * one or more request/reply exchanges on the device's channel (the calls are
 * in vfio_user_client_cmd.c and vfio_user_client_mem.c). The server's
 * own commands (DMA_READ/DMA_WRITE) are answered from the client's DMA table,
 * by whichever thread happens to read them: a caller waiting for its reply,
 * or the control thread (main socket, and the twin socket when negotiated).
 *
 * Lifetime: devices live in a global array indexed by dev_id under cli_lock.
 * Every call takes a reference; detach first cuts the connection (so calls in
 * progress fail with -ENOTCONN), stops the control thread watches, waits for
 * the references to drop and only then frees the device. A device attached
 * with reconnection outlives its server: vfio_user_client_reconnect.c.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vfio_user_caps.h"
#include "vfio_user_client.h"
#include "vfio_user_ctrl.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

static pthread_mutex_t cli_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cli_cond = PTHREAD_COND_INITIALIZER;
static struct vfio_user_client **cli_devs;
static uint32_t cli_cap;
static uint32_t cli_count;

/*
 * Device registry
 */

int
vfio_user_cli_get(int dev_id, struct vfio_user_client **out)
{
	struct vfio_user_client *cli;
	int ret = -ENODEV;

	pthread_mutex_lock(&cli_lock);
	if (dev_id >= 0 && (uint32_t)dev_id < cli_cap) {
		cli = cli_devs[dev_id];
		if (cli != NULL && cli->state == CLI_READY) {
			cli->refcnt++;
			*out = cli;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&cli_lock);
	return ret;
}

void
vfio_user_cli_put(struct vfio_user_client *cli)
{
	pthread_mutex_lock(&cli_lock);
	if (--cli->refcnt == 0)
		pthread_cond_broadcast(&cli_cond);
	pthread_mutex_unlock(&cli_lock);
}

uint32_t
vfio_user_cli_nr_slots(void)
{
	uint32_t n;

	pthread_mutex_lock(&cli_lock);
	n = cli_cap;
	pthread_mutex_unlock(&cli_lock);
	return n;
}

/* Reserve a dev_id for cli. */
static int
cli_slot_alloc(struct vfio_user_client *cli)
{
	struct vfio_user_client **devs;
	uint32_t i, cap;
	int ret = -ENOSPC;

	pthread_mutex_lock(&cli_lock);
	if (cli_count >= cli->lim.max_devices || cli_count >= INT_MAX)
		goto out;
	for (i = 0; i < cli_cap; i++)
		if (cli_devs[i] == NULL)
			break;
	if (i == cli_cap) {
		cap = cli_cap ? cli_cap * 2 : 16;
		devs = realloc(cli_devs, sizeof(*devs) * cap);
		if (devs == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		memset(devs + cli_cap, 0, sizeof(*devs) * (cap - cli_cap));
		cli_devs = devs;
		cli_cap = cap;
	}
	cli_devs[i] = cli;
	cli_count++;
	cli->dev_id = i;
	ret = 0;
out:
	pthread_mutex_unlock(&cli_lock);
	return ret;
}

static void
cli_slot_free(struct vfio_user_client *cli)
{
	pthread_mutex_lock(&cli_lock);
	cli_devs[cli->dev_id] = NULL;
	cli_count--;
	pthread_mutex_unlock(&cli_lock);
}

/*
 * Server commands
 */

/* Answer DMA_READ: positive errno on error, 0 once answered. */
static int
cli_dma_read_cmd(struct vfio_user_client *cli, struct vfio_user_chan *chan,
		const struct vfio_user_msg *msg, bool no_reply)
{
	struct vfio_user_dma_access req;
	struct iovec iov;
	uint8_t *buf;
	int ret;

	if (msg->len != sizeof(req))
		return EINVAL;
	memcpy(&req, msg->data, sizeof(req));
	if (req.count == 0 || req.count > cli->lim.max_data_xfer_size)
		return EINVAL;
	if (no_reply)
		return 0;

	buf = malloc(sizeof(req) + req.count);
	if (buf == NULL)
		return ENOMEM;
	memcpy(buf, &req, sizeof(req));
	pthread_rwlock_rdlock(&cli->dma_lock);
	ret = vfio_user_dma_copy(&cli->dma, req.addr, buf + sizeof(req), req.count, false);
	pthread_rwlock_unlock(&cli->dma_lock);
	if (ret < 0) {
		free(buf);
		return -ret;
	}
	iov.iov_base = buf;
	iov.iov_len = sizeof(req) + req.count;
	ret = vfio_user_chan_reply(chan, &msg->hdr, 0, &iov, 1, NULL, 0);
	if (ret < 0)
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot answer DMA_READ: %s", strerror(-ret));
	free(buf);
	return 0;
}

/* Answer DMA_WRITE: positive errno on error, 0 once answered. */
static int
cli_dma_write_cmd(struct vfio_user_client *cli, struct vfio_user_chan *chan,
		struct vfio_user_msg *msg, bool no_reply)
{
	struct vfio_user_dma_access req, rep;
	struct iovec iov;
	int ret;

	if (msg->len < sizeof(req))
		return EINVAL;
	memcpy(&req, msg->data, sizeof(req));
	if (req.count != msg->len - sizeof(req) || req.count == 0 ||
			req.count > cli->lim.max_data_xfer_size)
		return EINVAL;

	pthread_rwlock_rdlock(&cli->dma_lock);
	ret = vfio_user_dma_copy(&cli->dma, req.addr, msg->data + sizeof(req), req.count, true);
	pthread_rwlock_unlock(&cli->dma_lock);
	if (ret < 0)
		return -ret;
	if (no_reply)
		return 0;

	/*
	 * 16 bytes: the specification's 64-bit address and 32-bit count, then
	 * 4 zero bytes, which is also the 64-bit count servers read there.
	 */
	rep.addr = req.addr;
	rep.count = req.count;
	iov.iov_base = &rep;
	iov.iov_len = sizeof(rep);
	ret = vfio_user_chan_reply(chan, &msg->hdr, 0, &iov, 1, NULL, 0);
	if (ret < 0)
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot answer DMA_WRITE: %s", strerror(-ret));
	return 0;
}

/* Handle a command from the server; releases msg's contents. */
static void
cli_handle_cmd(struct vfio_user_client *cli, struct vfio_user_chan *chan,
		struct vfio_user_msg *msg)
{
	bool no_reply = (msg->hdr.flags & VFIO_USER_F_NO_REPLY) != 0;
	bool dma = msg->hdr.cmd == VFIO_USER_DMA_READ || msg->hdr.cmd == VFIO_USER_DMA_WRITE;
	bool dma_write = msg->hdr.cmd == VFIO_USER_DMA_WRITE;
	int err, ret;

	/* Counted before the reply, so that the server sees the counter once answered. */
	if (dma)
		vfio_user_tel_dma(&cli->stats, dma_write, false);
	if (vfio_user_msg_type(msg) != VFIO_USER_F_TYPE_COMMAND) {
		err = EINVAL;
	} else if (msg->nr_fds != 0 || msg->fds_dropped) {
		/* Neither DMA command carries descriptors. */
		err = EINVAL;
	} else {
		switch (msg->hdr.cmd) {
		case VFIO_USER_DMA_READ:
			err = cli_dma_read_cmd(cli, chan, msg, no_reply);
			break;
		case VFIO_USER_DMA_WRITE:
			err = cli_dma_write_cmd(cli, chan, msg, no_reply);
			break;
		case VFIO_USER_VERSION:
		case VFIO_USER_DMA_MAP:
		case VFIO_USER_DMA_UNMAP:
		case VFIO_USER_DEVICE_GET_INFO:
		case VFIO_USER_DEVICE_GET_REGION_INFO:
		case VFIO_USER_DEVICE_GET_REGION_IO_FDS:
		case VFIO_USER_DEVICE_GET_IRQ_INFO:
		case VFIO_USER_DEVICE_SET_IRQS:
		case VFIO_USER_REGION_READ:
		case VFIO_USER_REGION_WRITE:
		case VFIO_USER_DEVICE_RESET:
		case VFIO_USER_REGION_WRITE_MULTI:
		case VFIO_USER_DEVICE_FEATURE:
		case VFIO_USER_MIG_DATA_READ:
		case VFIO_USER_MIG_DATA_WRITE:
			/* Client-to-server commands make no sense in this direction. */
			err = EINVAL;
			break;
		default:
			err = ENOSYS;
			break;
		}
	}

	if (err != 0) {
		if (dma)
			vfio_user_tel_add(&cli->stats.dma_errors[dma_write], 1);
		VFIO_USER_CLI_LOG(DEBUG, cli->path, "server command %u (flags 0x%x) failed: %s",
			msg->hdr.cmd, msg->hdr.flags, strerror(err));
		if (!no_reply) {
			ret = vfio_user_chan_reply(chan, &msg->hdr, err, NULL, 0, NULL, 0);
			if (ret < 0)
				VFIO_USER_CLI_LOG(ERR, cli->path, "cannot send error reply: %s",
					strerror(-ret));
		}
	}
	vfio_user_msg_release(msg);
}

/* A command read by a thread waiting for its own reply. */
static void
cli_on_cmd(struct vfio_user_chan *chan, struct vfio_user_msg *msg, void *arg)
{
	cli_handle_cmd(arg, chan, msg);
}

/* A waiting thread stopped reading: let the control thread watch the socket again. */
static void
cli_on_idle(struct vfio_user_chan *chan, void *arg)
{
	struct vfio_user_client *cli = arg;

	if (cli->twin_fd < 0 && __atomic_load_n(&cli->watching, __ATOMIC_ACQUIRE))
		vfio_user_ctrl_mod(chan->fd, EPOLLIN | EPOLLONESHOT);
}

static void
cli_twin_on_idle(struct vfio_user_chan *chan, void *arg)
{
	RTE_SET_USED(chan);
	RTE_SET_USED(arg);
}

/* Tell the disconnect callback, once, that the device is gone for good. */
void
vfio_user_cli_notify_gone(struct vfio_user_client *cli)
{
	/* Detach waits on disc_lock, so the callback never outlives the device. */
	pthread_mutex_lock(&cli->disc_lock);
	if (!cli->disc_done) {
		cli->disc_done = true;
		if (cli->disc_cb != NULL) {
			/* Also from the retry alarm, which gives up on a refused reconnection. */
			cli->conn_cb_thread = pthread_self();
			__atomic_store_n(&cli->conn_cb_running, true, __ATOMIC_RELEASE);
			cli->disc_running = true;
			cli->disc_cb(cli->dev_id, cli->disc_arg);
			cli->disc_running = false;
			__atomic_store_n(&cli->conn_cb_running, false, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&cli->disc_lock);
}

/* On the control thread: the server is gone, fail every waiter. */
static void
cli_server_gone(struct vfio_user_client *cli, int err)
{
	bool notify = false;

	/*
	 * Once only, and not when detach cut the connection itself. During
	 * attach watching is already set, so a hang-up seen on the twin
	 * socket before the main socket is watched is not lost.
	 */
	if (!__atomic_exchange_n(&cli->gone, true, __ATOMIC_ACQ_REL) &&
			__atomic_exchange_n(&cli->watching, false, __ATOMIC_ACQ_REL)) {
		VFIO_USER_CLI_LOG(INFO, cli->path, "server disconnected (%s)", strerror(err));
		notify = true;
	}
	__atomic_store_n(&cli->connected, false, __ATOMIC_RELEASE);
	/* The stream cannot be resynchronised: let the server see the end too. */
	shutdown(cli->chan.fd, SHUT_RDWR);
	if (cli->twin_fd >= 0)
		shutdown(cli->twin_fd, SHUT_RDWR);
	vfio_user_chan_kill(&cli->chan, err);
	vfio_user_ctrl_del(cli->chan.fd);
	/* The twin watch may be younger than the attach thread's bookkeeping: just try. */
	if (cli->twin_fd >= 0) {
		vfio_user_chan_kill(&cli->twin, err);
		vfio_user_ctrl_del(cli->twin_fd);
	}

	if (!notify)
		return;
	if (cli->reconnect_ms != 0)
		vfio_user_rc_lost(cli);
	else
		vfio_user_cli_notify_gone(cli);
}

/*
 * Messages from chan, on the control thread, until none is left: a message
 * already in the channel's buffer does not make the socket poll readable.
 * Returns false when the channel is finished here (the server is gone, or a
 * caller thread reads and will re-arm the watch through on_idle).
 */
static bool
cli_ctrl_read(struct vfio_user_client *cli, struct vfio_user_chan *chan)
{
	struct vfio_user_msg msg;
	int ret;

	vfio_user_msg_init(&msg);
	for (;;) {
		ret = vfio_user_chan_recv(chan, &msg, 0);
		switch (ret) {
		case 0:
			cli_handle_cmd(cli, chan, &msg);
			continue;
		case 1:
			continue;
		case -EAGAIN:
			vfio_user_msg_release(&msg);
			return true;
		case -EBUSY:
			vfio_user_msg_release(&msg);
			return false;
		case -ETOOMANYREFS:
			/* Read whole, descriptors closed: refuse a command. */
			if (vfio_user_msg_type(&msg) == VFIO_USER_F_TYPE_COMMAND &&
					!(msg.hdr.flags & VFIO_USER_F_NO_REPLY))
				vfio_user_chan_reply(chan, &msg.hdr, EINVAL, NULL, 0, NULL, 0);
			vfio_user_msg_close_fds(&msg);
			continue;
		default:
			vfio_user_msg_release(&msg);
			if (ret == -EMSGSIZE)
				VFIO_USER_CLI_LOG(ERR, cli->path, "bad message size from server");
			cli_server_gone(cli, ret == -EMSGSIZE ? EPROTO : ECONNRESET);
			return false;
		}
	}
}

/*
 * The main socket. With a twin socket the server sends its commands there,
 * so here only a hang-up matters and replies wake nobody but their caller;
 * without one, the control thread also answers DMA commands arriving while
 * no call is in progress.
 */
static void
cli_main_ev(int fd, uint32_t events, void *arg)
{
	struct vfio_user_client *cli = arg;

	if (cli->twin_fd >= 0) {
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			cli_server_gone(cli, ECONNRESET);
		return;
	}
	if (cli_ctrl_read(cli, &cli->chan))
		vfio_user_ctrl_mod(fd, EPOLLIN | EPOLLONESHOT);
}

static void
cli_twin_ev(int fd, uint32_t events, void *arg)
{
	struct vfio_user_client *cli = arg;

	RTE_SET_USED(fd);
	RTE_SET_USED(events);
	cli_ctrl_read(cli, &cli->twin);
}

/*
 * Connection and negotiation
 */

int
vfio_user_cli_connect(const char *path, uint32_t timeout_ms)
{
	uint64_t deadline = (uint64_t)vfio_user_now_ms() + timeout_ms;
	struct sockaddr_un un;
	struct pollfd pfd;
	socklen_t len;
	int fd, ret, err;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, path);

	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		ret = connect(fd, (struct sockaddr *)&un, sizeof(un));
		if (ret == 0)
			return fd;
		err = errno;
		if (err == EINPROGRESS) {
			uint64_t now = (uint64_t)vfio_user_now_ms();

			pfd.fd = fd;
			pfd.events = POLLOUT;
			ret = poll(&pfd, 1, now < deadline ? (int)(deadline - now) : 0);
			if (ret == 0) {
				err = ETIMEDOUT;
			} else if (ret < 0) {
				err = errno;
			} else {
				len = sizeof(err);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
					err = errno;
				if (err == 0)
					return fd;
			}
		}
		close(fd);
		if (err != EAGAIN && err != EINTR)
			return -err;
		if ((uint64_t)vfio_user_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Receive size of our channel, as a reply payload bound (argsz). */
uint32_t
vfio_user_cli_max_payload(const struct vfio_user_client *cli)
{
	return cli->lim.max_msg_size - VFIO_USER_HDR_SIZE;
}

/*
 * VERSION: the twin socket (cli->twin_fd) and what was negotiated (got),
 * which the caller applies. A reconnection checks it against attach instead:
 * callers read the values in use without a lock.
 */
static int
cli_negotiate(struct vfio_user_client *cli, struct cli_nego *got)
{
	struct vfio_user_caps caps, peer;
	struct vfio_user_negotiated use;
	struct vfio_user_version ver;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	char *json;
	size_t json_len;
	struct stat st;
	int ret, fd, fl;

	vfio_user_caps_propose(&cli->lim, &caps);
	json = vfio_user_caps_format(&caps, &json_len);
	if (json == NULL)
		return -ENOMEM;

	ver.major = RTE_VFIO_USER_VERSION_MAJOR;
	ver.minor = RTE_VFIO_USER_VERSION_MINOR;
	iov[0].iov_base = &ver;
	iov[0].iov_len = sizeof(ver);
	iov[1].iov_base = json;
	iov[1].iov_len = json_len;

	vfio_user_msg_init(&reply);
	ret = vfio_user_chan_call(&cli->chan, VFIO_USER_VERSION, iov, 2, NULL, 0, &reply);
	free(json);
	if (ret < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "VERSION failed: %s", strerror(-ret));
		goto out;
	}

	ret = -EPROTO;
	if (reply.len < sizeof(ver)) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "VERSION reply too short (%u bytes)", reply.len);
		goto out;
	}
	memcpy(&ver, reply.data, sizeof(ver));
	if (ver.major != RTE_VFIO_USER_VERSION_MAJOR ||
			ver.minor > RTE_VFIO_USER_VERSION_MINOR) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "server answered version %u.%u to 0.0",
			ver.major, ver.minor);
		goto out;
	}
	vfio_user_caps_defaults(&peer);
	if (vfio_user_caps_parse((const char *)reply.data + sizeof(ver),
			reply.len - sizeof(ver), &peer) < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "invalid capabilities in VERSION reply");
		goto out;
	}
	if (vfio_user_caps_accept(&peer, &cli->lim, &use) < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "server max_data_xfer_size is 0");
		goto out;
	}

	if (use.twin) {
		if (!peer.twin_has_fd_index || peer.twin_fd_index >= reply.nr_fds) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "twin socket without a valid fd_index");
			goto out;
		}
		fd = vfio_user_msg_take_fd(&reply, (uint32_t)peer.twin_fd_index);
		if (fd < 0) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "twin socket descriptor missing");
			goto out;
		}
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "twin socket descriptor is no socket");
			close(fd);
			goto out;
		}
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
				fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			ret = -errno;
			close(fd);
			goto out;
		}
		cli->twin_fd = fd;
	}

	got->minor = ver.minor;
	got->xfer_size = use.max_data_xfer;
	got->peer_max_fds = use.max_msg_fds;
	got->dma_max = use.max_dma_maps;
	got->pgsizes = use.pgsizes;
	got->twin = cli->twin_fd >= 0;
	got->write_multiple = use.write_multiple;
	got->mig_pgsize = use.mig_pgsize;
	got->mig_max_bitmap = use.mig_max_bitmap;
	if (reply.nr_fds > (cli->twin_fd >= 0 ? 1u : 0u))
		VFIO_USER_CLI_LOG(WARNING, cli->path, "closing unexpected descriptors of VERSION");
	VFIO_USER_CLI_LOG(DEBUG, cli->path,
		"negotiated: xfer %u, fds %u, dma maps %u, pgsizes 0x%" PRIx64
		", twin %d, multi %d",
		got->xfer_size, got->peer_max_fds, got->dma_max, got->pgsizes,
		got->twin, got->write_multiple);
	ret = 0;
out:
	vfio_user_msg_release(&reply);
	return ret;
}

void
vfio_user_cli_close(struct vfio_user_client *cli)
{
	if (cli->twin_init)
		vfio_user_chan_fini(&cli->twin);
	cli->twin_init = false;
	if (cli->twin_fd >= 0)
		close(cli->twin_fd);
	cli->twin_fd = -1;
	if (cli->chan_init) {
		vfio_user_chan_fini(&cli->chan);
		close(cli->chan.fd);
	}
	cli->chan_init = false;
}

/* Free everything; the device is in no registry slot and nobody uses it. */
static void
cli_free(struct vfio_user_client *cli)
{
	struct cli_region_maps *rm;
	uint32_t i;

	while ((rm = TAILQ_FIRST(&cli->maps)) != NULL) {
		TAILQ_REMOVE(&cli->maps, rm, next);
		for (i = 0; i < rm->nr; i++)
			munmap(rm->maps[i].addr, rm->maps[i].size);
		free(rm);
	}
	vfio_user_cli_close(cli);
	vfio_user_rc_fini(cli);
	vfio_user_dma_fini(&cli->dma);
	pthread_rwlock_destroy(&cli->dma_lock);
	pthread_rwlock_destroy(&cli->conn_lock);
	pthread_mutex_destroy(&cli->replay_fd_lock);
	free(cli->held_state);
	pthread_mutex_destroy(&cli->held_lock);
	pthread_mutex_destroy(&cli->map_lock);
	pthread_mutex_destroy(&cli->disc_lock);
	free(cli);
}

void
vfio_user_cli_disconnect(struct vfio_user_client *cli)
{
	/* First: a reconnection in progress would set up a new connection. */
	vfio_user_rc_stop(cli);
	vfio_user_cli_unwatch(cli);
}

void
vfio_user_cli_unwatch(struct vfio_user_client *cli)
{
	__atomic_store_n(&cli->watching, false, __ATOMIC_RELEASE);
	/* Wakes threads blocked in poll() on the sockets, even mid-send. */
	if (cli->chan_init)
		shutdown(cli->chan.fd, SHUT_RDWR);
	if (cli->twin_fd >= 0)
		shutdown(cli->twin_fd, SHUT_RDWR);
	if (cli->chan_init) {
		vfio_user_chan_kill(&cli->chan, ENOTCONN);
		vfio_user_ctrl_del(cli->chan.fd);
	}
	if (cli->twin_init)
		vfio_user_chan_kill(&cli->twin, ENOTCONN);
	if (cli->twin_fd >= 0)
		vfio_user_ctrl_del(cli->twin_fd);
}

int
vfio_user_cli_open(struct vfio_user_client *cli, int fd, struct cli_nego *got)
{
	int ret;

	ret = vfio_user_chan_init(&cli->chan, fd, &cli->lim);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	cli->chan_init = true;
	cli->chan.ctrl_reads_only = false;
	cli->chan.on_cmd = cli_on_cmd;
	cli->chan.on_idle = cli_on_idle;
	cli->chan.arg = cli;
	return cli_negotiate(cli, got);
}

int
vfio_user_cli_watch(struct vfio_user_client *cli)
{
	int ret;

	/*
	 * From here on a hang-up is the server's doing and is notified (see
	 * cli_server_gone()): with no callback set yet, as a -ENOTCONN from
	 * rte_vfio_user_set_disconnect_cb().
	 */
	__atomic_store_n(&cli->gone, false, __ATOMIC_RELEASE);
	__atomic_store_n(&cli->watching, true, __ATOMIC_RELEASE);
	if (cli->twin_fd >= 0) {
		ret = vfio_user_chan_init(&cli->twin, cli->twin_fd, &cli->lim);
		if (ret < 0)
			return ret;
		cli->twin_init = true;
		/* Only the control thread reads the twin socket; we send no commands there. */
		cli->twin.ctrl_reads_only = true;
		cli->twin.on_cmd = cli_on_cmd;
		cli->twin.on_idle = cli_twin_on_idle;
		cli->twin.arg = cli;
		ret = vfio_user_ctrl_add(cli->twin_fd, EPOLLIN, cli_twin_ev, cli);
		if (ret < 0)
			return ret;
	}
	return vfio_user_ctrl_add(cli->chan.fd,
			cli->twin_fd >= 0 ? EPOLLRDHUP : EPOLLIN | EPOLLONESHOT, cli_main_ev, cli);
}

int
rte_vfio_user_attach_dev(const char *sock_addr)
{
	return rte_vfio_user_attach_dev_opts(sock_addr, NULL);
}

/* Longest reconnection interval: an hour. */
#define CLI_MAX_RECONNECT_MS (3600u * 1000u)

int
rte_vfio_user_attach_dev_opts(const char *sock_addr, const struct rte_vfio_user_attach_opts *opts)
{
	struct vfio_user_client *cli;
	size_t len;
	int fd, ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	len = strnlen(sock_addr, sizeof(cli->path));
	if (len == 0 || len >= sizeof(cli->path))
		return vfio_user_err(-EINVAL);
	if (opts != NULL && opts->reconnect_ms > CLI_MAX_RECONNECT_MS)
		return vfio_user_err(-EINVAL);

	cli = calloc(1, sizeof(*cli));
	if (cli == NULL)
		return vfio_user_err(-ENOMEM);
	memcpy(cli->path, sock_addr, len + 1);
	cli->twin_fd = -1;
	cli->state = CLI_ATTACHING;
	if (opts != NULL) {
		cli->reconnect_ms = opts->reconnect_ms;
		cli->conn_cb = opts->conn_cb;
		cli->conn_arg = opts->conn_arg;
	}
	vfio_user_limits_snapshot(&cli->lim);
	pthread_rwlock_init(&cli->dma_lock, NULL);
	pthread_rwlock_init(&cli->conn_lock, NULL);
	pthread_mutex_init(&cli->replay_fd_lock, NULL);
	cli->replay_fd = -1;
	pthread_mutex_init(&cli->held_lock, NULL);
	pthread_mutex_init(&cli->map_lock, NULL);
	pthread_mutex_init(&cli->disc_lock, NULL);
	TAILQ_INIT(&cli->maps);
	vfio_user_dma_init(&cli->dma, cli->lim.max_dma_maps, false);

	ret = cli_slot_alloc(cli);
	if (ret < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot attach: %s", strerror(-ret));
		cli_free(cli);
		return vfio_user_err(ret);
	}

	fd = vfio_user_cli_connect(cli->path, cli->lim.reply_timeout_ms);
	if (fd < 0) {
		ret = fd;
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot connect: %s", strerror(-ret));
		goto err;
	}
	ret = vfio_user_cli_open(cli, fd, &cli->nego);
	if (ret < 0)
		goto err;
	cli->minor = cli->nego.minor;
	cli->xfer_size = cli->nego.xfer_size;
	cli->peer_max_fds = cli->nego.peer_max_fds;
	cli->dma.max = cli->nego.dma_max;
	cli->pgsizes = cli->nego.pgsizes;
	cli->write_multiple = cli->nego.write_multiple;
	cli->mig_pgsize = cli->nego.mig_pgsize;
	cli->mig_max_bitmap = cli->nego.mig_max_bitmap;
	__atomic_store_n(&cli->connected, true, __ATOMIC_RELEASE);
	if (cli->reconnect_ms != 0) {
		ret = vfio_user_rc_init(cli);
		if (ret < 0)
			goto err;
	}
	ret = vfio_user_cli_watch(cli);
	if (ret < 0)
		goto err;

	pthread_mutex_lock(&cli_lock);
	cli->state = CLI_READY;
	pthread_mutex_unlock(&cli_lock);
	VFIO_USER_CLI_LOG(INFO, cli->path, "attached as client device %d", cli->dev_id);
	return cli->dev_id;

err:
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = -ENOTCONN;
	vfio_user_cli_disconnect(cli);
	cli_slot_free(cli);
	cli_free(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_detach_dev(int dev_id)
{
	struct vfio_user_client *cli;

	pthread_mutex_lock(&cli_lock);
	if (dev_id < 0 || (uint32_t)dev_id >= cli_cap || cli_devs[dev_id] == NULL ||
			cli_devs[dev_id]->state != CLI_READY) {
		pthread_mutex_unlock(&cli_lock);
		return vfio_user_err(-ENODEV);
	}
	cli = cli_devs[dev_id];
	/* From its own disconnect or connection callback, which holds disc_lock. */
	if ((vfio_user_ctrl_is_self() && cli->disc_running) || vfio_user_rc_in_callback(cli)) {
		pthread_mutex_unlock(&cli_lock);
		return vfio_user_err(-EDEADLK);
	}
	cli->state = CLI_DETACHING;
	pthread_mutex_unlock(&cli_lock);

	vfio_user_cli_disconnect(cli);
	/* Waits for a disconnect callback in progress; none starts afterwards. */
	pthread_mutex_lock(&cli->disc_lock);
	cli->disc_done = true;
	pthread_mutex_unlock(&cli->disc_lock);

	pthread_mutex_lock(&cli_lock);
	while (cli->refcnt > 0)
		pthread_cond_wait(&cli_cond, &cli_lock);
	cli_devs[dev_id] = NULL;
	cli_count--;
	pthread_mutex_unlock(&cli_lock);

	VFIO_USER_CLI_LOG(INFO, cli->path, "detached client device %d", dev_id);
	cli_free(cli);
	return 0;
}

int
rte_vfio_user_set_disconnect_cb(int dev_id, rte_vfio_user_disconnect_cb_t cb, void *arg)
{
	struct vfio_user_client *cli;
	int ret;

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	/* The control thread holds disc_lock while it runs the callback. */
	if ((vfio_user_ctrl_is_self() && cli->disc_running) || vfio_user_rc_in_callback(cli)) {
		vfio_user_cli_put(cli);
		return vfio_user_err(-EDEADLK);
	}
	pthread_mutex_lock(&cli->disc_lock);
	if (cli->disc_done) {
		ret = -ENOTCONN;
	} else {
		cli->disc_cb = cb;
		cli->disc_arg = arg;
	}
	pthread_mutex_unlock(&cli->disc_lock);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

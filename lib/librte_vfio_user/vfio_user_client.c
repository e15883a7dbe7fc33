/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client half: connect to a server, negotiate, then turn each API call into
 * one or more request/reply exchanges on the device's channel. The server's
 * own commands (DMA_READ/DMA_WRITE) are answered from the client's DMA table,
 * by whichever thread happens to read them: a caller waiting for its reply,
 * or the control thread (main socket, and the twin socket when negotiated).
 *
 * Lifetime: devices live in a global array indexed by dev_id under cli_lock.
 * Every call takes a reference; detach first cuts the connection (so calls in
 * progress fail with -ENOTCONN), stops the control thread watches, waits for
 * the references to drop and only then frees the device.
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
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vfio_user_caps.h"
#include "vfio_user_ctrl.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

/* Bounds the GET_REGION_INFO retries of region_mmap() (argsz grows each time). */
#define CLI_REGION_INFO_TRIES 4
#define CLI_REGION_INFO_FIRST_ARGSZ 512
/* Bounds a capability chain walk, so that a looping chain cannot hang us. */
#define CLI_MAX_CAPS 64

enum cli_state {
	CLI_ATTACHING,
	CLI_READY,
	CLI_DETACHING,
};

/* The mappings of one region made by rte_vfio_user_region_mmap(). */
struct cli_region_maps {
	TAILQ_ENTRY(cli_region_maps) next;
	uint32_t index;
	uint32_t nr;
	struct rte_vfio_user_region_map maps[];
};

struct vfio_user_client {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int dev_id;
	enum cli_state state;     /* under cli_lock */
	uint32_t refcnt;          /* under cli_lock */
	struct rte_vfio_user_limits lim;

	struct vfio_user_chan chan;  /* main socket */
	bool chan_init;
	bool watching;               /* main socket watched by the control thread */
	int twin_fd;                 /* -1 without twin socket */
	struct vfio_user_chan twin;
	bool twin_init;
	bool gone;                   /* server went away (set on the control thread) */

	/* rte_vfio_user_set_disconnect_cb(); the callback runs under disc_lock. */
	pthread_mutex_t disc_lock;
	rte_vfio_user_disconnect_cb_t disc_cb;
	void *disc_arg;
	bool disc_done;              /* notified, or detach began: never call again */
	bool disc_running;           /* the control thread is in the callback */

	/* What the server negotiated. */
	uint32_t xfer_size;          /* split size of REGION_READ/WRITE */
	uint32_t peer_max_fds;
	uint64_t pgsizes;
	bool write_multiple;

	pthread_rwlock_t dma_lock;
	struct vfio_user_dma_table dma;

	pthread_mutex_t map_lock;
	TAILQ_HEAD(, cli_region_maps) maps;
};

static pthread_mutex_t cli_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cli_cond = PTHREAD_COND_INITIALIZER;
static struct vfio_user_client **cli_devs;
static uint32_t cli_cap;
static uint32_t cli_count;

/*
 * Device registry
 */

static int
cli_get(int dev_id, struct vfio_user_client **out)
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

static void
cli_put(struct vfio_user_client *cli)
{
	pthread_mutex_lock(&cli_lock);
	if (--cli->refcnt == 0)
		pthread_cond_broadcast(&cli_cond);
	pthread_mutex_unlock(&cli_lock);
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
	int err, ret;

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

	/* Last: detach waits on disc_lock, so the callback never outlives the device. */
	pthread_mutex_lock(&cli->disc_lock);
	if (notify && !cli->disc_done) {
		cli->disc_done = true;
		if (cli->disc_cb != NULL) {
			cli->disc_running = true;
			cli->disc_cb(cli->dev_id, cli->disc_arg);
			cli->disc_running = false;
		}
	}
	pthread_mutex_unlock(&cli->disc_lock);
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

/* Connect to path; a full backlog is retried until the reply timeout. */
static int
cli_connect(const char *path, uint32_t timeout_ms)
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
static uint32_t
cli_max_payload(const struct vfio_user_client *cli)
{
	return cli->lim.max_msg_size - VFIO_USER_HDR_SIZE;
}

static int
cli_negotiate(struct vfio_user_client *cli)
{
	struct vfio_user_caps caps, peer;
	struct vfio_user_version ver;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	char *json;
	size_t json_len;
	struct stat st;
	int ret, fd, fl;

	memset(&caps, 0, sizeof(caps));
	caps.present = VFIO_USER_CAP_MAX_MSG_FDS | VFIO_USER_CAP_MAX_DATA_XFER |
		VFIO_USER_CAP_PGSIZES | VFIO_USER_CAP_MAX_DMA_MAPS |
		VFIO_USER_CAP_TWIN_SOCKET | VFIO_USER_CAP_WRITE_MULTIPLE;
	caps.max_msg_fds = cli->lim.max_msg_fds;
	caps.max_data_xfer_size = cli->lim.max_data_xfer_size;
	/* Any power-of-two page size from the host page up can back our windows. */
	caps.pgsizes = ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
	caps.max_dma_maps = cli->lim.max_dma_maps;
	caps.twin_supported = true;
	caps.write_multiple = true;

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
	if (peer.max_data_xfer_size == 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "server max_data_xfer_size is 0");
		goto out;
	}

	if ((peer.present & VFIO_USER_CAP_TWIN_SOCKET) && peer.twin_supported) {
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

	cli->xfer_size = (uint32_t)RTE_MIN(peer.max_data_xfer_size,
		(uint64_t)cli->lim.max_data_xfer_size);
	cli->peer_max_fds = (uint32_t)RTE_MIN(peer.max_msg_fds, (uint64_t)VFIO_USER_SCM_MAX_FDS);
	cli->dma.max = (uint32_t)RTE_MIN(peer.max_dma_maps, (uint64_t)cli->lim.max_dma_maps);
	cli->pgsizes = peer.pgsizes;
	cli->write_multiple = (peer.present & VFIO_USER_CAP_WRITE_MULTIPLE) &&
		peer.write_multiple;
	if (reply.nr_fds > (cli->twin_fd >= 0 ? 1u : 0u))
		VFIO_USER_CLI_LOG(WARNING, cli->path, "closing unexpected descriptors of VERSION");
	VFIO_USER_CLI_LOG(DEBUG, cli->path,
		"negotiated: xfer %u, fds %u, dma maps %u, pgsizes 0x%" PRIx64
		", twin %d, multi %d",
		cli->xfer_size, cli->peer_max_fds, cli->dma.max, cli->pgsizes,
		cli->twin_fd >= 0, cli->write_multiple);
	ret = 0;
out:
	vfio_user_msg_release(&reply);
	return ret;
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
	if (cli->twin_init)
		vfio_user_chan_fini(&cli->twin);
	if (cli->twin_fd >= 0)
		close(cli->twin_fd);
	if (cli->chan_init) {
		vfio_user_chan_fini(&cli->chan);
		close(cli->chan.fd);
	}
	vfio_user_dma_fini(&cli->dma);
	pthread_rwlock_destroy(&cli->dma_lock);
	pthread_mutex_destroy(&cli->map_lock);
	pthread_mutex_destroy(&cli->disc_lock);
	free(cli);
}

/* Cut the connection and stop the watches; calls in progress fail. */
static void
cli_disconnect(struct vfio_user_client *cli)
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
rte_vfio_user_attach_dev(const char *sock_addr)
{
	struct vfio_user_client *cli;
	size_t len;
	int fd, ret;

	if (sock_addr == NULL)
		return vfio_user_err(-EINVAL);
	len = strnlen(sock_addr, sizeof(cli->path));
	if (len == 0 || len >= sizeof(cli->path))
		return vfio_user_err(-EINVAL);

	cli = calloc(1, sizeof(*cli));
	if (cli == NULL)
		return vfio_user_err(-ENOMEM);
	memcpy(cli->path, sock_addr, len + 1);
	cli->twin_fd = -1;
	cli->state = CLI_ATTACHING;
	vfio_user_limits_snapshot(&cli->lim);
	pthread_rwlock_init(&cli->dma_lock, NULL);
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

	fd = cli_connect(cli->path, cli->lim.reply_timeout_ms);
	if (fd < 0) {
		ret = fd;
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot connect: %s", strerror(-ret));
		goto err;
	}
	ret = vfio_user_chan_init(&cli->chan, fd, &cli->lim);
	if (ret < 0) {
		close(fd);
		goto err;
	}
	cli->chan_init = true;
	cli->chan.ctrl_reads_only = false;
	cli->chan.on_cmd = cli_on_cmd;
	cli->chan.on_idle = cli_on_idle;
	cli->chan.arg = cli;

	ret = cli_negotiate(cli);
	if (ret < 0)
		goto err;

	/*
	 * From here on a hang-up is the server's doing and is notified (see
	 * cli_server_gone()): with no callback set yet, as a -ENOTCONN from
	 * rte_vfio_user_set_disconnect_cb().
	 */
	__atomic_store_n(&cli->watching, true, __ATOMIC_RELEASE);
	if (cli->twin_fd >= 0) {
		ret = vfio_user_chan_init(&cli->twin, cli->twin_fd, &cli->lim);
		if (ret < 0)
			goto err;
		cli->twin_init = true;
		/* Only the control thread reads the twin socket; we send no commands there. */
		cli->twin.ctrl_reads_only = true;
		cli->twin.on_cmd = cli_on_cmd;
		cli->twin.on_idle = cli_twin_on_idle;
		cli->twin.arg = cli;
		ret = vfio_user_ctrl_add(cli->twin_fd, EPOLLIN, cli_twin_ev, cli);
		if (ret < 0)
			goto err;
	}

	ret = vfio_user_ctrl_add(fd, cli->twin_fd >= 0 ? EPOLLRDHUP : EPOLLIN | EPOLLONESHOT,
			cli_main_ev, cli);
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
	cli_disconnect(cli);
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
	/* From its own disconnect callback, which holds disc_lock. */
	if (vfio_user_ctrl_is_self() && cli->disc_running) {
		pthread_mutex_unlock(&cli_lock);
		return vfio_user_err(-EDEADLK);
	}
	cli->state = CLI_DETACHING;
	pthread_mutex_unlock(&cli_lock);

	cli_disconnect(cli);
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

/*
 * Request/reply helpers
 */

/* One exchange; a broken connection reads as -ENOTCONN. */
static int
cli_call(struct vfio_user_client *cli, uint16_t cmd, const struct iovec *iov, int iovcnt,
		const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply)
{
	int ret;

	ret = vfio_user_chan_call(&cli->chan, cmd, iov, iovcnt, fds, nr_fds, reply);
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = -ENOTCONN;
	if (ret < 0)
		VFIO_USER_CLI_LOG(DEBUG, cli->path, "command %u failed: %s", cmd, strerror(-ret));
	return ret;
}

/* A reply of exactly len payload bytes and no descriptors, else -EPROTO. */
static int
cli_check_reply(struct vfio_user_client *cli, const struct vfio_user_msg *reply, uint32_t len)
{
	if (reply->len != len || reply->nr_fds != 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path,
			"malformed reply to command %u: %u bytes (want %u), %u fds",
			reply->hdr.cmd, reply->len, len, reply->nr_fds);
		return -EPROTO;
	}
	return 0;
}

/* Send a command with a fixed-size reply and copy the reply. */
static int
cli_simple_call(struct vfio_user_client *cli, uint16_t cmd, const void *req, uint32_t req_len,
		void *out, uint32_t out_len)
{
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	iov.iov_base = (void *)(uintptr_t)req;
	iov.iov_len = req_len;
	vfio_user_msg_init(&reply);
	ret = cli_call(cli, cmd, &iov, req_len ? 1 : 0, NULL, 0, &reply);
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, out_len);
	if (ret == 0 && out_len != 0)
		memcpy(out, reply.data, out_len);
	vfio_user_msg_release(&reply);
	return ret;
}

int
rte_vfio_user_get_dev_info(int dev_id, struct vfio_device_info *info)
{
	struct vfio_user_device_info req, rep;
	struct vfio_user_client *cli;
	int ret;

	if (info == NULL)
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	ret = cli_simple_call(cli, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req),
		&rep, sizeof(rep));
	if (ret == 0) {
		memset(info, 0, sizeof(*info));
		info->argsz = sizeof(*info);
		info->flags = rep.flags;
		info->num_regions = rep.num_regions;
		info->num_irqs = rep.num_irqs;
	}
	cli_put(cli);
	return vfio_user_err(ret);
}

/*
 * GET_REGION_INFO into info (argsz bytes, at least the struct). On success
 * info holds the reply payload, argsz the size the server needs, and *fd the
 * region's descriptor or -1.
 */
static int
cli_region_info(struct vfio_user_client *cli, uint32_t index, struct vfio_region_info *info,
		uint32_t argsz, int *fd)
{
	struct vfio_region_info req, rep;
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	*fd = -1;
	memset(&req, 0, sizeof(req));
	req.argsz = RTE_MIN(argsz, cli_max_payload(cli));
	req.index = index;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);

	vfio_user_msg_init(&reply);
	ret = cli_call(cli, VFIO_USER_DEVICE_GET_REGION_INFO, &iov, 1, NULL, 0, &reply);
	if (ret < 0)
		goto out;

	ret = -EPROTO;
	if (reply.len < sizeof(rep) || reply.len > req.argsz) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "region info reply of %u bytes (argsz %u)",
			reply.len, req.argsz);
		goto out;
	}
	memcpy(&rep, reply.data, sizeof(rep));
	if (rep.index != index || rep.argsz < reply.len) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "region info reply: index %u argsz %u len %u",
			rep.index, rep.argsz, reply.len);
		goto out;
	}
	if (reply.len == sizeof(rep)) {
		/* Chain not included (too large, or none). */
		rep.cap_offset = 0;
	} else if (rep.cap_offset != 0 && (rep.cap_offset < sizeof(rep) ||
			rep.cap_offset > reply.len - sizeof(struct vfio_info_cap_header))) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "region info cap_offset %u outside %u bytes",
			rep.cap_offset, reply.len);
		goto out;
	}
	if (reply.nr_fds > 1 || (reply.nr_fds == 1 && !(rep.flags & VFIO_REGION_INFO_FLAG_MMAP))) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "region info reply with %u fds, flags 0x%x",
			reply.nr_fds, rep.flags);
		goto out;
	}

	memcpy(info, reply.data, reply.len);
	memcpy(info, &rep, sizeof(rep));
	if (reply.nr_fds == 1)
		*fd = vfio_user_msg_take_fd(&reply, 0);
	ret = 0;
out:
	vfio_user_msg_release(&reply);
	return ret;
}

int
rte_vfio_user_get_reg_info(int dev_id, struct vfio_region_info *info, int *fd)
{
	struct vfio_user_client *cli;
	int ret, rfd;

	if (info == NULL || info->argsz < sizeof(*info))
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	ret = cli_region_info(cli, info->index, info, info->argsz, &rfd);
	if (ret == 0) {
		if (fd != NULL)
			*fd = rfd;
		else if (rfd >= 0)
			close(rfd);
	}
	cli_put(cli);
	return vfio_user_err(ret);
}

/* One GET_REGION_IO_FDS exchange; checks the reply header. */
static int
cli_io_fds_call(struct vfio_user_client *cli, uint32_t index, uint32_t argsz,
		struct vfio_user_msg *reply, struct vfio_user_region_io_fds_req *rep)
{
	struct vfio_user_region_io_fds_req req;
	struct iovec iov;
	int ret;

	memset(&req, 0, sizeof(req));
	req.argsz = argsz;
	req.index = index;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);

	ret = cli_call(cli, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &iov, 1, NULL, 0, reply);
	if (ret < 0)
		return ret;
	if (reply->len < sizeof(*rep) || reply->len > argsz) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "io fds reply of %u bytes (argsz %u)",
			reply->len, argsz);
		return -EPROTO;
	}
	memcpy(rep, reply->data, sizeof(*rep));
	if (rep->index != index) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "io fds reply for region %u, asked %u",
			rep->index, index);
		return -EPROTO;
	}
	return 0;
}

int
rte_vfio_user_get_reg_io_fds(int dev_id, uint32_t index, struct rte_vfio_user_io_fd *io_fds,
		uint32_t *count)
{
	struct vfio_user_region_io_fds_req rep;
	struct vfio_user_sub_region_io_fd ent;
	struct vfio_user_client *cli;
	struct vfio_user_msg reply;
	uint32_t i, j, stride, payload, argsz;
	int ret, fd;

	if (count == NULL || (io_fds == NULL && *count != 0))
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	argsz = (uint32_t)RTE_MIN(sizeof(rep) + (uint64_t)*count * sizeof(ent),
		(uint64_t)cli_max_payload(cli));
	vfio_user_msg_init(&reply);
	ret = cli_io_fds_call(cli, index, argsz, &reply, &rep);
	if (ret == 0 && rep.count != 0 && rep.count <= *count && reply.len < rep.argsz &&
			rep.argsz > argsz && rep.argsz <= cli_max_payload(cli)) {
		/* Entries larger than ours did not fit: ask again with the server's size. */
		argsz = rep.argsz;
		vfio_user_msg_release(&reply);
		ret = cli_io_fds_call(cli, index, argsz, &reply, &rep);
	}
	if (ret < 0)
		goto out;

	ret = -EPROTO;
	if (rep.count > *count) {
		/* Caller's array too small: report the need, fill nothing. */
		*count = rep.count;
		ret = 0;
		goto out;
	}
	payload = reply.len - sizeof(rep);
	if (rep.count == 0) {
		if (payload != 0 || reply.nr_fds != 0) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"io fds reply: 0 entries, %u bytes, %u fds", payload, reply.nr_fds);
			goto out;
		}
		*count = 0;
		ret = 0;
		goto out;
	}
	/* Entries may grow: the stride comes from the payload, not from our struct. */
	stride = payload / rep.count;
	if (stride < sizeof(ent) || (uint64_t)stride * rep.count != payload ||
			reply.nr_fds == 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "io fds reply: %u entries in %u bytes, %u fds",
			rep.count, payload, reply.nr_fds);
		goto out;
	}
	for (i = 0; i < rep.count; i++) {
		memcpy(&ent, reply.data + sizeof(rep) + (size_t)i * stride, sizeof(ent));
		if (ent.fd_index >= reply.nr_fds || reply.fds[ent.fd_index] < 0 ||
				(ent.type != RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD &&
				 ent.type != RTE_VFIO_USER_IO_FD_TYPE_IOREGIONFD)) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "io fds entry %u: fd_index %u, type %u",
				i, ent.fd_index, ent.type);
			goto out;
		}
	}
	for (i = 0; i < rep.count; i++) {
		memcpy(&ent, reply.data + sizeof(rep) + (size_t)i * stride, sizeof(ent));
		fd = fcntl(reply.fds[ent.fd_index], F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			ret = -errno;
			for (j = 0; j < i; j++)
				close(io_fds[j].fd);
			goto out;
		}
		io_fds[i].offset = ent.offset;
		io_fds[i].size = ent.size;
		io_fds[i].fd = fd;
		io_fds[i].type = ent.type;
		io_fds[i].flags = ent.flags;
		io_fds[i].datamatch = ent.datamatch;
	}
	*count = rep.count;
	ret = 0;
out:
	vfio_user_msg_release(&reply);
	cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_get_irq_info(int dev_id, struct vfio_irq_info *info)
{
	struct vfio_irq_info req, rep;
	struct vfio_user_client *cli;
	int ret;

	if (info == NULL)
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	req.index = info->index;
	ret = cli_simple_call(cli, VFIO_USER_DEVICE_GET_IRQ_INFO, &req, sizeof(req),
		&rep, sizeof(rep));
	if (ret == 0 && rep.index != req.index) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "irq info reply for index %u, asked %u",
			rep.index, req.index);
		ret = -EPROTO;
	}
	if (ret == 0) {
		info->argsz = sizeof(*info);
		info->flags = rep.flags;
		info->count = rep.count;
	}
	cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_irqs(int dev_id, const struct vfio_irq_set *set)
{
	struct vfio_user_client *cli;
	struct vfio_user_msg reply;
	struct vfio_irq_set req;
	struct iovec iov[2];
	const int32_t *fds = NULL;
	uint32_t nr_fds = 0, i;
	int iovcnt = 1;
	int ret;

	if (set == NULL || set->argsz < sizeof(*set))
		return vfio_user_err(-EINVAL);

	memcpy(&req, set, sizeof(req));
	iov[0].iov_base = &req;
	iov[0].iov_len = sizeof(req);
	switch (set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		req.argsz = sizeof(req);
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (set->argsz < sizeof(*set) + (uint64_t)set->count)
			return vfio_user_err(-EINVAL);
		req.argsz = sizeof(req) + set->count;
		iov[1].iov_base = (void *)(uintptr_t)set->data;
		iov[1].iov_len = set->count;
		iovcnt = 2;
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		req.argsz = sizeof(req);
		if (set->argsz == sizeof(*set))
			break;
		if (set->argsz < sizeof(*set) + (uint64_t)set->count * sizeof(int32_t) ||
				set->count > VFIO_USER_SCM_MAX_FDS)
			return vfio_user_err(-EINVAL);
		fds = (const int32_t *)(const void *)set->data;
		for (i = 0; i < set->count; i++)
			if (fds[i] < 0)
				return vfio_user_err(-EINVAL);
		nr_fds = set->count;
		break;
	default:
		return vfio_user_err(-EINVAL);
	}

	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	if (nr_fds > cli->peer_max_fds) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "%u eventfds, server takes %u per message",
			nr_fds, cli->peer_max_fds);
		cli_put(cli);
		return vfio_user_err(-EINVAL);
	}

	vfio_user_msg_init(&reply);
	ret = cli_call(cli, VFIO_USER_DEVICE_SET_IRQS, iov, iovcnt, fds, nr_fds, &reply);
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);
	cli_put(cli);
	return vfio_user_err(ret);
}

/*
 * DMA
 */

/*
 * A DMA_MAP or DMA_UNMAP without a reply: the server may or may not have
 * changed its table, and it cannot be asked which. The two tables can no
 * longer be trusted to agree, so the connection is cut as if the server had
 * gone: every later call fails with -ENOTCONN and the disconnect callback
 * runs (from the control thread, which sees the hang-up).
 */
static void
cli_break(struct vfio_user_client *cli, const char *what)
{
	VFIO_USER_CLI_LOG(ERR, cli->path, "%s timed out: DMA tables may differ, disconnecting",
		what);
	vfio_user_chan_kill(&cli->chan, ETIMEDOUT);
	shutdown(cli->chan.fd, SHUT_RDWR);
}

static int
cli_dma_map_one(struct vfio_user_client *cli, const struct rte_vfio_user_mem_reg *mem, int fd)
{
	struct vfio_user_dma_map req;
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	if (mem->prot & ~(uint32_t)(PROT_READ | PROT_WRITE))
		return -EINVAL;
	if (fd >= 0 && cli->peer_max_fds == 0)
		return -EINVAL;

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	if (mem->prot & PROT_READ)
		req.flags |= VFIO_USER_F_DMA_REGION_READ;
	if (mem->prot & PROT_WRITE)
		req.flags |= VFIO_USER_F_DMA_REGION_WRITE;
	req.offset = fd >= 0 ? mem->fd_offset : 0;
	req.addr = mem->iova;
	req.size = mem->size;

	/* Known before the server can use it: its DMA_READ may come before our reply. */
	pthread_rwlock_wrlock(&cli->dma_lock);
	ret = vfio_user_dma_add(&cli->dma, mem->iova, mem->size, mem->prot, -1,
		mem->fd_offset, mem->vaddr);
	pthread_rwlock_unlock(&cli->dma_lock);
	if (ret < 0)
		return ret;

	iov.iov_base = &req;
	iov.iov_len = sizeof(req);
	vfio_user_msg_init(&reply);
	ret = cli_call(cli, VFIO_USER_DMA_MAP, &iov, 1, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0,
		&reply);
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);

	if (ret < 0) {
		pthread_rwlock_wrlock(&cli->dma_lock);
		vfio_user_dma_remove(&cli->dma, mem->iova, mem->size);
		pthread_rwlock_unlock(&cli->dma_lock);
	}
	if (ret == -ETIMEDOUT)
		cli_break(cli, "DMA_MAP");
	return ret;
}

int
rte_vfio_user_dma_map(int dev_id, struct rte_vfio_user_mem_reg *mem, int *fds, uint32_t num)
{
	struct vfio_user_client *cli;
	uint32_t i;
	int ret;

	if (mem == NULL && num != 0)
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	for (i = 0; i < num && ret == 0; i++) {
		ret = cli_dma_map_one(cli, &mem[i], fds != NULL ? fds[i] : -1);
		if (ret < 0)
			VFIO_USER_CLI_LOG(DEBUG, cli->path,
				"DMA map 0x%" PRIx64 "+0x%" PRIx64 " failed: %s",
				mem[i].iova, mem[i].size, strerror(-ret));
	}
	cli_put(cli);
	return vfio_user_err(ret);
}

static int
cli_dma_unmap_one(struct vfio_user_client *cli, uint64_t iova, uint64_t size)
{
	struct vfio_user_dma_unmap req, rep;
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	req.addr = iova;
	req.size = size;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);

	vfio_user_msg_init(&reply);
	ret = cli_call(cli, VFIO_USER_DMA_UNMAP, &iov, 1, NULL, 0, &reply);
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, sizeof(rep));
	if (ret == 0) {
		memcpy(&rep, reply.data, sizeof(rep));
		if (rep.addr != iova || rep.size != size) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"DMA_UNMAP reply does not echo the request");
			ret = -EPROTO;
		}
	}
	vfio_user_msg_release(&reply);
	if (ret == -ETIMEDOUT)
		cli_break(cli, "DMA_UNMAP");
	if (ret < 0)
		return ret;

	/* The server no longer uses the window: stop serving it. */
	pthread_rwlock_wrlock(&cli->dma_lock);
	vfio_user_dma_remove(&cli->dma, iova, size);
	pthread_rwlock_unlock(&cli->dma_lock);
	return 0;
}

/*
 * Every window, one DMA_UNMAP each: the specification leaves the flags of
 * DMA_UNMAP unused, so a server need not know VFIO_DMA_UNMAP_FLAG_ALL.
 * Windows are taken from the front of the table until it is empty; a call
 * mapping at the same time may add windows, which are unmapped too.
 */
static int
cli_dma_unmap_all(struct vfio_user_client *cli)
{
	struct rte_vfio_user_mem_reg first;
	bool empty;
	int ret;

	for (;;) {
		pthread_rwlock_rdlock(&cli->dma_lock);
		empty = cli->dma.pub.entry_num == 0;
		if (!empty)
			first = cli->dma.pub.regions[0];
		pthread_rwlock_unlock(&cli->dma_lock);
		if (empty)
			return 0;
		ret = cli_dma_unmap_one(cli, first.iova, first.size);
		if (ret < 0)
			return ret;
	}
}

int
rte_vfio_user_dma_unmap(int dev_id, struct rte_vfio_user_mem_reg *mem, uint32_t num)
{
	struct vfio_user_client *cli;
	uint32_t i;
	int ret;

	if (mem == NULL && num != 0)
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	if (mem == NULL)
		ret = cli_dma_unmap_all(cli);
	for (i = 0; i < num && ret == 0; i++)
		ret = cli_dma_unmap_one(cli, mem[i].iova, mem[i].size);
	cli_put(cli);
	return vfio_user_err(ret);
}

/*
 * Region access
 */

static int
cli_region_rw(struct vfio_user_client *cli, uint32_t index, uint64_t offset, void *buf,
		size_t count, bool is_write)
{
	struct vfio_user_region_access req, rep;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	uint32_t chunk;
	size_t done;
	int ret = 0;

	vfio_user_msg_init(&reply);
	for (done = 0; done < count; done += chunk) {
		chunk = (uint32_t)RTE_MIN(count - done, (size_t)cli->xfer_size);
		req.offset = offset + done;
		req.region = index;
		req.count = chunk;
		iov[0].iov_base = &req;
		iov[0].iov_len = sizeof(req);
		iov[1].iov_base = (uint8_t *)buf + done;
		iov[1].iov_len = chunk;
		ret = cli_call(cli, is_write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
			iov, is_write ? 2 : 1, NULL, 0, &reply);
		if (ret < 0)
			break;
		ret = cli_check_reply(cli, &reply, sizeof(rep) + (is_write ? 0 : chunk));
		if (ret < 0)
			break;
		memcpy(&rep, reply.data, sizeof(rep));
		if (rep.offset != req.offset || rep.region != index || rep.count != chunk) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"region %u access reply: region %u offset 0x%" PRIx64 " count %u",
				index, rep.region, rep.offset, rep.count);
			ret = -EPROTO;
			break;
		}
		if (!is_write)
			memcpy((uint8_t *)buf + done, reply.data + sizeof(rep), chunk);
	}
	vfio_user_msg_release(&reply);
	return ret;
}

static ssize_t
cli_region_access(int dev_id, uint32_t index, uint64_t offset, void *buf, size_t count,
		bool is_write)
{
	struct vfio_user_client *cli;
	int ret;

	if ((buf == NULL && count != 0) || count > SSIZE_MAX ||
			(count != 0 && offset > UINT64_MAX - (count - 1)))
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_region_rw(cli, index, offset, buf, count, is_write);
	cli_put(cli);
	if (ret < 0)
		return vfio_user_err(ret);
	return count;
}

ssize_t
rte_vfio_user_region_read(int dev_id, uint32_t index, uint64_t offset, void *buf, size_t count)
{
	return cli_region_access(dev_id, index, offset, buf, count, false);
}

ssize_t
rte_vfio_user_region_write(int dev_id, uint32_t index, uint64_t offset, const void *buf,
		size_t count)
{
	return cli_region_access(dev_id, index, offset, (void *)(uintptr_t)buf, count, true);
}

static int
cli_write_multi(struct vfio_user_client *cli, const struct rte_vfio_user_region_wr *wrs,
		uint32_t num)
{
	struct vfio_user_write_multi_entry ent[VFIO_USER_WRITE_MULTI_BATCH];
	struct vfio_user_write_multi hdr, rep;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	uint32_t n;
	int ret;

	memset(ent, 0, sizeof(ent));
	for (n = 0; n < num; n++) {
		ent[n].offset = wrs[n].offset;
		ent[n].region = wrs[n].index;
		ent[n].count = wrs[n].count;
		memcpy(ent[n].data, wrs[n].data, wrs[n].count);
	}
	hdr.wr_cnt = num;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = ent;
	iov[1].iov_len = sizeof(ent[0]) * num;

	vfio_user_msg_init(&reply);
	ret = cli_call(cli, VFIO_USER_REGION_WRITE_MULTI, iov, 2, NULL, 0, &reply);
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, sizeof(rep));
	if (ret == 0) {
		memcpy(&rep, reply.data, sizeof(rep));
		if (rep.wr_cnt != num) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "WRITE_MULTI: %" PRIu64 " of %u done",
				rep.wr_cnt, num);
			ret = -EPROTO;
		}
	}
	vfio_user_msg_release(&reply);
	return ret;
}

int
rte_vfio_user_region_write_multi(int dev_id, const struct rte_vfio_user_region_wr *wrs,
		uint32_t num)
{
	struct vfio_user_client *cli;
	uint32_t i, n;
	int ret = 0;

	if ((wrs == NULL && num != 0) || num > INT_MAX)
		return vfio_user_err(-EINVAL);
	for (i = 0; i < num; i++)
		if (wrs[i].count < 1 || wrs[i].count > sizeof(wrs[i].data) ||
				wrs[i].offset > UINT64_MAX - (wrs[i].count - 1))
			return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	for (i = 0; i < num && ret == 0; i += n) {
		if (cli->write_multiple) {
			n = RTE_MIN(num - i, (uint32_t)VFIO_USER_WRITE_MULTI_BATCH);
			ret = cli_write_multi(cli, &wrs[i], n);
		} else {
			n = 1;
			ret = cli_region_rw(cli, wrs[i].index, wrs[i].offset,
				(void *)(uintptr_t)wrs[i].data, wrs[i].count, true);
		}
	}
	cli_put(cli);
	if (ret < 0)
		return vfio_user_err(ret);
	return (int)num;
}

/*
 * Region mmap
 */

/*
 * Find the sparse mmap capability in a region info of len bytes: *sp_off is
 * its offset (0 if none) and *nr its number of areas, all within len.
 */
static int
cli_find_sparse(struct vfio_user_client *cli, const struct vfio_region_info *info,
		uint32_t len, uint32_t *sp_off, uint32_t *nr)
{
	const uint8_t *base = (const uint8_t *)info;
	struct vfio_region_info_cap_sparse_mmap sp;
	struct vfio_info_cap_header hdr;
	uint32_t off = info->cap_offset;
	uint32_t n = 0;

	*sp_off = 0;
	*nr = 0;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	while (off != 0) {
		if (off < sizeof(*info) || off > len - sizeof(hdr) || ++n > CLI_MAX_CAPS)
			goto bad;
		memcpy(&hdr, base + off, sizeof(hdr));
		if (hdr.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			if (off > len - sizeof(sp))
				goto bad;
			memcpy(&sp, base + off, sizeof(sp));
			if ((uint64_t)sp.nr_areas * sizeof(struct vfio_region_sparse_mmap_area) >
					len - off - sizeof(sp))
				goto bad;
			*sp_off = off;
			*nr = sp.nr_areas;
			return 0;
		}
		/* Forward only, so that the walk ends. */
		if (hdr.next != 0 && hdr.next <= off)
			goto bad;
		off = hdr.next;
	}
	return 0;
bad:
	VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: malformed capability chain", info->index);
	return -EPROTO;
}

static int
cli_map_region(struct vfio_user_client *cli, uint32_t index, struct cli_region_maps **out)
{
	struct vfio_region_sparse_mmap_area area;
	struct vfio_region_info *info = NULL;
	struct cli_region_maps *rm = NULL;
	uint32_t argsz = CLI_REGION_INFO_FIRST_ARGSZ, len, nr, i, sp_off;
	int fd = -1, prot = 0, tries, ret;
	void *addr;

	for (tries = 0; tries < CLI_REGION_INFO_TRIES; tries++) {
		free(info);
		info = calloc(1, argsz);
		if (info == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		if (fd >= 0)
			close(fd);
		ret = cli_region_info(cli, index, info, argsz, &fd);
		if (ret < 0)
			goto out;
		if (info->argsz <= argsz)
			break;
		if (info->argsz > cli_max_payload(cli)) {
			ret = -EPROTO;
			goto out;
		}
		argsz = info->argsz;
	}
	if (tries == CLI_REGION_INFO_TRIES) {
		ret = -EPROTO;
		goto out;
	}
	len = info->argsz;

	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP) || !(info->flags &
			(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))) {
		ret = -ENOTSUP;
		goto out;
	}
	if (fd < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "mappable region %u came without fd", index);
		ret = -EPROTO;
		goto out;
	}
	if (info->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (info->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;

	ret = cli_find_sparse(cli, info, len, &sp_off, &nr);
	if (ret < 0)
		goto out;
	if (sp_off == 0)
		nr = 1;
	rm = calloc(1, sizeof(*rm) + sizeof(rm->maps[0]) * (size_t)nr);
	if (rm == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rm->index = index;
	for (i = 0; i < nr; i++) {
		if (sp_off != 0) {
			memcpy(&area, (uint8_t *)info + sp_off +
				sizeof(struct vfio_region_info_cap_sparse_mmap) +
				(size_t)i * sizeof(area), sizeof(area));
		} else {
			area.offset = 0;
			area.size = info->size;
		}
		if (area.size == 0)
			continue;
		if (area.offset + area.size < area.offset || area.offset + area.size > info->size ||
				info->offset + area.offset < info->offset ||
				info->offset + area.offset > (uint64_t)INT64_MAX ||
				area.size > SIZE_MAX) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: bad mmap area", index);
			ret = -EPROTO;
			goto out;
		}
		/* A descriptor shorter than the area would fault on access: checked. */
		ret = vfio_user_map_fd(fd, info->offset + area.offset, area.size, (uint32_t)prot,
			false, &addr);
		if (ret < 0) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: cannot map 0x%" PRIx64
				"+0x%" PRIx64 " of its descriptor: %s", index,
				(uint64_t)(info->offset + area.offset), (uint64_t)area.size,
				strerror(-ret));
			if (ret == -EINVAL)
				ret = -EPROTO;
			goto out;
		}
		rm->maps[rm->nr].offset = area.offset;
		rm->maps[rm->nr].size = area.size;
		rm->maps[rm->nr].addr = addr;
		rm->nr++;
	}
	if (rm->nr == 0) {
		ret = -ENOTSUP;
		goto out;
	}
	*out = rm;
	rm = NULL;
	ret = 0;
out:
	if (rm != NULL) {
		for (i = 0; i < rm->nr; i++)
			munmap(rm->maps[i].addr, rm->maps[i].size);
		free(rm);
	}
	if (fd >= 0)
		close(fd);
	free(info);
	return ret;
}

int
rte_vfio_user_region_mmap(int dev_id, uint32_t index, struct rte_vfio_user_region_map *maps,
		uint32_t *nr_maps)
{
	struct vfio_user_client *cli;
	struct cli_region_maps *rm;
	int ret;

	if (nr_maps == NULL || (maps == NULL && *nr_maps != 0))
		return vfio_user_err(-EINVAL);
	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	pthread_mutex_lock(&cli->map_lock);
	TAILQ_FOREACH(rm, &cli->maps, next)
		if (rm->index == index)
			break;
	if (rm == NULL) {
		ret = cli_map_region(cli, index, &rm);
		if (ret == 0)
			TAILQ_INSERT_TAIL(&cli->maps, rm, next);
	}
	if (ret == 0) {
		if (rm->nr > *nr_maps) {
			ret = -ENOSPC;
		} else {
			memcpy(maps, rm->maps, sizeof(maps[0]) * rm->nr);
		}
		*nr_maps = rm->nr;
	}
	pthread_mutex_unlock(&cli->map_lock);
	cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_reset(int dev_id)
{
	struct vfio_user_client *cli;
	struct vfio_user_msg reply;
	int ret;

	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	/* A reset may take long (specification): it has its own limit. */
	vfio_user_msg_init(&reply);
	ret = vfio_user_chan_call_tmo(&cli->chan, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0,
		&reply, (int)cli->lim.reset_timeout_ms);
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = -ENOTCONN;
	if (ret == 0)
		ret = cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);
	cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_set_disconnect_cb(int dev_id, rte_vfio_user_disconnect_cb_t cb, void *arg)
{
	struct vfio_user_client *cli;
	int ret;

	ret = cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	/* The control thread holds disc_lock while it runs the callback. */
	if (vfio_user_ctrl_is_self() && cli->disc_running) {
		cli_put(cli);
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
	cli_put(cli);
	return vfio_user_err(ret);
}

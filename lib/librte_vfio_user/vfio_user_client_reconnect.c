/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client half: a server that comes back (rte_vfio_user_attach_dev_opts()
 * with reconnect_ms). When the server goes away, the control thread sets an
 * EAL alarm; each expiry tries the path once and sets the next one. The
 * control thread cannot do the retries itself: it also serves this
 * process's own servers, and a replay waits for the server's replies. A
 * connection that succeeds is negotiated and checked against what the device
 * was at attach, then the state the client owns is replayed, with conn_lock
 * held for writing: callers meanwhile fail with -ENOTCONN instead of waiting
 * (vfio_user_cli_hold()).
 *
 * The server keeps nothing across its restart (the specification has no
 * notion of a reconnecting client), so the client replays: VERSION, every
 * DMA window with its descriptor (a duplicate is kept from DMA_MAP on), the
 * eventfds of the last SET_IRQS per interrupt index, and the region mappings,
 * moved with mremap() onto the old addresses so that pointers stay valid.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_alarm.h>
#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vfio_user_client.h"
#include "vfio_user_ctrl.h"
#include "vfio_user_dma.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

/*
 * EAL hands an alarm to its interrupt thread under a lock ThreadSanitizer
 * cannot see (DPDK is not built with it): under TSan, say that the device
 * given to rte_eal_alarm_set() is published to the callback.
 */
#if defined(__SANITIZE_THREAD__)
#define RC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RC_TSAN 1
#endif
#endif
#ifdef RC_TSAN
#include <sanitizer/tsan_interface.h>
#define rc_alarm_publish(p) __tsan_release(p)
#define rc_alarm_receive(p) __tsan_acquire(p)
#else
#define rc_alarm_publish(p) RTE_SET_USED(p)
#define rc_alarm_receive(p) RTE_SET_USED(p)
#endif

/* Regions and interrupt indexes checked and replayed; a PCI device has 9 and 5. */
#define RC_MAX_REGIONS 64
#define RC_MAX_IRQ_INDEXES 16
/* Vectors of one index kept for replay: the MSI-X maximum. */
#define RC_MAX_IRQ_FDS 2048

/* Internal: the server is not the device it was, or refused the replay. */
#define RC_REFUSED ESTALE

/*
 * Identity
 */

static int
rc_dev_info(struct vfio_user_client *cli, struct vfio_device_info *info)
{
	struct vfio_user_device_info req, rep;
	int ret;

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	ret = vfio_user_cli_simple_call(cli, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req),
		&rep, sizeof(rep));
	if (ret < 0)
		return ret;
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->flags = rep.flags;
	info->num_regions = RTE_MIN(rep.num_regions, (uint32_t)RC_MAX_REGIONS);
	info->num_irqs = RTE_MIN(rep.num_irqs, (uint32_t)RC_MAX_IRQ_INDEXES);
	return 0;
}

static int
rc_region_ident(struct vfio_user_client *cli, uint32_t index, struct cli_region_ident *id)
{
	struct vfio_region_info info;
	int fd, ret;

	ret = vfio_user_cli_region_info(cli, index, &info, sizeof(info), &fd);
	if (ret < 0)
		return ret;
	if (fd >= 0)
		close(fd);
	id->size = info.size;
	id->flags = info.flags & ~VFIO_REGION_INFO_FLAG_CAPS;
	return 0;
}

/* Is the server the device it was at attach? 0, -RC_REFUSED, or an exchange error. */
static int
rc_check_ident(struct vfio_user_client *cli)
{
	struct vfio_device_info info;
	struct cli_region_ident id;
	uint32_t i;
	int ret;

	ret = rc_dev_info(cli, &info);
	if (ret < 0)
		return ret;
	if (memcmp(&info, &cli->ident, sizeof(info)) != 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path,
			"server came back as another device (flags 0x%x, %u regions, %u irqs)",
			info.flags, info.num_regions, info.num_irqs);
		return -RC_REFUSED;
	}
	for (i = 0; i < info.num_regions; i++) {
		ret = rc_region_ident(cli, i, &id);
		if (ret < 0)
			return ret;
		if (id.size != cli->ident_regions[i].size ||
				id.flags != cli->ident_regions[i].flags) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"server came back with region %u of size 0x%" PRIx64
				" flags 0x%x (was 0x%" PRIx64 ", 0x%x)", i, id.size, id.flags,
				cli->ident_regions[i].size, cli->ident_regions[i].flags);
			return -RC_REFUSED;
		}
	}
	return 0;
}

/*
 * Replay
 */

/* Errors of the connection, worth another try; any other error is the server's answer. */
static bool
rc_transient(int ret)
{
	return ret == -ENOTCONN || ret == -ETIMEDOUT || ret == -EPIPE ||
		ret == -ECONNRESET || ret == -ENOMEM || ret == -EAGAIN || ret == -EINTR;
}

static int
rc_refused_unless_transient(int ret)
{
	return ret < 0 && !rc_transient(ret) ? -RC_REFUSED : ret;
}

static int
rc_replay_dma(struct vfio_user_client *cli)
{
	const struct rte_vfio_user_mem_reg *r;
	struct vfio_user_dma_map req;
	struct vfio_user_msg reply;
	struct iovec iov;
	uint32_t i;
	int ret = 0;

	/* No DMA_MAP/UNMAP runs: they hold conn_lock for reading. */
	for (i = 0; i < cli->dma.pub.entry_num && ret == 0; i++) {
		r = &cli->dma.pub.regions[i];
		memset(&req, 0, sizeof(req));
		req.argsz = sizeof(req);
		if (r->prot & PROT_READ)
			req.flags |= VFIO_USER_F_DMA_REGION_READ;
		if (r->prot & PROT_WRITE)
			req.flags |= VFIO_USER_F_DMA_REGION_WRITE;
		req.offset = r->fd >= 0 ? r->fd_offset : 0;
		req.addr = r->iova;
		req.size = r->size;
		iov.iov_base = &req;
		iov.iov_len = sizeof(req);
		vfio_user_msg_init(&reply);
		ret = vfio_user_cli_call(cli, VFIO_USER_DMA_MAP, &iov, 1,
			r->fd >= 0 ? &r->fd : NULL, r->fd >= 0 ? 1 : 0, &reply);
		if (ret == 0)
			ret = vfio_user_cli_check_reply(cli, &reply, 0);
		vfio_user_msg_release(&reply);
		if (ret < 0)
			VFIO_USER_CLI_LOG(ERR, cli->path, "replay of DMA window 0x%" PRIx64
				"+0x%" PRIx64 " failed: %s", r->iova, r->size, strerror(-ret));
	}
	return rc_refused_unless_transient(ret);
}

/* SET_IRQS (trigger, eventfds) for nr vectors of index from start. */
static int
rc_set_irq_fds(struct vfio_user_client *cli, uint32_t index, uint32_t start, const int *fds,
		uint32_t nr)
{
	struct vfio_user_msg reply;
	struct vfio_irq_set req;
	struct iovec iov;
	int ret;

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	req.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	req.index = index;
	req.start = start;
	req.count = nr;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);
	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DEVICE_SET_IRQS, &iov, 1, fds, nr, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);
	return ret;
}

static int
rc_replay_irqs(struct vfio_user_client *cli)
{
	const struct cli_irq_fds *irq;
	uint32_t index, i, n;
	int ret;

	for (index = 0; index < cli->ident.num_irqs; index++) {
		irq = &cli->irqs[index];
		for (i = 0; i < irq->nr; i += n) {
			if (irq->fds[i] < 0) {
				n = 1;
				continue;
			}
			/* A run of set vectors, in messages of at most peer_max_fds. */
			for (n = 1; i + n < irq->nr && irq->fds[i + n] >= 0 &&
					n < cli->peer_max_fds; n++)
				;
			ret = rc_set_irq_fds(cli, index, i, &irq->fds[i], n);
			if (ret < 0) {
				VFIO_USER_CLI_LOG(ERR, cli->path,
					"replay of irq %u vectors %u-%u failed: %s",
					index, i, i + n - 1, strerror(-ret));
				return rc_refused_unless_transient(ret);
			}
		}
	}
	return 0;
}

/* Map each mapped region again and move the new mappings onto the old addresses. */
static int
rc_replay_maps(struct vfio_user_client *cli)
{
	struct cli_region_maps *rm, *nrm;
	uint32_t i;
	void *addr;
	int ret = 0;

	pthread_mutex_lock(&cli->map_lock);
	TAILQ_FOREACH(rm, &cli->maps, next) {
		ret = vfio_user_cli_map_region(cli, rm->index, &nrm);
		if (ret < 0) {
			ret = rc_refused_unless_transient(ret);
			break;
		}
		for (i = 0; i < rm->nr && nrm->nr == rm->nr; i++)
			if (nrm->maps[i].offset != rm->maps[i].offset ||
					nrm->maps[i].size != rm->maps[i].size)
				break;
		if (nrm->nr != rm->nr || i != rm->nr) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"server came back with other mmap areas in region %u", rm->index);
			ret = -RC_REFUSED;
		}
		/* The old mapping is replaced atomically: a pointer into it never faults. */
		for (i = 0; i < nrm->nr; i++) {
			if (ret == 0) {
				addr = mremap(nrm->maps[i].addr, nrm->maps[i].size,
					nrm->maps[i].size, MREMAP_MAYMOVE | MREMAP_FIXED,
					rm->maps[i].addr);
				if (addr != MAP_FAILED)
					continue;
				ret = -errno;
				VFIO_USER_CLI_LOG(ERR, cli->path, "region %u: mremap: %s",
					rm->index, strerror(-ret));
			}
			munmap(nrm->maps[i].addr, nrm->maps[i].size);
		}
		free(nrm);
		if (ret < 0)
			break;
	}
	pthread_mutex_unlock(&cli->map_lock);
	return ret;
}

/*
 * The server negotiated at least what it did at attach: 0, else -RC_REFUSED.
 * The values of attach stay in use, whatever the server offers now.
 */
static int
rc_nego_check(struct vfio_user_client *cli, const struct cli_nego *got)
{
	const struct cli_nego *old = &cli->nego;
	struct cli_nego now = *got;

	if (now.xfer_size < old->xfer_size || now.peer_max_fds < old->peer_max_fds ||
			now.dma_max < old->dma_max || now.pgsizes != old->pgsizes ||
			now.twin != old->twin || (old->write_multiple && !now.write_multiple) ||
			now.mig_pgsize != old->mig_pgsize ||
			now.mig_max_bitmap < old->mig_max_bitmap) {
		VFIO_USER_CLI_LOG(ERR, cli->path,
			"server came back with fewer capabilities (xfer %u, fds %u, dma maps %u,"
			" pgsizes 0x%" PRIx64 ", twin %d, multi %d)", now.xfer_size,
			now.peer_max_fds, now.dma_max, now.pgsizes, now.twin, now.write_multiple);
		return -RC_REFUSED;
	}
	return 0;
}

/*
 * The connection a detach shuts down to end a replay waiting for replies: a
 * duplicate of its own, so that the number is never one reused meanwhile.
 */
static void
rc_replay_fd_set(struct vfio_user_client *cli, int fd)
{
	int old;

	pthread_mutex_lock(&cli->replay_fd_lock);
	old = cli->replay_fd;
	cli->replay_fd = fd;
	pthread_mutex_unlock(&cli->replay_fd_lock);
	if (old >= 0)
		close(old);
}

/*
 * One try, conn_lock held for writing: 0 (1 when the held state was
 * restored), -RC_REFUSED, or an error worth a retry.
 */
static int
rc_try(struct vfio_user_client *cli)
{
	struct cli_nego got;
	int fd, ret, restored = 0;

	/* One attempt: a full backlog is retried at the next expiry. */
	fd = vfio_user_cli_connect(cli->path, 0);
	if (fd < 0)
		return fd;
	ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	rc_replay_fd_set(cli, ret);
	/* A detach that came before the descriptor was known stops here. */
	if (__atomic_load_n(&cli->rc_stopped, __ATOMIC_ACQUIRE))
		shutdown(fd, SHUT_RDWR);
	vfio_user_cli_close(cli);
	ret = vfio_user_cli_open(cli, fd, &got);
	if (ret == 0)
		ret = rc_nego_check(cli, &got);
	if (ret == 0)
		ret = rc_check_ident(cli);
	if (ret == 0)
		ret = rc_replay_dma(cli);
	if (ret == 0)
		ret = rc_replay_irqs(cli);
	if (ret == 0)
		ret = rc_replay_maps(cli);
	/* Last: the device model re-translates its rings in the windows replayed. */
	if (ret == 0)
		restored = vfio_user_cli_held_restore(cli);
	if (ret == 0 && restored < 0)
		ret = restored;
	if (ret == 0) {
		/*
		 * Before the watch: once watched, the control thread may see the
		 * next loss at once, and its marks must be the last.
		 */
		__atomic_store_n(&cli->reconnecting, false, __ATOMIC_RELEASE);
		__atomic_store_n(&cli->connected, true, __ATOMIC_RELEASE);
		ret = vfio_user_cli_watch(cli);
	}
	rc_replay_fd_set(cli, -1);
	if (ret == 0)
		return restored;
	if (ret < 0) {
		__atomic_store_n(&cli->connected, false, __ATOMIC_RELEASE);
		__atomic_store_n(&cli->reconnecting, true, __ATOMIC_RELEASE);
		/* Leave a closed connection, as the lost one was. */
		vfio_user_cli_unwatch(cli);
		vfio_user_cli_close(cli);
	}
	return ret;
}

static void rc_alarm(void *arg);

static void
rc_alarm_set(struct vfio_user_client *cli)
{
	int ret;

	rc_alarm_publish(cli);
	ret = rte_eal_alarm_set((uint64_t)cli->reconnect_ms * 1000, rc_alarm, cli);
	if (ret < 0) {
		/* No retry can ever come: the device is gone. */
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot set the retry alarm: %s",
			strerror(-ret));
		__atomic_store_n(&cli->reconnecting, false, __ATOMIC_RELEASE);
		vfio_user_cli_notify_gone(cli);
	}
}

bool
vfio_user_rc_in_callback(const struct vfio_user_client *cli)
{
	return __atomic_load_n(&cli->conn_cb_running, __ATOMIC_ACQUIRE) &&
		pthread_equal(cli->conn_cb_thread, pthread_self());
}

/* Run the connection callback, unless detach began. */
static void
rc_tell(struct vfio_user_client *cli, enum rte_vfio_user_conn_event ev)
{
	pthread_mutex_lock(&cli->disc_lock);
	if (!cli->disc_done && cli->conn_cb != NULL) {
		cli->conn_cb_thread = pthread_self();
		__atomic_store_n(&cli->conn_cb_running, true, __ATOMIC_RELEASE);
		cli->conn_cb(cli->dev_id, ev, cli->conn_arg);
		__atomic_store_n(&cli->conn_cb_running, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&cli->disc_lock);
}

/* On EAL's interrupt thread, every reconnect_ms while the server is away. */
static void
rc_alarm_run(struct vfio_user_client *cli)
{
	int ret;

	if (__atomic_load_n(&cli->rc_stopped, __ATOMIC_ACQUIRE))
		return;
	pthread_rwlock_wrlock(&cli->conn_lock);
	cli->replay_thread = pthread_self();
	__atomic_store_n(&cli->replaying, true, __ATOMIC_RELEASE);
	ret = rc_try(cli);
	__atomic_store_n(&cli->replaying, false, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&cli->conn_lock);

	if (ret < 0 && ret != -RC_REFUSED) {
		VFIO_USER_CLI_LOG(DEBUG, cli->path, "reconnection failed: %s", strerror(-ret));
		if (!__atomic_load_n(&cli->rc_stopped, __ATOMIC_ACQUIRE))
			rc_alarm_set(cli);
		return;
	}
	if (ret == -RC_REFUSED) {
		__atomic_store_n(&cli->reconnecting, false, __ATOMIC_RELEASE);
		VFIO_USER_CLI_LOG(ERR, cli->path, "server refused on reconnection: device gone");
		vfio_user_cli_notify_gone(cli);
		return;
	}
	__atomic_fetch_add(&cli->reconnects, 1, __ATOMIC_RELAXED);
	VFIO_USER_CLI_LOG(INFO, cli->path, "server back, client device %d reconnected%s",
		cli->dev_id, ret == 1 ? ", its state restored" : "");
	rc_tell(cli, ret == 1 ? RTE_VFIO_USER_CONN_RESTORED : RTE_VFIO_USER_CONN_RESET);
}

static void
rc_alarm(void *arg)
{
	rc_alarm_receive(arg);
	rc_alarm_run(arg);
	/* To vfio_user_rc_stop(), which waited for this callback to return. */
	rc_alarm_publish(arg);
}

/*
 * On EAL's interrupt thread, at once after a loss: told from the thread that
 * tells RTE_VFIO_USER_CONN_RESET, the events of a device arrive in order.
 */
static void
rc_lost_alarm(void *arg)
{
	struct vfio_user_client *cli = arg;

	rc_alarm_receive(cli);
	if (!__atomic_load_n(&cli->rc_stopped, __ATOMIC_ACQUIRE)) {
		rc_tell(cli, RTE_VFIO_USER_CONN_LOST);
		rc_alarm_set(cli);
	}
	rc_alarm_publish(cli);
}

void
vfio_user_rc_lost(struct vfio_user_client *cli)
{
	int ret;

	if (__atomic_load_n(&cli->rc_stopped, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&cli->reconnecting, true, __ATOMIC_RELEASE);
	VFIO_USER_CLI_LOG(INFO, cli->path, "retrying every %u ms", cli->reconnect_ms);
	rc_alarm_publish(cli);
	ret = rte_eal_alarm_set(1, rc_lost_alarm, cli);
	if (ret < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "cannot set the retry alarm: %s",
			strerror(-ret));
		__atomic_store_n(&cli->reconnecting, false, __ATOMIC_RELEASE);
		vfio_user_cli_notify_gone(cli);
	}
}

void
vfio_user_rc_stop(struct vfio_user_client *cli)
{
	if (cli->reconnect_ms == 0)
		return;
	__atomic_store_n(&cli->rc_stopped, true, __ATOMIC_RELEASE);
	/* A replay waiting for a server that does not answer fails at once. */
	pthread_mutex_lock(&cli->replay_fd_lock);
	if (cli->replay_fd >= 0)
		shutdown(cli->replay_fd, SHUT_RDWR);
	pthread_mutex_unlock(&cli->replay_fd_lock);
	/* Waits for an alarm in progress, and removes the one it may have set. */
	rte_eal_alarm_cancel(rc_lost_alarm, cli);
	rte_eal_alarm_cancel(rc_alarm, cli);
	rc_alarm_receive(cli);
	__atomic_store_n(&cli->reconnecting, false, __ATOMIC_RELEASE);
}

int
vfio_user_rc_init(struct vfio_user_client *cli)
{
	uint32_t i;
	int ret;

	ret = rc_dev_info(cli, &cli->ident);
	if (ret < 0)
		return ret;
	cli->ident_regions = calloc(cli->ident.num_regions + 1, sizeof(*cli->ident_regions));
	cli->irqs = calloc(cli->ident.num_irqs + 1, sizeof(*cli->irqs));
	if (cli->ident_regions == NULL || cli->irqs == NULL)
		return -ENOMEM;
	for (i = 0; i < cli->ident.num_regions; i++) {
		ret = rc_region_ident(cli, i, &cli->ident_regions[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void
rc_irq_close(struct cli_irq_fds *irq, uint32_t start, uint32_t count)
{
	uint32_t i;

	for (i = start; i < irq->nr && i - start < count; i++) {
		if (irq->fds[i] >= 0)
			close(irq->fds[i]);
		irq->fds[i] = -1;
	}
}

void
vfio_user_rc_fini(struct vfio_user_client *cli)
{
	uint32_t i;

	for (i = 0; cli->irqs != NULL && i < cli->ident.num_irqs; i++) {
		rc_irq_close(&cli->irqs[i], 0, UINT32_MAX);
		free(cli->irqs[i].fds);
	}
	free(cli->irqs);
	cli->irqs = NULL;
	free(cli->ident_regions);
	cli->ident_regions = NULL;
	for (i = 0; i < cli->dma.pub.entry_num; i++)
		if (cli->dma.pub.regions[i].fd >= 0)
			close(cli->dma.pub.regions[i].fd);
}

void
vfio_user_rc_irqs_set(struct vfio_user_client *cli, const struct vfio_irq_set *set)
{
	const int32_t *fds = (const int32_t *)(const void *)set->data;
	uint32_t data = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct cli_irq_fds *irq;
	uint32_t end, i;
	int *grown;

	if (cli->reconnect_ms == 0 || set->index >= cli->ident.num_irqs ||
			!(set->flags & VFIO_IRQ_SET_ACTION_TRIGGER) ||
			(data != VFIO_IRQ_SET_DATA_EVENTFD && data != VFIO_IRQ_SET_DATA_NONE))
		return;
	irq = &cli->irqs[set->index];
	/* No data with count 0: every vector of the index (VFIO semantics). */
	if (set->count == 0 || data == VFIO_IRQ_SET_DATA_NONE ||
			set->argsz == sizeof(*set)) {
		rc_irq_close(irq, set->count == 0 ? 0 : set->start,
			set->count == 0 ? UINT32_MAX : set->count);
		return;
	}
	if (set->start >= RC_MAX_IRQ_FDS || set->count > RC_MAX_IRQ_FDS - set->start) {
		VFIO_USER_CLI_LOG(WARNING, cli->path,
			"irq %u vectors %u+%u are not kept for a reconnection",
			set->index, set->start, set->count);
		return;
	}
	end = set->start + set->count;
	if (end > irq->nr) {
		grown = realloc(irq->fds, sizeof(*grown) * end);
		if (grown == NULL) {
			VFIO_USER_CLI_LOG(WARNING, cli->path, "no memory to keep irq %u eventfds",
				set->index);
			return;
		}
		for (i = irq->nr; i < end; i++)
			grown[i] = -1;
		irq->fds = grown;
		irq->nr = end;
	}
	rc_irq_close(irq, set->start, set->count);
	for (i = 0; i < set->count; i++)
		irq->fds[set->start + i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
}

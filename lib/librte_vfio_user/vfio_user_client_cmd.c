/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client half: the request/reply exchanges on the device's channel, and the
 * commands on an attached device built on them (device, region and
 * interrupt information, interrupt set-up, region reads and writes, reset).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vfio_user_client.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

/*
 * Request/reply helpers
 */

int
vfio_user_cli_call(struct vfio_user_client *cli, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply)
{
	bool locked = false;
	int ret;

	/* The thread replaying the state holds conn_lock already. */
	if (cli->reconnect_ms != 0 && !(__atomic_load_n(&cli->replaying, __ATOMIC_ACQUIRE) &&
			pthread_equal(cli->replay_thread, pthread_self()))) {
		ret = vfio_user_cli_hold(cli);
		if (ret < 0)
			return ret;
		locked = true;
	}
	ret = vfio_user_chan_call(&cli->chan, cmd, iov, iovcnt, fds, nr_fds, reply);
	if (locked)
		vfio_user_cli_unhold(cli);
	vfio_user_tel_cmd(&cli->stats, cmd, ret < 0);
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = -ENOTCONN;
	if (ret < 0)
		VFIO_USER_CLI_LOG(DEBUG, cli->path, "command %u failed: %s", cmd, strerror(-ret));
	return ret;
}

int
vfio_user_cli_hold(struct vfio_user_client *cli)
{
	if (cli->reconnect_ms == 0)
		return 0;
	/* Fail fast: never wait for a reconnection that holds the lock for writing. */
	if (!__atomic_load_n(&cli->connected, __ATOMIC_ACQUIRE) ||
			pthread_rwlock_tryrdlock(&cli->conn_lock) != 0)
		return -ENOTCONN;
	if (!__atomic_load_n(&cli->connected, __ATOMIC_ACQUIRE)) {
		pthread_rwlock_unlock(&cli->conn_lock);
		return -ENOTCONN;
	}
	return 0;
}

void
vfio_user_cli_unhold(struct vfio_user_client *cli)
{
	if (cli->reconnect_ms != 0)
		pthread_rwlock_unlock(&cli->conn_lock);
}

int
vfio_user_cli_check_reply(struct vfio_user_client *cli, const struct vfio_user_msg *reply,
		uint32_t len)
{
	if (reply->len != len || reply->nr_fds != 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path,
			"malformed reply to command %u: %u bytes (want %u), %u fds",
			reply->hdr.cmd, reply->len, len, reply->nr_fds);
		return -EPROTO;
	}
	return 0;
}

int
vfio_user_cli_simple_call(struct vfio_user_client *cli, uint16_t cmd, const void *req,
		uint32_t req_len, void *out, uint32_t out_len)
{
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	iov.iov_base = (void *)(uintptr_t)req;
	iov.iov_len = req_len;
	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, cmd, &iov, req_len ? 1 : 0, NULL, 0, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, out_len);
	if (ret == 0 && out_len != 0)
		memcpy(out, reply.data, out_len);
	vfio_user_msg_release(&reply);
	return ret;
}

/*
 * A DMA_MAP or DMA_UNMAP without a reply: the server may or may not have
 * changed its table, and it cannot be asked which. The two tables can no
 * longer be trusted to agree, so the connection is cut as if the server had
 * gone: every later call fails with -ENOTCONN and the disconnect callback
 * runs (from the control thread, which sees the hang-up). With reconnection,
 * the tables are made to agree again by the replay of the next connection.
 */
void
vfio_user_cli_break(struct vfio_user_client *cli, const char *what)
{
	VFIO_USER_CLI_LOG(ERR, cli->path, "%s timed out: DMA tables may differ, disconnecting",
		what);
	vfio_user_chan_kill(&cli->chan, ETIMEDOUT);
	shutdown(cli->chan.fd, SHUT_RDWR);
}

/*
 * Commands
 */

int
rte_vfio_user_get_dev_info(int dev_id, struct vfio_device_info *info)
{
	struct vfio_user_device_info req, rep;
	struct vfio_user_client *cli;
	int ret;

	if (info == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	ret = vfio_user_cli_simple_call(cli, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req),
		&rep, sizeof(rep));
	if (ret == 0) {
		memset(info, 0, sizeof(*info));
		info->argsz = sizeof(*info);
		info->flags = rep.flags;
		info->num_regions = rep.num_regions;
		info->num_irqs = rep.num_irqs;
	}
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

int
vfio_user_cli_region_info(struct vfio_user_client *cli, uint32_t index,
		struct vfio_region_info *info, uint32_t argsz, int *fd)
{
	struct vfio_region_info req, rep;
	struct vfio_user_msg reply;
	struct iovec iov;
	int ret;

	*fd = -1;
	memset(&req, 0, sizeof(req));
	req.argsz = RTE_MIN(argsz, vfio_user_cli_max_payload(cli));
	req.index = index;
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);

	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DEVICE_GET_REGION_INFO, &iov, 1, NULL, 0, &reply);
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
	struct vfio_region_info *full;
	uint32_t argsz;
	int ret, rfd;

	if (info == NULL || info->argsz < sizeof(*info))
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	argsz = info->argsz;
	ret = vfio_user_cli_region_info(cli, info->index, info, argsz, &rfd);
	/*
	 * A server sends the descriptor, and so the MMAP flag, with the full
	 * reply only; the kernel's ioctl reports MMAP whatever the buffer size.
	 * For a short buffer, the full reply gives both.
	 */
	if (ret == 0 && rfd < 0 && info->argsz > argsz) {
		full = malloc(info->argsz);
		ret = full == NULL ? -ENOMEM :
			vfio_user_cli_region_info(cli, info->index, full, info->argsz, &rfd);
		if (ret == 0)
			info->flags = full->flags & ~VFIO_REGION_INFO_FLAG_CAPS;
		free(full);
	}
	if (ret == 0) {
		if (fd != NULL)
			*fd = rfd;
		else if (rfd >= 0)
			close(rfd);
	}
	vfio_user_cli_put(cli);
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

	ret = vfio_user_cli_call(cli, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &iov, 1, NULL, 0, reply);
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
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	argsz = (uint32_t)RTE_MIN(sizeof(rep) + (uint64_t)*count * sizeof(ent),
		(uint64_t)vfio_user_cli_max_payload(cli));
	vfio_user_msg_init(&reply);
	ret = cli_io_fds_call(cli, index, argsz, &reply, &rep);
	if (ret == 0 && rep.count != 0 && rep.count <= *count && reply.len < rep.argsz &&
			rep.argsz > argsz && rep.argsz <= vfio_user_cli_max_payload(cli)) {
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
	vfio_user_cli_put(cli);
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
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	memset(&req, 0, sizeof(req));
	req.argsz = sizeof(req);
	req.index = info->index;
	ret = vfio_user_cli_simple_call(cli, VFIO_USER_DEVICE_GET_IRQ_INFO, &req, sizeof(req),
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
	vfio_user_cli_put(cli);
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

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	if (nr_fds > cli->peer_max_fds) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "%u eventfds, server takes %u per message",
			nr_fds, cli->peer_max_fds);
		vfio_user_cli_put(cli);
		return vfio_user_err(-EINVAL);
	}

	/* Held: a reconnection replays the eventfds recorded here. */
	ret = vfio_user_cli_hold(cli);
	if (ret < 0) {
		vfio_user_cli_put(cli);
		return vfio_user_err(ret);
	}
	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DEVICE_SET_IRQS, iov, iovcnt, fds, nr_fds, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);
	if (ret == 0)
		vfio_user_rc_irqs_set(cli, set);
	vfio_user_cli_unhold(cli);
	vfio_user_cli_put(cli);
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
		ret = vfio_user_cli_call(cli,
			is_write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
			iov, is_write ? 2 : 1, NULL, 0, &reply);
		if (ret < 0)
			break;
		ret = vfio_user_cli_check_reply(cli, &reply, sizeof(rep) + (is_write ? 0 : chunk));
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
		vfio_user_tel_region(&cli->stats, index, chunk, is_write);
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
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_region_rw(cli, index, offset, buf, count, is_write);
	vfio_user_cli_put(cli);
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
	ret = vfio_user_cli_call(cli, VFIO_USER_REGION_WRITE_MULTI, iov, 2, NULL, 0, &reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, sizeof(rep));
	if (ret == 0) {
		memcpy(&rep, reply.data, sizeof(rep));
		/* The server stops at a failing write: fewer is a partial batch. */
		if (rep.wr_cnt > num) {
			VFIO_USER_CLI_LOG(ERR, cli->path, "WRITE_MULTI: %" PRIu64 " of %u done",
				rep.wr_cnt, num);
			ret = -EPROTO;
		} else {
			ret = (int)rep.wr_cnt;
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
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);

	for (i = 0; i < num && ret == 0; i += n) {
		if (cli->write_multiple) {
			n = RTE_MIN(num - i, (uint32_t)VFIO_USER_WRITE_MULTI_BATCH);
			ret = cli_write_multi(cli, &wrs[i], n);
			if (ret >= 0 && (uint32_t)ret < n) {
				/* Stopped at a write the device failed: report what was done. */
				vfio_user_cli_put(cli);
				return (int)i + ret;
			}
			if (ret > 0)
				ret = 0;
		} else {
			n = 1;
			ret = cli_region_rw(cli, wrs[i].index, wrs[i].offset,
				(void *)(uintptr_t)wrs[i].data, wrs[i].count, true);
		}
	}
	vfio_user_cli_put(cli);
	if (ret < 0)
		return vfio_user_err(ret);
	return (int)num;
}

int
vfio_user_cli_reset(struct vfio_user_client *cli)
{
	struct vfio_user_msg reply;
	int ret;

	/* A reset may take long (specification): it has its own limit. */
	vfio_user_msg_init(&reply);
	ret = vfio_user_chan_call_tmo(&cli->chan, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0,
		&reply, (int)cli->lim.reset_timeout_ms);
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = -ENOTCONN;
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, 0);
	vfio_user_msg_release(&reply);
	return ret;
}

int
rte_vfio_user_reset(int dev_id)
{
	struct vfio_user_client *cli;
	int ret;

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = vfio_user_cli_reset(cli);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

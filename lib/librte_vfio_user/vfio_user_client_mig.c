/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Client migration: VFIO_USER_DEVICE_FEATURE for the migration features and
 * DMA logging, VFIO_USER_MIG_DATA_READ/WRITE in chunks of the negotiated
 * max_data_xfer_size.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vfio_user_client.h"
#include "vfio_user_private.h"
#include "vfio_user_proto.h"

/*
 * One DEVICE_FEATURE exchange: flags, ilen bytes of request data; the reply
 * must hold exactly olen bytes of data after the header, copied to out.
 */
static int
cli_feature(struct vfio_user_client *cli, uint32_t flags, const void *in, uint32_t ilen,
		void *out, uint32_t olen)
{
	struct vfio_user_feature hdr, rhdr;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	int ret;

	hdr.argsz = sizeof(hdr) + RTE_MAX(ilen, olen);
	hdr.flags = flags;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)in;
	iov[1].iov_len = ilen;
	vfio_user_msg_init(&reply);
	ret = vfio_user_cli_call(cli, VFIO_USER_DEVICE_FEATURE, iov, ilen != 0 ? 2 : 1, NULL, 0,
			&reply);
	if (ret == 0)
		ret = vfio_user_cli_check_reply(cli, &reply, sizeof(hdr) + olen);
	if (ret == 0) {
		memcpy(&rhdr, reply.data, sizeof(rhdr));
		if (rhdr.flags != flags) {
			VFIO_USER_CLI_LOG(ERR, cli->path,
					"DEVICE_FEATURE reply for flags 0x%x, not 0x%x", rhdr.flags,
					flags);
			ret = -EPROTO;
		} else if (olen != 0) {
			memcpy(out, reply.data + sizeof(rhdr), olen);
		}
	}
	vfio_user_msg_release(&reply);
	return ret;
}

static int
cli_get_state(struct vfio_user_client *cli, enum rte_vfio_user_mig_state *state)
{
	struct vfio_user_mig_state st;
	int ret;

	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			NULL, 0, &st, sizeof(st));
	if (ret == 0)
		*state = (enum rte_vfio_user_mig_state)st.device_state;
	return ret;
}

int
rte_vfio_user_mig_probe(int dev_id, uint64_t *flags)
{
	struct vfio_user_client *cli;
	int ret;

	if (flags == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, NULL, 0,
			flags, sizeof(*flags));
	/* "At least VFIO_MIGRATION_STOP_COPY must be set." */
	if (ret == 0 && !(*flags & RTE_VFIO_USER_MIG_F_STOP_COPY))
		ret = -EPROTO;
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_mig_get_state(int dev_id, enum rte_vfio_user_mig_state *state)
{
	struct vfio_user_client *cli;
	int ret;

	if (state == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_get_state(cli, state);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

static int
cli_set_state(struct vfio_user_client *cli, enum rte_vfio_user_mig_state state)
{
	struct vfio_user_mig_state st = { .device_state = state, .data_fd = -1 }, echo;
	int ret;

	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			&st, sizeof(st), &echo, sizeof(echo));
	if (ret == 0 && echo.device_state != st.device_state)
		ret = -EPROTO;
	return ret;
}

/* Forget the stream of rte_vfio_user_mig_save_for_restart(). */
static void
cli_held_drop(struct vfio_user_client *cli)
{
	pthread_mutex_lock(&cli->held_lock);
	free(cli->held_state);
	cli->held_state = NULL;
	cli->held_len = 0;
	pthread_mutex_unlock(&cli->held_lock);
}

int
rte_vfio_user_mig_set_state(int dev_id, enum rte_vfio_user_mig_state state,
		enum rte_vfio_user_mig_state *cur)
{
	struct vfio_user_client *cli;
	int ret;

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0) {
		if (cur != NULL)
			*cur = RTE_VFIO_USER_MIG_ERROR;
		return vfio_user_err(ret);
	}
	ret = cli_set_state(cli, state);
	/*
	 * The application drives the device's state itself from now on. Only
	 * once connected: no replay can be holding the state then.
	 */
	if (ret == 0)
		cli_held_drop(cli);
	if (cur != NULL) {
		/* After a failure the device may be anywhere on the path, or in ERROR. */
		if (ret == 0)
			*cur = state;
		else if (cli_get_state(cli, cur) < 0)
			*cur = RTE_VFIO_USER_MIG_ERROR;
	}
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

/* MIG_DATA_READ up to len bytes: the bytes read (fewer: end of data), or -errno. */
static ssize_t
cli_mig_read(struct vfio_user_client *cli, void *buf, size_t len)
{
	struct vfio_user_mig_data req, rep;
	struct vfio_user_msg reply;
	struct iovec iov;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		req.size = (uint32_t)RTE_MIN(len - done, (size_t)cli->xfer_size);
		req.argsz = sizeof(req) + req.size;
		iov.iov_base = &req;
		iov.iov_len = sizeof(req);
		vfio_user_msg_init(&reply);
		ret = vfio_user_cli_call(cli, VFIO_USER_MIG_DATA_READ, &iov, 1, NULL, 0, &reply);
		if (ret == 0 && (reply.len < sizeof(rep) || reply.nr_fds != 0))
			ret = -EPROTO;
		if (ret == 0) {
			memcpy(&rep, reply.data, sizeof(rep));
			if (rep.size > req.size || reply.len != sizeof(rep) + rep.size)
				ret = -EPROTO;
			else
				memcpy((uint8_t *)buf + done, reply.data + sizeof(rep), rep.size);
		}
		vfio_user_msg_release(&reply);
		if (ret < 0)
			break;
		done += rep.size;
		/* "If this is less than the requested size, there is no more migration data." */
		if (rep.size < req.size)
			break;
	}
	/* As read(): what was read is returned, the error comes with the next call. */
	if (done != 0)
		return (ssize_t)done;
	return ret;
}

ssize_t
rte_vfio_user_mig_read(int dev_id, void *buf, size_t len)
{
	struct vfio_user_client *cli;
	ssize_t ret;

	if (buf == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err((int)ret);
	ret = cli_mig_read(cli, buf, len);
	vfio_user_cli_put(cli);
	return ret < 0 ? vfio_user_err((int)ret) : ret;
}

static int
cli_mig_write(struct vfio_user_client *cli, const void *buf, size_t len)
{
	struct vfio_user_mig_data req;
	struct vfio_user_msg reply;
	struct iovec iov[2];
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		req.size = (uint32_t)RTE_MIN(len - done, (size_t)cli->xfer_size);
		req.argsz = sizeof(req);
		iov[0].iov_base = &req;
		iov[0].iov_len = sizeof(req);
		iov[1].iov_base = (uint8_t *)(uintptr_t)buf + done;
		iov[1].iov_len = req.size;
		vfio_user_msg_init(&reply);
		ret = vfio_user_cli_call(cli, VFIO_USER_MIG_DATA_WRITE, iov, 2, NULL, 0, &reply);
		if (ret == 0)
			ret = vfio_user_cli_check_reply(cli, &reply, 0);
		vfio_user_msg_release(&reply);
		if (ret < 0)
			break;
		done += req.size;
	}
	return ret;
}

int
rte_vfio_user_mig_write(int dev_id, const void *buf, size_t len)
{
	struct vfio_user_client *cli;
	int ret;

	if (buf == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_mig_write(cli, buf, len);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_mig_data_size(int dev_id, uint64_t *len)
{
	struct vfio_user_client *cli;
	int ret;

	if (len == NULL)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, NULL,
			0, len, sizeof(*len));
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

/*
 * A planned restart of the server: the device's state crosses it in the library.
 */

int
rte_vfio_user_mig_save_for_restart(int dev_id)
{
	struct vfio_user_client *cli;
	uint8_t *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n = 0;
	int ret;

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	if (cli->reconnect_ms == 0) {
		vfio_user_cli_put(cli);
		return vfio_user_err(-ENOTSUP);
	}
	ret = cli_set_state(cli, RTE_VFIO_USER_MIG_STOP_COPY);
	if (ret == 0)
		cli_held_drop(cli);
	/* Read the whole stream, in growing steps, until a short read ends it. */
	while (ret == 0) {
		if (len == cap) {
			if (cap >= VFIO_USER_CLI_HELD_MAX) {
				ret = -EFBIG;
				break;
			}
			cap = RTE_MIN(RTE_MAX(cap * 2, (size_t)cli->xfer_size),
					(size_t)VFIO_USER_CLI_HELD_MAX);
			p = realloc(buf, cap);
			if (p == NULL) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = cli_mig_read(cli, buf + len, cap - len);
		if (n < 0) {
			ret = (int)n;
			break;
		}
		len += (size_t)n;
		if (len < cap)
			break;
	}
	if (ret == 0)
		ret = cli_set_state(cli, RTE_VFIO_USER_MIG_STOP);
	if (ret == 0) {
		pthread_mutex_lock(&cli->held_lock);
		cli->held_state = buf;
		cli->held_len = len;
		pthread_mutex_unlock(&cli->held_lock);
		VFIO_USER_CLI_LOG(INFO, cli->path, "device stopped, %zu bytes of state held", len);
	} else {
		free(buf);
		/* Best effort: the server still runs, so should the device. */
		if (cli_set_state(cli, RTE_VFIO_USER_MIG_RUNNING) < 0)
			VFIO_USER_CLI_LOG(ERR, cli->path,
				"device not running again after a failed save");
	}
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

int
vfio_user_cli_held_restore(struct vfio_user_client *cli)
{
	int ret;

	pthread_mutex_lock(&cli->held_lock);
	if (cli->held_state == NULL) {
		pthread_mutex_unlock(&cli->held_lock);
		return 0;
	}
	ret = cli_set_state(cli, RTE_VFIO_USER_MIG_RESUMING);
	if (ret == 0)
		ret = cli_mig_write(cli, cli->held_state, cli->held_len);
	if (ret == 0)
		ret = cli_set_state(cli, RTE_VFIO_USER_MIG_RUNNING);
	if (ret == -ENOTCONN || ret == -ETIMEDOUT) {
		/* The connection failed, not the state: keep it for the next server. */
		pthread_mutex_unlock(&cli->held_lock);
		return ret;
	}
	free(cli->held_state);
	cli->held_state = NULL;
	cli->held_len = 0;
	pthread_mutex_unlock(&cli->held_lock);
	if (ret < 0) {
		VFIO_USER_CLI_LOG(ERR, cli->path, "the server refused the held state: %s",
			strerror(-ret));
		return vfio_user_cli_reset(cli) < 0 ? -ENOTCONN : 0;
	}
	return 1;
}

/*
 * DMA logging
 */

int
rte_vfio_user_dirty_start(int dev_id, const struct rte_vfio_user_dirty_range *ranges,
		uint32_t nr, uint64_t *page_size)
{
	struct vfio_user_logging_control *ctl;
	struct vfio_user_logging_range *rg;
	struct vfio_user_client *cli;
	uint32_t i, len;
	int ret;

	if (page_size == NULL || (nr != 0 && ranges == NULL))
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	/* The request and its echo must fit one message. */
	if (nr > (vfio_user_cli_max_payload(cli) - sizeof(struct vfio_user_feature) -
			sizeof(*ctl)) / sizeof(*rg)) {
		vfio_user_cli_put(cli);
		return vfio_user_err(-E2BIG);
	}
	len = sizeof(*ctl) + nr * sizeof(*rg);
	ctl = malloc(len);
	if (ctl == NULL) {
		vfio_user_cli_put(cli);
		return vfio_user_err(-ENOMEM);
	}
	ctl->page_size = *page_size != 0 ? *page_size : cli->mig_pgsize;
	ctl->num_ranges = nr;
	ctl->reserved = 0;
	rg = (struct vfio_user_logging_range *)(ctl + 1);
	for (i = 0; i < nr; i++) {
		rg[i].iova = ranges[i].iova;
		rg[i].length = ranges[i].length;
	}
	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			ctl, len, ctl, len);
	if (ret == 0) {
		if (!rte_is_power_of_2(ctl->page_size))
			ret = -EPROTO;
		else
			*page_size = ctl->page_size;
	}
	free(ctl);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

int
rte_vfio_user_dirty_stop(int dev_id)
{
	struct vfio_user_client *cli;
	int ret;

	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
			NULL, 0, NULL, 0);
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

/* One report of at most the pages one reply holds; words are copied to bitmap. */
static int
cli_report(struct vfio_user_client *cli, uint64_t iova, uint64_t length, uint64_t page_size,
		uint64_t *bitmap)
{
	struct vfio_user_logging_report req, *rep;
	uint64_t words = ((length / page_size) + 63) / 64;
	uint32_t olen = sizeof(req) + words * sizeof(uint64_t);
	int ret;

	rep = malloc(olen);
	if (rep == NULL)
		return -ENOMEM;
	req.iova = iova;
	req.length = length;
	req.page_size = page_size;
	ret = cli_feature(cli, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			&req, sizeof(req), rep, olen);
	if (ret == 0 && (rep->iova != iova || rep->length != length ||
			rep->page_size != page_size))
		ret = -EPROTO;
	if (ret == 0)
		memcpy(bitmap, rep + 1, words * sizeof(uint64_t));
	free(rep);
	return ret;
}

int
rte_vfio_user_dirty_report(int dev_id, uint64_t iova, uint64_t length, uint64_t page_size,
		uint64_t *bitmap)
{
	struct vfio_user_client *cli;
	uint64_t max_pages, n;
	int ret;

	if (bitmap == NULL || !rte_is_power_of_2(page_size) || length == 0 ||
			(iova | length) & (page_size - 1) || length - 1 > UINT64_MAX - iova)
		return vfio_user_err(-EINVAL);
	ret = vfio_user_cli_get(dev_id, &cli);
	if (ret < 0)
		return vfio_user_err(ret);
	/* Whole bitmap words per message, as many as the server sends at once. */
	max_pages = RTE_MAX((uint64_t)cli->mig_max_bitmap / sizeof(uint64_t), UINT64_C(1)) * 64;
	while (length != 0) {
		n = length / page_size > max_pages ? max_pages * page_size : length;
		ret = cli_report(cli, iova, n, page_size, bitmap);
		if (ret < 0)
			break;
		bitmap += n / page_size / 64;
		iova += n;
		length -= n;
	}
	vfio_user_cli_put(cli);
	return vfio_user_err(ret);
}

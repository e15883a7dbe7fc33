/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <pthread.h>

#include <rte_common.h>
#include <rte_log.h>

#include "vfio_user_private.h"
#include "vfio_user_proto.h"
#include "vfio_user_telemetry.h"

RTE_LOG_REGISTER_DEFAULT(vfio_user_logtype, INFO);
RTE_LOG_REGISTER_SUFFIX(vfio_user_logtype_server, server, INFO);
RTE_LOG_REGISTER_SUFFIX(vfio_user_logtype_client, client, INFO);

/*
 * Here rather than in vfio_user_telemetry.c: every program using the library
 * links this file, also statically, where an unreferenced constructor would
 * be left out of the link.
 */
RTE_INIT(vfio_user_init)
{
	vfio_user_tel_register();
}

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rte_vfio_user_limits limits = {
	.max_devices = VFIO_USER_DEF_MAX_DEVICES,
	.max_msg_size = VFIO_USER_DEF_MAX_MSG_SIZE,
	.max_msg_fds = VFIO_USER_DEF_MAX_MSG_FDS,
	.max_dma_maps = VFIO_USER_DEF_MAX_DMA_MAPS,
	.max_data_xfer_size = VFIO_USER_DEF_MAX_DATA_XFER,
	.reply_timeout_ms = VFIO_USER_DEF_REPLY_TIMEOUT_MS,
	.max_pending_msgs = VFIO_USER_DEF_MAX_PENDING_MSGS,
	.max_dma_mapped_bytes = VFIO_USER_DEF_MAX_DMA_MAPPED_BYTES,
	.reset_timeout_ms = VFIO_USER_DEF_RESET_TIMEOUT_MS,
};

void
vfio_user_limits_snapshot(struct rte_vfio_user_limits *lim)
{
	pthread_mutex_lock(&limits_lock);
	*lim = limits;
	pthread_mutex_unlock(&limits_lock);
}

int
rte_vfio_user_limits_get(struct rte_vfio_user_limits *lim)
{
	if (lim == NULL)
		return vfio_user_err(-EINVAL);
	vfio_user_limits_snapshot(lim);
	return 0;
}

#define PICK(field) (lim->field != 0 ? lim->field : cur.field)

int
rte_vfio_user_limits_set(const struct rte_vfio_user_limits *lim)
{
	struct rte_vfio_user_limits cur, next;

	if (lim == NULL)
		return vfio_user_err(-EINVAL);

	pthread_mutex_lock(&limits_lock);
	cur = limits;
	next.max_devices = PICK(max_devices);
	next.max_msg_size = PICK(max_msg_size);
	next.max_msg_fds = PICK(max_msg_fds);
	next.max_dma_maps = PICK(max_dma_maps);
	next.max_data_xfer_size = PICK(max_data_xfer_size);
	next.reply_timeout_ms = PICK(reply_timeout_ms);
	next.max_pending_msgs = PICK(max_pending_msgs);
	next.max_dma_mapped_bytes = PICK(max_dma_mapped_bytes);
	next.reset_timeout_ms = PICK(reset_timeout_ms);

	/* The largest data message is a header, a 16-byte access header and the data. */
	if ((uint64_t)next.max_data_xfer_size + VFIO_USER_HDR_SIZE +
			sizeof(struct vfio_user_dma_access) > next.max_msg_size ||
			next.max_msg_fds > VFIO_USER_SCM_MAX_FDS ||
			next.reply_timeout_ms > INT32_MAX || next.reset_timeout_ms > INT32_MAX) {
		pthread_mutex_unlock(&limits_lock);
		return vfio_user_err(-EINVAL);
	}
	limits = next;
	pthread_mutex_unlock(&limits_lock);
	return 0;
}

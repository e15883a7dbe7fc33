/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_PRIVATE_H_
#define _VFIO_USER_PRIVATE_H_

/* Shared by every file of the library: logging and the limits in force. */

#include <stdint.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_log.h>

#include "rte_vfio_user_common.h"

extern int vfio_user_logtype;
extern int vfio_user_logtype_server;
extern int vfio_user_logtype_client;

#define VFIO_USER_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_logtype, "VFIO_USER: " fmt "\n", ## __VA_ARGS__)

/* Per-session logs carry the socket path as a prefix. */
#define VFIO_USER_SRV_LOG(level, path, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_logtype_server, "VFIO_USER: (%s) " fmt "\n", \
		path, ## __VA_ARGS__)
#define VFIO_USER_CLI_LOG(level, path, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_logtype_client, "VFIO_USER: (%s) " fmt "\n", \
		path, ## __VA_ARGS__)

/* The kernel refuses more than this many fds in one SCM_RIGHTS message. */
#define VFIO_USER_SCM_MAX_FDS 253

/* Defaults of struct rte_vfio_user_limits. */
#define VFIO_USER_DEF_MAX_DEVICES 1024
#define VFIO_USER_DEF_MAX_DATA_XFER (1u << 20)
#define VFIO_USER_DEF_MAX_MSG_SIZE (VFIO_USER_DEF_MAX_DATA_XFER + 4096)
#define VFIO_USER_DEF_MAX_MSG_FDS 16
#define VFIO_USER_DEF_MAX_DMA_MAPS 65535
#define VFIO_USER_DEF_REPLY_TIMEOUT_MS 5000
#define VFIO_USER_DEF_MAX_PENDING_MSGS 1024
#define VFIO_USER_DEF_MAX_DMA_MAPPED_BYTES (UINT64_C(1) << 40)
#define VFIO_USER_DEF_RESET_TIMEOUT_MS 60000

/* Peer values the specification says to assume when a capability is absent. */
#define VFIO_USER_SPEC_DEF_MAX_MSG_FDS 1
#define VFIO_USER_SPEC_DEF_MAX_DATA_XFER 1048576
#define VFIO_USER_SPEC_DEF_MAX_DMA_MAPS 65535
#define VFIO_USER_SPEC_DEF_PGSIZES 4096

/* A consistent snapshot of the limits, taken when a session is created. */
void vfio_user_limits_snapshot(struct rte_vfio_user_limits *lim);

/* Milliseconds on the monotonic clock, for deadlines. */
static inline int64_t
vfio_user_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set rte_errno from a negative errno and return it, for public functions. */
static inline int
vfio_user_err(int ret)
{
	if (ret < 0)
		rte_errno = -ret;
	return ret;
}

#endif /* _VFIO_USER_PRIVATE_H_ */

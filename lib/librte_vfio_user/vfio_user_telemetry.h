/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_TELEMETRY_H_
#define _VFIO_USER_TELEMETRY_H_

/*
 * Counters of one device, shown by the /vfio_user/.../stats telemetry
 * endpoints (vfio_user_telemetry.c). They are bumped with relaxed atomic adds:
 * the server's from its control thread and from the device threads that send
 * DMA_READ/DMA_WRITE, the client's from every thread calling the API. One
 * uncontended add per message costs nothing next to the socket round trip it
 * counts, and a reader on another thread needs no lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vfio_user_proto.h"
#include "vfio_user_sock.h"

/* Regions whose bytes are counted; accesses to higher indexes are not. */
#define VFIO_USER_TEL_REGIONS 16

struct vfio_user_tel_stats {
	/* Commands handled (server) or sent (client), and of those the failed ones. */
	uint64_t msgs[VFIO_USER_MAX_COMMAND];
	uint64_t errors[VFIO_USER_MAX_COMMAND];
	/* Bytes moved by successful REGION_READ and REGION_WRITE, by region index. */
	uint64_t region_read[VFIO_USER_TEL_REGIONS];
	uint64_t region_write[VFIO_USER_TEL_REGIONS];
	/*
	 * DMA_READ/DMA_WRITE messages sent (server) or answered (client), [0] read,
	 * [1] write; dma_errors counts those that failed.
	 */
	uint64_t dma_msgs[2];
	uint64_t dma_errors[2];
};

static inline void
vfio_user_tel_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t
vfio_user_tel_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* One command handled or sent; unknown command numbers are not counted. */
static inline void
vfio_user_tel_cmd(struct vfio_user_tel_stats *st, uint16_t cmd, bool failed)
{
	if (cmd >= VFIO_USER_MAX_COMMAND)
		return;
	vfio_user_tel_add(&st->msgs[cmd], 1);
	if (failed)
		vfio_user_tel_add(&st->errors[cmd], 1);
}

/* count bytes read or written in region index. */
static inline void
vfio_user_tel_region(struct vfio_user_tel_stats *st, uint32_t index, uint64_t count, bool write)
{
	if (index >= VFIO_USER_TEL_REGIONS)
		return;
	vfio_user_tel_add(write ? &st->region_write[index] : &st->region_read[index], count);
}

/* One DMA_READ or DMA_WRITE message. */
static inline void
vfio_user_tel_dma(struct vfio_user_tel_stats *st, bool write, bool failed)
{
	vfio_user_tel_add(&st->dma_msgs[write], 1);
	if (failed)
		vfio_user_tel_add(&st->dma_errors[write], 1);
}

/*
 * A message the server dispatched: a command counts in msgs (and errors when
 * failed), a successful REGION_READ or REGION_WRITE adds its bytes.
 */
void vfio_user_tel_srv_cmd(struct vfio_user_tel_stats *st, const struct vfio_user_msg *msg,
		bool failed);

/* Register the /vfio_user telemetry endpoints (from the library's constructor). */
void vfio_user_tel_register(void);

#endif /* _VFIO_USER_TELEMETRY_H_ */

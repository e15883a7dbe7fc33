/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_CLIENT_H_
#define _VFIO_USER_CLIENT_H_

/*
 * The client device, shared by the files of the client half:
 * vfio_user_client.c (registry, connection, negotiation, the control
 * thread's side, attach and detach), vfio_user_client_cmd.c (the commands
 * on the device: information, interrupts, region access, reset) and
 * vfio_user_client_mem.c (DMA windows lent to the server, server regions
 * mapped here) and vfio_user_client_mig.c (migration and DMA logging).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "rte_vfio_user.h"
#include "vfio_user_dma.h"
#include "vfio_user_sock.h"
#include "vfio_user_telemetry.h"

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
	uint16_t minor;              /* protocol minor version */
	uint32_t xfer_size;          /* split size of REGION_READ/WRITE */
	uint32_t peer_max_fds;
	uint64_t pgsizes;
	bool write_multiple;
	uint64_t mig_pgsize;         /* server's DMA logging granularity */
	uint32_t mig_max_bitmap;     /* largest DMA logging bitmap in one reply */

	pthread_rwlock_t dma_lock;
	struct vfio_user_dma_table dma;

	pthread_mutex_t map_lock;
	TAILQ_HEAD(, cli_region_maps) maps;

	struct vfio_user_tel_stats stats; /* relaxed atomics */
};

/* Take a reference on a ready device: 0, or -ENODEV. */
int vfio_user_cli_get(int dev_id, struct vfio_user_client **out);
void vfio_user_cli_put(struct vfio_user_client *cli);
/* Device ids are below this bound (telemetry). */
uint32_t vfio_user_cli_nr_slots(void);
/* Receive size of our channel, as a reply payload bound (argsz). */
uint32_t vfio_user_cli_max_payload(const struct vfio_user_client *cli);

/* One exchange; a broken connection reads as -ENOTCONN. */
int vfio_user_cli_call(struct vfio_user_client *cli, uint16_t cmd, const struct iovec *iov,
		int iovcnt, const int *fds, uint32_t nr_fds, struct vfio_user_msg *reply);
/* A reply of exactly len payload bytes and no descriptors, else -EPROTO. */
int vfio_user_cli_check_reply(struct vfio_user_client *cli, const struct vfio_user_msg *reply,
		uint32_t len);
/* Send a command with a fixed-size reply and copy the reply. */
int vfio_user_cli_simple_call(struct vfio_user_client *cli, uint16_t cmd, const void *req,
		uint32_t req_len, void *out, uint32_t out_len);
/* Give the device up after a DMA_MAP or DMA_UNMAP without reply (what: the command). */
void vfio_user_cli_break(struct vfio_user_client *cli, const char *what);

/*
 * GET_REGION_INFO into info (argsz bytes, at least the struct). On success
 * info holds the reply payload, argsz the size the server needs, and *fd the
 * region's descriptor or -1.
 */
int vfio_user_cli_region_info(struct vfio_user_client *cli, uint32_t index,
		struct vfio_region_info *info, uint32_t argsz, int *fd);

#endif /* _VFIO_USER_CLIENT_H_ */

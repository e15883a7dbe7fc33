/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_CLIENT_H_
#define _VFIO_USER_CLIENT_H_

/*
 * The client device, shared by the files of the client half:
 * vfio_user_client.c (registry, connection, negotiation, the control
 * thread's side, attach and detach), vfio_user_client_cmd.c (the
 * request/reply exchanges, and the commands on the device: information,
 * interrupts, region access, reset), vfio_user_client_mem.c (DMA windows
 * lent to the server, server regions mapped here),
 * vfio_user_client_mig.c (migration and DMA logging) and
 * vfio_user_client_reconnect.c (a server that comes back).
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

/* The eventfds of the last SET_IRQS (trigger) of one interrupt index, -1 where unset. */
struct cli_irq_fds {
	int *fds;
	uint32_t nr;
};

/* Size and flags of a region, as read at attach: a server must come back with the same. */
struct cli_region_ident {
	uint64_t size;
	uint32_t flags;
};

/*
 * Negotiated values the device's users rely on, as at attach: a server may
 * come back with more (it was upgraded), and these stay in use; less is refused.
 */
struct cli_nego {
	uint16_t minor;
	uint32_t xfer_size;
	uint32_t peer_max_fds;
	uint32_t dma_max;
	uint64_t pgsizes;
	bool twin;
	bool write_multiple;
	uint64_t mig_pgsize;     /* 0: the server offered no migration capability */
	uint32_t mig_max_bitmap;
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

	/*
	 * Reconnection (rte_vfio_user_attach_dev_opts()), all unused when
	 * reconnect_ms is 0. conn_lock is read-held by an exchange and by a call
	 * that changes what is replayed (DMA windows, eventfds, region maps),
	 * write-held by the control thread while it replaces the connection.
	 */
	uint32_t reconnect_ms;
	rte_vfio_user_conn_cb_t conn_cb;  /* runs under disc_lock, like disc_cb */
	void *conn_arg;
	pthread_rwlock_t conn_lock;
	bool connected;                   /* atomic; false while the server is away */
	bool reconnecting;                /* atomic; the retry timer is armed */
	bool replaying;                   /* atomic; replay_thread holds conn_lock */
	pthread_t replay_thread;
	bool rc_stopped;                  /* atomic; detach began, retry no more */
	pthread_mutex_t replay_fd_lock;   /* a detach cuts the replay short through: */
	int replay_fd;                    /* the connection being replayed, or -1 */
	bool conn_cb_running;             /* atomic; conn_cb_thread is in conn_cb */
	pthread_t conn_cb_thread;
	uint64_t reconnects;              /* atomic; successful reconnections */
	struct cli_nego nego;             /* negotiated at attach, in use since */
	struct vfio_device_info ident;    /* device info read at attach */
	struct cli_region_ident *ident_regions; /* ident.num_regions entries */
	struct cli_irq_fds *irqs;         /* ident.num_irqs entries, under conn_lock */
	/* rte_vfio_user_mig_save_for_restart(): loaded into the server that comes back. */
	pthread_mutex_t held_lock;
	uint8_t *held_state;
	size_t held_len;
};

/* Largest device state rte_vfio_user_mig_save_for_restart() holds. */
#define VFIO_USER_CLI_HELD_MAX (UINT64_C(1) << 30)

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

/* Connect to path; a full backlog is retried until timeout_ms passed. */
int vfio_user_cli_connect(const char *path, uint32_t timeout_ms);
/*
 * Set up the main channel on the connected fd (owned from now on) and
 * negotiate: the twin socket is set up, the values are returned in got.
 */
int vfio_user_cli_open(struct vfio_user_client *cli, int fd, struct cli_nego *got);
/* Watch the channels from the control thread: the server's hang-up is noticed from here on. */
int vfio_user_cli_watch(struct vfio_user_client *cli);
/* Stop the watches and cut the connection; calls in progress fail with -ENOTCONN. */
void vfio_user_cli_unwatch(struct vfio_user_client *cli);
/* Stop reconnecting, then vfio_user_cli_unwatch(). */
void vfio_user_cli_disconnect(struct vfio_user_client *cli);
/* VFIO_USER_DEVICE_RESET on the current connection, without conn_lock: 0 or -errno. */
int vfio_user_cli_reset(struct vfio_user_client *cli);
/*
 * On reconnection, load the held state (RESUMING, MIG_DATA_WRITE, RUNNING)
 * into the new server: 1 when restored; 0 without held state, or when the
 * server refused it and the device was reset; -ENOTCONN or -ETIMEDOUT when
 * the connection failed (the state is kept for the next try).
 */
int vfio_user_cli_held_restore(struct vfio_user_client *cli);
/* Free the channels and close their sockets (after vfio_user_cli_disconnect()). */
void vfio_user_cli_close(struct vfio_user_client *cli);
/* Tell the disconnect callback, once, that the device is gone for good. */
void vfio_user_cli_notify_gone(struct vfio_user_client *cli);

/*
 * Around a call that changes what a reconnection replays: 0, or -ENOTCONN
 * at once while the server is away or being reconnected.
 */
int vfio_user_cli_hold(struct vfio_user_client *cli);
void vfio_user_cli_unhold(struct vfio_user_client *cli);

/* Map region index into a new list of mappings (vfio_user_client_mem.c). */
int vfio_user_cli_map_region(struct vfio_user_client *cli, uint32_t index,
		struct cli_region_maps **out);
/* Close the descriptor kept for window [iova, iova + size), if any, and forget the window. */
void vfio_user_cli_dma_forget(struct vfio_user_client *cli, uint64_t iova, uint64_t size);

/* vfio_user_client_reconnect.c */
/* Read what the server must come back with: 0 or -errno. */
int vfio_user_rc_init(struct vfio_user_client *cli);
/* Undo vfio_user_rc_init() and close the kept descriptors (retries are stopped). */
void vfio_user_rc_fini(struct vfio_user_client *cli);
/* On the control thread: the server went away, start retrying. */
void vfio_user_rc_lost(struct vfio_user_client *cli);
/* Stop retrying; on return no reconnection runs. */
void vfio_user_rc_stop(struct vfio_user_client *cli);
/* True on the thread running the device's connection callback. */
bool vfio_user_rc_in_callback(const struct vfio_user_client *cli);
/* Remember a successful SET_IRQS; under vfio_user_cli_hold(). */
void vfio_user_rc_irqs_set(struct vfio_user_client *cli, const struct vfio_irq_set *set);

/*
 * GET_REGION_INFO into info (argsz bytes, at least the struct). On success
 * info holds the reply payload, argsz the size the server needs, and *fd the
 * region's descriptor or -1.
 */
int vfio_user_cli_region_info(struct vfio_user_client *cli, uint32_t index,
		struct vfio_region_info *info, uint32_t argsz, int *fd);

#endif /* _VFIO_USER_CLIENT_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_CAPS_H_
#define _VFIO_USER_CAPS_H_

/*
 * The JSON capabilities of VFIO_USER_VERSION, read and written with json-c,
 * and the negotiation policy of both halves: what a client proposes, what a
 * server grants from a proposal, what a client accepts from the reply.
 * The version data is {"capabilities": {...}}; keys we do not know are
 * ignored; a known key of the wrong type is an error. The specification does
 * not define "migration" (its earlier drafts did, and QEMU sends it): it is
 * read as those drafts define it, {"pgsize": N, "max_bitmap_size": N}.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rte_vfio_user_common.h"

/* Bits of vfio_user_caps.present */
#define VFIO_USER_CAP_MAX_MSG_FDS    (1u << 0)
#define VFIO_USER_CAP_MAX_DATA_XFER  (1u << 1)
#define VFIO_USER_CAP_PGSIZES        (1u << 2)
#define VFIO_USER_CAP_MAX_DMA_MAPS   (1u << 3)
#define VFIO_USER_CAP_TWIN_SOCKET    (1u << 4)
#define VFIO_USER_CAP_WRITE_MULTIPLE (1u << 5)
#define VFIO_USER_CAP_MIGRATION      (1u << 6)

struct vfio_user_caps {
	uint32_t present;            /* VFIO_USER_CAP_* keys present */
	uint64_t max_msg_fds;
	uint64_t max_data_xfer_size;
	uint64_t pgsizes;
	uint64_t max_dma_maps;
	bool twin_supported;         /* twin_socket.supported */
	bool twin_has_fd_index;      /* twin_socket.fd_index present */
	uint64_t twin_fd_index;
	bool write_multiple;
	bool mig_has_pgsize;         /* migration.pgsize present */
	uint64_t mig_pgsize;
	bool mig_has_max_bitmap;     /* migration.max_bitmap_size present */
	uint64_t mig_max_bitmap;
};

/* Fill the values the specification gives to absent keys; present = 0. */
void vfio_user_caps_defaults(struct vfio_user_caps *caps);

/*
 * Parse version data of len bytes (the payload after major/minor). len 0
 * means no JSON: defaults. Otherwise the data must be NUL-terminated within
 * len, be one JSON object, with "capabilities" (if present) an object.
 * Absent keys keep their defaults. Returns 0 or -EINVAL.
 */
int vfio_user_caps_parse(const char *data, size_t len, struct vfio_user_caps *caps);

/*
 * Format the keys set in caps->present as version data. Returns a
 * NUL-terminated malloc'd string (free() it) and its length including the
 * NUL in *len, or NULL on ENOMEM.
 */
char *vfio_user_caps_format(const struct vfio_user_caps *caps, size_t *len);

/* What a session uses once VERSION is done, the same way on both sides. */
struct vfio_user_negotiated {
	uint32_t max_msg_fds;   /* descriptors the peer takes in one message */
	uint32_t max_data_xfer; /* largest data transfer we send in one message */
	uint32_t max_dma_maps;  /* DMA windows the client may have */
	uint64_t pgsizes;       /* page sizes of the DMA windows */
	bool write_multiple;    /* REGION_WRITE_MULTI may be used */
	bool twin;              /* the peer offers (client) or wants (server) a twin socket */
	uint64_t mig_pgsize;    /* smallest DMA logging granularity of the server */
	uint32_t mig_max_bitmap; /* largest DMA logging bitmap in one reply, bytes */
};

/* Client: the capabilities proposed in VERSION, from the limits in force. */
void vfio_user_caps_propose(const struct rte_vfio_user_limits *lim, struct vfio_user_caps *caps);

/*
 * Server: from the client's proposal (peer, defaults for absent keys), the
 * keys of the reply (the proposed keys and only those; the twin socket keys
 * are left to the caller, which creates the socket) and what the session
 * uses; "migration" is granted only when the device is migratable, with
 * mig_pgsize as the logging granularity. Returns 0, or -EINVAL when no
 * proposed page size is usable or when
 * the client leaves out max_data_xfer_size or max_dma_maps while our limit is
 * below the specification's default (the reply could not tell it).
 */
int vfio_user_caps_grant(const struct vfio_user_caps *peer, const struct rte_vfio_user_limits *lim,
		uint64_t mig_pgsize, struct vfio_user_caps *reply,
		struct vfio_user_negotiated *use);

/*
 * Client: what the session uses from the server's reply (peer, defaults for
 * absent keys). Returns 0, or -EPROTO when the reply cannot be worked with
 * (max_data_xfer_size 0).
 */
int vfio_user_caps_accept(const struct vfio_user_caps *peer,
		const struct rte_vfio_user_limits *lim, struct vfio_user_negotiated *use);

#endif /* _VFIO_USER_CAPS_H_ */

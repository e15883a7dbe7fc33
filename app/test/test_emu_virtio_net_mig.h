/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _TEST_EMU_VIRTIO_NET_MIG_H_
#define _TEST_EMU_VIRTIO_NET_MIG_H_

/*
 * emu_virtio_net_mig_autotest: what its server processes
 * (test_emu_virtio_net_mig_server.c) and the test share.
 */

#include <stdint.h>

/* The server's environment. */
#define SOCK_ENV "EMU_VNET_MIG_SOCK"
#define BOARD_ENV "EMU_VNET_MIG_BOARD"
#define MAC_ENV "EMU_VNET_MIG_MAC"
#define SIDE_ENV "EMU_VNET_MIG_SIDE"

/* Sequence numbers the scoreboard follows. */
#define NB_SEQ 4096

/* What the servers saw, shared by both and the test (a file in the socket dir). */
struct board {
	uint32_t rx[NB_SEQ];	/* frames the port received, by sequence number */
	uint8_t rx_side[NB_SEQ];	/* the server that received it: 1 (A) or 2 (B) */
	uint32_t tx[NB_SEQ];	/* echoes the port's tx_burst took */
};

/* The frame of sequence number @seq: its length, and its bytes (to @dst) into @p. */
uint32_t frame_len(uint32_t seq);
void frame_build(uint8_t *p, uint32_t seq, const char *dst);
/* The sequence number of a frame. */
uint32_t frame_seq(const uint8_t *p);

#endif /* _TEST_EMU_VIRTIO_NET_MIG_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _FUZZ_COMMON_H_
#define _FUZZ_COMMON_H_

/*
 * Shared by the fuzz targets: EAL start-up and the input format.
 *
 * An input is a sequence of records, each sent to the library as one
 * sendmsg() on a UNIX stream socket:
 *
 *   u8  flags   bits 0-1: descriptors to attach (0-3)
 *               bit 2:    the descriptors are eventfds (else 64 KiB memfds)
 *               bit 3:    send at once (else first wait for the peer's next
 *                         message; client target only)
 *               bit 4:    copy msg_id and cmd of that message into the first
 *                         4 bytes (client target only)
 *   u16 len     little endian, bytes that follow (cut at the end of input)
 *   u8  data[len]
 *
 * The bytes are not message aligned: a record may hold several messages,
 * half of one, or anything else.
 */

#include <stddef.h>
#include <stdint.h>

#define FUZZ_REC_NFDS_MASK 0x3u
#define FUZZ_REC_EVENTFD (1u << 2)
#define FUZZ_REC_NOWAIT (1u << 3)
#define FUZZ_REC_PATCH_ID (1u << 4)
#define FUZZ_REC_HDR_SIZE 3
#define FUZZ_MEMFD_SIZE 0x10000

struct fuzz_rec {
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

/* Next record from the input (advanced past it): 0, or -1 at the end. */
int fuzz_next_rec(const uint8_t **buf, size_t *left, struct fuzz_rec *rec);

/*
 * Start the EAL once for the process, quiet the library's logs and shorten
 * its timeouts (so that an input that stalls costs milliseconds). Returns
 * 0 or -1.
 */
int fuzz_eal_init(const char *name);

/* A private directory for sockets, removed at exit. */
const char *fuzz_sock_dir(void);

/* Send a record with its descriptors (created here, closed after sending). 0 or -errno. */
int fuzz_send_rec(int sock, const struct fuzz_rec *rec, uint8_t *scratch);

/*
 * Read what the socket holds, closing any descriptor received, for up to
 * wait_ms (0: only what is there). Returns bytes read, or -1 at end of
 * stream or error.
 */
long fuzz_drain(int sock, int wait_ms);

/*
 * One input of a server target: connect to the server at @addr, send the
 * input's records (replies are read and dropped as they come), then
 * half-close and wait up to @end_ms for the server to end the session, so
 * that every input starts on a fresh session. Aborts if it cannot connect.
 */
void fuzz_client_session(const char *path, const uint8_t *data, size_t size, int end_ms,
		uint8_t *scratch);

/* Read one whole message (its header into hdr), each part within wait_ms: 0 or -1. */
int fuzz_read_msg(int sock, int wait_ms, uint8_t hdr[16]);

#endif /* _FUZZ_COMMON_H_ */

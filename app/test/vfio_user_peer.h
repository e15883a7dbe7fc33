/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_PEER_H_
#define _VFIO_USER_PEER_H_

/*
 * Raw vfio-user peer for the tests: messages built and parsed by hand
 * (header, payload, descriptors) over a plain AF_UNIX socket, so that a test
 * can play a client or a server that does exactly what it is told.
 *
 * Two layers:
 *  - raw_*: send and receive one message, nothing checked;
 *  - the hostile client: commands to the test device dev_a with the expected
 *    answer checked (cmd_ok(), cmd_err(), expect_*()), the last message
 *    received in rx, and run_case() which after each case checks that a fresh
 *    client is served, that the bystander device dev_b still answers on its
 *    own session, and that no descriptor or mapping was left behind.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test_vfio_user_common.h"

/* Raw socket: connect to @path; the socket or -errno. A send blocks at most 3 s. */
int raw_connect(const char *path);
/* Most descriptors sent or kept with one message. */
#define RAW_MAX_FDS 64
/* Send all of @iov, @nr_fds descriptors with its first byte: 0 or -errno. Changes @iov. */
int raw_sendv(int s, struct iovec *iov, int iovcnt, const int *fds, int nr_fds);
/* One message whose header says exactly what is sent (size = header + @len). */
int raw_send(int s, uint16_t id, uint16_t cmd, uint32_t flags, const void *payload,
	uint32_t len, const int *fds, int nr_fds);
/* Header (with @error) and two payload parts: a reply is often a struct then data. */
int raw_send_parts(int s, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error,
	const void *p1, size_t l1, const void *p2, size_t l2, const int *fds, int nr_fds);
/* Bytes as they are, no header made up. */
int raw_send_bytes(int s, const void *buf, size_t len);

/* A received message. The caller provides data and cap. */
struct raw_msg {
	struct vfio_user_hdr hdr;
	uint32_t len;        /* payload bytes announced by the header */
	uint8_t *data;       /* payload buffer */
	uint32_t cap;        /* its size */
	bool truncate;       /* payload beyond cap is read and dropped, not an error */
	int nr_fds;          /* descriptors received; the first RAW_MAX_FDS are kept */
	int fds[RAW_MAX_FDS];
};

/*
 * Receive one message (descriptors of a previous one are not closed).
 * Returns 0; -ETIMEDOUT when nothing came in time; -ECONNRESET when the peer
 * closed at a message boundary; -EPIPE when it closed inside a message;
 * -EMSGSIZE for a size below the header or a payload above cap (unless
 * truncate); or another -errno.
 */
int raw_recv(int s, struct raw_msg *m, int timeout_ms);
/* Close the descriptors kept in @m. */
void raw_msg_close_fds(struct raw_msg *m);
/* Close *s if open and set it to -1. */
void raw_close(int *s);

/*
 * Hostile client against the test devices.
 */

#define RX_TIMEOUT_MS 1000     /* a reply or a close must come within this */
#define SILENCE_MS 200         /* how long "no reply" is watched */
#define STALL_MS 300           /* reply_timeout_ms set for the hostile cases */
#define LEAK_WAIT_MS 2000
#define RX_BUF_SIZE (4u << 20)

/*
 * dev_a and dev_b are test devices (struct tdev) laid out for these cases:
 * a small RW region served from base memory, a read-only one, one larger than
 * max_data_xfer_size served by the callback, 4 MSI-X vectors and no MSI.
 */
#define HDEV_BAR_RW TDEV_BAR_BASE  /* RW, base memory */
#define HDEV_RW_SIZE 0x1000
#define HDEV_BAR_RO TDEV_BAR_RO    /* read-only, base memory */
#define HDEV_BAR_BIG TDEV_BAR_CB   /* RW, callback */
#define HDEV_BIG_SIZE (2u << 20)
/* Accesses of max_data_xfer_size there start here, past TDEV_ERR_START..END. */
#define HDEV_BIG_OFF 0x1000
#define HDEV_MSIX_COUNT 4

#define DEF_CAPS "{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576," \
	"\"pgsizes\":4096,\"max_dma_maps\":65535}}"
#define WM_CAPS "{\"capabilities\":{\"max_msg_fds\":16,\"pgsizes\":4096," \
	"\"write_multiple\":true}}"

extern struct tdev dev_a;     /* the target */
extern struct tdev dev_b;     /* the bystander */
extern int b_sock;            /* long-lived session with dev_b */
extern struct raw_msg rx;     /* the last message received */
extern int g_case_fds;        /* descriptors open before the case connected */
extern uint16_t g_next_id;    /* next message id nid() gives */
/* Limits of the hostile cases: the suite's with the short reply timeout (STALL_MS). */
extern struct rte_vfio_user_limits g_limits;

/* Wait until the process has @want descriptors open (LEAK_WAIT_MS at most). */
int fds_wait(int want, const char *what);
/* A fresh message id. */
uint16_t nid(void);
/* Receive into rx: see raw_recv(), but -EPROTO for a broken message. */
int rx_recv(int s, int timeout_ms);
void print_msg(const char *what);
/* The next message must be the error reply to (id, cmd) with errno @err. */
int expect_error_reply(int s, uint16_t id, uint16_t cmd, uint32_t err, const char *what);
/* The next message must be the success reply to (id, cmd), @len payload bytes (-1: any). */
int expect_reply(int s, uint16_t id, uint16_t cmd, int64_t len, const char *what);
/* The peer must close without sending anything more. */
int expect_closed(int s, int timeout_ms, const char *what);
/* Nothing may arrive for @ms milliseconds. */
int expect_silence(int s, int ms, const char *what);
/* Send a command and expect the error reply @err. */
int cmd_err(int s, uint16_t cmd, uint32_t flags, const void *p, uint32_t len, const int *fds,
	int nr_fds, uint32_t err, const char *what);
/* Send a command and expect a success reply of @rlen payload bytes (-1: any). */
int cmd_ok(int s, uint16_t cmd, const void *p, uint32_t len, const int *fds, int nr_fds,
	int64_t rlen, const char *what);

#define CHECK(expr) do { \
	if ((expr) != TEST_SUCCESS) { \
		printf("  (line %d) %s\n", __LINE__, #expr); \
		return TEST_FAILED; \
	} \
} while (0)

/* A send that must succeed (0 or -errno). */
#define CHECK_SENT(expr) do { \
	int _r = (expr); \
	if (_r != 0) { \
		printf("  (line %d) send failed: %s\n", __LINE__, strerror(-_r)); \
		return TEST_FAILED; \
	} \
} while (0)

/* VERSION payload: major, minor, then json (NUL included when @nul) when not NULL. */
uint32_t build_version(uint8_t *buf, uint16_t major, uint16_t minor, const char *json,
	bool nul);
/* Send VERSION with @json (NULL: bare 0.0) and check a 0.0 reply. */
int negotiate_with(int s, const char *json, const char *what);
int negotiate(int s);
/* GET_INFO on @s must describe @d. */
int check_get_info(int s, const struct tdev *d, const char *what);
/* A well-behaved client is served by dev_a; dev_b answers on its long-lived session. */
int check_fresh_client(void);
int check_bystander(void);
/* Region access request; returns its length. */
uint32_t build_access(uint8_t *buf, uint32_t region, uint64_t offset, uint32_t count,
	const void *data, uint32_t data_len);
int region_read_ok(int s, uint32_t region, uint64_t offset, uint32_t count, void *out,
	const char *what);

/* A case gets a connected raw socket in *sp; a case that closes it sets *sp to -1. */
typedef int (*hcase_fn)(int *sp);
/* Run one case against dev_a (after VERSION when @negotiated), then the checks above. */
int run_case(const char *name, hcase_fn fn, bool negotiated);
#define HCASE(fn, negotiated) \
static int tc_##fn(void) { return run_case(#fn, case_##fn, negotiated); }

/* Suite set-up and teardown of the hostile cases: dev_a, dev_b and its session. */
int hostile_setup(void);
void hostile_teardown(void);
/*
 * Run a suite of hostile cases (with hostile_setup/teardown or a set-up that
 * calls them) after a warm-up, and check that the whole suite left no
 * descriptor or file mapping behind.
 */
int hostile_suite_run(struct unit_test_suite *suite);

#endif /* _VFIO_USER_PEER_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_FAKE_PEER_H_
#define _VFIO_USER_FAKE_PEER_H_

/*
 * Scripted fake server for the client tests. A case starts a fake server
 * with a script (fake_run_case()): the script, on its own thread, accepts the
 * client, receives its commands and answers them as the case says (correctly,
 * late, never, with wrong sizes, ids or descriptors); the case body drives
 * the library's client and checks what each call returns. SRV_CHECK() records
 * the first thing the client did wrong; fake_finish() turns it into a failure.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_vfio_user.h>

#include "vfio_user_peer.h"

#define REPLY_TIMEOUT_MS 500
/* A call that does not time out must end well before the reply timeout. */
#define FAST_MS 400
/* A timed-out call ends after the timeout, and not much later. */
#define SLOW_MIN_MS 450
#define SLOW_MAX_MS 1500
/* Bound of every wait of the fake server and of the test on the fake server. */
#define SRV_WAIT_MS 3000

#define SRV_MAX_PAYLOAD 16384

/* What the fake device reports to GET_INFO. */
#define FAKE_DEV_FLAGS (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET)
#define FAKE_NUM_REGIONS VFIO_PCI_NUM_REGIONS
#define FAKE_NUM_IRQS VFIO_PCI_NUM_IRQS

/* Version data of the fake server, with the terminating NUL. */
#define CAPS_BASE "\"max_msg_fds\":8,\"max_data_xfer_size\":65536,\"pgsizes\":4096," \
	"\"max_dma_maps\":64"
#define CAPS_PLAIN "{\"capabilities\":{" CAPS_BASE "}}"
#define CAPS_TWIN "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true,\"fd_index\":0}}}"
#define CAPS_TWIN_NO_IDX "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true}}}"
#define CAPS_TWIN_IDX1 "{\"capabilities\":{" CAPS_BASE \
	",\"twin_socket\":{\"supported\":true,\"fd_index\":1}}}"
#define CAPS_GARBAGE "{\"capabilities\": [1, 2, {"
#define CAPS_NO_NUL "{\"capabilities\":{}}"
/* Keys we do not know are ignored; a small max_data_xfer_size splits accesses. */
#define CAPS_UNKNOWN "{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":64," \
	"\"migration\":{\"pgsize\":4096},\"future_key\":[1,2]},\"other\":true}"
#define SPLIT_XFER 64
#define SPLIT_LEN 100

struct srv_msg {
	struct vfio_user_hdr hdr;
	uint32_t len;  /* payload bytes */
	int nfds;      /* descriptors received (closed at once) */
	uint8_t data[SRV_MAX_PAYLOAD];
};

struct fake;
typedef int (fake_script_t)(struct fake *f);

struct fake {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;              /* listening socket */
	int fd;               /* accepted connection, -1 */
	int twin;             /* server end of the twin socket, -1 */
	int opt;              /* per-case option of the script */
	fake_script_t *script;
	pthread_t tid;
	uint16_t next_id;     /* msg_id of the server's own commands */
	char proposal[1024];  /* JSON the client proposed */

	/* Shared with the test thread. */
	int stage;            /* set by the script */
	int go;               /* set by the test */
	bool done;            /* the script thread finished */
	int first_ms_gap;     /* concurrency case: time between the two requests */

	/* Written by the script thread only, read after the join. */
	int line;
	char why[256];
};

typedef int (case_body_t)(struct fake *f, int *cid);


#define SRV_CHECK(f, cond, fmt, ...) do { \
	if (!(cond)) { \
		srv_fail(f, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__); \
		return -1; \
	} \
} while (0)

#define SRV_DO(expr) do { \
	if ((expr) < 0) \
		return -1; \
} while (0)

#define ATTACH(f, cid) do { \
	*(cid) = rte_vfio_user_attach_dev((f)->path); \
	TEST_ASSERT(*(cid) >= 0, "attach to the fake server failed: %d (%s)", *(cid), \
		strerror(-*(cid))); \
} while (0)

#define EXPECT_CALL(call, want, what) do { \
	uint64_t _t0 = now_ms(), _el; \
	long _r = (long)(call); \
	_el = now_ms() - _t0; \
	TEST_ASSERT_EQUAL(_r, (long)(want), "%s: got %ld (%s), want %ld (%s)", what, _r, \
		strerror((int)-_r), (long)(want), strerror((int)-(want))); \
	TEST_ASSERT(_el < FAST_MS, "%s took %" PRIu64 " ms", what, _el); \
} while (0)

/* Limits of the fake-server cases: the defaults with the short reply timeout. */
extern struct rte_vfio_user_limits g_base;

void srv_fail(struct fake *f, int line, const char *fmt, ...);
void fake_set_stage(struct fake *f, int stage);
void fake_go(struct fake *f, int go);
int fake_wait_stage(struct fake *f, int stage);
int fake_wait_done(struct fake *f);
int srv_wait_go(struct fake *f, int go);
int srv_recv(int fd, struct srv_msg *m, int timeout_ms);
int srv_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t error,
	const void *p1, size_t l1, const void *p2, size_t l2, const int *fds, int nfds);
int srv_reply_fds(struct fake *f, int fd, const struct srv_msg *req, const void *p1, size_t l1,
	const void *p2, size_t l2, const int *fds, int nfds);
int srv_reply(struct fake *f, const struct srv_msg *req, const void *p1, size_t l1,
	const void *p2, size_t l2);
int srv_error(struct fake *f, const struct srv_msg *req, uint32_t err);
int srv_recv_cmd(struct fake *f, int fd, struct srv_msg *m, uint16_t cmd, int len);
int srv_expect_eof(struct fake *f, int fd);
int json_u64(const char *json, const char *key, uint64_t *val);
int srv_get_version(struct fake *f, struct srv_msg *m);
int srv_send_version(struct fake *f, const struct srv_msg *req, uint16_t major, uint16_t minor,
	const char *json, size_t json_len, const int *fds, int nfds);
int srv_version_ok(struct fake *f, bool twin);
int srv_answer_info(struct fake *f, const struct srv_msg *m);
int srv_recv_info(struct fake *f, struct srv_msg *m);
int srv_recv_region_read(struct fake *f, struct srv_msg *m, uint32_t region, uint64_t offset,
	uint32_t count);
int srv_region_reply(struct fake *f, const struct srv_msg *m, uint64_t offset, uint32_t region,
	uint32_t count, uint32_t len);
struct fake *fake_start(fake_script_t *script, int opt);
int fake_finish(struct fake *f);
int fake_run_case_ex(fake_script_t *script, int opt, case_body_t *body,
	const struct rte_vfio_user_limits *lim, bool check_leaks);
int fake_run_case(fake_script_t *script, int opt, case_body_t *body);
int check_dev_info(int cid);
int scr_version_good(struct fake *f);
int body_version_bare(struct fake *f, int *cid);
int fake_suite_leaks(void);
int fake_suite_setup(void);
void fake_suite_teardown(void);

#endif /* _VFIO_USER_FAKE_PEER_H_ */

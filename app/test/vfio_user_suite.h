/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_SUITE_H_
#define _VFIO_USER_SUITE_H_

/*
 * Suite plumbing shared by the test files (see vfio_user_suite.c) and the
 * functional fixture: a started test device with one client attached.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_vfio_user.h>

#include "vfio_user_proto.h"

#include "test.h"
#include "test_vfio_user_common.h"

#define MiB (1024ULL * 1024)
#define EV_TIMEOUT_MS 3000
#define LEAK_TIMEOUT_MS 3000

/* Private socket directory of the suite, and the limits found at its start. */
extern char g_dir[64];
extern struct rte_vfio_user_limits g_def_limits;

/* A started test device with one client attached. */
struct fix {
	struct tdev dev;
	int cid;
};

/* A fresh socket path "<g_dir>/<tag><n>.sock". */
void mkpath(char *buf, size_t len, const char *tag);
int fix_open(struct fix *f, const struct tdev_cfg *cfg);
void fix_close(struct fix *f);
/* Open a fixture, run @body on it, close it, check that nothing leaked. */
int run_fix(int (*body)(struct fix *), const struct tdev_cfg *cfg);

/* 8-byte region accesses through the client: 0 or -errno. */
int reg_w64(int cid, uint32_t idx, uint64_t off, uint64_t v);
int reg_r64(int cid, uint32_t idx, uint64_t off, uint64_t *v);
/* VFIO_USER_DEVICE_SET_IRQS with @data_len bytes of data. */
int irq_set(int cid, uint32_t index, uint32_t flags, uint32_t start, uint32_t count,
	const void *data, size_t data_len);
/* @n non-blocking eventfds: 0 or -errno. */
int make_efds(int *efd, int n);
bool is_conn_error(int ret);
/* A socket file with nobody listening behind it. */
int make_stale_socket(const char *path);
/* Threads of the library's control thread name. */
int count_ctrl_threads(void);

/* Memory shared by descriptor: a memfd of @size mapped at *p. */
int memfd_buf(size_t size, int *fd, uint8_t **p);
struct rte_vfio_user_mem_reg win(uint64_t iova, uint64_t size, uint64_t fd_offset,
	uint32_t prot, void *vaddr);
/* Entries of the server's DMA table of device @sid, or -errno. */
int mem_table_entries(int sid);

/*
 * Suite set-up: private socket directory, default limits, and one full cycle
 * so the control thread and its descriptors exist before any leak baseline;
 * then the set-up of the other kinds of cases the suite holds (see
 * vfu_suite_run()).
 */
int vfu_suite_setup(void);
void vfu_suite_teardown(void);

/* Kinds of cases in a suite besides those through the library's client. */
#define VFU_CASES_HOSTILE (1u << 0) /* hostile client: vfio_user_peer.h */
#define VFU_CASES_FAKE (1u << 1)    /* scripted fake server: vfio_user_fake_peer.h */

/*
 * Run @suite with the fixtures @kinds need (its set-up and teardown are then
 * vfu_suite_setup/teardown; with @kinds 0 they may be others). A suite with
 * hostile cases also gets the whole-suite leak check of hostile_suite_run().
 */
int vfu_suite_run(struct unit_test_suite *suite, unsigned int kinds);

/* Register command @cmd running @suite with vfu_suite_run(). */
#define REGISTER_VFU_SUITE(cmd, suite, kinds) \
static int \
test_##cmd(void) \
{ \
	return vfu_suite_run(&(suite), kinds); \
} \
REGISTER_TEST_COMMAND(cmd, test_##cmd)

/*
 * Raw sessions with test devices (hardening, fault and soak tests): a suite
 * set-up without warm-up whose teardown removes the whole socket directory,
 * and commands sent by hand through the raw peer.
 */
#define RX_MS 2000
#define PATH_LEN 100 /* fits sockaddr_un.sun_path */
#define LEAK_MS 2000
/* Every limit a test may lower below the specification's default is proposed. */
#define CAPS "{\"capabilities\":{\"max_msg_fds\":8,\"pgsizes\":4096,\"max_dma_maps\":65535," \
	"\"max_data_xfer_size\":1048576}}"

/* A received message, its payload cut to 4 KiB. */
struct rmsg {
	struct vfio_user_hdr hdr;
	uint8_t data[4096];
	uint32_t len;
	int fds[8];
	int nr_fds;
};

/* A test device on a new socket path named after @tag, written to @path. */
struct tdev *dev_new(char path[PATH_LEN], const char *tag, bool start);
void dev_free(struct tdev *d);
void rmsg_close_fds(struct rmsg *m);
int rmsg_recv(int s, struct rmsg *m, int timeout_ms);
/*
 * Send a command and wait for its reply (other messages are skipped).
 * Returns 0 on success, the positive errno of an error reply, or -errno.
 */
int raw_call(int s, uint16_t id, uint16_t cmd, const void *pl, uint32_t len, const int *fds,
	int nr_fds, struct rmsg *r);
int raw_negotiate(int s, struct rmsg *r);
/* The peer closes within @timeout_ms: 0 or -ETIMEDOUT. */
int closed_within(int s, int timeout_ms);
int raw_dma_map(int s, uint16_t id, uint64_t iova, uint64_t size, uint64_t off, int fd,
	struct rmsg *r);
int raw_get_info(int s, uint16_t id, struct rmsg *r);
int memfd_of(size_t size, unsigned int flags);
int raw_session(const char *path, struct rmsg *r);
/* The same proposing the capabilities @json. */
int raw_session_caps(const char *path, const char *json, struct rmsg *r);
/*
 * Connect to @path and send VERSION with @json (NULL: none); its reply,
 * whatever it is, is left in @r with its descriptors. The socket, or -1.
 */
int raw_version(const char *path, const char *json, struct rmsg *r);
/* The peer closes at once: the next receive sees the end of the stream. */
int closed_now(int s);
/* A fresh well-behaved client is served: the device survived. */
int tdev_served(struct tdev *d);
/* Wait for the server to have closed @n sessions of @d. */
int tdev_wait_destroyed(struct tdev *d, unsigned int n);
int set_limits(const struct rte_vfio_user_limits *lim);
int raw_suite_setup(void);
void raw_suite_teardown(void);

#endif /* _VFIO_USER_SUITE_H_ */

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
 * so the control thread and its descriptors exist before any leak baseline.
 */
int vfu_suite_setup(void);
void vfu_suite_teardown(void);

#endif /* _VFIO_USER_SUITE_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _BENCH_H_
#define _BENCH_H_

/* What the modes of dpdk-vfio-user-bench (main.c, bench_scale.c) share. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

/* Arguments of a child process (server or client of one mode). */
struct child_args {
	const char *role;
	const char *socket;
	int cpu;
	double duration;
	int shm_fd, floor_fd, ack_fd, irq_floor_fd, ready_fd;
};

/* What a client operation works on. */
struct cli_ctx {
	int dev;
	int floor_fd;
	int memfd;
	void *buf;
	struct rte_vfio_user_mem_reg mem;
};

typedef int (*op_fn)(struct cli_ctx *c);

uint64_t now_ns(void);

/* Server side. */
struct rte_vfio_user_pci *srv_describe(const char *path, int dev_id);
/* Floor server thread on the socket (intptr_t)arg. */
void *floor_echo(void *arg);

/* Client side: one operation each; 0 or a negative errno. */
int op_region_read(struct cli_ctx *c);
int op_floor_region_read(struct cli_ctx *c);
int op_map_fd(struct cli_ctx *c);
int op_floor_map_fd(struct cli_ctx *c);
/* Operations per second of the nr (<= 3) functions f, in interleaved slices. */
int measure(struct cli_ctx *c, const op_fn *f, unsigned int nr, double duration, double *ops);

/* Orchestrator: start this program as a child with role; fds[] are inherited. */
pid_t spawn(const char *role, int cpu, const char *socket, double duration, const int fds[5]);
/* Wait for a child until deadline_ns, kill it past that: its exit status or -1. */
int reap(pid_t pid, uint64_t deadline_ns, const char *what);

/* Scale mode (bench_scale.c). */
int run_scale(int cpu, double duration);
int scale_server(const struct child_args *a);
int scale_client(const struct child_args *a);

#endif /* _BENCH_H_ */

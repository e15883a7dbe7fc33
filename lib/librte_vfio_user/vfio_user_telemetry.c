/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Telemetry endpoints, in the style of /ethdev and /dmadev:
 *   /vfio_user/server/list             ids of the registered servers
 *   /vfio_user/server/info,<id>        socket, state, client, negotiated version and capabilities
 *   /vfio_user/server/dma,<id>         DMA table of the session
 *   /vfio_user/server/irqs,<id>        interrupt state, one array entry per IRQ index
 *   /vfio_user/server/stats,<id>       counters
 *   /vfio_user/client/list             ids of the attached devices
 *   /vfio_user/client/info,<id>, /vfio_user/client/dma,<id>, /vfio_user/client/stats,<id>
 *
 * Session state belongs to the control thread, so the server's info, DMA
 * table and interrupts are read there, under srv_api_lock which keeps the
 * server from being freed or reconfigured. Counters are relaxed atomics
 * (vfio_user_telemetry.h) and are read from the telemetry thread.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "vfio_user_client.h"
#include "vfio_user_ctrl.h"
#include "vfio_user_server.h"
#include "vfio_user_telemetry.h"

static const char * const tel_cmd_names[VFIO_USER_MAX_COMMAND] = {
	[VFIO_USER_VERSION] = "version",
	[VFIO_USER_DMA_MAP] = "dma_map",
	[VFIO_USER_DMA_UNMAP] = "dma_unmap",
	[VFIO_USER_DEVICE_GET_INFO] = "device_get_info",
	[VFIO_USER_DEVICE_GET_REGION_INFO] = "device_get_region_info",
	[VFIO_USER_DEVICE_GET_REGION_IO_FDS] = "device_get_region_io_fds",
	[VFIO_USER_DEVICE_GET_IRQ_INFO] = "device_get_irq_info",
	[VFIO_USER_DEVICE_SET_IRQS] = "device_set_irqs",
	[VFIO_USER_REGION_READ] = "region_read",
	[VFIO_USER_REGION_WRITE] = "region_write",
	[VFIO_USER_DMA_READ] = "dma_read",
	[VFIO_USER_DMA_WRITE] = "dma_write",
	[VFIO_USER_DEVICE_RESET] = "device_reset",
	[VFIO_USER_REGION_WRITE_MULTI] = "region_write_multi",
	[VFIO_USER_DEVICE_FEATURE] = "device_feature",
	[VFIO_USER_MIG_DATA_READ] = "mig_data_read",
	[VFIO_USER_MIG_DATA_WRITE] = "mig_data_write",
};

void
vfio_user_tel_srv_cmd(struct vfio_user_tel_stats *st, const struct vfio_user_msg *msg,
		bool failed)
{
	struct vfio_user_region_access acc;
	uint16_t cmd = msg->hdr.cmd;

	if (vfio_user_msg_type(msg) != VFIO_USER_F_TYPE_COMMAND)
		return;
	vfio_user_tel_cmd(st, cmd, failed);
	if (failed || (cmd != VFIO_USER_REGION_READ && cmd != VFIO_USER_REGION_WRITE) ||
			msg->len < sizeof(acc))
		return;
	memcpy(&acc, msg->data, sizeof(acc));
	vfio_user_tel_region(st, acc.region, acc.count, cmd == VFIO_USER_REGION_WRITE);
}

/*
 * Output helpers
 */

/* The device id of "<id>": the id, or -EINVAL. */
static int
tel_parse_id(const char *params)
{
	unsigned long id;
	char *end;

	if (params == NULL || params[0] < '0' || params[0] > '9')
		return -EINVAL;
	errno = 0;
	id = strtoul(params, &end, 10);
	if (errno != 0 || *end != '\0' || id > INT32_MAX)
		return -EINVAL;
	return (int)id;
}

static void
tel_add_version(struct rte_tel_data *d, uint16_t minor)
{
	char ver[16];

	snprintf(ver, sizeof(ver), "%u.%u", RTE_VFIO_USER_VERSION_MAJOR, minor);
	rte_tel_data_add_dict_string(d, "version", ver);
}

static void
tel_add_caps(struct rte_tel_data *d, uint32_t max_msg_fds, uint32_t max_data_xfer_size,
		uint32_t max_dma_maps, bool write_multiple, bool twin)
{
	rte_tel_data_add_dict_u64(d, "max_msg_fds", max_msg_fds);
	rte_tel_data_add_dict_u64(d, "max_data_xfer_size", max_data_xfer_size);
	rte_tel_data_add_dict_u64(d, "max_dma_maps", max_dma_maps);
	rte_tel_data_add_dict_int(d, "write_multiple", write_multiple);
	rte_tel_data_add_dict_int(d, "twin_socket", twin);
}

/* The windows of a DMA table: all of them, and those mapped from a descriptor. */
static void
tel_add_dma(struct rte_tel_data *d, const struct vfio_user_dma_table *tbl)
{
	const struct rte_vfio_user_mem_reg *r;
	uint64_t bytes = 0, fd_count = 0, fd_bytes = 0;
	uint32_t i;

	for (i = 0; i < tbl->pub.entry_num; i++) {
		r = &tbl->pub.regions[i];
		bytes += r->size;
		if (r->fd >= 0) {
			fd_count++;
			fd_bytes += r->size;
		}
	}
	rte_tel_data_add_dict_u64(d, "count", tbl->pub.entry_num);
	rte_tel_data_add_dict_u64(d, "bytes", bytes);
	rte_tel_data_add_dict_u64(d, "fd_mapped", fd_count);
	rte_tel_data_add_dict_u64(d, "fd_mapped_bytes", fd_bytes);
	rte_tel_data_add_dict_u64(d, "message_only", tbl->pub.entry_num - fd_count);
	rte_tel_data_add_dict_u64(d, "message_only_bytes", bytes - fd_bytes);
}

/* Per-command counters as a dict by command name. */
static void
tel_add_cmd_dict(struct rte_tel_data *d, const char *name, const uint64_t *counters)
{
	struct rte_tel_data *c = rte_tel_data_alloc();
	uint32_t i;

	if (c == NULL)
		return;
	rte_tel_data_start_dict(c);
	for (i = 0; i < VFIO_USER_MAX_COMMAND; i++)
		if (tel_cmd_names[i] != NULL)
			rte_tel_data_add_dict_u64(c, tel_cmd_names[i],
					vfio_user_tel_get(&counters[i]));
	if (rte_tel_data_add_dict_container(d, name, c, 0) != 0)
		rte_tel_data_free(c);
}

static void
tel_add_u64_array(struct rte_tel_data *d, const char *name, const uint64_t *counters,
		uint32_t n)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	uint32_t i;

	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (i = 0; i < n; i++)
		rte_tel_data_add_array_u64(a, vfio_user_tel_get(&counters[i]));
	if (rte_tel_data_add_dict_container(d, name, a, 0) != 0)
		rte_tel_data_free(a);
}

/* nr_regions: how many entries of the region arrays to show. */
static void
tel_add_stats(struct rte_tel_data *d, const struct vfio_user_tel_stats *st, uint32_t nr_regions)
{
	nr_regions = RTE_MIN(nr_regions, (uint32_t)VFIO_USER_TEL_REGIONS);
	tel_add_cmd_dict(d, "msgs", st->msgs);
	tel_add_cmd_dict(d, "errors", st->errors);
	tel_add_u64_array(d, "region_read_bytes", st->region_read, nr_regions);
	tel_add_u64_array(d, "region_write_bytes", st->region_write, nr_regions);
	rte_tel_data_add_dict_u64(d, "dma_read_msgs", vfio_user_tel_get(&st->dma_msgs[0]));
	rte_tel_data_add_dict_u64(d, "dma_write_msgs", vfio_user_tel_get(&st->dma_msgs[1]));
	rte_tel_data_add_dict_u64(d, "dma_read_errors", vfio_user_tel_get(&st->dma_errors[0]));
	rte_tel_data_add_dict_u64(d, "dma_write_errors", vfio_user_tel_get(&st->dma_errors[1]));
}

/*
 * Server endpoints
 */

struct tel_srv_job {
	int dev_id;
	void (*fill)(struct vfio_user_server *srv, void *d);
	struct rte_tel_data *d;
	int ret;
};

static void
tel_srv_job_run(void *arg)
{
	struct tel_srv_job *job = arg;

	job->ret = srv_inspect(job->dev_id, job->fill, job->d);
}

/* Fill d from the server of params' id, on the control thread. */
static int
tel_srv_query(const char *params, struct rte_tel_data *d,
		void (*fill)(struct vfio_user_server *srv, void *d))
{
	struct tel_srv_job job = { .fill = fill, .d = d };

	job.dev_id = tel_parse_id(params);
	if (job.dev_id < 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	vfio_user_ctrl_run(tel_srv_job_run, &job);
	return job.ret < 0 ? -EINVAL : 0;
}

static void
tel_srv_list_one(struct vfio_user_server *srv, void *d)
{
	rte_tel_data_add_array_int(d, srv->dev_id);
}

static int
tel_srv_list(const char *cmd __rte_unused, const char *params __rte_unused,
		struct rte_tel_data *d)
{
	int id;

	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (id = 0; srv_inspect(id, tel_srv_list_one, d) != -ERANGE; id++)
		;
	return 0;
}

static const char *
tel_srv_state(const struct vfio_user_server *srv)
{
	if (!srv->started)
		return "stopped";
	if (srv->sess == NULL)
		return "listening";
	return srv->sess->negotiated ? "ready" : "connected";
}

static void
tel_srv_info_fill(struct vfio_user_server *srv, void *arg)
{
	const struct srv_session *s = srv->sess;
	struct rte_tel_data *d = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	rte_tel_data_add_dict_string(d, "path", srv->path);
	rte_tel_data_add_dict_string(d, "state", tel_srv_state(srv));
	rte_tel_data_add_dict_u64(d, "regions", srv->nr_regs);
	rte_tel_data_add_dict_u64(d, "irqs", srv->nr_irqs);
	rte_tel_data_add_dict_string(d, "migration",
		srv->migratable ? srv_mig_state_name(srv->mig_state) : "unsupported");
	if (s == NULL)
		return;
	/* Both created and freed on the control thread, where this runs. */
	rte_tel_data_add_dict_u64(d, "dma_logging_pgsize", s->dirty != NULL ? s->dirty->pgsize : 0);
	rte_tel_data_add_dict_u64(d, "dma_logging_ranges", s->dirty != NULL ? s->dirty->nr : 0);
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
			len == sizeof(cred)) {
		rte_tel_data_add_dict_int(d, "client_pid", cred.pid);
		rte_tel_data_add_dict_u64(d, "client_uid", cred.uid);
		rte_tel_data_add_dict_u64(d, "client_gid", cred.gid);
	}
	if (!s->negotiated)
		return;
	tel_add_version(d, s->minor);
	tel_add_caps(d, s->peer_max_fds, s->peer_xfer, s->dma.max, s->write_multiple, s->twin_ok);
}

static int
tel_srv_info(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_srv_query(params, d, tel_srv_info_fill);
}

static void
tel_srv_dma_fill(struct vfio_user_server *srv, void *d)
{
	struct vfio_user_dma_table empty = { .pub.entry_num = 0 };

	tel_add_dma(d, srv->sess != NULL ? &srv->sess->dma : &empty);
}

static int
tel_srv_dma(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_srv_query(params, d, tel_srv_dma_fill);
}

static void
tel_srv_irqs_fill(struct vfio_user_server *srv, void *arg)
{
	struct rte_tel_data *d = arg;
	struct rte_tel_data *a[4];
	static const char * const names[RTE_DIM(a)] = { "count", "enabled", "masked", "pending" };
	uint64_t n[RTE_DIM(a)];
	const struct srv_irq_vec *v;
	uint32_t i, j, k;

	for (k = 0; k < RTE_DIM(a); k++) {
		a[k] = rte_tel_data_alloc();
		if (a[k] == NULL) {
			while (k-- > 0)
				rte_tel_data_free(a[k]);
			return;
		}
		rte_tel_data_start_array(a[k], RTE_TEL_U64_VAL);
	}
	pthread_mutex_lock(&srv->irq_lock);
	for (i = 0; i < srv->nr_irqs; i++) {
		memset(n, 0, sizeof(n));
		n[0] = srv->irqs[i].info.count;
		for (j = 0; j < srv->irqs[i].info.count; j++) {
			v = &srv->irqs[i].vec[j];
			n[1] += v->trigger >= 0;
			n[2] += v->masked;
			n[3] += v->pending;
		}
		for (k = 0; k < RTE_DIM(a); k++)
			rte_tel_data_add_array_u64(a[k], n[k]);
	}
	pthread_mutex_unlock(&srv->irq_lock);
	for (k = 0; k < RTE_DIM(a); k++)
		if (rte_tel_data_add_dict_container(d, names[k], a[k], 0) != 0)
			rte_tel_data_free(a[k]);
}

static int
tel_srv_irqs(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_srv_query(params, d, tel_srv_irqs_fill);
}

static void
tel_srv_stats_fill(struct vfio_user_server *srv, void *d)
{
	tel_add_stats(d, &srv->stats, srv->nr_regs);
}

static int
tel_srv_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	int id = tel_parse_id(params);

	if (id < 0)
		return -EINVAL;
	/* Counters need no control thread: the registry lock is enough. */
	rte_tel_data_start_dict(d);
	return srv_inspect(id, tel_srv_stats_fill, d) < 0 ? -EINVAL : 0;
}

/*
 * Client endpoints
 */

static int
tel_cli_list(const char *cmd __rte_unused, const char *params __rte_unused,
		struct rte_tel_data *d)
{
	struct vfio_user_client *cli;
	uint32_t id, n = vfio_user_cli_nr_slots();

	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (id = 0; id < n; id++) {
		if (vfio_user_cli_get((int)id, &cli) < 0)
			continue;
		rte_tel_data_add_array_int(d, (int)id);
		vfio_user_cli_put(cli);
	}
	return 0;
}

struct tel_cli_job {
	struct vfio_user_client *cli;
	struct rte_tel_data *d;
};

/* On the control thread, which owns the twin socket without reconnection. */
static void
tel_cli_info_fill(void *arg)
{
	struct tel_cli_job *job = arg;
	const struct vfio_user_client *cli = job->cli;
	struct rte_tel_data *d = job->d;

	rte_tel_data_add_dict_string(d, "path", cli->path);
	/* Reconnecting: the server is away and the library retries its path. */
	rte_tel_data_add_dict_string(d, "state",
		!__atomic_load_n(&cli->gone, __ATOMIC_ACQUIRE) ? "ready" :
		__atomic_load_n(&cli->reconnecting, __ATOMIC_ACQUIRE) ? "reconnecting" :
		"disconnected");
	rte_tel_data_add_dict_u64(d, "reconnect_ms", cli->reconnect_ms);
	rte_tel_data_add_dict_u64(d, "reconnects",
		__atomic_load_n(&cli->reconnects, __ATOMIC_RELAXED));
	if (cli->reconnect_ms != 0) {
		/* A reconnection replaces the connection on another thread; these stay. */
		tel_add_version(d, cli->nego.minor);
		tel_add_caps(d, cli->nego.peer_max_fds, cli->nego.xfer_size, cli->nego.dma_max,
				cli->nego.write_multiple, cli->nego.twin);
		rte_tel_data_add_dict_u64(d, "pgsizes", cli->nego.pgsizes);
		return;
	}
	tel_add_version(d, cli->minor);
	tel_add_caps(d, cli->peer_max_fds, cli->xfer_size, cli->dma.max, cli->write_multiple,
			cli->twin_fd >= 0);
	rte_tel_data_add_dict_u64(d, "pgsizes", cli->pgsizes);
}

static void
tel_cli_dma_fill(void *arg)
{
	struct tel_cli_job *job = arg;
	struct vfio_user_client *cli = job->cli;
	const struct rte_vfio_user_mem_table *t = &cli->dma.pub;
	uint64_t bytes = 0;
	uint32_t i;

	pthread_rwlock_rdlock(&cli->dma_lock);
	for (i = 0; i < t->entry_num; i++)
		bytes += t->regions[i].size;
	rte_tel_data_add_dict_u64(job->d, "count", t->entry_num);
	pthread_rwlock_unlock(&cli->dma_lock);
	rte_tel_data_add_dict_u64(job->d, "bytes", bytes);
}

static void
tel_cli_stats_fill(void *arg)
{
	struct tel_cli_job *job = arg;

	tel_add_stats(job->d, &job->cli->stats, VFIO_USER_TEL_REGIONS);
}

/* Fill d from the ready client of params' id, with fill on the control thread or not. */
static int
tel_cli_query(const char *params, struct rte_tel_data *d, void (*fill)(void *arg), bool on_ctrl)
{
	struct tel_cli_job job = { .d = d };
	int id = tel_parse_id(params);

	if (id < 0 || vfio_user_cli_get(id, &job.cli) < 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	if (on_ctrl)
		vfio_user_ctrl_run(fill, &job);
	else
		fill(&job);
	vfio_user_cli_put(job.cli);
	return 0;
}

static int
tel_cli_info(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_cli_query(params, d, tel_cli_info_fill, true);
}

static int
tel_cli_dma(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_cli_query(params, d, tel_cli_dma_fill, false);
}

static int
tel_cli_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	return tel_cli_query(params, d, tel_cli_stats_fill, false);
}

void
vfio_user_tel_register(void)
{
	rte_telemetry_register_cmd("/vfio_user/server/list", tel_srv_list,
		"Returns list of vfio-user server device ids. Takes no parameters");
	rte_telemetry_register_cmd("/vfio_user/server/info", tel_srv_info,
		"Returns socket, state, peer and capabilities of a server. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/server/dma", tel_srv_dma,
		"Returns DMA table summary of a server's session. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/server/irqs", tel_srv_irqs,
		"Returns interrupt state per IRQ index of a server. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/server/stats", tel_srv_stats,
		"Returns message, error and byte counters of a server. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/client/list", tel_cli_list,
		"Returns list of attached vfio-user client device ids. Takes no parameters");
	rte_telemetry_register_cmd("/vfio_user/client/info", tel_cli_info,
		"Returns socket, state and capabilities of a client. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/client/dma", tel_cli_dma,
		"Returns DMA table summary of a client. Parameters: int dev_id");
	rte_telemetry_register_cmd("/vfio_user/client/stats", tel_cli_stats,
		"Returns message, error and byte counters of a client. Parameters: int dev_id");
}

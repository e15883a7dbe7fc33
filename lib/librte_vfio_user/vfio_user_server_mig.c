/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Server migration (control thread): VFIO_USER_DEVICE_FEATURE, the migration
 * state machine of <linux/vfio.h> as the specification restricts it,
 * MIG_DATA_READ/WRITE, and the DMA log the data path marks.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "vfio_user_server.h"

/* Largest logging granularity a client can get. */
#define SRV_MIG_PGSIZE_MAX (UINT64_C(1) << 30)

#define FEATURE_OPS (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)

const char *
srv_mig_state_name(enum rte_vfio_user_mig_state st)
{
	switch (st) {
	case RTE_VFIO_USER_MIG_ERROR: return "ERROR";
	case RTE_VFIO_USER_MIG_STOP: return "STOP";
	case RTE_VFIO_USER_MIG_RUNNING: return "RUNNING";
	case RTE_VFIO_USER_MIG_STOP_COPY: return "STOP_COPY";
	case RTE_VFIO_USER_MIG_RESUMING: return "RESUMING";
	case RTE_VFIO_USER_MIG_PRE_COPY: return "PRE_COPY";
	}
	return "?";
}

/*
 * The next direct arc from cur towards target (cur != target, both valid),
 * as the kernel's vfio_mig_get_next_state() resolves it: the shortest path
 * whose inner states are not saving states (PRE_COPY, STOP_COPY).
 */
static enum rte_vfio_user_mig_state
mig_next(enum rte_vfio_user_mig_state cur, enum rte_vfio_user_mig_state target)
{
	switch (cur) {
	case RTE_VFIO_USER_MIG_STOP:
		if (target == RTE_VFIO_USER_MIG_STOP_COPY || target == RTE_VFIO_USER_MIG_RESUMING)
			return target;
		return RTE_VFIO_USER_MIG_RUNNING;
	case RTE_VFIO_USER_MIG_RUNNING:
		if (target == RTE_VFIO_USER_MIG_PRE_COPY)
			return target;
		return RTE_VFIO_USER_MIG_STOP;
	case RTE_VFIO_USER_MIG_PRE_COPY:
		if (target == RTE_VFIO_USER_MIG_STOP_COPY)
			return target;
		return RTE_VFIO_USER_MIG_RUNNING;
	default: /* STOP_COPY and RESUMING only lead to STOP. */
		return RTE_VFIO_USER_MIG_STOP;
	}
}

/* Is target a state the client may ask for, given the device's flags? */
static bool
mig_state_valid(const struct vfio_user_server *srv, uint32_t target)
{
	switch (target) {
	case RTE_VFIO_USER_MIG_STOP:
	case RTE_VFIO_USER_MIG_RUNNING:
	case RTE_VFIO_USER_MIG_STOP_COPY:
	case RTE_VFIO_USER_MIG_RESUMING:
		return true;
	case RTE_VFIO_USER_MIG_PRE_COPY:
		return srv->mig_ops.flags & RTE_VFIO_USER_MIG_F_PRE_COPY;
	default: /* ERROR, the P2P states, unknown values */
		return false;
	}
}

/* Walk the arcs to target; a failed arc leaves the device in ERROR. */
static int
mig_walk(struct vfio_user_server *srv, enum rte_vfio_user_mig_state target)
{
	enum rte_vfio_user_mig_state next;
	int ret;

	while (srv->mig_state != target) {
		next = mig_next(srv->mig_state, target);
		ret = srv->mig_ops.transition(srv->dev_id, srv->mig_state, next);
		if (ret < 0) {
			VFIO_USER_SRV_LOG(INFO, srv->path, "migration arc %s -> %s failed (%d)",
				srv_mig_state_name(srv->mig_state), srv_mig_state_name(next), ret);
			srv->mig_state = RTE_VFIO_USER_MIG_ERROR;
			return srv_cb_err(ret);
		}
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "migration arc %s -> %s",
				srv_mig_state_name(srv->mig_state), srv_mig_state_name(next));
		srv->mig_state = next;
	}
	return 0;
}

static int
mig_set_state(struct vfio_user_server *srv, uint32_t target)
{
	if (!mig_state_valid(srv, target) || srv->mig_state == RTE_VFIO_USER_MIG_ERROR)
		return -EINVAL;
	/* "The STOP_COPY -> PRE_COPY transition is explicitly not allowed." */
	if (srv->mig_state == RTE_VFIO_USER_MIG_STOP_COPY && target == RTE_VFIO_USER_MIG_PRE_COPY)
		return -EINVAL;
	return mig_walk(srv, target);
}

void
srv_mig_client_gone(struct vfio_user_server *srv)
{
	if (!srv->migratable || srv->mig_state == RTE_VFIO_USER_MIG_RUNNING)
		return;
	VFIO_USER_SRV_LOG(INFO, srv->path, "client gone in migration state %s",
			srv_mig_state_name(srv->mig_state));
	if (srv->mig_state == RTE_VFIO_USER_MIG_ERROR ||
			mig_walk(srv, RTE_VFIO_USER_MIG_RUNNING) < 0) {
		if (srv->ops.reset_device != NULL)
			srv->ops.reset_device(srv->dev_id);
		srv->mig_state = RTE_VFIO_USER_MIG_RUNNING;
	}
}

/* Sessions of this process with DMA logging on: rte_vfio_user_dma_mark_dirty()'s fast path. */
uint32_t srv_mig_logging;

void
srv_mig_free_log(struct srv_session *s)
{
	if (s->dirty == NULL)
		return;
	vfio_user_dirty_free(s->dirty);
	s->dirty = NULL;
	__atomic_fetch_sub(&srv_mig_logging, 1, __ATOMIC_RELEASE);
}

/*
 * Features. Each handler gets the request's data (dlen bytes) and builds the
 * whole reply payload, header included.
 */

struct mig_req {
	struct vfio_user_feature hdr;
	const uint8_t *data;
	uint32_t dlen;
};

/* A reply of the request's header and len data bytes; argsz tells its size. */
static void *
mig_reply(const struct mig_req *req, const void *data, uint32_t len, uint32_t *out_len)
{
	struct vfio_user_feature *hdr;

	hdr = malloc(sizeof(*hdr) + len);
	if (hdr == NULL)
		return NULL;
	*hdr = req->hdr;
	hdr->argsz = sizeof(*hdr) + len;
	if (len != 0)
		memcpy(hdr + 1, data, len);
	*out_len = sizeof(*hdr) + len;
	return hdr;
}

static int
feat_migration(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	uint64_t flags = s->srv->mig_ops.flags;

	*reply = mig_reply(req, &flags, sizeof(flags), len);
	return *reply == NULL ? -ENOMEM : 0;
}

static int
feat_state(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	struct vfio_user_mig_state st;
	int ret;

	if (req->hdr.flags & VFIO_DEVICE_FEATURE_GET) {
		st.device_state = s->srv->mig_state;
		st.data_fd = -1;
		*reply = mig_reply(req, &st, sizeof(st), len);
		return *reply == NULL ? -ENOMEM : 0;
	}
	memcpy(&st, req->data, sizeof(st));
	ret = mig_set_state(s->srv, st.device_state);
	if (ret < 0)
		return ret;
	/* The reply to a SET is the request. */
	*reply = mig_reply(req, req->data, req->dlen, len);
	if (*reply != NULL)
		((struct vfio_user_feature *)*reply)->argsz = req->hdr.argsz;
	return *reply == NULL ? -ENOMEM : 0;
}

static int
feat_data_size(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;
	uint64_t size = 0;
	int ret;

	ret = srv->mig_ops.data_size(srv->dev_id, &size);
	if (ret < 0)
		return srv_cb_err(ret);
	*reply = mig_reply(req, &size, sizeof(size), len);
	return *reply == NULL ? -ENOMEM : 0;
}

/* The logging granularity chosen for a client's hint. */
static uint64_t
mig_log_pgsize(uint64_t hint)
{
	if (hint <= SRV_MIG_PGSIZE)
		return SRV_MIG_PGSIZE;
	if (hint >= SRV_MIG_PGSIZE_MAX)
		return SRV_MIG_PGSIZE_MAX;
	return rte_align64pow2(hint);
}

static int
feat_log_start(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;
	struct rte_vfio_user_dirty_range *ranges = NULL;
	struct vfio_user_logging_control ctl;
	struct vfio_user_logging_range rg;
	struct vfio_user_dirty *log = NULL;
	uint32_t i, nr;
	int ret;

	memcpy(&ctl, req->data, sizeof(ctl));
	if (ctl.num_ranges > s->dma.max)
		return -E2BIG;
	if (req->dlen != sizeof(ctl) + (uint64_t)ctl.num_ranges * sizeof(rg))
		return -EINVAL;
	if (s->dirty != NULL)
		return -EBUSY;

	pthread_rwlock_rdlock(&srv->dp_lock);
	/* "A value of zero indicates that all writes should be logged": every window. */
	nr = ctl.num_ranges != 0 ? ctl.num_ranges : s->dma.pub.entry_num;
	ranges = calloc(RTE_MAX(nr, 1u), sizeof(*ranges));
	if (ranges == NULL) {
		pthread_rwlock_unlock(&srv->dp_lock);
		return -ENOMEM;
	}
	ret = 0;
	for (i = 0; i < nr; i++) {
		if (ctl.num_ranges == 0) {
			ranges[i].iova = s->dma.pub.regions[i].iova;
			ranges[i].length = s->dma.pub.regions[i].size;
			continue;
		}
		memcpy(&rg, req->data + sizeof(ctl) + i * sizeof(rg), sizeof(rg));
		ranges[i].iova = rg.iova;
		ranges[i].length = rg.length;
		/* Only client memory the device may reach can be logged. */
		if (rg.length == 0 || rg.length - 1 > UINT64_MAX - rg.iova ||
				!srv_dma_covered(&s->dma, rg.iova, rg.length, 0))
			ret = -EINVAL;
	}
	pthread_rwlock_unlock(&srv->dp_lock);
	ctl.page_size = mig_log_pgsize(ctl.page_size);
	if (ret == 0)
		ret = vfio_user_dirty_create(ranges, nr, ctl.page_size, s->lim.max_dma_mapped_bytes,
				&log);
	free(ranges);
	if (ret < 0)
		return ret;

	/* The reply is the request, with the granularity chosen. */
	*reply = mig_reply(req, req->data, req->dlen, len);
	if (*reply == NULL) {
		vfio_user_dirty_free(log);
		return -ENOMEM;
	}
	((struct vfio_user_feature *)*reply)->argsz = req->hdr.argsz;
	memcpy((uint8_t *)*reply + sizeof(req->hdr), &ctl, sizeof(ctl));
	/* Counted before the reply: every write after the client's start is marked. */
	pthread_rwlock_wrlock(&srv->dp_lock);
	s->dirty = log;
	__atomic_fetch_add(&srv_mig_logging, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&srv->dp_lock);
	VFIO_USER_SRV_LOG(DEBUG, srv->path, "DMA logging started: %u ranges, page 0x%" PRIx64,
			nr, ctl.page_size);
	return 0;
}

static int
feat_log_stop(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;

	pthread_rwlock_wrlock(&srv->dp_lock);
	srv_mig_free_log(s);
	pthread_rwlock_unlock(&srv->dp_lock);
	*reply = mig_reply(req, req->data, req->dlen, len);
	if (*reply == NULL)
		return -ENOMEM;
	((struct vfio_user_feature *)*reply)->argsz = req->hdr.argsz;
	return 0;
}

static int
feat_log_report(struct srv_session *s, const struct mig_req *req, void **reply, uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_logging_report rep;
	struct vfio_user_feature *hdr;
	uint64_t pages, bytes;
	uint8_t *out;
	int ret;

	memcpy(&rep, req->data, sizeof(rep));
	if (rep.length == 0 || rep.length - 1 > UINT64_MAX - rep.iova ||
			!rte_is_power_of_2(rep.page_size))
		return -EINVAL;
	if (s->dirty == NULL)
		return -EINVAL;
	pages = (rep.length - 1) / rep.page_size + 1;
	if (pages > (uint64_t)s->mig_max_bitmap * 8)
		return -E2BIG;
	bytes = (pages + 63) / 64 * sizeof(uint64_t);
	/* Too small for the bitmap: the header tells the size needed (general argsz rule). */
	if (req->hdr.argsz < sizeof(*hdr) + sizeof(rep) + bytes) {
		*reply = mig_reply(req, NULL, 0, len);
		if (*reply == NULL)
			return -ENOMEM;
		((struct vfio_user_feature *)*reply)->argsz = sizeof(*hdr) + sizeof(rep) + bytes;
		return 0;
	}

	out = calloc(1, sizeof(*hdr) + sizeof(rep) + bytes);
	if (out == NULL)
		return -ENOMEM;
	pthread_rwlock_rdlock(&srv->dp_lock);
	ret = vfio_user_dirty_report(s->dirty, rep.iova, rep.length, rep.page_size,
			(uint64_t *)(void *)(out + sizeof(*hdr) + sizeof(rep)));
	pthread_rwlock_unlock(&srv->dp_lock);
	if (ret < 0) {
		free(out);
		return ret;
	}
	hdr = (struct vfio_user_feature *)out;
	*hdr = req->hdr;
	hdr->argsz = sizeof(*hdr) + sizeof(rep) + bytes;
	memcpy(out + sizeof(*hdr), &rep, sizeof(rep));
	*reply = out;
	*len = hdr->argsz;
	return 0;
}

typedef int (*feat_fn_t)(struct srv_session *s, const struct mig_req *req, void **reply,
		uint32_t *len);

/*
 * The features: the methods they support, the request data a SET needs (and
 * a GET, for the report), the reply data a GET gives (0: its handler checks).
 */
static const struct mig_feature {
	uint32_t ops;
	uint32_t set_len;
	uint32_t get_in_len;
	uint32_t get_len;
	feat_fn_t fn;
} mig_features[] = {
	[VFIO_DEVICE_FEATURE_MIGRATION] = { VFIO_DEVICE_FEATURE_GET, 0, 0, sizeof(uint64_t),
		feat_migration },
	[VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE] = { FEATURE_OPS, sizeof(struct vfio_user_mig_state),
		0, sizeof(struct vfio_user_mig_state), feat_state },
	[VFIO_DEVICE_FEATURE_DMA_LOGGING_START] = { VFIO_DEVICE_FEATURE_SET,
		sizeof(struct vfio_user_logging_control), 0, 0, feat_log_start },
	[VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP] = { VFIO_DEVICE_FEATURE_SET, 0, 0, 0,
		feat_log_stop },
	[VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT] = { VFIO_DEVICE_FEATURE_GET, 0,
		sizeof(struct vfio_user_logging_report), 0, feat_log_report },
	[VFIO_DEVICE_FEATURE_MIG_DATA_SIZE] = { VFIO_DEVICE_FEATURE_GET, 0, 0, sizeof(uint64_t),
		feat_data_size },
};

int
srv_mig_feature(struct srv_session *s, const struct vfio_user_msg *msg, void **reply,
		uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;
	const struct mig_feature *f = NULL;
	struct mig_req req;
	uint32_t idx, ops;

	memcpy(&req.hdr, msg->data, sizeof(req.hdr));
	req.data = msg->data + sizeof(req.hdr);
	req.dlen = msg->len - sizeof(req.hdr);
	ops = req.hdr.flags & FEATURE_OPS;
	idx = req.hdr.flags & VFIO_DEVICE_FEATURE_MASK;
	if (req.hdr.flags & ~(VFIO_DEVICE_FEATURE_MASK | FEATURE_OPS | VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	/* "GET and SET are mutually exclusive, except for use with PROBE." */
	if (!(req.hdr.flags & VFIO_DEVICE_FEATURE_PROBE) &&
			ops != VFIO_DEVICE_FEATURE_GET && ops != VFIO_DEVICE_FEATURE_SET)
		return -EINVAL;
	if (req.hdr.argsz < sizeof(req.hdr))
		return -EINVAL;

	/* Unknown feature, or one this device lacks: ENOTTY, as the kernel says. */
	if (srv->migratable && idx < RTE_DIM(mig_features) && mig_features[idx].fn != NULL &&
			(idx != VFIO_DEVICE_FEATURE_MIG_DATA_SIZE ||
			 srv->mig_ops.data_size != NULL))
		f = &mig_features[idx];
	if (f == NULL)
		return -ENOTTY;
	if (ops & ~f->ops)
		return -EINVAL;

	/* SET and PROBE replies are the request: argsz must hold it. */
	if (req.hdr.flags & VFIO_DEVICE_FEATURE_PROBE) {
		if (req.hdr.argsz < msg->len)
			return -EINVAL;
		*reply = mig_reply(&req, req.data, req.dlen, len);
		if (*reply == NULL)
			return -ENOMEM;
		((struct vfio_user_feature *)*reply)->argsz = req.hdr.argsz;
		return 0;
	}
	if (ops == VFIO_DEVICE_FEATURE_SET) {
		if (req.dlen < f->set_len || req.hdr.argsz < msg->len)
			return -EINVAL;
		return f->fn(s, &req, reply, len);
	}
	if (req.dlen < f->get_in_len)
		return -EINVAL;
	/* A GET without room for the data gets the size needed (general argsz rule). */
	if (f->get_len != 0 && req.hdr.argsz < sizeof(req.hdr) + f->get_len) {
		*reply = mig_reply(&req, NULL, 0, len);
		if (*reply == NULL)
			return -ENOMEM;
		((struct vfio_user_feature *)*reply)->argsz = sizeof(req.hdr) + f->get_len;
		return 0;
	}
	return f->fn(s, &req, reply, len);
}

/*
 * Migration data
 */

int
srv_mig_data_read(struct srv_session *s, const struct vfio_user_msg *msg, void **reply,
		uint32_t *len)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_mig_data req, *rep;
	ssize_t n;

	memcpy(&req, msg->data, sizeof(req));
	if (srv->mig_state != RTE_VFIO_USER_MIG_PRE_COPY &&
			srv->mig_state != RTE_VFIO_USER_MIG_STOP_COPY)
		return -EINVAL;
	/* The data goes to the client: within both sides' max_data_xfer_size. */
	if (req.size > s->peer_xfer || req.argsz < sizeof(req) + (uint64_t)req.size)
		return -EINVAL;
	rep = malloc(sizeof(*rep) + req.size);
	if (rep == NULL)
		return -ENOMEM;
	n = req.size == 0 ? 0 : srv->mig_ops.save(srv->dev_id, rep + 1, req.size);
	if (n < 0 || n > (ssize_t)req.size) {
		free(rep);
		VFIO_USER_SRV_LOG(DEBUG, srv->path, "save() returned %zd for %u bytes", n,
				req.size);
		return srv_cb_err(n < 0 ? n : 1);
	}
	rep->argsz = sizeof(*rep) + (uint32_t)n;
	rep->size = (uint32_t)n;
	*reply = rep;
	*len = rep->argsz;
	return 0;
}

int
srv_mig_data_write(struct srv_session *s, const struct vfio_user_msg *msg)
{
	struct vfio_user_server *srv = s->srv;
	struct vfio_user_mig_data req;
	int ret;

	memcpy(&req, msg->data, sizeof(req));
	if (srv->mig_state != RTE_VFIO_USER_MIG_RESUMING)
		return -EINVAL;
	if (req.argsz < sizeof(req) || req.size > s->lim.max_data_xfer_size ||
			msg->len - sizeof(req) != req.size)
		return -EINVAL;
	if (req.size == 0)
		return 0;
	ret = srv->mig_ops.load(srv->dev_id, msg->data + sizeof(req), req.size);
	if (ret < 0) {
		VFIO_USER_SRV_LOG(INFO, srv->path, "migration data refused (%d): state ERROR",
				ret);
		srv->mig_state = RTE_VFIO_USER_MIG_ERROR;
		return srv_cb_err(ret);
	}
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Migration model of the test device. Entering a saving state appends one
 * record (header, BAR1, config space) to the save stream; loading takes
 * records in any chunking, checks each header and hash, and applies it;
 * leaving RESUMING with half a record fails. A header that lies about the
 * size, or a hash that does not match, makes load() fail.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "test_vfio_user_common.h"

#define TDEV_MIG_MAGIC 0x47494d54u /* "TMIG" */

struct tdev_mig_hdr {
	uint32_t magic;
	uint32_t len;  /* payload bytes */
	uint64_t hash; /* tdev_hash() of the payload */
};

static size_t
payload_size(const struct tdev *d)
{
	return d->cfg.base_size + TDEV_CFG_SIZE;
}

size_t
tdev_mig_record_size(const struct tdev *d)
{
	return sizeof(struct tdev_mig_hdr) + payload_size(d);
}

void
tdev_mig_drop(struct tdev *d)
{
	free(d->mig_out);
	free(d->mig_in);
	d->mig_out = d->mig_in = NULL;
	d->mig_out_len = d->mig_out_pos = d->mig_in_len = 0;
}

/* Append a record of the current state to the save stream. */
static int
mig_save_record(struct tdev *d)
{
	size_t rec = tdev_mig_record_size(d);
	struct tdev_mig_hdr h;
	uint8_t *p;

	p = realloc(d->mig_out, d->mig_out_len + rec);
	if (p == NULL)
		return -ENOMEM;
	d->mig_out = p;
	p += d->mig_out_len;
	memcpy(p + sizeof(h), d->base_mem, d->cfg.base_size);
	memcpy(p + sizeof(h) + d->cfg.base_size, d->cfg_space, TDEV_CFG_SIZE);
	h.magic = TDEV_MIG_MAGIC;
	h.len = (uint32_t)payload_size(d);
	h.hash = tdev_hash(p + sizeof(h), payload_size(d));
	memcpy(p, &h, sizeof(h));
	d->mig_out_len += rec;
	return 0;
}

static int
tdev_mig_transition(int id, enum rte_vfio_user_mig_state from, enum rte_vfio_user_mig_state to)
{
	struct tdev *d = tdev_lookup(id);

	if (d == NULL)
		return -ENODEV;
	tdev_ev_add(id, TDEV_EV_MIG, TDEV_ARC(from, to));
	if (d->mig_fail_arc == TDEV_ARC(from, to))
		return -EIO;
	switch (to) {
	case RTE_VFIO_USER_MIG_PRE_COPY:
	case RTE_VFIO_USER_MIG_STOP_COPY:
		return mig_save_record(d);
	case RTE_VFIO_USER_MIG_STOP:
		/* Half a record is an incomplete stream; leaving a save ends it. */
		if (from == RTE_VFIO_USER_MIG_RESUMING && d->mig_in_len != 0)
			return -EINVAL;
		tdev_mig_drop(d);
		return 0;
	case RTE_VFIO_USER_MIG_RUNNING:
		tdev_mig_drop(d);
		return 0;
	case RTE_VFIO_USER_MIG_RESUMING:
		d->mig_loaded = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

static ssize_t
tdev_mig_save(int id, void *buf, size_t len)
{
	struct tdev *d = tdev_lookup(id);
	size_t n;

	if (d == NULL)
		return -ENODEV;
	n = RTE_MIN(len, d->mig_out_len - d->mig_out_pos);
	memcpy(buf, d->mig_out + d->mig_out_pos, n);
	d->mig_out_pos += n;
	return (ssize_t)n;
}

static int
tdev_mig_load(int id, const void *buf, size_t len)
{
	struct tdev *d = tdev_lookup(id);
	size_t rec, n;
	struct tdev_mig_hdr h = { 0 };
	const uint8_t *p = buf;

	if (d == NULL)
		return -ENODEV;
	rec = tdev_mig_record_size(d);
	if (d->mig_in == NULL) {
		d->mig_in = malloc(rec);
		if (d->mig_in == NULL)
			return -ENOMEM;
	}
	while (len != 0) {
		n = RTE_MIN(len, rec - d->mig_in_len);
		memcpy(d->mig_in + d->mig_in_len, p, n);
		d->mig_in_len += n;
		p += n;
		len -= n;
		if (d->mig_in_len >= sizeof(h)) {
			memcpy(&h, d->mig_in, sizeof(h));
			if (h.magic != TDEV_MIG_MAGIC || h.len != payload_size(d))
				return -EINVAL;
		}
		if (d->mig_in_len < rec)
			continue;
		if (h.hash != tdev_hash(d->mig_in + sizeof(h), payload_size(d)))
			return -EBADMSG;
		memcpy(d->base_mem, d->mig_in + sizeof(h), d->cfg.base_size);
		memcpy(d->cfg_space, d->mig_in + sizeof(h) + d->cfg.base_size, TDEV_CFG_SIZE);
		d->mig_in_len = 0;
		d->mig_loaded++;
	}
	return 0;
}

static int
tdev_mig_data_size(int id, uint64_t *len)
{
	struct tdev *d = tdev_lookup(id);

	if (d == NULL)
		return -ENODEV;
	/* What is left, and the record STOP_COPY would add. */
	*len = d->mig_out_len - d->mig_out_pos + tdev_mig_record_size(d);
	return 0;
}

int
tdev_mig_register(struct tdev *d)
{
	struct rte_vfio_user_mig_ops ops = {
		.size = sizeof(ops),
		.flags = d->cfg.mig_flags,
		.transition = tdev_mig_transition,
		.save = tdev_mig_save,
		.load = tdev_mig_load,
		.data_size = tdev_mig_data_size,
	};

	return rte_vfio_user_set_migration(d->path, &ops);
}

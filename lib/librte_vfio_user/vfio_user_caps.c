/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <rte_common.h>

#include "vfio_user_caps.h"
#include "vfio_user_private.h"

void
vfio_user_caps_defaults(struct vfio_user_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg_fds = VFIO_USER_SPEC_DEF_MAX_MSG_FDS;
	caps->max_data_xfer_size = VFIO_USER_SPEC_DEF_MAX_DATA_XFER;
	caps->pgsizes = VFIO_USER_SPEC_DEF_PGSIZES;
	caps->max_dma_maps = VFIO_USER_SPEC_DEF_MAX_DMA_MAPS;
}

/*
 * A JSON number that is a non-negative integer. json-c keeps integers above
 * INT64_MAX as uint64 (get_int64 then clamps to INT64_MAX), negative ones as
 * int64 (get_uint64 then clamps to 0).
 */
static int
get_u64(struct json_object *obj, uint64_t *val)
{
	if (!json_object_is_type(obj, json_type_int) || json_object_get_int64(obj) < 0)
		return -EINVAL;
	*val = json_object_get_uint64(obj);
	return 0;
}

static int
get_bool(struct json_object *obj, bool *val)
{
	if (!json_object_is_type(obj, json_type_boolean))
		return -EINVAL;
	*val = json_object_get_boolean(obj);
	return 0;
}

static int
parse_number_cap(struct json_object *caps_obj, const char *key, uint32_t bit,
		uint64_t *val, struct vfio_user_caps *caps)
{
	struct json_object *obj;

	if (!json_object_object_get_ex(caps_obj, key, &obj))
		return 0;
	if (get_u64(obj, val) < 0)
		return -EINVAL;
	caps->present |= bit;
	return 0;
}

static int
parse_twin_socket(struct json_object *caps_obj, struct vfio_user_caps *caps)
{
	struct json_object *twin, *obj;

	if (!json_object_object_get_ex(caps_obj, "twin_socket", &twin))
		return 0;
	if (!json_object_is_type(twin, json_type_object))
		return -EINVAL;
	caps->present |= VFIO_USER_CAP_TWIN_SOCKET;
	if (json_object_object_get_ex(twin, "supported", &obj) &&
			get_bool(obj, &caps->twin_supported) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(twin, "fd_index", &obj)) {
		if (get_u64(obj, &caps->twin_fd_index) < 0)
			return -EINVAL;
		caps->twin_has_fd_index = true;
	}
	return 0;
}

static int
parse_migration(struct json_object *caps_obj, struct vfio_user_caps *caps)
{
	struct json_object *mig, *obj;

	if (!json_object_object_get_ex(caps_obj, "migration", &mig))
		return 0;
	if (!json_object_is_type(mig, json_type_object))
		return -EINVAL;
	caps->present |= VFIO_USER_CAP_MIGRATION;
	if (json_object_object_get_ex(mig, "pgsize", &obj)) {
		/* One page size: a power of two. */
		if (get_u64(obj, &caps->mig_pgsize) < 0 || !rte_is_power_of_2(caps->mig_pgsize))
			return -EINVAL;
		caps->mig_has_pgsize = true;
	}
	if (json_object_object_get_ex(mig, "max_bitmap_size", &obj)) {
		if (get_u64(obj, &caps->mig_max_bitmap) < 0 || caps->mig_max_bitmap == 0)
			return -EINVAL;
		caps->mig_has_max_bitmap = true;
	}
	return 0;
}

static int
parse_caps_object(struct json_object *caps_obj, struct vfio_user_caps *caps)
{
	struct json_object *obj;

	if (parse_number_cap(caps_obj, "max_msg_fds", VFIO_USER_CAP_MAX_MSG_FDS,
				&caps->max_msg_fds, caps) < 0 ||
			parse_number_cap(caps_obj, "max_data_xfer_size",
				VFIO_USER_CAP_MAX_DATA_XFER, &caps->max_data_xfer_size, caps) < 0 ||
			parse_number_cap(caps_obj, "pgsizes", VFIO_USER_CAP_PGSIZES,
				&caps->pgsizes, caps) < 0 ||
			parse_number_cap(caps_obj, "max_dma_maps", VFIO_USER_CAP_MAX_DMA_MAPS,
				&caps->max_dma_maps, caps) < 0 ||
			parse_twin_socket(caps_obj, caps) < 0 ||
			parse_migration(caps_obj, caps) < 0)
		return -EINVAL;

	if (json_object_object_get_ex(caps_obj, "write_multiple", &obj)) {
		if (get_bool(obj, &caps->write_multiple) < 0)
			return -EINVAL;
		caps->present |= VFIO_USER_CAP_WRITE_MULTIPLE;
	}

	/* A peer that cannot take a single byte of data, or no page size, is broken. */
	if (caps->max_data_xfer_size == 0 || caps->pgsizes == 0)
		return -EINVAL;
	return 0;
}

int
vfio_user_caps_parse(const char *data, size_t len, struct vfio_user_caps *caps)
{
	struct json_object *root = NULL, *caps_obj;
	struct json_tokener *tok;
	const char *nul;
	size_t slen;
	int ret = -EINVAL;

	vfio_user_caps_defaults(caps);
	if (len == 0)
		return 0;

	nul = memchr(data, '\0', len);
	if (nul == NULL)
		return -EINVAL;
	slen = (size_t)(nul - data);
	if (slen == 0 || slen > INT32_MAX)
		return -EINVAL;

	tok = json_tokener_new();
	if (tok == NULL)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, data, (int)slen);
	/* The whole string must be one JSON value. */
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
			json_tokener_get_parse_end(tok) != slen)
		goto out;
	if (!json_object_is_type(root, json_type_object))
		goto out;

	if (json_object_object_get_ex(root, "capabilities", &caps_obj)) {
		if (!json_object_is_type(caps_obj, json_type_object))
			goto out;
		ret = parse_caps_object(caps_obj, caps);
	} else {
		ret = 0;
	}
out:
	json_object_put(root);
	json_tokener_free(tok);
	if (ret < 0)
		vfio_user_caps_defaults(caps);
	return ret;
}

static int
add_u64(struct json_object *obj, const char *key, uint64_t val)
{
	struct json_object *num = json_object_new_uint64(val);

	if (num == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, num) < 0) {
		json_object_put(num);
		return -ENOMEM;
	}
	return 0;
}

static int
add_bool(struct json_object *obj, const char *key, bool val)
{
	struct json_object *b = json_object_new_boolean(val);

	if (b == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, b) < 0) {
		json_object_put(b);
		return -ENOMEM;
	}
	return 0;
}

static int
format_caps_object(struct json_object *obj, const struct vfio_user_caps *caps)
{
	struct json_object *twin, *mig;
	int ret = 0;

	if (caps->present & VFIO_USER_CAP_MAX_MSG_FDS)
		ret |= add_u64(obj, "max_msg_fds", caps->max_msg_fds);
	if (caps->present & VFIO_USER_CAP_MAX_DATA_XFER)
		ret |= add_u64(obj, "max_data_xfer_size", caps->max_data_xfer_size);
	if (caps->present & VFIO_USER_CAP_PGSIZES)
		ret |= add_u64(obj, "pgsizes", caps->pgsizes);
	if (caps->present & VFIO_USER_CAP_MAX_DMA_MAPS)
		ret |= add_u64(obj, "max_dma_maps", caps->max_dma_maps);
	if (caps->present & VFIO_USER_CAP_WRITE_MULTIPLE)
		ret |= add_bool(obj, "write_multiple", caps->write_multiple);
	if (ret != 0)
		return -ENOMEM;

	if (caps->present & VFIO_USER_CAP_MIGRATION) {
		mig = json_object_new_object();
		if (mig == NULL)
			return -ENOMEM;
		if ((caps->mig_has_pgsize && add_u64(mig, "pgsize", caps->mig_pgsize) < 0) ||
				(caps->mig_has_max_bitmap &&
				 add_u64(mig, "max_bitmap_size", caps->mig_max_bitmap) < 0) ||
				json_object_object_add(obj, "migration", mig) < 0) {
			json_object_put(mig);
			return -ENOMEM;
		}
	}
	if (caps->present & VFIO_USER_CAP_TWIN_SOCKET) {
		twin = json_object_new_object();
		if (twin == NULL)
			return -ENOMEM;
		if (add_bool(twin, "supported", caps->twin_supported) < 0 ||
				(caps->twin_has_fd_index &&
				 add_u64(twin, "fd_index", caps->twin_fd_index) < 0) ||
				json_object_object_add(obj, "twin_socket", twin) < 0) {
			json_object_put(twin);
			return -ENOMEM;
		}
	}
	return 0;
}

char *
vfio_user_caps_format(const struct vfio_user_caps *caps, size_t *len)
{
	struct json_object *root, *obj;
	char *out = NULL;

	root = json_object_new_object();
	obj = json_object_new_object();
	if (root == NULL || obj == NULL) {
		json_object_put(root);
		json_object_put(obj);
		return NULL;
	}
	if (json_object_object_add(root, "capabilities", obj) < 0) {
		json_object_put(obj);
		goto out;
	}
	if (format_caps_object(obj, caps) < 0)
		goto out;
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	if (out != NULL)
		*len = strlen(out) + 1;
out:
	json_object_put(root);
	return out;
}

/*
 * Negotiation policy
 */

#define CAPS_ALL (VFIO_USER_CAP_MAX_MSG_FDS | VFIO_USER_CAP_MAX_DATA_XFER | \
		VFIO_USER_CAP_PGSIZES | VFIO_USER_CAP_MAX_DMA_MAPS | \
		VFIO_USER_CAP_TWIN_SOCKET | VFIO_USER_CAP_WRITE_MULTIPLE | \
		VFIO_USER_CAP_MIGRATION)

void
vfio_user_caps_propose(const struct rte_vfio_user_limits *lim, struct vfio_user_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->present = CAPS_ALL;
	caps->max_msg_fds = lim->max_msg_fds;
	caps->max_data_xfer_size = lim->max_data_xfer_size;
	/* Any power-of-two page size from the host page up can back our windows. */
	caps->pgsizes = ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
	caps->max_dma_maps = lim->max_dma_maps;
	caps->twin_supported = true;
	caps->write_multiple = true;
	/* Migration: logged at host pages, bitmaps as large as any data transfer. */
	caps->mig_has_pgsize = true;
	caps->mig_pgsize = (uint64_t)sysconf(_SC_PAGESIZE);
	caps->mig_has_max_bitmap = true;
	caps->mig_max_bitmap = lim->max_data_xfer_size;
}

int
vfio_user_caps_grant(const struct vfio_user_caps *peer, const struct rte_vfio_user_limits *lim,
		uint64_t mig_pgsize, struct vfio_user_caps *reply, struct vfio_user_negotiated *use)
{
	/*
	 * A client leaving a key out assumes the specification's default. A
	 * lower limit of ours could not be told to it (the reply only holds keys
	 * proposed): we require the key, so negotiation fails.
	 */
	if ((!(peer->present & VFIO_USER_CAP_MAX_DATA_XFER) &&
			lim->max_data_xfer_size < VFIO_USER_SPEC_DEF_MAX_DATA_XFER) ||
			(!(peer->present & VFIO_USER_CAP_MAX_DMA_MAPS) &&
			 lim->max_dma_maps < VFIO_USER_SPEC_DEF_MAX_DMA_MAPS))
		return -EINVAL;

	memset(reply, 0, sizeof(*reply));
	if (peer->present & VFIO_USER_CAP_MAX_MSG_FDS) {
		reply->present |= VFIO_USER_CAP_MAX_MSG_FDS;
		reply->max_msg_fds = lim->max_msg_fds;
	}
	if (peer->present & VFIO_USER_CAP_MAX_DATA_XFER) {
		reply->present |= VFIO_USER_CAP_MAX_DATA_XFER;
		reply->max_data_xfer_size = lim->max_data_xfer_size;
	}
	if (peer->present & VFIO_USER_CAP_PGSIZES) {
		/* We map whole host pages: nothing below 4 KiB. */
		reply->pgsizes = peer->pgsizes & ~(uint64_t)0xfff;
		if (reply->pgsizes == 0)
			return -EINVAL;
		reply->present |= VFIO_USER_CAP_PGSIZES;
	}
	if (peer->present & VFIO_USER_CAP_MAX_DMA_MAPS) {
		reply->present |= VFIO_USER_CAP_MAX_DMA_MAPS;
		reply->max_dma_maps = RTE_MIN(peer->max_dma_maps, (uint64_t)lim->max_dma_maps);
	}
	if ((peer->present & VFIO_USER_CAP_WRITE_MULTIPLE) && peer->write_multiple) {
		reply->present |= VFIO_USER_CAP_WRITE_MULTIPLE;
		reply->write_multiple = true;
	}

	use->max_msg_fds = RTE_MIN(peer->max_msg_fds, (uint64_t)VFIO_USER_SCM_MAX_FDS);
	use->max_data_xfer = RTE_MIN(peer->max_data_xfer_size,
			(uint64_t)lim->max_data_xfer_size);
	if (use->max_data_xfer == 0)
		use->max_data_xfer = 1;
	/*
	 * A DMA logging bitmap is data sent to the client: at most what both
	 * sides transfer at once, and what the client says it takes.
	 */
	use->mig_pgsize = mig_pgsize;
	use->mig_max_bitmap = use->max_data_xfer;
	if (peer->mig_has_max_bitmap)
		use->mig_max_bitmap = (uint32_t)RTE_MIN(peer->mig_max_bitmap,
				(uint64_t)use->mig_max_bitmap);
	if ((peer->present & VFIO_USER_CAP_MIGRATION) && mig_pgsize != 0) {
		reply->present |= VFIO_USER_CAP_MIGRATION;
		reply->mig_has_pgsize = true;
		reply->mig_pgsize = mig_pgsize;
		reply->mig_has_max_bitmap = true;
		reply->mig_max_bitmap = use->mig_max_bitmap;
	}
	use->max_dma_maps = (reply->present & VFIO_USER_CAP_MAX_DMA_MAPS) ?
		(uint32_t)reply->max_dma_maps : lim->max_dma_maps;
	use->pgsizes = (reply->present & VFIO_USER_CAP_PGSIZES) ? reply->pgsizes :
		peer->pgsizes;
	use->write_multiple = reply->write_multiple;
	/* The client's end of the twin travels as a descriptor: it must take one. */
	use->twin = (peer->present & VFIO_USER_CAP_TWIN_SOCKET) && peer->twin_supported &&
		peer->max_msg_fds >= 1;
	return 0;
}

int
vfio_user_caps_accept(const struct vfio_user_caps *peer,
		const struct rte_vfio_user_limits *lim, struct vfio_user_negotiated *use)
{
	if (peer->max_data_xfer_size == 0)
		return -EPROTO;
	use->max_data_xfer = (uint32_t)RTE_MIN(peer->max_data_xfer_size,
			(uint64_t)lim->max_data_xfer_size);
	use->max_msg_fds = (uint32_t)RTE_MIN(peer->max_msg_fds,
			(uint64_t)VFIO_USER_SCM_MAX_FDS);
	use->max_dma_maps = (uint32_t)RTE_MIN(peer->max_dma_maps, (uint64_t)lim->max_dma_maps);
	use->pgsizes = peer->pgsizes;
	use->write_multiple = (peer->present & VFIO_USER_CAP_WRITE_MULTIPLE) &&
		peer->write_multiple;
	use->twin = (peer->present & VFIO_USER_CAP_TWIN_SOCKET) && peer->twin_supported;
	/* Without the capability: 4 KiB pages, bitmaps of one data transfer. */
	use->mig_pgsize = peer->mig_has_pgsize ? peer->mig_pgsize : 4096;
	use->mig_max_bitmap = use->max_data_xfer;
	if (peer->mig_has_max_bitmap)
		use->mig_max_bitmap = (uint32_t)RTE_MIN(peer->mig_max_bitmap,
				(uint64_t)use->mig_max_bitmap);
	return 0;
}

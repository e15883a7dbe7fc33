/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Device arguments of the vfio_user bus: path=<socket> and reconnect=<ms>
 * given with -a vfio_user:NAME,..., and the name=/path= filters of the
 * device iterator.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_devargs.h>
#include <rte_kvargs.h>

#include "vfio_user_bus_private.h"

#define VU_KEY_PATH "path"
/* Milliseconds between reconnection attempts when the server goes away; 0: none. */
#define VU_KEY_RECONNECT "reconnect"
#define VU_MAX_RECONNECT_MS (3600u * 1000u)

static int
vu_path_arg(const char *key, const char *value, void *opaque)
{
	char *path = opaque;
	size_t len = value != NULL ? strlen(value) : 0;

	RTE_SET_USED(key);
	if (len == 0 || len >= sizeof(((struct rte_vfio_user_bus_device *)0)->path))
		return -EINVAL;
	memcpy(path, value, len + 1);
	return 0;
}

static int
vu_reconnect_arg(const char *key, const char *value, void *opaque)
{
	unsigned long ms;
	char *end;

	RTE_SET_USED(key);
	if (value == NULL || value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	ms = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || ms > VU_MAX_RECONNECT_MS)
		return -EINVAL;
	*(uint32_t *)opaque = (uint32_t)ms;
	return 0;
}

/*
 * Check the devargs of one device; fill path (sun_path sized) and
 * reconnect_ms when not NULL.
 */
int
vfio_user_bus_parse_args(const struct rte_devargs *da, char *path, uint32_t *reconnect_ms)
{
	static const char * const keys[] = { VU_KEY_PATH, VU_KEY_RECONNECT, NULL };
	char buf[sizeof(((struct rte_vfio_user_bus_device *)0)->path)];
	struct rte_kvargs *kv;
	uint32_t ms = 0;
	int ret;

	if (da->name[0] == '\0') {
		VFIO_USER_BUS_LOG(ERR, "device without a name");
		return -EINVAL;
	}
	kv = rte_kvargs_parse(da->args != NULL ? da->args : "", keys);
	if (kv == NULL) {
		VFIO_USER_BUS_LOG(ERR, "%s: bad arguments \"%s\" (only " VU_KEY_PATH
			"=<socket> and " VU_KEY_RECONNECT "=<ms> are known)", da->name, da->args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, VU_KEY_PATH) != 1) {
		VFIO_USER_BUS_LOG(ERR, "%s: need exactly one " VU_KEY_PATH "=<socket>", da->name);
		rte_kvargs_free(kv);
		return -EINVAL;
	}
	ret = rte_kvargs_process(kv, VU_KEY_PATH, vu_path_arg, buf);
	if (ret != 0) {
		rte_kvargs_free(kv);
		VFIO_USER_BUS_LOG(ERR, "%s: socket path empty or longer than %zu bytes",
			da->name, sizeof(buf) - 1);
		return -EINVAL;
	}
	if (rte_kvargs_count(kv, VU_KEY_RECONNECT) > 1 ||
			rte_kvargs_process(kv, VU_KEY_RECONNECT, vu_reconnect_arg, &ms) != 0) {
		rte_kvargs_free(kv);
		VFIO_USER_BUS_LOG(ERR, "%s: " VU_KEY_RECONNECT " wants one number of ms, 0 to %u",
			da->name, VU_MAX_RECONNECT_MS);
		return -EINVAL;
	}
	rte_kvargs_free(kv);
	if (path != NULL)
		memcpy(path, buf, sizeof(buf));
	if (reconnect_ms != NULL)
		*reconnect_ms = ms;
	return 0;
}

/* "name=<x>" or "path=<socket>" filters of the device iterator. */
static int
vu_dev_match_str(const struct rte_device *d, const void *arg)
{
	static const char * const keys[] = { "name", VU_KEY_PATH, NULL };
	const struct rte_vfio_user_bus_device *dev = RTE_DEV_TO_VFIO_USER_BUS_CONST(d);
	const char *str = arg;
	struct rte_kvargs *kv;
	const char *v;
	int ret = 0;

	if (str == NULL || str[0] == '\0')
		return 0;
	kv = rte_kvargs_parse(str, keys);
	if (kv == NULL)
		return -1;
	v = rte_kvargs_get(kv, "name");
	if (v != NULL && strcmp(v, dev->device.name) != 0)
		ret = -1;
	v = rte_kvargs_get(kv, VU_KEY_PATH);
	if (v != NULL && strcmp(v, dev->path) != 0)
		ret = -1;
	rte_kvargs_free(kv);
	return ret;
}

void *
vfio_user_bus_dev_iterate(const void *start, const char *str,
		const struct rte_dev_iterator *it)
{
	RTE_SET_USED(it);
	return vfio_user_bus_find_device(start, vu_dev_match_str, str);
}

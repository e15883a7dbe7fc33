/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * vdev glue of the emulated virtio-net device: devargs, probe and remove,
 * the vfio-user notify ops and the ethdev ops. The port's wire is a guest's
 * virtio-net device served on a vfio-user socket:
 *
 *   --vdev=net_emu_virtio0,path=<socket>[,queues=N][,mac=xx:xx:xx:xx:xx:xx]
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_string_fns.h>

#include "emu_vnet_priv.h"

RTE_LOG_REGISTER_DEFAULT(emu_vnet_logtype, NOTICE);

#define EMU_VNET_ARG_PATH	"path"
#define EMU_VNET_ARG_QUEUES	"queues"
#define EMU_VNET_ARG_MAC	"mac"

static const char * const emu_vnet_valid_args[] = {
	EMU_VNET_ARG_PATH,
	EMU_VNET_ARG_QUEUES,
	EMU_VNET_ARG_MAC,
	NULL,
};

/*
 * Link. The ethdev link is up while the guest driver is ready (DRIVER_OK);
 * the guest sees its link up while the port is started.
 */

void
emu_vnet_link_set(struct emu_vnet_dev *dev, bool up)
{
	struct rte_eth_dev *eth = &rte_eth_devices[dev->port_id];
	struct rte_eth_link link = {
		.link_speed = up ? RTE_ETH_SPEED_NUM_10G : RTE_ETH_SPEED_NUM_NONE,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	if (dev->link_up == up)
		return;
	dev->link_up = up;
	rte_eth_linkstatus_set(eth, &link);
	EMU_VNET_LOG(INFO, "%s: link %s", dev->name, up ? "up" : "down");
	rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_INTR_LSC, NULL);
}

static int
emu_vnet_link_update(struct rte_eth_dev *eth, int wait_to_complete)
{
	RTE_SET_USED(eth);
	RTE_SET_USED(wait_to_complete);
	return 0; /* kept current by emu_vnet_link_set() */
}

/*
 * Notify ops (control thread).
 */

static struct emu_vnet_dev *
emu_vnet_from_id(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

/* A client comes or goes: the device is reset and forgets the DMA table it had. */
static void
emu_vnet_set_connected(struct emu_vnet_dev *dev, bool connected)
{
	bool taken = emu_vnet_lock_all(dev);

	emu_vnet_mig_drop(dev);
	emu_vnet_reset_locked(dev);
	rte_vfio_user_pci_reset(dev->pci);
	dev->connected = connected;
	dev->mt = connected ? rte_vfio_user_get_mem_table(dev->dev_id) : NULL;
	dev->mem_gen++;
	emu_vnet_unlock_all(dev, taken);
	emu_vnet_link_set(dev, false);
}

static int
emu_vnet_new_device(int dev_id)
{
	struct emu_vnet_dev *dev = emu_vnet_from_id(dev_id);

	if (dev == NULL)
		return -ENODEV;
	emu_vnet_set_connected(dev, true);
	EMU_VNET_LOG(INFO, "%s: client connected", dev->name);
	return 0;
}

static void
emu_vnet_destroy_device(int dev_id)
{
	struct emu_vnet_dev *dev = emu_vnet_from_id(dev_id);

	if (dev == NULL)
		return;
	emu_vnet_set_connected(dev, false);
	EMU_VNET_LOG(INFO, "%s: client gone, device reset", dev->name);
}

static int
emu_vnet_lock_dp(int dev_id, int lock)
{
	struct emu_vnet_dev *dev = emu_vnet_from_id(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (lock) {
		/* Waits for the bursts in progress; the next ones return 0. */
		if (emu_vnet_lock_all(dev))
			dev->ctrl_locked = true;
		/* Every ring translation may go stale: queues remap at their next burst. */
		dev->mem_gen++;
		dev->mt = NULL;
	} else if (dev->ctrl_locked) {
		if (dev->connected)
			dev->mt = rte_vfio_user_get_mem_table(dev->dev_id);
		dev->ctrl_locked = false;
		emu_vnet_unlock_all(dev, true);
	}
	return 0;
}

/* A control queue migrated in may have waited for these maps: run what it holds. */
static int
emu_vnet_update_status(int dev_id, enum rte_vfio_user_update type)
{
	struct emu_vnet_dev *dev = emu_vnet_from_id(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (type == RTE_VFIO_USER_UPDATE_DMA && dev->q[dev->nr_vqs - 1].wait_map)
		emu_vnet_ctrl_kick(dev);
	return 0;
}

static int
emu_vnet_reset_device(int dev_id)
{
	struct emu_vnet_dev *dev = emu_vnet_from_id(dev_id);
	bool taken;

	if (dev == NULL)
		return -ENODEV;
	taken = emu_vnet_lock_all(dev);
	emu_vnet_mig_drop(dev); /* the library leaves the device RUNNING */
	emu_vnet_reset_locked(dev);
	rte_vfio_user_pci_reset(dev->pci);
	emu_vnet_unlock_all(dev, taken);
	emu_vnet_link_set(dev, false);
	EMU_VNET_LOG(INFO, "%s: device reset by the client", dev->name);
	return 0;
}

static const struct rte_vfio_user_notify_ops emu_vnet_notify_ops = {
	.new_device = emu_vnet_new_device,
	.destroy_device = emu_vnet_destroy_device,
	.update_status = emu_vnet_update_status,
	.lock_dp = emu_vnet_lock_dp,
	.reset_device = emu_vnet_reset_device,
};

/*
 * ethdev ops.
 */

static int
emu_vnet_configure(struct rte_eth_dev *eth)
{
	RTE_SET_USED(eth);
	return 0;
}

/* The guest's device-config link follows the port. */
static void
emu_vnet_port_run(struct emu_vnet_dev *dev, bool run)
{
	if (__atomic_exchange_n(&dev->port_started, run, __ATOMIC_RELAXED) == run)
		return;
	if (__atomic_load_n(&dev->status, __ATOMIC_RELAXED) & VIRTIO_CONFIG_S_DRIVER_OK)
		emu_vnet_config_changed(dev);
}

/*
 * Rx interrupts (intr_conf.rxq): Rx queue i's event fd is the kick eventfd
 * of the guest's transmitq 2i + 1, written by the guest's ioeventfd or, for
 * a client that kicks by message, by the notify area's handler.
 */
static void
emu_vnet_intr_uninstall(struct rte_eth_dev *eth)
{
	rte_intr_vec_list_free(eth->intr_handle);
	rte_intr_instance_free(eth->intr_handle);
	eth->intr_handle = NULL;
}

static int
emu_vnet_intr_install(struct rte_eth_dev *eth)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	uint16_t i, nb = eth->data->nb_rx_queues;
	struct rte_intr_handle *h;

	emu_vnet_intr_uninstall(eth);
	h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (h == NULL)
		return -ENOMEM;
	eth->intr_handle = h;
	/* The EAL reads the 8-byte counter at each wake-up, resetting it. */
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) < 0 ||
			rte_intr_efd_counter_size_set(h, sizeof(uint64_t)) < 0 ||
			rte_intr_vec_list_alloc(h, NULL, nb) < 0 ||
			rte_intr_nb_efd_set(h, nb) < 0 || rte_intr_max_intr_set(h, nb + 1) < 0)
		goto fail;
	for (i = 0; i < nb; i++)
		if (rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i) < 0 ||
				rte_intr_efds_index_set(h, i, dev->q[2 * i + 1].kick_fd) < 0)
			goto fail;
	return 0;
fail:
	emu_vnet_intr_uninstall(eth);
	return -ENOMEM;
}

static int
emu_vnet_rx_intr_enable(struct rte_eth_dev *eth, uint16_t qid)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;

	emu_vnet_notify_set(&dev->q[2 * qid + 1], true);
	return 0;
}

static int
emu_vnet_rx_intr_disable(struct rte_eth_dev *eth, uint16_t qid)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;

	emu_vnet_notify_set(&dev->q[2 * qid + 1], false);
	return 0;
}

static int
emu_vnet_start(struct rte_eth_dev *eth)
{
	uint16_t i;
	int ret;

	if (eth->data->dev_conf.intr_conf.rxq) {
		ret = emu_vnet_intr_install(eth);
		if (ret < 0)
			return ret;
	}

	for (i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	emu_vnet_port_run(eth->data->dev_private, true);
	return 0;
}

static int
emu_vnet_stop(struct rte_eth_dev *eth)
{
	uint16_t i;

	emu_vnet_port_run(eth->data->dev_private, false);
	for (i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

/* Stop serving; called by rte_eth_dev_close() and at remove. */
static int
emu_vnet_close(struct rte_eth_dev *eth)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	uint16_t i;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY || dev == NULL)
		return 0;
	if (dev->dev_id >= 0) {
		/* Disconnects a client: destroy_device runs, the link goes down. */
		ret = rte_vfio_user_unregister(dev->path);
		if (ret < 0)
			EMU_VNET_LOG(ERR, "%s: unregister %s: %s", dev->name, dev->path,
				strerror(-ret));
		dev->dev_id = -1;
	}
	rte_vfio_user_pci_free(dev->pci);
	dev->pci = NULL;
	emu_vnet_mig_drop(dev);
	emu_vnet_intr_uninstall(eth);
	for (i = 0; i < EMU_VNET_MAX_VQS; i++) {
		if (dev->q[i].kick_fd >= 0)
			close(dev->q[i].kick_fd);
		dev->q[i].kick_fd = -1;
	}
	return 0;
}

static int
emu_vnet_infos_get(struct rte_eth_dev *eth, struct rte_eth_dev_info *info)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = EMU_VNET_MAX_FRAME;
	info->max_mtu = EMU_VNET_MAX_FRAME - RTE_ETHER_HDR_LEN;
	info->max_rx_queues = dev->nr_pairs;
	info->max_tx_queues = dev->nr_pairs;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->min_rx_bufsize = 0;
	return 0;
}

static int
emu_vnet_rx_queue_setup(struct rte_eth_dev *eth, uint16_t qid, uint16_t nb_desc,
		unsigned int socket_id, const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	struct emu_vnet_queue *q = &dev->q[2 * qid + 1]; /* the guest's transmitq */

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket_id);
	RTE_SET_USED(conf);
	emu_vnet_q_lock(q);
	q->mb_pool = mp;
	emu_vnet_q_unlock(q);
	eth->data->rx_queues[qid] = q;
	return 0;
}

static int
emu_vnet_tx_queue_setup(struct rte_eth_dev *eth, uint16_t qid, uint16_t nb_desc,
		unsigned int socket_id, const struct rte_eth_txconf *conf)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket_id);
	RTE_SET_USED(conf);
	eth->data->tx_queues[qid] = &dev->q[2 * qid]; /* the guest's receiveq */
	return 0;
}

static int
emu_vnet_stats_get(struct rte_eth_dev *eth, struct rte_eth_stats *st)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	const struct emu_vnet_stats *s;
	uint16_t i;

	for (i = 0; i < eth->data->nb_rx_queues; i++) {
		s = &dev->q[2 * i + 1].stats;
		st->ipackets += s->packets;
		st->ibytes += s->bytes;
		st->ierrors += s->guest_errors + s->dropped;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[i] = s->packets;
			st->q_ibytes[i] = s->bytes;
			st->q_errors[i] = s->guest_errors + s->dropped;
		}
	}
	for (i = 0; i < eth->data->nb_tx_queues; i++) {
		s = &dev->q[2 * i].stats;
		st->opackets += s->packets;
		st->obytes += s->bytes;
		st->oerrors += s->guest_errors + s->dropped;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_opackets[i] = s->packets;
			st->q_obytes[i] = s->bytes;
		}
	}
	st->rx_nombuf = eth->data->rx_mbuf_alloc_failed;
	return 0;
}

static int
emu_vnet_stats_reset(struct rte_eth_dev *eth)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	uint16_t i;

	/* Racy against a running burst, as in other software PMDs. */
	for (i = 0; i < dev->nr_vqs; i++)
		memset(&dev->q[i].stats, 0, sizeof(dev->q[i].stats));
	return 0;
}

/* Per-queue extended counters, beyond the ones ethdev fills from the basic stats. */
static const struct {
	const char *name;
	size_t off;
} emu_vnet_xstats[] = {
	{ "guest_errors", offsetof(struct emu_vnet_stats, guest_errors) },
	{ "dropped", offsetof(struct emu_vnet_stats, dropped) },
};

/* xstat i: rx queues first, then tx queues, then the control queue. */
static const struct emu_vnet_stats *
emu_vnet_xstat_queue(struct rte_eth_dev *eth, unsigned int qi, char *label, size_t size)
{
	struct emu_vnet_dev *dev = eth->data->dev_private;
	unsigned int nb_rx = eth->data->nb_rx_queues;

	if (qi < nb_rx) {
		snprintf(label, size, "rx_q%u", qi);
		return &dev->q[2 * qi + 1].stats;
	}
	qi -= nb_rx;
	if (qi < eth->data->nb_tx_queues) {
		snprintf(label, size, "tx_q%u", qi);
		return &dev->q[2 * qi].stats;
	}
	snprintf(label, size, "ctrl");
	return &dev->q[dev->nr_vqs - 1].stats;
}

static unsigned int
emu_vnet_xstats_count(struct rte_eth_dev *eth)
{
	return (eth->data->nb_rx_queues + eth->data->nb_tx_queues + 1) *
		RTE_DIM(emu_vnet_xstats);
}

static int
emu_vnet_xstats_get_names(struct rte_eth_dev *eth, struct rte_eth_xstat_name *names,
		unsigned int size)
{
	unsigned int n = emu_vnet_xstats_count(eth), i;
	char label[16];

	if (names == NULL || size < n)
		return n;
	for (i = 0; i < n; i++) {
		emu_vnet_xstat_queue(eth, i / RTE_DIM(emu_vnet_xstats), label, sizeof(label));
		snprintf(names[i].name, sizeof(names[i].name), "%s_%s", label,
			emu_vnet_xstats[i % RTE_DIM(emu_vnet_xstats)].name);
	}
	return n;
}

static int
emu_vnet_xstats_get(struct rte_eth_dev *eth, struct rte_eth_xstat *xs, unsigned int size)
{
	unsigned int n = emu_vnet_xstats_count(eth), i;
	const struct emu_vnet_stats *s;
	char label[16];

	if (xs == NULL || size < n)
		return n;
	for (i = 0; i < n; i++) {
		s = emu_vnet_xstat_queue(eth, i / RTE_DIM(emu_vnet_xstats), label,
			sizeof(label));
		xs[i].id = i;
		xs[i].value = *(const uint64_t *)((const uint8_t *)s +
			emu_vnet_xstats[i % RTE_DIM(emu_vnet_xstats)].off);
	}
	return n;
}

/* The port takes whatever the guest sends; the guest's own filter is set by its driver. */
static int
emu_vnet_rx_mode(struct rte_eth_dev *eth)
{
	RTE_SET_USED(eth);
	return 0;
}

static const struct eth_dev_ops emu_vnet_eth_ops = {
	.dev_configure = emu_vnet_configure,
	.dev_start = emu_vnet_start,
	.dev_stop = emu_vnet_stop,
	.dev_close = emu_vnet_close,
	.dev_infos_get = emu_vnet_infos_get,
	.rx_queue_setup = emu_vnet_rx_queue_setup,
	.tx_queue_setup = emu_vnet_tx_queue_setup,
	.link_update = emu_vnet_link_update,
	.stats_get = emu_vnet_stats_get,
	.stats_reset = emu_vnet_stats_reset,
	.xstats_get = emu_vnet_xstats_get,
	.xstats_get_names = emu_vnet_xstats_get_names,
	.xstats_reset = emu_vnet_stats_reset,
	.promiscuous_enable = emu_vnet_rx_mode,
	.promiscuous_disable = emu_vnet_rx_mode,
	.allmulticast_enable = emu_vnet_rx_mode,
	.allmulticast_disable = emu_vnet_rx_mode,
	.rx_queue_intr_enable = emu_vnet_rx_intr_enable,
	.rx_queue_intr_disable = emu_vnet_rx_intr_disable,
};

/*
 * Devargs.
 */

struct emu_vnet_args {
	char path[sizeof(((struct emu_vnet_dev *)0)->path)];
	unsigned int queues;
	bool has_mac;
	struct rte_ether_addr mac;
};

static int
emu_vnet_arg_path(const char *key, const char *value, void *opaque)
{
	struct emu_vnet_args *a = opaque;

	RTE_SET_USED(key);
	if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(a->path))
		return -EINVAL;
	strlcpy(a->path, value, sizeof(a->path));
	return 0;
}

static int
emu_vnet_arg_queues(const char *key, const char *value, void *opaque)
{
	struct emu_vnet_args *a = opaque;
	unsigned long v;
	char *end;

	RTE_SET_USED(key);
	if (value == NULL || value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > EMU_VNET_MAX_PAIRS)
		return -EINVAL;
	a->queues = v;
	return 0;
}

static int
emu_vnet_arg_mac(const char *key, const char *value, void *opaque)
{
	struct emu_vnet_args *a = opaque;

	RTE_SET_USED(key);
	if (value == NULL || rte_ether_unformat_addr(value, &a->mac) < 0 ||
			!rte_is_unicast_ether_addr(&a->mac) || rte_is_zero_ether_addr(&a->mac))
		return -EINVAL;
	a->has_mac = true;
	return 0;
}

static int
emu_vnet_parse_args(const char *name, const char *args, struct emu_vnet_args *a)
{
	static const struct {
		const char *key;
		arg_handler_t fn;
	} handlers[] = {
		{ EMU_VNET_ARG_PATH, emu_vnet_arg_path },
		{ EMU_VNET_ARG_QUEUES, emu_vnet_arg_queues },
		{ EMU_VNET_ARG_MAC, emu_vnet_arg_mac },
	};
	struct rte_kvargs *kvlist;
	unsigned int i;
	int ret = 0;

	if (args == NULL || args[0] == '\0') {
		EMU_VNET_LOG(ERR, "%s: devarg %s=<socket> is required", name, EMU_VNET_ARG_PATH);
		return -EINVAL;
	}
	kvlist = rte_kvargs_parse(args, emu_vnet_valid_args);
	if (kvlist == NULL) {
		EMU_VNET_LOG(ERR, "%s: cannot parse devargs \"%s\"", name, args);
		return -EINVAL;
	}
	if (rte_kvargs_count(kvlist, EMU_VNET_ARG_PATH) != 1) {
		EMU_VNET_LOG(ERR, "%s: exactly one %s=<socket> is required", name,
			EMU_VNET_ARG_PATH);
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < RTE_DIM(handlers); i++) {
		const char *key = handlers[i].key;

		if (rte_kvargs_count(kvlist, key) > 1 ||
				rte_kvargs_process(kvlist, key, handlers[i].fn, a) < 0) {
			EMU_VNET_LOG(ERR, "%s: bad or repeated devarg %s", name, key);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	rte_kvargs_free(kvlist);
	return ret;
}

/*
 * Probe and remove.
 */

static int
emu_vnet_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct emu_vnet_args a = { .queues = 1 };
	struct rte_eth_dev *eth;
	struct emu_vnet_dev *dev;
	uint16_t i;
	int ret;

	if (name == NULL)
		return -EINVAL;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		EMU_VNET_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	if (strlen(name) >= sizeof(dev->name))
		return -EINVAL;
	ret = emu_vnet_parse_args(name, rte_vdev_device_args(vdev), &a);
	if (ret < 0)
		return ret;

	eth = rte_eth_vdev_allocate(vdev, sizeof(*dev));
	if (eth == NULL)
		return -ENOMEM;
	dev = eth->data->dev_private;
	strlcpy(dev->name, name, sizeof(dev->name));
	strlcpy(dev->path, a.path, sizeof(dev->path));
	dev->dev_id = -1;
	dev->port_id = eth->data->port_id;
	dev->nr_pairs = a.queues;
	dev->nr_vqs = 2 * a.queues + 1;
	if (a.has_mac)
		dev->mac = a.mac;
	else
		rte_eth_random_addr(dev->mac.addr_bytes);
	for (i = 0; i < EMU_VNET_MAX_VQS; i++) {
		dev->q[i].dev = dev;
		dev->q[i].index = i;
		dev->q[i].port_id = dev->port_id;
		dev->q[i].kick_fd = -1;
	}
	emu_vnet_reset_locked(dev);

	eth->data->mac_addrs = rte_zmalloc(name, sizeof(struct rte_ether_addr), 0);
	if (eth->data->mac_addrs == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	/* The port answers for the guest's NIC: it carries the same address. */
	eth->data->mac_addrs[0] = dev->mac;
	eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	eth->data->dev_link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	eth->data->dev_link.link_autoneg = RTE_ETH_LINK_FIXED;
	eth->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	eth->dev_ops = &emu_vnet_eth_ops;
	eth->rx_pkt_burst = emu_vnet_rx_burst;
	eth->tx_pkt_burst = emu_vnet_tx_burst;

	ret = rte_vfio_user_register(dev->path, &emu_vnet_notify_ops);
	if (ret < 0) {
		EMU_VNET_LOG(ERR, "%s: cannot register %s: %s", name, dev->path, strerror(-ret));
		goto fail;
	}
	dev->dev_id = ret;
	ret = rte_vfio_user_set_priv(dev->dev_id, dev);
	if (ret == 0)
		ret = emu_vnet_pci_describe(dev);
	if (ret == 0)
		ret = emu_vnet_mig_register(dev);
	if (ret < 0) {
		EMU_VNET_LOG(ERR, "%s: cannot describe the device: %s", name, strerror(-ret));
		goto fail;
	}
	ret = rte_vfio_user_start(dev->path);
	if (ret < 0) {
		EMU_VNET_LOG(ERR, "%s: cannot serve %s: %s", name, dev->path, strerror(-ret));
		goto fail;
	}
	rte_eth_dev_probing_finish(eth);
	EMU_VNET_LOG(INFO, "%s: port %u, %u queue pair(s), served on %s", name, dev->port_id,
		dev->nr_pairs, dev->path);
	return 0;
fail:
	emu_vnet_close(eth);
	rte_eth_dev_release_port(eth);
	return ret;
}

static int
emu_vnet_remove(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *eth;

	if (name == NULL)
		return -EINVAL;
	eth = rte_eth_dev_allocated(name);
	if (eth == NULL)
		return 0; /* already closed with rte_eth_dev_close() */
	emu_vnet_close(eth);
	return rte_eth_dev_release_port(eth);
}

static struct rte_vdev_driver emu_vnet_vdev_drv = {
	.probe = emu_vnet_probe,
	.remove = emu_vnet_remove,
};

RTE_PMD_REGISTER_VDEV(net_emu_virtio, emu_vnet_vdev_drv);
RTE_PMD_REGISTER_PARAM_STRING(net_emu_virtio,
	EMU_VNET_ARG_PATH "=<socket path> "
	EMU_VNET_ARG_QUEUES "=<1-8> "
	EMU_VNET_ARG_MAC "=<xx:xx:xx:xx:xx:xx>");

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * net_vfio_user_virtio: ethdev PMD for a virtio-net device (modern PCI,
 * 1af4:1041) served over vfio-user and reached through the vfio_user bus.
 *
 * Life cycle: probe negotiates features up to FEATURES_OK and reads the MAC
 * and queue-pair count; dev_start resets the device, negotiates again,
 * programs every queue, sets DRIVER_OK, then sends the control commands
 * (queue pairs, promiscuous and all-multicast state); dev_stop resets the
 * device (status 0), which takes every buffer back. Ethdev queue i is
 * virtqueue 2i (Rx) and 2i+1 (Tx); the control queue follows the device's
 * last pair.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ethdev_driver.h>
#include <rte_byteorder.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_malloc.h>

#include "vu_virtio.h"

RTE_LOG_REGISTER_DEFAULT(vu_virtio_logtype, NOTICE);

#define VUV_MIN_DESC		64
#define VUV_MAX_DESC		32768
#define VUV_CTRLQ_SIZE		64
#define VUV_MAX_RX_PKTLEN	9728
#define VUV_DEFAULT_RING	256

static int vuv_link_update(struct rte_eth_dev *dev, int wait_to_complete);

static int
vuv_dev_configure(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;
	uint16_t pairs = RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues);

	if (pairs > hw->max_pairs) {
		VUV_LOG(ERR, "%s: %u queue pairs asked, the device has %u",
				dev->data->name, pairs, hw->max_pairs);
		return -EINVAL;
	}
	hw->nb_pairs = pairs;
	return 0;
}

static int
vuv_dev_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vuv_hw *hw = dev->data->dev_private;
	bool mrg = vuv_has(hw, VUV_NET_F_MRG_RXBUF);

	info->max_rx_queues = hw->max_pairs;
	info->max_tx_queues = hw->max_pairs;
	info->max_mac_addrs = 1;
	info->min_rx_bufsize = RTE_ETHER_MIN_LEN;
	/* Without mergeable buffers a packet must fit in one mbuf. */
	info->max_rx_pktlen = mrg ? VUV_MAX_RX_PKTLEN : RTE_ETHER_MAX_LEN;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = info->max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN;
	info->rx_offload_capa = mrg ? RTE_ETH_RX_OFFLOAD_SCATTER : 0;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->rx_desc_lim.nb_max = VUV_MAX_DESC;
	info->rx_desc_lim.nb_min = VUV_MIN_DESC;
	info->rx_desc_lim.nb_align = 1;
	info->tx_desc_lim = info->rx_desc_lim;
	info->default_rxportconf.ring_size = VUV_DEFAULT_RING;
	info->default_txportconf.ring_size = VUV_DEFAULT_RING;
	info->default_rxportconf.nb_queues = 1;
	info->default_txportconf.nb_queues = 1;
	info->speed_capa = RTE_ETH_LINK_SPEED_AUTONEG;
	return 0;
}

/* A ring of the asked size rounded up to a power of two, within the device's limit. */
static int
vuv_ring_size(struct vuv_hw *hw, uint16_t index, uint16_t nb_desc, uint16_t *size)
{
	uint16_t max;

	if (vuv_queue_max_size(hw, index, &max) != 0)
		return -EIO;
	if (max == 0) {
		VUV_LOG(ERR, "%s: virtqueue %u is not available", hw->vdev->device.name, index);
		return -EINVAL;
	}
	if (nb_desc == 0)
		nb_desc = VUV_DEFAULT_RING;
	*size = RTE_MIN((uint32_t)rte_align32pow2(nb_desc), (uint32_t)max);
	/* A split ring is a power of two; a device limit that is not gets rounded down. */
	*size = rte_align32prevpow2(*size);
	return 0;
}

static void
vuv_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	vuv_queue_free(dev->data->rx_queues[qid]);
	dev->data->rx_queues[qid] = NULL;
}

static void
vuv_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	vuv_queue_free(dev->data->tx_queues[qid]);
	dev->data->tx_queues[qid] = NULL;
}

static int
vuv_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
		unsigned int socket, const struct rte_eth_rxconf *conf __rte_unused,
		struct rte_mempool *mp)
{
	struct vuv_hw *hw = dev->data->dev_private;
	uint16_t room = rte_pktmbuf_data_room_size(mp);
	struct vuv_queue *vq;
	uint16_t size;
	int ret;

	if (room < RTE_PKTMBUF_HEADROOM + RTE_ETHER_MIN_LEN ||
	    RTE_PKTMBUF_HEADROOM < hw->hdr_size) {
		VUV_LOG(ERR, "%s: mbufs of %u bytes are too small", dev->data->name, room);
		return -EINVAL;
	}
	if (!vuv_has(hw, VUV_NET_F_MRG_RXBUF) &&
	    room - RTE_PKTMBUF_HEADROOM < RTE_ETHER_MAX_LEN) {
		VUV_LOG(ERR, "%s: without mergeable Rx buffers an mbuf must hold %u bytes",
				dev->data->name, RTE_ETHER_MAX_LEN);
		return -EINVAL;
	}
	ret = vuv_ring_size(hw, 2 * qid, nb_desc, &size);
	if (ret != 0)
		return ret;
	vuv_rx_queue_release(dev, qid);
	vq = vuv_queue_alloc(hw, VUV_RXQ, 2 * qid, qid, size, socket);
	if (vq == NULL)
		return -ENOMEM;
	vq->mp = mp;
	dev->data->rx_queues[qid] = vq;
	return 0;
}

static int
vuv_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
		unsigned int socket, const struct rte_eth_txconf *conf __rte_unused)
{
	struct vuv_hw *hw = dev->data->dev_private;
	struct vuv_queue *vq;
	uint16_t size;
	int ret;

	ret = vuv_ring_size(hw, 2 * qid + 1, nb_desc, &size);
	if (ret != 0)
		return ret;
	vuv_tx_queue_release(dev, qid);
	vq = vuv_queue_alloc(hw, VUV_TXQ, 2 * qid + 1, qid, size, socket);
	if (vq == NULL)
		return -ENOMEM;
	dev->data->tx_queues[qid] = vq;
	return 0;
}

/* Every virtqueue of the current configuration, control queue last. */
static unsigned int
vuv_queues(struct rte_eth_dev *dev, struct vuv_queue **vqs)
{
	struct vuv_hw *hw = dev->data->dev_private;
	unsigned int n = 0;
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++)
		if (dev->data->rx_queues[i] != NULL)
			vqs[n++] = dev->data->rx_queues[i];
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		if (dev->data->tx_queues[i] != NULL)
			vqs[n++] = dev->data->tx_queues[i];
	if (hw->ctrlq != NULL)
		vqs[n++] = hw->ctrlq;
	return n;
}

/* Take every buffer back from the rings; the device is reset or gone. */
static void
vuv_queues_reset(struct rte_eth_dev *dev)
{
	struct vuv_queue *vqs[2 * VUV_MAX_PAIRS + 1];
	unsigned int i, n = vuv_queues(dev, vqs);

	for (i = 0; i < n; i++) {
		vuv_queue_drain(vqs[i]);
		vuv_queue_reset(vqs[i]);
	}
}

static int
vuv_set_rx_mode(struct vuv_hw *hw, uint8_t cmd, bool on)
{
	uint8_t v = on;

	if (!vuv_has(hw, VUV_NET_F_CTRL_RX))
		return -ENOTSUP;
	if (!hw->started)
		return 0; /* applied by dev_start */
	return vuv_ctrl_send(hw, VUV_CTRL_RX, cmd, &v, 1);
}

static int
vuv_dev_stop(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;
	struct rte_eth_link link = { .link_status = RTE_ETH_LINK_DOWN };
	uint16_t i;

	hw->started = false;
	rte_eth_linkstatus_set(dev, &link);
	/* A device whose server is gone holds nothing any more. */
	if (!vuv_removed(hw) && vuv_reset(hw) != 0)
		VUV_LOG(WARNING, "%s: device did not reset", dev->data->name);
	vuv_queues_reset(dev);
	vuv_io_fds_put(hw);
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static int
vuv_dev_start(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;
	struct vuv_queue *vqs[2 * VUV_MAX_PAIRS + 1];
	unsigned int i, n;
	uint16_t pairs;
	int ret;

	if (vuv_removed(hw))
		return -ENODEV;
	for (i = 0; i < hw->nb_pairs; i++) {
		if ((i < dev->data->nb_rx_queues && dev->data->rx_queues[i] == NULL) ||
		    (i < dev->data->nb_tx_queues && dev->data->tx_queues[i] == NULL)) {
			VUV_LOG(ERR, "%s: queue %u not set up", dev->data->name, i);
			return -EINVAL;
		}
	}
	/* From a clean device: a previous run may have left buffers in it. */
	ret = vuv_negotiate(hw);
	if (ret != 0)
		return ret;
	vuv_queues_reset(dev);
	vuv_io_fds_get(hw);
	n = vuv_queues(dev, vqs);
	for (i = 0; i < n; i++) {
		ret = vuv_queue_program(hw, vqs[i]);
		if (ret != 0)
			goto fail;
	}
	if (hw->intr_enabled && dev->data->dev_conf.intr_conf.lsc &&
	    vuv_set_config_vector(hw, 0) != 0)
		VUV_LOG(WARNING, "%s: device refused the config-change vector", dev->data->name);
	ret = vuv_set_status(hw, VUV_STATUS_ACK | VUV_STATUS_DRIVER | VUV_STATUS_FEATURES_OK |
			VUV_STATUS_DRIVER_OK);
	if (ret != 0 || (vuv_get_status(hw) & (VUV_STATUS_NEEDS_RESET | VUV_STATUS_FAILED))) {
		VUV_LOG(ERR, "%s: device did not accept DRIVER_OK", dev->data->name);
		ret = -EIO;
		goto fail;
	}
	hw->started = true;
	if (vuv_has(hw, VUV_NET_F_MQ)) {
		pairs = rte_cpu_to_le_16(hw->nb_pairs);
		ret = vuv_ctrl_send(hw, VUV_CTRL_MQ, VUV_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2);
		if (ret != 0) {
			VUV_LOG(ERR, "%s: device refused %u queue pairs", dev->data->name,
					hw->nb_pairs);
			goto fail;
		}
	}
	if (vuv_has(hw, VUV_NET_F_CTRL_RX) &&
	    (vuv_set_rx_mode(hw, VUV_CTRL_RX_PROMISC, dev->data->promiscuous) != 0 ||
	     vuv_set_rx_mode(hw, VUV_CTRL_RX_ALLMULTI, dev->data->all_multicast) != 0))
		VUV_LOG(WARNING, "%s: device refused the Rx mode", dev->data->name);
	for (i = 0; i < dev->data->nb_rx_queues; i++) {
		struct vuv_queue *vq = dev->data->rx_queues[i];

		vuv_rxq_fill(vq);
		__atomic_store_n(&vq->avail->idx, rte_cpu_to_le_16(vq->avail_idx),
				__ATOMIC_RELEASE);
		vq->kicked_idx = vq->avail_idx;
		vuv_kick(vq);
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	}
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	vuv_link_update(dev, 0);
	return 0;
fail:
	vuv_dev_stop(dev);
	return ret;
}

static void
vuv_release_all(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++)
		vuv_rx_queue_release(dev, i);
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		vuv_tx_queue_release(dev, i);
	vuv_queue_free(hw->ctrlq);
	hw->ctrlq = NULL;
	rte_memzone_free(hw->ctrl_mz);
	hw->ctrl_mz = NULL;
}

static void vuv_intr_handler(void *arg);
static void vuv_dev_event(const char *name, enum rte_dev_event_type type, void *arg);

static int
vuv_dev_close(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	if (hw->started)
		vuv_dev_stop(dev);
	else if (!vuv_removed(hw))
		vuv_reset(hw);
	if (hw->intr_enabled) {
		rte_intr_callback_unregister_sync(hw->vdev->intr_handle, vuv_intr_handler, dev);
		rte_vfio_user_bus_dev_irq_disable(hw->vdev);
		hw->intr_enabled = false;
	}
	rte_dev_event_callback_unregister(hw->vdev->device.name, vuv_dev_event, dev);
	vuv_release_all(dev);
	return 0;
}

static int vuv_ctrlq_setup(struct vuv_hw *hw);

/* Ethdev stops the port first; the application configures it again after. */
static int
vuv_dev_reset(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;
	int ret;

	vuv_release_all(dev);
	ret = vuv_negotiate(hw);
	if (ret != 0)
		return ret;
	rte_ether_addr_copy(&hw->mac, &dev->data->mac_addrs[0]);
	return vuv_ctrlq_setup(hw);
}

static int
vuv_link_update(struct rte_eth_dev *dev, int wait_to_complete __rte_unused)
{
	struct vuv_hw *hw = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_UNKNOWN,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_AUTONEG,
		.link_status = RTE_ETH_LINK_DOWN,
	};
	uint16_t status;

	if (hw->started && !vuv_removed(hw)) {
		if (!vuv_has(hw, VUV_NET_F_STATUS))
			link.link_status = RTE_ETH_LINK_UP;
		else if (vuv_read_dev_cfg(hw, VUV_NETCFG_STATUS, &status, 2) == 0)
			link.link_status = !!(rte_le_to_cpu_16(status) & VUV_NET_S_LINK_UP);
	}
	return rte_eth_linkstatus_set(dev, &link);
}

static int
vuv_promiscuous_enable(struct rte_eth_dev *dev)
{
	return vuv_set_rx_mode(dev->data->dev_private, VUV_CTRL_RX_PROMISC, true);
}

static int
vuv_promiscuous_disable(struct rte_eth_dev *dev)
{
	return vuv_set_rx_mode(dev->data->dev_private, VUV_CTRL_RX_PROMISC, false);
}

static int
vuv_allmulticast_enable(struct rte_eth_dev *dev)
{
	return vuv_set_rx_mode(dev->data->dev_private, VUV_CTRL_RX_ALLMULTI, true);
}

static int
vuv_allmulticast_disable(struct rte_eth_dev *dev)
{
	return vuv_set_rx_mode(dev->data->dev_private, VUV_CTRL_RX_ALLMULTI, false);
}

static int
vuv_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats)
{
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++) {
		const struct vuv_queue *vq = dev->data->rx_queues[i];

		if (vq == NULL)
			continue;
		stats->ipackets += vq->st.rx.packets;
		stats->ibytes += vq->st.rx.bytes;
		stats->ierrors += vq->st.rx.errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			stats->q_ipackets[i] = vq->st.rx.packets;
			stats->q_ibytes[i] = vq->st.rx.bytes;
			stats->q_errors[i] = vq->st.rx.errors;
		}
	}
	for (i = 0; i < dev->data->nb_tx_queues; i++) {
		const struct vuv_queue *vq = dev->data->tx_queues[i];

		if (vq == NULL)
			continue;
		stats->opackets += vq->st.tx.packets;
		stats->obytes += vq->st.tx.bytes;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			stats->q_opackets[i] = vq->st.tx.packets;
			stats->q_obytes[i] = vq->st.tx.bytes;
		}
	}
	stats->rx_nombuf = dev->data->rx_mbuf_alloc_failed;
	return 0;
}

static int
vuv_stats_reset(struct rte_eth_dev *dev)
{
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++)
		if (dev->data->rx_queues[i] != NULL)
			memset(&((struct vuv_queue *)dev->data->rx_queues[i])->st, 0,
					sizeof(struct vuv_rxq_stats));
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		if (dev->data->tx_queues[i] != NULL)
			memset(&((struct vuv_queue *)dev->data->tx_queues[i])->st, 0,
					sizeof(struct vuv_txq_stats));
	dev->data->rx_mbuf_alloc_failed = 0;
	return 0;
}

/* Per-queue extended statistics: name suffix and offset in the queue's counters. */
struct vuv_xstat {
	const char *name;
	size_t offset;
};

static const struct vuv_xstat vuv_rx_xstats[] = {
	{ "packets", offsetof(struct vuv_rxq_stats, packets) },
	{ "bytes", offsetof(struct vuv_rxq_stats, bytes) },
	{ "errors", offsetof(struct vuv_rxq_stats, errors) },
	{ "mbuf_allocation_errors", offsetof(struct vuv_rxq_stats, nombuf) },
	{ "multi_buffer_packets", offsetof(struct vuv_rxq_stats, multi_buf) },
	{ "notifications", offsetof(struct vuv_rxq_stats, kicks) },
};

static const struct vuv_xstat vuv_tx_xstats[] = {
	{ "packets", offsetof(struct vuv_txq_stats, packets) },
	{ "bytes", offsetof(struct vuv_txq_stats, bytes) },
	{ "ring_full", offsetof(struct vuv_txq_stats, full) },
	{ "notifications", offsetof(struct vuv_txq_stats, kicks) },
};

static unsigned int
vuv_xstats_count(const struct rte_eth_dev *dev)
{
	return dev->data->nb_rx_queues * RTE_DIM(vuv_rx_xstats) +
		dev->data->nb_tx_queues * RTE_DIM(vuv_tx_xstats);
}

static int
vuv_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
		unsigned int size)
{
	unsigned int count = vuv_xstats_count(dev), n = 0, i, q;

	if (names == NULL || size < count)
		return count;
	for (q = 0; q < dev->data->nb_rx_queues; q++)
		for (i = 0; i < RTE_DIM(vuv_rx_xstats); i++)
			snprintf(names[n++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_%s", q,
					vuv_rx_xstats[i].name);
	for (q = 0; q < dev->data->nb_tx_queues; q++)
		for (i = 0; i < RTE_DIM(vuv_tx_xstats); i++)
			snprintf(names[n++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_%s", q,
					vuv_tx_xstats[i].name);
	return count;
}

static int
vuv_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xstats, unsigned int size)
{
	unsigned int count = vuv_xstats_count(dev), n = 0, i, q;

	if (xstats == NULL || size < count)
		return count;
	for (q = 0; q < dev->data->nb_rx_queues; q++) {
		const struct vuv_queue *vq = dev->data->rx_queues[q];

		for (i = 0; i < RTE_DIM(vuv_rx_xstats); i++, n++) {
			xstats[n].id = n;
			xstats[n].value = vq == NULL ? 0 : *(const uint64_t *)
				((const char *)&vq->st.rx + vuv_rx_xstats[i].offset);
		}
	}
	for (q = 0; q < dev->data->nb_tx_queues; q++) {
		const struct vuv_queue *vq = dev->data->tx_queues[q];

		for (i = 0; i < RTE_DIM(vuv_tx_xstats); i++, n++) {
			xstats[n].id = n;
			xstats[n].value = vq == NULL ? 0 : *(const uint64_t *)
				((const char *)&vq->st.tx + vuv_tx_xstats[i].offset);
		}
	}
	return count;
}

static const struct {
	unsigned int bit;
	const char *name;
} vuv_feature_names[] = {
	{ VUV_F_VERSION_1, "VERSION_1" },
	{ VUV_NET_F_MAC, "MAC" },
	{ VUV_NET_F_STATUS, "STATUS" },
	{ VUV_NET_F_MRG_RXBUF, "MRG_RXBUF" },
	{ VUV_NET_F_CTRL_VQ, "CTRL_VQ" },
	{ VUV_NET_F_CTRL_RX, "CTRL_RX" },
	{ VUV_NET_F_MQ, "MQ" },
	{ VUV_F_RING_EVENT_IDX, "EVENT_IDX" },
};

static void
vuv_dump_features(FILE *f, const char *what, uint64_t features)
{
	unsigned int i;

	fprintf(f, "  %s: 0x%" PRIx64, what, features);
	for (i = 0; i < RTE_DIM(vuv_feature_names); i++)
		if (features & VUV_BIT(vuv_feature_names[i].bit))
			fprintf(f, " %s", vuv_feature_names[i].name);
	fprintf(f, "\n");
}

static int
vuv_priv_dump(struct rte_eth_dev *dev, FILE *f)
{
	struct vuv_hw *hw = dev->data->dev_private;
	struct vuv_queue *vqs[2 * VUV_MAX_PAIRS + 1];
	unsigned int i, n = vuv_queues(dev, vqs);

	fprintf(f, "  vfio_user device: %s, socket %s%s\n", hw->vdev->device.name,
			hw->vdev->path, vuv_removed(hw) ? " (removed)" : "");
	vuv_dump_features(f, "offered", hw->host_features);
	vuv_dump_features(f, "negotiated", hw->features);
	fprintf(f, "  queue pairs: %u of %u, status 0x%x\n", hw->nb_pairs, hw->max_pairs,
			vuv_removed(hw) ? 0 : vuv_get_status(hw));
	fprintf(f, "  access: common %s, notify %s, device cfg %s\n",
			hw->common.addr ? "mapped" : "messages",
			hw->notify.addr ? "mapped" : "messages",
			hw->device.addr ? "mapped" : "messages");
	for (i = 0; i < n; i++)
		fprintf(f, "  virtqueue %u: size %u, avail %u, used %u, free %u, kick by %s\n",
				vqs[i]->index, vqs[i]->size, vqs[i]->avail_idx,
				vqs[i]->used_idx, vqs[i]->num_free,
				vqs[i]->kick_fd >= 0 ? "ioeventfd" :
				vqs[i]->notify != NULL ? "store" : "message");
	return 0;
}

static const struct eth_dev_ops vuv_ops = {
	.dev_configure = vuv_dev_configure,
	.dev_start = vuv_dev_start,
	.dev_stop = vuv_dev_stop,
	.dev_close = vuv_dev_close,
	.dev_reset = vuv_dev_reset,
	.dev_infos_get = vuv_dev_infos_get,
	.link_update = vuv_link_update,
	.promiscuous_enable = vuv_promiscuous_enable,
	.promiscuous_disable = vuv_promiscuous_disable,
	.allmulticast_enable = vuv_allmulticast_enable,
	.allmulticast_disable = vuv_allmulticast_disable,
	.stats_get = vuv_stats_get,
	.stats_reset = vuv_stats_reset,
	.xstats_get = vuv_xstats_get,
	.xstats_get_names = vuv_xstats_get_names,
	.xstats_reset = vuv_stats_reset,
	.rx_queue_setup = vuv_rx_queue_setup,
	.rx_queue_release = vuv_rx_queue_release,
	.tx_queue_setup = vuv_tx_queue_setup,
	.tx_queue_release = vuv_tx_queue_release,
	.eth_dev_priv_dump = vuv_priv_dump,
};

/* MSI-X vector 0: the device's configuration changed (link status). */
static void
vuv_intr_handler(void *arg)
{
	struct rte_eth_dev *dev = arg;
	struct rte_eth_link before;

	rte_eth_linkstatus_get(dev, &before);
	vuv_link_update(dev, 0);
	if (before.link_status != dev->data->dev_link.link_status)
		rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

/* The bus says the server went away: the link is down and the port gone. */
static void
vuv_dev_event(const char *name __rte_unused, enum rte_dev_event_type type, void *arg)
{
	struct rte_eth_dev *dev = arg;
	struct rte_eth_link link = { .link_status = RTE_ETH_LINK_DOWN };

	if (type != RTE_DEV_EVENT_REMOVE)
		return;
	VUV_LOG(NOTICE, "%s: the server went away", dev->data->name);
	rte_eth_linkstatus_set(dev, &link);
	rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RMV, NULL);
}

static int
vuv_ctrlq_setup(struct vuv_hw *hw)
{
	struct rte_eth_dev *dev = hw->eth_dev;
	char name[RTE_MEMZONE_NAMESIZE];
	uint16_t size;
	int ret;

	if (!vuv_has(hw, VUV_NET_F_CTRL_VQ))
		return 0;
	ret = vuv_ring_size(hw, 2 * hw->dev_pairs, VUV_CTRLQ_SIZE, &size);
	if (ret != 0)
		return ret;
	snprintf(name, sizeof(name), "vuv_%u_ctrl", dev->data->port_id);
	hw->ctrl_mz = rte_memzone_reserve(name, RTE_CACHE_LINE_SIZE, dev->data->numa_node,
			RTE_MEMZONE_IOVA_CONTIG);
	hw->ctrlq = vuv_queue_alloc(hw, VUV_CTRLQ, 2 * hw->dev_pairs, 0, size,
			dev->data->numa_node);
	if (hw->ctrl_mz == NULL || hw->ctrlq == NULL) {
		vuv_queue_free(hw->ctrlq);
		hw->ctrlq = NULL;
		rte_memzone_free(hw->ctrl_mz);
		hw->ctrl_mz = NULL;
		return -ENOMEM;
	}
	hw->ctrl_buf = hw->ctrl_mz->addr;
	hw->ctrl_buf_iova = hw->ctrl_mz->iova;
	return 0;
}

/* Config-change interrupts on MSI-X vector 0, when the device has MSI-X. */
static void
vuv_intr_setup(struct rte_eth_dev *dev)
{
	struct vuv_hw *hw = dev->data->dev_private;

	if (rte_vfio_user_bus_dev_irq_enable(hw->vdev, 1) != 0)
		return;
	if (rte_intr_callback_register(hw->vdev->intr_handle, vuv_intr_handler, dev) != 0) {
		rte_vfio_user_bus_dev_irq_disable(hw->vdev);
		return;
	}
	hw->intr_enabled = true;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC;
}

static int
vuv_probe(struct rte_vfio_user_bus_device *vdev)
{
	const char *name = vdev->device.name;
	struct rte_eth_dev *dev;
	struct vuv_hw *hw;
	int ret;

	/* The rings and the device state live in one process only. */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		VUV_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	dev = rte_eth_dev_allocate(name);
	if (dev == NULL)
		return -ENOMEM;
	hw = rte_zmalloc_socket("vuv_hw", sizeof(*hw), RTE_CACHE_LINE_SIZE,
			vdev->device.numa_node);
	dev->data->mac_addrs = rte_zmalloc("vuv_mac", RTE_ETHER_ADDR_LEN, 0);
	if (hw == NULL || dev->data->mac_addrs == NULL) {
		rte_free(hw);
		hw = NULL;
		ret = -ENOMEM;
		goto fail;
	}
	dev->data->dev_private = hw;
	dev->device = &vdev->device;
	dev->data->numa_node = vdev->device.numa_node;
	hw->vdev = vdev;
	hw->eth_dev = dev;
	rte_spinlock_init(&hw->ctrl_lock);

	ret = vuv_pci_init(hw);
	if (ret == 0)
		ret = vuv_negotiate(hw);
	if (ret == 0)
		ret = vuv_ctrlq_setup(hw);
	if (ret != 0)
		goto fail;
	rte_ether_addr_copy(&hw->mac, &dev->data->mac_addrs[0]);

	dev->dev_ops = &vuv_ops;
	dev->rx_pkt_burst = vuv_recv_pkts;
	dev->tx_pkt_burst = vuv_xmit_pkts;
	/* No RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS: the xstats are per queue already. */
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_RMV;
	vuv_intr_setup(dev);
	ret = rte_dev_event_callback_register(name, vuv_dev_event, dev);
	if (ret != 0) {
		VUV_LOG(ERR, "%s: cannot watch for removal (%d)", name, ret);
		vuv_dev_close(dev);
		goto fail;
	}
	rte_eth_dev_probing_finish(dev);
	VUV_LOG(INFO, "%s: port %u, MAC " RTE_ETHER_ADDR_PRT_FMT ", features 0x%" PRIx64
			" of 0x%" PRIx64 ", %u queue pairs%s", name, dev->data->port_id,
			RTE_ETHER_ADDR_BYTES(&hw->mac), hw->features, hw->host_features,
			hw->max_pairs, hw->intr_enabled ? ", link interrupt" : "");
	return 0;
fail:
	if (hw != NULL) {
		vuv_release_all(dev);
		if (!vuv_removed(hw))
			vuv_set_status(hw, VUV_STATUS_FAILED);
	}
	rte_eth_dev_release_port(dev);
	return ret;
}

static int
vuv_remove(struct rte_vfio_user_bus_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(vdev->device.name);

	if (dev == NULL)
		return 0; /* The application closed the port already. */
	/* Ethdev closes stopped ports only. */
	if (dev->data->dev_started)
		rte_eth_dev_stop(dev->data->port_id);
	return rte_eth_dev_close(dev->data->port_id);
}

static const struct rte_pci_id vuv_id_table[] = {
	{
		.class_id = RTE_CLASS_ANY_ID,
		.vendor_id = VUV_PCI_VENDOR_VIRTIO,
		.device_id = VUV_PCI_DEVICE_NET_MODERN,
		.subsystem_vendor_id = RTE_PCI_ANY_ID,
		.subsystem_device_id = RTE_PCI_ANY_ID,
	},
	{ .vendor_id = 0 },
};

static struct rte_vfio_user_bus_driver vuv_driver = {
	.id_table = vuv_id_table,
	.probe = vuv_probe,
	.remove = vuv_remove,
};

RTE_PMD_REGISTER_VFIO_USER_BUS(net_vfio_user_virtio, vuv_driver);
RTE_PMD_REGISTER_PCI_TABLE(net_vfio_user_virtio, vuv_id_table);

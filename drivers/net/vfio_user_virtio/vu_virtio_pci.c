/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The virtio 1.x modern PCI transport over the vfio_user bus: the vendor
 * capabilities in config space say in which BAR, at which offset, the common
 * configuration, notification, ISR and device configuration structures are.
 * Each is reached through the bus's mapping of the BAR when the server made
 * that part mappable, with region read/write messages otherwise.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_io.h>
#include <linux/pci_regs.h>

#include "vu_virtio.h"

/* How long the device may take to finish a reset (it polls on another core). */
#define VUV_RESET_TIMEOUT_US	(5 * 1000 * 1000)
/* A capability list longer than this loops. */
#define VUV_MAX_CAPS		48

static int
vuv_region_read(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, void *buf,
		uint32_t len)
{
	ssize_t n = rte_vfio_user_bus_dev_region_read(hw->vdev, r->bar, r->offset + off, buf,
			len);

	if (n < 0)
		return (int)n;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int
vuv_region_write(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off,
		const void *buf, uint32_t len)
{
	ssize_t n = rte_vfio_user_bus_dev_region_write(hw->vdev, r->bar, r->offset + off, buf,
			len);

	if (n < 0)
		return (int)n;
	return n == (ssize_t)len ? 0 : -EIO;
}

/*
 * Read len bytes (raw, little endian) at off of a structure. Fields of 1, 2
 * and 4 bytes are read with one access of their width, as the specification
 * asks of drivers; anything else byte by byte.
 */
int
vuv_cfg_read(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, void *buf,
		uint32_t len)
{
	volatile uint8_t *p;
	uint32_t i;

	if (off + len > r->length)
		return -EINVAL;
	if (r->addr == NULL) {
		if (len == 1 || len == 2 || len == 4)
			return vuv_region_read(hw, r, off, buf, len);
		for (i = 0; i < len; i++)
			if (vuv_region_read(hw, r, off + i, (uint8_t *)buf + i, 1) != 0)
				return -EIO;
		return 0;
	}
	p = r->addr + off;
	switch (len) {
	case 2: {
		uint16_t v = *(volatile uint16_t *)p;

		memcpy(buf, &v, 2);
		break;
	}
	case 4: {
		uint32_t v = *(volatile uint32_t *)p;

		memcpy(buf, &v, 4);
		break;
	}
	default:
		for (i = 0; i < len; i++)
			((uint8_t *)buf)[i] = p[i];
	}
	rte_io_rmb();
	return 0;
}

/* Write a field of 1, 2 or 4 bytes (raw, little endian) with one access. */
int
vuv_cfg_write(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, const void *buf,
		uint32_t len)
{
	volatile uint8_t *p;

	if (off + len > r->length || (len != 1 && len != 2 && len != 4))
		return -EINVAL;
	if (r->addr == NULL)
		return vuv_region_write(hw, r, off, buf, len);
	p = r->addr + off;
	rte_io_wmb();
	switch (len) {
	case 1:
		*p = *(const uint8_t *)buf;
		break;
	case 2: {
		uint16_t v;

		memcpy(&v, buf, 2);
		*(volatile uint16_t *)p = v;
		break;
	}
	default: {
		uint32_t v;

		memcpy(&v, buf, 4);
		*(volatile uint32_t *)p = v;
	}
	}
	rte_io_wmb();
	return 0;
}

static int
vuv_read16(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint16_t *val)
{
	uint16_t v;
	int ret = vuv_cfg_read(hw, r, off, &v, 2);

	*val = ret == 0 ? rte_le_to_cpu_16(v) : 0;
	return ret;
}

static int
vuv_read32(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint32_t *val)
{
	uint32_t v;
	int ret = vuv_cfg_read(hw, r, off, &v, 4);

	*val = ret == 0 ? rte_le_to_cpu_32(v) : 0;
	return ret;
}

static int
vuv_write8(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint8_t val)
{
	return vuv_cfg_write(hw, r, off, &val, 1);
}

static int
vuv_write16(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint16_t val)
{
	uint16_t v = rte_cpu_to_le_16(val);

	return vuv_cfg_write(hw, r, off, &v, 2);
}

static int
vuv_write32(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint32_t val)
{
	uint32_t v = rte_cpu_to_le_32(val);

	return vuv_cfg_write(hw, r, off, &v, 4);
}

/* 64-bit fields as two 32-bit writes, low half first (allowed by the spec). */
static int
vuv_write64(struct vuv_hw *hw, const struct vuv_region *r, uint32_t off, uint64_t val)
{
	if (vuv_write32(hw, r, off, (uint32_t)val) != 0 ||
	    vuv_write32(hw, r, off + 4, (uint32_t)(val >> 32)) != 0)
		return -EIO;
	return 0;
}

static int
vuv_pci_cfg_read(struct vuv_hw *hw, uint32_t off, void *buf, uint32_t len)
{
	ssize_t n = rte_vfio_user_bus_dev_region_read(hw->vdev, VFIO_PCI_CONFIG_REGION_INDEX,
			off, buf, len);

	return n == (ssize_t)len ? 0 : -EIO;
}

/* Check a capability's BAR window and find its mapping, if any. */
static int
vuv_cap_locate(struct vuv_hw *hw, struct vuv_region *r, uint8_t bar, uint32_t offset,
		uint32_t length, uint32_t min_len)
{
	const struct rte_vfio_user_bus_region *reg;

	if (bar > VFIO_PCI_BAR5_REGION_INDEX || length < min_len)
		return -EINVAL;
	reg = &hw->vdev->regions[bar];
	if ((uint64_t)offset + length > reg->size)
		return -EINVAL;
	r->bar = bar;
	r->offset = offset;
	r->length = length;
	r->addr = rte_vfio_user_bus_dev_region_addr(hw->vdev, bar, offset, length);
	return 0;
}

/* Walk the capability list for the four structures the driver uses. */
static int
vuv_find_caps(struct vuv_hw *hw)
{
	const char *name = hw->vdev->device.name;
	uint8_t cap[VUV_NOTIFY_CAP_MIN_LEN];
	uint16_t status;
	uint8_t pos;
	unsigned int n;
	bool found[VUV_CAP_DEVICE_CFG + 1] = { false };
	uint32_t offset, length, min_len;
	struct vuv_region *r;

	if (vuv_pci_cfg_read(hw, PCI_STATUS, &status, 2) != 0)
		return -EIO;
	if (!(rte_le_to_cpu_16(status) & PCI_STATUS_CAP_LIST)) {
		VUV_LOG(ERR, "%s: no PCI capability list", name);
		return -ENODEV;
	}
	if (vuv_pci_cfg_read(hw, PCI_CAPABILITY_LIST, &pos, 1) != 0)
		return -EIO;
	for (n = 0; pos != 0 && n < VUV_MAX_CAPS; n++) {
		pos &= ~3;
		if (pos < 0x40 || vuv_pci_cfg_read(hw, pos, cap, 2) != 0)
			return -EIO;
		if (cap[0] != VUV_PCI_CAP_ID_VNDR)
			goto next;
		if (vuv_pci_cfg_read(hw, pos, cap, VUV_CAP_MIN_LEN) != 0)
			return -EIO;
		if (cap[2] < VUV_CAP_MIN_LEN || cap[VUV_CAP_OFF_TYPE] > VUV_CAP_DEVICE_CFG ||
		    cap[VUV_CAP_OFF_TYPE] == 0)
			goto next;
		/* The first capability of each type is the preferred one. */
		if (found[cap[VUV_CAP_OFF_TYPE]])
			goto next;
		memcpy(&offset, &cap[VUV_CAP_OFF_OFFSET], 4);
		memcpy(&length, &cap[VUV_CAP_OFF_LENGTH], 4);
		offset = rte_le_to_cpu_32(offset);
		length = rte_le_to_cpu_32(length);
		min_len = 1;
		switch (cap[VUV_CAP_OFF_TYPE]) {
		case VUV_CAP_COMMON_CFG:
			r = &hw->common;
			min_len = VUV_COMMON_CFG_LEN;
			break;
		case VUV_CAP_NOTIFY_CFG:
			r = &hw->notify;
			if (cap[2] < VUV_NOTIFY_CAP_MIN_LEN ||
			    vuv_pci_cfg_read(hw, pos + VUV_CAP_OFF_NOTIFY_MULT,
					&hw->notify_mult, 4) != 0)
				goto next;
			hw->notify_mult = rte_le_to_cpu_32(hw->notify_mult);
			min_len = 2;
			break;
		case VUV_CAP_ISR_CFG:
			r = &hw->isr;
			break;
		default:
			r = &hw->device;
			min_len = VUV_NETCFG_MAX_PAIRS + 2;
			break;
		}
		if (vuv_cap_locate(hw, r, cap[VUV_CAP_OFF_BAR], offset, length, min_len) != 0) {
			VUV_LOG(WARNING, "%s: capability type %u at 0x%x: bad window (BAR %u, "
					"offset 0x%x, length %u)", name,
					cap[VUV_CAP_OFF_TYPE], pos, cap[VUV_CAP_OFF_BAR],
					offset, length);
			goto next;
		}
		found[cap[VUV_CAP_OFF_TYPE]] = true;
next:
		if (vuv_pci_cfg_read(hw, pos + 1, &pos, 1) != 0)
			return -EIO;
	}
	if (!found[VUV_CAP_COMMON_CFG] || !found[VUV_CAP_NOTIFY_CFG] ||
	    !found[VUV_CAP_ISR_CFG] || !found[VUV_CAP_DEVICE_CFG]) {
		VUV_LOG(ERR, "%s: not a modern virtio device (capabilities: common %d, "
				"notify %d, isr %d, device %d)", name, found[1], found[2],
				found[3], found[4]);
		return -ENODEV;
	}
	return 0;
}

int
vuv_pci_init(struct vuv_hw *hw)
{
	int ret = vuv_find_caps(hw);

	if (ret != 0)
		return ret;
	VUV_LOG(INFO, "%s: common cfg %s, notify %s (multiplier %u), isr %s, device cfg %s",
			hw->vdev->device.name,
			hw->common.addr ? "mapped" : "by message",
			hw->notify.addr ? "mapped" : "by message", hw->notify_mult,
			hw->isr.addr ? "mapped" : "by message",
			hw->device.addr ? "mapped" : "by message");
	return vuv_read16(hw, &hw->common, VUV_COMMON_NUMQ, &hw->num_queues);
}

uint8_t
vuv_get_status(struct vuv_hw *hw)
{
	uint8_t st;

	if (vuv_cfg_read(hw, &hw->common, VUV_COMMON_STATUS, &st, 1) != 0)
		return VUV_STATUS_FAILED;
	return st;
}

int
vuv_set_status(struct vuv_hw *hw, uint8_t status)
{
	return vuv_write8(hw, &hw->common, VUV_COMMON_STATUS, status);
}

/* Write 0 to the status and wait until the device reads back 0. */
int
vuv_reset(struct vuv_hw *hw)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * VUV_RESET_TIMEOUT_US / 1000000;
	uint8_t st;

	if (vuv_removed(hw))
		return -ENODEV;
	if (vuv_set_status(hw, 0) != 0)
		return -EIO;
	for (;;) {
		if (vuv_cfg_read(hw, &hw->common, VUV_COMMON_STATUS, &st, 1) != 0)
			return -EIO;
		if (st == 0)
			return 0;
		if (vuv_removed(hw))
			return -ENODEV;
		if (rte_get_timer_cycles() > end)
			return -ETIMEDOUT;
		rte_delay_us_sleep(100);
	}
}

/* Read a device configuration field consistently (config_generation). */
int
vuv_read_dev_cfg(struct vuv_hw *hw, uint32_t off, void *buf, uint32_t len)
{
	uint8_t gen, gen2;
	unsigned int tries;

	for (tries = 0; tries < 100; tries++) {
		if (vuv_cfg_read(hw, &hw->common, VUV_COMMON_CFGGEN, &gen, 1) != 0 ||
		    vuv_cfg_read(hw, &hw->device, off, buf, len) != 0 ||
		    vuv_cfg_read(hw, &hw->common, VUV_COMMON_CFGGEN, &gen2, 1) != 0)
			return -EIO;
		if (gen == gen2)
			return 0;
	}
	return -EAGAIN;
}

static int
vuv_read_features(struct vuv_hw *hw, uint64_t *features)
{
	uint32_t lo, hi;

	if (vuv_write32(hw, &hw->common, VUV_COMMON_DFSELECT, 0) != 0 ||
	    vuv_read32(hw, &hw->common, VUV_COMMON_DF, &lo) != 0 ||
	    vuv_write32(hw, &hw->common, VUV_COMMON_DFSELECT, 1) != 0 ||
	    vuv_read32(hw, &hw->common, VUV_COMMON_DF, &hi) != 0)
		return -EIO;
	*features = ((uint64_t)hi << 32) | lo;
	return 0;
}

static int
vuv_write_features(struct vuv_hw *hw, uint64_t features)
{
	if (vuv_write32(hw, &hw->common, VUV_COMMON_GFSELECT, 0) != 0 ||
	    vuv_write32(hw, &hw->common, VUV_COMMON_GF, (uint32_t)features) != 0 ||
	    vuv_write32(hw, &hw->common, VUV_COMMON_GFSELECT, 1) != 0 ||
	    vuv_write32(hw, &hw->common, VUV_COMMON_GF, (uint32_t)(features >> 32)) != 0)
		return -EIO;
	return 0;
}

/*
 * Initialisation up to FEATURES_OK (virtio 1.x, 3.1.1): reset, ACKNOWLEDGE,
 * DRIVER, feature negotiation; then the device configuration is read. The
 * queues and DRIVER_OK follow at dev_start.
 */
int
vuv_negotiate(struct vuv_hw *hw)
{
	const char *name = hw->vdev->device.name;
	uint64_t want;
	uint16_t pairs;
	int ret;

	ret = vuv_reset(hw);
	if (ret != 0) {
		VUV_LOG(ERR, "%s: device reset failed (%s)", name, strerror(-ret));
		return ret;
	}
	if (vuv_set_status(hw, VUV_STATUS_ACK) != 0 ||
	    vuv_set_status(hw, VUV_STATUS_ACK | VUV_STATUS_DRIVER) != 0 ||
	    vuv_read_features(hw, &hw->host_features) != 0)
		return -EIO;
	if (!(hw->host_features & VUV_BIT(VUV_F_VERSION_1))) {
		VUV_LOG(ERR, "%s: device does not offer VERSION_1", name);
		vuv_set_status(hw, VUV_STATUS_FAILED);
		return -ENOTSUP;
	}
	want = hw->host_features & VUV_DRIVER_FEATURES;
	/* The control-queue features are nothing without the control queue. */
	if (!(want & VUV_BIT(VUV_NET_F_CTRL_VQ)))
		want &= ~(VUV_BIT(VUV_NET_F_MQ) | VUV_BIT(VUV_NET_F_CTRL_RX));
	if (vuv_write_features(hw, want) != 0 ||
	    vuv_set_status(hw, VUV_STATUS_ACK | VUV_STATUS_DRIVER | VUV_STATUS_FEATURES_OK) != 0)
		return -EIO;
	if (!(vuv_get_status(hw) & VUV_STATUS_FEATURES_OK)) {
		VUV_LOG(ERR, "%s: device refused features 0x%" PRIx64, name, want);
		vuv_set_status(hw, VUV_STATUS_FAILED);
		return -ENOTSUP;
	}
	hw->features = want;
	hw->hdr_size = sizeof(struct vuv_net_hdr);

	if (vuv_has(hw, VUV_NET_F_MAC)) {
		if (vuv_read_dev_cfg(hw, VUV_NETCFG_MAC, hw->mac.addr_bytes,
				RTE_ETHER_ADDR_LEN) != 0)
			return -EIO;
	} else if (rte_is_zero_ether_addr(&hw->mac)) {
		rte_eth_random_addr(hw->mac.addr_bytes);
	}
	pairs = 1;
	if (vuv_has(hw, VUV_NET_F_MQ)) {
		if (vuv_read_dev_cfg(hw, VUV_NETCFG_MAX_PAIRS, &pairs, 2) != 0)
			return -EIO;
		pairs = rte_le_to_cpu_16(pairs);
		if (pairs == 0 || pairs > VUV_MQ_PAIRS_MAX) {
			VUV_LOG(ERR, "%s: bad max_virtqueue_pairs %u", name, pairs);
			return -EINVAL;
		}
	}
	/* Rx and Tx of each pair, plus the control queue. */
	if (2u * pairs + vuv_has(hw, VUV_NET_F_CTRL_VQ) > hw->num_queues) {
		VUV_LOG(ERR, "%s: %u queue pairs announced, only %u queues", name, pairs,
				hw->num_queues);
		return -EINVAL;
	}
	hw->dev_pairs = pairs;
	hw->max_pairs = RTE_MIN(pairs, (uint16_t)VUV_MAX_PAIRS);
	return 0;
}

int
vuv_queue_max_size(struct vuv_hw *hw, uint16_t index, uint16_t *size)
{
	if (vuv_write16(hw, &hw->common, VUV_COMMON_Q_SELECT, index) != 0 ||
	    vuv_read16(hw, &hw->common, VUV_COMMON_Q_SIZE, size) != 0)
		return -EIO;
	return 0;
}

/* Close the ioeventfds taken from the device. */
void
vuv_io_fds_put(struct vuv_hw *hw)
{
	uint32_t i;

	for (i = 0; i < hw->nr_io_fds; i++)
		close(hw->io_fds[i].fd);
	hw->nr_io_fds = 0;
}

/*
 * Take the notify region's ioeventfds, if the device offers them: a kick is
 * then an eventfd write instead of a REGION_WRITE round trip. Without them
 * (none offered, too many, an error) kicks stay messages.
 */
void
vuv_io_fds_get(struct vuv_hw *hw)
{
	uint32_t count = RTE_DIM(hw->io_fds);
	int ret;

	vuv_io_fds_put(hw);
	if (hw->notify.addr != NULL)
		return; /* mapped: a store is cheaper still */
	ret = rte_vfio_user_get_reg_io_fds(hw->vdev->dev_id, hw->notify.bar, hw->io_fds, &count);
	if (ret != 0 || count > RTE_DIM(hw->io_fds)) {
		VUV_LOG(DEBUG, "%s: no ioeventfd taken (%d, %u offered)", hw->vdev->device.name,
				ret, count);
		return;
	}
	hw->nr_io_fds = count;
}

/*
 * The ioeventfd a queue's kick may go to: on its notify address, for a
 * 2-byte write (or any size), memory space, matching the queue index if it
 * matches data at all (the value a kick writes, section 4.1.5.2).
 */
static int
vuv_io_fd_find(const struct vuv_hw *hw, const struct vuv_queue *vq)
{
	const struct rte_vfio_user_io_fd *io;
	uint32_t i;

	for (i = 0; i < hw->nr_io_fds; i++) {
		io = &hw->io_fds[i];
		if (io->type == RTE_VFIO_USER_IO_FD_TYPE_IOEVENTFD &&
		    io->offset == hw->notify.offset + vq->notify_off &&
		    (io->size == 0 || io->size == 2) &&
		    (io->flags & ~(uint32_t)KVM_IOEVENTFD_FLAG_DATAMATCH) == 0 &&
		    (!(io->flags & KVM_IOEVENTFD_FLAG_DATAMATCH) || io->datamatch == vq->index))
			return io->fd;
	}
	return -1;
}

/* Give the device a queue's rings and enable it (before DRIVER_OK). */
int
vuv_queue_program(struct vuv_hw *hw, struct vuv_queue *vq)
{
	const struct vuv_region *c = &hw->common;
	uint16_t max, noff;

	if (vuv_queue_max_size(hw, vq->index, &max) != 0)
		return -EIO;
	if (max == 0 || vq->size > max) {
		VUV_LOG(ERR, "%s: queue %u: ring of %u, device allows %u",
				hw->vdev->device.name, vq->index, vq->size, max);
		return -EINVAL;
	}
	if (vuv_write16(hw, c, VUV_COMMON_Q_SIZE, vq->size) != 0 ||
	    vuv_write16(hw, c, VUV_COMMON_Q_MSIX, VUV_MSI_NO_VECTOR) != 0 ||
	    vuv_write64(hw, c, VUV_COMMON_Q_DESCLO, vq->desc_iova) != 0 ||
	    vuv_write64(hw, c, VUV_COMMON_Q_AVAILLO, vq->avail_iova) != 0 ||
	    vuv_write64(hw, c, VUV_COMMON_Q_USEDLO, vq->used_iova) != 0 ||
	    vuv_read16(hw, c, VUV_COMMON_Q_NOFF, &noff) != 0)
		return -EIO;
	vq->notify_off = (uint64_t)noff * hw->notify_mult;
	if (vq->notify_off + 2 > hw->notify.length) {
		VUV_LOG(ERR, "%s: queue %u: notify offset %" PRIu64 " outside the region",
				hw->vdev->device.name, vq->index, vq->notify_off);
		return -EINVAL;
	}
	vq->notify = hw->notify.addr != NULL ?
		(volatile uint16_t *)(hw->notify.addr + vq->notify_off) : NULL;
	vq->kick_fd = vuv_io_fd_find(hw, vq);
	return vuv_write16(hw, c, VUV_COMMON_Q_ENABLE, 1);
}

/* Notification through a region message, when the notify area is not mapped. */
void
vuv_notify_slow(struct vuv_queue *vq)
{
	uint16_t v = rte_cpu_to_le_16(vq->index);

	rte_vfio_user_bus_dev_region_write(vq->hw->vdev, vq->hw->notify.bar,
			vq->hw->notify.offset + vq->notify_off, &v, 2);
}

/* Reading the ISR status also clears it. */
uint8_t
vuv_read_isr(struct vuv_hw *hw)
{
	uint8_t isr = 0;

	vuv_cfg_read(hw, &hw->isr, 0, &isr, 1);
	return isr;
}

/* Route configuration-change interrupts to an MSI-X vector (or none). */
int
vuv_set_config_vector(struct vuv_hw *hw, uint16_t vector)
{
	uint16_t got;

	if (vuv_write16(hw, &hw->common, VUV_COMMON_MSIX, vector) != 0 ||
	    vuv_read16(hw, &hw->common, VUV_COMMON_MSIX, &got) != 0)
		return -EIO;
	return got == vector ? 0 : -ENOTSUP;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * PCI device-model helper: type-0 config space with its write mask, BARs
 * with size-probe semantics, the command register, and the description of
 * the device (regions and interrupts) to the server. Capabilities, MSI/MSI-X
 * state and interrupt delivery are in vfio_user_pci_caps.c.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <rte_common.h>
#include <rte_errno.h>

#include "vfio_user_private.h"
#include "vfio_user_pci_priv.h"

#define KNOWN_FLAGS (RTE_VFIO_USER_PCI_F_RESET | RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS)
#define BAR_KNOWN_FLAGS (RTE_VFIO_USER_PCI_BAR_F_IO | RTE_VFIO_USER_PCI_BAR_F_64 | \
		RTE_VFIO_USER_PCI_BAR_F_PREFETCH | RTE_VFIO_USER_PCI_BAR_F_MMAP)
/* Command register bits a driver may change (I/O space only with an I/O BAR). */
#define CMD_WMASK (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
		PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static int
bar_check(const struct rte_vfio_user_pci_info *info, unsigned int i)
{
	const struct rte_vfio_user_pci_bar *b = &info->bars[i];
	bool io = b->flags & RTE_VFIO_USER_PCI_BAR_F_IO;
	bool is64 = b->flags & RTE_VFIO_USER_PCI_BAR_F_64;
	uint32_t k;

	if (b->size == 0)
		return b->flags == 0 ? 0 : -EINVAL;
	if ((b->flags & ~BAR_KNOWN_FLAGS) != 0 || (b->size & (b->size - 1)) != 0)
		return -EINVAL;
	if (io && (is64 || (b->flags & RTE_VFIO_USER_PCI_BAR_F_PREFETCH) ||
			b->size < 4 || b->size > 256))
		return -EINVAL;
	if (!io && (b->size < 16 || (!is64 && b->size > (UINT64_C(1) << 31)) ||
			b->size > (UINT64_C(1) << 63)))
		return -EINVAL;
	/* The upper half of a 64-bit BAR takes the next slot. */
	if (is64 && (i + 1 == RTE_VFIO_USER_PCI_NUM_BARS || info->bars[i + 1].size != 0 ||
			info->bars[i + 1].flags != 0))
		return -EINVAL;
	if ((b->flags & RTE_VFIO_USER_PCI_BAR_F_MMAP) && b->fd < 0)
		return -EINVAL;
	if (b->nr_sparse != 0 && (b->sparse == NULL || !(b->flags & RTE_VFIO_USER_PCI_BAR_F_MMAP)))
		return -EINVAL;
	for (k = 0; k < b->nr_sparse; k++)
		if (b->sparse[k].size == 0 || b->sparse[k].offset >= b->size ||
				b->sparse[k].size > b->size - b->sparse[k].offset)
			return -EINVAL;
	if (b->nr_io_fds != 0 && b->io_fds == NULL)
		return -EINVAL;
	return 0;
}

static int
info_check(const struct rte_vfio_user_pci_info *info)
{
	unsigned int i;
	int ret;

	if ((info->cfg_size != RTE_VFIO_USER_PCI_CFG_SIZE &&
			info->cfg_size != RTE_VFIO_USER_PCI_CFG_SIZE_EXP) ||
			info->intx_pin > 4 || (info->flags & ~KNOWN_FLAGS) != 0 ||
			info->class_code > 0xffffff || (info->nr_caps != 0 && info->caps == NULL))
		return -EINVAL;
	for (i = 0; i < RTE_VFIO_USER_PCI_NUM_BARS; i++) {
		ret = bar_check(info, i);
		if (ret < 0)
			return ret;
		/* Skip the upper half of a 64-bit BAR, checked free above. */
		if (info->bars[i].flags & RTE_VFIO_USER_PCI_BAR_F_64)
			i++;
	}
	return 0;
}

/* BAR register value and write mask: writing all-ones reads back the size mask. */
static void
bar_reset(struct rte_vfio_user_pci *pci, unsigned int i)
{
	const struct rte_vfio_user_pci_bar *b = &pci->info.bars[i];
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * i;
	uint64_t mask = ~(b->size - 1);

	if (b->size == 0)
		return;
	if (b->flags & RTE_VFIO_USER_PCI_BAR_F_IO) {
		pci_cfg_set(pci, off, 4, PCI_BASE_ADDRESS_SPACE_IO,
			(uint32_t)mask & PCI_BASE_ADDRESS_IO_MASK);
		return;
	}
	pci_cfg_set(pci, off, 4,
		((b->flags & RTE_VFIO_USER_PCI_BAR_F_64) ? PCI_BASE_ADDRESS_MEM_TYPE_64 :
			PCI_BASE_ADDRESS_MEM_TYPE_32) |
		((b->flags & RTE_VFIO_USER_PCI_BAR_F_PREFETCH) ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0),
		(uint32_t)mask & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK);
	if (b->flags & RTE_VFIO_USER_PCI_BAR_F_64)
		pci_cfg_set(pci, off + 4, 4, 0, (uint32_t)(mask >> 32));
}

/* Power-on config space, MSI-X storage and INTx state. Under the lock or before use. */
static void
cfg_reset(struct rte_vfio_user_pci *pci)
{
	const struct rte_vfio_user_pci_info *info = &pci->info;
	uint16_t cmd_wmask = CMD_WMASK;
	unsigned int i;

	memset(pci->cfg, 0, info->cfg_size);
	memset(pci->wmask, 0, info->cfg_size);
	for (i = 0; i < RTE_VFIO_USER_PCI_NUM_BARS; i++)
		if (info->bars[i].flags & RTE_VFIO_USER_PCI_BAR_F_IO)
			cmd_wmask |= PCI_COMMAND_IO;
	pci_cfg_set(pci, PCI_VENDOR_ID, 2, info->vendor_id, 0);
	pci_cfg_set(pci, PCI_DEVICE_ID, 2, info->device_id, 0);
	pci_cfg_set(pci, PCI_COMMAND, 2, 0, cmd_wmask);
	pci_cfg_set(pci, PCI_REVISION_ID, 1, info->revision, 0);
	pci_cfg_set(pci, PCI_CLASS_PROG, 3, info->class_code, 0);
	pci_cfg_set(pci, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	pci_cfg_set(pci, PCI_LATENCY_TIMER, 1, 0, 0xff);
	pci_cfg_set(pci, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL, 0);
	for (i = 0; i < RTE_VFIO_USER_PCI_NUM_BARS; i++)
		bar_reset(pci, i);
	pci_cfg_set(pci, PCI_SUBSYSTEM_VENDOR_ID, 2, info->subsys_vendor_id, 0);
	pci_cfg_set(pci, PCI_SUBSYSTEM_ID, 2, info->subsys_id, 0);
	pci_cfg_set(pci, PCI_INTERRUPT_LINE, 1, 0, 0xff);
	pci_cfg_set(pci, PCI_INTERRUPT_PIN, 1, info->intx_pin, 0);
	vfio_user_pci_caps_reset(pci);
}

/* Config space region: reads of any size; writes through the mask. */
static ssize_t
cfg_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct rte_vfio_user_pci *pci = reg->priv;
	const struct rte_vfio_user_pci_ops *ops = &pci->info.ops;
	uint16_t old_cmd, new_cmd;
	size_t i;

	RTE_SET_USED(dev_id);
	pthread_mutex_lock(&pci->lock);
	if (!is_write) {
		memcpy(buf, &pci->cfg[offset], count);
		pthread_mutex_unlock(&pci->lock);
		return count;
	}
	old_cmd = pci_cfg_r16(pci, PCI_COMMAND);
	for (i = 0; i < count; i++) {
		uint8_t m = pci->wmask[offset + i];

		pci->cfg[offset + i] = (pci->cfg[offset + i] & ~m) | ((uint8_t)buf[i] & m);
	}
	new_cmd = pci_cfg_r16(pci, PCI_COMMAND);
	/* A mask or the INTx disable bit may have cleared. */
	vfio_user_pci_deliver_pending(pci, old_cmd);
	pthread_mutex_unlock(&pci->lock);

	if (new_cmd != old_cmd && ops->command != NULL)
		ops->command(pci, old_cmd, new_cmd, pci->info.priv);
	if (ops->config_write != NULL)
		ops->config_write(pci, (uint32_t)offset, (uint32_t)count, pci->info.priv);
	return count;
}

/* Region info of a BAR: plain, or followed by its sparse mmap capability. */
static struct vfio_region_info *
bar_region_info(const struct rte_vfio_user_pci_bar *b, unsigned int index)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	size_t len = sizeof(struct vfio_region_info);
	struct vfio_region_info *ri;

	if (b->nr_sparse != 0)
		len += sizeof(*sparse) + b->nr_sparse * sizeof(sparse->areas[0]);
	ri = calloc(1, len);
	if (ri == NULL)
		return NULL;
	ri->argsz = len;
	ri->index = index;
	ri->size = b->size;
	if (b->size != 0)
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	if (b->flags & RTE_VFIO_USER_PCI_BAR_F_MMAP) {
		ri->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		ri->offset = b->fd_offset;
	}
	if (b->nr_sparse != 0) {
		ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
		ri->cap_offset = sizeof(*ri);
		sparse = (struct vfio_region_info_cap_sparse_mmap *)(ri + 1);
		sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
		sparse->header.version = 1;
		sparse->nr_areas = b->nr_sparse;
		memcpy(sparse->areas, b->sparse, b->nr_sparse * sizeof(sparse->areas[0]));
	}
	return ri;
}

static int
regions_build(struct rte_vfio_user_pci *pci)
{
	static const struct rte_vfio_user_pci_bar none = { .fd = -1 };
	struct rte_vfio_user_reg_info *r;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		const struct rte_vfio_user_pci_bar *b =
			i < RTE_VFIO_USER_PCI_NUM_BARS ? &pci->info.bars[i] : &none;

		pci->reg_infos[i] = bar_region_info(b, i);
		if (pci->reg_infos[i] == NULL)
			return -ENOMEM;
		r = &pci->regs[i];
		r->info = pci->reg_infos[i];
		r->fd = (b->flags & RTE_VFIO_USER_PCI_BAR_F_MMAP) ? b->fd : -1;
		r->io_fds = b->io_fds;
		r->nr_io_fds = b->nr_io_fds;
		if (i >= RTE_VFIO_USER_PCI_NUM_BARS)
			continue;
		r->rw = b->rw;
		r->base = b->base;
		r->priv = b->priv;
		pci->model_regs[i] = *r;
		if (vfio_user_pci_msix_in_bar(pci, i)) {
			r->rw = vfio_user_pci_msix_bar_rw;
			r->priv = pci;
		}
	}
	r = &pci->regs[VFIO_PCI_CONFIG_REGION_INDEX];
	r->info->size = pci->info.cfg_size;
	r->info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	r->rw = cfg_rw;
	r->priv = pci;
	return 0;
}

static void
irqs_build(struct rte_vfio_user_pci *pci)
{
	struct vfio_irq_info *irq = pci->irqs;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		irq[i].argsz = sizeof(irq[i]);
		irq[i].index = i;
	}
	/* INTx is always advertised, as QEMU expects; with pin 0 it never fires. */
	irq[VFIO_PCI_INTX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		VFIO_IRQ_INFO_AUTOMASKED;
	irq[VFIO_PCI_INTX_IRQ_INDEX].count = 1;
	if (pci->msi_n != 0) {
		irq[VFIO_PCI_MSI_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		irq[VFIO_PCI_MSI_IRQ_INDEX].count = pci->msi_n;
	}
	if (pci->msix_n != 0) {
		irq[VFIO_PCI_MSIX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD |
			VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_NORESIZE;
		irq[VFIO_PCI_MSIX_IRQ_INDEX].count = pci->msix_n;
	}
	if (pci->info.flags & RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS) {
		irq[VFIO_PCI_ERR_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD;
		irq[VFIO_PCI_ERR_IRQ_INDEX].count = 1;
		irq[VFIO_PCI_REQ_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD;
		irq[VFIO_PCI_REQ_IRQ_INDEX].count = 1;
	}
}

static int
describe(struct rte_vfio_user_pci *pci, const char *sock_addr)
{
	struct vfio_device_info dev_info = {
		.argsz = sizeof(dev_info),
		.flags = VFIO_DEVICE_FLAGS_PCI,
		.num_regions = VFIO_PCI_NUM_REGIONS,
		.num_irqs = VFIO_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_regions regs = {
		.reg_num = VFIO_PCI_NUM_REGIONS,
		.reg_info = pci->regs,
	};
	struct rte_vfio_user_irq_info irqs = {
		.irq_num = VFIO_PCI_NUM_IRQS,
		.irq_info = pci->irqs,
	};
	int ret;

	if (pci->info.flags & RTE_VFIO_USER_PCI_F_RESET)
		dev_info.flags |= VFIO_DEVICE_FLAGS_RESET;
	ret = rte_vfio_user_set_dev_info(sock_addr, &dev_info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(sock_addr, &regs);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(sock_addr, &irqs);
	return ret;
}

/* Own copies of the declarations: vendor contents and masks included. */
static int
caps_copy(struct rte_vfio_user_pci *pci, const struct rte_vfio_user_pci_info *info)
{
	const size_t chunk = PCI_LEGACY_CFG_SIZE - PCI_HDR_SIZE;
	uint32_t i;

	if (info->nr_caps == 0)
		return 0;
	if (info->nr_caps > RTE_DIM(pci->cap_off))
		return -ENOSPC;
	pci->caps = calloc(info->nr_caps, sizeof(*pci->caps));
	pci->cap_data = calloc(info->nr_caps, 2 * chunk);
	if (pci->caps == NULL || pci->cap_data == NULL)
		return -ENOMEM;
	for (i = 0; i < info->nr_caps; i++) {
		uint8_t *data = &pci->cap_data[2 * chunk * i];
		struct rte_vfio_user_pci_cap *cap = &pci->caps[i];

		*cap = info->caps[i];
		if (cap->id != PCI_CAP_ID_VNDR || cap->len > chunk)
			continue;
		if (cap->data != NULL)
			memcpy(data, cap->data, cap->len);
		if (cap->wmask != NULL)
			memcpy(data + chunk, cap->wmask, cap->len);
		cap->data = data;
		cap->wmask = data + chunk;
	}
	pci->info.caps = pci->caps;
	return 0;
}

struct rte_vfio_user_pci *
rte_vfio_user_pci_create(const char *sock_addr, int dev_id,
		const struct rte_vfio_user_pci_info *info)
{
	struct rte_vfio_user_pci *pci;
	int ret;

	if (sock_addr == NULL || dev_id < 0 || info == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	ret = info_check(info);
	if (ret < 0) {
		VFIO_USER_LOG(ERR, "%s: invalid PCI function description", sock_addr);
		rte_errno = -ret;
		return NULL;
	}
	pci = calloc(1, sizeof(*pci));
	if (pci == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&pci->lock, NULL);
	pci->dev_id = dev_id;
	pci->info = *info;
	ret = caps_copy(pci, info);
	if (ret == 0)
		ret = vfio_user_pci_caps_layout(pci);
	if (ret < 0)
		VFIO_USER_LOG(ERR, "%s: invalid capability list: %s", sock_addr, strerror(-ret));
	if (ret == 0)
		ret = vfio_user_pci_msix_alloc(pci);
	if (ret == 0) {
		pci->cfg = calloc(1, info->cfg_size);
		pci->wmask = calloc(1, info->cfg_size);
		ret = pci->cfg != NULL && pci->wmask != NULL ? 0 : -ENOMEM;
	}
	if (ret == 0) {
		cfg_reset(pci);
		ret = regions_build(pci);
	}
	if (ret == 0) {
		irqs_build(pci);
		ret = describe(pci, sock_addr);
	}
	if (ret < 0) {
		rte_vfio_user_pci_free(pci);
		rte_errno = -ret;
		return NULL;
	}
	return pci;
}

void
rte_vfio_user_pci_free(struct rte_vfio_user_pci *pci)
{
	unsigned int i;

	if (pci == NULL)
		return;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		free(pci->reg_infos[i]);
	free(pci->cfg);
	free(pci->wmask);
	free(pci->msix_table);
	free(pci->msix_pba);
	free(pci->caps);
	free(pci->cap_data);
	pthread_mutex_destroy(&pci->lock);
	free(pci);
}

int
rte_vfio_user_pci_reset(struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return vfio_user_err(-EINVAL);
	pthread_mutex_lock(&pci->lock);
	cfg_reset(pci);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_irq_raise(struct rte_vfio_user_pci *pci, enum rte_vfio_user_pci_irq type,
		uint32_t vector)
{
	int ret;

	if (pci == NULL)
		return vfio_user_err(-EINVAL);
	pthread_mutex_lock(&pci->lock);
	ret = vfio_user_pci_raise(pci, type, vector);
	pthread_mutex_unlock(&pci->lock);
	return vfio_user_err(ret);
}

int
rte_vfio_user_pci_intx_lower(struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return vfio_user_err(-EINVAL);
	if (pci->info.intx_pin == 0)
		return vfio_user_err(-ENOTSUP);
	pthread_mutex_lock(&pci->lock);
	pci_cfg_set(pci, PCI_STATUS, 2, pci_cfg_r16(pci, PCI_STATUS) & ~PCI_STATUS_INTERRUPT, 0);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

static int
cfg_range_check(const struct rte_vfio_user_pci *pci, uint32_t offset, const void *buf,
		uint32_t len)
{
	if (pci == NULL || buf == NULL || offset > pci->info.cfg_size ||
			len > pci->info.cfg_size - offset)
		return -EINVAL;
	return 0;
}

int
rte_vfio_user_pci_cfg_read(struct rte_vfio_user_pci *pci, uint32_t offset, void *buf,
		uint32_t len)
{
	int ret = cfg_range_check(pci, offset, buf, len);

	if (ret < 0)
		return vfio_user_err(ret);
	pthread_mutex_lock(&pci->lock);
	memcpy(buf, &pci->cfg[offset], len);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_cfg_write(struct rte_vfio_user_pci *pci, uint32_t offset, const void *buf,
		uint32_t len)
{
	int ret = cfg_range_check(pci, offset, buf, len);

	if (ret < 0)
		return vfio_user_err(ret);
	pthread_mutex_lock(&pci->lock);
	memcpy(&pci->cfg[offset], buf, len);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_cap_find(struct rte_vfio_user_pci *pci, uint8_t id, uint8_t start)
{
	unsigned int i = 0;

	if (pci == NULL)
		return vfio_user_err(-EINVAL);
	if (start != 0) {
		while (i < pci->info.nr_caps && pci->cap_off[i] != start)
			i++;
		if (i == pci->info.nr_caps)
			return vfio_user_err(-EINVAL);
		i++;
	}
	for (; i < pci->info.nr_caps; i++)
		if (pci->caps[i].id == id)
			return pci->cap_off[i];
	return vfio_user_err(-ENOENT);
}

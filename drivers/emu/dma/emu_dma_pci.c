/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * PCI face of the emulated DMA engine: config space, BAR0 and BAR2 accesses
 * by message, and the region and interrupt description for the library.
 * Everything here runs on the vfio-user control thread.
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>

#include "emu_dma_priv.h"

/* Command register bits a driver may change. */
#define EMU_DMA_CMD_WMASK (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
		PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

/* Set a little-endian config field and its writable bits. */
static void
cfg_set(struct emu_dma_dev *dev, unsigned int off, unsigned int width, uint32_t v,
		uint32_t wmask)
{
	unsigned int i;

	for (i = 0; i < width; i++) {
		dev->cfg[off + i] = (uint8_t)(v >> (8 * i));
		dev->cfg_wmask[off + i] = (uint8_t)(wmask >> (8 * i));
	}
}

void
emu_dma_pci_reset(struct emu_dma_dev *dev)
{
	unsigned int i;

	memset(dev->cfg, 0, sizeof(dev->cfg));
	memset(dev->cfg_wmask, 0, sizeof(dev->cfg_wmask));
	cfg_set(dev, PCI_VENDOR_ID, 2, EMU_DMA_VENDOR_ID, 0);
	cfg_set(dev, PCI_DEVICE_ID, 2, EMU_DMA_DEVICE_ID, 0);
	cfg_set(dev, PCI_COMMAND, 2, 0, EMU_DMA_CMD_WMASK);
	cfg_set(dev, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
	cfg_set(dev, PCI_REVISION_ID, 1, EMU_DMA_REVISION, 0);
	cfg_set(dev, PCI_CLASS_PROG, 3, EMU_DMA_CLASS, 0);
	cfg_set(dev, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	cfg_set(dev, PCI_LATENCY_TIMER, 1, 0, 0xff);
	cfg_set(dev, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL, 0);
	/*
	 * 32-bit non-prefetchable memory BARs: only the address bits above the
	 * size are writable, so writing all-ones reads back the size mask.
	 */
	cfg_set(dev, PCI_BASE_ADDRESS_0 + 4 * EMU_DMA_CTRL_BAR, 4, PCI_BASE_ADDRESS_MEM_TYPE_32,
		~(uint32_t)(EMU_DMA_CTRL_BAR_SIZE - 1));
	cfg_set(dev, PCI_BASE_ADDRESS_0 + 4 * EMU_DMA_MSIX_BAR, 4, PCI_BASE_ADDRESS_MEM_TYPE_32,
		~(uint32_t)(EMU_DMA_MSIX_BAR_SIZE - 1));
	cfg_set(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, EMU_DMA_VENDOR_ID, 0);
	cfg_set(dev, PCI_SUBSYSTEM_ID, 2, EMU_DMA_DEVICE_ID, 0);
	cfg_set(dev, PCI_CAPABILITY_LIST, 1, EMU_DMA_CAP_MSIX, 0);
	cfg_set(dev, PCI_INTERRUPT_LINE, 1, 0, 0xff);
	/* PCI_INTERRUPT_PIN stays 0: completions use MSI-X only. */

	cfg_set(dev, EMU_DMA_CAP_MSIX + PCI_CAP_LIST_ID, 1, PCI_CAP_ID_MSIX, 0);
	cfg_set(dev, EMU_DMA_CAP_MSIX + PCI_CAP_LIST_NEXT, 1, EMU_DMA_CAP_VNDR, 0);
	cfg_set(dev, EMU_DMA_CAP_MSIX + PCI_MSIX_FLAGS, 2, dev->nb_chan - 1,
		PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cfg_set(dev, EMU_DMA_CAP_MSIX + PCI_MSIX_TABLE, 4,
		EMU_DMA_MSIX_TABLE_OFFSET | EMU_DMA_MSIX_BAR, 0);
	cfg_set(dev, EMU_DMA_CAP_MSIX + PCI_MSIX_PBA, 4,
		EMU_DMA_MSIX_PBA_OFFSET | EMU_DMA_MSIX_BAR, 0);

	/* Vendor capability: length, then the register interface version. */
	cfg_set(dev, EMU_DMA_CAP_VNDR + PCI_CAP_LIST_ID, 1, PCI_CAP_ID_VNDR, 0);
	cfg_set(dev, EMU_DMA_CAP_VNDR + PCI_CAP_LIST_NEXT, 1, 0, 0);
	cfg_set(dev, EMU_DMA_CAP_VNDR + 2, 1, EMU_DMA_CAP_VNDR_LEN, 0);
	cfg_set(dev, EMU_DMA_CAP_VNDR + 4, 4, EMU_DMA_VERSION_VALUE, 0);

	/* MSI-X entries come out of reset masked; the PBA is read-only. */
	memset(dev->msix, 0, sizeof(dev->msix));
	for (i = 0; i < dev->nb_chan; i++)
		dev->msix[EMU_DMA_MSIX_TABLE_OFFSET + i * PCI_MSIX_ENTRY_SIZE +
			PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/* Config space: any size and offset (the library checked the range). */
static ssize_t
cfg_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct emu_dma_dev *dev = reg->priv;
	size_t i;

	RTE_SET_USED(dev_id);
	if (!is_write) {
		memcpy(buf, &dev->cfg[offset], count);
		return count;
	}
	for (i = 0; i < count; i++) {
		uint8_t m = dev->cfg_wmask[offset + i];

		dev->cfg[offset + i] = (dev->cfg[offset + i] & ~m) | ((uint8_t)buf[i] & m);
	}
	return count;
}

void
emu_dma_reg_write(struct emu_dma_dev *dev, uint32_t off, uint32_t v)
{
	uint32_t c, r;

	if (off == EMU_DMA_REG_DEV_CTRL) {
		dev->bar0[off / 4] = v & EMU_DMA_DEV_CTRL_RESET;
		return;
	}
	if (off < EMU_DMA_CHAN_BASE(0u) || off >= EMU_DMA_CHAN_BASE((uint32_t)dev->nb_chan))
		return; /* read-only or reserved */
	c = (off - EMU_DMA_CHAN_BASE(0u)) / 0x40;
	r = off - EMU_DMA_CHAN_BASE(c);
	switch (r) {
	case EMU_DMA_CHAN_CTRL:
		v &= EMU_DMA_CHAN_CTRL_ENABLE | EMU_DMA_CHAN_CTRL_IRQ_ENABLE;
		/* fall through */
	case EMU_DMA_CHAN_RING_LO:
	case EMU_DMA_CHAN_RING_HI:
	case EMU_DMA_CHAN_RING_SIZE:
	case EMU_DMA_CHAN_IRQ_VECTOR:
		dev->bar0[off / 4] = v;
		break;
	case EMU_DMA_CHAN_DOORBELL:
		/* The poller loads it with acquire ordering; pair with a release. */
		__atomic_store_n(&dev->bar0[off / 4], v, __ATOMIC_RELEASE);
		break;
	default:
		break; /* STATUS, COMPLETED, reserved */
	}
}

/*
 * BAR0 by message: reads of any size come from the shared page; writes are
 * aligned 4- or 8-byte stores (a pair of registers), and read-only
 * registers ignore them.
 */
static ssize_t
bar0_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct emu_dma_dev *dev = reg->priv;
	size_t i;

	RTE_SET_USED(dev_id);
	if (!is_write) {
		for (i = 0; i < count; i++)
			buf[i] = ((const volatile char *)dev->bar0)[offset + i];
		return count;
	}
	if ((count != 4 && count != 8) || (offset & 3) != 0)
		return -EINVAL;
	for (i = 0; i < count; i += 4) {
		uint32_t v;

		memcpy(&v, buf + i, sizeof(v));
		emu_dma_reg_write(dev, (uint32_t)(offset + i), v);
	}
	return count;
}

/* BAR2: MSI-X table (storage for a VMM), read-only PBA, nothing else. */
static ssize_t
msix_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct emu_dma_dev *dev = reg->priv;
	uint64_t table_start = EMU_DMA_MSIX_TABLE_OFFSET;
	uint64_t table_end = table_start + (uint64_t)dev->nb_chan * PCI_MSIX_ENTRY_SIZE;

	RTE_SET_USED(dev_id);
	if ((count != 4 && count != 8) || (offset & (count - 1)) != 0)
		return -EINVAL;
	if (!is_write)
		memcpy(buf, &dev->msix[offset], count);
	else if (offset >= table_start && offset + count <= table_end)
		memcpy(&dev->msix[offset], buf, count);
	return count;
}

int
emu_dma_pci_describe(struct emu_dma_dev *dev)
{
	struct vfio_device_info dev_info = {
		.argsz = sizeof(dev_info),
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = VFIO_PCI_NUM_REGIONS,
		.num_irqs = VFIO_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_regions regs = {
		.reg_num = VFIO_PCI_NUM_REGIONS,
		.reg_info = dev->regs,
	};
	struct rte_vfio_user_irq_info irqs = {
		.irq_num = VFIO_PCI_NUM_IRQS,
		.irq_info = dev->irqs,
	};
	struct vfio_region_info *ri;
	unsigned int i;
	int ret;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		dev->reg_infos[i].argsz = sizeof(dev->reg_infos[i]);
		dev->reg_infos[i].index = i;
		dev->regs[i].info = &dev->reg_infos[i];
		dev->regs[i].fd = -1;
		dev->regs[i].priv = dev;
	}

	ri = &dev->reg_infos[VFIO_PCI_CONFIG_REGION_INDEX];
	ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	ri->size = EMU_DMA_CFG_SIZE;
	dev->regs[VFIO_PCI_CONFIG_REGION_INDEX].rw = cfg_access;

	/* BAR0: the whole memfd page is mappable; messages go through bar0_access. */
	ri = &dev->reg_infos[VFIO_PCI_BAR0_REGION_INDEX + EMU_DMA_CTRL_BAR];
	ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		VFIO_REGION_INFO_FLAG_MMAP;
	ri->size = EMU_DMA_CTRL_BAR_SIZE;
	ri->offset = 0;
	dev->regs[EMU_DMA_CTRL_BAR].rw = bar0_access;
	dev->regs[EMU_DMA_CTRL_BAR].fd = dev->bar0_fd;
	dev->regs[EMU_DMA_CTRL_BAR].base = (void *)(uintptr_t)dev->bar0;

	ri = &dev->reg_infos[VFIO_PCI_BAR0_REGION_INDEX + EMU_DMA_MSIX_BAR];
	ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	ri->size = EMU_DMA_MSIX_BAR_SIZE;
	dev->regs[EMU_DMA_MSIX_BAR].rw = msix_access;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		dev->irqs[i].argsz = sizeof(dev->irqs[i]);
		dev->irqs[i].index = i;
	}
	/* INTx is advertised as QEMU expects, but the pin is 0 and it never fires. */
	dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].count = 1;
	dev->irqs[VFIO_PCI_MSIX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_NORESIZE;
	dev->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = dev->nb_chan;
	dev->irqs[VFIO_PCI_ERR_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD;
	dev->irqs[VFIO_PCI_ERR_IRQ_INDEX].count = 1;
	dev->irqs[VFIO_PCI_REQ_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD;
	dev->irqs[VFIO_PCI_REQ_IRQ_INDEX].count = 1;

	ret = rte_vfio_user_set_dev_info(dev->path, &dev_info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(dev->path, &regs);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(dev->path, &irqs);
	return ret;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * PCI face of the emulated DMA engine: BAR0 accesses by message and the
 * description of the function to the PCI helper, which serves config space
 * and the MSI-X table and PBA in BAR2. Everything here runs on the vfio-user
 * control thread.
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>

#include <rte_byteorder.h>
#include <rte_errno.h>

#include "emu_dma_priv.h"

void
emu_dma_pci_reset(struct emu_dma_dev *dev)
{
	if (dev->pci != NULL)
		rte_vfio_user_pci_reset(dev->pci);
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

int
emu_dma_pci_describe(struct emu_dma_dev *dev)
{
	/* Vendor capability: length, then the register interface version. */
	const uint32_t vndr[EMU_DMA_CAP_VNDR_LEN / 4] = {
		0, rte_cpu_to_le_32(EMU_DMA_VERSION_VALUE)
	};
	const struct rte_vfio_user_pci_cap caps[] = {
		{
			.id = PCI_CAP_ID_MSIX,
			.offset = EMU_DMA_CAP_MSIX,
			.nr_vectors = dev->nb_chan,
			.table_bar = EMU_DMA_MSIX_BAR,
			.table_offset = EMU_DMA_MSIX_TABLE_OFFSET,
			.pba_bar = EMU_DMA_MSIX_BAR,
			.pba_offset = EMU_DMA_MSIX_PBA_OFFSET,
		},
		{
			.id = PCI_CAP_ID_VNDR,
			.offset = EMU_DMA_CAP_VNDR,
			.len = EMU_DMA_CAP_VNDR_LEN,
			.data = vndr,
		},
	};
	struct rte_vfio_user_pci_info info = {
		.vendor_id = EMU_DMA_VENDOR_ID,
		.device_id = EMU_DMA_DEVICE_ID,
		.subsys_vendor_id = EMU_DMA_VENDOR_ID,
		.subsys_id = EMU_DMA_DEVICE_ID,
		.class_code = EMU_DMA_CLASS,
		.revision = EMU_DMA_REVISION,
		/* Completions use MSI-X only: no INTx pin. */
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		.flags = RTE_VFIO_USER_PCI_F_RESET | RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS,
		.caps = caps,
		.nr_caps = RTE_DIM(caps),
	};
	struct rte_vfio_user_pci_bar *bar0 = &info.bars[EMU_DMA_CTRL_BAR];

	/* BAR0: the whole memfd page is mappable; messages go through bar0_access. */
	bar0->size = EMU_DMA_CTRL_BAR_SIZE;
	bar0->flags = RTE_VFIO_USER_PCI_BAR_F_MMAP;
	bar0->rw = bar0_access;
	bar0->base = (void *)(uintptr_t)dev->bar0;
	bar0->priv = dev;
	bar0->fd = dev->bar0_fd;
	/* BAR2 holds only the MSI-X table and PBA, served by the helper. */
	info.bars[EMU_DMA_MSIX_BAR].size = EMU_DMA_MSIX_BAR_SIZE;
	info.bars[EMU_DMA_MSIX_BAR].fd = -1;

	dev->pci = rte_vfio_user_pci_create(dev->path, dev->dev_id, &info);
	return dev->pci != NULL ? 0 : -rte_errno;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_PCI_PRIV_H_
#define _VFIO_USER_PCI_PRIV_H_

/*
 * State of the PCI device-model helper, shared by vfio_user_pci.c (config
 * space, regions, description) and vfio_user_pci_caps.c (capability layout,
 * MSI/MSI-X state, interrupt delivery).
 */

#include <pthread.h>
#include <stdint.h>

#include <linux/vfio.h>


#include "rte_vfio_user_pci.h"

/* Capabilities live between the type-0 header and the end of legacy config space. */
#define PCI_HDR_SIZE 0x40
#define PCI_LEGACY_CFG_SIZE 256

struct rte_vfio_user_pci {
	/*
	 * Guards everything below against irq_raise() from other threads. A
	 * mutex: it is held across the eventfd write of a delivery.
	 */
	pthread_mutex_t lock;
	int dev_id;
	struct rte_vfio_user_pci_info info; /* caps points to the copies below */
	struct rte_vfio_user_pci_cap *caps;
	uint8_t *cap_data;   /* vendor data and wmask copies, 2 x 192 bytes per cap */
	uint8_t cap_off[PCI_LEGACY_CFG_SIZE / 4]; /* offset of each cap (declaration order) */

	uint8_t *cfg;        /* config space, info.cfg_size bytes */
	uint8_t *wmask;      /* bits a client may write */

	uint8_t msi_off;     /* MSI capability, or 0 */
	uint8_t msix_off;    /* MSI-X capability, or 0 */
	uint16_t msi_n;      /* MSI vectors */
	uint16_t msix_n;     /* MSI-X vectors */
	uint8_t *msix_table; /* msix_n entries of PCI_MSIX_ENTRY_SIZE bytes */
	uint64_t *msix_pba;  /* pending bits */

	struct vfio_region_info *reg_infos[VFIO_PCI_NUM_REGIONS];
	struct rte_vfio_user_reg_info regs[VFIO_PCI_NUM_REGIONS];
	/* What the model's BAR callbacks see: its own priv and base. */
	struct rte_vfio_user_reg_info model_regs[RTE_VFIO_USER_PCI_NUM_BARS];
	struct vfio_irq_info irqs[VFIO_PCI_NUM_IRQS];
};

static inline uint16_t
pci_cfg_r16(const struct rte_vfio_user_pci *pci, uint32_t off)
{
	return pci->cfg[off] | (uint16_t)(pci->cfg[off + 1] << 8);
}

static inline uint32_t
pci_cfg_r32(const struct rte_vfio_user_pci *pci, uint32_t off)
{
	return pci_cfg_r16(pci, off) | (uint32_t)pci_cfg_r16(pci, off + 2) << 16;
}

/* Set a little-endian field of config space and its writable bits. */
static inline void
pci_cfg_set(struct rte_vfio_user_pci *pci, uint32_t off, unsigned int width, uint32_t v,
		uint32_t wmask)
{
	unsigned int i;

	for (i = 0; i < width; i++) {
		pci->cfg[off + i] = (uint8_t)(v >> (8 * i));
		pci->wmask[off + i] = (uint8_t)(wmask >> (8 * i));
	}
}

/* Validate the capability declarations and choose their offsets (cap_off). */
int vfio_user_pci_caps_layout(struct rte_vfio_user_pci *pci);

/* Write the capability list into config space, MSI-X storage to reset state. */
void vfio_user_pci_caps_reset(struct rte_vfio_user_pci *pci);

/* Allocate the MSI-X table and PBA (after layout). */
int vfio_user_pci_msix_alloc(struct rte_vfio_user_pci *pci);

/* Whether the MSI-X table or PBA lives in BAR @bar. */
bool vfio_user_pci_msix_in_bar(const struct rte_vfio_user_pci *pci, unsigned int bar);

/* Region callback of a BAR that holds MSI-X structures. */
ssize_t vfio_user_pci_msix_bar_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf,
		size_t count, uint64_t offset, bool is_write);

/* After a client config write, under the lock: deliver what became unmasked. */
void vfio_user_pci_deliver_pending(struct rte_vfio_user_pci *pci, uint16_t old_cmd);

/* Raise an interrupt, under the lock. */
int vfio_user_pci_raise(struct rte_vfio_user_pci *pci, enum rte_vfio_user_pci_irq type,
		uint32_t vector);

#endif /* _VFIO_USER_PCI_PRIV_H_ */

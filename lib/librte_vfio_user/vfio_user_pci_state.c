/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Save and restore of the PCI helper's state for live migration: config
 * space, the MSI-X table and the PBA, as one little-endian image:
 *
 *   magic "VUPS", version (u16), cfg_size (u16), MSI-X vectors (u16), 0 (u16),
 *   config space, MSI-X table, PBA.
 *
 * A restore trusts nothing in the image: it must describe the same function
 * (same sizes, same read-only bits) and a state the helper could have reached.
 */

#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <rte_bitops.h>
#include <rte_byteorder.h>
#include <rte_common.h>

#include "vfio_user_private.h"
#include "vfio_user_pci_priv.h"

#define PCI_STATE_MAGIC 0x53505556 /* "VUPS" in memory order */
#define PCI_STATE_VERSION 1

struct pci_state_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t cfg_size;
	uint16_t msix_n;
	uint16_t reserved;
} __rte_packed;

static size_t
pba_size(const struct rte_vfio_user_pci *pci)
{
	return RTE_ALIGN_CEIL(pci->msix_n, 64u) / 8;
}

static size_t
state_size(const struct rte_vfio_user_pci *pci)
{
	return sizeof(struct pci_state_hdr) + pci->info.cfg_size +
		(size_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE + pba_size(pci);
}

ssize_t
rte_vfio_user_pci_state_size(const struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return vfio_user_err(-EINVAL);
	return state_size(pci);
}

ssize_t
rte_vfio_user_pci_save(struct rte_vfio_user_pci *pci, void *buf, size_t len)
{
	struct pci_state_hdr hdr;
	uint8_t *p = buf;
	size_t table = 0;

	if (pci == NULL || buf == NULL)
		return vfio_user_err(-EINVAL);
	if (len < state_size(pci))
		return vfio_user_err(-ENOSPC);
	hdr.magic = rte_cpu_to_le_32(PCI_STATE_MAGIC);
	hdr.version = rte_cpu_to_le_16(PCI_STATE_VERSION);
	hdr.cfg_size = rte_cpu_to_le_16(pci->info.cfg_size);
	hdr.msix_n = rte_cpu_to_le_16(pci->msix_n);
	hdr.reserved = 0;
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	pthread_mutex_lock(&pci->lock);
	memcpy(p, pci->cfg, pci->info.cfg_size);
	p += pci->info.cfg_size;
	if (pci->msix_n != 0) {
		table = (size_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE;
		memcpy(p, pci->msix_table, table);
		memcpy(p + table, pci->msix_pba, pba_size(pci));
	}
	pthread_mutex_unlock(&pci->lock);
	return state_size(pci);
}

/* Bits of config byte @i the device itself changes: INTx status, MSI pending bits. */
static uint8_t
device_bits(const struct rte_vfio_user_pci *pci, unsigned int i, uint32_t msi_pend)
{
	if (i == PCI_STATUS && pci->info.intx_pin != 0)
		return PCI_STATUS_INTERRUPT;
	if (msi_pend != 0 && i >= msi_pend && i < msi_pend + 4)
		return 0xff;
	return 0;
}

/* MSI pending register offset, or 0 when MSI has no per-vector masking. */
static uint32_t
msi_pend_reg(const struct rte_vfio_user_pci *pci, uint32_t *mask_reg)
{
	uint16_t flags;

	*mask_reg = 0;
	if (pci->msi_n == 0)
		return 0;
	flags = pci_cfg_r16(pci, pci->msi_off + PCI_MSI_FLAGS);
	if (!(flags & PCI_MSI_FLAGS_MASKBIT))
		return 0;
	if (flags & PCI_MSI_FLAGS_64BIT) {
		*mask_reg = pci->msi_off + PCI_MSI_MASK_64;
		return pci->msi_off + PCI_MSI_PENDING_64;
	}
	*mask_reg = pci->msi_off + PCI_MSI_MASK_32;
	return pci->msi_off + PCI_MSI_PENDING_32;
}

static uint32_t
le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_32(v);
}

/* Config space of the image: same read-only bits, MSI pending bits masked and in range. */
static int
check_cfg(const struct rte_vfio_user_pci *pci, const uint8_t *cfg)
{
	uint32_t mask_reg, pend_reg = msi_pend_reg(pci, &mask_reg);
	unsigned int i;
	uint32_t pend;

	for (i = 0; i < pci->info.cfg_size; i++) {
		uint8_t may_differ = pci->wmask[i] | device_bits(pci, i, pend_reg);

		if ((cfg[i] ^ pci->cfg[i]) & ~may_differ)
			return -EINVAL;
	}
	if (pend_reg != 0) {
		pend = le32_at(&cfg[pend_reg]);
		if ((pci->msi_n < 32 && (pend >> pci->msi_n) != 0) ||
				(pend & ~le32_at(&cfg[mask_reg])) != 0)
			return -EINVAL;
	}
	return 0;
}

/* MSI-X table and PBA of the image: writable bits only, pending vectors masked. */
static int
check_msix(const struct rte_vfio_user_pci *pci, const uint8_t *cfg, const uint8_t *table,
		const uint8_t *pba)
{
	uint16_t flags = cfg[pci->msix_off + PCI_MSIX_FLAGS] |
		(uint16_t)(cfg[pci->msix_off + PCI_MSIX_FLAGS + 1] << 8);
	bool all_masked = (flags & PCI_MSIX_FLAGS_MASKALL) != 0;
	uint64_t word;
	uint32_t v;

	for (v = 0; v < pci->msix_n; v++) {
		const uint8_t *e = &table[v * PCI_MSIX_ENTRY_SIZE];
		uint32_t ctrl = le32_at(e + PCI_MSIX_ENTRY_VECTOR_CTRL);

		if ((ctrl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) != 0 ||
				(le32_at(e + PCI_MSIX_ENTRY_LOWER_ADDR) & 3) != 0)
			return -EINVAL;
		memcpy(&word, &pba[v / 64 * 8], sizeof(word));
		if ((rte_le_to_cpu_64(word) & RTE_BIT64(v % 64)) && !all_masked &&
				!(ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
			return -EINVAL;
	}
	/* Bits past the last vector stay clear. */
	if (pci->msix_n % 64 != 0) {
		memcpy(&word, &pba[(pci->msix_n / 64) * 8], sizeof(word));
		if (rte_le_to_cpu_64(word) >> (pci->msix_n % 64) != 0)
			return -EINVAL;
	}
	return 0;
}

int
rte_vfio_user_pci_restore(struct rte_vfio_user_pci *pci, const void *buf, size_t len)
{
	const uint8_t *p = buf, *cfg, *table, *pba;
	struct pci_state_hdr hdr;
	int ret;

	if (pci == NULL || buf == NULL)
		return vfio_user_err(-EINVAL);
	if (len != state_size(pci))
		return vfio_user_err(-EINVAL);
	memcpy(&hdr, p, sizeof(hdr));
	if (rte_le_to_cpu_32(hdr.magic) != PCI_STATE_MAGIC ||
			rte_le_to_cpu_16(hdr.version) != PCI_STATE_VERSION ||
			rte_le_to_cpu_16(hdr.cfg_size) != pci->info.cfg_size ||
			rte_le_to_cpu_16(hdr.msix_n) != pci->msix_n || hdr.reserved != 0)
		return vfio_user_err(-EINVAL);
	cfg = p + sizeof(hdr);
	table = cfg + pci->info.cfg_size;
	pba = table + (size_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE;

	pthread_mutex_lock(&pci->lock);
	ret = check_cfg(pci, cfg);
	if (ret == 0 && pci->msix_n != 0)
		ret = check_msix(pci, cfg, table, pba);
	if (ret == 0) {
		memcpy(pci->cfg, cfg, pci->info.cfg_size);
		if (pci->msix_n != 0) {
			memcpy(pci->msix_table, table, (size_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE);
			memcpy(pci->msix_pba, pba, pba_size(pci));
		}
	}
	pthread_mutex_unlock(&pci->lock);
	return vfio_user_err(ret);
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Capability list of the PCI helper: layout and contents from the
 * declarations, MSI and MSI-X state (masks, pending bits, the MSI-X table and
 * PBA served from their BARs) and interrupt delivery.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <rte_bitops.h>
#include <rte_byteorder.h>
#include <rte_common.h>

#include "vfio_user_private.h"
#include "vfio_user_pci_priv.h"

#define VNDR_MAX_LEN (PCI_LEGACY_CFG_SIZE - PCI_HDR_SIZE)
#define MSIX_MAX_VECTORS 2048
/* PCI Express capability, version 2, of an endpoint. */
#define EXP_CAP_SIZE PCI_CAP_EXP_ENDPOINT_SIZEOF_V2

/* Bytes a capability takes in config space; 0 for an unsupported one. */
static unsigned int
cap_size(const struct rte_vfio_user_pci_cap *cap)
{
	switch (cap->id) {
	case PCI_CAP_ID_MSI:
		if (cap->flags & RTE_VFIO_USER_PCI_MSI_F_MASKABLE)
			return (cap->flags & RTE_VFIO_USER_PCI_MSI_F_64BIT) ?
				PCI_MSI_PENDING_64 + 4 : PCI_MSI_PENDING_32 + 4;
		return (cap->flags & RTE_VFIO_USER_PCI_MSI_F_64BIT) ?
			PCI_MSI_DATA_64 + 2 : PCI_MSI_DATA_32 + 2;
	case PCI_CAP_ID_MSIX:
		return PCI_CAP_MSIX_SIZEOF;
	case PCI_CAP_ID_EXP:
		return EXP_CAP_SIZE;
	case PCI_CAP_ID_PM:
		return PCI_PM_SIZEOF;
	case PCI_CAP_ID_VNDR:
		return cap->len;
	default:
		return 0;
	}
}

static uint32_t
msix_pba_size(uint16_t n)
{
	return RTE_ALIGN_CEIL(n, 64u) / 8;
}

/* An MSI-X structure [off, off + len) in BAR @bar: memory, inside, not mappable. */
static int
msix_struct_check(const struct rte_vfio_user_pci_info *info, unsigned int bar, uint32_t off,
		uint32_t len)
{
	const struct rte_vfio_user_pci_bar *b;
	uint32_t i;

	if (bar >= RTE_VFIO_USER_PCI_NUM_BARS)
		return -EINVAL;
	b = &info->bars[bar];
	if (b->size == 0 || (b->flags & RTE_VFIO_USER_PCI_BAR_F_IO) || (off & 7) != 0 ||
			(uint64_t)off + len > b->size)
		return -EINVAL;
	if (!(b->flags & RTE_VFIO_USER_PCI_BAR_F_MMAP))
		return 0;
	if (b->nr_sparse == 0)
		return -EINVAL; /* the whole BAR is mappable: accesses would bypass the helper */
	for (i = 0; i < b->nr_sparse; i++)
		if (b->sparse[i].offset < (uint64_t)off + len &&
				off < b->sparse[i].offset + b->sparse[i].size)
			return -EINVAL;
	return 0;
}

static int
cap_check(const struct rte_vfio_user_pci_info *info, const struct rte_vfio_user_pci_cap *cap)
{
	uint32_t table_len, pba_len;

	switch (cap->id) {
	case PCI_CAP_ID_MSI:
		if ((cap->flags & ~(RTE_VFIO_USER_PCI_MSI_F_64BIT |
				RTE_VFIO_USER_PCI_MSI_F_MASKABLE)) != 0 ||
				cap->nr_vectors == 0 || cap->nr_vectors > 32 ||
				!rte_is_power_of_2(cap->nr_vectors))
			return -EINVAL;
		return 0;
	case PCI_CAP_ID_MSIX:
		if ((cap->flags & ~RTE_VFIO_USER_PCI_MSIX_F_MASKED_RESET) != 0 ||
				cap->nr_vectors == 0 || cap->nr_vectors > MSIX_MAX_VECTORS)
			return -EINVAL;
		table_len = (uint32_t)cap->nr_vectors * PCI_MSIX_ENTRY_SIZE;
		pba_len = msix_pba_size(cap->nr_vectors);
		if (msix_struct_check(info, cap->table_bar, cap->table_offset, table_len) < 0 ||
				msix_struct_check(info, cap->pba_bar, cap->pba_offset,
					pba_len) < 0)
			return -EINVAL;
		if (cap->table_bar == cap->pba_bar &&
				cap->table_offset < cap->pba_offset + pba_len &&
				cap->pba_offset < cap->table_offset + table_len)
			return -EINVAL;
		return 0;
	case PCI_CAP_ID_VNDR:
		return cap->flags == 0 && cap->len >= 3 && cap->len <= VNDR_MAX_LEN ? 0 : -EINVAL;
	case PCI_CAP_ID_EXP:
	case PCI_CAP_ID_PM:
		return cap->flags == 0 ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static bool
range_free(const uint8_t *used, unsigned int off, unsigned int len)
{
	unsigned int i;

	for (i = off; i < off + len; i++)
		if (used[i])
			return false;
	return true;
}

int
vfio_user_pci_caps_layout(struct rte_vfio_user_pci *pci)
{
	uint8_t used[PCI_LEGACY_CFG_SIZE] = { 0 };
	unsigned int i, off, len, next = PCI_HDR_SIZE;
	bool has_exp = false;
	int ret;

	if (pci->info.nr_caps > RTE_DIM(pci->cap_off))
		return -ENOSPC;
	/* Explicit offsets first, so that automatic ones go around them. */
	for (i = 0; i < pci->info.nr_caps; i++) {
		const struct rte_vfio_user_pci_cap *cap = &pci->caps[i];

		ret = cap_check(&pci->info, cap);
		if (ret < 0)
			return ret;
		if ((cap->id == PCI_CAP_ID_MSI && pci->msi_n != 0) ||
				(cap->id == PCI_CAP_ID_MSIX && pci->msix_n != 0) ||
				(cap->id == PCI_CAP_ID_EXP && has_exp))
			return -EINVAL; /* one of each per function */
		if (cap->id == PCI_CAP_ID_MSI)
			pci->msi_n = cap->nr_vectors;
		else if (cap->id == PCI_CAP_ID_MSIX)
			pci->msix_n = cap->nr_vectors;
		else if (cap->id == PCI_CAP_ID_EXP)
			has_exp = true;
		if (cap->offset == 0)
			continue;
		off = cap->offset;
		len = cap_size(cap);
		if (off < PCI_HDR_SIZE || (off & 3) != 0 || off + len > PCI_LEGACY_CFG_SIZE)
			return -EINVAL;
		if (!range_free(used, off, len))
			return -EEXIST;
		memset(&used[off], 1, len);
		pci->cap_off[i] = off;
	}
	if (pci->info.cfg_size == RTE_VFIO_USER_PCI_CFG_SIZE_EXP && !has_exp)
		return -EINVAL; /* extended config space is a PCI Express feature */
	for (i = 0; i < pci->info.nr_caps; i++) {
		len = cap_size(&pci->caps[i]);
		if (pci->cap_off[i] != 0) {
			next = RTE_ALIGN_CEIL(pci->cap_off[i] + len, 4u);
			continue;
		}
		for (off = next; off + len <= PCI_LEGACY_CFG_SIZE; off += 4)
			if (range_free(used, off, len))
				break;
		if (off + len > PCI_LEGACY_CFG_SIZE)
			return -ENOSPC;
		memset(&used[off], 1, len);
		pci->cap_off[i] = off;
		next = RTE_ALIGN_CEIL(off + len, 4u);
	}
	return 0;
}

int
vfio_user_pci_msix_alloc(struct rte_vfio_user_pci *pci)
{
	if (pci->msix_n == 0)
		return 0;
	pci->msix_table = calloc(pci->msix_n, PCI_MSIX_ENTRY_SIZE);
	pci->msix_pba = calloc(1, msix_pba_size(pci->msix_n));
	return pci->msix_table != NULL && pci->msix_pba != NULL ? 0 : -ENOMEM;
}

static void
cap_init_msi(struct rte_vfio_user_pci *pci, const struct rte_vfio_user_pci_cap *cap,
		unsigned int off)
{
	bool is64 = cap->flags & RTE_VFIO_USER_PCI_MSI_F_64BIT;
	uint16_t flags = (uint16_t)(rte_log2_u32(cap->nr_vectors) << 1);

	if (is64)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (cap->flags & RTE_VFIO_USER_PCI_MSI_F_MASKABLE) {
		flags |= PCI_MSI_FLAGS_MASKBIT;
		/* Only the bits of implemented vectors hold a mask. */
		pci_cfg_set(pci, off + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, 0,
			(uint32_t)(RTE_BIT64(cap->nr_vectors) - 1));
	}
	pci_cfg_set(pci, off + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_cfg_set(pci, off + PCI_MSI_ADDRESS_LO, 4, 0, ~3u);
	if (is64)
		pci_cfg_set(pci, off + PCI_MSI_ADDRESS_HI, 4, 0, ~0u);
	pci_cfg_set(pci, off + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0, 0xffff);
	pci->msi_off = off;
}

static void
cap_init_msix(struct rte_vfio_user_pci *pci, const struct rte_vfio_user_pci_cap *cap,
		unsigned int off)
{
	uint16_t v;

	pci_cfg_set(pci, off + PCI_MSIX_FLAGS, 2, cap->nr_vectors - 1,
		PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_set(pci, off + PCI_MSIX_TABLE, 4, cap->table_offset | cap->table_bar, 0);
	pci_cfg_set(pci, off + PCI_MSIX_PBA, 4, cap->pba_offset | cap->pba_bar, 0);
	pci->msix_off = off;
	memset(pci->msix_table, 0, (size_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE);
	memset(pci->msix_pba, 0, msix_pba_size(pci->msix_n));
	if (cap->flags & RTE_VFIO_USER_PCI_MSIX_F_MASKED_RESET)
		for (v = 0; v < pci->msix_n; v++)
			pci->msix_table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
				PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/* Version 2 endpoint, 2.5 GT/s x1: what an emulated function can honestly claim. */
static void
cap_init_exp(struct rte_vfio_user_pci *pci, unsigned int off)
{
	pci_cfg_set(pci, off + PCI_EXP_FLAGS, 2, 2 | (PCI_EXP_TYPE_ENDPOINT << 4), 0);
	pci_cfg_set(pci, off + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_RELAX_EN |
		PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ_512B, 0x7fff);
	pci_cfg_set(pci, off + PCI_EXP_LNKCAP, 4, PCI_EXP_LNKCAP_SLS_2_5GB | (1u << 4), 0);
	pci_cfg_set(pci, off + PCI_EXP_LNKCTL, 2, 0, PCI_EXP_LNKCTL_ASPMC |
		PCI_EXP_LNKCTL_RCB | PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES);
	pci_cfg_set(pci, off + PCI_EXP_LNKSTA, 2, PCI_EXP_LNKSTA_CLS_2_5GB | (1u << 4), 0);
	pci_cfg_set(pci, off + PCI_EXP_DEVCAP2, 4, PCI_EXP_DEVCAP2_COMP_TMOUT_DIS, 0);
	pci_cfg_set(pci, off + PCI_EXP_DEVCTL2, 2, 0, PCI_EXP_DEVCTL2_COMP_TMOUT_DIS);
	pci_cfg_set(pci, off + PCI_EXP_LNKCAP2, 4, PCI_EXP_LNKCAP2_SLS_2_5GB, 0);
	pci_cfg_set(pci, off + PCI_EXP_LNKCTL2, 2, PCI_EXP_LNKCTL2_TLS_2_5GT, 0);
}

void
vfio_user_pci_caps_reset(struct rte_vfio_user_pci *pci)
{
	unsigned int i, off, prev = PCI_CAPABILITY_LIST;

	for (i = 0; i < pci->info.nr_caps; i++) {
		const struct rte_vfio_user_pci_cap *cap = &pci->caps[i];

		off = pci->cap_off[i];
		switch (cap->id) {
		case PCI_CAP_ID_MSI:
			cap_init_msi(pci, cap, off);
			break;
		case PCI_CAP_ID_MSIX:
			cap_init_msix(pci, cap, off);
			break;
		case PCI_CAP_ID_EXP:
			cap_init_exp(pci, off);
			break;
		case PCI_CAP_ID_PM:
			/* Version 3, D0 and D3hot only; no reset on the way back to D0. */
			pci_cfg_set(pci, off + PCI_PM_PMC, 2, 3, 0);
			pci_cfg_set(pci, off + PCI_PM_CTRL, 2, PCI_PM_CTRL_NO_SOFT_RESET,
				PCI_PM_CTRL_STATE_MASK);
			break;
		case PCI_CAP_ID_VNDR:
			memcpy(&pci->cfg[off], cap->data, cap->len);
			memcpy(&pci->wmask[off], cap->wmask, cap->len);
			pci_cfg_set(pci, off + PCI_CAP_FLAGS, 1, cap->len, 0);
			break;
		}
		pci_cfg_set(pci, off + PCI_CAP_LIST_ID, 1, cap->id, 0);
		pci_cfg_set(pci, off + PCI_CAP_LIST_NEXT, 1, 0, 0);
		pci->cfg[prev] = (uint8_t)off;
		prev = off + PCI_CAP_LIST_NEXT;
	}
	if (pci->info.nr_caps != 0)
		pci_cfg_set(pci, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
}

/*
 * Interrupt delivery. Everything below runs under pci->lock.
 */

static bool
msix_vector_masked(const struct rte_vfio_user_pci *pci, uint32_t v)
{
	return (pci_cfg_r16(pci, pci->msix_off + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL) ||
		(pci->msix_table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] &
			PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* MSI mask and pending registers, or 0 without per-vector masking. */
static uint32_t
msi_reg(const struct rte_vfio_user_pci *pci, bool pending)
{
	uint16_t flags = pci_cfg_r16(pci, pci->msi_off + PCI_MSI_FLAGS);

	if (!(flags & PCI_MSI_FLAGS_MASKBIT))
		return 0;
	if (flags & PCI_MSI_FLAGS_64BIT)
		return pci->msi_off + (pending ? PCI_MSI_PENDING_64 : PCI_MSI_MASK_64);
	return pci->msi_off + (pending ? PCI_MSI_PENDING_32 : PCI_MSI_MASK_32);
}

static int
raise_msix(struct rte_vfio_user_pci *pci, uint32_t v)
{
	if (pci->msix_n == 0)
		return -ENOTSUP;
	if (v >= pci->msix_n)
		return -EINVAL;
	if (msix_vector_masked(pci, v)) {
		pci->msix_pba[v / 64] |= rte_cpu_to_le_64(RTE_BIT64(v % 64));
		return 0;
	}
	return rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_MSIX_IRQ_INDEX, v);
}

static int
raise_msi(struct rte_vfio_user_pci *pci, uint32_t v)
{
	uint32_t mask_reg, pend_reg;

	if (pci->msi_n == 0)
		return -ENOTSUP;
	if (v >= pci->msi_n)
		return -EINVAL;
	mask_reg = msi_reg(pci, false);
	if (mask_reg != 0 && (pci_cfg_r32(pci, mask_reg) & RTE_BIT32(v))) {
		pend_reg = msi_reg(pci, true);
		pci_cfg_set(pci, pend_reg, 4, pci_cfg_r32(pci, pend_reg) | RTE_BIT32(v), 0);
		return 0;
	}
	return rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_MSI_IRQ_INDEX, v);
}

static int
raise_intx(struct rte_vfio_user_pci *pci, uint32_t v)
{
	if (pci->info.intx_pin == 0)
		return -ENOTSUP;
	if (v != 0)
		return -EINVAL;
	pci_cfg_set(pci, PCI_STATUS, 2, pci_cfg_r16(pci, PCI_STATUS) | PCI_STATUS_INTERRUPT, 0);
	/* Disabled: signalled when the command register enables it again. */
	if (pci_cfg_r16(pci, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE)
		return 0;
	return rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_INTX_IRQ_INDEX, 0);
}

int
vfio_user_pci_raise(struct rte_vfio_user_pci *pci, enum rte_vfio_user_pci_irq type,
		uint32_t vector)
{
	switch (type) {
	case RTE_VFIO_USER_PCI_IRQ_INTX:
		return raise_intx(pci, vector);
	case RTE_VFIO_USER_PCI_IRQ_MSI:
		return raise_msi(pci, vector);
	case RTE_VFIO_USER_PCI_IRQ_MSIX:
		return raise_msix(pci, vector);
	case RTE_VFIO_USER_PCI_IRQ_AUTO:
		if (pci->msix_n != 0 &&
				(pci_cfg_r16(pci, pci->msix_off + PCI_MSIX_FLAGS) &
					PCI_MSIX_FLAGS_ENABLE))
			return raise_msix(pci, vector);
		if (pci->msi_n != 0 &&
				(pci_cfg_r16(pci, pci->msi_off + PCI_MSI_FLAGS) &
					PCI_MSI_FLAGS_ENABLE))
			return raise_msi(pci, vector);
		return raise_intx(pci, vector);
	default:
		return -EINVAL;
	}
}

/* Deliver the pending MSI-X vectors that are no longer masked. */
static void
msix_deliver(struct rte_vfio_user_pci *pci)
{
	uint32_t v;

	for (v = 0; v < pci->msix_n; v++) {
		uint64_t bit = rte_cpu_to_le_64(RTE_BIT64(v % 64));

		if (!(pci->msix_pba[v / 64] & bit) || msix_vector_masked(pci, v))
			continue;
		pci->msix_pba[v / 64] &= ~bit;
		/* -ENOENT: no eventfd, as when raised unmasked. */
		(void)rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_MSIX_IRQ_INDEX, v);
	}
}

void
vfio_user_pci_deliver_pending(struct rte_vfio_user_pci *pci, uint16_t old_cmd)
{
	uint32_t pend_reg, pend, mask, v;

	if (pci->msix_n != 0)
		msix_deliver(pci);
	pend_reg = pci->msi_n != 0 ? msi_reg(pci, true) : 0;
	if (pend_reg != 0) {
		pend = pci_cfg_r32(pci, pend_reg);
		mask = pci_cfg_r32(pci, msi_reg(pci, false));
		for (v = 0; v < pci->msi_n; v++) {
			if (!(pend & ~mask & RTE_BIT32(v)))
				continue;
			pend &= ~RTE_BIT32(v);
			(void)rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_MSI_IRQ_INDEX, v);
		}
		pci_cfg_set(pci, pend_reg, 4, pend, 0);
	}
	/* INTx is level-triggered: enabled again while asserted, it fires again. */
	if (pci->info.intx_pin != 0 && (old_cmd & PCI_COMMAND_INTX_DISABLE) &&
			!(pci_cfg_r16(pci, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
			(pci_cfg_r16(pci, PCI_STATUS) & PCI_STATUS_INTERRUPT))
		(void)rte_vfio_user_irq_trigger(pci->dev_id, VFIO_PCI_INTX_IRQ_INDEX, 0);
}

bool
vfio_user_pci_msix_in_bar(const struct rte_vfio_user_pci *pci, unsigned int bar)
{
	const struct rte_vfio_user_pci_cap *cap;
	unsigned int i;

	for (i = 0; i < pci->info.nr_caps; i++) {
		cap = &pci->caps[i];
		if (cap->id == PCI_CAP_ID_MSIX && (cap->table_bar == bar || cap->pba_bar == bar))
			return true;
	}
	return false;
}

static const struct rte_vfio_user_pci_cap *
msix_cap(const struct rte_vfio_user_pci *pci)
{
	unsigned int i;

	for (i = 0; i < pci->info.nr_caps; i++)
		if (pci->caps[i].id == PCI_CAP_ID_MSIX)
			return &pci->caps[i];
	return NULL;
}

/* Table write of one dword: the mask bit is the only writable bit of vector control. */
static void
msix_table_write(struct rte_vfio_user_pci *pci, uint32_t off, uint32_t v)
{
	uint32_t field = off % PCI_MSIX_ENTRY_SIZE;

	if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
		v &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	else if (field == PCI_MSIX_ENTRY_LOWER_ADDR)
		v &= ~3u; /* dword-aligned message address */
	v = rte_cpu_to_le_32(v);
	memcpy(&pci->msix_table[off], &v, sizeof(v));
}

/* Forward an access outside the MSI-X structures to the device model. */
static ssize_t
model_rw(struct rte_vfio_user_pci *pci, unsigned int bar, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct rte_vfio_user_reg_info *reg = &pci->model_regs[bar];

	if (reg->rw != NULL)
		return reg->rw(pci->dev_id, reg, buf, count, offset, is_write);
	if (reg->base == NULL) {
		if (!is_write)
			memset(buf, 0, count);
	} else if (is_write) {
		memcpy((char *)reg->base + offset, buf, count);
	} else {
		memcpy(buf, (char *)reg->base + offset, count);
	}
	return count;
}

ssize_t
vfio_user_pci_msix_bar_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf,
		size_t count, uint64_t offset, bool is_write)
{
	struct rte_vfio_user_pci *pci = reg->priv;
	const struct rte_vfio_user_pci_cap *cap = msix_cap(pci);
	unsigned int bar = reg->info->index;
	uint64_t t_start = UINT64_MAX, t_end = 0, p_start = UINT64_MAX, p_end = 0;
	uint64_t end = offset + count;
	uint32_t v;
	size_t i;

	RTE_SET_USED(dev_id);
	if (cap->table_bar == bar) {
		t_start = cap->table_offset;
		t_end = t_start + (uint64_t)pci->msix_n * PCI_MSIX_ENTRY_SIZE;
	}
	if (cap->pba_bar == bar) {
		p_start = cap->pba_offset;
		p_end = p_start + msix_pba_size(pci->msix_n);
	}
	if ((offset >= t_end || end <= t_start) && (offset >= p_end || end <= p_start))
		return model_rw(pci, bar, buf, count, offset, is_write);
	/* MSI-X structures take naturally aligned dword and qword accesses. */
	if ((count != 4 && count != 8) || (offset & (count - 1)) != 0 ||
			!((offset >= t_start && end <= t_end) ||
				(offset >= p_start && end <= p_end)))
		return -EINVAL;

	pthread_mutex_lock(&pci->lock);
	if (offset >= p_start && end <= p_end) {
		/* The PBA is read-only: writes are ignored, as on hardware. */
		if (!is_write)
			memcpy(buf, (const uint8_t *)pci->msix_pba + (offset - p_start), count);
	} else if (!is_write) {
		memcpy(buf, &pci->msix_table[offset - t_start], count);
	} else {
		for (i = 0; i < count; i += 4) {
			memcpy(&v, buf + i, sizeof(v));
			msix_table_write(pci, (uint32_t)(offset - t_start + i),
				rte_le_to_cpu_32(v));
		}
		msix_deliver(pci);
	}
	pthread_mutex_unlock(&pci->lock);
	return count;
}

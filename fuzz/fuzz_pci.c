/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Fuzz target of the PCI device-model helper: the input (see fuzz_common.h)
 * is what one client sends to a device described with
 * rte_vfio_user_pci_create(), so that config space, the capability list,
 * BAR probing and the MSI-X table and PBA served by the helper take hostile
 * accesses. A write to the model's own BAR0 register raises an interrupt
 * through the helper, which exercises masking and pending bits too.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "fuzz_common.h"

#define SESSION_END_MS 2000
#define BAR0_SIZE 0x4000
#define MSIX_VECTORS 8
/* BAR0 register: writing v raises interrupt kind v >> 16, vector v & 0xffff. */
#define REG_RAISE 0x0

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sock_path[108];
static uint8_t scratch[65536];
static uint32_t bar0[BAR0_SIZE / 4];
static struct rte_vfio_user_pci *pci;

/* BAR0 of the model: plain memory, and one register that raises interrupts. */
static ssize_t
bar0_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	uint32_t v;

	RTE_SET_USED(dev_id);
	RTE_SET_USED(reg);
	if (!is_write) {
		memcpy(buf, (uint8_t *)bar0 + offset, count);
		return count;
	}
	memcpy((uint8_t *)bar0 + offset, buf, count);
	if (offset == REG_RAISE && count == sizeof(v)) {
		memcpy(&v, buf, sizeof(v));
		/* Errors (bad kind or vector) are part of what is fuzzed. */
		rte_vfio_user_pci_irq_raise(pci, (enum rte_vfio_user_pci_irq)((v >> 16) & 3),
			v & 0xffff);
		if ((v >> 16) == 0)
			rte_vfio_user_pci_intx_lower(pci);
	}
	return count;
}

static void
describe(int dev_id)
{
	static const uint8_t vndr_wmask[16] = { [4] = 0xff, [5] = 0xff, [8] = 0x0f };
	const struct rte_vfio_user_pci_cap caps[] = {
		{ .id = PCI_CAP_ID_PM },
		{ .id = PCI_CAP_ID_MSI, .nr_vectors = 4,
			.flags = RTE_VFIO_USER_PCI_MSI_F_64BIT | RTE_VFIO_USER_PCI_MSI_F_MASKABLE },
		{ .id = PCI_CAP_ID_MSIX, .nr_vectors = MSIX_VECTORS,
			.table_bar = 0, .table_offset = 0x2000,
			.pba_bar = 2, .pba_offset = 0x800 },
		{ .id = PCI_CAP_ID_EXP },
		{ .id = PCI_CAP_ID_VNDR, .len = sizeof(vndr_wmask), .wmask = vndr_wmask },
	};
	struct rte_vfio_user_pci_info info = {
		.vendor_id = 0x7e57,
		.device_id = 0xf022,
		.class_code = 0xff0000,
		.intx_pin = 1,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE_EXP,
		.flags = RTE_VFIO_USER_PCI_F_RESET | RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS,
		.caps = caps,
		.nr_caps = RTE_DIM(caps),
	};

	info.bars[0] = (struct rte_vfio_user_pci_bar){
		.size = BAR0_SIZE, .rw = bar0_rw, .fd = -1,
	};
	/* 64-bit prefetchable, served by the helper alone (PBA) and zeroes. */
	info.bars[2] = (struct rte_vfio_user_pci_bar){
		.size = 0x1000, .fd = -1,
		.flags = RTE_VFIO_USER_PCI_BAR_F_64 | RTE_VFIO_USER_PCI_BAR_F_PREFETCH,
	};
	info.bars[4] = (struct rte_vfio_user_pci_bar){
		.size = 0x40, .fd = -1, .flags = RTE_VFIO_USER_PCI_BAR_F_IO,
	};
	pci = rte_vfio_user_pci_create(sock_path, dev_id, &info);
	if (pci == NULL) {
		fprintf(stderr, "cannot describe the device: %s\n", rte_strerror(rte_errno));
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int dev_id;

	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	if (fuzz_eal_init("vfu-fuzz-pci") < 0)
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/pci.sock", fuzz_sock_dir());
	dev_id = rte_vfio_user_register(sock_path, NULL);
	if (dev_id < 0)
		abort();
	describe(dev_id);
	if (rte_vfio_user_start(sock_path) < 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_client_session(sock_path, data, size, SESSION_END_MS, scratch);
	return 0;
}

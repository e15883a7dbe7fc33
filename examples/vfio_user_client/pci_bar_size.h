/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _PCI_BAR_SIZE_H_
#define _PCI_BAR_SIZE_H_

/*
 * The size of a BAR from what it reads back after all-ones were written, as
 * Linux's pci_size() finds it: the lowest writable address bit. Only the
 * address bits count: a BAR that keeps none writable is not implemented,
 * whatever type bits it shows.
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/pci_regs.h>

/*
 * lo: the BAR register read back; hi: the next register for a 64-bit memory
 * BAR (its upper half), else ignored. Returns the size in bytes, 0 when the
 * BAR is not implemented.
 */
static inline uint64_t
pci_bar_size(uint32_t lo, uint32_t hi, bool is64)
{
	bool io = lo & PCI_BASE_ADDRESS_SPACE_IO;
	uint64_t bits = lo & (io ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK);

	if (is64 && !io)
		bits |= (uint64_t)hi << 32;
	/* An I/O BAR may leave its upper 16 bits unwritable: the lowest set bit still holds. */
	return bits & -bits;
}

#endif /* _PCI_BAR_SIZE_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _EMU_DMA_REGS_H_
#define _EMU_DMA_REGS_H_

/**
 * @file
 * Register-level interface of the emulated PCI DMA engine ("emu_dma").
 *
 * This header is the contract between the device model (drivers/emu/dma,
 * served over vfio-user) and its drivers (drivers/dma/vfio_user, or a guest
 * program programming the device through a VMM). All values are
 * little-endian.
 *
 * PCI identity: vendor 0x7e57, device 0x0002, subsystem 0x7e57:0x0002,
 * class 0x088000 (base system peripheral, other), revision 1.
 *
 * BAR0 (4 KiB, 32-bit memory, mappable): the control registers below. The
 * whole BAR is backed by memory shared with the device model, so a client
 * that maps it rings a doorbell with a plain store; REGION_WRITE messages to
 * the same offsets work too. The device model polls the registers on an
 * lcore or service core; it never relies on a write callback to act.
 *
 * BAR2 (4 KiB, 32-bit memory, not mappable): MSI-X table at 0x000 and PBA at
 * 0x800, as announced by the MSI-X capability in config space.
 *
 * Each channel owns a descriptor ring in client DMA memory. The driver
 * fills a descriptor with status 0, then advances the channel's DOORBELL
 * (a free-running count of posted descriptors). The engine processes
 * descriptors in order, writes each one's status (last, with release
 * ordering, after the data), then advances COMPLETED. An operation that
 * fails (an IOVA outside the client's DMA mappings, a bad length or opcode)
 * gets an error status; the engine carries on with the next descriptor.
 *
 * Interrupts: the engine raises MSI-X vector IRQ_VECTOR of a channel through
 * the eventfd the client set with VFIO_USER_DEVICE_SET_IRQS (VFIO semantics:
 * setting the eventfd enables the vector, VFIO_IRQ_SET_ACTION_MASK masks it).
 * The MSI-X table and PBA in BAR2 behave as on hardware, except that table
 * entries come out of reset unmasked (a VMM emulating the table never writes
 * this copy): a vector masked in its entry or by the function mask is held in
 * the PBA and raised when unmasked. The vector is raised once
 * per batch of descriptors the engine completes in one polling iteration when
 * the batch holds a descriptor flagged IRQ and the channel has IRQ_ENABLE,
 * after COMPLETED is updated. The device has NUM_CHANNELS vectors; a larger
 * IRQ_VECTOR raises nothing.
 *
 * Reset: DEV_CTRL.RESET resets the engine registers and channels;
 * VFIO_USER_DEVICE_RESET, a client's disconnection and a new client's
 * connection also reset config space and the MSI-X table.
 */

#include <stdint.h>

#define EMU_DMA_VENDOR_ID		0x7e57
#define EMU_DMA_DEVICE_ID		0x0002
#define EMU_DMA_CLASS			0x088000
#define EMU_DMA_REVISION		1

#define EMU_DMA_CTRL_BAR		0	/**< Control registers BAR. */
#define EMU_DMA_CTRL_BAR_SIZE		4096
#define EMU_DMA_MSIX_BAR		2	/**< MSI-X table and PBA BAR. */
#define EMU_DMA_MSIX_BAR_SIZE		4096
#define EMU_DMA_MSIX_TABLE_OFFSET	0x000
#define EMU_DMA_MSIX_PBA_OFFSET		0x800

#define EMU_DMA_MAGIC_VALUE		0x414d4445	/**< "EDMA" in memory order. */
#define EMU_DMA_VERSION_VALUE		0x00010000	/**< 1.0 */

/*
 * Global registers (32 bit each).
 */
#define EMU_DMA_REG_MAGIC		0x00	/**< RO: EMU_DMA_MAGIC_VALUE. */
#define EMU_DMA_REG_VERSION		0x04	/**< RO: EMU_DMA_VERSION_VALUE. */
#define EMU_DMA_REG_NUM_CHANNELS	0x08	/**< RO: number of channels. */
#define EMU_DMA_REG_CAPS		0x0c	/**< RO: EMU_DMA_CAP_* bits. */
#define EMU_DMA_REG_MAX_RING_SIZE	0x10	/**< RO: max descriptors per ring. */
#define EMU_DMA_REG_MAX_XFER		0x14	/**< RO: max bytes per descriptor. */
#define EMU_DMA_REG_DEV_CTRL		0x18	/**< RW: EMU_DMA_DEV_CTRL_* bits. */
#define EMU_DMA_REG_DEV_STATUS		0x1c	/**< RO: EMU_DMA_DEV_STATUS_* bits. */

#define EMU_DMA_CAP_COPY		(1u << 0)
#define EMU_DMA_CAP_FILL		(1u << 1)

/**
 * Write 1 to reset every channel (ENABLE cleared, channel registers back to
 * their defaults); reads 0 once the reset is done.
 */
#define EMU_DMA_DEV_CTRL_RESET		(1u << 0)
/** The engine is polling (set by its first polling iteration). */
#define EMU_DMA_DEV_STATUS_READY	(1u << 0)

#define EMU_DMA_MIN_RING_SIZE		16
#define EMU_DMA_MAX_CHANNELS		16

/*
 * Channel registers: channel c's block starts at EMU_DMA_CHAN_BASE(c).
 */
#define EMU_DMA_CHAN_BASE(c)		(0x100 + (c) * 0x40)
#define EMU_DMA_CHAN_RING_LO		0x00	/**< RW: ring IOVA, bits 31:0. */
#define EMU_DMA_CHAN_RING_HI		0x04	/**< RW: ring IOVA, bits 63:32. */
#define EMU_DMA_CHAN_RING_SIZE		0x08	/**< RW: descriptors, power of two. */
#define EMU_DMA_CHAN_CTRL		0x0c	/**< RW: EMU_DMA_CHAN_CTRL_* bits. */
#define EMU_DMA_CHAN_STATUS		0x10	/**< RO: EMU_DMA_CHAN_STATUS_* bits. */
#define EMU_DMA_CHAN_DOORBELL		0x14	/**< RW: descriptors posted (mod 2^32). */
#define EMU_DMA_CHAN_COMPLETED		0x18	/**< RO: descriptors done (mod 2^32). */
#define EMU_DMA_CHAN_IRQ_VECTOR		0x1c	/**< RW: MSI-X vector, default c. */

/**
 * Set to start the channel: the engine latches RING_LO/HI and RING_SIZE and
 * starts counting at the value of DOORBELL, which COMPLETED takes: a driver
 * writes DOORBELL 0 before setting ENABLE, or, to resume a ring on a new
 * engine (after a server restart), the count of its first descriptor not
 * completed, which the engine then processes first (at ring slot count mod
 * RING_SIZE). Clear to stop it; descriptors not yet processed are
 * dropped. The engine sees register changes by polling, so a driver that
 * stops a channel waits until STATUS reads 0 before it sets ENABLE again
 * (otherwise the engine may miss the restart).
 */
#define EMU_DMA_CHAN_CTRL_ENABLE	(1u << 0)
/** Raise the channel's MSI-X vector after a descriptor flagged IRQ. */
#define EMU_DMA_CHAN_CTRL_IRQ_ENABLE	(1u << 1)

/** The channel is enabled and its ring was accepted. */
#define EMU_DMA_CHAN_STATUS_ACTIVE	(1u << 0)
/** Descriptors are posted and not yet completed. */
#define EMU_DMA_CHAN_STATUS_BUSY	(1u << 1)
/**
 * ENABLE was refused, or the ring became unreachable (unmapped): the ring is
 * not a power of two in [EMU_DMA_MIN_RING_SIZE, MAX_RING_SIZE], not 32-byte
 * aligned, or not inside one readable and writable, fd-backed DMA mapping of
 * the client. The channel stays stopped; the bit is cleared when the engine
 * sees ENABLE cleared.
 */
#define EMU_DMA_CHAN_STATUS_RING_ERROR	(1u << 2)

/** Descriptor operation codes. */
#define EMU_DMA_OP_COPY			1	/**< Copy len bytes src -> dst. */
/**
 * Fill len bytes at dst with the 64-bit pattern in src: byte j of the
 * destination is byte (j % 8) of src in little-endian order (as DPDK's
 * rte_dma_fill()), whatever the alignment of dst and len.
 */
#define EMU_DMA_OP_FILL			2

/** Descriptor flags. */
#define EMU_DMA_DESC_FLAG_IRQ		(1u << 0)	/**< Interrupt when done. */
/** Order after earlier ops (always true: descriptors run in ring order). */
#define EMU_DMA_DESC_FLAG_FENCE		(1u << 1)

/** Descriptor status values, written by the engine. */
#define EMU_DMA_STATUS_PENDING		0x0000	/**< Written 0 by the driver. */
#define EMU_DMA_STATUS_SUCCESS		0x0001
/** [src, src + len) not wholly inside one readable, fd-backed DMA mapping. */
#define EMU_DMA_STATUS_ERR_SRC		0x8001
/** [dst, dst + len) not wholly inside one writable, fd-backed DMA mapping. */
#define EMU_DMA_STATUS_ERR_DST		0x8002
#define EMU_DMA_STATUS_ERR_LEN		0x8003	/**< len 0 or above MAX_XFER. */
#define EMU_DMA_STATUS_ERR_OP		0x8004	/**< Unknown opcode. */
#define EMU_DMA_STATUS_IS_ERROR(s)	(((s) & 0x8000) != 0)

/** One descriptor: 32 bytes, 32-byte aligned, in client DMA memory. */
struct emu_dma_desc {
	uint64_t src;		/**< Source IOVA; the 64-bit pattern for FILL. */
	uint64_t dst;		/**< Destination IOVA. */
	uint32_t len;		/**< Bytes to copy or fill. */
	uint8_t op;		/**< EMU_DMA_OP_*. */
	uint8_t flags;		/**< EMU_DMA_DESC_FLAG_*. */
	uint16_t status;	/**< EMU_DMA_STATUS_*, written last by the engine. */
	uint64_t user;		/**< Left untouched by the engine. */
};

#endif /* _EMU_DMA_REGS_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_PCI_H_
#define _RTE_VFIO_USER_PCI_H_

/**
 * @file
 * RTE vfio-user PCI device model helper
 *
 * A server that emulates a PCI function describes it once with
 * rte_vfio_user_pci_create(): identity, BARs, capabilities. The helper then
 * owns everything that is the same for every PCI function, so the device
 * model keeps only the behaviour of its BARs:
 *
 * - type-0 config space (256 bytes, or 4096 for PCI Express extended space)
 *   served to VFIO_USER_REGION_READ/WRITE with a write mask: read-only bits
 *   ignore writes, as on hardware; BARs answer the all-ones size probe;
 * - the capability list (MSI, MSI-X, PCI Express, power management,
 *   vendor-specific), laid out and linked from declarations;
 * - the MSI-X table and pending bit array (PBA), kept in the BAR(s) the
 *   MSI-X declaration names and served by the helper; the rest of those BARs
 *   goes to the device model's access callback;
 * - interrupts: rte_vfio_user_pci_irq_raise() honours the INTx disable bit,
 *   the MSI per-vector masks and the MSI-X vector and function masks; a
 *   masked interrupt is held pending and delivered when it is unmasked;
 * - the command register: memory/IO decoding and bus mastering changes are
 *   reported through struct rte_vfio_user_pci_ops.
 *
 * rte_vfio_user_pci_create() replaces rte_vfio_user_set_dev_info(),
 * rte_vfio_user_set_reg_info() and rte_vfio_user_set_irq_info() for a PCI
 * device: call it between rte_vfio_user_register() and rte_vfio_user_start().
 *
 * Interrupts are still delivered through rte_vfio_user_irq_trigger(), so a
 * client's VFIO-level masks (VFIO_IRQ_SET_ACTION_MASK) apply on top of the
 * guest-visible masks kept here.
 *
 * MSI-X table entries come out of reset unmasked, unlike on hardware: a VMM
 * such as QEMU emulates the table itself and never writes the server's copy,
 * so a vector masked at reset would stay pending forever. Set
 * RTE_VFIO_USER_PCI_MSIX_F_MASKED_RESET for the PCI reset state.
 *
 * Threads: the helper's state is changed by config and BAR accesses, which
 * run on the vfio-user control thread, and by the calls below, which take the
 * helper's lock and may be called from any thread (a data-path lcore raising
 * interrupts, for instance). The ops callbacks and the model's BAR callbacks
 * run on the control thread without that lock, so they may call the helper.
 *
 * Functions returning int return 0 or a non-negative value on success and a
 * negative errno value on failure; the same errno is also stored in rte_errno.
 *
 * @warning
 * @b EXPERIMENTAL:
 * All functions in this file may be changed or removed without prior notice.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_compat.h>

#include <rte_vfio_user.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a conventional PCI config space. */
#define RTE_VFIO_USER_PCI_CFG_SIZE 256
/** Size of a PCI Express config space (extended capabilities from 0x100). */
#define RTE_VFIO_USER_PCI_CFG_SIZE_EXP 4096
/** Number of BAR slots of a type-0 header. */
#define RTE_VFIO_USER_PCI_NUM_BARS 6

/** BAR decodes I/O space (at most 256 bytes); otherwise memory space. */
#define RTE_VFIO_USER_PCI_BAR_F_IO (1u << 0)
/** 64-bit memory BAR: it also takes the next slot, which must stay unused. */
#define RTE_VFIO_USER_PCI_BAR_F_64 (1u << 1)
/** Prefetchable memory BAR. */
#define RTE_VFIO_USER_PCI_BAR_F_PREFETCH (1u << 2)
/** The client may mmap @c fd: the whole BAR, or the sparse areas when given. */
#define RTE_VFIO_USER_PCI_BAR_F_MMAP (1u << 3)

/**
 * One BAR of the device, see struct rte_vfio_user_pci_info. A BAR of size 0
 * is not implemented: it reads 0 and ignores writes.
 */
struct rte_vfio_user_pci_bar {
	/** Size in bytes, a power of two: memory 16 B to 2 GiB (2^63 if 64-bit), I/O 4 to 256 B. */
	uint64_t size;
	/** RTE_VFIO_USER_PCI_BAR_F_* bits. */
	uint32_t flags;
	/** Sparse mmap areas in @c sparse (0: the whole BAR is mappable). */
	uint32_t nr_sparse;
	/**
	 * Access callback of the device model (its @c reg->priv is @c priv).
	 * When NULL, accesses are served from @c base, or read 0 and ignore
	 * writes when that is NULL too. Accesses to the MSI-X table and PBA
	 * never reach it.
	 */
	rte_vfio_user_reg_acc_t rw;
	/** Memory of the BAR in this process, or NULL. */
	void *base;
	/** Opaque pointer for @c rw. */
	void *priv;
	/** File descriptor the client may mmap with RTE_VFIO_USER_PCI_BAR_F_MMAP, or -1. */
	int fd;
	/** Offset of the BAR in @c fd. */
	uint64_t fd_offset;
	/** Mappable areas (offsets within the BAR), copied. */
	const struct vfio_region_sparse_mmap_area *sparse;
	/** ioeventfd sub-regions, as in struct rte_vfio_user_reg_info; not copied. */
	const struct rte_vfio_user_io_fd *io_fds;
	/** Number of entries in @c io_fds. */
	uint32_t nr_io_fds;
};

/** MSI capability with 64-bit message addresses. */
#define RTE_VFIO_USER_PCI_MSI_F_64BIT (1u << 0)
/** MSI capability with per-vector mask and pending bits. */
#define RTE_VFIO_USER_PCI_MSI_F_MASKABLE (1u << 1)
/** MSI-X table entries come out of reset masked, as the PCI specification says. */
#define RTE_VFIO_USER_PCI_MSIX_F_MASKED_RESET (1u << 0)

/**
 * One capability to place in config space. The helper lays out the list in
 * declaration order, from 0x40 (or right after the previous capability) when
 * @c offset is 0, and links it.
 */
struct rte_vfio_user_pci_cap {
	/** PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP, PCI_CAP_ID_PM or PCI_CAP_ID_VNDR. */
	uint8_t id;
	/** Offset in config space (dword aligned, from 0x40), or 0 to let the helper choose. */
	uint8_t offset;
	/** RTE_VFIO_USER_PCI_MSI_F_* or RTE_VFIO_USER_PCI_MSIX_F_* flags; 0 for other ids. */
	uint16_t flags;
	/** Number of vectors: MSI 1, 2, 4, 8, 16 or 32; MSI-X 1 to 2048. */
	uint16_t nr_vectors;
	/** MSI-X: BAR slot of the table (a memory BAR of the device). */
	uint8_t table_bar;
	/** MSI-X: BAR slot of the PBA (a memory BAR of the device). */
	uint8_t pba_bar;
	/** Vendor-specific: length, 3 to 192 bytes. */
	uint8_t len;
	/** MSI-X: 8-byte aligned offset of the table in its BAR. */
	uint32_t table_offset;
	/** MSI-X: 8-byte aligned offset of the PBA in its BAR. */
	uint32_t pba_offset;
	/**
	 * Vendor-specific: the whole capability, @c len bytes, copied (NULL
	 * means zeroes). Bytes 0 and 1 (id, next) and 2 (length) are filled by
	 * the helper.
	 */
	const void *data;
	/** Vendor-specific: bits a client may write, @c len bytes, copied; NULL: read-only. */
	const void *wmask;
};

struct rte_vfio_user_pci;

/** Callbacks from the helper to the device model; any may be NULL. */
struct rte_vfio_user_pci_ops {
	/**
	 * The command register changed (memory or I/O decoding, bus
	 * mastering, INTx disable...).
	 *
	 * @param pci
	 *   The helper.
	 * @param old_cmd
	 *   Previous value of the command register.
	 * @param new_cmd
	 *   New value.
	 * @param priv
	 *   rte_vfio_user_pci_info::priv.
	 */
	void (*command)(struct rte_vfio_user_pci *pci, uint16_t old_cmd, uint16_t new_cmd,
			void *priv);
	/**
	 * A client wrote config space (already applied with the write mask),
	 * for models that act on their vendor-specific capabilities.
	 *
	 * @param pci
	 *   The helper.
	 * @param offset
	 *   Offset of the write.
	 * @param count
	 *   Bytes written.
	 * @param priv
	 *   rte_vfio_user_pci_info::priv.
	 */
	void (*config_write)(struct rte_vfio_user_pci *pci, uint32_t offset, uint32_t count,
			void *priv);
};

/** The device supports VFIO_USER_DEVICE_RESET (VFIO_DEVICE_FLAGS_RESET). */
#define RTE_VFIO_USER_PCI_F_RESET (1u << 0)
/** Advertise the ERR and REQ interrupts (one eventfd each) to the client. */
#define RTE_VFIO_USER_PCI_F_ERR_REQ_IRQS (1u << 1)

/** Description of a PCI function, see rte_vfio_user_pci_create(). */
struct rte_vfio_user_pci_info {
	uint16_t vendor_id;           /**< Vendor id. */
	uint16_t device_id;           /**< Device id. */
	uint16_t subsys_vendor_id;    /**< Subsystem vendor id. */
	uint16_t subsys_id;           /**< Subsystem id. */
	uint32_t class_code;          /**< Base class, sub-class, prog-if (24 bits). */
	uint8_t revision;             /**< Revision id. */
	uint8_t intx_pin;             /**< 0 (no INTx) or 1 to 4 (INTA to INTD). */
	uint16_t cfg_size;            /**< RTE_VFIO_USER_PCI_CFG_SIZE or _CFG_SIZE_EXP. */
	uint32_t flags;               /**< RTE_VFIO_USER_PCI_F_* bits. */
	/** BARs by slot; the second slot of a 64-bit BAR stays zero. */
	struct rte_vfio_user_pci_bar bars[RTE_VFIO_USER_PCI_NUM_BARS];
	const struct rte_vfio_user_pci_cap *caps; /**< Capabilities, copied. */
	uint32_t nr_caps;             /**< Number of entries in @c caps. */
	struct rte_vfio_user_pci_ops ops; /**< Callbacks. */
	void *priv;                   /**< Passed to the callbacks. */
};

/** Interrupt kinds of rte_vfio_user_pci_irq_raise(). */
enum rte_vfio_user_pci_irq {
	/** Assert INTx (level: it stays asserted until rte_vfio_user_pci_intx_lower()). */
	RTE_VFIO_USER_PCI_IRQ_INTX,
	/** An MSI vector. */
	RTE_VFIO_USER_PCI_IRQ_MSI,
	/** An MSI-X vector. */
	RTE_VFIO_USER_PCI_IRQ_MSIX,
	/** As hardware picks: MSI-X if enabled in config space, else MSI if enabled, else INTx. */
	RTE_VFIO_USER_PCI_IRQ_AUTO,
};

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Build the config space of a PCI function and describe the device to the
 * server: device info, the config and BAR regions (config space and MSI-X
 * structures served by the helper), the interrupt types (INTx, MSI and
 * MSI-X with the vector counts of the capabilities, ERR and REQ on request).
 * Everything in @p info is copied, except the BAR memory, descriptors,
 * io_fds and private pointers.
 *
 * @param sock_addr
 *   Socket path of a registered server device, not started.
 * @param dev_id
 *   Its server device id (from rte_vfio_user_register()).
 * @param info
 *   The function.
 * @return
 *   The helper, or NULL with rte_errno set: EINVAL (NULL argument, dev_id
 *   negative, cfg_size not 256 nor 4096, intx_pin above 4, unknown flags,
 *   BAR size not a power of two or out of range, 64-bit flag on an I/O BAR
 *   or in slot 5, second slot of a 64-bit BAR used, mmap without an fd,
 *   sparse area outside its BAR, capability id not supported, capability
 *   offset below 0x40, not dword aligned or past the end of config space,
 *   vector count out of range, MSI-X structure outside a memory BAR or
 *   misaligned, MSI-X table and PBA overlapping, MSI-X structure in a
 *   mappable part of its BAR, more than one MSI or MSI-X capability,
 *   vendor length out of range), EEXIST (capability overlapping another),
 *   ENOSPC (capabilities do not fit in the 192 bytes after the header, or
 *   more than 64 of them),
 *   ENOMEM, or as rte_vfio_user_set_reg_info() (ENOENT: not registered,
 *   EBUSY: started).
 */
__rte_experimental
struct rte_vfio_user_pci *
rte_vfio_user_pci_create(const char *sock_addr, int dev_id,
		const struct rte_vfio_user_pci_info *info);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Free the helper. The server keeps pointers into it until the device is
 * unregistered: call it after rte_vfio_user_unregister().
 *
 * @param pci
 *   The helper, or NULL.
 */
__rte_experimental
void
rte_vfio_user_pci_free(struct rte_vfio_user_pci *pci);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Put config space, the MSI-X table and PBA, MSI pending bits and INTx back
 * in their power-on state (a device model calls it from its reset_device
 * callback, for instance). The ops callbacks are not called.
 *
 * @param pci
 *   The helper.
 * @return
 *   0 on success, -EINVAL if @p pci is NULL.
 */
__rte_experimental
int
rte_vfio_user_pci_reset(struct rte_vfio_user_pci *pci);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Raise an interrupt the way the function would on hardware:
 *
 * - INTx (level-triggered): the Interrupt Status bit is set; the line is
 *   signalled unless the command register's Interrupt Disable bit is set, and
 *   again whenever a client clears that bit while the line is still asserted.
 * - MSI: a vector masked by its per-vector mask bit gets its pending bit set
 *   and is delivered (and the bit cleared) when unmasked.
 * - MSI-X: a vector masked in its table entry, or by the function mask, gets
 *   its PBA bit set and is delivered (and the bit cleared) when unmasked.
 *
 * The MSI and MSI-X Enable bits are not consulted for an explicit kind: a
 * vfio-user client enables vectors by setting their eventfds, as with kernel
 * VFIO; RTE_VFIO_USER_PCI_IRQ_AUTO looks at them.
 *
 * @param pci
 *   The helper.
 * @param type
 *   Interrupt kind.
 * @param vector
 *   Vector within the kind (0 for INTx).
 * @return
 *   0 when delivered or held pending; -EINVAL (NULL @p pci, unknown type,
 *   vector out of range); -ENOTSUP (the function has no such interrupt:
 *   INTx pin 0, no MSI or MSI-X capability); or as
 *   rte_vfio_user_irq_trigger() (-ENOENT when the client set no eventfd).
 */
__rte_experimental
int
rte_vfio_user_pci_irq_raise(struct rte_vfio_user_pci *pci, enum rte_vfio_user_pci_irq type,
		uint32_t vector);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Deassert INTx: clear the Interrupt Status bit.
 *
 * @param pci
 *   The helper.
 * @return
 *   0 on success, -EINVAL if @p pci is NULL, -ENOTSUP if the INTx pin is 0.
 */
__rte_experimental
int
rte_vfio_user_pci_intx_lower(struct rte_vfio_user_pci *pci);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Read config space as a client would.
 *
 * @param pci
 *   The helper.
 * @param offset
 *   Offset in config space.
 * @param buf
 *   Destination of @p len bytes.
 * @param len
 *   Bytes to read.
 * @return
 *   0 on success; -EINVAL for a NULL argument or a range past the config space.
 */
__rte_experimental
int
rte_vfio_user_pci_cfg_read(struct rte_vfio_user_pci *pci, uint32_t offset, void *buf,
		uint32_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Change config space from the device side, ignoring the write mask (to
 * update a status bit or the contents of a vendor-specific capability). The
 * ops callbacks are not called and nothing is delivered.
 *
 * @param pci
 *   The helper.
 * @param offset
 *   Offset in config space.
 * @param buf
 *   Source of @p len bytes.
 * @param len
 *   Bytes to write.
 * @return
 *   0 on success; -EINVAL for a NULL argument or a range past the config space.
 */
__rte_experimental
int
rte_vfio_user_pci_cfg_write(struct rte_vfio_user_pci *pci, uint32_t offset, const void *buf,
		uint32_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Find a capability in the list the helper built.
 *
 * @param pci
 *   The helper.
 * @param id
 *   Capability id (PCI_CAP_ID_*).
 * @param start
 *   0 to find the first one, or the offset of a capability to find the next
 *   one after it (vendor-specific capabilities often come several).
 * @return
 *   Offset of the capability; -EINVAL (NULL @p pci, or @p start not the
 *   offset of a capability); -ENOENT when there is no (further) one.
 */
__rte_experimental
int
rte_vfio_user_pci_cap_find(struct rte_vfio_user_pci *pci, uint8_t id, uint8_t start);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Bytes of the state rte_vfio_user_pci_save() writes: always the same for a
 * given function.
 *
 * @param pci
 *   The helper.
 * @return
 *   The size; -EINVAL if @p pci is NULL.
 */
__rte_experimental
ssize_t
rte_vfio_user_pci_state_size(const struct rte_vfio_user_pci *pci);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Save what the helper keeps of the function for live migration: config
 * space (command register, BAR addresses, capability registers, INTx status
 * and MSI pending bits), the MSI-X table and the PBA, as a versioned,
 * little-endian image. A device model puts it in its own migration stream
 * while the device is stopped.
 *
 * @param pci
 *   The helper.
 * @param buf
 *   Destination.
 * @param len
 *   Size of @p buf, at least rte_vfio_user_pci_state_size().
 * @return
 *   Bytes written; -EINVAL for a NULL argument; -ENOSPC if @p len is too small.
 */
__rte_experimental
ssize_t
rte_vfio_user_pci_save(struct rte_vfio_user_pci *pci, void *buf, size_t len);

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Load an image from rte_vfio_user_pci_save(), on the destination of a
 * migration, for the same function described the same way. The image is
 * checked whole before anything changes: it must have the expected size,
 * magic and version, the same config space size and MSI-X vector count, the
 * same read-only config bits as this function, only writable bits set in the
 * MSI-X table, no PBA or MSI pending bit beyond the vectors, and no pending
 * vector that is unmasked (the helper would have delivered it). Nothing is
 * delivered and the ops callbacks are not called.
 *
 * @param pci
 *   The helper.
 * @param buf
 *   The image.
 * @param len
 *   Its size.
 * @return
 *   0 on success; -EINVAL for a NULL argument or an image refused as above
 *   (the helper's state is then unchanged).
 */
__rte_experimental
int
rte_vfio_user_pci_restore(struct rte_vfio_user_pci *pci, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* _RTE_VFIO_USER_PCI_H_ */

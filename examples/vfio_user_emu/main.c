/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * An emulated PCI device served over vfio-user: a small DMA copy/checksum
 * engine. BAR0 holds the engine registers and the MSI-X table and PBA; BAR1
 * is a 64 KiB memfd-backed region whose second half the client may mmap.
 *
 * The ids 7e57:0001 are a test pair that is not assigned in pci.ids; do not
 * use them for real hardware.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "vfio_user_engine.h"

#define EMU_CFG_SIZE 256
#define EMU_BAR1_SIZE (64 * 1024)
#define EMU_MAX_DEVS 4

/* PCI config space layout of the device. */
#define EMU_CAP_MSIX 0x40
#define EMU_CAP_VNDR 0x50
#define EMU_CAP_VNDR_LEN 0x0c
#define EMU_CMD_WMASK (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
		PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

struct emu_msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl;
};

struct emu_dev {
	const char *path;
	int dev_id;            /* server device id */
	uint8_t cfg[EMU_CFG_SIZE];
	uint8_t cfg_wmask[EMU_CFG_SIZE];
	uint64_t src, dst;
	uint32_t len, ctrl, status, err, csum, count, scratch;
	struct emu_msix_entry msix[ENGINE_MSIX_VECTORS];
	uint64_t pba;
	uint8_t *bounce;       /* copy buffer, ENGINE_MAX_LEN bytes */
	uint8_t *bar1;         /* mapping of bar1_fd */
	int bar1_fd;
};

/* One device per --socket option. */
static struct emu_dev emus[EMU_MAX_DEVS];
static unsigned int nb_emus;

/* Woken by signals and by the --once disconnect. */
static int wake_fd = -1;
static volatile sig_atomic_t quit;
static bool opt_once;
static const char *opt_sockets[EMU_MAX_DEVS];
static volatile bool client_left;

static void
wake_main(void)
{
	uint64_t one = 1;

	/* write() is async-signal-safe; a full counter is harmless. */
	if (write(wake_fd, &one, sizeof(one)) < 0)
		return;
}

static void
signal_handler(int sig)
{
	RTE_SET_USED(sig);
	quit = 1;
	wake_main();
}

static uint16_t
cfg_r16(const struct emu_dev *d, unsigned int off)
{
	return d->cfg[off] | (d->cfg[off + 1] << 8);
}

static void
cfg_init16(struct emu_dev *d, unsigned int off, uint16_t v, uint16_t wmask)
{
	d->cfg[off] = v & 0xff;
	d->cfg[off + 1] = v >> 8;
	d->cfg_wmask[off] = wmask & 0xff;
	d->cfg_wmask[off + 1] = wmask >> 8;
}

static void
cfg_init32(struct emu_dev *d, unsigned int off, uint32_t v, uint32_t wmask)
{
	cfg_init16(d, off, v & 0xffff, wmask & 0xffff);
	cfg_init16(d, off + 2, v >> 16, wmask >> 16);
}

static void
bar1_banner(struct emu_dev *d)
{
	struct engine_banner *b = (struct engine_banner *)(d->bar1 + ENGINE_BAR1_BANNER);

	b->magic = ENGINE_BANNER_MAGIC;
	b->copies = d->count;
	snprintf(b->text, sizeof(b->text), "hello from %s", "dpdk-vfio-user-emu");
}

/* Power-on state of the whole device; also what reset_device restores. */
static void
emu_reset_state(struct emu_dev *d)
{
	unsigned int i;

	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->cfg_wmask, 0, sizeof(d->cfg_wmask));
	cfg_init16(d, PCI_VENDOR_ID, ENGINE_VENDOR_ID, 0);
	cfg_init16(d, PCI_DEVICE_ID, ENGINE_DEVICE_ID, 0);
	cfg_init16(d, PCI_COMMAND, 0, EMU_CMD_WMASK);
	cfg_init16(d, PCI_STATUS, PCI_STATUS_CAP_LIST, 0);
	d->cfg[PCI_REVISION_ID] = ENGINE_REVISION;
	d->cfg[PCI_CLASS_PROG] = ENGINE_CLASS & 0xff;
	d->cfg[PCI_CLASS_DEVICE] = (ENGINE_CLASS >> 8) & 0xff;
	d->cfg[PCI_CLASS_DEVICE + 1] = ENGINE_CLASS >> 16;
	d->cfg_wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->cfg_wmask[PCI_LATENCY_TIMER] = 0xff;
	d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	/* BAR0: 4 KiB, 32-bit, non-prefetchable: the size shows in the writable bits. */
	cfg_init32(d, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_TYPE_32,
		~(uint32_t)(ENGINE_BAR0_SIZE - 1));
	/* BAR1: 64 KiB, 64-bit, prefetchable, upper half in the BAR2 slot. */
	cfg_init32(d, PCI_BASE_ADDRESS_1,
		PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
		~(uint32_t)(EMU_BAR1_SIZE - 1));
	cfg_init32(d, PCI_BASE_ADDRESS_2, 0, 0xffffffff);
	cfg_init16(d, PCI_SUBSYSTEM_VENDOR_ID, ENGINE_VENDOR_ID, 0);
	cfg_init16(d, PCI_SUBSYSTEM_ID, ENGINE_DEVICE_ID, 0);
	d->cfg[PCI_CAPABILITY_LIST] = EMU_CAP_MSIX;
	d->cfg_wmask[PCI_INTERRUPT_LINE] = 0xff;
	/* INTA, used while MSI-X is off (a guest without a driver for the device). */
	d->cfg[PCI_INTERRUPT_PIN] = 1;

	d->cfg[EMU_CAP_MSIX + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
	d->cfg[EMU_CAP_MSIX + PCI_CAP_LIST_NEXT] = EMU_CAP_VNDR;
	cfg_init16(d, EMU_CAP_MSIX + PCI_MSIX_FLAGS, ENGINE_MSIX_VECTORS - 1,
		PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cfg_init32(d, EMU_CAP_MSIX + PCI_MSIX_TABLE, ENGINE_MSIX_TABLE | ENGINE_MSIX_BIR, 0);
	cfg_init32(d, EMU_CAP_MSIX + PCI_MSIX_PBA, ENGINE_MSIX_PBA | ENGINE_MSIX_BIR, 0);

	d->cfg[EMU_CAP_VNDR + PCI_CAP_LIST_ID] = PCI_CAP_ID_VNDR;
	d->cfg[EMU_CAP_VNDR + PCI_CAP_LIST_NEXT] = 0;
	d->cfg[EMU_CAP_VNDR + 2] = EMU_CAP_VNDR_LEN;
	cfg_init32(d, EMU_CAP_VNDR + 4, ENGINE_VERSION, 0);
	cfg_init32(d, EMU_CAP_VNDR + 8, ENGINE_MAX_LEN, 0);

	d->src = 0;
	d->dst = 0;
	d->len = 0;
	d->ctrl = 0;
	d->status = 0;
	d->err = 0;
	d->csum = 0;
	d->count = 0;
	d->scratch = 0;
	/*
	 * MSI-X vectors come out of reset unmasked, unlike on hardware: a VMM such
	 * as QEMU emulates the table itself and never writes this copy, so masked
	 * vectors would stay pending forever. Clients that use this table, like
	 * dpdk-vfio-user-client, mask through it explicitly.
	 */
	for (i = 0; i < ENGINE_MSIX_VECTORS; i++)
		memset(&d->msix[i], 0, sizeof(d->msix[i]));
	d->pba = 0;
	memset(d->bar1, 0, EMU_BAR1_SIZE);
	bar1_banner(d);
}

static const char *
irq_err(int ret)
{
	return ret == -ENOENT ? "no eventfd set by the client" : strerror(-ret);
}

static bool
msix_masked(const struct emu_dev *d, unsigned int vec)
{
	uint16_t flags = cfg_r16(d, EMU_CAP_MSIX + PCI_MSIX_FLAGS);

	return (flags & PCI_MSIX_FLAGS_MASKALL) ||
		(d->msix[vec].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void
msix_fire(struct emu_dev *d, unsigned int vec)
{
	uint16_t flags = cfg_r16(d, EMU_CAP_MSIX + PCI_MSIX_FLAGS);
	int ret;

	if (!(flags & PCI_MSIX_FLAGS_ENABLE)) {
		printf("emu: MSI-X disabled, interrupt %u dropped\n", vec);
		return;
	}
	if (msix_masked(d, vec)) {
		d->pba |= UINT64_C(1) << vec;
		printf("emu: MSI-X vector %u masked, now pending\n", vec);
		return;
	}
	ret = rte_vfio_user_irq_trigger(d->dev_id, VFIO_PCI_MSIX_IRQ_INDEX, vec);
	if (ret < 0)
		printf("emu: MSI-X vector %u trigger failed: %s\n", vec, irq_err(ret));
}

/* Deliver what became unmasked. */
static void
msix_deliver_pending(struct emu_dev *d)
{
	uint16_t flags = cfg_r16(d, EMU_CAP_MSIX + PCI_MSIX_FLAGS);
	unsigned int vec;

	if (!(flags & PCI_MSIX_FLAGS_ENABLE))
		return;
	for (vec = 0; vec < ENGINE_MSIX_VECTORS; vec++) {
		if (!(d->pba & (UINT64_C(1) << vec)) || msix_masked(d, vec))
			continue;
		d->pba &= ~(UINT64_C(1) << vec);
		printf("emu: MSI-X vector %u unmasked, delivering pending interrupt\n", vec);
		msix_fire(d, vec);
	}
}

/*
 * INTx is level-triggered: the status register's interrupt bit follows the
 * engine's DONE bit while interrupts are on, and the line is signalled each
 * time it becomes asserted and not disabled by the command register.
 */
static void
intx_update(struct emu_dev *d, bool assert)
{
	uint16_t status = cfg_r16(d, PCI_STATUS);
	int ret;

	if (!assert) {
		cfg_init16(d, PCI_STATUS, status & ~PCI_STATUS_INTERRUPT, 0);
		return;
	}
	cfg_init16(d, PCI_STATUS, status | PCI_STATUS_INTERRUPT, 0);
	if (cfg_r16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) {
		printf("emu: INTx disabled by the command register, now pending\n");
		return;
	}
	ret = rte_vfio_user_irq_trigger(d->dev_id, VFIO_PCI_INTX_IRQ_INDEX, 0);
	if (ret < 0)
		printf("emu: INTx trigger failed: %s\n", irq_err(ret));
}

/* Completion interrupt: MSI-X vector 0 when MSI-X is on, else INTx. */
static void
engine_irq(struct emu_dev *d)
{
	if (cfg_r16(d, EMU_CAP_MSIX + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE)
		msix_fire(d, 0);
	else
		intx_update(d, true);
}

static ssize_t
cfg_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct emu_dev *d = reg->priv;
	uint16_t old_cmd = cfg_r16(d, PCI_COMMAND);
	size_t i;

	RTE_SET_USED(dev_id);
	if (!is_write) {
		memcpy(buf, &d->cfg[offset], count);
		return count;
	}
	for (i = 0; i < count; i++) {
		uint8_t m = d->cfg_wmask[offset + i];

		d->cfg[offset + i] = (d->cfg[offset + i] & ~m) | (buf[i] & m);
	}
	if (cfg_r16(d, PCI_COMMAND) != old_cmd)
		printf("emu: command register 0x%04x (Mem%c BusMaster%c)\n",
			cfg_r16(d, PCI_COMMAND),
			(cfg_r16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY) ? '+' : '-',
			(cfg_r16(d, PCI_COMMAND) & PCI_COMMAND_MASTER) ? '+' : '-');
	if (offset < EMU_CAP_MSIX + PCI_MSIX_FLAGS + 2 &&
			offset + count > EMU_CAP_MSIX + PCI_MSIX_FLAGS)
		msix_deliver_pending(d);
	/* INTx enabled again while still asserted: signal it now. */
	if ((old_cmd & PCI_COMMAND_INTX_DISABLE) &&
			!(cfg_r16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
			(cfg_r16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT))
		intx_update(d, true);
	return count;
}

static uint32_t
adler32(const uint8_t *p, size_t len)
{
	uint32_t a = 1, b = 0;

	while (len > 0) {
		/* 5552 bytes is the most that cannot overflow b before the modulo. */
		size_t n = RTE_MIN(len, (size_t)5552);

		len -= n;
		while (n--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return (b << 16) | a;
}

/* The doorbell: copy len bytes from src to dst through the client's DMA windows. */
static void
engine_run(struct emu_dev *d)
{
	uint64_t avail = d->len;
	const char *via;
	int ret = 0;

	d->status &= ~(ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	d->err = 0;
	if (!(cfg_r16(d, PCI_COMMAND) & PCI_COMMAND_MASTER))
		ret = -EPERM;
	else if (d->len == 0 || d->len > ENGINE_MAX_LEN)
		ret = -EINVAL;
	via = rte_vfio_user_iova_to_vva(d->dev_id, d->src, &avail) != NULL ?
		"mapped fd" : "DMA messages";
	if (ret == 0)
		ret = rte_vfio_user_dma_read(d->dev_id, d->src, d->bounce, d->len);
	if (ret == 0) {
		d->csum = adler32(d->bounce, d->len);
		ret = rte_vfio_user_dma_write(d->dev_id, d->dst, d->bounce, d->len);
	}
	if (ret == 0) {
		d->count++;
		bar1_banner(d);
		d->status |= ENGINE_STATUS_DONE;
		printf("emu: copy #%u: 0x%" PRIx64 " -> 0x%" PRIx64 ", %u bytes via %s, "
			"adler32 0x%08x\n", d->count, d->src, d->dst, d->len, via, d->csum);
	} else {
		d->err = -ret;
		d->status |= ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR;
		printf("emu: copy 0x%" PRIx64 " -> 0x%" PRIx64 ", %u bytes failed: %s\n",
			d->src, d->dst, d->len, strerror(-ret));
	}
	if (d->ctrl & ENGINE_CTRL_IRQ_EN)
		engine_irq(d);
}

static void
engine_reg_write(struct emu_dev *d, uint64_t off, uint64_t v, size_t count)
{
	switch (off) {
	case ENGINE_REG_SRC:
		d->src = count == 8 ? v : (d->src & ~UINT64_C(0xffffffff)) | v;
		break;
	case ENGINE_REG_SRC + 4:
		d->src = (d->src & UINT64_C(0xffffffff)) | (v << 32);
		break;
	case ENGINE_REG_DST:
		d->dst = count == 8 ? v : (d->dst & ~UINT64_C(0xffffffff)) | v;
		break;
	case ENGINE_REG_DST + 4:
		d->dst = (d->dst & UINT64_C(0xffffffff)) | (v << 32);
		break;
	case ENGINE_REG_LEN:
		d->len = v;
		break;
	case ENGINE_REG_CTRL:
		d->ctrl = v & ENGINE_CTRL_IRQ_EN;
		break;
	case ENGINE_REG_DOORBELL:
		if (v & 1)
			engine_run(d);
		break;
	case ENGINE_REG_STATUS:
		d->status &= ~(v & (ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR));
		if (!(d->status & ENGINE_STATUS_DONE))
			intx_update(d, false);
		break;
	case ENGINE_REG_SCRATCH:
		d->scratch = v;
		break;
	default:
		break; /* read-only or unused: ignored */
	}
}

static uint64_t
engine_reg_read(const struct emu_dev *d, uint64_t off, size_t count)
{
	switch (off) {
	case ENGINE_REG_ID:
		return ENGINE_ID_VALUE;
	case ENGINE_REG_VERSION:
		return ENGINE_VERSION;
	case ENGINE_REG_SRC:
		return count == 8 ? d->src : (uint32_t)d->src;
	case ENGINE_REG_SRC + 4:
		return d->src >> 32;
	case ENGINE_REG_DST:
		return count == 8 ? d->dst : (uint32_t)d->dst;
	case ENGINE_REG_DST + 4:
		return d->dst >> 32;
	case ENGINE_REG_LEN:
		return d->len;
	case ENGINE_REG_CTRL:
		return d->ctrl;
	case ENGINE_REG_STATUS:
		return d->status;
	case ENGINE_REG_ERROR:
		return d->err;
	case ENGINE_REG_CSUM:
		return d->csum;
	case ENGINE_REG_COUNT:
		return d->count;
	case ENGINE_REG_SCRATCH:
		return d->scratch;
	default:
		return 0;
	}
}

/*
 * BAR0: registers, MSI-X table and PBA. Like real hardware, only naturally
 * aligned 4-byte accesses (and 8-byte ones where a 64-bit value lives) are
 * accepted; anything else fails with EINVAL.
 */
static ssize_t
bar0_access(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct emu_dev *d = reg->priv;
	uint64_t v = 0;

	RTE_SET_USED(dev_id);
	if ((count != 4 && count != 8) || (offset & (count - 1)) != 0)
		return -EINVAL;
	if (is_write)
		memcpy(&v, buf, count);

	if (offset >= ENGINE_MSIX_TABLE &&
			offset < ENGINE_MSIX_TABLE + ENGINE_MSIX_VECTORS * PCI_MSIX_ENTRY_SIZE) {
		uint8_t *t = (uint8_t *)d->msix + (offset - ENGINE_MSIX_TABLE);

		if (!is_write) {
			memcpy(buf, t, count);
			return count;
		}
		memcpy(t, &v, count);
		msix_deliver_pending(d);
		return count;
	}
	if (offset == ENGINE_MSIX_PBA || offset == ENGINE_MSIX_PBA + 4) {
		/* The PBA is read-only. */
		if (!is_write) {
			v = d->pba >> ((offset - ENGINE_MSIX_PBA) * 8);
			memcpy(buf, &v, count);
		}
		return count;
	}
	if (count == 8 && offset != ENGINE_REG_SRC && offset != ENGINE_REG_DST)
		return -EINVAL;
	if (is_write) {
		engine_reg_write(d, offset, v, count);
	} else {
		v = engine_reg_read(d, offset, count);
		memcpy(buf, &v, count);
	}
	return count;
}

/*
 * Notify callbacks: all run on the library's control thread, one at a time.
 */

static int
emu_new_device(int dev_id)
{
	printf("emu: client connected (server device %d)\n", dev_id);
	return 0;
}

static void
emu_destroy_device(int dev_id)
{
	/* The device state stays as it is for the next client, as on real hardware. */
	printf("emu: client gone (server device %d)\n", dev_id);
	if (opt_once) {
		client_left = true;
		wake_main();
	}
}

static void
print_mem_table(int dev_id)
{
	const struct rte_vfio_user_mem_table *mt = rte_vfio_user_get_mem_table(dev_id);
	uint32_t i;

	if (mt == NULL) {
		printf("emu: no DMA table: %s\n", rte_strerror(rte_errno));
		return;
	}
	printf("emu: DMA table, %u window(s)\n", mt->entry_num);
	for (i = 0; i < mt->entry_num; i++) {
		const struct rte_vfio_user_mem_reg *m = &mt->regions[i];

		printf("emu:   iova 0x%" PRIx64 " size 0x%" PRIx64 " %s%s %s\n",
			m->iova, m->size, (m->prot & PROT_READ) ? "R" : "-",
			(m->prot & PROT_WRITE) ? "W" : "-",
			m->vaddr != NULL ? "fd-mapped" : "message-based");
	}
}

static int
emu_update_status(int dev_id, enum rte_vfio_user_update type)
{
	int fds[ENGINE_MSIX_VECTORS];
	unsigned int i;

	if (type == RTE_VFIO_USER_UPDATE_DMA) {
		print_mem_table(dev_id);
		return 0;
	}
	if (rte_vfio_user_get_irq(dev_id, VFIO_PCI_MSIX_IRQ_INDEX, ENGINE_MSIX_VECTORS,
			fds) < 0) {
		printf("emu: interrupt update, cannot read eventfds: %s\n",
			rte_strerror(rte_errno));
		return 0;
	}
	printf("emu: interrupt update, MSI-X eventfds:");
	for (i = 0; i < ENGINE_MSIX_VECTORS; i++)
		printf(" [%u]%s", i, fds[i] >= 0 ? "set" : "-");
	printf("\n");
	return 0;
}

static int
emu_lock_dp(int dev_id, int lock)
{
	/* Every access happens on the control thread, so there is nothing to quiesce. */
	RTE_SET_USED(dev_id);
	printf("emu: data path %s\n", lock ? "locked" : "unlocked");
	return 0;
}

static int
emu_reset_device(int dev_id)
{
	struct emu_dev *d = rte_vfio_user_get_priv(dev_id);

	emu_reset_state(d);
	printf("emu: device reset, registers back to defaults\n");
	return 0;
}

static const struct rte_vfio_user_notify_ops emu_ops = {
	.new_device = emu_new_device,
	.destroy_device = emu_destroy_device,
	.update_status = emu_update_status,
	.lock_dp = emu_lock_dp,
	.reset_device = emu_reset_device,
};

/*
 * Device description.
 */

/* BAR1 info: the structure, then a sparse mmap capability with one area. */
#define BAR1_INFO_SIZE (sizeof(struct vfio_region_info) + \
		sizeof(struct vfio_region_info_cap_sparse_mmap) + \
		sizeof(struct vfio_region_sparse_mmap_area))

static struct vfio_region_info plain_info[VFIO_PCI_NUM_REGIONS];
static union {
	struct vfio_region_info info;
	uint64_t raw[BAR1_INFO_SIZE / sizeof(uint64_t)];
} bar1_info;
static struct rte_vfio_user_reg_info reg_info[VFIO_PCI_NUM_REGIONS];
static struct vfio_irq_info irq_info[VFIO_PCI_NUM_IRQS];

static int
emu_describe(struct emu_dev *d)
{
	struct vfio_device_info dev_info = {
		.argsz = sizeof(dev_info),
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = VFIO_PCI_NUM_REGIONS,
		.num_irqs = VFIO_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_regions regs = {
		.reg_num = VFIO_PCI_NUM_REGIONS,
		.reg_info = reg_info,
	};
	struct rte_vfio_user_irq_info irqs = {
		.irq_num = VFIO_PCI_NUM_IRQS,
		.irq_info = irq_info,
	};
	struct vfio_region_info_cap_sparse_mmap *sparse;
	unsigned int i;
	int ret;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		plain_info[i].argsz = sizeof(plain_info[i]);
		plain_info[i].index = i;
		reg_info[i].info = &plain_info[i];
		reg_info[i].fd = -1;
		reg_info[i].priv = d;
	}
	plain_info[VFIO_PCI_BAR0_REGION_INDEX].flags =
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	plain_info[VFIO_PCI_BAR0_REGION_INDEX].size = ENGINE_BAR0_SIZE;
	reg_info[VFIO_PCI_BAR0_REGION_INDEX].rw = bar0_access;

	plain_info[VFIO_PCI_CONFIG_REGION_INDEX].flags =
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	plain_info[VFIO_PCI_CONFIG_REGION_INDEX].size = EMU_CFG_SIZE;
	reg_info[VFIO_PCI_CONFIG_REGION_INDEX].rw = cfg_access;

	/* BAR1: accessed through messages from d->bar1, the second half also by mmap. */
	bar1_info.info.argsz = BAR1_INFO_SIZE;
	bar1_info.info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
	bar1_info.info.index = VFIO_PCI_BAR1_REGION_INDEX;
	bar1_info.info.cap_offset = sizeof(struct vfio_region_info);
	bar1_info.info.size = EMU_BAR1_SIZE;
	bar1_info.info.offset = 0;
	sparse = (struct vfio_region_info_cap_sparse_mmap *)(&bar1_info.info + 1);
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->header.next = 0;
	sparse->nr_areas = 1;
	sparse->areas[0].offset = ENGINE_BAR1_MMAP_OFF;
	sparse->areas[0].size = EMU_BAR1_SIZE - ENGINE_BAR1_MMAP_OFF;
	reg_info[VFIO_PCI_BAR1_REGION_INDEX].info = &bar1_info.info;
	reg_info[VFIO_PCI_BAR1_REGION_INDEX].base = d->bar1;
	reg_info[VFIO_PCI_BAR1_REGION_INDEX].fd = d->bar1_fd;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		irq_info[i].argsz = sizeof(irq_info[i]);
		irq_info[i].index = i;
	}
	irq_info[VFIO_PCI_MSIX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_NORESIZE;
	irq_info[VFIO_PCI_MSIX_IRQ_INDEX].count = ENGINE_MSIX_VECTORS;
	/* As in Linux VFIO: the library masks INTx as it fires, QEMU unmasks it at EOI. */
	irq_info[VFIO_PCI_INTX_IRQ_INDEX].flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		VFIO_IRQ_INFO_AUTOMASKED;
	irq_info[VFIO_PCI_INTX_IRQ_INDEX].count = 1;

	ret = rte_vfio_user_set_dev_info(d->path, &dev_info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(d->path, &regs);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(d->path, &irqs);
	return ret;
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [--socket PATH [--socket PATH2 ...] [--once]]\n"
		"  --socket PATH  UNIX socket a device is served on (up to %d devices)\n"
		"  --once         exit when the first client disconnects\n"
		"Without --socket, only the devices of EAL --vdev options are served\n"
		"(e.g. --vdev=emu_dma0,path=SOCK,service_core=1 -d librte_emu_dma.so).\n",
		prog, EMU_MAX_DEVS);
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nb_emus == EMU_MAX_DEVS) {
				printf("at most %d --socket options\n", EMU_MAX_DEVS);
				return -1;
			}
			opt_sockets[nb_emus++] = optarg;
			break;
		case 'o':
			opt_once = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc || (opt_once && nb_emus == 0)) {
		usage(argv[0]);
		return -1;
	}
	return 0;
}

static int
emu_alloc(struct emu_dev *d)
{
	d->bounce = malloc(ENGINE_MAX_LEN);
	if (d->bounce == NULL)
		return -ENOMEM;
	d->bar1_fd = memfd_create("vfio-user-emu-bar1", MFD_CLOEXEC);
	if (d->bar1_fd < 0)
		return -errno;
	if (ftruncate(d->bar1_fd, EMU_BAR1_SIZE) < 0)
		return -errno;
	d->bar1 = mmap(NULL, EMU_BAR1_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->bar1_fd, 0);
	if (d->bar1 == MAP_FAILED) {
		d->bar1 = NULL;
		return -errno;
	}
	return 0;
}

static void
emu_free(struct emu_dev *d)
{
	if (d->bar1 != NULL)
		munmap(d->bar1, EMU_BAR1_SIZE);
	if (d->bar1_fd >= 0)
		close(d->bar1_fd);
	free(d->bounce);
}

/* Allocate, register, describe and start one device. */
static int
emu_setup(struct emu_dev *d, const char *path)
{
	int ret;

	d->path = path;
	ret = emu_alloc(d);
	if (ret < 0) {
		fprintf(stderr, "cannot allocate the device: %s\n", strerror(-ret));
		return ret;
	}
	emu_reset_state(d);

	ret = rte_vfio_user_register(path, &emu_ops);
	if (ret < 0) {
		fprintf(stderr, "register %s: %s\n", path, strerror(-ret));
		return ret;
	}
	d->dev_id = ret;
	rte_vfio_user_set_priv(d->dev_id, d);
	ret = emu_describe(d);
	if (ret < 0) {
		fprintf(stderr, "describing the device: %s\n", strerror(-ret));
		return ret;
	}
	ret = rte_vfio_user_start(path);
	if (ret < 0) {
		fprintf(stderr, "start %s: %s\n", path, strerror(-ret));
		return ret;
	}
	printf("emu: device %04x:%04x served on %s%s\n", ENGINE_VENDOR_ID, ENGINE_DEVICE_ID,
		path, opt_once ? " (until the first client leaves)" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd;
	unsigned int i;
	int ret;

	for (i = 0; i < EMU_MAX_DEVS; i++) {
		emus[i].dev_id = -1;
		emus[i].bar1_fd = -1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;
	ret = -1;
	if (parse_args(argc, argv) < 0)
		goto out;

	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0) {
		perror("eventfd");
		goto out;
	}
	signal(SIGINT, signal_handler);
	signal(SIGTERM, signal_handler);

	if (nb_emus == 0) {
		/* Devices from --vdev were probed by rte_eal_init(): keep them served. */
		struct rte_dev_iterator it;
		struct rte_device *dev;
		unsigned int nb = 0;

		RTE_DEV_FOREACH(dev, "bus=vdev", &it)
			nb++;
		if (nb == 0) {
			fprintf(stderr, "nothing to serve: give --socket or EAL --vdev options\n");
			usage(argv[0]);
			goto out;
		}
		printf("emu: serving %u vdev device(s), no device of its own\n", nb);
		goto wait;
	}

	for (i = 0; i < nb_emus; i++) {
		ret = emu_setup(&emus[i], opt_sockets[i]);
		if (ret < 0)
			goto out;
	}

wait:
	pfd.fd = wake_fd;
	pfd.events = POLLIN;
	while (!quit && !client_left) {
		uint64_t v;

		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			perror("poll");
			break;
		}
		if (read(wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
	}
	printf("emu: stopping (%s)\n", quit ? "signal" : "client left");
	ret = 0;
out:
	for (i = 0; i < nb_emus; i++) {
		if (emus[i].dev_id >= 0) {
			int r = rte_vfio_user_unregister(emus[i].path);

			if (r < 0) {
				fprintf(stderr, "unregister %s: %s\n", emus[i].path,
					strerror(-r));
				ret = r;
			}
		}
		emu_free(&emus[i]);
	}
	if (wake_fd >= 0)
		close(wake_fd);
	rte_eal_cleanup();
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * A vfio-user client: attaches to a device, lists it the way lspci -vv does
 * (BARs sized by the usual all-ones protocol through config space accesses),
 * then drives the DMA copy engine of dpdk-vfio-user-emu: DMA windows in a
 * memfd, an MSI-X eventfd, a copy checked byte by byte, interrupt masking,
 * the mmappable part of BAR1 and a device reset. Every check prints a PASS or
 * FAIL line; the exit code is 0 only if all passed.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
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
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>

#include "pci_bar_size.h"
#include "vfio_user_engine.h"

/* DMA windows: above 4 GiB so that the high address registers matter. */
#define SRC_IOVA UINT64_C(0x100000000)
#define DST_IOVA UINT64_C(0x200000000)
#define UNMAPPED_IOVA UINT64_C(0x300000000)
/* The copy lands this far into the destination window, guard bytes around it. */
#define DST_SKEW 64
#define GUARD_BYTE 0xa5
#define IRQ_TIMEOUT_MS 5000
#define NO_IRQ_WAIT_MS 200
#define MAX_REGIONS 64
#define MAX_CAPS_SIZE 65536

static const char *opt_socket;
static bool opt_no_dma_fd;
static uint32_t opt_len = 200000;

static int dev = -1;
static unsigned int nb_pass, nb_fail;
/* The server went away: the remaining tests are skipped. */
static bool conn_lost;

static void __rte_format_printf(2, 3)
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		nb_pass++;
	else
		nb_fail++;
}

/*
 * Register access helpers. A failed access is reported once here; callers
 * see 0 / an error and their own check fails.
 */

static int
reg_read(uint32_t index, uint64_t off, void *v, size_t len)
{
	ssize_t r = rte_vfio_user_region_read(dev, index, off, v, len);

	if (r == (ssize_t)len)
		return 0;
	if (r == -ENOTCONN)
		conn_lost = true;
	printf("  region %u read of %zu bytes at 0x%" PRIx64 " failed: %s\n", index, len, off,
		r < 0 ? strerror((int)-r) : "short read");
	memset(v, 0, len);
	return r < 0 ? (int)r : -EIO;
}

static int
reg_write(uint32_t index, uint64_t off, const void *v, size_t len)
{
	ssize_t r = rte_vfio_user_region_write(dev, index, off, v, len);

	if (r == (ssize_t)len)
		return 0;
	if (r == -ENOTCONN)
		conn_lost = true;
	printf("  region %u write of %zu bytes at 0x%" PRIx64 " failed: %s\n", index, len, off,
		r < 0 ? strerror((int)-r) : "short write");
	return r < 0 ? (int)r : -EIO;
}

static uint32_t
cfg_r32(unsigned int off)
{
	uint32_t v;

	reg_read(VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 4);
	return v;
}

static uint16_t
cfg_r16(unsigned int off)
{
	uint16_t v;

	reg_read(VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 2);
	return v;
}

static int
cfg_w32(unsigned int off, uint32_t v)
{
	return reg_write(VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 4);
}

static int
cfg_w16(unsigned int off, uint16_t v)
{
	return reg_write(VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 2);
}

static uint32_t
bar0_r32(unsigned int off)
{
	uint32_t v;

	reg_read(VFIO_PCI_BAR0_REGION_INDEX, off, &v, 4);
	return v;
}

static int
bar0_w32(unsigned int off, uint32_t v)
{
	return reg_write(VFIO_PCI_BAR0_REGION_INDEX, off, &v, 4);
}

/*
 * Device listing.
 */

struct dev_desc {
	struct vfio_device_info info;
	struct vfio_region_info *reg[MAX_REGIONS];
	bool reg_fd[MAX_REGIONS]; /* the server passed an mmap fd */
	uint32_t nr_regions;
	uint8_t cfg[256];
	uint64_t bar_size[PCI_STD_NUM_BARS];
	unsigned int msix_cap;  /* 0: none */
	unsigned int msix_count;
	struct vfio_irq_info msix_irq;
};

static const char *
region_name(uint32_t i, char *buf, size_t len)
{
	static const char * const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA",
	};

	if (i < RTE_DIM(names))
		return names[i];
	snprintf(buf, len, "device-specific %u", i);
	return buf;
}

static const char *
irq_name(uint32_t i)
{
	static const char * const names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

	return i < RTE_DIM(names) ? names[i] : "device-specific";
}

static const char *
class_name(uint8_t base)
{
	switch (base) {
	case 0x00: return "Unclassified device";
	case 0x01: return "Mass storage controller";
	case 0x02: return "Network controller";
	case 0x03: return "Display controller";
	case 0x04: return "Multimedia controller";
	case 0x05: return "Memory controller";
	case 0x06: return "Bridge";
	case 0x07: return "Communication controller";
	case 0x08: return "System peripheral";
	case 0x09: return "Input device controller";
	case 0x0c: return "Serial bus controller";
	case 0x12: return "Processing accelerators";
	default: return "Unassigned class";
	}
}

static const char *
human_size(uint64_t sz, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned int u = 0;

	if (sz < 1024 || (sz & 1023) != 0) {
		snprintf(buf, len, "%" PRIu64, sz);
		return buf;
	}
	sz >>= 10;
	while (sz >= 1024 && (sz & 1023) == 0 && u < sizeof(units) - 2) {
		sz >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", sz, units[u]);
	return buf;
}

/* GET_REGION_INFO, asking again with a buffer big enough for the capability chain. */
static struct vfio_region_info *
get_region_info(uint32_t index, bool *has_fd)
{
	struct vfio_region_info *info = calloc(1, sizeof(*info));
	uint32_t need;
	int fd = -1;
	int ret;

	if (info == NULL)
		return NULL;
	info->argsz = sizeof(*info);
	info->index = index;
	ret = rte_vfio_user_get_reg_info(dev, info, &fd);
	if (ret < 0)
		goto fail;
	need = info->argsz;
	if (need > sizeof(*info) && need <= MAX_CAPS_SIZE) {
		struct vfio_region_info *big = calloc(1, need);

		if (big == NULL)
			goto fail;
		free(info);
		info = big;
		info->argsz = need;
		info->index = index;
		if (fd >= 0)
			close(fd);
		fd = -1;
		ret = rte_vfio_user_get_reg_info(dev, info, &fd);
		if (ret < 0)
			goto fail;
	}
	*has_fd = fd >= 0;
	if (fd >= 0)
		close(fd);
	return info;
fail:
	printf("  region %u: GET_REGION_INFO failed: %s\n", index, strerror(-ret));
	free(info);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
print_region_caps(const struct vfio_region_info *info)
{
	uint32_t off = info->cap_offset;
	unsigned int n = 0;

	while (off != 0 && n++ < 16) {
		const struct vfio_info_cap_header *h;

		if (off < sizeof(*info) || off + sizeof(*h) > info->argsz) {
			printf("\t\tcapability at %u outside the info\n", off);
			return;
		}
		h = (const void *)((const uint8_t *)info + off);
		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			const struct vfio_region_info_cap_sparse_mmap *s = (const void *)h;
			uint32_t i;

			if (off + sizeof(*s) + (uint64_t)s->nr_areas * sizeof(s->areas[0]) >
					info->argsz) {
				printf("\t\tsparse mmap: %u areas do not fit\n", s->nr_areas);
				return;
			}
			printf("\t\tsparse mmap, %u area(s):", s->nr_areas);
			for (i = 0; i < s->nr_areas; i++)
				printf(" [0x%" PRIx64 "-0x%" PRIx64 ")",
					(uint64_t)s->areas[i].offset,
					(uint64_t)(s->areas[i].offset + s->areas[i].size));
			printf("\n");
		} else if (h->id == VFIO_REGION_INFO_CAP_TYPE) {
			const struct vfio_region_info_cap_type *t = (const void *)h;

			printf("\t\ttype %u subtype %u\n", t->type, t->subtype);
		} else {
			printf("\t\tcapability id %u version %u\n", h->id, h->version);
		}
		if (h->next != 0 && h->next <= off) {
			printf("\t\tcapability chain loops\n");
			return;
		}
		off = h->next;
	}
}

/*
 * Size BARs the way firmware does: with decoding off, write all-ones, read the
 * mask back, restore.
 */
static void
size_bars(struct dev_desc *d, uint16_t cmd)
{
	bool restored = true;
	unsigned int i;
	char sz[32];

	if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY))
		cfg_w16(PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint32_t orig = cfg_r32(off), mask, orig_hi = 0, mask_hi = 0;
		bool io = orig & PCI_BASE_ADDRESS_SPACE_IO;
		bool is64 = !io && (orig & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
			PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < PCI_STD_NUM_BARS;
		uint64_t addr, size;

		cfg_w32(off, 0xffffffff);
		mask = cfg_r32(off);
		cfg_w32(off, orig);
		restored = restored && cfg_r32(off) == orig;
		if (is64) {
			orig_hi = cfg_r32(off + 4);
			cfg_w32(off + 4, 0xffffffff);
			mask_hi = cfg_r32(off + 4);
			cfg_w32(off + 4, orig_hi);
			restored = restored && cfg_r32(off + 4) == orig_hi;
		}
		size = pci_bar_size(mask, mask_hi, is64);
		d->bar_size[i] = size;
		if (size != 0) {
			addr = ((uint64_t)orig_hi << 32) |
				(orig & (io ? PCI_BASE_ADDRESS_IO_MASK :
					PCI_BASE_ADDRESS_MEM_MASK));
			printf("\tRegion %u: %s at ", i, io ? "I/O ports" : "Memory");
			if (addr == 0)
				printf("<unassigned>");
			else
				printf("%" PRIx64, addr);
			if (!io)
				printf(" (%s, %sprefetchable)", is64 ? "64-bit" : "32-bit",
					(orig & PCI_BASE_ADDRESS_MEM_PREFETCH) ? "" : "non-");
			if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
				printf(" [disabled]");
			printf(" [size=%s]\n", human_size(size, sz, sizeof(sz)));
		}
		if (i < d->nr_regions && d->reg[i] != NULL && (size != 0 || d->reg[i]->size != 0))
			check(d->reg[i]->size == size,
				"BAR%u size found by sizing (0x%" PRIx64 ") matches its region "
				"info (0x%" PRIx64 ")", i, size, (uint64_t)d->reg[i]->size);
		if (is64) {
			/* The upper half has no region of its own. */
			i++;
			d->bar_size[i] = 0;
		}
	}
	if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY))
		cfg_w16(PCI_COMMAND, cmd);
	check(restored, "BAR registers restored after sizing");
}

static void
print_caps(struct dev_desc *d)
{
	unsigned int ptr = d->cfg[PCI_CAPABILITY_LIST] & ~3u;
	unsigned int n = 0;

	while (ptr != 0) {
		uint8_t id, next;

		if (ptr < PCI_STD_HEADER_SIZEOF || ptr + 2 > sizeof(d->cfg) || n++ >= 48) {
			printf("\tCapabilities: [%02x] <chain broken>\n", ptr);
			break;
		}
		id = d->cfg[ptr];
		next = d->cfg[ptr + 1] & ~3u;
		printf("\tCapabilities: [%02x] ", ptr);
		switch (id) {
		case PCI_CAP_ID_MSIX: {
			uint16_t ctrl = d->cfg[ptr + 2] | (d->cfg[ptr + 3] << 8);
			uint32_t table, pba;

			memcpy(&table, &d->cfg[ptr + PCI_MSIX_TABLE], 4);
			memcpy(&pba, &d->cfg[ptr + PCI_MSIX_PBA], 4);
			d->msix_cap = ptr;
			d->msix_count = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
			printf("MSI-X: Enable%c Count=%u Masked%c\n",
				(ctrl & PCI_MSIX_FLAGS_ENABLE) ? '+' : '-', d->msix_count,
				(ctrl & PCI_MSIX_FLAGS_MASKALL) ? '+' : '-');
			printf("\t\tVector table: BAR=%u offset=%08x\n",
				table & PCI_MSIX_TABLE_BIR, table & PCI_MSIX_TABLE_OFFSET);
			printf("\t\tPBA: BAR=%u offset=%08x\n",
				pba & PCI_MSIX_PBA_BIR, pba & PCI_MSIX_PBA_OFFSET);
			break;
		}
		case PCI_CAP_ID_MSI:
			printf("MSI: Enable%c\n",
				(d->cfg[ptr + 2] & PCI_MSI_FLAGS_ENABLE) ? '+' : '-');
			break;
		case PCI_CAP_ID_PM:
			printf("Power Management version %u\n",
				d->cfg[ptr + 2] & PCI_PM_CAP_VER_MASK);
			break;
		case PCI_CAP_ID_EXP:
			printf("Express\n");
			break;
		case PCI_CAP_ID_VNDR:
			printf("Vendor Specific Information: Len=%02x <?>\n", d->cfg[ptr + 2]);
			break;
		default:
			printf("Capability ID %#04x\n", id);
			break;
		}
		ptr = next;
	}
}

static int
list_device(struct dev_desc *d)
{
	static const char flag_names[][8] = { "read", "write", "mmap", "caps" };
	uint16_t cmd, status;
	char buf[32], name[32];
	uint32_t i, j, nr_io;
	int ret;

	d->info.argsz = sizeof(d->info);
	ret = rte_vfio_user_get_dev_info(dev, &d->info);
	check(ret == 0, "GET_INFO (%s)", ret == 0 ? "ok" : strerror(-ret));
	if (ret < 0)
		return ret;
	printf("VFIO device: flags 0x%x (%s%s), %u regions, %u IRQ types\n", d->info.flags,
		(d->info.flags & VFIO_DEVICE_FLAGS_PCI) ? "PCI" : "not PCI",
		(d->info.flags & VFIO_DEVICE_FLAGS_RESET) ? ", reset" : "",
		d->info.num_regions, d->info.num_irqs);
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
			d->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		check(false, "device is a PCI device with a config space region");
		return -ENOTSUP;
	}
	d->nr_regions = RTE_MIN(d->info.num_regions, (uint32_t)MAX_REGIONS);
	for (i = 0; i < d->nr_regions; i++)
		d->reg[i] = get_region_info(i, &d->reg_fd[i]);
	if (d->reg[VFIO_PCI_CONFIG_REGION_INDEX] == NULL)
		return -EIO;

	ret = reg_read(VFIO_PCI_CONFIG_REGION_INDEX, 0, d->cfg,
		RTE_MIN(sizeof(d->cfg), d->reg[VFIO_PCI_CONFIG_REGION_INDEX]->size));
	check(ret == 0, "config space read");
	if (ret < 0)
		return ret;

	cmd = d->cfg[PCI_COMMAND] | (d->cfg[PCI_COMMAND + 1] << 8);
	status = d->cfg[PCI_STATUS] | (d->cfg[PCI_STATUS + 1] << 8);
	printf("\n%s: %s [%02x%02x]: Device [%02x%02x:%02x%02x] (rev %02x)\n", opt_socket,
		class_name(d->cfg[PCI_CLASS_DEVICE + 1]), d->cfg[PCI_CLASS_DEVICE + 1],
		d->cfg[PCI_CLASS_DEVICE], d->cfg[PCI_VENDOR_ID + 1], d->cfg[PCI_VENDOR_ID],
		d->cfg[PCI_DEVICE_ID + 1], d->cfg[PCI_DEVICE_ID], d->cfg[PCI_REVISION_ID]);
	if ((d->cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_NORMAL)
		printf("\tSubsystem: Device [%02x%02x:%02x%02x]\n",
			d->cfg[PCI_SUBSYSTEM_VENDOR_ID + 1], d->cfg[PCI_SUBSYSTEM_VENDOR_ID],
			d->cfg[PCI_SUBSYSTEM_ID + 1], d->cfg[PCI_SUBSYSTEM_ID]);
	printf("\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c VGASnoop%c "
		"ParErr%c Stepping%c SERR%c FastB2B%c DisINTx%c\n",
		(cmd & PCI_COMMAND_IO) ? '+' : '-', (cmd & PCI_COMMAND_MEMORY) ? '+' : '-',
		(cmd & PCI_COMMAND_MASTER) ? '+' : '-', (cmd & PCI_COMMAND_SPECIAL) ? '+' : '-',
		(cmd & PCI_COMMAND_INVALIDATE) ? '+' : '-',
		(cmd & PCI_COMMAND_VGA_PALETTE) ? '+' : '-',
		(cmd & PCI_COMMAND_PARITY) ? '+' : '-', (cmd & PCI_COMMAND_WAIT) ? '+' : '-',
		(cmd & PCI_COMMAND_SERR) ? '+' : '-', (cmd & PCI_COMMAND_FAST_BACK) ? '+' : '-',
		(cmd & PCI_COMMAND_INTX_DISABLE) ? '+' : '-');
	printf("\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c "
		"<TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
		(status & PCI_STATUS_CAP_LIST) ? '+' : '-', (status & PCI_STATUS_66MHZ) ? '+' : '-',
		(status & PCI_STATUS_UDF) ? '+' : '-', (status & PCI_STATUS_FAST_BACK) ? '+' : '-',
		(status & PCI_STATUS_PARITY) ? '+' : '-',
		(status & PCI_STATUS_DEVSEL_MASK) == PCI_STATUS_DEVSEL_SLOW ? "slow" :
		(status & PCI_STATUS_DEVSEL_MASK) == PCI_STATUS_DEVSEL_MEDIUM ? "medium" : "fast",
		(status & PCI_STATUS_SIG_TARGET_ABORT) ? '+' : '-',
		(status & PCI_STATUS_REC_TARGET_ABORT) ? '+' : '-',
		(status & PCI_STATUS_REC_MASTER_ABORT) ? '+' : '-',
		(status & PCI_STATUS_SIG_SYSTEM_ERROR) ? '+' : '-',
		(status & PCI_STATUS_DETECTED_PARITY) ? '+' : '-',
		(status & PCI_STATUS_INTERRUPT) ? '+' : '-');
	if (d->cfg[PCI_INTERRUPT_PIN] != 0)
		printf("\tInterrupt: pin %c routed to IRQ %u\n",
			'A' + d->cfg[PCI_INTERRUPT_PIN] - 1, d->cfg[PCI_INTERRUPT_LINE]);
	size_bars(d, cmd);
	if (status & PCI_STATUS_CAP_LIST)
		print_caps(d);

	printf("\nVFIO regions:\n");
	for (i = 0; i < d->nr_regions; i++) {
		const struct vfio_region_info *r = d->reg[i];

		if (r == NULL || (r->size == 0 && r->flags == 0))
			continue;
		printf("\t%u %-6s size 0x%" PRIx64 " [%s], flags:", i,
			region_name(i, name, sizeof(name)), (uint64_t)r->size,
			human_size(r->size, buf, sizeof(buf)));
		for (j = 0; j < RTE_DIM(flag_names); j++)
			if (r->flags & (1u << j))
				printf(" %s", flag_names[j]);
		if (r->flags & VFIO_REGION_INFO_FLAG_MMAP)
			printf(", mmap offset 0x%" PRIx64 ", fd %s", (uint64_t)r->offset,
				d->reg_fd[i] ? "received" : "missing");
		printf("\n");
		if (r->flags & VFIO_REGION_INFO_FLAG_CAPS)
			print_region_caps(r);
		nr_io = 0;
		ret = rte_vfio_user_get_reg_io_fds(dev, i, NULL, &nr_io);
		if (ret < 0)
			printf("\t\tGET_REGION_IO_FDS: %s\n", strerror(-ret));
		else if (nr_io > 0)
			printf("\t\t%u ioeventfd/ioregionfd sub-region(s)\n", nr_io);
	}

	printf("\nVFIO interrupts:\n");
	for (i = 0; i < d->info.num_irqs; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		ret = rte_vfio_user_get_irq_info(dev, &irq);
		if (ret < 0) {
			check(false, "GET_IRQ_INFO %u: %s", i, strerror(-ret));
			continue;
		}
		printf("\t%u %-6s count %u, flags:%s%s%s%s\n", i, irq_name(i), irq.count,
			(irq.flags & VFIO_IRQ_INFO_EVENTFD) ? " eventfd" : "",
			(irq.flags & VFIO_IRQ_INFO_MASKABLE) ? " maskable" : "",
			(irq.flags & VFIO_IRQ_INFO_AUTOMASKED) ? " automasked" : "",
			(irq.flags & VFIO_IRQ_INFO_NORESIZE) ? " noresize" : "");
		if (i == VFIO_PCI_MSIX_IRQ_INDEX)
			d->msix_irq = irq;
	}
	printf("\n");
	if (d->msix_cap != 0)
		check(d->msix_irq.count == d->msix_count,
			"MSI-X table size %u matches the MSI-X interrupt count %u",
			d->msix_count, d->msix_irq.count);
	return 0;
}

/*
 * The copy engine.
 */

static uint32_t
adler32(const uint8_t *p, size_t len)
{
	uint32_t a = 1, b = 0;

	while (len > 0) {
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

static void
wr_set(struct rte_vfio_user_region_wr *wr, uint64_t off, uint32_t v)
{
	memset(wr, 0, sizeof(*wr));
	wr->index = VFIO_PCI_BAR0_REGION_INDEX;
	wr->offset = off;
	wr->count = 4;
	memcpy(wr->data, &v, 4);
}

/* Program the engine with one WRITE_MULTI, then ring the doorbell. */
static int
engine_copy(uint64_t src, uint64_t dst, uint32_t len)
{
	struct rte_vfio_user_region_wr wrs[6];
	int ret;

	wr_set(&wrs[0], ENGINE_REG_SRC, (uint32_t)src);
	wr_set(&wrs[1], ENGINE_REG_SRC + 4, src >> 32);
	wr_set(&wrs[2], ENGINE_REG_DST, (uint32_t)dst);
	wr_set(&wrs[3], ENGINE_REG_DST + 4, dst >> 32);
	wr_set(&wrs[4], ENGINE_REG_LEN, len);
	wr_set(&wrs[5], ENGINE_REG_CTRL, ENGINE_CTRL_IRQ_EN);
	ret = rte_vfio_user_region_write_multi(dev, wrs, RTE_DIM(wrs));
	if (ret != (int)RTE_DIM(wrs)) {
		printf("  programming the engine failed: %s\n",
			ret < 0 ? strerror(-ret) : "short");
		return ret < 0 ? ret : -EIO;
	}
	return bar0_w32(ENGINE_REG_DOORBELL, 1);
}

/* 1: interrupt seen (counter consumed), 0: none within timeout_ms, < 0: error. */
static int
wait_irq(int efd, int timeout_ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t cnt;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return 0;
	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return -errno;
	return 1;
}

static int
set_msix_eventfd(int efd)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd = efd;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	return rte_vfio_user_set_irqs(dev, set);
}

static int
msix_vec0_action(uint32_t action)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};

	return rte_vfio_user_set_irqs(dev, &set);
}

/* What a driver does at probe: decode memory, bus master, MSI-X on, vector 0 unmasked. */
static void
enable_device(const struct dev_desc *d)
{
	uint32_t vec0 = ENGINE_MSIX_TABLE;
	uint16_t cmd, ctrl;

	cmd = cfg_r16(PCI_COMMAND);
	cfg_w16(PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cmd = cfg_r16(PCI_COMMAND);
	check((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
		(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
		"command register now Mem+ BusMaster+ (0x%04x)", cmd);
	bar0_w32(vec0 + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee00000);
	bar0_w32(vec0 + PCI_MSIX_ENTRY_UPPER_ADDR, 0);
	bar0_w32(vec0 + PCI_MSIX_ENTRY_DATA, 0x40);
	bar0_w32(vec0 + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	ctrl = cfg_r16(d->msix_cap + PCI_MSIX_FLAGS);
	cfg_w16(d->msix_cap + PCI_MSIX_FLAGS,
		(ctrl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
	ctrl = cfg_r16(d->msix_cap + PCI_MSIX_FLAGS);
	check((ctrl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)) == PCI_MSIX_FLAGS_ENABLE,
		"MSI-X enabled, vector 0 unmasked in the table");
}

struct dma_bufs {
	int memfd;
	size_t win;     /* size of each window */
	uint8_t *src;   /* window at SRC_IOVA */
	uint8_t *dst;   /* window at DST_IOVA */
	struct rte_vfio_user_mem_reg mem[2];
};

static int
dma_setup(struct dma_bufs *b)
{
	int fds[2];
	int ret;

	b->win = RTE_ALIGN_CEIL((size_t)opt_len + DST_SKEW + 4096, 4096);
	b->memfd = memfd_create("vfio-user-client-dma", MFD_CLOEXEC);
	if (b->memfd < 0)
		return -errno;
	if (ftruncate(b->memfd, 2 * b->win) < 0)
		return -errno;
	b->src = mmap(NULL, 2 * b->win, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->src == MAP_FAILED) {
		b->src = NULL;
		return -errno;
	}
	b->dst = b->src + b->win;
	b->mem[0] = (struct rte_vfio_user_mem_reg){
		.iova = SRC_IOVA, .size = b->win, .fd_offset = 0,
		.prot = PROT_READ | PROT_WRITE, .fd = -1, .vaddr = b->src,
	};
	b->mem[1] = (struct rte_vfio_user_mem_reg){
		.iova = DST_IOVA, .size = b->win, .fd_offset = b->win,
		.prot = PROT_READ | PROT_WRITE, .fd = -1, .vaddr = b->dst,
	};
	fds[0] = b->memfd;
	fds[1] = b->memfd;
	ret = rte_vfio_user_dma_map(dev, b->mem, opt_no_dma_fd ? NULL : fds, 2);
	check(ret == 0, "DMA_MAP of 2 windows of 0x%zx bytes %s (%s)", b->win,
		opt_no_dma_fd ? "without fd (message-based DMA)" : "with the memfd",
		ret == 0 ? "ok" : strerror(-ret));
	return ret;
}

static void
fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x >> 24;
	}
}

static bool
all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void
test_copy(struct dma_bufs *b, int efd, uint32_t len, uint32_t seed)
{
	uint32_t status, err, csum, want;
	int irq, ret;

	fill_pattern(b->src, len, seed);
	memset(b->dst, GUARD_BYTE, b->win);
	want = adler32(b->src, len);
	ret = engine_copy(SRC_IOVA, DST_IOVA + DST_SKEW, len);
	check(ret == 0, "copy of %u bytes programmed and started", len);
	irq = wait_irq(efd, IRQ_TIMEOUT_MS);
	check(irq == 1, "MSI-X vector 0 interrupt received (%s)",
		irq == 1 ? "eventfd readable" : irq == 0 ? "timeout" : strerror(-irq));
	status = bar0_r32(ENGINE_REG_STATUS);
	err = bar0_r32(ENGINE_REG_ERROR);
	check(status == ENGINE_STATUS_DONE, "engine status DONE without error "
		"(status 0x%x, error %u%s%s)", status, err, err ? " " : "",
		err ? strerror(err) : "");
	check(memcmp(b->dst + DST_SKEW, b->src, len) == 0, "destination bytes equal the source");
	check(all_bytes(b->dst, DST_SKEW, GUARD_BYTE) &&
		all_bytes(b->dst + DST_SKEW + len, b->win - DST_SKEW - len, GUARD_BYTE),
		"bytes around the destination untouched");
	csum = bar0_r32(ENGINE_REG_CSUM);
	check(csum == want, "checksum register 0x%08x, expected adler32 0x%08x", csum, want);
	bar0_w32(ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
}

/* A masked vector is held pending by the device (PBA) and fires at unmask. */
static void
test_table_mask(struct dma_bufs *b, int efd)
{
	unsigned int ctrl_off = ENGINE_MSIX_TABLE + PCI_MSIX_ENTRY_VECTOR_CTRL;
	uint32_t pba;
	int irq;

	bar0_w32(ctrl_off, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	fill_pattern(b->src, 4096, 7);
	engine_copy(SRC_IOVA, DST_IOVA, 4096);
	irq = wait_irq(efd, NO_IRQ_WAIT_MS);
	pba = bar0_r32(ENGINE_MSIX_PBA);
	check(irq == 0 && (pba & 1), "vector masked in the MSI-X table: no interrupt, "
		"PBA bit set (pba 0x%x)", pba);
	bar0_w32(ctrl_off, 0);
	irq = wait_irq(efd, IRQ_TIMEOUT_MS);
	pba = bar0_r32(ENGINE_MSIX_PBA);
	check(irq == 1 && pba == 0, "unmasking in the table delivers the pending interrupt");
	bar0_w32(ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
}

/* The same through VFIO_USER_DEVICE_SET_IRQS mask/unmask (the library holds it). */
static void
test_irq_set_mask(struct dma_bufs *b, int efd)
{
	int irq, ret;

	ret = msix_vec0_action(VFIO_IRQ_SET_ACTION_MASK);
	check(ret == 0, "SET_IRQS mask MSI-X vector 0 (%s)", ret == 0 ? "ok" : strerror(-ret));
	engine_copy(SRC_IOVA, DST_IOVA, 4096);
	irq = wait_irq(efd, NO_IRQ_WAIT_MS);
	check(irq == 0, "no interrupt while masked with SET_IRQS");
	ret = msix_vec0_action(VFIO_IRQ_SET_ACTION_UNMASK);
	irq = wait_irq(efd, IRQ_TIMEOUT_MS);
	check(ret == 0 && irq == 1, "SET_IRQS unmask delivers the pending interrupt");
	bar0_w32(ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
}

/* The device refuses unaligned register accesses; its errno reaches us. */
static void
test_bad_access(void)
{
	uint16_t v = 0;
	ssize_t r;

	r = rte_vfio_user_region_read(dev, VFIO_PCI_BAR0_REGION_INDEX, ENGINE_REG_ID + 1, &v,
		sizeof(v));
	check(r == -EINVAL, "unaligned BAR0 read refused by the device (%s)",
		r < 0 ? strerror((int)-r) : "accepted");
	if (r == -ENOTCONN)
		conn_lost = true;
}

static void
test_bad_dma(int efd)
{
	uint32_t status, err;
	int irq;

	engine_copy(SRC_IOVA, UNMAPPED_IOVA, 4096);
	irq = wait_irq(efd, IRQ_TIMEOUT_MS);
	status = bar0_r32(ENGINE_REG_STATUS);
	err = bar0_r32(ENGINE_REG_ERROR);
	check(irq == 1 && (status & ENGINE_STATUS_ERROR) && err == EFAULT,
		"copy to an unmapped IOVA completes with an error: %s (status 0x%x)",
		err ? strerror(err) : "none", status);
	bar0_w32(ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
}

static void
test_bar1(void)
{
	struct rte_vfio_user_region_map maps[8];
	const struct engine_banner *banner = NULL;
	uint32_t nr = RTE_DIM(maps), i, count, v, w;
	uint8_t *base = NULL;
	int ret;

	ret = rte_vfio_user_region_mmap(dev, VFIO_PCI_BAR1_REGION_INDEX, maps, &nr);
	check(ret == 0, "mmap of BAR1 (%s)", ret == 0 ? "ok" : strerror(-ret));
	if (ret < 0)
		return;
	for (i = 0; i < nr; i++) {
		printf("  BAR1 mapping %u: region [0x%" PRIx64 "-0x%" PRIx64 ") at %p\n", i,
			maps[i].offset, maps[i].offset + maps[i].size, maps[i].addr);
		if (maps[i].offset <= ENGINE_BAR1_BANNER &&
				maps[i].offset + maps[i].size >= ENGINE_BAR1_BANNER + 0x400) {
			base = (uint8_t *)maps[i].addr - maps[i].offset;
			banner = (const void *)(base + ENGINE_BAR1_BANNER);
		}
	}
	check(nr == 1 && maps[0].offset == ENGINE_BAR1_MMAP_OFF,
		"only the sparse area is mapped (%u mapping(s))", nr);
	{
		struct rte_vfio_user_region_map again[RTE_DIM(maps)];
		uint32_t nr2 = RTE_DIM(again);

		ret = rte_vfio_user_region_mmap(dev, VFIO_PCI_BAR1_REGION_INDEX, again, &nr2);
		check(ret == 0 && nr2 == nr && memcmp(again, maps, nr * sizeof(maps[0])) == 0,
			"mapping BAR1 again returns the same mappings");
	}
	if (banner == NULL) {
		check(false, "banner area of BAR1 mapped");
		return;
	}
	count = bar0_r32(ENGINE_REG_COUNT);
	printf("  BAR1 banner: magic 0x%08x, copies %u, \"%.*s\"\n", banner->magic,
		banner->copies, (int)sizeof(banner->text), banner->text);
	check(banner->magic == ENGINE_BANNER_MAGIC && banner->copies == count,
		"server-written banner seen through the mapping (copies %u = COUNT %u)",
		banner->copies, count);

	/* Both paths reach the same memory. */
	v = 0xc0ffee00;
	memcpy(base + ENGINE_BAR1_BANNER + 0x100, &v, 4);
	reg_read(VFIO_PCI_BAR1_REGION_INDEX, ENGINE_BAR1_BANNER + 0x100, &w, 4);
	check(w == v, "write through the mapping read back with REGION_READ (0x%08x)", w);
	v = 0x0ddba11;
	reg_write(VFIO_PCI_BAR1_REGION_INDEX, ENGINE_BAR1_BANNER + 0x104, &v, 4);
	memcpy(&w, base + ENGINE_BAR1_BANNER + 0x104, 4);
	check(w == v, "REGION_WRITE seen through the mapping (0x%08x)", w);
	v = 0x600d;
	reg_write(VFIO_PCI_BAR1_REGION_INDEX, 0x10, &v, 4);
	reg_read(VFIO_PCI_BAR1_REGION_INDEX, 0x10, &w, 4);
	check(w == v, "non-mappable half of BAR1 reachable by messages");
}

static void
test_reset(const struct dev_desc *d, struct dma_bufs *b, int efd)
{
	uint32_t scratch, count;
	uint16_t cmd, ctrl;
	int ret;

	bar0_w32(ENGINE_REG_SCRATCH, 0x5ca1ab1e);
	scratch = bar0_r32(ENGINE_REG_SCRATCH);
	check(scratch == 0x5ca1ab1e, "scratch register holds 0x%08x", scratch);
	ret = rte_vfio_user_reset(dev);
	check(ret == 0, "DEVICE_RESET (%s)", ret == 0 ? "ok" : strerror(-ret));
	scratch = bar0_r32(ENGINE_REG_SCRATCH);
	count = bar0_r32(ENGINE_REG_COUNT);
	cmd = cfg_r16(PCI_COMMAND);
	ctrl = cfg_r16(d->msix_cap + PCI_MSIX_FLAGS);
	check(scratch == 0 && count == 0 && cmd == 0 && !(ctrl & PCI_MSIX_FLAGS_ENABLE),
		"registers back to defaults after reset (scratch 0x%x, count %u, command 0x%x, "
		"MSI-X control 0x%x)", scratch, count, cmd, ctrl);
	/* DMA windows and eventfds survive a reset: a driver only re-enables the device. */
	enable_device(d);
	test_copy(b, efd, RTE_MIN(opt_len, 8192u), 99);
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- --socket PATH [--no-dma-fd] [--len BYTES]\n"
		"  --socket PATH  UNIX socket of the vfio-user device\n"
		"  --no-dma-fd    map DMA memory without passing its fd: the device\n"
		"                 reaches it with DMA_READ/DMA_WRITE messages\n"
		"  --len BYTES    length of the test copy (1..%u, default %u)\n",
		prog, ENGINE_MAX_LEN, opt_len);
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "no-dma-fd", no_argument, NULL, 'n' },
		{ "len", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt_socket = optarg;
			break;
		case 'n':
			opt_no_dma_fd = true;
			break;
		case 'l':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || v == 0 || v > ENGINE_MAX_LEN) {
				fprintf(stderr, "bad --len %s\n", optarg);
				return -1;
			}
			opt_len = v;
			break;
		case 'h':
			usage(argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc || opt_socket == NULL) {
		usage(argv[0]);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct dma_bufs bufs = { .memfd = -1 };
	struct dev_desc desc;
	bool mapped = false;
	uint32_t id, i;
	int efd = -1;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&desc, 0, sizeof(desc));
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv) < 0) {
		rte_eal_cleanup();
		return EXIT_FAILURE;
	}

	dev = rte_vfio_user_attach_dev(opt_socket);
	check(dev >= 0, "attach to %s (%s)", opt_socket, dev >= 0 ? "ok" : strerror(-dev));
	if (dev < 0)
		goto out;

	if (list_device(&desc) < 0)
		goto out;

	id = bar0_r32(ENGINE_REG_ID);
	if (id != ENGINE_ID_VALUE || desc.msix_cap == 0 || desc.msix_irq.count == 0) {
		check(false, "device is the %04x:%04x copy engine (ID register 0x%08x)",
			ENGINE_VENDOR_ID, ENGINE_DEVICE_ID, id);
		goto out;
	}
	printf("Copy engine version 0x%08x, copy length %u, DMA %s\n",
		bar0_r32(ENGINE_REG_VERSION), opt_len,
		opt_no_dma_fd ? "by messages (no fd)" : "through the memfd");

	if (dma_setup(&bufs) < 0)
		goto out;
	mapped = true;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		check(false, "eventfd: %s", strerror(errno));
		goto out;
	}
	ret = set_msix_eventfd(efd);
	check(ret == 0, "SET_IRQS eventfd for MSI-X vector 0 (%s)",
		ret == 0 ? "ok" : strerror(-ret));
	if (ret < 0)
		goto out;

	enable_device(&desc);
	test_copy(&bufs, efd, opt_len, 1);
	if (!conn_lost)
		test_table_mask(&bufs, efd);
	if (!conn_lost && (desc.msix_irq.flags & VFIO_IRQ_INFO_MASKABLE))
		test_irq_set_mask(&bufs, efd);
	if (!conn_lost)
		test_bad_access();
	if (!conn_lost)
		test_bad_dma(efd);
	if (!conn_lost && desc.reg[VFIO_PCI_BAR1_REGION_INDEX] != NULL &&
			(desc.reg[VFIO_PCI_BAR1_REGION_INDEX]->flags & VFIO_REGION_INFO_FLAG_MMAP))
		test_bar1();
	if (!conn_lost)
		test_reset(&desc, &bufs, efd);
	if (conn_lost) {
		check(false, "the server went away, remaining tests skipped");
		goto out;
	}

	ret = rte_vfio_user_dma_unmap(dev, bufs.mem, 2);
	check(ret == 0, "DMA_UNMAP of both windows (%s)", ret == 0 ? "ok" : strerror(-ret));
	mapped = false;
out:
	if (dev >= 0) {
		if (mapped)
			rte_vfio_user_dma_unmap(dev, bufs.mem, 2);
		ret = rte_vfio_user_detach_dev(dev);
		check(ret == 0, "detach (%s)", ret == 0 ? "ok" : strerror(-ret));
	}
	for (i = 0; i < RTE_DIM(desc.reg); i++)
		free(desc.reg[i]);
	if (efd >= 0)
		close(efd);
	if (bufs.src != NULL)
		munmap(bufs.src, 2 * bufs.win);
	if (bufs.memfd >= 0)
		close(bufs.memfd);
	rte_eal_cleanup();
	printf("%u checks: %u passed, %u failed\n%s\n", nb_pass + nb_fail, nb_pass, nb_fail,
		nb_fail == 0 && nb_pass > 0 ? "RESULT: PASS" : "RESULT: FAIL");
	return nb_fail == 0 && nb_pass > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

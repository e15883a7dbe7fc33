/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The PCI device-model helper (rte_vfio_user_pci.h), driven through a real
 * client of the same process: config space with its write mask, BAR size
 * probes, the capability list, MSI-X/MSI/INTx masking and pending bits seen
 * on the client's eventfds, the command-register callback, and every bad
 * argument of the API.
 *
 * Interrupt checks need no timing: the helper signals an eventfd before
 * rte_vfio_user_pci_irq_raise() returns, or before the server replies to the
 * region write that unmasks it, so a non-blocking read tells at once whether
 * it fired.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_string_fns.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "test.h"
#include "test_vfio_user_common.h"

#define T_VENDOR 0x1b36
#define T_DEVICE 0x00f1
#define T_CLASS 0x020000
#define T_REV 3
#define T_BAR0_SIZE 4096
#define T_IO_SIZE 32
#define T_BAR64_SIZE (UINT64_C(1) << 33)
#define T_SMALL_SIZE 16
#define T_MSIX_N 8
#define T_MSIX_TABLE 0x800
#define T_MSIX_PBA 0xc00
#define T_MSIX_OFF 0x70
#define T_MSI_N 4
#define T_VNDR_LEN 16

/* The device model: BAR0 registers recorded, the command register tracked. */
struct tpci {
	char dir[64];
	char path[128];
	int sid;                     /* server device id */
	int cid;                     /* client device id */
	struct rte_vfio_user_pci *pci;
	uint8_t bar0[T_BAR0_SIZE];
	uint8_t io[T_IO_SIZE];
	uint8_t small[T_SMALL_SIZE];
	unsigned int bar0_calls;
	uint64_t bar0_last_off;
	unsigned int cmd_calls;
	uint16_t cmd_old, cmd_new;
	unsigned int cfg_writes;
	uint32_t cfg_last_off;
	int efd_msix[T_MSIX_N];
	int efd_msi[T_MSI_N];
	int efd_intx;
};

static struct tpci tp;

static ssize_t
bar0_rw(int dev_id, struct rte_vfio_user_reg_info *reg, char *buf, size_t count,
		uint64_t offset, bool is_write)
{
	struct tpci *t = reg->priv;

	RTE_SET_USED(dev_id);
	t->bar0_calls++;
	t->bar0_last_off = offset;
	if (is_write)
		memcpy(&t->bar0[offset], buf, count);
	else
		memcpy(buf, &t->bar0[offset], count);
	return count;
}

static void
cmd_cb(struct rte_vfio_user_pci *pci, uint16_t old_cmd, uint16_t new_cmd, void *priv)
{
	struct tpci *t = priv;

	RTE_SET_USED(pci);
	t->cmd_calls++;
	t->cmd_old = old_cmd;
	t->cmd_new = new_cmd;
}

static void
cfg_cb(struct rte_vfio_user_pci *pci, uint32_t offset, uint32_t count, void *priv)
{
	struct tpci *t = priv;

	RTE_SET_USED(pci);
	RTE_SET_USED(count);
	t->cfg_writes++;
	t->cfg_last_off = offset;
}

/* Vendor capabilities: contents from byte 3, the second one partly writable. */
static const uint8_t vndr_data[T_VNDR_LEN] = {
	0, 0, 0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
};
static const uint8_t vndr_wmask[T_VNDR_LEN] = {
	0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0xff, 0x0f, 0, 0, 0, 0, 0, 0,
};

static struct rte_vfio_user_pci_cap t_caps[] = {
	{ .id = PCI_CAP_ID_PM },
	{ .id = PCI_CAP_ID_MSI, .nr_vectors = T_MSI_N,
		.flags = RTE_VFIO_USER_PCI_MSI_F_64BIT | RTE_VFIO_USER_PCI_MSI_F_MASKABLE },
	{ .id = PCI_CAP_ID_MSIX, .offset = T_MSIX_OFF, .nr_vectors = T_MSIX_N,
		.table_bar = 0, .table_offset = T_MSIX_TABLE,
		.pba_bar = 0, .pba_offset = T_MSIX_PBA },
	{ .id = PCI_CAP_ID_EXP },
	{ .id = PCI_CAP_ID_VNDR, .len = T_VNDR_LEN, .data = vndr_data },
	{ .id = PCI_CAP_ID_VNDR, .len = T_VNDR_LEN, .data = vndr_data, .wmask = vndr_wmask },
	{ .id = PCI_CAP_ID_VNDR, .len = 4 },
};

/* The test function: every BAR kind, every capability kind. */
static void
t_info(struct tpci *t, struct rte_vfio_user_pci_info *info)
{
	memset(info, 0, sizeof(*info));
	info->vendor_id = T_VENDOR;
	info->device_id = T_DEVICE;
	info->subsys_vendor_id = T_VENDOR;
	info->subsys_id = 0x1100;
	info->class_code = T_CLASS;
	info->revision = T_REV;
	info->intx_pin = 1;
	info->cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE_EXP;
	info->flags = RTE_VFIO_USER_PCI_F_RESET;
	info->bars[0] = (struct rte_vfio_user_pci_bar){
		.size = T_BAR0_SIZE, .rw = bar0_rw, .priv = t, .fd = -1,
	};
	info->bars[1] = (struct rte_vfio_user_pci_bar){
		.size = T_IO_SIZE, .flags = RTE_VFIO_USER_PCI_BAR_F_IO, .base = t->io, .fd = -1,
	};
	info->bars[2] = (struct rte_vfio_user_pci_bar){
		.size = T_BAR64_SIZE, .fd = -1,
		.flags = RTE_VFIO_USER_PCI_BAR_F_64 | RTE_VFIO_USER_PCI_BAR_F_PREFETCH,
	};
	info->bars[4] = (struct rte_vfio_user_pci_bar){
		.size = T_SMALL_SIZE, .base = t->small, .fd = -1,
	};
	info->caps = t_caps;
	info->nr_caps = RTE_DIM(t_caps);
	info->ops.command = cmd_cb;
	info->ops.config_write = cfg_cb;
	info->priv = t;
}

static uint64_t
efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static int
set_efds(int cid, uint32_t index, const int *fds, uint32_t n)
{
	char buf[sizeof(struct vfio_irq_set) + 32 * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + n * sizeof(int);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->count = n;
	memcpy(set->data, fds, n * sizeof(int));
	return rte_vfio_user_set_irqs(cid, set);
}

static uint32_t
cfg_rd(struct tpci *t, uint32_t off, size_t len)
{
	uint32_t v = 0;

	if (rte_vfio_user_region_read(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, len) !=
			(ssize_t)len)
		return 0xdeadbeef;
	return v;
}

static int
cfg_wr(struct tpci *t, uint32_t off, uint32_t v, size_t len)
{
	return rte_vfio_user_region_write(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, len) ==
		(ssize_t)len ? 0 : -1;
}

static uint32_t
bar_rd(struct tpci *t, uint32_t bar, uint32_t off)
{
	uint32_t v = 0;

	if (rte_vfio_user_region_read(t->cid, bar, off, &v, 4) != 4)
		return 0xdeadbeef;
	return v;
}

static int
bar_wr(struct tpci *t, uint32_t bar, uint32_t off, uint32_t v)
{
	return rte_vfio_user_region_write(t->cid, bar, off, &v, 4) == 4 ? 0 : -1;
}

static void
tpci_close(struct tpci *t)
{
	unsigned int i;

	if (t->cid >= 0)
		rte_vfio_user_detach_dev(t->cid);
	if (t->sid >= 0)
		rte_vfio_user_unregister(t->path);
	rte_vfio_user_pci_free(t->pci);
	for (i = 0; i < T_MSIX_N; i++)
		if (t->efd_msix[i] >= 0)
			close(t->efd_msix[i]);
	for (i = 0; i < T_MSI_N; i++)
		if (t->efd_msi[i] >= 0)
			close(t->efd_msi[i]);
	if (t->efd_intx >= 0)
		close(t->efd_intx);
	if (t->dir[0] != '\0')
		rmdir(t->dir);
	memset(t, 0, sizeof(*t));
}

/* Register, describe through the helper, start, attach, set every eventfd. */
static int
tpci_open(struct tpci *t)
{
	struct rte_vfio_user_pci_info info;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->sid = t->cid = t->efd_intx = -1;
	for (i = 0; i < T_MSIX_N; i++)
		t->efd_msix[i] = -1;
	for (i = 0; i < T_MSI_N; i++)
		t->efd_msi[i] = -1;
	strlcpy(t->dir, "/tmp/vfio-user-pci.XXXXXX", sizeof(t->dir));
	TEST_ASSERT_NOT_NULL(mkdtemp(t->dir), "mkdtemp");
	snprintf(t->path, sizeof(t->path), "%s/pci.sock", t->dir);
	t->sid = rte_vfio_user_register(t->path, NULL);
	TEST_ASSERT(t->sid >= 0, "register: %d", t->sid);
	t_info(t, &info);
	t->pci = rte_vfio_user_pci_create(t->path, t->sid, &info);
	TEST_ASSERT_NOT_NULL(t->pci, "create: %s", rte_strerror(rte_errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(t->path), "start");
	t->cid = rte_vfio_user_attach_dev(t->path);
	TEST_ASSERT(t->cid >= 0, "attach: %d", t->cid);

	for (i = 0; i < T_MSIX_N; i++)
		t->efd_msix[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (i = 0; i < T_MSI_N; i++)
		t->efd_msi[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->efd_intx = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT_SUCCESS(set_efds(t->cid, VFIO_PCI_MSIX_IRQ_INDEX, t->efd_msix, T_MSIX_N),
		"MSI-X eventfds");
	TEST_ASSERT_SUCCESS(set_efds(t->cid, VFIO_PCI_MSI_IRQ_INDEX, t->efd_msi, T_MSI_N),
		"MSI eventfds");
	TEST_ASSERT_SUCCESS(set_efds(t->cid, VFIO_PCI_INTX_IRQ_INDEX, &t->efd_intx, 1),
		"INTx eventfd");
	return TEST_SUCCESS;
}

/* What the client learns from the device and region infos. */
static int
test_pci_describe(void)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	static const uint64_t sizes[VFIO_PCI_NUM_REGIONS] = {
		T_BAR0_SIZE, T_IO_SIZE, T_BAR64_SIZE, 0, T_SMALL_SIZE, 0, 0,
		RTE_VFIO_USER_PCI_CFG_SIZE_EXP, 0,
	};
	static const uint32_t counts[VFIO_PCI_NUM_IRQS] = { 1, T_MSI_N, T_MSIX_N, 0, 0 };
	uint32_t i;

	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(tp.cid, &di), "dev info");
	TEST_ASSERT_EQUAL(di.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, "flags");
	TEST_ASSERT_EQUAL(di.num_regions, VFIO_PCI_NUM_REGIONS, "regions");
	TEST_ASSERT_EQUAL(di.num_irqs, VFIO_PCI_NUM_IRQS, "irqs");
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		ri.argsz = sizeof(ri);
		ri.index = i;
		TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_info(tp.cid, &ri, NULL), "region %u", i);
		TEST_ASSERT_EQUAL(ri.size, sizes[i], "region %u size 0x%" PRIx64, i,
			(uint64_t)ri.size);
	}
	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		ii.index = i;
		TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(tp.cid, &ii), "irq %u", i);
		TEST_ASSERT_EQUAL(ii.count, counts[i], "irq %u count %u", i, ii.count);
	}
	return TEST_SUCCESS;
}

/* Header fields, the write mask, and the all-ones size probe of every BAR kind. */
static int
test_pci_config(void)
{
	static const struct {
		uint32_t off, probe;
	} bars[] = {
		{ PCI_BASE_ADDRESS_0, ~(uint32_t)(T_BAR0_SIZE - 1) },
		{ PCI_BASE_ADDRESS_1, ~(uint32_t)(T_IO_SIZE - 1) | PCI_BASE_ADDRESS_SPACE_IO },
		{ PCI_BASE_ADDRESS_2,
			PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH },
		{ PCI_BASE_ADDRESS_3, ~(uint32_t)((T_BAR64_SIZE - 1) >> 32) },
		{ PCI_BASE_ADDRESS_4, ~(uint32_t)(T_SMALL_SIZE - 1) },
		{ PCI_BASE_ADDRESS_5, 0 },
		{ PCI_ROM_ADDRESS, 0 },
	};
	uint8_t cfg[RTE_VFIO_USER_PCI_CFG_SIZE_EXP], mine[RTE_VFIO_USER_PCI_CFG_SIZE_EXP];
	unsigned int i;

	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_VENDOR_ID, 2), T_VENDOR, "vendor");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_DEVICE_ID, 2), T_DEVICE, "device");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_REVISION_ID, 4), T_REV | (uint32_t)T_CLASS << 8,
		"revision and class");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_SUBSYSTEM_ID, 2), 0x1100, "subsystem");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL, "header");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_INTERRUPT_PIN, 1), 1, "pin");
	TEST_ASSERT(cfg_rd(&tp, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "capability list");

	/* Read-only fields ignore writes, writable ones take them. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_VENDOR_ID, 0x12345678, 4), "write ids");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_VENDOR_ID, 4), T_VENDOR | T_DEVICE << 16, "ids RO");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_STATUS, 0xffff, 2), "write status");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_STATUS, 2), PCI_STATUS_CAP_LIST, "status RO");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_INTERRUPT_LINE, 0xa5a5, 2), "write line/pin");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_INTERRUPT_LINE, 2), 0x1a5, "line RW, pin RO");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_CACHE_LINE_SIZE, 0xffffffff, 4), "write 0x0c");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_CACHE_LINE_SIZE, 4), 0xffff, "cache line, latency");

	for (i = 0; i < RTE_DIM(bars); i++) {
		TEST_ASSERT_SUCCESS(cfg_wr(&tp, bars[i].off, 0xffffffff, 4), "probe");
		TEST_ASSERT_EQUAL(cfg_rd(&tp, bars[i].off, 4), bars[i].probe,
			"BAR at 0x%x probes 0x%08x", bars[i].off, cfg_rd(&tp, bars[i].off, 4));
	}
	/* An address lands in the writable bits, the type bits stay. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_BASE_ADDRESS_0, 0xfebc1234, 4), "address");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_BASE_ADDRESS_0, 4), 0xfebc1000, "BAR0 address");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_BASE_ADDRESS_1, 0xc041, 4), "I/O address");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_BASE_ADDRESS_1, 4), 0xc041, "I/O BAR address");

	/* Extended space: the client sees 4 KiB, ending the (empty) extended list. */
	TEST_ASSERT_EQUAL(cfg_rd(&tp, 0x100, 4), 0, "extended capability header");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, 0xffc, 0xffffffff, 4), "write the last dword");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, 0xffc, 4), 0, "extended space read-only");

	/* The model's view equals the client's. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(tp.cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
		sizeof(cfg)), (ssize_t)sizeof(cfg), "read all");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_read(tp.pci, 0, mine, sizeof(mine)), "cfg_read");
	TEST_ASSERT_SUCCESS(memcmp(cfg, mine, sizeof(cfg)), "views differ");
	/* The device side writes read-only fields. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_write(tp.pci, PCI_STATUS,
		(const uint16_t[]){ PCI_STATUS_CAP_LIST | PCI_STATUS_66MHZ }, 2), "cfg_write");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_66MHZ,
		"device-side write");
	/* Reset restores the power-on state. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_reset(tp.pci), "reset");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_BASE_ADDRESS_0, 4), 0, "BAR0 after reset");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_STATUS, 2), PCI_STATUS_CAP_LIST, "status after reset");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_INTERRUPT_LINE, 1), 0, "line after reset");
	return TEST_SUCCESS;
}

/* The list a client walks: declaration order, no overlap, contents as declared. */
static int
test_pci_caps(void)
{
	static const uint8_t sizes[] = { PCI_PM_SIZEOF, PCI_MSI_PENDING_64 + 4,
		PCI_CAP_MSIX_SIZEOF, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, T_VNDR_LEN, T_VNDR_LEN, 4 };
	uint8_t cfg[RTE_VFIO_USER_PCI_CFG_SIZE], used[RTE_VFIO_USER_PCI_CFG_SIZE] = { 0 };
	unsigned int n = 0, pos, k;
	int found, vndr[3], last[256] = { 0 };

	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(tp.cid, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
		sizeof(cfg)), (ssize_t)sizeof(cfg), "read");
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos != 0; pos = cfg[pos + PCI_CAP_LIST_NEXT], n++) {
		TEST_ASSERT(n < RTE_DIM(t_caps), "list too long");
		TEST_ASSERT(pos >= 0x40 && (pos & 3) == 0, "capability at 0x%x", pos);
		TEST_ASSERT_EQUAL(cfg[pos], t_caps[n].id, "capability %u id 0x%x", n, cfg[pos]);
		for (k = pos; k < pos + sizes[n]; k++) {
			TEST_ASSERT(k < sizeof(cfg) && !used[k], "capability %u overlaps", n);
			used[k] = 1;
		}
		/* cap_find walks the same list: first one, then the next after the last. */
		found = rte_vfio_user_pci_cap_find(tp.pci, cfg[pos], last[cfg[pos]]);
		TEST_ASSERT_EQUAL(found, (int)pos, "cap_find of capability %u: %d", n, found);
		last[cfg[pos]] = pos;
		if (cfg[pos] == PCI_CAP_ID_VNDR)
			vndr[n - 4] = pos;
	}
	TEST_ASSERT_EQUAL(n, RTE_DIM(t_caps), "capabilities in the list: %u", n);
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_VNDR, vndr[2]), -ENOENT,
		"no fourth vendor capability");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_AGP, 0), -ENOENT, "AGP");
	TEST_ASSERT_EQUAL(cfg[T_MSIX_OFF], PCI_CAP_ID_MSIX, "MSI-X at its declared offset");

	/* MSI-X: table size, table and PBA locations. */
	TEST_ASSERT_EQUAL(cfg_rd(&tp, T_MSIX_OFF + PCI_MSIX_FLAGS, 2), T_MSIX_N - 1, "QSIZE");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, T_MSIX_OFF + PCI_MSIX_TABLE, 4), T_MSIX_TABLE, "table");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, T_MSIX_OFF + PCI_MSIX_PBA, 4), T_MSIX_PBA, "PBA");
	/* Vendor contents: length filled in, the rest as declared; writable bits only. */
	TEST_ASSERT_EQUAL(cfg[vndr[0] + 2], T_VNDR_LEN, "vendor length");
	TEST_ASSERT_SUCCESS(memcmp(&cfg[vndr[0] + 3], &vndr_data[3], T_VNDR_LEN - 3), "data");
	TEST_ASSERT_EQUAL(cfg[vndr[2] + 2], 4, "short vendor capability");
	TEST_ASSERT_EQUAL(cfg[vndr[2] + 3], 0, "NULL data reads 0");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, vndr[1], 0xffffffff, 4), "write vendor header");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, vndr[1], 4), (uint32_t)(PCI_CAP_ID_VNDR |
		vndr[2] << 8 | T_VNDR_LEN << 16 | 0xa1u << 24), "vendor header read-only");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, vndr[1] + 8, 0, 4), "write vendor body");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, vndr[1] + 8, 4), 0xa9a8a000, "vendor write mask");
	TEST_ASSERT_EQUAL(tp.cfg_last_off, (uint32_t)vndr[1] + 8, "config_write callback");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, vndr[0] + 8, 0, 4), "write read-only vendor body");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, vndr[0] + 8, 4), 0xa9a8a7a6, "read-only vendor body");

	/* PCI Express: version 2 endpoint; PM: state field writable. */
	pos = rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_EXP, 0);
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_EXP_FLAGS, 2) & (PCI_EXP_FLAGS_VERS |
		PCI_EXP_FLAGS_TYPE), 2 | PCI_EXP_TYPE_ENDPOINT << 4, "PCIe flags");
	pos = rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_PM, 0);
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_PM_CTRL, 0xffff, 2), "PM write");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_PM_CTRL, 2), PCI_PM_CTRL_STATE_MASK |
		PCI_PM_CTRL_NO_SOFT_RESET, "PMCSR");
	return TEST_SUCCESS;
}

/* Command register: only changes are reported, with the old and new values. */
static int
test_pci_command(void)
{
	unsigned int calls = tp.cmd_calls;
	uint16_t all = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;

	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, PCI_COMMAND_MEMORY, 2), "memory on");
	TEST_ASSERT_EQUAL(tp.cmd_calls, calls + 1, "one callback");
	TEST_ASSERT_EQUAL(tp.cmd_old, 0, "old");
	TEST_ASSERT_EQUAL(tp.cmd_new, PCI_COMMAND_MEMORY, "new");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, PCI_COMMAND_MEMORY, 2), "same again");
	TEST_ASSERT_EQUAL(tp.cmd_calls, calls + 1, "no callback without a change");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, 0xffff, 2), "all-ones");
	TEST_ASSERT_EQUAL(tp.cmd_calls, calls + 2, "second callback");
	TEST_ASSERT_EQUAL(tp.cmd_new, all, "writable bits (I/O with an I/O BAR): 0x%x",
		tp.cmd_new);
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_COMMAND, 2), all, "command read back");
	/* A status write in the same dword changes nothing there. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, 0xffff0000, 4), "dword write");
	TEST_ASSERT_EQUAL(tp.cmd_old, all, "old value");
	TEST_ASSERT_EQUAL(tp.cmd_new, 0, "all off");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, PCI_STATUS, 2), PCI_STATUS_CAP_LIST, "status unchanged");
	return TEST_SUCCESS;
}

static uint32_t
msix_ctrl_off(uint32_t v)
{
	return T_MSIX_TABLE + v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL;
}

/* MSI-X: vector mask, function mask, PBA, delivery at unmask. */
static int
test_pci_msix(void)
{
	unsigned int calls;
	uint64_t u64;
	uint32_t v;

	/* Table entries come out of reset unmasked: vector 0 fires at once. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSIX, 0),
		"raise 0");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[0]), 1, "vector 0 fired");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[1]), 0, "vector 1 quiet");

	/* The table is the helper's: the model's callback never sees it. */
	calls = tp.bar0_calls;
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, T_MSIX_TABLE + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee00003),
		"address");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_TABLE), 0xfee00000, "address low bits RO");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(1), 0xffffffff), "mask 1");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, msix_ctrl_off(1)), PCI_MSIX_ENTRY_CTRL_MASKBIT,
		"vector control: only the mask bit");
	TEST_ASSERT_EQUAL(tp.bar0_calls, calls, "table accesses reached the model");
	/* The rest of the BAR is the model's. */
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, 0x10, 0x5a5a), "register");
	TEST_ASSERT_EQUAL(tp.bar0_calls, calls + 1, "register write forwarded");
	TEST_ASSERT_EQUAL(tp.bar0_last_off, 0x10, "at its offset");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, 0x10), 0x5a5a, "register read");

	/* A masked vector is held in the PBA, delivered and cleared at unmask. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSIX, 1),
		"raise masked");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[1]), 0, "masked vector fired");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 1u << 1, "PBA bit");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, T_MSIX_PBA, 0), "PBA write");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 1u << 1, "PBA is read-only");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(1), 0), "unmask 1");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[1]), 1, "delivered at unmask");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 0, "PBA cleared");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(1), 0), "unmask again");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[1]), 0, "delivered only once");

	/* The function mask holds every vector; clearing it delivers them. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, T_MSIX_OFF + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE |
		PCI_MSIX_FLAGS_MASKALL, 2), "function mask");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, T_MSIX_OFF + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE |
		PCI_MSIX_FLAGS_MASKALL | (T_MSIX_N - 1), "QSIZE read-only");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(3), PCI_MSIX_ENTRY_CTRL_MASKBIT),
		"mask 3");
	for (v = 2; v < 4; v++)
		TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci,
			RTE_VFIO_USER_PCI_IRQ_MSIX, v), "raise %u", v);
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[2]) + efd_take(tp.efd_msix[3]), 0,
		"fired under the function mask");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 3u << 2, "PBA bits 2 and 3");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, T_MSIX_OFF + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2),
		"function unmask");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[2]), 1, "vector 2 delivered");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[3]), 0, "vector 3 still masked");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 1u << 3, "PBA bit 3 left");
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(3), 0), "unmask 3");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[3]), 1, "vector 3 delivered");

	/* AUTO follows the Enable bits: MSI-X is on. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_AUTO, 5),
		"auto");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[5]), 1, "auto went to MSI-X");

	/* MSI-X structures take aligned dwords and qwords only. */
	TEST_ASSERT(rte_vfio_user_region_read(tp.cid, 0, T_MSIX_TABLE + 2, &v, 2) < 0,
		"unaligned table read");
	TEST_ASSERT(rte_vfio_user_region_read(tp.cid, 0, T_MSIX_PBA + 4, &v, 4) == 4,
		"second PBA dword");
	TEST_ASSERT(rte_vfio_user_region_read(tp.cid, 0, T_MSIX_PBA - 4, &u64, 8) < 0,
		"misaligned qword over the PBA");
	TEST_ASSERT(rte_vfio_user_region_read(tp.cid, 0, T_MSIX_TABLE, &u64, 8) == 8,
		"aligned qword of the table");
	TEST_ASSERT_EQUAL(u64, 0xfee00000, "entry 0 address as written");

	/* Reset: table unmasked and cleared, PBA empty. */
	TEST_ASSERT_SUCCESS(bar_wr(&tp, 0, msix_ctrl_off(4), PCI_MSIX_ENTRY_CTRL_MASKBIT),
		"mask 4");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSIX, 4),
		"raise 4");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_reset(tp.pci), "reset");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_PBA), 0, "PBA after reset");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, msix_ctrl_off(4)), 0, "unmasked after reset");
	TEST_ASSERT_EQUAL(bar_rd(&tp, 0, T_MSIX_TABLE), 0, "table cleared");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[4]), 0, "nothing delivered by the reset");
	return TEST_SUCCESS;
}

/* MSI: per-vector mask and pending bits in config space. */
static int
test_pci_msi(void)
{
	int pos = rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_MSI, 0);

	TEST_ASSERT(pos > 0, "MSI capability");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_MSI_FLAGS, 2), PCI_MSI_FLAGS_64BIT |
		PCI_MSI_FLAGS_MASKBIT | 2 << 1, "flags: 64-bit, maskable, 4 vectors");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_MSI_MASK_64, 0xffffffff, 4), "mask all");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_MSI_MASK_64, 4), 0xf, "mask bits of 4 vectors");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSI, 2),
		"raise 2");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msi[2]), 0, "masked MSI fired");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_MSI_PENDING_64, 4), 1u << 2, "pending bit");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_MSI_PENDING_64, 0, 4), "pending write");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_MSI_PENDING_64, 4), 1u << 2, "pending RO");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_MSI_MASK_64, ~(1u << 2), 4), "unmask 2");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msi[2]), 1, "delivered at unmask");
	TEST_ASSERT_EQUAL(cfg_rd(&tp, pos + PCI_MSI_PENDING_64, 4), 0, "pending cleared");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSI, 2),
		"raise unmasked");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msi[2]), 1, "unmasked MSI fired");
	/* AUTO: MSI when MSI-X is off and MSI on. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_MSI_MASK_64, 0, 4), "unmask all");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, pos + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2), "enable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_AUTO, 1),
		"auto");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msi[1]), 1, "auto went to MSI");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_msix[1]), 0, "not to MSI-X");
	return TEST_SUCCESS;
}

static int
intx_unmask(int cid)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.count = 1,
	};

	return rte_vfio_user_set_irqs(cid, &set);
}

/* INTx: level, status bit, the command register's Interrupt Disable. */
static int
test_pci_intx(void)
{
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_reset(tp.pci), "reset: MSI off");
	/* AUTO falls back to INTx while MSI and MSI-X are off. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_AUTO, 0),
		"raise");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_intx), 1, "INTx fired");
	TEST_ASSERT(cfg_rd(&tp, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "status bit set");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_intx_lower(tp.pci), "lower");
	TEST_ASSERT(!(cfg_rd(&tp, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT), "status bit clear");
	TEST_ASSERT_SUCCESS(intx_unmask(tp.cid), "VFIO unmask");

	/* Disabled: held; enabled again while asserted: fires. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2), "disable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_INTX, 0),
		"raise disabled");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_intx), 0, "fired while disabled");
	TEST_ASSERT(cfg_rd(&tp, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "status while disabled");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, 0, 2), "enable");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_intx), 1, "fired at enable");
	TEST_ASSERT_SUCCESS(intx_unmask(tp.cid), "VFIO unmask");
	/* Lowered while disabled: nothing at enable. */
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2), "disable");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_intx_lower(tp.pci), "lower");
	TEST_ASSERT_SUCCESS(cfg_wr(&tp, PCI_COMMAND, 0, 2), "enable");
	TEST_ASSERT_EQUAL(efd_take(tp.efd_intx), 0, "fired although lowered");
	return TEST_SUCCESS;
}

/* Every bad argument, each with its documented errno. */
static int
test_pci_bad_args(void)
{
	struct rte_vfio_user_pci_cap caps[RTE_DIM(t_caps)];
	struct rte_vfio_user_pci_info info, bad;
	struct rte_vfio_user_pci *p;
	unsigned int i;
	uint8_t b[8];
	char path[160];
	int sid;
	static const struct {
		const char *what;
		unsigned int cap;       /* capability changed, or UINT32_MAX */
		int err;
	} cap_cases[] = {
		{ "unknown id", 0, EINVAL },
		{ "offset below 0x40", 2, EINVAL },
		{ "offset not dword aligned", 2, EINVAL },
		{ "capability past 256 bytes", 2, EINVAL },
		{ "overlap", 2, EEXIST },
		{ "MSI vectors not a power of two", 1, EINVAL },
		{ "MSI 64 vectors", 1, EINVAL },
		{ "MSI-X 0 vectors", 2, EINVAL },
		{ "MSI-X 2049 vectors", 2, EINVAL },
		{ "MSI-X table past its BAR", 2, EINVAL },
		{ "MSI-X table misaligned", 2, EINVAL },
		{ "MSI-X PBA in an I/O BAR", 2, EINVAL },
		{ "MSI-X PBA in an empty BAR", 2, EINVAL },
		{ "MSI-X table and PBA overlap", 2, EINVAL },
		{ "MSI-X unknown flag", 2, EINVAL },
		{ "vendor length 2", 4, EINVAL },
		{ "vendor length 200", 4, EINVAL },
		{ "two MSI-X", 1, EINVAL },
		{ "PM flags", 0, EINVAL },
	};

	snprintf(path, sizeof(path), "%s/bad.sock", tp.dir);
	sid = rte_vfio_user_register(path, NULL);
	TEST_ASSERT(sid >= 0, "register");
	t_info(&tp, &info);

	/* NULL and out-of-range top-level arguments. */
	p = rte_vfio_user_pci_create(NULL, sid, &info);
	TEST_ASSERT(p == NULL && rte_errno == EINVAL, "NULL path");
	p = rte_vfio_user_pci_create(path, -1, &info);
	TEST_ASSERT(p == NULL && rte_errno == EINVAL, "negative id");
	p = rte_vfio_user_pci_create(path, sid, NULL);
	TEST_ASSERT(p == NULL && rte_errno == EINVAL, "NULL info");

#define BAD_INFO(what, err, change) do { \
		bad = info; \
		change; \
		p = rte_vfio_user_pci_create(path, sid, &bad); \
		TEST_ASSERT(p == NULL && rte_errno == (err), "%s: %s", what, \
			p == NULL ? rte_strerror(rte_errno) : "accepted"); \
	} while (0)
	BAD_INFO("cfg_size 512", EINVAL, bad.cfg_size = 512);
	BAD_INFO("pin 5", EINVAL, bad.intx_pin = 5);
	BAD_INFO("unknown flag", EINVAL, bad.flags |= 1u << 31);
	BAD_INFO("class past 24 bits", EINVAL, bad.class_code = 0x1000000);
	BAD_INFO("caps NULL", EINVAL, bad.caps = NULL);
	BAD_INFO("BAR size 3000", EINVAL, bad.bars[0].size = 3000);
	BAD_INFO("BAR size 8", EINVAL, bad.bars[4].size = 8);
	BAD_INFO("32-bit BAR of 4 GiB", EINVAL, bad.bars[4].size = UINT64_C(1) << 32);
	BAD_INFO("I/O BAR of 512 bytes", EINVAL, bad.bars[1].size = 512);
	BAD_INFO("64-bit I/O BAR", EINVAL, bad.bars[1].flags |= RTE_VFIO_USER_PCI_BAR_F_64);
	BAD_INFO("64-bit BAR in slot 5", EINVAL, bad.bars[5] = bad.bars[4];
		bad.bars[5].flags = RTE_VFIO_USER_PCI_BAR_F_64);
	BAD_INFO("upper half of a 64-bit BAR used", EINVAL, bad.bars[3] = bad.bars[4]);
	BAD_INFO("unknown BAR flag", EINVAL, bad.bars[4].flags = 1u << 20);
	BAD_INFO("flags on an empty BAR", EINVAL, bad.bars[5].flags = RTE_VFIO_USER_PCI_BAR_F_MMAP);
	BAD_INFO("mmap without fd", EINVAL, bad.bars[4].flags = RTE_VFIO_USER_PCI_BAR_F_MMAP);
	BAD_INFO("PCIe config space without PCIe", EINVAL, memcpy(caps, t_caps, sizeof(caps));
		caps[3].id = PCI_CAP_ID_VNDR; caps[3].len = 8; bad.caps = caps);
	BAD_INFO("too many capabilities", ENOSPC, bad.nr_caps = 100);
	BAD_INFO("MSI-X in a mappable BAR", EINVAL,
		bad.bars[0].flags = RTE_VFIO_USER_PCI_BAR_F_MMAP;
		bad.bars[0].fd = 0);

	for (i = 0; i < RTE_DIM(cap_cases); i++) {
		struct rte_vfio_user_pci_cap *c = &caps[cap_cases[i].cap];

		memcpy(caps, t_caps, sizeof(caps));
		switch (i) {
		case 0: c->id = PCI_CAP_ID_AGP; break;
		case 1: c->offset = 0x3c; break;
		case 2: c->offset = 0x72; break;
		case 3: c->offset = 0xfc; break;
		case 4: caps[0].offset = T_MSIX_OFF + 4; break;
		case 5: c->nr_vectors = 3; break;
		case 6: c->nr_vectors = 64; break;
		case 7: c->nr_vectors = 0; break;
		case 8: c->nr_vectors = 2049; break;
		case 9: c->table_offset = T_BAR0_SIZE - 64; break;
		case 10: c->table_offset = T_MSIX_TABLE + 4; break;
		case 11: c->pba_bar = 1; c->pba_offset = 0; break;
		case 12: c->pba_bar = 5; c->pba_offset = 0; break;
		case 13: c->pba_offset = T_MSIX_TABLE + 64; break;
		case 14: c->flags = 0x8000; break;
		case 15: c->len = 2; break;
		case 16: c->len = 200; break;
		case 17: *c = caps[2]; c->offset = 0; break;
		case 18: c->flags = 1; break;
		}
		BAD_INFO(cap_cases[i].what, cap_cases[i].err, bad.caps = caps);
	}
	/* Not enough room: 48 vendor capabilities of 12 bytes need 576 of 192. */
	{
		struct rte_vfio_user_pci_cap many[48];

		for (i = 0; i < RTE_DIM(many); i++)
			many[i] = (struct rte_vfio_user_pci_cap){
				.id = PCI_CAP_ID_VNDR, .len = 12,
			};
		BAD_INFO("list does not fit", ENOSPC, bad.caps = many; bad.nr_caps = RTE_DIM(many);
			bad.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE);
	}
	/* The server refuses: unknown path, started device. */
	p = rte_vfio_user_pci_create("/nonexistent/x.sock", sid, &info);
	TEST_ASSERT(p == NULL && rte_errno == ENOENT, "unregistered path: %d", rte_errno);
	p = rte_vfio_user_pci_create(tp.path, tp.sid, &info);
	TEST_ASSERT(p == NULL && rte_errno == EBUSY, "started device: %d", rte_errno);
	TEST_ASSERT_SUCCESS(rte_vfio_user_unregister(path), "unregister");

	/* The other calls. */
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_reset(NULL), -EINVAL, "reset NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(NULL, RTE_VFIO_USER_PCI_IRQ_MSIX, 0),
		-EINVAL, "raise NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSIX,
		T_MSIX_N), -EINVAL, "MSI-X vector out of range");
	TEST_ASSERT_EQUAL(rte_errno, EINVAL, "rte_errno");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_MSI,
		T_MSI_N), -EINVAL, "MSI vector out of range");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(tp.pci, RTE_VFIO_USER_PCI_IRQ_INTX, 1),
		-EINVAL, "INTx vector 1");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(tp.pci, (enum rte_vfio_user_pci_irq)9, 0),
		-EINVAL, "unknown type");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_intx_lower(NULL), -EINVAL, "lower NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_read(tp.pci, 4093, b, 4), -EINVAL, "past 4096");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_read(tp.pci, UINT32_MAX, b, 2), -EINVAL,
		"offset wraps");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_read(tp.pci, 0, NULL, 2), -EINVAL, "NULL buf");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_read(NULL, 0, b, 2), -EINVAL, "NULL pci");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_write(tp.pci, 4096, b, 1), -EINVAL,
		"write past 4096");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cfg_write(tp.pci, 0, NULL, 1), -EINVAL, "NULL src");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cap_find(NULL, PCI_CAP_ID_MSI, 0), -EINVAL,
		"find NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cap_find(tp.pci, PCI_CAP_ID_VNDR, 0x41), -EINVAL,
		"find after a non-capability");
	rte_vfio_user_pci_free(NULL);
	return TEST_SUCCESS;
}

/* A function without INTx nor MSI: those interrupts are refused. */
static int
test_pci_minimal(void)
{
	struct rte_vfio_user_pci_info info = {
		.vendor_id = T_VENDOR,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
	};
	struct rte_vfio_user_pci_cap cap = {
		.id = PCI_CAP_ID_MSIX, .nr_vectors = 1, .table_bar = 0, .pba_bar = 0,
		.table_offset = 0, .pba_offset = 0x10,
		.flags = RTE_VFIO_USER_PCI_MSIX_F_MASKED_RESET,
	};
	struct rte_vfio_user_pci *p;
	char path[160];
	uint8_t cfg[RTE_VFIO_USER_PCI_CFG_SIZE];
	uint32_t v;
	int sid;

	snprintf(path, sizeof(path), "%s/min.sock", tp.dir);
	sid = rte_vfio_user_register(path, NULL);
	TEST_ASSERT(sid >= 0, "register");
	info.bars[0] = (struct rte_vfio_user_pci_bar){ .size = 32, .fd = -1 };
	p = rte_vfio_user_pci_create(path, sid, &info);
	TEST_ASSERT_NOT_NULL(p, "create without capabilities: %s", rte_strerror(rte_errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_read(p, 0, cfg, sizeof(cfg)), "read");
	TEST_ASSERT(!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST), "no capability list");
	TEST_ASSERT_EQUAL(cfg[PCI_CAPABILITY_LIST], 0, "no capability pointer");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(p, RTE_VFIO_USER_PCI_IRQ_INTX, 0),
		-ENOTSUP, "INTx with pin 0");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_intx_lower(p), -ENOTSUP, "lower with pin 0");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(p, RTE_VFIO_USER_PCI_IRQ_MSI, 0),
		-ENOTSUP, "no MSI");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_irq_raise(p, RTE_VFIO_USER_PCI_IRQ_MSIX, 0),
		-ENOTSUP, "no MSI-X");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_cap_find(p, PCI_CAP_ID_MSIX, 0), -ENOENT, "find");
	TEST_ASSERT_SUCCESS(rte_vfio_user_unregister(path), "unregister");
	rte_vfio_user_pci_free(p);

	/* The PCI reset state of MSI-X on request: masked, so a raise is held in the PBA. */
	sid = rte_vfio_user_register(path, NULL);
	TEST_ASSERT(sid >= 0, "register");
	info.caps = &cap;
	info.nr_caps = 1;
	p = rte_vfio_user_pci_create(path, sid, &info);
	TEST_ASSERT_NOT_NULL(p, "create with masked MSI-X: %s", rte_strerror(rte_errno));
	TEST_ASSERT_SUCCESS(rte_vfio_user_start(path), "start");
	sid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(sid >= 0, "attach");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(sid, 0, PCI_MSIX_ENTRY_VECTOR_CTRL, &v, 4), 4,
		"read vector control");
	TEST_ASSERT_EQUAL(v, PCI_MSIX_ENTRY_CTRL_MASKBIT, "masked at reset");
	/* No eventfd set: the raise is held anyway, without an error. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(p, RTE_VFIO_USER_PCI_IRQ_MSIX, 0),
		"raise masked");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(sid, 0, 0x10, &v, 4), 4, "read PBA");
	TEST_ASSERT_EQUAL(v, 1, "pending");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(sid, 0, 0x18, &v, 4), 4, "past the PBA");
	TEST_ASSERT_EQUAL(v, 0, "BAR without memory reads 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_detach_dev(sid), "detach");
	TEST_ASSERT_SUCCESS(rte_vfio_user_unregister(path), "unregister");
	rte_vfio_user_pci_free(p);
	return TEST_SUCCESS;
}

/* Bring A's helper into a state with every kind of field a migration carries. */
static int
state_prepare(struct tpci *a, int *msi_pos)
{
	int vndr;

	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_reset(a->pci), "reset");
	TEST_ASSERT_SUCCESS(cfg_wr(a, PCI_BASE_ADDRESS_0, 0xfebf0000, 4), "BAR0 address");
	TEST_ASSERT_SUCCESS(cfg_wr(a, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		PCI_COMMAND_INTX_DISABLE, 2), "command");
	TEST_ASSERT_SUCCESS(cfg_wr(a, T_MSIX_OFF + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2),
		"MSI-X enable");
	TEST_ASSERT_SUCCESS(bar_wr(a, 0, T_MSIX_TABLE + 2 * PCI_MSIX_ENTRY_SIZE, 0xfee01000),
		"entry 2 address");
	TEST_ASSERT_SUCCESS(bar_wr(a, 0, T_MSIX_TABLE + 2 * PCI_MSIX_ENTRY_SIZE +
		PCI_MSIX_ENTRY_DATA, 0x4022), "entry 2 data");
	TEST_ASSERT_SUCCESS(bar_wr(a, 0, msix_ctrl_off(3), PCI_MSIX_ENTRY_CTRL_MASKBIT), "mask 3");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(a->pci, RTE_VFIO_USER_PCI_IRQ_MSIX, 3),
		"raise 3: pending");
	*msi_pos = rte_vfio_user_pci_cap_find(a->pci, PCI_CAP_ID_MSI, 0);
	TEST_ASSERT(*msi_pos > 0, "MSI capability");
	TEST_ASSERT_SUCCESS(cfg_wr(a, *msi_pos + PCI_MSI_MASK_64, 1u << 1, 4), "MSI mask 1");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(a->pci, RTE_VFIO_USER_PCI_IRQ_MSI, 1),
		"MSI 1: pending");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_irq_raise(a->pci, RTE_VFIO_USER_PCI_IRQ_INTX, 0),
		"INTx asserted while disabled");
	vndr = rte_vfio_user_pci_cap_find(a->pci, PCI_CAP_ID_VNDR, 0);
	vndr = rte_vfio_user_pci_cap_find(a->pci, PCI_CAP_ID_VNDR, vndr);
	TEST_ASSERT(vndr > 0, "writable vendor capability");
	TEST_ASSERT_SUCCESS(cfg_wr(a, vndr + 8, 0x5a, 1), "vendor byte");
	return TEST_SUCCESS;
}

/* Flip bits of an image at @off and check the restore refuses it and changes nothing. */
static int
state_refused(struct tpci *b, const uint8_t *good, size_t len, size_t off, uint8_t xor,
		const char *what)
{
	uint8_t img[8192], before[RTE_VFIO_USER_PCI_CFG_SIZE_EXP], after[sizeof(before)];

	TEST_ASSERT(len <= sizeof(img) && off < len, "image size");
	memcpy(img, good, len);
	img[off] ^= xor;
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_read(b->pci, 0, before, sizeof(before)), "read");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_restore(b->pci, img, len), -EINVAL,
		"restore accepted an image with %s", what);
	TEST_ASSERT_EQUAL(rte_errno, EINVAL, "rte_errno");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_read(b->pci, 0, after, sizeof(after)), "read");
	TEST_ASSERT(memcmp(before, after, sizeof(before)) == 0,
		"refused image (%s) changed config space", what);
	return TEST_SUCCESS;
}

/* Save on one function, restore on another described the same way; hostile images. */
static int
test_pci_state(void)
{
	/* Image layout: 12-byte header, config space, MSI-X table, PBA. */
	const size_t cfg0 = 12, table0 = cfg0 + RTE_VFIO_USER_PCI_CFG_SIZE_EXP;
	const size_t pba0 = table0 + T_MSIX_N * PCI_MSIX_ENTRY_SIZE;
	uint8_t img[8192], cfg_a[RTE_VFIO_USER_PCI_CFG_SIZE_EXP], cfg_b[sizeof(cfg_a)];
	static struct tpci tb;
	ssize_t len;
	int msi_pos, ret = TEST_FAILED;
	unsigned int v;

	len = rte_vfio_user_pci_state_size(tp.pci);
	TEST_ASSERT_EQUAL(len, (ssize_t)(pba0 + 8), "state size");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_state_size(NULL), -EINVAL, "size of NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_save(tp.pci, img, len - 1), -ENOSPC, "short buffer");
	TEST_ASSERT_EQUAL(rte_errno, ENOSPC, "rte_errno");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_save(NULL, img, len), -EINVAL, "save NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_save(tp.pci, NULL, len), -EINVAL, "save to NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_restore(tp.pci, NULL, len), -EINVAL, "restore NULL");
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_restore(NULL, img, len), -EINVAL, "restore to NULL");

	if (state_prepare(&tp, &msi_pos) != TEST_SUCCESS)
		return TEST_FAILED;
	TEST_ASSERT_EQUAL(rte_vfio_user_pci_save(tp.pci, img, sizeof(img)), len, "save");
	TEST_ASSERT_SUCCESS(rte_vfio_user_pci_cfg_read(tp.pci, 0, cfg_a, sizeof(cfg_a)), "read A");

	if (tpci_open(&tb) != TEST_SUCCESS)
		goto out;
	/* Lies first: B must stay in its power-on state. */
	if (state_refused(&tb, img, len, 0, 0x01, "a bad magic") != TEST_SUCCESS ||
			state_refused(&tb, img, len, 4, 0x02, "another version") != TEST_SUCCESS ||
			state_refused(&tb, img, len, 6, 0x10, "another config size") !=
				TEST_SUCCESS ||
			state_refused(&tb, img, len, 8, 0x01, "other MSI-X vectors") !=
				TEST_SUCCESS ||
			state_refused(&tb, img, len, 10, 0x01, "reserved bits") != TEST_SUCCESS ||
			state_refused(&tb, img, len, cfg0 + PCI_VENDOR_ID, 0x01,
				"another vendor id") != TEST_SUCCESS ||
			state_refused(&tb, img, len, cfg0 + PCI_CAPABILITY_LIST, 0x04,
				"another capability list") != TEST_SUCCESS ||
			state_refused(&tb, img, len, cfg0 + PCI_BASE_ADDRESS_0 + 1, 0x01,
				"BAR0 size bits set") != TEST_SUCCESS ||
			state_refused(&tb, img, len, cfg0 + msi_pos + PCI_MSI_PENDING_64, 0x10,
				"an MSI pending bit past the vectors") != TEST_SUCCESS ||
			state_refused(&tb, img, len, cfg0 + msi_pos + PCI_MSI_MASK_64, 0x02,
				"an unmasked pending MSI vector") != TEST_SUCCESS ||
			state_refused(&tb, img, len, table0 + 3 * PCI_MSIX_ENTRY_SIZE +
				PCI_MSIX_ENTRY_VECTOR_CTRL, 0x01,
				"an unmasked pending MSI-X vector") != TEST_SUCCESS ||
			state_refused(&tb, img, len, table0 + PCI_MSIX_ENTRY_VECTOR_CTRL, 0x02,
				"a reserved vector control bit") != TEST_SUCCESS ||
			state_refused(&tb, img, len, table0 + PCI_MSIX_ENTRY_LOWER_ADDR, 0x01,
				"an unaligned message address") != TEST_SUCCESS ||
			state_refused(&tb, img, len, pba0 + 1, 0x01,
				"a PBA bit past the vectors") != TEST_SUCCESS)
		goto out;
	if (rte_vfio_user_pci_restore(tb.pci, img, len - 1) != -EINVAL ||
			rte_vfio_user_pci_restore(tb.pci, img, len + 1) != -EINVAL) {
		printf("an image of the wrong size was accepted\n");
		goto out;
	}

	/* The real image: B becomes A. */
	if (rte_vfio_user_pci_restore(tb.pci, img, len) != 0 ||
			rte_vfio_user_pci_cfg_read(tb.pci, 0, cfg_b, sizeof(cfg_b)) != 0 ||
			memcmp(cfg_a, cfg_b, sizeof(cfg_a)) != 0) {
		printf("restored config space differs\n");
		goto out;
	}
	if (bar_rd(&tb, 0, T_MSIX_TABLE + 2 * PCI_MSIX_ENTRY_SIZE) != 0xfee01000 ||
			bar_rd(&tb, 0, T_MSIX_TABLE + 2 * PCI_MSIX_ENTRY_SIZE +
				PCI_MSIX_ENTRY_DATA) != 0x4022 ||
			bar_rd(&tb, 0, msix_ctrl_off(3)) != PCI_MSIX_ENTRY_CTRL_MASKBIT ||
			bar_rd(&tb, 0, T_MSIX_PBA) != 1u << 3) {
		printf("restored MSI-X table or PBA differs\n");
		goto out;
	}
	/* Nothing was delivered by the restore; the pending interrupts fire on B. */
	for (v = 0; v < T_MSIX_N; v++)
		if (efd_take(tb.efd_msix[v]) != 0)
			goto out;
	if (bar_wr(&tb, 0, msix_ctrl_off(3), 0) != 0 || efd_take(tb.efd_msix[3]) != 1 ||
			bar_rd(&tb, 0, T_MSIX_PBA) != 0) {
		printf("pending MSI-X vector 3 not delivered on B at unmask\n");
		goto out;
	}
	if (cfg_wr(&tb, msi_pos + PCI_MSI_MASK_64, 0, 4) != 0 || efd_take(tb.efd_msi[1]) != 1) {
		printf("pending MSI vector 1 not delivered on B at unmask\n");
		goto out;
	}
	if (cfg_wr(&tb, PCI_COMMAND, PCI_COMMAND_MEMORY, 2) != 0 || efd_take(tb.efd_intx) != 1) {
		printf("asserted INTx not signalled on B when enabled\n");
		goto out;
	}
	ret = TEST_SUCCESS;
out:
	tpci_close(&tb);
	return ret;
}

static struct leak_snap suite_leaks;

static int
suite_setup(void)
{
	/* A first device starts the control thread, which stays: count after it. */
	if (tpci_open(&tp) != TEST_SUCCESS)
		return TEST_FAILED;
	tpci_close(&tp);
	leak_snap(&suite_leaks);
	return tpci_open(&tp);
}

static void
suite_teardown(void)
{
	tpci_close(&tp);
}

static struct unit_test_suite vfio_user_pci_suite = {
	.suite_name = "vfio_user PCI device-model helper",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_pci_describe),
		TEST_CASE(test_pci_config),
		TEST_CASE(test_pci_caps),
		TEST_CASE(test_pci_command),
		TEST_CASE(test_pci_msix),
		TEST_CASE(test_pci_msi),
		TEST_CASE(test_pci_intx),
		TEST_CASE(test_pci_bad_args),
		TEST_CASE(test_pci_minimal),
		TEST_CASE(test_pci_state),
		TEST_CASES_END()
	}
};

static int
test_vfio_user_pci(void)
{
	int ret = unit_test_suite_runner(&vfio_user_pci_suite);

	if (ret == TEST_SUCCESS)
		ret = leak_check(&suite_leaks, 2000);
	return ret;
}

REGISTER_TEST_COMMAND(vfio_user_pci_autotest, test_vfio_user_pci);

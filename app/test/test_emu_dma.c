/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * The emulated DMA engine (vdev emu_dma) driven through the raw
 * librte_vfio_user client API in the same process: config space, BAR0 by
 * mmap and by message, copy and fill, error statuses, ring errors, several
 * channels, MSI-X, resets, hostile register and ring contents, unmapping and
 * disconnecting under a running channel, bad devargs.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_service.h>
#include <rte_string_fns.h>
#include <rte_vfio_user.h>

#include "emu_dma_regs.h"
#include "test.h"
#include "test_vfio_user_common.h"

#define NB_CHAN 4
#define MEM_SIZE (8u << 20)
#define IOVA_BASE UINT64_C(0x40000000)
#define RING_OFF(c) ((uint64_t)(c) * 0x4000)   /* 256 descriptors per channel */
#define RING_SIZE 256
#define SRC_OFF 0x100000
#define DST_OFF 0x400000
#define WAIT_MS 5000

/* A device under test and the client attached to it. */
struct tdma {
	char name[32];
	char path[128];
	bool app_polled;        /* polled by poll_thread, not by a service lcore */
	int cid;                /* client device id, -1 when detached */
	volatile uint32_t *bar; /* BAR0 mapped by the client */
	int memfd;
	uint8_t *mem;           /* client DMA memory, IOVA_BASE.. */
	uint32_t posted[EMU_DMA_MAX_CHANNELS];
	int efd[NB_CHAN];       /* MSI-X eventfds */
};

static struct tdma dev_a = { .cid = -1, .memfd = -1 };
static struct tdma dev_b = { .cid = -1, .memfd = -1 };
static char sock_dir[48];
static int a_service_lcore = -1;

/* App-side polling of devices not given a service_core devarg. */
static volatile bool poll_stop;
static pthread_t poll_tid;
static bool poll_running;
static uint32_t poll_sids[2];
static volatile unsigned int poll_nr_sids;

static void *
poll_thread(void *arg)
{
	unsigned int i;

	RTE_SET_USED(arg);
	/* rte_service_run_iter_on_app_lcore() wants an lcore id. */
	if (rte_thread_register() < 0)
		return NULL;
	while (!poll_stop) {
		for (i = 0; i < poll_nr_sids; i++)
			rte_service_run_iter_on_app_lcore(poll_sids[i], 1);
		sched_yield();
	}
	rte_thread_unregister();
	return NULL;
}

static inline uint32_t
rd(struct tdma *t, uint32_t off)
{
	return t->bar[off / 4];
}

static inline void
wr(struct tdma *t, uint32_t off, uint32_t v)
{
	__atomic_store_n(&t->bar[off / 4], v, __ATOMIC_RELEASE);
}

static inline uint32_t
crd(struct tdma *t, unsigned int c, uint32_t reg)
{
	return rd(t, EMU_DMA_CHAN_BASE(c) + reg);
}

static inline void
cwr(struct tdma *t, unsigned int c, uint32_t reg, uint32_t v)
{
	wr(t, EMU_DMA_CHAN_BASE(c) + reg, v);
}

/* Wait until (register & mask) == val; 0 or -1 on timeout. */
static int
wait_reg(struct tdma *t, uint32_t off, uint32_t mask, uint32_t val)
{
	uint64_t end = now_ms() + WAIT_MS;

	while ((rd(t, off) & mask) != val) {
		if (now_ms() > end)
			return -1;
		sched_yield();
	}
	return 0;
}

static struct emu_dma_desc *
ring_of(struct tdma *t, unsigned int c)
{
	return (struct emu_dma_desc *)(t->mem + RING_OFF(c));
}

/* Create the vdev; svc >= 0 gives it service_core=svc, else the poll thread runs it. */
static int
tdma_create(struct tdma *t, const char *name, int svc)
{
	char args[256];
	char sname[64];
	uint32_t sid;
	int ret;

	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->path, sizeof(t->path), "%s/%s.sock", sock_dir, name);
	if (svc >= 0)
		snprintf(args, sizeof(args), "path=%s,channels=%d,service_core=%d", t->path,
			NB_CHAN, svc);
	else
		snprintf(args, sizeof(args), "path=%s,channels=%d", t->path, NB_CHAN);
	ret = rte_vdev_init(name, args);
	if (ret < 0) {
		printf("rte_vdev_init(%s, %s): %d\n", name, args, ret);
		return ret;
	}
	t->app_polled = svc < 0;
	if (t->app_polled) {
		snprintf(sname, sizeof(sname), "emu_dma_%s", name);
		ret = rte_service_get_by_name(sname, &sid);
		if (ret < 0)
			return ret;
		poll_sids[poll_nr_sids] = sid;
		__atomic_store_n(&poll_nr_sids, poll_nr_sids + 1, __ATOMIC_RELEASE);
	}
	return 0;
}

/* Attach a client: BAR0 mapped, DMA memory mapped with an fd, MSI-X eventfds. */
static int
tdma_attach(struct tdma *t)
{
	struct rte_vfio_user_mem_reg mr;
	struct rte_vfio_user_region_map map;
	uint32_t nr = 1;
	char buf[sizeof(struct vfio_irq_set) + NB_CHAN * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	unsigned int i;
	int ret;

	t->cid = rte_vfio_user_attach_dev(t->path);
	TEST_ASSERT(t->cid >= 0, "attach %s: %d", t->path, t->cid);
	ret = rte_vfio_user_region_mmap(t->cid, EMU_DMA_CTRL_BAR, &map, &nr);
	TEST_ASSERT_SUCCESS(ret, "BAR0 mmap");
	TEST_ASSERT(nr == 1 && map.offset == 0 && map.size == EMU_DMA_CTRL_BAR_SIZE,
		"BAR0 mapped as one 4 KiB area");
	t->bar = map.addr;

	if (t->memfd < 0) {
		t->memfd = memfd_create("tdma_mem", MFD_CLOEXEC);
		TEST_ASSERT(t->memfd >= 0, "memfd");
		TEST_ASSERT_SUCCESS(ftruncate(t->memfd, MEM_SIZE), "ftruncate");
		t->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
		TEST_ASSERT(t->mem != MAP_FAILED, "mmap");
	}
	memset(&mr, 0, sizeof(mr));
	mr.iova = IOVA_BASE;
	mr.size = MEM_SIZE;
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = t->mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(t->cid, &mr, &t->memfd, 1), "dma_map");

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = NB_CHAN;
	for (i = 0; i < NB_CHAN; i++) {
		if (t->efd[i] <= 0)
			t->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		TEST_ASSERT(t->efd[i] >= 0, "eventfd");
		memcpy(set->data + i * sizeof(int), &t->efd[i], sizeof(int));
	}
	TEST_ASSERT_SUCCESS(rte_vfio_user_set_irqs(t->cid, set), "MSI-X eventfds");
	memset(t->posted, 0, sizeof(t->posted));
	/* The engine announces itself once it polls. */
	TEST_ASSERT_SUCCESS(wait_reg(t, EMU_DMA_REG_DEV_STATUS, EMU_DMA_DEV_STATUS_READY,
		EMU_DMA_DEV_STATUS_READY), "engine never READY");
	return 0;
}

static void
tdma_detach(struct tdma *t)
{
	if (t->cid >= 0)
		rte_vfio_user_detach_dev(t->cid);
	t->cid = -1;
	t->bar = NULL;
}

static void
tdma_free_mem(struct tdma *t)
{
	unsigned int i;

	if (t->mem != NULL && t->mem != MAP_FAILED)
		munmap(t->mem, MEM_SIZE);
	t->mem = NULL;
	if (t->memfd >= 0)
		close(t->memfd);
	t->memfd = -1;
	for (i = 0; i < NB_CHAN; i++) {
		if (t->efd[i] > 0)
			close(t->efd[i]);
		t->efd[i] = 0;
	}
}

/* Program channel c and enable it; returns the STATUS seen (ACTIVE or RING_ERROR). */
static uint32_t
chan_start(struct tdma *t, unsigned int c, uint64_t ring_iova, uint32_t size, uint32_t ctrl)
{
	uint64_t end = now_ms() + WAIT_MS;
	uint32_t st;

	cwr(t, c, EMU_DMA_CHAN_RING_LO, (uint32_t)ring_iova);
	cwr(t, c, EMU_DMA_CHAN_RING_HI, (uint32_t)(ring_iova >> 32));
	cwr(t, c, EMU_DMA_CHAN_RING_SIZE, size);
	cwr(t, c, EMU_DMA_CHAN_DOORBELL, 0);
	t->posted[c] = 0;
	cwr(t, c, EMU_DMA_CHAN_CTRL, ctrl | EMU_DMA_CHAN_CTRL_ENABLE);
	do {
		st = crd(t, c, EMU_DMA_CHAN_STATUS);
		if (st & (EMU_DMA_CHAN_STATUS_ACTIVE | EMU_DMA_CHAN_STATUS_RING_ERROR))
			return st;
		sched_yield();
	} while (now_ms() < end);
	return st;
}

/* Clear ENABLE and wait for the engine's acknowledgement (STATUS 0). */
static int
chan_stop(struct tdma *t, unsigned int c)
{
	cwr(t, c, EMU_DMA_CHAN_CTRL, 0);
	return wait_reg(t, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_STATUS, ~0u, 0);
}

/* Write a descriptor at the next ring slot of channel c (not yet posted). */
static struct emu_dma_desc *
put_desc(struct tdma *t, unsigned int c, uint8_t op, uint64_t src, uint64_t dst, uint32_t len,
		uint8_t flags)
{
	struct emu_dma_desc *d = &ring_of(t, c)[t->posted[c] % RING_SIZE];

	d->src = src;
	d->dst = dst;
	d->len = len;
	d->op = op;
	d->flags = flags;
	d->status = EMU_DMA_STATUS_PENDING;
	d->user = 0xfeedf00d00000000ull | t->posted[c];
	t->posted[c]++;
	return d;
}

static void
ring_doorbell(struct tdma *t, unsigned int c)
{
	cwr(t, c, EMU_DMA_CHAN_DOORBELL, t->posted[c]);
}

static int
wait_done(struct tdma *t, unsigned int c)
{
	return wait_reg(t, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_COMPLETED, ~0u, t->posted[c]);
}

static uint16_t
desc_status(const struct emu_dma_desc *d)
{
	return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
}

/*
 * Test cases.
 */

/* Write @v to @len bytes of config space at @off; what reads back there (0 if nothing). */
static uint32_t
cfg_write_read(struct tdma *t, uint64_t off, uint32_t v, size_t len)
{
	uint32_t r = 0;

	rte_vfio_user_region_write(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, len);
	rte_vfio_user_region_read(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, off, &r, len);
	return r;
}

static int
test_identity(void)
{
	struct tdma *t = &dev_a;
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	uint8_t cfg[256];
	uint32_t v, magic = 0;
	uint8_t pos;
	int fd = -1;

	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(t->cid, &di), "dev info");
	TEST_ASSERT(di.flags & VFIO_DEVICE_FLAGS_PCI, "PCI device");
	TEST_ASSERT(di.flags & VFIO_DEVICE_FLAGS_RESET, "resettable");
	TEST_ASSERT(di.num_regions >= VFIO_PCI_NUM_REGIONS, "regions");
	TEST_ASSERT_EQUAL(di.num_irqs, VFIO_PCI_NUM_IRQS, "irq types");

	ri.index = EMU_DMA_CTRL_BAR;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_info(t->cid, &ri, &fd), "BAR0 info");
	TEST_ASSERT(ri.flags & VFIO_REGION_INFO_FLAG_MMAP, "BAR0 mappable");
	TEST_ASSERT_EQUAL(ri.size, EMU_DMA_CTRL_BAR_SIZE, "BAR0 size");
	TEST_ASSERT(fd >= 0, "BAR0 fd");
	close(fd);
	ri.index = EMU_DMA_MSIX_BAR;
	ri.argsz = sizeof(ri);
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_reg_info(t->cid, &ri, NULL), "BAR2 info");
	TEST_ASSERT_EQUAL(ri.size, EMU_DMA_MSIX_BAR_SIZE, "BAR2 size");
	TEST_ASSERT(!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP), "BAR2 not mappable");

	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(t->cid, &ii), "MSI-X info");
	TEST_ASSERT_EQUAL(ii.count, NB_CHAN, "one vector per channel");
	TEST_ASSERT(ii.flags & VFIO_IRQ_INFO_EVENTFD, "MSI-X eventfd");
	ii.index = VFIO_PCI_INTX_IRQ_INDEX;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(t->cid, &ii), "INTx info");
	TEST_ASSERT_EQUAL(ii.count, 1, "INTx count");
	ii.index = VFIO_PCI_ERR_IRQ_INDEX;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(t->cid, &ii), "ERR info");
	TEST_ASSERT_EQUAL(ii.count, 1, "ERR count");
	ii.index = VFIO_PCI_REQ_IRQ_INDEX;
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(t->cid, &ii), "REQ info");
	TEST_ASSERT_EQUAL(ii.count, 1, "REQ count");

	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, 0,
		cfg, sizeof(cfg)), (ssize_t)sizeof(cfg), "config read");
	TEST_ASSERT_EQUAL(cfg[0] | cfg[1] << 8, EMU_DMA_VENDOR_ID, "vendor");
	TEST_ASSERT_EQUAL(cfg[2] | cfg[3] << 8, EMU_DMA_DEVICE_ID, "device");
	TEST_ASSERT_EQUAL(cfg[PCI_REVISION_ID], EMU_DMA_REVISION, "revision");
	TEST_ASSERT_EQUAL((uint32_t)(cfg[9] | cfg[10] << 8 | cfg[11] << 16), EMU_DMA_CLASS,
		"class");
	TEST_ASSERT_EQUAL(cfg[PCI_SUBSYSTEM_VENDOR_ID] | cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] << 8,
		EMU_DMA_VENDOR_ID, "subsystem vendor");
	TEST_ASSERT_EQUAL(cfg[PCI_SUBSYSTEM_ID] | cfg[PCI_SUBSYSTEM_ID + 1] << 8,
		EMU_DMA_DEVICE_ID, "subsystem id");
	TEST_ASSERT(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, "capability list");
	/* Walk the list: MSI-X with NB_CHAN vectors, table and PBA in BAR2. */
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos != 0 && cfg[pos] != PCI_CAP_ID_MSIX;
			pos = cfg[pos + 1])
		TEST_ASSERT(pos >= 0x40 && pos < 0xfc, "capability pointer 0x%x", pos);
	TEST_ASSERT(pos != 0, "MSI-X capability");
	TEST_ASSERT_EQUAL((cfg[pos + 2] | cfg[pos + 3] << 8) & PCI_MSIX_FLAGS_QSIZE,
		NB_CHAN - 1, "MSI-X table size");
	memcpy(&v, &cfg[pos + PCI_MSIX_TABLE], 4);
	TEST_ASSERT_EQUAL(v, (uint32_t)(EMU_DMA_MSIX_TABLE_OFFSET | EMU_DMA_MSIX_BAR),
		"MSI-X table");
	memcpy(&v, &cfg[pos + PCI_MSIX_PBA], 4);
	TEST_ASSERT_EQUAL(v, (uint32_t)(EMU_DMA_MSIX_PBA_OFFSET | EMU_DMA_MSIX_BAR), "PBA");

	/* BAR sizing: all-ones reads back the size mask (with the type bits). */
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_BASE_ADDRESS_0, 0xffffffff, 4),
		~(uint32_t)(EMU_DMA_CTRL_BAR_SIZE - 1), "BAR0 size mask");
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_BASE_ADDRESS_1, 0xffffffff, 4), 0,
		"BAR1 not implemented");
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_BASE_ADDRESS_2, 0xffffffff, 4),
		~(uint32_t)(EMU_DMA_MSIX_BAR_SIZE - 1), "BAR2 size mask");
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_BASE_ADDRESS_0, 0xfebc1000, 4), 0xfebc1000,
		"BAR0 address");
	/* Command register: memory and bus master stick, the vendor id does not. */
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_COMMAND,
		PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0xf800, 2),
		PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, "command register");
	TEST_ASSERT_EQUAL(cfg_write_read(t, PCI_VENDOR_ID, 0x1234, 2), EMU_DMA_VENDOR_ID,
		"vendor id read-only");

	/* Global registers, through the mapping and by message. */
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_MAGIC), EMU_DMA_MAGIC_VALUE, "MAGIC");
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_VERSION), EMU_DMA_VERSION_VALUE, "VERSION");
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_NUM_CHANNELS), NB_CHAN, "NUM_CHANNELS");
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_CAPS), EMU_DMA_CAP_COPY | EMU_DMA_CAP_FILL, "CAPS");
	TEST_ASSERT(rd(t, EMU_DMA_REG_MAX_RING_SIZE) >= RING_SIZE, "MAX_RING_SIZE");
	TEST_ASSERT(rd(t, EMU_DMA_REG_MAX_XFER) >= 65536, "MAX_XFER");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(t->cid, EMU_DMA_CTRL_BAR, EMU_DMA_REG_MAGIC,
		&magic, 4), 4, "MAGIC by message");
	TEST_ASSERT_EQUAL(magic, EMU_DMA_MAGIC_VALUE, "MAGIC by message");
	/* A read-only register ignores REGION_WRITE. */
	v = 0xdeadbeef;
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(t->cid, EMU_DMA_CTRL_BAR,
		EMU_DMA_REG_MAGIC, &v, 4), 4, "write MAGIC");
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_MAGIC), EMU_DMA_MAGIC_VALUE, "MAGIC kept");
	/* Misaligned or odd-sized register writes are refused. */
	TEST_ASSERT(rte_vfio_user_region_write(t->cid, EMU_DMA_CTRL_BAR,
		EMU_DMA_REG_DEV_CTRL + 1, &v, 2) < 0, "odd write refused");
	for (v = 0; v < NB_CHAN; v++) {
		TEST_ASSERT_EQUAL(crd(t, v, EMU_DMA_CHAN_IRQ_VECTOR), v, "IRQ_VECTOR default");
		TEST_ASSERT_EQUAL(crd(t, v, EMU_DMA_CHAN_STATUS), 0, "channel idle");
	}
	return TEST_SUCCESS;
}

static int
check_copy(struct tdma *t, unsigned int c, const uint32_t *lens, unsigned int n)
{
	struct emu_dma_desc *d[16];
	uint64_t off = 0;
	unsigned int i;

	TEST_ASSERT(n <= RTE_DIM(d), "too many");
	TEST_ASSERT_EQUAL(chan_start(t, c, IOVA_BASE + RING_OFF(c), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "channel %u start", c);
	tdev_fill(t->mem + SRC_OFF, DST_OFF - SRC_OFF, c * 77 + n);
	memset(t->mem + DST_OFF, 0, DST_OFF - SRC_OFF);
	for (i = 0; i < n; i++) {
		d[i] = put_desc(t, c, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF + off,
			IOVA_BASE + DST_OFF + off, lens[i], 0);
		off += RTE_ALIGN_CEIL(lens[i] + 1, 64);
	}
	ring_doorbell(t, c);
	TEST_ASSERT_SUCCESS(wait_done(t, c), "channel %u: COMPLETED %u, want %u", c,
		crd(t, c, EMU_DMA_CHAN_COMPLETED), t->posted[c]);
	off = 0;
	for (i = 0; i < n; i++) {
		TEST_ASSERT_EQUAL(desc_status(d[i]), EMU_DMA_STATUS_SUCCESS, "copy %u status", i);
		TEST_ASSERT_EQUAL(d[i]->user, 0xfeedf00d00000000ull | i, "user field untouched");
		TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF + off, t->mem + DST_OFF + off,
			lens[i]), "copy %u of %u bytes", i, lens[i]);
		TEST_ASSERT_EQUAL(t->mem[DST_OFF + off + lens[i]], 0, "copy %u overran", i);
		off += RTE_ALIGN_CEIL(lens[i] + 1, 64);
	}
	TEST_ASSERT(!(crd(t, c, EMU_DMA_CHAN_STATUS) & EMU_DMA_CHAN_STATUS_BUSY), "not busy");
	TEST_ASSERT_SUCCESS(chan_stop(t, c), "channel %u stop", c);
	return TEST_SUCCESS;
}

static int
test_copy(void)
{
	static const uint32_t lens[] = { 64, 1, 100, 4096, 4097, 65536 };

	return check_copy(&dev_a, 0, lens, RTE_DIM(lens));
}

static int
test_copy_max(void)
{
	struct tdma *t = &dev_a;
	uint32_t max = rd(t, EMU_DMA_REG_MAX_XFER);
	struct emu_dma_desc *ok, *big;

	TEST_ASSERT(max <= DST_OFF - SRC_OFF, "MAX_XFER %u fits the test buffers", max);
	TEST_ASSERT_EQUAL(chan_start(t, 1, IOVA_BASE + RING_OFF(1), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "start");
	tdev_fill(t->mem + SRC_OFF, max, 5);
	memset(t->mem + DST_OFF, 0, max);
	ok = put_desc(t, 1, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF, max, 0);
	big = put_desc(t, 1, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF,
		max + 1, 0);
	ring_doorbell(t, 1);
	TEST_ASSERT_SUCCESS(wait_done(t, 1), "done");
	TEST_ASSERT_EQUAL(desc_status(ok), EMU_DMA_STATUS_SUCCESS, "MAX_XFER copy");
	TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF, t->mem + DST_OFF, max), "data");
	TEST_ASSERT_EQUAL(desc_status(big), EMU_DMA_STATUS_ERR_LEN, "MAX_XFER + 1");
	return chan_stop(t, 1);
}

static int
test_fill(void)
{
	static const uint32_t lens[] = { 8, 50, 89, 1024, 1, 7, 4099 };
	const uint64_t pat = UINT64_C(0xfedcba9876543210);
	struct tdma *t = &dev_a;
	struct emu_dma_desc *d[RTE_DIM(lens)];
	uint64_t off = 0;
	unsigned int i, j;

	TEST_ASSERT_EQUAL(chan_start(t, 2, IOVA_BASE + RING_OFF(2), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "start");
	memset(t->mem + DST_OFF, 0xa5, 65536);
	for (i = 0; i < RTE_DIM(lens); i++) {
		/* Odd destination offsets too: the pattern follows the byte index. */
		d[i] = put_desc(t, 2, EMU_DMA_OP_FILL, pat + i, IOVA_BASE + DST_OFF + off + i,
			lens[i], 0);
		off += RTE_ALIGN_CEIL(lens[i] + 16, 64);
	}
	ring_doorbell(t, 2);
	TEST_ASSERT_SUCCESS(wait_done(t, 2), "done");
	off = 0;
	for (i = 0; i < RTE_DIM(lens); i++) {
		const uint8_t *p = t->mem + DST_OFF + off + i;
		uint64_t v = pat + i;

		TEST_ASSERT_EQUAL(desc_status(d[i]), EMU_DMA_STATUS_SUCCESS, "fill %u", i);
		for (j = 0; j < lens[i]; j++)
			TEST_ASSERT_EQUAL(p[j], (uint8_t)(v >> (8 * (j % 8))),
				"fill %u (len %u) byte %u", i, lens[i], j);
		TEST_ASSERT_EQUAL(p[lens[i]], 0xa5, "fill %u overran", i);
		if (i > 0)
			TEST_ASSERT_EQUAL(p[-1], 0xa5, "fill %u underran", i);
		off += RTE_ALIGN_CEIL(lens[i] + 16, 64);
	}
	return chan_stop(t, 2);
}

static int
test_desc_errors(void)
{
	struct tdma *t = &dev_a;
	struct emu_dma_desc *d[9];
	uint64_t end = IOVA_BASE + MEM_SIZE;

	TEST_ASSERT_EQUAL(chan_start(t, 3, IOVA_BASE + RING_OFF(3), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "start");
	tdev_fill(t->mem + SRC_OFF, 4096, 9);
	memset(t->mem + DST_OFF, 0, 8192);
	d[0] = put_desc(t, 3, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF, 64, 0);
	d[1] = put_desc(t, 3, EMU_DMA_OP_COPY, 0, IOVA_BASE + DST_OFF, 64, 0);
	d[2] = put_desc(t, 3, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, end + 4096, 64, 0);
	d[3] = put_desc(t, 3, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF, 0, 0);
	d[4] = put_desc(t, 3, 0x77, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF, 64, 0);
	/* Ranges that start inside the mapping and run past its end. */
	d[5] = put_desc(t, 3, EMU_DMA_OP_COPY, end - 32, IOVA_BASE + DST_OFF, 64, 0);
	d[6] = put_desc(t, 3, EMU_DMA_OP_FILL, 0, end - 32, 64, 0);
	d[7] = put_desc(t, 3, EMU_DMA_OP_COPY, UINT64_MAX - 8, IOVA_BASE + DST_OFF, 64, 0);
	d[8] = put_desc(t, 3, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF + 64,
		IOVA_BASE + DST_OFF + 4096, 128, 0);
	ring_doorbell(t, 3);
	TEST_ASSERT_SUCCESS(wait_done(t, 3), "done");
	TEST_ASSERT_EQUAL(desc_status(d[0]), EMU_DMA_STATUS_SUCCESS, "good copy");
	TEST_ASSERT_EQUAL(desc_status(d[1]), EMU_DMA_STATUS_ERR_SRC, "src 0");
	TEST_ASSERT_EQUAL(desc_status(d[2]), EMU_DMA_STATUS_ERR_DST, "dst unmapped");
	TEST_ASSERT_EQUAL(desc_status(d[3]), EMU_DMA_STATUS_ERR_LEN, "len 0");
	TEST_ASSERT_EQUAL(desc_status(d[4]), EMU_DMA_STATUS_ERR_OP, "bad op");
	TEST_ASSERT_EQUAL(desc_status(d[5]), EMU_DMA_STATUS_ERR_SRC, "src straddles end");
	TEST_ASSERT_EQUAL(desc_status(d[6]), EMU_DMA_STATUS_ERR_DST, "dst straddles end");
	TEST_ASSERT_EQUAL(desc_status(d[7]), EMU_DMA_STATUS_ERR_SRC, "src wraps");
	TEST_ASSERT_EQUAL(desc_status(d[8]), EMU_DMA_STATUS_SUCCESS, "later copy still done");
	TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF + 64, t->mem + DST_OFF + 4096, 128),
		"later copy data");
	TEST_ASSERT(crd(t, 3, EMU_DMA_CHAN_STATUS) & EMU_DMA_CHAN_STATUS_ACTIVE, "still active");
	return chan_stop(t, 3);
}

static int
test_ring_errors(void)
{
	struct tdma *t = &dev_a;
	static const struct {
		uint64_t iova;
		uint32_t size;
		const char *what;
	} bad[] = {
		{ IOVA_BASE, 100, "not a power of two" },
		{ IOVA_BASE, EMU_DMA_MIN_RING_SIZE / 2, "below the minimum" },
		{ IOVA_BASE, 0, "zero" },
		{ IOVA_BASE, 1u << 31, "above the maximum" },
		{ IOVA_BASE + 8, 64, "misaligned" },
		{ 0x1000, 64, "unmapped" },
		{ IOVA_BASE + MEM_SIZE - 32 * 16, 32, "runs past the mapping" },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++) {
		TEST_ASSERT_EQUAL(chan_start(t, 0, bad[i].iova, bad[i].size, 0),
			EMU_DMA_CHAN_STATUS_RING_ERROR, "ring %s", bad[i].what);
		/* A doorbell on a refused channel does nothing. */
		put_desc(t, 0, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF, 8, 0);
		ring_doorbell(t, 0);
		rte_delay_ms(2);
		TEST_ASSERT_EQUAL(crd(t, 0, EMU_DMA_CHAN_COMPLETED), 0, "nothing completed");
		TEST_ASSERT_SUCCESS(chan_stop(t, 0), "stop clears RING_ERROR (%s)", bad[i].what);
	}
	/* The channel works again afterwards. */
	{
		static const uint32_t lens[] = { 256 };

		return check_copy(t, 0, lens, 1);
	}
}

/* All channels at once, each with a full burst and more. */
static int
test_multi_channel(void)
{
	struct tdma *t = &dev_a;
	const unsigned int per = 150;
	const uint32_t len = 1024;
	unsigned int c, i;

	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_EQUAL(chan_start(t, c, IOVA_BASE + RING_OFF(c), RING_SIZE, 0),
			EMU_DMA_CHAN_STATUS_ACTIVE, "start %u", c);
	tdev_fill(t->mem + SRC_OFF, NB_CHAN * per * len, 3);
	memset(t->mem + DST_OFF, 0, NB_CHAN * per * len);
	for (c = 0; c < NB_CHAN; c++)
		for (i = 0; i < per; i++) {
			uint64_t off = ((uint64_t)c * per + i) * len;

			put_desc(t, c, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF + off,
				IOVA_BASE + DST_OFF + off, len, 0);
		}
	for (c = 0; c < NB_CHAN; c++)
		ring_doorbell(t, c);
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(wait_done(t, c), "channel %u done", c);
	for (c = 0; c < NB_CHAN; c++)
		for (i = 0; i < per; i++)
			TEST_ASSERT_EQUAL(desc_status(&ring_of(t, c)[i]), EMU_DMA_STATUS_SUCCESS,
				"channel %u desc %u", c, i);
	TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF, t->mem + DST_OFF, NB_CHAN * per * len),
		"data");
	/* The ring wraps: post another 200 on channel 0 (slots 150..349 mod 256). */
	for (i = 0; i < 200; i++)
		put_desc(t, 0, EMU_DMA_OP_FILL, i, IOVA_BASE + DST_OFF + i * 8, 8, 0);
	ring_doorbell(t, 0);
	TEST_ASSERT_SUCCESS(wait_done(t, 0), "wrapped ring done");
	for (i = 0; i < 200; i++) {
		uint64_t v;

		memcpy(&v, t->mem + DST_OFF + i * 8, 8);
		TEST_ASSERT_EQUAL(v, i, "wrapped fill %u", i);
	}
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(chan_stop(t, c), "stop %u", c);
	return TEST_SUCCESS;
}

static int
test_msix(void)
{
	struct tdma *t = &dev_a;
	unsigned int c = 1, i;
	uint64_t v;

	for (i = 0; i < NB_CHAN; i++)
		efd_wait(t->efd[i], 0); /* drain */
	TEST_ASSERT_EQUAL(chan_start(t, c, IOVA_BASE + RING_OFF(c), RING_SIZE,
		EMU_DMA_CHAN_CTRL_IRQ_ENABLE), EMU_DMA_CHAN_STATUS_ACTIVE, "start");
	/* No IRQ flag: no interrupt. */
	put_desc(t, c, EMU_DMA_OP_FILL, 1, IOVA_BASE + DST_OFF, 64, 0);
	ring_doorbell(t, c);
	TEST_ASSERT_SUCCESS(wait_done(t, c), "done");
	TEST_ASSERT_EQUAL(efd_wait(t->efd[c], 50), 0, "no interrupt without the flag");
	/* IRQ flag: vector c fires, others do not. */
	put_desc(t, c, EMU_DMA_OP_FILL, 2, IOVA_BASE + DST_OFF, 64, EMU_DMA_DESC_FLAG_IRQ);
	ring_doorbell(t, c);
	v = efd_wait(t->efd[c], WAIT_MS);
	TEST_ASSERT(v > 0, "MSI-X vector %u delivered", c);
	TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_COMPLETED), t->posted[c],
		"COMPLETED updated before the interrupt");
	for (i = 0; i < NB_CHAN; i++)
		if (i != c)
			TEST_ASSERT_EQUAL(efd_wait(t->efd[i], 0), 0, "vector %u quiet", i);
	/* IRQ_VECTOR redirects; an out-of-range vector raises nothing. */
	cwr(t, c, EMU_DMA_CHAN_IRQ_VECTOR, 3);
	put_desc(t, c, EMU_DMA_OP_FILL, 3, IOVA_BASE + DST_OFF, 64, EMU_DMA_DESC_FLAG_IRQ);
	ring_doorbell(t, c);
	TEST_ASSERT(efd_wait(t->efd[3], WAIT_MS) > 0, "vector 3 delivered");
	cwr(t, c, EMU_DMA_CHAN_IRQ_VECTOR, 1000);
	put_desc(t, c, EMU_DMA_OP_FILL, 3, IOVA_BASE + DST_OFF, 64, EMU_DMA_DESC_FLAG_IRQ);
	ring_doorbell(t, c);
	TEST_ASSERT_SUCCESS(wait_done(t, c), "done");
	for (i = 0; i < NB_CHAN; i++)
		TEST_ASSERT_EQUAL(efd_wait(t->efd[i], 20), 0, "vector %u quiet", i);
	cwr(t, c, EMU_DMA_CHAN_IRQ_VECTOR, c);
	/* IRQ_ENABLE clear: the flag alone raises nothing. */
	cwr(t, c, EMU_DMA_CHAN_CTRL, EMU_DMA_CHAN_CTRL_ENABLE);
	put_desc(t, c, EMU_DMA_OP_FILL, 4, IOVA_BASE + DST_OFF, 64, EMU_DMA_DESC_FLAG_IRQ);
	ring_doorbell(t, c);
	TEST_ASSERT_SUCCESS(wait_done(t, c), "done");
	TEST_ASSERT_EQUAL(efd_wait(t->efd[c], 50), 0, "no interrupt with IRQ_ENABLE clear");
	return chan_stop(t, c);
}

/* The whole channel driven by REGION_WRITE/READ messages, no mapping used. */
static int
test_message_path(void)
{
	struct tdma *t = &dev_a;
	uint32_t base = EMU_DMA_CHAN_BASE(2);
	uint64_t ring = IOVA_BASE + RING_OFF(2), end;
	uint32_t v;
	struct emu_dma_desc *d;
	int cid = t->cid;

	tdev_fill(t->mem + SRC_OFF, 8192, 11);
	memset(t->mem + DST_OFF, 0, 8192);
	memset(ring_of(t, 2), 0, RING_SIZE * sizeof(*d));
	/* 64-bit write of RING_LO/HI in one message. */
	TEST_ASSERT_EQUAL(rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_RING_LO,
		&ring, 8), 8, "ring address");
	v = 16;
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_RING_SIZE, &v, 4);
	v = 0;
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_DOORBELL, &v, 4);
	v = EMU_DMA_CHAN_CTRL_ENABLE;
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_CTRL, &v, 4);
	/* Read-only COMPLETED and STATUS ignore writes. */
	v = 77;
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_COMPLETED, &v, 4);
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_STATUS, &v, 4);
	end = now_ms() + WAIT_MS;
	do {
		rte_vfio_user_region_read(cid, 0, base + EMU_DMA_CHAN_STATUS, &v, 4);
	} while (v != EMU_DMA_CHAN_STATUS_ACTIVE && now_ms() < end);
	TEST_ASSERT_EQUAL(v, EMU_DMA_CHAN_STATUS_ACTIVE, "active by message");
	rte_vfio_user_region_read(cid, 0, base + EMU_DMA_CHAN_COMPLETED, &v, 4);
	TEST_ASSERT_EQUAL(v, 0, "COMPLETED not writable");

	for (v = 0; v < 20; v++) {
		d = &ring_of(t, 2)[v % 16];
		d->src = IOVA_BASE + SRC_OFF + v * 256;
		d->dst = IOVA_BASE + DST_OFF + v * 256;
		d->len = 256;
		d->op = EMU_DMA_OP_COPY;
		d->flags = 0;
		d->status = 0;
		if (v % 16 == 15 || v == 19) {
			uint32_t db = v + 1, done = 0;

			rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_DOORBELL, &db, 4);
			end = now_ms() + WAIT_MS;
			do {
				rte_vfio_user_region_read(cid, 0, base + EMU_DMA_CHAN_COMPLETED,
					&done, 4);
			} while (done != db && now_ms() < end);
			TEST_ASSERT_EQUAL(done, db, "COMPLETED by message");
		}
	}
	TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF, t->mem + DST_OFF, 20 * 256), "data");
	v = 0;
	rte_vfio_user_region_write(cid, 0, base + EMU_DMA_CHAN_CTRL, &v, 4);
	return wait_reg(t, base + EMU_DMA_CHAN_STATUS, ~0u, 0);
}

static int
check_reset_state(struct tdma *t)
{
	unsigned int c;

	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_DEV_CTRL), 0, "DEV_CTRL");
	TEST_ASSERT_EQUAL(rd(t, EMU_DMA_REG_MAGIC), EMU_DMA_MAGIC_VALUE, "MAGIC");
	for (c = 0; c < NB_CHAN; c++) {
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_CTRL), 0, "CTRL %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_RING_LO), 0, "RING_LO %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_RING_SIZE), 0, "RING_SIZE %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_DOORBELL), 0, "DOORBELL %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_COMPLETED), 0, "COMPLETED %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_IRQ_VECTOR), c, "IRQ_VECTOR %u", c);
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_STATUS) & ~EMU_DMA_CHAN_STATUS_BUSY, 0,
			"STATUS %u", c);
	}
	return TEST_SUCCESS;
}

/* Several channels busy with long work. */
static int
load_channels(struct tdma *t, unsigned int nr)
{
	unsigned int c, i;

	for (c = 0; c < NB_CHAN; c++) {
		TEST_ASSERT_EQUAL(chan_start(t, c, IOVA_BASE + RING_OFF(c), RING_SIZE,
			EMU_DMA_CHAN_CTRL_IRQ_ENABLE), EMU_DMA_CHAN_STATUS_ACTIVE, "start %u", c);
		for (i = 0; i < nr; i++)
			put_desc(t, c, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF,
				IOVA_BASE + DST_OFF + c * 0x40000, 0x40000, EMU_DMA_DESC_FLAG_IRQ);
		ring_doorbell(t, c);
	}
	return TEST_SUCCESS;
}

static int
test_reset(void)
{
	struct tdma *t = &dev_a;
	uint16_t cmd = PCI_COMMAND_MASTER;
	static const uint32_t lens[] = { 512 };

	/* DEV_CTRL.RESET while channels run. */
	TEST_ASSERT_SUCCESS(load_channels(t, 200), "load");
	wr(t, EMU_DMA_REG_DEV_CTRL, EMU_DMA_DEV_CTRL_RESET);
	TEST_ASSERT_SUCCESS(wait_reg(t, EMU_DMA_REG_DEV_CTRL, ~0u, 0), "reset done");
	TEST_ASSERT_SUCCESS(check_reset_state(t), "after DEV_CTRL reset");
	TEST_ASSERT_SUCCESS(check_copy(t, 0, lens, 1), "works after DEV_CTRL reset");

	/* VFIO_USER_DEVICE_RESET: engine and config space. */
	rte_vfio_user_region_write(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2);
	TEST_ASSERT_SUCCESS(load_channels(t, 200), "load");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(t->cid), "device reset");
	TEST_ASSERT_SUCCESS(check_reset_state(t), "after DEVICE_RESET");
	cmd = 0xffff;
	rte_vfio_user_region_read(t->cid, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2);
	TEST_ASSERT_EQUAL(cmd, 0, "command register reset");
	return check_copy(t, 1, lens, 1);
}

/* Unmap the DMA memory under running channels, then map it back. */
static int
test_unmap_running(void)
{
	struct tdma *t = &dev_a;
	struct rte_vfio_user_mem_reg mr = { .iova = IOVA_BASE, .size = MEM_SIZE };
	static const uint32_t lens[] = { 4096, 64 };
	unsigned int c;

	TEST_ASSERT_SUCCESS(load_channels(t, 250), "load");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(t->cid, &mr, 1), "unmap");
	/* Every channel loses its ring. */
	for (c = 0; c < NB_CHAN; c++) {
		const uint32_t re = EMU_DMA_CHAN_STATUS_RING_ERROR;

		if (wait_reg(t, EMU_DMA_CHAN_BASE(c) + EMU_DMA_CHAN_STATUS, re, re) == 0)
			continue;
		/* Or it had finished its ring before the unmap. */
		TEST_ASSERT_EQUAL(crd(t, c, EMU_DMA_CHAN_COMPLETED), t->posted[c],
			"channel %u neither failed nor done", c);
	}
	for (c = 0; c < NB_CHAN; c++)
		TEST_ASSERT_SUCCESS(chan_stop(t, c), "stop %u", c);
	/* Descriptors of a ring outside any mapping are refused now. */
	TEST_ASSERT_EQUAL(chan_start(t, 0, IOVA_BASE + RING_OFF(0), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_RING_ERROR, "ring unmapped");
	TEST_ASSERT_SUCCESS(chan_stop(t, 0), "stop");
	mr.prot = PROT_READ | PROT_WRITE;
	mr.vaddr = t->mem;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(t->cid, &mr, &t->memfd, 1), "map again");
	return check_copy(t, 0, lens, RTE_DIM(lens));
}

/* Memory mapped read-only or without an fd: errors, not crashes. */
static int
test_prot_and_nofd(void)
{
	struct tdma *t = &dev_a;
	struct rte_vfio_user_mem_reg mr[2];
	int fds[2] = { t->memfd, -1 };
	struct emu_dma_desc *d[4];
	const uint64_t ro = UINT64_C(0x80000000), nofd = UINT64_C(0x90000000);

	memset(mr, 0, sizeof(mr));
	mr[0].iova = ro;
	mr[0].size = 0x10000;
	mr[0].fd_offset = SRC_OFF;
	mr[0].prot = PROT_READ;
	mr[0].vaddr = t->mem + SRC_OFF;
	mr[1].iova = nofd;
	mr[1].size = 0x10000;
	mr[1].prot = PROT_READ | PROT_WRITE;
	mr[1].vaddr = t->mem + SRC_OFF;
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(t->cid, mr, fds, 2), "map");
	tdev_fill(t->mem + SRC_OFF, 0x10000, 21);
	memset(t->mem + DST_OFF, 0, 4096);
	TEST_ASSERT_EQUAL(chan_start(t, 1, IOVA_BASE + RING_OFF(1), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "start");
	d[0] = put_desc(t, 1, EMU_DMA_OP_COPY, ro, IOVA_BASE + DST_OFF, 1024, 0);
	d[1] = put_desc(t, 1, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, ro, 1024, 0);
	d[2] = put_desc(t, 1, EMU_DMA_OP_COPY, nofd, IOVA_BASE + DST_OFF, 1024, 0);
	d[3] = put_desc(t, 1, EMU_DMA_OP_FILL, 0, nofd, 1024, 0);
	ring_doorbell(t, 1);
	TEST_ASSERT_SUCCESS(wait_done(t, 1), "done");
	TEST_ASSERT_EQUAL(desc_status(d[0]), EMU_DMA_STATUS_SUCCESS, "read from RO window");
	TEST_ASSERT_SUCCESS(memcmp(t->mem + SRC_OFF, t->mem + DST_OFF, 1024), "data");
	TEST_ASSERT_EQUAL(desc_status(d[1]), EMU_DMA_STATUS_ERR_DST, "write to RO window");
	TEST_ASSERT_EQUAL(desc_status(d[2]), EMU_DMA_STATUS_ERR_SRC, "window without fd");
	TEST_ASSERT_EQUAL(desc_status(d[3]), EMU_DMA_STATUS_ERR_DST, "window without fd");
	TEST_ASSERT_SUCCESS(chan_stop(t, 1), "stop");
	/* A ring in the read-only window is refused. */
	TEST_ASSERT_EQUAL(chan_start(t, 1, ro, 64, 0), EMU_DMA_CHAN_STATUS_RING_ERROR,
		"ring in RO window");
	TEST_ASSERT_SUCCESS(chan_stop(t, 1), "stop");
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_unmap(t->cid, mr, 2), "unmap");
	return TEST_SUCCESS;
}

/* Random register values and ring contents on device A while B copies. */
static int
test_hostile(void)
{
	struct tdma *t = &dev_a, *b = &dev_b;
	uint32_t x = 12345, i, k;
	static const uint32_t lens[] = { 4096, 65536, 3 };

	TEST_ASSERT_EQUAL(chan_start(b, 0, IOVA_BASE + RING_OFF(0), RING_SIZE, 0),
		EMU_DMA_CHAN_STATUS_ACTIVE, "B start");
	for (k = 0; k < 20; k++) {
		/* Garbage descriptors in every ring slot of A. */
		for (i = 0; i < 4 * 0x4000 / 4; i++) {
			x = x * 1103515245u + 12345u;
			((uint32_t *)t->mem)[i] = x;
			/* Some plausible addresses too. */
			if ((x & 7) == 0)
				((uint32_t *)t->mem)[i] = (uint32_t)IOVA_BASE + (x & 0x7fffff);
			if ((x & 15) == 1)
				((uint32_t *)t->mem)[i] = 0;
		}
		for (i = 0; i < EMU_DMA_CTRL_BAR_SIZE / 4; i++) {
			x = x * 1103515245u + 12345u;
			t->bar[i] = x;
		}
		/* Sometimes make the rings valid so the garbage gets run. */
		for (i = 0; i < NB_CHAN; i++) {
			x = x * 1103515245u + 12345u;
			if (x & 1) {
				cwr(t, i, EMU_DMA_CHAN_RING_LO,
					(uint32_t)(IOVA_BASE + RING_OFF(i)));
				cwr(t, i, EMU_DMA_CHAN_RING_HI, 0);
				cwr(t, i, EMU_DMA_CHAN_RING_SIZE, 256);
				cwr(t, i, EMU_DMA_CHAN_CTRL, 0);
				rte_delay_us(200);
				cwr(t, i, EMU_DMA_CHAN_CTRL, 3);
			}
		}
		wr(t, EMU_DMA_REG_DEV_CTRL, 0);
		/* Meanwhile device B must be unaffected. */
		b->posted[0] = crd(b, 0, EMU_DMA_CHAN_COMPLETED);
		tdev_fill(b->mem + SRC_OFF, 65536, k);
		put_desc(b, 0, EMU_DMA_OP_COPY, IOVA_BASE + SRC_OFF, IOVA_BASE + DST_OFF,
			65536, 0);
		ring_doorbell(b, 0);
		TEST_ASSERT_SUCCESS(wait_done(b, 0), "B done");
		TEST_ASSERT_SUCCESS(memcmp(b->mem + SRC_OFF, b->mem + DST_OFF, 65536), "B data");
		rte_delay_ms(2);
	}
	TEST_ASSERT_SUCCESS(chan_stop(b, 0), "B stop");
	/* The engine restores its read-only registers and still works after a reset. */
	TEST_ASSERT_SUCCESS(wait_reg(t, EMU_DMA_REG_MAGIC, ~0u, EMU_DMA_MAGIC_VALUE), "MAGIC");
	TEST_ASSERT_SUCCESS(wait_reg(t, EMU_DMA_REG_NUM_CHANNELS, ~0u, NB_CHAN), "NUM");
	wr(t, EMU_DMA_REG_DEV_CTRL, EMU_DMA_DEV_CTRL_RESET);
	TEST_ASSERT_SUCCESS(wait_reg(t, EMU_DMA_REG_DEV_CTRL, ~0u, 0), "reset");
	TEST_ASSERT_SUCCESS(check_reset_state(t), "reset state");
	return check_copy(t, 2, lens, RTE_DIM(lens));
}

/* Disconnect with work in flight, reconnect: defaults, and it works. */
static int
test_disconnect(void)
{
	struct tdma *t = &dev_a;
	static const uint32_t lens[] = { 2048, 64 };
	unsigned int k;

	for (k = 0; k < 3; k++) {
		TEST_ASSERT_SUCCESS(load_channels(t, 250), "load");
		tdma_detach(t);
		TEST_ASSERT_SUCCESS(tdma_attach(t), "reattach");
		TEST_ASSERT_SUCCESS(check_reset_state(t), "defaults after reconnect");
	}
	return check_copy(t, 3, lens, RTE_DIM(lens));
}

static int
test_bad_devargs(void)
{
	char long_path[300];
	char args[400];
	char main_lc[128];
	static const char * const bad[] = {
		"",
		"channels=2",
		"path=",
		"path",
		"path=/x,channels=0",
		"path=/x,channels=17",
		"path=/x,channels=abc",
		"path=/x,channels=-1",
		"path=/x,channels=4x",
		"path=/x,service_core=9999",
		"path=/x,service_core=",
		"path=/x,foo=1",
		"path=/x,path=/y",
	};
	struct leak_snap before, after;
	unsigned int i, nsvc;
	int ret;

	leak_snap(&before);
	nsvc = rte_service_get_count();
	for (i = 0; i < RTE_DIM(bad); i++) {
		ret = rte_vdev_init("emu_dma_bad", bad[i]);
		TEST_ASSERT(ret < 0, "devargs \"%s\" accepted", bad[i]);
	}
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	snprintf(args, sizeof(args), "path=%s", long_path);
	TEST_ASSERT(rte_vdev_init("emu_dma_bad", args) < 0, "path too long accepted");
	snprintf(main_lc, sizeof(main_lc), "path=%s/main.sock,service_core=%u", sock_dir,
		rte_get_main_lcore());
	TEST_ASSERT(rte_vdev_init("emu_dma_bad", main_lc) < 0, "main lcore accepted");
	/* A path already served by device A. */
	snprintf(args, sizeof(args), "path=%s", dev_a.path);
	TEST_ASSERT(rte_vdev_init("emu_dma_bad", args) < 0, "path in use accepted");
	/* A socket directory that does not exist: start fails after register. */
	snprintf(args, sizeof(args), "path=%s/nodir/x.sock", sock_dir);
	TEST_ASSERT(rte_vdev_init("emu_dma_bad", args) < 0, "bad directory accepted");
	TEST_ASSERT_EQUAL(rte_service_get_count(), nsvc, "service leaked");
	TEST_ASSERT_SUCCESS(leak_wait(&before, 1000, &after), "fds %d -> %d, maps %d -> %d",
		before.fds, after.fds, before.maps, after.maps);

	/* A good one comes and goes without leaving anything behind. */
	snprintf(args, sizeof(args), "path=%s/tmp.sock,channels=16", sock_dir);
	TEST_ASSERT_SUCCESS(rte_vdev_init("emu_dma_tmp", args), "good devargs");
	TEST_ASSERT_EQUAL(rte_service_get_count(), nsvc + 1, "service registered");
	TEST_ASSERT_SUCCESS(rte_vdev_uninit("emu_dma_tmp"), "uninit");
	TEST_ASSERT_EQUAL(rte_service_get_count(), nsvc, "service unregistered");
	TEST_ASSERT(access(args + 5, F_OK) != 0, "socket removed");
	TEST_ASSERT_SUCCESS(leak_wait(&before, 1000, &after), "fds %d -> %d, maps %d -> %d",
		before.fds, after.fds, before.maps, after.maps);
	return TEST_SUCCESS;
}

/* Removing a device with a client attached: the client sees errors, nothing crashes. */
static int
test_uninit_attached(void)
{
	char args[256], path[128];
	struct leak_snap before, after;
	uint32_t v = 0;
	int cid;

	leak_snap(&before);
	snprintf(path, sizeof(path), "%s/gone.sock", sock_dir);
	snprintf(args, sizeof(args), "path=%s,channels=1", path);
	TEST_ASSERT_SUCCESS(rte_vdev_init("emu_dma_gone", args), "init");
	cid = rte_vfio_user_attach_dev(path);
	TEST_ASSERT(cid >= 0, "attach");
	TEST_ASSERT_EQUAL(rte_vfio_user_region_read(cid, 0, 0, &v, 4), 4, "read");
	TEST_ASSERT_EQUAL(v, EMU_DMA_MAGIC_VALUE, "MAGIC");
	TEST_ASSERT_SUCCESS(rte_vdev_uninit("emu_dma_gone"), "uninit with a client");
	TEST_ASSERT(rte_vfio_user_region_read(cid, 0, 0, &v, 4) < 0, "server gone");
	rte_vfio_user_detach_dev(cid);
	TEST_ASSERT_SUCCESS(leak_wait(&before, 2000, &after), "fds %d -> %d, maps %d -> %d",
		before.fds, after.fds, before.maps, after.maps);
	return TEST_SUCCESS;
}

/* Each case starts from a reset device A with a client attached. */
/*
 * A second device on device A's service lcore: removing it must leave the
 * lcore running for A.
 */
static int
test_shared_service_lcore(void)
{
	static const uint32_t lens[] = { 1000, 3000 };
	struct tdma c = { .cid = -1, .memfd = -1 };
	int lc = a_service_lcore;
	int ret;

	if (lc < 0) {
		printf("no service lcore in use, skipped\n");
		return TEST_SKIPPED;
	}
	TEST_ASSERT_SUCCESS(tdma_create(&c, "emu_dma_c", lc), "second device on lcore %d", lc);
	ret = tdma_attach(&c);
	if (ret == TEST_SUCCESS)
		ret = check_copy(&c, 0, lens, RTE_DIM(lens));
	tdma_detach(&c);
	tdma_free_mem(&c);
	TEST_ASSERT_SUCCESS(rte_vdev_uninit("emu_dma_c"), "uninit");
	TEST_ASSERT_SUCCESS(ret, "device C works");
	TEST_ASSERT_EQUAL(rte_service_lcore_may_be_active(lc), 1, "lcore %d still serving", lc);
	/* Device A is still polled. */
	return check_copy(&dev_a, 1, lens, RTE_DIM(lens));
}

static int
case_setup(void)
{
	if (dev_a.cid < 0 && tdma_attach(&dev_a) != TEST_SUCCESS)
		return TEST_FAILED;
	wr(&dev_a, EMU_DMA_REG_DEV_CTRL, EMU_DMA_DEV_CTRL_RESET);
	if (wait_reg(&dev_a, EMU_DMA_REG_DEV_CTRL, ~0u, 0) < 0)
		return TEST_FAILED;
	memset(dev_a.posted, 0, sizeof(dev_a.posted));
	return TEST_SUCCESS;
}

static int
suite_setup(void)
{
	int svc = -1;
	unsigned int lc;

	strlcpy(sock_dir, "/tmp/emu_dma_test.XXXXXX", sizeof(sock_dir));
	if (mkdtemp(sock_dir) == NULL)
		return TEST_FAILED;
	poll_stop = false;
	poll_nr_sids = 0;
	if (pthread_create(&poll_tid, NULL, poll_thread, NULL) != 0)
		return TEST_FAILED;
	poll_running = true;
	/* Device A on a service lcore of its own when there is a worker lcore. */
	RTE_LCORE_FOREACH_WORKER(lc) {
		svc = (int)lc;
		break;
	}
	if (svc < 0)
		printf("no worker lcore: both devices polled by an app thread\n");
	a_service_lcore = svc;
	if (tdma_create(&dev_a, "emu_dma_a", svc) < 0 ||
			tdma_create(&dev_b, "emu_dma_b", -1) < 0)
		return TEST_FAILED;
	if (tdma_attach(&dev_a) != TEST_SUCCESS || tdma_attach(&dev_b) != TEST_SUCCESS)
		return TEST_FAILED;
	return TEST_SUCCESS;
}

static void
suite_teardown(void)
{
	struct tdma *ts[] = { &dev_a, &dev_b };
	char path[128];
	unsigned int i;

	for (i = 0; i < RTE_DIM(ts); i++)
		tdma_detach(ts[i]);
	/* Stop app polling before removing the devices it polls. */
	if (poll_running) {
		poll_stop = true;
		pthread_join(poll_tid, NULL);
		poll_running = false;
	}
	for (i = 0; i < RTE_DIM(ts); i++) {
		if (ts[i]->name[0] != '\0')
			rte_vdev_uninit(ts[i]->name);
		tdma_free_mem(ts[i]);
		ts[i]->name[0] = '\0';
	}
	snprintf(path, sizeof(path), "%s/nodir", sock_dir);
	rmdir(path);
	rmdir(sock_dir);
}

static struct unit_test_suite emu_dma_suite = {
	.suite_name = "emulated DMA engine",
	.setup = suite_setup,
	.teardown = suite_teardown,
	.unit_test_cases = {
		TEST_CASE_ST(case_setup, NULL, test_identity),
		TEST_CASE_ST(case_setup, NULL, test_copy),
		TEST_CASE_ST(case_setup, NULL, test_copy_max),
		TEST_CASE_ST(case_setup, NULL, test_fill),
		TEST_CASE_ST(case_setup, NULL, test_desc_errors),
		TEST_CASE_ST(case_setup, NULL, test_ring_errors),
		TEST_CASE_ST(case_setup, NULL, test_multi_channel),
		TEST_CASE_ST(case_setup, NULL, test_msix),
		TEST_CASE_ST(case_setup, NULL, test_message_path),
		TEST_CASE_ST(case_setup, NULL, test_reset),
		TEST_CASE_ST(case_setup, NULL, test_unmap_running),
		TEST_CASE_ST(case_setup, NULL, test_prot_and_nofd),
		TEST_CASE_ST(case_setup, NULL, test_hostile),
		TEST_CASE_ST(case_setup, NULL, test_disconnect),
		TEST_CASE_ST(case_setup, NULL, test_bad_devargs),
		TEST_CASE_ST(case_setup, NULL, test_uninit_attached),
		TEST_CASE_ST(case_setup, NULL, test_shared_service_lcore),
		TEST_CASES_END(),
	},
};

static int
test_emu_dma(void)
{
	return unit_test_suite_runner(&emu_dma_suite);
}

REGISTER_TEST_COMMAND(emu_dma_autotest, test_emu_dma);

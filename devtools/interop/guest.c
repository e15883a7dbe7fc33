/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Guest side of the QEMU interop test (devtools/interop.sh). Built
 * statically on the host and run as root by the initramfs of a Linux guest
 * whose PCI bus holds the dpdk-vfio-user-emu copy engine (and, when given,
 * the emu_dma engine) through QEMU's vfio-user-pci.
 *
 * Every check prints one line on the console:
 *   INTEROP PASS <name>: <detail>
 *   INTEROP FAIL <name>: <detail>
 *   INTEROP SKIP <name>: <reason>
 * and the program ends with "INTEROP DONE <passed> passed, <failed> failed".
 *
 * No kernel driver knows the device: config space, BARs and IRQ files come
 * from sysfs; interrupts use uio_pci_generic (INTx); DMA addresses are the
 * guest-physical addresses of locked pages, read from /proc/self/pagemap.
 */

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "vfio_user_engine.h"
#include "emu_dma_regs.h"

#define PAGE_SZ 4096u
/* Generous: the guest runs under TCG on a possibly busy CI machine. */
#define IRQ_TIMEOUT_MS 20000
#define POLL_TRIES 2000 /* of 10 ms */

static unsigned int passed, failed;

static bool
check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("INTEROP %s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

static void
skip(const char *name, const char *reason)
{
	printf("INTEROP SKIP %s: %s\n", name, reason);
	fflush(stdout);
}

static int
read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static unsigned long
read_hex(const char *dir, const char *file)
{
	char path[512], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return ~0ul;
	return strtoul(buf, NULL, 16);
}

/* The sysfs directory of the first function with these ids, or NULL. */
static char *
find_dev(unsigned int vendor, unsigned int device)
{
	static char found[8][300];
	static unsigned int nfound;
	const char *base = "/sys/bus/pci/devices";
	struct dirent *e;
	DIR *d = opendir(base);
	char *res = NULL;

	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL && res == NULL) {
		char dir[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
		if (read_hex(dir, "vendor") == vendor && read_hex(dir, "device") == device &&
				nfound < 8) {
			snprintf(found[nfound], sizeof(found[nfound]), "%s", dir);
			res = found[nfound++];
		}
	}
	closedir(d);
	return res;
}

struct pdev {
	const char *dir;
	int cfg_fd;
	uint8_t cfg[256];
};

static uint16_t
cfg16(const struct pdev *p, unsigned int off)
{
	return p->cfg[off] | (p->cfg[off + 1] << 8);
}

static uint32_t
cfg32(const struct pdev *p, unsigned int off)
{
	return cfg16(p, off) | ((uint32_t)cfg16(p, off + 2) << 16);
}

static int
cfg_load(struct pdev *p)
{
	return pread(p->cfg_fd, p->cfg, sizeof(p->cfg), 0) == sizeof(p->cfg) ? 0 : -1;
}

static int
cfg_write16(struct pdev *p, unsigned int off, uint16_t v)
{
	uint8_t b[2] = { v & 0xff, v >> 8 };

	return pwrite(p->cfg_fd, b, 2, off) == 2 ? 0 : -1;
}

static int
pdev_open(struct pdev *p, const char *dir)
{
	char path[512];

	p->dir = dir;
	snprintf(path, sizeof(path), "%s/config", dir);
	p->cfg_fd = open(path, O_RDWR);
	if (p->cfg_fd < 0)
		return -1;
	return cfg_load(p);
}

/* Bus master on or off through the command register. */
static int
set_master(struct pdev *p, bool on)
{
	uint16_t cmd;

	if (cfg_load(p) < 0)
		return -1;
	cmd = cfg16(p, PCI_COMMAND) | PCI_COMMAND_MEMORY;
	cmd = on ? (cmd | PCI_COMMAND_MASTER) : (cmd & ~PCI_COMMAND_MASTER);
	return cfg_write16(p, PCI_COMMAND, cmd);
}

/*
 * uio_pci_generic masks INTx in the command register when it fires and has
 * no irqcontrol: user space unmasks through config space.
 */
static int
intx_unmask(struct pdev *p)
{
	if (cfg_load(p) < 0)
		return -1;
	return cfg_write16(p, PCI_COMMAND, cfg16(p, PCI_COMMAND) & ~PCI_COMMAND_INTX_DISABLE);
}

/* Start, size and flags of a BAR from the sysfs resource file. */
static int
bar_resource(const struct pdev *p, unsigned int bar, uint64_t *size, uint64_t *flags)
{
	char path[512], buf[1024];
	uint64_t start, end, fl;
	char *line = buf;
	unsigned int i;

	snprintf(path, sizeof(path), "%s/resource", p->dir);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	for (i = 0; i < bar && line != NULL; i++) {
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (line == NULL ||
			sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &fl) != 3)
		return -1;
	*size = start == 0 && end == 0 ? 0 : end - start + 1;
	*flags = fl;
	return 0;
}

static volatile uint8_t *
bar_map(const struct pdev *p, unsigned int bar, size_t len)
{
	char path[512];
	void *va;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%u", p->dir, bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return va == MAP_FAILED ? NULL : va;
}

static uint32_t
rd32(volatile uint8_t *bar, unsigned int off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void
wr32(volatile uint8_t *bar, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

/* Guest-physical address of a locked, touched page (root only). */
static uint64_t
virt_to_phys(const void *va)
{
	uint64_t ent, vpn = (uintptr_t)va / PAGE_SZ;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, &ent, sizeof(ent), vpn * sizeof(ent));
	close(fd);
	if (n != sizeof(ent) || !(ent & (UINT64_C(1) << 63)))
		return 0;
	ent &= (UINT64_C(1) << 55) - 1;
	return ent * PAGE_SZ + (uintptr_t)va % PAGE_SZ;
}

/* Pages locked in RAM, with their physical addresses. */
static uint8_t *
dma_pages(unsigned int n, uint64_t *pa)
{
	uint8_t *va = mmap(NULL, n * PAGE_SZ, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int i;

	if (va == MAP_FAILED)
		return NULL;
	if (mlock(va, n * PAGE_SZ) < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		va[i * PAGE_SZ] = 1;
		pa[i] = virt_to_phys(va + i * PAGE_SZ);
		if (pa[i] == 0)
			return NULL;
	}
	return va;
}

static uint32_t
adler32(const uint8_t *p, size_t len)
{
	uint32_t a = 1, b = 0;

	while (len--) {
		a = (a + *p++) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

static void
fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
}

/* Sum of the counts of the /proc/interrupts line naming this driver. */
static long
irq_count(const char *name)
{
	char buf[16384], *line, *save = NULL;
	long total = -1;

	if (read_text("/proc/interrupts", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *p = strchr(line, ':');

		if (p == NULL || strstr(line, name) == NULL)
			continue;
		total = 0;
		for (p++;;) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			total += v;
			p = end;
		}
		break;
	}
	return total;
}

static void
print_irq_line(const char *name)
{
	char buf[16384], *line, *save = NULL;

	if (read_text("/proc/interrupts", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, name) != NULL)
			printf("INTEROP INFO /proc/interrupts:%s\n", line);
}

/*
 * Copy engine (examples/vfio_user_emu).
 */

static void
engine_ids(struct pdev *p)
{
	uint64_t size, flags;
	unsigned int pos, guard = 0;
	bool msix = false, vndr = false;

	check(read_hex(p->dir, "vendor") == ENGINE_VENDOR_ID &&
		read_hex(p->dir, "device") == ENGINE_DEVICE_ID, "engine.ids",
		"sysfs vendor 0x%04lx device 0x%04lx", read_hex(p->dir, "vendor"),
		read_hex(p->dir, "device"));
	check(read_hex(p->dir, "class") == ENGINE_CLASS &&
		p->cfg[PCI_REVISION_ID] == ENGINE_REVISION, "engine.class",
		"class 0x%06lx revision %u", read_hex(p->dir, "class"), p->cfg[PCI_REVISION_ID]);
	check(cfg16(p, PCI_SUBSYSTEM_VENDOR_ID) == ENGINE_VENDOR_ID &&
		cfg16(p, PCI_SUBSYSTEM_ID) == ENGINE_DEVICE_ID, "engine.subsystem",
		"config space subsystem %04x:%04x", cfg16(p, PCI_SUBSYSTEM_VENDOR_ID),
		cfg16(p, PCI_SUBSYSTEM_ID));

	if (bar_resource(p, 0, &size, &flags) == 0)
		check(size == ENGINE_BAR0_SIZE && (flags & 0x200) && !(flags & 0x00100000) &&
			!(flags & 0x2000) && (cfg32(p, PCI_BASE_ADDRESS_0) & 0x7) == 0,
			"engine.bar0", "size 0x%" PRIx64 " resource flags 0x%" PRIx64
			" (32-bit memory, not prefetchable)", size, flags);
	else
		check(false, "engine.bar0", "no resource line");
	if (bar_resource(p, 1, &size, &flags) == 0)
		check(size == 0x10000 && (flags & 0x200) && (flags & 0x00100000) &&
			(flags & 0x2000) && (cfg32(p, PCI_BASE_ADDRESS_1) & 0xf) == 0xc,
			"engine.bar1", "size 0x%" PRIx64 " resource flags 0x%" PRIx64
			" (64-bit prefetchable memory)", size, flags);
	else
		check(false, "engine.bar1", "no resource line");

	check(cfg16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST, "engine.caplist",
		"status 0x%04x, capability pointer 0x%02x", cfg16(p, PCI_STATUS),
		p->cfg[PCI_CAPABILITY_LIST]);
	for (pos = p->cfg[PCI_CAPABILITY_LIST] & ~3u; pos >= 0x40 && pos < 0xff && guard < 48;
			pos = p->cfg[pos + PCI_CAP_LIST_NEXT] & ~3u, guard++) {
		uint8_t id = p->cfg[pos];

		printf("INTEROP INFO engine capability 0x%02x at 0x%02x\n", id, pos);
		if (id == PCI_CAP_ID_MSIX) {
			uint16_t ctl = cfg16(p, pos + PCI_MSIX_FLAGS);
			uint32_t tbl = cfg32(p, pos + PCI_MSIX_TABLE);
			uint32_t pba = cfg32(p, pos + PCI_MSIX_PBA);

			msix = check((ctl & PCI_MSIX_FLAGS_QSIZE) + 1 == ENGINE_MSIX_VECTORS &&
				tbl == (ENGINE_MSIX_TABLE | ENGINE_MSIX_BIR) &&
				pba == (ENGINE_MSIX_PBA | ENGINE_MSIX_BIR), "engine.msix",
				"MSI-X at 0x%02x: %u vectors, table BAR%u+0x%x, PBA BAR%u+0x%x",
				pos, (ctl & PCI_MSIX_FLAGS_QSIZE) + 1, tbl & 7, tbl & ~7u,
				pba & 7, pba & ~7u);
		} else if (id == PCI_CAP_ID_VNDR) {
			vndr = check(cfg32(p, pos + 4) == ENGINE_VERSION &&
				cfg32(p, pos + 8) == ENGINE_MAX_LEN, "engine.vendor-cap",
				"vendor capability at 0x%02x: version 0x%08x max length %u", pos,
				cfg32(p, pos + 4), cfg32(p, pos + 8));
		}
	}
	if (!msix)
		check(false, "engine.msix", "no MSI-X capability");
	if (!vndr)
		check(false, "engine.vendor-cap", "no vendor capability");
	check(p->cfg[PCI_INTERRUPT_PIN] == 1, "engine.intx-pin", "interrupt pin %u, line %u",
		p->cfg[PCI_INTERRUPT_PIN], p->cfg[PCI_INTERRUPT_LINE]);
}

static void
engine_bars(struct pdev *p, volatile uint8_t *bar0, volatile uint8_t *bar1)
{
	const struct engine_banner *b = (const void *)(bar1 + ENGINE_BAR1_BANNER);
	uint32_t v;

	check(rd32(bar0, ENGINE_REG_ID) == ENGINE_ID_VALUE &&
		rd32(bar0, ENGINE_REG_VERSION) == ENGINE_VERSION, "engine.bar0-id",
		"ID 0x%08x VERSION 0x%08x", rd32(bar0, ENGINE_REG_ID),
		rd32(bar0, ENGINE_REG_VERSION));
	wr32(bar0, ENGINE_REG_SCRATCH, 0xc0ffee42);
	v = rd32(bar0, ENGINE_REG_SCRATCH);
	wr32(bar0, ENGINE_REG_ID, 0x12345678);
	check(v == 0xc0ffee42 && rd32(bar0, ENGINE_REG_ID) == ENGINE_ID_VALUE,
		"engine.bar0-rw", "SCRATCH wrote 0xc0ffee42 read 0x%08x; ID stays read-only", v);
	wr32(bar0, ENGINE_REG_LEN, 0x1234);
	wr32(bar0, ENGINE_REG_SRC + 4, 0xabcd);
	check(rd32(bar0, ENGINE_REG_LEN) == 0x1234 && rd32(bar0, ENGINE_REG_SRC + 4) == 0xabcd,
		"engine.bar0-regs", "LEN 0x%x SRC_HI 0x%x", rd32(bar0, ENGINE_REG_LEN),
		rd32(bar0, ENGINE_REG_SRC + 4));

	/* BAR1: first half through region messages, second half mapped from the memfd. */
	wr32(bar1, 0x100, 0x5a5aa5a5);
	wr32(bar1, 0x7ffc, 0x01020304);
	check(rd32(bar1, 0x100) == 0x5a5aa5a5 && rd32(bar1, 0x7ffc) == 0x01020304,
		"engine.bar1-rw", "plain memory read back 0x%08x 0x%08x", rd32(bar1, 0x100),
		rd32(bar1, 0x7ffc));
	check(b->magic == ENGINE_BANNER_MAGIC &&
		strncmp((const char *)b->text, "hello from dpdk-vfio-user-emu", 56) == 0,
		"engine.bar1-banner", "magic 0x%08x text \"%.56s\" copies %u", b->magic,
		(const char *)b->text, b->copies);
	(void)p;
}

/* Wait until the uio device reports an interrupt; returns its count or -1. */
static long
uio_wait(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint32_t cnt;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	if (read(fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return -1;
	return cnt;
}

static int
uio_open(const struct pdev *p, char *name, size_t len)
{
	char path[512];
	struct dirent *e;
	DIR *d;
	int fd = -1;

	snprintf(path, sizeof(path), "%s/uio", p->dir);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "uio", 3) != 0)
			continue;
		snprintf(name, len, "%s", e->d_name);
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		fd = open(path, O_RDWR);
		break;
	}
	closedir(d);
	return fd;
}

static void
engine_dma(struct pdev *p, volatile uint8_t *bar0, volatile uint8_t *bar1)
{
	const struct engine_banner *b = (const void *)(bar1 + ENGINE_BAR1_BANNER);
	uint64_t pa[2];
	uint8_t *va = dma_pages(2, pa);
	uint8_t *src, *dst;
	uint32_t count0, st, i;
	bool ok;

	if (!check(va != NULL, "engine.dma-pages", "source page 0x%" PRIx64
			", destination page 0x%" PRIx64 " (from /proc/self/pagemap)",
			va ? pa[0] : 0, va ? pa[1] : 0))
		return;
	src = va;
	dst = va + PAGE_SZ;
	fill(src, PAGE_SZ, 0x1234);
	memset(dst, 0xee, PAGE_SZ);

	/* Bus mastering off: the engine must refuse. */
	set_master(p, false);
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	wr32(bar0, ENGINE_REG_CTRL, 0);
	wr32(bar0, ENGINE_REG_SRC, (uint32_t)pa[0]);
	wr32(bar0, ENGINE_REG_SRC + 4, pa[0] >> 32);
	wr32(bar0, ENGINE_REG_DST, (uint32_t)(pa[1] + 1024));
	wr32(bar0, ENGINE_REG_DST + 4, pa[1] >> 32);
	wr32(bar0, ENGINE_REG_LEN, 2048);
	wr32(bar0, ENGINE_REG_DOORBELL, 1);
	st = rd32(bar0, ENGINE_REG_STATUS);
	check((st & ENGINE_STATUS_ERROR) && rd32(bar0, ENGINE_REG_ERROR) == EPERM &&
		dst[1024] == 0xee, "engine.dma-no-master",
		"status 0x%x error %u with bus mastering off", st, rd32(bar0, ENGINE_REG_ERROR));

	set_master(p, true);
	count0 = rd32(bar0, ENGINE_REG_COUNT);
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	wr32(bar0, ENGINE_REG_DOORBELL, 1);
	st = rd32(bar0, ENGINE_REG_STATUS);
	ok = true;
	for (i = 0; i < PAGE_SZ; i++) {
		uint8_t want = (i >= 1024 && i < 3072) ? src[i - 1024] : 0xee;

		if (dst[i] != want) {
			ok = false;
			break;
		}
	}
	check(st == ENGINE_STATUS_DONE && ok, "engine.dma-copy",
		"2048 bytes 0x%" PRIx64 " -> 0x%" PRIx64 ": status 0x%x, %s", pa[0], pa[1] + 1024,
		st, ok ? "destination matches, bytes around it untouched" :
		"destination differs");
	check(rd32(bar0, ENGINE_REG_CSUM) == adler32(src, 2048) &&
		rd32(bar0, ENGINE_REG_COUNT) == count0 + 1 && b->copies == count0 + 1,
		"engine.dma-csum", "adler32 0x%08x (guest computes 0x%08x), COUNT %u, banner %u",
		rd32(bar0, ENGINE_REG_CSUM), adler32(src, 2048), rd32(bar0, ENGINE_REG_COUNT),
		b->copies);

	/* An address QEMU never mapped: the device model reports the fault. */
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	wr32(bar0, ENGINE_REG_SRC, 0);
	wr32(bar0, ENGINE_REG_SRC + 4, 0x7000);
	wr32(bar0, ENGINE_REG_DOORBELL, 1);
	st = rd32(bar0, ENGINE_REG_STATUS);
	check((st & ENGINE_STATUS_ERROR) && rd32(bar0, ENGINE_REG_ERROR) == EFAULT,
		"engine.dma-unmapped", "source 0x700000000000: status 0x%x error %u", st,
		rd32(bar0, ENGINE_REG_ERROR));
	munmap(va, 2 * PAGE_SZ);
}

static void
engine_irq(struct pdev *p, volatile uint8_t *bar0)
{
	uint64_t pa[2];
	uint8_t *va = dma_pages(2, pa);
	char name[300] = "";
	long before, after, n1, n2;
	int fd;

	if (write_text("/sys/bus/pci/drivers/uio_pci_generic/new_id", "7e57 0001") < 0) {
		check(false, "engine.intx", "uio_pci_generic not loaded");
		return;
	}
	fd = uio_open(p, name, sizeof(name));
	if (!check(fd >= 0 && va != NULL, "engine.uio-bind",
			"uio_pci_generic bound, /dev/%s", name))
		return;
	set_master(p, true);
	before = irq_count("uio_pci_generic");
	wr32(bar0, ENGINE_REG_SRC, (uint32_t)pa[0]);
	wr32(bar0, ENGINE_REG_SRC + 4, pa[0] >> 32);
	wr32(bar0, ENGINE_REG_DST, (uint32_t)pa[1]);
	wr32(bar0, ENGINE_REG_DST + 4, pa[1] >> 32);
	wr32(bar0, ENGINE_REG_LEN, 512);
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	wr32(bar0, ENGINE_REG_CTRL, ENGINE_CTRL_IRQ_EN);

	/* Two rounds: interrupt, acknowledge in the device, unmask INTx. */
	intx_unmask(p);
	wr32(bar0, ENGINE_REG_DOORBELL, 1);
	n1 = uio_wait(fd, IRQ_TIMEOUT_MS);
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	intx_unmask(p);
	wr32(bar0, ENGINE_REG_DOORBELL, 1);
	n2 = uio_wait(fd, IRQ_TIMEOUT_MS);
	wr32(bar0, ENGINE_REG_STATUS, ENGINE_STATUS_DONE | ENGINE_STATUS_ERROR);
	wr32(bar0, ENGINE_REG_CTRL, 0);
	after = irq_count("uio_pci_generic");
	print_irq_line("uio_pci_generic");
	check(n1 >= 1 && n2 > n1, "engine.intx", "uio event counts %ld then %ld", n1, n2);
	check(before >= 0 && after >= before + 2, "engine.proc-interrupts",
		"uio_pci_generic line in /proc/interrupts: %ld -> %ld", before, after);
	close(fd);
}

static void
test_engine(void)
{
	char *dir = find_dev(ENGINE_VENDOR_ID, ENGINE_DEVICE_ID);
	volatile uint8_t *bar0, *bar1;
	struct pdev p;

	if (!check(dir != NULL, "engine.found", "7e57:0001 at %s", dir ? dir : "(none)"))
		return;
	if (!check(pdev_open(&p, dir) == 0, "engine.config", "256 bytes of config space read"))
		return;
	engine_ids(&p);
	set_master(&p, false);
	bar0 = bar_map(&p, 0, ENGINE_BAR0_SIZE);
	bar1 = bar_map(&p, 1, 0x10000);
	if (!check(bar0 != NULL && bar1 != NULL, "engine.bar-mmap", "resource0 and resource1 "
			"mapped"))
		return;
	engine_bars(&p, bar0, bar1);
	engine_dma(&p, bar0, bar1);
	engine_irq(&p, bar0);
}

/*
 * emu_dma engine (drivers/emu/dma), when the VM has one.
 */

static void
test_emu_dma(bool expected)
{
	char *dir = find_dev(EMU_DMA_VENDOR_ID, EMU_DMA_DEVICE_ID);
	volatile struct emu_dma_desc *ring;
	volatile uint8_t *bar0;
	uint64_t pa[4], size, flags;
	uint8_t *va, *src, *dst;
	unsigned int c = 0, i;
	const uint64_t pattern = UINT64_C(0x0123456789abcdef);
	uint32_t base, st;
	struct pdev p;
	bool ok;

	if (dir == NULL) {
		if (expected)
			check(false, "emu_dma.found", "no 7e57:0002 device although QEMU has one");
		else
			skip("emu_dma", "no 7e57:0002 device in this VM");
		return;
	}
	check(true, "emu_dma.found", "7e57:0002 at %s", dir);
	if (!check(pdev_open(&p, dir) == 0, "emu_dma.config", "config space read"))
		return;
	check(read_hex(dir, "class") == EMU_DMA_CLASS &&
		p.cfg[PCI_REVISION_ID] == EMU_DMA_REVISION, "emu_dma.ids",
		"7e57:0002 at %s, class 0x%06lx revision %u", dir, read_hex(dir, "class"),
		p.cfg[PCI_REVISION_ID]);
	if (bar_resource(&p, EMU_DMA_CTRL_BAR, &size, &flags) < 0)
		size = 0;
	check(size == EMU_DMA_CTRL_BAR_SIZE, "emu_dma.bar0", "size 0x%" PRIx64, size);
	bar0 = bar_map(&p, EMU_DMA_CTRL_BAR, EMU_DMA_CTRL_BAR_SIZE);
	if (!check(bar0 != NULL, "emu_dma.bar-mmap", "resource0 mapped"))
		return;
	check(rd32(bar0, EMU_DMA_REG_MAGIC) == EMU_DMA_MAGIC_VALUE &&
		rd32(bar0, EMU_DMA_REG_VERSION) == EMU_DMA_VERSION_VALUE &&
		rd32(bar0, EMU_DMA_REG_NUM_CHANNELS) >= 1, "emu_dma.regs",
		"magic 0x%08x version 0x%08x channels %u caps 0x%x", rd32(bar0, EMU_DMA_REG_MAGIC),
		rd32(bar0, EMU_DMA_REG_VERSION), rd32(bar0, EMU_DMA_REG_NUM_CHANNELS),
		rd32(bar0, EMU_DMA_REG_CAPS));

	/* Page 0: the ring (16 descriptors); page 1: source; pages 2-3: destination. */
	va = dma_pages(4, pa);
	if (!check(va != NULL, "emu_dma.pages", "ring 0x%" PRIx64 " src 0x%" PRIx64,
			va ? pa[0] : 0, va ? pa[1] : 0))
		return;
	set_master(&p, true);
	ring = (volatile struct emu_dma_desc *)va;
	src = va + PAGE_SZ;
	dst = va + 2 * PAGE_SZ;
	fill(src, PAGE_SZ, 0xd0a);
	memset(dst, 0xee, 2 * PAGE_SZ);
	memset(va, 0, PAGE_SZ);

	base = EMU_DMA_CHAN_BASE(c);
	wr32(bar0, base + EMU_DMA_CHAN_CTRL, 0);
	wr32(bar0, base + EMU_DMA_CHAN_RING_LO, (uint32_t)pa[0]);
	wr32(bar0, base + EMU_DMA_CHAN_RING_HI, pa[0] >> 32);
	wr32(bar0, base + EMU_DMA_CHAN_RING_SIZE, EMU_DMA_MIN_RING_SIZE);
	wr32(bar0, base + EMU_DMA_CHAN_DOORBELL, 0);
	wr32(bar0, base + EMU_DMA_CHAN_CTRL, EMU_DMA_CHAN_CTRL_ENABLE);
	for (i = 0; i < POLL_TRIES && !(rd32(bar0, base + EMU_DMA_CHAN_STATUS) &
			(EMU_DMA_CHAN_STATUS_ACTIVE | EMU_DMA_CHAN_STATUS_RING_ERROR)); i++)
		usleep(10000);
	st = rd32(bar0, base + EMU_DMA_CHAN_STATUS);
	if (!check((st & EMU_DMA_CHAN_STATUS_ACTIVE) && !(st & EMU_DMA_CHAN_STATUS_RING_ERROR),
			"emu_dma.ring", "channel 0 ring at 0x%" PRIx64 ": status 0x%x", pa[0], st))
		return;

	/*
	 * 0: a copy that stays inside one destination page (pages need not be
	 * contiguous); 1: a copy from an unmapped address, which must fail without
	 * stopping the engine; 2: a fill.
	 */
	ring[0].src = pa[1];
	ring[0].dst = pa[2] + 100;
	ring[0].len = 3000;
	ring[0].op = EMU_DMA_OP_COPY;
	ring[0].flags = 0;
	ring[0].status = EMU_DMA_STATUS_PENDING;
	ring[1].src = UINT64_C(0x700000000000);
	ring[1].dst = pa[3];
	ring[1].len = 64;
	ring[1].op = EMU_DMA_OP_COPY;
	ring[1].flags = 0;
	ring[1].status = EMU_DMA_STATUS_PENDING;
	ring[2].src = pattern;
	ring[2].dst = pa[3] + 256;
	ring[2].len = 256;
	ring[2].op = EMU_DMA_OP_FILL;
	ring[2].flags = 0;
	ring[2].status = EMU_DMA_STATUS_PENDING;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(bar0, base + EMU_DMA_CHAN_DOORBELL, 3);
	for (i = 0; i < POLL_TRIES && rd32(bar0, base + EMU_DMA_CHAN_COMPLETED) != 3; i++)
		usleep(10000);
	check(rd32(bar0, base + EMU_DMA_CHAN_COMPLETED) == 3, "emu_dma.completed",
		"COMPLETED %u after DOORBELL 3", rd32(bar0, base + EMU_DMA_CHAN_COMPLETED));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ok = memcmp(dst + 100, src, 3000) == 0 && dst[99] == 0xee && dst[3100] == 0xee;
	check(ring[0].status == EMU_DMA_STATUS_SUCCESS && ok, "emu_dma.copy",
		"3000 bytes 0x%" PRIx64 " -> 0x%" PRIx64 ": status 0x%04x, %s", pa[1], pa[2] + 100,
		ring[0].status, ok ? "data arrived, neighbours untouched" : "data differs");
	check(ring[1].status == EMU_DMA_STATUS_ERR_SRC, "emu_dma.unmapped",
		"copy from 0x700000000000: status 0x%04x", ring[1].status);
	ok = true;
	for (i = 0; i < 256; i++)
		if (dst[PAGE_SZ + 256 + i] != ((const uint8_t *)&pattern)[i % 8])
			ok = false;
	check(ring[2].status == EMU_DMA_STATUS_SUCCESS && ok, "emu_dma.fill",
		"256-byte fill: status 0x%04x, %s", ring[2].status, ok ? "pattern written" :
		"pattern differs");
	wr32(bar0, base + EMU_DMA_CHAN_CTRL, 0);
	munmap(va, 4 * PAGE_SZ);
}

int
main(int argc, char **argv)
{
	char cmdline[1024] = "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	read_text("/proc/cmdline", cmdline, sizeof(cmdline));
	printf("INTEROP BEGIN %s\n", strstr(cmdline, "interop.boot=") ?
		strstr(cmdline, "interop.boot=") : "");
	if (argc > 1 && strcmp(argv[1], "--no-engine") == 0)
		skip("engine", "not requested");
	else
		test_engine();
	test_emu_dma(strstr(cmdline, "interop.emu_dma=1") != NULL);
	printf("INTEROP DONE %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

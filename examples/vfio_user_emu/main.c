/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * An emulated PCI device served over vfio-user: a small DMA copy/checksum
 * engine. BAR0 holds the engine registers and the MSI-X table and PBA; BAR1
 * is a 64 KiB memfd-backed region whose second half the client may mmap.
 * Config space, the MSI-X table and PBA and interrupt masking are the
 * library's PCI helper (rte_vfio_user_pci.h): this file is the engine only.
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

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "vfio_user_engine.h"

#define EMU_BAR1_SIZE (64 * 1024)
#define EMU_MAX_DEVS 4

/* Capability offsets in config space. */
#define EMU_CAP_MSIX 0x40
#define EMU_CAP_VNDR 0x50
#define EMU_CAP_VNDR_LEN 0x0c

struct emu_dev {
	const char *path;
	int dev_id;            /* server device id */
	struct rte_vfio_user_pci *pci; /* config space, MSI-X, interrupts */
	bool bus_master;       /* Bus Master Enable of the command register */
	uint64_t src, dst;
	uint32_t len, ctrl, status, err, csum, count, scratch;
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
	if (d->pci != NULL)
		rte_vfio_user_pci_reset(d->pci);
	d->bus_master = false;
	d->src = 0;
	d->dst = 0;
	d->len = 0;
	d->ctrl = 0;
	d->status = 0;
	d->err = 0;
	d->csum = 0;
	d->count = 0;
	d->scratch = 0;
	memset(d->bar1, 0, EMU_BAR1_SIZE);
	bar1_banner(d);
}

static const char *
irq_err(int ret)
{
	return ret == -ENOENT ? "no eventfd set by the client" : strerror(-ret);
}

/* Completion interrupt: MSI-X vector 0 when the guest enabled MSI-X, else INTx. */
static void
engine_irq(struct emu_dev *d)
{
	int ret = rte_vfio_user_pci_irq_raise(d->pci, RTE_VFIO_USER_PCI_IRQ_AUTO, 0);

	if (ret < 0)
		printf("emu: interrupt failed: %s\n", irq_err(ret));
}

/* Called by the PCI helper when a client changes the command register. */
static void
emu_command(struct rte_vfio_user_pci *pci, uint16_t old_cmd, uint16_t new_cmd, void *priv)
{
	struct emu_dev *d = priv;

	RTE_SET_USED(pci);
	RTE_SET_USED(old_cmd);
	d->bus_master = (new_cmd & PCI_COMMAND_MASTER) != 0;
	printf("emu: command register 0x%04x (Mem%c BusMaster%c)\n", new_cmd,
		(new_cmd & PCI_COMMAND_MEMORY) ? '+' : '-', d->bus_master ? '+' : '-');
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
	if (!d->bus_master)
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
			rte_vfio_user_pci_intx_lower(d->pci);
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
 * BAR0 registers (the PCI helper serves the MSI-X table and PBA). Like real
 * hardware, only naturally aligned 4-byte accesses (and 8-byte ones where a
 * 64-bit value lives) are accepted; anything else fails with EINVAL.
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

static int
emu_describe(struct emu_dev *d)
{
	static const struct vfio_region_sparse_mmap_area bar1_mmap = {
		.offset = ENGINE_BAR1_MMAP_OFF,
		.size = EMU_BAR1_SIZE - ENGINE_BAR1_MMAP_OFF,
	};
	const uint32_t vndr[EMU_CAP_VNDR_LEN / 4] = {
		0, rte_cpu_to_le_32(ENGINE_VERSION), rte_cpu_to_le_32(ENGINE_MAX_LEN)
	};
	const struct rte_vfio_user_pci_cap caps[] = {
		{
			.id = PCI_CAP_ID_MSIX,
			.offset = EMU_CAP_MSIX,
			.nr_vectors = ENGINE_MSIX_VECTORS,
			.table_bar = ENGINE_MSIX_BIR,
			.table_offset = ENGINE_MSIX_TABLE,
			.pba_bar = ENGINE_MSIX_BIR,
			.pba_offset = ENGINE_MSIX_PBA,
		},
		{
			.id = PCI_CAP_ID_VNDR,
			.offset = EMU_CAP_VNDR,
			.len = EMU_CAP_VNDR_LEN,
			.data = vndr,
		},
	};
	struct rte_vfio_user_pci_info info = {
		.vendor_id = ENGINE_VENDOR_ID,
		.device_id = ENGINE_DEVICE_ID,
		.subsys_vendor_id = ENGINE_VENDOR_ID,
		.subsys_id = ENGINE_DEVICE_ID,
		.class_code = ENGINE_CLASS,
		.revision = ENGINE_REVISION,
		/* INTA, used while MSI-X is off (a guest without a driver for the device). */
		.intx_pin = 1,
		.cfg_size = RTE_VFIO_USER_PCI_CFG_SIZE,
		.flags = RTE_VFIO_USER_PCI_F_RESET,
		.caps = caps,
		.nr_caps = RTE_DIM(caps),
		.ops = { .command = emu_command },
		.priv = d,
	};

	/* BAR0: registers by message, the MSI-X table and PBA by the helper. */
	info.bars[0] = (struct rte_vfio_user_pci_bar){
		.size = ENGINE_BAR0_SIZE, .rw = bar0_access, .priv = d, .fd = -1,
	};
	/* BAR1: 64-bit prefetchable, served from d->bar1; its second half also by mmap. */
	info.bars[1] = (struct rte_vfio_user_pci_bar){
		.size = EMU_BAR1_SIZE,
		.flags = RTE_VFIO_USER_PCI_BAR_F_64 | RTE_VFIO_USER_PCI_BAR_F_PREFETCH |
			RTE_VFIO_USER_PCI_BAR_F_MMAP,
		.base = d->bar1,
		.fd = d->bar1_fd,
		.sparse = &bar1_mmap,
		.nr_sparse = 1,
	};
	d->pci = rte_vfio_user_pci_create(d->path, d->dev_id, &info);
	return d->pci != NULL ? 0 : -rte_errno;
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
		rte_vfio_user_pci_free(emus[i].pci);
		emu_free(&emus[i]);
	}
	if (wake_fd >= 0)
		close(wake_fd);
	rte_eal_cleanup();
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Fuzz target of the client: the input (see fuzz_common.h) is what a
 * server sends. A thread attaches with the library and runs every client
 * call once, while this thread plays the server: for each record it waits
 * for the client's next message (unless the record says not to), may copy
 * that message's id and command into the record, and sends the record.
 * When the input ends the connection is closed, which fails the calls left.
 */

#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "fuzz_common.h"

#define ACCEPT_MS 2000
#define REQUEST_MS 100
#define DMA_SIZE 0x10000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sockaddr_un addr;
static int listen_fd = -1;
static uint8_t scratch[65536];
static uint8_t patched[65536];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	if (fuzz_eal_init("vfu-fuzz-client") < 0)
		abort();
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/client.sock", fuzz_sock_dir());
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
			listen(listen_fd, 4) < 0) {
		fprintf(stderr, "cannot listen: %s\n", strerror(errno));
		abort();
	}
	return 0;
}

/* Migration: save, restore, DMA logging of the DMA window. */
static void
client_mig_calls(int dev)
{
	const struct rte_vfio_user_dirty_range range = { 0x100000, DMA_SIZE };
	uint64_t flags, size, pgsz = 0, bitmap[DMA_SIZE / 4096 / 64 + 1];
	enum rte_vfio_user_mig_state st;
	uint8_t buf[512];

	(void)rte_vfio_user_mig_probe(dev, &flags);
	(void)rte_vfio_user_mig_get_state(dev, &st);
	(void)rte_vfio_user_mig_set_state(dev, RTE_VFIO_USER_MIG_STOP_COPY, &st);
	(void)rte_vfio_user_mig_read(dev, buf, sizeof(buf));
	(void)rte_vfio_user_mig_set_state(dev, RTE_VFIO_USER_MIG_RESUMING, NULL);
	memset(buf, 0, sizeof(buf));
	(void)rte_vfio_user_mig_write(dev, buf, 64);
	(void)rte_vfio_user_mig_data_size(dev, &size);
	(void)rte_vfio_user_dirty_start(dev, &range, 1, &pgsz);
	(void)rte_vfio_user_dirty_report(dev, range.iova, range.length, 4096, bitmap);
	(void)rte_vfio_user_dirty_stop(dev);
}

/* Every client call, in the order a consumer of a device would make them. */
static void *
client_calls(void *arg)
{
	struct vfio_region_info *rinfo;
	struct rte_vfio_user_io_fd io[4];
	struct rte_vfio_user_region_map maps[4];
	struct rte_vfio_user_region_wr wrs[2];
	struct rte_vfio_user_mem_reg mem;
	struct vfio_device_info info;
	struct vfio_irq_info irq;
	uint8_t rbuf[512], setbuf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)setbuf;
	uint32_t i, count, nr_maps;
	int dev, fd, mfd, efd;
	void *dma;

	RTE_SET_USED(arg);
	dev = rte_vfio_user_attach_dev(addr.sun_path);
	if (dev < 0)
		return NULL;
	(void)rte_vfio_user_get_dev_info(dev, &info);
	rinfo = (struct vfio_region_info *)rbuf;
	for (i = 0; i < 2; i++) {
		memset(rbuf, 0, sizeof(rbuf));
		rinfo->argsz = sizeof(rbuf);
		rinfo->index = i;
		fd = -1;
		if (rte_vfio_user_get_reg_info(dev, rinfo, &fd) == 0 && fd >= 0)
			close(fd);
	}
	count = RTE_DIM(io);
	if (rte_vfio_user_get_reg_io_fds(dev, 0, io, &count) == 0 && count <= RTE_DIM(io))
		for (i = 0; i < count; i++)
			close(io[i].fd);
	memset(&irq, 0, sizeof(irq));
	irq.argsz = sizeof(irq);
	irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
	(void)rte_vfio_user_get_irq_info(dev, &irq);
	(void)rte_vfio_user_region_read(dev, 0, 0, rbuf, 64);
	(void)rte_vfio_user_region_write(dev, 1, 8, rbuf, 8);
	memset(wrs, 0, sizeof(wrs));
	wrs[0].count = 4;
	wrs[1].count = 8;
	wrs[1].offset = 16;
	(void)rte_vfio_user_region_write_multi(dev, wrs, RTE_DIM(wrs));

	/* Memory the server may read and write with DMA_READ/DMA_WRITE messages. */
	mfd = memfd_create("vfu-fuzz-dma", MFD_CLOEXEC);
	dma = MAP_FAILED;
	if (mfd >= 0 && ftruncate(mfd, DMA_SIZE) == 0)
		dma = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (dma != MAP_FAILED) {
		memset(&mem, 0, sizeof(mem));
		mem.iova = 0x100000;
		mem.size = DMA_SIZE;
		mem.prot = PROT_READ | PROT_WRITE;
		mem.vaddr = dma;
		(void)rte_vfio_user_dma_map(dev, &mem, &mfd, 1);
	}
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd >= 0) {
		memset(setbuf, 0, sizeof(setbuf));
		set->argsz = sizeof(setbuf);
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->index = VFIO_PCI_MSIX_IRQ_INDEX;
		set->count = 1;
		memcpy(set->data, &efd, sizeof(int32_t));
		(void)rte_vfio_user_set_irqs(dev, set);
	}
	nr_maps = RTE_DIM(maps);
	(void)rte_vfio_user_region_mmap(dev, 3, maps, &nr_maps);
	(void)rte_vfio_user_reset(dev);
	client_mig_calls(dev);
	/* Give the server time to use the DMA window before it goes. */
	usleep(1000);
	if (dma != MAP_FAILED)
		(void)rte_vfio_user_dma_unmap(dev, &mem, 1);
	(void)rte_vfio_user_detach_dev(dev);
	if (efd >= 0)
		close(efd);
	if (dma != MAP_FAILED)
		munmap(dma, DMA_SIZE);
	if (mfd >= 0)
		close(mfd);
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	struct fuzz_rec rec;
	uint8_t hdr[16];
	pthread_t thr;
	int sock = -1;

	if (pthread_create(&thr, NULL, client_calls, NULL) != 0)
		abort();
	if (poll(&pfd, 1, ACCEPT_MS) == 1)
		sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (sock >= 0 && fuzz_next_rec(&data, &size, &rec) == 0) {
		if (!(rec.flags & FUZZ_REC_NOWAIT)) {
			/* The client's next command: its answers to ours are skipped. */
			do {
				if (fuzz_read_msg(sock, REQUEST_MS, hdr) < 0)
					goto out;
			} while ((hdr[8] & 0xf) != 0);
			if ((rec.flags & FUZZ_REC_PATCH_ID) && rec.len >= 4) {
				/* Answer that very request: same msg_id and command. */
				memcpy(patched, rec.data, rec.len);
				memcpy(patched, hdr, 4);
				rec.data = patched;
			}
		}
		if (fuzz_send_rec(sock, &rec, scratch) < 0)
			break;
	}
out:
	if (sock >= 0)
		close(sock);
	pthread_join(thr, NULL);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Fuzz target of the device-side virtqueue code (split and packed rings) of the emulated
 * virtio-net device (drivers/emu/virtio_net/emu_vnet_vq.c): descriptor
 * tables, available rings and indexes written by a hostile guest, in a fake
 * guest memory of three windows (read-write, read-only and really mapped
 * read-only, and one without a mapping, as a window the client gave no fd
 * for). No EAL and no socket: the code under test takes none.
 *
 * Input:
 *   u8  log2 of the queue size (mod 7: 1 to 64 entries, so that the rings
 *       sit in the first 4 KiB, which libFuzzer's default length reaches)
 *   u8  bits 0-1: chain direction (emu_vnet_dir, 3 is read as 0)
 *       bit 2: give chains back with a rewind now and then
 *       bit 3: packed ring (descriptor ring, driver and device event areas
 *       where the split rings would be)
 *   u8  ring placement: bits 0-3 shift the rings by that many 16-byte steps
 *   ... the read-write window's contents, then the read-only window's
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "../drivers/emu/virtio_net/emu_vnet_vq.h"

#define RW_IOVA UINT64_C(0x10000)
#define RW_SIZE 0x10000
#define RO_IOVA UINT64_C(0x40000)
#define RO_SIZE 0x4000
#define NOFD_IOVA UINT64_C(0x80000)
#define NOFD_SIZE 0x1000
/* Ring offsets in the read-write window, for the largest queue (64). */
#define DESC_OFF 0x000
#define AVAIL_OFF 0x400
#define USED_OFF 0x600

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *rw_mem;
static uint8_t *ro_mem;
static struct rte_vfio_user_mem_reg regions[3];
static const struct rte_vfio_user_mem_table table = { .entry_num = 3, .regions = regions };
static uint8_t sink[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	rw_mem = mmap(NULL, RW_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_mem = mmap(NULL, RO_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw_mem == MAP_FAILED || ro_mem == MAP_FAILED)
		abort();
	regions[0] = (struct rte_vfio_user_mem_reg){ .iova = RW_IOVA, .size = RW_SIZE,
		.prot = PROT_READ | PROT_WRITE, .fd = -1, .vaddr = rw_mem };
	regions[1] = (struct rte_vfio_user_mem_reg){ .iova = RO_IOVA, .size = RO_SIZE,
		.prot = PROT_READ, .fd = -1, .vaddr = ro_mem };
	regions[2] = (struct rte_vfio_user_mem_reg){ .iova = NOFD_IOVA, .size = NOFD_SIZE,
		.prot = PROT_READ | PROT_WRITE, .fd = -1, .vaddr = NULL };
	return 0;
}

/* Touch every byte of a chain the way the device would. */
static void
use_chain(const struct emu_vnet_chain *c)
{
	uint32_t off, n;

	for (off = 0; off < c->len; off += n) {
		n = RTE_MIN(c->len - off, (uint32_t)sizeof(sink));
		if (off < c->out_len) {
			n = RTE_MIN(n, c->out_len - off);
			if (emu_vnet_chain_read(c, off, sink, n) != n)
				abort();
		} else if (emu_vnet_chain_write(c, off, sink, n) != n) {
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emu_vnet_chain c;
	struct emu_vnet_vq vq;
	enum emu_vnet_dir dir;
	uint32_t i, shift;
	size_t n;
	struct emu_vnet_vq_pos pos;
	bool rewind;
	int ret;

	if (size < 3)
		return 0;
	memset(&vq, 0, sizeof(vq));
	vq.log_dev = -1; /* no server device: nothing to log */
	vq.size = (uint16_t)(1u << (data[0] % 7));
	dir = (enum emu_vnet_dir)((data[1] & 3) % 3);
	rewind = (data[1] & 4) != 0;
	vq.packed = (data[1] & 8) != 0;
	shift = (data[2] & 0xf) * 16u;
	data += 3;
	size -= 3;

	memset(rw_mem, 0, RW_SIZE);
	n = RTE_MIN(size, (size_t)RW_SIZE);
	memcpy(rw_mem, data, n);
	data += n;
	size -= n;
	mprotect(ro_mem, RO_SIZE, PROT_READ | PROT_WRITE);
	memset(ro_mem, 0, RO_SIZE);
	memcpy(ro_mem, data, RTE_MIN(size, (size_t)RO_SIZE));
	mprotect(ro_mem, RO_SIZE, PROT_READ);

	vq.desc_iova = RW_IOVA + DESC_OFF + shift;
	vq.avail_iova = RW_IOVA + AVAIL_OFF + shift;
	vq.used_iova = RW_IOVA + USED_OFF + shift;
	if (emu_vnet_vq_map(&vq, &table) < 0)
		return 0;
	/* Not start(): it would overwrite the guest's used index or event flags. */
	vq.last_avail = 0;
	vq.avail_wrap = true;
	vq.used_wrap = true;
	for (i = 0; i < 2u * vq.size + 2; i++) {
		emu_vnet_vq_mark(&vq, &pos);
		ret = emu_vnet_vq_pop(&vq, &table, dir, &c);
		if (ret == -ENOENT || ret == -EIO)
			break;
		if (ret == 0) {
			use_chain(&c);
			if (rewind && (i % 3) == 2) {
				emu_vnet_vq_rewind(&vq, &pos);
				continue;
			}
		}
		emu_vnet_vq_push(&vq, &c, ret == 0 ? c.len - c.out_len : 0);
		if ((i % 8) == 7)
			emu_vnet_vq_publish(&vq);
	}
	emu_vnet_vq_publish(&vq);
	return 0;
}

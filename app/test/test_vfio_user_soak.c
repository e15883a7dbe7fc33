/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Soak: connect, map, access and disconnect cycles must leave no descriptor,
 * mapping or heap memory behind.
 */

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

#if defined(__SANITIZE_ADDRESS__)
#define HT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HT_ASAN 1
#endif
#endif
#ifdef HT_ASAN
/* From the sanitizer runtime (gcc ships no header for it). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define SOAK_CYCLES 1000
#define SOAK_WARMUP 20
#define SOAK_MEM_SLACK (1u << 20)

/* Heap bytes in use (the sanitizer's count under ASan, whose malloc it replaces). */
static size_t
heap_in_use(void)
{
#ifdef HT_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static int
soak_cycle(const char *path, uint8_t *mem, int mfd)
{
	struct rte_vfio_user_mem_reg reg = { .iova = 0x100000, .size = 0x10000,
		.prot = PROT_READ | PROT_WRITE, .vaddr = mem };
	uint64_t v;
	int dev, ret;

	dev = rte_vfio_user_attach_dev(path);
	if (dev < 0)
		return dev;
	ret = rte_vfio_user_dma_map(dev, &reg, &mfd, 1);
	if (ret == 0 && rte_vfio_user_region_read(dev, TDEV_BAR_BASE, 0, &v, sizeof(v)) !=
			sizeof(v))
		ret = -EIO;
	rte_vfio_user_detach_dev(dev);
	return ret;
}

static int
test_soak_cycles(void)
{
	struct leak_snap before, after;
	struct tdev *d;
	size_t heap0, heap1;
	uint64_t t0;
	uint8_t *mem;
	char path[PATH_LEN];
	int i, mfd, ret = 0;

	d = dev_new(path, "soak", true);
	TEST_ASSERT_NOT_NULL(d, "no memory or tdev_create failed");
	mfd = memfd_of(0x10000, 0);
	TEST_ASSERT(mfd >= 0, "memfd");
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");

	for (i = 0; i < SOAK_WARMUP && ret == 0; i++)
		ret = soak_cycle(path, mem, mfd);
	TEST_ASSERT_SUCCESS(ret, "warm-up cycle %d: %d", i, ret);
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, SOAK_WARMUP), "warm-up sessions");
	leak_snap(&before);
	heap0 = heap_in_use();
	t0 = now_ms();
	for (i = 0; i < SOAK_CYCLES && ret == 0; i++)
		ret = soak_cycle(path, mem, mfd);
	TEST_ASSERT_SUCCESS(ret, "cycle %d: %d", i, ret);
	TEST_ASSERT_SUCCESS(tdev_wait_destroyed(d, SOAK_WARMUP + SOAK_CYCLES),
		"sessions not closed");
	TEST_ASSERT_SUCCESS(leak_wait(&before, LEAK_MS, &after),
		"leak after %d cycles: fds %d -> %d, maps %d -> %d", SOAK_CYCLES, before.fds,
		after.fds, before.maps, after.maps);
	heap1 = heap_in_use();
	printf("%d cycles in %" PRIu64 " ms; fds %d, file maps %d, heap %zu -> %zu bytes\n",
		SOAK_CYCLES, now_ms() - t0, after.fds, after.maps, heap0, heap1);
	TEST_ASSERT(heap1 < heap0 + SOAK_MEM_SLACK, "heap grew by %zu bytes", heap1 - heap0);
	munmap(mem, 0x10000);
	close(mfd);
	dev_free(d);
	return TEST_SUCCESS;
}

static struct unit_test_suite vfio_user_soak_suite = {
	.suite_name = "vfio-user soak",
	.setup = raw_suite_setup,
	.teardown = raw_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_soak_cycles),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_soak_autotest, vfio_user_soak_suite, 0);

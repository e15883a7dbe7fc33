/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DEVICE_RESET.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>

#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

/*
 * VFIO_USER_DEVICE_RESET.
 */
static int
reset_body(struct fix *f)
{
	struct tdev *d = &f->dev;
	struct rte_vfio_user_mem_reg m;
	uint8_t page[4096];
	int efd = -1, sfd;
	uint64_t v;

	m = win(0x100000, sizeof(page), 0, PROT_READ | PROT_WRITE, page);
	TEST_ASSERT_SUCCESS(rte_vfio_user_dma_map(f->cid, &m, NULL, 1), "map");
	TEST_ASSERT_SUCCESS(make_efds(&efd, 1), "eventfd");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, sizeof(int)), "assign");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0x40, 0x1122334455667788ULL), "write");
	TEST_ASSERT_SUCCESS(reg_w64(f->cid, TDEV_BAR_CB, 0x10, 0xabcdULL), "write");

	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 0u, "reset before reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "reset");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 1u, "reset_device not called");
	/* The device model's reset ran (it clears 0x40..0x7f), the rest is kept. */
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0x40, &v), "read");
	TEST_ASSERT_EQUAL(v, 0ULL, "scratch register not reset");
	TEST_ASSERT_SUCCESS(reg_r64(f->cid, TDEV_BAR_CB, 0x10, &v), "read");
	TEST_ASSERT_EQUAL(v, 0xabcdULL, "register outside the reset area lost");
	/* DMA table and IRQs are kept. */
	TEST_ASSERT_EQUAL(mem_table_entries(d->id), 1, "DMA table changed by reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 1, &sfd), "irq");
	TEST_ASSERT(sfd >= 0, "IRQ eventfd dropped by reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_MSIX_IRQ_INDEX, 0), "irq");
	TEST_ASSERT_EQUAL(efd_wait(efd, 1000), 1ULL, "IRQ after reset");
	TEST_ASSERT_SUCCESS(rte_vfio_user_reset(f->cid), "second reset");
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_RESET, -1), 2u, "second reset_device");
	close(efd);
	return TEST_SUCCESS;
}

static int
no_reset_body(struct fix *f)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "get_dev_info");
	TEST_ASSERT_EQUAL(info.flags, (uint32_t)VFIO_DEVICE_FLAGS_PCI, "flags 0x%x", info.flags);
	TEST_ASSERT_EQUAL(rte_vfio_user_reset(f->cid), -EINVAL, "reset without FLAGS_RESET");
	TEST_ASSERT_EQUAL(tdev_ev_count(&f->dev, TDEV_EV_RESET, -1), 0u, "reset_device called");
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_dev_info(f->cid, &info), "session after refusal");
	return TEST_SUCCESS;
}

static int
test_reset(void)
{
	struct tdev_cfg cfg = { .no_reset = true };
	int ret;

	ret = run_fix(reset_body, NULL);
	if (ret != TEST_SUCCESS)
		return ret;
	return run_fix(no_reset_body, &cfg);
}

/*
 * Hostile client
 */

/* RESET */

static int
case_reset(int *sp)
{
	unsigned int r = tdev_ev_count(&dev_a, TDEV_EV_RESET, -1);
	uint8_t one = 0;

	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, 0, "RESET"));
	TEST_ASSERT_EQUAL(tdev_ev_count(&dev_a, TDEV_EV_RESET, -1), r + 1,
		"reset_device calls");
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_RESET, 0, &one, 1, NULL, 0, EINVAL,
		"RESET with a payload"));
	TEST_ASSERT_EQUAL(tdev_ev_count(&dev_a, TDEV_EV_RESET, -1), r + 1,
		"reset_device calls after a bad RESET");
	/* dev_b has no VFIO_DEVICE_FLAGS_RESET. */
	r = tdev_ev_count(&dev_b, TDEV_EV_RESET, -1);
	CHECK(cmd_err(b_sock, VFIO_USER_DEVICE_RESET, 0, NULL, 0, NULL, 0, EINVAL,
		"RESET of a device without the RESET flag"));
	TEST_ASSERT_EQUAL(tdev_ev_count(&dev_b, TDEV_EV_RESET, -1), r,
		"reset_device of dev_b called");
	return TEST_SUCCESS;
}

HCASE(reset, true)

static struct unit_test_suite vfio_user_reset_suite = {
	.suite_name = "vfio-user reset",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_reset),
		TEST_CASE_NAMED("RESET", tc_reset),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_reset_autotest, vfio_user_reset_suite, VFU_CASES_HOSTILE);

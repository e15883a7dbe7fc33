/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * DEVICE_SET_IRQS and interrupt delivery.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/*
 * Through the library's client
 */

/*
 * VFIO_USER_DEVICE_GET_IRQ_INFO and VFIO_USER_DEVICE_SET_IRQS.
 */
#define IRQ_EFDS 20

static int
irq_fds_set(struct tdev *d, uint32_t index, int *sfd, uint32_t n)
{
	int i, ret;

	for (i = 0; i < (int)n; i++)
		sfd[i] = -3;
	ret = rte_vfio_user_get_irq(d->id, index, n, sfd);
	return ret;
}

static int
irq_body(struct fix *f)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t nt = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t bt = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct tdev *d = &f->dev;
	struct vfio_irq_info ii;
	int efd[IRQ_EFDS], sfd[TDEV_MSIX_COUNT];
	uint8_t bools[3] = { 1, 0, 1 };
	unsigned int upd;
	uint32_t i;
	int ret;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		memset(&ii, 0xa5, sizeof(ii));
		ii.argsz = sizeof(ii);
		ii.index = i;
		TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq_info(f->cid, &ii), "get_irq_info(%u)", i);
		TEST_ASSERT_EQUAL(ii.index, i, "index");
		TEST_ASSERT_EQUAL(ii.flags, d->irqs[i].flags, "irq %u flags 0x%x", i, ii.flags);
		TEST_ASSERT_EQUAL(ii.count, d->irqs[i].count, "irq %u count %u", i, ii.count);
	}
	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = VFIO_PCI_NUM_IRQS;
	TEST_ASSERT_EQUAL(rte_vfio_user_get_irq_info(f->cid, &ii), -EINVAL, "bad irq index");

	for (i = 0; i < IRQ_EFDS; i++)
		efd[i] = -1;
	TEST_ASSERT_SUCCESS(make_efds(efd, IRQ_EFDS), "eventfds");

	/* Assign 8 MSI-X eventfds; the server sees them, triggers reach the client. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);
	ret = irq_set(f->cid, msix, et, 0, 8, efd, 8 * sizeof(int));
	TEST_ASSERT_SUCCESS(ret, "assign 8 MSI-X eventfds");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ, upd + 1,
		EV_TIMEOUT_MS), "no update_status(IRQ)");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 8 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d", i, sfd[i]);
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 3), "trigger 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 1000), 1ULL, "vector 3 not signalled");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 0), 0ULL, "vector 2 signalled");
	TEST_ASSERT_EQUAL(efd_wait(efd[4], 0), 0ULL, "vector 4 signalled");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 0), "trigger 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 0), "trigger 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 2ULL, "vector 0 not signalled twice");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, msix, 8), -ENOENT, "vector 8 has no fd");
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_ERR_IRQ_INDEX, 0), -ENOENT,
		"ERR has no fd");

	/* Add 8..11 without touching 0..7. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 8, 4, efd + 8, 4 * sizeof(int)),
		"assign 8..11");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 12 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d", i, sfd[i]);
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 11), "trigger 11");
	TEST_ASSERT_EQUAL(efd_wait(efd[11], 1000), 1ULL, "vector 11 not signalled");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 7), "trigger 7");
	TEST_ASSERT_EQUAL(efd_wait(efd[7], 1000), 1ULL, "vector 7 lost by the second assign");

	/* Client-triggered: DATA_NONE and DATA_BOOL. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, nt, 5, 2, NULL, 0), "DATA_NONE trigger 5..6");
	TEST_ASSERT_EQUAL(efd_wait(efd[5], 1000), 1ULL, "vector 5 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[6], 1000), 1ULL, "vector 6 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[4], 0), 0ULL, "vector 4 triggered");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, bt, 9, 3, bools, 3), "DATA_BOOL trigger 9..11");
	TEST_ASSERT_EQUAL(efd_wait(efd[9], 1000), 1ULL, "vector 9 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[11], 1000), 1ULL, "vector 11 not triggered");
	TEST_ASSERT_EQUAL(efd_wait(efd[10], 50), 0ULL, "vector 10 triggered with bool 0");

	/* De-assign 0..3 (EVENTFD without fds). */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 0, 4, NULL, 0), "de-assign 0..3");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i >= 4 && i < 12 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d",
			i, sfd[i]);
	TEST_ASSERT_EQUAL(rte_vfio_user_irq_trigger(d->id, msix, 0), -ENOENT,
		"trigger of a de-assigned vector");

	/* Other indexes are independent. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, VFIO_PCI_REQ_IRQ_INDEX, et, 0, 1, &efd[12],
		sizeof(int)), "assign REQ");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, VFIO_PCI_REQ_IRQ_INDEX, 0),
		"trigger REQ");
	TEST_ASSERT_EQUAL(efd_wait(efd[12], 1000), 1ULL, "REQ not signalled");

	/* Disable the whole index. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, nt, 0, 0, NULL, 0), "disable MSI-X");
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT_EQUAL(sfd[i], -1, "server fd[%u] = %d after disable", i, sfd[i]);
	TEST_ASSERT_SUCCESS(irq_fds_set(d, VFIO_PCI_REQ_IRQ_INDEX, sfd, 1), "get_irq REQ");
	TEST_ASSERT(sfd[0] >= 0, "disabling MSI-X dropped REQ");

	close_fds(efd, IRQ_EFDS);
	return TEST_SUCCESS;
}

static int
test_irq(void)
{
	return run_fix(irq_body, NULL);
}

static int
irq_mask_body(struct fix *f)
{
	const uint32_t msi = VFIO_PCI_MSI_IRQ_INDEX, intx = VFIO_PCI_INTX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t mn = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	const uint32_t un = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	const uint32_t mb = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK;
	const uint32_t ub = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK;
	struct tdev *d = &f->dev;
	uint8_t b10[2] = { 1, 0 }, b11[2] = { 1, 1 };
	int efd[TDEV_MSI_COUNT + 1];
	unsigned int upd;

	memset(efd, -1, sizeof(efd));
	TEST_ASSERT_SUCCESS(make_efds(efd, TDEV_MSI_COUNT + 1), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, et, 0, TDEV_MSI_COUNT, efd,
		TDEV_MSI_COUNT * sizeof(int)), "assign MSI");

	/* Masked vector: the trigger is kept pending and delivered at unmask. */
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mn, 1, 1, NULL, 0), "mask 1");
	TEST_ASSERT_SUCCESS(tdev_ev_wait(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ, upd + 1,
		EV_TIMEOUT_MS), "no update_status(IRQ) after a mask");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 1), "trigger masked 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 100), 0ULL, "masked vector 1 fired");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 1ULL, "unmasked vector 0 did not fire");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 1, 1, NULL, 0), "unmask 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "pending vector 1 not delivered at unmask");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 1, 1, NULL, 0), "unmask 1 again");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 100), 0ULL, "vector 1 delivered twice");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 1), "trigger unmasked 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "vector 1 after unmask");

	/* Mask without trigger: nothing at unmask. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mn, 0, 1, NULL, 0), "mask 0");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, un, 0, 1, NULL, 0), "unmask 0");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 100), 0ULL, "unmask without pending fired");

	/* BOOL: mask 2, leave 3. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, mb, 2, 2, b10, 2), "mask bool {1,0}");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 2), "trigger 2");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 3), "trigger 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 1000), 1ULL, "vector 3 (bool 0) masked");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 100), 0ULL, "vector 2 (bool 1) not masked");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msi, ub, 2, 2, b11, 2), "unmask bool {1,1}");
	TEST_ASSERT_EQUAL(efd_wait(efd[2], 1000), 1ULL, "vector 2 pending not delivered");
	TEST_ASSERT_EQUAL(efd_wait(efd[3], 100), 0ULL, "vector 3 delivered again");

	/* INTx. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, et, 0, 1, &efd[TDEV_MSI_COUNT], sizeof(int)),
		"assign INTx");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, mn, 0, 1, NULL, 0), "mask INTx");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "masked INTx fired");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost");
	/* INTx is AUTOMASKED: every delivery masks it until the client unmasks it. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 2");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL,
		"INTx fired although automasked by the pending delivery");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 2");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost 2");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "unmask fired nothing pending");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 3");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "unmasked INTx not fired");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, intx, 0), "trigger INTx 4");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 100), 0ULL, "INTx not automasked");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, intx, un, 0, 1, NULL, 0), "unmask INTx 4");
	TEST_ASSERT_EQUAL(efd_wait(efd[TDEV_MSI_COUNT], 1000), 1ULL, "INTx pending lost 3");
	/* MSI is not AUTOMASKED: two triggers, two interrupts. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger MSI 0");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msi, 0), "trigger MSI 0 again");
	TEST_ASSERT_EQUAL(efd_wait(efd[0], 1000), 2ULL, "MSI 0 masked by its own delivery");

	/* MSI-X is not maskable. */
	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, mn, 0, 1, NULL, 0), -EINVAL,
		"mask of a non-maskable index");
	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_MSIX_IRQ_INDEX, un, 0, 1, NULL, 0), -EINVAL,
		"unmask of a non-maskable index");
	close_fds(efd, TDEV_MSI_COUNT + 1);
	return TEST_SUCCESS;
}

static int
test_irq_mask(void)
{
	return run_fix(irq_mask_body, NULL);
}

static int
irq_errors_body(struct fix *f)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX;
	const uint32_t et = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t nt = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	struct tdev *d = &f->dev;
	int efd[TDEV_MSIX_COUNT], sfd[TDEV_MSIX_COUNT];
	uint64_t buf[8];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;
	uint8_t bools[4] = { 1, 1, 1, 1 };
	int bad[2];
	uint32_t i;
	unsigned int upd;

	memset(efd, -1, sizeof(efd));
	TEST_ASSERT_SUCCESS(make_efds(efd, TDEV_MSIX_COUNT), "eventfds");
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 0, 2, efd, 2 * sizeof(int)), "assign 0..1");
	upd = tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ);

	TEST_ASSERT_EQUAL(irq_set(f->cid, VFIO_PCI_NUM_IRQS, nt, 0, 1, NULL, 0), -EINVAL,
		"bad index");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, TDEV_MSIX_COUNT - 2, 4, NULL, 0), -EINVAL,
		"start + count past the vectors");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, UINT32_MAX, 2, NULL, 0), -EINVAL,
		"start + count wraps");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, TDEV_MSIX_COUNT, 1, NULL, 0), -EINVAL,
		"start at the end");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, bools, 1), -EINVAL, "two DATA flags");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE, 0, 1, NULL, 0), -EINVAL,
		"no ACTION flag");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0),
		-EINVAL, "no DATA flag");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_NONE |
		VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0), -EINVAL,
		"two ACTION flags");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt | (1u << 10), 0, 1, NULL, 0), -EINVAL,
		"unknown flag bit");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 0, 0, NULL, 0), -EINVAL,
		"count 0 with DATA_EVENTFD");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, nt, 1, 0, NULL, 0), -EINVAL,
		"count 0 with start 1");
	bad[0] = efd[5];
	bad[1] = -1;
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 4, 2, bad, sizeof(bad)), -EINVAL,
		"eventfd -1 in the data");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 4, 2, bad, sizeof(int)), -EINVAL,
		"fewer fds than count");
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, VFIO_IRQ_SET_DATA_BOOL |
		VFIO_IRQ_SET_ACTION_TRIGGER, 0, 4, bools, 2), -EINVAL,
		"bool data shorter than count");
	/* More descriptors than the server takes in one message (16). */
	TEST_ASSERT_EQUAL(irq_set(f->cid, msix, et, 0, 17, efd, 17 * sizeof(int)), -EINVAL,
		"17 eventfds in one message");
	memset(buf, 0, sizeof(buf));
	s->argsz = 8;
	s->flags = nt;
	s->index = msix;
	s->count = 1;
	TEST_ASSERT_EQUAL(rte_vfio_user_set_irqs(f->cid, s), -EINVAL, "argsz 8");

	/* Nothing changed. */
	TEST_ASSERT_SUCCESS(irq_fds_set(d, msix, sfd, TDEV_MSIX_COUNT), "get_irq");
	for (i = 0; i < TDEV_MSIX_COUNT; i++)
		TEST_ASSERT(i < 2 ? sfd[i] >= 0 : sfd[i] == -1, "server fd[%u] = %d after errors",
			i, sfd[i]);
	TEST_ASSERT_EQUAL(tdev_ev_count(d, TDEV_EV_UPDATE, RTE_VFIO_USER_UPDATE_IRQ), upd,
		"update_status(IRQ) after refused SET_IRQS");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 1), "trigger 1");
	TEST_ASSERT_EQUAL(efd_wait(efd[1], 1000), 1ULL, "vector 1 lost after errors");
	/* 16 descriptors is the limit and works. */
	TEST_ASSERT_SUCCESS(irq_set(f->cid, msix, et, 16, 16, efd + 16, 16 * sizeof(int)),
		"16 eventfds");
	TEST_ASSERT_SUCCESS(rte_vfio_user_irq_trigger(d->id, msix, 31), "trigger 31");
	TEST_ASSERT_EQUAL(efd_wait(efd[31], 1000), 1ULL, "vector 31");
	close_fds(efd, TDEV_MSIX_COUNT);
	return TEST_SUCCESS;
}

static int
test_irq_errors(void)
{
	return run_fix(irq_errors_body, NULL);
}

/*
 * Hostile client
 */

static int
case_wrong_sizes_set_irqs(int *sp)
{
	uint8_t p[64] = { 0 };
	struct vfio_irq_set set = {
		.argsz = sizeof(set) + 2,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 2,
	};

	memcpy(p, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 21, NULL, 0, EINVAL,
		"SET_IRQS NONE, 21 bytes"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 19, NULL, 0, EINVAL,
		"SET_IRQS 19 bytes"));
	set.flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	memcpy(p, &set, sizeof(set));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 21, NULL, 0, EINVAL,
		"SET_IRQS BOOL count 2, 1 byte"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 23, NULL, 0, EINVAL,
		"SET_IRQS BOOL count 2, 3 bytes"));
	set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.argsz = sizeof(set);
	memcpy(p, &set, sizeof(set));
	/* DATA_EVENTFD: fds travel as SCM_RIGHTS, the payload is the 20-byte struct only. */
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_SET_IRQS, 0, p, 28, NULL, 0, EINVAL,
		"SET_IRQS EVENTFD with 8 inline bytes"));
	return TEST_SUCCESS;
}

/* SET_IRQS */

static int
set_irqs_err(int s, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		const int *fds, int nr_fds, uint32_t err, const char *what)
{
	struct vfio_irq_set set = { .argsz = sizeof(set), .flags = flags, .index = index,
		.start = start, .count = count };

	return cmd_err(s, VFIO_USER_DEVICE_SET_IRQS, 0, &set, sizeof(set), fds, nr_fds, err,
		what);
}

static int
case_set_irqs_bad(int *sp)
{
	const uint32_t msix = VFIO_PCI_MSIX_IRQ_INDEX, intx = VFIO_PCI_INTX_IRQ_INDEX;
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	int fds[HDEV_MSIX_COUNT], got[HDEV_MSIX_COUNT], base, ret, i;

	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_EVENTFD | trig, msix,
		0, 1, NULL, 0, EINVAL, "two DATA bits"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE, msix, 0, 1, NULL, 0, EINVAL,
		"no ACTION bit"));
	CHECK(set_irqs_err(*sp, trig, msix, 0, 1, NULL, 0, EINVAL, "no DATA bit"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig | VFIO_IRQ_SET_ACTION_UNMASK,
		intx, 0, 1, NULL, 0, EINVAL, "two ACTION bits"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig | (1u << 12), msix, 0, 1, NULL,
		0, EINVAL, "unknown flag bit"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_NUM_IRQS, 0, 1, NULL, 0,
		EINVAL, "index 5"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 0xffffffff, 2, NULL, 0,
		EINVAL, "start 0xffffffff count 2"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, HDEV_MSIX_COUNT - 1, 2,
		NULL, 0, EINVAL, "start 3 count 2"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 1, 0, NULL, 0, EINVAL,
		"count 0 with start 1"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, msix, 0, 1,
		NULL, 0, EINVAL, "MASK on non-maskable MSI-X"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, msix, 0, 1,
		NULL, 0, EINVAL, "UNMASK on non-maskable MSI-X"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
		NULL, 0, EINVAL, "index with count 0"));

	if (open_eventfds(fds, HDEV_MSIX_COUNT) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_EVENTFD | trig, msix, 0, 2, fds, 1, EINVAL,
		"count 2 with one fd");
	if (ret == TEST_SUCCESS)
		ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_EVENTFD | trig, msix, 0, 1, fds, 2,
			EINVAL, "count 1 with two fds");
	if (ret == TEST_SUCCESS)
		ret = set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | trig, msix, 0, 1, fds, 1, EINVAL,
			"DATA_NONE with an fd");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "fds of refused SET_IRQS closed");
	close_fds(fds, HDEV_MSIX_COUNT);
	CHECK(ret);
	/* None of those assigned an eventfd. */
	TEST_ASSERT_SUCCESS(rte_vfio_user_get_irq(dev_a.id, msix, HDEV_MSIX_COUNT, got), "get_irq");
	for (i = 0; i < HDEV_MSIX_COUNT; i++)
		TEST_ASSERT_EQUAL(got[i], -1, "MSI-X %d has an eventfd after refused SET_IRQS", i);
	return TEST_SUCCESS;
}

static int
case_set_irqs_fds_dropped(int *sp)
{
	struct vfio_irq_set set = { .argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = HDEV_MSIX_COUNT };
	int fds[HDEV_MSIX_COUNT], base, ret;

	if (open_eventfds(fds, HDEV_MSIX_COUNT) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_ok(*sp, VFIO_USER_DEVICE_SET_IRQS, &set, sizeof(set), fds, HDEV_MSIX_COUNT, 0,
		"SET_IRQS 4 eventfds");
	if (ret == TEST_SUCCESS && rte_vfio_user_irq_trigger(dev_a.id, VFIO_PCI_MSIX_IRQ_INDEX,
			2) != 0)
		ret = TEST_FAILED;
	if (ret == TEST_SUCCESS && efd_wait(fds[2], RX_TIMEOUT_MS) != 1) {
		printf("  MSI-X 2 not signalled\n");
		ret = TEST_FAILED;
	}
	if (ret == TEST_SUCCESS && count_fds() != base + HDEV_MSIX_COUNT) {
		printf("  %d fds while the server holds 4 eventfds, expected %d\n", count_fds(),
			base + HDEV_MSIX_COUNT);
		ret = TEST_FAILED;
	}
	/* Disconnect: the session and the server's copies go; ours stay. */
	raw_close(sp);
	if (ret == TEST_SUCCESS)
		ret = fds_wait(g_case_fds + HDEV_MSIX_COUNT, "IRQ eventfds closed on disconnect");
	close_fds(fds, HDEV_MSIX_COUNT);
	return ret;
}

/*
 * SET_IRQS count 0 with DATA_NONE disables the index with the TRIGGER action
 * only; MASK and UNMASK get EINVAL, as with the kernel's VFIO.
 */
static int
case_set_irqs_count0_actions(int *sp)
{
	struct vfio_irq_set set = { .argsz = sizeof(set), .index = VFIO_PCI_INTX_IRQ_INDEX,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER };

	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
		VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0, EINVAL, "MASK count 0"));
	CHECK(set_irqs_err(*sp, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0, EINVAL, "UNMASK count 0"));
	return cmd_ok(*sp, VFIO_USER_DEVICE_SET_IRQS, &set, sizeof(set), NULL, 0, 0,
		"TRIGGER count 0");
}

HCASE(wrong_sizes_set_irqs, true)
HCASE(set_irqs_count0_actions, true)
HCASE(set_irqs_bad, true)
HCASE(set_irqs_fds_dropped, true)

static struct unit_test_suite vfio_user_irqs_suite = {
	.suite_name = "vfio-user interrupts",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE(test_irq),
		TEST_CASE(test_irq_mask),
		TEST_CASE(test_irq_errors),
		TEST_CASE_NAMED("wrong SET_IRQS sizes", tc_wrong_sizes_set_irqs),
		TEST_CASE_NAMED("SET_IRQS bad", tc_set_irqs_bad),
		TEST_CASE_NAMED("SET_IRQS count 0 actions", tc_set_irqs_count0_actions),
		TEST_CASE_NAMED("SET_IRQS eventfds, disconnect", tc_set_irqs_fds_dropped),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_irqs_autotest, vfio_user_irqs_suite, VFU_CASES_HOSTILE);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Message framing and dispatch: headers, sizes, types, descriptors and
 * commands the server does not take, sent by a hostile client.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <rte_common.h>

#include "test.h"
#include "vfio_user_peer.h"
#include "vfio_user_suite.h"

/*
 * Hostile client
 */

/*
 * Cases. Each gets a connected raw socket in *sp (negotiated or not, as the
 * table says); a case that closes it sets *sp to -1.
 */

/* Framing */

static int
case_short_header(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };

	/* Half a header, then end of stream: the server must close, not wait or reply. */
	CHECK_SENT(raw_send_bytes(*sp, &hdr, 8));
	shutdown(*sp, SHUT_WR);
	return expect_closed(*sp, RX_TIMEOUT_MS, "half header then EOF");
}

static int
case_short_header_close(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };

	/* Close right after half a header; the runner checks the server recovers. */
	CHECK_SENT(raw_send_bytes(*sp, &hdr, 8));
	raw_close(sp);
	return TEST_SUCCESS;
}

static int
case_short_payload_eof(int *sp)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = 32 };
	uint8_t buf[sizeof(hdr) + 4] = { 0 };

	memcpy(buf, &hdr, sizeof(hdr));
	CHECK_SENT(raw_send_bytes(*sp, buf, sizeof(buf)));
	shutdown(*sp, SHUT_WR);
	return expect_closed(*sp, RX_TIMEOUT_MS, "header + partial payload then EOF");
}

static int
send_raw_hdr(int s, uint32_t size)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = size };
	uint8_t buf[64] = { 0 };

	/* The header plus some payload bytes, whatever size says. */
	memcpy(buf, &hdr, sizeof(hdr));
	CHECK_SENT(raw_send_bytes(s, buf, sizeof(buf)));
	return TEST_SUCCESS;
}

static int
case_size_below_header(int *sp)
{
	CHECK(send_raw_hdr(*sp, 15));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 15");
}

static int
case_size_zero(int *sp)
{
	CHECK(send_raw_hdr(*sp, 0));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 0");
}

static int
case_size_above_max(int *sp)
{
	CHECK(send_raw_hdr(*sp, g_limits.max_msg_size + 1));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size max_msg_size + 1");
}

static int
case_size_4g(int *sp)
{
	CHECK(send_raw_hdr(*sp, UINT32_MAX));
	return expect_closed(*sp, RX_TIMEOUT_MS, "hdr.size 4 GiB - 1");
}

static int
case_size_max_ok(int *sp)
{
	/* Exactly max_msg_size is legal: a REGION_WRITE that long gets a real answer. */
	uint32_t len = g_limits.max_msg_size - VFIO_USER_HDR_SIZE;
	uint32_t count = len - sizeof(struct vfio_user_region_access);
	uint8_t *buf = calloc(1, len);
	int ret;

	if (buf == NULL)
		return TEST_FAILED;
	build_access(buf, HDEV_BAR_BIG, 0, count, NULL, 0);
	/* count > max_data_xfer_size: EINVAL, but the message itself was read whole. */
	ret = cmd_err(*sp, VFIO_USER_REGION_WRITE, 0, buf, len, NULL, 0, EINVAL,
		"REGION_WRITE of max_msg_size");
	free(buf);
	return ret;
}

/*
 * A message that stops short: the server gives it the stall timeout, then
 * closes. Meanwhile dev_b must answer promptly (well within the stall), i.e.
 * one stalled peer does not hold up the other sessions.
 */
#define PROMPT_MS 100

static int
stall_case(int s, uint32_t size, size_t sent, const char *what)
{
	struct vfio_user_hdr hdr = { .msg_id = nid(), .cmd = VFIO_USER_DEVICE_GET_INFO,
		.size = size };
	uint8_t buf[64] = { 0 };
	uint64_t t0, t_b, t_closed;

	memcpy(buf, &hdr, sizeof(hdr));
	t0 = now_ms();
	CHECK_SENT(raw_send_bytes(s, buf, sent));
	usleep(20 * 1000);
	CHECK(check_bystander());
	t_b = now_ms() - t0;
	CHECK(expect_closed(s, STALL_MS + 2000, what));
	t_closed = now_ms() - t0;
	printf("  %s: dev_b answered after %" PRIu64 " ms, closed after %" PRIu64 " ms\n",
		what, t_b, t_closed);
	TEST_ASSERT(t_closed >= STALL_MS - 50 && t_closed <= STALL_MS + 1000,
		"%s: closed after %" PRIu64 " ms, stall timeout %d ms", what, t_closed, STALL_MS);
	TEST_ASSERT(t_b <= 20 + PROMPT_MS,
		"%s: dev_b answered after %" PRIu64 " ms, not promptly while the stall lasted",
		what, t_b);
	return TEST_SUCCESS;
}

static int
case_size_lies(int *sp)
{
	return stall_case(*sp, 1000, 20, "hdr.size 1000, 20 bytes sent");
}

static int
case_partial_header_stall(int *sp)
{
	return stall_case(*sp, 32, 8, "8 header bytes, then nothing");
}

/* Message types */

static int
case_reply_typed_dropped(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	uint16_t id_bogus = nid(), id_bogus2 = nid(), id = nid();

	/* A reply nobody waits for, shaped like a GET_INFO command. */
	CHECK_SENT(raw_send(*sp, id_bogus, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_TYPE_REPLY, &info,
		sizeof(info), NULL, 0));
	/* An error reply to a DMA_READ never sent. */
	CHECK_SENT(raw_send(*sp, id_bogus2, VFIO_USER_DMA_READ,
		VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, NULL, 0, NULL, 0));
	CHECK_SENT(raw_send(*sp, id, VFIO_USER_DEVICE_GET_INFO, 0, &info, sizeof(info), NULL, 0));
	CHECK(expect_reply(*sp, id, VFIO_USER_DEVICE_GET_INFO, sizeof(info),
		"GET_INFO after stray replies"));
	return expect_silence(*sp, SILENCE_MS, "only one reply after stray replies");
}

static int
case_type_invalid(int *sp)
{
	struct vfio_user_device_info info = { .argsz = sizeof(info) };

	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 2, &info, sizeof(info), NULL, 0, EINVAL,
		"type 2"));
	CHECK(cmd_err(*sp, VFIO_USER_DEVICE_GET_INFO, 0xf, &info, sizeof(info), NULL, 0, EINVAL,
		"type 15"));
	return check_get_info(*sp, &dev_a, "GET_INFO after bad types");
}

/* Command ids */

static int
case_unknown_cmds(int *sp)
{
	static const uint16_t cmds[] = { 0, 14, 19, 20, 0x100, 0xffff };
	uint8_t payload[16] = { 0 };
	char what[64];
	unsigned int i;

	for (i = 0; i < RTE_DIM(cmds); i++) {
		snprintf(what, sizeof(what), "command %u", cmds[i]);
		CHECK(cmd_err(*sp, cmds[i], 0, NULL, 0, NULL, 0, ENOSYS, what));
		CHECK(cmd_err(*sp, cmds[i], 0, payload, sizeof(payload), NULL, 0, ENOSYS, what));
	}
	return check_get_info(*sp, &dev_a, "GET_INFO after unknown commands");
}

static int
case_mig_cmds_unmigratable(int *sp)
{
	uint32_t feat[4] = { 16, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, 0, 0 };

	/* dev_b registered no migration: no feature, and it never leaves RUNNING. */
	CHECK(cmd_err(b_sock, VFIO_USER_DEVICE_FEATURE, 0, feat, sizeof(feat), NULL, 0, ENOTTY,
		"DEVICE_FEATURE"));
	CHECK(cmd_err(b_sock, VFIO_USER_MIG_DATA_READ, 0, feat, 8, NULL, 0, EINVAL,
		"MIG_DATA_READ"));
	CHECK(cmd_err(b_sock, VFIO_USER_MIG_DATA_WRITE, 0, feat, sizeof(feat), NULL, 0, EINVAL,
		"MIG_DATA_WRITE"));
	return check_get_info(*sp, &dev_a, "GET_INFO after migration commands");
}

/* Descriptors */

static int
case_too_many_fds(int *sp)
{
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x10000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .addr = 0x10000000,
		.size = 0x1000 };
	int fds[20], base, ret;

	if (open_eventfds(fds, RTE_DIM(fds)) < 0)
		return TEST_FAILED;
	base = count_fds();
	ret = cmd_err(*sp, VFIO_USER_DMA_MAP, 0, &map, sizeof(map), fds, RTE_DIM(fds), EINVAL,
		"DMA_MAP with 20 fds");
	if (ret == TEST_SUCCESS)
		ret = fds_wait(base, "20 fds refused");
	close_fds(fds, RTE_DIM(fds));
	CHECK(ret);
	/* The stream stays usable; the map was not made: unmap finds nothing. */
	return cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap of refused map");
}

/* NO_REPLY */

static int
case_no_reply_write(int *sp)
{
	uint8_t buf[64], data[4] = { 0xde, 0xad, 0xbe, 0xef }, got[4];
	uint32_t len = build_access(buf, HDEV_BAR_RW, 0x40, 4, data, 4);

	memset(dev_a.base_mem + 0x40, 0, 4);
	CHECK_SENT(raw_send(*sp, nid(), VFIO_USER_REGION_WRITE, VFIO_USER_F_NO_REPLY, buf, len,
		NULL, 0));
	CHECK(region_read_ok(*sp, HDEV_BAR_RW, 0x40, 4, got,
		"REGION_READ after NO_REPLY write"));
	TEST_ASSERT(memcmp(got, data, 4) == 0, "NO_REPLY write not performed: %02x%02x%02x%02x",
		got[0], got[1], got[2], got[3]);
	return expect_silence(*sp, SILENCE_MS, "only one reply after NO_REPLY write");
}

static int
case_no_reply_error(int *sp)
{
	uint8_t buf[64];
	uint32_t len = build_access(buf, 99, 0, 4, NULL, 0);

	/* Failing commands with NO_REPLY stay silent too. */
	CHECK_SENT(raw_send(*sp, nid(), VFIO_USER_REGION_READ, VFIO_USER_F_NO_REPLY, buf, len,
		NULL, 0));
	CHECK_SENT(raw_send(*sp, nid(), 0x7777, VFIO_USER_F_NO_REPLY, NULL, 0, NULL, 0));
	CHECK(check_get_info(*sp, &dev_a, "GET_INFO after NO_REPLY errors"));
	return expect_silence(*sp, SILENCE_MS, "no reply to NO_REPLY errors");
}

/* Fixed payload sizes */

static int
case_wrong_sizes(int *sp)
{
	/*
	 * Valid contents for each command, sent with a wrong length: shorter
	 * than the structure, or longer where the size is exact (requests with
	 * an argsz may be longer: case_argsz_requests).
	 */
	uint8_t p[128];
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x30000000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = sizeof(um), .addr = 0x30000000,
		.size = 0x1000 };
	struct vfio_user_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = HDEV_BAR_RW };
	struct vfio_user_region_io_fds_req io = { .argsz = sizeof(io), .index = HDEV_BAR_RW };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_user_region_access ra = { .offset = 0, .region = HDEV_BAR_RW, .count = 4 };
	const struct {
		uint16_t cmd;
		const void *body;
		uint32_t fixed;
		uint32_t len;
		const char *what;
	} cases[] = {
		{ VFIO_USER_DMA_MAP, &map, 32, 31, "DMA_MAP 31" },
		{ VFIO_USER_DMA_MAP, &map, 32, 33, "DMA_MAP 33" },
		{ VFIO_USER_DMA_MAP, &map, 32, 40, "DMA_MAP 40" },
		{ VFIO_USER_DMA_UNMAP, &um, 24, 23, "DMA_UNMAP 23" },
		{ VFIO_USER_DEVICE_GET_INFO, &di, 16, 0, "GET_INFO 0" },
		{ VFIO_USER_DEVICE_GET_INFO, &di, 16, 15, "GET_INFO 15" },
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 32, 16, "GET_REGION_INFO 16" },
		{ VFIO_USER_DEVICE_GET_REGION_INFO, &ri, 32, 31, "GET_REGION_INFO 31" },
		{ VFIO_USER_DEVICE_GET_REGION_IO_FDS, &io, 16, 15, "GET_REGION_IO_FDS 15" },
		{ VFIO_USER_DEVICE_GET_IRQ_INFO, &ii, 16, 15, "GET_IRQ_INFO 15" },
		{ VFIO_USER_REGION_READ, &ra, 16, 15, "REGION_READ 15" },
		{ VFIO_USER_REGION_READ, &ra, 16, 17, "REGION_READ 17" },
		{ VFIO_USER_REGION_READ, &ra, 16, 20, "REGION_READ 20" },
		{ VFIO_USER_DEVICE_RESET, NULL, 0, 1, "RESET 1" },
		{ VFIO_USER_DEVICE_RESET, NULL, 0, 4, "RESET 4" },
	};
	unsigned int i, resets = tdev_ev_count(&dev_a, TDEV_EV_RESET, -1);

	for (i = 0; i < RTE_DIM(cases); i++) {
		memset(p, 0, sizeof(p));
		if (cases[i].body != NULL)
			memcpy(p, cases[i].body, cases[i].fixed);
		CHECK(cmd_err(*sp, cases[i].cmd, 0, p, cases[i].len, NULL, 0, EINVAL,
			cases[i].what));
	}
	TEST_ASSERT_EQUAL(tdev_ev_count(&dev_a, TDEV_EV_RESET, -1), resets,
		"reset_device called for a RESET with a payload");
	/* No DMA_MAP of a wrong size was made. */
	CHECK(cmd_err(*sp, VFIO_USER_DMA_UNMAP, 0, &um, sizeof(um), NULL, 0, ENOENT,
		"unmap after refused maps"));
	return TEST_SUCCESS;
}

/*
 * "The *request* payload size is defined by the usual msg_size field in the
 * header, not the argsz field": a request carrying argsz bytes, as clients
 * built on the kernel's ioctl structures send, is accepted and the bytes past
 * the structure are ignored. DMA_MAP keeps its exact size: "This structure is
 * 32 bytes in size, so the message size is 16 + 32 bytes."
 */
static int
case_argsz_requests(int *sp)
{
	uint8_t p[128];
	struct vfio_region_info ri = { .argsz = 64, .index = HDEV_BAR_BIG };
	struct vfio_user_device_info di = { .argsz = 32 };
	struct vfio_irq_info ii = { .argsz = 32, .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_user_region_io_fds_req io = { .argsz = 32, .index = HDEV_BAR_BIG };
	struct vfio_user_dma_map map = { .argsz = sizeof(map), .flags = 3, .addr = 0x100000,
		.size = 0x1000 };
	struct vfio_user_dma_unmap um = { .argsz = 32, .addr = 0x100000, .size = 0x1000 };

	memset(p, 0, sizeof(p));
	memcpy(p, &ri, sizeof(ri));
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_REGION_INFO, p, 64, NULL, 0, sizeof(ri),
		"GET_REGION_INFO of 64 bytes"));
	memset(p, 0, sizeof(p));
	memcpy(p, &di, sizeof(di));
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_INFO, p, 32, NULL, 0, -1, "GET_INFO of 32 bytes"));
	memset(p, 0, sizeof(p));
	memcpy(p, &ii, sizeof(ii));
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_IRQ_INFO, p, 32, NULL, 0, -1,
		"GET_IRQ_INFO of 32 bytes"));
	memset(p, 0, sizeof(p));
	memcpy(p, &io, sizeof(io));
	CHECK(cmd_ok(*sp, VFIO_USER_DEVICE_GET_REGION_IO_FDS, p, 32, NULL, 0, -1,
		"GET_REGION_IO_FDS of 32 bytes"));
	memset(p, 0, sizeof(p));
	memcpy(p, &map, sizeof(map));
	CHECK(cmd_err(*sp, VFIO_USER_DMA_MAP, 0, p, 40, NULL, 0, EINVAL, "DMA_MAP of 40 bytes"));
	CHECK(cmd_ok(*sp, VFIO_USER_DMA_MAP, p, 32, NULL, 0, -1, "DMA_MAP"));
	memset(p, 0, sizeof(p));
	memcpy(p, &um, sizeof(um));
	return cmd_ok(*sp, VFIO_USER_DMA_UNMAP, p, 32, NULL, 0, sizeof(um),
		"DMA_UNMAP of 32 bytes");
}

/* Pipelining */

#define PIPE_N 50

static int
case_pipelined_reads(int *sp)
{
	struct vfio_user_hdr hdr;
	struct vfio_user_region_access a;
	const uint32_t msz = sizeof(hdr) + sizeof(a);
	uint8_t buf[PIPE_N * (sizeof(hdr) + sizeof(a))];
	uint16_t id0 = g_next_id;
	char what[64];
	int i;

	g_next_id += PIPE_N;
	tdev_fill(dev_a.base_mem, HDEV_RW_SIZE, 0x9e);
	for (i = 0; i < PIPE_N; i++) {
		hdr = (struct vfio_user_hdr){ .msg_id = id0 + i, .cmd = VFIO_USER_REGION_READ,
			.size = msz };
		a = (struct vfio_user_region_access){ .offset = i * 8, .region = HDEV_BAR_RW,
			.count = 8 };
		memcpy(buf + i * msz, &hdr, sizeof(hdr));
		memcpy(buf + i * msz + sizeof(hdr), &a, sizeof(a));
	}
	CHECK_SENT(raw_send_bytes(*sp, buf, sizeof(buf)));
	for (i = 0; i < PIPE_N; i++) {
		snprintf(what, sizeof(what), "pipelined REGION_READ %d", i);
		CHECK(expect_reply(*sp, (uint16_t)(id0 + i), VFIO_USER_REGION_READ,
			sizeof(a) + 8, what));
		memcpy(&a, rx.data, sizeof(a));
		TEST_ASSERT(a.offset == (uint64_t)i * 8 && a.region == HDEV_BAR_RW &&
			a.count == 8 &&
			memcmp(rx.data + sizeof(a), dev_a.base_mem + i * 8, 8) == 0,
			"%s: wrong reply contents", what);
	}
	return expect_silence(*sp, SILENCE_MS, "nothing after 50 replies");
}

HCASE(short_header, true)
HCASE(short_header_close, true)
HCASE(short_payload_eof, true)
HCASE(size_below_header, true)
HCASE(size_zero, true)
HCASE(size_above_max, true)
HCASE(size_4g, true)
HCASE(size_max_ok, true)
HCASE(size_lies, true)
HCASE(partial_header_stall, true)
HCASE(reply_typed_dropped, true)
HCASE(type_invalid, true)
HCASE(unknown_cmds, true)
HCASE(mig_cmds_unmigratable, true)
HCASE(too_many_fds, true)
HCASE(no_reply_write, true)
HCASE(no_reply_error, true)
HCASE(wrong_sizes, true)
HCASE(argsz_requests, true)
HCASE(pipelined_reads, true)

static struct unit_test_suite vfio_user_framing_suite = {
	.suite_name = "vfio-user message framing",
	.setup = vfu_suite_setup,
	.teardown = vfu_suite_teardown,
	.unit_test_cases = {
		TEST_CASE_NAMED("short header, EOF", tc_short_header),
		TEST_CASE_NAMED("short header, close", tc_short_header_close),
		TEST_CASE_NAMED("short payload, EOF", tc_short_payload_eof),
		TEST_CASE_NAMED("size 15", tc_size_below_header),
		TEST_CASE_NAMED("size 0", tc_size_zero),
		TEST_CASE_NAMED("size above max", tc_size_above_max),
		TEST_CASE_NAMED("size 4 GiB - 1", tc_size_4g),
		TEST_CASE_NAMED("size exactly max", tc_size_max_ok),
		TEST_CASE_NAMED("size that lies (stall)", tc_size_lies),
		TEST_CASE_NAMED("partial header (stall)", tc_partial_header_stall),
		TEST_CASE_NAMED("reply-typed messages dropped", tc_reply_typed_dropped),
		TEST_CASE_NAMED("type bits 2 and 15", tc_type_invalid),
		TEST_CASE_NAMED("unknown commands", tc_unknown_cmds),
		TEST_CASE_NAMED("migration commands, no migration", tc_mig_cmds_unmigratable),
		TEST_CASE_NAMED("20 fds", tc_too_many_fds),
		TEST_CASE_NAMED("NO_REPLY write", tc_no_reply_write),
		TEST_CASE_NAMED("NO_REPLY errors", tc_no_reply_error),
		TEST_CASE_NAMED("wrong payload sizes", tc_wrong_sizes),
		TEST_CASE_NAMED("requests carrying their argsz", tc_argsz_requests),
		TEST_CASE_NAMED("50 pipelined reads", tc_pipelined_reads),
		TEST_CASES_END()
	},
};

REGISTER_VFU_SUITE(vfio_user_framing_autotest, vfio_user_framing_suite, VFU_CASES_HOSTILE);

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Fuzz target of the server: the input (see fuzz_common.h) is what one
 * client sends, descriptors included, to a test device served by the
 * library. Replies are read and dropped as they come; at the end the
 * client half-closes and waits for the server to close the session, so
 * that every input starts on a fresh session of the same device.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "fuzz_common.h"
#include "test_vfio_user_common.h"

#define SESSION_END_MS 2000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tdev dev;
static struct sockaddr_un addr;
static uint8_t scratch[65536];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	if (fuzz_eal_init("vfu-fuzz-server") < 0)
		abort();
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/server.sock", fuzz_sock_dir());
	if (tdev_create(&dev, addr.sun_path, NULL, true) < 0) {
		fprintf(stderr, "cannot create the test device\n");
		abort();
	}
	/* Writes to BAR0 TDEV_REG_DMA_IOVA start DMA: the server's requests, our replies. */
	dev.cb_dma_job = true;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rec rec;
	int sock;

	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		abort();
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		abort();
	}
	while (fuzz_next_rec(&data, &size, &rec) == 0) {
		if (fuzz_send_rec(sock, &rec, scratch) < 0)
			break;
		if (fuzz_drain(sock, 0) < 0)
			break;
	}
	/* The server must end the session once we stop sending: wait for it. */
	shutdown(sock, SHUT_WR);
	while (fuzz_drain(sock, SESSION_END_MS) > 0)
		;
	close(sock);
	return 0;
}

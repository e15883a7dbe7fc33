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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "fuzz_common.h"
#include "test_vfio_user_common.h"

#define SESSION_END_MS 2000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tdev dev;
static uint8_t scratch[65536];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct tdev_cfg cfg = {
		.mig_flags = RTE_VFIO_USER_MIG_F_STOP_COPY | RTE_VFIO_USER_MIG_F_PRE_COPY,
	};
	char path[sizeof(dev.path)];

	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	if (fuzz_eal_init("vfu-fuzz-server") < 0)
		abort();
	snprintf(path, sizeof(path), "%s/server.sock", fuzz_sock_dir());
	/* A migratable device: the migration commands reach the state machine. */
	if (tdev_create(&dev, path, &cfg, true) < 0) {
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
	fuzz_client_session(dev.path, data, size, SESSION_END_MS, scratch);
	return 0;
}

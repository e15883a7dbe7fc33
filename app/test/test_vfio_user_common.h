/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _TEST_VFIO_USER_COMMON_H_
#define _TEST_VFIO_USER_COMMON_H_

/*
 * An emulated PCI device for the functional tests, an event recorder for its
 * notify callbacks, and fd/mapping counters for leak checks.
 *
 * The device is described with the raw set_dev_info/set_reg_info/set_irq_info
 * trio, not the PCI helper (rte_vfio_user_pci.h): the protocol tests need
 * shapes no PCI function has, and assert them (a read-only BAR, a 12 KiB BAR
 * with a region type capability, a flat writable config space whose callback
 * refuses vendor-id writes with EPERM, VFIO-maskable MSI, unmaskable MSI-X).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rte_vfio_user.h>

/* Region layout of the test device. */
#define TDEV_BAR_CB 0       /* callback region (BAR0) */
#define TDEV_BAR_BASE 1     /* served from base memory (BAR1) */
#define TDEV_BAR_RO 2       /* read-only, base memory (BAR2) */
#define TDEV_BAR_MMAP 3     /* whole-region mmap from a memfd (BAR3) */
#define TDEV_BAR_SPARSE 4   /* sparse mmap + region type caps, no base (BAR4) */
#define TDEV_BAR_EMPTY 5    /* size 0 (BAR5) */

#define TDEV_MMAP_SIZE 0x10000
#define TDEV_SPARSE_OFF 0x10000  /* offset of BAR4 in the memfd */
#define TDEV_SPARSE_SIZE 0x3000
#define TDEV_MEMFD_SIZE (TDEV_SPARSE_OFF + TDEV_SPARSE_SIZE)
#define TDEV_RO_SIZE 0x1000
#define TDEV_CFG_SIZE 256

/* Region type capability advertised on BAR4. */
#define TDEV_REG_TYPE 0x80001234u
#define TDEV_REG_SUBTYPE 7u

/* Registers of the callback region (BAR0). */
#define TDEV_REG_DMA_IOVA 0x800   /* write 8 bytes: run the DMA job at this iova */
#define TDEV_REG_DMA_RD_RC 0x808  /* int64: dma_read result */
#define TDEV_REG_DMA_LEN 0x810    /* u64: job length */
#define TDEV_REG_DMA_HASH 0x818   /* u64: FNV-1a of the data read */
#define TDEV_REG_DMA_WR_RC 0x820  /* int64: dma_write result */
#define TDEV_DMA_MAX_LEN (64u << 20) /* longer DMA jobs fail with -ENOMEM */
#define TDEV_ERR_START 0xf00      /* accesses here fail with -EIO */
#define TDEV_ERR_END 0xf10

/* Interrupts: INTx 1 (maskable), MSI 4 (maskable), MSI-X 32, ERR 1, REQ 1. */
#define TDEV_MSI_COUNT 4
#define TDEV_MSIX_COUNT 32

/* ioeventfds handed out for BAR0. */
#define TDEV_NR_IO_FDS 3

#define TDEV_PCI_VENDOR 0x1af4
#define TDEV_PCI_DEVICE 0x10f5

struct tdev_cfg {
	uint64_t cb_size;   /* BAR0 size (>= 4 KiB) */
	uint64_t base_size; /* BAR1 size */
	bool no_reset;      /* leave out VFIO_DEVICE_FLAGS_RESET */
	uint32_t msix_count; /* MSI-X vectors, 0: TDEV_MSIX_COUNT */
	bool no_msi;        /* an MSI index without vectors */
	/* RTE_VFIO_USER_MIG_F_* of a migratable device (test_vfio_user_mig_dev.c), 0: none. */
	uint64_t mig_flags;
};

enum tdev_ev_type {
	TDEV_EV_NEW,
	TDEV_EV_DESTROY,
	TDEV_EV_UPDATE,
	TDEV_EV_LOCK,
	TDEV_EV_RESET,
	TDEV_EV_MIG, /* a migration arc: arg is TDEV_ARC(from, to) */
};

#define TDEV_ARC(from, to) ((int)(from) << 4 | (int)(to))

struct tdev_ev {
	enum tdev_ev_type type;
	int arg;
	/* lock_dp and update_status(DMA): DMA table entries seen then, or -errno. */
	int tbl;
};

#define TDEV_MAX_EVS 4096

struct tdev {
	char path[256];
	int id;
	bool started;
	struct tdev_cfg cfg;

	struct vfio_device_info dev_info;
	struct rte_vfio_user_reg_info regs[VFIO_PCI_NUM_REGIONS];
	struct vfio_region_info *infos[VFIO_PCI_NUM_REGIONS];
	struct vfio_irq_info irqs[VFIO_PCI_NUM_IRQS];
	struct rte_vfio_user_io_fd io_fds[TDEV_NR_IO_FDS];
	int io_efd[2];

	uint8_t *cb_mem;
	uint8_t *base_mem;
	uint8_t *ro_mem;
	uint8_t cfg_space[TDEV_CFG_SIZE];
	int memfd;
	uint8_t *memfd_map; /* our own view of the whole memfd */

	/* Callback statistics (updated on the control thread). */
	uint64_t cb_calls;
	uint64_t cb_last_count;
	uint64_t cb_max_count;
	uint64_t cb_last_offset;
	bool cb_last_write;
	bool cb_bad_range; /* the library passed offset/count outside the region */
	bool cb_dma_job;   /* run the DMA job on TDEV_REG_DMA_IOVA writes */
	uint32_t cb_sleep_ms; /* every BAR0 access blocks this long (a stuck device) */

	/*
	 * Migration (control thread). The state saved is BAR1 (base memory) and
	 * the config space, as records of a header and that payload: the save
	 * stream holds one record per saving state entered.
	 */
	uint8_t *mig_out;       /* save stream */
	size_t mig_out_len;
	size_t mig_out_pos;     /* bytes read so far */
	uint8_t *mig_in;        /* record being loaded */
	size_t mig_in_len;
	unsigned int mig_loaded; /* records loaded */
	int mig_fail_arc;       /* TDEV_ARC() of an arc failing with -EIO, 0: none */

	pthread_mutex_t ev_lock;
	unsigned int nr_destroyed; /* destroy_device calls, also past TDEV_MAX_EVS events */
	unsigned int nr_evs;
	struct tdev_ev evs[TDEV_MAX_EVS];
};

/* Create, describe (and start when @start) a test device on @path. */
int tdev_create(struct tdev *d, const char *path, const struct tdev_cfg *cfg, bool start);
/* Unregister the device and free everything it holds. */
void tdev_destroy(struct tdev *d);
/* Wait up to @timeout_ms for every client the device saw to go, then destroy it. */
void tdev_close(struct tdev *d, int timeout_ms);

/* Events: number recorded so far, count of a given event, wait for a count. */
unsigned int tdev_ev_num(struct tdev *d);
unsigned int tdev_ev_count(struct tdev *d, enum tdev_ev_type type, int arg);
int tdev_ev_wait(struct tdev *d, enum tdev_ev_type type, int arg, unsigned int n,
		int timeout_ms);
/* Copy events [from, from + n) to @out; returns how many were copied. */
unsigned int tdev_ev_get(struct tdev *d, unsigned int from, struct tdev_ev *out, unsigned int n);
const char *tdev_ev_name(enum tdev_ev_type type);

/* For the device's callbacks: the test device of a server device id, record an event. */
struct tdev *tdev_lookup(int id);
void tdev_ev_add(int id, enum tdev_ev_type type, int arg);

/* Migration model of the test device: register it, drop its buffers. */
int tdev_mig_register(struct tdev *d);
void tdev_mig_drop(struct tdev *d);
/* Bytes of one saved record of @d. */
size_t tdev_mig_record_size(const struct tdev *d);

/* FNV-1a 64. */
uint64_t tdev_hash(const void *buf, size_t len);
/* Deterministic byte pattern. */
void tdev_fill(void *buf, size_t len, uint32_t seed);

/*
 * rte_vfio_user_mig_save_for_restart() on a client device the vfio_user bus
 * attached. With default_library=both the test binary holds the static
 * library beside the shared one the drivers link: the bus may use either
 * copy (it depends on how the link resolved), and only that copy knows the
 * device, so the other is tried when the first does not.
 */
int bus_client_save_for_restart(int dev_id);

/* Leak accounting. */
struct leak_snap {
	int fds;
	int maps; /* file-backed and memfd mappings */
};
void leak_snap(struct leak_snap *s);
/* Wait up to @timeout_ms for the counts to come back to @s; 0 if they do. */
int leak_wait(const struct leak_snap *s, int timeout_ms, struct leak_snap *now);
void leak_dump_fds(void);
/* leak_wait() as a test verdict: TEST_SUCCESS, or TEST_FAILED with the leak printed. */
int leak_check(const struct leak_snap *before, int timeout_ms);

/* Descriptors open in the process; lines of /proc/self/maps holding @needle (NULL: all). */
int count_fds(void);
int count_maps_lines(const char *needle);
/* Descriptors whose target contains @needle. */
int count_fds_named(const char *needle);
/* Close the open ones of @fds[0..n) and set them to -1. */
void close_fds(int *fds, int n);
/* @n non-blocking eventfds: 0, or -1 with none left open. */
int open_eventfds(int *fds, int n);

/* Eventfd helpers: value read (> 0) or 0 if not signalled within @timeout_ms. */
uint64_t efd_wait(int fd, int timeout_ms);

uint64_t now_ms(void);

/* Remove the files in the flat directory @dir, then @dir. */
void dir_remove(const char *dir);

#endif /* _TEST_VFIO_USER_COMMON_H_ */

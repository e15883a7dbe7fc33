/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * dpdk-vfio-user-dma-copy: copies buffers through a DMA device (any dmadev:
 * the vfio-user DMA engine through the dma_vfio_user driver, DPDK's software
 * dma_skeleton, ...), checks the copies, and prints throughput and the
 * latency of single copies for a set of sizes.
 *
 * Several --dev options, and --memcpy, measure several back ends in one run:
 * their measurements alternate in slices so that all see the same machine
 * conditions, and the first back end is compared with each of the others.
 * The program reports; it only fails when a copy is wrong, a device reports
 * an error or stops completing, or an option is bad.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#define MAX_BACKENDS 8
#define MAX_SIZES 16
#define MAX_SIZE (4u << 20)
#define DEF_BURST 32
#define MAX_BURST 256
#define DEF_RING 1024
#define DEF_SECONDS 1.0
#define DEF_ROUNDS 4
#define DEF_LAT_SAMPLES 4000
/* Source and destination buffers of one size together stay under this. */
#define BUF_BUDGET (16u << 20)
/* Bytes after each destination that a copy must leave alone. */
#define GUARD 64
#define GUARD_BYTE 0xa5
#define CLEAR_BYTE 0x5a
/* Copies checked one by one before each size is measured. */
#define CHECK_COPIES 64
/* A device that completes nothing for this long while copies are pending has stalled. */
#define STALL_S 5.0
/* Copies before latency samples are kept: wakes up a sleeping copy thread. */
#define LAT_WARMUP 64

enum backend_kind { BACKEND_DMADEV, BACKEND_MEMCPY };

struct backend {
	enum backend_kind kind;
	char name[RTE_DEV_NAME_MAX_LEN];
	int16_t dev_id;
	uint16_t nb_desc;
	bool started;
	bool failed;
	/* Results of the current size, summed over the rounds. */
	uint64_t copies;
	uint64_t cycles;
	uint64_t verified;
	uint64_t *lat; /* latency samples in TSC cycles */
	uint32_t nb_lat;
};

struct bufs {
	uint32_t size;
	uint32_t nb;   /* power of two */
	uint8_t **src, **dst;
	rte_iova_t *src_iova, *dst_iova;
};

static const char *opt_devs[MAX_BACKENDS];
static unsigned int nb_opt_devs;
static bool opt_memcpy;
static uint32_t opt_sizes[MAX_SIZES] = { 64, 1024, 4096, 65536 };
static unsigned int nb_sizes = 4;
static unsigned int opt_burst = DEF_BURST;
static unsigned int opt_ring = DEF_RING;
static double opt_seconds = DEF_SECONDS;
static uint64_t opt_count; /* 0: run for opt_seconds */
static unsigned int opt_rounds = DEF_ROUNDS;
static unsigned int opt_lat_samples = DEF_LAT_SAMPLES;
static bool opt_verify;
static pid_t opt_pause_pid; /* 0: none */

static struct backend backends[MAX_BACKENDS + 1];
static unsigned int nb_backends;
static volatile sig_atomic_t quit;
static uint64_t tsc_hz;

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	quit = 1;
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [options]\n"
	       "  --dev NAME       dmadev to copy through (default: the first one, if any);\n"
	       "                   repeat it to measure several devices in one run, the first\n"
	       "                   compared with the others\n"
	       "  --memcpy         also measure memcpy() on this lcore\n"
	       "  --sizes LIST     copy sizes, comma separated, K and M suffixes for KiB and MiB\n"
	       "                   (default 64,1K,4K,64K; at most %u of them, each at most 4M)\n"
	       "  --burst N        copies enqueued per doorbell (default %u, at most %u)\n"
	       "  --ring N         descriptors of the channel (default %u, within the device's\n"
	       "                   limits)\n"
	       "  --seconds S      throughput measurement time per size and back end\n"
	       "                   (default %.1f)\n"
	       "  --count N        copies per size and back end instead of a time\n"
	       "  --rounds N       slices that the measurements of the back ends alternate in\n"
	       "                   (default %u)\n"
	       "  --lat-samples N  single copies timed per size and back end (default %u,\n"
	       "                   0: none)\n"
	       "  --verify         check every copy of the measurement too, not only the copies\n"
	       "                   checked before it\n"
	       "  --pause-pid PID  for benchmarks: stop process PID (SIGSTOP) while back ends\n"
	       "                   other than the first run, resume it (SIGCONT) for the first,\n"
	       "                   so that a server polling for the first does not take CPU time\n"
	       "                   from the others\n"
	       "  --help           this text\n",
	       prog, MAX_SIZES, DEF_BURST, MAX_BURST, DEF_RING, DEF_SECONDS, DEF_ROUNDS,
	       DEF_LAT_SAMPLES);
}

static int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_sizes(const char *arg)
{
	char buf[256];
	char *rest = buf, *tok;
	unsigned int n = 0;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	while ((tok = strsep(&rest, ",")) != NULL) {
		size_t len = strlen(tok);
		uint64_t mult = 1, v;

		if (len > 0 && (tok[len - 1] == 'K' || tok[len - 1] == 'k')) {
			mult = 1024;
			tok[--len] = '\0';
		} else if (len > 0 && (tok[len - 1] == 'M' || tok[len - 1] == 'm')) {
			mult = 1024 * 1024;
			tok[--len] = '\0';
		}
		if (n == MAX_SIZES || parse_uint(tok, 1, MAX_SIZE, &v) < 0 || v * mult > MAX_SIZE)
			return -EINVAL;
		opt_sizes[n++] = (uint32_t)(v * mult);
	}
	if (n == 0)
		return -EINVAL;
	nb_sizes = n;
	return 0;
}

static int
parse_args(int argc, char **argv, const char *prog)
{
	enum {
		OPT_DEV = 256, OPT_MEMCPY, OPT_SIZES, OPT_BURST, OPT_RING, OPT_SECONDS,
		OPT_COUNT, OPT_ROUNDS, OPT_LAT, OPT_VERIFY, OPT_PAUSE, OPT_HELP,
	};
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, OPT_DEV },
		{ "memcpy", no_argument, NULL, OPT_MEMCPY },
		{ "sizes", required_argument, NULL, OPT_SIZES },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "lat-samples", required_argument, NULL, OPT_LAT },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "pause-pid", required_argument, NULL, OPT_PAUSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_seconds = false;
	uint64_t v;
	char *end;
	int opt;

	/* rte_eal_init() already ran getopt on the EAL part. */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_DEV:
			if (nb_opt_devs == MAX_BACKENDS) {
				fprintf(stderr, "error: at most %u --dev options\n", MAX_BACKENDS);
				return -EINVAL;
			}
			if (*optarg == '\0') {
				fprintf(stderr, "error: --dev needs a device name\n");
				return -EINVAL;
			}
			opt_devs[nb_opt_devs++] = optarg;
			break;
		case OPT_MEMCPY:
			opt_memcpy = true;
			break;
		case OPT_SIZES:
			if (parse_sizes(optarg) < 0) {
				fprintf(stderr,
					"error: bad --sizes '%s': sizes from 1 to 4M, at most %u\n",
					optarg, MAX_SIZES);
				return -EINVAL;
			}
			break;
		case OPT_BURST:
			if (parse_uint(optarg, 1, MAX_BURST, &v) < 0) {
				fprintf(stderr, "error: bad --burst '%s': 1 to %u\n", optarg,
					MAX_BURST);
				return -EINVAL;
			}
			opt_burst = (unsigned int)v;
			break;
		case OPT_RING:
			if (parse_uint(optarg, 2, UINT16_MAX, &v) < 0 || !rte_is_power_of_2(v)) {
				fprintf(stderr,
					"error: bad --ring '%s': a power of two up to 32768\n",
					optarg);
				return -EINVAL;
			}
			opt_ring = (unsigned int)v;
			break;
		case OPT_SECONDS:
			errno = 0;
			opt_seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(opt_seconds > 0 && opt_seconds <= 3600)) {
				fprintf(stderr,
					"error: bad --seconds '%s': above 0, at most 3600\n",
					optarg);
				return -EINVAL;
			}
			have_seconds = true;
			break;
		case OPT_COUNT:
			if (parse_uint(optarg, 1, UINT64_C(1) << 40, &v) < 0) {
				fprintf(stderr, "error: bad --count '%s'\n", optarg);
				return -EINVAL;
			}
			opt_count = v;
			break;
		case OPT_ROUNDS:
			if (parse_uint(optarg, 1, 1000, &v) < 0) {
				fprintf(stderr, "error: bad --rounds '%s': 1 to 1000\n", optarg);
				return -EINVAL;
			}
			opt_rounds = (unsigned int)v;
			break;
		case OPT_LAT:
			if (parse_uint(optarg, 0, 10000000, &v) < 0) {
				fprintf(stderr, "error: bad --lat-samples '%s'\n", optarg);
				return -EINVAL;
			}
			opt_lat_samples = (unsigned int)v;
			break;
		case OPT_VERIFY:
			opt_verify = true;
			break;
		case OPT_PAUSE:
			/* Not init, not ourselves: stopping those would hang. */
			if (parse_uint(optarg, 2, INT32_MAX, &v) < 0 || (pid_t)v == getpid() ||
			    kill((pid_t)v, 0) < 0) {
				fprintf(stderr, "error: bad --pause-pid '%s': not another"
					" process we may signal\n", optarg);
				return -EINVAL;
			}
			opt_pause_pid = (pid_t)v;
			break;
		case OPT_HELP:
			usage(prog);
			return 1;
		case ':':
			fprintf(stderr, "error: %s needs an argument\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "error: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (have_seconds && opt_count != 0) {
		fprintf(stderr, "error: --seconds and --count exclude each other\n");
		return -EINVAL;
	}
	if (opt_count != 0 && opt_count < opt_rounds)
		opt_rounds = (unsigned int)opt_count;
	return 0;
}

/* Let the process given by --pause-pid run only while the first back end is measured. */
static void
pause_others(bool run)
{
	static bool stopped;

	if (opt_pause_pid == 0 || stopped == !run)
		return;
	if (kill(opt_pause_pid, run ? SIGCONT : SIGSTOP) < 0)
		fprintf(stderr, "warning: cannot %s process %d: %s\n", run ? "resume" : "stop",
			(int)opt_pause_pid, strerror(errno));
	stopped = !run;
}

/*
 * Back ends.
 */

static int
dmadev_open(struct backend *b)
{
	struct rte_dma_info info;
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vconf = { .direction = RTE_DMA_DIR_MEM_TO_MEM };
	int ret;

	ret = rte_dma_info_get(b->dev_id, &info);
	if (ret < 0) {
		fprintf(stderr, "error: %s: no device information: %s\n", b->name,
			strerror(-ret));
		return ret;
	}
	if (!(info.dev_capa & RTE_DMA_CAPA_MEM_TO_MEM) ||
	    !(info.dev_capa & RTE_DMA_CAPA_OPS_COPY)) {
		fprintf(stderr, "error: %s cannot copy memory to memory\n", b->name);
		return -ENOTSUP;
	}
	vconf.nb_desc = RTE_MAX(RTE_MIN((uint16_t)opt_ring, info.max_desc), info.min_desc);
	ret = rte_dma_configure(b->dev_id, &conf);
	if (ret == 0)
		ret = rte_dma_vchan_setup(b->dev_id, 0, &vconf);
	if (ret == 0)
		ret = rte_dma_start(b->dev_id);
	if (ret < 0) {
		fprintf(stderr, "error: %s: cannot set up a channel of %u descriptors: %s\n",
			b->name, vconf.nb_desc, strerror(-ret));
		return ret;
	}
	b->nb_desc = vconf.nb_desc;
	b->started = true;
	printf("%s: dmadev %d, %u descriptors, driver capabilities 0x%" PRIx64 "\n",
	       b->name, b->dev_id, b->nb_desc, info.dev_capa);
	return 0;
}

static int
add_backends(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nb_opt_devs; i++) {
		struct backend *b = &backends[nb_backends];
		int id = rte_dma_get_dev_id_by_name(opt_devs[i]);

		if (id < 0) {
			fprintf(stderr, "error: no dmadev named '%s' (%u dmadevs exist)\n",
				opt_devs[i], rte_dma_count_avail());
			return -ENODEV;
		}
		b->kind = BACKEND_DMADEV;
		b->dev_id = (int16_t)id;
		snprintf(b->name, sizeof(b->name), "%s", opt_devs[i]);
		nb_backends++;
	}
	if (nb_opt_devs == 0) {
		struct backend *b = &backends[nb_backends];
		struct rte_dma_info info;
		int16_t id = rte_dma_next_dev(0);

		if (id >= 0 && rte_dma_info_get(id, &info) == 0) {
			b->kind = BACKEND_DMADEV;
			b->dev_id = id;
			snprintf(b->name, sizeof(b->name), "%s", info.dev_name);
			nb_backends++;
		} else if (!opt_memcpy) {
			fprintf(stderr, "error: no dmadev found: give the device with EAL -a or"
				" --vdev (and its driver with -d)\n");
			return -ENODEV;
		}
	}
	for (i = 0; i < nb_backends; i++) {
		unsigned int j;

		for (j = 0; j < i; j++) {
			if (backends[j].dev_id == backends[i].dev_id) {
				fprintf(stderr, "error: %s is given twice\n", backends[i].name);
				return -EINVAL;
			}
		}
		ret = dmadev_open(&backends[i]);
		if (ret < 0)
			return ret;
	}
	if (opt_memcpy) {
		struct backend *b = &backends[nb_backends++];

		b->kind = BACKEND_MEMCPY;
		b->dev_id = -1;
		snprintf(b->name, sizeof(b->name), "memcpy");
	}
	for (i = 0; i < nb_backends; i++) {
		backends[i].lat = malloc(sizeof(uint64_t) * RTE_MAX(opt_lat_samples, 1u));
		if (backends[i].lat == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
close_backends(void)
{
	unsigned int i;

	for (i = 0; i < nb_backends; i++) {
		struct backend *b = &backends[i];

		if (b->started) {
			rte_dma_stop(b->dev_id);
			rte_dma_close(b->dev_id);
		}
		free(b->lat);
	}
}

/*
 * Buffers.
 */

static void
bufs_free(struct bufs *bf)
{
	uint32_t i;

	for (i = 0; i < bf->nb; i++) {
		if (bf->src != NULL)
			rte_free(bf->src[i]);
		if (bf->dst != NULL)
			rte_free(bf->dst[i]);
	}
	free(bf->src);
	free(bf->dst);
	free(bf->src_iova);
	free(bf->dst_iova);
	memset(bf, 0, sizeof(*bf));
}

/* As many buffer pairs as copies can be in flight, within the memory budget. */
static int
bufs_alloc(struct bufs *bf, uint32_t size, uint32_t want)
{
	uint32_t fit = BUF_BUDGET / (2 * (size + GUARD));
	uint32_t i;

	bf->size = size;
	bf->nb = rte_align32prevpow2(RTE_MAX(RTE_MIN(want, fit), 1u));
	bf->src = calloc(bf->nb, sizeof(*bf->src));
	bf->dst = calloc(bf->nb, sizeof(*bf->dst));
	bf->src_iova = calloc(bf->nb, sizeof(*bf->src_iova));
	bf->dst_iova = calloc(bf->nb, sizeof(*bf->dst_iova));
	if (bf->src == NULL || bf->dst == NULL || bf->src_iova == NULL || bf->dst_iova == NULL)
		goto nomem;
	for (i = 0; i < bf->nb; i++) {
		bf->src[i] = rte_malloc("dma_copy_src", size + GUARD, RTE_CACHE_LINE_SIZE);
		bf->dst[i] = rte_malloc("dma_copy_dst", size + GUARD, RTE_CACHE_LINE_SIZE);
		if (bf->src[i] == NULL || bf->dst[i] == NULL)
			goto nomem;
		bf->src_iova[i] = rte_malloc_virt2iova(bf->src[i]);
		bf->dst_iova[i] = rte_malloc_virt2iova(bf->dst[i]);
		if (bf->src_iova[i] == RTE_BAD_IOVA || bf->dst_iova[i] == RTE_BAD_IOVA) {
			fprintf(stderr, "error: no IOVA for a DPDK buffer\n");
			bufs_free(bf);
			return -EFAULT;
		}
		memset(bf->src[i], (int)(i * 7 + 1), size + GUARD);
		memset(bf->dst[i], CLEAR_BYTE, size);
		memset(bf->dst[i] + size, GUARD_BYTE, GUARD);
	}
	return 0;
nomem:
	fprintf(stderr, "error: out of memory for %u buffers of %u bytes (EAL -m too small?)\n",
		2 * bf->nb, size);
	bufs_free(bf);
	return -ENOMEM;
}

/* A pattern that differs from copy to copy and from byte to byte. */
static void
fill_pattern(uint8_t *p, uint32_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	uint32_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* Stamp a source with a copy number so that a stale destination does not match. */
static void
stamp(uint8_t *p, uint32_t len, uint64_t seq)
{
	memcpy(p, &seq, RTE_MIN(len, (uint32_t)sizeof(seq)));
	if (len >= 2 * sizeof(seq))
		memcpy(p + len - sizeof(seq), &seq, sizeof(seq));
}

static bool
check_copy(const struct backend *b, const struct bufs *bf, uint32_t slot, uint64_t seq)
{
	const uint8_t *src = bf->src[slot], *dst = bf->dst[slot];
	uint32_t i;

	if (memcmp(src, dst, bf->size) != 0) {
		for (i = 0; i < bf->size && src[i] == dst[i]; i++)
			;
		fprintf(stderr, "error: %s: copy %" PRIu64 " of %u bytes differs at byte %u:"
			" 0x%02x, expected 0x%02x\n", b->name, seq, bf->size, i, dst[i], src[i]);
		return false;
	}
	for (i = 0; i < GUARD; i++) {
		if (dst[bf->size + i] != GUARD_BYTE) {
			fprintf(stderr, "error: %s: copy %" PRIu64 " of %u bytes wrote past its"
				" end (byte %u)\n", b->name, seq, bf->size, bf->size + i);
			return false;
		}
	}
	return true;
}

/*
 * Copy loops. A dmadev keeps up to 'window' copies in flight, each on its own
 * buffer pair: slot = copy number modulo the number of pairs.
 */

static uint32_t
dma_window(const struct backend *b, const struct bufs *bf)
{
	/* Some drivers hold one descriptor less than the ring. */
	return RTE_MIN((uint32_t)b->nb_desc - 1, bf->nb);
}

/* Collect completions; returns how many, or -1 on a device error. */
static int
dma_reap(struct backend *b, uint16_t max)
{
	enum rte_dma_status_code st[MAX_BURST];
	bool has_error = false;
	uint16_t n, i;

	n = rte_dma_completed(b->dev_id, 0, max, NULL, &has_error);
	if (!has_error)
		return n;
	/* Fetch the statuses of the failed copy and those after it. */
	max = RTE_MIN(max, (uint16_t)MAX_BURST);
	i = rte_dma_completed_status(b->dev_id, 0, max, NULL, st);
	while (i > 0) {
		i--;
		if (st[i] != RTE_DMA_STATUS_SUCCESSFUL)
			fprintf(stderr, "error: %s: a copy failed with status %d\n", b->name,
				st[i]);
	}
	b->failed = true;
	return -1;
}

static int
dma_throughput(struct backend *b, const struct bufs *bf, uint64_t count, uint64_t cycles,
	       uint64_t *seq)
{
	const uint32_t window = dma_window(b, bf);
	const uint32_t mask = bf->nb - 1;
	uint64_t submitted = 0, done = 0, start, now, last_progress, stall;
	int n;

	start = rte_rdtsc();
	last_progress = start;
	stall = (uint64_t)(STALL_S * tsc_hz);
	for (;;) {
		uint32_t room = window - (uint32_t)(submitted - done);
		uint32_t i, burst = RTE_MIN(room, opt_burst);
		bool more;

		now = rte_rdtsc();
		more = !quit && (count != 0 ? submitted < count : now - start < cycles);
		if (!more && done == submitted)
			break;
		if (count != 0)
			burst = (uint32_t)RTE_MIN((uint64_t)burst, count - submitted);
		if (more && burst > 0) {
			for (i = 0; i < burst; i++) {
				uint32_t slot = (uint32_t)(submitted & mask);

				if (opt_verify)
					stamp(bf->src[slot], bf->size, *seq + submitted);
				if (rte_dma_copy(b->dev_id, 0, bf->src_iova[slot],
						 bf->dst_iova[slot], bf->size, 0) < 0)
					break;
				submitted++;
			}
			if (i > 0)
				rte_dma_submit(b->dev_id, 0);
		}
		n = dma_reap(b, (uint16_t)RTE_MIN(window, (uint32_t)MAX_BURST));
		if (n < 0)
			return -EIO;
		if (n == 0) {
			if (now - last_progress > stall && submitted != done) {
				fprintf(stderr, "error: %s: no copy completed for %.0f s"
					" (%" PRIu64 " pending)\n", b->name, STALL_S,
					submitted - done);
				b->failed = true;
				return -ETIMEDOUT;
			}
			continue;
		}
		last_progress = now;
		if (opt_verify) {
			uint64_t k;

			for (k = done; k < done + (uint64_t)n; k++) {
				if (!check_copy(b, bf, (uint32_t)(k & mask), *seq + k)) {
					b->failed = true;
					return -EIO;
				}
				b->verified++;
			}
		}
		done += n;
	}
	b->cycles += rte_rdtsc() - start;
	b->copies += done;
	*seq += done;
	return 0;
}

/* Time one copy, from enqueue to its completion being seen. */
static int
dma_one(struct backend *b, const struct bufs *bf, uint32_t slot, uint64_t *t)
{
	uint64_t t0, t1;
	int n;

	t0 = rte_rdtsc_precise();
	if (rte_dma_copy(b->dev_id, 0, bf->src_iova[slot], bf->dst_iova[slot], bf->size,
			 RTE_DMA_OP_FLAG_SUBMIT) < 0) {
		fprintf(stderr, "error: %s: enqueue refused on an idle channel\n", b->name);
		b->failed = true;
		return -EIO;
	}
	do {
		n = dma_reap(b, 1);
		if (n < 0)
			return -EIO;
		t1 = rte_rdtsc_precise();
		if (n == 0 && t1 - t0 > (uint64_t)(STALL_S * tsc_hz)) {
			fprintf(stderr, "error: %s: a single copy did not complete in %.0f s\n",
				b->name, STALL_S);
			b->failed = true;
			return -ETIMEDOUT;
		}
	} while (n == 0 && !quit);
	*t = t1 - t0;
	return 0;
}

static void
memcpy_throughput(struct backend *b, const struct bufs *bf, uint64_t count, uint64_t cycles)
{
	const uint32_t mask = bf->nb - 1;
	uint64_t k = 0, start = rte_rdtsc();

	for (;;) {
		uint32_t i;

		if (quit || (count != 0 ? k >= count : rte_rdtsc() - start >= cycles))
			break;
		/* Bursts as the dmadevs get, so the clock is read as rarely. */
		for (i = 0; i < opt_burst && (count == 0 || k < count); i++, k++) {
			uint32_t slot = (uint32_t)(k & mask);

			memcpy(bf->dst[slot], bf->src[slot], bf->size);
		}
	}
	b->cycles += rte_rdtsc() - start;
	b->copies += k;
}

static void
memcpy_one(const struct bufs *bf, uint32_t slot, uint64_t *t)
{
	uint64_t t0 = rte_rdtsc_precise();

	memcpy(bf->dst[slot], bf->src[slot], bf->size);
	/* Keep the compiler from dropping or moving the copy. */
	rte_compiler_barrier();
	*t = rte_rdtsc_precise() - t0;
}

static int
latency(struct backend *b, const struct bufs *bf, unsigned int samples)
{
	unsigned int i;
	uint64_t t;

	for (i = 0; i < LAT_WARMUP + samples && !quit; i++) {
		uint32_t slot = i & (bf->nb - 1);

		if (b->kind == BACKEND_MEMCPY)
			memcpy_one(bf, slot, &t);
		else if (dma_one(b, bf, slot, &t) < 0)
			return -EIO;
		if (i >= LAT_WARMUP && b->nb_lat < opt_lat_samples)
			b->lat[b->nb_lat++] = t;
	}
	return 0;
}

/* Copies with a fresh pattern each, checked byte by byte with guard bytes after them. */
static int
check_backend(struct backend *b, struct bufs *bf, uint64_t *seq)
{
	uint32_t window = b->kind == BACKEND_MEMCPY ? bf->nb : dma_window(b, bf);
	uint32_t nb = RTE_MIN(window, (uint32_t)CHECK_COPIES), i, got = 0;
	uint64_t start;
	int n;

	for (i = 0; i < nb; i++) {
		fill_pattern(bf->src[i], bf->size, *seq + i);
		memset(bf->dst[i], CLEAR_BYTE, bf->size);
		memset(bf->dst[i] + bf->size, GUARD_BYTE, GUARD);
	}
	if (b->kind == BACKEND_MEMCPY) {
		for (i = 0; i < nb; i++)
			memcpy(bf->dst[i], bf->src[i], bf->size);
		got = nb;
	} else {
		for (i = 0; i < nb; i++) {
			if (rte_dma_copy(b->dev_id, 0, bf->src_iova[i], bf->dst_iova[i], bf->size,
					 0) < 0) {
				fprintf(stderr, "error: %s: enqueue %u of %u refused\n", b->name, i,
					nb);
				b->failed = true;
				return -EIO;
			}
		}
		rte_dma_submit(b->dev_id, 0);
		start = rte_rdtsc();
		while (got < nb) {
			n = dma_reap(b, (uint16_t)(nb - got));
			if (n < 0)
				return -EIO;
			got += n;
			if (n == 0 &&
			    (quit || rte_rdtsc() - start > (uint64_t)(STALL_S * tsc_hz))) {
				fprintf(stderr, "error: %s: %u of %u checked copies completed\n",
					b->name, got, nb);
				b->failed = true;
				return -ETIMEDOUT;
			}
		}
	}
	for (i = 0; i < nb; i++) {
		if (!check_copy(b, bf, i, *seq + i)) {
			b->failed = true;
			return -EIO;
		}
	}
	b->verified += nb;
	*seq += nb;
	return 0;
}

/*
 * Results.
 */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double gbps, mops, p50_us, p99_us, mean_us;
	bool failed;
};

static void
result_of(struct backend *b, uint32_t size, struct result *r)
{
	double secs = (double)b->cycles / (double)tsc_hz;
	double us_per_cycle = 1e6 / (double)tsc_hz;
	uint64_t sum = 0;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	if (secs > 0) {
		r->mops = (double)b->copies / secs / 1e6;
		r->gbps = (double)b->copies * size / secs / 1e9;
	}
	if (b->nb_lat == 0)
		return;
	qsort(b->lat, b->nb_lat, sizeof(b->lat[0]), cmp_u64);
	for (i = 0; i < b->nb_lat; i++)
		sum += b->lat[i];
	r->p50_us = (double)b->lat[b->nb_lat / 2] * us_per_cycle;
	r->p99_us = (double)b->lat[(uint64_t)b->nb_lat * 99 / 100] * us_per_cycle;
	r->mean_us = (double)sum / b->nb_lat * us_per_cycle;
}

static void
print_size_results(uint32_t size, struct result *res)
{
	unsigned int i;

	printf("\n%u B copies:\n", size);
	printf("  %-24s %9s %9s %11s %11s %11s %10s\n", "back end", "GB/s", "Mops/s",
	       "lat p50 us", "lat p99 us", "lat mean us", "checked");
	for (i = 0; i < nb_backends; i++) {
		struct backend *b = &backends[i];

		if (b->failed) {
			res[i].failed = true;
			printf("  %-24s FAILED\n", b->name);
			continue;
		}
		result_of(b, size, &res[i]);
		printf("  %-24s %9.3f %9.3f %11.2f %11.2f %11.2f %10" PRIu64 "\n", b->name,
		       res[i].gbps, res[i].mops, res[i].p50_us, res[i].p99_us, res[i].mean_us,
		       b->verified);
	}
	for (i = 1; i < nb_backends; i++) {
		if (backends[0].failed || backends[i].failed || res[i].gbps <= 0)
			continue;
		printf("  %s vs %s: throughput %.2f, latency p50 %.2fx\n", backends[0].name,
		       backends[i].name, res[0].gbps / res[i].gbps,
		       res[i].p50_us > 0 ? res[0].p50_us / res[i].p50_us : 0.0);
	}
}

static int
run_size(uint32_t size, struct result *res, uint64_t *seq)
{
	uint64_t cycles = (uint64_t)(opt_seconds * tsc_hz / opt_rounds);
	uint32_t want = 1;
	struct bufs bf = { 0 };
	unsigned int i, r, alive = 0;
	int ret;

	for (i = 0; i < nb_backends; i++) {
		struct backend *b = &backends[i];

		b->copies = 0;
		b->cycles = 0;
		b->verified = 0;
		b->nb_lat = 0;
		if (b->kind == BACKEND_DMADEV)
			want = RTE_MAX(want, (uint32_t)b->nb_desc);
	}
	want = RTE_MAX(want, opt_burst);
	ret = bufs_alloc(&bf, size, want);
	if (ret < 0)
		return ret;

	for (i = 0; i < nb_backends && !quit; i++) {
		if (backends[i].failed)
			continue;
		pause_others(i == 0);
		check_backend(&backends[i], &bf, seq);
	}
	for (r = 0; r < opt_rounds && !quit; r++) {
		for (i = 0; i < nb_backends && !quit; i++) {
			struct backend *b = &backends[i];
			uint64_t count = 0;
			unsigned int samples;

			if (b->failed)
				continue;
			pause_others(i == 0);
			if (opt_count != 0)
				count = opt_count / opt_rounds + (r < opt_count % opt_rounds);
			if (b->kind == BACKEND_MEMCPY)
				memcpy_throughput(b, &bf, count, cycles);
			else if (dma_throughput(b, &bf, count, cycles, seq) < 0)
				continue;
			samples = opt_lat_samples / opt_rounds + (r < opt_lat_samples % opt_rounds);
			latency(b, &bf, samples);
		}
	}
	pause_others(true);
	bufs_free(&bf);
	print_size_results(size, res);
	for (i = 0; i < nb_backends; i++)
		alive += !backends[i].failed;
	return alive == nb_backends ? 0 : -EIO;
}

static void
print_summary(struct result (*res)[MAX_BACKENDS + 1])
{
	unsigned int s, i;

	printf("\nSummary (GB/s = 10^9 bytes per second; latency: one copy at a time, p50)\n");
	printf("  %-10s", "size");
	for (i = 0; i < nb_backends; i++)
		printf(" %22.22s", backends[i].name);
	for (i = 1; i < nb_backends; i++)
		printf(" %15s", "ratio thr/lat");
	printf("\n");
	for (s = 0; s < nb_sizes; s++) {
		printf("  %-10u", opt_sizes[s]);
		for (i = 0; i < nb_backends; i++) {
			if (res[s][i].failed)
				printf(" %22s", "FAILED");
			else
				printf(" %8.3f GB/s %6.2f us", res[s][i].gbps, res[s][i].p50_us);
		}
		for (i = 1; i < nb_backends; i++) {
			double thr = res[s][i].gbps > 0 ? res[s][0].gbps / res[s][i].gbps : 0;
			double lat = res[s][i].p50_us > 0 ? res[s][0].p50_us / res[s][i].p50_us : 0;

			printf("     %4.2f/%5.2fx", thr, lat);
		}
		printf("\n");
	}
	if (nb_backends > 1) {
		printf("  (ratios: %s throughput / other's, %s latency / other's; others in order:",
		       backends[0].name, backends[0].name);
		for (i = 1; i < nb_backends; i++)
			printf(" %s", backends[i].name);
		printf(")\n");
	}
}

int
main(int argc, char **argv)
{
	static struct result res[MAX_SIZES][MAX_BACKENDS + 1];
	const char *prog = argv[0];
	uint64_t seq = 1;
	unsigned int s;
	int ret, rc = 0;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "error: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	ret = parse_args(argc, argv, prog);
	if (ret != 0) {
		if (ret < 0)
			fprintf(stderr, "(%s -- --help lists the options)\n", prog);
		rte_eal_cleanup();
		return ret < 0 ? 2 : 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tsc_hz = rte_get_tsc_hz();

	ret = add_backends();
	if (ret < 0) {
		rc = 1;
		goto out;
	}
	printf("lcore %u, sizes:", rte_lcore_id());
	for (s = 0; s < nb_sizes; s++)
		printf(" %u", opt_sizes[s]);
	if (opt_count != 0)
		printf("; %" PRIu64 " copies", opt_count);
	else
		printf("; %.2f s", opt_seconds);
	printf(" per size and back end in %u rounds, burst %u%s\n", opt_rounds, opt_burst,
	       opt_verify ? ", every copy checked" : "");
	for (s = 0; s < nb_sizes && !quit; s++) {
		if (run_size(opt_sizes[s], res[s], &seq) < 0)
			rc = 1;
	}
	if (quit) {
		fprintf(stderr, "error: interrupted\n");
		rc = 1;
	} else {
		print_summary(res);
	}
	printf("%s\n", rc == 0 ? "RESULT: PASS (every checked copy matched)" : "RESULT: FAIL");
out:
	pause_others(true);
	close_backends();
	rte_eal_cleanup();
	return rc;
}

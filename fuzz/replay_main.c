/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Runs a fuzz target over files without libFuzzer, so that the seed corpus
 * and every input that once crashed are replayed by the normal test suite
 * (and under ASan/UBSan by its sanitizer build).
 *
 * Usage: <target> FILE|DIR...   (exit status 0 when every input ran)
 */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	struct timespec t0, t1;
	uint8_t *buf;
	long len;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
			fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(buf);
	printf("ran %s (%ld bytes, %ld ms)\n", path, len,
		(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* The files of a directory, in name order; returns inputs run, or -1. */
static int
run_dir(const char *dir)
{
	char **names = NULL, path[4096];
	size_t nr = 0, i;
	struct dirent *e;
	int ret = 0;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char **n;

		if (e->d_name[0] == '.')
			continue;
		n = realloc(names, (nr + 1) * sizeof(*names));
		if (n == NULL)
			break;
		names = n;
		names[nr] = strdup(e->d_name);
		if (names[nr] != NULL)
			nr++;
	}
	closedir(d);
	if (nr > 1)
		qsort(names, nr, sizeof(*names), cmp_names);
	for (i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (run_file(path) < 0)
			ret = -1;
		else if (ret >= 0)
			ret++;
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, n, total = 0, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
		if (n < 0)
			failed++;
		else
			total += S_ISDIR(st.st_mode) ? n : 1;
	}
	printf("%d inputs replayed, %d unreadable\n", total, failed);
	/* Replaying nothing would prove nothing. */
	return failed == 0 && total > 0 ? 0 : 1;
}

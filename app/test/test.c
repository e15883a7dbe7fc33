/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "test.h"

extern char **environ;

#define TEST_CHILD_ENV "VFIO_USER_TEST_CHILD"
#define TEST_READY_FD_ENV "VFIO_USER_TEST_READY_FD"
/* Descriptor number of the readiness pipe in a child. */
#define TEST_READY_FD 100

const char *test_prgname;
int test_eal_argc;
char **test_eal_argv;

static TAILQ_HEAD(, test_command) commands = TAILQ_HEAD_INITIALIZER(commands);
static TAILQ_HEAD(, test_child) children = TAILQ_HEAD_INITIALIZER(children);

void
add_test_command(struct test_command *t)
{
	TAILQ_INSERT_TAIL(&commands, t, next);
}

void
add_test_child(struct test_child *c)
{
	TAILQ_INSERT_TAIL(&children, c, next);
}

int
unit_test_suite_runner(struct unit_test_suite *suite)
{
	unsigned int total = 0, passed = 0, failed = 0, skipped = 0;
	struct unit_test_case *tc;
	int ret;

	printf(" + ------------------------------------------------------- +\n");
	printf(" + Test Suite : %s\n", suite->suite_name);
	if (suite->setup != NULL) {
		ret = suite->setup();
		if (ret != TEST_SUCCESS) {
			printf(" + Suite setup %s\n", ret == TEST_SKIPPED ? "skipped" : "failed");
			return ret == TEST_SKIPPED ? TEST_SKIPPED : TEST_FAILED;
		}
	}

	for (tc = suite->unit_test_cases; tc->testcase != NULL; tc++) {
		total++;
		if (!tc->enabled) {
			skipped++;
			printf(" + TestCase [%2u] : %s skipped (disabled)\n", total, tc->name);
			continue;
		}
		ret = TEST_SUCCESS;
		if (tc->setup != NULL)
			ret = tc->setup();
		if (ret == TEST_SUCCESS) {
			ret = tc->testcase();
			if (tc->teardown != NULL)
				tc->teardown();
		}
		fflush(stdout);
		if (ret == TEST_SUCCESS) {
			passed++;
			printf(" + TestCase [%2u] : %s succeeded\n", total, tc->name);
		} else if (ret == TEST_SKIPPED) {
			skipped++;
			printf(" + TestCase [%2u] : %s skipped\n", total, tc->name);
		} else {
			failed++;
			printf(" + TestCase [%2u] : %s failed\n", total, tc->name);
		}
		fflush(stdout);
	}

	if (suite->teardown != NULL)
		suite->teardown();

	printf(" + ------------------------------------------------------- +\n");
	printf(" + Test Suite Summary : %s\n", suite->suite_name);
	printf(" + Tests Total :       %2u\n", total);
	printf(" + Tests Skipped :     %2u\n", skipped);
	printf(" + Tests Passed :      %2u\n", passed);
	printf(" + Tests Failed :      %2u\n", failed);
	printf(" + ------------------------------------------------------- +\n");
	fflush(stdout);

	if (failed > 0)
		return TEST_FAILED;
	if (passed == 0 && skipped > 0)
		return TEST_SKIPPED;
	return TEST_SUCCESS;
}

static struct test_command *
find_command(const char *name)
{
	struct test_command *t;

	TAILQ_FOREACH(t, &commands, next)
		if (strcmp(t->command, name) == 0)
			return t;
	return NULL;
}

static int
run_command(const char *name)
{
	struct test_command *t = find_command(name);
	int ret;

	if (t == NULL) {
		printf("Unknown test: %s\n", name);
		return TEST_FAILED;
	}
	ret = t->callback();
	fflush(stderr);
	if (ret == TEST_SUCCESS)
		printf("Test OK\n");
	else if (ret == TEST_SKIPPED)
		printf("Test Skipped\n");
	else
		printf("Test Failed\n");
	fflush(stdout);
	return ret;
}

static void
list_commands(void)
{
	struct test_command *t;

	TAILQ_FOREACH(t, &commands, next)
		printf("%s\n", t->command);
}

/*
 * Argument vector for a child: ours, with --no-shconf unless the EAL already
 * keeps no files (--in-memory), so that two EALs never share a runtime dir.
 */
static char **
child_argv(void)
{
	bool private = false;
	char **argv;
	int i, n = 0;

	for (i = 0; i < test_eal_argc; i++)
		if (strcmp(test_eal_argv[i], "--in-memory") == 0 ||
				strcmp(test_eal_argv[i], "--no-shconf") == 0)
			private = true;
	argv = calloc(test_eal_argc + 2, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	for (i = 0; i < test_eal_argc; i++)
		argv[n++] = test_eal_argv[i];
	if (!private)
		argv[n++] = (char *)(uintptr_t)"--no-shconf";
	argv[n] = NULL;
	return argv;
}

pid_t
test_child_spawn(const char *name, char *const extra_env[], int *ready_fd)
{
	posix_spawn_file_actions_t fa;
	char child_env[128], ready_env[64];
	char **argv = NULL, **envp = NULL;
	int pfd[2] = { -1, -1 };
	size_t nenv = 0, nextra = 0, i, n = 0;
	pid_t pid = -1;
	int ret;

	*ready_fd = -1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	argv = child_argv();
	while (environ[nenv] != NULL)
		nenv++;
	while (extra_env != NULL && extra_env[nextra] != NULL)
		nextra++;
	envp = calloc(nenv + nextra + 3, sizeof(*envp));
	if (argv == NULL || envp == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(child_env, sizeof(child_env), "%s=%s", TEST_CHILD_ENV, name);
	snprintf(ready_env, sizeof(ready_env), "%s=%d", TEST_READY_FD_ENV, TEST_READY_FD);
	for (i = 0; i < nextra; i++)
		envp[n++] = extra_env[i];
	for (i = 0; i < nenv; i++) {
		if (strncmp(environ[i], TEST_CHILD_ENV "=", strlen(TEST_CHILD_ENV) + 1) == 0 ||
				strncmp(environ[i], "DPDK_TEST=", 10) == 0)
			continue;
		envp[n++] = environ[i];
	}
	envp[n++] = child_env;
	envp[n++] = ready_env;
	envp[n] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], TEST_READY_FD);
	ret = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (ret != 0) {
		ret = -ret;
		goto out;
	}
	*ready_fd = pfd[0];
	pfd[0] = -1;
	ret = pid;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	close(pfd[1]);
	free(argv);
	free(envp);
	return ret;
}

int
test_child_wait_ready(int ready_fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = ready_fd, .events = POLLIN };
	char c;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	ret = read(ready_fd, &c, 1);
	if (ret != 1 || c != 'R')
		return -EPIPE;
	return 0;
}

/* How long test_child_kill() waits for a child it killed with SIGKILL. */
#define TEST_CHILD_REAP_MS 5000

pid_t
test_child_start(const char *name, char *const extra_env[], int timeout_ms)
{
	cpu_set_t saved, all;
	bool have_saved;
	unsigned int i;
	pid_t pid;
	int rfd, ret;

	CPU_ZERO(&all);
	for (i = 0; i < CPU_SETSIZE && i < (unsigned int)sysconf(_SC_NPROCESSORS_ONLN); i++)
		CPU_SET(i, &all);
	have_saved = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	pid = test_child_spawn(name, extra_env, &rfd);
	if (have_saved)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	if (pid < 0)
		return pid;
	ret = test_child_wait_ready(rfd, timeout_ms);
	close(rfd);
	if (ret < 0) {
		printf("child %s not ready: %s\n", name, strerror(-ret));
		test_child_kill(pid, SIGKILL);
		return ret;
	}
	return pid;
}

int
test_child_kill(pid_t pid, int sig)
{
	unsigned int ms;
	int status;
	pid_t ret;

	if (pid <= 0)
		return -EINVAL;
	kill(pid, sig);
	if (sig != SIGKILL) {
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		return status;
	}
	/*
	 * A killed child's sockets are closed at once, but on some kernels
	 * (this sandbox's among them) the exit of a thread that was spinning
	 * on a service lcore may take minutes: do not let the test wait for
	 * it, the system reaps it once this process is gone.
	 */
	for (ms = 0; ms < TEST_CHILD_REAP_MS; ms++) {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			return status;
		if (ret < 0)
			return -errno;
		usleep(1000);
	}
	printf("child %d killed but still exiting after %u ms: not waited for\n", (int)pid,
		TEST_CHILD_REAP_MS);
	return -ETIMEDOUT;
}

void
test_child_ready(void)
{
	const char *s = getenv(TEST_READY_FD_ENV);
	int fd;

	if (s == NULL)
		return;
	fd = atoi(s);
	if (write(fd, "R", 1) != 1)
		printf("child: cannot signal readiness: %s\n", strerror(errno));
	close(fd);
}

static int
child_main(const char *name, int argc, char **argv)
{
	struct test_child *c;
	int ret;

	/* Never outlive the test that spawned us. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		printf("child %s: EAL init failed: %s\n", name, rte_strerror(rte_errno));
		return 1;
	}
	TAILQ_FOREACH(c, &children, next)
		if (strcmp(c->name, name) == 0)
			break;
	if (c == NULL) {
		printf("child %s: unknown\n", name);
		ret = TEST_FAILED;
	} else {
		ret = c->fn();
	}
	rte_eal_cleanup();
	return ret == TEST_SUCCESS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *child = getenv(TEST_CHILD_ENV);
	const char *env_test;
	int ret, i, ntests, final = TEST_SUCCESS;

	if (child != NULL)
		return child_main(child, argc, argv);

	test_prgname = argv[0];
	/* The EAL permutes argv; keep the original for child processes. */
	test_eal_argv = calloc(argc + 1, sizeof(*test_eal_argv));
	if (test_eal_argv == NULL)
		return 1;
	for (i = 0; i < argc; i++)
		test_eal_argv[i] = argv[i];
	test_eal_argc = argc;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	/* Only the EAL options (and argv[0]) go to children. */
	test_eal_argc = 0;
	for (i = 0; test_eal_argv[i] != NULL; i++) {
		int j;
		bool is_test = false;

		for (j = 1; j < argc; j++)
			if (strcmp(test_eal_argv[i], argv[j]) == 0 && i > 0)
				is_test = true;
		if (!is_test)
			test_eal_argv[test_eal_argc++] = test_eal_argv[i];
	}
	test_eal_argv[test_eal_argc] = NULL;

	ntests = argc - 1;
	env_test = getenv("DPDK_TEST");
	if (ntests == 0 && (env_test == NULL || env_test[0] == '\0')) {
		printf("Usage: %s [EAL options] <test>... (or DPDK_TEST=<test>); tests:\n",
			test_prgname);
		list_commands();
		rte_eal_cleanup();
		return 1;
	}
	if (ntests == 0) {
		final = run_command(env_test);
	} else if (ntests == 1 && strcmp(argv[1], "list") == 0) {
		list_commands();
	} else {
		bool all_skipped = true;

		for (i = 1; i < argc; i++) {
			ret = run_command(argv[i]);
			if (ret == TEST_FAILED || (ret != TEST_SUCCESS && ret != TEST_SKIPPED))
				final = TEST_FAILED;
			if (ret != TEST_SKIPPED)
				all_skipped = false;
		}
		if (final == TEST_SUCCESS && all_skipped)
			final = TEST_SKIPPED;
	}

	rte_eal_cleanup();
	return (final == TEST_SUCCESS || final == TEST_SKIPPED) ? 0 : 1;
}

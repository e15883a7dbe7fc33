/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_TEST_H_
#define _VFIO_USER_TEST_H_

/*
 * Minimal autotest harness in the style of DPDK's app/test: commands are
 * registered by constructors, the assertion macros print where they failed
 * and return TEST_FAILED from the calling function.
 */

#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>

#include <rte_common.h>

#define TEST_SUCCESS 0
#define TEST_FAILED -1
/* Same value as automake's "skipped" exit status. */
#define TEST_SKIPPED 77

#define TEST_TRACE_FAILURE(file, line, func) \
	fprintf(stderr, "  (%s:%d) %s() failed\n", file, line, func)

#define TEST_ASSERT(cond, msg, ...) do { \
	if (!(cond)) { \
		printf("TestCase %s() line %d failed: " msg "\n", __func__, __LINE__, \
			##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_EQUAL(a, b, msg, ...) do { \
	if (!((a) == (b))) { \
		printf("TestCase %s() line %d failed (%s == %s): " msg "\n", __func__, \
			__LINE__, #a, #b, ##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_NOT_EQUAL(a, b, msg, ...) do { \
	if (!((a) != (b))) { \
		printf("TestCase %s() line %d failed (%s != %s): " msg "\n", __func__, \
			__LINE__, #a, #b, ##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_SUCCESS(val, msg, ...) do { \
	typeof(val) _val = (val); \
	if (!(_val == 0)) { \
		printf("TestCase %s() line %d failed (err %d): " msg "\n", __func__, \
			__LINE__, (int)_val, ##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_FAIL(val, msg, ...) do { \
	if (!((val) != 0)) { \
		printf("TestCase %s() line %d failed: " msg "\n", __func__, __LINE__, \
			##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_NULL(val, msg, ...) do { \
	if (!((val) == NULL)) { \
		printf("TestCase %s() line %d failed: " msg "\n", __func__, __LINE__, \
			##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

#define TEST_ASSERT_NOT_NULL(val, msg, ...) do { \
	if (!((val) != NULL)) { \
		printf("TestCase %s() line %d failed: " msg "\n", __func__, __LINE__, \
			##__VA_ARGS__); \
		fflush(stdout); \
		TEST_TRACE_FAILURE(__FILE__, __LINE__, __func__); \
		return TEST_FAILED; \
	} \
} while (0)

/* A test suite: optional setup/teardown around each case and the whole suite. */
struct unit_test_case {
	int (*setup)(void);
	void (*teardown)(void);
	int (*testcase)(void);
	const char *name;
	int enabled;
};

#define TEST_CASE(fn) { NULL, NULL, fn, #fn, 1 }
#define TEST_CASE_ST(setup, teardown, fn) { setup, teardown, fn, #fn, 1 }
#define TEST_CASE_NAMED(name, fn) { NULL, NULL, fn, name, 1 }
#define TEST_CASES_END() { NULL, NULL, NULL, NULL, 0 }

struct unit_test_suite {
	const char *suite_name;
	int (*setup)(void);
	void (*teardown)(void);
	struct unit_test_case unit_test_cases[];
};

/*
 * Run every case of the suite. Returns TEST_SUCCESS when all ran cases
 * passed (skipped ones do not count as failures), TEST_SKIPPED when the suite
 * setup skipped or every case skipped, else TEST_FAILED.
 */
int unit_test_suite_runner(struct unit_test_suite *suite);

typedef int (test_callback)(void);

struct test_command {
	TAILQ_ENTRY(test_command) next;
	const char *command;
	test_callback *callback;
};

void add_test_command(struct test_command *t);

#define REGISTER_TEST_COMMAND(cmd, func) \
static struct test_command test_struct_##cmd = { \
	.command = RTE_STR(cmd), \
	.callback = func, \
}; \
RTE_INIT(test_register_##cmd) \
{ \
	add_test_command(&test_struct_##cmd); \
}

/*
 * Child processes: a test re-executes this binary (/proc/self/exe) with the
 * same EAL options and the child's name in the environment; main() then runs
 * the registered child function after its own rte_eal_init(), instead of a
 * test. The EAL is never forked after initialisation.
 */
typedef int (test_child_fn)(void);

struct test_child {
	TAILQ_ENTRY(test_child) next;
	const char *name;
	test_child_fn *fn;
};

void add_test_child(struct test_child *c);

#define REGISTER_TEST_CHILD(cname, func) \
static struct test_child test_child_##cname = { \
	.name = RTE_STR(cname), \
	.fn = func, \
}; \
RTE_INIT(test_child_register_##cname) \
{ \
	add_test_child(&test_child_##cname); \
}

/*
 * Start child @name with extra "KEY=value" environment entries (NULL
 * terminated, may be NULL). Returns its pid or a negative errno; *ready_fd
 * is the read end of a pipe the child writes one byte to when it calls
 * test_child_ready() (the caller closes it).
 */
pid_t test_child_spawn(const char *name, char *const extra_env[], int *ready_fd);
/* Wait for the readiness byte: 0, -ETIMEDOUT, or -EPIPE if the child died. */
int test_child_wait_ready(int ready_fd, int timeout_ms);
/*
 * test_child_spawn() with every CPU allowed (EAL pinned the caller to its
 * lcore, and a child server needs a service lcore of its own), then wait up
 * to @timeout_ms for its readiness. Returns its pid, or a negative errno (the
 * child, if any, is killed).
 */
pid_t test_child_start(const char *name, char *const extra_env[], int timeout_ms);
/* In a child: tell the parent it is ready. */
void test_child_ready(void);
/*
 * Send @sig to the child and reap it; returns the wait status or a negative
 * errno (-ETIMEDOUT: killed with SIGKILL but not gone after 5 s, left to the
 * system).
 */
int test_child_kill(pid_t pid, int sig);

/* argv[0] of the test binary, and the EAL arguments it was started with. */
extern const char *test_prgname;
extern int test_eal_argc;
extern char **test_eal_argv;

#endif /* _VFIO_USER_TEST_H_ */

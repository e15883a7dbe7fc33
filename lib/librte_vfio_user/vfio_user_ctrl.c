/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include "vfio_user_ctrl.h"
#include "vfio_user_private.h"

#define CTRL_THREAD_NAME "vfio-user-ctrl"
#define CTRL_MAX_EVENTS 64

struct ctrl_entry {
	TAILQ_ENTRY(ctrl_entry) next;
	int fd;
	vfio_user_ctrl_fn fn;
	void *arg;
	bool removed;
};

TAILQ_HEAD(ctrl_list, ctrl_entry);

/*
 * Entries are reached through epoll's data pointer, and the thread may hold
 * such a pointer from epoll_wait() before it takes the lock. So a removed
 * entry waits in the graveyard until the end of the batch in progress, and a
 * remover on another thread kicks the thread (wake_fd) and waits for that
 * batch boundary before it returns.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ctrl_list entries;
	struct ctrl_list graveyard;
	int epfd;
	int wake_fd;
	pthread_t tid;
	bool started;
	uint64_t batch_gen;
} ctrl = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.entries = TAILQ_HEAD_INITIALIZER(ctrl.entries),
	.graveyard = TAILQ_HEAD_INITIALIZER(ctrl.graveyard),
	.epfd = -1,
	.wake_fd = -1,
};

static void *
ctrl_loop(void *arg __rte_unused)
{
	struct epoll_event evs[CTRL_MAX_EVENTS];
	struct ctrl_entry *e;
	int i, n;

	for (;;) {
		n = epoll_wait(ctrl.epfd, evs, CTRL_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno != EINTR)
				VFIO_USER_LOG(ERR, "epoll_wait: %s", strerror(errno));
			continue;
		}

		for (i = 0; i < n; i++) {
			e = evs[i].data.ptr;
			if (e == NULL) {
				eventfd_t cnt;

				eventfd_read(ctrl.wake_fd, &cnt);
				continue;
			}
			pthread_mutex_lock(&ctrl.lock);
			if (e->removed) {
				pthread_mutex_unlock(&ctrl.lock);
				continue;
			}
			pthread_mutex_unlock(&ctrl.lock);
			e->fn(e->fd, evs[i].events, e->arg);
		}

		pthread_mutex_lock(&ctrl.lock);
		while ((e = TAILQ_FIRST(&ctrl.graveyard)) != NULL) {
			TAILQ_REMOVE(&ctrl.graveyard, e, next);
			free(e);
		}
		ctrl.batch_gen++;
		pthread_cond_broadcast(&ctrl.cond);
		pthread_mutex_unlock(&ctrl.lock);
	}
	return NULL;
}

/* Called with ctrl.lock held. */
static int
ctrl_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int ret;

	if (ctrl.started)
		return 0;
	ctrl.epfd = epoll_create1(EPOLL_CLOEXEC);
	ctrl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctrl.epfd < 0 || ctrl.wake_fd < 0 ||
			epoll_ctl(ctrl.epfd, EPOLL_CTL_ADD, ctrl.wake_fd, &ev) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = rte_ctrl_thread_create(&ctrl.tid, CTRL_THREAD_NAME, NULL, ctrl_loop, NULL);
	if (ret != 0) {
		ret = ret < 0 ? ret : -ret;
		VFIO_USER_LOG(ERR, "cannot create the control thread: %s", strerror(-ret));
		goto fail;
	}
	ctrl.started = true;
	return 0;

fail:
	if (ctrl.epfd >= 0)
		close(ctrl.epfd);
	if (ctrl.wake_fd >= 0)
		close(ctrl.wake_fd);
	ctrl.epfd = -1;
	ctrl.wake_fd = -1;
	return ret;
}

static struct ctrl_entry *
ctrl_find_in(struct ctrl_list *list, int fd)
{
	struct ctrl_entry *e;

	TAILQ_FOREACH(e, list, next)
		if (e->fd == fd)
			return e;
	return NULL;
}

static struct ctrl_entry *
ctrl_find(int fd)
{
	return ctrl_find_in(&ctrl.entries, fd);
}

int
vfio_user_ctrl_add(int fd, uint32_t events, vfio_user_ctrl_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct ctrl_entry *e;
	int ret;

	if (fd < 0 || fn == NULL)
		return -EINVAL;

	pthread_mutex_lock(&ctrl.lock);
	ret = ctrl_start();
	if (ret < 0)
		goto out;
	if (ctrl_find(fd) != NULL) {
		ret = -EEXIST;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	e->fd = fd;
	e->fn = fn;
	e->arg = arg;
	ev.data.ptr = e;
	if (epoll_ctl(ctrl.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		free(e);
		goto out;
	}
	TAILQ_INSERT_TAIL(&ctrl.entries, e, next);
out:
	pthread_mutex_unlock(&ctrl.lock);
	return ret;
}

int
vfio_user_ctrl_mod(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct ctrl_entry *e;
	int ret = 0;

	pthread_mutex_lock(&ctrl.lock);
	e = ctrl_find(fd);
	if (e == NULL) {
		ret = -ENOENT;
	} else {
		ev.data.ptr = e;
		if (epoll_ctl(ctrl.epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&ctrl.lock);
	return ret;
}

int
vfio_user_ctrl_del(int fd)
{
	struct ctrl_entry *e;
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&ctrl.lock);
	e = ctrl_find(fd);
	if (e != NULL) {
		epoll_ctl(ctrl.epfd, EPOLL_CTL_DEL, fd, NULL);
		e->removed = true;
		TAILQ_REMOVE(&ctrl.entries, e, next);
		TAILQ_INSERT_TAIL(&ctrl.graveyard, e, next);
	} else {
		ret = -ENOENT;
		/*
		 * In the graveyard: the callback removed its own fd and may
		 * still be running, touching what the caller is about to free.
		 */
		e = ctrl_find_in(&ctrl.graveyard, fd);
	}

	/* From another thread, wait until no batch can still run the callback. */
	if (e != NULL && !vfio_user_ctrl_is_self()) {
		gen = ctrl.batch_gen;
		eventfd_write(ctrl.wake_fd, 1);
		while (ctrl.batch_gen == gen)
			pthread_cond_wait(&ctrl.cond, &ctrl.lock);
	}
	pthread_mutex_unlock(&ctrl.lock);
	return ret;
}

bool
vfio_user_ctrl_is_self(void)
{
	return ctrl.started && pthread_equal(pthread_self(), ctrl.tid);
}

/*
 * Running a function on the control thread
 */

struct ctrl_call {
	void (*fn)(void *arg);
	void *arg;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void
ctrl_call_cb(int fd, uint32_t events __rte_unused, void *arg)
{
	struct ctrl_call *c = arg;
	eventfd_t v;

	(void)eventfd_read(fd, &v);
	vfio_user_ctrl_del(fd);
	c->fn(c->arg);
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
vfio_user_ctrl_run(void (*fn)(void *arg), void *arg)
{
	struct ctrl_call c = { .fn = fn, .arg = arg, .done = false };
	int efd;

	if (vfio_user_ctrl_is_self()) {
		fn(arg);
		return;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		goto direct;
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	if (vfio_user_ctrl_add(efd, EPOLLIN, ctrl_call_cb, &c) < 0) {
		pthread_cond_destroy(&c.cond);
		pthread_mutex_destroy(&c.lock);
		close(efd);
		goto direct;
	}
	(void)eventfd_write(efd, 1);
	pthread_mutex_lock(&c.lock);
	while (!c.done)
		pthread_cond_wait(&c.cond, &c.lock);
	pthread_mutex_unlock(&c.lock);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	close(efd);
	return;

direct:
	fn(arg);
}

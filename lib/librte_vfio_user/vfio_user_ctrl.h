/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _VFIO_USER_CTRL_H_
#define _VFIO_USER_CTRL_H_

/*
 * The control thread: one EAL control thread ("vfio-user-ctrl") that epolls
 * every descriptor the library watches and runs their callbacks, one at a
 * time. It is created on first use and lives as long as the process.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

/* events: the EPOLL* bits that were reported. */
typedef void (*vfio_user_ctrl_fn)(int fd, uint32_t events, void *arg);

/* Watch fd for events (EPOLLIN, optionally EPOLLONESHOT). -EEXIST if watched already. */
int vfio_user_ctrl_add(int fd, uint32_t events, vfio_user_ctrl_fn fn, void *arg);
/* Change the events of a watched fd (re-arms an EPOLLONESHOT watch). */
int vfio_user_ctrl_mod(int fd, uint32_t events);
/*
 * Stop watching fd. On return its callback is not running and will not run
 * again, except when called from that very callback (which then just
 * returns to the thread). -ENOENT if not watched; that too waits for a
 * callback that removed its own fd and is still running.
 */
int vfio_user_ctrl_del(int fd);
/* True on the control thread. */
bool vfio_user_ctrl_is_self(void);
/*
 * Run fn(arg) on the control thread and return when it has returned, so
 * that it never runs concurrently with a callback. Called on the control
 * thread, fn runs at once. When the thread cannot be reached (no memory for
 * an eventfd or a watch), fn runs on the caller's thread: it must then
 * unwatch its descriptors first, which waits for their callbacks.
 */
void vfio_user_ctrl_run(void (*fn)(void *arg), void *arg);

#endif /* _VFIO_USER_CTRL_H_ */

/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

#ifndef _RTE_VFIO_USER_H_
#define _RTE_VFIO_USER_H_

/**
 * @file
 * RTE vfio-user
 *
 * The whole API of the library: rte_vfio_user_common.h (limits, shared
 * types), rte_vfio_user_server.h (emulate a device) and
 * rte_vfio_user_client.h (use a device).
 */

#include "rte_vfio_user_common.h"
#include "rte_vfio_user_server.h"
#include "rte_vfio_user_client.h"

#endif /* _RTE_VFIO_USER_H_ */

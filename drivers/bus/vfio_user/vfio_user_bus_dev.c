/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The librte_vfio_user authors
 */

/*
 * Driver API of the vfio_user bus on a probed device: region access (by
 * message, or the address of a mapped area), MSI-X interrupts on eventfds,
 * and device reset. -ENODEV tells the driver that the server is gone, or away
 * while the library reconnects.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_interrupts.h>

#include "vfio_user_bus_private.h"

static int
vu_dev_usable(const struct rte_vfio_user_bus_device *dev)
{
	if (dev == NULL)
		return -EINVAL;
	if (dev->dev_id < 0 || vu_removed(dev))
		return -ENODEV;
	return 0;
}

static ssize_t
vu_err(ssize_t ret)
{
	return ret == -ENOTCONN ? -ENODEV : ret;
}

ssize_t
rte_vfio_user_bus_dev_region_read(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, void *buf, size_t len)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	if (buf == NULL || index >= dev->num_regions || len > SSIZE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return vu_err(rte_vfio_user_region_read(dev->dev_id, index, offset, buf, len));
}

ssize_t
rte_vfio_user_bus_dev_region_write(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, const void *buf, size_t len)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	if (buf == NULL || index >= dev->num_regions || len > SSIZE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return vu_err(rte_vfio_user_region_write(dev->dev_id, index, offset, buf, len));
}

void *
rte_vfio_user_bus_dev_region_addr(struct rte_vfio_user_bus_device *dev, uint32_t index,
		uint64_t offset, size_t len)
{
	const struct rte_vfio_user_region_map *m;
	struct vu_dev *vd;
	uint32_t i;

	if (dev == NULL || index >= VFIO_PCI_NUM_REGIONS) {
		rte_errno = EINVAL;
		return NULL;
	}
	vd = vu_dev(dev);
	for (i = 0; i < vd->maps[index].nr; i++) {
		m = &vd->maps[index].maps[i];
		if (offset >= m->offset && offset - m->offset <= m->size &&
				len <= m->size - (offset - m->offset))
			return RTE_PTR_ADD(m->addr, offset - m->offset);
	}
	rte_errno = ENOENT;
	return NULL;
}

/* Close the eventfds and free the handle; the server is told separately. */
static void
vu_irq_free(struct vu_dev *vd)
{
	uint32_t i;

	for (i = 0; i < vd->nr_irq_efds; i++)
		close(vd->irq_efds[i]);
	free(vd->irq_efds);
	vd->irq_efds = NULL;
	vd->nr_irq_efds = 0;
	rte_intr_instance_free(vd->dev.intr_handle);
	vd->dev.intr_handle = NULL;
}

/* Tell the server to drop the eventfds (if it is there), then free them. */
void
vfio_user_bus_irq_release(struct vu_dev *vd)
{
	struct vfio_irq_set set;

	if (vd->dev.intr_handle == NULL)
		return;
	if (!vu_removed(&vd->dev) && vd->dev.dev_id >= 0) {
		memset(&set, 0, sizeof(set));
		set.argsz = sizeof(set);
		set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set.index = VFIO_PCI_MSIX_IRQ_INDEX;
		set.start = 0;
		set.count = vd->nr_irq_efds;
		if (rte_vfio_user_set_irqs(vd->dev.dev_id, &set) < 0)
			VFIO_USER_BUS_LOG(DEBUG, "%s: server kept the MSI-X eventfds",
				vd->dev.device.name);
	}
	vu_irq_free(vd);
}

int
rte_vfio_user_bus_dev_irq_enable(struct rte_vfio_user_bus_device *dev, uint32_t nb_vectors)
{
	struct vfio_irq_set *set;
	struct vu_dev *vd;
	uint32_t i, chunk;
	int ret;

	ret = vu_dev_usable(dev);
	if (ret < 0)
		return ret;
	vd = vu_dev(dev);
	if (vd->msix_count == 0)
		return -ENOTSUP;
	if (nb_vectors == 0 || nb_vectors > vd->msix_count ||
			nb_vectors > RTE_MAX_RXTX_INTR_VEC_ID || dev->intr_handle != NULL)
		return -EINVAL;

	dev->intr_handle = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	vd->irq_efds = calloc(nb_vectors, sizeof(int));
	set = calloc(1, sizeof(*set) + nb_vectors * sizeof(int));
	if (dev->intr_handle == NULL || vd->irq_efds == NULL || set == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < nb_vectors; i++) {
		ret = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ret < 0) {
			ret = -errno;
			goto err;
		}
		vd->irq_efds[vd->nr_irq_efds++] = ret;
		if (rte_intr_efds_index_set(dev->intr_handle, i, ret) < 0) {
			ret = -rte_errno;
			goto err;
		}
	}
	if (rte_intr_type_set(dev->intr_handle, RTE_INTR_HANDLE_VFIO_MSIX) < 0 ||
			rte_intr_fd_set(dev->intr_handle, vd->irq_efds[0]) < 0 ||
			rte_intr_nb_efd_set(dev->intr_handle, nb_vectors) < 0 ||
			rte_intr_max_intr_set(dev->intr_handle, nb_vectors) < 0 ||
			rte_intr_efd_counter_size_set(dev->intr_handle, sizeof(uint64_t)) < 0) {
		ret = -rte_errno;
		goto err;
	}

	/*
	 * The server takes a bounded number of descriptors per message, which
	 * the API does not tell: halve the batch while it says -EINVAL.
	 */
	for (i = 0, chunk = nb_vectors; i < nb_vectors; ) {
		chunk = RTE_MIN(chunk, nb_vectors - i);
		set->argsz = sizeof(*set) + chunk * sizeof(int);
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->index = VFIO_PCI_MSIX_IRQ_INDEX;
		set->start = i;
		set->count = chunk;
		memcpy(set->data, &vd->irq_efds[i], chunk * sizeof(int));
		ret = rte_vfio_user_set_irqs(dev->dev_id, set);
		if (ret == -EINVAL && chunk > 1) {
			chunk /= 2;
			continue;
		}
		if (ret < 0) {
			ret = (int)vu_err(ret);
			VFIO_USER_BUS_LOG(ERR, "%s: cannot set MSI-X eventfds %u-%u: %s",
				dev->device.name, i, i + chunk - 1, strerror(-ret));
			vfio_user_bus_irq_release(vd);
			free(set);
			return ret;
		}
		i += chunk;
	}
	free(set);
	return 0;

err:
	free(set);
	vu_irq_free(vd);
	return ret;
}

int
rte_vfio_user_bus_dev_irq_disable(struct rte_vfio_user_bus_device *dev)
{
	if (dev == NULL || dev->intr_handle == NULL)
		return -EINVAL;
	vfio_user_bus_irq_release(vu_dev(dev));
	return 0;
}

int
rte_vfio_user_bus_dev_reset(struct rte_vfio_user_bus_device *dev)
{
	int ret = vu_dev_usable(dev);

	if (ret < 0)
		return ret;
	return (int)vu_err(rte_vfio_user_reset(dev->dev_id));
}

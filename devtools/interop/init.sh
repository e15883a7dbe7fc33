#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# /init of the interop test's initramfs (devtools/interop.sh): mount the
# kernel file systems, load the modules (uio_pci_generic, virtio_net...), run
# the guest checks (the engines', then the NIC's), power off.
# Everything the host parses starts with "INTEROP ".

/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /proc /sys /dev
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "INTEROP INFO insmod $m failed"
done </lib/modules/order
echo "INTEROP INFO kernel $(uname -r), PCI functions: $(cd /sys/bus/pci/devices && echo *)"
/bin/interop-guest
echo "INTEROP EXIT $?"
/bin/interop-net
poweroff -f

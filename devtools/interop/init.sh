#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# /init of the interop test's initramfs (devtools/interop.sh): mount the
# kernel file systems, load uio_pci_generic, run the guest checks, power off.
# Everything the host parses starts with "INTEROP ".

/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /proc /sys /dev
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in uio uio_pci_generic; do
	insmod "/lib/modules/$m.ko" || echo "INTEROP INFO insmod $m failed"
done
echo "INTEROP INFO kernel $(uname -r), PCI functions: $(cd /sys/bus/pci/devices && echo *)"
/bin/interop-guest
echo "INTEROP EXIT $?"
poweroff -f

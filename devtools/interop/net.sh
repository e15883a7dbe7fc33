#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# NIC checks of the interop test (devtools/interop.sh), run by /init after the
# engine checks. The NIC is the virtio-net function (1af4:1041) of the host's
# dpdk-testpmd (vdev net_emu_virtio) whose icmpecho forwarding answers ARP and
# ICMP echo for any address. The kernel command line gives the MAC the devargs
# set (interop.net_mac) and the number of pings (interop.net_pings); without
# them the VM has no NIC. Console lines as guest.c prints them, then
# "INTEROP NET-DONE".

GUEST_IP=10.11.12.2
PEER_IP=10.11.12.1

arg()
{
	sed -n "s/.*interop\.$1=\([^ ]*\).*/\1/p" /proc/cmdline
}

# check <true|false> <name> <detail...>
check()
{
	local verdict=FAIL name=$2
	"$1" && verdict=PASS
	shift 2
	echo "INTEROP $verdict $name: $*"
}

# wait_for <tries, 0.2 s apart> <command...>
wait_for()
{
	local n=$1
	shift
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.2
	done
}

mac=$(arg net_mac)
pings=$(arg net_pings)
if [ -z "$mac" ] || [ -z "$pings" ]; then
	echo "INTEROP SKIP net: no NIC in this VM"
	exit 0
fi

# The PCI function, its virtio device and the latter's driver and interface.
pci='' vdev='' drv='' ifc=''
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1041 ]; then
		pci=$d
		break
	fi
done
[ -z "$pci" ] || for d in "$pci"/virtio*; do
	[ -d "$d" ] && vdev=$d
done
if [ -n "$vdev" ]; then
	[ -e "$vdev/driver" ] && drv=$(basename "$(readlink "$vdev/driver")")
	for d in "$vdev"/net/*; do
		[ -d "$d" ] && ifc=${d##*/}
	done
	echo "INTEROP INFO net: ${vdev##*/} features $(cat "$vdev/features")"
fi
probed=false
[ "$drv" = virtio_net ] && [ -n "$ifc" ] && probed=true
check $probed net.probed "1af4:1041 at ${pci:-(none)}: ${vdev:+${vdev##*/} }bound to" \
	"${drv:-no driver}, interface ${ifc:-none}"
if ! $probed; then
	dmesg | grep -i -E 'virtio|1af4' | tail -n 20 | sed 's/^/INTEROP INFO dmesg: /'
	echo "INTEROP NET-DONE"
	exit 1
fi
sys=/sys/class/net/$ifc

addr=$(cat "$sys/address")
same=false
[ "$addr" = "$mac" ] && same=true
check $same net.mac "$ifc has $addr, the devargs say mac=$mac"

ip addr add "$GUEST_IP/24" dev "$ifc"
ip link set "$ifc" up
carrier_up()
{
	[ "$(cat "$sys/carrier" 2>/dev/null)" = 1 ] &&
		[ "$(cat "$sys/operstate" 2>/dev/null)" = up ]
}
up=false
wait_for 150 carrier_up && up=true
check $up net.link-up "$ifc carrier $(cat "$sys/carrier" 2>/dev/null), operstate" \
	"$(cat "$sys/operstate")"

out=$(arping -c 1 -w 20 -I "$ifc" "$PEER_IP" 2>&1)
resolved=false
echo "$out" | grep -q 'Received 1 response' && resolved=true
check $resolved net.arp "who-has $PEER_IP: $(echo "$out" | grep -i -m 1 'reply from' ||
	echo 'no reply')"

# Small frames, then full-sized ones (1514 bytes); -A sends the next request
# as soon as the reply comes: the test takes no longer than the device needs.
for size in 56 1472; do
	out=$(ping -A -c "$pings" -s "$size" -w 30 "$PEER_IP" 2>&1)
	got=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	answered=false
	[ "${got:-0}" -eq "$pings" ] && answered=true
	check $answered "net.ping-$size" "${got:-0} of $pings echo requests of $size bytes" \
		"answered by $PEER_IP"
done

# virtio_net takes one MSI-X vector per queue: the replies came through
# QEMU's MSI-X path to the server (the eventfds of SET_IRQS).
line=$(grep "${vdev##*/}-input.0" /proc/interrupts)
count=$(echo "$line" | awk '{ n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i;
	print n }')
msix=false
echo "$line" | grep -q 'MSI' && [ "${count:-0}" -gt 0 ] && msix=true
check $msix net.msix "${line:-no ${vdev##*/}-input.0 line in /proc/interrupts}"

echo "INTEROP INFO net: $(ip neigh show "$PEER_IP"); $ifc rx $(cat "$sys/statistics/rx_packets")" \
	"tx $(cat "$sys/statistics/tx_packets") packets"
echo "INTEROP NET-DONE"

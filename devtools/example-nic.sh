#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The NIC part of the main job (devtools/run-example.sh): the stock
# dpdk-testpmd serves the emulated virtio-net NIC (--vdev net_emu_virtio0,
# rxonly on lcore 1), a second stock dpdk-testpmd consumes it through the
# vfio_user bus (-a vfio_user:nic0, net_vfio_user_virtio, txonly on lcore 0).
# It prints the rate the server received over SECONDS of traffic (Mpps,
# Gbit/s) and both sides' counts. Fails when the link is down, nothing
# arrived, the server received more than the client sent, or a side does not
# quit cleanly.
#
# Usage: devtools/example-nic.sh BUILD_DIR [--seconds S] [--size BYTES]
# Exit status: 0 passed, 1 failed, 77 skipped (no testpmd, drivers not built).

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=devtools/vnet-testpmd.sh
. "$(dirname "${BASH_SOURCE[0]}")/vnet-testpmd.sh"

[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [--seconds S] [--size BYTES]"
build=$(abspath "$1")
shift
seconds=2
size=64
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=${2:?}; shift ;;
	--size) size=${2:?}; shift ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

if missing=$(tp_missing "$build"); then
	echo "SKIP: $missing"
	exit 77
fi

tp_setup "$build"
trap tp_cleanup EXIT
eal=(--no-huge --no-pci --no-shconf -m 128)
tp_args=(-i --nb-cores=1 --total-num-mbufs=16384)
sock=$TP_WORK/nic.sock

echo "serving the NIC: dpdk-testpmd --vdev net_emu_virtio0,path=$sock (rxonly)"
tp_start srv -l 0,1 "${eal[@]}" --vdev "net_emu_virtio0,path=$sock" -- "${tp_args[@]}" \
	--forward-mode=rxonly
echo "consuming it: dpdk-testpmd -a vfio_user:nic0,path=$sock (txonly, $size B frames)"
tp_start cli -l 0,1 --main-lcore 1 "${eal[@]}" -a "vfio_user:nic0,path=$sock" \
	-- "${tp_args[@]}" --forward-mode=txonly --txpkts="$size"

tp_cmd cli "show port info 0" 'Link status'
link=$(tp_out cli | sed -n 's/.*Link status: *\([a-z]*\).*/\1/p' | head -n 1)
[ "$link" = up ] || die "client port link is '${link:-?}', not up"

tp_cmd srv start 'testpmd> '
tp_cmd cli start 'testpmd> '
# testpmd's rates are over the time since the previous "show port stats".
sleep 1
tp_cmd srv "show port stats 0" 'Tx-bps'
sleep "$seconds"
tp_cmd srv "show port stats 0" 'Tx-bps'
out=$(tp_out srv)
pps=$(sed -n 's/.*Rx-pps: *\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
bps=$(sed -n 's/.*Rx-bps: *\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
tp_cmd cli stop 'Done'
sent=$(tp_out cli | tp_port_stat TX-packets)
# The client stopped: what it sent has arrived once the server's count stands still.
sleep 0.5
tp_cmd srv stop 'Done'
received=$(tp_out srv | tp_port_stat RX-packets)
rc=0
tp_quit cli || rc=1
tp_quit srv || rc=1

awk -v p="${pps:-0}" -v b="${bps:-0}" -v s="$size" \
	'BEGIN { printf("NIC: %.3f Mpps, %.3f Gbit/s of %s B frames received by the server\n",
		p / 1e6, b / 1e9, s) }'
echo "NIC: client sent ${sent:-?}, server received ${received:-?} packets"
[ "${received:-0}" -gt 0 ] || die "the server received nothing"
[ "${received:-0}" -le "${sent:-0}" ] || die "the server received more than the client sent"
[ "$rc" -eq 0 ] || die "a testpmd did not quit cleanly"
echo "NIC: passed"

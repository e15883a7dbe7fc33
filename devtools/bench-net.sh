#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Benchmark of the virtio-net pair (not a test: it reports, it does not
# judge), with the stock dpdk-testpmd on every side, io forwarding, 1 queue:
#   (a) vfio-user: --vdev net_emu_virtio0 (server) and -a vfio_user:nic0
#       (client, net_vfio_user_virtio);
#   (b) vhost-user, DPDK's own pair: --vdev net_vhost0 (server) and
#       --vdev net_virtio_user0 (client).
# All four processes run at once on the same two CPUs: each server forwards
# on CPU 1, each client on CPU 0 (main lcores on the other CPU, asleep in the
# command line). For each frame size, the client of each pair injects 12
# bursts once ("start tx_first 12"), then the pairs forward in alternating
# slices, one pair at a time, the other paused (SIGSTOP) with its frames
# still in its rings. 384 frames in flight nearly fill the 256-entry rings of
# both directions, so the rate is a throughput rather than a round trip. The
# rate is what the server receives (testpmd "show port stats": Rx-pps,
# Rx-bps), averaged over the slices; the ratio is (a)/(b).
#
# Usage: devtools/bench-net.sh [--builddir DIR] [--seconds S] [--rounds N]
#                              [--sizes "64 1500"]
#   --builddir    build directory with the drivers (default $BUILD_DIR, build-ci)
#   --seconds     length of one slice (default 3)
#   --rounds      slices per pair and size (default 4)
#   --sizes       frame sizes (default "64 1500")

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=devtools/vnet-testpmd.sh
. "$(dirname "${BASH_SOURCE[0]}")/vnet-testpmd.sh"

builddir=$BUILD_DIR
seconds=3
rounds=4
sizes="64 1500"
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	--seconds) seconds=${2:?}; shift ;;
	--rounds) rounds=${2:?}; shift ;;
	--sizes) sizes=${2:?}; shift ;;
	-h|--help) sed -n '5,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

if missing=$(tp_missing "$builddir"); then
	die "$missing"
fi
[ "$(nproc)" -ge 2 ] || warn "fewer than 2 CPUs: every side shares one"

tp_setup "$builddir"
trap tp_cleanup EXIT
eal=(--no-huge --no-pci --no-shconf -m 128)
tp_args=(-i --nb-cores=1 --total-num-mbufs=16384 --forward-mode=io)

start_pairs()
{
	local vu=$TP_WORK/vu$1.sock vh=$TP_WORK/vh$1.sock
	tp_start a_srv -l 0,1 "${eal[@]}" --vdev "net_emu_virtio0,path=$vu" -- "${tp_args[@]}"
	tp_start a_cli -l 0,1 --main-lcore 1 "${eal[@]}" -a "vfio_user:nic0,path=$vu" \
		-- "${tp_args[@]}"
	tp_start b_srv -l 0,1 "${eal[@]}" --vdev "net_vhost0,iface=$vh" -- "${tp_args[@]}"
	tp_start b_cli -l 0,1 --main-lcore 1 "${eal[@]}" \
		--vdev "net_virtio_user0,path=$vh" -- "${tp_args[@]}"
}

# Pause (STOP) or resume (CONT) both processes of pair $2.
signal_pair()
{
	kill -"$1" "${TP_PID[${2}_srv]}" "${TP_PID[${2}_cli]}"
}

# Both pairs forward from the start, each with its frames in flight; a pair
# is paused between its slices, so nothing in its rings is lost.
start_forwarding()
{
	local p size=$1
	for p in a b; do
		tp_cmd "${p}_srv" start 'testpmd> '
		tp_cmd "${p}_cli" "set txpkts $size" 'testpmd> '
		tp_cmd "${p}_cli" "start tx_first 12" 'testpmd> '
		signal_pair STOP "$p"
	done
}

# One slice of pair $1: resume it, read its server's rates over $seconds.
slice()
{
	local p=$1 out
	signal_pair CONT "$p"
	sleep 1
	tp_cmd "${p}_srv" "show port stats 0" 'Tx-bps'
	sleep "$seconds"
	tp_cmd "${p}_srv" "show port stats 0" 'Tx-bps'
	signal_pair STOP "$p"
	out=$(tp_out "${p}_srv")
	pps=$(sed -n 's/.*Rx-pps: *\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
	bps=$(sed -n 's/.*Rx-bps: *\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
}

declare -A sum_pps sum_bps
results=()
for size in $sizes; do
	log "frame size $size: $rounds slices of ${seconds}s per pair"
	start_pairs "$size"
	start_forwarding "$size"
	sum_pps=([a]=0 [b]=0)
	sum_bps=([a]=0 [b]=0)
	for r in $(seq "$rounds"); do
		for p in a b; do
			slice "$p"
			echo "  slice $r ($p): ${pps:-?} pps, ${bps:-?} bit/s"
			sum_pps[$p]=$((sum_pps[$p] + ${pps:-0}))
			sum_bps[$p]=$((sum_bps[$p] + ${bps:-0}))
		done
	done
	signal_pair CONT a
	signal_pair CONT b
	for name in a_cli a_srv b_cli b_srv; do
		tp_quit "$name" || warn "$name: bad exit"
	done
	results+=("$size ${sum_pps[a]} ${sum_bps[a]} ${sum_pps[b]} ${sum_bps[b]}")
done

echo
printf '%-6s | %-22s | %-22s | %s\n' size "(a) vfio-user" "(b) vhost-user" "(a)/(b)"
printf '%-6s | %9s %12s | %9s %12s | %s\n' "" Mpps Gbit/s Mpps Gbit/s ""
for r in "${results[@]}"; do
	read -r size pa ba pb bb <<<"$r"
	awk -v s="$size" -v pa="$pa" -v ba="$ba" -v pb="$pb" -v bb="$bb" -v n="$rounds" \
		'BEGIN { printf("%-6s | %9.3f %12.3f | %9.3f %12.3f | %.2fx\n", s,
			pa / n / 1e6, ba / n / 1e9, pb / n / 1e6, bb / n / 1e9,
			(pb > 0 ? pa / pb : 0)) }'
done
echo "targets: 1.0x at 64 B, 0.9x at 1500 B (rates: frames the server received)"

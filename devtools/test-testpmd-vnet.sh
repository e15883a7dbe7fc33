#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The virtio-net pair run by the stock dpdk-testpmd (Debian package dpdk) on
# both sides, plugins loaded with -d <build>/drivers:
#  - server: --vdev net_emu_virtio0,path=<socket>[,queues=2] (lcore 1 forwards);
#  - client: -a vfio_user:nic0,path=<socket>, net_vfio_user_virtio (lcore 0).
# Cases, each with fresh processes; the counts are testpmd's own statistics:
#  1. client txonly -> server rxonly: the link is up, every packet the client
#     sent is received, none dropped;
#  2. client flowgen -> server macswap -> back to the client: the server gets
#     every packet and sends each back (or counts it dropped), the client
#     receives them;
#  3. io forwarding both ways after "start tx_first 4": a bounded load
#     (128 packets in flight), nothing dropped on either side, the server
#     receives all the client sent, the client sent 128 more than it received;
#  4. 2 queue pairs, client txonly -> server rxonly: both queues carry
#     packets on both sides, and their sum is what the client sent;
#  5. the server killed while the client sends: the client's testpmd gets the
#     removal event, detaches the port and quits normally.
#
# Usage: devtools/test-testpmd-vnet.sh <build-dir>
# Exit status: 0 passed, 1 failed, 77 skipped (no testpmd, drivers not built).
# Environment: TESTPMD_BIN (default /usr/bin/dpdk-testpmd), KEEP_LOGS=1 keeps
# the logs, VNET_TEST_SECONDS (default 2) of traffic per case.

set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '5,27p' "$0" | sed 's/^# \{0,1\}//'
	[ $# -ge 1 ] && exit 0
	exit 1
fi
# shellcheck source=devtools/vnet-testpmd.sh
. "$(dirname "${BASH_SOURCE[0]}")/vnet-testpmd.sh"

build=$(realpath "$1")
secs=${VNET_TEST_SECONDS:-2}
if missing=$(tp_missing "$build"); then
	echo "SKIP: $missing"
	exit 77
fi

tp_setup "$build"
trap tp_cleanup EXIT
eal=(--no-huge --no-pci --no-shconf -m 64)
tp_args=(-i --nb-cores=1 --total-num-mbufs=8192)
failed=0
sock=

# Start the server (queues pairs) and the client against it.
start_pair()
{
	local queues=$1
	sock=$TP_WORK/vnet$RANDOM.sock
	tp_start srv -l 0,1 "${eal[@]}" --vdev "net_emu_virtio0,path=$sock,queues=$queues" \
		-- "${tp_args[@]}" --rxq="$queues" --txq="$queues" || return 1
	tp_start cli -l 0,1 --main-lcore 1 "${eal[@]}" -a "vfio_user:nic0,path=$sock" \
		-- "${tp_args[@]}" --rxq="$queues" --txq="$queues"
}

stop_pair()
{
	if [ -n "${TP_PID[cli]:-}" ]; then
		tp_quit cli || echo "client: bad exit"
	fi
	if [ -n "${TP_PID[srv]:-}" ]; then
		tp_quit srv || echo "server: bad exit"
	fi
}

# Traffic for $secs seconds: the client stops first, the server drains.
run_traffic()
{
	local srv_fwd=$1 cli_fwd=$2 cli_start=$3
	tp_cmd srv "set fwd $srv_fwd" 'testpmd> '
	tp_cmd cli "set fwd $cli_fwd" 'testpmd> '
	tp_cmd srv start 'testpmd> '
	tp_cmd cli "$cli_start" 'testpmd> '
	sleep "$secs"
	tp_cmd cli stop 'Done\.'
	cli_out=$(tp_out cli)
	sleep 1
	tp_cmd srv stop 'Done\.'
	srv_out=$(tp_out srv)
}

pstat() { tp_port_stat "$2" <<<"$1"; }

check()
{
	local what=$1
	shift
	if "$@"; then
		echo "  ok: $what"
	else
		echo "  NOT OK: $what"
		case_ok=false
	fi
}

finish_case()
{
	local name=$1
	stop_pair
	if $case_ok; then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		failed=$((failed + 1))
		echo "--- server log"; tail -n 60 "$TP_WORK/srv.log"
		echo "--- client log"; tail -n 60 "$TP_WORK/cli.log"
	fi
}

case_txonly_rxonly()
{
	local ctx srx
	case_ok=true
	start_pair 1 || { case_ok=false; finish_case "txonly -> rxonly"; return; }
	tp_cmd cli "show port info 0" 'Link status'
	check "client link up" grep -q 'Link status: up' <<<"$(tp_out cli)"
	run_traffic rxonly txonly start
	ctx=$(pstat "$cli_out" TX-packets)
	srx=$(pstat "$srv_out" RX-packets)
	echo "  client sent $ctx, server received $srx"
	check "client sent packets" test "${ctx:-0}" -gt 0
	check "server received all" test "$srx" = "$ctx"
	check "server dropped none" test "$(pstat "$srv_out" RX-dropped)" = 0
	finish_case "txonly -> rxonly"
}

case_flowgen_macswap()
{
	local ctx crx srx stx stxd
	case_ok=true
	start_pair 1 || { case_ok=false; finish_case "flowgen -> macswap"; return; }
	run_traffic macswap flowgen start
	ctx=$(pstat "$cli_out" TX-packets)
	crx=$(pstat "$cli_out" RX-packets)
	srx=$(pstat "$srv_out" RX-packets)
	stx=$(pstat "$srv_out" TX-packets)
	stxd=$(pstat "$srv_out" TX-dropped)
	echo "  client sent $ctx, received $crx; server received $srx, sent $stx," \
		"dropped $stxd"
	check "client sent packets" test "${ctx:-0}" -gt 0
	check "server received all" test "$srx" = "$ctx"
	check "server sent back or dropped each" test "$((stx + stxd))" = "$srx"
	check "client received them" test "${crx:-0}" -gt 0 -a "${crx:-0}" -le "$stx"
	finish_case "flowgen -> macswap"
}

case_io_no_loss()
{
	local ctx crx srx stx f
	case_ok=true
	start_pair 1 || { case_ok=false; finish_case "io <-> io, no loss"; return; }
	run_traffic io io "start tx_first 4"
	ctx=$(pstat "$cli_out" TX-packets)
	crx=$(pstat "$cli_out" RX-packets)
	srx=$(pstat "$srv_out" RX-packets)
	stx=$(pstat "$srv_out" TX-packets)
	echo "  client sent $ctx, received $crx; server received $srx, sent $stx"
	check "packets went round" test "${crx:-0}" -gt 128
	check "server received all" test "$srx" = "$ctx"
	check "server sent all back" test "$stx" = "$srx"
	check "client forwarded all it received" test "$((ctx - crx))" = 128
	for f in RX-dropped TX-dropped; do
		check "client $f 0" test "$(pstat "$cli_out" $f)" = 0
		check "server $f 0" test "$(pstat "$srv_out" $f)" = 0
	done
	finish_case "io <-> io, no loss"
}

case_multiqueue()
{
	local ctx q n sum=0 xs
	case_ok=true
	start_pair 2 || { case_ok=false; finish_case "2 queue pairs"; return; }
	run_traffic rxonly txonly start
	ctx=$(pstat "$cli_out" TX-packets)
	echo "  client sent $ctx"
	for q in 0 1; do
		n=$(tp_stream_rx <<<"$srv_out" | awk -v q="$q" '$1 == q { print $2 }')
		echo "  server queue $q received ${n:-0}"
		check "server queue $q received" test "${n:-0}" -gt 0
		sum=$((sum + ${n:-0}))
	done
	check "server queues received all" test "$sum" = "$ctx"
	tp_cmd cli "show port xstats 0" 'tx_q1_packets'
	xs=$(tp_out cli)
	for q in 0 1; do
		n=$(sed -n "s/^tx_q${q}_packets: *//p" <<<"$xs")
		check "client Tx queue $q sent (${n:-0})" test "${n:-0}" -gt 0
	done
	finish_case "2 queue pairs"
}

case_server_killed()
{
	case_ok=true
	start_pair 1 || { case_ok=false; finish_case "server killed"; return; }
	tp_cmd cli "set fwd txonly" 'testpmd> '
	tp_cmd cli start 'testpmd> '
	sleep 1
	tp_kill srv
	check "client detached the port" tp_wait cli 'Device is detached' "${TP_OFF[cli]}"
	check "client saw the removal event" grep -q 'device removal event' <<<"$(tp_out cli)"
	check "client quits normally" tp_quit cli
	finish_case "server killed"
}

case_txonly_rxonly
case_flowgen_macswap
case_io_no_loss
case_multiqueue
case_server_killed

if [ "$failed" -gt 0 ]; then
	echo "FAIL: $failed case(s) of 5"
	exit 1
fi
echo "PASS: 5 cases"

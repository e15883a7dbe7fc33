#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The main job: install what is missing, build, then start one server process,
# the sample dpdk-vfio-user-emu, serving two devices on private sockets: its
# own copy engine, and the emulated DMA engine (vdev emu_dma0, driver loaded
# with EAL -d, polled by a service core). Against it, run:
#  - the client sample (dpdk-vfio-user-client) twice: DMA memory shared by
#    descriptor, then DMA through messages;
#  - dpdk-vfio-user-dma-copy, a plain dmadev application that gets the engine
#    through the vfio_user bus and the dma_vfio_user driver (EAL -d): every copy
#    of a first run is checked, a second run prints throughput and latency.
# Then stop the server, and show the NIC (devtools/example-nic.sh): the stock
# dpdk-testpmd serves the emulated virtio-net NIC, a second dpdk-testpmd
# pushes frames through it over the vfio_user bus, and the rate is printed
# in Mpps. Fails when any of them fails or hangs.
#
# Usage: devtools/run-example.sh [--no-setup] [--no-build] [--builddir DIR]
#                                [--emu PATH] [--client PATH] [--dma-copy PATH]
#                                [--drivers DIR] [--seconds S]
#   --no-setup    do not check for missing packages
#   --no-build    use the binaries as they are
#   --builddir    build directory (default $BUILD_DIR, build-ci)
#   --emu/--client/--dma-copy  run these binaries instead of the ones in the
#                   build directory (implies --no-build)
#   --drivers     directory of librte_emu_dma.so, librte_bus_vfio_user.so and
#                 librte_dma_vfio_user.so (default: <builddir>/drivers); not
#                 under a world-writable directory, which EAL -d refuses
#   --seconds     measurement time per copy size (default 0.5)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

do_setup=true
do_build=true
builddir=$BUILD_DIR
emu=
client=
dma_copy=
drivers=
seconds=0.5
while [ $# -gt 0 ]; do
	case $1 in
	--no-setup) do_setup=false ;;
	--no-build) do_build=false ;;
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	--emu) emu=$(abspath "${2:?}"); do_build=false; shift ;;
	--client) client=$(abspath "${2:?}"); do_build=false; shift ;;
	--dma-copy) dma_copy=$(abspath "${2:?}"); do_build=false; shift ;;
	--drivers) drivers=$(abspath "${2:?}"); shift ;;
	--seconds) seconds=${2:?}; shift ;;
	-h|--help) sed -n '5,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

# Seconds before a hung program is killed.
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-20}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
SERVER_EXIT_TIMEOUT=${SERVER_EXIT_TIMEOUT:-20}

if $do_setup; then
	"$ROOT/devtools/setup.sh"
fi
if $do_build; then
	"$ROOT/devtools/build.sh" "$builddir"
fi

find_binary()
{
	local found
	found=$(find "$builddir" -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1)
	[ -n "$found" ] || die "$1 not found in $builddir (are the examples built?)"
	echo "$found"
}
[ -n "$emu" ] || emu=$(find_binary dpdk-vfio-user-emu)
[ -n "$client" ] || client=$(find_binary dpdk-vfio-user-client)
[ -n "$dma_copy" ] || dma_copy=$(find_binary dpdk-vfio-user-dma-copy)
[ -n "$drivers" ] || drivers=$builddir/drivers
for so in librte_emu_dma.so librte_bus_vfio_user.so librte_dma_vfio_user.so; do
	[ -f "$drivers/$so" ] ||
		die "$so not in $drivers (drivers not built? setup.sh fetches their headers)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vfio-user-example.XXXXXX")
sock=$work/emu.sock
dma_sock=$work/dma.sock
server_pid=
cleanup()
{
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

read -r -a eal <<<"$EAL_ARGS"
prefix=vfio-user-example-$$

# The server's main lcore 0 sleeps; lcore 1 is the service core that polls
# the DMA engine. The DMA client polls on lcore 0. With a single CPU, both
# server lcores go on it (slow, but it works).
server_lcores=(-l "0,1")
copies=20000
lat_samples=4000
if [ "$(jobs_count)" -lt 2 ]; then
	server_lcores=(--lcores "0,1@0")
	# Each copy waits for the scheduler to switch between the two pollers.
	copies=2000
	lat_samples=100
fi
log "starting $emu on $sock, DMA engine emu_dma0 on $dma_sock"
timeout --kill-after=5 $((3 * CLIENT_TIMEOUT + SERVER_START_TIMEOUT + SERVER_EXIT_TIMEOUT)) \
	"$emu" "${eal[@]}" --file-prefix "$prefix-server" "${server_lcores[@]}" \
	-d "$drivers/librte_emu_dma.so" --vdev "emu_dma0,path=$dma_sock,service_core=1" \
	-- --socket "$sock" </dev/null >"$work/emu.log" 2>&1 &
server_pid=$!

waited=0
while [ ! -S "$sock" ] || [ ! -S "$dma_sock" ]; do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		sed 's/^/[emu] /' "$work/emu.log"
		die "the server exited before creating its sockets"
	fi
	if [ $waited -ge $((SERVER_START_TIMEOUT * 10)) ]; then
		sed 's/^/[emu] /' "$work/emu.log"
		die "no sockets after ${SERVER_START_TIMEOUT}s"
	fi
	sleep 0.1
	waited=$((waited + 1))
done

# Run a client with a time limit, its output prefixed; records and returns its status.
client_rc=()
run_client()
{
	local tag=$1 rc=0
	shift
	timeout --kill-after=5 "$CLIENT_TIMEOUT" "$@" </dev/null 2>&1 |
		sed "s/^/[$tag] /" || rc=${PIPESTATUS[0]}
	client_rc+=("$rc")
	return "$rc"
}

# Two clients one after the other: DMA memory passed as a descriptor the
# server maps, then DMA memory reached through DMA_READ/DMA_WRITE messages.
nb_runs=0
for mode in "" --no-dma-fd; do
	log "running $client ${mode:-(DMA memory shared by fd)}"
	nb_runs=$((nb_runs + 1))
	run_client client "$client" "${eal[@]}" --file-prefix "$prefix-client$nb_runs" -- \
		--socket "$sock" $mode || true
	kill -0 "$server_pid" 2>/dev/null || break
done

# The DMA engine through the bus and the dmadev driver: every copy checked,
# then a measurement.
dma_eal=("${eal[@]}" -l 0 -d "$drivers/librte_bus_vfio_user.so"
	-d "$drivers/librte_dma_vfio_user.so" -a "vfio_user:dma0,path=$dma_sock")
if kill -0 "$server_pid" 2>/dev/null; then
	log "running $dma_copy: $copies copies of each size, each one checked"
	nb_runs=$((nb_runs + 1))
	if run_client dma-copy "$dma_copy" "${dma_eal[@]}" --file-prefix "$prefix-dma1" -- \
		--dev dma0 --count "$copies" --verify --lat-samples "$lat_samples"; then
		log "running $dma_copy: throughput and latency, ${seconds}s per size"
		nb_runs=$((nb_runs + 1))
		run_client dma-copy "$dma_copy" "${dma_eal[@]}" --file-prefix "$prefix-dma2" -- \
			--dev dma0 --seconds "$seconds" --lat-samples "$lat_samples" || true
	fi
fi
kill -0 "$server_pid" 2>/dev/null || warn "the server died"

# The server serves clients until it is told to stop.
log "stopping the server"
kill -TERM "$server_pid" 2>/dev/null || true
server_rc=0
waited=0
while kill -0 "$server_pid" 2>/dev/null && [ $waited -lt $((SERVER_EXIT_TIMEOUT * 10)) ]; do
	sleep 0.1
	waited=$((waited + 1))
done
if kill -0 "$server_pid" 2>/dev/null; then
	warn "the server ignored SIGTERM for ${SERVER_EXIT_TIMEOUT}s; killing it"
	kill -KILL "$server_pid" 2>/dev/null || true
fi
wait "$server_pid" || server_rc=$?
server_pid=
sed 's/^/[emu] /' "$work/emu.log"

# The NIC: served by one stock testpmd, used by another, both with our drivers (-d).
log "running devtools/example-nic.sh: the emulated virtio-net NIC between two dpdk-testpmd"
run_client nic "$ROOT/devtools/example-nic.sh" "$builddir" || true

ok=true
[ ${#client_rc[@]} -eq 5 ] || ok=false
for rc in "${client_rc[@]}"; do
	[ "$rc" -eq 0 ] || ok=false
done
[ "$server_rc" -eq 0 ] || ok=false
if ! $ok; then
	die "example failed: client exit status ${client_rc[*]} (5 runs expected)," \
		"server exit status $server_rc"
fi
log "example passed: the two clients, the two DMA copy runs, the server and the NIC run" \
	"exited with status 0"

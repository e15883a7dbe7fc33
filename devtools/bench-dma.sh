#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Benchmark of the emulated DMA engine, run by hand (not a test: it reports,
# it does not judge). Starts dpdk-vfio-user-emu serving only the engine (vdev
# emu_dma0, service core on lcore 1 = CPU 1), then one dpdk-vfio-user-dma-copy
# run (main lcore 0 = CPU 0) that measures in alternating slices:
#   dma0           the engine, through the vfio_user bus and dma_vfio_user
#   dma_skeleton0  DPDK's software dmadev, its copy thread on CPU 1 (the EAL
#                  puts control threads on the CPUs that no lcore uses)
#   memcpy         memcpy() on the client lcore
# for 64 B, 1 KiB, 4 KiB and 64 KiB, and prints throughput, latency of single
# copies and the ratios of dma0 to the two others, then the 4 KiB targets.
#
# Both engines poll on CPU 1. The engine's service core spins even when idle,
# so by default the server process is stopped (SIGSTOP) while the skeleton
# and memcpy are measured and resumed for its own slices (--pause-pid of the
# copy application): each engine has CPU 1 to itself while measured.
#
# Usage: devtools/bench-dma.sh [--no-build] [--builddir DIR] [--seconds S]
#                              [--rounds N] [--no-pause] [-- copy options...]
#   --no-build    use the binaries as they are
#   --builddir    build directory (default $BUILD_DIR, build-ci)
#   --seconds     throughput time per size and back end (default 2)
#   --rounds      slices the measurements alternate in (default 10)
#   --no-pause    leave the server running while the others are measured
#   after --, more options for dpdk-vfio-user-dma-copy (e.g. --burst 64)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

do_build=true
builddir=$BUILD_DIR
seconds=2
rounds=10
pause=true
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) do_build=false ;;
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	--seconds) seconds=${2:?}; shift ;;
	--rounds) rounds=${2:?}; shift ;;
	--no-pause) pause=false ;;
	--) shift; extra=("$@"); break ;;
	-h|--help) sed -n '5,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

if $do_build; then
	"$ROOT/devtools/build.sh" "$builddir"
fi

find_binary()
{
	local found
	found=$(find "$builddir" -path "$builddir/out-of-tree" -prune -o \
		-type f -name "$1" -perm -u+x -print 2>/dev/null | head -n 1)
	[ -n "$found" ] || die "$1 not found in $builddir (are the examples built?)"
	echo "$found"
}
emu=$(find_binary dpdk-vfio-user-emu)
dma_copy=$(find_binary dpdk-vfio-user-dma-copy)
drivers=$builddir/drivers
for so in librte_emu_dma.so librte_bus_vfio_user.so librte_dma_vfio_user.so; do
	[ -f "$drivers/$so" ] || die "$so not found in $drivers (drivers not built?)"
done
[ "$(nproc)" -ge 2 ] || warn "fewer than 2 CPUs: client and engines share one"

work=$(mktemp -d "${TMPDIR:-/tmp}/vfio-user-bench-dma.XXXXXX")
server_pid=
cleanup()
{
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		# A stopped process only acts on SIGTERM once continued.
		kill -CONT "$server_pid" 2>/dev/null || true
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

read -r -a eal <<<"$EAL_ARGS"
prefix=vfio-user-bench-dma-$$
dma_sock=$work/dma.sock

server_lcores=(-l "0,1")
[ "$(jobs_count)" -ge 2 ] || server_lcores=(--lcores "0,1@0")
log "starting $emu: DMA engine emu_dma0 on $dma_sock, service core on lcore 1"
"$emu" "${eal[@]}" --file-prefix "$prefix-server" "${server_lcores[@]}" \
	-d "$drivers/librte_emu_dma.so" --vdev "emu_dma0,path=$dma_sock,service_core=1" \
	</dev/null >"$work/emu.log" 2>&1 &
server_pid=$!
waited=0
while [ ! -S "$dma_sock" ]; do
	if ! kill -0 "$server_pid" 2>/dev/null || [ $waited -ge 200 ]; then
		cat "$work/emu.log"
		die "the server did not create $dma_sock"
	fi
	sleep 0.1
	waited=$((waited + 1))
done

pause_opt=()
$pause && pause_opt=(--pause-pid "$server_pid")
# Debian's EAL loads every driver of its plugin directory at start-up, the
# skeleton among them; say so if that did not happen.
log "running $dma_copy"
rc=0
"$dma_copy" "${eal[@]}" --file-prefix "$prefix-client" -l 0 \
	-d "$drivers/librte_bus_vfio_user.so" -d "$drivers/librte_dma_vfio_user.so" \
	-a "vfio_user:dma0,path=$dma_sock" --vdev dma_skeleton0 -- \
	--dev dma0 --dev dma_skeleton0 --memcpy --sizes 64,1K,4K,64K \
	--seconds "$seconds" --rounds "$rounds" "${pause_opt[@]}" "${extra[@]}" \
	</dev/null 2>&1 | tee "$work/copy.log" || rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	grep -q 'no dmadev named .dma_skeleton0' "$work/copy.log" &&
		warn "dma_skeleton not loaded: is librte_dma_skeleton.so in EAL's plugin directory?"
	die "dpdk-vfio-user-dma-copy failed (status $rc)"
fi

# The targets at 4 KiB, from the ratio line of that size.
awk '
/^4096 B copies:/ { in4k = 1; next }
/^[0-9]+ B copies:/ { in4k = 0 }
in4k && /dma0 vs dma_skeleton0:/ {
	thr = $5 + 0; sub(",", "", thr); lat = $8; sub("x", "", lat)
	printf("4 KiB target: throughput %.2f of the skeleton (target >= 0.80): %s; ",
		thr, thr >= 0.80 ? "met" : "NOT met")
	printf("latency %.2fx the skeleton (target <= 2x): %s\n",
		lat, lat + 0 <= 2.0 ? "met" : "NOT met")
}' "$work/copy.log"
log "placement: client lcore on CPU 0; engine service core and skeleton thread on CPU 1;" \
	"server $($pause && echo "stopped" || echo "left running") while the others run"

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Benchmark of the emulated DMA engine's live migration, run by hand (not a
# test: it reports, it does not judge). Runs the emu_dma_mig_bench command of
# dpdk-vfio-user-test, which starts two server processes with a 16-channel
# engine each and, as their client:
#   - measures the engine's throughput on 16 channels of 4 KiB copies with
#     DMA logging off and on, in alternating 200 ms slices (the other server
#     paused), and prints the on/off ratio;
#   - migrates the engine 10 times back and forth with every ring kept full of
#     4 KiB copies (3 pre-copy rounds, then stop-copy), and prints the
#     downtime (STOP_COPY asked to RUNNING on the destination), the part of it
#     spent on the device (stopping, reading and loading the stream, not the
#     memory copy) and the bytes moved during stop-copy (device state plus
#     pages the log reported since the last pre-copy round).
# The destination is paused (SIGSTOP) until the stop-copy, so that the two
# engines' polling cores do not share one CPU while it matters.
#
# Usage: devtools/bench-mig.sh [--no-build] [--builddir DIR]

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

do_build=true
builddir=$BUILD_DIR
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) do_build=false ;;
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	-h|--help) sed -n '5,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

if $do_build; then
	"$ROOT/devtools/build.sh" "$builddir"
fi
test_bin=$builddir/app/test/dpdk-vfio-user-test
[ -x "$test_bin" ] || die "$test_bin not found (tests not built?)"
[ "$(nproc)" -ge 2 ] || warn "fewer than 2 CPUs: client and engines share one"

read -r -a eal <<<"$EAL_ARGS"
log "running emu_dma_mig_bench (two servers, lcore 1 polls each engine)"
"$test_bin" "${eal[@]}" -l 0,1 emu_dma_mig_bench </dev/null 2>&1 |
	grep -E '^(logging|migration):|Test (OK|Failed)'

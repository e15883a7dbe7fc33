#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The main job: install what is missing, build, then run the emulated-device
# server (dpdk-vfio-user-emu) and the client sample (dpdk-vfio-user-client)
# against it on a private socket: once with DMA memory shared by descriptor,
# once with DMA through messages, then stop the server. Fails when any of
# them fails or hangs.
#
# Usage: devtools/run-example.sh [--no-setup] [--no-build] [--builddir DIR]
#                                [--emu PATH] [--client PATH]
#   --no-setup    do not check for missing packages
#   --no-build    use the binaries as they are
#   --builddir    build directory (default $BUILD_DIR, build-ci)
#   --emu/--client  run these binaries instead of the ones in the build
#                   directory (implies --no-build)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

do_setup=true
do_build=true
builddir=$BUILD_DIR
emu=
client=
while [ $# -gt 0 ]; do
	case $1 in
	--no-setup) do_setup=false ;;
	--no-build) do_build=false ;;
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	--emu) emu=$(abspath "${2:?}"); do_build=false; shift ;;
	--client) client=$(abspath "${2:?}"); do_build=false; shift ;;
	-h|--help) sed -n '5,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

work=$(mktemp -d "${TMPDIR:-/tmp}/vfio-user-example.XXXXXX")
sock=$work/emu.sock
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

log "starting $emu on $sock"
timeout --kill-after=5 $((2 * CLIENT_TIMEOUT + SERVER_START_TIMEOUT + SERVER_EXIT_TIMEOUT)) \
	"$emu" "${eal[@]}" -- --socket "$sock" </dev/null >"$work/emu.log" 2>&1 &
server_pid=$!

waited=0
while [ ! -S "$sock" ]; do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		sed 's/^/[emu] /' "$work/emu.log"
		die "the server exited before creating its socket"
	fi
	if [ $waited -ge $((SERVER_START_TIMEOUT * 10)) ]; then
		sed 's/^/[emu] /' "$work/emu.log"
		die "no socket after ${SERVER_START_TIMEOUT}s"
	fi
	sleep 0.1
	waited=$((waited + 1))
done

# Two clients one after the other: DMA memory passed as a descriptor the
# server maps, then DMA memory reached through DMA_READ/DMA_WRITE messages.
client_rc=()
for mode in "" --no-dma-fd; do
	log "running $client ${mode:-(DMA memory shared by fd)}"
	rc=0
	timeout --kill-after=5 "$CLIENT_TIMEOUT" \
		"$client" "${eal[@]}" -- --socket "$sock" $mode </dev/null 2>&1 |
		sed 's/^/[client] /' || rc=${PIPESTATUS[0]}
	client_rc+=("$rc")
	kill -0 "$server_pid" 2>/dev/null || break
done

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

ok=true
[ ${#client_rc[@]} -eq 2 ] || ok=false
for rc in "${client_rc[@]}"; do
	[ "$rc" -eq 0 ] || ok=false
done
[ "$server_rc" -eq 0 ] || ok=false
if ! $ok; then
	die "example failed: client exit status ${client_rc[*]}, server exit status $server_rc"
fi
log "example passed: both clients and the server exited with status 0"

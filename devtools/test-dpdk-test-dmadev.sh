#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# DPDK's own dmadev_autotest, from the stock dpdk-test binary (Debian package
# dpdk-dev), run against the emulated DMA engine served by another process:
#  - server: dpdk-test with the emu_dma plugin, --vdev=emu_dma0,path=<socket>
#    and the engine polling on service core 1 (no test is run in it);
#  - client: DPDK_TEST=dmadev_autotest dpdk-test with the vfio_user bus and the
#    dma_vfio_user plugins loaded by -d, -a vfio_user:dma0,path=<socket>.
# Passes when dpdk-test reports success, ran the copy, burst capacity, error
# handling and fill tests on the vfio_user instance, and skipped none there.
#
# Usage: devtools/test-dpdk-test-dmadev.sh <build-dir> [dpdk-test]
# Exit status: 0 passed, 1 failed, 77 skipped (no dpdk-test, drivers not built).
# Environment: DPDK_TEST_BIN (default /usr/bin/dpdk-test), KEEP_LOGS=1 keeps
# the work directory, DMADEV_TEST_CHANNELS (default 2) for the engine.

set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//'
	[ $# -ge 1 ] && exit 0
	exit 1
fi

build=$(realpath "$1")
dpdk_test=${2:-${DPDK_TEST_BIN:-/usr/bin/dpdk-test}}
drv=$build/drivers
lib=$build/lib/librte_vfio_user
plugins=(librte_emu_dma.so librte_bus_vfio_user.so librte_dma_vfio_user.so)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$dpdk_test" ] || skip "$dpdk_test not found (Debian package dpdk-dev)"
for p in "${plugins[@]}"; do
	[ -f "$drv/$p" ] || skip "$drv/$p not built"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dmadev-stock.XXXXXX")
plugdir=
srv_pid=
cleanup()
{
	exec 3>&- 2>/dev/null || true
	if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
		kill -TERM "$srv_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$srv_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	fi
	if [ "${KEEP_LOGS:-0}" = 1 ]; then
		echo "logs kept in $work"
	else
		rm -rf "$work"
	fi
	[ -n "$plugdir" ] && rm -rf "$plugdir"
	return 0
}
trap cleanup EXIT

# EAL's -d refuses a plugin when any directory above it is world-writable.
path_is_safe()
{
	local d=$1
	while :; do
		[ -n "$(find "$d" -maxdepth 0 -perm -0002)" ] && return 1
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
}
if path_is_safe "$drv"; then
	plugdir_use=$drv
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}
	mkdir -p "$cache"
	plugdir=$(mktemp -d "$cache/librte_vfio_user-plugins.XXXXXX")
	path_is_safe "$plugdir" || fail "no private directory for the plugins ($plugdir)"
	for p in "${plugins[@]}"; do
		cp -L "$drv/$p" "$plugdir/$p"
		# The PMD's DT_NEEDED names the bus by its soname ($ORIGIN is in its runpath).
		[ -L "$drv/$p" ] && cp -L "$drv/$p" "$plugdir/$(readlink "$drv/$p")"
	done
	plugdir_use=$plugdir
fi
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# Plugins of a sanitizer build need the runtimes loaded first in the stock
# binary; its own allocations at exit are not ours to check.
if readelf -d "$drv/librte_dma_vfio_user.so" | grep -q 'NEEDED.*libasan'; then
	preload=
	for rt in libasan.so libubsan.so; do
		if readelf -d "$drv/librte_dma_vfio_user.so" | grep -q "NEEDED.*${rt%.so}"; then
			preload+="$(${CC:-cc} -print-file-name="$rt") "
		fi
	done
	export LD_PRELOAD="$preload${LD_PRELOAD:-}"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi

sock=$work/dma.sock
eal_common=(--no-huge --no-pci --no-shconf -m 64)

# The server's stdin is a FIFO held open by this script: dpdk-test waits on
# its command line until the script closes it or kills it.
mkfifo "$work/srv.in"
"$dpdk_test" -l 0,1 "${eal_common[@]}" --file-prefix="dmadev-srv-$$" \
	-d "$plugdir_use/librte_emu_dma.so" \
	--vdev="emu_dma0,path=$sock,channels=${DMADEV_TEST_CHANNELS:-2},service_core=1" \
	< "$work/srv.in" > "$work/server.log" 2>&1 &
srv_pid=$!
exec 3> "$work/srv.in"

for _ in $(seq 300); do
	[ -S "$sock" ] && break
	kill -0 "$srv_pid" 2>/dev/null || break
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	cat "$work/server.log"
	fail "the server did not create $sock"
fi

rc=0
DPDK_TEST=dmadev_autotest timeout 600 "$dpdk_test" -l 0 "${eal_common[@]}" \
	--file-prefix="dmadev-cli-$$" \
	-d "$plugdir_use/librte_bus_vfio_user.so" -d "$plugdir_use/librte_dma_vfio_user.so" \
	-a "vfio_user:dma0,path=$sock" \
	> "$work/client.log" 2>&1 < /dev/null || rc=$?
# Progress lines end in \r: show them one per line.
tr '\r' '\n' < "$work/client.log" > "$work/client.txt"
cat "$work/client.txt"

kill -0 "$srv_pid" 2>/dev/null || { cat "$work/server.log"; fail "the server died"; }

[ "$rc" -eq 0 ] || fail "dpdk-test exited with status $rc"
grep -q '^Test OK' "$work/client.txt" || fail "dpdk-test did not report Test OK"
# The vfio_user instance is the one named after the bus device; dpdk-test's
# own dma_skeleton instance also runs and skips what the skeleton lacks.
dev=$(sed -n 's/^### Test dmadev instance \([0-9]*\) \[dma0\]$/\1/p' "$work/client.txt")
[ -n "$dev" ] || fail "no dmadev instance dma0 was tested"
sed -n '/^### Test dmadev instance [0-9]* \[dma0\]$/,/^### /p' "$work/client.txt" \
	> "$work/dma0.txt"
if grep -qi 'skipping' "$work/dma0.txt"; then
	fail "dpdk-test skipped tests on dma0: $(grep -i skipping "$work/dma0.txt" | tr '\n' ' ')"
fi
for t in copy 'burst capacity' 'error handling' fill; do
	grep -q "^DMA Dev $dev: Running $t Tests" "$work/dma0.txt" ||
		fail "the $t tests did not run on dma0 (dmadev $dev)"
done
echo "PASS: stock dmadev_autotest on vfio_user:dma0 (dmadev $dev): copy, burst capacity," \
	"error handling and fill"

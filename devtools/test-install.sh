#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Install a build into a prefix inside its build directory, then use the
# installed copy as an application would: the pkg-config file, the header
# alone, and the sample applications built out of tree with their own
# Makefiles (PKG_CONFIG_PATH = the installed .pc and libdpdk's), run against
# the installed library.
#
# Usage: devtools/test-install.sh [builddir]   (default $BUILD_DIR, build-ci)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

builddir=$(abspath "${1:-$BUILD_DIR}")
[ -f "$builddir/meson-private/coredata.dat" ] || die "$builddir is not a configured build"
prefix=$builddir/install
outdir=$builddir/out-of-tree

# The build's prefix must be the private one, so that the installed
# pkg-config file describes where the files really are.
current_prefix=$(meson introspect "$builddir" --buildoptions | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
if [ "$current_prefix" != "$prefix" ]; then
	log "setting the prefix of $builddir to $prefix"
	meson configure "$builddir" -Dprefix="$prefix" </dev/null
fi
ninja -C "$builddir" -j "$(jobs_count)" </dev/null

log "installing into $prefix"
rm -rf "$prefix" "$outdir"
meson install -C "$builddir" --quiet </dev/null

pc=$(find "$prefix" -name librte_vfio_user.pc | head -n 1)
[ -n "$pc" ] || die "librte_vfio_user.pc was not installed"
libdir=$(dirname "$(dirname "$pc")")
dpdk_pcdir=$(pkg-config --variable=pcfiledir libdpdk)
PKG_CONFIG_PATH=$(dirname "$pc"):$dpdk_pcdir
export PKG_CONFIG_PATH
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

version=$(pkg-config --modversion librte_vfio_user)
expected=$(cat "$ROOT/VERSION")
[ "$version" = "$expected" ] || die "installed version $version, expected $expected"
includedir=$(pkg-config --variable=includedir librte_vfio_user)
for h in "$ROOT"/lib/librte_vfio_user/rte_*.h; do
	[ -f "$includedir/$(basename "$h")" ] || die "$(basename "$h") not installed in $includedir"
done
ls "$libdir"/librte_vfio_user.so* >/dev/null 2>&1 || die "shared library not installed in $libdir"
log "installed librte_vfio_user $version: $pc"

log "checking the installed headers"
"$ROOT/devtools/check-headers.sh" "$includedir"

# Copy the whole examples directory so that includes between examples keep
# working, and build the copies with make: nothing comes from the source tree.
cp -r "$ROOT/examples" "$outdir"
find "$outdir" -name build -type d -prune -exec rm -rf {} +
built=()
for mk in "$outdir"/vfio_user_*/Makefile; do
	[ -f "$mk" ] || continue
	dir=$(dirname "$mk")
	log "building $(basename "$dir") out of tree"
	make -C "$dir" </dev/null
	app=$(sed -n 's/^APP[[:space:]]*[:?]\{0,1\}=[[:space:]]*//p' "$mk" | head -n 1)
	bin=$dir/build/$app
	if [ -z "$app" ] || [ ! -x "$bin" ]; then
		die "no binary built in $dir/build"
	fi
	# The binary must use the installed library, not the build directory's
	# (a plain DPDK application, with only libdpdk in its PKGS, uses none).
	resolved=$(ldd "$bin" | awk '/librte_vfio_user\.so/ { print $3 }')
	case $resolved in
	"$libdir"/*) ;;
	"")
		if grep -q '^PKGS.*librte_vfio_user' "$mk"; then
			die "$bin does not use librte_vfio_user"
		fi
		;;
	*) die "$bin uses '$resolved' instead of the installed library" ;;
	esac
	built+=("$bin")
done
[ ${#built[@]} -gt 0 ] || die "no example with a Makefile under examples/"

emu_bin=
client_bin=
dma_copy_bin=
for bin in "${built[@]}"; do
	case $(basename "$bin") in
	*emu*) emu_bin=$bin ;;
	*dma-copy*) dma_copy_bin=$bin ;;
	*client*) client_bin=$bin ;;
	esac
done
# The installed drivers, which the DMA copy sample loads with EAL -d.
drivers_so=$(find "$prefix" -name librte_dma_vfio_user.so | head -n 1)

read -r -a eal <<<"$EAL_ARGS"
if [ -n "$emu_bin" ] && [ -n "$client_bin" ] && [ -n "$dma_copy_bin" ] && [ -n "$drivers_so" ]; then
	log "running the out-of-tree samples against each other, with the installed drivers"
	"$ROOT/devtools/run-example.sh" --no-setup --emu "$emu_bin" --client "$client_bin" \
		--dma-copy "$dma_copy_bin" --drivers "$(dirname "$drivers_so")" --seconds 0.2
else
	for bin in "${built[@]}"; do
		log "running $bin -- --help"
		timeout 60 "$bin" "${eal[@]}" -- --help </dev/null
	done
fi
log "install test passed"

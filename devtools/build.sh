#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Configure (or reconfigure) a build directory and build it.
#
# Usage: devtools/build.sh [--setup-only] [builddir] [meson options...]
#   builddir defaults to $BUILD_DIR (build-ci); the options are passed to
#   meson setup, e.g. -Db_sanitize=address,undefined -Db_lundef=false.
#   Running it again applies the options to the existing directory.
#   --setup-only configures without building.

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

setup_only=false
if [ "${1:-}" = --setup-only ]; then
	setup_only=true
	shift
fi
builddir=$(abspath "${1:-$BUILD_DIR}")
shift || true

cd "$ROOT"
if [ -f "$builddir/meson-private/coredata.dat" ]; then
	log "reconfiguring $builddir $*"
	meson setup --reconfigure "$builddir" "$@" </dev/null
else
	log "configuring $builddir $*"
	meson setup "$builddir" "$@" </dev/null
fi
$setup_only && exit 0
log "building $builddir"
ninja -C "$builddir" -j "$(jobs_count)" </dev/null

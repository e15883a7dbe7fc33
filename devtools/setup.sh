#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Install the Debian packages needed to build and run the project, and only
# those that are missing: on a machine that has them all, apt is not touched.
#
# Usage: devtools/setup.sh [--docs]
#   --docs  also install the documentation tools (doxygen, sphinx)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Build and run: compilers, meson/ninja, DPDK 22.11 (library, headers and
# tools), json-c for the capability negotiation, libnuma (EAL), make for
# the out-of-tree example build, clang with its sanitizer and libFuzzer
# runtimes for the fuzz targets.
packages=(
	gcc
	g++
	clang
	libclang-rt-14-dev
	make
	pkg-config
	python3
	python3-pyelftools
	meson
	ninja-build
	libnuma-dev
	libjson-c-dev
	libdpdk-dev
	dpdk
	dpdk-dev
)
docs_packages=(
	doxygen
	python3-sphinx
)

want_docs=false
for arg in "$@"; do
	case $arg in
	--docs) want_docs=true ;;
	-h|--help) sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $arg" ;;
	esac
done
if $want_docs; then
	packages+=("${docs_packages[@]}")
fi

command -v dpkg-query >/dev/null || die "not a Debian system: install ${packages[*]} by hand"

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	log "all packages present: ${packages[*]}"
	exit 0
fi

log "installing: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
	sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${sudo[@]}" apt-get update -q </dev/null
"${sudo[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
log "installed: ${missing[*]}"

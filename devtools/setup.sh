#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Install the Debian packages needed to build and run the project, and only
# those that are missing: on a machine that has them all, apt is not touched.
# Then fetch the DPDK driver-SDK headers the drivers need (see fetch_sdk).
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
	-h|--help) sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

install_packages()
{
	if [ ${#missing[@]} -eq 0 ]; then
		log "all packages present: ${packages[*]}"
		return
	fi

	log "installing: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
		sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	fi
	export DEBIAN_FRONTEND=noninteractive
	local apt_opts=(-y -q -o Dpkg::Options::=--force-confdef
		-o Dpkg::Options::=--force-confold)
	"${sudo[@]}" apt-get update -q </dev/null
	"${sudo[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" \
		</dev/null
	log "installed: ${missing[*]}"
}

# Debian's libdpdk-dev ships no driver-SDK headers (bus_driver.h, ...), which
# the drivers of drivers/ need. Take them from the Debian source package of
# exactly the installed DPDK, fetched with a private apt configuration so the
# host's sources, lists and caches are left alone. Result:
# .deps/dpdk-<version>/ (the source) and .deps/dpdk-sdk/include/ (the
# headers), both ignored by git. Nothing is done when the stamp matches.
sdk_headers=(
	lib/eal/include/bus_driver.h
	lib/eal/include/dev_driver.h
	drivers/bus/vdev/bus_vdev_driver.h
	lib/dmadev/rte_dmadev_pmd.h
	lib/ethdev/ethdev_driver.h
	lib/ethdev/ethdev_vdev.h
)
# Copy the SDK headers (and what they include that Debian lacks) from an
# unpacked source tree. Usage: copy_sdk_headers SRC SDK VERSION STAMP
copy_sdk_headers()
{
	local src=$1 sdk=$2 version=$3 stamp=$4
	rm -rf "$sdk"
	mkdir -p "$sdk/include"
	local h
	for h in "${sdk_headers[@]}"; do
		[ -f "$src/$h" ] || die "$h not found in the DPDK $version source"
		cp "$src/$h" "$sdk/include/"
	done
	# Pull in headers the copied ones include that Debian does not install.
	local inc found changed=true
	while $changed; do
		changed=false
		for inc in $(sed -n 's/^#include [<"]\([^>"]*\)[>"].*/\1/p' "$sdk"/include/*.h |
				sort -u); do
			[ -e "/usr/include/dpdk/$inc" ] || [ -e "/usr/include/$inc" ] ||
				[ -e "/usr/include/x86_64-linux-gnu/dpdk/$inc" ] ||
				[ -e "$sdk/include/$inc" ] && continue
			found=$(find "$src/lib" "$src/drivers" -name "$inc" -print -quit)
			if [ -n "$found" ]; then
				cp "$found" "$sdk/include/"
				changed=true
			fi
		done
	done
	echo "$version" >"$sdk/VERSION"
	echo "$stamp" >"$sdk/STAMP"
	log "DPDK SDK headers for $version in $sdk/include"
}

fetch_sdk()
{
	local deps=$ROOT/.deps
	local sdk=$deps/dpdk-sdk
	local version upstream
	version=$(dpkg-query -W -f='${Version}' libdpdk-dev) ||
		die "libdpdk-dev is not installed"
	upstream=${version%-*}
	upstream=${upstream#*:}

	# The stamp names the version and the header list: adding a header to
	# the list copies it again from the source already unpacked.
	local stamp="$version ${sdk_headers[*]}"
	if [ "$(cat "$sdk/STAMP" 2>/dev/null)" = "$stamp" ]; then
		log "DPDK SDK headers present for $version: $sdk/include"
		return
	fi

	local apt=$deps/apt
	local src=$deps/dpdk-$version
	if [ -d "$src/lib" ]; then
		copy_sdk_headers "$src" "$sdk" "$version" "$stamp"
		return
	fi
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -r "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
	cat >"$apt/etc/sources.list" <<-EOF
	deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename main
	deb-src [signed-by=$keyring] http://deb.debian.org/debian-security $codename-security main
	EOF
	local apt_cfg=(
		-o "Dir::Etc::SourceList=$apt/etc/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists"
		-o "Dir::Cache=$apt/cache"
		-o APT::Sandbox::User=root
	)
	log "fetching the Debian source of dpdk $version into $deps"
	apt-get -q "${apt_cfg[@]}" update </dev/null || die "apt-get update (deb-src) failed"
	rm -rf "$src" "$deps/dl"
	mkdir -p "$deps/dl"
	(cd "$deps/dl" && apt-get -q "${apt_cfg[@]}" source --download-only \
		"dpdk=$version" </dev/null) || die "cannot download the source of dpdk $version"

	local dsc
	dsc=$(ls "$deps"/dl/dpdk_*.dsc) || die "no .dsc downloaded"
	if command -v dpkg-source >/dev/null; then
		# Applies the Debian patches: the headers of the installed package.
		dpkg-source --no-check -x "$dsc" "$src" >/dev/null || die "dpkg-source failed"
		# It leaves a copy of the upstream tarball next to the tree.
		rm -f "$deps/dpdk_$upstream.orig.tar".*
	else
		warn "dpkg-source (dpkg-dev) missing: using the upstream tarball unpatched"
		mkdir -p "$src"
		tar -xf "$deps/dl/dpdk_$upstream.orig.tar.xz" -C "$src" --strip-components=1 ||
			die "cannot unpack the DPDK source"
	fi

	copy_sdk_headers "$src" "$sdk" "$version" "$stamp"
	rm -rf "$deps/dl"
}

install_packages
# The drivers are optional: without the headers they are skipped, the rest builds.
(fetch_sdk) || warn "no DPDK SDK headers: the drivers of drivers/ will not be built"

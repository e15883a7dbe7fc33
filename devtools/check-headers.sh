#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Check that every public header (rte_*.h) compiles on its own, first thing
# in a translation unit and included twice, as C (gcc) and as C++ (g++), with
# -Wall -Wextra -Werror and the compiler flags of libdpdk. In the source tree,
# also check that each one is installed (listed in the headers of its
# meson.build) and documented (an input of doxygen in doc/api/meson.build).
#
# Usage: devtools/check-headers.sh [-l c|c++|all] [include dir...]
#   The include directories default to lib/*/ of the tree; give the
#   installed include directory to check an installed copy.

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

lang=all
if [ "${1:-}" = -l ]; then
	lang=${2:?missing language}
	shift 2
fi
case $lang in
c|c++|all) ;;
*) die "unknown language: $lang" ;;
esac

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	dirs=("$ROOT"/lib/*/)
fi

headers=()
for d in "${dirs[@]}"; do
	for h in "$d"/rte_*.h; do
		[ -f "$h" ] && headers+=("$(cd "$(dirname "$h")" && pwd)/$(basename "$h")")
	done
done
[ ${#headers[@]} -gt 0 ] || die "no public header found in ${dirs[*]}"

failed=0
if [ $# -eq 0 ]; then
	for h in "${headers[@]}"; do
		name=$(basename "$h")
		if ! grep -q "'$name'" "$(dirname "$h")/meson.build"; then
			echo "FAILED: $name is not installed (headers of its meson.build)"
			failed=1
		fi
		if ! grep -q "'$name'" "$ROOT/doc/api/meson.build"; then
			echo "FAILED: $name is not in the API reference (doc/api/meson.build)"
			failed=1
		fi
	done
fi

read -r -a dpdk_cflags <<<"$(pkg-config --cflags libdpdk)"
warn_flags=(-Wall -Wextra -Werror)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check()
{
	local compiler=$1 std=$2 suffix=$3 h=$4 src
	src=$work/$(basename "$h" .h).$suffix
	printf '#include "%s"\n#include "%s"\n' "$h" "$h" >"$src"
	if "$compiler" -std="$std" "${warn_flags[@]}" "${dpdk_cflags[@]}" \
			-I"$(dirname "$h")" -c "$src" -o "$work/out.o"; then
		echo "ok: $(basename "$h") as $std ($compiler)"
	else
		echo "FAILED: $(basename "$h") as $std ($compiler)"
		failed=1
	fi
}

# In the languages asked for.
check_langs()
{
	if [ "$lang" != c++ ]; then
		check "${CC:-gcc}" gnu11 c "$1"
	fi
	if [ "$lang" != c ]; then
		check "${CXX:-g++}" c++11 cpp "$1"
	fi
}

for h in "${headers[@]}"; do
	check_langs "$h"
done

# The drivers' installed interface headers (the bus's driver API), with the
# driver-SDK headers devtools/setup.sh fetches and the internal API allowed,
# as a driver built against them would see them.
sdk=$ROOT/.deps/dpdk-sdk/include
if [ $# -eq 0 ] && [ -d "$sdk" ]; then
	dpdk_cflags+=(-DALLOW_INTERNAL_API -DALLOW_EXPERIMENTAL_API -I"$sdk"
		-I"$ROOT/lib/librte_vfio_user")
	for h in "$ROOT"/drivers/*/*/*_driver.h; do
		[ -f "$h" ] && check_langs "$h"
	done
fi
exit $failed

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Build the libFuzzer targets (clang, ASan + UBSan) and run them for a bounded
# time, starting from the committed seed corpus (fuzz/corpus/<target>) and
# the inputs that once crashed (fuzz/regressions/<target>). New inputs are
# kept in <builddir>/fuzz-corpus/<target>; a crash leaves its input in
# <builddir>/fuzz-artifacts/<target>/ and makes the exit status 1: copy it
# to fuzz/regressions/<target>/ once fixed, the test suite replays it.
#
# Usage: devtools/fuzz.sh [--time SECONDS] [--target server|pci|client|virtq|all]
#                         [--builddir DIR] [--no-build]
#   --time      total run time, split between the targets (default 60)
#   --target    which target to run (default all)
#   --builddir  build directory (default build-fuzz)

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

total=60
target=all
builddir=$ROOT/build-fuzz
build=true
while [ $# -gt 0 ]; do
	case $1 in
	--time) total=$2; shift ;;
	--target) target=$2; shift ;;
	--builddir) builddir=$(abspath "$2"); shift ;;
	--no-build) build=false ;;
	-h|--help) sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done
case $target in
all) targets=(server pci client virtq) ;;
server|pci|client|virtq) targets=("$target") ;;
*) die "unknown target: $target" ;;
esac
[[ $total =~ ^[0-9]+$ ]] && [ "$total" -ge ${#targets[@]} ] || die "bad --time: $total"

command -v clang >/dev/null || die "clang missing (devtools/setup.sh installs it)"
if $build; then
	CC=clang "$ROOT/devtools/build.sh" "$builddir" -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dtests=false -Dexamples=false
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# The PCI helper's target starts from the server's seed corpus (fuzz/meson.build).
corpus_of()
{
	if [ "$1" = pci ]; then echo server; else echo "$1"; fi
}
per=$((total / ${#targets[@]}))
rc=0
for t in "${targets[@]}"; do
	exe=$builddir/fuzz/dpdk-vfio-user-fuzz-$t
	[ -x "$exe" ] || die "$exe not built"
	work=$builddir/fuzz-corpus/$t
	art=$builddir/fuzz-artifacts/$t
	mkdir -p "$work" "$art"
	# The targets' socket directories, which libFuzzer's exit does not remove.
	tmp=$builddir/fuzz-tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "fuzzing $t for $per s"
	out=$(mktemp)
	trc=0
	TMPDIR=$tmp "$exe" -max_total_time="$per" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
		-print_final_stats=1 -artifact_prefix="$art/" "$work" \
		"$ROOT/fuzz/corpus/$(corpus_of "$t")" "$ROOT/fuzz/regressions/$t" \
		</dev/null >"$out" 2>&1 || trc=$?
	stats='^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)'
	grep -E "$stats|ERROR|SUMMARY|^==[0-9]+==" "$out" || true
	if [ "$trc" -ne 0 ]; then
		tail -n 60 "$out"
		warn "$t: fuzzer exit status $trc, inputs in $art/"
		rc=1
	fi
	rm -f "$out"
	rm -rf "$tmp"
done
exit "$rc"

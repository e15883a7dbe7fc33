#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Checks of dpdk-vfio-user-dma-copy that need no server (meson test
# dma_copy_sample): copies through DPDK's software dmadev dma_skeleton and
# memcpy, every copy checked, must pass; bad options must give exit status 2
# and an error line, an unknown device status 1. Exit 77 (skipped) when the
# skeleton driver is not installed.
#
# Usage: devtools/test-dma-copy.sh <dpdk-vfio-user-dma-copy>

set -uo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bin=${1:?usage: $0 <dpdk-vfio-user-dma-copy>}
read -r -a eal <<<"$EAL_ARGS"
eal+=(--file-prefix "dma-copy-test-$$" -l 0 --log-level=lib.eal:error)
failures=0

fail()
{
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}

out=$(timeout 120 "$bin" "${eal[@]}" --vdev dma_skeleton0 -- --dev dma_skeleton0 --memcpy \
	--sizes 1,63,4K,64K --count 3000 --verify --lat-samples 100 </dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "no dmadev named 'dma_skeleton0'" <<<"$out"; then
	echo "dma_skeleton driver not available: skipped"
	exit 77
fi
printf '%s\n' "$out"
if [ $rc -ne 0 ] || ! grep -q '^RESULT: PASS' <<<"$out"; then
	fail "copies through dma_skeleton0: exit status $rc"
fi
# Every copy of each size checked: 64 before the measurement, 3000 during it.
n=$(grep -c '^  dma_skeleton0 .* 3064$' <<<"$out")
[ "$n" -eq 4 ] || fail "expected 4 sizes with 3064 checked copies, got $n"

# Each bad option: exit status 2, an error line naming the problem.
bad_options=(
	"--sizes 0" "--sizes 5M" "--sizes 1K,,2" "--sizes 1X" "--burst 0" "--burst 257"
	"--ring 1000" "--ring 1" "--seconds 0" "--seconds abc" "--count 0" "--rounds 0"
	"--seconds 1 --count 5" "--dev" "--bogus" "--pause-pid 1" "--pause-pid 0x7fffffff"
	"unexpected"
)
for opts in "${bad_options[@]}"; do
	read -r -a args <<<"$opts"
	out=$(timeout 60 "$bin" "${eal[@]}" -- "${args[@]}" </dev/null 2>&1)
	rc=$?
	if [ $rc -ne 2 ] || ! grep -q '^error: ' <<<"$out"; then
		fail "'$opts': exit status $rc (expected 2 and an error line): $out"
	else
		echo "ok: '$opts' refused: $(grep '^error: ' <<<"$out")"
	fi
done

out=$(timeout 60 "$bin" "${eal[@]}" -- --dev no_such_dmadev </dev/null 2>&1)
rc=$?
if [ $rc -ne 1 ] || ! grep -q "^error: no dmadev named 'no_such_dmadev'" <<<"$out"; then
	fail "unknown device: exit status $rc: $out"
fi

if [ $failures -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Check that DPDK's dpdk-pmdinfo.py reads the PMD info of built drivers: for
# each library, every expected driver name must be listed (none expected for
# a bus, which registers no driver; the tool must still parse it).
#
# Usage: devtools/check-pmdinfo.sh <dpdk-pmdinfo.py> <lib.so> <names|-> [<lib.so> <names|->]...
#   names: comma-separated driver names, or - for none

set -euo pipefail

if [ $# -lt 3 ] || [ $(($# % 2)) -ne 1 ]; then
	sed -n '9,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
tool=$1
shift

fail=0
while [ $# -gt 0 ]; do
	lib=$1 names=$2
	shift 2
	if ! out=$("$tool" "$lib"); then
		echo "FAIL: $tool $lib exited with an error"
		fail=1
		continue
	fi
	list='import json, sys; print("\n".join(d["name"] for d in json.load(sys.stdin)))'
	found=$(printf '%s\n' "$out" | python3 -c "$list")
	if [ "$names" = - ]; then
		if [ -n "$found" ]; then
			echo "FAIL: $lib: no driver expected, found: $found"
			fail=1
		else
			echo "ok: $lib: no driver (as expected)"
		fi
		continue
	fi
	for n in ${names//,/ }; do
		if printf '%s\n' "$found" | grep -qx "$n"; then
			echo "ok: $lib: $n"
		else
			echo "FAIL: $lib: driver $n not in the PMD info (found: ${found:-none})"
			fail=1
		fi
	done
done
exit $fail

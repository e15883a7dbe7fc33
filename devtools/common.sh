# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Sourced by the other devtools scripts: paths, logging, EAL arguments.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build directories of the test command; override to keep several trees apart.
BUILD_DIR=${BUILD_DIR:-$ROOT/build-ci}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-$ROOT/build-ci-asan}
TSAN_BUILD_DIR=${TSAN_BUILD_DIR:-$ROOT/build-ci-tsan}
DOCS_BUILD_DIR=${DOCS_BUILD_DIR:-$ROOT/build-ci-docs}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-ci-fuzz}

# EAL arguments that work on a machine without hugepages or PCI access.
# --in-memory cannot be used: DPDK 22.11 treats --no-huge as legacy memory,
# which it refuses to combine with --in-memory. --no-shconf keeps concurrent
# processes from fighting over /var/run/dpdk/rte.
EAL_ARGS=${EAL_ARGS:---no-huge --no-pci --no-shconf -m 64}

log()
{
	printf '==> %s\n' "$*"
}

warn()
{
	printf 'warning: %s\n' "$*" >&2
}

die()
{
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Absolute form of a path that may not exist yet.
abspath()
{
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

jobs_count()
{
	nproc 2>/dev/null || echo 2
}

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The whole test suite: install what is missing, then
#  - style check of the tree, public headers (and the bus driver header)
#    alone in C and in C++;
#  - normal build, "fast-tests" suite;
#  - the sample applications run against each other;
#  - install into the build directory, samples built out of tree against the
#    installed copy and run;
#  - QEMU interop (devtools/interop.sh): a Linux guest uses the sample's
#    device through QEMU's vfio-user-pci, one check per guest assertion;
#    INTEROP=0 skips it, and it skips itself where it cannot run;
#  - API reference and guides, when doxygen and sphinx-build are there;
#  - ASan + UBSan build, "fast-tests" suite, the samples and interop again;
#  - ThreadSanitizer build, the test cases where threads meet;
#  - the libFuzzer targets built with clang and run $FUZZ_TIME seconds
#    (default 60, 0 skips them).
# Every step runs even when an earlier one failed. The last line of output is
# "N passed, N failed" (test cases of each meson run plus one per other
# check); the exit status is 1 when anything failed.
#
# Usage: devtools/run-tests.sh [--no-setup]

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

do_setup=true
for arg in "$@"; do
	case $arg in
	--no-setup) do_setup=false ;;
	-h|--help) sed -n '5,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $arg" ;;
	esac
done

cd "$ROOT"
if $do_setup; then
	"$ROOT/devtools/setup.sh" --docs
fi

passed=0
failed=0
report=()

record()
{
	local name=$1 rc=$2
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		report+=("PASS  $name")
	else
		failed=$((failed + 1))
		report+=("FAIL  $name")
	fi
}

check()
{
	local name=$1 rc=0
	shift
	log "check: $name"
	"$@" </dev/null || rc=$?
	record "$name" "$rc"
	return "$rc"
}

skip()
{
	report+=("SKIP  $1")
	log "skipped: $1"
}

# Run the fast-tests suite of a build and count its test cases.
run_suite()
{
	local name=$1 builddir=$2 rc=0 counts ok bad skipped
	shift 2
	log "meson test: $name"
	rm -f "$builddir/meson-logs/testlog.json"
	meson test -C "$builddir" --suite fast-tests --print-errorlogs \
		--num-processes "$(jobs_count)" "$@" </dev/null || rc=$?
	if ! counts=$(python3 "$ROOT/devtools/count-tests.py" "$builddir/meson-logs/testlog.json")
	then
		# Every later step still runs: this one counts as failed.
		record "$name: unreadable test log" 1
		return
	fi
	read -r ok bad skipped <<<"$counts"
	passed=$((passed + ok))
	failed=$((failed + bad))
	report+=("      $name: $ok passed, $bad failed, $skipped skipped")
	if [ $((ok + bad + skipped)) -eq 0 ]; then
		record "$name: no test ran (is the fast-tests suite empty?)" 1
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		record "$name: meson test exit status $rc" 1
	fi
}

# The QEMU interop test: each of its result lines is one check, or with a
# label, the whole run is one check of that name.
run_interop()
{
	local builddir=$1 label=${2:-} res rc=0 verdict name
	if [ "${INTEROP:-1}" = 0 ]; then
		skip "interop${label:+ $label}: disabled (INTEROP=0)"
		return
	fi
	res=$(mktemp)
	log "interop: QEMU vfio-user-pci and a Linux guest${label:+ ($label)}"
	"$ROOT/devtools/interop.sh" --builddir "$builddir" --results "$res" </dev/null || rc=$?
	if [ -n "$label" ]; then
		if [ "$rc" -eq 0 ] && ! grep -q '^PASS' "$res"; then
			skip "interop $label: $(sed -n 's/^SKIP //p' "$res" | head -n 1)"
		else
			record "interop $label ($(grep -c '^PASS' "$res") checks passed)" "$rc"
		fi
		rm -f "$res"
		return
	fi
	while read -r verdict name; do
		case $verdict in
		PASS) record "interop: $name" 0 ;;
		FAIL) record "interop: $name" 1 ;;
		SKIP) skip "interop: $name" ;;
		esac
	done <"$res"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$res"; then
		record "interop: devtools/interop.sh exit status $rc" 1
	elif [ ! -s "$res" ]; then
		record "interop: no result" 1
	fi
	rm -f "$res"
}

check "style (devtools/check-style.sh)" "$ROOT/devtools/check-style.sh" || true
check "public header alone in C" "$ROOT/devtools/check-headers.sh" -l c || true
check "public header alone in C++" "$ROOT/devtools/check-headers.sh" -l c++ || true

# Normal build, where a compiler warning is an error; its prefix is the
# private one the install test uses.
if check "build, -Werror ($(basename "$BUILD_DIR"))" "$ROOT/devtools/build.sh" "$BUILD_DIR" \
		-Dwerror=true --prefix="$BUILD_DIR/install"; then
	run_suite "fast-tests ($(basename "$BUILD_DIR"))" "$BUILD_DIR"
	check "samples: emu + client + dma-copy through the emulated DMA engine" \
		"$ROOT/devtools/run-example.sh" --no-setup --no-build --builddir "$BUILD_DIR" ||
		true
	check "install + out-of-tree samples" "$ROOT/devtools/test-install.sh" "$BUILD_DIR" || true
	run_interop "$BUILD_DIR"
else
	skip "tests, samples and install of $(basename "$BUILD_DIR"): build failed"
fi

if command -v doxygen >/dev/null && command -v sphinx-build >/dev/null; then
	# Only the documentation targets are built: no compiler involved.
	if "$ROOT/devtools/build.sh" --setup-only "$DOCS_BUILD_DIR" -Denable_docs=true \
			-Dtests=false -Dexamples=false </dev/null; then
		check "docs: API reference (doxygen, no warning)" \
			ninja -C "$DOCS_BUILD_DIR" doc/api/html || true
		check "docs: guides (sphinx -W)" ninja -C "$DOCS_BUILD_DIR" doc/guides/html || true
	else
		record "docs: configure $(basename "$DOCS_BUILD_DIR")" 1
	fi
else
	skip "docs: doxygen or sphinx-build missing"
fi

# Sanitizers: any ASan, LSan or UBSan report fails the test that caused it.
asan_opts=detect_leaks=1:halt_on_error=1:print_stacktrace=1:print_summary=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_opts:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
if [ -f "$ROOT/devtools/lsan.supp" ]; then
	lsan_opts=suppressions=$ROOT/devtools/lsan.supp:print_suppressions=0
	export LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan_opts}
fi
if check "build with ASan + UBSan ($(basename "$ASAN_BUILD_DIR"))" "$ROOT/devtools/build.sh" \
		"$ASAN_BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false; then
	run_suite "fast-tests ($(basename "$ASAN_BUILD_DIR"))" "$ASAN_BUILD_DIR" \
		--timeout-multiplier 3
	check "samples under ASan + UBSan" "$ROOT/devtools/run-example.sh" \
		--no-setup --no-build --builddir "$ASAN_BUILD_DIR" || true
	run_interop "$ASAN_BUILD_DIR" "under ASan + UBSan"
else
	skip "tests of $(basename "$ASAN_BUILD_DIR"): build failed"
fi

# ThreadSanitizer: the cases where threads meet must not report a race:
# several callers of one device, the control thread against API calls, the
# race cases, many sessions and devices, a client reconnecting from EAL's
# alarms against API calls, the bus hotplug loop on EAL's interrupt thread,
# the virtio-net device's bursts against DMA table changes and migration
# stops (in its server processes). DPDK is not
# instrumented: the libc calls it makes are not checked
# (ignore_noninstrumented_modules), see the testing section of the
# programmer's guide. A case the build lacks is left out.
tsan_cases=(vfio_user_replies_autotest vfio_user_dma_msg_autotest vfio_user_review_autotest
	vfio_user_races_autotest vfio_user_session_autotest vfio_user_multi_dev_autotest
	vfio_user_reconnect_autotest bus_vfio_user_autotest emu_virtio_net_autotest
	emu_virtio_net_mig_autotest)
tsan_opts=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1
if check "build with ThreadSanitizer ($(basename "$TSAN_BUILD_DIR"))" "$ROOT/devtools/build.sh" \
		"$TSAN_BUILD_DIR" -Db_sanitize=thread -Db_lundef=false -Dexamples=false; then
	mapfile -t tsan_tests < <(meson test -C "$TSAN_BUILD_DIR" --list 2>/dev/null |
		grep -xF "${tsan_cases[@]/#/-e}")
	if [ "${#tsan_tests[@]}" -eq 0 ]; then
		record "thread cases: none in $(basename "$TSAN_BUILD_DIR")" 1
	else
		TSAN_OPTIONS=${TSAN_OPTIONS:-$tsan_opts} run_suite \
			"thread cases under TSan ($(basename "$TSAN_BUILD_DIR"))" \
			"$TSAN_BUILD_DIR" --timeout-multiplier 3 "${tsan_tests[@]}"
	fi
else
	skip "tests of $(basename "$TSAN_BUILD_DIR"): build failed"
fi

# Fuzzing: a bounded run of both targets from the committed corpus.
fuzz_time=${FUZZ_TIME:-60}
if [ "$fuzz_time" -eq 0 ]; then
	skip "fuzz: FUZZ_TIME=0"
elif command -v clang >/dev/null; then
	check "fuzz: server and client targets, $fuzz_time s (devtools/fuzz.sh)" \
		"$ROOT/devtools/fuzz.sh" --time "$fuzz_time" --builddir "$FUZZ_BUILD_DIR" || true
else
	skip "fuzz: clang missing"
fi

echo
echo "Summary:"
printf '  %s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

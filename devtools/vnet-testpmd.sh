# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Sourced by devtools/test-testpmd-vnet.sh and devtools/bench-net.sh: run
# stock dpdk-testpmd instances in interactive mode, fed through a FIFO, and
# read their statistics back from their output.
#
#   tp_missing BUILD_DIR        print what is missing to run (testpmd or a plugin);
#                               false when nothing is
#   tp_setup BUILD_DIR          work directory, plugin directory, LD_* settings
#   tp_start NAME ARGS...       start "dpdk-testpmd ARGS" as NAME, wait for its prompt
#   tp_cmd NAME CMD [PATTERN]   send CMD; with PATTERN, wait until it shows after CMD
#   tp_out NAME                 output since the last tp_cmd
#   tp_quit NAME                quit, wait for the exit (kill it after a while)
#   tp_port_stat FIELD          from tp_out on stdin: FIELD of the port block
#                               (RX-packets, RX-dropped, TX-packets, TX-dropped)
# Each instance gets its own --file-prefix; logs are in $TP_WORK/NAME.log.
# shellcheck shell=bash

TP_TESTPMD=${TESTPMD_BIN:-/usr/bin/dpdk-testpmd}
TP_WORK=
TP_PLUGDIR=
TP_OWN_PLUGDIR=
declare -A TP_PID TP_FD TP_OFF

# EAL's -d refuses a plugin when any directory above it is world-writable.
tp_path_is_safe()
{
	local d=$1
	while :; do
		[ -n "$(find "$d" -maxdepth 0 -perm -0002)" ] && return 1
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
}

tp_missing()
{
	local so plugins="librte_bus_vfio_user.so librte_emu_virtio_net.so
		librte_net_vfio_user_virtio.so"
	if [ ! -x "$TP_TESTPMD" ]; then
		echo "$TP_TESTPMD not found (Debian package dpdk)"
		return 0
	fi
	for so in $plugins; do
		if [ ! -f "$1/drivers/$so" ]; then
			echo "$so not found in $1/drivers"
			return 0
		fi
	done
	return 1
}

tp_setup()
{
	local build drv so rt preload=
	build=$(realpath "$1")
	drv=$build/drivers
	TP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vnet-testpmd.XXXXXX")
	if tp_path_is_safe "$drv"; then
		TP_PLUGDIR=$drv
	else
		mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}"
		TP_OWN_PLUGDIR=$(mktemp -d "${XDG_CACHE_HOME:-$HOME/.cache}/vnet-plugins.XXXXXX")
		for so in "$drv"/librte_*.so*; do
			cp -P "$so" "$TP_OWN_PLUGDIR/"
		done
		TP_PLUGDIR=$TP_OWN_PLUGDIR
	fi
	export LD_LIBRARY_PATH=$build/lib/librte_vfio_user${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	# Plugins of a sanitizer build need the runtimes loaded first in the
	# stock binary; its own allocations at exit are not ours to check.
	so=$drv/librte_net_vfio_user_virtio.so
	if [ -f "$so" ] && readelf -d "$so" | grep -q 'NEEDED.*libasan'; then
		for rt in libasan.so libubsan.so; do
			if readelf -d "$so" | grep -q "NEEDED.*${rt%.so}"; then
				preload+="$(${CC:-cc} -print-file-name="$rt") "
			fi
		done
		export LD_PRELOAD="$preload${LD_PRELOAD:-}"
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	fi
}

tp_cleanup()
{
	local name
	for name in "${!TP_PID[@]}"; do
		tp_kill "$name"
	done
	if [ -n "$TP_WORK" ]; then
		if [ "${KEEP_LOGS:-0}" = 1 ]; then
			echo "logs kept in $TP_WORK"
		else
			rm -rf "$TP_WORK"
		fi
	fi
	[ -n "$TP_OWN_PLUGDIR" ] && rm -rf "$TP_OWN_PLUGDIR"
	return 0
}

tp_kill()
{
	local name=$1 pid=${TP_PID[$1]:-}
	[ -n "$pid" ] || return 0
	eval "exec ${TP_FD[$name]}>&-" 2>/dev/null || true
	if kill -0 "$pid" 2>/dev/null; then
		# A stopped process (benchmark pause) acts on SIGTERM once continued.
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	unset "TP_PID[$name]"
}

# Wait until PATTERN (extended regexp) shows in NAME's log after byte OFFSET.
tp_wait()
{
	local name=$1 pattern=$2 off=$3 i
	for i in $(seq "${TP_TIMEOUT:-300}"); do
		tail -c +"$((off + 1))" "$TP_WORK/$name.log" | grep -Eq -- "$pattern" && return 0
		kill -0 "${TP_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "$name: no \"$pattern\" in its output:" >&2
	tail -n 40 "$TP_WORK/$name.log" >&2
	return 1
}

tp_start()
{
	local name=$1 fd
	shift
	rm -f "$TP_WORK/$name.in"
	mkfifo "$TP_WORK/$name.in"
	# Line-buffered: the statistics must reach the log when printed.
	stdbuf -oL "$TP_TESTPMD" --file-prefix="$name-$$" -d "$TP_PLUGDIR" "$@" \
		< "$TP_WORK/$name.in" > "$TP_WORK/$name.log" 2>&1 &
	TP_PID[$name]=$!
	exec {fd}> "$TP_WORK/$name.in"
	TP_FD[$name]=$fd
	TP_OFF[$name]=0
	tp_wait "$name" 'testpmd> ' 0
}

tp_cmd()
{
	local name=$1 cmd=$2 pattern=${3:-}
	TP_OFF[$name]=$(stat -c %s "$TP_WORK/$name.log")
	printf '%s\n' "$cmd" >&"${TP_FD[$name]}"
	if [ -n "$pattern" ]; then
		tp_wait "$name" "$pattern" "${TP_OFF[$name]}"
	fi
}

tp_out()
{
	tail -c +"$((${TP_OFF[$1]} + 1))" "$TP_WORK/$1.log"
}

tp_quit()
{
	local name=$1 pid=${TP_PID[$1]} rc=0
	printf 'quit\n' >&"${TP_FD[$name]}"
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	eval "exec ${TP_FD[$name]}>&-"
	if kill -0 "$pid" 2>/dev/null; then
		echo "$name did not quit" >&2
		tp_kill "$name"
		return 1
	fi
	wait "$pid" || rc=$?
	unset "TP_PID[$name]"
	return "$rc"
}

# FIELD of the first "Forward statistics for port" block on stdin.
tp_port_stat()
{
	awk -v f="$1:" '
		/Forward statistics for port/ { inblk = 1; next }
		inblk && /-----/ { exit }
		inblk { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# RX-packets of each stream block on stdin, as "queue count" lines.
tp_stream_rx()
{
	sed -n 's/.*Forward Stats for RX Port= *[0-9]*\/Queue= *\([0-9]*\) .*/\1/p;
		s/^ *RX-packets: *\([0-9]*\) .*TX-packets.*/= \1/p' |
		awk '$1 == "=" { print q, $2; next } { q = $1 }'
}

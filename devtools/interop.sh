#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# Interop test: QEMU's vfio-user-pci client and a Linux guest use the devices
# of dpdk-vfio-user-emu (and, when the build has drivers/emu/dma, of an
# emu_dma vdev loaded into the same process), and, when the build has
# drivers/emu/virtio_net, a virtio-net NIC served by stock dpdk-testpmd.
#
# Once, into a cache folder: a Debian trixie chroot (debootstrap minbase) with
# qemu-system-x86 from trixie-backports, trixie's kernel, busybox-static and
# the uio and virtio_net modules. Every run: the guest programs
# (devtools/interop/guest.c, built static, and net.sh) go into an initramfs;
# one dpdk-vfio-user-emu process serves a device to the VM and a second one to
# dpdk-vfio-user-client, run in a loop meanwhile; testpmd answers the guest's
# pings (icmpecho); the VM boots twice against the same servers, its console
# lines "INTEROP PASS|FAIL <check>" are the results.
#
# Usage: devtools/interop.sh [--builddir DIR] [--results FILE] [--setup-only]
#   --builddir DIR  build with the examples (default $BUILD_DIR)
#   --results FILE  also write "PASS|FAIL|SKIP <check>" lines to FILE
#   --setup-only    build the cache and stop
# Environment: INTEROP_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/
# librte_vfio_user/interop), INTEROP_MIRROR (Debian mirror), INTEROP_KEEP=1
# keeps the run folder (logs, console) under the cache, INTEROP_EMU_DMA=<.so>
# names the emu_dma plugin (default: librte_emu_dma.so of the build),
# INTEROP_TESTPMD the testpmd binary (default /usr/bin/dpdk-testpmd).
# Prints "SKIP: <reason>" and exits 0 when the host cannot run it (not root
# for the first set-up, archive unreachable); any failed check exits 1.

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

builddir=$BUILD_DIR
results=
setup_only=false
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$(abspath "${2:?}"); shift ;;
	--results) results=$(abspath "${2:?}"); shift ;;
	--setup-only) setup_only=true ;;
	-h|--help) sed -n '5,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done

CACHE=${INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/librte_vfio_user/interop}
MIRROR=${INTEROP_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
BOOTS=2
# The NIC's MAC (devargs), and how many pings of each size the guest sends.
NET_MAC=02:00:5e:10:00:01
NET_PINGS=5
GUEST_MEM=256M
QEMU_TIMEOUT=${QEMU_TIMEOUT:-240}
# Bump when the cache layout changes.
STAMP=$CACHE/ready-1
CHROOT=$CACHE/chroot
# The guest's kernel modules, in load order: uio for the engines, virtio-net
# and what it needs for our NIC. Those the kernel has built in are not found
# in its package and left out (trixie builds in virtio_pci). Bump the stamp
# when the list changes: the next run adds them to the cache.
GUEST_MODULES="uio uio_pci_generic virtio virtio_ring virtio_pci_legacy_dev
	virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
MODULES_STAMP=$CACHE/guest/modules-2

[ -z "$results" ] || : >"$results"
passed=0
failed=0

result()
{
	local verdict=$1
	shift
	printf '%s  interop: %s\n' "$verdict" "$*"
	[ -z "$results" ] || printf '%s %s\n' "$verdict" "$*" >>"$results"
	case $verdict in
	SKIP) ;;
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	esac
}

skip_all()
{
	echo "SKIP: interop: $*"
	[ -z "$results" ] || printf 'SKIP %s\n' "$*" >>"$results"
	exit 0
}

# Everything below runs in the chroot's userland without entering it: its
# dynamic loader and libraries, so host paths (sockets, logs) work as is.
qemu_cmd()
{
	local libs=$CHROOT/lib/x86_64-linux-gnu:$CHROOT/usr/lib/x86_64-linux-gnu
	QEMU_MODULE_DIR=$CHROOT/usr/lib/x86_64-linux-gnu/qemu \
		"$CHROOT/lib64/ld-linux-x86-64.so.2" --library-path "$libs" \
		"$CHROOT/usr/bin/qemu-system-x86_64" \
		-L "$CHROOT/usr/share/qemu" -L "$CHROOT/usr/share/seabios" "$@"
}

# The modules of GUEST_MODULES found in the unpacked kernel package $1, and
# their load order in guest/modules/order.
extract_modules()
{
	local m ko
	rm -rf "$CACHE/guest/modules"
	mkdir -p "$CACHE/guest/modules"
	for m in $GUEST_MODULES; do
		ko=$(find "$1" -name "$m.ko.xz" | head -n 1)
		[ -n "$ko" ] || continue
		xz -dc "$ko" >"$CACHE/guest/modules/$m.ko"
		echo "$m" >>"$CACHE/guest/modules/order"
	done
	[ -f "$CACHE/guest/modules/uio.ko" ] || die "no uio module in $(ls "$1"/boot)"
	touch "$MODULES_STAMP"
}

# A cache built with an older module list: fetch the kernel package it was
# built with again; when the archive no longer has that version, build the
# whole cache anew (kernel and modules must match).
update_modules()
{
	local kpkg pkg ver tmp=$CACHE/modules.tmp
	[ "$(id -u)" -eq 0 ] || skip_all "adding kernel modules to the cache needs root (chroot)"
	kpkg=$(cat "$CACHE/guest/kernel-package")
	pkg=${kpkg%%_*}
	ver=${kpkg#*_}
	ver=${ver%_*}
	log "interop: adding kernel modules from $pkg $ver to the cache"
	rm -rf "$tmp" "$CHROOT/tmp/kernel-dl"
	mkdir -p "$tmp" "$CHROOT/tmp/kernel-dl"
	if chroot "$CHROOT" sh -c "cd /tmp/kernel-dl && apt-get download $pkg=$ver" \
			>"$tmp/log" 2>&1; then
		dpkg-deb -x "$CHROOT"/tmp/kernel-dl/*.deb "$tmp/kernel"
		extract_modules "$tmp/kernel"
		rm -rf "$tmp" "$CHROOT/tmp/kernel-dl"
	else
		log "interop: $pkg $ver no longer downloadable: building the cache anew"
		rm -rf "$tmp" "$CHROOT/tmp/kernel-dl"
		rm -f "$STAMP"
		setup_cache
	fi
}

setup_cache()
{
	local tmp=$CACHE/setup.tmp kdeb bdeb
	[ "$(id -u)" -eq 0 ] || skip_all "the first set-up needs root (debootstrap)"
	for t in apt-get dpkg-deb xz gzip; do
		command -v "$t" >/dev/null || skip_all "$t not installed"
	done
	log "interop: building the cache in $CACHE (once)"
	rm -rf "$tmp" "$CHROOT"
	mkdir -p "$tmp/dl"
	(cd "$tmp/dl" && apt-get download -o APT::Sandbox::User=root debootstrap) \
		>"$tmp/log" 2>&1 ||
		skip_all "apt-get download debootstrap failed (archive unreachable?)"
	dpkg-deb -x "$tmp"/dl/debootstrap_*.deb "$tmp/debootstrap"
	DEBOOTSTRAP_DIR=$tmp/debootstrap/usr/share/debootstrap \
		"$tmp/debootstrap/usr/sbin/debootstrap" --variant=minbase \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$SUITE" "$tmp/chroot" "$MIRROR" >>"$tmp/log" 2>&1 ||
		skip_all "debootstrap $SUITE from $MIRROR failed (see $tmp/log)"
	echo "deb $MIRROR $SUITE-backports main" \
		>"$tmp/chroot/etc/apt/sources.list.d/backports.list"
	chroot "$tmp/chroot" apt-get update >>"$tmp/log" 2>&1 ||
		skip_all "apt-get update in the chroot failed (see $tmp/log)"
	chroot "$tmp/chroot" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends -t "$SUITE-backports" qemu-system-x86 >>"$tmp/log" 2>&1 ||
		skip_all "qemu-system-x86 from $SUITE-backports not installable (see $tmp/log)"
	# The kernel and busybox are unpacked, not installed: no hooks run.
	# shellcheck disable=SC2016
	chroot "$tmp/chroot" sh -c 'cd /tmp && apt-get download busybox-static $(apt-cache \
		depends linux-image-amd64 | sed -n "s/^ *Depends: \(linux-image-[0-9].*\)/\1/p")' \
		>>"$tmp/log" 2>&1 || skip_all "kernel or busybox download failed (see $tmp/log)"
	kdeb=$(ls "$tmp"/chroot/tmp/linux-image-*.deb)
	bdeb=$(ls "$tmp"/chroot/tmp/busybox-static_*.deb)
	dpkg-deb -x "$kdeb" "$tmp/kernel"
	dpkg-deb -x "$bdeb" "$tmp/busybox"
	mkdir -p "$CACHE/guest"
	cp "$tmp"/kernel/boot/vmlinuz-* "$CACHE/guest/vmlinuz"
	cp "$tmp/busybox/usr/bin/busybox" "$CACHE/guest/busybox"
	basename "$kdeb" >"$CACHE/guest/kernel-package"
	extract_modules "$tmp/kernel"
	rm -f "$tmp"/chroot/tmp/*.deb
	chroot "$tmp/chroot" apt-get clean
	mv "$tmp/chroot" "$CHROOT"
	rm -rf "$tmp"
	qemu_cmd --version | head -n 1 >"$CACHE/guest/qemu-version" ||
		die "the cached QEMU does not start"
	touch "$STAMP"
}

t0=$(date +%s)
mkdir -p "$CACHE" 2>/dev/null || skip_all "cannot create the cache folder $CACHE"
[ -f "$STAMP" ] || setup_cache
[ -f "$MODULES_STAMP" ] || update_modules
log "interop: $(cat "$CACHE/guest/qemu-version"), kernel $(cat "$CACHE/guest/kernel-package")" \
	"(cache ready in $(($(date +%s) - t0)) s)"
$setup_only && exit 0

find_binary()
{
	local found
	found=$(find "$builddir" -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1)
	[ -n "$found" ] || die "$1 not found in $builddir (are the examples built?)"
	echo "$found"
}
emu=$(find_binary dpdk-vfio-user-emu)
client=$(find_binary dpdk-vfio-user-client)
# The emulated DMA engine, a plugin of the same server process when built.
emu_dma=${INTEROP_EMU_DMA:-$(find "$builddir" -name librte_emu_dma.so 2>/dev/null | head -n 1)}
# The virtio-net NIC: stock testpmd with our drivers, when they are built.
testpmd=${INTEROP_TESTPMD:-/usr/bin/dpdk-testpmd}
net_drv=$builddir/drivers/librte_emu_virtio_net.so
command -v gcc >/dev/null || die "gcc is needed for the guest program"

run=$(mktemp -d "$CACHE/run.XXXXXX")
server_pid=
pmd_pid=
cleanup()
{
	local pid
	for pid in $server_pid $pmd_pid; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	if [ "${INTEROP_KEEP:-0}" = 1 ]; then
		echo "interop: logs kept in $run"
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT

# The initramfs: busybox, the modules, the guest programs and /init.
log "interop: building the guest program and initramfs"
mkdir -p "$run/root/bin" "$run/root/lib/modules"
gcc -static -O2 -Wall -Wextra -Werror -I"$ROOT/examples/vfio_user_emu" \
	-I"$ROOT/drivers/common/emu_dma" -o "$run/root/bin/interop-guest" \
	"$ROOT/devtools/interop/guest.c"
cp "$CACHE/guest/busybox" "$run/root/bin/busybox"
cp "$CACHE"/guest/modules/* "$run/root/lib/modules/"
install -m 0755 "$ROOT/devtools/interop/init.sh" "$run/root/init"
install -m 0755 "$ROOT/devtools/interop/net.sh" "$run/root/bin/interop-net"
(cd "$run/root" && find . | "$CACHE/guest/busybox" cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$run/initrd.gz"

# One server process, two devices: the VM's and the one the side client uses;
# plus the emu_dma engine for the VM when it is built.
vm_sock=$run/vm.sock
side_sock=$run/side.sock
dma_sock=$run/dma.sock
dma_args=()
if [ -n "$emu_dma" ]; then
	# Lcore 1 polls the engine.
	dma_args=(-l "0-1" -d "$emu_dma")
	dma_args+=("--vdev=emu_dma0,path=$dma_sock,channels=2,service_core=1")
else
	result SKIP "emu_dma: librte_emu_dma.so not in $builddir (drivers/emu/dma not built)"
fi
# shellcheck disable=SC2086
"$emu" $EAL_ARGS --file-prefix "interop-srv-$$" "${dma_args[@]}" -- --socket "$vm_sock" \
	--socket "$side_sock" >"$run/server.log" 2>&1 &
server_pid=$!
socks_ready()
{
	[ -S "$vm_sock" ] && [ -S "$side_sock" ] && { [ -z "$emu_dma" ] || [ -S "$dma_sock" ]; }
}
for _ in $(seq 100); do
	socks_ready && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.2
done
if ! socks_ready; then
	cat "$run/server.log"
	result FAIL "server start (dpdk-vfio-user-emu with two sockets)"
	echo "interop: $passed passed, $failed failed"
	exit 1
fi

# The NIC's server: stock testpmd, our drivers loaded with -d, whose icmpecho
# forwarding answers the guest's ARP requests and pings. Its stdin is a FIFO
# this script holds open: it asks for the port statistics after each boot.
net_sock=$run/net.sock
if [ ! -f "$net_drv" ]; then
	net_sock=
	result SKIP "net: $(basename "$net_drv") not in $builddir/drivers (not built)"
elif [ ! -x "$testpmd" ]; then
	net_sock=
	result SKIP "net: $testpmd not installed"
else
	# Plugins of a sanitizer build need the runtimes loaded first in the stock
	# binary; its own allocations at exit are not ours to check.
	preload=
	for rt in libasan.so libubsan.so; do
		if readelf -d "$net_drv" | grep -q "NEEDED.*${rt%.so}"; then
			preload+="$(${CC:-cc} -print-file-name="$rt") "
		fi
	done
	mkfifo "$run/testpmd.in"
	exec {pmd_in}<>"$run/testpmd.in"
	# shellcheck disable=SC2086
	LD_PRELOAD="$preload${LD_PRELOAD:-}" \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		stdbuf -oL "$testpmd" -l 0-1 $EAL_ARGS --file-prefix "interop-net-$$" \
		-d "$builddir/drivers" --vdev "net_emu_virtio0,path=$net_sock,mac=$NET_MAC" -- \
		-i --forward-mode=icmpecho --auto-start --total-num-mbufs=2048 \
		<&"$pmd_in" >"$run/testpmd.log" 2>&1 &
	pmd_pid=$!
	for _ in $(seq 100); do
		[ -S "$net_sock" ] && grep -q '^testpmd> ' "$run/testpmd.log" && break
		kill -0 "$pmd_pid" 2>/dev/null || break
		sleep 0.2
	done
	if ! [ -S "$net_sock" ]; then
		tail -n 30 "$run/testpmd.log" | sed 's/^/  testpmd: /'
		result FAIL "net: testpmd start with net_emu_virtio0"
		echo "interop: $passed passed, $failed failed"
		exit 1
	fi
fi
pmd_rx=0
pmd_tx=0

# Port 0's RX-packets and TX-packets as testpmd shows them now.
pmd_stats()
{
	local before
	before=$(grep -c '^ *TX-packets:' "$run/testpmd.log" || true)
	echo "show port stats 0" >&"$pmd_in"
	for _ in $(seq 100); do
		[ "$(grep -c '^ *TX-packets:' "$run/testpmd.log" || true)" -gt "$before" ] && break
		sleep 0.2
	done
	# Both lines of the last block.
	printf '%s %s\n' \
		"$(sed -n 's/^ *RX-packets: *\([0-9]*\).*/\1/p' "$run/testpmd.log" | tail -n 1)" \
		"$(sed -n 's/^ *TX-packets: *\([0-9]*\).*/\1/p' "$run/testpmd.log" | tail -n 1)"
}

# QEMU's vfio-user-pci device: only the JSON form takes the socket address.
vfio_user_dev()
{
	printf '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"%s"}}' "$1"
}

# What the NIC's boot left: the guest's net checks ran to their end, and
# testpmd counted at least the frames they need: per ping size NET_PINGS echo
# requests in and replies out, plus one ARP request and reply for arping.
net_checks()
{
	local n=$1 rx tx want=$((2 * NET_PINGS + 1))
	if grep -q 'INTEROP NET-DONE' "$run/console-$n.log" 2>/dev/null; then
		result PASS "boot $n: guest net checks ran to the end"
	else
		result FAIL "boot $n: no INTEROP NET-DONE line on the console"
	fi
	read -r rx tx < <(pmd_stats)
	if [ $((rx - pmd_rx)) -ge "$want" ] && [ $((tx - pmd_tx)) -ge "$want" ]; then
		result PASS "boot $n: testpmd port 0 received $((rx - pmd_rx)) and sent" \
			"$((tx - pmd_tx)) packets (icmpecho)"
	else
		result FAIL "boot $n: testpmd port 0 received $((rx - pmd_rx)) and sent" \
			"$((tx - pmd_tx)) packets, expected $want or more each"
	fi
	pmd_rx=${rx:-0}
	pmd_tx=${tx:-0}
	if kill -0 "$pmd_pid" 2>/dev/null; then
		result PASS "boot $n: testpmd alive after QEMU disconnected"
	else
		result FAIL "boot $n: testpmd died"
		tail -n 30 "$run/testpmd.log" | sed 's/^/  testpmd: /'
	fi
}

boot()
{
	local n=$1 qrc=0 qpid cpass=0 cfail=0 crc line t1 devs=() cmdline maps unmasks rx tx
	t1=$(date +%s)
	devs=(-device "$(vfio_user_dev "$vm_sock")")
	cmdline="interop.emu_dma=${emu_dma:+1}"
	[ -z "$emu_dma" ] || devs+=(-device "$(vfio_user_dev "$dma_sock")")
	if [ -n "$net_sock" ]; then
		devs+=(-device "$(vfio_user_dev "$net_sock")")
		cmdline+=" interop.net_mac=$NET_MAC interop.net_pings=$NET_PINGS"
	fi
	log "interop: boot $n"
	qemu_cmd -machine q35,memory-backend=mem -m "$GUEST_MEM" \
		-object memory-backend-memfd,id=mem,size="$GUEST_MEM",share=on \
		-accel tcg -display none -monitor none -nic none -no-reboot \
		-serial "file:$run/console-$n.log" \
		-kernel "$CACHE/guest/vmlinuz" -initrd "$run/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet interop.boot=$n $cmdline" \
		"${devs[@]}" \
		-trace 'vfio_user_*' </dev/null >"$run/qemu-$n.log" 2>&1 &
	qpid=$!
	# The other device is used by our own client while the VM runs.
	while kill -0 "$qpid" 2>/dev/null; do
		crc=0
		# shellcheck disable=SC2086
		timeout 60 "$client" $EAL_ARGS --file-prefix "interop-cli-$$" -- \
			--socket "$side_sock" >"$run/client-$n.log" 2>&1 </dev/null || crc=$?
		if [ "$crc" -eq 0 ]; then
			cpass=$((cpass + 1))
		else
			cfail=$((cfail + 1))
			cp "$run/client-$n.log" "$run/client-$n-failed-$cfail.log"
		fi
		[ $(($(date +%s) - t1)) -lt "$QEMU_TIMEOUT" ] || break
	done
	for _ in $(seq "$QEMU_TIMEOUT"); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 1
	done
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || true
		result FAIL "boot $n: QEMU still running after ${QEMU_TIMEOUT} s"
	fi
	wait "$qpid" || qrc=$?
	grep -v '^vfio_user_' "$run/qemu-$n.log" | sed 's/^/  qemu: /' || true
	if [ "$qrc" -eq 0 ]; then
		result PASS "boot $n: QEMU attached, guest powered off ($(($(date +%s) - t1)) s)"
	else
		result FAIL "boot $n: QEMU exit status $qrc"
	fi
	# What QEMU's trace shows of the protocol.
	maps=$(grep -c 'vfio_user_dma_map ' "$run/qemu-$n.log" || true)
	if grep -q 'vfio_user_version .*major 0 minor 0' "$run/qemu-$n.log" &&
			[ "$maps" -ge 1 ]; then
		result PASS "boot $n: QEMU negotiated 0.0 and sent $maps DMA_MAP messages"
	else
		result FAIL "boot $n: no version 0.0 or no DMA_MAP in QEMU's trace"
	fi
	# SET_IRQS INTx, DATA_NONE | ACTION_UNMASK: once per guest EOI.
	unmasks=$(grep -c 'vfio_user_set_irqs .*index 0 start 0 count 1 flags 0x11' \
		"$run/qemu-$n.log" || true)
	if [ "$unmasks" -ge 2 ]; then
		result PASS "boot $n: QEMU unmasked INTx after the interrupts ($unmasks times)"
	else
		result FAIL "boot $n: QEMU unmasked INTx $unmasks times, expected 2 or more"
	fi
	sed -n 's/^.*\(INTEROP \(INFO\|BEGIN\|SKIP\|DONE\|EXIT\|NET-DONE\)\b\)/  guest: \1/p' \
		"$run/console-$n.log" 2>/dev/null || true
	while IFS= read -r line; do
		case $line in
		*"INTEROP PASS "*) result PASS "boot $n: ${line#*INTEROP PASS }" ;;
		*"INTEROP FAIL "*) result FAIL "boot $n: ${line#*INTEROP FAIL }" ;;
		esac
	done < <(tr -d '\r' <"$run/console-$n.log" 2>/dev/null)
	if grep -q 'INTEROP DONE' "$run/console-$n.log" 2>/dev/null; then
		result PASS "boot $n: guest program ran to the end"
	else
		result FAIL "boot $n: no INTEROP DONE line on the console"
		tail -n 30 "$run/console-$n.log" 2>/dev/null | sed 's/^/  console: /' || true
	fi
	if [ -n "$net_sock" ]; then
		net_checks "$n"
	fi
	if [ "$cpass" -ge 1 ] && [ "$cfail" -eq 0 ]; then
		result PASS "boot $n: side device served meanwhile ($cpass client runs passed)"
	else
		result FAIL "boot $n: side device: $cpass client runs passed, $cfail failed"
		tail -n 20 "$run/client-$n.log" | sed 's/^/  client: /'
	fi
	if kill -0 "$server_pid" 2>/dev/null; then
		result PASS "boot $n: server alive after QEMU disconnected"
	else
		result FAIL "boot $n: server died"
	fi
}

for n in $(seq "$BOOTS"); do
	boot "$n"
done

# Live migration of a vfio-user device needs QEMU to drive the migration
# state machine (VFIO_USER_DEVICE_FEATURE, MIG_DATA_READ/WRITE). QEMU 11.1's
# vfio-user-pci does not: no enable-migration property, and a VM migrates
# without the device's state (doc/guides/emu/dma.rst, "QEMU"). The two-QEMU
# test is for the first QEMU that says it can.
if qemu_cmd -device vfio-user-pci,help 2>/dev/null | grep -q '^ *enable-migration='; then
	result FAIL "migration: QEMU's vfio-user-pci has enable-migration now:" \
		"write the two-QEMU migration test (doc/guides/emu/dma.rst)"
else
	result SKIP "migration: QEMU's vfio-user-pci has no enable-migration property"
fi

gone=$(grep -c 'client gone' "$run/server.log" || true)
kill -TERM "$server_pid" 2>/dev/null || true
src=0
for _ in $(seq 100); do
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.2
done
wait "$server_pid" || src=$?
server_pid=
if [ "$src" -eq 0 ] && ! [ -e "$vm_sock" ] && ! [ -e "$side_sock" ] &&
		! [ -e "$dma_sock" ]; then
	result PASS "server stopped cleanly after $BOOTS boots ($gone disconnections seen)"
else
	result FAIL "server exit status $src after SIGTERM"
	tail -n 30 "$run/server.log" | sed 's/^/  server: /'
fi
if [ -n "$net_sock" ]; then
	# testpmd stops forwarding, prints its totals and closes the port.
	echo quit >&"$pmd_in"
	prc=0
	for _ in $(seq 100); do
		kill -0 "$pmd_pid" 2>/dev/null || break
		sleep 0.2
	done
	wait "$pmd_pid" || prc=$?
	pmd_pid=
	total=$(sed -n '/Forward statistics for port 0/,/TX-packets/{
		s/^ *RX-packets: *\([0-9]*\).*/\1/p }' "$run/testpmd.log")
	if [ "$prc" -eq 0 ] && ! [ -e "$net_sock" ] && [ "${total:-0}" -ge "$pmd_rx" ] &&
			[ "$pmd_rx" -gt 0 ]; then
		result PASS "testpmd quit cleanly after $BOOTS boots (${total:-0} packets received)"
	else
		result FAIL "testpmd exit status $prc, forward statistics RX ${total:-none}"
		tail -n 30 "$run/testpmd.log" | sed 's/^/  testpmd: /'
	fi
fi
[ "$failed" -eq 0 ] || INTEROP_KEEP=1
echo "interop: $passed passed, $failed failed ($(($(date +%s) - t0)) s)"
[ "$failed" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

# The checks a dev@dpdk.org reviewer makes first, over the whole tree or the
# files given as arguments:
#  - lines longer than 100 columns (tabs count to the next multiple of 8);
#  - indentation with spaces (a line starting with a space other than a
#    comment's " *", eight spaces in the indentation, a space before a tab);
#  - trailing whitespace;
#  - a missing SPDX-License-Identifier in the first lines;
#  - %llx in C (PRIx64 is portable);
#  - rte_panic() or exit() in the library (it must return errors instead).
# Prints file:line: problem for each finding; exits 1 if there is any.
#
# Usage: devtools/check-style.sh [file...]

set -euo pipefail
# shellcheck source=devtools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Arguments are relative to the caller's directory; paths inside the tree are
# shown relative to its top, where lib/ and drivers/ are recognised.
args=()
for f in "$@"; do
	f=$(abspath "$f")
	args+=("${f#"$ROOT"/}")
done
cd "$ROOT"

list_files()
{
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@"
	elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard
	else
		find . -type d \( -name .git -o -name 'build*' \) -prune -o -type f -print |
			sed 's|^\./||'
	fi
}

# What each file is, for the rules that apply to it: c, build (meson),
# shell, python, make, rst or other.
kind_of()
{
	case $1 in
	*.c|*.h|*.cpp) echo c ;;
	*/meson.build|meson.build|meson_options.txt) echo build ;;
	*.sh) echo shell ;;
	*.py) echo python ;;
	Makefile|*/Makefile|*.mk) echo make ;;
	*.rst) echo rst ;;
	*.conf.in|*.supp) echo config ;;
	*)
		if head -n 1 "$1" 2>/dev/null | grep -q '^#!.*\(ba\)\{0,1\}sh'; then
			echo shell
		else
			echo other
		fi
		;;
	esac
}

findings=$(mktemp)
trap 'rm -f "$findings"' EXIT

while IFS= read -r f; do
	[ -f "$f" ] || continue
	kind=$(kind_of "$f")
	[ "$kind" = other ] && continue

	if ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier:'; then
		echo "$f:1: missing SPDX-License-Identifier" >>"$findings"
	fi

	case $kind in
	rst|config) continue ;;
	esac

	# Per-line rules. Python is indented with spaces by its own convention.
	case $f in
	lib/*|drivers/*|*/lib/*|*/drivers/*) in_lib=1 ;;
	*) in_lib=0 ;;
	esac
	awk -v file="$f" -v kind="$kind" -v lib="$in_lib" '
	function width(s,    i, n, c) {
		n = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\t")
				n += 8 - n % 8
			else
				n++
		}
		return n
	}
	function report(msg) {
		printf "%s:%d: %s\n", file, FNR, msg
	}
	{
		if (length($0) > 12 && width($0) > 100 && $0 !~ /https?:\/\//)
			report("line longer than 100 columns (" width($0) ")")
		if ($0 ~ /[ \t]+$/)
			report("trailing whitespace")
		if (kind != "python") {
			if ($0 ~ /^ +[^ *]/ || $0 ~ /^ +$/)
				report("indentation with spaces, use tabs")
			else if ($0 ~ /^[ \t]*        /)
				report("eight spaces in the indentation, use a tab")
			else if ($0 ~ /^\t* +\t/)
				report("space before tab in the indentation")
		}
		if (kind == "c") {
			if ($0 ~ /%[-+ #0-9.*]*ll[xX]/)
				report("%llx is not portable, use PRIx64")
			if (lib && $0 ~ /(^|[^A-Za-z0-9_])rte_panic[ \t]*\(/)
				report("rte_panic() in the library: return an error instead")
			if (lib && $0 ~ /(^|[^A-Za-z0-9_.>])exit[ \t]*\(/)
				report("exit() in the library: return an error instead")
		}
	}' "$f" >>"$findings"
done < <(list_files "${args[@]}")

if [ -s "$findings" ]; then
	cat "$findings"
	echo "check-style: $(wc -l <"$findings") problem(s)"
	exit 1
fi
echo "check-style: no problem found"

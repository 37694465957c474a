#!/bin/bash
# `make bench`: runs every tools/bench/*.sh (or those whose name contains an
# argument). Each prints lines "bench: NAME key=value ..."; this collects them
# at the end so one run reads as one comparable table.
set -u
cd "$(dirname "$0")/.."
export SEISMO_ROOT=$PWD
export BUILD=$PWD/${BUILD:-build}
out=$BUILD/bench.txt
: >"$out"
rc=0
for b in tools/bench/*.sh; do
	[ -f "$b" ] || continue
	if [ $# -gt 0 ]; then
		hit=0
		for f in "$@"; do [[ $b == *"$f"* ]] && hit=1; done
		[ $hit = 1 ] || continue
	fi
	echo "== $b"
	bash "$b" 2>&1 | tee -a "$out.raw" | tee >(grep '^bench:' >>"$out") || rc=1
done
echo
echo "== summary"
cat "$out"
exit $rc

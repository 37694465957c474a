#!/bin/bash
# timeout: 600
# seismo replay over the NAB corpus subset, scored by tools/nab: a regression
# guard for the detector's one configuration. The goal is 53: the calibrated
# detector (issue 9) scores 59.4 here and 59.5 cross-validated; the previous
# detector's 65.5 was fitted to these very files and scored 33.1 on unseen
# ones, so this in-sample figure is no longer the target (make bench
# BENCH=nab reports the cross-validated one). The seed's z-score scores about
# 14 on the same corpus and scorer.
set -eu
root=${SEISMO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$root/build}
nab=${NAB_DIR:-$root/../shared/data/nab}
goal=53
command -v python3 >/dev/null || { echo "skip: python3 is not installed"; exit 77; }
if [ ! -f "$nab/combined_windows.json" ]; then
	echo "skip: no NAB corpus at $nab (set NAB_DIR)"
	exit 77
fi
[ -x "$build/seismo" ] || { echo "FAIL: $build/seismo not built"; exit 1; }
out=$(BUILD=$build NAB_DIR=$nab "$root/tools/nab/run.sh")
echo "$out"
standard=$(echo "$out" | sed -n 's/^standard *score=\([-0-9.]*\).*/\1/p')
[ -n "$standard" ] || { echo "FAIL: no standard score in the scorer's output"; exit 1; }
if ! awk -v s="$standard" -v g="$goal" 'BEGIN { exit !(s >= g) }'; then
	echo "FAIL: NAB standard score $standard is below the goal $goal"
	exit 1
fi
echo "ok: NAB standard score $standard >= $goal"

#!/bin/bash
# Replays every file of a NAB corpus through `seismo replay` and scores the
# results with tools/nab/nab_score.py.
#   tools/nab/run.sh [-d NAB_DIR] [-o RESULTS_DIR] [-- REPLAY_OPTIONS...]
# NAB_DIR holds combined_windows.json and data/<category>/<file>.csv
# (default: ../shared/data/nab next to the checkout, or $NAB_DIR).
# Extra arguments after -- go to every `seismo replay` (e.g. -m zscore-7d).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build}
nab=${NAB_DIR:-$root/../shared/data/nab}
results=
while [ $# -gt 0 ]; do
	case $1 in
	-d) nab=$2; shift 2 ;;
	-o) results=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 [-d NAB_DIR] [-o RESULTS_DIR] [-- REPLAY_OPTIONS...]" >&2; exit 2 ;;
	esac
done
if [ ! -f "$nab/combined_windows.json" ]; then
	echo "$0: no NAB corpus at $nab (combined_windows.json missing)" >&2
	exit 2
fi
cleanup=
if [ -z "$results" ]; then
	results=$(mktemp -d)
	cleanup=$results
fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
(cd "$nab/data" && find . -name '*.csv' | sort) | while read -r f; do
	f=${f#./}
	mkdir -p "$results/$(dirname "$f")"
	"$build/seismo" replay -w "$nab/combined_windows.json" --name "$f" "$@" \
		-o "$results/$f" "$nab/data/$f"
done
python3 "$root/tools/nab/nab_score.py" --windows "$nab/combined_windows.json" \
	--results "$results" --data "$nab/data" ${NAB_SCORE_ARGS:-}

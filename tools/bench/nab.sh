#!/bin/bash
# NAB score of seismo's detector (seasonal-robust, the agent's defaults, events
# as the agent would send them) beside the seed's reference method (7-day
# hourly mean and standard deviation, |z| per row, like NAB's
# windowedGaussian), both scored by tools/nab/nab_score.py on the corpus in
# ../shared/data/nab (or $NAB_DIR).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
nab=${NAB_DIR:-$root/../shared/data/nab}
if [ ! -f "$nab/combined_windows.json" ]; then
	echo "bench: nab skipped=no-corpus"
	exit 0
fi
files=$(cd "$nab/data" && find . -name '*.csv' | wc -l)
score() { # prints "standard low_fp low_fn"
	NAB_DIR=$nab "$root/tools/nab/run.sh" -- "$@" |
		awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^score=/) s[$1] = substr($i, 7) }
		     END { print s["standard"], s["reward_low_FP_rate"], s["reward_low_FN_rate"] }'
}
start=$(date +%s.%N)
read -r std lfp lfn < <(score)
secs=$(echo "$(date +%s.%N) - $start" | bc)
read -r rstd rlfp rlfn < <(score -m zscore-7d --score zscore)
printf 'bench: nab standard=%s reward_low_fp=%s reward_low_fn=%s files=%s ref_zscore7d_standard=%s ref_zscore7d_low_fp=%s ref_zscore7d_low_fn=%s seconds=%.1f\n' \
	"$std" "$lfp" "$lfn" "$files" "$rstd" "$rlfp" "$rlfn" "$secs"

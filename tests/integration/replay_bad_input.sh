#!/bin/bash
# seismo replay on bad input: every malformed line is named (file:line), the
# exit status is 1 for bad data and 2 for bad usage, and good files still work.
set -u
build=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
seismo=$build/seismo
[ -x "$seismo" ] || { echo "FAIL: $seismo not built"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

expect() { # expect STATUS PATTERN FILE [ARGS...]
	local status=$1 pattern=$2 file=$3
	shift 3
	"$seismo" replay "$@" "$file" >"$dir/out" 2>"$dir/err"
	local rc=$?
	if [ "$rc" != "$status" ] || ! grep -q -- "$pattern" "$dir/err"; then
		echo "FAIL: replay $* $(basename "$file"): exit $rc (want $status), stderr:"
		sed 's/^/    /' "$dir/err"
		fail=1
	else
		echo "ok: $(basename "$file") $*: exit $rc, $(head -1 "$dir/err")"
	fi
}

good=$dir/good.csv
{
	echo "timestamp,value"
	for i in $(seq 0 99); do
		printf '2014-04-01 %02d:%02d:00,%d\n' $((i / 12)) $((i % 12 * 5)) $((i % 7))
	done
} >"$good"
printf 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,1,2\n' >"$dir/extra_column.csv"
printf 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n' >"$dir/bad_value.csv"
printf 'timestamp,value\n2014-04-01 00:00:00,1\nnot a time,1\n' >"$dir/bad_time.csv"
printf 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,\n' >"$dir/empty_value.csv"
printf 'time,value\n2014-04-01 00:00:00,1\n' >"$dir/bad_header.csv"
printf '' >"$dir/empty.csv"

expect 1 "extra_column.csv:3:" "$dir/extra_column.csv"
expect 1 "bad_value.csv:3: bad value \"abc\"" "$dir/bad_value.csv"
expect 1 "bad_time.csv:3: bad timestamp" "$dir/bad_time.csv"
expect 1 "empty_value.csv:3:" "$dir/empty_value.csv"
expect 1 "bad_header.csv:1: expected the header" "$dir/bad_header.csv"
expect 1 "empty.csv:1: empty file" "$dir/empty.csv"
expect 1 "No such file" "$dir/missing.csv"
expect 2 "unknown method" "$good" -m magic
expect 2 "unknown setting" "$good" -s nonsense=1
expect 2 "exactly one CSV file" "$good" "$good"

# A good file with NaN, negative values and a backwards timestamp still replays.
{ cat "$good"; echo "2014-04-01 09:00:00,nan"; echo "2014-04-01 08:00:00,-5"; } >"$dir/odd.csv"
if "$seismo" replay "$dir/odd.csv" >"$dir/out" 2>"$dir/err" && [ "$(wc -l <"$dir/out")" = 103 ]; then
	echo "ok: NaN, negative and out-of-order rows are scored, not fatal"
else
	echo "FAIL: replay of odd.csv: $(cat "$dir/err")"
	fail=1
fi
"$seismo" replay --help | grep -q "timestamp,value,anomaly_score,label" || {
	echo "FAIL: --help does not describe the output"
	fail=1
}
exit $fail

#!/bin/bash
# The test runner behind `make test`.
# Runs, in order: unit tests ($BUILD/tests/test_* from tests/unit), BPF tests
# (from tests/bpf), layout checks of the tree and the binaries
# (tests/layout/*.sh), integration scripts (tests/integration/*.sh) and VM
# scripts (tests/vm/*.sh). Arguments filter by substring of the test name.
#
# Contract for a test (binary or script): exit 0 = passed, exit 77 = skipped
# (its last output line says why), anything else = failed. A script may set
# its own time limit with a line "# timeout: SECONDS" (default 300).
# Scripts get $BUILD (build dir, absolute) and $SEISMO_ROOT (repo root).
# Ends with one line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
export SEISMO_ROOT=$PWD
export BUILD=$PWD/${BUILD:-build}
logdir=$BUILD/test-logs
mkdir -p "$logdir"

tests=()
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] && tests+=("$t")
done
for t in tests/layout/*.sh tests/integration/*.sh tests/vm/*.sh; do
	[ -f "$t" ] && tests+=("$t")
done

passed=0 failed=0 skipped=0 failures=()
for t in "${tests[@]}"; do
	name=${t#"$BUILD"/}
	name=${name#tests/}
	if [ $# -gt 0 ]; then
		hit=0
		for f in "$@"; do [[ $name == *"$f"* ]] && hit=1; done
		[ $hit = 1 ] || continue
	fi
	limit=300
	if [[ $t == *.sh ]]; then
		l=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -1)
		[ -n "$l" ] && limit=$l
	fi
	log=$logdir/${name//\//_}.log
	start=$(date +%s)
	if [[ $t == *.sh ]]; then
		timeout -k 10 "$limit" bash "$t" >"$log" 2>&1
	else
		timeout -k 10 "$limit" "$t" >"$log" 2>&1
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %-50s %4ss\n' "$name" "$secs" ;;
	77) skipped=$((skipped + 1))
	    printf 'SKIP  %-50s %s\n' "$name" "$(grep -v '^\s*$' "$log" | tail -1)" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   [ $rc = 124 ] && echo "(timed out after ${limit}s)" >>"$log"
	   printf 'FAIL  %-50s %4ss (exit %s)\n' "$name" "$secs" "$rc"
	   tail -n 30 "$log" | sed 's/^/    | /' ;;
	esac
done
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]

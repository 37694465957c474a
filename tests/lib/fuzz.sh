# shellcheck shell=bash
# run_libfuzzer NAME TARGET CORPUS SECONDS MAX_LEN: builds the libFuzzer
# target (a make goal under $BUILD, e.g. fuzz/corr_ingest_fuzz), runs it for
# SECONDS from a copy of the seed corpus in CORPUS, and fails the test on any
# crash, leak, sanitizer report or broken invariant, printing a base64
# reproducer. Skips (77) only when clang has no libFuzzer runtime. Sourced
# after tools/scenario/testlib.sh (fail, $WORK).
run_libfuzzer() {
	local name=$1 target=$2 corpus=$3 seconds=$4 max_len=$5
	local rel=${BUILD#"$SEISMO_ROOT"/}
	local fuzzer="$BUILD/$target"

	if ! make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/$target" >"$WORK/build.log" 2>&1; then
		echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$WORK/probe.c"
		if ! clang -fsanitize=fuzzer -o "$WORK/probe" "$WORK/probe.c" >/dev/null 2>&1; then
			echo "clang has no libFuzzer runtime (install libclang-rt-14-dev)"
			exit 77
		fi
		cat "$WORK/build.log" >&2
		fail "building the fuzz target failed"
	fi
	mkdir -p "$WORK/corpus" "$WORK/artifacts"
	cp "$corpus"/* "$WORK/corpus/"
	if ! (cd "$WORK" && "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 \
		-max_len="$max_len" -timeout=10 -artifact_prefix="$WORK/artifacts/" \
		"$WORK/corpus" >"$WORK/fuzz.log" 2>&1); then
		tail -40 "$WORK/fuzz.log" >&2
		for a in "$WORK"/artifacts/*; do
			[ -f "$a" ] && { echo "reproducer ($a), base64:" >&2; base64 -w0 "$a" >&2; echo >&2; }
		done
		fail "the $name fuzzer found a problem"
	fi
	grep -E '^Done [0-9]+ runs' "$WORK/fuzz.log"
	echo "$name fuzzer: no crash in ${seconds}s"
}

#!/bin/bash
# timeout: 90
# libFuzzer on the YAML reader and grammar every config shares (common/
# yamlcfg.c, common/grammar.c) with ASan/UBSan, for a bounded time
# (CONFIG_FUZZ_SECONDS, default 20) from the seed corpus in
# common/fuzz/corpus (an agent config, a correlator config with runbooks, a
# Litmus ChaosEngine, grammar spellings). Any crash, leak, sanitizer report,
# error without file:line:column, or value the grammar would not accept
# fails the test.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
SECONDS_TO_RUN=${CONFIG_FUZZ_SECONDS:-20}
rel=${BUILD#"$SEISMO_ROOT"/}
fuzzer="$BUILD/fuzz/yamlcfg_fuzz"
if ! make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/fuzz/yamlcfg_fuzz" >"$WORK/build.log" 2>&1; then
	# Only a missing libFuzzer runtime is a reason to skip.
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$WORK/probe.c"
	if ! clang -fsanitize=fuzzer -o "$WORK/probe" "$WORK/probe.c" >/dev/null 2>&1; then
		echo "clang has no libFuzzer runtime (install libclang-rt-14-dev)"
		exit 77
	fi
	cat "$WORK/build.log" >&2
	fail "building the fuzz target failed"
fi
mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp "$SEISMO_ROOT"/common/fuzz/corpus/* "$WORK/corpus/"
cd "$WORK"
if ! "$fuzzer" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=1024 -max_len=16384 \
	-timeout=10 -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/fuzz.log" 2>&1; then
	tail -40 "$WORK/fuzz.log" >&2
	for a in "$WORK"/artifacts/*; do
		[ -f "$a" ] && { echo "reproducer ($a), base64:" >&2; base64 -w0 "$a" >&2; echo >&2; }
	done
	fail "the config fuzzer found a problem"
fi
grep -E '^Done [0-9]+ runs' "$WORK/fuzz.log"
echo "config fuzzer: no crash in ${SECONDS_TO_RUN}s"

#!/bin/bash
# timeout: 150
# libFuzzer on the correlator's ingest parser (agent batches, Alertmanager
# webhooks, gzip) with ASan/UBSan, for a bounded time (CORR_FUZZ_SECONDS,
# default 45) from the seed corpus in correlator/fuzz/corpus. Any crash,
# leak, sanitizer report or broken invariant fails the test.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
SECONDS_TO_RUN=${CORR_FUZZ_SECONDS:-45}
rel=${BUILD#"$SEISMO_ROOT"/}
fuzzer="$BUILD/fuzz/corr_ingest_fuzz"
if ! make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/fuzz/corr_ingest_fuzz" >"$WORK/build.log" 2>&1; then
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
cp "$SEISMO_ROOT"/correlator/fuzz/corpus/* "$WORK/corpus/"
cd "$WORK"
if ! "$fuzzer" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=1024 -max_len=65536 \
	-timeout=10 -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/fuzz.log" 2>&1; then
	tail -40 "$WORK/fuzz.log" >&2
	for a in "$WORK"/artifacts/*; do
		[ -f "$a" ] && { echo "reproducer ($a), base64:" >&2; base64 -w0 "$a" >&2; echo >&2; }
	done
	fail "the ingest fuzzer found a problem"
fi
grep -E '^Done [0-9]+ runs' "$WORK/fuzz.log"
echo "ingest fuzzer: no crash in ${SECONDS_TO_RUN}s"

#!/bin/bash
# timeout: 150
# libFuzzer on the correlator's ingest parser (agent batches, Alertmanager
# webhooks, gzip) with ASan/UBSan, for a bounded time (CORR_FUZZ_SECONDS,
# default 45) from the seed corpus in correlator/fuzz/corpus. Any crash,
# leak, sanitizer report or broken invariant fails the test.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
source "$SEISMO_ROOT/tests/lib/fuzz.sh"
run_libfuzzer ingest fuzz/corr_ingest_fuzz "$SEISMO_ROOT/correlator/fuzz/corpus" "${CORR_FUZZ_SECONDS:-45}" 65536

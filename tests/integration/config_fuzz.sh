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
source "$SEISMO_ROOT/tests/lib/fuzz.sh"
run_libfuzzer config fuzz/yamlcfg_fuzz "$SEISMO_ROOT/common/fuzz/corpus" "${CONFIG_FUZZ_SECONDS:-20}" 16384

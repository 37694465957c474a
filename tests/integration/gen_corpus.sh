#!/bin/bash
# timeout: 120
# The corpus generator (tools/gen/gen_corpus.py, both suites): the same seed
# gives the same bytes, the standard suite is unchanged by the realism suite,
# every label lies inside its file and each realism class has its trait
# (tools/gen/test_gen_corpus.py).
set -eu
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
command -v python3 >/dev/null || { echo "skip: python3 is not installed"; exit 77; }
python3 tools/gen/test_gen_corpus.py -v

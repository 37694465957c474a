#!/bin/bash
# The NAB scorer on hand-made cases whose scores were worked out by hand from
# NAB's rules (tools/nab/test_nab_score.py).
set -eu
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
command -v python3 >/dev/null || { echo "skip: python3 is not installed"; exit 77; }
python3 tools/nab/test_nab_score.py -v

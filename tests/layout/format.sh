#!/bin/bash
# timeout: 120
# Every tracked C file is formatted as .clang-format says (docs/development.md,
# "Formatting"): `make format` rewrites, this fails with the files that differ.
# clang-format comes from tools/deps.d/layout.txt; without it the check is
# skipped, never passed.
cd "$(dirname "$0")/../.." || exit 1
command -v clang-format >/dev/null || { echo "SKIP: clang-format is not installed (tools/deps.d/layout.txt)"; exit 77; }
tools/format-check.sh

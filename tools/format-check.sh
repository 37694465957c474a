#!/bin/bash
# format-check.sh [FILE...]: which C files clang-format (.clang-format) would
# change, and by how many lines; exit 1 if any would change, 0 if none.
# Without arguments: every tracked .c/.h but vmlinux/ (what `make format`
# rewrites). With a list (e.g. the files a branch touched):
#   tools/format-check.sh $(git diff --name-only main -- '*.c' '*.h')
cd "$(dirname "$0")/.." || exit 2
command -v clang-format >/dev/null || { echo "format-check: clang-format is not installed" >&2; exit 2; }
if [ $# -eq 0 ]; then
	mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^vmlinux/')
else
	files=("$@")
fi
bad=0 lines=0
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	n=$(clang-format "$f" | diff "$f" - | grep -c '^[<>]')
	if [ "$n" -gt 0 ]; then
		echo "$f: $n lines would change"
		bad=$((bad + 1)) lines=$((lines + n))
	fi
done
if [ $bad -gt 0 ]; then
	echo "format-check: $bad of ${#files[@]} files differ from .clang-format ($lines lines); 'make format' rewrites them"
	exit 1
fi
echo "format-check: ${#files[@]} files match .clang-format"

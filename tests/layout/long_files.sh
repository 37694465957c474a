#!/bin/bash
# timeout: 30
# One job per file: a source file in agent/ (any stage folder), chaos/,
# doctor/ or correlator/ longer than LIMIT lines must say why at its top,
# within its first 15 lines, as
#	/* Long file: <the reason, in words> */
# (the marker may open a longer comment, or begin a line " * Long file: ..."
# of the file's top comment). Lists every offender with its
# length, so whoever merges sees the whole remainder at once.
set -eu -o pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
limit=${LONG_FILE_LIMIT:-500}
bad=0 checked=0 explained=0
shopt -s nullglob
for f in agent/*.[ch] agent/*/*.[ch] chaos/*.[ch] doctor/*.[ch] correlator/*.[ch]; do
	checked=$((checked + 1))
	n=$(wc -l <"$f")
	[ "$n" -le "$limit" ] && continue
	if head -n 15 "$f" | grep -Eq '^(/\*| \*) Long file: *[^ *]'; then
		explained=$((explained + 1))
		continue
	fi
	printf 'long file without a reason: %-32s %5d lines (add "/* Long file: <reason> */" at its top, or split it)\n' "$f" "$n"
	bad=$((bad + 1))
done
echo "$checked files checked, $explained over $limit lines with a reason, $bad without"
[ "$bad" = 0 ]

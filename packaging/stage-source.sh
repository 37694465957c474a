#!/bin/sh
# Copies the source of a package build into DIR.
# Usage: packaging/stage-source.sh DIR [head|worktree]
#   head      (default) the committed tree at HEAD, so a package is exactly
#             the commit its version names, whatever is half-edited around it
#   worktree  tracked files plus untracked ones git does not ignore, as they
#             are on disk now (what a plain `make` builds from)
set -eu
dir=$1
mode=${2:-head}
cd "$(dirname "$0")/.."
rm -rf "$dir"
mkdir -p "$dir"
case $mode in
head)
	git archive --format=tar HEAD | tar -C "$dir" -xf -
	;;
worktree)
	# A file deleted but not yet committed is still listed by git: skip it.
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -cf - -T - | tar -C "$dir" -xf -
	;;
*)
	echo "stage-source: unknown mode '$mode' (head or worktree)" >&2
	exit 2
	;;
esac

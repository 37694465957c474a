#!/bin/sh
# Prints the package version: packaging/VERSION, then ~git<commits>.<hash>
# so every commit gets a newer version that still sorts below a release of
# the same number (both dpkg and rpm sort '~' first). With "worktree" as
# argument, +wt marks a build from uncommitted files.
set -eu
cd "$(dirname "$0")/.."
base=$(cat packaging/VERSION)
suffix=
[ "${1:-head}" = worktree ] && suffix=+wt
if count=$(git rev-list --count HEAD 2>/dev/null) &&
	hash=$(git rev-parse --short=7 HEAD 2>/dev/null); then
	echo "$base~git$count.$hash$suffix"
else
	echo "$base$suffix"
fi

#!/bin/sh
# Builds the .deb packages (seismo, and seismo-correlator when
# correlator/main.c exists) from the working tree with debhelper, then
# checks them with lintian. Usage: packaging/build-deb.sh OUTDIR [head|worktree]
# (source: the commit at HEAD by default, see stage-source.sh).
# Leaves OUTDIR/*.deb, the .changes and OUTDIR/lintian.log.
set -eu
out=$(realpath -m "$1")
# The package builds its own tree: nothing of the caller's build may leak in
# (tests/run.sh exports BUILD=<this checkout>/build, make exports MAKEFLAGS).
unset BUILD SANITIZE CFLAGS LDFLAGS MAKEFLAGS MFLAGS MAKELEVEL
cd "$(dirname "$0")/.."
mode=${2:-head}
version=$(packaging/version.sh "$mode")
# Staged outside build/: the top Makefile includes every *.d under build/,
# and a source tree has directories named like that (tools/deps.d).
work=$(mktemp -d "${TMPDIR:-/tmp}/seismo-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/seismo-$version

mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
packaging/stage-source.sh "$stage" "$mode"
cp -r packaging/debian "$stage/debian"
rm "$stage/debian/control.correlator"
if [ -f "$stage/correlator/main.c" ]; then
	cat packaging/debian/control.correlator >>"$stage/debian/control"
else
	echo "build-deb: no correlator/main.c yet: building seismo only" >&2
	rm "$stage"/debian/seismo-correlator.*
fi

# The changelog names the commit; its date makes the build reproducible.
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
commit=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
cat >"$stage/debian/changelog" <<EOT
seismo ($version) unstable; urgency=medium

  * Package built from commit $commit of the seismo repository.

 -- seismo developers <seismo-devel@lists.example.org>  $date
EOT

(cd "$stage" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage --build=binary --no-sign >"$out/build.log" 2>&1) || {
	tail -n 40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed, full log: $out/build.log" >&2
	exit 1
}
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"/*.deb

changes=$(ls "$out"/*.changes)
if command -v lintian >/dev/null; then
	# Errors fail the build; warnings and the rest are shown.
	if lintian --fail-on error --display-info "$changes" >"$out/lintian.log" 2>&1; then
		echo "lintian: no errors ($(grep -c '^[WIP]:' "$out/lintian.log" || true) other tags, see $out/lintian.log)"
	else
		cat "$out/lintian.log" >&2
		echo "build-deb: lintian reports errors" >&2
		exit 1
	fi
else
	echo "build-deb: lintian not installed (tools/deps.sh installs it): not checked" >&2
fi

#!/bin/sh
# Builds the rpm packages (seismo, and seismo-correlator when
# correlator/main.c exists) with rpmbuild and packaging/rpm/seismo.spec,
# then checks them with rpmlint.
# Usage: packaging/build-rpm.sh OUTDIR [head|worktree]
# Leaves OUTDIR/*.rpm and OUTDIR/rpmlint.log.
set -eu
out=$(realpath -m "$1")
# The package builds its own tree: nothing of the caller's build may leak in
# (tests/run.sh exports BUILD=<this checkout>/build, make exports MAKEFLAGS).
unset BUILD SANITIZE CFLAGS LDFLAGS MAKEFLAGS MFLAGS MAKELEVEL
mode=${2:-head}
cd "$(dirname "$0")/.."
version=$(packaging/version.sh "$mode")
spec=packaging/rpm/seismo.spec

command -v rpmbuild >/dev/null || {
	echo "build-rpm: rpmbuild not installed (tools/deps.sh installs rpm)" >&2
	exit 1
}
# Outside build/: the top Makefile includes every *.d under build/.
work=$(mktemp -d "${TMPDIR:-/tmp}/seismo-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/top/SOURCES"
rm -f "$out"/*.rpm
packaging/stage-source.sh "$work/seismo-$version" "$mode"
tar -C "$work" -czf "$work/top/SOURCES/seismo-$version.tar.gz" "seismo-$version"

with=--without
[ -f "$work/seismo-$version/correlator/main.c" ] && with=--with
[ $with = --without ] && echo "build-rpm: no correlator/main.c yet: building seismo only" >&2

# Where rpm is not the system's package manager (Debian), its database knows
# none of the BuildRequires: --nodeps, the libraries come from dpkg.
nodeps=
[ "$(rpm --eval '%{_vendor}')" = debian ] && nodeps=--nodeps
rpmbuild -bb $nodeps "$with" correlator \
	--define "_topdir $work/top" --define "pkg_version $version" \
	"$spec" >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "build-rpm: rpmbuild failed, full log: $out/build.log" >&2
	exit 1
}
find "$work/top/RPMS" -name '*.rpm' -exec mv {} "$out"/ \;
ls "$out"/*.rpm

if command -v rpmlint >/dev/null; then
	# Its last line reads "N packages and N specfiles checked; E errors, W warnings".
	rpmlint -r packaging/rpm/rpmlintrc "$out"/*.rpm "$spec" >"$out/rpmlint.log" 2>&1 || true
	summary=$(tail -n 1 "$out/rpmlint.log")
	case $summary in
	*" 0 errors"*)
		echo "rpmlint: $summary (see $out/rpmlint.log)" ;;
	*)
		cat "$out/rpmlint.log" >&2
		echo "build-rpm: rpmlint reports errors" >&2
		exit 1 ;;
	esac
else
	echo "build-rpm: rpmlint not installed (tools/deps.sh installs it): not checked" >&2
fi

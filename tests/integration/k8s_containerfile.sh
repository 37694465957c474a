#!/bin/bash
# timeout: 300
# deploy/kubernetes/Containerfile without a container engine (none here):
# its build stage installs every build dependency tools/deps.sh knows, and
# its final stage, replayed in a fresh Debian 12 root (apt-get install of
# the same package list, the same COPYs), gives binaries whose libraries
# all resolve, which run, and which accept the configs the image ships.
set -eu -o pipefail
. "$SEISMO_ROOT/packaging/testlib.sh"
pkg_enter_mountns "$0" "$@"
cf=$SEISMO_ROOT/deploy/kubernetes/Containerfile
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for chroot"; exit 77; }
command -v debootstrap >/dev/null || { echo "SKIP: debootstrap not installed"; exit 77; }

# The packages of the apt-get install in stage N (1 = build, 2 = final).
stage_packages() {
	awk -v want="$1" '/^FROM /{ stage++ } stage == want' "$cf" |
		sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
		sed -n 's/.*apt-get install -y --no-install-recommends \([^&]*\).*/\1/p' | tr -s ' ' '\n' | sed '/^$/d'
}
build_pkgs=$(stage_packages 1)
final_pkgs=$(stage_packages 2)
[ -n "$build_pkgs" ] && [ -n "$final_pkgs" ] || fail "cannot read the apt-get lines of $cf"

echo "== build stage has every build dependency of tools/deps.sh"
deps_build=$(sed -n '/^build="/,/"$/p' "$SEISMO_ROOT/tools/deps.sh" | tr -d '"' | sed 's/^build=//' | tr -s ' \n' '\n')
for p in $deps_build; do
	case $p in libcmocka-dev|libclang-rt-14-dev) continue ;; esac # tests only
	grep -qx "$p" <<<"$build_pkgs" || fail "build stage lacks $p (tools/deps.sh build list)"
done

echo "== final stage replayed in a fresh Debian 12 root"
root=
trap 'pkg_remove_root "$root"' EXIT
tarball=$(pkg_debroot_tarball) || { echo "SKIP: cannot debootstrap Debian 12 from deb.debian.org"; exit 77; }
root=$(pkg_fresh_root "$tarball")
pkg_mount_kernel_fs "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# shellcheck disable=SC2086
pkg_apt "$root" install -y --no-install-recommends $final_pkgs >/dev/null ||
	fail "apt-get install of the final stage's packages failed"
# COPY --from=build /src/build/X ... /usr/bin/  and  COPY deploy/config/... /etc/seismo/
for bin in $(sed -n 's|^COPY --from=build \(.*\) /usr/bin/$|\1|p' "$cf"); do
	name=$(basename "$bin")
	[ -x "$BUILD/$name" ] || fail "$name is not built in $BUILD"
	install -m 0755 "$BUILD/$name" "$root/usr/bin/$name"
done
mkdir -p "$root/etc/seismo"
for conf in $(sed -n 's|^COPY \(deploy/config/.*\) /etc/seismo/$|\1|p' "$cf"); do
	cp "$SEISMO_ROOT/$conf" "$root/etc/seismo/"
done
ls "$root/usr/bin/seismo" "$root/usr/bin/seismo-correlator" >/dev/null || fail "image lacks a binary"

for bin in seismo seismo-correlator; do
	missing=$(chroot "$root" ldd /usr/bin/$bin | grep "not found" || true)
	[ -z "$missing" ] || fail "$bin in the image misses libraries: $missing"
done
chroot "$root" seismo version
chroot "$root" seismo agent --check-config --config /etc/seismo/agent.yaml || fail "image's agent.yaml rejected"
chroot "$root" seismo-correlator --check-config --config /etc/seismo/correlator.yaml || fail "image's correlator.yaml rejected"
rc=0; chroot "$root" seismo doctor >/dev/null || rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "seismo doctor in the image exited $rc"
echo "PASS: Containerfile's package lists are complete and its binaries run"

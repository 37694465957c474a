#!/bin/bash
# timeout: 600
# The rpm packages: build them (make rpm, rpmlint must report no errors),
# check their files, config files, requirements and scriptlets, install them
# with `rpm --root` into a fresh Debian root (which has the /bin/sh and
# systemctl the scriptlets call), check the installed files with rpm -V, the
# unit enabled by %post preset, every required library present, the binary
# running; then erase and check what %preun/%postun leave.
set -eu -o pipefail
. "$SEISMO_ROOT/packaging/testlib.sh"
pkg_enter_mountns "$0" "$@"

pkg_test_setup rpmbuild rpmlint debootstrap

out=$SEISMO_ROOT/build/packaging/rpm
"$SEISMO_ROOT/packaging/build-rpm.sh" "$out"
rpmfile=$(ls "$out"/seismo-[0-9]*.x86_64.rpm)

echo "== files"
files=$(rpm -qpl "$rpmfile")
echo "$files"
for want in /usr/bin/seismo /usr/lib/systemd/system/seismo-agent.service \
	/etc/seismo/agent.yaml /var/lib/seismo /usr/share/man/man8/seismo.8; do
	echo "$files" | grep -q "^$want" || fail "$want not in the package"
done
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpmfile" |
	grep -q '^/etc/seismo/agent.yaml cn$' || fail "agent.yaml is not %config(noreplace)"

echo "== requirements"
requires=$(rpm -qp --requires "$rpmfile")
echo "$requires" | grep -q '^libbpf.so.1()(64bit)$' || fail "no automatic libbpf requirement"
echo "$requires" | grep -qx systemd || fail "scriptlets do not require systemd"

echo "== scriptlets"
scripts=$(rpm -qp --scripts "$rpmfile")
echo "$scripts"
echo "$scripts" | grep -A3 '^postinstall' | grep -q 'systemctl --no-reload preset seismo-agent.service' || fail "%post does not preset the unit"
echo "$scripts" | grep -A3 '^preuninstall' | grep -q 'disable --now seismo-agent.service' || fail "%preun does not disable the unit"
echo "$scripts" | grep -A6 '^postuninstall' | grep -q 'try-restart seismo-agent.service' || fail "%postun does not restart on upgrade"

tarball=$(pkg_debroot_tarball) || { echo "SKIP: cannot debootstrap Debian 12 from deb.debian.org"; exit 77; }
root=$(pkg_fresh_root "$tarball")
pkg_mount_kernel_fs "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"

echo "== rpm --root install (scriptlets run inside the root)"
rpm --root "$root" --initdb
# --nodeps: the root's libraries belong to dpkg, not to the rpm database;
# they are checked one by one below instead.
rpm --root "$root" -i --nodeps "$out"/*.x86_64.rpm || fail "rpm -i failed"
rpm --root "$root" -V --nodeps seismo || fail "rpm -V finds installed files differing from the package"
[ -L "$root/etc/systemd/system/multi-user.target.wants/seismo-agent.service" ] ||
	fail "%post preset did not enable seismo-agent.service"

echo "== every required library is there (installed the Debian way)"
pkg_apt "$root" install -y libbpf1 libjansson4 libelf1 zlib1g libyaml-0-2 libcurl4 libmicrohttpd12 libsqlite3-0 libpq5 >/dev/null ||
	fail "cannot install the runtime libraries in the root"
libs=$(in_root ldconfig -p)
for lib in $(echo "$requires" | sed -n 's/^\(lib[^(]*\.so\.[0-9]*\)()(64bit)$/\1/p'); do
	grep -q "^[[:space:]]*$lib " <<<"$libs" || fail "required $lib is not in the root"
done
in_root seismo version | grep -q "^seismo $(rpm -qp --qf '%{VERSION}' "$rpmfile")$" || fail "seismo version disagrees with the rpm"
in_root systemd-analyze verify /usr/lib/systemd/system/seismo-agent.service || fail "unit does not verify"

echo "== rpm -e"
rpm --root "$root" -e seismo || fail "rpm -e failed"
[ ! -e "$root/usr/bin/seismo" ] || fail "/usr/bin/seismo left after erase"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/seismo-agent.service" ] ||
	fail "%preun left seismo-agent.service enabled"
echo "PASS: rpm builds rpmlint-clean, installs with working scriptlets and erases cleanly"

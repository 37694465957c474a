#!/bin/bash
# timeout: 600
# The .deb packages as a new user meets them: build them (make deb, lintian
# must report no errors), install them with apt into a fresh Debian 12 root
# made by debootstrap, run `seismo version`, `seismo doctor` with and
# without capabilities, check the unit files with that system's
# systemd-analyze, the conffiles and the enabled unit, then purge and check
# that nothing is left behind.
set -eu -o pipefail
. "$SEISMO_ROOT/packaging/testlib.sh"
pkg_enter_mountns "$0" "$@"

pkg_test_setup dpkg-buildpackage debootstrap lintian

out=$SEISMO_ROOT/build/packaging/deb
"$SEISMO_ROOT/packaging/build-deb.sh" "$out"
grep -q "^E:" "$out/lintian.log" && fail "lintian errors: $(grep '^E:' "$out/lintian.log")"

tarball=$(pkg_debroot_tarball) || { echo "SKIP: cannot debootstrap Debian 12 from deb.debian.org"; exit 77; }
root=$(pkg_fresh_root "$tarball")
pkg_mount_kernel_fs "$root"
mkdir -p "$root/tmp/debs"
cp "$out"/*.deb "$root/tmp/debs/"
rm -f "$root"/tmp/debs/*-dbgsym_*.deb
cp /etc/resolv.conf "$root/etc/resolv.conf"

echo "== apt install ./seismo*.deb (as docs/install.md says)"
pkg_apt "$root" install -y $(cd "$root" && ls tmp/debs/*.deb | sed 's|^|/|') ||
	fail "apt-get install of the packages failed"

echo "== seismo version"
version=$(in_root seismo version)
echo "$version"
deb_version=$(dpkg-deb -f "$out"/seismo_*_amd64.deb Version)
[ "$version" = "seismo $deb_version" ] || fail "seismo version says '$version', package is $deb_version"
in_root seismo --help | grep -q doctor || fail "seismo --help does not list doctor"
in_root man -w seismo >/dev/null || fail "man page seismo(8) not installed"

echo "== seismo doctor (root, full capabilities, kernel file systems mounted)"
rc=0
in_root seismo doctor >"$root/tmp/doctor.txt" 2>&1 || rc=$?
cat "$root/tmp/doctor.txt"
[ $rc = 0 ] || [ $rc = 1 ] || fail "seismo doctor exited $rc"
grep -q "^agent: " "$root/tmp/doctor.txt" || fail "doctor printed no agent verdict"
in_root seismo doctor --json >"$root/tmp/doctor.json" || [ $? = 1 ]
python3 - "$root/tmp/doctor.json" "$rc" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["agent_can_run"] == (sys.argv[2] == "0"), "exit status disagrees with agent_can_run"
names = {c["name"] for c in report["checks"]}
for want in ("kernel", "btf", "capabilities", "tracefs", "bpffs", "cgroup2", "tp-btf", "kprobe", "qdisc-fq"):
    assert want in names, f"check {want} missing"
PY

echo "== seismo doctor without capabilities (what a chroot or container without them sees)"
rc=0
in_root setpriv --bounding-set=-all --inh-caps=-all seismo doctor >"$root/tmp/nocaps.txt" 2>&1 || rc=$?
cat "$root/tmp/nocaps.txt"
[ $rc = 1 ] || fail "doctor without capabilities exited $rc, want 1"
grep -q "missing capabilities: CAP_BPF CAP_PERFMON" "$root/tmp/nocaps.txt" || fail "doctor does not name the missing capabilities"
grep -q "^agent: CANNOT run" "$root/tmp/nocaps.txt" || fail "doctor does not say the agent cannot run"

echo "== systemd-analyze verify (the target system's systemd)"
units=$(in_root sh -c 'ls /lib/systemd/system/seismo*.service')
# Any output is a warning (unknown key, bad value, missing man page or binary).
verify=$(in_root systemd-analyze verify $units 2>&1) || fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
echo "verified: $units"
in_root systemd-analyze security --offline=true seismo-agent.service 2>&1 | tail -n 1 || true

echo "== files, conffiles, state dir, enabled unit"
in_root dpkg-query -W -f='${Conffiles}\n' seismo | grep -q "/etc/seismo/agent.yaml" || fail "agent.yaml is not a conffile"
[ -d "$root/var/lib/seismo" ] || fail "/var/lib/seismo missing"
[ -L "$root/etc/systemd/system/multi-user.target.wants/seismo-agent.service" ] || fail "seismo-agent.service not enabled"
if [ -f "$SEISMO_ROOT/correlator/main.c" ] && git -C "$SEISMO_ROOT" cat-file -e HEAD:correlator/main.c 2>/dev/null; then
	in_root seismo-correlator --help >/dev/null || fail "seismo-correlator --help failed"
	[ -f "$root/etc/seismo/correlator.yaml" ] || fail "correlator.yaml missing"
fi

echo "== apt purge"
pkg_apt "$root" purge -y "seismo*" >/dev/null || fail "purge failed"
[ ! -e "$root/etc/seismo/agent.yaml" ] || fail "agent.yaml left after purge"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/seismo-agent.service" ] || fail "enable symlink left after purge"
[ ! -e "$root/usr/bin/seismo" ] || fail "/usr/bin/seismo left after purge"
echo "PASS: deb builds lintian-clean, installs, runs, verifies and purges cleanly"

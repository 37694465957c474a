#!/bin/bash
# Follows docs/install.md's "Debian 12 / Ubuntu" section as a new user would,
# in a fresh Debian 12 root made by debootstrap: a copy of this clone, then
# tools/deps.sh build, apt-get install debhelper lintian, make deb, apt
# install of the two packages, seismo version and seismo doctor.
# Not part of `make test` (it installs a compiler tool chain, ~2.5 minutes
# with a warm cache); run it by hand as root after changing the packaging or
# that section: packaging/try-docs-debian.sh
set -eu -o pipefail
export SEISMO_ROOT=${SEISMO_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export BUILD=$SEISMO_ROOT/build
. "$SEISMO_ROOT/packaging/testlib.sh"
pkg_enter_mountns "$0" "$@"

root=
trap 'pkg_remove_root "$root"' EXIT
root=$(pkg_fresh_root "$(pkg_debroot_tarball)")
pkg_mount_kernel_fs "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# "From a clone": the committed tree with its history (for the version).
git clone -q "$SEISMO_ROOT" "$root/home/user/seismo"

flock "$(pkg_cache_dir)/archives.lock" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive sh -euxc '
	apt-get install -y -q git make >/dev/null
	cd /home/user/seismo
	tools/deps.sh build
	apt-get install -y debhelper lintian >/dev/null
	make deb
	apt install -y ./build/packaging/deb/seismo_*_amd64.deb ./build/packaging/deb/seismo-correlator_*_amd64.deb
	seismo version
	rc=0; seismo doctor || rc=$?
	[ $rc = 0 ] || [ $rc = 1 ]
	ls -l /etc/seismo /lib/systemd/system/seismo-agent.service /lib/systemd/system/seismo-correlator.service
	systemctl is-enabled seismo-agent seismo-correlator
'
echo "docs/install.md Debian section: followed successfully in a fresh root"

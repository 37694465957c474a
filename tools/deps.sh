#!/bin/sh
# Installs every build, test and benchmark dependency from Debian's packages.
# Idempotent: asks apt only for what dpkg says is missing, and runs
# `apt-get update` only when something is missing.
# Usage: tools/deps.sh [build|test|all]   (default: all)
set -eu
what=${1:-all}

build="make gcc g++ clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libyaml-dev
libsqlite3-dev libcmocka-dev libclang-rt-14-dev libsimdjson-dev"
test="prometheus prometheus-alertmanager nginx-light wrk iproute2 curl python3
procps psmisc qemu-system-x86 busybox-static cpio kmod util-linux"

# Each module may list more test packages in tools/deps.d/NAME.txt (one per
# line, '#' comments), so modules never edit this file at the same time.
extra=$(cat "$(dirname "$0")"/deps.d/*.txt 2>/dev/null | sed 's/#.*//')

case $what in
build) want=$build ;;
test|all) want="$build $test $extra" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or: sudo $0 $what)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Packaged services (nginx, prometheus, alertmanager) must not start on
# install: tests start their own instances on their own ports.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

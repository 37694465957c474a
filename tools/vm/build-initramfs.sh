#!/bin/bash
# Builds the initramfs and fetches the kernel for the chaos VM test/bench.
#
#   tools/vm/build-initramfs.sh GUEST_SCRIPT OUT.cpio.gz
#
# The kernel is Debian's current linux-image-*-cloud-amd64 (sch_fq,
# sch_netem, veth, clsact and cls_bpf as modules), downloaded once with
# `apt-get download` into build/vm/cache and unpacked into build/vm/kernel.
# The initramfs holds busybox-static, those modules, iproute2's ip and tc,
# build/seismo, a static nettool, each with the shared libraries ldd names,
# and GUEST_SCRIPT as /guest.sh, run by tools/vm/guest-init.sh as /init.
# Prints the vmlinuz path on stdout. Exit 77 when the kernel package cannot
# be had (no cache and no mirror) or busybox-static is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
guest=$1 out=$2
build=${BUILD:-$root/build}
vm=$root/build/vm
cache=$vm/cache
mkdir -p "$cache" "$vm"

skip() { echo "skip: $*" >&2; exit 77; }

[ -x /bin/busybox ] && /bin/busybox --list | grep -x insmod >/dev/null ||
	skip "busybox-static is not installed (tools/deps.d/chaos.txt)"

# --- kernel: the newest cloud image the mirror names, else the cached one ---
want=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/.*Depends: \(linux-image-[0-9].*-cloud-amd64\).*/\1/p' | head -1 || true)
deb=
if [ -n "$want" ]; then
	deb=$(ls "$cache"/"$want"_*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$cache" && apt-get download "$want" >/dev/null 2>&1) || true
		deb=$(ls "$cache"/"$want"_*.deb 2>/dev/null | head -1 || true)
	fi
fi
[ -n "$deb" ] || deb=$(ls -t "$cache"/linux-image-[0-9]*-cloud-amd64_*.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || skip "no Debian cloud kernel package in $cache and apt-get download failed"
kver=$(basename "$deb" | sed 's/^linux-image-\(.*-cloud-amd64\)_.*/\1/')
kdir=$vm/kernel-$kver
if [ ! -f "$kdir/boot/vmlinuz-$kver" ]; then
	rm -rf "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp"
	mv "$kdir.tmp" "$kdir"
fi

# --- nettool, static ------------------------------------------------------
nettool=$vm/nettool
if [ ! -x "$nettool" ] || [ "$root/tools/vm/nettool.c" -nt "$nettool" ]; then
	gcc -static -O2 -Wall -Wextra -Werror -o "$nettool" "$root/tools/vm/nettool.c"
fi

# --- the tree -----------------------------------------------------------------
tree=$(mktemp -d "$vm/initramfs.XXXXXX")
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,modules,lib64}
cp /bin/busybox "$tree/bin/busybox"
install -m 0755 "$root/tools/vm/guest-init.sh" "$tree/init"
install -m 0755 "$guest" "$tree/guest.sh"
cp "$nettool" "$tree/bin/nettool"

# a binary and every shared library it loads, at the same paths
copy_with_libs() {
	local bin=$1 dest=$2 lib
	install -D -m 0755 "$bin" "$tree$dest"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
		[ -e "$tree$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$tree$lib"
	done
}
copy_with_libs "$build/seismo" /bin/seismo
copy_with_libs /usr/sbin/ip /usr/sbin/ip
copy_with_libs /usr/sbin/tc /usr/sbin/tc
# tc reads netem's distribution tables from here
if [ -d /usr/lib/x86_64-linux-gnu/tc ]; then
	mkdir -p "$tree/usr/lib/x86_64-linux-gnu"
	cp -r /usr/lib/x86_64-linux-gnu/tc "$tree/usr/lib/x86_64-linux-gnu/"
fi
for m in net/sched/sch_fq net/sched/sch_netem drivers/net/veth net/sched/sch_ingress \
	net/sched/cls_bpf; do
	cp "$kdir/lib/modules/$kver/kernel/$m.ko" "$tree/modules/"
done
(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$kdir/boot/vmlinuz-$kver"

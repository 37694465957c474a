#!/bin/sh
# Regenerates vmlinux/x86/vmlinux.h from a kernel's BTF. Run by hand only: the
# build never regenerates it, so builds are reproducible on any kernel.
# Usage: tools/gen-vmlinux.sh [/sys/kernel/btf/vmlinux]
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/../vmlinux/x86/vmlinux.h
[ -r "$btf" ] || { echo "gen-vmlinux: no BTF at $btf (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out from $btf"

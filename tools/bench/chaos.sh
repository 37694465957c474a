#!/bin/bash
# seismo chaos delay (tc BPF + fq) side by side with tc netem at the same
# settings and packet rate, in the qemu VM of tests/vm/chaos_delay_vm.sh
# (Debian's cloud kernel, TCG): RTT median and p99 error against the
# requested latency/jitter, loss, reordering within one flow, and guest CPU
# per packet (/proc/stat busy time over the run, minus nothing: the
# baseline without any qdisc is printed alongside). TCG inflates CPU times
# for both alike; compare the ratio, not the absolute numbers.
#   tools/bench/chaos.sh        prints "bench: chaos_delay ..." lines
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-$PWD/build}
command -v qemu-system-x86_64 >/dev/null || { echo "bench: chaos_delay skipped=no_qemu"; exit 0; }
vm=$PWD/build/vm
mkdir -p "$vm"
initrd=$vm/chaos-bench.cpio.gz
log=$vm/chaos-bench.console.log
kernel=$(BUILD=$BUILD tools/vm/build-initramfs.sh tools/vm/guest-chaos-bench.sh "$initrd") || {
	echo "bench: chaos_delay skipped=no_vm_image"; exit 0; }
tools/vm/run-vm.sh "$kernel" "$initrd" "$log" 500
rc=$?
rm -f "$initrd"
tr -d '\r' <"$log" | sed -n 's/^BENCH chaos_delay /bench: chaos_delay /p'
[ $rc = 0 ] || { echo "chaos bench: VM exit $rc, console in $log" >&2; exit 1; }

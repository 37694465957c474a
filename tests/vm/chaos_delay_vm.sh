#!/bin/bash
# timeout: 420
# seismo chaos delay under Debian's cloud kernel (sch_fq, sch_netem, veth)
# in qemu TCG, over a veth pair between two network namespaces inside the
# VM: RTT median within 2 % of the requested latency and the jitter's
# spread, no reordering within a UDP flow or a TCP flow, packets untouched
# after expiry and after SIGKILL, default and configured root qdiscs
# restored, SIGTERM and 'stop' rollback, loss rate. The checks themselves are
# tools/vm/guest-chaos-test.sh; this script builds the VM and reads them.
# Skips (77) only where qemu or the kernel package cannot be had.
set -uo pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-$PWD/build}
command -v qemu-system-x86_64 >/dev/null || { echo "skip: qemu-system-x86_64 is not installed"; exit 77; }
[ -x "$BUILD/seismo" ] || { echo "FAIL: $BUILD/seismo is not built"; exit 1; }
vm=$PWD/build/vm
mkdir -p "$vm"
initrd=$vm/chaos-test.cpio.gz
log=$vm/chaos-test.console.log
kernel=$(BUILD=$BUILD tools/vm/build-initramfs.sh tools/vm/guest-chaos-test.sh "$initrd")
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: building the VM image (exit $rc)"; exit 1; }
trap 'rm -f "$initrd"' EXIT
tools/vm/run-vm.sh "$kernel" "$initrd" "$log" 360
rc=$?
tr -d '\r' <"$log" | grep -aE '^(CHECK|baseline|uniform|one flow|diag|chaos VM)' 
case $rc in
0) echo "PASS: all checks in the VM passed"; exit 0 ;;
124) echo "FAIL: the VM timed out; console in $log"; exit 1 ;;
3) echo "FAIL: the VM ended without a result; console in $log"; tail -20 "$log"; exit 1 ;;
*) echo "FAIL: $rc checks failed in the VM; console in $log"; exit 1 ;;
esac

#!/bin/bash
# Runs a guest script in the test VM (Debian's cloud kernel under qemu TCG)
# and reports like a test: builds the initramfs, boots, prints the console
# lines matching PATTERN, and exits 0 when the guest script passed, 77 when
# qemu or the kernel package cannot be had, 1 otherwise.
#   tools/vm/guest-test.sh NAME GUEST_SCRIPT PATTERN [TIMEOUT_S]
set -uo pipefail
name=$1 guest=$2 pattern=$3 limit=${4:-300}
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-$PWD/build}
command -v qemu-system-x86_64 >/dev/null || { echo "skip: qemu-system-x86_64 is not installed"; exit 77; }
[ -x "$BUILD/seismo" ] || { echo "FAIL: $BUILD/seismo is not built"; exit 1; }
vm=$PWD/build/vm
mkdir -p "$vm"
initrd=$(mktemp "$vm/$name.XXXXXX.cpio.gz")
log=$vm/$name.console.log
trap 'rm -f "$initrd"' EXIT
kernel=$(BUILD=$BUILD tools/vm/build-initramfs.sh "$guest" "$initrd")
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: building the VM image (exit $rc)"; exit 1; }
tools/vm/run-vm.sh "$kernel" "$initrd" "$log" "$limit"
rc=$?
tr -d '\r' <"$log" | grep -aE "$pattern"
case $rc in
0) echo "PASS: all checks in the VM passed"; exit 0 ;;
124) echo "FAIL: the VM timed out; console in $log"; exit 1 ;;
3) echo "FAIL: the VM ended without a result; console in $log"; tail -20 "$log"; exit 1 ;;
*) echo "FAIL: $rc checks failed in the VM; console in $log"; exit 1 ;;
esac

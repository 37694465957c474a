#!/bin/bash
# timeout: 300
# The agent on Debian's own cloud kernel (6.1) in qemu TCG: no
# sock_*_length tracepoints there, fentry allowed, so the agent must choose
# the fexit:tcp_sendmsg variant at load time and count requests exactly.
# The checks are tools/vm/guest-agent-test.sh; skipped (77) only where qemu
# or the kernel package cannot be had.
set -uo pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-$PWD/build}
command -v qemu-system-x86_64 >/dev/null || { echo "skip: qemu-system-x86_64 is not installed"; exit 77; }
[ -x "$BUILD/seismo" ] || { echo "FAIL: $BUILD/seismo is not built"; exit 1; }
vm=$PWD/build/vm
mkdir -p "$vm"
initrd=$(mktemp "$vm/agent-test.XXXXXX.cpio.gz")
log=$vm/agent-test.console.log
trap 'rm -f "$initrd"' EXIT
kernel=$(BUILD=$BUILD tools/vm/build-initramfs.sh tools/vm/guest-agent-test.sh "$initrd")
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: building the VM image (exit $rc)"; exit 1; }
tools/vm/run-vm.sh "$kernel" "$initrd" "$log" 240
rc=$?
tr -d '\r' <"$log" | grep -aE '^(CHECK|diag|agent:|guest-init)'
case $rc in
0) echo "PASS: the agent chose fexit and counted exactly in the VM"; exit 0 ;;
124) echo "FAIL: the VM timed out; console in $log"; exit 1 ;;
3) echo "FAIL: the VM ended without a result; console in $log"; tail -20 "$log"; exit 1 ;;
*) echo "FAIL: $rc checks failed in the VM; console in $log"; exit 1 ;;
esac

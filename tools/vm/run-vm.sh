#!/bin/bash
# Boots the chaos VM under qemu TCG (nested KVM does not work here) and
# copies its console to LOG. Exit status: the guest script's (from the
# "VMTEST-EXIT: N" line), 124 on timeout, 3 if the line never came.
#   tools/vm/run-vm.sh VMLINUZ INITRD LOG [TIMEOUT_S]
set -uo pipefail
kernel=$1 initrd=$2 log=$3 limit=${4:-300}
timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1G \
	-nographic -no-reboot -nic none -kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4" </dev/null >"$log" 2>&1
rc=$?
[ $rc = 124 ] && { echo "run-vm: timed out after ${limit}s" >>"$log"; exit 124; }
status=$(tr -d '\r' <"$log" | sed -n 's/^VMTEST-EXIT: \([0-9]*\)$/\1/p' | tail -1)
[ -n "$status" ] || exit 3
exit "$status"

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
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
exec tools/vm/guest-test.sh chaos-test tools/vm/guest-chaos-test.sh \
	'^(CHECK|baseline|uniform|one flow|diag|chaos VM)' 360

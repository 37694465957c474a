#!/bin/bash
# timeout: 300
# The agent on Debian's own cloud kernel (6.1) in qemu TCG: no
# sock_*_length tracepoints there, fentry allowed, so the agent must choose
# the fexit:tcp_sendmsg variant at load time and count requests exactly.
# The checks are tools/vm/guest-agent-test.sh; skipped (77) only where qemu
# or the kernel package cannot be had.
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
exec tools/vm/guest-test.sh agent-test tools/vm/guest-agent-test.sh \
	'^(CHECK|diag|agent:|guest-init)' 240

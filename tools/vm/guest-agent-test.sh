#!/bin/sh
# Runs inside the VM (Debian's cloud kernel, 6.1: no sock_*_length
# tracepoints, fentry allowed): the agent must pick the fexit hook variant
# and count a known number of HTTP requests between busybox's wget and
# httpd exactly, with method and status. Prints CHECK lines; exits with the
# number of failed checks.
failed=0
check() { # name condition...
	name=$1; shift
	if "$@"; then echo "CHECK ok: $name"; else echo "CHECK FAILED: $name"; failed=$((failed + 1)); fi
}

mkdir -p /www && echo hello >/www/index.html
httpd -p 127.0.0.1:8080 -h /www
# run_agent VARIANT: the agent with only that socket hook variant (SEISMO_HOOK),
# BPF run-time statistics on; 40 GETs and a 404 between busybox wget and
# httpd; the metrics in /tmp/metrics.
run_agent() {
	printf 'interval: 1s\nbpf_stats: true\nstate_dir: /tmp/state-%s\n' "$2" >/tmp/agent.yaml
	SEISMO_HOOK=$1 seismo agent --config /tmp/agent.yaml --listen 127.0.0.1:9464 \
		--log-level debug >/tmp/agent.log 2>&1 &
	agent=$!
	i=0
	until wget -qO /dev/null http://127.0.0.1:9464/readyz 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 120 ] && break
		sleep 0.5
	done
	i=0
	while [ $i -lt $N ]; do
		wget -qO /dev/null http://127.0.0.1:8080/index.html
		i=$((i + 1))
	done
	wget -qO /dev/null http://127.0.0.1:8080/missing 2>/dev/null
	sleep 3
	wget -qO /tmp/metrics http://127.0.0.1:9464/metrics
	grep -v '^#' /tmp/metrics | grep -E 'seismo_build_info|^http_requests_total|^http_client_requests_total|^seismo_bpf_prog_run' | sed 's/^/diag: /'
	grep 'socket hook' /tmp/agent.log | sed 's/^/diag: /'
	kill $agent
	wait $agent
}

# check_counts VARIANT
check_counts() {
	ok200=$(grep '^http_requests_total{service="httpd:8080",method="GET",status="200"' /tmp/metrics | awk '{ print $NF }')
	ok404=$(grep '^http_requests_total{service="httpd:8080",method="GET",status="404"' /tmp/metrics | awk '{ print $NF }')
	check "hook is $1" grep -q "seismo_build_info{[^}]*hook=\"$1\"" /tmp/metrics
	check "$1: server GET 200 count = $N (got ${ok200:-none})" [ "${ok200:-0}" = "$N" ]
	check "$1: server GET 404 count = 1 (got ${ok404:-none})" [ "${ok404:-0}" = 1 ]
	check "$1: client side seen from wget" grep -q '^http_client_requests_total{service="wget",method="GET",status="200"' /tmp/metrics
	check "$1: agent stopped cleanly" grep -q stopping /tmp/agent.log
	# What each fexit run costs here (TCG emulation: slow in absolute terms).
	awk -F'[{}" ]+' '/^seismo_bpf_prog_runs_total/ { r[$3] = $NF }
		/^seismo_bpf_prog_run_seconds_total/ { s[$3] = $NF }
		END { for (p in r) if (r[p] > 0) printf "diag: bpf variant=%s prog=%s runs=%d ns_per_run=%.0f\n", v, p, r[p], s[p] * 1e9 / r[p] }' \
		v="$1" /tmp/metrics
	[ $failed = 0 ] || tail -20 /tmp/agent.log | sed 's/^/agent: /'
}

N=40
# The best variant, chosen by probing: fexit with socket storage.
run_agent "" best
check_counts fexit:tcp_sendmsg+sk_storage
# The fallback store, forced: the LRU hash keyed by socket.
run_agent fexit:tcp_sendmsg+hash hash
check_counts fexit:tcp_sendmsg+hash
exit $failed

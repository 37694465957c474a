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
seismo agent --interval 1s --listen 127.0.0.1:9464 --log-level debug >/tmp/agent.log 2>&1 &
agent=$!
i=0
until wget -qO /dev/null http://127.0.0.1:9464/readyz 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 120 ] && break
	sleep 0.5
done
N=40
i=0
while [ $i -lt $N ]; do
	wget -qO /dev/null http://127.0.0.1:8080/index.html
	i=$((i + 1))
done
wget -qO /dev/null http://127.0.0.1:8080/missing 2>/dev/null
sleep 3
wget -qO /tmp/metrics http://127.0.0.1:9464/metrics
grep -v '^#' /tmp/metrics | grep -E 'seismo_build_info|^http_requests_total|^http_client_requests_total' | sed 's/^/diag: /'
grep 'socket hook' /tmp/agent.log | sed 's/^/diag: /'

ok200=$(grep '^http_requests_total{service="httpd:8080",method="GET",status="200"' /tmp/metrics | awk '{ print $NF }')
ok404=$(grep '^http_requests_total{service="httpd:8080",method="GET",status="404"' /tmp/metrics | awk '{ print $NF }')
check "hook is fexit:tcp_sendmsg" grep -q 'seismo_build_info{[^}]*hook="fexit:tcp_sendmsg"' /tmp/metrics
check "server GET 200 count = $N (got ${ok200:-none})" [ "${ok200:-0}" = "$N" ]
check "server GET 404 count = 1 (got ${ok404:-none})" [ "${ok404:-0}" = 1 ]
check "client side seen from wget" grep -q '^http_client_requests_total{service="wget",method="GET",status="200"' /tmp/metrics
kill $agent
wait $agent
check "agent stopped cleanly" grep -q stopping /tmp/agent.log
[ $failed = 0 ] || tail -20 /tmp/agent.log | sed 's/^/agent: /'
exit $failed

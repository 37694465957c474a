#!/bin/bash
# timeout: 120
# Protocols that are not HTTP are counted as generic request/response turns:
# protocol="tcp", no method or status label, exact counts.
#
#   seismo-testserver --protocol line in .../seismo-lineproto.service
#       -> service="seismo-lineproto"
#   redis-server in .../redis.scope (a cgroup that names no unit)
#       -> service="redis-server:PORT" (process name + listening port)
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl python3 redis-server redis-cli
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19410 LINE_PORT=19411 REDIS_PORT=19412
need_free_port $AGENT_PORT $LINE_PORT $REDIS_PORT
SLICE=seismo-test-generic.slice

start_agent $AGENT_PORT --interval 1s
start_in_cgroup "$SLICE/seismo-lineproto.service" "$T/lineproto.log" \
	"$TESTSERVER" --protocol line --listen 127.0.0.1:$LINE_PORT
start_in_cgroup "$SLICE/redis.scope" "$T/redis.log" \
	redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$T" --daemonize no
wait_port $LINE_PORT
wait_port $REDIS_PORT
make_cgroup "$SLICE/seismo-loadgen.service"
LOADGEN_CG=$CGDIR
in_loadgen_cgroup() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$LOADGEN_CG" "$@"
}

# 250 turns of the line protocol, each asking for 3 ms.
in_loadgen_cgroup "$LOADGEN" --protocol line --target 127.0.0.1:$LINE_PORT --connections 2 \
	--requests 250 --latency const:3ms --json "$T/line.json" || fail "loadgen (line) failed"
# 300 PINGs and 200 SETs over single connections: one turn each.
in_loadgen_cgroup redis-cli -p $REDIS_PORT -r 300 PING >"$T/ping.out" || fail "redis-cli PING failed"
in_loadgen_cgroup redis-cli -p $REDIS_PORT -r 200 SET seismo-key value >"$T/set.out" ||
	fail "redis-cli SET failed"
assert_eq "PONGs" 300 "$(grep -c PONG "$T/ping.out")"
assert_eq "SET OKs" 200 "$(grep -c OK "$T/set.out")"

agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"

L='service="seismo-lineproto"'
assert_eq "line-protocol turns" 250 "$(prom_sum "$T/m.txt" http_requests_total "$L")"
assert_eq "line-protocol turns labelled protocol=tcp" 250 \
	"$(prom_sum "$T/m.txt" http_requests_total "$L" protocol=\"tcp\")"
if grep "$L" "$T/m.txt" | grep -Eq 'method=|status='; then
	grep "$L" "$T/m.txt" | grep -E 'method=|status=' | head -3
	fail "generic turns must carry no method or status label"
fi
assert_eq "line-protocol client turns (peer_service)" 250 \
	"$(prom_sum "$T/m.txt" http_client_requests_total service=\"seismo-loadgen\" peer_service=\"seismo-lineproto\" protocol=\"tcp\")"
# Server time of a 3 ms turn: at least 3 ms, at most what the client waited.
n=$(prom_sum "$T/m.txt" http_request_duration_seconds_count "$L")
mean=$(awk -v s="$(prom_sum "$T/m.txt" http_request_duration_seconds_sum "$L")" -v n="$n" 'BEGIN { print s / n }')
assert_between "mean server time of 3 ms line turns" 0.003 "$mean" "$(json_get "$T/line.json" client mean)"

R="service=\"redis-server:$REDIS_PORT\""
redis_turns=$(prom_sum "$T/m.txt" http_requests_total "$R")
assert_eq "redis turns (300 PING + 200 SET)" 500 "$redis_turns"
assert_eq "redis turns labelled protocol=tcp" 500 \
	"$(prom_sum "$T/m.txt" http_requests_total "$R" protocol=\"tcp\")"
assert_eq "redis-cli's calls to redis" 500 \
	"$(prom_sum "$T/m.txt" http_client_requests_total service=\"seismo-loadgen\" peer=\"127.0.0.1:$REDIS_PORT\" peer_service=\"redis-server:$REDIS_PORT\")"

# redis-benchmark with pipelining off: at least one turn per request (it also
# sends a few CONFIG GETs of its own), and the turns stay generic.
if command -v redis-benchmark >/dev/null; then
	in_loadgen_cgroup redis-benchmark -p $REDIS_PORT -c 2 -n 1000 -t get -q >"$T/bench.out" 2>&1 ||
		fail "redis-benchmark failed: $(cat "$T/bench.out")"
	agent_flush $AGENT_PORT
	scrape $AGENT_PORT "$T/m2.txt"
	after=$(prom_sum "$T/m2.txt" http_requests_total "$R" protocol=\"tcp\")
	assert_between "redis turns after 1000 benchmark GETs" $((redis_turns + 1000)) "$after" $((redis_turns + 1010))
fi
echo "PASS: generic turns counted with protocol=tcp, named by unit and by process:port"

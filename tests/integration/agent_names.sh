#!/bin/bash
# timeout: 90
# Services started one after another, each in its own unit-named cgroup,
# are all named after their units, however soon after the previous one they
# appear. Regression test: the agent used to find a new cgroup's path only by
# scanning the cgroup tree at most once a second, so a cgroup created just
# after a scan kept its fallback name (process:port) for good. A 200 ms
# interval puts several new services inside one second.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19404 FIRST_PORT=19405 N=5
need_free_port $AGENT_PORT $(seq $FIRST_PORT $((FIRST_PORT + N - 1)))
SLICE=seismo-test-names.slice

printf 'interval: 200ms\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
start_agent $AGENT_PORT --config "$T/agent.yaml"

named() { scrape $AGENT_PORT "$T/m.txt"; grep -Eq "^http_requests_total\{service=\"($1|[^\"]*:$2)\"" "$T/m.txt"; }
for ((i = 0; i < N; i++)); do
	port=$((FIRST_PORT + i))
	start_in_cgroup "$SLICE/seismo-name$i.service" "$T/srv$i.log" \
		"$TESTSERVER" --listen 127.0.0.1:$port
	wait_port $port
	"$LOADGEN" --target 127.0.0.1:$port --requests 3 -q || fail "loadgen to $port failed"
	# As soon as the service shows up, start the next one.
	wait_until 20 named "seismo-name$i" $port || fail "service $i never showed up"
done
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
for ((i = 0; i < N; i++)); do
	port=$((FIRST_PORT + i))
	if grep -q "service=\"[^\"]*:$port\"" "$T/m.txt"; then
		grep "service=\"[^\"]*:$port\"" "$T/m.txt" | head -2
		fail "service $i on port $port was named by process:port, not by its unit"
	fi
	assert_eq "requests of seismo-name$i" 3 \
		"$(prom_sum "$T/m.txt" http_requests_total service=\"seismo-name$i\")"
done
echo "PASS: $N services started in quick succession all named by their units"

#!/bin/bash
# timeout: 60
# Histograms beyond the per-CPU map's memory budget go to the shared map
# (issue 11) and are counted exactly like the others. A budget of one byte
# leaves the per-CPU map its floor of 16 keys; 20 statuses seen from both
# ends make 40 keys, so at least 24 live in hists_shared.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19478 SRV_PORT=19479
need_free_port $AGENT_PORT $SRV_PORT
SLICE=seismo-test-overflow.slice
CODES="200 201 202 203 206 207 208 209 210 211 400 401 402 403 404 405 406 407 408 409"
PER_CODE=3

printf 'interval: 500ms\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
export SEISMO_PERCPU_HIST_BYTES=1
start_agent $AGENT_PORT --config "$T/agent.yaml"
unset SEISMO_PERCPU_HIST_BYTES
start_in_cgroup "$SLICE/seismo-overflow.service" "$T/srv.log" "$TESTSERVER" --listen 127.0.0.1:$SRV_PORT
wait_port $SRV_PORT
make_cgroup "$SLICE/seismo-caller.service"
# Ten statuses per run (loadgen takes up to 16 weights), two runs.
for codes in "${CODES% 400*}" "400${CODES#* 400}"; do
	weights=$(for c in $codes; do printf '%s:1,' "$c"; done)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGDIR" "$LOADGEN" \
		--target 127.0.0.1:$SRV_PORT --requests $((PER_CODE * 10)) --status "${weights%,}" -q ||
		fail "loadgen failed"
done
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
grep -E '^seismo_bpf_map_(entries|capacity)\{map="hists' "$T/m.txt" | sed 's/^/    /'
assert_le "keys in the shared map" 24 "$(prom_sum "$T/m.txt" seismo_bpf_map_entries map=\"hists_shared\")"
for c in $CODES; do
	assert_eq "server requests with status $c" $PER_CODE \
		"$(prom_sum "$T/m.txt" http_requests_total service=\"seismo-overflow\" status=\"$c\")"
	assert_eq "client calls with status $c" $PER_CODE \
		"$(prom_sum "$T/m.txt" http_client_requests_total service=\"seismo-caller\" status=\"$c\")"
done
assert_eq "turns dropped" 0 "$(prom_sum "$T/m.txt" seismo_turns_dropped_total)"
echo "PASS: histograms in the shared overflow map counted exactly"

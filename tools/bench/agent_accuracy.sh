#!/bin/bash
# Accuracy of the agent's quantiles (issue 2, item 7).
#
# seismo-loadgen drives seismo-testserver (in its own cgroup, a unit named
# seismo-accuracy.service) with latencies drawn from a known distribution and
# keeps every client-observed latency. The agent runs with a 15 s interval;
# each run starts right after an interval closes and ends well before the
# next, so one interval's full-resolution quantiles (/api/v1/services)
# cover exactly the run. Prints, per distribution, the agent's p50/p90/p99,
# the client's, and the relative error (goal: within 5%), for the server
# side (the test server's processing time) and for the client side (the
# load generator's calls as the kernel saw them).
#
# The agent measures server time (first request byte read -> first response
# byte written); the client also waits for loopback and its own scheduling,
# a few tens of microseconds that matter little at these millisecond
# latencies. The quantiles of what each request asked for are printed too.
#
#   bench: agent_accuracy dist=NAME role=server|client agent_p50_ms=... client_p50_ms=... err_p50=... ...
. "$(dirname "$0")/../../tests/lib/agent.sh"
need_root
need_cmd curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19485 SRV_PORT=19486
need_free_port $AGENT_PORT $SRV_PORT
SECS=${SECS:-8}
INTERVAL=15

start_agent $AGENT_PORT --interval ${INTERVAL}s
start_in_cgroup seismo-bench-accuracy.slice/seismo-accuracy.service "$T/testserver.log" \
	"$TESTSERVER" --listen 127.0.0.1:$SRV_PORT
wait_port $SRV_PORT
make_cgroup seismo-bench-accuracy.slice/seismo-loadgen.service
LOADGEN_CG=$CGDIR

interval_count() { curl -sf "http://127.0.0.1:$AGENT_PORT/metrics" | awk '$1 == "seismo_intervals_total" { print $2 }'; }
# Blocks until the interval counter passes $1; prints the new value.
wait_interval_after() {
	local n
	for _ in $(seq $((INTERVAL * 20 + 100))); do
		n=$(interval_count)
		[ -n "$n" ] && [ "$n" -gt "$1" ] && { echo "$n"; return 0; }
		sleep 0.1
	done
	fail "the agent closed no interval"
}

run() {
	local name=$1 dist=$2 n
	n=$(wait_interval_after "$(interval_count)")
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$LOADGEN_CG" \
		"$LOADGEN" --target 127.0.0.1:$SRV_PORT --connections 4 --duration ${SECS}s \
		--latency "$dist" --seed 42 --json "$T/$name.json" >"$T/$name.out" ||
		fail "loadgen ($dist) failed: $(cat "$T/$name.out")"
	wait_interval_after "$n" >/dev/null
	curl -sf "http://127.0.0.1:$AGENT_PORT/api/v1/services" -o "$T/$name.services.json" ||
		fail "reading /api/v1/services"
	python3 - "$name" "$dist" "$T/$name.json" "$T/$name.services.json" <<'EOF'
import json, sys
name, dist, client_file, services_file = sys.argv[1:]
client = json.load(open(client_file))
summaries = json.load(open(services_file))["services"]
def one(service, role):
    s = [x for x in summaries if x["service"] == service and x["role"] == role]
    if len(s) != 1:
        sys.exit(f"no single {role} summary for {service}: {s}")
    return s[0]
# Server side: the test server's processing time. Client side: the load
# generator's calls as the kernel saw them, the same span the load
# generator itself timed (first byte sent -> first byte received).
for role, svc in (("server", one("seismo-accuracy", "server")), ("client", one("seismo-loadgen", "client"))):
    if svc["requests"] != client["requests"]:
        print(f"note: agent counted {svc['requests']} {role} turns, client sent {client['requests']}", file=sys.stderr)
    parts = [f"bench: agent_accuracy dist={name} role={role} requests={client['requests']} agent_requests={svc['requests']}"]
    worst = 0
    for q in ("p50", "p90", "p99"):
        a, c, asked = svc[q], client["client"][q], client["asked"][q]
        err = (a - c) / c
        worst = max(worst, abs(err))
        parts.append(f"agent_{q}_ms={a * 1e3:.3f} client_{q}_ms={c * 1e3:.3f} asked_{q}_ms={asked * 1e3:.3f} err_{q}={err * 100:+.2f}%")
    parts.append(f"worst_err={worst * 100:.2f}% goal=5% {'ok' if worst <= 0.05 else 'MISSED'}")
    print(" ".join(parts))
EOF
}

run unimodal lognormal:10ms:0.5
run bimodal bimodal:5ms:50ms:0.15

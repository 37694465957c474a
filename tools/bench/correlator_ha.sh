#!/bin/bash
# seismo-correlator on a shared PostgreSQL (high availability), on a private
# cluster this script starts (skipped when PostgreSQL cannot run):
#   - ingest: the generated stream of tools/bench/correlator.sh in gzip
#     batches of 500 to one replica while another follows; events/s and the
#     latency per batch, and how far behind the follower is at the end;
#   - failover: the leader killed with SIGKILL, time until the other replica
#     leads (it polls the leader lock every 0.5 s: expect up to ~500 ms).
#   bench: correlator_ha_ingest events=... batch=500 events_per_s=... p50_ms=... p99_ms=... follower_lag_ms=...
#   bench: correlator_ha_failover runs=... takeover_ms_max=... takeover_ms_mean=...
set -eu
: "${SEISMO_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
rel=${BUILD#"$SEISMO_ROOT"/}
make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/seismo-correlator" "$rel/seismo-ship" >/dev/null
PG=19185
A=19180
B=19181
start_postgres $PG

replica() { # PORT: a correlator on the shared store, logging errors only
	"$BUILD/seismo-correlator" -l "127.0.0.1:$1" -d "$PG_URL" -v error \
		>/dev/null 2>>"$WORK/correlator.$1.log" &
	echo $!
}
leads() { curl -sf "http://127.0.0.1:$1/metrics" | grep -q '^seismo_correlator_leader 1'; }
stored() { curl -sf "http://127.0.0.1:$1/metrics" | sed -n 's/^seismo_correlator_events_stored //p'; }

pa=$(replica $A)
PIDS+=("$pa")
wait_until 10 leads $A || fail "replica $A did not lead"
pb=$(replica $B)
PIDS+=("$pb")
wait_until 10 curl -sf "http://127.0.0.1:$B/healthz" || fail "replica $B did not start"

python3 "$SCEN/scenario.py" generate --services 400 --nodes 80 --faults 300 --gap 300 \
	--seed 7 --batch 500 --out "$WORK/gen.ndjson" --truth "$WORK/truth.json" >/dev/null
# 500 events to a POST, as tools/bench/correlator.sh sends them.
python3 - "$WORK/gen.ndjson" "$WORK/load.ndjson" <<'PY'
import json, sys
out, evs, edges = open(sys.argv[2], "w"), [], []
for line in open(sys.argv[1]):
    b = json.loads(line)
    evs.extend(b["events"]); edges.extend(b.get("edges", []))
for i in range(0, len(evs), 500):
    out.write(json.dumps({"node": "load", "events": evs[i:i + 500],
                          "edges": edges if i == 0 else []}, separators=(",", ":")) + "\n")
PY
"$BUILD/seismo-ship" post --gzip --url "http://127.0.0.1:$A" "$WORK/load.ndjson" >"$WORK/post.json"
done_ms=$(date +%s%3N)
total=$(stored $A)
wait_until 60 sh -c "[ \"\$(curl -sf http://127.0.0.1:$B/metrics | sed -n 's/^seismo_correlator_events_stored //p')\" = $total ]" ||
	fail "follower did not catch up: $(stored $B) of $total"
lag=$(($(date +%s%3N) - done_ms))
python3 - "$WORK/post.json" "$lag" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("bench: correlator_ha_ingest events=%d batch=500 gzip=1 store=postgresql events_per_s=%.0f "
      "p50_ms=%.2f p99_ms=%.2f follower_lag_ms=%s"
      % (r["events"], r["events_per_s"], r["p50_ms"], r["p99_ms"], sys.argv[2]))
PY

# Failover, a few times: kill the leader, time the other's takeover, restart.
lead=$A lpid=$pa other=$B opid=$pb times=()
for run in 1 2 3; do
	kill -9 "$lpid"
	wait "$lpid" 2>/dev/null || true
	t0=$(date +%s%3N)
	for _ in $(seq 500); do
		leads $other && break
		sleep 0.01
	done
	leads $other || fail "no takeover by $other"
	times+=($(($(date +%s%3N) - t0)))
	npid=$(replica $lead)
	PIDS+=("$npid")
	wait_until 10 curl -sf "http://127.0.0.1:$lead/healthz" || fail "restart of $lead"
	# The new leader is next to die; the restarted one follows.
	dead=$lead
	lead=$other lpid=$opid
	other=$dead opid=$npid
done
python3 -c '
import sys
t = [int(x) for x in sys.argv[1:]]
print("bench: correlator_ha_failover runs=%d takeover_ms_max=%d takeover_ms_mean=%.0f lock_poll_ms=500"
      % (len(t), max(t), sum(t) / len(t)))' "${times[@]}"

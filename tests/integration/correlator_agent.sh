#!/bin/bash
# timeout: 240
# The whole path on one machine: a real `seismo agent` watches a test service
# in its own cgroup, its detector fires when the service's latency steps from
# 5 ms to 50 ms, the shipper delivers the events (gzip, bearer token, spool)
# to seismo-correlator, which opens an incident with that service as root
# cause and notifies a webhook; after recovery the incident resolves.
# Uses the agent tests' helpers (tests/lib/agent.sh): root, cgroups, BPF.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_build
[ -x "$BUILD/seismo-correlator" ] || fail "$BUILD/seismo-correlator missing"

PORT_CORR=19145 PORT_CAP=19146 PORT_AGENT=19147 PORT_SVC=19148
need_free_port $PORT_CORR $PORT_CAP $PORT_AGENT $PORT_SVC
SVC=seismo-corr-e2e
echo -n "e2e-token" >"$T/token"

start_bg "$T/capture.log" python3 "$SEISMO_ROOT/tools/scenario/capture.py" $PORT_CAP
cat >"$T/correlator.yaml" <<YAML
seismo:
  token_file: $T/token
route:
  receiver: hook
  group_by: [incident]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$PORT_CAP/hook
YAML
start_bg "$T/correlator.log" "$BUILD/seismo-correlator" -c "$T/correlator.yaml" \
	-l 127.0.0.1:$PORT_CORR -d "$T/corr.db" -v debug
wait_until 10 http_ok "http://127.0.0.1:$PORT_CORR/healthz" || fail "correlator did not start"

cat >"$T/agent.yaml" <<YAML
interval: 1s
state_dir: $T/state
node: e2e-node
cluster: e2e
detector:
  for: 3s
  resolve_for: 3s
  warmup: 20s
  warmup_samples: 20
  min_requests: 5
sampling:
  factor: 2
  min_latency: 1ms
correlator:
  url: http://127.0.0.1:$PORT_CORR
  token_file: $T/token
  spool_dir: $T/spool
YAML
make_cgroup seismo-corr-e2e.slice/$SVC.service
start_in_cgroup seismo-corr-e2e.slice/$SVC.service "$T/svc.log" "$TESTSERVER" --listen 127.0.0.1:$PORT_SVC
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT_SVC" || fail "test server did not listen"
start_agent $PORT_AGENT --config "$T/agent.yaml"

incident() {
	curl -sf -H "Authorization: Bearer e2e-token" "http://127.0.0.1:$PORT_CORR/api/v1/incidents" |
		python3 -c '
import json, sys
for i in json.load(sys.stdin):
    if sys.argv[1] in i["blast_radius"]["service_names"] and (len(sys.argv) < 3 or i["state"] == sys.argv[2]):
        print(i["id"], i["state"], i["root_causes"][0]["service"], i["events"])
        break' "$@"
}
has_incident() { [ -n "$(incident "$@")" ]; }

log "warm-up: 5 ms for 30 s"
"$LOADGEN" --target 127.0.0.1:$PORT_SVC --connections 2 --duration 30s \
	--latency lognormal:5ms:0.05 --quiet || fail "warm-up load failed"
log "step: 50 ms"
"$LOADGEN" --target 127.0.0.1:$PORT_SVC --connections 4 --duration 12s \
	--latency lognormal:50ms:0.05 --quiet &
load=$!
on_exit "kill $load"
wait_until 40 has_incident $SVC firing || fail "no firing incident for $SVC in the correlator"
log "incident: $(incident $SVC firing)"
read -r id state root events <<<"$(incident $SVC firing)"
[ "$root" = "$SVC" ] || fail "root cause $root, not $SVC"
wait_until 20 bash -c "curl -s http://127.0.0.1:$PORT_CAP/captured | grep -q '\"incident\": \"$id\"'" ||
	fail "no webhook for incident $id"
curl -s "http://127.0.0.1:$PORT_CAP/captured" | python3 -c '
import json, sys
b = [c["body"] for c in json.load(sys.stdin) if c["path"] == "/hook"][0]
a = b["alerts"][0]
assert b["version"] == "4" and a["labels"]["alertname"] == "SeismoIncident", b
assert a["labels"]["service"] == sys.argv[1] and a["labels"]["cluster"] == "e2e", a
print("webhook:", a["labels"], a["annotations"]["summary"])' $SVC || fail "webhook payload"
# The agent's event arrived as the agent built it: exemplars and baseline included.
curl -sf -H "Authorization: Bearer e2e-token" "http://127.0.0.1:$PORT_CORR/api/v1/incidents/$id" |
	python3 -c '
import json, sys
d = json.load(sys.stdin)
e = d["event_list"][0]
assert e["schema"] == "seismo.event/v1" and e["labels"]["node"] == "e2e-node", e
assert "baseline" in e and e["baseline"]["expected"] > 0, e
print("stored event:", e["metric"], e["state"], "exemplars:", len(e.get("exemplars", [])))' || fail "stored event"
wait "$load"

log "recovery: 5 ms"
"$LOADGEN" --target 127.0.0.1:$PORT_SVC --connections 2 --duration 40s \
	--latency lognormal:5ms:0.05 --quiet &
load=$!
on_exit "kill $load"
# When the agent resolves its anomalies is the detector's business (tested
# by anomaly_e2e.sh); what this test holds the correlator to is following
# the agent: once the agent has sent its resolved events, the incident
# resolves.
agent_resolved() {
	curl -sf "http://127.0.0.1:$PORT_AGENT/api/v1/events" | python3 -c '
import json, sys
ev = [e for e in json.load(sys.stdin)["events"] if e["service"] == sys.argv[1]]
fired = {e["anomaly_id"] for e in ev if e["state"] == "firing"}
done = {e["anomaly_id"] for e in ev if e["state"] == "resolved"}
sys.exit(0 if fired and fired <= done else 1)' $SVC
}
if wait_until 45 agent_resolved; then
	wait_until 20 has_incident $SVC resolved || fail "the agent resolved its anomalies, the incident did not: $(incident $SVC)"
	log "resolved: $(incident $SVC resolved)"
else
	log "NOTE: the agent did not resolve its anomalies within 45 s of recovery; incident: $(incident $SVC)"
fi
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
scrape $PORT_AGENT "$T/agent.metrics"
delivered=$(prom_sum "$T/agent.metrics" seismo_shipper_events_delivered_total)
log "agent shipper delivered $delivered events"
python3 -c "import sys; sys.exit(0 if float('$delivered') >= 2 else 1)" || fail "shipper metrics: $delivered delivered"
stored=$(curl -sf "http://127.0.0.1:$PORT_CORR/metrics" | awk '$1 == "seismo_correlator_events_stored" { print $2 }')
# Later events may still be on their way: the store holds at least what was acknowledged.
python3 -c "import sys; sys.exit(0 if float('$stored') >= float('$delivered') else 1)" ||
	fail "agent delivered $delivered, correlator stored $stored"
echo "agent -> correlator: ok"

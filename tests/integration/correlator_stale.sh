#!/bin/bash
# timeout: 90
# Liveness end to end: two nodes report an anomaly each; node-b keeps
# sending heartbeats (empty batches), node-a dies without a word. After
# stale_after, node-a's incident resolves as stale (annotation
# resolution=stale, a resolved notification), node-b's keeps firing. The
# stale resolution survives a restart; after it, a node silent since before
# the restart goes stale too.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
CORR=19162
CAP=19163
start_capture $CAP
cat >"$WORK/config.yaml" <<YAML
seismo:
  stale_after: 3s
route:
  receiver: hook
  group_by: [incident]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$CAP/hook
YAML
python3 - "$WORK" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = lambda s: (now + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
for node, svc, aid in (("node-a", "inventory", "aaaa01"), ("node-b", "billing", "bbbb01")):
    ev = {"schema": "seismo.event/v1", "id": aid + "f", "anomaly_id": aid, "state": "firing",
          "severity": "critical", "service": svc, "labels": {}, "metric": "latency_p99",
          "value": 0.5, "score": 9.0, "threshold": 4.0, "starts_at": t(-20), "observed_at": t(-2)}
    json.dump({"node": node, "events": [ev]}, open("%s/%s.json" % (sys.argv[1], node), "w"))
json.dump({"node": "node-b", "events": []}, open(sys.argv[1] + "/beat.json", "w"))
PY
start_correlator $CORR "$WORK/corr.db" -c "$WORK/config.yaml"
for n in node-a node-b; do
	[ "$(post $CORR /api/v1/events "$WORK/$n.json")" = 200 ] || fail "$n refused: $(cat "$WORK/resp")"
done
( for _ in $(seq 12); do post $CORR /api/v1/events "$WORK/beat.json" >/dev/null; sleep 0.5; done ) &
BEAT=$!
PIDS+=("$BEAT")
notified() { # notified INCIDENT STATUS
	curl -sf "http://127.0.0.1:$CAP/captured" | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if any(r["body"]["groupLabels"].get("incident") == sys.argv[1] and r["body"]["status"] == sys.argv[2]
                  for r in c) else 1)' "$1" "$2"
}
wait_until 10 notified aaaa01 firing || fail "node-a's incident never fired"
wait_until 10 notified bbbb01 firing || fail "node-b's incident never fired"
wait_until 15 notified aaaa01 resolved || fail "node-a's incident did not resolve as stale"
curl -sf "http://127.0.0.1:$CAP/captured" >"$WORK/cap.json"
python3 - "$WORK/cap.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
res = [r["body"] for r in c if r["body"]["status"] == "resolved"]
assert len(res) == 1 and res[0]["groupLabels"]["incident"] == "aaaa01", res
a = res[0]["alerts"][0]
assert a["annotations"]["resolution"] == "stale", a["annotations"]
assert "node-a" in a["annotations"]["summary"], a["annotations"]
PY
wait "$BEAT" 2>/dev/null || true
curl -sf "http://127.0.0.1:$CORR/api/v1/incidents" >"$WORK/inc.json"
python3 - "$WORK/inc.json" <<'PY'
import json, sys
st = {i["id"]: i["state"] for i in json.load(open(sys.argv[1]))}
assert st == {"aaaa01": "resolved", "bbbb01": "firing"}, st
PY
stop_pid "$CORR_PID"
start_correlator $CORR "$WORK/corr.db" -c "$WORK/config.yaml"
curl -sf "http://127.0.0.1:$CORR/api/v1/incidents/aaaa01" >"$WORK/a.json"
python3 - "$WORK/a.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))
assert i["state"] == "resolved", i["state"]
assert any(e.get("resolution") == "stale" for e in i["event_list"]), i["event_list"]
PY
# node-b went silent with the old process: watched from the restart on.
stale_b() {
	curl -sf "http://127.0.0.1:$CORR/api/v1/incidents?state=resolved" | grep -q bbbb01
}
wait_until 15 stale_b || fail "a node silent across the restart never went stale"
echo "PASS"

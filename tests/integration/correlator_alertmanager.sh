#!/bin/bash
# timeout: 180
# seismo-correlator with a real Alertmanager (Debian's prometheus-alertmanager)
# on loopback, both ways round:
#   1. an alert added to Alertmanager (amtool) reaches the correlator through
#      Alertmanager's webhook (POST /api/v1/alertmanager) and joins the
#      correlation with the agents' events;
#   2. the correlator's incident alert goes to Alertmanager's v2 API (an
#      alertmanager_configs receiver); amtool sees it with its labels and
#      Alertmanager routes it on to a webhook; when the incident resolves,
#      Alertmanager shows it resolved.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
command -v amtool >/dev/null || { echo "amtool is not installed"; exit 77; }
AM=19110
CORR=19111
CAP=19112
start_capture $CAP
cat >"$WORK/am.yaml" <<YAML
route:
  receiver: capture
  group_by: [alertname, incident]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['source = prometheus']
      receiver: seismo
receivers:
  - name: capture
    webhook_configs:
      - url: http://127.0.0.1:$CAP/from-alertmanager
  - name: seismo
    webhook_configs:
      - url: http://127.0.0.1:$CORR/api/v1/alertmanager
YAML
amtool check-config "$WORK/am.yaml" >/dev/null || fail "alertmanager config invalid"
start_alertmanager $AM "$WORK/am.yaml"
cat >"$WORK/corr.yaml" <<YAML
route:
  receiver: am
  group_by: [incident]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: am
    alertmanager_configs:
      - url: http://127.0.0.1:$AM
YAML
start_correlator $CORR "$WORK/corr.db" -c "$WORK/corr.yaml"

# An agent reports the payments service slow, and its dependency edge to the db.
python3 - "$WORK" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = lambda s: (now + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
e = {"schema": "seismo.event/v1", "id": "c1f", "anomaly_id": "c1", "state": "firing",
     "severity": "warning", "service": "payments", "labels": {"team": "payments"},
     "metric": "latency_p99", "value": 0.4, "score": 7.5, "threshold": 4.0,
     "starts_at": t(-5), "observed_at": t(0)}
json.dump({"node": "node-1", "cluster": "eu-1", "events": [e],
           "edges": [{"caller": "payments", "callee": "ledger-db", "requests": 500}]},
          open(sys.argv[1] + "/fire.json", "w"))
r = dict(e, id="c1e", state="resolved", ends_at=t(1), observed_at=t(1))
json.dump({"node": "node-1", "cluster": "eu-1", "events": [r]}, open(sys.argv[1] + "/resolve.json", "w"))
PY
[ "$(post $CORR /api/v1/events "$WORK/fire.json")" = 200 ] || fail "events refused: $(cat "$WORK/resp")"

# Prometheus' alert about the database, through Alertmanager into the correlator.
# Like Prometheus, every update carries the alert's original start: the
# correlator knows an anomaly from Alertmanager by its labels and start.
started=$(date -u -d '-3 seconds' +%Y-%m-%dT%H:%M:%SZ)
amtool --alertmanager.url="http://127.0.0.1:$AM" alert add LedgerDBSlow \
	source=prometheus service=ledger-db severity=critical --start="$started" \
	--annotation=summary="ledger-db p99 above 1s" || fail "amtool alert add"
wait_until 20 python3 -c "
import json, urllib.request, sys
incs = json.load(urllib.request.urlopen('http://127.0.0.1:$CORR/api/v1/incidents'))
sys.exit(0 if incs and incs[0]['blast_radius']['services'] == 2 else 1)" ||
	fail "the Alertmanager alert did not join the incident: $(curl -s "http://127.0.0.1:$CORR/api/v1/incidents")"
curl -s "http://127.0.0.1:$CORR/api/v1/incidents" | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
# The db is what payments depends on: it is the root cause, payments is explained.
assert i["root_causes"][0]["service"] == "ledger-db", i
assert i["severity"] == "critical", i
print("incident", i["id"], "root cause", i["root_causes"][0]["service"])'

# The incident reaches Alertmanager's API: amtool sees it, with our labels.
wait_until 20 sh -c "amtool --alertmanager.url=http://127.0.0.1:$AM alert query alertname=SeismoIncident -o json | grep -q ledger-db" ||
	fail "SeismoIncident not in Alertmanager: $(amtool --alertmanager.url=http://127.0.0.1:$AM alert query -o json)"
amtool --alertmanager.url="http://127.0.0.1:$AM" alert query alertname=SeismoIncident -o json >"$WORK/am-alerts.json"
python3 - "$WORK/am-alerts.json" <<'PY'
import json, sys
al = json.load(open(sys.argv[1]))
assert len(al) == 1, al
a = al[0]
assert a["labels"]["service"] == "ledger-db" and a["labels"]["severity"] == "critical", a
assert a["labels"]["incident"] and "root_causes" in a["annotations"], a
assert a["status"]["state"] == "active", a
print("alertmanager has", a["labels"])
PY
# ... and Alertmanager routes it on like any other alert.
wait_until 20 sh -c "curl -s http://127.0.0.1:$CAP/captured | grep -q SeismoIncident" || fail "Alertmanager did not notify"

# Resolution flows through: the agent's resolved event, and the alert in Alertmanager resolves.
amtool --alertmanager.url="http://127.0.0.1:$AM" alert add LedgerDBSlow \
	source=prometheus service=ledger-db severity=critical --start="$started" \
	--end="$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)" || fail "amtool resolve"
[ "$(post $CORR /api/v1/events "$WORK/resolve.json")" = 200 ] || fail "resolve refused"
wait_until 60 sh -c "curl -s http://127.0.0.1:$CAP/captured | python3 -c '
import json, sys
c = [x[\"body\"] for x in json.load(sys.stdin) if x[\"path\"] == \"/from-alertmanager\"]
sys.exit(0 if any(b[\"status\"] == \"resolved\" and b[\"commonLabels\"].get(\"alertname\") == \"SeismoIncident\" for b in c) else 1)'" ||
	fail "no resolved SeismoIncident from Alertmanager: $(curl -s http://127.0.0.1:$CAP/captured)"
curl -s "http://127.0.0.1:$CORR/metrics" | grep -q '^seismo_correlator_alertmanager_webhooks_total [1-9]' || fail "webhook input not counted"
curl -s "http://127.0.0.1:$CORR/metrics" | grep -q '^seismo_correlator_notifications_total{integration="alertmanager"} [1-9]' || fail "alertmanager notifications not counted"
echo "correlator + alertmanager: ok"

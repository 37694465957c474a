#!/bin/bash
# timeout: 120
# seismo-correlator end to end over HTTP: agent batches in (plain and gzip,
# bearer token), one incident with its root cause out to a capture server as
# Alertmanager webhook v4, Slack and PagerDuty Events v2 payloads, resolved
# again when the anomalies end; bad input answered with clear 4xx while the
# server keeps serving; silences through the API; state kept over a restart.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
CORR=19101
CAP=19102
start_capture $CAP
echo -n "s3cret" >"$WORK/token"
cat >"$WORK/config.yaml" <<YAML
seismo:
  token_file: $WORK/token
  max_body_bytes: 200000
  max_decompressed_bytes: 1000000
route:
  receiver: hook
  group_by: [alertname, incident]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: [severity = critical]
      receiver: pager
      continue: true
    - match: {team: db}
      receiver: chat
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$CAP/hook
  - name: pager
    pagerduty_configs:
      - routing_key_file: $WORK/token
        url: http://127.0.0.1:$CAP/pagerduty
  - name: chat
    slack_configs:
      - api_url: http://127.0.0.1:$CAP/slack
        channel: '#db'
        send_resolved: true
YAML
start_correlator $CORR "$WORK/corr.db" -c "$WORK/config.yaml"

# postgres slows down, orders and checkout follow a few seconds later.
python3 - "$WORK" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = lambda s: (now + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
def ev(svc, aid, state, score, sev, start, team, deps=()):
    e = {"schema": "seismo.event/v1", "id": aid + ("f" if state == "firing" else "e"),
         "anomaly_id": aid, "state": state, "severity": sev, "service": svc,
         "labels": {"team": team}, "metric": "latency_p99", "value": 0.05,
         "score": score, "threshold": 4.0, "starts_at": t(start), "observed_at": t(start + 5),
         "dependencies": [{"service": d, "anomalous": True} for d in deps]}
    if state == "resolved":
        e["ends_at"] = t(start + 8)
    return e
edges = [{"caller": "checkout", "callee": "orders", "requests": 100},
         {"caller": "orders", "callee": "postgres", "endpoint": "10.0.0.5:5432", "requests": 90}]
fire = [ev("postgres", "a1", "firing", 9.0, "critical", -20, "db"),
        ev("orders", "a2", "firing", 12.0, "warning", -15, "shop", ["postgres"]),
        ev("checkout", "a3", "firing", 7.0, "warning", -10, "shop")]
json.dump({"node": "node-1", "cluster": "eu-1", "events": fire, "edges": edges},
          open(sys.argv[1] + "/fire.json", "w"))
res = [ev(s, a, "resolved", sc, sev, st, tm) for (s, a, sc, sev, st, tm) in
       [("postgres", "a1", 9.0, "critical", -20, "db"), ("orders", "a2", 12.0, "warning", -15, "shop"),
        ("checkout", "a3", 7.0, "warning", -10, "shop")]]
json.dump({"node": "node-1", "cluster": "eu-1", "events": res}, open(sys.argv[1] + "/resolve.json", "w"))
PY
AUTH=(-H "Authorization: Bearer s3cret")

# --- bad input: clear 4xx, nothing stored ------------------------------
[ "$(post $CORR /api/v1/events "$WORK/fire.json")" = 401 ] || fail "no token accepted"
[ "$(post $CORR /api/v1/events "$WORK/fire.json" -H 'Authorization: Bearer nope')" = 401 ] || fail "wrong token accepted"
grep -q "bearer token" "$WORK/resp" || fail "401 without a reason: $(cat "$WORK/resp")"
echo '{"node":"n","events":[{"schema":"seismo.event/v1"}]}' >"$WORK/bad.json"
[ "$(post $CORR /api/v1/events "$WORK/bad.json" "${AUTH[@]}")" = 400 ] || fail "bad event accepted"
grep -q 'events\[0\]: missing field' "$WORK/resp" || fail "400 does not name the field: $(cat "$WORK/resp")"
printf '{"node":' >"$WORK/trunc.json"
[ "$(post $CORR /api/v1/events "$WORK/trunc.json" "${AUTH[@]}")" = 400 ] || fail "truncated JSON accepted"
head -c 300000 /dev/zero | tr '\0' ' ' >"$WORK/huge.json"
[ "$(post $CORR /api/v1/events "$WORK/huge.json" "${AUTH[@]}")" = 413 ] || fail "huge body not refused"
head -c 50000000 /dev/zero | gzip -9 >"$WORK/bomb.gz"
[ "$(post $CORR /api/v1/events "$WORK/bomb.gz" "${AUTH[@]}" -H 'Content-Encoding: gzip')" = 413 ] || fail "gzip bomb not refused"
grep -q "decompressed body exceeds" "$WORK/resp" || fail "bomb reason: $(cat "$WORK/resp")"
[ "$(curl -s -o "$WORK/resp" -w '%{http_code}' -H 'Content-Type: text/plain' "${AUTH[@]}" \
	--data-binary "@$WORK/fire.json" "http://127.0.0.1:$CORR/api/v1/events")" = 415 ] || fail "wrong content type"
curl -sf "http://127.0.0.1:$CORR/healthz" >/dev/null || fail "server stopped serving after bad input"
[ "$(curl -s "http://127.0.0.1:$CORR/api/v1/incidents" "${AUTH[@]}")" = "[]" ] || fail "bad input stored something"

# --- the incident --------------------------------------------------------
gzip -c "$WORK/fire.json" >"$WORK/fire.gz"
[ "$(post $CORR /api/v1/events "$WORK/fire.gz" "${AUTH[@]}" -H 'Content-Encoding: gzip')" = 200 ] || fail "batch refused: $(cat "$WORK/resp")"
grep -q '"accepted":3' "$WORK/resp" || fail "not 3 accepted: $(cat "$WORK/resp")"
[ "$(post $CORR /api/v1/events "$WORK/fire.json" "${AUTH[@]}")" = 200 ] || fail "resend refused"
grep -q '"duplicates":3' "$WORK/resp" || fail "resend not deduplicated: $(cat "$WORK/resp")"
curl -s "http://127.0.0.1:$CORR/api/v1/incidents" "${AUTH[@]}" >"$WORK/incidents.json"
python3 - "$WORK/incidents.json" <<'PY'
import json, sys
incs = json.load(open(sys.argv[1]))
assert len(incs) == 1, incs
i = incs[0]
assert i["id"] == "a1" and i["state"] == "firing", i
assert i["root_causes"][0]["service"] == "postgres", i["root_causes"]
assert len(i["root_causes"]) == 1, "orders and checkout are explained by their dependencies"
assert i["blast_radius"]["services"] == 3 and i["blast_radius"]["nodes"] == 1, i
assert i["severity"] == "critical" and i["events"] == 3, i
PY
curl -sf "http://127.0.0.1:$CORR/api/v1/incidents/a1" "${AUTH[@]}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["event_list"]) == 3 and len(d["anomaly_list"]) == 3, d'
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CORR/api/v1/incidents/nope" "${AUTH[@]}")" = 404 ] || fail "unknown incident not 404"

# Notifications after group_wait: webhook (root), PagerDuty (critical, continue), Slack (team db).
wait_until 15 python3 -c "
import json, urllib.request, sys
c = json.load(urllib.request.urlopen('http://127.0.0.1:$CAP/captured'))
sys.exit(0 if {x['path'] for x in c} >= {'/pagerduty', '/slack'} else 1)" || fail "no notifications: $(curl -s http://127.0.0.1:$CAP/captured)"

# --- resolution ----------------------------------------------------------
[ "$(post $CORR /api/v1/events "$WORK/resolve.json" "${AUTH[@]}")" = 200 ] || fail "resolve refused"
wait_until 15 python3 -c "
import json, urllib.request, sys
c = json.load(urllib.request.urlopen('http://127.0.0.1:$CAP/captured'))
sys.exit(0 if sum(1 for x in c if x['path'] == '/pagerduty' and x['body'].get('event_action') == 'resolve') else 1)" ||
	fail "no PagerDuty resolve: $(curl -s http://127.0.0.1:$CAP/captured)"
sleep 2.5 # one more group_interval: nothing else may arrive
curl -s "http://127.0.0.1:$CAP/captured" >"$WORK/captured.json"
python3 - "$WORK/captured.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
by = {}
for x in c:
    by.setdefault(x["path"], []).append(x["body"])
pd = by["/pagerduty"]
assert [b["event_action"] for b in pd] == ["trigger", "resolve"], pd
assert pd[0]["routing_key"] == "s3cret" and pd[0]["dedup_key"] == pd[1]["dedup_key"], pd
# Alertmanager's default subject: group label values, then the other common ones.
assert pd[0]["payload"]["summary"] == "[FIRING:1] SeismoIncident a1 (eu-1 postgres critical db)", pd[0]
assert pd[0]["payload"]["severity"] == "error" and pd[0]["client"] == "seismo-correlator"
sl = by["/slack"]
assert len(sl) == 2 and sl[0]["channel"] == "#db", sl
assert sl[0]["attachments"][0]["color"] == "danger" and sl[1]["attachments"][0]["color"] == "good", sl
assert "postgres" in sl[0]["attachments"][0]["text"] or "postgres" in sl[0]["attachments"][0]["title"]
# The critical incident goes to pager then continues to the team route: no root webhook.
assert "/hook" not in by, by.get("/hook")
for b in pd:
    a = b["payload"]["custom_details"]["alerts"][0]
    assert a["labels"]["alertname"] == "SeismoIncident" and a["labels"]["service"] == "postgres", a
    assert a["labels"]["incident"] == "a1" and a["labels"]["team"] == "db", a
print("payloads ok:", {k: len(v) for k, v in by.items()})
PY

# --- a warning incident goes to the root webhook: Alertmanager v4 payload ---
python3 - "$WORK" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = (now - datetime.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
e = {"schema": "seismo.event/v1", "id": "b1f", "anomaly_id": "b1", "state": "firing",
     "severity": "warning", "service": "search", "labels": {"team": "web"},
     "metric": "error_ratio", "value": 0.2, "score": 6.0, "starts_at": t, "observed_at": t}
json.dump({"node": "node-2", "events": [e]}, open(sys.argv[1] + "/warn.json", "w"))
PY
[ "$(post $CORR /api/v1/events "$WORK/warn.json" "${AUTH[@]}")" = 200 ] || fail "warning batch refused"
wait_until 15 python3 -c "
import json, urllib.request, sys
c = json.load(urllib.request.urlopen('http://127.0.0.1:$CAP/captured'))
sys.exit(0 if any(x['path'] == '/hook' for x in c) else 1)" || fail "no webhook"
curl -s "http://127.0.0.1:$CAP/captured" | python3 -c '
import json, sys
hook = [x["body"] for x in json.load(sys.stdin) if x["path"] == "/hook"][0]
assert hook["version"] == "4" and hook["status"] == "firing" and hook["receiver"] == "hook", hook
assert hook["groupKey"] == "{}:{alertname=\"SeismoIncident\", incident=\"b1\"}", hook["groupKey"]
assert hook["groupLabels"] == {"alertname": "SeismoIncident", "incident": "b1"}, hook
assert hook["commonLabels"]["service"] == "search" and hook["truncatedAlerts"] == 0
a = hook["alerts"][0]
assert a["status"] == "firing" and a["endsAt"] == "0001-01-01T00:00:00Z" and len(a["fingerprint"]) == 16, a
for k in ("externalURL", "commonAnnotations"):
    assert k in hook, k
print("webhook v4 ok")'

# --- silences --------------------------------------------------------------
cat >"$WORK/silence.json" <<'JSON'
{"matchers":[{"name":"service","value":"search","isRegex":false,"isEqual":true}],
 "startsAt":"2020-01-01T00:00:00Z","endsAt":"2100-01-01T00:00:00Z","createdBy":"test","comment":"maintenance"}
JSON
[ "$(post $CORR /api/v1/silences "$WORK/silence.json" "${AUTH[@]}")" = 200 ] || fail "silence refused: $(cat "$WORK/resp")"
sid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/resp")
echo '{"matchers":[],"endsAt":"2100-01-01T00:00:00Z"}' >"$WORK/badsil.json"
[ "$(post $CORR /api/v1/silences "$WORK/badsil.json" "${AUTH[@]}")" = 400 ] || fail "bad silence accepted"
curl -s "http://127.0.0.1:$CORR/api/v2/alerts" "${AUTH[@]}" | python3 -c '
import json, sys
al = [a for a in json.load(sys.stdin) if a["labels"].get("service") == "search"]
assert al and al[0]["status"]["state"] == "suppressed" and al[0]["status"]["silencedBy"], al'

# --- metrics and a restart keep the state ----------------------------------
curl -s "http://127.0.0.1:$CORR/metrics" >"$WORK/metrics"
grep -q '^seismo_correlator_events_accepted_total 7$' "$WORK/metrics" || fail "events metric: $(grep events_accepted "$WORK/metrics")"
grep -q '^seismo_correlator_events_duplicate_total 3$' "$WORK/metrics" || fail "duplicates metric"
grep -q '^seismo_correlator_notifications_total{integration="pagerduty"} 2$' "$WORK/metrics" || fail "pagerduty metric: $(grep pagerduty "$WORK/metrics")"
grep -q '^seismo_correlator_auth_failures_total 2$' "$WORK/metrics" || fail "auth failures metric"
stop_pid "$CORR_PID"
start_correlator $CORR "$WORK/corr.db" -c "$WORK/config.yaml"
curl -s "http://127.0.0.1:$CORR/api/v1/incidents" "${AUTH[@]}" | python3 -c '
import json, sys
incs = {i["id"]: i for i in json.load(sys.stdin)}
assert set(incs) == {"a1", "b1"}, incs.keys()
assert incs["a1"]["state"] == "resolved" and incs["a1"]["root_causes"][0]["service"] == "postgres"'
curl -s "http://127.0.0.1:$CORR/api/v1/silences" "${AUTH[@]}" | grep -q "$sid" || fail "silence lost over restart"
echo "correlator receivers: ok"

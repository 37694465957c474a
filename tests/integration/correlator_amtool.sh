#!/bin/bash
# timeout: 120
# The real amtool (Alertmanager 0.25) drives the correlator's API v2 through
# every subcommand it has against a server: alert add/query (filters,
# silenced/inhibited flags, receivers), silence add/query/update/expire/import
# (filters, -o extended), config show and routes, cluster show, check-config
# on the config the correlator serves. A real Alertmanager gets the same
# alerts, and the two notifications of a truncated group (max_alerts) must
# carry the same alerts in the same order with the same commonLabels.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
command -v amtool >/dev/null || { echo "amtool is not installed"; exit 77; }
CORR=19150
AM=19151
CAP=19152
start_capture $CAP
write_config() { # PATH-PREFIX FILE
	cat >"$2" <<YAML
route:
  receiver: default
  group_by: [team]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: ['severity = critical']
      receiver: pager
inhibit_rules:
  - source_matchers: ['severity = critical']
    target_matchers: ['severity = warning']
    equal: [service]
receivers:
  - name: default
    webhook_configs:
      - url: http://127.0.0.1:$CAP/$1/default
        max_alerts: 2
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:$CAP/$1/pager
YAML
}
write_config corr "$WORK/corr.yaml"
write_config am "$WORK/am.yaml"
start_correlator $CORR "$WORK/corr.db" -c "$WORK/corr.yaml"
start_alertmanager $AM "$WORK/am.yaml"
at() { amtool --alertmanager.url="http://127.0.0.1:$1" "${@:2}"; }
c() { at $CORR "$@"; }

# alert add: no --start/--end, so amtool sends Go's zero time (unset).
for port in $CORR $AM; do
	at $port alert add DiskFull service=db team=storage severity=critical \
		--annotation=summary="disk full" || fail "alert add on $port"
	at $port alert add HighLatency service=api team=web severity=warning job=api instance=b:1 ||
		fail "alert add on $port"
	at $port alert add HighLatency service=api team=web severity=warning job=api instance=a:1 ||
		fail "alert add on $port"
	at $port alert add HighLatency service=web team=web severity=warning ||
		fail "alert add on $port"
	at $port alert add Errors service=db team=storage severity=warning || fail "alert add on $port"
	at $port alert add Old service=old team=web severity=warning \
		--start="$(date -u -d '-10 minutes' +%FT%TZ)" --end="$(date -u -d '-5 minutes' +%FT%TZ)" ||
		fail "alert add (resolved) on $port"
done

# Same alerts, same notifications: order, truncation and commonLabels as Alertmanager.
wait_until 15 sh -c "curl -s http://127.0.0.1:$CAP/captured | grep -q /am/default" || fail "alertmanager did not notify"
wait_until 15 sh -c "curl -s http://127.0.0.1:$CAP/captured | grep -q /corr/default" || fail "correlator did not notify"
curl -s "http://127.0.0.1:$CAP/captured" | python3 -c '
import json, sys
c = json.load(sys.stdin)
def first(path):
    b = [x["body"] for x in c if x["path"] == path][0]
    return ([a["labels"] for a in b["alerts"]], b["commonLabels"], b["truncatedAlerts"], b["status"])
am, corr = first("/am/default"), first("/corr/default")
assert am == corr, ("alertmanager", am, "correlator", corr)
print("first notification to default as Alertmanager:", corr)' || fail "payload differs from Alertmanager's"

# alert query: default hides inhibited and silenced; resolved ones never listed.
c alert query -o json >"$WORK/q1.json" || fail "alert query"
python3 - "$WORK/q1.json" <<'PY' || fail "alert query: $(cat "$WORK/q1.json")"
import json, sys
al = json.load(open(sys.argv[1]))
names = sorted((a["labels"]["alertname"], a["labels"]["service"]) for a in al)
# Errors/db is inhibited by DiskFull/db (equal service); Old is resolved.
assert names == [("DiskFull", "db"), ("HighLatency", "api"), ("HighLatency", "api"), ("HighLatency", "web")], names
for a in al:
    assert a["status"]["state"] == "active", a
    assert a["startsAt"] > "2000" and a["updatedAt"] > "2000", a
    want = "pager" if a["labels"]["severity"] == "critical" else "default"
    assert [r["name"] for r in a["receivers"]] == [want], a
fps = [a["fingerprint"] for a in al]
assert fps == sorted(fps), fps
print("alert query ok:", names)
PY
c alert query -i -o json | python3 -c '
import json, sys
al = json.load(sys.stdin)
inh = [a for a in al if a["labels"]["alertname"] == "Errors"]
assert len(inh) == 1 and inh[0]["status"]["state"] == "suppressed" and len(inh[0]["status"]["inhibitedBy"]) == 1, al' ||
	fail "alert query -i does not show the inhibited alert"
[ "$(c alert query service=api -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] ||
	fail "alert query service=api"
[ "$(c alert query 'alertname=~"High.*"' 'service!=api' -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
	fail "alert query with a regex and a negative matcher"
[ "$(c alert query --receiver=pager -o json | python3 -c 'import json,sys; print([a["labels"]["alertname"] for a in json.load(sys.stdin)])')" = "['DiskFull']" ] ||
	fail "alert query --receiver"
c alert query -o extended | grep -q 'disk full' || fail "alert query -o extended"
code=$(curl -s -o "$WORK/bad" -w '%{http_code}' "http://127.0.0.1:$CORR/api/v2/alerts?filter=service%3D~%22(%22")
[ "$code" = 400 ] && grep -q 'invalid regex' "$WORK/bad" || fail "a bad filter regex answered $code: $(cat "$WORK/bad")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CORR/api/v2/alerts?active=maybe")
[ "$code" = 400 ] || fail "active=maybe answered $code, not 400"

# silences: add, filter, extended output, update, expire, import.
sid=$(c silence add service=web -c "deploying web" -a tester -d 1h) || fail "silence add"
[ -n "$sid" ] || fail "silence add printed no id"
c alert query -o json | grep -q '"service":"web"' && fail "silenced alert still listed by default"
c alert query -s service=web -o json | python3 -c '
import json, sys
al = json.load(sys.stdin)
assert len(al) == 1 and al[0]["status"]["silencedBy"] == [sys.argv[1]], al' "$sid" ||
	fail "alert query -s does not show the silence"
[ "$(c silence query -q)" = "$sid" ] || fail "silence query -q: $(c silence query -q)"
[ "$(c silence query -q service=web)" = "$sid" ] || fail "silence query with a matching filter"
[ -z "$(c silence query -q service=api)" ] || fail "silence query filter service=api matched"
c silence query -o extended >"$WORK/ext.txt" 2>&1 || fail "silence query -o extended: $(cat "$WORK/ext.txt")"
grep -q 'deploying web' "$WORK/ext.txt" || fail "extended output lacks the comment: $(cat "$WORK/ext.txt")"
curl -sf "http://127.0.0.1:$CORR/api/v2/silence/$sid" | grep -q '"updatedAt"' || fail "GET /api/v2/silence/ID"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CORR/api/v2/silence/00000000-0000-4000-8000-000000000000")" = 404 ] ||
	fail "unknown silence not 404"
sleep 1.1 # updatedAt has millisecond resolution; make the change visible
c silence update "$sid" --comment="deploying web, take two" >/dev/null || fail "silence update"
c silence query -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert len(s) == 1 and s[0]["comment"] == "deploying web, take two", s
assert s[0]["updatedAt"] > s[0]["startsAt"], s' || fail "silence update not applied"
c silence query -o json >"$WORK/export.json"
c silence expire "$sid" || fail "silence expire"
[ -z "$(c silence query -q)" ] || fail "expired silence still listed"
[ "$(c silence query --expired -q)" = "$sid" ] || fail "silence query --expired"
c alert query -o json | grep -q '"service":"web"' || fail "alert still silenced after expiry"
c silence import "$WORK/export.json" || fail "silence import"
new=$(c silence query -q)
[ -n "$new" ] && [ "$new" != "$sid" ] || fail "import of an expired silence's export did not create a new one: '$new'"

# receivers, status: config show / routes, cluster show, check-config.
curl -sf "http://127.0.0.1:$CORR/api/v2/receivers" | python3 -c '
import json, sys
assert sorted(r["name"] for r in json.load(sys.stdin)) == ["default", "pager"]' || fail "receivers"
c config show >"$WORK/shown.yaml" || fail "config show"
grep -q 'receiver: pager' "$WORK/shown.yaml" || fail "config show: $(cat "$WORK/shown.yaml")"
c config routes show | grep -q pager || fail "config routes show"
c config routes test --verify.receivers=pager severity=critical >/dev/null || fail "config routes test"
c cluster show | grep -qi 'disabled' || fail "cluster show: $(c cluster show)"
sed -n '/^route:/,$p' "$WORK/shown.yaml" >"$WORK/served.yaml"
amtool check-config "$WORK/served.yaml" >/dev/null || fail "check-config of the served config"
curl -sf "http://127.0.0.1:$CORR/api/v2/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["versionInfo"]["version"] and s["uptime"] and s["cluster"]["status"] == "disabled", s' ||
	fail "status"

# alert groups, as Grafana's Alertmanager data source reads them (web is
# silenced again by the imported silence; the storage warning is inhibited).
curl -sf "http://127.0.0.1:$CORR/api/v2/alerts/groups?silenced=false&inhibited=false" | python3 -c '
import json, sys
g = json.load(sys.stdin)
got = [(x["labels"], x["receiver"]["name"], len(x["alerts"])) for x in g]
assert got == [({"team": "storage"}, "pager", 1), ({"team": "web"}, "default", 2)], got' ||
	fail "alerts/groups: $(curl -s "http://127.0.0.1:$CORR/api/v2/alerts/groups")"

echo "correlator amtool: ok"

#!/bin/bash
# timeout: 120
# Differential test against Debian's Alertmanager: the same alert stream,
# posted at the same moments to Alertmanager's and to the correlator's
# POST /api/v2/alerts, with the same routing config (only the capture URL
# differs), must produce the same notifications: the same groups (group key,
# group labels, receiver), the same alerts in each with the same status and
# fingerprints, the same inhibitions, at the same times within a tolerance.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
AM=19120
CORR=19121
CAP_AM=19122
CAP_CORR=19123
TOLERANCE=${CORR_DIFF_TOLERANCE:-1.0}

config() {
	cat <<YAML
global:
  resolve_timeout: 5m
route:
  receiver: team
  group_by: [alertname, cluster]
  group_wait: 2s
  group_interval: 3s
  repeat_interval: 1h
  routes:
    - matchers: [severity = critical]
      receiver: oncall
      group_wait: 1s
      continue: true
    - match_re: {service: '^(db|cache)$'}
      receiver: storage
      group_by: ['...']
inhibit_rules:
  - source_matchers: [alertname = ClusterUnreachable]
    target_matchers: ['severity =~ "warning|info"']
    equal: [cluster]
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:$1/team
  - name: oncall
    webhook_configs:
      - url: http://127.0.0.1:$1/oncall
  - name: storage
    webhook_configs:
      - url: http://127.0.0.1:$1/storage
        send_resolved: false
YAML
}
config $CAP_AM >"$WORK/am.yaml"
config $CAP_CORR >"$WORK/corr.yaml"
if command -v amtool >/dev/null; then
	amtool check-config "$WORK/am.yaml" >/dev/null || fail "alertmanager rejects the config"
fi
"$BUILD/seismo-correlator" --check-config -c "$WORK/corr.yaml" >/dev/null || fail "the correlator rejects the config"
start_capture $CAP_AM
start_capture $CAP_CORR
start_alertmanager $AM "$WORK/am.yaml"
start_correlator $CORR "$WORK/corr.db" -c "$WORK/corr.yaml"

# The stream: (second, labels, firing|resolved). Firing alerts carry an end an
# hour away, as Prometheus would keep refreshing them.
python3 - "$AM" "$CORR" "$WORK/t0" <<'PY'
import datetime, json, sys, threading, time, urllib.request
am, corr, t0file = sys.argv[1:4]
stream = [
    (0.0, {"alertname": "HighLatency", "service": "api", "cluster": "eu", "severity": "warning"}, "firing"),
    (0.0, {"alertname": "HighLatency", "service": "web", "cluster": "eu", "severity": "critical"}, "firing"),
    (0.5, {"alertname": "ClusterUnreachable", "cluster": "us", "severity": "critical"}, "firing"),
    (0.5, {"alertname": "PodDown", "cluster": "us", "severity": "warning", "service": "api"}, "firing"),
    (0.5, {"alertname": "PodDown", "cluster": "eu", "severity": "warning", "service": "api"}, "firing"),
    (1.0, {"alertname": "DiskFull", "service": "db", "cluster": "eu", "severity": "warning"}, "firing"),
    (4.0, {"alertname": "HighLatency", "service": "search", "cluster": "eu", "severity": "warning"}, "firing"),
    (5.5, {"alertname": "HighLatency", "service": "api", "cluster": "eu", "severity": "warning"}, "resolved"),
    (6.0, {"alertname": "DiskFull", "service": "db", "cluster": "eu", "severity": "warning"}, "resolved"),
    (8.0, {"alertname": "ClusterUnreachable", "cluster": "us", "severity": "critical"}, "resolved"),
]
fmt = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
started = {}
t0 = time.time() + 0.5
open(t0file, "w").write(repr(t0))
def post(port, body):
    req = urllib.request.Request("http://127.0.0.1:%s/api/v2/alerts" % port, data=body,
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
for at, labels, state in stream:
    time.sleep(max(0, t0 + at - time.time()))
    key = json.dumps(labels, sort_keys=True)
    now = time.time()
    starts = started.setdefault(key, now)
    ends = now + 3600 if state == "firing" else now
    body = json.dumps([{"labels": labels, "annotations": {"summary": labels["alertname"]},
                        "startsAt": fmt(starts), "endsAt": fmt(ends)}]).encode()
    # Both at once, so neither sees the alert noticeably earlier.
    th = [threading.Thread(target=post, args=(p, body)) for p in (am, corr)]
    [t.start() for t in th]
    [t.join() for t in th]
PY
sleep 10 # let both flush everything: the last event is at 8 s, group_interval 3 s

curl -s "http://127.0.0.1:$CAP_AM/captured" >"$WORK/am.json"
curl -s "http://127.0.0.1:$CAP_CORR/captured" >"$WORK/corr.json"
python3 - "$WORK/am.json" "$WORK/corr.json" "$(cat "$WORK/t0")" "$TOLERANCE" <<'PY'
import json, sys
am, corr = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
t0, tol = float(sys.argv[3]), float(sys.argv[4])

def notes(captured):
    out = []
    for c in captured:
        b = c["body"]
        alerts = sorted((a["fingerprint"], a["status"]) for a in b["alerts"])
        out.append({"at": c["time"] - t0, "path": c["path"], "receiver": b["receiver"],
                    "groupKey": b["groupKey"], "status": b["status"],
                    "groupLabels": b["groupLabels"], "alerts": alerts})
    return sorted(out, key=lambda n: (n["groupKey"], n["receiver"], n["at"]))

a, c = notes(am), notes(corr)
def show(ns):
    return "\n".join("  %5.2fs %-8s %-70s %s %s" % (n["at"], n["receiver"], n["groupKey"], n["status"],
                     [(f[:6], s) for f, s in n["alerts"]]) for n in ns)
print("alertmanager:\n" + show(a))
print("correlator:\n" + show(c))
problems = []
if len(a) != len(c):
    problems.append("%d notifications from alertmanager, %d from the correlator" % (len(a), len(c)))
worst = 0.0
for x, y in zip(a, c):
    for k in ("receiver", "groupKey", "status", "groupLabels", "alerts"):
        if x[k] != y[k]:
            problems.append("%s differs: %r vs %r" % (k, x[k], y[k]))
    worst = max(worst, abs(x["at"] - y["at"]))
    if abs(x["at"] - y["at"]) > tol:
        problems.append("%s at %.2fs vs %.2fs" % (x["groupKey"], x["at"], y["at"]))
# The inhibited alert (PodDown in us) must be in no notification of either.
for ns, who in ((a, "alertmanager"), (c, "correlator")):
    if any(n["groupLabels"] == {"alertname": "PodDown", "cluster": "us"} and
           any(s == "firing" for _, s in n["alerts"]) and n["at"] < 8 for n in ns):
        problems.append("%s notified the inhibited PodDown/us while ClusterUnreachable fired" % who)
if problems:
    print("DIFFERENCES:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("identical: %d notifications, largest timing difference %.3f s (tolerance %.1f s)" % (len(a), worst, tol))
PY
echo "correlator vs alertmanager: ok"

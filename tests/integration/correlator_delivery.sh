#!/bin/bash
# timeout: 150
# Delivery under a bad receiver, end to end with the real binary:
# 1. Head-of-line: a receiver that hangs holds only its own senders
#    (notify_concurrency of them); a critical page to another receiver goes
#    out after its group_wait while the hanging receiver still holds its
#    requests.
# 2. Crash during delivery: 10 incidents, a receiver taking 1.5 s each, one
#    sender; the correlator is killed (SIGKILL) mid-way and restarted on its
#    store. Every page arrives; a page arrives twice only when its first copy
#    was still in flight (unanswered) at the kill, and none is left pending.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
CORR=19160
CAP=19161
start_capture $CAP

captured() {
	curl -sf "http://127.0.0.1:$CAP/captured"
}

# --- 1. one receiver hangs, another is paged -------------------------------
cat >"$WORK/hol.yaml" <<YAML
seismo:
  notify_timeout: 60s
  notify_attempts: 1
  notify_concurrency: 2
route:
  receiver: slowhook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1m
  routes:
    - matchers: [severity = critical]
      receiver: pager
receivers:
  - name: slowhook
    webhook_configs:
      - url: http://127.0.0.1:$CAP/hang
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:$CAP/page
YAML
start_correlator $CORR "$WORK/hol.db" -c "$WORK/hol.yaml"
alerts() { # alerts SEVERITY NAME...
	local sev=$1
	shift
	python3 -c '
import json, sys
print(json.dumps([{"labels": {"alertname": n, "severity": sys.argv[1]}} for n in sys.argv[2:]]))' \
		"$sev" "$@" >"$WORK/alerts.json"
	[ "$(post $CORR /api/v2/alerts "$WORK/alerts.json")" = 200 ] || fail "alerts refused: $(cat "$WORK/resp")"
}
alerts warning Noise1 Noise2 Noise3 Noise4
hanging() {
	captured | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if sum(1 for r in c if r["path"] == "/hang" and r["done"] is None) >= int(sys.argv[1]) else 1)' "$1"
}
wait_until 15 hanging 2 || fail "the hanging receiver never got its requests"
alerts critical DatabaseDown
wait_until 15 sh -c "curl -sf http://127.0.0.1:$CAP/captured | grep -q '\"/page\"'" ||
	fail "the critical page never arrived while another receiver hung"
captured >"$WORK/hol.json"
python3 - "$WORK/hol.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
page = [r for r in c if r["path"] == "/page"]
hang = [r for r in c if r["path"] == "/hang"]
assert len(page) == 1, page
assert page[0]["body"]["commonLabels"]["alertname"] == "DatabaseDown", page[0]["body"]
# Causality, not a clock: the page was answered while the hanging receiver
# still held every request it had got, and it never got more than its pool.
held = [r for r in hang if r["done"] is None]
assert len(held) == 2 and len(hang) == 2, hang
assert page[0]["done"] is not None
print("page delivered %.2f s after the hanging receiver's first request; %d requests held"
      % (page[0]["time"] - min(r["time"] for r in hang), len(held)))
PY
curl -sf "http://127.0.0.1:$CAP/release" >/dev/null
wait_until 15 sh -c "[ \$(curl -sf http://127.0.0.1:$CAP/captured | grep -o '\"/hang\"' | wc -l) -ge 4 ]" ||
	fail "the queued notifications of the slow receiver were not sent after it recovered"
stop_pid "$CORR_PID"

# --- 2. SIGKILL during delivery, then a restart ------------------------------
cat >"$WORK/crash.yaml" <<YAML
seismo:
  notify_concurrency: 1
  notify_timeout: 10s
route:
  receiver: slow
  group_by: [incident]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: slow
    webhook_configs:
      - url: http://127.0.0.1:$CAP/slow
YAML
python3 - "$WORK" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = lambda s: (now + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
evs = [{"schema": "seismo.event/v1", "id": "c%02d" % i, "anomaly_id": "a%02d" % i,
        "state": "firing", "severity": "critical", "service": "svc%02d" % i,
        "labels": {}, "metric": "latency_p99", "value": 0.5, "score": 9.0,
        "threshold": 4.0, "starts_at": t(-10), "observed_at": t(-5)} for i in range(10)]
json.dump({"node": "node-1", "events": evs}, open(sys.argv[1] + "/ten.json", "w"))
PY
start_correlator $CORR "$WORK/crash.db" -c "$WORK/crash.yaml"
[ "$(post $CORR /api/v1/events "$WORK/ten.json")" = 200 ] || fail "events refused: $(cat "$WORK/resp")"
slow_done() {
	captured | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if sum(1 for r in c if r["path"] == "/slow" and r["done"]) >= int(sys.argv[1]) else 1)' "$1"
}
wait_until 20 slow_done 3 || fail "the slow receiver got nothing"
kill -KILL "$CORR_PID"
wait "$CORR_PID" 2>/dev/null || true
killed_at=$(date +%s.%N)
start_correlator $CORR "$WORK/crash.db" -c "$WORK/crash.yaml"
slow_pages() {
	captured | python3 -c '
import json, sys
c = json.load(sys.stdin)
got = {r["body"]["groupLabels"]["incident"] for r in c if r["path"] == "/slow" and r["done"]}
sys.exit(0 if len(got) >= 10 else 1)'
}
wait_until 40 slow_pages || fail "not every page arrived after the restart: $(captured | grep -o '"incident": "a[0-9]*"' | sort | uniq -c | tr '\n' ' ')"
sleep 2 # anything sent twice would show up now
captured >"$WORK/crash.json"
python3 - "$WORK/crash.json" "$killed_at" "$WORK/crash.db" <<'PY'
import collections, json, sqlite3, sys
c = [r for r in json.load(open(sys.argv[1])) if r["path"] == "/slow"]
killed = float(sys.argv[2])
by = collections.defaultdict(list)
for r in c:
    by[r["body"]["groupLabels"]["incident"]].append(r)
assert sorted(by) == ["a%02d" % i for i in range(10)], sorted(by)
for inc, rs in by.items():
    rs.sort(key=lambda r: r["time"])
    assert all(r["body"]["status"] == "firing" for r in rs), inc
    # A second copy only for a page that was unanswered when the correlator died.
    assert len(rs) == 1 or (len(rs) == 2 and (rs[0]["done"] is None or rs[0]["done"] >= killed - 0.05)), \
        (inc, [(r["time"], r["done"]) for r in rs])
before = sum(1 for rs in by.values() if rs[0]["done"] and rs[0]["done"] < killed)
twice = sum(1 for rs in by.values() if len(rs) == 2)
left = sqlite3.connect(sys.argv[3]).execute("SELECT COUNT(*) FROM pending").fetchone()[0]
assert left == 0, "%d notifications still pending" % left
print("10 pages: %d delivered before the kill, %d after the restart, %d in flight at the kill sent again"
      % (before, 10 - before, twice))
PY
echo "PASS"

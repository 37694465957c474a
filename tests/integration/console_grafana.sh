#!/bin/bash
# timeout: 180
# Every query of every panel of deploy/grafana/dashboards/seismo.json,
# evaluated by a real Prometheus that scrapes a real `seismo agent`
# (bpf_stats on, a test service with 10% 500s and a client: loadgen) and a
# real seismo-correlator the agent ships to, returns data.
# The z-score panels need the seed's recording rules over 7 days of
# history: the history before the test is backfilled (promtool tsdb
# create-blocks-from openmetrics) for the live series' exact label set
# with a latency that varies by hour; the seed's rules load with their
# expressions unchanged, only their group interval shortened from 1m to 2s
# so they evaluate while the test runs. Also checks the provisioning files.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_build
need_cmd prometheus promtool curl python3
[ -x "$BUILD/seismo-correlator" ] || fail "$BUILD/seismo-correlator missing"
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"
EXAMPLES=
for d in "${SEISMO_EXAMPLES:-}" "$SEISMO_ROOT/../shared/examples" "$SEISMO_ROOT/examples"; do
	[ -n "$d" ] && [ -f "$d/prometheus-anomaly-rules.yaml" ] && { EXAMPLES=$(cd "$d" && pwd); break; }
done
[ -n "$EXAMPLES" ] || skip "the seed's examples (prometheus-anomaly-rules.yaml) are not here; set SEISMO_EXAMPLES"
DASH=$SEISMO_ROOT/deploy/grafana/dashboards/seismo.json

P_CORR=19561 P_AGENT=19562 P_SVC=19563 P_PROM=19564
need_free_port $P_CORR $P_AGENT $P_SVC $P_PROM
SLICE=seismo-grafana-test.slice SVC=grafana-svc
echo -n "grafana-token" >"$T/token"

# --- the provisioning files and the dashboard's shape ---------------------------
python3 - "$SEISMO_ROOT/deploy/grafana" <<'EOF' || fail "provisioning or dashboard files are wrong"
import json, os, re, sys
root = sys.argv[1]
d = json.load(open(f"{root}/dashboards/seismo.json"))
assert d["uid"] == "seismo-overview" and d["schemaVersion"] >= 36, "uid/schemaVersion"
names = {v["name"] for v in d["templating"]["list"]}
panels = [p for p in d["panels"] if p["type"] != "row"]
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids repeat"
for p in panels:
    assert p["targets"], p["title"]
    for t in p["targets"]:
        for v in re.findall(r"\$\{?(\w+)", t["expr"]):
            assert v in names or v.startswith("__"), f'{p["title"]}: ${v} is no variable'
    g = p["gridPos"]
    assert g["x"] + g["w"] <= 24, p["title"]
prov = open(f"{root}/provisioning/dashboards/seismo.yaml").read()
assert "type: file" in prov and "path:" in prov
print(f"dashboard: {len(panels)} panels, variables {sorted(names)}")
EOF

# --- correlator, agent, service, load ----------------------------------------------
cat >"$T/correlator.yaml" <<YAML
seismo:
  token_file: $T/token
route:
  receiver: nobody
receivers:
  - name: nobody
YAML
# The remediation panels need runbook support (docs/runbooks.md): with it,
# one runbook (that never matches) makes its metrics appear; without it,
# those panels are expected empty and said so.
cp "$T/correlator.yaml" "$T/runbooks.yaml"
cat >>"$T/runbooks.yaml" <<YAML
runbooks:
  - name: never
    matchers: ['root_cause = no-such-service']
    mode: suggest
    actions:
      - exec: {command: [/bin/true]}
YAML
RUNBOOKS=0
if "$BUILD/seismo-correlator" -c "$T/runbooks.yaml" --check-config >"$T/check.log" 2>&1; then
	RUNBOOKS=1
	cp "$T/runbooks.yaml" "$T/correlator.yaml"
fi
start_bg "$T/correlator.log" "$BUILD/seismo-correlator" -c "$T/correlator.yaml" \
	-l 127.0.0.1:$P_CORR -d "$T/corr.db"
wait_until 10 http_ok "http://127.0.0.1:$P_CORR/healthz" || fail "correlator did not start"
[ $RUNBOOKS = 1 ] || ! curl -sf "http://127.0.0.1:$P_CORR/metrics" | grep -q '^seismo_correlator_action' ||
	fail "this correlator has runbook metrics but refused the test's runbook: $(cat "$T/check.log")"
cat >"$T/agent.yaml" <<YAML
interval: 1s
state_dir: $T/state
node: grafana-node
bpf_stats: true
correlator:
  url: http://127.0.0.1:$P_CORR
  token_file: $T/token
  spool_dir: $T/spool
YAML
start_in_cgroup "$SLICE/$SVC.service" "$T/svc.log" "$TESTSERVER" --listen 127.0.0.1:$P_SVC
wait_port $P_SVC
start_agent $P_AGENT --config "$T/agent.yaml"
"$LOADGEN" --target 127.0.0.1:$P_SVC --connections 2 --duration 75s \
	--latency lognormal:5ms:0.3 --status 200:9,500:1 --quiet &
load=$!
on_exit "stop_pid $load"
agent_flush $P_AGENT
scrape $P_AGENT "$T/first.metrics"

# --- 7 days of history for the live series, then Prometheus -------------------------
python3 - "$T/first.metrics" "$SVC" "127.0.0.1:$P_AGENT" "$T/history.om" <<'EOF' || fail "building the history failed"
import math, re, sys, time
metrics, svc, instance, out = sys.argv[1:5]
labels = None
for line in open(metrics):
    m = re.match(r'http_request_duration_seconds_count\{(.*)\} \S+$', line)
    if m and f'service="{svc}"' in m.group(1) and 'status="200"' in m.group(1):
        labels = m.group(1)
assert labels, f"no status 200 series of {svc} in the agent's metrics"
labels += f',job="seismo",instance="{instance}"'
end = int(time.time()) // 60 * 60 - 15 * 60
start = end - 7 * 86400 - 1800
count = total = 0.0
lines_c, lines_s = [], []
for t in range(start, end + 1, 60):
    hour = t // 3600
    mean = 0.005 * (1 + 0.3 * math.sin(hour * 0.7))  # latency that varies by hour
    count += 600
    total += 600 * mean
    lines_c.append(f"http_request_duration_seconds_count{{{labels}}} {count} {t}")
    lines_s.append(f"http_request_duration_seconds_sum{{{labels}}} {total:.6f} {t}")
with open(out, "w") as f:
    f.write("\n".join(lines_c + lines_s) + "\n# EOF\n")
print(f"history: {len(lines_c)} samples per series, labels {{{labels}}}")
EOF
promtool tsdb create-blocks-from openmetrics "$T/history.om" "$T/tsdb" >"$T/backfill.log" 2>&1 ||
	fail "promtool backfill: $(tail -5 "$T/backfill.log")"
sed 's/^    interval: 1m$/    interval: 2s/' "$EXAMPLES/prometheus-anomaly-rules.yaml" >"$T/rules.yaml"
[ "$(diff "$EXAMPLES/prometheus-anomaly-rules.yaml" "$T/rules.yaml" | grep -c '^[<>]')" = 2 ] ||
	fail "the seed's rules file changed shape: expected one 'interval: 1m' line"
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $T/rules.yaml
scrape_configs:
  - job_name: seismo
    static_configs:
      - targets: ["127.0.0.1:$P_AGENT"]
  - job_name: seismo-correlator
    static_configs:
      - targets: ["127.0.0.1:$P_CORR"]
EOF
start_bg "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/tsdb" --web.listen-address=127.0.0.1:$P_PROM
PROM=http://127.0.0.1:$P_PROM
wait_until 60 http_ok "$PROM/-/ready" || fail "prometheus did not become ready"

# --- every panel's query returns data --------------------------------------------------
panels() {
	python3 - "$DASH" "$PROM" "$RUNBOOKS" <<'EOF'
import json, math, sys, urllib.parse, urllib.request
dash, prom, runbooks = sys.argv[1:4]
subst = {"$__rate_interval": "30s", "$service": ".*", "$instance": ".*", "$correlator_job": ".*"}
bad = 0
for p in json.load(open(dash))["panels"]:
    for t in p.get("targets", []):
        q = t["expr"]
        for k, v in subst.items():
            q = q.replace(k, v)
        url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            r = json.load(urllib.request.urlopen(url, timeout=10))
        except Exception as e:
            print(f"ERROR {p['title']} [{t['refId']}]: {e}: {q}")
            bad += 1
            continue
        if runbooks != "1" and "seismo_correlator_action" in q:
            print(f"n/a   {p['title']} [{t['refId']}]: this correlator has no runbooks (issue 10)")
            continue
        vals = [float(s["value"][1]) for s in r["data"]["result"]]
        finite = [v for v in vals if math.isfinite(v)]
        state = "ok" if finite else "EMPTY"
        bad += not finite
        print(f"{state:5} {p['title']} [{t['refId']}]: {len(finite)} series, e.g. {finite[:3]}")
sys.exit(1 if bad else 0)
EOF
}
sleep 10
for i in $(seq 12); do
	panels >"$T/panels.txt" && break
	sleep 3
done
cat "$T/panels.txt"
grep -q '^ERROR\|^EMPTY' "$T/panels.txt" && fail "some panel queries return no data (above)"
echo "PASS: $(grep -c '^ok' "$T/panels.txt") panel queries return data from a real Prometheus scraping a real agent and correlator"

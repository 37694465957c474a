#!/bin/bash
# timeout: 240
# A real Prometheus (Debian's package) scrapes the agent every second with
# the seed's anomaly rules loaded unchanged. Checks, through its HTTP API:
#   1. every rule of the seed's file loads and evaluates without error;
#   2. the seed's mean-latency expression, rate(_sum[5m]) / rate(_count[5m]),
#      gives the right value for a service whose requests all asked for 3 ms;
#   3. the KEDA error-rate query (keda-scaledobject.yaml, unchanged) returns
#      the 10% error ratio of app="order-processor", whose labels come from a
#      services rule of the agent's config; the same query for a service with
#      2% errors returns nothing (the query's "> 0.05").
# Then, because [7d:1h] subqueries need hour-aligned history no test can wait
# for, `promtool test rules` runs the seed's z-score chain over 7 days of
# series built from the agent's real scraped counters (docs/testing.md).
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd prometheus promtool curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (make deps installs it)"

EXAMPLES=
for d in "${SEISMO_EXAMPLES:-}" "$SEISMO_ROOT/../shared/examples" "$SEISMO_ROOT/examples"; do
	[ -n "$d" ] && [ -f "$d/prometheus-anomaly-rules.yaml" ] && { EXAMPLES=$(cd "$d" && pwd); break; }
done
[ -n "$EXAMPLES" ] || skip "the seed's examples (prometheus-anomaly-rules.yaml) are not here; set SEISMO_EXAMPLES"
RULES=$EXAMPLES/prometheus-anomaly-rules.yaml
KEDA=$EXAMPLES/keda-scaledobject.yaml

AGENT_PORT=19430 ORDER_PORT=19431 PROM_PORT=19432 BILLING_PORT=19433
need_free_port $AGENT_PORT $ORDER_PORT $PROM_PORT $BILLING_PORT
SLICE=seismo-test-prom.slice

cat >"$T/agent.yaml" <<EOF
state_dir: $T/state
interval: 1s
services:
  - name: order-processor
    match: { cgroup: "*/$SLICE/order-processor.service" }
    labels: { app: order-processor, team: orders }
  - name: billing
    match: { cgroup: "*/$SLICE/billing.service" }
    labels: { app: billing, team: payments }
EOF
start_agent $AGENT_PORT --config "$T/agent.yaml"
start_in_cgroup "$SLICE/order-processor.service" "$T/order.log" \
	"$TESTSERVER" --listen 127.0.0.1:$ORDER_PORT
start_in_cgroup "$SLICE/billing.service" "$T/billing.log" \
	"$TESTSERVER" --listen 127.0.0.1:$BILLING_PORT
wait_port $ORDER_PORT
wait_port $BILLING_PORT

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: seismo
    static_configs:
      - targets: ["127.0.0.1:$AGENT_PORT"]
EOF
promtool check config "$T/prometheus.yml" >"$T/promtool-check.log" 2>&1 ||
	fail "promtool check config: $(cat "$T/promtool-check.log")"
start_bg "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/tsdb" --web.listen-address=127.0.0.1:$PROM_PORT
PROM=http://127.0.0.1:$PROM_PORT
wait_until 60 http_ok "$PROM/-/ready" || fail "prometheus did not become ready"

# promql EXPR [TIME]: the instant query's JSON result into stdout.
promql() {
	local args=(--data-urlencode "query=$1")
	[ $# -gt 1 ] && args+=(--data-urlencode "time=$2")
	curl -sf --max-time 10 "$PROM/api/v1/query" "${args[@]}" || fail "query failed: $1"
}
scraped_up() { promql 'up{job="seismo"}' | grep -q '"value":\[[0-9.]*,"1"\]'; }
wait_until 30 scraped_up || fail "prometheus does not scrape the agent"

# --- load: phase A (3 ms, 10% errors), phase B (10 ms: the anomaly) ------------------
lg() { "$LOADGEN" "$@" || fail "seismo-loadgen $* failed"; }
lg --target 127.0.0.1:$BILLING_PORT --connections 1 --duration 8s --latency const:1ms \
	--status 200:49,500:1 -q &
BILLING_LG=$!
on_exit "stop_pid $BILLING_LG"
lg --target 127.0.0.1:$ORDER_PORT --connections 2 --duration 7s --latency const:3ms \
	--status 200:9,500:1 --json "$T/phaseA.json" &
A_LG=$!
on_exit "stop_pid $A_LG"
# Five scrapes of the agent during phase A: the real counters the
# promtool history is built from.
sleep 1.5
for i in 0 1 2 3 4; do
	scrape $AGENT_PORT "$T/a$i.txt"
	sleep 1.3
done
wait $A_LG || fail "phase A load failed"
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/b0.txt"
t_a=$(date +%s.%N)
lg --target 127.0.0.1:$ORDER_PORT --connections 2 --duration 3s --latency const:10ms \
	--status 200:9,500:1 -q
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/b1.txt"
wait $BILLING_LG || fail "billing load failed"
sleep 2 # two more Prometheus scrapes

# --- 2. the seed's mean-latency expression at the end of phase A ------------------------
MEAN='rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])'
promql "$MEAN" "$t_a" >"$T/mean.json"
mean=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["data"]["result"]
v = [s["value"][1] for s in r if s["metric"].get("service") == "order-processor" and s["metric"].get("status") == "200"]
print(v[0] if len(v) == 1 else "missing")' "$T/mean.json")
[ "$mean" != missing ] || fail "no mean latency for order-processor: $(cat "$T/mean.json")"
assert_between "mean latency of 3 ms requests from rate(_sum)/rate(_count)" 0.003 "$mean" \
	"$(json_get "$T/phaseA.json" client max)"
# The same ratio from the raw samples Prometheus stored. Not exact: rate()
# limits its extrapolation towards zero per series (first value / increase),
# differently for _sum and _count when a series starts inside the window.
promql 'http_request_duration_seconds_sum{service="order-processor",status="200"}[5m]' "$t_a" >"$T/raw_sum.json"
promql 'http_request_duration_seconds_count{service="order-processor",status="200"}[5m]' "$t_a" >"$T/raw_count.json"
raw=$(python3 -c 'import json,sys
def delta(f):
    v = json.load(open(f))["data"]["result"][0]["values"]
    return float(v[-1][1]) - float(v[0][1])
print(delta(sys.argv[1]) / delta(sys.argv[2]))' "$T/raw_sum.json" "$T/raw_count.json")
assert_between "rate ratio within 1% of the stored samples' ratio" \
	"$(awk -v r="$raw" 'BEGIN { print r * 0.99 }')" "$mean" "$(awk -v r="$raw" 'BEGIN { print r * 1.01 }')"

# --- 3. KEDA's error-rate query, unchanged ------------------------------------------------
KEDA_Q=$(python3 -c 'import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print([t["metadata"]["query"] for t in doc["spec"]["triggers"] if t["metadata"]["metricName"] == "error_rate_high"][0])' "$KEDA")
echo "KEDA query: $KEDA_Q"
promql "$KEDA_Q" >"$T/keda.json"
ratio=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "results=%d" % len(r))' "$T/keda.json")
assert_between "KEDA error ratio of order-processor (10% asked)" 0.09 "$ratio" 0.11
promql "${KEDA_Q//order-processor/billing}" >"$T/keda_billing.json"
assert_eq "KEDA query for billing (2% errors, under the 5% threshold): results" 0 \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]["result"]))' "$T/keda_billing.json")"

# --- 1. every rule of the seed's file evaluated without error -----------------------------
# The 1m group first runs up to a minute after Prometheus starts.
rules_state() {
	curl -sf --max-time 5 "$PROM/api/v1/rules" -o "$T/rules.json" || return 1
	python3 - "$T/rules.json" <<'EOF'
import json, sys
groups = json.load(open(sys.argv[1]))["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] == "err" or r.get("lastError")]
if bad:
    print("ERR", bad)
elif len(rules) == 4 and all(r["health"] == "ok" for r in rules):
    print("OK", [r["name"] for r in rules])
else:
    print("WAIT", [(r["name"], r["health"]) for r in rules])
EOF
}
rules_done() { rules_state | grep -Eq '^(OK|ERR)'; }
wait_until 90 rules_done || fail "the seed's rules were not all evaluated: $(rules_state)"
state=$(rules_state)
echo "rules: $state"
[[ $state == OK* ]] || fail "a seed rule failed: $state"

# --- 4. the z-score chain over 7 days, with promtool ---------------------------------------
python3 - "$T" "$RULES" <<'EOF' || fail "building the promtool test failed"
import math, re, sys
tdir, rules = sys.argv[1], sys.argv[2]
SEL = 'service="order-processor"'

def counters(path):
    """The order-processor status 200 _sum and _count samples of one scrape."""
    out, labels = {}, None
    for line in open(path):
        m = re.match(r'http_request_duration_seconds_(sum|count)\{(.*)\} (\S+)$', line)
        if m and SEL in m.group(2) and 'status="200"' in m.group(2):
            out[m.group(1)] = float(m.group(3))
            labels = m.group(2)
    return out, labels

scrapes = [counters(f"{tdir}/{n}.txt") for n in ("a0", "a1", "a2", "a3", "a4", "b0", "b1")]
labels = scrapes[0][1]
# Per-scrape deltas: (count, sum) increments of the real counters.
normal = [(b[0]["count"] - a[0]["count"], b[0]["sum"] - a[0]["sum"])
          for a, b in zip(scrapes[:4], scrapes[1:5])]
normal = [d for d in normal if d[0] > 0]
anomaly = (scrapes[6][0]["count"] - scrapes[5][0]["count"], scrapes[6][0]["sum"] - scrapes[5][0]["sum"])
assert len(normal) >= 3 and anomaly[0] > 0, (normal, anomaly)

# History at 1m resolution from minute 0 to 7d+30m. The slope changes at
# minute 20 of every hour, so each hour's [5m] window sees one slope:
# rate(x[5m]) at hour h is exactly that slope. Hour-segments cycle through
# the real deltas; the segment from 7d+20m on is the real anomaly.
MIN, DAY = 60, 1440
end = 7 * DAY + 30
def segment(minute):  # the increment per minute for minute -> minute+1
    k = (minute - 20) // 60
    if minute >= 7 * DAY + 20:
        return anomaly
    return normal[k % len(normal)]
count, total = [scrapes[0][0]["count"]], [scrapes[0][0]["sum"]]
for m in range(end):
    c, s = segment(m)
    count.append(count[-1] + c)
    total.append(total[-1] + s)

def rates_at(t):  # rate over [5m] at minute t, per second
    c, s = segment(t - 1)
    return c / MIN, s / MIN

def expected(t):
    """The seed's three recording rules at minute t, computed independently."""
    hours = [h for h in range(60, t + 1, 60) if h >= t - 7 * DAY]
    rs = [rates_at(h) for h in hours]
    avg = (sum(s for c, s in rs) / len(rs)) / (sum(c for c, s in rs) / len(rs))
    ratios = [s / c for c, s in rs]
    mean = sum(ratios) / len(ratios)
    std = math.sqrt(sum((x - mean) ** 2 for x in ratios) / len(ratios))
    c, s = rates_at(t)
    return avg, std, (s / c - avg) / std

def fmt(vals):
    return " ".join(repr(round(v, 9)) for v in vals)

lines = [f"rule_files:\n  - {rules}\nevaluation_interval: 30m\ntests:\n  - interval: 1m\n    input_series:"]
for name, vals in (("count", count), ("sum", total)):
    lines.append(f"      - series: 'http_request_duration_seconds_{name}{{{labels},job=\"seismo\"}}'")
    lines.append(f"        values: '{fmt(vals)}'")
lines.append("    promql_expr_test:")
for t, label in ((6 * DAY + 30, "baseline"), (7 * DAY + 30, "anomaly")):
    avg, std, z = expected(t)
    print(f"{label}: t={t}m avg_7d={avg:.9f} stddev_7d={std:.9f} zscore={z:.4f}")
    checks = [("http_request_duration_avg_7d", avg), ("http_request_duration_stddev_7d", std),
              ("http_request_duration_zscore", z)]
    for metric, want in checks:
        tol = abs(want) * 1e-6 + 1e-12
        lines.append(f"      - expr: 'abs({metric}{{{SEL}}} - {want!r}) < bool {tol!r}'")
        lines.append(f"        eval_time: {t}m")
        lines.append(f"        exp_samples:\n          - labels: '{{{labels},job=\"seismo\"}}'\n            value: 1")
    if label == "anomaly":
        assert z > 3, z
        lines.append(f"      - expr: 'abs(http_request_duration_zscore{{{SEL}}}) > bool 3'")
        lines.append(f"        eval_time: {t}m")
        lines.append(f"        exp_samples:\n          - labels: '{{{labels},job=\"seismo\"}}'\n            value: 1")
open(f"{tdir}/zscore_test.yaml", "w").write("\n".join(lines) + "\n")
EOF
promtool test rules "$T/zscore_test.yaml" >"$T/promtool.log" 2>&1 ||
	fail "promtool test rules: $(head -c 3000 "$T/promtool.log")"
cat "$T/promtool.log"
echo "PASS: seed rules load and evaluate, mean latency and KEDA error rate right, z-score chain proven with promtool"

#!/bin/bash
# Noise benchmark for seismo-correlator: a generated call graph of N services
# on many nodes, faults injected at random services and propagated to their
# callers, every agent event replayed through the real HTTP API; the true
# root causes are known. Prints raw events -> incidents -> root-cause
# candidates, AC@1/AC@3 of the top-ranked root cause, and ingest throughput
# (the correlator pinned to one core) with p99 latency per batch.
#   bench: correlator_noise  events=... incidents=... candidates=... reduction=... ac1=... ac3=...
#   bench: correlator_ingest events_per_s=... p50_ms=... p99_ms=... batch=...
# Then ingest against history: one correlator takes a 1M-event stream of the
# same kind (200 services, 500-event gzip batches); events/s is measured over
# the 20,000 events that follow 10k, 100k and 1M events already ingested,
# with the correlator's RSS there:
#   bench: correlator_history history=... events_per_s=... p99_ms=... rss_mib=...
# CORR_BENCH_HISTORY="10000 100000" shortens it; CORR_BENCH_HISTORY= skips it,
# CORR_BENCH_SEEDS= skips the accuracy part.
# Every stream ends now (--end-now): with a fixed date its events would age
# past the 14-day retention as the calendar moves, and the correlator would
# rightly forget them mid-run.
set -eu
: "${SEISMO_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=$SEISMO_ROOT/build}"
PORT=${CORR_BENCH_PORT:-19170}
SERVICES=${CORR_BENCH_SERVICES:-200}
NODES=${CORR_BENCH_NODES:-40}
FAULTS=${CORR_BENCH_FAULTS:-100}
SEEDS=${CORR_BENCH_SEEDS-"1 2 3"}
rel=${BUILD#"$SEISMO_ROOT"/}
make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/seismo-correlator" "$rel/seismo-ship" >/dev/null

work=$(mktemp -d /tmp/seismo-corr-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

start_correlator() {
	rm -f "$work"/corr.db*
	# One core for the correlator, the other for the load generator.
	taskset -c 0 "$BUILD/seismo-correlator" -l "127.0.0.1:$PORT" -d "$work/corr.db" \
		-v error &
	pid=$!
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "correlator did not start" >&2
	return 1
}

stop_correlator() {
	kill "$pid" && wait "$pid" || true
	pid=
}

scores=()
for seed in $SEEDS; do
	python3 "$SEISMO_ROOT/tools/scenario/scenario.py" generate --services "$SERVICES" \
		--nodes "$NODES" --faults "$FAULTS" --seed "$seed" --end-now \
		--out "$work/batches.ndjson" --truth "$work/truth.json"
	start_correlator
	taskset -c 1 "$BUILD/seismo-ship" post --url "http://127.0.0.1:$PORT" "$work/batches.ndjson" \
		>"$work/post.json"
	curl -sf "http://127.0.0.1:$PORT/api/v1/incidents?detail=1&limit=100000" >"$work/incidents.json"
	stop_correlator
	python3 "$SEISMO_ROOT/tools/scenario/scenario.py" score --truth "$work/truth.json" \
		--incidents "$work/incidents.json" >"$work/score.$seed.json"
	echo "seed $seed: $(cat "$work/score.$seed.json")"
	scores+=("$work/score.$seed.json")
done

[ ${#scores[@]} -gt 0 ] && python3 - "${scores[@]}" <<'PY'
import json, sys
rs = [json.load(open(p)) for p in sys.argv[1:]]
tot = lambda k: sum(r[k] for r in rs)
faults = tot("faults")
print("bench: correlator_noise services=%s seeds=%d events=%d incidents=%d candidates=%d "
      "reduction=%.4f ac1=%.3f ac3=%.3f faults=%d faults_split=%d"
      % (__import__("os").environ.get("CORR_BENCH_SERVICES", "200"), len(rs), tot("events"),
         tot("incidents"), tot("candidates"), 1 - tot("incidents") / tot("events"),
         sum(r["ac1"] * r["faults"] for r in rs) / faults,
         sum(r["ac3"] * r["faults"] for r in rs) / faults, faults, tot("faults_split")))
PY

# Throughput: a larger stream, batches of 500, the correlator on one core.
python3 "$SEISMO_ROOT/tools/scenario/scenario.py" generate --services 400 --nodes 80 \
	--faults 600 --gap 300 --seed 7 --end-now --batch 500 --out "$work/load.ndjson" --truth "$work/load-truth.json"
# The same events packed B to a POST: 500 (a busy agent's minute), 20 (a quiet one's).
for batch in 500 20; do
	python3 - "$work/load.ndjson" "$work/load$batch.ndjson" "$batch" <<'PY'
import json, sys
out, size = open(sys.argv[2], "w"), int(sys.argv[3])
evs, edges = [], []
for line in open(sys.argv[1]):
    b = json.loads(line)
    evs.extend(b["events"]); edges.extend(b.get("edges", []))
for i in range(0, len(evs), size):
    out.write(json.dumps({"node": "load", "events": evs[i:i + size],
                          "edges": edges if i == 0 else []}, separators=(",", ":")) + "\n")
PY
	start_correlator
	taskset -c 1 "$BUILD/seismo-ship" post --gzip --url "http://127.0.0.1:$PORT" \
		"$work/load$batch.ndjson" >"$work/load.json"
	stop_correlator
	python3 - "$work/load.json" "$batch" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("bench: correlator_ingest events=%d batch=%s gzip=1 cores=1 events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f"
      % (r["events"], sys.argv[2], r["events_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"]))
PY
done

# Ingest against history: is the cost per event independent of what came before?
HISTORY=${CORR_BENCH_HISTORY-"10000 100000 1000000"}
MEASURE=${CORR_BENCH_MEASURE:-20000}
if [ -n "$HISTORY" ]; then
	last=0
	for h in $HISTORY; do last=$h; done
	# About 44 events per fault in this generator.
	faults=$(((last + MEASURE) / 40 + 100))
	python3 "$SEISMO_ROOT/tools/scenario/scenario.py" generate --services 200 --nodes 40 \
		--faults "$faults" --gap 300 --seed 9 --batch 500 --end-now --out "$work/hist.ndjson" \
		--truth "$work/hist-truth.json" 2>/dev/null
	# Phases of 500-event batches: fill up to each history point, then the measured part.
	python3 - "$work/hist.ndjson" "$work" "$MEASURE" $HISTORY <<'PY'
import json, sys
src, work, measure, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(x) for x in sys.argv[4:]]
evs, edges = [], []
for line in open(src):
    b = json.loads(line)
    evs.extend(b["events"]); edges.extend(b.get("edges", []))
start = 0
for i, h in enumerate(points):
    for name, lo, hi in (("fill", start, h), ("measure", h, h + measure)):
        with open("%s/hist-%s-%d.ndjson" % (work, name, i), "w") as out:
            for j in range(lo, min(hi, len(evs)), 500):
                out.write(json.dumps({"node": "load", "events": evs[j:j + 500],
                                      "edges": edges if j == 0 else []},
                                     separators=(",", ":")) + "\n")
    start = h + measure
PY
	start_correlator
	i=0
	for h in $HISTORY; do
		taskset -c 1 "$BUILD/seismo-ship" post --gzip --url "http://127.0.0.1:$PORT" \
			"$work/hist-fill-$i.ndjson" >/dev/null
		taskset -c 1 "$BUILD/seismo-ship" post --gzip --url "http://127.0.0.1:$PORT" \
			"$work/hist-measure-$i.ndjson" >"$work/hist.json"
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
		curl -sf "http://127.0.0.1:$PORT/metrics" >"$work/metrics.txt"
		python3 - "$work/hist.json" "$h" "$rss" "$work/metrics.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = {}
for line in open(sys.argv[4]):
    if line.startswith("seismo_correlator_") and " " in line:
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
print("bench: correlator_history history=%s events=%d batch=500 gzip=1 cores=1 events_per_s=%.0f "
      "p50_ms=%.2f p99_ms=%.2f rss_mib=%.1f incidents_in_memory=%d alerts=%d"
      % (sys.argv[2], r["events"], r["events_per_s"], r["p50_ms"], r["p99_ms"], int(sys.argv[3]) / 1024,
         m.get('seismo_correlator_incidents{state="firing"}', 0) + m.get('seismo_correlator_incidents{state="resolved"}', 0),
         m.get("seismo_correlator_alerts", 0)))
PY
		i=$((i + 1))
	done
	stop_correlator
fi

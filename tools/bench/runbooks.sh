#!/bin/bash
# Runbook automation benchmark on a real seismo-correlator (incidents opened
# through the real ingest API, auto mode, exec /bin/true as the action):
#   bench: runbooks_start_latency  incidents=... p50_ms=... p99_ms=...
#     time from the POST that opens an incident to its action starting
#     (one incident at a time, so it is the pipeline's latency, not queueing)
#   bench: runbooks_storm  incidents=500 cap=4 actions_per_s=... peak_running=... wall_s=...
#     500 incidents at once with max_concurrent 4: every action runs once,
#     throughput of the capped worker pool end to end.
set -eu
: "${SEISMO_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=$SEISMO_ROOT/build}"
PORT=${RUNBOOK_BENCH_PORT:-19566}
N=${RUNBOOK_BENCH_INCIDENTS:-200}
rel=${BUILD#"$SEISMO_ROOT"/}
make -s -C "$SEISMO_ROOT" BUILD="$rel" "$rel/seismo-correlator" >/dev/null
work=$(mktemp -d /tmp/seismo-rb-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
echo -n bench-token >"$work/token"
cat >"$work/rb.yaml" <<YAML
seismo:
  token_file: $work/token
route:
  receiver: 'null'
receivers:
  - name: 'null'
actions:
  max_concurrent: 4
runbooks:
  - name: bench
    matchers: ['root_cause =~ "(lat|storm)-.*"']
    mode: auto
    actions:
      - exec: {command: [/bin/true]}
YAML
start() {
	rm -f "$work"/corr.db*
	"$BUILD/seismo-correlator" -c "$work/rb.yaml" -l "127.0.0.1:$PORT" -d "$work/corr.db" -v error &
	pid=$!
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "correlator did not start" >&2
	exit 1
}
stop() {
	kill "$pid" && wait "$pid" 2>/dev/null || true
	pid=
}
start
python3 - "$PORT" "$N" "$SEISMO_ROOT/tests/lib" <<'PY'
import datetime, json, sys, time, urllib.request
sys.path.insert(0, sys.argv[3])
import incidents as inc
port, n = int(sys.argv[1]), int(sys.argv[2])
api = "http://127.0.0.1:%d" % port
H = {"Content-Type": "application/json", "Authorization": "Bearer bench-token"}
def post(svcs):
    now = datetime.datetime.now(datetime.timezone.utc)
    body = {"node": "n", "cluster": "bench", "sent_at": inc.ts(now),
            "events": inc.events(svcs, "firing", "n", "shop", "2026-12-01T00:00:00Z")}
    urllib.request.urlopen(urllib.request.Request(api + "/api/v1/events", json.dumps(body).encode(), H)).read()
def actions():
    r = urllib.request.urlopen(urllib.request.Request(api + "/api/v1/actions", headers=H))
    return json.load(r)["actions"]
def secs(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
sent = {}
for i in range(n):
    s = "lat-%04d" % i
    sent[s] = time.time()
    post([s])
    time.sleep(0.02)
time.sleep(1)
acts = [a for a in actions() if a["target"].startswith("lat-")]
d = sorted((secs(a["started_at"]) - sent[a["target"]]) * 1000 for a in acts if a["started_at"])
assert len(d) == n, "%d of %d started" % (len(d), n)
print("bench: runbooks_start_latency incidents=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (
    n, d[len(d) // 2], d[min(len(d) - 1, int(len(d) * 0.99))], d[-1]))
PY
stop
start
python3 - "$PORT" "$SEISMO_ROOT/tests/lib" <<'PY'
import datetime, json, sys, time, urllib.request
sys.path.insert(0, sys.argv[2])
import incidents as inc
api = "http://127.0.0.1:%s" % sys.argv[1]
H = {"Content-Type": "application/json", "Authorization": "Bearer bench-token"}
def get(path):
    return urllib.request.urlopen(urllib.request.Request(api + path, headers=H)).read().decode()
def secs(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
svcs = ["storm-%04d" % i for i in range(500)]
t0 = time.time()
for i in range(0, 500, 100):
    now = datetime.datetime.now(datetime.timezone.utc)
    body = {"node": "n", "cluster": "bench", "sent_at": inc.ts(now),
            "events": inc.events(svcs[i:i + 100], "firing", "n", "shop", "2026-12-01T00:00:00Z")}
    urllib.request.urlopen(urllib.request.Request(api + "/api/v1/events", json.dumps(body).encode(), H)).read()
for _ in range(1200):
    if 'seismo_correlator_actions_total{runbook="bench",event="succeeded"} 500' in get("/metrics"):
        break
    time.sleep(0.05)
acts = json.loads(get("/api/v1/actions?state=succeeded"))["actions"]
assert len(acts) == 500, len(acts)
end = max(secs(a["finished_at"]) for a in acts)
peak = [l.split()[1] for l in get("/metrics").splitlines() if l.startswith("seismo_correlator_actions_running_peak ")][0]
print("bench: runbooks_storm incidents=500 cap=4 actions_per_s=%.0f peak_running=%s wall_s=%.2f" % (
    500 / (end - t0), peak, end - t0))
PY

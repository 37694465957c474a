#!/bin/bash
# timeout: 180
# At-least-once, end to end: an agent stand-in (seismo-ship agent, which
# drives the real shipper) streams a scenario to the correlator; mid-stream
# the correlator is killed (SIGKILL) and restarted, later the agent is
# stopped (SIGTERM) and restarted on its spool. Every event id the agent
# handed to its spool must be in the correlator's store, exactly once, and
# the incidents must equal those of an uninterrupted run.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
CORR=19130
REF=19131
[ -x "$BUILD/seismo-ship" ] || fail "$BUILD/seismo-ship missing (make tests builds it)"
# --end-now: a fixed date would age past the retention (14 d), and incidents
# resolved before it leave memory within a second of ingest.
python3 "$SCEN/scenario.py" generate --services 30 --nodes 1 --faults 40 --gap 300 \
	--seed 11 --batch 40 --end-now --out "$WORK/stream.ndjson" --truth "$WORK/truth.json"
lines=$(wc -l <"$WORK/stream.ndjson")
echo "stream: $lines batches"

start_correlator $CORR "$WORK/corr.db"
agent() {
	"$BUILD/seismo-ship" agent --url "http://127.0.0.1:$CORR" --spool "$WORK/spool" \
		--node node-00 --skip "$1" "$WORK/stream.ndjson" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}
spooled_lines() {
	awk '$1 == "spooled" { n++ } END { print n + 0 }' "$WORK/agent.out"
}
# at_least N: the agent has handed N lines to its spool.
at_least() {
	[ "$(spooled_lines)" -ge "$1" ]
}
last_line() {
	awk '$1 == "spooled" { n = $2 } END { print n + 0 }' "$WORK/agent.out"
}

: >"$WORK/agent.out"
agent 0
wait_until 60 at_least $((lines / 4)) || fail "agent made no progress"
kill -KILL "$CORR_PID"
wait "$CORR_PID" 2>/dev/null || true
echo "correlator killed after line $(last_line)"
wait_until 60 at_least $((lines / 2)) || fail "agent stalled while the correlator was down"
grep -q "retry in" "$WORK/agent.err" || fail "the agent never retried while the correlator was down"
start_correlator $CORR "$WORK/corr.db"
wait_until 60 at_least $((lines * 3 / 4)) || fail "agent stalled"
stop_pid "$AGENT_PID"
skip=$(last_line)
echo "agent stopped after line $skip; restarting on its spool"
agent "$skip"
wait_until 120 grep -q '^drained' "$WORK/agent.out" || fail "agent never drained: $(tail -3 "$WORK/agent.err")"
stop_pid "$AGENT_PID"
stop_pid "$CORR_PID"

python3 - "$WORK" <<'PY'
import json, sqlite3, sys
work = sys.argv[1]
handed = set()
for line in open(work + "/agent.out"):
    if line.startswith("spooled "):
        handed.update(line.split()[2:])
stream = set()
for line in open(work + "/stream.ndjson"):
    stream.update(e["id"] for e in json.loads(line)["events"])
db = sqlite3.connect(work + "/corr.db")
stored = [r[0] for r in db.execute("SELECT id FROM events")]
assert len(stored) == len(set(stored)), "duplicate ids in the store"
missing = handed - set(stored)
print("stream %d ids, handed to the spool %d, stored %d, missing %d"
      % (len(stream), len(handed), len(stored), len(missing)))
assert not missing, sorted(missing)[:5]
assert set(stored) == stream, "stored %d of %d stream ids" % (len(set(stored) & stream), len(stream))
PY

# The interrupted run gives the same incidents as an uninterrupted one.
start_correlator $CORR "$WORK/corr.db"
curl -s "http://127.0.0.1:$CORR/api/v1/incidents?limit=100000" >"$WORK/incidents.json"
start_correlator $REF "$WORK/ref.db"
"$BUILD/seismo-ship" post --url "http://127.0.0.1:$REF" "$WORK/stream.ndjson" >/dev/null
curl -s "http://127.0.0.1:$REF/api/v1/incidents?limit=100000" >"$WORK/ref.json"
python3 - "$WORK/incidents.json" "$WORK/ref.json" <<'PY'
import json, sys
key = lambda i: (i["id"], i["state"], i["events"], tuple(c["service"] for c in i["root_causes"]))
got, ref = sorted(map(key, json.load(open(sys.argv[1])))), sorted(map(key, json.load(open(sys.argv[2]))))
assert got == ref, "incidents differ:\n%s\nvs\n%s" % (got[:5], ref[:5])
print("incidents identical to an uninterrupted run:", len(got))
PY
echo "correlator restart: ok"

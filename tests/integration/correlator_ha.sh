#!/bin/bash
# timeout: 150
# High availability: two correlators share one PostgreSQL (a private
# cluster this test starts and tears down). Either replica ingests (an event
# sent to both is stored once), both derive the same incidents, one leader
# notifies. Events stream to both; the leader is killed with SIGKILL while
# notifications are due; the other replica takes over. Every incident must
# reach the capture receiver exactly once firing and once resolved: none
# lost, none duplicated. It also runs test_corr_store_pg on that cluster.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
PG=19175
A=19170
B=19171
CAP=19172
N=24
start_postgres $PG
start_capture $CAP
# The backend's own unit test, on an empty database of this cluster.
"$PG_BIN/createdb" -h 127.0.0.1 -p $PG -U seismo unit || fail "createdb"
SEISMO_TEST_PG_URL="${PG_URL%/postgres}/unit" "$BUILD/tests/test_corr_store_pg" ||
	fail "test_corr_store_pg against PostgreSQL"
cat >"$WORK/corr.yaml" <<YAML
route:
  receiver: capture
  group_by: [incident]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: capture
    webhook_configs:
      - url: http://127.0.0.1:$CAP/page
YAML
start_correlator $A "$PG_URL" -c "$WORK/corr.yaml"
PID_A=$CORR_PID
start_correlator $B "$PG_URL" -c "$WORK/corr.yaml"
PID_B=$CORR_PID
leader_of() { curl -sf "http://127.0.0.1:$1/metrics" | grep -q '^seismo_correlator_leader 1'; }
wait_until 10 sh -c "curl -sf http://127.0.0.1:$A/metrics | grep -q '^seismo_correlator_leader 1' || curl -sf http://127.0.0.1:$B/metrics | grep -q '^seismo_correlator_leader 1'" ||
	fail "no replica became the leader"
if leader_of $A; then LEADER=$A LPID=$PID_A OTHER=$B; else LEADER=$B LPID=$PID_B OTHER=$A; fi
leader_of $OTHER && fail "both replicas lead"
echo "leader: $LEADER, follower: $OTHER"

# The same batch at both replicas: stored once (dedup by event id in PostgreSQL).
python3 "$SCEN/ha_stream.py" batch >"$WORK/dup.json"
post $A /api/v1/events "$WORK/dup.json" >/dev/null
a=$(cat "$WORK/resp")
post $B /api/v1/events "$WORK/dup.json" >/dev/null
b=$(cat "$WORK/resp")
python3 -c "
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a['accepted'] + b['accepted'] == 1 and a['duplicates'] + b['duplicates'] == 1, (a, b)" "$a" "$b" ||
	fail "a batch sent to both replicas was not stored once: $a $b"
# cluster status lists both replicas (amtool cluster show reads it).
wait_until 5 sh -c "curl -sf http://127.0.0.1:$OTHER/api/v2/status | python3 -c '
import json, sys
c = json.load(sys.stdin)[\"cluster\"]
sys.exit(0 if c[\"status\"] == \"ready\" and len(c[\"peers\"]) == 2 else 1)'" ||
	fail "cluster status: $(curl -s http://127.0.0.1:$OTHER/api/v2/status)"
if command -v amtool >/dev/null; then
	amtool --alertmanager.url="http://127.0.0.1:$OTHER" cluster show -o extended >"$WORK/cluster.txt" 2>&1 ||
		fail "amtool cluster show: $(cat "$WORK/cluster.txt")"
	grep -q ready "$WORK/cluster.txt" && grep -q "127.0.0.1:$LEADER" "$WORK/cluster.txt" ||
		fail "amtool cluster show: $(cat "$WORK/cluster.txt")"
fi

# First half of the stream to both replicas in turn; then, with notifications
# due (group_wait 1 s), the leader dies.
python3 "$SCEN/ha_stream.py" fire 0 $((N / 2)) $A $B || fail "stream (first half)"
sleep 0.5
kill -9 "$LPID"
wait "$LPID" 2>/dev/null || true
echo "killed the leader ($LEADER) at $(date +%T.%N)"
# The rest (an agent whose correlator is gone sends to the other), then
# every incident resolves.
python3 "$SCEN/ha_stream.py" fire $((N / 2)) $N $OTHER || fail "stream (second half)"
wait_until 10 leader_of $OTHER || fail "the surviving replica did not take over"
grep -q "is now the leader" "$WORK/correlator.$OTHER.log" || fail "no takeover logged"
python3 "$SCEN/ha_stream.py" resolve 0 $N $OTHER || fail "stream (resolutions)"
python3 "$SCEN/ha_stream.py" batch resolve >"$WORK/dup-resolve.json"
[ "$(post $OTHER /api/v1/events "$WORK/dup-resolve.json")" = 200 ] || fail "resolve refused"

# Every incident: one firing, one resolved notification; then nothing more.
count() {
	curl -s "http://127.0.0.1:$CAP/captured" | python3 -c '
import collections, json, sys
n = int(sys.argv[1])
seen = collections.Counter()
for x in json.load(sys.stdin):
    for a in x["body"]["alerts"]:
        seen[(a["labels"]["incident"], a["status"])] += 1
incidents = {i for i, _ in seen}
want = n + 1  # the stream plus the batch sent to both
done = len(incidents) == want and all(seen[(i, s)] >= 1 for i in incidents for s in ("firing", "resolved"))
dups = {k: v for k, v in seen.items() if v > 1}
missing = [(i, s) for i in incidents for s in ("firing", "resolved") if not seen[(i, s)]]
print(len(incidents), "incidents;", sum(seen.values()), "alerts notified;", "duplicates:", dups,
      "missing:", missing)
sys.exit(2 if dups else 0 if done else 1)' "$N"
}
wait_until 30 count || fail "not every incident was notified firing and resolved: $(count)"
sleep 4.5 # two more group intervals: a duplicate would show now
count || fail "lost or duplicated notifications: $(count)"
curl -s "http://127.0.0.1:$OTHER/api/v1/incidents?state=firing" | grep -q '"id"' &&
	fail "incidents still firing on the survivor"
echo "correlator HA: ok ($(count))"

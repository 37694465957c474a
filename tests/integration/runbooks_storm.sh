#!/bin/bash
# timeout: 150
# Runbook guards under pressure, on a real seismo-correlator:
# 1. a storm of 500 incidents through the ingest API with max_concurrent 4:
#    every action runs exactly once (nothing lost), and no more than 4 ever
#    run at once — counted by the actions themselves (a slot directory),
#    not only by the correlator's own gauge;
# 2. the correlator SIGKILLed between an approval and its run (the only
#    worker busy): after a restart the approved action runs exactly once,
#    the one that was running is marked failed and never rerun, and another
#    restart runs nothing again.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
source "$SEISMO_ROOT/tests/lib/runbooks.sh"
CORR=19562
API=http://127.0.0.1:$CORR
echo -n "$TOKEN" >"$WORK/token"
mkdir -p "$WORK/slots"
cat >"$WORK/slot.sh" <<'SH'
#!/bin/sh
# Takes a slot, records how many were taken at that moment, works, frees it.
d=$1/slots
touch "$d/$SEISMO_ACTION_ID"
n=$(ls "$d" | wc -l)
echo "$SEISMO_ACTION_ID $n" >> "$1/ran"
sleep 0.02
rm -f "$d/$SEISMO_ACTION_ID"
SH
chmod +x "$WORK/slot.sh"
cat >"$WORK/storm.yaml" <<YAML
seismo:
  token_file: $WORK/token
route:
  receiver: 'null'
receivers:
  - name: 'null'
actions:
  max_concurrent: 4
runbooks:
  - name: storm
    matchers: ['root_cause =~ "storm-.*"']
    mode: auto
    actions:
      - exec: {command: [$WORK/slot.sh, $WORK]}
YAML
start_correlator $CORR "$WORK/storm.db" -c "$WORK/storm.yaml" -v info
echo "--- storm: 500 incidents"
python3 "$RB_LIB/incidents.py" "$API" "$TOKEN" fire --count 500 --prefix storm --batch 100 >/dev/null || fail "ingest"
done500() { [ "$(wc -l <"$WORK/ran" 2>/dev/null || echo 0)" -ge 500 ]; }
wait_until 90 done500 || fail "only $(wc -l <"$WORK/ran") of 500 actions ran"
wait_until 10 bash -c "curl -s $API/metrics | grep -q '^seismo_correlator_actions_total{runbook=\"storm\",event=\"succeeded\"} 500'" ||
	fail "succeeded: $(curl -s $API/metrics | grep 'storm",event')"
sleep 0.5
python3 - "$WORK/ran" <<'PY' || fail "storm"
import sys
rows = [l.split() for l in open(sys.argv[1])]
ids = [r[0] for r in rows]
peak = max(int(r[1]) for r in rows)
assert len(ids) == 500 and len(set(ids)) == 500, "ran %d, distinct %d" % (len(ids), len(set(ids)))
assert peak <= 4, "%d actions ran at once (cap 4)" % peak
print("storm: 500 actions, each once; most at once seen by the actions: %d (cap 4)" % peak)
PY
peak=$(curl -s "$API/metrics" | awk '$1 == "seismo_correlator_actions_running_peak" { print $2 }')
[ "$peak" -le 4 ] && [ "$peak" -ge 2 ] || fail "running peak gauge $peak"
n=$(rb_api "/api/v1/actions?state=succeeded" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["actions"]))')
[ "$n" = 500 ] || fail "API lists $n succeeded actions"
stop_pid "$CORR_PID"

echo "--- SIGKILL between approval and run"
cat >"$WORK/kill.yaml" <<YAML
seismo:
  token_file: $WORK/token
route:
  receiver: r
receivers:
  - name: r
actions:
  max_concurrent: 1
  escalate: r
runbooks:
  - name: busy
    matchers: ['root_cause = busy-a']
    mode: auto
    actions:
      - exec: {command: [/bin/sh, -c, 'echo \$\$ >> $WORK/busy; exec sleep 30']}
  - name: once
    matchers: ['root_cause = once-a']
    mode: approve
    actions:
      - exec: {command: [/bin/sh, -c, 'echo \$SEISMO_ACTION_ID >> $WORK/once']}
YAML
start_correlator $CORR "$WORK/kill.db" -c "$WORK/kill.yaml"
fire busy-a
expect_state 5 busy busy-a running
fire once-a
expect_state 5 once once-a pending
id=$(field once once-a id)
cli approve "$id" --by erin >/dev/null || fail "approve"
expect_state 2 once once-a queued
kill -KILL "$CORR_PID"
wait "$CORR_PID" 2>/dev/null || true
[ ! -e "$WORK/once" ] || fail "the approved action ran before the kill"
# Its sleep outlived the correlator (own process group): cleanup ends it.
PIDS+=("$(cat "$WORK/busy")")
start_correlator $CORR "$WORK/kill.db" -c "$WORK/kill.yaml"
expect_state 5 once once-a succeeded
expect_state 2 busy busy-a failed
grep -q interrupted <<<"$(field busy busy-a reason)" || fail "busy: $(field busy busy-a reason)"
[ "$(field once once-a decided_by)" = erin ] || fail "approval lost"
stop_pid "$CORR_PID"
start_correlator $CORR "$WORK/kill.db" -c "$WORK/kill.yaml"
sleep 1
[ "$(cat "$WORK/once")" = "$id" ] || fail "approved action ran $(wc -l <"$WORK/once") times: $(cat "$WORK/once")"
[ "$(wc -l <"$WORK/busy")" = 1 ] || fail "the interrupted action ran again"
echo "PASS"

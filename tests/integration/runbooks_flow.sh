#!/bin/bash
# timeout: 120
# Runbook automation end to end on a real seismo-correlator, incidents
# opened and resolved through its real ingest API (seismo.event/v1):
# auto mode runs once (exec writing a file + webhook to a capture server)
# and is verified when the incident resolves; suggest records only;
# approve over HTTP and the CLI; resolved-before-approval never runs; an
# approval TTL escalates to a receiver; a circuit breaker opens after
# failures, or after an action whose incident did not resolve in time, and
# escalates; the kill switch (CLI and file) stops running,
# queued and new actions at once; a bad runbook config names file:line.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
source "$SEISMO_ROOT/tests/lib/runbooks.sh"
CORR=19560 CAP=19561
API=http://127.0.0.1:$CORR
echo -n "$TOKEN" >"$WORK/token"
start_capture $CAP
cat >"$WORK/rb.yaml" <<YAML
seismo:
  token_file: $WORK/token
route:
  receiver: hook
  group_by: [incident]
  group_wait: 200ms
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/hook'}]
  - name: oncall
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/oncall'}]
actions:
  max_concurrent: 3
  escalate: oncall
  kill_switch_file: $WORK/STOP
runbooks:
  - name: fix-auto
    matchers: ['root_cause =~ "auto-.*"', 'severity = critical', 'metric = latency_p99']
    mode: auto
    verify_within: 30s
    actions:
      - exec:
          command: [/bin/sh, -c, 'echo "\$SEISMO_INCIDENT \$SEISMO_LABEL_POD \$SEISMO_LABEL_NAMESPACE" >> $WORK/ran.auto; cat > $WORK/stdin.json']
      - webhook: {url: 'http://127.0.0.1:$CAP/action'}
  - name: hint
    matchers: ['root_cause = hint-a']
    mode: suggest
    actions:
      - kubernetes: {action: rollout-restart, namespace: '\${namespace}', name: '\${root_cause}'}
  - name: ask
    matchers: ['root_cause =~ "appr-.*"']
    mode: approve
    approval_ttl: 60s
    actions:
      - exec: {command: [/bin/sh, -c, 'echo \$SEISMO_ACTION_ID >> $WORK/ran.approve']}
  - name: ttl
    matchers: ['root_cause = ttl-a']
    mode: approve
    approval_ttl: 1s
    actions:
      - exec: {command: [/bin/true]}
  - name: flaky
    matchers: ['root_cause =~ "flaky-.*"']
    mode: auto
    circuit_breaker: {failures: 2}
    actions:
      - exec: {command: [/bin/sh, -c, 'echo broken; exit 3']}
  - name: noverify
    matchers: ['root_cause = stuck-a']
    mode: auto
    verify_within: 1s
    circuit_breaker: {failures: 0, unresolved: 1}
    actions:
      - exec: {command: [/bin/true]}
  - name: slow
    matchers: ['root_cause =~ "kill-.*"']
    mode: auto
    actions:
      - exec: {command: [/bin/sh, -c, 'echo \$\$ >> $WORK/pids; exec sleep 60']}
YAML
"$BUILD/seismo-correlator" -c "$WORK/rb.yaml" --check-config || fail "config rejected"
start_correlator $CORR "$WORK/corr.db" -c "$WORK/rb.yaml"

echo "--- auto: runs once, webhook gets seismo.action/v1, verified when the incident resolves"
fire auto-a
expect_state 10 fix-auto auto-a succeeded
fire auto-a --started 2026-12-01T00:01:00Z # a second anomaly of the same incident
sleep 0.5
[ "$(wc -l <"$WORK/ran.auto")" = 1 ] || fail "auto action ran $(wc -l <"$WORK/ran.auto") times"
grep -q " auto-a-7d9f-abcde shop$" "$WORK/ran.auto" || fail "exec env: $(cat "$WORK/ran.auto")"
python3 - "$WORK/stdin.json" <<'PY' || fail "exec stdin"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["runbook"] == "fix-auto" and d["labels"]["root_cause"] == "auto-a" and d["plan"][0]["kind"] == "exec", d
PY
captured /action | python3 -c '
import json, sys
b = [json.loads(l) for l in sys.stdin]
assert len(b) == 1 and b[0]["version"] == "seismo.action/v1" and b[0]["root_cause"] == "auto-a", b' ||
	fail "webhook action payload: $(captured /action)"
resolve auto-a
resolve auto-a --started 2026-12-01T00:01:00Z
wait_until 5 bash -c "[ \"\$(source $RB_LIB/runbooks.sh; API=$API field fix-auto auto-a verification.resolved)\" = true ]" ||
	fail "auto action not verified: $(field fix-auto auto-a verification)"
inc=$(field fix-auto auto-a incident)
rb_api "/api/v1/incidents/$inc" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["actions"][0]
assert d["state"] == "resolved" and a["state"] == "succeeded" and a["verification"]["resolved"] is True, a
assert a["results"][0]["exit_code"] == 0 and a["results"][1]["http_status"] == 200, a["results"]' ||
	fail "incident $inc does not show its verified action"

echo "--- suggest: recorded and shown in the notification, nothing runs"
fire hint-a
expect_state 5 hint hint-a proposed
wait_until 10 bash -c "curl -s http://127.0.0.1:$CAP/captured | grep -q 'suggested: kubernetes rollout-restart deployment/shop/hint-a'" ||
	fail "notification text lacks the suggestion"
[ "$(field hint hint-a results)" = "[]" ] || fail "a suggestion ran"

echo "--- approve over HTTP and the CLI"
fire appr-1,appr-2,appr-3
expect_state 5 ask appr-1 pending
id1=$(field ask appr-1 id) id2=$(field ask appr-2 id) id3=$(field ask appr-3 id)
code=$(rb_api "/api/v1/actions/$id1/approve" -o /dev/null -w '%{http_code}' -d '{}')
[ "$code" = 400 ] || fail "approve without who: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"by":"x"}' "$API/api/v1/actions/$id1/approve")
[ "$code" = 401 ] || fail "approve without token: HTTP $code"
rb_api "/api/v1/actions/$id1/approve" -d '{"by":"alice","comment":"go"}' | grep -q '"decided_by":"alice"' ||
	fail "approve over HTTP"
expect_state 5 ask appr-1 succeeded
grep -qx "$id1" "$WORK/ran.approve" || fail "approved action did not run"
cli list --state pending | grep -q "$id2" || fail "CLI list lacks pending $id2"
cli deny "$id2" --by bob --comment "not now" >/dev/null || fail "CLI deny"
expect_state 2 ask appr-2 denied
cli approve "$id2" --by bob 2>"$WORK/cli.err" && fail "approving a denied action succeeded"
grep -q "denied, not pending" "$WORK/cli.err" || fail "CLI error: $(cat "$WORK/cli.err")"

echo "--- resolved before approval: not run"
resolve appr-3
expect_state 5 ask appr-3 skipped
code=$(rb_api "/api/v1/actions/$id3/approve" -o /dev/null -w '%{http_code}' -d '{"by":"alice"}')
[ "$code" = 409 ] || fail "approving a resolved incident's action: HTTP $code"
! grep -qx "$id3" "$WORK/ran.approve" || fail "resolved incident's action ran"
[ "$(wc -l <"$WORK/ran.approve")" = 1 ] || fail "approve runbook ran $(wc -l <"$WORK/ran.approve") times"

echo "--- approval TTL expires and escalates"
fire ttl-a
expect_state 5 ttl ttl-a expired
wait_until 10 bash -c "curl -s http://127.0.0.1:$CAP/captured | grep -q approval-expired" ||
	fail "no escalation for the expired approval"
captured /oncall | python3 -c '
import json, sys
a = [json.loads(l)["alerts"][0] for l in sys.stdin]
e = [x for x in a if x["labels"]["reason"] == "approval-expired"][0]
assert e["labels"]["alertname"] == "SeismoRunbookEscalation" and e["labels"]["runbook"] == "ttl", e' ||
	fail "escalation payload"

echo "--- circuit breaker: two failures open it, the third is skipped, escalated"
fire flaky-1
expect_state 5 flaky flaky-1 failed
fire flaky-2
expect_state 5 flaky flaky-2 failed
fire flaky-3
expect_state 5 flaky flaky-3 skipped
[ "$(field flaky flaky-3 reason)" = "circuit breaker open" ] || fail "flaky-3: $(field flaky flaky-3 reason)"
[ "$(field flaky flaky-1 results | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["exit_code"])')" = 3 ] ||
	fail "exit status not kept"
wait_until 10 bash -c "curl -s http://127.0.0.1:$CAP/captured | grep -q circuit-breaker-open" ||
	fail "breaker did not escalate"
curl -s "$API/metrics" | grep -q '^seismo_correlator_action_breaker_open{runbook="flaky"} 1' || fail "breaker metric"
cli reset flaky --by carol >/dev/null || fail "CLI reset"
rb_api /api/v1/runbooks | python3 -c '
import json, sys
r = [x for x in json.load(sys.stdin) if x["name"] == "flaky"][0]
assert r["circuit_breaker"]["open"] is False and r["circuit_breaker"]["failures"] == 0, r' || fail "breaker still open"

echo "--- circuit breaker: an action whose incident did not resolve within verify_within"
fire stuck-a
expect_state 5 noverify stuck-a succeeded
wait_until 5 bash -c "[ \"\$(source $RB_LIB/runbooks.sh; API=$API field noverify stuck-a verification.resolved)\" = false ]" ||
	fail "not marked unresolved: $(field noverify stuck-a verification)"
wait_until 5 bash -c "curl -s http://127.0.0.1:$CAP/captured | grep -q 'runbook noverify stopped acting: 1 consecutive actions did not resolve'" ||
	fail "unresolved actions did not open the breaker"

echo "--- kill switch: running and queued actions stop at once, new ones are skipped"
fire kill-1,kill-2,kill-3,kill-4
wait_until 5 bash -c "[ \$(wc -l <$WORK/pids 2>/dev/null || echo 0) -ge 3 ]" || fail "slow actions did not start"
expect_state 2 slow kill-4 queued
cli kill --by dave --reason "test" >/dev/null || fail "CLI kill"
for s in kill-1 kill-2 kill-3 kill-4; do expect_state 5 slow $s cancelled; done
while read -r pid; do
	wait_until 3 bash -c "! kill -0 $pid 2>/dev/null" || fail "exec $pid still running after the kill switch"
done <"$WORK/pids"
fire auto-b
expect_state 5 fix-auto auto-b skipped
[ "$(field fix-auto auto-b reason)" = "kill switch engaged" ] || fail "auto-b: $(field fix-auto auto-b reason)"
cli release --by dave >/dev/null || fail "CLI release"
fire kill-5
expect_state 5 slow kill-5 running
touch "$WORK/STOP"
expect_state 5 slow kill-5 cancelled
fire auto-c
expect_state 5 fix-auto auto-c skipped
rm "$WORK/STOP"
wait_until 3 bash -c "curl -s $API/metrics | grep -q '^seismo_correlator_actions_kill_switch 0'" || fail "kill switch stuck"
fire auto-d
expect_state 5 fix-auto auto-d succeeded
curl -s "$API/metrics" | grep -E '^seismo_correlator_action(s_total{runbook="fix-auto",event="succeeded"}|_approvals_total|_escalations)' ||
	fail "metrics"

echo "--- bad runbook config: file:line"
cat >"$WORK/bad.yaml" <<'YAML'
route:
  receiver: r
receivers:
  - name: r
runbooks:
  - name: x
    matchers: ['service = a']
    mode: sometimes
    actions: [{exec: {command: [/bin/true]}}]
YAML
"$BUILD/seismo-correlator" -c "$WORK/bad.yaml" --check-config 2>"$WORK/bad.err" && fail "bad mode accepted"
grep -q "bad.yaml:8:[0-9]*: runbook x: mode must be suggest, approve or auto" "$WORK/bad.err" || fail "message: $(cat "$WORK/bad.err")"
sed -i 's/mode: sometimes/mode: auto/; s/exec: {command: \[\/bin\/true\]}/kubernetes: {action: scale, namespace: a, name: b}/' "$WORK/bad.yaml"
"$BUILD/seismo-correlator" -c "$WORK/bad.yaml" --check-config 2>"$WORK/bad.err" && fail "scale without replicas accepted"
grep -q "bad.yaml:9:.*give either replicas (set) or add (change)" "$WORK/bad.err" || fail "message: $(cat "$WORK/bad.err")"
echo "PASS"

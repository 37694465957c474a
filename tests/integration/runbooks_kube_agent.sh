#!/bin/bash
# timeout: 90
# The runbook steps that reach other systems, against real counterparts:
# - kubernetes: rollout-restart, scale (add, bounded by max; set, bounded
#   by min), delete-pod and cordon go over TLS with a service-account token
#   and CA to tests/lib/kube_apiserver.py, which checks every request
#   against the Kubernetes API models of Debian's python3-kubernetes; an
#   object that does not exist fails the action with its 404;
# - agent: a real `seismo agent` with an actions: section takes the
#   correlator's authenticated chaos-stop request (and refuses a wrong
#   token); its config errors name file:line.
source "$SEISMO_ROOT/tools/scenario/testlib.sh"
source "$SEISMO_ROOT/tests/lib/runbooks.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the agent loads BPF)"; exit 77; }
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null ||
	{ echo "SKIP: python3-kubernetes is not installed (make deps installs it)"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
CORR=19563 KUBE=19564 AGENT=19565
API=http://127.0.0.1:$CORR
echo -n "$TOKEN" >"$WORK/token"
echo -n "kube-sa-token-0123456789" >"$WORK/sa-token"
echo -n "agent-actions-token-0123456789" >"$WORK/agent-token"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/ca.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null || fail "openssl"
/usr/bin/python3 "$RB_LIB/kube_apiserver.py" $KUBE "$WORK/ca.pem" "$WORK/key.pem" kube-sa-token-0123456789 &
PIDS+=($!)
wait_until 10 curl -sf --cacert "$WORK/ca.pem" -H "Authorization: Bearer kube-sa-token-0123456789" \
	"https://127.0.0.1:$KUBE/__requests" || fail "kube API stand-in did not start"

cat >"$WORK/agent.yaml" <<YAML
actions:
  token_file: $WORK/agent-token
  allow: [chaos-stop, systemd-restart]
  units: ['checkout*.service']
YAML
"$BUILD/seismo" agent --config "$WORK/agent.yaml" --listen 127.0.0.1:$AGENT --state-dir "$WORK/state" \
	--interval 1s 2>"$WORK/agent.log" &
PIDS+=($!)
wait_until 30 curl -sf "http://127.0.0.1:$AGENT/healthz" || fail "agent did not start: $(tail -5 "$WORK/agent.log")"

cat >"$WORK/rb.yaml" <<YAML
seismo:
  token_file: $WORK/token
route:
  receiver: r
receivers:
  - name: r
actions:
  agent_token_file: $WORK/agent-token
  kubernetes:
    api_server: https://127.0.0.1:$KUBE
    token_file: $WORK/sa-token
    ca_file: $WORK/ca.pem
runbooks:
  - name: kube
    matchers: ['root_cause = checkout']
    mode: auto
    actions:
      - kubernetes: {action: rollout-restart, namespace: '\${namespace}', name: '\${root_cause}'}
      - kubernetes: {action: scale, namespace: shop, name: checkout, add: 5, max: 4}
      - kubernetes: {action: scale, resource: statefulset, namespace: shop, name: cart, replicas: 0, min: 1}
      - kubernetes: {action: delete-pod, namespace: '\${namespace}', name: '\${pod}', grace_period: 30s}
      - kubernetes: {action: cordon, name: '\${node}'}
  - name: kube-missing
    matchers: ['root_cause = ghost']
    mode: auto
    actions:
      - kubernetes: {action: rollout-restart, namespace: shop, name: ghost}
  - name: node-local
    matchers: ['root_cause = chaos-victim']
    mode: auto
    actions:
      - agent: {url: 'http://127.0.0.1:$AGENT', action: chaos-stop, experiment: 'delay-\${root_cause}'}
YAML
start_correlator $CORR "$WORK/corr.db" -c "$WORK/rb.yaml"

echo "--- kubernetes actions, validated against the API models"
fire checkout --node node-a
expect_state 10 kube checkout succeeded
curl -s --cacert "$WORK/ca.pem" -H "Authorization: Bearer kube-sa-token-0123456789" \
	"https://127.0.0.1:$KUBE/__requests" | python3 -c '
import json, sys
r = json.load(sys.stdin)
bad = [x for x in r if not x["valid"]]
assert not bad, bad
seen = [(x["method"], x["path"]) for x in r]
assert seen == [
    ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/checkout"),
    ("GET", "/apis/apps/v1/namespaces/shop/deployments/checkout/scale"),
    ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/checkout/scale"),
    ("GET", "/apis/apps/v1/namespaces/shop/statefulsets/cart/scale"),
    ("PATCH", "/apis/apps/v1/namespaces/shop/statefulsets/cart/scale"),
    ("DELETE", "/api/v1/namespaces/shop/pods/checkout-7d9f-abcde"),
    ("PATCH", "/api/v1/nodes/node-a")], seen
assert "kubectl.kubernetes.io/restartedAt" in r[0]["annotations"], r[0]
assert r[2]["replicas"] == 4 and r[4]["replicas"] == 1, "scale bounds"
assert r[5]["grace"] == 30 and r[6]["unschedulable"] is True
print("kubernetes: %d requests, all valid against the models" % len(r))' || fail "kubernetes requests"
fire ghost
expect_state 10 kube-missing ghost failed
field kube-missing ghost results | grep -q '"http_status": 404' || fail "404 not kept: $(field kube-missing ghost results)"

echo "--- agent: authenticated node-local action"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' -d '{"action":"chaos-stop","experiment":"x"}' \
	"http://127.0.0.1:$AGENT/api/v1/actions")
[ "$code" = 401 ] || fail "agent accepted a wrong token: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$WORK/agent-token")" \
	-d '{"action":"systemd-restart","unit":"sshd.service"}' "http://127.0.0.1:$AGENT/api/v1/actions")
[ "$code" = 403 ] || fail "agent restarted a unit outside actions.units: HTTP $code"
fire chaos-victim
expect_state 10 node-local chaos-victim failed
field node-local chaos-victim results | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())[0]
assert r["http_status"] == 404 and "delay-chaos-victim: no such experiment" in r["output"], r' ||
	fail "agent action result: $(field node-local chaos-victim results)"
grep -q "chaos-stop delay-chaos-victim for incident" "$WORK/agent.log" || fail "agent did not log the action"

echo "--- agent config errors name file:line"
printf 'actions:\n  allow: [chaos-stop]\n' >"$WORK/bad-agent.yaml"
"$BUILD/seismo" agent --config "$WORK/bad-agent.yaml" --check-config 2>"$WORK/bad.err" && fail "agent actions without a token accepted"
grep -q "bad-agent.yaml:2:[0-9]*: actions: needs token_file" "$WORK/bad.err" || fail "message: $(cat "$WORK/bad.err")"
echo "PASS"

#!/bin/bash
# timeout: 120
# The capability set of deploy/systemd/seismo-agent.service is enough: run
# the agent and `seismo doctor` with exactly the unit's CapabilityBoundingSet
# (read from the unit file, so the test follows it) and check the agent
# loads its programs and serves /healthz, /readyz and /metrics, and that the
# doctor agrees it can run. Port 19310.
set -eu -o pipefail
unit=$SEISMO_ROOT/deploy/systemd/seismo-agent.service
port=19310
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to hand out capabilities"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || fail "no CapabilityBoundingSet in $unit"
bounding=-all
for cap in $caps; do
	name=${cap#CAP_}
	bounding="$bounding,+${name,,}"
done
echo "unit capabilities: $caps -> setpriv --bounding-set=$bounding"
confined() { setpriv --bounding-set="$bounding" --inh-caps=-all "$@"; }

echo "== seismo doctor with the unit's capabilities"
rc=0
confined "$BUILD/seismo" doctor --json >"$BUILD/test-logs/agent_caps_doctor.json" || rc=$?
python3 - "$BUILD/test-logs/agent_caps_doctor.json" "$rc" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
checks = {c["name"]: c for c in report["checks"]}
for c in report["checks"]:
    print(f'  {c["status"]:5} {c["name"]:15} {c["detail"]}')
if checks["latency-hooks"]["status"] != "ok" and checks["btf"]["status"] != "ok":
    print("SKIP: this kernel has neither BTF nor usable tracepoints")
    sys.exit(77)
assert checks["capabilities"]["status"] == "ok", checks["capabilities"]
assert "CAP_SYS_ADMIN" not in checks["capabilities"]["detail"].split("missing")[0], "SYS_ADMIN leaked in"
assert report["agent_can_run"], "doctor says the agent cannot run with the unit's capabilities"
assert sys.argv[2] == "0", "doctor exit status is not 0"
PY

echo "== seismo agent with the unit's capabilities"
log=$BUILD/test-logs/agent_caps_agent.log
# setpriv itself, not the confined() function: a backgrounded function is a
# subshell, and killing it would leave the agent running.
setpriv --bounding-set="$bounding" --inh-caps=-all "$BUILD/seismo" agent --config "$SEISMO_ROOT/deploy/config/agent.yaml" \
	--listen 127.0.0.1:$port --interval 1s >"$log" 2>&1 &
agent=$!
trap 'kill $agent 2>/dev/null; wait $agent 2>/dev/null' EXIT
ready=
for _ in $(seq 1 100); do
	kill -0 $agent 2>/dev/null || { cat "$log"; fail "agent exited with the unit's capabilities"; }
	if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
	sleep 0.3
done
cat "$log"
[ -n "$ready" ] || fail "agent never became ready"
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz not 200"
metrics=$(curl -fs "http://127.0.0.1:$port/metrics") || fail "/metrics not 200"
grep -q '^# TYPE ' <<<"$metrics" || fail "/metrics has no metrics"
grep -qi "attached" "$log" || fail "agent did not say its programs attached"
echo "PASS: agent and doctor work with only $caps"

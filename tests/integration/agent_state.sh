#!/bin/bash
# timeout: 120
# Baselines survive a restart: the agent writes state_dir/baselines.state
# (atomically) and reloads it at start; a corrupt file is moved aside with a
# warning and the agent starts fresh instead of failing.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_build

PORT_AGENT=19422 PORT_SVC=19423
mkdir -p "$T/state"
printf 'interval: 1s\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
start_bg "$T/svc.log" "$TESTSERVER" --listen 127.0.0.1:$PORT_SVC
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT_SVC" || fail "test server did not listen"

start_agent $PORT_AGENT --config "$T/agent.yaml"
"$LOADGEN" --target 127.0.0.1:$PORT_SVC --duration 3s --latency const:1ms --quiet || fail "load"
agent_flush $PORT_AGENT
stop_pid "$AGENT_PID"
[ -s "$T/state/baselines.state" ] || fail "no state file after a clean stop"
grep -q "stopping" "$T/agent.log" || fail "agent did not stop cleanly"
ls "$T/state" | grep -v '^baselines.state$' && fail "temporary files left in the state dir"

mv "$T/agent.log" "$T/agent-1.log"
start_agent $PORT_AGENT --config "$T/agent.yaml"
grep -E "restored [1-9][0-9]* series" "$T/agent.log" || fail "restart did not restore the baselines"
stop_pid "$AGENT_PID"

echo "garbage that is not a state file" >"$T/state/baselines.state"
mv "$T/agent.log" "$T/agent-2.log"
start_agent $PORT_AGENT --config "$T/agent.yaml"
grep -iE "warn.*(aside|corrupt|not a)" "$T/agent.log" || fail "no warning about the corrupt state file"
ls "$T/state" | grep -q 'baselines.state.bad' || fail "the corrupt file was not moved aside"
curl -sf "http://127.0.0.1:$PORT_AGENT/healthz" >/dev/null || fail "agent not serving after a corrupt state file"
echo "ok: state saved, restored, and a corrupt file set aside"

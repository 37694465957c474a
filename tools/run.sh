#!/bin/bash
# `make run`: starts the agent on its embedded defaults and shows `seismo top`
# until you quit (q or Ctrl-C); then stops the agent.
# The agent needs root (CAP_BPF, CAP_PERFMON); sudo is used when not root.
set -u
build=${1:-build}
seismo=$build/seismo
listen=${SEISMO_LISTEN:-127.0.0.1:9464}
log=$build/agent.log
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

echo "starting: $seismo agent --listen $listen (log: $log)"
$sudo "$seismo" agent --listen "$listen" ${SEISMO_AGENT_ARGS:-} >"$log" 2>&1 &
agent=$!
trap '$sudo kill $agent 2>/dev/null; wait $agent 2>/dev/null' EXIT INT TERM

# Ready once the first interval is published (10 s on the defaults).
for _ in $(seq 150); do
	if ! kill -0 $agent 2>/dev/null; then
		echo "the agent stopped; its log:" >&2
		cat "$log" >&2
		exit 1
	fi
	curl -sf "http://$listen/readyz" >/dev/null && break
	sleep 0.2
done
echo "agent ready: metrics on http://$listen/metrics"
"$seismo" top --url "http://$listen/api/v1/services" --clients ${SEISMO_TOP_ARGS:-}

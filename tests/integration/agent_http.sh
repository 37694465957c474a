#!/bin/bash
# timeout: 150
# The agent's HTTP endpoint as Prometheus, the kubelet and a user see it:
# 1. /metrics answers right after a start, before the first interval closes
#    (counters from zero, self-metrics): no scrape gap on restart; /readyz
#    waits for the first interval.
# 2. 500 idle connections lock out neither /metrics nor /healthz, and the
#    agent closes them once idle; libmicrohttpd's messages reach the agent's
#    log, timestamped (a request too big for it: 431).
# 3. The agent's own port is not measured as a service (its probes and
#    scrapes); with measure_self: true it is.
# 4. A process whose name the kernel cuts at 15 characters is named in full.
# 5. `seismo top` shows one status line, not a stale table, when the agent
#    goes away.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl python3 script unshare
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19470 SELF_PORT=19471 SRV_PORT=19472
need_free_port $AGENT_PORT $SELF_PORT $SRV_PORT
URL=http://127.0.0.1:$AGENT_PORT

# --- 1. metrics at once ---------------------------------------------------------------
printf 'interval: 2s\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
# In a cgroup namespace of its own, like the DaemonSet's pod over the node's
# cgroup tree: /proc/self/cgroup says "/", and the agent must still know its
# own port's traffic (3.) by its pid.
start_bg "$T/agent.log" unshare -C "$SEISMO" agent --config "$T/agent.yaml" --listen 127.0.0.1:$AGENT_PORT
AGENT_PID=$PID
# The first 200 from /metrics: it must come before the first interval closed.
for ((i = 0; i < 300; i++)); do
	code=$(curl -s -o "$T/m0.txt" -w '%{http_code}' --max-time 2 "$URL/metrics")
	[ "$code" = 200 ] && break
	kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited: $(tail -n 5 "$T/agent.log")"
	sleep 0.1
done
[ "$code" = 200 ] || fail "/metrics never answered 200 (last: $code)"
assert_eq "intervals closed when /metrics first answered" 0 "$(prom_sum "$T/m0.txt" seismo_intervals_total)"
grep -q '^seismo_build_info{' "$T/m0.txt" || fail "no seismo_build_info in the first scrape"
grep -q '^seismo_bpf_map_capacity{' "$T/m0.txt" || fail "no map metrics in the first scrape"
ready=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")
scrape $AGENT_PORT "$T/m1.txt"
if [ "$(prom_sum "$T/m1.txt" seismo_intervals_total)" = 0 ]; then
	assert_eq "/readyz before the first interval" 503 "$ready"
fi
curl -sf "$URL/api/v1/services" | grep -q '"services":\[' || fail "/api/v1/services not served at start"
wait_until 30 http_ok "$URL/readyz" || fail "/readyz never became ready"
echo "ok: /metrics served before the first interval, /readyz after it"

# --- 2. idle connections --------------------------------------------------------------
python3 - "$AGENT_PORT" <<'PY' || fail "idle connections locked the agent out (above)"
import socket, subprocess, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(500)]
for path in ("/metrics", "/healthz"):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True)
    print("with 500 idle connections open: %s -> %s" % (path, r.stdout))
    if r.stdout != "200":
        sys.exit(1)
# Idle ones are closed by the agent (EOF), not kept forever.
closed = 0
deadline = time.monotonic() + 60
for s in idle:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        closed += s.recv(1) == b""
    except (socket.timeout, OSError):
        pass
print("idle connections closed by the agent: %d of 500" % closed)
sys.exit(0 if closed == 500 else 1)
PY
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/metrics")
assert_eq "a 20 KB request header" 431 "$code"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z warn +libmicrohttpd: ' "$T/agent.log" ||
	fail "no timestamped libmicrohttpd line in the agent's log: $(tail -n 5 "$T/agent.log")"
echo "ok: libmicrohttpd logs through the agent: $(grep -m1 libmicrohttpd "$T/agent.log" | cut -c1-100)"

# --- 3. the agent's own port; 4. full names -------------------------------------------
printf 'interval: 1s\nmeasure_self: true\nstate_dir: %s\n' "$T/state-self" >"$T/self.yaml"
start_bg "$T/agent-self.log" "$SEISMO" agent --config "$T/self.yaml" --listen 127.0.0.1:$SELF_PORT
SELF_PID=$PID
wait_until 30 http_ok "http://127.0.0.1:$SELF_PORT/readyz" || fail "the measure_self agent did not start"
cp "$TESTSERVER" "$T/seismo-longname-server"
start_in_cgroup seismo-test-http.slice/longname "$T/srv.log" "$T/seismo-longname-server" \
	--listen 127.0.0.1:$SRV_PORT
wait_port $SRV_PORT
"$LOADGEN" --target 127.0.0.1:$SRV_PORT --requests 5 -q || fail "loadgen failed"
for ((i = 0; i < 5; i++)); do
	curl -s -o /dev/null "$URL/readyz"
	curl -s -o /dev/null "http://127.0.0.1:$SELF_PORT/readyz"
done
agent_flush $AGENT_PORT
agent_flush $SELF_PORT
scrape $AGENT_PORT "$T/m2.txt"
scrape $SELF_PORT "$T/m3.txt"
! grep -E "^http_requests_total\{service=\"[^\"]*:$AGENT_PORT\"" "$T/m2.txt" ||
	fail "the agent measured its own port $AGENT_PORT"
grep -Eq "^http_requests_total\{service=\"[^\"]*:$AGENT_PORT\"" "$T/m3.txt" ||
	fail "the other agent did not see port $AGENT_PORT's requests either: the test proves nothing"
grep -Eq "^http_requests_total\{service=\"[^\"]*:$SELF_PORT\"" "$T/m3.txt" ||
	fail "measure_self: true did not measure the agent's own port $SELF_PORT"
echo "ok: own port not measured by default; measured with measure_self: true:" \
	"$(grep -Eo "service=\"[^\"]*:$SELF_PORT\"" "$T/m3.txt" | head -1)"
assert_eq "requests of the long-named server" 5 \
	"$(prom_sum "$T/m2.txt" http_requests_total service=\"seismo-longname-server:$SRV_PORT\")"
stop_pid "$SELF_PID"

# --- 5. top when the agent goes away --------------------------------------------------
script -qfec "$SEISMO top --refresh 200ms --url $URL/api/v1/services" "$T/top.out" </dev/null >/dev/null 2>&1 &
TOP_PID=$!
on_exit "kill $TOP_PID"
wait_until 20 grep -q SERVICE "$T/top.out" || fail "top never drew its table: $(cat -v "$T/top.out" | tail -3)"
stop_pid "$AGENT_PID"
unreachable() { [ "$(grep -c 'cannot reach the agent' "$T/top.out")" -ge 3 ]; }
wait_until 20 unreachable || fail "top did not report the agent gone: $(cat -v "$T/top.out" | tail -3)"
kill "$TOP_PID"
wait "$TOP_PID" 2>/dev/null
# The last screen, after the last clear: a title and one status line, no table.
last=$(python3 -c 'import sys; print(open(sys.argv[1], errors="replace").read().split("\x1b[2J")[-1])' "$T/top.out" | tr -d '\r')
echo "top's last screen:"
echo "$last"
assert_eq "status lines on top's last screen" 1 "$(grep -c 'cannot reach the agent' <<<"$last")"
! grep -q SERVICE <<<"$last" || fail "top still shows a stale table"
echo "PASS: metrics at start, 500 idle connections, own port excluded, full names, top status line"

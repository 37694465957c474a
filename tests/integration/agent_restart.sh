#!/bin/bash
# timeout: 90
# An agent restarted under load keeps roles right (issue 15, item 2): wrk's
# keep-alive connections to nginx predate the second agent, which must not
# take wrk for a server ("wrk:PORT", one series per ephemeral port) because
# the first transfer it sees on them is a response arriving. It decides
# from the ports that listen in the connection's network namespace: nginx's
# side is the server, wrk's side keeps its client edge to nginx.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd nginx wrk
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19475 NGINX_PORT=19476 CONNS=8
need_free_port $AGENT_PORT $NGINX_PORT
SLICE=seismo-test-restart.slice

start_in_cgroup "$SLICE/nginx.service" "$T/nginx.log" \
	nginx -c "$(nginx_conf "$T/nginx" $NGINX_PORT)" -p "$T/nginx"
wait_port $NGINX_PORT
printf 'interval: 500ms\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
start_agent $AGENT_PORT --config "$T/agent.yaml"
FIRST=$AGENT_PID

# wrk in a cgroup of its own with no unit: named by process, so a wrong
# server role would show as "wrk:<its ephemeral port>".
make_cgroup "$SLICE/load"
sh -c 'echo $$ >"$0/cgroup.procs" && exec wrk -t1 -c"$1" -d8s "$2"' "$CGDIR" $CONNS \
	"http://127.0.0.1:$NGINX_PORT/" >"$T/wrk.out" 2>&1 &
WRK=$!
on_exit "stop_pid $WRK"
sleep 2
kill -9 "$FIRST" # a crash, or a rolling upgrade: the connections stay
wait "$FIRST" 2>/dev/null
start_agent $AGENT_PORT --config "$T/agent.yaml"
sleep 2
wait $WRK || fail "wrk failed: $(cat "$T/wrk.out")"
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"

if grep -E '^http_requests_total\{service="wrk:' "$T/m.txt" | head -3 | grep .; then
	fail "wrk's pre-existing client connections were taken for servers"
fi
served=$(prom_sum "$T/m.txt" http_requests_total service=\"nginx\")
called=$(prom_sum "$T/m.txt" http_client_requests_total service=\"wrk\" peer=\"127.0.0.1:$NGINX_PORT\" peer_service=\"nginx\")
adopted=$(prom_sum "$T/m.txt" seismo_connections_adopted_total)
log "after the restart: nginx served $served, wrk's client edge $called, connections adopted $adopted"
assert_le "connections adopted (both ends of wrk's $CONNS)" $((2 * CONNS)) "$adopted"
assert_le "nginx requests counted after the restart" 100 "$served"
assert_le "wrk's client edge to nginx counted after the restart" 100 "$called"
# The same turns seen from both ends: apart from the turns in flight when
# the agent attached (at most one per connection and end), equal.
diff=$((${served%.*} - ${called%.*}))
assert_le "|served - called| (turns in flight at attach)" "${diff#-}" $((2 * CONNS))
echo "PASS: no pre-existing client connection taken for a server; client edges kept"

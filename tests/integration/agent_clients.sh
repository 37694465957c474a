#!/bin/bash
# timeout: 90
# Outbound calls are named after the program that makes them (issue 15,
# item 1): curl, python3 and seismo-loadgen in one cgroup with no unit, each
# calling the same service, appear as three client series named curl,
# python3 and seismo-loadgen with their exact counts. They used to carry
# the name of whichever program the agent saw first in the cgroup. curl
# runs as several processes: one series still, named once (a program's
# name, not its pid).
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19470 CALLEE_PORT=19471
need_free_port $AGENT_PORT $CALLEE_PORT
SLICE=seismo-test-clients.slice

printf 'interval: 500ms\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
start_agent $AGENT_PORT --config "$T/agent.yaml"
start_in_cgroup "$SLICE/seismo-callee.service" "$T/callee.log" \
	"$TESTSERVER" --listen 127.0.0.1:$CALLEE_PORT
wait_port $CALLEE_PORT

# One cgroup, no unit or container: its services are named by process.
make_cgroup "$SLICE/clients"
CLIENTS=$CGDIR
in_clients() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CLIENTS" "$@"; }
URL=http://127.0.0.1:$CALLEE_PORT/call
for i in 1 2 3 4 5; do # five curl processes, two requests each
	in_clients curl -sf -o /dev/null -o /dev/null "$URL?i=$i" "$URL?j=$i" || fail "curl $i failed"
done
in_clients python3 -c '
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for i in range(7):
    c.request("GET", "/call?py=%d" % i)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
' $CALLEE_PORT || fail "python3 client failed"
in_clients "$LOADGEN" --target 127.0.0.1:$CALLEE_PORT --requests 13 --path /call -q ||
	fail "loadgen failed"

agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
edge() { prom_sum "$T/m.txt" http_client_requests_total service=\""$1"\" peer_service=\"seismo-callee\"; }
grep '^http_client_requests_total{.*peer_service="seismo-callee"' "$T/m.txt" | sed 's/^/    /'
assert_eq "calls of curl (5 processes)" 10 "$(edge curl)"
assert_eq "calls of python3" 7 "$(edge python3)"
assert_eq "calls of seismo-loadgen" 13 "$(edge seismo-loadgen)"
assert_eq "all calls to seismo-callee" 30 \
	"$(prom_sum "$T/m.txt" http_client_requests_total peer_service=\"seismo-callee\")"
assert_eq "requests seismo-callee served" 30 \
	"$(prom_sum "$T/m.txt" http_requests_total service=\"seismo-callee\")"
echo "PASS: three client programs in one cgroup, each named after itself, exact counts"

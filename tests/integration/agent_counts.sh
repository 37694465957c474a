#!/bin/bash
# timeout: 120
# The agent counts every request of two real servers in their own cgroups,
# names them after their systemd-style units, labels method and status, sees
# the load generator's calls as client series with peer and peer_service, and
# its quantiles match the latencies the requests asked for.
#
#   seismo-testserver in .../seismo-testsrv.service  -> service="seismo-testsrv"
#   nginx             in .../nginx.service           -> service="nginx"
#   seismo-loadgen    in .../seismo-loadgen.service  -> the client series
#
# Counts must be exact. Latency checks only use bounds that hold however
# slow the machine is: a request that asked for 2 ms cannot be served in
# under 1 ms, and one that asked for 30 ms cannot land under 10 ms.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd nginx curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19400 SRV_PORT=19401 NGINX_PORT=19402 SRV6_PORT=19403
need_free_port $AGENT_PORT $SRV_PORT $NGINX_PORT $SRV6_PORT
SLICE=seismo-test-counts.slice

cat >"$T/agent.yaml" <<EOF
state_dir: $T/state
interval: 1s
# Coarse bounds with wide gaps, so bucket checks hold on a busy machine.
histogram_buckets: [0.001, 0.01, 0.1, 1]
EOF
start_agent $AGENT_PORT --config "$T/agent.yaml"
log "agent up (pid $AGENT_PID)"

start_in_cgroup "$SLICE/seismo-testsrv.service" "$T/testserver.log" \
	"$TESTSERVER" --listen 127.0.0.1:$SRV_PORT --listen "[::1]:$SRV6_PORT"
start_in_cgroup "$SLICE/nginx.service" "$T/nginx.log" \
	nginx -c "$(nginx_conf "$T/nginx" $NGINX_PORT)" -p "$T/nginx"
wait_port $SRV_PORT
wait_port $NGINX_PORT
make_cgroup "$SLICE/seismo-loadgen.service"
LOADGEN_CG=$CGDIR

# loadgen ARGS...: the load generator inside its own cgroup.
loadgen() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$LOADGEN_CG" "$LOADGEN" "$@" ||
		fail "seismo-loadgen $* failed"
}

# --- phase 1: known counts ---------------------------------------------------------
# 300 GETs to the test server: 210 x 200, 60 x 404, 30 x 500; 80% ask ~2 ms,
# 20% ~30 ms. 20 POSTs answered 201, 10 HEADs, 40 PUTs over IPv6 (port
# $SRV6_PORT) answered 202 or 503. 200 GETs to nginx: 120/60/20.
loadgen --target 127.0.0.1:$SRV_PORT --connections 3 --requests 300 \
	--latency bimodal:2ms:30ms:0.2 --status 200:7,404:2,500:1 --seed 7 \
	--json "$T/srv.json" --dump "$T/srv.dump"
loadgen --target 127.0.0.1:$SRV_PORT --connections 1 --requests 20 --method POST \
	--status 201 --json "$T/post.json"
loadgen --target 127.0.0.1:$SRV_PORT --connections 1 --requests 10 --method HEAD -q
loadgen --target "[::1]:$SRV6_PORT" --connections 2 --requests 40 --method PUT \
	--status 202:3,503:1 -q
loadgen --target 127.0.0.1:$NGINX_PORT --connections 2 --requests 200 \
	--status 200:6,404:3,500:1 --json "$T/nginx.json"
assert_eq "loadgen 500s to the test server" 30 "$(json_get "$T/srv.json" status 500)"

agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m1.txt"

S='service="seismo-testsrv"'
assert_eq "seismo-testsrv requests" 370 "$(prom_sum "$T/m1.txt" http_requests_total "$S")"
for st in 200:210 404:60 500:30; do
	assert_eq "seismo-testsrv GET status ${st%%:*}" "${st#*:}" \
		"$(prom_sum "$T/m1.txt" http_requests_total "$S" method=\"GET\" status=\"${st%%:*}\")"
done
assert_eq "seismo-testsrv POST 201" 20 \
	"$(prom_sum "$T/m1.txt" http_requests_total "$S" method=\"POST\" status=\"201\")"
for st in 202:30 503:10; do
	assert_eq "seismo-testsrv PUT status ${st%%:*}" "${st#*:}" \
		"$(prom_sum "$T/m1.txt" http_requests_total "$S" method=\"PUT\" status=\"${st%%:*}\")"
done
assert_eq "seismo-testsrv HEAD 200" 10 \
	"$(prom_sum "$T/m1.txt" http_requests_total "$S" method=\"HEAD\" status=\"200\")"
assert_eq "seismo-testsrv protocol label" 370 \
	"$(prom_sum "$T/m1.txt" http_requests_total "$S" protocol=\"http\")"
assert_eq "histogram _count = requests" 370 \
	"$(prom_sum "$T/m1.txt" http_request_duration_seconds_count "$S")"

N='service="nginx"'
assert_eq "nginx requests" 200 "$(prom_sum "$T/m1.txt" http_requests_total "$N")"
for st in 200:120 404:60 500:20; do
	assert_eq "nginx status ${st%%:*}" "${st#*:}" \
		"$(prom_sum "$T/m1.txt" http_requests_total "$N" method=\"GET\" status=\"${st%%:*}\")"
done

# Client side: the load generator's calls, by callee.
C='service="seismo-loadgen"'
assert_eq "client calls to seismo-testsrv over IPv4" 330 \
	"$(prom_sum "$T/m1.txt" http_client_requests_total "$C" peer=\"127.0.0.1:$SRV_PORT\" peer_service=\"seismo-testsrv\")"
assert_eq "client 500s from seismo-testsrv" 30 \
	"$(prom_sum "$T/m1.txt" http_client_requests_total "$C" peer_service=\"seismo-testsrv\" status=\"500\")"
assert_eq "client calls to seismo-testsrv over IPv6" 40 \
	"$(prom_sum "$T/m1.txt" http_client_requests_total "$C" peer=\"[::1]:$SRV6_PORT\" peer_service=\"seismo-testsrv\")"
assert_eq "client calls to nginx" 200 \
	"$(prom_sum "$T/m1.txt" http_client_requests_total "$C" peer=\"127.0.0.1:$NGINX_PORT\" peer_service=\"nginx\")"
assert_eq "client 404s from nginx" 60 \
	"$(prom_sum "$T/m1.txt" http_client_requests_total "$C" peer_service=\"nginx\" status=\"404\")"

# Buckets of the 300 GETs (the other methods asked for 0 us).
fast=$(awk '$2 < 0.01' "$T/srv.dump" | wc -l)
G="$S method=\"GET\""
le() { prom_sum "$T/m1.txt" http_request_duration_seconds_bucket $G "le=\"$1\""; }
assert_eq "GETs measured under 1 ms (all asked >= 1.9 ms)" 0 "$(le 0.001)"
assert_le "GETs under 10 ms <= GETs that asked under 10 ms ($fast)" "$(le 0.01)" "$fast"
assert_le "most fast GETs land under 10 ms" "$(awk -v f="$fast" 'BEGIN{print int(f*0.9)}')" "$(le 0.01)"
assert_eq "GETs under 1 s" 300 "$(le 1)"
assert_eq "GETs under +Inf" 300 "$(le +Inf)"
# Quantiles from the buckets: p50 (a fast request) in (1ms, 10ms], p90 (slow) in (10ms, 100ms].
read -r p50b p90b < <(awk -v total=300 -v a="$(le 0.001)" -v b="$(le 0.01)" -v c="$(le 0.1)" 'BEGIN {
	split("0.001 0.01 0.1", ub, " "); cum[1] = a; cum[2] = b; cum[3] = c
	for (q = 1; q <= 2; q++) { want = (q == 1 ? 0.5 : 0.9) * total
		for (i = 1; i <= 3 && cum[i] < want; i++); printf "%s ", ub[i] }
}')
assert_eq "bucket holding the p50" 0.01 "$p50b"
assert_eq "bucket holding the p90" 0.1 "$p90b"
sum=$(prom_sum "$T/m1.txt" http_request_duration_seconds_sum $G)
asked_sum=$(awk '{ s += $2 } END { printf "%.6f", s }' "$T/srv.dump")
client_sum=$(awk '{ s += $1 } END { printf "%.6f", s }' "$T/srv.dump")
assert_between "_sum of GETs between asked and client-observed totals" "$asked_sum" "$sum" "$client_sum"

# --- phase 2: full-resolution quantiles of one interval ---------------------------------
# Every request asks for 5 ms: whatever part of the run an interval covers,
# its quantiles are >= 5 ms and <= the slowest the client saw.
loadgen --target 127.0.0.1:$SRV_PORT --connections 2 --duration 4s --latency const:5ms \
	--json "$T/const.json" &
LG=$!
on_exit "stop_pid $LG"
got_quantiles() {
	scrape $AGENT_PORT "$T/m2.txt"
	grep -q 'seismo_request_duration_quantile_seconds{service="seismo-testsrv",role="server".*quantile="0.99"}' "$T/m2.txt" &&
		curl -sf "http://127.0.0.1:$AGENT_PORT/api/v1/services" -o "$T/services.json" &&
		grep -q '"seismo-testsrv"' "$T/services.json"
}
wait_until 20 got_quantiles || fail "no quantiles for seismo-testsrv during the run"
wait $LG || fail "the constant-latency run failed"
client_max=$(json_get "$T/const.json" client max)
q() { awk -v q="quantile=\"$1\"" 'index($0, "seismo_request_duration_quantile_seconds{service=\"seismo-testsrv\",role=\"server\"") == 1 && index($0, q) { print $2 }' "$T/m2.txt"; }
for quant in 0.5 0.9 0.99; do
	# 1.6% is the histogram's resolution.
	assert_between "server quantile $quant of 5 ms requests" 0.00492 "$(q $quant)" \
		"$(awk -v m="$client_max" 'BEGIN { print m * 1.016 }')"
done
# The median request is served close to what it asked for: a wide margin
# (2.5 ms), so only a broken measurement, not a busy machine, fails it.
assert_le "server p50 of 5 ms requests is under 7.5 ms" "$(q 0.5)" 0.0075
p50_api=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print([s for s in d["services"] if s["service"] == "seismo-testsrv" and s["role"] == "server"][0]["p50"])' "$T/services.json")
assert_between "/api/v1/services p50 of 5 ms requests" 0.00492 "$p50_api" 0.0075

# --- names ----------------------------------------------------------------------------------
grep -q 'service="seismo-testsrv:' "$T/m1.txt" && fail "the test server was named by process:port, not by its unit"
grep -q 'service="nginx:' "$T/m1.txt" && fail "nginx was named by process:port, not by its unit"
echo "PASS: counts, status/method labels, names, client edges, buckets and quantiles"

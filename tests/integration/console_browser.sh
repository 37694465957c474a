#!/bin/bash
# timeout: 240
# The web console in a real browser (headless Chromium, driven by
# console_browser.py through Debian's chromedriver and python3-selenium),
# against a real seismo-correlator fed by a real `seismo agent`:
#   nginx (console-frontend) proxies to a test server (console-backend),
#   both in their own cgroups; the backend's latency steps from 5 to 50 ms,
#   so both go anomalous and the correlator's root cause is the backend.
# In the page: the token prompt, the incident in the list with its root
# cause, the graph's rank-1 node, timeline and exemplars, a silence created
# from the incident page (checked through amtool against the correlator's
# Alertmanager API), the alert it suppresses, the actions panel's empty
# state (or, on a correlator with runbooks, approving an action and the
# kill switch), phone width, expiring the silence (amtool sees it expired).
# Screenshots are kept in $BUILD/test-logs/console_browser/.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_build
need_cmd nginx amtool curl
[ -x "$BUILD/seismo-correlator" ] || fail "$BUILD/seismo-correlator missing"
[ -x /usr/bin/chromium ] || skip "chromium is not installed (make deps installs it)"
[ -x /usr/bin/chromedriver ] || skip "chromium-driver is not installed (make deps installs it)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip "python3-selenium is not installed (make deps installs it)"

P_CORR=19551 P_AGENT=19552 P_FRONT=19553 P_BACK=19554
need_free_port $P_CORR $P_AGENT $P_FRONT $P_BACK
SHOTS=$BUILD/test-logs/console_browser
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
SLICE=seismo-console-e2e.slice
FRONT=console-frontend BACK=console-backend
TOKEN=console-e2e-token
echo -n "$TOKEN" >"$T/token"

cat >"$T/correlator.yaml" <<YAML
seismo:
  token_file: $T/token
route:
  receiver: nobody
  group_by: [incident]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: nobody
YAML
# With runbook support (docs/runbooks.md) the test also approves an action
# and flips the kill switch in the page; without it, the actions panel must
# show its "not configured" state.
cp "$T/correlator.yaml" "$T/runbooks.yaml"
cat >>"$T/runbooks.yaml" <<YAML
runbooks:
  - name: restart-backend
    matchers: ['root_cause = $BACK']
    mode: approve
    approval_ttl: 10m
    escalate: nobody
    actions:
      - exec: {command: [/bin/sh, -c, 'echo "\$SEISMO_INCIDENT" >> $T/ran']}
YAML
RUNBOOKS=0
if "$BUILD/seismo-correlator" -c "$T/runbooks.yaml" --check-config >"$T/check.log" 2>&1; then
	RUNBOOKS=1
	cp "$T/runbooks.yaml" "$T/correlator.yaml"
fi
log "runbooks: $([ $RUNBOOKS = 1 ] && echo "configured (approve flow tested)" || echo "refused by this correlator: $(cat "$T/check.log")")"
start_bg "$T/correlator.log" "$BUILD/seismo-correlator" -c "$T/correlator.yaml" \
	-l 127.0.0.1:$P_CORR -d "$T/corr.db"
CORR=http://127.0.0.1:$P_CORR
wait_until 10 http_ok "$CORR/healthz" || fail "correlator did not start"
curl -sf "$CORR/console/" -o "$T/index.html" || fail "GET /console/ failed"
if grep -q seismo-console-placeholder "$T/index.html"; then
	fail "this seismo-correlator was built without its console (node/npm missing or npm ci failed at build time: see make's WARNING lines)"
fi
# The embedded files: gzip to browsers, plain otherwise, revalidation by
# ETag, the security headers, HEAD, redirects, 404 for the unknown.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
curl -sf -D "$T/js.h" -H 'Accept-Encoding: gzip' "$CORR/console/app.js" -o "$T/app.js.gz" || fail "GET app.js"
grep -qi '^content-encoding: gzip' "$T/js.h" || fail "app.js not sent gzipped to a gzip client: $(cat "$T/js.h")"
grep -qi "^content-security-policy: default-src 'self'" "$T/js.h" || fail "no CSP on the console"
gzip -dc "$T/app.js.gz" | cmp -s - <(curl -sf "$CORR/console/app.js") || fail "gzip and plain app.js differ"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$T/js.h" | tr -d '\r')
[ "$(code -H "If-None-Match: $etag" "$CORR/console/app.js")" = 304 ] || fail "no 304 for the current ETag"
[ "$(code -I "$CORR/console/app.css")" = 200 ] || fail "HEAD app.css"
[ "$(code "$CORR/")" = 302 ] && [ "$(code "$CORR/console/nope.js")" = 404 ] || fail "redirect or 404 of the console"
echo "ok: console files: gzip, ETag/304, CSP, HEAD, redirect, 404"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$CORR/api/v1/incidents" | grep -q 401 ||
	fail "the API does not refuse a wrong token"
actions_api=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$CORR/api/v1/actions")
[ $RUNBOOKS = 1 ] || [ "$actions_api" = 404 ] ||
	fail "this correlator has /api/v1/actions ($actions_api) but refused the test's runbook: $(cat "$T/check.log")"

mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	upstream backend { server 127.0.0.1:$P_BACK; keepalive 16; }
	server {
		listen 127.0.0.1:$P_FRONT;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
start_in_cgroup "$SLICE/$BACK.service" "$T/backend.log" "$TESTSERVER" --listen 127.0.0.1:$P_BACK
start_in_cgroup "$SLICE/$FRONT.service" "$T/nginx.log" nginx -c "$T/nginx/nginx.conf"
wait_port $P_BACK
wait_port $P_FRONT

cat >"$T/agent.yaml" <<YAML
interval: 1s
state_dir: $T/state
node: console-node
cluster: console
detector:
  for: 3s
  resolve_for: 3s
  warmup: 18s
  warmup_samples: 18
  min_requests: 5
sampling:
  factor: 2
  min_latency: 1ms
correlator:
  url: $CORR
  token_file: $T/token
  spool_dir: $T/spool
YAML
start_agent $P_AGENT --config "$T/agent.yaml"

# incident: "ID ROOT SERVICES" of the firing incident holding both services.
incident() {
	curl -sf -H "Authorization: Bearer $TOKEN" "$CORR/api/v1/incidents?state=firing" | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    names = i["blast_radius"]["service_names"]
    if sys.argv[1] in names and sys.argv[2] in names:
        print(i["id"], i["root_causes"][0]["service"], ",".join(names))
        break' $FRONT $BACK
}
has_incident() { [ -n "$(incident)" ]; }

log "warm-up: 5 ms through nginx for 24 s"
"$LOADGEN" --target 127.0.0.1:$P_FRONT --connections 2 --duration 24s \
	--latency lognormal:5ms:0.05 --quiet || fail "warm-up load failed"
log "step: the backend answers in 50 ms"
"$LOADGEN" --target 127.0.0.1:$P_FRONT --connections 4 --duration 90s \
	--latency lognormal:50ms:0.05 --quiet &
load=$!
on_exit "stop_pid $load"
wait_until 45 has_incident || fail "no firing incident with $FRONT and $BACK: $(curl -s -H "Authorization: Bearer $TOKEN" "$CORR/api/v1/incidents")"
read -r id root services <<<"$(incident)"
log "incident $id: root cause $root, services $services"
[ "$root" = "$BACK" ] || fail "the correlator's root cause is $root, not $BACK"

printf 'authorization:\n  credentials: %s\n' "$TOKEN" >"$T/amtool-http.yml"
amq() { amtool --alertmanager.url="$CORR" --http.config.file="$T/amtool-http.yml" silence query "$@"; }

# The browser script waits on a line from this fifo between creating the
# silence (checked here with amtool) and expiring it.
mkfifo "$T/go"
exec 7<>"$T/go"
/usr/bin/python3 "$SEISMO_ROOT/tests/integration/console_browser.py" "$CORR" "$TOKEN" "$id" "$BACK" "$SHOTS" $RUNBOOKS \
	<&7 >"$T/browser.out" 2>&1 &
browser=$!
on_exit "stop_pid $browser"
wait_until 90 grep -q '^silence=\|^FAIL\|^SKIP' "$T/browser.out" || { cat "$T/browser.out"; fail "the browser did not get to the silence"; }
if grep -q '^SKIP' "$T/browser.out"; then
	wait "$browser"
	skip "$(grep '^SKIP' "$T/browser.out" | sed 's/^SKIP: //')"
fi
sid=$(sed -n 's/^silence=//p' "$T/browser.out")
[ -n "$sid" ] || { cat "$T/browser.out"; fail "no silence created in the page"; }
amq >"$T/amtool.txt" 2>&1 || { cat "$T/amtool.txt"; fail "amtool silence query failed"; }
cat "$T/amtool.txt"
grep -q "^$sid .*incident=\"$id\".*console-test" "$T/amtool.txt" || fail "amtool does not show silence $sid for incident $id"
echo "ok: amtool shows the page's silence $sid"
echo >&7
rc=0
wait "$browser" || rc=$?
cat "$T/browser.out"
[ $rc = 0 ] || fail "the browser script failed (exit $rc); screenshots in $SHOTS"
amq >"$T/amtool2.txt" 2>&1 || fail "amtool silence query failed"
! grep -q "^$sid " "$T/amtool2.txt" || fail "amtool still lists $sid as active after expiring it in the page"
amq --expired | grep -q "^$sid " || fail "amtool does not list $sid as expired"
echo "ok: expired in the page, amtool lists $sid as expired"
if [ $RUNBOOKS = 1 ]; then
	grep -qx "$id" "$T/ran" || fail "the action approved in the page did not run for incident $id"
	echo "ok: the action approved in the page ran once for incident $id"
fi
ls "$SHOTS"
echo "PASS: console shows the incident and its root cause $BACK; silence made in the page seen by amtool"

# Shared helpers for tests/integration/runbooks_*.sh (sourced after
# tools/scenario/testlib.sh): the correlator's actions API and incidents
# opened through its real ingest API (tests/lib/incidents.py).
RB_LIB=$SEISMO_ROOT/tests/lib
TOKEN=${TOKEN:-runbook-test-token}

# rb_api PATH [curl args...]: GET (or with -X/-d) the correlator's API.
rb_api() {
	local path=$1
	shift
	curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@" "$API$path"
}
# fire|resolve SERVICES...: incidents through POST /api/v1/events.
fire() { python3 "$RB_LIB/incidents.py" "$API" "$TOKEN" fire "$@" >/dev/null || fail "ingest failed"; }
resolve() { python3 "$RB_LIB/incidents.py" "$API" "$TOKEN" resolve "$@" >/dev/null || fail "ingest failed"; }
# field RUNBOOK TARGET KEY[.KEY]: a field of the newest action of RUNBOOK on TARGET.
field() {
	rb_api /api/v1/actions | python3 -c '
import json, sys
acts = [x for x in json.load(sys.stdin)["actions"] if x["runbook"] == sys.argv[1] and x["target"] == sys.argv[2]]
v = acts[0] if acts else {}
for k in sys.argv[3].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else json.dumps(v) if not isinstance(v, str) else v)' "$@"
}
state_is() { [ "$(field "$1" "$2" state)" = "$3" ]; }
# expect_state SECONDS RUNBOOK TARGET STATE
expect_state() {
	wait_until "$1" state_is "$2" "$3" "$4" ||
		fail "action $2 on $3: state '$(field "$2" "$3" state)' (reason: $(field "$2" "$3" reason)), expected $4"
}
# captured PATH: bodies the capture server got on PATH, one JSON per line.
captured() {
	curl -s "http://127.0.0.1:$CAP/captured" | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["path"] == sys.argv[1]:
        print(json.dumps(c["body"]))' "$1"
}
cli() { "$BUILD/seismo-correlator" actions --url "$API" --token-file "$WORK/token" "$@"; }

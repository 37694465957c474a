#!/bin/bash
# timeout: 60
# deploy/systemd/seismo-correlator.service runs the correlator as a dynamic
# unprivileged user with no capabilities at all: run it that way (uid/gid
# 65534, empty bounding set) with the packaged config and a state directory
# only that user may write, and check it starts, serves /healthz and
# creates its database. Port 19320.
set -eu -o pipefail
port=19320
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$BUILD/seismo-correlator" ] || { echo "SKIP: seismo-correlator not built (no correlator/main.c)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to switch to an unprivileged user"; exit 77; }
command -v setpriv >/dev/null && command -v curl >/dev/null || { echo "SKIP: setpriv or curl missing"; exit 77; }
grep -q '^DynamicUser=yes' "$SEISMO_ROOT/deploy/systemd/seismo-correlator.service" || fail "unit no longer uses DynamicUser"
grep -q '^CapabilityBoundingSet=$' "$SEISMO_ROOT/deploy/systemd/seismo-correlator.service" || fail "unit grants capabilities"

work=$(mktemp -d)
chmod 0755 "$work"
mkdir -m 0750 "$work/state" && chown 65534:65534 "$work/state"
sed "s|/var/lib/seismo-correlator|$work/state|" "$SEISMO_ROOT/deploy/config/correlator.yaml" >"$work/correlator.yaml"
chmod 0644 "$work/correlator.yaml"
log=$BUILD/test-logs/correlator_caps.log
setpriv --reuid=65534 --regid=65534 --clear-groups --bounding-set=-all --inh-caps=-all \
	--no-new-privs "$BUILD/seismo-correlator" --config "$work/correlator.yaml" \
	--listen 127.0.0.1:$port >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
up=
for _ in $(seq 1 100); do
	kill -0 $pid 2>/dev/null || { cat "$log"; fail "correlator exited as an unprivileged user"; }
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && { up=1; break; }
	sleep 0.2
done
cat "$log"
[ -n "$up" ] || fail "correlator never answered /healthz"
[ "$(stat -c %u "$work/state/correlator.db")" = 65534 ] || fail "database not created by the service user in its state dir"
echo "PASS: correlator runs with no capabilities as an unprivileged user"

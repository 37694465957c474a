#!/bin/bash
# timeout: 120
# Bad input: every malformed configuration (bad syntax, unknown or duplicated
# keys, a duration without its unit, a listen address a start could not bind)
# is refused with "file:line:" and a non-zero exit, by --check-config and by
# a real start alike; a good one passes --check-config. A port in use is one
# clear error line. Without tracefs and bpffs (in a private mount
# namespace) the agent mounts them itself. Then a histogram map far too small for the traffic
# (max_histograms: 16, 20 distinct series) is counted in
# seismo_turns_dropped_total{reason="histogram_map_full"}, and the agent
# keeps serving.
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl
need_build

AGENT_PORT=19450 FIRST_PORT=19451 NPORTS=10
need_free_port $AGENT_PORT $(seq $FIRST_PORT $((FIRST_PORT + NPORTS - 1)))

# bad NAME LINE PATTERN: $T/NAME.yaml must be refused at line LINE with a
# message matching PATTERN, by --check-config and by a start.
bad() {
	local name=$1 line=$2 pattern=$3 file=$T/$1.yaml rc out
	for mode in --check-config start; do
		if [ $mode = start ]; then
			out=$(timeout 20 "$SEISMO" agent --config "$file" --listen 127.0.0.1:$AGENT_PORT 2>&1)
		else
			out=$("$SEISMO" agent --config "$file" --check-config 2>&1)
		fi
		rc=$?
		[ $rc != 0 ] && [ $rc != 124 ] || fail "$name ($mode): exit $rc, want an error: $out"
		grep -Eq -- "$file:$line(:[0-9]+)?: " <<<"$out" || fail "$name ($mode): no '$file:$line:' in: $out"
		grep -Eq -- "$pattern" <<<"$out" || fail "$name ($mode): message does not match /$pattern/: $out"
	done
	echo "ok: $name refused at line $line: ${out##*: invalid configuration: }"
}

printf 'interval: 1s\nlisten: [127.0.0.1:1\nlog_level: info\n' >"$T/yaml-syntax.yaml"
bad yaml-syntax '[2-4]' 'flow sequence|expected|did not find'

printf 'interval: 1s\nlog_level: info\nintervall: 2s\n' >"$T/unknown-key.yaml"
bad unknown-key 3 "intervall"

printf 'kubernetes:\n  enabled: true\n  pod_url: http://x/pods\n' >"$T/unknown-nested-key.yaml"
bad unknown-nested-key 3 "pod_url"

printf 'log_level: info\ninterval: 5x\n' >"$T/bad-duration.yaml"
bad bad-duration 2 "5x"

printf 'interval: 1s\nhistogram_buckets:\n  - 0.01\n  - 0.1\n  - 0.05\n' >"$T/bucket-order.yaml"
bad bucket-order 5 "increase"

printf 'histogram_buckets: [0.01, -1]\n' >"$T/bucket-negative.yaml"
bad bucket-negative 1 "."

printf 'services:\n  - name: web\n    labels: { team: x }\n' >"$T/service-no-match.yaml"
bad service-no-match 2 "match"

printf 'log_level: loud\n' >"$T/bad-level.yaml"
bad bad-level 1 "log_level"

printf 'max_histograms: 3\n' >"$T/too-small.yaml"
bad too-small 1 "."

printf 'log_level: info\nlisten: 127.0.0.1:99999\n' >"$T/listen-port.yaml"
bad listen-port 2 "99999"

printf 'listen: metrics.example:9464\n' >"$T/listen-host.yaml"
bad listen-host 1 "not an IP address"

printf 'listen: 192.0.2.1:9464\n' >"$T/listen-not-local.yaml"
bad listen-not-local 1 "no interface of this host has that address"

printf 'correlator:\n  url: http://127.0.0.1:1\n  token_file: %s\n' "$T/no-token" >"$T/token-missing.yaml"
bad token-missing 3 "token_file"

printf 'interval: 1s\nlog_level: info\ninterval: 5s\n' >"$T/duplicate-key.yaml"
bad duplicate-key 3 "duplicate key 'interval' \\(first given at line 1\\)"

printf 'sampling:\n  factor: 2\n  burst: 5\n  factor: 3\n' >"$T/duplicate-nested-key.yaml"
bad duplicate-nested-key 4 "duplicate key 'factor'"

printf 'log_level: info\ninterval: 10\n' >"$T/unitless-duration.yaml"
bad unitless-duration 2 "no unit: write 10s"

# A port in use: one clear error, at once (before the BPF programs load).
need_free_port $AGENT_PORT
start_bg "$T/holder.log" python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' $AGENT_PORT
HOLDER_PID=$PID
wait_port $AGENT_PORT
out=$(timeout 20 "$SEISMO" agent --listen 127.0.0.1:$AGENT_PORT --state-dir "$T/state" 2>&1) &&
	fail "the agent started on a port in use: $out"
assert_eq "error lines for a port in use" 1 "$(grep -c . <<<"$out")"
grep -q "127.0.0.1:$AGENT_PORT: Address already in use" <<<"$out" || fail "unclear port-in-use error: $out"
echo "ok: port in use: $out"
stop_pid "$HOLDER_PID"

# A missing file and bad flags are refused too, naming what is wrong.
out=$("$SEISMO" agent --config "$T/missing.yaml" --check-config 2>&1) && fail "a missing config was accepted"
grep -q "$T/missing.yaml" <<<"$out" || fail "the missing file is not named: $out"
echo "ok: missing file refused: $out"
out=$("$SEISMO" agent --interval 5parsecs --check-config 2>&1) && fail "--interval 5parsecs was accepted"
grep -q "5parsecs" <<<"$out" || fail "the bad --interval is not named: $out"
echo "ok: bad --interval refused: $out"
out=$("$SEISMO" agent --interval 10 --check-config 2>&1) && fail "--interval 10 (no unit) was accepted"
grep -q "with its unit" <<<"$out" || fail "--interval 10 refused without saying why: $out"
out=$("$SEISMO" agent --listen 127.0.0.1:99999 --check-config 2>&1) && fail "--listen 127.0.0.1:99999 was accepted"
grep -q "99999" <<<"$out" || fail "the bad --listen is not named: $out"
echo "ok: bad --listen refused: $out"

# A good file passes.
cat >"$T/good.yaml" <<EOF
state_dir: $T/state
interval: 1s
log_level: info
max_histograms: 16
histogram_buckets: [0.001, 0.01, 0.1]
services:
  - name: web
    match: { port: 8080 }
    labels: { team: shop }
EOF
out=$("$SEISMO" agent --config "$T/good.yaml" --check-config 2>&1) || fail "good config refused: $out"
echo "ok: good config: $out"

# --- missing tracefs and bpffs: the agent mounts them ----------------------------------
# In a private mount namespace, so the node's own mounts are never touched.
if command -v unshare >/dev/null; then
	need_free_port $AGENT_PORT
	start_bg "$T/agent-nomounts.log" unshare -m --propagation private sh -c '
		for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/fs/bpf; do
			umount "$m" 2>/dev/null
		done
		if grep -Eq " (tracefs|bpf) " /proc/mounts; then echo "still mounted"; exit 1; fi
		exec "$0" agent --config "$1" --listen 127.0.0.1:$2' "$SEISMO" "$T/good.yaml" $AGENT_PORT
	NOMOUNT_PID=$PID
	wait_until 30 http_ok "http://127.0.0.1:$AGENT_PORT/readyz" ||
		fail "the agent without tracefs/bpffs did not start: $(cat "$T/agent-nomounts.log")"
	grep -q "mounted tracefs at /sys/kernel/tracing" "$T/agent-nomounts.log" ||
		fail "no 'mounted tracefs' in: $(cat "$T/agent-nomounts.log")"
	grep -q "mounted bpf at /sys/fs/bpf" "$T/agent-nomounts.log" ||
		fail "no 'mounted bpf' in: $(cat "$T/agent-nomounts.log")"
	stop_pid "$NOMOUNT_PID"
	echo "ok: without tracefs and bpffs the agent mounted both and started"
fi

# --- a full histogram map -------------------------------------------------------------
start_agent $AGENT_PORT --config "$T/good.yaml"
start_bg "$T/testserver.log" "$TESTSERVER" --ports-from $FIRST_PORT --ports $NPORTS \
	--ready-file "$T/ready"
wait_until 20 test -s "$T/ready" || fail "the test server did not start"
for ((p = FIRST_PORT; p < FIRST_PORT + NPORTS; p++)); do
	"$LOADGEN" --target 127.0.0.1:$p --connections 1 --requests 20 -q || fail "loadgen to $p failed"
done
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
dropped=$(prom_sum "$T/m.txt" seismo_turns_dropped_total reason=\"histogram_map_full\")
echo "dropped turns: $dropped"
awk -v d="$dropped" 'BEGIN { exit !(d > 0) }' || fail "no turn counted as dropped with 20 series in a 16-entry map"
assert_eq "hists map capacity" 16 "$(prom_sum "$T/m.txt" seismo_bpf_map_capacity map=\"hists\")"
assert_le "hists map entries" "$(prom_sum "$T/m.txt" seismo_bpf_map_entries map=\"hists\")" 16
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died with a full map"
http_ok "http://127.0.0.1:$AGENT_PORT/healthz" || fail "the agent stopped serving /healthz"
# More traffic after the map filled: still counted as dropped, still alive.
"$LOADGEN" --target 127.0.0.1:$((FIRST_PORT + NPORTS - 1)) --requests 50 -q || fail "loadgen failed"
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m2.txt"
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died with a full map"
echo "PASS: bad configs refused with file:line, a full map counted and survived"

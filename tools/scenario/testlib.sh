# Shared helpers for tests/integration/correlator_*.sh (sourced, not run).
# Every process a test starts is recorded and killed on exit, with its
# work directory.
set -eu
: "${SEISMO_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD:=$SEISMO_ROOT/build}"
SCEN=$SEISMO_ROOT/tools/scenario
WORK=$(mktemp -d /tmp/seismo-corr-test.XXXXXX)
PIDS=()
AT_EXIT=() # commands run at exit, after the processes in PIDS are gone

cleanup() {
	[ -n "${KEEP_LOGS:-}" ] && cp "$WORK"/*.log /tmp/ 2>/dev/null
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for p in "${AT_EXIT[@]}"; do
		eval "$p" || true
	done
	# Under make SANITIZE=1 the correlator reports to its log: that fails the test.
	local bad
	bad=$(grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$WORK"/correlator.*.log 2>/dev/null || true)
	if [ -n "$bad" ]; then
		grep -h -A20 'AddressSanitizer\|LeakSanitizer\|runtime error:' $bad >&2
		rm -rf "$WORK"
		echo "FAIL: sanitizer report from seismo-correlator" >&2
		exit 1
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	local log
	for log in "$WORK"/*.log; do
		[ -f "$log" ] || continue
		echo "--- last lines of $(basename "$log")" >&2
		grep -v 'debug http' "$log" | tail -15 >&2
	done
	echo "FAIL: $*" >&2
	exit 1
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s.
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_correlator PORT DB [ARGS...]: sets CORR_PID.
start_correlator() {
	local port=$1 db=$2
	shift 2
	"$BUILD/seismo-correlator" -l "127.0.0.1:$port" -d "$db" -v debug "$@" \
		2>>"$WORK/correlator.$port.log" &
	CORR_PID=$!
	PIDS+=("$CORR_PID")
	wait_until 10 curl -sf "http://127.0.0.1:$port/healthz" ||
		{ cat "$WORK/correlator.$port.log" >&2; fail "correlator on $port did not start"; }
}

# stop_pid PID: SIGTERM and wait.
stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# start_capture PORT: a recording HTTP server; sets CAP_PID.
start_capture() {
	python3 "$SCEN/capture.py" "$1" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	wait_until 10 curl -sf "http://127.0.0.1:$1/captured" || fail "capture server on $1 did not start"
}

# post PORT PATH FILE [CURL ARGS...]: prints the HTTP status, body to $WORK/resp.
post() {
	local port=$1 path=$2 file=$3
	shift 3
	curl -s -o "$WORK/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$file" "$@" "http://127.0.0.1:$port$path"
}

# start_alertmanager PORT CONFIG: Debian's prometheus-alertmanager on
# loopback, no clustering; sets AM_PID. Exits 77 when it is not installed.
start_alertmanager() {
	local port=$1 config=$2 bin
	bin=$(command -v prometheus-alertmanager || command -v alertmanager || true)
	[ -n "$bin" ] || { echo "prometheus-alertmanager is not installed"; exit 77; }
	mkdir -p "$WORK/am-$port"
	"$bin" --config.file="$config" --storage.path="$WORK/am-$port" \
		--web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
		--log.level=warn 2>>"$WORK/alertmanager.$port.log" &
	AM_PID=$!
	PIDS+=("$AM_PID")
	wait_until 20 curl -sf "http://127.0.0.1:$port/-/ready" ||
		{ cat "$WORK/alertmanager.$port.log" >&2; fail "alertmanager on $port did not start"; }
}

# start_postgres PORT: a private PostgreSQL cluster (Debian's postgresql)
# in a temporary directory, on 127.0.0.1:PORT and a unix socket in that
# directory, trusting local connections; torn down at exit. Sets PG_URL and
# PG_BIN (its bin directory: psql, createdb).
# Exits 77 when PostgreSQL cannot run here.
start_postgres() {
	local port=$1 bin run=() dir
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$bin/initdb" ] || { echo "PostgreSQL server (initdb) is not installed"; exit 77; }
	dir=$(mktemp -d /tmp/seismo-pg.XXXXXX)
	AT_EXIT+=("$bin/pg_ctl -D $dir/data stop -m immediate >/dev/null 2>&1; rm -rf $dir")
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || { echo "no postgres user to run PostgreSQL as"; exit 77; }
		chown postgres "$dir"
		run=(runuser -u postgres --)
	fi
	"${run[@]}" "$bin/initdb" -D "$dir/data" -U seismo --auth=trust -E UTF8 --no-sync \
		>"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; echo "initdb failed: PostgreSQL cannot run here"; exit 77; }
	"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" \
		>/dev/null 2>&1 || { cat "$dir/postgres.log"; echo "PostgreSQL did not start: cannot run here"; exit 77; }
	PG_URL="postgres://seismo@127.0.0.1:$port/postgres"
	PG_BIN=$bin
}

# Shared helpers for the agent's integration tests and benchmarks
# (tests/integration/agent_*.sh, tools/bench/agent_*.sh). Source it after
# setting nothing; it sets BUILD/SEISMO_ROOT defaults, a temp dir $T, and an
# EXIT trap that undoes, in reverse order, everything registered with
# on_exit: processes started, cgroups made, files written.
#
#   skip "reason"                     exit 77 with the reason as last line
#   fail "reason"                     exit 1
#   need_root; need_cmd nginx ...     skip when the capability is missing
#   cgroup2_root                      where cgroup v2 is mounted (from /proc/mounts)
#   make_cgroup REL                   mkdir -p under cgroup2 (sets CGDIR), removed at exit
#   start_in_cgroup REL LOG CMD...    start CMD inside the cgroup (sets PID), killed at exit
#   start_bg LOG CMD...               start CMD in the background (sets PID), killed at exit
#   need_free_port PORT...            fail when another process listens there
#   start_agent PORT [ARGS...]        seismo agent on 127.0.0.1:PORT (sets AGENT_PID),
#                                     waits for /readyz; log in $T/agent.log; without
#                                     --config, one with state_dir: $T/state
# These set variables instead of printing: $(...) would run them in a
# subshell, and the cleanup they register would be lost.
#   agent_flush PORT                  wait until two more intervals have closed
#   scrape PORT FILE                  save /metrics into FILE
#   prom_sum FILE NAME [k="v" ...]    sum of the samples of NAME with those labels
#   wait_until TIMEOUT CMD...         poll CMD every 0.2 s until it succeeds
#   assert_eq WHAT WANT GOT           fail with a message unless equal
#   assert_le WHAT A B / assert_between WHAT LO X HI   (floating point)

set -u
: "${SEISMO_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD:=$SEISMO_ROOT/build}"
case $BUILD in /*) ;; *) BUILD=$SEISMO_ROOT/$BUILD ;; esac
SEISMO=$BUILD/seismo
TESTSERVER=$BUILD/tools/seismo-testserver
LOADGEN=$BUILD/tools/seismo-loadgen

T=$(mktemp -d /tmp/seismo-test.XXXXXX)
_cleanups=()

on_exit() {
	_cleanups+=("$*")
}

_run_cleanups() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	# Under make SANITIZE=1 a report (often a leak, printed at exit) in any
	# process's log fails the test.
	if [ "$rc" = 0 ] && grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null; then
		echo "FAIL: a sanitizer reported an error (log above)"
		rc=1
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -d "$T" ]; then
		# Leave the evidence in the test log.
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 20 lines)"
			tail -n 20 "$f"
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root (BPF, cgroups)"; }
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (make deps installs it)"
	done
}
need_build() {
	local f
	for f in "$SEISMO" "$TESTSERVER" "$LOADGEN"; do
		[ -x "$f" ] || fail "$f is missing: run make tests"
	done
}

cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

# Kills a process (and waits for it) by pid; used by the cleanups.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Removes a cgroup and everything under it, deepest first, after moving any
# process still inside back to the root (a cgroup with members cannot go).
remove_cgroup() {
	local dir=$1 root
	root=$(cgroup2_root)
	[ -d "$dir" ] || return 0
	find "$dir" -depth -type d | while read -r d; do
		if [ -s "$d/cgroup.procs" ]; then
			while read -r p; do echo "$p" >"$root/cgroup.procs"; done <"$d/cgroup.procs"
		fi
		rmdir "$d"
	done
}

make_cgroup() {
	local root top
	root=$(cgroup2_root)
	[ -n "$root" ] || skip "no cgroup2 mount in /proc/mounts"
	CGDIR=$root/$1
	top=$root/${1%%/*}
	if [ ! -d "$top" ]; then
		on_exit "remove_cgroup '$top'"
	fi
	mkdir -p "$CGDIR" || fail "mkdir $CGDIR"
}

# start_in_cgroup REL LOG CMD...: the process joins the cgroup before exec,
# so everything it ever does is charged there.
start_in_cgroup() {
	local rel=$1 logf=$2
	shift 2
	make_cgroup "$rel"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGDIR" "$@" >"$logf" 2>&1 &
	PID=$!
	on_exit "stop_pid $PID"
}

start_bg() {
	local logf=$1
	shift
	"$@" >"$logf" 2>&1 &
	PID=$!
	on_exit "stop_pid $PID"
}

wait_until() {
	local timeout=$1 i
	shift
	for ((i = 0; i < timeout * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }

start_agent() {
	local port=$1
	shift
	need_free_port "$port"
	# The agent keeps baselines in its state_dir: never the node's
	# /var/lib/seismo, always the test's own (--state-dir overrides a config).
	if [[ " $* " != *" --state-dir "* ]]; then
		mkdir -p "$T/state"
		set -- --state-dir "$T/state" "$@"
	fi
	start_bg "$T/agent.log" "$SEISMO" agent --listen "127.0.0.1:$port" "$@"
	AGENT_PID=$PID
	if ! wait_until 30 http_ok "http://127.0.0.1:$port/readyz"; then
		kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited: $(tail -n 5 "$T/agent.log")"
		fail "the agent did not become ready on port $port"
	fi
}

# need_free_port PORT...: a port someone else listens on would make the test
# talk to the wrong process; say so instead.
need_free_port() {
	local p users
	for p in "$@"; do
		users=$(ss -Hltnp "sport = :$p" 2>/dev/null)
		[ -z "$users" ] || fail "port $p is already in use, by: $users"
	done
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT.
wait_port() {
	wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" || fail "nothing listens on port $1"
}

scrape() {
	curl -sf --max-time 5 -o "$2" "http://127.0.0.1:$1/metrics" || fail "scraping the agent on port $1"
}

# prom_sum FILE NAME [label="value" ...]: sums every sample of NAME (exact
# metric name) whose label set contains all the given pairs; 0 if none.
prom_sum() {
	local file=$1 name=$2
	shift 2
	awk -v name="$name" -v filters="$*" '
	BEGIN { n = split(filters, want, " ") }
	{
		brace = index($0, "{")
		metric = brace ? substr($0, 1, brace - 1) : $1
		if (metric != name) next
		labels = brace ? "," substr($0, brace + 1, index($0, "}") - brace - 1) "," : ""
		for (i = 1; i <= n; i++)
			if (index(labels, "," want[i] ",") == 0) next
		sum += $NF
	}
	END { printf "%.9g\n", sum + 0 }' "$file"
}

intervals() {
	curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" |
		awk '$1 == "seismo_intervals_total" { print $2 }'
}

# Every turn that happened before the call is in /metrics once two more
# intervals have closed (the one running may have begun before the turn).
agent_flush() {
	local port=$1 start
	start=$(intervals "$port")
	[ -n "$start" ] || fail "no seismo_intervals_total from the agent on port $port"
	wait_until 60 _intervals_past "$port" $((start + 2)) ||
		fail "the agent on port $port stopped closing intervals"
}
_intervals_past() { [ "$(intervals "$1")" -ge "$2" ]; }

assert_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: want $2, got $3"
	fi
	echo "ok: $1 = $3"
}

# Floating point comparisons with awk.
assert_le() {
	awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
		fail "$1: want $2 <= $3"
	echo "ok: $1: $2 <= $3"
}
assert_between() {
	awk -v lo="$2" -v x="$3" -v hi="$4" 'BEGIN { exit !(lo + 0 <= x + 0 && x + 0 <= hi + 0) }' ||
		fail "$1: want $2 <= $3 <= $4"
	echo "ok: $1: $2 <= $3 <= $4"
}

# JSON field from a file with python3 (jq is not a dependency).
json_get() {
	python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}

# nginx_conf DIR PORT: a config for a foreground nginx on loopback whose
# /work answers the status asked in ?status= (200 otherwise).
nginx_conf() {
	local dir=$1 port=$2
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port;
		location /work {
			if (\$arg_status = "404") { return 404; }
			if (\$arg_status = "500") { return 500; }
			return 200 "ok\n";
		}
		location / { return 200 "ok\n"; }
	}
}
EOF
	echo "$dir/nginx.conf"
}

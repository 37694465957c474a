#!/bin/bash
# Overhead of the agent (issues 2 and 11): nginx on loopback under wrk, nginx
# pinned to CPU 1 and wrk to CPU 0, for two pages: `return 200` (the worst
# case: almost no work per request besides the agent's) and a 16 KiB static
# file (sendfile, as served in production). Per page, ROUNDS rounds of three
# arms in rotating order: without the agent, with it (default: kernel-side
# sampling), and with every request sent to user space (sampling.one_in: 1,
# the Coroot/Beyla design). Then, per socket hook variant this kernel loads
# (SEISMO_HOOK), one round with BPF run-time statistics.
#
#   bench: agent_overhead page=P rounds=N rps_without=.. rps_with=.. median_ratio=..
#          paired_median_ratio=.. cpu_us_per_request_without=.. cpu_us_per_request_with=..
#          cpu_ratio=.. goal_ratio=..
#   bench: agent_overhead_every_request page=P rps=.. paired_median_ratio=..
#          cpu_us_per_request=.. agent_cpu_us_per_request=..
#   bench: agent_overhead_rounds page=P without=.. with=.. every_request=..
#   bench: agent_bpf_variant variant=V page=P runs_per_request=.. ns_per_run=.. ns_per_request=..
#   bench: agent_bpf_prog variant=V page=P prog=NAME runs=.. ns_per_run=..
#
# The machine is shared and noisy: requests/s move with whatever else runs;
# CPU per request (nginx + wrk, from their cgroup's cpu.stat) moves less,
# because other work takes CPUs away but is not charged to this slice.
. "$(dirname "$0")/../../tests/lib/agent.sh"
need_root
need_cmd nginx wrk curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19488 NGINX_PORT=19489
need_free_port $AGENT_PORT $NGINX_PORT
ROUNDS=${ROUNDS:-6} SECS=${SECS:-3} CONNS=${CONNS:-16}
PAGES=${PAGES:-"return_200 static_16k"}

PIN_NGINX=() PIN_WRK=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	PIN_NGINX=(taskset -c 1) PIN_WRK=(taskset -c 0)
fi
mkdir -p "$T/nginx/www/static"
head -c 16384 /dev/urandom >"$T/nginx/www/static/16k.bin"
# nginx's worker runs as nobody: the page must be readable on its path.
chmod 755 "$T" "$T/nginx" "$T/nginx/www" "$T/nginx/www/static"
chmod 644 "$T/nginx/www/static/16k.bin"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $T/nginx/www;
		location = /ok { return 200 "ok\n"; }
		location /static/ { }
	}
}
EOF
start_in_cgroup seismo-bench-overhead.slice/nginx.service "$T/nginx.log" \
	"${PIN_NGINX[@]}" nginx -c "$T/nginx/nginx.conf" -p "$T/nginx"
wait_port $NGINX_PORT
curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/static/16k.bin" || fail "nginx serves no 16k.bin"

make_cgroup seismo-bench-overhead.slice/wrk.service
WRK_CG=$CGDIR
SLICE_DIR=$(dirname "$WRK_CG")
cpu_usec() { awk '$1 == "usage_usec" { print $2 }' "$SLICE_DIR/cpu.stat"; }
path_of() { case $1 in return_200) echo /ok ;; static_16k) echo /static/16k.bin ;; esac; }

# One wrk run in its own cgroup next to nginx's: prints requests/s, the CPU
# microseconds nginx and wrk used per request (the BPF programs run in their
# system calls, so they are in it) and the request count.
load() {
	local before after
	before=$(cpu_usec)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$WRK_CG" "${PIN_WRK[@]}" \
		wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$NGINX_PORT$(path_of "$1")" \
		>"$T/wrk.out" 2>&1 || fail "wrk failed: $(cat "$T/wrk.out")"
	after=$(cpu_usec)
	grep -q "Non-2xx" "$T/wrk.out" && fail "nginx answered errors: $(cat "$T/wrk.out")"
	awk -v cpu=$((after - before)) '/^Requests\/sec:/ { rps = $2 } / requests in / { n = $1 }
		END { printf "%s %.3f %d\n", rps, cpu / n, n }' "$T/wrk.out"
}
agent_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

printf 'interval: 1s\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
printf 'interval: 1s\nstate_dir: %s\nsampling:\n  one_in: 1\n' "$T/state" >"$T/agent-every.yaml"
printf 'interval: 1s\nstate_dir: %s\nbpf_stats: true\n' "$T/state" >"$T/agent-stats.yaml"

# arm PAGE NAME: one round of one arm; appends "rps cpu_us agent_us" to $T/PAGE.NAME
arm() {
	local page=$1 name=$2 rps cpu n a0 a1
	case $name in
	without) read -r rps cpu n < <(load "$page"); echo "$rps $cpu 0" >>"$T/$page.$name"; return ;;
	with) start_agent $AGENT_PORT --config "$T/agent.yaml" ;;
	every) start_agent $AGENT_PORT --config "$T/agent-every.yaml" ;;
	esac
	a0=$(agent_cpu_s "$AGENT_PID")
	read -r rps cpu n < <(load "$page")
	a1=$(agent_cpu_s "$AGENT_PID")
	stop_pid "$AGENT_PID"
	echo "$rps $cpu $(awk -v a="$a0" -v b="$a1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')" \
		>>"$T/$page.$name"
}

for page in $PAGES; do
	load "$page" >/dev/null # warm up nginx and the page cache
	arms=(without with every)
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < 3; i++)); do arm "$page" "${arms[(r + i) % 3]}"; done
		log "$page round $((r + 1)): without $(tail -1 "$T/$page.without") | with $(tail -1 "$T/$page.with") | every $(tail -1 "$T/$page.every")"
	done
	python3 - "$page" "$T/$page.without" "$T/$page.with" "$T/$page.every" <<'EOF'
import statistics as st, sys
page = sys.argv[1]
rows = [[list(map(float, l.split())) for l in open(p)] for p in sys.argv[2:]]
a, b, e = ([r[0] for r in x] for x in rows)
ca, cb, ce = ([r[1] for r in x] for x in rows)
ae = [r[2] for r in rows[2]]
goal = 0.95 if page == "return_200" else 0.99
med = st.median
print(f"bench: agent_overhead page={page} rounds={len(a)} rps_without={med(a):.0f} "
      f"rps_with={med(b):.0f} median_ratio={med(b) / med(a):.4f} "
      f"paired_median_ratio={med(y / x for x, y in zip(a, b)):.4f} "
      f"cpu_us_per_request_without={med(ca):.3f} cpu_us_per_request_with={med(cb):.3f} "
      f"cpu_ratio={med(cb) / med(ca):.4f} spread_without={100 * st.pstdev(a) / st.mean(a):.1f}% "
      f"spread_with={100 * st.pstdev(b) / st.mean(b):.1f}% goal_ratio={goal}")
print(f"bench: agent_overhead_every_request page={page} rps={med(e):.0f} "
      f"median_ratio={med(e) / med(a):.4f} paired_median_ratio={med(y / x for x, y in zip(a, e)):.4f} "
      f"cpu_us_per_request={med(ce):.3f} cpu_ratio={med(ce) / med(ca):.4f} "
      f"agent_cpu_us_per_request={med(ae):.3f} vs_sampling_rps_ratio={med(b) / med(e):.3f}")
print(f"bench: agent_overhead_rounds page={page} without=" + ",".join(f"{x:.0f}" for x in a) +
      " with=" + ",".join(f"{x:.0f}" for x in b) + " every_request=" + ",".join(f"{x:.0f}" for x in e))
open(f"{sys.argv[2]}.cpu", "w").write(f"{med(ca)}\n")
EOF
done

# --- BPF run time per program and variant, with BPF run-time statistics ------------------
ready_or_gone() { http_ok "http://127.0.0.1:$AGENT_PORT/readyz" || ! kill -0 "$1" 2>/dev/null; }
bpf_round() { # variant page
	local variant=$1 page=$2 rps n
	export SEISMO_HOOK=$variant
	start_bg "$T/agent.log" "$SEISMO" agent --listen "127.0.0.1:$AGENT_PORT" \
		--config "$T/agent-stats.yaml"
	AGENT_PID=$PID
	unset SEISMO_HOOK
	# A variant this kernel refuses makes the agent exit at once.
	wait_until 30 ready_or_gone "$AGENT_PID"
	if ! http_ok "http://127.0.0.1:$AGENT_PORT/readyz"; then
		echo "bench: agent_bpf_variant variant=$variant page=$page loadable=no" \
			"reason=\"$(grep -m1 -E 'cannot (load|attach)|matches no' "$T/agent.log" | cut -c26-200)\""
		stop_pid "$AGENT_PID"
		return 1
	fi
	scrape $AGENT_PORT "$T/before.txt"
	read -r rps _ n < <(load "$page")
	scrape $AGENT_PORT "$T/after.txt"
	stop_pid "$AGENT_PID"
	python3 - "$T/before.txt" "$T/after.txt" "$n" "$variant" "$page" <<'EOF'
import re, sys
def read(path):
    runs, secs = {}, {}
    for line in open(path):
        m = re.match(r'seismo_bpf_prog_(runs_total|run_seconds_total)\{program="([^"]+)"\} (\S+)', line)
        if m:
            (runs if m.group(1) == "runs_total" else secs)[m.group(2)] = float(m.group(3))
    return runs, secs
r0, s0 = read(sys.argv[1])
r1, s1 = read(sys.argv[2])
requests, variant, page = float(sys.argv[3]), sys.argv[4], sys.argv[5]
total_runs = total_secs = 0
for prog in sorted(r1):
    runs = r1[prog] - r0.get(prog, 0)
    secs = s1[prog] - s0.get(prog, 0)
    if runs <= 0:
        continue
    total_runs += runs
    total_secs += secs
    print(f"bench: agent_bpf_prog variant={variant} page={page} prog={prog} runs={runs:.0f} "
          f"ns_per_run={secs * 1e9 / runs:.0f}")
if not total_runs:
    sys.exit("no BPF program runs counted: are BPF run-time statistics available?")
print(f"bench: agent_bpf_variant variant={variant} page={page} loadable=yes requests={requests:.0f} "
      f"runs_per_request={total_runs / requests:.2f} ns_per_run={total_secs * 1e9 / total_runs:.0f} "
      f"ns_per_request={total_secs * 1e9 / requests:.0f} goal_ns_per_run=200 goal_ns_per_request=800")
EOF
}
for variant in fexit:tcp_sendmsg+sk_storage tp_btf:sock_send_length+sk_storage \
	tp_btf:sock_send_length+hash; do
	for page in $PAGES; do
		bpf_round "$variant" "$page" || break
	done
done

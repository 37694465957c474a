#!/bin/bash
# Overhead of the agent (issue 2, item 7): nginx on loopback under wrk,
# requests/s without and with the agent attached, alternated in one run
# (ROUNDS rounds of A = without, B = with), as a ratio; then one more round
# with kernel.bpf_stats_enabled (agent config bpf_stats: true) for the mean
# ns per BPF program run and the BPF time per request.
#
#   bench: agent_overhead rps_without=... rps_with=... ratio=... goal_ratio=0.97
#   bench: agent_overhead_cpu cpu_us_per_request_without=... cpu_us_per_request_with=...
#   bench: agent_bpf_prog prog=NAME runs=... ns_per_run=...
#   bench: agent_bpf_total ns_per_request=... ns_per_run=...
#
# On a shared 2-core machine wrk, nginx and the kernel programs compete for
# the same CPUs, so the per-round numbers are printed too: their spread says
# how much of the ratio is noise.
. "$(dirname "$0")/../../tests/lib/agent.sh"
need_root
need_cmd nginx wrk curl
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19488 NGINX_PORT=19489
need_free_port $AGENT_PORT $NGINX_PORT
ROUNDS=${ROUNDS:-5} SECS=${SECS:-5} CONNS=${CONNS:-16}

# nginx's one worker on CPU 1, wrk on CPU 0: less migration noise.
PIN_NGINX=() PIN_WRK=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	PIN_NGINX=(taskset -c 1) PIN_WRK=(taskset -c 0)
fi
start_in_cgroup seismo-bench-overhead.slice/nginx.service "$T/nginx.log" \
	"${PIN_NGINX[@]}" nginx -c "$(nginx_conf "$T/nginx" $NGINX_PORT)" -p "$T/nginx"
wait_port $NGINX_PORT

make_cgroup seismo-bench-overhead.slice/wrk.service
WRK_CG=$CGDIR
SLICE_DIR=$(dirname "$WRK_CG")
cpu_usec() { awk '$1 == "usage_usec" { print $2 }' "$SLICE_DIR/cpu.stat"; }

# One wrk run (in its own cgroup, next to nginx's); prints requests/s and
# the CPU time nginx and wrk used per request, in microseconds: with the
# agent this includes the BPF programs, which run in their system calls.
# CPU per request is less disturbed than requests/s by other work on the
# machine, which takes CPUs away but is not charged to this slice.
load() {
	local before after
	before=$(cpu_usec)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$WRK_CG" "${PIN_WRK[@]}" \
		wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$NGINX_PORT/" >"$T/wrk.out" 2>&1 ||
		fail "wrk failed: $(cat "$T/wrk.out")"
	after=$(cpu_usec)
	awk -v cpu=$((after - before)) '/^Requests\/sec:/ { rps = $2 } / requests in / { n = $1 }
		END { printf "%s %.3f\n", rps, cpu / n }' "$T/wrk.out"
}
stop_agent() { stop_pid "$AGENT_PID"; }

printf 'interval: 1s\nstate_dir: %s\n' "$T/state" >"$T/agent.yaml"
printf 'interval: 1s\nstate_dir: %s\nbpf_stats: true\n' "$T/state" >"$T/agent-stats.yaml"
load >/dev/null # warm up nginx and the page cache
without=() with=() cpu_without=() cpu_with=()
for ((r = 1; r <= ROUNDS; r++)); do
	read -r rps cpu < <(load)
	without+=("$rps") cpu_without+=("$cpu")
	start_agent $AGENT_PORT --config "$T/agent.yaml"
	read -r rps cpu < <(load)
	with+=("$rps") cpu_with+=("$cpu")
	stop_agent
	log "round $r: without=${without[-1]} rps ${cpu_without[-1]} us/req, with=${with[-1]} rps ${cpu_with[-1]} us/req"
done
python3 - "${without[*]}" "${with[*]}" "${cpu_without[*]}" "${cpu_with[*]}" "$T/cpu_without" <<'EOF'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ca = [float(x) for x in sys.argv[3].split()]
cb = [float(x) for x in sys.argv[4].split()]
ratio = statistics.mean(b) / statistics.mean(a)
print(f"bench: agent_overhead rounds={len(a)} rps_without={statistics.mean(a):.0f} "
      f"rps_with={statistics.mean(b):.0f} ratio={ratio:.4f} loss={100 * (1 - ratio):.2f}% "
      f"median_ratio={statistics.median(b) / statistics.median(a):.4f} "
      f"paired_median_ratio={statistics.median(y / x for x, y in zip(a, b)):.4f} "
      f"spread_without={100 * statistics.pstdev(a) / statistics.mean(a):.1f}% "
      f"spread_with={100 * statistics.pstdev(b) / statistics.mean(b):.1f}% goal_ratio=0.97")
print("bench: agent_overhead_rounds without=" + ",".join(f"{x:.0f}" for x in a) +
      " with=" + ",".join(f"{x:.0f}" for x in b))
print(f"bench: agent_overhead_cpu cpu_us_per_request_without={statistics.median(ca):.2f} "
      f"cpu_us_per_request_with={statistics.median(cb):.2f} "
      f"cpu_ratio={statistics.median(cb) / statistics.median(ca):.4f} "
      f"implied_rps_ratio={statistics.median(ca) / statistics.median(cb):.4f} (medians over rounds)")
open(sys.argv[5], "w").write(f"{statistics.median(ca)}\n")
EOF

# --- BPF run time per program, with kernel.bpf_stats_enabled ---------------------------
start_agent $AGENT_PORT --config "$T/agent-stats.yaml"
scrape $AGENT_PORT "$T/before.txt"
read -r rps _ < <(load)
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/after.txt"
stop_agent
python3 - "$T/before.txt" "$T/after.txt" "$rps" "$SECS" "$(cat "$T/cpu_without")" <<'EOF'
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
requests = float(sys.argv[3]) * float(sys.argv[4])
total_runs = total_secs = 0
for prog in sorted(r1):
    runs = r1[prog] - r0.get(prog, 0)
    secs = s1[prog] - s0.get(prog, 0)
    if runs <= 0:
        continue
    total_runs += runs
    total_secs += secs
    print(f"bench: agent_bpf_prog prog={prog} runs={runs:.0f} ns_per_run={secs * 1e9 / runs:.0f}")
if not total_runs:
    sys.exit("no BPF program runs counted: is kernel.bpf_stats_enabled writable?")
# What the kernel programs add to the CPU time one request costs nginx and
# wrk without the agent: when they are CPU-bound, requests/s fall by as much.
bpf_us = total_secs * 1e6 / requests
cpu_without = float(sys.argv[5])
print(f"bench: agent_bpf_total requests={requests:.0f} runs={total_runs:.0f} "
      f"ns_per_run={total_secs * 1e9 / total_runs:.0f} ns_per_request={bpf_us * 1e3:.0f} "
      f"cpu_us_per_request_without={cpu_without:.2f} bpf_share={100 * bpf_us / cpu_without:.1f}% "
      f"cpu_bound_rps_ratio={cpu_without / (cpu_without + bpf_us):.4f} rps_with_stats={float(sys.argv[3]):.0f}")
EOF

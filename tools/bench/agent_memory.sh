#!/bin/bash
# Memory of the agent with 1,000 services (issue 2, item 7).
#
# One seismo-testserver forks 1,000 children, each listening on its own
# loopback address (127.0.1.1 ... 127.0.4.232, one port) inside its own
# cgroup .../seismo-svc-I.service, so the agent sees 1,000 services, named by
# unit. Each gets a few requests from seismo-loadgen, which adds 1,000 client
# series (one per callee). Then: the agent's RSS, its own estimate of BPF map
# memory (seismo_bpf_map_memory_bytes), and what the kernel charges for the
# same maps (bpftool map show: memlock, the kernel's own accounting of each
# map's memory).
#
#   bench: agent_memory services=1000 series=... rss_kib=... bpf_map_bytes_agent=... bpf_memlock_bytes=...
#   bench: agent_memory_percpu cpus=N hists_percpu=.. hists_shared=.. hist_bytes=..
#          hist_bytes_at_64_cpus=.. (what the same keys would hold on a 64-CPU node)
#
# Histograms are per-CPU (one 3.6 KiB copy per possible CPU and key) up to a
# 32 MiB budget (agent/collect/collector.c: PERCPU_HIST_BUDGET); keys beyond it are
# kept once, in the shared map. The 64-CPU figure applies that rule to the
# keys counted here.
. "$(dirname "$0")/../../tests/lib/agent.sh"
need_root
need_cmd curl python3 bpftool
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19490 SVC_PORT=19491 N=${SERVICES:-1000} REQUESTS=${REQUESTS:-5}
need_free_port $AGENT_PORT $SVC_PORT
SLICE=seismo-bench-memory.slice

start_agent $AGENT_PORT --interval 2s
rss_idle=$(awk '/^VmRSS/ { print $2 }' /proc/$AGENT_PID/status)
make_cgroup $SLICE
start_bg "$T/testserver.log" "$TESTSERVER" --hosts-from 127.0.1.1 --ports-from $SVC_PORT \
	--ports "$N" --cgroup-parent "$CGDIR" --ready-file "$T/ready"
wait_until 120 test -s "$T/ready" || fail "the $N test servers did not start"
log "$N services listening"

# Address of service i: 127.0.1.1 + i.
addr() { local a=$((256 + 1 + $1)); echo "127.0.$((a / 256)).$((a % 256))"; }
for ((i = 0; i < N; i++)); do addr $i; done >"$T/targets"
start=$(date +%s)
xargs -P 4 -I{} "$LOADGEN" --target {}:$SVC_PORT --connections 1 --requests "$REQUESTS" -q \
	<"$T/targets" || fail "loadgen failed"
log "drove $REQUESTS requests to each of $N services in $(($(date +%s) - start)) s"
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
services=$(grep -o '^http_requests_total{service="seismo-svc-[0-9]*"' "$T/m.txt" | sort -u | wc -l)
counted=$(awk '/^http_requests_total\{service="seismo-svc-/ { s += $NF } END { print s + 0 }' "$T/m.txt")
rss=$(awk '/^VmRSS/ { print $2 }' /proc/$AGENT_PID/status)
hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$AGENT_PID/status)
series=$(awk '$1 == "seismo_series" { print $2 }' "$T/m.txt")
hists=$(prom_sum "$T/m.txt" seismo_bpf_map_entries map=\"hists\")
agent_bytes=$(awk '/^seismo_bpf_map_memory_bytes/ { s += $NF } END { printf "%.0f", s }' "$T/m.txt")
# The kernel's view: the maps the agent holds open (map_id in the fdinfo of
# its descriptors), with their memlock as bpftool reports it.
bpftool -j map show >"$T/maps.json" || fail "bpftool map show"
read -r memlock nmaps < <(python3 - "$T/maps.json" "$AGENT_PID" <<'EOF'
import glob, json, sys
maps = {m["id"]: m for m in json.load(open(sys.argv[1]))}
ids = set()
for info in glob.glob(f"/proc/{sys.argv[2]}/fdinfo/*"):
    try:
        for line in open(info):
            if line.startswith("map_id:"):
                ids.add(int(line.split()[1]))
    except OSError:
        pass
print(sum(int(maps[i].get("bytes_memlock", 0)) for i in ids if i in maps), len(ids))
EOF
)
hist_percpu=$(prom_sum "$T/m.txt" seismo_bpf_map_entries map=\"hists\")
hist_shared=$(prom_sum "$T/m.txt" seismo_bpf_map_entries map=\"hists_shared\")
hist_bytes=$(awk '/^seismo_bpf_map_memory_bytes\{map="hists(_shared)?"\}/ { s += $NF } END { printf "%.0f", s }' "$T/m.txt")
read -r bytes64 percpu64 < <(python3 - "$hist_percpu" "$hist_shared" <<'EOF'
import sys
keys = int(float(sys.argv[1])) + int(float(sys.argv[2]))
hist, key, overhead = 3600, 40, 64        # sizeof(struct seismo_hist), of the key, per entry
budget = 32 << 20                         # PERCPU_HIST_BUDGET
fit = max(16, budget // (hist * 64))      # per-CPU keys at 64 CPUs
percpu = min(keys, fit)
print(percpu * (key + hist * 64 + overhead) + (keys - percpu) * (key + hist + overhead), percpu)
EOF
)
[ "$services" -ge "$N" ] || echo "note: only $services of $N services seen in /metrics" >&2
echo "bench: agent_memory services=$services requests=$counted series=$series hists_entries=$hists" \
	"rss_kib=$rss rss_peak_kib=$hwm rss_idle_kib=$rss_idle" \
	"bpf_map_bytes_agent=$agent_bytes bpf_memlock_bytes=$memlock bpf_maps=$nmaps"
echo "bench: agent_memory_percpu cpus=$(nproc --all) hists_percpu=$hist_percpu hists_shared=$hist_shared" \
	"hist_bytes=$hist_bytes hist_bytes_at_64_cpus=$bytes64 percpu_keys_at_64_cpus=$percpu64"

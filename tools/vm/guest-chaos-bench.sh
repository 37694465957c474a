# Runs inside the chaos VM as /guest.sh for tools/bench/chaos.sh: the same
# veth pair as the VM test, with seismo (tc BPF + fq) and with tc netem at
# the same settings and packet rate. Prints "BENCH key=value ..." lines.
ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }
RATE=${RATE:-200} SECONDS_EACH=${SECONDS_EACH:-6} FLOWS=64
COUNT=$((RATE * SECONDS_EACH))

ip netns add a && ip netns add b &&
	ip link add va netns a type veth peer name vb netns b &&
	ip -n a addr add 10.99.0.1/24 dev va && ip -n b addr add 10.99.0.2/24 dev vb &&
	ip -n a link set va up && ip -n b link set vb up &&
	ip -n a link set lo up && ip -n b link set lo up || exit 1
# veth hands each packet to the backlog of the CPU that sent it, so two
# packets of one flow sent from different CPUs can swap places after any
# qdisc; steering both receive queues to CPU 0 (RPS) takes that out of what
# is measured here: ordering on the wire as the qdisc released it
ip netns exec a sh -c 'echo 1 >/sys/class/net/va/queues/rx-0/rps_cpus'
ip netns exec b sh -c 'echo 1 >/sys/class/net/vb/queues/rx-0/rps_cpus'
ip netns exec b nettool udp-echo 19201 &
sleep 1
echo 1 >/proc/sys/kernel/bpf_stats_enabled

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# measure PREFIX COUNT RATE FLOWS: nettool's line plus cpu_ns_per_pkt
measure() {
	local before after line
	before=$(busy)
	line=$(ip netns exec a nettool udp-rtt 10.99.0.2 19201 "$2" "$3" "$4" 3000)
	after=$(busy)
	echo "$line cpu_ns_per_pkt=$(awk "BEGIN { print int(($after - $before) * 10000000 / $2) }")" |
		sed "s/\([a-z0-9_]*\)=/$1_\1=/g"
}
value() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
wait_listed() {
	for _ in $(seq 1 100); do
		seismo chaos list --json 2>/dev/null | grep -q '"name":"bench"' && return 0
		sleep 0.1
	done
	return 1
}

# warm-up (ARP, caches), printed for reference
base=$(measure base "$COUNT" "$RATE" "$FLOWS")
echo "BENCH baseline $base"
base_p50=$(value "$base" base_p50_us)
base_cpu=$(value "$base" base_cpu_ns_per_pkt)

for setting in "100 0" "100 10"; do
	set -- $setting
	lat=$1 jit=$2
	# the VM's own RTT drifts with the host's load: a baseline right before
	# each tool, subtracted from that tool's quantiles
	sb=$(measure sbase "$COUNT" "$RATE" "$FLOWS")
	seismo chaos delay --netns /var/run/netns/a -i va -l "${lat}ms" -j "${jit}ms" -t 300 \
		--rate $((RATE * 2)) --flow-rate 100 --name bench --report - >/tmp/bench.out 2>&1 &
	runner=$!
	wait_listed || { echo "BENCH error seismo did not start: $(cat /tmp/bench.out)"; exit 1; }
	s=$(measure seismo "$COUNT" "$RATE" "$FLOWS")
	s1=$(measure seismo_one $((RATE * 2)) "$RATE" 1)
	prog_ns=$(seismo chaos list --json | sed -n 's/.*"prog_ns_per_run":\([0-9.]*\).*/\1/p')
	kill -TERM $runner
	wait $runner

	nb=$(measure nbase "$COUNT" "$RATE" "$FLOWS")
	if [ "$jit" = 0 ]; then
		ip netns exec a tc qdisc replace dev va root netem delay "${lat}ms" limit 100000
	else
		ip netns exec a tc qdisc replace dev va root netem delay "${lat}ms" "${jit}ms" limit 100000
	fi
	n=$(measure netem "$COUNT" "$RATE" "$FLOWS")
	n1=$(measure netem_one $((RATE * 2)) "$RATE" 1)
	ip netns exec a tc qdisc del dev va root

	# expected RTT quantiles: uniform latency ± jitter on top of the base RTT
	echo "BENCH raw latency_ms=$lat jitter_ms=$jit $sb $s $s1 $nb $n $n1"
	awk -v prog="${prog_ns:-0}" -v lat="$lat" -v jit="$jit" -v rate="$RATE" -v base="$base_p50" -v bcpu="$base_cpu" \
		-v s="$s $s1 $sb" -v n="$n $n1 $nb" 'BEGIN {
		split(s " " n, kv, " ")
		for (i in kv) { split(kv[i], p, "="); v[p[1]] = p[2] }
		exp50 = lat * 1000; exp99 = lat * 1000 + 0.98 * jit * 1000
		printf "BENCH chaos_delay latency_ms=%d jitter_ms=%d rate_pps=%d", lat, jit, rate
		printf " seismo_median_err_us=%d netem_median_err_us=%d", v["seismo_p50_us"] - v["sbase_p50_us"] - exp50, v["netem_p50_us"] - v["nbase_p50_us"] - exp50
		printf " seismo_p99_err_us=%d netem_p99_err_us=%d", v["seismo_p99_us"] - v["sbase_p50_us"] - exp99, v["netem_p99_us"] - v["nbase_p50_us"] - exp99
		printf " seismo_lost=%d netem_lost=%d", v["seismo_lost"], v["netem_lost"]
		printf " seismo_one_flow_reordered=%d netem_one_flow_reordered=%d", v["seismo_one_reordered"], v["netem_one_reordered"]
		printf " baseline_cpu_ns_per_pkt=%d seismo_cpu_ns_per_pkt=%d netem_cpu_ns_per_pkt=%d", (v["sbase_cpu_ns_per_pkt"] + v["nbase_cpu_ns_per_pkt"]) / 2, v["seismo_cpu_ns_per_pkt"], v["netem_cpu_ns_per_pkt"]
		printf " seismo_over_netem_cpu=%.2f seismo_bpf_ns_per_pkt=%s\n", v["seismo_cpu_ns_per_pkt"] / v["netem_cpu_ns_per_pkt"], prog
	}'
done
exit 0

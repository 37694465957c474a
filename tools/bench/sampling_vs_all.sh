#!/bin/bash
# Kernel-side anomaly sampling vs sending every request to user space (what
# Coroot's and Beyla's agents do), at the same load: nginx on loopback under
# wrk for the same duration, once with the agent's default sampling (only
# turns slower than the service's threshold, or 5xx, capped by a token
# bucket) and once with sampling.one_in: 1 (every turn crosses the ring
# buffer and is handled in user space). Reports ring-buffer records and
# bytes, agent CPU seconds, and requests/s for each, side by side.
. "$(dirname "$0")/../../tests/lib/agent.sh"
need_root
need_cmd nginx wrk
need_build

PORT_NGINX=19440 PORT_AGENT=19441 SECS=${SECS:-10}
SAMPLE_BYTES=120 # sizeof(struct seismo_sample)
mkdir -p "$T/nginx"
cat >"$T/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $T/nginx.pid; error_log $T/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$PORT_NGINX; location / { return 200 "ok\n"; } } }
CONF
make_cgroup seismo-bench.slice/nginx.service
start_in_cgroup seismo-bench.slice/nginx.service "$T/nginx.log" nginx -c "$T/nginx.conf" -p "$T/nginx"
wait_until 10 curl -sf "http://127.0.0.1:$PORT_NGINX/" || fail "nginx did not start"

cpu_seconds() { # utime + stime of a pid, in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

run_mode() { # name one_in
	local name=$1 one_in=$2 before after rps emitted
	printf 'interval: 1s\nsampling:\n  one_in: %s\n' "$one_in" >"$T/agent-$name.yaml"
	start_agent $PORT_AGENT --config "$T/agent-$name.yaml"
	before=$(cpu_seconds "$AGENT_PID")
	rps=$(wrk -t1 -c16 -d"${SECS}s" "http://127.0.0.1:$PORT_NGINX/" | awk '/Requests\/sec/ { print $2 }')
	agent_flush $PORT_AGENT
	after=$(cpu_seconds "$AGENT_PID")
	scrape $PORT_AGENT "$T/m-$name"
	emitted=$(prom_sum "$T/m-$name" seismo_samples_total 'outcome="emitted"')
	stop_pid "$AGENT_PID"
	echo "$name $rps $emitted $(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
}

read -r _ rps_t rec_t cpu_t < <(run_mode threshold 0)
read -r _ rps_a rec_a cpu_a < <(run_mode every 1)
echo "bench: sampling_vs_all mode=threshold requests_per_s=$rps_t ringbuf_records=$rec_t ringbuf_bytes=$((${rec_t%.*} * SAMPLE_BYTES)) agent_cpu_s=$cpu_t"
echo "bench: sampling_vs_all mode=every_request requests_per_s=$rps_a ringbuf_records=$rec_a ringbuf_bytes=$((${rec_a%.*} * SAMPLE_BYTES)) agent_cpu_s=$cpu_a"
awk -v rt="$rec_t" -v ra="$rec_a" -v ct="$cpu_t" -v ca="$cpu_a" 'BEGIN {
	printf "bench: sampling_vs_all ringbuf_reduction=%.0fx agent_cpu_ratio=%.2f\n",
		ra / (rt > 0 ? rt : 1), (ct > 0 ? ca / ct : 0) }'

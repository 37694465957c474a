# Runs inside the chaos VM as /guest.sh (see tests/vm/chaos_delay_vm.sh).
# Two network namespaces joined by a veth pair: a (10.99.0.1, va) sends,
# b (10.99.0.2, vb) echoes. seismo delays va's egress. Prints one
# "CHECK NAME PASS|FAIL details" line per check; exits with the failures.
ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }
failures=0
check() { # NAME CONDITION VARIABLES [DETAILS]: CONDITION is awk over VARIABLES
	if awk "BEGIN { $3; exit !($2) }" </dev/null; then
		echo "CHECK $1 PASS $3 ${4:-} (t=$(cut -d' ' -f1 /proc/uptime))"
	else
		echo "CHECK $1 FAIL ($2) $3 ${4:-}"
		failures=$((failures + 1))
	fi
}
same() { [ "$1" = "$2" ] && echo 1 || echo 0; }
# the nettool line "sent=.. p50_us=.." as awk assignments with a prefix
rtt() { # PREFIX COUNT RATE FLOWS
	ip netns exec a nettool udp-rtt 10.99.0.2 19201 "$2" "$3" "$4" 3000 |
		sed "s/\([a-z0-9_]*\)=/$1_\1=/g; s/ /; /g"
}
qdisc_of_va() { ip netns exec a tc qdisc show dev va | sed 's/ refcnt [0-9]*//'; }
ofo() { ip netns exec b cat /proc/net/netstat |
	awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) k[i] = $i; n = 1 }
		else for (i = 1; i <= NF; i++) if (k[i] == "TCPOFOQueue") print $i }'; }
wait_listed() { # NAME: until list shows it (the CLI pins before it changes va)
	for _ in $(seq 1 100); do
		seismo chaos list --json 2>/dev/null | grep -q "\"name\":\"$1\"" && return 0
		sleep 0.1
	done
	return 1
}
json_field() { seismo chaos list --json | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | head -1; }

ip netns add a && ip netns add b &&
	ip link add va netns a type veth peer name vb netns b &&
	ip -n a addr add 10.99.0.1/24 dev va && ip -n b addr add 10.99.0.2/24 dev vb &&
	ip -n a link set va up && ip -n b link set vb up &&
	ip -n a link set lo up && ip -n b link set lo up || { echo "CHECK setup FAIL"; exit 1; }
# veth hands each packet to the backlog of the CPU that sent it, so two
# packets of one flow sent from different CPUs can swap places after any
# qdisc; steering both receive queues to CPU 0 (RPS) takes that out of what
# is measured here: ordering on the wire as the qdisc released it
ip netns exec a sh -c 'echo 1 >/sys/class/net/va/queues/rx-0/rps_cpus'
ip netns exec b sh -c 'echo 1 >/sys/class/net/vb/queues/rx-0/rps_cpus'
ip netns exec b nettool udp-echo 19201 &
sleep 1

base=$(rtt base 300 100 32)
echo "baseline: $base"
before_default=$(qdisc_of_va)

# --- 1. accuracy and ordering (stopped with SIGTERM afterwards) ----------
seismo chaos delay --netns /var/run/netns/a -i va -l 200ms -j 20ms -t 120 --flow-rate 5000 \
	--report - >/tmp/accuracy.out 2>&1 &
runner=$!
wait_listed delay-va || echo "CHECK start FAIL: $(cat /tmp/accuracy.out)"
during=$(rtt chaos 250 50 32)
echo "uniform 200ms ± 20ms: $during"
# RTT = added delay + the VM's own RTT noise (positive, heavy-tailed under
# TCG): the median and the low tail compare directly, the high tail only
# has a lower bound
check rtt_median_within_2pct "chaos_p50_us - base_p50_us >= 196000 && chaos_p50_us - base_p50_us <= 204000" "$base; $during"
check rtt_never_below_latency_minus_jitter "chaos_min_us >= 180000" "$during"
check rtt_jitter_spread "chaos_p05_us - base_p05_us >= 178000 && chaos_p05_us - base_p05_us <= 190000 && chaos_p95_us - base_p50_us >= 210000" "$base; $during"
check rtt_no_loss "chaos_lost == 0" "$during"
# one UDP flow at a packet every 4 ms under ±20 ms jitter: without
# tstamp = max(candidate, last) about half would overtake each other
single=$(rtt one 300 250 1)
echo "one flow: $single"
check udp_flow_in_order "one_reordered == 0 && one_lost == 0" "$single"
ofo_before=$(ofo)
ip netns exec b nettool tcp-sink 19202 >/tmp/sink.out &
sink=$!
sleep 0.5
ip netns exec a nettool tcp-send 10.99.0.2 19202 300000
wait $sink
ofo_after=$(ofo)
held=$(json_field reorder_held)
echo "diag: fq on va: $(ip netns exec a tc -s qdisc show dev va | tr '\n' ' ')"
echo "diag: sender: $(ip netns exec a cat /proc/net/snmp | awk '/^Tcp:/ { print }' | tail -1)"
check tcp_flow_in_order "ofo_after - ofo_before == 0 && bytes == 300000 && held > 0" "ofo_before=$ofo_before; ofo_after=$ofo_after; $(cat /tmp/sink.out); held=${held:-0}"
kill -TERM $runner
wait $runner
check sigterm_rolls_back_default "rc == 1 && ok" "rc=$?; ok=$(same "$(qdisc_of_va)" "$before_default")" "$(grep -o 'chaos over.*' /tmp/accuracy.out | head -1)"

# --- 2. expiry with seismo alive: untouched after, default qdisc back ------
seismo chaos delay --netns /var/run/netns/a -i va -l 100ms -t 3 \
	--report /tmp/expiry.json >/tmp/expiry.out 2>&1
check expiry_exit_pass "rc == 0" "rc=$?" "$(tail -c 300 /tmp/expiry.out | tr '\r\n' '  ')"
after=$(rtt after 100 50 16)
check untouched_after_expiry "after_p50_us < base_p50_us + 5000 && after_p50_us < 20000" "$base; $after"
check default_qdisc_restored "ok" "ok=$(same "$(qdisc_of_va)" "$before_default")" "before: $before_default, now: $(qdisc_of_va)"
check pins_removed "ok" "ok=$(same "$(ls /sys/fs/bpf/seismo/chaos)" "")" "pins: $(ls /sys/fs/bpf/seismo/chaos)"
grep -q '"verdict": "Pass"' /tmp/expiry.json
check verdict_json "rc == 0" "rc=$?" "$(tr -d ' \n' </tmp/expiry.json | cut -c1-160)"

# --- 3. SIGKILL: the kernel ends it on time; a configured qdisc comes back ---
# fq_codel keeps times in 1024 ns units and dumps them in µs, so a save
# and restore of "3ms" comes back as 2999us: the kernel's own rounding, not
# seismo's. Values that are whole 1024 ns units survive any number of them.
ip netns exec a tc qdisc replace dev va root handle 7: fq_codel limit 1234 target 4096us \
	interval 102400us
configured=$(qdisc_of_va)
seismo chaos delay --netns /var/run/netns/a -i va -l 100ms -t 10 --report - \
	>/tmp/killed.out 2>&1 &
victim=$!
wait_listed delay-va
kill -9 $victim
wait $victim 2>/dev/null
orphan=$(rtt orphan 50 50 8)
check delayed_after_sigkill "orphan_p50_us >= 100000" "$orphan"
left=$(json_field seconds_left)
sleep "$(awk "BEGIN { print $left + 0.5 }")"
expired=$(rtt expired 100 50 16)
check untouched_after_sigkill_expiry "expired_p50_us < base_p50_us + 5000 && expired_p50_us < 20000" "$base; $expired"
seismo chaos list | grep -q 'expired.*(gone)'
check list_shows_expired_orphan "rc == 0" "rc=$?" "$(seismo chaos list | head -1)"
seismo chaos stop --expired
check configured_qdisc_restored "ok" "ok=$(same "$(qdisc_of_va)" "$configured")" "configured: $configured, now: $(qdisc_of_va)"

# --- 4. SIGTERM with a configured qdisc; 5. 'stop' from another process -------
# the namespace named by a process in it (4) and by a cgroup holding it (5)
/usr/sbin/ip netns exec a sleep 1000 &
resident=$!
mkdir /sys/fs/cgroup/svc && echo $resident >/sys/fs/cgroup/svc/cgroup.procs
seismo chaos delay --pid $resident -i va -l 100ms -t 60 --report - >/tmp/term.out 2>&1 &
runner=$!
wait_listed delay-va
seismo chaos stop --expired
seismo chaos list | grep -q ' active '
check stop_expired_spares_running "rc == 0" "rc=$?" "$(seismo chaos list | head -1)"
kill -TERM $runner
wait $runner
term_rc=$?
check sigterm_rolls_back "rc == 1 && ok" "rc=$term_rc; ok=$(same "$(qdisc_of_va)" "$configured")" "$(grep -o 'chaos over.*' /tmp/term.out | head -1) $(grep error /tmp/term.out)"
seismo chaos delay --cgroup /sys/fs/cgroup/svc -i va -l 100ms -t 60 --report - >/tmp/stop.out 2>&1 &
runner=$!
wait_listed delay-va
seismo chaos stop delay-va
wait $runner
stop_rc=$?
after_stop=$(rtt stopped 50 50 8)
check stop_from_other_process "rc == 1 && ok && stopped_p50_us < 20000" "rc=$stop_rc; ok=$(same "$(qdisc_of_va)" "$configured"); $after_stop" "$(grep -o 'chaos over.*' /tmp/stop.out | head -1) $(grep error /tmp/stop.out)"

# --- 6. a stop-on-failure probe rolls back at once: an HTTP server in b
# answers within 50 ms without chaos, not with 300 ms of delay ------------
mkdir -p /tmp/www && echo ok >/tmp/www/healthz
ip netns exec b httpd -p 19203 -h /tmp/www
sleep 0.5
ip netns exec a seismo chaos delay -i va -l 300ms -t 120 --report /tmp/probe.json \
	--probe "health url=http://10.99.0.2:19203/healthz mode=OnChaos timeout=150ms interval=300ms retry=1 stop-on-failure" \
	>/tmp/probe.out 2>&1
probe_rc=$?
grep -q '"verdict": "Fail"' /tmp/probe.json && grep -q 'health failed' /tmp/probe.json
check probe_failure_rolls_back "rc == 1 && found == 0 && ok" "rc=$probe_rc; found=$?; ok=$(same "$(qdisc_of_va)" "$configured")" "$(grep -o 'chaos over.*' /tmp/probe.out | head -1)"

# --- 7. loss: 30 % of 1000 probes, within 6 standard deviations -----------
seismo chaos delay --netns /var/run/netns/a -i va --loss 30 -t 60 --report - >/tmp/loss.out 2>&1 &
runner=$!
wait_listed delay-va
lossy=$(rtt lossy 1000 200 32)
kill -TERM $runner
wait $runner
check loss_rate "lossy_lost >= 213 && lossy_lost <= 387" "$lossy"
check loss_rolled_back "ok" "ok=$(same "$(qdisc_of_va)" "$configured")" "now: $(qdisc_of_va) log: $(tr '\r\n' '  ' </tmp/loss.out | tail -c 600)"

echo "chaos VM test: $failures failed checks"
exit $failures

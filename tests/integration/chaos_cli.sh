#!/bin/bash
# timeout: 240
# seismo chaos on this machine's kernel: help texts, the refusal that names
# sch_fq before anything is touched, dry-run plans (options, Litmus env
# names, the seed's ChaosEngines), node limits and the config switch, bad
# input, process-kill in a cgroup this test creates, and HTTP probes of
# every mode against a loopback server. Ports 19200-19209.
set -uo pipefail
cd "${SEISMO_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-$PWD/build}
seismo=$BUILD/seismo
[ -x "$seismo" ] || { echo "FAIL: $seismo not built"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (netns, cgroups, BPF)"; exit 77; }

tmp=$(mktemp -d)
ns=seismo-chaos-it-$$
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
cg=${cgroot:+$cgroot/seismo-chaos-it-$$}
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$cg" ] && [ -d "$cg" ] && rmdir "$cg"
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failures=$((failures + 1)); }
expect() { # NAME EXPECTED_RC COMMAND...: runs it, output in $tmp/out
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then pass "$name"; else
		fail "$name (exit $rc, wanted $want)"; sed 's/^/      | /' "$tmp/out" | tail -15
	fi
}
contains() { # NAME PATTERN: grep -E in $tmp/out
	if grep -Eq -- "$2" "$tmp/out"; then pass "$1"; else
		fail "$1 (no /$2/ in output)"; sed 's/^/      | /' "$tmp/out" | tail -15
	fi
}

# --- help ---------------------------------------------------------------------
expect "chaos --help" 0 "$seismo" chaos --help
contains "chaos --help names the subcommands" "delay.*kill.*|stop"
for sub in delay kill run stop list; do
	expect "chaos $sub --help" 0 "$seismo" chaos "$sub" --help
	contains "chaos $sub --help is its usage" "usage: seismo chaos $sub"
done
expect "unknown subcommand" 2 "$seismo" chaos explode

# --- refusal without fq, in a namespace of our own ----------------------------
ip netns add "$ns" || { echo "FAIL: ip netns add"; exit 1; }
ip -n "$ns" link set lo up
qdisc_before=$(ip netns exec "$ns" tc qdisc show dev lo)
if unshare -n tc qdisc add dev lo root fq 2>/dev/null; then
	echo "note: this kernel has fq, so the refusal case cannot be shown here"
else
	expect "delay refused without fq" 2 "$seismo" chaos delay --netns "/var/run/netns/$ns" \
		-i lo -l 100ms -t 5 --report -
	contains "refusal names sch_fq" "no fq qdisc: module sch_fq"
	[ "$(ip netns exec "$ns" tc qdisc show dev lo)" = "$qdisc_before" ] &&
		! ip netns exec "$ns" tc qdisc show dev lo | grep -q clsact &&
		[ ! -e /sys/fs/bpf/seismo/chaos/delay-lo ] &&
		pass "refusal touched nothing (qdisc, clsact, pins)" || fail "refusal touched something"
	# without CAP_SYS_ADMIN there is no scratch namespace to try fq in: the
	# module files decide, and the refusal still names the module
	if command -v setpriv >/dev/null; then
		expect "delay refused without fq nor CAP_SYS_ADMIN" 2 setpriv --inh-caps=-sys_admin \
			--bounding-set=-sys_admin "$seismo" chaos delay -i lo -l 100ms -t 5 --report -
		contains "refusal without a scratch netns names sch_fq" "module sch_fq \(CONFIG_NET_SCH_FQ\) is not loaded, built in or installed"
	fi
fi

# --- dry run ------------------------------------------------------------------
expect "delay dry run" 0 "$seismo" chaos delay --netns "/var/run/netns/$ns" -i lo -l 250ms \
	-j 25ms --distribution normal -d 10.0.0.0/8,fd00::/8 -p 80,8000-8100 --loss 1.5 -t 45s \
	--rate 20000 --flow-rate 2000 --dry-run
contains "plan: destinations" "destinations +10.0.0.0/8, fd00::/8"
contains "plan: ports" "ports +80, 8000-8100"
contains "plan: latency/jitter/distribution" "latency +250.000 ms, jitter 25.000 ms \(normal\)"
contains "plan: fq sized from delay and rate" "fq handle 5e15: limit [0-9]+ flow_limit [0-9]+ horizon"
contains "plan: duration" "duration +45.0 s"
[ "$(ip netns exec "$ns" tc qdisc show dev lo)" = "$qdisc_before" ] &&
	pass "dry run touched nothing" || fail "dry run touched the qdisc"

env NETWORK_LATENCY=300 JITTER=30 DESTINATION_IPS=192.168.0.0/16 DESTINATION_PORTS=443 \
	TOTAL_CHAOS_DURATION=90 NETWORK_INTERFACE=lo \
	"$seismo" chaos delay --netns "/var/run/netns/$ns" --dry-run >"$tmp/out" 2>&1
contains "Litmus env names" "latency +300.000 ms, jitter 30.000 ms"
contains "Litmus DESTINATION_IPS/PORTS" "192.168.0.0/16"
expect "--env NAME=VALUE" 0 "$seismo" chaos delay --netns "/var/run/netns/$ns" -i lo \
	--env NETWORK_LATENCY=75 --env TOTAL_CHAOS_DURATION=9 --dry-run
contains "--env applied" "latency +75.000 ms.*|duration +9.0 s"

# the seed's ChaosEngine files, where the checkout has them
examples=$PWD/../shared/examples
if [ -f "$examples/chaos-experiment-network-latency.yaml" ]; then
	expect "run seed network-latency engine (dry run)" 0 "$seismo" chaos run \
		"$examples/chaos-experiment-network-latency.yaml" --interface lo --dry-run
	contains "engine: 500 ms ± 100 ms to 10.0.0.0/8 for 120 s" \
		"latency +500.000 ms, jitter 100.000 ms"
	contains "engine: name from metadata" "network-latency-chaos"
fi

# --- limits, the node switch, bad input ---------------------------------------
printf 'chaos:\n  enabled: false\n' >"$tmp/off.yaml"
expect "config switch disables chaos" 2 "$seismo" chaos delay -i lo -l 10ms --config "$tmp/off.yaml" --dry-run
contains "switch is named" "disabled on this node \(chaos.enabled: false in $tmp/off.yaml\)"
printf 'chaos:\n  max_latency: 100ms\n  max_duration: 30s\n' >"$tmp/limits.yaml"
expect "max_latency enforced" 2 "$seismo" chaos delay -i lo -l 90ms -j 20ms --config "$tmp/limits.yaml" --dry-run
contains "max_latency named" "exceeds this node's max_latency 100.000 ms"
expect "max_duration enforced" 2 "$seismo" chaos delay -i lo -l 10ms -t 31 --config "$tmp/limits.yaml" --dry-run
printf 'chaos:\n  max_latency: soon\n' >"$tmp/bad.yaml"
expect "bad config value" 2 "$seismo" chaos delay -i lo -l 10ms --config "$tmp/bad.yaml" --dry-run
contains "bad config names file:line:column and field" "$tmp/bad.yaml:2:[0-9]+: chaos.max_latency: .*'soon'"
expect "missing --config file" 2 "$seismo" chaos delay -i lo -l 10ms --config "$tmp/none.yaml" --dry-run
expect "bad latency" 2 "$seismo" chaos delay -i lo -l fast --dry-run
contains "bad latency named" "--latency 'fast'"
expect "bad CIDR" 2 "$seismo" chaos delay -i lo -l 1ms -d 10.0.0.0/33 --dry-run
contains "bad CIDR named" "'10.0.0.0/33' is not an IPv4/IPv6 address or CIDR"
expect "bad port range" 2 "$seismo" chaos delay -i lo -l 1ms -p 90-80 --dry-run
expect "bad probe" 2 "$seismo" chaos delay -i lo -l 1ms --probe "p url=http://x mode=Never" --dry-run
contains "bad probe mode named" "mode 'Never' is not SOT, EOT, Edge, Continuous or OnChaos"
printf 'kind: ChaosEngine\nspec:\n  experiments:\n    - name: disk-fill\n' >"$tmp/engine.yaml"
expect "unknown Litmus experiment" 2 "$seismo" chaos run "$tmp/engine.yaml" --dry-run
contains "unknown experiment names file:line:column" "$tmp/engine.yaml:4:[0-9]+: experiment 'disk-fill'"
expect "stop of an unknown experiment" 1 "$seismo" chaos stop no-such-experiment
expect "list" 0 "$seismo" chaos list

# --- process kill in a cgroup of our own ----------------------------------------
if [ -z "$cg" ] || ! mkdir "$cg"; then
	echo "note: no cgroup2 to create a test cgroup in; kill cases not run"
else
	spawn() { # N [ignore-term]: N sleeps in the test cgroup
		for _ in $(seq 1 "$1"); do
			if [ "${2:-}" = ignore-term ]; then
				sh -c 'trap "" TERM; exec sleep 1000' &
			else
				sleep 1000 &
			fi
			pids+=($!)
			echo $! >"$cg/cgroup.procs"
		done
	}
	alive() { local n=0 p; for p in $(cat "$cg/cgroup.procs"); do n=$((n + 1)); done; echo $n; }

	expect "kill refuses the root cgroup" 2 "$seismo" chaos kill --cgroup / --duration 1
	spawn 4
	expect "kill dry run" 0 "$seismo" chaos kill --cgroup "$cg" --percent 50 --dry-run
	contains "dry run names 2 of 4" "would send Terminated to [0-9]+ \(sleep\)"
	[ "$(alive)" = 4 ] && pass "dry run killed nothing" || fail "dry run killed"

	if [ -f "$examples/chaos-experiment-pod-delete.yaml" ]; then
		expect "run seed pod-delete engine without its service" 2 "$seismo" chaos run \
			"$examples/chaos-experiment-pod-delete.yaml" --dry-run
		contains "missing service named" "cgroup 'payment-service.service' not found"
		expect "run seed pod-delete engine on our cgroup (dry run)" 0 "$seismo" chaos run \
			"$examples/chaos-experiment-pod-delete.yaml" --target "$cg" --dry-run
		contains "engine: every 10 s for 60 s, 50 %, SIGTERM" \
			"every 10.0 s for 60.0 s: SIGTERM to 50 % of the processes"
		contains "engine: its httpProbe" "probe health-check: GET http://payment-service.production:8080/healthz, mode Continuous, every 10.0 s, timeout 5.0 s, retry 3"
	fi

	# a server for the probes: 200 on /healthz, 404 elsewhere
	mkdir -p "$tmp/www" && echo ok >"$tmp/www/healthz"
	python3 -m http.server 19201 --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 1 50); do curl -fs http://127.0.0.1:19201/healthz >/dev/null && break; sleep 0.1; done
	url=http://127.0.0.1:19201
	expect "kill 50% every 1s with probes of every mode" 0 "$seismo" chaos kill --cgroup "$cg" \
		--percent 50 --interval 1s --duration 2.5s --report "$tmp/kill.json" \
		--probe "sot url=$url/healthz mode=SOT" --probe "eot url=$url/healthz mode=EOT" \
		--probe "edge url=$url/healthz mode=Edge" \
		--probe "cont url=$url/healthz mode=Continuous interval=300ms" \
		--probe "during url=$url/healthz mode=OnChaos interval=300ms" \
		--probe "not500 url=$url/nope status!=500 mode=SOT" \
		--probe "oneof url=$url/nope status=200,404 mode=EOT"
	contains "verdict printed" "verdict: Pass \(probe success 100 %\)"
	killed=$(python3 -c "import json; print(json.load(open('$tmp/kill.json'))['chaos']['killed'])")
	runs=$(python3 -c "
import json; r = json.load(open('$tmp/kill.json'))
print(' '.join('%s=%d' % (p['name'], p['runs']) for p in r['probes']))")
	# ticks at 0, 1 and 2 s: 4 -> 2 -> 1 -> 0
	[ "$killed" = 4 ] && [ "$(alive)" = 0 ] && pass "kill: 2 + 1 + 1 processes signalled, none left" ||
		fail "kill: killed=$killed alive=$(alive)"
	python3 - "$tmp/kill.json" <<'PY' && pass "probe modes ran as their mode says ($runs)" || fail "probe modes ($runs)"
import json, sys
r = json.load(open(sys.argv[1]))
runs = {p["name"]: p["runs"] for p in r["probes"]}
assert r["verdict"] == "Pass" and r["probe_success_percentage"] == 100
assert runs["sot"] == 1 and runs["eot"] == 1 and runs["edge"] == 2
assert runs["not500"] == 1 and runs["oneof"] == 1
assert runs["cont"] >= 2 and runs["during"] >= 1
PY

	spawn 2 ignore-term
	expect "SIGTERM-ignoring processes survive without --force" 0 "$seismo" chaos kill \
		--cgroup "$cg" --percent 100 --interval 10s --duration 1s --report -
	[ "$(alive)" = 2 ] && pass "SIGTERM sent, processes ignored it" || fail "alive=$(alive) after SIGTERM"
	expect "--force sends SIGKILL" 0 "$seismo" chaos kill --cgroup "$cg" --percent 100 \
		--interval 10s --duration 1s --force --report -
	contains "SIGKILL named" "sent SIGKILL to"
	sleep 0.2
	[ "$(alive)" = 0 ] && pass "--force killed them" || fail "alive=$(alive) after SIGKILL"

	spawn 2
	expect "failing probe fails the verdict" 1 "$seismo" chaos kill --cgroup "$cg" --percent 1 \
		--interval 1s --duration 1s --report "$tmp/fail.json" \
		--probe "missing url=$url/nope mode=EOT retry=0"
	contains "Fail with 0 % success" "verdict: Fail \(probe success 0 %\)"
	expect "stop-on-failure aborts at once" 1 "$seismo" chaos kill --cgroup "$cg" --percent 1 \
		--interval 1s --duration 120s --report "$tmp/abort.json" \
		--probe "gate url=$url/nope mode=OnChaos interval=1s retry=0 stop-on-failure"
	python3 - "$tmp/abort.json" <<'PY' && pass "abort recorded in the report" || fail "abort report: $(cat "$tmp/abort.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["verdict"] == "Fail" and "gate failed" in r["abort_reason"]
assert r["chaos"]["ticks"] < 120
PY
	"$seismo" chaos kill --cgroup "$cg" --percent 1 --interval 60s --duration 120s --report - \
		>"$tmp/out" 2>&1 &
	runner=$!
	for _ in $(seq 1 50); do grep -q started "$tmp/out" && break; sleep 0.1; done
	kill -TERM $runner
	wait $runner
	[ $? = 1 ] && grep -q "verdict: Stopped" "$tmp/out" && pass "SIGTERM stops a kill experiment (Stopped)" ||
		fail "SIGTERM: $(tail -2 "$tmp/out")"
fi

echo "chaos CLI: $failures failed"
[ "$failures" = 0 ]

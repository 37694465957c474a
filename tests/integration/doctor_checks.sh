#!/bin/bash
# timeout: 120
# seismo doctor against independent evidence: each verdict is compared with
# what /proc/mounts, sysfs, iproute2 (tc in a throwaway netns) and the
# kernel say by other means; the exit status follows agent_can_run; without
# capabilities, without tracefs (private mount namespace) and with a zero
# memlock limit it says so and decides accordingly.
set -eu -o pipefail
seismo=$BUILD/seismo
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
work=$(mktemp -d)
ns=seismo-doctor-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# status NAME FILE: the status of one check in a --json report
status() { $py -c 'import json,sys; r=json.load(open(sys.argv[2])); print(next(c["status"] for c in r["checks"] if c["name"]==sys.argv[1]))' "$1" "$2"; }
detail() { $py -c 'import json,sys; r=json.load(open(sys.argv[2])); print(next(c["detail"] for c in r["checks"] if c["name"]==sys.argv[1]))' "$1" "$2"; }
can_run() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_can_run"])' "$1"; }
expect() { # NAME FILE WANT
	local got; got=$(status "$1" "$2")
	[ "$got" = "$3" ] || fail "$1: doctor says $got, evidence says $3 ($(detail "$1" "$2"))"
	echo "  $1: $got, as expected"
}

echo "== usage"
"$seismo" doctor --help | grep -q -- "--json" || fail "--help does not describe --json"
rc=0; "$seismo" doctor --no-such-flag 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "unknown option exited $rc, want 2"
rc=0; "$seismo" doctor --map-mib 0 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "--map-mib 0 exited $rc, want 2"

echo "== full report"
rc=0; "$seismo" doctor --json >"$work/full.json" || rc=$?
"$seismo" doctor || true
[ "$(can_run "$work/full.json")" = True ] && want=0 || want=1
[ $rc = $want ] || fail "exit status $rc disagrees with agent_can_run"

echo "== each verdict against independent evidence"
[ -r /sys/kernel/btf/vmlinux ] && expect btf "$work/full.json" ok || expect btf "$work/full.json" fail
if awk '$3 == "cgroup2" { found = 1 } END { exit !found }' /proc/mounts; then
	if awk '$3 == "cgroup" { found = 1 } END { exit !found }' /proc/mounts; then
		expect cgroup2 "$work/full.json" warn # hybrid v1 + v2
	else
		expect cgroup2 "$work/full.json" ok
	fi
	dir=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	detail cgroup2 "$work/full.json" | grep -qF "$dir" || fail "cgroup2 detail does not name $dir"
else
	expect cgroup2 "$work/full.json" warn
fi
if awk '$3 == "tracefs" { found = 1 } END { exit !found }' /proc/mounts; then
	expect tracefs "$work/full.json" ok
fi
if [ ! -e /sys/bus/event_source/devices/kprobe/type ]; then
	expect kprobe "$work/full.json" fail
	detail kprobe "$work/full.json" | grep -q "no kprobe PMU" || fail "kprobe detail does not say why"
fi
# tc, as Chaos Mesh and Litmus would use it, in a namespace of our own.
if command -v tc >/dev/null && ip netns add "$ns" 2>/dev/null; then
	for q in fq netem; do
		args=; [ $q = netem ] && args="delay 1ms"
		if tc -n "$ns" qdisc replace dev lo root $q $args 2>/dev/null; then
			expect qdisc-$q "$work/full.json" ok
		else
			expect qdisc-$q "$work/full.json" fail
		fi
	done
	tc -n "$ns" qdisc add dev lo clsact 2>/dev/null && [ "$(status cap-net-admin "$work/full.json")" = ok ] ||
		fail "tc makes clsact but doctor says no CAP_NET_ADMIN"
fi

echo "== without capabilities"
rc=0; setpriv --bounding-set=-all --inh-caps=-all "$seismo" doctor --json >"$work/nocaps.json" || rc=$?
[ $rc = 1 ] || fail "doctor without capabilities exited $rc, want 1"
expect capabilities "$work/nocaps.json" fail
expect bpf-syscall "$work/nocaps.json" fail
expect latency-hooks "$work/nocaps.json" fail
detail capabilities "$work/nocaps.json" | grep -q "CAP_BPF" || fail "does not name CAP_BPF as missing"

echo "== without tracefs (private mount namespace): tp_btf still carries the agent"
if [ "$(status tp-btf "$work/full.json")" = ok ]; then
	unshare -m --propagation private sh -c '
		while awk "\$3 == \"tracefs\" { f = 1 } END { exit !f }" /proc/mounts; do
			umount "$(awk "\$3 == \"tracefs\" { print \$2; exit }" /proc/mounts)" || exit 1
		done
		exec "$0" doctor --json' "$seismo" >"$work/notracefs.json" || true
	expect tracefs "$work/notracefs.json" warn
	expect tracepoint "$work/notracefs.json" fail
	expect latency-hooks "$work/notracefs.json" ok
	[ "$(can_run "$work/notracefs.json")" = True ] || fail "agent should still run on tp_btf without tracefs"
fi

echo "== memlock limit of zero"
if command -v prlimit >/dev/null; then
	prlimit --memlock=0:0 "$seismo" doctor --json >"$work/memlock.json" || true
	detail map-memory "$work/memlock.json" | grep -q "memlock limit 0 KiB" || fail "map-memory does not report the 0 limit"
	echo "  map-memory: $(status map-memory "$work/memlock.json"): $(detail map-memory "$work/memlock.json")"
fi
echo "PASS: doctor agrees with the evidence"

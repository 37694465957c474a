#!/bin/bash
# timeout: 120
# Kubernetes identity: a pod UID and container ID read from a kubepods-shaped
# cgroup path, joined with the kubelet's pod list for namespace, pod name,
# container name and the app/team labels.
#
# The kubelet cannot run here, so its /pods endpoint is a JSON file served by
# python3's http.server on loopback; the cgroups are real, shaped like the
# systemd cgroup driver makes them (nested under a test slice so nothing of
# a real node's kubepods.slice is touched), and the servers inside are real.
#
#   pod "checkout-7d9f8b6c5-x2x4q" (labels app=checkout, team=payments)
#       -> service="checkout", container="server"
#   pod "search-api-5f6d7c8b9-abcde" (no app label; owner ReplicaSet)
#       -> service="search-api" (from the owner), team="search"
. "$(dirname "$0")/../lib/agent.sh"
need_root
need_cmd curl python3
need_build
[ -n "$(cgroup2_root)" ] || skip "no cgroup2 mount in /proc/mounts"

AGENT_PORT=19425 SRV1_PORT=19426 KUBELET_PORT=19427 SRV2_PORT=19428
need_free_port $AGENT_PORT $SRV1_PORT $KUBELET_PORT $SRV2_PORT
UID1=5b2c0f3e-8f1a-4c6d-9e2b-7a1d3c4b5e6f
UID2=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a
CID1=$(printf '%064x' 0 | sed 's/^.\{8\}/c0ffee01/')
CID2=$(printf '%064x' 0 | sed 's/^.\{8\}/c0ffee02/')
POD_SLICE=seismo-test-k8s.slice/kubepods.slice/kubepods-burstable.slice

mkdir -p "$T/kubelet"
cat >"$T/kubelet/pods" <<EOF
{"kind": "PodList", "apiVersion": "v1", "items": [
 {"metadata": {"name": "checkout-7d9f8b6c5-x2x4q", "namespace": "shop", "uid": "$UID1",
   "labels": {"app": "checkout", "team": "payments", "pod-template-hash": "7d9f8b6c5"},
   "ownerReferences": [{"kind": "ReplicaSet", "name": "checkout-7d9f8b6c5"}]},
  "status": {"containerStatuses": [
   {"name": "istio-proxy", "containerID": "containerd://$(printf '%064x' 7)"},
   {"name": "server", "containerID": "containerd://$CID1"}]}},
 {"metadata": {"name": "search-api-5f6d7c8b9-abcde", "namespace": "search", "uid": "$UID2",
   "labels": {"team": "search"},
   "ownerReferences": [{"kind": "ReplicaSet", "name": "search-api-5f6d7c8b9"}]},
  "status": {"containerStatuses": [{"name": "api", "containerID": "containerd://$CID2"}]}}
]}
EOF
start_bg "$T/kubelet.log" python3 -m http.server $KUBELET_PORT --bind 127.0.0.1 \
	--directory "$T/kubelet"
wait_until 20 http_ok "http://127.0.0.1:$KUBELET_PORT/pods" || fail "the fake kubelet did not start"

cat >"$T/agent.yaml" <<EOF
state_dir: $T/state
interval: 1s
kubernetes:
  enabled: true
  pods_url: http://127.0.0.1:$KUBELET_PORT/pods
  token_file: $T/no-token
  refresh: 1s
EOF
start_agent $AGENT_PORT --config "$T/agent.yaml"

start_in_cgroup "$POD_SLICE/kubepods-burstable-pod${UID1//-/_}.slice/cri-containerd-$CID1.scope" \
	"$T/srv1.log" "$TESTSERVER" --listen 127.0.0.1:$SRV1_PORT
start_in_cgroup "$POD_SLICE/kubepods-burstable-pod${UID2//-/_}.slice/cri-containerd-$CID2.scope" \
	"$T/srv2.log" "$TESTSERVER" --listen 127.0.0.1:$SRV2_PORT
wait_port $SRV1_PORT
wait_port $SRV2_PORT

"$LOADGEN" --target 127.0.0.1:$SRV1_PORT --requests 100 --status 200:9,503:1 -q ||
	fail "loadgen to checkout failed"
"$LOADGEN" --target 127.0.0.1:$SRV2_PORT --requests 40 -q || fail "loadgen to search-api failed"
agent_flush $AGENT_PORT
scrape $AGENT_PORT "$T/m.txt"
grep '^http_requests_total' "$T/m.txt"

C='service="checkout"'
assert_eq "checkout requests" 100 "$(prom_sum "$T/m.txt" http_requests_total "$C")"
assert_eq "checkout with all its pod labels" 100 \
	"$(prom_sum "$T/m.txt" http_requests_total "$C" namespace=\"shop\" pod=\"checkout-7d9f8b6c5-x2x4q\" container=\"server\" app=\"checkout\" team=\"payments\")"
assert_eq "checkout 503s" 10 "$(prom_sum "$T/m.txt" http_requests_total "$C" status=\"503\")"
S='service="search-api"'
assert_eq "search-api (named after its ReplicaSet) with its labels" 40 \
	"$(prom_sum "$T/m.txt" http_requests_total "$S" namespace=\"search\" pod=\"search-api-5f6d7c8b9-abcde\" container=\"api\" team=\"search\")"
grep "$S" "$T/m.txt" | grep -q 'app=' && fail "search-api has no app label in its pod, but got one"
# The loadgen's calls name the pods' services as their peers.
assert_eq "client calls to checkout" 100 \
	"$(prom_sum "$T/m.txt" http_client_requests_total peer_service=\"checkout\")"

curl -sf "http://127.0.0.1:$AGENT_PORT/api/v1/services" -o "$T/services.json" || true
echo "PASS: pod UID and container ID from the cgroup path, names and labels from the pod list"

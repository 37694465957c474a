#!/bin/bash
# timeout: 120
# deploy/kubernetes validates offline against the Kubernetes API schema
# (deploy/kubernetes/validate.py, on Debian's python3-kubernetes models),
# the validator really refuses broken manifests, the DaemonSet keeps to
# least privilege, and the configs in the ConfigMaps load in the binaries
# that will read them (--check-config).
set -eu -o pipefail
dir=$SEISMO_ROOT/deploy/kubernetes
py=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
$py -c 'import kubernetes, yaml' 2>/dev/null ||
	{ echo "SKIP: python3-kubernetes or python3-yaml not installed (tools/deps.sh installs them)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== schema validation"
$py "$dir/validate.py" "$dir/kustomization.yaml" --patch "$dir/chaos-patch.yaml"

# kubectl (not a Debian package, used when present) renders the
# kustomization offline: its output must validate too.
if command -v kubectl >/dev/null && kubectl kustomize "$dir" >"$work/rendered.yaml" 2>"$work/kustomize.err"; then
	echo "== kubectl kustomize output"
	$py "$dir/validate.py" "$work/rendered.yaml"
fi

echo "== every manifest is in the kustomization"
for f in "$dir"/*.yaml; do
	b=$(basename "$f")
	case $b in kustomization.yaml|chaos-patch.yaml) continue ;; esac
	grep -q "^  - $b\$" "$dir/kustomization.yaml" || fail "$b is not listed in kustomization.yaml"
done

echo "== the validator refuses broken manifests (one fault at a time)"
broken() { # NAME FILE SED-EXPRESSION EXPECTED-ERROR
	rm -rf "$work/k" && cp -r "$dir" "$work/k"
	sed -i "$3" "$work/k/$2"
	cmp -s "$dir/$2" "$work/k/$2" && fail "case $1: the edit changed nothing"
	if out=$($py "$work/k/validate.py" "$work/k/kustomization.yaml" 2>&1); then
		fail "case $1: validator accepted it"
	fi
	grep -q -- "$4" <<<"$out" || fail "case $1: want '$4', got: $out"
	echo "  refused: $1"
}
broken unknown-field agent-daemonset.yaml 's/privileged: false/privilegd: false/' "unknown field in V1SecurityContext"
broken wrong-type agent-daemonset.yaml 's/hostPID: true/hostPID: "yes"/' "want bool"
broken missing-required correlator.yaml 's/^        - name: correlator$/        - nam: correlator/' "required field name missing in V1Container"
broken removed-api agent-daemonset.yaml 's|^apiVersion: apps/v1$|apiVersion: extensions/v1beta1|' "is not served"
broken bad-enum correlator.yaml 's/type: Recreate/type: Recreat/' "'Recreat' is not one of"
broken probe-port agent-daemonset.yaml '0,/port: metrics$/s//port: metricz/' "port metricz is not a declared port"
broken selector correlator.yaml '/^  selector:$/{n;s/seismo-correlator/seismo-korrelator/}' "matches no pod template"
broken service-account agent-daemonset.yaml 's/serviceAccountName: seismo-agent/serviceAccountName: nobody/' "serviceAccountName nobody"

echo "== least privilege and the probes"
$py - "$dir" "$work" <<'PY'
import sys, yaml
d, work = sys.argv[1], sys.argv[2]
ds = next(o for o in yaml.safe_load_all(open(f"{d}/agent-daemonset.yaml")) if o and o["kind"] == "DaemonSet")
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
sc = c["securityContext"]
assert sc.get("privileged") is not True, "agent must not be privileged"
assert sc["allowPrivilegeEscalation"] is False
assert sc["capabilities"]["drop"] == ["ALL"]
assert set(sc["capabilities"]["add"]) == {"BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE"}, sc["capabilities"]["add"]
assert pod["hostPID"] is True
mounts = {m["mountPath"] for m in c["volumeMounts"]}
for want in ("/sys/fs/bpf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/etc/seismo", "/var/lib/seismo"):
    assert want in mounts, f"no mount at {want}"
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    assert c[probe]["httpGet"]["path"] == path, probe
port = next(p for p in c["ports"] if p["name"] == c["livenessProbe"]["httpGet"]["port"])
assert port["containerPort"] == 9464
for k in ("requests", "limits"):
    assert {"cpu", "memory"} <= set(c["resources"][k]), f"agent {k}"
objs = [o for o in yaml.safe_load_all(open(f"{d}/correlator.yaml")) if o]
svc = next(o for o in objs if o["kind"] == "Service")
assert svc["spec"]["ports"][0]["port"] == 9465
dep = next(o for o in objs if o["kind"] == "Deployment")
cc = dep["spec"]["template"]["spec"]["containers"][0]
assert cc["securityContext"]["capabilities"]["drop"] == ["ALL"] and "add" not in cc["securityContext"]["capabilities"]
assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
rules = next(o for o in yaml.safe_load_all(open(f"{d}/rbac.yaml")) if o and o["kind"] == "ClusterRole")["rules"]
pods = next(r for r in rules if "pods" in r["resources"])
assert set(pods["verbs"]) == {"get", "list", "watch"}, pods
for r in rules:
    assert not set(r["verbs"]) & {"create", "update", "patch", "delete", "*"}, f"write verb in {r}"
print("agent: no privileged, caps BPF PERFMON NET_ADMIN SYS_RESOURCE, hostPID, probes on 9464; correlator: no caps, non-root; RBAC read-only")
# The configs the pods will read, for --check-config below.
for f, key in (("agent-config.yaml", "agent.yaml"), ("correlator.yaml", "correlator.yaml")):
    cm = next(o for o in yaml.safe_load_all(open(f"{d}/{f}")) if o and o["kind"] == "ConfigMap")
    with open(f"{work}/{key}", "w") as out:
        out.write(cm["data"][key])
PY

echo "== the ConfigMaps' configs load in the binaries"
"$BUILD/seismo" agent --check-config --config "$work/agent.yaml" || fail "agent rejects the DaemonSet's config"
if [ -x "$BUILD/seismo-correlator" ]; then
	"$BUILD/seismo-correlator" --check-config --config "$work/correlator.yaml" ||
		fail "correlator rejects the Deployment's config"
fi
echo "PASS: manifests valid, validator sound, least privilege kept, configs load"

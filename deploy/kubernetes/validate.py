#!/usr/bin/python3
"""Validates Kubernetes manifests offline against the Kubernetes API schema.

The schema is the one compiled into Debian's python3-kubernetes (the
OpenAPI-generated models of the official client; 22.6 = Kubernetes 1.22):
every model lists its fields with their JSON names and types, and its
setters refuse None for required fields and values outside enums. Debian
packages neither kubeconform nor kubeval nor the raw OpenAPI document, and
kubectl's --dry-run=client still needs an API server for its schema.

Checks, per object: apiVersion/kind is served by that API group/version;
no unknown fields (what `kubectl apply --validate=strict` refuses); every
value has its field's type; required fields are present; enum values are
allowed (the client's own enums and KNOWN_ENUMS below). Then, across the objects: selectors match their template labels,
probes and Service targetPorts name declared ports, volume mounts name
declared volumes, and referenced ServiceAccounts, ConfigMaps and
Namespaces are defined in the same set.

usage: validate.py [--patch FILE]... FILE_OR_KUSTOMIZATION...
A kustomization.yaml stands for its resources: list. --patch files are
strategic-merge patches: checked for types and unknown fields only.
Exit status 0 when everything is valid, 1 otherwise; errors name the file,
the object and the field path.
"""
import inspect
import os
import re
import sys

import yaml
from kubernetes import client

# Enums the API documents but the 1.22 OpenAPI document (and so the client)
# does not declare; the client's own enum checks run as well.
KNOWN_ENUMS = {
    ("V1DeploymentStrategy", "type"): {"Recreate", "RollingUpdate"},
    ("V1DaemonSetUpdateStrategy", "type"): {"RollingUpdate", "OnDelete"},
    ("V1ServiceSpec", "type"): {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
    ("V1ContainerPort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("V1ServicePort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("V1Container", "image_pull_policy"): {"Always", "Never", "IfNotPresent"},
    ("V1SeccompProfile", "type"): {"RuntimeDefault", "Unconfined", "Localhost"},
    ("V1HostPathVolumeSource", "type"): {"", "DirectoryOrCreate", "Directory", "FileOrCreate",
                                         "File", "Socket", "CharDevice", "BlockDevice"},
    ("V1PodSpec", "dns_policy"): {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"},
    ("V1PodSpec", "restart_policy"): {"Always", "OnFailure", "Never"},
    ("V1VolumeMount", "mount_propagation"): {"None", "HostToContainer", "Bidirectional"},
    ("V1Toleration", "operator"): {"Exists", "Equal"},
    ("V1Toleration", "effect"): {"NoSchedule", "PreferNoSchedule", "NoExecute"},
}

SCALARS = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
}


def api_index():
    """(apiVersion, kind) -> (model name, namespaced), from the client's API
    classes: each create method names its REST path and its body model."""
    index = {}
    for name in dir(client):
        api = getattr(client, name)
        if not (name.endswith("Api") and inspect.isclass(api)):
            continue
        for meth_name, meth in inspect.getmembers(api, inspect.isfunction):
            if not (meth_name.startswith("create_") and meth_name.endswith("_with_http_info")):
                continue
            src = inspect.getsource(meth)
            path = re.search(r"'(/apis?/[^']+)'", src)
            body = re.search(r":param (V\w+) body", src)
            if not path or not body:
                continue
            parts = path.group(1).strip("/").split("/")
            version = parts[1] if parts[0] == "api" else parts[1] + "/" + parts[2]
            model = getattr(client, body.group(1), None)
            if model is None:
                continue
            kind = body.group(1)[len(re.match(r"V\d+(?:alpha\d+|beta\d+)?", body.group(1)).group(0)):]
            namespaced = "{namespace}" in path.group(1)
            index[(version, kind)] = (body.group(1), namespaced)
    return index


class Validator:
    def __init__(self):
        self.errors = []
        self.config = client.Configuration()
        self.config.client_side_validation = True
        self._required = {}

    def error(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def required_fields(self, model):
        """The model's required attributes: those whose setter refuses None."""
        if model not in self._required:
            probe = model.__new__(model)
            probe.local_vars_configuration = self.config
            req = set()
            for attr in model.openapi_types:
                try:
                    setattr(probe, attr, None)
                except ValueError:
                    req.add(attr)
            self._required[model] = req
        return self._required[model]

    def check_enum(self, model, attr, value, where):
        """Runs the generated setter on a scalar: it refuses enum outsiders."""
        allowed = KNOWN_ENUMS.get((model.__name__, attr))
        if allowed is not None and value not in allowed:
            self.error(where, f"{value!r} is not one of {sorted(allowed)}")
        probe = model.__new__(model)
        probe.local_vars_configuration = self.config
        try:
            setattr(probe, attr, value)
        except ValueError as e:
            self.error(where, str(e))

    def check(self, value, type_name, where, partial):
        if value is None:
            return  # null clears a field in a patch, and is "unset" in a manifest
        if type_name == "object":
            return  # IntOrString, RawExtension, free-form
        if type_name in SCALARS:
            ok = isinstance(value, SCALARS[type_name]) and not (
                type_name != "bool" and isinstance(value, bool))
            if not ok:
                self.error(where, f"want {type_name}, got {type(value).__name__} {value!r}")
            return
        m = re.fullmatch(r"list\[(.+)\]", type_name)
        if m:
            if not isinstance(value, list):
                self.error(where, f"want a list, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self.check(item, m.group(1), f"{where}[{i}]", partial)
            return
        m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
        if m:
            if not isinstance(value, dict):
                self.error(where, f"want a mapping, got {type(value).__name__}")
                return
            for k, v in value.items():
                if not isinstance(k, str):
                    self.error(where, f"key {k!r} is not a string")
                self.check(v, m.group(1), f"{where}.{k}", partial)
            return
        model = getattr(client, type_name, None)
        if model is None:
            self.error(where, f"schema has no type {type_name}")
            return
        self.check_model(value, model, where, partial)

    def check_model(self, value, model, where, partial):
        if not isinstance(value, dict):
            self.error(where, f"want a {model.__name__} mapping, got {type(value).__name__}")
            return
        by_json = {j: a for a, j in model.attribute_map.items()}
        for key, item in value.items():
            attr = by_json.get(key)
            if attr is None:
                self.error(f"{where}.{key}", f"unknown field in {model.__name__}")
                continue
            type_name = model.openapi_types[attr]
            self.check(item, type_name, f"{where}.{key}", partial)
            if type_name == "str" and isinstance(item, str):
                self.check_enum(model, attr, item, f"{where}.{key}")
        if not partial:
            for attr in self.required_fields(model):
                if value.get(model.attribute_map[attr]) is None:
                    self.error(where, f"required field {model.attribute_map[attr]} missing "
                               f"in {model.__name__}")


def load_documents(path):
    with open(path) as f:
        return [(path, i, d) for i, d in enumerate(yaml.safe_load_all(f)) if d is not None]


def expand(path):
    """A kustomization stands for its resources; anything else for itself."""
    if os.path.basename(path) in ("kustomization.yaml", "kustomization.yml"):
        with open(path) as f:
            kust = yaml.safe_load(f)
        base = os.path.dirname(path)
        out = []
        for res in kust.get("resources", []):
            out.extend(expand(os.path.join(base, res)))
        return out
    return [path]


def pod_templates(obj):
    kind = obj.get("kind")
    if kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
        return [obj.get("spec", {}).get("template", {})]
    return []


def cross_checks(v, objects):
    """References between objects that the schema alone cannot see."""
    defined = {(o.get("kind"), o.get("metadata", {}).get("namespace"),
                o.get("metadata", {}).get("name")) for _, _, o in objects}
    namespaces = {n for k, _, n in defined if k == "Namespace"}
    for path, i, obj in objects:
        meta = obj.get("metadata", {})
        ns = meta.get("namespace")
        where = f"{path}#{i} {obj.get('kind')}/{meta.get('name')}"
        if ns and namespaces and ns not in namespaces:
            v.error(where, f"namespace {ns} is not defined in this set")
        if obj.get("kind") == "Service":
            sel = obj.get("spec", {}).get("selector", {})
            targets = [t for _, _, t in objects
                       for tpl in pod_templates(t)
                       if t.get("metadata", {}).get("namespace") == ns
                       and sel and all(tpl.get("metadata", {}).get("labels", {}).get(k) == val
                                       for k, val in sel.items())]
            if not targets:
                v.error(where, f"selector {sel} matches no pod template in this set")
            port_names = {p.get("name") for t in targets for tpl in pod_templates(t)
                          for c in tpl.get("spec", {}).get("containers", [])
                          for p in c.get("ports", [])}
            for p in obj.get("spec", {}).get("ports", []):
                tp = p.get("targetPort")
                if isinstance(tp, str) and tp not in port_names:
                    v.error(where, f"targetPort {tp} is no container port of the selected pods")
        for tpl in pod_templates(obj):
            sel = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
            labels = tpl.get("metadata", {}).get("labels", {})
            for k, val in sel.items():
                if labels.get(k) != val:
                    v.error(where, f"selector {k}={val} does not match the template labels")
            spec = tpl.get("spec", {})
            sa = spec.get("serviceAccountName")
            if sa and ("ServiceAccount", ns, sa) not in defined:
                v.error(where, f"serviceAccountName {sa} is not defined in namespace {ns}")
            volumes = {vol.get("name"): vol for vol in spec.get("volumes", [])}
            for vol in volumes.values():
                cm = vol.get("configMap", {}).get("name")
                if cm and ("ConfigMap", ns, cm) not in defined:
                    v.error(where, f"volume {vol['name']}: ConfigMap {cm} is not defined")
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                cwhere = f"{where} container {c.get('name')}"
                ports = {p.get("name") for p in c.get("ports", [])}
                for m in c.get("volumeMounts", []):
                    if m.get("name") not in volumes:
                        v.error(cwhere, f"volumeMount {m.get('name')} names no volume")
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    port = c.get(probe, {}).get("httpGet", {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        v.error(cwhere, f"{probe} port {port} is not a declared port")


def main(argv):
    patches, files = [], []
    args = iter(argv)
    for a in args:
        if a == "--patch":
            patches.append(next(args))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if not files and not patches:
        print(__doc__, file=sys.stderr)
        return 2
    index = api_index()
    v = Validator()
    objects, patch_objects = [], []
    for path in [p for f in files for p in expand(f)]:
        objects.extend(load_documents(path))
    for path in patches:
        patch_objects.extend(load_documents(path))
    for group, partial in ((objects, False), (patch_objects, True)):
        for path, i, obj in group:
            where = f"{path}#{i}"
            if not isinstance(obj, dict):
                v.error(where, "not a mapping")
                continue
            key = (obj.get("apiVersion"), obj.get("kind"))
            if key not in index:
                v.error(where, f"apiVersion {key[0]} kind {key[1]} is not served by the "
                        f"Kubernetes API (client {client.__version__ if hasattr(client, '__version__') else ''})")
                continue
            model_name, namespaced = index[key]
            name = obj.get("metadata", {}).get("name")
            where = f"{path}#{i} {key[1]}/{name}"
            v.check_model(obj, getattr(client, model_name), where, partial)
            if namespaced and not obj.get("metadata", {}).get("namespace"):
                v.error(where, "namespaced object without metadata.namespace")
            if not namespaced and obj.get("metadata", {}).get("namespace"):
                v.error(where, f"{key[1]} is cluster-scoped but has a namespace")
    cross_checks(v, objects)
    for e in v.errors:
        print(f"error: {e}", file=sys.stderr)
    n = len(objects) + len(patch_objects)
    if v.errors:
        print(f"{len(v.errors)} errors in {n} objects", file=sys.stderr)
        return 1
    print(f"{n} objects valid against the Kubernetes API schema "
          f"(python3-kubernetes {__import__('kubernetes').__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

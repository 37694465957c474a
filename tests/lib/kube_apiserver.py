#!/usr/bin/python3
"""A small Kubernetes API server stand-in for seismo-correlator's runbook tests.

No API server runs here, so this one serves the few endpoints runbook
actions use, over TLS with a bearer token, and checks every request
against the Kubernetes API models Debian's python3-kubernetes ships:
  - the patch or body: every field must exist in the model (by its JSON
    name) with the model's type, recursively (a typo is an error, as with
    kubectl's server-side field validation);
  - the object after the patch must deserialize into the model with the
    client's own validation (required fields present).
Invalid requests get 422 and are recorded as invalid.

  kube_apiserver.py PORT CERT KEY TOKEN
GET /__requests (with the token) lists what was asked and the verdicts.
Runs under /usr/bin/python3 (Debian's, where python3-kubernetes lives).
"""
import copy
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kubernetes.client as kc

API = kc.ApiClient()
lock = threading.Lock()
requests = []


def template(name):
    return {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": "registry.example/%s:1" % name}]}}


objects = {
    ("deployments", "shop", "checkout"): {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "checkout"}},
                 "template": template("checkout")}},
    ("statefulsets", "shop", "cart"): {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {"replicas": 3, "serviceName": "cart", "selector": {"matchLabels": {"app": "cart"}},
                 "template": template("cart")}},
    ("pods", "shop", "checkout-7d9f-abcde"): {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "checkout-7d9f-abcde", "namespace": "shop"},
        "spec": {"containers": [{"name": "checkout", "image": "registry.example/checkout:1"}]}},
    ("nodes", None, "node-a"): {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"},
                                "spec": {}},
}
MODEL = {"deployments": "V1Deployment", "statefulsets": "V1StatefulSet",
         "daemonsets": "V1DaemonSet", "pods": "V1Pod", "nodes": "V1Node"}


def check(data, typ, path):
    """Strict structural check of JSON data against a python3-kubernetes type."""
    if typ == "object":
        return
    if typ == "str":
        if not isinstance(data, str):
            raise ValueError("%s: expected a string" % path)
        return
    if typ == "int":
        if not isinstance(data, int) or isinstance(data, bool):
            raise ValueError("%s: expected an integer" % path)
        return
    if typ == "bool":
        if not isinstance(data, bool):
            raise ValueError("%s: expected a boolean" % path)
        return
    if typ == "datetime":
        if not isinstance(data, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", data):
            raise ValueError("%s: expected an RFC 3339 time" % path)
        return
    m = re.match(r"^list\[(.*)\]$", typ)
    if m:
        if not isinstance(data, list):
            raise ValueError("%s: expected a list" % path)
        for i, v in enumerate(data):
            check(v, m.group(1), "%s[%d]" % (path, i))
        return
    m = re.match(r"^dict\(str, (.*)\)$", typ)
    if m:
        if not isinstance(data, dict):
            raise ValueError("%s: expected a map" % path)
        for k, v in data.items():
            check(v, m.group(1), "%s.%s" % (path, k))
        return
    cls = getattr(kc, typ)
    if not isinstance(data, dict):
        raise ValueError("%s: expected an object (%s)" % (path, typ))
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, v in data.items():
        if k not in by_json:
            raise ValueError("%s: unknown field %r in %s" % (path, k, typ))
        check(v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))


def deserialize(obj, model):
    """The client's own deserialization, with its required-field validation."""
    class Resp:
        data = json.dumps(obj)
    API.deserialize(Resp(), model)


def merge(dst, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        elif v is None:
            dst.pop(k, None)
        else:
            dst[k] = v


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, msg):
        return self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": reason, "message": msg, "code": code})

    def handle_any(self):
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.status(401, "Unauthorized", "bad token")
        if self.command == "GET" and self.path == "/__requests":
            with lock:
                return self.reply(200, requests)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rec = {"method": self.command, "path": self.path,
               "content_type": self.headers.get("Content-Type"), "valid": False}
        with lock:
            requests.append(rec)
        try:
            body = json.loads(raw) if raw else None
            code, out = self.route(body, rec)
        except ValueError as e:
            rec["error"] = str(e)
            return self.status(422, "Invalid", str(e))
        except KeyError as e:
            rec["error"] = "not found: %s" % e
            return self.status(404, "NotFound", rec["error"])
        rec["valid"] = True
        return self.reply(code, out)

    do_GET = do_PATCH = do_DELETE = do_PUT = do_POST = handle_any

    def route(self, body, rec):
        m = re.match(r"^/apis/apps/v1/namespaces/([a-z0-9.-]+)/(deployments|statefulsets|daemonsets)/([a-z0-9.-]+)(/scale)?$", self.path)
        n = re.match(r"^/api/v1/namespaces/([a-z0-9.-]+)/pods/([a-z0-9.-]+)$", self.path)
        o = re.match(r"^/api/v1/nodes/([a-z0-9.-]+)$", self.path)
        if m:
            ns, res, name, scale = m.groups()
            key = (res, ns, name)
            obj = objects[key]
            if scale:
                cur = {"apiVersion": "autoscaling/v1", "kind": "Scale",
                       "metadata": {"name": name, "namespace": ns},
                       "spec": {"replicas": obj["spec"].get("replicas", 1)}}
                if self.command == "GET":
                    return 200, cur
                self.need_patch(("application/merge-patch+json", "application/strategic-merge-patch+json"))
                check(body, "V1Scale", "body")
                merge(cur, body)
                deserialize(cur, "V1Scale")
                with lock:
                    obj["spec"]["replicas"] = cur["spec"]["replicas"]
                rec["replicas"] = cur["spec"]["replicas"]
                return 200, cur
            self.need_patch(("application/strategic-merge-patch+json", "application/merge-patch+json"))
            check(body, MODEL[res], "body")
            new = copy.deepcopy(obj)
            merge(new, body)
            deserialize(new, MODEL[res])
            with lock:
                objects[key] = new
            rec["annotations"] = new["spec"]["template"]["metadata"].get("annotations", {})
            return 200, new
        if n and self.command == "DELETE":
            ns, name = n.groups()
            if body is not None:
                check(body, "V1DeleteOptions", "body")
                deserialize(body, "V1DeleteOptions")
                rec["grace"] = body.get("gracePeriodSeconds")
            with lock:
                obj = objects.pop(("pods", ns, name))
            return 200, obj
        if o and self.command == "PATCH":
            key = ("nodes", None, o.group(1))
            self.need_patch(("application/strategic-merge-patch+json", "application/merge-patch+json"))
            check(body, "V1Node", "body")
            new = copy.deepcopy(objects[key])
            merge(new, body)
            deserialize(new, "V1Node")
            with lock:
                objects[key] = new
            rec["unschedulable"] = new["spec"].get("unschedulable", False)
            return 200, new
        raise ValueError("%s %s is not an endpoint runbook actions use" % (self.command, self.path))

    def need_patch(self, types):
        if self.command != "PATCH":
            raise ValueError("expected PATCH, got %s" % self.command)
        if self.headers.get("Content-Type") not in types:
            raise ValueError("Content-Type %s is not one of %s" % (self.headers.get("Content-Type"), types))


if __name__ == "__main__":
    port, cert, key, TOKEN = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()

#!/usr/bin/env python3
"""Opens or resolves incidents in seismo-correlator through its real ingest
API: one seismo.event/v1 anomaly per service, each service on its own (no
edges), so N services give N incidents.

  incidents.py URL TOKEN fire|resolve SERVICE[,SERVICE...] [--node N] [--namespace NS]
  incidents.py URL TOKEN fire|resolve --count 500 --prefix storm
Prints one line per request: the HTTP status and the ingest reply.
"""
import argparse
import datetime
import hashlib
import json
import urllib.request


def ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def events(services, state, node, namespace, started):
    out = []
    for s in services:
        aid = hashlib.sha256(("%s|%s|%s" % (node, s, started)).encode()).hexdigest()[:24]
        e = {"schema": "seismo.event/v1", "id": hashlib.sha256((aid + state).encode()).hexdigest()[:24],
             "anomaly_id": aid, "state": state, "severity": "critical", "service": s,
             "labels": {"service": s, "node": node, "namespace": namespace, "team": "shop",
                        "pod": s + "-7d9f-abcde"},
             "metric": "latency_p99", "value": 0.25, "baseline": {"method": "seasonal-robust",
             "expected": 0.005, "spread": 0.001, "samples": 1440}, "score": 14.0,
             "threshold": 4.0, "starts_at": started, "observed_at": ts(datetime.datetime.now(datetime.timezone.utc))}
        if state == "resolved":
            e["ends_at"] = e["observed_at"]
        out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("state", choices=["fire", "resolve"])
    ap.add_argument("services", nargs="?", default="")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--prefix", default="svc")
    ap.add_argument("--node", default="node-a")
    ap.add_argument("--namespace", default="shop")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--started", default="2026-12-01T00:00:00Z",
                    help="starts_at: the same for fire and resolve, so both name one anomaly")
    a = ap.parse_args()
    svcs = [s for s in a.services.split(",") if s] + ["%s-%04d" % (a.prefix, i) for i in range(a.count)]
    state = "firing" if a.state == "fire" else "resolved"
    for i in range(0, len(svcs), a.batch):
        body = {"node": a.node, "cluster": "test", "sent_at": ts(datetime.datetime.now(datetime.timezone.utc)),
                "events": events(svcs[i:i + a.batch], state, a.node, a.namespace, a.started)}
        rq = urllib.request.Request(a.url.rstrip("/") + "/api/v1/events", data=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json",
                                             "Authorization": "Bearer " + a.token})
        with urllib.request.urlopen(rq, timeout=30) as r:
            print(r.status, r.read().decode().strip())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Event stream for tests/integration/correlator_ha.sh.

One isolated service per index (no edges: one incident each), like agents
on many nodes. Batches go to the given correlator replicas in turn; when
one does not answer (killed), the batch goes to the next, as an agent
retries its spool.

  ha_stream.py batch [resolve]           print the batch sent to both replicas
  ha_stream.py fire FROM TO PORT...      fire services FROM..TO-1
  ha_stream.py resolve FROM TO PORT...   resolve them
"""
import datetime
import json
import sys
import time
import urllib.error
import urllib.request


def stamp(offset=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event(i, resolved):
    e = {"schema": "seismo.event/v1", "id": "%s%04x" % ("e" if resolved else "f", i),
         "anomaly_id": "a%04x" % i, "state": "resolved" if resolved else "firing",
         "severity": "warning", "service": "svc-%d" % i, "labels": {"team": "t%d" % (i % 3)},
         "metric": "latency_p99", "value": 0.4, "score": 7.5, "threshold": 4.0,
         "starts_at": stamp(), "observed_at": stamp()}
    if resolved:
        e["ends_at"] = stamp()
    return e


def batch(events):
    return {"node": "node-1", "cluster": "c1", "events": events}


def send(body, ports, first):
    data = json.dumps(body).encode()
    for k in range(len(ports)):
        port = ports[(first + k) % len(ports)]
        req = urllib.request.Request("http://127.0.0.1:%s/api/v1/events" % port, data=data,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError) as err:
            print("replica %s: %s; next one" % (port, err), file=sys.stderr)
    sys.exit("no replica took the batch")


def main():
    if sys.argv[1] == "batch":
        print(json.dumps(batch([event(0xdddd, sys.argv[2:] == ["resolve"])])))
        return
    resolved = sys.argv[1] == "resolve"
    lo, hi, ports = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    for i in range(lo, hi):
        send(batch([event(i, resolved)]), ports, i)
        time.sleep(0.1)


main()

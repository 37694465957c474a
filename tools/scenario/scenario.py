#!/usr/bin/env python3
"""Scenario generator for seismo-correlator's noise benchmark and tests.

Builds a random call graph of N services (layers: frontends -> mid tiers ->
datastores) placed on M nodes, injects faults at random services, and
propagates each fault to the callers of the faulty service, hop by hop,
with onset delays and decaying, noisy robust z-scores, the way latency
spreads upstream in a real system. Adds isolated false-positive anomalies
as background noise. Emits what the nodes' agents would send
(seismo.event/v1 events and dependency edges, one batch per node and
minute) and, separately, the ground truth (each fault's root service).

  scenario.py generate --services 120 --nodes 30 --faults 60 --seed 1 \
      --out batches.ndjson --truth truth.json
  scenario.py score --truth truth.json --incidents incidents.json
"""
import argparse
import datetime
import hashlib
import json
import random
import sys

# Metrics an affected service may show, with the chance each crosses its threshold.
METRICS = [("latency_p99", 1.0), ("latency_p50", 0.6), ("latency_mean", 0.7),
           ("error_ratio", 0.25), ("request_rate", 0.15)]
EPOCH = datetime.datetime(2026, 11, 24, 0, 0, 0, tzinfo=datetime.timezone.utc)


def ts(seconds):
    return (EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def hexid(*parts):
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


def build_graph(rng, n_services):
    """Layered DAG: each service calls 1..3 services in deeper layers."""
    layers = [max(1, n_services // 6), n_services // 3, n_services // 3]
    layers.append(n_services - sum(layers))
    names, layer_of = [], {}
    for li, count in enumerate(layers):
        prefix = ["web", "api", "svc", "db"][li]
        for i in range(count):
            name = "%s-%03d" % (prefix, len(names))
            names.append(name)
            layer_of[name] = li
    callees = {s: set() for s in names}
    for s in names:
        deeper = [t for t in names if layer_of[t] > layer_of[s]]
        if not deeper:
            continue
        # Mostly the next layer, sometimes a skip (api -> db).
        nxt = [t for t in deeper if layer_of[t] == layer_of[s] + 1] or deeper
        for _ in range(rng.randint(1, 3)):
            pool = nxt if rng.random() < 0.8 else deeper
            callees[s].add(rng.choice(pool))
    callers = {s: set() for s in names}
    for s, cs in callees.items():
        for c in cs:
            callers[c].add(s)
    return names, callees, callers


def place(rng, names, n_nodes):
    nodes = ["node-%02d" % i for i in range(n_nodes)]
    return {s: rng.sample(nodes, min(len(nodes), rng.randint(1, 2))) for s in names}


def generate(args):
    global EPOCH
    if args.end_now:
        # Faults come every gap seconds on average, after 600 s, for up to 15 min.
        span = 600 + args.faults * args.gap + 1800
        EPOCH = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                 - datetime.timedelta(seconds=span))
    rng = random.Random(args.seed)
    names, callees, callers = build_graph(rng, args.services)
    placement = place(rng, names, args.nodes)
    # Some calls are never reported (an agent missing on a node, a protocol
    # it cannot parse): the correlator must cope with a partial graph.
    hidden = set((s, c) for s in names for c in sorted(callees[s]) if rng.random() < args.hidden_edges)
    anomalies = []   # (service, node, start, end, score, deps, fault)
    truth = {"faults": [], "services": len(names), "nodes": args.nodes}
    t = 600
    for f in range(args.faults):
        # Faults arrive every few minutes; some overlap in time.
        t += rng.randint(args.gap // 2, args.gap * 3 // 2)
        root = rng.choice(names)
        duration = rng.randint(240, 900)
        affected = {root: (t, rng.uniform(8, 20))}
        frontier = [root]
        while frontier:
            nxt = []
            for s in frontier:
                onset, score = affected[s]
                for c in sorted(callers[s]):
                    if c in affected or rng.random() > args.spread:
                        continue
                    # Callers see the slowdown diluted by their own work,
                    # with per-service noise: sometimes louder than the root.
                    cs = score * rng.uniform(0.45, 1.15)
                    if cs < 4.5:
                        continue
                    affected[c] = (onset + rng.randint(5, 60), cs)
                    nxt.append(c)
            frontier = nxt
        fault = {"id": f, "root": root, "start": ts(t), "services": sorted(affected),
                 "anomaly_ids": []}
        for s, (onset, score) in affected.items():
            # The agent names a dependency it saw slow only sometimes.
            deps = [{"service": d, "anomalous": d in affected and rng.random() < 0.3}
                    for d in sorted(callees[s]) if (s, d) not in hidden and rng.random() < 0.5]
            for node in placement[s]:
                # Not every replica's agent crosses the threshold.
                if s != root and rng.random() < 0.25:
                    continue
                for metric, p in METRICS:
                    if metric != "latency_p99" and rng.random() > p:
                        continue
                    sc = score * rng.uniform(0.7, 1.1)
                    if sc < 4.2:
                        continue
                    # A long anomaly flaps: it resolves and fires again.
                    episodes = rng.randint(1, 3)
                    length = duration // episodes
                    for e in range(episodes):
                        start = onset + e * length + rng.randint(0, 10)
                        end = start + max(60, length - rng.randint(30, 90))
                        anomalies.append((s, node, metric, start, end, sc, deps, f))
        truth["faults"].append(fault)
    # Background noise: isolated false positives anywhere, any time.
    for i in range(int(args.faults * args.noise)):
        s = rng.choice(names)
        start = rng.randint(600, t + 600)
        node = rng.choice(placement[s])
        metric = rng.choice(METRICS)[0]
        anomalies.append((s, node, metric, start, start + rng.randint(60, 300), rng.uniform(4.1, 7), [], None))
    events = []
    for (s, node, metric, start, end, score, deps, f) in anomalies:
        aid = hexid(node, s, metric, start)
        if f is not None:
            truth["faults"][f]["anomaly_ids"].append(aid)
        sev = "critical" if score >= 12 else "warning"
        base = {"schema": "seismo.event/v1", "anomaly_id": aid, "severity": sev,
                "service": s, "labels": {"service": s, "node": node, "team": s.split("-")[0],
                                         "cluster": "bench"},
                "metric": metric, "value": round(0.002 * score, 5),
                "baseline": {"method": "seasonal-robust", "expected": 0.002, "spread": 0.0004,
                             "samples": 1440},
                "score": round(score, 2), "threshold": 4.0, "starts_at": ts(start),
                "dependencies": [{"endpoint": "10.0.0.1:80", **d} for d in deps]}
        fire = dict(base, id=hexid(aid, "firing"), state="firing", observed_at=ts(start + 60))
        res = dict(base, id=hexid(aid, "resolved"), state="resolved", observed_at=ts(end),
                   ends_at=ts(end))
        events.append((start + 60, node, fire))
        events.append((end, node, res))
    events.sort(key=lambda e: (e[0], e[2]["id"]))
    truth["events"] = len(events)
    truth["noise_anomalies"] = int(args.faults * args.noise)
    # One batch per node per minute, with the edges that node's services call.
    edges_of = {}
    for s in names:
        for node in placement[s]:
            edges_of.setdefault(node, []).extend(
                {"caller": s, "callee": c, "endpoint": "10.0.0.1:80",
                 "requests": rng.randint(100, 5000)} for c in sorted(callees[s])
                if (s, c) not in hidden)
    out = open(args.out, "w")
    sent_edges = set()
    batch, key = [], None
    def flush():
        if not batch:
            return
        node = key[1]
        b = {"node": node, "cluster": "bench", "sent_at": ts(key[0] * 60 + 60), "events": batch}
        if node not in sent_edges:
            b["edges"] = edges_of.get(node, [])
            sent_edges.add(node)
        out.write(json.dumps(b, separators=(",", ":")) + "\n")
    for when, node, ev in events:
        k = (when // 60, node)
        if k != key or len(batch) >= args.batch:
            flush()
            batch, key = [], k
        batch.append(ev)
    flush()
    out.close()
    with open(args.truth, "w") as f:
        json.dump(truth, f)
    print("scenario: %d services on %d nodes, %d faults, %d noise anomalies, %d events -> %s"
          % (len(names), args.nodes, args.faults, truth["noise_anomalies"], len(events), args.out),
          file=sys.stderr)


def score(args):
    truth = json.load(open(args.truth))
    details = json.load(open(args.incidents))  # list of incident objects with anomaly_list
    owner = {}
    for f in truth["faults"]:
        for a in f["anomaly_ids"]:
            owner[a] = f["id"]
    candidates = 0
    inc_of_fault = {}
    for inc in details:
        ids = [a["anomaly_id"] for a in inc.get("anomaly_list", [])]
        candidates += len(inc["root_causes"])
        # Candidates first, then the other anomalous services by rank.
        causes = inc["blast_radius"]["service_names"]
        for a in ids:
            f = owner.get(a)
            if f is not None:
                inc_of_fault.setdefault(f, {}).setdefault(inc["id"], [0, causes])[0] += 1
    ac1 = ac3 = 0
    split = 0
    for f in truth["faults"]:
        incs = inc_of_fault.get(f["id"], {})
        if not incs:
            continue
        split += len(incs) > 1
        # The incident holding most of the fault's anomalies is its incident.
        best = max(incs.values(), key=lambda v: v[0])
        ac1 += f["root"] in best[1][:1]
        ac3 += f["root"] in best[1][:3]
    n = len(truth["faults"])
    events = truth["events"]
    res = {"events": events, "incidents": len(details), "candidates": candidates,
           "reduction": 1 - len(details) / events if events else 0,
           "ac1": ac1 / n if n else 0, "ac3": ac3 / n if n else 0,
           "faults": n, "faults_split": split}
    print(json.dumps(res))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--services", type=int, default=120)
    g.add_argument("--nodes", type=int, default=30)
    g.add_argument("--faults", type=int, default=60)
    g.add_argument("--gap", type=int, default=1200, help="mean seconds between faults")
    g.add_argument("--spread", type=float, default=0.8, help="probability a caller is affected")
    g.add_argument("--noise", type=float, default=0.5, help="noise anomalies per fault")
    g.add_argument("--hidden-edges", type=float, default=0.15,
                   help="share of call edges no agent reports")
    g.add_argument("--batch", type=int, default=500)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--end-now", action="store_true",
                   help="place the stream so it ends about now (default: from 2026-11-24)")
    g.add_argument("--out", required=True)
    g.add_argument("--truth", required=True)
    s = sub.add_parser("score")
    s.add_argument("--truth", required=True)
    s.add_argument("--incidents", required=True)
    args = p.parse_args()
    generate(args) if args.cmd == "generate" else score(args)


if __name__ == "__main__":
    main()

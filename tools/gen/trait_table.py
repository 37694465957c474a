#!/usr/bin/env python3
"""Per trait and anomaly kind, what the detector finds on a realism corpus.

    tools/nab/diag.py -d CORPUS -v | tools/gen/trait_table.py -d CORPUS

Reads diag.py's verbose output (files with a miss or a false positive at
the threshold NAB picks for the whole corpus; a file it does not name had
neither) and the corpus' windows, and prints one row per class of
tools/gen/realism.py: false alarms per file without anomalies, anomalies
found of each kind (found/labelled), and false alarms per file with one.
Files are named <class>_<k>_<kind>.csv (gen_corpus.py --suite realism).
"""
import argparse
import collections
import json
import os
import re
import sys

KINDS = ["spike", "shift", "drift", "variance"]
LINE = re.compile(r"^  (\S+) windows=(\d+) detected=(\d+) fp=(\d+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-d", "--corpus", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.corpus, "combined_windows.json")) as f:
        windows = json.load(f)
    seen = {}
    header = ""
    for line in sys.stdin:
        if line.startswith("standard="):
            header = line.strip()
        m = LINE.match(line)
        if m:
            seen[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    unknown = set(seen) - set(windows)
    if unknown:
        sys.exit("trait_table: files not in the corpus: %s" % ", ".join(sorted(unknown)))
    rows = collections.defaultdict(collections.Counter)
    for name, wins in windows.items():
        category, base = name.split("/")
        kind = os.path.splitext(base)[0].rsplit("_", 1)[-1]
        n, found, fp = seen.get(name, (len(wins), len(wins), 0))
        c = rows[category]
        if kind == "none":
            c["none_files"] += 1
            c["none_fp"] += fp
        else:
            c["anomaly_files"] += 1
            c["anomaly_fp"] += fp
            c[kind + "_n"] += n
            c[kind + "_found"] += found
    print(header)
    print("| trait | FP per file without anomaly | %s | FP per file with one |" % " | ".join(KINDS))
    print("| --- | --- | %s | --- |" % " | ".join("---" for _ in KINDS))
    total = collections.Counter()
    for category in sorted(rows):
        c = rows[category]
        total.update(c)
        print(row(category, c))
    print(row("all", total))


def row(label, c):
    cells = ["%d/%d" % (c[k + "_found"], c[k + "_n"]) for k in KINDS]
    return "| %s | %.1f | %s | %.1f |" % (
        label, c["none_fp"] / max(1, c["none_files"]), " | ".join(cells),
        c["anomaly_fp"] / max(1, c["anomaly_files"]))


if __name__ == "__main__":
    main()

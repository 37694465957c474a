#!/usr/bin/env python3
"""Honest figures for seismo's detector on a labelled corpus in NAB's layout.

    tools/nab/cv.py [-d CORPUS] [--grid KEY=V1,V2 ...] [--loco] [--label NAME]

Replays every file of the corpus through `seismo replay` once per
configuration of the grid (the product of the --grid lists; no --grid: the
frozen defaults only) and scores the results with tools/nab/nab_score.py.

  default   the frozen configuration (replay's defaults, fixed before the
            corpus is seen): prints one line per profile.
  --loco    leave-one-category-out cross-validation: for each category, the
            grid point with the best standard score on the other categories
            is chosen, and that category's results under it are kept; the
            kept results of all folds are pooled and scored together (one
            threshold, as NAB does). The chosen settings per fold are printed.

Output lines: "<label> standard=.. reward_low_fp=.. reward_low_fn=.." and,
for --loco, "fold <category> chose <settings> train_standard=..".
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def replay_corpus(seismo, corpus, settings, out_dir):
    windows = os.path.join(corpus, "combined_windows.json")
    data = os.path.join(corpus, "data")
    names = []
    for category in sorted(os.listdir(data)):
        for f in sorted(os.listdir(os.path.join(data, category))):
            if f.endswith(".csv"):
                names.append("%s/%s" % (category, f))
    procs = []
    for name in names:
        os.makedirs(os.path.join(out_dir, os.path.dirname(name)), exist_ok=True)
        cmd = [seismo, "replay", "-w", windows, "--name", name, "-o", os.path.join(out_dir, name)]
        for s in settings:
            cmd += ["-s", s]
        cmd.append(os.path.join(data, name))
        procs.append(subprocess.Popen(cmd))
        if len(procs) >= 2:
            if procs.pop(0).wait():
                raise SystemExit("cv: seismo replay failed on a file")
    for p in procs:
        if p.wait():
            raise SystemExit("cv: seismo replay failed on a file")
    return nab_score.load_corpus(windows, out_dir, data)


def score(files):
    report = nab_score.score_corpus(files)
    return {p: r["score"] for p, r in report.items()}


def line(label, s):
    return "%s standard=%.1f reward_low_fp=%.1f reward_low_fn=%.1f" % (
        label, s["standard"], s["reward_low_FP_rate"], s["reward_low_FN_rate"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-d", "--corpus", default=os.environ.get("NAB_DIR", os.path.join(ROOT, "..", "shared", "data", "nab")))
    ap.add_argument("--grid", action="append", default=[], help="KEY=V1,V2,...")
    ap.add_argument("--loco", action="store_true")
    ap.add_argument("--label", default="frozen")
    ap.add_argument("--each", action="store_true", help="print every grid point's score on the whole corpus")
    args = ap.parse_args()
    seismo = os.path.join(os.environ.get("BUILD", os.path.join(ROOT, "build")), "seismo")
    axes = []
    for g in args.grid:
        key, values = g.split("=", 1)
        axes.append(["%s=%s" % (key, v) for v in values.split(",")])
    grid = [list(p) for p in itertools.product(*axes)] if axes else [[]]
    if not os.path.isfile(os.path.join(args.corpus, "combined_windows.json")):
        raise SystemExit("cv: no corpus at %s (combined_windows.json missing)" % args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        results = [replay_corpus(seismo, args.corpus, g, os.path.join(tmp, str(i)))
                   for i, g in enumerate(grid)]
        if args.each or not args.loco:
            for g, files in zip(grid, results):
                print(line(args.label if not g else " ".join(g), score(files)))
        if not args.loco:
            return 0
        categories = sorted({n.split("/")[0] for n in results[0]})
        pooled = {}
        for held in categories:
            best, best_i = None, 0
            for i, files in enumerate(results):
                train = {n: v for n, v in files.items() if not n.startswith(held + "/")}
                s = score(train)["standard"]
                if best is None or s > best:
                    best, best_i = s, i
            print("fold %s chose %s train_standard=%.1f" % (held, " ".join(grid[best_i]) or "defaults", best))
            pooled.update({n: v for n, v in results[best_i].items() if n.startswith(held + "/")})
        print(line("loco", score(pooled)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

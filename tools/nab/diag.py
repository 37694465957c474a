#!/usr/bin/env python3
"""Where a corpus' standard score is lost: per category, per file, per surprise.

    tools/nab/diag.py [-d CORPUS] [-s KEY=VALUE ...] [-v]

Replays every file of a corpus in NAB's layout through `seismo replay` (the
settings as in `seismo replay -s`), scores it with NAB's standard profile at
the threshold NAB picks for the whole corpus, and prints:
  - the score and that threshold (as a surprise: score = s / (s + 10));
  - per category: files, windows, windows detected at the threshold, false
    positives (detections outside windows) and what they cost;
  - with -v, per file: the same, and each missed window's start with the
    highest score inside it (0: the detector opened nothing there);
  - a histogram of the events' surprises: the first event in a window
    against events outside every window, which shows how well the score
    separates them (the threshold NAB picks sits where they cross).
Rows of the probationary period (NAB's first 15 %) are left out, as NAB does.
"""
import argparse
import collections
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cv  # noqa: E402
import nab_score  # noqa: E402

BINS = [2.5, 3, 3.5, 4, 5, 6, 8, 12, float("inf")]


def surprise_of(score):
    return score / (1 - score) * 10 if score < 1 else float("inf")


def bin_of(surprise):
    for j in range(len(BINS) - 1):
        if surprise < BINS[j + 1]:
            return j
    return len(BINS) - 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-d", "--corpus", default=os.environ.get("NAB_DIR", os.path.join(cv.ROOT, "..", "shared", "data", "nab")))
    ap.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per file with a miss or a false positive")
    args = ap.parse_args()
    seismo = os.path.join(os.environ.get("BUILD", os.path.join(cv.ROOT, "build")), "seismo")
    if not os.path.isfile(os.path.join(args.corpus, "combined_windows.json")):
        sys.exit("diag: no corpus at %s (combined_windows.json missing)" % args.corpus)
    try:
        with tempfile.TemporaryDirectory() as out:
            files = cv.replay_corpus(seismo, args.corpus, args.set, out)
    except (OSError, nab_score.ScoreError) as e:
        sys.exit("diag: %s" % e)
    weights = nab_score.PROFILES["standard"]
    report = nab_score.score_corpus(files, {"standard": weights})["standard"]
    threshold = report["threshold"]
    print("standard=%.1f threshold=%.4f (surprise %.2f)" % (report["score"], threshold, surprise_of(threshold)))
    per_category = collections.defaultdict(lambda: collections.Counter())
    first_in_window = [0] * (len(BINS) - 1)
    outside = [0] * (len(BINS) - 1)
    for name, (times, scores, wins) in sorted(files.items()):
        windows = nab_score.window_indices(times, wins, name)
        probation = nab_score.probation_length(len(scores))
        points = nab_score.sweep_points(name, scores, windows, weights)
        fp = [(s, v) for s, v, w in points if w is None and s >= threshold]
        missed = []
        detected = 0
        for left, right in windows:
            inside = [scores[i] for i in range(max(left, probation), right + 1)]
            if inside and max(inside) >= threshold:
                detected += 1
            else:
                missed.append("%s(max %.3f)" % (times[left].strftime("%Y-%m-%d %H:%M"), max(inside or [0])))
        c = per_category[name.split("/")[0]]
        c["files"] += 1
        c["windows"] += len(windows)
        c["detected"] += detected
        c["fp"] += len(fp)
        c["fp_cost"] += sum(v for _, v in fp)
        if args.verbose and (missed or fp):
            print("  %s windows=%d detected=%d fp=%d %s" % (name, len(windows), detected, len(fp), " ".join(missed)))
        seen = set()
        for i, score in enumerate(scores):
            if score <= 0 or i < probation:
                continue
            window = next(((l, r) for l, r in windows if l <= i <= r), None)
            if window is None:
                outside[bin_of(surprise_of(score))] += 1
            elif window not in seen:
                seen.add(window)
                first_in_window[bin_of(surprise_of(score))] += 1
    for category, c in sorted(per_category.items()):
        print("%-22s files=%d windows=%d detected=%d fp=%d fp_cost=%.1f" % (
            category, c["files"], c["windows"], c["detected"], c["fp"], c["fp_cost"]))
    print("event surprise   first_in_window  outside")
    for j in range(len(BINS) - 1):
        high = "inf" if BINS[j + 1] == float("inf") else "%g" % BINS[j + 1]
        print("  %4g - %-5s %8d %8d" % (BINS[j], high, first_in_window[j], outside[j]))


if __name__ == "__main__":
    main()

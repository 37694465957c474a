#!/usr/bin/env python3
"""Score anomaly detector results the way the Numenta Anomaly Benchmark does.

Independent implementation of NAB's scoring rules (NAB wiki and paper,
"Evaluating Real-time Anomaly Detection Algorithms - the Numenta Anomaly
Benchmark", Lavin & Ahmad 2015):

* the first 15 % of each file (at most 750 rows) is probationary: not scored;
* a row inside a label window, if it is the earliest detection of that window,
  earns tp_weight * S(p) / S(-1) where p = -(right - i + 1) / width is its
  position in the window and S(x) = 2 / (1 + e^(5x)) - 1 (S(x) = -1 for
  x >= 3); later detections in the same window add nothing;
* a detection outside windows costs fp_weight * S(p) with p the distance past
  the previous window's right edge over (that window's width - 1), or
  fp_weight * -1 before any window;
* a window without a detection costs fn_weight;
* one threshold for the whole corpus, chosen to maximise the summed score,
  sweeping every distinct anomaly score (a row is a detection when its score
  is >= the threshold);
* normalised = 100 * (S - S_null) / (S_perfect - S_null), where null never
  detects and perfect detects each window at its first row.

Results layout: RESULTS_DIR/<category>/<file>.csv with a header containing
"timestamp" and "anomaly_score" (NAB's results columns), one row per data row.
"""
import argparse
import csv
import datetime
import json
import math
import os
import sys

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
PROBATION_FRACTION = 0.15


class ScoreError(Exception):
    pass


def scaled_sigmoid(position):
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(rows):
    return min(math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * 5000)


def parse_time(text):
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ScoreError("bad timestamp %r" % text)


def window_indices(times, windows, name):
    """Row index ranges [left, right] of each window; they must match rows, as in NAB."""
    index = {t: i for i, t in enumerate(times)}
    out = []
    for start, end in windows:
        s, e = parse_time(start), parse_time(end)
        if s not in index or e not in index:
            raise ScoreError("%s: window %s..%s does not start and end on rows" % (name, start, end))
        out.append((index[s], index[e]))
    return out


def sweep_points(name, scores, windows, weights):
    """Per scorable row: (anomaly score, what detecting it is worth, window id or None).

    windows are (left, right) row indices, ordered and disjoint."""
    points = []
    probation = probation_length(len(scores))
    max_tp = scaled_sigmoid(-1.0)
    current = None
    previous = None
    pending = list(windows)
    for i, score in enumerate(scores):
        if pending and i == pending[0][0]:
            current = pending.pop(0)
        if current is not None:
            left, right = current
            width = float(right - left + 1)
            value = scaled_sigmoid(-(right - i + 1) / width) * weights["tp"] / max_tp
            window = "%s|%d" % (name, left)
        else:
            if previous is None:
                position = 3.0
            else:
                left, right = previous
                width = right - left + 1
                position = abs(right - i) / float(width - 1) if width > 1 else 3.0
            value = scaled_sigmoid(position) * weights["fp"]
            window = None
        if i >= probation:
            points.append((score, value, window))
        if current is not None and i == current[1]:
            previous = current
            current = None
    return points


def sweep(points, weights):
    """Score at every threshold: list of (threshold, score), highest threshold first."""
    ordered = sorted(points, key=lambda p: p[0], reverse=True)
    window_parts = {}
    for _, _, window in ordered:
        if window is not None:
            window_parts[window] = -weights["fn"]
    fp_part = 0.0
    window_sum = sum(window_parts.values())
    out = [(math.inf, fp_part + window_sum)]
    i = 0
    while i < len(ordered):
        threshold = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == threshold:
            _, value, window = ordered[i]
            if window is None:
                fp_part += value
            elif value > window_parts[window]:
                window_sum += value - window_parts[window]
                window_parts[window] = value
            i += 1
        out.append((threshold, fp_part + window_sum))
    return out


def score_at(points, weights, threshold):
    """Summed score of one file's points at a fixed threshold: every window
    counts, detected or not."""
    windows = {}
    fp = 0.0
    for score, value, window in points:
        if window is not None:
            best = windows.setdefault(window, -weights["fn"])
            if score >= threshold and value > best:
                windows[window] = value
        elif score >= threshold:
            fp += value
    return fp + sum(windows.values())


def read_results(path):
    times, scores = [], []
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or "timestamp" not in header or "anomaly_score" not in header:
                raise ScoreError("%s:1: header needs timestamp and anomaly_score" % path)
            ti, si = header.index("timestamp"), header.index("anomaly_score")
            for line, row in enumerate(reader, start=2):
                try:
                    times.append(parse_time(row[ti]))
                    scores.append(float(row[si]))
                except (IndexError, ValueError, ScoreError) as e:
                    raise ScoreError("%s:%d: %s" % (path, line, e))
    except OSError as e:
        raise ScoreError("%s: %s" % (path, e.strerror))
    return times, scores


def score_corpus(files, profiles=PROFILES):
    """files: {name: (times, scores, windows as (start, end) strings)}.

    Returns {profile: {"score", "threshold", "raw", "null", "perfect", "files": {name: raw}}}."""
    prepared = {}
    for name, (times, scores, windows) in sorted(files.items()):
        prepared[name] = (scores, window_indices(times, windows, name))
    report = {}
    for profile, weights in profiles.items():
        per_file = {n: sweep_points(n, s, w, weights) for n, (s, w) in prepared.items()}
        everything = [p for pts in per_file.values() for p in pts]
        curve = sweep(everything, weights)
        # Ties: the highest threshold reaching the best score, as sorting by score does in NAB.
        threshold, raw = max(curve, key=lambda ts: ts[1])
        null = sweep([(0.0, v, w) for (_, v, w) in everything], weights)[0][1]
        perfect_points = []
        for n, (s, w) in prepared.items():
            first = {left for left, _ in w}
            marks = [1.0 if i in first else 0.0 for i in range(len(s))]
            perfect_points += sweep_points(n, marks, w, weights)
        perfect = max(score for _, score in sweep(perfect_points, weights))
        files_raw = {n: score_at(p, weights, threshold) for n, p in per_file.items()}
        files_norm = {}
        for n, (s, w) in prepared.items():
            # Per file, against that file's own null (every window missed) and
            # perfect (every window caught at its first row) detectors.
            windows = {win for _, _, win in per_file[n] if win is not None}
            f_null = -weights["fn"] * len(windows)
            f_perfect = weights["tp"] * len(windows)
            if f_perfect != f_null:
                files_norm[n] = 100.0 * (files_raw[n] - f_null) / (f_perfect - f_null)
        report[profile] = {
            "score": 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0,
            "threshold": threshold,
            "raw": raw,
            "null": null,
            "perfect": perfect,
            "files": files_raw,
            "files_normalised": files_norm,
        }
    return report


def load_corpus(windows_path, results_dir, data_dir=None):
    try:
        with open(windows_path) as f:
            windows = json.load(f)
    except (OSError, ValueError) as e:
        raise ScoreError("%s: %s" % (windows_path, e))
    files = {}
    for name, wins in sorted(windows.items()):
        path = os.path.join(results_dir, name)
        times, scores = read_results(path)
        if data_dir:
            data_rows = sum(1 for _ in open(os.path.join(data_dir, name))) - 1
            if data_rows != len(scores):
                raise ScoreError("%s: %d rows, the data file has %d" % (path, len(scores), data_rows))
        files[name] = (times, scores, wins)
    return files


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", required=True, help="combined_windows.json")
    ap.add_argument("--results", required=True, help="directory of <category>/<file>.csv results")
    ap.add_argument("--data", help="corpus data directory, to check row counts")
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    ap.add_argument("--per-file", action="store_true", help="print each file's raw score")
    args = ap.parse_args(argv)
    try:
        report = score_corpus(load_corpus(args.windows, args.results, args.data))
    except ScoreError as e:
        print("nab_score: %s" % e, file=sys.stderr)
        return 1
    if args.json:
        json.dump(report, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    for profile, r in report.items():
        print("%-20s score=%.1f threshold=%.6f raw=%.3f null=%.1f perfect=%.1f"
              % (profile, r["score"], r["threshold"], r["raw"], r["null"], r["perfect"]))
        if args.per_file:
            for name, raw in sorted(r["files"].items()):
                norm = r["files_normalised"].get(name)
                print("    raw=%8.3f  normalised=%6s  %s"
                      % (raw, "%.1f" % norm if norm is not None else "-", name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Generates a labelled corpus of time series in NAB's layout, from a fixed seed.

    tools/gen/gen_corpus.py --seed 20261204 --out DIR
    tools/gen/gen_corpus.py --seed 7 --seed 8 --seed 9 --out DIR   (files s7_..., s8_...)
    tools/gen/gen_corpus.py --seed 20261205 --length 4 --out DIR    (every file 4x longer)
    tools/gen/gen_corpus.py --suite realism --seed 101 --out DIR    (traits of real series)

writes DIR/data/<class>/<file>.csv ("timestamp,value") and
DIR/combined_windows.json, so tools/nab/run.sh -d DIR scores a detector on it
with the same scorer as NAB. Classes (each file 14 days at 5 minutes, 4032
rows, unless said otherwise; the level wanders slowly and a third of the
series are rounded to a coarse resolution, as real metrics are):

  spikes       a daily pattern with noise; one to three spikes of 5 to 12
               standard deviations (up or down)
  shifts       a sustained level shift of 3 to 8 standard deviations
  drifts       a slow failure: a linear drift of 6 to 15 standard deviations
               spread over one to three days (hourly rows, 60 days, 1440 rows)
  variance     the noise grows 3 to 6 times for two to eight hours
  seasonality  the daily pattern stops (flat at its mean) or moves by six
               hours for a day
  counts       bursty low counts (negative binomial, mean 0.5 to 3, with
               normal bursts of 10 to 30): the anomaly is a sustained rise of
               the rate (4 to 8 times for two hours) or a burst of 60 to 120
  recurring    a spike at the same minute of every hour or the same time of
               every day (a cron job: normal, never labelled); the anomaly is
               a sustained level shift of 3 to 8 standard deviations in half
               of the files, none in the others
  normal       no anomaly: seasonal noise, heavy-tailed noise (Student t, 3
               degrees of freedom), bursty counts

--length F makes every file F times longer with the same number of
anomalies (8 weeks at 5 minutes for F = 4), as monitoring series often are:
false alarms per day then weigh more against the anomalies found, as on
NAB's longer files.

--suite realism generates instead the classes of tools/gen/realism.py:
the same kinds of anomalies (spikes, level shifts, drifts, variance
changes) and files without any, on series with the traits of real
monitoring data that the classes above lack (autocorrelated,
multiplicative, weekly, log-normal noise, integer percentages, larger
counts with a daily cycle, irregular timestamps and gaps, short hourly
files). The standard suite (the default) is unchanged byte for byte.

Labels follow NAB: one window per anomaly, 10 % of the file's rows divided
by the number of anomalies, centred on the anomaly's first row. The seed
decides everything; the same seed gives the same files byte for byte.
Develop against one seed and report another: tools/bench/nab.sh reports
the training seed 7 (the only one looked at while tuning) and the test
seed 20261204 (never looked at before the configuration was frozen).
"""
import argparse
import datetime
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realism  # noqa: E402

START = datetime.datetime(2026, 1, 5)


def stamp(i, step_s):
    return (START + datetime.timedelta(seconds=i * step_s)).strftime("%Y-%m-%d %H:%M:%S")


def daily(rng, n, step_s, amplitude):
    phase = rng.uniform(0, 2 * math.pi)
    return [amplitude * math.sin(2 * math.pi * i * step_s / 86400 + phase) for i in range(n)]


def poisson(rng, mean):
    if mean > 50:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def negbin(rng, mean, size):
    return poisson(rng, rng.gammavariate(size, mean / size)) if mean > 0 else 0


def student_t(rng, dof):
    return rng.gauss(0, 1) / math.sqrt(rng.gammavariate(dof / 2, 2 / dof))


def base_series(rng, n, step_s):
    """A daily pattern, noise, a level that wanders slowly (an AR(1) walk,
    as real series do) and, in a third of the series, values rounded to a
    coarse resolution (percentages, counters scraped as integers)."""
    level = rng.uniform(20, 200)
    sd = level * rng.uniform(0.02, 0.08)
    season = daily(rng, n, step_s, sd * rng.uniform(0, 6))
    phi, step = 1 - rng.uniform(0.001, 0.01), sd * rng.uniform(0, 0.15)
    resolution = sd * rng.uniform(0.3, 1.5) if rng.random() < 1 / 3 else 0
    wander, out = 0.0, []
    for i in range(n):
        wander = phi * wander + rng.gauss(0, step)
        x = level + season[i] + wander + rng.gauss(0, sd)
        out.append(round(x / resolution) * resolution if resolution else x)
    return level, sd, out


def anomaly_rows(rng, n, k, margin):
    """k anomaly starts after the first 20 % and apart from each other."""
    while True:
        rows = sorted(rng.randrange(int(0.2 * n), n - margin) for _ in range(k))
        if all(b - a > n // (k + 1) // 2 for a, b in zip(rows, rows[1:])):
            return rows


def gen_spikes(rng, n, step_s):
    _, sd, v = base_series(rng, n, step_s)
    rows = anomaly_rows(rng, n, rng.randint(1, 3), 10)
    for r in rows:
        v[r] += rng.choice([-1, 1, 1]) * rng.uniform(5, 12) * sd
    return v, rows


def gen_shifts(rng, n, step_s):
    _, sd, v = base_series(rng, n, step_s)
    r = anomaly_rows(rng, n, 1, 50)[0]
    shift = rng.choice([-1, 1]) * rng.uniform(3, 8) * sd
    for i in range(r, n):
        v[i] += shift
    return v, [r]


def gen_drifts(rng, n, step_s):
    _, sd, v = base_series(rng, n, step_s)
    r = anomaly_rows(rng, n, 1, 100)[0]
    length = int(rng.uniform(1, 3) * 86400 / step_s)
    total = rng.choice([-1, 1]) * rng.uniform(6, 15) * sd
    for i in range(r, n):
        v[i] += total * min(1.0, (i - r) / length)
    return v, [r]


def gen_variance(rng, n, step_s):
    level, sd, v = base_series(rng, n, step_s)
    r = anomaly_rows(rng, n, 1, 120)[0]
    factor = rng.uniform(3, 6)
    for i in range(r, min(n, r + int(rng.uniform(2, 8) * 3600 / step_s))):
        v[i] += rng.gauss(0, sd * math.sqrt(factor * factor - 1))
    return v, [r]


def gen_seasonality(rng, n, step_s):
    level = rng.uniform(20, 200)
    sd = level * rng.uniform(0.01, 0.04)
    amplitude = sd * rng.uniform(6, 12)
    phase = rng.uniform(0, 2 * math.pi)
    r = anomaly_rows(rng, n, 1, int(86400 / step_s) + 1)[0]
    end = r + int(86400 / step_s)
    flat = rng.random() < 0.5
    v = []
    for i in range(n):
        angle = 2 * math.pi * i * step_s / 86400 + phase
        if r <= i < end:
            season = 0.0 if flat else amplitude * math.sin(angle + math.pi / 2)
        else:
            season = amplitude * math.sin(angle)
        v.append(level + season + rng.gauss(0, sd))
    return v, [r]


def bursty(rng, n, mean):
    v = []
    for _ in range(n):
        x = negbin(rng, mean, 0.5)
        if rng.random() < 0.01:
            x += rng.randint(10, 30)
        v.append(float(x))
    return v


def gen_counts(rng, n, step_s):
    mean = rng.uniform(0.5, 3)
    v = bursty(rng, n, mean)
    r = anomaly_rows(rng, n, 1, 30)[0]
    if rng.random() < 0.5:
        for i in range(r, min(n, r + int(7200 / step_s))):
            v[i] = float(negbin(rng, mean * rng.uniform(4, 8), 2))
    else:
        v[r] = float(rng.randint(60, 120))
    return v, [r]


def gen_recurring(rng, n, step_s):
    _, sd, v = base_series(rng, n, step_s)
    period = rng.choice([3600, 86400])
    offset = rng.randrange(0, period // step_s)
    height = rng.choice([-1, 1, 1]) * rng.uniform(6, 15) * sd
    for i in range(n):
        if (i - offset) % (period // step_s) == 0:
            v[i] += height
    if rng.random() < 0.5:
        return v, []
    r = anomaly_rows(rng, n, 1, 50)[0]
    shift = rng.choice([-1, 1]) * rng.uniform(3, 8) * sd
    for i in range(r, n):
        v[i] += shift
    return v, [r]


def gen_normal(rng, n, step_s, kind):
    if kind == 0:
        return base_series(rng, n, step_s)[2], []
    if kind == 1:
        level, sd, _ = base_series(rng, n, step_s)
        season = daily(rng, n, step_s, sd * rng.uniform(0, 4))
        return [level + season[i] + sd * student_t(rng, 3) for i in range(n)], []
    return bursty(rng, n, rng.uniform(0.5, 3)), []


def windows_of(rows, n, step_s):
    return windows_at(rows, [i * step_s for i in range(n)])


def windows_at(rows, times):
    """NAB's windows: 10 % of the file's rows shared by its anomalies, each
    centred on its anomaly's first row (times: seconds from START)."""
    if not rows:
        return []
    n = len(times)
    width = max(2, int(0.1 * n / len(rows)))
    out = []
    for r in rows:
        left, right = max(0, r - width // 2), min(n - 1, r + width // 2)
        out.append([stamp(times[left], 1) + ".000000", stamp(times[right], 1) + ".000000"])
    return out


CLASSES = [
    ("spikes", 6, gen_spikes, 300, 4032),
    ("shifts", 6, gen_shifts, 300, 4032),
    ("drifts", 5, gen_drifts, 3600, 1440),
    ("variance", 5, gen_variance, 300, 4032),
    ("seasonality", 5, gen_seasonality, 300, 4032),
    ("counts", 6, gen_counts, 300, 4032),
    ("recurring", 6, gen_recurring, 300, 4032),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, action="append", required=True,
                    help="repeat for a corpus of several seeds (files named s<SEED>_...)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--length", type=int, default=1, metavar="F",
                    help="every file F times as long, with as many anomalies (default 1)")
    ap.add_argument("--suite", choices=["standard", "realism"], default="standard",
                    help="standard: the classes above (default); realism: traits of "
                    "real series (tools/gen/realism.py)")
    args = ap.parse_args()
    if args.length < 1:
        ap.error("--length must be at least 1")
    windows = {}
    suite = generate if args.suite == "standard" else generate_realism
    for seed in args.seed:
        suite(args, random.Random(seed), windows, "s%d_" % seed if len(args.seed) > 1 else "")
    with open(os.path.join(args.out, "combined_windows.json"), "w") as f:
        json.dump(windows, f, indent=1, sort_keys=True)


def generate(args, rng, windows, prefix):
    def write(category, name, values, rows, step_s):
        path = os.path.join(args.out, "data", category)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, name), "w") as f:
            f.write("timestamp,value\n")
            for i, x in enumerate(values):
                f.write("%s,%s\n" % (stamp(i, step_s), ("%d" % x) if x == int(x) and category in ("counts", "normal") and abs(x) < 1e9 else "%.4f" % x))
        windows["%s/%s" % (category, name)] = windows_of(rows, len(values), step_s)

    for category, count, gen, step_s, n in CLASSES:
        for k in range(count):
            values, rows = gen(rng, n * args.length, step_s)
            write(category, "%s%s_%d.csv" % (prefix, category, k), values, rows, step_s)
    for k in range(6):
        values, rows = gen_normal(rng, 4032 * args.length, 300, k % 3)
        write("normal", "%snormal_%d.csv" % (prefix, k), values, rows, 300)


def generate_realism(args, rng, windows, prefix):
    def write(category, name, values, times, rows, integer):
        path = os.path.join(args.out, "data", category)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, name), "w") as f:
            f.write("timestamp,value\n")
            for t, x in zip(times, values):
                f.write("%s,%s\n" % (stamp(t, 1), ("%d" % x) if integer else "%.4f" % x))
        windows["%s/%s" % (category, name)] = windows_at(rows, times)

    realism.generate(rng, sys.modules[__name__], args.length, prefix, write)


if __name__ == "__main__":
    main()

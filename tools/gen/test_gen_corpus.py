#!/usr/bin/env python3
"""tools/gen/gen_corpus.py: both suites are reproducible, the standard one is
unchanged by the realism suite, and every label lies inside its file.

    python3 tools/gen/test_gen_corpus.py -v
"""
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen_corpus.py")
# The standard suite of seed 7 (tools/nab's training corpus files s7_...):
# sha256 over the sorted files' relative paths and bytes. The realism
# suite must leave it, and so every training and test figure, as it was
# (computed with the generator of commit ab9ebf1, before the realism suite).
STANDARD_SEED7 = "59429e86a4139a069799ff4336f41742d8b10bbfab3691bb4959972304524bf9"
REALISM_CLASSES = {"autocorr", "multiplicative", "weekly", "lognormal", "percent",
                   "rates", "irregular", "hourly"}
FMT = "%Y-%m-%d %H:%M:%S"


def generate(out, *args):
    subprocess.run([sys.executable, GEN, "--out", out] + list(args), check=True)


def digest(root):
    h = hashlib.sha256()
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            path = os.path.join(d, f)
            h.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def read_csv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "timestamp,value", path
    rows = [line.split(",") for line in lines[1:]]
    return [datetime.datetime.strptime(t, FMT) for t, _ in rows], [v for _, v in rows]


class GenCorpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.realism = os.path.join(cls.tmp, "realism")
        generate(cls.realism, "--suite", "realism", "--seed", "101")
        with open(os.path.join(cls.realism, "combined_windows.json")) as f:
            cls.windows = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_standard_suite_is_unchanged(self):
        out = os.path.join(self.tmp, "standard")
        generate(out, "--seed", "7")
        self.assertEqual(digest(out), STANDARD_SEED7)

    def test_realism_is_reproducible_and_seeded(self):
        again, other = os.path.join(self.tmp, "again"), os.path.join(self.tmp, "other")
        generate(again, "--suite", "realism", "--seed", "101")
        generate(other, "--suite", "realism", "--seed", "102")
        self.assertEqual(digest(again), digest(self.realism))
        self.assertNotEqual(digest(other), digest(self.realism))

    def test_every_class_and_kind(self):
        classes = {name.split("/")[0] for name in self.windows}
        self.assertEqual(classes, REALISM_CLASSES)
        for c in classes:
            kinds = sorted(n.rsplit("_", 1)[1][:-4] for n in self.windows if n.startswith(c + "/"))
            self.assertEqual(kinds, ["drift", "none", "none", "shift", "spike", "variance"], c)

    def test_labels_inside_files(self):
        for name, wins in self.windows.items():
            times, _ = read_csv(os.path.join(self.realism, "data", name))
            n = len(times)
            self.assertTrue(all(a < b for a, b in zip(times, times[1:])), name + ": time goes back")
            if name.endswith("_none.csv"):
                self.assertEqual(wins, [], name)
                continue
            self.assertTrue(1 <= len(wins) <= 3, name)
            width = max(2, int(0.1 * n / len(wins)))
            stamps = set(times)
            previous = None
            for left, right in wins:
                left = datetime.datetime.strptime(left, FMT + ".%f")
                right = datetime.datetime.strptime(right, FMT + ".%f")
                # both ends are rows of the file, NAB's width apart (or cut
                # by the file's end), after the probationary 15 %
                self.assertIn(left, stamps, name)
                self.assertIn(right, stamps, name)
                i, j = times.index(left), times.index(right)
                self.assertGreaterEqual(i, int(0.15 * n), name)
                self.assertTrue(j - i == width // 2 * 2 or j == n - 1, name)
                if previous is not None:
                    self.assertGreater(left, previous, name + ": windows overlap")
                previous = right

    def test_traits(self):
        def files(c):
            return [n for n in self.windows if n.startswith(c + "/")]
        for name in files("percent") + files("rates"):
            _, values = read_csv(os.path.join(self.realism, "data", name))
            self.assertTrue(all(v.isdigit() for v in values), name + ": not integers")
            if name.startswith("percent/"):
                self.assertLessEqual(max(int(v) for v in values), 100, name)
        for name in files("hourly"):
            times, _ = read_csv(os.path.join(self.realism, "data", name))
            self.assertTrue(1500 <= len(times) <= 4000, name)
            self.assertEqual(times[1] - times[0], datetime.timedelta(hours=1), name)
        for name in files("weekly"):
            times, _ = read_csv(os.path.join(self.realism, "data", name))
            self.assertIn(len(times) // 2016, range(4, 9), name)
        for name in files("multiplicative") + files("lognormal"):
            _, values = read_csv(os.path.join(self.realism, "data", name))
            self.assertGreaterEqual(min(float(v) for v in values), 0, name)
        for name in files("irregular"):
            times, _ = read_csv(os.path.join(self.realism, "data", name))
            steps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
            self.assertGreater(len(set(steps)), 10, name + ": not jittered")
            self.assertGreaterEqual(max(steps), 3600, name + ": no gap of an hour")
            self.assertLess(len(times), 4032, name + ": no row missing")


if __name__ == "__main__":
    unittest.main()

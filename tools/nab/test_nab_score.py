#!/usr/bin/env python3
"""Hand-made cases for nab_score.py, each checked against NAB's formulas by hand."""
import datetime
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score as ns  # noqa: E402

START = datetime.datetime(2014, 4, 1)


def stamps(n):
    return [START + datetime.timedelta(minutes=5 * i) for i in range(n)]


def text(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def one_file(n=100, window=(50, 59), hits=(), score=1.0):
    times = stamps(n)
    scores = [0.0] * n
    for i in hits:
        scores[i] = score
    wins = [(text(times[window[0]]), text(times[window[1]]))] if window else []
    return times, scores, wins


def S(x):
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


class Sigmoid(unittest.TestCase):
    def test_edges(self):
        self.assertAlmostEqual(ns.scaled_sigmoid(-1.0), 0.98661, places=5)
        self.assertAlmostEqual(ns.scaled_sigmoid(-0.5), 0.84828, places=5)
        self.assertAlmostEqual(ns.scaled_sigmoid(0.0), 0.0)
        self.assertAlmostEqual(ns.scaled_sigmoid(1.0), -0.98661, places=5)
        self.assertEqual(ns.scaled_sigmoid(3.0), -1.0)

    def test_probation(self):
        self.assertEqual(ns.probation_length(100), 15)
        self.assertEqual(ns.probation_length(4032), 604)
        self.assertEqual(ns.probation_length(6000), 750)


class SingleFile(unittest.TestCase):
    def score(self, profile="standard", **kw):
        return ns.score_corpus({"a/x.csv": one_file(**kw)}, {profile: ns.PROFILES[profile]})[profile]

    def test_earliest_detection_is_perfect(self):
        r = self.score(hits=(50,))
        self.assertAlmostEqual(r["raw"], 1.0)
        self.assertAlmostEqual(r["null"], -1.0)
        self.assertAlmostEqual(r["perfect"], 1.0)
        self.assertAlmostEqual(r["score"], 100.0)

    def test_middle_of_window(self):
        # position -(59 - 55 + 1) / 10 = -0.5, weighted by 1 / S(-1)
        r = self.score(hits=(55,))
        expect = S(-0.5) / S(-1.0)
        self.assertAlmostEqual(r["raw"], expect)
        self.assertAlmostEqual(r["score"], 100 * (expect + 1) / 2)

    def test_only_earliest_detection_counts(self):
        r = self.score(hits=(52, 55, 58))
        self.assertAlmostEqual(r["raw"], S(-(59 - 52 + 1) / 10.0) / S(-1.0))

    def test_no_detection_is_null(self):
        r = self.score()
        self.assertAlmostEqual(r["raw"], -1.0)
        self.assertAlmostEqual(r["score"], 0.0)

    def test_false_positive_before_window_is_not_worth_it(self):
        # detecting it costs the full FP weight, so the optimiser leaves it out
        pts = ns.sweep_points("f", one_file(hits=(20,))[1], [(50, 59)], ns.PROFILES["standard"])
        curve = dict(ns.sweep(pts, ns.PROFILES["standard"]))
        self.assertAlmostEqual(curve[1.0], -1.0 - 0.11)
        self.assertAlmostEqual(self.score(hits=(20,))["raw"], -1.0)

    def test_false_positive_after_window_is_discounted(self):
        pts = ns.sweep_points("f", one_file(hits=(62,))[1], [(50, 59)], ns.PROFILES["standard"])
        fp = [v for s, v, w in pts if s == 1.0][0]
        self.assertAlmostEqual(fp, 0.11 * S(3 / 9.0))
        far = ns.sweep_points("f", one_file(hits=(95,))[1], [(50, 59)], ns.PROFILES["standard"])
        self.assertAlmostEqual([v for s, v, w in far if s == 1.0][0], -0.11)

    def test_probationary_rows_do_not_count(self):
        r = self.score(hits=(5, 50))
        self.assertAlmostEqual(r["raw"], 1.0)
        self.assertEqual(len(ns.sweep_points("f", [0.0] * 100, [], ns.PROFILES["standard"])), 85)

    def test_profiles(self):
        self.assertAlmostEqual(self.score("reward_low_FN_rate")["raw"], -2.0)
        pts = ns.sweep_points("f", one_file(hits=(20,))[1], [(50, 59)], ns.PROFILES["reward_low_FP_rate"])
        self.assertAlmostEqual(dict(ns.sweep(pts, ns.PROFILES["reward_low_FP_rate"]))[1.0], -1.22)

    def test_windows_must_match_rows(self):
        times, scores, _ = one_file()
        bad = [(text(times[50] + datetime.timedelta(minutes=1)), text(times[59]))]
        with self.assertRaises(ns.ScoreError):
            ns.score_corpus({"a/x.csv": (times, scores, bad)})


class Corpus(unittest.TestCase):
    def test_one_threshold_for_all_files(self):
        # file a: window hit at score 0.9; file b: FP at 0.8 and window hit at 0.7.
        ta, sa, wa = one_file(hits=(50,), score=0.9)
        tb, sb, wb = one_file(hits=(50,), score=0.7)
        sb[20] = 0.8
        r = ns.score_corpus({"a/x.csv": (ta, sa, wa), "b/y.csv": (tb, sb, wb)},
                            {"standard": ns.PROFILES["standard"]})["standard"]
        # thresholds: 0.9 -> 1 - 1 = 0; 0.8 -> -0.11; 0.7 -> 1 - 0.11 + 1 = 1.89
        self.assertAlmostEqual(r["threshold"], 0.7)
        self.assertAlmostEqual(r["raw"], 1.89)
        self.assertAlmostEqual(r["null"], -2.0)
        self.assertAlmostEqual(r["perfect"], 2.0)
        self.assertAlmostEqual(r["score"], 100 * 3.89 / 4)
        self.assertAlmostEqual(r["files"]["b/y.csv"], 0.89)
        # per file against its own null (-1) and perfect (+1)
        self.assertAlmostEqual(r["files_normalised"]["b/y.csv"], 100 * 1.89 / 2)
        self.assertAlmostEqual(r["files_normalised"]["a/x.csv"], 100.0)

    def test_file_without_windows_only_costs(self):
        t, s, _ = one_file(window=None, hits=(30,))
        ta, sa, wa = one_file(hits=(50,))
        r = ns.score_corpus({"n/none.csv": (t, s, []), "a/x.csv": (ta, sa, wa)},
                            {"standard": ns.PROFILES["standard"]})["standard"]
        self.assertAlmostEqual(r["raw"], 1.0 - 0.11)
        self.assertAlmostEqual(r["files"]["n/none.csv"], -0.11)


if __name__ == "__main__":
    unittest.main()

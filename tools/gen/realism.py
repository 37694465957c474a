"""The realism suite of tools/gen/gen_corpus.py (--suite realism).

The standard suite's classes are clean: white Gaussian noise around a sine,
one file length, regular timestamps. Real monitoring series are not, and a
detector tuned only on clean series learns that a run of high values, a
busy hour's wider noise or a quiet weekend are anomalies. Each class of this
suite is one trait of real series the standard suite lacks:

  autocorr    AR(1) noise, phi 0.5 to 0.95 (machine sensors: a run of high
              values is normal), slowly wandering level, weak daily pattern
  multiplicative  noise proportional to a level that swings 3 to 10 times
              over the day (request rates, latency)
  weekly      weekend days 30 to 70 % lower, files of 4 to 8 weeks
  lognormal   right-skewed noise (log-normal, sigma 0.2 to 0.6: latency)
  percent     integer percentages clipped to 0..100 (CPU)
  rates       larger counts with a daily cycle (negative binomial, mean 5 to
              300 per 5 minutes: tweets, requests)
  irregular   jittered timestamps (up to +-40 % of the interval), 0.5 to 3 %
              of the rows missing, two to six gaps of one to four hours, and
              in a third of the files one of 6 to 12 hours (an agent down)
  hourly      hourly series of only 1,500 to 4,000 rows (less history)

Every class has, per seed, six files: two without anomalies and one each
with a spike (one to three, 5 to 12 local standard deviations), a level
shift (3 to 8), a drift (6 to 15 over one to three days) and a variance
change (the noise 3 to 6 times larger for two to eight hours, at least
twelve rows). The file name says which: <class>_<k>_<kind>.csv. Sizes are
in the series' local standard deviation (the marginal one for AR(1) noise);
on series whose noise is proportional to the level (multiplicative,
lognormal, rates) shifts and drifts multiply the level, so they are the
same number of local deviations at every hour. Non-negative series spike
downwards only where the spike stays above zero. Windows follow NAB's
rules as in the standard suite.
"""
import math

DAY = 86400
KINDS = ["none", "none", "spike", "shift", "drift", "variance"]


def daily_shape(rng):
    """A daily pattern in [-1, 1]: a sine with a phase, and a second
    harmonic in half the series (a morning and an evening peak)."""
    phase, second = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.5) if rng.random() < 0.5 else 0.0
    phase2 = rng.uniform(0, 2 * math.pi)

    def shape(t):
        a = 2 * math.pi * t / DAY
        return (math.sin(a + phase) + second * math.sin(2 * a + phase2)) / (1 + second)
    return shape


def wander(rng, n, sd):
    """The slowly wandering level of base_series: an AR(1) walk."""
    phi, step = 1 - rng.uniform(0.001, 0.01), sd * rng.uniform(0, 0.15)
    w, out = 0.0, []
    for _ in range(n):
        w = phi * w + rng.gauss(0, step)
        out.append(w)
    return out


def negbin_var(rng, gen, mean, var):
    """A count with this mean and variance (Poisson when var <= mean)."""
    if mean <= 0:
        return 0
    if var <= mean * 1.0001:
        return gen.poisson(rng, mean)
    return gen.negbin(rng, mean, mean * mean / (var - mean))


class Trait:
    """One class: the series' expectation per row, its local deviation, and
    how a value is drawn around an (anomalous) expectation with the noise
    scaled by a factor. multiplicative: shifts and drifts multiply."""
    step = 300
    multiplicative = False
    non_negative = False
    integer = False

    def __init__(self, rng, gen, n):
        self.rng, self.gen, self.n = rng, gen, n

    def sd_at(self, i, mean):
        return self.sd

    def draw(self, i, mean, factor):
        return mean + self.sd * factor * self.unit[i]

    def finish(self, x):
        return x


class Autocorr(Trait):
    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(20, 200)
        self.sd = level * rng.uniform(0.02, 0.08)
        phi = rng.uniform(0.5, 0.95)
        innovation, e = math.sqrt(1 - phi * phi), rng.gauss(0, 1)
        self.unit = []
        for _ in range(n):
            e = phi * e + rng.gauss(0, innovation)
            self.unit.append(e)
        shape, amp, w = daily_shape(rng), self.sd * rng.uniform(0, 2), wander(rng, n, self.sd)
        self.mean = [level + amp * shape(i * self.step) + w[i] for i in range(n)]


class Multiplicative(Trait):
    multiplicative = True
    non_negative = True

    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level, swing = rng.uniform(20, 500), math.log(rng.uniform(3, 10)) / 2
        self.cv = rng.uniform(0.05, 0.2)
        shape = daily_shape(rng)
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = [level * math.exp(swing * shape(i * self.step)) for i in range(n)]

    def sd_at(self, i, mean):
        return self.cv * mean

    def draw(self, i, mean, factor):
        return max(0.0, mean + self.cv * mean * factor * self.unit[i])


class Weekly(Trait):
    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(20, 500)
        self.sd = level * rng.uniform(0.02, 0.08)
        drop, amp, shape = rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.5), daily_shape(rng)
        w = wander(rng, n, self.sd)
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = []
        for i in range(n):
            t = i * self.step
            weekend = (t // DAY) % 7 >= 5   # the corpus starts on a Monday
            base = level * (1 - drop) if weekend else level
            self.mean.append(base * (1 + amp * shape(t)) + w[i])


class Lognormal(Trait):
    multiplicative = True
    non_negative = True

    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(20, 500)
        self.sigma = rng.uniform(0.2, 0.6)
        amp, shape = rng.uniform(0, 0.5), daily_shape(rng)
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = [level * (1 + amp * shape(i * self.step)) for i in range(n)]

    def sd_at(self, i, mean):
        return mean * math.sqrt(math.exp(self.sigma ** 2) - 1)

    def draw(self, i, mean, factor):
        # the log-normal whose standard deviation is factor times the usual one
        s = math.sqrt(math.log(1 + factor * factor * (math.exp(self.sigma ** 2) - 1)))
        return mean * math.exp(s * self.unit[i] - s * s / 2)


class Percent(Trait):
    non_negative = True
    integer = True

    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(10, 70)
        self.sd = rng.uniform(1.5, 6)
        amp, shape, w = min(level - 3, rng.uniform(0, 15)), daily_shape(rng), wander(rng, n, self.sd)
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = [level + amp * shape(i * self.step) + w[i] for i in range(n)]

    def finish(self, x):
        return float(min(100, max(0, int(round(x)))))


class Rates(Trait):
    multiplicative = True
    non_negative = True
    integer = True

    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = math.exp(rng.uniform(math.log(5), math.log(300)))
        self.size = math.exp(rng.uniform(math.log(5), math.log(200)))
        amp, shape = rng.uniform(0.3, 0.9), daily_shape(rng)
        self.mean = [level * (1 + amp * shape(i * self.step)) for i in range(n)]

    def sd_at(self, i, mean):
        return math.sqrt(mean + mean * mean / self.size)

    def draw(self, i, mean, factor):
        return float(negbin_var(self.rng, self.gen, mean, (factor * self.sd_at(i, mean)) ** 2))


class Irregular(Trait):
    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(20, 200)
        self.sd = level * rng.uniform(0.02, 0.08)
        amp, shape, w = self.sd * rng.uniform(0, 6), daily_shape(rng), wander(rng, n, self.sd)
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = [level + amp * shape(i * self.step) + w[i] for i in range(n)]

    def thin(self, keep_rows):
        """Which rows were sampled, and when (seconds from the start):
        jittered times, single missing rows, gaps of hours. keep_rows (the
        anomalies' first rows) are never dropped."""
        rng, n, step = self.rng, self.n, self.step
        jitter = rng.uniform(0.1, 0.4) * step
        missing = rng.uniform(0.005, 0.03)
        dropped = set(i for i in range(n) if rng.random() < missing)
        gaps = [rng.uniform(1, 4) * 3600 for _ in range(rng.randint(2, 6))]
        if rng.random() < 1 / 3:
            gaps.append(rng.uniform(6, 12) * 3600)
        for g in gaps:
            start = rng.randrange(n)
            dropped.update(range(start, min(n, start + int(g / step))))
        dropped -= set(keep_rows)
        rows = [i for i in range(n) if i not in dropped]
        times, last = [], -1
        for i in rows:
            t = max(last + 1, int(round(i * step + rng.uniform(-jitter, jitter))))
            times.append(t)
            last = t
        return rows, times


class Hourly(Trait):
    step = 3600

    def __init__(self, rng, gen, n):
        super().__init__(rng, gen, n)
        level = rng.uniform(20, 200)
        self.sd = level * rng.uniform(0.02, 0.08)
        amp, shape, w = self.sd * rng.uniform(0, 6), daily_shape(rng), wander(rng, n, self.sd)
        weekly = rng.uniform(0, 0.3) if rng.random() < 0.5 else 0.0
        self.unit = [rng.gauss(0, 1) for _ in range(n)]
        self.mean = []
        for i in range(n):
            t = i * self.step
            weekend = (t // DAY) % 7 >= 5
            self.mean.append(level * (1 - weekly * weekend) + amp * shape(t) + w[i])


# class, files' length in rows (None: the class draws it), interval in seconds
TRAITS = [
    ("autocorr", Autocorr, 4032),
    ("multiplicative", Multiplicative, 4032),
    ("weekly", Weekly, None),
    ("lognormal", Lognormal, 4032),
    ("percent", Percent, 4032),
    ("rates", Rates, 4032),
    ("irregular", Irregular, 4032),
    ("hourly", Hourly, None),
]


def length_of(rng, name):
    if name == "weekly":
        return rng.randint(4, 8) * 7 * DAY // 300
    if name == "hourly":
        return rng.randint(1500, 4000)
    raise ValueError(name)


def inject(rng, gen, trait, kind):
    """Draws the file's values with an anomaly of this kind; returns the
    values and the anomalies' first rows."""
    n, mean, factor, extra = trait.n, list(trait.mean), [1.0] * trait.n, [0.0] * trait.n
    rows = []
    if kind == "spike":
        rows = gen.anomaly_rows(rng, n, rng.randint(1, 3), 10)
        for r in rows:
            size = rng.uniform(5, 12) * trait.sd_at(r, mean[r])
            down = rng.random() < 1 / 3 and (not trait.non_negative or mean[r] - size > 0)
            extra[r] = -size if down else size
    elif kind in ("shift", "drift"):
        r = gen.anomaly_rows(rng, n, 1, 50 if kind == "shift" else 100)[0]
        rows = [r]
        sign = rng.choice([-1, 1])
        size = rng.uniform(3, 8) if kind == "shift" else rng.uniform(6, 15)
        length = 1 if kind == "shift" else max(2, int(rng.uniform(1, 3) * DAY / trait.step))
        if trait.multiplicative:
            # size local deviations at every hour: the level times 1 + size * cv
            cv = trait.sd_at(r, mean[r]) / mean[r]
            full = (1 + size * cv) ** sign
        else:
            full = sign * size * trait.sd_at(r, mean[r])
        for i in range(r, n):
            part = min(1.0, (i - r + 1) / length)
            if trait.multiplicative:
                mean[i] *= full ** part
            else:
                mean[i] += full * part
    elif kind == "variance":
        r = gen.anomaly_rows(rng, n, 1, 120)[0]
        rows = [r]
        f = rng.uniform(3, 6)
        span = max(12, int(rng.uniform(2, 8) * 3600 / trait.step))
        for i in range(r, min(n, r + span)):
            factor[i] = f
    values = [trait.finish(trait.draw(i, mean[i], factor[i]) + extra[i]) for i in range(n)]
    return values, rows


def generate(rng, gen, length, prefix, write):
    """One seed's files of every class; write(category, name, values,
    times, rows, integer) writes one file and its windows."""
    for name, cls, n in TRAITS:
        for k, kind in enumerate(KINDS):
            rows_n = (n or length_of(rng, name)) * length
            trait = cls(rng, gen, rows_n)
            values, rows = inject(rng, gen, trait, kind)
            if isinstance(trait, Irregular):
                kept, times = trait.thin(rows)
                index = {r: j for j, r in enumerate(kept)}
                values, rows = [values[i] for i in kept], [index[r] for r in rows]
            else:
                times = [i * trait.step for i in range(rows_n)]
            write(name, "%s%s_%d_%s.csv" % (prefix, name, k, kind), values, times, rows, trait.integer)

#!/usr/bin/python3
"""Generate the drift-statistics oracle under testdata/drift/.

Run from the repository root with Debian's Python (the pyenv `python3` on
PATH has no scipy):

    /usr/bin/python3 testdata/gen/drift_oracle.py

Needs scipy 1.10.1 and numpy 1.24.2 (checked). Seeded: a rerun writes
byte-identical files. monitor/drift's oracle tests read them; no Python runs
in `make test`.

Outputs (testdata/drift/):
  binned.json   cases of binned counts (ref, win) with
                  psi   numpy: r, w = ref/ref.sum(), win/win.sum(); a 0
                        proportion becomes EPS (not renormalised);
                        sum((w - r) * log(w / r))
                  js    scipy.spatial.distance.jensenshannon(ref, win, base=2)
                        (null where scipy gives NaN)
                  chi2  scipy.stats.chisquare(win[keep], f_exp) where keep
                        drops bins empty on both sides, f_exp = win.sum() * p,
                        p = ref[keep]/ref.sum() with 0 replaced by EPS and
                        renormalised; null when fewer than 2 bins are kept
                        (drift documents its own answer there)
  samples.json  cases of raw samples (a, b) with
                  ks           scipy.stats.ks_2samp(a, b, method='exact'):
                               statistic and p-value (no RuntimeWarning:
                               scipy computed it exactly)
                  ks_auto      the same with the default method='auto', where
                               both samples have at most 10,000 values (scipy
                               then picks 'exact'; checked equal)
                  wasserstein  scipy.stats.wasserstein_distance(a, b)
                A sample is a list of numbers, or {"gen": {...}} for the large
                ones: value i (0-based) is float(((mul*i + add) % mod)) * scale
                + offset, each operation rounded to float64, as the Go test
                computes it.
"""

import json
import os
import warnings

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats

assert scipy.__version__ == "1.10.1", scipy.__version__
assert np.__version__ == "1.24.2", np.__version__

warnings.simplefilter("error")  # an inexact fallback in scipy fails the run

EPS = 1e-4  # monitor/drift.Epsilon
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "drift")


def f(x):
    """A float for JSON, None for NaN (JSON has no NaN)."""
    x = float(x)
    return None if np.isnan(x) else x


def psi(ref, win):
    r = ref / ref.sum()
    w = win / win.sum()
    r = np.where(r == 0, EPS, r)
    w = np.where(w == 0, EPS, w)
    return float(np.sum((w - r) * np.log(w / r)))


def chi2(ref, win):
    keep = (ref > 0) | (win > 0)
    if keep.sum() < 2:
        return None
    p = ref[keep] / ref.sum()
    p = np.where(p == 0, EPS, p)
    p = p / p.sum()
    f_exp = win.sum() * p
    res = scipy.stats.chisquare(win[keep].astype(np.float64), f_exp)
    return {"stat": f(res.statistic), "p": f(res.pvalue), "dof": int(keep.sum() - 1)}


def binned_case(name, ref, win):
    ref = np.asarray(ref, dtype=np.int64)
    win = np.asarray(win, dtype=np.int64)
    assert ref.shape == win.shape and ref.sum() > 0 and win.sum() > 0
    with warnings.catch_warnings():
        # jensenshannon logs 0 * log(0) the way numpy does; its NaN for a
        # divergence a hair below 0 is recorded as null.
        warnings.simplefilter("ignore")
        js = scipy.spatial.distance.jensenshannon(ref, win, base=2)
    return {"name": name, "ref": ref.tolist(), "win": win.tolist(),
            "psi": psi(ref, win), "js": f(js), "chi2": chi2(ref, win)}


def binned_cases(rng):
    cases = []
    c = rng.integers(1, 500, size=20)
    cases.append(binned_case("identical", c, c))
    cases.append(binned_case("proportional", [10, 20, 30], [20, 40, 60]))
    cases.append(binned_case("disjoint", [5, 5, 0, 0], [0, 0, 7, 3]))
    cases.append(binned_case("empty in window", [10, 20, 30, 40], [0, 25, 35, 40]))
    cases.append(binned_case("empty in reference", [0, 20, 30, 40], [5, 25, 35, 40]))
    cases.append(binned_case("empty on both sides", [0, 20, 0, 30, 40, 0], [0, 25, 0, 35, 40, 3]))
    cases.append(binned_case("one bin", [7], [3]))
    cases.append(binned_case("one bin kept", [0, 7, 0], [0, 3, 0]))
    cases.append(binned_case("one count each", [1, 0], [0, 1]))
    cases.append(binned_case("two bins", [1, 1], [1, 0]))
    # open ends: the reference never fills the outer bins
    cases.append(binned_case("open ends", [0] + [100] * 20 + [0], [2] + [95] * 20 + [5]))
    cases.append(binned_case("large counts", [10**9, 2 * 10**9, 3 * 10**9], [10**9 + 12345, 2 * 10**9 - 5000, 3 * 10**9]))
    # categorical: top K + other, the reference's other empty
    cases.append(binned_case("new category", [50, 30, 20, 0], [48, 31, 18, 3]))
    for k in range(30):
        bins = int(rng.integers(2, 41))
        nref = int(rng.choice([20, 200, 2000, 200000]))
        nwin = int(rng.choice([10, 100, 1000, 50000]))
        p = rng.dirichlet(np.ones(bins))
        ref = rng.multinomial(nref, p)
        if k % 3 == 0:
            q = p  # same distribution: sampling noise only
        elif k % 3 == 1:
            q = rng.dirichlet(np.ones(bins))  # another distribution
        else:
            q = np.roll(p, 1)  # a shift by one bin
        win = rng.multinomial(nwin, q)
        if ref.sum() == 0 or win.sum() == 0:
            continue
        cases.append(binned_case(f"random {k} ({bins} bins, {nref} vs {nwin})", ref, win))
    return cases


def gen(spec):
    i = np.arange(spec["n"], dtype=np.int64)
    v = ((spec["mul"] * i + spec["add"]) % spec["mod"]).astype(np.float64)
    return v * spec["scale"] + spec["offset"]


def sample_case(name, a, b):
    a_json, b_json = a, b
    if isinstance(a, dict):
        a = gen(a["gen"])
    if isinstance(b, dict):
        b = gen(b["gen"])
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not isinstance(a_json, dict):
        a_json = a.tolist()
    if not isinstance(b_json, dict):
        b_json = b.tolist()
    ks = scipy.stats.ks_2samp(a, b, method="exact")
    case = {"name": name, "a": a_json, "b": b_json,
            "ks": {"stat": f(ks.statistic), "p": f(ks.pvalue)},
            "wasserstein": f(scipy.stats.wasserstein_distance(a, b))}
    if max(len(a), len(b)) <= 10000:
        auto = scipy.stats.ks_2samp(a, b)
        assert (auto.statistic, auto.pvalue) == (ks.statistic, ks.pvalue), name
        case["ks_auto"] = {"stat": f(auto.statistic), "p": f(auto.pvalue)}
    return case


def samples_cases(rng):
    cases = []
    x = rng.normal(size=50)
    cases.append(sample_case("identical", x, x))
    cases.append(sample_case("disjoint", rng.uniform(0, 1, 40), rng.uniform(2, 3, 30)))
    cases.append(sample_case("one value each, equal", [1.5], [1.5]))
    cases.append(sample_case("one value each", [1.0], [2.0]))
    cases.append(sample_case("one against five", [0.3], rng.normal(size=5)))
    cases.append(sample_case("five against one", rng.normal(size=5), [10.0]))
    cases.append(sample_case("ties", rng.integers(0, 5, 60).astype(float), rng.integers(0, 6, 45).astype(float)))
    cases.append(sample_case("all tied", [2.0] * 20, [2.0] * 7))
    cases.append(sample_case("constant vs other constant", [2.0] * 20, [3.0] * 7))
    cases.append(sample_case("negative and zero", [-0.0, 0.0, -1.0, -2.5, 3.0], [0.0, -1.0, 1.0]))
    for k in range(24):
        n1 = int(rng.choice([3, 10, 37, 100, 250, 1000]))
        n2 = int(rng.choice([4, 10, 50, 120, 300, 1000]))
        shift = [0.0, 0.1, 0.5, 2.0][k % 4]
        a = rng.normal(size=n1)
        b = rng.normal(loc=shift, scale=[1.0, 1.5][k % 2], size=n2)
        cases.append(sample_case(f"normal {k} ({n1} vs {n2}, shift {shift})", a, b))
    cases.append(sample_case("equal sizes 500", rng.normal(size=500), rng.normal(0.1, 1, 500)))
    cases.append(sample_case("gcd 100: 200 vs 300", rng.exponential(size=200), rng.exponential(1.2, 300)))
    cases.append(sample_case("far apart 1000 vs 1000", rng.normal(size=1000), rng.normal(3, 1, 1000)))
    # large n, generated (see gen): exact p-values where scipy's 'auto'
    # would be exact too (10,000), and past it.
    g = lambda n, mul, add, mod, scale, offset: {"gen": {"n": n, "mul": mul, "add": add, "mod": mod, "scale": scale, "offset": offset}}
    cases.append(sample_case("large 10000 vs 1000", g(10000, 7919, 13, 10007, 0.001, 0.0), g(1000, 104729, 7, 10009, 0.001, 0.35)))
    cases.append(sample_case("large 10000 vs 10000 ties", g(10000, 31, 5, 997, 0.5, 0.0), g(10000, 37, 11, 991, 0.5, 0.0)))
    cases.append(sample_case("large 10000 vs 10000 ties shifted", g(10000, 31, 5, 997, 0.5, 0.0), g(10000, 37, 11, 991, 0.5, 10.0)))
    cases.append(sample_case("large 20000 vs 1000", g(20000, 7919, 3, 20011, 1.0, 0.0), g(1000, 613, 1, 1009, 20.0, 850.0)))
    cases.append(sample_case("large 50000 vs 50000", g(50000, 7919, 0, 50021, 1.0, 0.0), g(50000, 7907, 17, 50023, 1.0, 450.0)))
    cases.append(sample_case("large 50000 vs 50000 far", g(50000, 7919, 0, 50021, 1.0, 0.0), g(50000, 7907, 17, 50023, 1.0, 2500.0)))
    return cases


def main():
    rng = np.random.default_rng(20240514)
    os.makedirs(OUT, exist_ok=True)
    for name, cases in (("binned.json", binned_cases(rng)), ("samples.json", samples_cases(rng))):
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump({"generator": "testdata/gen/drift_oracle.py", "scipy": scipy.__version__,
                       "numpy": np.__version__, "epsilon": EPS, "cases": cases}, fh, indent=None)
            fh.write("\n")
        print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    main()

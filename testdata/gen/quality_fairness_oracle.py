#!/usr/bin/python3
"""Oracle fixtures for monitor/quality's fairness, per-slice and CBPE code.

Run from the repository root with Debian's python (scikit-learn 1.2.1,
numpy, pandas):

    /usr/bin/python3 testdata/gen/quality_fairness_oracle.py

It is seeded; it rewrites testdata/quality/fairness.json with three lists
of cases, each holding its rows and the numbers computed here:

- fairness: labels, scores, a protected attribute per row (strings, or
  integer codes), a threshold; per group (ascending) the rows, positives,
  selection rate (mean of p >= threshold) and true positive rate
  (sklearn.metrics.recall_score on the group's rows, zero_division=0: 0 for
  a group with no positive row, as fairlearn counts it too), and the two
  differences as fairlearn defines them with method="between_groups":
  demographic_parity_difference = max - min selection rate over groups,
  equal_opportunity_difference = max - min true positive rate over groups.
  fairlearn itself is not installable here; these are its definitions
  computed with numpy and scikit-learn.
- slices: labels, scores, a slice value per row; per slice (ascending)
  roc_auc_score, log_loss(labels=[0, 1]), brier_score_loss and the
  expected calibration error over calibration_curve(n_bins=10,
  strategy="uniform")'s bins (the bin of each row found as
  calibration_curve finds it: np.searchsorted(linspace(0, 1, 11)[1:-1], p));
  null where scikit-learn raises (ROC AUC of one class).
- cbpe: scores; NannyML CBPE's estimated accuracy and expected confusion
  matrix at thresholds (per row: p >= t is right with probability p, else
  with probability 1 - p), and its estimated ROC AUC computed as
  roc_auc_score over the rows taken twice: labelled 1 with sample weight p
  and labelled 0 with weight 1 - p (the expected TPR/FPR curve NannyML's
  "how it works" page builds from the scores).
- isotonic: reference labels and scores, probe scores; the calibrated
  probabilities IsotonicRegression(increasing=True, out_of_bounds="clip")
  fitted on the reference gives the probes (NannyML calibrates scores this
  way on its reference set), and EstimateAUC's oracle on the calibrated
  probes.
"""
import json
import math
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression

assert sklearn.__version__ == "1.2.1", sklearn.__version__
warnings.simplefilter("ignore")

OUT = "testdata/quality/fairness.json"
rng = np.random.default_rng(20261204)


def num(v):
    """A float for JSON: None for NaN/Inf."""
    v = float(v)
    return None if (math.isnan(v) or math.isinf(v)) else v


def safe(f):
    try:
        return num(f())
    except ValueError:
        return None


def fairness_case(name, y, p, groups, thr):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    pred = (p >= thr).astype(int)
    df = pd.DataFrame({"y": y.astype(int), "pred": pred, "g": groups})
    out, rates, tprs = [], [], []
    for g, d in df.groupby("g", sort=True):
        rate = d["pred"].mean()
        positives = int((d["y"] == 1).sum())
        tpr = skm.recall_score(d["y"], d["pred"], labels=[0, 1], zero_division=0)
        rates.append(rate)
        tprs.append(tpr)
        out.append({"group": g.item() if hasattr(g, "item") else g, "rows": len(d), "positives": positives,
                    "selection_rate": num(rate), "tpr": num(tpr)})
    return {"name": name, "y": y.tolist(), "p": p.tolist(),
            "groups": [g.item() if hasattr(g, "item") else g for g in groups], "threshold": thr,
            "want": {"groups": out,
                     "demographic_parity_difference": num(max(rates) - min(rates)),
                     "equal_opportunity_difference": num(max(tprs) - min(tprs)),
                     "no_positives": [o["group"] for o in out if o["positives"] == 0]}}


def ece(y, p, bins=10):
    y, p = np.asarray(y), np.asarray(p)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=bins)
    counts = counts[counts != 0]
    assert len(counts) == len(prob_true)
    return float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))


def slice_case(name, y, p, slices):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    df = pd.DataFrame({"y": y.astype(int), "p": p, "s": slices})
    out = []
    for s, d in df.groupby("s", sort=True):
        yy, pp = d["y"].to_numpy(), d["p"].to_numpy()
        out.append({"slice": s.item() if hasattr(s, "item") else s, "rows": len(d),
                    "roc_auc": safe(lambda: skm.roc_auc_score(yy, pp)),
                    "log_loss": safe(lambda: skm.log_loss(yy, pp, labels=[0, 1])),
                    "brier": safe(lambda: skm.brier_score_loss(yy, pp)),
                    "ece": num(ece(yy, pp))})
    return {"name": name, "y": y.tolist(), "p": p.tolist(),
            "slices": [s.item() if hasattr(s, "item") else s for s in slices], "want": out}


def cbpe_case(name, p, thresholds=(0.5, 0.3, 0.9)):
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    yy = np.concatenate([np.ones(n), np.zeros(n)])
    ss = np.concatenate([p, p])
    ww = np.concatenate([p, 1 - p])
    auc = safe(lambda: skm.roc_auc_score(yy, ss, sample_weight=ww)) if 0 < p.sum() < n else None
    acc, conf = {}, {}
    for t in thresholds:
        pos = p >= t
        right = np.where(pos, p, 1 - p)
        acc[repr(t)] = num(right.mean())
        conf[repr(t)] = {"tn": num((1 - p)[~pos].sum()), "fp": num((1 - p)[pos].sum()),
                         "fn": num(p[~pos].sum()), "tp": num(p[pos].sum())}
    return {"name": name, "p": p.tolist(), "want": {"auc": auc, "accuracy": acc, "confusion": conf}}


def isotonic_case(name, y, p, probe):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    probe = np.asarray(probe, dtype=np.float64)
    cal = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(p, y).predict(probe)
    return {"name": name, "y": y.tolist(), "p": p.tolist(), "probe": probe.tolist(),
            "want": {"calibrated": [num(v) for v in cal], "auc": cbpe_case(name, cal)["want"]["auc"]}}


def main():
    fair, sl, cb, iso = [], [], [], []

    n = 600
    z = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    p = 1 / (1 + np.exp(-(1.3 * z + 0.5 * (g == "b"))))
    y = (rng.random(n) < 1 / (1 + np.exp(-1.3 * z))).astype(int)
    fair.append(fairness_case("strings_thr05", y, p, list(g), 0.5))
    fair.append(fairness_case("strings_thr03", y, p, list(g), 0.3))
    # Integer codes; code 7 has no positive row, code 2 has one row.
    codes = rng.choice([0, 1, 4], size=n)
    codes[:20] = 7
    y2 = y.copy()
    y2[:20] = 0
    codes[20] = 2
    fair.append(fairness_case("codes_no_positives_one_row", y2, np.round(p, 2), [int(c) for c in codes], 0.5))
    fair.append(fairness_case("one_group", y[:50], p[:50], ["only"] * 50, 0.5))
    fair.append(fairness_case("threshold_on_scores", [1, 0, 1, 1, 0, 1], [0.5, 0.5, 0.2, 0.7, 0.9, 0.5],
                              ["x", "x", "x", "y", "y", "y"], 0.5))

    n = 900
    z = rng.normal(size=n)
    s = rng.choice(["de", "fr", "uk", "us"], size=n, p=[0.3, 0.3, 0.1, 0.3])
    p = np.round(1 / (1 + np.exp(-(1.2 * z + rng.normal(scale=0.7, size=n)))), 3)
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * z))).astype(int)
    y[s == "uk"] = 0  # one class: ROC AUC undefined
    flip = (s == "fr") & (rng.random(n) < 0.4)  # concept change in one slice
    y[flip] = 1 - y[flip]
    sl.append(slice_case("countries", y, p, list(s)))
    dev = rng.choice([3, 1, 2], size=200)
    sl.append(slice_case("int_codes", y[:200], p[:200], [int(d) for d in dev]))
    sl.append(slice_case("edges", [0, 1, 1, 0, 1, 0], [0.0, 1.0, 0.1, 0.2, 0.30000000000000004, 0.5],
                         ["a", "a", "a", "b", "b", "b"]))

    cb.append(cbpe_case("continuous", 1 / (1 + np.exp(-1.5 * rng.normal(size=1000)))))
    cb.append(cbpe_case("ties_and_ends", np.concatenate([np.round(rng.random(300), 1), [0.0, 1.0, 0.0, 1.0, 0.5]])))
    cb.append(cbpe_case("tiny", [0.2, 0.2, 0.8]))
    cb.append(cbpe_case("one_row", [0.7]))
    cb.append(cbpe_case("all_zero", [0.0, 0.0]))
    cb.append(cbpe_case("all_one", [1.0, 1.0, 1.0]))
    cb.append(cbpe_case("beta_skewed", rng.beta(0.5, 4, size=500)))

    # Overconfident scores: the truth is p**3.
    p = 1 / (1 + np.exp(-1.5 * rng.normal(size=800)))
    y = (rng.random(800) < p ** 3).astype(int)
    probe = np.concatenate([1 / (1 + np.exp(-1.5 * rng.normal(size=300))), [0.0, 1.0, p.min(), p.max(), p[5], p[17]]])
    iso.append(isotonic_case("overconfident", y, p, probe))
    pt = np.round(p, 1)  # ties: one point per distinct score
    iso.append(isotonic_case("ties", y, pt, np.concatenate([np.linspace(0, 1, 41), pt[:20]])))
    # Scores closer than 1e-15 are one point (scikit-learn's _make_unique).
    iso.append(isotonic_case("near_equal", [1, 0, 0, 1, 1, 0], [0.3, 0.3 + 1e-16, 0.6, 1 - 2 ** -53, 1.0, 0.1],
                             [0.0, 0.2, 0.3, 0.45, 0.6, 0.8, 1 - 2 ** -53, 1.0]))
    iso.append(isotonic_case("one_score", [1, 0, 1], [0.4, 0.4, 0.4], [0.0, 0.4, 0.9]))
    iso.append(isotonic_case("decreasing_truth", [1, 1, 0, 1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                             [0.05, 0.1, 0.25, 0.45, 0.7, 0.75]))

    with open(OUT, "w") as f:
        json.dump({"sklearn": sklearn.__version__, "fairness": fair, "slices": sl, "cbpe": cb, "isotonic": iso}, f, indent=None)
        f.write("\n")


main()

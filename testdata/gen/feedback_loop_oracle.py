#!/usr/bin/python3
"""Oracle fixture for the feedback loop end to end (issue 19's "done when").

Run from the repository root with Debian's python (xgboost 1.7.4,
scikit-learn 1.2.1, numpy):

    /usr/bin/python3 testdata/gen/feedback_loop_oracle.py

It is seeded, and writes under testdata/feedback/:

- model.json: an XGBoost binary:logistic model (30 trees, depth 3) over
  x0, x1, x2, country (0, 1, 2) and device (0, 1), trained on 4,000 rows
  where the label is drawn from sigmoid(1.4 x0 - 0.9 x1 + 0.6 x2 device
  + 0.4 [country = 1]).
- holdout.csv: 2,000 more rows of the same process with their label, the
  offline evaluation the daemon takes as the baseline (predictd eval
  --record).
- live.csv: 10,000 requests: id, the five inputs, p (XGBoost's own
  probability, float32, printed to 9 digits) and label: empty for a
  prediction never labelled (40%); else 1 when u < p, with u uniform,
  except in country 2, where the concept changed: 1 when u < 1 - p.
- expected.json, computed here with scikit-learn on the labelled rows of
  live.csv with p as float64 (what the daemon records: its float32
  prediction widened):
  overall roc_auc_score, log_loss, brier_score_loss, accuracy_score at
  p >= 0.5 and the expected calibration error (calibration_curve with
  n_bins=10, uniform; each row's bin found as calibration_curve does,
  np.searchsorted(linspace(0, 1, 11)[1:-1], p); sum of count/n times
  |mean p - fraction positive|); per value of country and of device
  (ascending): rows and the same four metrics; for device, fairlearn's
  demographic parity difference and equal opportunity difference (max -
  min over groups of the selection rate, mean of p >= 0.5, and of
  recall_score), computed with numpy and scikit-learn as fairlearn
  defines them; the baseline: the same overall metrics on holdout.csv
  with XGBoost's predictions.
"""
import json

import numpy as np
import xgboost as xgb
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, brier_score_loss, log_loss,
                             recall_score, roc_auc_score)

OUT = "testdata/feedback"
TH = 0.5
NAMES = ["x0", "x1", "x2", "country", "device"]
rng = np.random.default_rng(1919)


def draw(n):
    x = np.round(rng.normal(size=(n, 3)), 3)
    country = rng.integers(0, 3, n)
    device = rng.integers(0, 2, n)
    logit = 1.4 * x[:, 0] - 0.9 * x[:, 1] + 0.6 * x[:, 2] * device + 0.4 * (country == 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([x, country, device]).astype(np.float32), y


def metrics(y, p):
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    ids = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], p)
    counts = np.bincount(ids, minlength=10)
    counts = counts[counts > 0]
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "accuracy": float(accuracy_score(y, (p >= TH).astype(int))),
        "ece": float(np.sum(counts / len(p) * np.abs(prob_pred - prob_true))),
    }


Xtr, ytr = draw(4000)
booster = xgb.train(
    {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 7},
    xgb.DMatrix(Xtr, label=ytr, feature_names=NAMES), num_boost_round=30)
booster.save_model(f"{OUT}/model.json")


def predict(X):
    return booster.predict(xgb.DMatrix(X, feature_names=NAMES)).astype(np.float32)


def fmt(v):
    return f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


Xh, yh = draw(2000)
with open(f"{OUT}/holdout.csv", "w") as f:
    f.write(",".join(NAMES) + ",label\n")
    for r, y in zip(Xh, yh):
        f.write(",".join(fmt(float(v)) for v in r) + f",{y}\n")
baseline = metrics(yh, predict(Xh).astype(np.float64))

N = 10000
X, _ = draw(N)
p32 = predict(X)
p = p32.astype(np.float64)
country, device = X[:, 3].astype(int), X[:, 4].astype(int)
u = rng.random(N)
label = np.where(country == 2, u < 1 - p, u < p).astype(int)
labelled = rng.random(N) < 0.6
with open(f"{OUT}/live.csv", "w") as f:
    f.write("id," + ",".join(NAMES) + ",p,label\n")
    for i in range(N):
        lab = str(label[i]) if labelled[i] else ""
        f.write(f"fl-{i:05d}," + ",".join(fmt(float(v)) for v in X[i]) + f",{p32[i]:.9g},{lab}\n")

y, s = label[labelled], p[labelled]
c, d = country[labelled], device[labelled]


def by(col):
    out = []
    for v in sorted(set(col)):
        m = col == v
        out.append({"value": str(v), "rows": int(m.sum()), **{k: v2 for k, v2 in metrics(y[m], s[m]).items() if k != "ece"}})
    return out


sel, tpr = [], []
for v in sorted(set(d)):
    m = d == v
    sel.append(float(np.mean(s[m] >= TH)))
    tpr.append(float(recall_score(y[m], (s[m] >= TH).astype(int), zero_division=0)))

expected = {
    "labelled": int(labelled.sum()),
    "unlabelled": int(N - labelled.sum()),
    "overall": metrics(y, s),
    "slices": {"country": by(c), "device": by(d)},
    "fairness": {
        "column": "device",
        "demographic_parity_difference": max(sel) - min(sel),
        "equal_opportunity_difference": max(tpr) - min(tpr),
    },
    "baseline": baseline,
}
with open(f"{OUT}/expected.json", "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print(json.dumps({k: expected[k] for k in ("labelled", "overall", "baseline")}, indent=1))
for col in ("country", "device"):
    for r in expected["slices"][col]:
        print(col, r)

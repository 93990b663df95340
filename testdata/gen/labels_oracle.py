#!/usr/bin/python3
"""Oracle fixture for monitor/labels: one window of joined rows, end to end.

Run from the repository root with Debian's python (scikit-learn 1.2.1,
numpy):

    /usr/bin/python3 testdata/gen/labels_oracle.py

It is seeded; it rewrites testdata/labels/window.json with:

- rows: 3000 predictions of a binary classifier: id, age_s (seconds before
  the report's time, in [0, 7200)), p (the score), country, gender, and
  label (0, 1, or null for a prediction left without a label);
- window_s: 3600, the window the expected numbers are over: the labelled
  rows with age_s < window_s (prediction time in (now - 1h, now]);
- expected, computed here with scikit-learn on those rows:
  roc_auc_score, log_loss, brier_score_loss, accuracy_score at p >= 0.5,
  calibration_curve(n_bins=10, strategy="uniform") and its expected
  calibration error (sum over bins of count/n * |mean p - fraction
  positive|, each row's bin found as calibration_curve finds it:
  np.searchsorted(linspace(0, 1, 11)[1:-1], p)); per country (ascending)
  roc_auc_score; for gender, fairlearn's demographic parity difference
  and equal opportunity difference (max - min over groups of the
  selection rate, mean of p >= 0.5, and of recall_score), computed with
  numpy and scikit-learn as fairlearn defines them; and the counts of
  labelled and unlabelled rows in the window.

The concept is changed in country "fr" (labels drawn from 1 - p), so its
ROC AUC is the worst.
"""
import json

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, brier_score_loss, log_loss,
                             recall_score, roc_auc_score)

rng = np.random.default_rng(19)
N, WINDOW, TH = 3000, 3600, 0.5
countries = np.array(["de", "fr", "us"])
genders = np.array(["f", "m"])

age = rng.integers(0, 7200, N)
p = rng.random(N)
country = countries[rng.integers(0, len(countries), N)]
gender = genders[rng.integers(0, len(genders), N)]
pos = np.where(country == "fr", 1 - p, p)
label = (rng.random(N) < pos).astype(int)
labelled = rng.random(N) < 0.7

rows = []
for i in range(N):
    rows.append({
        "id": f"r{i:05d}",
        "age_s": int(age[i]),
        "p": float(p[i]),
        "country": str(country[i]),
        "gender": str(gender[i]),
        "label": int(label[i]) if labelled[i] else None,
    })

w = (age < WINDOW) & labelled
y, s = label[w], p[w]
c, g = country[w], gender[w]

prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="uniform")
bins = np.linspace(0.0, 1.0, 11)
ids = np.searchsorted(bins[1:-1], s)
counts = np.bincount(ids, minlength=10)
counts = counts[counts > 0]
ece = float(np.sum(counts / len(s) * np.abs(prob_pred - prob_true)))

sel, tpr = [], []
for v in sorted(set(g)):
    m = g == v
    sel.append(float(np.mean(s[m] >= TH)))
    tpr.append(float(recall_score(y[m], (s[m] >= TH).astype(int), zero_division=0)))

expected = {
    "labelled": int(w.sum()),
    "unlabelled": int(((age < WINDOW) & ~labelled).sum()),
    "roc_auc": float(roc_auc_score(y, s)),
    "log_loss": float(log_loss(y, s, labels=[0, 1])),
    "brier": float(brier_score_loss(y, s)),
    "accuracy": float(accuracy_score(y, (s >= TH).astype(int))),
    "ece": ece,
    "calibration_mean_predicted": [float(v) for v in prob_pred],
    "calibration_fraction_positive": [float(v) for v in prob_true],
    "calibration_count": [int(v) for v in counts],
    "roc_auc_by_country": {v: float(roc_auc_score(y[c == v], s[c == v])) for v in sorted(set(c))},
    "demographic_parity_difference": max(sel) - min(sel),
    "equal_opportunity_difference": max(tpr) - min(tpr),
}

with open("testdata/labels/window.json", "w") as f:
    json.dump({"window_s": WINDOW, "threshold": TH, "rows": rows, "expected": expected}, f, indent=0)
    f.write("\n")

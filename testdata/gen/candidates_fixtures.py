#!/usr/bin/python3
"""Generate testdata/candidates/: models to compare with `predictd candidates`.

Run from the repository root with Debian's Python (xgboost 1.7.4,
scikit-learn 1.2.1; the script refuses others):

    /usr/bin/python3 testdata/gen/candidates_fixtures.py

Seeded and single-threaded, so a rerun writes byte-identical files.

Outputs (testdata/candidates/):
  holdout.csv        800 labelled rows none of the models was trained on:
                     f0..f7 (about 5% missing, empty cells), segment (a, b
                     or c: a slice column, not a model feature), y (0/1, the
                     classifiers' label) and target (the regressors' label)
  clf_tiny.json      binary:logistic, 4 trees of depth 2
  clf_small.json     binary:logistic, 40 trees of depth 4
  clf_large.json     binary:logistic, 150 trees of depth 6
  reg_small.json     reg:squarederror, 20 trees of depth 3
  reg_large.json     reg:squarederror, 120 trees of depth 6
The models take f0..f7 by name. Quality ranks tiny < small <= large for the
classifiers and small < large for the regressors on the holdout, and the
cost of a prediction grows with the trees, so the comparison has a frontier.
"""

import math
import os

import numpy as np
import sklearn
import xgboost as xgb

assert xgb.__version__ == "1.7.4", xgb.__version__
assert sklearn.__version__ == "1.2.1", sklearn.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "candidates")
NF = 8
FEATURES = ["f%d" % i for i in range(NF)]


def data(rng, n):
    x = rng.normal(size=(n, NF))
    seg = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    # A non-linear score, harder in segment c (more noise), so the slices
    # differ in quality.
    s = (1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3]
         + np.sin(2 * x[:, 4]) + 0.5 * np.abs(x[:, 5]) - 0.4)
    noise = np.where(seg == "c", 1.2, 0.6) * rng.normal(size=n)
    y = (s + noise > 0).astype(int)
    target = 3.0 + s + 0.5 * x[:, 6] + 0.3 * rng.normal(size=n)
    miss = rng.random(size=x.shape) < 0.05
    x[miss] = np.nan
    return x, seg, y, target


def fit(x, label, objective, rounds, depth):
    d = xgb.DMatrix(x, label=label, missing=np.nan, feature_names=FEATURES)
    params = {"objective": objective, "max_depth": depth, "eta": 0.15,
              "nthread": 1, "seed": 7, "base_score": 0.5 if objective.startswith("binary") else 3.0}
    return xgb.train(params, d, num_boost_round=rounds)


def cell(v):
    v = float(v)
    return "" if math.isnan(v) else repr(v)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261203)
    xtr, _, ytr, ttr = data(rng, 4000)
    xte, segte, yte, tte = data(rng, 800)
    models = {
        "clf_tiny": fit(xtr, ytr, "binary:logistic", 4, 2),
        "clf_small": fit(xtr, ytr, "binary:logistic", 40, 4),
        "clf_large": fit(xtr, ytr, "binary:logistic", 150, 6),
        "reg_small": fit(xtr, ttr, "reg:squarederror", 20, 3),
        "reg_large": fit(xtr, ttr, "reg:squarederror", 120, 6),
    }
    dte = xgb.DMatrix(xte, missing=np.nan, feature_names=FEATURES)
    from sklearn.metrics import mean_squared_error, roc_auc_score
    for name, b in models.items():
        b.save_model(os.path.join(OUT, name + ".json"))
        p = b.predict(dte)
        if name.startswith("clf"):
            print("%s: AUC %.4f" % (name, roc_auc_score(yte, p)))
        else:
            print("%s: RMSE %.4f" % (name, math.sqrt(mean_squared_error(tte, p))))
    with open(os.path.join(OUT, "holdout.csv"), "w", newline="\n") as fh:
        fh.write(",".join(FEATURES + ["segment", "y", "target"]) + "\n")
        for i in range(len(yte)):
            row = [cell(v) for v in xte[i]] + [str(segte[i]), str(int(yte[i])), repr(float(tte[i]))]
            fh.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()

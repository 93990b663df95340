#!/usr/bin/python3
"""Reference quality for tools/train/gbdt: XGBoost 1.7.4 hist on scikit-learn
1.2.1's bundled data sets, fixed train/test splits written as CSV beside the
metrics.

Run from the repository root: /usr/bin/python3 testdata/gen/train_gbdt_oracle.py
Writes testdata/train/gbdt/{NAME}_{train,test}.csv (label first, then the
features), testdata/train/gbdt/oracle.json (depth-wise trees, PARAMS) and
testdata/train/gbdt/oracle_growth.json (the same fixtures and PARAMS under
each of GROWTH's grow_policy/max_leaves/max_depth settings).
"""
import json
import os

import numpy as np
import sklearn
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.metrics import log_loss, mean_poisson_deviance, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

OUT = "testdata/train/gbdt"

PARAMS = dict(tree_method="hist", max_depth=4, eta=0.1, reg_lambda=1.0,
              reg_alpha=0.0, min_child_weight=1.0, max_bin=255, subsample=1.0,
              colsample_bytree=1.0, base_score=0.5, nthread=1, seed=0)
ROUNDS = 100

# Settings trained beside PARAMS for oracle_growth.json: best-first growth
# bounded by leaves only (max_depth 0: no limit) or by both, and max_leaves
# under depth-wise growth.
GROWTH = {
    "lossguide_leaves8_depth0": dict(grow_policy="lossguide", max_leaves=8, max_depth=0),
    "lossguide_leaves31_depth6": dict(grow_policy="lossguide", max_leaves=31, max_depth=6),
    "depthwise_leaves12_depth5": dict(grow_policy="depthwise", max_leaves=12, max_depth=5),
}


def write_csv(path, X, y):
    with open(path, "w") as f:
        f.write("label," + ",".join("f%d" % i for i in range(X.shape[1])) + "\n")
        for xi, yi in zip(X, y):
            f.write(repr(float(yi)) + "," + ",".join("" if np.isnan(v) else repr(float(v)) for v in xi) + "\n")


def with_missing(X, frac, seed):
    """X with a seeded fraction of its values replaced by NaN."""
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < frac] = np.nan
    return X


def counts(n, seed):
    """Synthetic Poisson counts from 6 features, 10% of them missing."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    mu = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.2 * X[:, 2] * X[:, 3])
    y = rng.poisson(mu).astype(np.float64)
    return with_missing(X, 0.1, seed + 1), y


def fit(params, obj, y, Xtr, ytr, Xte, yte):
    """Trains XGBoost with params on the training split and returns the
    test metrics (and, but for multiclass, every test prediction)."""
    p = dict(params, objective=obj)
    if obj == "multi:softprob":
        p["num_class"] = int(y.max()) + 1
    bst = xgb.train(p, xgb.DMatrix(Xtr, label=ytr), num_boost_round=ROUNDS)
    pred = bst.predict(xgb.DMatrix(Xte)).astype(np.float64)
    m = {"objective": obj}
    if obj == "binary:logistic":
        m["auc"] = roc_auc_score(yte, pred)
        m["logloss"] = log_loss(yte, pred)
    elif obj == "reg:squarederror":
        m["rmse"] = mean_squared_error(yte, pred) ** 0.5
    elif obj == "count:poisson":
        m["poisson_deviance"] = mean_poisson_deviance(yte, pred)
    else:
        m["num_class"] = p["num_class"]
        m["mlogloss"] = log_loss(yte, pred, labels=list(range(p["num_class"])))
        m["accuracy"] = float((pred.argmax(axis=1) == yte).mean())
    if obj != "multi:softprob":
        # Small enough to keep: every test prediction, for a tree-by-tree
        # comparison (float32 values written as float64).
        m["predictions"] = [float(v) for v in pred]
    return m


def main():
    bc = load_breast_cancer(return_X_y=True)
    cases = [
        ("breast_cancer", bc, "binary:logistic"),
        ("breast_cancer_nan", (with_missing(bc[0], 0.15, 7), bc[1]), "binary:logistic"),
        ("poisson", counts(2000, 11), "count:poisson"),
        ("diabetes", load_diabetes(return_X_y=True), "reg:squarederror"),
        ("digits", load_digits(return_X_y=True), "multi:softprob"),
    ]
    out = {"xgboost": xgb.__version__, "sklearn": sklearn.__version__,
           "params": PARAMS, "rounds": ROUNDS, "cases": {}}
    growth = {"xgboost": xgb.__version__, "params": PARAMS, "rounds": ROUNDS,
              "settings": {k: {"params": v, "cases": {}} for k, v in GROWTH.items()}}
    for name, (X, y), obj in cases:
        strat = y if obj in ("binary:logistic", "multi:softprob") else None
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=strat)
        write_csv(os.path.join(OUT, name + "_train.csv"), Xtr, ytr)
        write_csv(os.path.join(OUT, name + "_test.csv"), Xte, yte)
        out["cases"][name] = fit(PARAMS, obj, y, Xtr, ytr, Xte, yte)
        for setting, extra in GROWTH.items():
            growth["settings"][setting]["cases"][name] = fit(dict(PARAMS, **extra), obj, y, Xtr, ytr, Xte, yte)
    with open(os.path.join(OUT, "oracle.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "oracle_growth.json"), "w") as f:
        json.dump(growth, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

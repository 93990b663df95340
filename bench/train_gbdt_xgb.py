#!/usr/bin/python3
"""XGBoost 1.7.4 hist side of bench/train_gbdt.sh: trains once on raw files
(x: rows x cols float64 row-major, y: int64 labels) with the same
hyperparameters as bench/train_gbdt and prints one line of JSON: the fit time
in seconds (DMatrix construction and training; reading the files not), rows
per second and the final training logloss.

usage: train_gbdt_xgb.py X Y COLS TREES DEPTH ETA MAX_BIN THREADS [TEST_X TEST_Y [GROW MAX_LEAVES]]

With test files it also prints their logloss and AUC. GROW is XGBoost's
grow_policy (depthwise, the default, or lossguide) and MAX_LEAVES its
max_leaves (default 0: no limit).
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def main():
    xp, yp, cols, trees, depth, eta, max_bin, threads = sys.argv[1:9]
    cols, trees, depth, max_bin, threads = int(cols), int(trees), int(depth), int(max_bin), int(threads)
    X = np.fromfile(xp, dtype="<f8").reshape(-1, cols)
    y = np.fromfile(yp, dtype="<i8").astype(np.float64)
    params = dict(tree_method="hist", objective="binary:logistic", max_depth=depth, eta=float(eta),
                  max_bin=max_bin, reg_lambda=1.0, min_child_weight=1.0, base_score=0.5,
                  nthread=threads, eval_metric="logloss")
    if len(sys.argv) > 12:
        params.update(grow_policy=sys.argv[11], max_leaves=int(sys.argv[12]))
    start = time.perf_counter()
    d = xgb.DMatrix(X, label=y, nthread=threads)
    res = {}
    bst = xgb.train(params, d, num_boost_round=trees, evals=[(d, "train")], evals_result=res, verbose_eval=False)
    sec = time.perf_counter() - start
    out = {"fit_s": sec, "rows_per_s": len(y) / sec,
           "train_logloss": res["train"]["logloss"][-1], "threads": threads}
    if len(sys.argv) > 10:
        from sklearn.metrics import log_loss, roc_auc_score
        Xt = np.fromfile(sys.argv[9], dtype="<f8").reshape(-1, cols)
        yt = np.fromfile(sys.argv[10], dtype="<i8")
        p = bst.predict(xgb.DMatrix(Xt)).astype(np.float64)
        out["test_logloss"] = log_loss(yt, p)
        out["test_auc"] = roc_auc_score(yt, p)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Reference quality for tools/train/gbdt at scale: XGBoost 1.7.4 hist on the
synthetic 200,000 x 40 make_classification set that the Go test helper
makeClassification generates (tools/train/gbdt/makeclass_test.go; too big to
commit, so the test regenerates it and checks its sha256 against the one
written here). The first 150,000 rows train, the last 50,000 test.

Run from the repository root:

  go test ./tools/train/gbdt -run TestWriteMakeClassification -args -makeclass-out /tmp/mc
  /usr/bin/python3 testdata/gen/train_gbdt_makeclass.py /tmp/mc/makeclass.bin

Writes testdata/train/gbdt/makeclass_oracle.json: the data's sha256; for
each setting the hyperparameters and XGBoost's test AUC and logloss; and, per
feature, every split threshold of the depth-wise model (each one of XGBoost's
cut values, so the Go test can hold its own cuts to them).
"""
import hashlib
import json
import sys

import numpy as np
import sklearn
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score

OUT = "testdata/train/gbdt/makeclass_oracle.json"
ROWS, FEATURES, TRAIN = 200000, 40, 150000
ROUNDS = 100

# predictd's DefaultOptions: XGBoost's defaults with max_bin 255 (predictd's
# most bins), so both sides cut the features the same way.
PARAMS = dict(tree_method="hist", objective="binary:logistic", max_depth=6, eta=0.3,
              reg_lambda=1.0, reg_alpha=0.0, min_child_weight=1.0, max_bin=255,
              subsample=1.0, colsample_bytree=1.0, base_score=0.5, nthread=2, seed=0)

SETTINGS = {
    "depthwise_depth6": {},
    "lossguide_leaves31_depth0": dict(grow_policy="lossguide", max_leaves=31, max_depth=0),
}


def thresholds(bst):
    """The sorted distinct split thresholds of bst's trees, per feature, as
    float32 values written as float64."""
    model = json.loads(bst.save_raw("json"))
    per = [set() for _ in range(FEATURES)]
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feat, cond in zip(tree["left_children"], tree["split_indices"], tree["split_conditions"]):
            if left != -1:
                per[feat].add(float(np.float32(cond)))
    return [sorted(s) for s in per]


def main():
    raw = open(sys.argv[1], "rb").read()
    if len(raw) != 4 * ROWS * (FEATURES + 1):
        sys.exit("%s: %d bytes, want %d" % (sys.argv[1], len(raw), 4 * ROWS * (FEATURES + 1)))
    a = np.frombuffer(raw, dtype="<f4")
    X = a[:ROWS * FEATURES].reshape(ROWS, FEATURES)
    y = a[ROWS * FEATURES:].astype(np.float64)
    dtrain = xgb.DMatrix(X[:TRAIN], label=y[:TRAIN])
    dtest = xgb.DMatrix(X[TRAIN:])
    out = {"xgboost": xgb.__version__, "sklearn": sklearn.__version__,
           "sha256": hashlib.sha256(raw).hexdigest(), "rows": ROWS, "features": FEATURES,
           "train_rows": TRAIN, "rounds": ROUNDS, "params": PARAMS, "settings": {}}
    for name, extra in SETTINGS.items():
        bst = xgb.train(dict(PARAMS, **extra), dtrain, num_boost_round=ROUNDS)
        p = bst.predict(dtest).astype(np.float64)
        out["settings"][name] = {"params": extra, "auc": roc_auc_score(y[TRAIN:], p),
                                 "logloss": log_loss(y[TRAIN:], p)}
        if name == "depthwise_depth6":
            out["thresholds"] = thresholds(bst)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

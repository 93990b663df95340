#!/usr/bin/python3
"""Generate testdata/xgboost/ubj/: the same XGBoost models in JSON, UBJSON and
the legacy binary format, with XGBoost's own predictions.

Run from the repository root with Debian's Python (xgboost 1.7.4):

    /usr/bin/python3 testdata/gen/xgboost_ubj_fixtures.py

Seeded and single-threaded, so a rerun writes the same files. For each case
NAME (listed in cases.json, the fields model/xgboost's tests read):

  NAME.json        booster.save_model("NAME.json")
  NAME.ubj         booster.save_model("NAME.ubj")   (UBJSON)
  NAME.model       booster.save_model("NAME.model") (legacy binary), when
                   XGBoost can write the model in it (not with categorical
                   splits)
  NAME.csv         test rows, float64 repr, empty cell = NaN
  NAME.pred.csv    booster.predict, '%.9g' of float32
  NAME.margin.csv  booster.predict(output_margin=True)

and from_json/NAME.ubj for every model NAME.json of testdata/xgboost/
(make_fixtures.py's), loaded and saved again as UBJSON by XGBoost.

The script reads every .ubj and .model back with a fresh Booster and checks
that it predicts what the trained booster does, and that the .model really is
the legacy binary format (starts with b"binf") and the .ubj is UBJSON (b"{L").
"""

import json
import math
import os
import shutil

import numpy as np
import xgboost as xgb

assert xgb.__version__ == "1.7.4", xgb.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "xgboost", "ubj")


def f64(x):
    x = float(x)
    return "" if math.isnan(x) else repr(x)


def f32(x):
    return "%.9g" % float(np.float32(x))


def write_lines(path, lines):
    with open(path, "w", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


def data(rng, n, nfeat, ncat=0):
    """n rows: nfeat - ncat numeric features, ~10% NaN, then ncat categorical
    codes in [0, 12)."""
    X = rng.normal(size=(n, nfeat))
    for j in range(nfeat - ncat, nfeat):
        X[:, j] = rng.integers(0, 12, size=n)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def cases():
    rng = np.random.default_rng(18)
    out = []

    # Small enough (3 trees of depth 2) to seed the fuzzer whole.
    X = data(rng, 200, 3)
    y = (np.nan_to_num(X[:, 0]) > 0.2).astype(float)
    out.append(("gbtree_tiny_binary_logistic", X, y, None,
                {"objective": "binary:logistic", "max_depth": 2, "eta": 0.5}, 3))

    X = data(rng, 600, 6)
    y = (np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) ** 2 > 0.4).astype(float)
    out.append(("gbtree_binary_logistic", X, y, None,
                {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, 12))

    X = data(rng, 600, 5)
    y = (np.digitize(np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 2]), [-1, 0, 1])).astype(float)
    out.append(("gbtree_multi_softprob", X, y, None,
                {"objective": "multi:softprob", "num_class": 4, "max_depth": 3, "eta": 0.3}, 6))
    out.append(("dart_multi_softprob", X, y, None,
                {"objective": "multi:softprob", "num_class": 4, "max_depth": 3, "eta": 0.3,
                 "booster": "dart", "rate_drop": 0.2, "seed": 3}, 6))

    X = data(rng, 600, 4)
    y = 3 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 3]) + rng.normal(size=600) * 0.1
    out.append(("gbtree_reg_squarederror", X, y, None,
                {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2}, 15))

    X = data(rng, 800, 5, ncat=2)
    codes = np.nan_to_num(X[:, 3], nan=0)
    y = (np.isin(codes, [1, 4, 7, 9]).astype(float) + 0.3 * np.nan_to_num(X[:, 0]) > 0.5).astype(float)
    ftypes = ["q", "q", "q", "c", "c"]
    out.append(("gbtree_cat_partition_binary_logistic", X, y, ftypes,
                {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                 "tree_method": "hist", "max_cat_to_onehot": 1}, 8))
    return out


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    meta = []
    for name, X, y, ftypes, params, rounds in cases():
        params = dict(params, nthread=1, base_score=0.5 if "logistic" in params["objective"] else 0.3)
        if params["objective"].startswith("multi"):
            params["base_score"] = 0.5
        names = ["f%d" % j for j in range(X.shape[1])]
        kw = {"feature_types": ftypes, "enable_categorical": True} if ftypes else {}
        ntrain = len(X) * 2 // 3
        dtrain = xgb.DMatrix(X[:ntrain], label=y[:ntrain], missing=np.nan, feature_names=names, **kw)
        bst = xgb.train(params, dtrain, rounds)
        dtest = xgb.DMatrix(X[ntrain:], missing=np.nan, feature_names=names, **kw)
        pred = bst.predict(dtest)
        margin = bst.predict(dtest, output_margin=True)

        base = os.path.join(OUT, name)
        bst.save_model(base + ".json")
        bst.save_model(base + ".ubj")
        with open(base + ".ubj", "rb") as fh:
            assert fh.read(2) == b"{L", name
        legacy = ftypes is None
        if legacy:
            bst.save_model(base + ".model")
            with open(base + ".model", "rb") as fh:
                assert fh.read(4) == b"binf", name

        # Every saved form predicts what the trained booster does.
        forms = [".json", ".ubj"] + ([".model"] if legacy else [])
        for ext in forms:
            again = xgb.Booster(model_file=base + ext)
            got = again.predict(dtest, output_margin=True)
            assert np.array_equal(got, margin), (name, ext)

        write_lines(base + ".csv", [",".join(names)] + [",".join(f64(v) for v in r) for r in X[ntrain:]])
        for kind, vals in (("pred", pred), ("margin", margin)):
            vals = np.asarray(vals, dtype=np.float32)
            if vals.ndim == 1:
                header = "p" if kind == "pred" else "m"
                rows = [f32(v) for v in vals]
            else:
                prefix = "p" if kind == "pred" else "m"
                header = ",".join("%s%d" % (prefix, k) for k in range(vals.shape[1]))
                rows = [",".join(f32(v) for v in r) for r in vals]
            write_lines("%s.%s.csv" % (base, kind), [header] + rows)

        model = json.loads(open(base + ".json").read())
        gb = model["learner"]["gradient_booster"]
        trees = gb["gbtree"]["model"]["trees"] if gb["name"] == "dart" else gb["model"]["trees"]
        meta.append({
            "name": name,
            "booster": gb["name"],
            "objective": params["objective"],
            "num_class": params.get("num_class", 0),
            "num_features": X.shape[1],
            "num_trees": len(trees),
            "legacy_binary": legacy,
        })
        print(name, "trees", len(trees), "forms", forms)
    with open(os.path.join(OUT, "cases.json"), "w", newline="\n") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    convert_json_fixtures()


def convert_json_fixtures():
    """Every model under testdata/xgboost/ (make_fixtures.py's cases: all
    objectives, gbtree and dart, categorical splits) saved again as UBJSON
    in testdata/xgboost/ubj/from_json/NAME.ubj. A Booster loaded from the
    .ubj dumps the same JSON as one loaded from the .json."""
    src = os.path.join(os.path.dirname(OUT))
    dst = os.path.join(OUT, "from_json")
    os.makedirs(dst)
    with open(os.path.join(src, "cases.json")) as fh:
        names = [c["name"] for c in json.load(fh)]
    for name in names:
        bst = xgb.Booster(model_file=os.path.join(src, name + ".json"))
        path = os.path.join(dst, name + ".ubj")
        bst.save_model(path)
        again = xgb.Booster(model_file=path)
        assert again.save_raw("json") == bst.save_raw("json"), name
    print("from_json:", len(names), "models")


if __name__ == "__main__":
    main()

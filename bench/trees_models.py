#!/usr/bin/env python3
"""Train the tree ensembles bench/compare-trees.sh measures, with XGBoost
itself, on fresh synthetic data, and write them with the rows to predict.

Into --out DIR it writes, for each model NAME, NAME.json (XGBoost JSON) and
NAME.csv (the rows predicted: a header naming the features, an empty cell
for a missing value). Fixed seeds, so a run is repeatable on one XGBoost
version; the models are not committed (some are tens of MB).

Models (all trained with tree_method "hist", nthread 2):
  b300d6      binary:logistic, 300 trees of depth 6, 40 features
  b1000d4     binary:logistic, 1,000 trees of depth 4, 40 features
  m50d6       multi:softprob, 50 classes x 20 rounds = 1,000 trees of depth 6
  b200d8      binary:logistic, 200 trees of depth 8 (up to 256 leaves)
  lossguide255 binary:logistic, leaf-wise (grow_policy lossguide) with up to
              255 leaves and no depth limit, 100 trees: LightGBM's growth
  sparse1200  binary:logistic, 1,200 features of which 95% are missing in
              each row, 100 trees of depth 6
  cat13       multi:softprob, 13 classes x 10 rounds = 130 trees of depth 6,
              8 categorical features (up to 40 categories) among 24

Rows: ROWS (default 20,000) per model, from the same distribution as the
training rows but not the same rows.

Exits 0 with a message on stderr, writing nothing, where xgboost or numpy is
not installed (Debian: apt-get install python3-xgboost).

Usage: trees_models.py --out DIR [--rows 20000] [--only b300d6,...]
"""

import argparse
import os
import sys


def synth(rng, n, nf, informative=10, missing=0.0):
    import numpy as np

    x = rng.standard_normal((n, nf))
    w = np.zeros(nf)
    w[:informative] = rng.standard_normal(informative)
    z = x @ w + 0.5 * np.sin(3 * x[:, 0]) * x[:, 1 % nf] + 0.3 * rng.standard_normal(n)
    if missing > 0:
        x[rng.random((n, nf)) < missing] = np.nan
    return x, z


def write_csv(path, names, x):
    import numpy as np

    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in x:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as e:
        print(f"trees_models.py: skipped: {e} (Debian: apt-get install python3-xgboost)", file=sys.stderr)
        return 0
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))

    def want(name):
        return not only or name in only

    def save(name, booster, names, rows):
        booster.save_model(os.path.join(args.out, name + ".json"))
        write_csv(os.path.join(args.out, name + ".csv"), names, rows)
        print(f"trees_models.py: {name}: {booster.num_boosted_rounds()} rounds, {len(rows)} rows", file=sys.stderr)

    ntrain = 50000
    binary = [
        ("b300d6", 40, 0.0, {"max_depth": 6}, 300),
        ("b1000d4", 40, 0.0, {"max_depth": 4}, 1000),
        ("b200d8", 40, 0.0, {"max_depth": 8}, 200),
        ("lossguide255", 40, 0.0, {"grow_policy": "lossguide", "max_leaves": 255, "max_depth": 0}, 100),
        ("sparse1200", 1200, 0.95, {"max_depth": 6}, 100),
    ]
    for seed, (name, nf, missing, extra, rounds) in enumerate(binary, start=1):
        if not want(name):
            continue
        rng = np.random.default_rng(1000 + seed)
        x, z = synth(rng, ntrain + args.rows, nf, informative=min(nf, 40), missing=missing)
        y = (z > np.median(z)).astype(np.float64)
        names = [f"f{i}" for i in range(nf)]
        d = xgb.DMatrix(x[:ntrain], label=y[:ntrain], feature_names=names)
        params = {"objective": "binary:logistic", "tree_method": "hist", "eta": 0.1, "nthread": 2, "seed": seed}
        params.update(extra)
        save(name, xgb.train(params, d, rounds), names, x[ntrain:])

    if want("m50d6"):
        rng = np.random.default_rng(2001)
        nf, k = 40, 50
        x, _ = synth(rng, ntrain + args.rows, nf)
        centers = rng.standard_normal((k, nf))
        y = np.argmax(x @ centers.T + rng.standard_normal((len(x), k)), axis=1).astype(np.float64)
        names = [f"f{i}" for i in range(nf)]
        d = xgb.DMatrix(x[:ntrain], label=y[:ntrain], feature_names=names)
        params = {"objective": "multi:softprob", "num_class": k, "tree_method": "hist", "max_depth": 6,
                  "eta": 0.3, "nthread": 2, "seed": 7}
        save("m50d6", xgb.train(params, d, 20), names, x[ntrain:])

    if want("cat13"):
        rng = np.random.default_rng(3001)
        nnum, ncat, k = 16, 8, 13
        x, _ = synth(rng, ntrain + args.rows, nnum)
        cats = rng.integers(0, 40, size=(len(x), ncat)).astype(np.float64)
        effect = rng.standard_normal((ncat, 40, k))
        score = x[:, :k] if nnum >= k else np.pad(x, ((0, 0), (0, k - nnum)))
        score = score * 0.5
        for j in range(ncat):
            score = score + effect[j, cats[:, j].astype(int)]
        y = np.argmax(score + rng.standard_normal(score.shape), axis=1).astype(np.float64)
        full = np.concatenate([x, cats], axis=1)
        names = [f"f{i}" for i in range(nnum)] + [f"c{j}" for j in range(ncat)]
        types = ["q"] * nnum + ["c"] * ncat
        d = xgb.DMatrix(full[:ntrain], label=y[:ntrain], feature_names=names, feature_types=types,
                        enable_categorical=True)
        params = {"objective": "multi:softprob", "num_class": k, "tree_method": "hist", "max_depth": 6,
                  "eta": 0.3, "nthread": 2, "seed": 11, "max_cat_to_onehot": 1}
        save("cat13", xgb.train(params, d, 10), names, full[ntrain:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

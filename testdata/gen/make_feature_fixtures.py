#!/usr/bin/python3
"""Generate the online-feature fixtures under testdata/features/.

Run from the repository root with Debian's Python:

    /usr/bin/python3 testdata/gen/make_feature_fixtures.py

Needs xgboost 1.7.4 (checked). Seeded and single-threaded: a rerun writes
byte-identical files.

Outputs (testdata/features/):
  fraud.json            XGBoost binary:logistic model over the request's
                        amount and hour, the user_stats view's spend_7d,
                        orders_30d, segment and the merchant_stats view's
                        fraud_rate_30d, txn_count_7d (demo.yaml defines both
                        views)
  users.csv             user_stats rows: user_id, spend_7d, orders_30d, segment
                        (no event time: tests and the demo stamp their own)
  merchants.csv         merchant_stats rows: merchant_id, fraud_rate_30d,
                        txn_count_7d
  requests.csv          prediction requests: user_id, merchant_id, amount,
                        hour; some users and merchants are unknown (their
                        features take demo.yaml's defaults)
  joined.csv            each request's joined row in the model's feature order,
                        defaults filled in as the daemon does (empty = missing)
  joined.pred.csv       booster.predict of joined.csv: the offline answer a
                        prediction by entity keys must equal
  bench.yaml, bench.json, bench_rows.csv
                        the join benchmark: 3 views of 20 features each (one
                        entity each) and a 100-tree model over those 60 plus 4
                        request features; bench_rows.csv is one row per entity
                        of every view (key, then the 20 values)
"""

import json
import math
import os

import numpy as np
import xgboost as xgb

assert xgb.__version__ == "1.7.4", xgb.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "features")

# Defaults as demo.yaml gives them; segment has none (missing).
DEFAULTS = {"spend_7d": 0.0, "orders_30d": 0.0, "segment": math.nan,
            "fraud_rate_30d": 0.02, "txn_count_7d": 0.0}
FEATURES = ["amount", "hour", "spend_7d", "orders_30d", "segment",
            "fraud_rate_30d", "txn_count_7d"]


def num(x):
    """A CSV cell: repr of the float64, empty for NaN, an int as an int."""
    if isinstance(x, float) and math.isnan(x):
        return ""
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def write_csv(name, header, rows):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(c if isinstance(c, str) else num(c) for c in r) + "\n")


def fraud(rng):
    n_users, n_merchants = 40, 12
    users = []
    for i in range(n_users):
        spend = round(float(rng.gamma(2.0, 40.0)), 2)
        orders = int(rng.poisson(6))
        segment = float(rng.integers(0, 4)) if rng.random() > 0.1 else math.nan
        users.append((f"u{i}", spend, orders, segment))
    merchants = []
    for i in range(n_merchants):
        merchants.append((f"m{i}", round(float(rng.beta(1, 30)), 4), int(rng.poisson(50))))

    # Training data: random joined rows with a fraud label.
    n = 4000
    X = np.empty((n, len(FEATURES)))
    X[:, 0] = np.round(rng.gamma(2.0, 30.0, n), 2)
    X[:, 1] = rng.integers(0, 24, n)
    X[:, 2] = np.round(rng.gamma(2.0, 40.0, n), 2)
    X[:, 3] = rng.poisson(6, n)
    X[:, 4] = rng.integers(0, 4, n)
    X[:, 5] = np.round(rng.beta(1, 30, n), 4)
    X[:, 6] = rng.poisson(50, n)
    X[rng.random(n) < 0.1, 4] = np.nan
    logit = (0.02 * X[:, 0] - 0.01 * X[:, 2] - 0.2 * X[:, 3] + 40 * X[:, 5]
             + 0.3 * ((X[:, 1] < 6) | (X[:, 1] > 22)) - 1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    d = xgb.DMatrix(X, label=y, missing=np.nan, feature_names=FEATURES)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3,
                         "nthread": 1, "seed": 1}, d, num_boost_round=30)
    booster.save_model(os.path.join(OUT, "fraud.json"))

    # Requests: mostly known users and merchants, some unknown.
    reqs, joined = [], []
    by_user = {u[0]: u for u in users}
    by_merchant = {m[0]: m for m in merchants}
    for i in range(60):
        u = f"u{int(rng.integers(0, n_users + 5))}"   # u40..u44 are unknown
        m = f"m{int(rng.integers(0, n_merchants + 2))}"
        amount = round(float(rng.gamma(2.0, 30.0)), 2)
        hour = int(rng.integers(0, 24))
        reqs.append((u, m, amount, hour))
        ur = by_user.get(u, (u, DEFAULTS["spend_7d"], DEFAULTS["orders_30d"], DEFAULTS["segment"]))
        mr = by_merchant.get(m, (m, DEFAULTS["fraud_rate_30d"], DEFAULTS["txn_count_7d"]))
        joined.append([amount, hour, ur[1], ur[2], ur[3], mr[1], mr[2]])
    J = np.array(joined, dtype=np.float64)
    pred = booster.predict(xgb.DMatrix(J, missing=np.nan, feature_names=FEATURES))

    write_csv("users.csv", ["user_id", "spend_7d", "orders_30d", "segment"], users)
    write_csv("merchants.csv", ["merchant_id", "fraud_rate_30d", "txn_count_7d"], merchants)
    write_csv("requests.csv", ["user_id", "merchant_id", "amount", "hour"], reqs)
    write_csv("joined.csv", FEATURES, joined)
    with open(os.path.join(OUT, "joined.pred.csv"), "w") as f:
        f.write("p\n")
        for p in pred:
            f.write("%.9g\n" % p)

    # Check: a fresh load of the saved model predicts the same.
    again = xgb.Booster(model_file=os.path.join(OUT, "fraud.json"))
    p2 = again.predict(xgb.DMatrix(J, missing=np.nan, feature_names=FEATURES))
    assert np.array_equal(pred, p2)


def bench(rng):
    views = ["a", "b", "c"]
    lines = ["# The join benchmark's definitions (made by testdata/gen/make_feature_fixtures.py):",
             "# three views of 20 float features, one entity each.", "entities:"]
    for v in views:
        lines.append(f"  - {{name: e{v}, join_key: {v}_id, key_type: int}}")
    lines.append("feature_views:")
    for v in views:
        lines += [f"  - name: view_{v}", f"    entity: e{v}", "    ttl: 720h", "    features:"]
        for j in range(20):
            lines.append(f"      - {{name: {v}{j}, type: float, default: 0}}")
    with open(os.path.join(OUT, "bench.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    names = ["x0", "x1", "x2", "x3"] + [f"{v}{j}" for v in views for j in range(20)]
    n = 3000
    X = rng.normal(size=(n, len(names)))
    y = (X[:, 0] + X[:, 5] - X[:, 30] + 0.5 * X[:, 50] + rng.normal(size=n) > 0).astype(np.float32)
    d = xgb.DMatrix(X, label=y, feature_names=names)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1,
                         "nthread": 1, "seed": 2}, d, num_boost_round=100)
    booster.save_model(os.path.join(OUT, "bench.json"))
    rows = []
    for i in range(1000):
        rows.append([str(i)] + [round(float(x), 6) for x in rng.normal(size=20)])
    write_csv("bench_rows.csv", ["id"] + [f"f{j}" for j in range(20)], rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    fraud(np.random.default_rng(11))
    bench(np.random.default_rng(12))


if __name__ == "__main__":
    main()

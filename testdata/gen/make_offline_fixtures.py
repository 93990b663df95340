#!/usr/bin/python3
"""Generate testdata/offline/: the offline half of the fraud demo (issue 16):
feature histories, labelled transactions, and a second candidate model.

Run from the repository root with Debian's Python (pandas 1.5.3, xgboost
1.7.4; checked):

    /usr/bin/python3 testdata/gen/make_offline_fixtures.py

Seeded and single-threaded: a rerun writes byte-identical files.

Outputs (testdata/offline/), for testdata/features/demo.yaml's views, whose
source: lines point here:
  user_stats.csv      user_stats' history: user_id, event_time, spend_7d,
                      orders_30d, segment; one snapshot a day at a random
                      hour for most users on most days of October 2026 (a
                      skipped day leaves the next rows of that user expired:
                      TTL 24h); u0..u39 (u40..u44 have no history)
  merchant_stats.csv  merchant_stats' history: merchant_id, event_time,
                      fraud_rate_30d, txn_count_7d; every 6 hours, with gaps and one
                      two-day outage per merchant (expired rows);
                      m0..m11 (m12, m13 have none)
  labels.csv          5000 transactions: transaction_id, user_id,
                      merchant_id, event_timestamp, amount, hour (the
                      timestamp's UTC hour), country, device, is_fraud.
                      is_fraud is drawn from testdata/features/fraud.json's
                      own probability on the row's point-in-time features
                      (the join predictd dataset computes), so evaluating
                      fraud.json on it is meaningful; except in country BR,
                      where it is drawn from half that probability and half
                      an unrelated one (the device), so the model ranks and
                      calibrates worse on that slice.
  train.expected.csv  the point-in-time training set of labels.csv (its
                      columns, then demo.yaml's features in view order), as
                      this script joins it with pandas merge_asof:
                      tools/dataset's test holds predictd dataset to it.
  fraud_small.json    a second candidate: XGBoost binary:logistic, 6 trees of
                      depth 2 over fraud.json's seven features, trained on a
                      separate 5000-row training set from the same generator
                      (its labels also from fraud.json's probability), joined
                      the same way; smaller and less accurate than fraud.json.

The demo's commands (from the repository root, BIN=bin/predictd):
  $BIN dataset --features testdata/features/demo.yaml \\
      --entities testdata/offline/labels.csv --out .demo/train.parquet
  then evaluate fraud.json (imported as fraud) on .demo/train.parquet with
  --label is_fraud --slice country, and compare fraud and fraud_small.
"""

import math
import os

import numpy as np
import pandas as pd
import xgboost as xgb

assert pd.__version__ == "1.5.3", pd.__version__
assert xgb.__version__ == "1.7.4", xgb.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "offline")

FEATURES = ["amount", "hour", "spend_7d", "orders_30d", "segment", "fraud_rate_30d", "txn_count_7d"]
# demo.yaml's views: (name, key, ttl, [(feature, default or None)])
VIEWS = [
    ("user_stats", "user_id", pd.Timedelta("24h"), [("spend_7d", 0.0), ("orders_30d", 0.0), ("segment", None)]),
    ("merchant_stats", "merchant_id", pd.Timedelta("24h"), [("fraud_rate_30d", 0.02), ("txn_count_7d", 0.0)]),
]
T0 = pd.Timestamp("2026-10-01T00:00:00Z")
DAYS = 30
N_USERS, N_MERCHANTS = 40, 12
COUNTRIES = ["DE", "FR", "US", "BR"]
DEVICES = ["ios", "android", "web"]


def user_history(rng):
    rows = []
    for u in range(N_USERS):
        base_spend = rng.gamma(2.0, 40.0)
        base_orders = rng.uniform(2, 10)
        segment = float(rng.integers(0, 4)) if rng.random() > 0.1 else math.nan
        for day in range(DAYS):
            if rng.random() < 0.12:
                continue  # no snapshot that day
            t = T0 + pd.Timedelta(days=day, hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
            spend = round(max(base_spend * rng.lognormal(0, 0.25), 0), 2)
            orders = float(rng.poisson(base_orders))
            rows.append((f"u{u}", t, spend, orders, segment))
    return pd.DataFrame(rows, columns=["user_id", "event_time", "spend_7d", "orders_30d", "segment"])


def merchant_history(rng):
    rows = []
    for m in range(N_MERCHANTS):
        base_rate = rng.beta(1, 30)
        base_count = rng.uniform(20, 80)
        outage = int(rng.integers(0, DAYS * 4 - 8))  # two days without a row
        for k in range(DAYS * 4):
            if rng.random() < 0.08 or outage <= k < outage + 8:
                continue
            t = T0 + pd.Timedelta(hours=6 * k, minutes=int(rng.integers(0, 30)))
            rate = round(min(base_rate * rng.lognormal(0, 0.2), 1.0), 4)
            rows.append((f"m{m}", t, rate, float(rng.poisson(base_count))))
    return pd.DataFrame(rows, columns=["merchant_id", "event_time", "fraud_rate_30d", "txn_count_7d"])


def transactions(rng, n, first_id):
    ts = T0 + pd.to_timedelta(rng.integers(86400, DAYS * 86400, n), unit="s")
    df = pd.DataFrame({
        "transaction_id": np.arange(first_id, first_id + n),
        "user_id": [f"u{i}" for i in rng.integers(0, N_USERS + 5, n)],          # u40..u44: no history
        "merchant_id": [f"m{i}" for i in rng.integers(0, N_MERCHANTS + 2, n)],  # m12, m13: none
        "event_timestamp": ts,
        "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
    })
    df["hour"] = df["event_timestamp"].dt.hour.astype(np.int64)
    df["country"] = rng.choice(COUNTRIES, n, p=[0.3, 0.25, 0.3, 0.15])
    df["device"] = rng.choice(DEVICES, n)
    return df


def point_in_time(ent, hist):
    """The rule of tools/dataset (see testdata/gen/dataset_oracle.py): per
    view, the latest row of the key at or before the timestamp (first in
    file order of ties), used if age < TTL, else the defaults."""
    out = ent.copy()
    n = len(ent)
    for name, key, ttl, feats in VIEWS:
        src = hist[name].copy()
        src["_seq"] = np.arange(len(src))
        src = src.sort_values([key, "event_time", "_seq"], kind="stable").drop_duplicates([key, "event_time"], keep="first")
        src = src.drop(columns="_seq").rename(columns={"event_time": "_t"}).sort_values("_t", kind="stable")
        left = ent[[key, "event_timestamp"]].copy()
        left["_row"] = np.arange(n)
        left = left.sort_values("event_timestamp", kind="stable")
        m = pd.merge_asof(left, src, left_on="event_timestamp", right_on="_t", by=key,
                          direction="backward", allow_exact_matches=True, tolerance=ttl)
        m["_ok"] = m["_t"].notna() & ((m["event_timestamp"] - m["_t"]) < ttl)
        m = m.set_index("_row").sort_index()
        for f, default in feats:
            out[f] = m[f].where(m["_ok"], np.nan if default is None else default).to_numpy()
    return out


def fmt_time(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_csv(df, name):
    df = df.copy()
    for c in ("event_time", "event_timestamp"):
        if c in df:
            df[c] = df[c].map(fmt_time)
    df.to_csv(os.path.join(OUT, name), index=False, na_rep="", lineterminator="\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1601)
    hist = {"user_stats": user_history(rng), "merchant_stats": merchant_history(rng)}
    # History files in no particular order, as an export would be.
    for k in hist:
        hist[k] = hist[k].sample(frac=1.0, random_state=5).reset_index(drop=True)

    fraud = xgb.Booster(model_file=os.path.join(ROOT, "features", "fraud.json"))

    def label(df, rng):
        joined = point_in_time(df, hist)
        X = joined[FEATURES].to_numpy(dtype=np.float64)
        p = fraud.predict(xgb.DMatrix(X, missing=np.nan, feature_names=FEATURES))
        p = p.astype(np.float64)
        # Country BR: half the model's probability, half one it does not
        # see (the device), so it ranks and calibrates worse there.
        other = np.where(df["device"].to_numpy() == "web", 0.6, 0.1)
        p = np.where(df["country"].to_numpy() == "BR", 0.5 * p + 0.5 * other, p)
        y = (rng.random(len(df)) < p).astype(np.int64)
        return joined, y

    labels = transactions(rng, 5000, 100000)
    joined, y = label(labels, rng)
    labels["is_fraud"] = y
    joined["is_fraud"] = y
    cols = list(labels.columns)
    joined = joined[cols + [f for _, _, _, feats in VIEWS for f, _ in feats]]

    # The second candidate: trained on its own transactions.
    train = transactions(rng, 5000, 900000)
    tj, ty = label(train, rng)
    d = xgb.DMatrix(tj[FEATURES].to_numpy(dtype=np.float64), label=ty, missing=np.nan, feature_names=FEATURES)
    small = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.3, "nthread": 1, "seed": 3},
                      d, num_boost_round=6)
    small.save_model(os.path.join(OUT, "fraud_small.json"))

    # Integer features written as integers.
    us, ms = hist["user_stats"].copy(), hist["merchant_stats"].copy()
    for df, cols in ((us, ["orders_30d", "segment"]), (ms, ["txn_count_7d"])):
        for c in cols:
            df[c] = df[c].astype("Int64")
    write_csv(us, "user_stats.csv")
    write_csv(ms, "merchant_stats.csv")
    write_csv(labels, "labels.csv")
    write_csv(joined, "train.expected.csv")

    # What the demo's evaluation should show: the BR slice is worse.
    X = joined[FEATURES].to_numpy(dtype=np.float64)
    pf = fraud.predict(xgb.DMatrix(X, missing=np.nan, feature_names=FEATURES))
    ps = small.predict(xgb.DMatrix(X, missing=np.nan, feature_names=FEATURES))

    def auc(p, y):
        order = np.argsort(p, kind="stable")
        ranks = np.empty(len(p))
        ranks[order] = np.arange(1, len(p) + 1)
        pos = y == 1
        return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())

    br = joined["country"].to_numpy() == "BR"
    a_all, a_br, a_rest, a_small = auc(pf, y), auc(pf[br], y[br]), auc(pf[~br], y[~br]), auc(ps, y)
    print(f"wrote {OUT}: {len(labels)} labels ({y.mean():.3f} fraud), "
          f"{len(hist['user_stats'])} user_stats rows, {len(hist['merchant_stats'])} merchant_stats rows; "
          f"AUC fraud {a_all:.3f} (BR {a_br:.3f}, others {a_rest:.3f}), fraud_small {a_small:.3f}")
    assert a_br < a_rest - 0.05, "the BR slice should be visibly worse"
    assert a_small < a_all, "fraud_small should be the weaker candidate"


if __name__ == "__main__":
    main()

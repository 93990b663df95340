"""dataset_pandas.py: the pandas peer of `predictd dataset` in
bench/dataset.sh: the same point-in-time join with merge_asof over the CSV
copies of the bench's inputs (times as integer nanoseconds), by the rule of
tools/dataset (and testdata/gen/dataset_oracle.py): per view, source rows
deduplicated on (key, event_time) keeping the first, merge_asof backward
with exact matches by key within the TTL, then age < TTL, else the
defaults; rows back in entity order. It writes no file (pandas here has no
Parquet writer: Debian's python3-pandas comes without pyarrow).

    /usr/bin/python3 bench/dataset_pandas.py DIR

Prints `PANDAS rows=N read_s=S join_s=S present_<view>=N ...`.
"""
import sys
import time

import numpy as np
import pandas as pd

d = sys.argv[1]
VIEWS = [
    ("user_stats", "user_id", "168h", [("spend_7d", 0.0), ("orders_30d", 0.0), ("segment", None)]),
    ("device_stats", "device_id", "72h", [("risk", None), ("sessions_7d", 0.0)]),
    ("merchant_stats", "merchant_id", "24h", [("fraud_rate", 0.02), ("txn_count_7d", 0.0)]),
]
t0 = time.perf_counter()
ent = pd.read_csv(f"{d}/entities.csv")
ent["event_timestamp"] = pd.to_datetime(ent["event_timestamp"], unit="ns", utc=True)
srcs = {}
for name, key, _, feats in VIEWS:
    s = pd.read_csv(f"{d}/{name}.csv")
    s["event_time"] = pd.to_datetime(s["event_time"], unit="ns", utc=True)
    srcs[name] = s
t1 = time.perf_counter()

out = ent
n = len(ent)
order = ent[["event_timestamp"]].copy()
order["_row"] = np.arange(n)
present = {}
for name, key, ttl, feats in VIEWS:
    ttl = pd.Timedelta(ttl)
    s = srcs[name]
    s = s.drop_duplicates([key, "event_time"], keep="first").sort_values("event_time", kind="stable")
    left = ent[[key, "event_timestamp"]].copy()
    left["_row"] = np.arange(n)
    left = left.sort_values("event_timestamp", kind="stable")
    m = pd.merge_asof(left, s.rename(columns={"event_time": "_t"}), left_on="event_timestamp", right_on="_t",
                      by=key, direction="backward", allow_exact_matches=True, tolerance=ttl)
    ok = (m["_t"].notna() & ((m["event_timestamp"] - m["_t"]) < ttl)).to_numpy()
    rows = m["_row"].to_numpy()
    present[name] = int(ok.sum())
    for f, default in feats:
        v = np.where(ok, m[f].to_numpy(dtype=float), np.nan if default is None else default)
        col = np.empty(n)
        col[rows] = v
        out[f] = col
t2 = time.perf_counter()
print(f"PANDAS rows={n} read_s={t1 - t0:.2f} join_s={t2 - t1:.2f} " + " ".join(f"present_{k}={v}" for k, v in present.items()))

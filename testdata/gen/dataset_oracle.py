"""dataset_oracle.py writes testdata/dataset/: the inputs of a point-in-time
join (feature definitions, three views' history files, an entity file) and
the training set pandas computes for them with merge_asof, which
tools/dataset's tests must equal value for value.

Run from the repo root with Debian's Python (pandas 1.5.3):

    /usr/bin/python3 testdata/gen/dataset_oracle.py

then testdata/gen/dataset_duckdb.mjs (see its header) for the Parquet copies
of the inputs and DuckDB's answer. Seeded: a rerun writes identical files.

The rule (tools/dataset's doc): for each entity row and view, the view's
latest source row of the same key with event_time <= the row's timestamp
(of several rows with that key and time, the first in the file), if its age
(timestamp - event_time) is below the view's TTL; else each feature's
default, or missing when it has none. A present row's missing value stays
missing. In pandas: drop_duplicates on (key, event_time) keeping the first,
then merge_asof(direction="backward", allow_exact_matches=True, by=key,
tolerance=ttl), then age < ttl (tolerance keeps age == ttl; Feast does too;
predictd's serving rule, featcache.Fresh, does not).

The case covers: ties on timestamps (two source rows with the same key and
time; entity rows at exactly a source row's time), TTL expiry with age
exactly == TTL, entities absent from a view, three views over two entities
(one with an int key), unsorted input, NaN (empty) values in the sources,
and entity rows with extra columns (an int label, a float with missing
values, strings with a comma and a quote). The script asserts each is hit.
"""

import os
import sys

import numpy as np
import pandas as pd

assert pd.__version__ == "1.5.3", pd.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dataset")
T0 = pd.Timestamp("2026-11-20T00:00:00Z")
rng = np.random.default_rng(16)

DEFS = """\
# Feature definitions of the point-in-time join oracle (made by
# testdata/gen/dataset_oracle.py). Sources are relative to this folder.
entities:
  - name: user
    join_key: user_id
    key_type: string
  - name: merchant
    join_key: merchant_id
    key_type: int

feature_views:
  - name: user_stats
    entity: user
    ttl: 2h
    source: user_stats.csv
    features:
      - name: spend_7d
        type: float
        default: 0
      - name: orders_30d
        type: int
        default: 0
      - name: segment
        type: categorical

  - name: user_profile
    entity: user
    ttl: 48h
    source: user_profile.csv
    features:
      - name: tenure_days
        type: int
      - name: score
        type: float
        default: -1

  - name: merchant_stats
    entity: merchant
    ttl: 1h
    source: merchant_stats.csv
    features:
      - name: fraud_rate
        type: float
        default: 0.02
      - name: txn_count
        type: int
"""

VIEWS = [
    # name, key, ttl, [(feature, kind, default)]
    ("user_stats", "user_id", pd.Timedelta("2h"),
     [("spend_7d", "float", 0.0), ("orders_30d", "int", 0.0), ("segment", "cat", None)]),
    ("user_profile", "user_id", pd.Timedelta("48h"),
     [("tenure_days", "int", None), ("score", "float", -1.0)]),
    ("merchant_stats", "merchant_id", pd.Timedelta("1h"),
     [("fraud_rate", "float", 0.02), ("txn_count", "int", None)]),
]


def grid_time(n, step_min=10, days=3):
    """n times on a grid of step_min minutes over days days, so that ties
    and exact TTL ages are common."""
    return T0 + pd.to_timedelta(rng.integers(0, days * 24 * 60 // step_min, n) * step_min, unit="min")


def fmt_time(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def feature_values(kind, n):
    if kind == "float":
        v = np.round(rng.normal(100, 40, n), 3)
    elif kind == "int":
        v = rng.integers(0, 50, n).astype(float)
    else:
        v = rng.integers(0, 4, n).astype(float)
    v[rng.random(n) < 0.06] = np.nan
    return v


def make_source(name, key, keys, n, feats):
    df = pd.DataFrame({key: rng.choice(keys, n), "event_time": grid_time(n)})
    for f, kind, _ in feats:
        df[f] = feature_values(kind, n)
    # Ties: copies of some rows at the same key and time with other values,
    # later in the file (the first must win).
    dup = df.sample(n=max(n // 20, 3), random_state=1).copy()
    for f, kind, _ in feats:
        dup[f] = feature_values(kind, len(dup))
    df = pd.concat([df, dup], ignore_index=True)
    df = df.sample(frac=1.0, random_state=2).reset_index(drop=True)  # unsorted
    return df


users = [f"u{i:03d}" for i in range(1, 36)]          # u031..u035 in no view
sources = {
    "user_stats": make_source("user_stats", "user_id", users[:30], 700, VIEWS[0][3]),
    "user_profile": make_source("user_profile", "user_id", users[:20], 120, VIEWS[1][3]),  # u021..u030 absent
    "merchant_stats": make_source("merchant_stats", "merchant_id", np.arange(1, 13), 500, VIEWS[2][3]),  # 13..15 absent
}

# Entity rows: random grid times, plus rows at exactly a source row's time
# and at exactly its time + TTL.
N = 500
ent = pd.DataFrame({
    "user_id": rng.choice(users, N),
    "merchant_id": rng.integers(1, 16, N),
    "event_timestamp": grid_time(N, step_min=5),
})
extra = []
for name, key, ttl, _ in VIEWS:
    s = sources[name].sample(n=15, random_state=3)
    for _, r in s.iterrows():
        other = "merchant_id" if key == "user_id" else "user_id"
        o = rng.integers(1, 16) if other == "merchant_id" else rng.choice(users)
        extra.append({key: r[key], other: o, "event_timestamp": r["event_time"]})
        extra.append({key: r[key], other: o, "event_timestamp": r["event_time"] + ttl})
        extra.append({key: r[key], other: o, "event_timestamp": r["event_time"] + ttl - pd.Timedelta("1s")})
ent = pd.concat([ent, pd.DataFrame(extra)], ignore_index=True)
ent = ent.sample(frac=1.0, random_state=4).reset_index(drop=True)  # unsorted
n = len(ent)
ent.insert(0, "txn_id", np.arange(1000, 1000 + n))
ent["label"] = rng.integers(0, 2, n)
amount = np.round(rng.gamma(2.0, 30.0, n), 2)
amount[rng.random(n) < 0.05] = np.nan
ent["amount"] = amount
ent["country"] = rng.choice(["DE", "FR", "US", "Bosnia, Herzegovina", 'say "hi"'], n)
ent["merchant_id"] = ent["merchant_id"].astype(np.int64)

# ---- the oracle -------------------------------------------------------------
out = ent.copy()
out["_row"] = np.arange(n)
cover = {"tie_rows": 0, "tie_chosen": 0, "exact_time": 0, "age_eq_ttl": 0, "absent": 0, "nan_present": 0, "present": 0}
for name, key, ttl, feats in VIEWS:
    src = sources[name].copy()
    src["_seq"] = np.arange(len(src))
    dups = src.duplicated([key, "event_time"], keep=False)
    cover["tie_rows"] += int(dups.sum())
    tied = set(map(tuple, src.loc[dups, [key, "event_time"]].itertuples(index=False)))
    src = src.sort_values([key, "event_time", "_seq"], kind="stable")
    src = src.drop_duplicates([key, "event_time"], keep="first")
    src = src.rename(columns={"event_time": "_src_time"}).sort_values("_src_time", kind="stable")
    left = out[["_row", key, "event_timestamp"]].sort_values("event_timestamp", kind="stable")
    m = pd.merge_asof(left, src.drop(columns="_seq"), left_on="event_timestamp", right_on="_src_time",
                      by=key, direction="backward", allow_exact_matches=True, tolerance=ttl)
    age = m["event_timestamp"] - m["_src_time"]
    present = m["_src_time"].notna() & (age < ttl)
    cover["exact_time"] += int((age == pd.Timedelta(0)).sum())
    cover["age_eq_ttl"] += int((age == ttl).sum())
    cover["absent"] += int((~m[key].isin(sources[name][key])).sum())
    cover["present"] += int(present.sum())
    cover["tie_chosen"] += sum((k, t) in tied for k, t, p in zip(m[key], m["_src_time"], present) if p)
    m["_present"] = present
    m = m.set_index("_row").sort_index()  # entity file order again
    assert (m.index == np.arange(n)).all()
    for f, _, default in feats:
        v = m[f].where(m["_present"], np.nan if default is None else default)
        cover["nan_present"] += int((m["_present"] & m[f].isna()).sum())
        out[f] = v.values
for k, v in cover.items():
    assert v > 0, f"the case does not cover {k}"
print("covered:", cover, file=sys.stderr)

# ---- files ----------------------------------------------------------------
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "defs.yaml"), "w") as f:
    f.write(DEFS)


def write_csv(df, path):
    df = df.copy()
    for c in df.columns:
        if c in ("event_time", "event_timestamp"):
            df[c] = df[c].map(fmt_time)
    # Floats as repr (shortest round trip): a float64 parse is exact.
    df.to_csv(path, index=False, na_rep="", float_format=None, lineterminator="\n")


for name, _, _, feats in VIEWS:
    src = sources[name].copy()
    for f, kind, _ in feats:
        if kind != "float":
            src[f] = src[f].astype("Int64")  # integers written as integers
    write_csv(src, os.path.join(OUT, name + ".csv"))
write_csv(ent, os.path.join(OUT, "entities.csv"))
exp = out.drop(columns="_row")
write_csv(exp, os.path.join(OUT, "expected.pandas.csv"))
print(f"wrote {OUT}: {n} entity rows", file=sys.stderr)

#!/usr/bin/python3
"""Oracle for model/transform: fits scikit-learn 1.2.1 / numpy transforms on
a raw CSV with missing values, rare categories and (in the test split)
unseen categories, and writes the fitted statistics and the transformed
matrices that model/transform's tests compare against.

Run from the repository root: /usr/bin/python3 testdata/gen/train_transform_oracle.py
Writes testdata/train/transform/{train.csv,test.csv,stats.json,train_out.csv,test_out.csv},
and train.parquet, test.parquet: the same rows written by DuckDB (node,
@duckdb/node-api in /tmp/pqgen/node_modules) with age as BIGINT, so the
Go tests fit and apply from Parquet too.
The feature list mirrors oracleFeatures in model/transform/oracle_test.go.
"""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

assert sklearn.__version__ == "1.2.1", sklearn.__version__
OUT = "testdata/train/transform"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(17)


def make(n, unseen):
    amount = np.round(rng.lognormal(3, 1.2, n), 2)
    amount[rng.random(n) < 0.1] = np.nan
    income = np.round(rng.normal(50000, 15000, n), 0)
    income[rng.random(n) < 0.15] = np.nan
    age = rng.integers(10, 100, n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    common = ["BR", "US", "DE", "FR", "IN"]
    rare = ["NZ", "PT", "Ísland"]  # each well under min_frequency 5
    country = list(rng.choice(common, n, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    for i in range(len(rare)):
        country[3 * i + 1] = rare[i]
    for i in rng.choice(n, 8, replace=False):
        country[i] = None
    device = list(rng.choice(["ios", "android", "web"], n))
    if unseen:
        country[0] = "ZZ"
        country[2] = "XX"
        device[1] = "tv"
        device[3] = None
    return pd.DataFrame({"amount": amount, "income": income, "age": age, "country": country, "device": device})


train = make(300, False)
test = make(60, True)
train.to_csv(f"{OUT}/train.csv", index=False, na_rep="NA")
test.to_csv(f"{OUT}/test.csv", index=False, na_rep="NA")
DUCKDB = """import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
for (const s of ['train', 'test']) {
  await c.run(`COPY (SELECT * FROM read_csv('%s/${s}.csv', header=true, nullstr='NA',
    types={'amount':'DOUBLE','income':'DOUBLE','age':'BIGINT','country':'VARCHAR','device':'VARCHAR'}))
    TO '%s/${s}.parquet' (FORMAT parquet)`);
}
"""
absout = os.path.abspath(OUT)
subprocess.run(["/usr/bin/node", "--input-type=module", "-e", DUCKDB % (absout, absout)], cwd="/tmp/pqgen", check=True)
train = pd.read_csv(f"{OUT}/train.csv", keep_default_na=True)
test = pd.read_csv(f"{OUT}/test.csv", keep_default_na=True)


def col(df, name):
    return df[[name]].to_numpy(dtype=float)


def cat(df, name):
    a = df[[name]].to_numpy(dtype=object)
    a[pd.isna(a)] = np.nan
    return a


def fnv(b):
    h = 14695981039346656037
    for x in b:
        h ^= x
        h = (h * 1099511628211) % (1 << 64)
    return h


stats = {}
outs = {"train": [], "test": []}
names = []


def emit(name, tr, te):
    names.append(name)
    outs["train"].append(np.asarray(tr, dtype=float).reshape(-1))
    outs["test"].append(np.asarray(te, dtype=float).reshape(-1))


# 1. amount: impute median + indicator, log1p, standardize
imp = SimpleImputer(strategy="median").fit(col(train, "amount"))
ss = StandardScaler().fit(np.log1p(imp.transform(col(train, "amount"))))
stats["amount"] = {"fill": imp.statistics_[0], "mean": ss.mean_[0], "scale": ss.scale_[0]}
f = lambda df: ss.transform(np.log1p(imp.transform(col(df, "amount"))))
emit("amount", f(train), f(test))
emit("amount_missing", np.isnan(col(train, "amount")), np.isnan(col(test, "amount")))

# 2. income: impute mean + indicator, minmax
imp2 = SimpleImputer(strategy="mean").fit(col(train, "income"))
mm = MinMaxScaler().fit(imp2.transform(col(train, "income")))
stats["income"] = {"fill": imp2.statistics_[0], "scale": mm.scale_[0], "offset": mm.min_[0]}
f = lambda df: mm.transform(imp2.transform(col(df, "income")))
emit("income", f(train), f(test))
emit("income_missing", np.isnan(col(train, "income")), np.isnan(col(test, "income")))

# 3. age: clip [18, 90], standardize (missing stays NaN)
ss3 = StandardScaler().fit(np.clip(col(train, "age"), 18, 90))
stats["age"] = {"mean": ss3.mean_[0], "scale": ss3.scale_[0]}
f = lambda df: ss3.transform(np.clip(col(df, "age"), 18, 90))
emit("age", f(train), f(test))

# 4. age_bin: bucketize, 4 quantile bins (numpy.quantile linear, digitize right=False)
a = col(train, "age").reshape(-1)
edges = np.unique(np.quantile(a[~np.isnan(a)], [1 / 4, 2 / 4, 3 / 4]))
stats["age_bin"] = {"edges": list(edges)}


def digit(x, e):
    x = x.reshape(-1)
    out = np.digitize(x, e, right=False).astype(float)
    out[np.isnan(x)] = np.nan
    return out


emit("age_bin", digit(col(train, "age"), edges), digit(col(test, "age"), edges))

# 5. amount_bkt: bucketize, given edges
given = np.array([10.0, 100.0, 1000.0])
emit("amount_bkt", digit(col(train, "amount"), given), digit(col(test, "amount"), given))

# 6. income_c: impute constant -1
imp6 = SimpleImputer(strategy="constant", fill_value=-1.0).fit(col(train, "income"))
emit("income_c", imp6.transform(col(train, "income")), imp6.transform(col(test, "income")))

# 7. country: onehot, min_frequency 5, infrequent_if_exist
oh = OneHotEncoder(min_frequency=5, handle_unknown="infrequent_if_exist", sparse_output=False).fit(cat(train, "country"))
cats = [c for c in oh.categories_[0]]
infreq = list(oh.infrequent_categories_[0])
stats["country"] = {
    "categories": [c for c in cats if isinstance(c, str) and c not in infreq],
    "rare": [c for c in infreq if isinstance(c, str)],
    "missing": any(not isinstance(c, str) for c in cats) and not any(not isinstance(c, str) for c in infreq),
}
tr, te = oh.transform(cat(train, "country")), oh.transform(cat(test, "country"))
for j, n in enumerate(oh.get_feature_names_out(["country"])):
    n = n.replace("country_infrequent_sklearn", "country=__infrequent__").replace("country_nan", "country=NaN")
    if n.startswith("country_"):
        n = "country=" + n[len("country_"):]
    emit(n, tr[:, j], te[:, j])

# 8. device: onehot, unknown zeros
oh8 = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(cat(train, "device"))
stats["device"] = {"categories": list(oh8.categories_[0])}
tr, te = oh8.transform(cat(train, "device")), oh8.transform(cat(test, "device"))
for j, c in enumerate(oh8.categories_[0]):
    emit("device=" + c, tr[:, j], te[:, j])

# 9. country_ord: ordinal, unknown -1, missing NaN
oe = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(cat(train, "country"))
stats["country_ord"] = {"categories": [c for c in oe.categories_[0] if isinstance(c, str)]}
emit("country_ord", oe.transform(cat(train, "country")), oe.transform(cat(test, "country")))


# 10. device_h: hash 8; 11. cd: cross country x device, 16
def hashed(df, n, cols):
    out = np.zeros((len(df), n))
    for i in range(len(df)):
        vals = [df[c].iloc[i] for c in cols]
        if any(not isinstance(v, str) for v in vals):
            continue
        b = vals[0].encode()
        if len(vals) == 2:
            b += b"\xff" + vals[1].encode()
        out[i, fnv(b) % n] = 1
    return out


for name, n, cols in [("device_h", 8, ["device"]), ("cd", 16, ["country", "device"])]:
    tr, te = hashed(train, n, cols), hashed(test, n, cols)
    for j in range(n):
        emit(f"{name}#{j}", tr[:, j], te[:, j])


def write(path, mats):
    m = np.column_stack(mats)
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in m:
            fh.write(",".join(repr(float(x)) for x in row) + "\n")


write(f"{OUT}/train_out.csv", outs["train"])
write(f"{OUT}/test_out.csv", outs["test"])
with open(f"{OUT}/stats.json", "w") as fh:
    json.dump(stats, fh, indent=1, default=float)
    fh.write("\n")
print("wrote", OUT, len(names), "columns")

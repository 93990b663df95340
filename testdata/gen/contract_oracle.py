"""contract_oracle.py writes testdata/contract/: two files of rows and the
skew distances tools/contract must report between them, computed by scipy.

  base.csv       2,000 rows: amount (lognormal), country (6 values, skewed
                 shares), n (small ints).
  cur.csv        1,500 rows of the same columns, shifted: larger amounts,
                 other country shares, one new country.
  contract.yaml  a hand-shaped contract with a numeric profile on amount
                 (edges and proportions) and a categorical one on country.
  expected.json  the distances, by scipy 1.10:
                   js_profile   jensenshannon(profile proportions,
                                cur.csv's amounts binned on the edges, base=2)
                   js_against   jensenshannon(base.csv binned, cur.csv
                                binned, base=2)
                   linf_profile chebyshev(profile shares with other,
                                cur.csv's shares of the same values and other)
                   linf_against chebyshev over the union of values of the two
                                files' shares.
Bins are model.Distribution's: bin i holds edges[i-1] <= x < edges[i]
(numpy.searchsorted side='right').

Run with Debian's python3 (numpy, scipy) from the repository root:
    /usr/bin/python3 testdata/gen/contract_oracle.py
A rerun writes the same files (fixed seed).
"""
import json
import os

import numpy as np
from scipy.spatial import distance

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "contract")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(16)

EDGES = [5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
PROPS = [0.1, 0.15, 0.25, 0.3, 0.12, 0.05, 0.03]
VALUES = ["US", "DE", "FR"]
VPROPS = [0.5, 0.2, 0.15]
OTHER = 0.15


def rows(n, mu, countries, shares):
    amount = np.round(rng.lognormal(mu, 1.0, n), 2)
    country = rng.choice(countries, size=n, p=shares)
    k = rng.integers(0, 5, n)
    return amount, country, k


def write(path, amount, country, k):
    with open(path, "w") as f:
        f.write("amount,country,n\n")
        for a, c, x in zip(amount, country, k):
            f.write(f"{a!r},{c},{x}\n")


base = rows(2000, 3.0, ["US", "DE", "FR", "GB", "IT", "ES"], [0.5, 0.2, 0.15, 0.08, 0.05, 0.02])
cur = rows(1500, 3.4, ["US", "DE", "FR", "GB", "IT", "NL"], [0.35, 0.3, 0.1, 0.1, 0.1, 0.05])
write(os.path.join(out, "base.csv"), *base)
write(os.path.join(out, "cur.csv"), *cur)

# Parse the amounts back as written, so that both sides bin the same numbers.
def read_amounts(path):
    with open(path) as f:
        next(f)
        return np.array([float(l.split(",")[0]) for l in f])

def read_countries(path):
    with open(path) as f:
        next(f)
        return [l.split(",")[1] for l in f]

def binned(x):
    return np.bincount(np.searchsorted(EDGES, x, side="right"), minlength=len(EDGES) + 1)

def shares(values, keys):
    n = len(values)
    return np.array([sum(1 for v in values if v == k) / n for k in keys])

b_amt, c_amt = read_amounts(os.path.join(out, "base.csv")), read_amounts(os.path.join(out, "cur.csv"))
b_cty, c_cty = read_countries(os.path.join(out, "base.csv")), read_countries(os.path.join(out, "cur.csv"))

js_profile = distance.jensenshannon(PROPS, binned(c_amt), base=2)
js_against = distance.jensenshannon(binned(b_amt), binned(c_amt), base=2)
cur_known = shares(c_cty, VALUES)
linf_profile = distance.chebyshev(np.array(VPROPS + [OTHER]) / sum(VPROPS + [OTHER]), np.append(cur_known, 1 - cur_known.sum()))
union = sorted(set(b_cty) | set(c_cty))
linf_against = distance.chebyshev(shares(b_cty, union), shares(c_cty, union))

with open(os.path.join(out, "contract.yaml"), "w") as f:
    f.write(f"""# Written by testdata/gen/contract_oracle.py: the contract
# tools/contract's oracle test validates base.csv and cur.csv against.
unexpected_columns: error
columns:
  - name: amount
    type: float
    min: 0
    max: 2000
    profile:
      edges: {json.dumps(EDGES)}
      proportions: {json.dumps(PROPS)}
    jensen_shannon_max: 0.1
  - name: country
    type: string
    categories: [DE, ES, FR, GB, IT, US]
    profile:
      values: {json.dumps(VALUES)}
      proportions: {json.dumps(VPROPS)}
      other: {OTHER}
    l_infinity_max: 0.1
  - name: n
    type: int
    min: 0
    max: 4
""")

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"js_profile": float(js_profile), "js_against": float(js_against),
               "linf_profile": float(linf_profile), "linf_against": float(linf_against),
               "base_rows": len(b_amt), "cur_rows": len(c_amt),
               "cur_amount_over_max": int((c_amt > 2000).sum()),
               "cur_new_countries": int(sum(1 for c in c_cty if c == "NL"))}, f, indent=2)
    f.write("\n")
print(open(os.path.join(out, "expected.json")).read())

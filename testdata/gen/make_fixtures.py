#!/usr/bin/python3
"""Generate the oracle fixtures under testdata/ for predictd.

Run from the repository root with Debian's Python (it has the packages):

    /usr/bin/python3 testdata/gen/make_fixtures.py

Pinned library versions (the script refuses to run with others, because the
model files and predictions depend on them): xgboost 1.7.4, scikit-learn 1.2.1.
Everything is seeded, and training runs single-threaded, so rerunning produces
byte-identical files.

Outputs:
  testdata/xgboost/          XGBoost models + test rows + predictions (Part A),
                             including three categorical-split cases
  testdata/xgboost_holdout/  separately seeded XGBoost models (Part B)
  testdata/native/           scikit-learn linear / MLP models exported to the
                             native JSON schema + predictions (Part C)
"""

import json
import math
import os
import shutil
import sys
import warnings

import numpy as np
import sklearn
import xgboost as xgb
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

assert xgb.__version__ == "1.7.4", xgb.__version__
assert sklearn.__version__ == "1.2.1", sklearn.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
XGB_DIR = os.path.join(TESTDATA, "xgboost")
HOLDOUT_DIR = os.path.join(TESTDATA, "xgboost_holdout")
NATIVE_DIR = os.path.join(TESTDATA, "native")

NTHREAD = 1  # single-threaded training and prediction: reproducible output

# Diagnostics collected while verifying; printed at the end.
DIAG = {
    "dart_inplace_max_abs_diff": 0.0,
    # objective -> [values differing with the float32 recipe,
    #               values differing when computed in float64,
    #               max ulp distance of the float64 maths, total values]
    "transform_mismatch": {},
}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def f64(x):
    """Shortest round-trip text of a float64; NaN -> empty cell."""
    x = float(x)
    if math.isnan(x):
        return ""
    return repr(x)


def f32(x):
    """9 significant digits: round-trips any float32."""
    return "%.9g" % float(np.float32(x))


def write_lines(path, lines):
    with open(path, "w", newline="\n") as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")


def write_json(path, obj):
    with open(path, "w", newline="\n") as fh:
        json.dump(obj, fh, indent=1, sort_keys=False)
        fh.write("\n")


def write_features_csv(path, header, X):
    lines = [",".join(header)]
    for row in X:
        lines.append(",".join(f64(v) for v in row))
    write_lines(path, lines)


def read_csv(path):
    """Returns (header, float64 matrix); empty cell -> NaN."""
    with open(path) as fh:
        text = fh.read()
    assert text.endswith("\n") and "\r" not in text
    lines = text[:-1].split("\n")
    header = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        assert len(cells) == len(header), (path, line)
        rows.append([float(c) if c != "" else np.nan for c in cells])
    return header, np.array(rows, dtype=np.float64).reshape(len(rows), len(header))


def inject_nans(rng, X, frac):
    X = X.copy()
    mask = rng.random(X.shape) < frac
    X[mask] = np.nan
    return X


def jitter_resample(rng, X, n, scale=0.05):
    """n rows resampled from X with small Gaussian noise (per-feature std)."""
    idx = rng.integers(0, len(X), size=n)
    std = np.nanstd(X, axis=0)
    return X[idx] + rng.normal(size=(n, X.shape[1])) * std * scale


def sanitize(name):
    out = []
    for ch in name.strip().lower():
        out.append(ch if ch.isalnum() else "_")
    s = "".join(out)
    while "__" in s:
        s = s.replace("__", "_")
    return s.strip("_")


# --------------------------------------------------------------------------
# XGBoost model JSON helpers
# --------------------------------------------------------------------------

def model_trees(model):
    gb = model["learner"]["gradient_booster"]
    if gb["name"] == "gbtree":
        m = gb["model"]
        return m["trees"], m["tree_info"], None
    if gb["name"] == "dart":
        m = gb["gbtree"]["model"]
        return m["trees"], m["tree_info"], gb["weight_drop"]
    raise ValueError(gb["name"])


def collect_splits(model):
    """(feature, threshold float32, is_root) for every reachable numerical
    split node (categorical splits, split_type 1, have no threshold)."""
    trees, _, _ = model_trees(model)
    out = []
    for t in trees:
        left = t["left_children"]
        right = t["right_children"]
        stype = t.get("split_type") or [0] * len(left)
        stack = [0]
        while stack:
            nid = stack.pop()
            if left[nid] == -1:
                continue
            if stype[nid] == 0:
                out.append((t["split_indices"][nid], np.float32(t["split_conditions"][nid]), nid == 0))
            stack.append(left[nid])
            stack.append(right[nid])
    return out


def boundary_rows(rng, model, base_rows, n_rows):
    """Rows whose features sit exactly on / just around split thresholds.

    Each row starts from a random base row (random values, maybe NaNs) and
    then gets 1-3 features (distinct) set to a variant of a threshold t of
    that feature (t is the float32 threshold, as float64):
      exact t, nextafter64(t, -inf), nextafter64(t, +inf),
      nextafter32(t, -inf), nextafter32(t, +inf).
    Half the rows take their first split from the trees' root nodes.
    """
    splits = collect_splits(model)
    roots = [s for s in splits if s[2]]
    rows = []
    for r in range(n_rows):
        row = base_rows[rng.integers(0, len(base_rows))].copy()
        k = int(rng.integers(1, 4))
        used = set()
        for j in range(k):
            pool = roots if (j == 0 and r % 2 == 0 and roots) else splits
            feat, thr, _ = pool[rng.integers(0, len(pool))]
            if feat in used:
                continue
            used.add(feat)
            t64 = float(thr)
            variant = (r + j) % 5
            if variant == 0:
                v = t64
            elif variant == 1:
                v = float(np.nextafter(t64, -np.inf))
            elif variant == 2:
                v = float(np.nextafter(t64, np.inf))
            elif variant == 3:
                v = float(np.nextafter(thr, np.float32(-np.inf)))
            else:
                v = float(np.nextafter(thr, np.float32(np.inf)))
            row[feat] = v
        rows.append(row)
    return np.array(rows)


# XGBoost 1.7.4 rejects categories >= this (InvalidCat); the predictor sends
# them left, like negative values.
CAT_LIMIT32 = np.float32(2 ** 24)


def tree_cat_sets(tree):
    """node id -> frozenset of categories for categorical (split_type 1) nodes."""
    cats = tree.get("categories") or []
    nodes = tree.get("categories_nodes") or []
    segs = tree.get("categories_segments") or []
    sizes = tree.get("categories_sizes") or []
    assert len(nodes) == len(segs) == len(sizes)
    out = {}
    for nid, beg, size in zip(nodes, segs, sizes):
        out[int(nid)] = frozenset(int(c) for c in cats[int(beg):int(beg) + int(size)])
    stype = tree.get("split_type") or []
    assert sorted(out) == [i for i, t in enumerate(stype) if t == 1], "categories_nodes"
    return out


def cat_goes_right(v32, catset):
    """XGBoost 1.7.4 at a categorical node, v32 a non-NaN float32: right iff
    the truncated value is in the node's set; negative (v < 0; -0.0 is 0),
    >= 2^24, fractional-truncated-out-of-set and past-the-bitset values all go
    left (default_left only matters for NaN)."""
    if v32 < 0 or v32 >= CAT_LIMIT32:
        return False
    return int(v32) in catset   # int() truncates toward zero, like static_cast


def ref_tree_leaves(tree, X32, stats=None):
    """Leaf value reached by every row of X32 (float32), numpy reference.

    stats (dict, optional) counts, for categorical nodes visited with a
    non-NaN value that is not in the node's set, how often default_left was
    0 (so "left" and "default direction" differ), keyed by the value's kind.
    """
    left = np.array(tree["left_children"], dtype=np.int64)
    right = np.array(tree["right_children"], dtype=np.int64)
    cond = np.array(tree["split_conditions"], dtype=np.float32)
    sidx = np.array(tree["split_indices"], dtype=np.int64)
    dleft = np.array(tree["default_left"], dtype=np.int64)
    n = len(X32)
    nodes = np.zeros(n, dtype=np.int64)
    ar = np.arange(n)
    catsets = tree_cat_sets(tree) if "split_type" in tree else {}
    for _ in range(1000):
        is_leaf = left[nodes] == -1
        if is_leaf.all():
            break
        f = np.where(is_leaf, 0, sidx[nodes])
        v = X32[ar, f]
        with np.errstate(invalid="ignore"):   # NaN thresholds of categorical nodes
            nxt = np.where(np.isnan(v),
                           np.where(dleft[nodes] == 1, left[nodes], right[nodes]),
                           np.where(v < cond[nodes], left[nodes], right[nodes]))
        for r in np.nonzero(~is_leaf)[0] if catsets else ():
            nid = int(nodes[r])
            if nid not in catsets or np.isnan(v[r]):
                continue
            right_ = cat_goes_right(v[r], catsets[nid])
            nxt[r] = right[nid] if right_ else left[nid]
            if stats is not None and not right_:
                key = cat_value_kind(v[r], catsets[nid])
                k = stats.setdefault(key, [0, 0])
                k[int(dleft[nid] == 0)] += 1
        nodes = np.where(is_leaf, nodes, nxt)
    else:
        raise RuntimeError("tree too deep")
    return cond[nodes]


def cat_value_kind(v32, catset):
    """Classifies a non-NaN float32 value sent left at a categorical node."""
    if v32 < 0:
        return "negative"
    if v32 != np.floor(v32):
        return "fractional"
    top = max(catset)
    words = (top + 1 + 31) // 32
    if v32 > top:
        return "above_max_in_bitset" if v32 < 32 * words else "past_bitset"
    return "not_in_set"


def base_margin32(objective, base_score):
    """base_score -> margin, in float32 as XGBoost 1.7 does (ProbToMargin)."""
    # 1/b - 1 is evaluated in float32; the log itself must be accurate (glibc
    # logf is correctly rounded here; numpy's float32 log is NOT: it gives
    # -0.8472978 instead of -0.84729785 for b=0.3), so take it in float64.
    b = np.float32(base_score)
    if objective in ("binary:logistic", "reg:logistic"):
        t = np.float32(np.float32(1.0) / b - np.float32(1.0))
        return np.float32(-math.log(float(t)))
    if objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        return np.float32(math.log(float(b)))
    return b


def ref_margins(model, X, dart_variant="dmatrix", stats=None):
    """Reference margins (float32), sequential float32 accumulation.

    gbtree:               m = base; m += leaf            (tree order)
    dart, DMatrix predict: m = base; m += leaf * w
    dart, inplace_predict: m = base; m += ((base + leaf) - base) * w
    """
    lmp = model["learner"]["learner_model_param"]
    objective = model["learner"]["objective"]["name"]
    n_groups = max(1, int(lmp["num_class"]))
    base = base_margin32(objective, float(lmp["base_score"]))
    trees, tree_info, weights = model_trees(model)
    X32 = X.astype(np.float32)
    out = np.full((len(X), n_groups), base, dtype=np.float32)
    for i, t in enumerate(trees):
        g = tree_info[i]
        leaf = ref_tree_leaves(t, X32, stats)
        if weights is None:
            out[:, g] = out[:, g] + leaf
        else:
            w = np.float32(weights[i])
            if dart_variant == "dmatrix":
                out[:, g] = out[:, g] + leaf * w
            else:
                out[:, g] = out[:, g] + ((base + leaf) - base) * w
    return out


def _exp32(x):
    """expf as glibc computes it (almost always): exp in float64, rounded."""
    x = np.asarray(x, dtype=np.float32)
    return np.array([np.float32(math.exp(float(v))) for v in x.ravel()],
                    dtype=np.float32).reshape(x.shape)


def transform_recipe(objective, margins, f64=False):
    """Output transform of XGBoost 1.7.

    f64=False: the float32 recipe XGBoost uses
        sigmoid:  1.0f / (1.0f + expf(-m))
        exp:      expf(m)
        softmax:  e_k = expf(m_k - max_k m); p_k = e_k / (float)(sum_k e_k in double)
        softmax (class): argmax (first maximum)
    f64=True: the same maths in float64, rounded to float32 only at the end.
    """
    m = np.asarray(margins, dtype=np.float32).reshape(len(margins), -1)
    one = np.float32(1.0)
    if objective in ("binary:logistic", "reg:logistic"):
        if f64:
            r = (1.0 / (1.0 + np.exp(-m.astype(np.float64)))).astype(np.float32)
        else:
            r = one / (one + _exp32(-m))
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        r = np.exp(m.astype(np.float64)).astype(np.float32) if f64 else _exp32(m)
    elif objective == "multi:softprob":
        if f64:
            m64 = m.astype(np.float64)
            e = np.exp(m64 - m64.max(axis=1, keepdims=True))
            r = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        else:
            e = _exp32(m - m.max(axis=1, keepdims=True))
            r = e / e.astype(np.float64).sum(axis=1, keepdims=True).astype(np.float32)
    elif objective == "multi:softmax":
        r = np.argmax(m, axis=1).astype(np.float32)
    else:
        r = m
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    return r


def ulp_diff32(a, b):
    """Distance in float32 units-in-the-last-place (finite, same-sign values)."""
    ia = np.asarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
    ib = np.asarray(b, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.abs(ia - ib)


# --------------------------------------------------------------------------
# XGBoost case writer
# --------------------------------------------------------------------------

def pred_header(prefix, arr):
    if arr.ndim == 1:
        return [prefix]
    return ["%s%d" % (prefix, k) for k in range(arr.shape[1])]


def pred_lines(prefix, arr):
    lines = [",".join(pred_header(prefix, arr))]
    if arr.ndim == 1:
        lines += [f32(v) for v in arr]
    else:
        lines += [",".join(f32(v) for v in row) for row in arr]
    return lines


def train_phases(params, dtrain, phases):
    """phases: list of (extra_params, rounds) trained one after another."""
    booster = None
    for extra, rounds in phases:
        p = dict(params)
        p.update(extra)
        booster = xgb.train(p, dtrain, num_boost_round=rounds, xgb_model=booster)
    return booster


def make_xgb_case(out_dir, name, spec, rng):
    """Train, save and verify one XGBoost case. Returns its cases.json entry."""
    Xtr, ytr, Xte = spec["X_train"], spec["y_train"], spec["X_test"]
    names = spec.get("feature_names")
    nfeat = Xtr.shape[1]
    params = {
        "nthread": NTHREAD,
        "seed": int(spec["seed"]),
        "verbosity": 1,
    }
    params.update(spec["params"])
    objective = params["objective"]
    # Categorical cases: feature_types "c"/"q" + enable_categorical, for the
    # training and for the test DMatrix alike.
    ftypes = spec.get("feature_types")
    dm_kw = {"feature_types": ftypes, "enable_categorical": True} if ftypes else {}
    dtrain = xgb.DMatrix(Xtr, label=ytr, missing=np.nan, feature_names=names, **dm_kw)
    phases = spec.get("phases") or [({}, spec["rounds"])]
    booster = train_phases(params, dtrain, phases)

    model_path = os.path.join(out_dir, name + ".json")
    booster.save_model(model_path)
    with open(model_path) as fh:
        model = json.load(fh)

    # Test rows: random rows + boundary rows derived from the model's splits.
    n_boundary = spec.get("boundary_rows", 50)
    if n_boundary:
        Xb = boundary_rows(rng, model, Xte, n_boundary)
        Xall = np.vstack([Xte, Xb])
    else:
        Xall = Xte
    header = list(names) if names else ["f%d" % i for i in range(nfeat)]
    csv_path = os.path.join(out_dir, name + ".csv")
    write_features_csv(csv_path, header, Xall)

    dtest = xgb.DMatrix(Xall, missing=np.nan, feature_names=names, **dm_kw)
    pred = booster.predict(dtest)
    margin = booster.predict(dtest, output_margin=True)
    booster.set_param({"nthread": NTHREAD})
    ip_pred = booster.inplace_predict(Xall, missing=np.nan)
    ip_margin = booster.inplace_predict(Xall, missing=np.nan, predict_type="margin")
    assert pred.dtype == np.float32 and margin.dtype == np.float32
    assert ip_pred.shape == pred.shape and ip_margin.shape == margin.shape
    is_dart = params.get("booster") == "dart"
    if not is_dart:
        assert np.array_equal(pred, ip_pred), name
        assert np.array_equal(margin, ip_margin), name
    else:
        # DART: inplace_predict accumulates ((base+leaf)-base)*w, DMatrix
        # predict leaf*w, so they may differ in the last float32 bits.
        d = float(np.max(np.abs(margin.astype(np.float64) - ip_margin)))
        DIAG["dart_inplace_max_abs_diff"] = max(DIAG["dart_inplace_max_abs_diff"], d)
        assert np.allclose(margin, ip_margin, rtol=1e-5, atol=1e-5), (name, d)
        assert np.allclose(pred, ip_pred, rtol=1e-5, atol=1e-5), name
        assert np.array_equal(ref_margins(model, Xall, "inplace").reshape(ip_margin.shape), ip_margin), name

    # Independent numpy reference from the JSON: margins must be bit-exact.
    cat_stats = {}
    ref = ref_margins(model, Xall, "dmatrix", cat_stats).reshape(margin.shape)
    assert np.array_equal(ref, margin), name
    tf32 = transform_recipe(objective, ref).reshape(pred.shape)
    tf64 = transform_recipe(objective, ref, f64=True).reshape(pred.shape)
    assert np.max(ulp_diff32(tf32, pred)) <= 1, name
    assert np.allclose(tf64, pred, rtol=1e-5, atol=0), name
    acc = DIAG["transform_mismatch"].setdefault(objective, [0, 0, 0, 0])
    acc[0] += int(np.sum(tf32 != pred))
    acc[1] += int(np.sum(tf64 != pred))
    acc[2] = max(acc[2], int(np.max(ulp_diff32(tf64, pred))))
    acc[3] += int(pred.size)

    write_lines(os.path.join(out_dir, name + ".pred.csv"), pred_lines("p", pred))
    write_lines(os.path.join(out_dir, name + ".margin.csv"), pred_lines("m", margin))

    # Sanity of what the case is supposed to exercise.
    trees, _, weights = model_trees(model)
    if is_dart:
        assert any(w != 1.0 for w in weights), name + ": all weight_drop == 1"
    for feat in spec.get("unused_features", []):
        assert feat not in {s[0] for s in collect_splits(model)}, name
    if spec.get("expect_single_leaf"):
        roots = [t["left_children"][0] == -1 for t in trees]
        assert any(roots) and not roots[-1], name
        assert any(int(t["tree_param"]["num_deleted"]) > 0 for t in trees), name
    if ftypes:
        check_categorical_case(name, spec, model, cat_stats)

    lmp = model["learner"]["learner_model_param"]
    num_class = int(lmp["num_class"])
    assert int(lmp["num_feature"]) == nfeat
    entry = {
        "name": name,
        "booster": params.get("booster", "gbtree"),
        "objective": objective,
        "num_class": num_class,
        "num_features": nfeat,
        "feature_names": bool(names),
        "base_score": float(lmp["base_score"]),
        "num_trees": len(trees),
        "rows": int(len(Xall)),
        "boundary_rows": int(n_boundary),
    }
    if ftypes:
        entry["categorical"] = True
    return entry


def check_categorical_case(name, spec, model, cat_stats):
    """The saved model really has categorical splits of the intended kind, and
    the test rows reach categorical nodes with default_left 0 carrying values
    outside the node's set (there "left" and "default direction" differ)."""
    ftypes = spec["feature_types"]
    assert model["learner"]["feature_types"] == ftypes, name
    trees, _, _ = model_trees(model)
    sets = []
    for t in trees:
        for nid, cs in tree_cat_sets(t).items():
            assert ftypes[t["split_indices"][nid]] == "c", name
            assert math.isnan(t["split_conditions"][nid]), name
            sets.append(cs)
    assert sets and all(sets), name
    kind = spec["cat_split_kind"]
    if kind == "onehot":
        assert all(len(cs) == 1 for cs in sets), name
    else:
        assert any(len(cs) > 1 for cs in sets), name
    if spec.get("cat_multiword"):
        assert any(max(cs) >= 32 for cs in sets), name + ": no set spans 2 words"
    for key in ("negative", "fractional", "not_in_set", "above_max_in_bitset", "past_bitset"):
        assert cat_stats.get(key, [0, 0])[1] > 0, (name, key, cat_stats)
    DIAG.setdefault("categorical", {})[name] = (
        len(sets), sum(len(cs) for cs in sets), max(max(cs) for cs in sets),
        {k: v[1] for k, v in sorted(cat_stats.items())})


def verify_xgb_dir(out_dir):
    """Read everything back from disk and recompute with a fresh Booster."""
    with open(os.path.join(out_dir, "cases.json")) as fh:
        cases = json.load(fh)
    for c in cases:
        name = c["name"]
        booster = xgb.Booster(model_file=os.path.join(out_dir, name + ".json"))
        booster.set_param({"nthread": NTHREAD})
        header, X = read_csv(os.path.join(out_dir, name + ".csv"))
        assert len(header) == c["num_features"] and len(X) == c["rows"]
        names = header if c["feature_names"] else None
        if names:
            assert booster.feature_names == names, name
        else:
            assert booster.feature_names is None, name
        if c.get("categorical"):
            ftypes = booster.feature_types
            assert "c" in ftypes, name
            d = xgb.DMatrix(X, missing=np.nan, feature_names=names,
                            feature_types=ftypes, enable_categorical=True)
        else:
            d = xgb.DMatrix(X, missing=np.nan, feature_names=names)
        pred = booster.predict(d)
        margin = booster.predict(d, output_margin=True)
        ph, P = read_csv(os.path.join(out_dir, name + ".pred.csv"))
        mh, M = read_csv(os.path.join(out_dir, name + ".margin.csv"))
        assert ph == pred_header("p", pred) and mh == pred_header("m", margin), name
        assert np.array_equal(P.astype(np.float32).reshape(pred.shape), pred), name
        assert np.array_equal(M.astype(np.float32).reshape(margin.shape), margin), name
        # CSV text carried the exact float64 values
        assert np.isnan(X).sum() > 0, name
        with open(os.path.join(out_dir, name + ".json")) as fh:
            model = json.load(fh)
        assert len(model_trees(model)[0]) == c["num_trees"]
        ref = ref_margins(model, X).reshape(margin.shape)
        assert np.array_equal(ref, margin), name
    return len(cases)


# --------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------

def data_breast_cancer(rng, cols, n_test):
    ds = datasets.load_breast_cancer()
    X = ds.data[:, cols]
    names = [sanitize(ds.feature_names[c]) for c in cols]
    idx = rng.permutation(len(X))
    te, tr = idx[:n_test], idx[n_test:]
    return X[tr], ds.target[tr].astype(float), X[te], names


def data_diabetes(rng, n_test):
    ds = datasets.load_diabetes()
    names = [sanitize(n) for n in ds.feature_names]
    Xte = jitter_resample(rng, ds.data, n_test)
    return ds.data, ds.target.astype(float), Xte, names


def data_wine(rng, ncols, n_test):
    ds = datasets.load_wine()
    X = ds.data[:, :ncols]
    names = [sanitize(n) for n in ds.feature_names[:ncols]]
    Xte = jitter_resample(rng, X, n_test)
    return X, ds.target.astype(float), Xte, names


def synth_linear(rng, n, nfeat):
    X = rng.normal(size=(n, nfeat)) * rng.uniform(0.5, 3.0, size=nfeat) + rng.normal(size=nfeat)
    beta = rng.normal(size=nfeat) / np.sqrt(nfeat)
    z = ((X - X.mean(0)) / X.std(0)) @ beta
    return X, z


CUSTOMER_NAMES = ["age", "income", "tenure_months", "num_purchases", "avg_basket",
                  "days_since_last", "support_calls", "discount_rate", "pages_viewed",
                  "credit_score", "household_size", "distance_km"]


def xgb_specs_part_a(seed):
    """The 20 objective x booster cases plus the special ones."""
    rng = np.random.default_rng(seed)
    n_test = 200
    objectives = [
        "binary:logistic", "binary:logitraw", "reg:squarederror", "reg:logistic",
        "reg:pseudohubererror", "count:poisson", "reg:gamma", "reg:tweedie",
        "multi:softprob", "multi:softmax",
    ]
    nondefault_base = {
        "binary:logistic": 0.3, "binary:logitraw": 0.3, "reg:squarederror": 140.0,
        "reg:logistic": 0.3, "reg:pseudohubererror": 2.0, "count:poisson": 2.0,
        "reg:gamma": 2.0, "reg:tweedie": 1.5, "multi:softprob": 0.3, "multi:softmax": 0.3,
    }
    tree_methods = ["hist", "exact", "approx"]
    specs = []
    for i, obj in enumerate(objectives):
        drng = np.random.default_rng(seed * 100 + i)
        extra = {}
        if obj == "binary:logistic":
            Xtr, ytr, Xte, real_names = data_breast_cancer(drng, list(range(10)), n_test)
        elif obj == "binary:logitraw":
            X, y = datasets.make_classification(
                n_samples=1000 + n_test, n_features=8, n_informative=5, n_redundant=1,
                random_state=seed + i)
            X = X * drng.uniform(1, 50, size=8) + drng.uniform(0, 100, size=8)
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000].astype(float), X[1000:], CUSTOMER_NAMES[:8]
        elif obj == "reg:squarederror":
            Xtr, ytr, Xte, real_names = data_diabetes(drng, n_test)
        elif obj == "reg:logistic":
            X, z = synth_linear(drng, 1000 + n_test, 6)
            y = 1.0 / (1.0 + np.exp(-(2.0 * z + 0.3 * drng.normal(size=len(z)))))
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000], X[1000:], CUSTOMER_NAMES[:6]
        elif obj == "reg:pseudohubererror":
            X, y = datasets.make_regression(n_samples=1000 + n_test, n_features=7, n_informative=5,
                                            noise=5.0, random_state=seed + i)
            y = y / 60.0 + 2.0
            out = drng.random(len(y)) < 0.03
            y[out] += drng.normal(size=out.sum()) * 20.0
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000], X[1000:], CUSTOMER_NAMES[:7]
        elif obj == "count:poisson":
            X, z = synth_linear(drng, 1000 + n_test, 5)
            y = drng.poisson(np.exp(0.8 * z + 0.7)).astype(float)
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000], X[1000:], CUSTOMER_NAMES[:5]
            extra = {"max_delta_step": 0.7}
        elif obj == "reg:gamma":
            X, z = synth_linear(drng, 1000 + n_test, 9)
            mu = np.exp(0.7 * z + 0.8)
            y = drng.gamma(2.0, mu / 2.0)
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000], X[1000:], CUSTOMER_NAMES[:9]
        elif obj == "reg:tweedie":
            X, z = synth_linear(drng, 1000 + n_test, 6)
            lam = np.exp(0.6 * z - 0.2)
            counts = drng.poisson(lam)
            y = np.array([drng.gamma(2.0, 1.5, size=c).sum() for c in counts])
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000], X[1000:], CUSTOMER_NAMES[:6]
            extra = {"tweedie_variance_power": 1.5}
        elif obj == "multi:softprob":
            X, y = datasets.make_classification(
                n_samples=1000 + n_test, n_features=10, n_informative=6, n_redundant=2,
                n_classes=4, n_clusters_per_class=1, random_state=seed + i)
            Xtr, ytr, Xte, real_names = X[:1000], y[:1000].astype(float), X[1000:], CUSTOMER_NAMES[:10]
            extra = {"num_class": 4}
        elif obj == "multi:softmax":
            Xtr, ytr, Xte, real_names = data_wine(drng, 12, n_test)
            extra = {"num_class": 3}
        else:
            raise AssertionError(obj)
        Xtr = inject_nans(drng, Xtr, 0.10)
        Xte = inject_nans(drng, Xte, 0.10)
        for b, booster in enumerate(["gbtree", "dart"]):
            named = (i % 2 == 0) if booster == "gbtree" else (i % 2 == 1)
            custom_base = (i % 4 in (0, 1)) if booster == "gbtree" else (i % 4 in (2, 3))
            params = {
                "objective": obj,
                "booster": booster,
                "max_depth": 3 + (i + b) % 3,
                "eta": [0.3, 0.2, 0.1][(i + 2 * b) % 3],
                "tree_method": tree_methods[(i + b) % 3],
            }
            params.update(extra)
            if custom_base:
                params["base_score"] = nondefault_base[obj]
            if (i + b) % 2 == 1:
                params["subsample"] = 0.8
                params["colsample_bytree"] = 0.9
            if booster == "dart":
                params["rate_drop"] = [0.1, 0.2, 0.3][i % 3]
                params["skip_drop"] = 0.0
            specs.append((
                "%s_%s" % (booster, obj.replace(":", "_")),
                {
                    "X_train": Xtr, "y_train": ytr, "X_test": Xte,
                    "feature_names": list(real_names) if named else None,
                    "params": params,
                    "rounds": 12 + ((3 * i + 7 * b) % 28),
                    "seed": seed + 10 * i + b,
                },
            ))

    # Benchmark: 300 trees, depth 6, 20 features, 2000 rows, no boundary rows.
    X, y = datasets.make_classification(n_samples=6000, n_features=20, n_informative=12,
                                        n_redundant=4, flip_y=0.05, random_state=seed + 77)
    brng = np.random.default_rng(seed + 77)
    specs.append(("gbtree_binary_logistic_300x6", {
        "X_train": inject_nans(brng, X[:4000], 0.10), "y_train": y[:4000].astype(float),
        "X_test": inject_nans(brng, X[4000:], 0.10),
        "feature_names": None,
        "params": {"objective": "binary:logistic", "booster": "gbtree", "max_depth": 6,
                   "eta": 0.1, "tree_method": "hist"},
        "rounds": 300, "seed": seed + 77, "boundary_rows": 0,
    }))

    # Single-leaf trees: normal rounds, then rounds with a huge gamma (root is
    # kept as a leaf with a non-zero value and the pruned nodes stay in the
    # arrays, marked deleted), then with a huge min_child_weight (a 1-node tree
    # with leaf 0), then normal rounds again.
    srng = np.random.default_rng(seed + 88)
    X, z = synth_linear(srng, 800 + n_test, 6)
    y = (z + 0.5 * srng.normal(size=len(z)) > 0).astype(float)
    specs.append(("gbtree_single_leaf_trees", {
        "X_train": inject_nans(srng, X[:800], 0.10), "y_train": y[:800],
        "X_test": inject_nans(srng, X[800:], 0.10),
        "feature_names": CUSTOMER_NAMES[:6],
        "params": {"objective": "binary:logistic", "booster": "gbtree", "max_depth": 4,
                   "eta": 0.3, "tree_method": "exact", "base_score": 0.3},
        # (parameters stick to a booster across xgb.train calls: reset them)
        "phases": [({}, 6), ({"gamma": 1e9}, 3), ({"gamma": 0.0, "min_child_weight": 1e9}, 2),
                   ({"gamma": 0.0, "min_child_weight": 1.0}, 6)],
        "seed": seed + 88, "expect_single_leaf": True,
    }))

    # A feature that never appears in a split: the last column is constant in
    # training (test rows give it random values); num_feature still counts it.
    urng = np.random.default_rng(seed + 99)
    X, z = synth_linear(urng, 800 + n_test, 6)
    y = 3.0 * z + urng.normal(size=len(z)) + 10.0
    X[:800, 5] = 1.0
    specs.append(("gbtree_unused_feature", {
        "X_train": inject_nans(urng, X[:800], 0.10), "y_train": y[:800],
        "X_test": inject_nans(urng, X[800:], 0.10),
        "feature_names": None,
        "params": {"objective": "reg:squarederror", "booster": "gbtree", "max_depth": 4,
                   "eta": 0.3, "tree_method": "hist"},
        "rounds": 20, "seed": seed + 99, "unused_features": [5],
    }))

    specs += xgb_specs_categorical(seed)
    return specs


# --------------------------------------------------------------------------
# Categorical cases (Part A)
# --------------------------------------------------------------------------

def cat_special_values(seen):
    """Test values for a categorical feature whose training codes are `seen`.

    seen categories; codes in [0, max seen] never seen in training; codes
    above the largest seen one (in and past a 1- or 2-word bitset, up to and
    past 2^24); fractional values (truncated) including float64 values that
    round to an integer, or just below it, in float32; NaN; negatives,
    including -0.0 and float64 values that round to -0.0 in float32."""
    seen = sorted(int(c) for c in seen)
    top = seen[-1]
    unseen = [c for c in range(top + 1) if c not in seen]
    above = sorted({top + 1, top + 2, 31, 32, 33, 40, 45, 63, 64, 65, 100, 127, 128,
                    255, 256, 1000, 16777215, 16777216})
    above = [float(c) for c in above if c > top] + [1e10]
    mid = seen[len(seen) // 2]
    frac = [0.25, 0.999, 3.7, mid + 0.5, top + 0.9,
            float(np.nextafter(float(mid), -np.inf)),            # float32: mid
            float(np.nextafter(np.float32(mid), np.float32(-np.inf))),  # float32: < mid
            float(seen[1]) - 1e-9]                               # float32: seen[1]
    neg = [-1.0, -2.0, -0.5, -0.0, -1e-300,                      # -1e-300 -> float32 -0.0
           float(np.nextafter(np.float32(0), np.float32(-np.inf))), -100.0]
    vals = [float(c) for c in seen] + [float(c) for c in unseen] + above + frac + [np.nan] + neg
    return vals


def cat_test_rows(rng, draw, cat_cols, seen, reps, n_pairs):
    """Rows from draw(n) (random rows, NaNs included) with one categorical
    feature set to each special value (reps times, on different base rows),
    then n_pairs rows with two categorical features set to special values."""
    specials = {j: cat_special_values(seen[j]) for j in cat_cols}
    rows = []
    for _ in range(reps):
        for j in cat_cols:
            base = draw(len(specials[j]))
            for row, v in zip(base, specials[j]):
                row[j] = v
                rows.append(row)
    if n_pairs and len(cat_cols) >= 2:
        base = draw(n_pairs)
        for row in base:
            for j in cat_cols[:2]:
                row[j] = specials[j][rng.integers(0, len(specials[j]))]
            rows.append(row)
    return np.array(rows)


def xgb_specs_categorical(seed):
    """Categorical splits: hist + enable_categorical, numpy DMatrix with
    feature_types. Test rows: random rows, then the special categorical rows
    (cat_test_rows), then boundary rows on numerical thresholds."""
    specs = []

    def codes(rng, seen, n):
        return rng.choice(np.array(sorted(seen), dtype=np.float64), size=n)

    # 1. binary:logistic, partition splits; 12 and 40 categories.
    r = np.random.default_rng(seed + 111)
    seen_region = [c for c in range(12) if c not in (4, 9)]
    seen_product = [c for c in range(40) if c not in (7, 20, 33)]
    eff_region = r.normal(size=12) * 1.2
    eff_product = r.normal(size=40) * 1.0
    ftypes = ["c", "q", "c", "q", "q"]

    def draw1(n, nan=0.10):
        X = np.column_stack([codes(r, seen_region, n), r.normal(size=n) * 2 + 5,
                             codes(r, seen_product, n), r.gamma(2.0, 30.0, size=n),
                             r.poisson(4.0, size=n).astype(float)])
        return inject_nans(r, X, nan)

    Xtr = draw1(3000, 0.0)
    z = (eff_region[Xtr[:, 0].astype(int)] + eff_product[Xtr[:, 2].astype(int)]
         + 0.4 * (Xtr[:, 1] - 5) - 0.01 * (Xtr[:, 3] - 60) + 0.1 * (Xtr[:, 4] - 4))
    ytr = (z + r.logistic(size=len(z)) * 0.7 > 0).astype(float)
    Xtr = inject_nans(r, Xtr, 0.10)
    Xte = np.vstack([draw1(102), cat_test_rows(r, draw1, [0, 2],
                                               {0: seen_region, 2: seen_product}, 1, 0)])
    specs.append(("gbtree_cat_partition_binary_logistic", {
        "X_train": Xtr, "y_train": ytr, "X_test": Xte,
        "feature_names": ["region", "tenure_years", "product", "spend", "visits"],
        "feature_types": ftypes, "cat_split_kind": "partition", "cat_multiword": True,
        "params": {"objective": "binary:logistic", "booster": "gbtree", "max_depth": 4,
                   "eta": 0.3, "tree_method": "hist", "max_cat_to_onehot": 1},
        "rounds": 20, "seed": seed + 111, "boundary_rows": 30,
    }))

    # 2. reg:squarederror, one categorical feature with 5 categories (codes
    #    0,1,2,4,6) and max_cat_to_onehot 10: one-hot splits (1-category sets).
    r = np.random.default_rng(seed + 122)
    seen_c = [0, 1, 2, 4, 6]
    eff_c = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 0.0, -1.0]) * 3.0
    ftypes = ["q", "c", "q"]

    def draw2(n, nan=0.10):
        X = np.column_stack([r.normal(size=n) * 10, codes(r, seen_c, n), r.uniform(-1, 1, size=n)])
        return inject_nans(r, X, nan)

    Xtr = draw2(1500, 0.0)
    ytr = (eff_c[Xtr[:, 1].astype(int)] + 0.3 * Xtr[:, 0] + 4 * Xtr[:, 2] ** 2
           + r.normal(size=1500) + 20.0)
    Xtr = inject_nans(r, Xtr, 0.10)
    Xte = np.vstack([draw2(136), cat_test_rows(r, draw2, [1], {1: seen_c}, 2, 0)])
    specs.append(("gbtree_cat_onehot_reg_squarederror", {
        "X_train": Xtr, "y_train": ytr, "X_test": Xte,
        "feature_names": None,
        "feature_types": ftypes, "cat_split_kind": "onehot",
        "params": {"objective": "reg:squarederror", "booster": "gbtree", "max_depth": 3,
                   "eta": 0.3, "tree_method": "hist", "max_cat_to_onehot": 10},
        "rounds": 25, "seed": seed + 122, "boundary_rows": 30,
    }))

    # 3. dart multi:softprob, 3 classes; "color" has 3 categories (< 4 =
    #    max_cat_to_onehot: one-hot), "shop" 36 codes, 31 seen (partition).
    r = np.random.default_rng(seed + 133)
    seen_color = [0, 1, 2]
    seen_shop = [c for c in range(36) if c not in (3, 11, 17, 26, 30)]
    eff_color = r.normal(size=(3, 3)) * 1.5
    eff_shop = r.normal(size=(36, 3)) * 1.2
    ftypes = ["c", "q", "c", "q", "q"]

    def draw3(n, nan=0.10):
        X = np.column_stack([codes(r, seen_color, n), r.normal(size=n),
                             codes(r, seen_shop, n), r.normal(size=n) * 3,
                             r.uniform(0, 10, size=n)])
        return inject_nans(r, X, nan)

    Xtr = draw3(2500, 0.0)
    logits = (eff_color[Xtr[:, 0].astype(int)] + eff_shop[Xtr[:, 2].astype(int)]
              + np.outer(Xtr[:, 1], [0.8, -0.4, 0.0]) + np.outer(Xtr[:, 4] - 5, [0.0, 0.2, -0.2]))
    g = logits + r.gumbel(size=logits.shape)
    ytr = np.argmax(g, axis=1).astype(float)
    Xtr = inject_nans(r, Xtr, 0.10)
    Xte = np.vstack([draw3(84), cat_test_rows(r, draw3, [0, 2],
                                              {0: seen_color, 2: seen_shop}, 1, 30)])
    specs.append(("dart_cat_partition_multi_softprob", {
        "X_train": Xtr, "y_train": ytr, "X_test": Xte,
        "feature_names": ["color", "x_a", "shop", "x_b", "x_c"],
        "feature_types": ftypes, "cat_split_kind": "partition",
        "params": {"objective": "multi:softprob", "num_class": 3, "booster": "dart",
                   "max_depth": 4, "eta": 0.3, "tree_method": "hist", "max_cat_to_onehot": 4,
                   "rate_drop": 0.2, "skip_drop": 0.0},
        "rounds": 15, "seed": seed + 133, "boundary_rows": 30,
    }))
    return specs


def xgb_specs_holdout(seed):
    n_test = 200
    specs = []

    # 1. deep trees, many rounds
    X, y = datasets.make_friedman1(n_samples=2000 + n_test, n_features=10, noise=0.5,
                                   random_state=seed + 1)
    r = np.random.default_rng(seed + 1)
    specs.append(("gbtree_reg_squarederror_depth8", {
        "X_train": inject_nans(r, X[:2000], 0.10), "y_train": y[:2000],
        "X_test": inject_nans(r, X[2000:], 0.10),
        "feature_names": ["sensor_%02d" % k for k in range(10)],
        "params": {"objective": "reg:squarederror", "max_depth": 8, "eta": 0.1,
                   "tree_method": "hist", "min_child_weight": 5, "base_score": 14.0},
        "rounds": 100, "seed": seed + 1,
    }))

    # 2. gamma
    r = np.random.default_rng(seed + 2)
    X, z = synth_linear(r, 1500 + n_test, 8)
    y = r.gamma(1.5, np.exp(0.5 * z + 1.5) / 1.5)
    specs.append(("gbtree_reg_gamma_exact", {
        "X_train": inject_nans(r, X[:1500], 0.10), "y_train": y[:1500],
        "X_test": inject_nans(r, X[1500:], 0.10), "feature_names": None,
        "params": {"objective": "reg:gamma", "max_depth": 5, "eta": 0.15,
                   "tree_method": "exact", "base_score": 4.0},
        "rounds": 60, "seed": seed + 2,
    }))

    # 3/4. tweedie with variance powers 1.2 and 1.8
    for k, (power, booster) in enumerate([(1.2, "gbtree"), (1.8, "dart")]):
        r = np.random.default_rng(seed + 3 + k)
        X, z = synth_linear(r, 1500 + n_test, 7)
        counts = r.poisson(np.exp(0.7 * z - 0.5))
        y = np.array([r.gamma(1.2, 3.0, size=c).sum() for c in counts])
        params = {"objective": "reg:tweedie", "booster": booster, "max_depth": 4 + k,
                  "eta": 0.1, "tree_method": "approx", "tweedie_variance_power": power}
        if booster == "dart":
            params.update({"rate_drop": 0.15, "skip_drop": 0.2, "sample_type": "uniform",
                           "normalize_type": "tree"})
        specs.append(("%s_reg_tweedie_p%d" % (booster, int(round(power * 10))), {
            "X_train": inject_nans(r, X[:1500], 0.10), "y_train": y[:1500],
            "X_test": inject_nans(r, X[1500:], 0.10),
            "feature_names": ["claim_feat_%d" % j for j in range(7)] if k == 0 else None,
            "params": params, "rounds": 50 if k == 0 else 40, "seed": seed + 3 + k,
        }))

    # 5. 5-class softprob on load_digits, 16 highest-variance pixels
    r = np.random.default_rng(seed + 5)
    ds = datasets.load_digits()
    keep = ds.target < 5
    Xd, yd = ds.data[keep], ds.target[keep].astype(float)
    cols = sorted(np.argsort(-Xd.var(axis=0), kind="stable")[:16].tolist())
    Xd = Xd[:, cols]
    idx = r.permutation(len(Xd))
    te, tr = idx[:n_test], idx[n_test:]
    specs.append(("gbtree_multi_softprob_digits5", {
        "X_train": inject_nans(r, Xd[tr], 0.10), "y_train": yd[tr],
        "X_test": inject_nans(r, Xd[te], 0.10),
        "feature_names": ["pix_%d_%d" % (c // 8, c % 8) for c in cols],
        "params": {"objective": "multi:softprob", "num_class": 5, "max_depth": 4,
                   "eta": 0.2, "tree_method": "exact", "colsample_bynode": 0.8},
        "rounds": 30, "seed": seed + 5,
    }))

    # 6. dart, normalize_type forest, sample_type weighted
    r = np.random.default_rng(seed + 6)
    Xtr, ytr, Xte, names = data_breast_cancer(r, list(range(20, 30)), n_test)
    specs.append(("dart_binary_logistic_forest_weighted", {
        "X_train": inject_nans(r, Xtr, 0.10), "y_train": ytr,
        "X_test": inject_nans(r, jitter_resample(r, Xte, n_test, 0.02), 0.10),
        "feature_names": names,
        "params": {"objective": "binary:logistic", "booster": "dart", "max_depth": 4,
                   "eta": 0.3, "tree_method": "hist", "rate_drop": 0.25, "skip_drop": 0.0,
                   "sample_type": "weighted", "normalize_type": "forest", "base_score": 0.6},
        "rounds": 35, "seed": seed + 6,
    }))

    # 7. boosted random forest: num_parallel_tree 3 (tree_info is per tree;
    #    prediction is still the sum over all trees)
    r = np.random.default_rng(seed + 7)
    X, z = synth_linear(r, 1500 + n_test, 6)
    y = r.poisson(np.exp(0.6 * z + 1.0)).astype(float)
    specs.append(("gbtree_count_poisson_parallel3", {
        "X_train": inject_nans(r, X[:1500], 0.10), "y_train": y[:1500],
        "X_test": inject_nans(r, X[1500:], 0.10), "feature_names": None,
        "params": {"objective": "count:poisson", "max_depth": 4, "eta": 0.3,
                   "tree_method": "hist", "num_parallel_tree": 3, "subsample": 0.7,
                   "colsample_bynode": 0.8},
        "rounds": 15, "seed": seed + 7,
    }))
    return specs


def build_xgb_dir(out_dir, specs, seed):
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    rng = np.random.default_rng(seed)
    entries = []
    for name, spec in specs:
        entries.append(make_xgb_case(out_dir, name, spec, rng))
        print("  %-40s trees=%-4d rows=%d" % (name, entries[-1]["num_trees"], entries[-1]["rows"]))
    write_json(os.path.join(out_dir, "cases.json"), entries)
    n = verify_xgb_dir(out_dir)
    print("  verified %d cases in %s" % (n, out_dir))


# --------------------------------------------------------------------------
# base_score -> margin table (asserted, printed)
# --------------------------------------------------------------------------

def base_score_table():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3))
    labels = {
        "binary:logistic": (rng.integers(0, 2, 50), 0.3),
        "binary:logitraw": (rng.integers(0, 2, 50), 0.3),
        "reg:squarederror": (rng.normal(size=50), 2.0),
        "reg:logistic": (rng.uniform(size=50), 0.3),
        "reg:pseudohubererror": (rng.normal(size=50), 2.0),
        "count:poisson": (rng.poisson(3, 50), 2.0),
        "reg:gamma": (rng.gamma(2, 1, 50), 2.0),
        "reg:tweedie": (rng.gamma(2, 1, 50), 2.0),
        "multi:softprob": (rng.integers(0, 3, 50), 0.3),
        "multi:softmax": (rng.integers(0, 3, 50), 0.3),
    }
    rows = []
    for obj, (y, bs) in labels.items():
        p = {"objective": obj, "base_score": bs, "nthread": NTHREAD}
        if obj.startswith("multi"):
            p["num_class"] = 3
        b = xgb.train(p, xgb.DMatrix(X, label=y), num_boost_round=0)  # zero trees
        d = xgb.DMatrix(X[:1])
        m = np.atleast_1d(b.predict(d, output_margin=True)[0])
        pr = np.atleast_1d(b.predict(d)[0])
        want = base_margin32(obj, bs)
        assert np.all(m == want), (obj, m, want)
        rows.append((obj, bs, m.tolist(), pr.tolist()))
    return rows


# --------------------------------------------------------------------------
# Part C: native linear / MLP models from scikit-learn
# --------------------------------------------------------------------------

ACT_NAMES = {"identity": "identity", "relu": "relu", "tanh": "tanh", "logistic": "sigmoid"}


def np_act(name, z):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def forward(layers, X):
    """Returns (output-layer pre-activation, output)."""
    a = X
    z = None
    for layer in layers:
        W = np.array(layer["weights"], dtype=np.float64)
        b = np.array(layer["bias"], dtype=np.float64)
        z = a @ W.T + b
        a = np_act(layer["activation"], z)
    return z, a


def layer(W_out_in, bias, act):
    W = np.asarray(W_out_in, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64).reshape(-1)
    assert W.shape[0] == bias.shape[0]
    return {"weights": [[float(v) for v in row] for row in W],
            "bias": [float(v) for v in bias], "activation": act}


def standardize(X):
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return (X - mu) / sd


def native_cases(seed):
    rng = np.random.default_rng(seed)
    out = []

    bc = datasets.load_breast_cancer()
    bc_cols = list(range(10))
    bc_X = standardize(bc.data[:, bc_cols])
    bc_names = [sanitize(bc.feature_names[c]) for c in bc_cols]
    iris = datasets.load_iris()
    iris_X = standardize(iris.data)
    iris_names = [sanitize(n.replace("(cm)", "")) for n in iris.feature_names]
    wine = datasets.load_wine()
    wine_X = standardize(wine.data)
    wine_names = [sanitize(n) for n in wine.feature_names]
    dia = datasets.load_diabetes()
    dia_X = standardize(dia.data)
    dia_names = [sanitize(n) for n in dia.feature_names]

    def test_rows(X, n=100):
        return jitter_resample(rng, X, n, 0.1)

    # LogisticRegression binary
    m = LogisticRegression(C=1.0, max_iter=5000).fit(bc_X, bc.target)
    out.append(("logreg_binary", "linear", "binary", 0, bc_names,
                [layer(m.coef_, m.intercept_, "sigmoid")], m, test_rows(bc_X)))

    # LogisticRegression multinomial, 3 classes
    m = LogisticRegression(multi_class="multinomial", C=0.5, max_iter=5000).fit(iris_X, iris.target)
    out.append(("logreg_multinomial", "linear", "multiclass", 3, iris_names,
                [layer(m.coef_, m.intercept_, "softmax")], m, test_rows(iris_X)))

    # LinearRegression
    m = LinearRegression().fit(dia_X, dia.target)
    out.append(("linreg_diabetes", "linear", "regression", 0, dia_names,
                [layer(m.coef_.reshape(1, -1), [m.intercept_], "identity")], m, test_rows(dia_X)))

    def mlp_layers(m, out_act):
        hidden = ACT_NAMES[m.activation]
        ls = []
        for k, (W, b) in enumerate(zip(m.coefs_, m.intercepts_)):
            last = k == len(m.coefs_) - 1
            ls.append(layer(W.T, b, out_act if last else hidden))
        return ls

    # MLPClassifier binary relu (16, 8)
    m = MLPClassifier(hidden_layer_sizes=(16, 8), activation="relu", max_iter=2000,
                      random_state=seed + 1).fit(bc_X, bc.target)
    assert m.out_activation_ == "logistic" and m.coefs_[-1].shape[1] == 1
    out.append(("mlp_binary_relu", "mlp", "binary", 0, bc_names,
                mlp_layers(m, "sigmoid"), m, test_rows(bc_X)))

    # MLPClassifier multiclass tanh (wine)
    m = MLPClassifier(hidden_layer_sizes=(12, 6), activation="tanh", max_iter=2000,
                      random_state=seed + 2).fit(wine_X, wine.target)
    assert m.out_activation_ == "softmax"
    out.append(("mlp_multiclass_tanh", "mlp", "multiclass", 3, wine_names,
                mlp_layers(m, "softmax"), m, test_rows(wine_X)))

    # MLPClassifier logistic activation (binary, breast cancer)
    m = MLPClassifier(hidden_layer_sizes=(10,), activation="logistic", max_iter=3000,
                      random_state=seed + 3).fit(bc_X, bc.target)
    assert m.out_activation_ == "logistic"
    out.append(("mlp_binary_logistic", "mlp", "binary", 0, bc_names,
                mlp_layers(m, "sigmoid"), m, test_rows(bc_X)))

    # MLPClassifier logistic activation, multiclass (iris)
    m = MLPClassifier(hidden_layer_sizes=(8,), activation="logistic", max_iter=3000,
                      random_state=seed + 4).fit(iris_X, iris.target)
    assert m.out_activation_ == "softmax"
    out.append(("mlp_multiclass_logistic", "mlp", "multiclass", 3, iris_names,
                mlp_layers(m, "softmax"), m, test_rows(iris_X)))

    # MLPRegressor relu (diabetes)
    m = MLPRegressor(hidden_layer_sizes=(32, 16), activation="relu", max_iter=3000,
                     learning_rate_init=0.01, random_state=seed + 5).fit(dia_X, dia.target)
    assert m.out_activation_ == "identity"
    out.append(("mlp_regressor_relu", "mlp", "regression", 0, dia_names,
                mlp_layers(m, "identity"), m, test_rows(dia_X)))
    return out


def build_native_dir(seed):
    # Only this part's files: testdata/native/sklearn is native_sklearn_fixtures.py's.
    os.makedirs(NATIVE_DIR, exist_ok=True)
    for f in os.listdir(NATIVE_DIR):
        if os.path.isfile(os.path.join(NATIVE_DIR, f)):
            os.remove(os.path.join(NATIVE_DIR, f))
    entries = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cases = native_cases(seed)
    for name, kind, task, classes, names, layers, model, X in cases:
        doc = {"kind": kind, "task": task, "classes": classes, "features": names, "layers": layers}
        write_json(os.path.join(NATIVE_DIR, name + ".model.json"), doc)
        write_features_csv(os.path.join(NATIVE_DIR, name + ".csv"), names, X)
        if task == "binary":
            pred = model.predict_proba(X)[:, 1:2]
        elif task == "multiclass":
            pred = model.predict_proba(X)
        else:
            pred = model.predict(X).reshape(-1, 1)
        z, a = forward(layers, X)
        assert z.shape == pred.shape, name
        assert np.max(np.abs(a - pred)) <= 1e-12, (name, np.max(np.abs(a - pred)))
        pfx = ["p"] if pred.shape[1] == 1 else ["p%d" % k for k in range(pred.shape[1])]
        mfx = ["m"] if z.shape[1] == 1 else ["m%d" % k for k in range(z.shape[1])]
        write_lines(os.path.join(NATIVE_DIR, name + ".pred.csv"),
                    [",".join(pfx)] + [",".join(repr(float(v)) for v in row) for row in pred])
        write_lines(os.path.join(NATIVE_DIR, name + ".raw.csv"),
                    [",".join(mfx)] + [",".join(repr(float(v)) for v in row) for row in z])
        entries.append({"name": name, "kind": kind, "task": task, "classes": classes,
                        "num_features": len(names), "layers": len(layers),
                        "activations": [l["activation"] for l in layers], "rows": int(len(X))})
        print("  %-28s %s/%s layers=%s" % (name, kind, task, [len(l["bias"]) for l in layers]))
    write_json(os.path.join(NATIVE_DIR, "cases.json"), entries)

    # Read back from disk.
    with open(os.path.join(NATIVE_DIR, "cases.json")) as fh:
        listed = json.load(fh)
    for (name, kind, task, classes, names, layers, model, X), c in zip(cases, listed):
        assert c["name"] == name
        with open(os.path.join(NATIVE_DIR, name + ".model.json")) as fh:
            doc = json.load(fh)
        assert doc["layers"] == layers
        h, Xr = read_csv(os.path.join(NATIVE_DIR, name + ".csv"))
        assert h == names and np.array_equal(Xr, X) and not np.isnan(Xr).any()
        _, P = read_csv(os.path.join(NATIVE_DIR, name + ".pred.csv"))
        _, Z = read_csv(os.path.join(NATIVE_DIR, name + ".raw.csv"))
        z, a = forward(doc["layers"], Xr)
        assert np.array_equal(Z, z), name
        if task == "binary":
            ref = model.predict_proba(Xr)[:, 1:2]
        elif task == "multiclass":
            ref = model.predict_proba(Xr)
        else:
            ref = model.predict(Xr).reshape(-1, 1)
        assert np.array_equal(P, ref), name
        assert np.max(np.abs(a - P)) <= 1e-12, name
    print("  verified %d native cases" % len(listed))


# --------------------------------------------------------------------------

def main():
    warnings.filterwarnings("ignore", category=UserWarning, module="xgboost")
    print("base_score -> margin (0-tree models):")
    for obj, bs, m, pr in base_score_table():
        print("  %-22s base_score=%-5g margin=%s pred=%s" % (obj, bs, m, pr))
    print("Part A: %s" % XGB_DIR)
    build_xgb_dir(XGB_DIR, xgb_specs_part_a(1000), 1)
    print("Part B: %s" % HOLDOUT_DIR)
    build_xgb_dir(HOLDOUT_DIR, xgb_specs_holdout(777000), 2)
    print("Part C: %s" % NATIVE_DIR)
    build_native_dir(4242)
    print("diagnostics:")
    print("  dart: max |DMatrix margin - inplace margin| = %g" % DIAG["dart_inplace_max_abs_diff"])
    print("  transform vs xgboost predict(), values differing (float32 recipe: all within 1 ulp):")
    for obj, (m32, m64, u64, tot) in sorted(DIAG["transform_mismatch"].items()):
        print("    %-22s float32 recipe: %4d   float64 maths: %4d (max %d ulp)   of %d"
              % (obj, m32, m64, u64, tot))
    print("  categorical cases: sets, total categories, largest category, and")
    print("  (value kind -> visits sent left at a default_left=0 node):")
    for name, (nsets, ncats, top, kinds) in sorted(DIAG.get("categorical", {}).items()):
        print("    %-40s sets=%d cats=%d max=%d %s" % (name, nsets, ncats, top, kinds))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Oracle fixtures for monitor/quality and tools/eval (predictd eval).

Run from the repository root with Debian's python (scikit-learn 1.2.1,
xgboost 1.7.4, pandas 1.5.3) and Go on PATH:

    /usr/bin/python3 testdata/gen/eval_oracle.py

It is seeded; it rewrites testdata/eval/:

- metrics.json: metric cases (labels, scores, settings) with every number
  scikit-learn gives on them. A number scikit-learn refuses (raises) is
  null, and so is average precision with no positive row (scikit-learn
  warns and returns 0; predictd reports it undefined).
- For each model NAME in (binary, multiclass, tweedie): NAME.model.json
  (XGBoost 1.7.4, trained here), NAME.holdout.csv (features, the label y,
  slice columns region, segment, group; binary.holdout.parquet is the binary
  holdout written as Parquet by DuckDB, testdata/gen/eval_parquet.mjs, run
  from $PQGEN, default /tmp/pqgen, where @duckdb/node-api is installed),
  NAME.predictd.csv (predictd's own
  predictions of the holdout: `predictd score` on the imported model, which
  equal XGBoost's to float32 rounding), and NAME.expected.json: the
  evaluation scikit-learn computes on predictd's predictions, overall, per
  slice, curves, confusion matrix and fairness gaps.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

assert sklearn.__version__ == "1.2.1", sklearn.__version__
assert xgb.__version__ == "1.7.4", xgb.__version__
warnings.simplefilter("ignore")

OUT = "testdata/eval"
rng = np.random.default_rng(20261203)


def num(v):
    """A float for JSON: None for NaN/Inf."""
    v = float(v)
    return None if (math.isnan(v) or math.isinf(v)) else v


def nums(a):
    return [num(v) for v in a]


def safe(f):
    try:
        return num(f())
    except ValueError:
        return None


def bin_counts(p, bins):
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    c = np.bincount(ids, minlength=len(edges))
    return [int(x) for x in c[c != 0]]


def binary_metrics(y, p, thr, bins):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    pred = (p >= thr).astype(int)
    out = {}
    out["auc"] = safe(lambda: skm.roc_auc_score(y, p))
    out["pr_auc"] = None if y.sum() == 0 else safe(lambda: skm.average_precision_score(y, p))
    out["log_loss"] = safe(lambda: skm.log_loss(y, p, labels=[0, 1]))
    out["brier"] = safe(lambda: skm.brier_score_loss(y, p))
    out["accuracy"] = num(skm.accuracy_score(y, pred))
    out["precision"] = num(skm.precision_score(y, pred, zero_division="warn"))
    out["recall"] = num(skm.recall_score(y, pred, zero_division="warn"))
    out["f1"] = num(skm.f1_score(y, pred, zero_division="warn"))
    out["positive_rate"] = num(pred.mean())
    out["base_rate"] = num(y.mean())
    pt, pp = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    cnt = bin_counts(p, bins)
    out["ece"] = num(sum(c / len(p) * abs(a - b) for c, a, b in zip(cnt, pp, pt)))
    return out


def binary_curves(y, p, bins):
    fpr, tpr, thr = skm.roc_curve(y, p)
    pr, rc, pthr = skm.precision_recall_curve(y, p)
    pt, pp = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    return {
        "roc": {"fpr": nums(fpr), "tpr": nums(tpr), "thresholds": nums(thr)},
        "pr": {"precision": nums(pr), "recall": nums(rc), "thresholds": nums(pthr)},
        "calibration": {"mean_predicted": nums(pp), "fraction_positive": nums(pt), "count": bin_counts(p, bins)},
    }


def multiclass_metrics(y, P, k):
    y = np.asarray(y, dtype=int)
    P = np.asarray(P, dtype=np.float64).reshape(-1, k)
    pred = P.argmax(axis=1)
    out = {"accuracy": num(skm.accuracy_score(y, pred))}
    out["log_loss"] = safe(lambda: skm.log_loss(y, P, labels=list(range(k))))
    for avg in ("macro", "weighted"):
        out["precision_" + avg] = num(skm.precision_score(y, pred, average=avg, zero_division="warn"))
        out["recall_" + avg] = num(skm.recall_score(y, pred, average=avg, zero_division="warn"))
        out["f1_" + avg] = num(skm.f1_score(y, pred, average=avg, zero_division="warn"))
    out["auc"] = safe(lambda: skm.roc_auc_score(y, P, multi_class="ovr", average="macro", labels=list(range(k))))
    out["auc_weighted"] = safe(lambda: skm.roc_auc_score(y, P, multi_class="ovr", average="weighted", labels=list(range(k))))
    return out


def regression_metrics(y, p, power):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    out = {
        "rmse": num(skm.mean_squared_error(y, p, squared=False)),
        "mae": num(skm.mean_absolute_error(y, p)),
        "r2": num(skm.r2_score(y, p)) if len(y) >= 2 else None,
        "poisson_deviance": safe(lambda: skm.mean_poisson_deviance(y, p)),
        "tweedie_deviance": safe(lambda: skm.mean_tweedie_deviance(y, p, power=power)),
    }
    return out


def fairness(y, p, groups, thr):
    df = pd.DataFrame({"y": y, "pred": (np.asarray(p) >= thr).astype(int), "g": groups})
    rates, tprs, rows = {}, {}, {}
    for g, d in df.groupby("g", sort=True):
        rates[g] = d["pred"].mean()
        tprs[g] = skm.recall_score(d["y"], d["pred"], zero_division="warn")
        rows[g] = len(d)
    return {
        "groups": [{"value": g, "rows": int(rows[g]), "positive_rate": num(rates[g]), "tpr": num(tprs[g])} for g in sorted(rates)],
        "demographic_parity_difference": num(max(rates.values()) - min(rates.values())),
        "equal_opportunity_difference": num(max(tprs.values()) - min(tprs.values())),
    }


# ---------------------------------------------------------------- metrics.json
def metric_cases():
    cases = []

    def add_binary(name, y, p, thr=0.5, bins=10, groups=None):
        y = [float(v) for v in y]
        p = [float(v) for v in p]
        c = {"name": name, "kind": "binary", "y": y, "p": p, "threshold": thr, "bins": bins,
             "want": binary_metrics(y, p, thr, bins),
             "confusion": skm.confusion_matrix(y, (np.asarray(p) >= thr).astype(int), labels=[0, 1]).tolist()}
        if len(set(y)) == 2:
            c["curves"] = binary_curves(y, p, bins)
        else:
            # roc_curve warns and gives NaN rates; precision_recall_curve
            # sets recall to 1; both still return the curve.
            fpr, tpr, t = skm.roc_curve(y, p)
            pr, rc, pt = skm.precision_recall_curve(y, p)
            c["curves"] = {"roc": {"fpr": nums(fpr), "tpr": nums(tpr), "thresholds": nums(t)},
                           "pr": {"precision": nums(pr), "recall": nums(rc), "thresholds": nums(pt)}}
        if groups is not None:
            c["groups"] = groups
            c["fairness"] = fairness(y, p, groups, thr)
        cases.append(c)

    n = 600
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * z))).astype(int)
    p = np.round(1 / (1 + np.exp(-(1.2 * z + rng.normal(scale=0.8, size=n)))), 2)  # ties
    groups = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]).tolist()
    add_binary("random_ties", y, p, groups=groups)
    add_binary("random_ties_thr03_bins7", y, p, thr=0.3, bins=7)
    add_binary("random_full_precision", y, 1 / (1 + np.exp(-(1.2 * z + rng.normal(scale=0.8, size=n)))), bins=20)
    # Five distinct scores: heavy ties.
    pv = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], size=200)
    yv = (rng.random(200) < pv).astype(int)
    add_binary("five_scores", yv, pv)
    # Scores at exactly 0, 1, on the bin edges and at the threshold.
    edges = [0.0, 1.0, 0.1, 0.2, 0.30000000000000004, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.5, 0.0, 1.0, 1.0, 0.0]
    ye = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0]
    add_binary("edges_zero_one", ye, edges)
    add_binary("edges_zero_one_bins3_thr1", ye, edges, thr=1.0, bins=3)
    add_binary("all_negative", [0] * 30, rng.random(30))
    add_binary("all_positive", [1] * 25, rng.random(25))
    add_binary("one_row", [1], [0.7])
    add_binary("nothing_predicted_positive", [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
    g2 = ["x"] * 10 + ["y"] * 10
    add_binary("fairness_group_without_positives", [0] * 10 + [0, 1] * 5, list(rng.random(20)), groups=g2)

    def add_multi(name, y, P, k):
        P = np.asarray(P, dtype=np.float64).reshape(-1, k)
        cases.append({"name": name, "kind": "multiclass", "k": k, "y": [int(v) for v in y], "p": [float(v) for v in P.ravel()],
                      "want": multiclass_metrics(y, P, k),
                      "pred": P.argmax(axis=1).tolist(),
                      "confusion": skm.confusion_matrix(y, P.argmax(axis=1), labels=list(range(k))).tolist()})

    for k, n in ((3, 400), (4, 500)):
        logits = rng.normal(size=(n, k))
        y = np.array([rng.choice(k, p=np.exp(l) / np.exp(l).sum()) for l in logits * 1.3])
        P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        add_multi(f"random_k{k}", y, np.round(P, 3) / np.round(P, 3).sum(axis=1, keepdims=True), k)
    # A class absent from the labels (class 2), and one never predicted.
    logits = rng.normal(size=(60, 4))
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.choice([0, 1, 3], size=60)
    add_multi("class_absent_k4", y, P, 4)
    # Ties in the argmax, probabilities 0 and 1.
    P = [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.4, 0.4], [0.0, 1.0, 0.0]]
    add_multi("argmax_ties_zero_one", [1, 0, 1, 2, 2, 1], P, 3)

    def add_reg(name, y, p, powers=(0, 1, 1.5, 2, 3, -0.5)):
        y = [float(v) for v in y]
        p = [float(v) for v in p]
        w = regression_metrics(y, p, 1.5)
        w["tweedie"] = {str(q): safe(lambda: skm.mean_tweedie_deviance(y, p, power=q)) for q in powers}
        cases.append({"name": name, "kind": "regression", "y": y, "p": p, "want": w})

    mu = np.exp(rng.normal(size=300))
    add_reg("positive_counts", rng.poisson(mu).astype(float), mu * np.exp(rng.normal(scale=0.3, size=300)))
    add_reg("gamma_like", rng.gamma(2.0, mu), mu)
    yn = rng.normal(size=200)
    add_reg("negative_values", yn, yn + rng.normal(scale=0.5, size=200))
    add_reg("constant_label", [3.0] * 10, [3.0] * 9 + [2.5])
    add_reg("constant_exact", [3.0] * 10, [3.0] * 10)
    add_reg("one_row", [2.0], [1.5])
    add_reg("zero_prediction", [1.0, 0.0, 2.0], [1.0, 0.0, 2.5])
    return cases


# ---------------------------------------------------------------- models
def holdout_frame(n, nf):
    X = rng.normal(size=(n, nf))
    X[rng.random(X.shape) < 0.05] = np.nan
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    region[rng.random(n) < 0.03] = None  # missing cells
    segment = rng.choice(["retail", "business", "vip"], size=n, p=[0.6, 0.36, 0.04])
    group = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    return X, region, segment, group


def write_holdout(path, X, y, region, segment, group, yfmt=repr):
    with open(path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(X.shape[1])] + ["y", "region", "segment", "group"]) + "\n")
        for i in range(X.shape[0]):
            cells = ["" if np.isnan(v) else repr(float(v)) for v in X[i]]
            cells += [yfmt(y[i]), region[i] or "", segment[i], group[i]]
            f.write(",".join(cells) + "\n")


def train(params, X, y, rounds):
    d = xgb.DMatrix(X, label=y, missing=np.nan)
    return xgb.train(dict(params, nthread=1, seed=7), d, num_boost_round=rounds)


def predictd_predictions(name, model_path, holdout, tmp):
    repo = os.path.join(tmp, "repo")
    exe = os.path.join(tmp, "predictd")
    if not os.path.exists(exe):
        subprocess.run(["go", "build", "-o", exe, "./cmd/predictd"], check=True)
    subprocess.run([exe, "import", "--from", "xgboost", "--in", model_path, "--repo", repo, "--name", name], check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(OUT, name + ".predictd.csv")
    subprocess.run([exe, "score", "--repo", repo, "--model", name, "--in", holdout, "--out", out], check=True)
    return pd.read_csv(out).to_numpy(dtype=np.float64)


def slice_values(col):
    vals = sorted(v for v in set(col) if v is not None)
    if any(v is None for v in col):
        vals.append(None)
    return vals


def expected(kind, y, P, region, segment, group, k=0, thr=0.5, bins=10, power=1.5):
    def m(idx):
        if kind == "binary":
            return binary_metrics(y[idx], P[idx, 0], thr, bins)
        if kind == "multiclass":
            return multiclass_metrics(y[idx], P[idx], k)
        return regression_metrics(y[idx], P[idx, 0], power)

    all_idx = np.arange(len(y))
    out = {"rows": len(y), "overall": m(all_idx), "slices": []}
    for colname, col in (("region", region), ("segment", segment)):
        for v in slice_values(list(col)):
            idx = np.array([i for i in range(len(y)) if col[i] == v])
            out["slices"].append({"column": colname, "value": "(missing)" if v is None else v, "rows": len(idx), "metrics": m(idx)})
    if kind == "binary":
        out["curves"] = binary_curves(y, P[:, 0], bins)
        out["confusion"] = skm.confusion_matrix(y, (P[:, 0] >= thr).astype(int), labels=[0, 1]).tolist()
        out["fairness"] = fairness(y, P[:, 0], list(group), thr)
    elif kind == "multiclass":
        out["confusion"] = skm.confusion_matrix(y, P.argmax(axis=1), labels=list(range(k))).tolist()
        out["curves"] = {"class_roc": []}
        for c in range(k):
            yc = (y == c).astype(int)
            auc = safe(lambda: skm.roc_auc_score(yc, P[:, c]))
            if auc is None:
                continue
            fpr, tpr, _ = skm.roc_curve(yc, P[:, c])
            out["curves"]["class_roc"].append({"class": c, "auc": auc, "fpr": nums(fpr), "tpr": nums(tpr)})
    else:
        # Predicted against actual over bins of equal count by ascending
        # prediction (a stable sort; array_split gives the first n % bins
        # bins one row more).
        order = np.argsort(P[:, 0], kind="stable")
        parts = [b for b in np.array_split(order, bins) if len(b)]
        out["curves"] = {"regression": {"mean_predicted": [num(P[b, 0].mean()) for b in parts],
                                        "mean_label": [num(y[b].mean()) for b in parts],
                                        "count": [len(b) for b in parts]}}
    return out


def models(tmp):
    nf = 6
    # Binary.
    Xt, *_ = holdout_frame(3000, nf)
    w = np.array([1.0, -0.8, 0.5, 0.0, 0.3, -0.2])
    logit = lambda X: np.nan_to_num(X) @ w
    yt = (rng.random(3000) < 1 / (1 + np.exp(-logit(Xt)))).astype(int)
    b = train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3}, Xt, yt, 20)
    X, region, segment, group = holdout_frame(1500, nf)
    y = (rng.random(1500) < 1 / (1 + np.exp(-logit(X)))).astype(int)
    y[segment == "vip"] = 0  # a slice of one class: AUC undefined there
    yield "binary", b, X, y, region, segment, group, {}

    # Multiclass, 4 classes; class 3 never occurs in region west.
    W = rng.normal(size=(nf, 4))
    def draw(X):
        L = np.nan_to_num(X) @ W
        Pr = np.exp(L) / np.exp(L).sum(axis=1, keepdims=True)
        return np.array([rng.choice(4, p=r) for r in Pr])
    Xt, *_ = holdout_frame(3000, nf)
    m = train({"objective": "multi:softprob", "num_class": 4, "max_depth": 3, "eta": 0.3}, Xt, draw(Xt), 10)
    X, region, segment, group = holdout_frame(1200, nf)
    y = draw(X)
    y[(region == "west") & (y == 3)] = 0
    yield "multiclass", m, X, y, region, segment, group, {"k": 4}

    # Tweedie regression (power 1.5): non-negative labels, positive predictions.
    Xt, *_ = holdout_frame(3000, nf)
    mu = lambda X: np.exp(0.4 * np.nan_to_num(X) @ w)
    draw_y = lambda X: rng.poisson(mu(X)) * rng.gamma(2.0, 0.5, size=X.shape[0])
    r = train({"objective": "reg:tweedie", "tweedie_variance_power": 1.5, "max_depth": 3, "eta": 0.3}, Xt, draw_y(Xt), 20)
    X, region, segment, group = holdout_frame(1200, nf)
    yield "tweedie", r, X, draw_y(X), region, segment, group, {}


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    with open(os.path.join(OUT, "metrics.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": metric_cases()}, f)
    with tempfile.TemporaryDirectory() as tmp:
        for name, booster, X, y, region, segment, group, extra in models(tmp):
            mpath = os.path.join(OUT, name + ".model.json")
            booster.save_model(mpath)
            hpath = os.path.join(OUT, name + ".holdout.csv")
            yfmt = (lambda v: repr(float(v))) if name == "tweedie" else (lambda v: str(int(v)))
            write_holdout(hpath, X, y, region, segment, group, yfmt)
            P = predictd_predictions(name, mpath, hpath, tmp)
            # predictd's predictions are XGBoost's to float32 rounding.
            ref = booster.predict(xgb.DMatrix(X, missing=np.nan)).reshape(P.shape[0], -1).astype(np.float64)
            np.testing.assert_allclose(P, ref, rtol=2e-6, atol=1e-7)
            kind = {"binary": "binary", "multiclass": "multiclass", "tweedie": "regression"}[name]
            e = expected(kind, np.asarray(y, dtype=np.float64) if kind != "multiclass" else np.asarray(y), P, region, segment, group, k=extra.get("k", 0))
            e.update({"task": kind, "label": "y", "threshold": 0.5, "bins": 10, "tweedie_power": 1.5})
            with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
                json.dump(e, f, indent=1)
    # The binary holdout as Parquet (DuckDB), for the reader's other path.
    mods = os.environ.get("PQGEN", "/tmp/pqgen")
    shutil.copy("testdata/gen/eval_parquet.mjs", os.path.join(mods, "eval_parquet.mjs"))
    subprocess.run(["node", os.path.join(mods, "eval_parquet.mjs"), os.path.abspath(os.path.join(OUT, "binary.holdout.csv")),
                    os.path.abspath(os.path.join(OUT, "binary.holdout.parquet"))], check=True)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()

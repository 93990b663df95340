#!/usr/bin/python3
"""Oracle fixtures for tools/train/linear: scikit-learn 1.2.1's Ridge,
LinearRegression and LogisticRegression(lbfgs) on small bundled data sets.

Each case is one JSON file in testdata/train/linear/ holding the inputs (X
row-major, y), the options, sklearn's coef_ and intercept_, and for logistic
cases the objective value at sklearn's solution computed by objective()
below (the formula sklearn 1.2.1 minimizes for solver='lbfgs':
sum of per-row log losses + ||W||^2 / (2C), intercept not penalized).

Run from the repository root: /usr/bin/python3 testdata/gen/train_linear_oracle.py
"""
import json
import os

import numpy as np
import sklearn
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

assert sklearn.__version__ == "1.2.1", sklearn.__version__
OUT = "testdata/train/linear"
TOL = 1e-12
MAX_ITER = 10000


def objective(X, y, coef, intercept, C):
    """sklearn 1.2.1 lbfgs objective: sum_i loss_i + ||coef||^2 / (2C)."""
    Z = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = Z[:, 0]
        loss = np.sum(np.logaddexp(0.0, z) - y * z)
    else:
        loss = np.sum(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])
    return float(loss + 0.5 / C * np.sum(coef * coef))


def gradient_inf_norm(X, y, coef, intercept, C, fit_intercept):
    Z = X @ coef.T + intercept
    if coef.shape[0] == 1:
        R = (1.0 / (1.0 + np.exp(-Z[:, 0])) - y)[:, None]
    else:
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        P[np.arange(len(y)), y] -= 1.0
        R = P
    g = R.T @ X + coef / C
    gi = R.sum(axis=0) if fit_intercept else np.zeros(0)
    return float(max(np.abs(g).max(), np.abs(gi).max() if gi.size else 0.0))


def tight(X, y, coef, intercept, C, fit_intercept):
    """Polishes sklearn's solution with scipy's L-BFGS-B run until the
    gradient's infinity norm is below 1e-9 (ftol=0: sklearn 1.2.1 leaves
    scipy's default ftol, which stops it at a gradient of about 1e-4)."""
    K, p = coef.shape
    Y = None if K == 1 else np.eye(K)[y]

    def unpack(v):
        W = v[:K * p].reshape(K, p)
        b = v[K * p:] if fit_intercept else np.zeros(K)
        return W, b

    def f(v):
        W, b = unpack(v)
        Z = X @ W.T + b
        if K == 1:
            z = Z[:, 0]
            val = np.sum(np.logaddexp(0.0, z) - y * z)
            R = (0.5 * (1.0 + np.tanh(0.5 * z)) - y)[:, None]
        else:
            lse = logsumexp(Z, axis=1, keepdims=True)
            val = np.sum(lse[:, 0] - Z[np.arange(len(y)), y])
            R = np.exp(Z - lse) - Y
        val += 0.5 / C * np.sum(W * W)
        g = (R.T @ X + W / C).ravel()
        if fit_intercept:
            g = np.concatenate([g, R.sum(axis=0)])
        return val, g

    v0 = np.concatenate([coef.ravel(), intercept if fit_intercept else []])
    r = minimize(f, v0, jac=True, method="L-BFGS-B",
                 options={"ftol": 0.0, "gtol": 1e-10, "maxiter": 100000, "maxcor": 30})
    W, b = unpack(r.x)
    return W, b


def write(name, case):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))
        f.write("\n")


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def logistic_case(name, X, y, C, fit_intercept=True):
    m = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=TOL, max_iter=MAX_ITER, solver="lbfgs",
                           multi_class="auto")
    m.fit(X, y)
    assert m.n_iter_.max() < MAX_ITER, (name, m.n_iter_)
    coef = m.coef_
    intercept = m.intercept_ if fit_intercept else np.zeros(coef.shape[0])
    obj = objective(X, y, coef, intercept, C)
    gn = gradient_inf_norm(X, y, coef, intercept, C, fit_intercept)
    tW, tb = tight(X, y, coef, intercept, C, fit_intercept)
    tobj = objective(X, y, tW, tb, C)
    tgn = gradient_inf_norm(X, y, tW, tb, C, fit_intercept)
    assert tobj <= obj, (name, tobj, obj)
    assert tgn < 1e-6, (name, tgn)
    print(f"{name}: n_iter={m.n_iter_.max()} objective={obj!r} grad_inf={gn:.3g} "
          f"tight objective={tobj!r} grad_inf={tgn:.3g} max|coef-tight|={np.abs(coef - tW).max():.3g} "
          f"max|coef|={np.abs(tW).max():.3g}")
    write(name, {
        "kind": "logistic", "rows": X.shape[0], "cols": X.shape[1], "x": flat(X), "y": [int(v) for v in y],
        "c": C, "fit_intercept": fit_intercept, "classes": int(len(m.classes_)),
        "coef": flat(coef), "intercept": flat(intercept), "objective": obj, "sklearn_grad_inf": gn,
        "sklearn_n_iter": int(m.n_iter_.max()),
        "tight_coef": flat(tW), "tight_intercept": flat(tb), "tight_objective": tobj,
        "proba": flat(m.predict_proba(X)[:, 1] if len(m.classes_) == 2 else m.predict_proba(X)),
    })


def enet_objective(X, y, coef, intercept, C, l1_ratio):
    """sklearn 1.2.1 saga objective times n_samples: sum_i loss_i
    + (1 - l1_ratio) ||coef||^2 / (2C) + l1_ratio ||coef||_1 / C."""
    Z = X @ coef.T + intercept
    if coef.shape[0] == 1:
        z = Z[:, 0]
        loss = np.sum(np.logaddexp(0.0, z) - y * z)
    else:
        loss = np.sum(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])
    return float(loss + 0.5 * (1 - l1_ratio) / C * np.sum(coef * coef) + l1_ratio / C * np.sum(np.abs(coef)))


def enet_case(name, X, y, C, l1_ratio):
    m = LogisticRegression(C=C, penalty="elasticnet", l1_ratio=l1_ratio, solver="saga", tol=1e-10, random_state=0,
                           max_iter=200000, multi_class="auto")
    m.fit(X, y)
    assert m.n_iter_.max() < 200000, (name, m.n_iter_)
    obj = enet_objective(X, y, m.coef_, m.intercept_, C, l1_ratio)
    print(f"{name}: n_iter={m.n_iter_.max()} objective={obj!r} zeros={int(np.sum(m.coef_ == 0))}/{m.coef_.size}")
    write(name, {
        "kind": "enet", "rows": X.shape[0], "cols": X.shape[1], "x": flat(X), "y": [int(v) for v in y],
        "c": C, "l1_ratio": l1_ratio, "fit_intercept": True, "classes": int(len(m.classes_)),
        "coef": flat(m.coef_), "intercept": flat(m.intercept_), "objective": obj,
        "sklearn_n_iter": int(m.n_iter_.max()),
    })


def ridge_case(name, X, y, alpha, fit_intercept=True):
    if alpha == 0:
        m = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    else:
        m = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    intercept = float(m.intercept_) if fit_intercept else 0.0
    print(f"{name}: cond(X)={np.linalg.cond(X):.3g} max|coef|={np.abs(m.coef_).max():.3g}")
    write(name, {
        "kind": "ridge", "rows": X.shape[0], "cols": X.shape[1], "x": flat(X), "y_float": flat(y),
        "alpha": alpha, "fit_intercept": fit_intercept, "coef": flat(m.coef_), "intercept": [intercept],
        "predict": flat(m.predict(X)),
    })


def main():
    os.makedirs(OUT, exist_ok=True)
    bc = datasets.load_breast_cancer()
    Xb = StandardScaler().fit_transform(bc.data)
    for C in (0.01, 1.0, 100.0):
        logistic_case(f"logistic_breast_cancer_c{C:g}", Xb, bc.target, C)
    logistic_case("logistic_breast_cancer_c1_nointercept", Xb, bc.target, 1.0, fit_intercept=False)

    iris = datasets.load_iris()
    Xi = StandardScaler().fit_transform(iris.data)
    logistic_case("logistic_iris_c1", Xi, iris.target, 1.0)
    logistic_case("logistic_iris_c10", Xi, iris.target, 10.0)

    digits = datasets.load_digits()
    logistic_case("logistic_digits600_c0.1", digits.data[:600] / 16.0, digits.target[:600], 0.1)

    # Separable-ish: well separated classes, a small C keeps the solution finite.
    Xs, ys = datasets.make_classification(n_samples=300, n_features=8, n_informative=4, class_sep=3.0,
                                          flip_y=0.0, random_state=7)
    logistic_case("logistic_separable_c0.05", Xs, ys, 0.05)

    enet_case("enet_breast_cancer_c1_l0.5", Xb, bc.target, 1.0, 0.5)
    enet_case("enet_breast_cancer_c0.1_l1", Xb, bc.target, 0.1, 1.0)
    enet_case("enet_iris_c1_l0.5", Xi, iris.target, 1.0, 0.5)

    dia = datasets.load_diabetes()
    ridge_case("ridge_diabetes_a1", dia.data, dia.target, 1.0)
    ridge_case("ridge_diabetes_a0.01_nointercept", dia.data, dia.target, 0.01, fit_intercept=False)
    ridge_case("linear_diabetes_a0", dia.data, dia.target, 0.0)
    # Rank-deficient and ill-conditioned: a duplicated column and a nearly collinear one.
    rng = np.random.RandomState(3)
    Xr = rng.normal(size=(200, 6))
    Xr = np.column_stack([Xr, Xr[:, 0], Xr[:, 1] + 1e-6 * rng.normal(size=200)])
    yr = Xr[:, :6] @ np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0]) + 0.1 * rng.normal(size=200) + 4.0
    ridge_case("ridge_rankdeficient_a0.1", Xr, yr, 0.1)
    # More columns than rows: sklearn solves the kernel form (XXᵀ + αI).
    Xw = rng.normal(size=(20, 50))
    yw = Xw[:, :5].sum(axis=1) + rng.normal(size=20)
    ridge_case("ridge_wide_a1", Xw, yw, 1.0)


if __name__ == "__main__":
    main()

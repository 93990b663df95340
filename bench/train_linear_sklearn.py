#!/usr/bin/python3
"""Times scikit-learn's LogisticRegression(solver='lbfgs') fit on the raw
files bench/train_linear.sh writes; prints one JSON line like
bench/train_linear/main.go's (median fit seconds, iterations, objective
Σ log-loss + ||w||²/(2C), as tools/train/linear reports it)."""
import json
import sys
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression


def main():
    xpath, ypath, cols, C, tol, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    y = np.fromfile(ypath, dtype="<i8")
    X = np.fromfile(xpath, dtype="<f8").reshape(len(y), cols)
    times = []
    for _ in range(reps):
        m = LogisticRegression(C=C, tol=tol, max_iter=10000, solver="lbfgs")
        t0 = time.perf_counter()
        m.fit(X, y)
        times.append(time.perf_counter() - t0)
    Z = X @ m.coef_.T + m.intercept_
    if Z.shape[1] == 1:
        loss = np.sum(np.logaddexp(0.0, Z[:, 0]) - y * Z[:, 0])
    else:
        loss = np.sum(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])
    obj = float(loss + 0.5 / C * np.sum(m.coef_ ** 2))
    times.sort()
    print(json.dumps({"fit_s": times[len(times) // 2], "n_iter": int(m.n_iter_.max()), "objective": obj}))


if __name__ == "__main__":
    main()

# Export a fitted scikit-learn estimator to predictd's native JSON format
# (docs/native-format.md). docs/native-format.md shows this file verbatim and
# model/native's TestDocSnippet holds the two identical; the fixtures under
# testdata/native/sklearn are written by it (testdata/gen/native_sklearn_fixtures.py).
import json

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler


def _floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def _layer(W, b, activation):  # W is out x in: row o feeds unit o
    W = np.asarray(W, dtype=np.float64)
    return {"weights": [_floats(row) for row in W], "bias": _floats(b),
            "activation": activation}


def _scaler(step, n):
    if isinstance(step, StandardScaler):
        mean = step.mean_ if step.with_mean else np.zeros(n)
        scale = step.scale_ if step.with_std else np.ones(n)
        return {"scaler": "standard", "mean": _floats(mean), "scale": _floats(scale)}
    if isinstance(step, MinMaxScaler):
        if step.clip:
            raise ValueError("MinMaxScaler(clip=True) has no native form")
        return {"scaler": "minmax", "min": _floats(step.min_), "scale": _floats(step.scale_)}
    raise ValueError("no native form for pipeline step %r" % (step,))


def _logistic_is_ovr(m):
    # LogisticRegression.predict_proba's own rule (scikit-learn 1.2).
    return m.multi_class == "ovr" or (
        m.multi_class == "auto"
        and (len(m.classes_) <= 2 or m.solver in ("liblinear", "newton-cholesky")))


def _estimator(m):
    """Returns kind, task, classes, multiclass, layers for a final estimator."""
    if isinstance(m, LogisticRegression):
        k = len(m.classes_)
        if k == 2:
            W, b = m.coef_, m.intercept_
            if not _logistic_is_ovr(m):
                # binary multinomial: softmax of (-d, d) is sigmoid(2d)
                W, b = 2 * W, 2 * b
            return "linear", "binary", 0, None, [_layer(W, b, "sigmoid")]
        if _logistic_is_ovr(m):
            return "linear", "multiclass", k, "ovr", [_layer(m.coef_, m.intercept_, "sigmoid")]
        return "linear", "multiclass", k, "multinomial", [_layer(m.coef_, m.intercept_, "softmax")]
    if isinstance(m, OneVsRestClassifier):
        ests = m.estimators_
        if m.multilabel_ or len(ests) < 3:
            raise ValueError("OneVsRestClassifier: only 3 or more classes, not multilabel")
        for e in ests:
            if not isinstance(e, LogisticRegression) or not _logistic_is_ovr(e):
                raise ValueError("OneVsRestClassifier: each estimator must be a binary LogisticRegression")
        W = np.vstack([e.coef_ for e in ests])
        b = np.concatenate([e.intercept_ for e in ests])
        return "linear", "multiclass", len(ests), "ovr", [_layer(W, b, "sigmoid")]
    if isinstance(m, (LinearRegression, Ridge)):
        if np.ndim(m.coef_) != 1:
            raise ValueError("only a single-target regression has a native form")
        return "linear", "regression", 0, None, [_layer(m.coef_.reshape(1, -1), [m.intercept_], "identity")]
    if isinstance(m, (MLPClassifier, MLPRegressor)):
        hidden = {"identity": "identity", "relu": "relu", "tanh": "tanh", "logistic": "sigmoid"}[m.activation]
        out = {"identity": "identity", "logistic": "sigmoid", "softmax": "softmax"}[m.out_activation_]
        n = len(m.coefs_)
        layers = [_layer(W.T, b, out if i == n - 1 else hidden)
                  for i, (W, b) in enumerate(zip(m.coefs_, m.intercepts_))]
        if isinstance(m, MLPRegressor):
            if m.n_outputs_ != 1:
                raise ValueError("only a single-target MLPRegressor has a native form")
            return "mlp", "regression", 0, None, layers
        if m.out_activation_ == "logistic":
            if len(m.classes_) != 2:
                raise ValueError("multilabel MLPClassifier has no native form")
            return "mlp", "binary", 0, None, layers
        return "mlp", "multiclass", len(m.classes_), "multinomial", layers
    raise ValueError("no native form for %r" % (m,))


def export(estimator, features):
    """Returns the native JSON document (a dict) for a fitted estimator or
    Pipeline(scalers..., estimator); features names the input columns in order."""
    steps = estimator.steps if isinstance(estimator, Pipeline) else [(None, estimator)]
    pre = [_scaler(s, len(features)) for _, s in steps[:-1]]
    kind, task, classes, multiclass, layers = _estimator(steps[-1][1])
    doc = {"kind": kind, "task": task}
    if task == "multiclass":
        doc["classes"] = classes
        doc["multiclass"] = multiclass
    if task in ("binary", "multiclass"):
        # The names predict() returns, in classes_ order, as text.
        doc["class_labels"] = [str(c) for c in steps[-1][1].classes_]
    doc["features"] = list(features)
    if pre:
        doc["preprocess"] = pre
    doc["layers"] = layers
    return doc


def dump(estimator, features, path):
    with open(path, "w") as fh:
        json.dump(export(estimator, features), fh)

# Writes testdata/native/sklearn: scikit-learn 1.2.1 estimators and pipelines
# exported by testdata/gen/sklearn_native.py (the code docs/native-format.md
# shows), with scikit-learn's own predict_proba / predict / decision_function
# as the expected values. Run: /usr/bin/python3 testdata/gen/native_sklearn_fixtures.py
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sklearn_native  # noqa: E402

OUT = os.path.join(HERE, "..", "native", "sklearn")
assert sklearn.__version__ == "1.2.1", sklearn.__version__


def csv(path, header, rows):
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        for r in rows:
            fh.write(",".join(repr(float(v)) for v in r) + "\n")


def margins(m, X):
    """The last layer's pre-activations, as scikit-learn computes them."""
    final = m.steps[-1][1] if hasattr(m, "steps") else m
    Xt = X
    if hasattr(m, "steps"):
        for _, s in m.steps[:-1]:
            Xt = s.transform(Xt)
    if isinstance(final, OneVsRestClassifier):
        return np.column_stack([e.decision_function(Xt) for e in final.estimators_])
    if isinstance(final, MLPRegressor):
        return final.predict(Xt).reshape(-1, 1)
    return final.decision_function(Xt).reshape(len(X), -1)


def main():
    os.makedirs(OUT, exist_ok=True)
    iris = datasets.load_iris()
    iris_names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    dia = datasets.load_diabetes(scaled=False)
    dia_names = list(dia.feature_names)
    cases = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cases.append(("ovr_liblinear_iris", LogisticRegression(solver="liblinear").fit(iris.data, iris.target),
                      iris_names, iris.data))
        cases.append(("ovr_onevsrest_lbfgs_iris",
                      OneVsRestClassifier(LogisticRegression(max_iter=5000)).fit(iris.data, iris.target),
                      iris_names, iris.data))
        cases.append(("pipe_standard_logreg_iris",
                      make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(iris.data, iris.target),
                      iris_names, iris.data))
        cases.append(("pipe_standard_logreg_ovr_iris",
                      make_pipeline(StandardScaler(), LogisticRegression(multi_class="ovr", max_iter=5000)).fit(iris.data, iris.target),
                      iris_names, iris.data))
        y2 = (iris.target == 2).astype(int)
        cases.append(("pipe_standard_logreg_binary_iris",
                      make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(iris.data, y2),
                      iris_names, iris.data))
        cases.append(("pipe_minmax_mlpregressor_diabetes",
                      make_pipeline(MinMaxScaler(), MLPRegressor(hidden_layer_sizes=(16,), max_iter=3000,
                                                                 learning_rate_init=0.01, random_state=7)).fit(dia.data, dia.target),
                      dia_names, dia.data))
    entries = []
    for name, m, names, X in cases:
        doc = sklearn_native.export(m, names)
        with open(os.path.join(OUT, name + ".model.json"), "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        csv(os.path.join(OUT, name + ".csv"), names, X)
        task = doc["task"]
        if task == "binary":
            pred = m.predict_proba(X)[:, 1:2]
        elif task == "multiclass":
            pred = m.predict_proba(X)
        else:
            pred = m.predict(X).reshape(-1, 1)
        z = margins(m, X)
        assert z.shape == pred.shape, (name, z.shape, pred.shape)
        one = lambda p, n: [p] if n == 1 else ["%s%d" % (p, k) for k in range(n)]
        csv(os.path.join(OUT, name + ".pred.csv"), one("p", pred.shape[1]), pred)
        csv(os.path.join(OUT, name + ".raw.csv"), one("m", z.shape[1]), z)
        entries.append({"name": name, "estimator": repr(m).replace("\n", " "), "kind": doc["kind"],
                        "task": task, "multiclass": doc.get("multiclass"), "class_labels": doc.get("class_labels"),
                        "preprocess": [p["scaler"] for p in doc.get("preprocess", [])], "rows": len(X)})
        print("  %-36s %s/%s %s" % (name, doc["kind"], task, doc.get("multiclass") or ""))
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump(entries, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()

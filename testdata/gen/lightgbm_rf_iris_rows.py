"""Writes testdata/lightgbm/lg_rf_iris_test.tsv: the test rows of
lg_rf_iris.model, the LightGBM random forest vendored from the leaves
project (testdata/lightgbm/README.md).

leaves' recipe (its testdata/iris_lightgbm_rf.py) trained the forest on
scikit-learn's iris, labels binarised (y > 0), split by
train_test_split(X, y, test_size=0.2, random_state=0), and saved
LightGBM's predictions of X_test; it did not save X_test. This script
rebuilds X_test the same way. The split is a seeded permutation, the same
in every scikit-learn release since; the Go test holds that the rows are
right: predictd's predictions of them equal LightGBM's saved ones.

Run from the repository root with Debian's python3-sklearn:
    /usr/bin/python3 testdata/gen/lightgbm_rf_iris_rows.py
Columns: the binarised label, then the four features, tab-separated,
repr() precision, no header (the layout of multiclass_test.tsv).
"""
from sklearn import datasets
from sklearn.model_selection import train_test_split

data = datasets.load_iris()
X, y = data["data"], data["target"].copy()
y[y > 0] = 1
_, X_test, _, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
with open("testdata/lightgbm/lg_rf_iris_test.tsv", "w") as f:
    for row, label in zip(X_test, y_test):
        f.write(str(int(label)) + "\t" + "\t".join(repr(float(v)) for v in row) + "\n")

#!/usr/bin/env python3
"""Check predictd's raw margins against XGBoost's own, exactly.

Usage: trees_parity.py MODEL.json ROWS.csv PREDICTD_MARGINS.csv

PREDICTD_MARGINS.csv is `predictd score --raw` on ROWS.csv (a header, then
one line per row, the margins last). XGBoost predicts the rows with
inplace_predict(predict_type="margin") on float32 rows (a pandas frame with
category columns where the model has categorical features). Prints one
line; exits 1 when any margin differs (float32 bits), 0 otherwise, and 0
with a message on stderr where xgboost, numpy or pandas is missing.
"""

import sys


def main():
    model, csv, pred = sys.argv[1:4]
    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as e:
        print(f"trees_parity.py: skipped: {e}", file=sys.stderr)
        return 0
    b = xgb.Booster(model_file=model)
    rows = np.genfromtxt(csv, delimiter=",", skip_header=1, dtype=np.float64, filling_values=np.nan)
    rows = rows.reshape(-1, len(open(csv).readline().strip().split(",")))
    if b.feature_types and "c" in b.feature_types:
        import pandas as pd

        df = pd.DataFrame(rows, columns=open(csv).readline().strip().split(","))
        for n, t in zip(b.feature_names, b.feature_types):
            if t == "c":
                df[n] = df[n].astype("category")
        want = b.inplace_predict(df, predict_type="margin")
    else:
        want = b.inplace_predict(rows.astype(np.float32), predict_type="margin")
    want = np.asarray(want, dtype=np.float32).reshape(len(rows), -1)
    got = np.genfromtxt(pred, delimiter=",", skip_header=1).reshape(len(rows), -1)
    got = got[:, -want.shape[1]:].astype(np.float32)
    diff = int((got.view(np.uint32) != want.view(np.uint32)).sum())
    print(f"parity {model}: {len(rows)} rows x {want.shape[1]} margins, {diff} differ from XGBoost's own (float32 bits)")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

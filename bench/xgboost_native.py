#!/usr/bin/env python3
"""Time XGBoost's own predictor (Booster.inplace_predict) on a model and rows,
the peer of `predictd bench` in bench/compare-trees.sh.

For each batch size and thread count (the booster's nthread), it warms up and
then calls inplace_predict on consecutive windows of `batch` rows, cycling
through the rows exactly as predictd bench does, for --duration seconds; it
reports ns per row (wall time of the loop over the rows predicted) and the
median and 99th percentile latency of a call.

Part of that time is Python's: argument checks, the array interface, the
result array. To separate it, the script times the same call on a 1-tree
slice of the model at batch 1 (overhead_ns_per_call) and reports
cxx_ns_per_row_est = ns_per_row - overhead / batch, an estimate of the C++
predictor's own cost (null where noise makes it negative). XGBoost 1.7's
fixed cost per call includes reading two cgroup files (cpu.cfs_quota_us,
cpu.cfs_period_us) to size its thread pool, which strace shows on every call.

XGBoost runs its threads with OpenMP; libgomp's default wait policy spins,
which on a shared or oversubscribed machine can make an nthread=2 call wait
milliseconds for a descheduled thread. OMP_WAIT_POLICY=passive avoids that;
bench/compare-trees.sh measures both.

Rows are passed as float64, as predictd receives them (XGBoost converts each
value to float32 as it reads it), or with --float32 as float32. XGBoost at
its best is one call over a whole float32 matrix: --float32 --batch N with N
the number of rows. Margins are asked for (predict_type
"margin"), as `predictd bench --raw` measures.

Exits 0 with a message on stderr, printing nothing on stdout, where xgboost or
numpy is not installed (Debian: apt-get install python3-xgboost).

Usage: xgboost_native.py --model M.json --csv ROWS.csv [--batch 1,32,256]
       [--threads 1,2] [--duration 2] [--json]
"""

import argparse
import json
import os
import sys
import time


def ints(s):
    return [int(x) for x in s.split(",")]


def windows(rows, batch):
    """The distinct windows predictd bench visits: starts 0, batch, 2*batch,
    ... modulo len(rows), wrapping around the end, as contiguous arrays."""
    import numpy as np

    n = len(rows)
    ext = np.concatenate([rows, np.resize(rows, (batch - 1, rows.shape[1]))]) if batch > 1 else rows
    out, seen, s = [], set(), 0
    while s not in seen:
        seen.add(s)
        out.append(np.ascontiguousarray(ext[s : s + batch]))
        s = (s + batch) % n
    return out


def measure(booster, wins, duration, warmup=0.25):
    """Calls inplace_predict over wins, cycling, for duration seconds after a
    warmup; returns (ns per call list, total ns, calls)."""
    pred = booster.inplace_predict
    k, nw = 0, len(wins)
    end = time.perf_counter() + warmup
    while True:
        pred(wins[k], predict_type="margin")
        k = (k + 1) % nw
        if time.perf_counter() >= end:
            break
    lat = []
    clock = time.perf_counter_ns
    limit = int(duration * 1e9)
    start = clock()
    t1 = start
    while t1 - start < limit:
        w = wins[k]
        k = (k + 1) % nw
        t0 = clock()
        pred(w, predict_type="margin")
        t1 = clock()
        lat.append(t1 - t0)
    return lat, t1 - start


def quantile(sorted_vals, q):
    i = min(len(sorted_vals) - 1, max(0, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="XGBoost JSON model")
    ap.add_argument("--csv", required=True, help="rows: CSV with a header naming the model's features; empty cells are missing")
    ap.add_argument("--batch", type=ints, default=[1, 32, 256])
    ap.add_argument("--threads", type=ints, default=[1, 2])
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per (batch, threads)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--float32", action="store_true",
                    help="pass rows as float32 (what XGBoost evaluates: no conversion inside the call)")
    args = ap.parse_args()

    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as e:
        print(f"xgboost_native.py: skipped: {e} (Debian: apt-get install python3-xgboost)", file=sys.stderr)
        return 0

    booster = xgb.Booster(model_file=args.model)
    with open(args.csv) as f:
        header = f.readline().strip().split(",")
    rows = np.genfromtxt(args.csv, delimiter=",", skip_header=1, dtype=np.float64, filling_values=np.nan)
    rows = rows.reshape(-1, len(header))
    names = booster.feature_names
    if names is not None and list(names) != header:
        idx = [header.index(n) for n in names]
        rows = np.ascontiguousarray(rows[:, idx])
    if args.float32:
        rows = rows.astype(np.float32)
    one_tree = booster[0:1]

    out = {
        "library": "xgboost",
        "version": xgb.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "model": args.model,
        "rows": len(rows),
        "dtype": str(rows.dtype),
        "overhead_ns_per_call": {},
        "results": [],
    }
    one_row = windows(rows, 1)
    for th in args.threads:
        one_tree.set_param({"nthread": th})
        lat, total = measure(one_tree, one_row, min(args.duration, 1.0))
        out["overhead_ns_per_call"][str(th)] = total / len(lat)
    for batch in args.batch:
        wins = windows(rows, batch)
        for th in args.threads:
            booster.set_param({"nthread": th})
            lat, total = measure(booster, wins, args.duration)
            lat.sort()
            ns_row = total / (len(lat) * batch)
            over = out["overhead_ns_per_call"][str(th)]
            out["results"].append(
                {
                    "batch": batch,
                    "threads": th,
                    "ns_per_row": ns_row,
                    "rows_per_second": 1e9 / ns_row,
                    "batch_p50_us": quantile(lat, 0.50) / 1e3,
                    "batch_p99_us": quantile(lat, 0.99) / 1e3,
                    "calls": len(lat),
                    # None where the overhead measured is larger: noise.
                    "cxx_ns_per_row_est": (ns_row - over / batch) if ns_row > over / batch else None,
                }
            )

    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"xgboost {out['version']} inplace_predict (margins), {out['rows']} rows from {args.csv}")
    for th, v in out["overhead_ns_per_call"].items():
        print(f"  Python call overhead (1-tree model, batch 1, nthread {th}): {v:.0f} ns")
    print(f"{'batch':>6} {'threads':>8} {'ns/row':>10} {'C++ est':>10} {'p50 µs':>9} {'p99 µs':>9} {'calls':>8}")
    for r in out["results"]:
        est = r["cxx_ns_per_row_est"]
        print(
            f"{r['batch']:>6} {r['threads']:>8} {r['ns_per_row']:>10.1f} {est if est is None else round(est, 1)!s:>10} "
            f"{r['batch_p50_us']:>9.2f} {r['batch_p99_us']:>9.2f} {r['calls']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

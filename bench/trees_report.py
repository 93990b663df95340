#!/usr/bin/env python3
"""Print bench/compare-trees.sh's comparison: predictd against XGBoost's
native predictor at its best and against leaves, side by side, with one
RESULT line per model for make bench-report.

Usage: trees_report.py DIR MODEL...

DIR holds, per model M, M.predictd.json (`predictd bench --json`) and
M.xgboost.json (xgboost_native.py --json, one call over the whole float32
matrix), and peers.txt (go test -bench output of BenchmarkPeers and
BenchmarkPeersCategorical). Standard library only. Ratios are the peer's
time per row over predictd's: above 1, predictd is faster.
"""

import json
import os
import re
import sys

# The SIMD level predictd was capped to (PREDICTD_SIMD), or "native".
SIMD = os.environ.get("PREDICTD_SIMD") or "native"

PEER = re.compile(r"^BenchmarkPeers(?P<cat>Categorical)?/lib=(?P<lib>\w+)/(?:trees=\d+/depth=\d+/)?batch=(?P<batch>\d+)/threads=(?P<threads>\d+)(?:-\d+)?\s.*?(?P<ns>[\d.]+) ns/row")


def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return json.loads(text) if text else None


def cell(results, batch, threads, key="ns_per_row"):
    for r in results or []:
        if r["batch"] == batch and r["threads"] == threads:
            return r[key]
    return None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    d, models = sys.argv[1], sys.argv[2:]
    head = ["model", "XGBoost best 1t ns/row", "predictd 4096 1t", "ratio", "XGBoost best 2t", "predictd 4096 2t", "ratio",
            "predictd 256 1t", "vs XGBoost best 1t", "predictd 1 row p50 µs"]
    rows, results = [], []
    for m in models:
        pd = load(os.path.join(d, m + ".predictd.json"))
        xg = load(os.path.join(d, m + ".xgboost.json"))
        if pd is None:
            continue
        xres = xg["results"] if xg else []
        xb = {t: next((r["ns_per_row"] for r in xres if r["threads"] == t), None) for t in (1, 2)}
        p4 = {t: cell(pd["results"], 4096, t) for t in (1, 2)}
        p256 = cell(pd["results"], 256, 1)
        p1 = cell(pd["results"], 1, 1, "batch_p50_us")
        ratio = lambda a, b: (a / b) if a and b else None
        r1, r2, r256 = ratio(xb[1], p4[1]), ratio(xb[2], p4[2]), ratio(xb[1], p256)
        rows.append([m, fmt(xb[1], ".0f"), fmt(p4[1], ".0f"), fmt(r1, ".2f"), fmt(xb[2], ".0f"), fmt(p4[2], ".0f"),
                     fmt(r2, ".2f"), fmt(p256, ".0f"), fmt(r256, ".2f"), fmt(p1, ".1f")])
        kv = {"bench": "trees", "model": m, "simd": SIMD, "ratio_4096_1t": fmt(r1, ".3f"), "ratio_4096_2t": fmt(r2, ".3f"),
              "ratio_256_1t": fmt(r256, ".3f"), "xgb_best_1t_ns": fmt(xb[1], ".0f"), "xgb_best_2t_ns": fmt(xb[2], ".0f"),
              "pd_4096_1t_ns": fmt(p4[1], ".0f"), "pd_4096_2t_ns": fmt(p4[2], ".0f"), "pd_256_1t_ns": fmt(p256, ".0f"),
              "pd_1_p50_us": fmt(p1, ".2f")}
        results.append(kv)
    print("predictd vs XGBoost's own predictor at its best (one inplace_predict over the whole float32 matrix), raw margins, ns per row:")
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    for r in [head] + rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(r, widths)))

    peers = {}
    try:
        with open(os.path.join(d, "peers.txt")) as f:
            for line in f:
                mt = PEER.match(line)
                if mt:
                    key = ("cat13-lightgbm" if mt["cat"] else "b300d6-fixture", mt["lib"], int(mt["batch"]), int(mt["threads"]))
                    peers[key] = float(mt["ns"])
    except FileNotFoundError:
        pass
    if peers:
        print()
        print("predictd vs leaves, the same LightGBM text (converted from XGBoost), raw margins, ns per row:")
        print(f"  {'model':<16} {'batch':>5} {'threads':>7} {'leaves':>9} {'predictd':>9} {'ratio':>6}")
        for (model, lib, batch, threads), ns in sorted(peers.items()):
            if lib != "leaves":
                continue
            p = peers.get((model, "predictd", batch, threads))
            r = ns / p if p else None
            print(f"  {model:<16} {batch:>5} {threads:>7} {ns:>9.0f} {fmt(p, '.0f'):>9} {fmt(r, '.2f'):>6}")
            if batch in (256, 4096):
                results.append({"bench": "trees-leaves", "model": model, "simd": SIMD, "batch": batch, "threads": threads,
                                "leaves_ns": f"{ns:.0f}", "pd_ns": fmt(p, ".0f"), "ratio": fmt(r, ".3f")})
    print()
    for kv in results:
        print("RESULT " + " ".join(f"{k}={v}" for k, v in kv.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

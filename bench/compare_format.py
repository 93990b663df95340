#!/usr/bin/env python3
"""Print the peer comparison of bench/compare-trees.sh side by side.

Inputs: the JSON of `predictd bench --json`, the text output of
`go test -bench BenchmarkPeers ./tools/bench/`, and the JSON of each run of
xgboost_native.py (an empty file where XGBoost was skipped). Standard library
only.

Ratios are peer time / predictd time: above 1 means predictd is faster.
"""

import json
import re
import sys

PEER_LINE = re.compile(
    r"^BenchmarkPeers/lib=(?P<lib>\w+)/trees=(?P<trees>\d+)/depth=(?P<depth>\d+)"
    r"/batch=(?P<batch>\d+)/threads=(?P<threads>\d+)(?:-\d+)?\s.*?(?P<ns>[\d.]+) ns/row"
)


def load_json(path):
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text) if text else None


def table(title, head, rows):
    print(title)
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    for r in [head] + rows:
        print("  " + "  ".join(str(v).rjust(w) for v, w in zip(r, widths)))
    print()


def ratio(peer, ours):
    return f"{peer / ours:.2f}x" if ours > 0 else "-"


def main(predictd_json, peers_txt, *xgboost_jsons):
    pd = load_json(predictd_json)
    ours = {(r["batch"], r["threads"]): r for r in pd["results"]}

    peers = {}
    shape = ""
    with open(peers_txt) as f:
        for line in f:
            m = PEER_LINE.match(line)
            if m:
                peers[(m["lib"], int(m["batch"]), int(m["threads"]))] = float(m["ns"])
                shape = f"{m['trees']} trees of depth {m['depth']}"
    rows = []
    for (lib, b, t), ns in sorted(peers.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if lib != "predictd":
            continue
        lv = peers.get(("leaves", b, t))
        rows.append([b, t, f"{ns:.0f}", f"{lv:.0f}" if lv else "-", ratio(lv, ns) if lv else "-"])
    table(
        f"predictd vs leaves: the same LightGBM text model ({shape}), the same rows, raw margins;\n"
        "Go benchmark BenchmarkPeers, ns/row (leaves/predictd above 1: predictd faster)",
        ["batch", "threads", "predictd", "leaves", "leaves/predictd"],
        rows,
    )

    runs = [x for x in (load_json(p) for p in xgboost_jsons) if x is not None]
    if not runs:
        print("predictd vs XGBoost: skipped (python3-xgboost is not installed)")
        return 0
    policy = lambda x: x.get("omp_wait_policy") or "default"
    cells = [{(r["batch"], r["threads"]): r for r in x["results"]} for x in runs]
    rows = []
    for key, o in sorted(ours.items()):
        xs = [c[key] for c in cells if key in c]
        if not xs:
            continue
        best = min(xs, key=lambda r: r["ns_per_row"])
        est = best["cxx_ns_per_row_est"]
        rows.append(
            [key[0], key[1], f"{o['ns_per_row']:.0f}"]
            + [f"{r['ns_per_row']:.0f}" for r in xs]
            + [
                ratio(best["ns_per_row"], o["ns_per_row"]),
                f"{est:.0f}" if est is not None else "n/a",
                ratio(est, o["ns_per_row"]) if est is not None else "n/a",
                f"{o['batch_p50_us']:.1f}/{o['batch_p99_us']:.1f}",
                f"{best['batch_p50_us']:.1f}/{best['batch_p99_us']:.1f}",
            ]
        )
    over = "; ".join(
        f"OMP {policy(x)}: " + ", ".join(f"nthread {k} {v / 1e3:.1f} µs" for k, v in x["overhead_ns_per_call"].items())
        for x in runs
    )
    x0 = runs[0]
    table(
        f"predictd vs XGBoost {x0['version']} inplace_predict: the XGBoost JSON model, the same {x0['rows']} rows, margins;\n"
        f"predictd bench vs bench/xgboost_native.py, ns/row, XGBoost with each OpenMP wait policy;\n"
        f"ratios and percentiles use XGBoost's faster policy (xgb/predictd above 1: predictd faster).\n"
        f"XGBoost's per-call overhead (1-tree model, batch 1): {over}.\n"
        f"'C++ est' subtracts it from XGBoost's time (n/a where noise makes that negative)",
        ["batch", "threads", "predictd"]
        + [f"xgb ({policy(x)})" for x in runs]
        + ["xgb/predictd", "xgb C++ est", "est/predictd", "predictd p50/p99 µs", "xgb p50/p99 µs"],
        rows,
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: compare_format.py PREDICTD.json PEERS.txt [XGBOOST.json ...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))

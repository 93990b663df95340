#!/usr/bin/env bash
# Compare predictd's tree-ensemble speed with its peers, on this machine, in
# one run: XGBoost's 300 trees of depth 6 (testdata/xgboost/
# gbtree_binary_logistic_300x6.json) and its 2000 rows, batch 1, 32 and 256,
# 1 and 2 threads.
#
#   - predictd vs leaves (github.com/dmitryikh/leaves): BenchmarkPeers in
#     tools/bench, both reading the same LightGBM text (converted from the
#     XGBoost model; TestPeersAgree shows they compute the same margins).
#   - predictd vs XGBoost's own predictor: `predictd bench` on the imported
#     model and bench/xgboost_native.py (inplace_predict), run with libgomp's
#     default wait policy and with OMP_WAIT_POLICY=passive; skipped politely
#     where python3-xgboost is absent.
#
# All measure raw margins. Environment: DURATION seconds per cell (default 2),
# BENCHTIME for the Go benchmark (default 2s), PYTHON (default
# /usr/bin/python3, where Debian's python3-xgboost lives), OUT a folder to
# keep the raw outputs in. The machine should be otherwise idle: on a shared
# or busy machine, run it twice and compare.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-2}
BENCHTIME=${BENCHTIME:-2s}
PYTHON=${PYTHON:-/usr/bin/python3}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
MODEL=testdata/xgboost/gbtree_binary_logistic_300x6.json
ROWS=testdata/xgboost/gbtree_binary_logistic_300x6.csv

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== build predictd and import the model" >&2
go build -o "$tmp/predictd" ./cmd/predictd
"$tmp/predictd" import --from xgboost --in "$MODEL" --repo "$tmp/repo" --name trees300x6 >/dev/null

echo "== predictd bench (${DURATION}s per cell)" >&2
"$tmp/predictd" bench --repo "$tmp/repo" --model trees300x6 --in "$ROWS" \
  --batch 1,32,256 --threads 1,2 --duration "${DURATION}s" --raw --json >"$tmp/predictd.json"

# XGBoost's OpenMP threads: libgomp's default wait policy spins, and on a
# shared machine an nthread=2 call can then wait milliseconds for a
# descheduled thread; "passive" sleeps instead. Both are measured.
: >"$tmp/xgboost.json"
: >"$tmp/xgboost-passive.json"
if command -v "$PYTHON" >/dev/null 2>&1; then
  echo "== XGBoost inplace_predict, OpenMP default wait policy (${DURATION}s per cell)" >&2
  env -u OMP_WAIT_POLICY "$PYTHON" bench/xgboost_native.py --model "$MODEL" --csv "$ROWS" \
    --batch 1,32,256 --threads 1,2 --duration "$DURATION" --json >"$tmp/xgboost.json"
  echo "== XGBoost inplace_predict, OMP_WAIT_POLICY=passive (${DURATION}s per cell)" >&2
  OMP_WAIT_POLICY=passive "$PYTHON" bench/xgboost_native.py --model "$MODEL" --csv "$ROWS" \
    --batch 1,32,256 --threads 1,2 --duration "$DURATION" --json >"$tmp/xgboost-passive.json"
else
  echo "compare-trees.sh: no python3: XGBoost skipped" >&2
fi

echo "== leaves vs predictd: go test -bench BenchmarkPeers (benchtime $BENCHTIME)" >&2
go test -run '^$' -bench '^BenchmarkPeers$' -benchtime "$BENCHTIME" -count 1 ./tools/bench/ >"$tmp/peers.txt"

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$tmp/predictd.json" "$tmp/xgboost.json" "$tmp/xgboost-passive.json" "$tmp/peers.txt" "$OUT"/
fi

echo
echo "machine: $(nproc) cores, $(uname -m); $(go version | cut -d' ' -f3); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if command -v "$PYTHON" >/dev/null 2>&1; then
  "$PYTHON" bench/compare_format.py "$tmp/predictd.json" "$tmp/peers.txt" "$tmp/xgboost.json" "$tmp/xgboost-passive.json"
else
  cat "$tmp/predictd.json" "$tmp/peers.txt"
fi

# XGBoost through its C API, without Python: the peer for single-row
# latency. Debian's python3-xgboost ships libxgboost.so.0; no header is
# needed (bench/xgboost_capi.c declares the prototypes).
if command -v gcc >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libxgboost.so.0'; then
  gcc -O2 -o "$tmp/xgboost_capi" bench/xgboost_capi.c -l:libxgboost.so.0 -lm
  echo
  echo "XGBoost C API (XGBoosterPredictFromDense, transformed output) vs predictd bench, same rows:"
  "$tmp/predictd" bench --repo "$tmp/repo" --model trees300x6 --in "$ROWS" \
    --batch 1,32,256 --threads 1 --duration "${DURATION}s"
  for b in 1 32 256; do
    OMP_WAIT_POLICY=passive "$tmp/xgboost_capi" "$MODEL" "$ROWS" 1 "$b" "$DURATION"
  done
else
  echo "compare-trees.sh: gcc or libxgboost.so.0 missing: XGBoost C API skipped" >&2
fi

#!/usr/bin/env bash
# Compare predictd's tree-ensemble speed with its peers, on this machine, in
# one run, on models trained at run time by XGBoost itself
# (bench/trees_models.py: 300 trees of depth 6, 1,000 of depth 4, 50-class
# softprob, depth 8, leaf-wise with 255 leaves, 1,200 sparse features,
# 13-class categorical; 20,000 rows each):
#
#   - parity first: predictd's raw margins on every row must equal
#     XGBoost's own to the float32 bit (bench/trees_parity.py), or the run
#     fails;
#   - predictd vs XGBoost's native predictor at its best: one
#     inplace_predict over the whole float32 matrix, nthread 1 and 2
#     (OMP_WAIT_POLICY=passive), beside `predictd bench` at batch 4096, 256
#     and 1 on 1 and 2 threads;
#   - predictd vs leaves (github.com/dmitryikh/leaves) on the same LightGBM
#     text: BenchmarkPeers (the committed 300x6 fixture) and
#     BenchmarkPeersCategorical (cat13 converted to LightGBM's categorical
#     splits), both checking the two agree before timing;
#   - single-row latency against XGBoost's C API, without Python.
#
# The report (bench/trees_report.py) ends with one `RESULT bench=trees ...`
# line per model and `RESULT bench=trees-leaves ...` lines for make
# bench-report.
#
# Environment: DURATION seconds per cell (default 2), BENCHTIME for the Go
# benchmarks (default 1s), PYTHON (default /usr/bin/python3, where Debian's
# python3-xgboost lives), MODELS (default all seven), TREES_DIR where the
# trained models are kept between runs (default $TMPDIR/predictd-trees),
# OUT a folder to keep the raw outputs in. Without python3-xgboost the
# XGBoost models cannot be made and the script says so and exits 0.
# The machine is shared: run it twice and compare before trusting a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-2}
BENCHTIME=${BENCHTIME:-1s}
PYTHON=${PYTHON:-/usr/bin/python3}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
MODELS=${MODELS:-b300d6 b1000d4 m50d6 b200d8 lossguide255 sparse1200 cat13}
TREES_DIR=${TREES_DIR:-${TMPDIR:-/tmp}/predictd-trees}

if ! "$PYTHON" -c 'import xgboost, numpy, pandas' 2>/dev/null; then
  echo "compare-trees.sh: skipped: needs $PYTHON with xgboost, numpy and pandas (Debian: apt-get install python3-xgboost python3-pandas)" >&2
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== XGBoost trains the models (kept in $TREES_DIR)" >&2
missing=""
for m in $MODELS; do [ -s "$TREES_DIR/$m.json" ] || missing="$missing,$m"; done
if [ -n "$missing" ]; then
  "$PYTHON" bench/trees_models.py --out "$TREES_DIR" --only "${missing#,}"
fi

echo "== build predictd, import, check parity with XGBoost" >&2
GOEXPERIMENT=simd go build -o "$tmp/predictd" ./cmd/predictd
simd=$("$tmp/predictd" version 2>/dev/null | tr '\n' ' ' || true)
for m in $MODELS; do
  "$tmp/predictd" import --from xgboost --in "$TREES_DIR/$m.json" --repo "$tmp/repo" --name "$m" >/dev/null
  "$tmp/predictd" score --repo "$tmp/repo" --model "$m" --in "$TREES_DIR/$m.csv" --raw --out "$tmp/$m.margins.csv"
  "$PYTHON" bench/trees_parity.py "$TREES_DIR/$m.json" "$TREES_DIR/$m.csv" "$tmp/$m.margins.csv"
done

for m in $MODELS; do
  rows=$(($(wc -l <"$TREES_DIR/$m.csv") - 1))
  echo "== $m: XGBoost inplace_predict over all $rows rows (float32), then predictd bench (${DURATION}s per cell)" >&2
  OMP_WAIT_POLICY=passive "$PYTHON" bench/xgboost_native.py --model "$TREES_DIR/$m.json" --csv "$TREES_DIR/$m.csv" \
    --float32 --batch "$rows" --threads 1,2 --duration "$DURATION" --json >"$tmp/$m.xgboost.json"
  "$tmp/predictd" bench --repo "$tmp/repo" --model "$m" --in "$TREES_DIR/$m.csv" \
    --batch 4096,256,1 --threads 1,2 --duration "${DURATION}s" --raw --json >"$tmp/$m.predictd.json"
done

echo "== leaves vs predictd: BenchmarkPeers, BenchmarkPeersCategorical (benchtime $BENCHTIME)" >&2
: >"$tmp/peers.txt"
GOEXPERIMENT=simd go test -run '^$' -bench '^BenchmarkPeers$' -benchtime "$BENCHTIME" -count 1 ./tools/bench/ >>"$tmp/peers.txt"
if [ -s "$TREES_DIR/cat13.json" ]; then
  PREDICTD_PEERS_MODEL="$TREES_DIR/cat13.json" PREDICTD_PEERS_ROWS="$TREES_DIR/cat13.csv" \
    GOEXPERIMENT=simd go test -run '^$' -bench '^BenchmarkPeersCategorical$' -benchtime "$BENCHTIME" -count 1 ./tools/bench/ >>"$tmp/peers.txt"
fi

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$tmp"/*.json "$tmp/peers.txt" "$OUT"/
fi

echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(grep -o -m1 -w 'avx512f\|avx2' /proc/cpuinfo | head -1) $simd; $(go version | cut -d' ' -f3); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PYTHON" bench/trees_report.py "$tmp" $MODELS

# XGBoost through its C API, without Python: the peer for single-row
# latency. Debian's python3-xgboost ships libxgboost.so.0; no header is
# needed (bench/xgboost_capi.c declares the prototypes).
MODEL=testdata/xgboost/gbtree_binary_logistic_300x6.json
ROWS=testdata/xgboost/gbtree_binary_logistic_300x6.csv
if command -v gcc >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libxgboost.so.0'; then
  gcc -O2 -o "$tmp/xgboost_capi" bench/xgboost_capi.c -l:libxgboost.so.0 -lm
  "$tmp/predictd" import --from xgboost --in "$MODEL" --repo "$tmp/repo" --name fixture300x6 >/dev/null
  echo
  echo "Single rows: XGBoost C API (XGBoosterPredictFromDense, transformed output) vs predictd bench, $MODEL:"
  "$tmp/predictd" bench --repo "$tmp/repo" --model fixture300x6 --in "$ROWS" \
    --batch 1,32 --threads 1 --duration "${DURATION}s"
  for b in 1 32; do
    OMP_WAIT_POLICY=passive "$tmp/xgboost_capi" "$MODEL" "$ROWS" 1 "$b" "$DURATION"
  done
else
  echo "compare-trees.sh: gcc or libxgboost.so.0 missing: XGBoost C API skipped" >&2
fi

#!/usr/bin/env bash
# dataset.sh: `predictd dataset` (the point-in-time join, tools/dataset) at
# scale, beside pandas merge_asof on the same data, on this machine:
#
#   data    bench/dataset_gen.mjs (DuckDB): ENTITY_ROWS entity rows (default
#           10,000,000) against three views: user_stats (1M users x 3 rows,
#           string key), device_stats (1M devices x 3 rows, int key),
#           merchant_stats (100k merchants x 10 rows, int key); unsorted.
#           Parquet for predictd; the same rows as CSV for pandas (whose
#           Debian package has no Parquet reader), times as integer
#           nanoseconds so pandas spends nothing on date parsing.
#   predictd  predictd dataset --memory MEMORY: reads the Parquet inputs,
#           joins, writes the training set (Parquet).
#   pandas  bench/dataset_pandas.py: reads the CSVs, then the same join
#           with merge_asof (dedupe, backward by key within the TTL, age <
#           TTL, defaults, entity order); writes nothing.
#
# The two run alternately, ROUNDS times each (default 3); reported are the
# medians: rows/s over the whole run (entity rows / wall seconds), pandas'
# join alone too, and peak RSS (/usr/bin/time's maximum resident set size).
# Each round also checks that both found the same number of present rows per
# view. The load average is printed at the start and the end: the machine is
# shared.
#
#   bash bench/dataset.sh
#   ENTITY_ROWS=1000000 ROUNDS=1 bash bench/dataset.sh
#
# Environment: ENTITY_ROWS, ROUNDS, MEMORY (256MiB), DATA_DIR (default
# /tmp/predictd-dataset-bench-$ENTITY_ROWS; reused when it has the data),
# PQGEN (the folder where @duckdb/node-api is installed, /tmp/pqgen),
# PYTHON (/usr/bin/python3).
#
# Output ends with
#   RESULT bench=dataset rows=N views=3 memory=256MiB predictd_rows_per_s=R
#     predictd_peak_rss_mib=M pandas_rows_per_s=R pandas_join_rows_per_s=R
#     pandas_peak_rss_mib=M speedup=X rss_ratio=X rounds=K nproc=2 load=L
set -euo pipefail
cd "$(dirname "$0")/.."
ENTITY_ROWS=${ENTITY_ROWS:-10000000}
ROUNDS=${ROUNDS:-3}
MEMORY=${MEMORY:-256MiB}
DATA_DIR=${DATA_DIR:-/tmp/predictd-dataset-bench-$ENTITY_ROWS}
PQGEN=${PQGEN:-/tmp/pqgen}
PYTHON=${PYTHON:-/usr/bin/python3}
REPO=$(pwd)

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS" "$DATA_DIR/train.parquet"' EXIT
BIN="$LOGS/predictd" # built here, not in bin/: other benchmarks may be using that one
go build -o "$BIN" ./cmd/predictd
if [ ! -s "$DATA_DIR/entities.parquet" ] || [ ! -s "$DATA_DIR/merchant_stats.csv" ]; then
  echo "generating $ENTITY_ROWS entity rows into $DATA_DIR"
  (cd "$PQGEN" && ENTITY_ROWS=$ENTITY_ROWS node "$REPO/bench/dataset_gen.mjs" "$DATA_DIR")
fi
rm -f "$DATA_DIR/train.parquet"
du -sh "$DATA_DIR"/*.parquet | sed 's/^/  /'

# peak_rss_mib LOG: /usr/bin/time -v's maximum resident set size, MiB.
peak_rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
# wall_s LOG: /usr/bin/time -v's elapsed wall clock, seconds.
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: > "$LOGS/p_wall"; : > "$LOGS/p_rss"; : > "$LOGS/d_wall"; : > "$LOGS/d_join"; : > "$LOGS/d_rss"
for r in $(seq 1 "$ROUNDS"); do
  /usr/bin/time -v "$BIN" dataset --features "$DATA_DIR/defs.yaml" --entities "$DATA_DIR/entities.parquet" \
    --out "$DATA_DIR/train.parquet" --memory "$MEMORY" > "$LOGS/p.out" 2> "$LOGS/p.time"
  pw=$(wall_s "$LOGS/p.time"); prss=$(peak_rss_mib "$LOGS/p.time")
  echo "$pw" >> "$LOGS/p_wall"; echo "$prss" >> "$LOGS/p_rss"
  /usr/bin/time -v "$PYTHON" bench/dataset_pandas.py "$DATA_DIR" > "$LOGS/d.out" 2> "$LOGS/d.time"
  dw=$(wall_s "$LOGS/d.time"); drss=$(peak_rss_mib "$LOGS/d.time")
  dj=$(sed -n 's/.*join_s=\([0-9.]*\).*/\1/p' "$LOGS/d.out")
  echo "$dw" >> "$LOGS/d_wall"; echo "$drss" >> "$LOGS/d_rss"; echo "$dj" >> "$LOGS/d_join"
  echo "round $r: predictd ${pw}s peak ${prss} MiB; pandas ${dw}s (join ${dj}s) peak ${drss} MiB; load $(cut -d' ' -f1 /proc/loadavg)"
  # Both must find the same rows present in each view.
  for v in user_stats device_stats merchant_stats; do
    pp=$(sed -n "s/^  $v (.*): \([0-9]*\) present.*/\1/p" "$LOGS/p.out")
    dp=$(sed -n "s/.*present_$v=\([0-9]*\).*/\1/p" "$LOGS/d.out")
    if [ "$pp" != "$dp" ]; then
      echo "MISMATCH: view $v: predictd $pp present rows, pandas $dp" >&2
      cat "$LOGS/p.out" "$LOGS/d.out" >&2
      exit 1
    fi
  done
done
cat "$LOGS/p.out"
pw=$(median < "$LOGS/p_wall"); prss=$(median < "$LOGS/p_rss")
dw=$(median < "$LOGS/d_wall"); dj=$(median < "$LOGS/d_join"); drss=$(median < "$LOGS/d_rss")
load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$ENTITY_ROWS" -v pw="$pw" -v prss="$prss" -v dw="$dw" -v dj="$dj" -v drss="$drss" -v mem="$MEMORY" \
    -v rounds="$ROUNDS" -v nproc="$(nproc)" -v load="$load" 'BEGIN {
  printf "%-10s %12s %14s %14s\n", "", "wall s", "rows/s", "peak RSS MiB"
  printf "%-10s %12.2f %14.0f %14d\n", "predictd", pw, n / pw, prss
  printf "%-10s %12.2f %14.0f %14d   (join alone %.2f s, %.0f rows/s)\n", "pandas", dw, n / dw, drss, dj, n / dj
  printf "RESULT bench=dataset rows=%d views=3 memory=%s predictd_rows_per_s=%.0f predictd_peak_rss_mib=%d pandas_rows_per_s=%.0f pandas_join_rows_per_s=%.0f pandas_peak_rss_mib=%d speedup=%.2f rss_ratio=%.3f rounds=%d nproc=%d load=%s\n",
    n, mem, n / pw, prss, n / dw, n / dj, drss, dw / pw, prss / drss, rounds, nproc, load
}'

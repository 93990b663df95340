#!/usr/bin/env bash
# train_gbdt.sh: gradient-boosted tree training speed, predictd
# (tools/train/gbdt.Train via bench/train_gbdt) beside XGBoost 1.7.4
# tree_method=hist (bench/train_gbdt_xgb.py), same data, same
# hyperparameters, same run, at 1 and 2 threads.
# Data: make_classification(ROWS + 50000, 40 features, 20 informative,
# random_state=1); the first ROWS rows train, the last 50,000 test. Each
# round runs both sides once per thread count, the order alternating
# (predictd first in odd rounds). A fit is timed from the rows in memory to
# the trained model: binning (XGBoost: DMatrix and quantile sketch)
# included, reading the files and process start not. rows/s = ROWS / fit
# seconds. The report gives medians over rounds, the ratio predictd/XGBoost
# rows/s (above 1: predictd faster), both sides' test logloss and AUC (the
# same model within noise), and the load average.
#
# GROW=lossguide grows best-first on both sides (XGBoost's grow_policy),
# with at most MAX_LEAVES leaves a tree (0: no limit; DEPTH=0: no depth
# limit).
#
#   bash bench/train_gbdt.sh
#   ROUNDS=3 ROWS=1000000 TREES=50 DEPTH=6 bash bench/train_gbdt.sh
#   GROW=lossguide MAX_LEAVES=31 DEPTH=0 bash bench/train_gbdt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
ROWS=${ROWS:-1000000}
TREES=${TREES:-50}
DEPTH=${DEPTH:-6}
ETA=${ETA:-0.3}
MAXBIN=${MAXBIN:-255}
GROW=${GROW:-depthwise}
MAX_LEAVES=${MAX_LEAVES:-0}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/train_gbdt" ./bench/train_gbdt
$PY - "$work" "$ROWS" <<'PYEOF'
import sys
from sklearn import datasets
work, rows = sys.argv[1], int(sys.argv[2])
X, y = datasets.make_classification(n_samples=rows + 50000, n_features=40, n_informative=20, random_state=1)
X[:rows].astype("<f8").tofile(f"{work}/train.x")
y[:rows].astype("<i8").tofile(f"{work}/train.y")
X[rows:].astype("<f8").tofile(f"{work}/test.x")
y[rows:].astype("<i8").tofile(f"{work}/test.y")
PYEOF
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -E "s/.*\"$1\": ?([^,}]*).*/\1/"; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $ROWS x 40 train, 50000 test; trees=$TREES depth=$DEPTH grow=$GROW max_leaves=$MAX_LEAVES eta=$ETA max_bin=$MAXBIN lambda=1 min_child_weight=1, no subsampling"
for threads in 1 2; do
	: >"$work/go.$threads"
	: >"$work/py.$threads"
	for r in $(seq 1 "$ROUNDS"); do
		rungo() { "$work/train_gbdt" -x "$work/train.x" -y "$work/train.y" -cols 40 -trees "$TREES" -depth "$DEPTH" -eta "$ETA" -max-bin "$MAXBIN" -threads "$threads" -grow "$GROW" -max-leaves "$MAX_LEAVES" -test-x "$work/test.x" -test-y "$work/test.y" >>"$work/go.$threads"; }
		runpy() { $PY bench/train_gbdt_xgb.py "$work/train.x" "$work/train.y" 40 "$TREES" "$DEPTH" "$ETA" "$MAXBIN" "$threads" "$work/test.x" "$work/test.y" "$GROW" "$MAX_LEAVES" >>"$work/py.$threads"; }
		if ((r % 2)); then rungo; runpy; else runpy; rungo; fi
		echo "  round $r threads=$threads load $(cut -d' ' -f1 /proc/loadavg): predictd $(tail -1 "$work/go.$threads" | field fit_s)s xgboost $(tail -1 "$work/py.$threads" | field fit_s)s"
	done
	g=$(field rows_per_s <"$work/go.$threads" | median)
	p=$(field rows_per_s <"$work/py.$threads" | median)
	echo "threads=$threads ($ROUNDS rounds):"
	echo "  predictd: median $(printf '%.0f' "$g") rows/s, last: $(tail -1 "$work/go.$threads")"
	echo "  xgboost:  median $(printf '%.0f' "$p") rows/s, last: $(tail -1 "$work/py.$threads")"
	echo "RESULT bench=train_gbdt threads=$threads rows=$ROWS trees=$TREES depth=$DEPTH grow=$GROW max_leaves=$MAX_LEAVES predictd_rows_per_s=$(printf '%.0f' "$g") xgboost_rows_per_s=$(printf '%.0f' "$p") ratio=$(awk -v a="$g" -v b="$p" 'BEGIN {printf "%.2f", a/b}') rounds=$ROUNDS load=$(cut -d' ' -f1 /proc/loadavg)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# train_linear.sh: L2 logistic regression fit time, predictd
# (tools/train/linear.LogisticL2, gonum L-BFGS) beside scikit-learn 1.2.1's
# LogisticRegression(solver="lbfgs"), same data, C and tol, same run.
# Data sets: breast_cancer (569 x 30, standardized), digits (1797 x 64,
# pixels / 16, 10 classes: multinomial) and a synthetic
# make_classification set (ROWS x 40, seed 1). Three runs each round, the
# order rotating: sklearn; predictd with sklearn's stopping rule (gradient
# below TOL or an iteration lowering the objective by at most scipy's
# ftol, LogisticOptions.ObjectiveTol = SklearnObjectiveTol: the like-for-
# like run, "ratio"); predictd with only the gradient rule (its default,
# which goes on to the optimum, "strict"). Each run fits several times in
# one process (median taken; loading and process start are not timed).
# The report gives the medians over rounds, the ratios sklearn/predictd
# (above 1: predictd faster), the iterations and objectives each reached,
# and the load average.
#
#   bash bench/train_linear.sh
#   ROUNDS=3 ROWS=100000 C=1 TOL=1e-4 bash bench/train_linear.sh
#
# Threads: both as they run by default. predictd evaluates the loss and
# gradient over row chunks on GOMAXPROCS goroutines; scikit-learn 1.2.1
# computes the per-row loss on one thread (n_threads=1 in
# LogisticRegression.fit) and the products X·w and Xᵀ·r in OpenBLAS
# (Debian's openblas-pthread, on all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
ROWS=${ROWS:-100000}
C=${C:-1}
TOL=${TOL:-1e-4}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/train_linear" ./bench/train_linear
$PY - "$work" "$ROWS" <<'PYEOF'
import sys
import numpy as np
from sklearn import datasets
from sklearn.preprocessing import StandardScaler
work, rows = sys.argv[1], int(sys.argv[2])
bc = datasets.load_breast_cancer()
StandardScaler().fit_transform(bc.data).astype("<f8").tofile(f"{work}/bc.x")
bc.target.astype("<i8").tofile(f"{work}/bc.y")
dg = datasets.load_digits()
(dg.data / 16.0).astype("<f8").tofile(f"{work}/digits.x")
dg.target.astype("<i8").tofile(f"{work}/digits.y")
X, y = datasets.make_classification(n_samples=rows, n_features=40, n_informative=20, random_state=1)
X.astype("<f8").tofile(f"{work}/syn.x")
y.astype("<i8").tofile(f"{work}/syn.y")
PYEOF
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -E "s/.*\"$1\": ?([^,}]*).*/\1/"; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for set in bc:30:20 digits:64:5 syn:40:3; do
	IFS=: read -r name cols reps <<<"$set"
	: >"$work/go.$name"
	: >"$work/strict.$name"
	: >"$work/py.$name"
	rungo() { "$work/train_linear" -x "$work/$name.x" -y "$work/$name.y" -cols "$cols" -c "$C" -tol "$TOL" -objtol 2.220446049250313e-09 -reps "$reps" >>"$work/go.$name"; }
	runstrict() { "$work/train_linear" -x "$work/$name.x" -y "$work/$name.y" -cols "$cols" -c "$C" -tol "$TOL" -reps "$reps" >>"$work/strict.$name"; }
	runpy() { $PY bench/train_linear_sklearn.py "$work/$name.x" "$work/$name.y" "$cols" "$C" "$TOL" "$reps" >>"$work/py.$name"; }
	for r in $(seq 1 "$ROUNDS"); do
		case $((r % 3)) in
		1) rungo; runpy; runstrict ;;
		2) runpy; runstrict; rungo ;;
		0) runstrict; rungo; runpy ;;
		esac
	done
	g=$(field fit_s <"$work/go.$name" | median)
	s=$(field fit_s <"$work/strict.$name" | median)
	p=$(field fit_s <"$work/py.$name" | median)
	echo "$name ($(($(stat -c %s "$work/$name.y") / 8)) x $cols, C=$C tol=$TOL, $ROUNDS rounds x $reps fits):"
	echo "  predictd (sklearn's stop): median ${g}s, last: $(tail -1 "$work/go.$name")"
	echo "  predictd (strict):         median ${s}s, last: $(tail -1 "$work/strict.$name")"
	echo "  sklearn:                   median ${p}s, last: $(tail -1 "$work/py.$name")"
	echo "RESULT bench=train_linear set=$name predictd_s=$g predictd_strict_s=$s sklearn_s=$p ratio=$(awk -v a="$p" -v b="$g" 'BEGIN {printf "%.2f", a/b}') strict_ratio=$(awk -v a="$p" -v b="$s" 'BEGIN {printf "%.2f", a/b}') rounds=$ROUNDS load=$(cut -d' ' -f1 /proc/loadavg)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

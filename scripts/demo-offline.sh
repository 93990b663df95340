#!/usr/bin/env bash
# demo-offline.sh BIN DIR REPO: the offline half of the loop on the fraud
# model (imported into REPO as "fraud"): build its training set and a holdout
# with `predictd dataset` from the demo's feature sources (demo.yaml's views
# point at their histories under testdata/offline), validate the training set
# against the model's reviewed data contract (testdata/offline/
# fraud.contract.yaml), where one deliberate upstream bug must be reported,
# evaluate the model on the holdout by slice, and compare it with a smaller
# candidate (fraud_small) on quality, latency and cost. Then, with the
# upstream bug fixed and the training set clean, train a fraud model in
# predictd (testdata/offline/fraud.train.yaml: its transforms travel in the
# artifact), evaluate it by slice, compare it with the imported XGBoost
# model as a candidate, and retrain it on more data as a scheduled retrain
# would. Writes under DIR.
set -euo pipefail
bin=$1 dir=$2 repo=$3
defs=testdata/features/demo.yaml
labels=testdata/offline/labels.csv
mkdir -p "$dir"

echo "== the labels: 5000 transactions (user_id, merchant_id, event_timestamp, amount, hour, country, device, is_fraud); the first 4000 train, the last 1000 are the holdout"
head -2 "$labels"
# The deliberate anomaly: a client release started writing the device as
# "iOS" in some of this month's rows. The contract must catch it before the
# rows reach training.
head -4001 "$labels" | awk -F, 'BEGIN {OFS = ","} NR > 1 && $8 == "ios" && NR % 7 == 0 {$8 = "iOS"} {print}' >"$dir/train_labels.csv"
{ head -1 "$labels"; tail -n +4002 "$labels"; } >"$dir/holdout_labels.csv"

echo "== point-in-time training set: each label row joined with each view's latest row at or before its time and within the view's TTL (else the default), as serving fills it"
"$bin" dataset --features "$defs" --entities "$dir/train_labels.csv" --out "$dir/train.parquet"
"$bin" dataset --features "$defs" --entities "$dir/holdout_labels.csv" --out "$dir/holdout.parquet"

echo "== validate the training set against the model's data contract (one deliberate anomaly expected: device \"iOS\")"
set +e
"$bin" contract validate --contract testdata/offline/fraud.contract.yaml --in "$dir/train.parquet" --json "$dir/contract.json"
rc=$?
set -e
if [ "$rc" -ne 1 ]; then
  echo "demo: contract validate exited $rc, want 1 (the deliberate anomaly)" >&2
  exit 1
fi
grep -q '"new_category"' "$dir/contract.json" || { echo "demo: the anomaly report lacks the new category" >&2; exit 1; }
echo "(exit 1: anomalies, as intended)"

echo "== evaluate the served fraud model on the holdout, by country and device, with fairness gaps by country"
"$bin" eval --repo "$repo" --model fraud --in "$dir/holdout.parquet" --label is_fraud \
  --slice country --slice device --protected country --html "$dir/eval.html" --record
echo "(page: $dir/eval.html; the evaluation is recorded in the version's manifest)"

echo "== candidates: fraud against a smaller model on the same holdout, quality against latency and cost"
"$bin" import --from xgboost --in testdata/offline/fraud_small.json --repo "$repo" --name fraud_small
"$bin" candidates --repo "$repo" --models fraud,fraud_small --in "$dir/holdout.parquet" --label is_fraud \
  --slice country --slo-p99 1ms --cost-per-core-hour 0.04 --duration 200ms --html "$dir/candidates.html" --quiet
echo "(page: $dir/candidates.html)"

echo "== the upstream bug fixed (device back to \"ios\"), the training set validates clean"
head -4001 "$labels" >"$dir/train_labels_fixed.csv"
"$bin" dataset --features "$defs" --entities "$dir/train_labels_fixed.csv" --out "$dir/train_fixed.parquet"
"$bin" contract validate --contract testdata/offline/fraud.contract.yaml --in "$dir/train_fixed.parquet"

echo "== train a fraud model in predictd from that training set (spec: testdata/offline/fraud.train.yaml)"
echo "   transforms are fitted on the training split and stored in the artifact; serve and score apply them to raw values"
"$bin" train --spec testdata/offline/fraud.train.yaml --in "$dir/train_fixed.parquet" --repo "$repo" --model fraud_trained --predictions "$dir/fraud_trained.valid.csv"
"$bin" inspect --repo "$repo" --model fraud_trained | sed -n '/^evaluation/,$p'

echo "== evaluate the trained model on the same holdout, by country and device"
"$bin" eval --repo "$repo" --model fraud_trained --in "$dir/holdout.parquet" --label is_fraud \
  --slice country --slice device --html "$dir/eval_trained.html"

echo "== candidates: the imported XGBoost fraud model against the one predictd trained, on the holdout"
"$bin" candidates --repo "$repo" --models fraud,fraud_trained --in "$dir/holdout.parquet" --label is_fraud \
  --slice country --slo-p99 1ms --cost-per-core-hour 0.04 --duration 200ms --html "$dir/candidates_trained.html" --quiet
echo "(page: $dir/candidates_trained.html)"

echo "== a scheduled retrain is one command: the same spec (read from the version's lineage) on the newer data, the parent recorded"
"$bin" retrain --from fraud_trained:1 --in "$dir/train_fixed.parquet,$dir/holdout.parquet" --repo "$repo"
"$bin" inspect --repo "$repo" --model fraud_trained | sed -n '/^lineage/,/seed/p'

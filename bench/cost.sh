#!/usr/bin/env bash
# cost.sh: the daemon's own cost per prediction (monitor/cost: process CPU
# split among versions: sampled span times, the rest by requests) beside what
# `predictd capacity` computes from process_cpu_seconds_total for the same
# model and load (issue 14: within 20%).
#
# 1. One model (the 300-tree depth-6 XGBoost benchmark model), a fixed
#    open-loop rate: `predictd capacity` runs one step at RATE
#    (--start-rate = --max-rate, --headroom 1 so its price is CPU alone)
#    against a fresh `predictd serve --cost-per-core-hour PRICE`; then the
#    daemon's GET /v1/models/trees/monitor (cost.CPUPerPrediction since
#    load, which is the capacity step: the server is fresh and the ledger
#    leaves CPU spent before the first request unattributed) and /metrics
#    (predictd_cost_per_million_predictions, priced once 30s of ticks
#    cover the version: DURATION must be longer). Capacity's scrapes are
#    ledger ticks too, so both cover the same interval.
# 2. The same for the logistic regression (testdata/native/logreg_binary,
#    10 features) at LRATE.
# 3. Attribution: both models served by one process at once, each at its
#    rate (two `predictd loadtest` runs side by side); each version's
#    attributed CPU per prediction beside what capacity measured for it
#    alone in 1 and 2 (with one model serving, the ledger's figure is the
#    process's by construction; here it must split it), and the sum of the
#    attributed CPU beside the process's.
#
#   bash bench/cost.sh                        # 40s per run, trees at 3000/s, logistic at 3000/s
#   RATE=5000 LRATE=1000 DURATION=60s bash bench/cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-3000}
LRATE=${LRATE:-3000}
DURATION=${DURATION:-40s}
WARMUP=${WARMUP:-2s}
PRICE=${PRICE:-0.05}

work=$(mktemp -d)
server_pid=""
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/serve-lib.sh
. bench/serve-lib.sh
build_predictd

"$bin" import --from xgboost --in testdata/xgboost/gbtree_binary_logistic_300x6.json --repo "$work/repo" --name trees >/dev/null
"$bin" import --from native --in testdata/native/logreg_binary.model.json --repo "$work/repo" --name logistic >/dev/null
# Instances, one a line, from each model's rows (missing cells as null).
ndjson() { awk -F, 'NR > 1 { s = "["; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") ($i == "" ? "null" : $i); print s "]" }' "$1"; }
ndjson testdata/xgboost/gbtree_binary_logistic_300x6.csv >"$work/trees.ndjson"
ndjson testdata/native/logreg_binary.csv >"$work/logistic.ndjson"

# scrape NAME: the value of the /metrics sample whose line starts NAME.
scrape() { curl -sf "http://$addr/metrics" | awk -v n="$1" '!found && index($0, n) == 1 {print $NF; found = 1} END {if (!found) print "?"}'; }
# cost MODEL: prints "predictions cpu_seconds cpu_per_prediction" from /monitor.
cost() {
  curl -sf "http://$addr/v1/models/$1/monitor" >"$work/monitor.json"
  json_fields "versions.0.cost.Predictions versions.0.cost.CPUSeconds versions.0.cost.CPUPerPrediction" <"$work/monitor.json"
}
us() { awk -v s="$1" 'BEGIN {printf "%.2f", s * 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "?"}'; }
verdict() { awk -v r="$1" 'BEGIN {printf "%s", (r >= 0.8 && r <= 1.2) ? "within 20%" : "NOT within 20%"}'; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
"$bin" version
printf 'cpu: %s, %s cores; open loop, %s warm-up + %s per run, price %s per core-hour, %s\n' \
  "${cpu:-unknown}" "$(nproc)" "$WARMUP" "$DURATION" "$PRICE" "$(date -u +%FT%TZ)"

# alone MODEL RATE: sets cap_cpu (s/request, capacity), cap_m (its cost
# per 1M), d_cpu (s/prediction, the daemon), d_m (the gauge), preds.
alone() {
  local m=$1 rate=$2
  serve_start "cost $m" --repo "$work/repo" --cost-per-core-hour "$PRICE"
  "$loadtest_bin" capacity --url "http://$addr/v1/models/$m:predict" --bodies "$work/$m.ndjson" \
    --start-rate "$rate" --max-rate "$rate" --max-steps 1 --step-duration "$DURATION" --warmup "$WARMUP" \
    --slo-p99 1s --max-error-rate 0.01 --headroom 1 --cost-per-core-hour "$PRICE" \
    --json "$work/capacity.json" --quiet >"$work/capacity.out" 2>&1 || {
    echo "cost $m: predictd capacity failed:"; cat "$work/capacity.out"; exit 1
  }
  read -r cap_cpu cap_m achieved errs < <(json_fields "steps.0.cpu_seconds_per_request plan.cost_per_million steps.0.achieved_rps steps.0.error_rate" <"$work/capacity.json")
  read -r preds _ d_cpu < <(cost "$m")
  d_m=$(scrape "predictd_cost_per_million_predictions{model=\"$m\"")
  serve_stop "cost $m"
  if [ "$cap_cpu" = "?" ]; then echo "cost $m: capacity measured no CPU time:"; cat "$work/capacity.out"; exit 1; fi
  printf '\n== %s alone at %s/s (achieved %.0f/s, error rate %s), %s predictions\n' "$m" "$rate" "$achieved" "$errs" "$preds"
  printf '  %-58s %10s µs   per 1M: %s\n' "predictd capacity (process_cpu_seconds_total / requests)" "$(us "$cap_cpu")" "$cap_m"
  printf '  %-58s %10s µs   per 1M: %s (predictd_cost_per_million_predictions)\n' "daemon, /monitor cost.CPUPerPrediction" "$(us "$d_cpu")" "$d_m"
  r=$(ratio "$d_cpu" "$cap_cpu")
  printf '  daemon / capacity: CPU %s (%s)' "$r" "$(verdict "$r")"
  [ "$d_m" != "?" ] && [ "$cap_m" != "?" ] && printf ', cost per 1M %s' "$(ratio "$d_m" "$cap_m")"
  echo
}

alone trees "$RATE"
trees_cap=$cap_cpu
alone logistic "$LRATE"
logistic_cap=$cap_cpu

# 3. Both at once on one server.
serve_start "cost both" --repo "$work/repo" --cost-per-core-hour "$PRICE"
proc0=$(scrape process_cpu_seconds_total)
read -r p0t c0t _ < <(cost trees)
read -r p0l c0l _ < <(cost logistic)
for m in trees logistic; do
  rate=$RATE
  [ $m = logistic ] && rate=$LRATE
  "$loadtest_bin" loadtest --url "http://$addr/v1/models/$m:predict" --bodies "$work/$m.ndjson" \
    --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --quiet --json "$work/both.$m.json" >"$work/both.$m.out" 2>&1 &
  bg+=($!)
done
for p in "${bg[@]}"; do wait "$p" || { echo "cost both: a loadtest failed:"; cat "$work"/both.*.out; exit 1; }; done
bg=()
proc1=$(scrape process_cpu_seconds_total)
read -r p1t c1t _ < <(cost trees)
read -r p1l c1l _ < <(cost logistic)
serve_stop "cost both"
tcpu=$(awk -v a="$c0t" -v b="$c1t" -v p="$p0t" -v q="$p1t" 'BEGIN {print (b - a) / (q - p)}')
lcpu=$(awk -v a="$c0l" -v b="$c1l" -v p="$p0l" -v q="$p1l" 'BEGIN {print (b - a) / (q - p)}')
printf '\n== both at once on one server: trees at %s/s, logistic at %s/s\n' "$RATE" "$LRATE"
printf '  %-10s %12s %16s %16s %8s\n' model predictions "daemon µs/pred" "alone µs/req" ratio
for m in trees logistic; do
  if [ $m = trees ]; then n=$((p1t - p0t)) c=$tcpu a=$trees_cap; else n=$((p1l - p0l)) c=$lcpu a=$logistic_cap; fi
  r=$(ratio "$c" "$a")
  printf '  %-10s %12s %16s %16s %8s %s\n' "$m" "$n" "$(us "$c")" "$(us "$a")" "$r" "$(verdict "$r")"
done
attr=$(awk -v a="$c0t" -v b="$c1t" -v c="$c0l" -v d="$c1l" 'BEGIN {printf "%.3f", (b - a) + (d - c)}')
proc=$(awk -v a="$proc0" -v b="$proc1" 'BEGIN {printf "%.3f", b - a}')
printf '  CPU attributed to the two versions %ss, process CPU %ss over the same interval (ratio %s)\n' "$attr" "$proc" "$(ratio "$attr" "$proc")"

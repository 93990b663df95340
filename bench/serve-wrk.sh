#!/usr/bin/env bash
# serve-wrk.sh: requests per second and latency of `predictd serve` under
# wrk, beside a fasthttp handler that does nothing (bench/noopserver), same
# connections, same machine, one run. Models: a logistic regression
# (testdata/native/logreg_binary, 10 features) and a 300-tree depth-6
# XGBoost model (20 features), one instance per request.
#
#   bash bench/serve-wrk.sh            # 10s per run, 32 connections, 2 rounds
#   DURATION=5s CONNS=64 ROUNDS=1 bash bench/serve-wrk.sh
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
command -v wrk >/dev/null || { echo "serve-wrk: wrk not found (apt-get install wrk); skipping"; exit 0; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

simd=""
[ "$(go env GOARCH)" = amd64 ] && simd="GOEXPERIMENT=simd"
env $simd go build -o "$work/predictd" ./cmd/predictd
go build -o "$work/noopserver" ./bench/noopserver
"$work/predictd" version

"$work/predictd" import --from native --in testdata/native/logreg_binary.model.json --repo "$work/repo" --name logistic >/dev/null
"$work/predictd" import --from xgboost --in testdata/xgboost/gbtree_binary_logistic_300x6.json --repo "$work/repo" --name trees >/dev/null

"$work/predictd" serve --repo "$work/repo" --listen 127.0.0.1:18080 2>"$work/serve.log" &
pids+=($!)
"$work/noopserver" --listen 127.0.0.1:18090 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:18080/readyz >/dev/null && curl -s http://127.0.0.1:18090/ >/dev/null && break
  sleep 0.1
done

# One instance per request, first row of each model's fixture (missing
# cells as null).
row() { sed -n 2p "$1" | awk -F, '{s="["; for(i=1;i<=NF;i++){v=($i==""?"null":$i); s=s (i>1?",":"") v}; print s "]"}'; }
mklua() {
  cat >"$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [$2]}'
LUA
}
mklua logistic "$(row testdata/native/logreg_binary.csv)"
mklua trees "$(row testdata/xgboost/gbtree_binary_logistic_300x6.csv)"
# Check both bodies are accepted before timing anything.
for m in logistic trees; do
  body=$(sed -n 's/^wrk.body = .\(.*\).$/\1/p' "$work/$m.lua")
  curl -sf -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:18080/v1/models/$m:predict" >/dev/null \
    || { echo "serve-wrk: predictd refused the $m request"; cat "$work/serve.log"; exit 1; }
done

# run NAME URL LUA -> "rps p50 p99"
run() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$3" "$2")
  local rps p50 p99 errs
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  [ -n "$errs" ] && echo "  $1: $errs" >&2
  echo "$rps $p50 $p99"
}

printf '%s, %s connections, %s wrk thread(s), %s per run, %s round(s), %s\n' "$(nproc) cores" "$CONNS" "$THREADS" "$DURATION" "$ROUNDS" "$(date -u +%FT%TZ)"
printf '%-6s %-22s %12s %10s %10s %8s\n' round endpoint req/s p50 p99 "vs noop"
for r in $(seq "$ROUNDS"); do
  read -r noop n50 n99 < <(run noop http://127.0.0.1:18090/ "$work/logistic.lua")
  printf '%-6s %-22s %12s %10s %10s %8s\n' "$r" "noop fasthttp" "$noop" "$n50" "$n99" "1.00"
  for m in logistic trees; do
    read -r rps p50 p99 < <(run "$m" "http://127.0.0.1:18080/v1/models/$m:predict" "$work/$m.lua")
    ratio=$(awk -v a="$rps" -v b="$noop" 'BEGIN {printf "%.2f", a/b}')
    printf '%-6s %-22s %12s %10s %10s %8s\n' "$r" "predictd $m" "$rps" "$p50" "$p99" "$ratio"
  done
done

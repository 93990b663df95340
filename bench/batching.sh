#!/usr/bin/env bash
# batching.sh: what adaptive batching does to `predictd serve`, measured
# with `predictd loadtest` on this machine, batching off and on
# in the same run. Three models, one instance per request:
#   mlp    testdata/onnx/mlp512_softmax.onnx, MLP 64→512→512→512→10 (64 features)
#   trees  testdata/xgboost/gbtree_binary_logistic_300x6.json, 300 trees of depth 6 (20 features)
#   wide   MLP 64→2048→2048→2048→1 (34 MB of float32 weights, beyond the
#          caches: one row costs nearly what a batch does), made at run time
#          by bench/widemlp from a fixed seed, imported --precision float32
# Request bodies are the models' fixture rows (empty cell = missing = null).
#
# For each model:
#   1. closed loop, CONNS clients each with one request outstanding:
#      capacity (ok/s) and latency, batching off and on;
#      Right after each closed-loop run, on the same server, one client
#      alone for SINGLE: its p50 after the burst (state the burst leaves in
#      the batcher must not slow a lone client down);
#   2. open loop at OPEN_FRACTION of the batching-off capacity (a fixed
#      schedule, latency counted from each request's scheduled send, free of
#      coordinated omission): latency, batching off and on.
# Each model's report ends with one machine-readable line:
#   RESULT bench=batching model=M rps_off=R rps_on=R ratio=X p50_off_ms=T
#     p99_off_ms=T p50_on_ms=T p99_on_ms=T single_p50_off_ms=T
#     single_p50_on_ms=T single_ratio=X open_p99_off_ms=T open_p99_on_ms=T
#     conns=N duration=D rounds=N nproc=N
# (one line; medians over the rounds; ratio is on/off closed-loop ok/s,
# single_ratio on/off of the lone client's p50 after the burst; "?" where
# a run was skipped).
# Every run gets a fresh server (SIGTERM in between). With ROUNDS > 1 the
# order alternates (off, on; then on, off; ...) and the ratios use the
# medians.
#
#   bash bench/batching.sh
#   DURATION=5s CONNS=32 ROUNDS=2 bash bench/batching.sh
#
# Environment: DURATION (10s, measured per run), WARMUP (2s), CONNS (64),
# ROUNDS (1), OPEN_FRACTION (0.2), MODELS ("mlp trees wide"), SINGLE (3s,
# the lone client after each burst), PREDICTD (a built
# predictd to serve instead of this tree's build, which always generates
# the load), DRYRUN=1 (do not pass --batching: both columns are the
# binary's default, so the ratios show run-to-run noise; for testing the
# script with a binary that lacks the flag).
#
# Needs go, bash and awk. The load generator and the server share this
# machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-1}
OPEN_FRACTION=${OPEN_FRACTION:-0.2}
MODELS=${MODELS:-mlp trees wide}
SINGLE=${SINGLE:-3s}
PREDICTD=${PREDICTD:-}
DRYRUN=${DRYRUN:-}

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

. bench/serve-lib.sh
build_predictd
if [ -z "$DRYRUN" ] && ! "$bin" serve --batching=false -h >/dev/null 2>&1; then
  echo "batching.sh: this predictd refuses 'serve --batching=false' (no batching flag yet): nothing to compare."
  echo "batching.sh: DRYRUN=1 bash bench/batching.sh runs the benchmark's mechanics without the flag."
  exit 0
fi

# Models and request bodies: one instance per request, one body per line.
declare -A model_src model_desc model_csv
model_src[mlp]="--from onnx --in testdata/onnx/mlp512_softmax.onnx"
model_desc[mlp]="ONNX MLP 64→512→512→512→10, testdata/onnx/mlp512_softmax.onnx"
model_csv[mlp]=testdata/onnx/mlp512_softmax.csv
model_src[trees]="--from xgboost --in testdata/xgboost/gbtree_binary_logistic_300x6.json"
model_desc[trees]="XGBoost 300 trees depth 6, 20 features, testdata/xgboost/gbtree_binary_logistic_300x6.json"
model_csv[trees]=testdata/xgboost/gbtree_binary_logistic_300x6.csv
model_src[wide]="--from native --in $work/wide.json --precision float32"
model_desc[wide]="MLP 64→2048→2048→2048→1 (relu; 34 MB of float32 weights), bench/widemlp seed 15, float32"
model_csv[wide]=$work/wide.csv
for m in $MODELS; do
  [ -n "${model_src[$m]:-}" ] || { echo "batching.sh: MODELS: unknown model $m (want mlp, trees, wide)"; exit 2; }
  if [ "$m" = wide ]; then
    go run ./bench/widemlp --out-model "$work/wide.json" --out-rows "$work/wide.csv"
  fi
  # shellcheck disable=SC2086 # model_src holds several arguments
  "$bin" import ${model_src[$m]} --repo "$work/repo" --name "$m" >/dev/null
  awk -F, 'NR > 1 { sub(/\r$/, ""); if ($0 == "") next
    s = "{\"instances\": [["
    for (i = 1; i <= NF; i++) s = s (i > 1 ? ", " : "") ($i == "" ? "null" : $i)
    print s "]]}" }' "${model_csv[$m]}" >"$work/$m.bodies"
  rm -f "$work/wide.json" # 73 MB, imported
done

# start_server off|on: a fresh server on a free port; sets server_pid, addr.
start_server() {
  local flags=()
  # "on" forces every request through the batcher (mode always), so the
  # batcher itself is measured; the default (auto) would turn it off
  # where a load-time measurement says it does not pay.
  if [ -z "$DRYRUN" ]; then
    if [ "$1" = on ]; then
      local list="" m
      for m in $MODELS; do list+="${list:+, }{\"name\": \"$m\", \"batching\": {\"mode\": \"always\"}}"; done
      printf '{"models": [%s]}' "$list" >"$work/always.json"
      flags=(--config "$work/always.json")
    else
      flags=(--batching=false)
    fi
  fi
  serve_start batching.sh --repo "$work/repo" "${flags[@]}"
}

stop_server() { serve_stop batching.sh; }

# load MODEL ARGS...: one predictd loadtest run against the running server;
# prints "rps p50_ms p99_ms requests ok late unsent" from its JSON summary
# (rps: 2xx answers per second).
load() {
  local m=$1
  shift
  run_loadtest batching.sh --url "http://$addr/v1/models/$m:predict" --body-lines "$work/$m.bodies" "$@"
  json_fields "achieved_rps latency_ms.p50 latency_ms.p99 requests ok late unsent" <"$work/loadtest.json"
}

# order ROUND: off/on alternate first from round to round.
order() { if [ $(($1 % 2)) = 1 ]; then echo off on; else echo on off; fi; }

# What the default mode (auto) decides for each model on this machine.
auto_verdicts=""
if [ -z "$DRYRUN" ]; then
  "$bin" serve --repo "$work/repo" --listen 127.0.0.1:0 2>"$work/auto.log" &
  apid=$!
  # The verdicts are logged as the models load, after the listener is up
  # (the wide model takes seconds): wait for one per model.
  nm=$(wc -w <<<"$MODELS")
  for _ in $(seq 600); do
    [ "$(grep -c 'model .*: batching ' "$work/auto.log" || true)" -ge "$nm" ] && break
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null || true
  auto_verdicts=$(grep -o 'model .*: batching .*' "$work/auto.log" | sed 's/^/  /' || true)
fi

results=$work/results # model mode batching round rate rps p50_ms p99_ms requests ok late unsent
# mode "single": the lone client right after a closed-loop run.
: >"$results"
for m in $MODELS; do
  # A short check that the server takes these bodies before timing anything.
  start_server off
  load "$m" --concurrency 1 --duration 300ms --warmup 0 >"$work/check"
  read -r _ _ _ requests ok _ <"$work/check"
  if [ "$ok" = 0 ] || [ "$ok" != "$requests" ]; then
    echo "batching.sh: predictd refused some of $m's requests:"; cat "$work/loadtest.out"; exit 1
  fi
  stop_server
  for r in $(seq "$ROUNDS"); do
    for b in $(order "$r"); do
      start_server "$b"
      res=$(load "$m" --concurrency "$CONNS" --duration "$DURATION" --warmup "$WARMUP")
      echo "$m closed $b $r - $res" >>"$results"
      res=$(load "$m" --concurrency 1 --duration "$SINGLE" --warmup 0)
      echo "$m single $b $r - $res" >>"$results"
      stop_server
    done
  done
  capacity=$(awk -v m="$m" '$1 == m && $2 == "closed" && $3 == "off" { print $6 }' "$results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  rate=$(awk -v c="$capacity" -v f="$OPEN_FRACTION" 'BEGIN { printf "%.1f", c * f }')
  if awk -v r="$rate" 'BEGIN { exit !(r < 1) }'; then
    echo "batching.sh: $m: batching-off capacity $capacity/s is too low for an open loop; skipping it" >&2
    continue
  fi
  for r in $(seq "$ROUNDS"); do
    for b in $(order "$r"); do
      start_server "$b"
      res=$(load "$m" --connections "$CONNS" --rate "$rate" --duration "$DURATION" --warmup "$WARMUP")
      echo "$m open $b $r $rate $res" >>"$results"
      stop_server
    done
  done
done

# Report.
echo "predictd batching benchmark, $(date -u +%FT%TZ), nproc $(nproc)"
[ -n "$auto_verdicts" ] && printf 'default (auto) mode, measured at load:\n%s\n' "$auto_verdicts"
"$bin" version
echo "closed loop: $CONNS connections, one instance per request, $DURATION measured after $WARMUP warmup, $ROUNDS round(s);"
echo "open loop: at $OPEN_FRACTION of the batching-off closed-loop ok/s, latency from the scheduled send; predictd loadtest shares the machine"
[ -n "$DRYRUN" ] && echo "DRYRUN: --batching not passed, 'off' and 'on' are the same server: the ratios show run-to-run noise"
for m in $MODELS; do
  echo
  echo "$m: ${model_desc[$m]}, $(wc -l <"$work/$m.bodies") distinct rows"
  awk -v m="$m" -v conns="$CONNS" -v dur="$DURATION" -v rounds="$ROUNDS" -v nproc="$(nproc)" '
    function ms(v) { return v == "?" ? "?" : sprintf(v >= 100 ? "%.0fms" : v >= 10 ? "%.1fms" : "%.2fms", v) }
    function median(key,   n, i, j, t, a) {
      n = split(vals[key], a, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n == 0 ? 0 : n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "?" }
    function num(v) { return v == "" || v == "?" ? "?" : sprintf("%.3f", v) }
    BEGIN { printf "%-7s %-9s %5s %9s %9s %9s %9s %7s %6s\n", "mode", "batching", "round", "rate/s", "ok/s", "p50", "p99", "errors", "late" }
    $1 == m {
      errs = $9 - $10 + $12
      printf "%-7s %-9s %5s %9s %9.1f %9s %9s %7d %6s\n", $2, $3, $4, $5, $6, ms($7), ms($8), errs, ($2 == "open" ? $11 : "-")
      vals[$2 " " $3 " rps"] = vals[$2 " " $3 " rps"] " " $6
      vals[$2 " " $3 " p50"] = vals[$2 " " $3 " p50"] " " $7
      vals[$2 " " $3 " p99"] = vals[$2 " " $3 " p99"] " " $8
    }
    END {
      printf "on/off: closed-loop throughput %s; one client after the burst, p50 %s; open-loop p50 %s, p99 %s\n",
        ratio(median("closed on rps"), median("closed off rps")), ratio(median("single on p50"), median("single off p50")),
        ratio(median("open on p50"), median("open off p50")), ratio(median("open on p99"), median("open off p99"))
      r = ratio(median("closed on rps"), median("closed off rps")); sub(/x$/, "", r)
      sr = ratio(median("single on p50"), median("single off p50")); sub(/x$/, "", sr)
      printf "RESULT bench=batching model=%s rps_off=%.1f rps_on=%.1f ratio=%s p50_off_ms=%s p99_off_ms=%s p50_on_ms=%s p99_on_ms=%s single_p50_off_ms=%s single_p50_on_ms=%s single_ratio=%s open_p99_off_ms=%s open_p99_on_ms=%s conns=%s duration=%s rounds=%s nproc=%s\n",
        m, median("closed off rps"), median("closed on rps"), r,
        num(median("closed off p50")), num(median("closed off p99")), num(median("closed on p50")), num(median("closed on p99")),
        num(median("single off p50")), num(median("single on p50")), sr,
        (vals["open off p99"] == "" ? "?" : num(median("open off p99"))), (vals["open on p99"] == "" ? "?" : num(median("open on p99"))),
        conns, dur, rounds, nproc
    }' "$results"
done
echo
echo "errors: non-2xx and transport errors, plus (open loop) requests never sent; late: open-loop sends >1ms behind schedule"

#!/usr/bin/env bash
# monitor.sh: what the model monitor costs on the serving path (issue 14's
# budget: with monitoring on, throughput at least 0.95x of off and p50
# within 5%, same run). `predictd serve --monitor=true` against
# `--monitor=false` (no model monitor at all), plus any sampled settings
# (a config file's "monitor": {"every": N}), each on a fresh server, in
# rounds that alternate them (the order reversed every other round, so a
# drift of the machine over the run falls on both sides), same closed-loop
# wrk load (CONNS connections, THREADS wrk threads), same machine.
#
# The model: the 300-tree depth-6 XGBoost benchmark model that
# `make bench-serve` serves, widened from 20 to 40 features by
# bench/widen (the issue states the budget for 40; FACTOR=1 keeps the
# fixture's 20), given a reference profiled from its 2,000 rows
# (`import --reference`). Each request is one row, cycling through 256 of
# them, so the monitor's histograms see the reference's spread and not one
# bin. Every run is checked: 2xx only, and the monitored runs must have
# recorded rows (predictd_monitor_rows_total).
#
# Then the monitor's own micro-benchmarks: monitor/live's Observe (ns per
# observed row of 40 features, allocations; with -cpu 1 and every core)
# and monitor/cost's Span (the per-request CPU-time meter).
#
# PIN=1 pins the server to the last core and wrk to the others (taskset),
# so the server is bound by one core's CPU and wrk does not share it: the
# monitor's CPU shows in throughput more directly than when the two share
# every core (the default, as `make bench-serve` runs).
#
#   bash bench/monitor.sh                          # 4 rounds of 5s, 32 connections
#   ROUNDS=6 DURATION=10s EVERY="4 16" PIN=1 bash bench/monitor.sh
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-4}
FACTOR=${FACTOR:-2}
EVERY=${EVERY:-}
BENCHTIME=${BENCHTIME:-1s}
PIN=${PIN:-0}
command -v wrk >/dev/null || { echo "monitor: wrk not found (apt-get install wrk); skipping"; exit 0; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/serve-lib.sh
. bench/serve-lib.sh
build_predictd
wrk=(wrk)
pinned="shared by server and wrk"
if [ "$PIN" = 1 ]; then
  n=$(nproc)
  [ "$n" -ge 2 ] || { echo "monitor: PIN=1 needs 2 cores or more"; exit 1; }
  command -v taskset >/dev/null || { echo "monitor: PIN=1 needs taskset (util-linux)"; exit 1; }
  # serve_start runs "$bin": a wrapper that execs the pinned server (same pid).
  printf '#!/bin/sh\nexec taskset -c %d %s "$@"\n' "$((n - 1))" "$bin" >"$work/pinned-predictd"
  chmod +x "$work/pinned-predictd"
  bin=$work/pinned-predictd
  wrk=(taskset -c "0-$((n - 2))" wrk)
  pinned="server pinned to core $((n - 1)), wrk to 0-$((n - 2))"
fi

fixture=testdata/xgboost/gbtree_binary_logistic_300x6
go run ./bench/widen --model "$fixture.json" --rows "$fixture.csv" --factor "$FACTOR" \
  --out-model "$work/trees.json" --out-rows "$work/rows.csv"
"$bin" import --from xgboost --in "$work/trees.json" --repo "$work/repo" --name trees --reference "$work/rows.csv" >/dev/null
nfeat=$(head -1 "$work/rows.csv" | awk -F, '{print NF}')

# 256 bodies of one row each (missing cells as null), cycled per request.
awk -F, 'NR > 1 && NR <= 257 {
  s = "["; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") ($i == "" ? "null" : $i)
  print "bodies[#bodies+1] = [=[{\"instances\": [" s "]]}]=]"
}' "$work/rows.csv" >"$work/bodies.lua"
{ echo "bodies = {}"; cat "$work/bodies.lua"; } >"$work/trees.lua"
cat >>"$work/trees.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA

# Settings: "off", "on" and "every=N" for each N in EVERY.
variants=(off on)
for n in $EVERY; do
  variants+=("every=$n")
  printf '{"models": [{"name": "trees", "monitor": {"every": %d}}]}\n' "$n" >"$work/every$n.json"
done
serve_args() {
  case $1 in
    off) echo "--monitor=false" ;;
    on) echo "--monitor=true" ;;
    every=*) echo "--monitor=true --config $work/every${1#every=}.json" ;;
  esac
}

# to_ms "512.00us" -> 0.512
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
  if (f < 0) { print "?"; exit 1 } printf "%.4f", n * f }'; }

# scrape NAME: the value of the /metrics sample whose line starts NAME.
scrape() { curl -sf "http://$addr/metrics" | awk -v n="$1" '!found && index($0, n) == 1 {print $NF; found = 1} END {if (!found) print "?"}'; }

# measure VARIANT: sets rps, p50 and p99 (ms), cpu (the server's CPU µs per
# request: process_cpu_seconds_total's growth over the measured run over
# its requests) and rows (what the monitor recorded), on a fresh server.
measure() {
  local v=$1 url out errs cpu0 cpu1 n
  # shellcheck disable=SC2046
  serve_start "monitor $v" --repo "$work/repo" $(serve_args "$v")
  url="http://$addr/v1/models/trees:predict"
  "${wrk[@]}" -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$work/trees.lua" "$url" >/dev/null
  cpu0=$(scrape process_cpu_seconds_total)
  out=$("${wrk[@]}" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$work/trees.lua" "$url")
  cpu1=$(scrape process_cpu_seconds_total)
  n=$(awk '/ requests in / {print $1}' <<<"$out")
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n * 1e6}')
  errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  if [ -n "$errs" ]; then echo "monitor $v: $errs" >&2; cat "$work/serve.log" >&2; exit 1; fi
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  rows=$(curl -sf "http://$addr/metrics" | awk '/^predictd_monitor_rows_total/ {s += $NF} END {printf "%d", s}')
  if [ "$v" != off ] && [ "$rows" = 0 ]; then
    echo "monitor $v: the monitor recorded no rows:" >&2; cat "$work/serve.log" >&2; exit 1
  fi
  grep -o -m1 'batching [a-z]*' "$work/serve.log" >"$work/batching.$v"
  serve_stop "monitor $v"
}

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
avx512=no
grep -qw avx512f /proc/cpuinfo 2>/dev/null && avx512=yes
"$bin" version
printf 'cpu: %s, %s cores (%s), AVX-512 %s; %s\n' "${cpu:-unknown}" "$(nproc)" "$pinned" "$avx512" "$(go version | awk '{print $3}')"
printf 'model: 300 trees, depth 6, %s features, reference of 2000 rows; one row a request over 256 rows\n' "$nfeat"
printf 'load: wrk closed loop, %s connections, %s thread(s), %s warm-up + %s per run, %s rounds, fresh server per run, %s\n\n' \
  "$CONNS" "$THREADS" "$WARMUP" "$DURATION" "$ROUNDS" "$(date -u +%FT%TZ)"

printf '%-6s %-10s %10s %9s %9s %12s %10s\n' round monitor req/s "p50 ms" "p99 ms" "CPU µs/req" "rows seen"
: >"$work/results"
for r in $(seq "$ROUNDS"); do
  order=("${variants[@]}")
  if ((r % 2 == 0)); then
    order=()
    for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
  fi
  for v in "${order[@]}"; do
    measure "$v"
    printf '%-6s %-10s %10s %9s %9s %12s %10s\n' "$r" "$v" "$rps" "$p50" "$p99" "$cpu" "$rows"
    echo "$r $v $rps $p50 $p99 $cpu" >>"$work/results"
  done
done
echo
for v in "${variants[@]}"; do printf 'batching (%s): %s\n' "$v" "$(cat "$work/batching.$v")"; done

# Medians over rounds: of each setting's req/s, p50, p99 and CPU per
# request, and of the per-round ratios against off (the same round's off
# run), with the ratios' range: the run's noise.
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v v="$1" -v c="$2" '$2 == v {print $c}' "$work/results"; }
vsoff() { awk -v v="$1" -v c="$2" '$2 == "off" {o[$1] = $c} $2 == v {x[$1] = $c} END {for (r in x) print x[r] / o[r]}' "$work/results"; }
range() { sort -g | awk '{a[NR] = $1} END {printf "%.3f..%.3f", a[1], a[NR]}'; }
echo
printf '%-10s %10s %9s %9s %11s   %-22s %-22s %-22s %s\n' monitor "req/s" "p50 ms" "p99 ms" "CPU µs/req" \
  "req/s vs off (range)" "p50 vs off (range)" "CPU/req vs off (range)" "budget (>= 0.95x req/s, p50 within 5%)"
for v in "${variants[@]}"; do
  mr=$(col "$v" 3 | median)
  m50=$(col "$v" 4 | median)
  m99=$(col "$v" 5 | median)
  mc=$(col "$v" 6 | median)
  if [ "$v" = off ]; then
    printf '%-10s %10.0f %9.4f %9.4f %11.2f\n' "$v" "$mr" "$m50" "$m99" "$mc"
    continue
  fi
  rr=$(vsoff "$v" 3 | median)
  r50=$(vsoff "$v" 4 | median)
  rc=$(vsoff "$v" 6 | median)
  verdict=$(awk -v t="$rr" -v p="$r50" 'BEGIN {
    printf "%s (req/s %+.1f%%, p50 %+.1f%%)", (t >= 0.95 && p <= 1.05) ? "met" : "NOT met", (t - 1) * 100, (p - 1) * 100 }')
  printf '%-10s %10.0f %9.4f %9.4f %11.2f   %-22s %-22s %-22s %s\n' "$v" "$mr" "$m50" "$m99" "$mc" \
    "$(printf '%.3f (%s)' "$rr" "$(vsoff "$v" 3 | range)")" "$(printf '%.3f (%s)' "$r50" "$(vsoff "$v" 4 | range)")" \
    "$(printf '%.3f (%s)' "$rc" "$(vsoff "$v" 6 | range)")" "$verdict"
done

echo "== monitor/live Observe: a model of 40 inputs and 1 output over 20-bin references (ns/row is wall time: under -cpu N, N goroutines observe at once)"
go test -run '^$' -bench 'Observe' -benchmem -benchtime "$BENCHTIME" -cpu "1,$(nproc)" ./monitor/live | grep '^Benchmark'
echo "== monitor/cost Span: one request's CPU-time meter (two thread CPU clock reads)"
go test -run '^$' -bench 'Span' -benchmem -benchtime "$BENCHTIME" ./monitor/cost | grep '^Benchmark'

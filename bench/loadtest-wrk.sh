#!/usr/bin/env bash
# loadtest-wrk.sh: the capacity of `predictd loadtest` as a load generator,
# beside wrk, against the same do-nothing fasthttp server
# (bench/noopserver), same connections, same request body, same machine,
# rounds alternating. The target: predictd loadtest's closed loop sustains
# at least 0.8 of wrk's requests per second.
#
#   bash bench/loadtest-wrk.sh                      # 5s per run, 16 and 64 connections, 3 rounds
#   DURATION=10s CONNS="64" ROUNDS=5 bash bench/loadtest-wrk.sh
#
# Each run is closed loop, as fast as the connections go: wrk -t1 (one
# thread) and `predictd loadtest --concurrency N`, once with the Go
# runtime's default GOMAXPROCS (every core, as it is normally run) and once
# with GOMAXPROCS=1 (one core, like-for-like with wrk's one thread). The
# server and the generator share the machine, so the generator's own CPU
# cost is what the ratio shows. Then one open-loop run per connection count
# at 0.9 of wrk's median rate, on the same connections: did it keep up
# (achieved rate, late and unsent sends)?
#
# Then (issue 15) the open loop above capacity: at each of RATES, on
# OVER_CONNS connections, predictd loadtest --rate R beside a wrk run on the
# same connections just before it (wrk's closed loop is the most those
# connections carry): OK/s, unsent, and the ratio of predictd's OK/s to
# the lesser of R and wrk's req/s, which must be at least 0.8 however far R
# is above what the server takes.
#
#   SECTIONS=over RATES="50000 1000000" bash bench/loadtest-wrk.sh   # only that table
#
# The last line is machine-readable, for make bench-report:
#
#   RESULT bench=loadtest-wrk cpu=AMD_EPYC cores=2 conns=32 duration=5s closed_ratio_min=0.93 over_ratio_min=0.85 over_50000_ok_rps=... over_50000_wrk_rps=... over_50000_ratio=... over_50000_unsent=... verdict=PASS
#
# (key=value, space-separated, values without spaces; a section not run
# leaves its keys out.)
#
# Needs wrk (Debian: apt-get install wrk) and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNS=${CONNS:-"16 64"}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18095}
SECTIONS=${SECTIONS:-"closed over"}
RATES=${RATES:-"50000 100000 200000 1000000"}
OVER_CONNS=${OVER_CONNS:-32}
TARGET=0.8
command -v wrk >/dev/null || { echo "loadtest-wrk: wrk not found (apt-get install wrk); skipping"; exit 0; }
command -v jq >/dev/null || { echo "loadtest-wrk: jq not found (apt-get install jq); skipping"; exit 0; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/predictd" ./cmd/predictd
go build -o "$work/noopserver" ./bench/noopserver
"$work/noopserver" --listen "127.0.0.1:$PORT" &
pids+=($!)
url="http://127.0.0.1:$PORT/v1/models/m:predict"
for _ in $(seq 100); do curl -s "$url" >/dev/null && break; sleep 0.1; done

# One instance of ten features, the same bytes for both generators.
body='{"instances": [[0.5, 1.25, -3, 4.5, 0, 12, 7.75, -0.125, 2, 9]]}'
printf '%s\n' "$body" >"$work/body.json"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA

# wrk_rps CONNS -> requests per second
wrk_rps() {
  local out errs
  out=$(wrk -t1 -c"$1" -d"$DURATION" -s "$work/post.lua" "$url")
  errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  [ -n "$errs" ] && echo "  wrk -c$1: $errs" >&2
  awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out"
}

# lt OUT.json ARGS... : one predictd loadtest run (GOMAXPROCS from the
# environment), its summary in OUT.json.
lt() {
  local out=$1
  shift
  "$work/predictd" loadtest --url "$url" --body "$work/body.json" --duration "$DURATION" --json "$out" --quiet "$@" >/dev/null
  local errs
  errs=$(jq -r 'select(.errors_total > 0) | "errors \(.errors)"' "$out")
  [ -n "$errs" ] && echo "  predictd loadtest $*: $errs" >&2
  return 0
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
printf '%s, %s cores (load average %s), %s, connections %s, %s per run, %s round(s), %s\n' "$cpu" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(go version | awk '{print $3}')" "$CONNS" "$DURATION" "$ROUNDS" "$(date -u +%FT%TZ)"
result="bench=loadtest-wrk cpu=$(tr -c 'A-Za-z0-9.\n-' _ <<<"$cpu") cores=$(nproc) duration=$DURATION"
verdicts=""
verdict() { awk -v m="$1" -v t="$TARGET" 'BEGIN {print (m >= t) ? "PASS" : "FAIL"}'; }
if [[ " $SECTIONS " == *" closed "* ]]; then
printf 'closed loop, req/s (predictd: 2xx/s of the measured window after a 1s warm-up; wrk: all responses)\n'
printf '%-6s %-6s %10s %12s %7s %12s %7s\n' conns round wrk-t1 predictd ratio "predictd/P1" ratio
declare -A wrkr ratios ratios1
for c in $CONNS; do
  for r in $(seq "$ROUNDS"); do
    w=$(wrk_rps "$c")
    lt "$work/lt.json" --concurrency "$c"
    p=$(jq -r '.achieved_rps | floor' "$work/lt.json")
    GOMAXPROCS=1 lt "$work/lt1.json" --concurrency "$c"
    p1=$(jq -r '.achieved_rps | floor' "$work/lt1.json")
    printf '%-6s %-6s %10s %12s %7s %12s %7s\n' "$c" "$r" "$w" "$p" "$(ratio "$p" "$w")" "$p1" "$(ratio "$p1" "$w")"
    wrkr[$c]+="$w "
    ratios[$c]+="$(ratio "$p" "$w") "
    ratios1[$c]+="$(ratio "$p1" "$w") "
  done
done

echo
printf 'open loop at 0.9 × wrk median, same connections (default GOMAXPROCS)\n'
printf '%-6s %10s %12s %8s %8s %9s %9s %s\n' conns target achieved late unsent p50_ms p99_ms "kept up"
for c in $CONNS; do
  w=$(tr ' ' '\n' <<<"${wrkr[$c]}" | grep . | median)
  rate=$(awk -v w="$w" 'BEGIN {printf "%.0f", 0.9*w}')
  lt "$work/open.json" --rate "$rate" --connections "$c"
  read -r got late unsent reqs p50 p99 < <(jq -r '[(.achieved_rps|floor), .late, .unsent, .requests, .latency_ms.p50, .latency_ms.p99] | @tsv' "$work/open.json")
  # Kept up: at least 99% of the target rate answered and under 1% of the
  # due sends unsent.
  kept=$(awk -v g="$got" -v t="$rate" -v u="$unsent" -v n="$reqs" 'BEGIN {print (g >= 0.99*t && u <= 0.01*(n+u)) ? "yes" : "no"}')
  printf '%-6s %10s %12s %8s %8s %9.2f %9.2f %s\n' "$c" "$rate" "$got" "$late" "$unsent" "$p50" "$p99" "$kept"
done

echo
all=""
all1=""
for c in $CONNS; do
  m=$(tr ' ' '\n' <<<"${ratios[$c]}" | grep . | median)
  m1=$(tr ' ' '\n' <<<"${ratios1[$c]}" | grep . | median)
  printf 'conns %-4s median predictd/wrk %s (GOMAXPROCS default), %s (GOMAXPROCS=1)\n' "$c" "$m" "$m1"
  all+="$m "
  all1+="$m1 "
done
worst=$(tr ' ' '\n' <<<"$all" | grep . | sort -g | head -1)
worst1=$(tr ' ' '\n' <<<"$all1" | grep . | sort -g | head -1)
printf 'verdict: %s (lowest median ratio %s vs target %s, default GOMAXPROCS); GOMAXPROCS=1: %s (%s)\n' \
  "$(verdict "$worst")" "$worst" "$TARGET" "$(verdict "$worst1")" "$worst1"
result+=" closed_ratio_min=$worst"
verdicts+="$(verdict "$worst") "
fi

if [[ " $SECTIONS " == *" over "* ]]; then
  echo
  printf 'open loop above capacity, %s connections: predictd loadtest --rate R beside wrk -t1 on the same connections just before it\n' "$OVER_CONNS"
  printf '(ratio: predictd OK/s over the lesser of the rate and wrk'"'"'s req/s)\n'
  printf '%10s %10s %12s %7s %12s %10s %9s %9s\n' rate wrk predictd_ok ratio unsent late p50_ms p99_ms
  over_min=""
  result+=" conns=$OVER_CONNS"
  for rate in $RATES; do
    w=$(wrk_rps "$OVER_CONNS")
    lt "$work/over.json" --rate "$rate" --connections "$OVER_CONNS"
    read -r got unsent late p50 p99 < <(jq -r '[(.achieved_rps|floor), .unsent, .late, .latency_ms.p50, .latency_ms.p99] | @tsv' "$work/over.json")
    # Below wrk's rate the schedule caps what predictd may send: compare
    # with the lesser of the two.
    ra=$(ratio "$got" "$(awk -v r="$rate" -v w="$w" 'BEGIN {print (r < w) ? r : w}')")
    printf '%10s %10s %12s %7s %12s %10s %9.1f %9.1f\n' "$rate" "$w" "$got" "$ra" "$unsent" "$late" "$p50" "$p99"
    result+=" over_${rate}_ok_rps=$got over_${rate}_wrk_rps=$w over_${rate}_ratio=$ra over_${rate}_unsent=$unsent"
    over_min=$(printf '%s\n%s\n' "$over_min" "$ra" | grep . | sort -g | head -1)
  done
  printf 'verdict: %s (lowest ratio above capacity %s vs target %s)\n' "$(verdict "$over_min")" "$over_min" "$TARGET"
  result+=" over_ratio_min=$over_min"
  verdicts+="$(verdict "$over_min") "
fi
all_pass=PASS
[[ "$verdicts" == *FAIL* ]] && all_pass=FAIL
echo "RESULT $result verdict=$all_pass"

#!/usr/bin/env bash
# features.sh: what the serving join (features fetched from the online store
# by entity key) adds to `predictd serve`'s latency, measured end to end with
# `predictd loadtest` on this machine against a local redis-server, in one run:
#
#   model   testdata/features/bench.json, XGBoost 100 trees of depth 6,
#           64 features: x0..x3 sent by the request, a0..a19, b0..b19,
#           c0..c19 from feature views view_a, view_b, view_c
#           (testdata/features/bench.yaml; int entity keys a_id, b_id, c_id)
#   rows    testdata/features/bench_rows.csv, 1000 entities, materialized
#           into each of the three views (same numbers, different names)
#
# Scenarios, each on a fresh server and the same 1000 requests (one
# instance each, round-robin), open loop at RATE req/s (latency from the
# scheduled send, free of coordinated omission):
#   inline   every feature in the request: no fetch (the baseline)
#   warm     entity keys; every row in the feature cache (a warm-up pass
#            reads all 1000 first, and --feature-staleness WARM_STALENESS
#            keeps them cached through the measured run)
#   default  entity keys, the shipped cache settings (1s staleness): at
#            RATE 1000 each entity comes back about once a second, so the
#            hit ratio says how warm that is
#   cold     entity keys, --feature-staleness 1ns: every request reads Redis
#            (one MGET of 3 keys); the cache counters printed prove it
# "added p99" is a scenario's p99 minus inline's (medians over ROUNDS).
# The fetch column is the server's own predictd_feature_fetch_seconds over
# the measured run: the mean and the histogram bucket holding the p99 (an
# upper bound; the buckets are 50µs, 100µs, 250µs, 500µs, 1ms, 2.5ms, ...).
#
# Targets (acceptance): the fetch adds under 0.5 ms at p99 with a warm cache
# and under 1 ms cold, on local Redis. For scale, Feast's published figure
# for its Go feature server is p99 1.78 ms for 50 features; that number is
# Feast's, not measured here (Feast is not installed on this machine), and
# it is a feature server's own latency, not a prediction's.
#
#   bash bench/features.sh
#   RATE=1000 DURATION=10s ROUNDS=2 bash bench/features.sh
#
# Environment: RATE (1000 req/s), DURATION (10s, measured per run), WARMUP
# (2s, and at least long enough at RATE to send every body once), ROUNDS (1;
# the scenario order alternates round to round), SCENARIOS ("inline warm
# default cold"), WARM_STALENESS (1h), PREDICTD (a built predictd to serve
# instead of this tree's build, which always generates the load),
# REDIS_SERVER (redis-server).
#
# Needs go, bash, awk and redis-server. The load generator, the server and
# redis-server share this machine's cores, so every number includes their
# contention.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
SCENARIOS=${SCENARIOS:-inline warm default cold}
WARM_STALENESS=${WARM_STALENESS:-1h}
PREDICTD=${PREDICTD:-}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
defs=testdata/features/bench.yaml
rows_csv=testdata/features/bench_rows.csv

die() { echo "features.sh: $*" >&2; exit 1; }
command -v "$REDIS_SERVER" >/dev/null || die "no $REDIS_SERVER on PATH (set REDIS_SERVER)"
for s in $SCENARIOS; do
  case $s in inline | warm | default | cold) ;; *) die "SCENARIOS: unknown scenario $s (want inline, warm, default, cold)" ;; esac
done

work=$(mktemp -d)
server_pid=""
redis_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

. bench/serve-lib.sh
build_predictd

# http METHOD ADDR PATH [BODY]: one HTTP/1.1 exchange over bash's /dev/tcp
# (no curl); prints the response, status line and headers included.
http() (
  local body=${4:-}
  exec 3<>"/dev/tcp/${2%:*}/${2##*:}" || exit 1
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$3" "$2" "${#body}" "$body" >&3
  timeout 10 cat <&3
) 2>/dev/null


# Redis: a private server on a free port, nothing persisted.
redis_port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then redis_port=$p; break; fi
done
[ -n "$redis_port" ] || die "no free port for redis-server"
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  kill -0 "$redis_pid" 2>/dev/null || { cat "$work/redis.log"; redis_pid=""; die "redis-server exited"; }
  if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port" && printf 'PING\r\n' >&3 && IFS= read -r -t 2 l <&3 && [[ $l == +PONG* ]]) 2>/dev/null; then break; fi
  sleep 0.1
done
store=redis://127.0.0.1:$redis_port

# Model and rows.
"$bin" import --from xgboost --in testdata/features/bench.json --repo "$work/repo" --name bench \
  --feature-views view_a,view_b,view_c >"$work/import.log"
event_time=$(date -u -d '-1 hour' +%FT%TZ)
for v in a b c; do
  awk -F, -v v="$v" -v t="$event_time" 'NR == 1 { s = v "_id,event_time"; for (i = 0; i < 20; i++) s = s "," v i; print s; next }
    { sub(/\r$/, ""); if ($0 == "") next; s = $1 "," t; for (i = 2; i <= NF; i++) s = s "," $i; print s }' \
    "$rows_csv" >"$work/view_$v.csv"
  "$bin" materialize --features "$defs" --view "view_$v" --in "$work/view_$v.csv" --store "$store" >>"$work/materialize.log"
done

# Request bodies, one per line, the same 1000 requests twice: inline (all
# 64 values) and keyed (entity keys and x0..x3). x0..x3 are fixed
# pseudo-random numbers per row (awk's rand with a fixed seed).
awk -F, -v inline="$work/inline.bodies" -v keyed="$work/keyed.bodies" '
  BEGIN { srand(20261125) }
  NR == 1 { next }
  { sub(/\r$/, ""); if ($0 == "") next
    x = ""; for (i = 0; i < 4; i++) x = x (i ? "," : "") sprintf("\"x%d\":%.6f", i, rand() * 4 - 2)
    f = ""; split("a b c", vs, " ")
    for (j = 1; j <= 3; j++) for (i = 2; i <= NF; i++) f = f sprintf(",\"%s%d\":%s", vs[j], i - 2, $i)
    printf "{\"instances\":[{%s%s}]}\n", x, f >inline
    printf "{\"instances\":[{\"a_id\":%s,\"b_id\":%s,\"c_id\":%s,%s}]}\n", $1, $1, $1, x >keyed
  }' "$rows_csv"
nbodies=$(wc -l <"$work/keyed.bodies")
[ "$nbodies" -gt 0 ] && [ "$nbodies" = "$(wc -l <"$work/inline.bodies")" ] || die "request bodies: $nbodies keyed, $(wc -l <"$work/inline.bodies") inline"

# Warm-up long enough at RATE to send every body at least once.
warm_s=$(awk -v w="$WARMUP" -v r="$RATE" -v n="$nbodies" 'BEGIN {
  s = w; if (s ~ /ms$/) s = substr(s, 1, length(s) - 2) / 1000; else if (s ~ /s$/) s = substr(s, 1, length(s) - 1); else if (s ~ /m$/) s = substr(s, 1, length(s) - 1) * 60
  need = n / r * 1.1; printf "%.3f", (s + 0 < need ? need : s) }')

# start_server SCENARIO: a fresh server on a free port; sets server_pid, addr.
start_server() {
  local flags=()
  case $1 in
    warm) flags=(--feature-staleness "$WARM_STALENESS") ;;
    cold) flags=(--feature-staleness 1ns) ;;
  esac
  serve_start features.sh --repo "$work/repo" --features "$defs" --store "$store" "${flags[@]}"
}

stop_server() { serve_stop features.sh; }

# Sanity check: the first 20 keyed requests predict exactly what the
# matching inline ones do (the store holds what the inline bodies send).
start_server default
url_path=/v1/models/bench:predict
for i in $(seq 20); do
  kb=$(sed -n "${i}p" "$work/keyed.bodies")
  ib=$(sed -n "${i}p" "$work/inline.bodies")
  kp=$(http POST "$addr" "$url_path" "$kb" | grep -o '"predictions":\[[^]]*\]' || true)
  ip=$(http POST "$addr" "$url_path" "$ib" | grep -o '"predictions":\[[^]]*\]' || true)
  if [ -z "$kp" ] || [ "$kp" != "$ip" ]; then
    echo "features.sh: request $i: keyed and inline predictions differ:"
    echo "  keyed  $kb"; http POST "$addr" "$url_path" "$kb" | tail -n 1; echo
    echo "  inline $ib"; http POST "$addr" "$url_path" "$ib" | tail -n 1; echo
    exit 1
  fi
done
stop_server

# metrics FILE: a /metrics scrape of the running server into FILE.
metrics() { http GET "$addr" /metrics >"$1"; }

# fetchdiff BEFORE AFTER: over the scrapes' difference, "hits misses count
# mean_ns p99_bound": the cache counters, fetches, their mean and the upper
# bound of the fetch histogram bucket that holds the p99 ("-" when none).
fetchdiff() {
  awk '
    function val(line) { return line + 0 }
    FNR == 1 { f++ }
    /^predictd_feature_cache_hits_total / { h[f] = $2 }
    /^predictd_feature_cache_misses_total / { m[f] = $2 }
    /^predictd_feature_fetch_seconds_sum/ { s[f] += $NF }
    /^predictd_feature_fetch_seconds_count/ { c[f] += $NF }
    /^predictd_feature_fetch_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      if (!(le in seen)) { seen[le] = 1; order[++nle] = le }
      b[f, le] += $NF
    }
    END {
      n = c[2] - c[1]
      mean = n > 0 ? (s[2] - s[1]) / n * 1e9 : 0
      bound = "-"
      if (n > 0) for (i = 1; i <= nle; i++) if (b[2, order[i]] - b[1, order[i]] >= 0.99 * n) { bound = order[i]; break }
      printf "%d %d %d %.0f %s\n", h[2] - h[1], m[2] - m[1], n, mean, bound
    }' "$1" "$2"
}

# load BODIES ARGS...: one predictd loadtest run against the running
# server; prints "rps p50_ms p90_ms p99_ms p999_ms requests ok late unsent"
# from its JSON summary (rps: 2xx answers per second).
load() {
  local bodies=$1
  shift
  run_loadtest features.sh --url "http://$addr$url_path" --body-lines "$bodies" "$@"
  json_fields "achieved_rps latency_ms.p50 latency_ms.p90 latency_ms.p99 latency_ms.p999 requests ok late unsent" <"$work/loadtest.json"
}

# order ROUND: the scenarios, reversed every other round.
order() {
  if [ $(($1 % 2)) = 1 ]; then echo $SCENARIOS; else echo $SCENARIOS | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }'; fi
}

# results: scenario round rps p50_ms p90_ms p99_ms p999_ms requests ok late unsent hits misses fetches fetch_mean_ns fetch_p99_le
results=$work/results
: >"$results"
for r in $(seq "$ROUNDS"); do
  for s in $(order "$r"); do
    bodies=$work/keyed.bodies
    [ "$s" = inline ] && bodies=$work/inline.bodies
    start_server "$s"
    # Warm-up pass: connections, the model, and (warm) every entity cached.
    load "$bodies" --rate "$RATE" --duration "${warm_s}s" --warmup 0 >/dev/null
    metrics "$work/m0"
    res=$(load "$bodies" --rate "$RATE" --duration "$DURATION" --warmup 1s)
    metrics "$work/m1"
    echo "$s $r $res $(fetchdiff "$work/m0" "$work/m1")" >>"$results"
    stop_server
  done
done

# Report.
echo "predictd serving-join benchmark, $(date -u +%FT%TZ), nproc $(nproc), $("$REDIS_SERVER" --version | awk '{ print $3 }' | tr -d 'v=') (local, loopback)"
"$bin" version
echo "model: XGBoost 100 trees depth 6, 64 features (x0..x3 sent; 3 views x 20 float features fetched by entity key), $nbodies distinct requests, one instance each"
echo "open loop at $RATE req/s, $DURATION measured after a ${warm_s}s warm-up pass and a 1s loadtest warm-up, $ROUNDS round(s), order alternating; medians over rounds"
echo "sanity: the first 20 keyed requests predict exactly what the matching inline ones do"
echo
awk -v rate="$RATE" '
  function ms(v) { return v == "?" ? "?" : sprintf("%.3f", v) }
  function median(key,   n, i, j, t, a) {
    n = split(vals[key], a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n == 0 ? "?" : n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function add(key, v) { vals[key] = vals[key] " " v }
  BEGIN { printf "%-8s %5s %8s %8s %8s %8s %8s %6s %5s %9s %9s %10s %10s\n", "scenario", "round", "ok/s", "p50ms", "p90ms", "p99ms", "p99.9ms", "errors", "late", "hits", "misses", "fetch_mean", "fetch_p99<=" }
  {
    errs = $8 - $9 + $11
    fm = $15 > 0 ? sprintf("%.0fus", $15 / 1e3) : "-"
    fb = $16 == "-" ? "-" : sprintf("%gms", $16 * 1e3)
    printf "%-8s %5s %8.1f %8s %8s %8s %8s %6d %5s %9d %9d %10s %10s\n", $1, $2, $3, ms($4), ms($5), ms($6), ms($7), errs, $10, $12, $13, fm, fb
    if (!($1 in seen)) { seen[$1] = 1; sc[++ns] = $1 }
    add($1 " rps", $3); add($1 " p50", $4); add($1 " p90", $5); add($1 " p99", $6); add($1 " p999", $7)
    add($1 " fm", $15); add($1 " fb", ($16 == "-" ? 0 : $16))
    hits[$1] += $12; miss[$1] += $13
  }
  END {
    print ""
    print "medians:"
    printf "%-8s %8s %8s %8s %8s %8s %13s %13s %10s %11s %10s\n", "scenario", "ok/s", "p50ms", "p90ms", "p99ms", "p99.9ms", "added_p50_ms", "added_p99_ms", "hit_ratio", "fetch_mean", "fetch_p99<="
    base = median("inline p99"); base50 = median("inline p50")
    for (i = 1; i <= ns; i++) {
      s = sc[i]
      added = (s == "inline" || base == "?") ? "-" : sprintf("%+.3f", median(s " p99") - base)
      added50 = (s == "inline" || base50 == "?") ? "-" : sprintf("%+.3f", median(s " p50") - base50)
      hr = hits[s] + miss[s] > 0 ? sprintf("%.3f", hits[s] / (hits[s] + miss[s])) : "-"
      fm = median(s " fm"); fb = median(s " fb")
      printf "%-8s %8.1f %8s %8s %8s %8s %13s %13s %10s %11s %10s\n", s, median(s " rps"), ms(median(s " p50")), ms(median(s " p90")),
        ms(median(s " p99")), ms(median(s " p999")), added50, added, hr, (fm > 0 ? sprintf("%.0fus", fm / 1e3) : "-"), (fb > 0 ? sprintf("%gms", fb * 1e3) : "-")
      addp99[s] = added
    }
    print ""
    # The noise floor: how far the inline p99 moves between rounds.
    n = split(vals["inline p99"], a, " ")
    if (n > 1) {
      lo = hi = a[1]; for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
      printf "noise: inline p99 ranged %s..%s ms over %d rounds; an added p99 smaller than that spread is not resolved by this run\n", ms(lo), ms(hi), n
    }
    if ("warm" in addp99) printf "target warm: added p99 < 0.5 ms: %s ms: %s\n", addp99["warm"], (addp99["warm"] + 0 < 0.5 ? "met" : "not met")
    if ("cold" in addp99) printf "target cold: added p99 < 1 ms:   %s ms: %s\n", addp99["cold"], (addp99["cold"] + 0 < 1 ? "met" : "not met")
    print "for scale: Feast Go feature server, p99 1.78 ms for 50 features (published figure, not measured here)"
  }' "$results"
echo
echo "errors: non-2xx and transport errors, plus requests never sent; late: sends >1ms behind schedule;"
echo "hits/misses: feature cache rows over the measured run (cold must be all misses); fetch: the server's predictd_feature_fetch_seconds"

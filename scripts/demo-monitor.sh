#!/usr/bin/env bash
# demo-monitor.sh BIN REPO PORT ROWS PRICE: the model monitor part of
# `make demo`, run by demo-serve.sh against its server (started with
# --cost-per-core-hour PRICE) after the load test. ROWS is the CSV the models wine
# and wine_b were profiled from (import --reference): the same XGBoost model
# under two names.
#
#  1. GET /v1/models/wine/monitor after the load test: each feature and
#     output over the since_load window, against the reference.
#  2. A broken upstream: ROWS three times over with income moved up 3
#     standard deviations, sent to wine_b; its monitor flags income, and
#     `predictd drift` on the same rows, offline, flags the same.
#  3. What the wine model's predictions cost per million.
#
# Like demo-serve.sh it needs neither curl nor jq: bash's /dev/tcp and awk.
set -euo pipefail
bin=$1 repo=$2 port=$3 rows=$4 price=$5
dir=$(dirname "$repo")

# http METHOD PATH [BODY]: the response body; the status line goes to
# $dir/status.
http() {
  local body=${3:-} resp
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#body}" "$body" >&3
  resp=$(cat <&3)
  exec 3<&-
  head -1 <<<"$resp" | tr -d '\r' >"$dir/status"
  awk 'body {print} /^\r?$/ {body=1}' <<<"$resp"
}

# flat < JSON: one line per scalar, "path<TAB>value", the path of object
# keys and array indexes joined by dots (versions.0.windows.2.drift.status).
flat() {
  awk -f "$(dirname "${BASH_SOURCE[0]}")/jsonflat.awk"
}

# summary MODEL: the since_load window of the model's first version in
# /monitor, a line per feature and output, then the reasons of those not ok.
summary() {
  http GET "/v1/models/$1/monitor" >"$dir/$1.monitor.json"
  grep -q ' 200 ' "$dir/status" || { cat "$dir/status" "$dir/$1.monitor.json"; exit 1; }
  flat <"$dir/$1.monitor.json" | awk -F'\t' -v model="$1" '
    function num(x) { return (x == "" || x == "null") ? "-" : sprintf("%.4g", x) }
    $1 == "versions.0.version" { ver = $2 }
    $1 == "versions.0.reference.rows" { refrows = $2 }
    $1 == "versions.0.reference.source" { src = $2 }
    $1 ~ /^versions\.0\.windows\.[0-9]+\.name$/ && $2 == "since_load" { split($1, p, "."); w = "versions.0.windows." p[4] }
    w != "" && $1 == w ".rows" { rows = $2 }
    w != "" && $1 == w ".drift.status" { status = $2 }
    w != "" && match($1, /\.drift\.(features|outputs)\.[0-9]+\./) {
      split(substr($1, RSTART + 7), p, ".")
      id = p[1] "." p[2]; f = substr($1, RSTART + RLENGTH)
      if (!(id in seen)) { seen[id] = 1; order[++n] = id }
      if (f ~ /^reasons\./) v[id, "reasons"] = v[id, "reasons"] (v[id, "reasons"] == "" ? "" : "; ") $2
      else v[id, f] = $2
    }
    END {
      printf "  %s version %s, reference %s rows of %s; since_load: %s rows, status %s\n", model, ver, refrows, src, rows, status
      printf "  %-8s %-16s %-6s %8s %8s %8s %10s\n", "", "name", "status", "missing", "psi", "js", "ks p"
      for (k = 1; k <= n; k++) {
        id = order[k]
        printf "  %-8s %-16s %-6s %8s %8s %8s %10s\n", (id ~ /^features/ ? "feature" : "output"), v[id, "name"], v[id, "status"],
          num(v[id, "stats.missing_rate"]), num(v[id, "stats.psi"]), num(v[id, "stats.js"]), num(v[id, "stats.ks_p"])
      }
      for (k = 1; k <= n; k++) if (v[order[k], "status"] != "ok") printf "  %s %s: %s\n", v[order[k], "status"], v[order[k], "name"], v[order[k], "reasons"]
    }'
}

echo "== the model monitor after the load test: GET /v1/models/wine/monitor (every row served, binned on the reference's quantiles)"
summary wine

echo "== a broken upstream: the reference rows 3 times over with income +3 std (750 rows), sent to wine_b (the same model, monitored apart)"
awk -F, 'NR > 1 && $2 != "" { n++; s += $2; ss += $2 * $2 } END { sd = sqrt((ss - s * s / n) / (n - 1)); printf "%.17g\n", 3 * sd }' "$rows" >"$dir/shift"
shift=$(cat "$dir/shift")
awk -F, -v OFS=, -v d="$shift" 'NR == 1 { print; next } { r[++n] = $0 } END {
  for (k = 0; k < 3; k++) for (i = 1; i <= n; i++) { $0 = r[i]; if ($2 != "") $2 = sprintf("%.17g", $2 + d); print } }' "$rows" >"$dir/shifted.csv"
echo "income + $shift: $dir/shifted.csv"
body=$(awk -F, 'NR > 1 { s = "["; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") ($i == "" ? "null" : $i); b = b (b == "" ? "" : ",") s "]" }
  END { print "{\"instances\": [" b "]}" }' "$dir/shifted.csv")
http POST /v1/models/wine_b:predict "$body" >/dev/null
echo "POST /v1/models/wine_b:predict (750 instances): $(cat "$dir/status")"
summary wine_b

echo "== the same rows offline, before they reach production: predictd drift (exit 1 on drift)"
echo "\$ predictd drift --repo $repo --model wine_b --in $dir/shifted.csv"
rc=0
"$bin" drift --repo "$repo" --model wine_b --in "$dir/shifted.csv" || rc=$?
echo "exit $rc"
[ "$rc" = 1 ] || { echo "demo: predictd drift should have found drift (exit 1)"; exit 1; }

echo "== cost per 1M predictions (--cost-per-core-hour $price): the process CPU attributed to each version, over its predictions"
http GET /metrics | grep -E '^predictd_(cost_per_million_predictions|model_cpu_seconds_total)\{model="wine"' | sed 's/^/  /' || true
flat <"$dir/wine.monitor.json" | awk -F'\t' -v price="$price" '
  $1 == "versions.0.cost.Predictions" { n = $2 } $1 == "versions.0.cost.CPUSeconds" { cpu = $2 }
  $1 == "versions.0.cost.PerMillion" { pm = $2 } $1 == "versions.0.cost.Priced" { priced = $2 }
  END {
    printf "  wine: %d predictions since load, %.3f CPU s, %.1f µs CPU a prediction: %.4g per 1M predictions", n, cpu, cpu / n * 1e6, cpu / n * 1e6 / 3600 * price
    if (priced == "true") printf " (the /metrics gauge, over the last minute: %.4g)\n", pm
    else printf "\n  (the /metrics gauge predictd_cost_per_million_predictions prices the last minute of ticks: it appears once 30s of them cover the version. The capacity plan above prices the CPU of its steps at 70%% utilisation.)\n"
  }'

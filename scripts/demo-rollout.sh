#!/usr/bin/env bash
# demo-rollout.sh BIN REPO PORT DIR: a short canary of the retrained fraud
# model. REPO holds fraud_trained v1 (trained) and v2 (its scheduled
# retrain, scripts/demo-offline.sh); DIR holds the holdout it was judged
# on. Serve REPO with "stable" on v1 and a rollout block for v2 (steps 20%,
# 50%, 100%, 2s and 200 requests each at least, the default checks), an
# audit log and the state in DIR; send steady traffic with predictd
# loadtest (the holdout's rows); print the rollout as the daemon advances
# it, until it is promoted or rolled back; then the load test's verdict
# (no failed request), the final state and the audit log, verified.
set -euo pipefail
bin=$1 repo=$2 port=$3 dir=$4
url=http://127.0.0.1:$port
mkdir -p "$dir/rollout"
work=$dir/rollout
rm -rf "$work/state" "$work/audit.log"

# The holdout's raw rows as request instances (the category strings quoted).
"$bin" score --repo "$repo" --model fraud_trained --version 1 --in "$dir/holdout.parquet" \
  --keep amount,hour,country,device,spend_7d,orders_30d,segment,fraud_rate_30d,txn_count_7d --out "$work/rows.csv"
awk -F, 'NR == 1 { for (i = 1; i < NF; i++) h[i] = $i; next }
  { s = "{"; for (i = 1; i < NF; i++) { v = $i; if (v == "") v = "null"; else if (h[i] == "country" || h[i] == "device") v = "\"" v "\""
      s = s (i > 1 ? ", " : "") "\"" h[i] "\": " v }
    print s "}" }' "$work/rows.csv" >"$work/bodies.ndjson"

cat >"$work/serve.json" <<'JSON'
{"models": [{"name": "fraud_trained", "labels": {"stable": 1},
  "rollout": {"candidate": 2, "steps": [20, 50, 100], "min_duration": "2s", "min_requests": 200}}]}
JSON
printf 'release-bot %s\n' "demo-$(date +%s)-0123456789abcdef" >"$work/token"
echo "\$ cat $work/serve.json"
sed 's/^/  /' "$work/serve.json"
echo "\$ predictd serve --repo $repo --config $work/serve.json --state-dir $work/state --audit-log $work/audit.log --admin-token-file $work/token --rollout-interval 250ms --listen 127.0.0.1:$port"
"$bin" serve --repo "$repo" --config "$work/serve.json" --state-dir "$work/state" --audit-log "$work/audit.log" \
  --admin-token-file "$work/token" --rollout-interval 250ms --listen "127.0.0.1:$port" 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# ready: GET /readyz answers 200 once the models are loaded and the
# rollout state read (bash's /dev/tcp: no curl needed).
ready() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
  local status
  status=$(head -1 <&3)
  exec 3<&-
  [[ $status == *" 200 "* ]]
}
for _ in $(seq 200); do
  if ready 2>/dev/null; then break; fi
  sleep 0.05
done

echo "== steady traffic: predictd loadtest, 600 req/s for 20s over the holdout's 1000 rows (no user key: each request is split on its own)"
"$bin" loadtest --url "$url/v1/models/fraud_trained:predict" --bodies "$work/bodies.ndjson" --rate 600 --duration 20s \
  --warmup 0 --quiet --json "$work/load.json" >"$work/load.txt" 2>&1 &
load=$!
echo "== the daemon moves the rollout by itself: each step needs 2s, 200 requests per side and every check passing"
last=""
status=running
for _ in $(seq 120); do
  sleep 0.25
  out=$("$bin" rollout status --url "$url" --model fraud_trained)
  line=${out%%$'\n'*}
  if [ "$line" != "$last" ]; then
    echo "  $(date -u +%H:%M:%S) $line"
    last=$line
  fi
  case $line in
  *promoted* | *rolled_back* | *aborted*) status=done; break ;;
  esac
done
[ "$status" = done ] || echo "demo: the rollout was still running after 30s" >&2
wait $load
echo "== the load test's verdict: every request answered, whichever version took it"
sed 's/^/  /' "$work/load.txt"
grep -q '"errors_total": *0[,}]' "$work/load.json" || { echo "demo: the load test saw failed requests" >&2; exit 1; }
echo "\$ predictd rollout status --url $url --model fraud_trained"
"$bin" rollout status --url "$url" --model fraud_trained | sed 's/^/  /'
[ "$status" = done ] || exit 1
echo "== SIGTERM; then the audit log: who changed what, hash-chained and verified"
kill -TERM $pid
wait $pid
trap - EXIT
echo "\$ predictd audit show --log $work/audit.log"
"$bin" audit show --log "$work/audit.log" | sed 's/^/  /'
echo "\$ predictd audit verify --log $work/audit.log"
"$bin" audit verify --log "$work/audit.log" | sed 's/^/  /'

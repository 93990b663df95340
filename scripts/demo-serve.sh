#!/usr/bin/env bash
# demo-serve.sh BIN REPO PORT DEFS STORE: start `predictd serve` on REPO
# with the feature definitions DEFS over the online store STORE, ask for one
# prediction through each API, push merchant features, predict the fraud
# model from entity keys alone (the features come from the store), predict
# the model predictd trained from raw values (category strings), load-test
# the wine model, show its monitor (scripts/demo-monitor.sh), then stop it
# with SIGTERM as an orchestrator would. Uses bash's /dev/tcp, so it needs
# no curl.
set -euo pipefail
bin=$1 repo=$2 port=$3 defs=$4 store=$5
log=$(dirname "$repo")/serve.log
price=0.04 # per core-hour: the daemon's cost per 1M predictions and capacity's plan

"$bin" serve --repo "$repo" --listen "127.0.0.1:$port" --features "$defs" --store "$store" --cost-per-core-hour "$price" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

# http METHOD PATH [BODY]: prints the status line and the body.
http() {
  local body=${3:-}
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#body}" "$body" >&3
  local resp
  resp=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$(head -1 <<<"$resp" | tr -d '\r')"
  printf '%s\n' "$(awk 'body {print} /^\r?$/ {body=1}' <<<"$resp")"
}

for _ in $(seq 200); do
  if (http GET /readyz 2>/dev/null | grep -q ' 200 '); then break; fi
  sleep 0.05
done
echo "\$ predictd serve --repo $repo --listen 127.0.0.1:$port --features $defs --store $store --cost-per-core-hour $price"
sed 's/^/  /' "$log"
row='[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]'
echo "== TF Serving REST: POST /v1/models/wine:predict"
http POST /v1/models/wine:predict "{\"instances\": [$row]}"
echo "== Open Inference Protocol v2: POST /v2/models/wine/infer"
http POST /v2/models/wine/infer "{\"id\": \"demo-1\", \"inputs\": [{\"name\": \"input\", \"datatype\": \"FP64\", \"shape\": [1, 10], \"data\": $row}]}"
echo "== a bad request names the instance and field"
http POST /v1/models/wine:predict '{"instances": [{"age": "old"}]}'
now=$(date -u -d '10 minutes ago' +%Y-%m-%dT%H:%M:%SZ)
echo "== push merchant features: POST /v1/features/merchant_stats"
http POST /v1/features/merchant_stats "{\"rows\": [{\"entity\": \"m7\", \"event_time\": \"$now\", \"values\": {\"fraud_rate_30d\": 0.0244, \"txn_count_7d\": 52}}]}"
echo "== one user's stored features: GET /v1/features/user_stats/u4"
http GET /v1/features/user_stats/u4
echo "== predict from entity keys: the store fills spend_7d, orders_30d, segment, fraud_rate_30d, txn_count_7d"
http POST /v1/models/fraud:predict '{"return_features": true, "instances": [{"user_id": "u4", "merchant_id": "m7", "amount": 28.5, "hour": 0}, {"user_id": "new-user", "merchant_id": "m7", "amount": 28.5, "hour": 0}]}'
echo "== the same first row sent inline predicts the same"
http POST /v1/models/fraud:predict '{"instances": [{"amount": 28.5, "hour": 0, "spend_7d": 56.54, "orders_30d": 2, "segment": 0, "fraud_rate_30d": 0.0244, "txn_count_7d": 52}]}'
echo "== the fraud model predictd trained (fraud_trained, retrained as version 2) takes raw values: the category strings as they come, its transforms run inside"
http POST /v1/models/fraud_trained:predict '{"instances": [{"amount": 28.5, "hour": 0, "country": "BR", "device": "web", "spend_7d": 56.54, "orders_30d": 2, "segment": 0, "fraud_rate_30d": 0.0244, "txn_count_7d": 52}, {"amount": 28.5, "hour": 0, "country": "NZ", "device": "web", "spend_7d": null, "orders_30d": null, "segment": null, "fraud_rate_30d": 0.0244, "txn_count_7d": 52}]}'
echo "== ... and says what is wrong with a value of the wrong kind"
http POST /v1/models/fraud_trained:predict '{"instances": [{"amount": 28.5, "hour": 0, "country": 7, "device": "web", "spend_7d": 56.54, "orders_30d": 2, "segment": 0, "fraud_rate_30d": 0.0244, "txn_count_7d": 52}]}'
echo "== model status"
http GET /v1/models/wine
echo "== load test: 3s open loop at 500 req/s over 200 different instances, judged against a 25ms p99 SLO"
echo "\$ predictd loadtest --url http://127.0.0.1:$port/v1/models/wine:predict --bodies testdata/loadtest/wine.ndjson --rate 500 --duration 3s --slo-p99 25ms"
"$bin" loadtest --url "http://127.0.0.1:$port/v1/models/wine:predict" --bodies testdata/loadtest/wine.ndjson \
  --rate 500 --duration 3s --warmup 500ms --slo-p99 25ms --quiet
echo "== capacity: the highest rate the wine model holds within a 10ms p99 on this machine (1s steps: a quick estimate), and a plan"
echo "\$ predictd capacity --url http://127.0.0.1:$port/v1/models/wine:predict --bodies testdata/loadtest/wine.ndjson --slo-p99 10ms --target-rps 20000 --cost-per-core-hour $price ..."
"$bin" capacity --url "http://127.0.0.1:$port/v1/models/wine:predict" --bodies testdata/loadtest/wine.ndjson \
  --slo-p99 10ms --start-rate 500 --step-duration 1s --warmup 300ms --max-steps 9 --precision 0.1 \
  --target-rps 20000 --cost-per-core-hour "$price" --html "$(dirname "$repo")/capacity.html" --json "$(dirname "$repo")/capacity.json" \
  || echo "(no rate held the SLO on this machine just now)"
echo "report: $(dirname "$repo")/capacity.html"
bash "$(dirname "$0")/demo-monitor.sh" "$bin" "$repo" "$port" testdata/xgboost/gbtree_multi_softprob.csv "$price"
echo "== SIGTERM: drain and exit"
kill -TERM $pid
wait $pid && echo "predictd serve exited 0"
trap - EXIT

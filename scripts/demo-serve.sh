#!/usr/bin/env bash
# demo-serve.sh BIN REPO PORT: start `predictd serve` on REPO, ask for one
# prediction through each API, then stop it with SIGTERM as an orchestrator
# would. Uses bash's /dev/tcp, so it needs no curl.
set -euo pipefail
bin=$1 repo=$2 port=$3
log=$(dirname "$repo")/serve.log

"$bin" serve --repo "$repo" --listen "127.0.0.1:$port" 2>"$log" &
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
echo "\$ predictd serve --repo $repo --listen 127.0.0.1:$port"
sed 's/^/  /' "$log"
row='[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]'
echo "== TF Serving REST: POST /v1/models/wine:predict"
http POST /v1/models/wine:predict "{\"instances\": [$row]}"
echo "== Open Inference Protocol v2: POST /v2/models/wine/infer"
http POST /v2/models/wine/infer "{\"id\": \"demo-1\", \"inputs\": [{\"name\": \"input\", \"datatype\": \"FP64\", \"shape\": [1, 10], \"data\": $row}]}"
echo "== a bad request names the instance and field"
http POST /v1/models/wine:predict '{"instances": [{"age": "old"}]}'
echo "== model status"
http GET /v1/models/wine
echo "== SIGTERM: drain and exit"
kill -TERM $pid
wait $pid && echo "predictd serve exited 0"
trap - EXIT

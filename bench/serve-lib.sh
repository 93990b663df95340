# serve-lib.sh: building, starting and stopping `predictd serve` for the
# bench/ scripts. Source it from the repository root after setting work (a
# scratch folder); build_predictd sets bin; the server logs to
# $work/serve.log.

# build_predictd: sets bin to $PREDICTD when set, else builds ./cmd/predictd
# (the GOEXPERIMENT=simd build on amd64) into $work.
build_predictd() {
  if [ -n "${PREDICTD:-}" ]; then
    bin=$PREDICTD
    return
  fi
  local simd=""
  [ "$(go env GOARCH)" = amd64 ] && simd="GOEXPERIMENT=simd"
  env $simd go build -o "$work/predictd" ./cmd/predictd
  bin=$work/predictd
}

# ready ADDR: whether GET /readyz answers 200 (bash's /dev/tcp, no curl).
ready() (
  status=""
  exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
  printf 'GET /readyz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" >&3
  IFS= read -r -t 5 status <&3 || true
  [[ $status == "HTTP/1."?" 200"* ]]
) 2>/dev/null

# serve_start NAME ARGS...: `predictd serve ARGS...` on a free loopback
# port, waiting until it is ready; sets server_pid and addr. NAME labels
# the messages when it fails, which exits the script.
serve_start() {
  local name=$1
  shift
  "$bin" serve --listen 127.0.0.1:0 "$@" 2>"$work/serve.log" &
  server_pid=$!
  addr=""
  for _ in $(seq 600); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "$name: predictd serve exited:"; cat "$work/serve.log"; server_pid=""; exit 1
    fi
    [ -z "$addr" ] && addr=$(awk '/serving HTTP on / { print $NF; exit }' "$work/serve.log")
    if [ -n "$addr" ] && ready "$addr"; then return; fi
    sleep 0.1
  done
  echo "$name: predictd serve not ready after 60s:"; cat "$work/serve.log"; exit 1
}

# serve_stop NAME: SIGTERM the server and check it exits 0.
serve_stop() {
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "$1: predictd serve exited $? on SIGTERM:"; cat "$work/serve.log"; exit 1; }
  server_pid=""
}

# json_fields "KEY ..." < ONE-LINE-JSON: prints the top-level values of
# the keys, space separated ("?" for a missing one): loadgen --json's
# numbers, read with awk alone.
json_fields() {
  awk -v names="$1" '{
    n = split(names, keys, " ")
    for (i = 1; i <= n; i++) {
      k = "\"" keys[i] "\":"; j = index($0, k); v = "?"
      if (j) { v = substr($0, j + length(k)); match(v, /^[^,}]*/); v = substr(v, 1, RLENGTH) }
      printf "%s%s", v, (i < n ? " " : "\n")
    }
  }'
}

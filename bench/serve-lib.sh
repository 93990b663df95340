# serve-lib.sh: building, starting and stopping `predictd serve` for the
# bench/ scripts, and driving `predictd loadtest` against it. Source it from
# the repository root after setting work (a scratch folder); build_predictd
# sets bin and loadtest_bin; the server logs to $work/serve.log.

# build_predictd: builds ./cmd/predictd (the GOEXPERIMENT=simd build on
# amd64) into $work and sets loadtest_bin to it: the load generator is
# always this tree's. Sets bin, the predictd measured, to $PREDICTD when set,
# else to the same build.
build_predictd() {
  local simd=""
  [ "$(go env GOARCH)" = amd64 ] && simd="GOEXPERIMENT=simd"
  env $simd go build -o "$work/predictd" ./cmd/predictd
  loadtest_bin=$work/predictd
  bin=${PREDICTD:-$work/predictd}
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

# run_loadtest NAME ARGS...: one `predictd loadtest ARGS... --quiet` run
# (loadtest_bin), its summary written to $work/loadtest.json (--json; the
# fields are loadtest.Summary's, read with json_fields) and its printed
# report to $work/loadtest.out. A run that exits non-zero (a usage error, a
# run that could not start, a failed --slo-p99) prints that report and exits
# the script; NAME labels the message. Non-2xx answers and transport errors
# (connection refused included) do not fail it: the summary counts them
# (requests, ok, errors), and the caller judges.
run_loadtest() {
  local name=$1 rc=0
  shift
  "$loadtest_bin" loadtest "$@" --json "$work/loadtest.json" --quiet >"$work/loadtest.out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "$name: predictd loadtest $* exited $rc:" >&2
    cat "$work/loadtest.out" >&2
    exit 1
  fi
}

# json_fields "PATH ..." < JSON: prints the values at the paths, space
# separated ("?" for a missing one), read with awk alone (no jq). A path is
# object keys and array indexes (from 0) joined by dots: achieved_rps,
# latency_ms.p99, spectrum.0.latency_ms. Made for the numbers of
# `predictd loadtest --json` (loadtest.Summary): a string is printed without
# its quotes, an escape as its bare character (\" as ", \n as n), and an
# object or array is not a value ("?").
json_fields() {
  awk -f "$(dirname "${BASH_SOURCE[0]}")/../scripts/jsonflat.awk" | awk -F'\t' -v names="$1" '
    { val[$1] = $2 }
    END {
      m = split(names, paths, " ")
      for (k = 1; k <= m; k++) printf "%s%s", ((paths[k] in val) ? val[paths[k]] : "?"), (k < m ? " " : "\n")
    }'
}

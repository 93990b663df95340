#!/usr/bin/env bash
# report.sh (make bench-report): every comparison of predictd against its
# peer, run one after the other on this machine, and one table of ratios
# written to docs/benchmarks.md, so a change that slows a path shows in the
# diff of that file in review (issue 15).
#
#   step      script                                  peer
#   trees     bench/compare-trees.sh                  XGBoost at its best (inplace_predict over the whole
#                                                     float32 matrix), leaves on the same LightGBM text
#   trees_avx2  the same with PREDICTD_SIMD=avx2: predictd capped to the code an AVX2-only machine runs
#   sgemm     bench/sgemm_numpy.py --with-go          numpy's OpenBLAS, one thread
#   serve     bench/serve-wrk.sh                      a do-nothing fasthttp server (bench/noopserver) under wrk
#   batching  bench/batching.sh                       predictd serve with the batcher off
#   loadtest  bench/loadtest-wrk.sh                   wrk -t1 against the do-nothing server
#
# The scripts' own RESULT lines are taken as they are; sgemm_numpy.py and
# serve-wrk.sh print tables without one, so this script reads their tables
# into PARSED lines (the same key=value form). Every figure in the report is
# one of those, or a median over rounds of them: nothing is filled in. A
# step that fails is named in the report and the run goes on; the exit
# status is non-zero at the end if any step failed (the report is written
# first). A step whose tool is missing (wrk, python3-xgboost, numpy) is
# reported as "skipped: why" and does not fail the run.
#
# Ratios are oriented so that above 1 favours predictd (or, for batching,
# the batcher on): the peer's time over predictd's, predictd's throughput
# over the peer's.
#
#   bash bench/report.sh                  # the full run, about 15 minutes on 2 cores
#   QUICK=1 bash bench/report.sh          # a ~3-minute smoke run, written to $OUT/benchmarks.md
#   ONLY="sgemm serve" bash bench/report.sh
#   bash bench/report.sh --render DIR FILE   # write FILE from the logs kept in DIR (no runs)
#
# Environment: QUICK=1 (tiny durations, two tree models; the report goes
# to $OUT/benchmarks.md so the committed one is not replaced by smoke
# figures), REPORT (where the report goes; default docs/benchmarks.md, or
# $OUT/benchmarks.md with QUICK=1), OUT (the raw logs, kept; default
# $TMPDIR/predictd-bench-report), ONLY (the steps to run, in the order
# above), STEP_TIMEOUT (seconds a step may take before it is stopped and
# counted failed; 1800), PYTHON (for sgemm; default /usr/bin/python3, where
# Debian's numpy lives), TREES_MODELS and BATCHING_MODELS (the MODELS of
# those two scripts), SOURCE (worktree, the default: build and measure the
# checkout as it stands, the header says whether it is dirty; head: a copy
# of HEAD's tree made with git archive, for a report that belongs to a
# commit while others have uncommitted work in the same checkout).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

STEPS="trees trees_avx2 sgemm serve batching loadtest"
OUT=${OUT:-${TMPDIR:-/tmp}/predictd-bench-report}

# One line per step: NAME and the knobs it runs with (env assignments);
# step_cmd prints them and run_step runs them.
if [ -n "${QUICK:-}" ]; then
  TREES_MODELS=${TREES_MODELS:-b300d6 cat13}
  trees_env=(DURATION=0.3 BENCHTIME=100ms)
  sgemm_args=(--rounds 2 --min-time 0.05)
  serve_env=(DURATION=2s ROUNDS=1 CONNS=32)
  batching_env=(DURATION=2s WARMUP=500ms SINGLE=1s ROUNDS=1)
  loadtest_env=(DURATION=1s CONNS=32 ROUNDS=1 "RATES=50000 1000000")
  REPORT=${REPORT:-$OUT/benchmarks.md}
else
  TREES_MODELS=${TREES_MODELS:-b300d6 b1000d4 m50d6 b200d8 lossguide255 sparse1200 cat13}
  trees_env=(DURATION=2 BENCHTIME=1s)
  sgemm_args=(--rounds 10 --min-time 0.2)
  serve_env=(DURATION=5s ROUNDS=2 CONNS=32)
  batching_env=(DURATION=5s WARMUP=1s SINGLE=2s ROUNDS=1)
  loadtest_env=(DURATION=4s "CONNS=16 64" ROUNDS=2 "RATES=50000 100000 200000 1000000")
  REPORT=${REPORT:-docs/benchmarks.md}
fi
trees_env+=("MODELS=$TREES_MODELS")
batching_env+=("MODELS=${BATCHING_MODELS:-mlp trees wide}")
ONLY=${ONLY:-$STEPS}
SOURCE=${SOURCE:-worktree}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
PYTHON=${PYTHON:-/usr/bin/python3}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# step_cmd NAME: prints the command line of step NAME (for the report).
step_cmd() {
  case $1 in
  trees) echo "${trees_env[*]} bash bench/compare-trees.sh" ;;
  trees_avx2) echo "PREDICTD_SIMD=avx2 ${trees_env[*]} bash bench/compare-trees.sh" ;;
  sgemm) echo "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PYTHON bench/sgemm_numpy.py --with-go ${sgemm_args[*]}" ;;
  serve) echo "${serve_env[*]} bash bench/serve-wrk.sh" ;;
  batching) echo "${batching_env[*]} bash bench/batching.sh" ;;
  loadtest) echo "${loadtest_env[*]} bash bench/loadtest-wrk.sh" ;;
  esac
}

# run_step NAME: runs step NAME with its output shown and kept in
# $OUT/NAME.log; writes "rc seconds load-before" to $OUT/NAME.rc. A step
# skipped before it starts writes its reason to $OUT/NAME.skip instead.
run_step() {
  local name=$1 log=$OUT/$1.log start rc load
  rm -f "$OUT/$name".{log,rc,skip,cmd}
  if [ "$name" = sgemm ] && ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "needs $PYTHON with numpy (Debian: apt-get install python3-numpy)" >"$OUT/$name.skip"
    return
  fi
  step_cmd "$name" >"$OUT/$name.cmd"
  echo "== bench-report: $name: $(cat "$OUT/$name.cmd") (log $log)" >&2
  load=$(loadavg)
  start=$(date +%s)
  case $name in
  trees) env "${trees_env[@]}" timeout "$STEP_TIMEOUT" bash bench/compare-trees.sh ;;
  trees_avx2) env PREDICTD_SIMD=avx2 "${trees_env[@]}" timeout "$STEP_TIMEOUT" bash bench/compare-trees.sh ;;
  sgemm) env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout "$STEP_TIMEOUT" "$PYTHON" bench/sgemm_numpy.py --with-go "${sgemm_args[@]}" ;;
  serve) env "${serve_env[@]}" timeout "$STEP_TIMEOUT" bash bench/serve-wrk.sh ;;
  batching) env "${batching_env[@]}" timeout "$STEP_TIMEOUT" bash bench/batching.sh ;;
  loadtest) env "${loadtest_env[@]}" timeout "$STEP_TIMEOUT" bash bench/loadtest-wrk.sh ;;
  esac 2>&1 </dev/null | tee "$log" >&2
  rc=${PIPESTATUS[0]}
  echo "$rc $(($(date +%s) - start)) $load" >"$OUT/$name.rc"
}

# parse_sgemm < LOG: sgemm_numpy.py --with-go's side-by-side table as
# PARSED lines, one per shape, and its "blas:" line as a NOTE.
parse_sgemm() {
  awk '
    /^blas: / { sub(/^blas: /, ""); print "NOTE sgemm " $0 }
    /^GOEXPERIMENT=.*alternating rounds/ { rounds = $2 }
    $1 ~ /^m=[0-9]+\/k=[0-9]+\/n=[0-9]+$/ && NF == 7 {
      print "PARSED bench=sgemm shape=" $1 " go_best_gflops=" $2 " go_med_gflops=" $3 " numpy_best_gflops=" $4 \
        " numpy_med_gflops=" $5 " ratio_best=" $6 " ratio_med=" $7 " rounds=" rounds
    }'
}

# parse_serve < LOG: serve-wrk.sh's table as PARSED lines, one per round
# and model, each with the do-nothing server's figures of its round.
parse_serve() {
  awk '
    / connections, .* wrk thread\(s\), / { conns = $3; dur = $8 }
    $1 ~ /^[0-9]+$/ && $2 == "noop" && $3 == "fasthttp" { noop[$1] = $4 }
    $1 ~ /^[0-9]+$/ && $2 == "predictd" && NF == 7 {
      print "PARSED bench=serve model=" $3 " round=" $1 " rps=" $4 " p50=" $5 " p99=" $6 " noop_rps=" noop[$1] \
        " ratio=" $7 " conns=" conns " duration=" dur
    }'
}

# parse_loadtest_closed < LOG: loadtest-wrk.sh's closed-loop rounds and
# medians (its RESULT line keeps only the lowest median ratio).
parse_loadtest_closed() {
  awk '
    /^conns +round +wrk-t1/ { closed = 1; next }
    closed && NF == 7 && $1 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {
      print "PARSED bench=loadtest-closed-round conns=" $1 " round=" $2 " wrk_rps=" $3 " pd_rps=" $4 " ratio=" $5 " pd_p1_rps=" $6 " ratio_p1=" $7
      next
    }
    closed && NF != 7 { closed = 0 }
    /^conns .* median predictd\/wrk / {
      r = $5; r1 = $8
      print "PARSED bench=loadtest-closed conns=" $2 " ratio_med=" r " ratio_med_p1=" r1
    }'
}

# first_error < LOG: the line most likely to say why a step failed: the
# first Go compiler error if the build broke, else the last line, cut to
# 200 characters.
first_error() {
  awk '/^[^ ]+\.go:[0-9]+:[0-9]+: / && err == "" { err = $0 } NF { last = $0 }
    END { s = err != "" ? "build: " err : last; print (length(s) > 200 ? substr(s, 1, 197) "..." : s) }'
}

# skip_reason < LOG: the message of a script that skipped itself (exit 0).
skip_reason() { grep -iE 'skipp|nothing to compare' | tail -1 | sed 's/^[a-z.-]*: *//'; }

# collect: $OUT/results from the logs: one STEP line per step, then its
# RESULT, PARSED and NOTE lines.
collect() {
  local name rc secs load got why
  : >"$OUT/results"
  for name in $ONLY; do
    if [ -s "$OUT/$name.skip" ]; then
      echo "STEP name=$name state=skipped why=$(cat "$OUT/$name.skip")" >>"$OUT/results"
      continue
    fi
    [ -s "$OUT/$name.rc" ] || { echo "STEP name=$name state=failed why=did not run (no $OUT/$name.rc)" >>"$OUT/results"; continue; }
    read -r rc secs load <"$OUT/$name.rc"
    got=$({
      grep '^RESULT ' "$OUT/$name.log"
      case $name in
      sgemm) parse_sgemm <"$OUT/$name.log" ;;
      serve) parse_serve <"$OUT/$name.log" ;;
      loadtest) parse_loadtest_closed <"$OUT/$name.log" ;;
      esac
    })
    local state=ok
    why=""
    if [ "$rc" != 0 ]; then
      state=failed
      why="exit $rc$([ "$rc" = 124 ] && echo " (stopped after STEP_TIMEOUT=${STEP_TIMEOUT}s)"): $(first_error <"$OUT/$name.log")"
    elif ! grep -q '^RESULT \|^PARSED ' <<<"$got"; then
      why=$(skip_reason <"$OUT/$name.log")
      if [ -n "$why" ]; then state=skipped; else state=failed why="exit 0 but no figure found in its output"; fi
    fi
    echo "CMD name=$name $(cat "$OUT/$name.cmd" 2>/dev/null || echo '?')" >>"$OUT/results"
    echo "STEP name=$name state=$state rc=$rc seconds=$secs load=${load// /,} why=$why" >>"$OUT/results"
    [ -n "$got" ] && echo "$got" >>"$OUT/results"
  done
}

# render FILE: the report from $OUT/header and $OUT/results.
render() {
  {
    cat "$OUT/header" 2>/dev/null || echo "(no header: $OUT/header missing)"
    echo
    awk -f "$root/bench/report.awk" "$OUT/results"
  } >"$1"
}

if [ "${1:-}" = --render ]; then
  # Collect again from the logs kept in DIR (the steps that left a .rc or
  # .skip file there), then render: how bench/report_test.sh checks the
  # parsing without running a benchmark.
  OUT=$2
  ONLY=""
  for name in $STEPS; do [ -e "$OUT/$name.rc" ] || [ -e "$OUT/$name.skip" ] && ONLY+="$name "; done
  collect
  render "$3"
  exit 0
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
case $REPORT in /*) ;; *) REPORT=$root/$REPORT ;; esac
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | wc -l)
if [ "$SOURCE" = head ]; then
  # Measure the last commit alone: a copy of HEAD's tree (git archive, which
  # leaves the index and the working tree alone), so the uncommitted work
  # of others sharing the checkout is neither built nor measured.
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  git archive HEAD | tar -x -C "$src" || { echo "report.sh: SOURCE=head: git archive HEAD failed" >&2; exit 1; }
  cd "$src"
elif [ "$SOURCE" != worktree ]; then
  echo "report.sh: SOURCE=$SOURCE: want worktree or head" >&2
  exit 2
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|f16c|bmi2|avx512.*|avx_vnni|amx.*)$' | tr '\n' ' ' | sed 's/ $//')
vbin=$OUT/predictd
simd=""
[ "$(go env GOARCH)" = amd64 ] && simd="GOEXPERIMENT=simd"
if env $simd go build -o "$vbin" ./cmd/predictd 2>"$OUT/build.log"; then
  version=$("$vbin" version 2>&1 | head -1)
else
  version="(build failed: $(tail -1 "$OUT/build.log"))"
fi
load_before=$(loadavg)
started=$(date +%s)
{
  echo "# Benchmarks: predictd against its peers"
  echo
  echo "Written by \`make bench-report\` (bench/report.sh); do not edit by hand. Every figure below comes from"
  echo "a RESULT line of a bench/ script, or from a table one printed (PARSED), in the run this file records."
  [ -n "${QUICK:-}" ] && { echo; echo "**QUICK=1 smoke run: tiny durations, figures not comparable with a full run.**"; }
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $(date -u +%FT%TZ) |"
  if [ "$SOURCE" = head ]; then
    echo "| commit | $commit, HEAD's tree alone (SOURCE=head: a git archive copy; $dirty uncommitted paths in the checkout not measured) |"
  elif [ "$dirty" -gt 0 ]; then
    echo "| commit | $commit, dirty: $dirty paths modified or untracked (the run measures the working tree) |"
  else
    echo "| commit | $commit, clean |"
  fi
  echo "| CPU | $cpu, $(nproc) cores |"
  echo "| SIMD flags | $flags |"
  echo "| Go | $(go version | cut -d' ' -f3-) |"
  echo "| predictd | $version |"
  echo "| load average before | $load_before |"
} >"$OUT/header"

for name in $ONLY; do
  case " $STEPS " in *" $name "*) run_step "$name" ;; *) echo "report.sh: ONLY: unknown step $name (want: $STEPS)" >&2; exit 2 ;; esac
done

{
  echo "| load average after | $(loadavg) |"
  echo "| run took | $(($(date +%s) - started)) s |"
} >>"$OUT/header"
collect
mkdir -p "$(dirname "$REPORT")"
render "$REPORT"
echo "bench-report: wrote $REPORT (logs in $OUT)" >&2
if grep -q '^STEP .*state=failed' "$OUT/results"; then
  echo "bench-report: failed: $(awk '/^STEP .*state=failed/ { sub(/^name=/, "", $2); printf "%s ", $2 }' "$OUT/results")" >&2
  exit 1
fi

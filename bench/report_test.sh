#!/usr/bin/env bash
# report_test.sh: checks bench/report.sh's parsing and table without
# running a benchmark: logs in the scripts' formats (excerpts of real runs)
# go through `report.sh --render`, and the rows it writes are compared with
# the figures in them. Run by hand after changing report.sh, report.awk or
# the output of a bench/ script it reads:
#
#   bash bench/report_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# trees: ok, one model with a figure missing ("-").
cat >"$dir/trees.log" <<'EOF'
== XGBoost trains the models (kept in /tmp/predictd-trees)
RESULT bench=trees model=b300d6 ratio_4096_1t=3.257 ratio_4096_2t=1.400 ratio_256_1t=- xgb_best_1t_ns=3432 xgb_best_2t_ns=1766 pd_4096_1t_ns=1054 pd_4096_2t_ns=1261 pd_256_1t_ns=- pd_1_p50_us=7.18
RESULT bench=trees-leaves model=b300d6-fixture batch=256 threads=1 leaves_ns=18431 pd_ns=868 ratio=21.236
RESULT bench=trees-leaves model=cat13-lightgbm batch=4096 threads=2 leaves_ns=5798 pd_ns=3000 ratio=1.933
compare-trees.sh: gcc or libxgboost.so.0 missing: XGBoost C API skipped
EOF
echo "0 31 3.75 4.27 3.09" >"$dir/trees.rc"

# sgemm: the Go test binary did not build.
cat >"$dir/sgemm.log" <<'EOF'
# github.com/predictd/predictd/kernels [github.com/predictd/predictd/kernels.test]
kernels/gemm_parallel_test.go:12:6: sameBits redeclared in this block
	kernels/dense32_test.go:35:6: other declaration of sameBits
Traceback (most recent call last):
subprocess.CalledProcessError: Command '['go', 'test']' returned non-zero exit status 1.
EOF
echo "1 2 3.48 2.23 2.09" >"$dir/sgemm.rc"

# serve: two rounds; medians over them.
cat >"$dir/serve.log" <<'EOF'
predictd dev (go1.26.8-X:simd, linux/amd64, float32 kernels: avx512)
2 cores, 32 connections, 1 wrk thread(s), 5s per run, 2 round(s), 2026-12-03T13:42:43Z
round  endpoint                      req/s        p50        p99  vs noop
1      noop fasthttp              50000.00   366.00us     5.05ms     1.00
1      predictd logistic          45000.00   444.00us     4.99ms     0.90
1      predictd trees             25000.00   750.00us    10.49ms     0.50
2      noop fasthttp              60000.00   366.00us     5.05ms     1.00
2      predictd logistic          48000.00   444.00us     4.99ms     0.80
2      predictd trees             36000.00   750.00us    10.49ms     0.60
EOF
echo "0 31 3.48 2.23 2.09" >"$dir/serve.rc"

# batching: the script skipped itself.
cat >"$dir/batching.log" <<'EOF'
batching.sh: this predictd refuses 'serve --batching=false' (no batching flag yet): nothing to compare.
EOF
echo "0 3 1 1 1" >"$dir/batching.rc"

# loadtest: two connection counts, two rounds, two rates.
cat >"$dir/loadtest.log" <<'EOF'
AMD EPYC, 2 cores (load average 1.0 1.0 1.0), go1.26.8, connections 16 64, 4s per run, 2 round(s), 2026-12-03T13:42:43Z
closed loop, req/s (predictd: 2xx/s of the measured window after a 1s warm-up; wrk: all responses)
conns  round      wrk-t1     predictd   ratio  predictd/P1   ratio
16     1           60000        54000    0.90        40000    0.67
16     2           62000        52700    0.85        41000    0.66
64     1           64331        86352    1.34        49856    0.77
64     2           66000        80000    1.21        50000    0.76

open loop at 0.9 × wrk median, same connections (default GOMAXPROCS)
conns      target     achieved     late   unsent    p50_ms    p99_ms kept up
16          54900        54900        0        0      0.10      1.00 yes

conns 16   median predictd/wrk 0.88 (GOMAXPROCS default), 0.67 (GOMAXPROCS=1)
conns 64   median predictd/wrk 1.27 (GOMAXPROCS default), 0.77 (GOMAXPROCS=1)
verdict: PASS (lowest median ratio 0.88 vs target 0.8, default GOMAXPROCS); GOMAXPROCS=1: FAIL (0.67)
RESULT bench=loadtest-wrk cpu=AMD_EPYC cores=2 duration=4s closed_ratio_min=0.88 conns=32 over_50000_ok_rps=50000 over_50000_wrk_rps=90838 over_50000_ratio=1.00 over_50000_unsent=0 over_1000000_ok_rps=60000 over_1000000_wrk_rps=90450 over_1000000_ratio=0.66 over_1000000_unsent=902336 over_ratio_min=0.66 verdict=FAIL
EOF
echo "0 60 1 1 1" >"$dir/loadtest.rc"

bash bench/report.sh --render "$dir" "$dir/out.md"

fail=0
want() {
  if ! grep -qF -- "$1" "$dir/out.md"; then
    echo "report_test: missing from the report: $1"
    fail=1
  fi
}
want '| trees b300d6, batch 4096, 1 thread | ns/row, XGBoost ÷ predictd | 1054 | 3432 | 3.257 | ≥ 1.5 | met |'
want '| trees b300d6, batch 4096, 2 threads | ns/row, XGBoost ÷ predictd | 1261 | 1766 | 1.400 | ≥ 1.5 | **not met** |'
want '| trees b300d6, batch 256, 1 thread | ns/row, XGBoost best (whole matrix) ÷ predictd | - | 3432 | - | ≥ 1 | no figure |'
want '| trees vs leaves, b300d6-fixture, batch 256, 1 thread | ns/row, leaves ÷ predictd | 868 | 18431 | 21.236 |  |  |'
want '| trees vs leaves, cat13-lightgbm, batch 4096, 2 threads | ns/row, leaves ÷ predictd | 3000 | 5798 | 1.933 | ≥ 2 | **not met** |'
want '| sgemm | failed: exit 1: build: kernels/gemm_parallel_test.go:12:6: sameBits redeclared in this block | | | | | |'
want '| serve logistic | req/s under wrk (32 conns, median of 2 rounds), predictd ÷ no-op server | 46500 | 55000 | 0.85 |  |  |'
want '| serve trees | req/s under wrk (32 conns, median of 2 rounds), predictd ÷ no-op server | 30500 | 55000 | 0.55 |  |  |'
want "| batching | skipped: this predictd refuses 'serve --batching=false' (no batching flag yet): nothing to compare. | | | | | |"
want '| loadtest closed loop, 16 conns | req/s (median of 2 rounds), predictd loadtest ÷ wrk | 53350 | 61000 | 0.88 | ≥ 0.8 | met |'
want '| loadtest closed loop, 64 conns, GOMAXPROCS=1 | req/s (median of 2 rounds), predictd loadtest ÷ wrk | 49928 | 65166 | 0.77 |  |  |'
want '| loadtest open loop at 1000000/s, 32 conns | OK/s, predictd ÷ min(rate, wrk req/s); 902336 unsent | 60000 | 90450 | 0.66 | ≥ 0.8 | **not met** |'
want '| sgemm | `?` | 2 | 1 | 3.48 2.23 2.09 | failed: exit 1: build: kernels/gemm_parallel_test.go:12:6: sameBits redeclared in this block |'
want 'PARSED bench=serve model=trees round=2 rps=36000.00 p50=750.00us p99=10.49ms noop_rps=60000.00 ratio=0.60 conns=32 duration=5s'
# A failed step is a failure of the run; a skipped one is not.
grep -q '^STEP name=sgemm state=failed' "$dir/results" || { echo "report_test: sgemm not counted failed"; fail=1; }
grep -q '^STEP name=batching state=skipped' "$dir/results" || { echo "report_test: batching not counted skipped"; fail=1; }
if [ "$fail" != 0 ]; then
  echo "--- report:"
  cat "$dir/out.md"
  exit 1
fi
echo "report_test: ok"

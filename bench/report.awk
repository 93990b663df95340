# report.awk: the body of docs/benchmarks.md from bench/report.sh's
# results file: the table of ratios, what each row measures, the runs, and
# the raw lines. Input lines, in step order:
#
#   CMD name=STEP the command line it ran
#   STEP name=STEP state=ok|failed|skipped [rc=N seconds=S load=A,B,C] why=free text
#   RESULT key=value ...      a script's own line, as printed
#   PARSED key=value ...      read by report.sh from a table a script printed
#   NOTE STEP key=value       context (sgemm: the BLAS kernel)
#
# Every figure printed is a value of one of those lines, or the median of
# several (rounds); nothing is filled in. A ratio above 1 favours predictd
# (for batching: the batcher on). A target from issue 15 is marked met or
# not met; a ratio that is not a number is "no figure".

function parse(   i, p) {
  delete kv
  for (i = 2; i <= NF; i++) {
    p = index($i, "=")
    if (p) kv[substr($i, 1, p - 1)] = substr($i, p + 1)
  }
}
function isnum(v) { return v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
function val(k) { return (k in kv) && kv[k] != "" ? kv[k] : "?" }
function esc(s) { gsub(/\|/, "\\|", s); return s }
function mark(ratio, target) {
  if (target == "") return ""
  if (!isnum(ratio)) return "no figure"
  return ratio + 0 >= target + 0 ? "met" : "**not met**"
}
# row STEP COMPARISON MEASURE PREDICTD PEER RATIO TARGET
function row(s, what, measure, pd, peer, ratio, target) {
  rows[s] = rows[s] sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", what, measure, pd, peer, ratio,
    target == "" ? "" : "≥ " target, mark(ratio, target))
}
# median of the numbers in a space-separated list ("?" if none).
function median(list,   a, n, i, j, t, x, m) {
  n = 0
  m = split(list, t, " ")
  for (i = 1; i <= m; i++) if (isnum(t[i])) a[++n] = t[i] + 0
  if (n == 0) return "?"
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function rounds(n) { return n == 1 ? "1 round" : n " rounds" }
function fmt(v, spec) { return isnum(v) ? sprintf(spec, v) : v }

/^(RESULT|PARSED|NOTE) / { raw = raw $0 "\n" }

/^CMD / { s = $2; sub(/^name=/, "", s); line = $0; sub(/^CMD name=[^ ]* /, "", line); cmd[s] = line }

/^STEP / {
  parse()
  s = kv["name"]
  order[++nsteps] = s
  state[s] = kv["state"]
  why[s] = ""
  if (index($0, " why=")) why[s] = substr($0, index($0, " why=") + 5)
  rc[s] = val("rc"); secs[s] = val("seconds"); load[s] = val("load")
  gsub(/,/, " ", load[s])
  next
}

/^NOTE sgemm / { blas = $0; sub(/^NOTE sgemm /, "", blas) }

/^RESULT bench=trees / {
  parse()
  m = val("model")
  if (("simd" in kv) && kv["simd"] != "native") m = m " (" kv["simd"] " path)"
  row("trees", "trees " m ", batch 4096, 1 thread", "ns/row, XGBoost ÷ predictd", val("pd_4096_1t_ns"), val("xgb_best_1t_ns"), val("ratio_4096_1t"), "1.5")
  row("trees", "trees " m ", batch 4096, 2 threads", "ns/row, XGBoost ÷ predictd", val("pd_4096_2t_ns"), val("xgb_best_2t_ns"), val("ratio_4096_2t"), "1.5")
  row("trees", "trees " m ", batch 256, 1 thread", "ns/row, XGBoost best (whole matrix) ÷ predictd", val("pd_256_1t_ns"), val("xgb_best_1t_ns"), val("ratio_256_1t"), "1")
  next
}

/^RESULT bench=trees-leaves / {
  parse()
  m = val("model")
  if (("simd" in kv) && kv["simd"] != "native") m = m " (" kv["simd"] " path)"
  row("trees", "trees vs leaves, " m ", batch " val("batch") ", " val("threads") " thread" (val("threads") == "1" ? "" : "s"),
    "ns/row, leaves ÷ predictd", val("pd_ns"), val("leaves_ns"), val("ratio"), m ~ /^cat/ ? "2" : "")
  next
}

/^PARSED bench=sgemm / {
  parse()
  shape = val("shape")
  gsub(/\//, " ", shape)
  row("sgemm", "sgemm " shape, "GFLOPS (median of " rounds(val("rounds")) "), predictd ÷ OpenBLAS", val("go_med_gflops"), val("numpy_med_gflops"), val("ratio_med"), "")
  next
}

/^PARSED bench=serve / {
  parse()
  m = val("model")
  if (!(m in serve_rps)) serve_models[++nserve] = m
  serve_rps[m] = serve_rps[m] " " val("rps")
  serve_noop[m] = serve_noop[m] " " val("noop_rps")
  serve_ratio[m] = serve_ratio[m] " " val("ratio")
  serve_n[m]++
  serve_conns = val("conns")
  next
}

/^RESULT bench=batching / {
  parse()
  m = val("model")
  row("batching", "batching " m, "closed-loop ok/s (" val("conns") " conns), batcher on ÷ off", val("rps_on"), val("rps_off"), val("ratio"), m == "wide" ? "3" : "")
  next
}

/^PARSED bench=loadtest-closed-round / {
  parse()
  c = val("conns")
  lt_wrk[c] = lt_wrk[c] " " val("wrk_rps")
  lt_pd[c] = lt_pd[c] " " val("pd_rps")
  lt_pd1[c] = lt_pd1[c] " " val("pd_p1_rps")
  lt_n[c]++
  next
}

/^PARSED bench=loadtest-closed / {
  parse()
  c = val("conns")
  lt_closed[++nclosed] = c
  lt_ratio[c] = val("ratio_med")
  lt_ratio1[c] = val("ratio_med_p1")
  next
}

/^RESULT bench=loadtest-wrk / {
  parse()
  lt_result = 1
  lt_min = val("closed_ratio_min")
  lt_over_conns = val("conns")
  # the rates in the order the line gives them
  nrates = 0
  for (i = 2; i <= NF; i++) if ($i ~ /^over_[0-9]+_ratio=/) { r = $i; sub(/^over_/, "", r); sub(/_ratio=.*/, "", r); rates[++nrates] = r }
  for (i = 1; i <= nrates; i++) {
    r = rates[i]
    over_row[i] = sprintf("%s\t%s\t%s\t%s\t%s", r, val("over_" r "_ok_rps"), val("over_" r "_wrk_rps"), val("over_" r "_ratio"), val("over_" r "_unsent"))
  }
  next
}

END {
  # serve and loadtest rows: medians over rounds, made here once all rounds are in.
  for (i = 1; i <= nserve; i++) {
    m = serve_models[i]
    row("serve", "serve " m, "req/s under wrk (" serve_conns " conns, median of " rounds(serve_n[m]) "), predictd ÷ no-op server",
      fmt(median(serve_rps[m]), "%.0f"), fmt(median(serve_noop[m]), "%.0f"), fmt(median(serve_ratio[m]), "%.2f"), "")
  }
  for (i = 1; i <= nclosed; i++) {
    c = lt_closed[i]
    row("loadtest", "loadtest closed loop, " c " conns", "req/s (median of " rounds(lt_n[c]) "), predictd loadtest ÷ wrk",
      fmt(median(lt_pd[c]), "%.0f"), fmt(median(lt_wrk[c]), "%.0f"), lt_ratio[c], "0.8")
    # One core each, like for like with wrk's one thread; no target (the
    # script's verdict reads the default GOMAXPROCS).
    row("loadtest", "loadtest closed loop, " c " conns, GOMAXPROCS=1", "req/s (median of " rounds(lt_n[c]) "), predictd loadtest ÷ wrk",
      fmt(median(lt_pd1[c]), "%.0f"), fmt(median(lt_wrk[c]), "%.0f"), lt_ratio1[c], "")
  }
  if (lt_result && nclosed == 0 && lt_min != "?")
    row("loadtest", "loadtest closed loop, lowest over connections", "req/s, predictd loadtest ÷ wrk", "?", "?", lt_min, "0.8")
  for (i = 1; i <= nrates; i++) {
    split(over_row[i], f, "\t")
    row("loadtest", "loadtest open loop at " f[1] "/s, " lt_over_conns " conns", "OK/s, predictd ÷ min(rate, wrk req/s); " f[5] " unsent",
      f[2], f[3], f[4], "0.8")
  }

  print "## Ratios"
  print ""
  print "Above 1, predictd is ahead (batching: the batcher on is ahead of off). Targets are issue 15's."
  print ""
  print "| comparison | measure | predictd | peer | ratio | target | |"
  print "|---|---|--:|--:|--:|--:|---|"
  failed = 0
  for (i = 1; i <= nsteps; i++) {
    s = order[i]
    if (state[s] != "ok") {
      printf "| %s | %s: %s | | | | | |\n", s, state[s], esc(why[s])
      if (state[s] == "failed") failed++
    }
    printf "%s", rows[s]
    if (state[s] == "ok" && rows[s] == "") printf "| %s | no rows: its figures did not parse (see the raw lines) | | | | | |\n", s
  }
  print ""
  print "What the rows measure:"
  print ""
  print "- **trees**: `predictd bench` (raw margins) against XGBoost's native predictor at its best: one float32"
  print "  `inplace_predict` over all 20,000 rows, 1 and 2 threads. The batch-256 row holds predictd at 256 rows to"
  print "  XGBoost's whole-matrix figure. Models trained by XGBoost at run time (bench/trees_models.py); parity with"
  print "  XGBoost's margins is checked to the float32 bit before timing. **trees vs leaves**: BenchmarkPeers (the"
  print "  300x6 fixture) and BenchmarkPeersCategorical (cat13 as LightGBM categorical text)."
  if (blas != "") print "- **sgemm**: kernels.BenchmarkSgemm against numpy's matmul plus bias, one thread, alternating rounds; " esc(blas) "."
  else print "- **sgemm**: kernels.BenchmarkSgemm against numpy's matmul plus bias, one thread, alternating rounds."
  print "- **serve**: `predictd serve` under wrk, one instance per request, beside bench/noopserver (a fasthttp"
  print "  handler that does nothing) on the same connections."
  print "- **batching**: `predictd serve` with every request through the batcher against `--batching=false`,"
  print "  one instance per request, driven by `predictd loadtest`; wide is a 64→2048x3→1 MLP."
  print "- **loadtest**: `predictd loadtest` as a load generator against wrk -t1 on the same do-nothing server;"
  print "  the open loop asks for a rate, often above what the connections carry."
  print ""
  print "Where a script ran rounds, predictd's and the peer's figures are medians over them and the ratio is"
  print "the script's own (a median of per-round ratios), so it need not equal one figure over the other."
  print ""
  print "## Runs"
  print ""
  print "| step | command | seconds | exit | load average at start | state |"
  print "|---|---|--:|--:|---|---|"
  for (i = 1; i <= nsteps; i++) {
    s = order[i]
    printf "| %s | `%s` | %s | %s | %s | %s |\n", s, (s in cmd) ? esc(cmd[s]) : "", secs[s], rc[s], load[s],
      state[s] == "ok" ? "ok" : state[s] ": " esc(why[s])
  }
  print ""
  print "## Raw lines"
  print ""
  print "RESULT lines as the scripts printed them; PARSED lines read by bench/report.sh from their tables."
  print ""
  print "```"
  printf "%s", raw
  print "```"
}

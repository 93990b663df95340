package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
)

// BenchmarkShadowServe measures what a shadow costs the live requests of
// the real binary: `predictd serve` daemons on loopback, loaded by
// `predictd loadtest` processes, latency read from loadtest's --json
// (open loop, each request timed from its scheduled send, so a stall
// counts for every request it delays). docs/shadow.md has the figures.
//
// The model is the XGBoost fixture gbtree_multi_softprob (10 inputs, 3
// classes) imported twice as "trees", versions 1 and 2 (version 2 live,
// policy all). Four daemons serve it: "off" without a shadow, "rate=1"
// and "rate=0.1" shadowing version 2 with version 1 at that sample rate,
// and "off_again", a second daemon without a shadow: an A/A control whose
// ratios to "off" show what the benchmark reads when nothing differs.
//
// First the capacity: the open loop's throughput when saturated (--rate
// 1000000 --connections 64, 3s after 0.5s of warm-up) on "off". Then
// rounds: in each, an open-loop loadtest at half that rate (64
// connections, 0.3s of warm-up, then the measured round) against each
// daemon in turn, the order rotated each round so that each daemon takes
// each place equally; before each run every shadow queue is drained
// (waited for on /metrics), so one daemon's leftover shadow work does not
// land on the next run. Short rounds, many of them, pair each daemon's
// run with the reference's under the same background load: on a shared
// machine that matters more than long rounds.
//
// Reported per daemon against "off": the median over the rounds of each
// round's p50 and p99 ratio (..._ratio_median_round), the smallest and
// largest round (..._ratio_min, ..._ratio_max), the pooled ratios
// (..._ratio_pooled: the percentiles of all the rounds' requests
// together, each side's distribution merged from its rounds' percentile
// spectra, weighted by their requests), the pooled latencies (..._us), and
// the share of due requests loadtest could not send in time (unsent: not
// in the percentiles). The log gives every round's figures and the load
// average.
//
// By default the daemons and loadtest share every CPU (pin=none).
// PREDICTD_SHADOW_BENCH_PIN=split runs the daemons on CPU 1 and loadtest
// on CPU 0 instead (taskset; the daemons' GOMAXPROCS is then 1); it needs
// taskset and two CPUs and fails without them. PREDICTD_SHADOW_BENCH_ROUNDS
// (default 16) and PREDICTD_SHADOW_BENCH_ROUND (default 1.5s) set the
// rounds. Run it with -benchtime=1x: b.N does not scale it.
func BenchmarkShadowServe(b *testing.B) {
	dir := b.TempDir()
	repo := filepath.Join(dir, "repo")
	for range 2 {
		benchRun(b, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "--repo", repo, "--name", "trees")
	}
	inst := filepath.Join(dir, "instances.ndjson")
	if err := os.WriteFile(inst, []byte(`{"age": 1.2, "income": 1.9, "tenure_months": 4.2, "num_purchases": -0.1, "avg_basket": 3.9, "days_since_last": 2.0, "support_calls": null, "discount_rate": 1.6, "pages_viewed": 0.8, "credit_score": -2.4}`+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	rounds := 16
	if s := os.Getenv("PREDICTD_SHADOW_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			b.Fatalf("PREDICTD_SHADOW_BENCH_ROUNDS=%q: want a number of rounds ≥ 2", s)
		}
		rounds = n
	}
	round := 1500 * time.Millisecond
	if s := os.Getenv("PREDICTD_SHADOW_BENCH_ROUND"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 100*time.Millisecond {
			b.Fatalf("PREDICTD_SHADOW_BENCH_ROUND=%q: want a duration ≥ 100ms", s)
		}
		round = d
	}
	arms := []shadowArm{
		{name: "off", config: `{"models": [{"name": "trees", "policy": {"all": true}}]}`},
		{name: "rate=1", config: `{"models": [{"name": "trees", "policy": {"all": true}, "shadow": {"version": 1, "sample_rate": 1}}]}`},
		{name: "rate=0.1", config: `{"models": [{"name": "trees", "policy": {"all": true}, "shadow": {"version": 1, "sample_rate": 0.1}}]}`},
		// The same as "off": its ratios are what the benchmark reads when
		// there is no difference (its resolution on this machine).
		{name: "off_again", config: `{"models": [{"name": "trees", "policy": {"all": true}}]}`},
	}
	pins := []string{"none"}
	if os.Getenv("PREDICTD_SHADOW_BENCH_PIN") == "split" {
		pins = []string{"split"}
	}
	for _, pin := range pins {
		b.Run("pin="+pin, func(b *testing.B) {
			var serveWrap, loadWrap []string
			if pin == "split" {
				if runtime.NumCPU() < 2 {
					b.Fatalf("pin=split needs 2 CPUs, this machine has %d", runtime.NumCPU())
				}
				if _, err := exec.LookPath("taskset"); err != nil {
					b.Fatal("pin=split needs taskset on PATH")
				}
				serveWrap, loadWrap = []string{"taskset", "-c", "1"}, []string{"taskset", "-c", "0"}
			}
			benchShadowArms(b, dir, repo, inst, arms, rounds, round, serveWrap, loadWrap)
		})
	}
}

// shadowArm is one daemon of BenchmarkShadowServe: its name (a metric
// prefix), its config file's text and extra environment.
type shadowArm struct {
	name, config string
	env          []string
}

// benchShadowArms runs BenchmarkShadowServe's measurement for arms (the
// first is the reference every other is compared with) with the daemons
// started under serveWrap and loadtest under loadWrap (command prefixes;
// nil for none).
func benchShadowArms(b *testing.B, dir, repo, inst string, arms []shadowArm, rounds int, round time.Duration, serveWrap, loadWrap []string) {
	ds := make([]*benchDaemon, len(arms))
	for i, a := range arms {
		cfg := filepath.Join(b.TempDir(), "config.json")
		if err := os.WriteFile(cfg, []byte(a.config), 0o644); err != nil {
			b.Fatal(err)
		}
		ds[i] = benchServe(b, serveWrap, a.env, "--repo", repo, "--config", cfg)
	}
	url := func(d *benchDaemon) string { return "http://" + d.addr + "/v1/models/trees:predict" }
	out := filepath.Join(dir, "run.json")
	load := func(args ...string) loadSummary {
		argv := append(slices.Clone(loadWrap), bin, "loadtest", "--bodies", inst, "--json", out, "--quiet")
		argv = append(argv, args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, o)
		}
		var s loadSummary
		if raw, err := os.ReadFile(out); err != nil || json.Unmarshal(raw, &s) != nil {
			b.Fatalf("loadtest --json %s: %v\n%s", out, err, raw)
		}
		if s.OK == 0 || s.OK != s.Requests {
			b.Fatalf("loadtest %s: %d of %d requests OK, errors %v; want every request answered", strings.Join(args, " "), s.OK, s.Requests, s.Errors)
		}
		return s
	}
	capacity := load("--url", url(ds[0]), "--rate", "1000000", "--connections", "64", "--duration", "3s", "--warmup", "500ms").AchievedRPS
	rate := capacity / 2
	cpu := make([]float64, len(arms)) // process CPU seconds over the rounds
	for i, d := range ds {
		cpu[i] = -d.metrics(b)["process_cpu_seconds_total"]
	}
	b.ResetTimer()
	runs := make([][]loadSummary, len(arms)) // by arm, by round
	for r := range rounds {
		for k := range arms {
			i := (r + k) % len(arms)
			for _, d := range ds {
				d.drainShadow(b)
			}
			runs[i] = append(runs[i], load("--url", url(ds[i]), "--rate", strconv.FormatFloat(rate, 'f', 0, 64), "--connections", "64", "--duration", round.String(), "--warmup", "300ms"))
		}
	}
	for i, d := range ds {
		d.drainShadow(b)
		cpu[i] += d.metrics(b)["process_cpu_seconds_total"]
	}
	b.StopTimer()
	// Each daemon was sent rate requests a second for its rounds and
	// their warm-ups; its CPU time over them, its shadow's included, per
	// request.
	sent := rate * float64(rounds) * (round + 300*time.Millisecond).Seconds()
	for i, a := range arms {
		b.ReportMetric(1e6*cpu[i]/sent, a.name+"_cpu_us/req")
	}
	loadavg, _ := os.ReadFile("/proc/loadavg")
	b.ReportMetric(capacity, "cap_req/s")
	b.ReportMetric(rate, "load_req/s")
	ref := runs[0]
	unsentShare := func(runs []loadSummary) float64 {
		var unsent, due uint64
		for _, s := range runs {
			unsent, due = unsent+s.Unsent, due+s.Requests+s.Unsent
		}
		return float64(unsent) / float64(due)
	}
	b.ReportMetric(unsentShare(ref), arms[0].name+"_unsent_share")
	for i, a := range arms {
		if i == 0 {
			continue
		}
		var p50s, p99s []float64
		for r := range rounds {
			p50s = append(p50s, runs[i][r].LatencyMS.P50/ref[r].LatencyMS.P50)
			p99s = append(p99s, runs[i][r].LatencyMS.P99/ref[r].LatencyMS.P99)
		}
		b.ReportMetric(unsentShare(runs[i]), a.name+"_unsent_share")
		byRound := fmt.Sprintf("p50 %.2f p99 %.2f", p50s, p99s)
		// Each round's figures (ms): this daemon's p50/p99, then the
		// reference's, and the requests each sent late.
		var rs strings.Builder
		for r := range rounds {
			fmt.Fprintf(&rs, " [%.3f/%.3f vs %.3f/%.3f late %d/%d]", runs[i][r].LatencyMS.P50, runs[i][r].LatencyMS.P99, ref[r].LatencyMS.P50, ref[r].LatencyMS.P99, runs[i][r].Late, ref[r].Late)
		}
		for _, q := range []struct {
			name   string
			p      float64
			ratios []float64
		}{{"p50", 50, p50s}, {"p99", 99, p99s}} {
			slices.Sort(q.ratios)
			b.ReportMetric(median(q.ratios), a.name+"_"+q.name+"_ratio_median_round")
			b.ReportMetric(q.ratios[0], a.name+"_"+q.name+"_ratio_min")
			b.ReportMetric(q.ratios[len(q.ratios)-1], a.name+"_"+q.name+"_ratio_max")
			on, off := pooledQuantile(runs[i], q.p), pooledQuantile(ref, q.p)
			b.ReportMetric(on/off, a.name+"_"+q.name+"_ratio_pooled")
			b.ReportMetric(1000*on, a.name+"_"+q.name+"_pooled_us")
			if i == 1 {
				b.ReportMetric(1000*off, arms[0].name+"_"+q.name+"_pooled_us")
			}
		}
		m := ds[i].metrics(b)
		b.Logf("%s vs %s by round: ratios %s; shadow rows offered %.0f, compared %.0f, dropped %.0f, failed %.0f; p50/p99 ms by round:%s", a.name, arms[0].name, byRound,
			m["predictd_shadow_offered_total"], m["predictd_shadow_compared_total"], m["predictd_shadow_dropped_total"], m["predictd_shadow_errors_total"], rs.String())
	}
	b.Logf("capacity %.0f req/s, load %.0f req/s, %d rounds of %s a daemon, daemons under %q, loadtest under %q; loadavg %s",
		capacity, rate, rounds, round, serveWrap, loadWrap, strings.TrimSpace(string(loadavg)))
}

// loadSummary is what BenchmarkShadowServe reads of `predictd loadtest
// --json`.
type loadSummary struct {
	Requests    uint64            `json:"requests"`
	OK          uint64            `json:"ok"`
	Unsent      uint64            `json:"unsent"`
	Errors      map[string]uint64 `json:"errors"`
	AchievedRPS float64           `json:"achieved_rps"`
	LatencyMS   struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	Late     uint64 `json:"late"`
	Spectrum []struct {
		Percentile float64 `json:"percentile"`
		LatencyMS  float64 `json:"latency_ms"`
	} `json:"spectrum"`
}

// median is the median of sorted.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// pooledQuantile is the p-th percentile (ms) of the requests of all runs
// together: each run's latency distribution is its percentile spectrum
// (linear between points), weighted by its requests, and the mixture's
// percentile is found by bisection.
func pooledQuantile(runs []loadSummary, p float64) float64 {
	// cdf is the share (percent) of run s's requests at or below x ms.
	cdf := func(s loadSummary, x float64) float64 {
		sp := s.Spectrum
		switch {
		case x < sp[0].LatencyMS:
			return 0
		case x >= sp[len(sp)-1].LatencyMS:
			return 100
		}
		j := 1
		for sp[j].LatencyMS <= x {
			j++
		}
		a, c := sp[j-1], sp[j]
		return a.Percentile + (c.Percentile-a.Percentile)*(x-a.LatencyMS)/(c.LatencyMS-a.LatencyMS)
	}
	lo, hi, total := 0.0, 0.0, 0.0
	for _, s := range runs {
		hi = max(hi, s.Spectrum[len(s.Spectrum)-1].LatencyMS)
		total += float64(s.Requests)
	}
	for range 60 {
		x := (lo + hi) / 2
		var below float64
		for _, s := range runs {
			below += float64(s.Requests) * cdf(s, x)
		}
		if below/total < p {
			lo = x
		} else {
			hi = x
		}
	}
	return hi
}

// benchRun runs predictd with args and fails b unless it exits 0.
func benchRun(b *testing.B, args ...string) {
	b.Helper()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		b.Fatalf("predictd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// benchDaemon is a `predictd serve` started by a benchmark.
type benchDaemon struct {
	addr string
	c    *http.Client
}

// benchServe starts predictd serve with args under wrap (a command
// prefix, nil for none) with env added, on a free loopback port, and
// waits until it is ready. It is killed when b ends.
func benchServe(b *testing.B, wrap, env []string, args ...string) *benchDaemon {
	b.Helper()
	argv := append(append(slices.Clone(wrap), bin, "serve", "--listen", "127.0.0.1:0"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	d := &benchDaemon{c: &http.Client{Timeout: 10 * time.Second}}
	for d.addr == "" && sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := servingOn.FindStringSubmatch(sc.Text()); m != nil {
			d.addr = m[1]
		}
	}
	if d.addr == "" {
		b.Fatalf("%s: exited before listening\n%s", strings.Join(argv, " "), log.String())
	}
	go io.Copy(io.Discard, stderr)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := d.c.Get("http://" + d.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not ready within 30s", strings.Join(argv, " "))
		}
	}
}

// metrics reads the daemon's /metrics: each series name's values summed
// over its labels (histograms and summaries left out).
func (d *benchDaemon) metrics(b *testing.B) map[string]float64 {
	b.Helper()
	resp, err := d.c.Get("http://" + d.addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, _, _ := strings.Cut(line[:i], "{")
		m[name] += v
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("daemon %s: /metrics: %v", d.addr, err)
	}
	return m
}

// shadowCounts reads the daemon's shadow rows from /metrics: those
// compared, failed or dropped, and those offered, summed over series.
func (d *benchDaemon) shadowCounts(b *testing.B) (done, offered int64) {
	b.Helper()
	m := d.metrics(b)
	return int64(m["predictd_shadow_compared_total"] + m["predictd_shadow_dropped_total"] + m["predictd_shadow_errors_total"]), int64(m["predictd_shadow_offered_total"])
}

// drainShadow waits, at most 30s, until every row offered to the
// daemon's shadows is compared, dropped or failed.
func (d *benchDaemon) drainShadow(b *testing.B) {
	b.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		done, offered := d.shadowCounts(b)
		if done >= offered {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("daemon %s: shadow rows %d done of %d offered after 30s", d.addr, done, offered)
		}
	}
}

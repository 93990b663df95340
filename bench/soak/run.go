package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// soak is one run: its processes, clients and records.
type soak struct {
	cfg            config
	work, repo     string
	token          string
	stdout, stderr io.Writer
	stats          *stats
	redis          *redisServer
	daemon         *daemon
	daemonArgs     []string
	client         *http.Client // good traffic
	badClient      *http.Client // bad inputs: their connections may be closed on them
	models         map[string]modelInfo

	mu           sync.Mutex
	reloadEvents []reloadEvent
	outageEvents []outageEvent
	samples      []sample
	interrupted  atomic.Bool // the run was cut short
}

func newClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialLoopback,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}

// setup imports the models, starts redis-server and the daemon, and waits
// until it is ready.
func (s *soak) setup(ctx context.Context) error {
	c := s.cfg
	s.stats.grace = c.outageGrace
	s.client, s.badClient = newClient(), newClient()
	s.repo = filepath.Join(s.work, "repo")
	imports := [][]string{
		{"--from", "xgboost", "--in", "testdata/xgboost/gbtree_multi_softprob.json", "--name", "wine"},
		{"--from", "xgboost", "--in", "testdata/features/fraud.json", "--name", "fraud", "--feature-views", "user_stats,merchant_stats"},
		{"--from", "native", "--in", "testdata/native/mlp_multiclass_tanh.model.json", "--name", "mlp"},
		{"--from", "native", "--in", "testdata/native/logreg_binary.model.json", "--name", "logreg"},
	}
	for _, a := range imports {
		a[3] = filepath.Join(c.root, a[3])
		args := append([]string{"import", "--repo", s.repo}, a...)
		if out, err := exec.CommandContext(ctx, c.predictd, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("predictd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	tok := make([]byte, 24)
	rand.Read(tok)
	s.token = hex.EncodeToString(tok)
	tokenFile := filepath.Join(s.work, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(s.token+"\n"), 0o600); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	s.redis = &redisServer{bin: c.redis, dir: s.work, port: port}
	if err := s.redis.start(ctx); err != nil {
		return err
	}

	s.daemonArgs = []string{"serve", "--repo", s.repo, "--listen", "127.0.0.1:0",
		"--features", filepath.Join(c.root, "testdata/features/demo.yaml"), "--store", "redis://" + s.redis.addr(),
		"--admin-token-file", tokenFile, "--max-body-bytes", fmt.Sprint(maxBodyBytes), "--max-instances", "1000"}
	if s.daemon, err = startDaemon(c.predictd, filepath.Join(s.work, "serve.log"), s.daemonArgs); err != nil {
		return err
	}
	if err := s.daemon.waitAddr(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.daemon.addr+"/readyz", nil)
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if s.daemon.p.exited() {
			return fmt.Errorf("predictd serve exited: %v", s.daemon.p.err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("predictd serve not ready after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.models = map[string]modelInfo{}
	for _, name := range []string{"wine", "fraud", "mlp", "logreg"} {
		m, err := s.metadata(ctx, name)
		if err != nil {
			return err
		}
		s.models[name] = m
	}
	return nil
}

// metadata reads a model's features from GET /v2/models/NAME.
func (s *soak) metadata(ctx context.Context, name string) (modelInfo, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.daemon.addr+"/v2/models/"+name, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return modelInfo{}, err
	}
	defer resp.Body.Close()
	var md struct {
		Parameters struct {
			Features []feature `json:"features"`
		} `json:"parameters"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &md); err != nil || len(md.Parameters.Features) == 0 {
		return modelInfo{}, fmt.Errorf("GET /v2/models/%s: %d %s", name, resp.StatusCode, b)
	}
	return modelInfo{name: name, features: md.Parameters.Features}, nil
}

// stopProcesses stops the daemon (if run has not) and redis-server.
func (s *soak) stopProcesses() {
	if s.daemon != nil {
		s.daemon.p.stop(syscall.SIGTERM, 45*time.Second)
	}
	if s.redis != nil {
		s.redis.kill()
	}
}

// sample is one row of the table.
type sample struct {
	AtSeconds float64 `json:"at_seconds"`
	Phase     string  `json:"phase"`
	usage
	StoreUp bool   `json:"store_up"`
	Load1   string `json:"loadavg_1m"` // the machine's, from /proc/loadavg
	Totals  totals `json:"totals"`     // cumulative
}

// take records a sample and prints its row.
func (s *soak) take(ctx context.Context, phase string) sample {
	sm := sample{AtSeconds: round1(time.Since(s.stats.t0).Seconds()), Phase: phase,
		usage: s.daemon.measure(ctx, s.client), StoreUp: s.stats.storeUp(), Totals: s.stats.totals(), Load1: loadavg()}
	s.mu.Lock()
	var prev totals
	if n := len(s.samples); n > 0 {
		prev = s.samples[n-1].Totals
	}
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
	fmt.Fprintln(s.stdout, row(sm, prev))
	return sm
}

const header = "     t phase     rss_MiB heap_MiB  thr  fds  gor conns  log_lines |  sent   2xx   4xx  5xx(exp) conn_fail skipped | unexp store load1"

func row(sm sample, prev totals) string {
	gor, conns, heap := "n/a", "n/a", "n/a"
	if sm.HeapLiveKiB >= 0 {
		heap = fmt.Sprintf("%.1f", float64(sm.HeapLiveKiB)/1024)
	}
	if sm.Goroutines >= 0 {
		gor = fmt.Sprint(sm.Goroutines)
	}
	if sm.ConnsOpen >= 0 {
		conns = fmt.Sprint(sm.ConnsOpen)
	}
	store := "up"
	if !sm.StoreUp {
		store = "OUT"
	}
	if !sm.Alive {
		return fmt.Sprintf("%6.0f %-9s DAEMON DEAD", sm.AtSeconds, sm.Phase)
	}
	t := sm.Totals
	return fmt.Sprintf("%6.0f %-9s %7.1f %8s %4d %4d %4s %5s %10d | %5d %5d %5d %4d(%3d) %9d %7d | %5d %-5s %s",
		sm.AtSeconds, sm.Phase, float64(sm.RSSKiB)/1024, heap, sm.Threads, sm.FDs, gor, conns, sm.LogLines,
		t.Sent-prev.Sent, t.C2xx-prev.C2xx, t.C4xx-prev.C4xx, t.C5xx-prev.C5xx, t.Expected5xx-prev.Expected5xx,
		t.ConnFail-prev.ConnFail, t.Skipped-prev.Skipped, t.Unexpected, store, sm.Load1)
}

// quiet pauses the traffic, lets what is in flight finish, closes the
// clients' idle connections and waits for the daemon to settle.
func (s *soak) quiet(tr *traffic) {
	tr.paused.Store(true)
	done := make(chan struct{})
	go func() { tr.flight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
	}
	s.client.CloseIdleConnections()
	s.badClient.CloseIdleConnections()
	if !s.interrupted.Load() { // Ctrl-C: the end sample at once
		time.Sleep(s.cfg.settle)
	}
}

// run is the soak proper: warm-up, baseline, chaos, end sample, stop,
// verdict.
func (s *soak) run(ctx context.Context) *report {
	c := s.cfg
	fmt.Fprintf(s.stdout, "soak: predictd serve pid %d on %s, redis-server on %s; %v of traffic (%.0f good + %.0f bad req/s), warm-up %v, reload every %v, store outage every %v for %v\n",
		s.daemon.p.pid(), s.daemon.addr, s.redis.addr(), c.duration, c.rate, c.badRate, c.warmup, c.reloadEvery, c.outageEvery, c.outageFor)
	fmt.Fprintln(s.stdout, "(per row: sent, 2xx, 4xx, 5xx (of them expected) and conn_fail are counts since the previous row; unexp is cumulative)")
	fmt.Fprintln(s.stdout, header)
	s.stats.t0 = time.Now()
	until := s.stats.t0.Add(c.duration)
	s.take(ctx, "start")

	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	defer stopTraffic()
	tr := &traffic{s: s}
	tr.startGood(trafficCtx)
	tr.startBad(trafficCtx)

	// Sampling, and watching for the daemon's death.
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var sampling sync.WaitGroup
	sampling.Add(1)
	phase := func() string { return "warmup" }
	var phaseMu sync.Mutex
	go func() {
		defer sampling.Done()
		tick := time.NewTicker(c.sample)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
				phaseMu.Lock()
				p := phase()
				phaseMu.Unlock()
				if tr.paused.Load() {
					continue // the quiet samples are taken on their own
				}
				s.take(sampleCtx, p)
			}
		}
	}()

	interrupted := ""
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			interrupted = fmt.Sprintf("interrupted at %.0fs (%v)", time.Since(s.stats.t0).Seconds(), context.Cause(ctx))
			s.interrupted.Store(true)
			return false
		case <-s.daemon.p.done:
			return false
		case <-t.C:
			return true
		}
	}

	var baseline *sample
	chaosCtx, stopChaos := context.WithCancel(context.Background())
	var chaos sync.WaitGroup
	if wait(c.warmup) {
		s.quiet(tr)
		b := s.take(ctx, "baseline")
		baseline = &b
		tr.paused.Store(false)
		phaseMu.Lock()
		phase = func() string {
			if !s.stats.storeUp() {
				return "outage"
			}
			return "run"
		}
		phaseMu.Unlock()
		chaos.Add(2)
		go func() { defer chaos.Done(); s.reloads(chaosCtx) }()
		go func() { defer chaos.Done(); s.outages(chaosCtx, until) }()
		wait(time.Until(until))
	}

	// The end: chaos first (the store comes back), then the traffic.
	stopChaos()
	chaos.Wait()
	stopSampling()
	sampling.Wait()
	endCtx, cancelEnd := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelEnd()
	died := s.daemon.p.exited()
	var end sample
	if !died {
		s.quiet(tr)
		stopTraffic()
		tr.wg.Wait()
		end = s.take(endCtx, "end")
	} else {
		stopTraffic()
		tr.wg.Wait()
		end = s.take(endCtx, "end")
	}
	exit, took := -1, time.Duration(0)
	switch {
	case died:
	case c.dumpGoroutines:
		s.daemon.p.stop(syscall.SIGQUIT, 45*time.Second)
		exit = 0
		fmt.Fprintf(s.stdout, "goroutine dump: %s\n", s.daemon.logPath)
	default:
		exit, took = s.daemon.p.stop(syscall.SIGTERM, 45*time.Second)
	}
	kinds, examples := s.stats.snapshot()
	s.mu.Lock()
	rep := &report{
		Started: s.stats.t0.UTC().Format(time.RFC3339), Config: c.json(), DaemonArgs: s.daemonArgs, Addr: s.daemon.addr,
		Samples: s.samples, Baseline: baseline, End: &end, Kinds: kinds, Unexpected: examples,
		Reloads: s.reloadEvents, Outages: s.outageEvents, DaemonDied: died, Interrupted: interrupted,
		SigtermExit: exit, SigtermSeconds: round1(took.Seconds()),
	}
	s.mu.Unlock()
	if died {
		rep.DaemonLogTail = tail(s.daemon.logPath, 40)
	}
	rep.judge(c)
	rep.print(s.stdout)
	return rep
}

// report is the JSON written to --out.
type report struct {
	Started        string               `json:"started"`
	Config         map[string]any       `json:"config"`
	DaemonArgs     []string             `json:"daemon_args"`
	Addr           string               `json:"addr"`
	Samples        []sample             `json:"samples"`
	Baseline       *sample              `json:"baseline"`
	End            *sample              `json:"end"`
	Kinds          map[string]kindStats `json:"kinds"`
	Unexpected     []example            `json:"unexpected_examples"`
	Reloads        []reloadEvent        `json:"reloads"`
	Outages        []outageEvent        `json:"outages"`
	DaemonDied     bool                 `json:"daemon_died"`
	DaemonLogTail  string               `json:"daemon_log_tail,omitempty"`
	Interrupted    string               `json:"interrupted,omitempty"`
	SigtermExit    int                  `json:"sigterm_exit_code"`
	SigtermSeconds float64              `json:"sigterm_seconds"`
	Verdict        verdict              `json:"verdict"`
}

type verdict struct {
	Pass    bool     `json:"pass"`
	Reasons []string `json:"reasons"`
	Notes   []string `json:"notes,omitempty"`
}

func (c config) json() map[string]any {
	return map[string]any{
		"predictd": c.predictd, "duration": c.duration.String(), "warmup": c.warmup.String(), "sample": c.sample.String(),
		"rate": c.rate, "bad_rate": c.badRate, "reload_every": c.reloadEvery.String(), "outage_every": c.outageEvery.String(),
		"outage_for": c.outageFor.String(), "outage_grace": c.outageGrace.String(),
		"rss_margin": c.rssMargin, "fd_margin": c.fdMargin, "goroutine_margin": c.gorMargin,
	}
}

// judge sets the verdict.
func (r *report) judge(c config) {
	var why, notes []string
	if r.DaemonDied {
		why = append(why, "the daemon died during the run")
	}
	if r.Interrupted != "" {
		why = append(why, r.Interrupted)
	}
	if !r.DaemonDied && r.SigtermExit != 0 {
		why = append(why, fmt.Sprintf("SIGTERM at the end: exit code %d after %.1fs, want 0", r.SigtermExit, r.SigtermSeconds))
	}
	var unexpected int64
	for _, k := range r.Kinds {
		unexpected += k.Unexpected
	}
	if unexpected > 0 {
		why = append(why, fmt.Sprintf("%d unexpected outcomes (5xx other than during store outages, bad inputs accepted, connection failures, failed reloads); see unexpected_examples", unexpected))
	}
	switch b, e := r.Baseline, r.End; {
	case b == nil:
		why = append(why, "no baseline sample: the run ended during the warm-up")
	case !e.Alive:
	default:
		if lim := float64(b.RSSKiB) * (1 + c.rssMargin); float64(e.RSSKiB) > lim {
			why = append(why, fmt.Sprintf("RSS %.1f MiB at the end, over the baseline %.1f MiB + %.0f%%", float64(e.RSSKiB)/1024, float64(b.RSSKiB)/1024, 100*c.rssMargin))
		}
		if e.FDs > b.FDs+c.fdMargin {
			why = append(why, fmt.Sprintf("%d fds at the end, over the baseline %d + %d", e.FDs, b.FDs, c.fdMargin))
		}
		switch {
		case b.Goroutines < 0 || e.Goroutines < 0:
			notes = append(notes, "goroutines n/a: the daemon exports no go_goroutines gauge")
		case e.Goroutines > b.Goroutines+c.gorMargin:
			why = append(why, fmt.Sprintf("%d goroutines at the end, over the baseline %d + %d", e.Goroutines, b.Goroutines, c.gorMargin))
		}
	}
	for _, k := range []string{"push", "feature_get", "tfs_keys", "oip_keys"} {
		if n := r.Kinds[k].Expected5xx; n > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d 5xx during store outages (expected): %s", k, n, outcomes5xx(r.Kinds[k])))
		}
	}
	r.Verdict = verdict{Pass: len(why) == 0, Reasons: why, Notes: notes}
}

func outcomes5xx(k kindStats) string {
	var parts []string
	for o, n := range k.Outcomes {
		if len(o) == 3 && o[0] == '5' {
			parts = append(parts, fmt.Sprintf("%s×%d", o, n))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *report) print(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprint(w, kindTable(r.Kinds))
	fmt.Fprintln(w)
	for _, ev := range r.Reloads {
		st := "ok"
		if !ev.OK {
			st = "FAILED: " + ev.Error
		}
		fmt.Fprintf(w, "reload at %5.0fs: %s v%d by %-6s AVAILABLE in %.1fs %s\n", ev.AtSeconds, ev.Model, ev.Version, ev.Trigger, ev.Seconds, st)
	}
	for _, ev := range r.Outages {
		fmt.Fprintf(w, "store outage at %5.0fs: %s for %.1fs %s\n", ev.AtSeconds, ev.Kind, ev.Seconds, ev.Error)
	}
	if n := len(r.Unexpected); n > 0 {
		fmt.Fprintf(w, "\nfirst unexpected outcomes (%d kept in the JSON):\n", n)
		for _, e := range r.Unexpected[:min(n, 10)] {
			fmt.Fprintf(w, "  %6.1fs %s %s: %s -> %s\n", e.AtSeconds, e.Kind, e.Outcome, e.Request, strings.TrimSpace(e.Answer))
		}
	}
	if r.Baseline != nil && r.End != nil {
		b, e := r.Baseline, r.End
		fmt.Fprintf(w, "\nbaseline → end (quiet samples): RSS %.1f → %.1f MiB, live heap %.1f → %.1f MiB, fds %d → %d, threads %d → %d, goroutines %d → %d, log lines %d → %d\n",
			float64(b.RSSKiB)/1024, float64(e.RSSKiB)/1024, float64(b.HeapLiveKiB)/1024, float64(e.HeapLiveKiB)/1024, b.FDs, e.FDs, b.Threads, e.Threads, b.Goroutines, e.Goroutines, b.LogLines, e.LogLines)
	}
	fmt.Fprintf(w, "SIGTERM: exit %d in %.1fs\n", r.SigtermExit, r.SigtermSeconds)
	if r.DaemonLogTail != "" {
		fmt.Fprintf(w, "daemon log tail:\n%s", r.DaemonLogTail)
	}
	for _, n := range r.Verdict.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Verdict.Pass {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintf(w, "FAIL: %s\n", strings.Join(r.Verdict.Reasons, "; "))
	}
}

// write writes the report as indented JSON to path, whole or not at all.
func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadavg is the machine's 1-minute load average: soak, the daemon and
// redis-server share the machine with whatever else runs on it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

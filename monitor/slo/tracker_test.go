package slo

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// epoch is time zero of the scripts.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// TestTracker runs the scripts under testdata/tracker (-rewrite
// regenerates their expected output after a deliberate change):
//
//	new [start=OFFSET]
//	MODEL [availability=OBJ] [latency=THRESHOLD:OBJ] [window=D]
//	...
//
// makes a Tracker on a fake clock, starting at epoch+OFFSET;
//
//	observe model=M at=OFFSET [for=D] [n=N] [latency=D] [code=C] [fail=K]
//
// counts N requests (1 by default) spread evenly over [at, at+for), every
// K-th of them answered 500 instead of C; and
//
//	snapshot model=M at=OFFSET
//
// prints the model's snapshot with the clock at epoch+OFFSET.
func TestTracker(t *testing.T) {
	datadriven.Walk(t, "testdata/tracker", func(t *testing.T, path string) {
		var (
			tr  *Tracker
			now time.Time
		)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "new":
				models := map[string]Config{}
				for _, line := range strings.Split(strings.TrimSpace(td.Input), "\n") {
					f := strings.Fields(line)
					var c Config
					for _, kv := range f[1:] {
						k, v, _ := strings.Cut(kv, "=")
						switch k {
						case "availability":
							c.Availability = &AvailabilityObjective{Objective: parseFloat(t, v)}
						case "latency":
							th, obj, _ := strings.Cut(v, ":")
							c.Latency = &LatencyObjective{Threshold: Duration(parseDur(t, th)), Objective: parseFloat(t, obj)}
						case "window":
							c.Window = Duration(parseDur(t, v))
						default:
							td.Fatalf(t, "unknown key %q", k)
						}
					}
					models[f[0]] = c
				}
				now = epoch.Add(argDur(t, td, "start", 0))
				var err error
				if tr, err = New(Options{Models: models, Now: func() time.Time { return now }}); err != nil {
					return "error: " + err.Error()
				}
				return ""
			case "observe":
				var model string
				n, code, fail := 1, 200, 0
				td.ScanArgs(t, "model", &model)
				td.MaybeScanArgs(t, "n", &n)
				td.MaybeScanArgs(t, "code", &code)
				td.MaybeScanArgs(t, "fail", &fail)
				at, span, lat := argDur(t, td, "at", 0), argDur(t, td, "for", 0), argDur(t, td, "latency", time.Millisecond)
				for i := range n {
					// span*i/n without overflowing for long spans
					k, d := time.Duration(i), time.Duration(n)
					now = epoch.Add(at + span/d*k + span%d*k/d)
					c := code
					if fail > 0 && i%fail == fail-1 {
						c = 500
					}
					tr.Observe(model, lat, c)
				}
				return ""
			case "snapshot":
				var model string
				td.ScanArgs(t, "model", &model)
				now = epoch.Add(argDur(t, td, "at", 0))
				s, ok := tr.Snapshot(model)
				if !ok {
					return "no objectives\n"
				}
				return fmtSnapshot(s)
			}
			td.Fatalf(t, "unknown command %q", td.Cmd)
			return ""
		})
	})
}

func fmtSnapshot(s Snapshot) string {
	var b strings.Builder
	for _, o := range s.Objectives {
		fmt.Fprintf(&b, "%s %g", o.SLO, o.Objective)
		if o.ThresholdSeconds > 0 {
			fmt.Fprintf(&b, " within %gs", o.ThresholdSeconds)
		}
		fmt.Fprintf(&b, " over %s (seen %gs): requests %.6g good %.6g sli %.6g budget left %.4g\n",
			o.Window, o.CoveredSeconds, o.Requests, o.Good, o.SLI, o.ErrorBudgetRemaining)
		b.WriteString("  burn")
		for _, r := range o.BurnRates {
			fmt.Fprintf(&b, " %s=%.4g", r.Window, r.Rate)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func argDur(t *testing.T, td *datadriven.TestData, key string, def time.Duration) time.Duration {
	t.Helper()
	arg, ok := td.Arg(key)
	if !ok {
		return def
	}
	return parseDur(t, arg.SingleVal(t))
}

func parseDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTrackerObserveAllocs: the request path allocates nothing, also on
// the first request of a minute (which rolls the slots) and for a model
// without objectives.
func TestTrackerObserveAllocs(t *testing.T) {
	now := epoch
	tr, err := New(Options{
		Models: map[string]Config{"m": {Latency: &LatencyObjective{Threshold: Duration(25 * time.Millisecond), Objective: 0.99}, Availability: &AvailabilityObjective{Objective: 0.999}}},
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		now = now.Add(17 * time.Second)
		tr.Observe("m", 3*time.Millisecond, 200)
		tr.Observe("m", 30*time.Millisecond, 503)
		tr.Observe("other", time.Millisecond, 200)
	}); n != 0 {
		t.Errorf("Observe: %v allocations a run, want 0", n)
	}
}

// TestTrackerConcurrent counts from many goroutines while the clock moves
// and snapshots are taken (run it with -race): no request is lost.
func TestTrackerConcurrent(t *testing.T) {
	var mu sync.Mutex
	now := epoch
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tr, err := New(Options{Models: map[string]Config{"m": {Availability: &AvailabilityObjective{Objective: 0.99}}}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w == 0 && i%100 == 0 {
					mu.Lock()
					now = now.Add(7 * time.Second)
					mu.Unlock()
					tr.Snapshot("m")
				}
				code := 200
				if i%10 == 0 {
					code = 500
				}
				tr.Observe("m", time.Millisecond, code)
			}
		}()
	}
	wg.Wait()
	s, _ := tr.Snapshot("m")
	if o := s.Objectives[0]; o.Requests != workers*each || o.Good != workers*each*9/10 {
		t.Errorf("after %d requests, 1 in 10 a 500: requests %v good %v", workers*each, o.Requests, o.Good)
	}
}

// TestTrackerMemory: the slots are allocated once, sized by the windows:
// a day's clock jump writes no more than the rings hold.
func TestTrackerMemory(t *testing.T) {
	for _, c := range []struct {
		window            time.Duration
		minutes, hours    int
		approxBytesPerMdl int
	}{
		{10 * time.Minute, 361, 73, 13_888},
		{DefaultWindow, 361, 673, 33_088},
		{MaxWindow, 361, 2161, 80_704},
	} {
		tr, err := New(Options{Models: map[string]Config{"m": {Availability: &AvailabilityObjective{Objective: 0.9}, Window: Duration(c.window)}}})
		if err != nil {
			t.Fatal(err)
		}
		m := tr.models["m"]
		bytes := (len(m.minutes) + len(m.hours)) * 32
		if len(m.minutes) != c.minutes || len(m.hours) != c.hours || bytes != c.approxBytesPerMdl {
			t.Errorf("window %s: %d minute and %d hour slots (%d bytes), want %d and %d (%d bytes)",
				FormatWindow(c.window), len(m.minutes), len(m.hours), bytes, c.minutes, c.hours, c.approxBytesPerMdl)
		}
	}
}

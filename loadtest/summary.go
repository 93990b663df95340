package loadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// SLO is a latency objective a run is judged against.
type SLO struct {
	// P99 is the highest acceptable 99th percentile latency; 0: none.
	P99 time.Duration
	// MaxErrorRate is the highest acceptable fraction of requests that
	// failed or were never sent (non-2xx, transport errors, unsent).
	MaxErrorRate float64
}

// Verdict is a run judged against an SLO.
type Verdict struct {
	Pass bool `json:"pass"`
	// Reasons say what failed, one line each; empty when Pass.
	Reasons []string `json:"reasons"`
}

// Check judges r against s.
func (s SLO) Check(r Result) Verdict {
	var why []string
	if r.OK == 0 {
		why = append(why, "no request was answered 2xx")
	}
	if s.P99 > 0 && r.P99 > s.P99 {
		why = append(why, fmt.Sprintf("p99 %s is above the SLO's %s", fmtDuration(r.P99), fmtDuration(s.P99)))
	}
	if rate := r.ErrorRate(); rate > s.MaxErrorRate {
		why = append(why, fmt.Sprintf("error rate %.3g%% (%d failed or unsent of %d) is above the SLO's %.3g%%",
			100*rate, r.Requests-r.OK+r.Unsent, r.Requests+r.Unsent, 100*s.MaxErrorRate))
	}
	return Verdict{Pass: len(why) == 0, Reasons: why}
}

// ErrorRate is the fraction of the measured requests that failed or were
// never sent.
func (r Result) ErrorRate() float64 {
	all := r.Requests + r.Unsent
	if all == 0 {
		return 0
	}
	return float64(all-r.OK) / float64(all)
}

// Summary is a run as `predictd loadtest --json` writes it: rates in
// requests per second, latencies in milliseconds. Its JSON field names are
// a contract: the bench/ scripts read them by path (achieved_rps,
// latency_ms.p99, requests, ok, late, unsent; bench/serve-lib.sh's
// json_fields), and so may a user's pipeline. Add fields; do not rename or
// remove one.
type Summary struct {
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // open or closed
	Profile     Profile `json:"profile,omitempty"`
	TargetRPS   float64 `json:"target_rps,omitempty"`
	Connections int     `json:"connections"`
	DurationS   float64 `json:"duration_s"`
	// Requests counts the measured requests that completed; AchievedRPS
	// is the 2xx responses per second.
	Requests    uint64            `json:"requests"`
	OK          uint64            `json:"ok"`
	AchievedRPS float64           `json:"achieved_rps"`
	Errors      map[string]uint64 `json:"errors"` // by status code or transport error kind
	ErrorsTotal uint64            `json:"errors_total"`
	ErrorRate   float64           `json:"error_rate"` // failed or unsent, of all due
	Late        uint64            `json:"late"`
	Unsent      uint64            `json:"unsent"`
	// Scheduled (open loop) is the requests due in the measured window:
	// Requests + Unsent.
	Scheduled uint64    `json:"scheduled,omitempty"`
	LatencyMS Latencies `json:"latency_ms"`
	// Spectrum is the latency percentile spectrum (milliseconds).
	Spectrum []SpectrumMS `json:"spectrum"`
	// Intervals is the run over time (see Result.Intervals).
	Intervals []IntervalMS `json:"intervals"`
	// SLO and Verdict are set when the run was judged.
	SLO     *SLOJSON `json:"slo,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Latencies are a run's latency percentiles in milliseconds.
type Latencies struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// SpectrumMS is one point of Summary.Spectrum.
type SpectrumMS struct {
	Percentile float64 `json:"percentile"`
	LatencyMS  float64 `json:"latency_ms"`
}

// IntervalMS is one slice of Summary.Intervals: seconds from the measured
// window's start, the 2xx rate and errors per second, latencies in ms.
type IntervalMS struct {
	StartS      float64 `json:"start_s"`
	AchievedRPS float64 `json:"achieved_rps"`
	ErrorsPS    float64 `json:"errors_per_s"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
}

// SLOJSON is an SLO as Summary holds it.
type SLOJSON struct {
	P99MS        float64 `json:"p99_ms,omitempty"`
	MaxErrorRate float64 `json:"max_error_rate"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summarize turns a run of o into its Summary; slo, when not nil, is the
// objective it is judged against.
func Summarize(o Options, r Result, slo *SLO) Summary {
	s := Summary{
		URL: o.URL, Mode: r.Mode, TargetRPS: r.Rate, Connections: r.Concurrency, DurationS: r.Duration.Seconds(),
		Requests: r.Requests, OK: r.OK, AchievedRPS: r.RPS, Errors: r.Errors,
		ErrorsTotal: r.Requests - r.OK, ErrorRate: r.ErrorRate(), Late: r.Late, Unsent: r.Unsent, Scheduled: r.Scheduled,
		LatencyMS: Latencies{ms(r.Mean), ms(r.P50), ms(r.P90), ms(r.P95), ms(r.P99), ms(r.P999), ms(r.Max)},
	}
	if r.Mode == "open" {
		s.Profile = o.Profile
		if s.Profile == "" {
			s.Profile = ProfileConstant
		}
	}
	if s.Errors == nil {
		s.Errors = map[string]uint64{}
	}
	for _, p := range r.Spectrum {
		s.Spectrum = append(s.Spectrum, SpectrumMS{p.Percentile, ms(p.Latency)})
	}
	for _, iv := range r.Intervals {
		w := iv.Width.Seconds()
		s.Intervals = append(s.Intervals, IntervalMS{iv.Start.Seconds(), float64(iv.OK) / w, float64(iv.Errors) / w, ms(iv.P50), ms(iv.P99), ms(iv.Max)})
	}
	if slo != nil {
		v := slo.Check(r)
		s.SLO, s.Verdict = &SLOJSON{P99MS: ms(slo.P99), MaxErrorRate: slo.MaxErrorRate}, &v
	}
	return s
}

// MaxBodyLines bounds the instances BodiesFromInstances reads.
const MaxBodyLines = 1_000_000

// BodiesFromInstances reads r, an NDJSON file of prediction instances
// (one JSON value per line: an object of features or an array of values;
// blank lines skipped), and returns TF Serving predict bodies of batch
// instances each, {"instances":[...]}, cycling through the file. name is
// used in errors, which give the line.
func BodiesFromInstances(r io.Reader, name string, batch int) ([][]byte, error) {
	if batch < 1 {
		return nil, fmt.Errorf("loadtest: batch %d: want at least 1 instance per request", batch)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	var lines [][]byte
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("%s:%d: not a JSON value (one instance per line: an object of features or an array of values)", name, n)
		}
		if c := line[0]; c != '{' && c != '[' {
			return nil, fmt.Errorf("%s:%d: an instance is an object of features or an array of values, got %.20s", name, n, line)
		}
		if len(lines) == MaxBodyLines {
			return nil, fmt.Errorf("%s: more than %d instances", name, MaxBodyLines)
		}
		lines = append(lines, slices.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s holds no instances", name)
	}
	// As many bodies as it takes to use every line once, at least one.
	n := max(1, int(math.Ceil(float64(len(lines))/float64(batch))))
	bodies := make([][]byte, n)
	for i := range bodies {
		var b strings.Builder
		b.WriteString(`{"instances":[`)
		for j := range batch {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(lines[(i*batch+j)%len(lines)])
		}
		b.WriteString("]}")
		bodies[i] = []byte(b.String())
	}
	return bodies, nil
}

// BodiesFromLines reads r, one whole request body per line (NDJSON; blank
// lines skipped), for endpoints whose bodies are not TF Serving instances
// (an Open Inference Protocol infer request, say). Each line must be a
// JSON object; errors name the file and line.
func BodiesFromLines(r io.Reader, name string) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	var bodies [][]byte
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) || line[0] != '{' {
			return nil, fmt.Errorf("%s:%d: not a JSON object (one request body per line)", name, n)
		}
		if len(bodies) == MaxBodyLines {
			return nil, fmt.Errorf("%s: more than %d bodies", name, MaxBodyLines)
		}
		bodies = append(bodies, slices.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("%s holds no request bodies (want one JSON object per line)", name)
	}
	return bodies, nil
}

package candidates

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/bench"
	"github.com/predictd/predictd/tools/eval"
)

// Options configures a comparison. The zero value of a field with a
// default means that default (see DefaultOptions).
type Options struct {
	// Repo is the model repository folder. Required.
	Repo string
	// Candidates are the versions to compare, at least one; a Version of
	// 0 is the latest.
	Candidates []Candidate
	// In is the labelled holdout (.csv with a header, or .parquet) and
	// Label its label column. Required. Slices are columns to evaluate by
	// slice (the worst slice is reported).
	In     string
	Label  string
	Slices []string
	// SLOP99 is the single-row p99 latency a candidate must meet to be
	// best; 0 means no SLO (the best of all).
	SLOP99 time.Duration
	// CostPerCoreHour prices a core for an hour, in Currency; 0 prices
	// nothing (the report still has core-seconds per million).
	CostPerCoreHour float64
	Currency        string
	// Cores is the thread count of the throughput measurement and the
	// cores the cost pays for, in [1, bench.MaxThreads]. Default
	// runtime.NumCPU().
	Cores int
	// Batches are the batch sizes the throughput is measured at, the
	// best taken; each in [1, bench.MaxBatch]. Default DefaultBatches.
	Batches []int
	// Rounds is the number of interleaved rounds, in [1, MaxRounds].
	// Default DefaultRounds.
	Rounds int
	// Cell is the measured time of each (batch, threads) cell in each
	// round. Default DefaultCell.
	Cell time.Duration
	// Warmup is the unmeasured run before each cell (every cell, since
	// the other candidates ran in between). Default DefaultWarmup.
	Warmup time.Duration
	// MaxRows bounds the holdout rows the speed measurement cycles
	// through (quality uses every row). Default bench.DefaultMaxRows.
	MaxRows int
	// Progress, when not nil, gets one line per measured candidate and
	// round.
	Progress io.Writer
}

// Defaults and bounds of Options.
const (
	DefaultRounds = 3
	DefaultCell   = 500 * time.Millisecond
	DefaultWarmup = 100 * time.Millisecond
	MaxRounds     = 100
)

// DefaultBatches are the default Options.Batches.
var DefaultBatches = []int{64, 256, 1024}

// DefaultOptions returns Options with every defaulted field set.
func DefaultOptions() Options {
	return Options{
		Cores:   runtime.NumCPU(),
		Batches: slices.Clone(DefaultBatches),
		Rounds:  DefaultRounds,
		Cell:    DefaultCell,
		Warmup:  DefaultWarmup,
		MaxRows: bench.DefaultMaxRows,
	}
}

// Check fills in the defaults of o's zero fields and reports the first
// field that is out of range, by name. Run calls it first.
func (o *Options) Check() error {
	def := DefaultOptions()
	if o.Cores == 0 {
		o.Cores = def.Cores
	}
	if len(o.Batches) == 0 {
		o.Batches = def.Batches
	}
	if o.Rounds == 0 {
		o.Rounds = def.Rounds
	}
	if o.Cell == 0 {
		o.Cell = def.Cell
	}
	if o.Warmup == 0 {
		o.Warmup = def.Warmup
	}
	if o.MaxRows == 0 {
		o.MaxRows = def.MaxRows
	}
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("candidates options: %s is %v, want %s", field, v, want)
	}
	switch {
	case o.Repo == "":
		return bad("Repo", `""`, "a model repository folder")
	case len(o.Candidates) == 0:
		return bad("Candidates", "empty", "at least one model version")
	case o.In == "":
		return bad("In", `""`, "a labelled holdout file")
	case o.Label == "":
		return bad("Label", `""`, "the holdout's label column")
	case o.SLOP99 < 0:
		return bad("SLOP99", o.SLOP99, "a duration ≥ 0 (0: no SLO)")
	case !(o.CostPerCoreHour >= 0) || math.IsInf(o.CostPerCoreHour, 0):
		return bad("CostPerCoreHour", o.CostPerCoreHour, "a price ≥ 0")
	case o.Cores < 1 || o.Cores > bench.MaxThreads:
		return bad("Cores", o.Cores, fmt.Sprintf("a thread count in [1, %d]", bench.MaxThreads))
	case o.Rounds < 1 || o.Rounds > MaxRounds:
		return bad("Rounds", o.Rounds, fmt.Sprintf("a count in [1, %d]", MaxRounds))
	case o.Cell < 0:
		return bad("Cell", o.Cell, "a positive duration")
	case o.Warmup < 0:
		return bad("Warmup", o.Warmup, "a positive duration")
	case o.MaxRows < 0:
		return bad("MaxRows", o.MaxRows, "a row count ≥ 1")
	}
	for i, b := range o.Batches {
		if b < 1 || b > bench.MaxBatch {
			return bad(fmt.Sprintf("Batches[%d]", i), b, fmt.Sprintf("a row count in [1, %d]", bench.MaxBatch))
		}
	}
	seen := map[Candidate]bool{}
	for i, c := range o.Candidates {
		switch {
		case !model.ValidName(c.Name):
			return bad(fmt.Sprintf("Candidates[%d].Name", i), model.Quote(c.Name), "a valid model name")
		case c.Version < 0:
			return bad(fmt.Sprintf("Candidates[%d].Version", i), c.Version, "a version ≥ 1 (0: the latest)")
		case seen[c]:
			return bad(fmt.Sprintf("Candidates[%d]", i), c, "each candidate once")
		}
		seen[c] = true
	}
	return nil
}

// evaluation is what Run takes from tools/eval for one candidate.
type evaluation struct {
	Task    string
	Rows    int64
	Quality Quality
	Report  *eval.Report
}

// evaluate evaluates version c (resolved) on the holdout; a variable so
// that tests can see what Run asks of it.
var evaluate = evalCandidate

// candidate is one opened candidate during Run.
type candidate struct {
	c      Candidate
	label  string
	loaded *model.Loaded
	rows   []float64
	res    Result
}

// Run evaluates and measures every candidate as the package doc says and
// decides dominance and the best under the SLO. It stops when ctx is
// cancelled, returning ctx's error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	rep := &Report{
		In: opts.In, Label: opts.Label, Slices: opts.Slices,
		SLOP99Micros:    float64(opts.SLOP99) / float64(time.Microsecond),
		CostPerCoreHour: opts.CostPerCoreHour, Currency: opts.Currency,
		Cores: opts.Cores, Batches: opts.Batches, Rounds: opts.Rounds,
		CellMillis:   float64(opts.Cell) / float64(time.Millisecond),
		WarmupMillis: float64(opts.Warmup) / float64(time.Millisecond),
		Machine:      machine(),
		Best:         -1,
	}
	cs := make([]*candidate, len(opts.Candidates))
	labels := map[string]bool{}
	for i, c := range opts.Candidates {
		// Opened once here (version 0: the latest), then named by its
		// number to tools/eval, so both judge the same version even if a
		// newer one is written meanwhile.
		l, err := model.OpenContext(ctx, opts.Repo, c.Name, c.Version)
		if err != nil {
			return nil, fmt.Errorf("candidate %s: %w", c, err)
		}
		v := l.Manifest.Version
		cd := &candidate{c: Candidate{c.Name, v}, label: c.Name + ":" + strconv.Itoa(v), loaded: l}
		if labels[cd.label] {
			return nil, fmt.Errorf("candidate %s: %s is already a candidate (the latest version is named twice)", c, cd.label)
		}
		labels[cd.label] = true
		cd.res = Result{Candidate: cd.c, Label: cd.label, ModelKind: string(l.Manifest.Kind)}
		if err := artifactSize(l, &cd.res); err != nil {
			return nil, fmt.Errorf("candidate %s: %w", cd.label, err)
		}
		cs[i] = cd
	}

	// Quality first: a holdout the models cannot read fails in a moment,
	// not after the measurement.
	for i, cd := range cs {
		ev, err := evaluate(ctx, opts, cd.c)
		if err != nil {
			return nil, fmt.Errorf("candidate %s: evaluate: %w", cd.label, err)
		}
		kind := kindOf(ev.Task)
		if i == 0 {
			rep.Kind = kind
		} else if kind != rep.Kind {
			return nil, fmt.Errorf("candidate %s: task %s (a %s) against %s's %s (a %s): candidates must all be classifiers or all regressors",
				cd.label, ev.Task, kind, cs[0].label, cs[0].res.Task, rep.Kind)
		}
		cd.res.Task, cd.res.Rows, cd.res.Quality, cd.res.Eval = ev.Task, ev.Rows, ev.Quality, ev.Report
		nan := Metric(math.NaN())
		q := &cd.res.Quality
		if kind == KindClassifier {
			q.RMSE, q.MAE = nan, nan
			cd.res.Primary = q.AUC
		} else {
			q.AUC, q.LogLoss, q.ECE = nan, nan, nan
			cd.res.Primary = q.RMSE
		}
	}
	rep.Primary, rep.HigherIsBetter = "rmse", false
	if rep.Kind == KindClassifier {
		rep.Primary, rep.HigherIsBetter = "auc", true
	}

	for _, cd := range cs {
		// The model's columns: a version with feature transforms is
		// timed on its transformed rows, what Predict takes.
		rows, err := bench.ReadModelRows(opts.In, cd.loaded, opts.MaxRows)
		if err != nil {
			return nil, fmt.Errorf("candidate %s: %w", cd.label, err)
		}
		cd.rows = rows
		rep.BenchRows = len(rows) / len(cd.loaded.Manifest.Columns())
	}
	if err := measureAll(ctx, opts, cs); err != nil {
		return nil, err
	}
	rep.Machine.LoadAfter = loadAverage()

	// The cost axis is core-seconds per million: the price, when given,
	// is the same multiple of it for every candidate, so the order and
	// the overlaps of rounds are the same.
	pts := make([]Point, len(cs))
	for i, cd := range cs {
		r := &cd.res
		r.CoreSecondsPerMillion = CoreSecondsPerMillion(opts.Cores, r.RowsPerSecond)
		if opts.CostPerCoreHour > 0 {
			c, err := CostPerMillion(opts.Cores, r.RowsPerSecond, opts.CostPerCoreHour, opts.Currency)
			if err != nil {
				return nil, fmt.Errorf("candidate %s: %w", cd.label, err)
			}
			r.CostPerMillion = c
		}
		r.WithinSLO = opts.SLOP99 == 0 || r.P99Micros <= rep.SLOP99Micros
		pts[i] = Point{
			Quality: float64(r.Primary),
			P99:     Measure{r.P99Micros, r.P99MinMicros, r.P99MaxMicros},
			Cost: Measure{r.CoreSecondsPerMillion,
				CoreSecondsPerMillion(opts.Cores, r.RowsPerSecondMax), CoreSecondsPerMillion(opts.Cores, r.RowsPerSecondMin)},
		}
	}
	doms := Dominators(pts, rep.HigherIsBetter)
	for i, d := range doms {
		for _, j := range d {
			cs[i].res.DominatedBy = append(cs[i].res.DominatedBy, cs[j].label)
		}
		if len(d) == 0 {
			rep.Frontier = append(rep.Frontier, cs[i].label)
		}
	}
	rep.Best = Best(pts, rep.HigherIsBetter, rep.SLOP99Micros)
	if rep.Best >= 0 {
		cs[rep.Best].res.Best = true
	}
	for _, cd := range cs {
		rep.Candidates = append(rep.Candidates, cd.res)
	}
	rep.Notes = sloNotes(rep.Candidates, rep.SLOP99Micros)
	return rep, nil
}

// kindOf maps a tools/eval task to the comparison's kind.
func kindOf(task string) string {
	if task == string(model.TaskBinary) || task == string(model.TaskMulticlass) {
		return KindClassifier
	}
	return KindRegressor
}

// artifactSize fills r's size fields from l's manifest and folder: the
// payload and the reference profile by the sizes the manifest records,
// manifest.json and any other regular file in the folder (a contract, say)
// by their sizes on disk. Hidden files (in-progress writes) are skipped.
func artifactSize(l *model.Loaded, r *Result) error {
	r.PayloadBytes = l.Manifest.Payload.Bytes
	known := map[string]bool{l.Manifest.Payload.File: true}
	if ref := l.Manifest.Reference; ref != nil {
		r.ReferenceBytes = ref.Bytes
		known[ref.File] = true
	}
	ents, err := os.ReadDir(l.Dir)
	if err != nil {
		return fmt.Errorf("artifact size: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if known[name] || strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("artifact size: %w", err)
		}
		if name == model.ManifestFile {
			r.ManifestBytes = fi.Size()
			continue
		}
		r.OtherBytes += fi.Size()
		r.OtherFiles = append(r.OtherFiles, name)
	}
	r.ArtifactBytes = r.PayloadBytes + r.ReferenceBytes + r.ManifestBytes + r.OtherBytes
	return nil
}

// measureAll measures every candidate in opts.Rounds interleaved rounds,
// the starting candidate rotated each round, and sets each Result's
// medians and Samples.
func measureAll(ctx context.Context, opts Options, cs []*candidate) error {
	for round := range opts.Rounds {
		for k := range cs {
			cd := cs[(round+k)%len(cs)]
			s, err := measureOnce(ctx, opts, cd)
			if err != nil {
				return fmt.Errorf("candidate %s: measure: %w", cd.label, err)
			}
			s.Round = round + 1
			cd.res.Samples = append(cd.res.Samples, s)
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "round %d/%d %s: p99 %.3g µs, %s rows/s\n",
					round+1, opts.Rounds, cd.label, s.P99Micros, formatRates(s.RowsPerSecond))
			}
		}
	}
	for _, cd := range cs {
		summarize(&cd.res, opts.Batches)
	}
	return nil
}

func formatRates(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strings.Join(s, "/")
}

// measureOnce measures cd's single-row latency on one thread, then its
// throughput at each batch size on opts.Cores threads.
func measureOnce(ctx context.Context, opts Options, cd *candidate) (Sample, error) {
	bo := bench.Options{Batches: []int{1}, Threads: []int{1}, Duration: opts.Cell, Warmup: opts.Warmup, Rows: cd.rows}
	lat, err := bench.Run(ctx, cd.loaded.Model, bo)
	if err != nil {
		return Sample{}, err
	}
	if len(lat.Cells) != 1 {
		return Sample{}, fmt.Errorf("BUG: bench returned %d cells for one", len(lat.Cells))
	}
	s := Sample{P50Micros: lat.Cells[0].BatchP50Micros, P99Micros: lat.Cells[0].BatchP99Micros}
	bo.Batches, bo.Threads = opts.Batches, []int{opts.Cores}
	thr, err := bench.Run(ctx, cd.loaded.Model, bo)
	if err != nil {
		return Sample{}, err
	}
	if len(thr.Cells) != len(opts.Batches) {
		return Sample{}, fmt.Errorf("BUG: bench returned %d cells for %d", len(thr.Cells), len(opts.Batches))
	}
	for _, c := range thr.Cells {
		s.RowsPerSecond = append(s.RowsPerSecond, c.RowsPerSecond)
	}
	return s, nil
}

// summarize sets r's medians over its Samples and its best batch size.
func summarize(r *Result, batches []int) {
	col := func(f func(Sample) float64) float64 {
		v := make([]float64, len(r.Samples))
		for i, s := range r.Samples {
			v[i] = f(s)
		}
		return median(v)
	}
	r.P50Micros = col(func(s Sample) float64 { return s.P50Micros })
	r.P99Micros = col(func(s Sample) float64 { return s.P99Micros })
	r.RowsPerSecond, r.BestBatch = 0, 0
	best := -1
	for j, b := range batches {
		m := col(func(s Sample) float64 { return s.RowsPerSecond[j] })
		if m > r.RowsPerSecond {
			r.RowsPerSecond, r.BestBatch, best = m, b, j
		}
	}
	r.P99MinMicros, r.P99MaxMicros = math.Inf(1), math.Inf(-1)
	r.RowsPerSecondMin, r.RowsPerSecondMax = math.Inf(1), math.Inf(-1)
	for _, s := range r.Samples {
		r.P99MinMicros, r.P99MaxMicros = min(r.P99MinMicros, s.P99Micros), max(r.P99MaxMicros, s.P99Micros)
		if best >= 0 {
			v := s.RowsPerSecond[best]
			r.RowsPerSecondMin, r.RowsPerSecondMax = min(r.RowsPerSecondMin, v), max(r.RowsPerSecondMax, v)
		}
	}
	if best < 0 {
		r.RowsPerSecondMin, r.RowsPerSecondMax = 0, 0
	}
}

// sloNotes flags each candidate whose rounds' p99 lie on both sides of
// the SLO (sloP99 in microseconds; none when 0): its median decided
// whether it is within, and another run could decide otherwise.
func sloNotes(rs []Result, sloP99 float64) []string {
	if sloP99 <= 0 {
		return nil
	}
	var notes []string
	for _, r := range rs {
		if r.P99MinMicros <= sloP99 && sloP99 < r.P99MaxMicros {
			side := "within"
			if !r.WithinSLO {
				side = "not within"
			}
			notes = append(notes, fmt.Sprintf("%s's p99 rounds (%s–%s µs) lie on both sides of the SLO's %s µs: it counts as %s by its median %s µs; more --rounds or a longer --duration would settle it",
				r.Label, htmlpage.Num(r.P99MinMicros), htmlpage.Num(r.P99MaxMicros), htmlpage.Num(sloP99), side, htmlpage.Num(r.P99Micros)))
		}
	}
	return notes
}

// median returns the middle value of v (the mean of the two middle ones
// for an even count), NaN for none. It sorts v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// machine describes this computer, with the load average now.
func machine() Machine {
	return Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPU: cpuModel(), NumCPU: runtime.NumCPU(), LoadBefore: loadAverage()}
}

// loadAverage is the first three fields of /proc/loadavg, "" where there
// is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is /proc/cpuinfo's first "model name", "" where there is none.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// evalCandidate is evaluate: tools/eval's Run on version c, its numbers
// copied into a Quality (the worst slice by the kind's primary metric).
func evalCandidate(ctx context.Context, o Options, c Candidate) (evaluation, error) {
	r, err := eval.Run(ctx, eval.Options{Repo: o.Repo, Model: c.Name, Version: c.Version, In: o.In, Label: o.Label, Slices: o.Slices})
	if err != nil {
		return evaluation{}, err
	}
	return fromEval(r), nil
}

// fromEval copies an evaluation's numbers into a Quality; the report
// keeps the evaluation without its curves.
func fromEval(r *eval.Report) evaluation {
	m := r.Overall
	q := Quality{
		AUC: Metric(m.AUC), LogLoss: Metric(m.LogLoss), ECE: Metric(m.ECE),
		RMSE: Metric(m.RMSE), MAE: Metric(m.MAE), WorstSliceValue: Metric(math.NaN()),
	}
	primary := "rmse"
	if kindOf(r.Task) == KindClassifier {
		primary = "auc"
	}
	if s, ok := r.WorstSlice(primary); ok {
		q.WorstSlice, q.WorstSliceRows = s.Column+"="+s.Value, s.Rows
		q.WorstSliceValue = Metric(s.Metrics.RMSE)
		if primary == "auc" {
			q.WorstSliceValue = Metric(s.Metrics.AUC)
		}
	}
	kept := *r
	kept.Curves = nil
	return evaluation{Task: r.Task, Rows: r.Rows, Quality: q, Report: &kept}
}

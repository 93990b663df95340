package candidates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/tools/eval"
)

// holdout is the labelled file the candidates are compared on.
var holdout = fixture.Path("candidates", "holdout.csv")

// repoOf imports testdata/candidates models into a new repository, one
// version each unless versions says more.
func repoOf(t *testing.T, names ...string) string {
	t.Helper()
	repo := t.TempDir()
	for _, n := range names {
		imp, err := importer.ImportFile("xgboost", fixture.Path("candidates", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, n, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// fakeEval makes Run's evaluate answer from qs by model name, and records
// the versions asked for.
func fakeEval(t *testing.T, task string, qs map[string]Quality) *[]Candidate {
	t.Helper()
	var asked []Candidate
	old := evaluate
	evaluate = func(_ context.Context, _ Options, c Candidate) (evaluation, error) {
		asked = append(asked, c)
		q, ok := qs[c.Name]
		if !ok {
			return evaluation{}, errors.New("no such fake")
		}
		return evaluation{Task: task, Rows: 800, Quality: q}, nil
	}
	t.Cleanup(func() { evaluate = old })
	return &asked
}

// quick are Options that measure briefly.
func quick(repo string, cs ...Candidate) Options {
	return Options{
		Repo: repo, Candidates: cs, In: holdout, Label: "y",
		Rounds: 3, Cell: 5 * time.Millisecond, Warmup: time.Millisecond,
		Batches: []int{8, 32}, Cores: 1, MaxRows: 100,
	}
}

func clfQuality(auc float64) Quality {
	return Quality{AUC: Metric(auc), LogLoss: 0.4, ECE: 0.02, RMSE: 9, MAE: 9, WorstSliceValue: Metric(math.NaN())}
}

func TestRunInterleavedMedians(t *testing.T) {
	repo := repoOf(t, "clf_tiny", "clf_small", "clf_large")
	// A second version of clf_small: the bare name means it.
	imp, err := importer.ImportFile("xgboost", fixture.Path("candidates", "clf_small.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "clf_small", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	asked := fakeEval(t, "binary", map[string]Quality{
		"clf_tiny": clfQuality(0.80), "clf_small": clfQuality(0.89), "clf_large": clfQuality(0.91),
	})
	var progress bytes.Buffer
	o := quick(repo, Candidate{"clf_tiny", 1}, Candidate{"clf_small", 0}, Candidate{"clf_large", 0})
	o.Progress = &progress
	o.CostPerCoreHour, o.Currency = 0.04, "EUR"
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	wantAsked := []Candidate{{"clf_tiny", 1}, {"clf_small", 2}, {"clf_large", 1}}
	if !reflect.DeepEqual(*asked, wantAsked) {
		t.Errorf("evaluated %v, want the resolved versions %v", *asked, wantAsked)
	}
	labels := []string{"clf_tiny:1", "clf_small:2", "clf_large:1"}
	// Round r starts with candidate r mod 3.
	var order []string
	for line := range strings.Lines(progress.String()) {
		f := strings.Fields(line)
		order = append(order, f[1]+" "+strings.TrimSuffix(f[2], ":"))
	}
	want := []string{
		"1/3 clf_tiny:1", "1/3 clf_small:2", "1/3 clf_large:1",
		"2/3 clf_small:2", "2/3 clf_large:1", "2/3 clf_tiny:1",
		"3/3 clf_large:1", "3/3 clf_tiny:1", "3/3 clf_small:2",
	}
	if !slices.Equal(order, want) {
		t.Errorf("measurement order %q, want %q", order, want)
	}
	if rep.Kind != KindClassifier || rep.Primary != "auc" || !rep.HigherIsBetter || rep.BenchRows != 100 || rep.Cores != 1 {
		t.Errorf("report kind %q primary %q higher %v bench rows %d cores %d, want classifier auc true 100 1",
			rep.Kind, rep.Primary, rep.HigherIsBetter, rep.BenchRows, rep.Cores)
	}
	pts := make([]Point, len(rep.Candidates))
	for i, r := range rep.Candidates {
		if r.Label != labels[i] {
			t.Errorf("candidate %d is %s, want %s", i, r.Label, labels[i])
		}
		if len(r.Samples) != 3 {
			t.Fatalf("%s: %d samples, want 3", r.Label, len(r.Samples))
		}
		var p99s, p50s []float64
		rps := make([][]float64, 2)
		for k, s := range r.Samples {
			p50s = append(p50s, s.P50Micros)
			if s.Round != k+1 || len(s.RowsPerSecond) != 2 || !(s.P99Micros >= s.P50Micros) || !(s.P50Micros > 0) {
				t.Errorf("%s: sample %d = %+v, want round %d, p99 ≥ p50 > 0, two rates", r.Label, k, s, k+1)
			}
			p99s = append(p99s, s.P99Micros)
			rps[0] = append(rps[0], s.RowsPerSecond[0])
			rps[1] = append(rps[1], s.RowsPerSecond[1])
		}
		slices.Sort(p99s)
		slices.Sort(p50s)
		if r.P50Micros != p50s[1] {
			t.Errorf("%s: p50 %v, want the median of %v", r.Label, r.P50Micros, p50s)
		}
		if r.P99Micros != p99s[1] {
			t.Errorf("%s: p99 %v, want the median of %v", r.Label, r.P99Micros, p99s)
		}
		slices.Sort(rps[0])
		slices.Sort(rps[1])
		wantRPS, wantBatch := rps[0][1], 8
		if rps[1][1] > wantRPS {
			wantRPS, wantBatch = rps[1][1], 32
		}
		best := 0
		if wantBatch == 32 {
			best = 1
		}
		if r.P99MinMicros != p99s[0] || r.P99MaxMicros != p99s[2] || r.RowsPerSecondMin != rps[best][0] || r.RowsPerSecondMax != rps[best][2] {
			t.Errorf("%s: p99 range %v–%v, rows/s range %v–%v; want %v–%v, %v–%v", r.Label, r.P99MinMicros, r.P99MaxMicros,
				r.RowsPerSecondMin, r.RowsPerSecondMax, p99s[0], p99s[2], rps[best][0], rps[best][2])
		}
		if r.RowsPerSecond != wantRPS || r.BestBatch != wantBatch {
			t.Errorf("%s: %v rows/s at batch %d, want the best median %v at %d", r.Label, r.RowsPerSecond, r.BestBatch, wantRPS, wantBatch)
		}
		wantCost := 1 * 0.04 / (r.RowsPerSecond * 3600) * 1e6
		if math.Abs(r.CostPerMillion-wantCost) > 1e-12*wantCost || r.CoreSecondsPerMillion != 1e6/r.RowsPerSecond {
			t.Errorf("%s: cost %v, core-seconds %v; want %v, %v", r.Label, r.CostPerMillion, r.CoreSecondsPerMillion, wantCost, 1e6/r.RowsPerSecond)
		}
		if r.Primary != r.Quality.AUC || !math.IsNaN(float64(r.Quality.RMSE)) || !math.IsNaN(float64(r.Quality.MAE)) {
			t.Errorf("%s: primary %v, RMSE %v, MAE %v: want the AUC and NaN for the regression metrics", r.Label, r.Primary, r.Quality.RMSE, r.Quality.MAE)
		}
		if !r.WithinSLO {
			t.Errorf("%s: not within an SLO that was not given", r.Label)
		}
		pts[i] = Point{float64(r.Primary), Measure{r.P99Micros, r.P99MinMicros, r.P99MaxMicros},
			Measure{r.CoreSecondsPerMillion, 1e6 / r.RowsPerSecondMax, 1e6 / r.RowsPerSecondMin}}
		// The size: the payload file, the manifest, no reference.
		dir := filepath.Join(repo, r.Name, "1")
		if r.Name == "clf_small" {
			dir = filepath.Join(repo, r.Name, "2")
		}
		var want int64
		for _, f := range []string{model.ManifestFile, model.PayloadFile} {
			fi, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			want += fi.Size()
		}
		if r.ArtifactBytes != want || r.ReferenceBytes != 0 || r.PayloadBytes+r.ManifestBytes != want {
			t.Errorf("%s: artifact %d bytes (payload %d, reference %d, manifest %d), want %d: the two files on disk",
				r.Label, r.ArtifactBytes, r.PayloadBytes, r.ReferenceBytes, r.ManifestBytes, want)
		}
	}
	// Dominance and the best are Dominators and Best over the report's
	// own numbers (which the noise decides).
	doms := Dominators(pts, true)
	var frontier []string
	for i, d := range doms {
		var by []string
		for _, j := range d {
			by = append(by, labels[j])
		}
		if !slices.Equal(rep.Candidates[i].DominatedBy, by) {
			t.Errorf("%s dominated by %v, want %v", labels[i], rep.Candidates[i].DominatedBy, by)
		}
		if len(d) == 0 {
			frontier = append(frontier, labels[i])
		}
	}
	if rep.Notes != nil {
		t.Errorf("notes %q without an SLO, want none", rep.Notes)
	}
	if !slices.Equal(rep.Frontier, frontier) {
		t.Errorf("frontier %v, want %v", rep.Frontier, frontier)
	}
	// Without an SLO the best is the best AUC.
	if rep.Best != 2 || !rep.Candidates[2].Best || rep.Candidates[0].Best || rep.Candidates[1].Best {
		t.Errorf("best %d, want 2 (clf_large, the best AUC) and only it marked", rep.Best)
	}
	// The JSON reads back to the same report.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Candidates[1].Label != "clf_small:2" || !math.IsNaN(float64(back.Candidates[1].Quality.RMSE)) || back.Candidates[1].P99Micros != rep.Candidates[1].P99Micros {
		t.Errorf("JSON round trip: %+v", back.Candidates[1])
	}
}

func TestRunSLO(t *testing.T) {
	repo := repoOf(t, "clf_tiny", "clf_small")
	fakeEval(t, "binary", map[string]Quality{"clf_tiny": clfQuality(0.8), "clf_small": clfQuality(0.9)})
	o := quick(repo, Candidate{"clf_tiny", 0}, Candidate{"clf_small", 0})
	o.Rounds = 1
	// No call takes under a nanosecond: none is within the SLO.
	o.SLOP99 = time.Nanosecond
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Best != -1 || rep.SLOP99Micros != 0.001 {
		t.Errorf("SLO 1ns: best %d, SLO %v µs; want -1, 0.001", rep.Best, rep.SLOP99Micros)
	}
	for _, r := range rep.Candidates {
		if r.WithinSLO || r.Best {
			t.Errorf("SLO 1ns: %s within %v best %v, want neither", r.Label, r.WithinSLO, r.Best)
		}
	}
	// Every call is within an hour.
	o.SLOP99 = time.Hour
	if rep, err = Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if rep.Best != 1 || !rep.Candidates[0].WithinSLO || !rep.Candidates[1].WithinSLO {
		t.Errorf("SLO 1h: best %d, want 1 (clf_small, the better AUC), both within", rep.Best)
	}
}

func TestRunRegressorPrimary(t *testing.T) {
	repo := repoOf(t, "reg_small", "reg_large")
	fakeEval(t, "regression", map[string]Quality{
		"reg_small": {AUC: 0.5, LogLoss: 1, ECE: 1, RMSE: 1.07, MAE: 0.8, WorstSlice: "segment=c", WorstSliceRows: 160, WorstSliceValue: 1.3},
		"reg_large": {AUC: 0.5, LogLoss: 1, ECE: 1, RMSE: 0.74, MAE: 0.6, WorstSlice: "segment=c", WorstSliceRows: 160, WorstSliceValue: 0.9},
	})
	o := quick(repo, Candidate{"reg_small", 0}, Candidate{"reg_large", 0})
	o.Rounds, o.Label = 1, "target"
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != KindRegressor || rep.Primary != "rmse" || rep.HigherIsBetter || rep.Best != 1 {
		t.Errorf("kind %q primary %q higher %v best %d; want regressor rmse false 1", rep.Kind, rep.Primary, rep.HigherIsBetter, rep.Best)
	}
	r := rep.Candidates[0]
	if r.Primary != 1.07 || !math.IsNaN(float64(r.Quality.AUC)) || !math.IsNaN(float64(r.Quality.LogLoss)) || !math.IsNaN(float64(r.Quality.ECE)) {
		t.Errorf("reg_small: primary %v AUC %v log loss %v ECE %v; want 1.07 and NaN for the classifier metrics", r.Primary, r.Quality.AUC, r.Quality.LogLoss, r.Quality.ECE)
	}
}

func TestRunErrors(t *testing.T) {
	repo := repoOf(t, "clf_tiny", "reg_small")
	for _, tc := range []struct {
		name string
		edit func(*Options)
		task string
		want string
	}{
		{"mixed kinds", func(o *Options) {}, "", "candidate reg_small:1: task regression (a regressor) against clf_tiny:1's binary (a classifier)"},
		{"missing model", func(o *Options) { o.Candidates[1] = Candidate{"nope", 0} }, "binary", "candidate nope:"},
		{"missing version", func(o *Options) { o.Candidates[1] = Candidate{"clf_tiny", 4} }, "binary", "candidate clf_tiny:4:"},
		{"latest named twice", func(o *Options) { o.Candidates[1] = Candidate{"clf_tiny", 1}; o.Candidates[0].Version = 0 }, "binary", "clf_tiny:1 is already a candidate"},
		{"eval fails", func(o *Options) {
			o.Candidates[1] = Candidate{"clf_tiny", 0}
			o.Candidates[0] = Candidate{"reg_small", 1}
		}, "fail", "candidate reg_small:1: evaluate: no such fake"},
		{"holdout lacks a feature", func(o *Options) { o.In = fixture.Path("xgboost", "gbtree_binary_logistic.csv") }, "binary", "missing columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := evaluate
			defer func() { evaluate = old }()
			evaluate = func(_ context.Context, _ Options, c Candidate) (evaluation, error) {
				task := tc.task
				if task == "" {
					task = map[string]string{"clf_tiny": "binary", "reg_small": "regression"}[c.Name]
				}
				if task == "fail" {
					return evaluation{}, errors.New("no such fake")
				}
				return evaluation{Task: task, Quality: clfQuality(0.5)}, nil
			}
			o := quick(repo, Candidate{"clf_tiny", 1}, Candidate{"reg_small", 1})
			o.Rounds = 1
			tc.edit(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	good := func() Options {
		return Options{Repo: "r", Candidates: []Candidate{{"a", 0}}, In: "x.csv", Label: "y"}
	}
	o := good()
	if err := o.Check(); err != nil {
		t.Fatalf("Check(%+v) = %v", good(), err)
	}
	def := DefaultOptions()
	if o.Rounds != DefaultRounds || o.Cell != DefaultCell || o.Warmup != DefaultWarmup || o.Cores != def.Cores || !slices.Equal(o.Batches, DefaultBatches) || o.MaxRows != def.MaxRows {
		t.Errorf("defaults not filled: %+v", o)
	}
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Repo = "" }, "Repo"},
		{func(o *Options) { o.Candidates = nil }, "Candidates is empty"},
		{func(o *Options) { o.In = "" }, "In"},
		{func(o *Options) { o.Label = "" }, "Label"},
		{func(o *Options) { o.SLOP99 = -time.Millisecond }, "SLOP99"},
		{func(o *Options) { o.CostPerCoreHour = -1 }, "CostPerCoreHour"},
		{func(o *Options) { o.CostPerCoreHour = math.NaN() }, "CostPerCoreHour"},
		{func(o *Options) { o.CostPerCoreHour = math.Inf(1) }, "CostPerCoreHour"},
		{func(o *Options) { o.Cores = -1 }, "Cores"},
		{func(o *Options) { o.Rounds = MaxRounds + 1 }, "Rounds"},
		{func(o *Options) { o.Cell = -1 }, "Cell"},
		{func(o *Options) { o.Warmup = -1 }, "Warmup"},
		{func(o *Options) { o.MaxRows = -1 }, "MaxRows"},
		{func(o *Options) { o.Batches = []int{64, 0} }, "Batches[1]"},
		{func(o *Options) { o.Candidates = []Candidate{{"a/b", 0}} }, "Candidates[0].Name"},
		{func(o *Options) { o.Candidates = []Candidate{{"a", -2}} }, "Candidates[0].Version"},
		{func(o *Options) { o.Candidates = []Candidate{{"a", 1}, {"a", 1}} }, "Candidates[1]"},
	} {
		o := good()
		tc.edit(&o)
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check: %v, want an error naming %s", err, tc.want)
		}
	}
}

func TestFromEval(t *testing.T) {
	nanM := func() eval.Metrics {
		m := eval.Metrics{}
		for _, p := range []*float64{&m.AUC, &m.LogLoss, &m.ECE, &m.RMSE, &m.MAE} {
			*p = math.NaN()
		}
		return m
	}
	bin := &eval.Report{Task: "binary", Rows: 10, Curves: &eval.Curves{}}
	bin.Overall = nanM()
	bin.Overall.AUC, bin.Overall.LogLoss, bin.Overall.ECE = 0.9, 0.3, 0.05
	for _, s := range []struct {
		col, val string
		auc      float64
	}{{"segment", "a", 0.92}, {"segment", "b", 0.85}, {"region", "x", math.NaN()}, {"region", "y", 0.87}} {
		m := nanM()
		m.AUC = s.auc
		bin.Slices = append(bin.Slices, eval.SliceReport{Column: s.col, Value: s.val, Rows: 3, Metrics: m})
	}
	ev := fromEval(bin)
	q := ev.Quality
	if ev.Task != "binary" || ev.Rows != 10 || q.AUC != 0.9 || q.LogLoss != 0.3 || q.ECE != 0.05 ||
		q.WorstSlice != "segment=b" || q.WorstSliceRows != 3 || q.WorstSliceValue != 0.85 {
		t.Errorf("fromEval(binary) = %+v, want AUC 0.9, log loss 0.3, ECE 0.05, worst slice segment=b at 0.85", ev)
	}
	if ev.Report.Curves != nil || bin.Curves == nil || len(ev.Report.Slices) != 4 {
		t.Errorf("fromEval keeps the curves (%v) or changed its input's (%v)", ev.Report.Curves, bin.Curves)
	}
	reg := &eval.Report{Task: "regression", Rows: 5}
	reg.Overall = nanM()
	reg.Overall.RMSE, reg.Overall.MAE = 1.5, 1.1
	for _, s := range []struct {
		val  string
		rmse float64
	}{{"a", 1.2}, {"b", 2.5}, {"c", 2.5}} {
		m := nanM()
		m.RMSE = s.rmse
		reg.Slices = append(reg.Slices, eval.SliceReport{Column: "segment", Value: s.val, Rows: 2, Metrics: m})
	}
	q = fromEval(reg).Quality
	if q.RMSE != 1.5 || q.MAE != 1.1 || q.WorstSlice != "segment=b" || q.WorstSliceValue != 2.5 {
		t.Errorf("fromEval(regression) = %+v, want RMSE 1.5, MAE 1.1, worst slice segment=b (the first of the tie) at 2.5", q)
	}
	reg.Slices = nil
	if q = fromEval(reg).Quality; q.WorstSlice != "" || !math.IsNaN(float64(q.WorstSliceValue)) {
		t.Errorf("fromEval without slices: worst slice %q at %v, want none and NaN", q.WorstSlice, q.WorstSliceValue)
	}
}

func TestMetricJSON(t *testing.T) {
	for _, tc := range []struct {
		m    Metric
		want string
	}{{0.5, "0.5"}, {Metric(math.NaN()), "null"}, {Metric(math.Inf(-1)), "null"}, {1e-300, "1e-300"}} {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", float64(tc.m), b, err, tc.want)
		}
		var back Metric
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back != tc.m && !(math.IsNaN(float64(back)) && (math.IsNaN(float64(tc.m)) || math.IsInf(float64(tc.m), 0))) {
			t.Errorf("Unmarshal(%s) = %v, want %v (NaN for null)", b, back, tc.m)
		}
	}
	var m Metric
	if err := json.Unmarshal([]byte(`"x"`), &m); err == nil {
		t.Error(`Unmarshal("x") succeeded, want an error`)
	}
}

// TestRunCancel: a context cancelled before the measurement stops Run
// with the context's error, naming the candidate.
func TestRunCancel(t *testing.T) {
	repo := repoOf(t, "clf_tiny")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := evaluate
	evaluate = func(context.Context, Options, Candidate) (evaluation, error) {
		cancel() // the evaluation ends as the user presses ^C
		return evaluation{Task: "binary", Quality: clfQuality(0.5)}, nil
	}
	defer func() { evaluate = old }()
	o := quick(repo, Candidate{"clf_tiny", 0})
	o.Cell = time.Hour // were cancellation ignored, the test would hang
	_, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "candidate clf_tiny:1: measure") {
		t.Errorf("Run after cancel: %v, want context.Canceled naming the candidate", err)
	}
}

// TestArtifactSize: payload and reference by the manifest's sizes,
// manifest.json and any other regular file by their sizes on disk;
// hidden files and folders skipped.
func TestArtifactSize(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(model.ManifestFile, 7)
	write(model.PayloadFile, 3)    // the manifest's 100 counts, not this
	write("reference.json.zst", 4) // the manifest's 50 counts
	write("contract.yaml", 11)
	write(".tmp-123", 5)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &model.Loaded{Dir: dir, Manifest: &model.Manifest{
		Payload:   model.Payload{File: model.PayloadFile, Bytes: 100},
		Reference: &model.ReferenceFile{File: "reference.json.zst", Bytes: 50},
	}}
	var r Result
	if err := artifactSize(l, &r); err != nil {
		t.Fatal(err)
	}
	if r.ArtifactBytes != 100+50+7+11 || r.PayloadBytes != 100 || r.ReferenceBytes != 50 || r.ManifestBytes != 7 || r.OtherBytes != 11 || !slices.Equal(r.OtherFiles, []string{"contract.yaml"}) {
		t.Errorf("artifactSize = %d (payload %d, reference %d, manifest %d, other %d %v), want 168 (100, 50, 7, 11 [contract.yaml])",
			r.ArtifactBytes, r.PayloadBytes, r.ReferenceBytes, r.ManifestBytes, r.OtherBytes, r.OtherFiles)
	}
	l.Dir = filepath.Join(dir, "gone")
	if err := artifactSize(l, &r); err == nil {
		t.Error("artifactSize of a missing folder succeeded")
	}
}

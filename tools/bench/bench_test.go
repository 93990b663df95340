package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/native"
	"github.com/predictd/predictd/model/xgboost"
	"github.com/predictd/predictd/tools/score"
)

// smallTrees is a small real XGBoost model (binary logistic) and its
// fixture file of rows.
func smallTrees(t *testing.T) (*model.Imported, string) {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return imp, fixture.Path("xgboost", "gbtree_binary_logistic.csv")
}

// checkCells checks that res holds one sane cell per (batch, threads) pair
// of opts, in order.
func checkCells(t *testing.T, res Result, batches, threads []int) {
	t.Helper()
	if len(res.Cells) != len(batches)*len(threads) {
		t.Fatalf("got %d cells, want %d", len(res.Cells), len(batches)*len(threads))
	}
	k := 0
	for _, b := range batches {
		for _, th := range threads {
			c := res.Cells[k]
			k++
			if c.Batch != b || c.Threads != th {
				t.Errorf("cell %d is batch=%d threads=%d, want batch=%d threads=%d", k-1, c.Batch, c.Threads, b, th)
			}
			if !(c.NsPerRow > 0) || !(c.RowsPerSecond > 0) || c.Calls <= 0 || !(c.BatchP50Micros > 0) || c.BatchP99Micros < c.BatchP50Micros {
				t.Errorf("cell %+v: want positive numbers and p50 <= p99", c)
			}
			// rows/s is the inverse of ns/row.
			if p := c.NsPerRow * c.RowsPerSecond; math.Abs(p-1e9) > 1e3 {
				t.Errorf("cell %+v: ns/row × rows/s = %v, want 1e9", c, p)
			}
			// A call's median cannot be much above the mean time per call,
			// nor the mean far below the fastest call.
			mean := c.NsPerRow * float64(c.Batch) / 1e3
			if c.BatchP50Micros > 50*mean || mean > 1000*c.BatchP99Micros {
				t.Errorf("cell %+v: mean call %.3g µs is out of line with the percentiles", c, mean)
			}
		}
	}
}

func TestRunTrees(t *testing.T) {
	imp, csv := smallTrees(t)
	rows, err := ReadRows(csv, imp.Features, DefaultMaxRows)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.GOMAXPROCS(0)
	opts := Options{Batches: []int{1, 7, 300}, Threads: []int{1, 2}, Duration: 20 * time.Millisecond, Rows: rows}
	res, err := Run(context.Background(), imp.Model, opts)
	if err != nil {
		t.Fatal(err)
	}
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS is %d after Run, was %d", after, before)
	}
	if want := len(rows) / len(imp.Features); res.Rows != want {
		t.Errorf("Result.Rows = %d, want %d", res.Rows, want)
	}
	checkCells(t, res, opts.Batches, opts.Threads)
}

func TestRunDenseSynthetic(t *testing.T) {
	data, err := os.ReadFile(fixture.Path("native", "mlp_binary_relu.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := native.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Batches: []int{3}, Threads: []int{1}, Duration: 10 * time.Millisecond, Raw: true}
	res, err := Run(context.Background(), imp.Model, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != DefaultSyntheticRows {
		t.Errorf("Result.Rows = %d, want the %d synthetic rows", res.Rows, DefaultSyntheticRows)
	}
	checkCells(t, res, opts.Batches, opts.Threads)
}

func TestRunCanceled(t *testing.T) {
	imp, _ := smallTrees(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, imp.Model, Options{Batches: []int{1}, Threads: []int{1}, Duration: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a canceled context: err = %v, want context.Canceled", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	imp, _ := smallTrees(t)
	nf := imp.Model.NumFeatures()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"batch zero", Options{Batches: []int{1, 0}}, "Batches[1] is 0"},
		{"batch huge", Options{Batches: []int{MaxBatch + 1}}, "Batches[0]"},
		{"threads negative", Options{Threads: []int{-1}}, "Threads[0] is -1"},
		{"duration", Options{Duration: -time.Second}, "Duration is -1s"},
		{"warmup", Options{Warmup: -time.Second}, "Warmup is -1s"},
		{"rows", Options{Rows: make([]float64, nf+1)}, "not a whole number of rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), imp.Model, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run(%+v) error = %v, want one naming %q", tc.opts, err, tc.want)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	imp, _ := smallTrees(t)
	res, err := Run(context.Background(), imp.Model, Options{Batches: []int{1, 16}, Threads: []int{1}, Duration: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Model: "m", Version: 3, Kind: model.KindTrees, Input: "synthetic", Result: res}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("WriteJSON wrote more than one JSON value")
	}
	if got["model"] != "m" || got["version"] != 3.0 || got["kind"] != "tree_ensemble" {
		t.Errorf("model, version, kind = %v, %v, %v; want m, 3, tree_ensemble", got["model"], got["version"], got["kind"])
	}
	cells, _ := got["results"].([]any)
	if len(cells) != 2 {
		t.Fatalf("results = %v, want 2 cells", got["results"])
	}
	for _, c := range cells {
		m := c.(map[string]any)
		for _, k := range []string{"batch", "threads", "ns_per_row", "rows_per_second", "batch_p50_us", "batch_p99_us"} {
			if v, ok := m[k].(float64); !ok || v <= 0 {
				t.Errorf("result %v: %s = %v, want a positive number", m, k, m[k])
			}
		}
	}

	buf.Reset()
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "m version 3") || !strings.Contains(lines[1], "ns/row") {
		t.Errorf("WriteText = %q, want a heading, a header and 2 lines", buf.String())
	}
}

// TestSyntheticRows checks that a tree model's synthetic rows send rows both
// ways at every numerical split, and some missing.
func TestSyntheticRows(t *testing.T) {
	imp, _ := smallTrees(t)
	tr := imp.Model.(*model.Trees)
	const n = 4096
	rows := model.SyntheticRows(tr, n, 7)
	if !slices.Equal(fmtRows(rows), fmtRows(model.SyntheticRows(tr, n, 7))) {
		t.Error("SyntheticRows is not deterministic for a seed")
	}
	nf := tr.NumFeatures()
	f := &tr.Forest
	nan := 0
	for _, v := range rows {
		if math.IsNaN(v) {
			nan++
		}
	}
	if rate := float64(nan) / float64(len(rows)); rate < model.MissingRate/2 || rate > model.MissingRate*2 {
		t.Errorf("missing rate %.3f, want about %v", rate, model.MissingRate)
	}
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if nd.IsLeaf() {
			continue
		}
		left, right := 0, 0
		for r := 0; r < n; r++ {
			x := rows[r*nf+int(nd.Feature)]
			switch {
			case math.IsNaN(x):
			case float32(x) < float32(nd.Value):
				left++
			default:
				right++
			}
		}
		if left == 0 || right == 0 {
			t.Errorf("node %d (feature %d < %v): %d rows go left, %d right; want both", i, nd.Feature, nd.Value, left, right)
		}
	}

	// Other models: standard normal.
	dense := model.SyntheticRows(&model.Dense{Layers: []model.Layer{{In: 4, Out: 1, Weights: make([]float64, 4), Bias: make([]float64, 1)}}}, 1000, 1)
	var sum, sq float64
	for _, v := range dense {
		sum += v
		sq += v * v
	}
	if m, v := sum/4000, sq/4000; math.Abs(m) > 0.1 || math.Abs(v-1) > 0.1 {
		t.Errorf("dense synthetic rows: mean %.3f, second moment %.3f; want about 0 and 1", m, v)
	}
}

func fmtRows(rows []float64) []string {
	s := make([]string, len(rows))
	for i, v := range rows {
		s[i] = g(v)
	}
	return s
}

func TestReadRows(t *testing.T) {
	imp, csv := smallTrees(t)
	feats := imp.Features
	nf := len(feats)
	want := fixture.ReadTable(t, csv).Flat()

	all, err := ReadRows(csv, feats, DefaultMaxRows)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fmtRows(all), fmtRows(want)) {
		t.Errorf("ReadRows(%s) differs from the file's %d rows", csv, len(want)/nf)
	}
	few, err := ReadRows(csv, feats, 10)
	if err != nil || len(few) != 10*nf {
		t.Errorf("ReadRows(max 10) = %d values, %v; want %d", len(few), err, 10*nf)
	}

	// Parquet, written by tools/score with the feature names as columns.
	pq := filepath.Join(t.TempDir(), "rows.parquet")
	f, err := os.Create(pq)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, nf)
	for i, ft := range feats {
		names[i] = ft.Name
	}
	w, err := score.NewParquetWriter(f, names)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadRows(pq, feats, DefaultMaxRows)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fmtRows(got), fmtRows(want)) {
		t.Errorf("ReadRows(%s) differs from the rows written", pq)
	}

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, []byte(strings.Join(names, ",")+"\n"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "rows.txt"), "want a .csv or .parquet file"},
		{empty, "no rows"},
		{filepath.Join(dir, "absent.csv"), "absent.csv"},
	} {
		if _, err := ReadRows(tc.path, feats, 10); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadRows(%s) error = %v, want one with %q", tc.path, err, tc.want)
		}
	}
}

// TestCycleRows checks that the windows Run takes cover every row and are
// the rows in order, wrapping around.
func TestCycleRows(t *testing.T) {
	const nf = 2
	for _, tc := range []struct{ n, batch int }{{5, 1}, {5, 2}, {5, 5}, {3, 7}, {1, 4}} {
		rows := make([]float64, tc.n*nf)
		for i := range rows {
			rows[i] = float64(i / nf)
		}
		in := cycleRows(rows, nf, tc.batch)
		starts := len(in)/nf - (tc.batch - 1)
		if starts != tc.n {
			t.Errorf("n=%d batch=%d: %d window starts, want %d", tc.n, tc.batch, starts, tc.n)
		}
		for s := 0; s < starts; s++ {
			for r := 0; r < tc.batch; r++ {
				if got, want := in[(s+r)*nf], float64((s+r)%tc.n); got != want {
					t.Errorf("n=%d batch=%d: window at %d, row %d is input row %v, want %v", tc.n, tc.batch, s, r, got, want)
				}
			}
		}
	}
}

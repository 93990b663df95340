package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/tools/score"
)

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	repo := repoWith(t, "binary", "multiclass")
	const head = "f0,f1,f2,f3,f4,f5,"
	for _, c := range []struct {
		name, model, csv, label string
		slices                  []string
		protected               string
		want                    []string // in the error
	}{
		{"label column missing", "binary", head + "y,region\n1,2,3,4,5,6,1,a\n", "label", nil, "",
			[]string{"in.csv: no label column \"label\"; the columns are: f0, f1, f2, f3, f4, f5, y, region"}},
		{"non-numeric label", "binary", head + "y\n1,2,3,4,5,6,1\n1,2,3,4,5,6,yes\n", "y", nil, "",
			[]string{"in.csv:3", `column "y"`, `"yes" is not a finite number`}},
		{"missing label", "binary", head + "y\n1,2,3,4,5,6,1\n1,2,3,4,5,6,\n", "y", nil, "",
			[]string{"in.csv:3", `column "y"`, "the label is missing"}},
		{"NaN label", "binary", head + "y\n1,2,3,4,5,6,NaN\n", "y", nil, "",
			[]string{"in.csv:2", `column "y"`, "the label is missing"}},
		{"binary label 2", "binary", head + "y\n1,2,3,4,5,6,0\n1,2,3,4,5,6,1\n1,2,3,4,5,6,2\n", "y", nil, "",
			[]string{"in.csv:4", `column "y"`, "label 2; a binary model's label is 0 or 1"}},
		{"class outside", "multiclass", head + "y\n1,2,3,4,5,6,3\n1,2,3,4,5,6,4\n", "y", nil, "",
			[]string{"in.csv:3", `column "y"`, "label 4; this model's labels are class indices 0 to 3"}},
		{"class not whole", "multiclass", head + "y\n1,2,3,4,5,6,1.5\n", "y", nil, "",
			[]string{"in.csv:2", "label 1.5"}},
		{"slice column missing", "binary", head + "y\n1,2,3,4,5,6,1\n", "y", []string{"region"}, "",
			[]string{"in.csv: no slice column \"region\"; the columns are: f0, f1, f2, f3, f4, f5, y"}},
		{"protected column missing", "binary", head + "y\n1,2,3,4,5,6,1\n", "y", nil, "sex",
			[]string{"in.csv: no protected column \"sex\""}},
		{"protected on multiclass", "multiclass", head + "y,g\n1,2,3,4,5,6,1,a\n", "y", nil, "g",
			[]string{"probabilities", "multiclass"}},
		{"no rows", "binary", head + "y\n", "y", nil, "",
			[]string{"no rows to evaluate"}},
		{"bad feature", "binary", head + "y\n1,2,x,4,5,6,1\n", "y", nil, "",
			[]string{"in.csv:2", "f2"}},
		{"unknown format", "binary", "", "y", nil, "",
			[]string{"want a .csv or .parquet file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := writeCSV(t, c.csv)
			if c.name == "unknown format" {
				in = strings.TrimSuffix(in, ".csv") + ".txt"
				os.WriteFile(in, []byte("a\n"), 0o644)
			}
			_, err := Run(context.Background(), Options{Repo: repo, Model: c.model, In: in, Label: c.label, Slices: c.slices, Protected: c.protected})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestTooManySliceValues(t *testing.T) {
	repo := repoWith(t, "binary")
	var b strings.Builder
	b.WriteString("f0,f1,f2,f3,f4,f5,y,id\n")
	for i := range 6 {
		b.WriteString("1,2,3,4,5,6,1,v" + string(rune('a'+i)) + "\n")
	}
	_, err := Run(context.Background(), Options{Repo: repo, Model: "binary", In: writeCSV(t, b.String()), Label: "y", Slices: []string{"id"}, MaxSliceValues: 5})
	if err == nil || !strings.Contains(err.Error(), `column "id" has more than 5 distinct values`) {
		t.Errorf("err %v, want a refusal naming the column", err)
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := Options{Repo: "r", Model: "m", In: "x.csv", Label: "y"}
	for _, c := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Repo = "" }, "Repo"},
		{func(o *Options) { o.Model = "" }, "Model"},
		{func(o *Options) { o.Version = -1 }, "Version"},
		{func(o *Options) { o.In = "" }, "In"},
		{func(o *Options) { o.Label = "" }, "Label"},
		{func(o *Options) { o.Threshold = 1.5 }, "Threshold"},
		{func(o *Options) { o.Threshold = -0.1 }, "Threshold"},
		{func(o *Options) { o.Bins = -1 }, "Bins"},
		{func(o *Options) { o.Bins = 1001 }, "Bins"},
		{func(o *Options) { o.TweediePower = 0.5 }, "TweediePower"},
		{func(o *Options) { o.MaxSliceValues = -1 }, "MaxSliceValues"},
		{func(o *Options) { o.Workers = -1 }, "Workers"},
		{func(o *Options) { o.Slices = []string{"a", "a"} }, `Slices names "a" twice`},
		{func(o *Options) { o.Slices = []string{"y"} }, "label column"},
		{func(o *Options) { o.Slices = []string{""} }, "Slices[0]"},
		{func(o *Options) { o.Protected = "y" }, "Protected"},
	} {
		o := ok
		c.mod(&o)
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("options %+v: err %v, want one naming %s", o, err, c.want)
		}
	}
	o := ok
	if err := o.Check(); err != nil || o.Threshold != 0.5 || o.Bins != 10 || o.TweediePower != 1.5 || o.MaxSliceValues != 1000 {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	if d := DefaultOptions(); d.Threshold != DefaultThreshold || d.Bins != DefaultBins || d.TweediePower != DefaultTweediePower || d.MaxSliceValues != DefaultMaxSliceValues {
		t.Errorf("DefaultOptions %+v", d)
	}
}

func TestCanceled(t *testing.T) {
	repo := repoWith(t, "binary")
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop now")
	cancel(stop)
	_, err := Run(ctx, Options{Repo: repo, Model: "binary", In: filepath.Join(fixtures, "binary.holdout.csv"), Label: "y", Slices: []string{"region"}})
	if !errors.Is(err, stop) {
		t.Errorf("canceled run: err %v, want the cause %v", err, stop)
	}
}

// TestMissingSliceCells: every cell table calls missing is the group
// MissingValue, last in order.
func TestMissingSliceCells(t *testing.T) {
	repo := repoWith(t, "binary")
	var b strings.Builder
	b.WriteString("f0,f1,f2,f3,f4,f5,y,s\n")
	for i, v := range []string{"b", "", "NA", "a", "null", "N/A", "nan", "NaN", " b "} {
		fmt.Fprintf(&b, "1,2,3,4,5,%d,%d,%s\n", i, i%2, v)
	}
	rep, err := Run(context.Background(), Options{Repo: repo, Model: "binary", In: writeCSV(t, b.String()), Label: "y", Slices: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rep.Slices {
		got = append(got, fmt.Sprintf("%s:%d", s.Value, s.Rows))
	}
	if strings.Join(got, " ") != "a:1 b:2 (missing):6" {
		t.Errorf("slices %v, want a:1 b:2 (missing):6", got)
	}
}

// TestParquetLabelErrors: a Parquet input's bad label is named by row.
func TestParquetLabelErrors(t *testing.T) {
	repo := repoWith(t, "binary")
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := score.NewParquetWriter(f, []string{"f0", "f1", "f2", "f3", "f4", "f5", "y"})
	if err != nil {
		t.Fatal(err)
	}
	rows := []float64{
		1, 2, 3, 4, 5, 6, 1,
		1, 2, 3, 4, 5, 6, 0,
		1, 2, 3, 4, 5, 6, math.NaN(),
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Run(context.Background(), Options{Repo: repo, Model: "binary", In: path, Label: "y"})
	if err == nil || !strings.Contains(err.Error(), "in.parquet row 2") || !strings.Contains(err.Error(), `column "y"`) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("err %v, want one naming in.parquet row 2, column y, a missing label", err)
	}
}

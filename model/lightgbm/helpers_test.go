package lightgbm

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// fixtureDir is testdata/lightgbm: files LightGBM itself wrote, with its
// own predictions. A missing file fails the test naming it.
func fixtureDir(tb testing.TB) string {
	tb.Helper()
	return fixture.LightGBMDir(tb)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// mustParse parses a file's contents and returns the model's trees.
func mustParse(tb testing.TB, name string, data []byte) (*model.Imported, *model.Trees) {
	tb.Helper()
	imp, err := Parse(data)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", name, err)
	}
	tr, ok := imp.Model.(*model.Trees)
	if !ok {
		tb.Fatalf("Parse(%s): model is %T, want *model.Trees", name, imp.Model)
	}
	return imp, tr
}

// readTSV reads a tab-separated table of numbers, dropping the first skip
// columns of each row.
func readTSV(tb testing.TB, path string, skip int) [][]float64 {
	tb.Helper()
	var rows [][]float64
	for i, line := range strings.Split(strings.TrimSpace(string(readFile(tb, path))), "\n") {
		cols := strings.Fields(line)
		row := make([]float64, 0, len(cols))
		for _, c := range cols[skip:] {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				tb.Fatalf("%s line %d: %v", path, i+1, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

// predictRows runs each row through tr and returns its outputs, or its
// margins when raw is set.
func predictRows(tb testing.TB, tr *model.Trees, rows [][]float64, raw bool) [][]float64 {
	tb.Helper()
	per := tr.NumOutputs()
	if raw {
		per = tr.NumMargins()
	}
	var out [][]float64
	for _, r := range rows {
		if len(r) != tr.NumFeatures() {
			tb.Fatalf("row %v has %d values, model takes %d", r, len(r), tr.NumFeatures())
		}
		got := tr.Predict(nil, r, raw)
		if len(got) != per {
			tb.Fatalf("Predict(%v, raw=%v) gave %d values, want %d", r, raw, len(got), per)
		}
		out = append(out, got)
	}
	return out
}

// near reports whether got matches want to a relative error of rel, or an
// absolute error of 1e-12 when want is that near 0.
func near(got, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.Abs(want) < 1e-12 {
		return math.Abs(got-want) <= 1e-12
	}
	return math.Abs(got-want)/math.Max(math.Abs(want), 1e-300) <= rel
}

func sigmoid(scale, m float64) float64 { return 1 / (1 + math.Exp(-scale*m)) }

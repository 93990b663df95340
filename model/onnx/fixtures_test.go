package onnx

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

type fixtureCases struct {
	Cases []struct {
		Name       string   `json:"name"`
		Kind       string   `json:"kind"`
		Task       string   `json:"task"`
		Classes    int      `json:"classes"`
		Input      string   `json:"input"`
		Features   int      `json:"features"`
		Outputs    []string `json:"outputs"`
		RawOutputs []string `json:"raw_outputs"`
		Rows       int      `json:"rows"`
	} `json:"cases"`
	Errors []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
	} `json:"errors"`
}

func readCases(t testing.TB) fixtureCases {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("onnx", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs fixtureCases
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func readModel(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("onnx", name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parityBound is the relative error the brief allows against the float64
// numpy oracle. predictd computes in float64 from the float32 weights the
// file stores, as the oracle does, so the observed error is rounding in the
// order of summation (and the Scaler fold): see TestParity's log.
const parityBound = 1e-5

// TestParity compares predictions and margins on every fixture with the
// float64 numpy evaluation of the graph (testdata/gen/make_onnx_fixtures.py),
// and checks the manifest fields the import derives.
func TestParity(t *testing.T) {
	cs := readCases(t)
	if len(cs.Cases) < 7 {
		t.Fatalf("only %d onnx fixtures", len(cs.Cases))
	}
	for _, c := range cs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			imp, err := Parse(readModel(t, c.Name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(imp.Kind) != c.Kind || string(imp.Task) != c.Task || imp.Classes != c.Classes {
				t.Errorf("kind, task, classes = %s, %s, %d; want %s, %s, %d", imp.Kind, imp.Task, imp.Classes, c.Kind, c.Task, c.Classes)
			}
			if imp.Source.Format != "onnx" || imp.Source.Library != "predictd-fixtures" || imp.Source.LibraryVersion != "1" {
				t.Errorf("source = %+v", imp.Source)
			}
			if got := outputNames(imp.Outputs); strings.Join(got, ",") != strings.Join(c.Outputs, ",") {
				t.Errorf("outputs = %v, want %v", got, c.Outputs)
			}
			if got := outputNames(imp.RawOutputs); strings.Join(got, ",") != strings.Join(c.RawOutputs, ",") {
				t.Errorf("raw outputs = %v, want %v", got, c.RawOutputs)
			}
			in := fixture.ReadTable(t, fixture.Path("onnx", c.Name+".csv"))
			if len(imp.Features) != c.Features || len(in.Header) != c.Features {
				t.Fatalf("%d features, fixture has %d (%d columns)", len(imp.Features), c.Features, len(in.Header))
			}
			for i, f := range imp.Features {
				if in.Header[i] != f.Name {
					t.Fatalf("column %d is %q, model feature is %q", i, in.Header[i], f.Name)
				}
			}
			rows := in.Flat()
			for _, kind := range []string{"pred", "raw"} {
				table := fixture.ReadTable(t, fixture.Path("onnx", c.Name+"."+kind+".csv"))
				want := table.Flat()
				got := imp.Model.Predict(nil, rows, kind == "raw")
				if len(got) != len(want) || len(want) != c.Rows*len(c.Outputs) {
					t.Fatalf("%s: %d values, want %d", kind, len(got), len(want))
				}
				worst, at := 0.0, 0
				for i := range want {
					if e := fixture.RelErr(got[i], want[i]); e > worst {
						worst, at = e, i
					}
				}
				t.Logf("%s: max relative error %.3g (value %d: got %.17g, want %.17g)", kind, worst, at, got[at], want[at])
				if worst > parityBound {
					t.Errorf("%s value %d: got %.17g, want %.17g (relative error %.3g > %g)", kind, at, got[at], want[at], worst, parityBound)
				}
				checkTight(t, kind, table, got)
			}
		})
	}
}

// checkTight records how close the import really is: the brief's bound
// (1e-5) is far above what float64 evaluation of the same float32 weights
// gives. Every value matches to 1e-12 relative or, for values near zero
// where summation order and the Scaler fold (doc.go, "Scaler") show, to
// 1e-13 of the row's largest value.
func checkTight(t *testing.T, kind string, want fixture.Table, got []float64) {
	t.Helper()
	k := len(want.Header)
	for r, row := range want.Rows {
		scale := 0.0
		for _, v := range row {
			scale = max(scale, math.Abs(v))
		}
		for j, w := range row {
			g := got[r*k+j]
			if d := math.Abs(g - w); d > 1e-12*math.Abs(w) && d > 1e-13*scale {
				t.Errorf("%s row %d col %d: got %.17g, want %.17g", kind, r, j, g, w)
			}
		}
	}
}

func outputNames(outs []model.Output) []string {
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.Name
	}
	return names
}

// TestErrorFixtures checks the refusals the generator wrote as files.
func TestErrorFixtures(t *testing.T) {
	cs := readCases(t)
	if len(cs.Errors) == 0 {
		t.Fatal("no error fixtures")
	}
	for _, c := range cs.Errors {
		imp, err := Parse(readModel(t, c.Name))
		if err == nil || !strings.Contains(err.Error(), c.Error) {
			t.Errorf("Parse(%s) = %v, %v; want error containing %q", c.Name, imp, err, c.Error)
		}
	}
}

// TestPreparedParity holds the float32 serving path to the numpy float64
// oracle (fixture.CheckPreparedDense; 1e-5 is the brief's bound).
func TestPreparedParity(t *testing.T) {
	for _, c := range readCases(t).Cases {
		imp, err := Parse(readModel(t, c.Name))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		fixture.CheckPreparedDense(t, "onnx", c.Name, imp)
	}
}

package transform

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/table"
)

const oracleDir = "../../testdata/train/transform/"

func fp(x float64) *float64 { return &x }

// oracleFeatures mirrors the feature list of
// testdata/gen/train_transform_oracle.py.
func oracleFeatures() []Feature {
	num := func(name, col string, steps ...Step) Feature {
		return Feature{Name: name, Columns: []string{col}, Steps: steps}
	}
	enc := func(name string, e Encoding, cols ...string) Feature {
		return Feature{Name: name, Columns: cols, Encode: &e}
	}
	return []Feature{
		num("amount", "amount", Step{Op: OpImpute, Strategy: "median", Indicator: true}, Step{Op: OpLog1p}, Step{Op: OpStandardize}),
		num("income", "income", Step{Op: OpImpute, Strategy: "mean", Indicator: true}, Step{Op: OpMinMax}),
		num("age", "age", Step{Op: OpClip, Min: fp(18), Max: fp(90)}, Step{Op: OpStandardize}),
		num("age_bin", "age", Step{Op: OpBucketize, Bins: 4}),
		num("amount_bkt", "amount", Step{Op: OpBucketize, Edges: []float64{10, 100, 1000}}),
		num("income_c", "income", Step{Op: OpImpute, Strategy: "constant", Fill: -1}),
		enc("country", Encoding{Op: EncOneHot, MinFrequency: 5, Unknown: "infrequent"}, "country"),
		enc("device", Encoding{Op: EncOneHot, Unknown: "zeros"}, "device"),
		enc("country_ord", Encoding{Op: EncOrdinal, Unknown: "value", UnknownValue: -1}, "country"),
		enc("device_h", Encoding{Op: EncHash, Buckets: 8}, "device"),
		enc("cd", Encoding{Op: EncCross, Buckets: 16}, "country", "device"),
	}
}

func fitOracle(t testing.TB, chunkRows int) *Pipeline {
	t.Helper()
	return fitOracleFile(t, "train.csv", chunkRows)
}

func fitOracleFile(t testing.TB, file string, chunkRows int) *Pipeline {
	t.Helper()
	fr, err := NewFitter(oracleFeatures())
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.Open(oracleDir+file, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := fr.AddTable(r, chunkRows); err != nil {
		t.Fatal(err)
	}
	p, err := fr.Fit()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readMatrix(t *testing.T, path string) ([]string, [][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var m [][]float64
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			if row[j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		m = append(m, row)
	}
	return recs[0], m
}

func close12(got, want float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))
}

// TestOracleStats holds the fitted statistics to scikit-learn's within
// 1e-12 relative, and categories and edges exactly.
func TestOracleStats(t *testing.T) {
	p := fitOracle(t, 7)
	data, err := os.ReadFile(oracleDir + "stats.json")
	if err != nil {
		t.Fatal(err)
	}
	var w2 map[string]struct {
		Fill, Mean, Scale, Offset *float64
		Edges                     []float64
		Categories, Rare          []string
		Missing                   *bool
	}
	if err := json.Unmarshal(data, &w2); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Feature{}
	for i := range p.Features() {
		byName[p.Features()[i].Name] = &p.Features()[i]
	}
	checked := 0
	for name, w := range w2 {
		f := byName[name]
		if f == nil {
			t.Fatalf("no feature %s", name)
		}
		stat := func(what string, got float64, want *float64) {
			if want == nil {
				return
			}
			checked++
			if !close12(got, *want) {
				t.Errorf("%s %s = %v, want %v (sklearn)", name, what, got, *want)
			}
		}
		if e := f.Encode; e != nil {
			checked++
			if !slices.Equal(e.Categories, w.Categories) || !slices.Equal(e.Rare, w.Rare) {
				t.Errorf("%s categories %q rare %q, want %q %q", name, e.Categories, e.Rare, w.Categories, w.Rare)
			}
			if w.Missing != nil && e.Missing != *w.Missing {
				t.Errorf("%s missing = %v, want %v", name, e.Missing, *w.Missing)
			}
			continue
		}
		for _, s := range f.Steps {
			switch s.Op {
			case OpImpute:
				stat("fill", s.Fill, w.Fill)
			case OpStandardize:
				stat("mean", s.Mean, w.Mean)
				stat("scale", s.Scale, w.Scale)
			case OpMinMax:
				stat("scale", s.Scale, w.Scale)
				stat("offset", s.Offset, w.Offset)
			case OpBucketize:
				checked++
				if !slices.Equal(s.Edges, w.Edges) {
					t.Errorf("%s edges = %v, want %v (numpy.quantile)", name, s.Edges, w.Edges)
				}
			}
		}
	}
	if checked < 12 {
		t.Errorf("checked %d statistics, want at least 12", checked)
	}
}

// TestOracleMatrix holds Apply's output on the training rows and on test
// rows with unseen categories to scikit-learn's within 1e-12 relative,
// with the same column names, fitted on and applied to the CSV and its
// Parquet twin (DuckDB's, age as BIGINT).
func TestOracleMatrix(t *testing.T) {
	for _, ext := range []string{".csv", ".parquet"} {
		t.Run(ext, func(t *testing.T) { testOracleMatrix(t, ext) })
	}
}

// TestParquetFitEqualsCSV: the same rows as CSV and as Parquet give a
// byte-identical fitted pipeline.
func TestParquetFitEqualsCSV(t *testing.T) {
	a, err := fitOracleFile(t, "train.csv", 33).Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := fitOracleFile(t, "train.parquet", 33).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("CSV and Parquet fits differ:\n%s\n%s", a, b)
	}
}

func testOracleMatrix(t *testing.T, ext string) {
	p := fitOracleFile(t, "train"+ext, 64)
	for _, split := range []string{"train", "test"} {
		names, want := readMatrix(t, oracleDir+split+"_out.csv")
		if !slices.Equal(p.Names(), names) {
			t.Fatalf("Names() = %q\nwant %q", p.Names(), names)
		}
		r, err := table.Open(oracleDir+split+ext, table.Options{})
		if err != nil {
			t.Fatal(err)
		}
		idx, err := p.TableIndex(r)
		if err != nil {
			t.Fatal(err)
		}
		var c table.Chunk
		var row Row
		var out []float64
		i := 0
		for {
			n, err := r.Next(&c, 50)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for j := 0; j < n; j++ {
				if row, err = p.ChunkRow(row, &c, j, idx); err != nil {
					t.Fatal(err)
				}
				if out, err = p.Apply(out[:0], row); err != nil {
					t.Fatalf("%s: %v", c.Where(j), err)
				}
				for k := range out {
					if !close12(out[k], want[i][k]) {
						t.Errorf("%s%s row %d %s = %v, want %v (sklearn)", split, ext, i, names[k], out[k], want[i][k])
					}
				}
				i++
			}
		}
		r.Close()
		if i != len(want) {
			t.Errorf("%s: %d rows, want %d", split, i, len(want))
		}
	}
}

// TestFitRowsEqualsTable: the oracle's rows read into memory and fitted
// with FitRows give the bytes AddTable's fit gives.
func TestFitRowsEqualsTable(t *testing.T) {
	want, err := fitOracle(t, 10).Encode()
	if err != nil {
		t.Fatal(err)
	}
	fr, err := NewFitter(oracleFeatures())
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.Open(oracleDir+"train.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	idx, err := fr.p.TableIndex(r)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	var c table.Chunk
	for {
		n, err := r.Next(&c, 1000)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < n; j++ {
			row, err := fr.p.ChunkRow(nil, &c, j, idx)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, row)
		}
	}
	p, err := FitRows(oracleFeatures(), rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("FitRows encoding differs from AddTable's:\n%s\n%s", got, want)
	}
	if _, err := FitRows(oracleFeatures(), []Row{{Num(1)}}); err == nil || !strings.Contains(err.Error(), "row 0: transform: row has 1 values, want 5") {
		t.Errorf("FitRows(short row) = %v", err)
	}
}

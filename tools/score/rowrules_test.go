package score

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire"
)

// loadedLinear is linearModel as a loaded version of kind linear, without
// transforms.
func loadedLinear(t testing.TB) *model.Loaded {
	return &model.Loaded{
		Manifest: &model.Manifest{Name: "lin", Version: 1, Kind: model.KindLinear, Features: feats("x", "y", "z")},
		Model:    linearModel(t),
	}
}

// loadedStump is stumpModel as a loaded tree ensemble over x, y.
func loadedStump(t testing.TB) *model.Loaded {
	return &model.Loaded{
		Manifest: &model.Manifest{Name: "stump", Version: 1, Kind: model.KindTrees, Features: feats("x", "y")},
		Model:    stumpModel(t),
	}
}

func TestScoreModelFileDenseRefusesMissing(t *testing.T) {
	for _, cell := range []string{"", "  ", "NA", "NaN", "nan", "N/A", "null", "NAN"} {
		dir := t.TempDir()
		in := writeFileIn(t, dir, "in.csv", "x,y,z,id\n1,2,3,a\n\n4,5,6,b\n7,"+cell+",9,c\n")
		out := filepath.Join(dir, "out.csv")
		opts := linearOptions()
		opts.Features = nil
		_, err := ScoreModelFile(context.Background(), loadedLinear(t), opts, in, out)
		want := in + `:5: column "y": missing value; model kind linear takes no missing values (the server refuses null here too)`
		if err == nil || err.Error() != want {
			t.Errorf("cell %q: ScoreModelFile error = %s, want %s", cell, errString(err), want)
		}
		if !errors.Is(err, model.ErrMissingValue) {
			t.Errorf("cell %q: error %v does not wrap model.ErrMissingValue", cell, err)
		}
		if _, serr := os.Stat(out); !os.IsNotExist(serr) {
			t.Errorf("cell %q: output %s exists after the error (stat: %v)", cell, out, serr)
		}
	}
}

func writeFileIn(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// pqMissing is a Parquet input row with a nullable y.
type pqMissing struct {
	X float64  `parquet:"x"`
	Y *float64 `parquet:"y,optional"`
	Z float64  `parquet:"z"`
}

// writeParquetMissing writes n rows across row groups of 700 rows, y
// missing in row bad only (null, or NaN when nan is set).
func writeParquetMissing(t testing.TB, n, bad int, nan bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[pqMissing](f, parquet.MaxRowsPerRowGroup(700), parquet.PageBufferSize(1024))
	rows := make([]pqMissing, n)
	for i := range rows {
		y := float64(i % 5)
		rows[i] = pqMissing{X: float64(i), Y: &y, Z: 0.5}
		if i == bad {
			if nan {
				*rows[i].Y = math.NaN()
			} else {
				rows[i].Y = nil
			}
		}
	}
	_, err = w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path
}

func TestScoreModelFileDenseRefusesMissingParquet(t *testing.T) {
	for _, nan := range []bool{false, true} {
		in := writeParquetMissing(t, 2000, 1500, nan)
		out := filepath.Join(t.TempDir(), "out.parquet")
		opts := linearOptions()
		opts.Features = nil
		opts.BatchRows = 64
		_, err := ScoreModelFile(context.Background(), loadedLinear(t), opts, in, out)
		want := in + ` row 1500: column "y": missing value; model kind linear takes no missing values (the server refuses null here too)`
		if err == nil || err.Error() != want {
			t.Errorf("NaN %v: ScoreModelFile error = %s, want %s", nan, errString(err), want)
		}
	}
	// The rows before the bad one come out of Read, valid.
	r, closeIn, err := OpenModelInput(writeParquetMissing(t, 2000, 1500, false), loadedLinear(t))
	require.NoError(t, err)
	defer closeIn()
	got, err := readAll(r, 3, 256)
	if !errors.Is(err, model.ErrMissingValue) || len(got) != 1500*3 {
		t.Fatalf("readAll = %d values, %v; want %d values and a missing-value error", len(got), err, 1500*3)
	}
	for i := range 1500 {
		if w := []float64{float64(i), float64(i % 5), 0.5}; !sameFloats(got[i*3:i*3+3], w) {
			t.Fatalf("row %d = %v, want %v", i, got[i*3:i*3+3], w)
		}
	}
}

func TestScoreModelFileTreesTakeMissing(t *testing.T) {
	dir := t.TempDir()
	in := writeFileIn(t, dir, "in.csv", "y,x\n,1\n0,NA\nnull,\n-1,0.25\n")
	out := filepath.Join(dir, "out.csv")
	opts := DefaultOptions()
	opts.Outputs = []string{"p"}
	if _, err := ScoreModelFile(context.Background(), loadedStump(t), opts, in, out); err != nil {
		t.Fatalf("ScoreModelFile(trees, missing cells) = %v, want nil", err)
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	_, got := parseOutput(t, string(b))
	nan := math.NaN()
	want := []float64{stumpWant(1, nan), stumpWant(nan, 0), stumpWant(nan, nan), stumpWant(0.25, -1)}
	if len(got) != len(want) {
		t.Fatalf("%d output rows, want %d:\n%s", len(got), len(want), b)
	}
	for i := range want {
		if !sameFloats(got[i], want[i:i+1]) {
			t.Errorf("row %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestRowRulesMatchServer holds score's reader to the server's decoder: the
// same rows, as a CSV file and as a TF Serving request, decode to the same
// values bit for bit, or are refused by both: missing values by kind,
// numbers out of float64's range, and a categorical feature (z) that is not
// an integer.
func TestRowRulesMatchServer(t *testing.T) {
	cells := [][3]string{
		{"1", "2", "3"},
		{"-0.5", "1e-300", "12345.678901234567"},
		{"0.1", "0.2", "0.30000000000000004"},
		{"-0", "5e-324", "1.7976931348623157e308"},
		{"", "2", "3"},
		{"1", "", "3"},
		{"1", "2", "null"},
		{"1e400", "2", "3"},
		{"1", "-1e400", "3"},
		{"1", "1e-400", "3"},
		{"1", "2", "2.5"},
		{"1", "2", "-7"},
		{"1", "2", "4e15"},
	}
	refused := 0
	for run := range 6 {
		kind, categorical := []model.Kind{model.KindLinear, model.KindMLP, model.KindTrees}[run/2], run%2 == 1
		for _, c := range cells {
			if sameRow(t, kind, categorical, c) {
				refused++
			}
		}
	}
	// For each kind, z plain and z categorical: 3 missing-value rows
	// (dense kinds), 2 out of range; z categorical: 3 non-integer z.
	if want := 2*(3*2+2*3) + 3*3; refused != want {
		t.Errorf("%d rows refused by both, want %d", refused, want)
	}
}

// FuzzRowRulesMatchServer is TestRowRulesMatchServer over any three cells
// that are JSON number literals or null (or blank, sent as null).
func FuzzRowRulesMatchServer(f *testing.F) {
	f.Add("1", "", "2.5", uint8(0))
	f.Add("1e400", "-0", "null", uint8(5))
	f.Add("0.1", "5e-324", "4e15", uint8(3))
	f.Fuzz(func(t *testing.T, x, y, z string, run uint8) {
		c := [3]string{x, y, z}
		for _, v := range c {
			if v == "" || v == "null" {
				continue
			}
			// A JSON number literal, which the CSV reader takes as it is.
			if !json.Valid([]byte(v)) || strings.ContainsAny(v, " \t\r\n") || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
				return
			}
		}
		kind := []model.Kind{model.KindLinear, model.KindMLP, model.KindTrees}[int(run)%3]
		sameRow(t, kind, run&8 != 0, c)
	})
}

// sameRow checks one row of x, y, z (z categorical when categorical is
// set) through score's reader (a CSV file, through OpenModelInput) and
// wire's decoder (a TF Serving request; a blank cell is sent as null):
// both refuse it, or both decode the same values. It reports whether both
// refused.
func sameRow(t *testing.T, kind model.Kind, categorical bool, c [3]string) bool {
	t.Helper()
	l := loadedLinear(t)
	l.Manifest.Kind = kind
	if categorical {
		l.Manifest.Features[2].Type = model.FeatureCategorical
	}
	csvText := "x,y,z\n" + strings.Join(c[:], ",") + "\n"
	var js []string
	for i, name := range []string{"x", "y", "z"} {
		v := c[i]
		if v == "" {
			v = "null"
		}
		js = append(js, `"`+name+`":`+v)
	}
	body := `{"instances":[{` + strings.Join(js, ",") + `}]}`

	in := writeFileIn(t, t.TempDir(), "in.csv", csvText)
	r, closeIn, err := OpenModelInput(in, l)
	require.NoError(t, err)
	got, fileErr := readAll(r, 3, 4)
	closeIn()

	req := wire.GetRequest()
	defer wire.PutRequest(req)
	srvErr := req.DecodePredict([]byte(body), wire.NewSchema(l.Manifest), wire.Limits{})
	switch {
	case (fileErr == nil) != (srvErr == nil):
		t.Errorf("kind %s, z categorical %v, row %q: score's reader says %v, the server's decoder %v; want both to accept or both to refuse", kind, categorical, c, fileErr, srvErr)
	case fileErr == nil && !sameBits(got, req.Rows):
		t.Errorf("kind %s, z categorical %v, row %q: score's reader gives %v, the server's decoder %v; want the same bits", kind, categorical, c, got, req.Rows)
	}
	return fileErr != nil && srvErr != nil
}

// sameBits compares bit for bit, except that any NaN (a missing value on
// both paths) equals any NaN.
func sameBits(a, b []float64) bool { return sameFloats(a, b) }

func TestScoreFileRefusesUnknownOutputFormat(t *testing.T) {
	dir := t.TempDir()
	in := writeFileIn(t, dir, "in.csv", "x,y,z\n1,2,3\n")
	for _, name := range []string{"x.json", "x", "x.csv.gz"} {
		out := filepath.Join(dir, name)
		opts := linearOptions()
		opts.Features = nil
		_, err := ScoreModelFile(context.Background(), loadedLinear(t), opts, in, out)
		if err == nil || !strings.Contains(err.Error(), "output "+out+": unknown format") || !strings.Contains(err.Error(), "want a .csv or .parquet file") {
			t.Errorf("ScoreModelFile(out %s) error = %s, want it to name the file and ask for .csv or .parquet", name, errString(err))
		}
		if _, serr := os.Stat(out); !os.IsNotExist(serr) {
			t.Errorf("output %s exists after the error (stat: %v)", out, serr)
		}
	}
	for _, name := range []string{"x.CSV", "x.parquet"} {
		opts := linearOptions()
		opts.Features = nil
		if _, err := ScoreModelFile(context.Background(), loadedLinear(t), opts, in, filepath.Join(dir, name)); err != nil {
			t.Errorf("ScoreModelFile(out %s) = %v, want nil", name, err)
		}
	}
}

func TestScoreModelFileRefusesWhatServerRefuses(t *testing.T) {
	for _, c := range []struct{ cells, want string }{
		{"inf,2,3", `:3: column "x": inf is not a finite number (the server refuses it too)`},
		{"1, -1e400 ,3", `:3: column "y": -1e400 is not a finite number (the server refuses it too)`},
		{"1,2,0.5", `:3: column "z": 0.5 is not a category: a categorical feature takes integer values (the server refuses it too)`},
	} {
		dir := t.TempDir()
		in := writeFileIn(t, dir, "in.csv", "x,y,z\n1,2,3\n"+c.cells+"\n")
		l := loadedLinear(t)
		l.Manifest.Features[2].Type = model.FeatureCategorical
		opts := linearOptions()
		opts.Features = nil
		_, err := ScoreModelFile(context.Background(), l, opts, in, filepath.Join(dir, "out.csv"))
		if err == nil || err.Error() != in+c.want {
			t.Errorf("row %q: ScoreModelFile error = %s, want %s", c.cells, errString(err), in+c.want)
		}
	}
}

// TestScoreModelFileParquetRules: a Parquet file's values are held to the
// same rules as a CSV file's, the error naming the row (from 0).
func TestScoreModelFileParquetRules(t *testing.T) {
	for _, c := range []struct {
		bad  pqMissing
		want string
	}{
		{pqMissing{X: math.Inf(1), Z: 1}, ` row 2: column "x": +Inf is not a finite number (the server refuses it too)`},
		{pqMissing{X: 1, Z: 1.5}, ` row 2: column "z": 1.5 is not a category: a categorical feature takes integer values (the server refuses it too)`},
	} {
		path := filepath.Join(t.TempDir(), "in.parquet")
		y := 1.0
		c.bad.Y = &y
		rows := []pqMissing{{X: 1, Y: &y, Z: 2}, {X: 2, Y: &y, Z: 3}, c.bad, {X: 3, Y: &y, Z: 4}}
		require.NoError(t, parquet.WriteFile(path, rows))
		l := loadedLinear(t)
		l.Manifest.Features[2].Type = model.FeatureCategorical
		opts := linearOptions()
		opts.Features = nil
		_, err := ScoreModelFile(context.Background(), l, opts, path, filepath.Join(t.TempDir(), "out.csv"))
		if err == nil || err.Error() != path+c.want {
			t.Errorf("row %+v: ScoreModelFile error = %s, want %s", c.bad, errString(err), path+c.want)
		}
	}
}

package score

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// The transformed versions' raw inputs: amount (standardized, not imputed:
// missing stays NaN), age (mean-imputed with an indicator, then minmax),
// country (onehot, an unseen category is an error; the missing category
// was seen in training) and device (hashed into 4 columns).
var transformSpec = []transform.Feature{
	{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpStandardize}}},
	{Name: "age", Columns: []string{"age"}, Steps: []transform.Step{{Op: transform.OpImpute, Strategy: "mean", Indicator: true}, {Op: transform.OpMinMax}}},
	{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot}},
	{Name: "device", Columns: []string{"device"}, Encode: &transform.Encoding{Op: transform.EncHash, Buckets: 4}},
}

func fitTransform(t testing.TB) *transform.Pipeline {
	t.Helper()
	rows := []transform.Row{
		{transform.Num(10), transform.Num(30), transform.Str("DE"), transform.Str("ios")},
		{transform.Num(-4.5), transform.Value{}, transform.Str("US"), transform.Str("android")},
		{transform.Num(250), transform.Num(61), transform.Value{}, transform.Value{}},
		{transform.Num(0.25), transform.Num(18), transform.Str("US"), transform.Str("web, desktop")},
	}
	p, err := transform.FitRows(transformSpec, rows)
	require.NoError(t, err)
	return p
}

// writeTransformed writes imp with the test's fitted transforms as model
// name in a fresh repository and opens it.
func writeTransformed(t testing.TB, name string, kind model.Kind, pred model.Predictor) *model.Loaded {
	t.Helper()
	p := fitTransform(t)
	cols := make([]model.Feature, p.Width())
	for i, n := range p.Names() {
		cols[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	outs, raw := model.DefaultOutputs(model.TaskRegression, 1, model.LinkIdentity)
	imp := &model.Imported{
		Kind: kind, Task: model.TaskRegression, Features: cols, Outputs: outs, RawOutputs: raw,
		Source: model.Source{Format: "predictd-train", File: "spec.yaml", SHA256: "00"}, Model: pred,
	}
	repo := t.TempDir()
	_, _, err := model.Write(repo, name, imp, model.WriteOptions{Transform: p})
	require.NoError(t, err)
	l, err := model.Open(repo, name, 0)
	require.NoError(t, err)
	require.NotNil(t, l.Transform)
	return l
}

// transformedLinear is a linear version over the transform's columns with
// weights that are not dyadic, so rounding differences would show.
func transformedLinear(t testing.TB) *model.Loaded {
	t.Helper()
	w := fitTransform(t).Width()
	d := &model.Dense{Layers: []model.Layer{{In: w, Out: 1, Weights: make([]float64, w), Bias: []float64{0.1}, Activation: kernels.ActIdentity}}, Link: model.LinkIdentity}
	for i := range d.Layers[0].Weights {
		d.Layers[0].Weights[i] = 0.3 + float64(i)/7
	}
	return writeTransformed(t, "lin", model.KindLinear, d)
}

// transformedTrees is a tree version built directly over the transform's
// columns (amount, age, age_missing, country=DE, country=US,
// country=NaN, device#0..3): tree 0 splits amount at 0 (missing goes
// right), tree 1 country=US at 0.5, tree 2 age_missing at 0.5.
func transformedTrees(t testing.TB) *model.Loaded {
	t.Helper()
	p := fitTransform(t)
	col := func(name string) int {
		for i, n := range p.Names() {
			if n == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, p.Names())
		return -1
	}
	f := kernels.Forest{NumFeatures: p.Width(), Base: []float64{0.5}, Compare: kernels.LessEqFloat64}
	for i, s := range []struct {
		col        string
		at, lo, hi float64
	}{{"amount", 0, -1.25, 3}, {"country=US", 0.5, 0.125, 7}, {"age_missing", 0.5, 0, 100}} {
		require.NoError(t, model.AppendTree(&f, []model.SourceNode{
			{Feature: col(s.col), Value: s.at, Left: 1, Right: 2},
			{Leaf: true, Value: s.lo},
			{Leaf: true, Value: s.hi},
		}, 0, 0), "tree %d", i)
	}
	tr := &model.Trees{Forest: f, Link: model.LinkIdentity, Scale: 1, Divide: 1}
	require.NoError(t, tr.Validate())
	return writeTransformed(t, "trees", model.KindTrees, tr)
}

// rawRow is one raw input row as the test writes it; nil is missing.
type rawRow struct {
	amount  *float64
	age     *int64
	country *string
	device  *string
}

func (r rawRow) values() transform.Row {
	row := make(transform.Row, 4)
	if r.amount != nil {
		row[0] = transform.Num(*r.amount)
	}
	if r.age != nil {
		row[1] = transform.Num(float64(*r.age))
	}
	if r.country != nil {
		row[2] = transform.Str(*r.country)
	}
	if r.device != nil {
		row[3] = transform.Str(*r.device)
	}
	return row
}

// rawRows is n rows with every kind of value: amounts with fractions and
// exponents, missing ages (and, when missingAmount, missing amounts),
// missing countries, devices with commas, quotes and a newline.
func rawRows(n int, missingAmount bool) []rawRow {
	countries := []string{"DE", "US", "US"}
	devices := []string{"ios", "android", `web, "desktop"`, "tv\nbox", "ios "}
	rows := make([]rawRow, n)
	for i := range rows {
		a := float64(i%97)*1.37 - 40.1
		if i%11 == 0 {
			a = float64(i) * 1e-7
		}
		age := int64(18 + i%60)
		c, d := countries[i%3], devices[i%5]
		r := rawRow{amount: &a, age: &age, country: &c, device: &d}
		if missingAmount && i%13 == 5 {
			r.amount = nil
		}
		if i%7 == 3 {
			r.age = nil
		}
		if i%17 == 9 {
			r.country = nil
		}
		if i%19 == 2 {
			r.device = nil
		}
		rows[i] = r
	}
	return rows
}

// csvCell quotes s as encoding/csv would need it.
func csvCell(s string) string {
	if strings.ContainsAny(s, ",\"\n ") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// writeRawCSV writes rows with columns shuffled and one the model ignores;
// a missing value is a blank cell.
func writeRawCSV(t testing.TB, dir string, rows []rawRow) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("device,id,age,country,amount\n")
	for i, r := range rows {
		var cells [5]string
		if r.device != nil {
			cells[0] = csvCell(*r.device)
		}
		cells[1] = "r" + strconv.Itoa(i)
		if r.age != nil {
			cells[2] = strconv.FormatInt(*r.age, 10)
		}
		if r.country != nil {
			cells[3] = *r.country
		}
		if r.amount != nil {
			cells[4] = strconv.FormatFloat(*r.amount, 'g', -1, 64)
		}
		b.WriteString(strings.Join(cells[:], ",") + "\n")
	}
	path := filepath.Join(dir, "raw.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

type rawParquet struct {
	ID      string   `parquet:"id"`
	Country *string  `parquet:"country,optional"`
	Amount  *float64 `parquet:"amount,optional"`
	Age     *int64   `parquet:"age,optional"`
	Device  *string  `parquet:"device,optional"`
}

// writeRawParquet writes rows in small row groups and pages, so that
// chunks cross both; a missing value is a null.
func writeRawParquet(t testing.TB, dir string, rows []rawRow) string {
	t.Helper()
	return writeRawParquetGroups(t, dir, rows, 300, 512)
}

// writeRawParquetGroups writes rows in row groups of groupRows rows and
// pages of about pageBytes.
func writeRawParquetGroups(t testing.TB, dir string, rows []rawRow, groupRows int64, pageBytes int) string {
	t.Helper()
	path := filepath.Join(dir, "raw.parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[rawParquet](f, parquet.MaxRowsPerRowGroup(groupRows), parquet.PageBufferSize(pageBytes))
	pr := make([]rawParquet, len(rows))
	for i, r := range rows {
		pr[i] = rawParquet{ID: "r" + strconv.Itoa(i), Country: r.country, Amount: r.amount, Age: r.age, Device: r.device}
	}
	_, err = w.Write(pr)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path
}

// transformOracle predicts rows one at a time, as serving does: the raw
// values through model.TransformRow, then the version's Predict.
func transformOracle(t testing.TB, l *model.Loaded, rows []rawRow) []float64 {
	t.Helper()
	var want []float64
	for i, r := range rows {
		x, err := model.TransformRow(nil, l.Transform, l.Manifest.Kind == model.KindTrees, r.values())
		require.NoError(t, err, "row %d", i)
		want = l.Model.Predict(want, x, false)
	}
	return want
}

// collectRows is a RowWriter keeping every value.
type collectRows struct{ out []float64 }

func (c *collectRows) Write(v []float64) error { c.out = append(c.out, v...); return nil }
func (c *collectRows) Close() error            { return nil }

// hideType hides a RowReader's type from Score, so that it calls Read on
// its reader goroutine instead of transforming on the workers.
type hideType struct{ r RowReader }

func (h hideType) Read(dst []float64) (int, error) { return h.r.Read(dst) }

func transformOptions(l *model.Loaded) Options {
	o := DefaultOptions()
	o.Features = l.Manifest.Columns()
	o.Outputs = []string{"value"}
	o.BatchRows, o.Workers = 64, 3
	return o
}

// TestScoreTransformedSameAsServing: a CSV and the same rows as Parquet,
// read by OpenModelInput and scored by Score (transforms on the workers
// and, with the reader's type hidden, on the reader goroutine) and by
// ScoreModelFile (CSV out), give the predictions of model.TransformRow and
// Predict row by row, bit for bit.
func TestScoreTransformedSameAsServing(t *testing.T) {
	for _, tc := range []struct {
		name          string
		l             *model.Loaded
		missingAmount bool
	}{
		{"linear", transformedLinear(t), false},
		{"trees", transformedTrees(t), true},
	} {
		rows := rawRows(1000, tc.missingAmount)
		want := transformOracle(t, tc.l, rows)
		dir := t.TempDir()
		for _, in := range []string{writeRawCSV(t, dir, rows), writeRawParquet(t, dir, rows)} {
			for _, hide := range []bool{false, true} {
				r, closeIn, err := OpenModelInput(in, tc.l)
				require.NoError(t, err)
				var rr RowReader = r
				if hide {
					rr = hideType{r}
				}
				var c collectRows
				st, err := Score(context.Background(), tc.l.Model, transformOptions(tc.l), rr, &c)
				closeIn()
				require.NoError(t, err, "%s %s hidden=%v", tc.name, in, hide)
				if st.Rows != int64(len(rows)) || !sameFloats(c.out, want) {
					t.Errorf("%s: Score(%s, hidden reader %v): %d rows, predictions differ from TransformRow+Predict\ngot  %v\nwant %v", tc.name, filepath.Base(in), hide, st.Rows, head(c.out), head(want))
				}
			}
			out := filepath.Join(dir, "out.csv")
			opts := transformOptions(tc.l)
			opts.Features = nil
			st, err := ScoreModelFile(context.Background(), tc.l, opts, in, out)
			require.NoError(t, err)
			text, err := os.ReadFile(out)
			require.NoError(t, err)
			header, got := parseOutput(t, string(text))
			var flat []float64
			for _, r := range got {
				flat = append(flat, r...)
			}
			if st.Rows != int64(len(rows)) || strings.Join(header, ",") != "value" || !sameFloats(flat, want) {
				t.Errorf("%s: ScoreModelFile(%s): %d rows, header %v, predictions differ from TransformRow+Predict\ngot  %v\nwant %v", tc.name, filepath.Base(in), st.Rows, header, head(flat), head(want))
			}
		}
	}
}

func head(x []float64) []float64 { return x[:min(len(x), 8)] }

// TestOpenModelInputRead: OpenModelInput's Read, asked for a few rows at a
// time (across its chunks), yields the rows TransformRow gives.
func TestOpenModelInputRead(t *testing.T) {
	l := transformedTrees(t)
	rows := rawRows(2500, true)
	var want []float64
	for _, r := range rows {
		var err error
		want, err = model.TransformRow(want, l.Transform, true, r.values())
		require.NoError(t, err)
	}
	in := writeRawCSV(t, t.TempDir(), rows)
	r, closeIn, err := OpenModelInput(in, l)
	require.NoError(t, err)
	defer closeIn()
	got, err := readAll(r, len(l.Manifest.Columns()), 7)
	require.NoError(t, err)
	if !sameFloats(got, want) {
		t.Errorf("Read(%s) gives %d values, want the %d TransformRow gives (first %v, want %v)", in, len(got), len(want), head(got), head(want))
	}
}

// TestOpenModelInputPlainVersion: for a version without transforms,
// OpenModelInput reads as OpenInput and ScoreModelFile scores as ScoreFile
// (on rows without missing values, which this dense version refuses; see
// TestScoreModelFileDenseRefusesMissing).
func TestOpenModelInputPlainVersion(t *testing.T) {
	outs, raw := model.DefaultOutputs(model.TaskRegression, 1, model.LinkIdentity)
	d := &model.Dense{Layers: []model.Layer{{In: 3, Out: 1, Weights: []float64{2, -1, 0.5}, Bias: []float64{1}, Activation: kernels.ActIdentity}}, Link: model.LinkIdentity}
	imp := &model.Imported{
		Kind: model.KindLinear, Task: model.TaskRegression, Features: feats("x", "y", "z"), Outputs: outs, RawOutputs: raw,
		Source: model.Source{Format: "native-json", File: "m.json", SHA256: "00"}, Model: d,
	}
	repo := t.TempDir()
	_, _, err := model.Write(repo, "plain", imp, model.WriteOptions{})
	require.NoError(t, err)
	l, err := model.Open(repo, "plain", 0)
	require.NoError(t, err)
	inPath := writeFile(t, "in.csv", string(linearInput(300)))
	opts := DefaultOptions()
	opts.Outputs = []string{outs[0].Name}
	outA, outB := filepath.Join(t.TempDir(), "a.csv"), filepath.Join(t.TempDir(), "b.csv")
	_, err = ScoreModelFile(context.Background(), l, opts, inPath, outA)
	require.NoError(t, err)
	opts.Features = l.Manifest.Features
	_, err = ScoreFile(context.Background(), l.Model, opts, inPath, outB)
	require.NoError(t, err)
	a, _ := os.ReadFile(outA)
	b, _ := os.ReadFile(outB)
	if string(a) != string(b) || len(a) == 0 {
		t.Errorf("ScoreModelFile and ScoreFile of a plain version differ:\n%.200s\nvs\n%.200s", a, b)
	}
	r, closeIn, err := OpenModelInput(inPath, l)
	require.NoError(t, err)
	defer closeIn()
	if _, ok := r.(*CSVReader); !ok {
		t.Errorf("OpenModelInput(%s) of a plain version is a %T, want OpenInput's *CSVReader", inPath, r)
	}
}

// TestScoreTransformedErrors: each bad input is refused naming the file,
// the row (CSV physical line, Parquet row) and the column, through
// ScoreModelFile (transforms on the workers, errors in input order) and
// through Read.
func TestScoreTransformedErrors(t *testing.T) {
	lin := transformedLinear(t)
	header := "amount,age,country,device\n"
	good := "1.5,30,DE,ios\n"
	many := strings.Repeat(good, 200) // the bad row sits after several chunks
	for _, tc := range []struct {
		name, in string
		want     string
		is       error
	}{
		{"missing amount", header + good + ",30,DE,ios\n", `in.csv:3: column amount: missing value; the model takes none`, model.ErrMissingValue},
		{"NA amount", header + many + "NA,30,US,ios\n", `in.csv:202: column amount: missing value`, model.ErrMissingValue},
		{"unknown category", header + good + good + "2,40,FR,ios\n", `in.csv:4: column country: unknown category "FR"`, transform.ErrUnknownCategory},
		{"after a quoted newline", header + "1,30,DE,\"tv\nbox\"\n" + "1,30,XX,ios\n", `in.csv:4: column country: unknown category "XX"`, transform.ErrUnknownCategory},
		{"not a number", header + good + "abc,30,DE,ios\n", `in.csv:3: column "amount": "abc" is not a finite number`, nil},
		{"infinite", header + good + "1,inf,DE,ios\n", `in.csv:3: column "age": "inf" is not a finite number`, nil},
		{"missing columns", "amount,country,x\n1,DE,2\n", `in.csv: missing columns the model needs: age, device`, nil},
		{"field count", header + good + "1,30\n", `in.csv:3: a record of 2 fields, want 4`, nil},
		{"bad value before a malformed record", header + many + "1,30,FR,ios\n" + good + "1,30\n", `in.csv:202: column country: unknown category "FR"`, transform.ErrUnknownCategory},
		{"missing value before a bad quote", header + good + ",30,DE,ios\n" + "1,30,DE,x\"y\n", `in.csv:3: column amount: missing value`, model.ErrMissingValue},
		{"first error in input order", header + many + ",30,DE,ios\n" + many + "1,30,FR,ios\n", `in.csv:202: column amount: missing value`, model.ErrMissingValue},
	} {
		in := writeFile(t, "in.csv", tc.in)
		check := func(how string, err error) {
			t.Helper()
			msg := strings.ReplaceAll(errString(err), filepath.Dir(in)+string(filepath.Separator), "")
			if !strings.HasPrefix(msg, tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("%s: %s(%q) = %q, want it to start %q (and wrap %v)", tc.name, how, tc.in, msg, tc.want, tc.is)
			}
		}
		opts := transformOptions(lin)
		opts.Features = nil
		_, err := ScoreModelFile(context.Background(), lin, opts, in, filepath.Join(t.TempDir(), "out.csv"))
		check("ScoreModelFile", err)
		r, closeIn, err := OpenModelInput(in, lin)
		if err != nil {
			check("OpenModelInput", err)
			continue
		}
		_, err = readAll(r, len(lin.Manifest.Columns()), 5)
		closeIn()
		check("Read", err)
	}
}

// TestScoreTransformedParquetErrors: a Parquet row's error names the row,
// counted from 0.
func TestScoreTransformedParquetErrors(t *testing.T) {
	lin := transformedLinear(t)
	rows := rawRows(40, false)
	rows[33].amount = nil
	fr := "FR"
	rows[35].country = &fr
	in := writeRawParquet(t, t.TempDir(), rows)
	opts := transformOptions(lin)
	opts.Features, opts.BatchRows = nil, 8
	_, err := ScoreModelFile(context.Background(), lin, opts, in, filepath.Join(t.TempDir(), "out.csv"))
	want := in + " row 33: column amount: missing value"
	if !strings.HasPrefix(errString(err), want) || !errors.Is(err, model.ErrMissingValue) {
		t.Errorf("ScoreModelFile(%s) = %v, want it to start %q", in, err, want)
	}
}

// TestOpenModelInputRefusals: standard input, an unknown extension and
// Features other than the model's columns are refused, saying why.
func TestOpenModelInputRefusals(t *testing.T) {
	lin := transformedLinear(t)
	_, _, err := OpenModelInput("-", lin)
	if want := "input -: model lin v1 transforms its raw inputs"; !strings.HasPrefix(errString(err), want) {
		t.Errorf("OpenModelInput(-) = %v, want it to start %q", err, want)
	}
	in := writeFile(t, "in.txt", "amount\n1\n")
	_, _, err = OpenModelInput(in, lin)
	if want := "want a .csv or .parquet file"; !strings.Contains(errString(err), want) {
		t.Errorf("OpenModelInput(%s) = %v, want it to say %q", in, err, want)
	}
	opts := transformOptions(lin)
	opts.Features = lin.Manifest.Features // the raw inputs, not the columns
	_, err = ScoreModelFile(context.Background(), lin, opts, writeFile(t, "in.csv", "amount,age,country,device\n1,2,DE,x\n"), filepath.Join(t.TempDir(), "o.csv"))
	if want := fmt.Sprintf("score options: Features lists 4 features (%s), model lin v1 takes its %d columns", quoteList(featureNames(lin.Manifest.Features)), len(lin.Manifest.Columns())); !strings.HasPrefix(errString(err), want) {
		t.Errorf("ScoreModelFile with the raw Features = %v, want it to start %q", err, want)
	}
}

// TestScoreTransformedMissingNaNTrees: a tree version takes a missing
// amount as NaN (routed by the trees), where a linear one refuses it.
func TestScoreTransformedMissingNaNTrees(t *testing.T) {
	tr := transformedTrees(t)
	in := writeFile(t, "in.csv", "amount,age,country,device\n,,,\n")
	r, closeIn, err := OpenModelInput(in, tr)
	require.NoError(t, err)
	defer closeIn()
	got, err := readAll(r, len(tr.Manifest.Columns()), 4)
	require.NoError(t, err)
	want, err := model.TransformRow(nil, tr.Transform, true, transform.Row{{}, {}, {}, {}})
	require.NoError(t, err)
	if !math.IsNaN(got[0]) || !sameFloats(got, want) {
		t.Errorf("Read(a row of blank cells) = %v, want %v (amount NaN)", got, want)
	}
}

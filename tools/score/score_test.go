package score

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// writeFile writes content to name in a fresh temporary folder and returns
// its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// orderInput is n rows whose x is the row number, so every output row says
// which input row it came from. Columns are shuffled and padded with one
// the model ignores; every 10th row misses y.
func orderInput(n int) (string, [][3]float64) {
	var b strings.Builder
	b.WriteString("z,id,y,x\n")
	rows := make([][3]float64, n)
	for i := range n {
		x, y, z := float64(i), float64(i%7-3), float64(i%5)/4
		ycell := strconv.FormatFloat(y, 'g', -1, 64)
		if i%10 == 0 {
			y, ycell = math.NaN(), "NA"
		}
		rows[i] = [3]float64{x, y, z}
		fmt.Fprintf(&b, "%g,row%d,%s,%g\n", z, i, ycell, x)
	}
	return b.String(), rows
}

// parseOutput reads a CSV output into its header and rows of floats.
func parseOutput(t testing.TB, text string) ([]string, [][]float64) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var rows [][]float64
	for _, l := range lines[1:] {
		var row []float64
		for c := range strings.SplitSeq(l, ",") {
			v, err := strconv.ParseFloat(c, 64)
			require.NoError(t, err, "output line %q", l)
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return strings.Split(lines[0], ","), rows
}

func TestScoreFileOrder(t *testing.T) {
	const n = 5000
	in, rows := orderInput(n)
	inPath := writeFile(t, "input.csv", in)
	p := linearModel(t)
	for _, workers := range []int{1, 4} {
		for _, batch := range []int{3, 1024} {
			t.Run(fmt.Sprintf("workers=%d/batch=%d", workers, batch), func(t *testing.T) {
				opts := linearOptions()
				opts.Workers, opts.BatchRows = workers, batch
				outPath := filepath.Join(t.TempDir(), "out.csv")
				st, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
				require.NoError(t, err)
				if st.Rows != n {
					t.Errorf("Stats.Rows = %d, want %d", st.Rows, n)
				}
				out, err := os.ReadFile(outPath)
				require.NoError(t, err)
				header, got := parseOutput(t, string(out))
				require.Equal(t, []string{"sum", "diff"}, header)
				require.Len(t, got, n)
				for i, r := range rows {
					sum, diff := linearWant(r[0], r[1], r[2])
					if !sameFloats(got[i], []float64{sum, diff}) {
						t.Fatalf("output row %d (input x=%v y=%v z=%v) = %v, want [%v %v]", i, r[0], r[1], r[2], got[i], sum, diff)
					}
				}
			})
		}
	}
}

// stumpModel is a real tree ensemble of two stumps over (x, y): tree 0 adds
// -1 if x <= 0.5 (missing goes left) else 2; tree 1 adds 10 if y <= 0
// (missing goes right) else 20. LightGBM comparison, identity link.
func stumpModel(t testing.TB) *model.Trees {
	t.Helper()
	f := kernels.Forest{NumFeatures: 2, Base: []float64{0.25}, Compare: kernels.LessEqFloat64}
	require.NoError(t, model.AppendTree(&f, []model.SourceNode{
		{Feature: 0, Value: 0.5, Left: 1, Right: 2, Flags: kernels.FlagDefaultLeft},
		{Leaf: true, Value: -1},
		{Leaf: true, Value: 2},
	}, 0, 0))
	require.NoError(t, model.AppendTree(&f, []model.SourceNode{
		{Leaf: true, Value: 10},
		{Feature: 1, Value: 0, Left: 0, Right: 2},
		{Leaf: true, Value: 20},
	}, 1, 0))
	tr := &model.Trees{Forest: f, Link: model.LinkIdentity, Scale: 1, Divide: 1}
	require.NoError(t, tr.Validate())
	return tr
}

func stumpWant(x, y float64) float64 {
	m := 0.25
	if math.IsNaN(x) || x <= 0.5 {
		m += -1
	} else {
		m += 2
	}
	if !math.IsNaN(y) && y <= 0 {
		m += 10
	} else {
		m += 20
	}
	return m
}

func TestScoreTrees(t *testing.T) {
	var in bytes.Buffer
	var want []float64
	in.WriteString("y,x\n")
	for i := range 3000 {
		x, y := float64(i%3)/2, float64(i%5-2)
		xs, ys := strconv.FormatFloat(x, 'g', -1, 64), strconv.FormatFloat(y, 'g', -1, 64)
		if i%4 == 0 {
			x, xs = math.NaN(), ""
		}
		if i%6 == 0 {
			y, ys = math.NaN(), "null"
		}
		fmt.Fprintf(&in, "%s,%s\n", ys, xs)
		want = append(want, stumpWant(x, y))
	}
	opts := Options{Features: feats("x", "y"), Outputs: []string{"score"}, Workers: 3, BatchRows: 7}
	r, err := NewCSVReader(&in, "input.csv", opts.Features)
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := NewCSVWriter(&out, opts.Outputs)
	require.NoError(t, err)
	st, err := Score(context.Background(), stumpModel(t), opts, r, w)
	require.NoError(t, err)
	require.EqualValues(t, len(want), st.Rows)
	_, got := parseOutput(t, out.String())
	for i := range want {
		if !sameFloats(got[i], want[i:i+1]) {
			t.Fatalf("row %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestScoreFileEmptyInput(t *testing.T) {
	p := linearModel(t)
	opts := linearOptions()
	dir := t.TempDir()
	for _, in := range []string{"x,y,z\n", "a,z,y,x"} {
		inPath := writeFile(t, "input.csv", in)
		outPath := filepath.Join(dir, "out.csv")
		st, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
		require.NoError(t, err)
		got, _ := os.ReadFile(outPath)
		if st.Rows != 0 || string(got) != "sum,diff\n" {
			t.Errorf("score %q = %d rows, output %q; want 0 rows, %q", in, st.Rows, got, "sum,diff\n")
		}
	}
}

func TestScoreFileOutputHeaderQuoting(t *testing.T) {
	opts := linearOptions()
	opts.Outputs = []string{"p(a,b)", `say "hi"`}
	inPath := writeFile(t, "input.csv", "x,y,z\n1,2,3\n")
	outPath := filepath.Join(t.TempDir(), "out.csv")
	_, err := ScoreFile(context.Background(), linearModel(t), opts, inPath, outPath)
	require.NoError(t, err)
	got, _ := os.ReadFile(outPath)
	want := "\"p(a,b)\",\"say \"\"hi\"\"\"\n" + "2.5,8\n"
	if string(got) != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// TestScoreFileNoPartialOutput fails in the middle of a long input and checks
// that nothing is left at outPath, that a file already there is untouched,
// and that no temporary file remains.
func TestScoreFileNoPartialOutput(t *testing.T) {
	in, _ := orderInput(20000)
	lines := strings.SplitAfter(in, "\n")
	lines[15000] = "1,bad,2,oops\n" // line 15001: x is "oops"
	inPath := writeFile(t, "input.csv", strings.Join(lines, ""))
	p := linearModel(t)
	opts := linearOptions()
	opts.Workers, opts.BatchRows = 4, 64
	want := `input.csv:15001: column "x": "oops" is not a number`
	for _, name := range []string{"out.csv", "out.parquet"} {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing=%v", name, existing), func(t *testing.T) {
				dir := t.TempDir()
				outPath := filepath.Join(dir, name)
				if existing {
					require.NoError(t, os.WriteFile(outPath, []byte("precious"), 0o600))
				}
				_, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
				if err == nil || !strings.HasSuffix(err.Error(), want) {
					t.Fatalf("ScoreFile error = %v, want one ending %q", err, want)
				}
				entries, _ := os.ReadDir(dir)
				if existing {
					got, _ := os.ReadFile(outPath)
					if string(got) != "precious" || len(entries) != 1 {
						t.Errorf("after the error the folder holds %v and %s holds %q; want only the untouched file", entries, name, got)
					}
				} else if len(entries) != 0 {
					t.Errorf("after the error the folder holds %v, want nothing", entries)
				}
			})
		}
	}
}

// TestScoreErrorsInInputOrder puts two errors in the input and checks that
// the earlier one is reported however the goroutines race.
func TestScoreErrorsInInputOrder(t *testing.T) {
	in, _ := orderInput(3000)
	lines := strings.SplitAfter(in, "\n")
	lines[9] = "1,r,2,zz\n"   // line 10: x is not a number; found by a worker
	lines[2499] = "1,2,3\n"   // line 2500: wrong field count; found by the reader
	lines[2800] = "\"1,2,3\n" // line 2801: unclosed quote; found by the reader
	inPath := writeFile(t, "input.csv", strings.Join(lines, ""))
	opts := linearOptions()
	opts.Workers, opts.BatchRows = 4, 3
	for range 20 {
		_, err := ScoreFile(context.Background(), linearModel(t), opts, inPath, filepath.Join(t.TempDir(), "out.csv"))
		want := inPath + `:10: column "x": "zz" is not a number`
		if errString(err) != want {
			t.Fatalf("error = %v, want %s", err, want)
		}
	}
	lines[9] = "0,r,1,2\n"
	inPath = writeFile(t, "input.csv", strings.Join(lines, ""))
	_, err := ScoreFile(context.Background(), linearModel(t), opts, inPath, filepath.Join(t.TempDir(), "out.csv"))
	if want := inPath + ":2500: row has 3 fields, the header has 4"; errString(err) != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestScoreFileCanceled(t *testing.T) {
	in, _ := orderInput(1000)
	inPath := writeFile(t, "input.csv", in)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	outPath := filepath.Join(t.TempDir(), "out.csv")
	_, err := ScoreFile(ctx, linearModel(t), linearOptions(), inPath, outPath)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ScoreFile with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(outPath); !os.IsNotExist(err) {
		t.Errorf("output exists after cancelation: %v", err)
	}
}

// slowModel cancels its context after a few batches.
type slowModel struct {
	model.Predictor
	calls  chan struct{}
	cancel context.CancelFunc
}

func (m *slowModel) Predict(dst, rows []float64, raw bool) []float64 {
	select {
	case m.calls <- struct{}{}:
	default:
		m.cancel()
	}
	return m.Predictor.Predict(dst, rows, raw)
}

func TestScoreCanceledMidway(t *testing.T) {
	in, _ := orderInput(50000)
	r, err := NewCSVReader(strings.NewReader(in), "input.csv", feats("x", "y", "z"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &slowModel{Predictor: linearModel(t), calls: make(chan struct{}, 5), cancel: cancel}
	opts := linearOptions()
	opts.Workers, opts.BatchRows = 2, 100
	var out bytes.Buffer
	w, err := NewCSVWriter(&out, opts.Outputs)
	require.NoError(t, err)
	st, err := Score(ctx, p, opts, r, w)
	if !errors.Is(err, context.Canceled) || st.Rows >= 50000 {
		t.Errorf("Score canceled midway = %d rows, %v; want fewer rows and context.Canceled", st.Rows, err)
	}
	// What was written is a prefix of the right output; the diff column,
	// -x + 3z with x the row number (NaN when y is missing), shows the order.
	_, got := parseOutput(t, out.String())
	if int64(len(got)) != st.Rows {
		t.Errorf("output has %d rows, Stats.Rows = %d", len(got), st.Rows)
	}
	for i, row := range got {
		if want := -float64(i) + 3*float64(i%5)/4; row[1] != want && i%10 != 0 {
			t.Fatalf("row %d = %v, want diff %v", i, row, want)
		}
	}
}

func TestScoreOptionErrors(t *testing.T) {
	p := linearModel(t)
	tests := []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.BatchRows = -1 }, "score options: BatchRows is -1, want a positive number (0 for the default)"},
		{func(o *Options) { o.Workers = -2 }, "score options: Workers is -2, want a positive number (0 for the default)"},
		{func(o *Options) { o.Features = nil }, "score options: Features is empty, want the model's input features"},
		{func(o *Options) { o.Features = feats("x", "y") }, "score options: Features lists 2 features, the model takes 3"},
		{func(o *Options) { o.Outputs = []string{"a"} }, "score options: Outputs names 1 columns, the model gives 2 outputs per row"},
		{func(o *Options) { o.Raw, o.Outputs = true, nil }, "score options: Outputs names 0 columns, the model gives 2 raw margins per row"},
		{func(o *Options) { o.Features = feats("x", "y", "x") }, `score options: Features names "x" twice`},
		{func(o *Options) { o.Outputs = []string{"a", ""} }, "score options: Outputs[1] has no name"},
	}
	inPath := writeFile(t, "input.csv", "x,y,z\n")
	for _, tt := range tests {
		opts := linearOptions()
		tt.edit(&opts)
		_, err := ScoreFile(context.Background(), p, opts, inPath, "-")
		if errString(err) != tt.want {
			t.Errorf("ScoreFile with %+v = %v, want %s", opts, err, tt.want)
		}
	}
}

func TestScoreFileInputErrors(t *testing.T) {
	p := linearModel(t)
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"in.txt", "x,y,z\n", "input %s: unknown format: want a .csv or .parquet file"},
		{"in.csv", "x,w\n", "%s: missing columns the model needs: y, z"},
		{"in.parquet", "not parquet at all", "%s: not a readable Parquet file: "},
	}
	for _, tt := range tests {
		inPath := filepath.Join(dir, tt.name)
		require.NoError(t, os.WriteFile(inPath, []byte(tt.content), 0o644))
		outPath := filepath.Join(dir, "out.csv")
		_, err := ScoreFile(context.Background(), p, linearOptions(), inPath, outPath)
		if want := fmt.Sprintf(tt.want, inPath); !strings.HasPrefix(errString(err), want) {
			t.Errorf("ScoreFile(%s) = %v, want %s", tt.name, err, want)
		}
		if _, err := os.Stat(outPath); !os.IsNotExist(err) {
			t.Errorf("ScoreFile(%s) left an output file", tt.name)
		}
	}
}

// TestScoreFileStdout scores to standard output, swapped for a pipe.
func TestScoreFileStdout(t *testing.T) {
	inPath := writeFile(t, "input.csv", "x,y,z\n1,2,3\n0.5,NA,-1\n")
	rd, wr, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = wr
	_, err = ScoreFile(context.Background(), linearModel(t), linearOptions(), inPath, "-")
	os.Stdout = stdout
	wr.Close()
	require.NoError(t, err)
	var got bytes.Buffer
	bufio.NewReader(rd).WriteTo(&got)
	if want := "sum,diff\n2.5,8\nNaN,NaN\n"; got.String() != want {
		t.Errorf("stdout = %q, want %q", got.String(), want)
	}
}

// TestScoreFileStdin reads CSV from standard input, swapped for a pipe.
func TestScoreFileStdin(t *testing.T) {
	rd, wr, err := os.Pipe()
	require.NoError(t, err)
	go func() {
		wr.WriteString("z,y,x\n3,2,1\n1,2,oops\n")
		wr.Close()
	}()
	stdin := os.Stdin
	os.Stdin = rd
	defer func() { os.Stdin = stdin }()
	_, err = ScoreFile(context.Background(), linearModel(t), linearOptions(), "-", filepath.Join(t.TempDir(), "out.csv"))
	if want := `stdin:3: column "x": "oops" is not a number`; errString(err) != want {
		t.Errorf("ScoreFile from stdin = %v, want %s", err, want)
	}
}

func TestReadersRejectRepeatedFeatures(t *testing.T) {
	_, err := NewCSVReader(strings.NewReader("x\n1\n"), "in.csv", feats("x", "x"))
	if want := `in.csv: the model lists feature "x" twice`; errString(err) != want {
		t.Errorf("NewCSVReader = %v, want %s", err, want)
	}
	_, err = NewParquetReader(strings.NewReader(""), 0, "in.parquet", feats("x", "x"))
	if want := `in.parquet: the model lists feature "x" twice`; errString(err) != want {
		t.Errorf("NewParquetReader = %v, want %s", err, want)
	}
}

// TestScoreRaw checks that Raw reaches Predict: a sigmoid link's margins
// come out untransformed.
func TestScoreRaw(t *testing.T) {
	d := linearModel(t)
	d.Link = model.LinkSigmoid
	require.NoError(t, d.Validate())
	for _, raw := range []bool{false, true} {
		opts := linearOptions()
		opts.Raw = raw
		r, err := NewCSVReader(strings.NewReader("x,y,z\n0,1,0\n"), "in.csv", opts.Features)
		require.NoError(t, err)
		var out bytes.Buffer
		w, _ := NewCSVWriter(&out, opts.Outputs)
		_, err = Score(context.Background(), d, opts, r, w)
		require.NoError(t, err)
		want := "sum,diff\n0.5,0.5\n" // sigmoid(0), sigmoid(0)
		if raw {
			want = "sum,diff\n0,0\n"
		}
		if out.String() != want {
			t.Errorf("raw=%v: output %q, want %q", raw, out.String(), want)
		}
	}
}

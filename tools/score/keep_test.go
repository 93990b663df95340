package score

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
)

func TestScoreKeepCSV(t *testing.T) {
	dir := t.TempDir()
	// ids with a comma, a quote, a leading space and a quoted newline, in
	// rows long enough to cross chunks of 2 rows.
	ids := []string{"a", "b,c", `say "hi"`, " lead", "two\nlines", "", "7"}
	var b strings.Builder
	b.WriteString("label,x,id,y,z\n")
	w := csv.NewWriter(&b)
	for i, id := range ids {
		require.NoError(t, w.Write([]string{"L" + strconv.Itoa(i), strconv.Itoa(i), id, "1", "2"}))
	}
	w.Flush()
	in := writeFileIn(t, dir, "in.csv", b.String())
	out := filepath.Join(dir, "out.csv")
	opts := linearOptions()
	opts.Features = nil
	opts.Keep = []string{"id", "label"}
	opts.BatchRows = 2
	st, err := ScoreModelFile(context.Background(), loadedLinear(t), opts, in, out)
	require.NoError(t, err)
	if st.Rows != int64(len(ids)) {
		t.Errorf("Stats.Rows = %d, want %d", st.Rows, len(ids))
	}
	text, err := os.ReadFile(out)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(text)).ReadAll()
	require.NoError(t, err, "output:\n%s", text)
	if want := []string{"id", "label", "sum", "diff"}; strings.Join(recs[0], "|") != strings.Join(want, "|") {
		t.Errorf("header = %q, want %q", recs[0], want)
	}
	if len(recs) != len(ids)+1 {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(ids)+1, text)
	}
	for i, id := range ids {
		sum, diff := linearWant(float64(i), 1, 2)
		want := []string{id, "L" + strconv.Itoa(i), strconv.FormatFloat(sum, 'g', -1, 64), strconv.FormatFloat(diff, 'g', -1, 64)}
		if strings.Join(recs[i+1], "|") != strings.Join(want, "|") {
			t.Errorf("row %d = %q, want %q", i, recs[i+1], want)
		}
	}
}

func TestScoreKeepParquet(t *testing.T) {
	// writeParquetInput's rows carry name (a string), flag (a boolean) and
	// u (an unsigned int) beside the features.
	in, rows := writeParquetInput(t, 1500)
	out := filepath.Join(t.TempDir(), "out.parquet")
	opts := linearOptions()
	opts.Keep = []string{"name", "u", "flag"}
	opts.BatchRows = 100
	_, err := ScoreFile(context.Background(), linearModel(t), opts, in, out)
	require.NoError(t, err)
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	pf, err := parquet.OpenFile(f, fi.Size())
	require.NoError(t, err)
	var names []string
	for _, fld := range pf.Schema().Fields() {
		names = append(names, fld.Name()+":"+fld.Type().String())
	}
	if want := "name:STRING|u:STRING|flag:STRING|sum:DOUBLE|diff:DOUBLE"; strings.Join(names, "|") != want {
		t.Errorf("output schema = %s, want %s", strings.Join(names, "|"), want)
	}
	type outRow = struct {
		Name string  `parquet:"name"`
		U    string  `parquet:"u"`
		Flag string  `parquet:"flag"`
		Sum  float64 `parquet:"sum"`
		Diff float64 `parquet:"diff"`
	}
	reader := parquet.NewGenericReader[outRow](f)
	defer reader.Close()
	all := make([]outRow, 0, len(rows))
	buf := make([]outRow, 256)
	for {
		k, err := reader.Read(buf)
		all = append(all, buf[:k]...)
		if err != nil {
			break
		}
	}
	if len(all) != len(rows) {
		t.Fatalf("%d output rows, want %d", len(all), len(rows))
	}
	for i, row := range rows {
		sum, diff := linearWant(row[0], row[1], row[2])
		want := outRow{Name: "row " + strconv.Itoa(i), U: strconv.FormatUint(uint64(4294967295-i), 10), Flag: strconv.FormatBool(i%2 == 0), Sum: sum, Diff: diff}
		if g := all[i]; g.Name != want.Name || g.U != want.U || g.Flag != want.Flag || !sameFloats([]float64{g.Sum, g.Diff}, []float64{want.Sum, want.Diff}) {
			t.Fatalf("row %d = %+v, want %+v", i, g, want)
		}
	}
}

func TestScoreKeepErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeFileIn(t, dir, "in.csv", "id,x,y,z\n1,1,2,3\n")
	for _, c := range []struct {
		in   string
		keep []string
		want string
	}{
		{in, []string{"id", "ID", "nope"}, in + `: no column "ID", "nope" to keep: the file's columns are "id", "x", "y", "z"`},
		{in, []string{"id", "id"}, `score options: Keep names "id" twice`},
		{in, []string{"sum"}, `score options: Keep names "sum", an output column too: rename the input column`},
		{"-", []string{"id"}, `input -: keep columns ("id") need an input file, read twice; standard input is read once: save the rows to a file and pass its path`},
	} {
		out := filepath.Join(dir, "out.csv")
		opts := linearOptions()
		opts.Keep = c.keep
		_, err := ScoreFile(context.Background(), linearModel(t), opts, c.in, out)
		if err == nil || err.Error() != c.want {
			t.Errorf("ScoreFile(%s, Keep %q) error = %s, want %s", c.in, c.keep, errString(err), c.want)
		}
		if _, serr := os.Stat(out); !os.IsNotExist(serr) {
			t.Errorf("Keep %q: output exists after the error (stat: %v)", c.keep, serr)
		}
	}
	opts := linearOptions()
	opts.Keep = []string{"id"}
	r, err := NewCSVReader(strings.NewReader("id,x,y,z\n1,1,2,3\n"), "in.csv", opts.Features)
	require.NoError(t, err)
	w, err := NewCSVWriter(&bytes.Buffer{}, opts.Outputs)
	require.NoError(t, err)
	want := `score options: Keep ("id") needs the input file: use ScoreFile or ScoreModelFile`
	if _, err := Score(context.Background(), linearModel(t), opts, r, w); err == nil || err.Error() != want {
		t.Errorf("Score with Keep: error = %s, want %s", errString(err), want)
	}
}

// TestScoreKeepTransformed: a version with transforms carries kept columns
// too, on the same rows as its predictions.
func TestScoreKeepTransformed(t *testing.T) {
	lin := transformedLinear(t)
	var b strings.Builder
	b.WriteString("id,amount,age,country,device\n")
	for i := range 300 {
		b.WriteString("id" + strconv.Itoa(i) + "," + strconv.Itoa(i) + ",30,DE,ios\n")
	}
	in := writeFileIn(t, t.TempDir(), "in.csv", b.String())
	dir := t.TempDir()
	plain, kept := filepath.Join(dir, "plain.csv"), filepath.Join(dir, "kept.csv")
	opts := transformOptions(lin)
	opts.Features = nil
	opts.BatchRows = 64
	_, err := ScoreModelFile(context.Background(), lin, opts, in, plain)
	require.NoError(t, err)
	opts.Keep = []string{"id"}
	_, err = ScoreModelFile(context.Background(), lin, opts, in, kept)
	require.NoError(t, err)
	p, _ := os.ReadFile(plain)
	k, _ := os.ReadFile(kept)
	pl, kl := strings.Split(string(p), "\n"), strings.Split(string(k), "\n")
	if len(pl) != len(kl) || len(pl) != 302 {
		t.Fatalf("%d lines with Keep, %d without, want 302 each", len(kl), len(pl))
	}
	for i := range pl {
		want := "id" + strconv.Itoa(i-1) + "," + pl[i]
		switch i {
		case 0:
			want = "id," + pl[0]
		case len(pl) - 1:
			want = ""
		}
		if kl[i] != want {
			t.Fatalf("line %d with Keep = %q, want %q", i+1, kl[i], want)
		}
	}
}

// TestScoreKeepParquetNull: a Parquet null is kept as "", a number in its
// shortest form.
func TestScoreKeepParquetNull(t *testing.T) {
	in := writeParquetMissing(t, 6, 3, false)
	out := filepath.Join(t.TempDir(), "out.csv")
	opts := linearOptions()
	opts.Keep = []string{"y", "z"}
	_, err := ScoreFile(context.Background(), linearModel(t), opts, in, out)
	require.NoError(t, err)
	text, err := os.ReadFile(out)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(text)).ReadAll()
	require.NoError(t, err)
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0]+"|"+r[1])
	}
	if want := "0|0.5 1|0.5 2|0.5 |0.5 4|0.5 0|0.5"; strings.Join(got, " ") != want {
		t.Errorf("kept y|z = %s, want %s", strings.Join(got, " "), want)
	}
}

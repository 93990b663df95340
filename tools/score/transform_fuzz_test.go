package score

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// transformOracleCSV reads in with encoding/csv and turns each record into
// model columns as serving would its values: a cell internal/table calls
// missing (spaces trimmed) is Missing, a numeric input's cell a number
// parsed by strconv.ParseFloat after trimming (±Inf refused), a category's
// cell the string as it is; then model.TransformRow. It returns the rows
// before the first bad record and the line that record starts on (0 when
// there is none, -1 for a header or a missing column).
func transformOracleCSV(in []byte, l *model.Loaded) ([]float64, int) {
	p := l.Transform
	cr := csv.NewReader(strings.NewReader(string(in)))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, -1
	}
	index := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		if _, dup := index[h]; dup {
			return nil, -1
		}
		index[h] = i
	}
	idx := make([]int, len(p.Inputs()))
	for i, name := range p.Inputs() {
		j, ok := index[name]
		if !ok {
			return nil, -1
		}
		idx[i] = j
	}
	var out []float64
	raw := make(transform.Row, len(idx))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, 0
		}
		if err != nil {
			// The line internal/table names: where a record of the wrong
			// length starts, where a quoting error is.
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return out, 1
			}
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return out, pe.StartLine
			}
			return out, pe.Line
		}
		line, _ := cr.FieldPos(0)
		for i, j := range idx {
			s := rec[j]
			switch {
			case table.Missing(strings.TrimSpace(s)):
				raw[i] = transform.Value{}
			case p.Numeric(i):
				x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || math.IsInf(x, 0) {
					return out, line
				}
				raw[i] = transform.Num(x)
			default:
				raw[i] = transform.Str(s)
			}
		}
		n := len(out)
		if out, err = model.TransformRow(out, p, l.Manifest.Kind == model.KindTrees, raw); err != nil {
			return out[:n], line
		}
	}
}

// FuzzOpenModelInput holds OpenModelInput's reader of a transformed
// version's raw CSV to transformOracleCSV: the same rows bit for bit, read
// a few at a time (before an error, a prefix of them); an error exactly
// where the oracle has one, naming the
// file (and, for a bad row, its line); and Score, transforming on its
// workers, giving the same predictions or the same first error.
func FuzzOpenModelInput(f *testing.F) {
	for _, s := range []string{
		"amount,age,country,device\n1.5,30,DE,ios\n,,,\n",
		"device,amount,country,age,x\n\"a,b\",2e3,US,NA,1\n\"tv\nbox\",-1,,40,2\n",
		"amount,age,country,device\n1,2,FR,x\n",
		"amount,age,country,device\nabc,2,DE,x\n",
		"amount,age,country,device\n1,inf,DE,x\n1,2\n",
		"\ufeff amount ,age,country,device\r\n 3 ,null,US, ios \r\n",
		"amount,country\n1,DE\n",
		"amount,age,country,device\n1,2,\"DE\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	versions := [2]*model.Loaded{transformedLinear(f), transformedTrees(f)}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte, trees bool) {
		l := versions[0]
		if trees {
			l = versions[1]
		}
		path := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		want, badLine := transformOracleCSV(in, l)
		r, closeIn, err := OpenModelInput(path, l)
		if err != nil {
			if badLine >= 0 || !strings.Contains(err.Error(), path) {
				t.Fatalf("OpenModelInput(%q) = %v; the oracle reads the header (bad line %d), or the error does not name the file", in, err, badLine)
			}
			return
		}
		defer closeIn()
		if badLine < 0 {
			t.Fatalf("OpenModelInput(%q) opened a file whose header the oracle refuses", in)
		}
		w := len(l.Manifest.Columns())
		got, rerr := readAll(r, w, 3)
		// On an error Read may leave out the good rows read with the bad
		// record (internal/table drops a failed chunk): a prefix.
		if !sameFloats(got, want) && (rerr == nil || len(got) > len(want) || !sameFloats(got, want[:len(got)])) {
			t.Fatalf("Read(%q) = %v, want %v", in, got, want)
		}
		switch {
		case badLine == 0 && rerr != nil:
			t.Fatalf("Read(%q) = %v, the oracle reads every row", in, rerr)
		case badLine > 0 && (rerr == nil || !strings.HasPrefix(rerr.Error(), path+":"+strconv.Itoa(badLine)+":")):
			t.Fatalf("Read(%q) error = %v, want one naming %s:%d", in, rerr, path, badLine)
		}

		r2, closeIn2, err := OpenModelInput(path, l)
		if err != nil {
			t.Fatal(err)
		}
		defer closeIn2()
		opts := transformOptions(l)
		opts.BatchRows, opts.Workers = 2, 2
		var c collectRows
		_, serr := Score(context.Background(), l.Model, opts, r2, &c)
		if errString(serr) != errString(rerr) {
			t.Fatalf("Score(%q) error = %v, Read's = %v", in, serr, rerr)
		}
		if rerr == nil {
			wantP := l.Model.Predict(nil, want, false)
			if !sameFloats(c.out, wantP) {
				t.Fatalf("Score(%q) = %v, want %v", in, c.out, wantP)
			}
		}
	})
}

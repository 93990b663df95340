package transform

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/table"
)

func fitRows(t *testing.T, fs []Feature, rows ...Row) *Pipeline {
	t.Helper()
	fr, err := NewFitter(fs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := fr.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	p, err := fr.Fit()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyDoesNotAllocate(t *testing.T) {
	p := fitOracle(t, 100)
	row := Row{Num(12.5), Value{}, Str("41"), Str("NZ"), Str("ios")}
	dst := make([]float64, 0, p.Width())
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		dst, err = p.Apply(dst[:0], row)
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("Apply allocates %v times per call, want 0", allocs)
	}
	if len(dst) != p.Width() {
		t.Errorf("Apply wrote %d columns, want Width %d", len(dst), p.Width())
	}
}

func TestEncodeRoundTripAndStable(t *testing.T) {
	a, b := fitOracle(t, 1), fitOracle(t, 1000)
	ea, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, eb) {
		t.Fatalf("same fit, chunks of 1 and 1000 rows: encodings differ\n%s\n%s", ea, eb)
	}
	d, err := Decode(ea)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, ed) {
		t.Fatalf("Encode(Decode(x)) != x\n%s\n%s", ea, ed)
	}
	if !slices.Equal(d.Names(), a.Names()) || !slices.Equal(d.Inputs(), a.Inputs()) {
		t.Fatalf("decoded names/inputs differ")
	}
	row := Row{Num(-3), Value{}, Str(" 44 "), Str("Ísland"), Value{}}
	ga, err := a.Apply(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := d.Apply(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	if len(ga) != len(gd) {
		t.Fatal("widths differ")
	}
	for i := range ga {
		if math.Float64bits(ga[i]) != math.Float64bits(gd[i]) && !(math.IsNaN(ga[i]) && math.IsNaN(gd[i])) {
			t.Errorf("decoded Apply column %s = %v, fitted %v", a.Names()[i], gd[i], ga[i])
		}
	}
}

func TestApplyErrors(t *testing.T) {
	_, err := Num(1), error(nil)
	p := fitOracle(t, 50)
	for _, c := range []struct {
		row  Row
		want string
	}{
		{Row{Num(1)}, "row has 1 values, want 5"},
		{Row{Str("abc"), Num(1), Num(1), Str("BR"), Str("ios")}, `column amount: want a finite number, got "abc"`},
		{Row{Str(" -Inf"), Num(1), Num(1), Str("BR"), Str("ios")}, `column amount: want a finite number, got " -Inf"`},
		{Row{Num(1), Num(1), Num(1), Num(3), Str("ios")}, "column country: want a category string, got the number 3"},
	} {
		if _, err = p.Apply(nil, c.row); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Apply(%v) = %v, want an error with %q", c.row, err, c.want)
		}
	}
}

func TestUnknownPolicies(t *testing.T) {
	train := []Row{{Str("a")}, {Str("a")}, {Str("b")}, {Str("c")}}
	cases := []struct {
		enc   Encoding
		names []string
		in    Value
		want  []float64 // nil: an ErrUnknownCategory
	}{
		{Encoding{Op: EncOneHot}, []string{"x=a", "x=b", "x=c"}, Str("z"), nil},
		{Encoding{Op: EncOneHot, Unknown: "error"}, []string{"x=a", "x=b", "x=c"}, Value{}, nil},
		{Encoding{Op: EncOneHot, Unknown: "zeros"}, []string{"x=a", "x=b", "x=c"}, Str("z"), []float64{0, 0, 0}},
		{Encoding{Op: EncOneHot, Unknown: "infrequent"}, []string{"x=a", "x=b", "x=c"}, Str("z"), []float64{0, 0, 0}},
		{Encoding{Op: EncOneHot, Unknown: "infrequent", MinFrequency: 2}, []string{"x=a", "x=__infrequent__"}, Str("z"), []float64{0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "infrequent", MinFrequency: 2}, []string{"x=a", "x=__infrequent__"}, Str("b"), []float64{0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "zeros", MinFrequency: 2}, []string{"x=a", "x=__infrequent__"}, Str("c"), []float64{0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "zeros", MinFrequency: 2}, []string{"x=a", "x=__infrequent__"}, Str("z"), []float64{0, 0}},
		{Encoding{Op: EncOneHot, Unknown: "other"}, []string{"x=a", "x=b", "x=c", "x=__other__"}, Str("z"), []float64{0, 0, 0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "other"}, []string{"x=a", "x=b", "x=c", "x=__other__"}, Value{}, []float64{0, 0, 0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "other", MinFrequency: 2}, []string{"x=a", "x=__other__"}, Str("b"), []float64{0, 1}},
		{Encoding{Op: EncOneHot, Unknown: "other"}, []string{"x=a", "x=b", "x=c", "x=__other__"}, Str("b"), []float64{0, 1, 0, 0}},
		{Encoding{Op: EncOrdinal}, []string{"x"}, Str("z"), nil},
		{Encoding{Op: EncOrdinal, Unknown: "value", UnknownValue: -7}, []string{"x"}, Str("z"), []float64{-7}},
		{Encoding{Op: EncOrdinal}, []string{"x"}, Str("c"), []float64{2}},
		{Encoding{Op: EncOrdinal}, []string{"x"}, Value{}, []float64{math.NaN()}},
	}
	for _, c := range cases {
		e := c.enc
		p := fitRows(t, []Feature{{Name: "x", Columns: []string{"x"}, Encode: &e}}, train...)
		if !slices.Equal(p.Names(), c.names) {
			t.Errorf("%+v: names %q, want %q", c.enc, p.Names(), c.names)
		}
		got, err := p.Apply(nil, Row{c.in})
		if c.want == nil {
			if !errors.Is(err, ErrUnknownCategory) {
				t.Errorf("%+v Apply(%+v) = %v, %v; want ErrUnknownCategory", c.enc, c.in, got, err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%+v Apply(%+v) = %v, %v; want %v", c.enc, c.in, got, err, c.want)
			continue
		}
		for i := range got {
			if !close12(got[i], c.want[i]) {
				t.Errorf("%+v Apply(%+v) = %v, want %v", c.enc, c.in, got, c.want)
				break
			}
		}
	}
}

func TestMissingCategoryRare(t *testing.T) {
	e := Encoding{Op: EncOneHot, MinFrequency: 2, Unknown: "error"}
	p := fitRows(t, []Feature{{Name: "x", Columns: []string{"x"}, Encode: &e}}, Row{Str("a")}, Row{Str("a")}, Row{{}})
	got, err := p.Apply(nil, Row{{}})
	if err != nil || !slices.Equal(got, []float64{0, 1}) || !slices.Equal(p.Names(), []string{"x=a", "x=__infrequent__"}) {
		t.Errorf("rare missing: names %q Apply = %v, %v; want [x=a x=__infrequent__] [0 1]", p.Names(), got, err)
	}
}

// TestHashVectors pins the hash to FNV-1a 64's published test vectors,
// and the cross to its 0xFF separator.
func TestHashVectors(t *testing.T) {
	for s, want := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "foobar": 0x85944171f73967e8} {
		if got := Hash(s); got != want {
			t.Errorf("Hash(%q) = %#x, want %#x", s, got, want)
		}
	}
	if CrossHash("a", "b") != Hash("a\xffb") || CrossHash("a|", "b") == CrossHash("a", "|b") {
		t.Error("CrossHash is not FNV-1a of a, 0xFF, b")
	}
	e := Encoding{Op: EncHash, Buckets: 5}
	p := fitRows(t, []Feature{{Name: "h", Columns: []string{"c"}, Encode: &e}})
	got, _ := p.Apply(nil, Row{Str("foobar")})
	want := make([]float64, 5)
	want[0x85944171f73967e8%5] = 1
	if !slices.Equal(got, want) {
		t.Errorf("hash Apply(foobar) = %v, want %v", got, want)
	}
	got, _ = p.Apply(nil, Row{{}})
	if !slices.Equal(got, make([]float64, 5)) {
		t.Errorf("hash Apply(missing) = %v, want zeros", got)
	}
}

func TestStepsEdgeCases(t *testing.T) {
	num := func(steps ...Step) []Feature { return []Feature{{Name: "x", Columns: []string{"x"}, Steps: steps}} }
	// A constant column: standardize scale 1, minmax scale 1 (sklearn).
	p := fitRows(t, num(Step{Op: OpStandardize}), Row{Num(3)}, Row{Num(3)})
	if s := p.Features()[0].Steps[0]; s.Mean != 3 || s.Scale != 1 {
		t.Errorf("constant standardize: mean %v scale %v, want 3 1", s.Mean, s.Scale)
	}
	p = fitRows(t, num(Step{Op: OpMinMax}), Row{Num(3)}, Row{Num(3)})
	if s := p.Features()[0].Steps[0]; s.Scale != 1 || s.Offset != -3 {
		t.Errorf("constant minmax: scale %v offset %v, want 1 -3", s.Scale, s.Offset)
	}
	// Bucketize: left-closed; repeated quantiles dropped.
	p = fitRows(t, num(Step{Op: OpBucketize, Edges: []float64{1, 2}}))
	for x, want := range map[float64]float64{0.5: 0, 1: 1, 1.5: 1, 2: 2, 9: 2} {
		if got, _ := p.Apply(nil, Row{Num(x)}); got[0] != want {
			t.Errorf("bucketize edges [1 2] Apply(%v) = %v, want %v", x, got[0], want)
		}
	}
	p = fitRows(t, num(Step{Op: OpBucketize, Bins: 4}), Row{Num(1)}, Row{Num(1)}, Row{Num(1)}, Row{Num(5)})
	if e := p.Features()[0].Steps[0].Edges; !slices.Equal(e, []float64{1, 2}) {
		t.Errorf("quantile edges of 1,1,1,5 in 4 bins = %v, want [1 2] (quantiles 1, 1, 2)", e)
	}
	// No steps: the number passes through, missing as NaN.
	p = fitRows(t, num())
	if got, _ := p.Apply(nil, Row{Num(2.5)}); got[0] != 2.5 {
		t.Errorf("no steps Apply(2.5) = %v, want 2.5", got[0])
	}
	if got, _ := p.Apply(nil, Row{{}}); !math.IsNaN(got[0]) {
		t.Errorf("no steps Apply(missing) = %v, want NaN", got[0])
	}
	// NaN passes a step that is not impute; log1p below -1 is NaN.
	p = fitRows(t, num(Step{Op: OpClip, Min: fp(0)}, Step{Op: OpLog1p}))
	if got, _ := p.Apply(nil, Row{{}}); !math.IsNaN(got[0]) {
		t.Errorf("clip+log1p of missing = %v, want NaN", got[0])
	}
	p = fitRows(t, num(Step{Op: OpLog1p}))
	if got, _ := p.Apply(nil, Row{Num(-2)}); !math.IsNaN(got[0]) {
		t.Errorf("log1p(-2) = %v, want NaN", got[0])
	}
	if got, _ := p.Apply(nil, Row{Num(-1)}); !math.IsInf(got[0], -1) {
		t.Errorf("log1p(-1) = %v, want -Inf", got[0])
	}
	// A statistic over no value is an error naming the feature.
	fr, _ := NewFitter(num(Step{Op: OpImpute, Strategy: "mean"}))
	_ = fr.Add(Row{{}})
	if _, err := fr.Fit(); err == nil || !strings.Contains(err.Error(), "feature x: steps[0] impute mean: no non-missing value") {
		t.Errorf("Fit of an all-missing mean = %v", err)
	}
	fr, _ = NewFitter([]Feature{{Name: "c", Columns: []string{"c"}, Encode: &Encoding{Op: EncOneHot}}})
	if _, err := fr.Fit(); err == nil || !strings.Contains(err.Error(), "feature c: onehot: no category seen") {
		t.Errorf("Fit of a onehot with no rows = %v", err)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, c := range []struct {
		fs   []Feature
		want string
	}{
		{[]Feature{{Name: "", Columns: []string{"a"}, Steps: []Step{{Op: OpLog1p}}}}, "features[0].name: empty"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpLog1p}}, Encode: &Encoding{Op: EncHash, Buckets: 2}}}, "features[0]: want steps or encode, not both"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: "sqrt"}}}}, `features[0].steps[0].op: "sqrt", want impute`},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpLog1p, Bins: 3}}}}, "features[0].steps[0].bins: not a field of op log1p"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpClip}}}}, "features[0].steps[0]: clip without min or max"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpBucketize, Edges: []float64{2, 1}}}}}, "features[0].steps[0].edges[1]: 1, want finite and above"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpImpute, Strategy: "mode"}}}}, `features[0].steps[0].strategy: "mode"`},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpImpute, Strategy: "mean"}, {Op: OpImpute, Strategy: "mean"}}}}, "features[0].steps: 2 impute steps"},
		{[]Feature{{Name: "a", Columns: []string{"a", "b"}, Encode: &Encoding{Op: EncHash, Buckets: 2}}}, "features[0].columns: 2 columns, want 1"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Encode: &Encoding{Op: EncHash}}}, "features[0].encode.buckets: 0, want 1 to"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Encode: &Encoding{Op: EncOrdinal, Unknown: "zeros"}}}, `features[0].encode.unknown: "zeros" is for onehot`},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Encode: &Encoding{Op: EncOneHot, Unknown: "value"}}}, "features[0].encode.unknown: value is for ordinal"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Encode: &Encoding{Op: EncOrdinal, MinFrequency: 2}}}, "features[0].encode: rare, rare_missing or min_frequency set for op ordinal"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpLog1p}}}, {Name: "b", Columns: []string{"a"}, Encode: &Encoding{Op: EncOrdinal}}}, "features[1].columns[0]: column a is read as a category here and as a number"},
		{[]Feature{{Name: "a", Columns: []string{"a"}, Steps: []Step{{Op: OpLog1p}}}, {Name: "a", Columns: []string{"b"}, Steps: []Step{{Op: OpLog1p}}}}, "features[1]: output column a given twice"},
	} {
		if _, err := NewFitter(c.fs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewFitter(%+v) = %v, want an error with %q", c.fs, err, c.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "EOF"},
		{`{"version":2,"features":[]}`, "version: 2, want 1"},
		{`{"version":1,"features":[]}`, "features: empty"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"log1p"}]}],"x":1}`, `unknown field "x"`},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"standardize","mean":1}]}]}`, "features[0].steps[0].scale: 0, want a finite non-zero"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"log1p","mean":1}]}]}`, "features[0].steps[0].mean: not a field of op log1p"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"encode":{"op":"onehot","categories":["b","a"]}}]}`, `features[0].encode.categories[1]: "a" not after "b"`},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"encode":{"op":"onehot","categories":["a"],"rare":["a"]}}]}`, `features[0].encode.rare[0]: "a" also in categories`},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"encode":{"op":"onehot"}}]}`, "features[0].encode.categories: no category"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"log1p"}]}]} {}`, "data after the pipeline"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"encode":{"op":"hash","buckets":65537}}]}`, "features[0].encode.buckets: 65537, want 1 to 65536"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"bucketize","bins":65537}]}]}`, "features[0].steps[0].bins: 65537, want 0 (edges given) or 2 to 65536"},
		{`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"impute","strategy":"mean","fill":1e999}]}]}`, "cannot unmarshal"},
	} {
		if _, err := Decode([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%s) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to a
// fixed point that applies without panicking.
func FuzzDecode(f *testing.F) {
	p := fitOracle(f, 100)
	enc, err := p.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte(`{"version":1,"features":[{"name":"a","columns":["a","b"],"encode":{"op":"cross","buckets":3}}]}`))
	f.Add([]byte(`{"version":1,"features":[{"name":"a","columns":["a"],"steps":[{"op":"bucketize","edges":[1,2]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		e1, err := p.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded pipeline: %v", err)
		}
		q, err := Decode(e1)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(x))): %v\n%s", err, e1)
		}
		e2, _ := q.Encode()
		if !bytes.Equal(e1, e2) {
			t.Fatalf("encoding not a fixed point\n%s\n%s", e1, e2)
		}
		row := make(Row, len(p.Inputs()))
		for i := range row {
			if p.numeric[i] {
				row[i] = Num(1.5)
			} else {
				row[i] = Str("a")
			}
		}
		out, err := p.Apply(nil, row)
		if err == nil && len(out) != p.Width() {
			t.Fatalf("Apply wrote %d columns, want %d", len(out), p.Width())
		}
	})
}

// TestAddTableErrors: a cell that is not a number and a column the file
// lacks are errors naming the file, line and column.
func TestAddTableErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(path, []byte("x,c\n1,a\nNA,b\nabc,c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fs   []Feature
		want string
	}{
		{[]Feature{{Name: "x", Columns: []string{"x"}}}, path + ":4"},
		{[]Feature{{Name: "y", Columns: []string{"y"}}}, path + ": no column y"},
	} {
		fr, err := NewFitter(c.fs)
		if err != nil {
			t.Fatal(err)
		}
		r, err := table.Open(path, table.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = fr.AddTable(r, 2)
		r.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.fs[0].Name == "x" && !strings.Contains(err.Error(), `"x"`)) {
			t.Errorf("AddTable(%s) = %v, want an error with %q and the column", c.fs[0].Name, err, c.want)
		}
	}
}

// TestApplyConcurrent: one Pipeline, Apply from several goroutines (run
// under -race), each getting the single-goroutine answer.
func TestApplyConcurrent(t *testing.T) {
	p := fitOracle(t, 100)
	row := Row{Num(12.5), Value{}, Num(41), Str("NZ"), Str("ios")}
	want, err := p.Apply(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var dst []float64
			for i := 0; i < 200; i++ {
				dst, _ = p.Apply(dst[:0], row)
				if !slices.EqualFunc(dst, want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
					errs <- "concurrent Apply differs"
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

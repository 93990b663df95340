package transform

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/internal/table"
)

// Fitter collects training rows for Fit. It keeps every non-missing
// number of each numeric input (8 bytes per row per numeric input: the
// median and quantiles need them all) and a count per distinct category
// of each categorical input.
type Fitter struct {
	p      *Pipeline // spec features, inputs and kinds resolved
	nums   [][]float64
	counts []map[string]int
	nulls  []int // per categorical input: missing values seen
	rows   int
}

// NewFitter checks the spec features (Name, Columns, Steps or Encode with
// their spec fields; fitted fields are ignored) and returns a Fitter for
// them. An input column is numeric or categorical: one used both ways is
// an error.
func NewFitter(features []Feature) (*Fitter, error) {
	fs := make([]Feature, len(features))
	for i, f := range features {
		fs[i] = f.cloneSpec()
	}
	p, err := resolve(fs, false)
	if err != nil {
		return nil, err
	}
	fr := &Fitter{p: p, nums: make([][]float64, len(p.inputs)), counts: make([]map[string]int, len(p.inputs)), nulls: make([]int, len(p.inputs))}
	for i := range p.inputs {
		if !p.numeric[i] {
			fr.counts[i] = map[string]int{}
		}
	}
	return fr, nil
}

// Inputs are the columns Add's rows hold, as Pipeline.Inputs.
func (fr *Fitter) Inputs() []string { return fr.p.inputs }

// Numeric says whether input i is read as a number.
func (fr *Fitter) Numeric(i int) bool { return fr.p.numeric[i] }

// TableIndex is Pipeline.TableIndex for the Fitter's inputs.
func (fr *Fitter) TableIndex(r *table.Reader) ([]int, error) { return fr.p.TableIndex(r) }

// ChunkRow is Pipeline.ChunkRow for the Fitter's inputs: row j of c as
// Add takes it.
func (fr *Fitter) ChunkRow(dst Row, c *table.Chunk, j int, idx []int) (Row, error) {
	return fr.p.ChunkRow(dst, c, j, idx)
}

// Add takes one training row (values as Apply takes them; strings are
// copied).
func (fr *Fitter) Add(raw Row) error {
	if len(raw) != len(fr.p.inputs) {
		return fmt.Errorf("transform: row has %d values, want %d", len(raw), len(fr.p.inputs))
	}
	for i, v := range raw {
		if fr.p.numeric[i] {
			x, err := fr.p.number(raw, i)
			if err != nil {
				return err
			}
			fr.nums[i] = append(fr.nums[i], x)
			continue
		}
		s, ok, err := fr.p.category(raw, i)
		if err != nil {
			return err
		}
		if !ok {
			fr.nulls[i]++
			continue
		}
		if n, seen := fr.counts[i][s]; seen {
			fr.counts[i][s] = n + 1
		} else {
			fr.counts[i][strings.Clone(v.Str)] = 1 // the row's string may be reused
		}
	}
	fr.rows++
	return nil
}

// AddTable adds every row of r, read in chunks of chunkRows rows, as
// ChunkRow reads them. Errors name the row (Chunk.Where) and the column; a
// column of Inputs that r lacks is an error.
func (fr *Fitter) AddTable(r *table.Reader, chunkRows int) error {
	if chunkRows <= 0 {
		return fmt.Errorf("transform: AddTable chunkRows %d: want > 0", chunkRows)
	}
	idx, err := fr.p.TableIndex(r)
	if err != nil {
		return err
	}
	var c table.Chunk
	row := make(Row, len(idx))
	for {
		n, err := r.Next(&c, chunkRows)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for j := 0; j < n; j++ {
			if row, err = fr.p.ChunkRow(row, &c, j, idx); err != nil {
				return err
			}
			if err := fr.Add(row); err != nil {
				return fmt.Errorf("%s: %w", c.Where(j), err)
			}
		}
	}
}

// TableIndex is the index in r of each of Inputs, for ChunkRow; a column r
// lacks is an error naming it and the file.
func (p *Pipeline) TableIndex(r *table.Reader) ([]int, error) {
	idx := make([]int, len(p.inputs))
	for i, name := range p.inputs {
		if idx[i] = r.Index(name); idx[i] < 0 {
			return nil, fmt.Errorf("%s: no column %s (the transforms read it)", r.Path(), name)
		}
	}
	return idx, nil
}

// ChunkRow reads row j of c into dst (resized to len(Inputs)), idx from
// TableIndex: a missing cell (Chunk.Null) as Missing, a numeric input
// through Chunk.Float, a categorical one as Chunk.Text (the string points
// into c: it is valid until c is refilled). Errors name the row and column.
func (p *Pipeline) ChunkRow(dst Row, c *table.Chunk, j int, idx []int) (Row, error) {
	if cap(dst) < len(idx) {
		dst = make(Row, len(idx))
	}
	dst = dst[:len(idx)]
	for i, col := range idx {
		switch {
		case c.Null(col, j):
			dst[i] = Value{}
		case p.numeric[i]:
			x, err := c.Float(col, j)
			if err != nil {
				return dst, err
			}
			dst[i] = Num(x)
		default:
			dst[i] = Str(c.Text(col, j))
		}
	}
	return dst, nil
}

// FitRows fits features on in-memory rows (each as Add takes it): the
// same Pipeline as a Fitter fed the same rows from a file.
func FitRows(features []Feature, rows []Row) (*Pipeline, error) {
	fr, err := NewFitter(features)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if err := fr.Add(r); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return fr.Fit()
}

// Fit fits every feature on the rows added and returns the Pipeline. A
// fitted statistic over no non-missing value (a mean, median, scale,
// quantile) is an error naming the feature, as is an ordinal or onehot
// feature that saw no category.
func (fr *Fitter) Fit() (*Pipeline, error) {
	fs := make([]Feature, len(fr.p.features))
	for i := range fr.p.features {
		f := fr.p.features[i].cloneSpec()
		in := fr.p.features[i].in[0]
		if f.Encode == nil {
			if err := fitSteps(&f, fr.nums[in]); err != nil {
				return nil, fmt.Errorf("transform: feature %s: %w", f.Name, err)
			}
		} else if err := fitEncoding(&f, fr.counts[in], fr.nulls[in]); err != nil {
			return nil, fmt.Errorf("transform: feature %s: %w", f.Name, err)
		}
		fs[i] = f
	}
	return resolve(fs, true)
}

// cloneSpec copies f's spec fields, deep.
func (f Feature) cloneSpec() Feature {
	g := Feature{Name: f.Name, Columns: slices.Clone(f.Columns)}
	for _, s := range f.Steps {
		t := Step{Op: s.Op, Strategy: s.Strategy, Indicator: s.Indicator, Min: s.Min, Max: s.Max, Bins: s.Bins}
		if s.Op == OpImpute && s.Strategy == "constant" {
			t.Fill = s.Fill
		}
		if s.Op == OpBucketize && s.Bins == 0 {
			t.Edges = slices.Clone(s.Edges)
		}
		g.Steps = append(g.Steps, t)
	}
	if e := f.Encode; e != nil {
		g.Encode = &Encoding{Op: e.Op, MinFrequency: e.MinFrequency, Unknown: e.Unknown, UnknownValue: e.UnknownValue, Buckets: e.Buckets}
	}
	return g
}

func fitSteps(f *Feature, col []float64) error {
	x := slices.Clone(col)
	var miss bool
	for i := range f.Steps {
		s := &f.Steps[i]
		vals := present(x)
		switch s.Op {
		case OpImpute:
			switch s.Strategy {
			case "mean":
				if len(vals) == 0 {
					return fmt.Errorf("steps[%d] impute mean: no non-missing value", i)
				}
				s.Fill = sum(vals) / float64(len(vals))
			case "median":
				if len(vals) == 0 {
					return fmt.Errorf("steps[%d] impute median: no non-missing value", i)
				}
				slices.Sort(vals)
				n := len(vals)
				if n%2 == 1 {
					s.Fill = vals[n/2]
				} else {
					s.Fill = (vals[n/2-1] + vals[n/2]) / 2
				}
			}
		case OpStandardize:
			if len(vals) == 0 {
				return fmt.Errorf("steps[%d] standardize: no non-missing value", i)
			}
			s.Mean, s.Scale = meanScale(vals)
		case OpMinMax:
			if len(vals) == 0 {
				return fmt.Errorf("steps[%d] minmax: no non-missing value", i)
			}
			lo, hi := slices.Min(vals), slices.Max(vals)
			r := hi - lo
			if r < 10*eps {
				r = 1
			}
			s.Scale = 1 / r
			s.Offset = -lo * s.Scale
		case OpBucketize:
			if s.Bins > 0 {
				if len(vals) == 0 {
					return fmt.Errorf("steps[%d] bucketize: no non-missing value", i)
				}
				slices.Sort(vals)
				s.Edges = quantileEdges(vals, s.Bins)
			}
		}
		if s.Op == OpLog1p || s.Op == OpClip || s.Op == OpImpute || s.Op == OpStandardize || s.Op == OpMinMax || s.Op == OpBucketize {
			for j := range x {
				x[j] = applyStep(s, x[j], &miss)
			}
		}
		for _, v := range []float64{s.Fill, s.Mean, s.Scale, s.Offset} {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return fmt.Errorf("steps[%d] %s: fitted a non-finite statistic %v", i, s.Op, v)
			}
		}
		for _, v := range s.Edges {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return fmt.Errorf("steps[%d] %s: fitted a non-finite edge %v", i, s.Op, v)
			}
		}
	}
	return nil
}

const eps = 2.220446049250313e-16

func present(x []float64) []float64 {
	out := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

// meanScale is StandardScaler's mean and scale (ddof 0, with its
// correction term and its constant-feature test).
func meanScale(x []float64) (mean, scale float64) {
	n := float64(len(x))
	mean = sum(x) / n
	var corr, sq float64
	for _, v := range x {
		d := v - mean
		corr += d
		sq += d * d
	}
	v := (sq - corr*corr/n) / n
	if v <= n*eps*v+(n*mean*eps)*(n*mean*eps) {
		return mean, 1
	}
	return mean, math.Sqrt(v)
}

// quantileEdges are the inner quantiles i/bins of sorted by
// numpy.quantile's linear method, repeated values dropped.
func quantileEdges(sorted []float64, bins int) []float64 {
	n := len(sorted)
	var edges []float64
	for i := 1; i < bins; i++ {
		q := float64(i) / float64(bins)
		v := float64(n-1) * q
		lo := math.Floor(v)
		g := v - lo
		a := sorted[int(lo)]
		b := sorted[min(int(lo)+1, n-1)]
		d := b - a
		e := a + d*g
		if g >= 0.5 {
			e = b - d*(1-g)
		}
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

func fitEncoding(f *Feature, counts map[string]int, nulls int) error {
	e := f.Encode
	if e.Op == EncHash || e.Op == EncCross {
		return nil
	}
	if len(counts) == 0 && nulls == 0 {
		return fmt.Errorf("%s: no category seen", e.Op)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if e.Op == EncOneHot && counts[k] < e.MinFrequency {
			e.Rare = append(e.Rare, k)
		} else {
			e.Categories = append(e.Categories, k)
		}
	}
	if nulls > 0 {
		if e.Op == EncOneHot && nulls < e.MinFrequency {
			e.RareMissing = true
		} else {
			e.Missing = true
		}
	}
	return nil
}

// resolve checks features and computes the Pipeline's inputs, widths and
// names; fitted says the fitted fields must be set.
func resolve(fs []Feature, fitted bool) (*Pipeline, error) {
	p := &Pipeline{features: fs}
	at := map[string]int{}
	names := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		path := "features[" + strconv.Itoa(i) + "]"
		if err := f.check(path, fitted); err != nil {
			return nil, err
		}
		numeric := f.Encode == nil
		for j, c := range f.Columns {
			k, ok := at[c]
			if !ok {
				k = len(p.inputs)
				at[c] = k
				p.inputs = append(p.inputs, c)
				p.numeric = append(p.numeric, numeric)
			} else if p.numeric[k] != numeric {
				return nil, fmt.Errorf("transform: %s.columns[%d]: column %s is read as a %s here and as a %s by an earlier feature", path, j, c, kindName(numeric), kindName(!numeric))
			}
			f.in[j] = k
		}
		before := len(p.names)
		p.names = f.appendNames(p.names)
		f.width = len(p.names) - before
		for _, n := range p.names[before:] {
			if names[n] {
				return nil, fmt.Errorf("transform: %s: output column %s given twice", path, n)
			}
			names[n] = true
		}
		if e := f.Encode; e != nil && (e.Op == EncOneHot || e.Op == EncOrdinal) {
			f.index = make(map[string]int, len(e.Categories)+len(e.Rare))
			for k, c := range e.Categories {
				f.index[c] = k
			}
			for _, c := range e.Rare {
				f.index[c] = -1
			}
		}
	}
	return p, nil
}

func kindName(numeric bool) string {
	if numeric {
		return "number"
	}
	return "category"
}

func (f *Feature) appendNames(names []string) []string {
	if e := f.Encode; e != nil {
		switch e.Op {
		case EncOneHot:
			for _, c := range e.Categories {
				names = append(names, f.Name+"="+c)
			}
			if e.Missing {
				names = append(names, f.Name+"=NaN")
			}
			switch {
			case e.Unknown == "other":
				names = append(names, f.Name+"=__other__")
			case e.hasSlot():
				names = append(names, f.Name+"=__infrequent__")
			}
		case EncOrdinal:
			names = append(names, f.Name)
		default:
			for b := 0; b < e.Buckets; b++ {
				names = append(names, f.Name+"#"+strconv.Itoa(b))
			}
		}
		return names
	}
	names = append(names, f.Name)
	for _, s := range f.Steps {
		if s.Op == OpImpute && s.Indicator {
			names = append(names, f.Name+"_missing")
		}
	}
	return names
}

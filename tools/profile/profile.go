// Package profile computes a model version's reference profile
// (model.Reference) from training or validation rows: `predictd profile`
// and `predictd import --reference`. The rows come through tools/score's
// readers (CSV or Parquet, the same row rules as scoring) and are predicted
// by score.Score, the code `predictd score` runs, so the outputs profiled
// are the ones the model serves.
//
// Per feature and output it records the rows, missing values, range and
// moments; for numeric ones, exact equal-frequency bin edges (every finite
// value is kept in memory and sorted; Options.MaxRows bounds that) with open
// ends, and a seeded uniform sample of raw values; for categorical ones
// (integer-coded categorical features, and a multiclass model's class
// output), the most frequent codes and "other". See Numeric and
// Categorical for the exact rules.
//
// The features profiled are the columns the model takes
// (Manifest.Columns()): for a version with feature transforms, its
// transformed columns, read from a file of its raw inputs by ModelFile.
//
// Build, File and ModelFile may run concurrently with each other; a call owns its
// reader.
package profile

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/tools/score"
)

// Options configures a profile.
type Options struct {
	// Bins is the number of equal-frequency bins between a numeric
	// distribution's smallest and largest value; two open-ended bins
	// outside them, empty in the reference, catch values beyond its range.
	Bins int
	// TopK is the number of categories a categorical distribution keeps;
	// the rest share one "other" bin.
	TopK int
	// SampleSize is the number of raw values sampled per numeric
	// distribution, for the Kolmogorov-Smirnov and Wasserstein statistics.
	SampleSize int
	// Seed seeds the samples (drift.Reservoir: feature i draws from stream
	// i, output k from stream features+k).
	Seed uint64
	// MaxRows refuses an input with more rows. Exact quantiles keep every
	// value: 8 bytes per feature and output per row (2M rows of 40
	// features: 660 MB).
	MaxRows int64
	// Workers and BatchRows are score.Options' (the prediction's
	// parallelism).
	Workers   int
	BatchRows int
}

// Defaults.
const (
	DefaultBins       = 20
	DefaultTopK       = 20
	DefaultSampleSize = 1000
	DefaultSeed       = 1
	DefaultMaxRows    = 2_000_000
)

// DefaultOptions returns the defaults: 20 bins, top 20 categories, a
// sample of 1,000 values, seed 1, at most 2M rows, score's parallelism.
func DefaultOptions() Options {
	so := score.DefaultOptions()
	return Options{
		Bins: DefaultBins, TopK: DefaultTopK, SampleSize: DefaultSampleSize, Seed: DefaultSeed,
		MaxRows: DefaultMaxRows, Workers: so.Workers, BatchRows: so.BatchRows,
	}
}

// Check reports the first option out of range, naming it.
func (o Options) Check() error {
	switch {
	case o.Bins < 1 || o.Bins > 1000:
		return fmt.Errorf("profile options: Bins is %d, want 1 to 1000", o.Bins)
	case o.TopK < 1 || o.TopK > 10000:
		return fmt.Errorf("profile options: TopK is %d, want 1 to 10000", o.TopK)
	case o.SampleSize < 1 || o.SampleSize > model.MaxReferenceSample:
		return fmt.Errorf("profile options: SampleSize is %d, want 1 to %d", o.SampleSize, model.MaxReferenceSample)
	case o.MaxRows < 1:
		return fmt.Errorf("profile options: MaxRows is %d, want a positive number", o.MaxRows)
	case o.Workers < 0 || o.BatchRows < 0:
		return fmt.Errorf("profile options: Workers %d and BatchRows %d must not be negative", o.Workers, o.BatchRows)
	}
	return nil
}

// collector gathers one side's (features' or outputs') values, row by row.
type collector struct {
	kinds   []string    // model.DistNumeric or model.DistCategorical
	values  [][]float64 // numeric: every non-missing value
	cats    []map[float64]int64
	missing []int64
	res     []*drift.Reservoir // numeric only
}

func newCollector(kinds []string, opts Options, firstStream int) *collector {
	c := &collector{
		kinds: kinds, values: make([][]float64, len(kinds)), cats: make([]map[float64]int64, len(kinds)),
		missing: make([]int64, len(kinds)), res: make([]*drift.Reservoir, len(kinds)),
	}
	for i, k := range kinds {
		if k == model.DistCategorical {
			c.cats[i] = map[float64]int64{}
		} else {
			c.res[i] = drift.NewReservoir(opts.SampleSize, opts.Seed, uint64(firstStream+i))
		}
	}
	return c
}

func (c *collector) add(rows []float64) {
	n := len(c.kinds)
	for r := 0; r+n <= len(rows); r += n {
		for i, x := range rows[r : r+n] {
			switch {
			case math.IsNaN(x):
				c.missing[i]++
			case c.cats[i] != nil:
				c.cats[i][x]++
			default:
				c.values[i] = append(c.values[i], x)
				if !math.IsInf(x, 0) {
					c.res[i].Add(x)
				}
			}
		}
	}
}

func (c *collector) distributions(names []string, rows int64, opts Options) []model.Distribution {
	ds := make([]model.Distribution, len(names))
	for i, name := range names {
		if c.cats[i] != nil {
			ds[i] = Categorical(name, c.cats[i], rows, c.missing[i], opts.TopK)
		} else {
			ds[i] = Numeric(name, c.values[i], rows, c.missing[i], c.res[i].Values(), opts.Bins)
			c.values[i] = nil // may be large; the rest of the profile does not need it
		}
	}
	return ds
}

// teeReader hands score.Score the rows of r and collects their features,
// in input order, on score's reader goroutine.
type teeReader struct {
	r       score.RowReader
	c       *collector
	nf      int
	rows    int64
	maxRows int64
	name    string
}

func (t *teeReader) Read(dst []float64) (int, error) {
	n, err := t.r.Read(dst)
	if t.rows+int64(n) > t.maxRows {
		return 0, fmt.Errorf("%s: more than %d rows: profile a sample of them, or raise the limit (--max-rows; exact quantiles keep every value in memory, 8 bytes each)", t.name, t.maxRows)
	}
	t.rows += int64(n)
	t.c.add(dst[:n*t.nf])
	return n, err
}

// outputSink collects the predictions score.Score writes, in input order,
// on the calling goroutine.
type outputSink struct{ c *collector }

func (s outputSink) Write(values []float64) error { s.c.add(values); return nil }
func (s outputSink) Close() error                 { return nil }

// Build profiles the rows r yields, the columns p takes (m.Columns(), as
// score.OpenModelInput reads them), and p's predictions of them: the
// reference of the version m describes. name names the input in errors and
// is recorded as the reference's Source (its base name). It stops when ctx
// is cancelled.
func Build(ctx context.Context, p model.Predictor, m *model.Manifest, r score.RowReader, name string, opts Options) (*model.Reference, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	cols := m.Columns()
	featKinds := make([]string, len(cols))
	for i, f := range cols {
		featKinds[i] = model.FeatureDistKind(f)
	}
	outKinds := make([]string, len(m.Outputs))
	outNames := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		outKinds[i], outNames[i] = model.OutputDistKind(m), o.Name
	}
	feats := newCollector(featKinds, opts, 0)
	outs := newCollector(outKinds, opts, len(cols))
	so := score.DefaultOptions()
	so.Features, so.Outputs = cols, outNames
	so.Workers = cmp.Or(opts.Workers, runtime.GOMAXPROCS(0))
	so.BatchRows = cmp.Or(opts.BatchRows, score.DefaultBatchRows)
	tee := &teeReader{r: r, c: feats, nf: len(cols), maxRows: opts.MaxRows, name: name}
	st, err := score.Score(ctx, p, so, tee, outputSink{outs})
	if err != nil {
		return nil, err
	}
	if st.Rows == 0 {
		return nil, fmt.Errorf("%s: no rows: a reference needs at least one", name)
	}
	featNames := make([]string, len(cols))
	for i, f := range cols {
		featNames[i] = f.Name
	}
	ref := &model.Reference{
		FormatVersion: model.ReferenceFormatVersion,
		Created:       time.Now().UTC().Truncate(time.Second),
		Source:        filepath.Base(name),
		Rows:          st.Rows,
		Seed:          opts.Seed,
		Features:      feats.distributions(featNames, st.Rows, opts),
		Outputs:       outs.distributions(outNames, st.Rows, opts),
	}
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("BUG: profile of %s: %w", name, err)
	}
	return ref, nil
}

// File profiles the file at path (.csv or .parquet) with Build, for a
// model p whose manifest m has no feature transforms (one about to be
// imported, say); a loaded version is profiled by ModelFile, which applies
// them. A manifest with transforms is an error.
func File(ctx context.Context, p model.Predictor, m *model.Manifest, path string, opts Options) (*model.Reference, error) {
	if m.Transform != nil {
		return nil, fmt.Errorf("profile: model %s v%d transforms its raw inputs: profile the loaded version with ModelFile, which applies the transforms", m.Name, m.Version)
	}
	r, closeRows, err := score.OpenInput(path, m.Features)
	if err != nil {
		return nil, err
	}
	defer closeRows()
	return Build(ctx, p, m, r, path, opts)
}

// ModelFile profiles the file at path (.csv or .parquet) with Build for
// the loaded version l, its rows read by score.OpenModelInput: for a
// version with feature transforms the file holds the raw inputs and the
// reference profiles the transformed columns.
func ModelFile(ctx context.Context, l *model.Loaded, path string, opts Options) (*model.Reference, error) {
	r, closeRows, err := score.OpenModelInput(path, l)
	if err != nil {
		return nil, err
	}
	defer closeRows()
	return Build(ctx, l.Model, l.Manifest, r, path, opts)
}

// moments sets d's Finite, Min, Max, Mean and Std (population) from the
// finite values fin, sorted ascending.
func moments(d *model.Distribution, fin []float64) {
	d.Finite = int64(len(fin))
	if len(fin) == 0 {
		return
	}
	d.Min, d.Max = fin[0], fin[len(fin)-1]
	var sum float64
	for _, v := range fin {
		sum += v
	}
	n := float64(len(fin))
	d.Mean = sum / n
	// Two passes: the deviations' squares, not E[x²] − E[x]², which
	// cancels for a large mean.
	var ss float64
	for _, v := range fin {
		ss += (v - d.Mean) * (v - d.Mean)
	}
	d.Std = math.Sqrt(ss / n)
	if math.IsInf(d.Mean, 0) || math.IsInf(d.Std, 0) {
		// Finite values whose sum overflows (near ±MaxFloat64): the
		// moments are out of float64's range; the bins still hold.
		d.Mean, d.Std = 0, 0
	}
}

// Numeric is the reference distribution of a numeric column over rows rows,
// missing of them NaN, whose other values are vals (in any order; ±Inf
// allowed; vals is sorted in place) and sample a random sample of its
// finite values.
//
// Edges: with n finite values sorted, the smallest; the value of rank
// ⌊i·n/bins⌋ for i in 1..bins−1 (an exact order statistic, no
// interpolation); and just above the largest (its float64 successor). Bins
// are closed on the left, so the bins between the smallest and largest
// value hold ⌊(i+1)·n/bins⌋ − ⌊i·n/bins⌋ values each when there are no
// ties, and the two outer bins, below the smallest and above the largest,
// none. Ties: edges that coincide merge, and a value that alone holds a
// bin's share of the rows or more (n/bins) gets a bin of its own,
// [v, successor of v), so a constant feature has exactly one inner bin and
// a spike at 0 is told apart from the values beside it. ±Inf values fall in
// the outer bins and are not in the moments or the sample.
func Numeric(name string, vals []float64, rows, missing int64, sample []float64, bins int) model.Distribution {
	slices.Sort(vals)
	lo, hi := 0, len(vals)
	for lo < hi && math.IsInf(vals[lo], -1) {
		lo++
	}
	for hi > lo && math.IsInf(vals[hi-1], 1) {
		hi--
	}
	fin := vals[lo:hi]
	d := model.Distribution{Name: name, Kind: model.DistNumeric, Count: rows, Missing: missing}
	moments(&d, fin)
	if n := len(fin); n > 0 {
		edges := []float64{fin[0]}
		for i := 1; i < bins; i++ {
			edges = append(edges, fin[i*n/bins])
		}
		for i := 0; i < n; {
			j := i
			for j < n && fin[j] == fin[i] {
				j++
			}
			if (j-i)*bins >= n { // a spike: its own bin
				edges = append(edges, fin[i], math.Nextafter(fin[i], math.Inf(1)))
			}
			i = j
		}
		edges = append(edges, math.Nextafter(fin[n-1], math.Inf(1)))
		edges = slices.DeleteFunc(edges, func(e float64) bool { return math.IsInf(e, 0) })
		slices.Sort(edges)
		// -0 and 0 are one edge: Compact keeps the first of equal values.
		d.Edges = slices.Compact(edges)
	}
	d.Counts = make([]int64, d.NumBins())
	for _, v := range vals {
		d.Counts[d.Bin(v)]++
	}
	d.Sample = slices.Sorted(slices.Values(sample))
	return d
}

// Categorical is the reference distribution of a categorical column over
// rows rows, missing of them NaN, whose other values are counted in counts
// (by value; ±Inf and non-integer values are categories like any other).
// The topK most frequent finite values are its categories (ties broken by
// the smaller value), every other value is "other". The moments are over
// the finite values, the codes read as numbers.
func Categorical(name string, counts map[float64]int64, rows, missing int64, topK int) model.Distribution {
	d := model.Distribution{Name: name, Kind: model.DistCategorical, Count: rows, Missing: missing}
	type kv struct {
		v float64
		n int64
	}
	var all []kv
	var total int64
	for v, n := range counts {
		total += n
		if !math.IsInf(v, 0) {
			all = append(all, kv{v, n})
		}
	}
	// Sums in the order of the values, not the map's, so that a profile is
	// the same every time.
	slices.SortFunc(all, func(a, b kv) int { return cmp.Compare(a.v, b.v) })
	if len(all) > 0 {
		var fin int64
		var sum float64
		for _, c := range all {
			fin += c.n
			sum += c.v * float64(c.n)
		}
		d.Finite, d.Min, d.Max = fin, all[0].v, all[len(all)-1].v
		d.Mean = sum / float64(fin)
		var ss float64
		for _, c := range all {
			ss += float64(c.n) * (c.v - d.Mean) * (c.v - d.Mean)
		}
		d.Std = math.Sqrt(ss / float64(fin))
		if math.IsInf(d.Mean, 0) || math.IsNaN(d.Mean) || math.IsInf(d.Std, 0) || math.IsNaN(d.Std) {
			d.Mean, d.Std = 0, 0
		}
	}
	slices.SortStableFunc(all, func(a, b kv) int { return cmp.Compare(b.n, a.n) })
	top := all[:min(topK, len(all))]
	slices.SortFunc(top, func(a, b kv) int { return cmp.Compare(a.v, b.v) })
	d.Counts = make([]int64, len(top)+1)
	var kept int64
	for i, c := range top {
		d.Categories = append(d.Categories, c.v)
		d.Counts[i] = c.n
		kept += c.n
	}
	d.Counts[len(top)] = total - kept
	return d
}

// Summary writes one line per feature and output of ref: kind, missing
// rate, range, bins or categories, sample size.
func Summary(w io.Writer, ref *model.Reference) error {
	line := func(what string, d *model.Distribution) {
		shape := fmt.Sprintf("%d bins, sample %d", d.NumBins(), len(d.Sample))
		if d.Kind == model.DistCategorical {
			shape = fmt.Sprintf("%d categories + other", len(d.Categories))
		}
		fmt.Fprintf(w, "  %-6s %-24s %-11s missing %6.2f%%  min %-10.4g max %-10.4g mean %-10.4g std %-10.4g %s\n",
			what, d.Name, d.Kind, 100*d.MissingRate(), d.Min, d.Max, d.Mean, d.Std, shape)
	}
	fmt.Fprintf(w, "reference: %d rows of %s, %d features, %d outputs\n", ref.Rows, ref.Source, len(ref.Features), len(ref.Outputs))
	for i := range ref.Features {
		line("input", &ref.Features[i])
	}
	for i := range ref.Outputs {
		line("output", &ref.Outputs[i])
	}
	return nil
}

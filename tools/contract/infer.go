package contract

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model/contract"
)

// inferCol is what Infer keeps of one column.
type inferCol struct {
	name     string
	fileType table.Type
	rows     int64
	missing  int64
	// CSV cells: whether every non-missing one so far reads as a bool
	// word (true/false), an integer, a finite number, an RFC 3339 time.
	canBool, canInt, canFloat, canTime bool
	// numbers: every non-missing value that read as a finite number.
	nums     int64
	min, max float64
	sample   []float64
	values   *counter
}

// Infer reads the file at path once and returns its contract: per column,
// in file order,
//   - type: a Parquet column's type (table.Column); a CSV column's is bool
//     when every non-missing cell is true or false (any case), else int
//     when every one is an integer, float when every one is a finite
//     number, time when every one is an RFC 3339 time, else string (also
//     for a column with no value at all);
//   - required: true;
//   - max_missing: the observed rate of missing values, rounded up to a
//     multiple of 0.001 (0 stays 0: not nullable);
//   - min and max (int and float): the observed extremes;
//   - categories (string and bool): every distinct value (spaces trimmed),
//     sorted, when there are at most Options.MaxCategories;
//   - profile: for int and float, Options.Bins bins with edges at the
//     sample's quantiles and their proportions (see Options.SampleSize);
//     for string and bool, the Options.MaxCategories most frequent values
//     and their exact shares (of tracked values: see Options.MaxTracked),
//     the rest as other; proportions are rounded to 6 decimals. The skew
//     threshold is contract.DefaultSkew.
//
// A malformed file is an error naming the file, line or row and column, and
// so is a column without a name and a ±Inf in a Parquet FLOAT or DOUBLE
// column (no contract range holds it, and the daemon refuses it as a model
// input); in CSV, a cell such as inf is not a finite number, so its column
// is inferred as text.
func Infer(ctx context.Context, path string, opts Options) (*contract.Contract, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x636f6e7472616374))
	var cols []*inferCol
	open := func(r *table.Reader) error {
		for i, c := range r.Columns() {
			if c.Name == "" {
				return fmt.Errorf("%s: column %d (counted from 1) has no name; a contract names every column (name it, or drop it, such as an unnamed index column)", path, i+1)
			}
			cols = append(cols, &inferCol{name: c.Name, fileType: c.Type, canBool: true, canInt: true, canFloat: true, canTime: true,
				min: math.Inf(1), max: math.Inf(-1), values: newCounter(opts.MaxTracked)})
		}
		return nil
	}
	each := func(c *table.Chunk) error {
		for j, col := range cols {
			for i := range c.Len() {
				col.rows++
				if c.Null(j, i) {
					col.missing++
					continue
				}
				if err := col.add(c, j, i, rng, opts); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := scan(ctx, path, opts, open, each); err != nil {
		return nil, err
	}
	out := &contract.Contract{UnexpectedColumns: contract.UnexpectedError}
	for _, col := range cols {
		out.Columns = append(out.Columns, col.column(opts))
	}
	if err := out.Check(); err != nil {
		return nil, fmt.Errorf("BUG: inferred contract of %s fails its check: %v", path, err)
	}
	return out, nil
}

// add takes the non-missing cell (j, i) of c.
func (col *inferCol) add(c *table.Chunk, j, i int, rng *rand.Rand, opts Options) error {
	switch col.fileType {
	case table.String:
		s := strings.TrimSpace(c.Text(j, i))
		if col.canBool && !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
			col.canBool = false
		}
		if col.canInt {
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				col.canInt = false
			}
		}
		if col.canFloat {
			if x, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(x, 0) {
				col.canFloat = false
			} else {
				col.number(x, rng, opts)
			}
		}
		if col.canTime {
			if _, err := featcache.ParseEventTime(s); err != nil {
				col.canTime = false
			}
		}
		if col.canBool {
			s = strings.ToLower(s)
		}
		col.values.add(s)
	case table.Bool:
		col.values.add(c.Text(j, i))
	case table.Int, table.Float:
		x, err := c.Float(j, i)
		if err != nil {
			return err
		}
		col.number(x, rng, opts)
	}
	return nil
}

// number takes a finite number: extremes, and Algorithm R's reservoir.
func (col *inferCol) number(x float64, rng *rand.Rand, opts Options) {
	col.nums++
	col.min, col.max = min(col.min, x), max(col.max, x)
	if len(col.sample) < opts.SampleSize {
		col.sample = append(col.sample, x)
	} else if k := rng.Int64N(col.nums); k < int64(opts.SampleSize) {
		col.sample[k] = x
	}
}

// typ is the column's inferred type.
func (col *inferCol) typ() contract.Type {
	seen := col.rows > col.missing
	switch col.fileType {
	case table.Bool:
		return contract.Bool
	case table.Int:
		return contract.Int
	case table.Float:
		return contract.Float
	case table.Time:
		return contract.Time
	}
	switch {
	case !seen:
		return contract.String
	case col.canBool:
		return contract.Bool
	case col.canInt:
		return contract.Int
	case col.canFloat:
		return contract.Float
	case col.canTime:
		return contract.Time
	}
	return contract.String
}

func (col *inferCol) column(opts Options) contract.Column {
	out := contract.Column{Name: col.name, Type: col.typ(), Required: true}
	if col.rows > 0 {
		out.MaxMissing = math.Ceil(float64(col.missing)/float64(col.rows)*1000) / 1000
	}
	switch out.Type {
	case contract.Int, contract.Float:
		if col.nums == 0 {
			break
		}
		lo, hi := col.min, col.max
		out.Min, out.Max = &lo, &hi
		out.Profile = numericProfile(col.sample, opts.Bins)
	case contract.String, contract.Bool:
		v := col.values
		if v.untracked == 0 && len(v.counts) <= opts.MaxCategories && len(v.counts) > 0 {
			out.Categories = make([]string, 0, len(v.counts))
			for s := range v.counts {
				out.Categories = append(out.Categories, s)
			}
			slices.Sort(out.Categories)
		}
		if total := v.total(); total > 0 {
			p := &contract.Profile{Values: v.top(opts.MaxCategories)}
			sum := 0.0
			for _, s := range p.Values {
				x := round6(float64(v.counts[s]) / float64(total))
				p.Proportions = append(p.Proportions, x)
				sum += x
			}
			p.Other = round6(max(0, 1-sum))
			out.Profile = p
		}
	}
	return out
}

// numericProfile bins the sample at its quantiles k/bins (k = 1..bins-1),
// repeated edges dropped.
func numericProfile(sample []float64, bins int) *contract.Profile {
	s := slices.Clone(sample)
	slices.Sort(s)
	p := &contract.Profile{Edges: []float64{}}
	for k := 1; k < bins; k++ {
		e := s[k*len(s)/bins]
		if e > s[0] && (len(p.Edges) == 0 || e > p.Edges[len(p.Edges)-1]) {
			p.Edges = append(p.Edges, e)
		}
	}
	counts := make([]int64, len(p.Edges)+1)
	for _, x := range s {
		counts[p.Bin(x)]++
	}
	for _, n := range counts {
		p.Proportions = append(p.Proportions, round6(float64(n)/float64(len(s))))
	}
	return p
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model/contract"
	"github.com/predictd/predictd/monitor/drift"
)

// Report is what Validate found.
type Report struct {
	File    string `json:"file"`
	Against string `json:"against,omitempty"`
	Rows    int64  `json:"rows"`
	// Anomalies in contract column order (unexpected columns in file
	// order, after them), each kind of a column once.
	Anomalies []Anomaly `json:"anomalies"`
	// Skew has every skew comparison made, anomalous or not.
	Skew []Skew `json:"skew"`
}

// Anomaly is one kind of problem in one column.
type Anomaly struct {
	Column string `json:"column"`
	Kind   string `json:"kind"` // contract.Kind's name
	// Expected and Found say, in words, what the contract wants and what
	// the file holds.
	Expected string `json:"expected"`
	Found    string `json:"found"`
	// Count is the number of values (rows) with the problem; 0 for
	// column-level kinds (a missing column, a skew).
	Count int64 `json:"count"`
	// Examples are up to Options.MaxExamples rows, as "path:LINE" (CSV) or
	// "path row N" (Parquet), with the value found.
	Examples []Example `json:"examples,omitempty"`
}

// Example is one row an anomaly was found in.
type Example struct {
	Where string `json:"where"`
	Value string `json:"value"`
}

// Skew is one skew comparison: a column's distribution in the file against
// the baseline (the contract's profile, or the Against file).
type Skew struct {
	Column    string  `json:"column"`
	Metric    string  `json:"metric"` // jensen_shannon or l_infinity
	Distance  float64 `json:"distance"`
	Threshold float64 `json:"threshold"`
	Baseline  string  `json:"baseline"` // "profile" or the Against file
}

// Validate checks the file at path against c, and returns the anomalies:
// a required column absent (column_missing), a column c does not list
// unless c ignores them (unexpected_column), values not of the column's
// type (unexpected_type: not a number, a fraction in an int column, not a
// time, not a bool, ±Inf), numbers outside [min, max] (out_of_range),
// values outside the categories (new_category; spaces trimmed, a bool as
// true or false, an int as its decimal code), a missing rate above
// max_missing (missing_rate), and for a column with a profile, skew: the
// Jensen-Shannon distance (base 2, monitor/drift.JSDistance) of the
// column's values binned on the profile's edges, or the L-infinity
// distance of its value shares, from the profile's, or with against (a
// path, "" for none) from the against file's binned the same way
// (skew_jensen_shannon, skew_l_infinity), above the column's threshold.
//
// An unreadable or malformed file is an error (naming the file, line or row
// and column), not an anomaly.
func Validate(ctx context.Context, c *contract.Contract, path, against string, opts Options) (*Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("contract: %v", err)
	}
	cur, err := profileFile(ctx, c, path, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{File: path, Against: against, Rows: cur.rows, Anomalies: []Anomaly{}, Skew: []Skew{}}
	var base *fileStats
	if against != "" {
		if base, err = profileFile(ctx, c, against, opts); err != nil {
			return nil, err
		}
	}
	for i := range c.Columns {
		col := &c.Columns[i]
		vc := cur.cols[i]
		if vc == nil {
			if col.Required {
				at := ""
				if col.Line > 0 {
					at = fmt.Sprintf(", the contract's line %d", col.Line)
				}
				rep.add(Anomaly{Column: col.Name, Kind: contract.ColumnMissing.String(), Expected: "a column named " + strconv.Quote(col.Name) + " (required" + at + ")", Found: "no such column in " + path})
			}
			continue
		}
		vc.report(rep, cur.rows)
		if col.Profile != nil && vc.total() > 0 {
			var bc *valueStats
			if base != nil {
				if bc = base.cols[i]; bc == nil || bc.total() == 0 {
					continue // the baseline file has no values to compare with
				}
			}
			rep.skew(col, vc, bc, against)
		}
	}
	if c.UnexpectedColumns != contract.UnexpectedIgnore {
		for _, name := range cur.unexpected {
			rep.add(Anomaly{Column: name, Kind: contract.UnexpectedColumn.String(), Expected: "only the contract's columns (unexpected_columns: error)", Found: "a column the contract does not list"})
		}
	}
	return rep, nil
}

func (r *Report) add(a Anomaly) { r.Anomalies = append(r.Anomalies, a) }

// fileStats is one file's pass.
type fileStats struct {
	rows       int64
	cols       []*valueStats // per contract column; nil when the file lacks it
	unexpected []string
}

// valueStats is what a pass keeps of one contract column.
type valueStats struct {
	col     *contract.Column
	idx     int
	opts    Options
	cats    map[string]bool
	missing kindStats
	typ     kindStats
	rng     kindStats
	cat     kindStats
	newCats []string // distinct new values, at most 5
	lo, hi  float64  // extremes of out-of-range values
	bins    []int64  // numeric profile: counts per bin
	values  *counter // categorical profile: counts per value
}

type kindStats struct {
	count    int64
	examples []Example
}

func (k *kindStats) add(where func() string, value string, max int) {
	k.count++
	if len(k.examples) < max {
		k.examples = append(k.examples, Example{Where: where(), Value: value})
	}
}

func profileFile(ctx context.Context, c *contract.Contract, path string, opts Options) (*fileStats, error) {
	fs := &fileStats{cols: make([]*valueStats, len(c.Columns))}
	var active []*valueStats
	open := func(r *table.Reader) error {
		listed := make(map[string]bool, len(c.Columns))
		for i := range c.Columns {
			col := &c.Columns[i]
			listed[col.Name] = true
			j := r.Index(col.Name)
			if j < 0 {
				continue
			}
			vs := &valueStats{col: col, idx: j, opts: opts, lo: math.Inf(1), hi: math.Inf(-1)}
			if col.Categories != nil {
				vs.cats = make(map[string]bool, len(col.Categories))
				for _, s := range col.Categories {
					vs.cats[s] = true
				}
			}
			if p := col.Profile; p != nil {
				if p.Categorical() {
					vs.values = newCounter(opts.MaxTracked)
				} else {
					vs.bins = make([]int64, p.NumBins())
				}
			}
			fs.cols[i] = vs
			active = append(active, vs)
		}
		for _, rc := range r.Columns() {
			if !listed[rc.Name] {
				fs.unexpected = append(fs.unexpected, rc.Name)
			}
		}
		return nil
	}
	each := func(ch *table.Chunk) error {
		fs.rows += int64(ch.Len())
		for _, vs := range active {
			for i := range ch.Len() {
				vs.add(ch, i)
			}
		}
		return nil
	}
	if err := scan(ctx, path, opts, open, each); err != nil {
		return nil, err
	}
	return fs, nil
}

// add checks cell (vs.idx, i) of ch.
func (vs *valueStats) add(ch *table.Chunk, i int) {
	j, col, max := vs.idx, vs.col, vs.opts.MaxExamples
	where := func() string { return ch.Where(i) }
	if ch.Null(j, i) {
		vs.missing.add(where, ch.Text(j, i), max)
		return
	}
	var key string // the value as a category
	switch col.Type {
	case contract.Int, contract.Float:
		x, err := ch.Float(j, i)
		if err != nil || col.Type == contract.Int && x != math.Trunc(x) {
			vs.typ.add(where, ch.Text(j, i), max)
			return
		}
		if col.Min != nil && x < *col.Min || col.Max != nil && x > *col.Max {
			vs.rng.add(where, ch.Text(j, i), max)
			vs.lo, vs.hi = min(vs.lo, x), math.Max(vs.hi, x)
		}
		if vs.bins != nil {
			vs.bins[col.Profile.Bin(x)]++
		}
		if vs.cats == nil && vs.values == nil {
			return
		}
		key = strconv.FormatFloat(x+0, 'f', -1, 64) // +0: -0 is code 0
	case contract.Bool:
		b, ok := boolText(strings.TrimSpace(ch.Text(j, i)))
		if !ok {
			vs.typ.add(where, ch.Text(j, i), max)
			return
		}
		key = b
	case contract.Time:
		if _, err := ch.Time(j, i); err != nil {
			vs.typ.add(where, ch.Text(j, i), max)
		}
		return
	default:
		key = strings.TrimSpace(ch.Text(j, i))
	}
	if vs.cats != nil && !vs.cats[key] {
		vs.cat.add(where, key, max)
		if len(vs.newCats) < 5 && !slices.Contains(vs.newCats, key) {
			vs.newCats = append(vs.newCats, key)
		}
	}
	if vs.values != nil {
		vs.values.add(key)
	}
}

// total is the number of values binned or counted for the profile.
func (vs *valueStats) total() int64 {
	switch {
	case vs.bins != nil:
		var t int64
		for _, n := range vs.bins {
			t += n
		}
		return t
	case vs.values != nil:
		return vs.values.total()
	}
	return 0
}

func (vs *valueStats) report(rep *Report, rows int64) {
	col := vs.col
	if n := vs.typ.count; n > 0 {
		rep.add(Anomaly{Column: col.Name, Kind: contract.UnexpectedType.String(), Expected: typeWords(col.Type),
			Found: fmt.Sprintf("%d values that are not %s", n, typeWords(col.Type)), Count: n, Examples: vs.typ.examples})
	}
	if n := vs.rng.count; n > 0 {
		rep.add(Anomaly{Column: col.Name, Kind: contract.OutOfRange.String(), Expected: "values in [" + bound(col.Min, "-inf") + ", " + bound(col.Max, "+inf") + "]",
			Found: fmt.Sprintf("%d values outside, from %s to %s", n, fmtNum(vs.lo), fmtNum(vs.hi)), Count: n, Examples: vs.rng.examples})
	}
	if n := vs.cat.count; n > 0 {
		cats := col.Categories
		shown := strings.Join(quoteAll(cats[:min(len(cats), 10)]), ", ")
		if len(cats) > 10 {
			shown += fmt.Sprintf(", ... (%d in all)", len(cats))
		}
		rep.add(Anomaly{Column: col.Name, Kind: contract.NewCategory.String(), Expected: "one of " + shown,
			Found: fmt.Sprintf("%d values outside the categories, such as %s", n, strings.Join(quoteAll(vs.newCats), ", ")), Count: n, Examples: vs.cat.examples})
	}
	if n := vs.missing.count; rows > 0 && float64(n)/float64(rows) > col.MaxMissing {
		rep.add(Anomaly{Column: col.Name, Kind: contract.MissingRate.String(), Expected: "at most " + pct(col.MaxMissing) + " missing (max_missing " + fmtNum(col.MaxMissing) + ")",
			Found: fmt.Sprintf("%s missing (%d of %d rows)", pct(float64(n)/float64(rows)), n, rows), Count: n, Examples: vs.missing.examples})
	}
}

// skew compares vs's distribution with bc's (the against file's) or, when
// bc is nil, with the contract's profile.
func (rep *Report) skew(col *contract.Column, vs, bc *valueStats, against string) {
	p := col.Profile
	s := Skew{Column: col.Name, Threshold: col.SkewThreshold(), Baseline: "profile"}
	if bc != nil {
		s.Baseline = against
	}
	kind := contract.SkewJensenShannon
	if p.Categorical() {
		kind, s.Metric = contract.SkewLInfinity, "l_infinity"
		if bc != nil {
			s.Distance = lInfCounters(bc.values, vs.values)
		} else {
			s.Distance = lInfProfile(p, vs.values)
		}
	} else {
		s.Metric = "jensen_shannon"
		ref := bc.binsOrNil()
		if ref == nil {
			ref = scaled(p.Proportions)
		}
		s.Distance = drift.JSDistance(ref, vs.bins)
	}
	rep.Skew = append(rep.Skew, s)
	if s.Distance > s.Threshold {
		rep.add(Anomaly{Column: col.Name, Kind: kind.String(), Expected: fmt.Sprintf("%s distance from the %s at most %s", s.Metric, baselineWords(s.Baseline), fmtNum(s.Threshold)),
			Found: fmt.Sprintf("%s distance %.4g over %d values", s.Metric, s.Distance, vs.total())})
	}
}

func (vs *valueStats) binsOrNil() []int64 {
	if vs == nil {
		return nil
	}
	return vs.bins
}

// scaled turns shares into counts for drift.JSDistance, which normalizes
// them again: 1e12 per unit keeps 12 digits of every share.
func scaled(shares []float64) []int64 {
	out := make([]int64, len(shares))
	for i, x := range shares {
		out[i] = int64(math.Round(x * 1e12))
	}
	return out
}

// lInfProfile is the largest difference between a profile's shares and
// the counted values' shares, per profiled value and for everything else
// together (other).
func lInfProfile(p *contract.Profile, c *counter) float64 {
	total := float64(c.total())
	ps := p.Shares()
	psum := 0.0
	for _, x := range ps {
		psum += x
	}
	d, seen := 0.0, 0.0
	for i, v := range p.Values {
		q := float64(c.counts[v]) / total
		seen += q
		d = math.Max(d, math.Abs(ps[i]/psum-q))
	}
	return math.Max(d, math.Abs(ps[len(ps)-1]/psum-max(0, 1-seen)))
}

// lInfCounters is the largest difference between two files' value shares,
// over every value either tracked (values tracked in one file alone have
// share 0 in the other), and their untracked values as one more.
func lInfCounters(a, b *counter) float64 {
	ta, tb := float64(a.total()), float64(b.total())
	d := math.Abs(float64(a.untracked)/ta - float64(b.untracked)/tb)
	for v, n := range a.counts {
		d = math.Max(d, math.Abs(float64(n)/ta-float64(b.counts[v])/tb))
	}
	for v, n := range b.counts {
		if _, ok := a.counts[v]; !ok {
			d = math.Max(d, float64(n)/tb)
		}
	}
	return d
}

func typeWords(t contract.Type) string {
	switch t {
	case contract.Int:
		return "integers"
	case contract.Float:
		return "finite numbers"
	case contract.Bool:
		return "bools (true, false, 1 or 0)"
	case contract.Time:
		return "RFC 3339 times (or Parquet TIMESTAMP, INT96, DATE)"
	}
	return string(t)
}

func baselineWords(b string) string {
	if b == "profile" {
		return "contract's profile"
	}
	return "baseline " + b
}

func bound(x *float64, none string) string {
	if x == nil {
		return none
	}
	return fmtNum(*x)
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func pct(x float64) string { return strconv.FormatFloat(100*x, 'g', 4, 64) + "%" }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// WriteText writes the report for a person: a summary line, then one
// paragraph per anomaly.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	against := ""
	if r.Against != "" {
		against = " (skew against " + r.Against + ")"
	}
	fmt.Fprintf(&b, "%s: %d rows, %s%s\n", r.File, r.Rows, Count(len(r.Anomalies)), against)
	for _, a := range r.Anomalies {
		fmt.Fprintf(&b, "\ncolumn %q: %s\n  expected: %s\n  found:    %s\n", a.Column, a.Kind, a.Expected, a.Found)
		for _, e := range a.Examples {
			fmt.Fprintf(&b, "  e.g. %s: %s\n", e.Where, strconv.Quote(e.Value))
		}
	}
	if len(r.Skew) > 0 {
		b.WriteString("\nskew (distance / threshold):\n")
		for _, s := range r.Skew {
			fmt.Fprintf(&b, "  %-24s %-15s %.4g / %s vs %s\n", strconv.Quote(s.Column), s.Metric, s.Distance, fmtNum(s.Threshold), s.Baseline)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Count says n anomalies in words: "1 anomaly", "3 anomalies".
func Count(n int) string {
	if n == 1 {
		return "1 anomaly"
	}
	return strconv.Itoa(n) + " anomalies"
}

// Package compare checks two prediction files against each other, column by
// column: the parity check a team runs when it moves a model from its
// training library to predictd. Pure function of its inputs; no state.
package compare

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/internal/table"
)

// Tolerance is how far a value got may be from the reference value want:
// it passes when |got-want| <= Abs + Rel*|want|, the rule of numpy.isclose
// (atol + rtol*|b|). Rel alone means nothing near zero (a probability of
// 1e-12 against 2e-12 is 50% off); Abs covers that. Both 0 means equal.
type Tolerance struct {
	Rel float64 // largest difference relative to |want|
	Abs float64 // largest absolute difference, added to Rel*|want|
}

// allowed is the largest |got-want| t lets want have.
func (t Tolerance) allowed(want float64) float64 { return t.Abs + t.Rel*math.Abs(want) }

// String describes t as the rule it applies, for reports.
func (t Tolerance) String() string {
	return fmt.Sprintf("|got-want| <= %.3g + %.3g*|want|", t.Abs, t.Rel)
}

func (t Tolerance) check() error {
	switch {
	case !(t.Rel >= 0) || math.IsInf(t.Rel, 1):
		return fmt.Errorf("compare: relative tolerance (--rel) %v: want a finite number >= 0", t.Rel)
	case !(t.Abs >= 0) || math.IsInf(t.Abs, 1):
		return fmt.Errorf("compare: absolute tolerance (--abs) %v: want a finite number >= 0", t.Abs)
	}
	return nil
}

// Column is the agreement of one column.
type Column struct {
	Name   string  // the got file's header, or "got/want" when they differ
	MaxAbs float64 // largest |got-want|
	MaxRel float64 // largest |got-want|/|want| (+Inf where want is 0 and got is not)
	Over   int     // values outside the tolerance

	// The worst value: the one whose |got-want| is the largest multiple of
	// what the tolerance allows it (the largest |got-want| when the
	// tolerance allows nothing), the first of equals. WorstRow is its
	// 1-based data row, 0 when the files have no rows; WorstWhere names
	// it in the got file ("got.csv:5", or "got.parquet row 3" counting
	// from 0); WorstGot and WorstWant are its values.
	WorstRow             int
	WorstWhere           string
	WorstGot, WorstWant  float64
	worstScore, worstAbs float64
}

// Report is the result of comparing two files.
type Report struct {
	Got, Want string // the files compared
	Tol       Tolerance
	Rows      int
	Columns   []Column
}

// OK reports whether every value was within tolerance.
func (r *Report) OK() bool {
	for _, c := range r.Columns {
		if c.Over > 0 {
			return false
		}
	}
	return true
}

// Worst is the index in Columns of the column holding the worst value of
// all (see Column), or -1 when there are no rows.
func (r *Report) Worst() int {
	w := -1
	for i := range r.Columns {
		c := &r.Columns[i]
		if c.WorstRow == 0 {
			continue
		}
		if w < 0 || worse(c.worstScore, c.worstAbs, r.Columns[w].worstScore, r.Columns[w].worstAbs) {
			w = i
		}
	}
	return w
}

// worse orders values by score (|got-want| over what is allowed), then by
// |got-want|.
func worse(score, abs, thanScore, thanAbs float64) bool {
	return score > thanScore || score == thanScore && abs > thanAbs
}

// Err is nil when every value is within tolerance; otherwise an error
// saying how many values are outside it and naming the worst column, row
// and values.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	over := 0
	for _, c := range r.Columns {
		over += c.Over
	}
	c := &r.Columns[r.Worst()]
	return fmt.Errorf("%s differs from %s: %d values outside %s; worst: column %q at %s (data row %d), got %s want %s",
		r.Got, r.Want, over, r.Tol, c.Name, c.WorstWhere, c.WorstRow, num(c.WorstGot), num(c.WorstWant))
}

// Compare compares the prediction files got and want, each .csv (a header,
// then one row per line) or .parquet (numeric top-level columns), by their
// extension; either may be either. Columns are matched by position and
// their number must agree (a differing name is reported as "got/want"), as
// must the number of rows. Cells are read as internal/table reads numbers;
// a missing value (an empty CSV cell, NA, NaN, null; a Parquet null or
// NaN) matches only a missing value, and ±Inf (CSV "Inf", "-Inf") only
// itself. Errors name the file, the line or row, and the column.
func Compare(got, want string, tol Tolerance) (*Report, error) {
	if err := tol.check(); err != nil {
		return nil, err
	}
	rg, err := table.Open(got, table.Options{})
	if err != nil {
		return nil, err
	}
	defer rg.Close()
	rw, err := table.Open(want, table.Options{})
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	cg, cw := rg.Columns(), rw.Columns()
	if len(cg) != len(cw) {
		return nil, fmt.Errorf("%s has %d columns, %s has %d", got, len(cg), want, len(cw))
	}
	rep := &Report{Got: got, Want: want, Tol: tol, Columns: make([]Column, len(cg))}
	for i := range cg {
		rep.Columns[i].Name = cg[i].Name
		if cw[i].Name != cg[i].Name {
			rep.Columns[i].Name = cg[i].Name + "/" + cw[i].Name
		}
	}
	a, b := &cursor{r: rg}, &cursor{r: rw}
	for {
		okA, errA := a.next()
		okB, errB := b.next()
		if errA != nil {
			return nil, errA
		}
		if errB != nil {
			return nil, errB
		}
		if !okA && !okB {
			return rep, nil
		}
		if okA != okB {
			short := got
			if okA {
				short = want
			}
			return nil, fmt.Errorf("%s and %s differ in length: %s ends after %d data rows", got, want, short, rep.Rows)
		}
		rep.Rows++
		for j := range rep.Columns {
			x, err := cell(&a.c, j, a.i)
			if err != nil {
				return nil, err
			}
			y, err := cell(&b.c, j, b.i)
			if err != nil {
				return nil, err
			}
			rep.Columns[j].add(x, y, tol, rep.Rows, &a.c, a.i)
		}
	}
}

func (c *Column) add(x, y float64, tol Tolerance, n int, ch *table.Chunk, i int) {
	d := absDiff(x, y)
	// d is +Inf when x and y do not match and one is missing or infinite
	// (where allowed would be NaN or +Inf): never within tolerance.
	allowed := tol.allowed(y)
	var score float64
	switch {
	case d == 0:
	case allowed == 0 || math.IsInf(d, 1):
		score = math.Inf(1)
	default:
		score = d / allowed
	}
	if math.IsInf(d, 1) || d > allowed {
		c.Over++
	}
	c.MaxAbs = math.Max(c.MaxAbs, d)
	rel := d
	if d > 0 {
		rel = d / math.Abs(y) // +Inf when y is 0
	}
	c.MaxRel = math.Max(c.MaxRel, rel)
	if c.WorstRow == 0 || worse(score, d, c.worstScore, c.worstAbs) {
		c.WorstRow, c.WorstWhere, c.WorstGot, c.WorstWant = n, ch.Where(i), x, y
		c.worstScore, c.worstAbs = score, d
	}
}

// absDiff is |x-y|, with NaN (missing) equal only to NaN and an infinity
// only to itself: 0 when they match, +Inf when one is NaN or infinite and
// they do not.
func absDiff(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) {
		if math.IsNaN(x) && math.IsNaN(y) {
			return 0
		}
		return math.Inf(1)
	}
	if x == y {
		return 0
	}
	return math.Abs(x - y) // +Inf when either is infinite
}

// cell reads a number, NaN for a missing value. table refuses ±Inf as
// a feature value; a prediction file may hold one, which must then match.
func cell(c *table.Chunk, col, row int) (float64, error) {
	x, err := c.Float(col, row)
	if err == nil {
		return x, nil
	}
	if y, perr := strconv.ParseFloat(strings.TrimSpace(c.Text(col, row)), 64); perr == nil && math.IsInf(y, 0) {
		return y, nil
	}
	return 0, err
}

// cursor steps through a Reader's rows one at a time.
type cursor struct {
	r    *table.Reader
	c    table.Chunk
	i, n int
}

// chunkRows is how many rows a cursor reads at a time.
const chunkRows = 4096

// next moves to the next row; false at the end of the file.
func (k *cursor) next() (bool, error) {
	k.i++
	if k.i < k.n {
		return true, nil
	}
	n, err := k.r.Next(&k.c, chunkRows)
	if errors.Is(err, io.EOF) {
		k.n, k.i = 0, 0
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k.n, k.i = n, 0
	return true, nil
}

// num formats x for a message: the shortest form that reads back the same.
func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Print writes the report as a small table: the tolerance rule, one line
// per column (largest absolute and relative differences, values outside
// the tolerance, the worst row), and the worst value of all.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d rows compared, tolerance %s (numpy.isclose's rule)\n", r.Rows, r.Tol)
	for _, c := range r.Columns {
		verdict := "ok"
		if c.Over > 0 {
			verdict = fmt.Sprintf("%d over", c.Over)
		}
		fmt.Fprintf(w, "  %-12s max abs %.3g  max rel %.3g  worst row %d  %s\n", c.Name, c.MaxAbs, c.MaxRel, c.WorstRow, verdict)
	}
	if i := r.Worst(); i >= 0 {
		c := &r.Columns[i]
		fmt.Fprintf(w, "worst: column %q at %s (data row %d): got %s want %s\n", c.Name, c.WorstWhere, c.WorstRow, num(c.WorstGot), num(c.WorstWant))
	}
}

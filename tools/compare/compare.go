// Package compare checks two prediction files against each other, column by
// column: the parity check a team runs when it moves a model from its
// training library to predictd. Pure function of its inputs; no state.
package compare

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// Column is the agreement of one column.
type Column struct {
	Name   string
	MaxAbs float64 // largest |a-b|
	MaxRel float64 // largest |a-b|/|b| (|a-b| where b is 0)
	// WorstRow is the 1-based data row of MaxRel.
	WorstRow int
	Over     int // values whose relative error exceeds the tolerance
}

// Report is the result of comparing two files.
type Report struct {
	Rows    int
	Columns []Column
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

// Files compares CSV files a and b (same header, same number of rows; NaN or
// an empty cell matches only itself), counting values whose relative error
// exceeds rel. Columns are matched by position; headers must agree.
func Files(a, b string, rel float64) (*Report, error) {
	fa, err := os.Open(a)
	if err != nil {
		return nil, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	ra, rb := csv.NewReader(fa), csv.NewReader(fb)
	ha, err := ra.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", a, err)
	}
	hb, err := rb.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", b, err)
	}
	if len(ha) != len(hb) {
		return nil, fmt.Errorf("%s has %d columns, %s has %d", a, len(ha), b, len(hb))
	}
	rep := &Report{Columns: make([]Column, len(ha))}
	for i := range ha {
		rep.Columns[i].Name = ha[i]
		if hb[i] != ha[i] {
			rep.Columns[i].Name = ha[i] + "/" + hb[i]
		}
	}
	for line := 2; ; line++ {
		va, errA := ra.Read()
		vb, errB := rb.Read()
		if errors.Is(errA, io.EOF) && errors.Is(errB, io.EOF) {
			return rep, nil
		}
		if errors.Is(errA, io.EOF) || errors.Is(errB, io.EOF) {
			return nil, fmt.Errorf("%s and %s differ in length: one ends at line %d", a, b, line)
		}
		if errA != nil {
			return nil, fmt.Errorf("%s: %w", a, errA)
		}
		if errB != nil {
			return nil, fmt.Errorf("%s: %w", b, errB)
		}
		rep.Rows++
		for j := range va {
			x, err := parse(va[j])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %q: %v", a, line, ha[j], err)
			}
			y, err := parse(vb[j])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %q: %v", b, line, hb[j], err)
			}
			c := &rep.Columns[j]
			d, r := diff(x, y)
			c.MaxAbs = math.Max(c.MaxAbs, d)
			if r > c.MaxRel || c.WorstRow == 0 {
				c.MaxRel, c.WorstRow = r, rep.Rows
			}
			if r > rel {
				c.Over++
			}
		}
	}
}

func parse(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// diff returns the absolute and relative difference of x from y.
func diff(x, y float64) (abs, rel float64) {
	if math.IsNaN(x) || math.IsNaN(y) {
		if math.IsNaN(x) && math.IsNaN(y) {
			return 0, 0
		}
		return math.Inf(1), math.Inf(1)
	}
	if x == y {
		return 0, 0
	}
	abs = math.Abs(x - y)
	if y == 0 {
		return abs, abs
	}
	return abs, abs / math.Abs(y)
}

// Write prints the report as a small table.
func (r *Report) Write(w io.Writer, rel float64) {
	fmt.Fprintf(w, "%d rows compared, tolerance %.3g relative\n", r.Rows, rel)
	for _, c := range r.Columns {
		verdict := "ok"
		if c.Over > 0 {
			verdict = fmt.Sprintf("%d over", c.Over)
		}
		fmt.Fprintf(w, "  %-12s max abs %.3g  max rel %.3g (row %d)  %s\n", c.Name, c.MaxAbs, c.MaxRel, c.WorstRow, verdict)
	}
}

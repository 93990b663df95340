package contract

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Checker checks rows of numbers (a model's inputs, in the model's feature
// order) against a contract, value by value: the part of a contract the
// daemon can enforce on a single request. Rates and distributions need
// many rows and are tools/contract's. Build one with NewChecker; it is
// immutable and safe for concurrent use, and Check does not allocate.
type Checker struct {
	cols []valueCheck // one per feature
}

// valueCheck is the compiled contract of one feature.
type valueCheck struct {
	name     string
	on       bool // the contract has a column of this name
	typ      Type
	nullable bool
	min, max float64   // -Inf and +Inf when unbounded
	codes    []float64 // allowed values, ascending; nil: any
}

// Violation is one value that breaks the contract: the feature's index,
// the kind (UnexpectedType, OutOfRange, NewCategory or MissingRate for a
// missing value in a column that allows none) and the value.
type Violation struct {
	Feature int
	Kind    Kind
	Value   float64
}

// NewChecker compiles the contract's columns named like features (the
// model's inputs, in order); a feature the contract does not name is not
// checked, and neither is a contract column no feature has (a contract
// written for a training file lists its label too). A column matched to a
// feature must be bool, int or float, since a model's inputs are numbers:
// a bool is 0 or 1, an int's categories are its allowed codes.
func NewChecker(c *Contract, features []string) (*Checker, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	k := &Checker{cols: make([]valueCheck, len(features))}
	for i, name := range features {
		vc := &k.cols[i]
		vc.name = name
		col := c.Column(name)
		if col == nil {
			continue
		}
		if col.Type != Bool && !col.Type.Numeric() {
			return nil, fmt.Errorf("column %q is %s in the contract, but the model's input %q is a number: want bool, int or float", name, col.Type, name)
		}
		vc.on, vc.typ, vc.nullable = true, col.Type, col.Nullable()
		vc.min, vc.max = math.Inf(-1), math.Inf(1)
		if col.Min != nil {
			vc.min = *col.Min
		}
		if col.Max != nil {
			vc.max = *col.Max
		}
		if col.Categories != nil {
			vc.codes = make([]float64, 0, len(col.Categories))
			for _, s := range col.Categories {
				x := 0.0
				switch {
				case col.Type == Int:
					n, _ := strconv.ParseInt(s, 10, 64) // Check parsed it
					x = float64(n)
				case s == "true":
					x = 1
				}
				vc.codes = append(vc.codes, x)
			}
			slices.Sort(vc.codes)
		}
	}
	return k, nil
}

// Features is the number of features the Checker was built for.
func (k *Checker) Features() int { return len(k.cols) }

// Checks reports whether feature i has a contract column.
func (k *Checker) Checks(i int) bool { return k.cols[i].on }

// Check appends to dst the violations of row (one value per feature): at
// most one per feature, the first of missing, type, range, category in that
// order. It does not allocate when dst has room for Features() more.
func (k *Checker) Check(dst []Violation, row []float64) []Violation {
	if len(row) != len(k.cols) {
		panic(fmt.Sprintf("BUG: contract.Checker.Check with %d values for %d features", len(row), len(k.cols)))
	}
	for i := range k.cols {
		vc := &k.cols[i]
		if !vc.on {
			continue
		}
		if kind, bad := vc.check(row[i]); bad {
			dst = append(dst, Violation{Feature: i, Kind: kind, Value: row[i]})
		}
	}
	return dst
}

func (vc *valueCheck) check(x float64) (Kind, bool) {
	switch {
	case x != x:
		return MissingRate, !vc.nullable
	case math.IsInf(x, 0):
		return UnexpectedType, true
	case vc.typ == Int && x != math.Trunc(x):
		return UnexpectedType, true
	case vc.typ == Bool && x != 0 && x != 1:
		return UnexpectedType, true
	case x < vc.min || x > vc.max:
		return OutOfRange, true
	case vc.codes != nil:
		_, found := slices.BinarySearch(vc.codes, x)
		return NewCategory, !found
	}
	return 0, false
}

// Describe says what is wrong with v in words, for an error message: the
// field, what was expected and what was found.
func (k *Checker) Describe(v Violation) string {
	vc := &k.cols[v.Feature]
	x := strconv.FormatFloat(v.Value, 'g', -1, 64)
	switch v.Kind {
	case MissingRate:
		return fmt.Sprintf("field %q: a missing value, and the contract allows none (max_missing 0)", vc.name)
	case UnexpectedType:
		switch {
		case math.IsInf(v.Value, 0):
			return fmt.Sprintf("field %q: %s is not a finite number (want %s)", vc.name, x, vc.typ)
		case vc.typ == Bool:
			return fmt.Sprintf("field %q: %s is not a bool (want 0 or 1)", vc.name, x)
		}
		return fmt.Sprintf("field %q: %s is not an integer (want int)", vc.name, x)
	case OutOfRange:
		return fmt.Sprintf("field %q: %s is outside the range [%s, %s]", vc.name, x, fmtBound(vc.min), fmtBound(vc.max))
	case NewCategory:
		return fmt.Sprintf("field %q: %s is not one of the contract's %d categories", vc.name, x, len(vc.codes))
	}
	return fmt.Sprintf("field %q: %s: %s", vc.name, x, v.Kind)
}

// Name is feature i's name.
func (k *Checker) Name(i int) string { return k.cols[i].name }

func fmtBound(x float64) string {
	switch {
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsInf(x, 1):
		return "+inf"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

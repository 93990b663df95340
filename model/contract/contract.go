package contract

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Type is a column's type.
type Type string

const (
	Bool   Type = "bool"   // true or false (a model input: 1 or 0)
	Int    Type = "int"    // integral numbers
	Float  Type = "float"  // finite numbers
	String Type = "string" // text
	Time   Type = "time"   // RFC 3339 times (Parquet TIMESTAMP, INT96, DATE)
)

// Numeric reports whether values of type t are numbers (int or float).
func (t Type) Numeric() bool { return t == Int || t == Float }

// Policy says what a file's columns that the contract does not list are.
type Policy string

const (
	// UnexpectedError reports each one as an anomaly (the default).
	UnexpectedError Policy = "error"
	// UnexpectedIgnore lets them through unchecked.
	UnexpectedIgnore Policy = "ignore"
)

// Kind is an anomaly kind.
type Kind int

const (
	// ColumnMissing: a required column is absent (TFDV
	// SCHEMA_MISSING_COLUMN).
	ColumnMissing Kind = iota
	// UnexpectedColumn: a column the contract does not list (TFDV
	// SCHEMA_NEW_COLUMN), unless unexpected_columns is ignore.
	UnexpectedColumn
	// UnexpectedType: a value that is not of the column's type (TFDV
	// INT_TYPE_NOT_INT_STRING, FLOAT_TYPE_STRING_NOT_FLOAT, ...): text in a
	// number column, a fraction in an int column, ±Inf.
	UnexpectedType
	// OutOfRange: a number below min or above max (TFDV
	// INT_TYPE_SMALL_INT/BIG_INT, FLOAT_TYPE_SMALL_FLOAT/BIG_FLOAT).
	OutOfRange
	// NewCategory: a value outside the column's categories (TFDV
	// ENUM_TYPE_UNEXPECTED_STRING_VALUES).
	NewCategory
	// MissingRate: more missing values than max_missing allows (TFDV
	// FEATURE_TYPE_LOW_FRACTION_PRESENT). Per value (the daemon), a
	// missing value in a column whose max_missing is 0.
	MissingRate
	// SkewLInfinity: a categorical column's value proportions differ from
	// the baseline's by more than l_infinity_max in the L-infinity norm
	// (TFDV COMPARATOR_L_INFTY_HIGH).
	SkewLInfinity
	// SkewJensenShannon: a numeric column's binned distribution is
	// farther than jensen_shannon_max from the baseline's in Jensen-Shannon
	// distance, base 2 (TFDV COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH).
	SkewJensenShannon
	numKinds
)

// NumKinds is the number of kinds; Kind values are 0..NumKinds-1.
const NumKinds = int(numKinds)

var kindNames = [...]string{
	ColumnMissing:     "column_missing",
	UnexpectedColumn:  "unexpected_column",
	UnexpectedType:    "unexpected_type",
	OutOfRange:        "out_of_range",
	NewCategory:       "new_category",
	MissingRate:       "missing_rate",
	SkewLInfinity:     "skew_l_infinity",
	SkewJensenShannon: "skew_jensen_shannon",
}

// String is the kind's snake_case name, as in reports and metric labels.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// DefaultSkew is the default skew threshold of both distances: TFDV's
// customary 0.1 for L-infinity and Jensen-Shannon.
const DefaultSkew = 0.1

// Contract is a parsed data contract. The zero value expects nothing and
// refuses every column.
type Contract struct {
	// UnexpectedColumns is what a column the contract does not list is;
	// "" reads as UnexpectedError.
	UnexpectedColumns Policy
	// Columns in the order of the file they were inferred from; names are
	// unique.
	Columns []Column
}

// Column is the contract of one column.
type Column struct {
	Name string
	Type Type
	// Required says the column must be present (default true).
	Required bool
	// MaxMissing is the highest allowed rate of missing values, 0..1
	// (default 0: none). A column with MaxMissing 0 is not nullable: the
	// daemon refuses (or counts) a single missing value in it.
	MaxMissing float64
	// Min and Max bound a number (int and float columns); nil: unbounded.
	Min, Max *float64
	// Categories are the allowed values of a string or bool column (as
	// text: true, false), or the allowed codes of an int column (as
	// integers); nil: any value.
	Categories []string
	// Profile is the expected distribution; nil: none (no skew check).
	Profile *Profile
	// Skew is the largest distance from Profile (or from a baseline file)
	// allowed: Jensen-Shannon for a numeric profile, L-infinity for a
	// categorical one. 0 means DefaultSkew.
	Skew float64
	// Line is where Parse found the column in its file (0 when built in
	// code), for messages that point a person at it; Write ignores it.
	Line int
}

// Nullable reports whether a single missing value is allowed.
func (c *Column) Nullable() bool { return c.MaxMissing > 0 }

// SkewThreshold is Skew, or DefaultSkew when it is 0.
func (c *Column) SkewThreshold() float64 {
	if c.Skew == 0 {
		return DefaultSkew
	}
	return c.Skew
}

// Profile is a column's expected distribution: numeric (Edges) or
// categorical (Values), never both.
type Profile struct {
	// Edges, strictly ascending and finite, cut the numbers into
	// len(Edges)+1 bins as model.Distribution does: bin 0 is
	// (-Inf, Edges[0]), bin i is [Edges[i-1], Edges[i]), the last is
	// [Edges[len-1], +Inf).
	Edges []float64
	// Values are the most frequent categories (as text), most frequent
	// first.
	Values []string
	// Proportions are the shares of the non-missing values per bin
	// (len(Edges)+1 of them) or per value (len(Values)); each in 0..1.
	Proportions []float64
	// Other is the share of every value not in Values (categorical only).
	Other float64
}

// Categorical reports whether p profiles categories (Edges is nil)
// rather than numbers (a constant column's numeric profile has an empty,
// non-nil Edges: one bin).
func (p *Profile) Categorical() bool { return p.Edges == nil }

// NumBins is the number of bins: len(Edges)+1, or len(Values)+1 with
// "other" last.
func (p *Profile) NumBins() int {
	if p.Categorical() {
		return len(p.Values) + 1
	}
	return len(p.Edges) + 1
}

// Bin is the numeric bin of x (not NaN).
func (p *Profile) Bin(x float64) int {
	i, found := slices.BinarySearch(p.Edges, x)
	if found {
		return i + 1 // [Edges[i], Edges[i+1])
	}
	return i
}

// Shares returns the profile's proportions by bin, "other" last for a
// categorical profile.
func (p *Profile) Shares() []float64 {
	if !p.Categorical() {
		return p.Proportions
	}
	return append(slices.Clone(p.Proportions), p.Other)
}

// Column returns the column named name, or nil.
func (c *Contract) Column(name string) *Column {
	for i := range c.Columns {
		if c.Columns[i].Name == name {
			return &c.Columns[i]
		}
	}
	return nil
}

// Check reports the first inconsistency of c: what Parse refuses, for
// contracts built in code (tools/contract's infer). The error names the
// column and field.
func (c *Contract) Check() error {
	switch c.UnexpectedColumns {
	case "", UnexpectedError, UnexpectedIgnore:
	default:
		return fmt.Errorf("unexpected_columns %q: want error or ignore", c.UnexpectedColumns)
	}
	seen := make(map[string]bool, len(c.Columns))
	for i := range c.Columns {
		col := &c.Columns[i]
		if seen[col.Name] {
			return fmt.Errorf("columns[%d]: column %q appears twice", i, col.Name)
		}
		seen[col.Name] = true
		if err := col.check(); err != nil {
			return fmt.Errorf("columns[%d] (%q): %v", i, col.Name, err)
		}
	}
	return nil
}

// check reports the first inconsistent field of col, named as in YAML.
func (col *Column) check() error {
	if col.Name == "" {
		return fmt.Errorf("name: empty")
	}
	switch col.Type {
	case Bool, Int, Float, String, Time:
	default:
		return fmt.Errorf("type %q: want bool, int, float, string or time", col.Type)
	}
	if !(col.MaxMissing >= 0 && col.MaxMissing <= 1) {
		return fmt.Errorf("max_missing %v: want a rate from 0 to 1", col.MaxMissing)
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"min", col.Min}, {"max", col.Max}} {
		if b.v == nil {
			continue
		}
		if !col.Type.Numeric() {
			return fmt.Errorf("%s: only int and float columns have a range, this one is %s", b.name, col.Type)
		}
		if math.IsNaN(*b.v) || math.IsInf(*b.v, 0) {
			return fmt.Errorf("%s %v: want a finite number", b.name, *b.v)
		}
	}
	if col.Min != nil && col.Max != nil && *col.Min > *col.Max {
		return fmt.Errorf("min %v is above max %v", *col.Min, *col.Max)
	}
	if col.Categories != nil {
		switch col.Type {
		case String, Bool, Int:
		default:
			return fmt.Errorf("categories: only string, bool and int columns have categories, this one is %s", col.Type)
		}
		set := make(map[string]bool, len(col.Categories))
		for j, v := range col.Categories {
			switch col.Type {
			case Bool:
				if v != "true" && v != "false" {
					return fmt.Errorf("categories[%d] %q: a bool column's categories are true and false", j, v)
				}
			case Int:
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					return fmt.Errorf("categories[%d] %q: an int column's categories are integer codes", j, v)
				}
			}
			if set[v] {
				return fmt.Errorf("categories[%d] %q appears twice", j, v)
			}
			set[v] = true
		}
	}
	if !(col.Skew >= 0 && col.Skew <= 1) {
		return fmt.Errorf("skew threshold %v: want a distance from 0 to 1", col.Skew)
	}
	if p := col.Profile; p != nil {
		if err := p.check(col.Type); err != nil {
			return fmt.Errorf("profile: %v", err)
		}
	}
	return nil
}

// proportionSlack is how far from 1 a profile's shares may sum: room for
// hand edits and rounding in print; the shares are normalized before use.
const proportionSlack = 0.01

func (p *Profile) check(t Type) error {
	switch {
	case p.Edges != nil && p.Values != nil:
		return fmt.Errorf("both edges and values: a profile is numeric (edges) or categorical (values)")
	case p.Edges != nil && !t.Numeric():
		return fmt.Errorf("edges: only int and float columns have a numeric profile, this one is %s", t)
	case p.Values != nil && t != String && t != Bool && t != Int:
		return fmt.Errorf("values: only string, bool and int columns have a categorical profile, this one is %s", t)
	}
	for i, e := range p.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return fmt.Errorf("edges[%d] %v: want a finite number", i, e)
		}
		if i > 0 && !(p.Edges[i-1] < e) {
			return fmt.Errorf("edges[%d] %v: want edges strictly ascending (after %v)", i, e, p.Edges[i-1])
		}
	}
	seen := make(map[string]bool, len(p.Values))
	for i, v := range p.Values {
		if seen[v] {
			return fmt.Errorf("values[%d] %q appears twice", i, v)
		}
		seen[v] = true
	}
	want := len(p.Edges) + 1
	if p.Categorical() {
		want = len(p.Values)
	} else if p.Other != 0 {
		return fmt.Errorf("other: only a categorical profile (values) has one")
	}
	if len(p.Proportions) != want {
		if p.Categorical() {
			return fmt.Errorf("proportions: %d of them for %d values, want one per value", len(p.Proportions), len(p.Values))
		}
		return fmt.Errorf("proportions: %d of them for %d edges, want %d (one per bin, the bins below the first edge and from the last one included)", len(p.Proportions), len(p.Edges), want)
	}
	sum := 0.0
	for i, x := range append(slices.Clone(p.Proportions), p.Other) {
		if !(x >= 0 && x <= 1) {
			name := fmt.Sprintf("proportions[%d]", i)
			if i == len(p.Proportions) {
				name = "other"
			}
			return fmt.Errorf("%s %v: want a share from 0 to 1", name, x)
		}
		sum += x
	}
	if math.Abs(sum-1) > proportionSlack+1e-12 { // 0.5+0.49 is 0.99 and a hair
		return fmt.Errorf("proportions (with other) sum to %v, want 1", sum)
	}
	return nil
}

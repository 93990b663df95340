package transform

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Op names, as they appear in a Step's Op and in the encoding.
const (
	OpImpute      = "impute"
	OpClip        = "clip"
	OpLog1p       = "log1p"
	OpStandardize = "standardize"
	OpMinMax      = "minmax"
	OpBucketize   = "bucketize"
	// OpScaler is (x - Offset) * Scale with given Offset and Scale: the
	// ONNX-ML Scaler's formula, written by importers (model/onnx), never
	// fitted; a training spec uses standardize or minmax.
	OpScaler = "scaler"

	EncOneHot  = "onehot"
	EncOrdinal = "ordinal"
	EncHash    = "hash"
	EncCross   = "cross"
)

// Kind says what a Value holds.
type Kind uint8

const (
	Missing Kind = iota
	Number
	String
)

// Value is one raw input value: a number, a string or missing. The zero
// Value is missing.
type Value struct {
	Kind Kind
	Num  float64
	Str  string
}

// Num is a number Value; NaN is missing.
func Num(x float64) Value {
	if math.IsNaN(x) {
		return Value{}
	}
	return Value{Kind: Number, Num: x}
}

// Str is a string Value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// Row is one row's raw values, indexed as Pipeline.Inputs.
type Row []Value

// Step is one numeric step. Op says which; the other fields belong to
// some ops only (the encoding refuses the rest): spec fields are set by
// the person, fitted fields by Fit.
type Step struct {
	Op string `json:"op"`

	// impute: Strategy mean, median or constant; Fill is the constant
	// (spec) or the fitted mean or median; Indicator adds the
	// Name_missing column.
	Strategy  string  `json:"strategy,omitempty"`
	Fill      float64 `json:"fill,omitempty"`
	Indicator bool    `json:"indicator,omitempty"`

	// clip: bounds (spec); nil is unbounded on that side.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`

	// standardize: Mean and Scale (fitted); minmax: Scale and Offset
	// (fitted); scaler: Offset and Scale (given by an importer).
	Mean   float64 `json:"mean,omitempty"`
	Scale  float64 `json:"scale,omitempty"`
	Offset float64 `json:"offset,omitempty"`

	// bucketize: Edges given (spec), or Bins quantile bins (spec, >= 2)
	// whose Edges Fit sets. Edges are strictly increasing and finite.
	Bins  int       `json:"bins,omitempty"`
	Edges []float64 `json:"edges,omitempty"`
}

// Encoding is a categorical feature's encoding.
type Encoding struct {
	Op string `json:"op"` // onehot, ordinal, hash or cross

	// onehot, ordinal: Categories (fitted) are the frequent categories
	// in increasing byte order; Missing says the missing category was
	// seen (onehot: and frequent; it takes the column after Categories).
	Categories []string `json:"categories,omitempty"`
	Missing    bool     `json:"missing,omitempty"`
	// Rare (onehot, fitted) are the categories seen fewer than
	// MinFrequency times, in increasing byte order; RareMissing says the
	// missing category was one. They share the last column.
	Rare        []string `json:"rare,omitempty"`
	RareMissing bool     `json:"rare_missing,omitempty"`

	// MinFrequency (onehot, spec): categories seen fewer times are
	// infrequent. 0 folds none.
	MinFrequency int `json:"min_frequency,omitempty"`
	// Unknown (spec): onehot error|zeros|infrequent|other; ordinal
	// error|value. Empty is "error".
	Unknown string `json:"unknown,omitempty"`
	// UnknownValue (ordinal, spec) is what an unseen category gives
	// when Unknown is "value".
	UnknownValue float64 `json:"unknown_value,omitempty"`

	// Buckets (hash, cross; spec) is the number of output columns, >= 1.
	Buckets int `json:"buckets,omitempty"`
}

// Feature is one input column (two for a cross) and what is done to it:
// Encode for a categorical feature, else a numeric one whose Steps may be
// empty (the number passed through, missing as NaN).
type Feature struct {
	// Name is the base of the output column names.
	Name string `json:"name"`
	// Columns are the input column names: one, or two for a cross.
	Columns []string  `json:"columns"`
	Steps   []Step    `json:"steps,omitempty"`
	Encode  *Encoding `json:"encode,omitempty"`

	in    [2]int         // indexes into Pipeline.Inputs
	index map[string]int // onehot/ordinal: category -> column, -1 for rare
	width int
}

// Pipeline is a fitted list of Features; see the package doc.
type Pipeline struct {
	features []Feature
	norm     string // NormL1, NormL2 or "": the row-wise stage after the features
	inputs   []string
	numeric  []bool // per input: read as a number
	names    []string
}

// Inputs are the raw columns a Row holds, in order: each column the
// features read, in order of first use.
func (p *Pipeline) Inputs() []string { return p.inputs }

// Numeric reports whether input i (an index into Inputs) is a number
// (read by numeric steps) rather than a category string.
func (p *Pipeline) Numeric(i int) bool { return p.numeric[i] }

// Width is the number of output columns.
func (p *Pipeline) Width() int { return len(p.names) }

// Names are the output column names, Width of them.
func (p *Pipeline) Names() []string { return p.names }

// Features are the fitted features; the caller must not modify them.
func (p *Pipeline) Features() []Feature { return p.features }

// ErrUnknownCategory is wrapped by Apply's error for an unseen category
// under Unknown "error".
var ErrUnknownCategory = errors.New("unknown category")

// Apply appends raw's output columns to dst and returns it. raw holds one
// Value per input (Inputs). A numeric input takes a Number, a Missing, or
// a String parsed by strconv.ParseFloat after trimming spaces (CSV text;
// "NaN" is missing, ±Inf an error, as internal/table reads a cell); a
// categorical input takes a String, used as it is ("NA" is a category
// here: deciding which text is missing is the row reader's job, as
// ChunkRow does with table.Chunk.Null), or Missing. Anything else, and an
// unseen category under Unknown "error", is an error naming the column; dst
// then holds unspecified values past its original length. Apply does not
// allocate when dst has room and it succeeds.
func (p *Pipeline) Apply(dst []float64, raw Row) ([]float64, error) {
	if len(raw) != len(p.inputs) {
		return dst, fmt.Errorf("transform: row has %d values, want %d (%s)", len(raw), len(p.inputs), strings.Join(p.inputs, ", "))
	}
	if p.norm != "" {
		start := len(dst)
		dst, err := p.applyFeatures(dst, raw)
		if err == nil {
			normalize(p.norm, dst[start:])
		}
		return dst, err
	}
	return p.applyFeatures(dst, raw)
}

// Normalize is the row-wise stage run over all output columns after the
// features: NormL1, NormL2, or "" for none.
func (p *Pipeline) Normalize() string { return p.norm }

// Row-wise normalizations (Pipeline.Normalize), as scikit-learn's
// Normalizer: each output row divided by its L1 norm (the sum of absolute
// values) or its L2 norm (the square root of the sum of squares); a row
// whose norm is 0 is left as it is. A NaN in the row makes every column
// NaN.
const (
	NormL1 = "l1"
	NormL2 = "l2"
)

func normalize(norm string, row []float64) {
	var n float64
	switch norm {
	case NormL1:
		for _, x := range row {
			n += math.Abs(x)
		}
	case NormL2:
		for _, x := range row {
			n += x * x
		}
		n = math.Sqrt(n)
	}
	if n == 0 {
		return
	}
	for i := range row {
		row[i] /= n
	}
}

func (p *Pipeline) applyFeatures(dst []float64, raw Row) ([]float64, error) {
	for i := range p.features {
		f := &p.features[i]
		n := len(dst)
		dst = grow(dst, f.width)
		out := dst[n:]
		if f.Encode == nil {
			x, err := p.number(raw, f.in[0])
			if err != nil {
				return dst, err
			}
			applySteps(f.Steps, x, out)
			continue
		}
		if err := p.encode(f, raw, out); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func grow(dst []float64, n int) []float64 {
	l := len(dst)
	if cap(dst)-l < n {
		d := make([]float64, l, 2*cap(dst)+n)
		copy(d, dst)
		dst = d
	}
	return dst[:l+n]
}

func (p *Pipeline) number(raw Row, in int) (float64, error) {
	v := raw[in]
	switch v.Kind {
	case Missing:
		return math.NaN(), nil
	case Number:
		return v.Num, nil
	case String:
		s := strings.TrimSpace(v.Str)
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(x, 0) {
			return 0, fmt.Errorf("transform: column %s: want a finite number, got %s", p.inputs[in], quote(v.Str))
		}
		return x, nil
	}
	return 0, fmt.Errorf("transform: column %s: bad value kind %d", p.inputs[in], v.Kind)
}

func (p *Pipeline) category(raw Row, in int) (string, bool, error) {
	v := raw[in]
	switch v.Kind {
	case Missing:
		return "", false, nil
	case String:
		return v.Str, true, nil
	}
	return "", false, fmt.Errorf("transform: column %s: want a category string, got the number %v", p.inputs[in], v.Num)
}

// applySteps writes x's outputs through steps into out (len = width).
func applySteps(steps []Step, x float64, out []float64) {
	missing := false
	ind := -1
	j := 1
	for i := range steps {
		s := &steps[i]
		if s.Op == OpImpute && s.Indicator {
			ind = j
			j++
		}
	}
	for i := range steps {
		x = applyStep(&steps[i], x, &missing)
	}
	out[0] = x
	if ind > 0 {
		if missing {
			out[ind] = 1
		} else {
			out[ind] = 0
		}
	}
}

func applyStep(s *Step, x float64, missing *bool) float64 {
	switch s.Op {
	case OpImpute:
		if math.IsNaN(x) {
			*missing = true
			return s.Fill
		}
	case OpClip:
		if s.Min != nil && x < *s.Min {
			x = *s.Min
		}
		if s.Max != nil && x > *s.Max {
			x = *s.Max
		}
	case OpLog1p:
		return math.Log1p(x)
	case OpStandardize:
		return (x - s.Mean) / s.Scale
	case OpMinMax:
		return x*s.Scale + s.Offset
	case OpScaler:
		return (x - s.Offset) * s.Scale
	case OpBucketize:
		if math.IsNaN(x) {
			return x
		}
		return float64(bin(s.Edges, x))
	}
	return x
}

// bin is the number of edges <= x; edges increase strictly.
func bin(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (p *Pipeline) encode(f *Feature, raw Row, out []float64) error {
	e := f.Encode
	clear(out)
	switch e.Op {
	case EncHash, EncCross:
		a, ok, err := p.category(raw, f.in[0])
		if err != nil || !ok {
			return err
		}
		h := fnvAdd(fnvOffset, a)
		if e.Op == EncCross {
			b, ok, err := p.category(raw, f.in[1])
			if err != nil || !ok {
				return err
			}
			h = fnvAdd(fnvByte(h, 0xFF), b)
		}
		out[h%uint64(e.Buckets)] = 1
		return nil
	}
	s, ok, err := p.category(raw, f.in[0])
	if err != nil {
		return err
	}
	k, known := len(e.Categories), false // len(Categories) is the missing category's column
	switch {
	case ok:
		k, known = f.index[s]
	case e.Missing:
		known = true
	case e.RareMissing:
		k, known = -1, true
	}
	if e.Op == EncOrdinal {
		switch {
		case !ok:
			out[0] = math.NaN()
		case known:
			out[0] = float64(k)
		case e.Unknown == "value":
			out[0] = e.UnknownValue
		default:
			return fmt.Errorf("transform: column %s: %w %s (seen in training: %d categories)", f.Columns[0], ErrUnknownCategory, quote(s), len(e.Categories))
		}
		return nil
	}
	if known && k >= 0 {
		out[k] = 1
		return nil
	}
	slot := len(out) - 1 // the infrequent or other column, when there is one
	switch {
	case known: // a rare category, or a rare missing value
		out[slot] = 1
	case e.Unknown == "other" || (e.Unknown == "infrequent" && e.hasSlot()):
		out[slot] = 1
	case e.Unknown == "zeros" || e.Unknown == "infrequent":
	default:
		what := quote(s)
		if !ok {
			what = "missing value"
		}
		return fmt.Errorf("transform: column %s: %w %s (seen in training: %d categories)", f.Columns[0], ErrUnknownCategory, what, len(e.Categories))
	}
	return nil
}

// hasSlot says a onehot encoding has a last column for infrequent (and,
// under Unknown "other", unseen) categories.
func (e *Encoding) hasSlot() bool {
	return len(e.Rare) > 0 || e.RareMissing || e.Unknown == "other"
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 {
	h ^= uint64(b)
	return h * fnvPrime
}

// Hash is FNV-1a 64 of s's bytes: the hash feature's bucket is Hash(s) mod
// Buckets.
func Hash(s string) uint64 { return fnvAdd(fnvOffset, s) }

// CrossHash is the cross feature's hash of a and b: FNV-1a 64 over a's
// bytes, one 0xFF byte, then b's bytes.
func CrossHash(a, b string) uint64 { return fnvAdd(fnvByte(fnvAdd(fnvOffset, a), 0xFF), b) }

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

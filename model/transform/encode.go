package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// FormatVersion is the encoding's version field.
const FormatVersion = 1

type encoded struct {
	Version  int       `json:"version"`
	Features []Feature `json:"features"`
	// Normalize is Pipeline.Normalize; omitted when "", so pipelines
	// without it encode as before it existed.
	Normalize string `json:"normalize,omitempty"`
}

// Encode is p's stable JSON form: fields in a fixed order, floats in the
// shortest form that reads back the same.
func (p *Pipeline) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(encoded{Version: FormatVersion, Features: p.features, Normalize: p.norm}); err != nil {
		return nil, fmt.Errorf("transform: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reads Encode's form strictly (see the package doc) and returns
// a Pipeline ready for Apply.
func Decode(data []byte) (*Pipeline, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e encoded
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("transform: decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("transform: decode: data after the pipeline")
	}
	if e.Version != FormatVersion {
		return nil, fmt.Errorf("transform: decode: version: %d, want %d", e.Version, FormatVersion)
	}
	if len(e.Features) == 0 {
		return nil, errors.New("transform: decode: features: empty")
	}
	return Build(e.Features, e.Normalize)
}

// Build returns the pipeline of fitted features (checked as Decode checks
// them; the slice is the pipeline's from then on) followed by the
// row-wise stage norm: NormL1, NormL2 or "" for none. Importers use it for
// the transforms a model file states (model/onnx: an ONNX-ML Scaler,
// Imputer, OneHotEncoder or Normalizer before the model).
func Build(features []Feature, norm string) (*Pipeline, error) {
	if len(features) == 0 {
		return nil, errors.New("transform: features: empty")
	}
	switch norm {
	case "", NormL1, NormL2:
	default:
		return nil, fmt.Errorf("transform: normalize: %s, want l1 or l2", quote(norm))
	}
	p, err := resolve(features, true)
	if err != nil {
		return nil, err
	}
	p.norm = norm
	return p, nil
}

// MaxBuckets bounds hash and cross Buckets, bucketize Bins and Edges and
// the number of a onehot feature's categories, so that a decoded pipeline
// cannot ask Apply for an absurd width (a dense row of MaxBuckets float64s
// is 512 KiB).
const MaxBuckets = 1 << 16

// CheckSpec checks one spec feature as NewFitter does (its fields, not
// its relation to other features), without building its output names.
func CheckSpec(f Feature) error { return f.check("feature", false) }

// check validates f; fitted says fitted fields must be set (else they
// must be unset, bar given edges and constant fills).
func (f *Feature) check(path string, fitted bool) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("transform: %s%s: %s", path, field, fmt.Sprintf(format, args...))
	}
	if f.Name == "" {
		return bad(".name", "empty")
	}
	if len(f.Steps) > 0 && f.Encode != nil {
		return bad("", "want steps or encode, not both")
	}
	wantCols := 1
	if f.Encode != nil && f.Encode.Op == EncCross {
		wantCols = 2
	}
	if len(f.Columns) != wantCols {
		return bad(".columns", "%d columns, want %d", len(f.Columns), wantCols)
	}
	for j, c := range f.Columns {
		if c == "" {
			return bad(".columns["+strconv.Itoa(j)+"]", "empty")
		}
	}
	if f.Encode != nil {
		return f.Encode.check(path+".encode", fitted)
	}
	imputes := 0
	for i := range f.Steps {
		if err := f.Steps[i].check(path+".steps["+strconv.Itoa(i)+"]", fitted); err != nil {
			return err
		}
		if f.Steps[i].Op == OpImpute {
			imputes++
		}
	}
	if imputes > 1 {
		return bad(".steps", "%d impute steps, want at most one", imputes)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (s *Step) check(path string, fitted bool) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("transform: %s%s: %s", path, field, fmt.Sprintf(format, args...))
	}
	// only lists the fields s.Op may set; any other set field is an error.
	only := func(allowed ...string) error {
		set := map[string]bool{
			"strategy": s.Strategy != "", "fill": s.Fill != 0, "indicator": s.Indicator,
			"min": s.Min != nil, "max": s.Max != nil, "mean": s.Mean != 0, "scale": s.Scale != 0,
			"offset": s.Offset != 0, "bins": s.Bins != 0, "edges": s.Edges != nil,
		}
		for _, a := range allowed {
			delete(set, a)
		}
		for _, name := range []string{"strategy", "fill", "indicator", "min", "max", "mean", "scale", "offset", "bins", "edges"} {
			if set[name] {
				return bad("."+name, "not a field of op %s", s.Op)
			}
		}
		return nil
	}
	switch s.Op {
	case OpImpute:
		switch s.Strategy {
		case "mean", "median":
			if !fitted && s.Fill != 0 {
				return bad(".fill", "set for strategy %s, which fits it", s.Strategy)
			}
		case "constant":
		default:
			return bad(".strategy", "%s, want mean, median or constant", quote(s.Strategy))
		}
		if !finite(s.Fill) {
			return bad(".fill", "%v, want a finite number", s.Fill)
		}
		return only("strategy", "fill", "indicator")
	case OpClip:
		if s.Min == nil && s.Max == nil {
			return bad("", "clip without min or max")
		}
		if s.Min != nil && !finite(*s.Min) {
			return bad(".min", "%v, want a finite number", *s.Min)
		}
		if s.Max != nil && !finite(*s.Max) {
			return bad(".max", "%v, want a finite number", *s.Max)
		}
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			return bad(".max", "%v below min %v", *s.Max, *s.Min)
		}
		return only("min", "max")
	case OpLog1p:
		return only()
	case OpScaler:
		if !fitted {
			return bad(".op", "scaler is written by importers with the model's own offset and scale; a training spec uses standardize or minmax")
		}
		if !finite(s.Offset) || !finite(s.Scale) {
			return bad("", "offset %v, scale %v: want finite numbers", s.Offset, s.Scale)
		}
		return only("scale", "offset")
	case OpStandardize, OpMinMax:
		if fitted {
			if !finite(s.Mean) || !finite(s.Offset) {
				return bad("", "non-finite mean or offset")
			}
			if !finite(s.Scale) || s.Scale == 0 {
				return bad(".scale", "%v, want a finite non-zero number", s.Scale)
			}
		} else if s.Mean != 0 || s.Scale != 0 || s.Offset != 0 {
			return bad("", "fitted fields set in a spec")
		}
		if s.Op == OpStandardize {
			return only("mean", "scale")
		}
		return only("scale", "offset")
	case OpBucketize:
		if s.Bins < 0 || s.Bins == 1 || s.Bins > MaxBuckets {
			return bad(".bins", "%d, want 0 (edges given) or 2 to %d", s.Bins, MaxBuckets)
		}
		if !fitted && s.Bins == 0 && len(s.Edges) == 0 {
			return bad(".edges", "want edges or bins")
		}
		if !fitted && s.Bins > 0 && s.Edges != nil {
			return bad(".edges", "set with bins, which fits them")
		}
		if len(s.Edges) > MaxBuckets {
			return bad(".edges", "%d edges, want at most %d", len(s.Edges), MaxBuckets)
		}
		for i, e := range s.Edges {
			if !finite(e) || (i > 0 && e <= s.Edges[i-1]) {
				return bad(".edges["+strconv.Itoa(i)+"]", "%v, want finite and above the edge before it", e)
			}
		}
		return only("bins", "edges")
	}
	return bad(".op", "%s, want impute, clip, log1p, standardize, minmax, bucketize or scaler", quote(s.Op))
}

func (e *Encoding) check(path string, fitted bool) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("transform: %s%s: %s", path, field, fmt.Sprintf(format, args...))
	}
	onehot := e.Op == EncOneHot
	hashed := e.Op == EncHash || e.Op == EncCross
	if !onehot && !hashed && e.Op != EncOrdinal {
		return bad(".op", "%s, want onehot, ordinal, hash or cross", quote(e.Op))
	}
	switch {
	case hashed && (e.Buckets < 1 || e.Buckets > MaxBuckets):
		return bad(".buckets", "%d, want 1 to %d", e.Buckets, MaxBuckets)
	case !hashed && e.Buckets != 0:
		return bad(".buckets", "not a field of op %s", e.Op)
	case hashed && (e.Categories != nil || e.Missing || e.Unknown != "" || e.MinFrequency != 0):
		return bad("", "categories, missing, unknown or min_frequency set for op %s", e.Op)
	case !onehot && (e.Rare != nil || e.RareMissing || e.MinFrequency != 0):
		return bad("", "rare, rare_missing or min_frequency set for op %s", e.Op)
	case e.MinFrequency < 0:
		return bad(".min_frequency", "%d, want >= 0", e.MinFrequency)
	case e.Op != EncOrdinal && e.UnknownValue != 0:
		return bad(".unknown_value", "not a field of op %s", e.Op)
	case !finite(e.UnknownValue):
		return bad(".unknown_value", "%v, want a finite number", e.UnknownValue)
	}
	switch e.Unknown {
	case "", "error":
	case "zeros", "infrequent", "other":
		if !onehot {
			return bad(".unknown", "%s is for onehot; ordinal takes error or value", quote(e.Unknown))
		}
	case "value":
		if e.Op != EncOrdinal {
			return bad(".unknown", "value is for ordinal; onehot takes error, zeros, infrequent or other")
		}
	default:
		return bad(".unknown", "%s, want error, zeros, infrequent, other (onehot) or value (ordinal)", quote(e.Unknown))
	}
	if hashed {
		return nil
	}
	if !fitted {
		if e.Categories != nil || e.Missing || e.Rare != nil || e.RareMissing {
			return bad("", "fitted fields set in a spec")
		}
		return nil
	}
	if len(e.Categories) == 0 && !e.Missing && len(e.Rare) == 0 && !e.RareMissing {
		return bad(".categories", "no category")
	}
	if len(e.Categories)+len(e.Rare) > MaxBuckets {
		return bad(".categories", "%d categories, want at most %d", len(e.Categories)+len(e.Rare), MaxBuckets)
	}
	if e.Missing && e.RareMissing {
		return bad(".rare_missing", "set with missing")
	}
	seen := map[string]bool{}
	for _, list := range []struct {
		name string
		cats []string
	}{{"categories", e.Categories}, {"rare", e.Rare}} {
		for i, c := range list.cats {
			if i > 0 && c <= list.cats[i-1] {
				return bad("."+list.name+"["+strconv.Itoa(i)+"]", "%s not after %s (want increasing byte order)", quote(c), quote(list.cats[i-1]))
			}
			if seen[c] {
				return bad("."+list.name+"["+strconv.Itoa(i)+"]", "%s also in categories", quote(c))
			}
			seen[c] = true
		}
	}
	return nil
}

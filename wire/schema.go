package wire

import (
	"fmt"
	"strings"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
)

// InputName is the name of the single 2-D input tensor, [batch, features],
// in the Open Inference Protocol.
const InputName = "input"

// OutputName is the name of the Open Inference Protocol output tensor.
const OutputName = "output"

// maxListedFeatures caps the feature names an error message lists.
const maxListedFeatures = 8

// Schema is what a model version's requests are checked against: the
// features in the model's order, which of them are categorical or strings,
// and whether a value may be missing. Immutable after NewSchema; safe for
// concurrent use.
type Schema struct {
	names       []string
	index       map[string]int
	categorical []bool
	// str marks the string inputs (model.FeatureString) of a version with
	// transforms: a request sends a JSON string (a category) or null
	// there, kept in the Request's string arena (see Request.Category).
	// nil when there are none; nstr counts them.
	str  []bool
	nstr int
	// allowMissing: JSON null is accepted and decoded as NaN. Tree models
	// route missing values; dense models have no use for them, unless the
	// version has transforms, whose imputers may fill them (and
	// model.TransformRow refuses what is left missing for a dense model).
	allowMissing bool
	kind         model.Kind
	// featureList is "a, b, c" (capped), for error messages.
	featureList string
	// hasInputFeature: a feature is named InputName, which OIP requests
	// must then disambiguate by shape (see DecodeInfer).
	hasInputFeature bool
	// join, when the model reads online features, says which entity keys
	// instances may carry instead of those features.
	join *featcache.JoinPlan
	// label says how the model's class label is read from its
	// predictions (WithLabel); NoLabel: it has none, and requests that
	// ask for it are refused.
	label LabelRule
	// classNames, when set (WithClassNames), are the names the label
	// output carries in place of class indices; classBytes holds them as
	// byte slices for the gRPC response, made once.
	classNames []string
	classBytes [][]byte
}

// WithLabel returns a copy of s whose model has class labels read by rule
// (ClassLabel): OIP requests may then ask for the output "label" and TF
// Serving requests for "return_labels". s itself is unchanged.
func (s *Schema) WithLabel(rule LabelRule) *Schema {
	c := *s
	c.label = rule
	return &c
}

// Label is the rule the model's class label is read by; NoLabel when it
// has none.
func (s *Schema) Label() LabelRule { return s.label }

// WithClassNames returns a copy of s whose label output carries names[k]
// for class k in place of k (model.Manifest.ClassLabels): the OIP output
// "label" is then BYTES and TF Serving's "labels" strings. A label the
// rule reads outside [0, len(names)) is treated as one it cannot read.
// nil names: class indices, as s. It panics if s has no label rule.
// s itself is unchanged.
func (s *Schema) WithClassNames(names []string) *Schema {
	if s.label == NoLabel && names != nil {
		panic("BUG: class names for a model without a class label")
	}
	c := *s
	c.classNames = names
	c.classBytes = nil
	for _, n := range names {
		c.classBytes = append(c.classBytes, []byte(n))
	}
	return &c
}

// ClassNames are the names the label output carries (WithClassNames);
// nil when it carries class indices.
func (s *Schema) ClassNames() []string { return s.classNames }

// LabelDatatype is the OIP datatype of the label output: "BYTES" with
// class names, else "INT64".
func (s *Schema) LabelDatatype() string {
	if s.classNames != nil {
		return "BYTES"
	}
	return "INT64"
}

// NewSchema builds the schema of m's requests. m must have passed the
// manifest checks (unique, non-empty feature names). For a version with
// transforms (m.Transform set) the schema is over its raw inputs,
// m.Features: a FeatureString input takes a JSON string or null, a
// FeatureFloat input a number or null.
func NewSchema(m *model.Manifest) *Schema {
	s := &Schema{
		names:        make([]string, len(m.Features)),
		index:        make(map[string]int, len(m.Features)),
		categorical:  make([]bool, len(m.Features)),
		allowMissing: m.Kind == model.KindTrees || m.Transform != nil,
		kind:         m.Kind,
	}
	for i, f := range m.Features {
		s.names[i] = f.Name
		s.index[f.Name] = i
		s.categorical[i] = f.Type == model.FeatureCategorical
		if f.Type == model.FeatureString {
			if s.str == nil {
				s.str = make([]bool, len(m.Features))
			}
			s.str[i] = true
			s.nstr++
		}
	}
	_, s.hasInputFeature = s.index[InputName]
	shown := s.names[:min(len(s.names), maxListedFeatures)]
	s.featureList = strings.Join(shown, ", ")
	if more := len(s.names) - len(shown); more > 0 {
		s.featureList += fmt.Sprintf(", and %d more", more)
	}
	return s
}

// NewJoinSchema is NewSchema for a model that reads online features (its
// manifest names feature_views): its instances may carry entity keys in
// place of the features its join plan, built over defs, fetches by them.
// An error names the feature_views entry that does not fit defs or m.
func NewJoinSchema(m *model.Manifest, defs *featcache.Defs) (*Schema, error) {
	s := NewSchema(m)
	in := featcache.ModelInputs{
		Kind:         string(m.Kind),
		Features:     s.names,
		Categorical:  s.categorical,
		AllowMissing: s.allowMissing,
		FeatureViews: m.FeatureViews,
	}
	var err error
	if s.join, err = featcache.NewJoinPlan(defs, in); err != nil {
		return nil, err
	}
	// The join writes numbers into Rows; a string input's value is an
	// index into the request's string arena there.
	for f := range s.names {
		if k, v := s.join.Source(f); k >= 0 && s.IsString(f) {
			return nil, fmt.Errorf("feature_views: view %s would fill %q, a string input (a category) of this version: feature views serve numbers; send %q in the request instead", v.Name, s.names[f], s.names[f])
		}
	}
	return s, nil
}

// IsString reports whether feature f (an index into the model's features)
// is a string input: its value in Request.Rows is an index into the
// request's string arena, read with Request.Category, not a number.
func (s *Schema) IsString(f int) bool { return s.str != nil && s.str[f] }

// NumStrings is the number of string inputs.
func (s *Schema) NumStrings() int { return s.nstr }

// Join returns the schema's join plan, or nil for a model that reads no
// online features.
func (s *Schema) Join() *featcache.JoinPlan { return s.join }

// NumFeatures is the number of values in a decoded row.
func (s *Schema) NumFeatures() int { return len(s.names) }

// lookup returns the index of the feature named b, or -1.
func (s *Schema) lookup(b []byte) int {
	// The conversion in a map index does not allocate.
	if i, ok := s.index[string(b)]; ok {
		return i
	}
	return -1
}

// stringList names the string inputs, "a, b" (capped), for error messages.
func (s *Schema) stringList() string {
	var b strings.Builder
	n := 0
	for f, name := range s.names {
		if !s.IsString(f) {
			continue
		}
		if n == maxListedFeatures {
			fmt.Fprintf(&b, ", and %d more", s.nstr-n)
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		n++
	}
	return b.String()
}

// Name is the name of feature f, 0 <= f < NumFeatures.
func (s *Schema) Name(f int) string { return s.names[f] }

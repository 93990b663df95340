package score

import (
	"fmt"
	"math"
	"strconv"

	"github.com/predictd/predictd/model"
)

// rowRules are the server's rules for a value of a version without feature
// transforms (wire.NewSchema and the request decoders), applied by the
// readers OpenModelInput returns so that a row predicts offline only if the
// server would predict it online:
//
//   - a missing value (NaN) only for a tree ensemble, which routes it; a
//     dense model (linear, mlp) has no use for one and the server refuses
//     null there with 400;
//   - no infinite value (the server refuses a number too large for
//     float64; JSON has no infinity);
//   - a categorical feature takes integer values only.
//
// A version with transforms takes null for any raw input and
// model.TransformRow decides, on both paths alike (see OpenModelInput).
// rowRules is immutable once made; readers share it across goroutines.
type rowRules struct {
	kind         model.Kind
	takesMissing bool
	names        []string
	categorical  []bool // by feature index
}

func newRowRules(m *model.Manifest) *rowRules {
	ru := &rowRules{kind: m.Kind, takesMissing: m.Kind == model.KindTrees, names: make([]string, len(m.Features)), categorical: make([]bool, len(m.Features))}
	for i, f := range m.Features {
		ru.names[i] = f.Name
		ru.categorical[i] = f.Type == model.FeatureCategorical
	}
	return ru
}

// check reports whether v may be feature f's value; where is "file:line"
// (CSV) or "file row N" (Parquet), text the value as the file holds it
// ("" to format v) for the message.
func (ru *rowRules) check(v float64, f int, where, text string) error {
	if math.IsNaN(v) {
		if ru.takesMissing {
			return nil
		}
		return fmt.Errorf("%s: column %q: %w; model kind %s takes no missing values (the server refuses null here too)", where, ru.names[f], model.ErrMissingValue, ru.kind)
	}
	if text == "" {
		text = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if math.IsInf(v, 0) {
		return fmt.Errorf("%s: column %q: %s is not a finite number (the server refuses it too)", where, ru.names[f], text)
	}
	if ru.categorical[f] && v != math.Trunc(v) {
		return fmt.Errorf("%s: column %q: %s is not a category: a categorical feature takes integer values (the server refuses it too)", where, ru.names[f], text)
	}
	return nil
}

// ok is check's fast path: whether v passes without building an error.
func (ru *rowRules) ok(v float64, f int) bool {
	if math.IsNaN(v) {
		return ru.takesMissing
	}
	return !math.IsInf(v, 0) && (!ru.categorical[f] || v == math.Trunc(v))
}

// applyRules makes r, a reader OpenInput returned for m.Features, hold its
// values to the server's rules (rowRules).
func applyRules(r RowReader, m *model.Manifest) {
	ru := newRowRules(m)
	switch r := r.(type) {
	case *CSVReader:
		r.rules = ru
	case *ParquetReader:
		r.rules = ru
	default:
		panic(fmt.Sprintf("BUG: score: applyRules on a %T", r))
	}
}

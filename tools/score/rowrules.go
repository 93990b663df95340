package score

import (
	"fmt"
	"math"

	"github.com/predictd/predictd/model"
)

// takesMissing is the server's rule (wire.NewSchema) for a version without
// feature transforms: only a tree ensemble takes a missing value (it routes
// NaN); a dense model (linear, mlp) has no use for one, and the server
// refuses a null there with 400. A version with transforms takes null for
// any raw input and model.TransformRow decides, on both paths alike.
func takesMissing(k model.Kind) bool { return k == model.KindTrees }

// missingError is the error for a missing value where the model of kind k
// takes none. where is "file:line" (CSV) or "file row N" (Parquet). It
// wraps model.ErrMissingValue, as model.TransformRow's error does.
func missingError(where, column string, k model.Kind) error {
	return fmt.Errorf("%s: column %q: %w; model kind %s takes no missing values (the server refuses null here too)", where, column, model.ErrMissingValue, k)
}

// refuseMissing makes r, a reader OpenInput returned, refuse missing
// values with missingError when a model of kind k takes none
// (takesMissing); otherwise it leaves r as it is.
func refuseMissing(r RowReader, k model.Kind) {
	if takesMissing(k) {
		return
	}
	switch r := r.(type) {
	case *CSVReader:
		r.dense = k
	case *ParquetReader:
		r.dense = k
	default:
		panic(fmt.Sprintf("BUG: score: refuseMissing on a %T", r))
	}
}

// firstNaN returns the index of the first NaN in v, or -1.
func firstNaN(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) {
			return i
		}
	}
	return -1
}

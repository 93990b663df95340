package score

import (
	"fmt"
	"runtime"
	"time"

	"github.com/predictd/predictd/model"
)

// Options configures a scoring run.
type Options struct {
	// Features are the columns the predictor takes, in its order: the
	// manifest's Columns(). The length must equal the predictor's
	// NumFeatures. ScoreFile opens its input with OpenInput for them
	// (input columns matched by name, others ignored); ScoreModelFile
	// opens it with OpenModelInput, so that a version with feature
	// transforms reads its raw inputs and transforms them into these.
	Features []model.Feature
	// Outputs name the output columns: the manifest's Outputs, or its
	// RawOutputs when Raw is set. The length must equal the predictor's
	// NumOutputs (NumMargins when Raw is set).
	Outputs []string
	// Keep names input columns (ids, labels) that ScoreFile and
	// ScoreModelFile copy to the output ahead of the predictions, in this
	// order, as text: a CSV cell as it is in the input, a Parquet value
	// formatted as internal/table's Chunk.Text formats it ("" for null);
	// a Parquet output holds them as required STRING columns. They are
	// read in a second pass over the input file, so standard input
	// cannot have them. A name the input lacks is an error naming it and
	// the file's columns; a name that is also an output's is an error.
	// Score, which is handed a RowReader, refuses a non-empty Keep.
	Keep []string
	// Raw asks for untransformed margins (passed to Predict).
	Raw bool
	// BatchRows is the number of rows per chunk handed to a worker; 0 means
	// the default, 1024. Memory held is about 2·Workers·BatchRows rows.
	BatchRows int
	// Workers is the number of goroutines calling Predict; 0 means the
	// default, runtime.GOMAXPROCS(0).
	Workers int
}

// DefaultBatchRows is the default Options.BatchRows.
const DefaultBatchRows = 1024

// DefaultOptions returns Options with BatchRows and Workers set to their
// defaults; the caller fills Features and Outputs from the model's manifest.
func DefaultOptions() Options {
	return Options{BatchRows: DefaultBatchRows, Workers: runtime.GOMAXPROCS(0)}
}

// Stats describes a finished run.
type Stats struct {
	// Rows is the number of rows scored and written.
	Rows int64
	// Elapsed is the wall time of the run, opening the files included.
	Elapsed time.Duration
}

// check fills defaults into o and reports the first field that does not fit p.
func (o *Options) check(p model.Predictor) error {
	if o.BatchRows == 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	want := p.NumOutputs()
	kind := "outputs"
	if o.Raw {
		want, kind = p.NumMargins(), "raw margins"
	}
	switch {
	case o.BatchRows < 0:
		return fmt.Errorf("score options: BatchRows is %d, want a positive number (0 for the default)", o.BatchRows)
	case o.Workers < 0:
		return fmt.Errorf("score options: Workers is %d, want a positive number (0 for the default)", o.Workers)
	case len(o.Features) == 0:
		return fmt.Errorf("score options: Features is empty, want the model's input features")
	case len(o.Features) != p.NumFeatures():
		return fmt.Errorf("score options: Features lists %d features, the model takes %d", len(o.Features), p.NumFeatures())
	case len(o.Outputs) != want:
		return fmt.Errorf("score options: Outputs names %d columns, the model gives %d %s per row", len(o.Outputs), want, kind)
	}
	if err := checkNames("Features", featureNames(o.Features)); err != nil {
		return err
	}
	return checkNames("Outputs", o.Outputs)
}

// checkNames reports an empty or repeated name in a list of columns.
func checkNames(field string, names []string) error {
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			return fmt.Errorf("score options: %s[%d] has no name", field, i)
		}
		if seen[n] {
			return fmt.Errorf("score options: %s names %q twice", field, n)
		}
		seen[n] = true
	}
	return nil
}

func featureNames(fs []model.Feature) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

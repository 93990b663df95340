package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/score"
)

// DefaultMaxRows is how many rows `predictd bench` reads from a file: enough
// to defeat caches and branch predictors, few enough to load in a moment.
const DefaultMaxRows = 100_000

// ReadRows reads up to maxRows rows of features from path, a .csv file with a
// header (score.CSVReader) or a .parquet file (score.ParquetReader), and
// returns them row-major in features' order, NaN for a missing value. Errors
// name the file; a file without rows is an error.
func ReadRows(path string, features []model.Feature, maxRows int) ([]float64, error) {
	if maxRows <= 0 {
		return nil, fmt.Errorf("read rows from %s: maxRows is %d, want at least 1", path, maxRows)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".csv" && ext != ".parquet" {
		return nil, fmt.Errorf("input %s: unknown format: want a .csv or .parquet file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r score.RowReader
	if ext == ".csv" {
		if r, err = score.NewCSVReader(f, path, features); err != nil {
			return nil, err
		}
	} else {
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		pr, err := score.NewParquetReader(f, fi.Size(), path, features)
		if err != nil {
			return nil, err
		}
		defer pr.Close()
		r = pr
	}
	return readRows(r, path, len(features), maxRows)
}

// ReadModelRows reads up to maxRows rows of the columns the loaded version
// l's model takes (l.Manifest.Columns()) from path, opened by
// score.OpenModelInput: a version with feature transforms reads its raw
// inputs and transforms them, so the rows are what its Predict is handed
// when serving. Otherwise as ReadRows with l.Manifest.Features.
func ReadModelRows(path string, l *model.Loaded, maxRows int) ([]float64, error) {
	if maxRows <= 0 {
		return nil, fmt.Errorf("read rows from %s: maxRows is %d, want at least 1", path, maxRows)
	}
	if path == "-" {
		return nil, fmt.Errorf("input -: unknown format: want a .csv or .parquet file")
	}
	r, closeIn, err := score.OpenModelInput(path, l)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	return readRows(r, path, len(l.Manifest.Columns()), maxRows)
}

// readRows reads up to maxRows rows of nf values from r.
func readRows(r score.RowReader, path string, nf, maxRows int) ([]float64, error) {
	const chunk = 4096
	var rows []float64
	for n := 0; n < maxRows; {
		want := min(chunk, maxRows-n)
		rows = slices.Grow(rows, want*nf)
		buf := rows[len(rows) : len(rows)+want*nf]
		k, err := r.Read(buf)
		rows = rows[:len(rows)+k*nf]
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("input %s: no rows", path)
	}
	return rows, nil
}

// Package importer turns another library's model file into a model.Imported:
// it reads the file, records its checksum, and dispatches on the format.
package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/lightgbm"
	"github.com/predictd/predictd/model/native"
	"github.com/predictd/predictd/model/onnx"
	"github.com/predictd/predictd/model/xgboost"
)

// Formats lists the accepted values of the format argument. "sklearn" is
// "native": scikit-learn estimators come in as native JSON, written by the
// exporter docs/native-format.md gives.
var Formats = []string{"xgboost", "lightgbm", "native", "sklearn", "onnx"}

// BadModelError is an error in the model file itself (as opposed to an I/O
// failure), so the command line can exit with status 2.
type BadModelError struct {
	Path string
	Err  error
}

func (e *BadModelError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *BadModelError) Unwrap() error { return e.Err }

// maxFileBytes bounds the model file read into memory.
const maxFileBytes = 4 << 30

// ImportFile reads path as a model of the given format. Errors name the file.
// For "xgboost" the file may be JSON or UBJSON, told apart by content; a
// legacy binary XGBoost model is refused with a command, naming path, that
// converts it to JSON.
func ImportFile(format, path string) (*model.Imported, error) {
	var parse func([]byte) (*model.Imported, error)
	switch format {
	case "xgboost":
		parse = xgboost.Parse
	case "lightgbm":
		parse = lightgbm.Parse
	case "native", "sklearn":
		parse = native.Parse
	case "onnx":
		parse = onnx.Parse
	default:
		return nil, fmt.Errorf("format %s: want one of %s", model.Quote(format), strings.Join(Formats, ", "))
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileBytes {
		return nil, &BadModelError{path, fmt.Errorf("%d bytes, more than the %d this build reads", st.Size(), int64(maxFileBytes))}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	imp, err := parse(data)
	if err != nil {
		// The conversion command names the file as the user gave it.
		var legacy *xgboost.LegacyBinaryError
		if errors.As(err, &legacy) {
			legacy.File = path
		}
		return nil, &BadModelError{path, err}
	}
	sum := sha256.Sum256(data)
	imp.Source.File = filepath.Base(path)
	imp.Source.SHA256 = hex.EncodeToString(sum[:])
	return imp, nil
}

// RenameFeatures gives imp's features the names given, in the model's
// order (import --feature-names): for a format whose files carry no names
// (ONNX graphs name one input tensor, so features are <input>_<j>;
// XGBoost files without feature_names are f0, f1, ...), so that CSV
// columns and request fields can use the training data's names. There
// must be one name per feature, each non-empty, at most 256 bytes of
// printable UTF-8 without commas, and no name twice; types are kept.
func RenameFeatures(imp *model.Imported, names []string) error {
	if len(names) != len(imp.Features) {
		return fmt.Errorf("%d feature names for a model of %d features (%s)", len(names), len(imp.Features), featureList(imp.Features))
	}
	seen := make(map[string]int, len(names))
	for i, n := range names {
		switch {
		case n == "":
			return fmt.Errorf("feature name %d is empty", i+1)
		case len(n) > 256 || !utf8.ValidString(n) || strings.ContainsFunc(n, func(r rune) bool { return r == ',' || !unicode.IsPrint(r) }):
			return fmt.Errorf("feature name %d %s: want at most 256 bytes of printable UTF-8 without commas", i+1, model.Quote(n))
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("feature name %s given twice (names %d and %d)", model.Quote(n), j+1, i+1)
		}
		seen[n] = i
	}
	for i := range imp.Features {
		imp.Features[i].Name = names[i]
	}
	return nil
}

// SetClassLabels sets (or replaces) imp's class labels, the names its
// label output then carries (model.Manifest.ClassLabels). It refuses a
// model that has no class label (a regression model, a binary model whose
// output is a score rather than a probability) and labels that
// model.CheckClassLabels refuses (a wrong count, an empty, repeated,
// invalid or overlong name), saying which.
func SetClassLabels(imp *model.Imported, labels []string) error {
	want := model.ClassCount(imp.Task, imp.Classes)
	switch {
	case want == 0:
		return fmt.Errorf("a %s model has no classes to name; class labels are for binary and multiclass models", imp.Task)
	case !model.HasClassLabel(imp.Task, imp.Model.NumOutputs(), model.LinkOf(imp.Model)):
		return fmt.Errorf("this %s model outputs %s, not a probability or a class, so it has no class label to name", imp.Task, outputNames(imp.Outputs))
	case len(labels) != want:
		return fmt.Errorf("%d class labels for a %s model of %d classes: give %d, in the model's class order", len(labels), imp.Task, want, want)
	}
	if err := model.CheckClassLabels(imp.Task, imp.Classes, labels); err != nil {
		return err
	}
	imp.ClassLabels = labels
	return nil
}

// outputNames lists outputs' names and meanings, for an error.
func outputNames(outs []model.Output) string {
	var s []string
	for _, o := range outs {
		s = append(s, fmt.Sprintf("%s (%s)", o.Name, o.Meaning))
	}
	return strings.Join(s, ", ")
}

// featureList is the first few feature names, for an error.
func featureList(fs []model.Feature) string {
	var s []string
	for i, f := range fs {
		if i == 8 {
			s = append(s, fmt.Sprintf("and %d more", len(fs)-8))
			break
		}
		s = append(s, f.Name)
	}
	return strings.Join(s, ", ")
}

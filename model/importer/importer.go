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

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/lightgbm"
	"github.com/predictd/predictd/model/native"
	"github.com/predictd/predictd/model/onnx"
	"github.com/predictd/predictd/model/xgboost"
)

// Formats lists the accepted values of the format argument.
var Formats = []string{"xgboost", "lightgbm", "native", "onnx"}

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
	case "native":
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

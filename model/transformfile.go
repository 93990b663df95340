package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/predictd/predictd/model/transform"
)

// A version trained by predictd (tools/train) carries the fitted feature
// transforms of its inputs (model/transform): the Pipeline's stable JSON,
// stored in the version folder under a name made from its checksum and
// recorded in the manifest with its size and sha256 like the payload. Such
// a version has two lists of columns:
//
//   - Manifest.Features are the raw inputs a request or a scored file
//     carries, the Pipeline's Inputs in its order: FeatureFloat for a
//     numeric input, FeatureString for a category string.
//   - Manifest.ModelFeatures are the columns the payload takes, the
//     Pipeline's output Names, all FeatureFloat.
//
// Unlike the reference, the transform is part of the model: Open reads and
// checks it, and a version whose transform cannot be read does not load.
// The reference of such a version profiles ModelFeatures, what the model
// sees (Columns).

// TransformFile is the manifest's record of a version's fitted transforms.
type TransformFile struct {
	// File is a plain file name in the version folder.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// MaxTransformBytes bounds a transform file.
const MaxTransformBytes = 64 << 20

func (t *TransformFile) check() error {
	switch {
	case !plainFileName(t.File):
		return fmt.Errorf("transform file %s: want a file name in the version folder, not a path", Quote(t.File))
	case len(t.SHA256) != 64:
		return fmt.Errorf("transform sha256 %s: want 64 hex digits", Quote(t.SHA256))
	case t.Bytes <= 0 || t.Bytes > MaxTransformBytes:
		return fmt.Errorf("transform bytes %d is outside [1, %d]", t.Bytes, MaxTransformBytes)
	}
	return nil
}

// Columns is what m's payload takes, in order: ModelFeatures for a
// version with transforms, Features otherwise.
func (m *Manifest) Columns() []Feature {
	if m.Transform != nil {
		return m.ModelFeatures
	}
	return m.Features
}

// transformFileName is the file a transform with this sha256 is stored in.
func transformFileName(sum []byte) string {
	return "transform-" + hex.EncodeToString(sum[:8]) + ".json"
}

// InputFeatures is the manifest's raw input list for p: one Feature per
// Input, FeatureFloat for a numeric one and FeatureString for a category.
func InputFeatures(p *transform.Pipeline) []Feature {
	fs := make([]Feature, len(p.Inputs()))
	for i, name := range p.Inputs() {
		fs[i] = Feature{Name: name, Type: FeatureString}
		if p.Numeric(i) {
			fs[i].Type = FeatureFloat
		}
	}
	return fs
}

// checkTransform reports whether p fits m: m.Features are p's inputs and
// m.ModelFeatures its outputs, names and types.
func checkTransform(p *transform.Pipeline, m *Manifest) error {
	want := InputFeatures(p)
	if !slices.Equal(m.Features, want) {
		return fmt.Errorf("the manifest's features (%d) are not the transform's inputs (%d) in order, with float for a number and string for a category", len(m.Features), len(want))
	}
	names := p.Names()
	if len(m.ModelFeatures) != len(names) {
		return fmt.Errorf("the manifest lists %d model_features, the transform writes %d columns", len(m.ModelFeatures), len(names))
	}
	for i, f := range m.ModelFeatures {
		if f.Name != names[i] || f.Type != FeatureFloat {
			return fmt.Errorf("model_features[%d] is %s (%s), the transform's column %d is %s (float)", i, Quote(f.Name), f.Type, i, Quote(names[i]))
		}
	}
	return nil
}

// encodeTransformFile encodes p and returns the file's bytes and its
// manifest record.
func encodeTransformFile(p *transform.Pipeline) ([]byte, *TransformFile, error) {
	data, err := p.Encode()
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxTransformBytes {
		return nil, nil, fmt.Errorf("transform: %d bytes encoded, more than %d", len(data), MaxTransformBytes)
	}
	sum := sha256.Sum256(data)
	return data, &TransformFile{File: transformFileName(sum[:]), SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(data))}, nil
}

// readTransform reads, checks and decodes the transform of the version in
// dir whose manifest is m: a file of the wrong size or checksum, one that
// does not decode, or a pipeline that does not fit m is refused with an
// error naming the file.
func readTransform(dir string, m *Manifest) (*transform.Pipeline, error) {
	tf := m.Transform
	data, path, err := readSidecar(dir, "transform", tf.File, tf.Bytes, tf.SHA256)
	if err != nil {
		return nil, err
	}
	p, err := transform.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkTransform(p, m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ErrMissingValue is wrapped by TransformRow's error for a row whose
// transformed value is missing where the model takes none.
var ErrMissingValue = errors.New("missing value")

// TransformRow appends the model columns of raw (one Value per input of
// p, as Pipeline.Apply takes it) to dst. For a model that takes no
// missing values (takesMissing false: a dense model; trees route NaN), a
// column the transform leaves NaN is an error wrapping ErrMissingValue
// that names the column and the input it came from. Serving, batch
// scoring and training all build a version's rows through this function.
// It does not allocate when dst has room and it succeeds.
func TransformRow(dst []float64, p *transform.Pipeline, takesMissing bool, raw transform.Row) ([]float64, error) {
	n := len(dst)
	dst, err := p.Apply(dst, raw)
	if err != nil || takesMissing {
		return dst, err
	}
	for j, x := range dst[n:] {
		if x != x {
			return dst, fmt.Errorf("column %s: %w; the model takes none (the version's transform has no impute step for it)", p.Names()[j], ErrMissingValue)
		}
	}
	return dst, nil
}

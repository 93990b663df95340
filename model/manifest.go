package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// FormatVersion is the artifact format this build writes and reads.
const FormatVersion = 1

// FeatureType is the type of an input feature.
type FeatureType string

const (
	FeatureFloat       FeatureType = "float"
	FeatureCategorical FeatureType = "categorical" // integer category codes
	// FeatureString is a raw category string, an input of a version with
	// transforms only (see TransformFile).
	FeatureString FeatureType = "string"
)

// Feature is one input column, in the model's order.
type Feature struct {
	Name string      `json:"name"`
	Type FeatureType `json:"type"`
}

// Output is one column of a model's prediction.
type Output struct {
	Name string `json:"name"`
	// Meaning says what the number is, e.g. "probability of class 1".
	Meaning string `json:"meaning"`
}

// Source records where an imported model came from.
type Source struct {
	Format string `json:"format"` // "xgboost-json", "xgboost-ubjson", "lightgbm-text", "onnx", "native-json", "predictd-train"
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Library and LibraryVersion name the producer where the file says it.
	Library        string `json:"library,omitempty"`
	LibraryVersion string `json:"library_version,omitempty"`
	// Objective is the training objective as the file names it.
	Objective string `json:"objective,omitempty"`
	// Booster is the ensemble method (gbtree, dart, gbdt, rf).
	Booster string `json:"booster,omitempty"`
}

// Payload locates and checks the encoded model next to the manifest.
type Payload struct {
	// File is the payload's name inside the version folder: a plain file
	// name, never a path.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Bytes is the payload file's size; a file of any other size is
	// refused before it is read.
	Bytes int64 `json:"bytes"`
	// DecodedBytes is the size of the decompressed body, recorded at
	// import; decompression stops past it. 0 (manifests written before the
	// field) means undeclared: the body may then be up to MaxPayloadBytes.
	DecodedBytes int64 `json:"decoded_bytes,omitempty"`
}

// Manifest describes one model version. Lineage and Metrics are kept
// verbatim for the training and evaluation tools that fill them.
type Manifest struct {
	FormatVersion int    `json:"format_version"`
	Name          string `json:"name"`
	Version       int    `json:"version"`
	Kind          Kind   `json:"kind"`
	Task          Task   `json:"task"`
	Classes       int    `json:"classes,omitempty"`
	// ClassLabels names the classes of a classifier, in the model's class
	// order (binary: index 0 is the class whose probability is 1-p, index
	// 1 p's class): the names its label output carries in place of class
	// indices. Empty for a model without names; when set, CheckClassLabels
	// holds and the model has a label rule (HasClassLabel).
	ClassLabels []string  `json:"class_labels,omitempty"`
	Features    []Feature `json:"features"`
	Outputs     []Output  `json:"outputs"`
	// RawOutputs names the untransformed margins (score --raw).
	RawOutputs []Output  `json:"raw_outputs"`
	Created    time.Time `json:"created"`
	Source     Source    `json:"source"`
	Payload    Payload   `json:"payload"`
	// FeatureViews names the online feature views (or single features,
	// "view:feature") the daemon fetches this model's inputs from, by the
	// entity keys a request carries: a model feature named like a feature
	// of a listed view is filled from the store unless the request sends
	// it. Resolved against the feature definitions when served.
	FeatureViews []string `json:"feature_views,omitempty"`
	// Precision is the arithmetic a dense model (kind linear or mlp) is
	// served and scored in: "float64", the source library's own (within
	// about 1e-13 of scikit-learn and numpy), or "float32", the SIMD
	// kernels (faster for wide MLPs, within float32 rounding: see
	// DensePrecision). Empty for trees, and in manifests written before
	// the field, which then take DensePrecision's default.
	Precision string `json:"precision,omitempty"`

	// Transform locates the version's fitted feature transforms (see
	// TransformFile); nil for a model that takes its features as they
	// come. With it, Features are the raw inputs and ModelFeatures the
	// columns the payload takes.
	Transform     *TransformFile `json:"transform,omitempty"`
	ModelFeatures []Feature      `json:"model_features,omitempty"`

	Lineage json.RawMessage `json:"lineage,omitempty"`
	Metrics json.RawMessage `json:"metrics,omitempty"`
	// Reference locates the version's training-data profile (see
	// ReadReference); nil when it has none.
	Reference *ReferenceFile `json:"reference,omitempty"`
	// Contract locates the version's data contract (see ReadContract); nil
	// when it has none.
	Contract *ContractFile `json:"contract,omitempty"`
}

// Dense-model precisions (Manifest.Precision).
const (
	PrecisionFloat64 = "float64"
	PrecisionFloat32 = "float32"
)

// DensePrecision is the arithmetic m's dense model runs in: Precision when
// set (import records it: float64 for a graph of DOUBLE tensors); otherwise
// float64 for linear models (a dot product costs no more in float64, and
// scikit-learn computes in float64) and for MLPs from scikit-learn (native
// JSON), float32 for ONNX MLP graphs (which ONNX Runtime runs in float32
// when their tensors are FLOAT). "" for trees.
func (m *Manifest) DensePrecision() string {
	switch {
	case m.Kind != KindLinear && m.Kind != KindMLP:
		return ""
	case m.Precision != "":
		return m.Precision
	case m.Kind == KindMLP && m.Source.Format == "onnx":
		return PrecisionFloat32
	}
	return PrecisionFloat64
}

// checkPrecision reports a precision that kind cannot have.
func checkPrecision(kind Kind, p string) error {
	switch {
	case p == "":
		return nil
	case kind != KindLinear && kind != KindMLP:
		return fmt.Errorf("precision %s: only dense models (linear, mlp) have one", Quote(p))
	case p != PrecisionFloat64 && p != PrecisionFloat32:
		return fmt.Errorf("precision %s: want float64 or float32", Quote(p))
	case kind == KindLinear && p == PrecisionFloat32:
		return fmt.Errorf("precision float32: a linear model is always served in float64 (it costs no more)")
	}
	return nil
}

// check reports the first field of m that is missing or inconsistent.
func (m *Manifest) check() error {
	switch {
	case m.FormatVersion != FormatVersion:
		return fmt.Errorf("format_version %d, this build reads %d", m.FormatVersion, FormatVersion)
	case !ValidName(m.Name):
		return fmt.Errorf("name %s is not a valid model name", Quote(m.Name))
	case m.Version <= 0:
		return fmt.Errorf("version %d, want a positive integer", m.Version)
	case m.Kind != KindTrees && m.Kind != KindLinear && m.Kind != KindMLP:
		return fmt.Errorf("unknown kind %s", Quote(string(m.Kind)))
	case len(m.Features) == 0:
		return fmt.Errorf("no features")
	case len(m.Outputs) == 0:
		return fmt.Errorf("no outputs")
	case m.Payload.File == "" || m.Payload.SHA256 == "":
		return fmt.Errorf("payload file and sha256 are required")
	case !plainFileName(m.Payload.File):
		return fmt.Errorf("payload file %s: want a file name in the version folder, not a path", Quote(m.Payload.File))
	case m.Payload.Bytes < 0 || m.Payload.Bytes > maxPayloadFileBytes:
		return fmt.Errorf("payload bytes %d is outside [0, %d]", m.Payload.Bytes, int64(maxPayloadFileBytes))
	case m.Payload.DecodedBytes < 0 || m.Payload.DecodedBytes > MaxPayloadBytes:
		return fmt.Errorf("payload decoded_bytes %d is outside [0, %d]", m.Payload.DecodedBytes, MaxPayloadBytes)
	}
	switch m.Task {
	case TaskBinary, TaskRegression, TaskCount, TaskPositive:
	case TaskMulticlass:
		if m.Classes < 2 {
			return fmt.Errorf("multiclass task with %d classes", m.Classes)
		}
	default:
		return fmt.Errorf("unknown task %s", Quote(string(m.Task)))
	}
	if err := CheckClassLabels(m.Task, m.Classes, m.ClassLabels); err != nil {
		return err
	}
	if err := checkFeatureViews(m.FeatureViews); err != nil {
		return err
	}
	if err := checkPrecision(m.Kind, m.Precision); err != nil {
		return err
	}
	if m.Reference != nil {
		if err := m.Reference.check(); err != nil {
			return err
		}
	}
	if m.Contract != nil {
		if err := m.Contract.check(); err != nil {
			return err
		}
	}
	if err := checkFeatureList("feature", m.Features, m.Transform != nil); err != nil {
		return err
	}
	if m.Transform == nil {
		if len(m.ModelFeatures) > 0 {
			return fmt.Errorf("model_features without a transform")
		}
		return nil
	}
	if err := m.Transform.check(); err != nil {
		return err
	}
	if len(m.ModelFeatures) == 0 {
		return fmt.Errorf("a transform without model_features")
	}
	return checkFeatureList("model_features", m.ModelFeatures, false)
}

// MaxClassLabelBytes is the longest class label, in bytes.
const MaxClassLabelBytes = 256

// ClassCount is the number of classes of a model of task: 2 for
// TaskBinary, classes for TaskMulticlass, 0 for any other task.
func ClassCount(task Task, classes int) int {
	switch task {
	case TaskBinary:
		return 2
	case TaskMulticlass:
		return classes
	}
	return 0
}

// CheckClassLabels reports what is wrong with labels as the class labels
// (Manifest.ClassLabels) of a model of task with classes classes: nil
// labels are always fine; otherwise the task must be binary or
// multiclass, there must be one label per class (ClassCount), and each
// must be non-empty, valid UTF-8, at most MaxClassLabelBytes long and
// unlike the others. The error names class_labels and the index.
func CheckClassLabels(task Task, classes int, labels []string) error {
	if len(labels) == 0 {
		return nil
	}
	want := ClassCount(task, classes)
	switch {
	case want == 0:
		return fmt.Errorf("class_labels: a %s model has no classes; only a binary or multiclass model takes class labels", task)
	case len(labels) != want:
		return fmt.Errorf("class_labels: %d labels for a %s model of %d classes, want %d", len(labels), task, want, want)
	}
	seen := make(map[string]int, len(labels))
	for i, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("class_labels[%d] is empty", i)
		case !utf8.ValidString(l):
			return fmt.Errorf("class_labels[%d] %s is not valid UTF-8", i, Quote(l))
		case len(l) > MaxClassLabelBytes:
			return fmt.Errorf("class_labels[%d]: %d bytes, more than the %d a class label may have", i, len(l), MaxClassLabelBytes)
		}
		if j, dup := seen[l]; dup {
			return fmt.Errorf("class_labels[%d] %s is class_labels[%d] again; each class needs its own label", i, Quote(l), j)
		}
		seen[l] = i
	}
	return nil
}

// HasClassLabel reports whether a model of task, with outputs predictions
// per instance and link, has a class label per instance: a binary model
// whose output is the probability of class 1 (link sigmoid or
// probability), a multiclass model with an output per class, or one that
// outputs the class index (link argmax). wire.ClassLabel gives the rule
// that reads it.
func HasClassLabel(task Task, outputs int, link Link) bool {
	switch {
	case task == TaskBinary && outputs == 1 && (link == LinkSigmoid || link == LinkProbability):
		return true
	case task == TaskMulticlass && outputs > 1:
		return true
	case task == TaskMulticlass && outputs == 1 && link == LinkArgmax:
		return true
	}
	return false
}

// LinkOf is p's link: a *Trees' or a *Dense's Link, else "".
func LinkOf(p Predictor) Link {
	switch m := p.(type) {
	case *Trees:
		return m.Link
	case *Dense:
		return m.Link
	}
	return ""
}

// checkFeatureList checks a list of features: named, each once, of a known
// type (FeatureString only where strings are allowed: a version's raw
// inputs when it has transforms).
func checkFeatureList(what string, fs []Feature, strings bool) error {
	seen := make(map[string]bool, len(fs))
	for i, f := range fs {
		if f.Name == "" {
			return fmt.Errorf("%s %d has no name", what, i)
		}
		if seen[f.Name] {
			return fmt.Errorf("%s %s appears twice", what, Quote(f.Name))
		}
		seen[f.Name] = true
		switch {
		case f.Type == FeatureFloat, f.Type == FeatureCategorical:
		case f.Type == FeatureString && strings:
		case f.Type == FeatureString:
			return fmt.Errorf("%s %s has type string, which only a version with transforms takes", what, Quote(f.Name))
		default:
			return fmt.Errorf("%s %s has unknown type %s", what, Quote(f.Name), Quote(string(f.Type)))
		}
	}
	return nil
}

// plainFileName reports whether s names a file directly inside a folder:
// not empty, ".", "..", or anything with a path separator.
func plainFileName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`) && !strings.ContainsRune(s, 0)
}

// ValidName reports whether s can name a model: 1 to 128 characters of
// letters, digits, '-', '_' and '.', not starting with '.'.
func ValidName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	for _, c := range s {
		ok := c == '-' || c == '_' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// checkFeatureViews checks the form of a manifest's feature_views: each
// entry "view" or "view:feature", no entry twice. Whether the views exist is
// checked when the model is served with feature definitions.
func checkFeatureViews(refs []string) error {
	seen := make(map[string]bool, len(refs))
	for i, r := range refs {
		view, feat, single := strings.Cut(r, ":")
		if !ValidName(view) || single && !ValidName(feat) {
			return fmt.Errorf("feature_views[%d] %s: want \"view\" or \"view:feature\"", i, Quote(r))
		}
		if seen[r] {
			return fmt.Errorf("feature_views[%d] %s appears twice", i, Quote(r))
		}
		seen[r] = true
	}
	return nil
}

package model

import (
	"fmt"

	"github.com/predictd/predictd/model/transform"
)

// Imported is a model read from another library's file: the payload and the
// manifest fields the file determines. Write turns it into a version.
type Imported struct {
	Kind    Kind
	Task    Task
	Classes int // number of classes for TaskMulticlass, else 0
	// ClassLabels names the classes in the model's class order, when the
	// file names them (see Manifest.ClassLabels); nil otherwise.
	ClassLabels []string
	// Features are the model's inputs in the order the payload indexes them.
	Features []Feature
	// Outputs name the transformed predictions (Predictor.NumOutputs of
	// them); RawOutputs name the margins (NumMargins of them).
	Outputs    []Output
	RawOutputs []Output
	// Source is filled by the importer except File and SHA256, which the
	// caller that read the file sets.
	Source Source
	// Model is a *Trees or a *Dense, already validated.
	Model Predictor
	// Precision is the arithmetic the source computes a dense model in,
	// when the importer knows it (an ONNX graph of DOUBLE tensors:
	// float64); Write records it unless WriteOptions.Precision says
	// otherwise. "": Manifest.DensePrecision's default.
	Precision string
	// Transform, when set, is the raw-input transform the file states
	// before the model (an ONNX graph's Imputer, OneHotEncoder,
	// Normalizer...): Features are then its output Names, in order, all
	// float, and the importing command passes it on as
	// WriteOptions.Transform so the version applies it to its raw inputs.
	Transform *transform.Pipeline
}

// DefaultOutputs names a model's prediction and margin columns from its task
// and number of margins: "p" (binary), "p0".."pK-1" (multiclass
// probabilities), "class" (multiclass argmax) or "value"; margins are
// "margin" or "margin0".."marginK-1".
func DefaultOutputs(task Task, margins int, link Link) (outputs, raw []Output) {
	if margins == 1 {
		raw = []Output{{Name: "margin", Meaning: "raw margin before the link"}}
	} else {
		for k := 0; k < margins; k++ {
			raw = append(raw, Output{Name: fmt.Sprintf("margin%d", k), Meaning: fmt.Sprintf("raw margin of class %d", k)})
		}
	}
	switch {
	case task == TaskBinary && (link == LinkSigmoid || link == LinkProbability):
		outputs = []Output{{Name: "p", Meaning: "probability of class 1"}}
	case task == TaskBinary:
		outputs = []Output{{Name: "score", Meaning: "untransformed score; higher means class 1"}}
	case task == TaskMulticlass && link == LinkSigmoid:
		for k := 0; k < margins; k++ {
			outputs = append(outputs, Output{Name: fmt.Sprintf("p%d", k), Meaning: fmt.Sprintf("one-vs-all probability of class %d (a row need not sum to 1)", k)})
		}
	case link == LinkArgmax:
		outputs = []Output{{Name: "class", Meaning: "index of the most likely class"}}
	case task == TaskMulticlass:
		for k := 0; k < margins; k++ {
			outputs = append(outputs, Output{Name: fmt.Sprintf("p%d", k), Meaning: fmt.Sprintf("probability of class %d", k)})
		}
	default:
		outputs = []Output{{Name: "value", Meaning: "predicted value"}}
	}
	return outputs, raw
}

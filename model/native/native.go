// Package native reads predictd's own JSON description of dense models
// (linear, logistic and multilayer perceptrons), the form the training tools
// write and the test fixtures export from scikit-learn:
//
//	{"kind": "linear" | "mlp",
//	 "task": "binary" | "multiclass" | "regression",
//	 "classes": 3,                      // multiclass only
//	 "features": ["x0", "x1"],
//	 "layers": [{"weights": [[...], ...], // out × in: row o feeds unit o
//	             "bias": [...],
//	             "activation": "identity"|"relu"|"tanh"|"sigmoid"|"softmax"}]}
//
// Hidden layers take identity, relu, tanh or sigmoid; the last layer's
// activation is the model's link: identity (regression), sigmoid (binary,
// one unit) or softmax (multiclass, one unit per class).
package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

type spec struct {
	Kind     string      `json:"kind"`
	Task     string      `json:"task"`
	Classes  int         `json:"classes"`
	Features []string    `json:"features"`
	Layers   []layerSpec `json:"layers"`
}

type layerSpec struct {
	Weights    [][]float64 `json:"weights"`
	Bias       []float64   `json:"bias"`
	Activation string      `json:"activation"`
}

var hidden = map[string]kernels.Activation{
	"identity": kernels.ActIdentity,
	"relu":     kernels.ActReLU,
	"tanh":     kernels.ActTanh,
	"sigmoid":  kernels.ActSigmoid,
}

// Parse reads a native JSON model. Errors name the layer, row and field.
func Parse(data []byte) (*model.Imported, error) {
	var s spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	var kind model.Kind
	switch s.Kind {
	case "linear":
		kind = model.KindLinear
		if len(s.Layers) != 1 {
			return nil, fmt.Errorf("kind linear has %d layers, want 1", len(s.Layers))
		}
	case "mlp":
		kind = model.KindMLP
	default:
		return nil, fmt.Errorf("kind %q, want linear or mlp", s.Kind)
	}
	if len(s.Features) == 0 {
		return nil, errors.New("features: empty")
	}
	if len(s.Layers) == 0 {
		return nil, errors.New("layers: empty")
	}
	d := &model.Dense{}
	in := len(s.Features)
	for i, ls := range s.Layers {
		out := len(ls.Weights)
		if out == 0 {
			return nil, fmt.Errorf("layers[%d].weights: no rows", i)
		}
		if len(ls.Bias) != out {
			return nil, fmt.Errorf("layers[%d].bias has %d values, weights has %d rows", i, len(ls.Bias), out)
		}
		l := model.Layer{In: in, Out: out, Weights: make([]float64, 0, in*out), Bias: ls.Bias}
		for o, row := range ls.Weights {
			if len(row) != in {
				return nil, fmt.Errorf("layers[%d].weights[%d] has %d values, want %d (the layer's inputs)", i, o, len(row), in)
			}
			l.Weights = append(l.Weights, row...)
		}
		for j, v := range l.Weights {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("layers[%d].weights[%d][%d] is %v", i, j/in, j%in, v)
			}
		}
		for j, v := range l.Bias {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("layers[%d].bias[%d] is %v", i, j, v)
			}
		}
		if i < len(s.Layers)-1 {
			act, ok := hidden[ls.Activation]
			if !ok {
				return nil, fmt.Errorf("layers[%d].activation %q, want identity, relu, tanh or sigmoid", i, ls.Activation)
			}
			l.Activation = act
		}
		d.Layers = append(d.Layers, l)
		in = out
	}
	last := s.Layers[len(s.Layers)-1]
	nout := len(last.Weights)
	var task model.Task
	switch s.Task {
	case "binary":
		task = model.TaskBinary
		if last.Activation != "sigmoid" || nout != 1 {
			return nil, fmt.Errorf("task binary needs a last layer of 1 unit with activation sigmoid, got %d units with %q", nout, last.Activation)
		}
		d.Link = model.LinkSigmoid
	case "multiclass":
		task = model.TaskMulticlass
		if last.Activation != "softmax" || nout < 2 {
			return nil, fmt.Errorf("task multiclass needs a last layer of one unit per class with activation softmax, got %d units with %q", nout, last.Activation)
		}
		if s.Classes != nout {
			return nil, fmt.Errorf("classes is %d but the last layer has %d units", s.Classes, nout)
		}
		d.Link = model.LinkSoftmax
	case "regression":
		task = model.TaskRegression
		if last.Activation != "identity" || nout != 1 {
			return nil, fmt.Errorf("task regression needs a last layer of 1 unit with activation identity, got %d units with %q", nout, last.Activation)
		}
		d.Link = model.LinkIdentity
	default:
		return nil, fmt.Errorf("task %q, want binary, multiclass or regression", s.Task)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	feats := make([]model.Feature, len(s.Features))
	seen := map[string]bool{}
	for i, n := range s.Features {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("features[%d] %q is empty or repeated", i, n)
		}
		seen[n] = true
		feats[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	imp := &model.Imported{
		Kind:     kind,
		Task:     task,
		Features: feats,
		Model:    d,
		Source:   model.Source{Format: "native-json", Library: "predictd"},
	}
	if task == model.TaskMulticlass {
		imp.Classes = nout
	}
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(task, nout, d.Link)
	return imp, nil
}

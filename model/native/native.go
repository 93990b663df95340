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
	"strconv"
	"strings"

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
	Weights    [][]number `json:"weights"`
	Bias       []number   `json:"bias"`
	Activation string     `json:"activation"`
}

// number is a weight or a bias as the file wrote it. encoding/json would
// leave a float64 at 0 for a null, so anything but a JSON number is kept
// aside, for Parse to refuse with its place.
type number struct {
	v   float64
	bad string // the JSON value written instead of a number; "" for a number
}

func (n *number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		n.bad = string(b)
		return nil
	}
	// A JSON number's syntax was checked by the decoder; out of range it
	// comes back ±Inf, which the finiteness check below refuses.
	n.v, _ = strconv.ParseFloat(string(b), 64)
	return nil
}

// values copies ns into dst, or reports the first that is not a finite
// number, naming it with where (as "layers[0].bias") and its index.
func values(dst []float64, ns []number, where func(j int) string) ([]float64, error) {
	for j, n := range ns {
		switch {
		case n.bad == "null":
			return nil, fmt.Errorf("%s is null, want a number", where(j))
		case n.bad != "":
			return nil, fmt.Errorf("%s is %s, want a number", where(j), model.Quote(n.bad))
		case math.IsNaN(n.v) || math.IsInf(n.v, 0):
			return nil, fmt.Errorf("%s is %v, want a finite number", where(j), n.v)
		}
		dst = append(dst, n.v)
	}
	return dst, nil
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
		return nil, jsonError(err)
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
		return nil, fmt.Errorf("kind %s, want linear or mlp", model.Quote(s.Kind))
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
		l := model.Layer{In: in, Out: out, Weights: make([]float64, 0, in*out)}
		var err error
		for o, row := range ls.Weights {
			if len(row) != in {
				return nil, fmt.Errorf("layers[%d].weights[%d] has %d values, want %d (the layer's inputs)", i, o, len(row), in)
			}
			l.Weights, err = values(l.Weights, row, func(j int) string { return fmt.Sprintf("layers[%d].weights[%d][%d]", i, o, j) })
			if err != nil {
				return nil, err
			}
		}
		l.Bias, err = values(make([]float64, 0, out), ls.Bias, func(j int) string { return fmt.Sprintf("layers[%d].bias[%d]", i, j) })
		if err != nil {
			return nil, err
		}
		if i < len(s.Layers)-1 {
			act, ok := hidden[ls.Activation]
			if !ok {
				return nil, fmt.Errorf("layers[%d].activation %s, want identity, relu, tanh or sigmoid", i, model.Quote(ls.Activation))
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
			return nil, fmt.Errorf("task binary needs a last layer of 1 unit with activation sigmoid, got %d units with %s", nout, model.Quote(last.Activation))
		}
		d.Link = model.LinkSigmoid
	case "multiclass":
		task = model.TaskMulticlass
		if last.Activation != "softmax" || nout < 2 {
			return nil, fmt.Errorf("task multiclass needs a last layer of one unit per class with activation softmax, got %d units with %s", nout, model.Quote(last.Activation))
		}
		if s.Classes != nout {
			return nil, fmt.Errorf("classes is %d but the last layer has %d units", s.Classes, nout)
		}
		d.Link = model.LinkSoftmax
	case "regression":
		task = model.TaskRegression
		if last.Activation != "identity" || nout != 1 {
			return nil, fmt.Errorf("task regression needs a last layer of 1 unit with activation identity, got %d units with %s", nout, model.Quote(last.Activation))
		}
		d.Link = model.LinkIdentity
	default:
		return nil, fmt.Errorf("task %s, want binary, multiclass or regression", model.Quote(s.Task))
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	feats := make([]model.Feature, len(s.Features))
	seen := map[string]bool{}
	for i, n := range s.Features {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("features[%d] %s is empty or repeated", i, model.Quote(n))
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

// jsonError is a decoding error for the user: encoding/json quotes an
// unknown field's name whole, so a hostile file's 100 MB key would reach
// stderr; it is requoted with model.Quote.
func jsonError(err error) error {
	const unknown = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name, uerr := strconv.Unquote(msg[len(unknown):])
		if uerr == nil {
			return fmt.Errorf("invalid JSON: unknown field %s", model.Quote(name))
		}
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

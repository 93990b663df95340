// Package native reads predictd's own JSON description of dense models
// (linear, logistic and multilayer perceptrons), the form the training tools
// write and the test fixtures export from scikit-learn:
//
//	{"kind": "linear" | "mlp",
//	 "task": "binary" | "multiclass" | "regression",
//	 "classes": 3,                      // multiclass only
//	 "multiclass": "multinomial" | "ovr", // multiclass only; default multinomial
//	 "class_labels": ["neg", "pos"],    // optional, binary and multiclass
//	 "features": ["x0", "x1"],
//	 "preprocess": [{"scaler": "standard", "mean": [...], "scale": [...]},
//	                {"scaler": "minmax", "min": [...], "scale": [...]}],
//	 "layers": [{"weights": [[...], ...], // out × in: row o feeds unit o
//	             "bias": [...],
//	             "activation": "identity"|"relu"|"tanh"|"sigmoid"|"softmax"}]}
//
// Hidden layers take identity, relu, tanh or sigmoid; the last layer's
// activation is the model's link: identity (regression), sigmoid (binary,
// one unit) or softmax (multiclass, one unit per class).
//
// multiclass says how a multiclass model's margins become probabilities:
// "multinomial" is softmax, and needs a softmax last layer (a file without
// the field is multinomial, as every file was before the field existed);
// "ovr" is scikit-learn's one-vs-rest (a sigmoid of each class's margin,
// then each row divided by its sum: model.LinkOVR) and needs a sigmoid
// last layer. A multiclass file with a sigmoid last layer and no
// multiclass field is refused: no file is read as something it does not
// say.
//
// class_labels, optional, names the classes in the model's order
// (scikit-learn's classes_ as text; binary: the class of 1-p, then p's):
// Imported.ClassLabels, checked as model.CheckClassLabels says.
//
// preprocess steps (scikit-learn's StandardScaler: x' = (x-mean)/scale;
// MinMaxScaler: x' = x·scale + min) apply in order to the features before
// the first layer; Parse folds them into the first layer's weights and
// bias, so the model runs as if trained on raw features. Folding rounds
// differently from scaling first: within 1e-12 of each row's scale on the
// fixtures (TestSklearnParity), but a feature whose mean is many orders
// larger than its scale loses digits to cancellation (docs/native-format.md).
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
	Kind        string      `json:"kind"`
	Task        string      `json:"task"`
	Classes     int         `json:"classes"`
	Multiclass  *string     `json:"multiclass"`
	ClassLabels []string    `json:"class_labels"`
	Features    []string    `json:"features"`
	Preprocess  []stepSpec  `json:"preprocess"`
	Layers      []layerSpec `json:"layers"`
}

// stepSpec is one preprocess step: Mean is set for "standard", Min for
// "minmax"; Scale for both.
type stepSpec struct {
	Scaler string   `json:"scaler"`
	Mean   []number `json:"mean"`
	Min    []number `json:"min"`
	Scale  []number `json:"scale"`
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
	if s.Multiclass != nil && s.Task != "multiclass" {
		return nil, fmt.Errorf("multiclass %s is set but task is %s: the field is for task multiclass only", model.Quote(*s.Multiclass), model.Quote(s.Task))
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
	for i := len(s.Preprocess) - 1; i >= 0; i-- {
		if err := fold(&d.Layers[0], s.Preprocess[i], i); err != nil {
			return nil, err
		}
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
		mc := "multinomial"
		if s.Multiclass != nil {
			mc = *s.Multiclass
		}
		switch mc {
		case "multinomial":
			if s.Multiclass == nil && last.Activation == "sigmoid" {
				return nil, fmt.Errorf(`task multiclass with a sigmoid last layer and no multiclass field: say "multiclass": "ovr" for a one-vs-rest model (scikit-learn's liblinear or multi_class="ovr"), or use a softmax last layer for a multinomial one`)
			}
			if last.Activation != "softmax" || nout < 2 {
				return nil, fmt.Errorf("task multiclass needs a last layer of one unit per class with activation softmax, got %d units with %s", nout, model.Quote(last.Activation))
			}
			d.Link = model.LinkSoftmax
		case "ovr":
			if last.Activation != "sigmoid" || nout < 3 {
				return nil, fmt.Errorf(`multiclass "ovr" needs a last layer of one unit per class (3 or more) with activation sigmoid, got %d units with %s`, nout, model.Quote(last.Activation))
			}
			d.Link = model.LinkOVR
		default:
			return nil, fmt.Errorf(`multiclass %s, want "multinomial" (softmax) or "ovr" (one-vs-rest)`, model.Quote(mc))
		}
		if s.Classes != nout {
			return nil, fmt.Errorf("classes is %d but the last layer has %d units", s.Classes, nout)
		}
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
	if err := model.CheckClassLabels(task, imp.Classes, s.ClassLabels); err != nil {
		return nil, err
	}
	imp.ClassLabels = s.ClassLabels
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(task, nout, d.Link)
	return imp, nil
}

// fold rewrites l, the first layer, to take the features before step (the
// i-th preprocess step) instead of after it. For x' = a·x + c per feature
// (standard: a = 1/scale, c = -mean/scale; minmax: a = scale, c = min),
// W·x' + b = (W·a)·x + (b + W·c). Standard divides by scale rather than
// multiplying by 1/scale, as scikit-learn does, to round the same way.
func fold(l *model.Layer, st stepSpec, i int) error {
	n := l.In
	where := func(field string) func(j int) string {
		return func(j int) string { return fmt.Sprintf("preprocess[%d].%s[%d]", i, field, j) }
	}
	var shift []number
	switch st.Scaler {
	case "standard":
		if st.Min != nil {
			return fmt.Errorf(`preprocess[%d]: scaler "standard" takes mean and scale, not min`, i)
		}
		shift = st.Mean
	case "minmax":
		if st.Mean != nil {
			return fmt.Errorf(`preprocess[%d]: scaler "minmax" takes min and scale, not mean`, i)
		}
		shift = st.Min
	default:
		return fmt.Errorf(`preprocess[%d].scaler %s, want "standard" or "minmax"`, i, model.Quote(st.Scaler))
	}
	name := map[string]string{"standard": "mean", "minmax": "min"}[st.Scaler]
	if len(shift) != n || len(st.Scale) != n {
		return fmt.Errorf("preprocess[%d] has %d %s and %d scale values, want %d each (the features)", i, len(shift), name, len(st.Scale), n)
	}
	c, err := values(make([]float64, 0, n), shift, where(name))
	if err != nil {
		return err
	}
	a, err := values(make([]float64, 0, n), st.Scale, where("scale"))
	if err != nil {
		return err
	}
	if st.Scaler == "standard" {
		for j, v := range a {
			if v == 0 {
				return fmt.Errorf("preprocess[%d].scale[%d] is 0: a standard scaler divides by it (scikit-learn writes 1 for a constant feature)", i, j)
			}
		}
	}
	for o := 0; o < l.Out; o++ {
		row := l.Weights[o*n : (o+1)*n]
		b := l.Bias[o]
		for j, w := range row {
			if st.Scaler == "standard" {
				row[j] = w / a[j]
				b -= row[j] * c[j]
			} else {
				row[j] = w * a[j]
				b += w * c[j]
			}
		}
		if math.IsInf(b, 0) || math.IsNaN(b) {
			return fmt.Errorf("preprocess[%d] folded into layers[0] makes bias[%d] %v", i, o, b)
		}
		l.Bias[o] = b
	}
	for _, w := range l.Weights {
		if math.IsInf(w, 0) || math.IsNaN(w) {
			return fmt.Errorf("preprocess[%d] folded into layers[0] makes a weight %v", i, w)
		}
	}
	return nil
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

package server

import (
	"encoding/json"
	"strconv"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire"
)

// v1Metadata is the response to GET /v1/models/{m}[/versions/{v}]/metadata:
// TF Serving's model_spec, and in place of a SavedModel signature the
// manifest's feature and output columns, which is what a tabular client
// needs to build instances.
//
// Beside them: for a model that reads online features, "entity_keys" (see
// entityKeys); for a classifier, "class_label", how the label that
// "return_labels" asks for is read (wire.LabelRule.String), and for one
// with class names "class_labels", the names "labels" then carries in
// class order.
func v1Metadata(m *model.Manifest, s *wire.Schema) ([]byte, error) {
	out := map[string]any{
		"model_spec": map[string]any{
			"name":           m.Name,
			"version":        strconv.Itoa(m.Version),
			"signature_name": "",
		},
		"metadata": map[string]any{
			"kind":     m.Kind,
			"task":     m.Task,
			"classes":  m.Classes,
			"features": m.Features,
			"outputs":  m.Outputs,
			"created":  m.Created,
			"source":   m.Source,
			// features are what a request carries; model_columns what
			// the model takes after the version's transforms (the same
			// for a version without).
			"model_columns": len(m.Columns()),
			"transform":     m.Transform != nil,
		},
	}
	md := out["metadata"].(map[string]any)
	if keys := entityKeys(s); keys != nil {
		md["entity_keys"] = keys
	}
	if l := s.Label(); l != wire.NoLabel {
		md["class_label"] = l.String()
	}
	if names := s.ClassNames(); names != nil {
		md["class_labels"] = names
	}
	return json.Marshal(out)
}

// entityKey describes an entity key a request of a model that reads
// online features may carry in place of features: its name (the entity's
// join key), its type ("int" or "string"), the entity, and the features it
// fetches, by view.
type entityKey struct {
	Name     string              `json:"name"`
	Type     string              `json:"type"`
	Entity   string              `json:"entity"`
	Features map[string][]string `json:"features"`
}

// entityKeys lists the entity keys of s's join plan, in its order; nil
// for a model that reads no online features.
func entityKeys(s *wire.Schema) []entityKey {
	p := s.Join()
	if p == nil {
		return nil
	}
	keys := make([]entityKey, p.NumKeys())
	for k := range keys {
		e := p.Key(k)
		keys[k] = entityKey{Name: e.JoinKey, Type: string(e.KeyType), Entity: e.Name, Features: map[string][]string{}}
	}
	for f := range s.NumFeatures() {
		if k, v := p.Source(f); k >= 0 {
			keys[k].Features[v.Name] = append(keys[k].Features[v.Name], s.Name(f))
		}
	}
	return keys
}

// tensorMeta is one tensor of the Open Inference Protocol's model metadata.
type tensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// inputMeta is an input tensor of the model metadata, with what OIP's
// tensor metadata lacks for a model that reads online features.
type inputMeta struct {
	tensorMeta
	// Optional marks an input a request may leave out: a feature its
	// entity key can fetch, or that entity key (the feature sent instead).
	Optional bool `json:"optional,omitempty"`
	// Parameters says, for an entity key, its entity and the features it
	// fetches; for a feature it can fetch, the view and the key.
	Parameters map[string]any `json:"parameters,omitempty"`
}

// outputMeta is an output tensor of the model metadata; Parameters, for
// the label output of a model with class names, lists them
// ("class_labels").
type outputMeta struct {
	tensorMeta
	Parameters map[string]any `json:"parameters,omitempty"`
}

// v2Metadata is the response to GET /v2/models/{m}[/versions/{v}]: the one
// 2-D input tensor (-1 is the batch dimension) and the output tensor. The
// alternative form, one 1-D tensor per feature named by the feature, is
// listed under parameters.features. A version with transforms lists its
// raw inputs as those 1-D tensors instead, BYTES for a string input and
// FP64 for a number (the 2-D tensor cannot carry strings), and
// parameters.model_columns the number of columns the model takes.
//
// A model that reads online features (s.Join) lists the 1-D tensors too,
// since entity keys go with them only, and after them its entity key
// inputs, [-1], INT64 for an entity with int keys and BYTES for string
// keys; a feature a key can fetch and the key itself are "optional": true
// (send either), with parameters naming the view and key, or the entity
// and the features it fetches. A classifier (s.Label) lists a second
// output, "label", INT64 [-1], and parameters.class_label says how it is
// read; with class names (s.ClassNames) the label output is BYTES [-1]
// and its own parameters.class_labels lists the names in class order.
func v2Metadata(m *model.Manifest, outputs int, s *wire.Schema) ([]byte, error) {
	outShape := []int{-1}
	if outputs > 1 {
		outShape = []int{-1, outputs}
	}
	names := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		names[i] = o.Name
	}
	inputs := []inputMeta{{tensorMeta: tensorMeta{Name: wire.InputName, Datatype: "FP64", Shape: []int{-1, len(m.Features)}}}}
	p := s.Join()
	if m.Transform != nil || p != nil {
		inputs = make([]inputMeta, len(m.Features))
		for i, f := range m.Features {
			inputs[i] = inputMeta{tensorMeta: tensorMeta{Name: f.Name, Datatype: "FP64", Shape: []int{-1}}}
			if f.Type == model.FeatureString {
				inputs[i].Datatype = "BYTES"
			}
			if p == nil {
				continue
			}
			if k, v := p.Source(i); k >= 0 {
				inputs[i].Optional = true
				inputs[i].Parameters = map[string]any{"feature_view": v.Name, "entity_key": p.Key(k).JoinKey}
			}
		}
		for _, k := range entityKeys(s) {
			dt := "BYTES"
			if k.Type == string(featcache.KeyInt) {
				dt = "INT64"
			}
			inputs = append(inputs, inputMeta{tensorMeta: tensorMeta{Name: k.Name, Datatype: dt, Shape: []int{-1}}, Optional: true,
				Parameters: map[string]any{"entity": k.Entity, "features": k.Features}})
		}
	}
	outs := []outputMeta{{tensorMeta: tensorMeta{Name: wire.OutputName, Datatype: "FP64", Shape: outShape}}}
	params := map[string]any{
		"task":          m.Task,
		"features":      m.Features,
		"output_names":  names,
		"missing":       m.Kind == model.KindTrees || m.Transform != nil,
		"model_columns": len(m.Columns()),
		"transform":     m.Transform != nil,
	}
	if l := s.Label(); l != wire.NoLabel {
		label := outputMeta{tensorMeta: tensorMeta{Name: wire.LabelName, Datatype: s.LabelDatatype(), Shape: []int{-1}}}
		if names := s.ClassNames(); names != nil {
			label.Parameters = map[string]any{"class_labels": names}
		}
		outs = append(outs, label)
		params["class_label"] = l.String()
	}
	out := map[string]any{
		"name":       m.Name,
		"versions":   []string{strconv.Itoa(m.Version)},
		"platform":   "predictd_" + string(m.Kind),
		"inputs":     inputs,
		"outputs":    outs,
		"parameters": params,
	}
	return json.Marshal(out)
}

package server

import (
	"encoding/json"
	"strconv"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire"
)

// v1Metadata is the response to GET /v1/models/{m}[/versions/{v}]/metadata:
// TF Serving's model_spec, and in place of a SavedModel signature the
// manifest's feature and output columns, which is what a tabular client
// needs to build instances.
func v1Metadata(m *model.Manifest) ([]byte, error) {
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
	return json.Marshal(out)
}

// tensorMeta is one tensor of the Open Inference Protocol's model metadata.
type tensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// v2Metadata is the response to GET /v2/models/{m}[/versions/{v}]: the one
// 2-D input tensor (-1 is the batch dimension) and the output tensor. The
// alternative form, one 1-D tensor per feature named by the feature, is
// listed under parameters.features. A version with transforms lists its
// raw inputs as those 1-D tensors instead, BYTES for a string input and
// FP64 for a number (the 2-D tensor cannot carry strings), and
// parameters.model_columns the number of columns the model takes.
func v2Metadata(m *model.Manifest, outputs int) ([]byte, error) {
	outShape := []int{-1}
	if outputs > 1 {
		outShape = []int{-1, outputs}
	}
	names := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		names[i] = o.Name
	}
	inputs := []tensorMeta{{Name: wire.InputName, Datatype: "FP64", Shape: []int{-1, len(m.Features)}}}
	if m.Transform != nil {
		inputs = make([]tensorMeta, len(m.Features))
		for i, f := range m.Features {
			inputs[i] = tensorMeta{Name: f.Name, Datatype: "FP64", Shape: []int{-1}}
			if f.Type == model.FeatureString {
				inputs[i].Datatype = "BYTES"
			}
		}
	}
	out := map[string]any{
		"name":     m.Name,
		"versions": []string{strconv.Itoa(m.Version)},
		"platform": "predictd_" + string(m.Kind),
		"inputs":   inputs,
		"outputs":  []tensorMeta{{Name: wire.OutputName, Datatype: "FP64", Shape: outShape}},
		"parameters": map[string]any{
			"task":          m.Task,
			"features":      m.Features,
			"output_names":  names,
			"missing":       m.Kind == model.KindTrees || m.Transform != nil,
			"model_columns": len(m.Columns()),
			"transform":     m.Transform != nil,
		},
	}
	return json.Marshal(out)
}

package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// A version trained by predictd (tools/train) records how it was made in
// its manifest's Lineage object under the key "training" (a
// TrainingLineage), beside the evaluations RecordEvaluation appends:
// enough to say which data and settings made it, and for `predictd
// retrain` to make its successor from new data with the same spec.

// LineageTrainingKey is the key of a TrainingLineage in Manifest.Lineage.
const LineageTrainingKey = "training"

// TrainingLineage says how a trained version was made.
type TrainingLineage struct {
	// Tool is what trained it ("predictd train", "predictd retrain");
	// PredictdVersion the binary's version.
	Tool            string `json:"tool"`
	PredictdVersion string `json:"predictd_version"`
	// Spec is the training spec's file name as given, SpecSHA256 the hex
	// sha256 of its bytes, SpecYAML the bytes themselves (what retrain
	// reuses).
	Spec       string `json:"spec"`
	SpecSHA256 string `json:"spec_sha256"`
	SpecYAML   string `json:"spec_yaml"`
	// Data are the training files, in the order they were read.
	Data []DataFile `json:"data"`
	// Seed drives the validation split and the model's sampling;
	// ValidationFraction is the share of rows held out.
	Seed               int64   `json:"seed"`
	ValidationFraction float64 `json:"validation_fraction"`
	// TrainRows and ValidRows are the rows fitted on and held out.
	TrainRows int64 `json:"train_rows"`
	ValidRows int64 `json:"valid_rows"`
	// Parent is the version this one retrains; nil for a first training.
	Parent *VersionRef `json:"parent,omitempty"`
	// Created is when training finished (UTC), the manifest's Created.
	Created time.Time `json:"created"`
}

// DataFile is one training data file.
type DataFile struct {
	// File is the path as given on the command line.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Rows is the number of data rows read from it.
	Rows int64 `json:"rows"`
}

// VersionRef names a model version.
type VersionRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

func (r VersionRef) String() string { return fmt.Sprintf("%s:%d", r.Name, r.Version) }

// ReadTrainingLineage returns the training lineage recorded in m, and
// false when it has none (an imported version).
func ReadTrainingLineage(m *Manifest) (*TrainingLineage, bool, error) {
	if len(m.Lineage) == 0 {
		return nil, false, nil
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(m.Lineage, &o); err != nil {
		return nil, false, fmt.Errorf("%s v%d: lineage: %w", m.Name, m.Version, err)
	}
	raw, ok := o[LineageTrainingKey]
	if !ok {
		return nil, false, nil
	}
	var t TrainingLineage
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, false, fmt.Errorf("%s v%d: lineage %q: %w", m.Name, m.Version, LineageTrainingKey, err)
	}
	return &t, true, nil
}

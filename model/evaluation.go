package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// An evaluation (tools/eval, `predictd eval --record`) is recorded in the
// manifest of the version it judged, where monitoring can take it as the
// baseline of live quality:
//
//   - Manifest.Metrics is a JSON object; its key "evaluation" holds the
//     latest evaluation's numbers (tools/eval.Recorded), replaced by each
//     new one.
//   - Manifest.Lineage is a JSON object; its key "evaluations" is a list
//     with one EvaluationLineage per evaluation recorded, oldest first.
//
// Other keys of both objects (written by other tools) are kept as they
// are.

// Keys of the manifest's Metrics and Lineage objects.
const (
	MetricsEvaluationKey  = "evaluation"
	LineageEvaluationsKey = "evaluations"
)

// EvaluationLineage says which data an evaluation judged the version on.
type EvaluationLineage struct {
	// Tool is what evaluated: "predictd eval"; PredictdVersion the
	// binary's version.
	Tool            string `json:"tool"`
	PredictdVersion string `json:"predictd_version"`
	// Input is the labelled file as given on the command line, InputSHA256
	// the hex sha256 of its content, Rows the rows evaluated, Label the
	// label column.
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	Rows        int64  `json:"rows"`
	Label       string `json:"label"`
	// Created is when the evaluation finished (UTC).
	Created time.Time `json:"created"`
}

// RecordEvaluation writes an evaluation into the manifest of model name's
// version (0: the latest) in repo: metrics (a JSON object) under
// Metrics["evaluation"], replacing the previous one, and lin appended to
// Lineage["evaluations"]. The manifest is replaced atomically (a reader
// sees the old or the new one, whole) and stays one that Open and the
// daemon read. A Metrics or Lineage that is not a JSON object is refused,
// the manifest left as it was. Like AttachReference it is not safe
// against another writer of the same version's manifest at the same time.
// It returns the new manifest and the version folder.
func RecordEvaluation(repo, name string, version int, metrics json.RawMessage, lin EvaluationLineage) (*Manifest, string, error) {
	if !json.Valid(metrics) || !bytes.HasPrefix(bytes.TrimSpace(metrics), []byte("{")) {
		return nil, "", errors.New("record evaluation: the metrics are not a JSON object")
	}
	dir, m, err := versionManifest(repo, name, version)
	if err != nil {
		return nil, "", err
	}
	mo, err := objectOf(m.Metrics, "metrics")
	if err != nil {
		return nil, "", err
	}
	lo, err := objectOf(m.Lineage, "lineage")
	if err != nil {
		return nil, "", err
	}
	var evals []json.RawMessage
	if raw, ok := lo[LineageEvaluationsKey]; ok {
		if err := json.Unmarshal(raw, &evals); err != nil {
			return nil, "", fmt.Errorf("%s: lineage %q is not a list: %w", filepath.Join(dir, ManifestFile), LineageEvaluationsKey, err)
		}
	}
	entry, err := json.Marshal(lin)
	if err != nil {
		return nil, "", err
	}
	mo[MetricsEvaluationKey] = metrics
	lo[LineageEvaluationsKey], err = json.Marshal(append(evals, entry))
	if err != nil {
		return nil, "", err
	}
	if m.Metrics, err = json.Marshal(mo); err != nil {
		return nil, "", err
	}
	if m.Lineage, err = json.Marshal(lo); err != nil {
		return nil, "", err
	}
	js, err := marshalManifest(m)
	if err != nil {
		return nil, "", err
	}
	if err := writeFileAtomic(dir, ManifestFile, js); err != nil {
		return nil, "", err
	}
	return m, dir, syncDir(dir)
}

// objectOf decodes a manifest's Metrics or Lineage as a JSON object; an
// empty one is an empty object.
func objectOf(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	o := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("the manifest's %s is not a JSON object, so an evaluation cannot be added to it: %w", what, err)
	}
	return o, nil
}

package model_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

func TestRecordEvaluation(t *testing.T) {
	imp, rows := imported(t)
	repo := t.TempDir()
	for range 2 {
		if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lin := model.EvaluationLineage{Tool: "predictd eval", PredictdVersion: "test", Input: "holdout.csv", InputSHA256: strings.Repeat("ab", 32),
		Rows: 150, Label: "y", Created: time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)}
	// Version 0 is the latest: 2.
	m, dir, err := model.RecordEvaluation(repo, "iris", 0, json.RawMessage(`{"overall":{"accuracy":0.9}}`), lin)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || dir != filepath.Join(repo, "iris", "2") {
		t.Fatalf("recorded into v%d at %s, want v2", m.Version, dir)
	}
	lin2 := lin
	lin2.Rows, lin2.InputSHA256 = 99, strings.Repeat("cd", 32)
	if _, _, err := model.RecordEvaluation(repo, "iris", 2, json.RawMessage(`{"overall":{"accuracy":0.8}}`), lin2); err != nil {
		t.Fatal(err)
	}
	// The version still opens and predicts; Metrics holds the latest
	// evaluation, Lineage both, oldest first.
	l, err := model.Open(repo, "iris", 2)
	if err != nil {
		t.Fatalf("open after recording: %v", err)
	}
	if out := l.Model.Predict(nil, rows[:l.Model.NumFeatures()], false); len(out) != l.Model.NumOutputs() {
		t.Fatalf("predict after recording: %v", out)
	}
	var metrics struct {
		Evaluation struct{ Overall map[string]float64 }
	}
	if err := json.Unmarshal(l.Manifest.Metrics, &metrics); err != nil || metrics.Evaluation.Overall["accuracy"] != 0.8 {
		t.Errorf("metrics %s (%v), want the second evaluation's", l.Manifest.Metrics, err)
	}
	var lineage struct{ Evaluations []model.EvaluationLineage }
	if err := json.Unmarshal(l.Manifest.Lineage, &lineage); err != nil || len(lineage.Evaluations) != 2 ||
		lineage.Evaluations[0] != lin || lineage.Evaluations[1] != lin2 {
		t.Errorf("lineage %s (%v), want both evaluations in order", l.Manifest.Lineage, err)
	}
	// Version 1 is untouched.
	if l1, err := model.Open(repo, "iris", 1); err != nil || l1.Manifest.Metrics != nil || l1.Manifest.Lineage != nil {
		t.Errorf("version 1 changed: %v", err)
	}
	// No temporary file is left behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("left %s in the version folder", e.Name())
		}
	}
}

// TestRecordEvaluationKeepsOtherKeys: keys other tools wrote stay.
func TestRecordEvaluationKeepsOtherKeys(t *testing.T) {
	imp, _ := imported(t)
	repo := t.TempDir()
	_, dir, err := model.Write(repo, "iris", imp, model.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setManifest(t, dir, "metrics", `{"training":{"loss":0.1}}`)
	setManifest(t, dir, "lineage", `{"training_data":"train.parquet"}`)
	m, _, err := model.RecordEvaluation(repo, "iris", 1, json.RawMessage(`{"rows":3}`), model.EvaluationLineage{Tool: "predictd eval"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Metrics), `"training":{"loss":0.1}`) || !strings.Contains(string(m.Metrics), `"evaluation":{"rows":3}`) ||
		!strings.Contains(string(m.Lineage), `"training_data":"train.parquet"`) || !strings.Contains(string(m.Lineage), `"evaluations":[{"tool":"predictd eval"`) {
		t.Errorf("metrics %s, lineage %s: want the other tools' keys kept beside the evaluation", m.Metrics, m.Lineage)
	}
}

func TestRecordEvaluationRefuses(t *testing.T) {
	imp, _ := imported(t)
	repo := t.TempDir()
	_, dir, err := model.Write(repo, "iris", imp, model.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setManifest(t, dir, "lineage", `["not an object"]`)
	before, err := os.ReadFile(filepath.Join(dir, model.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.RecordEvaluation(repo, "iris", 1, json.RawMessage(`{}`), model.EvaluationLineage{}); err == nil || !strings.Contains(err.Error(), "lineage is not a JSON object") {
		t.Errorf("lineage that is a list: err %v, want a refusal naming the lineage", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, model.ManifestFile))
	if string(after) != string(before) {
		t.Error("a refused record changed the manifest")
	}
	if _, _, err := model.RecordEvaluation(repo, "iris", 1, json.RawMessage(`[1]`), model.EvaluationLineage{}); err == nil {
		t.Error("metrics that are not an object: no error")
	}
	if _, _, err := model.RecordEvaluation(repo, "iris", 7, json.RawMessage(`{}`), model.EvaluationLineage{}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("missing version: err %v, want ErrNotFound", err)
	}
	if _, _, err := model.RecordEvaluation(repo, "nope", 0, json.RawMessage(`{}`), model.EvaluationLineage{}); err == nil {
		t.Error("missing model: no error")
	}
	if _, _, err := model.RecordEvaluation(repo, "../x", 0, json.RawMessage(`{}`), model.EvaluationLineage{}); err == nil {
		t.Error("bad model name: no error")
	}
}

// setManifest sets a key of dir's manifest.json to raw JSON, as another
// tool would have written it.
func setManifest(t *testing.T, dir, key, raw string) {
	t.Helper()
	path := filepath.Join(dir, model.ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = json.RawMessage(raw)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

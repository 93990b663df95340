package eval

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/predictd/predictd/model"
)

// Recorded is the evaluation `predictd eval --record` keeps in the
// version's manifest (Metrics["evaluation"], see model.RecordEvaluation):
// the report without its curves, for monitoring to take as the baseline of
// live quality.
type Recorded struct {
	Task         string        `json:"task"`
	Input        string        `json:"input"`
	InputSHA256  string        `json:"input_sha256"`
	Label        string        `json:"label"`
	Rows         int64         `json:"rows"`
	Threshold    float64       `json:"threshold"`
	Bins         int           `json:"bins"`
	TweediePower float64       `json:"tweedie_power"`
	Created      time.Time     `json:"created"`
	Overall      Metrics       `json:"overall"`
	Confusion    [][]int64     `json:"confusion,omitempty"`
	Slices       []SliceReport `json:"slices,omitempty"`
	Fairness     *Fairness     `json:"fairness,omitempty"`
}

// Recorded is the part of r a manifest keeps (see Recorded).
func (r *Report) Recorded() Recorded {
	return Recorded{
		Task: r.Task, Input: r.Input, InputSHA256: r.InputSHA256, Label: r.Label, Rows: r.Rows,
		Threshold: r.Threshold, Bins: r.Bins, TweediePower: r.TweediePower, Created: r.Created,
		Overall: r.Overall, Confusion: r.Confusion, Slices: r.Slices, Fairness: r.Fairness,
	}
}

// Record writes the report into the manifest of the version it judged
// (r.Model, r.Version in repo), atomically: the Recorded numbers, and a
// lineage entry naming the input, its sha256, the rows, the label column,
// when, and predictdVersion. It returns the version folder.
func (r *Report) Record(repo, predictdVersion string) (string, error) {
	js, err := json.Marshal(r.Recorded())
	if err != nil {
		return "", fmt.Errorf("record evaluation: %w", err)
	}
	lin := model.EvaluationLineage{
		Tool: "predictd eval", PredictdVersion: predictdVersion, Input: r.Input, InputSHA256: r.InputSHA256,
		Rows: r.Rows, Label: r.Label, Created: r.Created,
	}
	_, dir, err := model.RecordEvaluation(repo, r.Model, r.Version, js, lin)
	if err != nil {
		return "", fmt.Errorf("record evaluation in %s v%d: %w", r.Model, r.Version, err)
	}
	return dir, nil
}

// ReadRecorded returns the evaluation recorded in m, and false when none
// is.
func ReadRecorded(m *model.Manifest) (*Recorded, bool, error) {
	if len(m.Metrics) == 0 {
		return nil, false, nil
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(m.Metrics, &o); err != nil {
		return nil, false, fmt.Errorf("%s v%d: metrics: %w", m.Name, m.Version, err)
	}
	raw, ok := o[model.MetricsEvaluationKey]
	if !ok {
		return nil, false, nil
	}
	var rec Recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, false, fmt.Errorf("%s v%d: recorded evaluation: %w", m.Name, m.Version, err)
	}
	return &rec, true, nil
}

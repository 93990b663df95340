package eval

import (
	"fmt"

	"github.com/predictd/predictd/model"
)

// Predictions evaluates predictions already made: y holds one label per
// row, preds the version m's Outputs for the same rows (len(m.Outputs) a
// row), computed by whoever holds them (tools/train on its validation
// rows). input and inputSHA256 name the rows in the report. It computes
// what Run computes over a file, with the same code: the overall
// metrics, the confusion matrix and the curves, without slices or
// fairness (opts' Slices and Protected must be empty; Threshold, Bins and
// TweediePower are used, 0 meaning their defaults). Labels are checked as
// Run checks them, an error naming the row (0-based). Report.Created is
// left zero for the caller to set.
func Predictions(m *model.Manifest, y, preds []float64, input, inputSHA256 string, opts Options) (*Report, error) {
	task, md, err := modeOf(m)
	if err != nil {
		return nil, err
	}
	if len(opts.Slices) > 0 || opts.Protected != "" {
		return nil, fmt.Errorf("eval: Predictions takes no slices or protected column")
	}
	if opts.Threshold == 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.Bins == 0 {
		opts.Bins = DefaultBins
	}
	if opts.TweediePower == 0 {
		opts.TweediePower = DefaultTweediePower
	}
	if len(y) == 0 {
		return nil, fmt.Errorf("eval: %s: no rows to evaluate", input)
	}
	if len(preds) != len(y)*len(m.Outputs) {
		return nil, fmt.Errorf("eval: %d predictions for %d rows of %d outputs", len(preds), len(y), len(m.Outputs))
	}
	for i, v := range y {
		if err := checkLabel(v, md, m.Classes); err != nil {
			return nil, fmt.Errorf("eval: %s row %d: %v", input, i, err)
		}
	}
	rep := &Report{
		Model: m.Name, Version: m.Version, Task: task, ModelTask: string(m.Task), Input: input, InputSHA256: inputSHA256,
		Label: opts.Label, Rows: int64(len(y)), Threshold: opts.Threshold, Bins: opts.Bins, TweediePower: opts.TweediePower,
	}
	if task == TaskMulticlass {
		rep.Classes = m.Classes
	}
	ev := evaluator{o: &opts, md: md, k: m.Classes, width: len(m.Outputs)}
	rep.Overall = ev.metricsOf(y, preds)
	rep.Confusion = ev.confusion(y, preds)
	switch md {
	case modeProb, modeScore:
		rep.Curves = ev.curves(y, preds)
	case modeProbs:
		rep.Curves = ev.classCurves(y, preds)
	case modeValue:
		rep.Curves = ev.regressionCurve(y, preds)
	}
	return rep, nil
}

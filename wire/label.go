package wire

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/predictd/predictd/model"
)

// LabelName is the name of the Open Inference Protocol output tensor that
// holds a classifier's class label per instance (INT64, shape [batch]).
const LabelName = "label"

// LabelRule says how a classifier's class label is read from one
// instance's predictions. The zero value, NoLabel, is a model that has
// none (regression, count, a binary score that is not a probability).
type LabelRule uint8

const (
	NoLabel LabelRule = iota
	// LabelThreshold: one output, the probability of class 1; the label is
	// 1 when it is above 0.5, else 0 (scikit-learn's predict: p = 0.5 is
	// a margin of 0, class 0).
	LabelThreshold
	// LabelArgmax: one output per class; the label is the index of the
	// largest, the first of equal ones (numpy's argmax).
	LabelArgmax
	// LabelIndex: one output that is the class index already (XGBoost's
	// multi:softmax).
	LabelIndex
)

// ClassLabel is the rule of a model of task with outputs predictions per
// instance and link: a binary model whose output is the probability of
// class 1 (link sigmoid or probability) thresholds it; a multiclass model with an output
// per class takes the argmax (of probabilities or of scores, the same
// class); a multiclass model that outputs the class index (link argmax)
// is its own label. Anything else has NoLabel.
func ClassLabel(task model.Task, outputs int, link model.Link) LabelRule {
	switch {
	case task == model.TaskBinary && outputs == 1 && (link == model.LinkSigmoid || link == model.LinkProbability):
		return LabelThreshold
	case task == model.TaskMulticlass && outputs > 1:
		return LabelArgmax
	case task == model.TaskMulticlass && outputs == 1 && link == model.LinkArgmax:
		return LabelIndex
	}
	return NoLabel
}

// String says in words how the rule reads a label, for model metadata; ""
// for NoLabel.
func (l LabelRule) String() string {
	switch l {
	case LabelThreshold:
		return "1 when the probability of class 1 is above 0.5, else 0"
	case LabelArgmax:
		return "the index of the largest output (the first of equal ones)"
	case LabelIndex:
		return "the class index the model outputs"
	}
	return ""
}

// Label returns the class label of one instance's predictions, row (as
// many values as the model has outputs); ok is false for NoLabel, and
// when a value it reads is NaN.
func (l LabelRule) Label(row []float64) (label int64, ok bool) {
	switch l {
	case LabelThreshold:
		p := row[0]
		if p != p {
			return 0, false
		}
		if p > 0.5 {
			return 1, true
		}
		return 0, true
	case LabelArgmax:
		best := 0
		for k, v := range row {
			if v != v {
				return 0, false
			}
			if v > row[best] {
				best = k
			}
		}
		return int64(best), true
	case LabelIndex:
		v := row[0]
		if v != v || math.IsInf(v, 0) {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// AppendLabels appends the JSON array of the class labels of n instances,
// preds holding outputs values each, row-major; a label the rule cannot
// read (a NaN prediction) is null. It allocates only to grow dst.
func AppendLabels(dst []byte, rule LabelRule, preds []float64, n, outputs int) []byte {
	checkPreds(preds, n, outputs)
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v, ok := rule.Label(preds[i*outputs : (i+1)*outputs]); ok {
			dst = strconv.AppendInt(dst, v, 10)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']')
}

// className returns the index and name of the class of one instance's
// predictions, row, under s's class names; ok is false when the rule
// cannot read a label or it is not a class s names.
func (s *Schema) className(row []float64) (k int, name string, ok bool) {
	v, ok := s.label.Label(row)
	if !ok || v < 0 || v >= int64(len(s.classNames)) {
		return 0, "", false
	}
	return int(v), s.classNames[v], true
}

// AppendLabels appends the JSON array of the class labels of n instances
// as the label output carries them: the package's AppendLabels (class
// indices) for a schema without class names; with them (WithClassNames)
// JSON strings, the class names, and null for a label the rule cannot
// read. preds holds outputs values per instance, row-major. It allocates
// only to grow dst.
func (s *Schema) AppendLabels(dst []byte, preds []float64, n, outputs int) []byte {
	if s.classNames == nil {
		return AppendLabels(dst, s.label, preds, n, outputs)
	}
	checkPreds(preds, n, outputs)
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if _, name, ok := s.className(preds[i*outputs : (i+1)*outputs]); ok {
			dst = appendString(dst, name)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']')
}

// labelBytesSize is the size of the binary BYTES tensor
// appendLabelBytes writes for n instances. The header needs it before the
// bytes, so each label is read twice; BenchmarkLabelNames measured the
// whole named binary label at 13 ns a row against 5 for INT64 indices
// (1024 rows, 2 cores, load 2): nothing beside a prediction, so no
// scratch buffer of labels is kept to save the second read.
func (s *Schema) labelBytesSize(preds []float64, n, outputs int) int {
	size := 4 * n
	for i := range n {
		if _, name, ok := s.className(preds[i*outputs : (i+1)*outputs]); ok {
			size += len(name)
		}
	}
	return size
}

// appendLabelBytes appends the class names of n instances as the binary
// tensor data extension lays out BYTES: per element a 4-byte
// little-endian length, then the bytes. A label the rule cannot read is
// the empty string (a class name never is).
func (s *Schema) appendLabelBytes(dst []byte, preds []float64, n, outputs int) []byte {
	for i := range n {
		_, name, _ := s.className(preds[i*outputs : (i+1)*outputs])
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(name)))
		dst = append(dst, name...)
	}
	return dst
}

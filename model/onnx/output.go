package onnx

import (
	"fmt"
	"strconv"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// The output side of the graphs skl2onnx writes for classifiers: the
// class-label branch (ArgMax over the probabilities, ArrayFeatureExtractor
// over the class labels, Cast, Reshape), a binary MLP's [1-p, p] and a
// one-vs-rest LinearClassifier's Normalizer.

// dropLabels takes the class-label branches out of cons, the consumers of
// a classifier's output tensor: each ArgMax, whose outputs (and what
// derives from them only, see checkCovered) are ignored. When an
// ArrayFeatureExtractor reads the ArgMax over a constant, that constant is
// the class labels, and the model takes them if it has none yet.
func (c *converter) dropLabels(cons []*nodeProto) []*nodeProto {
	if c.task == model.TaskRegression {
		return cons
	}
	var rest []*nodeProto
	for _, n := range cons {
		if opKey(n) != "ArgMax" {
			rest = append(rest, n)
			continue
		}
		c.visited[n] = true
		for _, out := range n.outputs {
			c.ignored[out] = out != ""
			for _, m := range c.consumers[out] {
				if c.labels == nil && opKey(m) == mlDomain+".ArrayFeatureExtractor" && len(m.inputs) == 2 && m.inputs[1] == out {
					c.labels = c.constLabels(m.inputs[0])
				}
			}
		}
	}
	return rest
}

// constLabels reads a constant of INT64 or STRING class labels; nil if
// name is not one.
func (c *converter) constLabels(name string) []string {
	t := c.consts[name]
	if t == nil {
		return nil
	}
	if s, err := t.strings(); err == nil {
		return s
	}
	v, err := t.int64s()
	if err != nil {
		return nil
	}
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatInt(x, 10)
	}
	return out
}

// binaryPair maps what skl2onnx writes after a binary MLP's Sigmoid on one
// unit, p: Sub(1, p) and Concat([1-p, p], axis=1). predictd outputs p. It
// reports whether cons (the Sigmoid output's two consumers) are that pair.
func (c *converter) binaryPair(cons []*nodeProto) (bool, error) {
	if c.width != 1 || c.layers[len(c.layers)-1].Activation != kernels.ActSigmoid {
		return false, nil
	}
	var sub, cat *nodeProto
	for _, n := range cons {
		switch opKey(n) {
		case "Sub":
			sub = n
		case "Concat":
			cat = n
		}
	}
	if sub == nil || cat == nil {
		return false, nil
	}
	if len(sub.inputs) != 2 || sub.inputs[1] != c.cur {
		return true, fmt.Errorf("%s: predictd reads a Sub after a binary Sigmoid only as 1 - p, with p = %s", ref(sub), model.Quote(c.cur))
	}
	one, _, err := c.constant(sub, 0, "A")
	if err != nil {
		return true, err
	}
	if len(one) != 1 || one[0] != 1 {
		return true, fmt.Errorf("%s: input A %s is %v; predictd reads a Sub after a binary Sigmoid only as 1 - p", ref(sub), model.Quote(sub.inputs[0]), one)
	}
	axis, err := c.intAttr(cat, "axis", 0)
	if err != nil {
		return true, err
	}
	if len(cat.inputs) != 2 || cat.inputs[0] != sub.outputs[0] || cat.inputs[1] != c.cur || (axis != 1 && axis != -1) {
		return true, fmt.Errorf("%s: predictd reads a Concat after a binary Sigmoid only as [1-p, p] along axis 1, with 1-p = %s and p = %s", ref(cat), model.Quote(sub.outputs[0]), model.Quote(c.cur))
	}
	c.visited[sub], c.visited[cat] = true, true
	c.link, c.task = model.LinkSigmoid, model.TaskBinary
	c.stage, c.finalNode = stageDone, cat
	c.cur = cat.outputs[0]
	return true, nil
}

// normalizeScores maps a Normalizer after a classifier's probabilities:
// L1 over probabilities that already sum to 1 (softmax, a binary model's
// [1-p, p]) changes nothing predictd outputs; over one-vs-rest sigmoids it
// is scikit-learn's one-vs-rest probabilities, model.LinkOVR.
func (c *converter) normalizeScores(n *nodeProto) error {
	norm, err := c.stringAttr(n, "norm", "MAX")
	if err != nil {
		return err
	}
	if norm != "L1" {
		return fmt.Errorf("%s: norm %s after the model; predictd reads an L1 Normalizer over a classifier's probabilities", ref(n), model.Quote(norm))
	}
	if c.ens != nil || c.scores || c.task == model.TaskRegression {
		return fmt.Errorf("%s after %s: predictd reads a Normalizer after the model only over a LinearClassifier's or a network's probabilities", ref(n), ref(c.finalNode))
	}
	if c.link == model.LinkSigmoid && c.task == model.TaskMulticlass {
		c.link = model.LinkOVR
	}
	return c.advance(n)
}

package onnx

import (
	"fmt"

	"github.com/predictd/predictd/model"
)

// treeNode maps a TreeEnsembleClassifier or TreeEnsembleRegressor, which
// must be the model's first operator, through treeEnsemble (trees.go).
func (c *converter) treeNode(n *nodeProto) error {
	if c.stage != stageInput || len(c.layers) > 0 {
		return fmt.Errorf("%s: a tree ensemble must be the model's first operator", ref(n))
	}
	if c.scaler != nil {
		panic("BUG: a Scaler to fold into a tree ensemble")
	}
	e, err := treeEnsemble(n, c.width)
	if err != nil {
		return err
	}
	c.ens = e
	c.task, c.labels, c.link = e.Task, e.Labels, e.Trees.Link
	c.stage, c.finalNode = stageDone, n
	if opKey(n) == mlDomain+".TreeEnsembleRegressor" {
		c.cur = n.outputs[0]
		return nil
	}
	if len(n.outputs) < 2 || n.outputs[1] == "" {
		return fmt.Errorf("%s: no probabilities output (the second output, Z); predictd serves probabilities, not labels", ref(n))
	}
	c.ignored[n.outputs[0]] = true
	c.cur = n.outputs[1]
	return nil
}

// finishTrees prepares the ensemble and names its features and outputs.
func (c *converter) finishTrees() (*model.Imported, error) {
	e := c.ens
	if err := e.Trees.Prepare(); err != nil {
		return nil, fmt.Errorf("BUG: imported forest is invalid: %v", err)
	}
	imp := &model.Imported{Kind: model.KindTrees, Task: e.Task, Classes: e.Classes, Model: e.Trees}
	c.setFeatures(imp)
	imp.Outputs, imp.RawOutputs = c.outputs(e.Trees.NumMargins())
	c.setClassLabels(imp)
	return imp, nil
}

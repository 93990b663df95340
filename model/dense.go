package model

import (
	"fmt"
	"sync"

	"github.com/predictd/predictd/kernels"
)

// Layer is one fully connected layer: Out units over In inputs.
type Layer struct {
	In, Out int
	// Weights is Out×In, row-major: row o holds the weights into unit o.
	Weights []float64
	Bias    []float64
	// Activation applies to hidden layers; the last layer's output goes
	// through the model's Link instead.
	Activation kernels.Activation
}

// Dense is a linear model (one layer) or a multilayer perceptron.
type Dense struct {
	Layers []Layer
	// Link turns the last layer's pre-activations into predictions:
	// identity, sigmoid or softmax.
	Link Link

	pool sync.Pool // *denseScratch
}

// Validate checks that the layer shapes chain and the link fits; Predict
// relies on it. It only reads d.
func (d *Dense) Validate() error {
	if len(d.Layers) == 0 {
		return fmt.Errorf("dense model has no layers")
	}
	for i, l := range d.Layers {
		if l.In <= 0 || l.Out <= 0 {
			return fmt.Errorf("layer %d has shape %dx%d, want positive", i, l.Out, l.In)
		}
		if i > 0 && l.In != d.Layers[i-1].Out {
			return fmt.Errorf("layer %d takes %d inputs but layer %d gives %d", i, l.In, i-1, d.Layers[i-1].Out)
		}
		if len(l.Weights) != l.In*l.Out || len(l.Bias) != l.Out {
			return fmt.Errorf("layer %d: %d weights and %d biases, want %d and %d", i, len(l.Weights), len(l.Bias), l.In*l.Out, l.Out)
		}
		if l.Activation > kernels.ActSigmoid {
			return fmt.Errorf("layer %d: unknown activation %d", i, l.Activation)
		}
	}
	switch d.Link {
	case LinkIdentity, LinkSigmoid, LinkSoftmax:
	default:
		return fmt.Errorf("dense model link %q, want identity, sigmoid or softmax", d.Link)
	}
	return checkLink(d.Link, d.NumMargins())
}

func (d *Dense) NumFeatures() int { return d.Layers[0].In }
func (d *Dense) NumMargins() int  { return d.Layers[len(d.Layers)-1].Out }
func (d *Dense) NumOutputs() int  { return d.NumMargins() }

type denseScratch struct{ a, b []float64 }

func (d *Dense) Predict(dst, rows []float64, raw bool) []float64 {
	in := d.NumFeatures()
	nm := d.NumMargins()
	n := len(rows) / in
	start := len(dst)
	dst = kernels.Grow(dst, n*nm)
	s, _ := d.pool.Get().(*denseScratch)
	if s == nil {
		width := 0
		for _, l := range d.Layers {
			width = max(width, l.Out)
		}
		s = &denseScratch{a: make([]float64, width), b: make([]float64, width)}
	}
	last := len(d.Layers) - 1
	for r := 0; r < n; r++ {
		x := rows[r*in : (r+1)*in]
		for i := range d.Layers {
			l := &d.Layers[i]
			act := l.Activation
			var y []float64
			if i == last {
				y = dst[start+r*nm : start+(r+1)*nm]
				act = kernels.ActIdentity
			} else if i%2 == 0 {
				y = s.a[:l.Out]
			} else {
				y = s.b[:l.Out]
			}
			kernels.DenseForward(y, l.Weights, l.Bias, x, act)
			x = y
		}
	}
	d.pool.Put(s)
	if raw {
		return dst
	}
	return applyLink(dst, start, nm, d.Link, 1)
}

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

	fast   []denseLayer32 // set by Prepare
	pool32 sync.Pool      // *denseScratch32
}

// Float32Bound is how far the float32 path (Prepare) may be from the
// float64 result: each prediction within this fraction of its row's
// largest magnitude (a raw margin: of at least 1). internal/fixture.CheckPreparedDense asserts it on every dense
// fixture (scikit-learn and ONNX graphs), and inspect states it.
const Float32Bound = 1e-5

// denseLayer32 is a layer's float32 form for kernels.GemmBiasAct.
type denseLayer32 struct {
	w    *kernels.PackedB
	bias []float32
	act  kernels.Activation
}

// denseChunkRows is how many rows go through the layers together in the
// float32 path: a matrix product over 64 rows keeps the packed weights hot
// while its activations (64 × width floats) stay in L2.
const denseChunkRows = 64

// Prepare validates d and packs its weights into float32 panels, so Predict
// runs on kernels.GemmBiasAct (SIMD where the build and CPU allow). Call it
// once, before d is shared; until then Predict uses the float64 reference,
// which agrees with scikit-learn and numpy to about 1e-13, while the float32
// path agrees to float32 rounding (TestPreparedMatchesReference bounds it).
func (d *Dense) Prepare() error {
	if err := d.Validate(); err != nil {
		return err
	}
	fast := make([]denseLayer32, len(d.Layers))
	for i, l := range d.Layers {
		w := make([]float32, len(l.Weights))
		for j, v := range l.Weights {
			w[j] = float32(v)
		}
		b := make([]float32, len(l.Bias))
		for j, v := range l.Bias {
			b[j] = float32(v)
		}
		act := l.Activation
		if i == len(d.Layers)-1 {
			act = kernels.ActIdentity // the link applies in float64 afterwards
		}
		fast[i] = denseLayer32{w: kernels.PackWeights(l.Out, l.In, w), bias: b, act: act}
	}
	d.fast = fast
	return nil
}

type denseScratch32 struct{ x, a, b []float32 }

// predict32 writes the last layer's pre-activations for rows to out, in
// float32 chunks of denseChunkRows rows.
func (d *Dense) predict32(out, rows []float64) {
	in := d.NumFeatures()
	nm := d.NumMargins()
	n := len(rows) / in
	s, _ := d.pool32.Get().(*denseScratch32)
	if s == nil {
		width := 0
		for _, l := range d.Layers {
			width = max(width, l.Out)
		}
		s = &denseScratch32{
			x: make([]float32, denseChunkRows*in),
			a: make([]float32, denseChunkRows*width),
			b: make([]float32, denseChunkRows*width),
		}
	}
	for r0 := 0; r0 < n; r0 += denseChunkRows {
		m := min(denseChunkRows, n-r0)
		x := s.x[:m*in]
		for i, v := range rows[r0*in : (r0+m)*in] {
			x[i] = float32(v)
		}
		for i := range d.fast {
			l := &d.fast[i]
			y := s.a
			if i%2 == 1 {
				y = s.b
			}
			y = y[:m*l.w.N()]
			kernels.GemmBiasAct(y, x, m, l.w, l.bias, l.act)
			x = y
		}
		for i, v := range x[:m*nm] {
			out[r0*nm+i] = float64(v)
		}
	}
	d.pool32.Put(s)
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
	case LinkIdentity, LinkSigmoid, LinkSoftmax, LinkOVR:
	default:
		return fmt.Errorf("dense model link %s, want identity, sigmoid, softmax or ovr", Quote(string(d.Link)))
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
	if d.fast != nil {
		d.predict32(dst[start:], rows[:n*in])
		if raw {
			return dst
		}
		return applyLink(dst, start, nm, d.Link, 1)
	}
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

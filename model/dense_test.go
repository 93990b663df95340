package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/predictd/predictd/kernels"
)

// mlp builds a prepared MLP: in inputs, the given hidden widths with ReLU,
// then outputs units under link.
func mlp(t testing.TB, in int, hidden []int, outputs int, link Link) *Dense {
	rng := rand.New(rand.NewPCG(21, 22))
	d := &Dense{Link: link}
	prev := in
	for i, w := range append(append([]int(nil), hidden...), outputs) {
		l := Layer{In: prev, Out: w, Weights: make([]float64, prev*w), Bias: make([]float64, w)}
		for j := range l.Weights {
			l.Weights[j] = rng.NormFloat64() / 16
		}
		if i < len(hidden) {
			l.Activation = kernels.ActReLU
		}
		d.Layers = append(d.Layers, l)
		prev = w
	}
	if err := d.Prepare(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPreparedDenseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	d := mlp(t, 256, []int{256, 256}, 10, LinkSoftmax)
	rows := make([]float64, 100*256)
	dst := make([]float64, 0, 100*10)
	d.Predict(dst, rows, false)
	if n := testing.AllocsPerRun(20, func() { dst = d.Predict(dst[:0], rows, false) }); n != 0 {
		t.Errorf("prepared Dense.Predict allocates %v times per call, want 0", n)
	}
}

// BenchmarkDense measures model.Dense on its float32 path (Prepare) and
// its float64 path (a model served at precision float64, the default for
// scikit-learn MLPs): three 256-wide layers (two ReLU hidden layers and an
// identity output of 256 units, the kernels' BenchmarkMLP shape) over 256
// inputs. An identity link keeps the link out of the figure: a float64
// softmax over these 256 wide-ranging margins took 200 µs a row in
// math.Exp, far more than the layers.
func BenchmarkDense(b *testing.B) {
	d32 := mlp(b, 256, []int{256, 256}, 256, LinkIdentity)
	d64 := &Dense{Layers: d32.Layers, Link: d32.Link}
	for _, c := range []struct {
		precision string
		batch     int
		d         *Dense
	}{{"float32", 1, d32}, {"float32", 32, d32}, {"float32", 256, d32}, {"float64", 1, d64}, {"float64", 32, d64}} {
		d, batch := c.d, c.batch
		b.Run(fmt.Sprintf("layers=3/width=256/precision=%s/batch=%d", c.precision, batch), func(b *testing.B) {
			rows := make([]float64, batch*256)
			for i := range rows {
				rows[i] = float64(i%7) / 7
			}
			dst := make([]float64, 0, batch*256)
			b.ReportAllocs()
			for b.Loop() {
				dst = d.Predict(dst[:0], rows, false)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
		})
	}
}

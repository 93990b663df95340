package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// firstDiff reports the first index where got and want differ in their bits.
func firstDiff(got, want []float32) (int, bool) {
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i, false
		}
	}
	return -1, true
}

// TestGemmPanelsBits: the chunks of a shared product, computed in reverse
// order and one at a time, give exactly gemmBiasAct's bits, for every
// level, activation, partial panels and k blocks included.
func TestGemmPanelsBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for _, sh := range [][3]int{{2, 64, 256}, {5, 300, 130}, {33, 513, 200}, {64, 70, 17}, {7, 256, 1024}} {
		m, k, n := sh[0], sh[1], sh[2]
		a, pb, bias := randSlice(rng, m*k), PackB(k, n, randSlice(rng, k*n)), randSlice(rng, n)
		panels := (n + sgemmNR - 1) / sgemmNR
		for _, lv := range availableLevels() {
			for _, act := range allActs {
				for _, bs := range [][]float32{bias, nil} {
					want := make([]float32, m*n)
					gemmBiasAct(lv, want, a, m, pb, bs, act)
					got := make([]float32, m*n)
					for q0 := (panels - 1) / gemmChunkPanels * gemmChunkPanels; q0 >= 0; q0 -= gemmChunkPanels {
						gemmPanels(lv, got, a, m, pb, bs, act, q0, min(q0+gemmChunkPanels, panels))
					}
					if i, ok := firstDiff(got, want); !ok {
						t.Errorf("level=%v m=%d k=%d n=%d act=%d bias=%v: c[%d] = %v by chunks, want %v", lv, m, k, n, act, bs != nil, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmSharedBits: GemmBiasAct on products large enough to share, from
// one goroutine and from several at once (some shared, some not, as the
// running count allows), gives gemmBiasAct's bits every time.
func TestGemmSharedBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	type tc struct {
		m, k, n int
		a, bias []float32
		pb      *PackedB
		want    []float32
	}
	var cases []tc
	for _, sh := range [][3]int{{2, 1024, 1024}, {9, 512, 1000}, {64, 256, 512}, {1, 2048, 2048}} {
		m, k, n := sh[0], sh[1], sh[2]
		c := tc{m: m, k: k, n: n, a: randSlice(rng, m*k), bias: randSlice(rng, n), pb: PackB(k, n, randSlice(rng, k*n))}
		c.want = make([]float32, m*n)
		gemmBiasAct(activeLevel, c.want, c.a, m, c.pb, c.bias, ActReLU)
		cases = append(cases, c)
	}
	check := func(c tc) error {
		got := make([]float32, c.m*c.n)
		GemmBiasAct(got, c.a, c.m, c.pb, c.bias, ActReLU)
		if i, ok := firstDiff(got, c.want); !ok {
			return fmt.Errorf("m=%d k=%d n=%d: c[%d] = %v, want %v", c.m, c.k, c.n, i, got[i], c.want[i])
		}
		return nil
	}
	for _, c := range cases {
		if err := check(c); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(cases))
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * len(cases) {
				if err := check(cases[(g+i)%len(cases)]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := gemmRunning.Load(); n != 0 {
		t.Errorf("gemmRunning = %d after every call returned, want 0", n)
	}
}

// TestGemmSharedAllocs: a shared product allocates nothing once warm.
func TestGemmSharedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	rng := rand.New(rand.NewPCG(15, 3))
	const m, k, n = 16, 1024, 1024
	a, pb, bias := randSlice(rng, m*k), PackB(k, n, randSlice(rng, k*n)), randSlice(rng, n)
	c := make([]float32, m*n)
	GemmBiasAct(c, a, m, pb, bias, ActReLU)
	if got := testing.AllocsPerRun(20, func() { GemmBiasAct(c, a, m, pb, bias, ActReLU) }); got != 0 {
		t.Errorf("%v allocs per shared call, want 0", got)
	}
}

// BenchmarkWideMLP is issue 15's wide MLP, 64→2048→2048→2048→1 (34 MB of
// float32 weights, beyond the caches), on random weights: GemmBiasAct as
// model.Dense runs it (shared with an idle core where it pays), beside the
// serial gemmBiasAct, and serial with callers=2 of them at once (two
// batcher workers each computing their own batch). ns/row is per row of
// one call; rows/s is all callers' rows.
func BenchmarkWideMLP(b *testing.B) {
	const in, width, hidden = 64, 2048, 3
	rng := rand.New(rand.NewPCG(15, 15))
	var ws []*PackedB
	var bs [][]float32
	for l := range hidden + 1 {
		ni, no := width, width
		if l == 0 {
			ni = in
		}
		if l == hidden {
			no = 1
		}
		w := randSlice(rng, ni*no)
		for i := range w {
			w[i] *= float32(math.Sqrt(3 / float64(ni)))
		}
		ws, bs = append(ws, PackWeights(no, ni, w)), append(bs, randSlice(rng, no))
	}
	run := func(shared bool, batch int, x, h0, h1 []float32) {
		cur, out := x, h0
		for l := range ws {
			o := out[:batch*ws[l].N()]
			if shared {
				GemmBiasAct(o, cur, batch, ws[l], bs[l], ActReLU)
			} else {
				gemmBiasAct(activeLevel, o, cur, batch, ws[l], bs[l], ActReLU)
			}
			cur = o
			if l%2 == 0 {
				out = h1
			} else {
				out = h0
			}
		}
		sinkF32 = cur[0]
	}
	for _, batch := range []int{1, 2, 4, 8, 16, 32, 64} {
		for _, mode := range []struct {
			name    string
			shared  bool
			callers int
		}{{"serial", false, 1}, {"shared", true, 1}, {"serial", false, 2}, {"shared", true, 2}} {
			b.Run(fmt.Sprintf("batch=%d/mode=%s/callers=%d", batch, mode.name, mode.callers), func(b *testing.B) {
				bufs := make([][3][]float32, mode.callers)
				for i := range bufs {
					bufs[i] = [3][]float32{randSlice(rng, batch*in), make([]float32, batch*width), make([]float32, batch*width)}
				}
				b.ReportAllocs()
				for b.Loop() {
					var wg sync.WaitGroup
					for i := 1; i < mode.callers; i++ {
						wg.Go(func() { run(mode.shared, batch, bufs[i][0], bufs[i][1], bufs[i][2]) })
					}
					run(mode.shared, batch, bufs[0][0], bufs[0][1], bufs[0][2])
					wg.Wait()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
				b.ReportMetric(float64(b.N*batch*mode.callers)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

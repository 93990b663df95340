package quality

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// rankRows is the straightforward ranking Rank replaced: sort the rows by
// descending score, then cut at each change of score. Kept as the
// reference Rank is held to, and as the peer of its benchmark.
func rankRows(y, p []float64) *Ranked {
	type row struct {
		p   float64
		pos bool
	}
	rows := make([]row, len(p))
	for i, v := range p {
		if v != v {
			return &Ranked{}
		}
		rows[i] = row{v, y[i] == 1}
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.p, a.p) })
	var pts []curvePoint
	tps := 0.0
	for i, r := range rows {
		if r.pos {
			tps++
		}
		if i == len(rows)-1 || rows[i+1].p != r.p {
			pts = append(pts, curvePoint{fps: float64(i+1) - tps, tps: tps, threshold: r.p})
		}
	}
	return &Ranked{pts: pts}
}

func randomRows(n, distinct int, seed uint64) (y, p []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	y, p = make([]float64, n), make([]float64, n)
	for i := range n {
		if distinct > 0 {
			p[i] = float64(rng.IntN(distinct)) / float64(distinct)
		} else {
			p[i] = rng.Float64()
		}
		if rng.Float64() < p[i] {
			y[i] = 1
		}
	}
	return y, p
}

// TestRankAgainstRows: Rank's merge of the two sorted classes gives the
// points of the row sort, ties (few distinct scores) included.
func TestRankAgainstRows(t *testing.T) {
	for _, c := range []struct{ n, distinct int }{{0, 0}, {1, 0}, {1000, 0}, {1000, 7}, {5000, 100}, {50, 1}} {
		y, p := randomRows(c.n, c.distinct, uint64(c.n+c.distinct))
		got, want := Rank(y, p).pts, rankRows(y, p).pts
		if !slices.Equal(got, want) {
			t.Errorf("%d rows, %d distinct scores: Rank's %d points differ from the row sort's %d", c.n, c.distinct, len(got), len(want))
		}
	}
	y := []float64{1, 0, 1}
	if got := Rank(y, []float64{0.3, 0.1, -0.0}).pts; len(got) != 3 || got[2].fps != 1 || got[2].tps != 2 {
		t.Errorf("points %v", got)
	}
}

// BenchmarkRank: Rank against the row sort it replaced, 1M rows of
// distinct scores (the float64 sorts of each class are what it saves).
func BenchmarkRank(b *testing.B) {
	y, p := randomRows(1_000_000, 0, 1)
	for _, c := range []struct {
		name string
		f    func(y, p []float64) *Ranked
	}{{"impl=merge", Rank}, {"impl=rowsort", rankRows}} {
		b.Run("rows=1M/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = c.f(y, p)
			}
			b.ReportMetric(float64(len(p))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

var sink *Ranked

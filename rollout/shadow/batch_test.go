package shadow

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// seenRow is one row as Options.Predicted saw it.
type seenRow struct {
	id            string
	index, rows   int
	ns            int64
	shadow, live  []float64
	idNil, zeroAt bool
}

// collector is a Predicted func that keeps every row it is given.
type collector struct {
	mu   sync.Mutex
	rows []seenRow
}

func (c *collector) predicted(b *Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range b.Len() {
		idx, n := b.Part(i)
		at := b.Time(i)
		r := seenRow{id: string(b.ID(i)), index: idx, rows: n, shadow: slices.Clone(b.Shadow(i)), live: slices.Clone(b.Live(i)),
			idNil: b.ID(i) == nil, zeroAt: at.IsZero()}
		if !at.IsZero() {
			r.ns = at.UnixNano()
		}
		c.rows = append(c.rows, r)
	}
}

func (c *collector) seen() []seenRow {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.rows)
}

// TestOfferIDPredicted: each row reaches Predicted with its offer's id
// (copied: the caller's buffer is overwritten after the offer), time and
// place, its shadow and live outputs, also across the ring's end; an id
// longer than IDBytes, and Offer's rows, come without an id; Predicted
// has returned for a row once ComparedRows counts it.
func TestOfferIDPredicted(t *testing.T) {
	g := &gate{}
	c := &collector{}
	// The shadow predicts 10 × the input; the live outputs are the input.
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, QueueRows: 5, BatchRows: 4, IDBytes: 8, Idle: g.idle,
		Predict: func(_ context.Context, dst, rows []float64, _ int) ([]float64, error) {
			for _, x := range rows {
				dst = append(dst, 10*x)
			}
			return dst, nil
		},
		Predicted: c.predicted})
	t0 := time.Unix(1700000000, 5)
	buf := []byte("req-a")
	if !s.OfferID(buf, t0, []float64{1, 2, 3}, 3, []float64{1, 2, 3}, time.Millisecond) {
		t.Fatal("OfferID of 3 rows into an empty queue of 5 = false")
	}
	copy(buf, "XXXXX")
	g.open.Store(true)
	waitFor(t, s, "3 rows compared", func(r Report) bool { return r.ComparedRows == 3 })
	g.open.Store(false)
	// These wrap: ring slots 3, 4, then 0.
	if !s.OfferID([]byte("way-too-long"), t0.Add(time.Second), []float64{4}, 1, []float64{4}, time.Millisecond) {
		t.Fatal("OfferID of a long id = false")
	}
	offer(t, s, []float64{5}, 1, []float64{5}, time.Millisecond, true)
	if !s.OfferID([]byte("b"), t0.Add(2*time.Second), []float64{6}, 1, []float64{6}, time.Millisecond) {
		t.Fatal("OfferID of b = false")
	}
	g.open.Store(true)
	waitFor(t, s, "6 rows compared", func(r Report) bool { return r.ComparedRows == 6 })
	row := func(id string, index, rows int, ns int64, x float64) seenRow {
		return seenRow{id: id, index: index, rows: rows, ns: ns, shadow: []float64{10 * x}, live: []float64{x}, idNil: id == "", zeroAt: ns == 0}
	}
	want := []seenRow{
		row("req-a", 0, 3, t0.UnixNano(), 1), row("req-a", 1, 3, t0.UnixNano(), 2), row("req-a", 2, 3, t0.UnixNano(), 3),
		row("", 0, 1, t0.Add(time.Second).UnixNano(), 4),
		row("", 0, 1, 0, 5),
		row("b", 0, 1, t0.Add(2*time.Second).UnixNano(), 6),
	}
	if got := c.seen(); !reflect.DeepEqual(got, want) {
		t.Errorf("Predicted saw\n%+v\nwant\n%+v", got, want)
	}
}

// TestPredictedPanics: a panic in Predicted is logged and the batch still
// compared.
func TestPredictedPanics(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskBinary, Predict: identity,
		Predicted: func(*Batch) { panic("boom") },
		Logf: func(f string, a ...any) {
			mu.Lock()
			logged = append(logged, fmt.Sprintf(f, a...))
			mu.Unlock()
		}})
	offer(t, s, []float64{0.2}, 1, []float64{0.2}, time.Millisecond, true)
	r := waitFor(t, s, "1 row compared", func(r Report) bool { return r.ComparedRows == 1 })
	if r.ErrorRows != 0 || r.AgreedRows != 1 {
		t.Errorf("after a Predicted panic: error rows %d, agreed %d; want 0, 1", r.ErrorRows, r.AgreedRows)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || logged[0] != "shadow: Predicted panicked on a batch of 1 rows: boom" {
		t.Errorf("logged %q, want the Predicted panic once", logged)
	}
}

// TestOfferIDAllocs: OfferID, queued or dropped, allocates nothing.
func TestOfferIDAllocs(t *testing.T) {
	g := &gate{} // closed: the queue only fills
	s := mustNew(t, Options{Inputs: 8, Outputs: 2, Task: model.TaskMulticlass, Predict: identity, QueueRows: 2048, IDBytes: 128, Idle: g.idle, Predicted: func(*Batch) {}})
	rows, live, id, at := make([]float64, 16), make([]float64, 4), []byte("0123456789abcdef0123456789abcdef"), time.Now()
	if a := testing.AllocsPerRun(1000, func() { s.OfferID(id, at, rows, 2, live, time.Millisecond) }); a != 0 {
		t.Errorf("OfferID (queued) allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { s.OfferID(id, at, rows, 2, live, time.Millisecond) }); a != 0 {
		t.Errorf("OfferID (dropped) allocates %v times, want 0", a)
	}
	if r := s.Snapshot(); r.DroppedRows == 0 || r.QueuedRows != 2048 {
		t.Errorf("dropped %d, queued %d; want some dropped and 2048 queued, so both paths ran", r.DroppedRows, r.QueuedRows)
	}
}

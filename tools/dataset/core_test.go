package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/predictd/predictd/featcache"
)

// TestSorterOrder: whatever the budget (one run in memory, many runs,
// several merge passes), the sorted stream is every record added, in (key,
// time, n) order, with its values.
func TestSorterOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n      int
		budget int64
		fanIn  int
	}{
		{0, 1 << 20, 8},
		{1, 1 << 20, 8},
		{1000, 1 << 20, 8},     // one run in memory
		{20000, 128 << 10, 64}, // several runs, one merge
		{20000, 64 << 10, 2},   // several merge passes
		{20000, 64 << 10, 3},
	} {
		t.Run(fmt.Sprintf("n=%d/budget=%d/fanin=%d", c.n, c.budget, c.fanIn), func(t *testing.T) {
			s := newSorter(t.TempDir(), "test", 2, c.budget)
			defer s.close()
			var want []rec
			for i := range c.n {
				key := []byte(fmt.Sprintf("k%d", rng.IntN(500)))
				if rng.IntN(10) == 0 {
					key = append(key, "-a-longer-key-past-eight-bytes"[:rng.IntN(30)]...)
				}
				x := rec{key: key, t: int64(rng.IntN(50)) - 25, n: uint64(i), vals: []float64{rng.Float64(), float64(i)}}
				want = append(want, x)
				if err := s.add(x.key, x.t, x.n, x.vals); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.wait(); err != nil {
				t.Fatal(err)
			}
			if c.n > 5000 && len(s.runs) < 2 {
				t.Fatalf("budget %d made %d runs; the case wants several", c.budget, len(s.runs))
			}
			slices.SortFunc(want, func(a, b rec) int { return cmpRec(&a, &b) })
			st, err := s.finish(c.fanIn)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				x, err := st.next()
				if err == io.EOF {
					if i != len(want) {
						t.Fatalf("stream ended after %d records, want %d", i, len(want))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if i >= len(want) || cmpRec(x, &want[i]) != 0 || !slices.Equal(x.vals, want[i].vals) {
					t.Fatalf("record %d = %q %d %d %v, want %+v", i, x.key, x.t, x.n, x.vals, want[i])
				}
			}
		})
	}
}

// TestSortedJoinRule holds joinSorted and the placer, at budgets that
// spill, against a direct reading of the rule: for each request the latest
// row of its key at or before its time (the first in file order of equal
// times), if its age is below the TTL; else the defaults.
func TestSortedJoinRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const ttl = 10 * time.Nanosecond
	defaults := []float64{-1, math.NaN()}
	for round := range 20 {
		nreq, nsrc := 1+rng.IntN(3000), rng.IntN(3000)
		nkeys := 1 + rng.IntN(200)
		type srow struct {
			key  string
			t    int64
			vals []float64
		}
		var src []srow
		for i := range nsrc {
			v := []float64{float64(i), rng.Float64()}
			if rng.IntN(20) == 0 {
				v[1] = math.NaN()
			}
			src = append(src, srow{fmt.Sprint(rng.IntN(nkeys)), int64(rng.IntN(100)), v})
		}
		type req struct {
			key string
			t   int64
		}
		var reqs []req
		for range nreq {
			reqs = append(reqs, req{fmt.Sprint(rng.IntN(nkeys + 20)), int64(rng.IntN(110))})
		}
		dir := t.TempDir()
		budget := int64(64 << 10)
		rs := newSorter(dir, "requests", 0, budget)
		ss := newSorter(dir, "source", 2, budget)
		for i, q := range reqs {
			if err := rs.add([]byte(q.key), q.t, uint64(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range src {
			if err := ss.add([]byte(r.key), r.t, uint64(i), r.vals); err != nil {
				t.Fatal(err)
			}
		}
		rst, err := rs.finish(4)
		if err != nil {
			t.Fatal(err)
		}
		sst, err := ss.finish(4)
		if err != nil {
			t.Fatal(err)
		}
		// Two columns of padding on each side: the view's values go to
		// columns 1 and 2 of 4.
		p, err := newPlacer(dir, uint64(nreq), 4, 1<<10, 512<<10)
		if err != nil {
			t.Fatal(err)
		}
		err = joinSorted(rst, sst, ttl, defaults, func(row uint64, _ featcache.Status, vals []float64) error { return p.put(row, 1, vals) })
		if err != nil {
			t.Fatal(err)
		}
		if err := p.flush(); err != nil {
			t.Fatal(err)
		}
		got := make([]float64, 0, nreq*4)
		table := make([]float64, p.bucketRows*4)
		for b := range p.buckets() {
			first, n, err := p.load(b, table)
			if err != nil {
				t.Fatal(err)
			}
			if first != uint64(len(got)/4) {
				t.Fatalf("bucket %d starts at row %d, want %d", b, first, len(got)/4)
			}
			got = append(got, table[:n*4]...)
		}
		rs.close()
		ss.close()
		p.close()
		if len(got) != nreq*4 {
			t.Fatalf("round %d: %d rows placed, want %d", round, len(got)/4, nreq)
		}
		for i, q := range reqs {
			best := -1
			for j, r := range src {
				if r.key == q.key && r.t <= q.t && (best < 0 || r.t > src[best].t) {
					best = j
				}
			}
			want := defaults
			if best >= 0 && q.t-src[best].t < int64(ttl) {
				want = src[best].vals
			}
			row := got[i*4 : i*4+4]
			if !math.IsNaN(row[0]) || !math.IsNaN(row[3]) || !sameFloats(row[1:3], want) {
				t.Fatalf("round %d: request %d (%s at %d): got %v, want [NaN %v NaN]", round, i, q.key, q.t, row, want)
			}
		}
	}
}

// sameFloats compares bit for bit, so NaN equals NaN.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// FuzzRunRecord: the scratch run decoder never panics on any bytes, and a
// record it decodes encodes back to the bytes it consumed.
func FuzzRunRecord(f *testing.F) {
	f.Add(appendRec(nil, []byte("user-1"), -5, 7, []float64{1.5, math.NaN()}), 2)
	f.Add(appendRec(nil, nil, 0, 0, nil), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1)
	f.Fuzz(func(t *testing.T, b []byte, nvals int) {
		nvals = int(uint(nvals) % 8)
		r := bufio.NewReader(bytes.NewReader(b))
		var x rec
		for used := 0; ; {
			err := readRec(r, &x, nvals)
			if err != nil {
				if err != io.EOF && err != errCorrupt {
					t.Fatalf("error %v, want io.EOF or errCorrupt", err)
				}
				return
			}
			enc := appendRec(nil, x.key, x.t, x.n, x.vals)
			// A uvarint may be written longer than needed; compare what
			// decodes, by decoding the canonical form again.
			var y rec
			if err := readRec(bufio.NewReader(bytes.NewReader(enc)), &y, nvals); err != nil || cmpRec(&x, &y) != 0 || !sameFloats(x.vals, y.vals) {
				t.Fatalf("record %+v re-encoded decodes as %+v, %v", x, y, err)
			}
			used += len(enc)
			if used > len(b)+10*8 {
				t.Fatalf("decoded more than the input")
			}
		}
	})
}

// TestBuffersWithinBudget holds the package doc's memory claims at their
// bounds: a sorter's two buffers and its writer's take at most its budget; the placer's
// bucket table at most tableBytes (M/2) and its write buffers at most
// bufBytes (M/4), or it refuses with the memory that would do, which
// does.
func TestBuffersWithinBudget(t *testing.T) {
	if got := unsafe.Sizeof(item{}); got != itemBytes {
		t.Fatalf("an item takes %d bytes, itemBytes says %d", got, itemBytes)
	}
	for _, m := range []int64{MinMemoryBytes, 16 << 20, DefaultMemoryBytes} {
		for _, views := range []int64{1, 3} {
			for _, nvals := range []int{0, 3, 40} {
				budget := m / 2 / views
				s := newSorter(t.TempDir(), "test", nvals, budget)
				b := s.newRunBuf()
				used := 2*(int64(cap(b.items))*itemBytes+int64(cap(b.arena))+int64(cap(b.vals))*8) + s.writeBufBytes()
				if used > budget || used < budget*9/10 {
					t.Errorf("M=%d views=%d nvals=%d: two buffers take %d bytes of a budget of %d", m, views, nvals, used, budget)
				}
			}
		}
		for _, rows := range []uint64{0, 1000, 1e6, 1e7} {
			const width = 7
			p, err := newPlacer(t.TempDir(), rows, width, m/2, m/4)
			if err != nil {
				if !strings.Contains(err.Error(), "MiB of memory") {
					t.Fatalf("M=%d rows=%d: %v", m, rows, err)
				}
				var need int64
				fmt.Sscanf(err.Error()[strings.Index(err.Error(), "at least ")+len("at least "):], "%d", &need)
				p, err = newPlacer(t.TempDir(), rows, width, need<<20/2, need<<20/4)
				if err != nil {
					t.Fatalf("M=%d rows=%d: with the %d MiB the error asked for: %v", m, rows, need, err)
				}
				p.close()
				continue
			}
			table := int64(p.bucketRows) * width * 8
			var bufs int64
			for _, w := range p.ws {
				bufs += int64(w.Size())
			}
			if table > m/2 || bufs > m/4 {
				t.Errorf("M=%d rows=%d: bucket table %d bytes (max %d), write buffers %d (max %d)", m, rows, table, m/2, bufs, m/4)
			}
			p.close()
		}
	}
}

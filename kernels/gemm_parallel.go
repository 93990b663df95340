package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Sharing a product with idle cores. A batched dense layer (m rows against
// a packed B of N columns) is cut into chunks of gemmChunkPanels column
// panels; each chunk is the serial loop nest of gemmBiasAct restricted to
// its panels, so every element of C is computed by the same operations in
// the same order as the serial call, and the results are identical bit for
// bit (TestGemmParallelBits). The panels of B are disjoint between chunks:
// two cores sharing a product each read only their chunks' weights, so a
// product whose weights come from memory (the wide MLP of issue 15, 34 MB)
// reads them once, not once per core.
//
// Who helps. Helper goroutines (NumCPU−1 of them, started on first use)
// wait on an unbuffered channel: a non-blocking send succeeds only to a
// helper that is parked, so the caller never waits for one to become free
// and never queues behind another product. That a helper goroutine is
// parked does not mean a core is free, though, so the caller offers
// chunks only while fewer large products run than GOMAXPROCS
// (gemmRunning counts them, serial ones included): a batcher whose
// workers are all computing, or a server computing one row per request on
// every core, stays serial. The caller takes chunks from a shared counter
// as well; a helper that is slow to be scheduled finds fewer or none left,
// so a busy machine degrades to the serial speed, not below it. The caller
// waits only for chunks that a helper has started.

const (
	// gemmChunkPanels is the panels (of 32 columns) per chunk: 128
	// columns, so a 2048-wide layer makes 16 chunks and two cores finish
	// within one chunk (1/16 of the work) of each other.
	gemmChunkPanels = 4
	// gemmParallelMinRows is the fewest rows of A worth sharing; one row
	// (gemv) stays serial.
	gemmParallelMinRows = 2
	// gemmLargeMACs is the multiply-adds (m·K·N) from which a call counts
	// in gemmRunning and may be shared: ~1M MACs is 10-20µs on one core,
	// against the ~5-10µs a helper takes to wake, and the atomic counter
	// stays off the small models' paths.
	gemmLargeMACs = 1 << 20
)

// gemmRunning is the number of large GemmBiasAct calls running now.
var gemmRunning atomic.Int32

// gemmTask is one shared product.
type gemmTask struct {
	lv     simdLevel
	c, a   []float32
	m      int
	pb     *PackedB
	bias   []float32
	act    Activation
	chunks int32
	// next is the next chunk to take, done the chunks finished.
	next, done atomic.Int32
	// refs counts the caller and the helpers holding the task; the last
	// to let go pools it.
	refs atomic.Int32
	// fin receives once when a helper finishes the last chunk.
	fin chan struct{}
}

var (
	gemmTasks       = sync.Pool{New: func() any { return &gemmTask{fin: make(chan struct{}, 1)} }}
	gemmHelpersOnce sync.Once
	gemmHelpers     chan *gemmTask // unbuffered: a send reaches only a parked helper
	gemmNumHelpers  int
)

func startGemmHelpers() {
	gemmNumHelpers = runtime.NumCPU() - 1
	gemmHelpers = make(chan *gemmTask)
	for range gemmNumHelpers {
		go func() {
			for t := range gemmHelpers {
				if t.work() {
					t.fin <- struct{}{}
				}
				t.release()
			}
		}()
	}
}

// gemmBiasActShared is gemmBiasAct, its column panels shared with idle
// helpers when the product is large enough and a core may be free.
func gemmBiasActShared(lv simdLevel, c, a []float32, m int, pb *PackedB, bias []float32, act Activation) {
	if m*pb.k*pb.n < gemmLargeMACs {
		gemmBiasAct(lv, c, a, m, pb, bias, act)
		return
	}
	running := int(gemmRunning.Add(1))
	defer gemmRunning.Add(-1)
	panels := (pb.n + sgemmNR - 1) / sgemmNR
	chunks := (panels + gemmChunkPanels - 1) / gemmChunkPanels
	idle := runtime.GOMAXPROCS(0) - running
	if m < gemmParallelMinRows || chunks < 2 || idle < 1 {
		gemmBiasAct(lv, c, a, m, pb, bias, act)
		return
	}
	checkGemmArgs(c, a, m, pb, bias, act)
	gemmHelpersOnce.Do(startGemmHelpers)
	t := gemmTasks.Get().(*gemmTask)
	t.lv, t.c, t.a, t.m, t.pb, t.bias, t.act = lv, c, a, m, pb, bias, act
	t.chunks = int32(chunks)
	t.next.Store(0)
	t.done.Store(0)
	t.refs.Store(1)
	for range min(idle, chunks-1, gemmNumHelpers) {
		t.refs.Add(1)
		sent := false
		select {
		case gemmHelpers <- t:
			sent = true
		default:
		}
		if !sent {
			t.refs.Add(-1)
			break
		}
	}
	if !t.work() {
		// A helper is finishing the last chunk.
		<-t.fin
	}
	t.release()
}

// work computes chunks until none are left to take, and reports whether
// it finished the last one.
func (t *gemmTask) work() (last bool) {
	panels := (t.pb.n + sgemmNR - 1) / sgemmNR
	for {
		ch := t.next.Add(1) - 1
		if ch >= t.chunks {
			return false
		}
		q0 := int(ch) * gemmChunkPanels
		gemmPanels(t.lv, t.c, t.a, t.m, t.pb, t.bias, t.act, q0, min(q0+gemmChunkPanels, panels))
		if t.done.Add(1) == t.chunks {
			return true
		}
	}
}

func (t *gemmTask) release() {
	if t.refs.Add(-1) == 0 {
		t.c, t.a, t.pb, t.bias = nil, nil, nil, nil
		gemmTasks.Put(t)
	}
}

// gemmPanels is the loop nest of gemmBiasAct (m > 1) over the panels
// [q0, q1) of pb: it writes the columns [32·q0, min(32·q1, N)) of c's m
// rows. gemmBiasAct runs it over all panels; a shared product gives each
// core a range, and every element comes out the same either way.
func gemmPanels(lv simdLevel, c, a []float32, m int, pb *PackedB, bias []float32, act Activation, q0, q1 int) {
	k, n := pb.k, pb.n
	// scratch for edge tiles (n not a multiple of 32): on the stack, and
	// passed down by pointer so it is zeroed once per call, not per tile.
	var s tileScratch
	mr := tileRows(lv)
	for pc := 0; ; pc += sgemmKC {
		kc := min(sgemmKC, k-pc)
		first, last := pc == 0, pc+kc >= k
		for ic := 0; ic < m; ic += sgemmMC {
			iend := min(ic+sgemmMC, m)
			for q := q0; q < q1; q++ {
				bp := pb.data[(q*k+pc)*sgemmNR : (q*k+pc+kc)*sgemmNR]
				for i := ic; i < iend; {
					rows := mr
					if iend-i < mr {
						rows = 1
					}
					t := tileJob{rows: rows, kc: kc, i: i, j: q * sgemmNR, first: first, last: last}
					t.run(lv, c, a[i*k+pc:], k, bp, n, bias, act, &s)
					i += rows
				}
			}
		}
		if last {
			return
		}
	}
}

package dataset

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// The external sort: records (key, time, n, values) are added to a sorter
// that keeps at most its budget of them in memory; when full it sorts them
// by (key, time, n) and appends them as one run to its scratch file. At the
// end the runs are merged (in several passes if there are more runs than
// the budget's read buffers allow) into one sorted stream. Entity requests
// use n for the entity row's index, and no values; a view's source rows use
// n for the row's position in its file, so that of two rows with the same
// key and time the earlier one sorts first.

// rec is one record. In a stream, key and vals are valid until the next
// call to next.
type rec struct {
	key  []byte
	t    int64 // event time, Unix nanoseconds
	n    uint64
	vals []float64
}

// cmpRec orders records by key bytes, then time, then n.
func cmpRec(a, b *rec) int {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	if a.t != b.t {
		if a.t < b.t {
			return -1
		}
		return 1
	}
	if a.n != b.n {
		if a.n < b.n {
			return -1
		}
		return 1
	}
	return 0
}

// item is a record held in a sorter's memory: its key is arena[koff:
// koff+klen], its values vals[voff:voff+nvals]; prefix is the key's first
// 8 bytes, big-endian, zero-padded, which decides most comparisons without
// touching the arena. (Records as strings of key, 0x00, big-endian time
// and n, sorted by the runtime's string sort, were tried: at 10M rows x 3
// views the sort took the same 12 s of CPU, spent on cache misses through
// the string pointers, and decoding the sorted records 4 s more.)
type item struct {
	prefix uint64
	t      int64
	n      uint64
	koff   uint32
	klen   uint32
	voff   uint32
}

// itemBytes is what one record costs in a sorter's memory besides its key
// and values (an item's size with its padding).
const itemBytes = 40

// keyBytesPerItem is the key bytes a sorter reserves per record: a run
// ends when its items, its key bytes or its values are full, so keys
// longer than this on average make shorter runs, never more memory.
const keyBytesPerItem = 16

// readBufBytes is the read buffer of each run being merged.
const readBufBytes = 64 << 10

// sorter sorts records in runs. Its memory is two buffers of half its
// budget each: while one is filled, the other is sorted and written as a
// run by a goroutine of its own (one such goroutine at a time per sorter),
// so that on two cores sorting overlaps reading. The sorter's methods are
// called from one goroutine.
type sorter struct {
	dir    string
	name   string // for error messages: what is sorted
	nvals  int
	budget int64 // bytes of both buffers together

	buf      *runBuf // being filled
	spare    *runBuf // written out, ready for reuse; nil if not allocated
	inflight bool    // a buffer is being written: its result comes on done
	done     chan spillResult

	// Owned by the writing goroutine while inflight, else by the caller.
	file   *os.File // scratch file holding the runs; nil until the first spill
	w      *bufio.Writer
	runs   []run // spilled runs, in the order written
	offset int64 // end of the scratch file
}

// runBuf is one buffer of records in memory: items, their keys, their
// values, each allocated once at its share of the buffer's bytes.
type runBuf struct {
	items []item
	arena []byte
	vals  []float64
}

type spillResult struct {
	buf *runBuf
	err error
}

// run is a sorted run's place in the scratch file.
type run struct {
	off, size int64
	count     uint64
}

// newSorter returns a sorter of records with nvals values each, holding
// at most budgetBytes (at least 128 KiB, at most 4 GiB) in memory, its
// runs in a scratch file in dir.
func newSorter(dir, name string, nvals int, budgetBytes int64) *sorter {
	return &sorter{dir: dir, name: name, nvals: nvals, budget: min(max(budgetBytes, 128<<10), 4<<30), done: make(chan spillResult, 1)}
}

// writeBufBytes is the run writer's buffer, part of the budget: 1/16 of
// it, 4 KiB to 256 KiB.
func (s *sorter) writeBufBytes() int64 { return min(max(s.budget/16, 4<<10), 256<<10) }

// newRunBuf allocates one of the two buffers: half of the budget the
// writer leaves.
func (s *sorter) newRunBuf() *runBuf {
	per := int64(itemBytes + keyBytesPerItem + 8*s.nvals)
	n := (s.budget - s.writeBufBytes()) / 2 / per
	return &runBuf{
		items: make([]item, 0, n),
		arena: make([]byte, 0, n*keyBytesPerItem),
		vals:  make([]float64, 0, n*int64(s.nvals)),
	}
}

func (b *runBuf) reset() { b.items, b.arena, b.vals = b.items[:0], b.arena[:0], b.vals[:0] }

// add copies one record into the sorter, handing the buffer to be spilled
// first if it is full.
func (s *sorter) add(key []byte, t int64, n uint64, vals []float64) error {
	if len(vals) != s.nvals {
		panic(fmt.Sprintf("BUG: dataset: sorter %s: %d values, want %d", s.name, len(vals), s.nvals))
	}
	if s.buf == nil {
		s.buf = s.newRunBuf()
	}
	b := s.buf
	if len(b.items) == cap(b.items) || len(b.arena)+len(key) > cap(b.arena) || len(b.vals)+len(vals) > cap(b.vals) {
		if err := s.rotate(); err != nil {
			return err
		}
		b = s.buf
	}
	var p [8]byte
	copy(p[:], key)
	b.items = append(b.items, item{prefix: binary.BigEndian.Uint64(p[:]), t: t, n: n,
		koff: uint32(len(b.arena)), klen: uint32(len(key)), voff: uint32(len(b.vals))})
	b.arena = append(b.arena, key...)
	b.vals = append(b.vals, vals...)
	return nil
}

// rotate starts writing the full buffer as a run in the background and
// continues in the other one, waiting for its previous write if need be.
func (s *sorter) rotate() error {
	if err := s.wait(); err != nil {
		return err
	}
	full, next := s.buf, s.spare
	if next == nil {
		next = s.newRunBuf()
	}
	s.buf, s.spare = next, nil
	s.inflight = true
	go func() {
		err := s.writeRun(full)
		s.done <- spillResult{full, err}
	}()
	return nil
}

// wait waits for the background write, if any, and returns its error.
func (s *sorter) wait() error {
	if !s.inflight {
		return nil
	}
	r := <-s.done
	s.inflight = false
	r.buf.reset()
	s.spare = r.buf
	return r.err
}

func cmpItems(b *runBuf, x, y item) int {
	if x.prefix != y.prefix {
		if x.prefix < y.prefix {
			return -1
		}
		return 1
	}
	if x.klen > 8 || y.klen > 8 {
		if c := bytes.Compare(b.arena[x.koff:x.koff+x.klen], b.arena[y.koff:y.koff+y.klen]); c != 0 {
			return c
		}
	} else if x.klen != y.klen {
		// Equal zero-padded prefixes: the shorter key sorts first, as
		// bytes.Compare has it.
		if x.klen < y.klen {
			return -1
		}
		return 1
	}
	if x.t != y.t {
		if x.t < y.t {
			return -1
		}
		return 1
	}
	if x.n != y.n {
		if x.n < y.n {
			return -1
		}
		return 1
	}
	return 0
}

func (b *runBuf) sort() {
	slices.SortFunc(b.items, func(x, y item) int { return cmpItems(b, x, y) })
}

func (b *runBuf) rec(it item, nvals int, x *rec) {
	x.key, x.t, x.n = b.arena[it.koff:it.koff+it.klen], it.t, it.n
	x.vals = b.vals[it.voff : int(it.voff)+nvals]
}

// writeRun sorts b and appends it to the scratch file as a run.
func (s *sorter) writeRun(b *runBuf) error {
	if len(b.items) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "sort-*.run")
		if err != nil {
			return fmt.Errorf("dataset: sort %s: %w", s.name, err)
		}
		s.file = f
		s.w = bufio.NewWriterSize(f, int(s.writeBufBytes()))
	}
	b.sort()
	r := run{off: s.offset, count: uint64(len(b.items))}
	var enc []byte
	var x rec
	for _, it := range b.items {
		b.rec(it, s.nvals, &x)
		enc = appendRec(enc[:0], x.key, x.t, x.n, x.vals)
		if _, err := s.w.Write(enc); err != nil {
			return fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
		}
		r.size += int64(len(enc))
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
	}
	s.offset += r.size
	s.runs = append(s.runs, r)
	return nil
}

// spill writes every record in memory to the scratch file and frees the
// buffers: the sorter then holds no memory until finish merges its runs.
func (s *sorter) spill() error {
	if err := s.wait(); err != nil {
		return err
	}
	if s.buf != nil {
		if err := s.writeRun(s.buf); err != nil {
			return err
		}
	}
	s.buf, s.spare = nil, nil
	return nil
}

// appendRec encodes a record: the key's length (uvarint) and bytes, the
// time (8 bytes, little endian), n (uvarint), and each value's 8 bytes.
func appendRec(dst, key []byte, t int64, n uint64, vals []float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(t))
	dst = binary.AppendUvarint(dst, n)
	for _, v := range vals {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// maxKeyLen bounds a decoded key: the longest key any path accepts is
// featcache.MaxKeyBytes, far below it; a larger length is a corrupt file.
const maxKeyLen = 1 << 16

// errCorrupt is a scratch file that does not decode: it was written by
// this process, so it has been changed underneath it.
var errCorrupt = errors.New("corrupt scratch run")

// readRec decodes one record from r into x (reusing its buffers); io.EOF
// at a clean end. It reads through r's buffer (Peek), so it does not
// allocate once x's buffers have grown.
func readRec(r *bufio.Reader, x *rec, nvals int) error {
	kl, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return errCorrupt
	}
	if kl > maxKeyLen {
		return errCorrupt
	}
	x.key = slices.Grow(x.key[:0], int(kl))[:kl]
	if _, err := io.ReadFull(r, x.key); err != nil {
		return errCorrupt
	}
	p, err := r.Peek(8)
	if err != nil {
		return errCorrupt
	}
	x.t = int64(binary.LittleEndian.Uint64(p))
	r.Discard(8)
	if x.n, err = binary.ReadUvarint(r); err != nil {
		return errCorrupt
	}
	x.vals = slices.Grow(x.vals[:0], nvals)[:nvals]
	for i := range x.vals {
		p, err := r.Peek(8)
		if err != nil {
			return errCorrupt
		}
		x.vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		r.Discard(8)
	}
	return nil
}

// stream is a sorted sequence of records.
type stream interface {
	// next returns the next record, valid until the next call, or
	// io.EOF.
	next() (*rec, error)
}

// memStream walks a sorted buffer's records in order.
type memStream struct {
	b     *runBuf
	nvals int
	i     int
	x     rec
}

func (m *memStream) next() (*rec, error) {
	if m.i == len(m.b.items) {
		return nil, io.EOF
	}
	m.b.rec(m.b.items[m.i], m.nvals, &m.x)
	m.i++
	return &m.x, nil
}

// runStream reads one run from a scratch file.
type runStream struct {
	r     *bufio.Reader
	nvals int
	left  uint64
	x     rec
	name  string
}

func (rs *runStream) next() (*rec, error) {
	if rs.left == 0 {
		return nil, io.EOF
	}
	if err := readRec(rs.r, &rs.x, rs.nvals); err != nil {
		if err == io.EOF {
			err = errCorrupt
		}
		return nil, fmt.Errorf("dataset: sort %s: %w", rs.name, err)
	}
	rs.left--
	return &rs.x, nil
}

// mergeStream merges sorted streams.
type mergeStream struct {
	h    recHeap
	last stream // the stream whose record was returned last, to advance
}

type heapEntry struct {
	s stream
	x *rec
}

type recHeap []heapEntry

func (h recHeap) Len() int           { return len(h) }
func (h recHeap) Less(i, j int) bool { return cmpRec(h[i].x, h[j].x) < 0 }
func (h recHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *recHeap) Push(x any)        { *h = append(*h, x.(heapEntry)) }
func (h *recHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newMerge(streams []stream) (*mergeStream, error) {
	m := &mergeStream{}
	for _, s := range streams {
		x, err := s.next()
		if err == io.EOF {
			continue
		}
		if err != nil {
			return nil, err
		}
		m.h = append(m.h, heapEntry{s, x})
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *mergeStream) next() (*rec, error) {
	if m.last != nil {
		// Advance the stream whose record the caller has finished with.
		x, err := m.last.next()
		switch {
		case err == io.EOF:
			heap.Pop(&m.h)
		case err != nil:
			return nil, err
		default:
			m.h[0].x = x
			heap.Fix(&m.h, 0)
		}
		m.last = nil
	}
	if len(m.h) == 0 {
		return nil, io.EOF
	}
	m.last = m.h[0].s
	return m.h[0].x, nil
}

// finish returns the sorted stream of every record added. With no spilled
// run the records are walked in memory (and keep it until the sorter is
// closed); otherwise the last records are spilled too, the buffers freed,
// and the runs merged, at most fanIn at once: more runs are first merged
// into longer ones, fanIn at a time. The stream is valid until close.
func (s *sorter) finish(fanIn int) (stream, error) {
	fanIn = max(fanIn, 2)
	if err := s.wait(); err != nil {
		return nil, err
	}
	if len(s.runs) == 0 {
		if s.buf == nil {
			s.buf = &runBuf{}
		}
		s.spare = nil
		s.buf.sort()
		return &memStream{b: s.buf, nvals: s.nvals}, nil
	}
	if err := s.spill(); err != nil {
		return nil, err
	}
	for len(s.runs) > fanIn {
		// Merge the first fanIn runs into one at the end of the file.
		m, err := s.merge(s.runs[:fanIn])
		if err != nil {
			return nil, err
		}
		r := run{off: s.offset}
		var buf []byte
		for {
			x, err := m.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			buf = appendRec(buf[:0], x.key, x.t, x.n, x.vals)
			if _, err := s.w.Write(buf); err != nil {
				return nil, fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
			}
			r.size += int64(len(buf))
			r.count++
		}
		if err := s.w.Flush(); err != nil {
			return nil, fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
		}
		s.offset += r.size
		s.runs = append(s.runs[fanIn:], r)
	}
	return s.merge(s.runs)
}

func (s *sorter) merge(runs []run) (*mergeStream, error) {
	streams := make([]stream, len(runs))
	for i, r := range runs {
		streams[i] = &runStream{
			r:     bufio.NewReaderSize(io.NewSectionReader(s.file, r.off, r.size), readBufBytes),
			nvals: s.nvals,
			left:  r.count,
			name:  s.name,
		}
	}
	return newMerge(streams)
}

// close waits for a background write and removes the scratch file.
func (s *sorter) close() {
	s.wait()
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	s.buf, s.spare = nil, nil
}

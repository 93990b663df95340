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
// 8 bytes, big-endian, zero-padded, which decides most comparisons.
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

// sorter sorts records in runs of at most budget bytes of memory each.
// Not safe for concurrent use.
type sorter struct {
	file   *os.File // scratch file holding the runs; nil until the first spill
	dir    string
	name   string // for error messages: what is sorted
	nvals  int
	budget int64 // bytes of items, keys and values held before a spill

	items []item
	arena []byte
	vals  []float64

	runs   []run // spilled runs, in the order written
	w      *bufio.Writer
	offset int64 // end of the scratch file
}

// run is a sorted run's place in the scratch file.
type run struct {
	off, size int64
	count     uint64
}

// newSorter returns a sorter of records with nvals values each, holding
// at most budgetBytes (at least 64 KiB, at most 2 GiB) in memory, its runs
// in a scratch file in dir.
func newSorter(dir, name string, nvals int, budgetBytes int64) *sorter {
	return &sorter{dir: dir, name: name, nvals: nvals, budget: min(max(budgetBytes, 64<<10), 2<<30)}
}

// add copies one record into the sorter, spilling a run first if memory is
// full.
func (s *sorter) add(key []byte, t int64, n uint64, vals []float64) error {
	if len(vals) != s.nvals {
		panic(fmt.Sprintf("BUG: dataset: sorter %s: %d values, want %d", s.name, len(vals), s.nvals))
	}
	if s.items == nil {
		// The memory is taken once, at its budget, and reused by every
		// run: the items, keyBytesPerItem of keys per item, the values.
		per := int64(itemBytes + keyBytesPerItem + 8*s.nvals)
		n := s.budget / per
		s.items = make([]item, 0, n)
		s.arena = make([]byte, 0, n*keyBytesPerItem)
		s.vals = make([]float64, 0, n*int64(s.nvals))
	}
	if len(s.items) == cap(s.items) || len(s.arena)+len(key) > cap(s.arena) || len(s.vals)+len(vals) > cap(s.vals) {
		if err := s.spill(); err != nil {
			return err
		}
	}
	var p [8]byte
	copy(p[:], key)
	s.items = append(s.items, item{prefix: binary.BigEndian.Uint64(p[:]), t: t, n: n,
		koff: uint32(len(s.arena)), klen: uint32(len(key)), voff: uint32(len(s.vals))})
	s.arena = append(s.arena, key...)
	s.vals = append(s.vals, vals...)
	return nil
}

func (s *sorter) cmpItems(a, b item) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	if a.klen > 8 || b.klen > 8 {
		if c := bytes.Compare(s.arena[a.koff:a.koff+a.klen], s.arena[b.koff:b.koff+b.klen]); c != 0 {
			return c
		}
	} else if a.klen != b.klen {
		// Equal zero-padded prefixes: the shorter key sorts first, as
		// bytes.Compare has it.
		if a.klen < b.klen {
			return -1
		}
		return 1
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

func (s *sorter) itemRec(it item, x *rec) {
	x.key, x.t, x.n = s.arena[it.koff:it.koff+it.klen], it.t, it.n
	x.vals = s.vals[it.voff : int(it.voff)+s.nvals]
}

// spill sorts the records in memory and appends them to the scratch file
// as a run.
func (s *sorter) spill() error {
	if len(s.items) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "sort-*.run")
		if err != nil {
			return fmt.Errorf("dataset: sort %s: %w", s.name, err)
		}
		s.file = f
		s.w = bufio.NewWriterSize(f, 256<<10)
	}
	slices.SortFunc(s.items, s.cmpItems)
	r := run{off: s.offset, count: uint64(len(s.items))}
	var buf []byte
	var x rec
	for _, it := range s.items {
		s.itemRec(it, &x)
		buf = appendRec(buf[:0], x.key, x.t, x.n, x.vals)
		if _, err := s.w.Write(buf); err != nil {
			return fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
		}
		r.size += int64(len(buf))
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("dataset: sort %s: write run: %w", s.name, err)
	}
	s.offset += r.size
	s.runs = append(s.runs, r)
	s.items, s.arena, s.vals = s.items[:0], s.arena[:0], s.vals[:0]
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
// at a clean end.
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
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return errCorrupt
	}
	x.t = int64(binary.LittleEndian.Uint64(b[:]))
	if x.n, err = binary.ReadUvarint(r); err != nil {
		return errCorrupt
	}
	x.vals = slices.Grow(x.vals[:0], nvals)[:nvals]
	for i := range x.vals {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return errCorrupt
		}
		x.vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
	}
	return nil
}

// stream is a sorted sequence of records.
type stream interface {
	// next returns the next record, valid until the next call, or
	// io.EOF.
	next() (*rec, error)
}

// memStream walks a sorter's in-memory records in order.
type memStream struct {
	s *sorter
	i int
	x rec
}

func (m *memStream) next() (*rec, error) {
	if m.i == len(m.s.items) {
		return nil, io.EOF
	}
	m.s.itemRec(m.s.items[m.i], &m.x)
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
// run the records are walked in memory (and keep their memory until the
// sorter is closed); otherwise the last records are spilled too and the
// runs merged, at most fanIn at once: more runs are first merged into
// longer ones, fanIn at a time. The stream is valid until close.
func (s *sorter) finish(fanIn int) (stream, error) {
	fanIn = max(fanIn, 2)
	if len(s.runs) == 0 {
		slices.SortFunc(s.items, s.cmpItems)
		return &memStream{s: s}, nil
	}
	if err := s.spill(); err != nil {
		return nil, err
	}
	s.items, s.arena, s.vals = nil, nil, nil // the memory goes to read buffers
	for len(s.runs) > fanIn {
		// Merge the first fanIn runs into one at the end of the file.
		group := s.runs[:fanIn]
		m, err := s.merge(group)
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

// close removes the scratch file.
func (s *sorter) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	s.items, s.arena, s.vals = nil, nil, nil
}

package dataset

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// The join emits each entity row's values in key order; the output wants
// them in the entity file's order. A placer restores it with one
// distribution pass: entity rows are cut into buckets of bucketRows
// consecutive rows, small enough that one bucket's values fit in memory;
// each result is appended to its bucket's scratch file; the output then
// loads one bucket at a time into a table laid out in row order.

// placer holds the results of every view, by bucket.
type placer struct {
	dir        string
	rows       uint64 // entity rows
	width      int    // features per row, all views
	bucketRows uint64
	files      []*os.File
	ws         []*bufio.Writer
	buf        []byte
}

// maxBuckets bounds the open bucket files.
const maxBuckets = 4096

// minBucketBuf is the least write buffer of a bucket: below it the
// distribution pass would make a system call every few records.
const minBucketBuf = 4 << 10

// maxWidth is the most features a row may have: a result record names its
// columns in 16 bits.
const maxWidth = math.MaxUint16

// newPlacer makes buckets for rows entity rows of width values each, so
// that one bucket takes at most tableBytes and the write buffers of all
// buckets at most bufBytes (each at least minBucketBuf: if they cannot
// be, the memory is too small for the rows, and the error says how much
// would do).
func newPlacer(dir string, rows uint64, width int, tableBytes, bufBytes int64) (*placer, error) {
	if width > maxWidth {
		panic(fmt.Sprintf("BUG: dataset: %d features, more than %d", width, maxWidth))
	}
	rowBytes := uint64(max(width, 1)) * 8
	bucketRows := min(max(uint64(tableBytes)/rowBytes, 1), math.MaxUint32)
	nb := (rows + bucketRows - 1) / bucketRows
	if nb > maxBuckets || (nb > 0 && uint64(bufBytes)/nb < minBucketBuf) {
		// With memory M, tableBytes is M/2 and bufBytes M/4: the buffers
		// fit when M*M >= rows * rowBytes * 8 * minBucketBuf.
		need := math.Sqrt(float64(rows) * float64(rowBytes) * 8 * minBucketBuf)
		return nil, fmt.Errorf("dataset: %d entity rows of %d features need at least %.0f MiB of memory to restore their order (%d result buckets of %d rows at this memory)", rows, width, math.Ceil(need/(1<<20)), nb, bucketRows)
	}
	p := &placer{dir: dir, rows: rows, width: width, bucketRows: bucketRows}
	wbuf := 0
	if nb > 0 {
		wbuf = int(min(uint64(bufBytes)/nb, 256<<10))
	}
	for range nb {
		f, err := os.CreateTemp(dir, "bucket-*.res")
		if err != nil {
			p.close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
		p.files = append(p.files, f)
		p.ws = append(p.ws, bufio.NewWriterSize(f, wbuf))
	}
	return p, nil
}

// A result record is the row's index within its bucket (uint32), the
// first column (uint16), the number of values (uint16), then the values,
// little endian: fixed widths, so that load reads them through its
// buffer without decoding varints.
const resHeader = 8

// put records entity row row's values of the features from col on.
func (p *placer) put(row uint64, col int, vals []float64) error {
	if row >= p.rows || col+len(vals) > p.width {
		panic(fmt.Sprintf("BUG: dataset: result for row %d, columns %d+%d, of %d rows x %d", row, col, len(vals), p.rows, p.width))
	}
	b := row / p.bucketRows
	p.buf = binary.LittleEndian.AppendUint32(p.buf[:0], uint32(row%p.bucketRows))
	p.buf = binary.LittleEndian.AppendUint16(p.buf, uint16(col))
	p.buf = binary.LittleEndian.AppendUint16(p.buf, uint16(len(vals)))
	for _, v := range vals {
		p.buf = binary.LittleEndian.AppendUint64(p.buf, math.Float64bits(v))
	}
	if _, err := p.ws[b].Write(p.buf); err != nil {
		return fmt.Errorf("dataset: write results: %w", err)
	}
	return nil
}

// flush writes out every bucket's buffer.
func (p *placer) flush() error {
	for _, w := range p.ws {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("dataset: write results: %w", err)
		}
	}
	return nil
}

// load fills table (bucketRows*width values, row-major) with bucket b's
// results; a value no result set is NaN. It returns the bucket's first
// row and its number of rows.
func (p *placer) load(b int, table []float64) (first uint64, n int, err error) {
	for i := range table {
		table[i] = math.NaN()
	}
	first = uint64(b) * p.bucketRows
	n = int(min(p.bucketRows, p.rows-first))
	f := p.files[b]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("dataset: read results: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		h, err := r.Peek(resHeader)
		if len(h) == 0 && err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("dataset: read results: %w", errCorrupt)
		}
		row := uint64(binary.LittleEndian.Uint32(h))
		col := uint64(binary.LittleEndian.Uint16(h[4:]))
		cnt := uint64(binary.LittleEndian.Uint16(h[6:]))
		if row >= uint64(n) || col+cnt > uint64(p.width) {
			return 0, 0, fmt.Errorf("dataset: read results: %w", errCorrupt)
		}
		r.Discard(resHeader)
		dst := table[row*uint64(p.width)+col:][:cnt]
		for i := range dst {
			v, err := r.Peek(8)
			if err != nil {
				return 0, 0, fmt.Errorf("dataset: read results: %w", errCorrupt)
			}
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(v))
			r.Discard(8)
		}
	}
	return first, n, nil
}

// buckets is the number of buckets.
func (p *placer) buckets() int { return len(p.files) }

// close removes the bucket files.
func (p *placer) close() {
	for _, f := range p.files {
		f.Close()
		os.Remove(f.Name())
	}
	p.files, p.ws = nil, nil
}

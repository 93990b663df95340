package predlog

import (
	"fmt"

	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/parquetio"
)

// batchRows is how many rows a segment hands parquet-go at once.
const batchRows = 128

// rowGroupRows is the rows per row group of a segment. parquet-go keeps a
// row group in memory until it ends, so this bounds the writer's memory
// per open segment (with MaxSegmentBytes); readers skip row groups by
// their statistics.
const rowGroupRows = 1 << 14

// writer is the state of the Log's writer goroutine; only run touches it.
type writer struct {
	l     *Log
	open  map[*Model]*segment
	hash  *hasher
	seq   uint64
	dirs  map[string]bool // date directories made (and synced) so far
	swept time.Time       // last retention sweep of every model

	reported   bool      // an error was reported, at lastReport
	lastReport time.Time // by Options.Now
	unreported int       // errors since lastReport not reported
}

// segment is a Parquet file being written under its temporary name.
type segment struct {
	m          *Model
	f          *os.File
	tmp, final string
	w          *parquet.Writer
	start      time.Time
	n          int   // records in the segment, batched ones included
	raw        int64 // value bytes before compression
	rows       []parquet.Row
	nb         int    // rows[:nb] are batched
	arena      []byte // the batch's string bytes
	inGroup    int    // rows handed to parquet-go in the open row group
}

func (l *Log) run() {
	defer close(l.done)
	w := &writer{l: l, open: map[*Model]*segment{}, dirs: map[string]bool{}, swept: l.opts.Now()}
	if l.key != nil {
		w.hash = newHasher(l.key)
	}
	every := min(max(l.opts.FlushEvery/4, time.Millisecond), time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if l.opts.beforeWrite != nil {
			l.opts.beforeWrite()
		}
		select {
		case s := <-l.full:
			w.write(s)
		case <-tick.C:
			w.expire(false)
		case <-l.stop:
			for {
				select {
				case s := <-l.full:
					w.write(s)
					continue
				default:
				}
				break
			}
			w.expire(true)
			return
		}
	}
}

// write appends a slot's record to its model's segment and frees the slot.
func (w *writer) write(s *slot) {
	m := s.m
	seg := w.open[m]
	if seg == nil {
		var err error
		if seg, err = w.create(m); err != nil {
			w.fail(m, "start a segment", err, 1)
			w.l.release(s)
			return
		}
		w.open[m] = seg
	}
	seg.add(s, w.hash)
	w.l.release(s)
	if seg.nb == len(seg.rows) {
		if err := seg.flushRows(); err != nil {
			w.abort(seg, "write", err)
			return
		}
	}
	if seg.n >= w.l.opts.MaxSegmentRecords || seg.raw >= w.l.opts.MaxSegmentBytes {
		w.complete(seg)
	}
}

func (l *Log) release(s *slot) {
	s.release(l.opts.MaxRecordBytes)
	l.free <- s // never blocks: the slot came from free
}

// expire completes the segments older than FlushEvery (all of them if
// final) and runs retention when due.
func (w *writer) expire(final bool) {
	now := w.l.opts.Now()
	for _, seg := range w.open {
		if final || now.Sub(seg.start) >= w.l.opts.FlushEvery {
			w.complete(seg)
		}
	}
	if w.l.opts.RetainAge > 0 && now.Sub(w.swept) >= max(w.l.opts.FlushEvery, time.Minute) {
		w.swept = now
		seen := map[string]bool{}
		w.l.mu.Lock()
		models := slices.Clone(w.l.models)
		w.l.mu.Unlock()
		for _, m := range models {
			if !seen[m.schema.Model] {
				seen[m.schema.Model] = true
				w.retain(m)
			}
		}
	}
}

// segTimeLayout names segments so that names sort in start order.
const segTimeLayout = "20060102T150405.000000Z"

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".seg-") && strings.HasSuffix(name, ".tmp")
}

func isSegment(name string) bool {
	return strings.HasPrefix(name, "seg-") && strings.HasSuffix(name, ".parquet")
}

func (w *writer) create(m *Model) (*segment, error) {
	start := w.l.opts.Now().UTC()
	dir := filepath.Join(m.dir, start.Format("2006-01-02"))
	if !w.dirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// Make the new directories' entries durable, up to Dir.
		for d := dir; ; d = filepath.Dir(d) {
			if err := syncDir(filepath.Dir(d)); err != nil {
				return nil, err
			}
			if filepath.Dir(d) == filepath.Clean(w.l.opts.Dir) || d == filepath.Dir(d) {
				break
			}
		}
		w.dirs[dir] = true
	}
	w.seq++
	name := fmt.Sprintf("seg-%s-%06d.parquet", start.Format(segTimeLayout), w.seq)
	seg := &segment{m: m, start: start, final: filepath.Join(dir, name), tmp: filepath.Join(dir, "."+name+".tmp")}
	f, err := os.OpenFile(seg.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		delete(w.dirs, dir) // made again next time, if someone removed it
		return nil, err
	}
	seg.f = f
	seg.w = parquet.NewWriter(f, m.parquetSchema(), parquet.Compression(&parquet.Zstd))
	seg.rows = make([]parquet.Row, batchRows)
	return seg, nil
}

// parquetSchema is the segments' schema (doc.go lists it).
func (m *Model) parquetSchema() *parquet.Schema {
	nodes := make([]parquet.Node, 0, len(m.names))
	nodes = append(nodes,
		parquet.String(),
		parquet.Timestamp(parquet.Microsecond),
		parquet.String(),
		parquet.Int(32))
	for _, i := range m.keep {
		if m.schema.Features[i].Kind == String {
			nodes = append(nodes, parquet.Optional(parquet.String()))
		} else {
			nodes = append(nodes, parquet.Optional(parquet.Leaf(parquet.DoubleType)))
		}
	}
	for range m.schema.Outputs {
		nodes = append(nodes, parquet.Leaf(parquet.DoubleType))
	}
	nodes = append(nodes, parquet.Int(64))
	for range m.schema.Join {
		nodes = append(nodes, parquet.Optional(parquet.String()))
	}
	return parquetio.OrderedSchema("prediction", m.names, nodes)
}

// add builds the slot's row into the batch.
func (seg *segment) add(s *slot, h *hasher) {
	m := s.m
	row := seg.rows[seg.nb][:0]
	col := 0
	req := func(v parquet.Value) {
		row = append(row, v.Level(0, 0, col))
		col++
	}
	opt := func(v parquet.Value, null bool) {
		if null {
			row = append(row, parquet.NullValue().Level(0, 0, col))
		} else {
			row = append(row, v.Level(0, 1, col))
		}
		col++
	}
	str := func(i int, hashed bool) (parquet.Value, bool) {
		b, null := s.str(i)
		if null {
			return parquet.Value{}, true
		}
		start := len(seg.arena)
		if hashed {
			seg.arena = h.sum(seg.arena, b)
		} else {
			seg.arena = append(seg.arena, b...)
		}
		seg.raw += int64(len(seg.arena) - start)
		return parquet.ByteArrayValue(seg.arena[start:len(seg.arena):len(seg.arena)]), false
	}
	id, _ := str(0, m.policy.HashID)
	req(id)
	req(parquet.Int64Value(s.time.UnixMicro()))
	seg.arena = append(seg.arena, m.schema.Model...)
	req(parquet.ByteArrayValue(seg.arena[len(seg.arena)-len(m.schema.Model) : len(seg.arena) : len(seg.arena)]))
	req(parquet.Int32Value(int32(m.schema.Version)))
	fi, si := 0, 1 // next float, next string in the slot
	for _, i := range m.keep {
		if m.schema.Features[i].Kind == String {
			v, null := str(si, m.hashed[si-1])
			opt(v, null)
			si++
		} else {
			x := s.floats[fi]
			opt(parquet.DoubleValue(x), x != x)
			fi++
		}
	}
	for range m.schema.Outputs {
		req(parquet.DoubleValue(s.floats[fi]))
		fi++
	}
	req(parquet.Int64Value(s.latency.Microseconds()))
	for range m.schema.Join {
		v, null := str(si, m.hashed[si-1])
		opt(v, null)
		si++
	}
	seg.raw += int64(8 * len(row))
	seg.rows[seg.nb] = row
	seg.nb++
	seg.n++
}

// flushRows hands the batch to parquet-go, which copies the values.
func (seg *segment) flushRows() error {
	if seg.nb == 0 {
		return nil
	}
	_, err := seg.w.WriteRows(seg.rows[:seg.nb])
	seg.inGroup += seg.nb
	seg.nb = 0
	seg.arena = seg.arena[:0]
	if err == nil && seg.inGroup >= rowGroupRows {
		seg.inGroup = 0
		err = seg.w.Flush()
	}
	return err
}

// complete writes the footer, makes the file durable and renames it into
// place; a reader sees the segment whole or not at all.
func (w *writer) complete(seg *segment) {
	delete(w.open, seg.m)
	err := seg.flushRows()
	what := "write"
	if err == nil {
		err = seg.w.Close()
	}
	if err == nil {
		what = "sync"
		err = seg.f.Sync()
	}
	if err != nil {
		w.abort(seg, what, err)
		return
	}
	fi, err := seg.f.Stat()
	if cerr := seg.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		what = "rename"
		err = os.Rename(seg.tmp, seg.final)
	}
	if err == nil {
		what = "sync the directory of"
		err = syncDir(filepath.Dir(seg.final))
	}
	if err != nil {
		os.Remove(seg.tmp)
		w.fail(seg.m, what+" segment "+seg.final, err, seg.n)
		return
	}
	w.l.segments.Add(1)
	w.l.records.Add(int64(seg.n))
	w.l.bytes.Add(fi.Size())
	if w.l.opts.RetainBytes > 0 || w.l.opts.RetainAge > 0 {
		w.retain(seg.m)
	}
}

// abort gives up a segment after an error: its records are lost, and the
// next record starts a new segment.
func (w *writer) abort(seg *segment, what string, err error) {
	delete(w.open, seg.m)
	seg.f.Close()
	os.Remove(seg.tmp)
	w.fail(seg.m, what+" segment "+seg.tmp, err, seg.n)
}

// fail counts an error and the records it lost, and reports it.
// The report of an error that repeats (a full disk fails every segment)
// is limited to a line per ErrorLogEvery, which counts those not
// reported.
func (w *writer) fail(m *Model, what string, err error, lost int) {
	w.l.errs.Add(1)
	w.l.lost.Add(int64(lost))
	now := w.l.opts.Now()
	if w.reported && now.Sub(w.lastReport) < ErrorLogEvery {
		w.unreported++
		return
	}
	more := ""
	if w.unreported > 0 {
		more = fmt.Sprintf("; %d more errors since the last report", w.unreported)
	}
	w.reported, w.lastReport, w.unreported = true, now, 0
	w.l.opts.Logf("predlog: model %s v%d: %s: %v (%d records lost; the next record starts a new segment%s)", m.schema.Model, m.schema.Version, what, err, lost, more)
}

// ErrorLogEvery is the shortest interval between two reports of write
// errors through Options.Logf; Stats.Errors counts them all.
const ErrorLogEvery = 10 * time.Second

// retain deletes the oldest completed segments of m's model (all
// versions) beyond RetainBytes, and those that started before RetainAge.
func (w *writer) retain(m *Model) {
	type file struct {
		path, name string
		size       int64
	}
	var files []file
	var total int64
	root := filepath.Join(w.l.opts.Dir, m.schema.Model)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && isSegment(d.Name()) {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, file{path, d.Name(), info.Size()})
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		w.fail(m, "retention: scan "+root, err, 0)
		return
	}
	// Names sort in start order (segTimeLayout, then the sequence).
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	cutoff := ""
	if w.l.opts.RetainAge > 0 {
		cutoff = "seg-" + w.l.opts.Now().Add(-w.l.opts.RetainAge).UTC().Format(segTimeLayout)
	}
	for _, f := range files {
		overSize := w.l.opts.RetainBytes > 0 && total > w.l.opts.RetainBytes
		overAge := cutoff != "" && f.name < cutoff
		if !overSize && !overAge {
			break
		}
		if err := os.Remove(f.path); err != nil {
			w.fail(m, "retention: delete "+f.path, err, 0)
			return
		}
		total -= f.size
		w.l.deleted.Add(1)
		// Remove the date directory once empty (os.Remove refuses
		// otherwise); the next segment of that date makes it again.
		if d := filepath.Dir(f.path); os.Remove(d) == nil {
			delete(w.dirs, d)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

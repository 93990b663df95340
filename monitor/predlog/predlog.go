package predlog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is a logged input's column type.
type Kind uint8

const (
	// Float is a DOUBLE column; a NaN input is written as null.
	Float Kind = iota
	// String is a BYTE_ARRAY (UTF8) column.
	String
)

func (k Kind) String() string {
	if k == String {
		return "string"
	}
	return "float"
}

// Field is one input of a model, after the feature join.
type Field struct {
	Name string
	Kind Kind
}

// Policy is what is kept of one model's predictions: the data
// minimization step (docs/prediction-log.md).
type Policy struct {
	// SampleRate in [0, 1] is the share of prediction ids logged
	// (ShouldLog). 0 logs nothing.
	SampleRate float64
	// Fields is the allowlist of inputs written; an input not listed is
	// never copied out of the request. Names not among a version's
	// features are ignored. id, time, model, version, the outputs,
	// latency_us and the join fields are always written.
	Fields []string
	// Hashed names the string inputs and join fields that are
	// identifiers: each value is replaced by its keyed hash (Hash) before
	// it is written. A hashed name needs Options.KeyFile.
	Hashed []string
	// HashID replaces the prediction id by its keyed hash too; whoever
	// joins labels to the log must then hash the label's id with the same
	// key.
	HashID bool
}

// Options configures a Log. The zero value of a field means its default
// (DefaultOptions) unless said otherwise.
type Options struct {
	// Dir is the root of the log (required); segments go to
	// Dir/<model>/<version>/<UTC date>/seg-<start>-<seq>.parquet.
	Dir string
	// BufferRecords bounds the records queued for the writer, over all
	// models of the Log; a Log call finding it full drops the record
	// (counted). Default 8192.
	BufferRecords int
	// MaxRecordBytes is the room for a record's string bytes (id, string
	// inputs, join fields) that each buffer slot keeps after its first
	// use; a larger record is still logged, but its slot's memory is not
	// kept. Default 4096.
	MaxRecordBytes int
	// FlushEvery is the longest a segment stays open after its first
	// record: what a crash can lose. Default 10s.
	FlushEvery time.Duration
	// MaxSegmentRecords completes a segment at this many records.
	// Default 100000.
	MaxSegmentRecords int
	// MaxSegmentBytes completes a segment when its values, before
	// compression, reach this many bytes. Default 64 MiB.
	MaxSegmentBytes int64
	// RetainBytes bounds the bytes of a model's completed segments (all
	// versions); the oldest are deleted first. 0 keeps all.
	RetainBytes int64
	// RetainAge deletes a model's segments that started longer ago than
	// this. 0 keeps all.
	RetainAge time.Duration
	// KeyFile holds the HMAC-SHA256 key for hashed fields, as hex text
	// (at least 32 hex digits: 16 bytes; surrounding white space
	// ignored). Required when any Policy hashes.
	KeyFile string
	// Models holds each model's Policy; a model not listed gets Default.
	Models map[string]Policy
	// Default is the Policy of models not in Models. Its zero value logs
	// nothing (SampleRate 0).
	Default Policy
	// Logf reports write errors and removed leftovers. Default: discard.
	Logf func(format string, args ...any)
	// Now is the clock for segment names, ages and retention, and the
	// time of a Record without one. Default time.Now.
	Now func() time.Time

	// beforeWrite, when set (tests only), runs before each step of the
	// writer goroutine.
	beforeWrite func()
}

// DefaultOptions returns Options with every default filled in except Dir.
func DefaultOptions() Options {
	return Options{
		BufferRecords:     8192,
		MaxRecordBytes:    4096,
		FlushEvery:        10 * time.Second,
		MaxSegmentRecords: 100_000,
		MaxSegmentBytes:   64 << 20,
		Logf:              func(string, ...any) {},
		Now:               time.Now,
	}
}

// Stats are a Log's counters since New.
type Stats struct {
	Logged     int64 // records queued for the writer
	Dropped    int64 // records refused: buffer full, or the Log closed
	SampledOut int64 // records not logged by the sampling rate
	Segments   int64 // segments completed (renamed into place)
	Records    int64 // records in completed segments
	Bytes      int64 // bytes of completed segments
	Deleted    int64 // segments deleted by retention
	Leftovers  int64 // temporary files of an earlier crash removed at New
	Errors     int64 // write, rename and delete errors
	Lost       int64 // logged records lost to write errors
}

// Log is a prediction log: Model.Log calls from any goroutines, one
// writer goroutine per Log, Close once.
type Log struct {
	opts Options
	key  []byte

	free chan *slot // empty slots
	full chan *slot // filled slots, in Log order

	closed   atomic.Bool
	inflight atomic.Int64
	stop     chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	models  []*Model // live ones
	retired Stats    // Logged, Dropped, SampledOut of retired models

	segments, records, bytes, deleted, leftovers, errs, lost atomic.Int64
}

// New validates opts, removes temporary files an earlier crash left under
// opts.Dir and starts the writer.
func New(opts Options) (*Log, error) {
	d := DefaultOptions()
	if opts.Dir == "" {
		return nil, errors.New("predlog: Options.Dir is empty, want the log's directory")
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"BufferRecords", int64(opts.BufferRecords)},
		{"MaxRecordBytes", int64(opts.MaxRecordBytes)},
		{"FlushEvery", int64(opts.FlushEvery)},
		{"MaxSegmentRecords", int64(opts.MaxSegmentRecords)},
		{"MaxSegmentBytes", opts.MaxSegmentBytes},
		{"RetainBytes", opts.RetainBytes},
		{"RetainAge", int64(opts.RetainAge)},
	} {
		if c.v < 0 {
			return nil, fmt.Errorf("predlog: Options.%s is %d, want a positive value or 0 for the default", c.name, c.v)
		}
	}
	if opts.BufferRecords == 0 {
		opts.BufferRecords = d.BufferRecords
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = d.MaxRecordBytes
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = d.FlushEvery
	}
	if opts.MaxSegmentRecords == 0 {
		opts.MaxSegmentRecords = d.MaxSegmentRecords
	}
	if opts.MaxSegmentBytes == 0 {
		opts.MaxSegmentBytes = d.MaxSegmentBytes
	}
	if opts.Logf == nil {
		opts.Logf = d.Logf
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	hashes := false
	check := func(where string, p Policy) error {
		if !(p.SampleRate >= 0 && p.SampleRate <= 1) {
			return fmt.Errorf("predlog: Options.%s.SampleRate is %v, want a rate in [0, 1]", where, p.SampleRate)
		}
		hashes = hashes || p.HashID || len(p.Hashed) > 0
		return nil
	}
	if err := check("Default", opts.Default); err != nil {
		return nil, err
	}
	for name, p := range opts.Models {
		if err := check(fmt.Sprintf("Models[%q]", name), p); err != nil {
			return nil, err
		}
	}
	l := &Log{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	if opts.KeyFile != "" {
		k, err := ReadKey(opts.KeyFile)
		if err != nil {
			return nil, err
		}
		l.key = k
	} else if hashes {
		return nil, errors.New("predlog: a Policy hashes fields or ids but Options.KeyFile is empty, want the file of the HMAC key")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("predlog: Options.Dir: %w", err)
	}
	if err := l.removeLeftovers(); err != nil {
		return nil, err
	}
	l.free = make(chan *slot, opts.BufferRecords)
	l.full = make(chan *slot, opts.BufferRecords)
	for range opts.BufferRecords {
		l.free <- &slot{}
	}
	go l.run()
	return l, nil
}

// removeLeftovers deletes the temporary files of segments a crash did not
// complete.
func (l *Log) removeLeftovers() error {
	return filepath.WalkDir(l.opts.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("predlog: scan %s: %w", path, err)
		}
		if d.Type().IsRegular() && isTemp(d.Name()) {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("predlog: remove leftover %s: %w", path, err)
			}
			l.leftovers.Add(1)
			l.opts.Logf("predlog: removed %s, a segment left incomplete by a crash", path)
		}
		return nil
	})
}

// Schema is what one model version logs.
type Schema struct {
	Model   string
	Version int
	// Features are the model's inputs after the feature join, in the
	// order of Record.Inputs; only those in the Policy's allowlist are
	// written.
	Features []Field
	// Outputs name the model's outputs, in the order of Record.Outputs.
	Outputs []string
	// Join names string columns written as given in Record.Join (slice
	// values, keys a label join needs).
	Join []string
}

// Model logs the predictions of one model version. Its methods are safe
// for concurrent use.
type Model struct {
	l      *Log
	schema Schema
	policy Policy
	rate   uint64 // sample iff sampleHash(id) < rate; see ShouldLog
	all    bool   // rate 1

	keep   []int  // Features indices written, in order
	hashed []bool // per written string column after id: inputs kept, then join
	names  []string
	dir    string // Dir/<model>/<version>

	logged, dropped, sampledOut atomic.Int64
}

// Logger returns the Model that logs schema's predictions under the
// Policy of schema.Model. It fails on a model name that is not a single
// path element or starts with '.' (a hidden directory readers skip), a
// version outside 0..MaxInt32, or column names that repeat (the fixed
// columns included).
func (l *Log) Logger(s Schema) (*Model, error) {
	if s.Model == "" || s.Model[0] == '.' || strings.ContainsAny(s.Model, `/\`+"\x00") {
		return nil, fmt.Errorf("predlog: model name %q cannot name the model's directory, want a name without / or \\, not starting with '.' (model.ValidName's names can)", s.Model)
	}
	if s.Version < 0 || s.Version > math.MaxInt32 {
		return nil, fmt.Errorf("predlog: model %s: version %d, want 0 to %d", s.Model, s.Version, math.MaxInt32)
	}
	p, ok := l.opts.Models[s.Model]
	if !ok {
		p = l.opts.Default
	}
	m := &Model{l: l, schema: s, policy: p, all: p.SampleRate >= 1}
	m.rate = uint64(p.SampleRate * (1 << 64)) // rate<1 here, or all is set
	m.schema.Features = append([]Field(nil), s.Features...)
	m.schema.Outputs = append([]string(nil), s.Outputs...)
	m.schema.Join = append([]string(nil), s.Join...)
	allowed := make(map[string]bool, len(p.Fields))
	for _, f := range p.Fields {
		allowed[f] = true
	}
	hashed := make(map[string]bool, len(p.Hashed))
	for _, f := range p.Hashed {
		hashed[f] = true
	}
	seen := map[string]string{}
	add := func(name, what string) error {
		if name == "" {
			return fmt.Errorf("predlog: model %s v%d: %s has an empty name", s.Model, s.Version, what)
		}
		if prev, dup := seen[name]; dup {
			return fmt.Errorf("predlog: model %s v%d: column %q is both %s and %s; rename one", s.Model, s.Version, name, prev, what)
		}
		seen[name] = what
		m.names = append(m.names, name)
		return nil
	}
	for _, n := range fixedHead {
		add(n, "a fixed column")
	}
	for i, f := range s.Features {
		if !allowed[f.Name] {
			continue
		}
		if err := add(f.Name, "an input"); err != nil {
			return nil, err
		}
		if hashed[f.Name] && f.Kind != String {
			return nil, fmt.Errorf("predlog: model %s v%d: input %q is to be hashed but is a float feature; only string inputs can be hashed", s.Model, s.Version, f.Name)
		}
		m.keep = append(m.keep, i)
		if f.Kind == String {
			m.hashed = append(m.hashed, hashed[f.Name])
		}
	}
	for _, o := range s.Outputs {
		if err := add(o, "an output"); err != nil {
			return nil, err
		}
	}
	if err := add(colLatency, "a fixed column"); err != nil {
		return nil, err
	}
	for _, j := range s.Join {
		if err := add(j, "a join field"); err != nil {
			return nil, err
		}
		m.hashed = append(m.hashed, hashed[j])
	}
	m.dir = filepath.Join(l.opts.Dir, s.Model, fmt.Sprint(s.Version))
	l.mu.Lock()
	l.models = append(l.models, m)
	l.mu.Unlock()
	return m, nil
}

// The fixed columns, in file order: id, time, model, version first, then
// the inputs and outputs, then latency_us, then the join fields.
const colLatency = "latency_us"

var fixedHead = []string{"id", "time", "model", "version"}

// Value is one input: a float, a string, or missing.
type Value struct {
	Float float64
	Str   string
	Null  bool
}

// Record is one prediction. Log copies what it keeps: the caller may
// reuse the slices at once.
type Record struct {
	ID      string
	Time    time.Time
	Latency time.Duration
	// Inputs has one Value per Schema.Features, in order: Float for a
	// float feature (NaN or Null is written as null), Str for a string one
	// (Null is written as null).
	Inputs []Value
	// Outputs has one value per Schema.Outputs; NaN and Inf are written
	// as they are.
	Outputs []float64
	// Join has one value per Schema.Join; "" is written as null.
	Join []string
}

// ShouldLog says whether the prediction with this id is sampled: a pure
// function of the id and the model's rate, so a replay samples the same
// ids, and a rate r samples about r of distinct ids. It allocates nothing.
func (m *Model) ShouldLog(id string) bool {
	if m.all {
		return true
	}
	return sampleHash(id) < m.rate
}

// Log queues rec for the writer if its id is sampled. It never blocks: if
// the buffer is full (or the Log is closed) it drops the record, counts it
// and returns false. It also returns false for a record sampled out. With
// slots warm (a slot's first use allocates its arrays) it allocates
// nothing. It panics if rec's slices do not match the Schema, a caller's
// bug.
func (m *Model) Log(rec *Record) bool {
	if !m.ShouldLog(rec.ID) {
		m.sampledOut.Add(1)
		return false
	}
	if len(rec.Inputs) != len(m.schema.Features) || len(rec.Outputs) != len(m.schema.Outputs) || len(rec.Join) != len(m.schema.Join) {
		panic(fmt.Sprintf("BUG: predlog: model %s v%d: record with %d inputs, %d outputs, %d join values; the schema has %d, %d, %d",
			m.schema.Model, m.schema.Version, len(rec.Inputs), len(rec.Outputs), len(rec.Join),
			len(m.schema.Features), len(m.schema.Outputs), len(m.schema.Join)))
	}
	l := m.l
	l.inflight.Add(1)
	defer l.inflight.Add(-1)
	if l.closed.Load() {
		m.dropped.Add(1)
		return false
	}
	var s *slot
	select {
	case s = <-l.free:
	default:
		m.dropped.Add(1)
		return false
	}
	s.fill(m, rec)
	if s.time.IsZero() {
		s.time = l.opts.Now()
	}
	l.full <- s // never blocks: there are as many places as slots
	m.logged.Add(1)
	return true
}

// Stats returns the model's share of the Log's counters: Logged, Dropped
// and SampledOut.
func (m *Model) Stats() Stats {
	return Stats{Logged: m.logged.Load(), Dropped: m.dropped.Load(), SampledOut: m.sampledOut.Load()}
}

// Retire takes m off the Log's list of models, keeping its counts in the
// Log's Stats: call it after m's last Log, when its model version is
// unloaded. Records already queued are written, and its open segment
// completes as any other (within FlushEvery, or at Close).
func (m *Model) Retire() {
	l := m.l
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.models, m)
	if i < 0 {
		return
	}
	l.models = slices.Delete(l.models, i, i+1)
	st := m.Stats()
	l.retired.Logged += st.Logged
	l.retired.Dropped += st.Dropped
	l.retired.SampledOut += st.SampledOut
}

// Stats returns the Log's counters.
func (l *Log) Stats() Stats {
	s := Stats{
		Segments: l.segments.Load(), Records: l.records.Load(), Bytes: l.bytes.Load(),
		Deleted: l.deleted.Load(), Leftovers: l.leftovers.Load(), Errors: l.errs.Load(), Lost: l.lost.Load(),
	}
	l.mu.Lock()
	s.Logged, s.Dropped, s.SampledOut = l.retired.Logged, l.retired.Dropped, l.retired.SampledOut
	for _, m := range l.models {
		ms := m.Stats()
		s.Logged += ms.Logged
		s.Dropped += ms.Dropped
		s.SampledOut += ms.SampledOut
	}
	l.mu.Unlock()
	return s
}

// Close stops logging (later Log calls drop), writes the queued records
// and completes every open segment. If ctx ends first it returns
// ctx.Err(); the writer goes on finishing in the background.
func (l *Log) Close(ctx context.Context) error {
	if l.closed.Swap(true) {
		return errors.New("predlog: Close called twice")
	}
	// A Log call that saw closed false may still be queueing its record;
	// it is written if it got in before the writer's last drain.
	for l.inflight.Load() != 0 {
		time.Sleep(10 * time.Microsecond)
	}
	close(l.stop)
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slot is a buffered record: its arrays are kept between uses.
type slot struct {
	m       *Model
	time    time.Time
	latency time.Duration
	floats  []float64 // kept float inputs (NaN = null), then outputs
	strs    []byte    // id, then kept string inputs, then join values
	ends    []int32   // end of each string in strs; -1 = null
}

func (s *slot) fill(m *Model, rec *Record) {
	s.m, s.time, s.latency = m, rec.Time, rec.Latency
	s.floats, s.strs, s.ends = s.floats[:0], s.strs[:0], s.ends[:0]
	s.addStr(rec.ID, false)
	for _, i := range m.keep {
		v := &rec.Inputs[i]
		if m.schema.Features[i].Kind == String {
			s.addStr(v.Str, v.Null)
		} else {
			x := v.Float
			if v.Null {
				x = math.NaN()
			}
			s.floats = append(s.floats, x)
		}
	}
	s.floats = append(s.floats, rec.Outputs...)
	for _, j := range rec.Join {
		s.addStr(j, j == "")
	}
}

func (s *slot) addStr(v string, null bool) {
	if null {
		s.ends = append(s.ends, -1)
		return
	}
	s.strs = append(s.strs, v...)
	s.ends = append(s.ends, int32(len(s.strs)))
}

// str returns string i and whether it is null.
func (s *slot) str(i int) ([]byte, bool) {
	if s.ends[i] < 0 {
		return nil, true
	}
	start := int32(0)
	for j := i - 1; j >= 0; j-- {
		if s.ends[j] >= 0 {
			start = s.ends[j]
			break
		}
	}
	return s.strs[start:s.ends[i]], false
}

// release drops a slot's oversized string array so one huge record does
// not pin its memory.
func (s *slot) release(maxBytes int) {
	s.m = nil
	if cap(s.strs) > maxBytes {
		s.strs = nil
	}
}

package predlog

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/table"
)

// row is a record as read back: every cell as a Go value (nil = null).
type row map[string]any

var testFeatures = []Field{
	{"age", Float}, {"country", String}, {"user_id", String}, {"secret", Float}, {"clicks", Float},
}

func testRecords(n int) []Record {
	countries := []string{"FR", "日本", "", "Ελλάδα", "a\"b,c\nd"}
	out := make([]Record, n)
	base := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	for i := range out {
		r := Record{
			ID:      fmt.Sprintf("req-%d", i),
			Time:    base.Add(time.Duration(i) * 1234567 * time.Nanosecond),
			Latency: time.Duration(i*13) * time.Microsecond,
			Inputs: []Value{
				{Float: float64(i) / 3},
				{Str: countries[i%len(countries)], Null: i%len(countries) == 2},
				{Str: fmt.Sprintf("user-%d", i%17)},
				{Float: 42},
				{Float: math.NaN()},
			},
			Outputs: []float64{float64(i) * 0.5, -1},
			Join:    []string{fmt.Sprintf("slice-%d", i%3), ""},
		}
		switch i % 7 {
		case 1:
			r.Outputs[0] = math.NaN()
		case 2:
			r.Outputs[0] = math.Inf(1)
		case 3:
			r.Outputs[1] = math.Inf(-1)
		case 4:
			r.Inputs[0].Null = true
		case 5:
			r.Inputs[4].Float = 7
		}
		out[i] = r
	}
	return out
}

// want is what the log must hold for rec under the policy of newTestLog:
// age, country, clicks and user_id (hashed) kept, secret not.
func want(rec Record, key []byte) row {
	r := row{
		"id": rec.ID, "time": rec.Time.UnixMicro(), "model": "ctr", "version": int64(3),
		"age": nil, "country": nil, "user_id": refHash(key, rec.Inputs[2].Str), "clicks": nil,
		"p": rec.Outputs[0], "q": rec.Outputs[1], "latency_us": rec.Latency.Microseconds(),
		"slice": rec.Join[0], "empty": nil,
	}
	if !rec.Inputs[0].Null {
		r["age"] = rec.Inputs[0].Float
	}
	if !rec.Inputs[1].Null {
		r["country"] = rec.Inputs[1].Str
	}
	if x := rec.Inputs[4].Float; !math.IsNaN(x) {
		r["clicks"] = x
	}
	return r
}

// refHash is Hash computed independently, with crypto/hmac.
func refHash(key []byte, v string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(v))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

const testKeyHex = "000102030405060708090a0b0c0d0e0f"

func writeKey(t *testing.T) (string, []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(" "+testKeyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, _ := hex.DecodeString(testKeyHex)
	return p, k
}

func testOptions(t *testing.T, dir string) Options {
	keyFile, _ := writeKey(t)
	return Options{
		Dir:        dir,
		FlushEvery: time.Hour, // rotation by age only where a test asks
		KeyFile:    keyFile,
		Models: map[string]Policy{"ctr": {
			SampleRate: 1,
			Fields:     []string{"age", "country", "user_id", "clicks", "not_a_feature"},
			Hashed:     []string{"user_id"},
		}},
		Logf: t.Logf,
	}
}

func testSchema() Schema {
	return Schema{Model: "ctr", Version: 3, Features: testFeatures, Outputs: []string{"p", "q"}, Join: []string{"slice", "empty"}}
}

func mustNew(t *testing.T, o Options) *Log {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return l
}

func mustLogger(t *testing.T, l *Log, s Schema) *Model {
	t.Helper()
	m, err := l.Logger(s)
	if err != nil {
		t.Fatalf("Logger(%+v): %v", s, err)
	}
	return m
}

func closeLog(t *testing.T, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// segments lists the completed segments under dir in name order, and
// fails on any other file.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !isSegment(d.Name()) {
			return fmt.Errorf("%s is not a segment", p)
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return out
}

// readParquetGo reads a segment with ReadSegment (parquet-go's reader).
func readParquetGo(t *testing.T, path string) []row {
	t.Helper()
	seg, err := ReadSegment(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]row, len(seg.Rows))
	for i, r := range seg.Rows {
		out[i] = r
	}
	return out
}

// readTable reads a segment with internal/table, as `predictd eval` does.
func readTable(t *testing.T, path string) []row {
	t.Helper()
	r, err := table.Open(path, table.Options{})
	if err != nil {
		t.Fatalf("table.Open(%s): %v", path, err)
	}
	defer r.Close()
	cols := r.Columns()
	var out []row
	var ch table.Chunk
	for {
		n, err := r.Next(&ch, 100)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if n == 0 {
			return out
		}
		for i := range n {
			rr := row{}
			for j, c := range cols {
				var v any
				var err error
				switch {
				case ch.Null(j, i):
					// A NaN DOUBLE reads as missing.
				case c.Type == table.String:
					v = ch.Text(j, i)
				case c.Type == table.Float:
					v, err = ch.Float(j, i)
					if err != nil && strings.Contains(err.Error(), "is not a finite number") {
						v, err = errNotFinite, nil
					}
				case c.Type == table.Time:
					var tm time.Time
					tm, err = ch.Time(j, i)
					v = tm.UnixMicro()
				default:
					v, err = ch.Int(j, i)
				}
				if err != nil {
					t.Fatalf("%s: row %d column %s: %v", path, i, c.Name, err)
				}
				rr[c.Name] = v
			}
			out = append(out, rr)
		}
	}
}

func sameRow(a, b row) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		x, xf := v.(float64)
		y, yf := w.(float64)
		if xf && yf {
			if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
				return false
			}
			continue
		}
		if v != w {
			return false
		}
	}
	return true
}

// errNotFinite stands for internal/table's refusal of an infinite value.
const errNotFinite = "error: not a finite number"

// nanAsNull is what internal/table reports for a row: NaN is missing, and
// ±Inf an error (`predictd eval` refuses a row with an infinite score).
func nanAsNull(r row) row {
	out := row{}
	for k, v := range r {
		if x, ok := v.(float64); ok && math.IsNaN(x) {
			v = nil
		} else if ok && math.IsInf(x, 0) {
			v = errNotFinite
		}
		out[k] = v
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(t, dir)
	o.MaxSegmentRecords = 50
	l := mustNew(t, o)
	_, key := writeKey(t)
	m := mustLogger(t, l, testSchema())
	recs := testRecords(237)
	for i := range recs {
		// Wait for room rather than drop: this test is about the contents.
		for !m.Log(&recs[i]) {
			time.Sleep(time.Millisecond)
		}
	}
	closeLog(t, l)

	segs := segments(t, dir)
	if len(segs) != 5 {
		t.Fatalf("237 records at MaxSegmentRecords 50: %d segments %v, want 5", len(segs), segs)
	}
	var gotPQ, gotTable []row
	for _, s := range segs {
		if !strings.Contains(s, filepath.Join(dir, "ctr", "3")+string(filepath.Separator)) {
			t.Errorf("segment %s is not under %s/ctr/3/", s, dir)
		}
		gotPQ = append(gotPQ, readParquetGo(t, s)...)
		gotTable = append(gotTable, readTable(t, s)...)
	}
	if len(gotPQ) != len(recs) || len(gotTable) != len(recs) {
		t.Fatalf("read back %d rows (parquet-go), %d (internal/table), want %d", len(gotPQ), len(gotTable), len(recs))
	}
	for i, rec := range recs {
		w := want(rec, key)
		if !sameRow(gotPQ[i], w) {
			t.Errorf("record %d: parquet-go read\n%v\nwant\n%v", i, gotPQ[i], w)
		}
		if !sameRow(gotTable[i], nanAsNull(w)) {
			t.Errorf("record %d: internal/table read\n%v\nwant\n%v", i, gotTable[i], nanAsNull(w))
		}
	}
	// Column order and types, as doc.go says.
	r, err := table.Open(segs[0], table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var cols []string
	for _, c := range r.Columns() {
		cols = append(cols, c.Name+":"+c.Type.String())
	}
	wantCols := "id:string time:time model:string version:int age:float country:string user_id:string clicks:float p:float q:float latency_us:int slice:string empty:string"
	if got := strings.Join(cols, " "); got != wantCols {
		t.Errorf("columns\n%s\nwant\n%s", got, wantCols)
	}
	st := l.Stats()
	if st.Logged != 237 || st.Records != 237 || st.Segments != 5 || st.Errors != 0 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want Logged 237, Records 237, Segments 5, no errors or drops", st)
	}
	var size int64
	for _, s := range segs {
		fi, _ := os.Stat(s)
		size += fi.Size()
	}
	if st.Bytes != size {
		t.Errorf("Stats.Bytes = %d, want the segments' size %d", st.Bytes, size)
	}
}

func TestZstdCompression(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, testOptions(t, dir))
	m := mustLogger(t, l, testSchema())
	recs := testRecords(10)
	for i := range recs {
		m.Log(&recs[i])
	}
	closeLog(t, l)
	for _, s := range segments(t, dir) {
		f, _ := os.Open(s)
		fi, _ := f.Stat()
		pf, err := parquet.OpenFile(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range pf.Metadata().RowGroups {
			for _, c := range rg.Columns {
				if got := c.MetaData.Codec.String(); got != "ZSTD" {
					t.Errorf("%s column %v: codec %s, want ZSTD", s, c.MetaData.PathInSchema, got)
				}
			}
		}
		f.Close()
	}
}

// TestHashVector holds Hash to crypto/hmac and to the vector in
// docs/prediction-log.md.
func TestHashVector(t *testing.T) {
	_, key := writeKey(t)
	// Computed independently too with python3:
	// hmac.new(bytes.fromhex(KEY), b"user-42", hashlib.sha256).hexdigest()[:32]
	const docVector = "9c3949bf88e86e261f58b0d4830fe551"
	for _, v := range []string{"", "user-42", "日本", strings.Repeat("x", 1000)} {
		if got, want := Hash(key, v), refHash(key, v); got != want {
			t.Errorf("Hash(%x, %q) = %s, want %s", key, v, got, want)
		}
	}
	if got := Hash(key, "user-42"); got != docVector {
		t.Errorf("Hash(%x, \"user-42\") = %s, want %s", key, got, docVector)
	}
	doc, err := os.ReadFile("../../docs/prediction-log.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testKeyHex, docVector, "user-42"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("docs/prediction-log.md does not show %q of the test vector", s)
		}
	}
}

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, wantErr string }{
		{"00112233445566778899aabbccddeeff", ""},
		{"\n 00112233445566778899aabbccddeeff0011 \n", ""},
		{"00112233445566778899aabbccddee", "key of 15 bytes, want at least 16"},
		{"not hex at all, not hex at all!!", "want the key as hex digits"},
	} {
		p := filepath.Join(dir, "k")
		os.WriteFile(p, []byte(c.text), 0o600)
		_, err := ReadKey(p)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), p)) {
			t.Errorf("ReadKey(file holding %q) error %v, want one containing %q and the path", c.text, err, c.wantErr)
		}
	}
	if _, err := ReadKey(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("ReadKey(missing file) succeeded, want an error")
	}
}

func TestAllowlistAndHashedID(t *testing.T) {
	dir := t.TempDir()
	keyFile, key := writeKey(t)
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, KeyFile: keyFile, Default: Policy{SampleRate: 1, Fields: []string{"country"}, Hashed: []string{"country", "slice"}, HashID: true}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Features: testFeatures, Outputs: []string{"p", "q"}, Join: []string{"slice", "empty"}})
	recs := testRecords(5)
	for i := range recs {
		m.Log(&recs[i])
	}
	closeLog(t, l)
	var got []row
	for _, s := range segments(t, dir) {
		got = append(got, readParquetGo(t, s)...)
	}
	if len(got) != len(recs) {
		t.Fatalf("read %d rows, want %d", len(got), len(recs))
	}
	for i, rec := range recs {
		w := row{"id": refHash(key, rec.ID), "time": rec.Time.UnixMicro(), "model": "m", "version": int64(1),
			"country": nil, "p": rec.Outputs[0], "q": rec.Outputs[1], "latency_us": rec.Latency.Microseconds(),
			"slice": refHash(key, rec.Join[0]), "empty": nil}
		if !rec.Inputs[1].Null {
			w["country"] = refHash(key, rec.Inputs[1].Str)
		}
		if !sameRow(got[i], w) {
			t.Errorf("record %d: read\n%v\nwant (only country of the inputs; country, slice and id hashed)\n%v", i, got[i], w)
		}
	}
}

// stepper runs the writer one step at a time: between steps the writer
// is parked at the top of its loop, so the test may read what it wrote
// without a race.
type stepper struct {
	running       atomic.Bool
	atTop, resume chan struct{}
}

func newStepper(o *Options) *stepper {
	s := &stepper{atTop: make(chan struct{}), resume: make(chan struct{})}
	o.beforeWrite = func() {
		if s.running.Load() {
			return
		}
		s.atTop <- struct{}{}
		<-s.resume
	}
	return s
}

// park waits for the writer's first step.
func (s *stepper) park() { <-s.atTop }

// drain lets the writer step until it has taken every queued record and
// finished with the last one.
func (s *stepper) drain(l *Log) {
	for len(l.full) > 0 {
		s.resume <- struct{}{}
		<-s.atTop
	}
}

// run lets the writer go on freely.
func (s *stepper) run() {
	s.running.Store(true)
	close(s.resume)
}

// refSample is ShouldLog computed independently: hash/fnv's FNV-1a, then
// splitmix64's finalizer, against rate·2^64.
func refSample(id string, rate float64) bool {
	h := fnv64a(id)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return rate >= 1 || float64(h) < rate*math.Exp2(64)
}

func TestSampling(t *testing.T) {
	dir := t.TempDir()
	models := map[string]Policy{}
	rates := []float64{0, 0.001, 0.01, 0.1, 0.5, 0.9, 1}
	for _, r := range rates {
		models[fmt.Sprint(r)] = Policy{SampleRate: r}
	}
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Models: models})
	defer closeLog(t, l)
	const n = 200_000
	for _, r := range rates {
		m := mustLogger(t, l, Schema{Model: fmt.Sprint(r), Version: 1})
		again := mustLogger(t, l, Schema{Model: fmt.Sprint(r), Version: 2})
		k, mismatch := 0, 0
		for i := range n {
			id := fmt.Sprintf("%08x-req-%d", i*2654435761, i)
			s := m.ShouldLog(id)
			if s != again.ShouldLog(id) {
				t.Fatalf("rate %v: ShouldLog(%q) differs between two Models", r, id)
			}
			if s != refSample(id, r) {
				mismatch++
			}
			if s {
				k++
			}
		}
		if mismatch > 0 {
			t.Errorf("rate %v: ShouldLog disagrees with the reference on %d of %d ids", r, mismatch, n)
		}
		frac := float64(k) / n
		sigma := math.Sqrt(r * (1 - r) / n)
		if math.Abs(frac-r) > 5*sigma+1e-12 {
			t.Errorf("rate %v: sampled %d of %d ids (%.5f), want within 5σ (%.5f) of the rate", r, k, n, frac, 5*sigma)
		}
	}
}

func TestSampledOutCounted(t *testing.T) {
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: t.TempDir(), Default: Policy{SampleRate: 0.5}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	logged := 0
	for i := range 1000 {
		rec := Record{ID: fmt.Sprint(i), Outputs: []float64{1}}
		if m.Log(&rec) {
			logged++
		} else if m.ShouldLog(rec.ID) {
			t.Fatalf("Log(%q) = false for a sampled id with an empty buffer", rec.ID)
		}
	}
	closeLog(t, l)
	st := l.Stats()
	if st.Logged != int64(logged) || st.SampledOut != int64(1000-logged) || st.Records != int64(logged) {
		t.Errorf("after %d of 1000 logged: Stats = %+v, want Logged %d, SampledOut %d, Records %d", logged, st, logged, 1000-logged, logged)
	}
}

func TestDropWhenFull(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	o := Options{FlushEvery: time.Hour, Dir: dir, BufferRecords: 8, Default: Policy{SampleRate: 1}}
	o.beforeWrite = func() { <-release } // a stalled disk
	l := mustNew(t, o)
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	var got []bool
	for i := range 20 {
		rec := Record{ID: fmt.Sprint(i), Outputs: []float64{float64(i)}}
		got = append(got, m.Log(&rec))
	}
	want := slices.Repeat([]bool{true}, 8)
	want = append(want, slices.Repeat([]bool{false}, 12)...)
	if !slices.Equal(got, want) {
		t.Errorf("Log of 20 records into 8 slots with the writer stalled = %v, want %v", got, want)
	}
	if st := m.Stats(); st.Logged != 8 || st.Dropped != 12 {
		t.Errorf("Model.Stats = %+v, want Logged 8, Dropped 12", st)
	}
	close(release)
	closeLog(t, l)
	n := 0
	for _, s := range segments(t, dir) {
		n += len(readParquetGo(t, s))
	}
	if n != 8 {
		t.Errorf("segments hold %d records, want the 8 logged", n)
	}
	rec := Record{ID: "late", Outputs: []float64{1}}
	if m.Log(&rec) {
		t.Errorf("Log after Close = true, want false")
	}
	if st := l.Stats(); st.Dropped != 13 {
		t.Errorf("Stats.Dropped after a Log past Close = %d, want 13", st.Dropped)
	}
}

func TestRotateByAge(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{Dir: dir, FlushEvery: 20 * time.Millisecond, Default: Policy{SampleRate: 1}})
	defer closeLog(t, l)
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	rec := Record{ID: "a", Outputs: []float64{1}}
	m.Log(&rec)
	// No timing assertion: wait (up to a minute) for the segment to
	// complete without Close, a record count or a byte limit.
	for deadline := time.Now().Add(time.Minute); l.Stats().Segments == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no segment completed a minute after one record at FlushEvery 20ms: %+v", l.Stats())
		}
	}
	if segs := segments(t, dir); len(segs) != 1 || len(readParquetGo(t, segs[0])) != 1 {
		t.Errorf("after FlushEvery: segments %v, want one of one record", segs)
	}
}

func TestRotateByBytes(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, MaxSegmentBytes: 2000, Default: Policy{SampleRate: 1}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Join: []string{"s"}})
	big := strings.Repeat("x", 900)
	for i := range 6 {
		rec := Record{ID: fmt.Sprint(i), Join: []string{big}}
		m.Log(&rec)
	}
	closeLog(t, l)
	// Each record is ~950 bytes of values: a segment completes at its
	// third record, past 2000 bytes.
	var sizes []int
	for _, s := range segments(t, dir) {
		sizes = append(sizes, len(readParquetGo(t, s)))
	}
	if !slices.Equal(sizes, []int{3, 3}) {
		t.Errorf("6 records of ~950 value bytes at MaxSegmentBytes 2000: segments of %v records, want [3 3]", sizes)
	}
}

func TestNewVersionNewSegment(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}})
	for v := 1; v <= 2; v++ {
		m := mustLogger(t, l, Schema{Model: "m", Version: v, Outputs: []string{"p"}})
		rec := Record{ID: "x", Outputs: []float64{float64(v)}}
		m.Log(&rec)
	}
	closeLog(t, l)
	segs := segments(t, dir)
	if len(segs) != 2 || !strings.Contains(segs[0], "/m/1/") || !strings.Contains(segs[1], "/m/2/") {
		t.Errorf("one record each for versions 1 and 2: segments %v, want one under m/1/ and one under m/2/", segs)
	}
}

func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	// Measure one segment's size, then keep about three.
	probe := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: probe, Default: Policy{SampleRate: 1}, MaxSegmentRecords: 10})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	for i := range 10 {
		rec := Record{ID: fmt.Sprintf("r%03d", i), Outputs: []float64{1}}
		m.Log(&rec)
	}
	closeLog(t, l)
	one := l.Stats().Bytes

	l = mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}, MaxSegmentRecords: 10, RetainBytes: 3*one + one/2})
	m = mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	for i := range 100 {
		rec := Record{ID: fmt.Sprintf("r%03d", i), Outputs: []float64{float64(i)}}
		for !m.Log(&rec) {
			time.Sleep(time.Millisecond)
		}
	}
	closeLog(t, l)
	segs := segments(t, dir)
	var ids []string
	for _, s := range segs {
		for _, r := range readParquetGo(t, s) {
			ids = append(ids, r["id"].(string))
		}
	}
	if len(segs) != 3 || len(ids) != 30 || ids[0] != "r070" || ids[29] != "r099" {
		t.Errorf("100 records in segments of 10 (%d bytes each), RetainBytes %d: kept %d segments, ids %v; want the newest 3 (r070..r099)", one, 3*one+one/2, len(segs), ids)
	}
	if st := l.Stats(); st.Deleted != 7 {
		t.Errorf("Stats.Deleted = %d, want 7", st.Deleted)
	}
}

func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	var now time.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := make(chan time.Time, 1)
	clock <- now
	tick := func() time.Time { t := <-clock; clock <- t; return t }
	set := func(t time.Time) { <-clock; clock <- t }
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Now: tick, RetainAge: 24 * time.Hour, MaxSegmentRecords: 1, Default: Policy{SampleRate: 1}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	logAt := func(at time.Time, id string) {
		set(at)
		rec := Record{ID: id, Time: at, Outputs: []float64{1}}
		m.Log(&rec)
		for deadline := time.Now().Add(time.Minute); l.Stats().Records < m.Stats().Logged; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("record %s not written in a minute: %+v", id, l.Stats())
			}
		}
	}
	logAt(now, "day0")
	logAt(now.Add(20*time.Hour), "day0b")
	logAt(now.Add(30*time.Hour), "day1") // day0 (30h old) goes, day0b (10h) stays
	closeLog(t, l)
	var ids []string
	for _, s := range segments(t, dir) {
		for _, r := range readParquetGo(t, s) {
			ids = append(ids, r["id"].(string))
		}
	}
	if !slices.Equal(ids, []string{"day0b", "day1"}) {
		t.Errorf("RetainAge 24h, segments at 0h, 20h, 30h: kept %v, want [day0b day1]", ids)
	}
	if segs := segments(t, dir); len(segs) == 2 && (!strings.Contains(segs[0], "/2026-01-01/") || !strings.Contains(segs[1], "/2026-01-02/")) {
		t.Errorf("segments %v: want them under their UTC dates 2026-01-01 and 2026-01-02", segs)
	}
}

func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "m", "1", "2026-12-03")
	os.MkdirAll(d, 0o755)
	tmp := filepath.Join(d, ".seg-20261203T220000.000000Z-000001.parquet.tmp")
	keep := filepath.Join(d, "seg-20261203T215900.000000Z-000001.parquet")
	os.WriteFile(tmp, []byte("PAR1 half"), 0o644)
	os.WriteFile(keep, []byte("not ours to judge"), 0o644)
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir})
	closeLog(t, l)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("New left %s in place (stat: %v), want it removed", tmp, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("New removed the completed segment %s: %v", keep, err)
	}
	if st := l.Stats(); st.Leftovers != 1 {
		t.Errorf("Stats.Leftovers = %d, want 1", st.Leftovers)
	}
}

// TestWriteErrorCounted: a segment that cannot be created (a file where
// its directory should be) is counted and reported, repeated reports are
// limited to one per ErrorLogEvery with a count, Log goes on, and the next
// record after the cause goes away is written.
func TestWriteErrorCounted(t *testing.T) {
	dir := t.TempDir()
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC).UnixNano())
	o := Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}, Logf: logf, MaxSegmentRecords: 1, BufferRecords: 1,
		Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }}
	st := newStepper(&o)
	l := mustNew(t, o)
	st.park()
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	blocker := filepath.Join(dir, "m")
	os.WriteFile(blocker, []byte("in the way"), 0o644)
	// logOne queues a record and lets the writer take it and come back to
	// the top of its loop (where logs may be read without a race).
	logOne := func(id string) {
		t.Helper()
		rec := Record{ID: id, Outputs: []float64{1}}
		if !m.Log(&rec) {
			t.Fatalf("Log(%s) into an empty buffer = false", id)
		}
		st.drain(l)
	}
	logOne("a")
	if s := l.Stats(); s.Errors != 1 || s.Lost != 1 || s.Segments != 0 {
		t.Errorf("after a failed segment: Stats = %+v, want Errors 1, Lost 1, Segments 0", s)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], blocker) || !strings.Contains(logs[0], "1 records lost") {
		t.Errorf("Logf lines %q, want one naming %s and the lost record", logs, blocker)
	}
	for _, id := range []string{"b", "c", "d"} {
		logOne(id)
	}
	if s := l.Stats(); s.Errors != 4 || len(logs) != 1 {
		t.Errorf("3 more failures within ErrorLogEvery: Errors %d, Logf lines %q; want 4 errors, still 1 line", s.Errors, logs)
	}
	now.Add(int64(ErrorLogEvery))
	logOne("e")
	if len(logs) != 2 || !strings.Contains(logs[1], "3 more errors since the last report") {
		t.Errorf("a failure ErrorLogEvery later: Logf lines %q, want a second one counting the 3 not reported", logs)
	}
	os.Remove(blocker)
	logOne("f")
	st.run()
	closeLog(t, l)
	if s := l.Stats(); s.Segments != 1 || s.Records != 1 || s.Errors != 5 || s.Lost != 5 {
		t.Errorf("after the cause went away: Stats = %+v, want 1 segment of 1 record, 5 errors and 5 lost", s)
	}
}

func TestLogPanicsOnSchemaMismatch(t *testing.T) {
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: t.TempDir(), Default: Policy{SampleRate: 1}})
	defer closeLog(t, l)
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p", "q"}})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "BUG: predlog: model m v1: record with 0 inputs, 1 outputs") {
			t.Errorf("Log of 1 output to a 2-output schema: panic %v, want a BUG naming the counts", r)
		}
	}()
	m.Log(&Record{ID: "x", Outputs: []float64{1}})
}

func TestClose(t *testing.T) {
	release := make(chan struct{})
	o := Options{FlushEvery: time.Hour, Dir: t.TempDir(), Default: Policy{SampleRate: 1}}
	o.beforeWrite = func() { <-release }
	l := mustNew(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Close(ctx); err != context.Canceled {
		t.Errorf("Close with the writer stalled and ctx cancelled = %v, want context.Canceled", err)
	}
	if err := l.Close(context.Background()); err == nil || !strings.Contains(err.Error(), "Close called twice") {
		t.Errorf("second Close = %v, want an error saying so", err)
	}
	close(release)
	<-l.done
}

func TestRecordTimeDefaultsToNow(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 7, 1, 12, 30, 0, 123456789, time.UTC)
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}, Now: func() time.Time { return at }})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1})
	m.Log(&Record{ID: "x"})
	closeLog(t, l)
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v, want 1", segs)
	}
	if !strings.HasSuffix(segs[0], "/m/1/2026-07-01/seg-20260701T123000.123456Z-000001.parquet") {
		t.Errorf("segment %s, want m/1/2026-07-01/seg-20260701T123000.123456Z-000001.parquet", segs[0])
	}
	if got := readParquetGo(t, segs[0]); len(got) != 1 || got[0]["time"] != at.UnixMicro() {
		t.Errorf("a Record without Time: read %v, want time %d (Options.Now)", got, at.UnixMicro())
	}
}

func TestLargeRecord(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, MaxRecordBytes: 100, Default: Policy{SampleRate: 1}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Join: []string{"s"}})
	big := strings.Repeat("é", 5000)
	for _, v := range []string{big, "small"} {
		m.Log(&Record{ID: "x", Join: []string{v}})
	}
	closeLog(t, l)
	var got []string
	for _, s := range segments(t, dir) {
		for _, r := range readParquetGo(t, s) {
			got = append(got, r["s"].(string))
		}
	}
	if len(got) != 2 || got[0] != big || got[1] != "small" {
		t.Errorf("records of 10000 and 5 string bytes at MaxRecordBytes 100: read %d values (first %d bytes), want both whole", len(got), len(got[0]))
	}
	s := &slot{strs: make([]byte, 0, 101)}
	if s.release(100); s.strs != nil {
		t.Errorf("slot.release(100) kept a %d-byte array, want it dropped", cap(s.strs))
	}
	s = &slot{strs: make([]byte, 0, 100)}
	if s.release(100); cap(s.strs) != 100 {
		t.Errorf("slot.release(100) dropped a 100-byte array, want it kept")
	}
}

// TestRetentionByAgeSweep: segments age out even when no new segment
// completes (the writer's periodic sweep, by Options.Now).
func TestRetentionByAgeSweep(t *testing.T) {
	dir := t.TempDir()
	var now atomic.Int64
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(t0.UnixNano())
	l := mustNew(t, Options{Dir: dir, RetainAge: time.Hour, FlushEvery: 10 * time.Millisecond, MaxSegmentRecords: 1,
		Default: Policy{SampleRate: 1}, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	defer closeLog(t, l)
	m := mustLogger(t, l, Schema{Model: "m", Version: 1})
	m.Log(&Record{ID: "x"})
	for deadline := time.Now().Add(time.Minute); l.Stats().Segments == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no segment in a minute")
		}
	}
	now.Store(t0.Add(2 * time.Hour).UnixNano())
	for deadline := time.Now().Add(time.Minute); l.Stats().Deleted == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("RetainAge 1h, clock 2h past the only segment: not deleted a minute later: %+v", l.Stats())
		}
	}
	if segs := segments(t, dir); len(segs) != 0 {
		t.Errorf("after the sweep: segments %v, want none", segs)
	}
	if _, err := os.Stat(filepath.Join(dir, "m", "1", "2026-01-01")); !os.IsNotExist(err) {
		t.Errorf("the emptied date directory: stat %v, want it removed", err)
	}
	// The next record of the same date makes the directory again.
	now.Store(t0.Add(time.Minute).UnixNano())
	m.Log(&Record{ID: "y"})
	for deadline := time.Now().Add(time.Minute); l.Stats().Segments < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no second segment a minute after its record: %+v", l.Stats())
		}
	}
	if s := l.Stats(); s.Errors != 0 {
		t.Errorf("Stats.Errors = %d after the date directory was removed and needed again, want 0", s.Errors)
	}
}

func TestRetire(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}})
	m1 := mustLogger(t, l, Schema{Model: "m", Version: 1})
	m2 := mustLogger(t, l, Schema{Model: "m", Version: 2})
	m1.Log(&Record{ID: "a"})
	m1.Log(&Record{ID: "b"})
	m2.Log(&Record{ID: "c"})
	m1.Retire()
	m1.Retire() // a second call changes nothing
	if st := l.Stats(); st.Logged != 3 {
		t.Errorf("Stats.Logged after retiring a model that logged 2 of 3 = %d, want 3", st.Logged)
	}
	l.mu.Lock()
	n := len(l.models)
	l.mu.Unlock()
	if n != 1 {
		t.Errorf("%d live models after retiring one of 2, want 1", n)
	}
	closeLog(t, l)
	if st := l.Stats(); st.Records != 3 || st.Segments != 2 {
		t.Errorf("Stats after Close = %+v, want 3 records in 2 segments (the retired version's written too)", st)
	}
}

func TestOptionsErrors(t *testing.T) {
	keyFile, _ := writeKey(t)
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "Options.Dir is empty"},
		{Options{FlushEvery: time.Hour, Dir: "x", BufferRecords: -1}, "Options.BufferRecords is -1"},
		{Options{Dir: "x", FlushEvery: -time.Second}, "Options.FlushEvery"},
		{Options{FlushEvery: time.Hour, Dir: "x", RetainBytes: -5}, "Options.RetainBytes is -5"},
		{Options{FlushEvery: time.Hour, Dir: "x", Default: Policy{SampleRate: 1.5}}, "Options.Default.SampleRate is 1.5"},
		{Options{FlushEvery: time.Hour, Dir: "x", Models: map[string]Policy{"m": {SampleRate: math.NaN()}}}, `Options.Models["m"].SampleRate is NaN`},
		{Options{FlushEvery: time.Hour, Dir: "x", Default: Policy{Hashed: []string{"a"}}}, "Options.KeyFile is empty"},
		{Options{FlushEvery: time.Hour, Dir: "x", Default: Policy{HashID: true}}, "Options.KeyFile is empty"},
		{Options{FlushEvery: time.Hour, Dir: "x", KeyFile: keyFile + ".missing"}, "HMAC key file"},
	} {
		_, err := New(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error %v, want one containing %q", c.o, err, c.want)
		}
	}
}

func TestLoggerErrors(t *testing.T) {
	keyFile, _ := writeKey(t)
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: t.TempDir(), KeyFile: keyFile, Default: Policy{Fields: []string{"a", "id", "f"}, Hashed: []string{"f"}}})
	defer closeLog(t, l)
	for _, c := range []struct {
		s    Schema
		want string
	}{
		{Schema{Model: "a/b"}, `model name "a/b"`},
		{Schema{Model: ".."}, `model name ".."`},
		{Schema{Model: ".hidden"}, `model name ".hidden"`},
		{Schema{Model: `a\b`}, `model name "a\\b"`},
		{Schema{Model: "m", Version: math.MaxInt32 + 1}, "version 2147483648, want 0 to 2147483647"},
		{Schema{Model: ""}, `model name ""`},
		{Schema{Model: "m", Version: -1}, "version -1"},
		{Schema{Model: "m", Outputs: []string{"p", "p"}}, `column "p" is both an output and an output`},
		{Schema{Model: "m", Features: []Field{{"a", Float}}, Outputs: []string{"a"}}, `column "a" is both an input and an output`},
		{Schema{Model: "m", Features: []Field{{"id", String}}}, `column "id" is both a fixed column and an input`},
		{Schema{Model: "m", Join: []string{"latency_us"}}, `column "latency_us" is both a fixed column and a join field`},
		{Schema{Model: "m", Features: []Field{{"f", Float}}}, `input "f" is to be hashed but is a float feature`},
		{Schema{Model: "m", Outputs: []string{""}}, "an output has an empty name"},
	} {
		_, err := l.Logger(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Logger(%+v) error %v, want one containing %q", c.s, err, c.want)
		}
	}
	// A feature left out by the allowlist may share a name: it is not a
	// column.
	if _, err := l.Logger(Schema{Model: "m", Features: []Field{{"p", Float}}, Outputs: []string{"p"}}); err != nil {
		t.Errorf("Logger with an unlisted feature named as an output: %v, want no error", err)
	}
}

func TestLogDoesNotAllocate(t *testing.T) {
	const slots = 200
	o := testOptions(t, t.TempDir())
	o.BufferRecords = slots
	// The writer is parked between steps, so that AllocsPerRun (which
	// counts the whole process) sees Log alone.
	st := newStepper(&o)
	l := mustNew(t, o)
	st.park()
	m := mustLogger(t, l, testSchema())
	rec := testRecords(1)[0]
	other := testSchema()
	other.Model = "unlisted" // the Default policy: rate 0
	out := mustLogger(t, l, other)
	if n := testing.AllocsPerRun(100, func() { out.Log(&rec) }); n != 0 {
		t.Errorf("Log sampled out allocates %v times per call, want 0", n)
	}
	// Warm every slot: fill them all, then let the writer take them all.
	for range slots {
		if !m.Log(&rec) {
			t.Fatal("Log into a free slot = false")
		}
	}
	st.drain(l) // every slot warm and free
	if n := testing.AllocsPerRun(slots/2-1, func() {
		if !m.Log(&rec) {
			t.Fatal("Log into a free slot = false")
		}
	}); n != 0 {
		t.Errorf("Log into a warm slot allocates %v times per call, want 0", n)
	}
	for len(l.free) > 0 {
		m.Log(&rec)
	}
	if n := testing.AllocsPerRun(100, func() { m.Log(&rec) }); n != 0 {
		t.Errorf("Log with the buffer full allocates %v times per call, want 0", n)
	}
	st.run()
	closeLog(t, l)
	if s := l.Stats(); s.Logged != 2*slots || s.Records != 2*slots || s.Dropped != 101 {
		t.Errorf("Stats = %+v, want Logged and Records %d, Dropped 101", s, 2*slots)
	}
}

func fnv64a(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// TestDirectoryRemovedUnderneath: someone deletes the log's directories
// while it runs; one record is lost (counted), the next is written.
func TestDirectoryRemovedUnderneath(t *testing.T) {
	dir := t.TempDir()
	o := Options{FlushEvery: time.Hour, Dir: dir, MaxSegmentRecords: 1, Default: Policy{SampleRate: 1}, Logf: t.Logf}
	st := newStepper(&o)
	l := mustNew(t, o)
	st.park()
	m := mustLogger(t, l, Schema{Model: "m", Version: 1})
	for _, id := range []string{"a", "b", "c"} {
		if id == "b" {
			os.RemoveAll(filepath.Join(dir, "m"))
		}
		m.Log(&Record{ID: id})
		st.drain(l)
	}
	st.run()
	closeLog(t, l)
	if s := l.Stats(); s.Errors != 1 || s.Lost != 1 || s.Segments != 3-1 {
		t.Errorf("Stats = %+v, want 1 error, 1 lost and 2 segments (a, then c)", s)
	}
	var ids []string
	for _, s := range segments(t, dir) {
		for _, r := range readParquetGo(t, s) {
			ids = append(ids, r["id"].(string))
		}
	}
	if !slices.Equal(ids, []string{"c"}) {
		t.Errorf("after the directories were removed before b: ids on disk %v, want [c]", ids)
	}
}

func TestRowGroups(t *testing.T) {
	dir := t.TempDir()
	l := mustNew(t, Options{FlushEvery: time.Hour, Dir: dir, Default: Policy{SampleRate: 1}})
	m := mustLogger(t, l, Schema{Model: "m", Version: 1, Outputs: []string{"p"}})
	n := 2*rowGroupRows + 1
	for i := range n {
		rec := Record{ID: strconv.Itoa(i), Outputs: []float64{float64(i)}}
		for !m.Log(&rec) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	closeLog(t, l)
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v, want 1", segs)
	}
	f, _ := os.Open(segs[0])
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, rg := range pf.RowGroups() {
		sizes = append(sizes, rg.NumRows())
	}
	if w := []int64{rowGroupRows, rowGroupRows, 1}; !slices.Equal(sizes, w) {
		t.Errorf("%d records: row groups of %v rows, want %v", n, sizes, w)
	}
	if got := len(readTable(t, segs[0])); got != n {
		t.Errorf("internal/table read %d rows, want %d", got, n)
	}
}

// TestReadSegmentErrors: a file that is not a segment, or is missing,
// fails naming it.
func TestReadSegmentErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(bad, []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(t.TempDir(), "missing.parquet")} {
		if _, err := ReadSegment(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadSegment(%s) = %v, want an error naming it", path, err)
		}
	}
}

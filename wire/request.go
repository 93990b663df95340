package wire

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/predictd/predictd/model/transform"
)

// Request is the request-scoped scratch of one prediction call: the decoded
// rows, the handler's predictions and response body, and the decoders'
// private buffers. Get one with GetRequest and return it with PutRequest
// when the response is written; a Request is used by one goroutine at a
// time. Nothing in it aliases the request body after a Decode returns.
type Request struct {
	// Rows holds the decoded instances, row-major, NumFeatures values
	// each, NaN for a missing value. For a string input (Schema.IsString)
	// the value is not a number but the index of the string in the
	// request's string arena, a whole number >= 0: read it with Category
	// (or a whole row with RawRow).
	Rows []float64
	// N is the number of instances (len(Rows) / NumFeatures).
	N int
	// Columnar: the TF Serving request used "inputs", so the response
	// names its predictions "outputs" instead of "predictions".
	Columnar bool
	// ID is the OIP request "id" as it appeared between its quotes (still
	// JSON-escaped, but with invalid UTF-8 replaced by \ufffd, so it can
	// be written back between quotes as is); nil if absent.
	ID []byte
	// TimeoutMicros is the OIP parameters.timeout, in microseconds as
	// Triton reads it; 0 if absent.
	TimeoutMicros int64

	// ReturnFeatures: the request asked for the online features each
	// instance used (TF Serving's "return_features": true, OIP's
	// parameters.return_features: true).
	ReturnFeatures bool
	// ReturnLabels: the TF Serving request asked for each instance's class
	// label ("return_labels": true; Schema.Label says how it is read).
	ReturnLabels bool
	// Outputs are the output tensors an OIP request asked for, in its
	// order, each once; empty when it named none ("outputs" absent or
	// empty): the response then carries OutputPredictions alone.
	Outputs []Output

	// For a schema with a join plan (NewJoinSchema): Given holds, per
	// instance and feature (N*NumFeatures, row-major), whether the
	// request sent the value; a value not sent is NaN in Rows until the
	// join fills it. Fetch: some instance lacks a value it must fetch by
	// an entity key it carries (EntityKey).
	Given []bool
	Fetch bool

	// Preds and Out are scratch for the handler: the predictions and the
	// response body. The decoders do not touch them.
	Preds []float64
	Out   []byte

	sc   scanner
	key  []byte // an object key, unescaped
	name []byte // an OIP input's name, unescaped
	id   []byte // backs ID
	seen []bool // per feature: set in the current instance
	// Columns, in TF Serving's columnar form and OIP's per-feature
	// inputs: each feature's values in cols[colOff[f]:][:N], colOff[f] < 0
	// while absent.
	cols   []float64
	colOff []int
	// tensor: OIP's 2-D input was decoded into Rows.
	tensor bool

	// The entity keys (join.go), for a model that reads online features:
	// per instance and entity key, the key's canonical text in
	// ents[entOff:][:entLen] (entOff < 0: not sent). nkeys is the join
	// plan's number of entity keys.
	ents           []byte
	entOff, entLen []int32
	nkeys          int

	// The string arena: the values of string inputs, unescaped, back to
	// back; string k is strs[strEnd[k-1]:strEnd[k]] (from 0 for k = 0).
	strs   []byte
	strEnd []int

	// The binary tensor data extension (decode_binary.go): binary is set
	// by DecodeInferBinary, bin is the body's binary section while it
	// decodes, starting at body byte binBase, binPos the next unread byte.
	binary  bool
	bin     []byte
	binBase int
	binPos  int
	// The outputs to return as binary data: binDefault is the request's
	// parameters.binary_data_output; bit 1<<Output of binSet says the
	// output's own parameters said binary_data, and binVal what.
	binDefault     bool
	binSet, binVal uint8

	// RawProto: the gRPC request (DecodeInferProto) sent its values in
	// raw_input_contents, so the response carries raw_output_contents
	// (AppendInferProto).
	RawProto bool
	// proto: DecodeInferProto is decoding; its messages name no body
	// bytes. pb and pbBin are its scratch: the request laid out as the
	// binary extension's body, and the inputs' bytes.
	proto     bool
	pb, pbBin []byte
}

// Output is an output tensor an Open Inference Protocol request may ask
// for by name.
type Output uint8

const (
	// OutputPredictions is OutputName: the model's predictions, FP64,
	// [batch] or [batch, outputs].
	OutputPredictions Output = iota
	// OutputLabel is LabelName: the class label of each instance, INT64,
	// [batch], for a model with a label rule (Schema.Label).
	OutputLabel
)

// Limits bounds what a request may ask for.
type Limits struct {
	// MaxInstances is the most instances one request may hold; more is
	// refused with ErrTooLarge. 0 means unlimited.
	MaxInstances int
}

// maxPooledBytes is the largest buffer PutRequest keeps: a rare huge
// request should not pin its memory in the pool.
const maxPooledBytes = 1 << 20

var requestPool sync.Pool

// GetRequest returns an empty Request from the pool, or a new one.
func GetRequest() *Request {
	if r, ok := requestPool.Get().(*Request); ok {
		return r
	}
	return new(Request)
}

// PutRequest resets r and returns it to the pool. r must not be used
// afterwards.
func PutRequest(r *Request) {
	r.Reset()
	requestPool.Put(r)
}

// Reset empties r for another request, keeping its buffers unless they
// grew past 1 MiB, for callers that pool Requests inside their own
// request-scoped scratch.
func (r *Request) Reset() {
	r.Rows = keep(r.Rows, 8)
	r.Preds = keep(r.Preds, 8)
	r.Out = keep(r.Out, 1)
	r.key = keep(r.key, 1)
	r.name = keep(r.name, 1)
	r.id = keep(r.id, 1)
	r.seen = keep(r.seen, 1)
	r.cols = keep(r.cols, 8)
	r.colOff = keep(r.colOff, 8)
	r.ents = keep(r.ents, 1)
	r.entOff = keep(r.entOff, 4)
	r.entLen = keep(r.entLen, 4)
	r.Given = keep(r.Given, 1)
	r.strs = keep(r.strs, 1)
	r.strEnd = keep(r.strEnd, 8)
	r.pb = keep(r.pb, 1)
	r.pbBin = keep(r.pbBin, 1)
	r.RawProto, r.proto = false, false
	r.N, r.Columnar, r.ID, r.TimeoutMicros, r.tensor = 0, false, nil, 0, false
	r.ReturnFeatures, r.ReturnLabels, r.Fetch = false, false, false
	r.Outputs = r.Outputs[:0]
	r.binary, r.bin, r.binBase, r.binPos = false, nil, 0, 0
	r.binDefault, r.binSet, r.binVal = false, 0, 0
	r.sc.reset(nil)
}

// BinaryOutput reports whether the OIP request asked for output o as
// binary data (the binary tensor data extension): o's own parameters
// "binary_data" if it gave one, else the request's parameters
// "binary_data_output" (false if absent).
func (r *Request) BinaryOutput(o Output) bool {
	if r.binSet&(1<<o) != 0 {
		return r.binVal&(1<<o) != 0
	}
	return r.binDefault
}

// keep returns b emptied, or nil if its capacity, at size bytes an element,
// is past maxPooledBytes.
func keep[T any](b []T, size int) []T {
	if cap(b)*size > maxPooledBytes {
		return nil
	}
	return b[:0]
}

// start resets what a Decode reports and points the scanner at body.
func (r *Request) start(body []byte, s *Schema) {
	r.nkeys = 0
	if s.join != nil {
		r.nkeys = s.join.NumKeys()
	}
	r.Rows = r.Rows[:0]
	r.N, r.Columnar, r.ID, r.TimeoutMicros, r.tensor = 0, false, nil, 0, false
	r.ReturnFeatures, r.ReturnLabels, r.Fetch = false, false, false
	r.Outputs = r.Outputs[:0]
	r.ents, r.entOff, r.entLen, r.Given = r.ents[:0], r.entOff[:0], r.entLen[:0], r.Given[:0]
	r.strs, r.strEnd = r.strs[:0], r.strEnd[:0]
	r.binary, r.bin, r.binBase, r.binPos = false, nil, 0, 0
	r.binDefault, r.binSet, r.binVal = false, 0, 0
	r.RawProto = false
	r.sc.reset(body)
}

// Category returns the string a decoded row holds for a string input:
// x is the input's value in Rows (Schema.IsString). ok is false for NaN, a
// missing value (null). The string is valid UTF-8 (the JSON string
// unescaped; invalid bytes and lone surrogates become U+FFFD, as
// encoding/json reads them) and aliases r's arena: it is valid until r's
// next Decode, Reset or PutRequest, and must not be kept past that. x must
// be a string input's value from r's last Decode; anything else panics.
func (r *Request) Category(x float64) (s string, ok bool) {
	if x != x {
		return "", false
	}
	k := int(x)
	if float64(k) != x || k < 0 || k >= len(r.strEnd) {
		panic(fmt.Sprintf("BUG: wire.Request.Category(%v): not a string index (%d strings decoded)", x, len(r.strEnd)))
	}
	start := 0
	if k > 0 {
		start = r.strEnd[k-1]
	}
	end := r.strEnd[k]
	if end == start {
		return "", true
	}
	return unsafe.String(&r.strs[start], end-start), true
}

// RawRow returns dst[:0] with instance i's raw values appended, one per
// feature of s, as model.TransformRow takes them: transform.Str of the
// category for a string input (Category: its strings alias r and are
// valid until r's next Decode or Reset), transform.Num for a number,
// missing for NaN. s is the schema r was decoded with and 0 <= i < N. It
// does not allocate when dst has room for NumFeatures values.
func (r *Request) RawRow(dst transform.Row, s *Schema, i int) transform.Row {
	nf := len(s.names)
	dst = dst[:0]
	for f, x := range r.Rows[i*nf : (i+1)*nf] {
		if s.IsString(f) {
			v := transform.Value{}
			if str, ok := r.Category(x); ok {
				v = transform.Str(str)
			}
			dst = append(dst, v)
			continue
		}
		dst = append(dst, transform.Num(x))
	}
	return dst
}

// seenFor returns r.seen cleared, one flag per feature.
func (r *Request) seenFor(nf int) []bool {
	r.seen = slices.Grow(r.seen[:0], nf)[:nf]
	clear(r.seen)
	return r.seen
}

// startColumns marks every feature's column absent.
func (r *Request) startColumns(nf int) {
	r.cols = r.cols[:0]
	r.colOff = slices.Grow(r.colOff[:0], nf)[:nf]
	for i := range r.colOff {
		r.colOff[i] = -1
	}
}

// rowsFromColumns fills Rows from the n-value columns of every feature.
func (r *Request) rowsFromColumns(nf, n int) {
	r.Rows = slices.Grow(r.Rows[:0], n*nf)[:n*nf]
	for f, off := range r.colOff {
		col := r.cols[off : off+n]
		for i, v := range col {
			r.Rows[i*nf+f] = v
		}
	}
	r.N = n
}

// tooMany reports a request with more instances than lim allows. seen
// instances were read; the scanner is at the next one, in the array that
// holds them, and counts the rest. depth is the nesting depth of the
// array's elements.
func (r *Request) tooMany(lim Limits, seen, depth int) error {
	n := seen
	for {
		if err := r.sc.skip(depth); err != nil {
			return err
		}
		n++
		more, err := r.sc.nextElem()
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return errTooMany(n, lim)
}

func errTooMany(n int, lim Limits) error {
	return tooLargef("request has %d instances, the limit is %d (max_instances)", n, lim.MaxInstances)
}

func errNoInstances() error { return invalidf("request has no instances") }

// Datatypes of values: TF Serving's JSON numbers, and the OIP datatypes
// predictd accepts.
type dtype uint8

const (
	dtJSON dtype = iota
	dtFP32
	dtFP64
	dtINT32
	dtINT64
	dtBOOL
	dtBYTES // OIP strings: string inputs and entity keys
)

var dtypeNames = [...]string{dtJSON: "JSON", dtFP32: "FP32", dtFP64: "FP64", dtINT32: "INT32", dtINT64: "INT64", dtBOOL: "BOOL", dtBYTES: "BYTES"}

func (d dtype) String() string { return dtypeNames[d] }

// loc says where a value is, for error messages.
type loc struct {
	input  []byte // OIP input name; nil in TF Serving requests
	column bool   // the input is the feature's column: the input names it
	inst   int    // instance index
	feat   int    // feature index
}

// errorf formats an error at l: `[input "x": ]instance 3: [field "age": ]...`.
func (l loc) errorf(s *Schema, format string, args ...any) error {
	var b strings.Builder
	if l.input != nil {
		fmt.Fprintf(&b, "input %q: ", l.input)
	}
	fmt.Fprintf(&b, "instance %d: ", l.inst)
	if !l.column {
		fmt.Fprintf(&b, "field %q: ", s.names[l.feat])
	}
	fmt.Fprintf(&b, format, args...)
	return &Error{Msg: b.String(), kind: ErrInvalid}
}

// value reads the value at l, of datatype dt, and returns what Rows holds
// for it: the number, 1 or 0 for a boolean, NaN for null; for a string
// input, the string's index in the arena.
func (r *Request) value(s *Schema, dt dtype, l loc) (float64, error) {
	if s.str != nil && s.str[l.feat] {
		return r.category(s, l)
	}
	v, kind, err := r.sc.scalar()
	if err != nil {
		return 0, err
	}
	switch kind {
	case kindNumber:
		switch dt {
		case dtJSON, dtFP64:
			if math.IsInf(v, 0) {
				return 0, l.errorf(s, "%s is not a finite number", r.sc.numText())
			}
		case dtFP32:
			v32 := r.sc.float32(v)
			if math.IsInf(float64(v32), 0) {
				return 0, l.errorf(s, "%s is not a finite FP32 number", r.sc.numText())
			}
			v = float64(v32)
		case dtINT32:
			if !isInt(v) || v < math.MinInt32 || v > math.MaxInt32 {
				return 0, l.errorf(s, "%s is not an INT32", r.sc.numText())
			}
		case dtINT64:
			if !isInt(v) || (v <= math.MinInt64 || v >= -math.MinInt64) && !fitsInt64(r.sc.numText()) {
				return 0, l.errorf(s, "%s is not an INT64", r.sc.numText())
			}
		case dtBOOL:
			return 0, l.errorf(s, "expected true or false (datatype BOOL), got a number")
		}
		if s.categorical[l.feat] && !isInt(v) {
			return 0, l.errorf(s, "%s is not a category: a categorical feature takes integer values", r.sc.numText())
		}
		return v, nil
	case kindNull:
		if !s.allowMissing {
			return 0, l.errorf(s, "null (a missing value) is not accepted: a %s model needs every value; only tree models take missing values", s.kind)
		}
		return math.NaN(), nil
	case kindBool:
		if dt == dtBOOL {
			return v, nil
		}
		if dt == dtJSON {
			return 0, l.errorf(s, "expected a number, got a boolean (send 1 or 0)")
		}
		return 0, l.errorf(s, "expected a number (datatype %s), got a boolean", dt)
	}
	want := "a number"
	if dt == dtBOOL {
		want = "true or false"
	}
	return 0, l.errorf(s, "expected %s, got %s", want, typeName(r.sc.peek()))
}

// category reads the value at l, of a string input: a JSON string, added
// to the arena (its index returned), or null (NaN). Other datatypes are
// refused before the data is read (inputData), so dt is JSON or BYTES.
func (r *Request) category(s *Schema, l loc) (float64, error) {
	sc := &r.sc
	switch c := sc.peek(); c {
	case '"':
		raw, flags, err := sc.rawStr()
		if err != nil {
			return 0, err
		}
		if flags == 0 {
			r.strs = append(r.strs, raw...)
		} else {
			r.strs = unescape(r.strs, raw)
		}
		r.strEnd = append(r.strEnd, len(r.strs))
		return float64(len(r.strEnd) - 1), nil
	case 'n':
		if err := sc.literal("null"); err != nil {
			return 0, err
		}
		return math.NaN(), nil
	default:
		if typeName(c) == "" {
			return 0, sc.badValue()
		}
		return 0, l.errorf(s, "want a string (a category) or null, got %s", typeName(c))
	}
}

// fitsInt64 reports whether the number text is an integer literal in the
// int64 range. It decides at ±2^63, where float64 rounding hides it: 2^63-1
// fits and rounds to 2^63, which does not.
func fitsInt64(text string) bool {
	var n uint64
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	for _, c := range []byte(text) {
		if !isDigit(c) || n > (1<<63)/10 {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	return n < 1<<63 || neg && n == 1<<63
}

package wire

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxRank is the most dimensions a shape may list. predictd's inputs have
// one or two; a few more are read so that the error can show the shape.
const maxRank = 8

// inputHead is what an OIP input says about its data.
type inputHead struct {
	index    int    // position in "inputs"
	name     []byte // unescaped; nil until read
	shape    [maxRank]int64
	rank     int // -1 until read
	dt       dtype
	hasDT    bool
	dataPos  int   // offset of "data" in the body, -1 until seen
	binSize  int64 // parameters.binary_data_size, -1 if absent
	decoded  bool
	hasParam bool
}

// label names the input for error messages.
func (h *inputHead) label() string {
	if h.name != nil {
		return fmt.Sprintf("input %q", h.name)
	}
	return fmt.Sprintf("inputs[%d]", h.index)
}

// shapeText writes the shape as JSON: [2,4].
func (h *inputHead) shapeText() string {
	b := []byte{'['}
	for i, d := range h.shape[:h.rank] {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return string(append(b, ']'))
}

// size is the product of the shape, or -1 if it does not fit in an int.
func (h *inputHead) size() int {
	n := uint64(1)
	for _, d := range h.shape[:h.rank] {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return -1
		}
		n = lo
	}
	return int(n)
}

// DecodeInfer decodes body, an Open Inference Protocol v2 inference
// request (https://github.com/kserve/open-inference-protocol), into r.Rows
// and r.N, checking it against s. The instances come either as one input
// named "input" of shape [batch, NumFeatures], or as one input per feature,
// named by it, of shape [batch] (or [batch, 1]), all with the same batch.
// A 1-D "input" of shape [NumFeatures] is one instance (a 1-D input of
// another length is refused saying so). (When a feature is itself named
// "input", an input of that name is the 2-D one if its shape is [batch, k]
// with k != 1, and a 1-D one is that feature's.) A model with string
// inputs (Schema.IsString) takes only the per-feature form: a string
// input's datatype is BYTES, its data JSON strings or null, kept as
// DecodePredict keeps them.
//
// An input's data is a flat or nested array, read row-major, of as many
// values as its shape says. Datatypes: FP64; FP32 (each value is rounded
// to float32, as the client declared); INT32 and INT64 (integers in the
// type's range); BOOL (true and false, read as 1 and 0). null is a missing
// value if s allows one. A categorical feature takes integer values only.
//
// The request "id" is kept in r.ID, parameters.timeout (microseconds) in
// r.TimeoutMicros and parameters.return_features (a boolean; refused for a
// model that reads no online features) in r.ReturnFeatures; other
// parameters are checked as JSON and ignored. The requested "outputs" go
// to r.Outputs: OutputName, and LabelName for a model with a class label
// (Schema.Label); any other name, a name given twice, or an output
// parameter other than "binary_data" is refused. parameters.binary_data_output
// and an output's "binary_data" say which outputs to return as binary
// data (Request.BinaryOutput, AppendInferBinary). An input with
// "parameters": {"binary_data_size": ...} in place of "data" is refused:
// its bytes come with DecodeInferBinary. Errors are as DecodePredict's.
// Once r's buffers have grown to the request's size, DecodeInfer does not
// allocate.
func (r *Request) DecodeInfer(body []byte, s *Schema, lim Limits) error {
	r.start(body, s)
	err := r.decodeInfer(s, lim)
	r.sc.reset(nil) // keep no reference to the body
	return syntaxFirst(body, err)
}

func (r *Request) decodeInfer(s *Schema, lim Limits) error {
	sc := &r.sc
	if sc.peek() != '{' {
		return r.notAnObject("an inference request")
	}
	const (
		haveID = 1 << iota
		haveParams
		haveInputs
		haveOutputs
	)
	have := 0
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		var bit int
		switch string(key) {
		case "id":
			bit = haveID
		case "parameters":
			bit = haveParams
		case "inputs":
			bit = haveInputs
		case "outputs":
			bit = haveOutputs
		default:
			return invalidf(`unknown key %q in an inference request: it takes "inputs", and optionally "id", "parameters" and "outputs"`, key)
		}
		if have&bit != 0 {
			return invalidf("key %q appears twice in an inference request", key)
		}
		have |= bit
		switch bit {
		case haveID:
			err = r.inferID()
		case haveParams:
			err = r.inferParams(s)
		case haveInputs:
			err = r.inferInputs(s, lim)
		case haveOutputs:
			err = r.inferOutputs(s)
		}
		if err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	if err != nil {
		return err
	}
	if err = sc.end(); err != nil {
		return err
	}
	if have&haveInputs == 0 {
		return invalidf(`an inference request needs "inputs"`)
	}
	if r.N == 0 {
		return errNoInstances()
	}
	return nil
}

// inferID reads the request id into r.ID.
func (r *Request) inferID() error {
	sc := &r.sc
	if sc.peek() != '"' {
		return sc.wrongType(`"id": `, "expected a string")
	}
	raw, flags, err := sc.rawStr()
	if err != nil {
		return err
	}
	r.id = r.id[:0]
	if flags&strInvalidUTF8 == 0 {
		r.id = append(r.id, raw...)
	} else {
		// The id is written back between quotes: keep the response
		// valid UTF-8.
		for len(raw) > 0 {
			c, size := utf8.DecodeRune(raw)
			if c == utf8.RuneError && size == 1 {
				r.id = append(r.id, `\ufffd`...)
			} else {
				r.id = append(r.id, raw[:size]...)
			}
			raw = raw[size:]
		}
	}
	if r.id == nil {
		r.id = make([]byte, 0, 32) // ID is non-nil when present, even if empty
	}
	r.ID = r.id
	return nil
}

// inferParams reads the request parameters: "timeout" into
// r.TimeoutMicros, "return_features" into r.ReturnFeatures; the others are
// only checked as JSON.
func (r *Request) inferParams(s *Schema) error {
	sc := &r.sc
	if sc.peek() != '{' {
		return sc.wrongType(`"parameters": `, "expected an object")
	}
	timeout, features := false, false
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		switch string(key) {
		default:
			err = sc.skip(2)
		case "return_features":
			if features {
				return invalidf(`parameters: "return_features" appears twice`)
			}
			features = true
			if c := sc.peek(); c != 't' && c != 'f' {
				return sc.wrongType(`parameters: "return_features": `, "expected true or false")
			}
			var v float64
			if v, _, err = sc.scalar(); err != nil {
				return err
			}
			r.ReturnFeatures = v == 1
			if r.ReturnFeatures && s.join == nil {
				return invalidf(`parameters: "return_features": this model reads no online features (its manifest names no feature_views)`)
			}
		case "binary_data_output":
			if c := sc.peek(); c != 't' && c != 'f' {
				return sc.wrongType(`parameters: "binary_data_output": `, "expected true or false")
			}
			var v float64
			if v, _, err = sc.scalar(); err != nil {
				return err
			}
			r.binDefault = v == 1
		case "timeout":
			if timeout {
				return invalidf(`parameters: "timeout" appears twice`)
			}
			timeout = true
			// Check the type before reading: wrongType names what
			// is at the scanner's position.
			if c := sc.peek(); c != '-' && !isDigit(c) {
				return sc.wrongType(`parameters: "timeout": `, "expected a number of microseconds")
			}
			var v float64
			if v, err = sc.number(); err != nil {
				return err
			}
			if !isInt(v) || v < 0 || v >= math.MaxInt64 {
				return invalidf(`parameters: "timeout": %s is not a whole, non-negative number of microseconds`, sc.numText())
			}
			r.TimeoutMicros = int64(v)
		}
		if err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	return err
}

// inferInputs reads the "inputs" array and leaves the instances in Rows.
func (r *Request) inferInputs(s *Schema, lim Limits) error {
	sc := &r.sc
	if sc.peek() != '[' {
		return sc.wrongType(`"inputs": `, "expected an array")
	}
	nf := len(s.names)
	r.startColumns(nf)
	n := -1 // batch of the per-feature inputs so far
	i := 0
	more, err := sc.openArray()
	for more && err == nil {
		if err = r.inferInput(s, lim, i, &n); err != nil {
			return err
		}
		i++
		more, err = sc.nextElem()
	}
	if err != nil {
		return err
	}
	if i == 0 {
		return invalidf(`"inputs" is empty: send one input %q of shape [batch, %d], or one input per feature (%s)`, InputName, nf, s.featureList)
	}
	if r.tensor && len(r.entOff) > 0 {
		return invalidf("entity key inputs go with one input per feature, not with the 2-D input %q", InputName)
	}
	if !r.tensor {
		if s.join != nil {
			if err := r.inferJoin(s, n); err != nil {
				return err
			}
		}
		if f := slices.Index(r.colOff, -1); f >= 0 {
			return invalidf("no input for feature %q: send one input per feature (%s), or one input %q of shape [batch, %d]", s.names[f], s.featureList, InputName, nf)
		}
		r.rowsFromColumns(nf, n)
	}
	if s.join != nil {
		r.sizeJoin(s, r.N)
	}
	return nil
}

// sizeJoin makes r's per-instance join state cover n instances: entity
// key slots not sent are absent, features not marked are sent.
func (r *Request) sizeJoin(s *Schema, n int) {
	for len(r.entOff) < n*s.join.NumKeys() {
		r.entOff = append(r.entOff, -1)
		r.entLen = append(r.entLen, 0)
	}
	nf := len(s.names)
	for len(r.Given) < n*nf {
		r.Given = append(r.Given, true)
	}
}

// inferJoin is inferInputs' step for a model that reads online features:
// a feature with no input of its own is fetched if the request has the
// entity key input of a view that holds it, and its column holds NaN until
// the join (featcache.Join) fills it. n is the batch.
func (r *Request) inferJoin(s *Schema, n int) error {
	p := s.join
	if n < 0 {
		return nil // no input at all: inferInputs reports the first feature
	}
	r.sizeJoin(s, n)
	nf := len(s.names)
	for f, off := range r.colOff {
		if off >= 0 {
			continue
		}
		k, v := p.Source(f)
		if k < 0 {
			continue // reported by inferInputs
		}
		if n > 0 && r.entOff[k] < 0 {
			return invalidf("no input for feature %q: send it, or entity key input %q (BYTES or INT64, shape [batch]) to fetch it from feature view %s", s.names[f], p.Key(k).JoinKey, v.Name)
		}
		r.colOff[f] = len(r.cols)
		for i := range n {
			r.cols = append(r.cols, math.NaN())
			r.Given[i*nf+f] = false
		}
		r.Fetch = n > 0
	}
	return nil
}

// inferKey reads input h, the entity key k of a model that reads online
// features: shape [batch] or [batch, 1], datatype BYTES (strings) or
// INT64/INT32 (integers). *n is the batch of the inputs read before it.
func (r *Request) inferKey(s *Schema, lim Limits, h *inputHead, k int, n *int) error {
	p := s.join
	sc := &r.sc
	if h.rank != 1 && !(h.rank == 2 && h.shape[1] == 1) {
		return invalidf("entity key input %q: shape %s, want [batch] or [batch, 1]", h.name, h.shapeText())
	}
	if h.dt != dtBYTES && h.dt != dtINT64 && h.dt != dtINT32 {
		return invalidf("entity key input %q: datatype %s, want BYTES (strings) or INT64", h.name, h.dt)
	}
	batch := int(h.shape[0])
	if lim.MaxInstances > 0 && batch > lim.MaxInstances {
		return errTooMany(batch, lim)
	}
	if *n >= 0 && batch != *n {
		return invalidf("input %q: batch %d, the inputs before it have %d", h.name, batch, *n)
	}
	r.sizeJoin(s, batch)
	if batch > 0 && r.entOff[k] >= 0 {
		return invalidf("input %q appears twice", h.name)
	}
	if h.binSize >= 0 {
		if err := r.binKeys(s, h, k, batch); err != nil {
			return err
		}
		*n = batch
		return nil
	}
	got := 0
	more, err := sc.openArray()
	for more && err == nil {
		inner := false
		if sc.peek() == '[' && h.rank == 2 {
			var some bool
			if some, err = sc.openArray(); err != nil {
				return err
			}
			if !some {
				return invalidf("entity key input %q: shape %s, but instance %d holds no value", h.name, h.shapeText(), got)
			}
			inner = true
		}
		if got >= batch {
			return invalidf("entity key input %q: more than the %d values its shape %s holds", h.name, batch, h.shapeText())
		}
		switch c := sc.peek(); {
		case h.dt == dtBYTES && c != '"':
			return sc.wrongType(fmt.Sprintf("entity key input %q: instance %d: ", h.name, got), "expected a string (datatype BYTES)")
		case h.dt != dtBYTES && c != '-' && !isDigit(c):
			return sc.wrongType(fmt.Sprintf("entity key input %q: instance %d: ", h.name, got), "expected an integer (datatype "+h.dt.String()+")")
		}
		if err = r.entityKey(p, got, k); err != nil {
			return err
		}
		got++
		if inner {
			if more, err = sc.nextElem(); err != nil {
				return err
			}
			if more {
				return invalidf("entity key input %q: shape %s, but instance %d holds more than one value", h.name, h.shapeText(), got-1)
			}
		}
		more, err = sc.nextElem()
	}
	if err != nil {
		return err
	}
	if got != batch {
		return invalidf("entity key input %q: %d values, shape %s needs %d", h.name, got, h.shapeText(), batch)
	}
	*n = batch
	return nil
}

// inferInput reads input i. *n is the batch of the per-feature inputs
// read before it, -1 if none.
func (r *Request) inferInput(s *Schema, lim Limits, i int, n *int) error {
	sc := &r.sc
	if sc.peek() != '{' {
		return sc.wrongType(fmt.Sprintf("inputs[%d]: ", i), "expected an object")
	}
	h := inputHead{index: i, rank: -1, dataPos: -1, binSize: -1}
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		dup := false
		switch string(key) {
		case "name":
			dup = h.name != nil
			if !dup {
				if sc.peek() != '"' {
					return sc.wrongType(h.label()+`: "name": `, "expected a string")
				}
				if h.name, err = sc.str(&r.name); err == nil && h.name == nil {
					h.name = []byte{} // present, empty
				}
			}
		case "shape":
			dup = h.rank >= 0
			if !dup {
				err = r.inputShape(&h)
			}
		case "datatype":
			dup = h.hasDT
			if !dup {
				err = r.inputDatatype(&h)
			}
		case "parameters":
			dup = h.hasParam
			h.hasParam = true
			if !dup {
				err = r.inputParams(&h)
			}
		case "data":
			dup = h.dataPos >= 0
			if !dup {
				if sc.peek() != '[' {
					return sc.wrongType(h.label()+`: "data": `, "expected an array")
				}
				h.dataPos = sc.pos
				if h.name != nil && h.rank >= 0 && h.hasDT {
					err = r.inputData(s, lim, &h, n)
					h.decoded = true
				} else {
					// Decode once the rest of the input is known.
					err = sc.skip(3)
				}
			}
		default:
			return invalidf(`%s: unknown key %q: an input takes "name", "shape", "datatype", "data" and optionally "parameters"`, h.label(), key)
		}
		if dup {
			return invalidf("%s: key %q appears twice", h.label(), key)
		}
		if err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	if err != nil {
		return err
	}
	switch {
	case h.name == nil:
		return invalidf(`%s: missing "name"`, h.label())
	case h.rank < 0:
		return invalidf(`%s: missing "shape"`, h.label())
	case !h.hasDT:
		return invalidf(`%s: missing "datatype"`, h.label())
	case h.dataPos < 0 && h.binSize < 0:
		return invalidf(`%s: missing "data" (or, for binary data, "parameters": {"binary_data_size": bytes})`, h.label())
	case h.dataPos >= 0 && h.binSize >= 0:
		return invalidf(`%s: both "data" and "parameters": {"binary_data_size": %d}: send one`, h.label(), h.binSize)
	}
	if h.binSize >= 0 {
		return r.inputData(s, lim, &h, n)
	}
	if !h.decoded {
		end := sc.pos
		sc.pos = h.dataPos
		if err := r.inputData(s, lim, &h, n); err != nil {
			return err
		}
		sc.pos = end
	}
	return nil
}

// inputShape reads an input's shape.
func (r *Request) inputShape(h *inputHead) error {
	sc := &r.sc
	if sc.peek() != '[' {
		return sc.wrongType(h.label()+`: "shape": `, "expected an array of integers")
	}
	h.rank = 0
	more, err := sc.openArray()
	for more && err == nil {
		if h.rank == maxRank {
			return invalidf("%s: shape has more than %d dimensions", h.label(), maxRank)
		}
		// Check the type before reading: wrongType names what is at
		// the scanner's position.
		if c := sc.peek(); c != '-' && !isDigit(c) {
			return sc.wrongType(h.label()+": shape: ", "expected an integer")
		}
		// Not v, err := ...: a second err here would take the nextElem
		// error below and hide it from the loop condition.
		var v float64
		if v, err = sc.number(); err != nil {
			return err
		}
		// 2^53: beyond it float64 skips integers, and no request is
		// that large.
		if !isInt(v) || v < 0 || v > 1<<53 {
			return invalidf("%s: shape entry %s is not a non-negative integer", h.label(), sc.numText())
		}
		h.shape[h.rank] = int64(v)
		h.rank++
		more, err = sc.nextElem()
	}
	return err
}

// inputDatatype reads an input's datatype.
func (r *Request) inputDatatype(h *inputHead) error {
	sc := &r.sc
	if sc.peek() != '"' {
		return sc.wrongType(h.label()+`: "datatype": `, "expected a string")
	}
	name, err := sc.str(&r.key)
	if err != nil {
		return err
	}
	switch string(name) {
	case "FP32":
		h.dt = dtFP32
	case "FP64":
		h.dt = dtFP64
	case "INT32":
		h.dt = dtINT32
	case "INT64":
		h.dt = dtINT64
	case "BOOL":
		h.dt = dtBOOL
	case "BYTES":
		h.dt = dtBYTES
	default:
		return invalidf("%s: datatype %q is not supported: use FP32, FP64, INT32, INT64 or BOOL (BYTES for string inputs and entity keys)", h.label(), name)
	}
	h.hasDT = true
	return nil
}

// inputData places the input's data, at the scanner's position: the 2-D
// input into Rows, a feature's input into its column. *n is the batch of
// the per-feature inputs read so far, -1 if none.
func (r *Request) inputData(s *Schema, lim Limits, h *inputHead, n *int) error {
	nf := len(s.names)
	f := s.lookup(h.name)
	// The 2-D input, [batch, features]; or, when no feature is named
	// "input", a 1-D "input" of one instance's features.
	tensor := string(h.name) == InputName && (h.rank == 2 && (!s.hasInputFeature || h.shape[1] != 1) || h.rank == 1 && !s.hasInputFeature)
	if !tensor && f < 0 && s.join != nil {
		if k := s.join.KeyIndex(h.name); k >= 0 {
			return r.inferKey(s, lim, h, k, n)
		}
	}
	if tensor && s.nstr > 0 {
		return invalidf("input %q: the model has string inputs (%s), which a 2-D numeric tensor cannot carry: send one input per feature (%s), with datatype BYTES for a string input", h.name, s.stringList(), s.featureList)
	}
	switch {
	case !tensor && f >= 0 && s.IsString(f):
		if h.dt != dtBYTES {
			return invalidf("input %q: datatype %s, but %q is a string input (a category): send datatype BYTES with JSON strings (null for a missing value)", h.name, h.dt, h.name)
		}
	case h.dt == dtBYTES:
		if s.nstr > 0 {
			return invalidf("input %q: datatype BYTES is for string inputs (%s) and entity keys; a numeric feature takes FP32, FP64, INT32, INT64 or BOOL", h.name, s.stringList())
		}
		return invalidf("input %q: datatype BYTES is for entity keys; a feature takes FP32, FP64, INT32, INT64 or BOOL", h.name)
	}
	if !tensor && f < 0 {
		return invalidf("unknown input %q: the model takes one input %q of shape [batch, %d], or one input per feature (%s)", h.name, InputName, nf, s.featureList)
	}
	if r.tensor && tensor {
		return invalidf("input %q appears twice", h.name)
	}
	if r.tensor || tensor && *n >= 0 {
		return invalidf("input %q: the model takes one input %q or one input per feature, not both", h.name, InputName)
	}
	batch := int(h.shape[0])
	if tensor && h.rank == 1 {
		// One instance, as numpy writes a single row: x.shape == (nf,).
		if h.shape[0] != int64(nf) {
			return invalidf("input %q: shape %s: a 1-D input %q is one instance's %d features (%s); send shape [%d], or [batch, %d] for a batch", h.name, h.shapeText(), InputName, nf, s.featureList, nf, nf)
		}
		batch = 1
	} else if tensor {
		if h.shape[1] != int64(nf) {
			return invalidf("input %q: shape %s, the model takes [batch, %d] (%s)", h.name, h.shapeText(), nf, s.featureList)
		}
	} else {
		if r.colOff[f] >= 0 {
			return invalidf("input %q appears twice", h.name)
		}
		if h.rank != 1 && !(h.rank == 2 && h.shape[1] == 1) {
			return invalidf("input %q: shape %s, a feature's input has shape [batch] or [batch, 1]", h.name, h.shapeText())
		}
	}
	if lim.MaxInstances > 0 && batch > lim.MaxInstances {
		return errTooMany(batch, lim)
	}
	want := h.size()
	if want < 0 {
		return invalidf("input %q: shape %s is too large", h.name, h.shapeText())
	}
	var got int
	var err error
	if tensor {
		r.Rows, got, err = r.fill(s, h, r.Rows[:0], want, -1)
	} else {
		r.colOff[f] = len(r.cols)
		r.cols, got, err = r.fill(s, h, r.cols, want, f)
	}
	if err != nil {
		return err
	}
	if got != want {
		return invalidf("input %q: %d values, shape %s needs %d", h.name, got, h.shapeText(), want)
	}
	if tensor {
		r.tensor = true
		r.N = batch
		return nil
	}
	if *n < 0 {
		*n = batch
	} else if batch != *n {
		return invalidf("input %q: batch %d, the inputs before it have %d", h.name, batch, *n)
	}
	return nil
}

// fill appends to dst input h's values: from the binary section if it
// has binary_data_size, else from its JSON data (data).
func (r *Request) fill(s *Schema, h *inputHead, dst []float64, want, f int) ([]float64, int, error) {
	if h.binSize >= 0 {
		return r.binData(s, h, dst, want, f)
	}
	return r.data(s, h, dst, want, f)
}

// data appends to dst the values of the data array at the scanner's
// position, nested arrays flattened row-major, and returns dst and how many
// values the array holds; it decodes at most want of them and only counts
// the rest. Values are checked for feature f, or with f < 0 for the
// features of the 2-D input in turn.
func (r *Request) data(s *Schema, h *inputHead, dst []float64, want, f int) ([]float64, int, error) {
	sc := &r.sc
	nf := len(s.names)
	l := loc{input: h.name, column: f >= 0, feat: max(f, 0)}
	count, depth := 0, 0
	for {
		if sc.peek() == '[' {
			// depth counts the top object, "inputs", the input and
			// the data arrays open.
			if 3+depth >= maxDepth {
				return dst, count, sc.tooDeep()
			}
			sc.pos++
			depth++
			if sc.peek() != ']' {
				continue
			}
			sc.pos++
			depth--
		} else if count < want {
			v, err := r.value(s, h.dt, l)
			if err != nil {
				return dst, count, err
			}
			dst = append(dst, v)
			count++
			if f >= 0 {
				l.inst++
			} else if l.feat++; l.feat == nf {
				l.feat = 0
				l.inst++
			}
		} else {
			if err := sc.skip(3 + depth); err != nil {
				return dst, count, err
			}
			count++
		}
		// After a value: close arrays until a ',' or the end.
		for {
			if depth == 0 {
				return dst, count, nil
			}
			switch sc.peek() {
			case ',':
				sc.pos++
			case ']':
				sc.pos++
				depth--
				continue
			default:
				return dst, count, sc.malformed("expected ',' or ']' after array element")
			}
			break
		}
	}
}

// inferOutputs reads the requested "outputs" into r.Outputs: each an
// object with a "name", OutputName or, for a model with a class label,
// LabelName, and optionally "parameters", of which only "binary_data"
// (true: return it as binary data, Request.BinaryOutput) is taken. An unknown or repeated name is
// refused naming it and the model's outputs.
func (r *Request) inferOutputs(s *Schema) error {
	sc := &r.sc
	if sc.peek() != '[' {
		return sc.wrongType(`"outputs": `, "expected an array")
	}
	i := 0
	more, err := sc.openArray()
	for more && err == nil {
		if err = r.inferOutput(s, i); err != nil {
			return err
		}
		i++
		more, err = sc.nextElem()
	}
	return err
}

// inferOutput reads requested output i.
func (r *Request) inferOutput(s *Schema, i int) error {
	sc := &r.sc
	if sc.peek() != '{' {
		// Read the value first: one nested too deep is refused as such,
		// as anywhere else in a body.
		start := sc.pos
		if err := sc.skip(2); err != nil {
			return err
		}
		sc.pos = start
		return sc.wrongType(fmt.Sprintf("outputs[%d]: ", i), `expected an object such as {"name": "output"}`)
	}
	var (
		name      []byte
		hasName   bool
		hasParams bool
		bin       = -1 // parameters.binary_data: -1 absent, 0 false, 1 true
	)
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		switch string(key) {
		case "name":
			if hasName {
				return invalidf(`outputs[%d]: key "name" appears twice`, i)
			}
			hasName = true
			if sc.peek() != '"' {
				return sc.wrongType(fmt.Sprintf(`outputs[%d]: "name": `, i), "expected a string")
			}
			if name, err = sc.str(&r.name); err != nil {
				return err
			}
		case "parameters":
			if hasParams {
				return invalidf(`outputs[%d]: key "parameters" appears twice`, i)
			}
			hasParams = true
			bin, err = r.outputParams(i)
		default:
			return invalidf(`outputs[%d]: unknown key %q: a requested output takes "name" and optionally "parameters"`, i, key)
		}
		if err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	if err != nil {
		return err
	}
	if !hasName {
		return invalidf(`outputs[%d]: missing "name"`, i)
	}
	var o Output
	switch {
	case string(name) == OutputName:
		o = OutputPredictions
	case string(name) == LabelName && s.label != NoLabel:
		o = OutputLabel
	case string(name) == LabelName:
		return invalidf("outputs[%d]: output %q: %s; the model's output is %q", i, name, errNoLabel(), OutputName)
	default:
		return invalidf("outputs[%d]: unknown output %q: %s", i, name, outputList(s))
	}
	for _, prev := range r.Outputs {
		if prev == o {
			return invalidf("outputs[%d]: output %q is requested twice", i, name)
		}
	}
	r.Outputs = append(r.Outputs, o)
	if bin >= 0 {
		r.binSet |= 1 << o
		r.binVal |= uint8(bin) << o
	}
	return nil
}

// outputParams reads requested output i's parameters: only
// "binary_data", returned as 1 (true), 0 (false) or -1 (absent).
func (r *Request) outputParams(i int) (int, error) {
	sc := &r.sc
	if sc.peek() != '{' {
		return -1, sc.wrongType(fmt.Sprintf(`outputs[%d]: "parameters": `, i), "expected an object")
	}
	bin := -1
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return -1, err
		}
		switch string(key) {
		case "binary_data":
			if bin >= 0 {
				return -1, invalidf(`outputs[%d]: parameters: "binary_data" appears twice`, i)
			}
			if c := sc.peek(); c != 't' && c != 'f' {
				return -1, sc.wrongType(fmt.Sprintf(`outputs[%d]: parameters: "binary_data": `, i), "expected true or false")
			}
			var v float64
			if v, _, err = sc.scalar(); err != nil {
				return -1, err
			}
			bin = int(v)
		case "classification":
			return -1, invalidf(`outputs[%d]: parameters: "classification" is not supported: request the output %q for each instance's class index`, i, LabelName)
		default:
			return -1, invalidf(`outputs[%d]: parameters: unknown parameter %q: a requested output takes "binary_data" (true or false)`, i, key)
		}
		if err != nil {
			return -1, err
		}
		more, err = sc.nextMember()
	}
	return bin, err
}

// outputList names the model's outputs, for messages.
func outputList(s *Schema) string {
	if s.label == NoLabel {
		return fmt.Sprintf("the model's output is %q (it has no class label)", OutputName)
	}
	return fmt.Sprintf("the model's outputs are %q (the predictions) and %q (the class label)", OutputName, LabelName)
}

// errNoLabel says why a model has no class label.
func errNoLabel() string {
	return "this model has no class label: only a classifier has one, a binary model whose output is the probability of class 1 or a multiclass model"
}

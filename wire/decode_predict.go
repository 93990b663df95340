package wire

import (
	"fmt"
	"math"
	"slices"
)

// DecodePredict decodes body, a TF Serving REST predict request
// (https://www.tensorflow.org/tfx/serving/api_rest), into r.Rows and r.N,
// checking it against s. It accepts
//
//	{"instances": [{"f1": 1.0, "f2": null}, ...]}  rows as objects: every feature, by name
//	{"instances": [[1.0, null], ...]}              rows as arrays, in the model's feature order
//	{"inputs": {"f1": [1, 2], "f2": [3, 4]}}       columns: every feature, all the same length
//	{"inputs": [[1.0, null], ...]}                 rows, as "instances" (either row form)
//
// with an optional "signature_name" string, which is ignored, and optional
// booleans "return_features" (r.ReturnFeatures; refused for a model that
// reads no online features) and "return_labels" (r.ReturnLabels; refused
// for a model with no class label, Schema.Label). The "inputs"
// forms set r.Columnar. A value is a JSON number (an integer value for a
// categorical feature), or null for a missing value if s allows it (a tree
// model, or any version with transforms). A string input of a version
// with transforms (Schema.IsString) takes a JSON string, any text, or
// null; its value in r.Rows is the string's index in r's arena (read it
// with Category or RawRow).
//
// Errors are *Error: ErrTooLarge for more instances than lim allows,
// ErrInvalid for everything else, naming the instance and field, or, if
// body is not valid JSON, the byte offset of its first syntax error (a
// message that begins "malformed JSON at byte "), whatever else is wrong
// with it. After an error r's decoded fields are meaningless. Once r's
// buffers have grown to the request's size, DecodePredict does not
// allocate.
func (r *Request) DecodePredict(body []byte, s *Schema, lim Limits) error {
	r.start(body, s)
	err := r.decodePredict(s, lim)
	r.sc.reset(nil) // keep no reference to the body
	return syntaxFirst(body, err)
}

func (r *Request) decodePredict(s *Schema, lim Limits) error {
	sc := &r.sc
	if sc.peek() != '{' {
		return r.notAnObject("a predict request")
	}
	const (
		haveInstances = 1 << iota
		haveInputs
		haveSignature
		haveReturnFeatures
		haveReturnLabels
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
		case "instances":
			bit = haveInstances
		case "inputs":
			bit = haveInputs
		case "signature_name":
			bit = haveSignature
		case "return_features":
			bit = haveReturnFeatures
		case "return_labels":
			bit = haveReturnLabels
		default:
			return invalidf(`unknown key %q in a predict request: it takes "instances" or "inputs", and optionally "signature_name", "return_features" and "return_labels"`, key)
		}
		if have&bit != 0 {
			return invalidf("key %q appears twice in a predict request", key)
		}
		have |= bit
		if have&haveInstances != 0 && have&haveInputs != 0 {
			return invalidf(`a predict request has either "instances" or "inputs", not both`)
		}
		switch bit {
		case haveInstances:
			err = r.predictRows(s, lim, "instances")
		case haveInputs:
			r.Columnar = true
			if sc.peek() == '{' {
				err = r.predictColumns(s, lim)
			} else {
				err = r.predictRows(s, lim, "inputs")
			}
		case haveSignature:
			if sc.peek() != '"' {
				return sc.wrongType(`"signature_name": `, "expected a string")
			}
			_, _, err = sc.rawStr()
		case haveReturnFeatures:
			if c := sc.peek(); c != 't' && c != 'f' {
				return sc.wrongType(`"return_features": `, "expected true or false")
			}
			var v float64
			if v, _, err = sc.scalar(); err != nil {
				return err
			}
			r.ReturnFeatures = v == 1
			if r.ReturnFeatures && s.join == nil {
				return invalidf(`"return_features": this model reads no online features (its manifest names no feature_views)`)
			}
		case haveReturnLabels:
			if c := sc.peek(); c != 't' && c != 'f' {
				return sc.wrongType(`"return_labels": `, "expected true or false")
			}
			var v float64
			if v, _, err = sc.scalar(); err != nil {
				return err
			}
			r.ReturnLabels = v == 1
			if r.ReturnLabels && s.label == NoLabel {
				return invalidf(`"return_labels": %s`, errNoLabel())
			}
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
	if have&(haveInstances|haveInputs) == 0 {
		return invalidf(`a predict request needs "instances" or "inputs"`)
	}
	if r.N == 0 {
		return errNoInstances()
	}
	return nil
}

// notAnObject reports a body that is not a JSON object.
func (r *Request) notAnObject(what string) error {
	sc := &r.sc
	if sc.peek() == 0 && sc.pos == len(sc.buf) {
		// Not JSON at all: a syntax error, at the end of input.
		return invalidf("malformed JSON at byte %d: %s must be a JSON object, got an empty body", sc.pos, what)
	}
	return sc.wrongType("", what+" must be a JSON object")
}

// predictRows decodes the array of instances under key.
func (r *Request) predictRows(s *Schema, lim Limits, key string) error {
	sc := &r.sc
	if sc.peek() != '[' {
		if key == "inputs" {
			return sc.wrongType(`"inputs": `, "expected an object of columns or an array of instances")
		}
		return sc.wrongType(`"instances": `, "expected an array")
	}
	more, err := sc.openArray()
	for more && err == nil {
		if r.N == lim.MaxInstances && lim.MaxInstances > 0 {
			return r.tooMany(lim, r.N, 2)
		}
		switch sc.peek() {
		case '{':
			err = r.instanceObject(s, r.N)
		case '[':
			err = r.instanceArray(s, r.N)
		default:
			return sc.wrongType(fmt.Sprintf("instance %d: ", r.N), "expected an object or an array")
		}
		if err != nil {
			return err
		}
		r.N++
		more, err = sc.nextElem()
	}
	return err
}

// instanceObject decodes instance i given as an object of feature values.
func (r *Request) instanceObject(s *Schema, i int) error {
	sc := &r.sc
	nf := len(s.names)
	base := len(r.Rows)
	r.Rows = slices.Grow(r.Rows, nf)[:base+nf]
	row := r.Rows[base:]
	seen := r.seenFor(nf)
	if s.join != nil {
		r.startJoinInstance(s.join)
	}
	got, prev := 0, -1
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		if s.join != nil {
			if k := s.join.KeyIndex(key); k >= 0 {
				if err = r.entityKey(s.join, i, k); err != nil {
					return err
				}
				more, err = sc.nextMember()
				continue
			}
		}
		// Clients mostly send the features in the model's order: try
		// the next one before hashing the key. BenchmarkDecodePredict
		// form=objects (20 features in order): 36 µs, 42 µs hashing
		// every key.
		f := prev + 1
		if f >= nf || string(key) != s.names[f] {
			if f = s.lookup(key); f < 0 {
				return invalidf("instance %d: unknown feature %q", i, key)
			}
		}
		prev = f
		if seen[f] {
			return invalidf("instance %d: feature %q appears twice", i, key)
		}
		seen[f] = true
		got++
		if row[f], err = r.value(s, dtJSON, loc{inst: i, feat: f}); err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	if err != nil {
		return err
	}
	if s.join != nil {
		// Fetched features are filled in by the join; NaN until then.
		for f, ok := range seen {
			if !ok {
				row[f] = math.NaN()
			}
		}
		r.Given = append(r.Given, seen...)
		if got < nf {
			return r.checkJoinInstance(s, i, seen)
		}
		return nil
	}
	if got < nf {
		return r.missing(s, i, seen)
	}
	return nil
}

// missing reports the first feature not in an instance.
func (r *Request) missing(s *Schema, i int, seen []bool) error {
	f := slices.Index(seen, false)
	if s.allowMissing {
		return invalidf("instance %d: missing feature %q (send null for a missing value)", i, s.names[f])
	}
	return invalidf("instance %d: missing feature %q", i, s.names[f])
}

// instanceArray decodes instance i given as an array of values in the
// model's feature order.
func (r *Request) instanceArray(s *Schema, i int) error {
	sc := &r.sc
	nf := len(s.names)
	r.Rows = slices.Grow(r.Rows, nf)
	got := 0
	more, err := sc.openArray()
	for more && err == nil {
		if got >= nf {
			// Count the rest for the message.
			if err = sc.skip(3); err != nil {
				return err
			}
		} else {
			var v float64
			if v, err = r.value(s, dtJSON, loc{inst: i, feat: got}); err != nil {
				return err
			}
			r.Rows = append(r.Rows, v)
		}
		got++
		more, err = sc.nextElem()
	}
	if err != nil {
		return err
	}
	if got != nf {
		return invalidf("instance %d: %d values, the model takes %d features (%s)", i, got, nf, s.featureList)
	}
	if s.join != nil {
		r.inlineJoin(s.join, nf, 1)
	}
	return nil
}

// predictColumns decodes {"inputs": {"f1": [...], ...}}: one array of
// values per feature, all the same length.
func (r *Request) predictColumns(s *Schema, lim Limits) error {
	sc := &r.sc
	nf := len(s.names)
	r.startColumns(nf)
	n, first := -1, 0
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		f := s.lookup(key)
		if f < 0 {
			return invalidf("inputs: unknown feature %q", key)
		}
		if r.colOff[f] >= 0 {
			return invalidf("inputs: feature %q appears twice", key)
		}
		if sc.peek() != '[' {
			return sc.wrongType(fmt.Sprintf("inputs: feature %q: ", key), "expected an array of values")
		}
		r.colOff[f] = len(r.cols)
		count := 0
		// Not moreVals, err := ...: a second err here would take the
		// nextMember error below and hide it from the loop condition.
		var moreVals bool
		moreVals, err = sc.openArray()
		for moreVals && err == nil {
			if count == lim.MaxInstances && lim.MaxInstances > 0 {
				return r.tooMany(lim, count, 3)
			}
			var v float64
			if v, err = r.value(s, dtJSON, loc{inst: count, feat: f}); err != nil {
				return err
			}
			r.cols = append(r.cols, v)
			count++
			moreVals, err = sc.nextElem()
		}
		if err != nil {
			return err
		}
		if n < 0 {
			n, first = count, f
		} else if count != n {
			return invalidf("inputs: feature %q has %d values, feature %q has %d", key, count, s.names[first], n)
		}
		more, err = sc.nextMember()
	}
	if err != nil {
		return err
	}
	if f := slices.Index(r.colOff, -1); f >= 0 {
		return invalidf("inputs: missing feature %q", s.names[f])
	}
	r.rowsFromColumns(nf, n)
	if s.join != nil {
		r.inlineJoin(s.join, nf, n)
	}
	return nil
}

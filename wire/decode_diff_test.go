package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// The decoders' differential check against encoding/json, run by the
// decoder fuzzers on every input (checkAgainstJSON), and the oracle it
// uses: a reading of the same request through encoding/json's generic
// values, written for clarity, not speed.

// checkAgainstJSON holds a decoder's answer for body to encoding/json's:
//
//   - body is not valid JSON (json.Valid): the decoder refused it with a
//     syntax error (isSyntaxError) at the byte encoding/json stops at: its
//     SyntaxError.Offset counts the offending byte, ours is its 0-based
//     offset, and both are len(body) when the body ends too soon;
//   - body is valid JSON and refused: not for its syntax;
//   - body is accepted: every value in r.Rows is what oracle reads from
//     encoding/json's values for the same field, bit for bit; a string
//     input's value is the string encoding/json reads (r.Category), or
//     NaN for null.
func checkAgainstJSON(t *testing.T, fn string, body []byte, r *Request, s *Schema, err error) {
	t.Helper()
	if !json.Valid(body) {
		want, jerr := jsonSyntaxByte(body)
		if want < 0 {
			return // encoding/json's own depth limit, 10,000 levels
		}
		if err == nil {
			t.Fatalf("%s(%q) accepted invalid JSON (encoding/json: %v)", fn, body, jerr)
		}
		off, ok := syntaxOffset(err)
		if !ok {
			t.Fatalf("%s(%q) error = %q, want a syntax error (encoding/json: %v)", fn, body, err, jerr)
		}
		if off != want {
			t.Fatalf("%s(%q) error = %q, want the syntax error at byte %d (encoding/json: %v)", fn, body, err, want, jerr)
		}
		return
	}
	if err != nil {
		if isSyntaxError(err) {
			t.Fatalf("%s(%q) refused valid JSON as a syntax error: %v", fn, body, err)
		}
		return
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber() // numbers are read per field below, as the decoder's datatype says
	if jerr := d.Decode(&v); jerr != nil {
		t.Fatalf("encoding/json cannot decode %q, which %s accepted: %v", body, fn, jerr)
	}
	var want []float64
	var wantStrs []string
	var oerr error
	if fn == "DecodePredict" {
		want, wantStrs, oerr = predictOracle(v, s)
	} else {
		want, wantStrs, oerr = inferOracle(v, s)
	}
	if oerr != nil {
		t.Fatalf("%s(%q) accepted it, but through encoding/json: %v", fn, body, oerr)
	}
	got, gotStrs := decodedCells(r, s)
	if !sameBits(got, want) || !slices.Equal(gotStrs, wantStrs) {
		t.Fatalf("%s(%q) = %v %q; through encoding/json %v %q", fn, body, got, gotStrs, want, wantStrs)
	}
}

// decodedCells returns r's rows as the oracles return theirs: a string
// input's cell is 0 in rows and its category in strs, or NaN and "" for
// a missing value; strs is nil when s has no string inputs.
func decodedCells(r *Request, s *Schema) (rows []float64, strs []string) {
	if s.nstr == 0 {
		return r.Rows, nil
	}
	nf := len(s.names)
	rows = append([]float64(nil), r.Rows...)
	strs = make([]string, len(rows))
	for c, x := range rows {
		if !s.IsString(c % nf) {
			continue
		}
		if str, ok := r.Category(x); ok {
			rows[c], strs[c] = 0, str
		}
	}
	return rows, strs
}

// jsonSyntaxByte returns the 0-based offset of the first byte of body, not
// valid JSON, that encoding/json finds wrong, or len(body) if body ends too
// soon; -1 if it exceeds encoding/json's depth limit. SyntaxError.Offset
// counts the offending byte, and is len(body) both when the last byte is
// wrong and when the body ends too soon (a literal cut short ends in
// "invalid character ' '": encoding/json feeds a space at the end): the
// body with a space appended tells them apart.
func jsonSyntaxByte(body []byte) (int, error) {
	offset := func(b []byte) (int, error) {
		jerr := json.Unmarshal(b, new(any))
		var se *json.SyntaxError
		if !errors.As(jerr, &se) || strings.Contains(se.Error(), "exceeded max depth") {
			return -1, jerr
		}
		return int(se.Offset), jerr
	}
	off, jerr := offset(body)
	if off < 0 {
		return -1, jerr
	}
	if off == len(body) {
		if spaced, _ := offset(append(body[:len(body):len(body)], ' ')); spaced > len(body) {
			return len(body), jerr // ended too soon
		}
	}
	return off - 1, jerr
}

// syntaxOffset returns the byte of a syntax error; ok is false if err is
// not one.
func syntaxOffset(err error) (off int, ok bool) {
	if !isSyntaxError(err) {
		return 0, false
	}
	var e *Error
	errors.As(err, &e)
	if _, err := fmt.Sscanf(e.Msg, syntaxPrefix+"%d:", &off); err != nil {
		return 0, false
	}
	return off, true
}

// jsonFloat reads a number as encoding/json reads it into a float64 (or a
// float32, for FP32 data: correctly rounded to float32, as the client
// declared it).
func jsonFloat(n json.Number, fp32 bool) (float64, error) {
	if fp32 {
		var f float32
		err := json.Unmarshal([]byte(n), &f)
		return float64(f), err
	}
	var f float64
	err := json.Unmarshal([]byte(n), &f)
	return f, err
}

// oracleValue is what the model receives for the JSON value v of datatype
// dt: the number, 1 or 0 for a BOOL, NaN for null.
func oracleValue(v any, dt string) (float64, error) {
	switch v := v.(type) {
	case nil:
		return math.NaN(), nil
	case string:
		return 0, fmt.Errorf("string %q accepted as %s for a numeric feature", v, dt)
	case bool:
		if dt != "BOOL" {
			return 0, fmt.Errorf("boolean %v accepted as %s", v, dt)
		}
		if v {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		if dt == "BOOL" {
			return 0, fmt.Errorf("number %s accepted as BOOL", v)
		}
		return jsonFloat(v, dt == "FP32")
	}
	return 0, fmt.Errorf("%T accepted as a value", v)
}

// oracleCell reads the JSON value v of datatype dt for feature f into
// cell c of rows and strs (see decodedCells).
func oracleCell(rows []float64, strs []string, c int, s *Schema, f int, v any, dt string) error {
	if !s.IsString(f) {
		var err error
		rows[c], err = oracleValue(v, dt)
		return err
	}
	if dt != "JSON" && dt != "BYTES" {
		return fmt.Errorf("string input %q accepted with datatype %s", s.names[f], dt)
	}
	switch v := v.(type) {
	case nil:
		rows[c] = math.NaN()
	case string:
		strs[c] = v
	default:
		return fmt.Errorf("%T accepted for string input %q", v, s.names[f])
	}
	return nil
}

// oracleCells makes n instances' rows and, when s has string inputs,
// strs.
func oracleCells(s *Schema, n int) ([]float64, []string) {
	rows := make([]float64, n*len(s.names))
	if s.nstr == 0 {
		return rows, nil
	}
	return rows, make([]string, len(rows))
}

// predictOracle reads a TF Serving predict request.
func predictOracle(v any, s *Schema) ([]float64, []string, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("body is %T", v)
	}
	nf := len(s.names)
	list, haveInst := top["instances"]
	if !haveInst {
		list = top["inputs"]
	}
	if cols, ok := list.(map[string]any); ok && !haveInst {
		var rows []float64
		var strs []string
		n := -1
		for f, name := range s.names {
			col, ok := cols[name].([]any)
			if !ok {
				return nil, nil, fmt.Errorf("column %q is %T", name, cols[name])
			}
			if n < 0 {
				n = len(col)
				rows, strs = oracleCells(s, n)
			} else if len(col) != n {
				return nil, nil, fmt.Errorf("column %q has %d values, want %d", name, len(col), n)
			}
			for i, x := range col {
				if err := oracleCell(rows, strs, i*nf+f, s, f, x, "JSON"); err != nil {
					return nil, nil, err
				}
			}
		}
		return rows, strs, nil
	}
	insts, ok := list.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("instances are %T", list)
	}
	rows, strs := oracleCells(s, len(insts))
	for i, inst := range insts {
		switch inst := inst.(type) {
		case []any:
			if len(inst) != nf {
				return nil, nil, fmt.Errorf("instance %d has %d values", i, len(inst))
			}
			for f, x := range inst {
				if err := oracleCell(rows, strs, i*nf+f, s, f, x, "JSON"); err != nil {
					return nil, nil, err
				}
			}
		case map[string]any:
			for f, name := range s.names {
				x, ok := inst[name]
				if !ok {
					if s.join == nil {
						return nil, nil, fmt.Errorf("instance %d lacks %q", i, name)
					}
					rows[i*nf+f] = math.NaN() // to be fetched
					continue
				}
				if err := oracleCell(rows, strs, i*nf+f, s, f, x, "JSON"); err != nil {
					return nil, nil, err
				}
			}
		default:
			return nil, nil, fmt.Errorf("instance %d is %T", i, inst)
		}
	}
	return rows, strs, nil
}

// inferOracle reads an Open Inference Protocol request.
func inferOracle(v any, s *Schema) ([]float64, []string, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("body is %T", v)
	}
	inputs, ok := top["inputs"].([]any)
	if !ok {
		return nil, nil, fmt.Errorf("inputs are %T", top["inputs"])
	}
	nf := len(s.names)
	type column struct {
		vals []any
		dt   string
	}
	cols := make([]*column, nf)
	n := -1
	for i, in := range inputs {
		in, ok := in.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("input %d is %T", i, in)
		}
		name, _ := in["name"].(string)
		dt, _ := in["datatype"].(string)
		shape, _ := in["shape"].([]any)
		if len(shape) == 0 {
			return nil, nil, fmt.Errorf("input %q has shape %v", name, in["shape"])
		}
		batch, err := jsonFloat(shape[0].(json.Number), false)
		if err != nil {
			return nil, nil, err
		}
		n = int(batch)
		var flat []any
		var walk func(x any)
		walk = func(x any) {
			if a, ok := x.([]any); ok {
				for _, y := range a {
					walk(y)
				}
				return
			}
			flat = append(flat, x)
		}
		f, known := s.index[name]
		// The 2-D input; or, with no feature named "input", a 1-D one,
		// one instance.
		tensor := name == InputName && len(shape) == 1 && !s.hasInputFeature
		if name == InputName && len(shape) == 2 {
			k, err := jsonFloat(shape[1].(json.Number), false)
			if err != nil {
				return nil, nil, err
			}
			tensor = !s.hasInputFeature || k != 1
		}
		if !tensor && !known {
			continue // an entity key
		}
		walk(in["data"])
		if tensor {
			if s.nstr > 0 {
				return nil, nil, fmt.Errorf("the 2-D input accepted for a schema with string inputs")
			}
			rows := make([]float64, len(flat))
			for c, x := range flat {
				if rows[c], err = oracleValue(x, dt); err != nil {
					return nil, nil, err
				}
			}
			return rows, nil, nil
		}
		cols[f] = &column{flat, dt}
	}
	rows, strs := oracleCells(s, max(n, 0))
	for i := range n {
		for f := range nf {
			c := i*nf + f
			switch {
			case cols[f] != nil:
				if err := oracleCell(rows, strs, c, s, f, cols[f].vals[i], cols[f].dt); err != nil {
					return nil, nil, err
				}
			case s.join != nil:
				rows[c] = math.NaN() // to be fetched
			default:
				return nil, nil, fmt.Errorf("no input for feature %q", s.names[f])
			}
		}
	}
	return rows, strs, nil
}

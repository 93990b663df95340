package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
//     encoding/json's values for the same field, bit for bit.
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
	var oerr error
	if fn == "DecodePredict" {
		want, oerr = predictOracle(v, s)
	} else {
		want, oerr = inferOracle(v, s)
	}
	if oerr != nil {
		t.Fatalf("%s(%q) accepted it, but through encoding/json: %v", fn, body, oerr)
	}
	if !sameBits(r.Rows, want) {
		t.Fatalf("%s(%q) = %v; through encoding/json %v", fn, body, r.Rows, want)
	}
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

// predictOracle reads a TF Serving predict request.
func predictOracle(v any, s *Schema) ([]float64, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body is %T", v)
	}
	nf := len(s.names)
	var rows []float64
	list, haveInst := top["instances"]
	if !haveInst {
		list = top["inputs"]
	}
	if cols, ok := list.(map[string]any); ok && !haveInst {
		n := -1
		for f, name := range s.names {
			col, ok := cols[name].([]any)
			if !ok {
				return nil, fmt.Errorf("column %q is %T", name, cols[name])
			}
			if n < 0 {
				n = len(col)
				rows = make([]float64, n*nf)
			} else if len(col) != n {
				return nil, fmt.Errorf("column %q has %d values, want %d", name, len(col), n)
			}
			for i, x := range col {
				var err error
				if rows[i*nf+f], err = oracleValue(x, "JSON"); err != nil {
					return nil, err
				}
			}
		}
		return rows, nil
	}
	insts, ok := list.([]any)
	if !ok {
		return nil, fmt.Errorf("instances are %T", list)
	}
	for i, inst := range insts {
		switch inst := inst.(type) {
		case []any:
			if len(inst) != nf {
				return nil, fmt.Errorf("instance %d has %d values", i, len(inst))
			}
			for _, x := range inst {
				x, err := oracleValue(x, "JSON")
				if err != nil {
					return nil, err
				}
				rows = append(rows, x)
			}
		case map[string]any:
			for _, name := range s.names {
				x, ok := inst[name]
				if !ok {
					if s.join == nil {
						return nil, fmt.Errorf("instance %d lacks %q", i, name)
					}
					rows = append(rows, math.NaN()) // to be fetched
					continue
				}
				x2, err := oracleValue(x, "JSON")
				if err != nil {
					return nil, err
				}
				rows = append(rows, x2)
			}
		default:
			return nil, fmt.Errorf("instance %d is %T", i, inst)
		}
	}
	return rows, nil
}

// inferOracle reads an Open Inference Protocol request.
func inferOracle(v any, s *Schema) ([]float64, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body is %T", v)
	}
	inputs, ok := top["inputs"].([]any)
	if !ok {
		return nil, fmt.Errorf("inputs are %T", top["inputs"])
	}
	nf := len(s.names)
	cols := make([][]float64, nf)
	n := -1
	for i, in := range inputs {
		in, ok := in.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("input %d is %T", i, in)
		}
		name, _ := in["name"].(string)
		dt, _ := in["datatype"].(string)
		shape, _ := in["shape"].([]any)
		if len(shape) == 0 {
			return nil, fmt.Errorf("input %q has shape %v", name, in["shape"])
		}
		batch, err := jsonFloat(shape[0].(json.Number), false)
		if err != nil {
			return nil, err
		}
		n = int(batch)
		var flat []float64
		var walk func(x any) error
		walk = func(x any) error {
			if a, ok := x.([]any); ok {
				for _, y := range a {
					if err := walk(y); err != nil {
						return err
					}
				}
				return nil
			}
			y, err := oracleValue(x, dt)
			flat = append(flat, y)
			return err
		}
		f, known := s.index[name]
		tensor := false
		if name == InputName && len(shape) == 2 {
			k, err := jsonFloat(shape[1].(json.Number), false)
			if err != nil {
				return nil, err
			}
			tensor = !s.hasInputFeature || k != 1
		}
		if !tensor && !known {
			continue // an entity key
		}
		if err := walk(in["data"]); err != nil {
			return nil, err
		}
		if tensor {
			return flat, nil
		}
		cols[f] = flat
	}
	rows := make([]float64, 0, n*nf)
	for i := range n {
		for f := range nf {
			switch {
			case cols[f] != nil:
				rows = append(rows, cols[f][i])
			case s.join != nil:
				rows = append(rows, math.NaN()) // to be fetched
			default:
				return nil, fmt.Errorf("no input for feature %q", s.names[f])
			}
		}
	}
	return rows, nil
}

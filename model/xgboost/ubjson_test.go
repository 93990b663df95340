package xgboost

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

const ubjDir = "xgboost/ubj"

func readFixture(t testing.TB, elem ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixture.Path(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, name string, data []byte) *model.Imported {
	t.Helper()
	imp, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return imp
}

// sameImport fails unless the UBJSON import u equals the JSON import j:
// the same payload byte for byte, the same features, outputs, task and
// source but for Source.Format.
func sameImport(t *testing.T, name string, j, u *model.Imported) {
	t.Helper()
	jp, err := model.EncodePayload(j.Model)
	if err != nil {
		t.Fatal(err)
	}
	up, err := model.EncodePayload(u.Model)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(jp, up) {
		t.Errorf("%s: UBJSON payload (%d bytes, sha %x...) differs from the JSON import's (%d bytes)", name, len(up), up[:min(8, len(up))], len(jp))
	}
	if j.Source.Format != "xgboost-json" || u.Source.Format != "xgboost-ubjson" {
		t.Errorf("%s: Source.Format = %q (JSON) and %q (UBJSON), want xgboost-json and xgboost-ubjson", name, j.Source.Format, u.Source.Format)
	}
	js, us := j.Source, u.Source
	js.Format, us.Format = "", ""
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"Kind", u.Kind, j.Kind}, {"Task", u.Task, j.Task}, {"Classes", u.Classes, j.Classes},
		{"Features", u.Features, j.Features}, {"Outputs", u.Outputs, j.Outputs},
		{"RawOutputs", u.RawOutputs, j.RawOutputs}, {"Source", us, js},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: UBJSON import's %s = %+v, JSON import's = %+v", name, c.field, c.got, c.want)
		}
	}
}

// TestUBJSONParity: each model XGBoost 1.7.4 saved as .json and .ubj
// (testdata/gen/xgboost_ubj_fixtures.py) imports from the .ubj to the JSON
// import's payload byte for byte, and predicts XGBoost's own margins
// exactly and its predictions within a float32 step (checkParity's rule).
func TestUBJSONParity(t *testing.T) {
	cases := loadCases(t, ubjDir)
	if len(cases) < 5 {
		t.Fatalf("%d cases in %s/cases.json, want at least 5", len(cases), ubjDir)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			j := mustParse(t, c.Name+".json", readFixture(t, ubjDir, c.Name+".json"))
			u := mustParse(t, c.Name+".ubj", readFixture(t, ubjDir, c.Name+".ubj"))
			sameImport(t, c.Name, j, u)
			checkImportedParity(t, ubjDir, c, u)
		})
	}
}

// TestUBJSONEveryJSONFixture: every JSON fixture of testdata/xgboost (all
// supported objectives, gbtree and dart, categorical splits), saved again as
// UBJSON by XGBoost, imports to the JSON import's payload and predicts
// XGBoost's output by checkParity's rule.
func TestUBJSONEveryJSONFixture(t *testing.T) {
	cases := loadCases(t, "xgboost")
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			j := mustParse(t, c.Name+".json", readFixture(t, "xgboost", c.Name+".json"))
			u := mustParse(t, c.Name+".ubj", readFixture(t, ubjDir, "from_json", c.Name+".ubj"))
			sameImport(t, c.Name, j, u)
			checkImportedParity(t, "xgboost", c, u)
		})
	}
}

// TestUBJSONOtherMarkers: UBJSON that XGBoost does not write but the spec
// allows (int16/int32 numbers and lengths, float64 numbers, containers ended
// by ']', no-ops) imports a model as its JSON does.
func TestUBJSONOtherMarkers(t *testing.T) {
	for _, name := range []string{"gbtree_cat_partition_binary_logistic", "dart_multi_softprob", "gbtree_reg_gamma"} {
		js := readFixture(t, "xgboost", name+".json")
		u := jsonToUBJ(t, nonFiniteToNull(js))
		for _, m := range []byte{'I', 'l', 'D', ']', 'N'} {
			if !bytes.Contains(u, []byte{m}) {
				t.Errorf("%s: test encoding has no %q marker", name, m)
			}
		}
		sameImport(t, name, mustParse(t, name+".json", js), mustParse(t, name+" (test encoder)", u))
	}
}

// TestLegacyBinary: a legacy binary model (save_model("m.model") in XGBoost
// 1.7.4) is refused with a *LegacyBinaryError whose message says how to
// convert it; File, when set, is quoted in that command.
func TestLegacyBinary(t *testing.T) {
	const convert = `python3 -c 'import xgboost; xgboost.Booster(model_file="m.model").save_model("m.json")'`
	n := 0
	for _, c := range loadCases(t, ubjDir) {
		data, err := os.ReadFile(fixture.Path(ubjDir, c.Name+".model"))
		if errors.Is(err, os.ErrNotExist) && strings.Contains(c.Name, "_cat_") {
			continue // XGBoost refuses to write categorical splits in the legacy format
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		imp, err := Parse(data)
		var lb *LegacyBinaryError
		if imp != nil || !errors.As(err, &lb) || lb.Magic != "binf" {
			t.Fatalf("Parse(%s.model) = %v, %v; want a LegacyBinaryError for \"binf\"", c.Name, imp, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "legacy binary") || !strings.Contains(msg, convert) {
			t.Errorf("Parse(%s.model) error = %q, want it to name the format and say %s", c.Name, msg, convert)
		}
	}
	if n < 4 {
		t.Errorf("%d legacy binary fixtures, want at least 4", n)
	}
	_, err := Parse([]byte("bs64AAAA"))
	var lb *LegacyBinaryError
	if !errors.As(err, &lb) || lb.Magic != "bs64" {
		t.Errorf("Parse(bs64...) = %v, want a LegacyBinaryError for \"bs64\"", err)
	}
	lb = &LegacyBinaryError{File: "models/old.bin", Magic: "binf"}
	if want := `xgboost.Booster(model_file="models/old.bin").save_model("models/old.json")`; !strings.Contains(lb.Error(), want) {
		t.Errorf("LegacyBinaryError{File: models/old.bin}.Error() = %q, want it to contain %s", lb.Error(), want)
	}
	// A name that would break the shell or Python quoting is not quoted.
	lb = &LegacyBinaryError{File: `it's.model`, Magic: "binf"}
	if !strings.Contains(lb.Error(), convert) {
		t.Errorf("LegacyBinaryError{File: it's.model}.Error() = %q, want the placeholder command %s", lb.Error(), convert)
	}
}

// TestNotAModel: a file that is not JSON, UBJSON nor a legacy binary model
// with its header is refused naming its first byte and the formats read.
func TestNotAModel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "empty file"},
		{" \n\t", "empty file"},
		{"\x00\x00\x00?\x03", "byte 0 is 0x00, want '{': not an XGBoost JSON or UBJSON model"},
		{"  [1,2]", "byte 2 is '[' (0x5b), want '{'"},
		{"\xff", "model_file=\"m.model\""},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestUBJSONErrors: a corrupt UBJSON model is refused with the byte offset
// at fault and what was expected there.
func TestUBJSONErrors(t *testing.T) {
	good := readFixture(t, ubjDir, "gbtree_tiny_binary_logistic.ubj")
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	putI64 := func(b []byte, at int, v int64) []byte {
		binary.BigEndian.PutUint64(b[at:], uint64(v))
		return b
	}
	arr := bytes.Index(good, []byte("[$d#L"))
	strVal := bytes.Index(good, []byte("SL"))
	if arr < 0 || strVal < 0 || good[1] != 'L' {
		t.Fatalf("fixture lacks a [$d#L array, an SL string or a first key with an L length")
	}
	// A model whose num_feature is a number, not a string.
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, ubjDir, "gbtree_tiny_binary_logistic.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["learner"].(map[string]any)["learner_model_param"].(map[string]any)["num_feature"] = 3
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	numFeat := jsonToUBJ(t, mj)
	lmp := bytes.Index(numFeat, []byte("learner_model_param"))
	numFeatAt := lmp + bytes.Index(numFeat[lmp:], []byte("num_feature")) + len("num_feature")
	deep := append([]byte("{i\x01a"), bytes.Repeat([]byte("["), 2000)...)

	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"huge count", edit(func(b []byte) []byte { return putI64(b, arr+5, math.MaxInt64) }),
			fmt.Sprintf("byte %d: invalid UBJSON: array count 9223372036854775807 exceeds the %d bytes left", arr+3, len(good)-(arr+13))},
		{"huge key length", edit(func(b []byte) []byte { return putI64(b, 2, 1<<40) }),
			fmt.Sprintf("byte 1: invalid UBJSON: key length 1099511627776 exceeds the %d bytes left", len(good)-10)},
		{"negative key length", edit(func(b []byte) []byte { return putI64(b, 2, -1) }),
			"byte 1: invalid UBJSON: key length is -1, negative"},
		{"unknown marker", edit(func(b []byte) []byte { b[strVal] = 'X'; return b }),
			fmt.Sprintf("byte %d: invalid UBJSON: marker 'X' (0x58) is not a UBJSON value type", strVal)},
		{"string length marker", edit(func(b []byte) []byte { b[strVal+1] = 'd'; return b }),
			fmt.Sprintf("byte %d: invalid UBJSON: string length has marker 'd' (0x64), want an integer marker", strVal+1)},
		{"trailing bytes", append(bytes.Clone(good), "xy"...),
			fmt.Sprintf("byte %d: invalid UBJSON: 2 bytes after the end of the document", len(good))},
		{"truncated", good[:len(good)-1],
			fmt.Sprintf("byte %d: invalid UBJSON: the file ends before '}' or the next element of the object that starts at byte 0 (truncated?)", len(good)-1)},
		{"truncated count", good[:arr+8],
			fmt.Sprintf("byte %d: invalid UBJSON: the file ends 3 bytes into the 8 bytes of array count (truncated?)", arr+5)},
		{"truncated typed array", good[:arr+15],
			fmt.Sprintf("byte %d: invalid UBJSON: array count 3 exceeds the 2 bytes left", arr+3)},
		{"truncated float", []byte("{i\x01ad\x3f\x80"),
			"byte 5: invalid UBJSON: the file ends 2 bytes into the 4 bytes of a float32 (truncated?)"},
		{"deep", deep, "byte 1003: invalid UBJSON: containers nested deeper than 1000"},
		{"typed null array", []byte("{i\x01a[$Z#i\x05}"),
			"byte 5: invalid UBJSON: typed array of 'Z' (0x5a): only numbers, chars and strings are supported"},
		{"typed without count", []byte("{i\x01a[$i\x05}"),
			"byte 7: invalid UBJSON: typed array: 0x05 after the type, want '#' and a count"},
		{"high precision", []byte("{i\x01aHi\x011}"),
			"byte 4: invalid UBJSON: high-precision number (marker 'H'): not supported"},
		{"field type", numFeat,
			fmt.Sprintf("byte %d: invalid UBJSON: field learner.learner_model_param.num_feature: UBJSON number where string is expected", numFeatAt)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp, err := Parse(tc.in)
			if imp != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() = %v, %v; want the error %q", imp, err, tc.want)
			}
		})
	}
}

// TestUBJSONTruncated: every cut of a real model (from its third byte on)
// is refused naming an offset no later than the cut.
func TestUBJSONTruncated(t *testing.T) {
	good := readFixture(t, ubjDir, "gbtree_tiny_binary_logistic.ubj")
	for cut := 2; cut < len(good); cut++ {
		imp, err := Parse(good[:cut])
		if imp != nil || err == nil {
			t.Fatalf("Parse(first %d of %d bytes) = %v, %v; want an error", cut, len(good), imp, err)
		}
		var off int
		if _, serr := fmt.Sscanf(err.Error(), "byte %d: invalid UBJSON: ", &off); serr != nil || off > cut {
			t.Fatalf("Parse(first %d of %d bytes) error = %q, want \"byte N: invalid UBJSON: ...\" with N <= %d", cut, len(good), err, cut)
		}
	}
}

// TestUBJSONToJSONBound: ubjsonToJSON's output is within its documented
// bound (ten times the input plus 16 bytes) on the inputs that expand the
// most: control bytes in typed char arrays, nulls, negative int8s.
func TestUBJSONToJSONBound(t *testing.T) {
	const n = 4096
	for name, in := range map[string][]byte{
		"typed chars": append([]byte("[$C#I\x10\x00"), bytes.Repeat([]byte{1}, n)...),
		"nulls":       append(append([]byte("["), bytes.Repeat([]byte("Z"), n)...), ']'),
		"int8s":       append([]byte("[$i#I\x10\x00"), bytes.Repeat([]byte{0x80}, n)...),
		"bad utf-8":   append([]byte("SI\x10\x00"), bytes.Repeat([]byte{0xff}, n)...),
	} {
		out, err := ubjsonToJSON(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) > 10*len(in)+16 {
			t.Errorf("%s: %d bytes of UBJSON gave %d of JSON, more than 10x+16", name, len(in), len(out))
		}
		if !json.Valid(out) {
			t.Errorf("%s: output is not valid JSON: %.100q", name, out)
		}
	}
}

// FuzzUBJSON holds the UBJSON decoder to encoding/json and bounds its
// allocation: for any input, ubjsonToJSON allocates at most 32 bytes per
// input byte plus 64 KiB and never panics; for an input it accepts, its
// output is at most ten times the input plus 16 bytes, valid JSON that encoding/json reads as the same document (read
// token by token, encoded again as UBJSON and decoded, it gives the same
// JSON byte for byte), and Parse of the input and the JSON path on the
// output agree (both fail, or import the same payload).
func FuzzUBJSON(f *testing.F) {
	f.Add(readFixture(f, ubjDir, "gbtree_tiny_binary_logistic.ubj"))
	f.Add([]byte("{i\x01a[$d#i\x02\x7f\xc0\x00\x00\x3f\x80\x00\x00i\x01bSU\x03\x00\"\\}"))
	f.Add([]byte("{#U\x01U\x01k[N$C#i\x02\x01\xff]"))
	f.Add([]byte("{i\x01x{$S#U\x02i\x01ai\x01\xffi\x01bi\x00}i\x01yDkZTFN}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		js, err := ubjsonToJSON(data)
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > uint64(32*len(data)+64<<10) {
			t.Fatalf("ubjsonToJSON of %d bytes allocated %d bytes", len(data), a)
		}
		imp, perr := Parse(data)
		fixture.CheckImported(t, imp, perr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "byte ") {
				t.Fatalf("ubjsonToJSON error %q does not start with the byte offset", err)
			}
			if isUBJSON(data) && (perr == nil || perr.Error() != err.Error()) {
				t.Fatalf("Parse error = %v, want the decoder's %v", perr, err)
			}
			return
		}
		if len(js) > 10*len(data)+16 {
			t.Fatalf("ubjsonToJSON of %d bytes wrote %d bytes of JSON, more than 10x+16", len(data), len(js))
		}
		if !json.Valid(js) {
			t.Fatalf("ubjsonToJSON(%q) = %q: not valid JSON", data, js)
		}
		again, err := ubjsonToJSON(jsonToUBJ(t, js))
		if err != nil || !bytes.Equal(again, js) {
			t.Fatalf("JSON %q read by encoding/json and encoded again decodes to %q, %v", js, again, err)
		}
		if !isUBJSON(data) {
			return
		}
		jimp, jerr := parseDoc(nonFiniteToNull(js), "JSON", func(int64) string { return "" })
		if (perr == nil) != (jerr == nil) {
			t.Fatalf("Parse(UBJSON) error %v but the JSON path's %v", perr, jerr)
		}
		if perr == nil {
			up, _ := model.EncodePayload(imp.Model)
			jp, _ := model.EncodePayload(jimp.Model)
			if !bytes.Equal(up, jp) {
				t.Fatalf("UBJSON and JSON imports differ in payload")
			}
		}
	})
}

// jsonToUBJ encodes JSON text as UBJSON, reading it token by token with
// encoding/json (keys in order, repeats kept): integers in the smallest
// signed type, other numbers as float64 'D', strings and keys with the
// smallest length type, containers without counts (ended by ']' and '}'),
// and a no-op 'N' after each '['.
func jsonToUBJ(t testing.TB, js []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var out []byte
	putInt := func(v int64) {
		switch {
		case v >= math.MinInt8 && v <= math.MaxInt8:
			out = append(out, 'i', byte(v))
		case v >= math.MinInt16 && v <= math.MaxInt16:
			out = append(out, 'I', byte(v>>8), byte(v))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			out = binary.BigEndian.AppendUint32(append(out, 'l'), uint32(v))
		default:
			out = binary.BigEndian.AppendUint64(append(out, 'L'), uint64(v))
		}
	}
	putStr := func(s string) {
		putInt(int64(len(s)))
		out = append(out, s...)
	}
	// Per open container: is it an object, and is the next token its key.
	type frame struct{ object, key bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("jsonToUBJ: %v in %.200q", err, js)
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object {
			if stack[top].key {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					out = append(out, '}')
					stack = stack[:top]
					if top > 0 && stack[top-1].object {
						stack[top-1].key = true
					}
					continue
				}
				putStr(tok.(string))
				stack[top].key = false
				continue
			}
			stack[top].key = true
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				out = append(out, '{')
				stack = append(stack, frame{object: true, key: true})
			case '[':
				out = append(out, '[', 'N')
				stack = append(stack, frame{})
			case ']':
				out = append(out, ']')
				stack = stack[:top]
				if top > 0 && stack[top-1].object {
					stack[top-1].key = true
				}
			}
		case string:
			out = append(out, 'S')
			putStr(v)
		case json.Number:
			s := v.String()
			if i, err := strconv.ParseInt(s, 10, 64); err == nil && s != "-0" {
				putInt(i)
			} else {
				x, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("jsonToUBJ: number %s: %v", s, err)
				}
				out = binary.BigEndian.AppendUint64(append(out, 'D'), math.Float64bits(x))
			}
		case bool:
			if v {
				out = append(out, 'T')
			} else {
				out = append(out, 'F')
			}
		case nil:
			out = append(out, 'Z')
		}
	}
	return out
}

package xgboost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxUBJSONDepth bounds container nesting in a UBJSON model. XGBoost's
// models nest about ten deep; the bound keeps a crafted file from recursing
// without limit (encoding/json stops at 10,000 for the JSON path).
const maxUBJSONDepth = 1000

// isUBJSON reports whether data is a UBJSON object: '{' followed by a byte
// that can start a UBJSON key (its length's integer marker), a container
// optimization ('$', '#'), a no-op or the end '}'. JSON text cannot have any
// of these but '}' right after '{', and "{}" means the same in both.
func isUBJSON(data []byte) bool {
	if len(data) < 2 || data[0] != '{' {
		return false
	}
	switch data[1] {
	case 'i', 'U', 'I', 'l', 'L', '$', '#', 'N':
		return true
	}
	return false
}

// LegacyBinaryError is returned for a model in XGBoost's legacy binary
// format (what Booster.save_model writes in XGBoost 1.7 when the file name
// ends in neither .json nor .ubj). predictd does not read that
// format; the message says how to convert the file with XGBoost.
type LegacyBinaryError struct {
	// File is the model's path as the user gave it, quoted in the
	// conversion command; "" gives a placeholder name. The importer sets
	// it.
	File string
	// Magic is the file's first four bytes: "binf", or "bs64" for the
	// base64 form.
	Magic string
}

func (e *LegacyBinaryError) Error() string {
	in, out := "m.model", "m.json"
	if e.File != "" && !strings.ContainsAny(e.File, "'\"\\\n\r\x00") {
		in = e.File
		out = strings.TrimSuffix(e.File, filepath.Ext(e.File)) + ".json"
	}
	return fmt.Sprintf("XGBoost legacy binary model (it starts with %q; XGBoost 1.7 writes this format when save_model's file name ends in neither .json nor .ubj): "+
		"predictd reads XGBoost's JSON and UBJSON models; convert it with XGBoost: "+
		`python3 -c 'import xgboost; xgboost.Booster(model_file="%s").save_model("%s")'`, e.Magic, in, out)
}

// legacyMagic returns the legacy binary format's header ("binf", or
// "bs64" for its base64 form) when data starts with one, else "".
func legacyMagic(data []byte) string {
	if len(data) >= 4 {
		switch m := string(data[:4]); m {
		case "binf", "bs64":
			return m
		}
	}
	return ""
}

// notJSONHint explains a file that is neither JSON nor UBJSON nor a
// recognized legacy binary model: the first non-blank byte is not '{'.
func notJSONHint(data []byte) error {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i == len(data) {
		return errors.New("empty file: not an XGBoost model")
	}
	if data[i] == '{' {
		return nil
	}
	return fmt.Errorf("byte %d is %s, want '{': not an XGBoost JSON or UBJSON model "+
		"(Booster.save_model to a name ending in .json or .ubj); a legacy binary model from an old XGBoost converts with "+
		`python3 -c 'import xgboost; xgboost.Booster(model_file="m.model").save_model("m.json")'`, i, quoteByte(data[i]))
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q (0x%02x)", rune(c), c)
	}
	return fmt.Sprintf("0x%02x", c)
}

// ubjsonToJSON decodes a UBJSON document (ubjson.org, draft 12; XGBoost
// writes it big-endian with int64 lengths and float32 numbers) into JSON
// text with the same keys in the same order: integers in decimal, floats in
// the shortest form that reads back as the same float64 (so a float32
// reads back exactly), NaN and infinities as null (what the JSON path reads
// XGBoost's bare NaN and Infinity as), strings with '"', '\' and control
// bytes escaped and other bytes as they are.
//
// It refuses, naming the byte offset: an unknown marker, a negative length
// or count, a count or length larger than the bytes left (before it
// allocates anything for it), nesting deeper than maxUBJSONDepth, the
// high-precision 'H' type, typed containers of anything but numbers,
// characters and strings, and bytes after the document. The output is at
// most ten times the input's size, plus 16 bytes.
func ubjsonToJSON(data []byte) ([]byte, error) {
	d := ubjDecoder{in: data, out: make([]byte, 0, 2*len(data)+16), locate: -1}
	if err := d.document(); err != nil {
		return nil, err
	}
	return d.out, nil
}

// ubjOffsetAt returns the offset in the UBJSON data of the value whose JSON
// text (as ubjsonToJSON writes it) is the last to start before jsonOff: the
// value at fault when encoding/json reports an error at jsonOff. It decodes
// again and is for error paths only.
func ubjOffsetAt(data []byte, jsonOff int64) int {
	d := ubjDecoder{in: data, locate: jsonOff}
	_ = d.document()
	return d.found
}

type ubjDecoder struct {
	in    []byte
	pos   int
	out   []byte
	depth int
	// locate >= 0 makes mark record in found the input offset of every
	// value whose output starts before locate.
	locate int64
	found  int
}

// ubjError is a decoding error at a byte offset of the input.
func (d *ubjDecoder) errorf(at int, format string, args ...any) error {
	return fmt.Errorf("byte %d: invalid UBJSON: %s", at, fmt.Sprintf(format, args...))
}

func (d *ubjDecoder) eof(what string) error {
	return d.errorf(d.pos, "the file ends before %s (truncated?)", what)
}

func (d *ubjDecoder) mark(at int) {
	if d.locate >= 0 && int64(len(d.out)) < d.locate {
		d.found = at
	}
}

func (d *ubjDecoder) document() error {
	if err := d.value(); err != nil {
		return err
	}
	if d.pos != len(d.in) {
		return d.errorf(d.pos, "%d bytes after the end of the document", len(d.in)-d.pos)
	}
	return nil
}

// value decodes one marked value.
func (d *ubjDecoder) value() error {
	if d.pos >= len(d.in) {
		return d.eof("a value marker")
	}
	at := d.pos
	m := d.in[d.pos]
	d.pos++
	return d.payload(m, at)
}

// fixedSize is the payload size of a fixed-size type marker, or 0.
func fixedSize(m byte) int {
	switch m {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return 0
}

// payload decodes the value of type m whose marker (if it has one) was at
// offset at and whose payload starts at d.pos.
func (d *ubjDecoder) payload(m byte, at int) error {
	d.mark(at)
	if n := fixedSize(m); n > 0 {
		if len(d.in)-d.pos < n {
			return d.errorf(d.pos, "the file ends %d bytes into the %d bytes of a %s (truncated?)", len(d.in)-d.pos, n, markerName(m))
		}
		p := d.in[d.pos : d.pos+n]
		d.pos += n
		switch m {
		case 'i':
			d.out = strconv.AppendInt(d.out, int64(int8(p[0])), 10)
		case 'U':
			d.out = strconv.AppendInt(d.out, int64(p[0]), 10)
		case 'I':
			d.out = strconv.AppendInt(d.out, int64(int16(binary.BigEndian.Uint16(p))), 10)
		case 'l':
			d.out = strconv.AppendInt(d.out, int64(int32(binary.BigEndian.Uint32(p))), 10)
		case 'L':
			d.out = strconv.AppendInt(d.out, int64(binary.BigEndian.Uint64(p)), 10)
		case 'd':
			d.appendFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(p))))
		case 'D':
			d.appendFloat(math.Float64frombits(binary.BigEndian.Uint64(p)))
		case 'C':
			d.appendString(p)
		}
		return nil
	}
	switch m {
	case 'Z':
		d.out = append(d.out, "null"...)
	case 'T':
		d.out = append(d.out, "true"...)
	case 'F':
		d.out = append(d.out, "false"...)
	case 'S':
		s, err := d.str("string")
		if err != nil {
			return err
		}
		d.appendString(s)
	case '[':
		return d.container(at, false)
	case '{':
		return d.container(at, true)
	case 'H':
		return d.errorf(at, "high-precision number (marker 'H'): not supported (XGBoost does not write them)")
	case 'N':
		return d.errorf(at, "no-op marker 'N' where a value is expected")
	default:
		return d.errorf(at, "marker %s is not a UBJSON value type", quoteByte(m))
	}
	return nil
}

func markerName(m byte) string {
	switch m {
	case 'i':
		return "int8"
	case 'U':
		return "uint8"
	case 'I':
		return "int16"
	case 'l':
		return "int32"
	case 'L':
		return "int64"
	case 'd':
		return "float32"
	case 'D':
		return "float64"
	case 'C':
		return "char"
	}
	return "value"
}

// length reads a length or count (unit) of what: an integer marker and its
// value, which must not be negative. The strings are joined only on error,
// so that a model's thousands of keys cost no allocation.
func (d *ubjDecoder) length(what, unit string) (int64, error) {
	if d.pos >= len(d.in) {
		return 0, d.eof("the integer marker of " + what + " " + unit)
	}
	at := d.pos
	m := d.in[d.pos]
	n := fixedSize(m)
	if n == 0 || m == 'd' || m == 'D' || m == 'C' {
		return 0, d.errorf(at, "%s %s has marker %s, want an integer marker (i, U, I, l or L)", what, unit, quoteByte(m))
	}
	d.pos++
	if len(d.in)-d.pos < n {
		return 0, d.errorf(d.pos, "the file ends %d bytes into the %d bytes of %s %s (truncated?)", len(d.in)-d.pos, n, what, unit)
	}
	p := d.in[d.pos : d.pos+n]
	d.pos += n
	var v int64
	switch m {
	case 'i':
		v = int64(int8(p[0]))
	case 'U':
		v = int64(p[0])
	case 'I':
		v = int64(int16(binary.BigEndian.Uint16(p)))
	case 'l':
		v = int64(int32(binary.BigEndian.Uint32(p)))
	case 'L':
		v = int64(binary.BigEndian.Uint64(p))
	}
	if v < 0 {
		return 0, d.errorf(at, "%s %s is %d, negative", what, unit, v)
	}
	return v, nil
}

// str reads a length and that many bytes.
func (d *ubjDecoder) str(what string) ([]byte, error) {
	at := d.pos
	n, err := d.length(what, "length")
	if err != nil {
		return nil, err
	}
	if left := len(d.in) - d.pos; n > int64(left) {
		return nil, d.errorf(at, "%s length %d exceeds the %d bytes left", what, n, left)
	}
	s := d.in[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s, nil
}

// container decodes an array or object after its '[' or '{' at offset at:
// either counted ('#', optionally typed with '$' before it) or ended by ']'
// or '}'.
func (d *ubjDecoder) container(at int, object bool) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxUBJSONDepth {
		return d.errorf(at, "containers nested deeper than %d", maxUBJSONDepth)
	}
	kind, open, closeB, end := "array", byte('['), byte(']'), byte(']')
	if object {
		kind, open, closeB, end = "object", '{', '}', '}'
	}
	d.out = append(d.out, open)
	var typ byte
	if d.pos < len(d.in) && d.in[d.pos] == '$' {
		tat := d.pos
		d.pos++
		if d.pos >= len(d.in) {
			return d.eof("the element type of a typed " + kind)
		}
		typ = d.in[d.pos]
		d.pos++
		if fixedSize(typ) == 0 && typ != 'S' {
			return d.errorf(tat, "typed %s of %s: only numbers, chars and strings are supported", kind, quoteByte(typ))
		}
		if d.pos >= len(d.in) {
			return d.eof("'#' after the type of a typed " + kind)
		}
		if d.in[d.pos] != '#' {
			return d.errorf(d.pos, "typed %s: %s after the type, want '#' and a count", kind, quoteByte(d.in[d.pos]))
		}
	}
	if d.pos < len(d.in) && d.in[d.pos] == '#' {
		cat := d.pos
		d.pos++
		n, err := d.length(kind, "count")
		if err != nil {
			return err
		}
		// Every element takes at least one byte (its marker, or a typed
		// element's payload); an object entry at least two more (the
		// key's length). Refuse a count the bytes left cannot hold before
		// writing anything for it.
		min := int64(1)
		if typ != 0 && typ != 'S' {
			min = int64(fixedSize(typ))
		}
		if object {
			min += 2
		}
		if left := int64(len(d.in) - d.pos); n > left/min {
			return d.errorf(cat, "%s count %d exceeds the %d bytes left", kind, n, left)
		}
		for i := int64(0); i < n; i++ {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			if err := d.element(object, typ); err != nil {
				return err
			}
		}
		d.out = append(d.out, closeB)
		return nil
	}
	for i := 0; ; {
		if d.pos >= len(d.in) {
			return d.eof(fmt.Sprintf("%q or the next element of the %s that starts at byte %d", end, kind, at))
		}
		switch d.in[d.pos] {
		case end:
			d.pos++
			d.out = append(d.out, closeB)
			return nil
		case 'N':
			d.pos++
			continue
		}
		if i > 0 {
			d.out = append(d.out, ',')
		}
		if err := d.element(object, 0); err != nil {
			return err
		}
		i++
	}
}

// element decodes an array element or an object entry (key and value),
// of type typ when the container is typed.
func (d *ubjDecoder) element(object bool, typ byte) error {
	if object {
		k, err := d.str("key")
		if err != nil {
			return err
		}
		d.appendString(k)
		d.out = append(d.out, ':')
	}
	if typ != 0 {
		return d.payload(typ, d.pos)
	}
	return d.value()
}

func (d *ubjDecoder) appendFloat(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.out = append(d.out, "null"...)
		return
	}
	d.out = strconv.AppendFloat(d.out, v, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Each byte that is not part of
// valid UTF-8 becomes U+FFFD, which is what encoding/json reads it as in a
// JSON model.
func (d *ubjDecoder) appendString(s []byte) {
	d.out = append(d.out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			d.out = append(d.out, '\\', c)
		case c < 0x20:
			d.out = append(d.out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		case c < utf8.RuneSelf:
			d.out = append(d.out, c)
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				d.out = append(d.out, "\ufffd"...)
			} else {
				d.out = append(d.out, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	d.out = append(d.out, '"')
}

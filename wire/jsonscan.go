package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The request decoders read JSON with scanner, a cursor over the body that
// never copies it: strings come back as subslices unless they hold escapes,
// numbers are converted in place. BenchmarkDecodePredict, 32 instances of 20
// features, min of 8 runs on the 2-vCPU EPYC dev box: 37 µs and no
// allocations for the object form, 23 µs for the array form; encoding/json
// decoding the same bodies into []map[string]*float64 and [][]*float64 (and
// checking nothing) takes 411 µs and 2189 allocations, 184 µs and 845.

// maxDepth bounds how deeply arrays and objects may nest, so that junk
// cannot exhaust the stack of the recursive skip.
const maxDepth = 64

// scanner reads one JSON text. Its methods leave pos at the first byte after
// what they read; white space before a token is skipped by the reader of the
// token.
type scanner struct {
	buf []byte
	pos int
	// numStart is where the last number read began; buf[numStart:pos]
	// is its text until the next read.
	numStart int
}

func (s *scanner) reset(b []byte) { *s = scanner{buf: b} }

// syntaxPrefix begins the message of every syntax error, and of no other
// error: it is how isSyntaxError, and a client, tell a body that is not
// JSON from one the decoder refuses for what it says. The byte is the
// 0-based offset of the first byte that cannot continue a JSON text (the
// body's length when it ends too soon): encoding/json's SyntaxError.Offset
// minus one, or equal to it at the end of input.
const syntaxPrefix = "malformed JSON at byte "

// isSyntaxError reports whether err says the body is not valid JSON.
func isSyntaxError(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.HasPrefix(e.Msg, syntaxPrefix)
}

// malformed reports a syntax error at the current position. Its message,
// like every syntax error's, begins with syntaxPrefix.
func (s *scanner) malformed(what string) error {
	return invalidf("malformed JSON at byte %d: %s, found %s", s.pos, what, s.found())
}

// found names the byte at the current position for an error message.
func (s *scanner) found() string {
	if s.pos < len(s.buf) {
		return quoteByte(s.buf[s.pos])
	}
	return "end of input"
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// tooDeep reports nesting beyond maxDepth at the current position. It is
// a limit, not a syntax error: such a text may be valid JSON.
func (s *scanner) tooDeep() error {
	return invalidf("arrays and objects nested deeper than %d levels (at byte %d)", maxDepth, s.pos)
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	for s.pos < len(s.buf) {
		switch c := s.buf[s.pos]; c {
		case ' ', '\n', '\r', '\t':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// end checks that only white space follows the top-level value.
func (s *scanner) end() error {
	if s.peek(); s.pos < len(s.buf) {
		return s.malformed("expected the end of input after the top-level value")
	}
	return nil
}

// typeName names the JSON type of a value starting with c, or returns ""
// if no value starts with c.
func typeName(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return ""
}

// wrongType reports that the value at the current position is not what the
// caller wanted. If no value starts there the error is a syntax error;
// otherwise it is want, then ", got <type>", with prefix before it.
func (s *scanner) wrongType(prefix, want string) error {
	c := s.peek()
	name := typeName(c)
	if name == "" {
		return s.badValue()
	}
	return invalidf("%s%s, got %s", prefix, want, name)
}

// notJSON lists the words clients send for numbers JSON lacks, with the
// offset of each one's first byte that cannot continue a JSON value ('-'
// may begin a number, "n" null).
var notJSON = [...]struct {
	word string
	bad  int
}{{"NaN", 0}, {"nan", 1}, {"Infinity", 0}, {"-Infinity", 1}, {"inf", 0}, {"-inf", 1}}

// badValue reports that no JSON value starts at the current position.
func (s *scanner) badValue() error {
	if err := s.notJSONWord(); err != nil {
		return err
	}
	return s.malformed("expected a value")
}

// notJSONWord reports a NaN or infinity at the current position, at its
// first byte that is not JSON; nil if there is none.
func (s *scanner) notJSONWord() error {
	rest := s.buf[s.pos:]
	for _, w := range notJSON {
		if len(rest) >= len(w.word) && string(rest[:len(w.word)]) == w.word {
			s.pos += w.bad
			return invalidf("malformed JSON at byte %d: %s is not a JSON value (JSON numbers are finite; null is how to send a missing value)", s.pos, w.word)
		}
	}
	return nil
}

// openObject consumes the '{' at pos and reports whether the object has a
// member to read (false: it was empty and its '}' is consumed too).
func (s *scanner) openObject() (bool, error) {
	s.pos++
	c := s.peek()
	if c == '}' {
		s.pos++
		return false, nil
	}
	if c != '"' {
		return false, s.malformed("expected '\"' to begin an object key")
	}
	return true, nil
}

// nextMember consumes the ',' or '}' after a member's value and reports
// whether another member follows.
func (s *scanner) nextMember() (bool, error) {
	switch s.peek() {
	case ',':
		s.pos++
		if s.peek() != '"' {
			return false, s.malformed("expected '\"' to begin an object key")
		}
		return true, nil
	case '}':
		s.pos++
		return false, nil
	}
	return false, s.malformed("expected ',' or '}' after object value")
}

// openArray consumes the '[' at pos and reports whether the array has an
// element to read (false: it was empty and its ']' is consumed too).
func (s *scanner) openArray() (bool, error) {
	s.pos++
	if s.peek() == ']' {
		s.pos++
		return false, nil
	}
	return true, nil
}

// nextElem consumes the ',' or ']' after an array element and reports
// whether another element follows.
func (s *scanner) nextElem() (bool, error) {
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case ']':
		s.pos++
		return false, nil
	}
	return false, s.malformed("expected ',' or ']' after array element")
}

// key reads an object key (openObject or nextMember has checked its '"')
// and the ':' after it. It returns the key's text: a subslice of the input
// when no unescaping is needed, else unescaped into *buf.
func (s *scanner) key(buf *[]byte) ([]byte, error) {
	k, err := s.str(buf)
	if err != nil {
		return nil, err
	}
	if s.peek() != ':' {
		return nil, s.malformed("expected ':' after object key")
	}
	s.pos++
	return k, nil
}

// str reads the string at pos and returns its text: a subslice of the
// input when it has no escapes and is valid UTF-8, else unescaped into *buf
// (invalid UTF-8 becoming U+FFFD, as encoding/json does).
func (s *scanner) str(buf *[]byte) ([]byte, error) {
	raw, flags, err := s.rawStr()
	if err != nil || flags == 0 {
		return raw, err
	}
	*buf = unescape((*buf)[:0], raw)
	return *buf, nil
}

// Flags rawStr returns about a string's raw text.
const (
	strEscaped     = 1 << iota // holds backslash escapes
	strInvalidUTF8             // holds bytes that are not UTF-8
)

// plainByte[c]: c stands for itself in a JSON string and needs no check
// (printable ASCII other than '"' and '\\').
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// rawStr reads the string at pos (pos is at its opening quote, which may be
// preceded by white space) and returns the bytes between its quotes with
// flags saying what unescaping they need. Escapes are validated.
func (s *scanner) rawStr() ([]byte, int, error) {
	if s.peek() != '"' {
		return nil, 0, s.malformed("expected '\"' to begin a string")
	}
	b := s.buf
	start := s.pos + 1
	flags := 0
	nonASCII := false
	for i := start; i < len(b); i++ {
		// Keys and ids are mostly plain ASCII: skip it a byte a step
		// without the switch. BenchmarkDecodePredict form=objects
		// (keys like "feature_07"): 36 µs with this loop, 43 µs without.
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			s.pos = i + 1
			raw := b[start:i]
			if nonASCII && !utf8.Valid(raw) {
				flags |= strInvalidUTF8
			}
			return raw, flags, nil
		case c == '\\':
			flags |= strEscaped
			i++
			if i >= len(b) {
				s.pos = i
				return nil, 0, s.malformed("unterminated string")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for j := i + 1; j <= i+4; j++ {
					if j >= len(b) || unhex(b[j]) < 0 {
						s.pos = min(j, len(b))
						return nil, 0, s.malformed("expected 4 hex digits after \\u")
					}
				}
				i += 4
			default:
				s.pos = i
				return nil, 0, s.malformed("invalid escape in string")
			}
		case c < 0x20:
			s.pos = i
			return nil, 0, s.malformed("control character in string (it must be escaped)")
		default: // c >= utf8.RuneSelf
			nonASCII = true
		}
	}
	s.pos = len(b)
	return nil, 0, s.malformed("unterminated string")
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// hex4 decodes the 4 hex digits at b[0:4], which rawStr has validated.
func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}

// unescape appends to dst the text of raw, a string's validated contents.
// Lone surrogates and invalid UTF-8 become U+FFFD, as in encoding/json.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
			continue
		}
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16IsHigh(r) && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if lo := hex4(raw[i+2:]); utf16IsLow(lo) {
					r = (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000
					i += 6
				}
			}
			if 0xd800 <= r && r < 0xe000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func utf16IsHigh(r rune) bool { return 0xd800 <= r && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return 0xdc00 <= r && r < 0xe000 }

// literal consumes the literal word at pos (true, false or null), whose
// first byte the caller has seen. A mismatch is reported at the first byte
// that differs, as encoding/json reports it.
func (s *scanner) literal(word string) error {
	if len(s.buf)-s.pos >= len(word) && string(s.buf[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	if err := s.notJSONWord(); err != nil { // "nan"
		return err
	}
	for i := 1; i < len(word); i++ {
		if s.pos+i >= len(s.buf) || s.buf[s.pos+i] != word[i] {
			s.pos += i
			break
		}
	}
	return invalidf("malformed JSON at byte %d: expected the literal %s, found %s", s.pos, word, s.found())
}

// skip reads over one value of any type, checking its syntax. depth is the
// number of arrays and objects enclosing it.
func (s *scanner) skip(depth int) error {
	switch c := s.peek(); c {
	case '"':
		_, _, err := s.rawStr()
		return err
	case '{':
		if depth >= maxDepth {
			return s.tooDeep()
		}
		more, err := s.openObject()
		for more && err == nil {
			if _, _, err = s.rawStr(); err != nil {
				return err
			}
			if s.peek() != ':' {
				return s.malformed("expected ':' after object key")
			}
			s.pos++
			if err = s.skip(depth + 1); err != nil {
				return err
			}
			more, err = s.nextMember()
		}
		return err
	case '[':
		if depth >= maxDepth {
			return s.tooDeep()
		}
		more, err := s.openArray()
		for more && err == nil {
			if err = s.skip(depth + 1); err != nil {
				return err
			}
			more, err = s.nextElem()
		}
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, err := s.number()
		return err
	}
	return s.badValue()
}

// syntaxError returns the first syntax error in body, or nil if body is
// one valid JSON text. Unlike skip it has no depth limit: it keeps a bit
// per open array or object rather than a stack frame, so it agrees with
// encoding/json's json.Valid (up to that package's own limit of 10,000
// levels).
func syntaxError(body []byte) error {
	var s scanner
	s.reset(body)
	var inObject []uint64 // bit d: the container at depth d is an object
	depth := 0
	push := func(obj bool) {
		w, bit := depth/64, uint64(1)<<(depth%64)
		if w == len(inObject) {
			inObject = append(inObject, 0)
		}
		if obj {
			inObject[w] |= bit
		} else {
			inObject[w] &^= bit
		}
		depth++
	}
	// key reads an object key and its ':' (nextMember or openObject
	// has checked the '"').
	key := func() error {
		if _, _, err := s.rawStr(); err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.malformed("expected ':' after object key")
		}
		s.pos++
		return nil
	}
	for {
		// A value.
		var err error
		switch c := s.peek(); c {
		case '{':
			var more bool
			if more, err = s.openObject(); err == nil && more {
				push(true)
				if err = key(); err != nil {
					return err
				}
				continue
			}
		case '[':
			var more bool
			if more, err = s.openArray(); err == nil && more {
				push(false)
				continue
			}
		case '"':
			_, _, err = s.rawStr()
		case 't':
			err = s.literal("true")
		case 'f':
			err = s.literal("false")
		case 'n':
			err = s.literal("null")
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			_, err = s.number()
		default:
			err = s.badValue()
		}
		if err != nil {
			return err
		}
		// After a value: close the containers it ends.
		for {
			if depth == 0 {
				return s.end()
			}
			d := depth - 1
			var more bool
			if inObject[d/64]&(1<<(d%64)) != 0 {
				if more, err = s.nextMember(); err == nil && more {
					err = key()
				}
			} else {
				more, err = s.nextElem()
			}
			if err != nil {
				return err
			}
			if more {
				break
			}
			depth--
		}
	}
}

// syntaxFirst returns err, a decoder's refusal of body, unless body is not
// valid JSON: then the first syntax error in it. A decoder stops at the
// first thing it cannot take, often before the end of the body, and a
// client whose body is broken should hear that before any complaint about
// what it says. Only failures pay for the second reading.
func syntaxFirst(body []byte, err error) error {
	if err == nil || isSyntaxError(err) {
		return err
	}
	if serr := syntaxError(body); serr != nil {
		return serr
	}
	return err
}

// Kinds of scalar.
const (
	kindNumber = iota
	kindNull
	kindBool
	kindOther // a string, array or object, left unread
)

// scalar reads a number, boolean (true is 1) or null at pos. It leaves any
// other value unread and returns kindOther; a byte that begins no value is
// a syntax error.
func (s *scanner) scalar() (float64, int, error) {
	switch s.peek() {
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		v, err := s.number()
		return v, kindNumber, err
	case 'n':
		return 0, kindNull, s.literal("null")
	case 't':
		return 1, kindBool, s.literal("true")
	case 'f':
		return 0, kindBool, s.literal("false")
	case '"', '[', '{':
		return 0, kindOther, nil
	}
	return 0, kindOther, s.badValue()
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number reads the number at pos (which begins with '-' or a digit) in
// JSON's grammar, which is stricter than ParseFloat's: no '+', hex,
// underscores, leading zeros, "Inf" or "NaN". A number too large for a
// float64 reads as ±Inf, for the caller to reject; the error is for
// syntax only.
//
// Numbers of at most 19 digits whose digits form an integer below 2^53 and
// whose decimal exponent is within ±22 are converted here exactly (Clinger's
// fast path: both operands are exact, and IEEE division and multiplication
// round correctly); the rest go to strconv.ParseFloat, which is correctly
// rounded too. BenchmarkDecodePredict, 32×20 values, form=arrays, min of 8
// alternating runs on the 2-vCPU EPYC dev box: 26 µs with the fast path,
// 58 µs with ParseFloat alone (values like 123.456789); 63 µs against
// 100 µs for values=long (float32s widened, about half of them 17 digits,
// past the fast path).
func (s *scanner) number() (float64, error) {
	b := s.buf
	i := s.pos
	s.numStart = i
	neg := false
	if b[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	nd, frac := 0, 0 // digits in mant; how many of them follow the point
	exact := true    // mant holds every digit
	if i >= len(b) || !isDigit(b[i]) {
		s.pos = s.numStart
		if err := s.notJSONWord(); err != nil { // -Infinity
			return 0, err
		}
		s.pos = i
		return 0, s.malformed("expected a digit after '-' in number")
	}
	if b[i] == '0' {
		i++
	} else {
		for ; i < len(b) && isDigit(b[i]); i++ {
			if nd < 19 {
				mant = mant*10 + uint64(b[i]-'0')
				nd++
			} else {
				exact = false
			}
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			s.pos = i
			return 0, s.malformed("expected a digit after '.' in number")
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
			if nd < 19 {
				mant = mant*10 + uint64(b[i]-'0')
				nd++
				frac++
			} else {
				exact = false
			}
		}
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.pos = i
			return 0, s.malformed("expected a digit in number's exponent")
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
			if exp < 1e6 { // far past any float64; keeps exp from overflowing
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	s.pos = i
	if exact && mant < 1<<53 {
		f := float64(mant)
		e := exp - frac
		ok := true
		switch {
		case e == 0:
		case 0 < e && e < len(pow10):
			f *= pow10[e]
		case -len(pow10) < e && e < 0:
			f /= pow10[-e]
		default:
			ok = false
		}
		if ok {
			if neg {
				f = -f
			}
			return f, nil
		}
	}
	// The text is valid JSON, so ParseFloat fails only with ErrRange and
	// then returns ±Inf (or 0 on underflow), which is what we want. It
	// does not retain its argument (errors hold a copy).
	f, _ := strconv.ParseFloat(unsafe.String(&b[s.numStart], i-s.numStart), 64)
	return f, nil
}

// float32 returns the last number read, v as number returned it, rounded
// to float32 as its text rounds: float32(v) but for the rare v halfway
// between two float32s, where rounding twice can go the wrong way
// ("1.00000005960464477539062500000000001" reads as 1+2^-24, which rounds
// to even, 1, while the text is above the tie and rounds up). Only a tie
// reads the text again, so this costs a comparison per value.
func (s *scanner) float32(v float64) float32 {
	v32 := float32(v)
	switch {
	case float64(v32) == v:
		return v32
	case math.IsInf(float64(v32), 0):
		// The tie past the largest float32 rounds to infinity.
		if math.Abs(v) != 0x1.ffffffp127 {
			return v32
		}
	default:
		toward := float32(math.Inf(1))
		if float64(v32) > v {
			toward = float32(math.Inf(-1))
		}
		// Both differences are exact (Sterbenz) near a tie.
		if next := math.Nextafter32(v32, toward); math.Abs(v-float64(v32)) != math.Abs(float64(next)-v) {
			return v32
		}
	}
	f, _ := strconv.ParseFloat(unsafe.String(&s.buf[s.numStart], s.pos-s.numStart), 32)
	return float32(f)
}

// numText is the text of the last number read, for error messages.
func (s *scanner) numText() string { return string(s.buf[s.numStart:s.pos]) }

// isInt reports whether v is a finite integer value.
func isInt(v float64) bool { return v == math.Trunc(v) && !math.IsInf(v, 0) }

package wire

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/predictd/predictd/featcache"
)

// For a model that reads online features, an instance may carry entity
// keys (named by their entities' join keys) in place of the features its
// schema's join plan fetches by them. The decoders read a key's value here
// into its canonical text, and record per instance which features were
// sent (Request.Given); the join (featcache.Join) reads the keys through
// Request.EntityKey. AppendFeatures reports what the join served.

// entityKey reads the value of entity key k at the scanner: a string or
// an integer, canonical for its entity's key type, appended to r.ents.
// It records its place in r.entOff/entLen for instance i.
func (r *Request) entityKey(p *featcache.JoinPlan, i, k int) error {
	sc := &r.sc
	e := p.Key(k)
	slot := i*p.NumKeys() + k
	if r.entOff[slot] >= 0 {
		return invalidf("instance %d: entity key %q appears twice", i, e.JoinKey)
	}
	var text []byte
	number := false
	switch c := sc.peek(); {
	case c == '"':
		var err error
		if text, err = sc.str(&r.key); err != nil {
			return err
		}
	case c == '-' || isDigit(c):
		if _, err := sc.number(); err != nil {
			return err
		}
		text, number = sc.buf[sc.numStart:sc.pos], true
	default:
		return sc.wrongType(fmt.Sprintf("instance %d: entity key %q: ", i, e.JoinKey), "expected a string or an integer")
	}
	return r.putEntityKey(p, i, k, text, number)
}

// putEntityKey records text, the value of entity key k for instance i
// (number: it was sent as a number), in its canonical form for its
// entity's key type, appended to r.ents.
func (r *Request) putEntityKey(p *featcache.JoinPlan, i, k int, text []byte, number bool) error {
	e := p.Key(k)
	slot := i*p.NumKeys() + k
	off := len(r.ents)
	if e.KeyType == featcache.KeyInt {
		n, ok := parseInt64(text)
		if !ok && number {
			// A JSON number with a fraction or an exponent whose value
			// is a whole number (42.0, 4.2e1), as JavaScript and
			// float columns write integers: read exactly, from its text.
			n, ok = integralNumber(text)
		}
		if !ok {
			return invalidf("instance %d: entity key %q: %s is not an integer (entity %s has int keys)", i, e.JoinKey, strconv.Quote(string(text)), e.Name)
		}
		r.ents = strconv.AppendInt(r.ents, n, 10)
	} else {
		if len(text) == 0 {
			return invalidf("instance %d: entity key %q is empty", i, e.JoinKey)
		}
		if strings.IndexByte(unsafe.String(&text[0], len(text)), 0) >= 0 {
			return invalidf("instance %d: entity key %q contains a NUL byte", i, e.JoinKey)
		}
		r.ents = append(r.ents, text...)
	}
	r.entOff[slot], r.entLen[slot] = int32(off), int32(len(r.ents)-off)
	return nil
}

// parseInt64 parses an optionally signed decimal integer, as
// strconv.ParseInt does, without allocating.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) || n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

// integralNumber reads the text of a JSON number (RFC 8259 grammar, as
// the scanner has checked it) whose value is a whole number in the int64
// range, such as 42.0, -7.000, 4.2e1 or 1e3, exactly: no float64 rounding,
// so 9007199254740993.0 is 9007199254740993. ok is false for a fraction
// (42.5, 1e-1) or a value outside int64. It does not allocate.
func integralNumber(b []byte) (n int64, ok bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	// The digits of the mantissa, the point left out, and the exponent
	// that scales them: value = digits * 10^exp.
	var digits []byte
	intEnd := len(b)
	for k, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			intEnd = k
			break
		}
	}
	digits = b[:intEnd]
	rest := b[intEnd:]
	exp := 0
	var frac []byte
	if len(rest) > 0 && rest[0] == '.' {
		k := 1
		for k < len(rest) && isDigit(rest[k]) {
			k++
		}
		frac, rest = rest[1:k], rest[k:]
	}
	if len(rest) > 0 && (rest[0] == 'e' || rest[0] == 'E') {
		e := rest[1:]
		eneg := false
		if len(e) > 0 && (e[0] == '+' || e[0] == '-') {
			eneg, e = e[0] == '-', e[1:]
		}
		if len(e) == 0 {
			return 0, false
		}
		for _, c := range e {
			if !isDigit(c) {
				return 0, false
			}
			if exp > 1000 {
				// Past any int64, or a fraction past any digit the
				// mantissa can hold; decided below by the digits.
				break
			}
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	// The fraction's trailing zeros say nothing; what is left of it
	// moves into the digits at an exponent of -len(frac).
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	var u uint64
	const limit = 1 << 63
	nz := false // a non-zero digit seen
	push := func(c byte) bool {
		d := uint64(c - '0')
		if u > (limit-d)/10 {
			return false
		}
		u = u*10 + d
		nz = nz || d != 0
		return true
	}
	// Digits that a negative exponent cuts off must be zeros.
	all := len(digits) + len(frac)
	keep := all + exp - len(frac) // how many leading digits are whole
	if exp-len(frac) >= 0 {
		keep = all
	}
	for k := range all {
		var c byte
		if k < len(digits) {
			c = digits[k]
		} else {
			c = frac[k-len(digits)]
		}
		if k >= keep {
			if c != '0' {
				return 0, false
			}
			continue
		}
		if !push(c) {
			return 0, false
		}
	}
	// A positive exponent left over appends zeros.
	for z := exp - len(frac); z > 0 && nz; z-- {
		if !push('0') {
			return 0, false
		}
	}
	switch {
	case neg && u <= limit:
		return -int64(u), true
	case !neg && u < limit:
		return int64(u), true
	}
	return 0, false
}

// inlineJoin records n instances that sent every feature and no entity
// key (the array and column forms).
func (r *Request) inlineJoin(p *featcache.JoinPlan, nf, n int) {
	for range n {
		r.startJoinInstance(p)
		for range nf {
			r.Given = append(r.Given, true)
		}
	}
}

// startJoinInstance r's per-instance join scratch for one more instance.
func (r *Request) startJoinInstance(p *featcache.JoinPlan) {
	for range p.NumKeys() {
		r.entOff = append(r.entOff, -1)
		r.entLen = append(r.entLen, 0)
	}
}

// checkJoinInstance is called when instance i lacks some features (seen
// false): each must come from a view whose entity key the instance
// carries. It records which features the instance sent.
func (r *Request) checkJoinInstance(s *Schema, i int, seen []bool) error {
	p := s.join
	for f, ok := range seen {
		if ok {
			continue
		}
		k, v := p.Source(f)
		if k < 0 {
			return invalidf("instance %d: missing feature %q", i, s.names[f])
		}
		if r.entOff[i*p.NumKeys()+k] < 0 {
			return invalidf("instance %d: missing feature %q: send it, or entity key %q to fetch it from feature view %s", i, s.names[f], p.Key(k).JoinKey, v.Name)
		}
		r.Fetch = true
	}
	return nil
}

// EntityKey returns instance i's value of the join plan's entity key k, in
// canonical form, or "" when the instance does not carry it: the
// featcache.EntityKeys of a request decoded with a join schema
// (NewJoinSchema), 0 <= i < N and 0 <= k < NumKeys. The string aliases r's
// buffers: it is valid until r is reused, and the cache keeps no reference
// to it.
func (r *Request) EntityKey(i, k int) string {
	slot := i*r.nkeys + k
	off := r.entOff[slot]
	if off < 0 {
		return ""
	}
	return unsafe.String(&r.ents[off], int(r.entLen[slot]))
}

// AppendFeatures appends `,"features":[...]`, the "features" member of a
// predict response that asked for them ("return_features"), to dst; the
// caller writes it before the response's closing brace. Per instance of
// r, an object of each feature the model may read from a view, with the
// value used (from r.Rows), its status (present, default, expired,
// unavailable, overridden) and, for a row the store has, its age in
// seconds: what j, the request's join, read. It allocates only to grow dst.
func AppendFeatures(dst []byte, s *Schema, r *Request, j *featcache.Join) []byte {
	dst = append(dst, `,"features":`...)
	return appendFeatureList(dst, s, r, j)
}

// appendFeatureList appends AppendFeatures' array.
func appendFeatureList(dst []byte, s *Schema, r *Request, j *featcache.Join) []byte {
	p := s.join
	nf := len(s.names)
	dst = append(dst, '[')
	for i := range r.N {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		n := 0
		for vi := range p.NumViews() {
			st, at, read := j.Row(i, vi)
			for _, f := range p.ViewFeatures(vi) {
				if n > 0 {
					dst = append(dst, ',')
				}
				n++
				dst = appendString(dst, s.names[f])
				dst = append(dst, `:{"value":`...)
				dst = appendNumber(dst, r.Rows[i*nf+f])
				status := "overridden"
				if !r.Given[i*nf+f] {
					switch st {
					case featcache.StatusPresent:
						status = "present"
					case featcache.StatusMissing:
						status = "default"
					default:
						status = st.String()
					}
				}
				dst = append(dst, `,"status":"`...)
				dst = append(dst, status...)
				dst = append(dst, '"')
				if read && (st == featcache.StatusPresent || st == featcache.StatusExpired) {
					dst = append(dst, `,"age_seconds":`...)
					dst = appendNumber(dst, j.Now().Sub(at).Seconds())
				}
				dst = append(dst, '}')
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

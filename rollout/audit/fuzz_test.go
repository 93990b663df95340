package audit

import (
	"bytes"
	"sync"
	"testing"
)

var (
	validOnce sync.Once
	validLog  []byte
)

// valid is a log of the sample entries, built once.
func valid(t testing.TB) []byte {
	validOnce.Do(func() {
		_, _, lines := build(t)
		validLog = join(lines)
	})
	return validLog
}

// FuzzVerify: Verify never panics on any bytes; and no change of one
// byte (data's, when data verifies; the sample log's always) verifies,
// not even in whitespace: the canonical form admits one encoding of
// each entry.
func FuzzVerify(f *testing.F) {
	// Seeds are short prefixes of the sample log (a prefix of a valid
	// log is valid): the fuzzer minimizes every new input it finds, and
	// minimizing a whole log's 3 KB took longer than make fuzz's 20 s.
	good := valid(f)
	first := good[:bytes.IndexByte(good, '\n')+1]
	two := good[:len(first)+bytes.Index(good[len(first):], []byte("\n"))+1]
	f.Add(two, uint32(0), byte(1))
	f.Add(two, uint32(len(two)-1), byte('\n'^'x'))
	f.Add(first, uint32(7), byte(0x20))
	f.Add([]byte("{}\n"), uint32(0), byte(0))
	f.Add([]byte("\n\n\r\n"), uint32(1), byte(0xff))
	f.Fuzz(func(t *testing.T, data []byte, pos uint32, mask byte) {
		if mask == 0 {
			mask = 1
		}
		sum, err := Verify(bytes.NewReader(data), nil)
		if err == nil && len(data) > 0 {
			flipped := flip(data, pos, mask)
			if s2, err := Verify(bytes.NewReader(flipped), nil); err == nil {
				t.Errorf("byte %d of a valid log ^ %#x: still verifies (%+v, was %+v)\n%q\n%q", int(pos)%len(data), mask, s2, sum, data, flipped)
			}
		}
		log := valid(t)
		flipped := flip(log, pos, mask)
		if _, err := Verify(bytes.NewReader(flipped), nil); err == nil {
			i := int(pos) % len(log)
			t.Errorf("byte %d (%q) of the sample log ^ %#x: still verifies", i, log[i], mask)
		}
	})
}

func flip(data []byte, pos uint32, mask byte) []byte {
	out := bytes.Clone(data)
	out[int(pos)%len(out)] ^= mask
	return out
}

// TestFlipEveryByte runs FuzzVerify's second property over every byte of
// the sample log and a few masks.
func TestFlipEveryByte(t *testing.T) {
	log := valid(t)
	for i := range log {
		for _, m := range []byte{1, 0x20, 0x80, 0xff} {
			if _, err := Verify(bytes.NewReader(flip(log, uint32(i), m)), nil); err == nil {
				t.Errorf("byte %d (%q) ^ %#x: still verifies", i, log[i], m)
			}
		}
	}
}

package labels

import (
	"math"
	"slices"
	"testing"
)

// FuzzRowValue: decoding never panics on any bytes (a corrupt store is
// an error), and what appendRow and appendLabel encode decodes back.
func FuzzRowValue(f *testing.F) {
	f.Add([]byte{}, 0.25, "de", "mobile", 1.0)
	f.Add(appendRow(nil, []float64{0.1, 0.9}, []string{"a", ""}), math.NaN(), "", "\x00", 0.0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1.0, "x", "y", 2.0)
	f.Fuzz(func(t *testing.T, raw []byte, out float64, s1, s2 string, label float64) {
		// Arbitrary bytes: an error or a value, never a panic.
		r := rowReader{v: raw}
		if _, err := r.output(1); err == nil {
			if err := r.slices(func(int, []byte) {}); err == nil {
				r.label()
			}
		}
		parseRowKey(raw)
		parseIndexValue(raw)

		// Round trip.
		outputs, sl := []float64{out, -out}, []string{s1, s2}
		v := appendLabel(appendRow(nil, outputs, sl), label, 42)
		for i, want := range append(outputs, math.NaN()) {
			r := rowReader{v: v}
			got, err := r.output(i)
			if err != nil || math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("output %d of %v = %v, %v; want %v", i, outputs, got, err, want)
			}
			var back []string
			if err := r.slices(func(_ int, s []byte) { back = append(back, string(s)) }); err != nil || !slices.Equal(back, sl) {
				t.Fatalf("slices of %q = %q, %v", sl, back, err)
			}
			l, ns, err := r.label()
			if err != nil || math.Float64bits(l) != math.Float64bits(label) || ns != 42 {
				t.Fatalf("label %v at 42 = %v at %d, %v", label, l, ns, err)
			}
		}
		k := appendRowKey(nil, kindJoined, "m"+s1, 7, int64(len(raw))-3, s2)
		if s1 == "" || !slices.Contains([]byte(s1), 0) {
			p, err := parseRowKey(k)
			if err != nil || string(p.model) != "m"+s1 || p.version != 7 || p.ns != int64(len(raw))-3 || string(p.id) != s2 {
				t.Fatalf("parseRowKey(appendRowKey(m%q, 7, %d, %q)) = %+v, %v", s1, len(raw)-3, s2, p, err)
			}
		}
	})
}

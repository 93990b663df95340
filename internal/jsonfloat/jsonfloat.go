// Package jsonfloat is the float64 that predictd's reports write to JSON:
// a number, or null where it is undefined (NaN) or infinite, and read
// back with null as NaN. Reports of live quality (monitor/labels), shadow
// comparisons (rollout/shadow) and candidates (tools/candidates) share it.
package jsonfloat

import (
	"encoding/json"
	"math"
	"strconv"
)

// Float is a float64 that is NaN when undefined (a metric on no rows, an
// AUC on one class).
type Float float64

// MarshalJSON writes the shortest decimal that reads back to f, or null
// when f is NaN or infinite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

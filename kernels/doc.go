// Package kernels holds the math of inference over plain slices: tree
// ensemble evaluation (Forest), dense layers, activations and softmax.
//
// Invariants: functions here take and return slices and structs of slices,
// never interfaces; they do not allocate on the warm path except to grow a
// caller's dst; a Forest that passed Validate can be evaluated on any input
// (NaN included) without panicking or looping. Everything is safe for
// concurrent use on immutable data. Numerical rules that decide parity with
// the source libraries (XGBoost's float32 "<" and float32 accumulation,
// LightGBM's float64 "<=", missing-value modes, categorical bitsets) live
// here and nowhere else.
package kernels

// Package kernels holds the math of inference over plain slices: tree
// ensembles (Forest, the reference layout and walk; FastForest, the compiled
// form that serving uses), dense layers (float64 DenseForward; float32
// GemmBiasAct over weights packed once, in a portable build and a
// GOEXPERIMENT=simd build that picks AVX2 or AVX-512 at run time),
// activations, an Exp32 with a tested error bound, softmax, and the worker
// Pool that shares a batch over cores.
//
// Invariants: functions here take and return slices and structs of slices,
// never interfaces; they do not allocate on the warm path except to grow a
// caller's dst; a Forest that passed Validate can be evaluated on any input
// (NaN included) without panicking or looping, and FastForest gives exactly
// Forest.Margins' results, bit for bit. The numerical rules that decide
// parity with the source libraries (XGBoost's float32 "<", float32 sums and
// categorical sets; LightGBM's float64 "<=", missing-value modes, categorical
// bitsets and linear leaves) live here and nowhere else.
//
// Concurrency: Forest, FastForest and the dense weights are immutable after
// construction and safe for concurrent use; the default Pool is shared by
// all callers and never makes one caller wait for another's batch.
package kernels

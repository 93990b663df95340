package kernels

import "math"

// Activation is an element-wise function applied after a dense layer.
type Activation uint8

const (
	ActIdentity Activation = iota
	ActReLU
	ActTanh
	ActSigmoid
)

// DenseForward computes dst[o] = act(bias[o] + sum_i w[o*len(x)+i]·x[i]) for
// every output unit o: w is len(dst)×len(x), row-major (row o holds the
// weights into unit o).
func DenseForward(dst, w, bias, x []float64, act Activation) {
	in := len(x)
	for o := range dst {
		dst[o] = bias[o] + Dot64(w[o*in:(o+1)*in], x)
	}
	Activate(dst, act)
}

// Dot64 returns the dot product of a and b, which must be the same length.
func Dot64(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Activate applies act to x in place.
func Activate(x []float64, act Activation) {
	switch act {
	case ActIdentity:
	case ActReLU:
		for i, v := range x {
			if !(v > 0) {
				x[i] = 0
			}
		}
	case ActTanh:
		for i, v := range x {
			x[i] = math.Tanh(v)
		}
	case ActSigmoid:
		for i, v := range x {
			x[i] = 1 / (1 + math.Exp(-v))
		}
	default:
		panic("BUG: unknown activation")
	}
}

package kernels

import "math"

// Softmax64 replaces x with exp(x-max)/sum, in place. It subtracts the
// maximum first so large margins do not overflow.
func Softmax64(x []float64) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(v - mx)
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}

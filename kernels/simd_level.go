package kernels

import "os"

// simdLevel names the instruction set the float32 kernels run on. The level
// is chosen once, at package initialisation, from the CPU's features; the
// order matters: each level may use the code of the ones below it.
type simdLevel uint8

const (
	// levelPortable is plain Go: any GOARCH, any build.
	levelPortable simdLevel = iota
	// levelAVX2 needs GOEXPERIMENT=simd on amd64 and a CPU with AVX2.
	levelAVX2
	// levelAVX512 needs GOEXPERIMENT=simd on amd64 and AVX-512 F, CD, BW,
	// DQ and VL. Only the sgemm tile kernels differ from AVX2.
	levelAVX512
)

func (l simdLevel) String() string {
	switch l {
	case levelAVX2:
		return "avx2"
	case levelAVX512:
		return "avx512"
	default:
		return "portable"
	}
}

// activeLevel is the level every exported function uses: the CPU's, or
// lower when the environment variable PREDICTD_SIMD caps it (see capLevel).
var activeLevel = capLevel(detectLevel(), os.Getenv("PREDICTD_SIMD"))

// capLevel returns detected, lowered to the level named by limit
// ("portable", "avx2"; "" or anything else leaves it). The cap lets one
// machine measure and run the code another machine of lesser CPU would: an
// AVX-512 machine's figures for the AVX2 and portable paths.
func capLevel(detected simdLevel, limit string) simdLevel {
	for _, l := range []simdLevel{levelPortable, levelAVX2} {
		if limit == l.String() {
			return min(detected, l)
		}
	}
	return detected
}

// SIMDLevel reports which code the float32 kernels (GemmBiasAct, the
// activations, ExpSlice32) and the tree kernels' bitvector loops run:
// "avx512", "avx2" or "portable". It is fixed for the life of the process.
func SIMDLevel() string { return activeLevel.String() }

// availableLevels lists the levels this build can run on this CPU, lowest
// first, so tests can hold them against each other.
func availableLevels() []simdLevel {
	ls := []simdLevel{levelPortable}
	for l := levelAVX2; l <= activeLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

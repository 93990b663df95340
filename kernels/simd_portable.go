//go:build !(goexperiment.simd && amd64)

package kernels

// Without GOEXPERIMENT=simd on amd64 only the portable level exists; the
// vector entry points below are never reached (the dispatchers check the
// level first) and exist so the dispatchers compile in every build.

func detectLevel() simdLevel { return levelPortable }

func unreachable() { panic("BUG: SIMD kernel called in a build without SIMD") }

func tile2x32AVX2(int, []float32, int, []float32, []float32, int, []float32, int, bool) {
	unreachable()
}
func tile1x32AVX2(int, []float32, []float32, []float32, []float32, bool) { unreachable() }
func row64AVX2(int, []float32, []float32, []float32, []float32, []float32, bool) {
	unreachable()
}
func tile4x32AVX512(int, []float32, int, []float32, []float32, int, []float32, int, bool) {
	unreachable()
}
func tile1x32AVX512(int, []float32, []float32, []float32, []float32, bool) { unreachable() }
func row64AVX512(int, []float32, []float32, []float32, []float32, []float32, bool) {
	unreachable()
}
func expSliceAVX2([]float32, []float32) { unreachable() }
func reluSliceAVX2([]float32)           { unreachable() }
func tanhSliceAVX2([]float32)           { unreachable() }
func sigmoidSliceAVX2([]float32)        { unreachable() }
func sum8AVX2([]float32) float32        { unreachable(); return 0 }
func divSliceAVX2([]float32, float32)   { unreachable() }

func bvSplitsAVX512(*[bvBlock]uint64, bvGroups, []float64, int) { unreachable() }
func bvSplitsAVX2(*[bvBlock]uint64, bvGroups, []float64, int)   { unreachable() }

// add32 and add64 have a vector form only (forest_bv_amd64.go).
func (bf *bvForest) add32([]float32, float64, *bvTree, []float64) bool { return false }
func (bf *bvForest) add64([]float64, float64, *bvTree, []float64) bool { return false }

func (bf *bv32Forest) addAVX512([]float32, float64, *bv32Tree, []float32) { unreachable() }
func (bf *bv32Forest) addAVX2([]float32, float64, *bv32Tree, []float32)   { unreachable() }

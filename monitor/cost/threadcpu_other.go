//go:build !linux

package cost

// threadCPU is not available here: spans then weigh every prediction the
// same.
func threadCPU() (int64, bool) { return 0, false }

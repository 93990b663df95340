//go:build !unix

package cost

func processCPU() (int64, bool) { return 0, false }

//go:build unix

package server

import "syscall"

// openFileLimit returns the process's soft limit on open files (which Go's
// runtime raises to the hard limit at start on Linux and macOS), or 0 if
// it cannot be read.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

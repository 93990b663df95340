//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package audit

import "os"

// lockFile does nothing where flock is missing: one process per log is
// then the operator's to keep.
func lockFile(*os.File) error { return nil }

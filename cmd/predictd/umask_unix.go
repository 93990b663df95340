//go:build unix

package main

import "syscall"

// setUmask sets the process's file-creation mask and returns a func that
// restores the previous one. The mask is process-wide: call it only while
// no other goroutine creates files (the daemon binds its sockets first).
func setUmask(mask uint32) (restore func()) {
	old := syscall.Umask(int(mask))
	return func() { syscall.Umask(old) }
}

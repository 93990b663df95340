package server

import (
	"errors"
	"net"
	"syscall"
	"unsafe"
)

// peerClosed reports whether the peer of c has closed the connection: a
// non-blocking MSG_PEEK read that returns 0 bytes (an orderly close) or a
// reset. Data waiting to be read (a pipelined request) means the client is
// still there. It costs one system call, so the batcher asks only about
// requests that have waited in its queue a while. A client that half-closes
// its side after sending (shutdown(SHUT_WR)) looks gone too; HTTP clients
// do not do that.
func peerClosed(c net.Conn) bool {
	if lc, ok := c.(*lingerConn); ok {
		c = lc.Conn
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var buf [1]byte
	rc.Read(func(fd uintptr) bool {
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == 0:
			closed = n == 0
		case errors.Is(errno, syscall.ECONNRESET):
			closed = true
		}
		return true // never wait for readiness
	})
	return closed
}

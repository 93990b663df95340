package server

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Lingering close, as nginx's lingering_close: when the server answers a
// request before reading all of it (a body over MaxBodyBytes, a malformed
// request) and closes the connection, the client may still be sending. A
// plain close with unread bytes in the socket makes the kernel send a reset,
// which can destroy the response in flight, so the client sees "broken pipe"
// or "connection reset" instead of the 413. A lingering close sends FIN,
// then reads and discards what the client still sends for a short while
// before closing.
const (
	lingerTimeout  = 2 * time.Second
	lingerMaxBytes = 64 << 20
)

// lingerConn is a server connection: it lingers on Close once marked
// (lingerOnClose), and tells its connGuard (if any) when it closes and
// whether it is idle.
type lingerConn struct {
	net.Conn
	linger atomic.Bool
	g      *connGuard
	// idleSince is the UnixNano time the connection became new or idle
	// (waiting for a request), 0 while a request is being served.
	idleSince atomic.Int64
	closed    atomic.Bool
}

func (c *lingerConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if c.g != nil {
		defer c.g.release(c)
	}
	if !c.linger.Load() {
		return c.Conn.Close()
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.CopyN(io.Discard, c.Conn, lingerMaxBytes)
	}
	return c.Conn.Close()
}

// lingerOnClose marks the request's connection to linger when it closes.
func lingerOnClose(c net.Conn) {
	if lc, ok := c.(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

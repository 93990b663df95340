package server

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Connection limit. A client that opens idle connections until the process
// runs out of file descriptors must not stop the daemon: fasthttp treats an
// accept error other than a timeout as permanent and Serve returns. So
// every listener is wrapped in a guardListener that
//   - keeps at most MaxConnections open: at the limit, a new connection
//     evicts the connection that has been idle longest (a keep-alive
//     connection between requests, or one that was accepted and has sent
//     nothing yet), so that clients that send requests are served while
//     idle ones hold the slots; with no idle connection to evict, the new
//     one is answered 503 with Retry-After and closed;
//   - retries accept errors that are temporary (EMFILE, ENFILE, ENOBUFS,
//     ENOMEM, ECONNABORTED, EINTR, timeouts) with a backoff from 5 ms to
//     1 s, logging them rate-limited, instead of returning them.
// Evicting the longest-idle connection is what nginx's
// reset_timedout_connection and HAProxy's idle-close do in spirit; the race
// it leaves (a request sent on the evicted connection just as it closes)
// is the same as an idle timeout's.

// connGuard counts and tracks a server's open connections across its
// listeners. Its methods are safe for concurrent use.
type connGuard struct {
	max  int
	logf func(string, ...any) // rate-limited

	mu    sync.Mutex
	conns map[*lingerConn]struct{}

	open                         atomic.Int64
	refused, evicted, acceptErrs atomic.Uint64
}

func newConnGuard(max int, logf func(string, ...any)) *connGuard {
	return &connGuard{max: max, logf: logf, conns: make(map[*lingerConn]struct{})}
}

// busyResponse is written to a connection refused at the limit.
var busyResponse = func() []byte {
	body := `{"error":"server busy: too many open connections (max_connections); retry later"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// admit registers c, evicting the longest-idle connection at the limit. It
// returns nil when c was refused (and closed).
func (g *connGuard) admit(c net.Conn) *lingerConn {
	lc := &lingerConn{Conn: c, g: g}
	lc.idleSince.Store(time.Now().UnixNano())
	var victim *lingerConn
	g.mu.Lock()
	if len(g.conns) >= g.max {
		var oldest int64
		for o := range g.conns {
			if t := o.idleSince.Load(); t != 0 && (victim == nil || t < oldest) {
				victim, oldest = o, t
			}
		}
		if victim == nil {
			g.mu.Unlock()
			g.refused.Add(1)
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write(busyResponse)
			c.Close()
			g.logf("connection from %s refused: %d connections open, none idle (max_connections)", c.RemoteAddr(), g.max)
			return nil
		}
		delete(g.conns, victim) // its slot is c's now; release finds it gone
		g.evicted.Add(1)
	}
	g.conns[lc] = struct{}{}
	g.open.Store(int64(len(g.conns)))
	g.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
	return lc
}

// release forgets a closed connection.
func (g *connGuard) release(c *lingerConn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.open.Store(int64(len(g.conns)))
	g.mu.Unlock()
}

// connState is fasthttp's ConnState hook: it records when a connection
// starts or stops waiting for a request.
func connState(c net.Conn, st fasthttp.ConnState) {
	lc, ok := c.(*lingerConn)
	if !ok {
		return
	}
	switch st {
	case fasthttp.StateNew, fasthttp.StateIdle:
		lc.idleSince.Store(time.Now().UnixNano())
	case fasthttp.StateActive:
		lc.idleSince.Store(0)
	}
}

// guardListener is the listener the server serves on; see connGuard.
type guardListener struct {
	net.Listener
	g *connGuard
}

func (l guardListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporaryAcceptError(err) {
				return nil, err
			}
			l.g.acceptErrs.Add(1)
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.g.logf("accept on %s: %v; retrying in %s (raise the open-file limit or lower max_connections)", l.Addr(), err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if lc := l.g.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// temporaryAcceptError reports whether accept may succeed if tried again:
// out of descriptors or buffers, an aborted handshake, an interrupt.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// collectors are the connection series, read from g's counters.
func (g *connGuard) collectors() []prometheus.Collector {
	gauge := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, v)
	}
	counter := func(name, help string, n *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(n.Load()) })
	}
	return []prometheus.Collector{
		gauge("predictd_connections_open", "Client connections open now, over all listeners.", func() float64 { return float64(g.open.Load()) }),
		gauge("predictd_connections_max", "The open-connection limit (max_connections).", func() float64 { return float64(g.max) }),
		counter("predictd_connections_evicted_total", "Idle connections closed to admit a new one at max_connections.", &g.evicted),
		counter("predictd_connections_refused_total", "Connections answered 503 at max_connections with none idle to evict.", &g.refused),
		counter("predictd_accept_errors_total", "Temporary accept errors (out of file descriptors, aborted handshakes) retried with backoff.", &g.acceptErrs),
	}
}

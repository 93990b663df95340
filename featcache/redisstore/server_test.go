package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// redisServer is a redis-server process owned by one test (or benchmark).
type redisServer struct {
	Addr string
	cmd  *exec.Cmd
}

// startRedis starts redis-server from PATH on a free local port, with no
// persistence, in a temporary directory, waits until it answers PING and
// kills it when tb ends. Without redis-server it skips: .ci/run installs it,
// so CI never skips.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server is not on PATH; .ci/run installs it (apt-get install redis-server)")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(tb)
		dir := tb.TempDir()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		s := &redisServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
		if lastErr = waitPing(s.Addr, exited, 10*time.Second); lastErr == nil {
			tb.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		// The port may have been taken between freePort and the bind; try another.
		lastErr = fmt.Errorf("%v; output:\n%s", lastErr, out.String())
	}
	tb.Fatalf("redis-server did not come up: %v", lastErr)
	return nil
}

// Stop kills the server and waits for it to exit (for outage tests).
func (s *redisServer) Stop(tb testing.TB) {
	tb.Helper()
	s.cmd.Process.Kill()
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err != nil {
			return
		} else {
			c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("redis-server at %s still accepts connections after kill", s.Addr)
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPing sends inline PINGs until one gets +PONG, the process exits or
// the timeout passes.
func waitPing(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited")
		default:
		}
		if err = ping(addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG from %s within %v: %v", addr, timeout, err)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

var prefixSeq atomic.Int64

// openStore opens a Store on srv with a key prefix no other test uses, so
// tests can share one server; it closes the store when tb ends.
func openStore(tb testing.TB, srv *redisServer) *Store {
	tb.Helper()
	opts := DefaultOptions()
	opts.Addr = srv.Addr
	opts.KeyPrefix = fmt.Sprintf("test%d-%d:", os.Getpid(), prefixSeq.Add(1))
	s, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", opts, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// ctxT is a context bounded well below the test timeout so a hang fails the
// test with a message instead of killing the binary.
func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func itoa(i int) string { return strconv.Itoa(i) }

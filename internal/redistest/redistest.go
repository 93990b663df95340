package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a redis-server process owned by one test (or benchmark).
type Server struct {
	// Addr is the server's "127.0.0.1:port".
	Addr string
	cmd  *exec.Cmd
}

// Start starts redis-server from PATH on a free local port, with no
// persistence, in a temporary directory, waits until it answers PING and
// kills it when tb ends. Without redis-server the test fails: .ci/run
// installs it, and a test that skipped would hide what it checks.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb)
}

// StartWithPassword is Start for a server that requires password (AUTH).
func StartWithPassword(tb testing.TB, password string) *Server {
	tb.Helper()
	return start(tb, "--requirepass", password)
}

func start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal("redis-server is not on PATH; install it (apt-get install redis-server; .ci/run does)")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := FreePort(tb)
		dir := tb.TempDir()
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", ""}, extra...)
		cmd := exec.Command(bin, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
		if lastErr = waitPing(s.Addr, exited, 10*time.Second); lastErr == nil {
			tb.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		// The port may have been taken between FreePort and the bind; try another.
		lastErr = fmt.Errorf("%v; output:\n%s", lastErr, out.String())
	}
	tb.Fatalf("redis-server did not come up: %v", lastErr)
	return nil
}

// Stop kills the server and waits until its port refuses connections (for
// outage tests). The cleanup registered by Start still runs; killing twice
// is harmless.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	s.cmd.Process.Kill()
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond) // polling for the port to close; no event to wait on
	}
	tb.Fatalf("redis-server at %s still accepts connections after kill", s.Addr)
}

// FreePort returns a local TCP port that was free a moment ago (for a
// server that is not there, or to start one).
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPing sends inline PINGs until one gets +PONG (or NOAUTH), the process exits or
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
	// A server with a password answers NOAUTH: it is up all the same.
	if line != "+PONG\r\n" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// dialLoopback is the only way soak opens a connection: it refuses any
// address that is not a loopback IP literal.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("soak: refusing to connect to %s: loopback only", addr)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, network, addr)
}

// proc is a child process: in its own process group (so a Ctrl-C at the
// terminal reaches soak, which stops it in order) and killed if soak dies
// (parent-death signal).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited; then err is set
	err  error
}

func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig os.Signal) { p.cmd.Process.Signal(sig) }

// stop sends sig and waits up to wait for the exit, then kills. It
// returns the exit code (-1 when killed or signalled) and the time taken.
func (p *proc) stop(sig os.Signal, wait time.Duration) (int, time.Duration) {
	start := time.Now()
	if !p.exited() {
		p.signal(syscall.SIGCONT) // a stopped process cannot act on SIGTERM
		p.signal(sig)
		select {
		case <-p.done:
		case <-time.After(wait):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// freePort returns a TCP port free on 127.0.0.1 just now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redisServer is the private feature store: redis-server on a loopback
// port, nothing persisted. It may be stopped, resumed, killed and
// restarted on the same port.
type redisServer struct {
	bin, dir string
	port     int
	mu       sync.Mutex
	p        *proc
	starts   int
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisServer) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	log, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	cmd.Stdout, cmd.Stderr = log, log
	p, err := startProc("redis-server", cmd)
	if err != nil {
		return err
	}
	r.p = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p.exited() {
			return fmt.Errorf("redis-server exited: %v (log %s)", p.err, log.Name())
		}
		if r.ping(ctx) == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("redis-server on %s does not answer PING", r.addr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *redisServer) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := dialLoopback(ctx, "tcp", r.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING: %q", line)
	}
	return nil
}

// pause and resume stop and continue the process (a store that hangs).
func (r *redisServer) pause()  { r.mu.Lock(); r.p.signal(syscall.SIGSTOP); r.mu.Unlock() }
func (r *redisServer) resume() { r.mu.Lock(); r.p.signal(syscall.SIGCONT); r.mu.Unlock() }

// kill ends the process at once (a store that refuses; its data is lost).
func (r *redisServer) kill() {
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	if p != nil {
		p.stop(syscall.SIGKILL, 5*time.Second)
	}
}

// daemon is `predictd serve` with its stderr copied to a log file, its
// lines counted and its listening address picked out.
type daemon struct {
	p       *proc
	logPath string
	lines   atomic.Int64
	bytes   atomic.Int64
	addrc   chan string
	addr    string
}

var servingRE = regexp.MustCompile(`serving HTTP on (\S+)`)

func startDaemon(bin, logPath string, args []string) (*daemon, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	pr, err := cmd.StderrPipe()
	if err != nil {
		log.Close()
		return nil, err
	}
	cmd.Stdout = log
	d := &daemon{logPath: logPath, addrc: make(chan string, 1)}
	if d.p, err = startProc("predictd serve", cmd); err != nil {
		log.Close()
		return nil, err
	}
	go func() {
		// Raw chunks, not lines: a long line must never stop the copy
		// (the daemon would block writing its log).
		defer log.Close()
		buf := make([]byte, 64<<10)
		var head []byte // the log's start, until the address shows
		found := false
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				log.Write(buf[:n])
				d.lines.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
				d.bytes.Add(int64(n))
				if !found && len(head) < 1<<20 {
					head = append(head, buf[:n]...)
					if m := servingRE.FindSubmatch(head); m != nil {
						d.addrc <- string(m[1])
						found, head = true, nil
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return d, nil
}

// waitAddr waits for the daemon's "serving HTTP on ADDR" line and checks
// that ADDR is on loopback.
func (d *daemon) waitAddr(ctx context.Context) error {
	select {
	case a := <-d.addrc:
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("predictd serve listens on %q, not on loopback", a)
		}
		d.addr = a
		return nil
	case <-d.p.done:
		return fmt.Errorf("predictd serve exited: %v", d.p.err)
	case <-time.After(60 * time.Second):
		return errors.New("predictd serve printed no listening address in 60s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// usage is what /proc and /metrics say about the daemon now.
type usage struct {
	RSSKiB     int64 `json:"rss_kib"`
	Threads    int   `json:"threads"`
	FDs        int   `json:"fds"`
	Goroutines int   `json:"goroutines"` // -1: not exported
	// HeapLiveKiB is the heap the last GC found live (go_gc_heap_live_bytes):
	// what the daemon holds, unlike RSS, which also counts memory the Go
	// runtime has not given back yet. -1: not exported.
	HeapLiveKiB int64  `json:"heap_live_kib"`
	ConnsOpen   int    `json:"conns_open"` // -1: not exported
	LogLines    int64  `json:"log_lines"`  // lines the daemon has logged so far
	LogBytes    int64  `json:"log_bytes"`  // bytes of them
	Alive       bool   `json:"alive"`      // the process still runs
	ScrapeErr   string `json:"scrape_error,omitempty"`
}

// measure reads /proc/PID/status, /proc/PID/fd and /metrics.
func (d *daemon) measure(ctx context.Context, c *http.Client) usage {
	u := usage{Goroutines: -1, ConnsOpen: -1, HeapLiveKiB: -1, LogLines: d.lines.Load(), LogBytes: d.bytes.Load(), Alive: !d.p.exited()}
	if !u.Alive {
		return u
	}
	pid := strconv.Itoa(d.p.pid())
	if st, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			switch k {
			case "VmRSS":
				u.RSSKiB, _ = strconv.ParseInt(f[0], 10, 64)
			case "Threads":
				u.Threads, _ = strconv.Atoi(f[0])
			}
		}
	}
	if ents, err := os.ReadDir("/proc/" + pid + "/fd"); err == nil {
		u.FDs = len(ents)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+d.addr+"/metrics", nil)
	resp, err := c.Do(req)
	if err != nil {
		u.ScrapeErr = err.Error()
		return u
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			u.Goroutines = atoiFloat(val)
		case "predictd_connections_open":
			u.ConnsOpen = atoiFloat(val)
		case "go_gc_heap_live_bytes":
			if n := atoiFloat(val); n >= 0 {
				u.HeapLiveKiB = int64(n) >> 10
			}
		}
	}
	return u
}

// atoiFloat reads a Prometheus sample value as an int; -1 when it is not
// a number.
func atoiFloat(s string) int {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return -1
	}
	return int(f)
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

package pebblestore

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// holdEnv names the directory a child test process opens and holds; see
// TestHoldStore.
const holdEnv = "PEBBLESTORE_TEST_HOLD"

// TestHoldStore is not a test of its own: run by TestOpenLockedByProcess
// as a child process with holdEnv set, it opens the store, says "open" on
// stdout and holds it until its stdin closes, as a running daemon would.
func TestHoldStore(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		return // run directly: nothing to hold
	}
	s, err := Open(dir, Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatalf("child Open(%s): %v", dir, err)
	}
	os.Stdout.WriteString("open\n")
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

func checkLockedErr(t *testing.T, dir string, err error, wants ...string) {
	t.Helper()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open(%s) while held: error %v, want one wrapping ErrLocked", dir, err)
	}
	for _, w := range append([]string{dir}, wants...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open(%s) while held: error %q, want it to contain %q", dir, err, w)
		}
	}
}

// TestOpenLockedByProcess holds the store open in a child process, as
// `predictd serve` would, and checks that Open says who holds the store
// and what to do, instead of Pebble's "resource temporarily unavailable".
func TestOpenLockedByProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldStore$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			stdin.Close()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "open\n" {
		t.Fatalf("child holding %s said %q, %v; want \"open\\n\"", dir, line, err)
	}

	s, err := Open(dir, Options{CacheBytes: 1 << 20})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) while another process holds it succeeded, want an error", dir)
	}
	checkLockedErr(t, dir, err,
		"the store folder "+dir+" is in use by another process",
		"predictd serve",
		"predictd materialize",
		"POST /v1/features/{view}",
		"--store http://HOST:PORT",
		"redis://")
	t.Logf("Open while held: %v", err)
	if strings.HasPrefix(err.Error(), "resource temporarily unavailable") {
		t.Errorf("error %q starts with the bare syscall message", err)
	}

	// Once the holder exits, the store opens.
	stdin.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child holding %s: %v", dir, err)
	}
	s, err = Open(dir, Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open(%s) after the holder exited: %v", dir, err)
	}
	s.Close()
}

// TestOpenLockedInProcess: a second Open of an open directory in the same
// process fails too (POSIX locks do not conflict within a process; Pebble
// keeps its own table), with ErrLocked.
func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	s := openTemp(t, dir)
	defer s.Close()
	s2, err := Open(dir, Options{CacheBytes: 1 << 20})
	if err == nil {
		s2.Close()
		t.Fatalf("second Open(%s) in one process succeeded, want an error", dir)
	}
	checkLockedErr(t, dir, err, "already open in this process")
}

// TestOpenNotLocked: other failures are not reported as a held lock.
func TestOpenNotLocked(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(file, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) of a regular file succeeded, want an error", file)
	}
	if errors.Is(err, ErrLocked) {
		t.Errorf("Open(%s) of a regular file: error %v wraps ErrLocked", file, err)
	}
}

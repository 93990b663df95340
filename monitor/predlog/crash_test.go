package predlog

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashEnv = "PREDLOG_CRASH_DIR"

// TestCrashChild is the process TestCrashLosesOnlyUnfinished kills: with
// PREDLOG_CRASH_DIR set it logs records with ids 0, 1, 2, ... into that
// directory until killed. Without it, it returns at once.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		return
	}
	l, err := New(Options{Dir: dir, FlushEvery: 30 * time.Millisecond, MaxSegmentRecords: 2000, Default: Policy{SampleRate: 1, Fields: []string{"country", "x"}}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	m, err := l.Logger(Schema{Model: "m", Version: 1, Features: []Field{{"country", String}, {"x", Float}}, Outputs: []string{"p"}, Join: []string{"slice"}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("logging")
	rec := Record{Inputs: make([]Value, 2), Outputs: make([]float64, 1), Join: make([]string, 1)}
	for i := 0; ; i++ {
		rec.ID = strconv.Itoa(i)
		rec.Inputs[0] = Value{Str: "Ελλάδα-" + rec.ID}
		rec.Inputs[1] = Value{Float: float64(i)}
		rec.Outputs[0] = float64(i) / 2
		rec.Join[0] = rec.ID
		for !m.Log(&rec) {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// TestCrashLosesOnlyUnfinished kills (SIGKILL) a process logging under
// load once it has completed a few segments, then checks that every
// segment reads whole with both readers, that each row is the record its
// id says, that no id appears twice, and that a new Log removes the
// temporary files the crash left.
func TestCrashLosesOnlyUnfinished(t *testing.T) {
	for round := range 3 {
		// Kill at different points of the next segment's life.
		t.Run(fmt.Sprint("round=", round), func(t *testing.T) { crashOnce(t, time.Duration(round)*11*time.Millisecond) })
	}
}

func crashOnce(t *testing.T, after time.Duration) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "logging\n" {
		t.Fatalf("child said %q, %v; want \"logging\\n\"", line, err)
	}
	// Kill it once three segments are complete (no timing assertion:
	// the wait is bounded only so that a broken writer fails the test).
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		if n := len(listSegments(t, dir)); n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child completed fewer than 3 segments in 2 minutes")
		}
	}
	time.Sleep(after)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true

	segs := listSegments(t, dir)
	seen := map[string]string{}
	total := 0
	for _, s := range segs {
		a, b := readParquetGo(t, s), readTable(t, s)
		if len(a) == 0 || len(a) != len(b) {
			t.Errorf("%s: %d rows by parquet-go, %d by internal/table; want the same, > 0", s, len(a), len(b))
		}
		for i, r := range a {
			id, _ := r["id"].(string)
			n, err := strconv.Atoi(id)
			w := row{"id": id, "time": r["time"], "model": "m", "version": int64(1),
				"country": "Ελλάδα-" + id, "x": float64(n), "p": float64(n) / 2, "latency_us": int64(0), "slice": id}
			if err != nil || !sameRow(r, w) || (i < len(b) && !sameRow(b[i], w)) {
				t.Errorf("%s row %d: %v (internal/table: %v), want %v", s, i, r, b[i], w)
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("id %s in both %s and %s", id, prev, s)
			}
			seen[id] = s
		}
		total += len(a)
	}
	// One model, one writer: segments complete in id order, so what
	// survives is ids 0..total-1, with nothing missing before the last
	// completed segment.
	for i := range total {
		if _, ok := seen[strconv.Itoa(i)]; !ok {
			t.Errorf("id %d missing from the segments, which hold %d records: a completed segment lost a record", i, total)
			break
		}
	}
	// What may be left: temporary files of the segment being written.
	var temps []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !isSegment(d.Name()) {
			if !isTemp(d.Name()) {
				t.Errorf("after kill -9: %s is neither a segment nor a temporary file", p)
			}
			temps = append(temps, p)
		}
		return nil
	})
	l := mustNew(t, Options{Dir: dir})
	closeLog(t, l)
	if st := l.Stats(); st.Leftovers != int64(len(temps)) {
		t.Errorf("New after the crash removed %d leftovers, want the %d temporary files %v", st.Leftovers, len(temps), temps)
	}
	if got := len(listSegments(t, dir)); got != len(segs) {
		t.Errorf("New after the crash: %d segments, want the %d completed before it", got, len(segs))
	}
	t.Logf("killed after %d complete segments, %d records; %d temporary files removed", len(segs), total, len(temps))
}

// listSegments lists the completed segments under dir, ignoring the
// temporary files of a writer still running.
func listSegments(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isSegment(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

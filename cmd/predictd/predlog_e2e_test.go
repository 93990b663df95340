package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/predlog"
)

// readPredLog reads every completed segment (*.parquet) under dir with
// predlog.ReadSegment and returns the rows' ids with the count of each, and the
// number of segments; a segment that does not read fails t naming it.
func readPredLog(t *testing.T, dir string) (ids map[string]int, rows []map[string]any, segs int) {
	t.Helper()
	ids = map[string]int{}
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".parquet") || strings.HasPrefix(e.Name(), ".") {
			return err
		}
		segs++
		seg, err := predlog.ReadSegment(path)
		if err != nil {
			return err
		}
		for _, row := range seg.Rows {
			id, _ := row["id"].(string)
			ids[id]++
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, rows, segs
}

// TestServePredictionLog: serve with --prediction-log at sample rate 1
// and a config block keeping two inputs: every id the answers returned
// (the header's, the OIP body's, generated ones) is in the segments once
// SIGTERM has drained the daemon, with the inputs sent and the output
// returned; /metrics counts them logged; --prediction-log wins over the
// file's prediction_log.dir.
func TestServePredictionLog(t *testing.T) {
	repo, body := lrRepo(t)
	dir := filepath.Join(t.TempDir(), "plog")
	cfg := filepath.Join(t.TempDir(), "serve.json")
	// The flag wins over the file's dir.
	notDir := filepath.Join(t.TempDir(), "not-this")
	writeFile(t, cfg, `{"prediction_log": {"dir": "`+notDir+`", "sample_rate": 1, "fields": ["mean_radius", "mean_area"], "flush_every": "1s"}}`)
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--prediction-log", dir)
	c := d.client(false)
	var inst struct{ Instances [][]float64 }
	if err := json.Unmarshal(body, &inst); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{} // id -> prediction
	const n = 200
	for i := range n {
		id, h := fmt.Sprintf("e2e-%d", i), []string{"X-Request-Id", fmt.Sprintf("e2e-%d", i)}
		if i%10 == 9 {
			h = nil // generated
		}
		req, _ := http.NewRequest("POST", d.url(false, "/v1/models/lr:predict"), bytes.NewReader(body))
		for k := 0; k+1 < len(h); k += 2 {
			req.Header.Set(h[k], h[k+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Predictions []float64
			ID          string
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if err != nil || resp.StatusCode != 200 || got != out.ID || (h != nil && got != id) || len(got) == 0 {
			t.Fatalf("request %d (header %q): %d, X-Request-Id %q, body id %q (%v); want 200 and the id in both", i, h, resp.StatusCode, got, out.ID, err)
		}
		want[got] = out.Predictions[0]
	}
	oip := fmt.Sprintf(`{"id": "oip-1", "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, %d], "data": %s}]}`, len(inst.Instances[0]), mustJSON(t, inst.Instances[0]))
	code, out := do(t, c, "POST", d.url(false, "/v2/models/lr/infer"), oip)
	var ob struct {
		ID      string
		Outputs []struct{ Data []float64 }
	}
	if err := json.Unmarshal(out, &ob); code != 200 || err != nil || ob.ID != "oip-1" {
		t.Fatalf("OIP infer with id oip-1: %d %s, want 200 with the id", code, out)
	}
	want["oip-1"] = ob.Outputs[0].Data[0]
	if got := metricValue(t, d, "predictd_prediction_log_records_total", "model", "lr", "outcome", "logged"); got != n+1 {
		t.Errorf("predictd_prediction_log_records_total{outcome=logged} = %v, want %d", got, n+1)
	}
	d.stop(30*time.Second, "with the prediction log")
	if _, err := os.Stat(notDir); !os.IsNotExist(err) {
		t.Errorf("the config file's dir %s exists (%v), want --prediction-log's alone used", notDir, err)
	}
	ids, rows, segs := readPredLog(t, dir)
	if segs == 0 || len(rows) != len(want) {
		t.Fatalf("%d rows in %d segments, want %d", len(rows), segs, len(want))
	}
	for _, r := range rows {
		id := r["id"].(string)
		p, ok := want[id]
		switch {
		case !ok || ids[id] != 1:
			t.Errorf("logged id %q: sent %v, logged %d times; want sent, once", id, ok, ids[id])
		case r[firstOutput(r)] != p:
			t.Errorf("id %q: row %v, want the output %v", id, r, p)
		case r["mean_radius"] != inst.Instances[0][0] || r["mean_area"] != inst.Instances[0][3]:
			t.Errorf("id %q: mean_radius %v mean_area %v, want %v %v", id, r["mean_radius"], r["mean_area"], inst.Instances[0][0], inst.Instances[0][3])
		}
		if _, kept := r["mean_texture"]; kept {
			t.Errorf("id %q: mean_texture logged, not in the allowlist", id)
		}
	}
}

// firstOutput is the name of a log row's output column: the one that is
// not a fixed column nor an input of lr's allowlist.
func firstOutput(r map[string]any) string {
	for k := range r {
		switch k {
		case "id", "time", "model", "version", "latency_us", "mean_radius", "mean_area":
		default:
			return k
		}
	}
	return ""
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServePredictionLogKill9: under load from a loopback client, kill -9
// the daemon: every completed segment reads back, every id in it is one a
// client got back in an answer, and only unflushed records are lost. A
// restart on the same directory removes the unfinished segments.
func TestServePredictionLogKill9(t *testing.T) {
	repo, body := lrRepo(t)
	dir := filepath.Join(t.TempDir(), "plog")
	cfg := filepath.Join(t.TempDir(), "serve.json")
	writeFile(t, cfg, `{"prediction_log": {"flush_every": "100ms", "max_segment_bytes": 65536}}`)
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--prediction-log", dir)
	var (
		mu   sync.Mutex
		got  = map[string]bool{}
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := d.client(false)
			for i := 0; i < 20000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Post(d.url(false, "/v1/models/lr:predict"), "application/json", bytes.NewReader(body))
				if err != nil {
					return // the daemon is gone
				}
				var out struct{ ID string }
				derr := json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if derr == nil && resp.StatusCode == 200 {
					mu.Lock()
					got[resp.Header.Get("X-Request-Id")] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Let segments complete while requests flow, then kill mid-stream.
	waitFor(t, "two completed segments", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, "lr", "1", "*", "*.parquet"))
		return len(segs) >= 2
	})
	time.Sleep(150 * time.Millisecond)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	close(stop)
	wg.Wait()
	ids, rows, segs := readPredLog(t, dir)
	mu.Lock()
	defer mu.Unlock()
	if segs < 2 || len(rows) == 0 {
		t.Fatalf("%d segments, %d rows after kill -9; want at least 2 segments with rows", segs, len(rows))
	}
	for id, k := range ids {
		if !got[id] || k != 1 {
			t.Errorf("logged id %q: returned to a client %v, logged %d times; want true, once", id, got[id], k)
		}
	}
	t.Logf("kill -9: %d answers, %d logged in %d completed segments (%d lost: the unflushed ones)", len(got), len(rows), segs, len(got)-len(rows))
	// A restart removes what the crash left half-written.
	d2 := startServe(t, nil, "--repo", repo, "--config", cfg, "--prediction-log", dir)
	var tmps []string
	_ = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".tmp") {
			tmps = append(tmps, path)
		}
		return nil
	})
	if len(tmps) != 0 {
		t.Errorf("after a restart, unfinished segments remain: %v", tmps)
	}
	d2.stop(30*time.Second, "after the restart")
}

// TestServePredictionLogErrors: bad prediction log settings are usage
// errors (exit 2) naming the flag or key.
func TestServePredictionLogErrors(t *testing.T) {
	repo, _ := lrRepo(t)
	tmp := t.TempDir()
	for _, c := range []struct {
		config string
		args   []string
		want   string
	}{
		{`{"prediction_log": {"hash_id": true}}`, []string{"--prediction-log", filepath.Join(tmp, "a")}, "--prediction-log-key"},
		{`{"prediction_log": {"sample_rate": 2}}`, []string{"--prediction-log", filepath.Join(tmp, "b")}, "sample_rate 2: want 0 to 1"},
		{`{"prediction_log": {"sampel_rate": 1}}`, []string{"--prediction-log", filepath.Join(tmp, "c")}, "sampel_rate"},
		{`{"models": [{"name": "lr", "log": {"sample_rate": 0.5}}]}`, nil, "prediction log is off"},
		{`{}`, []string{"--prediction-log", filepath.Join(tmp, "d"), "--prediction-log-sample-rate", "-0.5"}, "-0.5"},
	} {
		cfg := filepath.Join(tmp, "serve.json")
		writeFile(t, cfg, c.config)
		res := predictd(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--repo", repo, "--config", cfg}, c.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("serve %s %q = exit %d %s, want 2 naming %q", c.config, c.args, res.code, res.stderr, c.want)
		}
	}
}

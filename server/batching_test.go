package server

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/batcher"
)

// TestDeadlines checks that a request whose timeout has passed before it
// is computed is answered 504, with batching on and off, and that a
// malformed X-Request-Timeout is refused.
func TestDeadlines(t *testing.T) {
	for _, off := range []bool{false, true} {
		s := newTestServer(t, Options{DisableBatching: off, DefaultModel: ModelOptions{Batching: BatchingAlways}})
		body := `{"instances": [` + lrRow + `]}`
		for _, c := range []struct {
			header []string
			uri    string
			body   string
			code   int
			want   string
		}{
			{[]string{"X-Request-Timeout", "1ns"}, "/v1/models/lr:predict", body, 504, "timeout of 1ns passed"},
			{[]string{"X-Request-Timeout", "1ns"}, "/v1/models/lr:predict", body, 504, "(X-Request-Timeout, OIP parameters.timeout, or the model's timeout setting)"},
			{[]string{"X-Request-Timeout", "10s"}, "/v1/models/lr:predict", body, 200, "predictions"},
			{[]string{"X-Request-Timeout", "250"}, "/v1/models/lr:predict", body, 200, "predictions"},
			{[]string{"X-Request-Timeout", "soon"}, "/v1/models/lr:predict", body, 400, "X-Request-Timeout"},
			{[]string{"X-Request-Timeout", "-5ms"}, "/v1/models/lr:predict", body, 400, "X-Request-Timeout"},
			{nil, "/v2/models/lr/infer", `{"parameters": {"timeout": 1}, "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": ` + lrRow + `}]}`, 504, "timeout of 1µs passed"},
		} {
			code, got, _ := call(s, "POST", c.uri, c.body, c.header...)
			if code != c.code || !strings.Contains(got, c.want) {
				t.Errorf("batching off=%v, %v: %d %s, want %d containing %q", off, c.header, code, got, c.code, c.want)
			}
		}
	}
}

// TestModelTimeout checks a model's default timeout applies when the
// request sets none.
func TestModelTimeout(t *testing.T) {
	s := newTestServer(t, Options{Models: map[string]ModelOptions{"lr": {Timeout: time.Nanosecond, Batching: BatchingAlways}}})
	if code, body, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`); code != 504 {
		t.Errorf("lr with a 1ns model timeout: %d %s, want 504", code, body)
	}
	if code, body, _ := call(s, "POST", "/v1/models/trees:predict", `{"instances": [[1,2,3,4,5,6,7,8,9,10]]}`); code != 200 {
		t.Errorf("trees with no timeout: %d %s, want 200", code, body)
	}
}

// TestBatcherErrorStatuses checks how the batcher's refusals reach the
// client.
func TestBatcherErrorStatuses(t *testing.T) {
	s := newTestServer(t, DefaultOptions())
	for _, c := range []struct {
		err        error
		code       int
		retryAfter string
	}{
		{batcher.ErrQueueFull, 503, "1"},
		{batcher.ErrClosed, 503, "1"},
		{batcher.ErrDeadline, 504, ""},
		{errors.New("something else"), 500, ""},
	} {
		ctx := new(fasthttp.RequestCtx)
		code := s.writeError(ctx, c.err)
		if code != c.code || ctx.Response.StatusCode() != c.code || string(ctx.Response.Header.Peek("Retry-After")) != c.retryAfter {
			t.Errorf("writeError(%v) = %d (response %d, Retry-After %q), want %d and %q", c.err, code, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Retry-After"), c.code, c.retryAfter)
		}
	}
}

// TestBatchMetrics checks the batcher's series appear on /metrics.
func TestBatchMetrics(t *testing.T) {
	s := newTestServer(t, Options{DefaultModel: ModelOptions{Batching: BatchingAlways}})
	for i := 0; i < 5; i++ {
		call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`)
	}
	fams, _ := scrape(t, s)
	lr := []string{"model", "lr", "version", "1"}
	for _, c := range []struct {
		name   string
		labels []string
		count  uint64
	}{
		{"predictd_batch_rows", lr, 5},
		{"predictd_batch_queue_wait_seconds", lr, 5},
		{"predictd_batch_compute_seconds", lr, 5},
		{"predictd_batch_rows", []string{"model", "trees", "version", "1"}, 0},
	} {
		if got := find(fams, c.name, c.labels...).GetHistogram(); got == nil || got.GetSampleCount() != c.count {
			t.Errorf("/metrics: %s%q = %v, want a histogram of %d", c.name, c.labels, got, c.count)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"predictd_batch_shed_total", lr},
		{"predictd_batch_wait_seconds", lr},
		{"predictd_batch_cost_per_row_seconds", []string{"model", "trees", "version", "1"}},
	} {
		if got := value(fams, c.name, c.labels...); math.IsNaN(got) || strings.HasSuffix(c.name, "_total") && got != 0 {
			t.Errorf("/metrics: %s%q = %v, want a value (0 for a count)", c.name, c.labels, got)
		}
	}
}

// TestBatchingModes checks which versions get a batcher: never and
// --batching=false win over always; auto decides by measurement (not
// asserted here: it is a timing) and says so in the log.
func TestBatchingModes(t *testing.T) {
	var logged []string
	opts := Options{
		Models: map[string]ModelOptions{"lr": {Batching: BatchingNever}, "trees": {Batching: BatchingAlways}},
		Logf:   func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) },
	}
	s := newTestServer(t, opts)
	got := map[string]bool{}
	s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		got[vs.name] = vs.batcher != nil
		return true
	})
	if got["lr"] || !got["trees"] {
		t.Errorf("batchers: %v, want lr (never) without and trees (always) with", got)
	}
	opts.DisableBatching = true
	s = newTestServer(t, opts)
	s.versions.Range(func(k, _ any) bool {
		if vs := k.(*versionState); vs.batcher != nil {
			t.Errorf("DisableBatching: %s has a batcher", vs.name)
		}
		return true
	})
	logged = nil
	s = newTestServer(t, Options{Logf: opts.Logf})
	if len(logged) != 2 || !strings.Contains(strings.Join(logged, "\n"), "a row in a batch of 64") {
		t.Errorf("auto mode logged %q, want a verdict per model with its measurements", logged)
	}
}

func TestCalibrationPays(t *testing.T) {
	us := time.Microsecond
	for _, c := range []struct {
		single, perRow time.Duration
		want           bool
	}{
		{60 * us, 40 * us, false}, // the 3x512 MLP here: saves 20 µs but keeps 2/3 of the cost
		{100 * us, 20 * us, true}, // fixed cost dominates
		{4 * us, 1 * us, false},   // ratio fine, saving too small to pay for the handoff
		{20 * us, 10 * us, true},  // exactly on both bounds
		{100 * us, 100 * us, false},
	} {
		if got := (calibration{Single: c.single, PerRowInBatch: c.perRow}).pays(); got != c.want {
			t.Errorf("calibration{single %s, per row %s}.pays() = %v, want %v", c.single, c.perRow, got, c.want)
		}
	}
}

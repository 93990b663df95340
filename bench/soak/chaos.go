package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reloadEvent is one reload: a new version imported and picked up.
type reloadEvent struct {
	AtSeconds float64 `json:"at_seconds"`
	Model     string  `json:"model"`
	Version   int     `json:"version"`
	Trigger   string  `json:"trigger"` // admin, sighup or poll
	Seconds   float64 `json:"seconds_to_available"`
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
}

// outageEvent is one store outage.
type outageEvent struct {
	AtSeconds float64 `json:"at_seconds"`
	Kind      string  `json:"kind"` // pause (SIGSTOP/SIGCONT) or kill (SIGKILL, restart)
	Seconds   float64 `json:"seconds"`
	Error     string  `json:"error,omitempty"`
}

// reloadSources are the fixtures a model's new versions are imported
// from, in turn.
var reloadSources = []struct{ model, from, file string }{
	{"wine", "xgboost", "testdata/xgboost/gbtree_multi_softprob.json"},
	{"mlp", "native", "testdata/native/mlp_multiclass_tanh.model.json"},
}

var reloadTriggers = []string{"admin", "sighup", "poll"}

// reloads imports a new version every --reload-every until ctx is done,
// triggering the daemon's rescan in turn by the admin API, SIGHUP and its
// own poll, and waits for the version to be AVAILABLE.
func (s *soak) reloads(ctx context.Context) {
	tick := time.NewTicker(s.cfg.reloadEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		src := reloadSources[i%len(reloadSources)]
		ev := reloadEvent{AtSeconds: round1(time.Since(s.stats.t0).Seconds()), Model: src.model, Trigger: reloadTriggers[i%len(reloadTriggers)]}
		err := s.reload(ctx, src.model, src.from, src.file, ev.Trigger, &ev)
		if ctx.Err() != nil {
			return // cut short by the end of the run: not a failure
		}
		ev.OK = err == nil
		if err != nil {
			ev.Error = err.Error()
			s.stats.event("reload", fmt.Sprintf("%s v%d by %s: %v", ev.Model, ev.Version, ev.Trigger, err))
		}
		s.mu.Lock()
		s.reloadEvents = append(s.reloadEvents, ev)
		s.mu.Unlock()
	}
}

func (s *soak) reload(ctx context.Context, model, from, file, trigger string, ev *reloadEvent) error {
	out, err := exec.CommandContext(ctx, s.cfg.predictd, "import", "--from", from, "--in", filepath.Join(s.cfg.root, file),
		"--repo", s.repo, "--name", model).CombinedOutput()
	if err != nil {
		return fmt.Errorf("import: %v: %s", err, out)
	}
	v, err := strconv.Atoi(filepath.Base(strings.TrimSpace(string(out))))
	if err != nil {
		return fmt.Errorf("import printed %q, want the version folder", out)
	}
	ev.Version = v
	start := time.Now()
	switch trigger {
	case "admin":
		s.do(ctx, s.client, kAdminReload, "POST", "/v1/admin/reload", nil, "Authorization", "Bearer "+s.token)
	case "sighup":
		s.daemon.p.signal(syscall.SIGHUP)
	}
	deadline := start.Add(s.cfg.reloadTimeout)
	for {
		state, err := s.versionState(ctx, model, v)
		if state == "AVAILABLE" {
			ev.Seconds = round1(time.Since(start).Seconds())
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("version %d not AVAILABLE after %v (state %q, %v)", v, s.cfg.reloadTimeout, state, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// versionState is the state GET /v1/models/NAME gives version v.
func (s *soak) versionState(ctx context.Context, model string, v int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.daemon.addr+"/v1/models/"+model, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var st struct {
		Versions []struct {
			Version string `json:"version"`
			State   string `json:"state"`
		} `json:"model_version_status"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	for _, x := range st.Versions {
		if x.Version == strconv.Itoa(v) {
			return x.State, nil
		}
	}
	return "", nil
}

// outages takes the store out every --outage-every for --outage-for,
// alternately hung (SIGSTOP) and gone (SIGKILL, restarted on the same
// port), the first half a period after it starts, none that would end
// within 2 grace periods of until. The store is always back when it
// returns.
func (s *soak) outages(ctx context.Context, until time.Time) {
	next := time.Now().Add(s.cfg.outageEvery / 2)
	for i := 0; ; i++ {
		if next.Add(s.cfg.outageFor + 2*s.cfg.outageGrace).After(until) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(s.cfg.outageEvery)
		ev := outageEvent{AtSeconds: round1(time.Since(s.stats.t0).Seconds()), Kind: "pause"}
		if i%2 == 1 {
			ev.Kind = "kill"
		}
		start := time.Now()
		s.stats.outageStart()
		if ev.Kind == "pause" {
			s.redis.pause()
		} else {
			s.redis.kill()
		}
		// Not cut short by ctx: the store must come back whatever.
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.outageFor):
		}
		if ev.Kind == "pause" {
			s.redis.resume()
		} else if err := s.redis.start(context.Background()); err != nil {
			ev.Error = err.Error()
			s.stats.event("store_restart", err.Error())
		}
		s.stats.outageEnd()
		ev.Seconds = round1(time.Since(start).Seconds())
		s.mu.Lock()
		s.outageEvents = append(s.outageEvents, ev)
		s.mu.Unlock()
	}
}

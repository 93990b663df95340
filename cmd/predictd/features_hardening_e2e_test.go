package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
)

// TestMaterializeHardening runs the real binary on the files issue 12
// found it accepting: event times it stored wrapped around (year 9999 read
// back as 1816, 0001 as 1754) or dated decades ahead (blocking every later
// update of the entity), two user_id columns, and a huge key field. Each
// exits 2 naming the line and column, and writes nothing.
func TestMaterializeHardening(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
	store := "pebble:" + filepath.Join(t.TempDir(), "features")
	defs := fixture.Path("features", "demo.yaml")
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	const head = "user_id,event_time,spend_7d,orders_30d,segment\n"
	good := "u1," + at(-time.Hour) + ",10,1,2\n" // line 2 of every file: a writer that did not check first would store it
	dir := t.TempDir()
	for i, c := range []struct {
		name, csv string
		args      []string
		want      string
	}{
		{"year 9999", head + good + "u2,9999-12-31T00:00:00Z,1,1,1\n", nil, `:3: column "event_time": "9999-12-31T00:00:00Z" is outside the years 1678..2262`},
		{"year 1", head + good + "u2,0001-01-01T00:00:00Z,1,1,1\n", nil, `:3: column "event_time": "0001-01-01T00:00:00Z" is outside the years 1678..2262`},
		{"year 2100", head + good + "u2,2100-01-01T00:00:00Z,1,1,1\n", nil, `:3: column "event_time": 2100-01-01T00:00:00Z is`},
		{"2h ahead, --max-future 1h", head + good + "u2," + at(2*time.Hour) + ",1,1,1\n", []string{"--max-future", "1h"}, `:3: column "event_time": ` + at(2*time.Hour) + ` is `},
		{"two user_id columns", "user_id,event_time,spend_7d,orders_30d,segment,user_id\n" + strings.TrimSuffix(good, "\n") + ",u9\n", nil, `:1: column "user_id" appears twice in the header, as columns 1 and 6`},
		{"NUL in key", head + good + "a\x00b," + at(-time.Hour) + ",1,1,1\n", nil, `:3: column "user_id": entity user: user_id "a\x00b" contains a NUL byte`},
		{"300-byte key", head + good + strings.Repeat("k", 300) + "," + at(-time.Hour) + ",1,1,1\n", nil, `:3: column "user_id": entity user: user_id "kkkk`},
		{"4 MB key", head + good + strings.Repeat("k", 4<<20) + "," + at(-time.Hour) + ",1,1,1\n", nil, `:3: record longer than 1048576 bytes`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".csv")
		writeFile(t, path, c.csv)
		args := append([]string{"materialize", "--features", defs, "--view", "user_stats", "--in", path, "--store", store}, c.args...)
		r := predictd(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, path+c.want) {
			t.Errorf("case %d, %s: exit %d, stderr %.400q; want exit 2 naming %s and containing %q", i, c.name, r.code, r.stderr, path, c.want)
		}
		if len(r.stderr) > 2000 {
			t.Errorf("%s: %d bytes on stderr; an error must not echo the input", c.name, len(r.stderr))
		}
	}
	r := predictd(t, "materialize", "--features", defs, "--view", "user_stats", "--in", filepath.Join(dir, "year_9999.csv"), "--store", store, "--max-future", "0s")
	if r.code != 2 || !strings.Contains(r.stderr, "--max-future 0s") {
		t.Errorf("--max-future 0s: exit %d, %q; want exit 2 naming the flag", r.code, r.stderr)
	}
	// Within the bound: written.
	path := filepath.Join(dir, "ahead.csv")
	writeFile(t, path, head+"u3,"+at(2*time.Hour)+",7.5,1,2\n")
	if out := mustRun(t, "materialize", "--features", defs, "--view", "user_stats", "--in", path, "--store", store, "--max-future", "3h"); !strings.Contains(out, "1 written") {
		t.Errorf("row 2h ahead with --max-future 3h: %q, want 1 written", out)
	}

	d := startServe(t, nil, "--repo", repo, "--features", defs, "--store", store)
	c := d.client(false)
	for _, e := range []string{"u1", "u2"} {
		if code, body := do(t, c, "GET", d.url(false, "/v1/features/user_stats/"+e), nil); code != 200 || !strings.Contains(string(body), `"status":"missing"`) {
			t.Errorf("%s after refused files: %d %s, want missing (nothing written)", e, code, body)
		}
	}
	if code, body := do(t, c, "GET", d.url(false, "/v1/features/user_stats/u3"), nil); code != 200 || !strings.Contains(string(body), `"spend_7d":7.5`) {
		t.Errorf("u3: %d %s, want its row (spend 7.5)", code, body)
	}
}

// TestPushHardening pushes to the real daemon what issue 12 found
// mishandled: a NUL key (500), a 1 MB key and an event time in 2100
// (accepted), and a key with '/' (written, never read back).
func TestPushHardening(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
	store := "pebble:" + filepath.Join(t.TempDir(), "features")
	defs := fixture.Path("features", "demo.yaml")
	d := startServe(t, nil, "--repo", repo, "--features", defs, "--store", store)
	c := d.client(false)
	now := time.Now().UTC()
	push := func(entity any, at time.Time) (int, string) {
		t.Helper()
		body := map[string]any{"rows": []any{map[string]any{
			"entity": entity, "event_time": at.Format(time.RFC3339Nano),
			"values": map[string]any{"spend_7d": 1.5, "orders_30d": 2, "segment": nil}}}}
		code, resp := do(t, c, "POST", d.url(false, "/v1/features/user_stats"), body)
		return code, string(resp)
	}
	for _, tc := range []struct {
		name   string
		entity string
		at     time.Time
		want   string
	}{
		{"NUL key", "a\x00b", now, `row 0: field \"entity\": entity user: user_id \"a\\x00b\" contains a NUL byte`},
		{"1 MB key", strings.Repeat("k", 1<<20), now, `longer than the 256-byte limit on entity keys`},
		{"year 2100", "u1", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), `row 0: field \"event_time\": 2100-01-01T00:00:00Z is`},
		{"25h ahead", "u1", now.Add(25 * time.Hour), `in the future`},
	} {
		code, resp := push(tc.entity, tc.at)
		if code != 400 || !strings.Contains(resp, tc.want) {
			t.Errorf("push %s: %d %.300s, want 400 containing %s", tc.name, code, resp, tc.want)
		}
		if len(resp) > 2000 {
			t.Errorf("push %s: a %d-byte answer; an error must not echo the key", tc.name, len(resp))
		}
	}
	// The 2100 row was refused, so a row of now still applies.
	if code, resp := push("u1", now); code != 200 || !strings.Contains(resp, `"written":1`) {
		t.Errorf("push u1 now: %d %s, want written", code, resp)
	}
	for _, key := range []string{"a/b", "team/42/user", "50% off"} {
		if code, resp := push(key, now); code != 200 || !strings.Contains(resp, `"written":1`) {
			t.Errorf("push %q: %d %s, want written", key, code, resp)
			continue
		}
		u := d.url(false, "/v1/features/user_stats/"+strings.NewReplacer("/", "%2F", "%", "%25", " ", "%20").Replace(key))
		code, body := do(t, c, http.MethodGet, u, nil)
		var got struct{ Entity, Status string }
		if code != 200 || json.Unmarshal(body, &got) != nil || got.Entity != key || got.Status != "present" {
			t.Errorf("GET %s: %d %s, want key %q present", u, code, body, key)
		}
	}
	if code, body := do(t, c, "GET", d.url(false, "/v1/features/user_stats/a%00b"), nil); code != 400 || !strings.Contains(string(body), "NUL") {
		t.Errorf("GET key a%%00b: %d %s, want 400 naming the NUL byte", code, body)
	}
}

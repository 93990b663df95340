package dataset_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/tools/dataset"
)

const smallDefs = `
entities:
  - name: user
    join_key: user_id
    key_type: string
  - name: merchant
    join_key: merchant_id
    key_type: int
feature_views:
  - name: user_stats
    entity: user
    ttl: 1h
    source: users.csv
    features:
      - name: spend
        type: float
        default: 0
      - name: orders
        type: int
  - name: merchant_stats
    entity: merchant
    ttl: 1h
    source: merchants.csv
    features:
      - name: rate
        type: float
  - name: nowhere
    entity: merchant
    ttl: 1h
    features:
      - name: other
        type: float
`

const (
	goodEntities  = "user_id,merchant_id,event_timestamp,label\nu1,7,2026-11-20T01:00:00Z,1\nu2,8,2026-11-20T02:00:00Z,0\n"
	goodUsers     = "user_id,event_time,spend,orders\nu1,2026-11-20T00:30:00Z,1.5,2\n"
	goodMerchants = "merchant_id,event_time,rate\n7,2026-11-20T00:30:00Z,0.5\n"
)

// allViews as the only view asks errCase for Options.Views nil: every
// view the entity file has a join key for.
const allViews = "ALL"

// errCase writes the small case's files (overriding some), runs Build and
// returns its error.
func errCase(t *testing.T, files map[string]string, opts dataset.Options) (error, string) {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"defs.yaml": smallDefs, "entities.csv": goodEntities, "users.csv": goodUsers, "merchants.csv": goodMerchants}
	for k, v := range files {
		all[k] = v
	}
	for name, text := range all {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defs, err := featcache.LoadDefs(filepath.Join(dir, "defs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Defs, opts.DefsDir = defs, dir
	opts.Entities = filepath.Join(dir, "entities.csv")
	switch {
	case opts.Views == nil:
		opts.Views = []string{"user_stats", "merchant_stats"}
	case len(opts.Views) == 1 && opts.Views[0] == allViews:
		opts.Views = nil
	}
	out := filepath.Join(dir, "out", "train.parquet")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Out = out
	_, err = dataset.Build(context.Background(), opts)
	// Whatever happened, nothing is left in the output's folder but the
	// output (on success): no scratch files, no temporary output.
	ents, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range ents {
		if e.Name() != "train.parquet" || err != nil {
			t.Errorf("left in the output folder: %s (err %v)", e.Name(), err)
		}
	}
	return err, dir
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		opts  dataset.Options
		want  []string // substrings of the error; DIR is the case's folder
	}{
		{"no timestamp column", map[string]string{"entities.csv": "user_id,merchant_id,ts\nu1,7,2026-11-20T01:00:00Z\n"}, dataset.Options{},
			[]string{"DIR/entities.csv has no timestamp column \"event_timestamp\"", "user_id, merchant_id, ts", "--timestamp-column"}},
		{"no join key column", map[string]string{"entities.csv": "user_id,event_timestamp\nu1,2026-11-20T01:00:00Z\n"}, dataset.Options{},
			[]string{"DIR/entities.csv has no column \"merchant_id\"", "view merchant_stats"}},
		{"no join key of any view", map[string]string{"entities.csv": "id,event_timestamp\nu1,2026-11-20T01:00:00Z\n"}, dataset.Options{Views: []string{}},
			[]string{"Views is empty"}},
		{"bad time", map[string]string{"entities.csv": goodEntities + "u3,9,2026-13-01T00:00:00Z,1\n"}, dataset.Options{},
			[]string{"DIR/entities.csv:4: column \"event_timestamp\"", "2026-13-01T00:00:00Z", "RFC 3339"}},
		{"missing time", map[string]string{"entities.csv": goodEntities + "u3,9,,1\n"}, dataset.Options{},
			[]string{"DIR/entities.csv:4: column \"event_timestamp\"", "missing"}},
		{"bad int key", map[string]string{"entities.csv": goodEntities + "u3,x9,2026-11-20T01:00:00Z,1\n"}, dataset.Options{},
			[]string{"DIR/entities.csv:4: column \"merchant_id\"", "\"x9\" is not an int64"}},
		{"missing key", map[string]string{"entities.csv": goodEntities + ",9,2026-11-20T01:00:00Z,1\n"}, dataset.Options{},
			[]string{"DIR/entities.csv:4: column \"user_id\"", "missing"}},
		{"source lacks a feature", map[string]string{"users.csv": "user_id,event_time,spend\nu1,2026-11-20T00:30:00Z,1\n"}, dataset.Options{},
			[]string{"DIR/users.csv, the source of view user_stats, has no column \"orders\""}},
		{"source lacks event_time", map[string]string{"users.csv": "user_id,time,spend,orders\n"}, dataset.Options{},
			[]string{"DIR/users.csv, the source of view user_stats, has no column \"event_time\""}},
		{"source bad value", map[string]string{"users.csv": goodUsers + "u2,2026-11-20T00:30:00Z,1,2.5\n"}, dataset.Options{},
			[]string{"DIR/users.csv:3: column \"orders\"", "integer"}},
		{"source bad number", map[string]string{"users.csv": goodUsers + "u2,2026-11-20T00:30:00Z,abc,2\n"}, dataset.Options{},
			[]string{"DIR/users.csv:3: column \"spend\"", "\"abc\" is not a finite number"}},
		{"source bad key", map[string]string{"merchants.csv": goodMerchants + "7.5,2026-11-20T00:30:00Z,1\n"}, dataset.Options{},
			[]string{"DIR/merchants.csv:3: column \"merchant_id\"", "not an int64"}},
		{"source bad time", map[string]string{"merchants.csv": goodMerchants + "7,yesterday,1\n"}, dataset.Options{},
			[]string{"DIR/merchants.csv:3: column \"event_time\"", "\"yesterday\""}},
		{"source absent file", map[string]string{}, dataset.Options{Sources: map[string]string{"user_stats": "/nonexistent/u.csv"}},
			[]string{"source of view user_stats", "/nonexistent/u.csv"}},
		{"no source", map[string]string{}, dataset.Options{Views: []string{"nowhere"}},
			[]string{"view nowhere has no source", "--source nowhere=PATH"}},
		{"source for an unknown view", map[string]string{}, dataset.Options{Sources: map[string]string{"nope": "x.csv"}},
			[]string{"view \"nope\", which the feature definitions do not define"}},
		{"unknown view", map[string]string{}, dataset.Options{Views: []string{"nope"}},
			[]string{"view \"nope\" is not defined"}},
		{"name clash with an entity column", map[string]string{"entities.csv": "user_id,merchant_id,event_timestamp,spend\nu1,7,2026-11-20T01:00:00Z,1\n"}, dataset.Options{},
			[]string{"output column \"spend\" of view user_stats would clash with a column of the entity file", "--full-feature-names"}},
		{"name clash across views", map[string]string{"defs.yaml": smallDefs + `
  - name: more_user_stats
    entity: user
    ttl: 1h
    source: users.csv
    features:
      - name: spend
        type: float
`}, dataset.Options{Views: []string{"user_stats", "more_user_stats"}},
			[]string{"output column \"spend\" of view more_user_stats would clash with a feature of view user_stats", "--full-feature-names"}},
		{"memory too small", map[string]string{}, dataset.Options{MemoryBytes: 1000},
			[]string{"Options.MemoryBytes is 1000, want at least 1048576"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err, dir := errCase(t, c.files, c.opts)
			if err == nil {
				t.Fatalf("Build succeeded, want an error with %q", c.want)
			}
			for _, w := range c.want {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestErrorKeepsOutput: a failed build leaves an existing output file as
// it was.
func TestErrorKeepsOutput(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"defs.yaml": smallDefs, "entities.csv": goodEntities, "users.csv": goodUsers + "u2,2026-11-20T00:30:00Z,1,2.5\n", "merchants.csv": goodMerchants} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defs, err := featcache.LoadDefs(filepath.Join(dir, "defs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "train.parquet")
	if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = dataset.Build(context.Background(), dataset.Options{Defs: defs, DefsDir: dir, Entities: filepath.Join(dir, "entities.csv"), Out: out, Views: []string{"user_stats"}})
	if err == nil {
		t.Fatal("Build succeeded on a bad source")
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Errorf("output is %q after a failed build, want it unchanged", b)
	}
}

// TestDefaultViews: with no views named, every view whose join key is a
// column of the entity file; a view without a source among them is an
// error naming it, and a file with no view's join key is an error listing
// them.
func TestDefaultViews(t *testing.T) {
	all := dataset.Options{Views: []string{allViews}}
	if err, _ := errCase(t, map[string]string{"entities.csv": "user_id,event_timestamp\nu1,2026-11-20T01:00:00Z\n"}, all); err != nil {
		t.Errorf("user_id only (user_stats): %v", err)
	}
	err, _ := errCase(t, map[string]string{}, all)
	if err == nil || !strings.Contains(err.Error(), "view nowhere has no source") {
		t.Errorf("user_id and merchant_id (user_stats, merchant_stats, nowhere): error %v, want one naming view nowhere", err)
	}
	err, _ = errCase(t, map[string]string{"entities.csv": "id,event_timestamp\nu1,2026-11-20T01:00:00Z\n"}, all)
	if err == nil || !strings.Contains(err.Error(), "has no join key column of any feature view") || !strings.Contains(err.Error(), "user_stats: user_id") {
		t.Errorf("no join key: error %v, want one listing the views' join keys", err)
	}
}

// TestParquetErrorsNameRow: a bad value in a Parquet entity file is named
// by its row: the oracle's entities.parquet read with user_id declared an
// int key.
func TestParquetErrorsNameRow(t *testing.T) {
	dir := t.TempDir()
	defs, err := featcache.ParseDefs([]byte(`
entities:
  - {name: user, join_key: user_id, key_type: int}
feature_views:
  - name: v
    entity: user
    ttl: 1h
    source: v.csv
    features:
      - {name: x, type: float}
`), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v.csv"), []byte("user_id,event_time,x\n1,2026-11-20T00:00:00Z,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ents := filepath.Join(oracleDir, "entities.parquet")
	_, err = dataset.Build(context.Background(), dataset.Options{Defs: defs, DefsDir: dir, Entities: ents, Out: filepath.Join(dir, "o.parquet")})
	want := ents + ` row 0: column "user_id": entity user: user_id "u013" is not an int64`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

// TestCancel: a cancelled context stops Build with its error, and nothing
// is left beside the output.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "train.parquet")
	_, err := dataset.Build(ctx, dataset.Options{Defs: loadDefs(t), DefsDir: oracleDir, Entities: filepath.Join(oracleDir, "entities.csv"), Out: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build with a cancelled context: %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the output folder: %v", ents)
	}
}

package dataset_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/tools/dataset"
)

// TestNoLeakage: on random unsorted inputs, every feature value in the
// output comes from a source row timed at or before its entity row's
// timestamp and less than the TTL before it. Each source row's feature is
// its own event time (Unix seconds), so the value says which row it came
// from; a row given the default (-1) must have no such row.
func TestNoLeakage(t *testing.T) {
	const ttl = 3 * time.Hour
	defsText := fmt.Sprintf(`
entities:
  - name: user
    join_key: user_id
    key_type: int
feature_views:
  - name: v
    entity: user
    ttl: %s
    source: v.csv
    features:
      - name: t
        type: int
        default: -1
`, ttl)
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for round := range 5 {
		rng := rand.New(rand.NewPCG(uint64(round), 99))
		dir := t.TempDir()
		var src strings.Builder
		src.WriteString("user_id,event_time,t\n")
		type srow struct {
			key int
			at  time.Time
		}
		var rows []srow
		for range 3000 {
			r := srow{rng.IntN(100), t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)}
			rows = append(rows, r)
			fmt.Fprintf(&src, "%d,%s,%d\n", r.key, r.at.Format(time.RFC3339), r.at.Unix())
		}
		var ents strings.Builder
		ents.WriteString("event_timestamp,user_id\n")
		type erow struct {
			key int
			at  time.Time
		}
		var es []erow
		for range 2000 {
			e := erow{rng.IntN(110), t0.Add(time.Duration(rng.IntN(80*60)) * time.Minute)}
			es = append(es, e)
			fmt.Fprintf(&ents, "%s,%d\n", e.at.Format(time.RFC3339), e.key)
		}
		for name, text := range map[string]string{"defs.yaml": defsText, "v.csv": src.String(), "e.csv": ents.String()} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		defs, err := featcache.LoadDefs(filepath.Join(dir, "defs.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "train.parquet")
		if _, err := dataset.Build(context.Background(), dataset.Options{Defs: defs, DefsDir: dir, Entities: filepath.Join(dir, "e.csv"), Out: out, MemoryBytes: dataset.MinMemoryBytes}); err != nil {
			t.Fatal(err)
		}
		_, got := readOut(t, out)
		if len(got) != len(es) {
			t.Fatalf("%d rows, want %d", len(got), len(es))
		}
		present := 0
		for i, e := range es {
			v := got[i][2].num
			if got[i][2].null || !got[i][0].tm.Equal(e.at) || got[i][1].num != float64(e.key) {
				t.Fatalf("row %d = %+v, want entity %d at %s", i, got[i], e.key, e.at)
			}
			if v == -1 {
				for _, r := range rows {
					if r.key == e.key && !r.at.After(e.at) && e.at.Sub(r.at) < ttl {
						t.Fatalf("row %d (user %d at %s) has the default, but source row at %s is fresh", i, e.key, e.at, r.at)
					}
				}
				continue
			}
			present++
			at := time.Unix(int64(v), 0)
			if at.After(e.at) {
				t.Fatalf("LEAK: row %d (user %d at %s) has a value from %s, after its timestamp", i, e.key, e.at, at)
			}
			if e.at.Sub(at) >= ttl {
				t.Fatalf("row %d (user %d at %s) has a value from %s, %s old (TTL %s)", i, e.key, e.at, at, e.at.Sub(at), ttl)
			}
		}
		if present < len(es)/4 {
			t.Fatalf("only %d of %d rows present: the case tests little", present, len(es))
		}
	}
}

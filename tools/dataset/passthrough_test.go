package dataset

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/table"
)

// TestParquetPassthrough: a Parquet entity file's columns come out with
// their types and values: BOOLEAN, INT64 past 2^53 (read exactly, not
// through a float64), an integer join key, a TIMESTAMP that is not the
// timestamp column, strings, and nulls in each.
func TestParquetPassthrough(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	big := int64(1)<<60 + 1 // not exact as a float64
	ents := filepath.Join(dir, "e.parquet")
	f, err := os.Create(ents)
	if err != nil {
		t.Fatal(err)
	}
	w := newOutWriter(f, []string{"k", "ts", "flag", "big", "other_time", "s"}, []outKind{outInt, outTime, outBool, outInt, outTime, outString})
	type row struct {
		k     int64
		flag  *bool
		big   *int64
		other *time.Time
		s     *string
	}
	yes, str := true, "a,b \"c\""
	rows := []row{{7, &yes, &big, &t0, &str}, {-3, nil, nil, nil, nil}}
	for _, r := range rows {
		w.begin()
		w.addInt(r.k)
		w.addInt(t0.UnixNano())
		if r.flag != nil {
			w.addBool(*r.flag)
		} else {
			w.addNull()
		}
		if r.big != nil {
			w.addInt(*r.big)
		} else {
			w.addNull()
		}
		if r.other != nil {
			w.addInt(r.other.UnixNano())
		} else {
			w.addNull()
		}
		if r.s != nil {
			w.addString(*r.s)
		} else {
			w.addNull()
		}
		if err := w.end(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	src := filepath.Join(dir, "v.csv")
	if err := os.WriteFile(src, []byte("k,event_time,x\n7,2026-11-20T00:30:00Z,1.5\n-3,2026-11-19T00:30:00Z,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defs, err := featcache.ParseDefs([]byte(`
entities:
  - {name: e, join_key: k, key_type: int}
feature_views:
  - {name: v, entity: e, ttl: 1h, source: v.csv, features: [{name: x, type: float, default: -1}]}
`), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.parquet")
	if _, err := Build(context.Background(), Options{Defs: defs, DefsDir: dir, Entities: ents, Out: out, TimestampColumn: "ts"}); err != nil {
		t.Fatal(err)
	}
	r, err := table.Open(out, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for _, c := range r.Columns() {
		got = append(got, c.Name+":"+c.Type.String())
	}
	if want := "k:int ts:time flag:bool big:int other_time:time s:string x:float"; strings.Join(got, " ") != want {
		t.Errorf("columns %s, want %s", strings.Join(got, " "), want)
	}
	var c table.Chunk
	if _, err := r.Next(&c, 10); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	var cells []string
	for i := range c.Len() {
		for j := range r.Columns() {
			if c.Null(j, i) {
				cells = append(cells, "null")
			} else {
				cells = append(cells, c.Text(j, i))
			}
		}
	}
	want := "7 2026-11-20T01:00:00Z true 1152921504606846977 2026-11-20T01:00:00Z a,b \"c\" 1.5 " +
		"-3 2026-11-20T01:00:00Z null null null null -1"
	if strings.Join(cells, " ") != want {
		t.Errorf("cells\n%s\nwant\n%s", strings.Join(cells, " "), want)
	}
}

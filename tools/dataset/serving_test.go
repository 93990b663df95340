package dataset_test

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/tools/dataset"
	"github.com/predictd/predictd/tools/materialize"
)

// memStore is a featcache.Store in a map, newer-wins as every store is.
type memStore struct {
	mu   sync.Mutex
	rows map[featcache.Key]featcache.Record
}

func (m *memStore) Put(_ context.Context, view string, rows []featcache.Row) (int, error) {
	if err := featcache.CheckPut(view, rows); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range rows {
		k := featcache.Key{View: view, Entity: r.Entity}
		if old, ok := m.rows[k]; ok && !r.EventTime.After(old.EventTime) {
			continue
		}
		m.rows[k] = featcache.Record{Found: true, EventTime: r.EventTime, Values: append([]float64(nil), r.Values...)}
		n++
	}
	return n, nil
}

func (m *memStore) Get(_ context.Context, keys []featcache.Key, dst []featcache.Record) ([]featcache.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		r := m.rows[k]
		r.Values = append([]float64(nil), r.Values...)
		dst = append(dst, r)
	}
	return dst, nil
}

func (m *memStore) Close() error { return nil }

type keyRow []string

func (k keyRow) EntityKey(_, key int) string { return k[key] }

// TestServingAgrees holds the training set to what serving would have
// filled at each entity row's timestamp: for every fifth row of the oracle's
// entity file, each view's source is bulk-loaded with materialize as of
// that timestamp (the latest row per entity at or before it, the first of
// equal times) into a fresh store, and the serving join (featcache's
// JoinPlan, Service and Join, its clock at the timestamp) fills a model's
// row of every feature; the dataset's row must hold the same values (a
// model that takes missing values, so a stored NaN is served as NaN).
func TestServingAgrees(t *testing.T) {
	defs := loadDefs(t)
	out, st := build(t, dataset.Options{Entities: filepath.Join(oracleDir, "entities.csv")})
	_, got := readOut(t, out)
	var feats []string
	for _, v := range defs.Views {
		for _, f := range v.Features {
			feats = append(feats, f.Name)
		}
	}
	plan, err := featcache.NewJoinPlan(defs, featcache.ModelInputs{Kind: "trees", Features: feats, AllowMissing: true,
		FeatureViews: []string{"user_stats", "user_profile", "merchant_stats"}})
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readCSV(t, filepath.Join(oracleDir, "entities.csv"))
	ctx := context.Background()
	nEnt := len(st.Columns) - len(feats)
	given := make([]bool, len(feats))
	vals := make([]float64, len(feats))
	checked, values := 0, 0
	for i, r := range rows {
		if i%5 != 0 { // a fifth of the rows keeps the test quick (under -race too)
			continue
		}
		ts, err := time.Parse(time.RFC3339, r[3])
		if err != nil {
			t.Fatal(err)
		}
		store := &memStore{rows: map[featcache.Key]featcache.Record{}}
		for _, v := range defs.Views {
			_, err := materialize.File(ctx, store, filepath.Join(oracleDir, v.Source), materialize.Options{
				View: v, Until: ts, Now: func() time.Time { return ts }})
			if err != nil {
				t.Fatal(err)
			}
		}
		svc, err := featcache.NewService(defs, store, featcache.CacheOptions{Now: func() time.Time { return ts }})
		if err != nil {
			t.Fatal(err)
		}
		keys := make(keyRow, plan.NumKeys())
		for k := range keys {
			switch plan.Key(k).JoinKey {
			case "user_id":
				keys[k] = r[1]
			case "merchant_id":
				keys[k] = r[2]
			}
		}
		var j featcache.Join
		if err := j.Select(plan, 1, keys, given, false); err != nil {
			t.Fatal(err)
		}
		if err := j.Read(ctx, svc, time.Time{}); err != nil {
			t.Fatal(err)
		}
		j.Fill(plan, vals, 1, given)
		svc.Close()
		for f, name := range feats {
			c := got[i][nEnt+f]
			if st.Columns[nEnt+f] != name {
				t.Fatalf("column %d is %s, want %s", nEnt+f, st.Columns[nEnt+f], name)
			}
			same := (c.null && math.IsNaN(vals[f])) || (!c.null && c.num == vals[f])
			if !c.null {
				values++
			}
			if !same {
				t.Errorf("row %d (%v): %s = %+v in the training set, %v served", i, r[:4], name, c, vals[f])
			}
		}
		checked++
	}
	if checked < 120 || values < checked {
		t.Fatalf("checked %d rows, %d values", checked, values)
	}
}

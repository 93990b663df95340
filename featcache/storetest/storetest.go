// Package storetest is the conformance suite every featcache.Store runs:
// the behaviour callers may rely on whatever the backend (round trip of
// any float64 bits, absent keys, event-time ordering of writes, batch Get
// order, concurrency, rejected keys, use after Close, durability).
//
// Run and Reopen call t.Run and t.Parallel-free subtests; the store under
// test must be safe for concurrent use, as featcache.Store requires.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

// base is a fixed event time; tests step from it.
var base = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Run runs the suite. open must return a new, empty store for each call;
// the suite closes every store it opens (once), and open may register
// t.Cleanup for anything else (temporary directories, namespaces).
func Run(t *testing.T, open func(t *testing.T) featcache.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, openClosing(t, open)) })
	t.Run("Absent", func(t *testing.T) { testAbsent(t, openClosing(t, open)) })
	t.Run("EventOrder", func(t *testing.T) { testEventOrder(t, openClosing(t, open)) })
	t.Run("EventOrderWithinPut", func(t *testing.T) { testEventOrderWithinPut(t, openClosing(t, open)) })
	t.Run("ManyViews", func(t *testing.T) { testManyViews(t, openClosing(t, open)) })
	t.Run("Get100", func(t *testing.T) { testGet100(t, openClosing(t, open)) })
	t.Run("Ownership", func(t *testing.T) { testOwnership(t, openClosing(t, open)) })
	t.Run("RejectNUL", func(t *testing.T) { testRejectNUL(t, openClosing(t, open)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, openClosing(t, open)) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
}

// Reopen checks durability: rows acknowledged by Put before Close are
// there after reopen opens the same location again. open creates the
// store; reopen must open what the last open (or reopen) used.
func Reopen(t *testing.T, open, reopen func(t *testing.T) featcache.Store) {
	ctx := context.Background()
	s := open(t)
	rows := makeRows(50, 7, base)
	mustPut(t, s, "v", rows, 50)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = reopen(t)
	defer closeStore(t, s)
	recs, err := s.Get(ctx, keysOf("v", rows), nil)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	for i, r := range rows {
		checkRecord(t, fmt.Sprintf("after reopen, row %d", i), recs[i], r)
	}
	// The reopened store still orders by event time.
	mustPut(t, s, "v", rows[:1], 0)
}

func openClosing(t *testing.T, open func(t *testing.T) featcache.Store) featcache.Store {
	s := open(t)
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

func closeStore(t *testing.T, s featcache.Store) {
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// makeRows returns n rows of entities "e0".."e<n-1>" with nf features
// each, distinct values per row, all at time at.
func makeRows(n, nf int, at time.Time) []featcache.Row {
	rows := make([]featcache.Row, n)
	for i := range rows {
		vals := make([]float64, nf)
		for j := range vals {
			vals[j] = float64(i*1000+j) + 0.25
		}
		rows[i] = featcache.Row{Entity: fmt.Sprintf("e%d", i), EventTime: at, Values: vals}
	}
	return rows
}

func keysOf(view string, rows []featcache.Row) []featcache.Key {
	keys := make([]featcache.Key, len(rows))
	for i, r := range rows {
		keys[i] = featcache.Key{View: view, Entity: r.Entity}
	}
	return keys
}

func mustPut(t *testing.T, s featcache.Store, view string, rows []featcache.Row, want int) {
	t.Helper()
	n, err := s.Put(context.Background(), view, rows)
	if err != nil {
		t.Fatalf("Put(%s, %d rows): %v", view, len(rows), err)
	}
	if n != want {
		t.Fatalf("Put(%s, %d rows) wrote %d, want %d", view, len(rows), n, want)
	}
}

func mustGet(t *testing.T, s featcache.Store, keys ...featcache.Key) []featcache.Record {
	t.Helper()
	recs, err := s.Get(context.Background(), keys, nil)
	if err != nil {
		t.Fatalf("Get(%v): %v", keys, err)
	}
	if len(recs) != len(keys) {
		t.Fatalf("Get(%d keys) returned %d records", len(keys), len(recs))
	}
	return recs
}

// checkRecord wants rec to hold row, bit for bit.
func checkRecord(t *testing.T, what string, rec featcache.Record, row featcache.Row) {
	t.Helper()
	if !rec.Found {
		t.Fatalf("%s: Found = false, want the row of %s at %v", what, row.Entity, row.EventTime)
	}
	if !rec.EventTime.Equal(row.EventTime) {
		t.Errorf("%s: EventTime = %v, want %v", what, rec.EventTime, row.EventTime)
	}
	if len(rec.Values) != len(row.Values) {
		t.Fatalf("%s: %d values, want %d", what, len(rec.Values), len(row.Values))
	}
	for i := range row.Values {
		if math.Float64bits(rec.Values[i]) != math.Float64bits(row.Values[i]) {
			t.Errorf("%s: value %d = %v, want %v (bit-exact)", what, i, rec.Values[i], row.Values[i])
		}
	}
}

func testRoundTrip(t *testing.T, s featcache.Store) {
	vals := make([]float64, 500)
	for i := range vals {
		vals[i] = float64(i) * 1.5
	}
	copy(vals, []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, math.MaxFloat64, -1e300})
	rows := []featcache.Row{
		{Entity: "wide", EventTime: base.Add(123456789), Values: vals},
		{Entity: "empty", EventTime: base, Values: nil},
		{Entity: "old", EventTime: time.Date(1950, 3, 4, 5, 6, 7, 8, time.UTC), Values: []float64{-7}},
		{Entity: "ünïcode 42", EventTime: base, Values: []float64{1}},
	}
	mustPut(t, s, "v", rows, len(rows))
	recs := mustGet(t, s, keysOf("v", rows)...)
	for i, r := range rows {
		checkRecord(t, fmt.Sprintf("Get(v/%s)", r.Entity), recs[i], r)
	}
}

func testAbsent(t *testing.T, s featcache.Store) {
	mustPut(t, s, "v", makeRows(1, 2, base), 1) // e0 in v
	recs := mustGet(t, s,
		featcache.Key{View: "v", Entity: "e1"},     // entity absent
		featcache.Key{View: "w", Entity: "e0"},     // view absent
		featcache.Key{View: "v", Entity: "e0"},     // present
		featcache.Key{View: "v", Entity: "e"},      // prefix of a stored entity
		featcache.Key{View: "v", Entity: "e00"},    // extension of a stored entity
		featcache.Key{View: "", Entity: "v"},       // odd but valid to ask
		featcache.Key{View: "v\x00e0", Entity: ""}) // must not alias v/e0
	for i, want := range []bool{false, false, true, false, false, false, false} {
		if recs[i].Found != want {
			t.Errorf("Get key %d: Found = %v, want %v (record %+v)", i, recs[i].Found, want, recs[i])
		}
		if !want && (len(recs[i].Values) != 0 || !recs[i].EventTime.IsZero()) {
			t.Errorf("Get key %d: absent record carries %+v, want the zero Record", i, recs[i])
		}
	}
}

func testEventOrder(t *testing.T, s featcache.Store) {
	row := func(at time.Duration, v float64) []featcache.Row {
		return []featcache.Row{{Entity: "u", EventTime: base.Add(at), Values: []float64{v}}}
	}
	key := featcache.Key{View: "v", Entity: "u"}
	mustPut(t, s, "v", row(2*time.Second, 2), 1)
	mustPut(t, s, "v", row(time.Second, 1), 0) // older: skipped
	checkRecord(t, "after older Put", mustGet(t, s, key)[0], row(2*time.Second, 2)[0])
	mustPut(t, s, "v", row(2*time.Second, 99), 0) // equal time: skipped
	checkRecord(t, "after equal-time Put", mustGet(t, s, key)[0], row(2*time.Second, 2)[0])
	mustPut(t, s, "v", row(2*time.Second+time.Nanosecond, 3), 1) // newer by 1ns
	checkRecord(t, "after newer Put", mustGet(t, s, key)[0], row(2*time.Second+time.Nanosecond, 3)[0])
	// Time before 1970 still orders below.
	mustPut(t, s, "v", row(-100*365*24*time.Hour, 4), 0)
	checkRecord(t, "after pre-1970 Put", mustGet(t, s, key)[0], row(2*time.Second+time.Nanosecond, 3)[0])
}

func testEventOrderWithinPut(t *testing.T, s featcache.Store) {
	rows := []featcache.Row{
		{Entity: "u", EventTime: base.Add(1), Values: []float64{1}},
		{Entity: "u", EventTime: base.Add(3), Values: []float64{3}},
		{Entity: "u", EventTime: base.Add(2), Values: []float64{2}},  // older than the row before
		{Entity: "u", EventTime: base.Add(3), Values: []float64{33}}, // equal
	}
	mustPut(t, s, "v", rows, 2)
	checkRecord(t, "after one Put of 4 rows of one entity", mustGet(t, s, featcache.Key{View: "v", Entity: "u"})[0], rows[1])
}

func testManyViews(t *testing.T, s featcache.Store) {
	const views, entities = 6, 60
	var keys []featcache.Key
	var want []featcache.Row
	for v := 0; v < views; v++ {
		view := fmt.Sprintf("view%d", v)
		rows := makeRows(entities, v+1, base.Add(time.Duration(v)*time.Minute))
		for i := range rows {
			rows[i].Values[0] = float64(v*100000 + i)
		}
		mustPut(t, s, view, rows, entities)
		for i, r := range rows {
			keys = append(keys, featcache.Key{View: view, Entity: r.Entity})
			want = append(want, rows[i])
		}
	}
	// Ask interleaved across views, in reverse.
	var ask []featcache.Key
	var askWant []featcache.Row
	for e := entities - 1; e >= 0; e-- {
		for v := 0; v < views; v++ {
			ask = append(ask, keys[v*entities+e])
			askWant = append(askWant, want[v*entities+e])
		}
	}
	recs := mustGet(t, s, ask...)
	for i := range ask {
		checkRecord(t, fmt.Sprintf("Get(%s/%s)", ask[i].View, ask[i].Entity), recs[i], askWant[i])
	}
}

func testGet100(t *testing.T, s featcache.Store) {
	rows := makeRows(100, 4, base)
	var stored []featcache.Row
	for i, r := range rows {
		if i%7 != 3 { // leave some absent
			stored = append(stored, r)
		}
	}
	mustPut(t, s, "v", stored, len(stored))
	keys := keysOf("v", rows)
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 { // reverse: not the write order
		keys[i], keys[j] = keys[j], keys[i]
		rows[i], rows[j] = rows[j], rows[i]
	}
	prev := featcache.Record{Found: true, EventTime: base, Values: []float64{-1}}
	recs, err := s.Get(context.Background(), keys, []featcache.Record{prev})
	if err != nil {
		t.Fatalf("Get(100 keys): %v", err)
	}
	if len(recs) != 101 {
		t.Fatalf("Get(100 keys) onto 1 record: %d records, want 101", len(recs))
	}
	if !recs[0].Found || recs[0].Values[0] != -1 {
		t.Errorf("Get changed dst's existing record to %+v", recs[0])
	}
	for i, r := range rows {
		var n int
		fmt.Sscanf(r.Entity, "e%d", &n)
		if n%7 == 3 {
			if recs[i+1].Found {
				t.Errorf("Get key %d (%s): Found = true for an absent key", i, r.Entity)
			}
			continue
		}
		checkRecord(t, fmt.Sprintf("Get key %d (%s)", i, r.Entity), recs[i+1], r)
	}
}

func testOwnership(t *testing.T, s featcache.Store) {
	rows := makeRows(2, 3, base)
	orig := append([]float64(nil), rows[0].Values...)
	mustPut(t, s, "v", rows, 2)
	rows[0].Values[0] = 12345 // the store must have copied
	keys := keysOf("v", rows)
	a := mustGet(t, s, keys...)
	if a[0].Values[0] != orig[0] {
		t.Fatalf("Get after the caller changed Put's values: %v, want %v", a[0].Values, orig)
	}
	for i := range a {
		for j := range a[i].Values {
			a[i].Values[j] = -9 // the caller owns Get's values
		}
	}
	b := mustGet(t, s, keys...)
	if b[0].Values[0] != orig[0] || b[1].Values[0] == -9 {
		t.Fatalf("Get after the caller changed an earlier Get's values: %v, %v", b[0].Values, b[1].Values)
	}
}

func testRejectNUL(t *testing.T, s featcache.Store) {
	rows := makeRows(4, 1, base)
	rows[2].Entity = "bad\x00entity"
	n, err := s.Put(context.Background(), "v", rows)
	if err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Fatalf("Put with row 2's entity holding 0x00 = %d, %v, want an error naming row 2", n, err)
	}
	if n != 0 {
		t.Errorf("Put with a rejected row wrote %d, want 0", n)
	}
	if recs := mustGet(t, s, keysOf("v", rows[:2])...); recs[0].Found || recs[1].Found {
		t.Errorf("Put with a rejected row stored the rows before it")
	}
	if _, err := s.Put(context.Background(), "v\x00w", makeRows(1, 1, base)); err == nil {
		t.Errorf("Put to a view holding 0x00: no error")
	}
}

func testConcurrent(t *testing.T, s featcache.Store) {
	const writers, readers, steps, entities = 4, 4, 25, 5
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := 1; step <= steps; step++ {
				rows := makeRows(entities, 2, base.Add(time.Duration(step)*time.Second))
				for i := range rows {
					rows[i].Entity = fmt.Sprintf("w%d-%s", w, rows[i].Entity)
					rows[i].Values[0] = float64(step)
				}
				// Every writer also writes a shared entity; all steps race.
				rows = append(rows, featcache.Row{Entity: "shared", EventTime: base.Add(time.Duration(step) * time.Second), Values: []float64{float64(step), 0}})
				if _, err := s.Put(ctx, "v", rows); err != nil {
					errs <- fmt.Errorf("writer %d step %d: %w", w, step, err)
					return
				}
			}
		}()
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := []featcache.Key{{View: "v", Entity: "shared"}, {View: "v", Entity: fmt.Sprintf("w%d-e0", r%writers)}}
			last := make([]float64, len(keys))
			var dst []featcache.Record
			for i := 0; i < steps*2; i++ {
				var err error
				dst, err = s.Get(ctx, keys, dst[:0])
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				for k, rec := range dst {
					if !rec.Found {
						continue
					}
					if rec.Values[0] < last[k] {
						errs <- fmt.Errorf("reader %d: %s went back from step %v to %v", r, keys[k].Entity, last[k], rec.Values[0])
						return
					}
					if !rec.EventTime.Equal(base.Add(time.Duration(rec.Values[0]) * time.Second)) {
						errs <- fmt.Errorf("reader %d: %s: torn record %+v", r, keys[k].Entity, rec)
						return
					}
					last[k] = rec.Values[0]
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var keys []featcache.Key
	for w := 0; w < writers; w++ {
		for e := 0; e < entities; e++ {
			keys = append(keys, featcache.Key{View: "v", Entity: fmt.Sprintf("w%d-e%d", w, e)})
		}
	}
	keys = append(keys, featcache.Key{View: "v", Entity: "shared"})
	for i, rec := range mustGet(t, s, keys...) {
		if !rec.Found || rec.Values[0] != steps || !rec.EventTime.Equal(base.Add(steps*time.Second)) {
			t.Errorf("after all writers, %s = %+v, want step %d", keys[i].Entity, rec, steps)
		}
	}
}

func testClosed(t *testing.T, s featcache.Store) {
	mustPut(t, s, "v", makeRows(1, 1, base), 1)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "v", makeRows(1, 1, base.Add(time.Hour))); err == nil {
		t.Errorf("Put after Close: no error")
	} else if !errors.Is(err, featcache.ErrClosed) {
		t.Logf("Put after Close: %v (does not wrap featcache.ErrClosed)", err)
	}
	if _, err := s.Get(ctx, []featcache.Key{{View: "v", Entity: "e0"}}, nil); err == nil {
		t.Errorf("Get after Close: no error")
	}
}

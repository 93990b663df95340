package pebblestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

var sinkRecords []featcache.Record

const (
	benchFeatures = 32 // values per row written by BenchmarkPut
	viewFeatures  = 20 // values per row of each view BenchmarkGet reads
	benchViews    = 3  // views BenchmarkGet reads per entity
)

func benchRows(n, first, features int, at time.Time) []featcache.Row {
	rows := make([]featcache.Row, n)
	for i := range rows {
		vals := make([]float64, features)
		for j := range vals {
			vals[j] = float64(i + j)
		}
		rows[i] = featcache.Row{Entity: fmt.Sprintf("user%d", first+i), EventTime: at, Values: vals}
	}
	return rows
}

func benchOpen(b *testing.B) *Store {
	s, err := Open(b.TempDir(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkGet is one request's lookup: entities × 3 views keys (20 float
// features a row) in one Get, from a store of 10,000 entities in each
// view, all in the block cache. The serving join reads this way on a
// cache miss.
func BenchmarkGet(b *testing.B) {
	const stored = 10000
	ctx := context.Background()
	s := benchOpen(b)
	for v := range benchViews {
		if _, err := s.Put(ctx, fmt.Sprintf("view%d", v), benchRows(stored, 0, viewFeatures, time.Unix(1, 0))); err != nil {
			b.Fatal(err)
		}
	}
	for _, entities := range []int{1, 100} {
		b.Run(fmt.Sprintf("entities=%d/views=%d", entities, benchViews), func(b *testing.B) {
			keys := make([]featcache.Key, 0, entities*benchViews)
			for v := range benchViews {
				for e := range entities {
					keys = append(keys, featcache.Key{View: fmt.Sprintf("view%d", v), Entity: fmt.Sprintf("user%d", (e*7919)%stored)})
				}
			}
			b.ReportAllocs()
			var dst []featcache.Record
			for b.Loop() {
				var err error
				dst, err = s.Get(ctx, keys, dst[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
			sinkRecords = dst
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
		})
	}
}

// BenchmarkPut writes calls of rows new rows (every row newer than the
// stored one), each call one synced batch.
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("features=%d/rows=%d", benchFeatures, n), func(b *testing.B) {
			s := benchOpen(b)
			rows := benchRows(n, 0, benchFeatures, time.Unix(1, 0))
			b.ReportAllocs()
			b.SetBytes(int64(n * (featcache.RecordHeaderBytes + 8*benchFeatures)))
			step := 0
			for b.Loop() {
				step++
				for i := range rows {
					rows[i].EventTime = time.Unix(int64(step), 0)
				}
				w, err := s.Put(ctx, "v", rows)
				if err != nil || w != n {
					b.Fatalf("Put = %d, %v, want %d", w, err, n)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

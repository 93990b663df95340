package pebblestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

var sinkRecords []featcache.Record

const benchFeatures = 32

func benchRows(n, first int, at time.Time) []featcache.Row {
	rows := make([]featcache.Row, n)
	for i := range rows {
		vals := make([]float64, benchFeatures)
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

// BenchmarkGet reads keys from a store of 10,000 entities × 32 features,
// all in the block cache.
func BenchmarkGet(b *testing.B) {
	const entities = 10000
	ctx := context.Background()
	s := benchOpen(b)
	if _, err := s.Put(ctx, "v", benchRows(entities, 0, time.Unix(1, 0))); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("features=%d/keys=%d", benchFeatures, n), func(b *testing.B) {
			keys := make([]featcache.Key, n)
			for i := range keys {
				keys[i] = featcache.Key{View: "v", Entity: fmt.Sprintf("user%d", (i*7919)%entities)}
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
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "keys/s")
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
			rows := benchRows(n, 0, time.Unix(1, 0))
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

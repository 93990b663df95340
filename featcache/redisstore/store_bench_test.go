package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

// Results go to package sinks so the compiler cannot drop the work.
var (
	sinkRecords []featcache.Record
	sinkWritten int
)

const benchFeatures = 8 // values per row

func benchRows(n int, t0 time.Time) []featcache.Row {
	rows := make([]featcache.Row, n)
	for i := range rows {
		vals := make([]float64, benchFeatures)
		for j := range vals {
			vals[j] = float64(i*benchFeatures + j)
		}
		rows[i] = featcache.Row{Entity: fmt.Sprintf("user-%06d", i), EventTime: t0, Values: vals}
	}
	return rows
}

// BenchmarkGet is one request's lookup: entities × views keys in one MGET
// against a local redis-server (loopback, so mostly client and server CPU).
func BenchmarkGet(b *testing.B) {
	srv := startRedis(b)
	s := openStore(b, srv)
	ctx := context.Background()
	const views = 3
	const stored = 1000
	rows := benchRows(stored, time.Unix(1_700_000_000, 0))
	for v := range views {
		if _, err := s.Put(ctx, fmt.Sprintf("view%d", v), rows); err != nil {
			b.Fatal(err)
		}
	}
	for _, entities := range []int{1, 100} {
		keys := make([]featcache.Key, 0, entities*views)
		for v := range views {
			for e := range entities {
				keys = append(keys, featcache.Key{View: fmt.Sprintf("view%d", v), Entity: rows[e*7%stored].Entity})
			}
		}
		b.Run(fmt.Sprintf("entities=%d/views=%d", entities, views), func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]featcache.Record, 0, len(keys))
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
		b.Run(fmt.Sprintf("entities=%d/views=%d/parallel", entities, views), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				dst := make([]featcache.Record, 0, len(keys))
				for pb.Next() {
					var err error
					dst, err = s.Get(ctx, keys, dst[:0])
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// BenchmarkPut writes batches of rows, each newer than the last so every
// row is stored (the script's GET, compare and SET all run).
func BenchmarkPut(b *testing.B) {
	srv := startRedis(b)
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("rows=%d", batch), func(b *testing.B) {
			s := openStore(b, srv)
			ctx := context.Background()
			rows := benchRows(batch, time.Unix(1_700_000_000, 0))
			b.ReportAllocs()
			b.SetBytes(int64(batch * (featcache.RecordHeaderBytes + 8*benchFeatures)))
			i := 0
			for b.Loop() {
				i++
				for r := range rows {
					rows[r].EventTime = time.Unix(1_700_000_000, int64(i))
				}
				n, err := s.Put(ctx, "view", rows)
				if err != nil || n != batch {
					b.Fatalf("Put = %d, %v; want %d, nil", n, err, batch)
				}
				sinkWritten = n
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

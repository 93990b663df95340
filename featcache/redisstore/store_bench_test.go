package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

// Results go to package sinks so the compiler cannot drop the work.
var (
	sinkRecords []featcache.Record
	sinkWritten int
)

const (
	benchFeatures = 8  // values per row written by BenchmarkPut
	viewFeatures  = 20 // values per row of each view BenchmarkGet reads
)

func benchRows(n, features int, t0 time.Time) []featcache.Row {
	rows := make([]featcache.Row, n)
	for i := range rows {
		vals := make([]float64, features)
		for j := range vals {
			vals[j] = float64(i*features + j)
		}
		rows[i] = featcache.Row{Entity: fmt.Sprintf("user-%06d", i), EventTime: t0, Values: vals}
	}
	return rows
}

// BenchmarkGet is one request's lookup: entities × 3 views keys (20 float
// features a row) in one MGET against a local redis-server (loopback, so
// mostly client and server CPU). The serving join reads this way on a
// cache miss.
func BenchmarkGet(b *testing.B) {
	srv := startRedis(b)
	s := openStore(b, srv)
	ctx := context.Background()
	const views = 3
	const stored = 1000
	rows := benchRows(stored, viewFeatures, time.Unix(1_700_000_000, 0))
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
			rows := benchRows(batch, benchFeatures, time.Unix(1_700_000_000, 0))
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

// BenchmarkGetRoundTrip is BenchmarkGet's entities=1/views=3 MGET two
// ways, to tell the client's cost from the round trip's: client=rueidis
// through Store.Get (decode and copy included), and client=raw, the same
// MGET written by hand on one net.Conn and its reply read without
// decoding: the floor for a loopback round trip on this machine.
func BenchmarkGetRoundTrip(b *testing.B) {
	srv := startRedis(b)
	s := openStore(b, srv)
	ctx := context.Background()
	const views = 3
	rows := benchRows(1, viewFeatures, time.Unix(1_700_000_000, 0))
	keys := make([]featcache.Key, 0, views)
	var cmd []byte
	cmd = fmt.Appendf(cmd, "*%d\r\n$4\r\nMGET\r\n", views+1)
	for v := range views {
		view := fmt.Sprintf("view%d", v)
		if _, err := s.Put(ctx, view, rows); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, featcache.Key{View: view, Entity: rows[0].Entity})
		_, name := s.key(nil, view, rows[0].Entity)
		cmd = fmt.Appendf(cmd, "$%d\r\n%s\r\n", len(name), name)
	}
	b.Run("client=rueidis", func(b *testing.B) {
		b.ReportAllocs()
		dst := make([]featcache.Record, 0, len(keys))
		for b.Loop() {
			var err error
			if dst, err = s.Get(ctx, keys, dst[:0]); err != nil || !dst[views-1].Found {
				b.Fatalf("Get = %v, %v", dst, err)
			}
		}
		sinkRecords = dst
	})
	b.Run("client=raw", func(b *testing.B) {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.Write(cmd); err != nil {
				b.Fatal(err)
			}
			// "*3\r\n" then three "$n\r\n<n bytes>\r\n".
			if _, err := r.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
			for range views {
				line, err := r.ReadSlice('\n')
				if err != nil || line[0] != '$' {
					b.Fatalf("reply %q: %v", line, err)
				}
				n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
				if _, err := r.Discard(n + 2); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

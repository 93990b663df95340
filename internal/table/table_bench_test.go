package table

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

var benchSink float64

const benchRows = 100_000

// benchFiles writes benchRows rows of an id, a float, a string of a few
// values and an RFC 3339 time, as CSV and as Parquet (row groups of 20,000).
func benchFiles(b *testing.B) (csvPath, pqPath string) {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("id,x,kind,at\n")
	id, x, kind, at := make([]any, benchRows), make([]any, benchRows), make([]any, benchRows), make([]any, benchRows)
	kinds := []string{"card", "bank", "wallet"}
	for i := range benchRows {
		v := float64(i%1000) / 7
		ts := int64(1767225600000000 + i*1000003)
		id[i], x[i], kind[i], at[i] = int64(i), v, kinds[i%3], ts
		sb.WriteString(strconv.Itoa(i) + "," + strconv.FormatFloat(v, 'g', -1, 64) + "," + kinds[i%3] + ",2026-01-01T00:00:00Z\n")
	}
	csvPath = filepath.Join(dir, "b.csv")
	if err := os.WriteFile(csvPath, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	pqPath = writeParquet(b, 20000,
		tcol{"id", parquet.Int(64), id}, tcol{"x", parquet.Leaf(parquet.DoubleType), x},
		tcol{"kind", parquet.String(), kind}, tcol{"at", parquet.Timestamp(parquet.Microsecond), at})
	return csvPath, pqPath
}

// BenchmarkRead reads every row and parses x as a number: table's CSV
// and Parquet paths, and encoding/csv alone with strconv.ParseFloat (the
// peer: what table's CSV path adds is chunking and the accessors).
func BenchmarkRead(b *testing.B) {
	csvPath, pqPath := benchFiles(b)
	table := func(path string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				r, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				var c Chunk
				xi := r.Index("x")
				for {
					n, err := r.Next(&c, 4096)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					for i := range n {
						v, _ := c.Float(xi, i)
						benchSink += v
					}
				}
				r.Close()
			}
			b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		}
	}
	b.Run("reader=table/format=csv", table(csvPath))
	b.Run("reader=table/format=parquet", table(pqPath))
	b.Run("reader=encoding_csv/format=csv", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			f, err := os.Open(csvPath)
			if err != nil {
				b.Fatal(err)
			}
			cr := csv.NewReader(f)
			cr.ReuseRecord = true
			cr.Read()
			for {
				rec, err := cr.Read()
				if err == io.EOF {
					break
				}
				v, _ := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
				benchSink += v
			}
			f.Close()
		}
		b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

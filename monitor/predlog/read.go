package predlog

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// Segment is one segment file of the log as read back: its columns in
// schema order, and its rows by column name, each value a string (ids,
// model, strings and hashed fields), float64 (inputs, outputs), int64
// (times, versions, latency) or nil (a missing value).
type Segment struct {
	Columns []string
	Rows    []map[string]any
}

// ReadSegment reads the segment at path with parquet-go's reader (pandas,
// DuckDB and `predictd eval` read the same files with their own). It fails
// naming path when the file is not Parquet or yields fewer rows than its
// footer counts. Safe to call on a segment while the log writes others:
// a segment is renamed into place only once written whole.
func ReadSegment(path string) (Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return Segment{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Segment{}, err
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return Segment{}, fmt.Errorf("segment %s: %w", path, err)
	}
	fields := pf.Schema().Fields()
	var seg Segment
	for _, fl := range fields {
		seg.Columns = append(seg.Columns, fl.Name())
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 256)
	for {
		n, rerr := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make(map[string]any, len(fields))
			for _, v := range pr {
				name := fields[v.Column()].Name()
				switch {
				case v.IsNull():
					row[name] = nil
				case v.Kind() == parquet.ByteArray:
					row[name] = string(v.ByteArray())
				case v.Kind() == parquet.Double:
					row[name] = v.Double()
				case v.Kind() == parquet.Int32:
					row[name] = int64(v.Int32())
				default:
					row[name] = v.Int64()
				}
			}
			seg.Rows = append(seg.Rows, row)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return Segment{}, fmt.Errorf("segment %s: %w", path, rerr)
		}
	}
	if int64(len(seg.Rows)) != pf.NumRows() {
		return Segment{}, fmt.Errorf("segment %s: read %d rows of the %d its footer counts", path, len(seg.Rows), pf.NumRows())
	}
	return seg, nil
}
